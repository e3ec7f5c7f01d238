"""Scenes and their frames: shapes, colours, backgrounds and distractors around a class's motion.

Everything here is drawn the same way for every class and is unchanged by playing a clip backwards
(distractors drift at constant velocity about a random midpoint, backgrounds are still), so appearance
carries no hint of the class. Backgrounds are "random" (a random colour, flat, graded or blotchy) or
"plain" (the same mid-grey in every clip, which normalises to zero under mean = std = 0.5): the second
removes the one nuisance that keeps a small LViT trained from scratch at chance (benchmarks/ablation.md).
Shapes are given as signed distance functions, which makes anti-aliasing a clip of the distance at the
pixel centre and lets one code path draw any shape at any size and angle.
"""

from __future__ import annotations

import colorsys
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np

from .classes import MotionClass, Track

Background = Literal["random", "plain"]
BACKGROUNDS: tuple[str, ...] = ("random", "plain")
PLAIN = np.full((1, 1, 3), 0.5)

Distance = Callable[[np.ndarray, np.ndarray], np.ndarray]
"""Signed distance (negative inside) of a shape lying within the unit disc, pointing along +x."""


def _polygon(*vertices: tuple[float, float]) -> Distance:
    """A convex polygon: the largest distance beyond any of its edges (exact inside, close enough outside
    for a one-pixel anti-aliasing band)."""
    points = np.array(vertices, dtype=np.float64)
    edges = np.roll(points, -1, axis=0) - points
    normals = np.stack([edges[:, 1], -edges[:, 0]], axis=1) / np.linalg.norm(edges, axis=1, keepdims=True)
    outward = np.sign(np.sum(normals * (points - points.mean(axis=0)), axis=1, keepdims=True))
    normals = normals * outward
    offsets = np.sum(normals * points, axis=1)

    def distance(u: np.ndarray, v: np.ndarray) -> np.ndarray:
        return np.max(normals[:, 0, None, None] * u + normals[:, 1, None, None] * v
                      - offsets[:, None, None], axis=0)
    return distance


def _disc(radius: float) -> Distance:
    return lambda u, v: np.hypot(u, v) - radius


def _union(a: Distance, b: Distance) -> Distance:
    return lambda u, v: np.minimum(a(u, v), b(u, v))


def _minus(a: Distance, b: Distance) -> Distance:
    return lambda u, v: np.maximum(a(u, v), -b(u, v))


# Every shape is asymmetric, so its rotation sense shows (a plain circle or square would hide it).
SHAPES: dict[str, Distance] = {
    "arrow": _union(_polygon((-0.9, -0.2), (0.1, -0.2), (0.1, 0.2), (-0.9, 0.2)),
                    _polygon((0.1, -0.6), (0.9, 0.0), (0.1, 0.6))),
    "triangle": _polygon((-0.7, -0.7), (0.95, 0.0), (-0.7, 0.7)),
    "ell": _union(_polygon((-0.75, -0.8), (-0.25, -0.8), (-0.25, 0.8), (-0.75, 0.8)),
                  _polygon((-0.75, 0.3), (0.75, 0.3), (0.75, 0.8), (-0.75, 0.8))),
    "half disc": _minus(_disc(0.9), _polygon((-2.0, -2.0), (-0.15, -2.0), (-0.15, 2.0), (-2.0, 2.0))),
    "notched disc": _minus(_disc(0.9), _polygon((0.0, 0.0), (1.5, -0.9), (1.5, 0.9))),
}

_HUES = ((15, "red"), (45, "orange"), (70, "yellow"), (165, "green"), (195, "cyan"), (255, "blue"),
         (290, "purple"), (345, "pink"), (360, "red"))


@dataclass(frozen=True)
class Sprite:
    """A shape with a colour (RGB in [0, 1]) following a track."""

    kind: str
    colour: np.ndarray
    track: Track

    @property
    def name(self) -> str:
        """What a person would call it ("red arrow"): a placeholder of the annotation."""
        hue, _, _ = colorsys.rgb_to_hsv(*self.colour)
        return f"{next(name for limit, name in _HUES if hue * 360 < limit)} {self.kind}"


@dataclass(frozen=True)
class Scene:
    """One clip, independent of resolution: the background as a coarse colour grid stretched over the frame,
    the class's objects (in template order) and the distractors."""

    background: np.ndarray
    objects: tuple[Sprite, ...]
    distractors: tuple[Sprite, ...]


