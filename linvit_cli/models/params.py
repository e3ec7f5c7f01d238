"""Parameter counts of registry models, computed on the meta device (no memory, no init cost)."""

from __future__ import annotations

import torch

from ..registry.schema import ModelEntry
from .architectures import create_model


def count_parameters(entry: ModelEntry) -> int:
    with torch.device("meta"):
        model = create_model(entry.arch, **entry.build_kwargs())
    return sum(p.numel() for p in model.parameters())
