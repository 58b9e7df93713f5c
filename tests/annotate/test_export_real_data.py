"""Round trips on real human preferences: import as a campaign (labels as judgments), export,
and get the same chosen/rejected pairs and rationales back.

hh-rlhf (tests/data/hh-rlhf, MIT): multi-turn transcripts; lfqa-experts (tests/data/lfqa-experts,
MIT): expert choices with free-text justifications."""
import hashlib
import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from annotate.exports.build import export_build, export_dir
from annotate.exports.config import ExportConfig
from annotate.exports.service import export_create
from annotate.importing import CampaignSpec, campaign_import
from annotate.models import ExportStatus
from annotate.samples.lfqa import lfqa_items, plain_text
from tests.support.server import ROOT, child_env

pytestmark = pytest.mark.django_db
DATA = Path(__file__).resolve().parents[1] / "data"
HH = DATA / "hh-rlhf" / "harmless-base-test.slice.jsonl"
LFQA = DATA / "lfqa-experts" / "experts_pairwise_human_preferences.slice.jsonl"
TURN = re.compile(r"\n\n(Human|Assistant): ")
ROLES = {"Human": "user", "Assistant": "assistant"}
NAMES = {v: k for k, v in ROLES.items()}


@pytest.fixture(autouse=True)
def _export_dir(settings, tmp_path, monkeypatch):
    settings.EXPORT_DIR = tmp_path / "exports"
    monkeypatch.setenv("PREFARENA_VERSION", "test-version")


def transcript(text: str) -> list[dict]:
    parts = TURN.split(text)
    assert parts[0] == "", text[:80]
    return [{"role": ROLES[role], "content": content} for role, content in zip(parts[1::2], parts[2::2])]


def hh_items(rows: list[dict]) -> list[dict]:
    """prompt = the transcript up to the final assistant turn, as chat messages; candidates =
    the two final assistant turns (chosen first); one imported judgment choosing the chosen."""
    items = []
    for i, row in enumerate(rows):
        chosen, rejected = transcript(row["chosen"]), transcript(row["rejected"])
        assert chosen[:-1] == rejected[:-1] and chosen[-1]["role"] == "assistant"
        items.append({
            "id": f"hh-{i}",
            "prompt": chosen[:-1],
            "candidates": [{"text": chosen[-1]["content"]}, {"text": rejected[-1]["content"]}],
            "judgments": [{"annotator": "hh-crowd", "choice": 0}],
        })  # fmt: skip
    return items


def write_jsonl(path: Path, items: list[dict]) -> Path:
    path.write_text("".join(json.dumps(i, ensure_ascii=False) + "\n" for i in items), encoding="utf-8")
    return path


def export(**config):
    snapshot = export_create(config=ExportConfig(**config), queue=False)
    snapshot = export_build(snapshot_id=snapshot.pk)
    assert snapshot.status == ExportStatus.READY, snapshot.error
    return export_dir(snapshot.pk), snapshot


def rows_of(folder: Path, name: str) -> list[dict]:
    return [json.loads(line) for line in (folder / name).read_text(encoding="utf-8").splitlines()]


def test_hh_rlhf_round_trip_gives_back_the_transcripts(tmp_path):
    source = [json.loads(line) for line in HH.read_text(encoding="utf-8").splitlines()]
    assert len(source) == 200
    report = campaign_import(path=write_jsonl(tmp_path / "hh.jsonl", hh_items(source)), spec=CampaignSpec(slug="hh", overlap=1))
    assert (report.n_items, report.n_judgments) == (200, 200)
    folder, snapshot = export(campaigns=("hh",), form="conversational", formats=("jsonl", "parquet"), test_fraction=0.2)
    rows = rows_of(folder, "preference/train.jsonl") + rows_of(folder, "preference/test.jsonl")
    assert len(rows) == 200 and snapshot.manifest["skipped"]["preference"] == {}
    # chosen / rejected transcripts, rebuilt from the conversational rows, are the file's, byte for byte
    def text(messages):
        return "".join(f"\n\n{NAMES[m['role']]}: {m['content']}" for m in messages)

    got = Counter((text(r["prompt"] + r["chosen"]), text(r["prompt"] + r["rejected"])) for r in rows)
    assert got == Counter((r["chosen"], r["rejected"]) for r in source)
    # imported judgments: the shown order is unknown
    assert all(r["chosen_position"] is None and r["rejected_position"] is None for r in rows)
    # text form: the same pairs; a multi-turn prompt is rendered "User: … / Assistant: …"
    folder, _ = export(campaigns=("hh",), formats=("jsonl",))
    text_rows = rows_of(folder, "preference/train.jsonl")
    assert Counter((r["chosen"], r["rejected"]) for r in text_rows) == Counter(
        (transcript(r["chosen"])[-1]["content"], transcript(r["rejected"])[-1]["content"]) for r in source
    )
    multi = next(r for r in source if r["chosen"].count("\n\nHuman: ") > 1)
    first = transcript(multi["chosen"])[0]["content"]
    assert any(r["prompt"].startswith(f"User: {first}\n\nAssistant: ") for r in text_rows)


