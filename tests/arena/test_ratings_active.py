"""Active pair sampling (pure): the probabilities' contract, and fewer votes in simulation."""
import math

import numpy as np
import pytest
from scipy.stats import norm

from arena.ratings import active_pair_weights, votes_to_target


def weights_for(ratings, half, games, base_weights, explore=0.1):
    ratings = np.asarray(ratings, dtype=float)
    return active_pair_weights(ratings, ratings - half, ratings + half, games, base_weights, explore)


def test_probabilities_are_a_symmetric_distribution_over_allowed_pairs():
    games = np.full((4, 4), 50.0) - 50 * np.eye(4)
    probs = weights_for([1100, 1050, 1000, 900], np.array([30.0, 30, 30, 30]), games, np.array([1.0, 1, 0, 2]))
    assert probs.sum() == pytest.approx(1.0)
    assert probs == pytest.approx(probs.T) and not np.diag(probs).any()
    # Model 2 has weight 0: never shown.
    assert not probs[2].any() and not probs[:, 2].any()


def test_floor_of_exploration_respects_admin_weights():
    games = np.full((4, 4), 100.0) - 100 * np.eye(4)
    base = np.array([1.0, 1.0, 1.0, 3.0])
    probs = weights_for([1300, 1000, 990, 700], np.array([10.0, 60, 60, 10]), games, base, explore=0.2)
    pair_weights = np.outer(base, base) - np.diag(base**2)
    assert np.all(probs >= 0.2 * pair_weights / pair_weights.sum() - 1e-12)
    assert weights_for([1000, 1000], np.array([5.0, 5.0]), np.zeros((2, 2)), np.ones(2), explore=1.0) == pytest.approx(
        np.array([[0, 0.5], [0.5, 0]])
    )


def test_votes_go_to_close_uncertain_pairs_and_new_models():
    games = np.full((4, 4), 200.0) - 200 * np.eye(4)
    probs = weights_for([1300, 1010, 1000, 700], np.array([15.0, 40, 40, 15]), games, np.ones(4))
    # The two uncertain neighbours get the most; a lopsided settled pair the least.
    assert probs[1, 2] == probs.max() and probs[0, 3] == probs[probs > 0].min()
    # A model with no battles yet (NaN rating and interval) draws votes to itself.
    new = np.pad(games, ((0, 1), (0, 1)))
    probs = active_pair_weights(
        np.array([1300, 1010, 1000, 700, np.nan]),
        np.array([1285, 970, 960, 685, np.nan]),
        np.array([1315, 1050, 1040, 715, np.nan]),
        new,
        np.ones(5),
    )
    # probs is symmetric: twice row 4 is the chance the next pair includes model 4.
    assert 2 * probs[4].sum() > 0.5


def test_rejects_bad_inputs():
    with pytest.raises(ValueError):
        weights_for([1000, 1000], np.array([5.0, 5.0]), np.zeros((2, 2)), np.zeros(2))
    with pytest.raises(ValueError):
        weights_for([1000, 1000], np.array([5.0, 5.0]), np.array([[0, 3.0], [1.0, 0]]), np.ones(2))
    with pytest.raises(ValueError):
        weights_for([1000, 1000], np.array([5.0, 5.0]), np.zeros((2, 2)), np.ones(2), explore=1.5)


@pytest.mark.slow
def test_active_sampling_needs_thirty_percent_fewer_votes():
    # 30 models, ratings spread like a normal with sd 200 points, 10% ties; votes until every
    # 95% interval is within +-20 points; same seeds for both policies.
    params = norm.ppf((np.arange(30) + 0.5) / 30) * 200.0 * math.log(10.0) / 400.0
    active, uniform = [], []
    for seed in range(3):
        active.append(votes_to_target(params, policy="active", rng=np.random.default_rng(seed), tie_rate=0.1))
        uniform.append(votes_to_target(params, policy="uniform", rng=np.random.default_rng(seed), tie_rate=0.1))
    print(f"votes to +-20 points: active {active}, uniform {uniform}")
    assert sum(active) <= 0.7 * sum(uniform)
