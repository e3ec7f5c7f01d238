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

    out_i = sum_j <phi(q_i), phi(k_j)> v_j / (sum_j <phi(q_i), phi(k_j)> + eps), computed as
    phi(q) (phi(k)^T v) so the cost grows linearly with the sequence length. The authors' kernel adds the
    head_dim^-1/2 (= 1/8 at 64 channels per head) as a floor rather than multiplying by it.

    Args:
        head_dim: channels per head; sets the kernel's floor.
        eps: added to the normaliser (1e-6 in the authors' code).
    """

    def __init__(self, head_dim: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.floor = head_dim**-0.5
        self.eps = eps

    def feature_map(self, x: Tensor) -> Tensor:
        return F.relu(x) + self.floor

    def forward(self, q: Tensor, k: Tensor, v: Tensor) -> Tensor:
        kv = torch.einsum("bnhd,bnhe->bhde", k, v)  # B h e e: keys summarised once per sequence
        normaliser = torch.einsum("bnhd,bhd->bnh", q, k.sum(dim=1)).add_(self.eps)  # B n h
        return torch.einsum("bnhd,bhde->bnhe", q, kv).div_(normaliser.unsqueeze(-1))

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
