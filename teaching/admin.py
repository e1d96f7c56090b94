"""
Admin for the step vocabulary: per category, ordered, with an optional colour. Django's own
model permissions decide who may view, add, change or delete steps (``teaching.*_step``, given
to Editors in accounts.roles). Comments and captions are managed where they are shown (the
watch page and the API).
"""

from django.contrib import admin

from .models import Step


@admin.register(Step)
class StepAdmin(admin.ModelAdmin):
    list_display = ["name", "category", "position", "colour"]
    list_editable = ["position", "colour"]
    list_filter = ["category"]
    list_select_related = ["category"]
    search_fields = ["name", "category__name"]
    ordering = ["category__name", "position", "id"]
    fields = ["category", "name", "position", "colour"]
