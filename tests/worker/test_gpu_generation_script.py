"""The GPU throughput script (tests/bench/gpu_generation.py) runs on the CPU too: keep it working."""

import json

from tests.bench import gpu_generation
from worker.backends import BackendSpec, get_backend


def test_script_counts_every_generated_token_per_batch_size(tiny_model, tmp_path, capsys):
    out = tmp_path / "figures.json"

    rows = gpu_generation.main(
        ["--model-dir", str(tiny_model), "--batches", "1,3", "--new-tokens", "5", "--repeats", "1", "--json", str(out)]
    )

    assert [(r["batch"], r["tokens"], r["device"]) for r in rows] == [(1, 5, "cpu"), (3, 15, "cpu")]
    assert rows[0]["ratio_vs_batch_1"] == 1.0
    assert rows[1]["ratio_vs_batch_1"] == round(rows[1]["tokens_per_s"] / rows[0]["tokens_per_s"], 2)
    assert json.loads(out.read_text())["rows"] == rows
    printed = capsys.readouterr().out
    assert "batch    3:     15 tokens" in printed
    # The model stays loaded for the rest of the process: its generation settings are as before.
    loaded = get_backend(BackendSpec(kind="transformers", model=str(tiny_model)))
    assert not loaded._loaded.model.generation_config.min_new_tokens
