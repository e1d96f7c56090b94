"""
Password rules as ``AUTH_PASSWORD_VALIDATORS`` classes, so registration, password change,
reset, Django admin and the API all enforce the same policy.

The seed's regex silently rejected most punctuation (seed-inventory §5.1); here any
character that is not a letter or digit counts as a symbol, spaces included.
"""

import phonenumbers
from django.conf import settings
from django.contrib.auth.hashers import check_password
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext


class ComplexityValidator:
    """At least ``min_length`` characters with an upper-case letter, a lower-case letter,
    a digit and a symbol (any character that is not a letter or digit)."""

    def __init__(self, min_length: int = 10):
        self.min_length = min_length

    def validate(self, password, user=None):
        errors = []
        if len(password) < self.min_length:
            errors.append(
                ValidationError(
                    ngettext(
                        "The password must contain at least %(min_length)d character.",
                        "The password must contain at least %(min_length)d characters.",
                        self.min_length,
                    ),
                    code="password_too_short",
                    params={"min_length": self.min_length},
                )
            )
        if not any(char.isupper() for char in password):
            errors.append(
                ValidationError(_("The password must contain an upper-case letter."), code="password_no_upper")
            )
        if not any(char.islower() for char in password):
            errors.append(
                ValidationError(_("The password must contain a lower-case letter."), code="password_no_lower")
            )
        if not any(char.isdigit() for char in password):
            errors.append(ValidationError(_("The password must contain a digit."), code="password_no_digit"))
        if not any(not char.isalnum() for char in password):
            errors.append(
                ValidationError(
                    _(
                        "The password must contain a symbol (any character that is not a letter or digit, such as ! ? . or a space)."
                    ),
                    code="password_no_symbol",
                )
            )
        if errors:
            raise ValidationError(errors)

    def get_help_text(self):
        return _(
            "Your password must be at least %(min_length)d characters long and contain an upper-case "
            "letter, a lower-case letter, a digit and a symbol (any character that is not a letter or digit)."
        ) % {"min_length": self.min_length}


class PasswordHistoryValidator:
    """The new password may not be the current one or one of the ``history`` before it."""

    def __init__(self, history: int = 5):
        self.history = history

    def validate(self, password, user=None):
        if user is None or user.pk is None:
            return
        previous = [user.password] if user.password else []
        previous += list(user.password_history.values_list("password", flat=True)[: self.history])
        if any(encoded and check_password(password, encoded) for encoded in previous[: self.history]):
            raise ValidationError(
                ngettext(
                    "You used this password recently. Choose one you have not used for your last %(n)d change.",
                    "You used this password recently. Choose one different from your last %(n)d passwords.",
                    self.history,
                ),
                code="password_reused",
                params={"n": self.history},
            )

    def password_changed(self, password, user=None):
        # Called by Django after set_password() + save(); history is recorded by the
        # services, which know the *old* hash (see accounts.services.password_set).
        return None

    def get_help_text(self):
        return _("Your password must differ from your last %(n)d passwords.") % {"n": self.history}


def normalise_mobile(value: str) -> str:
    """Return ``value`` as an E.164 number (``+919812345678``) or raise ValidationError."""
    value = (value or "").strip()
    try:
        number = phonenumbers.parse(value, settings.DEFAULT_PHONE_REGION)
    except phonenumbers.NumberParseException:
        raise ValidationError(_("Enter a valid mobile number, e.g. +919812345678."), code="invalid_mobile") from None
    if not phonenumbers.is_valid_number(number):
        raise ValidationError(_("Enter a valid mobile number, e.g. +919812345678."), code="invalid_mobile")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


# Extension → MIME type libmagic must report for an identity document.
ID_DOCUMENT_TYPES = {"pdf": "application/pdf", "png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg"}


def validate_id_document(upload) -> None:
    """
    Accept a PDF, PNG or JPEG no larger than ``ID_DOCUMENT_MAX_BYTES`` whose content
    (sniffed by libmagic, not the name or the client's Content-Type) matches its extension.
    """
    import magic

    limit = settings.ID_DOCUMENT_MAX_BYTES
    if upload.size > limit:
        raise ValidationError(
            _("The ID document is larger than %(mb)d MB.") % {"mb": limit // (1024 * 1024)}, code="file_too_large"
        )
    if upload.size == 0:
        raise ValidationError(_("The ID document is empty."), code="file_empty")
    name = upload.name or ""
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if extension not in ID_DOCUMENT_TYPES:
        raise ValidationError(_("The ID document must be a PDF, PNG or JPEG file."), code="file_type")
    upload.seek(0)
    head = upload.read(2048)
    upload.seek(0)
    sniffed = magic.from_buffer(head, mime=True)
    if sniffed != ID_DOCUMENT_TYPES[extension]:
        raise ValidationError(
            _("The file's content is not a %(ext)s document.") % {"ext": extension.upper()}, code="file_content"
        )
