"""Browse pages: search, category, tag and surgeon pages (names live in the ``library`` namespace)."""

urlpatterns = []
