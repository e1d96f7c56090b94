from django.urls import path

from . import views

urlpatterns = [
    path("videos/<uuid:video_uuid>/privacy/", views.PrivacyApi.as_view(), name="video_privacy"),
    path("videos/<uuid:video_uuid>/privacy/ranges/", views.RangeAddApi.as_view(), name="video_privacy_ranges"),
    path(
        "videos/<uuid:video_uuid>/privacy/ranges/<int:range_id>/",
        views.RangeDecideApi.as_view(),
        name="video_privacy_range",
    ),
    path("videos/<uuid:video_uuid>/privacy/apply/", views.ApplyApi.as_view(), name="video_privacy_apply"),
]
