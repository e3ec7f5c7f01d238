"""The two Rich consoles: results on stdout, everything else (errors, warnings, progress) on stderr.

`soft_wrap=True` keeps a long error on one physical line, so scripts can read it with `head -1`.
"""

from __future__ import annotations

from rich.console import Console

stdout = Console(soft_wrap=True)
stderr = Console(stderr=True, soft_wrap=True)


def error(message: str) -> None:
    """One line, `Error: ...`, no markup interpretation of file names."""
    stderr.print(f"Error: {' '.join(message.split())}", markup=False, highlight=False, style="bold red")


def warning(message: str) -> None:
    stderr.print(f"Warning: {' '.join(message.split())}", markup=False, highlight=False, style="yellow")
