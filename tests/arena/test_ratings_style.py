"""Style control (pure): FastChat's features, a planted length effect, and a dense reference."""
import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from arena.ratings import (
    bootstrap_style,
    bt_fit,
    count_table,
    simulate_style_battles,
    style_features,
    style_fit,
    style_sandwich_intervals,
    to_ratings,
)

PARAMS = np.array([0.6, 0.3, 0.1, 0.0, -0.2, -0.4, -0.5, 0.2])
# The strongest models are also the most verbose: without style control they look stronger.
VERBOSITY = np.array([0.6, 0.4, 0.0, -0.2, 0.1, -0.4, -0.3, 0.5])
COEFS = np.array([0.30, 0.05, 0.10, 0.0])


@pytest.fixture(scope="module")
def planted():
    rng = np.random.default_rng(8)
    matchups, outcomes, first, second = simulate_style_battles(
        PARAMS, COEFS, 100_000, rng, verbosity=VERBOSITY, tie_rate=0.2
    )
    return matchups, outcomes, style_features(first, second)


def test_features_are_fastchat_normalised_differences():
    first = np.array([[100, 0, 2, 0], [300, 1, 0, 0], [50, 2, 1, 0]])
    second = np.array([[100, 2, 0, 0], [100, 0, 0, 0], [150, 0, 1, 0]])
    features = style_features(first, second)
    raw = np.array([[0.0, -2 / 3, 2 / 3, 0], [200 / 401, 1 / 2, 0, 0], [-100 / 201, 2 / 3, 0, 0]])
    expected = (raw - raw.mean(axis=0)) / np.where(raw.std(axis=0) > 0, raw.std(axis=0), 1.0)
    assert features.dtype == np.float32
    assert features == pytest.approx(expected, abs=1e-6)
    # A feature that never varies (no bold anywhere) stays zero.
    assert not features[:, 3].any()


def test_recovers_planted_length_effect(planted):
    matchups, outcomes, features = planted
    fit = style_fit(matchups, outcomes, features, len(PARAMS))
    # 12.5k battles per model: about 6 points of standard error at equal style.
    assert np.abs(fit.ratings - to_ratings(PARAMS)).max() < 15.0
    assert fit.coefs == pytest.approx(COEFS, abs=0.02)
    # Plain Bradley-Terry credits verbosity to the verbose models.
    plain = bt_fit(count_table(matchups, outcomes, len(PARAMS))).ratings
    bias = plain - to_ratings(PARAMS)
    assert np.corrcoef(bias, VERBOSITY)[0, 1] > 0.9 and np.ptp(bias) > 30


def test_agrees_with_dense_sklearn_reference(planted):
    matchups, outcomes, features = planted
    n, n_models = len(outcomes), len(PARAMS)
    # FastChat's original design: every battle twice (a tie as one win each), one-hot
    # +-1 columns beside the features; C = 1 on the doubled rows is our ridge 0.5.
    design = np.zeros((2 * n, n_models + features.shape[1]))
    rows = np.arange(2 * n)
    design[rows, np.tile(matchups[:, 0], 2)] = 1.0
    design[rows, np.tile(matchups[:, 1], 2)] = -1.0
    design[:, n_models:] = np.tile(features, (2, 1))
    labels = np.concatenate([outcomes >= 0.5, outcomes == 1.0]).astype(int)
    reference = LogisticRegression(fit_intercept=False, C=1.0, tol=1e-10, max_iter=10_000).fit(design, labels)
    fit = style_fit(matchups, outcomes, features, n_models, reg=0.5)
    assert fit.ratings == pytest.approx(to_ratings(reference.coef_[0][:n_models]), abs=0.5)
    assert fit.coefs == pytest.approx(reference.coef_[0][n_models:], abs=1e-3)


def test_invariant_to_swapping_sides(planted):
    matchups, outcomes, features = planted
    fit = style_fit(matchups, outcomes, features, len(PARAMS))
    swapped = style_fit(matchups[:, ::-1], 1.0 - outcomes, -features, len(PARAMS))
    assert swapped.ratings == pytest.approx(fit.ratings, abs=1e-3)
    assert swapped.coefs == pytest.approx(fit.coefs, abs=1e-6)


@pytest.mark.slow
def test_bootstrap_agrees_with_sandwich(planted):
    matchups, outcomes, features = planted
    n_models = len(PARAMS)
    fit = style_fit(matchups, outcomes, features, n_models)
    ratings, coefs = bootstrap_style(
        matchups, outcomes, features, n_models, rounds=60, rng=np.random.default_rng(2), fit=fit
    )
    assert ratings.shape == (60, n_models) and coefs.shape == (60, 4)
    low, high, coef_se = style_sandwich_intervals(matchups, outcomes, features, n_models, fit)
    # 60 rounds estimate a standard deviation within about 10%.
    assert ratings.std(axis=0) * 1.96 == pytest.approx((high - low) / 2, rel=0.3)
    assert coefs.std(axis=0) == pytest.approx(coef_se, rel=0.3)
