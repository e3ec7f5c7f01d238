"""LViT against its authors' code: reference logits, parameter counts, ablation switches, bad input."""

from __future__ import annotations

import pickle

import pytest
import torch
from lvit_reference import fixture_config, load_fixture, reference_input

from linvit_cli import load_model
from linvit_cli.errors import CheckpointError, WeightsUnavailableError
from linvit_cli.models.architectures import create_model
from linvit_cli.models.lvit.feature_fixation import NoFixation
from linvit_cli.models.lvit.linear_attention import LinearAttention, SoftmaxAttention
from linvit_cli.models.lvit.neighbourhood_association import NoShift, SpatialShift, TemporalShift
from linvit_cli.registry.load import load_registry

FIXTURES = ["lvit_k400cfg_tiny", "lvit_ssv2cfg_tiny"]


@pytest.fixture(scope="module", params=FIXTURES)
def fixture(request, reference_dir, tmp_path_factory):
    """(config, path of the authors' training checkpoint, expected logits)."""
    meta, state, logits = load_fixture(reference_dir, request.param)
    path = tmp_path_factory.mktemp("ckpt") / "checkpoint_epoch_00001.pyth"
    torch.save({"epoch": 1, "model_state": state, "optimizer_state": {}}, path)
    return fixture_config(meta), path, logits


@pytest.fixture(scope="module")
def reference_x():
    return reference_input(batch=2, frames=16)


def test_float64_logits_match_authors_code(fixture, reference_x):
    config, path, expected = fixture
    model = load_model(config, weights=path, dtype=torch.float64)
    with torch.inference_mode():
        logits = model(reference_x)
    assert logits.dtype == torch.float64
    assert (logits - expected).abs().max().item() < 1e-10


def test_float32_logits_match_within_1e4_of_largest(fixture, reference_x):
    config, path, expected = fixture
    model = load_model(config, weights=path)
    with torch.inference_mode():
        logits = model(reference_x.float()).double()
    assert (logits - expected).abs().max().item() < 1e-4 * expected.abs().max().item()


def test_converted_safetensors_give_the_same_logits(fixture, reference_x, tmp_path, run_cli):
    config, path, expected = fixture
    registry = tmp_path / "weights.toml"
    labels = tmp_path / "labels.txt"
    labels.write_text("".join(f"class {i}\n" for i in range(config["num_classes"])))
    kwargs = ", ".join(f"{k} = {str(v).lower() if isinstance(v, bool) else v}"
                       for k, v in config.items() if k not in ("arch", "num_classes"))
    registry.write_text(f"""
[models.lvit-fixture]
arch = "lvit_b16"
dataset = "fixture"
config = {{ {kwargs} }}
labels = {{ file = "labels.txt" }}
weights = "unpublished"
[models.lvit-fixture.protocol]
frames = 16
sampling = "segment"
views = [1, 1]
short_side = 224
crop = 224
mean = [0.5, 0.5, 0.5]
std = [0.5, 0.5, 0.5]
combine = "logit_sum"
""")
    out = tmp_path / "converted.safetensors"
    result = run_cli("convert", path, out, "--model", "lvit-fixture", "--registry", registry)
    assert result.code == 0, result.err
    assert out.read_bytes()[8:9] == b"{"  # a safetensors header, not a pickle
    model = load_model(config, weights=out, dtype=torch.float64)
    with torch.inference_mode():
        assert (model(reference_x) - expected).abs().max().item() < 1e-10


@pytest.mark.parametrize(("name", "expected"), [
    ("lvit-k400", 52_389_520),
    ("lvit-k600", 52_246_872),
    ("lvit-ssv2", 51_919_278),
])
def test_parameter_counts_of_the_papers_configs(name, expected):
    entry = load_registry().get(name)
    with torch.device("meta"):
        model = create_model(entry.arch, **entry.build_kwargs())
    assert sum(p.numel() for p in model.parameters()) == expected


def test_grid_follows_the_input_size():
    """The authors' code runs only at 17x17 tokens (224 px); ours derives the grid, so 256 px runs too."""
    torch.manual_seed(0)
    model = create_model("lvit_b16", embed_dim=32, depth=1, num_heads=2, head_hidden=16, num_classes=3).eval()
    with torch.inference_mode():
        assert model(torch.randn(1, 3, 8, 256, 256)).shape == (1, 3)
        assert model(torch.randn(2, 3, 8, 224, 224)).shape == (2, 3)


