"""Settings for tfmot-portal, read from the environment.

Every value has a default that runs with nothing set (SQLite, a filesystem broker, a
clearly fake secret, DEBUG on). ``DJANGO_ENV=production`` turns the defaults strict and
refuses to start with the fake secret. Every variable is documented in the README.
"""

import ipaddress
import os
from datetime import date, timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (true/false), got {value!r}")


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, got {value!r}") from None


def env_date(name: str, default: str) -> date:
    value = os.environ.get(name) or default
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a date (YYYY-MM-DD), got {value!r}") from None


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env_str(name, default).split(",") if item.strip()]


FAKE_SECRET_KEY = "insecure-development-key-do-not-use-in-production"  # noqa: S105

DJANGO_ENV = env_str("DJANGO_ENV", "development")
if DJANGO_ENV not in {"development", "production"}:
    raise ImproperlyConfigured("DJANGO_ENV must be 'development' or 'production'")
PRODUCTION = DJANGO_ENV == "production"

SECRET_KEY = env_str("SECRET_KEY", FAKE_SECRET_KEY)
if PRODUCTION and (SECRET_KEY == FAKE_SECRET_KEY or len(SECRET_KEY) < 50):
    raise ImproperlyConfigured(
        "DJANGO_ENV=production needs SECRET_KEY set to a random value of 50+ characters "
        "(python -c 'import secrets; print(secrets.token_urlsafe(64))')."
    )

DEBUG = env_bool("DEBUG", not PRODUCTION)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "" if PRODUCTION else "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

# Local state of the embedded default (SQLite file, filesystem broker queue).
VAR_DIR = Path(env_str("VAR_DIR", str(BASE_DIR / "var")))

# The portal's domain apps: a save in any of them makes the cached pages stale
# (techniques/cache.py), and the export takes their records (ops/portability.py).
PORTAL_APPS = ["techniques", "ci_status", "convergence", "reviews", "adherence", "lifecycle"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "axes",
    "auditlog",
    *PORTAL_APPS,
    # Sign in with GitHub (django-allauth), owners from GitHub teams, gaps as issues.
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.github",
    "github_integration",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # Cache-Control: private, no-store for signed-in requests and downloads.
    "tfmot_portal.middleware.PrivateResponses",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Records who made each audited change (see techniques/audit.py).
    "auditlog.middleware.AuditlogMiddleware",
    # Last, so that it sees the authentication result (login rate limit).
    "axes.middleware.AxesMiddleware",
    # django-allauth's request context (GitHub sign-in).
    "allauth.account.middleware.AccountMiddleware",
    # A NUL character in a query parameter or form field is a 400, never a database error.
    "tfmot_portal.middleware.RefuseUnstorableParameters",
]

ROOT_URLCONF = "tfmot_portal.urls"

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
                "techniques.context_processors.navigation",
            ],
        },
    },
]

WSGI_APPLICATION = "tfmot_portal.wsgi.application"

# --- Database -------------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'portal.sqlite3'}")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web server, the worker and beat share one file: wait for locks instead of
    # failing, and take the write lock at BEGIN so that readers never deadlock writers.
    DATABASES["default"]["OPTIONS"] = {"timeout": 20, "transaction_mode": "IMMEDIATE"}
    DATABASES["default"]["CONN_MAX_AGE"] = 0
# Several test runs may share one PostgreSQL server (parallel developers, CI).
DATABASES["default"]["TEST"] = {"NAME": "test_tfmot" + env_str("TEST_DB_SUFFIX")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache ----------------------------------------------------------------------------
CACHE_URL = env_str("CACHE_URL")
# The deployed release (a tag or commit); empty: the page cache keys on a digest of the source.
RELEASE = env_str("RELEASE")
if CACHE_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": CACHE_URL,
            "TIMEOUT": 300,
        }
    }
    # A session is read from the shared cache (written through to the database): a
    # signed-in request costs no session query. Never with a per-process cache, where a
    # sign-out in one process would leave the session alive in the others' caches.
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Auth -----------------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "techniques:landing"
LOGOUT_REDIRECT_URL = "techniques:home"
# Login rate limit: lock a username+IP pair after this many failures, for an hour.
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(hours=1)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_ENABLED = env_bool("LOGIN_RATE_LIMIT", True)
AXES_LOCKOUT_TEMPLATE = "registration/lockout.html"
# The proxies whose X-Forwarded-For is believed (gunicorn reads the same variable for
# X-Forwarded-Proto). In production a sign-in failure counts against the client address
# they forwarded, not against the proxy's own address that every client shares.
TRUSTED_PROXIES = env_list("FORWARDED_ALLOW_IPS", "127.0.0.1")
for _proxy in TRUSTED_PROXIES:
    try:
        if _proxy != "*":
            ipaddress.ip_network(_proxy, strict=False)
    except ValueError:
        raise ImproperlyConfigured(
            f"FORWARDED_ALLOW_IPS holds addresses or networks (or *), got {_proxy!r}"
        ) from None
