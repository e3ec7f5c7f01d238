"""Running a model: device and precision, CPU threads, and the fusion of a video's views."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import torch
from torch import Tensor

from .errors import bad_value
from .registry.schema import Combine

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def resolve_device(spec: str) -> torch.device:
    """`auto` (CUDA when present), `cpu`, `cuda` or `cuda:N`; a missing GPU is a usage error."""
    if spec == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(spec)
    except RuntimeError:
        raise bad_value("device", spec, "unknown device; use auto, cpu, cuda or cuda:N") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise bad_value("device", spec, "no CUDA device is available here; use cpu")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise bad_value("device", spec, f"only {torch.cuda.device_count()} CUDA device(s) here")
    elif device.type != "cpu":
        raise bad_value("device", spec, "unsupported device; use auto, cpu, cuda or cuda:N")
    return device


def cpu_half_precision() -> frozenset[str]:
    """The half-precision dtypes this CPU multiplies natively: bfloat16 with AVX512-BF16 or AMX, float16
    with AVX512-FP16 or AMX-FP16 (what oneDNN reports it can use).

    Without them torch's half-precision matrix products fall back to scalar code, far slower than float32
    (benchmarks/FINDINGS.md).
    """
    def check(probe: Callable[[], bool] | None) -> bool:
        try:
            return bool(probe and probe())
        except (RuntimeError, AttributeError):  # private probes: absent or failing on other builds
            return False

    cpu, mkldnn = torch.cpu, torch.ops.mkldnn
    native = set()
    if check(getattr(cpu, "_is_avx512_bf16_supported", None)) or check(getattr(cpu, "_is_amx_tile_supported", None)):
        native.add("bfloat16")
    if check(getattr(cpu, "_is_amx_fp16_supported", None)) or check(getattr(mkldnn, "_is_mkldnn_fp16_supported", None)):
        native.add("float16")
    return frozenset(native)


def resolve_autocast(dtype: str, device: torch.device, cpu_native: frozenset[str] | None = None,
                     ) -> torch.dtype | None:
    """The autocast precision for `dtype` (`--dtype`) on `device`; None runs plain float32.

    On a CPU a half precision is used only where the CPU multiplies it natively (`cpu_half_precision`,
    or `cpu_native` as given): elsewhere it would not be a faster float32 but a much slower one, so
    asking for it is a usage error that says so, never a silent substitution.
    """
    if dtype not in DTYPES:
        raise bad_value("dtype", dtype, f"unknown dtype; use {', '.join(DTYPES)}")
    if dtype == "float32":
        return None
    if device.type == "cpu":
        native = cpu_half_precision() if cpu_native is None else cpu_native
        if dtype not in native:
            needs = "AVX512-BF16 or AMX" if dtype == "bfloat16" else "AVX512-FP16 or AMX-FP16"
            raise bad_value("dtype", dtype, f"this CPU has no native {dtype} matrix instructions ({needs}), so "
                            f"{dtype} would run tens to hundreds of times slower than float32; use "
                            f"{' or '.join(['float32', *sorted(native)])}")
    if device.type == "cuda" and dtype == "bfloat16" and not torch.cuda.is_bf16_supported():
        raise bad_value("dtype", dtype, "this GPU does not support bfloat16; use float16")
    return DTYPES[dtype]


@contextmanager
def intra_op_threads(count: int | None) -> Iterator[None]:
    """Run torch's CPU operators on `count` threads inside the block (None: leave the setting alone)."""
    before = torch.get_num_threads()
    if count is not None:
        torch.set_num_threads(count)
    try:
        yield
    finally:
        if count is not None:
            torch.set_num_threads(before)


def combine_views(logits: Tensor, how: Combine) -> Tensor:
    """Class probabilities (K,) from per-view logits (V, K), fused as the model was evaluated.

    `logit_sum` (LViT's authors) ranks by the sum of logits; the probabilities shown are the softmax of
    their mean, which ranks the same. `softmax_mean` (VideoMamba) averages per-view probabilities.
    """
    if how == "logit_sum":
        return logits.mean(0).softmax(-1)
    return logits.softmax(-1).mean(0)
