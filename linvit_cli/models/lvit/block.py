"""A divided space-time LViT block: temporal attention, then spatial attention, then the MLP."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

from ..layers import DropPath
from .attention import VideoAttention
from .mlp import ConvMlp


class DividedSpaceTimeBlock(nn.Module):
    """Pre-norm residual block over tokens (B, T, N, C), N = H * W tokens per frame.

    Temporal attention runs over the T frames at each grid cell, spatial attention over the N cells of
    each frame; each is its own `VideoAttention` with its own weights.

    Args:
        dim: channels C.
        mlp_hidden: hidden channels of the MLP.
        make_attention: builds one attention; called with "temporal" and "spatial".
        drop_path: stochastic depth rate of the three residual branches.
        eps: LayerNorm epsilon.
        frame_chunk: frames per pass of spatial attention and MLP in evaluation (a multiple of the temporal
            shift group). They treat frames independently, so long clips run in chunks: the same result,
            with a working set that stays in cache and activations that do not grow with the clip.
    """

    def __init__(self, dim: int, mlp_hidden: int, make_attention: Callable[[str], VideoAttention],
                 drop_path: float = 0.0, eps: float = 1e-6, frame_chunk: int = 16) -> None:
        super().__init__()
        self.frame_chunk = frame_chunk
        self.temporal_norm = nn.LayerNorm(dim, eps=eps)
        self.temporal_attn = make_attention("temporal")
        self.spatial_norm = nn.LayerNorm(dim, eps=eps)
        self.spatial_attn = make_attention("spatial")
        self.mlp_norm = nn.LayerNorm(dim, eps=eps)
        self.mlp = ConvMlp(dim, mlp_hidden)
        self.drop_path = DropPath(drop_path)

    def forward(self, x: Tensor, grid: tuple[int, int, int]) -> Tensor:
        b, t, n, c = x.shape
        # temporal attention: sequences of T frames, one per (clip, cell)
        xt = self.temporal_norm(x).transpose(1, 2).reshape(b * n, t, c)  # B*N T C
        x = x + self.drop_path(self.temporal_attn(xt, grid).view(b, n, t, c).transpose(1, 2))
        if self.training:  # one pass: stochastic depth must drop a clip's branch in all its frames alike
            return self._spatial_and_mlp(x, grid)
        parts = x.split(self.frame_chunk, dim=1)
        if not torch.is_grad_enabled():  # inference: x is this block's own tensor, its chunks add in place
            for part in parts:
                self._spatial_and_mlp(part, grid, in_place=True)
            return x
        parts = [self._spatial_and_mlp(part, grid) for part in parts]
        return torch.cat(parts, dim=1) if len(parts) > 1 else parts[0]

    def _spatial_and_mlp(self, x: Tensor, grid: tuple[int, int, int], in_place: bool = False) -> Tensor:
        b, t, n, c = x.shape
        grid = (t, grid[1], grid[2])
        # spatial attention: sequences of N cells, one per (clip, frame)
        spatial = self.drop_path(self.spatial_attn(self.spatial_norm(x).view(b * t, n, c), grid).view(b, t, n, c))
        x = x.add_(spatial) if in_place else x + spatial
        mlp = self.drop_path(self.mlp(self.mlp_norm(x), grid))
        return x.add_(mlp) if in_place else x + mlp
