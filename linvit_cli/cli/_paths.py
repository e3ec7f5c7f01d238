"""Paths named on the command line, checked before any work is done.

A run that has decoded an hour of video must not then fail to write its page: every output path is checked up
front (its folder exists, or can be made, and can be written), and an input file an option names must exist.
These are usage errors (exit 2) that name the option, and cost no import of torch.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import BinaryIO

from ..errors import UsageError

_PATH_LIST_HEAD = 1 << 16  # bytes of standard input looked at for signs of a video instead of a list of paths


def check_output_file(path: Path, option: str) -> None:
    """A file the command will write: its folder must exist and be writable, and the path must not be a folder."""
    if path.is_dir():
        raise UsageError(f"{option} {path}: is a folder; give a file name")
    folder = path.parent
    if not folder.is_dir():
        what = "is not a folder" if folder.exists() else "does not exist"
        raise UsageError(f"{option} {path}: the folder {folder} {what}; create it first or choose another path")
    if not os.access(folder, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise UsageError(f"{option} {path}: cannot be written here (no permission); choose another path")


def check_output_folder(path: Path, option: str) -> None:
    """A folder the command will write into, making it (and its parents) if needed: it must be a folder, or be
    creatable, and writable."""
    if path.exists() and not path.is_dir():
        raise UsageError(f"{option} {path}: is a file, not a folder; choose another path")
    existing = next(p for p in (path, *path.absolute().parents) if p.exists())
    if not existing.is_dir():
        raise UsageError(f"{option} {path}: {existing} is a file, so the folder cannot be made; choose another path")
    if not os.access(existing, os.W_OK | os.X_OK):
        where = "" if existing == path else f" (in {existing})"
        raise UsageError(f"{option} {path}: cannot be written{where} (no permission); choose another path")


def check_input_file(path: Path | None, option: str) -> None:
    """A file an option names must exist (None: the option was not given)."""
    if path is None:
        return
    if not path.exists():
        raise UsageError(f"{option} {path}: no such file")
    if path.is_dir():
        raise UsageError(f"{option} {path}: is a folder, not a file")


def paths_from_stdin(stream: BinaryIO | None = None) -> list[str]:
    """The non-empty lines of standard input, as paths; a video piped in instead is a usage error that says where
    a video stream is read (text never holds a NUL byte, which every container format has in its first bytes)."""
    stream = stream or sys.stdin.buffer
    head = stream.read(_PATH_LIST_HEAD)
    if b"\0" in head:
        raise UsageError("standard input holds binary data (a video?), but `linvit classify -` reads paths from it, "
                         "one per line; to classify a video stream use `linvit timeline -`, or give the file's path")
    text = os.fsdecode(head + stream.read())  # paths as the file system spells them, undecodable bytes kept
    return [line.strip() for line in text.splitlines() if line.strip()]
