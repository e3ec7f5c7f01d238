"""LViT at long clips: inference runs temporal attention in bands of grid rows; the result is one pass's."""

from __future__ import annotations

import pytest
import torch

from linvit_cli.models.architectures import create_model
from linvit_cli.models.lvit.neighbourhood_association import SpatialShift

GRID = (5, 3)  # rows, columns: not square, so rows and columns cannot be mixed up unseen


@pytest.mark.parametrize("rows", [1, 2, 5])
def test_spatial_shift_of_a_band_equals_the_whole_grids(rows):
    """A band shifted with the unshifted rows around it equals the same rows of the whole grid's shift."""
    torch.manual_seed(0)
    height, width = GRID
    shift = SpatialShift(dim=16, fold_div=16)  # 8 shifted channels (one per neighbour) and 8 kept
    kv = torch.randn(2, height, width, 4, 2, 16, dtype=torch.float64)  # B H W T 2 C
    expected = shift(kv.clone().view(-1, 4, 2, 16), (4, height, width)).view_as(kv)
    for start in range(0, height, rows):
        band = kv[:, start : start + rows].clone()
        above = kv[:, start - 1 : start] if start > 0 else None
        below = kv[:, start + rows : start + rows + 1] if start + rows < height else None
        assert torch.equal(shift.band_(band, above, below), expected[:, start : start + rows])


def _block(association: bool, shared: bool, attention: str, dtype: torch.dtype) -> torch.nn.Module:
    """One LViT block (C = 32, 2 heads, a narrow MLP) with weights large enough that every branch moves the tokens."""
    torch.manual_seed(0)
    model = create_model("lvit_b16", embed_dim=32, depth=1, num_heads=2, mlp_ratio=1.0, head_hidden=16,
                         num_classes=3, neighbourhood_association=association, share_gate=shared,
                         attention=attention)
    block = model.blocks[0].to(dtype)
    with torch.no_grad():
        for p in block.parameters():
            p.normal_(0.0, 0.3)
    return block


@pytest.mark.parametrize(("dtype", "tolerance"), [(torch.float64, 1e-12), (torch.float32, 1e-6)])
@pytest.mark.parametrize(("association", "shared", "attention", "chunk_tokens"), [
    (True, False, "linear", 192), (True, False, "linear", 384), (True, False, "linear", 1 << 20),  # bands of 1 row,
    (True, True, "linear", 384), (False, False, "linear", 384), (False, True, "linear", 384),  # 2 (2 + 2 + 1), 5
    (True, False, "softmax", 384),
])
def test_long_clip_in_bands_equals_one_pass(association, shared, attention, chunk_tokens, dtype, tolerance):
    """64 frames: inference (temporal attention in bands of rows, in place) against training's one pass."""
    block = _block(association, shared, attention, dtype)
    block.temporal_attn.chunk_tokens = chunk_tokens  # 64 frames x 3 columns = 192 tokens per row
    height, width = GRID
    grid = (64, height, width)
    x = torch.randn(2, 64, height * width, 32, dtype=dtype)
    with torch.no_grad():
        one_pass = block.train()(x, grid) - x  # the three branches
    with torch.inference_mode():
        in_bands = block.eval()(x.clone(), grid) - x
    scale = one_pass.abs().max().item()
    assert scale > 1.0
    assert (in_bands - one_pass).abs().max().item() < tolerance * scale
