"""Dataset export from PostgreSQL: 1M judgment rows to Parquet and to JSONL, rows/s and peak RSS
of the build (issue 5 targets: >= 100k rows/s, < 300 MB).

Shape: one campaign, 200k items x 5 judgments = 1M annotations (500 annotators, two candidates
of ~110 characters, prompts of ~45, a ~40-character rationale on one judgment in five, one in
ten a tie, strengths 1..3), seeded with INSERT … SELECT generate_series, then VACUUM ANALYZE (~30 s). Each format
is built separately by `export_create` + `export_build` in its own process (which reports
its own peak RSS, VmHWM); unit judgment, text form, no KTO, no split.

Run: DATABASE_URL=postgres://postgres@127.0.0.1:5432/prefarena_bench make bench PYTEST_ARGS="-k export"
(EXPORT_BENCH_ITEMS=20000 for a quick look.)
"""
import json
import os
import time

import pytest
from django.db import connection

from annotate.models import Annotation, Campaign, ExportSnapshot
from tests.bench.cpu import python_measured
from tests.bench.figures import report
from tests.support.server import child_env

pytestmark = [pytest.mark.bench, pytest.mark.django_db(transaction=True)]
N_ITEMS = int(os.environ.get("EXPORT_BENCH_ITEMS", "200000"))
PER_ITEM, N_ANNOTATORS = 5, 500

SEED_SQL = [
    """INSERT INTO annotate_item (campaign_id, position, external_id, prompt, messages, meta, is_gold, gold, shuffle_key,
           n_candidates, n_leased, n_submitted, is_open, created_at)
       SELECT %(c)s, g, '', 'Prompt ' || g || ': why do rivers bend and meander?', NULL, '{}', false, '', g, 2, 0, 5, false, now()
       FROM generate_series(1, %(n)s) g""",
    """INSERT INTO annotate_candidate (item_id, index, text, model, meta)
       SELECT i.id, k, 'Answer ' || k || ' to item ' || i.position || ': water erodes the outer bank faster than the inner one, '
              || 'so the bend grows.', 'model-' || k, '{}'
       FROM annotate_item i CROSS JOIN generate_series(0, 1) k WHERE i.campaign_id = %(c)s""",
    """INSERT INTO annotate_annotator (campaign_id, user_id, kind, pseudonym, status, platform_study, platform_session,
           n_submitted, n_gold, n_gold_correct, paused_reason, joined_at)
       SELECT %(c)s, NULL, 'EXTERNAL', substr(md5('a' || g), 1, 16), 'ACTIVE', '', '', 0, 0, 0, '', now()
       FROM generate_series(0, %(a)s - 1) g""",
    """INSERT INTO annotate_assignment (item_id, annotator_id, "order", state, leased_at, expires_at, ended_at, draft, skip_reason)
       SELECT i.id, a.id, CASE WHEN (i.position + j) %% 2 = 0 THEN '[0, 1]'::jsonb ELSE '[1, 0]'::jsonb END, 'SUBMITTED',
              now(), now(), now(), '{}', ''
       FROM annotate_item i CROSS JOIN generate_series(0, %(k)s - 1) j
       JOIN (SELECT id, row_number() OVER (ORDER BY id) - 1 AS r FROM annotate_annotator WHERE campaign_id = %(c)s) a
         ON a.r = (i.position * %(k)s + j) %% %(a)s
       WHERE i.campaign_id = %(c)s""",
    """INSERT INTO annotate_annotation (assignment_id, verdict, choice, ranking, strength, aspects, flags, rationale,
           time_spent_ms, source, created_at)
       SELECT s.id, CASE WHEN s.id %% 10 = 0 THEN 'TIE' ELSE 'CANDIDATE' END,
              CASE WHEN s.id %% 10 = 0 THEN NULL ELSE (s.id %% 3 = 0)::int END, NULL,
              CASE WHEN s.id %% 10 = 0 THEN NULL ELSE 1 + s.id %% 3 END, '{}', '[]',
              CASE WHEN s.id %% 5 = 1 THEN 'The chosen answer explains the erosion.' ELSE '' END, 12000, 'APP', now()
       FROM annotate_assignment s JOIN annotate_item i ON i.id = s.item_id WHERE i.campaign_id = %(c)s""",
]

BUILD = """
import json, sys, time, django
django.setup()
from annotate.exports.build import export_build
from annotate.exports.config import ExportConfig
from annotate.exports.service import export_create
snapshot = export_create(config=ExportConfig(name=sys.argv[2], campaigns=("bench-export",), formats=(sys.argv[1],)), queue=False)
started = time.monotonic()
snapshot = export_build(snapshot_id=snapshot.pk)
print(json.dumps({"seconds": time.monotonic() - started, "status": snapshot.status, "error": snapshot.error,
                  "manifest_rows": snapshot.manifest.get("rows"), "files": snapshot.files}))
"""


def seed() -> float:
    started = time.monotonic()
    campaign = Campaign.objects.create(slug="bench-export", title="Export bench", overlap=PER_ITEM)
    with connection.cursor() as cursor:
        for sql in SEED_SQL:
            cursor.execute(sql, {"c": campaign.pk, "n": N_ITEMS, "k": PER_ITEM, "a": N_ANNOTATORS})
        # VACUUM as autovacuum would for any table of this size: without it the first build
        # after the bulk insert also pays for setting 1M rows' hint bits (~3-5 s, measured)
        cursor.execute("VACUUM ANALYZE")
    return time.monotonic() - started


def run_build(fmt: str, export_dir) -> tuple[dict, float, float]:
    """(the build's report, wall seconds of the process, its own peak RSS MB)."""
    env = child_env(EXPORT_DIR=str(export_dir), PREFARENA_VERSION="bench")
    elapsed, peak_mb, out = python_measured(BUILD, fmt, f"bench-{fmt}", env=env)
    return json.loads(out.strip().splitlines()[-1]), elapsed, peak_mb


def test_export_1m_judgments(tmp_path):
    seconds_seed = seed()
    n = Annotation.objects.filter(assignment__item__campaign__slug="bench-export").count()
    assert n == N_ITEMS * PER_ITEM
    report("export_seed", judgments=n, items=N_ITEMS, seconds=round(seconds_seed, 1))
    for fmt in ("parquet", "jsonl"):
        result, wall, rss = run_build(fmt, tmp_path / "exports")
        assert result["status"] == "READY", result["error"]
        rows = sum(result["manifest_rows"]["preference"].values())
        size = sum(f["bytes"] for f in result["files"] if f["name"].startswith("preference/"))
        report(
            f"export_{fmt}", judgments=n, rows=rows, build_s=round(result["seconds"], 1), process_s=round(wall, 1),
            judgments_per_s=round(n / result["seconds"]), rows_per_s=round(rows / result["seconds"]), peak_rss_mb=round(rss),
            file_mb=round(size / 2**20, 1), target=">=100k rows/s, <300 MB",
        )  # fmt: skip
    assert ExportSnapshot.objects.filter(status="READY").count() == 2
