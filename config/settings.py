"""One settings module, 12-factor: everything that differs between deployments is an env var.

With no DATABASE_URL / REDIS_URL it is the embedded default (SQLite, in-memory channel
layer, tasks run in-process on threads); see README "Configuration".
"""
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from config import env

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env.text("PREFARENA_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env.flag("DEBUG")
REDIS_URL = env.text("REDIS_URL")
DATABASE_URL = env.text("DATABASE_URL")
# Embedded = no external services: tasks run on threads of the web process.
EMBEDDED = env.flag("PREFARENA_EMBEDDED", default=not REDIS_URL)

SECRET_KEY = env.text("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set (or DEBUG=1 for local development)")
    SECRET_KEY = "dev-only-insecure-key-do-not-deploy"

# Annotator pseudonyms (HMAC key): set PSEUDONYM_KEY to keep pseudonyms stable across a SECRET_KEY
# rotation; by default it is derived from SECRET_KEY.
PSEUDONYM_KEY = env.text("PSEUDONYM_KEY") or f"pseudonym:{SECRET_KEY}"

ALLOWED_HOSTS = env.words("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env.words("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "arena",
    "annotate",
    "worker",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "config.auth.CachedUserMiddleware",  # Django's AuthenticationMiddleware, users kept USER_CACHE_S
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "config.security.ContentSecurityPolicyMiddleware",
]

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"
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
            ]
        },
    }
]

if DATABASE_URL:
    # The web process sets DATABASE_POOL_SIZE (at least WEB_THREADS): its requests run on a set of
    # threads (config/wsgi_bridge.py) and each hands its connection back to the pool when it ends.
    # Without a pool, under asgiref's per-request threads every request opened a connection and
    # 64 concurrent voters ran PostgreSQL out of them (tests/bench/test_vote_ingestion.py).
    # Celery workers keep persistent connections: their threads live long (a pool in a prefork
    # worker would have to be opened after the fork; not needed there, not measured).
    DATABASE_POOL_SIZE = env.integer("DATABASE_POOL_SIZE", 0)
    DATABASES = {
        "default": dj_database_url.parse(
            DATABASE_URL, conn_max_age=0 if DATABASE_POOL_SIZE else 60, conn_health_checks=not DATABASE_POOL_SIZE
        )
    }
    if DATABASE_POOL_SIZE:
        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {"min_size": 2, "max_size": DATABASE_POOL_SIZE, "timeout": 10}
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "prefarena.sqlite3",
            # Generation threads write while requests write: WAL lets readers go on, and IMMEDIATE
            # transactions take the write lock up front, so two writers queue (busy timeout)
            # instead of deadlocking on a read-to-write upgrade ("database is locked").
            "OPTIONS": {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            # Token events are coalesced by the publisher, but a slow client can still lag.
            # redis-py 8 reads with a 5 s socket timeout by default, as long as channels_redis blocks
            # in BZPOPMIN (5 s): the read often lost that race and killed an idle consumer, closing
            # a browser's socket about every 5 s.
            "CONFIG": {"hosts": [{"address": REDIS_URL, "socket_timeout": 15}], "capacity": 1000, "expiry": 30},
        }
    }
    CACHES = {
        "default": {
            # Django's RedisCache with one pool and one client per process (config/redis_pool.py):
            # Django keeps a cache object per thread, and without a shared pool every thread
            # opened its own connections; it also built a new client object per call.
            "BACKEND": "config.redis_pool.RedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {"pool_class": "config.redis_pool.SharedConnectionPool"},
        }
    }
    # The session is read on every request; from Redis it costs no PostgreSQL query.
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer", "CONFIG": {"capacity": 1000}}}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

