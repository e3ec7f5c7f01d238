"""`linvit timeline`: long videos or a stream in, labels over time out (terminal, JSON lines, HTML page)."""

from __future__ import annotations

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
    OutOpt,
    RegistryOpt,
    ResumeOpt,
    ShardOpt,
    TopKOpt,
    ViewBatchOpt,
    WeightsOpt,
    checked_model,
    one_output,
)
from ._paths import check_output_file
from ._runs import Run, build_classifier
from .root import app

if TYPE_CHECKING:
    from collections.abc import Iterable

    from ..classifier import Classifier, Input
    from ..output.progress import Line
    from ..timeline import Closed, Opened, Segment, Unopened, WindowResult

EXAMPLES = """Examples:

\b
  linvit timeline match.mp4 --html match.html           # segments on the terminal, and a page to look at
  linvit timeline lecture.mkv --window 10 --jsonl > labels.jsonl   # a JSON line per 10 s window, as done
  ffmpeg -i rtsp://camera/stream -f mpegts - | linvit timeline pipe: --model lvit-demo --jsonl
  linvit timeline https://example.org/video.webm --crops 3 --json
  linvit timeline recordings/ --out timelines.jsonl     # many videos: one JSON line (a document) per video
  torchrun --nproc-per-node 4 -m linvit_cli timeline recordings/ --out timelines.jsonl   # 4 processes, one file

Windows: by default as long as the span of the model's clip (dense sampling: frames x stride at the
protocol's rate, 8.53 s for the LViT Kinetics models; the other samplings: `frames` consecutive frames of
the video), and at least 2 s; they follow each other without overlap (--stride = --window). Each window is
sampled with the model's protocol as one clip, in one crop (the centre) unless --crops says more.

Exit codes: 0 done, 1 a video could not be read to its end (cut short, too damaged), 2 usage, 130 Ctrl-C.
"""


@app.command("timeline", epilog=EXAMPLES)
def timeline_command(
    videos: Annotated[list[str], typer.Argument(help="Video files, folders (searched recursively) or globs; or one "
                                                "stream: pipe: (or -) for standard input, or a URL that FFmpeg "
                                                "opens (http, https, rtsp, ...).", show_default=False)],
    model: ModelOpt = None,
    weights: WeightsOpt = None,
    window: Annotated[float | None, typer.Option("--window", help="Seconds per window (default: the span of the "
                                                 "model's clip, at least 2 s; see below).")] = None,
    stride: Annotated[float | None, typer.Option("--stride", help="Seconds from one window's start to the next "
                                                 "(default: the window, so windows tile the video).")] = None,
    crops: Annotated[int, typer.Option("--crops", help="Spatial crops per window: 1 the centre, 3 left, centre "
                                       "and right as the protocol's test views.")] = 1,
    top_k: TopKOpt = 5,
    html: Annotated[Path | None, typer.Option("--html", help="Also write a self-contained page (one video): time "
                                              "axis, segments, top labels of any window, thumbnails.")] = None,
    device: DeviceOpt = "auto",
    dtype: DtypeOpt = "float32",
    view_batch: ViewBatchOpt = None,
    as_json: JsonOpt = False,
    as_jsonl: JsonlOpt = False,
    out: OutOpt = None,
    resume: ResumeOpt = False,
    shard: ShardOpt = None,
    registry: RegistryOpt = None,
    offline: OfflineOpt = False,
    cache_dir: CacheDirOpt = None,
) -> None:
    """Label long videos or a stream window by window, in one decoding pass each: segments of the same label.

    With --out, each video's document (as --json prints it) is one line of FILE; under torchrun the
    processes share the videos out and process 0 writes every result, in input order.
    """
    from ..errors import UsageError

    one_output(as_json, as_jsonl)
    at_least("crops", crops, 1)
    positive_seconds("window", window)
    positive_seconds("stride", stride)
    if html is not None:
        check_output_file(html, "--html")
    run = Run.prepare(out=out, resume=resume, shard=shard, workers=None, device=device)
    reg, entry = checked_model(model, registry, views=(1, crops), weights=weights, top_k=top_k,
                               view_batch=view_batch, offline=offline, cache_dir=cache_dir)
    from ..timeline import events  # torch from here on, once the options are known to be good

    with run:
        sources = run.inputs(lambda: _sources(videos))
        if len(sources) > 1 and (as_json or html is not None):
            option = "--json" if as_json else "--html"
            raise UsageError(f"{option} takes one video and {len(sources)} were given; use --jsonl or --out for "
                             "several")
        classifier = build_classifier(entry, model is None, weights=weights, registry=reg, device=run.device,
                                      dtype=dtype, views=(1, crops), view_batch=view_batch, top_k=top_k,
                                      offline=offline, cache_dir=cache_dir)
        mine = run.plan(sources, key=lambda item: item.path,
                        same={"model": classifier.entry.name, "commit": classifier.commit})
        settings = {"window": window, "stride": stride, "crops": crops, "thumbnails": html is not None}
        # one process streams each video's windows as they come; under torchrun whole videos travel to process 0
        runs = (_unusable(item) if item.error else
                events(item.path, classifier, **settings) if not run.ctx.active else
                list(events(item.path, classifier, **settings)) for item in mine)
        with run.progress("timelines", unit="videos") as lines:
            position = None if run.ctx.active else lines.line("timeline", None, count=_position, speed=_real_time,
                                                               visible=False)
            report = _Report(run, classifier, as_json=as_json, as_jsonl=as_jsonl, html=html, position=position)
            run.consume(runs, report.video)
            code = report.finish()
    raise typer.Exit(code)


