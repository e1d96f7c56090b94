"""
Settings for the Surgical Video Library: one module, driven by the environment.

Every value can be set by an environment variable (or a line in ``.env``); the README's
configuration table lists them all with their defaults. With no environment at all the
project runs on SQLite (WAL), the database cache and the django-q2 ORM broker.

Modes (``DJANGO_ENV``):
- ``development``: ``make run`` sets ``DEBUG=True``; insecure cookies, console e-mail.
- ``test``: chosen automatically under pytest; fast hashing, synchronous jobs.
- ``production``: the default whenever ``DEBUG`` is off outside tests; secure cookies,
  HSTS, and ``manage.py check --deploy`` passes once the documented variables are set.
"""

import os
import re
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

import environ
from csp.constants import NONCE
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# Values already in the process environment win over .env (read_env uses setdefault).
environ.Env.read_env(BASE_DIR / ".env")

TESTING = "pytest" in sys.modules
DEBUG = env.bool("DEBUG", default=False) and not TESTING
DJANGO_ENV = env.str("DJANGO_ENV", default="test" if TESTING else ("development" if DEBUG else "production"))
if DJANGO_ENV not in {"development", "test", "production"}:
    raise ImproperlyConfigured("DJANGO_ENV must be development, test or production")
PRODUCTION = DJANGO_ENV == "production"

# --------------------------------------------------------------------------------------
# Core
# --------------------------------------------------------------------------------------
_DEV_SECRET = "dev-insecure-key-only-for-development-and-tests-0123456789abcdef"
SECRET_KEY = env.str("SECRET_KEY", default="") or ("" if PRODUCTION else _DEV_SECRET)
if not SECRET_KEY:
    raise ImproperlyConfigured(
        "SECRET_KEY is not set. In production put a long random value in the environment "
        "(python -c 'import secrets; print(secrets.token_urlsafe(50))'); "
        "for development run `make run`, which writes a .env for you."
    )

ALLOWED_HOSTS = env.list(
    "ALLOWED_HOSTS", default=[] if PRODUCTION else ["localhost", "127.0.0.1", "[::1]", "testserver"]
)
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SITE_NAME = env.str("SITE_NAME", default="Surgical Video Library")
# Absolute base URL used in e-mails (password reset, approval notices). Unset, it follows the
# HOST and PORT the site is served on (`make run PORT=8100`), a wildcard address as 127.0.0.1 (#15).
_SERVED_HOST = env.str("HOST", default="") or "127.0.0.1"
_SERVED_HOST = "127.0.0.1" if _SERVED_HOST in ("0.0.0.0", "::", "[::]") else _SERVED_HOST  # noqa: S104 (compared, not bound)
_SERVED_PORT = env.str("PORT", default="") or "8000"
SITE_URL = (env.str("SITE_URL", default="") or f"http://{_SERVED_HOST}:{_SERVED_PORT}").rstrip("/")

INSTALLED_APPS = [
    "config.admin.LibraryAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.postgres",  # search lookups on PostgreSQL; inert on SQLite
    "corsheaders",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "axes",
    # Before django_q: core's `qcluster` (a stop that reaches the transcode worker's chunk at
    # once, issue #14) replaces django-q2's; the first app to name a command wins.
    "core",
    "django_q",
    "tailwind",
    "theme",
    "audit",
    "accounts",
    "videos",
    "privacy",
    "governance",
    "teaching",
    "library",
]

MIDDLEWARE = [
    "core.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Signed HLS segments and images answer here (token only, no session or DB).
    "videos.middleware.MediaFastPathMiddleware",
    "core.middleware.PermissionsPolicyMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "accounts.middleware.AccountStateMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "accounts.middleware.RateLimitMiddleware",
    # Axes must be last (axes.W003).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "config.context_processors.navigation",
            ],
        },
    },
]

# --------------------------------------------------------------------------------------
# Database and cache
# --------------------------------------------------------------------------------------
DATABASE_URL = env.str("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
DATABASES = {"default": env.db_url_config(DATABASE_URL)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web server read while the worker writes; IMMEDIATE transactions avoid
    # "database is locked" upgrades (https://docs.djangoproject.com/en/5.2/ref/databases/#sqlite-notes).
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    if TESTING:
        # A file, not Django's shared-cache in-memory database: the browser tests' live server
        # answers overlapping requests, which shared-cache SQLite refuses ("table is locked").
        DATABASES["default"]["TEST"] = {"NAME": str(Path(tempfile.gettempdir()) / f"svl-test-{os.getpid()}.sqlite3")}
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DB_CONN_MAX_AGE", default=60))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# django-axes writes its failure rows inside the request; ATOMIC_REQUESTS would roll them
# back when the request fails (axes docs, "Disabling atomic requests"). Services are atomic.
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL and TESTING:
    # One Redis database per pytest-xdist worker, so clearing the cache between tests
    # (rate-limit counters) never touches another worker's keys.
    _worker = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
    REDIS_URL = re.sub(r"/(\d+)$", lambda m: f"/{int(m.group(1)) + _worker}", REDIS_URL)
if REDIS_URL:
    CACHES = {
        "default": {
            # An outage reads as a miss (pages keep working); counters still fail closed.
            "BACKEND": "config.cache.TolerantRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "svl",
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 2},
        }
    }
elif TESTING:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "django_cache",
        }
    }

