"""Dataset exports end to end on PostgreSQL: export_create -> export_build -> files, manifest
and card; determinism, loading with `datasets`, privacy, filters, a killed build, the command."""
import hashlib
import json
import os
import shutil
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from django.core.management import CommandError, call_command
from django.db import transaction

from annotate import errors
from annotate.exports import build as build_module
from annotate.exports import reading
from annotate.exports.build import ExportFileNotFound, export_build, export_dir, export_file_path
from annotate.exports.config import ExportConfig, ExportConfigInvalid
from annotate.exports.service import export_create
from annotate.leasing import assignment_next
from annotate.models import Annotation, ExportSnapshot, ExportStatus
from annotate.pseudonyms import pseudonym
from annotate.services import CrowdIds, annotation_submit, annotator_join, crowd_join
from arena.models import Battle, BattleStatus, Contender, Response, Turn, Vote
from tests.annotate.factories import campaign_make
from tests.support.server import ROOT, child_env

pytestmark = pytest.mark.django_db
QUESTIONS = {
    "aspects": [{"name": "helpfulness", "kind": "scale", "low": 1, "high": 5}, {"name": "safety", "kind": "pairwise"}],
    "rationale": "optional",
}
SECRET_WORDS = ("alice.smith", "alice@corp.example", "bob.jones", "bob@corp.example", "PROLIFIC5f3a9c77", "STUDY9911", "10.1.2.3")


@pytest.fixture(autouse=True)
def _export_dir(settings, tmp_path, monkeypatch):
    settings.EXPORT_DIR = tmp_path / "exports"
    monkeypatch.setenv("PREFARENA_VERSION", "test-version")


def answer_for(k: int, n_candidates: int) -> dict:
    """A varied answer in display positions: choices with strength, aspects, rationales, a tie,
    a both-bad, a flagged one."""
    aspects = {"helpfulness": [1 + (k + p) % 5 for p in range(n_candidates)], "safety": k % n_candidates}
    if n_candidates > 2:
        return {"verdict": "RANKED", "ranking": [(k + p) % n_candidates for p in range(n_candidates)], "aspects": aspects}
    if k % 7 == 3:
        return {"verdict": "TIE", "aspects": aspects | {"safety": "TIE"}}
    if k % 7 == 5:
        return {"verdict": "BOTH_BAD", "aspects": aspects, "flags": ["unsafe"]}
    rationale = f"Response {'AB'[k % 2]} is better; mail me at person{k}@example.com" if k % 3 == 0 else ""
    return {"verdict": "CANDIDATE", "choice": k % 2, "strength": 1 + k % 3, "aspects": aspects, "rationale": rationale}


def work(annotator, rng, start: int, answer=answer_for) -> int:
    k = start
    while True:
        try:
            lease = assignment_next(annotator_id=annotator.pk, rng=rng)
        except errors.NoItemsLeft:
            return k
        annotation_submit(annotator_id=annotator.pk, assignment_id=lease.pk, answer=answer(k, lease.item.n_candidates))
        k += 1


