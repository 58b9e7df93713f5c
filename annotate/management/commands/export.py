import shutil
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from annotate.exports import build
from annotate.exports.config import AGGREGATIONS, FORMATS, FORMS, UNITS, ExportConfigInvalid, export_config_from_json
from annotate.exports.service import export_create
from annotate.models import ExportStatus


class Command(BaseCommand):
    help = (
        "Export preference data (campaigns and/or arena votes) as a dataset snapshot in TRL / Hugging Face format, "
        "built inline; prints the snapshot folder and its manifest. See the README, \"Exporting datasets\"."
    )

    def add_arguments(self, parser):
        src = parser.add_argument_group("sources")
        src.add_argument("--campaign", action="append", default=[], metavar="SLUG", help="A campaign (repeatable).")
        src.add_argument("--arena", action="store_true", help="Arena votes.")
        flt = parser.add_argument_group("filters")
        flt.add_argument("--since", help="First day (YYYY-MM-DD, UTC) a judgment was made.")
        flt.add_argument("--until", help="Last day (inclusive).")
        flt.add_argument("--contender", action="append", default=[], help="Rows with a response by this model (repeatable).")
        flt.add_argument("--category", action="append", default=[], help="Arena category / item meta category (repeatable).")
        flt.add_argument("--min-agreement", type=float, default=0.0, help="Minimum item agreement, 0–1.")
        flt.add_argument("--min-gold-accuracy", type=float, default=0.0, help="Minimum annotator gold accuracy, 0–1.")
        flt.add_argument("--exclude-ties", action="store_true")
        flt.add_argument("--exclude-both-bad", action="store_true")
        flt.add_argument("--exclude-gold", action="store_true", help="Leave out gold items.")
        flt.add_argument("--exclude-flagged", action="store_true", help="Leave out flagged judgments.")
        out = parser.add_argument_group("output")
        out.add_argument("--unit", choices=UNITS, default="judgment")
        out.add_argument("--aggregation", choices=AGGREGATIONS, default="majority", help="With --unit item.")
        out.add_argument("--format", action="append", choices=FORMATS, default=[], help="Repeatable; default both.")
        out.add_argument("--form", choices=FORMS, default="text")
        out.add_argument("--kto", action="store_true", help="Also unpaired prompt/completion/label rows.")
        out.add_argument("--test-fraction", type=float, default=0.0)
        out.add_argument("--scrub-pii", action="store_true", help="Replace e-mails, phone numbers, IPs, card numbers.")
        out.add_argument("--licence", default="CC-BY-4.0")
        out.add_argument("--name", default="export")
        out.add_argument("--out", type=Path, help="Also copy the finished files into this folder.")
        out.add_argument("--progress-every", type=int, default=build.PROGRESS_EVERY, help="Judgments between progress lines.")

    def handle(self, *args, **opts):
        data = {
            "name": opts["name"], "campaigns": opts["campaign"], "arena": opts["arena"], "since": opts["since"],
            "until": opts["until"], "contenders": opts["contender"], "categories": opts["category"],
            "min_item_agreement": opts["min_agreement"], "min_gold_accuracy": opts["min_gold_accuracy"],
            "exclude_ties": opts["exclude_ties"], "exclude_both_bad": opts["exclude_both_bad"],
            "exclude_gold": opts["exclude_gold"], "exclude_flagged": opts["exclude_flagged"], "unit": opts["unit"],
            "aggregation": opts["aggregation"], "formats": opts["format"] or list(FORMATS), "form": opts["form"],
            "kto": opts["kto"], "test_fraction": opts["test_fraction"], "scrub_pii": opts["scrub_pii"],
            "licence": opts["licence"],
        }  # fmt: skip
        try:
            snapshot = export_create(config=export_config_from_json(data), queue=False)
        except ExportConfigInvalid as exc:
            raise CommandError(str(exc)) from None
        self.stderr.write(f"snapshot {snapshot.pk}: building")
        snapshot = build.export_build(
            snapshot_id=snapshot.pk,
            progress=lambda done, total: self.stderr.write(f"  {done} of {total} judgments read"),
            progress_every=max(1, opts["progress_every"]),
        )
        if snapshot.status != ExportStatus.READY:
            raise CommandError(f"export {snapshot.pk} failed: {snapshot.error}")
        folder = build.export_dir(snapshot.pk)
        if opts["out"]:
            opts["out"].mkdir(parents=True, exist_ok=True)
            for f in snapshot.files:
                target = opts["out"] / f["name"]
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(folder / f["name"], target)
            folder = opts["out"]
        for f in snapshot.files:
            rows = "" if f["rows"] is None else f" {f['rows']} rows"
            self.stdout.write(f"{f['name']}:{rows} {f['bytes']} bytes sha256 {f['sha256'][:12]}")
        skipped = {k: v for k, v in snapshot.manifest.get("skipped", {}).items() if isinstance(v, dict) and v}
        if skipped:
            self.stdout.write(f"skipped ({snapshot.manifest['skipped']['unit']}): {skipped}")
        self.stdout.write(f"snapshot {snapshot.pk} READY; manifest: {folder / build.MANIFEST}")
        sys.stdout.flush()
