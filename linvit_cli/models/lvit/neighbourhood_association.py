"""Neighbourhood association: keys and values borrow channels from neighbouring tokens.

Spatial attention cannot see other frames and temporal attention cannot see other places; shifting a few
channel groups of k and v (not q) from the neighbouring frame or grid cell lets each attention look one step
along the axis it lacks, at no parameter cost. Inputs are k and v stacked: (..., 2, C) with C = heads * e,
channel index = head * e + d, as in the authors' code. The shifts work in place on the fresh qkv projection.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn


@dataclass(frozen=True)
class _ChannelShift:
    """Channels [start, stop) of token p take the value of token p + offset (one offset per shifted axis).

    Tokens whose source falls outside the grid get zero (`zero_border`) or keep their own value.
    """

    start: int
    stop: int
    offsets: tuple[int, ...]
    zero_border: bool


def _slices(offset: int, size: int, source_size: int, first: int = 0) -> tuple[slice, slice]:
    """Destination and source slices along one axis for out[i] = source[first + i + offset].

    out has `size` tokens along the axis, source `source_size`, of which out's are those from `first` on;
    tokens whose source falls outside it are left out.
    """
    begin, end = max(0, -first - offset), min(size, source_size - first - offset)
    return slice(begin, end), slice(first + offset + begin, first + offset + end)


def _shift_(x: Tensor, shifts: tuple[_ChannelShift, ...], before: Tensor | None = None,
            after: Tensor | None = None) -> Tensor:
    """Shift channel groups of x in place; x: (G, *axes, ..., C), shifted axes right after the first.

    Only the shifted channels are copied (each group reads a snapshot of itself), so the cost is a
    fraction of one pass over k and v. x may be a band of the grid along its first shifted axis: `before`
    and `after` then hold the unshifted tokens just before and after the band along that axis (None where
    the band ends at the grid's edge), and the band is shifted as it is in the whole grid.
    """
    for s in shifts:
        channels = x[..., s.start : s.stop]
        pre, post = before if s.offsets[0] < 0 else None, after if s.offsets[0] > 0 else None  # what it reads
        source = torch.cat([part[..., s.start : s.stop] for part in (pre, x, post) if part is not None], 1)
        first = 0 if pre is None else pre.shape[1]
        if s.zero_border:
            channels.zero_()
        pairs = [_slices(offset, size, source_size, start) for offset, size, source_size, start
                 in zip(s.offsets, x.shape[1:], source.shape[1:], (first, 0), strict=False)]
        channels[(slice(None), *(d for d, _ in pairs))] = source[(slice(None), *(r for _, r in pairs))]
    return x


class TemporalShift(nn.Module):
    """For spatial attention: 1/`fold_div` of the channels come from frame t+1, as many from frame t-1.

    Frames are shifted within independent groups of `segments` frames (the authors' K400 config uses two
    8-frame groups for a 16-frame clip, SSv2 one 16-frame group); the group ends get zeros.

    Args:
        dim: channels C.
        segments: frames per shift group; the clip length must be a multiple of it.
        fold_div: C / fold_div channels shift each way.
    """

    def __init__(self, dim: int, segments: int, fold_div: int) -> None:
        super().__init__()
        self.segments = segments
        f = dim // fold_div
        self.shifts = (_ChannelShift(0, f, (1,), True), _ChannelShift(f, 2 * f, (-1,), True))

    def forward(self, kv: Tensor, grid: tuple[int, int, int]) -> Tensor:
        # kv: (B*T, N, 2, C), frame-major batch
        frames = grid[0]
        if frames % self.segments:
            raise ValueError(f"the clip has {frames} frames; temporal shift needs a multiple of {self.segments}")
        _shift_(kv.view(-1, self.segments, *kv.shape[1:]), self.shifts)  # B*T/S, S, N, 2, C
        return kv

    def extra_repr(self) -> str:
        return f"segments={self.segments}, channels_per_direction={self.shifts[0].stop}"


# (row offset, column offset, zero border) per channel group of the 8-neighbour shift, in the authors'
# channel order: four axial neighbours (zero outside the grid), then four diagonal ones (keep own value).
_EIGHT_NEIGHBOURS = (
    (1, 0, True), (-1, 0, True), (0, 1, True), (0, -1, True),
    (-1, -1, False), (1, 1, False), (-1, 1, False), (1, -1, False),
)


class SpatialShift(nn.Module):
    """For temporal attention: 8 channel groups of C / fold_div come from the 8 neighbouring grid cells.

    Args:
        dim: channels C.
        fold_div: C / fold_div channels per direction (16 in the authors' code, so half of C is shifted).
    """

    def __init__(self, dim: int, fold_div: int = 16) -> None:
        super().__init__()
        f = dim // fold_div
        self.shifts = tuple(_ChannelShift(i * f, (i + 1) * f, (di, dj), zero)
                            for i, (di, dj, zero) in enumerate(_EIGHT_NEIGHBOURS))

    def forward(self, kv: Tensor, grid: tuple[int, int, int]) -> Tensor:
        # kv: (B*H*W, T, 2, C), location-major batch
        _, height, width = grid
        self.band_(kv.view(-1, height, width, *kv.shape[1:]), None, None)  # B, H, W, T, 2, C
        return kv

    def band_(self, kv: Tensor, above: Tensor | None, below: Tensor | None) -> Tensor:
        """Shift a band of grid rows in place, as in the whole grid: kv (B, rows, W, T, 2, C); `above` and
        `below` are the unshifted rows just above and below the band, (B, 1, W, T, 2, C), None at the edge."""
        return _shift_(kv, self.shifts, above, below)

    def extra_repr(self) -> str:
        return f"neighbours=8, channels_per_direction={self.shifts[0].stop}"


class NoShift(nn.Module):
    """The ablation without neighbourhood association."""

    def forward(self, kv: Tensor, grid: tuple[int, int, int]) -> Tensor:
        return kv

    def band_(self, kv: Tensor, above: Tensor | None, below: Tensor | None) -> Tensor:
        return kv


__all__ = ["NoShift", "SpatialShift", "TemporalShift"]
