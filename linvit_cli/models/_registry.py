"""Architecture builders by name, and how each family reads foreign checkpoints.

A builder is a function returning an `nn.Module` from keyword arguments; weights.toml names it in `arch`.
Each family registers, next to its builders, a checkpoint filter `(state_dict, model, adapt) -> state_dict`
that maps its authors' key names onto ours (timm's `checkpoint_filter_fn` pattern).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from torch import Tensor, nn

from ..errors import UsageError

StateDict = dict[str, Tensor]
CheckpointFilter = Callable[[StateDict, nn.Module, bool], StateDict]


@dataclass(frozen=True)
class Architecture:
    name: str
    builder: Callable[..., nn.Module]
    checkpoint_filter: CheckpointFilter


_ARCHITECTURES: dict[str, Architecture] = {}


def register_model(checkpoint_filter: CheckpointFilter) -> Callable[[Callable[..., nn.Module]], Callable]:
    """Record a named builder; a name registered twice is a programming error."""

    def record(builder: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        name = builder.__name__
        if name in _ARCHITECTURES:
            raise ValueError(f"architecture '{name}' is registered twice")
        _ARCHITECTURES[name] = Architecture(name, builder, checkpoint_filter)
        return builder

    return record


def get_architecture(name: str) -> Architecture:
    _import_families()
    try:
        return _ARCHITECTURES[name]
    except KeyError:
        known = ", ".join(sorted(_ARCHITECTURES))
        raise UsageError(f"unknown architecture '{name}'; known architectures: {known}") from None


def create_model(name: str, **kwargs: Any) -> nn.Module:
    """Build architecture `name` at random initialisation."""
    arch = get_architecture(name)
    try:
        return arch.builder(**kwargs)
    except TypeError as err:  # an unknown keyword in a user's config
        raise UsageError(f"architecture '{name}' rejects its config: {err}") from None


def list_architectures() -> list[str]:
    _import_families()
    return sorted(_ARCHITECTURES)


def _import_families() -> None:
    """Importing a family registers its builders."""
    from . import lvit, videomamba  # noqa: F401
