"""Bad prompts and floods get a clear message and create nothing (issue 2, pinned test 3)."""
import pytest

from arena.models import Battle, Turn
from tests.arena.helpers import post

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("prompt, code", [("", "prompt_empty"), ("   \n ", "prompt_empty"), (None, "prompt_empty"), (42, "prompt_empty")])
def test_empty_prompt_refused(alice, contenders, prompt, code):
    res = post(alice, "/arena/api/battles", {"prompt": prompt})
    assert res.status_code == 400 and res.json()["error"] == code and res.json()["message"]
    assert not Battle.objects.exists()


def test_overlong_prompt_refused(alice, contenders, settings):
    settings.ARENA = {**settings.ARENA, "MAX_PROMPT_CHARS": 50}
    res = post(alice, "/arena/api/battles", {"prompt": "x" * 51})
    assert res.status_code == 400 and res.json()["error"] == "prompt_too_long"
    assert "50" in res.json()["message"]
    assert not Battle.objects.exists()


def test_malformed_and_oversize_bodies_refused(alice, contenders):
    res = alice.post("/arena/api/battles", data=b"{not json", content_type="application/json")
    assert res.status_code == 400 and res.json()["error"] == "bad_request"
    res = alice.post("/arena/api/battles", data=b"[1,2]", content_type="application/json")
    assert res.status_code == 400
    res = post(alice, "/arena/api/battles", {"prompt": "x" * 70_000})
    assert res.status_code == 400 and res.json()["error"] == "bad_request"  # the 64 KB body limit, before any prompt rule
    assert not Battle.objects.exists()


def test_rate_limit_refuses_battles_over_the_hourly_budget(alice, contenders, settings):
    settings.ARENA = {**settings.ARENA, "BATTLES_PER_HOUR": 3}
    for _ in range(3):
        assert post(alice, "/arena/api/battles", {"prompt": "hi"}).status_code == 201
    res = post(alice, "/arena/api/battles", {"prompt": "hi"})
    assert res.status_code == 429 and res.json()["error"] == "rate_limited"
    assert Battle.objects.count() == 3 and Turn.objects.count() == 3


def test_signed_out_visitors_are_sent_to_login(client, contenders):
    assert client.get("/arena/")["Location"].startswith("/accounts/login/")
    res = post(client, "/arena/api/battles", {"prompt": "hi"})
    assert res.status_code == 401 and res.json()["error"] == "not_signed_in"
    assert not Battle.objects.exists()


def test_anonymous_sessions_when_the_admin_allows_them(client, contenders, settings):
    settings.ARENA = {**settings.ARENA, "ALLOW_ANONYMOUS": True}
    assert client.get("/arena/").status_code == 200
    res = post(client, "/arena/api/battles", {"prompt": "hi"})
    assert res.status_code == 201
    battle = Battle.objects.get()
    assert battle.owner is None and battle.owner_session == client.session.session_key


def test_fewer_than_two_active_contenders(alice, contenders):
    contenders[0].is_active = False
    contenders[0].save()
    res = post(alice, "/arena/api/battles", {"prompt": "hi"})
    assert res.status_code == 503 and res.json()["error"] == "no_contenders"


def test_login_attempts_are_rate_limited(client, user, settings):
    settings.ARENA = {**settings.ARENA, "LOGIN_ATTEMPTS_PER_15_MIN": 2}
    for _ in range(2):
        assert client.post("/accounts/login/", {"username": "alice", "password": "wrong"}).status_code == 200
    res = client.post("/accounts/login/", {"username": "alice", "password": "pw-alice-123"})
    assert res.status_code == 429 and b"Too many sign-in attempts" in res.content
