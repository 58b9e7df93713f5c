"""Ratings math (pure): counts, online Elo, Bradley–Terry, intervals, rank ranges.

Golden cases are worked by hand; the rest are invariants and agreement with independent
references (scikit-learn's logistic regression on the expanded table, FastChat's original
method, and evalica). Tolerances are stated in Elo points.
"""
import csv
import math
import subprocess
import sys
from pathlib import Path

import evalica
import numpy as np
import pytest
from scipy.stats import spearmanr
from sklearn.linear_model import LogisticRegression

from arena.ratings import (
    RatingFitError,
    battle_matrix,
    battles_per_model,
    bootstrap_bt,
    bt_fit,
    comparison_components,
    count_table,
    elo_ratings,
    pair_totals,
    percentile_intervals,
    predicted_win_matrix,
    provisional,
    rank_ranges,
    sandwich_intervals,
    simulate_battles,
    to_ratings,
    win_matrix,
)

LLMFAO = Path(__file__).resolve().parents[1] / "data" / "llmfao" / "crowd-comparisons.csv"
ELO_PER_NAT = 400.0 / math.log(10.0)


def sklearn_reference(matchups, outcomes, n_models) -> np.ndarray:
    """FastChat's original method: every battle twice (a tie as one win for each side),
    one-hot +-1 design, unpenalised logistic regression (C large), centred at 1000."""
    n = len(outcomes)
    rows = np.arange(2 * n)
    design = np.zeros((2 * n, n_models))
    design[rows, np.tile(matchups[:, 0], 2)] = 1.0
    design[rows, np.tile(matchups[:, 1], 2)] = -1.0
    labels = np.concatenate([outcomes >= 0.5, outcomes == 1.0]).astype(int)
    model = LogisticRegression(fit_intercept=False, C=1e8, tol=1e-10, max_iter=10_000).fit(design, labels)
    return to_ratings(model.coef_[0])


def read_llmfao():
    with LLMFAO.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    names = sorted({row["left"] for row in rows} | {row["right"] for row in rows})
    index = {name: i for i, name in enumerate(names)}
    matchups = np.array([[index[row["left"]], index[row["right"]]] for row in rows])
    outcomes = np.array([{"left": 1.0, "tie": 0.5, "right": 0.0}[row["winner"]] for row in rows])
    return names, matchups, outcomes


# --- counts ---------------------------------------------------------------------------------


def test_count_table_merges_battles_and_sql_rows_alike():
    matchups = np.array([[0, 1], [0, 1], [1, 0], [0, 1], [2, 1]])
    outcomes = np.array([1.0, 1.0, 0.5, 0.0, 0.5])
    counts = count_table(matchups, outcomes, 3)
    cells = {(a, b, y): w for (a, b), y, w in zip(counts.matchups.tolist(), counts.outcomes, counts.weights)}
    assert cells == {(0, 1, 0.0): 1.0, (0, 1, 1.0): 2.0, (1, 0, 0.5): 1.0, (2, 1, 0.5): 1.0}
    # The same battles as GROUP BY rows, with both-bad mapped to a tie by the caller: the
    # duplicate (2, 1, tie) row is merged.
    sql_rows = count_table(
        np.array([[0, 1], [0, 1], [1, 0], [2, 1], [2, 1]]),
        np.array([1.0, 0.0, 0.5, 0.5, 0.5]),
        3,
        weights=np.array([2, 1, 1, 0.5, 0.5]),
    )
    assert np.array_equal(sql_rows.matchups, counts.matchups)
    assert np.array_equal(sql_rows.outcomes, counts.outcomes)
    assert np.array_equal(sql_rows.weights, counts.weights)


@pytest.mark.parametrize(
    ("matchups", "outcomes"),
    [([[0, 0]], [1.0]), ([[0, 3]], [1.0]), ([[0, 1]], [0.7]), ([[-1, 1]], [0.0])],
)
def test_count_table_rejects_bad_battles(matchups, outcomes):
    with pytest.raises(ValueError):
        count_table(np.array(matchups), np.array(outcomes), 3)


