"""Parameter counts of registry models without building them, so that `linvit models` takes no longer than `--help`.

A count is computed once, on PyTorch's meta device (`models.params.count_parameters`), and kept under its model's
architecture and builder arguments: the packaged registry's models in `params.json` beside it (the tests check it
against fresh counts), others in linvit's cache folder (`linvit_cli.cache`).
Only a model counted nowhere yet costs the import of torch.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from ..cache import cache_dir, read_json, write_json
from .schema import ModelEntry

PACKAGED = Path(__file__).with_name("params.json")


def user_cache() -> Path:
    return cache_dir() / "params.json"


def config_key(entry: ModelEntry) -> str:
    """What the count depends on: the architecture and every builder argument (the class count included)."""
    return json.dumps({"arch": entry.arch, **entry.build_kwargs()}, sort_keys=True)


def parameter_counts(entries: Iterable[ModelEntry]) -> dict[str, int]:
    """The parameter count of each entry, by name; counts not kept yet are computed and added to the user's cache."""
    entries = list(entries)
    known = {**_counts(PACKAGED), **_counts(user_cache())}
    missing = [entry for entry in entries if config_key(entry) not in known]
    if missing:
        fresh = count(missing)
        known.update(fresh)
        write_json(user_cache(), {**_counts(user_cache()), **fresh})
    return {entry.name: known[config_key(entry)] for entry in entries}


def count(entries: Iterable[ModelEntry]) -> dict[str, int]:
    """Counts by `config_key`, computed on the meta device (imports torch)."""
    from ..models.params import count_parameters

    return {config_key(entry): count_parameters(entry) for entry in entries}


def write_packaged() -> None:
    """Rewrite `params.json` from the packaged registry (after adding or changing a packaged model)."""
    from .load import PACKAGED_REGISTRY, read_registry_file

    entries, _ = read_registry_file(PACKAGED_REGISTRY)
    write_json(PACKAGED, count(entries.values()))


def _counts(path: Path) -> dict[str, int]:
    """The counts stored at `path` (absent or damaged: none, counted again)."""
    return {k: v for k, v in read_json(path).items() if isinstance(v, int)}
