"""Leaderboard end to end on PostgreSQL: import_battles of 1M rows (time, memory against file
size), then a refit over the 1M stored votes (aggregation + fit + 100 bootstrap rounds + snapshot).

Run: DATABASE_URL=postgres://postgres@127.0.0.1:5432/prefarena_bench make bench PYTEST_ARGS="-k leaderboard"
"""
import json
import time

import numpy as np
import pytest

from arena.leaderboards import leaderboard_fit, leaderboard_get_or_create
from arena.models import Vote
from tests.bench.cpu import manage_py_measured
from tests.bench.figures import report

pytestmark = [pytest.mark.bench, pytest.mark.django_db(transaction=True)]
N_MODELS = 50
WINNERS = np.array(["model_a", "model_b", "tie", "tie (bothbad)"])


def write_battles(path, n, seed=0):
    """A Chatbot-Arena-like dump: 50 models with spread strengths, style fields, categories."""
    rng = np.random.default_rng(seed)
    strength = rng.normal(0, 1, N_MODELS)
    a = rng.integers(0, N_MODELS, n)
    b = (a + rng.integers(1, N_MODELS, n)) % N_MODELS
    p = 1 / (1 + np.exp(strength[b] - strength[a]))
    u = rng.random(n)
    w = np.where(u < 0.1, 2, np.where(u < 0.13, 3, np.where(rng.random(n) < p, 0, 1)))
    lens = rng.integers(20, 3000, (n, 2))
    cats = np.array(["chat", "coding", "math", "creative"])[rng.integers(0, 4, n)]
    with open(path, "w") as f:
        for i in range(n):
            f.write(json.dumps({
                "model_a": f"model-{a[i]:02d}", "model_b": f"model-{b[i]:02d}", "winner": WINNERS[w[i]], "category": cats[i],
                "len_a": int(lens[i, 0]), "len_b": int(lens[i, 1]), "header_count_a": int(i % 3), "header_count_b": int(i % 2),
                "list_count_a": 0, "list_count_b": int(i % 4), "bold_count_a": int(i % 5), "bold_count_b": 0,
            }) + "\n")  # fmt: skip


def run_import(path) -> tuple[float, float]:
    """(seconds, peak RSS MB) of `manage.py import_battles` in its own process."""
    return manage_py_measured("import_battles", str(path))


def test_import_and_refit_one_million(tmp_path):
    small, big = tmp_path / "250k.jsonl", tmp_path / "1m.jsonl"
    write_battles(small, 250_000, seed=1)
    write_battles(big, 1_000_000, seed=2)
    t_small, rss_small = run_import(small)
    t_big, rss_big = run_import(big)
    assert Vote.objects.count() == 1_250_000
    report("import_battles_250k", seconds=round(t_small, 1), peak_rss_mb=round(rss_small), file_mb=round(small.stat().st_size / 2**20))
    report("import_battles_1m", seconds=round(t_big, 1), peak_rss_mb=round(rss_big), file_mb=round(big.stat().st_size / 2**20),
           rows_per_s=round(1_000_000 / t_big), target="<60 s, memory flat in file size")  # fmt: skip

    board = leaderboard_get_or_create()
    started = time.monotonic()
    first = leaderboard_fit(leaderboard_id=board.pk)
    t_first = time.monotonic() - started
    report("refit_first_1.25m", seconds=round(t_first, 2), note="includes online Elo over every vote, once")
    times = []
    for _ in range(3):
        started = time.monotonic()
        snap = leaderboard_fit(leaderboard_id=board.pk)
        times.append(time.monotonic() - started)
    assert snap.n_votes == first.n_votes == 1_250_000
    report("refit_1.25m_votes", seconds_median=round(float(np.median(times)), 2), seconds_each=[round(t, 2) for t in times],
           stored_fit_seconds=snap.fit_seconds, rounds=snap.params["rounds"], target="<3 s")  # fmt: skip
    style_board = leaderboard_get_or_create(style_control=True)
    started = time.monotonic()
    style = leaderboard_fit(leaderboard_id=style_board.pk)
    report("refit_style_control_1.25m", seconds=round(time.monotonic() - started, 1), n_style_votes=style.result["n_style_votes"])