def test_pair_totals_and_matrices_ignore_sides():
    counts = count_table(np.array([[0, 1], [1, 0], [1, 0], [2, 0]]), np.array([1.0, 1.0, 0.5, 0.0]), 3)
    pairs, wins, totals = pair_totals(counts)
    assert pairs.tolist() == [[0, 1], [0, 2]]
    assert wins.tolist() == [1.5, 1.0] and totals.tolist() == [3.0, 1.0]
    games = battle_matrix(counts)
    assert games.tolist() == [[0, 3, 1], [3, 0, 0], [1, 0, 0]]
    rates = win_matrix(counts)
    assert rates[0, 1] == pytest.approx(0.5) and rates[1, 0] == pytest.approx(0.5)
    assert rates[0, 2] == 1.0 and rates[2, 0] == 0.0 and np.isnan(rates[1, 2])
    assert battles_per_model(counts).tolist() == [4, 3, 1]
    assert provisional(battles_per_model(counts), min_votes=3).tolist() == [False, False, True]
    predicted = predicted_win_matrix(np.array([1100.0, 1000.0]))
    assert predicted[0, 1] == pytest.approx(1 / (1 + 10 ** (-100 / 400))) and predicted[0, 1] + predicted[1, 0] == 1


# --- online Elo -----------------------------------------------------------------------------


def test_elo_golden_case_by_hand():
    # A (0) beats B (1): expected 1/2, so A = 1000 + 4 * 1/2 = 1002, B = 998.
    # Tie: expected_A = 1 / (1 + 10 ** (-4 / 400)) = 0.505756208, A moves 4 * (0.5 - that).
    # B wins: expected_A = 1 / (1 + 10 ** (-3.95395 / 400)) = 0.505689946, A moves -4 * that.
    ratings = elo_ratings(np.array([[0, 1], [0, 1], [0, 1]]), np.array([1.0, 0.5, 0.0]), 2)
    assert ratings == pytest.approx([999.9542153811743, 1000.0457846188257], abs=1e-9)
    partial = elo_ratings(np.array([[0, 1], [1, 0]]), np.array([1.0, 0.5]), 2)
    assert partial == pytest.approx([1001.9769751663554, 998.0230248336446], abs=1e-9)


def test_elo_is_zero_sum_and_order_sensitive():
    rng = np.random.default_rng(3)
    matchups, outcomes = simulate_battles(rng.normal(0, 1, 6), 2000, rng)
    ratings = elo_ratings(matchups, outcomes, 6, k=32)
    assert ratings.mean() == pytest.approx(1000.0)
    reordered = elo_ratings(matchups[::-1], outcomes[::-1], 6, k=32)
    assert not np.allclose(ratings, reordered)


# --- Bradley–Terry: golden cases and invariants ----------------------------------------------


def test_bt_golden_two_models():
    # A scores 3 of 4 (2 wins, 2 ties): MLE odds 3:1, so A - B = 400 log10(3) = 190.85 points.
    counts = count_table(np.array([[0, 1]] * 4), np.array([1.0, 1.0, 0.5, 0.5]), 2)
    fit = bt_fit(counts, reg=1e-12)
    half = 200.0 * math.log10(3.0)
    assert fit.ratings == pytest.approx([1000.0 + half, 1000.0 - half], abs=1e-3)
    anchored = bt_fit(counts, reg=1e-12, anchor=1, anchor_rating=1200.0)
    assert anchored.ratings == pytest.approx([1200.0 + 2 * half, 1200.0], abs=1e-3)


@pytest.fixture(scope="module")
def twenty_models():
    rng = np.random.default_rng(20)
    params = rng.normal(0.0, 0.6, 20)
    matchups, outcomes = simulate_battles(params, 100_000, rng, tie_rate=0.2)
    return params, matchups, outcomes


def test_recovers_known_strengths(twenty_models):
    params, matchups, outcomes = twenty_models
    fit = bt_fit(count_table(matchups, outcomes, 20))
    assert spearmanr(fit.ratings, params).statistic >= 0.99
    # 5k battles per model: standard error about 3.5 points.
    assert np.abs(fit.ratings - to_ratings(params)).max() < 15.0
    assert fit.ratings.mean() == pytest.approx(1000.0)


def test_invariant_to_swapping_sides_and_battle_order(twenty_models):
    _, matchups, outcomes = twenty_models
    base = bt_fit(count_table(matchups, outcomes, 20)).ratings
    swapped = bt_fit(count_table(matchups[:, ::-1], 1.0 - outcomes, 20)).ratings
    order = np.random.default_rng(1).permutation(len(outcomes))
    shuffled = bt_fit(count_table(matchups[order], outcomes[order], 20)).ratings
    assert swapped == pytest.approx(base, abs=1e-6)
    assert shuffled == pytest.approx(base, abs=1e-6)


