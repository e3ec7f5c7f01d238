"""Loop kernels compiled by numba for the CPU, and the plain-PyTorch fallback when they cannot be had.

PyTorch runs a model one operator at a time, each a full pass over memory, and a recurrence such as
Mamba's scan becomes thousands of tiny dependent operations. A loop compiled by numba does such work in
one pass with its data in registers. numba ships wheels for the common platforms, but a machine without a
working one must still run every model: `kernels(name)` imports a kernel module once and returns None
when it cannot be had (numba missing, or unable to compile for this CPU), after one warning; callers then
take their plain-PyTorch path. `LINVIT_JIT=0` turns the kernels off without a warning.

Kernel modules compile their functions when imported (explicit signatures, `cache=True`): the first
process on a machine pays a few seconds of compilation, later ones load the machine code from numba's cache.
"""

from __future__ import annotations

import functools
import importlib
import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType

import torch

ENV_VAR = "LINVIT_JIT"


class JitUnavailableWarning(RuntimeWarning):
    """The numba kernels could not be loaded; the slower plain-PyTorch path runs instead."""


@functools.cache
def kernels(module: str) -> ModuleType | None:
    """The compiled kernel module `module` (a dotted name), or None where numba cannot provide it."""
    if os.environ.get(ENV_VAR, "1") == "0":
        return None
    try:
        return importlib.import_module(module)
    except Exception as err:  # ImportError, or numba's errors on a platform it cannot compile for
        _say_unavailable(err)
        return None


_said = False


def _say_unavailable(err: Exception) -> None:
    """One warning per process, however many kernel modules fail."""
    global _said
    if _said:
        return
    _said = True
    reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    warnings.warn(f"the numba CPU kernels are unavailable ({type(err).__name__}: {reason}); running the "
                  "plain-PyTorch path, several times slower for VideoMamba on a CPU (pip install numba)",
                  JitUnavailableWarning, stacklevel=3)


@contextmanager
def torch_threads() -> Iterator[None]:
    """Run numba's parallel loops on as many threads as torch uses (`torch.set_num_threads`)."""
    import numba

    before = numba.get_num_threads()
    numba.set_num_threads(max(1, min(torch.get_num_threads(), numba.config.NUMBA_NUM_THREADS)))
    try:
        yield
    finally:
        numba.set_num_threads(before)