# --------------------------------------------------------------------------------------
# Authentication, passwords, sessions
# --------------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    # Refuses locked-out clients before any password is checked (axes.W004 wants it first).
    "axes.backends.AxesStandaloneBackend",
    "accounts.backends.UsernameOrEmailBackend",
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "accounts:login"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    # The length too (Django's MinimumLengthValidator said it a second time in other words, #15).
    {"NAME": "accounts.validators.ComplexityValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "accounts.validators.PasswordHistoryValidator", "OPTIONS": {"history": 5}},
]
PASSWORD_HASHERS = (
    # Tests hash thousands of passwords; the production hasher is Django's default.
    ["django.contrib.auth.hashers.MD5PasswordHasher"]
    if TESTING
    else [
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
        "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
        "django.contrib.auth.hashers.Argon2PasswordHasher",
        "django.contrib.auth.hashers.ScryptPasswordHasher",
    ]
)
# Days before a password must be changed; 0 turns expiry off (seed: 90 days).
PASSWORD_MAX_AGE_DAYS = env.int("PASSWORD_MAX_AGE_DAYS", default=90)
PASSWORD_RESET_TIMEOUT = env.int("PASSWORD_RESET_TIMEOUT", default=60 * 60)

SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=12 * 60 * 60)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Lax"
CSRF_FAILURE_VIEW = "accounts.views.csrf_failure"

# --------------------------------------------------------------------------------------
# Lockout: django-axes (https://django-axes.readthedocs.io/en/latest/4_configuration.html)
# --------------------------------------------------------------------------------------
AXES_ENABLED = env.bool("AXES_ENABLED", default=True)
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
# Seed policy: 24 h. A timedelta, so the lock ends by itself (axes' default is "forever").
AXES_COOLOFF_TIME = timedelta(hours=env.float("AXES_COOLOFF_HOURS", default=24))
# Username + client address by default, so a stranger cannot lock a colleague out of every
# workstation; AXES_LOCKOUT_BY=username locks the account everywhere.
AXES_LOCKOUT_PARAMETERS = (
    ["username"] if env.str("AXES_LOCKOUT_BY", default="username_ip") == "username" else [["username", "ip_address"]]
)
AXES_RESET_ON_SUCCESS = True
# A fixed cool-off, so Retry-After can tell the truth.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_CLIENT_IP_CALLABLE = "core.network.client_ip"
AXES_USERNAME_CALLABLE = "accounts.backends.axes_username"
AXES_LOCKOUT_CALLABLE = "accounts.views.lockout_response"
AXES_SENSITIVE_PARAMETERS = ["password", "password1", "password2", "otp", "code", "token", "otp_token"]
AXES_VERBOSE = False
# The account-wide brake (hardening issue, item 4): the lockout above is per address, so
# guesses spread over many addresses never meet it. ACCOUNT_BRAKE_FAILURES wrong passwords or
# codes for one account within ACCOUNT_BRAKE_WINDOW, from any addresses and through any door,
# pause every sign-in of that account for ACCOUNT_BRAKE_COOLOFF, even with the right password;
# the holder gets one e-mail (accounts.authentication). 0 failures turns the brake off.
ACCOUNT_BRAKE_FAILURES = env.int("ACCOUNT_BRAKE_FAILURES", default=20)
ACCOUNT_BRAKE_WINDOW = timedelta(minutes=env.float("ACCOUNT_BRAKE_WINDOW_MINUTES", default=15))
ACCOUNT_BRAKE_COOLOFF = timedelta(minutes=env.float("ACCOUNT_BRAKE_COOLOFF_MINUTES", default=15))

# --------------------------------------------------------------------------------------
# Client address and rate limits
# --------------------------------------------------------------------------------------
# How many reverse proxies (nginx, load balancer) sit in front of Django. 0 = trust only
# REMOTE_ADDR, so a client-sent X-Forwarded-For is ignored (seed flaw H2).
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
# Optional allow-list of proxy addresses; X-Forwarded-For is read only from these peers.
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=[])

RATELIMIT_ENABLE = env.bool("RATELIMIT_ENABLE", default=True)
# With the shared cache down, the counters cannot be read: refuse sign-in and the other
# limited account endpoints (429, Retry-After 60) unless this is True.
RATELIMIT_FAIL_OPEN = env.bool("RATELIMIT_FAIL_OPEN", default=False)
RATELIMIT_USE_CACHE = "default"
RATELIMIT_IP_META_KEY = "core.network.client_ip"
# Limits per client address; the seed's numbers where it had them (seed-inventory §5.5).
RATELIMITS = {
    "login": env.str("RATELIMIT_LOGIN", default="20/5m"),
    "otp": env.str("RATELIMIT_OTP", default="10/5m"),
    "register": env.str("RATELIMIT_REGISTER", default="10/5m"),
    "password_reset": env.str("RATELIMIT_PASSWORD_RESET", default="5/15m"),
    "password_change": env.str("RATELIMIT_PASSWORD_CHANGE", default="5/15m"),
    "token_refresh": env.str("RATELIMIT_TOKEN_REFRESH", default="30/5m"),
}
# The database cache and LocMem do not increment atomically (django_ratelimit.E003). With a
# single process (make run) that is harmless; set REDIS_URL for several web processes.
SILENCED_SYSTEM_CHECKS = [] if REDIS_URL else ["django_ratelimit.E003", "django_ratelimit.W001"]
if REDIS_URL:
    SILENCED_SYSTEM_CHECKS.append("django_ratelimit.W001")  # Django's own RedisCache is fine.

