import json
import sys
from datetime import datetime
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from annotate.importing import CampaignImportRejected, CampaignSpec, campaign_import, campaign_import_from_arena
from annotate.importing.service import PROGRESS_EVERY

ORDERS = {"closest": "CLOSEST_FIRST", "random": "RANDOM", "sequential": "SEQUENTIAL"}


def _date(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise CommandError(f"not a date: {value!r} (use YYYY-MM-DD or an ISO datetime)") from None
    return timezone.make_aware(parsed) if timezone.is_naive(parsed) else parsed


class Command(BaseCommand):
    help = (
        "Create a campaign from a JSONL, CSV or Parquet file of items (and judgments), or with --from-arena "
        "from arena battles. Every row is checked first; a file with any bad row imports nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", nargs="?", type=Path, help="JSONL, CSV or Parquet (see the README).")
        parser.add_argument("--slug", required=True)
        parser.add_argument("--title", default="")
        parser.add_argument("--format", choices=["jsonl", "csv", "parquet"], help="Default: from the file extension.")
        parser.add_argument("--overlap", type=int, default=3, help="Judgments wanted per item; imported ones count.")
        parser.add_argument("--lease-s", type=int, default=1800)
        parser.add_argument("--gold-rate", type=float, default=0.0)
        parser.add_argument("--quota", type=int, default=0)
        parser.add_argument("--questions", type=Path, help="Question config, JSON (annotate/questions.py).")
        parser.add_argument("--instructions", type=Path, help="Markdown shown before the first item.")
        parser.add_argument("--order", choices=sorted(ORDERS), default="closest")
        parser.add_argument("--status", choices=["DRAFT", "ACTIVE", "PAUSED", "CLOSED"], default="ACTIVE")
        parser.add_argument("--source", default="", help="Names the judgments' origin: the same annotator gets the same pseudonym in every import from it (default: the slug).")
        parser.add_argument("--seed", type=int, help="Seed for the random item order (shuffle keys).")
        parser.add_argument("--progress-every", type=int, default=PROGRESS_EVERY, help="Rows between progress lines on stderr.")
        arena = parser.add_argument_group("from arena battles")
        arena.add_argument("--from-arena", action="store_true", help="One item per voted battle instead of a file.")
        arena.add_argument("--since", type=_date)
        arena.add_argument("--until", type=_date)
        arena.add_argument("--contender", action="append", default=[], help="Only battles with this contender (repeatable).")
        arena.add_argument("--category", default="")
        arena.add_argument("--include-unvoted", action="store_true", help="Also battles that are READY but not voted.")

    def _spec(self, opts) -> CampaignSpec:
        questions = instructions = None
        if opts["questions"]:
            try:
                questions = json.loads(opts["questions"].read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise CommandError(f"--questions: {exc}") from None
        if opts["instructions"]:
            try:
                instructions = opts["instructions"].read_text(encoding="utf-8")
            except (OSError, ValueError) as exc:
                raise CommandError(f"--instructions: {exc}") from None
        return CampaignSpec(
            slug=opts["slug"],
            title=opts["title"],
            overlap=opts["overlap"],
            lease_s=opts["lease_s"],
            gold_rate=opts["gold_rate"],
            quota=opts["quota"],
            questions=questions,
            instructions=instructions or "",
            item_order=ORDERS[opts["order"]],
            status=opts["status"],
        )

    def handle(self, *args, **opts):
        path = opts["file"]
        if opts["from_arena"] == (path is not None):
            raise CommandError("give a FILE or --from-arena, not both")
        if path is not None and not path.is_file():
            raise CommandError(f"{path} is not a file")

        def progress(phase: str, n: int):
            sys.stderr.write(f"{phase} {n} rows\n")
            sys.stderr.flush()

        common = {"seed": opts["seed"], "progress": progress, "progress_every": max(1, opts["progress_every"])}
        try:
            spec = self._spec(opts)
            if opts["from_arena"]:
                report = campaign_import_from_arena(
                    spec=spec, since=opts["since"], until=opts["until"], contenders=tuple(opts["contender"]),
                    category=opts["category"], include_unvoted=opts["include_unvoted"], **common,
                )  # fmt: skip
            else:
                report = campaign_import(path=path, spec=spec, fmt=opts["format"], source=opts["source"], **common)
        except CampaignImportRejected as exc:
            for line in exc.errors:
                self.stderr.write(line)
            more = exc.n_bad - len(exc.errors)
            raise CommandError(f"{exc}" + (f" ({more} more not shown)" if more > 0 else "")) from None
        self.stdout.write(
            self.style.SUCCESS(
                f"campaign {spec.slug}: {report.n_items} items ({report.n_gold} gold, {report.n_open} open), "
                f"{report.n_judgments} judgments by {report.n_annotators} annotators, in {report.seconds:.1f} s"
            )
        )
