"""Many inputs, one result each, in input order: what `classify` and `timeline` share for big jobs.

- `--out FILE` gets one JSON line per input as it is done; `--resume` skips the inputs FILE already holds
  (`OutFile`), after checking that they came from the same model and settings.
- The inputs still to do are split among processes: every N-th for process K of N (`split`). Under torchrun
  the processes are the job's ranks; `--shard K/N` is the same split of all inputs for schedulers that start
  the N processes themselves (each shard has its own FILE, so each resumes on its own).
- Under torchrun the results of every process reach process 0 in rounds (`in_order`), which writes them in
  input order, so the output is the one a single process writes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from .errors import UsageError
from .output.jsonl import read_records, repair

if TYPE_CHECKING:
    from .distributed import DistContext

T = TypeVar("T")

ROUND_S = 10.0  # under torchrun, process 0 receives results about this often
MAX_ROUND = 256  # results per process in one round at most (bounds what a round holds)


def parse_shard(text: str | None) -> tuple[int, int] | None:
    """`--shard K/N` as (K, N), with 0 <= K < N; None when not given."""
    if text is None:
        return None
    parts = text.split("/")
    if len(parts) != 2 or not all(p.isdigit() for p in parts) or not int(parts[0]) < int(parts[1]):
        raise UsageError(f"--shard '{text}' is not K/N with 0 <= K < N, e.g. 0/4 for the first of four shards")
    return int(parts[0]), int(parts[1])


@dataclass(frozen=True)
class OutFile:
    """The `--out` file of a run: checked before any work, read back by `--resume`."""

    path: Path
    resume: bool

    def check(self) -> None:
        """An existing file is continued only when asked (a usage error)."""
        if not self.resume and self.path.is_file() and self.path.stat().st_size:
            raise UsageError(f"--out {self.path} already exists; pass --resume to continue it, or choose another file")

    def done(self, same: dict[str, Any]) -> set[str]:
        """The inputs (`file`) the file already holds, after repairing a torn last line.

        `same` holds what every successful record in it must share with this run (model, its commit, the
        sampling): results of other settings are not mixed into one file.
        """
        if not (self.resume and self.path.is_file()):
            return set()
        repair(self.path)
        files = set()
        for number, record in enumerate(read_records(self.path), 1):
            differ = [key for key, value in same.items() if record.get("ok") and record.get(key) != value]
            if differ:
                shown = ", ".join(f"{key} {record.get(key)!r} (now {same[key]!r})" for key in differ)
                raise UsageError(f"refusing to resume: line {number} of {self.path} has another {shown}; "
                                 "choose another --out")
            files.add(record["file"])
        return files


def split(items: Sequence[T], index: int, count: int) -> list[T]:
    """Process `index` of `count`'s part: items index, index + count, index + 2 count, ..."""
    return list(items[index::count])


def pending(items: Sequence[T], done: set[str], key: Callable[[T], str]) -> list[T]:
    """The items whose key is not among those done, in order."""
    return [item for item in items if key(item) not in done]


def in_order(ctx: DistContext, mine: Iterator[T], total: int) -> Iterator[T]:
    """Every process's results in input order, on process 0; the other processes yield nothing.

    Each process holds `split(todo, rank, world)` of `total` items and `mine` gives its results in order.
    In each round every process contributes its next few results; process 0 interleaves them (result j of
    rank r is item j * world + r). Rounds grow until they take about `ROUND_S` for the slowest process, so
    waiting for each other costs little and memory holds one round. All processes compute the same round
    sizes from the same gathered timings.
    """
    if not ctx.active:
        yield from mine
        return
    size, received = 1, 0
    while received < total:
        start = time.perf_counter()
        part = list(islice(mine, size))
        parts: list[tuple[list[T], float]] = ctx.gather((part, time.perf_counter() - start))
        got = sum(len(p) for p, _ in parts)
        if got == 0:
            raise RuntimeError(f"the processes ran out of results after {received} of {total}")
        received += got
        if ctx.main:
            for j in range(max(len(p) for p, _ in parts)):
                yield from (p[j] for p, _ in parts if j < len(p))
        per_item = max(seconds / len(p) for p, seconds in parts if p)
        size = MAX_ROUND if per_item <= 0 else max(1, min(MAX_ROUND, int(ROUND_S / per_item)))
