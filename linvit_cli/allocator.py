"""Large CPU tensors from memory the process already holds, instead of fresh pages from the kernel.

glibc's malloc serves every request above its mmap threshold (which it raises to at most 32 MiB) with a new
mapping and unmaps it on free. A model layer over a long clip allocates and frees tensors larger than that (a
VideoMamba-S layer at 64 frames: 38 and 77 MB), so each layer faults in, and the kernel zeroes, the pages the
layer before it gave back. `keep_freed_memory` turns off glibc's mmap path and the trimming of the heap's top,
so that freed blocks serve the next layer. The process then keeps its peak heap until it exits, which a command
running clip after clip reaches again anyway. PyTorch's CPU performance guide suggests preloading jemalloc or
tcmalloc for the same reason; this needs no other library. The `linvit` command applies it before any command
runs; a Python caller may call it, best before its first large tensor. benchmarks/FINDINGS.md has the
measurements.

`LINVIT_MALLOC=system` keeps the C library's defaults. Other C libraries (macOS, musl, Windows) are left as
they are.
"""

from __future__ import annotations

import ctypes
import os
import platform

from .errors import UsageError

MALLOC_ENV = "LINVIT_MALLOC"
_M_TRIM_THRESHOLD = -1  # glibc's mallopt parameters (malloc.h)
_M_MMAP_MAX = -4
_NEVER = 2**31 - 1  # a trim threshold no heap top reaches

_in_effect = "the C library's defaults"


def keep_freed_memory() -> str:
    """Keep freed memory for the next allocations where the C library is glibc, unless `LINVIT_MALLOC=system`;
    returns what is in effect (`in_effect`)."""
    global _in_effect
    chosen = os.environ.get(MALLOC_ENV, "").strip().lower()
    if chosen not in ("", "keep", "system"):
        raise UsageError(f"{MALLOC_ENV}={chosen!r} is not one of keep, system")
    library, version = platform.libc_ver()
    if chosen == "system":
        _in_effect = f"the C library's defaults ({MALLOC_ENV}=system)"
    elif library != "glibc":
        _in_effect = f"the C library's defaults ({library or platform.system()}, not glibc)"
    else:
        mallopt = ctypes.CDLL(None).mallopt
        if mallopt(_M_MMAP_MAX, 0) and mallopt(_M_TRIM_THRESHOLD, _NEVER):
            _in_effect = (f"glibc {version}, freed memory kept for reuse (no mmap, no trim; {MALLOC_ENV}=system for "
                          "the defaults)")
    return _in_effect


def in_effect() -> str:
    """How this process's C library allocates, in words (`linvit env`)."""
    return _in_effect
