"""Streaming overhead: tokens/s a WebSocket client receives through the production path (Celery
worker -> Redis channel layer -> consumer in uvicorn -> `websockets` client) against tokens/s of
the same backend alone, same model, prompt and seed; and how long the first token takes to
reach the client after the backend produced it.

Both rates are "first chunk to last chunk": model loading and prefill are left out of both, so
the ratio is what streaming costs while a reply is being written. The text is identical in both
runs (same seed, one CPU thread), which the test checks, so chars/s and tokens/s give one ratio.

First-token delay. The worker stores `started_at` (wall clock, when it claimed the side) and
`first_token_ms` (monotonic, from just before `generate()` to the first chunk). Their sum is a
wall-clock time on this machine's clock, as is the client's receive time (`time.time()`), so the
two can be subtracted. The sum is slightly EARLY: `started_at` is taken a few ms before the
monotonic start (claim commit, history query, spec), so the delay printed is an upper bound by
that much. Monotonic clocks are not compared across processes: only the stored values are used.

Everything shares the machine's cores: worker, uvicorn, Redis, PostgreSQL and the client.

    .venv/bin/python -m pytest tests/bench/test_streaming_overhead.py -s -p no:cacheprovider
"""
import asyncio
import json
import statistics
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from django.conf import settings
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from arena.contenders import contender_register, contender_spec
from arena.models import Battle, BattleStatus, Contender, Response, ResponseStatus
from tests.bench.clients import WEB_DATABASE_POOL, signed_in_clients
from tests.bench.cpu import CpuMeter, process_tree, server_processes
from tests.bench.figures import report
from tests.conftest import wait_for
from tests.support.celery import celery_worker, purge_queues
from tests.support.server import asgi_server

pytestmark = [pytest.mark.bench, pytest.mark.celery, pytest.mark.django_db(transaction=True)]
LOGS = Path(__file__).resolve().parents[2] / "test-output"

PROMPT = "Write a long story about the sea."
MAX_NEW_TOKENS = 800  # prompt + reply stay inside the tiny model's 1,024 positions
TEMPERATURE = 0.8
SEEDS_TRIED = range(1, 31)
N_BATTLES = 4  # x 2 sides = 8 streamed replies, after one warm-up battle
TARGET_RATIO = 0.90
TARGET_FIRST_TOKEN_MS = 150


def seeded_spec(model: str, seed: int):
    generation = {"max_new_tokens": MAX_NEW_TOKENS, "temperature": TEMPERATURE, "seed": seed}
    return contender_spec(Contender(backend="TRANSFORMERS", model=model, generation=generation))


def long_reply_seed(model: str) -> int:
    """A seed with which the model writes all MAX_NEW_TOKENS tokens. The tiny models are trained
    for a time budget, so which seeds give long replies changes from one session to the next."""
    from worker.backends import get_backend

    best = (-1, None)
    for seed in SEEDS_TRIED:
        result = get_backend(seeded_spec(model, seed)).generate([{"role": "user", "content": PROMPT}], on_text=lambda _: None)
        if result.n_tokens >= MAX_NEW_TOKENS:
            return seed
        best = max(best, (result.n_tokens, seed))
    return best[1]


def backend_alone(spec) -> dict:
    """One generation with chunk times, in this process, with nothing else running."""
    from worker.backends import get_backend

    times = []
    result = get_backend(spec).generate([{"role": "user", "content": PROMPT}], on_text=lambda _: times.append(time.perf_counter()))
    span = times[-1] - times[0]
    return {"text": result.text, "n_tokens": result.n_tokens, "chunks": len(times), "span_s": span}