def _vivid(rng: np.random.Generator, background: np.ndarray) -> np.ndarray:
    """A saturated colour (so it has a hue name) that stands out everywhere on the background grid."""
    while True:
        colour = np.array(colorsys.hsv_to_rgb(rng.uniform(), rng.uniform(0.5, 1.0), rng.uniform(0.55, 1.0)))
        if np.linalg.norm(background - colour, axis=-1).min() > 0.45:
            return colour


def _distractor(rng: np.random.Generator, frames: int, background: np.ndarray) -> Sprite:
    """A small shape drifting in a random direction about a random midpoint, never turning or fading."""
    heading = rng.uniform(0.0, 2.0 * math.pi)
    travel = rng.uniform(0.0, 0.25) * (np.arange(frames) / (frames - 1) - 0.5)
    mid_x, mid_y = rng.uniform(0.05, 0.95, size=2)
    track = Track(mid_x + travel * math.cos(heading), mid_y + travel * math.sin(heading),
                  np.full(frames, rng.uniform(0.035, 0.06)), np.full(frames, rng.uniform(0.0, 2.0 * math.pi)),
                  np.ones(frames))
    return Sprite(str(rng.choice(list(SHAPES))), _vivid(rng, background), track)


def compose(motion: MotionClass, rng: np.random.Generator, frames: int, background: Background = "random") -> Scene:
    """A random scene showing `motion`: a random (flat, graded or blotchy) or plain grey background, and
    0-3 distractors whose colours, like the objects', stand out from that background."""
    cells = int(rng.choice([1, 2, 4]))
    base = np.array(colorsys.hsv_to_rgb(rng.uniform(), rng.uniform(0.0, 0.6), rng.uniform(0.1, 0.9)))
    drawn = np.clip(base + rng.normal(0.0, 0.12, size=(cells, cells, 3)), 0.0, 1.0)
    background = PLAIN if background == "plain" else drawn
    objects = tuple(Sprite(str(rng.choice(list(SHAPES))), _vivid(rng, background), track)
                    for track in motion.tracks(rng, frames))
    distractors = tuple(_distractor(rng, frames, background) for _ in range(rng.integers(0, 4)))
    return Scene(background, objects, distractors)


def _stretch(grid: np.ndarray, size: int) -> np.ndarray:
    """Bilinear upsampling of a (cells, cells, 3) grid to (size, size, 3), grid corners on frame corners."""
    at = np.linspace(0.0, grid.shape[0] - 1, size)
    tent = np.maximum(0.0, 1.0 - np.abs(at[:, None] - np.arange(grid.shape[0])))  # (size, cells)
    return np.einsum("ij,jkc,lk->ilc", tent, grid, tent, optimize=True).astype(np.float32)


def _draw(image: np.ndarray, sprite: Sprite, t: int) -> None:
    """Blend frame `t` of a sprite into `image` (float, values in [0, 1]) in place."""
    track, side = sprite.track, image.shape[0]
    opacity, radius = float(track.opacity[t]), float(track.radius[t]) * side
    if opacity <= 0.0:
        return
    cx, cy = float(track.x[t]) * side, float(track.y[t]) * side
    x0, x1 = max(int(cx - radius) - 1, 0), min(int(cx + radius) + 2, side)
    y0, y1 = max(int(cy - radius) - 1, 0), min(int(cy + radius) + 2, side)
    if x0 >= x1 or y0 >= y1:
        return
    dy, dx = np.ogrid[y0:y1, x0:x1]
    dx, dy = dx + (0.5 - cx), dy + (0.5 - cy)  # from the centre to pixel centres
    cos, sin = math.cos(track.angle[t]), math.sin(track.angle[t])
    inside = SHAPES[sprite.kind]((cos * dx + sin * dy) / radius, (cos * dy - sin * dx) / radius)
    alpha = (np.clip(0.5 - inside * radius, 0.0, 1.0) * opacity)[..., None]
    patch = image[y0:y1, x0:x1]
    patch += alpha * (sprite.colour - patch)


def render(scene: Scene, size: int) -> np.ndarray:
    """The clip as (frames, size, size, 3) uint8 RGB; objects drawn over distractors."""
    background = _stretch(scene.background, size)
    frames = len(scene.objects[0].track.x)
    clip = np.empty((frames, size, size, 3), dtype=np.uint8)
    for t in range(frames):
        image = background.copy()
        for sprite in (*scene.distractors, *scene.objects):
            _draw(image, sprite, t)
        clip[t] = np.round(image * 255.0)
    return clip
