"""linvit: classify videos with linear-complexity video Transformers.

Public API (stable):
    load_model(name_or_config, weights=None, ...) -> torch.nn.Module in eval mode
    classify(path_or_paths, model=None, top_k=5, ...) -> list of records (as `linvit classify --json`)
    timeline(path_or_url, model=None, window=None, stride=None, ...) -> window records as they are done
    load_registry(extra_files=None) -> Registry of weights.toml entries
    train_model(TrainRequest(dataset=..., root=..., out=..., arch=... or model=..., ...)) -> TrainResult (as
        `linvit train`: a run folder with checkpoint, log, weights and weights.toml)

Attributes are imported on first use so that `linvit --help` starts without importing torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_LAZY = {
    "classify": ("linvit_cli.classifier", "classify"),
    "load_model": ("linvit_cli.loading", "load_model"),
    "load_registry": ("linvit_cli.registry.load", "load_registry"),
    "timeline": ("linvit_cli.timeline", "timeline"),
    "TrainRequest": ("linvit_cli.train.request", "TrainRequest"),
    "train_model": ("linvit_cli.train.job", "train_model"),
}

if TYPE_CHECKING:
    from .classifier import classify
    from .loading import load_model
    from .registry.load import load_registry
    from .timeline import timeline
    from .train.job import train_model
    from .train.request import TrainRequest

__all__ = ["TrainRequest", "__version__", "classify", "load_model", "load_registry", "timeline", "train_model"]


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'linvit_cli' has no attribute '{name}'")
    import importlib

    module, attr = _LAZY[name]
    value = getattr(importlib.import_module(module), attr)
    globals()[name] = value
    return value
