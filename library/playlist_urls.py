"""Playlist pages (names live in the ``library`` namespace)."""

from django.urls import path

from . import playlist_views as views

urlpatterns = [
    path("", views.playlist_list, name="playlists"),
    path("new/", views.playlist_create, name="playlist_create"),
    path("add/", views.playlist_add, name="playlist_add"),
    path("<int:pk>/", views.playlist_detail, name="playlist"),
    path("<int:pk>/play/", views.playlist_play, name="playlist_play"),
    path("<int:pk>/edit/", views.playlist_edit, name="playlist_edit"),
    path("<int:pk>/delete/", views.playlist_delete, name="playlist_delete"),
    path("<int:pk>/items/<int:item_id>/remove/", views.playlist_item_remove, name="playlist_item_remove"),
    path("<int:pk>/items/<int:item_id>/move/", views.playlist_item_move, name="playlist_item_move"),
]
