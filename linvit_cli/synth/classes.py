"""The motion classes: how the objects a label talks about move, as per-frame geometry.

Classes come in pairs, and the second of a pair is the first played backwards (left-to-right and
right-to-left, appearing and disappearing, clockwise and counter-clockwise, ...). A clip and its reversal
hold the same frames, so nothing computed from single frames, or from an unordered bag of them, can tell
the two classes of a pair apart: only the order of the frames can. Attributes a class leaves still are drawn
as a snapshot, at a random frame, of the same random sweep a class that moves them follows, so a frame's
position and size do not give away the pair either.

Geometry is in frame units: centre (x to the right, y downwards) and radius as fractions of the frame side,
angle in radians growing clockwise on screen, opacity in [0, 1]. Appearance (shape, colour) and the rest of
the scene are chosen by `render.compose`, identically for every class.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from functools import partial

import numpy as np

from ..errors import UsageError


@dataclass(frozen=True)
class Track:
    """Per-frame geometry of one object; every field is an array with one value per frame."""

    x: np.ndarray
    y: np.ndarray
    radius: np.ndarray
    angle: np.ndarray
    opacity: np.ndarray

    def reversed(self) -> Track:
        return Track(*(getattr(self, f.name)[::-1] for f in fields(self)))


Motion = Callable[[np.random.Generator, int], list[Track]]


@dataclass(frozen=True)
class MotionClass:
    """One class: its CLI name, its SSv2-style template, and the motion of the objects its template names.

    `motion` returns one track per `[something]` of the template, in the order the template names them.
    """

    name: str
    template: str
    motion: Motion
    reverse: bool = False

    @property
    def label(self) -> str:
        """The template without brackets: the key of SSv2's labels file."""
        return self.template.replace("[", "").replace("]", "")

    def tracks(self, rng: np.random.Generator, frames: int) -> list[Track]:
        tracks = self.motion(rng, frames)
        # Played backwards, the events also happen in the opposite order.
        return [track.reversed() for track in reversed(tracks)] if self.reverse else tracks


def _ramp(rng: np.random.Generator, frames: int) -> np.ndarray:
    """0 to 1 over a random stretch of the clip, starting in its first fifth and ending in its last one,
    so an action need not fill the clip. Its distribution is the same played backwards (as 1 - ramp)."""
    last = frames - 1
    start, end = rng.uniform(0.0, 0.2, size=2) * last
    return np.clip((np.arange(frames) - start) / (last - end - start), 0.0, 1.0)


def _switch(frames: int, at: float, width: float) -> np.ndarray:
    """0 before frame `at`, 1 after it, with a linear fade `width` frames wide."""
    return np.clip((np.arange(frames) - at) / width + 0.5, 0.0, 1.0)


@dataclass(frozen=True)
class _Range:
    """Where an attribute lives, and how far a sweep across it goes at least."""

    lo: float
    hi: float
    min_travel: float

    def sweep(self, rng: np.random.Generator, frames: int) -> np.ndarray:
        travel = rng.uniform(self.min_travel, self.hi - self.lo)
        start = rng.uniform(self.lo, self.hi - travel)
        return start + travel * _ramp(rng, frames)

    def still(self, rng: np.random.Generator, frames: int) -> np.ndarray:
        """A value held for the whole clip, distributed like one frame of a sweep."""
        return np.full(frames, self.sweep(rng, frames)[rng.integers(frames)])


POSITION = _Range(0.2, 0.8, 0.35)
RADIUS = _Range(0.08, 0.22, 0.07)  # overlapping sizes: a frame's size does not tell growing from shrinking
TURN = (0.5 * math.pi, 1.5 * math.pi)  # total rotation; per frame it stays well below a half turn


def _single(rng: np.random.Generator, frames: int, moving: str) -> list[Track]:
    """One object changing one attribute (`x`, `y`, `radius`, `angle` or `opacity`), the rest still."""
    x = POSITION.sweep(rng, frames) if moving == "x" else POSITION.still(rng, frames)
    y = POSITION.sweep(rng, frames) if moving == "y" else POSITION.still(rng, frames)
    radius = RADIUS.sweep(rng, frames) if moving == "radius" else RADIUS.still(rng, frames)
    angle = np.full(frames, rng.uniform(0.0, 2.0 * math.pi))
    if moving == "angle":
        angle = angle + rng.uniform(*TURN) * _ramp(rng, frames)
    opacity = np.ones(frames)
    if moving == "opacity":
        opacity = _switch(frames, rng.uniform(0.3, 0.7) * (frames - 1), rng.uniform(1.0, 2.5))
    return [Track(x, y, radius, angle, opacity)]


def _flash_left_then_right(rng: np.random.Generator, frames: int) -> list[Track]:
    """Two objects, one in each half of the frame, each shown once, the left one first, never both at once.

    The pair of flashes sits at a uniformly random place in the clip, so the time reversal (right first)
    has the same distribution of timings.
    """
    on = rng.uniform(0.2, 0.3) * frames
    gap = rng.uniform(0.0, 0.15) * frames
    first = rng.uniform(0.0, frames - 1 - (2 * on + gap))
    tracks = []
    for lo, start in ((0.15, first), (0.55, first + on + gap)):
        opacity = _switch(frames, start, 1.0) * (1.0 - _switch(frames, start + on, 1.0))
        x = np.full(frames, rng.uniform(lo, lo + 0.3))
        tracks.append(Track(x, POSITION.still(rng, frames), RADIUS.still(rng, frames),
                            np.full(frames, rng.uniform(0.0, 2.0 * math.pi)), opacity))
    return tracks


def _pair(forward: tuple[str, str], backward: tuple[str, str], motion: Motion) -> tuple[MotionClass, ...]:
    return MotionClass(*forward, motion), MotionClass(*backward, motion, reverse=True)


CLASSES: tuple[MotionClass, ...] = (
    *_pair(("left-to-right", "Moving [something] from left to right"),
           ("right-to-left", "Moving [something] from right to left"), partial(_single, moving="x")),
    *_pair(("down", "Moving [something] down"),
           ("up", "Moving [something] up"), partial(_single, moving="y")),
    *_pair(("towards", "Moving [something] towards the camera"),
           ("away", "Moving [something] away from the camera"), partial(_single, moving="radius")),
    *_pair(("appearing", "[Something] appearing"),
           ("disappearing", "[Something] disappearing"), partial(_single, moving="opacity")),
    *_pair(("clockwise", "Turning [something] clockwise"),
           ("counterclockwise", "Turning [something] counterclockwise"), partial(_single, moving="angle")),
    *_pair(("left-then-right", "Flashing [something] on the left, then [something] on the right"),
           ("right-then-left", "Flashing [something] on the right, then [something] on the left"),
           _flash_left_then_right),
)


def select(names: Sequence[str] | None = None) -> tuple[MotionClass, ...]:
    """The classes with these names, in the order given (their label indices); all of them for None."""
    if names is None:
        return CLASSES
    by_name = {cls.name: cls for cls in CLASSES}
    unknown = [name for name in names if name not in by_name]
    if unknown:
        raise UsageError(f"unknown synth class {', '.join(map(repr, unknown))}; "
                         f"choose from {', '.join(by_name)}")
    if len(set(names)) != len(names) or not names:
        raise UsageError("classes needs at least one class name and no repeats",
                         cli="--classes needs at least one class name and no repeats")
    return tuple(by_name[name] for name in names)


def reverse_of(cls: MotionClass) -> MotionClass:
    """The class whose clips are this class's clips played backwards."""
    at = CLASSES.index(cls)
    return CLASSES[at + 1 if at % 2 == 0 else at - 1]
