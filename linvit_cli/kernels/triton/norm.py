"""The residual add and the RMSNorm after it, in one Triton pass per token (GPU inference, float32 sums).

PyTorch does this in separate kernels (the add, then square, mean, rsqrt and two products), each a pass
over the (B, L, C) stream; here each token's row is read once and both results written once.
"""

from __future__ import annotations

import triton
import triton.language as tl


@triton.jit
def add_rms_norm(branch, residual, weight, total, normed, channels, eps, BLOCK_C: tl.constexpr):
    """total = residual + branch (float32); normed = total / sqrt(mean(total^2) + eps) * weight.

    All (rows, C) contiguous but weight (C,); `normed` in the precision it was allocated in. Grid: (rows,).
    """
    row = tl.program_id(0).to(tl.int64) * channels
    c = tl.arange(0, BLOCK_C)
    inside = c < channels
    added = (tl.load(residual + row + c, mask=inside, other=0.0).to(tl.float32)
             + tl.load(branch + row + c, mask=inside, other=0.0).to(tl.float32))
    tl.store(total + row + c, added, mask=inside)
    scale = 1.0 / tl.sqrt(tl.sum(added * added, axis=0) / channels + eps)
    out = added * scale * tl.load(weight + c, mask=inside, other=0.0).to(tl.float32)
    tl.store(normed + row + c, out.to(normed.dtype.element_ty), mask=inside)
