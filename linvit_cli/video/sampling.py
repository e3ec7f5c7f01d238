"""Which frames each temporal clip of a test protocol takes: index arithmetic only, no video needed.

Each kind of `Protocol.sampling` reproduces one authors' test code, formula for formula, including their
rounding (np.round rounds half to even; `int()` truncates). When asked for a number of clips other than
the protocol's, every kind defines what it takes; one clip is always the centre clip (see each function).

Indices count frames on a timeline: the video's own frames, or, when the protocol fixes a frame rate
(LViT's frames were re-extracted at 30 fps), frames at that rate. `sample_clips` turns them into times
(seconds from the first frame) for the decoder, which picks the nearest frame, so variable frame rate
files are sampled evenly in time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import torch

from ..errors import UsageError
from ..registry.schema import SEGMENT_CLIPS, Protocol


@dataclass(frozen=True)
class Clips:
    """Sampled positions, one tuple per temporal clip."""

    indices: tuple[tuple[int, ...], ...]  # frames of the video a constant-rate decode returns
    times: tuple[tuple[float, ...], ...]  # seconds from the first frame, handed to the decoder
    warnings: tuple[str, ...]


def dense_indices(length: int, frames: int, stride: int, clip: int, clips: int) -> list[int]:
    """LViT (SlowFast) Kinetics test clips: `frames` frames `stride` apart, clips spread over the video.

    `get_start_end_idx` + `temporal_sampling` (docs/evaluation.md#dense-sampling-lvit-kinetics): with span =
    frames * stride and delta = max(length - span, 0), clip c of C starts at delta * c / C and ends span - 1
    frames later; indices are torch.linspace(start, end, frames) clamped to [0, length - 1] and truncated
    (`.long()`).
    One clip is centred (start delta / 2); the authors' formula would put it at the start of the video.
    """
    span = frames * stride
    delta = max(length - span, 0)
    start = delta / 2 if clips == 1 else delta * clip / clips
    index = torch.linspace(start, start + span - 1, frames)
    return torch.clamp(index, 0, length - 1).long().tolist()


def segment_indices(length: int, frames: int, clip: int) -> list[int]:
    """LViT Something-Something v2 test clips: one frame per TSN segment.

    `get_seq_frames` (docs/evaluation.md#segment-sampling-lvit-ssv2): seg = (length - 1) / frames, segment i spans
    s = round(seg * i) to e = round(seg * (i + 1)) with banker's rounding; clip 0 takes (s + e) // 2,
    clip 1 takes s, clip 2 takes e (the protocol uses clips 0 and 1). Clip 0 is the centre clip.
    """
    if not 0 <= clip < len(SEGMENT_CLIPS):
        raise UsageError(f"segment sampling defines {len(SEGMENT_CLIPS)} clips at most "
                         f"({', '.join(SEGMENT_CLIPS)}), not a clip number {clip + 1}")
    seg = (length - 1) / frames
    picked = []
    for i in range(frames):
        start, end = round(seg * i), round(seg * (i + 1))
        picked.append(((start + end) // 2, start, end)[clip])
    return picked


def tsn_indices(length: int, frames: int, clip: int, clips: int) -> list[int]:
    """VideoMamba (VideoMAE) Something-Something v2 test clips: `length / frames` ticks.

    `SSVideoClsDataset.loadvideo_decord` in test mode (docs/evaluation.md#tsn-sampling-videomamba-ssv2): tick =
    length / frames; it samples int(tick * x) and int(tick / 2 + tick * x), sorts both lists together and
    gives view 0 every other entry from the first, so view 0 takes tick starts and view 1 tick centres. Clip c of C
    takes int(tick * c / C + tick * x) (VideoMAE v2's generalisation, the same for C = 2); one clip
    takes the tick centres.
    """
    tick = length / float(frames)
    shift = tick / 2.0 if clips == 1 else tick * clip / clips
    return [int(shift + tick * x) for x in range(frames)]


def uniform_indices(length: int, frames: int, clip: int, clips: int) -> list[int]:
    """VideoMamba Kinetics test clips: segments shifted by a per-clip offset.

    `VideoClsDataset._get_seq_frames` in test mode (docs/evaluation.md#uniform-sampling-videomamba-kinetics):
    seg = (length - 1) / frames, frame i of clip c of C is min(int(np.round(seg * i)) + int(seg / (C + 1) *
    (c + 1)), length - 1). With one clip this is already centred (offset seg / 2).
    """
    seg = max(0.0, float(length - 1) / frames)
    offset = int(seg / (clips + 1) * (clip + 1))
    return [min(round(seg * i) + offset, length - 1) for i in range(frames)]


def sample_clips(protocol: Protocol, num_frames: int, fps: float, clips: int | None = None) -> Clips:
    """The frames of each temporal clip of `protocol` for a video of `num_frames` frames at `fps`.

    `clips` overrides the protocol's number of temporal clips (`--views CLIPSxCROPS`, `--fast`). Where a
    clip repeats frames because the video is short, a warning says so (the frames are clamped or
    repeated as the authors' code does).
    """
    count = protocol.views[0] if clips is None else clips
    if count < 1:
        raise UsageError(f"the number of temporal clips must be at least 1, not {count}")
    if num_frames < 1:
        raise ValueError(f"a video needs at least one frame, not {num_frames}")
    rate = Fraction(protocol.fps if protocol.fps else fps).limit_denominator(1001)
    source_rate = Fraction(fps).limit_denominator(1001)
    length = max(1, round(num_frames * rate / source_rate))  # frames on the protocol's timeline
    timeline = [_timeline_indices(protocol, length, clip, count) for clip in range(count)]
    indices = tuple(tuple(_nearest(k * source_rate / rate, num_frames) for k in clip) for clip in timeline)
    times = tuple(tuple(float(k / rate) for k in clip) for clip in timeline)
    short = any(len(set(clip)) < len(clip) for clip in indices)
    return Clips(indices, times, (_short_warning(protocol, num_frames, fps),) if short else ())


def _timeline_indices(protocol: Protocol, length: int, clip: int, clips: int) -> list[int]:
    if protocol.sampling == "dense":
        if protocol.stride is None:
            raise ValueError("dense sampling needs protocol.stride")
        return dense_indices(length, protocol.frames, protocol.stride, clip, clips)
    if protocol.sampling == "segment":
        return segment_indices(length, protocol.frames, 0 if clips == 1 else clip)
    if protocol.sampling == "tsn":
        return tsn_indices(length, protocol.frames, clip, clips)
    return uniform_indices(length, protocol.frames, clip, clips)


def _nearest(position: Fraction, num_frames: int) -> int:
    """The video frame nearest to a fractional frame position, ties to the earlier (as the decoder picks)."""
    return min(max(math.ceil(position - Fraction(1, 2)), 0), num_frames - 1)


def _short_warning(protocol: Protocol, num_frames: int, fps: float) -> str:
    if num_frames < protocol.frames:
        return f"video has {num_frames} frames, fewer than the {protocol.frames} sampled: frames repeated"
    seconds = num_frames / fps
    if protocol.sampling == "dense" and protocol.stride and protocol.fps:
        span = protocol.frames * protocol.stride
        if seconds * protocol.fps < span:
            return (f"video has {num_frames} frames ({seconds:.2f} s), shorter than the {span}-frame "
                    f"window at {protocol.fps:g} fps ({span / protocol.fps:.2f} s): frames repeated")
    return (f"video has {num_frames} frames at {fps:.3g} fps, too few for {protocol.frames} distinct frames "
            "per clip: frames repeated")
