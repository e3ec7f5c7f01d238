"""Peak memory of a benchmark's child process, measured so that its parent's memory does not count."""

from __future__ import annotations

import resource
import sys
from pathlib import Path


def peak_rss_mib() -> float:
    """This process's peak resident memory in MiB: `VmHWM` of /proc/self/status where Linux has it.

    Not `getrusage(RUSAGE_SELF).ru_maxrss`: when a process is spawned (fork or vfork, then exec), Linux
    carries the parent's high-water mark into the child's, so a child of a large parent reports at least
    the parent's peak (a child using 13 MiB read 813 under an 800 MiB parent). `VmHWM` belongs to the
    process's own address space, made fresh by exec.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # (other systems: no such inheritance known)
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024  # bytes on macOS, KiB elsewhere
