"""manage.py campaign_stats SLUG [--json] [--fresh]: the dashboard's figures for scripts."""
import json

from django.core.management.base import BaseCommand, CommandError

from annotate.models import Campaign
from annotate.stats import campaign_stats


def _pct(value) -> str:
    return "-" if value is None else f"{value:.0%}"


def _num(value) -> str:
    return "-" if value is None else f"{value:.3f}"


def summary(stats: dict) -> list[str]:
    """A readable text summary of `campaign_stats` output."""
    c, p, a, k = stats["campaign"], stats["progress"], stats["agreement"], stats["consensus"]
    t = stats["throughput"]
    lines = [
        f"{c['title']} ({c['slug']}, {c['status'].lower()}), figures as of {stats['computed_at']} in {stats['compute_s']} s",
        f"items complete      {p['items_complete']} / {p['items']}   by judgments (0..>={c['overlap']}): {p['items_by_judgments']}",
        f"judgments           {p['judgments']} / {p['judgments_wanted']} wanted, {p['gold_judgments']} on {p['gold_items']} gold items, {p['live_leases']} live leases",
        f"throughput          {t['last_hour']} in the last hour, {t['last_24h']} in 24 h",
        f"choice              alpha {_num(a['choice']['alpha'])} (nominal), kappa {_num(a['choice']['kappa'])}, {a['choice']['units']} items with >= 2",
        f"preference          alpha {_num(a['preference']['alpha'])} (ordinal, signed by strength)",
    ]
    lines += [f"aspect {x['name']:<12} alpha {_num(x['alpha'])} ({x['level']})" for x in a["aspects"]]
    lines.append(f"consensus           mean {_pct(k['mean'])}, entropy {_num(k['mean_entropy'])} bits, {k['unanimous']} of {k['items']} unanimous")
    if k["lowest"]:
        lines.append("lowest consensus    " + ", ".join(f"#{i['position']} ({_pct(i['consensus'])})" for i in k["lowest"][:10]))
    lines += ["", f"{'annotator':<18}{'status':<8}{'judg.':>7}{'gold':>7}{'agree':>7}{'first':>7}{'time s':>8}{'DS':>6}"]
    for r in stats["annotators"]["rows"]:
        lines.append(
            f"{r['pseudonym'][:17]:<18}{r['status'].lower():<8}{r['judgments']:>7}{_pct(r['gold_accuracy']):>7}"
            f"{_pct(r['agreement']):>7}{_pct(r['first_share']):>7}{r['median_time_s'] if r['median_time_s'] is not None else '-':>8}"
            f"{_pct(r['competence']):>6}"
        )
    flags = stats["rationale_flags"]
    lines += ["", f"rationales flagged  {flags['judgments']} " + " ".join(f"{code.lower()}={n}" for code, n in sorted(flags["counts"].items()))]
    return lines


class Command(BaseCommand):
    help = "Print a campaign's progress, agreement and per-annotator figures (the dashboard's, without plots)."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--json", action="store_true", dest="as_json", help="machine-readable JSON (NaN as null)")
        parser.add_argument("--fresh", action="store_true", help="recompute, ignoring the cache")

    def handle(self, *args, slug: str, as_json: bool = False, fresh: bool = False, **options):
        campaign = Campaign.objects.filter(slug=slug).first()
        if campaign is None:
            raise CommandError(f"no campaign with slug {slug!r}")
        stats = campaign_stats(campaign=campaign, use_cache=not fresh)
        if as_json:
            self.stdout.write(json.dumps(stats, indent=2, ensure_ascii=False))
        else:
            self.stdout.write("\n".join(summary(stats)))
