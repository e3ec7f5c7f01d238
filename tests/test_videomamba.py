"""VideoMamba against its authors' code: logits and per-layer intermediates, both scan directions, the
chunked scan against the step-by-step one, full-size key sets and parameter counts, bad input."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mixers import perturbed_mixer
from safetensors.torch import load_file
from videos import make_video

from linvit_cli import classify, load_model
from linvit_cli.errors import CheckpointError
from linvit_cli.kernels.numba import bimamba as numba_mixer
from linvit_cli.kernels.numba import load
from linvit_cli.kernels.triton import bimamba as triton_mixer
from linvit_cli.models.architectures import create_model
from linvit_cli.models.checkpoint import save_safetensors
from linvit_cli.models.videomamba import add_norm, bimamba
from linvit_cli.models.videomamba.bimamba import BidirectionalMamba
from linvit_cli.models.videomamba.causal_conv import causal_depthwise_conv
from linvit_cli.models.videomamba.convert import checkpoint_filter
from linvit_cli.models.videomamba.selective_scan import selective_scan, selective_scan_reference
from linvit_cli.models.videomamba.softplus import softplus
from linvit_cli.registry.load import load_registry

# The reference model: width 64, depth 4, 4 frames of 64 px, d_state 16, dt_rank 4, 10 classes.
CONFIG = {"arch": "videomamba_tiny", "embed_dim": 64, "depth": 4, "num_frames": 4, "img_size": 64,
          "num_classes": 10}


@pytest.fixture(scope="module")
def reference(reference_dir) -> dict[str, torch.Tensor]:
    return load_file(reference_dir / "videomamba_tiny.safetensors")


@pytest.fixture(scope="module")
def authors_state(reference) -> dict[str, torch.Tensor]:
    return {k.removeprefix("state."): v for k, v in reference.items() if k.startswith("state.")}


@pytest.fixture(scope="module")
def checkpoint(authors_state, tmp_path_factory):
    """The reference weights as the authors publish theirs: a bare state dict in a `.pth`."""
    path = tmp_path_factory.mktemp("ckpt") / "videomamba_ref.pth"
    torch.save(authors_state, path)
    return path


@pytest.fixture(scope="module")
def model64(checkpoint):
    return load_model(CONFIG, weights=checkpoint, dtype=torch.float64)


def max_diff(a: torch.Tensor, b: torch.Tensor) -> float:
    return (a.double() - b.double()).abs().max().item()


# --- the authors' numbers --------------------------------------------------------------------------------


def test_float64_logits_features_and_all_tokens_match(model64, reference):
    x = reference["input"].double()
    with torch.inference_mode():
        tokens = model64.forward_tokens(x)
        logits = model64(x)
    assert logits.dtype == torch.float64
    assert max_diff(logits, reference["logits"]) < 1e-10
    assert max_diff(tokens[:, 0], reference["features"]) < 1e-10
    assert max_diff(tokens, reference["features_all_tokens"]) < 1e-10


def test_float32_logits_and_tokens_match(checkpoint, reference):
    model = load_model(CONFIG, weights=checkpoint)
    with torch.inference_mode():
        tokens = model.forward_tokens(reference["input"])
        logits = model.forward_head(tokens[:, 0])
    assert logits.dtype == torch.float32
    assert max_diff(logits, reference["logits"]) < 1e-5
    assert max_diff(tokens, reference["features_all_tokens"]) < 1e-4


def test_float64_intermediates_match_layer_by_layer(model64, reference):
    """Embedded tokens, then per block its residual, both scan directions and its output, in that order."""
    captured: dict[str, torch.Tensor] = {}
    handles = [model64.blocks[0].register_forward_pre_hook(
        lambda _m, args: captured.__setitem__("tokens_embedded", args[0]))]
    for i, block in enumerate(model64.blocks):
        def keep_outputs(_m, _args, out, i=i):
            captured[f"layers.{i}.hidden_out"], captured[f"layers.{i}.residual_out"] = out

        def keep_branches(mixer, args, i=i):
            y_fwd, y_bwd = mixer.branches(args[0])
            captured[f"layers.{i}.mixer.y_fwd"] = y_fwd.transpose(1, 2)  # the authors keep (B, D, L)
            captured[f"layers.{i}.mixer.y_bwd"] = y_bwd.transpose(1, 2)

        handles += [block.register_forward_hook(keep_outputs),
                    block.mixer.register_forward_pre_hook(keep_branches)]
    try:
        with torch.inference_mode():
            model64(reference["input"].double())
    finally:
        for handle in handles:
            handle.remove()
    order = ["tokens_embedded"] + [f"layers.{i}.{part}" for i in range(len(model64.blocks))
                                   for part in ("residual_out", "mixer.y_fwd", "mixer.y_bwd", "hidden_out")]
    assert sorted(order) == sorted(k.removeprefix("debug.") for k in reference if k.startswith("debug."))
    for name in order:
        assert max_diff(captured[name], reference[f"debug.{name}"]) < 1e-10, f"first mismatch at {name}"


# --- both directions, summed -----------------------------------------------------------------------------


def test_dropping_the_backward_scan_moves_the_logits_far_beyond_tolerance(model64, reference, monkeypatch):
    """What the authors' slow path and a non-strict load into upstream mamba_ssm silently do."""
    x = reference["input"].double()
    for block in model64.blocks:
        mixer = block.mixer

        def forward_only(hidden, mixer=mixer):
            y_fwd, y_bwd = mixer.branches(hidden)
            return mixer.out_proj(y_fwd)

        monkeypatch.setattr(mixer, "forward", forward_only)
    with torch.inference_mode():
        assert max_diff(model64(x), reference["logits"]) > 1e-3


