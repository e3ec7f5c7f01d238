"""Shared layers: the Linear that sends large CPU inference products to oneDNN."""

from __future__ import annotations

import pytest
import torch

from linvit_cli.models.layers import Linear
from linvit_cli.models.layers.linear import MIN_MACS, uses_onednn

needs_onednn = pytest.mark.skipif(not torch.backends.mkldnn.is_available(), reason="PyTorch built without oneDNN")


@needs_onednn
@pytest.mark.parametrize(("rows", "bias"), [(4096, True), (4096, False), (3, True)])
def test_linear_matches_float64_on_either_path(rows, bias):
    torch.manual_seed(rows)
    layer = Linear(512, 1536, bias=bias)
    x = torch.randn(2, max(rows // 2, 1), 512)
    with torch.inference_mode():
        assert uses_onednn(x, layer.weight) == (x.numel() // 512 * 512 * 1536 >= MIN_MACS)
        y = layer(x)
        expected = torch.nn.functional.linear(x.double(), layer.weight.double(),
                                              None if layer.bias is None else layer.bias.double())
    assert y.shape == expected.shape and y.dtype == torch.float32
    assert ((y - expected).abs().max() / expected.abs().max()).item() < 1e-5


@needs_onednn
def test_training_autocast_and_small_products_keep_torchs_linear():
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
