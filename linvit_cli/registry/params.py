"""Parameter counts of registry models without building them, so that `linvit models` takes no longer than `--help`.

A count is computed once, on PyTorch's meta device (`models.params.count_parameters`), and kept under its model's
architecture and builder arguments: the packaged registry's models in `params.json` beside it (the tests check it
against fresh counts), others in the user's cache (`$XDG_CACHE_HOME/linvit/params.json`, else `~/.cache/...`).
Only a model counted nowhere yet costs the import of torch.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path

from .schema import ModelEntry

PACKAGED = Path(__file__).with_name("params.json")


def user_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "linvit" / "params.json"


def config_key(entry: ModelEntry) -> str:
    """What the count depends on: the architecture and every builder argument (the class count included)."""
    return json.dumps({"arch": entry.arch, **entry.build_kwargs()}, sort_keys=True)


def parameter_counts(entries: Iterable[ModelEntry]) -> dict[str, int]:
    """The parameter count of each entry, by name; counts not kept yet are computed and added to the user's cache."""
    entries = list(entries)
    known = {**_read(PACKAGED), **_read(user_cache())}
    missing = [entry for entry in entries if config_key(entry) not in known]
    if missing:
        fresh = count(missing)
        known.update(fresh)
        _write(user_cache(), {**_read(user_cache()), **fresh})
    return {entry.name: known[config_key(entry)] for entry in entries}


def count(entries: Iterable[ModelEntry]) -> dict[str, int]:
    """Counts by `config_key`, computed on the meta device (imports torch)."""
    from ..models.params import count_parameters

    return {config_key(entry): count_parameters(entry) for entry in entries}


def write_packaged() -> None:
    """Rewrite `params.json` from the packaged registry (after adding or changing a packaged model)."""
    from .load import PACKAGED_REGISTRY, read_registry_file

    entries, _ = read_registry_file(PACKAGED_REGISTRY)
    _write(PACKAGED, count(entries.values()))


def _read(path: Path) -> dict[str, int]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):  # absent or damaged: counted again
        return {}
    return {k: v for k, v in data.items() if isinstance(v, int)} if isinstance(data, dict) else {}


def _write(path: Path, counts: dict[str, int]) -> None:
    """Through a temporary file; a cache that cannot be written only means counting again next time."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(dict(sorted(counts.items())), indent=0) + "\n", encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        pass
