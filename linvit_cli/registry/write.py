"""Registry entries as weights.toml text, and the files of a model folder: what `linvit train` writes into its run
folder and `linvit push` into a Hub repository. What is written here is read back by `load.py`'s strict parser.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

from .schema import Protocol

WEIGHTS_FILE = "model.safetensors"
LABELS_FILE = "labels.txt"
REGISTRY_FILE = "weights.toml"


def toml_value(value: Any) -> str:
    """A TOML literal for the plain values entries hold (strings, numbers, booleans, lists, tables)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a valid TOML basic string
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"no TOML form for {type(value).__name__}")


def labels_text(labels: tuple[str, ...]) -> str:
    return "".join(f"{label}\n" for label in labels)


def entry_toml(comment: str, name: str, *, arch: str, dataset: str, config: Mapping[str, Any],
               labels: Mapping[str, Any], weights: Mapping[str, Any], protocol: Protocol,
               meta: Mapping[str, Any]) -> str:
    """One registry entry as weights.toml text (what `linvit train` and `linvit push` write)."""
    proto = {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(protocol).items() if v is not None}
    lines = [
        f"# {comment}",
        f"[models.{name}]",
        f"arch = {toml_value(arch)}",
        f"dataset = {toml_value(dataset)}",
        f"config = {toml_value(dict(config))}",
        f"labels = {toml_value(dict(labels))}",
        f"weights = {toml_value(dict(weights))}",
        f"protocol = {toml_value(proto)}",
        f"meta = {toml_value(dict(meta))}",
    ]
    return "\n".join(lines) + "\n"
