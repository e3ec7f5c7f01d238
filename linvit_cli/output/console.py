"""The two Rich consoles: results on stdout, everything else (errors, warnings, progress) on stderr.

`soft_wrap=True` keeps a long error on one physical line, so scripts can read it with `head -1`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

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
