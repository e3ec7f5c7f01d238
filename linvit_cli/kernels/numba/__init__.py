"""Loop kernels compiled by numba for the CPU.

PyTorch runs a model one operator at a time, each a full pass over memory, and a recurrence such as
Mamba's scan becomes thousands of tiny dependent operations. A loop compiled by numba does such work in
one pass with its data in registers.

Kernel modules compile their functions when imported (explicit signatures, `cache=True`): the first
process on a machine pays a few seconds of compilation, later ones load the machine code from numba's cache.
`load(name)` imports one once. Where numba cannot compile for this CPU, `LINVIT_KERNELS=auto` warns once
and callers take their plain-PyTorch path; a forced `LINVIT_KERNELS=numba` stops with the reason.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType

import torch

from .. import load_module


def load(name: str) -> ModuleType | None:
    """The compiled kernel module `linvit_cli.kernels.numba.<name>`, or None under `auto` where it fails."""
    return load_module("numba", name, "several times slower for VideoMamba on a CPU")


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
