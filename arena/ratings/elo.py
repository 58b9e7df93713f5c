"""Online Elo, for the live feel; the ranking of record is Bradley–Terry (bt.py)."""
import numpy as np


def elo_ratings(
    matchups, outcomes, n_models: int, k: float = 4.0, base: float = 10.0, scale: float = 400.0, init=1000.0
) -> np.ndarray:
    """(K,) ratings after applying the battles one by one in the order given.

    Each battle moves the first model by k * (outcome - expected) and the second by the
    opposite amount, expected = 1 / (1 + base ** ((r_second - r_first) / scale)); a tie
    (0.5) counts half. Order matters by design: this is the online rating, as FastChat's
    `compute_online_elo`. `init` is one starting rating for all, or (K,) ratings to continue
    from (a refit applies only the votes cast since the last one).
    """
    matchups = np.asarray(matchups, dtype=np.int64)
    outcomes = np.asarray(outcomes, dtype=np.float64)
    if matchups.shape != (outcomes.shape[0], 2):
        raise ValueError("matchups must be (n, 2) and outcomes (n,)")
    ratings = np.broadcast_to(np.asarray(init, dtype=np.float64), (n_models,)).tolist()
    # A Python loop over plain floats: each step depends on the last, and list indexing is
    # several times faster than NumPy scalar access (about 1 s per million battles).
    for first, second, outcome in zip(matchups[:, 0].tolist(), matchups[:, 1].tolist(), outcomes.tolist()):
        expected = 1.0 / (1.0 + base ** ((ratings[second] - ratings[first]) / scale))
        delta = k * (outcome - expected)
        ratings[first] += delta
        ratings[second] -= delta
    return np.array(ratings)
