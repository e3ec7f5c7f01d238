"""What `classify` and `timeline` share as batch commands: the model, --out/--resume/--shard, the torchrun split,
the progress line, Ctrl-C and the closing line.

A command prepares a `Run` (usage checks that need no model), enters it (the torchrun process group, if any),
gathers its inputs on process 0 (`inputs`: --out is checked first, before any work), loads the model, keeps
the inputs still to do (`plan`), and feeds this process's results to `consume`, which hands every process's
results to the report on process 0, in input order.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

from ..errors import Interrupted, UsageError
from ..output import console
from ._paths import check_output_file

if TYPE_CHECKING:
    from ..batch import OutFile
    from ..classifier import Classifier
    from ..distributed import DistContext
    from ..output.jsonl import JsonLines
    from ..output.progress import Line, Progress
    from ..registry.schema import ModelEntry

T = TypeVar("T")
R = TypeVar("R")


def build_classifier(entry: ModelEntry, default: bool, **options: Any) -> Classifier:
    """The `Classifier` of a command's model (resolved once, by `checked_model`); when the default model's
    weights are out of reach, the error says how to work offline instead (a model is never switched
    silently). Ctrl-C meanwhile says what it stopped."""
    from ..classifier import Classifier
    from ..errors import HubError
    from ..interrupts import stage

    with stage("loading the model"):
        try:
            return Classifier(entry, **options)
        except HubError as err:
            if not default:
                raise
            hint = "or classify offline now with the demo model in the package: --model lvit-demo"
            raise HubError(f"{err}; {hint}") from err


class Run:
    """One batch command's plumbing, from its options to its exit code."""

    def __init__(self, *, out: OutFile | None, shard: tuple[int, int] | None, workers: int | None,
                 device: str) -> None:
        self.out, self.shard, self.workers, self.device = out, shard, workers, device
        self.ctx: DistContext | None = None
        self.todo: list[Any] = []
        self.resumed = 0
        self.interrupted = False
        self._writer: JsonLines | None = None
        self._line: Line | None = None
        self._stack = ExitStack()

    @classmethod
    def prepare(cls, *, out: Path | None, resume: bool, shard: str | None, workers: int | None,
                device: str) -> Run:
        """Check the options that need nothing loaded (usage errors, exit code 2; --out here too unless under
        torchrun, where process 0 checks it)."""
        from ..batch import OutFile, parse_shard

        if resume and out is None:
            raise UsageError("--resume continues an --out FILE; give --out")
        if workers is not None and workers < 0:
            raise UsageError(f"--workers {workers} must be 0 or more")
        out_file = None if out is None else OutFile(out, resume)
        if out_file is not None and int(os.environ.get("WORLD_SIZE", "1")) <= 1:
            out_file.check()
            check_output_file(out_file.path, "--out")
        return cls(out=out_file, shard=parse_shard(shard), workers=workers, device=device)

    def __enter__(self) -> Run:
        from ..distributed import distributed

        self.ctx, chosen = self._stack.enter_context(distributed(self.device))
        self.device = str(chosen)
        if self.shard and self.ctx.active:
            self._stack.close()
            raise UsageError("--shard is for schedulers that start the processes themselves; under torchrun the "
                             "processes share the inputs out already")
        return self

    def __exit__(self, kind: type[BaseException] | None, err: BaseException | None, tb: TracebackType | None) -> None:
        if self._writer is not None:
            self._writer.close()
        self._stack.__exit__(kind, err, tb)

    @property
    def main(self) -> bool:
        return self.ctx is None or self.ctx.main

    def inputs(self, gather: Callable[[], Iterable[T]]) -> list[T]:
        """The inputs, gathered once by process 0 (standard input is its alone) after --out is checked."""
        def checked() -> list[T]:
            if self.out is not None:
                self.out.check()
                check_output_file(self.out.path, "--out")
            return list(gather())

        return self.ctx.on_main(checked)

    def plan(self, items: Sequence[T], *, key: Callable[[T], str], same: dict[str, Any]) -> list[T]:
        """This process's inputs: this shard's, less those --out holds (--resume), every world-th under torchrun."""
        from ..batch import pending, split
        from ..output.jsonl import JsonLines

        done = self.ctx.on_main(lambda: set() if self.out is None else self.out.done(same))
        chosen = split(items, *self.shard) if self.shard else list(items)
        self.todo = pending(chosen, done, key)
        self.resumed = len(chosen) - len(self.todo)
        if self.out is not None and self.main:
            self._writer = JsonLines(self.out.path)
        return split(self.todo, self.ctx.rank, self.ctx.world)

    def workers_for(self, items: int) -> int:
        from ..loader import workers_for
        from ..machine import decoding_workers

        return workers_for(decoding_workers(self.workers), items)

    @contextmanager
    def progress(self, description: str, *, unit: str) -> Iterator[Progress]:
        """The job's progress line on process 0 (`unit`/s and ETA across all processes, shown for more than one
        input); yields the display, for lines of the command's own."""
        from ..output.progress import Progress, counted, per_second

        where = f" ({self.ctx.world} processes)" if self.ctx.active else ""
        with Progress(enabled=self.main) as lines:
            self._line = lines.line(description + where, len(self.todo), count=counted(unit), speed=per_second(unit),
                                    visible=len(self.todo) > 1)
            yield lines

    def consume(self, results: Iterator[R], add: Callable[[R], None]) -> None:
        """Every process's results to `add` on process 0, in input order; a Ctrl-C ends the loop (`interrupted`).

        `add` reports a result whole: it holds Ctrl-C back while it writes (`interrupts.held`). After the loop a
        Ctrl-C waits until the run is left, so that what the command writes at its end is written whole."""
        from ..batch import in_order
        from ..interrupts import held

        try:
            for result in in_order(self.ctx, results, len(self.todo)):
                add(result)
                if self._line is not None:
                    self._line.advance()
        except KeyboardInterrupt:
            self.interrupted = True
        finally:
            self._stack.enter_context(held())
            close = getattr(results, "close", None)
            if close is not None:
                close()  # decoding workers and threads stop here, not whenever the generator is collected

    def write(self, record: dict[str, Any]) -> None:
        """A result to --out (process 0), as one whole line."""
        if self._writer is not None:
            self._writer.write(record)

    def finish(self, summary: str, *, failed: bool, quiet: bool, stopped: str) -> int:
        """The closing line on stderr (unless `quiet`) and the exit code; after a Ctrl-C, raises `Interrupted`
        with `stopped` (where the command stopped)."""
        if not quiet:
            if self.out is not None:
                summary += f"; {self.resumed} already in {self.out.path}" if self.resumed else ""
                summary += f"; written to {self.out.path}"
            console.info(summary)
        if self.interrupted:
            raise Interrupted(stopped)
        return 1 if failed else 0
