"""Shapes of governance's API: input is only shaped here; the rules are the services'."""

from rest_framework import serializers

from ..models import Consent


class ConsentInput(serializers.Serializer):
    # Plain strings: the service names a bad value in its own words (400 naming the field).
    status = serializers.CharField(allow_blank=True)
    purpose = serializers.CharField(allow_blank=True, required=False, default="")


class ConsentOutput(serializers.Serializer):
    status = serializers.CharField(allow_null=True)
    status_display = serializers.CharField(allow_null=True)
    purpose = serializers.CharField(allow_blank=True)
    set_by = serializers.CharField(allow_null=True)
    set_at = serializers.DateTimeField(allow_null=True)
    withdrawn_at = serializers.DateTimeField(allow_null=True)
    required = serializers.BooleanField(help_text="Whether publishing needs a recorded consent (CONSENT_REQUIRED).")

    @staticmethod
    def of(consent: Consent | None, *, required: bool) -> dict:
        if consent is None:
            return {
                "status": None,
                "status_display": None,
                "purpose": "",
                "set_by": None,
                "set_at": None,
                "withdrawn_at": None,
                "required": required,
            }
        return {
            "status": consent.status,
            "status_display": consent.get_status_display(),
            "purpose": consent.purpose,
            "set_by": consent.set_by.username if consent.set_by else None,
            "set_at": consent.set_at,
            "withdrawn_at": consent.withdrawn_at,
            "required": required,
        }


class ReasonInput(serializers.Serializer):
    reason = serializers.CharField(allow_blank=True, required=False, default="")


class LegalHoldOutput(serializers.Serializer):
    held = serializers.BooleanField()
    reason = serializers.CharField(allow_blank=True)
    set_by = serializers.CharField(allow_null=True)
    set_at = serializers.DateTimeField(allow_null=True)
