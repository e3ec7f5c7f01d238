"""Reading VideoMamba checkpoints: the authors' `.pth` state dicts and our own safetensors files.

The authors' classification files are bare state dicts with the key names of their `VisionMamba` and
`mamba_ssm` fork (docs/videomamba.md#checkpoint-keys): `cls_token`, `pos_embed`, `temporal_pos_embedding`,
`patch_embed.proj`, `layers.{i}.norm`, `layers.{i}.mixer.{in_proj, conv1d, x_proj, dt_proj, A_log, D, ..._b,
out_proj}`, `norm_f`, `head`. They are renamed onto our modules; our own names pass through unchanged, and so does
anything unknown, for the strict load to name. Position embeddings made for another frame count or
resolution are an error unless `adapt` asks for the authors' fine-tuning interpolation.
"""

from __future__ import annotations

import logging
import math
import re

import torch
import torch.nn.functional as F
from torch import nn

from ...errors import CheckpointError
from ..checkpoint import StateDict

log = logging.getLogger(__name__)


# Wrappers the authors' training code strips before loading (DDP's `module.`, pre-training's encoders).
_PREFIXES = ("module.", "backbone.", "encoder.")
_TOP_LEVEL = {
    "cls_token": "class_token",
    "pos_embed": "spatial_pos_embed",
    "temporal_pos_embedding": "temporal_pos_embed",
    "patch_embed.proj.weight": "patch_embed.weight",
    "patch_embed.proj.bias": "patch_embed.bias",
    "norm_f.weight": "norm.weight",
}
_LAYER = re.compile(r"^layers\.(\d+)\.(norm|mixer)\.(\w+)(\.weight|\.bias)?$")
_MIXER_PARTS = {
    "in_proj": "in_proj",
    "out_proj": "out_proj",
    "conv1d": "forward_ssm.conv",
    "x_proj": "forward_ssm.selection_proj",
    "dt_proj": "forward_ssm.delta_proj",
    "A_log": "forward_ssm.A_log",
    "D": "forward_ssm.D",
    "conv1d_b": "backward_ssm.conv",
    "x_proj_b": "backward_ssm.selection_proj",
    "dt_proj_b": "backward_ssm.delta_proj",
    "A_b_log": "backward_ssm.A_log",
    "D_b": "backward_ssm.D",
}


def _strip_prefixes(key: str) -> str:
    while key.startswith(_PREFIXES):
        key = key.split(".", 1)[1]
    return key


def _our_name(key: str) -> str:
    """Our key for one of the authors' keys; any other key is returned as it is."""
    if key in _TOP_LEVEL:
        return _TOP_LEVEL[key]
    layer = _LAYER.match(key)
    if layer is None:
        return key
    index, module, part, suffix = layer.groups()
    if module == "norm" and part == "weight" and suffix is None:
        return f"blocks.{index}.norm.weight"
    if module == "mixer" and part in _MIXER_PARTS:
        return f"blocks.{index}.mixer.{_MIXER_PARTS[part]}{suffix or ''}"
    return key


def to_our_names(state_dict: StateDict) -> StateDict:
    """Rename a state dict in the authors' naming, ours, or a mix, onto our modules."""
    out: StateDict = {}
    source: dict[str, str] = {}
    for key, value in state_dict.items():
        name = _our_name(_strip_prefixes(key))
        if name in out:
            raise CheckpointError(f"checkpoint keys '{source[name]}' and '{key}' both give '{name}'")
        out[name] = value
        source[name] = key
    return out


def checkpoint_filter(state_dict: StateDict, model: nn.Module, adapt: bool = False) -> StateDict:
    """Our state dict for `model` from a VideoMamba checkpoint in either naming.

    Raises CheckpointError for a file of another family, or one made for another frame count or
    resolution unless `adapt` (then the position embeddings are interpolated as the authors fine-tune).
    """
    state = to_our_names(state_dict)
    expected = model.state_dict()
    if not set(state) & set(expected):
        found = ", ".join(sorted(state_dict)[:4]) or "no keys"
        raise CheckpointError(
            "not a VideoMamba checkpoint: expected keys such as cls_token, pos_embed, "
            "layers.0.mixer.in_proj.weight (or linvit's class_token, blocks.0.mixer.in_proj.weight), "
            f"found {found}"
        )
    patch = expected["patch_embed.weight"].shape[-1]
    problems = [problem for problem in (_fit_frames(state, expected, adapt),
                                        _fit_grid(state, expected, patch, adapt)) if problem]
    if problems:
        raise CheckpointError("; ".join(problems) + "; pass --adapt (adapt=True) to interpolate the position "
                              "embeddings, or build the model to match the checkpoint")
    return state


def _fit_frames(state: StateDict, expected: StateDict, adapt: bool) -> str | None:
    """Interpolate `temporal_pos_embed` linearly along T when allowed; otherwise describe the mismatch."""
    ours, theirs = expected["temporal_pos_embed"], state.get("temporal_pos_embed")
    if theirs is None or theirs.ndim != 3 or theirs.shape[-1] != ours.shape[-1] or theirs.shape == ours.shape:
        return None  # absent or of another width: the strict load reports it
    frames, wanted = theirs.shape[1], ours.shape[1]
    if not adapt:
        return f"checkpoint has {frames} frames (temporal_pos_embedding), model expects {wanted}"
    line = theirs.float().transpose(1, 2)  # 1 C T
    line = F.interpolate(line, size=wanted, mode="linear", align_corners=False)
    state["temporal_pos_embed"] = line.transpose(1, 2).to(theirs.dtype)  # 1 T C
    log.info("interpolated the temporal position embedding from %d to %d frames", frames, wanted)
    return None


def _fit_grid(state: StateDict, expected: StateDict, patch: int, adapt: bool) -> str | None:
    """Interpolate the spatial `pos_embed` bicubically on its 2-D grid when allowed (class slot kept)."""
    ours, theirs = expected["spatial_pos_embed"], state.get("spatial_pos_embed")
    if theirs is None or theirs.ndim != 3 or theirs.shape[-1] != ours.shape[-1] or theirs.shape == ours.shape:
        return None
    side, wanted = math.isqrt(theirs.shape[1] - 1), math.isqrt(ours.shape[1] - 1)
    if side * side != theirs.shape[1] - 1:
        raise CheckpointError(f"pos_embed has {theirs.shape[1] - 1} patch slots after the class slot, "
                              "not a square grid")
    if not adapt:
        return (f"checkpoint is for {side * patch} px frames ({side}x{side} patches, pos_embed), "
                f"model expects {wanted * patch} px ({wanted}x{wanted})")
    channels = theirs.shape[-1]
    grid = theirs[:, 1:].float().reshape(1, side, side, channels).permute(0, 3, 1, 2)  # 1 C H W
    grid = F.interpolate(grid, size=(wanted, wanted), mode="bicubic", align_corners=False)
    grid = grid.permute(0, 2, 3, 1).reshape(1, wanted * wanted, channels).to(theirs.dtype)  # 1 N C
    state["spatial_pos_embed"] = torch.cat([theirs[:, :1], grid], dim=1)  # class slot, then cells
    log.info("interpolated the spatial position embedding from %dx%d to %dx%d patches",
             side, side, wanted, wanted)
    return None
