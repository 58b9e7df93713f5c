"""Vote ingestion over HTTP: uvicorn (2 workers) on PostgreSQL + Redis, many signed-in clients.

Two phases on the same server:
- capacity: every client votes as fast as it can (closed loop) -> the most votes/s it takes;
- latency: votes arrive at a fixed rate (open loop, TARGET_RATE/s over all clients) -> the
  latency a voter sees at that rate, timed from the moment the vote was due, so a server that
  falls behind shows it (no coordinated omission).
A closed loop cannot show both targets at once: by Little's law 200 clients at 300 votes/s wait
200 / 300 = 0.67 s per vote on average, whatever the server does.

The load generator runs in this process and shares the machine's cores with the server.

    .venv/bin/python -m pytest tests/bench/test_vote_ingestion.py -s -p no:cacheprovider
"""
import asyncio
import logging
import secrets
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.utils import timezone

from arena.contenders import contender_register
from arena.models import Battle, BattleStatus, Response, ResponseStatus, Turn, Vote
from tests.bench.figures import percentiles_ms, report
from tests.support.server import asgi_server

pytestmark = [pytest.mark.bench, pytest.mark.django_db(transaction=True)]
LOGS = Path(__file__).resolve().parents[2] / "test-output"

CAPACITY_VOTES = 4800  # closed loop, split over the clients: ~16 s at 300/s
TARGET_RATE = 300  # votes/s offered in the latency phase
LATENCY_PHASE_S = 15
SERVER_WORKERS = 2
NO_ANSWER = 0


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


def ready_battles(user_ids: list[int], per_user: int) -> dict[int, list[str]]:
    """per_user READY battles (one turn, two DONE sides) for each user: user id -> battle ids."""
    left, right = (
        contender_register(slug=f"bench-{side}", display_name=f"Bench {side}", backend="TRANSFORMERS", model="/unused")
        for side in ("left", "right")
    )
    battles = Battle.objects.bulk_create(
        Battle(owner_id=uid, contender_left=left, contender_right=right, status=BattleStatus.READY)
        for uid in user_ids
        for _ in range(per_user)
    )
    turns = Turn.objects.bulk_create(Turn(battle=b, index=0, user_message="Which answer is better?") for b in battles)
    Response.objects.bulk_create(
        Response(turn=t, side=side, status=ResponseStatus.DONE, text="An *answer* with a little Markdown.", n_tokens=8)
        for t in turns
        for side in ("LEFT", "RIGHT")
    )
    owned: dict[int, list[str]] = {uid: [] for uid in user_ids}
    for b in battles:
        owned[b.owner_id].append(str(b.pk))
    return owned


class Voter:
    """One browser: its own session cookie, CSRF cookie and keep-alive connection."""

    def __init__(self, base_url: str, session_key: str, battle_ids: list[str]):
        self.client = httpx.AsyncClient(base_url=base_url, cookies={"sessionid": session_key}, timeout=60)
        self.battle_ids = battle_ids
        self.token = ""

    async def open(self) -> None:
        page = await self.client.get("/arena/")
        assert page.status_code == 200, f"session not accepted: {page.status_code}"
        self.token = self.client.cookies["csrftoken"]

    async def vote(self) -> int:
        """The HTTP status, or NO_ANSWER when the connection failed."""
        battle_id = self.battle_ids.pop()
        try:
            res = await self.client.post(
                f"/arena/api/battles/{battle_id}/vote",
                json={"winner": "A", "strength": "clear", "rationale": "bench"},
                headers={"X-CSRFToken": self.token},
            )
        except httpx.HTTPError:
            return NO_ANSWER
        return res.status_code


async def capacity_phase(voters: list[Voter], per_voter: int) -> tuple[float, list[float], Counter]:
    latencies, statuses = [], Counter()

    async def run(voter: Voter) -> None:
        for _ in range(per_voter):
            t0 = time.perf_counter()
            statuses[await voter.vote()] += 1
            latencies.append(time.perf_counter() - t0)

    t0 = time.perf_counter()
    await asyncio.gather(*(run(v) for v in voters))
    return time.perf_counter() - t0, latencies, statuses


