"""The numba mixer module compiled afresh from a given source, for the benchmarks that compare builds of it."""

from __future__ import annotations

import re
import types
from pathlib import Path

import linvit_cli.kernels.numba.mixer as installed


def installed_source() -> str:
    return Path(installed.__file__).read_text()


def build(source: str, label: str, lanes: int | None = None) -> types.ModuleType:
    """`source` (a version of kernels/numba/mixer.py) compiled as a module of its own: relative imports made
    absolute, numba's disk cache off, and `LANES = lanes` where given."""
    if lanes is not None:
        source = re.sub(r"^LANES = .*$", f"LANES = {lanes}", source, flags=re.M)
    source = re.sub(r"^from \.\.\.(\w)", r"from linvit_cli.\1", source, flags=re.M)
    source = re.sub(r"^from \.(\w)", r"from linvit_cli.kernels.numba.\1", source, flags=re.M)
    source = source.replace('"cache": True', '"cache": False')
    module = types.ModuleType(f"mixer ({label})")
    exec(compile(source, f"<mixer: {label}>", "exec"), module.__dict__)  # noqa: S102 - a mixer source to measure
    return module
