"""`linvit train` end to end on a tiny synthetic dataset: learning, exact resume, refusals, bad files, torchrun.

One dataset (48 train / 24 validation clips, 32 px, 8 frames: conftest's `synth_root`) is generated per session;
the model is a one-block LViT of width 32, so each epoch takes well under a second of compute on one core.
"""

from __future__ import annotations

import io
import json
import math
import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torchvision import tv_tensors

from linvit_cli.loading import load_model
from linvit_cli.models.checkpoint import read_state_dict
from linvit_cli.registry.load import load_registry
from linvit_cli.train.checkpoint import state_digest

TINY_MODEL = ["--arch", "lvit_tiny", "--config", "embed_dim=32", "--config", "depth=1", "--config", "num_heads=2",
              "--config", "head_hidden=32"]
TINY_CLIPS = ["--dataset", "ssv2", "--frames", "8", "--size", "32", "--batch-size", "8", "--warmup-epochs", "0"]


@pytest.fixture
def data_copy(synth_root: Path, tmp_path: Path) -> Path:
    """A private copy to damage (the whole dataset is a few hundred kB)."""
    return Path(shutil.copytree(synth_root, tmp_path / "data"))


def records(out: Path, event: str) -> list[dict]:
    lines = (out / "log.jsonl").read_text().splitlines()
    return [r for r in map(json.loads, lines) if r["event"] == event]


def train(run_cli, root: Path, out: Path, *extra: str, model: list[str] = TINY_MODEL):
    return run_cli("train", *model, *TINY_CLIPS, "--root", root, "--out", out, "--workers", "0", *extra)


pytestmark = pytest.mark.usefixtures("one_thread")


