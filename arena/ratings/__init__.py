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
# Names load their module on first use (PEP 562): the web process imports this package for
# percentile_intervals and rank_ranges (NumPy only), and must not pay for SciPy (~0.5 s per
# process), which bt, style and sampling_active import.
import importlib

_MODULE_OF = {
    "BTFit": "bt",
    "DEFAULT_REG": "bt",
    "bootstrap_bt": "bt",
    "bt_fit": "bt",
    "bt_sandwich_cov": "bt",
    "newton_pairs": "bt",
    "sandwich_intervals": "bt",
    "Counts": "counts",
    "battle_matrix": "counts",
    "battles_per_model": "counts",
    "comparison_components": "counts",
    "count_table": "counts",
    "pair_totals": "counts",
    "predicted_win_matrix": "counts",
    "provisional": "counts",
    "win_matrix": "counts",
    "elo_ratings": "elo",
    "percentile_intervals": "intervals",
    "rank_ranges": "intervals",
    "active_pair_weights": "sampling_active",
    "votes_to_target": "sampling_active",
    "RatingFitError": "scale",
    "to_ratings": "scale",
    "simulate_battles": "simulate",
    "simulate_style_battles": "simulate",
    "STYLE_FEATURES": "style",
    "STYLE_REG": "style",
    "StyleFit": "style",
    "bootstrap_style": "style",
    "style_features": "style",
    "style_fit": "style",
    "style_sandwich_intervals": "style",
}
__all__ = sorted(_MODULE_OF)


def __getattr__(name: str):
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__():
    return __all__
