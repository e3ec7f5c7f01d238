"""Shared fixtures: reference tensors, isolation of caches and registries, a CLI runner."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

# the authors' outputs that the models must reproduce (tests/reference/README.md); LINVIT_REFERENCE may point elsewhere
REFERENCE = Path(os.environ.get("LINVIT_REFERENCE", Path(__file__).resolve().parent / "reference"))


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    if not REFERENCE.is_dir():
        pytest.fail(f"reference tensors not found at {REFERENCE} (LINVIT_REFERENCE)")
    return REFERENCE


@pytest.fixture(scope="session")
def linvit_cache(tmp_path_factory) -> Path:
    """linvit's own cache (speed choices measured once per machine) for the whole session."""
    return tmp_path_factory.mktemp("linvit_cache")


@pytest.fixture(autouse=True)
def _isolated_state(tmp_path_factory, monkeypatch, linvit_cache):
    """No test reads the user's registry, Hub cache or linvit cache, or the network."""
    monkeypatch.setenv("LINVIT_CACHE", str(linvit_cache))
    home = tmp_path_factory.mktemp("hf_home")
    monkeypatch.setenv("HF_HOME", str(home))
    monkeypatch.setenv("HF_HUB_CACHE", str(home / "hub"))
    monkeypatch.delenv("LINVIT_REGISTRY", raising=False)
    monkeypatch.delenv("LINVIT_DEBUG", raising=False)


@pytest.fixture(scope="session")
def synth_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny synthetic motion dataset (48 train / 24 validation clips, 32 px, 8 frames) for training tests."""
    from linvit_cli.synth.dataset import generate

    root = tmp_path_factory.mktemp("synth")
    generate(root, splits={"train": 48, "validation": 24}, size=32, frames=8)
    return root


@pytest.fixture
def one_thread():
    """Training and eval tests run torch on one thread: steadier on a shared 2-core machine."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@dataclass
class CliResult:
    code: int
    out: str
    err: str


@pytest.fixture
def run_cli(capsys):
    """Run `linvit ARGS...` in-process through the real entry point; returns exit code, stdout, stderr."""
    from linvit_cli.cli.app import main

    def run(*args: str) -> CliResult:
        capsys.readouterr()
        try:
            main([str(a) for a in args])
            code = 0
        except SystemExit as done:
            code = done.code if isinstance(done.code, int) else 1
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run


@pytest.fixture
def triton_launches(monkeypatch) -> list[str]:
    """The names of the Triton kernels launched, in order (each launch still runs the kernel)."""
    from linvit_cli.kernels.triton import load

    names: list[str] = []

    class Spy:
        def __init__(self, kernel, name: str) -> None:
            self.kernel, self.name = kernel, name

        def __getitem__(self, grid):
            names.append(self.name)
            return self.kernel[grid]

    for module, kernel_names in (("mixer", ("causal_conv_silu", "scan_summaries", "scan_outputs")),
                                 ("norm", ("add_rms_norm",))):
        loaded = load(module)
        for name in kernel_names:
            monkeypatch.setattr(loaded, name, Spy(getattr(loaded, name), name))
    return names
