"""Printing benchmark figures in one greppable shape: `BENCH <name> key=value ...`."""
import os
import platform

import numpy as np


def percentiles_ms(seconds: list[float]) -> dict[str, float]:
    values = np.asarray(seconds) * 1000
    return {f"p{q}_ms": round(float(np.percentile(values, q)), 1) for q in (50, 90, 99)} | {
        "max_ms": round(float(values.max()), 1)
    }


def report(name: str, **figures) -> None:
    """One line per measurement, so BENCHMARKS.md can be filled from the log."""
    shown = " ".join(f"{k}={v}" for k, v in figures.items())
    print(f"\nBENCH {name} {shown} [cpus={os.cpu_count()} python={platform.python_version()}]", flush=True)