# --------------------------------------------------------------------------------------
# Two-factor (django-otp)
# --------------------------------------------------------------------------------------
OTP_TOTP_ISSUER = SITE_NAME
OTP_TOTP_THROTTLE_FACTOR = 1
# Roles that must have a second factor before they can use the site or the API.
OTP_REQUIRED_ROLES = env.list("OTP_REQUIRED_ROLES", default=["Admin", "Approver", "Editor", "superuser"])
OTP_CODE_VALIDITY_SECONDS = env.int("OTP_CODE_VALIDITY_SECONDS", default=300)
OTP_RESEND_COOLDOWN_SECONDS = env.int("OTP_RESEND_COOLDOWN_SECONDS", default=30)
OTP_BACKUP_CODE_COUNT = 10
# Seconds a password-verified login may wait for its second factor.
OTP_PENDING_LOGIN_SECONDS = 300
# Adding or removing a second factor, or renewing backup codes, needs the password or a code
# from an existing factor entered within this many seconds; signing in counts (hardening
# issue, item 6: a stolen session alone must not change how the account is protected).
REAUTH_SECONDS = env.int("REAUTH_SECONDS", default=300)
# SMS gateway: "console" logs that a message was sent (never its text); "http" posts JSON
# {"mobile", "message"} with a Bearer token, like the seed's gateway.
SMS_BACKEND = env.str("SMS_BACKEND", default="console")
SMS_API_URL = env.str("SMS_API_URL", default="")
SMS_API_TOKEN = env.str("SMS_API_TOKEN", default="")
SMS_TIMEOUT_SECONDS = env.float("SMS_TIMEOUT_SECONDS", default=10)

# --------------------------------------------------------------------------------------
# Registration and identity documents
# --------------------------------------------------------------------------------------
REGISTRATION_OPEN = env.bool("REGISTRATION_OPEN", default=True)
ID_DOCUMENT_MAX_BYTES = env.int("ID_DOCUMENT_MAX_BYTES", default=10 * 1024 * 1024)
DEFAULT_PHONE_REGION = env.str("DEFAULT_PHONE_REGION", default="IN")

# --------------------------------------------------------------------------------------
# REST API
# --------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.api.authentication.JWTAuthentication",
        "accounts.api.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "rest_framework.parsers.JSONParser",
        "rest_framework.parsers.MultiPartParser",
        "rest_framework.parsers.FormParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 24,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "core.api.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env.int("JWT_ACCESS_MINUTES", default=15)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env.int("JWT_REFRESH_DAYS", default=7)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": False,
    "ALGORITHM": "HS256",
    # A separate key lets operators revoke every token without logging out web sessions.
    "SIGNING_KEY": env.str("JWT_SIGNING_KEY", default="") or SECRET_KEY,
    "USER_ID_FIELD": "id",
    "USER_ID_CLAIM": "user_id",
}
SPECTACULAR_SETTINGS = {
    "TITLE": f"{SITE_NAME} API",
    "DESCRIPTION": "Versioned REST API. Authenticate with a JWT (POST /api/v1/auth/token/) or a session.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    # Several serializers have a "status" field with different choices (a video's, a privacy
    # scan's): name each enum, or drf-spectacular warns (W001) and makes up a hashed name.
    "ENUM_NAME_OVERRIDES": {
        "VideoStatusEnum": "videos.models.Video.Status",
        "PrivacyStatusEnum": ["pending", "clean", "flagged", "resolved"],
    },
}

# CORS is off unless origins are listed; credentials then go only to those exact origins.
CORS_ALLOWED_ORIGINS = env.list("CORS_ALLOWED_ORIGINS", default=[])
if any(origin.strip() == "*" for origin in CORS_ALLOWED_ORIGINS):
    raise ImproperlyConfigured("CORS_ALLOWED_ORIGINS must list exact origins, not '*'.")
CORS_ALLOW_CREDENTIALS = bool(CORS_ALLOWED_ORIGINS)
CORS_URLS_REGEX = r"^/api/.*$"
CORS_EXPOSE_HEADERS = ["Retry-After", "X-Request-ID", "Upload-Offset", "Location", "Upload-Length"]

# --------------------------------------------------------------------------------------
# Background jobs: django-q2 (https://django-q2.readthedocs.io/en/master/configure.html)
# --------------------------------------------------------------------------------------
# Two queues on one broker, so an e-mail never waits behind a four-hour encode:
# - the default cluster ("svl": `manage.py qcluster`) runs short jobs and the schedules;
# - the transcode cluster (`Q_CLUSTER_NAME=transcode manage.py qcluster`) runs only what is
#   queued with `async_task(..., cluster=Q_TRANSCODE_CLUSTER)`. django-q2 merges
#   ALT_CLUSTERS[<Q_CLUSTER_NAME>] over Q_CLUSTER and uses the name as the queue's key
#   (django-q2 1.11: django_q/conf.py, tasks.async_task, brokers.get_broker). Schedules
#   without a cluster run only on the default cluster (django_q/scheduler.py).
Q_TRANSCODE_CLUSTER = "transcode"
# Longest job (a multi-hour transcode) must finish inside timeout, and retry must exceed
# timeout or the job runs twice (django-q2 docs, "retry"). TRANSCODE_TIMEOUT_SECONDS below
# derives from this timeout, so both clusters keep it.
_Q_TIMEOUT = env.int("Q_TIMEOUT", default=6 * 3600)
Q_CLUSTER = {
    "name": "svl",
    "workers": env.int("Q_WORKERS", default=2),
    "timeout": _Q_TIMEOUT,
    "retry": _Q_TIMEOUT + 600,
    "max_attempts": 1,
    "ack_failures": True,
    "recycle": 50,
    "save_limit": 250,
    "queue_limit": 4,
    "catch_up": False,
    "label": "Jobs",
    "sync": TESTING,
    "ALT_CLUSTERS": {
        Q_TRANSCODE_CLUSTER: {
            # FFmpeg already uses every core: one encode at a time per node by default.
            "workers": env.int("Q_TRANSCODE_WORKERS", default=1),
            # The pusher takes a job off the broker before a worker is free (up to
            # queue_limit waiting plus one in hand), locking it from other nodes and making a
            # graceful stop run it too; 1 is django-q2's smallest prefetch (0 means unlimited).
            "queue_limit": 1,
            "recycle": 10,
            # Nothing is scheduled on this cluster; the default one runs the schedules.
            "scheduler": False,
        }
    },
}
if REDIS_URL and env.bool("Q_USE_REDIS", default=False):
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"

