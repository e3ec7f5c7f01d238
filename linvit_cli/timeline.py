"""A timeline of labels over a long video or a stream: windows classified in one decoding pass.

`Timeline` reads windows from `video.windows.Windows` (one pass, never sought, memory bounded by the
window), puts each window's views through the `Classifier`'s model in batches of `view_batch` views
(`predict_views`, `combine_views`: the numbers `classify` and `eval` give for the same frames), and yields
one record per window as it is done; `Segments` merges adjacent windows with the same top label.
`timeline()` is the Python API: the window records `linvit timeline --jsonl` prints.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
import torch

from .classifier import Classifier, video_record
from .errors import at_least, positive_seconds
from .inference import combine_views, intra_op_threads, predict_views
from .output.page import THUMBNAIL_WIDTH
from .output.tables import clock
from .video.decode import Video, check_losses, cut_short, lost_warning
from .video.views import clip_views
from .video.windows import WindowFrames, Windows, layout

PREFETCH_FRAMES = 8  # decoded frames queued ahead of the windows (at 720p, 1.4 MB each)
# Views of at most this many values (lvit-demo: 3 x 8 x 32 x 32) run on one CPU thread: their operators are too
# short to share out, and the other cores decode ahead meanwhile: faster, with the same logits to the bit
# (benchmarks/FINDINGS.md).
SMALL_VIEW_VALUES = 2**18


@dataclass(frozen=True)
class WindowResult:
    """One classified window: its record, and when asked for, the picture of its middle frame."""

    record: dict[str, Any]
    thumbnail: np.ndarray | None  # uint8 (H, W, 3): the window's middle sampled frame, at most THUMBNAIL_WIDTH wide
    warnings: list[str]  # the window's own (the record's also carry, on the last window, the end's)


class Timeline:
    """One video or stream cut into windows, each classified as soon as its frames are decoded.

    Args:
        source: a file, `pipe:` or `-` (standard input), or a URL FFmpeg opens (http, https, rtsp, ...).
        classifier: the model, device, precision, view batch and top-k (as `linvit classify` builds it).
        window, stride: seconds; None derives them from the protocol (`video.windows.default_window`).
        crops: spatial crops per window (1: the centre; the protocol's crops take left, centre, right).
        thumbnails: keep each window's middle frame (for the HTML page).
        threads: FFmpeg decoding threads (0: one per core).

    Opening reads the first frame (`VideoDecodeError` if it cannot). After iterating, `warnings` holds what
    concerns the whole video and `truncated_at` where decoding stopped if the file was cut short; a decoder
    that rejected more than a tenth of the packets raises `VideoDecodeError` after the last window.
    """

    def __init__(self, source: str | Path, classifier: Classifier, *, window: float | None = None,
                 stride: float | None = None, crops: int = 1, thumbnails: bool = False, threads: int = 0) -> None:
        at_least("crops", crops, 1)
        self.source, self.classifier, self.crops, self.thumbnails = str(source), classifier, crops, thumbnails
        self.protocol = classifier.entry.protocol
        # one pass, every packet read and none skipped, decoded ahead while the model runs
        self.video = Video(source, threads=threads, seek=False, prefetch=PREFETCH_FRAMES)
        try:
            self.layout = layout(self.protocol, self.video.info.fps, window, stride, self.video.info.duration)
        except BaseException:
            self.video.close()
            raise
        self.warnings: list[str] = list(self.layout.warnings)
        small = 3 * self.protocol.frames * self.protocol.crop**2 <= SMALL_VIEW_VALUES
        self._model_threads = 1 if small and classifier.device.type == "cpu" else None
        self.truncated_at: float | None = None

    def __enter__(self) -> Timeline:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.video.close()

    def __iter__(self) -> Iterator[WindowResult]:
        pictures = THUMBNAIL_WIDTH if self.thumbnails else 0  # a page's thumbnails, from the frames as decoded
        windows = Windows(self.video, self.protocol, self.layout, picture_width=pictures)
        batch: list[WindowFrames] = []
        for frames in windows:
            if len(batch) * self.crops >= self.classifier.view_batch:
                yield from self._classify(batch, [])
                batch = []
            batch.append(frames)  # the last batch waits for the end: its last window carries the end's warnings
        ending = self._ended(windows)
        if batch:
            yield from self._classify(batch, ending)
        check_losses(self.source, len(windows.lost), windows.packets)

    def _ended(self, windows: Windows) -> list[str]:
        """Warnings about the end of the video: a tail left out, a file cut short, frames lost in all."""
        info, ending = self.video.info, list(windows.warnings)
        stopped = (windows.end or 0.0) + 1 / info.fps
        if cut_short(stopped, info.duration):
            self.truncated_at = stopped
            ending.append(f"decoding stopped at {clock(stopped)} ({stopped:.2f} s), before the {info.duration:.2f} s "
                          "the file states: the file is cut short")
        # the windows that lost frames say so on their records; the total is the whole video's, not the last window's
        self.warnings += [*ending, *(f"in all: {w}" for w in lost_warning(windows.lost))]
        return ending

    def _classify(self, batch: list[WindowFrames], ending: list[str]) -> Iterator[WindowResult]:
        classifier, crops = self.classifier, self.crops
        views = torch.cat([clip_views(w.frames, self.protocol, crops) for w in batch])
        with intra_op_threads(self._model_threads):
            logits = predict_views(classifier.model, views, device=classifier.device, autocast=classifier.autocast,
                                   view_batch=classifier.view_batch)
        for k, window in enumerate(batch):
            probabilities = combine_views(logits[k * crops : (k + 1) * crops], self.protocol.combine)
            last = k == len(batch) - 1
            record = {"file": self.source, "model": classifier.entry.name, "commit": classifier.commit,
                      "caution": classifier.entry.caution, "index": window.index,
                      "start": round(window.start, 3), "end": round(window.end, 3),
                      "top_k": classifier.ranking(probabilities),
                      "warnings": [*window.warnings, *(ending if last else [])]}
            yield WindowResult(record, window.picture, window.warnings)

    def settings(self) -> dict[str, Any]:
        """The `timeline` entry of the document: how the windows were laid out and sampled."""
        protocol = self.protocol
        return {"window": round(self.layout.window, 3), "stride": round(self.layout.stride, 3), "crops": self.crops,
                "frames": protocol.frames, "sampling": protocol.sampling, "combine": protocol.combine}


@dataclass
class Segment:
    """Adjacent windows with the same top label."""

    label: str
    index: int  # the label's class index
    start: float
    end: float
    first: int  # index of its first window
    windows: int = 1
    total: float = 0.0  # sum of the windows' top-1 probabilities
    best: float = -1.0  # the highest of them: its window's picture is the segment's thumbnail
    thumbnail: np.ndarray | None = None

    def record(self) -> dict[str, Any]:
        return {"start": round(self.start, 3), "end": round(self.end, 3), "label": self.label, "index": self.index,
                "probability": round(self.total / self.windows, 4), "windows": self.windows,
                "first_window": self.first}


class Segments:
    """Merges window results into segments; `add` returns the segment a window closes, `close` the last.

    A segment runs from its first window's start to its last window's end, or to the next segment's start
    where windows overlap, so segments never overlap.
    """

    def __init__(self) -> None:
        self.open: Segment | None = None

    def add(self, result: WindowResult) -> Segment | None:
        record = result.record
        top = record["top_k"][0]
        closed = None
        if self.open is not None and self.open.index != top["index"]:
            closed, self.open = self.open, None
            closed.end = min(closed.end, record["start"])
        if self.open is None:
            self.open = Segment(top["label"], top["index"], record["start"], record["end"], record["index"], 0)
        segment = self.open
        segment.windows += 1
        segment.end = record["end"]
        segment.total += top["probability"]
        if top["probability"] > segment.best:
            segment.best, segment.thumbnail = top["probability"], result.thumbnail
        return closed

    def close(self) -> Segment | None:
        closed, self.open = self.open, None
        return closed


def document(run: Timeline, windows: list[dict[str, Any]], segments: list[dict[str, Any]], *,
             error: str | None, seconds: float) -> dict[str, Any]:
    """What `linvit timeline --json` prints: the video, the layout, every window and the merged segments.

    `complete` is false when the run was interrupted, failed or the file was cut short (`error` says why).
    """
    return {"file": run.source, "model": run.classifier.entry.name, "commit": run.classifier.commit,
            "caution": run.classifier.entry.caution, "video": video_record(run.video.info),
            "timeline": run.settings(), "windows": windows, "segments": segments, "warnings": run.warnings,
            "complete": error is None and run.truncated_at is None, "error": error, "seconds": round(seconds, 3)}


def timeline(path_or_url: str | Path, model: str | None = None, window: float | None = None,
             stride: float | None = None, *, crops: int = 1, top_k: int = 5, **options: Any) -> Iterator[dict]:
    """Classify a long video or a stream window by window; yields each window's record as it is done.

    Records are the lines of `linvit timeline --jsonl`: file, model, commit, caution, index, start and end (seconds),
    `top_k` (as `classify`'s records) and warnings; the last one also carries warnings about the end
    (a file cut short). Options are those of `Classifier` (weights, device, dtype, view_batch, registry,
    offline, cache_dir). `window` and `stride` are seconds (default: derived from the model's protocol).
    """
    at_least("crops", crops, 1)  # before the model loads, in the words of this function's parameters
    positive_seconds("window", window)
    positive_seconds("stride", stride)
    classifier = Classifier(model, views=(1, crops), top_k=top_k, **options)
    with Timeline(path_or_url, classifier, window=window, stride=stride, crops=crops) as run:
        for result in run:
            yield result.record


__all__ = ["Segment", "Segments", "Timeline", "WindowResult", "document", "timeline"]
