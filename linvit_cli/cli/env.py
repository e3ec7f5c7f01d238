"""`linvit env`: what a bug report needs, as `hf env` prints it."""

from __future__ import annotations

import json
import os
import platform
import sys
from importlib import metadata
from typing import Any

from ..output import console
from ._options import JsonOpt
from .root import app

_PACKAGES = ("torch", "torchvision", "numba", "llvmlite", "triton", "av", "huggingface-hub", "safetensors", "typer",
             "rich", "numpy")


@app.command("env")
def env_command(as_json: JsonOpt = False) -> None:
    """Print linvit's environment for a bug report: versions, the CPU and its instruction sets, threads, the
    kernel path and matrix-product backend chosen here (and why), CUDA devices, the cache folders.

    The first run on a machine measures the matrix-product backend (under a second)."""
    report = collect()
    if as_json:
        console.stdout.print_json(json.dumps(report))
        return
    for section, values in report.items():
        console.result(f"{section}:")
        for key, value in values.items():
            shown = ", ".join(map(str, value)) if isinstance(value, list) else value
            console.result(f"- {key}: {shown}")


def collect() -> dict[str, dict[str, Any]]:
    """The report, section by section."""
    import torch

    from .. import __version__, allocator, calibration, kernels, machine
    from ..models.layers.linear import matmul_backend

    cpu = machine.cpu()
    versions = {"linvit": __version__, "python": sys.version.split()[0], "platform": platform.platform()}
    versions.update({name: _version(name) for name in _PACKAGES})
    versions["ffmpeg (PyAV's)"] = _ffmpeg()
    kernel, kernel_why = kernels.choose("cpu")
    matmul, matmul_why = matmul_backend()
    cpu_facts: dict[str, Any] = {
        "model": cpu.name, "vendor": cpu.vendor or "unknown",
        "family/model": f"{cpu.family}/{cpu.model}" if cpu.family is not None else "unknown",
        "instruction sets": list(cpu.instruction_sets) or ["none known"],
        "torch CPU capability": torch.backends.cpu.get_cpu_capability(),
        "instruction-set limits": [f"{k}={_short(v)}" for k, v in machine.limits_in_effect().items()] or ["none"],
        "torch threads": torch.get_num_threads(), "cores seen": os.cpu_count(),
    }
    choices: dict[str, Any] = {"kernel path (CPU)": f"{kernel} ({kernel_why})",
                               "matrix products (CPU)": f"{matmul} ({matmul_why})",
                               "memory allocator": allocator.in_effect()}
    if kernel == "numba":
        choices["numba scan lanes"] = 4 * machine.numba_vector_lanes()
    cuda: dict[str, Any] = {"available": torch.cuda.is_available(), "torch CUDA build": torch.version.cuda or "none"}
    if torch.cuda.is_available():
        choices["kernel path (CUDA)"] = "{} ({})".format(*kernels.choose("cuda"))
        cuda["devices"] = [f"{i}: {torch.cuda.get_device_name(i)} (capability "
                           f"{'.'.join(map(str, torch.cuda.get_device_capability(i)))}, "
                           f"{torch.cuda.get_device_properties(i).total_memory / 2**30:.0f} GiB)"
                           for i in range(torch.cuda.device_count())]
    from huggingface_hub import constants

    caches = {"linvit (speed choices)": str(calibration.store_path()), "Hugging Face Hub": constants.HF_HUB_CACHE,
              "numba": os.environ.get("NUMBA_CACHE_DIR") or "beside the kernel modules (__pycache__)",
              "offline": constants.HF_HUB_OFFLINE}
    return {"versions": versions, "cpu": cpu_facts, "choices": choices, "cuda": cuda, "caches": caches}


def _version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "not installed"


def _ffmpeg() -> str:
    try:
        import av
    except ImportError:
        return "PyAV not installed"
    return ", ".join(f"{lib} {'.'.join(map(str, v))}" for lib, v in av.library_versions.items()
                     if lib in ("libavcodec", "libavformat"))


def _short(value: str) -> str:
    """A limit's value, without the long feature list numba gets."""
    if len(value) < 60:
        return value
    return f"{value.count(',') + 1} features, AVX-512 {'off' if '-avx512f' in value else 'on'}"
