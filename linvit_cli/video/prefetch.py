"""Decoding ahead in a thread of its own, so that FFmpeg's decoder never waits for the model.

FFmpeg's frame threads decode only the few frames in flight; while the caller converts a frame or runs
the model, they finish those and stall. A thread that keeps pulling frames into a short queue keeps them
busy: PyAV releases the GIL while FFmpeg decodes, and the model's operators release it while they compute.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import Generic, TypeVar

T = TypeVar("T")

_DONE = object()
_WAIT_S = 0.1  # how often a blocked producer looks whether it should stop


class Prefetch(Generic[T]):
    """Iterates `source` in a daemon thread, `depth` items ahead; `close` stops it and waits for it.

    An exception raised by `source` is raised by `next` in the consumer, where the item would have come.
    Only this iterator may touch what `source` reads from until it is closed.
    """

    def __init__(self, source: Iterator[T], depth: int) -> None:
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._finished = False
        self._thread = threading.Thread(target=self._produce, args=(source,), name="linvit-decode", daemon=True)
        self._thread.start()

    def _produce(self, source: Iterator[T]) -> None:
        try:
            for item in source:
                if not self._put(item):
                    return
        except BaseException as error:  # handed to the consumer, raised there
            self._put(error)
            return
        self._put(_DONE)

    def _put(self, item: object) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=_WAIT_S)
                return True
            except queue.Full:
                continue
        return False

    def __iter__(self) -> Iterator[T]:
        return self

    def __next__(self) -> T:
        if self._finished:
            raise StopIteration
        item = self._queue.get()
        if item is _DONE or isinstance(item, BaseException):
            self._finished = True
            self._thread.join()
            if item is _DONE:
                raise StopIteration
            raise item
        return item

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
