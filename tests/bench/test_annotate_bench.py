"""Next item + submit over HTTP: uvicorn (2 workers) on PostgreSQL + Redis, 50 annotators working
on a 100k-item campaign (overlap 3, 1% gold mixed in at 5%).

Each annotator loops: GET the current item (a new lease), reads for a think time, POSTs the
answer; latency counts from the request to the answer. Three phases:
- human: 5–15 s per item (10 s mean; people comparing two ~1 KB answers take longer), i.e.
  50 annotators working as fast as people can — the issue's target, p99 < 50 ms, applies here;
- fast: 0.5–1.5 s per item, ten times faster than any person: the same server load as ~500
  annotators at the human pace;
- closed: no think time at all: the capacity (its latencies are queueing, by Little's law).

Afterwards the lease rules are checked on the rows: no slot handed out twice.

    .venv/bin/python -m pytest tests/bench/test_annotate_bench.py -s -p no:cacheprovider
"""
import asyncio
import logging
import random
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
from django.conf import settings
from django.db.models import Count, F, Q

from annotate.models import Annotation, Annotator, Assignment, AssignmentState, Item
from annotate.services import annotator_join
from tests.annotate.factories import campaign_make
from tests.bench.clients import WEB_DATABASE_POOL, signed_in_clients
from tests.bench.cpu import CpuMeter, server_processes
from tests.bench.figures import percentiles_ms, report
from tests.support.server import asgi_server

pytestmark = [pytest.mark.bench, pytest.mark.django_db(transaction=True)]
LOGS = Path(__file__).resolve().parents[2] / "test-output"

N_ITEMS = 100_000
N_GOLD = 1_000
N_ANNOTATORS = 50
OVERLAP = 3
PHASES = (  # name, seconds, think time range (uniform) or None
    ("human", 60, (5.0, 15.0)),  # ~5 items/s for 50 annotators
    ("fast", 20, (0.5, 1.5)),  # ~50 items/s
    ("closed", 10, None),
)
TARGET_P99_MS = 50
ANSWER = {"verdict": "CANDIDATE", "choice": 0, "strength": 2, "rationale": "The first one is more precise."}


class Annotator_:
    """One browser: session cookie, CSRF token, keep-alive connection."""

    def __init__(self, base_url: str, slug: str, session_key: str):
        self.client = httpx.AsyncClient(base_url=base_url, cookies={"sessionid": session_key}, timeout=60)
        self.slug, self.token = slug, ""

    async def open(self) -> None:
        page = await self.client.get(f"/annotate/{self.slug}/")
        assert page.status_code == 200, page.status_code
        self.token = self.client.cookies["csrftoken"]

    async def next_item(self) -> tuple[int, int | None]:
        res = await self.client.get(f"/annotate/{self.slug}/api/current")
        return res.status_code, res.json()["assignment"]["id"] if res.status_code == 200 else None

    async def submit(self, assignment_id: int) -> int:
        res = await self.client.post(
            f"/annotate/{self.slug}/api/assignments/{assignment_id}/submit",
            json={**ANSWER, "time_spent_ms": 900},
            headers={"X-CSRFToken": self.token},
        )
        return res.status_code


async def work(annotators: list[Annotator_], duration_s: float, think_s: tuple[float, float] | None):
    timings = {"next": [], "submit": []}
    statuses = Counter()
    deadline = time.perf_counter() + duration_s

    async def loop(a: Annotator_, rng: random.Random) -> None:
        if think_s:
            await asyncio.sleep(rng.uniform(0, think_s[1]))  # don't all start in the same millisecond
        while time.perf_counter() < deadline:
            t0 = time.perf_counter()
            status, assignment_id = await a.next_item()
            timings["next"].append(time.perf_counter() - t0)
            statuses[f"next:{status}"] += 1
            if assignment_id is None:
                return
            if think_s:
                await asyncio.sleep(rng.uniform(*think_s))
            t0 = time.perf_counter()
            statuses[f"submit:{await a.submit(assignment_id)}"] += 1
            timings["submit"].append(time.perf_counter() - t0)

    t0 = time.perf_counter()
    await asyncio.gather(*(loop(a, random.Random(i)) for i, a in enumerate(annotators)))
    return time.perf_counter() - t0, timings, statuses


