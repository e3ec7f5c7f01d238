"""Frame index arithmetic of each sampling kind, against hand-worked values and the authors' formulas."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from linvit_cli.errors import UsageError
from linvit_cli.registry.schema import Protocol
from linvit_cli.video.sampling import (
    dense_indices,
    sample_clips,
    segment_indices,
    tsn_indices,
    uniform_indices,
)


def protocol(sampling: str, views: tuple[int, int] = (4, 3), **extra: object) -> Protocol:
    fields: dict = dict(frames=16, sampling=sampling, views=views, short_side=224, crop=224,
                        mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5), combine="logit_sum")
    if sampling == "dense":
        fields.update(stride=16, fps=30.0)
    return Protocol(**{**fields, **extra})


# --- Reference formulas, transcribed from the authors' test code as docs/evaluation.md states them (numpy/torch
# exactly as they call them), to compare over many lengths.

def ref_dense(length: int, clip: int, clips: int) -> list[int]:
    delta = max(length - 256, 0)
    start = delta * clip / clips
    return torch.linspace(start, start + 255, 16).clamp(0, length - 1).long().tolist()


def ref_segment(length: int, clip: int) -> list[int]:
    seg = float(length - 1) / 16
    out = []
    for i in range(16):
        start, end = int(np.round(seg * i)), int(np.round(seg * (i + 1)))
        out.append({0: (start + end) // 2, 1: start, 2: end}[clip])
    return out


def ref_tsn_two_views(length: int) -> tuple[list[int], list[int]]:
    """VideoMAE/VideoMamba SSv2 test: both index lists merged, sorted, then every other entry per view."""
    tick = length / float(16)
    merged = sorted([int(tick / 2.0 + tick * x) for x in range(16)] + [int(tick * x) for x in range(16)])
    return merged[0::2], merged[1::2]


def ref_uniform(length: int, clip: int, clips: int) -> list[int]:
    seg = max(0.0, float(length - 1) / 16)
    duration = seg / (clips + 1)
    return [min(int(np.round(seg * i)) + int(duration * (clip + 1)), length - 1) for i in range(16)]


# --- Hand-worked cases.

def test_dense_kinetics_ten_second_clip() -> None:
    # 300 frames at 30 fps: delta = 300 - 256 = 44, starts 0, 11, 22, 33, step 255 / 15 = 17.
    for clip, start in enumerate((0, 11, 22, 33)):
        assert dense_indices(300, 16, 16, clip, 4) == [start + 17 * k for k in range(16)]


def test_dense_truncates_fractional_starts() -> None:
    # delta = 45: starts 11.25, 22.5, 33.75 are truncated by .long(), not rounded (33.75 -> 33, not 34).
    assert dense_indices(301, 16, 16, 1, 4)[:2] == [11, 28]
    assert dense_indices(301, 16, 16, 2, 4)[:2] == [22, 39]
    assert dense_indices(301, 16, 16, 3, 4) == [33 + 17 * k for k in range(16)]


def test_dense_short_video_clamps_to_last_frame() -> None:
    assert dense_indices(100, 16, 16, 0, 4) == [0, 17, 34, 51, 68, 85] + [99] * 10


def test_dense_single_clip_is_centred() -> None:
    assert dense_indices(300, 16, 16, 0, 1) == dense_indices(300, 16, 16, 2, 4)  # start delta / 2 = 22


def test_segment_uses_bankers_rounding() -> None:
    # length 41: seg = 2.5; round(2.5) = 2, round(7.5) = 8, round(12.5) = 12 (half to even).
    starts = [0, 2, 5, 8, 10, 12, 15, 18, 20, 22, 25, 28, 30, 32, 35, 38]
    ends = [2, 5, 8, 10, 12, 15, 18, 20, 22, 25, 28, 30, 32, 35, 38, 40]
    assert segment_indices(41, 16, 1) == starts
    assert segment_indices(41, 16, 2) == ends
    assert segment_indices(41, 16, 0) == [(s + e) // 2 for s, e in zip(starts, ends, strict=True)]
    # length 50: seg = 3.0625, 8 * seg = 24.5 rounds to 24, so the 8th centre is (21 + 24) // 2 = 22, not 23.
    assert segment_indices(50, 16, 0) == [1, 4, 7, 10, 13, 16, 19, 22, 26, 29, 32, 35, 38, 41, 44, 47]


def test_segment_short_video_repeats_frames() -> None:
    assert segment_indices(9, 16, 0) == [0, 0, 1, 2, 2, 2, 3, 4, 4, 4, 5, 6, 6, 6, 7, 8]


def test_segment_defines_three_clips_at_most() -> None:
    with pytest.raises(UsageError, match="3 clips at most"):
        segment_indices(100, 16, 3)


def test_tsn_view_zero_takes_tick_starts_and_view_one_centres() -> None:
    # length 40: tick = 2.5.
    starts = [0, 2, 5, 7, 10, 12, 15, 17, 20, 22, 25, 27, 30, 32, 35, 37]
    centres = [1, 3, 6, 8, 11, 13, 16, 18, 21, 23, 26, 28, 31, 33, 36, 38]
    assert tsn_indices(40, 16, 0, 2) == starts
    assert tsn_indices(40, 16, 1, 2) == centres
    assert tsn_indices(40, 16, 0, 1) == centres  # one clip: the centres
    # Four clips: shifts of a quarter tick (VideoMAE v2's generalisation), int(0.625 + 2.5 x) for clip 1.
    assert tsn_indices(40, 16, 1, 4) == [0, 3, 5, 8, 10, 13, 15, 18, 20, 23, 25, 28, 30, 33, 35, 38]


def test_uniform_kinetics_with_bankers_rounding() -> None:
    # length 302: seg = 18.8125, 8 * seg = 150.5 rounds to 150; offsets int(seg / 5 * (c + 1)) = 3, 7, 11, 15.
    base = [0, 19, 38, 56, 75, 94, 113, 132, 150, 169, 188, 207, 226, 245, 263, 282]
    for clip, offset in enumerate((3, 7, 11, 15)):
        assert uniform_indices(302, 16, clip, 4) == [b + offset for b in base]
    assert uniform_indices(302, 16, 0, 1) == [b + 9 for b in base]  # one clip: offset int(seg / 2)


def test_uniform_short_and_single_frame_videos() -> None:
    assert uniform_indices(9, 16, 3, 4) == [0, 0, 1, 2, 2, 2, 3, 4, 4, 4, 5, 6, 6, 6, 7, 8]
    assert uniform_indices(1, 16, 0, 4) == [0] * 16


# --- Agreement with the reference formulas over many lengths.

@pytest.mark.parametrize("length", [*range(1, 70), 255, 256, 257, 299, 300, 301, 302, 303, 450, 1001, 9000])
def test_kinds_match_reference_formulas(length: int) -> None:
    for clip in range(4):
        assert dense_indices(length, 16, 16, clip, 4) == ref_dense(length, clip, 4)
        assert uniform_indices(length, 16, clip, 4) == ref_uniform(length, clip, 4)
    for clip in range(3):
        assert segment_indices(length, 16, clip) == ref_segment(length, clip)
    assert (tsn_indices(length, 16, 0, 2), tsn_indices(length, 16, 1, 2)) == ref_tsn_two_views(length)


# --- sample_clips: protocol defaults, overrides, timelines and warnings.

def test_protocol_views_and_override() -> None:
    clips = sample_clips(protocol("uniform"), 302, 30.0)
    assert len(clips.indices) == 4 and clips.warnings == ()
    assert clips.indices[3] == tuple(uniform_indices(302, 16, 3, 4))
    assert clips.times[3] == tuple(i / 30 for i in clips.indices[3])
    centre = sample_clips(protocol("uniform"), 302, 30.0, clips=1)
    assert centre.indices == (tuple(uniform_indices(302, 16, 0, 1)),)


@pytest.mark.parametrize(("sampling", "expected"), [
    ("dense", dense_indices(300, 16, 16, 2, 4)),
    ("segment", segment_indices(300, 16, 0)),
    ("tsn", tsn_indices(300, 16, 1, 2)),
    ("uniform", uniform_indices(300, 16, 0, 1)),
])
def test_centre_clip_of_each_kind(sampling: str, expected: list[int]) -> None:
    assert sample_clips(protocol(sampling), 300, 30.0, clips=1).indices == (tuple(expected),)


def test_segment_clips_in_authors_order() -> None:
    clips = sample_clips(protocol("segment", views=(2, 3)), 41, 12.0)
    assert clips.indices == (tuple(segment_indices(41, 16, 0)), tuple(segment_indices(41, 16, 1)))


@pytest.mark.parametrize("count", [0, -1])
def test_rejects_fewer_than_one_clip(count: int) -> None:
    with pytest.raises(UsageError, match="at least 1"):
        sample_clips(protocol("tsn"), 100, 30.0, clips=count)


def test_segment_rejects_four_clips() -> None:
    with pytest.raises(UsageError, match="3 clips at most"):
        sample_clips(protocol("segment"), 100, 30.0, clips=4)


def test_dense_counts_its_stride_at_the_protocol_rate() -> None:
    # A 10 s video at 25 fps is 300 frames at 30 fps: the same windows in time as a 30 fps video.
    clips = sample_clips(protocol("dense"), 250, 25.0)
    assert clips.times[0] == tuple(k / 30 for k in range(0, 256, 17))
    # Nearest 25 fps frame to k / 30 s is k * 5 / 6; ties (42.5, 127.5, 212.5) go to the earlier frame.
    assert clips.indices[0] == (0, 14, 28, 42, 57, 71, 85, 99, 113, 127, 142, 156, 170, 184, 198, 212)


def test_dense_on_a_low_frame_rate_video() -> None:
    # 48 frames at 12 fps = 4 s = 120 frames at 30 fps: the window is clamped at 119 / 30 s.
    clips = sample_clips(protocol("dense"), 48, 12.0, clips=1)
    assert clips.indices[0] == (0, 7, 14, 20, 27, 34, 41, 47, 47, 47, 47, 47, 47, 47, 47, 47)
    assert "shorter than the 256-frame window at 30 fps (8.53 s)" in clips.warnings[0]


def test_short_video_warns_that_frames_repeat() -> None:
    clips = sample_clips(protocol("segment", views=(2, 3)), 9, 30.0)
    assert clips.warnings == ("video has 9 frames, fewer than the 16 sampled: frames repeated",)


def test_long_enough_video_has_no_warning() -> None:
    for sampling in ("dense", "tsn", "uniform"):
        assert sample_clips(protocol(sampling), 300, 30.0).warnings == ()
    assert sample_clips(protocol("segment", views=(2, 3)), 300, 30.0).warnings == ()


def test_ntsc_rate_stays_exact() -> None:
    rate = 30000 / 1001
    clips = sample_clips(protocol("dense"), 300, rate)
    assert clips.indices[0][-1] == 255 and clips.times[0][-1] == pytest.approx(255 / 30)
    tsn = sample_clips(protocol("tsn", views=(2, 3)), 300, rate)
    assert tsn.indices[1] == tuple(tsn_indices(300, 16, 1, 2))
