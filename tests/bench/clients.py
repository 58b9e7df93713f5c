"""Signed-in users for benchmarks, and the environment a benchmarked web server gets."""
import secrets
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.utils import timezone

# The web process's PostgreSQL pool, read by config/settings.py once it has one (proposed with
# these benchmarks; ignored before). Without it, under ASGI every request opens a connection.
WEB_DATABASE_POOL = {"DATABASE_POOL_SIZE": "8"}


def signed_in_clients(n: int) -> list[tuple[int, str]]:
    """(user id, session key) for n users, sessions written straight to the table: no login view,
    no password hashing (200 PBKDF2 logins would take longer than the benchmark)."""
    User = get_user_model()
    users = User.objects.bulk_create(User(username=f"bench-{i}", password="!bench-no-password") for i in range(n))
    store = SessionStore()
    expire_at = timezone.now() + timedelta(days=1)
    sessions = [
        Session(
            session_key=secrets.token_hex(16),
            expire_date=expire_at,
            session_data=store.encode(
                {
                    "_auth_user_id": str(user.pk),
                    "_auth_user_backend": "django.contrib.auth.backends.ModelBackend",
                    "_auth_user_hash": user.get_session_auth_hash(),
                }
            ),
        )
        for user in users
    ]
    Session.objects.bulk_create(sessions)
    return [(user.pk, s.session_key) for user, s in zip(users, sessions)]
