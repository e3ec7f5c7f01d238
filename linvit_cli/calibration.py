"""Speed choices measured once per machine and kept in the user's cache folder.

Which of two equivalent code paths is faster depends on the CPU (and on the instruction sets the libraries
are held to): a choice measured on one machine is a guess on the next. A choice here is measured the first
time it is needed, in well under a second, and stored under a key naming everything it depends on (CPU,
instruction-set limits, torch version, threads), so a changed machine or setting measures again. A
measurement during which other work held the CPUs (another process, or another thread of this one, such as
classify's decoder reading ahead) serves the process that made it but is not stored: its figures, and so
possibly its choice, are those of a busy machine.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import machine
from .cache import cache_dir, read_json, write_json

_lock = threading.Lock()
# Below this share of its time on a CPU, the thread that measured counts as measuring a busy machine (an idle
# one gives 0.95-1.0, one other busy process on two cores about 0.55; benchmarks/FINDINGS.md).
STEADY_SHARE = 0.8


def store_path() -> Path:
    return cache_dir() / "calibration.json"


def machine_key(threads: int) -> str:
    """What a measured choice depends on, as a short stable key (the parts are stored beside it)."""
    return hashlib.sha256(json.dumps(_key_parts(threads), sort_keys=True).encode()).hexdigest()[:16]


def _key_parts(threads: int) -> dict[str, Any]:
    import torch

    cpu = machine.cpu()
    return {"cpu": cpu.name, "flags": sorted(cpu.flags), "limits": machine.limits_in_effect(),
            "torch": torch.__version__, "capability": torch.backends.cpu.get_cpu_capability(), "threads": threads}


def measured(name: str, threads: int, measure: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """The stored result of `measure()` for choice `name` on this machine, measuring it if there is none.

    `measure` runs on `threads` threads, the calling one among them. When the calling thread had less than
    `STEADY_SHARE` of the time on a CPU, the result comes back with "busy_share" (that share) and is not
    stored. The calling thread's own CPU time, not the process's: the process's would count its other busy
    threads as the measurement's own. A store that cannot be read (damaged, another format) or written
    (read-only home) is no error: the choice is measured again.
    """
    key = machine_key(threads)
    with _lock:
        entries = read_json(store_path())
        entry = entries.get(key, {})
        if name in entry:
            return entry[name]
        cpu, wall = time.thread_time(), time.perf_counter()
        result = measure()
        share = (time.thread_time() - cpu) / max(time.perf_counter() - wall, 1e-9)
        if share < STEADY_SHARE:
            return {**result, "busy_share": round(share, 2)}
        entry = entries.setdefault(key, {"machine": _key_parts(threads)})
        entry[name] = result
        write_json(store_path(), entries)
        return result
