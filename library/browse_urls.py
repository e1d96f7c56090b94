"""Browse pages: search, category, tag and surgeon pages (names live in the ``library`` namespace)."""

from django.urls import path

from . import browse_views as views

urlpatterns = [
    path("search/", views.search_page, name="search"),
    path("categories/", views.CategoryListView.as_view(), name="categories"),
    path("categories/<slug:slug>/", views.category_page, name="category"),
    path("tags/", views.TagListView.as_view(), name="tags"),
    path("tags/<slug:slug>/", views.tag_page, name="tag"),
    path("surgeons/", views.SurgeonListView.as_view(), name="surgeons"),
    path("surgeons/<int:pk>/", views.surgeon_page, name="surgeon"),
]
