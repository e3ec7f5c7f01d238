"""The one FLOP convention of linvit's benchmarks, counted on the meta device (no memory, no time).

FLOP = 2 x the multiply-adds of matrix products, convolutions and attention (QK^T and AV), as
`torch.utils.flop_counter` counts them; elementwise work (norms, activations, exponentials, softmax) is not
counted. Counting runs the model on meta tensors, where attention takes its plain matrix-product form, so
it is counted whichever kernel the real run uses (torch's counter does not see CPU SDPA: counting on the
CPU leaves VideoMAE-B's attention out). VideoMamba's selective scan counts 3 multiply-adds per token,
channel and state (decay x state, B x input, C x state), taken from the shapes of each scan call.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch.utils.flop_counter import FlopCounterMode


def count_gflop(build: Callable[[], tuple[torch.nn.Module, torch.Tensor]],
                run: Callable[[torch.nn.Module, torch.Tensor], object]) -> float:
    """GFLOP of one `run(model, x)`, with `build()` called under the meta device."""
    from linvit_cli.models.videomamba import bimamba

    scan_macs = 0

    def counted_scan(u: torch.Tensor, delta: torch.Tensor, A: torch.Tensor, B: torch.Tensor,
                     C: torch.Tensor) -> torch.Tensor:
        nonlocal scan_macs
        scan_macs += 3 * u.numel() * A.shape[-1]
        return torch.empty_like(u)

    original = bimamba.selective_scan
    bimamba.selective_scan = counted_scan
    try:
        with torch.device("meta"):
            model, x = build()
        counter = FlopCounterMode(display=False)
        with counter, torch.inference_mode():
            run(model.eval(), x)
    finally:
        bimamba.selective_scan = original
    return (counter.get_total_flops() + 2 * scan_macs) / 1e9
