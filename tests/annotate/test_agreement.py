"""Agreement math (pure): alpha, kappa, per-item and per-annotator figures, Dawid–Skene,
rationale flags.

Golden cases are worked by hand or taken from the published examples; real multi-annotator
data (PandaLM's 3 human labels per item, LLMFAO's 1-5 crowd votes per pair) is checked
against independent implementations: the `krippendorff` package, NLTK's AnnotationTask,
statsmodels' fleiss_kappa and crowd-kit's DawidSkene. Tolerances are stated per test.
"""
import csv
import json
import subprocess
import sys
from fractions import Fraction
from functools import cache
from itertools import combinations
from pathlib import Path

import krippendorff
import numpy as np
import pandas as pd
import pytest
from crowdkit.aggregation import DawidSkene
from nltk.metrics.agreement import AnnotationTask
from scipy.stats import binomtest, spearmanr
from statsmodels.stats.inter_rater import fleiss_kappa as statsmodels_fleiss

from annotate.agreement import (
    CONTRADICTS,
    COPIED,
    NO_LABEL,
    SHORT,
    AgreementInputError,
    DawidSkeneConvergenceError,
    DawidSkeneError,
    argued_position,
    check_judgments,
    chosen_positions,
    coincidence_matrix,
    competence_weights,
    dawid_skene,
    fleiss_kappa,
    gold_accuracy,
    item_consensus,
    item_entropy,
    judgments_from_matrix,
    krippendorff_alpha,
    label_counts,
    leave_one_out_agreement,
    majority_labels,
    position_bias,
    rationale_flags,
    reliability_matrix,
    weighted_majority,
)

DATA = Path(__file__).resolve().parents[1] / "data"
PANDALM = DATA / "pandalm" / "testset-v1.json"
LLMFAO = DATA / "llmfao" / "crowd-comparisons.csv"
LLMFAO_LABELS = ("left", "right", "tie")
EXACT = 1e-9  # agreement with an independent implementation: same formula, float rounding only

# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", section C: 4 observers x
# 12 units with missing values; alpha nominal .743, ordinal .815, interval .849.
K2011 = np.array(
    [
        [1, 2, 3, 3, 2, 1, 4, 1, 2, np.nan, np.nan, np.nan],
        [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, np.nan, 3],
        [np.nan, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, np.nan],
        [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, np.nan],
    ]
)

# Fleiss (1971) as worked on Wikipedia's "Fleiss' kappa" page: 10 items x 14 raters, kappa 0.210.
FLEISS_TABLE = np.array(
    [
        [0, 0, 0, 0, 14],
        [0, 2, 6, 4, 2],
        [0, 0, 3, 5, 6],
        [0, 3, 9, 2, 0],
        [2, 2, 8, 1, 1],
        [7, 7, 0, 0, 0],
        [3, 2, 6, 3, 0],
        [2, 5, 3, 2, 2],
        [6, 5, 2, 1, 0],
        [0, 2, 2, 3, 7],
    ]
)


@cache
def pandalm() -> np.ndarray:
    """(3, 999) reliability data; label codes 0 tie, 1 response1 better, 2 response2 better."""
    rows = json.loads(PANDALM.read_text())
    return np.array([[row[f"annotator{k}"] for row in rows] for k in (1, 2, 3)], dtype=np.float64)


@cache
def llmfao() -> tuple[np.ndarray, np.ndarray, np.ndarray, list[dict]]:
    """(items, annotators, labels) codes of the 8,931 crowd votes (labels 0 left, 1 right,
    2 tie) and the raw rows."""
    with LLMFAO.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    items = np.unique([int(row["id"]) for row in rows], return_inverse=True)[1]
    annotators = np.unique([int(row["worker"]) for row in rows], return_inverse=True)[1]
    labels = np.array([LLMFAO_LABELS.index(row["winner"]) for row in rows])
    return items, annotators, labels, rows