LEADERBOARD = {
    "PUBLIC": env.flag("LEADERBOARD_PUBLIC"),  # default: staff only
    "MIN_VOTES": env.integer("LEADERBOARD_MIN_VOTES", 20),  # fewer: provisional
    "BOOTSTRAP_ROUNDS": env.integer("LEADERBOARD_BOOTSTRAP_ROUNDS", 100),
    "REFIT_EVERY_VOTES": env.integer("LEADERBOARD_REFIT_EVERY_VOTES", 50),
    "REFIT_EVERY_S": env.integer("LEADERBOARD_REFIT_EVERY_S", 600),
}
# Celery: only used when not embedded. Generation queues are gen.<slug>.
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
# A task whose worker died unacknowledged comes back after visibility_timeout; a sweep looks for
# such tasks every restore interval (kombu's default is ~100 s: 10 s x throttle 10).
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.integer("CELERY_VISIBILITY_TIMEOUT", 600),
    "unacked_restore_interval": env.integer("CELERY_RESTORE_INTERVAL_S", 30),
    "unacked_restore_throttle": 1,
}
CELERY_BEAT_SCHEDULE = {
    "battle-expire-stale": {"task": "worker.tasks.battle_expire_stale_task", "schedule": 60.0},
    "leaderboards-refit": {"task": "worker.tasks.leaderboards_refit_task", "schedule": float(LEADERBOARD["REFIT_EVERY_S"])},
    "annotate-leases-expire": {"task": "worker.tasks.leases_expire_task", "schedule": 60.0},
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
# Signed-in users are read once per USER_CACHE_S seconds per process, not on every request
# (config/auth.py, the authentication middleware); a change to a user reaches other processes
# within that time.
USER_CACHE_S = env.integer("USER_CACHE_S", 5)
# HTTP requests a web process runs at once (config/wsgi_bridge.py); each holds a database
# connection while it runs, so DATABASE_POOL_SIZE should be at least this.
WEB_THREADS = env.integer("WEB_THREADS", 6)
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "arena:index"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env.flag("SECURE_COOKIES")
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
DATA_UPLOAD_MAX_MEMORY_SIZE = 256 * 1024

# Finished dataset exports, one folder per snapshot (a shared volume in production).
EXPORT_DIR = Path(env.text("EXPORT_DIR", str(VAR_DIR / "exports")))
MODEL_DIR = Path(env.text("MODEL_DIR", str(VAR_DIR / "models")))

# Arena rules, all overridable per deployment.
ARENA = {
    "ALLOW_ANONYMOUS": env.flag("ARENA_ALLOW_ANONYMOUS"),
    "MAX_PROMPT_CHARS": env.integer("ARENA_MAX_PROMPT_CHARS", 4000),
    "MAX_TURNS": env.integer("ARENA_MAX_TURNS", 8),
    "BATTLES_PER_HOUR": env.integer("ARENA_BATTLES_PER_HOUR", 30),
    "TURNS_PER_HOUR": env.integer("ARENA_TURNS_PER_HOUR", 120),
    "VOTES_PER_HOUR": env.integer("ARENA_VOTES_PER_HOUR", 600),
    "LOGIN_ATTEMPTS_PER_15_MIN": env.integer("LOGIN_ATTEMPTS_PER_15_MIN", 20),
    "MAX_RATIONALE_CHARS": 500,
    # A side still generating after this long is failed by battle_expire_stale.
    "STALE_AFTER_S": env.integer("ARENA_STALE_AFTER_S", 300),
    "GENERATION_TIME_LIMIT_S": env.integer("ARENA_GENERATION_TIME_LIMIT_S", 120),
}

# Pair choice: "active" (votes go where intervals are widest, once a fit exists) or "weighted".
ARENA["SAMPLING"] = env.choice("ARENA_SAMPLING", ("active", "weighted"), "active")
ARENA["EXPLORE"] = env.number("ARENA_EXPLORE", 0.2)

ANNOTATE = {
    "MAX_IMPORT_BYTES": env.integer("ANNOTATE_MAX_IMPORT_BYTES", 512 * 1024 * 1024),
    "MAX_PROMPT_CHARS": env.integer("ANNOTATE_MAX_PROMPT_CHARS", 50_000),
    "MAX_CANDIDATE_CHARS": env.integer("ANNOTATE_MAX_CANDIDATE_CHARS", 100_000),
    "MAX_CANDIDATES": env.integer("ANNOTATE_MAX_CANDIDATES", 10),
    "SUBMITS_PER_HOUR": env.integer("ANNOTATE_SUBMITS_PER_HOUR", 600),
    "JOINS_PER_HOUR": env.integer("ANNOTATE_JOINS_PER_HOUR", 300),  # crowd-link sign-ups per client address
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.text("LOG_LEVEL", "INFO")},
}
