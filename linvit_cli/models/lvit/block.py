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
    each frame; each is its own `VideoAttention` with its own weights. In inference (evaluation without
    autograd) the block adds its branches into x in place (the model gives each block a tensor of its own):
    on a CPU temporal attention a band of grid rows at a time, and the rest a chunk of frames at a time.
    Training runs each branch over the whole clip.

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
        inference = not (self.training or torch.is_grad_enabled())
        if inference and x.device.type == "cpu":  # a GPU's memory is fast, and each band costs kernel launches
            self._temporal_in_bands_(x, grid)
        else:
            x = x + self.drop_path(self._temporal(x, grid))
        if self.training:  # one pass: stochastic depth must drop a clip's branch in all its frames alike
            return self._spatial_and_mlp(x, grid)
        parts = x.split(self.frame_chunk, dim=1)
        if inference:
            for part in parts:
                self._spatial_and_mlp(part, grid, in_place=True)
            return x
        parts = [self._spatial_and_mlp(part, grid) for part in parts]
        return torch.cat(parts, dim=1) if len(parts) > 1 else parts[0]

    def _temporal(self, x: Tensor, grid: tuple[int, int, int]) -> Tensor:
        """Temporal attention over the clip in one pass: sequences of T frames, one per (clip, cell)."""
        b, t, n, c = x.shape
        xt = self.temporal_norm(x).transpose(1, 2).reshape(b * n, t, c)  # B*N T C
        return self.temporal_attn(xt, grid).view(b, n, t, c).transpose(1, 2)

    def _temporal_in_bands_(self, x: Tensor, grid: tuple[int, int, int]) -> None:
        """x += temporal attention of x, one band of grid rows at a time (inference).

        Temporal sequences are independent but for neighbourhood association, which gives each cell channels
        of k and v from the 8 cells around it; so a band of rows needs, besides its own, only the unshifted
        k and v of the rows just above and below it. Norm, projections and mixing then see about
        `chunk_tokens` tokens at a time, read from and added into x's strided view: no clip-sized temporaries
        and no pass over the whole clip, which at long clips come from DRAM.
        """
        b, t, _, c = x.shape
        _, height, width = grid
        attn = self.temporal_attn
        cells = x.view(b, t, height, width, c)
        rows = max(1, attn.chunk_tokens // (t * width))  # grid rows per band

        def project(start: int) -> Tensor:  # unshifted q, k, v of the band from row `start`: B rows W T 3 C
            band = cells[:, :, start : start + rows].permute(0, 2, 3, 1, 4)  # location-major
            return attn.qkv(self.temporal_norm(band)).unflatten(-1, (3, c))

        above, qkv = None, project(0)
        for start in range(0, height, rows):
            below = project(start + rows) if start + rows < height else None
            kv = qkv[..., 1:, :]
            next_above = kv[:, -1:].clone() if below is not None else None  # before the shift
            attn.shift.band_(kv, above, None if below is None else below[:, :1, ..., 1:, :])
            out = attn.attend(qkv.flatten(0, 2)).view(*qkv.shape[:4], c)  # B rows W T C
            cells[:, :, start : start + rows].add_(out.permute(0, 3, 1, 2, 4))
            above, qkv = next_above, below

    def _spatial_and_mlp(self, x: Tensor, grid: tuple[int, int, int], in_place: bool = False) -> Tensor:
        b, t, n, c = x.shape
        grid = (t, grid[1], grid[2])
        # spatial attention: sequences of N cells, one per (clip, frame)
        spatial = self.drop_path(self.spatial_attn(self.spatial_norm(x).view(b * t, n, c), grid).view(b, t, n, c))
        x = x.add_(spatial) if in_place else x + spatial
        mlp = self.drop_path(self.mlp(self.mlp_norm(x), grid))
        return x.add_(mlp) if in_place else x + mlp
