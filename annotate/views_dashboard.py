"""Staff pages of a campaign: the live dashboard (page, partial, JSON), resuming a paused
annotator, and one item with all its judgments. Each view makes one selector or service call
and shapes the result for its template."""
import functools
from datetime import datetime

from django.contrib.auth.views import redirect_to_login
from django.http import HttpResponseForbidden, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET, require_POST

from annotate import plots
from annotate.models import Campaign
from annotate.services import annotator_resume
from annotate.stats import campaign_review_flags, campaign_stats
from annotate.stats.item import item_detail

BIAS_MIN_N = 20  # fewer positional choices: the share is too noisy to highlight
BIAS_P = 0.01
BIAS_BARS = 30  # annotators in the position-bias picture (most judgments first)


def staff_only(view):
    """Signed out: to the login page. Signed in without staff rights: 403."""

    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not request.user.is_staff:
            return HttpResponseForbidden("Staff only.")
        return view(request, *args, **kwargs)

    return wrapped


def _pct(value) -> str:
    return "–" if value is None else f"{value:.0%}"


def _annotator_rows(stats: dict) -> list[dict]:
    threshold = stats["campaign"]["gold_min_accuracy"]
    rows = []
    for r in stats["annotators"]["rows"]:
        biased = r["first_n"] >= BIAS_MIN_N and r["first_p"] is not None and r["first_p"] < BIAS_P
        low_gold = threshold > 0 and r["gold_accuracy"] is not None and r["gold_accuracy"] < threshold
        rows.append({
            **r, "gold_pct": _pct(r["gold_accuracy"]), "agreement_pct": _pct(r["agreement"]),
            "first_pct": _pct(r["first_share"]), "competence_pct": _pct(r["competence"]),
            "biased": biased, "low_gold": low_gold,
        })  # fmt: skip
    # paused first: they wait for a decision
    return sorted(rows, key=lambda r: r["status"] != "PAUSED")


def _plots(stats: dict, rows: list[dict]) -> dict:
    t = stats["throughput"]
    with_gold = [r for r in rows if r["gold_accuracy"] is not None and r["agreement"] is not None]
    if with_gold:
        points = [(r["pseudonym"], r["agreement"], r["gold_accuracy"], r["judgments"]) for r in with_gold]
        y_label = "gold accuracy"
    else:
        points = [(r["pseudonym"], r["agreement"], r["competence"], r["judgments"]) for r in rows
                  if r["agreement"] is not None and r["competence"] is not None]  # fmt: skip
        y_label = "competence (Dawid–Skene)"
    bias = [(r["pseudonym"], r["first_share"], r["first_n"]) for r in rows if r["first_share"] is not None][:BIAS_BARS]
    # every label inside is escaped by annotate/plots.py
    return {
        "throughput_svg": mark_safe(plots.throughput_chart(t["per_hour"], t["start_s"], t["bin_hours"])),
        "consensus_svg": mark_safe(plots.consensus_histogram(stats["consensus"]["histogram"])),
        "annotators_svg": mark_safe(plots.scatter(points, f"Agreement with the majority vs {y_label}", x_label="agreement with majority", y_label=y_label)),
        "annotators_y": y_label,
        "bias_svg": mark_safe(plots.share_bars(bias, "Share of choices for the response shown first")),
    }


def _board_context(campaign: Campaign) -> dict:
    stats = campaign_stats(campaign=campaign)
    progress = stats["progress"]
    rows = _annotator_rows(stats)
    wanted = progress["judgments_wanted"]
    agreement = stats["agreement"]
    return {
        "campaign": campaign,
        "stats": stats,
        "computed_at": datetime.fromisoformat(stats["computed_at"]),
        "progress": progress,
        "items_by_judgments": list(enumerate(progress["items_by_judgments"])),
        "complete_pct": _pct(progress["items_complete"] / progress["items"]) if progress["items"] else "–",
        "judgments_pct": _pct(min(progress["judgments"] / wanted, 1.0)) if wanted else "–",
        "agreement": agreement,
        "label_totals": list(zip(agreement["labels"], agreement["label_totals"])),
        "consensus": stats["consensus"],
        "consensus_mean_pct": _pct(stats["consensus"]["mean"]),
        "rows": rows,
        "paused": sum(r["status"] == "PAUSED" for r in rows),
        "flags": stats["rationale_flags"],
        **_plots(stats, rows),
    }


@require_GET
@staff_only
def dashboard_page(request, slug: str):
    campaign = get_object_or_404(Campaign, slug=slug)
    return render(request, "annotate/dashboard.html", _board_context(campaign))


@require_GET
@staff_only
def dashboard_partial(request, slug: str):
    campaign = get_object_or_404(Campaign, slug=slug)
    return render(request, "annotate/dashboard_board.html", _board_context(campaign))


@require_GET
@staff_only
def dashboard_json(request, slug: str):
    campaign = get_object_or_404(Campaign, slug=slug)
    return JsonResponse(campaign_stats(campaign=campaign))


@require_POST
@staff_only
def annotator_resume_view(request, slug: str, annotator_id: int):
    campaign = get_object_or_404(Campaign, slug=slug)
    annotator_resume(annotator_id=annotator_id, campaign_id=campaign.pk)
    return redirect(reverse("annotate:dashboard", args=[campaign.slug]) + "#annotators")


@require_GET
@staff_only
def item_page(request, slug: str, position: int):
    campaign = get_object_or_404(Campaign, slug=slug)
    flags = campaign_review_flags(campaign=campaign)
    return render(request, "annotate/item_detail.html", {"campaign": campaign, **item_detail(campaign=campaign, position=position, review_flags=flags)})
