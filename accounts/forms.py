"""
HTML forms. They only validate the shape of the input; the rules (password policy,
uniqueness, lockout) are enforced by the services they hand the data to, whose
``ValidationError``s the views put back on the form.
"""

from django import forms
from django.contrib.auth import get_user_model, password_validation

from core.forms import StyledForm, StyledModelForm

from .validators import ID_DOCUMENT_TYPES

User = get_user_model()


class LoginForm(StyledForm):
    username = forms.CharField(
        label="Username or e-mail",
        max_length=254,
        widget=forms.TextInput(attrs={"autocomplete": "username", "autofocus": True, "autocapitalize": "none"}),
    )
    password = forms.CharField(
        label="Password", strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )


class OTPForm(StyledForm):
    code = forms.CharField(
        label="Verification code",
        max_length=32,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "text", "autofocus": True, "autocapitalize": "none"}
        ),
        help_text="A 6-digit code from your app, e-mail or SMS, or a backup code.",
    )


class ReauthForm(StyledForm):
    password = forms.CharField(
        label="Your password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password", "autofocus": True}),
    )


class ApiTokenForm(StyledForm):
    name = forms.CharField(
        label="Token name",
        max_length=100,
        help_text="What uses it, e.g. “teaching-export script on PC-42”.",
    )


class NewPasswordMixin:
    def clean_new_password2(self):
        first = self.cleaned_data.get("new_password1")
        second = self.cleaned_data.get("new_password2")
        if first and second and first != second:
            raise forms.ValidationError("The two passwords do not match.")
        return second


def _new_password_field(label: str) -> forms.CharField:
    return forms.CharField(
        label=label,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password", "data-password-strength": ""}),
        help_text=password_validation.password_validators_help_text_html() if label == "New password" else "",
    )


class PasswordChangeForm(NewPasswordMixin, StyledForm):
    old_password = forms.CharField(
        label="Current password", strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )
    new_password1 = _new_password_field("New password")
    new_password2 = forms.CharField(
        label="Repeat the new password", strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )


class SetPasswordForm(NewPasswordMixin, StyledForm):
    new_password1 = _new_password_field("New password")
    new_password2 = forms.CharField(
        label="Repeat the new password", strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )


class PasswordResetForm(StyledForm):
    email = forms.EmailField(label="E-mail address", widget=forms.EmailInput(attrs={"autocomplete": "email"}))


class RegistrationForm(StyledForm):
    username = forms.CharField(
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "username", "autocapitalize": "none"}),
        help_text="Letters, digits and @ . + - _ only.",
    )
    email = forms.EmailField(label="E-mail address", widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    full_name = forms.CharField(max_length=150, widget=forms.TextInput(attrs={"autocomplete": "name"}))
    employee_id = forms.CharField(label="Employee ID", max_length=30, required=False, help_text="If you have one.")
    mobile = forms.CharField(
        max_length=20,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}),
        help_text="Optional; used for SMS sign-in codes. International format, e.g. +919812345678.",
    )
    user_type = forms.ChoiceField(label="I am", choices=User.UserType.choices, initial=User.UserType.EMPLOYEE)
    password1 = _new_password_field("New password")
    password2 = forms.CharField(
        label="Repeat the password", strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )
    id_document = forms.FileField(
        label="ID document",
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": ",".join(f".{ext}" for ext in ID_DOCUMENT_TYPES)}),
        help_text="PDF, PNG or JPEG, up to 10 MB. Seen only by administrators. Required if you have no employee ID.",
    )
    accept_terms = forms.BooleanField(label="I accept the terms of use and the privacy notice")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["password1"].label = "Password"

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("password1") and cleaned.get("password2") and cleaned["password1"] != cleaned["password2"]:
            self.add_error("password2", "The two passwords do not match.")
        if (
            cleaned.get("user_type") == User.UserType.GENERAL
            and not cleaned.get("employee_id")
            and not cleaned.get("id_document")
        ):
            self.add_error("id_document", "Without an employee ID, please attach an ID document.")
        return cleaned


class PreferencesForm(StyledModelForm):
    class Meta:
        model = User
        fields = ["full_name", "mobile", "theme", "autoplay_next", "default_quality", "default_speed"]
        help_texts = {"mobile": "International format, e.g. +919812345678."}


class SMSDeviceForm(StyledForm):
    number = forms.CharField(
        label="Mobile number",
        max_length=20,
        widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}),
        help_text="International format, e.g. +919812345678.",
    )
