import json

from django.core.management.base import BaseCommand, CommandError

from arena.leaderboards import leaderboard_fit, leaderboard_get_or_create


class Command(BaseCommand):
    help = "Fit a leaderboard now (Bradley–Terry, bootstrap intervals) and print it."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="One JSON object per contender.")
        parser.add_argument("--style-control", action="store_true")
        parser.add_argument("--category", default="", help="A battle category, or len:short|len:medium|len:long.")
        parser.add_argument("--exclude-both-bad", action="store_true")
        parser.add_argument("--ci", choices=["bootstrap", "sandwich"], default="bootstrap")

    def handle(self, *args, **opts):
        board = leaderboard_get_or_create(
            style_control=opts["style_control"], category=opts["category"], include_both_bad=not opts["exclude_both_bad"]
        )
        snapshot = leaderboard_fit(leaderboard_id=board.pk)
        if snapshot is None:
            raise CommandError("nothing to fit: no votes match, or a fit of this leaderboard is running")
        models = [m for m in snapshot.result["models"] if m["rating"] is not None]
        ci = opts["ci"]
        if opts["json"]:
            rows = [
                {"name": m["name"], "rating": m["rating"], "ci_low": m[ci][0], "ci_high": m[ci][1], "battles": m["battles"],
                 "rank": m[f"rank_{ci}"][0], "elo": m["elo"], "provisional": m["provisional"]}  # fmt: skip
                for m in models
            ]
            self.stdout.write(json.dumps(rows, indent=1))
            return
        self.stdout.write(f"{board}: {snapshot.n_votes} votes, fitted in {snapshot.fit_seconds:.2f}s ({ci} 95% intervals)")
        self.stdout.write(f"{'rank':>4}  {'model':<32} {'rating':>7}  {'95% CI':>15}  {'battles':>7}  {'elo':>7}")
        for m in models:
            flag = " (provisional)" if m["provisional"] else ""
            low, high = m[ci]
            self.stdout.write(f"{m[f'rank_{ci}'][0]:>4}  {m['name'][:32]:<32} {m['rating']:>7.1f}  [{low:>6.1f},{high:>6.1f}]  {m['battles']:>7}  {m['elo']:>7.1f}{flag}")
        for name, c in snapshot.result["style_coefficients"].items():
            self.stdout.write(f"style coefficient {name}: {c['value']} (se {c['se']})")
