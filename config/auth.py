"""Authentication middleware: Django's, with each signed-in user kept a few seconds per process.

Every request of a signed-in user loads the user by the id in its session: one SELECT, ~0.5 ms
of web CPU and a database round trip on a vote of ~3 ms in all (BENCHMARKS.md, vote ingestion).
A user read in the last USER_CACHE_S seconds is handed out again, as a copy so that a request
that changes its user changes nothing shared, and only while the session's auth hash still
matches it: after a password change the new hash doesn't match the kept user, so the row is
read again and the session verified by Django as always (a kept stale user must not sign out
the person who just changed their password). Saving or deleting a user drops it here at once;
another process may go on seeing the old row (deactivated, staff flag changed) for at most
USER_CACHE_S seconds. USER_CACHE_S = 0 turns the cache off. WebSocket connections (Channels)
read the user the usual way, once per connection.
"""
import copy
import threading
import time

from django.conf import settings
from django.contrib import auth
from django.contrib.auth.middleware import AuthenticationMiddleware
from django.db.models.signals import post_delete, post_save
from django.utils.crypto import constant_time_compare
from django.utils.functional import SimpleLazyObject

# the session's user id -> (monotonic expiry, user, its session auth hash: an HMAC, so kept too)
_users: dict[str, tuple[float, object, str]] = {}
_lock = threading.Lock()
# Bumped by every forget: a read that began before a save must not put the old row back.
_generation = [0]
_MAX_USERS = 10_000  # a bound on memory; cleared whole when reached (a refill costs one query a user)


class CachedUserMiddleware(AuthenticationMiddleware):
    def process_request(self, request):
        super().process_request(request)
        request.user = SimpleLazyObject(lambda: request_user(request))


def request_user(request):
    """request.user: the kept copy when fresh and still matching the session, else Django's own
    auth.get_user (which reads the row and verifies, or flushes, the session)."""
    if not hasattr(request, "_cached_user"):
        request._cached_user = _user_for(request)
    return request._cached_user


def _user_for(request):
    ttl = settings.USER_CACHE_S
    session = request.session
    user_id = session.get(auth.SESSION_KEY)
    session_hash = session.get(auth.HASH_SESSION_KEY)
    if ttl <= 0 or user_id is None or not session_hash:
        return auth.get_user(request)
    hit = _users.get(user_id)
    if (
        hit is not None
        and hit[0] > time.monotonic()
        and session.get(auth.BACKEND_SESSION_KEY) in settings.AUTHENTICATION_BACKENDS
        and constant_time_compare(session_hash, hit[2])
    ):
        return copy.copy(hit[1])
    generation = _generation[0]
    user = auth.get_user(request)
    if user.is_authenticated:
        with _lock:
            if _generation[0] == generation:
                if len(_users) >= _MAX_USERS:
                    _users.clear()
                _users[user_id] = (time.monotonic() + ttl, copy.copy(user), user.get_session_auth_hash())
    return user


def user_forget(sender, instance, **kwargs) -> None:
    with _lock:
        _generation[0] += 1
        _users.pop(str(instance.pk), None)


def users_forget_all() -> None:
    """Empty this process's cache (tests; after a bulk update that skips signals)."""
    with _lock:
        _generation[0] += 1
        _users.clear()


post_save.connect(user_forget, sender=settings.AUTH_USER_MODEL, dispatch_uid="config.auth.saved")
post_delete.connect(user_forget, sender=settings.AUTH_USER_MODEL, dispatch_uid="config.auth.deleted")
