"""Timing of the stats selector on a big campaign (100k items, 300k judgments, 300 annotators,
rationales on every judgment). Prints figures; asserts no time. Building the data takes a few
minutes:

    .venv/bin/python -m pytest tests/bench/test_campaign_stats_bench.py -s -p no:cacheprovider
"""
import time

import pytest

from annotate.stats import campaign_figures_compute, campaign_stats
from tests.annotate.bulk import big_campaign_make

pytestmark = [pytest.mark.bench, pytest.mark.django_db]
N_ITEMS, PER_ITEM, N_ANNOTATORS = 100_000, 3, 300


def test_stats_timing_on_a_big_campaign():
    started = time.perf_counter()
    campaign = big_campaign_make(n_items=N_ITEMS, per_item=PER_ITEM, n_annotators=N_ANNOTATORS)
    print(f"\nbuilt {N_ITEMS * PER_ITEM} judgments on {N_ITEMS} items in {time.perf_counter() - started:.0f} s")

    for run in range(2):
        t0 = time.perf_counter()
        result = campaign_figures_compute(campaign)
        print(f"compute (no cache), run {run + 1}: {time.perf_counter() - t0:.2f} s; alpha {result['agreement']['choice']['alpha']}")
    t0 = time.perf_counter()
    campaign_stats(campaign=campaign)
    t1 = time.perf_counter()
    campaign_stats(campaign=campaign)
    print(f"first dashboard read {t1 - t0:.2f} s, cached read {time.perf_counter() - t1:.3f} s")
    assert result["judgments"] == N_ITEMS * PER_ITEM
