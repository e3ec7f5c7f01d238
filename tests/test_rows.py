"""Converting only the rows a resize reads: the same pixels as converting whole frames, on real files."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import av
import numpy as np
import pytest
import torch
from videos import make_video

from linvit_cli.registry.schema import Protocol
from linvit_cli.video.decode import Video
from linvit_cli.video.rows import FrameRows, RowConverter
from linvit_cli.video.transforms import resize_frame, rows_read
from linvit_cli.video.views import frame_pixels, load_views, rows_used

LVIT_DEMO = Protocol(frames=8, sampling="segment", views=(2, 1), short_side=32, crop=32, mean=(0.5,) * 3,
                     std=(0.5,) * 3, combine="logit_sum")


def grain(number: int, width: int, height: int) -> np.ndarray:
    """Colourful frames with per-pixel noise, so that every chroma sample and rounding step shows."""
    rng = np.random.default_rng(number)
    x = np.linspace(0, 255, width)[None, :, None]
    y = np.linspace(0, 255, height)[:, None, None]
    base = np.concatenate([x + 0 * y, y + 0 * x, 255 - (x + y) / 2], axis=2)
    return (base + rng.normal(0, 20, (height, width, 3))).clip(0, 255).astype(np.uint8)


KINDS = {  # name: (codec, size, pixel format, container suffix)
    "h264-720p": ("libx264", (1280, 720), "yuv420p", ".mp4"),
    "h264-odd-height": ("libx264", (322, 182), "yuv420p", ".mp4"),
    "h264-full-range": ("libx264", (320, 180), "yuvj420p", ".mkv"),
    "vp9": ("libvpx-vp9", (320, 240), "yuv420p", ".webm"),
}


@pytest.fixture(scope="module", params=sorted(KINDS))
def video_file(request, tmp_path_factory) -> Path:
    codec, size, pix_fmt, suffix = KINDS[request.param]
    path = tmp_path_factory.mktemp("rows") / f"{request.param}{suffix}"
    return make_video(path, codec=codec, size=size, frames=6, pix_fmt=pix_fmt, draw=grain)


def decoded_frames(path: Path) -> list[av.VideoFrame]:
    with av.open(str(path)) as container:
        return list(container.decode(video=0))


def test_rows_convert_to_the_rows_of_the_whole_frame(video_file):
    converter, whole = RowConverter(), RowConverter()
    for frame in decoded_frames(video_file):
        rows = rows_read(frame.height, frame.width, 32, "float")
        part = converter.convert(frame, rows)
        assert isinstance(part, FrameRows), "4:2:0 frames convert in part"
        image = whole.whole(frame)
        assert part.height == frame.height and np.array_equal(part.pixels, image[rows])


def test_a_resize_of_the_rows_equals_the_resize_of_the_whole_frame(video_file):
    frame = decoded_frames(video_file)[0]
    image = RowConverter().whole(frame)
    for short_side in (24, 32, 40):
        rows = rows_read(frame.height, frame.width, short_side, "float")
        assert rows is not None and 2 * len(rows) < frame.height
        part = FrameRows(image[rows], rows, frame.height)
        assert torch.equal(resize_frame(part, short_side, "float"), resize_frame(image, short_side, "float"))


def test_only_the_float_recipe_reads_rows():
    assert rows_read(720, 1280, 224, "uint8") is None  # torch's uint8 kernel gets whole frames
    assert rows_read(32, 48, 32, "float") is None  # no resize
    assert rows_read(240, 320, 224, "float") is None  # nearly every row: cheaper converted whole
    rows = rows_read(720, 1280, 32, "float")
    assert len(rows) == 64 and (np.diff(rows) > 0).all()


def test_other_formats_and_rotated_frames_convert_whole(tmp_path):
    path = make_video(tmp_path / "444.mp4", size=(64, 48), frames=3, pix_fmt="yuv444p", draw=grain)
    frame = decoded_frames(path)[0]
    assert isinstance(RowConverter().convert(frame, np.array([0, 5, 9])), np.ndarray)
    rotated = make_video(tmp_path / "turned.mp4", size=(64, 48), frames=3, rotation=90, draw=grain)
    with Video(rotated) as video:
        rows = rows_used(video.info, LVIT_DEMO)
        kinds = video.read([0.0], convert=type, rows=rows).frames
    assert kinds == [np.ndarray]


def test_views_are_the_same_with_and_without_row_conversion(video_file):
    """classify's and the timeline's pixels do not change when only the rows the resize reads are converted."""
    convert = partial(frame_pixels, protocol=LVIT_DEMO)
    times = [0.0, 0.1]
    with Video(video_file) as video:
        whole = video.read(times, convert=convert).frames
    with Video(video_file) as video:
        rows = rows_used(video.info, LVIT_DEMO)
        kinds = video.read(times, convert=type, rows=rows).frames
    with Video(video_file) as video:
        part = video.read(times, convert=convert, rows=rows).frames
    assert kinds == [FrameRows, FrameRows]
    assert all(torch.equal(a, b) for a, b in zip(whole, part, strict=True))
    assert load_views(video_file, LVIT_DEMO).views.shape == (2, 3, 8, 32, 32)