def simulate(rng, *, n_items=400, accuracies=(0.9,) * 4 + (1 / 3,) * 8, per_item=5, n_labels=3):
    """Items with uniform true labels; annotator a is right with probability accuracies[a] and
    otherwise picks uniformly among the wrong labels (1/3 = a spammer for 3 labels)."""
    accuracies = np.asarray(accuracies)
    truth = rng.integers(n_labels, size=n_items)
    annotators = np.concatenate([rng.choice(len(accuracies), per_item, replace=False) for _ in range(n_items)])
    items = np.repeat(np.arange(n_items), per_item)
    right = rng.random(len(items)) < accuracies[annotators]
    wrong = (truth[items] + rng.integers(1, n_labels, size=len(items))) % n_labels
    return items, annotators, np.where(right, truth[items], wrong), truth


# --- Krippendorff's alpha ----------------------------------------------------------------


def test_alpha_matches_krippendorff_2011_worked_example():
    items, annotators, labels = judgments_from_matrix(K2011 - 1)
    counts = label_counts(items, labels)
    # unit 12 has a single value and is unpairable: 40 pairable values, 8 off the diagonal
    coincidences = coincidence_matrix(counts)
    assert coincidences.sum() == pytest.approx(40.0, abs=1e-12)
    assert coincidences[0, :2] == pytest.approx([7.0, 4 / 3], abs=1e-12)
    margins = np.array([9, 13, 10, 5, 3])
    assert coincidences.sum(axis=1) == pytest.approx(margins, abs=1e-12)
    expected_nominal = 1 - Fraction(39 * 8, 40**2 - int(margins @ margins))
    assert krippendorff_alpha(counts) == pytest.approx(float(expected_nominal), abs=1e-12)
    assert round(krippendorff_alpha(counts), 3) == 0.743
    assert round(krippendorff_alpha(counts, level="ordinal"), 3) == 0.815
    assert round(krippendorff_alpha(counts, level="interval", label_values=[1, 2, 3, 4, 5]), 3) == 0.849
    for level in ("nominal", "ordinal", "interval"):
        reference = krippendorff.alpha(reliability_data=K2011, level_of_measurement=level)
        assert krippendorff_alpha(counts, level=level) == pytest.approx(reference, abs=EXACT)


def test_alpha_on_pandalm_matches_krippendorff_and_nltk():
    data = pandalm()
    items, annotators, labels = judgments_from_matrix(data)
    counts = label_counts(items, labels)
    alpha = krippendorff_alpha(counts)
    assert alpha == pytest.approx(krippendorff.alpha(reliability_data=data, level_of_measurement="nominal"), abs=EXACT)
    task = AnnotationTask([(f"a{a}", int(i), int(label)) for i, a, label in zip(items, annotators, labels)])
    assert alpha == pytest.approx(task.alpha(), abs=EXACT)
    assert 0.80 < alpha < 0.90  # the PandaLM README reports IAA ~ 0.85; measured 0.8642
    # ordinal with "tie" between the two preferences: 1 < 0 < 2
    ordinal = krippendorff_alpha(counts, level="ordinal", label_values=[0.5, 0.0, 1.0])
    recoded = np.select([data == 1, data == 0, data == 2], [0, 1, 2])
    reference = krippendorff.alpha(reliability_data=recoded, level_of_measurement="ordinal", value_domain=[0, 1, 2])
    assert ordinal == pytest.approx(reference, abs=EXACT)


def test_alpha_on_llmfao_crowd_votes_matches_krippendorff_and_nltk():
    items, annotators, labels, rows = llmfao()
    alpha = krippendorff_alpha(label_counts(items, labels))
    matrix = reliability_matrix(items, annotators, labels)  # 124 workers x 2,139 pairs, mostly NaN
    reference = krippendorff.alpha(reliability_data=matrix, level_of_measurement="nominal")
    assert alpha == pytest.approx(reference, abs=EXACT)
    task = AnnotationTask([(row["worker"], row["id"], row["winner"]) for row in rows])
    assert alpha == pytest.approx(task.alpha(), abs=EXACT)
    assert 0.25 < alpha < 0.35  # measured 0.2906: crowd votes with a 39% tie rate


