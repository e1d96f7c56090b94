"""
The accounts services as every door sees them (DESIGN §9): they never take the request
(the audit reads who and where from core.context), and they hold the rules the doors used to.
"""

import inspect

import pytest
from django.core.exceptions import PermissionDenied

from accounts import otp, roles, services
from audit.models import AuditEvent

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("module", [services, otp])
def test_no_service_takes_the_request(module):
    functions = inspect.getmembers(module, inspect.isfunction)
    ours = {name: function for name, function in functions if function.__module__ == module.__name__}
    assert len(ours) > 5  # the check sees the module's own functions
    assert [name for name, function in ours.items() if "request" in inspect.signature(function).parameters] == []


def test_only_a_superuser_grants_superuser_status(make_user, viewer):
    admin = make_user(*roles.ROLES, username="adam")
    with pytest.raises(PermissionDenied):
        services.user_set_superuser(actor=admin, user=viewer, superuser=True)
    viewer.refresh_from_db()
    assert not viewer.is_superuser
    root = make_user(username="root", is_superuser=True)
    stamp = viewer.security_stamp()
    services.user_set_superuser(actor=root, user=viewer, superuser=True)
    viewer.refresh_from_db()
    assert viewer.is_superuser and viewer.security_stamp() != stamp
    event = AuditEvent.objects.get(event="role_change", target_user=viewer)
    assert (event.actor, event.detail) == (root, {"added": ["superuser"], "removed": []})


def test_a_lock_signs_out_everywhere_like_the_action(client, viewer):
    """The lock and "sign out everywhere" share one mechanism: the stamp, the session hash and the tokens."""
    client.force_login(viewer)
    before = (viewer.token_generation, viewer.security_stamp())
    services.user_lock(actor=None, user=viewer, hours=1)
    viewer.refresh_from_db()
    assert viewer.token_generation == before[0] + 1 and viewer.security_stamp() != before[1]
    assert viewer.tokens_revoked_at is not None
    assert client.get("/accounts/profile/").status_code == 302
    assert "_auth_user_id" not in client.session
    assert list(AuditEvent.objects.values_list("event", flat=True)) == ["account_lock"]
