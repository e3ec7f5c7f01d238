"""Training checkpoints that resume exactly, and refuse to resume anything else.

A checkpoint holds the model, optimiser, schedule and gradient-scaler states, every process's RNG states
(Python, NumPy, torch, CUDA), and the position: epoch and optimiser steps done. Data order and augmentation
are functions of (seed, epoch, sample index), so the position is all the data pipeline needs. A
fingerprint of the model config, labels, dataset and recipe is stored beside; resuming with any of them
changed is refused with the fields that differ. Files are written to a temporary name and renamed, so a
crash never leaves half a checkpoint; they contain only tensors and plain containers and are read back
with `torch.load(weights_only=True)`.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import CheckpointError, UsageError
from ..models.checkpoint import StateDict

FORMAT = 2  # 2: the schedule's state is torch's SequentialLR/CosineAnnealingLR (1: LambdaLR)


def fingerprint(**parts: Any) -> dict[str, str]:
    """A canonical JSON string per part (model, labels, data, recipe): compared field by field on resume."""
    return {name: json.dumps(value, sort_keys=True, default=str) for name, value in parts.items()}


def check_fingerprint(saved: dict[str, str], current: dict[str, str], path: Path) -> None:
    """Refuse a checkpoint made for another model, labels, dataset or recipe, saying what differs."""
    differences = []
    for part in sorted(set(saved) | set(current)):
        old, new = saved.get(part), current.get(part)
        if old == new:
            continue
        old_d, new_d = json.loads(old or "null"), json.loads(new or "null")
        if isinstance(old_d, dict) and isinstance(new_d, dict):
            keys = sorted(k for k in set(old_d) | set(new_d) if old_d.get(k) != new_d.get(k))
            differences += [f"{part} {k}: {old_d.get(k)!r} in the checkpoint, {new_d.get(k)!r} now" for k in keys]
        else:
            differences.append(f"{part} differs")
    if differences:
        refused = (f"refusing to resume from {path}: it was made for another run ({'; '.join(differences[:4])}"
                   f"{'; ...' if len(differences) > 4 else ''}); use the same")
        raise UsageError(refused + " parameters or another out", cli=refused + " options or another --out")


def rng_state() -> dict[str, Any]:
    """This process's random states, as tensors and plain values only."""
    kind, key, pos, has_gauss, gauss = np.random.get_state()
    state = {
        "python": random.getstate(),
        "numpy": [kind, torch.from_numpy(key.astype(np.int64)), pos, has_gauss, gauss],
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    random.setstate(_tuples(state["python"]))
    kind, key, pos, has_gauss, gauss = state["numpy"]
    np.random.set_state((kind, key.numpy().astype(np.uint32), pos, has_gauss, gauss))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _tuples(value: Any) -> Any:
    """`random.setstate` wants the nested tuples back (a round trip may turn them into lists)."""
    return tuple(_tuples(v) for v in value) if isinstance(value, (list, tuple)) else value


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    """Write `state` atomically: a temporary file beside `path`, then a rename."""
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    torch.save({"format": FORMAT, **state}, tmp)
    os.replace(tmp, path)


def load_checkpoint(path: Path) -> dict[str, Any]:
    """A checkpoint written by `save_checkpoint`; anything else is a `CheckpointError`."""
    if not path.is_file():
        raise UsageError(f"checkpoint not found: {path}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # pickle, zip and torch errors all mean "not a checkpoint of ours"
        raise CheckpointError(f"{path}: not a readable training checkpoint ({type(err).__name__}: {err})") from None
    if not isinstance(state, dict) or "format" not in state or "fingerprint" not in state:
        raise CheckpointError(f"{path}: not a linvit training checkpoint (format {FORMAT})")
    if state["format"] != FORMAT:
        raise CheckpointError(f"{path}: a training checkpoint of format {state['format']}, written by another "
                              f"version of linvit; this one resumes format {FORMAT} only")
    return state


def state_digest(state_dict: StateDict) -> str:
    """sha256 over names, dtypes, shapes and bytes of a state dict: equal digests, equal weights."""
    digest = hashlib.sha256()
    for name in sorted(state_dict):
        tensor = state_dict[name].detach().to("cpu").contiguous()
        digest.update(f"{name}|{tensor.dtype}|{tuple(tensor.shape)}|".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()