def test_alpha_drops_unpairable_items_and_is_nan_without_evidence():
    counts = np.array([[2, 1], [0, 3], [1, 1]])
    with_singletons = np.vstack([counts, [[1, 0], [0, 1], [0, 0]]])
    assert krippendorff_alpha(with_singletons) == krippendorff_alpha(counts)
    assert np.isnan(krippendorff_alpha(np.array([[1, 0], [0, 1], [0, 0]])))  # nothing pairable
    assert np.isnan(krippendorff_alpha(np.array([[3, 0], [2, 0]])))  # one label only: 0 / 0
    assert np.isnan(krippendorff_alpha(np.zeros((0, 3))))
    assert krippendorff_alpha(np.array([[2, 0], [0, 2]])) == 1.0
    with pytest.raises(AgreementInputError):
        krippendorff_alpha(counts, level="ratio")
    with pytest.raises(AgreementInputError):
        krippendorff_alpha(counts, level="ordinal", label_values=[1, 1])


def test_alpha_and_kappa_invariant_to_relabeling_annotators_items_and_labels():
    rng = np.random.default_rng(7)
    items, annotators, labels = judgments_from_matrix(K2011 - 1)
    base = label_counts(items, labels)
    item_perm, annotator_perm, label_perm = rng.permutation(12), rng.permutation(4), rng.permutation(5)
    shuffled = label_counts(item_perm[items], label_perm[labels])
    assert krippendorff_alpha(shuffled) == pytest.approx(krippendorff_alpha(base), abs=1e-12)
    assert fleiss_kappa(shuffled) == pytest.approx(fleiss_kappa(base), abs=1e-12)
    matrix = reliability_matrix(item_perm[items], annotator_perm[annotators], labels)
    assert krippendorff.alpha(reliability_data=matrix, level_of_measurement="ordinal") == pytest.approx(
        krippendorff_alpha(base, level="ordinal"), abs=EXACT
    )
    # ordinal: any increasing values, or the reversed order, give the same alpha
    ordinal = krippendorff_alpha(base, level="ordinal")
    assert krippendorff_alpha(base, level="ordinal", label_values=[-3, 0, 10, 11, 50]) == pytest.approx(ordinal)
    assert krippendorff_alpha(base, level="ordinal", label_values=[5, 4, 3, 2, 1]) == pytest.approx(ordinal)
    # interval: an affine change of the values leaves alpha unchanged
    interval = krippendorff_alpha(base, level="interval")
    assert krippendorff_alpha(base, level="interval", label_values=[7 - 2.5 * v for v in range(5)]) == pytest.approx(
        interval
    )


# --- Fleiss' kappa -----------------------------------------------------------------------


def test_fleiss_kappa_golden_cases():
    assert round(fleiss_kappa(FLEISS_TABLE), 3) == 0.210
    assert fleiss_kappa(FLEISS_TABLE) == pytest.approx(statsmodels_fleiss(FLEISS_TABLE), abs=EXACT)
    # unequal ratings per item, by hand: P_i = 1, 0, 1 -> P_bar 2/3; p = (3/7, 4/7) -> P_e 25/49;
    # kappa = (2/3 - 25/49) / (24/49) = 23/72. The singleton item is dropped.
    assert fleiss_kappa(np.array([[2, 0], [1, 1], [0, 3], [1, 0]])) == pytest.approx(23 / 72, abs=1e-12)
    assert np.isnan(fleiss_kappa(np.array([[1, 0], [0, 1]])))
    assert np.isnan(fleiss_kappa(np.array([[2, 0], [3, 0]])))


