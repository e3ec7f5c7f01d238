"""The feed-forward part of an LViT block: a depthwise 3x3 convolution between the two linears."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn


class ConvMlp(nn.Module):
    """fc1 -> depthwise 3x3 conv over the token grid of each frame -> GELU -> fc2 (PVTv2-style).

    LViT has no position embedding; the zero-padded convolution is its only cue of where a token is.

    Args:
        dim: channels C.
        hidden: hidden channels (4C in the paper).
    """

    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.dwconv = nn.Conv2d(hidden, hidden, 3, padding=1, groups=hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: Tensor, grid: tuple[int, int, int]) -> Tensor:
        # x: (B, T, N, C)
        b, t, n, _ = x.shape
        _, height, width = grid
        h = self.fc1(x).view(b * t, height, width, -1).permute(0, 3, 1, 2)  # B*T hid H W, channels-last
        h = self.dwconv(h).permute(0, 2, 3, 1).reshape(b, t, n, -1)  # B T N hid
        return self.fc2(F.gelu(h))
