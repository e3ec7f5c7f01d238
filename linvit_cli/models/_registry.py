"""The table of architecture builders, which each family fills as it is imported (`register_model`).

A builder is a function returning an `nn.Module` from keyword arguments; weights.toml names it in `arch`.
Each family registers, next to its builders, a checkpoint filter `(state_dict, model, adapt) -> state_dict`
that maps its authors' key names onto ours (timm's `checkpoint_filter_fn` pattern). Lookups go through
`architectures.py`, which imports the families first.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from torch import nn

from .checkpoint import StateDict

CheckpointFilter = Callable[[StateDict, nn.Module, bool], StateDict]


@dataclass(frozen=True)
class Architecture:
    name: str
    builder: Callable[..., nn.Module]
    checkpoint_filter: CheckpointFilter


ARCHITECTURES: dict[str, Architecture] = {}


def register_model(checkpoint_filter: CheckpointFilter) -> Callable[[Callable[..., nn.Module]], Callable]:
    """Record a named builder; a name registered twice is a programming error."""

    def record(builder: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        name = builder.__name__
        if name in ARCHITECTURES:
            raise ValueError(f"architecture '{name}' is registered twice")
        ARCHITECTURES[name] = Architecture(name, builder, checkpoint_filter)
        return builder

    return record
