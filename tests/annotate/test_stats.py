"""The campaign stats selector on real multi-annotator data and on planted cases: figures read
from the database must equal the agreement module's (and the `krippendorff` package's) on the
same judgments; gold accuracy and position bias follow the assignments' shown order."""
import json
from datetime import timedelta
from pathlib import Path

import krippendorff
import numpy as np
import pytest
from django.utils import timezone

from annotate.agreement import fleiss_kappa, judgments_from_matrix, krippendorff_alpha, label_counts, leave_one_out_agreement
from annotate.leasing import assignment_next
from annotate.models import Annotator, AnnotatorStatus
from annotate.services import annotation_submit
from annotate.stats import campaign_stats
from tests.annotate.bulk import J, judgments_bulk
from tests.annotate.factories import annotators_make, campaign_make

pytestmark = pytest.mark.django_db

PANDALM = Path(__file__).resolve().parents[1] / "data" / "pandalm" / "testset-v1.json"
N_PANDALM = 300
EXACT = 1e-9


def pandalm_matrix() -> np.ndarray:
    """(3, N_PANDALM) labels: 0 tie, 1 response1 better, 2 response2 better."""
    rows = json.loads(PANDALM.read_text())[:N_PANDALM]
    return np.array([[int(row[f"annotator{k}"]) for row in rows] for k in (1, 2, 3)])


def pandalm_campaign():
    """PandaLM's first items as a campaign: response1 = candidate 0, response2 = candidate 1."""
    campaign = campaign_make(slug="pandalm", n_items=N_PANDALM, overlap=3)
    matrix = pandalm_matrix()
    as_judgment = {0: {"verdict": "TIE"}, 1: {"choice": 0}, 2: {"choice": 1}}
    judgments = [
        J(position=i + 1, annotator=f"annotator{k + 1}", order=(0, 1) if (i + k) % 2 else (1, 0), **as_judgment[matrix[k, i]])
        for k in range(3)
        for i in range(N_PANDALM)
    ]
    judgments_bulk(campaign, judgments)
    return campaign, matrix


def test_alpha_kappa_and_agreement_equal_the_agreement_module_on_pandalm():
    # given PandaLM's three human labels on 300 items, stored as judgments
    campaign, matrix = pandalm_campaign()
    # when the dashboard's figures are computed from the database
    stats = campaign_stats(campaign=campaign, use_cache=False)
    # then alpha and kappa equal the module's (and the krippendorff package's) on the same data
    items, annotators, labels = judgments_from_matrix(matrix)
    counts = label_counts(items, labels)
    choice = stats["agreement"]["choice"]
    assert choice["alpha"] == pytest.approx(krippendorff_alpha(counts), abs=1e-3)
    assert choice["kappa"] == pytest.approx(fleiss_kappa(counts), abs=1e-3)
    assert choice["alpha"] == pytest.approx(krippendorff.alpha(reliability_data=matrix, level_of_measurement="nominal"), abs=1e-3)
    assert choice["units"] == N_PANDALM and choice["values"] == 3 * N_PANDALM
    # the signed preference is ordinal: response1 better < tie < response2 better
    ordered = np.choose(matrix, [1, 0, 2])
    expected = krippendorff.alpha(reliability_data=ordered, level_of_measurement="ordinal")
    assert stats["agreement"]["preference"]["alpha"] == pytest.approx(expected, abs=1e-3)
    # per annotator: leave-one-out agreement as the module computes it
    loo = leave_one_out_agreement(items, annotators, labels)
    rows = {r["pseudonym"]: r for r in stats["annotators"]["rows"]}
    for k in range(3):
        assert rows[f"annotator{k + 1}"]["agreement"] == pytest.approx(loo.rate[k], abs=1e-3)
        assert rows[f"annotator{k + 1}"]["judgments"] == N_PANDALM
        assert 0.5 < rows[f"annotator{k + 1}"]["competence"] <= 1.0
    # consensus: three votes give 1/3, 2/3 or 1; the histogram counts every item once
    assert sum(stats["consensus"]["histogram"]) == N_PANDALM
    assert stats["consensus"]["unanimous"] == int(np.sum((matrix == matrix[0]).all(axis=0)))
    lowest = stats["consensus"]["lowest"][0]
    least = min(np.bincount(matrix[:, i], minlength=3).max() for i in range(N_PANDALM)) / 3
    assert lowest["consensus"] == pytest.approx(least, abs=1e-3) and lowest["judgments"] == 3
    # progress: every item has its three judgments
    progress = stats["progress"]
    assert (progress["items_complete"], progress["judgments"], progress["judgments_wanted"]) == (300, 900, 900)
    json.dumps(stats)  # the whole result crosses JSON (cache, --json)


