"""
``{{ seconds|clock }}``: a length as a clock reads it, "4:05" or "1:02:03" (issue #15: not
"about 8 minutes" on a case that lasts 7:31). Empty for no length; fractions are dropped, as
the player's own clock (static/js/player.js) drops them.
"""

from django import template

register = template.Library()


@register.filter
def clock(seconds) -> str:
    try:
        total = int(float(seconds))
    except (TypeError, ValueError):
        return ""
    if total < 0:
        return ""
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
