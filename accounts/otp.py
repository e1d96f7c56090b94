"""
Second factors: delivering codes, and enrolling or removing devices (django-otp).

Codes are delivered here and nowhere else; they are never logged or audited. A new factor
counts only once it has proved itself: an authenticator app by its first code, an e-mail
address or mobile number by the code sent to it (:func:`code_device_confirm`).
"""

import logging
import secrets

import segno
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django_otp import devices_for_user, user_has_device
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit import trail
from audit.models import AuditEvent

from . import services
from .models import BackupCode, BackupCodeDevice, EmailOTPDevice, SMSOTPDevice, code_digest
from .sms import SMSError, send_sms

logger = logging.getLogger(__name__)
Event = AuditEvent.Event
CODE_NOT_SENT = "The code could not be sent just now. Try again in a minute or use another method."
# Unambiguous alphabet for backup codes (no 0/o, 1/l/i).
_BACKUP_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"


def deliver_email_code(device: EmailOTPDevice, code: str) -> None:
    context = {"code": code, "minutes": settings.OTP_CODE_VALIDITY_SECONDS // 60, "site_name": settings.SITE_NAME}
    send_mail(
        subject=f"{settings.SITE_NAME}: your sign-in code",
        message=render_to_string("accounts/email/otp_code.txt", context),
        from_email=None,
        recipient_list=[device.user.email],
    )


def deliver_sms_code(device: SMSOTPDevice, code: str) -> None:
    minutes = settings.OTP_CODE_VALIDITY_SECONDS // 60
    send_sms(device.number, f"{code} is your {settings.SITE_NAME} sign-in code. It expires in {minutes} minutes.")


def challenge_send(device) -> str:
    """
    Send a code through an e-mail or SMS ``device`` and return a message for the user. A
    gateway or mail server that is down is not the user's fault: they get a message (not a
    500) and may ask again at once.
    """
    try:
        return device.generate_challenge()
    except (SMSError, OSError) as exc:  # smtplib.SMTPException is an OSError
        # Only the error's class: its text or a traceback could carry the message sent.
        logger.warning("Could not deliver a sign-in code", extra={"channel": device.name, "error": type(exc).__name__})
        device.code_hash = ""
        device.last_generated_timestamp = None
        device.save(update_fields=["code_hash", "last_generated_timestamp"])
        return CODE_NOT_SENT


def totp_start(user) -> TOTPDevice:
    """Create (or reuse) an unconfirmed authenticator-app device for ``user``."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)
    return device


def totp_qr_svg(device: TOTPDevice) -> str:
    """The provisioning URI as an inline-safe SVG QR code (no data: URL, no script)."""
    return segno.make(device.config_url, error="m").svg_inline(scale=5, dark="#111827", light="#ffffff", omitsize=True)


def totp_secret_base32(device: TOTPDevice) -> str:
    import base64

    return base64.b32encode(device.bin_key).decode().rstrip("=")


@transaction.atomic
def totp_confirm(*, user, device: TOTPDevice, code: str) -> list[str] | None:
    """
    Confirm an authenticator app with a first code. Returns fresh backup codes when the
    user had none (shown once), an empty list when they already had some, or None when
    the code was wrong.
    """
    device = TOTPDevice.objects.select_for_update().get(pk=device.pk, user=user)
    if not device.verify_token((code or "").strip()):
        return None
    return _enrolled(user=user, device=device, method="totp")


def _enrolled(*, user, device, method: str) -> list[str]:
    """
    Confirm a device that has just proved itself: the one rule for an authenticator app,
    e-mail and SMS alike. The first second factor ends the API tokens and browser sessions
    opened with the password alone (whoever phished the password would keep them); the door
    keeps its own browser signed in (:func:`accounts.authentication.session_keep`). Returns
    fresh backup codes when the user had none, else an empty list.
    """
    first = not user_has_device(user, confirmed=True)
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    trail.record(Event.OTP_ENROL, target=user, method=method)
    if first:
        services.sign_out_everywhere(user=user, reason="second_factor_added")
    if BackupCodeDevice.objects.filter(user=user, confirmed=True).exists():
        return []
    return backup_codes_regenerate(user=user)


@transaction.atomic
def backup_codes_regenerate(*, user) -> list[str]:
    """Replace the user's backup codes with ten new ones and return them (shown once)."""
    device, _ = BackupCodeDevice.objects.get_or_create(user=user, defaults={"name": "Backup codes", "confirmed": True})
    device.codes.all().delete()
    codes = [
        "".join(secrets.choice(_BACKUP_ALPHABET) for _ in range(10)) for _ in range(settings.OTP_BACKUP_CODE_COUNT)
    ]
    BackupCode.objects.bulk_create(BackupCode(device=device, code_hash=code_digest(code)) for code in codes)
    trail.record(Event.OTP_ENROL, target=user, method="backup", count=len(codes))
    return [f"{code[:5]}-{code[5:]}" for code in codes]


@transaction.atomic
def email_device_add(*, user) -> EmailOTPDevice:
    """
    Start adding e-mail codes: the user's e-mail device, unconfirmed until
    :func:`code_device_confirm` gets the code :func:`challenge_send` mails to it. A device
    already confirmed is returned as it is.
    """
    device, _ = EmailOTPDevice.objects.get_or_create(user=user, defaults={"name": "E-mail", "confirmed": False})
    return device


@transaction.atomic
def sms_device_add(*, user, number: str) -> SMSOTPDevice:
    """
    Start adding SMS codes to ``number`` (E.164): an unconfirmed device until
    :func:`code_device_confirm` gets the code :func:`challenge_send` texts to it. A user has
    at most one unconfirmed SMS device; a new number replaces its number and voids its code
    but keeps its resend cooldown, so nobody can have texts sent to a number in a loop.
    """
    device = SMSOTPDevice.objects.select_for_update().filter(user=user, confirmed=False).order_by("pk").first()
    if device is None:
        return SMSOTPDevice.objects.create(user=user, name="SMS", number=number, confirmed=False)
    if device.number != number:
        device.number = number
        device.code_hash = ""
        device.save(update_fields=["number", "code_hash"])
    return device


@transaction.atomic
def code_device_confirm(*, user, device: EmailOTPDevice | SMSOTPDevice, code: str) -> list[str] | None:
    """
    Confirm an e-mail or SMS device of ``user`` with the code just sent to it, which proves
    the address or number is theirs. Returns backup codes as :func:`totp_confirm` does, or
    None when the code is wrong, expired or throttled (the device counts the failure).
    """
    device = type(device).objects.select_for_update().get(pk=device.pk, user=user)
    if device.confirmed or not device.verify_token((code or "").strip()):
        return None
    method = "email" if isinstance(device, EmailOTPDevice) else "sms"
    return _enrolled(user=user, device=device, method=method)


@transaction.atomic
def device_remove(*, user, persistent_id: str) -> bool:
    """Remove one of ``user``'s own devices; refuses to remove the last one when 2FA is required."""
    devices = [d for d in devices_for_user(user, confirmed=None) if not isinstance(d, BackupCodeDevice)]
    target = next((d for d in devices if d.persistent_id == persistent_id), None)
    if target is None:
        return False
    remaining = [d for d in devices if d.persistent_id != persistent_id and d.confirmed]
    if user.otp_required and not remaining:
        raise ValidationError("Your role requires two-factor sign-in: add another method before removing this one.")
    target.delete()
    if not remaining:
        BackupCodeDevice.objects.filter(user=user).delete()
    trail.record(Event.OTP_REMOVE, target=user, device=target.name)
    return True


@transaction.atomic
def devices_reset(*, user) -> int:
    """Admin action: remove every second-factor device of ``user``."""
    count = 0
    for device in devices_for_user(user, confirmed=None):
        device.delete()
        count += 1
    trail.record(Event.OTP_RESET, target=user, removed=count)
    return count
