from django.contrib import admin

from .models import SearchSynonym


@admin.register(SearchSynonym)
class SearchSynonymAdmin(admin.ModelAdmin):
    list_display = ["term", "synonyms", "updated_at"]
    search_fields = ["term", "synonyms"]
    ordering = ["term"]