def seed(django_user_model) -> dict:
    """Two campaigns (pairs with gold items; three candidates, ranked) worked by two signed-in
    users and a crowd participant, and three arena battles voted by one of the users."""
    rng = np.random.default_rng(7)
    pairs = campaign_make(slug="pairs", n_items=8, n_gold=2, overlap=3, gold_rate=0.3, questions=QUESTIONS,
                          prompt_format="Prompt {position}: reply to jane@example.org please")  # fmt: skip
    ranks = campaign_make(slug="ranks", n_items=3, n_candidates=3, overlap=2, questions=QUESTIONS)
    alice = django_user_model.objects.create_user("alice.smith", email="alice@corp.example")
    bob = django_user_model.objects.create_user("bob.jones", email="bob@corp.example")
    k = 0
    for campaign in (pairs, ranks):
        people = [annotator_join(campaign=campaign, user=alice), annotator_join(campaign=campaign, user=bob)]
        if campaign is pairs:
            people.append(crowd_join(campaign=campaign, crowd=CrowdIds(participant="PROLIFIC5f3a9c77", study="STUDY9911"), address="10.1.2.3")[1])
        for annotator in people:
            k = work(annotator, rng, k)
    left = Contender.objects.create(slug="tiny-a", display_name="A", model="x")
    right = Contender.objects.create(slug="tiny-b", display_name="B", model="y")
    for i, winner in enumerate(["LEFT", "RIGHT", "TIE"]):
        battle = Battle.objects.create(contender_left=left, contender_right=right, status=BattleStatus.VOTED, category="chat", owner=alice)
        for index in range(1 + (i == 1)):
            turn = Turn.objects.create(battle=battle, index=index, user_message=f"Battle {i} turn {index}?")
            for side in ("LEFT", "RIGHT"):
                Response.objects.create(turn=turn, side=side, status="DONE", text=f"{side.lower()} {i}.{index} from 10.1.2.3")
        Vote.objects.create(battle=battle, winner=winner, strength="CLEAR" if winner != "TIE" else "", rationale=f"because {i}", voter=alice, fingerprint="fp")
    return {"pairs": pairs, "ranks": ranks, "alice": alice, "bob": bob}


def build(**config) -> ExportSnapshot:
    snapshot = export_create(config=ExportConfig(**config), queue=False)
    return export_build(snapshot_id=snapshot.pk)


def digests(snapshot) -> dict[str, str]:
    folder = export_dir(snapshot.pk)
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


def jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


ALL = {"campaigns": ("pairs", "ranks"), "arena": True}


def test_build_writes_files_with_checksums_manifest_and_card(django_user_model):
    seed(django_user_model)
    snapshot = build(**ALL, kto=True, test_fraction=0.4, name="everything", licence="CC-BY-4.0")
    assert snapshot.status == ExportStatus.READY and snapshot.error == "" and snapshot.finished_at
    folder = export_dir(snapshot.pk)
    names = [f["name"] for f in snapshot.files]
    assert names == sorted(n for n in names if "/" in n) + ["README.md", "manifest.json"]
    assert {"preference/train.jsonl", "preference/train.parquet", "kto/train.jsonl", "kto/train.parquet"} <= set(names)
    for f in snapshot.files:
        data = (folder / f["name"]).read_bytes()
        assert (len(data), hashlib.sha256(data).hexdigest()) == (f["bytes"], f["sha256"])
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest == snapshot.manifest
    assert manifest["config"] == snapshot.config and manifest["code_version"] == "test-version"
    assert manifest["cutoff"]["upto_annotation_id"] == snapshot.upto_annotation_id > 0
    assert [c["name"] for c in manifest["schema"]["preference"]][:3] == ["prompt", "chosen", "rejected"]
    # rows: every judgment accounted for (pairs: 10 items x 3; ranks: 3 items x 2, 3 pairs each; arena: 3 votes)
    chosen = Annotation.objects.filter(assignment__item__campaign__slug="pairs", verdict="CANDIDATE").count()
    ties = Annotation.objects.filter(verdict="TIE").count() + 1  # the arena's tie
    assert sum(manifest["rows"]["preference"].values()) == chosen + 6 * 3 + 2  # ranks: 6 rankings of 3 -> 3 pairs each
    assert manifest["skipped"]["preference"]["tie"] == ties
    by_file = {f["name"]: f["rows"] for f in manifest["files"]}
    assert by_file["preference/train.jsonl"] == by_file["preference/train.parquet"] == len(jsonl(folder / "preference/train.jsonl"))
    assert [s["source"] for s in manifest["sources"]] == ["pairs", "ranks", "arena"]
    assert manifest["sources"][0]["annotators"] == 3 and manifest["sources"][2]["judgments"] == 3
    card = (folder / "README.md").read_text()
    assert card.startswith("---\nlicense: cc-by-4.0\nconfigs:\n- config_name: kto")
    assert "Campaign `pairs`" in card and "Arena battles" in card and "load_dataset(" in card and "| `margin` |" in card


