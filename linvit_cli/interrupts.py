"""Ctrl-C: the first one stops the work, later ones cannot break what the first one is finishing.

A terminal's Ctrl-C, or `timeout -s INT`, sends SIGINT to the process and to its whole group, so the same
key press can arrive twice within microseconds. `first_only` makes the first SIGINT raise KeyboardInterrupt
and every later one a no-op, so the lines, documents and pages being written when it came are written
whole; `held` defers a SIGINT until a write is done; `stage` names what was interrupted.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from .errors import Interrupted


class _State:
    received = 0  # SIGINTs seen while `first_only` is in force


_state = _State()


def _first_raises(number: int, frame: Any) -> None:
    _state.received += 1
    if _state.received == 1:
        raise KeyboardInterrupt


def received() -> bool:
    """Whether a SIGINT has come while `first_only` is in force."""
    return _state.received > 0


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


@contextmanager
def first_only() -> Iterator[None]:
    """Inside the block the first SIGINT raises KeyboardInterrupt and later ones are ignored (main thread only)."""
    if not _main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, _first_raises)
    _state.received = 0
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@contextmanager
def held() -> Iterator[None]:
    """Hold SIGINT back until the block is done, then raise it as usual (main thread only)."""
    previous = signal.getsignal(signal.SIGINT)
    if not _main_thread() or not callable(previous):
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
def stage(what: str) -> Iterator[None]:
    """A Ctrl-C inside the block ends the command with `Error: interrupted while WHAT` and exit code 130."""
    try:
        yield
    except KeyboardInterrupt:
        raise Interrupted(f"interrupted while {what}") from None
