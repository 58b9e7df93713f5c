"""Which two contenders meet next: active sampling from the latest fit when there is one
(votes go where intervals are widest), else weighted random."""
import numpy as np
from django.conf import settings
from django.core.cache import cache

from arena.models import Contender, LeaderboardSnapshot
from arena.sampling import sample_pair, sample_pair_from_matrix

CACHE_S = 60  # the matrix changes only when a fit lands; recomputing it per battle is waste


def _active_matrix(contenders: list[Contender], weights: np.ndarray) -> np.ndarray | None:
    snapshot_id = _main_snapshot_id()
    if snapshot_id is None:
        return None
    key = f"pairs:{snapshot_id}:" + ",".join(f"{c.pk}x{c.sampling_weight}" for c in contenders)
    cached = cache.get(key)
    if cached is not None:
        return np.array(cached)
    # Imported here, on a cache miss: arena.ratings pulls in SciPy (~0.5 s), which the web
    # process otherwise never needs (as arena/leaderboards.py does for fitting).
    from arena.ratings import active_pair_weights

    result = LeaderboardSnapshot.objects.values_list("result", flat=True).get(pk=snapshot_id)
    by_id = {m["id"]: m for m in result["models"]}
    k = len(contenders)
    ratings, low, high = (np.full(k, np.nan) for _ in range(3))
    counts = np.zeros((k, k))
    for i, c in enumerate(contenders):
        m = by_id.get(c.pk)
        if m and m["rating"] is not None:
            ratings[i], (low[i], high[i]) = m["rating"], m["bootstrap"]
        for j, d in enumerate(contenders):
            if m and d.pk in by_id:
                counts[i, j] = result["counts"][m["index"]][by_id[d.pk]["index"]]
    matrix = active_pair_weights(ratings, low, high, counts, weights, explore=settings.ARENA["EXPLORE"])
    cache.set(key, matrix.tolist(), CACHE_S)
    return matrix


def _main_snapshot_id() -> int | None:
    """The latest fit of the plain, all-votes leaderboard (only its id: results are large)."""
    return (
        LeaderboardSnapshot.objects.filter(leaderboard__style_control=False, leaderboard__category="", leaderboard__include_both_bad=True)
        .order_by("-created_at")
        .values_list("pk", flat=True)
        .first()
    )


def pair_choose(contenders: list[Contender], rng: np.random.Generator) -> tuple[int, int]:
    """(left, right) indices into `contenders` (at least two, all active)."""
    weights = np.array([c.sampling_weight for c in contenders])
    if settings.ARENA["SAMPLING"] == "active":
        try:
            matrix = _active_matrix(contenders, weights)
            if matrix is not None:
                return sample_pair_from_matrix(matrix, rng)
        except ValueError:  # a degenerate fit (no allowed pair): fall back to the weights
            pass
    return sample_pair(weights, rng)
