"""Teaching pages: your notifications (a mention links to the moment it is about)."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from . import services
from .models import Notification


@login_required
def notifications(request):
    rows = list(Notification.objects.for_user(request.user)[:100])
    return render(request, "teaching/notifications.html", {"notifications": rows})


@require_POST
@login_required
def notifications_read(request):
    services.notifications_read(user=request.user)
    return redirect("teaching:notifications")
