"""Where the machine's CPU went during a measured phase: this process (the load generator or
client), named process trees (server, worker), and everything else (PostgreSQL, Redis, ...)."""
import os

import psutil


def server_processes(port: int) -> list[psutil.Process]:
    """The uvicorn process serving `port` and its children (the workers)."""
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = proc.info["cmdline"] or []
        if "uvicorn" in " ".join(cmdline) and str(port) in cmdline:
            return process_tree(proc.pid)
    raise LookupError(f"no uvicorn process for port {port}")


def process_tree(pid: int) -> list[psutil.Process]:
    proc = psutil.Process(pid)
    return [proc, *proc.children(recursive=True)]


def _busy_s() -> float:
    t = psutil.cpu_times()
    return t.user + t.nice + t.system + t.irq + t.softirq + getattr(t, "steal", 0.0)


def _cpu_s(procs: list[psutil.Process]) -> float:
    total = 0.0
    for proc in procs:
        try:
            t = proc.cpu_times()
            total += t.user + t.system
        except psutil.NoSuchProcess:  # a process that ended during the phase: its time is lost to "other"
            pass
    return total


class CpuMeter:
    """Create before a phase, call `split(n, wall_s)` after it: CPU-ms per unit of work (a vote, a
    token) for this process ("client"), each named group, and the rest of the machine ("other")."""

    def __init__(self, **groups: list[psutil.Process]):
        self._groups = {"client": [psutil.Process(os.getpid())], **groups}
        self._start = self._sample()

    def _sample(self) -> dict[str, float]:
        return {"busy": _busy_s()} | {name: _cpu_s(procs) for name, procs in self._groups.items()}

    def sample(self) -> dict[str, float]:
        """CPU seconds so far: the machine's ("busy") and each group's."""
        return self._sample()

    def split(self, n_units: int, wall_s: float, exclude: dict[str, float] | None = None) -> dict[str, float]:
        """`exclude`: CPU seconds by group (and "busy") spent meanwhile on something that is not
        the work measured (a reference measurement between phases), differences of sample()."""
        end = self._sample()
        used = {name: end[name] - self._start[name] - (exclude or {}).get(name, 0.0) for name in end}
        per_unit = 1000 / max(n_units, 1)
        figures = {"machine_busy_pct": round(100 * used["busy"] / (wall_s * psutil.cpu_count()), 1)}
        for name in self._groups:
            figures[f"cpu_ms_per_unit_{name}"] = round(used[name] * per_unit, 3)
        figures["cpu_ms_per_unit_other"] = round((used["busy"] - sum(used[n] for n in self._groups)) * per_unit, 3)
        return figures


# Prepended to a measured child's code: at exit it reports its own peak RSS (VmHWM). Not the
# ru_maxrss that wait4 returns: Linux starts a child's ru_maxrss at its parent's peak, so a
# child of a 400 MB pytest "peaked" at 400 MB whatever it did (checked: `python -c pass` gave
# 413 MB), and a flat-memory figure measured that way can't fail.
PEAK_MARK = "BENCH_PEAK_RSS_KB="
_PEAK_REPORT = f"""import atexit, sys
def _peak():
    with open("/proc/self/status") as status:
        kb = next(line for line in status if line.startswith("VmHWM:")).split()[1]
    print("{PEAK_MARK}" + kb, file=sys.stderr, flush=True)
atexit.register(_peak)
"""


def python_measured(code: str, *args: str, env: dict | None = None) -> tuple[float, float, str]:
    """Run `python -c code args` in its own process: (seconds, its own peak RSS in MB, its
    stdout). Fails on a non-zero exit."""
    import subprocess
    import sys
    import time

    from tests.support.server import ROOT, child_env

    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", _PEAK_REPORT + code, *args], cwd=ROOT, env=env or child_env(), capture_output=True, text=True
    )
    elapsed = time.monotonic() - started
    assert done.returncode == 0, done.stdout + done.stderr
    peak_kb = [line for line in done.stderr.splitlines() if line.startswith(PEAK_MARK)][-1][len(PEAK_MARK) :]
    return elapsed, int(peak_kb) / 1024, done.stdout


_MANAGE_PY = """import runpy
sys.argv = ["manage.py", *sys.argv[1:]]
runpy.run_path("manage.py", run_name="__main__")
"""


def manage_py_measured(*args: str) -> tuple[float, float]:
    """(seconds, peak RSS MB) of `manage.py <args>` in its own process."""
    seconds, peak_mb, _ = python_measured(_MANAGE_PY, *args)
    return seconds, peak_mb