# --------------------------------------------------------------------------------------
# Static files, media, front end
# --------------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
# Nothing under MEDIA_ROOT is ever served directly (DESIGN §6.3); views check access first.
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(BASE_DIR / "var" / "media")))
MEDIA_URL = "/media-is-never-served-directly/"
FILE_UPLOAD_PERMISSIONS = 0o640
FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o750
TAILWIND_APP_NAME = "theme"
NPM_BIN_PATH = env.str("NPM_BIN_PATH", default="npm")

# --------------------------------------------------------------------------------------
# Videos: upload limits, transcoding, delivery (DESIGN §6)
# --------------------------------------------------------------------------------------
VIDEO_MAX_UPLOAD_BYTES = env.int("VIDEO_MAX_UPLOAD_BYTES", default=20 * 1024**3)
# ts/m2ts/mts: MPEG-TS, as SDI and endoscopy-tower recorders write it (issue #14 item 7).
VIDEO_EXTENSIONS = ["mp4", "mov", "m4v", "mkv", "webm", "avi", "ts", "m2ts", "mts"]
# Probe limits (integrity-hardening issue, item 9): a source beyond any of them is refused at
# upload (400 naming the limit), so one file cannot tie up the transcoder for days. Width and
# height apply to the long and the short side, so portrait and rotated sources get the same
# allowance: 8K. Endoscopy cameras record 60 fps, slow-motion sources more; surgical cases last
# 1–6 hours. (A long case must also fit TRANSCODE_TIMEOUT_SECONDS.)
VIDEO_MAX_WIDTH = env.int("VIDEO_MAX_WIDTH", default=7680)
VIDEO_MAX_HEIGHT = env.int("VIDEO_MAX_HEIGHT", default=4320)
VIDEO_MAX_FRAME_RATE = env.float("VIDEO_MAX_FRAME_RATE", default=240)
VIDEO_MAX_DURATION_SECONDS = env.int("VIDEO_MAX_DURATION_SECONDS", default=12 * 3600)
# Unfinished resumable uploads are deleted this long after they were started.
UPLOAD_EXPIRY_HOURS = env.int("UPLOAD_EXPIRY_HOURS", default=48)
# Bytes one person may hold on the media disk: stored originals plus unfinished uploads
# (videos.services.upload_admit; 413 past it). 0: no quota, only the free-space check.
UPLOAD_QUOTA_BYTES = env.int("UPLOAD_QUOTA_BYTES", default=500 * 1024**3)
# Space an upload may not take from the media disk: transcodes, the database and logs need room
# too. An upload that would leave less free is refused (507) before its first byte.
MEDIA_FREE_RESERVE_BYTES = env.int("MEDIA_FREE_RESERVE_BYTES", default=1024**3)
# False: a finished transcode is published at once, with no review step.
VIDEOS_REQUIRE_APPROVAL = env.bool("VIDEOS_REQUIRE_APPROVAL", default=True)
# What a case must say before anyone may publish it (videos.services.review, the publish gate;
# issue #15), comma-separated from: category, surgeons, date_of_surgery, tags, description.
# Empty: nothing is required.
PUBLISH_REQUIRED_FIELDS = env.list("PUBLISH_REQUIRED_FIELDS", default=["category", "surgeons", "date_of_surgery"])
FFMPEG_BIN = env.str("FFMPEG_BIN", default="ffmpeg")
FFPROBE_BIN = env.str("FFPROBE_BIN", default="ffprobe")
# x264 preset: "veryfast" suits a 2-core box; "medium" gives smaller files for the same quality.
TRANSCODE_PRESET = env.str("TRANSCODE_PRESET", default="superfast" if TESTING else "veryfast")
# FFmpeg is killed past this, well inside the job queue's own timeout.
TRANSCODE_TIMEOUT_SECONDS = env.int("TRANSCODE_TIMEOUT_SECONDS", default=int(Q_CLUSTER["timeout"] * 0.9))
# A processing video whose worker has been silent this long is marked failed by the reaper.
TRANSCODE_STALL_SECONDS = env.int("TRANSCODE_STALL_SECONDS", default=15 * 60)
TRANSCODE_HEARTBEAT_SECONDS = env.float("TRANSCODE_HEARTBEAT_SECONDS", default=30)
# Long cases are encoded in chunks, each its own task on the transcode cluster (issue #14): a
# short first one so the start plays soon, then TRANSCODE_CHUNK_SECONDS each (multiples of the
# 6 s segment). At most TRANSCODE_QUEUED_CHUNKS of one video wait in the queue at a time, so
# other videos' jobs get their turn; set it to the number of transcode workers you run, or more.
TRANSCODE_FIRST_CHUNK_SECONDS = env.int("TRANSCODE_FIRST_CHUNK_SECONDS", default=12)
TRANSCODE_CHUNK_SECONDS = env.int("TRANSCODE_CHUNK_SECONDS", default=60)
TRANSCODE_QUEUED_CHUNKS = env.int("TRANSCODE_QUEUED_CHUNKS", default=8)
# A source that is already what the top rung would be (H.264 8-bit 4:2:0 within its level, its
# size, progressive, constant rate, a keyframe every 2 s) is served as it is for that rung
# instead of being encoded again (issue #14 item 5; videos.transcoding.copy_refusal/plan_copy).
# Off under tests: their 1-2 s sample clips (one keyframe) qualify, and the tests that inject
# encoder failures or pin the encoded ladder would silently bypass the encoder; the shortcut's
# own tests (tests/videos/test_quick_transcode.py) turn it on.
TRANSCODE_COPY_COMPLIANT = env.bool("TRANSCODE_COPY_COMPLIANT", default=not TESTING)
# A queued chunk no worker has taken for this long is queued again (a Redis broker loses its
# queue when Redis restarts; the ORM broker keeps it, and a second copy is harmless).
TRANSCODE_REQUEUE_SECONDS = env.int("TRANSCODE_REQUEUE_SECONDS", default=3600)
# The privacy scan (issue #17, privacy app): after a first ladder is complete a job on the
# transcode cluster samples PRIVACY_SAMPLE_FPS frames a second and flags out-of-body frames
# and faces; a video with a pending scan or undecided ranges cannot be published. Off under
# tests (their testsrc clips would all be flagged as out of body); tests/privacy turns it on.
PRIVACY_SCAN = env.bool("PRIVACY_SCAN", default=not TESTING)
PRIVACY_SAMPLE_FPS = env.float("PRIVACY_SAMPLE_FPS", default=1.0)
# A callable "module.path:function" taking an RGB frame (numpy, H×W×3) and returning the
# probability that it is out of the body; empty: the built-in colour and vignette statistics.
PRIVACY_CLASSIFIER = env.str("PRIVACY_CLASSIFIER", default="")
# An ONNX model of the hospital's own (needs `pip install onnxruntime`; never downloaded):
# input 1×3×224×224 RGB in 0–1, output the out-of-body probability. Used when set.
PRIVACY_ONNX_MODEL = env.str("PRIVACY_ONNX_MODEL", default="")
# Speech-to-text draft captions (issue #16, teaching.speech): optional, off when both are empty.
# After a video's first ladder a job on the transcode cluster transcribes its first audio track
# into a caption track marked machine-made ("English (automatic, draft)") for an editor to
# correct. CAPTIONS_STT_MODEL_DIR is a faster-whisper (CTranslate2) model folder the hospital
# provides (`pip install faster-whisper`, not a dependency of this project); it is loaded with
# local_files_only and anything that is not an existing folder is refused: never downloaded.
CAPTIONS_STT_MODEL_DIR = env.str("CAPTIONS_STT_MODEL_DIR", default="")
# The language spoken (BCP 47; Whisper is told its primary subtag): the draft's language.
CAPTIONS_STT_LANGUAGE = env.str("CAPTIONS_STT_LANGUAGE", default="en")
# A transcriber of the hospital's own instead of faster-whisper: "module.path:function" taking
# (audio_wav_path: Path, language: str) -> [(start_seconds, end_seconds, text)]; the WAV is
# 16 kHz mono 16-bit PCM. Set, it turns speech-to-text on by itself.
CAPTIONS_TRANSCRIBER = env.str("CAPTIONS_TRANSCRIBER", default="")
# Where a transcode keeps the video's AES key while FFmpeg runs: a private 0700 folder per job,
# removed after it, on the worker's own storage and never under MEDIA_ROOT (integrity-hardening
# issue). Empty: the system temp folder ($TMPDIR, else /tmp).
TRANSCODE_TMP_DIR = env.str("TRANSCODE_TMP_DIR", default="") or None
# Signed media URLs live for the video's length plus this margin (a 6-hour case plays to the end).
HLS_TOKEN_MARGIN_SECONDS = env.int("HLS_TOKEN_MARGIN_SECONDS", default=4 * 3600)
# Thumbnails on cards and lists.
IMAGE_TOKEN_SECONDS = env.int("IMAGE_TOKEN_SECONDS", default=6 * 3600)
# No signed media URL lives longer than this, whatever the video's length (videos.delivery).
MEDIA_TOKEN_MAX_SECONDS = env.int("MEDIA_TOKEN_MAX_SECONDS", default=24 * 3600)
# How stale a process's list of withdrawn videos and revoked users may be (videos.revocation):
# a withdrawal or a revocation stops every signed URL within this many seconds, at the cost
# of two small queries per process per period instead of one per request.
MEDIA_REVOCATION_REFRESH_SECONDS = env.float("MEDIA_REVOCATION_REFRESH_SECONDS", default=5)
# Serve media through nginx: Django answers with X-Accel-Redirect to this internal prefix
# (see deploy/nginx.conf). Empty: Django streams the file itself.
MEDIA_ACCEL_REDIRECT_PREFIX = env.str("MEDIA_ACCEL_REDIRECT_PREFIX", default="")
# (Video multipart uploads use videos.ingest.HashingUploadHandler, which streams to
# MEDIA_ROOT/tmp so the final move into originals/ is a rename, never a copy.)