AXES_CLIENT_IP_CALLABLE = "tfmot_portal.client_address.client_address"

# --- Internationalisation -------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static files ---------------------------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# --- Security -------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if PRODUCTION:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
# Content Security Policy: every asset is served by the portal, no inline script.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "style-src": ["'self'"],
        "script-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}

# --- Email ----------------------------------------------------------------------------
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "tfmot-portal <noreply@localhost>")
PORTAL_BASE_URL = env_str("PORTAL_BASE_URL", "http://127.0.0.1:8000")

# --- REST framework -------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"],
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
        "tfmot_portal.filters.BoundedSearchFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_RATES": {"upload": "120/min"},
}
# Wrong CI tokens from one address within ten minutes before it gets 429 (convergence.api).
CI_TOKEN_FAILURE_LIMIT = env_int("CI_TOKEN_FAILURE_LIMIT", 20)
SPECTACULAR_SETTINGS = {
    "TITLE": "tfmot-portal API",
    "DESCRIPTION": "Techniques, owners, CI and adherence of the TensorFlow Model "
    "Optimization toolkit.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Only the CI token is a documented scheme: reading is public, so the docs show no
    # lock on the read operations (the session cookie is the pages' business).
    "AUTHENTICATION_WHITELIST": ["convergence.api.CITokenAuthentication"],
    # Deep links put a link inside each operation's toggle button (a control nested in a
    # control, which screen readers and keyboards cannot tell apart).
    "SWAGGER_UI_SETTINGS": {"deepLinking": False},
}

# --- Celery ---------------------------------------------------------------------------
# Default: kombu's filesystem transport (a folder as the queue), consumed by a real
# worker, so `make run` needs no server. CELERY_BROKER_URL=redis://... switches to Redis.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://")
CELERY_BROKER_DIR = VAR_DIR / "broker"
if CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_BROKER_DIR / "queue"),
        "data_folder_out": str(CELERY_BROKER_DIR / "queue"),
        "processed_folder": str(CELERY_BROKER_DIR / "processed"),
        "control_folder": str(CELERY_BROKER_DIR / "control"),
        "store_processed": False,
    }
    # The transport expects its folders to exist (the worker and the web both use them).
    for folder in ("queue", "processed", "control"):
        (CELERY_BROKER_DIR / folder).mkdir(parents=True, exist_ok=True)
