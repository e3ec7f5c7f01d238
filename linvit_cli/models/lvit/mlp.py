"""The feed-forward part of an LViT block: a depthwise 3x3 convolution between the two linears."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from ..layers import Linear, in_slices


class ConvMlp(nn.Module):
    """fc1 -> depthwise 3x3 conv over the token grid of each frame -> GELU -> fc2 (PVTv2-style).

    LViT has no position embedding; the zero-padded convolution is its only cue of where a token is.

    Args:
        dim: channels C.
        hidden: hidden channels (4C in the paper).
        pass_values: in evaluation, frames go through in passes (`in_slices`) whose hidden activation holds
            at most this many values (at least one frame). The convolution sees one frame at a time, so
            frames are independent; a few at a time keep the 4C-wide hidden activations in cache and out of
            the peak memory (2 frames of 289 tokens at C = 768), while a small model's clip goes in one
            pass (lvit-demo: one instead of 8, each only microseconds of work).
    """

    def __init__(self, dim: int, hidden: int, pass_values: int = 1 << 21) -> None:
        super().__init__()
        self.pass_values = pass_values
        self.fc1 = Linear(dim, hidden)
        self.dwconv = nn.Conv2d(hidden, hidden, 3, padding=1, groups=hidden)
        self.fc2 = Linear(hidden, dim)

    def forward(self, x: Tensor, grid: tuple[int, int, int]) -> Tensor:
        # x: (B, T, N, C)
        b, t, n, c = x.shape
        frames = x.reshape(b * t, n, c)
        if self.training:
            return self._frames(frames, grid).view(b, t, n, -1)
        frames_per_pass = max(1, self.pass_values // (n * self.fc1.out_features))
        return in_slices(lambda part: self._frames(part, grid), frames, frames_per_pass).view(b, t, n, -1)

    def _frames(self, x: Tensor, grid: tuple[int, int, int]) -> Tensor:
        # x: (frames, N, C)
        _, height, width = grid
        h = self.fc1(x).view(len(x), height, width, -1).permute(0, 3, 1, 2)  # F hid H W, channels-last
        h = self.dwconv(h).permute(0, 2, 3, 1).flatten(1, 2)  # F N hid
        return self.fc2(F.gelu(h))