# --------------------------------------------------------------------------------------
# Library: resume and views (Jellyfin's thresholds)
# --------------------------------------------------------------------------------------
# Positions in the first 5 % are not saved; from 90 % the video counts as watched.
RESUME_MIN_PERCENT = env.float("RESUME_MIN_PERCENT", default=5)
RESUME_MAX_PERCENT = env.float("RESUME_MAX_PERCENT", default=90)
# A view is counted once per user and video within this many hours of activity.
VIEW_WINDOW_HOURS = env.float("VIEW_WINDOW_HOURS", default=6)

# --------------------------------------------------------------------------------------
# Curation and governance: audit retention, staff dashboard, health check
# --------------------------------------------------------------------------------------
# Audit events and viewing sessions older than this many days are deleted by the daily
# `prune_audit` job (accounts/migrations/0005); 0 keeps them for ever. Two years by default:
# set it to what the hospital's records policy requires.
AUDIT_RETENTION_DAYS = env.int("AUDIT_RETENTION_DAYS", default=730)
if AUDIT_RETENTION_DAYS < 0:
    raise ImproperlyConfigured("AUDIT_RETENTION_DAYS must be 0 (keep for ever) or a number of days.")
# Governance (issue #17, governance app): with CONSENT_REQUIRED a video cannot be published
# until its consent is recorded (obtained or not required); withdrawn consent always blocks.
CONSENT_REQUIRED = env.bool("CONSENT_REQUIRED", default=False)
# The uploaded original is deleted this many days after publishing (the ladder keeps playing;
# reprocessing is no longer possible); empty keeps originals for ever. Never under legal hold.
_keep_originals = env.str("KEEP_ORIGINALS_DAYS", default="").strip()
KEEP_ORIGINALS_DAYS = int(_keep_originals) if _keep_originals else None
if KEEP_ORIGINALS_DAYS is not None and KEEP_ORIGINALS_DAYS < 0:
    raise ImproperlyConfigured("KEEP_ORIGINALS_DAYS must be empty (keep for ever) or a number of days.")
