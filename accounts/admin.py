"""
Admin for accounts: users with roles and the registration approval queue. Every change goes
through :mod:`accounts.services`, like the API.
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from core.admin import ReadOnlyAdminMixin, run_service_action

from . import otp, roles, services, sso
from .models import User

admin.site.unregister(Group)


class PendingRegistration(User):
    """The approval queue: self-registered accounts awaiting an Admin."""

    class Meta:
        proxy = True
        verbose_name = "registration awaiting approval"
        verbose_name_plural = "registrations awaiting approval"


class UserChangeForm(forms.ModelForm):
    roles = forms.MultipleChoiceField(
        choices=[(role, role) for role in roles.ROLES],
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Each role includes the rights of the roles above it. Changing roles signs the user out of the API.",
    )

    class Meta:
        model = User
        fields = [
            "username",
            "email",
            "full_name",
            "employee_id",
            "mobile",
            "user_type",
            "is_active",
            "is_superuser",
            "must_change_password",
            "theme",
            "autoplay_next",
            "default_quality",
            "default_speed",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["roles"].initial = list(self.instance.groups.values_list("name", flat=True))

    def clean_mobile(self):
        from .validators import normalise_mobile

        value = self.cleaned_data.get("mobile")
        return normalise_mobile(value) if value else None

    def clean_employee_id(self):
        return self.cleaned_data.get("employee_id") or None

    # The signed-in admin, set by UserAdmin.get_form (each request gets its own form class).
    actor = None

    def clean(self):
        cleaned = super().clean()
        _identity_errors(self)
        if self.instance.pk and "is_active" in self.changed_data:
            try:
                services.user_set_active_check(actor=self.actor, user=self.instance, active=cleaned.get("is_active"))
            except ValidationError as error:
                self.add_error("is_active", error)
        return cleaned


def _identity_errors(form) -> None:
    """The registration rule, in admin too: no username or e-mail may name another account."""
    errors = services._unique_errors(
        username=form.cleaned_data.get("username"),
        email=form.cleaned_data.get("email"),
        employee_id=None,
        mobile=None,
        exclude_pk=form.instance.pk,
    )
    for field, message in errors.items():
        if field in form.fields and field not in form.errors:
            form.add_error(field, message)


class UserCreationForm(AdminUserCreationForm):
    class Meta:
        model = User
        fields = ["username", "email", "full_name"]

    def clean(self):
        cleaned = super().clean()
        _identity_errors(self)
        return cleaned


def _manageable(modeladmin, request, queryset):
    """
    Only a superuser may act on a superuser: otherwise an Admin could reset a superuser's
    second factor and set a temporary password, and so become one.
    """
    if request.user.is_superuser:
        return queryset
    skipped = queryset.filter(is_superuser=True).count()
    if skipped:
        modeladmin.message_user(
            request, f"Only a superuser can change superuser accounts; {skipped} skipped.", messages.WARNING
        )
    return queryset.filter(is_superuser=False)


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = UserChangeForm
    add_form = UserCreationForm
    list_display = [
        "username",
        "full_name",
        "email",
        "role_list",
        "approval_status",
        "is_active",
        "locked",
        "last_login",
    ]
    list_filter = ["approval_status", "is_active", "is_superuser", "groups", "user_type"]
    search_fields = ["username", "email", "full_name", "employee_id", "mobile"]
    ordering = ["username"]
    readonly_fields = [
        "last_login",
        "date_joined",
        "password_changed_at",
        "approval_status",
        "approved_at",
        "approved_by",
        "locked_until",
        "id_document_link",
        "failed_attempts",
        "activity_link",
        "role_sources",
    ]
    fieldsets = [
        (None, {"fields": ["username", "email", "full_name", "employee_id", "mobile", "user_type"]}),
        (
            "Access",
            {
                "fields": [
                    "is_active",
                    "roles",
                    "role_sources",
                    "is_superuser",
                    "must_change_password",
                    "locked_until",
                    "failed_attempts",
                ]
            },
        ),
        ("Registration", {"fields": ["approval_status", "approved_at", "approved_by", "id_document_link"]}),
        (
            "Player preferences",
            {"classes": ["collapse"], "fields": ["theme", "autoplay_next", "default_quality", "default_speed"]},
        ),
        ("Dates", {"fields": ["last_login", "date_joined", "password_changed_at"]}),
        ("Audit", {"fields": ["activity_link"]}),
    ]
    add_fieldsets = [
        (None, {"classes": ["wide"], "fields": ["username", "email", "full_name", "password1", "password2"]})
    ]
    actions = [
        "approve",
        "reject",
        "activate",
        "deactivate",
        "lock",
        "unlock",
        "reset_two_factor",
        "force_password_change",
        "set_temporary_password",
        "revoke_tokens",
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("groups")

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if not request.user.is_superuser:
            # Only a superuser may grant (or remove) superuser status.
            fields.append("is_superuser")
        return fields

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False  # see _manageable
        return super().has_change_permission(request, obj)

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        form.actor = request.user
        return form

    @admin.display(description="Roles")
    def role_list(self, user):
        return ", ".join(user.roles) or "—"

    @admin.display(description="Where the roles come from")
    def role_sources(self, user):
        """Per role: the directory group(s) that grant it at sign-in, or an administrator (accounts.sso)."""
        if user.pk is None:
            return "—"
        identities = [
            format_html(
                "{} <code>{}</code>{}",
                identity.get_provider_display(),
                identity.subject,
                format_html(" — deactivated by the directory check on {}", identity.deprovisioned_at)
                if identity.deprovisioned_at
                else "",
            )
            for identity in user.external_identities.all()
        ]
        rows = [
            format_html("<li><strong>{}</strong>: {}</li>", role, source) for role, source in sso.role_sources(user)
        ]
        signs_in = format_html_join("", "<li>Signs in through {}</li>", ((i,) for i in identities))
        return (
            format_html("<ul>{}{}</ul>", signs_in, format_html_join("", "{}", ((r,) for r in rows)))
            if (identities or rows)
            else "—"
        )

    @admin.display(boolean=True, description="Locked")
    def locked(self, user):
        return user.is_admin_locked

    @admin.display(description="Failed sign-ins (axes)")
    def failed_attempts(self, user):
        from axes.models import AccessAttempt

        attempts = AccessAttempt.objects.filter(username=user.username.lower())
        total = sum(attempts.values_list("failures_since_start", flat=True))
        return total

    @admin.display(description="Activity")
    def activity_link(self, user):
        """Sign-ins, uploads, views and audit events of this person (config.audit_views)."""
        if user.pk is None:
            return "—"
        url = reverse("admin:user_activity", args=[user.pk])
        return format_html('<a href="{}">Sign-ins, uploads, views and audit events</a>', url)

    @admin.display(description="ID document")
    def id_document_link(self, user):
        if not user.id_document:
            return "—"
        url = reverse("admin:accounts_user_id_document", args=[user.pk])
        return format_html('<a href="{}" target="_blank" rel="noopener">View document</a>', url)

    def user_change_password(self, request, id, form_url=""):
        # Passwords set here would skip the history, audit and token revocation; use the
        # "Set a temporary password" action, which goes through the service.
        messages.info(request, "Use the action “Set a temporary password” to give a user a new password.")
        from django.shortcuts import redirect

        return redirect("admin:accounts_user_change", id)

    def get_urls(self):
        return [
            path(
                "<int:pk>/id-document/",
                self.admin_site.admin_view(self.id_document_view),
                name="accounts_user_id_document",
            ),
            *super().get_urls(),
        ]

    def id_document_view(self, request, pk):
        """Stream an ID document to an Admin; the file is never under a served path."""
        if not request.user.has_perm("accounts.approve_registration"):
            raise PermissionDenied
        user = get_object_or_404(User, pk=pk)
        if not user.id_document:
            raise Http404("No document")
        response = FileResponse(user.id_document.open("rb"), as_attachment=False, filename=user.id_document.name)
        response["Content-Security-Policy"] = "default-src 'none'; sandbox; frame-ancestors 'none'"
        response["Cache-Control"] = "private, no-store"
        return response

    def save_model(self, request, obj, form, change):
        if not change:
            obj.approval_status = User.Approval.APPROVED
            super().save_model(request, obj, form, change)
            return
        # These two are set by their services (which record and revoke), not by the plain save.
        by_service = {
            name: form.cleaned_data[name] for name in ("is_active", "is_superuser") if name in form.changed_data
        }
        for name, value in by_service.items():
            setattr(obj, name, not value)
        super().save_model(request, obj, form, change)
        if "is_active" in by_service:
            services.user_set_active(actor=request.user, user=obj, active=by_service["is_active"])
        if "is_superuser" in by_service:
            services.user_set_superuser(actor=request.user, user=obj, superuser=by_service["is_superuser"])
        if "must_change_password" in form.changed_data and obj.must_change_password:
            # The "Require a new password" action: recorded, and nothing issued before it plays.
            services.password_force_change(actor=request.user, user=obj)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        if "roles" in form.cleaned_data and request.user.has_perm("accounts.change_user"):
            services.user_set_roles(actor=request.user, user=form.instance, role_names=form.cleaned_data["roles"])

    @admin.action(description="Approve selected registrations", permissions=["approve"])
    def approve(self, request, queryset):
        run_service_action(
            self,
            request,
            queryset.filter(approval_status=User.Approval.PENDING),
            lambda u: services.user_approve(actor=request.user, user=u),
            "{count} account(s) approved.",
        )

    @admin.action(description="Reject selected registrations", permissions=["approve"])
    def reject(self, request, queryset):
        run_service_action(
            self,
            request,
            queryset.filter(approval_status=User.Approval.PENDING),
            lambda u: services.user_reject(actor=request.user, user=u, reason="Rejected by an administrator."),
            "{count} registration(s) rejected.",
        )

    @admin.action(description="Activate selected accounts", permissions=["change"])
    def activate(self, request, queryset):
        run_service_action(
            self,
            request,
            _manageable(self, request, queryset),
            lambda u: services.user_set_active(actor=request.user, user=u, active=True),
            "{count} account(s) activated.",
        )

    @admin.action(description="Deactivate selected accounts", permissions=["change"])
    def deactivate(self, request, queryset):
        run_service_action(
            self,
            request,
            _manageable(self, request, queryset),
            lambda u: services.user_set_active(actor=request.user, user=u, active=False),
            "{count} account(s) deactivated.",
        )

    @admin.action(description="Lock selected accounts for 24 hours", permissions=["security"])
    def lock(self, request, queryset):
        run_service_action(
            self,
            request,
            _manageable(self, request, queryset.exclude(pk=request.user.pk)),
            lambda u: services.user_lock(actor=request.user, user=u),
            "{count} account(s) locked.",
        )

    @admin.action(description="Unlock selected accounts (clears failed sign-ins)", permissions=["security"])
    def unlock(self, request, queryset):
        run_service_action(
            self,
            request,
            queryset,
            lambda u: services.user_unlock(actor=request.user, user=u),
            "{count} account(s) unlocked.",
        )

    @admin.action(description="Reset two-factor devices", permissions=["security"])
    def reset_two_factor(self, request, queryset):
        run_service_action(
            self,
            request,
            _manageable(self, request, queryset),
            lambda u: otp.devices_reset(user=u),
            "Two-factor devices removed for {count} account(s).",
        )

    @admin.action(description="Require a new password at next sign-in", permissions=["security"])
    def force_password_change(self, request, queryset):
        run_service_action(
            self,
            request,
            _manageable(self, request, queryset),
            lambda u: services.password_force_change(actor=request.user, user=u),
            "{count} account(s) must change their password.",
        )

    @admin.action(description="Set a temporary password (shown once)", permissions=["security"])
    def set_temporary_password(self, request, queryset):
        for user in _manageable(self, request, queryset):
            password = services.password_set_by_admin(actor=request.user, user=user)
            self.message_user(
                request,
                f"Temporary password for {user.username}: {password} — give it to them in person; "
                "they must change it when they sign in.",
                messages.WARNING,
            )

    @admin.action(description="Sign out everywhere (API tokens and browser sessions)", permissions=["security"])
    def revoke_tokens(self, request, queryset):
        def revoke(user):
            services.sign_out_everywhere(actor=request.user, user=user)

        run_service_action(
            self, request, _manageable(self, request, queryset), revoke, "Tokens revoked for {count} account(s)."
        )

    def has_approve_permission(self, request):
        return request.user.has_perm("accounts.approve_registration")

    def has_security_permission(self, request):
        return request.user.has_perm("accounts.manage_security")


@admin.register(PendingRegistration)
class PendingRegistrationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["username", "full_name", "email", "employee_id", "mobile", "user_type", "document", "date_joined"]
    list_filter = ["user_type"]
    search_fields = ["username", "email", "full_name", "employee_id"]
    ordering = ["date_joined"]
    actions = ["approve", "reject"]
    fields = ["username", "email", "full_name", "employee_id", "mobile", "user_type", "document", "date_joined"]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).filter(approval_status=User.Approval.PENDING)

    @admin.display(description="ID document")
    def document(self, user):
        return UserAdmin.id_document_link(self, user)

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("accounts.approve_registration")

    def has_module_permission(self, request):
        return request.user.has_perm("accounts.approve_registration")

    def has_approve_permission(self, request):
        return request.user.has_perm("accounts.approve_registration")

    approve = UserAdmin.approve
    reject = UserAdmin.reject
