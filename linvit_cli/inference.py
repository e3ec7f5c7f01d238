"""Running a model over a video's test views: device and precision, chunked views, view fusion."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from .errors import UsageError
from .registry.schema import Combine

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def resolve_device(spec: str) -> torch.device:
    """`auto` (CUDA when present), `cpu`, `cuda` or `cuda:N`; a missing GPU is a usage error."""
    if spec == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(spec)
    except RuntimeError:
        raise UsageError(f"unknown device '{spec}'; use auto, cpu, cuda or cuda:N") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise UsageError(f"--device {spec}: no CUDA device is available here; use --device cpu")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise UsageError(f"--device {spec}: only {torch.cuda.device_count()} CUDA device(s) here")
    elif device.type != "cpu":
        raise UsageError(f"unsupported device '{spec}'; use auto, cpu, cuda or cuda:N")
    return device


def resolve_autocast(dtype: str, device: torch.device) -> torch.dtype | None:
    """The autocast precision for `--dtype` on `device`; None runs plain float32."""
    if dtype not in DTYPES:
        raise UsageError(f"unknown dtype '{dtype}'; use {', '.join(DTYPES)}")
    if dtype == "float32":
        return None
    if device.type == "cpu" and dtype == "float16":
        raise UsageError("--dtype float16 needs a GPU; on the CPU use --dtype bfloat16")
    if device.type == "cuda" and dtype == "bfloat16" and not torch.cuda.is_bf16_supported():
        raise UsageError("this GPU does not support bfloat16; use --dtype float16")
    return DTYPES[dtype]


@torch.inference_mode()
def predict_views(model: nn.Module, views: Tensor, *, device: torch.device, autocast: torch.dtype | None,
                  view_batch: int) -> Tensor:
    """Logits (V, K) in float32 on the CPU for views (V, 3, T, H, W), `view_batch` views at a time.

    Chunking bounds memory: a 4x3 test of a 16-frame clip would otherwise hold 12 clips of activations.
    """
    out = []
    for chunk in views.split(view_batch):
        chunk = chunk.to(device, non_blocking=True)
        with torch.autocast(device.type, dtype=autocast or torch.float32, enabled=autocast is not None):
            out.append(model(chunk).float().cpu())
    return torch.cat(out)


def combine_views(logits: Tensor, how: Combine) -> Tensor:
    """Class probabilities (K,) from per-view logits (V, K), fused as the model was evaluated.

    `logit_sum` (LViT's authors) ranks by the sum of logits; the probabilities shown are the softmax of
    their mean, which ranks the same. `softmax_mean` (VideoMamba) averages per-view probabilities.
    """
    if how == "logit_sum":
        return logits.mean(0).softmax(-1)
    return logits.softmax(-1).mean(0)