def test_fleiss_kappa_on_pandalm_matches_statsmodels_nltk_and_alpha_identity():
    data = pandalm()
    items, annotators, labels = judgments_from_matrix(data)
    counts = label_counts(items, labels)
    kappa = fleiss_kappa(counts)
    assert kappa == pytest.approx(statsmodels_fleiss(counts), abs=EXACT)
    task = AnnotationTask([(f"a{a}", int(i), int(label)) for i, a, label in zip(items, annotators, labels)])
    assert kappa == pytest.approx(task.pi(), abs=EXACT)  # NLTK's multi-rater pi is Fleiss' kappa
    assert 0.80 < kappa < 0.90  # measured 0.8642
    n_values = counts.sum()
    assert 1 - krippendorff_alpha(counts) == pytest.approx((1 - kappa) * (n_values - 1) / n_values, abs=1e-12)


def test_fleiss_kappa_on_llmfao_with_unequal_votes_per_pair():
    items, annotators, labels, rows = llmfao()
    counts = label_counts(items, labels)
    per_item = counts.sum(axis=1)
    # statsmodels assumes equal ratings per item: compare on each equal-size stratum
    for size in (2, 3, 4, 5):
        stratum = counts[per_item == size]
        assert fleiss_kappa(stratum) == pytest.approx(statsmodels_fleiss(stratum), abs=EXACT)
    # all 2,139 pairs against a brute-force count of agreeing vote pairs per item
    votes: dict[str, list[str]] = {}
    for row in rows:
        votes.setdefault(row["id"], []).append(row["winner"])
    agreement, pooled = [], {name: 0 for name in LLMFAO_LABELS}
    for winners in votes.values():
        if len(winners) >= 2:
            pairs = list(combinations(winners, 2))
            agreement.append(sum(x == y for x, y in pairs) / len(pairs))
            for winner in winners:
                pooled[winner] += 1
    chance = sum((n / sum(pooled.values())) ** 2 for n in pooled.values())
    brute = (np.mean(agreement) - chance) / (1 - chance)
    kappa = fleiss_kappa(counts)
    assert kappa == pytest.approx(brute, abs=1e-12)
    assert 0.25 < kappa < 0.35  # measured 0.2870


# --- per item ----------------------------------------------------------------------------


def test_item_consensus_entropy_and_majority_ties():
    counts = np.array([[3, 0, 0], [2, 1, 0], [1, 1, 0], [1, 1, 1], [0, 0, 0], [0, 0, 1]])
    assert item_consensus(counts)[:4] == pytest.approx([1.0, 2 / 3, 0.5, 1 / 3])
    assert np.isnan(item_consensus(counts)[4]) and item_consensus(counts)[5] == 1.0
    entropy = item_entropy(counts)
    assert entropy[[0, 2, 3, 5]] == pytest.approx([0.0, 1.0, np.log2(3), 0.0])
    assert entropy[1] == pytest.approx(-(2 / 3) * np.log2(2 / 3) - (1 / 3) * np.log2(1 / 3))
    assert np.isnan(entropy[4])
    assert majority_labels(counts).tolist() == [0, 0, 0, 0, NO_LABEL, 2]
    assert majority_labels(counts, ties="abstain").tolist() == [0, 0, NO_LABEL, NO_LABEL, NO_LABEL, 2]
    draws = np.array([majority_labels(counts, ties="random", rng=np.random.default_rng(s)) for s in range(200)])
    assert set(draws[:, 2]) == {0, 1} and set(draws[:, 3]) == {0, 1, 2}
    assert (draws[:, [0, 1, 5]] == [0, 0, 2]).all() and (draws[:, 4] == NO_LABEL).all()
    again = majority_labels(counts, ties="random", rng=np.random.default_rng(3))
    assert (again == draws[3]).all()  # same seed, same tie-breaks
    with pytest.raises(AgreementInputError):
        majority_labels(counts, ties="random")


# --- per annotator -----------------------------------------------------------------------


