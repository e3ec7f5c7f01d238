"""The token mixers of LViT: kernelised linear attention, and softmax attention for the ablation.

Both take q, k, v as (batch, n, heads, head_dim) and return the same shape. `feature_map` is the kernel
applied to q and k before feature fixation reweights them.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class LinearAttention(nn.Module):
    """Non-causal normalised linear attention with the kernel phi(x) = ReLU(x) + head_dim^-1/2.

    out_i = sum_j <phi(q_i), phi(k_j)> v_j / (sum_j <phi(q_i), phi(k_j)> + eps). The authors' kernel adds
    head_dim^-1/2 (= 1/8 at 64 channels per head) as a floor rather than multiplying by it.

    The products are associated whichever way is cheaper: phi(q) (phi(k)^T v), linear in the sequence
    length n, when n > head_dim (spatial attention: 289 tokens); (phi(q) phi(k)^T) v when n <= head_dim
    (temporal attention: 16 frames). Both are the same sum. The normaliser comes with the numerator: in
    the linear order as one more column of the small state phi(k)^T v (the sum of the phi(k)), in the
    quadratic order as the row sums of the scores.

    Args:
        head_dim: channels per head; sets the kernel's floor.
        eps: added to the normaliser (1e-6 in the authors' code).
    """

    def __init__(self, head_dim: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.floor = head_dim**-0.5
        self.eps = eps

    def feature_map(self, x: Tensor) -> Tensor:
        return x.clamp_min(0).add_(self.floor)  # clamp's backward reads its input, so add_ is safe

    def forward(self, q: Tensor, k: Tensor, v: Tensor) -> Tensor:
        # q, k, v: B n h e. One batched product per head: a head's slice (B, n, e) has a uniform batch
        # stride, so bmm reads it in place instead of copying q, k, v into head-major layout.
        b, n, heads, e = q.shape
        out = q.new_empty(b, n, heads, e)
        k_sums = k.sum(1, keepdim=True) if n > e else None  # B 1 h e
        for j in range(heads):
            qj, kj, vj = q[:, :, j], k[:, :, j], v[:, :, j]  # B n e
            if k_sums is not None:
                state = torch.cat([torch.bmm(kj.transpose(1, 2), vj), k_sums[:, :, j].transpose(1, 2)], dim=-1)
                weighted = torch.bmm(qj, state)  # B n e+1
                numerator, normaliser = weighted[..., :e], weighted[..., e:]
            else:
                scores = torch.bmm(qj, kj.transpose(1, 2))  # B n n
                numerator, normaliser = torch.bmm(scores, vj), scores.sum(-1, keepdim=True)
            normaliser = normaliser.add_(self.eps)
            if torch.is_grad_enabled():
                out[:, :, j] = numerator / normaliser
            else:  # inference: straight into the output, no temporary
                torch.div(numerator, normaliser, out=out[:, :, j])
        return out

    def extra_repr(self) -> str:
        return f"kernel=relu(x)+{self.floor:g}, eps={self.eps:g}"


class SoftmaxAttention(nn.Module):
    """Scaled dot-product attention (quadratic in n): the baseline the paper's linear attention replaces."""

    def feature_map(self, x: Tensor) -> Tensor:
        return x

    def forward(self, q: Tensor, k: Tensor, v: Tensor) -> Tensor:
        # B n h e -> B h n e for SDPA, then back
        out = F.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2))
        return out.transpose(1, 2)
