"""
The OpenID Connect provider the sign-in tests run locally: a second, tiny Django site (these
settings; URLs, claims and the test control in tests/accounts/oidc_provider_urls.py) serving django-oauth-toolkit in its OIDC mode — authorization code
with PKCE, RS256 ID tokens, userinfo, JWKS, discovery and RP-initiated logout. It stands in for
Entra ID or Keycloak; :mod:`tests.accounts.oidc_provider` starts it (``runserver``) and drives
its ``/control/`` endpoint to set up people.

Each person here has a password, groups (the ``groups`` claim) and the ``amr`` values their
sign-in reports (kept in ``last_name``, e.g. "pwd mfa": this provider's stand-in for "this
person's sign-in includes a second factor").

Run only as the provider's settings module (DJANGO_SETTINGS_MODULE), never imported by the tests.
"""

import os

SECRET_KEY = "svl-test-provider-" + os.environ.get("SVL_OIDC_CONTROL_SECRET", "x")
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "oauth2_provider",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
ROOT_URLCONF = "tests.accounts.oidc_provider_urls"
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": os.environ.get("SVL_OIDC_DB", ":memory:")}}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
LOGIN_URL = "/login/"
# The app under test sets its own session cookie on another port of the same host: keep apart.
SESSION_COOKIE_NAME = "provider_sessionid"
CSRF_COOKIE_NAME = "provider_csrftoken"
LOGIN_PAGE = """<!doctype html><title>Test provider</title><h1>Hospital identity provider</h1>
<form method="post">{% csrf_token %}
<label>Provider username <input name="username" id="provider-username"></label>
<label>Provider password <input name="password" id="provider-password" type="password"></label>
<button type="submit">Sign in at provider</button></form>"""
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "OPTIONS": {
            "loaders": [
                ("django.template.loaders.locmem.Loader", {"registration/login.html": LOGIN_PAGE}),
                "django.template.loaders.app_directories.Loader",
            ],
            "context_processors": ["django.template.context_processors.request"],
        },
    }
]


OAUTH2_PROVIDER = {
    "OIDC_ENABLED": True,
    "OIDC_RSA_PRIVATE_KEY": os.environ.get("SVL_OIDC_RSA_KEY", ""),
    "PKCE_REQUIRED": True,
    "OAUTH2_VALIDATOR_CLASS": "tests.accounts.oidc_provider_urls.Validator",
    "SCOPES": {"openid": "OpenID", "email": "E-mail", "profile": "Profile"},
    "OIDC_RP_INITIATED_LOGOUT_ENABLED": True,
    "OIDC_RP_INITIATED_LOGOUT_ALWAYS_PROMPT": False,
    "ALLOWED_REDIRECT_URI_SCHEMES": ["http", "https"],
    "ID_TOKEN_EXPIRE_SECONDS": int(os.environ.get("SVL_OIDC_ID_TOKEN_SECONDS", "300")),
}
