"""What a benchmark reads of the processes it starts, from Linux's /proc: the process tree, and
each process's resident memory and CPU time."""

from __future__ import annotations

import os
from pathlib import Path

_CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def descendants(pid: int) -> list[int]:
    """Every process below `pid`, whichever of its threads started it (Dask and thread pools
    start processes from threads other than the main one)."""
    found: list[int] = []
    pending, seen = [pid], {pid}
    while pending:
        current = pending.pop()
        for children in Path(f"/proc/{current}/task").glob("*/children"):
            try:
                kids = [int(p) for p in children.read_text().split()]
            except (FileNotFoundError, ProcessLookupError):
                continue
            for kid in kids:
                if kid not in seen:
                    seen.add(kid)
                    found.append(kid)
                    pending.append(kid)
    return found


def rss_mib(pid: int) -> float:
    """Resident memory of one process, MiB (0 once it is gone)."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0.0


def cpu_seconds(pid: int) -> float:
    """CPU time of one process so far, with that of the children it has waited for."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return sum(int(v) for v in fields[11:15]) / _CLOCK_TICKS  # utime, stime, cutime, cstime
    except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
        return 0.0


def tree_rss_mib(pid: int) -> float:
    """Resident memory of a process and all its descendants, MiB."""
    return sum(rss_mib(p) for p in (pid, *descendants(pid)))


def tree_cpu_seconds(pid: int) -> float:
    """CPU time so far of a process and its descendants, live or already waited for."""
    return sum(cpu_seconds(p) for p in (pid, *descendants(pid)))