@pytest.mark.parametrize(("shape", "message"), [
    ((3, 16, 224, 224), r"\(B, 3, T, H, W\)"),
    ((1, 1, 16, 224, 224), r"\(B, 3, T, H, W\)"),
    ((1, 3, 12, 224, 224), "multiple of 8"),
])
def test_wrong_input_shape_is_a_value_error_naming_the_expected_shape(shape, message):
    model = create_model("lvit_b16", embed_dim=32, depth=1, num_heads=2, head_hidden=16, num_classes=3)
    with pytest.raises(ValueError, match=message):
        model(torch.zeros(shape))


def test_frames_not_a_multiple_of_the_shift_group_is_a_value_error():
    model = create_model("lvit_b16", embed_dim=32, depth=1, num_heads=2, head_hidden=16, num_classes=3,
                         temporal_shift_segments=16)
    with pytest.raises(ValueError, match="multiple of 16"):
        model(torch.zeros(1, 3, 8, 64, 64))


def test_missing_and_unexpected_keys_are_listed(fixture, tmp_path):
    config, path, _ = fixture
    state = torch.load(path, weights_only=True)["model_state"]
    state.pop("base_model.norm.bias")
    state["base_model.extra.weight"] = torch.zeros(2)
    broken = tmp_path / "broken.pyth"
    torch.save({"model_state": state}, broken)
    listed = r"missing keys \(1\): norm\.bias.*unexpected keys \(1\): base_model\.extra"
    with pytest.raises(CheckpointError, match=listed):
        load_model(config, weights=broken)


class _Payload:
    def __reduce__(self):
        return (print, ("this must never run",))


def test_pickle_that_needs_more_than_tensors_is_refused(tmp_path):
    path = tmp_path / "evil.pth"
    with path.open("wb") as fh:
        pickle.dump({"model_state": {"w": _Payload()}}, fh)
    with pytest.raises(CheckpointError, match="refused"):
        load_model({"arch": "lvit_b16", "embed_dim": 32, "depth": 1, "num_heads": 2}, weights=path)


def test_foreign_file_is_named(tmp_path):
    path = tmp_path / "notes.pth"
    path.write_text("not a checkpoint")
    with pytest.raises(CheckpointError, match="expected a safetensors file or a PyTorch checkpoint"):
        load_model({"arch": "lvit_b16"}, weights=path)


def test_unpublished_weights_without_a_file_is_a_usage_error():
    with pytest.raises(WeightsUnavailableError, match="lvit-k400.*weights parameter") as err:
        load_model("lvit-k400")
    assert err.value.exit_code == 2 and "--weights FILE" in err.value.cli_message()


@pytest.mark.parametrize("tokens", [5, 20])  # fewer and more tokens than channels per head
def test_linear_attention_equals_the_explicit_sum(tokens):
    torch.manual_seed(1)
    mixer = LinearAttention(head_dim=8)
    q, k, v = (torch.randn(2, tokens, 3, 8, dtype=torch.float64) for _ in range(3))
    fq, fk = mixer.feature_map(q), mixer.feature_map(k)
    weights = torch.einsum("bihd,bjhd->bhij", fq, fk)  # <phi(q_i), phi(k_j)>
    expected = torch.einsum("bhij,bjhe->bihe", weights, v) / (weights.sum(-1).permute(0, 2, 1)[..., None] + 1e-6)
    assert torch.allclose(mixer(fq, fk, v), expected, atol=1e-12)
    assert fq.min() >= 8**-0.5  # the kernel's additive floor


def test_softmax_attention_equals_the_explicit_softmax():
    torch.manual_seed(2)
    q, k, v = (torch.randn(2, 5, 3, 8, dtype=torch.float64) for _ in range(3))
    scores = torch.einsum("bihd,bjhd->bhij", q, k) * 8**-0.5
    expected = torch.einsum("bhij,bjhe->bihe", scores.softmax(-1), v)
    assert torch.allclose(SoftmaxAttention()(q, k, v), expected, atol=1e-12)


def test_temporal_shift_moves_channel_groups_within_segments():
    shift = TemporalShift(dim=8, segments=2, fold_div=4)  # 2 channels each way
    frames = torch.arange(4.0).view(4, 1, 1, 1).repeat(1, 3, 2, 8)  # value = frame index (B*T=4, N=3)
    out = shift(frames, grid=(4, 1, 3))
    assert out[:, 0, 0, 0].tolist() == [1, 0, 3, 0]  # frame t <- t+1, zero at each group's end
    assert out[:, 0, 0, 2].tolist() == [0, 0, 0, 2]  # frame t <- t-1, zero at each group's start
    assert out[:, 0, 0, 4].tolist() == [0, 1, 2, 3]  # untouched


