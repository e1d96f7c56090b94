"""Template filters of the teaching layer: a moment as the player shows it, and a link to it."""

from django import template
from django.urls import reverse

register = template.Library()


@register.filter
def clock(seconds) -> str:
    """Seconds as m:ss or h:mm:ss."""
    seconds = max(0, int(seconds or 0))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


@register.simple_tag
def moment_url(video, seconds=None) -> str:
    """The watch page of ``video`` starting at ``seconds`` (whole seconds; none: from the start)."""
    url = reverse("videos:watch", kwargs={"video_uuid": video.uuid})
    return url if seconds is None else f"{url}?t={int(seconds)}"
