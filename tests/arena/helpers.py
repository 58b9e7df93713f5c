"""Helpers for arena tests: drive the JSON API and look for leaked identities."""
import json

from arena.models import Battle, BattleStatus
from tests.conftest import wait_for


def post(client, url, body, **extra):
    return client.post(url, data=json.dumps(body), content_type="application/json", **extra)


def start_battle(client, prompt="Tell me about the sea."):
    res = post(client, "/arena/api/battles", {"prompt": prompt})
    assert res.status_code == 201, res.content
    return res.json()["battle"]


def wait_status(battle_id, *statuses, timeout=60):
    return wait_for(lambda: Battle.objects.filter(pk=battle_id, status__in=statuses).first(), timeout=timeout)


def wait_ready(battle_id, timeout=60):
    battle = wait_status(battle_id, BattleStatus.READY, BattleStatus.FAILED, timeout=timeout)
    assert battle.status == BattleStatus.READY, "a tiny local model failed to answer"
    return battle


def identity_strings(*contenders) -> list[str]:
    """Everything that would identify a contender: names, slugs, ids, model paths, URLs, env names."""
    found = []
    for c in contenders:
        found += [c.display_name, c.slug, c.model, f'"contender": {c.pk}', f"contender_{c.pk}"]
        found += [v for v in (c.base_url, c.api_key_env) if v]
    return found


def assert_no_identity(text: str, contenders) -> None:
    for needle in identity_strings(*contenders):
        assert needle not in text, f"identity {needle!r} leaked before the vote"
