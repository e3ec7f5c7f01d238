"""Feature fixation: a per-token, per-channel gate that reweights the kernelised query and key.

The gate reads the activated query and key and the (shifted) value of each head, so the reweighting of
phi(q) and phi(k) depends on all three; its weights are shared by the heads. With one gate the same
sigmoid multiplies both (the authors' K600/SSv2 configs); with two, q and k get their own (K400).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ..layers import Linear


class FeatureFixation(nn.Module):
    """phi(q) <- sigma(W_q [phi(q), phi(k), v]) * phi(q), and likewise for phi(k).

    Args:
        head_dim: channels per head.
        shared: one gate for q and k (True) or one each (False).
    """

    def __init__(self, head_dim: int, shared: bool) -> None:
        super().__init__()
        self.head_dim = head_dim
        # Both gates in one matrix: rows [0, e) gate q, rows [-e, end) gate k (the same rows when shared).
        self.gate = Linear(3 * head_dim, head_dim if shared else 2 * head_dim)

    def forward(self, q: Tensor, k: Tensor, v: Tensor) -> tuple[Tensor, Tensor]:
        # q, k, v: B n h e
        ratio = self.gate(torch.cat([q, k, v], dim=-1)).sigmoid_()  # B n h (e or 2e)
        return q * ratio[..., : self.head_dim], k * ratio[..., -self.head_dim :]


class NoFixation(nn.Module):
    """The ablation without feature fixation: q and k pass unchanged."""

    def forward(self, q: Tensor, k: Tensor, v: Tensor) -> tuple[Tensor, Tensor]:
        return q, k