# The admin dashboard's statistics are computed at most this often (kept in the shared cache).
DASHBOARD_CACHE_SECONDS = env.int("DASHBOARD_CACHE_SECONDS", default=60)
# /healthz answers 503 when no django-q2 cluster is running. Turn off on web-only nodes whose
# jobs run elsewhere; the worker's state is still reported.
HEALTHZ_REQUIRE_WORKER = env.bool("HEALTHZ_REQUIRE_WORKER", default=True)

# --------------------------------------------------------------------------------------
# E-mail
# --------------------------------------------------------------------------------------
EMAIL_URL = env.str("EMAIL_URL", default="" if PRODUCTION else "consolemail://")
# Production refuses a backend that prints mail to the log (reset links, sign-in codes) or
# keeps it from the people it is for (hardening issue, item 7), unless EMAIL_ALLOW_UNSENT
# says so on purpose, e.g. for a benchmark server no person signs in to.
EMAIL_ALLOW_UNSENT = env.bool("EMAIL_ALLOW_UNSENT", default=False)
_EMAIL = env.email_url_config(EMAIL_URL or "consolemail://")
globals().update(_EMAIL)
_UNSENT_EMAIL_BACKENDS = {
    f"django.core.mail.backends.{name}.EmailBackend" for name in ("console", "filebased", "locmem", "dummy")
}
if PRODUCTION and not EMAIL_ALLOW_UNSENT and (not EMAIL_URL or _EMAIL["EMAIL_BACKEND"] in _UNSENT_EMAIL_BACKENDS):
    raise ImproperlyConfigured(
        "EMAIL_URL is not set, or names a backend that sends no mail (console, file, memory or "
        "dummy): password-reset links and sign-in codes would be printed to the log or lost. "
        "Set EMAIL_URL to your mail server (e.g. smtp+tls://user:password@smtp.example.org:587), "
        "or EMAIL_ALLOW_UNSENT=True for a server nobody signs in to."
    )
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Surgical Video Library <no-reply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --------------------------------------------------------------------------------------
# Legal pages
# --------------------------------------------------------------------------------------
TERMS_EFFECTIVE_DATE = env.str("TERMS_EFFECTIVE_DATE", default="2026-11-01")
PRIVACY_EFFECTIVE_DATE = env.str("PRIVACY_EFFECTIVE_DATE", default="2026-11-01")
ORGANISATION_NAME = env.str("ORGANISATION_NAME", default="the hospital")
CONTACT_EMAIL = env.str("CONTACT_EMAIL", default="it-support@localhost")

# --------------------------------------------------------------------------------------
# Security headers (https://docs.djangoproject.com/en/5.2/ref/middleware/#module-django.middleware.security)
# --------------------------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
PERMISSIONS_POLICY = (
    "fullscreen=(self), camera=(), microphone=(), geolocation=(), payment=(), usb=(), "
    "autoplay=(self), picture-in-picture=(self)"
)
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        # No 'unsafe-inline' for scripts: every script is a file under /static/.
        "script-src": ["'self'"],
        # Tailwind output is a file. NONCE appears only on pages that read request.csp_nonce (the
        # player's): media-chrome's shadow-DOM <style>s carry it (theme/static_src/src/csp-styles.js).
        "style-src": ["'self'", NONCE],
        "img-src": ["'self'", "data:", "blob:"],
        "font-src": ["'self'"],
        # hls.js feeds MediaSource through blob: URLs (the seed broke playback without it).
        "media-src": ["'self'", "blob:"],
        "worker-src": ["'self'", "blob:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
        "manifest-src": ["'self'"],
    }
}

