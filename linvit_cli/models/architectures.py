"""Architectures by name: build one from its keyword arguments, load a checkpoint into it strictly."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from torch import nn

from ..errors import UsageError
from . import lvit, videomamba  # noqa: F401  importing a family registers its builders
from ._registry import ARCHITECTURES, Architecture
from .checkpoint import StateDict, load_state_dict_strict


def get_architecture(name: str) -> Architecture:
    try:
        return ARCHITECTURES[name]
    except KeyError:
        known = ", ".join(sorted(ARCHITECTURES))
        raise UsageError(f"unknown architecture '{name}'; known architectures: {known}") from None


def create_model(name: str, **kwargs: Any) -> nn.Module:
    """Build architecture `name` at random initialisation."""
    arch = get_architecture(name)
    try:
        return arch.builder(**kwargs)
    except TypeError as err:  # an unknown keyword in a user's config
        raise UsageError(f"architecture '{name}' rejects its config: {err}") from None


def load_weights(model: nn.Module, arch: str, weights: StateDict, source: str | Path, adapt: bool = False) -> None:
    """`weights` (read from `source`) mapped onto `model`, an `arch`, by its family's checkpoint filter and loaded
    strictly: any key missing, left over or of the wrong shape is an error naming it. `adapt` lets the filter
    interpolate weights made for another frame count or resolution."""
    load_state_dict_strict(model, get_architecture(arch).checkpoint_filter(weights, model, adapt), source)


def list_architectures() -> list[str]:
    return sorted(ARCHITECTURES)
