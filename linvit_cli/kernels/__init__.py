"""Fast kernels for the models' non-matrix work, by backend, and the one switch that picks them.

`models/` computes every model in plain PyTorch, as the papers read; the kernels here compute the same
numbers faster where a backend can run them:

- `numba/`: loops compiled for the CPU (VideoMamba's mixer and its residual add + RMSNorm).
- `triton/`: GPU kernels for the same work (CUDA; on a CPU only through Triton's interpreter, for tests).

`LINVIT_KERNELS` chooses: `auto` (the default: numba on a CPU, Triton on CUDA, where each can be had),
`numba`, `triton`, or `torch` (the plain-PyTorch path everywhere). A forced backend that cannot run where
the model runs is an error, never a silent fallback; under `auto` a backend that cannot be had is said once
in a warning, and the plain path runs. Kernels cover inference only: training (autograd) and float64 keep the
plain path whatever the switch says.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import os
import warnings
from types import ModuleType

import torch
from torch import Tensor

from ..errors import LinvitError, UsageError, first_line

ENV_VAR = "LINVIT_KERNELS"
CHOICES = ("auto", "numba", "torch", "triton")
_RETIRED = "LINVIT_JIT"  # the earlier switch: LINVIT_JIT=0 is LINVIT_KERNELS=torch


class KernelsUnavailableWarning(RuntimeWarning):
    """`auto` found no kernels for this device; the slower plain-PyTorch path runs instead."""


class KernelsUnavailableError(LinvitError):
    """A forced kernel backend cannot be imported on this machine."""


def requested() -> str:
    """The value of `LINVIT_KERNELS` (default `auto`); a value outside `CHOICES` is a usage error."""
    value = os.environ.get(ENV_VAR, "").strip().lower()
    if not value:
        if os.environ.get(_RETIRED, "").strip() == "0":
            _warn_once(_RETIRED, f"{_RETIRED}=0 is retired; use {ENV_VAR}=torch (taken as that)")
            return "torch"
        return "auto"
    if value not in CHOICES:
        raise UsageError(f"{ENV_VAR}={value!r} is not one of {', '.join(CHOICES)}")
    return value


def backend(device: torch.device | str) -> str:
    """The backend ('numba', 'triton' or 'torch') whose kernels run inference on `device`."""
    return choose(device)[0]


def choose(device: torch.device | str) -> tuple[str, str]:
    """(backend, why) for `device`, as `linvit env` reports it; raises where a forced one cannot run."""
    kind = torch.device(device).type
    wanted = requested()
    if wanted == "torch":
        return "torch", f"{ENV_VAR}=torch"
    if wanted == "numba":
        if kind != "cpu":
            raise UsageError(f"{ENV_VAR}=numba runs on the CPU, but the model runs on {kind}")
        _require("numba", "pip install numba")
        return "numba", f"{ENV_VAR}=numba"
    if wanted == "triton":
        if kind == "cpu" and not triton_interpreted():
            raise UsageError(f"{ENV_VAR}=triton needs a CUDA device, or TRITON_INTERPRET=1 to run its kernels "
                             "on the CPU (slowly, for tests)")
        if kind not in ("cpu", "cuda"):
            raise UsageError(f"{ENV_VAR}=triton runs on CUDA, but the model runs on {kind}")
        _require("triton", "pip install triton")
        return "triton", f"{ENV_VAR}=triton"
    if kind == "cpu":
        if not _installed("numba"):
            _warn_once("numba", "the numba CPU kernels are unavailable (numba is not installed): running the "
                                "plain-PyTorch path, several times slower for VideoMamba (pip install numba)")
            return "torch", "auto: numba is not installed"
        return "numba", "auto: CPU, numba installed"
    if kind == "cuda":
        if not _installed("triton"):
            return "torch", "auto: CUDA, Triton is not installed"
        capability = torch.cuda.get_device_capability(device) if torch.cuda.is_available() else None
        if capability is not None and capability < _TRITON_CAPABILITY:
            return "torch", f"auto: CUDA capability {capability[0]}.{capability[1]}, below Triton's 7.0"
        return "triton", "auto: CUDA, Triton installed"
    return "torch", f"auto: no kernels for {kind}"


_TRITON_CAPABILITY = (7, 0)  # the oldest GPUs Triton compiles for (Volta), as torch's own Triton check says


def for_inference(*tensors: Tensor) -> bool:
    """Whether a kernel may compute with these inputs and weights: none float64, and no gradient needed."""
    wide = any(t.dtype == torch.float64 for t in tensors)
    return not wide and not (torch.is_grad_enabled() and any(t.requires_grad for t in tensors))


def triton_interpreted() -> bool:
    """Whether Triton runs its kernels through its CPU interpreter (`TRITON_INTERPRET=1`, or true/on/yes/y as
    Triton itself reads the variable)."""
    return os.environ.get("TRITON_INTERPRET", "").lower() in ("1", "true", "on", "yes", "y")


def load_module(backend: str, name: str, slower: str) -> ModuleType | None:
    """The kernel module `linvit_cli.kernels.<backend>.<name>`, or None under `auto` where it fails to import.

    Importing compiles (numba) or defines (Triton) the kernels; a forced backend whose kernels cannot be had
    stops with the reason, `auto` says it once and the caller takes the plain path (`slower` says the cost).
    """
    module, err = _import(f"{__name__}.{backend}.{name}")
    if err is None:
        return module
    reason = f"{type(err).__name__}: {first_line(err)}"
    if requested() == backend:
        raise KernelsUnavailableError(f"{ENV_VAR}={backend}, but the {backend} kernels do not compile here "
                                      f"({reason})")
    _warn_once(f"{backend}-compile", f"the {backend} kernels are unavailable ({reason}); running the "
                                     f"plain-PyTorch path, {slower}")
    return None


@functools.cache
def _import(module: str) -> tuple[ModuleType | None, Exception | None]:
    try:
        return importlib.import_module(module), None
    except Exception as err:  # ImportError, or a compiler's errors on a platform it cannot compile for
        return None, err


def _installed(module: str) -> bool:
    """Whether `module` can be imported, without importing it (numba alone takes half a second)."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a module set to None in sys.modules, or without a spec
        return False


def _require(module: str, install: str) -> None:
    if not _installed(module):
        raise KernelsUnavailableError(f"{ENV_VAR}={module}, but {module} is not installed ({install})")


_warned: set[str] = set()


def _warn_once(key: str, message: str) -> None:
    """One warning per cause and process, however many layers ask."""
    if key not in _warned:
        _warned.add(key)
        warnings.warn(message, KernelsUnavailableWarning, stacklevel=3)
