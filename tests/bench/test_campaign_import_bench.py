"""Campaign import on PostgreSQL: `manage.py import_campaign` of 25k and 100k items (two
candidates of ~1 KB each, one in five items with two judgments), time and peak RSS against
file size.

Run: DATABASE_URL=postgres://postgres@127.0.0.1:5432/prefarena_bench make bench PYTEST_ARGS="-k campaign_import"
"""
import json

import numpy as np
import pytest

from annotate.models import Annotation, Item
from tests.bench.cpu import manage_py_measured
from tests.bench.figures import report

pytestmark = [pytest.mark.bench, pytest.mark.django_db(transaction=True)]
WORDS = np.array("the a model answer because which river light blue water time people when over after".split())


def write_items(path, n: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    with open(path, "w", encoding="utf-8") as f:
        for i in range(n):
            words = WORDS[rng.integers(0, len(WORDS), 360)]
            row = {
                "id": f"item-{i}",
                "prompt": " ".join(words[:20]) + "?",
                "candidates": [
                    {"text": " ".join(words[20:190]), "model": "model-a"},  # ~1 KB each
                    {"text": " ".join(words[190:360]), "model": "model-b"},
                ],
            }
            if i % 5 == 0:
                row["judgments"] = [{"annotator": f"w{i % 37}", "choice": int(i % 2)}, {"annotator": f"w{(i + 1) % 37}", "choice": "tie", "rationale": "same"}]
            f.write(json.dumps(row) + "\n")


def run_import(path, slug) -> tuple[float, float]:
    """(seconds, peak RSS MB) of `manage.py import_campaign` in its own process."""
    return manage_py_measured("import_campaign", str(path), "--slug", slug, "--progress-every", "25000")


def test_import_100k_items(tmp_path):
    small, big = tmp_path / "25k.jsonl", tmp_path / "100k.jsonl"
    write_items(small, 25_000, seed=1)
    write_items(big, 100_000, seed=2)
    t_small, rss_small = run_import(small, "bench-25k")
    t_big, rss_big = run_import(big, "bench-100k")
    assert Item.objects.filter(campaign__slug="bench-100k").count() == 100_000
    assert Annotation.objects.filter(assignment__item__campaign__slug="bench-100k").count() == 40_000
    for name, seconds, rss, path, n in (("25k", t_small, rss_small, small, 25_000), ("100k", t_big, rss_big, big, 100_000)):
        report(
            f"import_campaign_{name}", seconds=round(seconds, 1), peak_rss_mb=round(rss), file_mb=round(path.stat().st_size / 2**20),
            items_per_s=round(n / seconds), target="<30 s for 100k, memory flat in file size",
        )  # fmt: skip
