"""The videos' pages; the watch page (``videos:watch``) is added by config.urls from library."""

from django.urls import path

from . import review_views, views

app_name = "videos"

urlpatterns = [
    path("upload/", views.upload_page, name="upload"),
    path("mine/", views.my_uploads_page, name="mine"),
    path("review/", review_views.review_queue, name="review"),
    path("review/<uuid:video_uuid>/", review_views.review_video, name="review_video"),
    path("<uuid:video_uuid>/edit/", review_views.edit_video, name="edit"),
]
