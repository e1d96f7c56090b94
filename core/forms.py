"""
The forms every app's pages build on: the theme's classes and the ARIA links to help text and
errors, a way to put a service's ``ValidationError`` back on the form, and ``ClockField`` for a
moment of a recording typed as a clock reads it.
"""

import math
import re

from django import forms
from django.forms.boundfield import BoundField

# Tailwind component classes from theme/static_src/src/styles.css.
_WIDGET_CLASSES = {
    "checkbox": "checkbox",
    "select": "select",
    "clearablefile": "file-input",
    "file": "file-input",
}


class StyledBoundField(BoundField):
    """
    Links the widget to its help text and errors under the ids templates/includes/field.html
    gives them (``<id>_help``, ``<id>_errors``), when the field is rendered: a bound form is
    validated by ``is_valid()`` (or by reading its errors), never by being built or styled.
    Django already adds ``aria-invalid`` to a widget with errors.
    """

    @property
    def aria_describedby(self):
        if self.field.widget.attrs.get("aria-describedby"):
            return None
        described = []
        if self.auto_id and not self.is_hidden:
            if self.help_text:
                described.append(f"{self.auto_id}_help")
            if self.errors:
                described.append(f"{self.auto_id}_errors")
        return " ".join(described)


class StyledForm(forms.Form):
    """Adds the theme's classes, and the ARIA links to help text and errors (StyledBoundField)."""

    bound_field_class = StyledBoundField

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            widget = field.widget
            kind = type(widget).__name__.lower().replace("input", "").replace("widget", "")
            widget.attrs.setdefault("class", _WIDGET_CLASSES.get(kind, "input"))

    def add_service_errors(self, error) -> None:
        """Attach a service's ValidationError to the matching fields (or the form)."""
        if hasattr(error, "error_dict"):
            for field, errors in error.error_dict.items():
                target = field if field in self.fields else None
                for item in errors:
                    self.add_error(target, item)
        else:
            self.add_error(None, error)


class StyledModelForm(StyledForm, forms.ModelForm):
    pass


_CLOCK = re.compile(r"^(?:(\d+):)?(\d+):(\d{1,2}(?:\.\d+)?)$")


class ClockField(forms.CharField):
    """A moment of a recording typed as people read a clock: "90", "1:30" or "1:02:03" → seconds (None when empty)."""

    default_error_messages = {"invalid": "Type the time as seconds (90) or as minutes and seconds (1:30)."}

    def to_python(self, value):
        value = super().to_python(value).strip()
        if not value:
            return None
        if match := _CLOCK.match(value):
            hours, minutes, seconds = int(match[1] or 0), int(match[2]), float(match[3])
            if seconds >= 60 or (match[1] and minutes >= 60):
                raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
            return hours * 3600 + minutes * 60 + seconds
        try:
            number = float(value)
        except ValueError:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from None
        if not math.isfinite(number) or number < 0:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return number
