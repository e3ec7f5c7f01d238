"""The two Rich consoles: results on stdout, everything else (errors, warnings, progress) on stderr.

`soft_wrap=True` keeps a long error on one physical line, so scripts can read it with `head -1`.
"""

from __future__ import annotations

import time

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


# A video's views get their own progress line once they have taken this long: a quick video shows none.
VIEWS_AFTER_S = 2.0


class Progress:
    """Transient progress on stderr, on a terminal only: files done of all, and the views of a slow video.

    `file_done(name)` advances the files bar (shown when `files` > 1 and `show_files`); `views(done, total)`
    follows one video's forward passes and shows "views done/total" with an ETA once that video has run
    `VIEWS_AFTER_S`. Nothing is drawn when stderr is not a terminal, and the lines vanish when done.
    """

    def __init__(self, files: int, show_files: bool) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeRemainingColumn
        from rich.progress import Progress as Bars

        self._bars = Bars(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                          TimeRemainingColumn(), console=stderr, transient=True, disable=not stderr.is_terminal)
        self._files = self._bars.add_task("classifying", total=files, visible=show_files and files > 1)
        self._views = self._bars.add_task("views", total=1, visible=False)
        self._video_start = 0.0

    def __enter__(self) -> Progress:
        self._bars.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._bars.stop()

    def views(self, done: int, total: int) -> None:
        if done == 0:
            self._video_start = time.perf_counter()
            self._bars.reset(self._views, total=total, visible=False)
        shown = done < total and time.perf_counter() - self._video_start >= VIEWS_AFTER_S
        self._bars.update(self._views, completed=done, visible=shown, refresh=shown)  # drawn at once

    def file_done(self, name: str) -> None:
        self._bars.update(self._files, advance=1, description=name)