def test_the_two_directions_are_summed_not_averaged(model64, reference, monkeypatch):
    x = reference["input"].double()
    mixer = model64.blocks[0].mixer
    hidden = model64.blocks[0].norm(reference["debug.tokens_embedded"].double())
    with torch.inference_mode():
        y_fwd, y_bwd = mixer.branches(hidden)
        # the authors' layer output is out_proj of the sum of their branch outputs, not of the mean ...
        ref_fwd, ref_bwd = (reference[f"debug.layers.0.mixer.{k}"].double().transpose(1, 2)  # B L D
                            for k in ("y_fwd", "y_bwd"))
        expected = reference["debug.layers.0.hidden_out"]
        assert max_diff(mixer.out_proj(ref_fwd + ref_bwd), expected) < 1e-10
        assert max_diff(mixer.out_proj((ref_fwd + ref_bwd) / 2), expected) > 1e-3
        # ... and ours gives both branches and that output
        assert max_diff(y_fwd, ref_fwd) < 1e-10 and max_diff(y_bwd, ref_bwd) < 1e-10
        assert max_diff(mixer(hidden), expected) < 1e-10
        for block in model64.blocks:  # an averaging mixer is caught by the logits test
            m = block.mixer
            monkeypatch.setattr(m, "forward", lambda h, m=m: m.out_proj(sum(m.branches(h)) / 2))
        assert max_diff(model64(x), reference["logits"]) > 1e-3


