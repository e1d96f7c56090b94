"""StyledForm (core/forms.py): the theme's classes and the ARIA links to help text and
errors, added when a field is rendered. Building a bound form does not validate it."""

from django import forms
from django.core.exceptions import ValidationError

from core.forms import StyledForm


class CountingForm(StyledForm):
    name = forms.CharField(help_text="As on your badge.")
    age = forms.IntegerField(required=False)
    clean_calls = 0

    def clean(self):
        self.clean_calls += 1
        return super().clean()


def test_building_a_bound_form_does_not_validate_it():
    form = CountingForm(data={"name": "", "age": "old"})
    assert form.clean_calls == 0
    assert form._errors is None  # Django's "not validated yet"
    assert form.fields["name"].widget.attrs == {"class": "input"}


def test_fields_rendered_after_validation_point_at_their_help_and_errors():
    form = CountingForm(data={"name": "", "age": "old"})
    assert not form.is_valid()
    name, age = str(form["name"]), str(form["age"])
    assert form.clean_calls == 1
    assert 'class="input"' in name
    assert 'aria-invalid="true"' in name
    assert 'aria-describedby="id_name_help id_name_errors"' in name
    assert 'aria-describedby="id_age_errors"' in age


def test_a_valid_field_points_at_its_help_only():
    form = CountingForm(data={"name": "Asha", "age": "40"})
    assert form.is_valid()
    assert 'aria-describedby="id_name_help"' in str(form["name"])
    assert "aria-invalid" not in str(form["name"])
    assert "aria-describedby" not in str(form["age"])


def test_a_service_error_added_after_validation_is_linked_too():
    form = CountingForm(data={"name": "Asha", "age": "40"})
    assert form.is_valid()
    form.add_service_errors(ValidationError({"age": "Too old for this list."}))
    age = str(form["age"])
    assert 'aria-invalid="true"' in age
    assert 'aria-describedby="id_age_errors"' in age
    assert form.clean_calls == 1


def test_a_prefixed_form_links_to_its_own_ids():
    form = CountingForm(prefix="p", data={"p-name": ""})
    assert not form.is_valid()
    assert 'aria-describedby="id_p-name_help id_p-name_errors"' in str(form["name"])