async def frames_until_done(ws, battle_id: str) -> dict[str, list[tuple[float, dict]]]:
    """Frames of one battle, by side, with their wall-clock receive times, until both sides are done."""
    frames: dict[str, list[tuple[float, dict]]] = {"A": [], "B": []}
    done = 0
    while done < 2:
        try:
            raw = await asyncio.wait_for(ws.recv(), timeout=120)
        except ConnectionClosed as exc:
            raise AssertionError(
                f"the server closed the socket ({exc}); see {LOGS}/bench-stream-server.log. With redis-py 8 "
                "an idle consumer dies after ~5 s (socket_timeout 5 s vs channels_redis BZPOPMIN 5 s)"
            ) from exc
        received_at = time.time()
        event = json.loads(raw)
        if event.get("battle") != battle_id:
            continue
        assert event["type"] != "battle.side_failed", event
        frames[event["side"]].append((received_at, event))
        done += event["type"] == "battle.side_done"
    return frames


async def stream_battles(base_url: str, session_key: str, n_battles: int, between=None) -> dict[tuple[str, str], list]:
    """Start n_battles one after another, each once the previous one is done, and watch them on
    one socket: (battle id, side) -> frames. `between()` runs before each battle, while the
    pipeline is idle."""
    ws_url = base_url.replace("http://", "ws://") + "/ws/arena/"
    cookie = {"Cookie": f"sessionid={session_key}"}
    result = {}
    async with (
        httpx.AsyncClient(base_url=base_url, cookies={"sessionid": session_key}, timeout=30) as client,
        connect(ws_url, origin=base_url, additional_headers=cookie, proxy=None) as ws,
    ):
        token = await csrf_token(client)
        for _ in range(n_battles):
            if between is not None:
                between()
            battle_id = await battle_create(client, token)
            for side, frames in (await frames_until_done(ws, battle_id)).items():
                result[(battle_id, side)] = frames
    return result


async def csrf_token(client: httpx.AsyncClient) -> str:
    page = await client.get("/arena/")
    assert page.status_code == 200, page.status_code
    return client.cookies["csrftoken"]


async def battle_create(client: httpx.AsyncClient, token: str) -> str:
    res = await client.post("/arena/api/battles", json={"prompt": PROMPT}, headers={"X-CSRFToken": token})
    assert res.status_code == 201, res.text
    return res.json()["battle"]["id"]


async def warm_up(base_url: str, session_key: str) -> str:
    """One battle, not watched: the worker loads the model. No socket is open meanwhile, because
    a consumer left idle for ~5 s may die (see frames_until_done) and this is not what is measured."""
    async with httpx.AsyncClient(base_url=base_url, cookies={"sessionid": session_key}, timeout=30) as client:
        return await battle_create(client, await csrf_token(client))


def side_figures(frames: list[tuple[float, dict]], row: Response) -> dict:
    tokens = [(t, e["text"]) for t, e in frames if e["type"] == "battle.token"]
    text = "".join(chunk for _, chunk in tokens)
    span = tokens[-1][0] - tokens[0][0]
    produced_at = (row.started_at + timedelta(milliseconds=row.first_token_ms)).timestamp()
    worker_span_s = (row.latency_ms - row.first_token_ms) / 1000
    return {
        "text": text,
        "frames": len(tokens),
        "span_s": span,
        "tokens_per_s": row.n_tokens / span,
        "worker_tokens_per_s": row.n_tokens / worker_span_s,
        "first_token_delay_ms": (tokens[0][0] - produced_at) * 1000,
        "done_after_last_token_ms": (frames[-1][0] - tokens[-1][0]) * 1000,
    }


