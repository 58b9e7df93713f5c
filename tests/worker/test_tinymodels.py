import json
import subprocess
import sys
from pathlib import Path

import pytest
from transformers import AutoModelForCausalLM, AutoTokenizer

from worker.tinymodels import CORPORA, DATA_DIR, build_demo_models, is_built, load_corpus

ROOT = Path(__file__).resolve().parents[2]


def test_bundled_corpora_are_distinct_and_credited():
    replies = {name: {reply for _, reply in load_corpus(name)} for name in CORPORA}

    assert all(len(r) > 50 for r in replies.values())
    assert not replies["alpha"] & replies["beta"]
    assert not replies["beta"] & replies["gamma"]
    assert not replies["alpha"] & replies["gamma"]
    assert "Apache License" in (DATA_DIR / "LICENSE-open-assistant").read_text()
    assert "f1e6ed9526f5817531f3ab85441a40b3671ddccb" in (DATA_DIR / "CREDITS.md").read_text()


def test_unknown_corpus_is_refused():
    with pytest.raises(ValueError, match="unknown corpus"):
        load_corpus("../secrets")


def test_built_model_reloads_as_a_chat_model(tiny_model):
    model = AutoModelForCausalLM.from_pretrained(tiny_model)
    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi there"}]

    prompt = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    encoded = tokenizer.apply_chat_template(messages, add_generation_prompt=True)

    assert prompt == "<s><|system|>\nBe brief.\n<|user|>\nHi there\n<|assistant|>\n"
    # transformers 5 returns a BatchEncoding here, not a bare list of ids
    assert encoded["input_ids"][0] == tokenizer.bos_token_id
    assert (tokenizer.bos_token, tokenizer.eos_token, tokenizer.pad_token) == ("<s>", "</s>", "<pad>")
    assert len(tokenizer) == model.config.vocab_size == 512
    assert 50_000 < sum(p.numel() for p in model.parameters()) < 250_000
    assert model.config.num_hidden_layers == 2 and model.config.hidden_size == 64
    assert all(path.stat().st_mode & 0o044 == 0o044 for path in [tiny_model, *tiny_model.iterdir()])


def test_demo_models_differ(tiny_models):
    assert sorted(tiny_models) == ["tiny-alpha", "tiny-beta", "tiny-gamma"]
    vocabs = [json.loads((path / "tokenizer.json").read_text())["model"]["vocab"] for path in tiny_models.values()]
    assert vocabs[0] != vocabs[1] != vocabs[2]


def test_build_demo_models_skips_built_folders(tiny_models):
    model_dir = next(iter(tiny_models.values())).parent
    before = {slug: (path / "model.safetensors").stat().st_mtime_ns for slug, path in tiny_models.items()}

    infos = build_demo_models(model_dir)

    assert {info.slug: info.path for info in infos} == tiny_models
    assert {info.slug: (info.path / "model.safetensors").stat().st_mtime_ns for info in infos} == before
    assert all(is_built(info.path) for info in infos)
    assert not [p for p in model_dir.iterdir() if p.name.startswith(".")]  # no temp folders left


def test_cli_lists_models_without_rebuilding(tiny_models):
    model_dir = next(iter(tiny_models.values())).parent

    out = subprocess.run(
        [sys.executable, "-m", "worker.tinymodels", str(model_dir)],
        cwd=ROOT, capture_output=True, text=True, check=True, timeout=60,
    ).stdout

    assert out.splitlines() == [f"{slug}\t{path}" for slug, path in tiny_models.items()]
