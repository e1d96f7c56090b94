"""URL map: HTML pages, the versioned API under /api/v1/, and Django admin."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from library import views as library_views
from videos import urls as videos_urls

from . import views

# The watch page is library's (watching), under the videos' address and name (videos:watch).
videos_pages = [*videos_urls.urlpatterns, path("<uuid:video_uuid>/", library_views.watch_page, name="watch")]

api_v1 = [
    path("auth/", include("accounts.api.urls")),
    path("", include("videos.api.urls")),
    path("", include("privacy.api.urls")),
    path("", include("governance.api.urls")),
    path("", include("library.api.urls")),
    path("", include("teaching.api.urls")),
    path("schema/", SpectacularAPIView.as_view(api_version="v1"), name="schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"),
]

urlpatterns = [
    path("", library_views.home, name="home"),
    path("terms/", views.terms, name="terms"),
    path("privacy/", views.privacy, name="privacy"),
    path("healthz", views.healthz, name="healthz"),
    path("accounts/", include("accounts.urls")),
    path("videos/", include((videos_pages, videos_urls.app_name))),
    path("library/", include("library.urls")),
    path("governance/", include("governance.urls")),
    path("privacy-review/", include("privacy.urls")),
    path("teaching/", include("teaching.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include((api_v1, "api"))),
]

handler403 = "config.views.error_403"
handler404 = "config.views.error_404"
handler500 = "config.views.error_500"