def test_streaming_overhead(tiny_models):
    import torch

    # given: two contenders on one tiny model with a seed that writes a long reply. Seeds are not
    # a contender setting (arena.contenders.GENERATION_PARAMS), so the row is written directly.
    model = str(tiny_models["tiny-alpha"])
    contenders = [
        contender_register(slug=f"bench-stream-{s}", display_name=f"Bench {s}", backend="TRANSFORMERS", model=model)
        for s in ("a", "b")
    ]
    seed = long_reply_seed(model)
    spec = seeded_spec(model, seed)
    Contender.objects.filter(pk__in=[c.pk for c in contenders]).update(generation=dict(spec.params))
    assert contender_spec(Contender.objects.get(pk=contenders[0].pk)) == spec

    # the backend alone, in this process, while nothing else runs: before the pipeline, before each
    # battle (the pipeline idle meanwhile) and after it. Interleaved, both rates see the same
    # drift of the machine's speed, which other work on the 2 cores moves by 10-40% within a minute.
    alone = [backend_alone(spec)]

    # when: battles run through the worker and stream to a WebSocket client of the real server
    ((_, session_key),) = signed_in_clients(1)
    queues = [c.queue for c in contenders]
    purge_queues(*queues)
    env = {"REDIS_URL": settings.REDIS_URL, "SECRET_KEY": settings.SECRET_KEY} | WEB_DATABASE_POOL
    with (
        asgi_server(LOGS / "bench-stream-server.log", **env) as url,
        celery_worker(queues, LOGS / "bench-stream-celery.log") as worker,
    ):
        warm_up_id = asyncio.run(warm_up(url, session_key))
        wait_for(lambda: Battle.objects.filter(pk=warm_up_id, status=BattleStatus.READY).exists(), timeout=120)
        meter = CpuMeter(server=server_processes(httpx.URL(url).port), worker=process_tree(worker.pid))
        t0 = time.perf_counter()
        between = Counter()

        def alone_between() -> None:  # its time and CPU are not the pipeline's
            started = {"wall": time.perf_counter(), **meter.sample()}
            alone.append(backend_alone(spec))
            between.update({"wall": time.perf_counter(), **meter.sample()})
            between.subtract(started)

        frames = asyncio.run(stream_battles(url, session_key, N_BATTLES, between=alone_between))
        wall_s = time.perf_counter() - t0 - between.pop("wall")
        cpu = meter.split(N_BATTLES * 2 * alone[0]["n_tokens"], wall_s, exclude=between)
    alone.append(backend_alone(spec))
    alone_rate = statistics.median(a["n_tokens"] / a["span_s"] for a in alone)
    report(
        "stream.backend_alone",
        seed=seed,
        n_tokens=alone[0]["n_tokens"],
        chars=len(alone[0]["text"]),
        chunks=alone[0]["chunks"],
        tokens_per_s_median=round(alone_rate, 1),
        runs_interleaved=[round(a["n_tokens"] / a["span_s"], 1) for a in alone],
        torch_threads=torch.get_num_threads(),
    )

    # then: every side streamed exactly the backend's text; print rates and delays.
    # worker_tokens_per_s is the backend's own rate inside the worker (stored latency_ms minus
    # first_token_ms): near the client's rate, streaming slowed generation, not delivery.
    assert all(a["text"] == alone[0]["text"] for a in alone)
    sides = []
    for (battle_id, side), side_frames in sorted(frames.items()):
        row = Response.objects.get(turn__battle_id=battle_id, side="LEFT" if side == "A" else "RIGHT")
        assert row.status == ResponseStatus.DONE
        figures = side_figures(side_frames, row)
        assert figures["text"] == row.text == alone[0]["text"], "the client did not receive the backend's text"
        sides.append(figures)
    assert len(sides) == 2 * N_BATTLES
    pipeline_rate = statistics.median(s["tokens_per_s"] for s in sides)
    delays = [s["first_token_delay_ms"] for s in sides]
    for s in sides:
        report(
            "stream.side",
            frames=s["frames"],
            span_s=round(s["span_s"], 3),
            client_tokens_per_s=round(s["tokens_per_s"], 1),
            worker_tokens_per_s=round(s["worker_tokens_per_s"], 1),
            first_token_delay_ms=round(s["first_token_delay_ms"], 1),
            done_after_last_token_ms=round(s["done_after_last_token_ms"], 1),
        )
    report(
        "stream.summary",
        replies=len(sides),
        backend_alone_tokens_per_s=round(alone_rate, 1),
        pipeline_tokens_per_s_median=round(pipeline_rate, 1),
        ratio=round(pipeline_rate / alone_rate, 3),
        ratio_target=TARGET_RATIO,
        first_token_delay_ms_median=round(statistics.median(delays), 1),
        first_token_delay_ms_max=round(max(delays), 1),
        first_token_target_ms=TARGET_FIRST_TOKEN_MS,
        frames_per_reply_median=statistics.median(s["frames"] for s in sides),
        **cpu,
    )
