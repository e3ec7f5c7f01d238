"""`nn.Linear` whose large CPU products in inference run on whichever of oneDNN and PyTorch's BLAS is faster here.

PyTorch computes a float32 Linear on the CPU with its BLAS (MKL's sgemm in the official builds). oneDNN,
which PyTorch ships for its fused CPU kernels (`torch.ops.mkldnn._linear_pointwise`), computes the same
product within float32 rounding. Which of the two is faster depends on the CPU: on AMD CPUs with AVX-512,
MKL keeps to its AVX2 kernels while oneDNN uses AVX-512; on CPUs with AVX2 only, oneDNN's kernels are the
slower ones. So the first large product measures both (`linvit_cli.calibration`, cached per machine unless
the machine was busy) and the faster serves from then on; `LINVIT_MATMUL=onednn|blas` forces one. Products
under `MIN_MACS` multiply-adds keep F.linear (oneDNN's per-call set-up outweighs its speed there); so do
training (autograd), autocast, other dtypes and devices. Should the oneDNN call be missing or fail (another
PyTorch build), F.linear is used from then on.
"""

from __future__ import annotations

import os
import threading
import time

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ... import calibration
from ...errors import UsageError

MIN_MACS = 1 << 22
MATMUL_ENV = "LINVIT_MATMUL"
BACKENDS = ("onednn", "blas")
# (rows, in, out) of the products that dominate linvit's models: VideoMamba-S's input projection over a
# 16-frame view, and a slice of LViT-B's qkv projection.
CALIBRATION_SHAPES = ((3137, 384, 1536), (1024, 768, 2304))

_onednn = torch.backends.mkldnn.is_available() and hasattr(torch.ops.mkldnn, "_linear_pointwise")
_chosen: dict[tuple[str, int], tuple[str, str]] = {}
_lock = threading.Lock()


def matmul_backend() -> tuple[str, str]:
    """("onednn" or "blas", why) for large float32 products on this CPU at torch's thread count."""
    forced = os.environ.get(MATMUL_ENV, "").strip().lower()
    if forced not in ("", "auto", *BACKENDS):
        raise UsageError(f"{MATMUL_ENV}={forced!r} is not one of auto, {', '.join(BACKENDS)}")
    if not _onednn:
        return "blas", "this PyTorch has no oneDNN linear"
    if forced in BACKENDS:
        return forced, f"{MATMUL_ENV}={forced}"
    key = (forced, torch.get_num_threads())
    if key not in _chosen:
        with _lock:
            if key not in _chosen:
                result = calibration.measured("matmul", key[1], _race)
                why = (f"measured on this CPU at {key[1]} threads: oneDNN {result['onednn_gflops']:.0f}, BLAS "
                       f"{result['blas_gflops']:.0f} GFLOP/s")
                if "busy_share" in result:
                    why += (f", while other work held the CPUs ({result['busy_share']:.0%} of the time was "
                            "ours): not kept, measured again by the next run")
                _chosen[key] = (result["backend"], why)
    return _chosen[key]


def _race(rounds: int = 4) -> dict[str, float | str]:
    """Both backends on `CALIBRATION_SHAPES`, in turns; the best round of each counts.

    oneDNN must win by 5% to be chosen: PyTorch's own path is the one every other model takes.
    """
    best = dict.fromkeys(BACKENDS, 0.0)
    flops = 0.0
    with torch.inference_mode():
        for rows, inputs, outputs in CALIBRATION_SHAPES:
            operands = torch.randn(rows, inputs), torch.randn(outputs, inputs), torch.randn(outputs)
            products = {"onednn": lambda a=operands: torch.ops.mkldnn._linear_pointwise(*a, "none", [], ""),
                        "blas": lambda a=operands: F.linear(*a)}
            seconds = dict.fromkeys(BACKENDS, float("inf"))
            for _ in range(rounds + 1):  # the first round warms both up
                for name, product in products.items():
                    start = time.perf_counter()
                    product()
                    seconds[name] = min(seconds[name], time.perf_counter() - start)
            for name in BACKENDS:
                best[name] += seconds[name]
            flops += 2.0 * rows * inputs * outputs
    chosen = "onednn" if best["onednn"] < 0.95 * best["blas"] else "blas"
    return {"backend": chosen, "onednn_gflops": flops / best["onednn"] / 1e9, "blas_gflops": flops / best["blas"] / 1e9}


def uses_onednn(x: Tensor, weight: Tensor) -> bool:
    """Whether `linear(x, weight, ...)` goes through oneDNN."""
    return (_onednn and x.device.type == "cpu" and x.dtype == weight.dtype == torch.float32
            and not torch.is_autocast_enabled("cpu") and not (torch.is_grad_enabled() and
                                                               (x.requires_grad or weight.requires_grad))
            and x.numel() // x.shape[-1] * weight.shape[0] * weight.shape[1] >= MIN_MACS
            and matmul_backend()[0] == "onednn")


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """F.linear(x, weight, bias), through oneDNN where `uses_onednn` says so."""
    global _onednn
    if uses_onednn(x, weight):
        try:
            return torch.ops.mkldnn._linear_pointwise(x, weight, bias, "none", [], "")
        except RuntimeError:  # a build whose oneDNN lacks this path: the default BLAS from now on
            _onednn = False
    return F.linear(x, weight, bias)


class Linear(nn.Linear):
    """nn.Linear (same parameters, same state dict) computed by `linear`."""

    def forward(self, x: Tensor) -> Tensor:
        return linear(x, self.weight, self.bias)
