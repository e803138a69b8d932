"""Django settings for CodeQuest Rewards, driven by the environment (CONTRACT §2)."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import environ
from kombu import Exchange, Queue

from codequest import config

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(environ.Env().str("CODEQUEST_VAR_DIR", default=str(BASE_DIR / "var")))

env = environ.Env()
if env.str("DJANGO_READ_DOT_ENV_FILE", default="").lower() in {"1", "true", "yes"}:
    environ.Env.read_env(str(BASE_DIR / ".env"))


def _setting(read, name: str, **kwargs):
    """Read one variable; a malformed value stops start-up with one line."""
    try:
        return read(name, **kwargs)
    except Exception as exc:  # noqa: BLE001 - any parse error becomes one clear line
        config.fail(f"{name} is malformed ({exc.__class__.__name__}: {exc})")


SHARED_DATABASE = "DATABASE_URL" in env


def _stable_secret(name: str, factory) -> str:
    value = env.str(name, default="").strip()
    if value:
        return value
    if SHARED_DATABASE:
        config.fail(
            f"{name} is required when DATABASE_URL is set "
            "(every process sharing the database must use the same value)"
        )
    return config.generated_secret(VAR_DIR, name.lower(), factory)


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _strict_bool(name: str, default: bool) -> bool:
    """true/false, 1/0, yes/no, on/off; anything else stops start-up."""
    raw = env.str(name, default="true" if default else "false").strip().lower()
    if raw not in _TRUE | _FALSE:
        config.fail(f"{name} must be true or false, got {raw!r}")
    return raw in _TRUE


# --- Core -----------------------------------------------------------------------
DEBUG = _strict_bool("DJANGO_DEBUG", default=False)
SECRET_KEY = _stable_secret("SECRET_KEY", config.new_secret_key)
ALLOWED_HOSTS = _setting(
    env.list, "DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"]
)
CSRF_TRUSTED_ORIGINS = _setting(env.list, "DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

try:
    PUBLIC_URL = config.check_url(
        "PUBLIC_URL",
        # make run listens on $PORT: the default address must follow it.
        env.str("PUBLIC_URL", default=f"http://127.0.0.1:{env.str('PORT', '8000')}"),
        ("http", "https"),
    )
    GITHUB_API_URL = config.check_url(
        "GITHUB_API_URL",
        env.str("GITHUB_API_URL", default="https://api.github.com"),
        ("http", "https"),
    )
    GITHUB_WEB_URL = config.check_url(
        "GITHUB_WEB_URL",
        env.str("GITHUB_WEB_URL", default="https://github.com"),
        ("http", "https"),
    )
    GITLAB_URL = config.check_url(
        "GITLAB_URL",
        env.str("GITLAB_URL", default="https://gitlab.com"),
        ("http", "https"),
    )
except config.ConfigError as exc:
    config.fail(str(exc))

# Provider hosts a team may connect to besides the configured ones (CONTRACT §7).
# Loopback, link-local and private addresses are refused unless listed here.
CODEQUEST_ALLOWED_API_HOSTS = [
    host.strip().lower()
    for host in _setting(env.list, "CODEQUEST_ALLOWED_API_HOSTS", default=[])
    if host.strip()
]
# Bearer token /metrics requires when set (Prometheus: `authorization` in the
# scrape config); unset, /metrics answers loopback callers only.
CODEQUEST_METRICS_TOKEN = env.str("CODEQUEST_METRICS_TOKEN", default="").strip()

# PyGithub's pacing between calls (GitHub asks integrators not to burst).
GITHUB_SECONDS_BETWEEN_REQUESTS: float | None = 0.25
# How far back the first scan of a newly connected repository reaches.
CODEQUEST_INITIAL_SCAN_DAYS = _setting(
    env.int, "CODEQUEST_INITIAL_SCAN_DAYS", default=30
)
GITHUB_WEBHOOK_SECRET = env.str("GITHUB_WEBHOOK_SECRET", default="")
GITLAB_WEBHOOK_SECRET = env.str("GITLAB_WEBHOOK_SECRET", default="")
GITHUB_APP_ID = env.str("GITHUB_APP_ID", default="").strip()
# The App's URL name (github.com/apps/<slug>): enables "Install the GitHub App".
GITHUB_APP_SLUG = env.str("GITHUB_APP_SLUG", default="").strip()
GITHUB_APP_PRIVATE_KEY = env.str("GITHUB_APP_PRIVATE_KEY", default="", multiline=True)
if GITHUB_APP_PRIVATE_KEY.startswith("@"):
    try:
        GITHUB_APP_PRIVATE_KEY = Path(GITHUB_APP_PRIVATE_KEY[1:]).read_text()
    except OSError as exc:
        config.fail(f"GITHUB_APP_PRIVATE_KEY names a file that cannot be read ({exc})")
if GITHUB_APP_ID and not GITHUB_APP_ID.isdigit():
    config.fail("GITHUB_APP_ID must be the App's numeric id")
if GITHUB_APP_PRIVATE_KEY and "-----BEGIN" not in GITHUB_APP_PRIVATE_KEY:
    config.fail("GITHUB_APP_PRIVATE_KEY must be a PEM private key or @/path/to/key.pem")
GITHUB_OAUTH_CLIENT_ID = env.str("GITHUB_OAUTH_CLIENT_ID", default="")
GITHUB_OAUTH_CLIENT_SECRET = env.str("GITHUB_OAUTH_CLIENT_SECRET", default="")
GITLAB_OAUTH_CLIENT_ID = env.str("GITLAB_OAUTH_CLIENT_ID", default="")
GITLAB_OAUTH_CLIENT_SECRET = env.str("GITLAB_OAUTH_CLIENT_SECRET", default="")

CODEQUEST_ENCRYPTION_KEYS = [
    key.strip()
    for key in _stable_secret(
        "CODEQUEST_ENCRYPTION_KEYS", config.new_encryption_key
    ).split(",")
    if key.strip()
]
# Fail at start-up, not at the first encrypt, when a key is malformed.
try:
    from integrations.crypto import parse_keys

    parse_keys(CODEQUEST_ENCRYPTION_KEYS)
except ValueError as exc:
    config.fail(f"CODEQUEST_ENCRYPTION_KEYS is malformed: {exc}")

# Largest webhook body we accept (CONTRACT §3: over 25 MB -> 413).
WEBHOOK_MAX_BODY_BYTES = 25 * 1024 * 1024
# Deliveries waiting in a process before they are handed to Celery as one batch.
WEBHOOK_DISPATCH_BATCH_SIZE = _setting(
    env.int, "CODEQUEST_DISPATCH_BATCH_SIZE", default=200
)
# Seconds a delivery may wait in that buffer; 0 hands each one over at once.
# Each Celery publish costs ~0.6 ms of CPU: 0.25 s batches bought ~10 points of
# receiver throughput over 0.05 s in bench/ingest.
WEBHOOK_DISPATCH_MAX_DELAY = _setting(
    env.float, "CODEQUEST_DISPATCH_MAX_DELAY", default=0.25
)
# A worker applies a batch in transactions of at most about this many seconds:
# longer ones group more events of a pull request under one ledger recount
# (bench/processing: 0.1 s ~30 ms a delivery, 0.25 s ~23 ms), shorter ones
# make each delivery visible sooner when a batch is long.
WEBHOOK_BATCH_COMMIT_SECONDS = _setting(
    env.float, "CODEQUEST_BATCH_COMMIT_SECONDS", default=0.25
)
# A pending delivery older than this is re-queued by the sweeper.
WEBHOOK_SWEEP_AFTER_SECONDS = _setting(
    env.int, "CODEQUEST_SWEEP_AFTER_SECONDS", default=60
)
WEBHOOK_MAX_ATTEMPTS = 6


def _rate(name: str, default: str) -> tuple[int, float]:
    """``N/s``, ``N/m`` or ``N/h`` -> (N, period in seconds); ``0`` or ``off``
    turns the limit off (N = 0)."""
    raw = env.str(name, default=default).strip().lower()
    if raw in {"0", "off", ""}:
        return 0, 1.0
    count, _, unit = raw.partition("/")
    periods = {"s": 1.0, "m": 60.0, "h": 3600.0}
    if not count.isdigit() or int(count) < 1 or unit not in periods:
        config.fail(f"{name} must look like 60/m (a count per s, m or h), or off")
    return int(count), periods[unit]


def _networks(name: str) -> tuple:
    """Comma-separated addresses or CIDR blocks (IPv4 or IPv6)."""
    blocks = []
    for item in env.list(name, default=[]):
        try:
            blocks.append(ipaddress.ip_network(item.strip(), strict=False))
        except ValueError:
            config.fail(f"{name}: {item.strip()!r} is not an address or CIDR block")
    return tuple(blocks)


# Receiver protection (README "Webhook endpoint protection"). Requests that do
# not verify take a token from their source address's bucket; an empty bucket
# answers 429. A delivery that verifies never takes one and is never refused.
WEBHOOK_FAILURE_LIMIT = _rate("CODEQUEST_WEBHOOK_RATE_LIMIT", "60/m")
# Addresses the receivers accept deliveries from (empty: any); the providers'
# published hook addresses (GitHub's meta API) are added when asked for.
WEBHOOK_ALLOWED_NETWORKS = _networks("CODEQUEST_WEBHOOK_ALLOWED_IPS")
WEBHOOK_ALLOW_PROVIDER_RANGES = _strict_bool(
    "CODEQUEST_WEBHOOK_PROVIDER_RANGES", default=False
)
# Reverse proxies in front of the app that append to X-Forwarded-For: the
# client is the address that many entries from the right (0: REMOTE_ADDR).
TRUSTED_PROXY_COUNT = _setting(env.int, "CODEQUEST_TRUSTED_PROXY_COUNT", default=0)
ALLAUTH_TRUSTED_PROXY_COUNT = TRUSTED_PROXY_COUNT  # sign-in rate limits alike

# Settings changed on the dashboard within this many seconds of each other are
# written into .codequest.yml as one commit (integrations.services.writes).
CODEQUEST_WRITE_BATCH_SECONDS = _setting(
    env.int, "CODEQUEST_WRITE_BATCH_SECONDS", default=60
)

# Most points one person can earn in a day (rewards anti-gaming).
REWARDS_DAILY_CAP = _setting(env.int, "CODEQUEST_REWARDS_DAILY_CAP", default=60)
# Reconciliation: how far back a full rescan (and a first sync) reads, how often
# beat reconciles every repository, and the rate-limit points kept in reserve.
CODEQUEST_SYNC_HISTORY_DAYS = _setting(
    env.int, "CODEQUEST_SYNC_HISTORY_DAYS", default=90
)
CODEQUEST_SYNC_INTERVAL_SECONDS = _setting(
    env.int, "CODEQUEST_SYNC_INTERVAL_SECONDS", default=300
)
# Days of sync runs and health checks kept (rate-limit samples: 7 days).
CODEQUEST_HISTORY_DAYS = _setting(env.int, "CODEQUEST_HISTORY_DAYS", default=30)
CODEQUEST_RATE_LIMIT_RESERVE = _setting(
    env.int, "CODEQUEST_RATE_LIMIT_RESERVE", default=200
)
# How long the provider operations API keeps an answer (seconds).
CODEQUEST_PROVIDER_CACHE_SECONDS = {
    "info": _setting(env.int, "CODEQUEST_CACHE_INFO_SECONDS", default=300),
    "pulls": _setting(env.int, "CODEQUEST_CACHE_PULLS_SECONDS", default=60),
    "issues": _setting(env.int, "CODEQUEST_CACHE_ISSUES_SECONDS", default=60),
    "workflows": _setting(env.int, "CODEQUEST_CACHE_WORKFLOWS_SECONDS", default=300),
}
# Review credit stays provisional until the pull request is merged or closed, or
# at most this many days (0 = credit counts at once).
REWARDS_HOLD_DAYS = _setting(env.int, "CODEQUEST_REWARDS_HOLD_DAYS", default=14)

# --- Applications ---------------------------------------------------------------
INSTALLED_APPS = [
    "codequest.admin_site.CodeQuestAdminConfig",  # django.contrib.admin, branded
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_prometheus",
    "csp",
    "rest_framework",
    "knox",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.github",
    "allauth.socialaccount.providers.gitlab",
    "integrations",
    "reviews",
    "rewards",
    "notifications",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "codequest.middleware.RejectNulMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

# Content-Security-Policy (django-csp): scripts only from our own origin, so a
# value that slips into a page can never run. Inline style attributes stay
# allowed (the dashboard's bars and the admin use them; they cannot run code).
# form-action is left open: "Connect GitHub" posts to us and is redirected on
# to the provider, which form-action would block.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
    }
}

ROOT_URLCONF = "codequest.urls"
WSGI_APPLICATION = "codequest.wsgi.application"

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
            ],
        },
    },
]

# --- Data -----------------------------------------------------------------------
DATABASES = {
    "default": _setting(
        env.db,
        "DATABASE_URL",
        default=f"sqlite:///{VAR_DIR / 'codequest.sqlite3'}",
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL + busy timeout + IMMEDIATE transactions: web, worker and beat write at once.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
    }
    VAR_DIR.mkdir(parents=True, exist_ok=True)
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"].setdefault("OPTIONS", {})
    # Server-side binding lets PostgreSQL reuse plans on the hot ingest INSERT.
    DATABASES["default"]["OPTIONS"].setdefault("server_side_binding", True)
    DATABASES["default"].setdefault("CONN_MAX_AGE", 60)
    # No per-request "SELECT 1": the receiver reconnects once itself instead
    # (integrations.views), which saves a round trip on every delivery.
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = False
    DATABASES["default"]["OPTIONS"].setdefault("connect_timeout", 5)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {
    "default": _setting(env.cache, "CACHE_URL", default="locmemcache://codequest")
}

# --- Outgoing mail (notifications, health alerts) ---------------------------------
# EMAIL_URL: smtp://user:pass@host:587?tls=true (or ?ssl=true); unset, mail is
# written to the worker's log (development).
_email = _setting(env.email_url, "EMAIL_URL", default="consolemail://")
for _flag, _name in (("TLS", "EMAIL_USE_TLS"), ("SSL", "EMAIL_USE_SSL")):
    _value = _email.get("OPTIONS", {}).pop(_flag, None)
    if _value is not None:
        if str(_value).lower() not in ("0", "1", "true", "false"):
            config.fail(
                f"EMAIL_URL is malformed ({_flag.lower()}={_value}: not true/false)"
            )
        _email[_name] = str(_value).lower() in ("1", "true")
_email.pop("OPTIONS", None)
globals().update(_email)
EMAIL_TIMEOUT = 10
# Mattermost servers and JSON endpoints a team may send its notifications to
# (host or host:port; https, or http for a host named here). Microsoft Teams
# and Discord webhook hosts are known and need no entry.
CODEQUEST_NOTIFY_WEBHOOK_HOSTS = [
    host.strip().lower()
    for host in _setting(env.list, "CODEQUEST_NOTIFY_WEBHOOK_HOSTS", default=[])
    if host.strip()
]
# Accounts that are bots though their code host does not say so (an AI review
# service's user, say): they earn no points, are never asked to review, are on
# no leaderboard and are never a first review in the statistics. Logins,
# comma-separated, any case; [bot] logins and accounts the provider or an admin
# marks as bots need no entry.
CODEQUEST_BOT_LOGINS = frozenset(
    login.strip().lower()
    for login in _setting(env.list, "CODEQUEST_BOT_LOGINS", default=[])
    if login.strip()
)
# Slack (notifications by direct message): the bot token needs chat:write and
# users:read.email. SLACK_API_URL for an Enterprise Grid proxy, or tests.
SLACK_BOT_TOKEN = env.str("SLACK_BOT_TOKEN", default="")
try:
    SLACK_API_URL = (
        config.check_url(
            "SLACK_API_URL",
            env.str("SLACK_API_URL", default="https://slack.com/api/"),
            ("http", "https"),
        )
        + "/"
    )
except config.ConfigError as exc:
    config.fail(str(exc))
DEFAULT_FROM_EMAIL = env.str(
    "DEFAULT_FROM_EMAIL", default="CodeQuest <codequest@localhost>"
)
if CACHES["default"]["BACKEND"] == "django_redis.cache.RedisCache":
    # The cache is an optimisation: with Redis down, reads miss and writes are
    # dropped (logged), and pages and sign-in keep working (codequest/cache.py).
    # Short socket timeouts so an outage costs milliseconds, not seconds.
    CACHES["default"]["BACKEND"] = "codequest.cache.ResilientRedisCache"
    DJANGO_REDIS_IGNORE_EXCEPTIONS = True
    DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
    CACHES["default"].setdefault("OPTIONS", {}).update(
        {"SOCKET_CONNECT_TIMEOUT": 0.5, "SOCKET_TIMEOUT": 0.5}
    )

# --- Celery ---------------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL == "filesystem://":
    _broker_dir = VAR_DIR / "broker"
    for _sub in ("queue", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        # Exchange declarations too, under var/ (kombu's default is ./control).
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    # kombu's Redis transport with a leaked-prefetch fix (codequest/broker.py).
    CELERY_BROKER_TRANSPORT = "codequest.broker:Transport"
# Two queues, both consumed by every worker: "priority" (re-reading a
# repository's settings after a push changed them) is always asked first
# (codequest/broker.py), "celery" takes everything else.
CELERY_TASK_DEFAULT_QUEUE = "celery"
# Each queue with its own exchange and key: a message reaches one queue only.
CELERY_TASK_QUEUES = (
    Queue("priority", Exchange("priority"), routing_key="priority"),
    Queue("celery", Exchange("celery"), routing_key="celery"),
)
CELERY_TASK_ROUTES = {
    "integrations.repository_settings_read": {"queue": "priority"},
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Ride out broker outages of any length: keep reconnecting (every 2 s, backing
# off to 30 s) instead of exiting after 100 attempts.
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
# No broadcast (pub/sub) channels on the worker: remote control, gossip, mingle
# and heartbeats are unused here, and losing Redis while one of them was open
# ended the worker ("Unrecoverable error: AttributeError ... 'hostname'", kombu
# closing a pub/sub channel whose transport was already released). The Procfile
# starts the worker with --without-gossip --without-mingle --without-heartbeat.
CELERY_WORKER_ENABLE_REMOTE_CONTROL = False
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 4
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_TASK_ALWAYS_EAGER = _strict_bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = "UTC"

# --- API ------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first: an anonymous or bad-token request gets 401 + WWW-Authenticate.
        "codequest.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "codequest.pagination.StandardPagination",
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_SCHEMA_CLASS": "codequest.schema.AutoSchema",
    "EXCEPTION_HANDLER": "codequest.api.exception_handler",
}
# API tokens (django-rest-knox): only a SHA-512 of each token is stored; a token
# is shown once when created and expires after CODEQUEST_API_TOKEN_DAYS (0: never).
CODEQUEST_API_TOKEN_DAYS = _setting(env.int, "CODEQUEST_API_TOKEN_DAYS", default=90)
REST_KNOX = {
    "TOKEN_TTL": None,  # each token gets its expiry from api_token_create
    "TOKEN_PREFIX": "cq_",  # recognisable by secret scanners
    "AUTH_HEADER_PREFIX": "Token",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "CodeQuest Rewards API",
    "DESCRIPTION": "Pull/merge requests, reviews, deliveries and points.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI from our own static files: the docs work without internet and
    # under the site's Content-Security-Policy.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Auth, i18n, static -----------------------------------------------------------
_VALIDATORS = "django.contrib.auth.password_validation"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": f"{_VALIDATORS}.UserAttributeSimilarityValidator"},
    {"NAME": f"{_VALIDATORS}.MinimumLengthValidator"},
    {"NAME": f"{_VALIDATORS}.CommonPasswordValidator"},
    {"NAME": f"{_VALIDATORS}.NumericPasswordValidator"},
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/dashboard/"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]

# django-allauth: "Connect GitHub"/"Connect GitLab" and sign-in with them.
ACCOUNT_LOGIN_METHODS = {"username"}
ACCOUNT_SIGNUP_FIELDS = ["username*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "none"
SOCIALACCOUNT_ADAPTER = "integrations.adapters.SocialAccountAdapter"
# Tokens are kept by us, encrypted (ProviderCredential), not in allauth's table.
SOCIALACCOUNT_STORE_TOKENS = False
SOCIALACCOUNT_LOGIN_ON_GET = False  # the buttons POST: no login CSRF
SOCIALACCOUNT_PROVIDERS = {
    "github": {
        # read:user identifies you; repo reads pull requests of private
        # repositories; admin:repo_hook registers our webhook.
        "SCOPE": ["read:user", "read:org", "repo", "admin:repo_hook"],
        "APPS": [
            {"client_id": GITHUB_OAUTH_CLIENT_ID, "secret": GITHUB_OAUTH_CLIENT_SECRET}
        ]
        if GITHUB_OAUTH_CLIENT_ID
        else [],
        **(
            {}
            if GITHUB_WEB_URL == "https://github.com"
            else {"GITHUB_URL": GITHUB_WEB_URL}
        ),
    },
    "gitlab": {
        # read_user identifies you; api reads merge requests and manages hooks.
        "SCOPE": ["read_user", "api"],
        "GITLAB_URL": GITLAB_URL,
        "APPS": [
            {"client_id": GITLAB_OAUTH_CLIENT_ID, "secret": GITLAB_OAUTH_CLIENT_SECRET}
        ]
        if GITLAB_OAUTH_CLIENT_ID
        else [],
    },
}
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # filled by collectstatic
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
if PUBLIC_URL.startswith("https://"):
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    # Behind the TLS-terminating proxy, which must set (and overwrite) this header.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Strict-Transport-Security on HTTPS answers; off until an operator is sure the
# site stays on HTTPS (browsers remember it for that long).
SECURE_HSTS_SECONDS = _setting(env.int, "DJANGO_SECURE_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = _strict_bool(
    "DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False
)

# Raw webhook bodies are read by the receiver itself, not Django's form parser.
DATA_UPLOAD_MAX_MEMORY_SIZE = WEBHOOK_MAX_BODY_BYTES + 1024

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "keyed": {
            "()": "codequest.logging.KeyedFormatter",
        },
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "keyed"},
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.request": {"level": "ERROR"},
    },
}
