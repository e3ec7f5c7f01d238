"""`LINVIT_KERNELS`: which backend runs the kernels, and a forced backend that cannot run is an error."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from linvit_cli import kernels, load_model
from linvit_cli.errors import UsageError
from linvit_cli.kernels.numba import bimamba as numba_mixer
from linvit_cli.models.videomamba.bimamba import BidirectionalMamba


@pytest.fixture(autouse=True)
def _no_switch(monkeypatch):
    for var in (kernels.ENV_VAR, "LINVIT_JIT", "TRITON_INTERPRET"):
        monkeypatch.delenv(var, raising=False)


def test_auto_takes_numba_on_a_cpu_and_torch_is_the_plain_path(monkeypatch):
    assert kernels.choose("cpu") == ("numba", "auto: CPU, numba installed")
    monkeypatch.setenv(kernels.ENV_VAR, "torch")
    assert kernels.backend("cpu") == kernels.backend("cuda:0") == "torch"


def test_forced_torch_never_calls_the_numba_kernels(monkeypatch):
    mixer = BidirectionalMamba(32).eval()
    x = torch.randn(1, 9, 32)
    with torch.inference_mode():
        fused = mixer(x)
        monkeypatch.setenv(kernels.ENV_VAR, "torch")
        monkeypatch.setattr(numba_mixer, "forward", lambda *_: pytest.fail("the numba kernels ran"))
        plain = mixer(x)
    torch.testing.assert_close(plain, fused, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize(("value", "device", "message"), [
    ("numpy", "cpu", "LINVIT_KERNELS='numpy' is not one of auto, numba, torch, triton"),
    ("numba", "cuda", "LINVIT_KERNELS=numba runs on the CPU, but the model runs on cuda"),
    ("triton", "cpu", "LINVIT_KERNELS=triton needs a CUDA device, or TRITON_INTERPRET=1"),
    ("triton", "mps", "LINVIT_KERNELS=triton runs on CUDA, but the model runs on mps"),
])
def test_a_backend_that_cannot_run_there_is_a_usage_error(monkeypatch, value, device, message):
    monkeypatch.setenv(kernels.ENV_VAR, value)
    with pytest.raises(UsageError, match="^" + message.replace("(", r"\(")):
        kernels.choose(device)


def test_a_forced_backend_that_is_not_installed_says_how_to_install_it(monkeypatch):
    monkeypatch.setenv(kernels.ENV_VAR, "numba")
    monkeypatch.setitem(__import__("sys").modules, "numba", None)
    with pytest.raises(kernels.KernelsUnavailableError, match=r"numba is not installed \(pip install numba\)"):
        kernels.choose("cpu")


def test_the_retired_switch_still_means_the_plain_path(monkeypatch):
    monkeypatch.setenv("LINVIT_JIT", "0")
    with pytest.warns(kernels.KernelsUnavailableWarning, match="LINVIT_JIT=0 is retired; use LINVIT_KERNELS=torch"):
        kernels._warned.discard("LINVIT_JIT")
        assert kernels.backend("cpu") == "torch"


def test_the_cli_stops_on_a_bad_switch_before_any_work(monkeypatch, run_cli):
    monkeypatch.setenv(kernels.ENV_VAR, "fast")
    done = run_cli("classify", Path(__file__).parents[1] / "examples" / "clockwise.mp4", "--model", "lvit-demo")
    assert done.code == 2
    assert done.err == "Error: LINVIT_KERNELS='fast' is not one of auto, numba, torch, triton\n"


def test_load_model_checks_the_switch_for_its_device(monkeypatch):
    monkeypatch.setenv(kernels.ENV_VAR, "triton")
    with pytest.raises(UsageError, match="TRITON_INTERPRET=1"):
        load_model("lvit-demo")
