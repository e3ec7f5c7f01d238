"""`residual + branch`, then RMSNorm of the sum: the step between two pre-norm residual blocks."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ... import kernels
from ...kernels.numba import load, torch_threads


def add_rms_norm(branch: Tensor, residual: Tensor | None, norm: nn.RMSNorm, drop_path: nn.Module,
                 ) -> tuple[Tensor, Tensor]:
    """(norm(sum), sum) with sum = residual + drop_path(branch), or branch itself without a residual.

    The sum is kept in float32 (or wider) whatever the precision of the branch, as the authors' fused
    add+norm does; the norm's output has the norm's dtype. On a CPU in inference with float32 weights it
    is one numba pass (`kernels.numba.norm`), elsewhere the PyTorch operations.
    """
    if _fused(branch, residual, norm, drop_path):
        rows = branch.reshape(-1, branch.shape[-1]).float()
        total, normed = torch.empty_like(rows), torch.empty_like(rows)
        with torch_threads():
            load("norm").add_rms_norm(rows.numpy(), residual.reshape(rows.shape).numpy(),
                                          norm.weight.detach().numpy(), _eps(norm),
                                          total.numpy(), normed.numpy())
        return normed.view(branch.shape), total.view(branch.shape)
    total = branch if residual is None else residual + drop_path(branch)
    total = total.to(torch.promote_types(total.dtype, torch.float32))
    return norm(total.to(norm.weight.dtype)), total


def _eps(norm: nn.RMSNorm) -> float:
    return norm.eps if norm.eps is not None else torch.finfo(torch.float32).eps  # None: the dtype's own


def _fused(branch: Tensor, residual: Tensor | None, norm: nn.RMSNorm, drop_path: nn.Module) -> bool:
    return (residual is not None and branch.device.type == "cpu" and residual.dtype == torch.float32
            and norm.weight is not None and norm.weight.dtype == torch.float32 and residual.is_contiguous()
            and not drop_path.training and not torch.is_grad_enabled() and branch.dtype != torch.float64
            and kernels.backend("cpu") == "numba" and load("norm") is not None)
