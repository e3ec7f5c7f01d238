"""The LViT reference fixtures: input formula, authors' state dicts, expected logits."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import load_file


def reference_input(batch: int, frames: int, size: int = 224, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """x[b,c,t,h,w] = sin(0.05h + 0.031w(c+1) + 0.7t + 1.3b + 0.4c) * cos(0.017(h-w) + 0.2t)."""
    b, c, t, h, w = torch.meshgrid(
        *(torch.arange(n, dtype=torch.float64) for n in (batch, 3, frames, size, size)), indexing="ij"
    )
    x = torch.sin(0.05 * h + 0.031 * w * (c + 1) + 0.7 * t + 1.3 * b + 0.4 * c) * torch.cos(0.017 * (h - w) + 0.2 * t)
    return x.to(dtype)


def load_fixture(reference_dir: Path, name: str) -> tuple[dict, dict[str, torch.Tensor], torch.Tensor]:
    """(json metadata, authors' state dict, expected float64 logits)."""
    meta = json.loads((reference_dir / f"{name}.json").read_text())
    tensors = load_file(reference_dir / f"{name}.safetensors")
    state = {k.removeprefix("state."): v for k, v in tensors.items() if k.startswith("state.")}
    return meta, state, tensors["logits"]


def fixture_config(meta: dict) -> dict:
    """Our builder arguments for a fixture's configuration."""
    return {
        "arch": "lvit_b16",
        "num_classes": meta["num_classes"],
        "embed_dim": meta["embed_dim"],
        "depth": meta["depth"],
        "num_heads": meta["num_heads"],
        "head_hidden": meta["head_mlp"],
        "share_gate": meta["share_gate"],
        "temporal_shift_segments": meta["num_segments"],
        "temporal_shift_div": meta["shift_div"],
    }
