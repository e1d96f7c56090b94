"""
Accounts: the user, their password history, second-factor devices and the audit trail.

Rules about *who may do what* live in :mod:`accounts.roles`; multi-row writes live in
:mod:`accounts.services`. Models hold row-level behaviour only.
"""

import hashlib
import hmac
import secrets
import uuid
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager
from django.core.files.storage import FileSystemStorage
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.functional import cached_property
from django_otp.models import CooldownMixin, Device, ThrottlingMixin

from . import roles


class PrivateDocumentStorage(FileSystemStorage):
    """``MEDIA_ROOT/private/id-documents``: no URL, read only through an admin view."""

    @cached_property
    def base_location(self):
        # Resolved lazily (and reset by Django when MEDIA_ROOT changes, e.g. in tests).
        return str(Path(settings.MEDIA_ROOT) / "private" / "id-documents")

    def url(self, name):
        raise ValueError("ID documents have no public URL.")


private_storage = PrivateDocumentStorage()


def _id_document_name(instance, filename):
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else "bin"
    return f"{uuid.uuid4().hex}.{extension}"


def code_digest(code: str) -> str:
    """Keyed hash of a one-time code: codes are stored only in this form (DESIGN §8)."""
    return hmac.new(settings.SECRET_KEY.encode(), code.encode(), hashlib.sha256).hexdigest()


class UserQuerySet(models.QuerySet):
    def by_login(self, identifier: str):
        """Users whose username or e-mail equals ``identifier``, ignoring case."""
        identifier = (identifier or "").strip()
        return self.filter(models.Q(username__iexact=identifier) | models.Q(email__iexact=identifier))

    def pending_approval(self):
        """Self-registered accounts an Admin has not yet approved or rejected."""
        return self.filter(approval_status=User.Approval.PENDING)

    def with_roles(self):
        """Prefetch groups so ``user.roles`` costs no query per row."""
        return self.prefetch_related("groups")


class AccountManager(UserManager.from_queryset(UserQuerySet)):
    # The backend that answers ``has_perm`` (axes' backend, listed first, grants nothing).
    PERMISSION_BACKEND = "accounts.backends.UsernameOrEmailBackend"

    def create_superuser(self, username, email=None, password=None, **extra_fields):
        extra_fields.setdefault("approval_status", User.Approval.APPROVED)
        return super().create_superuser(username, email, password, **extra_fields)

    def with_perm(self, perm, is_active=True, include_superusers=True, backend=None, obj=None):
        """
        Django's: the active users ``has_perm(perm)`` is true for (through a group, their own
        permissions, or as superusers). Django needs ``backend`` named when several are
        configured; ours is the default.
        """
        return super().with_perm(
            perm,
            is_active=is_active,
            include_superusers=include_superusers,
            backend=backend or self.PERMISSION_BACKEND,
            obj=obj,
        )


# Titles that come before a name ("Dr Ada Lovelace"), compared case-insensitively without a
# trailing dot: the greeting and the avatar pass over them (issue #15).
NAME_TITLES = frozenset(
    {"dr", "mr", "mrs", "ms", "miss", "mx", "prof", "professor", "sir", "dame", "lord", "lady", "rev", "fr"}
)


