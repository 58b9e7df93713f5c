"""The campaign dashboard's figures: read the judgments once, compute with `annotate.agreement`,
cache the result briefly.

`campaign_stats(campaign=...)` is the selector the dashboard, its JSON and `manage.py
campaign_stats` call. The heavy part (every figure derived from the judgments) is cached
under a version made of the campaign's newest annotation id and its item and annotator
counts, so a new judgment, import or annotator invalidates it and many open dashboards share
one computation. Live leases and annotator statuses are cheap and always read fresh.

Measured on PostgreSQL (2 cores shared with other work, load ~2.5): 100k items, 300k
judgments, 300 annotators, a rationale on each: 5.7 s to compute (read 1.7 s, Dawid–Skene
1.4 s, rationale checks on the newest 30k 2.5 s, the rest 0.1 s); a cached hit ~20 ms
(tests/annotate/test_stats_bench.py).
"""
import time

from django.core.cache import cache
from django.utils import timezone

from annotate.models import Annotation, Annotator, Assignment, AssignmentState, Campaign
from annotate.stats import figures, people
from annotate.stats.reading import campaign_judgments_read

CACHE_S = 600
LOCK_S = 120  # longer than the slowest computation; a crashed one frees the lock by then
# A campaign whose figures take long to compute is recomputed at most every THROTTLE x its
# compute time (capped): a busy campaign sends campaign.changed several times a second.
THROTTLE = 10
THROTTLE_MAX_S = 60.0


def _key(campaign_id: int, suffix: str) -> str:
    return f"annotate:stats:{campaign_id}:{suffix}"


def _version(campaign: Campaign) -> str:
    # ORDER BY id DESC LIMIT 1 walks the primary key backwards and stops at the campaign's newest
    # annotation (~1 ms); an aggregate Max() joined all 300k rows first (~300 ms).
    # Items are created only with their campaign (the import), so their count can't change it.
    last = Annotation.objects.filter(assignment__item__campaign=campaign).order_by("-id").values_list("id", flat=True).first() or 0
    n_annotators = Annotator.objects.filter(campaign=campaign).count()
    return f"{last}.{n_annotators}.{campaign.updated_at.timestamp():.0f}"


def campaign_figures_compute(campaign: Campaign) -> dict:
    """Every judgment-derived figure, as plain JSON-able data (NaN -> None). No cache."""
    started = time.perf_counter()
    now = timezone.now()
    j = campaign_judgments_read(campaign)
    result = {
        "computed_at": now.isoformat(),
        "judgments": j.n,
        "progress": figures.progress(j),
        "throughput": figures.throughput(j, now.timestamp()),
        "agreement": figures.agreement(j),
        "consensus": figures.consensus(j),
        "annotators": people.annotators(j),
        "rationale_flags": people.flags(j),
    }
    result["compute_s"] = round(time.perf_counter() - started, 3)
    return result


def _figures_cached(campaign: Campaign) -> tuple[dict, bool]:
    """(figures, stale). Stale figures are served while another request computes fresh ones, or
    while a slow campaign's last computation is younger than its throttle."""
    version = _version(campaign)
    hit = cache.get(_key(campaign.pk, version))
    if hit is not None:
        return hit, False
    latest = cache.get(_key(campaign.pk, "latest"))
    if latest is not None:
        age = time.time() - latest["_at"]
        if age < min(THROTTLE * latest["compute_s"], THROTTLE_MAX_S) and latest["compute_s"] > 0.5:
            return latest, True
    lock = _key(campaign.pk, "lock")
    if not cache.add(lock, 1, timeout=LOCK_S):
        if latest is not None:
            return latest, True
        # first computation already running elsewhere: compute too rather than show nothing
        return campaign_figures_compute(campaign), False
    try:
        result = campaign_figures_compute(campaign)
        result["_at"] = time.time()
        cache.set(_key(campaign.pk, version), result, CACHE_S)
        cache.set(_key(campaign.pk, "latest"), result, CACHE_S)
    finally:
        cache.delete(lock)
    return result, False


def campaign_review_flags(*, campaign: Campaign) -> dict:
    """The rationale review flags by annotation id (what the item page shows), from the cached
    figures: none of the dashboard's live counts."""
    return _figures_cached(campaign)[0]["rationale_flags"]["by_annotation"]


def campaign_stats(*, campaign: Campaign, use_cache: bool = True) -> dict:
    """The dashboard's figures for `campaign`: the cached judgment figures plus fresh live
    leases, campaign settings and annotator statuses. `stale` says the figures lag the newest
    judgments (a refresh a few seconds later gets fresh ones). Reads; holds no lock."""
    if use_cache:
        result, stale = _figures_cached(campaign)
    else:
        result, stale = campaign_figures_compute(campaign), False
    result = {k: v for k, v in result.items() if k != "_at"}
    now = timezone.now()
    live = Assignment.objects.filter(item__campaign=campaign, state=AssignmentState.LEASED, expires_at__gt=now).count()
    statuses = {row[0]: row[1:] for row in Annotator.objects.filter(campaign=campaign).values_list("id", "status", "paused_reason")}
    rows = []
    for row in result["annotators"]["rows"]:
        status, reason = statuses.get(row["id"], (row["status"], row["paused_reason"]))
        rows.append({**row, "status": status, "paused_reason": reason})
    return {
        "campaign": {
            "id": campaign.pk, "slug": campaign.slug, "title": campaign.title, "status": campaign.status,
            "overlap": campaign.overlap, "gold_min_accuracy": campaign.gold_min_accuracy,
            "gold_min_answered": campaign.gold_min_answered,
        },  # fmt: skip
        **result,
        "stale": stale,
        "progress": {**result["progress"], "live_leases": live},
        "annotators": {**result["annotators"], "rows": rows},
    }