def test_spatial_shift_border_rules():
    """Axial neighbours bring zeros from outside the grid; diagonal ones keep the cell's own value."""
    shift = SpatialShift(dim=16, fold_div=16)  # one channel per direction
    cell = torch.arange(9.0).view(9, 1, 1, 1).repeat(1, 1, 2, 16)  # value = cell index (B*H*W=9, T=1)
    out = shift(cell, grid=(1, 3, 3)).view(3, 3, 2, 16)[..., 0, :]
    assert out[..., 0].flatten().tolist() == [3, 4, 5, 6, 7, 8, 0, 0, 0]  # (i,j) <- (i+1,j)
    assert out[..., 3].flatten().tolist() == [0, 0, 1, 0, 3, 4, 0, 6, 7]  # (i,j) <- (i,j-1)
    assert out[..., 4].flatten().tolist() == [0, 1, 2, 3, 0, 1, 6, 3, 4]  # (i,j) <- (i-1,j-1), keep at border
    assert out[..., 8].flatten().tolist() == list(range(9))  # beyond 8 groups: unchanged


@pytest.mark.parametrize("attention", ["linear", "softmax"])
@pytest.mark.parametrize(("fixation", "association", "shared"), [
    (False, False, False), (True, False, False), (True, True, False), (True, True, True),
])
def test_ablation_variants_build_run_and_train(attention, fixation, association, shared):
    torch.manual_seed(0)
    model = create_model("lvit_tiny", num_classes=4, attention=attention, feature_fixation=fixation,
                         neighbourhood_association=association, share_gate=shared)
    attn = model.blocks[0].spatial_attn
    assert isinstance(attn.mixer, LinearAttention if attention == "linear" else SoftmaxAttention)
    assert isinstance(attn.fixation, NoFixation) != fixation
    assert isinstance(attn.shift, NoShift) != association
    if fixation:
        assert attn.fixation.gate.out_features == attn.fixation.head_dim * (1 if shared else 2)
    logits = model(torch.randn(2, 3, 8, 32, 32))
    assert logits.shape == (2, 4) and torch.isfinite(logits).all()
    logits.logsumexp(-1).sum().backward()
    no_grad = [n for n, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert no_grad == []


def test_switches_change_the_output():
    """Each of the paper's ideas does something: turning it off changes the logits of the same weights."""
    torch.manual_seed(0)
    base = create_model("lvit_tiny", num_classes=4).eval()
    x = torch.randn(1, 3, 8, 32, 32)
    with torch.inference_mode():
        reference = base(x)
        for block in base.blocks:
            block.temporal_attn.shift = block.spatial_attn.shift = NoShift()
        assert not torch.allclose(base(x), reference, atol=1e-5)


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu_reference(fixture, reference_x):
    config, path, expected = fixture
    model = load_model(config, weights=path, device="cuda")
    with torch.inference_mode():
        logits = model(reference_x.float().cuda()).double().cpu()
    assert (logits - expected).abs().max().item() < 1e-4 * expected.abs().max().item()


def test_chunked_evaluation_equals_one_pass():
    """Eval runs temporal attention a band of grid rows at a time, spatial attention and MLP 16 frames at a
    time, mixes each attention's sequences in slices of at most `chunk_tokens` tokens after the shift and
    runs the MLP a few frames at a time; training runs the clip in one pass. Both give the same logits."""
    torch.manual_seed(0)
    model = create_model("lvit_tiny", num_classes=4, drop_rate=0.0, share_gate=False).double()
    assert model.blocks[0].frame_chunk == 16
    for block in model.blocks:  # 2 clips x 48 frames x 4 x 4 cells
        # temporal: bands of one grid row, 8 sequences of 48 mixed as 4 + 4; spatial: 32 of 16 as 11 + 11 + 10
        block.temporal_attn.chunk_tokens = block.spatial_attn.chunk_tokens = 250
        block.mlp.pass_values = 3 * 16 * block.mlp.fc1.out_features  # 3 of 32 frames (16-frame chunks, 2 clips)
    x = torch.randn(2, 3, 48, 32, 32, dtype=torch.float64)
    with torch.no_grad():
        chunked = model.eval()(x)
        one_pass = model.train()(x)
    assert (chunked - one_pass).abs().max().item() < 1e-12
