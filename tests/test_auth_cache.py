"""config/auth.py: signed-in users kept USER_CACHE_S per process by the authentication middleware."""
import pytest
from django.contrib.auth import HASH_SESSION_KEY
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext

from config.auth import users_forget_all

pytestmark = pytest.mark.django_db


@pytest.fixture
def cache_on(settings):
    settings.USER_CACHE_S = 60
    users_forget_all()
    yield
    users_forget_all()


def user_reads(client, path="/arena/") -> tuple[int, int]:
    """(status of GET path, SELECTs of the user table it made)."""
    with CaptureQueriesContext(connection) as queries:
        status = client.get(path).status_code
    return status, sum('FROM "auth_user"' in q["sql"] for q in queries.captured_queries)


def test_a_signed_in_user_is_read_once_then_kept(cache_on, client):
    client.force_login(User.objects.create_user("ann", password="pw-long-enough"))
    assert user_reads(client) == (200, 1)
    assert user_reads(client) == (200, 0)


def test_without_the_cache_every_request_reads_the_user(settings, client):
    settings.USER_CACHE_S = 0
    client.force_login(User.objects.create_user("bob", password="pw-long-enough"))
    assert user_reads(client) == (200, 1)
    assert user_reads(client) == (200, 1)


def test_a_user_saved_here_is_read_again_and_a_deactivated_one_is_out_at_once(cache_on, client):
    user = User.objects.create_user("cat", password="pw-long-enough")
    client.force_login(user)
    assert user_reads(client) == (200, 1)
    user.is_active = False
    user.save()
    status, reads = user_reads(client)
    assert (status, reads) == (302, 1)  # to the login page


def test_a_password_changed_elsewhere_keeps_its_own_session_signed_in(cache_on, client):
    """Another process changes the password (no signal reaches this one) and moves the session
    to the new hash, as update_session_auth_hash does: the kept user no longer matches the
    session, so the row is read again instead of the session being flushed."""
    user = User.objects.create_user("dan", password="pw-long-enough")
    client.force_login(user)
    assert user_reads(client) == (200, 1)
    User.objects.filter(pk=user.pk).update(password=make_password("another-long-password"))
    session = client.session
    session[HASH_SESSION_KEY] = User.objects.get(pk=user.pk).get_session_auth_hash()
    session.save()

    assert user_reads(client) == (200, 1)
    assert user_reads(client) == (200, 0)


def test_a_session_of_the_old_password_is_signed_out_once_the_row_is_read(cache_on, client):
    user = User.objects.create_user("eve", password="pw-long-enough")
    client.force_login(user)
    assert user_reads(client) == (200, 1)
    User.objects.filter(pk=user.pk).update(password=make_password("another-long-password"))
    users_forget_all()  # what USER_CACHE_S seconds do in another process
    assert user_reads(client)[0] == 302


def test_a_request_that_changes_its_user_changes_nothing_kept(cache_on, rf):
    from django.contrib.sessions.backends.cache import SessionStore

    from config.auth import request_user

    user = User.objects.create_user("fay", password="pw-long-enough")

    def request():
        req = rf.get("/")
        req.session = SessionStore()
        req.session.update({"_auth_user_id": str(user.pk), "_auth_user_backend": "django.contrib.auth.backends.ModelBackend",
                            HASH_SESSION_KEY: user.get_session_auth_hash()})  # fmt: skip
        return req

    first = request_user(request())  # read, a copy kept
    first.first_name = "changed by the first request"
    kept = request_user(request())  # a copy handed out from the cache
    kept.first_name = "changed by the second request"
    again = request_user(request())
    assert again.pk == user.pk and again.first_name == "" and again is not kept and again is not first
