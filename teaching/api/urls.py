"""The teaching API, under /api/v1/ (config.urls includes it beside videos' and library's)."""

from django.urls import path

from . import views

urlpatterns = [
    path("videos/<uuid:video_uuid>/chapters/", views.ChaptersApi.as_view(), name="video_chapters"),
    path("videos/<uuid:video_uuid>/comments/", views.CommentsApi.as_view(), name="video_comments"),
    path("videos/<uuid:video_uuid>/comments/<int:comment_id>/", views.CommentApi.as_view(), name="video_comment"),
    path("videos/<uuid:video_uuid>/captions/", views.CaptionsApi.as_view(), name="video_captions"),
    path("videos/<uuid:video_uuid>/captions/<int:caption_id>/", views.CaptionApi.as_view(), name="video_caption"),
    path("videos/<uuid:video_uuid>/captions/<int:caption_id>.vtt", views.caption_file, name="caption_file"),
    path("notifications/", views.NotificationsApi.as_view(), name="notifications"),
    path("notifications/read/", views.NotificationsReadApi.as_view(), name="notifications_read"),
]
