"""Decoding ahead in a thread: the same frames in the same order, errors where they happened, a clean stop."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from videos import make_video, read_frame_number

from linvit_cli.video.decode import Video
from linvit_cli.video.prefetch import Prefetch


def test_items_come_in_order_and_an_error_comes_where_it_happened():
    def source():
        yield from range(5)
        raise ValueError("broken at 5")

    items = Prefetch(source(), depth=2)
    assert [next(items) for _ in range(5)] == list(range(5))
    with pytest.raises(ValueError, match="broken at 5"):
        next(items)
    assert list(items) == []


def test_close_stops_a_producer_waiting_on_a_full_queue():
    items = Prefetch(iter(range(10**9)), depth=3)
    assert next(items) == 0
    items.close()
    assert not any(t.name == "linvit-decode" for t in threading.enumerate())


def test_a_prefetching_video_reads_the_frames_a_plain_one_does(tmp_path):
    path = make_video(tmp_path / "v.mp4", size=(96, 64), frames=60, gop=12)
    times = [0.0, 0.5, 0.51, 1.2, 1.9]
    with Video(path, seek=False) as plain, Video(path, seek=False, prefetch=4) as ahead:
        for part in (times[:2], times[2:]):
            a, b = plain.read(part), ahead.read(part)
            assert a.times == b.times and a.decoded == b.decoded
            assert [read_frame_number(f) for f in a.frames] == [read_frame_number(f) for f in b.frames]
            assert all(np.array_equal(x, y) for x, y in zip(a.frames, b.frames, strict=True))

