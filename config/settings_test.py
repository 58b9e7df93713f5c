"""Settings for the test suite only: the one place a fixed SECRET_KEY is allowed.

Tests talk to the real PostgreSQL and Redis (DATABASE_URL / REDIS_URL, defaults below for this
machine). Tasks run on threads unless a test starts a real Celery worker (tests/support/celery.py)."""
import os

os.environ.setdefault("SECRET_KEY", "tests-only-not-a-secret")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/prefarena")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")
os.environ.setdefault("PREFARENA_EMBEDDED", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

from config.settings import *  # noqa: E402,F403

# MD5 for speed; PBKDF2 too, for users that a server subprocess (production settings) must verify.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", "django.contrib.auth.hashers.PBKDF2PasswordHasher"]

# Tests change users in ways that send no signal (rolled-back transactions, queryset.update()),
# so a kept user could outlive its row into the next test: no user cache here.
# Server subprocesses run config.settings, with it; tests/test_auth_cache.py turns it on here.
USER_CACHE_S = 0
