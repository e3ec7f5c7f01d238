"""The outputs that make a trained model usable: `model.safetensors`, `labels.txt` and a `weights.toml` entry.

`linvit classify --registry OUT/weights.toml --model NAME` (or `load_model(NAME, registry=...)`) then finds
the weights beside the entry; the file is read back through `read_registry_file`, so what we write is
checked by the same parser users' files go through. `entry_toml` also writes the `linvit.toml` of a Hub model
repository (`linvit push`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

from torch import Tensor

from ..errors import UsageError
from ..integrity import sha256_of
from ..models.checkpoint import save_safetensors
from ..registry.load import read_registry_file
from ..registry.schema import Protocol

WEIGHTS_FILE = "model.safetensors"
LABELS_FILE = "labels.txt"
REGISTRY_FILE = "weights.toml"
_NAME = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


def default_name(base: str, dataset: str, frames: int) -> str:
    """`{base}-{dataset}-f{frames}` in lowercase kebab-case (registry names' format)."""
    return "-".join(part for part in re.split(r"[^a-z0-9]+", f"{base}-{dataset}-f{frames}".lower()) if part)


def check_name(name: str) -> None:
    if not _NAME.match(name):
        raise UsageError(f"--name '{name}' is not a registry name: use lowercase kebab-case such as lvit-tiny-synth-f8")


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


def export(out: Path, *, name: str, arch: str, dataset: str, config: Mapping[str, Any], labels: tuple[str, ...],
           protocol: Protocol, state_dict: dict[str, Tensor], meta: Mapping[str, Any]) -> Path:
    """Write weights, labels and the registry entry into `out`; returns the weights.toml path."""
    weights = out / WEIGHTS_FILE
    save_safetensors(state_dict, weights, metadata={"name": name, "arch": arch, "config": json.dumps(dict(config)),
                                                    "labels": LABELS_FILE, "format": "linvit"})
    (out / LABELS_FILE).write_text(labels_text(labels), encoding="utf-8")
    registry = out / REGISTRY_FILE
    registry.write_text(entry_toml(
        f"Written by `linvit train`. Use with: linvit classify --registry {REGISTRY_FILE} --model {name} VIDEO",
        name, arch=arch, dataset=dataset, config=config, labels={"file": LABELS_FILE},
        weights={"path": WEIGHTS_FILE, "format": "safetensors", "sha256": sha256_of(weights)}, protocol=protocol,
        meta=meta), encoding="utf-8")
    read_registry_file(registry)  # what we wrote must parse as users' files do
    return registry


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
