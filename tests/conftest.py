"""Shared fixtures. The suite needs the real PostgreSQL and Redis: it fails, never skips,
when they are missing (CI expects them)."""
import time
from pathlib import Path

import pytest
import redis
from django.conf import settings

from worker.tinymodels import build_demo_models


def pytest_sessionstart(session):
    try:
        redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=3).ping()
    except redis.RedisError as exc:
        raise pytest.UsageError(f"Redis at {settings.REDIS_URL} is needed by the suite: {exc}") from None
    assert settings.DATABASES["default"]["ENGINE"].endswith("postgresql"), "the suite runs on PostgreSQL"


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory) -> dict[str, Path]:
    """The three demo models, built once per test session: slug -> folder."""
    folder = tmp_path_factory.mktemp("models")
    return {info.slug: info.path for info in build_demo_models(folder, train_seconds=1.0)}


@pytest.fixture
def contenders(db, tiny_models):
    """Two active contenders on real tiny models; short answers keep tests fast."""
    from arena.contenders import contender_register

    return [
        contender_register(
            slug=slug,
            display_name=f"Secret {slug.title()}",
            backend="TRANSFORMERS",
            model=str(path),
            generation={"max_new_tokens": 24, "temperature": 0.8},
        )
        for slug, path in list(tiny_models.items())[:2]
    ]


@pytest.fixture
def user(db, django_user_model):
    return django_user_model.objects.create_user(username="alice", password="pw-alice-123")


@pytest.fixture
def other_user(db, django_user_model):
    return django_user_model.objects.create_user(username="bob", password="pw-bob-123")


@pytest.fixture
def alice(client, user):
    client.force_login(user)
    return client


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Rate-limit counters live in the cache (Redis): each test starts from zero."""
    from django.core.cache import cache

    cache.clear()
    yield


def wait_for(predicate, timeout: float = 30.0, interval: float = 0.05):
    """Poll until predicate() is truthy; returns its value or fails the test."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"condition not met within {timeout}s")


@pytest.fixture(scope="session", autouse=True)
def _end_stray_connections(django_db_setup, django_db_blocker):
    """Threads (inline tasks, asgiref executors) may still hold a connection at the end; end
    them so the test database can be dropped."""
    from django.db import OperationalError, connection

    test_db = connection.settings_dict["NAME"]
    yield
    try:
        with django_db_blocker.unblock(), connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                [test_db],
            )
    except OperationalError:  # nothing to clean where no connection can be made
        pass
