"""JSON lines in a file, one record per line as each is done: `--out` of classify and timeline, eval's parts.

A line is written whole and flushed at once, with Ctrl-C held back while it is written, so an interrupted
run leaves a file of whole lines; only a kill or a crash can leave the last line torn, and opening the
file to append cuts that line off (its input is done again).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

from ..errors import LinvitError
from ..interrupts import held


def repair(path: Path) -> None:
    """Cut off a torn last line (no newline after it: a write that a kill interrupted)."""
    if not path.is_file():
        return
    with path.open("r+b") as fh:
        size = fh.seek(0, os.SEEK_END)
        if size == 0:
            return
        fh.seek(size - 1)
        if fh.read(1) == b"\n":
            return
        keep = 0
        position = size
        while position > 0:  # back to the last newline, a block at a time
            step = min(1 << 16, position)
            position -= step
            fh.seek(position)
            found = fh.read(step).rfind(b"\n")
            if found >= 0:
                keep = position + found + 1
                break
        fh.truncate(keep)


def read_records(path: Path) -> Iterator[dict[str, Any]]:
    """The records of a JSON-lines file, one at a time; a torn last line (no newline) is left out, as `repair`
    would cut it, and any other line that is not JSON is an error."""
    with path.open("rb") as fh:
        for number, raw in enumerate(fh, 1):
            if not raw.endswith(b"\n"):
                return
            if not raw.strip():
                continue
            try:
                yield json.loads(raw)
            except json.JSONDecodeError:
                raise LinvitError(f"{path}: line {number} is not a JSON record; remove the file to start over",
                                  ) from None


class JsonLines:
    """Appends whole JSON lines to `path`, flushed as they come (a torn last line is cut off on opening)."""

    def __init__(self, path: Path) -> None:
        repair(path)
        self.path = path
        self._fh = path.open("ab")

    def write(self, record: dict[str, Any]) -> None:
        line = (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")
        with held():
            self._fh.write(line)
            self._fh.flush()

    def close(self) -> None:
        self._fh.close()

    def __enter__(self) -> JsonLines:
        return self

    def __exit__(self, kind: type[BaseException] | None, err: BaseException | None, tb: TracebackType | None) -> None:
        self.close()