class User(AbstractUser):
    """A member of staff (or an approved general user) of the library."""

    class UserType(models.TextChoices):
        EMPLOYEE = "employee", "Employee"
        GENERAL = "general", "General"

    class Approval(models.TextChoices):
        PENDING = "pending", "Awaiting approval"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"

    class Theme(models.TextChoices):
        SYSTEM = "system", "Follow the system"
        LIGHT = "light", "Light"
        DARK = "dark", "Dark"

    class Quality(models.TextChoices):
        AUTO = "auto", "Automatic"
        Q360 = "360p", "360p"
        Q480 = "480p", "480p"
        Q720 = "720p", "720p"
        Q1080 = "1080p", "1080p"
        Q1440 = "1440p", "1440p"
        Q2160 = "2160p", "2160p (4K)"

    class Speed(models.TextChoices):
        # Stored as the number the player uses (the seed stored "1.0" but validated "1.0x").
        HALF = "0.5", "0.5×"
        NORMAL = "1", "1×"
        QUICK = "1.25", "1.25×"
        FAST = "1.5", "1.5×"
        DOUBLE = "2", "2×"

    first_name = None
    last_name = None
    email = models.EmailField("e-mail address", unique=True)
    full_name = models.CharField(max_length=150, blank=True)
    employee_id = models.CharField(
        "employee ID",
        max_length=30,
        unique=True,
        null=True,
        blank=True,
        help_text="Hospital staff number, if the person has one.",
    )
    mobile = models.CharField(
        max_length=16,
        unique=True,
        null=True,
        blank=True,
        help_text="E.164 format, e.g. +919812345678. Used for SMS codes.",
    )
    user_type = models.CharField(max_length=16, choices=UserType.choices, default=UserType.EMPLOYEE)

    approval_status = models.CharField(max_length=16, choices=Approval.choices, default=Approval.APPROVED)
    approved_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    rejection_reason = models.CharField(max_length=500, blank=True)
    id_document = models.FileField(
        "ID document",
        storage=private_storage,
        upload_to=_id_document_name,
        blank=True,
        help_text="Shown to Admins only; never served from a public path.",
    )

    password_changed_at = models.DateTimeField(null=True, blank=True)
    must_change_password = models.BooleanField(
        default=False, help_text="Ask for a new password at the next sign-in (e.g. after a temporary one)."
    )
    locked_until = models.DateTimeField(
        null=True, blank=True, help_text="Set by an Admin: no sign-in and no API access until then."
    )
    # Bumped to revoke every token and session at once (lock, "sign out everywhere").
    token_generation = models.PositiveIntegerField(default=0)
    # Every signed media URL (segments, images, playlists, keys) issued before this moment is
    # void (videos.revocation): set whenever the security stamp changes (tokens_revoke).
    tokens_revoked_at = models.DateTimeField(null=True, blank=True, editable=False, db_index=True)

    theme = models.CharField(max_length=8, choices=Theme.choices, default=Theme.SYSTEM)
    autoplay_next = models.BooleanField("autoplay next video", default=True)
    default_quality = models.CharField(max_length=8, choices=Quality.choices, default=Quality.AUTO)
    default_speed = models.CharField(max_length=5, choices=Speed.choices, default=Speed.NORMAL)

    objects = AccountManager()

    class Meta:
        ordering = ["username"]
        constraints = [
            models.UniqueConstraint(Lower("username"), name="user_username_ci_unique"),
            models.UniqueConstraint(Lower("email"), name="user_email_ci_unique"),
            models.CheckConstraint(condition=models.Q(user_type__in=["employee", "general"]), name="user_type_valid"),
            models.CheckConstraint(
                condition=models.Q(approval_status__in=["pending", "approved", "rejected"]),
                name="user_approval_status_valid",
            ),
            models.CheckConstraint(condition=models.Q(theme__in=["system", "light", "dark"]), name="user_theme_valid"),
            models.CheckConstraint(
                condition=models.Q(default_quality__in=["auto", "360p", "480p", "720p", "1080p", "1440p", "2160p"]),
                name="user_default_quality_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(default_speed__in=["0.5", "1", "1.25", "1.5", "2"]),
                name="user_default_speed_valid",
            ),
        ]
        permissions = [
            ("approve_registration", "Can approve or reject registrations"),
            ("manage_security", "Can unlock accounts, reset 2FA and force password changes"),
        ]

    def __str__(self):
        return self.username

    def get_full_name(self):
        return self.full_name or self.username

    def get_short_name(self):
        """
        How the site greets the person: the first given name, passing over a title ("Dr Ada
        Lovelace" → "Ada"); a title with only a surname stays whole ("Dr Lovelace") (issue #15).
        """
        words = self.full_name.split()
        names = [word for word in words if word.casefold().rstrip(".") not in NAME_TITLES]
        if not names:
            return self.full_name.strip() or self.username
        return names[0] if len(names) > 1 else " ".join(words)

    @property
    def initial(self) -> str:
        """The avatar's letter: the first name's (or surname's) initial, never a title's."""
        words = self.full_name.split()
        names = [word for word in words if word.casefold().rstrip(".") not in NAME_TITLES] or words
        return (names[0] if names else self.username)[:1].upper()

    def set_password(self, raw_password):
        super().set_password(raw_password)
        if raw_password is not None:
            self.password_changed_at = timezone.now()

    @cached_property
    def roles(self) -> list[str]:
        """Role (group) names, in the order of :data:`accounts.roles.ROLES`."""
        names = {group.name for group in self.groups.all()}
        return [role for role in roles.ROLES if role in names]

    def has_role(self, *names: str) -> bool:
        return self.is_superuser or any(name in self.roles for name in names)

    @property
    def may_use_admin(self) -> bool:
        """Whether Django admin opens for this person (the roles of ``roles.ADMIN_SITE_ROLES``)."""
        return self.is_active and self.has_role(*roles.ADMIN_SITE_ROLES)

    @property
    def is_approved(self) -> bool:
        return self.approval_status == self.Approval.APPROVED

    @property
    def is_admin_locked(self) -> bool:
        return self.locked_until is not None and self.locked_until > timezone.now()

    @property
    def password_expired(self) -> bool:
        max_age = settings.PASSWORD_MAX_AGE_DAYS
        if not max_age or not self.has_usable_password():
            return False
        changed = self.password_changed_at or self.date_joined
        return changed + timedelta(days=max_age) <= timezone.now()

    @property
    def needs_password_change(self) -> bool:
        return self.must_change_password or self.password_expired

    @property
    def may_use_local_password(self) -> bool:
        """
        Whether this account may sign in with a password kept here: always, unless
        ``LOCAL_LOGIN=False``, which keeps it for superusers only (break-glass, README "Hospital sign-in").
        """
        return settings.LOCAL_LOGIN or self.is_superuser

    @property
    def otp_required(self) -> bool:
        """Whether settings demand a second factor for this user's roles."""
        required = set(settings.OTP_REQUIRED_ROLES)
        if self.is_superuser and "superuser" in required:
            return True
        return bool(required.intersection(self.roles))

    def _get_session_auth_hash(self, secret=None):
        """
        Django's session hash covers the password only; adding ``token_generation`` makes
        an admin lock, "sign out everywhere" and turning on two-step sign-in end every
        browser session too, not only the API tokens (``django.contrib.auth.get_user``
        compares this hash on each request; SECRET_KEY_FALLBACKS go through here as well).
        """
        return salted_hmac(
            "accounts.User.get_session_auth_hash",
            f"{self.password}|{self.token_generation}",
            secret=secret,
            algorithm="sha256",
        ).hexdigest()

    def security_stamp(self) -> str:
        """
        A short digest of everything that must invalidate issued tokens when it changes:
        password, active flag, approval, roles and the revocation counter.
        """
        material = "|".join(
            [
                self.password,
                str(self.is_active),
                self.approval_status,
                str(self.is_superuser),
                ",".join(self.roles),
                str(self.token_generation),
            ]
        )
        return hmac.new(settings.SECRET_KEY.encode(), material.encode(), hashlib.sha256).hexdigest()[:20]