def test_leave_one_out_agreement_by_hand():
    # item 0: a0=0, a1=0, a2=1; item 1: a0=1, a1=0; item 2: a0=1 alone
    items = [0, 0, 0, 1, 1, 2]
    annotators = [0, 1, 2, 0, 1, 0]
    labels = [0, 0, 1, 1, 0, 1]
    rates = leave_one_out_agreement(items, annotators, labels, n_annotators=4)
    # a0: item0 others {0,1} tie -> 1/2; item1 others {0} -> 0; item2 unscored -> (0.5 + 0) / 2
    # a1: item0 others {0,1} tie -> 1/2; item1 others {1} -> 0.  a2: item0 others {0,0} -> 0
    assert rates.rate[:3] == pytest.approx([0.25, 0.25, 0.0])
    assert rates.n.tolist() == [2, 2, 1, 0] and np.isnan(rates.rate[3])


def test_leave_one_out_agreement_on_pandalm_is_high_for_every_annotator():
    items, annotators, labels = judgments_from_matrix(pandalm())
    rates = leave_one_out_agreement(items, annotators, labels)
    assert (rates.n == 999).all() and (rates.rate > 0.9).all()


def test_gold_accuracy_counts_only_gold_items():
    gold = np.array([0, NO_LABEL, 1])
    rates = gold_accuracy([0, 1, 2, 0, 2], [0, 0, 0, 1, 1], [0, 1, 0, 1, 1], gold, n_annotators=3)
    assert rates.rate[:2] == pytest.approx([0.5, 0.5]) and rates.n.tolist() == [2, 2, 0]
    assert np.isnan(rates.rate[2])


def test_position_bias_from_presented_order():
    # codes 0 = response A, 1 = response B, 2 = tie; shown[j] = codes at (left, right)
    labels = np.array([0, 1, 1, 2, 0, 0])
    shown = np.array([[0, 1], [1, 0], [0, 1], [1, 0], [1, 0], [0, 1]])
    positions = chosen_positions(labels, shown)
    assert positions.tolist() == [0, 0, 1, NO_LABEL, 1, 0]
    bias = position_bias(np.array([0, 0, 0, 0, 1, 1]), positions)
    assert bias.share_first == pytest.approx([2 / 3, 0.5]) and bias.n.tolist() == [3, 2]
    with pytest.raises(AgreementInputError):
        chosen_positions([0], [[0, 0]])


def test_position_bias_on_llmfao_matches_binomtest():
    items, annotators, labels, _ = llmfao()
    positions = np.where(labels < 2, labels, NO_LABEL)  # winner left / right / tie
    overall = position_bias(np.zeros_like(annotators), positions)
    assert overall.share_first[0] == pytest.approx(2911 / 5460)
    per_worker = position_bias(annotators, positions)
    for worker in np.flatnonzero(per_worker.n > 0)[:40]:
        mine = positions[(annotators == worker) & (positions >= 0)]
        reference = binomtest(int((mine == 0).sum()), len(mine), 0.5).pvalue
        assert per_worker.p_value[worker] == pytest.approx(reference, rel=1e-9)


# --- Dawid–Skene -------------------------------------------------------------------------


def test_dawid_skene_recovers_experts_and_spammers_better_than_majority():
    rng = np.random.default_rng(20240501)
    accuracies = np.array((0.9,) * 4 + (1 / 3,) * 8)
    items, annotators, labels, truth = simulate(rng, accuracies=accuracies)
    fit = dawid_skene(items, annotators, labels)
    realized = np.bincount(annotators, weights=labels == truth[items]) / np.bincount(annotators)
    # each annotator judges ~170 items, so its realized accuracy is within ~0.07 of the set one
    assert np.abs(fit.competence - realized).max() < 0.1  # measured 0.052
    assert fit.competence[:4].min() > 0.8 and fit.competence[4:].max() < 0.5
    assert fit.posteriors.sum(axis=1) == pytest.approx(np.ones(len(truth)))
    majority = majority_labels(label_counts(items, labels), ties="random", rng=np.random.default_rng(0))
    weights = competence_weights(fit.competence, 3)
    weighted = weighted_majority(items, annotators, labels, weights)
    predictions = {"mv": majority, "ds": fit.labels, "wmv": weighted}
    accuracy = {name: np.mean(labels_ == truth) for name, labels_ in predictions.items()}
    # measured: majority 0.650, Dawid–Skene 0.825, weighted majority 0.855
    assert accuracy["ds"] > accuracy["mv"] + 0.1 and accuracy["wmv"] > accuracy["mv"] + 0.1
    assert weights[:4].min() > 2.0 and weights[4:].max() < 1.0


