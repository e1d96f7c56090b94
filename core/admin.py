"""Admin plumbing every app's ModelAdmin and admin page uses."""

from datetime import datetime, time, timedelta

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.utils import timezone

PER_PAGE = 25


class ReadOnlyAdminMixin:
    """A ModelAdmin whose rows nobody adds, edits or deletes here (the audit trail, queues)."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def run_service_action(modeladmin, request, queryset, action, success: str) -> int:
    """
    Apply ``action`` (a service call) to each selected object; report refusals per object
    (ValidationError / PermissionDenied from the service) and the successes in one message.
    """
    done = 0
    for obj in queryset:
        try:
            action(obj)
            done += 1
        except (ValidationError, PermissionDenied) as error:
            text = " ".join(getattr(error, "messages", [str(error)]))
            modeladmin.message_user(request, f"{obj}: {text}", messages.ERROR)
    if done:
        modeladmin.message_user(request, success.format(count=done), messages.SUCCESS)
    return done


class DateRangeForm(forms.Form):
    date_from = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            raise forms.ValidationError("“From” must not be after “To”.")
        return cleaned

    def filter(self, queryset, field: str):
        """``queryset`` limited to the chosen local days (whole days, both ends included)."""
        if not self.is_valid():
            return queryset
        start, end = self.cleaned_data.get("date_from"), self.cleaned_data.get("date_to")
        if start:
            queryset = queryset.filter(**{f"{field}__gte": timezone.make_aware(datetime.combine(start, time.min))})
        if end:
            next_day = timezone.make_aware(datetime.combine(end + timedelta(days=1), time.min))
            queryset = queryset.filter(**{f"{field}__lt": next_day})
        return queryset


def paginate(request, queryset, param: str):
    """One page of ``queryset`` (``?<param>=n``), with links that keep the other parameters."""
    page = Paginator(queryset, PER_PAGE).get_page(request.GET.get(param))

    def link(number):
        query = request.GET.copy()
        query[param] = number
        query.pop("export", None)
        return f"?{query.urlencode()}"

    page.previous_url = link(page.previous_page_number()) if page.has_previous() else None
    page.next_url = link(page.next_page_number()) if page.has_next() else None
    return page


def clock(seconds) -> str:
    """``3725`` → ``"1:02:05"``: seconds (watched, long) as a clock reading."""
    seconds = int(round(seconds or 0))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}"
