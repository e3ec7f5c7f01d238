"""The streaming frame source of timelines: which frames each window gets, read in one pass.

Test videos carry their frame number in their pixels (tests/videos.py), and the protocols here keep the
video's own size with mean 0 and std 1, so `to_image` gives back the decoded frame and its number.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from videos import make_video, read_frame_number

from linvit_cli.errors import UsageError
from linvit_cli.registry.schema import Protocol
from linvit_cli.video.decode import Video
from linvit_cli.video.sampling import sample_clips
from linvit_cli.video.transforms import to_image
from linvit_cli.video.views import clip_views, load_views
from linvit_cli.video.windows import Windows, default_window, layout


def protocol(sampling: str = "segment", frames: int = 8, **extra: object) -> Protocol:
    """Frames kept at the test videos' 48-pixel short side, pixels unchanged by normalisation."""
    fields: dict = dict(frames=frames, sampling=sampling, views=(1, 1), short_side=48, crop=48, mean=(0.0,) * 3,
                        std=(1.0,) * 3, combine="softmax_mean")
    return Protocol(**{**fields, **extra})


def numbers(window, kind: Protocol) -> list[int]:
    return [read_frame_number(to_image(frame, kind.mean, kind.std)) for frame in window.frames]


@pytest.fixture(scope="module")
def ten_seconds(tmp_path_factory) -> Path:
    return make_video(tmp_path_factory.mktemp("windows") / "ten.mp4", frames=300, gop=30)


def test_default_window_is_the_span_of_the_protocols_clip() -> None:
    lvit_k400 = protocol("dense", 16, stride=16, fps=30.0)
    assert default_window(lvit_k400, 25.0) == pytest.approx(16 * 16 / 30)  # at the protocol's rate
    assert default_window(protocol("uniform", 16), 30.0) == 2.0  # 16 frames are 0.53 s: the minimum
    assert default_window(protocol("tsn", 16), 5.0) == pytest.approx(3.2)  # 16 frames of a 5 fps video
    with pytest.raises(UsageError, match="positive"):
        layout(protocol(), 30.0, window=0.0)
    with pytest.raises(UsageError, match="positive"):
        layout(protocol(), 30.0, stride=-1.0)


@pytest.mark.parametrize(("stride", "count"), [(2.0, 5), (1.0, 10), (3.0, 4)])
def test_each_window_gets_the_protocols_frames_of_its_own_span_in_one_pass(ten_seconds, stride, count) -> None:
    kind = protocol()
    per_window = sample_clips(kind, 60, 30.0, clips=1).indices[0]  # a 2 s window holds 60 frames
    with Video(ten_seconds, seek=False) as video:
        windows = Windows(video, kind, layout(kind, 30.0, window=2.0, stride=stride))
        got = list(windows)
    assert [w.index for w in got] == list(range(count))  # overlapping (1 s) and with gaps (3 s) alike
    for w in got:
        first = round(w.start * 30)
        assert w.start == pytest.approx(w.index * stride)
        if w.start + 2.0 <= 10.0:
            assert numbers(w, kind) == [first + i for i in per_window], w.index
            assert (w.end, w.warnings) == (pytest.approx(w.start + 2.0), [])
        else:  # from 9 s: half the samples exist, spread over the clip
            assert w.end == pytest.approx(10.0) and "ends at 10.00 s" in w.warnings[0]
            assert numbers(w, kind) == [first + i for i in per_window[:4] for _ in range(2)]
    assert windows.decoded == 300  # each frame decoded once, none skipped by seeking (gaps included)
    assert windows.end == pytest.approx(299 / 30) and windows.lost == []


def test_a_video_shorter_than_a_window_is_one_window_sampled_as_classify_samples_it(tmp_path) -> None:
    path = make_video(tmp_path / "short.mp4", frames=30, size=(64, 48))
    kind = protocol()
    plan = layout(kind, 30.0, window=4.0, duration=1.0)
    assert plan.window == 1.0 and "shorter than one window" in plan.warnings[0]
    with Video(path, seek=False) as video:
        (window,) = list(Windows(video, kind, plan))
    views = load_views(path, kind, (1, 1)).views
    assert torch.equal(clip_views(window.frames, kind, 1), views)


def test_a_tail_of_half_a_window_or_more_is_classified_and_a_shorter_one_is_named(tmp_path) -> None:
    kind = protocol()
    for frames, windows_expected in ((75, 3), (66, 2)):  # 2.5 s and 2.2 s of video in 1 s windows
        path = make_video(tmp_path / f"{frames}.mkv", frames=frames)
        with Video(path, seek=False) as video:
            windows = Windows(video, kind, layout(kind, 30.0, window=1.0))  # duration unknown to the layout
            got = list(windows)
        assert len(got) == windows_expected, frames
        if frames == 75:
            tail = got[-1]
            assert tail.end == pytest.approx(2.5, abs=1e-3) and "ends at 2.50 s, inside this window" in tail.warnings[0]
            assert numbers(tail, kind) == sorted(numbers(tail, kind)) and max(numbers(tail, kind)) < 75
            assert windows.warnings == []
        else:
            assert windows.warnings == ["the last 0.20 s of the video (from 2.00 s) are less than half a window: "
                                        "not classified"]


def test_overlapping_windows_at_the_end_stop_at_the_first_one_too_short(tmp_path) -> None:
    path = make_video(tmp_path / "66.mkv", frames=66)  # 2.2 s
    kind = protocol()
    with Video(path, seek=False) as video:
        windows = Windows(video, kind, layout(kind, 30.0, window=1.0, stride=0.25))
        got = list(windows)
    assert all(w is not None for w in got)
    assert [round(w.start, 2) for w in got][-3:] == [1.25, 1.5, 1.75]  # 1.75 s: 0.45 s left, but 4 of 8 samples
    assert got[-1].end == pytest.approx(2.2, abs=1e-3) and windows.warnings == []  # the rest is covered
