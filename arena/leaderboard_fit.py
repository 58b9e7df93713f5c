"""One leaderboard fit: Bradley–Terry (optionally style-controlled) with bootstrap and sandwich
intervals, rank ranges, matrices and online Elo. Pure (no Django): arrays in, a JSON-ready dict
out, so it is tested on arrays and a snapshot can be rebuilt from its inputs."""
import math
from dataclasses import dataclass

import numpy as np

from arena import ratings as R



@dataclass(frozen=True)
class FitConfig:
    rounds: int = 100
    seed: int = 0
    min_votes: int = 20  # fewer battles than this: shown as provisional
    level: float = 0.95


@dataclass(frozen=True)
class StyleRows:
    """Per-vote rows for style control (covariates can't be aggregated to counts)."""

    matchups: np.ndarray  # (n, 2)
    outcomes: np.ndarray  # (n,)
    features_left: np.ndarray  # (n, 4) length, headers, lists, bold
    features_right: np.ndarray  # (n, 4)


@dataclass(frozen=True)
class FitInput:
    names: list[str]
    ids: list[int]
    matchups: np.ndarray  # (m, 2) aggregated rows
    outcomes: np.ndarray  # (m,)
    weights: np.ndarray  # (m,) votes per row
    elo: np.ndarray  # (K,) online Elo, brought up to date by the caller
    style: StyleRows | None = None


def _num(value: float, digits: int = 2):
    return None if value is None or math.isnan(value) else round(float(value), digits)


def _matrix(matrix: np.ndarray, digits: int = 4) -> list[list]:
    return [[_num(v, digits) for v in row] for row in matrix]


def _style_fit(style: StyleRows, k: int, config: FitConfig):
    features = R.style_features(style.features_left, style.features_right)
    fit = R.style_fit(style.matchups, style.outcomes, features, k)
    rng = np.random.default_rng(config.seed)
    samples, coef_samples = R.bootstrap_style(style.matchups, style.outcomes, features, k, rounds=config.rounds, rng=rng, fit=fit)
    low, high, coef_se = R.style_sandwich_intervals(style.matchups, style.outcomes, features, k, fit, level=config.level)
    coef_low, coef_high = R.percentile_intervals(coef_samples, config.level)
    coefficients = {
        name: {"value": _num(fit.coefs[i], 4), "se": _num(coef_se[i], 4), "bootstrap": [_num(coef_low[i], 4), _num(coef_high[i], 4)]}
        for i, name in enumerate(R.STYLE_FEATURES)
    }
    return fit.ratings, samples, (low, high), coefficients, int(len(style.outcomes))


def fit_leaderboard(data: FitInput, config: FitConfig) -> dict:
    """Everything a snapshot stores. Raises ratings.RatingFitError when a fit fails.
    NaN (a model with no battles under this leaderboard's filter) becomes null."""
    k = len(data.names)
    counts = R.count_table(data.matchups, data.outcomes, k, weights=data.weights)
    coefficients, n_style = {}, None
    if data.style is not None:
        ratings, samples, sandwich, coefficients, n_style = _style_fit(data.style, k, config)
    else:
        fit = R.bt_fit(counts)
        ratings = fit.ratings
        samples = R.bootstrap_bt(counts, rounds=config.rounds, rng=np.random.default_rng(config.seed), params=fit.params)
        sandwich = R.sandwich_intervals(counts, fit.params, level=config.level)
    intervals = {"bootstrap": R.percentile_intervals(samples, config.level), "sandwich": sandwich}
    ranks = {name: R.rank_ranges(*ci) for name, ci in intervals.items()}
    battles = R.battles_per_model(counts)
    observed = R.win_matrix(counts)
    games = R.battle_matrix(counts)
    points = np.where(np.isnan(observed), 0.0, observed * games).sum(axis=1)
    provisional = R.provisional(battles, config.min_votes)
    models = []
    for i in range(k):
        row = {
            "index": i,
            "id": data.ids[i],
            "name": data.names[i],
            "rating": _num(ratings[i]),
            "battles": int(battles[i]),
            "win_rate": _num(points[i] / battles[i], 4) if battles[i] else None,
            "elo": _num(data.elo[i]),
            "provisional": bool(provisional[i]),
        }
        for method, (low, high) in intervals.items():
            row[method] = [_num(low[i]), _num(high[i])]
            row[f"rank_{method}"] = [int(ranks[method][0][i]), int(ranks[method][1][i])]
        models.append(row)
    models.sort(key=lambda m: (m["rating"] is None, -(m["rating"] or 0.0)))
    return {
        "models": models,
        "names": data.names,
        "win_rate": _matrix(observed),
        "predicted": _matrix(np.where(np.eye(k, dtype=bool), np.nan, R.predicted_win_matrix(ratings))),
        "counts": [[int(v) for v in row] for row in games],
        # Kept so a page can re-anchor intervals on any contender without a refit.
        "samples": [[_num(v, 1) for v in row] for row in samples],
        "style_coefficients": coefficients,
        "n_style_votes": n_style,
        "n_votes": int(data.weights.sum()),
    }
