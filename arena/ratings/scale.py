"""From natural parameters to the Elo scale, and the errors the fits raise.

params are on the natural (log-odds) scale: P(i beats j) = 1 / (1 + exp(params[j] - params[i])).
ratings are on the Elo scale: ratings = params * scale / ln(base) + offset, where the offset
puts the mean of the played models at `init`, or the `anchor` model at `anchor_rating`.
No model is anchored by default (STYLE, Numerics: no hard-coded anchor model).
"""
import math

import numpy as np


class RatingFitError(RuntimeError):
    """The optimiser stopped before the fit converged (message says where it stopped)."""


def reference_weights(n_models: int, played: np.ndarray | None, anchor: int | None) -> np.ndarray:
    """(K,) weights m such that ratings are measured relative to m @ params.

    The mean of the played models, or the anchor alone. Raises ValueError for an anchor that
    is out of range or has no battles (its rating would say nothing).
    """
    played = np.ones(n_models, dtype=bool) if played is None else np.asarray(played, dtype=bool)
    if anchor is not None:
        if not 0 <= anchor < n_models or not played[anchor]:
            raise ValueError(f"anchor {anchor} is not a model with battles")
        weights = np.zeros(n_models)
        weights[anchor] = 1.0
        return weights
    if not played.any():
        raise ValueError("no model has any battle")
    return played / played.sum()


def to_ratings(
    params,
    *,
    played: np.ndarray | None = None,
    base: float = 10.0,
    scale: float = 400.0,
    init: float = 1000.0,
    anchor: int | None = None,
    anchor_rating: float = 1000.0,
) -> np.ndarray:
    """Elo-scale ratings from params (K,) or a stack of them (R, K); NaN for unplayed models."""
    params = np.asarray(params, dtype=np.float64)
    n_models = params.shape[-1]
    if played is not None and not np.any(played):
        return np.full(params.shape, np.nan)
    reference = reference_weights(n_models, played, anchor)
    level = anchor_rating if anchor is not None else init
    ratings = (params - (params @ reference)[..., None]) * (scale / math.log(base)) + level
    if played is not None:
        ratings = np.where(np.asarray(played, dtype=bool), ratings, np.nan)
    return ratings


def contrast_matrix(n_models: int, played: np.ndarray | None, anchor: int | None) -> np.ndarray:
    """(K, K) linear map C with ratings - offset = C @ params * scale / ln(base)."""
    return np.eye(n_models) - np.outer(np.ones(n_models), reference_weights(n_models, played, anchor))