async def latency_phase(voters: list[Voter], rate: float, duration_s: float) -> tuple[float, list[float], Counter]:
    """Vote i is due at start + i / rate, sent by voter i mod n; latency counts from the due time."""
    latencies, statuses = [], Counter()
    loop = asyncio.get_running_loop()
    start = loop.time() + 0.1

    async def one(voter: Voter, due: float) -> None:
        statuses[await voter.vote()] += 1
        latencies.append(loop.time() - due)

    tasks = []
    for i in range(int(rate * duration_s)):
        due = start + i / rate
        await asyncio.sleep(max(0.0, due - loop.time()))
        tasks.append(asyncio.create_task(one(voters[i % len(voters)], due)))
    await asyncio.gather(*tasks)
    return loop.time() - start, latencies, statuses


async def drive(base_url: str, clients: list[tuple[int, str]], owned: dict[int, list[str]], per_client: int) -> dict:
    voters = [Voter(base_url, key, owned[uid]) for uid, key in clients]
    gate = asyncio.Semaphore(16)  # page loads and warm-up are not measured: keep them gentle

    async def gently(coro):
        async with gate:
            return await coro

    try:
        await asyncio.gather(*(gently(v.open()) for v in voters))
        # Warm-up: one vote per voter opens each keep-alive connection and fills the workers' caches.
        warm_up = Counter(await asyncio.gather(*(gently(v.vote()) for v in voters)))
        capacity = await capacity_phase(voters, per_client)
        latency = await latency_phase(voters, TARGET_RATE, LATENCY_PHASE_S)
    finally:
        await asyncio.gather(*(v.client.aclose() for v in voters))
    return {"warm_up": warm_up, "capacity": capacity, "latency": latency}


@pytest.fixture
def quiet_httpx():
    """httpx logs every request at INFO (the settings' root level): 10,000 log records would
    cost the load generator CPU that the server needs."""
    logger = logging.getLogger("httpx")
    level = logger.level
    logger.setLevel(logging.WARNING)
    yield
    logger.setLevel(level)


@pytest.mark.parametrize("n_clients", [64, 200])
def test_vote_ingestion(n_clients, quiet_httpx):
    # given: signed-in users with enough READY battles for warm-up, both phases and a margin
    per_client = CAPACITY_VOTES // n_clients
    per_user = 1 + per_client + -(-TARGET_RATE * LATENCY_PHASE_S // n_clients) + 1
    clients = signed_in_clients(n_clients)
    owned = ready_battles([uid for uid, _ in clients], per_user)
    env = {"REDIS_URL": settings.REDIS_URL, "SECRET_KEY": settings.SECRET_KEY, "ARENA_VOTES_PER_HOUR": "1000000"}

    # when: every voter votes on its own battles
    with asgi_server(LOGS / f"bench-votes-{n_clients}.log", workers=SERVER_WORKERS, **env) as url:
        results = asyncio.run(drive(url, clients, owned, per_client))

    # then: every vote was acknowledged, and every acknowledged vote is a stored row
    warm_up = results.pop("warm_up")
    acknowledged, refused = warm_up[201], warm_up.total() - warm_up[201]
    for phase, (elapsed, latencies, statuses) in results.items():
        acknowledged += statuses[201]
        refused += statuses.total() - statuses[201]
        report(
            f"votes.{phase}",
            clients=n_clients,
            server_workers=SERVER_WORKERS,
            votes=len(latencies),
            seconds=round(elapsed, 2),
            votes_per_s=round(len(latencies) / elapsed, 1),
            **percentiles_ms(latencies),
            answers=dict(sorted(statuses.items())),
        )
    stored = Vote.objects.count()
    voted = Battle.objects.filter(status=BattleStatus.VOTED).count()
    report(
        "votes.integrity",
        clients=n_clients,
        acknowledged_201=acknowledged,
        not_201=refused,
        rows_stored=stored,
        battles_voted=voted,
        lost=acknowledged - stored,
    )
    assert stored == voted == acknowledged, "an acknowledged vote is missing, or an unacknowledged one was stored"
    assert refused == 0, f"{refused} votes were refused; see {LOGS}/bench-votes-{n_clients}.log"
