from django.apps import AppConfig


class ThemeConfig(AppConfig):
    """django-tailwind theme: Tailwind v4 sources in ``static_src``, built CSS in ``static/css/dist``."""

    name = "theme"
