"""`residual + branch`, then RMSNorm of the sum: the step between two pre-norm residual blocks."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ... import kernels
from ...kernels import numba as numba_kernels
from ...kernels import triton as triton_kernels


def add_rms_norm(branch: Tensor, residual: Tensor | None, norm: nn.RMSNorm, drop_path: nn.Module,
                 ) -> tuple[Tensor, Tensor]:
    """(norm(sum), sum) with sum = residual + drop_path(branch), or branch itself without a residual.

    The sum is kept in float32 (or wider) whatever the precision of the branch, as the authors' fused
    add+norm does; the norm's output has the norm's dtype. In inference with float32 weights it is one
    kernel: numba's on a CPU (`kernels.numba.norm`), Triton's on a GPU (`kernels.triton.norm`, whose output
    under autocast is already in the autocast precision that the next projection casts it to); elsewhere
    the PyTorch operations.
    """
    backend = _fused(branch, residual, norm, drop_path)
    if backend == "numba":
        rows = branch.reshape(-1, branch.shape[-1]).float()
        total, normed = torch.empty_like(rows), torch.empty_like(rows)
        with numba_kernels.torch_threads():
            numba_kernels.load("norm").add_rms_norm(rows.numpy(), residual.reshape(rows.shape).numpy(),
                                                    norm.weight.detach().numpy(), _eps(norm),
                                                    total.numpy(), normed.numpy())
        return normed.view(branch.shape), total.view(branch.shape)
    if backend == "triton":
        device = branch.device.type
        precision = torch.get_autocast_dtype(device) if torch.is_autocast_enabled(device) else norm.weight.dtype
        total, normed = torch.empty_like(residual), torch.empty_like(residual, dtype=precision)
        channels = branch.shape[-1]
        with triton_kernels.on_device(branch.device):
            triton_kernels.load("norm").add_rms_norm[(branch.numel() // channels,)](
                branch, residual, norm.weight, total, normed, channels, _eps(norm),
                BLOCK_C=1 << (channels - 1).bit_length())
        return normed, total
    total = branch if residual is None else residual + drop_path(branch)
    total = total.to(torch.promote_types(total.dtype, torch.float32))
    return norm(total.to(norm.weight.dtype)), total


def _eps(norm: nn.RMSNorm) -> float:
    return norm.eps if norm.eps is not None else torch.finfo(torch.float32).eps  # None: the dtype's own


def _fused(branch: Tensor, residual: Tensor | None, norm: nn.RMSNorm, drop_path: nn.Module) -> str | None:
    """The kernel backend that computes this call, or None for the PyTorch operations."""
    if (residual is None or residual.dtype != torch.float32 or not residual.is_contiguous()
            or norm.weight is None or norm.weight.dtype != torch.float32 or drop_path.training
            or not kernels.for_inference(branch, residual, norm.weight)):
        return None
    backend = kernels.backend(branch.device)
    if backend == "numba" and branch.device.type == "cpu" and numba_kernels.load("norm") is not None:
        return "numba"
    if (backend == "triton" and branch.is_contiguous() and branch.shape == residual.shape
            and triton_kernels.load("norm") is not None):
        return "triton"
    return None
