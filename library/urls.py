from django.urls import include, path

from . import views

app_name = "library"

urlpatterns = [
    path("history/", views.history, name="history"),
    path("history/clear/", views.history_clear, name="history_clear"),
    path("history/<uuid:video_uuid>/remove/", views.history_remove, name="history_remove"),
    path("favorites/", views.favorites, name="favorites"),
    path("favorites/<uuid:video_uuid>/", views.favorite_toggle, name="favorite_toggle"),
    path("", include("library.browse_urls")),
    path("playlists/", include("library.playlist_urls")),
]