async def drive(base_url: str, slug: str, sessions: list[str]) -> dict:
    annotators = [Annotator_(base_url, slug, key) for key in sessions]
    servers = server_processes(httpx.URL(base_url).port)
    results = {}
    try:
        await asyncio.gather(*(a.open() for a in annotators))
        for name, duration, think in PHASES:
            meter = CpuMeter(server=servers)
            elapsed, timings, statuses = await work(annotators, duration, think)
            results[name] = (elapsed, timings, statuses, meter.split(len(timings["next"]) + len(timings["submit"]), elapsed))
    finally:
        await asyncio.gather(*(a.client.aclose() for a in annotators))
    return results


@pytest.fixture
def quiet_httpx():
    logger = logging.getLogger("httpx")
    level = logger.level
    logger.setLevel(logging.WARNING)
    yield
    logger.setLevel(level)


def test_next_item_and_submit(quiet_httpx):
    # given: a 100k-item campaign and 50 signed-in annotators who have joined it
    t0 = time.perf_counter()
    campaign = campaign_make(slug="bench", n_items=N_ITEMS, n_gold=N_GOLD, overlap=OVERLAP, gold_rate=0.05)
    clients = signed_in_clients(N_ANNOTATORS)
    from django.contrib.auth import get_user_model

    users = get_user_model().objects.in_bulk([uid for uid, _ in clients])
    for uid, _ in clients:
        annotator_join(campaign=campaign, user=users[uid])
    print(f"\nseeded {N_ITEMS + N_GOLD} items in {time.perf_counter() - t0:.1f} s", flush=True)
    env = {"REDIS_URL": settings.REDIS_URL, "SECRET_KEY": settings.SECRET_KEY, "ANNOTATE_SUBMITS_PER_HOUR": "1000000"}

    # when: every annotator works through items
    with asgi_server(LOGS / "bench-annotate.log", workers=2, **env, **WEB_DATABASE_POOL) as url:
        results = asyncio.run(drive(url, campaign.slug, [key for _, key in clients]))

    # then: figures, and the rows keep the lease rules
    for phase, (elapsed, timings, statuses, cpu) in results.items():
        report(
            f"annotate.{phase}",
            annotators=N_ANNOTATORS,
            items=N_ITEMS,
            think_s="-".join(map(str, dict((p[0], p[2]) for p in PHASES)[phase] or (0,))),
            items_per_s=round(statuses["submit:201"] / elapsed, 1),
            next=percentiles_ms(timings["next"]),
            submit=percentiles_ms(timings["submit"]),
            target=f"p99<{TARGET_P99_MS}ms" if phase == "human" else "stress" if phase == "fast" else "capacity",
            statuses=dict(statuses),
            **cpu,
        )
        assert set(statuses) <= {"next:200", "submit:201"}, statuses
    # Gold items are checks every annotator may see once (annotate/leasing.py slot_open): the
    # total cap is for work items.
    per_item = Assignment.objects.filter(
        item__is_gold=False, state__in=[AssignmentState.LEASED, AssignmentState.SUBMITTED]
    ).values("item_id")
    worst = per_item.annotate(n=Count("id")).order_by("-n").first()
    twice = Assignment.objects.values("item_id", "annotator_id").annotate(n=Count("id")).filter(n__gt=1).count()
    leased_now = Assignment.objects.filter(state=AssignmentState.LEASED).count()
    assert twice == 0 and worst["n"] <= OVERLAP
    drift = (
        Item.objects.filter(campaign=campaign)
        .annotate(real=Count("assignments", filter=Q(assignments__state=AssignmentState.SUBMITTED)))
        .exclude(n_submitted=F("real"))
    )
    assert not drift.exists()
    assert Annotation.objects.count() == sum(a.n_submitted for a in Annotator.objects.filter(campaign=campaign))
    report("annotate.rules", slot_twice=twice, max_per_item=worst["n"], leased_at_end=leased_now, overlap=OVERLAP)
