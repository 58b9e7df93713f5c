"""Battles collapsed to (matchup, outcome, count) cells, and the tables read off them.

Bradley–Terry's likelihood depends on the battles only through these counts, so every fit,
bootstrap and matrix here works on a `Counts` (a few thousand cells), never on one row per
battle. A `Counts` is built either from raw per-battle arrays or straight from the rows of

    SELECT model_a, model_b, outcome, COUNT(*) FROM ... GROUP BY model_a, model_b, outcome

with `count_table(matchups, outcomes, n_models, weights=counts)`: duplicate cells are
merged, so the caller may map several stored winners onto one outcome (both-bad -> tie).

Outcome convention: 1.0 = first model wins, 0.5 = tie (both-bad is passed as a tie by the
caller), 0.0 = second model wins. A tie is half a win for each side.
"""
from dataclasses import dataclass

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

OUTCOME_LEVELS = (0.0, 0.5, 1.0)


@dataclass(frozen=True)
class Counts:
    """Unique (first, second, outcome) cells and how many battles fell in each.

    matchups (m, 2) int64, first != second; outcomes (m,) float64 in {0, 0.5, 1};
    weights (m,) float64 > 0, battle counts (fractional if the caller weighted votes).
    """

    matchups: np.ndarray
    outcomes: np.ndarray
    weights: np.ndarray
    n_models: int

    @property
    def n_battles(self) -> float:
        return float(self.weights.sum())


def count_table(matchups, outcomes, n_models: int, weights=None) -> Counts:
    """Collapse battles (or pre-aggregated SQL rows, with `weights` = their counts) into cells.

    One `np.bincount` over the integer code (first * K + second) * 3 + 2 * outcome, so 1M
    battles take a few milliseconds. Raises ValueError on self-matchups, indices outside
    [0, n_models) or outcomes other than 0, 0.5, 1.
    """
    matchups = np.asarray(matchups)
    outcomes = np.asarray(outcomes, dtype=np.float64)
    if matchups.ndim != 2 or matchups.shape[1] != 2 or matchups.shape[0] != outcomes.shape[0]:
        raise ValueError("matchups must be (n, 2) and outcomes (n,)")
    if matchups.size and (matchups.min() < 0 or matchups.max() >= n_models):
        raise ValueError("model index outside [0, n_models)")
    if np.any(matchups[:, 0] == matchups[:, 1]):
        raise ValueError("a model cannot battle itself")
    # The code is built in place: at 1M battles each temporary is 8 MB.
    code = matchups[:, 0].astype(np.int64)
    code *= n_models
    code += matchups[:, 1]
    code *= 3
    level = outcomes * 2.0
    if np.any((level != 0.0) & (level != 1.0) & (level != 2.0)):
        raise ValueError("outcomes must be 0 (second wins), 0.5 (tie) or 1 (first wins)")
    code += level.astype(np.int64)
    del level
    if weights is not None:
        weights = np.asarray(weights, dtype=np.float64)
        if weights.shape != outcomes.shape or np.any(weights < 0):
            raise ValueError("weights must be (n,) and non-negative")
    table = np.bincount(code, weights=weights, minlength=n_models * n_models * 3)
    cells = np.flatnonzero(table)
    pair_code, level_code = np.divmod(cells, 3)
    return Counts(
        matchups=np.column_stack(np.divmod(pair_code, n_models)),
        outcomes=level_code / 2.0,
        weights=table[cells].astype(np.float64),
        n_models=n_models,
    )


def pair_totals(counts: Counts) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Collapse cells further to unordered pairs: (pairs (P, 2) with i < j, wins of i, totals).

    Sides do not matter to Bradley–Terry, so (j, i, y) counts as (i, j, 1 - y).
    """
    first, second = counts.matchups[:, 0], counts.matchups[:, 1]
    swap = first > second
    low = np.where(swap, second, first)
    high = np.where(swap, first, second)
    wins_of_low = np.where(swap, 1.0 - counts.outcomes, counts.outcomes) * counts.weights
    code = low * counts.n_models + high
    unique_codes, index = np.unique(code, return_inverse=True)
    wins = np.bincount(index, weights=wins_of_low, minlength=unique_codes.size)
    totals = np.bincount(index, weights=counts.weights, minlength=unique_codes.size)
    return np.column_stack(np.divmod(unique_codes, counts.n_models)), wins, totals


def battle_matrix(counts: Counts) -> np.ndarray:
    """(K, K) symmetric battle counts between each pair of models, whichever side each sat."""
    k = counts.n_models
    flat = np.bincount(counts.matchups[:, 0] * k + counts.matchups[:, 1], weights=counts.weights, minlength=k * k)
    matrix = flat.reshape(k, k)
    return matrix + matrix.T


def win_matrix(counts: Counts) -> np.ndarray:
    """(K, K) observed share of points row model took from column model (ties half); NaN if unplayed."""
    k = counts.n_models
    wins_first = counts.outcomes * counts.weights
    flat = np.bincount(counts.matchups[:, 0] * k + counts.matchups[:, 1], weights=wins_first, minlength=k * k)
    flat += np.bincount(
        counts.matchups[:, 1] * k + counts.matchups[:, 0], weights=counts.weights - wins_first, minlength=k * k
    )
    games = battle_matrix(counts)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(games > 0, flat.reshape(k, k) / games, np.nan)


def battles_per_model(counts: Counts) -> np.ndarray:
    """(K,) number of battles each model took part in."""
    k = counts.n_models
    return np.bincount(counts.matchups[:, 0], weights=counts.weights, minlength=k) + np.bincount(
        counts.matchups[:, 1], weights=counts.weights, minlength=k
    )


def provisional(battles: np.ndarray, min_votes: int) -> np.ndarray:
    """(K,) bool: models with fewer than `min_votes` battles, to be shown as provisional."""
    return np.asarray(battles) < min_votes


def comparison_components(counts: Counts) -> np.ndarray:
    """(K,) label of each model's connected component in the comparison graph.

    Ratings are only comparable within one component: Bradley–Terry says nothing about how
    two groups that never met compare (each group is centred on its own, see bt.py).
    Models with no battles are components of their own.
    """
    k = counts.n_models
    graph = coo_matrix((np.ones(len(counts.weights)), (counts.matchups[:, 0], counts.matchups[:, 1])), shape=(k, k))
    _, labels = connected_components(graph, directed=False)
    return labels


def predicted_win_matrix(ratings: np.ndarray, base: float = 10.0, scale: float = 400.0) -> np.ndarray:
    """(K, K) Bradley–Terry probability that the row model beats the column model."""
    ratings = np.asarray(ratings, dtype=float)
    return 1.0 / (1.0 + base ** ((ratings[None, :] - ratings[:, None]) / scale))
