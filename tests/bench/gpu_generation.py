"""Generation throughput of the transformers backend, batched, on whatever device torch finds.

A plain script, not a pytest benchmark: it runs where a GPU is (no Django, no services), and
tests/worker/test_gpu_generation_script.py runs it on the CPU with small sizes so that CI keeps it
working. It prints one line per (model, batch size) and, with --json, writes the figures.

    python -m tests.bench.gpu_generation --model-dir DIR [--batches 1,8,64,256] [--new-tokens 128]

The reference is the same backend at batch size 1 in the same run (what one battle side gets);
tokens are the replies' own, cut at end-of-sequence, so padding after an early stop is not counted.
`--wide` adds a randomly initialised Llama of ~0.3B parameters with the tiny tokenizer, where the
GPU does real arithmetic instead of waiting on kernel launches.
"""

from __future__ import annotations

import argparse
import copy
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

from worker.backends.base import BackendSpec
from worker.tinymodels import build_tiny_model, is_built, load_corpus


def prompts(n: int) -> list[list[dict]]:
    """`n` single-turn chats from the bundled corpus (real prompts of varied length), cycling."""
    pairs = load_corpus("alpha")
    return [[{"role": "user", "content": pairs[i % len(pairs)][0][:400]}] for i in range(n)]


def wide_model(tiny_dir: Path, out_dir: Path) -> Path:
    """A ~0.3B-parameter Llama with random weights and the tiny model's tokenizer (no hub here)."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    tokenizer = AutoTokenizer.from_pretrained(tiny_dir)
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=1024,
        intermediate_size=4096,
        num_hidden_layers=20,
        num_attention_heads=16,
        num_key_value_heads=16,
        max_position_embeddings=2048,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    LlamaForCausalLM(config).save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    return out_dir


def measure(model_dir: Path, batches: list[int], new_tokens: int, repeats: int) -> list[dict]:
    """Tokens/s of `generate_batch` per batch size (median of `repeats` timed runs after a warm-up)."""
    from worker.backends.transformers_backend import TransformersBackend

    # Sampling, as the arena does; min_new_tokens keeps every reply the same length so that
    # batch sizes are compared on equal work (the tiny models often stop after a few words).
    spec = BackendSpec(
        kind="transformers",
        model=str(model_dir),
        params={"max_new_tokens": new_tokens, "temperature": 0.7, "seed": 0},
    )
    backend = TransformersBackend(spec)
    # The backend has no min_new_tokens setting (a contender has no use for one): set it on the
    # model's generation config for the measurement, and put the config back after it, since
    # the loaded model is shared by every backend of this process on the same folder.
    config = backend._loaded.model.generation_config
    saved = copy.deepcopy(config)
    config.min_new_tokens = new_tokens
    config.max_length = None  # else transformers checks min_new_tokens against its default max_length (20) and warns
    try:
        rows = _measured(backend, model_dir, batches, new_tokens, repeats)
    finally:
        backend._loaded.model.generation_config = saved
    base = rows[0]["tokens_per_s"]
    for row in rows:
        row["ratio_vs_batch_1"] = round(row["tokens_per_s"] / base, 2) if rows[0]["batch"] == 1 else None
    return rows


def _measured(backend, model_dir: Path, batches: list[int], new_tokens: int, repeats: int) -> list[dict]:
    import torch

    device = backend._loaded.device
    params = sum(p.numel() for p in backend._loaded.model.parameters())
    rows = []
    for batch in batches:
        chats = prompts(batch)
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats()
        backend.generate_batch(chats)  # warm-up: kernels, allocator, caches
        times, tokens = [], 0
        for _ in range(repeats):
            if device.type == "cuda":
                torch.cuda.synchronize()
            start = time.perf_counter()
            results = backend.generate_batch(chats)
            if device.type == "cuda":
                torch.cuda.synchronize()
            times.append(time.perf_counter() - start)
            tokens = sum(r.n_tokens for r in results)
        seconds = statistics.median(times)
        rows.append(
            {
                "model": model_dir.name,
                "parameters": params,
                "device": str(device),
                "dtype": str(backend._loaded.model.dtype).removeprefix("torch."),
                "batch": batch,
                "new_tokens": new_tokens,
                "tokens": tokens,
                "seconds": round(seconds, 4),
                "tokens_per_s": round(tokens / seconds, 1),
                "peak_gpu_mib": round(torch.cuda.max_memory_allocated() / 2**20) if device.type == "cuda" else None,
            }
        )
    return rows


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", type=Path, help="a tiny model folder; built here when missing")
    parser.add_argument("--batches", default="1,8,64,256")
    parser.add_argument("--new-tokens", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--wide", action="store_true", help="also a ~0.3B random-weight model")
    parser.add_argument("--json", type=Path, help="write the rows here")
    args = parser.parse_args(argv)

    import torch
    import transformers

    batches = [int(b) for b in args.batches.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        tiny = args.model_dir or Path(tmp) / "tiny-alpha"
        if not is_built(tiny):
            build_tiny_model(tiny, corpus="alpha", seed=1)
        models = [tiny] + ([wide_model(tiny, Path(tmp) / "wide-random")] if args.wide else [])
        gpu = torch.cuda.get_device_name() if torch.cuda.is_available() else "none"
        print(
            f"python {platform.python_version()} torch {torch.__version__} transformers {transformers.__version__}"
            f" gpu {gpu}",
            flush=True,
        )
        rows = []
        for model in models:
            for row in measure(model, batches, args.new_tokens, args.repeats):
                rows.append(row)
                print(
                    f"{row['model']:<12} {row['parameters'] / 1e6:8.2f}M {row['device']:<6} {row['dtype']:<9}"
                    f" batch {row['batch']:>4}: {row['tokens']:>6} tokens in {row['seconds']:7.3f} s ="
                    f" {row['tokens_per_s']:>10.1f} tokens/s (x{row['ratio_vs_batch_1']} vs batch 1)"
                    f" peak GPU {row['peak_gpu_mib']} MiB",
                    flush=True,
                )
    if args.json:
        args.json.write_text(json.dumps({"gpu": gpu, "torch": torch.__version__, "rows": rows}, indent=2))
    return rows


if __name__ == "__main__":
    main(sys.argv[1:])
