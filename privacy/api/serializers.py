"""Shapes of the privacy API (issue #17): input checked here, rules in privacy.services."""

from rest_framework import serializers

from ..models import PrivacyRange


class RangeOutput(serializers.ModelSerializer):
    class Meta:
        model = PrivacyRange
        fields = ["id", "start", "end", "kinds", "confidence", "decision", "reason", "hand_made"]


class PrivacyOutput(serializers.Serializer):
    status = serializers.ChoiceField(choices=["pending", "clean", "flagged", "resolved"])
    applying = serializers.BooleanField()
    ranges = RangeOutput(many=True)


class DecisionInput(serializers.Serializer):
    # The choices and the reason rule are the service's (privacy.services.range_decide).
    decision = serializers.CharField(max_length=20)
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class RangeInput(serializers.Serializer):
    start = serializers.FloatField(min_value=0)
    end = serializers.FloatField(min_value=0)
