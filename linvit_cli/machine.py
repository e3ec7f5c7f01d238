"""What this machine's CPU is, and which instruction sets the libraries may use on it.

Speed choices (the matrix-product backend, the numba kernels' vector lanes, the decoding workers) and `linvit env`
read these facts. An instruction set can be held lower than the CPU has, as `--isa` of the benchmarks does: ATen
(`ATEN_CPU_CAPABILITY`), oneDNN (`ONEDNN_MAX_CPU_ISA`), MKL (`MKL_ENABLE_INSTRUCTIONS`) and numba
(`NUMBA_CPU_FEATURES`) each have their own switch, and every choice made here sees the limit in effect.
"""

from __future__ import annotations

import functools
import os
import platform
import re
from dataclasses import dataclass, field
from pathlib import Path

from .errors import UsageError

# What `linvit env` lists, and the /proc/cpuinfo flags (x86) or features (ARM) that mean it.
INSTRUCTION_SETS = {
    "AVX2": ("avx2", "fma"),
    "AVX-512": ("avx512f", "avx512bw", "avx512vl"),
    "AVX512-BF16": ("avx512_bf16",),
    "AVX512-FP16": ("avx512_fp16",),
    "AMX": ("amx_tile",),
    "NEON": ("asimd",),
}
# The switches that hold each library to an instruction set, by `--isa` value.
_LIMITS = {
    "avx2": {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2", "MKL_ENABLE_INSTRUCTIONS": "AVX2"},
    "avx512": {"ATEN_CPU_CAPABILITY": "avx512", "ONEDNN_MAX_CPU_ISA": "AVX512_CORE_BF16",
               "MKL_ENABLE_INSTRUCTIONS": "AVX512"},
}
LIMIT_VARIABLES = ("ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA", "MKL_ENABLE_INSTRUCTIONS", "NUMBA_CPU_NAME",
                   "NUMBA_CPU_FEATURES")
_ABOVE = {"avx2": ("avx512", "amx", "avx10", "evex512"), "avx512": ("amx", "avx10")}  # LLVM features held off


@dataclass(frozen=True)
class Cpu:
    """The CPU as the operating system reports it."""

    name: str
    vendor: str = ""
    family: int | None = None
    model: int | None = None
    flags: frozenset[str] = field(default_factory=frozenset)

    @property
    def instruction_sets(self) -> tuple[str, ...]:
        """The entries of `INSTRUCTION_SETS` this CPU has (all their flags)."""
        return tuple(name for name, needs in INSTRUCTION_SETS.items() if all(f in self.flags for f in needs))

    def describe(self) -> str:
        """One line naming the CPU, as every benchmark figure must: name, family/model, instruction sets."""
        where = f", family {self.family} model {self.model}" if self.family is not None else ""
        return f"{self.name}{where} ({', '.join(self.instruction_sets) or 'no vector extensions known'})"


@functools.cache
def cpu() -> Cpu:
    """This machine's CPU, from /proc/cpuinfo where there is one (Linux), else from `platform`."""
    fields: dict[str, str] = {}
    info = Path("/proc/cpuinfo")
    if info.is_file():
        for line in info.read_text(errors="replace").splitlines():
            key, _, value = line.partition(":")
            if not key.strip():
                break  # the first processor's block is enough
            fields.setdefault(key.strip(), value.strip())
    flags = frozenset((fields.get("flags") or fields.get("Features") or "").split())
    return Cpu(name=fields.get("model name") or platform.processor() or platform.machine(),
               vendor=fields.get("vendor_id", ""), family=_int(fields.get("cpu family")),
               model=_int(fields.get("model")), flags=flags)


def _int(value: str | None) -> int | None:
    return int(value) if value is not None and value.isdigit() else None


def limits_in_effect() -> dict[str, str]:
    """The instruction-set switches set in this process's environment."""
    return {name: os.environ[name] for name in LIMIT_VARIABLES if os.environ.get(name)}


def held_to(isa: str) -> dict[str, str]:
    """Environment variables that hold ATen, oneDNN, MKL and numba to `isa` ("avx2" or "avx512").

    A child process started with them runs the code paths of a CPU without the higher instruction sets:
    not the same as such a CPU (caches, latencies and clock differ), but the same instructions.
    """
    if isa not in _LIMITS:
        raise UsageError(f"--isa {isa!r} is not one of {', '.join(_LIMITS)}")
    needs = {"avx2": "AVX2", "avx512": "AVX-512"}[isa]
    if needs not in cpu().instruction_sets:
        raise UsageError(f"--isa {isa}: this CPU has no {needs} ({cpu().describe()})")
    import llvmlite.binding as llvm

    features = ",".join(("-" if not on or name.startswith(_ABOVE[isa]) else "+") + name
                        for name, on in llvm.get_host_cpu_features().items())
    return {**_LIMITS[isa], "NUMBA_CPU_FEATURES": features}


def numba_vector_lanes() -> int:
    """float32 lanes of one vector register in the code numba compiles here (its target's features)."""
    from numba.core import config

    features = config.CPU_FEATURES
    if features is None:
        import llvmlite.binding as llvm

        features = llvm.get_host_cpu_features().flatten()
    enabled = set(re.findall(r"\+([\w.-]+)", features))
    if "avx512f" in enabled:
        return 16
    if "avx" in enabled:  # AVX and AVX2: 256-bit registers
        return 8
    return 4  # SSE, NEON and other 128-bit vector units


def available_cpus() -> int:
    """The CPUs this process may run on (its affinity, where the platform tells; else all)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def local_processes() -> int:
    """This job's processes on this machine (torchrun's LOCAL_WORLD_SIZE; 1 without torchrun): they share its CPUs."""
    return max(1, int(os.environ.get("LOCAL_WORLD_SIZE", "1")))


def decoding_workers(workers: int | None) -> int:
    """`workers`, or by default one decoding process per CPU of this process's share of the machine."""
    return workers if workers is not None else max(1, available_cpus() // local_processes())


DEFAULT_WORKERS = 4


def default_workers(workers: int | None) -> int:
    """Training's DataLoader workers: `workers`, or by default `DEFAULT_WORKERS` but no more than this process's
    share of the CPUs (PyTorch warns about DataLoader workers beyond that, and they only compete for the same
    cores)."""
    if workers is not None:
        return workers
    return max(1, min(DEFAULT_WORKERS, available_cpus() // local_processes()))
