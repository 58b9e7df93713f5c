"""A snapshot's result shaped for a page or a download: chosen interval method, optional anchor.
Pure: the result dict in, rows out."""
import numpy as np

from arena.ratings import percentile_intervals, rank_ranges

CI_METHODS = ("bootstrap", "sandwich")


def leaderboard_rows(result: dict, *, ci: str = "bootstrap", anchor_id: int | None = None, level: float = 0.95) -> list[dict]:
    """Rows best first: name, rating, ci_low, ci_high, rank, rank_worst, battles, win_rate, elo, provisional.

    With `anchor_id`, ratings are shifted so that contender is at 1000; bootstrap intervals are
    recomputed from the stored samples anchored round by round (exact), sandwich intervals are
    shifted (the anchor's own uncertainty is not moved onto the others)."""
    models = [m for m in result["models"] if m["rating"] is not None]
    anchor = next((m for m in models if m["id"] == anchor_id), None)
    low = np.array([m[ci][0] for m in models], dtype=float)
    high = np.array([m[ci][1] for m in models], dtype=float)
    shift = 0.0
    if anchor is not None:
        shift = 1000.0 - anchor["rating"]
        if ci == "bootstrap" and result.get("samples"):
            samples = np.array(result["samples"], dtype=float)
            anchored = samples - samples[:, [anchor["index"]]] + 1000.0
            cols = [m["index"] for m in models]
            low, high = percentile_intervals(anchored[:, cols], level)
            high = np.where(np.arange(len(models)) == models.index(anchor), 1000.0, high)
            low = np.where(np.arange(len(models)) == models.index(anchor), 1000.0, low)
        else:
            low, high = low + shift, high + shift
    best, worst = rank_ranges(low, high)
    rows = []
    for m, lo, hi, b, w in zip(models, low, high, best, worst):
        rows.append(
            {
                "id": m["id"], "name": m["name"], "rating": round(m["rating"] + shift, 1),
                "ci_low": round(float(lo), 1), "ci_high": round(float(hi), 1), "rank": int(b), "rank_worst": int(w),
                "battles": m["battles"], "win_rate": m["win_rate"], "elo": m["elo"], "provisional": m["provisional"],
            }  # fmt: skip
        )
    rows.sort(key=lambda r: (r["rank"], -r["rating"]))
    return rows


def matrices_in_order(result: dict, rows: list[dict]) -> dict:
    """Win-rate (observed, predicted) and count matrices re-ordered like the rows."""
    by_id = {m["id"]: m["index"] for m in result["models"]}
    order = [by_id[r["id"]] for r in rows]
    pick = lambda matrix: [[matrix[i][j] for j in order] for i in order]  # noqa: E731
    return {"names": [r["name"] for r in rows], "observed": pick(result["win_rate"]), "predicted": pick(result["predicted"]), "counts": pick(result["counts"])}