def _sources(arguments: list[str]) -> list[Input]:
    """Files, folders and globs as `classify` expands them; a stream (pipe:, -, a URL) as it is."""
    from ..classifier import Input, expand_inputs
    from ..video.decode import is_stream

    return [item for arg in arguments for item in ([Input(arg)] if is_stream(arg) else expand_inputs([arg]))]


def _unusable(item: Input) -> list[Unopened]:
    from ..timeline import Unopened

    return [Unopened(item.path, item.error or "")]


def _position(done: float, total: float | None) -> str:
    from ..output.tables import clock

    return clock(done)


def _real_time(speed: float) -> str:
    return f"{speed:.1f}x real time"


class _Report:
    """Where the videos' events go on process 0: segment lines (terminal), JSON lines, --json, --html and --out."""

    def __init__(self, run: Run, classifier: Classifier, *, as_json: bool, as_jsonl: bool, html: Path | None,
                 position: Line | None) -> None:
        self.run, self.as_json, self.as_jsonl, self.html, self.position = run, as_json, as_jsonl, html, position
        self.human = not (as_json or as_jsonl or run.out is not None)
        self.keep = as_json or html is not None or run.out is not None  # windows and segments, until the video ends
        self.label_width = min(max(len(label) for label in classifier.entry.labels), 40)
        self.videos = self.failed = 0
        self.opened: dict[str, Any] | None = None  # the video being reported

    def video(self, run_events: Iterable[Opened | WindowResult | Closed | Unopened]) -> None:
        """Report one video's events as they come, each whole (a Ctrl-C waits until the event is reported)."""
        from ..interrupts import held
        from ..timeline import Closed, Opened, Unopened

        try:
            for event in run_events:
                with held():
                    if isinstance(event, Opened):
                        self._open(event)
                    elif isinstance(event, Closed):
                        self._close(event.ending, event.error, event.truncated, event.seconds)
                    elif isinstance(event, Unopened):
                        self._unopened(event)
                    else:
                        self._window(event)
        finally:
            close = getattr(run_events, "close", None)
            if close is not None:
                close()  # a Ctrl-C here closes the video (and stops its decoding thread) now

    def _open(self, event: Opened) -> None:
        from ..output.tables import timeline_header
        from ..timeline import Segments, document

        doc = self.opened = event.document
        self.segments = Segments()
        self.windows: list[dict[str, Any]] = []  # kept only for --json, --html and --out
        self.closed: list[Segment] = []  # likewise
        self.count, self.segment_count, self.done, self.end = 0, 0, 0.0, 0.0
        self.started = time.perf_counter()
        for warning in doc["warnings"]:
            console.warning(f"{doc['file']}: {warning}")
        if self.human:
            console.stdout.print(timeline_header(document(doc, [], [], ending=[], error=None, truncated=False,
                                                          seconds=0.0)))
        if self.position is not None:
            self.position.restart(doc["video"]["duration"])

    def _window(self, result: WindowResult) -> None:
        from ..output.tables import clock

        record = result.record
        self.count, self.end = self.count + 1, record["end"]
        for warning in result.warnings:
            console.warning(f"{record['file']} {clock(record['start'])}-{clock(record['end'])}: {warning}")
        if self.as_jsonl:
            console.json_line(record)
        if self.keep:
            self.windows.append(record)
        self._closed_segment(self.segments.add(result))
        if self.position is not None:
            self.position.update(record["end"])

    def _closed_segment(self, segment: Segment | None) -> None:
        from ..output.tables import segment_line

        if segment is None:
            return
        self.segment_count, self.done = self.segment_count + 1, segment.end
        if self.human:
            console.stdout.print(segment_line(segment.record(), self.label_width))
        if self.keep:
            self.closed.append(segment)

    def _close(self, ending: list[str], error: str | None, truncated: bool, seconds: float) -> None:
        """The video's last segment, its end's warnings, its document (--json, --html, --out) and its line."""
        from ..output.page import write_page
        from ..output.tables import clock, count
        from ..timeline import document

        opened, self.opened = self.opened, None
        interrupted = error is None and self.run.interrupted
        self._closed_segment(self.segments.close())
        for warning in ending:
            console.warning(f"{opened['file']}: {warning}")
        if error and not interrupted:
            console.error(error)
        doc = document(opened, self.windows, [s.record() for s in self.closed], ending=ending,
                       error="interrupted (Ctrl-C)" if interrupted else error, truncated=truncated, seconds=seconds)
        self.videos += 1
        self.failed += bool(error or truncated)
        if self.as_json:
            console.json_document(doc)
        if self.html is not None:
            write_page(self.html, doc, [s.thumbnail for s in self.closed])
        if not interrupted:
            self.run.write(doc)
        if self.human:
            rate = f" ({self.done / seconds:.1f}x real time)" if seconds > 0 and self.done > 0 else ""
            console.stderr.print(f"{count(self.count, 'window')}, {count(self.segment_count, 'segment')}: "
                                 f"{clock(self.done)} of video in {seconds:.1f} s{rate}"
                                 + (f"; page written to {self.html}" if self.html else ""), highlight=False)

    def _unopened(self, event: Unopened) -> None:
        from ..classifier import failure

        console.error(event.error)
        self.videos += 1
        self.failed += 1
        self.run.write(failure(event.file, event.error))

    def finish(self) -> int:
        """A video cut off by Ctrl-C gets its document (--json, --html, not --out); the exit code."""
        from ..output.tables import clock, count

        run = self.run
        if not run.main:
            return 0
        stopped = f"interrupted after {self.videos} of {count(len(run.todo), 'video')}"
        if run.interrupted and self.opened is not None:
            stopped = f"interrupted after {count(self.count, 'window')}, at {clock(self.end)} of the video"
            if len(run.todo) > 1:
                stopped = f"{stopped} {self.opened['file']}"
            self._close([], None, False, time.perf_counter() - self.started)
        return run.finish(f"{self.videos - self.failed} of {count(self.videos, 'video')} done, {self.failed} not to "
                          "the end",
                          failed=self.failed > 0, quiet=len(run.todo) <= 1 and run.out is None, stopped=stopped)