class PasswordHistory(models.Model):
    """Hashes of a user's previous passwords, for the "not one of the last N" rule."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="password_history")
    password = models.CharField(max_length=128)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "password history"

    def __str__(self):
        return f"{self.user} password of {self.created_at:%Y-%m-%d}"


class HashedCodeDevice(ThrottlingMixin, CooldownMixin, Device):
    """
    A second factor that sends a short code over a side channel (e-mail, SMS).

    Like django-otp's ``SideChannelDevice`` but the code is kept only as a keyed hash, is
    single-use, expires, is throttled on failure and cannot be re-sent during a cooldown.
    """

    code_hash = models.CharField(max_length=64, blank=True)
    valid_until = models.DateTimeField(default=timezone.now)

    class Meta:
        abstract = True

    def get_throttle_factor(self):
        return 1

    def get_cooldown_duration(self):
        return settings.OTP_RESEND_COOLDOWN_SECONDS

    sent_to = ""

    def deliver(self, code: str) -> None:  # pragma: no cover (each kind sends its own way)
        raise NotImplementedError

    def generate_challenge(self):
        """django-otp's hook: send a fresh code (unless one went out moments ago) and say where it went."""
        allowed, _ = self.generate_is_allowed()
        if not allowed:
            return "A code was sent moments ago; please wait before asking again."
        self.deliver(self.issue_code())
        return f"A code has been sent to {self.sent_to}."

    def issue_code(self) -> str:
        """Create and remember a fresh code; the caller delivers it and must not log it."""
        code = f"{secrets.randbelow(10**6):06d}"
        self.code_hash = code_digest(code)
        self.valid_until = timezone.now() + timedelta(seconds=settings.OTP_CODE_VALIDITY_SECONDS)
        self.cooldown_set(commit=False)
        self.save(update_fields=["code_hash", "valid_until", "last_generated_timestamp"])
        return code

    def verify_token(self, token):
        allowed, _ = self.verify_is_allowed()
        if not allowed or not self.code_hash:
            return False
        token = str(token).strip()
        if timezone.now() < self.valid_until and hmac.compare_digest(code_digest(token), self.code_hash):
            self.code_hash = ""
            self.valid_until = timezone.now()
            self.throttling_failure_count = 0
            self.throttling_failure_timestamp = None
            self.last_generated_timestamp = None
            self.save(
                update_fields=[
                    "code_hash",
                    "valid_until",
                    "throttling_failure_count",
                    "throttling_failure_timestamp",
                    "last_generated_timestamp",
                ]
            )
            return True
        self.throttle_increment()
        return False


