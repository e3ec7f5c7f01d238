"""A video file in, the model's test views out: decode, sample and transform in one call.

`load_views` is a plain function of its arguments (no global state, picklable with `functools.partial`),
so a DataLoader worker can call it directly.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch

from ..errors import VideoDecodeError
from ..output.tables import count
from ..registry.schema import Protocol
from .decode import DecodedFrames, Video, VideoInfo, check_losses, cut_short, lost_warning
from .rows import FrameRows
from .sampling import sample_clips
from .transforms import normalize, recipe_for, resize_frame, rows_read, spatial_crops


class LoadedViews(NamedTuple):
    """The views of one video and how they were obtained."""

    views: torch.Tensor  # (V, 3, T, crop, crop) float32; view v is clip v // crops, crop v % crops
    info: VideoInfo
    warnings: list[str]  # short video (frames repeated), stream ended early: one line each
    times: tuple[tuple[float, ...], ...]  # per clip, the time of each frame used (s from the first frame)
    complete: bool = True  # False: the file is cut short (decoding stopped well before its stated length)


def load_views(path: str | Path, protocol: Protocol, views: tuple[int, int] | None = None, *,
               threads: int = 0) -> LoadedViews:
    """Decode, sample and transform a video into the test views of `protocol`.

    `views` = (clips, crops) overrides the protocol's (`--views CLIPSxCROPS`; (1, 1) is the centre clip's
    centre crop, `--fast`). Each frame is decoded and resized once even when several clips share it.
    `threads` caps FFmpeg's decoding threads (0: one per core). Raises `VideoDecodeError` for files that
    cannot be read, or where the decoder rejects more than `MAX_LOST_SHARE` of the packets read as damaged
    (fewer cost a warning saying how many frames were lost).
    """
    clips, crops = protocol.views if views is None else views
    with Video(path, threads=threads) as video:
        info = video.info
        if not info.num_frames:
            raise VideoDecodeError(f"'{path}' states no length, which sampling over the whole video needs; "
                                   "`linvit timeline` reads such streams window by window")
        sampled = sample_clips(protocol, info.num_frames, info.fps, clips)
        wanted = sorted({t for clip in sampled.times for t in clip})
        decoded = video.read(wanted, convert=partial(frame_pixels, protocol=protocol), rows=rows_used(info, protocol))
    check_losses(path, len(decoded.lost), decoded.packets)
    frame_at = dict(zip(wanted, decoded.frames, strict=True))
    time_at = dict(zip(wanted, decoded.times, strict=True))
    out = torch.empty(clips * crops, 3, protocol.frames, protocol.crop, protocol.crop)
    for c, clip_times in enumerate(sampled.times):
        out[c * crops : (c + 1) * crops] = clip_views([frame_at[t] for t in clip_times], protocol, crops)
    times = tuple(tuple(time_at[t] for t in clip) for clip in sampled.times)
    ending, complete = _ending(decoded, info)
    warnings = [*sampled.warnings, *ending, *lost_warning(decoded.lost)]
    return LoadedViews(out, info, warnings, times, complete)


def rows_used(info: VideoInfo, protocol: Protocol) -> np.ndarray | None:
    """The rows of the video's upright frames that `frame_pixels` reads (None: all), for `Video.read`."""
    return rows_read(info.height, info.width, protocol.short_side, recipe_for(protocol))


def frame_pixels(image: np.ndarray | FrameRows, protocol: Protocol) -> torch.Tensor:
    """One decoded frame, resized and normalised once however many views use it: (3, h, w) float32."""
    resized = resize_frame(image, protocol.short_side, recipe_for(protocol))
    return normalize(resized, protocol.mean, protocol.std)


def clip_views(frames: Sequence[torch.Tensor], protocol: Protocol, crops: int) -> torch.Tensor:
    """The `crops` spatial views (crops, 3, T, crop, crop) of one clip's frames, each (3, h, w)."""
    clip = torch.stack(list(frames), dim=1)  # C T H W
    return torch.stack(spatial_crops(clip, protocol.crop, crops, recipe_for(protocol)))


def _ending(decoded: DecodedFrames[torch.Tensor], info: VideoInfo) -> tuple[list[str], bool]:
    """A warning where sampled frames lay past the end of what decodes, and whether the file is whole: a stream
    ending well before the length the file states is a file cut short (as `linvit timeline` judges it)."""
    if not decoded.past_end or decoded.stream_end is None:
        return [], True
    stopped = decoded.stream_end + 1 / info.fps
    repeat = "repeats" if decoded.past_end == 1 else "repeat"
    repeated = f"{count(decoded.past_end, 'sampled frame')} past the end {repeat} the last one"
    if cut_short(stopped, info.duration):
        return [f"decoding stopped at {stopped:.2f} s (about {decoded.frames_found(info.fps)} frames), before the "
                f"{info.duration:.2f} s ({info.num_frames} frames) the file states: the file is cut short; "
                f"{repeated}"], False
    return [f"the stream ends at {decoded.stream_end:.2f} s (about {decoded.frames_found(info.fps)} frames), a "
            f"little before the {info.duration:.2f} s ({info.num_frames} frames) the file states: {repeated}"], True
