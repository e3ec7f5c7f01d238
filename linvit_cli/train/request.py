"""What a training run is asked to do, before anything is resolved: `TrainRequest`, the options of `linvit train`
as Python parameters. `train.job.prepare_training` turns one into a `TrainJob`.

This module imports no torch: `check()` refuses a request that cannot run as cheaply as `--help` runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..datasets import KINDS
from ..errors import UsageError, at_least, bad_value

if TYPE_CHECKING:
    from ..registry.load import Registry


@dataclass(frozen=True)
class TrainRequest:
    """One training run as asked for; None everywhere means the model's protocol or the paper's recipe.

    Args:
        dataset: the annotation format, ssv2, kinetics or list.
        root: the dataset folder (videos; SSv2's annotation files).
        out: the run's folder: checkpoint, log, then weights, labels.txt and weights.toml.
        model: a registry or hf:// model to go on training (its architecture, config, labels and protocol), or
        arch: an architecture to train anew (labels from the dataset); exactly one of the two.
        config: builder arguments over the model's (e.g. {"attention": "softmax"}); never num_classes.
        annotations, val_annotations: the training file (ssv2's default: ROOT/something-something-v2-train.json),
            and the validation file whose centre views are scored after each epoch.
        labels: the dataset's label file (one class per line), for `arch` and for indices in a list.
        epochs ... seed: `Recipe` fields to change from the paper's (`short_side_jitter` is (min, max)).
        frames, size: frames per clip and crop size in pixels (default: the protocol's).
        workers: DataLoader processes decoding videos (default: `machine.default_workers`).
        device, amp: cpu or cuda (default: cuda if present); mixed precision on a GPU.
        resume: a checkpoint to go on from, or "auto" for OUT/checkpoint.pt where it exists.
        skip_bad: leave out files that fail to decode (counted and logged) instead of stopping.
        name: the trained model's registry name (default: from model or arch, dataset and frames).
        log_every, stop_after: step records in the log every N steps; end after that many epochs.
        weights: a weights file to start from instead of the model's own (or random initialisation).
        registry: the registry (default: packaged + LINVIT_REGISTRY); offline, cache_dir: how hf:// models are
            read.
        command, public_command: the command to record in the log and in the trained model's entry.
    """

    dataset: str
    root: str | Path
    out: str | Path
    model: str | None = None
    arch: str | None = None
    config: dict[str, Any] = field(default_factory=dict)
    annotations: Path | None = None
    val_annotations: Path | None = None
    labels: Path | None = None
    epochs: int | None = None
    batch_size: int | None = None
    lr: float | None = None
    weight_decay: float | None = None
    warmup_epochs: float | None = None
    label_smoothing: float | None = None
    mixup: float | None = None
    accumulate: int | None = None
    optimizer: str | None = None
    clip_grad: float | None = None
    short_side_jitter: tuple[int, int] | None = None
    seed: int | None = None
    frames: int | None = None
    size: int | None = None
    workers: int | None = None
    device: str | None = None
    amp: bool = True
    resume: str | Path | None = None
    skip_bad: bool = False
    name: str | None = None
    log_every: int = 0
    stop_after: int | None = None
    weights: Path | None = None
    registry: Registry | None = None
    offline: bool = False
    cache_dir: Path | None = None
    command: str = ""
    public_command: str = ""

    def check(self) -> None:
        """Refuse what needs no file, model or torch to refuse, naming the parameter."""
        if (self.model is None) == (self.arch is None):
            raise UsageError("give exactly one of model (a registry model) and arch (a new model)",
                             cli="name exactly one of --model NAME (a registry model) and --arch ARCH (a new model)")
        if self.dataset not in KINDS:
            raise bad_value("dataset", self.dataset, f"is not one of {', '.join(KINDS)}", shown=repr(self.dataset))
        if "num_classes" in self.config:
            raise UsageError("config num_classes is derived from the labels; remove it",
                             cli="--config num_classes is derived from the labels; remove it")
        at_least("workers", self.workers, 0)
        for name in ("frames", "size"):
            at_least(name, getattr(self, name), 1)