def test_rows_keep_fixed_key_order_and_map_positions(django_user_model):
    data = seed(django_user_model)
    snapshot = build(campaigns=("pairs",), formats=("jsonl",))
    rows = jsonl(export_dir(snapshot.pk) / "preference/train.jsonl")
    assert all(list(r) == [c["name"] for c in snapshot.manifest["schema"]["preference"]] for r in rows)
    # the stored choice is a candidate index; the row's positions come from the assignment's order
    for annotation in Annotation.objects.filter(assignment__item__campaign=data["pairs"], verdict="CANDIDATE").select_related("assignment__item"):
        item = annotation.assignment.item
        order = annotation.assignment.order
        mine = [r for r in rows if r["item_id"] == f"pairs/{item.position}" and r["annotator"] == annotation.assignment.annotator.pseudonym]
        assert len(mine) == 1
        assert mine[0]["chosen"] == item.candidates.get(index=annotation.choice).text
        assert mine[0]["chosen_position"] == order.index(annotation.choice)
        assert mine[0]["rejected_position"] == order.index(1 - annotation.choice)
        assert mine[0]["strength"] == annotation.strength and mine[0]["rationale"] == annotation.rationale


def test_rebuilding_the_same_snapshot_gives_byte_identical_files(django_user_model):
    data = seed(django_user_model)
    snapshot = build(**ALL, kto=True, test_fraction=0.3, form="conversational", scrub_pii=True)
    first = digests(snapshot)
    assert len(first) == 2 + 2 * sum(len(v) for v in snapshot.manifest["rows"].values())
    # more judgments arrive after the cut-off; the folder is lost; the snapshot is rebuilt
    extra = campaign_make(slug="later", n_items=1, questions=QUESTIONS)
    work(annotator_join(campaign=data["pairs"], user=django_user_model.objects.create_user("carol")), np.random.default_rng(1), 0)
    work(annotator_join(campaign=extra, user=data["alice"]), np.random.default_rng(1), 0)
    shutil.rmtree(export_dir(snapshot.pk))
    ExportSnapshot.objects.filter(pk=snapshot.pk).update(status=ExportStatus.FAILED)
    rebuilt = export_build(snapshot_id=snapshot.pk)
    assert rebuilt.status == ExportStatus.READY
    assert digests(rebuilt) == first
    assert rebuilt.manifest == snapshot.manifest
    # READY: a second call does nothing
    assert export_build(snapshot_id=snapshot.pk).finished_at == rebuilt.finished_at


@pytest.mark.parametrize("form", ["text", "conversational"])
def test_files_load_with_datasets(django_user_model, tmp_path, monkeypatch, form):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "hf"))
    import datasets

    seed(django_user_model)
    snapshot = build(**ALL, kto=True, test_fraction=0.4, form=form)
    folder = export_dir(snapshot.pk)
    schema = snapshot.manifest["schema"]
    for kind in ("preference", "kto"):
        splits = snapshot.manifest["rows"][kind]
        assert set(splits) == {"train", "test"}
        for fmt, builder in (("jsonl", "json"), ("parquet", "parquet")):
            files = {split: str(folder / f"{kind}/{split}.{fmt}") for split in splits}
            loaded = datasets.load_dataset(builder, data_files=files, cache_dir=str(tmp_path / "hf"))
            for split, n in splits.items():
                assert loaded[split].num_rows == n
                assert loaded[split].column_names == [c["name"] for c in schema[kind]]
            first = loaded["train"][0]
            if form == "conversational":
                assert first["prompt"][-1]["role"] == "user" and set(first["prompt"][0]) == {"role", "content"}
                assert (first["chosen"] if kind == "preference" else first["completion"])[0]["role"] == "assistant"
            else:
                assert isinstance(first["prompt"], str)
    # no prompt in both splits
    train = {json.dumps(r["prompt"]) for r in jsonl(folder / "preference/train.jsonl")}
    test = {json.dumps(r["prompt"]) for r in jsonl(folder / "preference/test.jsonl")}
    assert train and test and not train & test
    # the card's front matter lets the folder itself load
    folder_loaded = datasets.load_dataset(str(folder), "preference", cache_dir=str(tmp_path / "hf"))
    assert folder_loaded["train"].num_rows == snapshot.manifest["rows"]["preference"]["train"]


