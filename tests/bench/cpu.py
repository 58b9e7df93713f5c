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


def manage_py_measured(*args: str) -> tuple[float, float]:
    """(seconds, peak RSS MB) of `manage.py <args>` run in its own process; fails on a non-zero exit."""
    import subprocess
    import sys
    import time

    from tests.support.server import ROOT, child_env

    started = time.monotonic()
    proc = subprocess.Popen([sys.executable, "manage.py", *args], cwd=ROOT, env=child_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.monotonic() - started
    out = proc.stdout.read().decode()
    assert os.waitstatus_to_exitcode(status) == 0, out
    return elapsed, usage.ru_maxrss / 1024
