"""Intervals from bootstrap samples, and rank ranges as Chatbot Arena shows them."""
import numpy as np


def percentile_intervals(samples: np.ndarray, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """(ci_low, ci_high) percentile intervals over the rounds of (rounds, K) rating samples."""
    tail = 100.0 * (1.0 - level) / 2.0
    low, high = np.percentile(np.asarray(samples), [tail, 100.0 - tail], axis=0)
    return low, high


def rank_ranges(ci_low: np.ndarray, ci_high: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(rank, worst_rank) int arrays: the range of ranks the intervals allow.

    rank = 1 + number of models whose lower bound exceeds this model's upper bound (the
    Chatbot Arena rank, shared by models that are not separable); worst_rank = number of
    models whose upper bound is at least this model's lower bound. Models with NaN
    intervals (no battles) are not ranked: 0 in both.
    """
    ci_low, ci_high = np.asarray(ci_low, dtype=float), np.asarray(ci_high, dtype=float)
    ranked = ~(np.isnan(ci_low) | np.isnan(ci_high))
    low, high = ci_low[ranked], ci_high[ranked]
    better = (low[None, :] > high[:, None]).sum(axis=1)
    worse = (high[None, :] < low[:, None]).sum(axis=1)
    rank = np.zeros(len(ci_low), dtype=np.int64)
    worst = np.zeros(len(ci_low), dtype=np.int64)
    rank[ranked] = 1 + better
    worst[ranked] = ranked.sum() - worse
    return rank, worst