def test_gold_accuracy_and_position_bias_follow_the_shown_order():
    # given two annotators who always click the response shown first, on real leases
    campaign = campaign_make(n_items=6, n_gold=4, overlap=2, gold_rate=0.5)
    people = annotators_make(campaign, 2, prefix="u")
    rng = np.random.default_rng(7)
    expected_gold = {}
    for annotator in people:
        right = total = 0
        for _ in range(10):
            lease = assignment_next(annotator_id=annotator.pk, rng=rng)
            annotation_submit(annotator_id=annotator.pk, assignment_id=lease.pk, answer={"verdict": "CANDIDATE", "choice": 0})
            if lease.item.is_gold:
                total += 1
                right += lease.order[0] == 0  # gold answer is candidate 0
        expected_gold[annotator.pseudonym] = (right / total if total else None, total)
    # when
    stats = campaign_stats(campaign=campaign, use_cache=False)
    # then each chose the first-shown response every time, whichever candidate it was
    for row in stats["annotators"]["rows"]:
        assert row["first_share"] == 1.0 and row["first_n"] == 10 and row["judgments"] == 10
        rate, n = expected_gold[row["pseudonym"]]
        assert row["gold_n"] == n
        assert row["gold_accuracy"] == (None if rate is None else pytest.approx(rate, abs=1e-3))
    assert stats["progress"]["gold_judgments"] == sum(n for _, n in expected_gold.values())


def test_position_bias_p_value_and_a_balanced_annotator():
    campaign = campaign_make(n_items=40, overlap=2)
    judgments = []
    for i in range(40):
        order = (0, 1) if i % 2 else (1, 0)
        judgments.append(J(position=i + 1, annotator="lefty", choice=order[0], order=order))
        judgments.append(J(position=i + 1, annotator="fair", choice=0, order=order))  # always candidate 0
    judgments_bulk(campaign, judgments)
    rows = {r["pseudonym"]: r for r in campaign_stats(campaign=campaign, use_cache=False)["annotators"]["rows"]}
    assert rows["lefty"]["first_share"] == 1.0 and rows["lefty"]["first_p"] < 1e-6
    assert rows["fair"]["first_share"] == 0.5 and rows["fair"]["first_p"] == 1.0


def test_progress_throughput_medians_and_status():
    # given 5 items wanted twice: two complete, one half done, two untouched
    campaign = campaign_make(n_items=5, overlap=2, gold_min_accuracy=0.8)
    hours_ago = lambda h: timezone.now() - timedelta(hours=h)  # noqa: E731
    judgments_bulk(campaign, [
        J(1, "a", choice=0, time_ms=4000, rationale="first is right and well argued", created_at=hours_ago(5)),
        J(1, "b", choice=0, time_ms=8000, created_at=hours_ago(5)),
        J(2, "a", choice=1, time_ms=6000, rationale="short", created_at=hours_ago(0.2)),
        J(2, "b", verdict="TIE", time_ms=12000, created_at=hours_ago(0.2)),
        J(3, "a", verdict="BOTH_BAD", time_ms=5000, created_at=hours_ago(0.1)),
    ])  # fmt: skip
    Annotator.objects.filter(pseudonym="b").update(status=AnnotatorStatus.PAUSED, paused_reason="gold accuracy 20% on 5 items")
    stats = campaign_stats(campaign=campaign, use_cache=False)
    p = stats["progress"]
    assert p["items_by_judgments"] == [2, 1, 2] and p["items_complete"] == 2
    assert (p["judgments"], p["judgments_wanted"], p["live_leases"]) == (5, 10, 0)
    t = stats["throughput"]
    assert t["bin_hours"] == 1 and sum(t["per_hour"]) == 5 and t["last_hour"] == 3 and t["last_24h"] == 5
    rows = {r["pseudonym"]: r for r in stats["annotators"]["rows"]}
    assert rows["a"]["median_time_s"] == 5.0 and rows["b"]["median_time_s"] == 10.0
    assert rows["a"]["median_rationale_chars"] == round((len("first is right and well argued") + 5) / 2)
    assert rows["b"]["status"] == "PAUSED" and rows["b"]["paused_reason"].startswith("gold accuracy")
    assert stats["agreement"]["label_totals"] == [2, 1, 1, 1]  # candidate 1, 2, tie, both bad


