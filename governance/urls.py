"""Governance's pages: the forms of the review page's panel (POST only)."""

from django.urls import path

from . import views

app_name = "governance"

urlpatterns = [
    path("videos/<uuid:video_uuid>/consent/", views.consent_set, name="consent"),
    path("videos/<uuid:video_uuid>/legal-hold/", views.legal_hold, name="legal_hold"),
]