class EmailOTPDevice(HashedCodeDevice):
    """Codes sent to the user's e-mail address."""

    class Meta(HashedCodeDevice.Meta):
        verbose_name = "e-mail code device"

    sent_to = "your e-mail address"

    def deliver(self, code: str) -> None:
        from .otp import deliver_email_code

        deliver_email_code(self, code)


class SMSOTPDevice(HashedCodeDevice):
    """Codes sent by SMS to a mobile number, through the configured gateway."""

    number = models.CharField(max_length=16, help_text="E.164 mobile number.")

    class Meta(HashedCodeDevice.Meta):
        verbose_name = "SMS code device"

    sent_to = "your mobile phone"

    def deliver(self, code: str) -> None:
        from .otp import deliver_sms_code

        deliver_sms_code(self, code)


class BackupCodeDevice(ThrottlingMixin, Device):
    """Ten one-time backup codes, stored hashed; each is deleted when used."""

    class Meta:
        verbose_name = "backup code device"

    def get_throttle_factor(self):
        return 1

    def verify_token(self, token):
        allowed, _ = self.verify_is_allowed()
        if not allowed:
            return False
        normalised = str(token).strip().lower().replace("-", "").replace(" ", "")
        deleted, _ = self.codes.filter(code_hash=code_digest(normalised)).delete()
        if deleted:
            self.throttle_reset()
            return True
        self.throttle_increment()
        return False


class BackupCode(models.Model):
    device = models.ForeignKey(BackupCodeDevice, on_delete=models.CASCADE, related_name="codes")
    code_hash = models.CharField(max_length=64)

    def __str__(self):
        return "backup code"


class ExternalIdentity(models.Model):
    """
    An account at the hospital's identity provider (OIDC) or directory (LDAP/AD) that signs in
    as ``user``, matched by the provider's stable subject (OIDC ``sub``, LDAP entryUUID or
    objectGUID), never by name or e-mail. ``roles`` records which groups granted which role at
    the last sign-in, so admins see where a role came from and the next sign-in knows which
    roles are the directory's to take away (accounts.sso).
    """

    class Provider(models.TextChoices):
        OIDC = "oidc", "OpenID Connect"
        LDAP = "ldap", "LDAP directory"

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="external_identities")
    provider = models.CharField(max_length=8, choices=Provider.choices)
    subject = models.CharField(max_length=255)
    # Where the subject lives: the OIDC issuer, or the entry's DN at the last sign-in.
    location = models.CharField(max_length=512, blank=True)
    # {role: [group, ...]} granted by the provider at the last sign-in ("*" = SSO_DEFAULT_ROLES).
    roles = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_sign_in_at = models.DateTimeField(null=True, blank=True)
    # Set when the directory check (or a sign-in) found the entry gone or disabled and
    # deactivated the account; cleared when the directory lets the person in again.
    deprovisioned_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "single sign-on identity"
        constraints = [
            models.UniqueConstraint(fields=["provider", "subject"], name="external_identity_unique_subject"),
            models.CheckConstraint(
                condition=models.Q(provider__in=["oidc", "ldap"]), name="external_identity_provider_valid"
            ),
        ]

    def __str__(self):
        return f"{self.get_provider_display()} {self.subject}"


def api_token_digest(token: str) -> str:
    """SHA-256 of a personal API token: the only form stored (the token has 256 random bits)."""
    return hashlib.sha256(token.encode()).hexdigest()


class PersonalTokenQuerySet(models.QuerySet):
    def usable(self):
        """Tokens that are neither revoked nor expired."""
        now = timezone.now()
        return self.filter(revoked_at=None).filter(models.Q(expires_at=None) | models.Q(expires_at__gt=now))


class PersonalToken(models.Model):
    """
    A personal API token: a long random secret its holder exchanges for a JWT pair (how SSO and
    directory accounts reach the API without sending a password here). Shown once, stored as
    a digest, revoked by its holder or whenever the account's tokens are (role change, lock…).
    """

    PREFIX = "svl_pat_"

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="personal_tokens")
    name = models.CharField(max_length=100)
    digest = models.CharField(max_length=64, unique=True)
    # The first characters after PREFIX, so a holder can tell their tokens apart.
    hint = models.CharField(max_length=8)
    # Whether the session that created it had passed a second factor (ours or the provider's):
    # the JWTs it yields carry "otp" accordingly (OTP_REQUIRED_ROLES).
    second_factor = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = PersonalTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.name} ({self.PREFIX}{self.hint}…)"

    @property
    def is_usable(self) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > timezone.now())
