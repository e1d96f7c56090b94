from django.urls import path

from . import views

app_name = "videos"

urlpatterns = [
    path("upload/", views.upload_page, name="upload"),
    path("mine/", views.my_uploads_page, name="mine"),
    path("<uuid:video_uuid>/", views.watch_page, name="watch"),
]
