"""Pair choice for a new battle. Pure: no Django, explicit RNG (STYLE rule 6)."""
import numpy as np


def sample_pair(weights: np.ndarray, rng: np.random.Generator) -> tuple[int, int]:
    """Return (left, right) indices of two different contenders.

    An unordered pair {i, j} is chosen with probability proportional to w_i * w_j, so the
    admin's weights raise a contender's share of battles; placement is then a fair coin
    (DESIGN invariant 3). Raises ValueError with fewer than two positive weights.
    """
    weights = np.asarray(weights, dtype=float)
    if (weights < 0).any() or np.count_nonzero(weights) < 2:
        raise ValueError("need at least two contenders with positive weight")
    pair_weights = np.outer(weights, weights)
    np.fill_diagonal(pair_weights, 0.0)
    return sample_pair_from_matrix(pair_weights, rng)


def sample_pair_from_matrix(probabilities: np.ndarray, rng: np.random.Generator) -> tuple[int, int]:
    """(left, right) from a symmetric (K, K) matrix of pair probabilities (zero diagonal), e.g.
    `ratings.active_pair_weights`; placement is a fair coin. Raises ValueError if no pair is allowed."""
    probabilities = np.asarray(probabilities, dtype=float)
    upper = np.triu(probabilities + probabilities.T, k=1).ravel()
    if (upper < 0).any() or upper.sum() <= 0:
        raise ValueError("no pair has positive probability")
    flat = rng.choice(upper.size, p=upper / upper.sum())
    i, j = divmod(int(flat), probabilities.shape[0])
    return (i, j) if rng.random() < 0.5 else (j, i)