def test_no_personal_data_in_any_file_and_pseudonyms_match(django_user_model):
    data = seed(django_user_model)
    snapshot = build(**ALL, kto=True, scrub_pii=True, formats=("jsonl", "parquet"))
    folder = export_dir(snapshot.pk)
    blobs = {p.name: p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    for word in (*SECRET_WORDS, "jane@example.org", "@example.com", str(data["alice"].pk) + "@"):
        assert not any(word.encode() in blob for blob in blobs.values()), word
    rows = jsonl(folder / "preference/train.jsonl")
    alice = pseudonym("user", str(data["alice"].pk))
    crowd = pseudonym("crowd", "PROLIFIC5f3a9c77")
    assert {r["annotator"] for r in rows} == {alice, pseudonym("user", str(data["bob"].pk)), crowd}
    # one person, one pseudonym across campaigns and the arena
    assert {r["annotator"] for r in rows if r["source"] == "arena"} == {alice}
    assert any("[EMAIL]" in r["rationale"] for r in rows) and any("[IP]" in r["chosen"] for r in rows if r["source"] == "arena")
    scrub = snapshot.manifest["scrub"]
    assert scrub["enabled"] and scrub["counts"]["email"] > 10 and scrub["counts"]["ip"] == 6  # 3 battles x 2 final answers


def test_filters(django_user_model):
    data = seed(django_user_model)
    everything = build(campaigns=("pairs",), formats=("jsonl",))
    rows = jsonl(export_dir(everything.pk) / "preference/train.jsonl")
    assert any(r["item_id"].endswith(("/9", "/10")) for r in rows)  # gold items 9 and 10
    no_gold = build(campaigns=("pairs",), formats=("jsonl",), exclude_gold=True, exclude_ties=True, exclude_both_bad=True)
    kept = jsonl(export_dir(no_gold.pk) / "preference/train.jsonl")
    assert not any(r["item_id"].endswith(("/9", "/10")) for r in kept)
    assert not {"tie", "both_bad"} & set(no_gold.manifest["skipped"]["preference"])
    # gold accuracy: the crowd worker answers gold items wrong or right by the answer pattern; a
    # threshold of 1.0 keeps only annotators with every gold answer right (or none)
    strict = build(campaigns=("pairs",), formats=("jsonl",), min_gold_accuracy=1.0)
    people = {r["annotator"] for r in jsonl(export_dir(strict.pk) / "preference/train.jsonl")}
    from annotate.models import Annotator

    perfect = {a.pseudonym for a in Annotator.objects.filter(campaign=data["pairs"]) if gold_accuracy_up_to_now(a) in (None, 1.0)}
    assert people == perfect and people != {r["annotator"] for r in rows}
    models = build(**ALL, formats=("jsonl",), contenders=("tiny-b",))
    assert {r["source"] for r in jsonl(export_dir(models.pk) / "preference/train.jsonl")} == {"arena"}
    dated = build(**ALL, formats=("jsonl",), until="2000-01-01")
    assert dated.status == ExportStatus.READY and dated.manifest["rows"]["preference"] == {}


def gold_accuracy_up_to_now(annotator) -> float | None:
    answers = Annotation.objects.filter(assignment__annotator=annotator, assignment__item__is_gold=True)
    right = [a.verdict == "CANDIDATE" and str(a.choice) == a.assignment.item.gold for a in answers]
    return sum(right) / len(right) if right else None


def test_item_unit_rows(django_user_model):
    seed(django_user_model)
    snapshot = build(campaigns=("pairs",), formats=("parquet",), unit="item", aggregation="competence", kto=True)
    import pyarrow.parquet as pq

    table = pq.read_table(export_dir(snapshot.pk) / "preference/train.parquet")
    assert table.column_names[:4] == ["prompt", "chosen", "rejected", "rationales"]
    rows = table.to_pylist()
    assert len({r["item_id"] for r in rows}) == len(rows) and all(len(r["annotator"]) == r["n_votes"] for r in rows)
    assert all(r["n_agree"] <= r["n_votes"] for r in rows)
    assert snapshot.manifest["skipped"]["unit"] == "items"


def test_export_file_path_refuses_unlisted_names(django_user_model):
    seed(django_user_model)
    snapshot = build(campaigns=("pairs",), formats=("jsonl",))
    assert export_file_path(snapshot, "preference/train.jsonl").is_file()
    assert export_file_path(snapshot, "manifest.json").is_file()
    for name in ("../manifest.json", "/etc/passwd", "preference/train.parquet", "preference", ""):
        with pytest.raises(ExportFileNotFound):
            export_file_path(snapshot, name)
    snapshot.status = ExportStatus.FAILED
    with pytest.raises(ExportFileNotFound):
        export_file_path(snapshot, "manifest.json")


def test_a_campaign_deleted_before_the_build_fails_it_readably_and_leaves_no_folder(settings):
    campaign_make(slug="real", n_items=1)
    gone = campaign_make(slug="gone", n_items=1)
    snapshot = export_create(config=ExportConfig(campaigns=("real", "gone")), queue=False)
    gone.delete()
    snapshot = export_build(snapshot_id=snapshot.pk)
    assert snapshot.status == ExportStatus.FAILED and snapshot.error == "campaigns: no campaign with slug gone"
    assert not export_dir(snapshot.pk).exists() and not list(Path(settings.EXPORT_DIR).glob(".tmp-*"))


def test_an_unknown_campaign_is_refused_before_anything_is_created(tmp_path):
    campaign_make(slug="real", n_items=1)
    with pytest.raises(ExportConfigInvalid, match="campaigns: no campaign with slug gone"):
        export_create(config=ExportConfig(campaigns=("real", "gone")), queue=False)
    with pytest.raises(CommandError, match="campaigns: no campaign with slug gone"):
        call_command("export", "--campaign", "real", "--campaign", "gone", "--out", str(tmp_path / "out"))
    assert not ExportSnapshot.objects.exists()


def test_an_export_nothing_matches_is_ready_with_only_card_and_manifest_and_says_so(django_user_model, client, admin_user):
    seed(django_user_model)
    snapshot = build(campaigns=("pairs",), since="2099-01-01")
    assert snapshot.status == ExportStatus.READY
    assert sorted(f["name"] for f in snapshot.files) == ["README.md", "manifest.json"]
    card = (export_dir(snapshot.pk) / "README.md").read_text(encoding="utf-8")
    assert "configs:" not in card.split("---")[1]  # no data files for the Hub to list
    client.force_login(admin_user)
    for url in (f"/annotate/exports/{snapshot.pk}/", "/annotate/exports/"):
        assert "No row matched these settings" in client.get(url).content.decode()
    done = build(campaigns=("pairs",))
    html = client.get(f"/annotate/exports/{done.pk}/").content.decode()
    assert "No row matched" not in html and "<dt>Rows written (preference)</dt><dd>train: " in html


def test_command_builds_inline_and_copies(django_user_model, tmp_path, capsys):
    seed(django_user_model)
    out = tmp_path / "out"
    call_command("export", "--campaign", "pairs", "--arena", "--format", "jsonl", "--kto", "--form", "conversational",
                 "--test-fraction", "0.3", "--out", str(out), "--progress-every", "5", "--name", "cli")  # fmt: skip
    printed = capsys.readouterr()
    snapshot = ExportSnapshot.objects.get(name="cli")
    assert snapshot.status == ExportStatus.READY and "judgments read" in printed.err
    assert re.search(rf"\b\d+ of {snapshot.rows_total} judgments read", printed.err) and "of ?" not in printed.err
    assert f"manifest: {out / 'manifest.json'}" in printed.out
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()) == sorted(f["name"] for f in snapshot.files)
    with pytest.raises(Exception, match="choose at least one source"):
        call_command("export", "--format", "jsonl")