@pytest.mark.filterwarnings("ignore:The inplace keyword", "ignore:The copy keyword")  # crowd-kit on pandas 3
@pytest.mark.parametrize("source", ["pandalm", "simulated"])
def test_dawid_skene_matches_crowd_kit(source):
    if source == "pandalm":
        items, annotators, labels = judgments_from_matrix(pandalm())
    else:
        items, annotators, labels, _ = simulate(np.random.default_rng(5), n_items=150, per_item=4)
    fit = dawid_skene(items, annotators, labels, smoothing=0.0, tol=1e-12, max_iter=2000)
    frame = pd.DataFrame({"task": items, "worker": annotators, "label": labels})
    # tol=-inf: crowd-kit stops on its ELBO, which can stall early; run it as long as we did
    reference = DawidSkene(n_iter=fit.n_iter + 20, tol=-np.inf).fit(frame)
    posteriors = reference.probas_.reindex(columns=range(3)).sort_index().to_numpy()
    assert fit.posteriors == pytest.approx(posteriors, abs=1e-6)
    assert fit.priors == pytest.approx(reference.priors_.sort_index().to_numpy(), abs=1e-6)


def test_dawid_skene_on_llmfao_ranks_workers_like_leave_one_out_agreement():
    items, annotators, labels, _ = llmfao()
    fit = dawid_skene(items, annotators, labels)
    loo = leave_one_out_agreement(items, annotators, labels)
    busy = loo.n >= 30
    assert spearmanr(fit.competence[busy], loo.rate[busy]).statistic > 0.6


def test_dawid_skene_is_equivariant_to_relabeling_items_and_annotators():
    rng = np.random.default_rng(11)
    items, annotators, labels, _ = simulate(rng, n_items=120)
    fit = dawid_skene(items, annotators, labels)
    item_perm, annotator_perm = rng.permutation(120), rng.permutation(12)
    order = rng.permutation(len(items))
    moved = dawid_skene(item_perm[items][order], annotator_perm[annotators][order], labels[order])
    assert moved.posteriors[item_perm] == pytest.approx(fit.posteriors, abs=1e-9)
    assert moved.competence[annotator_perm] == pytest.approx(fit.competence, abs=1e-9)
    # an item nobody judged keeps the prior and gets no label; an idle annotator no competence
    padded = dawid_skene(items, annotators, labels, n_items=121, n_annotators=13)
    assert padded.posteriors[120] == pytest.approx(padded.priors) and padded.labels[120] == NO_LABEL
    assert padded.posteriors[:120] == pytest.approx(fit.posteriors, abs=1e-9)
    assert np.isnan(padded.competence[12])


def test_dawid_skene_rejects_bad_input_and_reports_non_convergence():
    with pytest.raises(DawidSkeneError):
        dawid_skene([], [], [])
    with pytest.raises(DawidSkeneError):
        dawid_skene([0, 1], [0, 0], [0, 0], n_labels=1)
    with pytest.raises(DawidSkeneError):
        dawid_skene([0, 1], [0, 0], [0, 1], tol=0)
    with pytest.raises(AgreementInputError):
        dawid_skene([0, 0], [1, 1], [0, 1])  # one annotator judged one item twice
    items, annotators, labels, _ = simulate(np.random.default_rng(1), n_items=60)
    with pytest.raises(DawidSkeneConvergenceError):
        dawid_skene(items, annotators, labels, max_iter=2, tol=1e-12)
    with pytest.raises(AgreementInputError):
        weighted_majority(items, annotators, labels, -np.ones(12))


