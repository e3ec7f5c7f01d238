"""Reading the LViT authors' state dicts (OpenNLPLab/Linear_VideoTransformer training checkpoints).

Their keys live under `base_model.` (the backbone) and `consensus.mlp_head.` (the head); `new_fc.*` is a
classifier their model creates but never calls, so it is dropped. Separate q/k gates become the two halves
of our single gate matrix.
"""

from __future__ import annotations

import logging
import re

import torch
from torch import Tensor, nn

from ..checkpoint import StateDict

log = logging.getLogger(__name__)


_RENAMES = (
    (r"^base_model\.temp_embed$", "temporal_embed"),
    (r"^base_model\.patch_embed\.", "patch_embed."),
    (r"^base_model\.norm\.", "norm."),
    (r"^base_model\.blocks\.(\d+)\.norm1\.", r"blocks.\1.spatial_norm."),
    (r"^base_model\.blocks\.(\d+)\.temporal_norm1\.", r"blocks.\1.temporal_norm."),
    (r"^base_model\.blocks\.(\d+)\.norm2\.", r"blocks.\1.mlp_norm."),
    (r"^base_model\.blocks\.(\d+)\.attn\.", r"blocks.\1.spatial_attn."),
    (r"^base_model\.blocks\.(\d+)\.temporal_attn\.", r"blocks.\1.temporal_attn."),
    (r"^base_model\.blocks\.(\d+)\.mlp\.dwconv\.dwconv\.", r"blocks.\1.mlp.dwconv."),
    (r"^base_model\.blocks\.(\d+)\.mlp\.", r"blocks.\1.mlp."),
    (r"^consensus\.mlp_head\.0\.", "head.norm."),
    (r"^consensus\.mlp_head\.1\.", "head.fc1."),
    (r"^consensus\.mlp_head\.4\.", "head.fc2."),
)
_UNUSED = re.compile(r"^new_fc\.")
_GATE = re.compile(r"^(.*)\.(q_gate|k_gate|pgate)\.(weight|bias)$")


def is_authors_format(state_dict: StateDict) -> bool:
    return any(k.startswith(("base_model.", "consensus.")) for k in state_dict)


def from_authors(state_dict: StateDict) -> StateDict:
    """Rename the authors' keys to ours; unknown keys pass through so the strict load can name them."""
    out: StateDict = {}
    gates: dict[tuple[str, str], dict[str, Tensor]] = {}
    dropped = []
    for key, value in state_dict.items():
        if _UNUSED.match(key):
            dropped.append(key)
            continue
        for pattern, repl in _RENAMES:
            key, hits = re.subn(pattern, repl, key)
            if hits:
                break
        gate = _GATE.match(key)
        if gate:
            prefix, which, param = gate.groups()
            gates.setdefault((prefix, param), {})[which] = value
            continue
        out[key] = value
    for (prefix, param), parts in gates.items():
        # shared gate: one matrix; separate gates: q rows then k rows
        stacked = [parts[name] for name in ("pgate", "q_gate", "k_gate") if name in parts]
        out[f"{prefix}.fixation.gate.{param}"] = torch.cat(stacked, dim=0)
    if dropped:
        log.info("dropped %d unused keys of the authors' checkpoint: %s", len(dropped), ", ".join(dropped))
    return out


def checkpoint_filter(state_dict: StateDict, model: nn.Module, adapt: bool = False) -> StateDict:
    """Our keys from an LViT state dict in either naming; LViT has no size-dependent tensors to adapt."""
    return from_authors(state_dict) if is_authors_format(state_dict) else dict(state_dict)
