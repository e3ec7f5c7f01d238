"""The numba mixer module compiled afresh from a given source, and the inputs the model gives it, for the benchmarks
that compare builds of it."""

from __future__ import annotations

import re
import types
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

import linvit_cli.kernels.numba.mixer as installed
from linvit_cli.models.videomamba.bimamba import BidirectionalMamba


def installed_source() -> str:
    return Path(installed.__file__).read_text()


def build(source: str, label: str, lanes: int | None = None) -> types.ModuleType:
    """`source` (a version of kernels/numba/mixer.py) compiled as a module of its own: relative imports made
    absolute, numba's disk cache off, and `LANES = lanes` where given."""
    if lanes is not None:
        source = re.sub(r"^LANES = .*$", f"LANES = {lanes}", source, flags=re.M)
    source = re.sub(r"^from \.\.\.(\w)", r"from linvit_cli.\1", source, flags=re.M)
    source = re.sub(r"^from \.(\w)", r"from linvit_cli.kernels.numba.\1", source, flags=re.M)
    source = source.replace('"cache": True', '"cache": False')
    module = types.ModuleType(f"mixer ({label})")
    exec(compile(source, f"<mixer: {label}>", "exec"), module.__dict__)  # noqa: S102 - a mixer source to measure
    return module


def scan_inputs(model: nn.Module, clip: Tensor, blocks: int = 8) -> list[tuple]:
    """The arguments `model` gives the installed `bidirectional_scan` on `clip`, in `blocks` of its blocks spread
    over its depth, each copied into torch's memory as the model has them.

    Where the arrays lie matters as much as a small change to the kernel: numpy's 16-byte alignment (rows off
    the cache lines) made the scan 1.5x slower with AVX-512, and a block's scan took 11 to 15 ms from one set
    of 64-byte aligned copies to the next. Time the sum over several blocks' inputs, not one.
    """
    depth = sum(isinstance(module, BidirectionalMamba) for module in model.modules())
    chosen = {round(k * (depth - 1) / max(1, blocks - 1)) for k in range(min(blocks, depth))}
    calls: list[tuple] = []  # one entry per block; the chosen ones' arguments copied
    scan = installed.bidirectional_scan

    def keep(*args):
        copy = len(calls) in chosen
        calls.append(tuple(torch.from_numpy(a).clone().numpy() if copy and isinstance(a, np.ndarray) else a
                           for a in args))
        scan(*args)

    installed.bidirectional_scan = keep
    try:
        with torch.inference_mode():
            model(clip)
    finally:
        installed.bidirectional_scan = scan
    if len(calls) < depth:
        raise SystemExit("error: the model did not take linvit's numba kernels (LINVIT_KERNELS?)")
    return [calls[k] for k in sorted(chosen)]
