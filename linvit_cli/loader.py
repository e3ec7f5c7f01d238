"""Videos decoded ahead of the model in worker processes, handed over in input order (`classify`, `eval`).

`ahead(items, load, workers)` runs `load(item)` in a DataLoader's worker processes, each a few items ahead,
and yields the results in the order of `items`: a slow file holds back the ones after it, never reorders
them. What is in flight is bounded (two items per worker), so memory does not grow with the number of files.
A file that cannot be read becomes an `Unreadable` result in its place; the run goes on.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import NamedTuple, TypeVar

from torch import Tensor
from torch.utils.data import DataLoader
from torch.utils.data import Dataset as TorchDataset

from .errors import VideoDecodeError
from .machine import available_cpus, local_processes
from .registry.schema import Protocol
from .video.decode import VideoInfo
from .video.views import load_views
from .workers import started, worker_init

T = TypeVar("T")
R = TypeVar("R")

PREFETCH = 2  # items each worker has ready or in progress
# Where the model runs on several CPU threads, decoding workers run this much nicer than it: the model's threads
# keep their cores through each parallel section (a thread preempted there stalls all the others at its end) and
# decoding takes the moments they leave; decoding's own share of the CPU is the same either way.
DECODE_NICE = 10


class Decoded(NamedTuple):
    """A video's test views, what the file says about itself, the decoder's warnings, whether it decoded to its
    end, and the seconds spent."""

    views: Tensor
    info: VideoInfo
    warnings: list[str]
    complete: bool  # False: the file is cut short (its views are of the part that decodes)
    seconds: float


class Unreadable(NamedTuple):
    """A video that could not be decoded, with the one-line reason."""

    message: str


def decoder_threads(workers: int) -> int:
    """FFmpeg threads per decoding process: the CPUs shared out among the workers (0: FFmpeg's choice)."""
    return 0 if workers == 0 else max(1, available_cpus() // (workers * local_processes()))


def _nicer_worker(number: int) -> None:
    worker_init(number)
    with contextlib.suppress(OSError):  # not permitted here: decode at the model's priority
        os.nice(DECODE_NICE)


def decode_views(source: str | Path, protocol: Protocol, views: tuple[int, int], threads: int) -> Decoded | Unreadable:
    """`load_views` of one file as a result for `ahead`: its views, or why it could not be read."""
    start = time.perf_counter()
    try:
        loaded = load_views(source, protocol, views, threads=threads)
    except VideoDecodeError as err:
        return Unreadable(str(err))
    return Decoded(loaded.views, loaded.info, loaded.warnings, loaded.complete, time.perf_counter() - start)


class _Loads(TorchDataset):
    def __init__(self, items: Sequence[T], load: Callable[[T], R]) -> None:
        self.items, self.load = items, load

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, position: int) -> R:
        return self.load(self.items[position])


def _as_is(item: R) -> R:
    return item


def ahead(items: Sequence[T], load: Callable[[T], R], workers: int, *, yield_cpu: bool = False) -> Iterator[R]:
    """`load(item)` for every item, in order; with `workers` > 0 in that many processes, ahead of the caller.

    `yield_cpu`: the caller computes on several CPU threads, so the workers run nicer (`DECODE_NICE`). `load`
    must be picklable (a module-level function, or a `functools.partial` of one) where processes are spawned
    rather than forked. With no workers the items are loaded here, one when it is asked for.
    """
    if workers == 0:
        return map(load, items)
    loader = DataLoader(_Loads(items, load), batch_size=None, num_workers=workers, collate_fn=_as_is,
                        prefetch_factor=PREFETCH, worker_init_fn=_nicer_worker if yield_cpu else worker_init)
    return started(loader)


def workers_for(workers: int, items: int) -> int:
    """The workers worth starting for `items` files: none for a single file (nothing to overlap with)."""
    return 0 if items < 2 else min(workers, items)
