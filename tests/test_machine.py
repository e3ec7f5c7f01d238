"""What the machine is, instruction-set limits, and `linvit env`: the facts every speed choice reads."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from linvit_cli import machine
from linvit_cli.errors import UsageError

has_avx2 = pytest.mark.skipif("AVX2" not in machine.cpu().instruction_sets, reason="the CPU has no AVX2")


def test_instruction_sets_need_all_their_flags():
    assert machine.Cpu("x", flags=frozenset({"avx2", "fma", "avx512f"})).instruction_sets == ("AVX2",)
    assert machine.Cpu("x", flags=frozenset({"avx2"})).instruction_sets == ()  # AVX2 without FMA: not counted
    arm = machine.Cpu("Neoverse-V2", family=None, flags=frozenset({"fp", "asimd"}))
    assert arm.instruction_sets == ("NEON",) and arm.describe() == "Neoverse-V2 (NEON)"


def test_this_cpu_is_described_with_its_family_and_model():
    cpu = machine.cpu()
    assert cpu.name and cpu.name in cpu.describe()
    if cpu.family is not None:
        assert f"family {cpu.family} model {cpu.model}" in cpu.describe()


@has_avx2
def test_holding_to_avx2_sets_every_librarys_switch():
    limits = machine.held_to("avx2")
    assert {k: limits[k] for k in ("ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA", "MKL_ENABLE_INSTRUCTIONS")} == {
        "ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2", "MKL_ENABLE_INSTRUCTIONS": "AVX2"}
    features = limits["NUMBA_CPU_FEATURES"].split(",")
    assert "+avx2" in features and "+fma" in features and not any(f.startswith("+avx512") for f in features)


def test_an_instruction_set_the_cpu_lacks_or_does_not_exist_is_refused(monkeypatch):
    with pytest.raises(UsageError, match="--isa 'sse9' is not one of avx2, avx512"):
        machine.held_to("sse9")
    zen3 = machine.Cpu("Zen 3", family=25, model=1, flags=frozenset({"avx2", "fma"}))
    monkeypatch.setattr(machine, "cpu", lambda: zen3)
    with pytest.raises(UsageError, match=r"--isa avx512: this CPU has no AVX-512 \(Zen 3, family 25 model 1"):
        machine.held_to("avx512")


def test_env_reports_versions_cpu_choices_and_caches(run_cli):
    done = run_cli("env", "--json")
    assert done.code == 0, done.err
    report = json.loads(done.out)
    assert report["versions"]["linvit"] and report["versions"]["torch"] != "not installed"
    assert report["cpu"]["model"] == machine.cpu().name
    assert report["choices"]["kernel path (CPU)"].startswith(("numba (", "torch ("))
    assert report["choices"]["matrix products (CPU)"].startswith(("onednn (", "blas ("))
    assert report["caches"]["linvit (speed choices)"].endswith("calibration.json")
    text = run_cli("env")
    assert text.code == 0 and "- torch CPU capability: " in text.out


@has_avx2
def test_held_to_avx2_linvits_own_choices_see_the_limit_and_the_kernels_stay_exact(tmp_path):
    """A child held to AVX2: ATen, numba's lanes and `linvit env` follow, and the scan built for 32 lanes
    matches the plain path."""
    env = {**os.environ, **machine.held_to("avx2"), "NUMBA_CACHE_DIR": str(tmp_path / "numba")}
    done = subprocess.run([sys.executable, "-m", "linvit_cli", "env", "--json"], env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["cpu"]["torch CPU capability"] == "AVX2"
    assert report["choices"]["numba scan lanes"] == 32
    assert "ONEDNN_MAX_CPU_ISA=AVX2" in report["cpu"]["instruction-set limits"]
    check = """
import torch
from linvit_cli.kernels.numba import bimamba as numba_mixer, load
from linvit_cli.models.videomamba import bimamba
from linvit_cli.models.videomamba.selective_scan import selective_scan_reference
assert load("mixer").LANES == 32
torch.manual_seed(0)
mixer = bimamba.BidirectionalMamba(64).eval()
x = torch.randn(2, 37, 64)
with torch.inference_mode():
    assert numba_mixer.applies(mixer, x)
    fused = mixer(x)
    bimamba.selective_scan = selective_scan_reference
    expected = mixer.double()(x.double())
print(((fused.double() - expected).abs().max() / expected.abs().max()).item())
"""
    done = subprocess.run([sys.executable, "-c", check], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert float(done.stdout) < 1e-5