# --- input checks and purity ---------------------------------------------------------------


def test_check_judgments_names_the_problem():
    with pytest.raises(AgreementInputError, match="differ in length"):
        check_judgments([0, 1], [0], [0, 1])
    with pytest.raises(AgreementInputError, match="negative"):
        check_judgments([0, -1], [0, 0], [0, 1])
    with pytest.raises(AgreementInputError, match="integer"):
        check_judgments([0, 1], [0, 0], [0.5, 1])
    with pytest.raises(AgreementInputError, match="outside"):
        check_judgments([0, 3], [0, 0], [0, 1], n_items=3)
    with pytest.raises(AgreementInputError, match="annotator 2 judged item 1 more than once"):
        reliability_matrix([0, 1, 1], [2, 2, 2], [0, 1, 0])
    matrix = reliability_matrix([0, 2], [1, 0], [2, 0], n_items=4)
    assert matrix.shape == (2, 4) and matrix[1, 0] == 2 and matrix[0, 2] == 0 and np.isnan(matrix[0, 0])


def test_agreement_imports_no_django_pandas_or_torch():
    code = "import sys, annotate.agreement; print(sorted({'django', 'pandas', 'torch'} & set(sys.modules)))"
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# --- rationales --------------------------------------------------------------------------


def test_argued_position_reads_common_phrasings():
    cases = {
        "Response 1 is better because it is concise.": 0,
        "I chose the second one, it answers the question.": 1,
        "Output B wins on accuracy.": 1,
        "A is clearly more accurate than the other.": 0,
        "B is more verbose and repeats itself.": 0,
        "It is far better than response A overall.": 1,
        "Response 2 provides a more detailed plan, while Response 1 is more general.": 1,
        "I prefer a shorter answer to this question.": NO_LABEL,  # "a" as an article
        "Both are fine; A is better at tone, B is better at facts.": NO_LABEL,
        "Neither answer addresses the question.": NO_LABEL,
    }
    for text, position in cases.items():
        assert argued_position(text)[0] == position, text


def test_rationale_flags_catch_planted_cases_and_nothing_else():
    rationales = [
        "Response A explains the recursion step by step and gives a working example.",  # 0 clean
        "ok",  # 1 short
        "B is better because it cites the documentation and handles the edge case.",  # 2 chose A: contradicts
        "The left answer is wrong about the date of the treaty, the other one is right.",  # 3 clean (chose right)
        "Copied text that says the same thing for every item in the queue.",  # 4 copy of 5
        "Copied text that says the same thing for every item in the queue!!",  # 5 copy of 4
        "Copied text that says the same thing for every item in the queue right now.",  # 6 near copy
        "Response A explains the recursion step by step and gives a working example.",  # 7 same item as 0
        "Both are equally good, I could not decide between them at all.",  # 8 tie: never contradicts
        "OK",  # 9 short; repeats 1 on another item but is flagged once, as short
    ]
    chosen = [0, 0, 0, 1, 0, 1, 0, 0, NO_LABEL, 1]
    items = [10, 11, 12, 13, 14, 15, 16, 10, 17, 18]
    flags = rationale_flags(rationales, chosen, items)
    assert {(flag.index, flag.code) for flag in flags} == {
        (1, SHORT),
        (9, SHORT),
        (2, CONTRADICTS),
        (4, COPIED),
        (5, COPIED),
        (6, COPIED),
    }
    reasons = {(flag.index, flag.code): flag.reason for flag in flags}
    assert "second/B" in reasons[(2, CONTRADICTS)] and "b is better" in reasons[(2, CONTRADICTS)]
    assert "item 14" in reasons[(5, COPIED)] or "item 16" in reasons[(5, COPIED)]
