"""Input and output shapes of the accounts API. No business logic: views call services."""

from django.contrib.auth import get_user_model
from rest_framework import serializers

from core.api import DetailOutput  # noqa: F401 (the views use it as s.DetailOutput)

User = get_user_model()


class TokenObtainInput(serializers.Serializer):
    username = serializers.CharField(max_length=254, help_text="Username or e-mail address.")
    password = serializers.CharField(max_length=4096, trim_whitespace=False, style={"input_type": "password"})


class TokenPairOutput(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField()


class OtpRequiredOutput(serializers.Serializer):
    otp_required = serializers.BooleanField()
    otp_token = serializers.CharField(help_text="Send back to auth/token/otp/ with the code, within 5 minutes.")
    methods = serializers.ListField(child=serializers.CharField())
    detail = serializers.CharField()


class TokenOtpInput(serializers.Serializer):
    otp_token = serializers.CharField(max_length=2048)
    code = serializers.CharField(max_length=32)


class TokenRefreshInput(serializers.Serializer):
    refresh = serializers.CharField(max_length=4096)


class LogoutInput(serializers.Serializer):
    refresh = serializers.CharField(max_length=4096)


class MeOutput(serializers.ModelSerializer):
    roles = serializers.ListField(child=serializers.CharField(), read_only=True)
    otp_enabled = serializers.SerializerMethodField()
    password_change_required = serializers.BooleanField(source="needs_password_change", read_only=True)

    class Meta:
        model = User
        fields = [
            "id",
            "username",
            "email",
            "full_name",
            "employee_id",
            "mobile",
            "user_type",
            "roles",
            "is_superuser",
            "otp_enabled",
            "password_change_required",
            "last_login",
            "date_joined",
            "theme",
            "autoplay_next",
            "default_quality",
            "default_speed",
        ]
        read_only_fields = fields

    def get_otp_enabled(self, user) -> bool:
        from django_otp import user_has_device

        return user_has_device(user, confirmed=True)


class MeUpdateInput(serializers.Serializer):
    full_name = serializers.CharField(max_length=150, required=False, allow_blank=True)
    mobile = serializers.CharField(max_length=20, required=False, allow_blank=True, allow_null=True)
    theme = serializers.ChoiceField(choices=User.Theme.choices, required=False)
    autoplay_next = serializers.BooleanField(required=False)
    default_quality = serializers.ChoiceField(choices=User.Quality.choices, required=False)
    default_speed = serializers.ChoiceField(choices=User.Speed.choices, required=False)


class RegisterInput(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(max_length=4096, trim_whitespace=False, style={"input_type": "password"})
    full_name = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")
    employee_id = serializers.CharField(max_length=30, required=False, allow_blank=True, allow_null=True)
    mobile = serializers.CharField(max_length=20, required=False, allow_blank=True, allow_null=True)
    user_type = serializers.ChoiceField(choices=User.UserType.choices, required=False, default=User.UserType.EMPLOYEE)

    def validate(self, attrs):
        # The API takes JSON only (accounts.api.views.PublicApiView): say where a document goes
        # rather than drop it silently.
        if "id_document" in self.initial_data:
            raise serializers.ValidationError(
                {"id_document": "Attach an ID document on the registration page, /accounts/register/."}
            )
        return attrs


class RegisterOutput(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    status = serializers.CharField()
    detail = serializers.CharField()


class PasswordChangeInput(serializers.Serializer):
    old_password = serializers.CharField(max_length=4096, trim_whitespace=False)
    new_password = serializers.CharField(max_length=4096, trim_whitespace=False)


class PasswordResetInput(serializers.Serializer):
    email = serializers.EmailField(max_length=254)


class PasswordResetConfirmInput(serializers.Serializer):
    uid = serializers.CharField(max_length=64)
    token = serializers.CharField(max_length=128)
    new_password = serializers.CharField(max_length=4096, trim_whitespace=False)


class TokenPersonalInput(serializers.Serializer):
    token = serializers.CharField(max_length=200, help_text="A personal API token (svl_pat_…) from the security page.")


class ApiTokenOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    hint = serializers.CharField(help_text="The first characters after svl_pat_, to tell tokens apart.")
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField(allow_null=True)
    last_used_at = serializers.DateTimeField(allow_null=True)


class ApiTokenCreateInput(serializers.Serializer):
    name = serializers.CharField(max_length=100)


class ApiTokenCreatedOutput(ApiTokenOutput):
    token = serializers.CharField(help_text="The secret, shown this once; only its digest is stored.")
