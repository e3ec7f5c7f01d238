"""The one progress display of every command: lines on stderr, on a terminal only, gone when done.

Each line reads `description  bar  count  speed  note  ETA`; a command says how its count and speed are
written (videos done of all and videos/s; a position in a video and the real-time factor; steps and clips/s)
and what its note says (training's running loss and accuracy). Nothing is drawn when stderr is not a
terminal, so piped or redirected output never carries it; what is printed on stdout meanwhile goes above the
lines when stdout is the same terminal, and untouched to stdout otherwise.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from rich.progress import BarColumn, ProgressColumn, TextColumn, TimeRemainingColumn
from rich.progress import Progress as _Bars
from rich.text import Text

from . import console

Count = Callable[[float, float | None], str]  # (completed, total or None) -> text
Speed = Callable[[float], str]  # units per second -> text

# An item's own line (the views of one video) appears once the item has taken this long: a quick one shows none.
DETAIL_AFTER_S = 2.0


def counted(unit: str) -> Count:
    """`12/1000 videos`."""
    return lambda done, total: f"{int(done)}/{int(total)} {unit}" if total else f"{int(done)} {unit}"


def per_second(unit: str) -> Speed:
    """`3.4 videos/s`."""
    return lambda speed: f"{speed:.1f} {unit}/s"


class _Field(ProgressColumn):
    """A task's count or speed, written by the function the task carries."""

    def __init__(self, name: str, style: str) -> None:
        super().__init__()
        self.name, self.style = name, style

    def render(self, task: Any) -> Text:
        write = task.fields[self.name]
        if self.name == "count":
            return Text(write(task.completed, task.total), style=self.style)
        if self.name == "note":
            return Text(write, style=self.style)
        return Text(write(task.speed) if task.speed else "", style=self.style)


class Line:
    """One line of a `Progress`."""

    def __init__(self, bars: _Bars, task: Any) -> None:
        self._bars, self._task = bars, task
        self._started = 0.0  # when the item `item` follows started

    def advance(self, amount: float = 1.0, *, description: str | None = None, note: str | None = None) -> None:
        """`amount` more done; a new description or note if given."""
        changes = {"note": note} if note is not None else {}
        self._bars.update(self._task, advance=amount, description=description, **changes)

    def update(self, completed: float) -> None:
        self._bars.update(self._task, completed=completed)

    def restart(self, total: float | None) -> None:
        """From zero again, towards `total` (None: unknown, a pulsing line without ETA)."""
        self._bars.reset(self._task, total=total or None, visible=True)

    def item(self, done: int, total: int) -> None:
        """Follow one slow item (`done` of `total`, 0 at its start); shown once it has run `DETAIL_AFTER_S`."""
        if done == 0:
            self._started = time.perf_counter()
            self._bars.reset(self._task, total=total, visible=False)
        shown = done < total and time.perf_counter() - self._started >= DETAIL_AFTER_S
        self._bars.update(self._task, completed=done, visible=shown, refresh=shown)  # drawn at once


class Progress:
    """Progress lines on stderr while the block runs; `enabled=False` (or stderr not a terminal) draws nothing."""

    def __init__(self, enabled: bool = True) -> None:
        stderr = console.stderr
        self._bars = _Bars(TextColumn("{task.description}"), BarColumn(), _Field("count", "progress.download"),
                           _Field("speed", "cyan"), _Field("note", "magenta"), TimeRemainingColumn(), console=stderr,
                           transient=True, redirect_stdout=console.stdout.is_terminal, redirect_stderr=False,
                           disable=not (enabled and stderr.is_terminal))

    def __enter__(self) -> Progress:
        self._bars.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._bars.stop()

    def line(self, description: str, total: float | None, *, count: Count, speed: Speed, completed: float = 0.0,
             visible: bool = True) -> Line:
        """A new line, `completed` of `total` done; `total` None (a stream of unknown length) pulses without an
        ETA."""
        return Line(self._bars, self._bars.add_task(description, total=total or None, completed=completed,
                                                    visible=visible, count=count, speed=speed, note=""))
