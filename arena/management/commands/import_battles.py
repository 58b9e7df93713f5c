from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from arena.battle_import import ImportRejected, battles_import


class Command(BaseCommand):
    help = "Import battles (JSONL or CSV: model_a, model_b, winner, ...) as votes. A file with any bad row imports nothing."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--format", choices=["jsonl", "csv"], help="Default: from the file extension.")

    def handle(self, *args, **opts):
        path = opts["file"]
        if not path.is_file():
            raise CommandError(f"{path} is not a file")
        try:
            report = battles_import(path=path, fmt=opts["format"])
        except ImportRejected as exc:
            for line in exc.errors:
                self.stderr.write(line)
            more = exc.n_bad - len(exc.errors)
            raise CommandError(f"{exc}" + (f" ({more} more not shown)" if more > 0 else "")) from None
        if report.created_contenders:
            self.stdout.write(f"created {len(report.created_contenders)} inactive contender(s): {', '.join(report.created_contenders[:20])}")
        self.stdout.write(self.style.SUCCESS(f"imported {report.n_rows} battles"))
