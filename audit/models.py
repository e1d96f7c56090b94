"""
The audit trail: one row per security or content event, written by :func:`audit.trail.record`
in the same transaction as the change it describes, never edited, pruned by
:mod:`audit.retention`. Every app records its events here; this app imports none of them.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone


class AuditEventType(models.TextChoices):
    """Kinds of audit events; the database constraint keeps this list honest."""

    LOGIN_SUCCESS = "login_success", "Signed in"
    LOGIN_FAILURE = "login_failure", "Sign-in failed"
    LOCKOUT = "lockout", "Locked out"
    OTP_FAILURE = "otp_failure", "Second factor failed"
    LOGOUT = "logout", "Signed out"
    REGISTRATION = "registration", "Registered"
    APPROVAL = "approval", "Registration approved"
    REJECTION = "rejection", "Registration rejected"
    ROLE_CHANGE = "role_change", "Roles changed"
    ACTIVATION = "activation", "Account activated or deactivated"
    ACCOUNT_LOCK = "account_lock", "Account locked by an admin"
    UNLOCK = "unlock", "Account unlocked"
    PASSWORD_CHANGE = "password_change", "Password changed"
    PASSWORD_RESET_REQUEST = "password_reset_request", "Password reset requested"
    PASSWORD_RESET = "password_reset", "Password reset"
    PASSWORD_FORCED = "password_forced", "Password change forced"
    OTP_ENROL = "otp_enrol", "Second factor added"
    OTP_REMOVE = "otp_remove", "Second factor removed"
    OTP_RESET = "otp_reset", "Second factors reset by an admin"
    TOKEN_REVOKED = "token_revoked", "Tokens revoked"
    PROFILE_CHANGE = "profile_change", "Profile changed"
    VIDEO_UPLOAD = "video_upload", "Video uploaded"
    VIDEO_EDIT = "video_edit", "Video edited"
    VIDEO_PUBLISH = "video_publish", "Video published"
    VIDEO_REJECT = "video_reject", "Video rejected"
    VIDEO_ARCHIVE = "video_archive", "Video archived"
    VIDEO_DELETE = "video_delete", "Video deleted"
    VIDEO_REPROCESS = "video_reprocess", "Video reprocessing requested"
    VIDEO_RESUBMIT = "video_resubmit", "Video resubmitted for review"
    CATALOGUE_MERGE = "catalogue_merge", "Catalogue entries merged"
    AUDIT_PRUNE = "audit_prune", "Old audit entries pruned"
    LOGIN_THROTTLED = "login_throttled", "Sign-ins paused: failures from many addresses"
    QUOTA_REFUSED = "quota_refused", "Upload refused: quota reached"
    SSO_ACCOUNT_CREATED = "sso_account_created", "Account created at a first single sign-on"
    DEPROVISION = "deprovision", "Deactivated: directory account gone or disabled"
    API_TOKEN_CREATED = "api_token_created", "Personal API token created"
    API_TOKEN_REVOKED = "api_token_revoked", "Personal API token revoked"


class AuditEventQuerySet(models.QuerySet):
    def security(self):
        """Sign-in, lockout, 2FA and password events."""
        return self.filter(event__in=AuditEvent.SECURITY_EVENTS)


class AuditEvent(models.Model):
    """
    One security or content event. Written in the same transaction as the change it
    describes (see :func:`audit.trail.record`), never edited, pruned by retention.
    ``detail`` never holds a secret: no password, code, token or key.
    """

    Event = AuditEventType

    SECURITY_EVENTS = [
        Event.LOGIN_SUCCESS,
        Event.LOGIN_FAILURE,
        Event.LOCKOUT,
        Event.OTP_FAILURE,
        Event.LOGOUT,
        Event.UNLOCK,
        Event.ACCOUNT_LOCK,
        Event.PASSWORD_CHANGE,
        Event.PASSWORD_RESET,
        Event.PASSWORD_RESET_REQUEST,
        Event.PASSWORD_FORCED,
        Event.OTP_ENROL,
        Event.OTP_REMOVE,
        Event.OTP_RESET,
        Event.TOKEN_REVOKED,
        Event.LOGIN_THROTTLED,
        Event.SSO_ACCOUNT_CREATED,
        Event.DEPROVISION,
        Event.API_TOKEN_CREATED,
        Event.API_TOKEN_REVOKED,
    ]

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    event = models.CharField(max_length=40, choices=Event.choices, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="audit_actions"
    )
    target_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="audit_subject"
    )
    # What was typed as the username on a failed sign-in (there may be no such user).
    username = models.CharField(max_length=254, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=512, blank=True)
    request_id = models.CharField(max_length=128, blank=True)
    detail = models.JSONField(default=dict, blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        # The table kept its name when the model moved here from accounts (migration audit 0001).
        db_table = "accounts_auditevent"
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["actor", "-created_at"], name="audit_actor_idx"),
            models.Index(fields=["target_user", "-created_at"], name="audit_target_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(event__in=AuditEventType.values), name="audit_event_valid")
        ]

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.get_event_display()}"
