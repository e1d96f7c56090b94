from django.urls import path

from . import views

app_name = "privacy"

urlpatterns = [
    path("<uuid:video_uuid>/ranges/", views.range_add, name="add"),
    path("<uuid:video_uuid>/ranges/<int:range_id>/", views.range_decide, name="decide"),
    path("<uuid:video_uuid>/apply/", views.apply, name="apply"),
]