# --- a worker killed mid-export ------------------------------------------------------------
KILLABLE = """
import sys, time, django
django.setup()
from annotate.exports import build, reading
reading.BLOCK_BYTES = 1  # a block per item
build.export_build(snapshot_id=sys.argv[1], progress=lambda done, total: time.sleep(0.3), progress_every=1)
"""


@pytest.mark.django_db(transaction=True)
def test_a_killed_build_leaves_nothing_ready_and_a_rebuild_succeeds(django_user_model, settings):
    seed(django_user_model)
    snapshot = export_create(config=ExportConfig(**ALL), queue=False)
    env = child_env(EXPORT_DIR=str(settings.EXPORT_DIR), PREFARENA_VERSION="test-version")
    proc = subprocess.Popen([sys.executable, "-c", KILLABLE, str(snapshot.pk)], cwd=ROOT, env=env)
    try:
        deadline = time.monotonic() + 60
        while ExportSnapshot.objects.get(pk=snapshot.pk).rows_done < 3:
            assert proc.poll() is None and time.monotonic() < deadline, "the build ended before it could be killed"
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    killed = ExportSnapshot.objects.get(pk=snapshot.pk)
    assert killed.status == ExportStatus.RUNNING and not killed.files
    assert not export_dir(snapshot.pk).exists()
    assert list(Path(settings.EXPORT_DIR).glob(f".tmp-{snapshot.pk}-*"))  # the half-written folder, never final
    rebuilt = export_build(snapshot_id=snapshot.pk)
    assert rebuilt.status == ExportStatus.READY and export_dir(snapshot.pk).is_dir()
    assert not list(Path(settings.EXPORT_DIR).glob(".tmp-*"))


