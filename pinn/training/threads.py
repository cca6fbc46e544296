"""How many threads torch should use: the cores this process may run on, shared fairly.

torch uses every core of the machine by default.  On a shared machine, beside other jobs, or
in a parallel sweep that oversubscribes the cores, and training runs many times slower (one
user's run went 15x faster with one thread).  ``threads=auto`` takes, in order:

1. ``OMP_NUM_THREADS`` when it is set: a launcher or the user has decided (joblib's loky
   workers and the SLURM config set it for each job);
2. else the cores the process may use, its CPU affinity capped by its cgroup's CPU quota,
   divided by the ranks that share the machine under torchrun (``LOCAL_WORLD_SIZE``).
"""

from __future__ import annotations

import math
import os
from pathlib import Path

__all__ = ["available_cores", "resolve_threads"]

_CGROUP_V2 = Path("/sys/fs/cgroup/cpu.max")
_CGROUP_V1 = (Path("/sys/fs/cgroup/cpu/cpu.cfs_quota_us"), Path("/sys/fs/cgroup/cpu/cpu.cfs_period_us"))


def _quota(v2: Path = _CGROUP_V2, v1: tuple[Path, Path] = _CGROUP_V1) -> float | None:
    """The cgroup's CPU quota in cores, or ``None`` where there is none."""
    try:
        text_quota, text_period = v2.read_text().split()[:2]
        return None if text_quota == "max" else int(text_quota) / int(text_period)
    except (OSError, ValueError):
        pass
    try:
        quota, period = (int(p.read_text()) for p in v1)
        return None if quota <= 0 else quota / period
    except (OSError, ValueError):
        return None


def available_cores(*, v2: Path = _CGROUP_V2, v1: tuple[Path, Path] = _CGROUP_V1) -> int:
    """The cores this process may use: its affinity, capped by its cgroup's CPU quota (at least 1)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    quota = _quota(v2, v1)
    if quota is not None:
        cores = min(cores, max(1, math.floor(quota)))
    return max(1, cores)


def resolve_threads(setting, *, environ=None, cores: int | None = None) -> tuple[int, str]:
    """``(threads, why)`` for a ``threads`` setting: a positive integer, or ``"auto"``."""
    environ = os.environ if environ is None else environ
    if setting != "auto":
        if isinstance(setting, bool) or not isinstance(setting, int) or setting < 1:
            raise ValueError(f"threads must be a positive integer or 'auto', got {setting!r}")
        return setting, "as set"
    omp = environ.get("OMP_NUM_THREADS", "")
    if omp.strip().isdigit() and int(omp) > 0:
        return int(omp), "OMP_NUM_THREADS"
    cores = available_cores() if cores is None else cores
    local = environ.get("LOCAL_WORLD_SIZE", "")
    ranks = int(local) if local.strip().isdigit() and int(local) > 0 else 1
    why = f"{cores} core(s) available" + (f" shared by {ranks} ranks" if ranks > 1 else "")
    return max(1, cores // ranks), why
