"""Shared layers: the Linear whose large CPU inference products go to the faster of oneDNN and BLAS here."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable

import pytest
import torch

from linvit_cli import calibration, machine
from linvit_cli.errors import UsageError
from linvit_cli.models.layers import Linear
from linvit_cli.models.layers.linear import MATMUL_ENV, MIN_MACS, matmul_backend, uses_onednn

needs_onednn = pytest.mark.skipif(not torch.backends.mkldnn.is_available(), reason="PyTorch built without oneDNN")


@needs_onednn
@pytest.mark.parametrize("backend", ["onednn", "blas"])
@pytest.mark.parametrize(("rows", "bias"), [(4096, True), (4096, False), (3, True)])
def test_linear_matches_float64_on_either_path(rows, bias, backend, monkeypatch):
    monkeypatch.setenv(MATMUL_ENV, backend)
    torch.manual_seed(rows)
    layer = Linear(512, 1536, bias=bias)
    x = torch.randn(2, max(rows // 2, 1), 512)
    with torch.inference_mode():
        assert uses_onednn(x, layer.weight) == (backend == "onednn" and x.numel() // 512 * 512 * 1536 >= MIN_MACS)
        y = layer(x)
        expected = torch.nn.functional.linear(x.double(), layer.weight.double(),
                                              None if layer.bias is None else layer.bias.double())
    assert y.shape == expected.shape and y.dtype == torch.float32
    assert ((y - expected).abs().max() / expected.abs().max()).item() < 1e-5


@needs_onednn
def test_training_autocast_and_small_products_keep_torchs_linear(monkeypatch):
    monkeypatch.setenv(MATMUL_ENV, "onednn")
    layer = Linear(512, 1536)
    x = torch.randn(4096, 512)
    assert not uses_onednn(x, layer.weight)  # autograd: the weight needs its gradient
    layer(x).sum().backward()
    assert layer.weight.grad is not None
    with torch.inference_mode():
        assert uses_onednn(x, layer.weight)
        assert not uses_onednn(x[:2], layer.weight)  # 2 x 512 x 1536 multiply-adds: below MIN_MACS
        with torch.autocast("cpu", dtype=torch.bfloat16):
            assert not uses_onednn(x, layer.weight)
        assert not uses_onednn(x.double(), layer.weight.double())
    assert isinstance(layer, torch.nn.Linear) and set(layer.state_dict()) == {"weight", "bias"}


@needs_onednn
def test_auto_measures_both_backends_once_per_machine_and_keeps_the_choice(monkeypatch):
    monkeypatch.delenv(MATMUL_ENV, raising=False)
    monkeypatch.setattr(calibration, "STEADY_SHARE", 0.0)  # kept even if the test machine is busy
    backend, why = matmul_backend()
    assert backend in ("onednn", "blas") and why.startswith("measured on this CPU")
    entries = json.loads(calibration.store_path().read_text())
    entry = entries[calibration.machine_key(torch.get_num_threads())]
    assert entry["matmul"]["backend"] == backend and entry["matmul"]["onednn_gflops"] > 0
    assert entry["machine"]["threads"] == torch.get_num_threads()
    # the stored choice serves later processes: no second measurement
    assert calibration.measured("matmul", torch.get_num_threads(), lambda: pytest.fail("measured again")) == \
        entry["matmul"]


def test_a_changed_instruction_set_limit_or_thread_count_is_another_machine(monkeypatch):
    key = calibration.machine_key(2)
    assert calibration.machine_key(1) != key
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX2")
    assert calibration.machine_key(2) != key


def test_a_measurement_on_a_busy_machine_serves_but_is_not_kept():
    """Threads that waited (here: slept) most of the race were not measuring this machine's speed."""
    def waited() -> dict[str, str]:
        time.sleep(0.05)
        return {"backend": "onednn"}

    first = calibration.measured("busy-trial", 1, waited)
    assert first["backend"] == "onednn" and first["busy_share"] < 0.2
    again = calibration.measured("busy-trial", 1, lambda: {"backend": "blas"} | _spin(0.05))
    assert again["backend"] == "blas"  # measured again, not read from the store


def test_a_measurement_beside_busy_threads_of_this_process_is_not_kept():
    """Other threads of the measuring process (classify's decoder reading ahead) take CPUs from the measurement
    as other processes do; the process's CPU time would count theirs as the measurement's. All of them here
    hash outside the GIL, as decoding and matrix products run."""
    done = threading.Event()
    busy = [threading.Thread(target=_hash_until, args=(done.is_set,)) for _ in range(2 * machine.available_cpus())]
    for thread in busy:
        thread.start()
    try:
        end = time.perf_counter() + 0.3
        result = calibration.measured("busy-thread-trial", 1,
                                      lambda: _hash_until(lambda: time.perf_counter() > end) or {"backend": "blas"})
    finally:
        done.set()
        for thread in busy:
            thread.join()
    assert result["busy_share"] < calibration.STEADY_SHARE
    assert "busy-thread-trial" not in json.dumps(calibration.read_json(calibration.store_path()))


def _hash_until(stop: Callable[[], bool]) -> None:
    """Keep one CPU busy, mostly outside the GIL (hashlib lets go of it for large inputs), until `stop()`."""
    block = bytes(8 << 20)
    while not stop():
        hashlib.sha256(block).digest()


def _spin(seconds: float) -> dict[str, str]:
    """Keep one CPU busy for `seconds`, as a measurement does."""
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass
    return {}


def test_a_damaged_store_is_measured_again_not_an_error(monkeypatch):
    monkeypatch.setattr(calibration, "STEADY_SHARE", 0.0)
    calibration.store_path().parent.mkdir(parents=True, exist_ok=True)
    calibration.store_path().write_text("{not json")
    assert calibration.measured("trial", 1, lambda: {"backend": "blas"}) == {"backend": "blas"}
    assert calibration.measured("trial", 1, lambda: pytest.fail("measured again")) == {"backend": "blas"}


def test_forcing_the_backend_and_a_bad_value(monkeypatch):
    monkeypatch.setenv(MATMUL_ENV, "blas")
    assert matmul_backend() == ("blas", "LINVIT_MATMUL=blas")
    monkeypatch.setenv(MATMUL_ENV, "mkl")
    with pytest.raises(UsageError, match="LINVIT_MATMUL='mkl' is not one of auto, onednn, blas"):
        matmul_backend()
