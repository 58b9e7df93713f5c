"""import_battles: validated as a whole, imported in one transaction, unknown models created inactive."""
import json
import random

import pytest
from django.core.management import CommandError, call_command

from arena.models import Battle, BattleSource, Contender, Vote

pytestmark = pytest.mark.django_db


def write_jsonl(path, rows):
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return path


def test_jsonl_import_with_style_and_categories(tmp_path, capsys, contenders):
    rows = [
        {"model_a": contenders[0].slug, "model_b": "gpt-x", "winner": "model_a", "category": "coding", "len_a": 120, "len_b": 80},
        {"model_a": "gpt-x", "model_b": "claude-y", "winner": "tie (bothbad)", "turn": 2, "language": "German"},
        {
            "model_a": "claude-y", "model_b": contenders[0].display_name, "winner": "tie",
            "conv_metadata": {"sum_assistant_a_tokens": 10, "sum_assistant_b_tokens": 20, "header_count_a": {"h1": 1, "h2": 2}},
        },  # fmt: skip
        {"model_a": "claude-y", "model_b": "gpt-x", "winner": "model_b"},
    ]
    call_command("import_battles", str(write_jsonl(tmp_path / "b.jsonl", rows)))
    assert "imported 4 battles" in capsys.readouterr().out
    assert set(Contender.objects.filter(is_active=False).values_list("display_name", flat=True)) == {"gpt-x", "claude-y"}
    assert Battle.objects.filter(source=BattleSource.IMPORT, status="VOTED").count() == 4
    winners = sorted(Vote.objects.values_list("winner", flat=True))
    assert winners == ["BOTH_BAD", "LEFT", "RIGHT", "TIE"]
    coding = Battle.objects.get(category="coding")
    assert (coding.contender_left, coding.len_left, coding.len_right, coding.headers_left) == (contenders[0], 120, 80, None)
    nested = Battle.objects.get(vote__winner="TIE")
    assert (nested.len_left, nested.len_right, nested.headers_left, nested.contender_right) == (10, 20, 3, contenders[0])


def test_csv_import(tmp_path):
    path = tmp_path / "b.csv"
    path.write_text("model_a,model_b,winner,category\nm1,m2,model_a,\nm2,m3,tie,chat\n")
    call_command("import_battles", str(path))
    assert Vote.objects.count() == 2 and Contender.objects.count() == 3


def test_bad_rows_are_reported_by_line_and_nothing_is_imported(tmp_path, capsys):
    path = tmp_path / "bad.jsonl"
    lines = [
        json.dumps({"model_a": "a", "model_b": "b", "winner": "model_a"}),
        json.dumps({"model_a": "a", "model_b": "a", "winner": "model_a"}),
        json.dumps({"model_a": "a", "model_b": "b", "winner": "left"}),
        "{not json",
        json.dumps({"model_b": "b", "winner": "tie"}),
        json.dumps({"model_a": "a", "model_b": "b", "winner": "tie", "len_a": -3}),
        json.dumps(["a", "b"]),
    ]
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(CommandError, match="6 bad row"):
        call_command("import_battles", str(path))
    err = capsys.readouterr().err
    for expected in ("line 2: model_a and model_b are the same", "line 3: winner must be", "line 4: not valid UTF-8 JSON",
                     "line 5: model_a is missing", "line 6: len_a must be", "line 7: not an object"):  # fmt: skip
        assert expected in err
    assert not Battle.objects.exists() and not Contender.objects.exists()


def test_bad_encoding_and_empty_files(tmp_path):
    latin = tmp_path / "latin.csv"
    latin.write_bytes("model_a,model_b,winner\ncaf\xe9,b,model_a\n".encode("latin-1"))
    with pytest.raises(CommandError, match="bad row"):
        call_command("import_battles", str(latin))
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n\n")
    with pytest.raises(CommandError, match="bad row"):
        call_command("import_battles", str(empty))
    assert not Battle.objects.exists()


def test_fuzzed_files_never_import_partially(tmp_path):
    rng = random.Random(5)
    good = json.dumps({"model_a": "a", "model_b": "b", "winner": "model_b"})
    for i in range(40):
        lines = [good] * 5
        junk = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 60)))
        lines.insert(rng.randrange(6), junk.decode("latin-1"))
        path = tmp_path / f"fuzz{i}.jsonl"
        path.write_bytes("\n".join(lines).encode("latin-1"))
        try:
            call_command("import_battles", str(path))
        except CommandError:
            pass  # junk that is not a battle: the file is refused
        assert Vote.objects.count() % 5 == 0  # all or nothing per file, never a part