# --- the reader thread (a build outside any transaction reads ahead on its own connection) ---
def reader_threads() -> list:
    """The build's threads still running: the reader and the files' writers."""
    return [t for t in threading.enumerate() if t.name in ("export-reader", "export-writer")]


@pytest.mark.django_db(transaction=True)
def test_reading_ahead_in_a_thread_gives_the_same_files_as_reading_inline(django_user_model, monkeypatch):
    seed(django_user_model)
    monkeypatch.setattr(reading, "READ_AHEAD_JUDGMENTS", 1)  # many small batches, the queue often full
    monkeypatch.setattr(reading, "READ_AHEAD_BATCHES", 1)
    monkeypatch.setattr(reading, "BLOCK_BYTES", 1)
    readers = []
    blocks = reading.campaign_blocks
    monkeypatch.setattr(reading, "campaign_blocks", lambda *a, **k: (readers.append(threading.current_thread().name), blocks(*a, **k))[1])
    monkeypatch.setattr(build_module, "campaign_blocks", reading.campaign_blocks)
    config = dict(ALL, formats=("jsonl", "parquet"), kto=True)
    threaded = build(**config)
    with transaction.atomic():  # a second connection would not see this transaction: read inline
        inline = build(**config)
    assert threaded.status == inline.status == ExportStatus.READY
    assert readers == ["export-reader", "export-reader", "MainThread", "MainThread"]
    data = lambda snapshot: {name: digest for name, digest in digests(snapshot).items() if "/" in name}  # noqa: E731
    assert data(threaded) == data(inline) and len(data(threaded)) == 4  # card and manifest name the snapshot
    assert not reader_threads()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("where", ["reader", "writer"])