def test_lfqa_round_trip_gives_back_choices_and_rationales(tmp_path):
    lines = LFQA.read_text(encoding="utf-8").splitlines()
    source = [json.loads(line) for line in lines]
    campaign_import(path=write_jsonl(tmp_path / "lfqa.jsonl", lfqa_items(lines)), spec=CampaignSpec(slug="lfqa", overlap=3))
    folder, snapshot = export(campaigns=("lfqa",), formats=("jsonl",))
    rows = rows_of(folder, "preference/train.jsonl")
    # (lfqa_items turns the source's HTML line breaks into newlines; nothing else changes)
    expected = Counter(
        (plain_text(r["question"]), *map(plain_text, (r["answer_a"], r["answer_b"]) if r["overall_preference"] == -1 else (r["answer_b"], r["answer_a"])),
         r["justification"].strip())
        for r in source
    )  # fmt: skip
    assert Counter((r["prompt"], r["chosen"], r["rejected"], r["rationale"]) for r in rows) == expected
    # item agreement and vote counts per pair: 20 pairs with 3 experts, 20 with 2, 10 with 1
    per_item = {r["item_id"]: r["n_votes"] for r in rows}
    assert Counter(per_item.values()) == {3: 20, 2: 20, 1: 10}
    assert snapshot.manifest["sources"][0]["annotators"] == 3
    # item unit: one row per pair that has a majority, its rationales those of the majority
    folder, snapshot = export(campaigns=("lfqa",), formats=("jsonl",), unit="item")
    items = rows_of(folder, "preference/train.jsonl")
    assert len(items) + snapshot.manifest["skipped"]["preference"].get("no_majority", 0) == 50
    for row in items:
        assert len(row["rationales"]) == row["n_agree"] > row["n_votes"] / 2


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_embedded_default_on_sqlite_exports_the_bytes_postgresql_does(tmp_path):
    """The demo runs on SQLite. The same imports and export through manage.py, on SQLite
    (items and judgments read by a cursor) and on PostgreSQL (read by COPY in a thread), give
    the same data files: lfqa's plain prompts and rationales, hh's multi-turn prompts."""
    lines = LFQA.read_text(encoding="utf-8").splitlines()
    hh = [json.loads(line) for line in HH.read_text(encoding="utf-8").splitlines()]
    sources = {"lfqa": (write_jsonl(tmp_path / "lfqa.jsonl", lfqa_items(lines)), "3"), "hh": (write_jsonl(tmp_path / "hh.jsonl", hh_items(hh)), "1")}
    digests = {}
    for name, database in (("postgresql", {}), ("sqlite", {"DATABASE_URL": ""})):
        env = child_env(PREFARENA_VAR_DIR=str(tmp_path / name), PSEUDONYM_KEY="same-key", PREFARENA_VERSION="t", **database)

        def manage(*args: str) -> None:
            done = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
            assert done.returncode == 0, f"{name}: manage.py {args[0]}\n{done.stdout}\n{done.stderr}"

        if database:
            manage("migrate", "--noinput", "-v", "0")
        for slug, (path, overlap) in sources.items():
            manage("import_campaign", str(path), "--slug", slug, "--overlap", overlap)
        out = tmp_path / name / "out"
        manage("export", "--campaign", "lfqa", "--campaign", "hh", "--format", "jsonl", "--format", "parquet", "--test-fraction", "0.2", "--out", str(out))
        digests[name] = {str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest() for p in out.glob("preference/*")}
    assert (tmp_path / "sqlite" / "prefarena.sqlite3").exists()
    assert set(digests["sqlite"]) == {f"preference/{split}.{fmt}" for split in ("train", "test") for fmt in ("jsonl", "parquet")}
    assert digests["sqlite"] == digests["postgresql"]
