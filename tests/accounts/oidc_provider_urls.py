"""URLs, claims and the test-control endpoint of the local OpenID provider (see oidc_provider_site)."""

import json
import os

from django.contrib.auth import views as auth_views
from django.http import HttpResponseForbidden, JsonResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt
from oauth2_provider.oauth2_validators import OAuth2Validator


class Validator(OAuth2Validator):
    """Every claim whatever the scope; groups and amr as described above."""

    oidc_claim_scope = None

    def get_additional_claims(self, request):
        user = request.user
        return {
            "preferred_username": user.username,
            "email": user.email,
            "name": user.first_name,
            "groups": sorted(user.groups.values_list("name", flat=True)),
            "amr": user.last_name.split() or ["pwd"],
        }


@csrf_exempt
def control(request, what):
    """Test set-up, guarded by a per-run secret: ``user`` and ``client`` (JSON bodies)."""
    from django.contrib.auth.models import Group, User
    from oauth2_provider.models import Application

    if request.headers.get("X-Control-Secret") != os.environ.get("SVL_OIDC_CONTROL_SECRET"):
        return HttpResponseForbidden()
    data = json.loads(request.body)
    if what == "user":
        user, _ = User.objects.get_or_create(username=data["username"])
        user.email = data.get("email", f"{data['username']}@hospital.test")
        user.first_name = data.get("name", data["username"].title())
        user.last_name = " ".join(data.get("amr", ["pwd"]))
        user.set_password(data["password"])
        user.save()
        user.groups.set([Group.objects.get_or_create(name=name)[0] for name in data.get("groups", [])])
        return JsonResponse({"id": user.pk})
    if what == "client":
        Application.objects.filter(client_id=data["client_id"]).delete()
        Application.objects.create(
            name="svl",
            client_id=data["client_id"],
            client_secret=data["client_secret"],
            client_type=Application.CLIENT_CONFIDENTIAL,
            authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
            redirect_uris=" ".join(data["redirect_uris"]),
            post_logout_redirect_uris=" ".join(data.get("post_logout_redirect_uris", [])),
            algorithm=Application.RS256_ALGORITHM,
            skip_authorization=True,
        )
        return JsonResponse({"ok": True})
    return JsonResponse({"error": "unknown"}, status=404)


urlpatterns = [
    path("o/", include("oauth2_provider.urls", namespace="oauth2_provider")),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("control/<str:what>/", control),
]