if PRODUCTION:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
    # Probes call /healthz on the node itself over plain HTTP; a redirect would read as "down".
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    # TLS ends at nginx; trust its scheme header only when a proxy is configured.
    if TRUSTED_PROXY_COUNT:
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    if not SECURE_HSTS_PRELOAD:
        SILENCED_SYSTEM_CHECKS.append("security.W021")  # preload is an opt-in commitment

# ======================================================================================
# Hospital sign-in (SSO): OpenID Connect, LDAP / Active Directory (issue #18)
# ======================================================================================
# Everything in this section is off unless OIDC_RP_CLIENT_ID or LDAP_SERVER_URI is set: with
# neither, sign-in, the pages, the API and the routes are exactly as before. README "Hospital
# sign-in (SSO)" gives the exact settings for Entra ID, Keycloak and Active Directory.
# The rules live in accounts/sso.py (provisioning, roles from groups, deprovisioning),
# accounts/oidc.py (mozilla-django-oidc) and accounts/directory.py (django-auth-ldap).

# False: local passwords stop working for everyone but superusers (the break-glass accounts for
# when the identity provider is down); the sign-in page offers only the provider, self-
# registration closes and password resets are sent to superusers only.
LOCAL_LOGIN = env.bool("LOCAL_LOGIN", default=True)
if not LOCAL_LOGIN:
    REGISTRATION_OPEN = False
# A first sign-in creates the account: active at once (True), or awaiting an Admin's approval in
# the registration queue (False), like a self-registration.
SSO_CREATE_USERS = env.bool("SSO_CREATE_USERS", default=True)
# Link a first sign-in to an existing local account with the same username or e-mail (never a
# superuser's). Off by default: otherwise whoever controls a name at the provider takes over
# the local account of that name.
SSO_LINK_EXISTING = env.bool("SSO_LINK_EXISTING", default=False)
# Directory group (LDAP DN, or a value of the OIDC groups claim) → role(s), JSON, applied at
# every sign-in: {"cn=svl-editors,ou=groups,dc=hospital,dc=org": "Editor", "svl-viewers": "Viewer"}.
# Matching ignores case (and spaces around "," and "=" in DNs).
SSO_ROLE_MAP = env.json("SSO_ROLE_MAP", default={})
# Roles every directory account gets, whatever its groups (e.g. "Viewer").
SSO_DEFAULT_ROLES = env.list("SSO_DEFAULT_ROLES", default=[])

# ---- OpenID Connect (mozilla-django-oidc: https://mozilla-django-oidc.readthedocs.io/en/stable/settings.html)
OIDC_RP_CLIENT_ID = env.str("OIDC_RP_CLIENT_ID", default="")
OIDC_RP_CLIENT_SECRET = env.str("OIDC_RP_CLIENT_SECRET", default="")
OIDC_ENABLED = bool(OIDC_RP_CLIENT_ID)
OIDC_PROVIDER_NAME = env.str("OIDC_PROVIDER_NAME", default="the hospital account")
# The provider's issuer (the "iss" of its tokens) and endpoints, from its
# /.well-known/openid-configuration.
OIDC_OP_ISSUER = env.str("OIDC_OP_ISSUER", default="")
OIDC_OP_AUTHORIZATION_ENDPOINT = env.str("OIDC_OP_AUTHORIZATION_ENDPOINT", default="")
OIDC_OP_TOKEN_ENDPOINT = env.str("OIDC_OP_TOKEN_ENDPOINT", default="")
OIDC_OP_USER_ENDPOINT = env.str("OIDC_OP_USER_ENDPOINT", default="")
OIDC_OP_JWKS_ENDPOINT = env.str("OIDC_OP_JWKS_ENDPOINT", default="")
# RP-initiated logout: signing out here also ends the provider's session when it offers this.
OIDC_OP_END_SESSION_ENDPOINT = env.str("OIDC_OP_END_SESSION_ENDPOINT", default="")
OIDC_RP_SIGN_ALGO = env.str("OIDC_RP_SIGN_ALGO", default="RS256")
OIDC_RP_SCOPES = env.str("OIDC_RP_SCOPES", default="openid email profile")
OIDC_USERNAME_CLAIM = env.str("OIDC_USERNAME_CLAIM", default="preferred_username")
OIDC_GROUPS_CLAIM = env.str("OIDC_GROUPS_CLAIM", default="groups")
# "amr" values (RFC 8176) meaning the provider did multi-factor, and "acr" values that do; such
# a sign-in satisfies OTP_REQUIRED_ROLES without our own second factor.
OIDC_MFA_AMR = env.list("OIDC_MFA_AMR", default=["mfa", "mca", "otp", "hwk", "swk", "sc", "sms", "tel", "fpt", "face"])
OIDC_MFA_ACR = env.list("OIDC_MFA_ACR", default=[])
# Seconds of clock difference tolerated in the ID token's exp/iat/nbf.
OIDC_CLOCK_SKEW_SECONDS = env.int("OIDC_CLOCK_SKEW_SECONDS", default=60)
OIDC_CA_FILE = env.str("OIDC_CA_FILE", default="")  # a private CA for the provider's HTTPS
OIDC_VERIFY_SSL = OIDC_CA_FILE or env.bool("OIDC_VERIFY_SSL", default=True)
OIDC_TIMEOUT = env.float("OIDC_TIMEOUT_SECONDS", default=10)
OIDC_USE_PKCE = True
OIDC_PKCE_CODE_CHALLENGE_METHOD = "S256"
OIDC_USE_NONCE = True
OIDC_STORE_ID_TOKEN = True  # the id_token_hint of RP-initiated logout
OIDC_CREATE_USER = True  # accounts.sso decides (SSO_CREATE_USERS), not the library
OIDC_AUTHENTICATION_CALLBACK_URL = "accounts:oidc_callback"
OIDC_REDIRECT_REQUIRE_HTTPS = PRODUCTION
LOGIN_REDIRECT_URL_FAILURE = "accounts:login"