def test_an_error_on_either_side_of_the_read_ahead_fails_the_build(django_user_model, monkeypatch, settings, where):
    seed(django_user_model)
    monkeypatch.setattr(reading, "READ_AHEAD_JUDGMENTS", 1)
    monkeypatch.setattr(reading, "READ_AHEAD_BATCHES", 1)
    monkeypatch.setattr(reading, "BLOCK_BYTES", 1)  # a block per item: the COPY is mid-way at the error
    calls = []

    def broken(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("disk on fire")
        return original(*args, **kwargs)

    if where == "reader":
        original = reading._block_items
        monkeypatch.setattr(reading, "_block_items", broken)
    else:
        original = build_module.FileSet.write
        monkeypatch.setattr(build_module.FileSet, "write", lambda self, *a: broken(self, *a))
    snapshot = export_create(config=ExportConfig(**ALL), queue=False)
    with pytest.raises(RuntimeError, match="disk on fire"):
        export_build(snapshot_id=snapshot.pk)
    failed = ExportSnapshot.objects.get(pk=snapshot.pk)
    assert failed.status == ExportStatus.FAILED and failed.error == "RuntimeError: disk on fire"
    assert not list(Path(settings.EXPORT_DIR).glob("*"))
    assert not reader_threads()  # stopped and joined, the reader's connection closed


# --- the columnar rows (common case) against rows.py, through both ways of reading ----------
TRICKY = ["", "null", "N/A", "a,b", 'said "no"\nthen, yes', "é 😀 \\ back", "NULL", "  "]


def plain_answer(k: int, n_candidates: int) -> dict:
    """No aspects: the common case that columnar.block_rows takes."""
    if k % 7 == 3:
        return {"verdict": "TIE"}
    if k % 7 == 5:
        return {"verdict": "BOTH_BAD"}
    return {"verdict": "CANDIDATE", "choice": k % 2, "strength": 1 + k % 3, "rationale": TRICKY[k % len(TRICKY)]}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("options", [{}, {"test_fraction": 0.4, "min_item_agreement": 0.6, "exclude_ties": True}])
def test_the_columnar_rows_give_the_bytes_of_rows_py(django_user_model, monkeypatch, options):
    """Read by COPY in a thread (not in a transaction) and built by columnar.block_rows, read by
    a cursor inline (in a transaction), and built by rows.py item by item: the same files."""
    campaign = campaign_make(slug="plain", n_items=9, overlap=3, questions={"rationale": "optional", "strength": True})
    rng, k = np.random.default_rng(3), 0
    for name in ("ann", "ben", "cat"):
        k = work(annotator_join(campaign=campaign, user=django_user_model.objects.create_user(name)), rng, k, plain_answer)
    config = dict(campaigns=("plain",), formats=("jsonl", "parquet"), **options)
    taken = []  # per block: whether block_rows built it (not None)
    block_rows = build_module.block_rows

    def recorded(*args):
        out = block_rows(*args)
        taken.append(out is not None)
        return out

    monkeypatch.setattr(build_module, "block_rows", recorded)
    columnar = build(**config)
    assert taken and all(taken)
    with transaction.atomic():
        inline = build(**config)
    monkeypatch.setattr(build_module, "block_rows", lambda *a: None)  # every item through rows.py
    generic = build(**config)
    data = lambda snapshot: {name: digest for name, digest in digests(snapshot).items() if "/" in name}  # noqa: E731
    assert data(columnar) == data(inline) == data(generic) and data(columnar)
    assert columnar.manifest["rows"] == generic.manifest["rows"] and columnar.manifest["skipped"] == generic.manifest["skipped"]
    assert columnar.manifest["sources"] == generic.manifest["sources"]
    if not options:
        rationales = {r["rationale"] for r in jsonl(export_dir(columnar.pk) / "preference/train.jsonl")}
        assert {"null", "N/A", "", 'said "no"\nthen, yes'} <= rationales  # text, not NULL, through COPY's CSV
    else:
        assert set(columnar.manifest["rows"]["preference"]) == {"train", "test"}
        assert {"below_min_item_agreement", "both_bad"} <= set(columnar.manifest["skipped"]["preference"])
