"""Pixels of the test views: resize the short side, crop along the long side, normalise.

The two families' authors resize differently, and each recipe here reproduces one:

  "float"  LViT (SlowFast `spatial_sampling`, docs/evaluation.md#pixels): frames are normalised to float,
           then resized bilinearly (align_corners=False, no antialias) so the short side is S and the long
           side floor(L / s * S); crops at 0, ceil((L - c) / 2) and L - c along the long side.
  "uint8"  VideoMamba (VideoMAE `video_transforms.Resize`, docs/evaluation.md#pixels): OpenCV bilinear on uint8,
           long side int(S * L / s), the result rounded to uint8; crops at int(k * (L - c) / 2).

Normalising is affine and bilinear weights sum to one, so "float" resizes first and normalises the resized
frame: the same values as the authors' order up to float rounding (about 1e-6), on far fewer pixels.

Hand-written on purpose, not torchvision's transforms: test views must reproduce the authors' pixels exactly
(tests/test_decode.py checks each rounding rule), and torchvision differs in the details that matter here:
its centre crop starts at round((L - c) / 2), half to even, where LViT's code rounds up and VideoMAE's
down; it has no left/centre/right crops along the long side; its resize antialiases by default. Training
reuses `resize_frame` for the short-side jitter; its random crops and flips are torchvision's (train/data.py).
"""

from __future__ import annotations

import functools
import math
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import UsageError
from ..registry.schema import Protocol
from .rows import FrameRows

Recipe = Literal["float", "uint8"]


def recipe_for(protocol: Protocol) -> Recipe:
    """The recipe of the code a protocol comes from: LViT (dense, segment) or VideoMamba (tsn, uniform)."""
    return "float" if protocol.sampling in ("dense", "segment") else "uint8"


def resized_shape(height: int, width: int, short_side: int, recipe: Recipe) -> tuple[int, int]:
    """(height, width) after scaling the short side to `short_side`; a square counts as landscape."""
    short, long = (width, height) if width < height else (height, width)
    if short == short_side:
        return height, width
    scaled = int(math.floor(float(long) / short * short_side)) if recipe == "float" else int(
        short_side * long / short)
    return (scaled, short_side) if width < height else (short_side, scaled)


def resize_frame(image: np.ndarray | FrameRows, short_side: int, recipe: Recipe) -> torch.Tensor:
    """An upright RGB uint8 frame (H, W, 3) as float32 (3, h, w) on the 0..255 scale, short side resized.

    "uint8" resizes the uint8 tensor, as OpenCV does (torch and OpenCV may round a value differently by
    one level); "float" resizes float values and keeps them unrounded (`_bilinear`), and takes the frame
    as `FrameRows` too: the rows `rows_read` names are all it reads.
    """
    if isinstance(image, FrameRows):
        size = resized_shape(image.height, image.pixels.shape[1], short_side, recipe)
        return _bilinear(image.pixels, size, image.height, image.rows)
    size = resized_shape(image.shape[0], image.shape[1], short_side, recipe)
    if recipe == "float" and size != tuple(image.shape[:2]):
        return _bilinear(image, size, image.shape[0])
    pixels = torch.from_numpy(image).permute(2, 0, 1).unsqueeze(0)  # 1 C H W (channels-last memory)
    if recipe == "float":
        pixels = pixels.float()
    if size != tuple(image.shape[:2]):
        pixels = F.interpolate(pixels, size=size, mode="bilinear", align_corners=False, antialias=False)
    return pixels[0].to(torch.float32, memory_format=torch.contiguous_format)


def rows_read(height: int, width: int, short_side: int, recipe: Recipe) -> np.ndarray | None:
    """The rows of an upright (height, width) frame that `resize_frame` reads, ascending; None: convert it whole.

    Only the "float" recipe's own bilinear kernel takes a frame in part (`FrameRows`), and only a shrink to
    less than half the height is worth it: converting rows alone costs two rows of conversion each.
    """
    size = resized_shape(height, width, short_side, recipe)
    if recipe != "float" or size == (height, width):
        return None
    top, bottom, _ = _taps(height, size[0])
    rows = np.union1d(top, bottom)
    return rows if 2 * len(rows) < height else None


