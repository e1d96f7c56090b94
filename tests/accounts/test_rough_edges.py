"""
Rough edges a new user met in accounts (issue #15): the greeting took "Dr" for a first name
(pages, e-mails, the avatar), the security page said "Authenticator app" twice, enrolling a
second factor ended on a page with no way on, and registration said the length rule twice.
"""

import re

import pytest
from django.core import mail
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import roles
from accounts.models import User
from tests.factories import PASSWORD
from tests.signin import otp_client

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("full_name", "short", "initial"),
    [
        ("Dr Ada Lovelace", "Ada", "A"),
        ("dr. ada lovelace", "ada", "A"),
        ("Prof Dr Grace Hopper", "Grace", "G"),
        ("Mrs Mary Seacole", "Mary", "M"),
        ("Ms Jo Bloggs", "Jo", "J"),
        ("Mr Lister", "Mr Lister", "L"),  # a title and a surname only: greet them whole
        ("Dr", "Dr", "D"),
        ("Ada Lovelace", "Ada", "A"),
        ("Drew Carey", "Drew", "D"),  # a name that starts like a title is a name
        ("", "ada", "A"),  # no name: the username
    ],
)
def test_short_name_passes_over_titles(full_name, short, initial):
    user = User(username="ada", full_name=full_name)
    assert (user.get_short_name(), user.initial) == (short, initial)


def test_home_nav_avatar_and_profile_greet_by_first_name(client, make_user):
    user = make_user(roles.VIEWER, username="ada", full_name="Dr Ada Lovelace")
    client.force_login(user)
    home = client.get("/").content.decode()
    assert "Welcome, Ada</h1>" in home
    assert "Welcome, Dr" not in home
    assert re.search(r'aria-hidden="true">A</span>\s*<span class="max-w-40 truncate">Ada</span>', home)
    profile = client.get(reverse("accounts:profile")).content.decode()
    assert 'aria-hidden="true">A</span>' in profile and 'aria-hidden="true">D</span>' not in profile


def test_emails_greet_by_first_name(client, make_user):
    make_user(roles.VIEWER, username="grace", email="grace@example.com", full_name="Prof Grace Hopper")
    response = client.post(reverse("accounts:password_reset"), {"email": "grace@example.com"})
    assert response.status_code == 302
    [message] = mail.outbox
    assert message.body.startswith("Hello Grace,"), message.body[:40]


def _reauthed(client, user):
    client.force_login(user, backend="accounts.backends.UsernameOrEmailBackend")
    assert client.post(reverse("accounts:reauth"), {"password": PASSWORD, "next": "/"}).status_code == 302
    return client


def test_enrolment_shows_the_kind_once_and_a_way_on(client, viewer):
    _reauthed(client, viewer)
    assert client.get(reverse("accounts:totp_setup")).status_code == 200
    device = TOTPDevice.objects.get(user=viewer, confirmed=False)
    code = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift).token()
    response = client.post(reverse("accounts:totp_setup"), {"code": f"{code:06d}"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "Your backup codes" in html
    # The page that shows the codes once has somewhere to go next.
    assert re.search(r'<a class="btn btn-primary" href="/" data-codes-saved>Continue to the library</a>', html)
    # "Authenticator app" is the kind; the device's default name does not repeat it.
    methods = html.split('id="methods-heading"', 1)[1].split("Add a method", 1)[0]
    assert methods.count("Authenticator app") == 2  # the row's label and the Remove button's sr-only text
    assert re.findall(r"<p[^>]*>\s*Authenticator app\s*</p>", methods) == [
        '<p class="font-medium text-slate-900 dark:text-white">Authenticator app</p>'
    ]


def test_a_named_device_still_shows_its_name(client, viewer):
    device = TOTPDevice.objects.create(user=viewer, name="Work phone", confirmed=True)
    otp_client(viewer, client, device=device)
    html = client.get(reverse("accounts:security")).content.decode()
    assert "Work phone" in html


@pytest.mark.parametrize("password", ["short", "Sh0rt!"])
def test_registration_states_the_length_rule_once(client, settings, password):
    settings.REGISTRATION_OPEN = True
    response = client.post(
        reverse("accounts:register"),
        {
            "username": "newbie",
            "email": "newbie@example.com",
            "password1": password,
            "password2": password,
            "full_name": "New Bie",
            "user_type": "employee",
            "employee_id": "E-1",
            "accept_terms": "on",
        },
    )
    assert response.status_code == 200
    errors = re.search(r'<ul id="id_password1_errors"[^>]*>(.*?)</ul>', response.content.decode(), re.S).group(1)
    items = re.findall(r"<li>(.*?)</li>", errors)
    assert sum("10 characters" in item for item in items) == 1, items
    assert len(items) == len(set(items))
