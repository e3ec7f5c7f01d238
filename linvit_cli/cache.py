"""linvit's own cache folder, and the small JSON stores kept in it (measured speed choices, parameter counts).

Everything here can be computed again, so a store that is absent, damaged or cannot be written is no error:
it is read as empty, and writing it is skipped.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

CACHE_ENV = "LINVIT_CACHE"


def cache_dir() -> Path:
    """`LINVIT_CACHE`, else `$XDG_CACHE_HOME/linvit`, else `~/.cache/linvit`."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "linvit"


def read_json(path: Path) -> dict[str, Any]:
    """The object stored at `path`, or {} where there is none or it cannot be read."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Store `data` whole or not at all (a temporary file renamed over the old one), whatever runs beside us."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}")
        temporary.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        temporary.replace(path)
    except OSError:
        pass
