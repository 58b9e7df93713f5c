"""The authentication backend: Django's ModelBackend, with each signed-in user kept a few
seconds per process.

Every request of a signed-in user loads the user by the id in its session: one SELECT, ~0.5 ms
of web CPU and a database round trip on a vote of ~5 ms in all (BENCHMARKS.md, vote ingestion).
A user read in the last USER_CACHE_S seconds is handed out again, as a copy so that a request
that changes its user changes nothing shared. Saving or deleting a user drops it here at once;
another process may go on seeing the old row (deactivated, password or staff flag changed) for
at most USER_CACHE_S seconds. USER_CACHE_S = 0 turns the cache off.
"""
import copy
import threading
import time

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.db.models.signals import post_delete, post_save

_users: dict = {}  # pk -> (monotonic expiry, user)
_lock = threading.Lock()
_MAX_USERS = 10_000  # a bound on memory; cleared whole when reached (a refill costs one query a user)


class CachedModelBackend(ModelBackend):
    def get_user(self, user_id):
        ttl = settings.USER_CACHE_S
        if ttl <= 0:
            return super().get_user(user_id)
        now = time.monotonic()
        hit = _users.get(user_id)
        if hit is not None and hit[0] > now:
            return copy.copy(hit[1])
        user = super().get_user(user_id)  # None for a missing or inactive user: not kept
        if user is not None:
            with _lock:
                if len(_users) >= _MAX_USERS:
                    _users.clear()
                _users[user_id] = (now + ttl, copy.copy(user))
        return user


def user_forget(sender, instance, **kwargs) -> None:
    # The session stores the pk as a string; drop both forms.
    _users.pop(instance.pk, None)
    _users.pop(str(instance.pk), None)


post_save.connect(user_forget, sender=settings.AUTH_USER_MODEL, dispatch_uid="config.auth.saved")
post_delete.connect(user_forget, sender=settings.AUTH_USER_MODEL, dispatch_uid="config.auth.deleted")


def users_forget_all() -> None:
    """Empty this process's cache (tests; after a bulk update that skips signals)."""
    _users.clear()

