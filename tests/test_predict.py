"""The step `classify`, `eval` and `timeline` share: `predict.Predictor` (views of several items per batch, one
ranking) and `loader.ahead` (decoding in worker processes, results in input order)."""

from __future__ import annotations

import os
from functools import partial

import pytest
import torch
from videos import make_video

from linvit_cli.inference import combine_views, intra_op_threads
from linvit_cli.loader import DECODE_NICE, Decoded, Unreadable, ahead, decode_views
from linvit_cli.models.architectures import create_model
from linvit_cli.predict import Predictor, default_view_batch, ranking
from linvit_cli.registry.load import load_registry

LABELS = [f"class {i}" for i in range(5)]
VIEW = (3, 8, 32, 32)


@pytest.fixture(scope="module")
def model() -> torch.nn.Module:
    torch.manual_seed(0)
    return create_model("lvit_tiny", num_classes=len(LABELS), embed_dim=32, depth=1, num_heads=2,
                        head_hidden=16).eval()


def predictor(model: torch.nn.Module, view_batch: int, combine: str = "logit_sum", device: str = "cpu") -> Predictor:
    return Predictor(model.to(device), device=torch.device(device), autocast=None, view_batch=view_batch,
                     combine=combine, labels=LABELS, top_k=3)


def mixed_items() -> list[tuple[int, torch.Tensor | None]]:
    """Items of 3, 1, no (a file that failed), 2 and 1 views."""
    generator = torch.Generator().manual_seed(1)
    counts = [3, 1, None, 2, 1]
    return [(k, None if n is None else torch.randn(n, *VIEW, generator=generator)) for k, n in enumerate(counts)]


@pytest.fixture(scope="module")
def reference_logits(model) -> dict[int, torch.Tensor | None]:
    """Each item's logits in float64, one view at a time."""
    with torch.no_grad():
        logits = {k: None if views is None else torch.cat([model.double()(v[None].double()) for v in views])
                  for k, views in mixed_items()}
    model.float()
    return logits


@pytest.mark.parametrize("combine", ["logit_sum", "softmax_mean"])
@pytest.mark.parametrize("view_batch", [1, 2, 16])
def test_each_item_gets_its_own_views_ranking_whatever_the_batch(model, reference_logits, view_batch, combine):
    items = mixed_items()
    expected = {k: None if logits is None else combine_views(logits, combine) for k, logits in reference_logits.items()}
    got = list(predictor(model, view_batch, combine)(iter(items)))
    assert [p.key for p in got] == [k for k, _ in items]  # input order, the failed item in its place
    for prediction in got:
        if expected[prediction.key] is None:
            assert prediction.top_k is None
            continue
        truth = ranking(expected[prediction.key].float(), LABELS, 3)
        assert [r["index"] for r in prediction.top_k] == [r["index"] for r in truth]
        assert [r["probability"] for r in prediction.top_k] == pytest.approx([r["probability"] for r in truth],
                                                                              rel=1e-4)


def test_items_are_pulled_only_while_less_than_a_batch_of_views_waits(model):
    pulled: list[int] = []

    def source():
        for k in range(12):
            pulled.append(k)
            yield k, torch.zeros(3, *VIEW)

    for prediction in predictor(model, 4)(source()):
        assert len(pulled) <= prediction.key + 3  # memory holds a batch and an item or two, never the input


def test_progress_follows_each_items_views(model):
    calls: list[tuple[int, int]] = []
    list(predictor(model, 1)(iter([(0, torch.zeros(3, *VIEW)), (1, None), (2, torch.zeros(2, *VIEW))]),
                             progress=lambda done, total: calls.append((done, total))))
    assert calls == [(0, 3), (1, 3), (2, 3), (3, 3), (0, 2), (1, 2), (2, 2)]


def test_ranking_entries_are_the_records_schema():
    rows = ranking(torch.tensor([0.1, 0.5, 0.05, 0.3, 0.05]), LABELS, 9)
    assert [row["rank"] for row in rows] == [1, 2, 3, 4, 5]  # k beyond the classes: all of them
    assert [row["index"] for row in rows[:3]] == [1, 3, 0]
    assert rows[0] == {"rank": 1, "index": 1, "label": "class 1", "probability": pytest.approx(0.5)}


def test_a_gpu_batch_is_bounded_by_its_values_a_cpu_takes_one_view():
    registry = load_registry()
    mamba, demo = registry.get("videomamba-s16-k400-f16").protocol, registry.get("lvit-demo").protocol
    assert default_view_batch(torch.device("cpu"), mamba) == 1
    assert default_view_batch(torch.device("cuda"), mamba) == 16
    assert default_view_batch(torch.device("cuda"), demo) == 256  # tiny views: many, up to the cap


def test_workers_decode_ahead_in_input_order_with_failures_in_place(tmp_path):
    protocol = load_registry().get("lvit-demo").protocol
    paths = [make_video(tmp_path / f"{k}.mp4", frames=12 + 6 * k, fps=12) for k in range(5)]
    (tmp_path / "bad.mp4").write_bytes(b"not a video" * 20)
    paths.insert(2, tmp_path / "bad.mp4")
    here = list(ahead(paths, partial(decode_views, protocol=protocol, views=(2, 1), threads=0), 0))
    workers = list(ahead(paths, partial(decode_views, protocol=protocol, views=(2, 1), threads=1), 2))
    assert [type(item) for item in workers] == [Decoded, Decoded, Unreadable, Decoded, Decoded, Decoded]
    for a, b in zip(here, workers, strict=True):
        if isinstance(a, Unreadable):
            assert a == b and "bad.mp4" in a.message
        else:
            assert torch.equal(a.views, b.views) and a.info == b.info and a.warnings == b.warnings


def _niceness(_: int) -> int:
    return os.nice(0)


def test_decoding_yields_the_cpu_to_a_model_on_several_threads_only(model):
    here = os.nice(0)
    assert list(ahead([0, 1, 2], _niceness, 2, yield_cpu=True)) == [min(here + DECODE_NICE, 19)] * 3
    assert list(ahead([0, 1, 2], _niceness, 2)) == [here] * 3
    small = Predictor(model, device=torch.device("cpu"), autocast=None, view_batch=1, combine="logit_sum",
                      labels=LABELS, top_k=3, threads=1)  # lvit-demo's views: one thread, decoding beside it
    assert not small.busy_cpu
    with intra_op_threads(2):
        assert predictor(model, 1).busy_cpu


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("view_batch", [1, 4, 16])
def test_cuda_batches_from_pinned_memory_give_the_cpu_rankings(model, view_batch):
    items = mixed_items()
    cpu = list(predictor(model, 1)(iter(items)))
    gpu = list(predictor(model, view_batch, device="cuda")(iter(items)))
    model.cpu()
    assert [p.key for p in gpu] == [p.key for p in cpu]
    for a, b in zip(cpu, gpu, strict=True):
        if a.top_k is None:
            assert b.top_k is None
            continue
        assert [r["index"] for r in a.top_k] == [r["index"] for r in b.top_k]
        assert [r["probability"] for r in a.top_k] == pytest.approx([r["probability"] for r in b.top_k], rel=1e-4)
