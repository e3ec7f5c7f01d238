"""The two Rich consoles: results on stdout, everything else (errors, warnings, progress) on stderr.

`soft_wrap=True` keeps a long error on one physical line, so scripts can read it with `head -1`.
"""

from __future__ import annotations

import json
import signal
import threading
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


@contextmanager
def progress(total: int, enabled: bool) -> Iterator[Callable[[str], None]]:
    """A progress bar with ETA on stderr (only on a terminal); yields `advance(description)`."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                   console=stderr, transient=True, disable=not (enabled and stderr.is_terminal))
    with bar:
        task = bar.add_task("classifying", total=total)
        yield lambda description: bar.update(task, advance=1, description=description)


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

