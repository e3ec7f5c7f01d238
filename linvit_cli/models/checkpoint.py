"""Reading and writing weights files safely.

Our own files are safetensors. Foreign checkpoints (the LViT authors' `.pyth`, VideoMamba's `.pth`) are
pickles and are only ever opened with `torch.load(weights_only=True)`, which refuses anything that is not
tensors and plain containers. Loads are strict: missing or unexpected keys are an error listing them.
"""

from __future__ import annotations

import os
import pickle
import zipfile
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import Tensor, nn

from ..errors import CheckpointError, first_line

StateDict = dict[str, Tensor]

# Containers that training scripts wrap a state dict in (SlowFast's `model_state`, DeiT's `model`, ...).
_CONTAINER_KEYS = ("model_state", "model", "module", "state_dict")


def _kind(path: Path) -> str:
    with path.open("rb") as fh:
        head = fh.read(16)
    if head[:2] == b"PK" or head[:1] == b"\x80":
        return "pickle"
    if len(head) >= 9 and head[8:9] == b"{":
        return "safetensors"
    return "unknown"


def read_state_dict(path: str | Path, *, safetensors_only: bool = False) -> StateDict:
    """Tensors of a safetensors file or a tensors-only pickle, unwrapped from a training container.

    `safetensors_only`: the file was declared safetensors (a registry entry's, an hf:// model's), so anything
    else is refused rather than unpickled.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"weights file not found: {path}")
    kind = _kind(path)
    if safetensors_only and kind != "safetensors":
        raise CheckpointError(f"{path}: declared safetensors but is not a safetensors file; refused")
    if kind == "safetensors":
        try:
            return load_file(path)
        except (SafetensorError, OSError, ValueError) as err:
            raise CheckpointError(f"{path}: corrupt safetensors file ({err})") from None
    if kind == "unknown":
        raise CheckpointError(f"{path}: expected a safetensors file or a PyTorch checkpoint, found neither")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        raise CheckpointError(f"{path}: refused, the pickle needs more than tensors ({first_line(err)})") from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError) as err:
        raise CheckpointError(f"{path}: corrupt PyTorch checkpoint ({err})") from None
    return _unwrap(obj, path)


def _unwrap(obj: object, path: Path) -> StateDict:
    while isinstance(obj, dict):
        if obj and all(isinstance(v, Tensor) for v in obj.values()):
            return dict(obj)
        inner = next((obj[k] for k in _CONTAINER_KEYS if isinstance(obj.get(k), dict)), None)
        if inner is None:
            break
        obj = inner
    found = f"a dict with keys {sorted(obj)[:6]}" if isinstance(obj, dict) else type(obj).__name__
    raise CheckpointError(f"{path}: expected a state dict of tensors, found {found}")


def load_state_dict_strict(model: nn.Module, state_dict: StateDict, source: str | Path) -> None:
    """Copy `state_dict` into `model`; any missing, unexpected or mis-shaped key is an error listing them."""
    own = model.state_dict()
    missing = sorted(set(own) - set(state_dict))
    unexpected = sorted(set(state_dict) - set(own))
    shapes = sorted(f"{k} {tuple(state_dict[k].shape)} != {tuple(own[k].shape)}"
                    for k in set(own) & set(state_dict) if state_dict[k].shape != own[k].shape)
    problems = [f"{label} ({len(keys)}): {', '.join(keys[:8])}{' ...' if len(keys) > 8 else ''}"
                for label, keys in (("missing keys", missing), ("unexpected keys", unexpected),
                                    ("wrong shapes", shapes)) if keys]
    if problems:
        raise CheckpointError(f"{source} does not fit the model: " + "; ".join(problems))
    model.load_state_dict(state_dict, strict=True)


def save_safetensors(state_dict: StateDict, path: str | Path, metadata: dict[str, str] | None = None) -> None:
    """Write contiguous CPU copies of the tensors (safetensors refuses shared or strided storage).

    safetensors creates its files readable by their owner only; the file gets the mode any other file written
    here gets (0644 under the usual umask), as the labels and registry entry beside it.
    """
    tensors = {k: v.detach().to("cpu").contiguous().clone() for k, v in state_dict.items()}
    save_file(tensors, str(path), metadata=metadata)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, 0o666 & ~umask)
