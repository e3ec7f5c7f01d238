"""The two Rich consoles: results on stdout, everything else (errors, warnings, progress) on stderr.

`soft_wrap=True` keeps a long error on one physical line, so scripts can read it with `head -1`.
"""

from __future__ import annotations

import json
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console

stdout = Console(soft_wrap=True)
stderr = Console(stderr=True, soft_wrap=True)


def print_wide(renderable: object) -> None:
    """Print to stdout; piped output gets room for wide tables instead of folding at an assumed 80 columns."""
    target = stdout if stdout.is_terminal else Console(file=stdout.file, width=200, soft_wrap=True)
    target.print(renderable)


def error(message: str) -> None:
    """One line, `Error: ...`, no markup interpretation of file names."""
    stderr.print(f"Error: {' '.join(message.split())}", markup=False, highlight=False, style="bold red")


def warning(message: str) -> None:
    stderr.print(f"Warning: {' '.join(message.split())}", markup=False, highlight=False, style="yellow")


# A video's views get their own progress line once they have taken this long: a quick video shows none.
VIEWS_AFTER_S = 2.0


class Progress:
    """Transient progress on stderr, on a terminal only: files done of all, and the views of a slow video.

    `file_done(name)` advances the files bar (shown when `files` > 1 and `show_files`); `views(done, total)`
    follows one video's forward passes and shows "views done/total" with an ETA once that video has run
    `VIEWS_AFTER_S`. Nothing is drawn when stderr is not a terminal, and the lines vanish when done.
    """

    def __init__(self, files: int, show_files: bool) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeRemainingColumn
        from rich.progress import Progress as Bars

        self._bars = Bars(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                          TimeRemainingColumn(), console=stderr, transient=True, disable=not stderr.is_terminal)
        self._files = self._bars.add_task("classifying", total=files, visible=show_files and files > 1)
        self._views = self._bars.add_task("views", total=1, visible=False)
        self._video_start = 0.0

    def __enter__(self) -> Progress:
        self._bars.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._bars.stop()

    def views(self, done: int, total: int) -> None:
        if done == 0:
            self._video_start = time.perf_counter()
            self._bars.reset(self._views, total=total, visible=False)
        shown = done < total and time.perf_counter() - self._video_start >= VIEWS_AFTER_S
        self._bars.update(self._views, completed=done, visible=shown, refresh=shown)  # drawn at once

    def file_done(self, name: str) -> None:
        self._bars.update(self._files, advance=1, description=name)


def json_line(record: dict[str, Any]) -> None:
    """One JSON line on stdout, flushed at once, and whole even when Ctrl-C comes while it is written."""
    text = json.dumps(record, ensure_ascii=False)
    with _interrupts_held():
        stdout.out(text, highlight=False)
        stdout.file.flush()


@contextmanager
def _interrupts_held() -> Iterator[None]:
    """Hold SIGINT back until the block is done, then raise it as usual (main thread only)."""
    previous = signal.getsignal(signal.SIGINT)
    if threading.current_thread() is not threading.main_thread() or not callable(previous):
        yield  # signals go to the main thread; an ignored or default SIGINT needs no holding
        return
    caught: list[tuple[int, Any]] = []
    signal.signal(signal.SIGINT, lambda number, frame: caught.append((number, frame)))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if caught:
            previous(*caught[0])


@contextmanager
def timeline_progress(total: float, enabled: bool) -> Iterator[Callable[[float], None]]:
    """A bar over seconds of video on stderr (only on a terminal): position, ETA and the real-time factor.

    Yields `update(position)`, the seconds of video done. `total` 0 (a stream of unknown length) shows a
    pulsing bar without ETA. Text printed on stdout meanwhile goes above the bar when stdout is the same
    terminal, and untouched to stdout when it is a file or a pipe.
    """
    from rich.progress import BarColumn, Progress, ProgressColumn, TextColumn, TimeRemainingColumn
    from rich.text import Text

    from .tables import clock

    class Speed(ProgressColumn):
        def render(self, task: Any) -> Text:
            return Text(f"{task.speed:.1f}x real time" if task.speed else "", style="cyan")

    bar = Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[position]}"), Speed(),
                   TimeRemainingColumn(), console=stderr, transient=True, redirect_stdout=stdout.is_terminal,
                   disable=not (enabled and stderr.is_terminal))
    with bar:
        task = bar.add_task("timeline", total=total or None, position="")
        yield lambda position: bar.update(task, completed=position, position=clock(position))