def test_imported_judgments_count_for_agreement_but_not_for_position_bias_time_or_throughput():
    # given a file's judgments imported just now (shown order unknown, stored as the identity,
    # time 0) beside judgments submitted here, on the same items
    campaign = campaign_make(n_items=4, overlap=3)
    now = timezone.now()
    imported = [J(i, f"file{k}", choice=0, time_ms=0, created_at=now, source="IMPORTED") for i in (1, 2, 3, 4) for k in (1, 2)]
    submitted = [J(i, "here", choice=0, order=(1, 0), time_ms=6000, created_at=now - timedelta(hours=3)) for i in (1, 2, 3, 4)]
    judgments_bulk(campaign, imported + submitted)
    # when
    stats = campaign_stats(campaign=campaign, use_cache=False)
    rows = {r["pseudonym"]: r for r in stats["annotators"]["rows"]}
    # then the imported judgments have no position bias and no time...
    for name in ("file1", "file2"):
        assert (rows[name]["first_n"], rows[name]["first_share"], rows[name]["median_time_s"]) == (0, None, None)
        assert rows[name]["judgments"] == 4 and rows[name]["agreement_n"] == 4 and rows[name]["agreement"] == 1.0
    assert (rows["here"]["first_n"], rows["here"]["first_share"], rows["here"]["median_time_s"]) == (4, 0.0, 6.0)
    # ...and are not throughput: only the judgments submitted here, three hours ago
    t = stats["throughput"]
    assert (sum(t["per_hour"]), t["last_hour"], t["last_24h"]) == (4, 0, 4)
    assert t["start_s"] <= (now - timedelta(hours=3)).timestamp()
    # but they count in progress, agreement and consensus
    p = stats["progress"]
    assert (p["judgments"], p["items_complete"], p["imported_judgments"]) == (12, 4, 8)
    assert stats["agreement"]["choice"]["values"] == 12 and stats["consensus"]["unanimous"] == 4


def test_a_campaign_of_imported_judgments_only_has_no_throughput():
    campaign = campaign_make(n_items=2, overlap=2)
    judgments_bulk(campaign, [J(i, f"file{k}", choice=k - 1, time_ms=0, source="IMPORTED") for i in (1, 2) for k in (1, 2)])
    stats = campaign_stats(campaign=campaign, use_cache=False)
    assert stats["throughput"]["per_hour"] == [] and stats["throughput"]["last_24h"] == 0
    assert stats["progress"]["judgments"] == 4 and stats["agreement"]["choice"]["units"] == 2


