"""What training and evaluation share about decoding in DataLoader workers: a file that fails is an item of its
own, never another sample, each worker runs one intra-op thread, and a worker stays quiet when the process it
decodes for goes away."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import NamedTuple

import torch
from torch.utils.data import DataLoader

from . import interrupts

ExceptHook = Callable[[type[BaseException], BaseException, TracebackType | None], object]


class Failure(NamedTuple):
    """A sample whose file could not be decoded: its index and the decoder's one-line reason."""

    index: int
    message: str


def worker_init(_: int) -> None:
    """One intra-op thread per worker (decode parallelism comes from the workers themselves); Ctrl-C back, in a
    worker the `linvit` command forked (`interrupts.take_back_in_a_worker`); and no traceback from the thread
    that hands decoded tensors over when the reader hangs up (`_quiet_when_the_reader_left`)."""
    torch.set_num_threads(1)
    interrupts.take_back_in_a_worker()
    sys.excepthook = _quiet_when_the_reader_left(sys.excepthook)


def started(loader: DataLoader) -> Iterator:
    """`iter(loader)`, its worker processes started with Ctrl-C held back (`interrupts.held`).

    A KeyboardInterrupt inside DataLoader's start-up (or in a fork callback there, where Python drops it) left
    an iterator half made, whose clean-up failed with a traceback ("Exception ignored in
    _MultiProcessingDataLoaderIter.__del__: AttributeError"). Held, it comes right after, and the whole
    iterator stops its workers as it goes.
    """
    with interrupts.held():
        return iter(loader)


def _quiet_when_the_reader_left(report: ExceptHook) -> ExceptHook:
    """`sys.excepthook` for a worker: a lost connection outside the main thread is not reported.

    A worker hands each tensor over through multiprocessing's resource sharer: a thread that passes the file
    descriptor of the tensor's shared memory over a socket, and reports any error with `sys.excepthook`. A Ctrl-C
    that reaches the main process while it receives one (a fifth of all Ctrl-Cs in a `classify` with a small
    model) closes that socket, and the worker printed a traceback onto the terminal the main process shares,
    beside the main process's own one-line report of the interrupt. The main thread's errors, and every other
    error, are reported as before.
    """

    def hook(kind: type[BaseException], error: BaseException, tb: TracebackType | None) -> None:
        if issubclass(kind, (EOFError, ConnectionError)) and threading.current_thread() is not threading.main_thread():
            return
        report(kind, error, tb)

    return hook
