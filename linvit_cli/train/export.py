"""The outputs that make a trained model usable: `model.safetensors`, `labels.txt` and a `weights.toml` entry.

`linvit classify --registry OUT/weights.toml --model NAME` (or `load_model(NAME, registry=...)`) then finds
the weights beside the entry; the file is read back through `read_registry_file`, so what we write is
checked by the same parser users' files go through.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import bad_value
from ..integrity import sha256_of
from ..models.checkpoint import StateDict, save_safetensors
from ..names import MODEL_NAME
from ..registry.load import read_registry_file
from ..registry.schema import Protocol
from ..registry.write import LABELS_FILE, REGISTRY_FILE, WEIGHTS_FILE, entry_toml, labels_text


def default_name(base: str, dataset: str, frames: int) -> str:
    """`{base}-{dataset}-f{frames}` in lowercase kebab-case (registry names' format)."""
    return "-".join(part for part in re.split(r"[^a-z0-9]+", f"{base}-{dataset}-f{frames}".lower()) if part)


def check_name(name: str) -> None:
    if not MODEL_NAME.match(name):
        raise bad_value("name", name, "is not a registry name; use lowercase kebab-case such as lvit-tiny-synth-f8",
                        shown=repr(name))


def export(out: Path, *, name: str, arch: str, dataset: str, config: Mapping[str, Any], labels: tuple[str, ...],
           protocol: Protocol, state_dict: StateDict, meta: Mapping[str, Any]) -> Path:
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