def test_aspect_agreement_scale_ordinal_and_pairwise_nominal():
    questions = {"aspects": [{"name": "fluency", "kind": "scale", "low": 1, "high": 5},
                             {"name": "safer", "kind": "pairwise"}]}  # fmt: skip
    campaign = campaign_make(n_items=4, overlap=2, questions=questions)
    scores = {"x": [(5, 1), (4, 2), (3, 3), (2, 5)], "y": [(4, 1), (4, 3), (2, 3), (1, 5)]}
    safer = {"x": [0, 1, 0, "TIE"], "y": [0, 1, 1, "TIE"]}
    judgments_bulk(campaign, [
        J(i + 1, who, choice=0, aspects={"fluency": {"0": s[0], "1": s[1]}, "safer": safer[who][i]})
        for who in ("x", "y") for i, s in enumerate(scores[who])
    ])  # fmt: skip
    aspects = {a["name"]: a for a in campaign_stats(campaign=campaign, use_cache=False)["agreement"]["aspects"]}
    # reliability data: units are (item, candidate) for a scale
    data = np.array([[v for pair in scores[who] for v in pair] for who in ("x", "y")], dtype=float)
    assert aspects["fluency"]["alpha"] == pytest.approx(krippendorff.alpha(reliability_data=data, level_of_measurement="ordinal", value_domain=[1, 2, 3, 4, 5]), abs=1e-3)
    assert aspects["fluency"]["level"] == "ordinal" and aspects["fluency"]["units"] == 8
    pairwise = np.array([[2 if v == "TIE" else v for v in safer[who]] for who in ("x", "y")], dtype=float)
    assert aspects["safer"]["alpha"] == pytest.approx(krippendorff.alpha(reliability_data=pairwise, level_of_measurement="nominal"), abs=1e-3)


def test_rationale_flags_name_the_annotation_and_item():
    campaign = campaign_make(n_items=3, overlap=2)
    copied = "The second response explains the steps in order and includes a worked example."
    judgments_bulk(campaign, [
        J(1, "a", choice=1, rationale=copied),
        J(2, "a", choice=1, rationale=copied),
        J(3, "a", choice=0, order=(0, 1), rationale="Response B is much better, it answers the question fully."),
        J(3, "b", choice=0, rationale="ok"),
        J(1, "b", choice=1, rationale="Clear, correct and complete; it cites the relevant rule and gives an example."),
    ])  # fmt: skip
    flags = campaign_stats(campaign=campaign, use_cache=False)["rationale_flags"]
    assert flags["counts"] == {"COPIED": 2, "CONTRADICTS": 1, "SHORT": 1}
    by_code = {f["code"]: (r, f["reason"]) for r in flags["recent"] for f in r["flags"]}
    assert by_code["SHORT"][0]["position"] == 3 and by_code["SHORT"][0]["pseudonym"] == "b"
    assert by_code["CONTRADICTS"][0]["position"] == 3
    assert "annotation" in by_code["COPIED"][1] and "item 2" in by_code["COPIED"][1] or "item 1" in by_code["COPIED"][1]


def test_empty_campaign_has_no_figures_but_no_error():
    campaign = campaign_make(n_items=3, questions={"aspects": [{"name": "fluency"}]})
    stats = campaign_stats(campaign=campaign)
    assert stats["agreement"]["choice"]["alpha"] is None and stats["consensus"]["mean"] is None
    assert stats["progress"]["items_by_judgments"] == [3, 0, 0, 0] and stats["throughput"]["per_hour"] == []
    assert stats["annotators"]["rows"] == [] and stats["rationale_flags"]["counts"] == {}


def test_figures_are_cached_until_a_new_judgment_arrives(monkeypatch):
    campaign = campaign_make(n_items=3, overlap=2)
    judgments_bulk(campaign, [J(1, "a", choice=0), J(1, "b", choice=0)])
    import annotate.stats as stats_module

    calls = []
    real = stats_module.campaign_figures_compute
    monkeypatch.setattr(stats_module, "campaign_figures_compute", lambda c: calls.append(1) or real(c))
    first = campaign_stats(campaign=campaign)
    second = campaign_stats(campaign=campaign)
    assert len(calls) == 1 and first["computed_at"] == second["computed_at"] and not second["stale"]
    # a submit through the service invalidates the cache
    (annotator,) = annotators_make(campaign, 1, prefix="c")
    lease = assignment_next(annotator_id=annotator.pk)
    assert campaign_stats(campaign=campaign)["progress"]["live_leases"] == 1
    annotation_submit(annotator_id=annotator.pk, assignment_id=lease.pk, answer={"verdict": "TIE"})
    third = campaign_stats(campaign=campaign)
    assert len(calls) == 3 and third["progress"]["judgments"] == 3
