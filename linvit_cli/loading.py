"""`load_model`: a registry name or an architecture config in, an eval-mode torch module out."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from . import kernels
from .errors import UsageError, WeightsUnavailableError
from .hub import fetch_weights
from .integrity import verify_sha256
from .models.architectures import create_model, get_architecture, load_weights
from .models.checkpoint import read_state_dict
from .registry.load import Registry
from .registry.schema import HubWeights, ModelEntry, PackagedWeights
from .resolve import resolve_model

ModelSpec = str | ModelEntry | Mapping[str, Any]


def resolve_entry(spec: ModelSpec, registry: Registry | None = None, *, offline: bool = False,
                  cache_dir: Path | None = None) -> tuple[str, dict[str, Any], ModelEntry | None]:
    """The architecture name, its keyword arguments and (for registry and hf:// models) the entry."""
    if isinstance(spec, str):
        spec = resolve_model(spec, registry, offline=offline, cache_dir=cache_dir)
    if isinstance(spec, ModelEntry):
        return spec.arch, spec.build_kwargs(), spec
    if isinstance(spec, Mapping):
        config = dict(spec)
        arch = config.pop("arch", None)
        if not isinstance(arch, str):
            raise UsageError("a model config needs an 'arch' key naming a registered architecture")
        return arch, config, None
    raise UsageError(f"expected a model name, a registry entry or a config mapping, not {type(spec).__name__}")


def weights_path(entry: ModelEntry, *, offline: bool = False, cache_dir: Path | None = None) -> Path:
    """Where the entry's weights are on disk, downloading pinned Hub files on first use."""
    weights = entry.weights
    if isinstance(weights, PackagedWeights):
        verify_sha256(weights.path, weights.sha256, f"weights of '{entry.name}' ({weights.path})")
        return weights.path
    if isinstance(weights, HubWeights):
        return fetch_weights(weights, name=entry.name, offline=offline, cache_dir=cache_dir)
    unpublished = f"model '{entry.name}' has no published weights (its authors released none); train them with " \
                  "`linvit train` or "
    raise WeightsUnavailableError(unpublished + "give a weights file (the weights parameter)",
                                  cli=unpublished + "pass --weights FILE")


def load_model(
    name_or_config: ModelSpec,
    weights: str | Path | None = None,
    *,
    registry: Registry | None = None,
    device: str | torch.device | None = None,
    dtype: torch.dtype | None = None,
    adapt: bool = False,
    offline: bool = False,
    cache_dir: Path | None = None,
) -> nn.Module:
    """Build a model and load its weights; returns it in `eval()` mode.

    Args:
        name_or_config: a registry name (`"lvit-k400"`), a Hub repository (`"hf://owner/repo[@revision]"`), a
            `ModelEntry`, or a mapping with `arch` and the builder's keyword arguments
            (`{"arch": "lvit_b16", "num_classes": 10, ...}`).
        weights: a weights file (our safetensors, or the authors' checkpoint). Without it a registry
            model uses its own weights and a bare config stays at random initialisation.
        device, dtype: where and in which precision the model lives.
        adapt: allow a checkpoint made for another frame count or resolution to be interpolated.
        offline: never touch the network; use cached Hub files only.
        cache_dir: the Hub cache (default: huggingface_hub's).
    """
    kernels.choose(device or "cpu")  # a LINVIT_KERNELS that cannot run there stops before any download
    arch_name, kwargs, entry = resolve_entry(name_or_config, registry, offline=offline, cache_dir=cache_dir)
    get_architecture(arch_name)  # an unknown architecture stops before any download
    path: Path | None = Path(weights) if weights is not None else None
    own = path is None and entry is not None  # the entry's weights: read as the format it declares
    if own:  # before building the model: a Hub out of reach is said at once
        path = weights_path(entry, offline=offline, cache_dir=cache_dir)
    model = create_model(arch_name, **kwargs).to(dtype=dtype)  # before loading: no rounding via float32
    if path is not None:
        safetensors_only = own and entry.weights.format == "safetensors"
        load_weights(model, arch_name, read_state_dict(path, safetensors_only=safetensors_only), path, adapt)
    return model.to(device=device, dtype=dtype).eval()
