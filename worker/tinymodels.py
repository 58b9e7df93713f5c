"""Tiny local chat models for tests and the demo: no model hub, built on a CPU in about a second.

Each model is a byte-level BPE tokenizer (vocab 512) with a chat template plus a 2-layer Llama
(hidden size 64, ~150k parameters) trained briefly on one bundled corpus of OpenAssistant replies
(`worker/tinydata/`, see its CREDITS.md). The output is word-ish gibberish; what matters is that
each folder reloads with `AutoModelForCausalLM` / `AutoTokenizer` like a real chat model, and that
models built from different corpora and seeds give different text.

    python -m worker.tinymodels MODEL_DIR [--train-seconds 1.0]
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "tinydata"
CORPORA = ("alpha", "beta", "gamma")
REQUIRED_FILES = ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json")

BOS, EOS, PAD = "<s>", "</s>", "<pad>"
ROLE_TOKENS = ["<|system|>", "<|user|>", "<|assistant|>"]
# Assistant turns end with EOS so a trained model learns to stop; the generation prompt is the
# assistant header, so generation starts right where a reply begins. Newlines are written as
# {{ '\\n' }} because transformers renders templates with trim_blocks=True, which drops a literal
# newline that follows a {% ... %} tag.
CHAT_TEMPLATE = (
    "{{ bos_token }}{% for m in messages %}<|{{ m['role'] }}|>{{ '\\n' }}{{ m['content'] }}"
    "{% if m['role'] == 'assistant' %}{{ eos_token }}{% endif %}{{ '\\n' }}{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{{ '\\n' }}{% endif %}"
)

VOCAB_SIZE = 512
CONTEXT_LENGTH = 1024
# Measured on 2 cores with OMP_NUM_THREADS=1: one step of 8 x 64 tokens takes ~13 ms, so a second
# is ~75 steps (loss ~4.5: sampled text is word-ish, greedy text still mostly newlines); ~150 steps
# give word-ish greedy text. Larger batches or learning rates learned less per second here.
BLOCK_SIZE = 64
BATCH_SIZE = 8
LEARNING_RATE = 3e-3
# A floor under the time budget: on a busy machine 1 s can shrink to ~20 steps, after which a
# model almost never emits EOS (1 sampled reply in 40 ended within 200 tokens, against ~half at 40+).
MIN_TRAIN_STEPS = 60


@dataclass(frozen=True)
class TinyModelInfo:
    slug: str
    path: Path
    corpus: str
    seed: int


DEMO_MODELS = (("tiny-alpha", "alpha", 1), ("tiny-beta", "beta", 2), ("tiny-gamma", "gamma", 3))


def load_corpus(name: str) -> list[tuple[str, str]]:
    """(prompt, reply) pairs of the bundled corpus `name` (one of CORPORA)."""
    if name not in CORPORA:
        raise ValueError(f"unknown corpus {name!r}; expected one of {CORPORA}")
    lines = (DATA_DIR / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()
    return [(row["prompt"], row["reply"]) for row in map(json.loads, lines)]


def _build_tokenizer(texts: list[str]):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import TokenizersBackend  # was PreTrainedTokenizerFast before transformers 5

    raw = Tokenizer(models.BPE())
    raw.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    raw.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB_SIZE,
        special_tokens=[PAD, BOS, EOS, *ROLE_TOKENS],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),  # every byte encodable: no <unk>
        show_progress=False,
    )
    raw.train_from_iterator(texts, trainer=trainer)
    tokenizer = TokenizersBackend(
        tokenizer_object=raw,
        bos_token=BOS,
        eos_token=EOS,
        pad_token=PAD,
        extra_special_tokens=ROLE_TOKENS,
        model_max_length=CONTEXT_LENGTH,
    )
    tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer


def _train(model, ids, *, seed: int, train_seconds: float) -> int:
    """Next-token training on random windows of the packed token stream; returns the step count."""
    import torch

    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=LEARNING_RATE)
    model.train()
    steps, deadline = 0, time.monotonic() + train_seconds
    while steps < MIN_TRAIN_STEPS or time.monotonic() < deadline:
        starts = torch.randint(0, len(ids) - BLOCK_SIZE, (BATCH_SIZE,), generator=generator)
        batch = torch.stack([ids[s : s + BLOCK_SIZE] for s in starts.tolist()])
        loss = model(input_ids=batch, labels=batch).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        steps += 1
    model.eval()
    return steps


def build_tiny_model(out_dir: Path, *, corpus: str, seed: int, train_seconds: float = 1.0) -> Path:
    """Train a tiny chat model on the bundled `corpus` and save it to `out_dir` (overwritten).

    Training runs for `train_seconds` of wall time but at least MIN_TRAIN_STEPS steps, so the
    weights depend on machine speed; the tokenizer and initial weights depend only on `corpus`
    and `seed`.
    """
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    pairs = load_corpus(corpus)
    tokenizer = _build_tokenizer([text for pair in pairs for text in pair])
    conversations = [[{"role": "user", "content": p}, {"role": "assistant", "content": r}] for p, r in pairs]
    stream = [i for conv in conversations for i in tokenizer.apply_chat_template(conv, tokenize=True)["input_ids"]]

    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=4,
        max_position_embeddings=CONTEXT_LENGTH,
        tie_word_embeddings=False,  # untied learned faster per second than tied here
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    model = LlamaForCausalLM(config)
    _train(model, torch.tensor(stream), seed=seed, train_seconds=train_seconds)
    model.generation_config.pad_token_id = tokenizer.pad_token_id

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    # transformers 5 writes model.safetensors as 0600 and mkdtemp makes 0700 folders; web and
    # worker processes may run as other users, so make the model world-readable.
    out_dir.chmod(0o755)
    for path in out_dir.iterdir():
        path.chmod(0o644)
    return out_dir


def is_built(folder: Path) -> bool:
    return all((Path(folder) / name).is_file() for name in REQUIRED_FILES)


def build_demo_models(model_dir: Path, *, train_seconds: float = 1.0) -> list[TinyModelInfo]:
    """Build the three demo models under `model_dir/<slug>`, skipping those already built.

    Each model is built in a temporary sibling folder and renamed into place, so an interrupted
    build never leaves a folder that `is_built` accepts.
    """
    model_dir = Path(model_dir)
    model_dir.mkdir(parents=True, exist_ok=True)
    infos = []
    for slug, corpus, seed in DEMO_MODELS:
        path = model_dir / slug
        if not is_built(path):
            tmp = Path(tempfile.mkdtemp(prefix=f".{slug}-", dir=model_dir))
            try:
                build_tiny_model(tmp, corpus=corpus, seed=seed, train_seconds=train_seconds)
                if not is_built(path):  # another process may have finished it meanwhile
                    shutil.rmtree(path, ignore_errors=True)  # a half-built leftover
                    tmp.rename(path)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
        infos.append(TinyModelInfo(slug=slug, path=path, corpus=corpus, seed=seed))
    return infos


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Build the tiny demo chat models.")
    parser.add_argument("model_dir", type=Path)
    parser.add_argument("--train-seconds", type=float, default=1.0)
    args = parser.parse_args(argv)
    for info in build_demo_models(args.model_dir, train_seconds=args.train_seconds):
        print(f"{info.slug}\t{info.path}")


if __name__ == "__main__":
    main()
