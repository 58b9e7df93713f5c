"""Ratings math for the leaderboard: pure NumPy/SciPy, no Django, no I/O, explicit RNG (STYLE rule 6).

Typical refit (the counts come straight from a SQL GROUP BY):

    counts = count_table(matchups, outcomes, n_models, weights=row_counts)
    fit = bt_fit(counts)
    samples = bootstrap_bt(counts, rounds=100, rng=rng, params=fit.params)
    ci_low, ci_high = percentile_intervals(samples)      # or sandwich_intervals(counts, fit.params)
    rank, worst_rank = rank_ranges(ci_low, ci_high)

Modules: counts (cells and matrices), elo (online Elo), bt (Bradley–Terry, bootstrap,
sandwich), intervals, style (style control), sampling_active (active pair sampling),
simulate (battles from known strengths), scale (Elo scale, RatingFitError).
"""
from arena.ratings.bt import (
    DEFAULT_REG,
    BTFit,
    bootstrap_bt,
    bt_fit,
    bt_sandwich_cov,
    newton_pairs,
    sandwich_intervals,
)
from arena.ratings.counts import (
    Counts,
    battle_matrix,
    battles_per_model,
    comparison_components,
    count_table,
    pair_totals,
    predicted_win_matrix,
    provisional,
    win_matrix,
)
from arena.ratings.elo import elo_ratings
from arena.ratings.intervals import percentile_intervals, rank_ranges
from arena.ratings.sampling_active import active_pair_weights, votes_to_target
from arena.ratings.scale import RatingFitError, to_ratings
from arena.ratings.simulate import simulate_battles, simulate_style_battles
from arena.ratings.style import (
    STYLE_FEATURES,
    STYLE_REG,
    StyleFit,
    bootstrap_style,
    style_features,
    style_fit,
    style_sandwich_intervals,
)

__all__ = [
    "DEFAULT_REG",
    "STYLE_FEATURES",
    "STYLE_REG",
    "BTFit",
    "Counts",
    "RatingFitError",
    "StyleFit",
    "active_pair_weights",
    "battle_matrix",
    "battles_per_model",
    "bootstrap_bt",
    "bootstrap_style",
    "bt_fit",
    "bt_sandwich_cov",
    "comparison_components",
    "count_table",
    "elo_ratings",
    "newton_pairs",
    "pair_totals",
    "percentile_intervals",
    "predicted_win_matrix",
    "provisional",
    "rank_ranges",
    "sandwich_intervals",
    "simulate_battles",
    "simulate_style_battles",
    "style_features",
    "style_fit",
    "style_sandwich_intervals",
    "to_ratings",
    "votes_to_target",
    "win_matrix",
]
