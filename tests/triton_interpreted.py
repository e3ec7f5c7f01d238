"""The Triton kernels of VideoMamba's mixer and add + RMSNorm, run by Triton's interpreter on CPU tensors,
against the float64 plain path.

Triton reads `TRITON_INTERPRET` when it is imported (its own library is defined then), so these tests need
a process of their own that has it from the start: `test_triton.py` runs this file in one, and pytest does
not collect it otherwise (`TRITON_INTERPRET=1 pytest tests/triton_interpreted.py` runs it by hand). The
interpreter is slow, so the shapes are tiny, but they reach every edge: several segments of the scan with a
short last one, sequences shorter than a segment and than a convolution block, channels that are not a
multiple of the kernels' blocks, batches of several sequences.
"""

from __future__ import annotations

import pytest
import torch
from mixers import one_direction, perturbed_mixer, plain_float64, relative_error

from linvit_cli import kernels
from linvit_cli.kernels.triton import bimamba as triton_mixer
from linvit_cli.models.architectures import create_model
from linvit_cli.models.videomamba import add_norm

if not kernels.triton_interpreted():
    pytest.skip("needs TRITON_INTERPRET=1 from the start of the process (test_triton.py runs it so)",
                allow_module_level=True)

# a VideoMamba small enough for the interpreter: 2 frames of 2 x 2 patches (9 tokens), D = 48, 2 blocks
TINY = {"embed_dim": 24, "depth": 2, "num_frames": 2, "img_size": 32, "num_classes": 5}


@pytest.fixture(autouse=True)
def _triton_kernels(monkeypatch):
    monkeypatch.setenv(kernels.ENV_VAR, "triton")


@pytest.mark.parametrize(("length", "batch", "min_segment", "decay", "direction"), [
    (13, 2, 4, "weak", "both"),  # 4 segments (4, 4, 4, 1 tokens), long memory across them
    (13, 2, 4, "strong", "both"),
    (13, 2, 4, "weak", "forward"),
    (13, 2, 4, "weak", "backward"),
    (5, 3, 64, "weak", "both"),  # one segment, shorter than a convolution block
    (1, 1, 4, "weak", "both"),
])
def test_triton_mixer_matches_the_float64_plain_path(length, batch, min_segment, decay, direction, monkeypatch,
                                                     triton_launches):
    monkeypatch.setattr(triton_mixer, "_MIN_SEGMENT", min_segment)
    mixer = perturbed_mixer(20, decay)  # D = 40: a full block of 32 channels and a partial one
    if direction != "both":
        one_direction(mixer, direction)
    x = torch.randn(batch, length, 20)
    with torch.inference_mode():
        assert triton_mixer.applies(mixer, x)
        out = mixer(x)
    expected = plain_float64(mixer, x)
    assert out.dtype == torch.float32 and out.shape == expected.shape
    assert relative_error(out, expected) < 1e-4
    summaries = ["scan_summaries"] if length > min_segment else []
    assert triton_launches == ["causal_conv_silu", *summaries, "scan_outputs"]


@pytest.mark.parametrize(("dtype", "tolerance"), [(torch.bfloat16, 3e-2), (torch.float16, 4e-3)])
def test_triton_mixer_takes_half_precision_under_autocast(dtype, tolerance, monkeypatch):
    """bf16/fp16 in and out (the autocast precision of the projections), float32 inside."""
    monkeypatch.setattr(triton_mixer, "_MIN_SEGMENT", 4)
    mixer = perturbed_mixer(20, "weak")
    x = torch.randn(2, 13, 20)
    with torch.inference_mode(), torch.autocast("cpu", dtype=dtype):
        out = mixer(x)
    assert out.dtype == dtype
    assert relative_error(out, plain_float64(mixer, x)) < tolerance


def test_new_weights_are_used_under_autocast_though_their_narrow_copies_are_kept(monkeypatch):
    """The bf16 copies of the weights outlive a forward; a weight changed in place, or loaded, replaces its copy."""
    monkeypatch.setattr(triton_mixer, "_MIN_SEGMENT", 4)
    mixer, other = perturbed_mixer(20, "weak"), perturbed_mixer(20, "strong")
    x = torch.randn(1, 6, 20)
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
        before = mixer(x)
        assert torch.equal(mixer(x), before)  # the kept copies give what fresh ones gave
        mixer.load_state_dict(other.state_dict())
        loaded = mixer(x)
        with torch.no_grad():
            mixer.out_proj.weight.mul_(2)
        doubled = mixer(x)
    expected = plain_float64(other, x)
    assert relative_error(loaded, expected) < 3e-2 and relative_error(before, expected) > 0.1
    assert relative_error(doubled, 2 * expected) < 3e-2


@pytest.mark.parametrize("branch_dtype", [torch.float32, torch.bfloat16])
def test_triton_add_rms_norm_matches_torch(branch_dtype, triton_launches):
    torch.manual_seed(0)
    channels = 40  # not a power of two: the row's tail is masked
    norm = torch.nn.RMSNorm(channels, eps=1e-5).eval()
    with torch.no_grad():
        norm.weight.add_(torch.randn(channels))
    branch, residual = torch.randn(2, 7, channels).to(branch_dtype), torch.randn(2, 7, channels) * 3
    with torch.inference_mode():
        normed, total = add_norm.add_rms_norm(branch, residual, norm, torch.nn.Identity().eval())
        with torch.autocast("cpu", dtype=torch.bfloat16):
            normed_autocast, _ = add_norm.add_rms_norm(branch, residual, norm, torch.nn.Identity().eval())
    expected = norm.double()(residual.double() + branch.double())
    assert triton_launches == ["add_rms_norm", "add_rms_norm"]
    assert total.dtype == normed.dtype == torch.float32
    assert torch.equal(total, residual + branch.float())
    assert relative_error(normed, expected) < 1e-6
    assert normed_autocast.dtype == torch.bfloat16  # what the next projection would cast it to
    # within one bfloat16 unit: the interpreter truncates to bfloat16, where a GPU rounds to nearest
    torch.testing.assert_close(normed_autocast.float(), normed, rtol=2**-7, atol=0)


def test_a_whole_videomamba_forward_matches_the_plain_path(monkeypatch, triton_launches):
    monkeypatch.setattr(triton_mixer, "_MIN_SEGMENT", 4)  # 9 tokens: 3 segments
    torch.manual_seed(0)
    model = create_model("videomamba_tiny", **TINY).eval()
    x = torch.randn(2, 3, 2, 32, 32)
    with torch.inference_mode():
        logits = model(x)
    assert relative_error(logits, plain_float64(model, x)) < 1e-4
    per_block = ["causal_conv_silu", "scan_summaries", "scan_outputs"]
    # block 0 has no residual to add; every later block and the final norm add and normalise in one kernel
    assert triton_launches == per_block + ["add_rms_norm", *per_block, "add_rms_norm"]