# ---- LDAP / Active Directory (django-auth-ldap: https://django-auth-ldap.readthedocs.io/en/latest/reference.html)
LDAP_SERVER_URI = env.str("LDAP_SERVER_URI", default="")  # ldap://dc1.hospital.org or ldaps://…
LDAP_ENABLED = bool(LDAP_SERVER_URI)
LDAP_START_TLS = env.bool("LDAP_START_TLS", default=LDAP_SERVER_URI.startswith("ldap://"))
LDAP_CA_FILE = env.str("LDAP_CA_FILE", default="")  # PEM of the CA that signed the server's certificate
LDAP_BIND_DN = env.str("LDAP_BIND_DN", default="")
LDAP_BIND_PASSWORD = env.str("LDAP_BIND_PASSWORD", default="")
LDAP_USER_SEARCH_BASE = env.str("LDAP_USER_SEARCH_BASE", default="")
LDAP_USER_FILTER = env.str("LDAP_USER_FILTER", default="(uid=%(user)s)")
LDAP_GROUP_SEARCH_BASE = env.str("LDAP_GROUP_SEARCH_BASE", default="")
LDAP_GROUP_FILTER = env.str("LDAP_GROUP_FILTER", default="(objectClass=groupOfNames)")
# groupOfNames, groupOfUniqueNames, posix, activeDirectory, nestedActiveDirectory
LDAP_GROUP_TYPE = env.str("LDAP_GROUP_TYPE", default="groupOfNames")
# The stable identifier of an entry (survives renames and moves): entryUUID (OpenLDAP), objectGUID (AD).
LDAP_SUBJECT_ATTRIBUTE = env.str("LDAP_SUBJECT_ATTRIBUTE", default="entryUUID")
LDAP_ATTR_EMAIL = env.str("LDAP_ATTR_EMAIL", default="mail")
LDAP_ATTR_FULL_NAME = env.str("LDAP_ATTR_FULL_NAME", default="cn")
# An entry matching this filter is a disabled account: it cannot sign in and the directory check
# deactivates it. AD: (userAccountControl:1.2.840.113556.1.4.803:=2); OpenLDAP, e.g.
# (employeeType=disabled) or (pwdAccountLockedTime=*).
LDAP_DISABLED_FILTER = env.str("LDAP_DISABLED_FILTER", default="")
# The hourly directory check deactivates accounts whose entry is gone or disabled; a run that
# would deactivate more than this many at once deactivates none and logs an error (a wrong
# search base must not lock the whole hospital out).
LDAP_DEPROVISION_MAX = env.int("LDAP_DEPROVISION_MAX", default=25)
LDAP_TIMEOUT = env.float("LDAP_TIMEOUT_SECONDS", default=10)

# ---- Personal API tokens: how SSO and directory accounts reach the API (no directory password
# ever comes to the API): created and revoked on the security page or the API, exchanged for a
# JWT pair at POST /api/v1/auth/token/personal/; stored as SHA-256 only, shown once.
API_TOKENS_ENABLED = env.bool("API_TOKENS_ENABLED", default=OIDC_ENABLED or LDAP_ENABLED)
API_TOKEN_DAYS = env.int("API_TOKEN_DAYS", default=90)

# Our OTPMiddleware: django-otp's, plus "the provider did multi-factor" for OIDC sign-ins, so
# every is_verified() check (pages, admin, API session) honours it.
MIDDLEWARE[MIDDLEWARE.index("django_otp.middleware.OTPMiddleware")] = "accounts.middleware.OTPMiddleware"
if OIDC_ENABLED:
    AUTHENTICATION_BACKENDS.append("accounts.oidc.OIDCBackend")
    # Signing out posts a form whose answer redirects to the provider's end-session endpoint;
    # Chromium applies form-action to that redirect.
    if OIDC_OP_END_SESSION_ENDPOINT:
        from urllib.parse import urlsplit as _urlsplit

        _end = _urlsplit(OIDC_OP_END_SESSION_ENDPOINT)
        CONTENT_SECURITY_POLICY["DIRECTIVES"]["form-action"].append(f"{_end.scheme}://{_end.netloc}")
if LDAP_ENABLED:
    AUTHENTICATION_BACKENDS.append("accounts.directory.DirectoryBackend")
    from accounts.ldap_config import auth_ldap_settings

    globals().update(auth_ldap_settings(globals()))
# ======================================================================================
# End of hospital sign-in (SSO)
# ======================================================================================

# --------------------------------------------------------------------------------------
# Logging: JSON lines on stdout with the request id (core/logging.py)
# --------------------------------------------------------------------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_context": {"()": "core.logging.RequestContextFilter"}},
    "formatters": {"json": {"()": "core.logging.JsonFormatter"}},
    "handlers": {
        "stdout": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stdout",
            "formatter": "json",
            "filters": ["request_context"],
        }
    },
    "root": {"handlers": ["stdout"], "level": LOG_LEVEL},
    "loggers": {
        # Our access log replaces Django's and runserver's request lines.
        "django.server": {"level": "WARNING"},
        "django.request": {"level": "ERROR"},
        "axes": {"level": "WARNING"},
        "django_q": {"level": env.str("Q_LOG_LEVEL", default="INFO")},
    },
}

LANGUAGE_CODE = "en-gb"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True
