"""Governance API, under /api/v1/ beside the videos API."""

from django.urls import path

from . import views

urlpatterns = [
    path("videos/<uuid:video_uuid>/consent/", views.ConsentApi.as_view(), name="video_consent"),
    path("videos/<uuid:video_uuid>/legal-hold/", views.LegalHoldApi.as_view(), name="video_legal_hold"),
    path("videos/<uuid:video_uuid>/original/", views.OriginalApi.as_view(), name="video_original"),
]
