"""Ctrl-C: one key press stops the work once, and nothing breaks what it is finishing.

A terminal's Ctrl-C, or `timeout -s INT`, sends SIGINT to the process and to its whole group, so the same
key press can arrive twice within microseconds. `once_per_press` makes a SIGINT raise KeyboardInterrupt
unless another one raised less than `SAME_PRESS_S` before it, so the lines, documents and pages being
written when it came are written whole; `held` defers a SIGINT until a write is done; `stage` names what
was interrupted.

A press later than that raises again. Python drops an exception raised inside an at-fork callback or a
`__del__` ("Exception ignored in ..."), and a SIGINT that lands in one (as it did in logging's at-fork lock
release while a DataLoader started its workers) would otherwise leave the command deaf to every Ctrl-C after
it.
"""

from __future__ import annotations

import math
import os
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from .errors import Interrupted

SAME_PRESS_S = 0.5  # a SIGINT this soon after the one that raised is the same key press, delivered twice


class _State:
    active = False  # `once_per_press` is in force
    received = 0  # SIGINTs seen while it is
    raised_at = -math.inf  # time.monotonic() of the last one that raised KeyboardInterrupt


_state = _State()


def _forked_children_ignore_sigint() -> None:
    """In a process forked while `once_per_press` is in force (a decoding worker), SIGINT is ignored until the
    child takes it back (`take_back_in_a_worker`, from `workers.worker_init`). The key press reaches the whole
    process group, and a worker interrupted before DataLoader's loop catches KeyboardInterrupt printed a
    traceback, after which the main process reported it dead ("DataLoader worker exited unexpectedly"); the
    main process stops its workers."""
    if _state.active:
        signal.signal(signal.SIGINT, signal.SIG_IGN)


os.register_at_fork(after_in_child=_forked_children_ignore_sigint)


def take_back_in_a_worker() -> None:
    """In a worker forked while `once_per_press` is in force, SIGINT raises KeyboardInterrupt again (DataLoader's
    worker loop takes it as its end); elsewhere the worker's handler stays as its parent set it."""
    if _state.active:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def _raises_once_per_press(number: int, frame: Any) -> None:
    _state.received += 1
    now = time.monotonic()
    if now - _state.raised_at >= SAME_PRESS_S:
        _state.raised_at = now
        raise KeyboardInterrupt


def received() -> bool:
    """Whether a SIGINT has come while `once_per_press` is in force."""
    return _state.received > 0


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


@contextmanager
def once_per_press() -> Iterator[None]:
    """Inside the block a SIGINT raises KeyboardInterrupt, except one that comes within `SAME_PRESS_S` of the
    last that did (main thread only)."""
    if not _main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, _raises_once_per_press)
    _state.active, _state.received, _state.raised_at = True, 0, -math.inf
    try:
        yield
    finally:
        _state.active = False
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