def _bilinear(image: np.ndarray, size: tuple[int, int], height: int, rows: np.ndarray | None = None) -> torch.Tensor:
    """`F.interpolate(frame.float(), size, mode="bilinear", align_corners=False)` of a uint8 frame (H, W, 3),
    as (3, h, w), up to float rounding, made float only where it is sampled.

    Each output pixel blends the four pixels around its source position, so only those are gathered and
    converted: shrinking a 720p frame to 32 pixels reads 4 x 32 x 56 of its 1280 x 720, where converting
    the whole frame to float cost more than decoding it. `image` holds the frame's rows `rows` (all
    `height` of them when None).
    """
    top, bottom, down = _taps(height, size[0])
    if rows is not None:  # frame rows -> rows of `image`
        top, bottom = np.searchsorted(rows, top), np.searchsorted(rows, bottom)
    left, right, across = _taps(image.shape[1], size[1])
    w0, w1 = (1 - across)[None, :, None], across[None, :, None]

    def blend_along_rows(rows: np.ndarray) -> torch.Tensor:
        picked = image[rows]  # h W C; numpy gathers in this thread, where torch would wake its thread pool
        return torch.from_numpy(picked[:, left]).float() * w0 + torch.from_numpy(picked[:, right]).float() * w1

    out = blend_along_rows(top) * (1 - down)[:, None, None] + blend_along_rows(bottom) * down[:, None, None]
    return out.permute(2, 0, 1).contiguous()  # C h w


@functools.lru_cache(maxsize=32)  # a video's frames all take the same taps; callers only read them
def _taps(length: int, size: int) -> tuple[np.ndarray, np.ndarray, torch.Tensor]:
    """The two source pixels of each of `size` outputs along a side of `length`, and the second's weight.

    As PyTorch's bilinear kernel (align_corners=False): source position (i + 0.5) * scale - 0.5 with the
    float32 scale length / size, rounded to float32 once (the kernel's multiply-add is fused: rounding the
    product too gives other weights in the last bit), clamped at 0; its floor and the next pixel (the last
    one at the border).
    """
    scale = float(torch.tensor(length / size, dtype=torch.float32))
    position = ((torch.arange(size, dtype=torch.float64) + 0.5) * scale - 0.5).float().clamp(min=0)
    first = position.floor().long().clamp(max=length - 1)
    weight = (position - first).clamp(0, 1)
    return first.numpy(), (first + 1).clamp(max=length - 1).numpy(), weight


def crop_offsets(length: int, crop: int, count: int, recipe: Recipe) -> list[int]:
    """Start of each of `count` crops along a side of `length` pixels: first, centre, last for three.

    One crop is centred; k of n (n > 1) starts at k / (n - 1) of the free length, rounded up ("float",
    whose centre is ceil((L - c) / 2)) or down ("uint8", int(k * step)).
    """
    if count < 1:
        raise UsageError(f"the number of spatial crops must be at least 1, not {count}")
    if crop > length:
        raise ValueError(f"a {crop}-pixel crop does not fit in {length} pixels")
    free = length - crop
    fractions = [0.5] if count == 1 else [k / (count - 1) for k in range(count)]
    if recipe == "float":
        return [int(math.ceil(free * f)) for f in fractions]
    return [int(free * f) for f in fractions]


def spatial_crops(clip: torch.Tensor, crop: int, count: int, recipe: Recipe) -> list[torch.Tensor]:
    """`count` square crops of a clip (C, T, H, W) along its longer side, centred across the shorter one.

    Left to right for landscape frames, top to bottom for portrait ones (a square crops left to right).
    """
    height, width = clip.shape[-2:]
    across = crop_offsets(min(height, width), crop, 1, recipe)[0]
    along = crop_offsets(max(height, width), crop, count, recipe)
    if height > width:
        return [clip[..., start : start + crop, across : across + crop] for start in along]
    return [clip[..., across : across + crop, start : start + crop] for start in along]


def normalize(pixels: torch.Tensor, mean: tuple[float, ...], std: tuple[float, ...]) -> torch.Tensor:
    """(pixels / 255 - mean) / std per channel, channels first: (C, ...)."""
    shape = (-1,) + (1,) * (pixels.dim() - 1)
    mean_t = torch.tensor(mean, dtype=pixels.dtype).view(shape)
    std_t = torch.tensor(std, dtype=pixels.dtype).view(shape)
    return (pixels / 255.0 - mean_t) / std_t


def to_image(pixels: torch.Tensor, mean: tuple[float, ...], std: tuple[float, ...]) -> np.ndarray:
    """A normalised frame (3, H, W) back to RGB uint8 (H, W, 3): what the model saw, as a picture."""
    shape = (-1, 1, 1)
    values = pixels * torch.tensor(std).view(shape) + torch.tensor(mean).view(shape)
    return (values * 255).round().clamp(0, 255).to(torch.uint8).permute(1, 2, 0).contiguous().numpy()
