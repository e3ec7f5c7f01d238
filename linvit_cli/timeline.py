"""A timeline of labels over a long video or a stream: windows classified in one decoding pass.

`Timeline` reads windows from `video.windows.Windows` (one pass, never sought, memory bounded by the
window), puts each window's views through the `Classifier`'s predictor (`predict.Predictor`: the step and
the numbers of `classify` and `eval`, views of several windows in one batch), and yields one record per
window as it is done; `Segments` merges adjacent windows with the same top label. `events` is one video's
run as the command reports it (opened, windows, closed). `timeline()` is the Python API: the window records
`linvit timeline --jsonl` prints.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np

from .classifier import Classifier, video_record
from .errors import VideoDecodeError, at_least, positive_seconds
from .output.page import THUMBNAIL_WIDTH
from .output.tables import clock
from .predict import Prediction, Predictor
from .video.decode import Video, check_losses, cut_short, is_stream, lost_warning
from .video.views import clip_views
from .video.windows import WindowFrames, Windows, layout

PREFETCH_FRAMES = 8  # decoded frames queued ahead of the windows (at 720p, 1.4 MB each)


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
        self.truncated_at: float | None = None
        # a stream's windows go to the model one at a time, so that its labels come as it plays
        live = is_stream(source)
        self.predict: Predictor = classifier.predict.batching(min(crops, classifier.view_batch)) if live else \
            classifier.predict

    def __enter__(self) -> Timeline:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.video.close()

    def __iter__(self) -> Iterator[WindowResult]:
        pictures = THUMBNAIL_WIDTH if self.thumbnails else 0  # a page's thumbnails, from the frames as decoded
        windows = Windows(self.video, self.protocol, self.layout, picture_width=pictures)
        views = ((window, clip_views(window.frames, self.protocol, self.crops)) for window in windows)
        held: Prediction[WindowFrames] | None = None  # the last window waits for the end: it carries the end's warnings
        for prediction in self.predict(views):
            if held is not None:
                yield self._result(held, [])
            held = prediction
        ending = self._ended(windows)
        if held is not None:
            yield self._result(held, ending)
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

    def _result(self, prediction: Prediction[WindowFrames], ending: list[str]) -> WindowResult:
        classifier, window = self.classifier, prediction.key
        record = {"file": self.source, "model": classifier.entry.name, "commit": classifier.commit,
                  "caution": classifier.entry.caution, "index": window.index, "start": round(window.start, 3),
                  "end": round(window.end, 3), "top_k": prediction.top_k, "warnings": [*window.warnings, *ending]}
        return WindowResult(record, window.picture, window.warnings)

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


def opening(run: Timeline) -> dict[str, Any]:
    """The start of a video's document, known once it is open: the video, the model and the window layout."""
    classifier = run.classifier
    return {"file": run.source, "ok": True, "model": classifier.entry.name, "commit": classifier.commit,
            "caution": classifier.entry.caution, "video": video_record(run.video.info), "timeline": run.settings(),
            "warnings": list(run.warnings)}


def document(opened: dict[str, Any], windows: list[dict[str, Any]], segments: list[dict[str, Any]], *,
             ending: list[str], error: str | None, truncated: bool, seconds: float) -> dict[str, Any]:
    """What `linvit timeline --json` prints: the video, the layout, every window and the merged segments.

    `complete` is false when the run was interrupted, failed or the file was cut short (`error` says why).
    """
    return {**{key: value for key, value in opened.items() if key != "warnings"},
            "windows": windows, "segments": segments, "warnings": [*opened["warnings"], *ending],
            "complete": error is None and not truncated, "error": error, "seconds": round(seconds, 3)}


@dataclass(frozen=True)
class Opened:
    """A video is open: the start of its document (`opening`)."""

    document: dict[str, Any]


@dataclass(frozen=True)
class Closed:
    """A video is done: the warnings about its end, the error that stopped it, whether it was cut short."""

    ending: list[str]
    error: str | None
    truncated: bool
    seconds: float


@dataclass(frozen=True)
class Unopened:
    """A video that could not be opened, and why."""

    file: str
    error: str


def events(source: str, classifier: Classifier, *, window: float | None = None, stride: float | None = None,
           crops: int = 1, thumbnails: bool = False) -> Iterator[Opened | WindowResult | Closed | Unopened]:
    """One video's timeline as the command reports it: `Opened`, a `WindowResult` per window, `Closed`;
    or `Unopened`. A Ctrl-C propagates from wherever it comes (the video is closed on the way out)."""
    started = time.perf_counter()
    try:
        run = Timeline(source, classifier, window=window, stride=stride, crops=crops, thumbnails=thumbnails)
    except VideoDecodeError as err:
        yield Unopened(source, str(err))
        return
    with run:
        yield Opened(opening(run))
        error = None
        try:
            yield from run
        except VideoDecodeError as err:
            error = str(err)
        yield Closed(run.warnings[len(run.layout.warnings) :], error, run.truncated_at is not None,
                     time.perf_counter() - started)


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


__all__ = ["Closed", "Opened", "Segment", "Segments", "Timeline", "Unopened", "WindowResult", "document", "events",
           "opening", "timeline"]
