"""
Admin for the step vocabulary: per category, ordered, with an optional colour. Editors keep it
(the right to change categories, ``videos.change_category``: a step list is part of one).
Comments and captions are managed where they are shown (the watch page and the API).
"""

from django.contrib import admin

from .models import Step

STEP_RIGHT = "videos.change_category"


@admin.register(Step)
class StepAdmin(admin.ModelAdmin):
    list_display = ["name", "category", "position", "colour"]
    list_editable = ["position", "colour"]
    list_filter = ["category"]
    list_select_related = ["category"]
    search_fields = ["name", "category__name"]
    ordering = ["category__name", "position", "id"]
    fields = ["category", "name", "position", "colour"]

    def _may(self, request) -> bool:
        return request.user.is_active and request.user.has_perm(STEP_RIGHT)

    def has_module_permission(self, request):
        return self._may(request)

    def has_view_permission(self, request, obj=None):
        return self._may(request)

    def has_add_permission(self, request):
        return self._may(request)

    def has_change_permission(self, request, obj=None):
        return self._may(request)

    def has_delete_permission(self, request, obj=None):
        return self._may(request)