def test_short_run_lowers_loss_and_exports_a_usable_model(run_cli, synth_root: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = train(run_cli, synth_root, out, "--epochs", "6", "--lr", "0.3", "--config", "drop_rate=0.0",
                   "--val-annotations", synth_root / "something-something-v2-validation.json", "--name", "tiny-test")
    assert result.code == 0, result.err
    assert "48 videos listed, 48 found, 0 missing" in result.err and "recipe: epochs=6" in result.err
    epochs = records(out, "epoch")
    assert len(epochs) == 6
    assert epochs[-1]["loss"] < epochs[0]["loss"] - 0.2, [e["loss"] for e in epochs]
    assert all(e["val_top1"] is not None and e["bad_files"] == 0 for e in epochs)
    end = records(out, "end")[0]
    assert end["rank_digests"] == [state_digest(read_state_dict(out / "model.safetensors"))]
    # the exported entry loads through the registry like any other model
    registry = load_registry([out / "weights.toml"])
    entry = registry.get("tiny-test")
    assert entry.meta["top1"] == round(100 * epochs[-1]["val_top1"], 2)
    assert entry.labels == tuple((synth_root / "labels.txt").read_text().split("\n")[:-1])
    model = load_model("tiny-test", registry=registry)
    assert model(torch.zeros(1, 3, 8, 32, 32)).shape == (1, 12)
    listed = run_cli("models", "--registry", out / "weights.toml", "--json")
    assert listed.code == 0 and "tiny-test" in listed.out
    # every file of the run is readable by others alike (safetensors alone would write its file 0600)
    assert {(out / name).stat().st_mode & 0o777 for name in ("model.safetensors", "labels.txt", "weights.toml",
                                                             "log.jsonl")} == {0o666 & ~current_umask()}


def test_progress_line_on_a_terminal_shows_steps_loss_and_clips_per_second(run_cli, synth_root: Path,
                                                                          tmp_path: Path, monkeypatch) -> None:
    from rich.console import Console

    from linvit_cli.output import console

    terminal = io.StringIO()
    monkeypatch.setattr(console, "stderr", Console(file=terminal, force_terminal=True, width=160))
    assert train(run_cli, synth_root, tmp_path / "run", "--epochs", "1").code == 0
    drawn = terminal.getvalue()
    assert "epoch 1/1" in drawn and "/6 steps" in drawn and "clips/s" in drawn
    assert re.search(r"loss \d+\.\d{4} acc \d+\.\d%", drawn), drawn


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


RESUME_RECIPE = ["--epochs", "2", "--lr", "0.1", "--mixup", "0.4", "--label-smoothing", "0.1",
                 "--config", "drop_rate=0.2"]


def test_resume_continues_exactly(run_cli, synth_root: Path, tmp_path: Path) -> None:
    straight, split = tmp_path / "straight", tmp_path / "split"
    assert train(run_cli, synth_root, straight, *RESUME_RECIPE).code == 0
    first = train(run_cli, synth_root, split, *RESUME_RECIPE, "--stop-after", "1")
    assert first.code == 0 and "stopped after epoch 1" in first.err
    assert not (split / "model.safetensors").exists()
    again = train(run_cli, synth_root, split, *RESUME_RECIPE)  # an existing run is not silently restarted
    assert again.code == 2 and "--resume auto" in again.err
    resumed = train(run_cli, synth_root, split, *RESUME_RECIPE, "--resume", "auto")
    assert resumed.code == 0, resumed.err
    assert records(split, "resume")[0]["epoch"] == 1
    timing = ("time", "clips_per_s")
    last_split, last_straight = records(split, "epoch")[-1], records(straight, "epoch")[-1]
    assert {k: v for k, v in last_split.items() if k not in timing} == {
        k: v for k, v in last_straight.items() if k not in timing}
    a, b = read_state_dict(straight / "model.safetensors"), read_state_dict(split / "model.safetensors")
    assert all(torch.equal(a[k], b[k]) for k in a)

    # another model config is refused, with the reason, in one line
    refused = train(run_cli, synth_root, tmp_path / "other", *RESUME_RECIPE, "--config", "attention=softmax",
                    "--resume", split / "checkpoint.pt")
    assert refused.code == 2
    error = [line for line in refused.err.splitlines() if line.startswith("Error:")]
    assert len(error) == 1 and "refusing to resume" in error[0] and "attention" in error[0], refused.err


def test_missing_files_are_counted_before_training(run_cli, data_copy: Path, tmp_path: Path) -> None:
    listing = data_copy / "something-something-v2-train.json"
    entries = json.loads(listing.read_text())
    entries += [{"id": "999", "template": entries[0]["template"]}, {"id": "998", "template": entries[0]["template"]}]
    listing.write_text(json.dumps(entries))
    result = train(run_cli, data_copy, tmp_path / "run", "--epochs", "1")
    assert result.code == 0, result.err
    warning = result.err.split("recipe:")[0]  # reported before the recipe and any training
    assert "50 videos listed, 48 found, 2 missing" in warning and "999.webm" in warning


def test_unknown_label_is_an_error(run_cli, data_copy: Path, tmp_path: Path) -> None:
    listing = data_copy / "something-something-v2-train.json"
    entries = json.loads(listing.read_text())
    entries[3]["template"] = "Juggling [something]"
    listing.write_text(json.dumps(entries))
    result = train(run_cli, data_copy, tmp_path / "run", "--epochs", "1")
    assert result.code == 2
    assert "'Juggling something'" in result.err and "does not know" in result.err


def test_corrupt_file_stops_training_unless_skip_bad(run_cli, data_copy: Path, tmp_path: Path) -> None:
    bad = sorted((data_copy / "videos").iterdir())[5]
    bad.write_bytes(b"\x00not a video" * 50)
    stopped = train(run_cli, data_copy, tmp_path / "stop", "--epochs", "1")
    assert stopped.code == 1
    assert bad.name in stopped.err and "--skip-bad" in stopped.err
    assert records(tmp_path / "stop", "error")[0]["bad_files"] == 1

    skipped = train(run_cli, data_copy, tmp_path / "skip", "--epochs", "2", "--skip-bad")
    assert skipped.code == 0, skipped.err
    epochs = records(tmp_path / "skip", "epoch")
    assert [e["bad_files"] for e in epochs] == [1, 1]
    assert [e["clips"] for e in epochs] == [47, 47]  # never replaced by another sample
    assert bad.name in epochs[0]["bad_examples"][0]
    assert "1 file(s) failed to decode" in skipped.err


def test_usage_errors(run_cli, synth_root: Path, tmp_path: Path) -> None:
    both = run_cli("train", "--model", "lvit-k400", "--arch", "lvit_tiny", "--dataset", "ssv2", "--root", synth_root,
                   "--out", tmp_path)
    assert both.code == 2 and "exactly one" in both.err
    for args, message in ((["--accumulate", "3"], "--batch-size 8"), (["--optimizer", "rmsprop"], "'rmsprop'"),
                          (["--clip-grad", "0"], "--clip-grad"), (["--jitter", "28", "40"], "32-pixel crop"),
                          (["--jitter", "40", "36"], "MIN <= MAX")):
        refused = train(run_cli, synth_root, tmp_path / "run", *args)
        errors = [line for line in refused.err.splitlines() if line.startswith("Error:")]
        assert refused.code == 2 and len(errors) == 1 and message in errors[0], (args, refused.err)
        assert not (tmp_path / "run" / "log.jsonl").exists()


TINY_REQUEST = {"dataset": "ssv2", "arch": "lvit_tiny", "config": {"embed_dim": 32, "depth": 1, "num_heads": 2,
                                                                     "head_hidden": 32},
                "frames": 8, "size": 32, "batch_size": 8, "warmup_epochs": 0, "workers": 0}


def test_the_library_trains_the_run_the_command_trains(run_cli, synth_root: Path, tmp_path: Path) -> None:
    """`train_model(TrainRequest(...))` is `linvit train` without the command line: the same weights, to the bit."""
    from linvit_cli import TrainRequest, train_model

    result = train_model(TrainRequest(**TINY_REQUEST, root=synth_root, out=tmp_path / "lib", epochs=1, lr=0.1,
                                      name="tiny-lib"))
    assert result.registry == tmp_path / "lib" / "weights.toml" and result.val_top1 is None
    entry = load_registry([result.registry]).get("tiny-lib")
    assert (entry.arch, entry.protocol.frames, entry.protocol.crop, entry.num_classes) == ("lvit_tiny", 8, 32, 12)
    assert len(records(tmp_path / "lib", "epoch")) == 1
    assert train(run_cli, synth_root, tmp_path / "cli", "--epochs", "1", "--lr", "0.1").code == 0
    a, b = (read_state_dict(tmp_path / run / "model.safetensors") for run in ("lib", "cli"))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_the_library_names_its_parameters(synth_root: Path, tmp_path: Path) -> None:
    from linvit_cli import TrainRequest, train_model
    from linvit_cli.errors import UsageError

    for changes, name in (({"model": "lvit-demo"}, "model"), ({"workers": -1}, "workers"),
                          ({"optimizer": "rmsprop"}, "optimizer"), ({"epochs": 0}, "epochs"),
                          ({"short_side_jitter": (28, 40)}, "short_side_jitter"), ({"name": "Not A Name"}, "name"),
                          ({"accumulate": 3}, "accumulate")):
        with pytest.raises(UsageError) as raised:
            train_model(TrainRequest(**{**TINY_REQUEST, **changes}, root=synth_root, out=tmp_path / "run"))
        assert name in str(raised.value) and "--" not in str(raised.value), str(raised.value)
        assert not (tmp_path / "run" / "log.jsonl").exists()


def test_adamw_clipping_and_jitter_train_and_are_recorded(run_cli, synth_root: Path, tmp_path: Path) -> None:
    out = tmp_path / "adamw"
    result = train(run_cli, synth_root, out, "--epochs", "6", "--optimizer", "adamw", "--lr", "1e-2",
                   "--clip-grad", "0.5", "--jitter", "32", "36", "--config", "drop_rate=0.0")
    assert result.code == 0, result.err
    start = records(out, "start")[0]
    recipe = start["recipe"]
    assert (recipe["optimizer"], recipe["clip_grad"], recipe["short_side_jitter"]) == ("adamw", 0.5, [32, 36])
    # the command recorded in the log (and the exported entry) can be pasted back: options of two values too
    assert "--jitter 32 36" in start["command"] and "--config embed_dim=32 --config depth=1" in start["command"]
    # the paper's warm-up starts at a tenth of the peak (SSv2: 0.003 of 0.03); a new --lr keeps that ratio
    assert recipe["lr"] == 1e-2 and abs(recipe["warmup_start_lr"] - 1e-3) < 1e-12
    losses = [e["loss"] for e in records(out, "epoch")]
    assert losses[-1] < losses[0] - 0.2, losses


def test_build_optimizer_follows_the_recipe() -> None:
    from linvit_cli.models.architectures import create_model
    from linvit_cli.train.recipe import SSV2, build_optimizer

    model = create_model("lvit_tiny", num_classes=3, embed_dim=32, depth=1, num_heads=2, head_hidden=32)
    sgd, _ = build_optimizer(model, SSV2, steps_per_epoch=10)
    adamw, schedule = build_optimizer(model, SSV2.with_overrides(optimizer="adamw", lr=1e-3), steps_per_epoch=10)
    assert isinstance(sgd, torch.optim.SGD) and sgd.defaults["nesterov"]
    assert isinstance(adamw, torch.optim.AdamW)
    # weights decay, norms, biases and the temporal embedding do not
    assert [g["weight_decay"] for g in adamw.param_groups] == [SSV2.weight_decay, 0.0]
    assert any(p is model.temporal_embed for p in adamw.param_groups[1]["params"])
    assert abs(schedule.get_last_lr()[0] - 1e-4) < 1e-12  # warm-up from a tenth of the peak


def documented_lr(step: int, *, peak: float, start: float, warmup: int, total: int) -> float:
    """The schedule README and recipe.py state: linear from `start` to `peak`, then a cosine to 0 at `total`."""
    if step < warmup:
        return start + (peak - start) * step / warmup
    return peak * (1 + math.cos(math.pi * (step - warmup) / (total - warmup))) / 2


@pytest.mark.parametrize("warmup_epochs", [0, 1.5])
def test_schedule_is_linear_warmup_then_cosine_and_resumes(warmup_epochs: float, tmp_path: Path) -> None:
    from linvit_cli.models.architectures import create_model
    from linvit_cli.train.checkpoint import load_checkpoint, save_checkpoint
    from linvit_cli.train.recipe import SSV2, build_optimizer

    recipe = SSV2.with_overrides(epochs=4, warmup_epochs=warmup_epochs)  # SSv2: peak 0.03, warm-up from 0.003
    model = create_model("lvit_tiny", num_classes=3, embed_dim=32, depth=1, num_heads=2, head_hidden=32)
    optimizer, schedule = build_optimizer(model, recipe, steps_per_epoch=10)
    expected = {"peak": 0.03, "start": 0.003, "warmup": round(warmup_epochs * 10), "total": 40}
    lrs = [schedule.get_last_lr()[0]]
    for step in range(40):
        optimizer.step()
        schedule.step()
        lrs.append(schedule.get_last_lr()[0])
        assert all(group["lr"] == lrs[-1] for group in optimizer.param_groups)
        if step == 16:
            save_checkpoint(tmp_path / "checkpoint.pt", {"fingerprint": {}, "optimizer": optimizer.state_dict(),
                                                          "scheduler": schedule.state_dict()})
    assert lrs == pytest.approx([documented_lr(k, **expected) for k in range(41)], rel=1e-9, abs=1e-15)
    assert lrs[-1] < 1e-15 and max(lrs) == pytest.approx(0.03)

    # a schedule rebuilt and loaded from a checkpoint file (weights_only) continues with the same numbers
    saved = load_checkpoint(tmp_path / "checkpoint.pt")
    optimizer, schedule = build_optimizer(model, recipe, steps_per_epoch=10)
    optimizer.load_state_dict(saved["optimizer"])
    schedule.load_state_dict(saved["scheduler"])
    resumed = []
    for _ in range(17, 40):
        optimizer.step()
        schedule.step()
        resumed.append(schedule.get_last_lr()[0])
    assert resumed == lrs[18:]


def test_a_checkpoint_of_another_format_is_refused_in_one_line(tmp_path: Path) -> None:
    from linvit_cli.errors import CheckpointError
    from linvit_cli.train.checkpoint import load_checkpoint

    torch.save({"format": 1, "fingerprint": {}, "scheduler": {"lr_lambdas": [None]}}, tmp_path / "old.pt")
    with pytest.raises(CheckpointError, match="format 1, written by another version of linvit"):
        load_checkpoint(tmp_path / "old.pt")


def test_mixup_and_label_smoothing_loss_is_the_direct_computation() -> None:
    from linvit_cli.train.recipe import KINETICS, build_mixup, training_loss

    recipe = KINETICS.with_overrides(label_smoothing=0.3, mixup=0.4)
    clips, labels = torch.randn(4, 3, 2, 5, 5), torch.tensor([2, 0, 3, 1])
    torch.manual_seed(0)
    mixed, targets = build_mixup(recipe, 5)(tv_tensors.Video(clips), labels)
    lam = targets[0, 2].item()  # each clip is mixed with the one before it (in batch order, wrapping round)
    assert 0 < lam < 1
    assert torch.allclose(mixed.as_subclass(torch.Tensor), lam * clips + (1 - lam) * clips.roll(1, 0), atol=1e-6)
    torch.manual_seed(0)
    assert build_mixup(recipe, 5)(tv_tensors.Video(clips), labels)[1].equal(targets)  # the same under a seed
    assert build_mixup(recipe.with_overrides(mixup=0.0), 5) is None

    logits = torch.randn(4, 5, dtype=torch.float64)
    log_p = logits.log_softmax(-1)
    smoothed = -(1 - 0.3) * log_p - 0.3 / 5 * log_p.sum(-1, keepdim=True)  # per class label, per clip
    first, second = smoothed[range(4), labels], smoothed[range(4), labels.roll(1)]
    direct = (lam * first + (1 - lam) * second).mean()
    assert training_loss(logits, targets, recipe).item() == pytest.approx(direct.item(), rel=1e-6)
    # without mixup, class indices give the plain label-smoothed cross-entropy
    assert training_loss(logits, labels, recipe).item() == pytest.approx(first.mean().item(), rel=1e-6)


def _train_clips(root: Path, *, flip: bool, seed: int = 0):
    from linvit_cli.datasets import read_dataset
    from linvit_cli.train.data import TrainClips

    entry = load_registry().get("lvit-demo")  # 8 frames, 32-pixel crops, segment sampling, the synth classes
    samples = read_dataset("ssv2", root, entry.labels, annotations=root / "something-something-v2-train.json").samples
    return TrainClips(samples[:6], entry.protocol, jitter=(32, 40), flip=flip, seed=seed)


def test_training_clips_keep_their_shape_and_depend_only_on_seed_epoch_and_index(synth_root: Path) -> None:
    clips = _train_clips(synth_root, flip=False)
    first = [clips[i] for i in range(6)]
    for clip, label, index in first:
        assert clip.shape == (3, 8, 32, 32) and clip.dtype == torch.float32 and clip.is_contiguous()
        assert label == clips.samples[index].label
        assert clip.min() >= -1 and clip.max() <= 1  # normalised with the protocol's mean and std (0.5)
    state = torch.get_rng_state()
    torch.manual_seed(123)  # whatever the global generator's state, the same clips; and it is left untouched
    again = [clips[i][0] for i in reversed(range(6))][::-1]
    assert all(a.equal(b[0]) for a, b in zip(again, first, strict=True))
    assert torch.get_rng_state().equal(torch.manual_seed(123).get_state())
    torch.set_rng_state(state)
    clips.epoch = 1
    assert not any(clips[i][0].equal(first[i][0]) for i in range(6))  # another epoch, other crops and sizes

    # with flips allowed the crops are the same and about half the clips are mirrored
    flipped = _train_clips(synth_root, flip=True)
    mirrored = [flipped[i][0].equal(first[i][0].flip(-1)) for i in range(6)]
    assert all(m or flipped[i][0].equal(first[i][0]) for i, m in enumerate(mirrored))
    assert 0 < sum(mirrored) < 6


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_torchrun_two_processes_agree(synth_root: Path, tmp_path: Path) -> None:
    out = tmp_path / "ddp"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2", "--master-addr", "127.0.0.1",
               "--master-port", str(_free_port()), "-m", "linvit_cli", "train", *TINY_MODEL, *TINY_CLIPS,
               "--root", str(synth_root), "--out", str(out), "--workers", "1", "--epochs", "2", "--lr", "0.1",
               "--accumulate", "2", "--device", "cpu"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stderr.count("epoch 2/2") == 1  # rank 0 alone reports
    start, end = records(out, "start")[0], records(out, "end")[0]
    assert start["world_size"] == 2 and start["micro_batch"] == 2
    assert len(end["rank_digests"]) == 2 and len(set(end["rank_digests"])) == 1
    assert end["rank_digests"][0] == state_digest(read_state_dict(out / "model.safetensors"))
    assert [e["clips"] for e in records(out, "epoch")] == [48, 48]  # both shards counted
