"""`linvit timeline`: a long video or a stream in, labels over time out (terminal, JSON lines, HTML page)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ..errors import at_least, positive_seconds
from ..output import console
from ._options import (
    CacheDirOpt,
    DeviceOpt,
    DtypeOpt,
    JsonlOpt,
    JsonOpt,
    ModelOpt,
    OfflineOpt,
    RegistryOpt,
    TopKOpt,
    ViewBatchOpt,
    WeightsOpt,
    checked_model,
    one_output,
)
from ._paths import check_output_file
from .root import app

if TYPE_CHECKING:
    from ..timeline import Segment, Timeline, WindowResult

EXAMPLES = """Examples:

\b
  linvit timeline match.mp4 --html match.html           # segments on the terminal, and a page to look at
  linvit timeline lecture.mkv --window 10 --jsonl > labels.jsonl   # a JSON line per 10 s window, as done
  ffmpeg -i rtsp://camera/stream -f mpegts - | linvit timeline pipe: --model lvit-demo --jsonl
  linvit timeline https://example.org/video.webm --crops 3 --json

Windows: by default as long as the span of the model's clip (dense sampling: frames x stride at the
protocol's rate, 8.53 s for the LViT Kinetics models; the other samplings: `frames` consecutive frames of
the video), and at least 2 s; they follow each other without overlap (--stride = --window). Each window is
sampled with the model's protocol as one clip, in one crop (the centre) unless --crops says more.

Exit codes: 0 done, 1 the video could not be read to its end (cut short, too damaged), 2 usage, 130 Ctrl-C.
"""


@app.command("timeline", epilog=EXAMPLES)
def timeline_command(
    video: Annotated[str, typer.Argument(help="A video file, pipe: (or -) for standard input, or a URL that "
                                         "FFmpeg opens (http, https, rtsp, ...).", show_default=False)],
    model: ModelOpt = None,
    weights: WeightsOpt = None,
    window: Annotated[float | None, typer.Option("--window", help="Seconds per window (default: the span of the "
                                                 "model's clip, at least 2 s; see below).")] = None,
    stride: Annotated[float | None, typer.Option("--stride", help="Seconds from one window's start to the next "
                                                 "(default: the window, so windows tile the video).")] = None,
    crops: Annotated[int, typer.Option("--crops", help="Spatial crops per window: 1 the centre, 3 left, centre "
                                       "and right as the protocol's test views.")] = 1,
    top_k: TopKOpt = 5,
    html: Annotated[Path | None, typer.Option("--html", help="Also write a self-contained page: time axis, "
                                              "segments, top labels of any window, thumbnails.")] = None,
    device: DeviceOpt = "auto",
    dtype: DtypeOpt = "float32",
    view_batch: ViewBatchOpt = None,
    as_json: JsonOpt = False,
    as_jsonl: JsonlOpt = False,
    registry: RegistryOpt = None,
    offline: OfflineOpt = False,
    cache_dir: CacheDirOpt = None,
) -> None:
    """Label a long video or a stream window by window, in one decoding pass: segments of the same label."""
    one_output(as_json, as_jsonl)
    at_least("crops", crops, 1)
    positive_seconds("window", window)
    positive_seconds("stride", stride)
    if html is not None:
        check_output_file(html, "--html")
    reg, entry = checked_model(model, registry, views=(1, crops), weights=weights, top_k=top_k, view_batch=view_batch,
                           offline=offline, cache_dir=cache_dir)
    from ..errors import VideoDecodeError  # torch from here on, once the options are known to be good
    from ..output.tables import clock, count
    from ..timeline import Timeline
    from .classify import build_classifier

    classifier = build_classifier(entry, model is None, weights=weights, registry=reg, device=device,
                                  dtype=dtype, views=(1, crops), view_batch=view_batch, top_k=top_k,
                                  offline=offline, cache_dir=cache_dir)
    started = time.perf_counter()
    with Timeline(video, classifier, window=window, stride=stride, crops=crops, thumbnails=html is not None) as run:
        report = _Report(run, as_json=as_json, as_jsonl=as_jsonl, keep=as_json or html is not None)
        error, interrupted = None, False
        try:
            with console.timeline_progress(run.video.info.duration, enabled=not (as_json or as_jsonl)) as update:
                for result in run:
                    report.window(result)
                    update(result.record["end"])
        except KeyboardInterrupt:
            interrupted = True
        except VideoDecodeError as err:
            error = str(err)
        report.finish(error="interrupted (Ctrl-C)" if interrupted else error, html=html,
                      seconds=time.perf_counter() - started)
    if interrupted:  # what was printed stays whole (JSON lines are written with Ctrl-C held back)
        console.error(f"interrupted after {count(report.count, 'window')}, at {clock(report.end)} of the video")
        raise typer.Exit(130)
    if error:
        console.error(error)
    raise typer.Exit(1 if error or run.truncated_at is not None else 0)


class _Report:
    """Where the windows go: segment lines (terminal), JSON lines, and what --json and --html need at the end."""

    def __init__(self, run: Timeline, *, as_json: bool, as_jsonl: bool, keep: bool) -> None:
        from ..output.tables import timeline_header
        from ..timeline import Segments, document

        self.run, self.as_json, self.as_jsonl, self.keep = run, as_json, as_jsonl, keep
        self.human = not (as_json or as_jsonl)
        self.segments = Segments()
        self.windows: list[dict[str, Any]] = []  # kept only for --json and --html
        self.closed: list[Segment] = []  # likewise
        self.count, self.segment_count, self.done, self.end = 0, 0, 0.0, 0.0
        self.label_width = min(max(len(label) for label in run.classifier.entry.labels), 40)
        for warning in run.warnings:
            console.warning(f"{run.source}: {warning}")
        if self.human:
            console.stdout.print(timeline_header(document(run, [], [], error=None, seconds=0.0)))

    def window(self, result: WindowResult) -> None:
        from ..output.tables import clock

        record = result.record
        self.count, self.end = self.count + 1, record["end"]
        for warning in result.warnings:
            console.warning(f"{self.run.source} {clock(record['start'])}-{clock(record['end'])}: {warning}")
        if self.as_jsonl:
            console.json_line(record)
        if self.keep:
            self.windows.append(record)
        self._closed(self.segments.add(result))

    def _closed(self, segment: Segment | None) -> None:
        from ..output.tables import segment_line

        if segment is None:
            return
        self.segment_count, self.done = self.segment_count + 1, segment.end
        if self.human:
            console.stdout.print(segment_line(segment.record(), self.label_width))
        if self.keep:
            self.closed.append(segment)

    def finish(self, *, error: str | None, html: Path | None, seconds: float) -> None:
        from ..output.page import write_page
        from ..output.tables import clock, count
        from ..timeline import document

        run = self.run
        self._closed(self.segments.close())
        for warning in run.warnings[len(run.layout.warnings):]:  # about the end of the video
            console.warning(f"{run.source}: {warning}")
        doc = document(run, self.windows, [s.record() for s in self.closed], error=error, seconds=seconds)
        if self.as_json:
            console.stdout.out(json.dumps(doc, indent=2, ensure_ascii=False), highlight=False)
        if html is not None:
            write_page(html, doc, [s.thumbnail for s in self.closed])
        if self.human:
            rate = f" ({self.done / seconds:.1f}x real time)" if seconds > 0 and self.done > 0 else ""
            console.stderr.print(f"{count(self.count, 'window')}, {count(self.segment_count, 'segment')}: "
                                 f"{clock(self.done)} of video "
                                 f"in {seconds:.1f} s{rate}" + (f"; page written to {html}" if html else ""),
                                 highlight=False)
