"""`nn.Linear` whose large CPU products in inference run on oneDNN instead of PyTorch's default BLAS.

PyTorch computes a float32 Linear on the CPU with MKL's sgemm. On AMD CPUs MKL takes its AVX2 kernels even
where the CPU has AVX-512 (measured on a 2-core EPYC Zen 5: about half the machine's float32 peak), while
oneDNN, which PyTorch ships and calls for its own fused CPU kernels (`torch.ops.mkldnn._linear_pointwise`),
uses AVX-512: every product of LViT and VideoMamba measured 1.97-2.25x faster there, within float32
rounding (1e-6 relative). On Intel CPUs both libraries are Intel's kernels. oneDNN's set-up costs some 15 us a
call, so products under `MIN_MACS` multiply-adds keep F.linear; so do training (autograd), autocast, other
dtypes and devices. Should the oneDNN call be missing or fail (another PyTorch build), F.linear is used from
then on.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

MIN_MACS = 1 << 22  # below it oneDNN's per-call set-up outweighs its speed (measured crossover ~2 M)

_onednn = torch.backends.mkldnn.is_available() and hasattr(torch.ops.mkldnn, "_linear_pointwise")


def uses_onednn(x: Tensor, weight: Tensor) -> bool:
    """Whether `linear(x, weight, ...)` goes through oneDNN."""
    return (_onednn and x.device.type == "cpu" and x.dtype == weight.dtype == torch.float32
            and not torch.is_autocast_enabled("cpu") and not (torch.is_grad_enabled() and
                                                               (x.requires_grad or weight.requires_grad))
            and x.numel() // x.shape[-1] * weight.shape[0] * weight.shape[1] >= MIN_MACS)


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """F.linear(x, weight, bias), through oneDNN where `uses_onednn` says so."""
    global _onednn
    if uses_onednn(x, weight):
        try:
            return torch.ops.mkldnn._linear_pointwise(x, weight, bias, "none", [], "")
        except RuntimeError:  # a build whose oneDNN lacks this path: the default BLAS from now on
            _onednn = False
    return F.linear(x, weight, bias)


class Linear(nn.Linear):
    """nn.Linear (same parameters, same state dict) computed by `linear`."""

    def forward(self, x: Tensor) -> Tensor:
        return linear(x, self.weight, self.bias)
