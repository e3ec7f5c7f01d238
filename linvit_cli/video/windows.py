"""Windows of a long video or a stream, read in one pass: the streaming frame source beside `Video.read`.

A timeline cuts the video into windows `window` seconds long and `stride` seconds apart, and samples each
one with the model's protocol as if it were a clip of its own: `sample_clips` over the frames a window
holds at the video's frame rate, so every window takes the same offsets from its start. `Windows` asks a
`Video` for the windows' sample times in increasing order, so the video is decoded once, front to back,
and never sought; only sampled frames are converted, resized and normalised (`frame_pixels`, as
`load_views` does), and at most the samples of two windows are held: the next window is read before one
is handed out, so that a damaged packet late in a window is known when the window is reported.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial

import av
import numpy as np
import torch

from ..errors import positive_seconds
from ..registry.schema import Protocol
from .decode import Video, lost_warning
from .rows import FrameRows
from .sampling import sample_clips
from .views import frame_pixels, rows_used

MIN_WINDOW_S = 2.0
_DIGITS = 6  # sample times are rounded to the microsecond, so that overlapping windows share them exactly


def default_window(protocol: Protocol, fps: float) -> float:
    """The span of the protocol's clip, at least `MIN_WINDOW_S`.

    Dense clips (LViT Kinetics) span `frames x stride` frames at the protocol's rate (16 x 16 at 30 fps:
    8.53 s); the other kinds spread their frames over whatever clip they get, and take `frames`
    consecutive frames of the video (16 at 30 fps: 0.53 s, so the 2 s minimum).
    """
    if protocol.sampling == "dense" and protocol.stride and protocol.fps:
        span = protocol.frames * protocol.stride / protocol.fps
    else:
        span = protocol.frames / fps
    return max(span, MIN_WINDOW_S)


@dataclass(frozen=True)
class Layout:
    """Where the windows lie, and the times each one samples counted from its start."""

    window: float  # seconds
    stride: float  # seconds from one window's start to the next
    offsets: tuple[float, ...]  # sample times from a window's start, increasing
    warnings: tuple[str, ...]  # about every window (too few frames in one, a video shorter than one)

    def start(self, index: int) -> float:
        return index * self.stride

    def times(self, index: int) -> list[float]:
        return [round(self.start(index) + offset, _DIGITS) for offset in self.offsets]


def layout(protocol: Protocol, fps: float, window: float | None = None, stride: float | None = None,
           duration: float = 0.0) -> Layout:
    """Windows of `window` seconds (default: `default_window`) every `stride` seconds (default: `window`).

    A video known to be shorter than one window gets one window over all of it (`duration`; 0: unknown).
    """
    positive_seconds("window", window)
    positive_seconds("stride", stride)
    size = default_window(protocol, fps) if window is None else window
    step = size if stride is None else stride
    warnings = []
    if 0 < duration < size:
        warnings.append(f"the video ({duration:.2f} s) is shorter than one window ({size:.2f} s): "
                        "one window over all of it")
        size = duration
    frames = max(1, round(size * fps))
    sampled = sample_clips(protocol, frames, fps, clips=1)
    if sampled.warnings:
        warnings.append(f"a {size:.2f} s window holds {frames} frames at {fps:.3g} fps, too few for "
                        f"{protocol.frames} distinct sampled frames: frames repeat in every window "
                        "(a longer window avoids it)")
    return Layout(size, step, sampled.times[0], tuple(warnings))


@dataclass(frozen=True)
class WindowFrames:
    """The sampled frames of one window, in time order."""

    index: int
    start: float  # seconds from the first frame
    end: float  # start + window, or where the video ended inside the window
    frames: list[torch.Tensor]  # `protocol.frames` frames (3, h, w), resized and normalised, not cropped
    times: tuple[float, ...]  # the time of each frame used
    warnings: list[str]
    picture: np.ndarray | None = None  # with `picture_width`: the middle frame as decoded, that wide at most


class Windows:
    """The windows of a `Video` opened with `seek=False`, read front to back, each handed out once its frames
    are decoded.

    After the last window, `end` is the time of the last frame, `decoded` counts the frames decoded (each
    frame of the video once), `lost`/`packets` what the decoder rejected of the packets it was given, and
    `warnings` names a tail too short to classify (less than half a window, after the first).
    Where the video ends inside a window, the sampled frames before the end are spread over the clip
    (repeated) and the window ends with the video; a video shorter than its first window still gets it.
    """

    def __init__(self, video: Video, protocol: Protocol, plan: Layout, picture_width: int = 0) -> None:
        self.video, self.protocol, self.plan, self.picture_width = video, protocol, plan, picture_width
        self.end: float | None = None
        self.lost: list[float] = []
        self.packets, self.decoded = 0, 1  # the first frame was decoded on opening
        self.warnings: list[str] = []
        # sample time -> (frame, its own time, its picture where `picture_width` asks for them)
        self._frames: dict[float, tuple[torch.Tensor, float, np.ndarray | None]] = {}
        self._read_until = -math.inf
        self._past_end = math.inf  # the first sample time that lies past the end of the video
        self._covered = 0.0  # the end of the last window handed out
        self._rows = rows_used(video.info, protocol)

    def __iter__(self) -> Iterator[WindowFrames]:
        self._read(0)
        for index in itertools.count():
            more = self._read(index + 1)  # the next window is read before this one is handed out
            window = self._window(index)
            if window is None:
                return
            yield window
            if not more:
                return

    def _read(self, index: int) -> bool:
        """Decode up to window `index`'s last sample; whether the window starts before the video ends.

        Where windows overlap, the later windows' samples before that one are read with it, so that the
        video is asked for its times in increasing order.
        """
        times = self.plan.times(index)
        wanted: set[float] = set()
        for later in itertools.count(index):
            samples = self.plan.times(later)
            if samples[0] > times[-1]:
                break
            wanted.update(t for t in samples if self._read_until < t <= times[-1])
        new = sorted(wanted)
        if new:
            convert = partial(_pixels_and_picture, protocol=self.protocol, width=self.picture_width)
            # a picture needs the whole frame; without one, only the rows the model's resize reads are converted
            decoded = self.video.read(new, convert=convert, rows=None if self.picture_width else self._rows)
            self._frames.update({t: (pixels, time, picture) for t, (pixels, picture), time
                                 in zip(new, decoded.frames, decoded.times, strict=True)})
            self._read_until = new[-1]
            self.packets += decoded.packets
            self.decoded += decoded.decoded
            self.lost.extend(decoded.lost)
            if decoded.stream_end is not None:
                self.end = decoded.stream_end
            if decoded.past_end:
                self._past_end = min(self._past_end, new[len(new) - decoded.past_end])
        return index == 0 or times[0] < self._past_end

    def _window(self, index: int) -> WindowFrames | None:
        plan, times = self.plan, self.plan.times(index)
        start, warnings = plan.start(index), []
        picks = [t for t in times if t < self._past_end] or times[:1]  # a first window has at least a frame
        if len(picks) == len(times):
            end = start + plan.window
        else:  # the video ends inside this window
            end = (self.end or 0.0) + 1 / self.video.info.fps
            if index > 0 and 2 * len(picks) < len(times):  # too little left: the windows end here
                if end - self._covered > 1e-6:  # (overlapping windows may have covered it already)
                    self.warnings.append(f"the last {end - self._covered:.2f} s of the video (from "
                                         f"{self._covered:.2f} s) are less than half a window: not classified")
                return None
            warnings.append(f"the video ends at {end:.2f} s, inside this window: the {len(picks)} of its "
                            f"{len(times)} sampled frames before the end are repeated to fill the clip")
            picks = [picks[i * len(picks) // len(times)] for i in range(len(times))]
        warnings += lost_warning([t for t in self.lost if start <= t < end])
        frames, found, pictures = zip(*(self._frames[t] for t in picks), strict=True)
        keep_from = plan.times(index + 1)[0]  # the next window is read already: keep only its samples
        for t in [t for t in self._frames if t < keep_from]:
            del self._frames[t]
        self._covered = end
        return WindowFrames(index, start, end, list(frames), tuple(found), warnings, pictures[len(pictures) // 2])


def _pixels_and_picture(image: np.ndarray | FrameRows, protocol: Protocol, width: int,
                        ) -> tuple[torch.Tensor, np.ndarray | None]:
    """A decoded frame for the model (`frame_pixels`) and, where `width` > 0, as a picture at most that wide."""
    picture = None
    if width and isinstance(image, np.ndarray):
        height, full = image.shape[:2]
        scale = min(1.0, width / full)
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
        picture = frame.reformat(width=max(2, round(full * scale)), height=max(2, round(height * scale)),
                                 interpolation="AREA").to_ndarray()
    return frame_pixels(image, protocol), picture