def test_shift_invariance_and_relabelling(twenty_models):
    params, matchups, outcomes = twenty_models
    rng = np.random.default_rng(5)
    # Shifting every true strength changes nothing observable.
    again = simulate_battles(params + 3.0, 1000, np.random.default_rng(9))
    once = simulate_battles(params, 1000, np.random.default_rng(9))
    assert np.array_equal(again[1], once[1])
    # Renaming the models permutes the ratings.
    perm = rng.permutation(20)
    base = bt_fit(count_table(matchups, outcomes, 20)).ratings
    relabelled = bt_fit(count_table(perm[matchups], outcomes, 20)).ratings
    assert relabelled[perm] == pytest.approx(base, abs=1e-6)
    # The init and anchor only move the scale's origin.
    counts = count_table(matchups, outcomes, 20)
    moved = bt_fit(counts, init=1500.0).ratings
    assert moved - 500.0 == pytest.approx(base, abs=1e-9)
    anchored = bt_fit(counts, anchor=7, anchor_rating=1234.0).ratings
    assert anchored[7] == 1234.0 and anchored - base == pytest.approx(np.full(20, 1234.0 - base[7]), abs=1e-9)


def test_agrees_with_sklearn_and_evalica(twenty_models):
    _, matchups, outcomes = twenty_models
    ours = bt_fit(count_table(matchups, outcomes, 20)).ratings
    assert ours == pytest.approx(sklearn_reference(matchups, outcomes, 20), abs=0.5)
    winners = [{1.0: evalica.Winner.X, 0.5: evalica.Winner.Draw, 0.0: evalica.Winner.Y}[y] for y in outcomes]
    result = evalica.bradley_terry(
        matchups[:, 0].tolist(), matchups[:, 1].tolist(), winners, tolerance=1e-12, limit=10_000
    )
    scores = result.scores.reindex(range(20)).to_numpy()
    assert ours == pytest.approx(to_ratings(np.log(scores)), abs=0.5)


def test_llmfao_crowd_votes_match_sklearn_ranking():
    names, matchups, outcomes = read_llmfao()
    assert len(outcomes) == 8931 and len(names) == 59
    counts = count_table(matchups, outcomes, len(names))
    assert len(set(comparison_components(counts))) == 1
    ours = bt_fit(counts).ratings
    reference = sklearn_reference(matchups, outcomes, len(names))
    assert ours == pytest.approx(reference, abs=0.5)
    assert [names[i] for i in np.argsort(-ours)] == [names[i] for i in np.argsort(-reference)]
    assert names[int(np.argmax(ours))] == "GPT 4"


def test_models_without_battles_and_disconnected_groups():
    # Models 0-1 and 2-3 never met; model 4 never played; model 5 won its only battle vs 0.
    counts = count_table(
        np.array([[0, 1], [1, 0], [0, 1], [2, 3], [3, 2], [5, 0]]), np.array([1.0, 1.0, 0.0, 1.0, 0.5, 1.0]), 6
    )
    fit = bt_fit(counts)
    assert np.isnan(fit.ratings[4]) and not np.isnan(np.delete(fit.ratings, 4)).any()
    assert np.nanmean(fit.ratings) == pytest.approx(1000.0)
    labels = comparison_components(counts)
    assert labels[0] == labels[1] == labels[5] and labels[2] == labels[3] and labels[0] != labels[2]
    # Each group is centred on its own: params sum to zero within each component.
    assert fit.params[[0, 1, 5]].sum() == pytest.approx(0.0, abs=1e-6)
    assert fit.params[[2, 3]].sum() == pytest.approx(0.0, abs=1e-6)
    # Winning every battle has no finite MLE: the ridge keeps it finite, and it is provisional.
    assert np.isfinite(fit.ratings[5]) and fit.ratings[5] > fit.ratings[0] + 400
    assert provisional(battles_per_model(counts), min_votes=3)[5]
    with pytest.raises(ValueError):
        bt_fit(counts, anchor=4)


def test_non_convergence_raises_named_error():
    rng = np.random.default_rng(0)
    matchups, outcomes = simulate_battles(rng.normal(0, 1, 10), 5000, rng)
    with pytest.raises(RatingFitError):
        bt_fit(count_table(matchups, outcomes, 10), max_iter=2)