def test_every_parameter_gets_a_gradient():
    """A dropped branch or an unused layer leaves parameters without gradient."""
    torch.manual_seed(0)
    model = create_model("videomamba_tiny", embed_dim=32, depth=2, num_frames=2, img_size=32, num_classes=5,
                         drop_path_rate=0.0).train()
    tokens = model.forward_tokens(torch.randn(2, 3, 2, 32, 32))
    # all tokens, not only the class token: at position 0 it is the first step of the last forward scan,
    # which no decay has touched yet
    (model.forward_head(tokens[:, 0]).square().sum() + tokens.square().mean()).backward()
    missing = [name for name, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert not missing
    assert any("backward_ssm" in name for name, _ in model.named_parameters())


# --- the chunked scan against the step-by-step scan ------------------------------------------------------


def scan_inputs(length: int, decay: str, dtype: torch.dtype, batch: int = 2, channels: int = 12,
                state: int = 16) -> tuple[torch.Tensor, ...]:
    """Random scan inputs; strong decay forgets within a few tokens, weak decay remembers the sequence."""
    g = torch.Generator().manual_seed(length)
    u = torch.randn(batch, length, channels, generator=g, dtype=torch.float64)
    if decay == "strong":  # delta*A down to about -100 per step: any exp(+cumsum) would overflow
        delta = F.softplus(torch.randn(batch, length, channels, generator=g, dtype=torch.float64) + 1)
        A = -torch.exp(torch.empty(batch, channels, state, dtype=torch.float64).uniform_(1, 4, generator=g))
    else:
        delta = F.softplus(torch.randn(batch, length, channels, generator=g, dtype=torch.float64) - 5)
        A = -torch.exp(torch.empty(channels, state, dtype=torch.float64).uniform_(-6, -2, generator=g))
    B, C = (torch.randn(batch, length, state, generator=g, dtype=torch.float64) for _ in range(2))
    return tuple(t.to(dtype) for t in (u, delta, A, B, C))


BLOCKINGS = [(None, None), (16, 1), (16, 8), (7, 3), (64, 100)]  # CPU default, GPU-style blocks, odd sizes


@pytest.mark.parametrize(("dtype", "tolerance"), [(torch.float64, 1e-12), (torch.float32, 1e-5)])
@pytest.mark.parametrize("decay", ["strong", "weak"])
@pytest.mark.parametrize("length", [1, 33, 255, 3137])
def test_chunked_scan_matches_the_step_by_step_scan(length, decay, dtype, tolerance):
    inputs = scan_inputs(length, decay, dtype)
    expected = selective_scan_reference(*inputs)
    scale = expected.abs().max()
    for chunk, per_block in BLOCKINGS:
        y = selective_scan(*inputs, chunk_size=chunk, chunks_per_block=per_block)
        assert y.dtype == dtype and y.shape == expected.shape
        assert ((y - expected).abs().max() / scale).item() < tolerance, (chunk, per_block)


@pytest.mark.parametrize(("chunk", "per_block"), [(8, 1), (8, 4)])
def test_chunked_scan_gradients_match_the_step_by_step_scan(chunk, per_block):
    inputs = [t.requires_grad_() for t in scan_inputs(45, "weak", torch.float64)]
    weights = torch.randn(2, 45, 12, dtype=torch.float64)
    fast = torch.autograd.grad((selective_scan(*inputs, chunk_size=chunk, chunks_per_block=per_block)
                                * weights).sum(), inputs)
    slow = torch.autograd.grad((selective_scan_reference(*inputs) * weights).sum(), inputs)
    for a, b in zip(fast, slow, strict=True):
        assert max_diff(a, b) < 1e-10 * (1 + b.abs().max().item())


# --- the mixer's other pieces against PyTorch's own ------------------------------------------------------


@pytest.mark.parametrize("length", [1, 3, 4, 9])
def test_causal_conv_matches_a_padded_depthwise_conv1d(length):
    """Two directions with their own weights in one call, as the mixer does; K = 4, so length 1 and 3 check
    that the taps before the first token see zeros."""
    torch.manual_seed(0)
    convs = [torch.nn.Conv1d(6, 6, 4, groups=6, padding=3).double() for _ in range(2)]
    x = torch.randn(2, 3, length, 6, dtype=torch.float64)  # direction, batch, L, D
    taps = torch.stack([conv.weight.squeeze(1).t() for conv in convs]).unsqueeze(1)
    bias = torch.stack([conv.bias for conv in convs]).unsqueeze(1)
    with torch.no_grad():
        ours = causal_depthwise_conv(x, taps, bias)
        theirs = torch.stack([conv(part.transpose(1, 2))[..., :length].transpose(1, 2)
                              for conv, part in zip(convs, x, strict=True)])
    assert max_diff(ours, theirs) < 1e-14


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_softplus_matches_torch_to_two_units_in_the_last_place(dtype):
    x = torch.cat([torch.linspace(-120, 120, 24001, dtype=torch.float64),
                   torch.tensor([-1e4, -104.0, -88.0, -17.0, -1e-9, 0.0, 1e-9, 19.999, 20.0, 20.001, 1e4])])
    x = x.to(dtype).view(-1, 12)  # rows: the work is sliced by rows
    expected = F.softplus(x)
    with torch.inference_mode():
        ours = softplus(x)
        special = torch.tensor([[math.nan, math.inf, -math.inf]])
        torch.testing.assert_close(softplus(special), F.softplus(special), rtol=0, atol=0, equal_nan=True)
    relative = (ours - expected).abs() / expected.abs().clamp_min(torch.finfo(dtype).tiny)
    assert relative.max().item() <= 2 * torch.finfo(dtype).eps
    grads = [torch.autograd.grad(f(leaf).sum(), leaf)[0]  # training takes torch's path, gradient included
             for f, leaf in ((softplus, x.clone().requires_grad_()), (F.softplus, x.clone().requires_grad_()))]
    assert torch.equal(*grads)


# --- the numba CPU kernels (the fast path of CPU inference) ----------------------------------------------


@pytest.mark.parametrize("decay", ["strong", "weak"])
@pytest.mark.parametrize("length", [1, 3, 70])
def test_numba_mixer_matches_the_step_by_step_scan(length, decay, monkeypatch):
    """The kernels (float32) against the mixer's PyTorch path in float64 with the reference scan."""
    mixer = perturbed_mixer(64, decay)  # D = 128: two blocks of 64 channels
    x = torch.randn(2, length, 64)
    with torch.inference_mode():
        assert numba_mixer.applies(mixer, x)
        fused = mixer(x)
        monkeypatch.setattr(bimamba, "selective_scan", selective_scan_reference)
        expected = mixer.double()(x.double())
    assert fused.dtype == torch.float32
    assert max_diff(fused, expected) / expected.abs().max().item() < 1e-5


def test_numba_mixer_buffers_are_per_thread_and_per_shape():
    """The kernels' reused buffers: threads running clips of other lengths at once get what each gets alone."""
    from concurrent.futures import ThreadPoolExecutor

    mixer = perturbed_mixer(64, "weak")
    clips = [torch.randn(1, length, 64) for length in (40, 7, 40, 90)]
    with torch.inference_mode():
        alone = [mixer(x) for x in clips]

    def run(x: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode():
            return torch.stack([mixer(x) for _ in range(20)])

    with ThreadPoolExecutor(len(clips)) as pool:
        together = list(pool.map(run, clips))
    for expected, outputs in zip(alone, together, strict=True):
        assert torch.equal(outputs, expected.expand_as(outputs))


@pytest.mark.parametrize("glue", [numba_mixer, triton_mixer], ids=["numba", "triton"])
def test_the_kernels_are_for_inference_only(glue):
    mixer = perturbed_mixer(64, "weak")
    x = torch.randn(1, 5, 64)
    assert not glue.applies(mixer, x)  # autograd on: training takes the PyTorch path
    with torch.inference_mode():
        assert not glue.applies(mixer.double(), x.double())
        if glue is numba_mixer:  # the numba scan walks 64 channels at a time
            assert not glue.applies(BidirectionalMamba(48).eval(), torch.randn(1, 5, 48))  # D = 96


@pytest.mark.parametrize("channels", [40, 384])  # with and without a tail past the 16-lane sums
def test_fused_add_rms_norm_matches_torch(channels):
    torch.manual_seed(channels)
    norm = torch.nn.RMSNorm(channels, eps=1e-5).eval()
    with torch.no_grad():
        norm.weight.add_(torch.randn(channels))
    branch, residual = torch.randn(2, 7, channels), torch.randn(2, 7, channels) * 3
    assert load("norm") is not None  # the numba kernel, not the fallback, is under test
    with torch.inference_mode():
        normed, total = add_norm.add_rms_norm(branch, residual, norm, torch.nn.Identity().eval())
        expected = norm.double()(residual.double() + branch.double())
    assert total.dtype == normed.dtype == torch.float32
    assert torch.equal(total, residual + branch)
    assert max_diff(normed, expected) / expected.abs().max().item() < 1e-6


def test_numba_vector_math_matches_torch_to_two_units_in_the_last_place():
    """exp, softplus, SiLU and the scan's decay 2^x."""
    import numba

    from linvit_cli.kernels.numba import vector_math

    @numba.njit
    def apply(which: int, x: np.ndarray) -> np.ndarray:
        out = np.empty_like(x)
        for i in range(x.shape[0]):
            out[i] = vector_math.exp(x[i]) if which == 0 else (
                vector_math.softplus(x[i]) if which == 1 else (
                    vector_math.silu(x[i]) if which == 2 else vector_math.decay(x[i])))
        return out

    eps = torch.finfo(torch.float32).eps
    x = torch.cat([torch.linspace(-87, 88, 200001), torch.tensor([-1e-30, 0.0, 1e-30, 19.999, 20.001])])
    # over float32's normal range: below e^-87.3 = 2^-126 they flush to zero
    for which, reference in ((0, torch.exp), (1, F.softplus), (2, F.silu)):
        inputs = x if which == 0 else x[x <= 80]
        ours = torch.from_numpy(apply(which, inputs.numpy())).double()
        expected = reference(inputs.double())
        relative = (ours - expected).abs() / expected.abs().clamp_min(1e-300)
        assert relative.max().item() <= 2 * eps, which
    # the scan's decay 2^x over the exponents it sees (x <= 0), down to float32's smallest normal 2^-126
    exponents = torch.cat([torch.linspace(-126, 0, 200001), torch.tensor([-1e-30, -0.5, 0.5 - 1e-7])])
    ours = torch.from_numpy(apply(3, exponents.numpy())).double()
    assert ((ours - torch.exp2(exponents.double())).abs() / torch.exp2(exponents.double())).max().item() <= 2 * eps
    assert apply(3, np.array([0.0, -300.0], np.float32)).tolist() == [1.0, 2.0 ** -126]
    low, high = apply(0, np.array([-200.0, 200.0], np.float32)).tolist()
    assert low == 0.0 and 2e38 < high < math.inf  # SiLU and softplus rely on a finite top
    assert np.isnan(apply(1, np.array([np.nan], np.float32))).all()


def test_without_numba_the_plain_path_runs_and_the_cli_says_so_once(tmp_path):
    """A machine where numba cannot be had still classifies, with the same result and one warning line."""
    torch.manual_seed(0)
    net = create_model("videomamba_tiny", embed_dim=32, depth=2, num_frames=4, img_size=32, num_classes=3)
    save_safetensors(net.state_dict(), tmp_path / "tiny.safetensors")
    (tmp_path / "labels.txt").write_text("a\nb\nc\n")
    (tmp_path / "weights.toml").write_text(
        '[models.tiny-mamba]\narch = "videomamba_tiny"\ndataset = "test"\nlabels = { file = "labels.txt" }\n'
        'config = { embed_dim = 32, depth = 2, num_frames = 4, img_size = 32 }\n'
        'weights = { path = "tiny.safetensors", format = "safetensors" }\n'
        'protocol = { frames = 4, sampling = "uniform", views = [2, 1], short_side = 32, crop = 32, '
        'mean = [0.5, 0.5, 0.5], std = [0.5, 0.5, 0.5], combine = "softmax_mean" }\n')
    clip = make_video(tmp_path / "clip.mp4", frames=24, fps=24)
    args = ["classify", str(clip), "--registry", str(tmp_path / "weights.toml"), "--model", "tiny-mamba", "--json"]
    blocked = "import sys; sys.modules['numba'] = None; from linvit_cli.cli.app import main; main()"
    done = subprocess.run([sys.executable, "-c", blocked, *args], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip().splitlines() == [done.stderr.strip()]  # one line for two views, 2 x 2 blocks
    assert done.stderr.startswith("Warning: the numba CPU kernels are unavailable (numba is not installed)")
    plain = json.loads(done.stdout)["results"][0]["top_k"]
    with torch.inference_mode():
        fused = classify(clip, model="tiny-mamba", registry=load_registry([tmp_path / "weights.toml"]))[0]["top_k"]
    assert [r["index"] for r in plain] == [r["index"] for r in fused]
    assert all(abs(a["probability"] - b["probability"]) < 1e-5 for a, b in zip(plain, fused, strict=True))


# --- full-size models: parameter counts, the authors' key set ---------------------------------------------


def authors_keys(channels: int, depth: int, frames: int = 16, classes: int = 400, cells: int = 196):
    """Key -> shape of a published classification checkpoint, as docs/videomamba.md#checkpoint-keys lists it."""
    inner, rank = 2 * channels, math.ceil(channels / 16)
    shapes = {"cls_token": (1, 1, channels), "pos_embed": (1, 1 + cells, channels),
              "temporal_pos_embedding": (1, frames, channels), "norm_f.weight": (channels,),
              "patch_embed.proj.weight": (channels, 3, 1, 16, 16), "patch_embed.proj.bias": (channels,),
              "head.weight": (classes, channels), "head.bias": (classes,)}
    for i in range(depth):
        shapes[f"layers.{i}.norm.weight"] = (channels,)
        mixer = f"layers.{i}.mixer"
        shapes[f"{mixer}.in_proj.weight"] = (2 * inner, channels)
        shapes[f"{mixer}.out_proj.weight"] = (channels, inner)
        for conv, x_proj, dt_proj, a_log, d in (("conv1d", "x_proj", "dt_proj", "A_log", "D"),
                                                ("conv1d_b", "x_proj_b", "dt_proj_b", "A_b_log", "D_b")):
            shapes[f"{mixer}.{conv}.weight"], shapes[f"{mixer}.{conv}.bias"] = (inner, 1, 4), (inner,)
            shapes[f"{mixer}.{x_proj}.weight"] = (rank + 32, inner)
            shapes[f"{mixer}.{dt_proj}.weight"], shapes[f"{mixer}.{dt_proj}.bias"] = (inner, rank), (inner,)
            shapes[f"{mixer}.{a_log}"], shapes[f"{mixer}.{d}"] = (inner, 16), (inner,)
    return shapes


@pytest.mark.parametrize(("arch", "channels", "depth", "millions"), [
    ("videomamba_tiny", 192, 24, 7.0),
    ("videomamba_small", 384, 24, 25.6),
    ("videomamba_middle", 576, 32, 73.9),
])
def test_full_size_parameter_counts_and_authors_key_set(arch, channels, depth, millions):
    with torch.device("meta"):
        model = create_model(arch, num_classes=400, num_frames=16, img_size=224)
        official = {k: torch.empty(shape) for k, shape in authors_keys(channels, depth).items()}
    assert round(sum(p.numel() for p in model.parameters()) / 1e6, 1) == millions
    ours = checkpoint_filter(official, model, False)
    own = model.state_dict()
    assert sorted(ours) == sorted(own)
    assert all(ours[k].shape == own[k].shape for k in own)


# --- checkpoints in other forms, and what is refused -------------------------------------------------------


def test_our_names_and_wrapped_keys_load_to_the_same_logits(model64, authors_state, reference, tmp_path):
    ours = tmp_path / "videomamba_ref.safetensors"
    save_safetensors({k: v.float() for k, v in model64.state_dict().items()}, ours)
    wrapped = tmp_path / "wrapped.pth"
    torch.save({"model": {f"module.{k}": v for k, v in authors_state.items()}}, wrapped)
    x = reference["input"].double()
    for path in (ours, wrapped):
        with torch.inference_mode():
            logits = load_model(CONFIG, weights=path, dtype=torch.float64)(x)
        assert max_diff(logits, reference["logits"]) < 1e-10


@pytest.mark.parametrize("shape", [(2, 3, 3, 64, 64), (2, 3, 4, 64, 48), (2, 1, 4, 64, 64), (3, 4, 64, 64)])
def test_wrong_input_shape_is_a_value_error_naming_the_expected_shape(model64, shape):
    with pytest.raises(ValueError, match=r"\(B, 3, T, H, W\).*\(B, 3, 4, 64, 64\)"):
        model64(torch.zeros(shape, dtype=torch.float64))


def test_checkpoint_for_other_frames_is_refused_with_both_numbers_unless_adapted(checkpoint, authors_state):
    config = {**CONFIG, "num_frames": 8}
    with pytest.raises(CheckpointError, match=r"checkpoint has 4 frames.*model expects 8.*--adapt") as err:
        load_model(config, weights=checkpoint)
    assert "\n" not in str(err.value)
    model = load_model(config, weights=checkpoint, adapt=True)
    temporal = model.temporal_pos_embed.detach()
    original = authors_state["temporal_pos_embedding"]
    assert temporal.shape == (1, 8, 64)
    # linear, align_corners=False: new frame 1 sits at old position 0.25, frame 0 clamps to old frame 0
    assert torch.allclose(temporal[:, 0], original[:, 0])
    assert torch.allclose(temporal[:, 1], 0.75 * original[:, 0] + 0.25 * original[:, 1])
    assert torch.isfinite(model(torch.randn(1, 3, 8, 64, 64))).all()


def test_checkpoint_for_other_resolution_is_refused_with_both_sizes_unless_adapted(checkpoint):
    config = {**CONFIG, "img_size": 96}
    with pytest.raises(CheckpointError, match=r"64 px frames \(4x4 patches.*expects 96 px \(6x6\)"):
        load_model(config, weights=checkpoint)
    model = load_model(config, weights=checkpoint, adapt=True)
    assert model.spatial_pos_embed.shape == (1, 37, 64)
    assert torch.isfinite(model(torch.randn(1, 3, 4, 96, 96))).all()


def test_foreign_checkpoint_is_refused_in_one_line(tmp_path):
    path = tmp_path / "lvit.pth"
    torch.save({"model_state": {"base_model.blocks.0.attn.qkv.weight": torch.zeros(3, 3),
                                "consensus.mlp_head.4.bias": torch.zeros(3)}}, path)
    with pytest.raises(CheckpointError, match="not a VideoMamba checkpoint.*found base_model.blocks") as err:
        load_model(CONFIG, weights=path)
    assert "\n" not in str(err.value)


def test_missing_backward_weights_are_listed_in_one_line(authors_state, tmp_path):
    """Upstream mamba_ssm has no `_b` weights: such a file must not load with the backward scan unset."""
    path = tmp_path / "no_backward.pth"
    torch.save({k: v for k, v in authors_state.items() if "_b" not in k}, path)
    with pytest.raises(CheckpointError, match=r"missing keys \(28\): blocks.0.mixer.backward_ssm") as err:
        load_model(CONFIG, weights=path)
    assert "\n" not in str(err.value)


# --- CUDA ------------------------------------------------------------------------------------------------


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_float32_matches_the_float64_reference(checkpoint, reference, monkeypatch):
    monkeypatch.setattr(torch.backends.cudnn, "allow_tf32", False)  # TF32 convolutions round to 1e-3
    model = load_model(CONFIG, weights=checkpoint, device="cuda")
    with torch.inference_mode():
        logits = model(reference["input"].cuda())
    assert logits.device.type == "cuda"
    assert max_diff(logits.cpu(), reference["logits"]) < 1e-5
    for dtype, tolerance in ((torch.float64, 1e-12), (torch.float32, 1e-5)):
        inputs = scan_inputs(3137, "weak", dtype)
        expected = selective_scan_reference(*inputs)
        y = selective_scan(*(t.cuda() for t in inputs)).cpu()  # the GPU's default: many chunks per block
        assert ((y - expected).abs().max() / expected.abs().max()).item() < tolerance
