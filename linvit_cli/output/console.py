"""The two Rich consoles: results on stdout, everything else (errors, warnings, progress) on stderr.

`soft_wrap=True` keeps a long error on one physical line, so scripts can read it with `head -1`.
"""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console

from ..interrupts import held

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


def result(line: str) -> None:
    """One line of results on stdout, as is (no markup, no highlighting)."""
    stdout.print(line, markup=False, highlight=False)


def info(message: str) -> None:
    """What a command reports about its work (found, wrote, chose), on stderr: stdout keeps the results."""
    stderr.print(message, markup=False, highlight=False)


def json_line(record: dict[str, Any]) -> None:
    """One JSON line on stdout, flushed at once, and whole even when Ctrl-C comes while it is written."""
    text = json.dumps(record, ensure_ascii=False)
    with held():
        stdout.out(text, highlight=False)
        stdout.file.flush()


def json_document(document: dict[str, Any]) -> None:
    """One indented JSON document on stdout, written whole even when Ctrl-C comes meanwhile."""
    text = json.dumps(document, indent=2, ensure_ascii=False)
    with held():
        stdout.out(text, highlight=False)
        stdout.file.flush()
