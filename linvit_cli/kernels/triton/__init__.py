"""Triton kernels for CUDA GPUs.

On a GPU, PyTorch runs every elementwise step of VideoMamba's mixer as a kernel of its own that passes whole
(B, L, D) tensors through memory, and its chunked scan materialises (block, N, D) decays and inputs: hundreds
of gigabytes and thousands of launches per clip. The kernels here read each input once, keep the scan's
state in registers and write each output once.

Kernel modules are imported on first use (`load`). Triton compiles a kernel at its first launch for the
shapes' specialisation and caches the binary on disk. With `TRITON_INTERPRET=1` Triton's interpreter runs
the same kernels on CPU tensors, one program at a time in NumPy: slow, but exact enough to test them without
a GPU. Triton reads that variable when a kernel is defined, its own library's included (`tl.zeros`, ...),
so it must be set before `triton` is first imported, and holds for the life of the process.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from types import ModuleType

import torch

from .. import load_module


def load(name: str) -> ModuleType | None:
    """The kernel module `linvit_cli.kernels.triton.<name>`, or None under `auto` where it fails to import."""
    return load_module("triton", name, "several times slower for VideoMamba on a GPU")


@contextmanager
def on_device(device: torch.device) -> Iterator[None]:
    """Launch on `device`: Triton launches on the current CUDA device, whichever device the tensors are on."""
    with torch.cuda.device(device) if device.type == "cuda" else nullcontext():
        yield


def cdiv(a: int, b: int) -> int:
    return -(-a // b)
