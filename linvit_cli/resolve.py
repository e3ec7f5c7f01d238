"""The one place a model name becomes a registry entry: `hf://` names from the Hub, all others from the registry."""

from __future__ import annotations

from pathlib import Path

from .hub_repo import resolve_hub_model
from .names import is_hub_name
from .registry.load import Registry, load_registry
from .registry.schema import ModelEntry


def resolve_model(name: str | None, registry: Registry | None = None, *, offline: bool = False,
                  cache_dir: Path | None = None) -> ModelEntry:
    """The entry of `name` (None: the registry's default model).

    An `hf://owner/repo[@revision]` is read from the Hub and pinned to the commit its revision names now (each
    call asks the Hub again: callers resolve once and pass the entry on); `offline` and `cache_dir` say how it
    may reach the Hub. Any other name is looked up in `registry` (default: the packaged one plus
    LINVIT_REGISTRY).
    """
    if name is not None and is_hub_name(name):
        return resolve_hub_model(name, offline=offline, cache_dir=cache_dir)
    registry = registry or load_registry()
    return registry.get(name or registry.default)