else:
    # A message a killed worker held is delivered again after this many seconds; the
    # sweep for such messages runs often enough to honour a short timeout.
    _visibility = env_int("CELERY_VISIBILITY_TIMEOUT", 3600)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": _visibility,
        "unacked_restore_interval": max(1, min(10, _visibility // 3)),
        "unacked_restore_throttle": 1 if _visibility < 300 else 10,
    }
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND") or None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_BROKER_CONNECTION_TIMEOUT = 3
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = TIME_ZONE
# Every periodic job, in one place (django-celery-beat copies them into the admin,
# where the team can change their timing). Apps add their entries in tfmot_portal/beat.py.
from tfmot_portal.beat import BEAT_SCHEDULE as CELERY_BEAT_SCHEDULE  # noqa: E402, F401

# --- GitHub ---------------------------------------------------------------------------
GITHUB_API_URL = env_str("GITHUB_API_URL", "https://api.github.com").rstrip("/")
GITHUB_TOKEN = env_str("GITHUB_TOKEN")
GITHUB_REPOSITORY = env_str("GITHUB_REPOSITORY", "tensorflow/model-optimization")
GITHUB_WEBHOOK_SECRET = env_str("GITHUB_WEBHOOK_SECRET")
GITHUB_TIMEOUT_SECONDS = env_int("GITHUB_TIMEOUT_SECONDS", 20)
GITHUB_SYNC_RUNS_DAYS = env_int("GITHUB_SYNC_RUNS_DAYS", 90)
GITHUB_SYNC_LOCK_SECONDS = env_int("GITHUB_SYNC_LOCK_SECONDS", 300)

# --- Adherence thresholds (the rules in docs/policy/rules.md) ------------------------
ADHERENCE = {
    "RESPONSE_DAYS": env_int("ADHERENCE_RESPONSE_DAYS", 14),
    "PR_REVIEW_DAYS": env_int("ADHERENCE_PR_REVIEW_DAYS", 14),
    "UNLABELED_DAYS": env_int("ADHERENCE_UNLABELED_DAYS", 7),
    "CI_RED_HOURS": env_int("ADHERENCE_CI_RED_HOURS", 24),
    "MAINTAINER_IDLE_MONTHS": env_int("ADHERENCE_MAINTAINER_IDLE_MONTHS", 12),
    "API_TESTS_MONTHS": env_int("ADHERENCE_API_TESTS_MONTHS", 3),
}
# When the ownership policy took effect: no duty is missed before it (the RFC's date).
ADHERENCE_POLICY_START = env_date("ADHERENCE_POLICY_START", "2020-03-26")
GAP_WEBHOOK_URL = env_str("GAP_WEBHOOK_URL")
# Bisection of a red test or a regression change point by re-running it through GitHub
# Actions (docs/bisection.md): the default workflow file and its inputs (per test in the
# admin), the runs one repository may have out at once, how long a run may take to report.
BISECTION_WORKFLOW = env_str("BISECTION_WORKFLOW", "convergence.yml")
BISECTION_SHA_INPUT = env_str("BISECTION_SHA_INPUT", "sha")
BISECTION_TEST_INPUT = env_str("BISECTION_TEST_INPUT", "test")
BISECTION_REF = env_str("BISECTION_REF")  # the branch the workflow runs from; empty: default
BISECTION_MAX_CONCURRENT = env_int("BISECTION_MAX_CONCURRENT", 3)
BISECTION_RUN_TIMEOUT_SECONDS = env_int("BISECTION_RUN_TIMEOUT_SECONDS", 6 * 3600)
# Open the revert of a verified culprit PR without waiting for staff (a technique's
# auto_revert overrides it either way).
AUTO_REVERT = env_bool("AUTO_REVERT", False)
# The longest a gap may be waived, in days from the day of the waiver.
WAIVER_MAX_DAYS = env_int("WAIVER_MAX_DAYS", 365)

# --- GitHub integration: sign-in, teams, gap issues, chat -------------------------------
# Sign in with GitHub (django-allauth's GitHub provider). GITHUB_OAUTH_URL is GitHub's web
# address (GitHub Enterprise: https://github.example.com); the API is GITHUB_API_URL.
GITHUB_OAUTH_CLIENT_ID = env_str("GITHUB_OAUTH_CLIENT_ID")
GITHUB_OAUTH_CLIENT_SECRET = env_str("GITHUB_OAUTH_CLIENT_SECRET")
GITHUB_OAUTH_URL = env_str("GITHUB_OAUTH_URL", "https://github.com").rstrip("/")
SOCIALACCOUNT_PROVIDERS = {
    "github": {
        # Reads GITHUB_OAUTH_URL and GITHUB_API_URL at each request (github_integration).
        "provider_class": "github_integration.signin.PortalGitHubProvider",
        "GITHUB_URL": GITHUB_OAUTH_URL,
        "SCOPE": [],  # the public profile is all sign-in needs
        **(
            {
                "APP": {
                    "client_id": GITHUB_OAUTH_CLIENT_ID,
                    "secret": GITHUB_OAUTH_CLIENT_SECRET,
                }
            }
            if GITHUB_OAUTH_CLIENT_ID
            else {}
        ),
    }
}
# The sign-in form posts to the portal, which redirects to GitHub's authorize page: CSP's
# form-action covers that redirect.
if GITHUB_OAUTH_CLIENT_ID:
    CONTENT_SECURITY_POLICY["DIRECTIVES"]["form-action"].append(GITHUB_OAUTH_URL)
ACCOUNT_ADAPTER = "github_integration.signin.AccountAdapter"
SOCIALACCOUNT_ADAPTER = "github_integration.signin.SocialAccountAdapter"
SOCIALACCOUNT_AUTO_SIGNUP = True
# A GitHub sign-up's user name is its login, never typed in (docs/security.md).
SOCIALACCOUNT_FORMS = {"signup": "github_integration.forms.GitHubSignupForm"}
SOCIALACCOUNT_QUERY_EMAIL = False
SOCIALACCOUNT_STORE_TOKENS = False  # the sign-in token is not needed after sign-in
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_SIGNUP_FIELDS = ["username*", "email"]
# Gaps as GitHub issues: off unless GAP_ISSUES is on (or a technique opts in).
GAP_ISSUES = env_bool("GAP_ISSUES", False)
GAP_ISSUE_AFTER_DAYS = env_int("GAP_ISSUE_AFTER_DAYS", 14)
# Chat notifications: the body GAP_WEBHOOK_URL receives (json, slack or google_chat).
GAP_WEBHOOK_FORMAT = env_str("GAP_WEBHOOK_FORMAT", "json")
if GAP_WEBHOOK_FORMAT not in {"json", "slack", "google_chat"}:
    raise ImproperlyConfigured("GAP_WEBHOOK_FORMAT must be json, slack or google_chat")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}

