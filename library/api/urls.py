from django.urls import path

from . import views

urlpatterns = [
    # GET lists and searches (library.search); POST uploads (videos' VideoListCreateApi, subclassed).
    path("videos/", views.VideoListApi.as_view(), name="videos"),
    path("videos/<uuid:video_uuid>/progress/", views.ProgressApi.as_view(), name="video_progress"),
    path("videos/<uuid:video_uuid>/views/", views.ViewStartApi.as_view(), name="video_views"),
    path("videos/<uuid:video_uuid>/favorite/", views.FavoriteApi.as_view(), name="video_favorite"),
    path("history/", views.HistoryApi.as_view(), name="history"),
    path("history/<uuid:video_uuid>/", views.HistoryEntryApi.as_view(), name="history_entry"),
    path("favorites/", views.FavoriteListApi.as_view(), name="favorites"),
    path("playlists/", views.PlaylistListApi.as_view(), name="playlists"),
    path("playlists/<int:playlist_id>/", views.PlaylistDetailApi.as_view(), name="playlist"),
    path("playlists/<int:playlist_id>/items/", views.PlaylistItemsApi.as_view(), name="playlist_items"),
    path("playlists/<int:playlist_id>/items/reorder/", views.PlaylistReorderApi.as_view(), name="playlist_reorder"),
    path("playlists/<int:playlist_id>/items/<int:item_id>/", views.PlaylistItemApi.as_view(), name="playlist_item"),
]
