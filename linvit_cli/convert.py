"""An authors' checkpoint (or any weights file a model loads) rewritten as linvit's safetensors file: the
conversion behind `linvit convert`."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from .models.architectures import create_model, load_weights
from .models.checkpoint import read_state_dict, save_safetensors
from .registry.load import Registry
from .registry.schema import ModelEntry
from .resolve import resolve_model


@dataclass(frozen=True)
class Converted:
    """What `convert_checkpoint` wrote: the file, its tensors and the model's parameters."""

    path: Path
    tensors: int
    parameters: int


def convert_checkpoint(src: str | Path, dst: str | Path, model: str | ModelEntry, *, registry: Registry | None = None,
                       adapt: bool = False) -> Converted:
    """Map `src`'s keys onto `model`'s architecture, load them strictly, and save the model's state as `dst`.

    `model` is the registry model the checkpoint belongs to (a name, or its entry); `adapt` interpolates a
    checkpoint made for another frame count or resolution. The file keeps the checkpoint's precision and records
    the model, architecture, config and source file in its metadata.
    """
    src, dst = Path(src), Path(dst)
    entry = model if isinstance(model, ModelEntry) else resolve_model(model, registry)
    kwargs = entry.build_kwargs()
    source = read_state_dict(src)
    # keep the checkpoint's precision: building in float32 first would round a float64 checkpoint
    dtype = next((v.dtype for v in source.values() if v.is_floating_point()), None)
    net = create_model(entry.arch, **kwargs).to(dtype=dtype)
    load_weights(net, entry.arch, source, src, adapt)
    state = net.state_dict()
    save_safetensors(state, dst, {"linvit.model": entry.name, "linvit.arch": entry.arch,
                                  "linvit.config": json.dumps(kwargs), "linvit.source": src.name})
    return Converted(dst, len(state), sum(p.numel() for p in net.parameters()))
