"""Playlist pages (names live in the ``library`` namespace)."""

urlpatterns = []