# --- intervals ------------------------------------------------------------------------------


def test_bootstrap_is_reproducible_and_agrees_with_sandwich(twenty_models):
    _, matchups, outcomes = twenty_models
    counts = count_table(matchups, outcomes, 20)
    fit = bt_fit(counts)
    samples = bootstrap_bt(counts, rounds=400, rng=np.random.default_rng(4), params=fit.params)
    again = bootstrap_bt(counts, rounds=400, rng=np.random.default_rng(4), params=fit.params)
    assert samples.shape == (400, 20) and np.array_equal(samples, again)
    assert samples.mean(axis=1) == pytest.approx(np.full(400, 1000.0))
    low, high = percentile_intervals(samples)
    s_low, s_high = sandwich_intervals(counts, fit.params)
    # Same widths within the noise of 400 bootstrap rounds (about 7% per model).
    ratio = (high - low) / (s_high - s_low)
    assert 0.8 < ratio.min() and ratio.max() < 1.25 and abs(np.median(ratio) - 1.0) < 0.06
    assert np.all((s_low < fit.ratings) & (fit.ratings < s_high))


def test_sandwich_is_narrower_than_model_based_with_ties():
    # With ties the outcome varies less than a win/loss coin; the plain inverse Hessian
    # ignores that, the sandwich does not. Empirical spread over replications decides.
    params = np.array([0.0, 0.2, -0.3])
    estimates, half_widths = [], []
    for seed in range(300):
        rng = np.random.default_rng(seed)
        counts = count_table(*simulate_battles(params, 600, rng, tie_rate=0.5), 3)
        fit = bt_fit(counts)
        low, high = sandwich_intervals(counts, fit.params)
        estimates.append(fit.ratings)
        half_widths.append((high - low) / 2)
    empirical_sd = np.std(estimates, axis=0)
    assert np.mean(half_widths, axis=0) / 1.96 == pytest.approx(empirical_sd, rel=0.15)


def test_interval_coverage_over_repeated_simulations():
    params = np.array([0.0, 0.35, -0.25, 0.7])
    truth = to_ratings(params)
    covered_boot, covered_sandwich = [], []
    for seed in range(200):
        rng = np.random.default_rng(1000 + seed)
        counts = count_table(*simulate_battles(params, 1500, rng, tie_rate=0.2), 4)
        fit = bt_fit(counts)
        low, high = percentile_intervals(bootstrap_bt(counts, rounds=100, rng=rng, params=fit.params))
        covered_boot.extend((low <= truth) & (truth <= high))
        low, high = sandwich_intervals(counts, fit.params)
        covered_sandwich.extend((low <= truth) & (truth <= high))
    assert 0.90 <= np.mean(covered_boot) <= 0.99
    assert 0.90 <= np.mean(covered_sandwich) <= 0.99


def test_rank_ranges_follow_chatbot_arena():
    low = np.array([1100.0, 1090.0, 1000.0, 950.0, np.nan])
    high = np.array([1200.0, 1150.0, 1095.0, 990.0, np.nan])
    rank, worst = rank_ranges(low, high)
    # rank: model 2's upper bound (1095) is below model 0's lower bound (1100) only, so 2;
    # model 3 is below 0, 1 and 2, so 4. worst: models 2 and 3 are separably below model 0,
    # so model 0 ranks no lower than 4 - 2 = 2; only model 3 is below model 1 (3).
    assert rank.tolist() == [1, 1, 2, 4, 0]
    assert worst.tolist() == [2, 3, 3, 4, 0]


def test_no_battles_yet_gives_nan_not_an_error():
    counts = count_table(np.empty((0, 2), dtype=int), np.empty(0), 3)
    fit = bt_fit(counts)
    assert np.isnan(fit.ratings).all()
    assert np.isnan(bootstrap_bt(counts, rounds=5, rng=np.random.default_rng(0))).all()
    assert all(np.isnan(bound).all() for bound in sandwich_intervals(counts, fit.params))
    assert [r.tolist() for r in rank_ranges(*sandwich_intervals(counts, fit.params))] == [[0, 0, 0], [0, 0, 0]]


def test_ratings_import_no_django_pandas_or_sklearn():
    code = (
        "import sys, arena.ratings; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'django', 'pandas', 'sklearn', 'evalica'}))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