# --- Operations: production services, health, metrics, logs (ops/) ------------------
INSTALLED_APPS += ["ops"]
# First, so that every log line of a request carries its id and its latency is measured.
MIDDLEWARE.insert(0, "ops.middleware.RequestMiddleware")
if PRODUCTION:
    # Production runs on PostgreSQL and Redis: several processes share the database, the
    # cache (page cache, locks, heartbeats) and the broker.
    _required = {
        "DATABASE_URL": ("postgres://", "postgresql://"),
        "CELERY_BROKER_URL": ("redis://", "rediss://"),
        "CACHE_URL": ("redis://", "rediss://"),
    }
    _wrong = [name for name, schemes in _required.items() if not env_str(name).startswith(schemes)]
    if _wrong:
        raise ImproperlyConfigured(
            "DJANGO_ENV=production needs PostgreSQL and Redis: set "
            + ", ".join(f"{name} ({_required[name][0]}...)" for name in _wrong)
            + ". See the README's Deploying section."
        )
# /readyz: the longest acceptable silence of each background part, in seconds.
READYZ_WORKER_MAX_AGE = env_int("READYZ_WORKER_MAX_AGE", 90)
READYZ_BEAT_MAX_AGE = env_int("READYZ_BEAT_MAX_AGE", 180)
READYZ_SYNC_MAX_AGE = env_int("READYZ_SYNC_MAX_AGE", 2 * 3600)  # 0: do not check
# A worker writes its heartbeat this often (beat's tick is a periodic job, ops/tasks.py).
WORKER_HEARTBEAT_SECONDS = env_int("WORKER_HEARTBEAT_SECONDS", 15)
# /metrics: a bearer token (compared in constant time) or a list of client addresses.
METRICS_TOKEN = env_str("METRICS_TOKEN")
METRICS_ALLOWED_IPS = env_list("METRICS_ALLOWED_IPS")
# Logs: "text" (one readable line) or "json" (one JSON object per line), with request ids.
LOG_FORMAT = env_str("LOG_FORMAT", "text")
if LOG_FORMAT not in {"text", "json"}:
    raise ImproperlyConfigured("LOG_FORMAT must be 'text' or 'json'")
from ops.logs import logging_config  # noqa: E402

LOGGING = logging_config(LOG_FORMAT, env_str("LOG_LEVEL", "INFO"))
# Celery logs through the same configuration (ops/signals.py), not its own.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# collectstatic's destination (hashed, compressed names in production).
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(STATIC_ROOT)))
