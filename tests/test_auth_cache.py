"""config/auth.py: signed-in users read once per USER_CACHE_S per process, changes seen at once here."""
import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext

from config.auth import CachedModelBackend, users_forget_all

pytestmark = pytest.mark.django_db


@pytest.fixture
def cache_on(settings):
    settings.USER_CACHE_S = 60
    users_forget_all()
    yield
    users_forget_all()


def test_a_user_is_read_once_then_served_from_the_cache(cache_on, django_user_model, django_assert_num_queries):
    user = django_user_model.objects.create_user("ann", password="pw-long-enough")
    backend = CachedModelBackend()
    with django_assert_num_queries(1):
        first = backend.get_user(str(user.pk))
    with django_assert_num_queries(0):
        second = backend.get_user(str(user.pk))
    assert first.username == second.username == "ann"
    second.first_name = "changed"  # a request changing its user object shares nothing
    assert backend.get_user(str(user.pk)).first_name == ""


def test_saving_or_deleting_a_user_drops_it_from_the_cache(cache_on, django_user_model, django_assert_num_queries):
    user = django_user_model.objects.create_user("bob", password="pw-long-enough")
    backend = CachedModelBackend()
    assert backend.get_user(str(user.pk)).is_active
    user.is_active = False
    user.save()
    with django_assert_num_queries(1):
        assert backend.get_user(str(user.pk)) is None  # inactive: not let in, not kept
    other = django_user_model.objects.create_user("cat", password="pw-long-enough")
    other_pk = str(other.pk)
    assert backend.get_user(other_pk) is not None
    other.delete()
    assert backend.get_user(other_pk) is None


def test_zero_seconds_reads_every_time(settings, django_user_model, django_assert_num_queries):
    settings.USER_CACHE_S = 0
    user = django_user_model.objects.create_user("dan", password="pw-long-enough")
    backend = CachedModelBackend()
    for _ in range(2):
        with django_assert_num_queries(1):
            assert backend.get_user(str(user.pk)).pk == user.pk


def test_a_request_is_authenticated_through_the_cache(cache_on, client):
    user = User.objects.create_user("eve", password="pw-long-enough")
    client.force_login(user)
    assert client.get("/arena/").status_code == 200
    # The second page view reads the session but not the user again.
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/arena/").status_code == 200
    assert not [q for q in queries.captured_queries if 'FROM "auth_user"' in q["sql"]]
