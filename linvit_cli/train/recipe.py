"""The paper's training recipe (docs/training.md) as data, and the optimiser, schedule and mixup it implies.

SGD with Nesterov momentum 0.9; the learning rate rises linearly from `warmup_start_lr` to `lr` over the
warm-up epochs, then follows a cosine to zero at the last step (torch's LinearLR then CosineAnnealingLR, per
optimiser step); no weight decay on norms, biases and the parameters a model names in `no_weight_decay()`;
label-smoothed cross-entropy (`F.cross_entropy(..., label_smoothing=)`) on torchvision's MixUp targets.

The paper's SGD recipe fine-tunes an ImageNet-initialised backbone. A small model trained from scratch
stays at chance with it on the synthetic benchmark where AdamW learns (benchmarks/ablation.md), so AdamW and
gradient clipping are options.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.optim.lr_scheduler import CosineAnnealingLR, LinearLR, LRScheduler, SequentialLR
from torchvision.transforms import v2

from ..errors import UsageError, at_least, bad_value


@dataclass(frozen=True)
class Recipe:
    """Every setting that changes what training computes (and so must match when resuming).

    Args:
        epochs: passes over the training split.
        batch_size: clips per optimiser step over all processes (the paper: 32).
        accumulate: micro-batches summed per optimiser step; each holds batch_size / (processes * accumulate).
        lr: peak learning rate, for `batch_size` clips per step.
        warmup_epochs, warmup_start_lr: the linear warm-up.
        weight_decay: L2 on weights (not norms, biases, embeddings).
        momentum: Nesterov momentum.
        label_smoothing: mass spread evenly over all classes.
        mixup: Beta(alpha, alpha) mixing of clip pairs; 0 turns it off.
        short_side_jitter: (min, max) short side frames are resized to before the random crop.
        flip: random horizontal flips (off for SSv2, whose classes name directions).
        optimizer: "sgd" (Nesterov, the paper's) or "adamw" (betas 0.9, 0.999).
        clip_grad: largest gradient norm per optimiser step; None does not clip (the paper's).
        seed: model initialisation, data order, augmentation.
    """

    epochs: int
    batch_size: int
    lr: float
    warmup_epochs: float
    warmup_start_lr: float
    weight_decay: float
    label_smoothing: float
    mixup: float
    flip: bool
    short_side_jitter: tuple[int, int]
    momentum: float = 0.9
    accumulate: int = 1
    optimizer: Literal["sgd", "adamw"] = "sgd"
    clip_grad: float | None = None
    seed: int = 0

    def with_overrides(self, **changes: Any) -> Recipe:
        """This recipe with the given fields changed; None leaves a field as it is.

        A new `lr` scales `warmup_start_lr` with it (unless that is given too), so the warm-up still starts
        at the same fraction of the peak.
        """
        changes = {k: v for k, v in changes.items() if v is not None}
        if "lr" in changes and "warmup_start_lr" not in changes:
            changes["warmup_start_lr"] = self.warmup_start_lr * changes["lr"] / self.lr
        return replace(self, **changes)

    def check(self) -> None:
        """Refuse settings that cannot train, naming the parameter."""
        for name in ("epochs", "batch_size", "accumulate"):
            at_least(name, getattr(self, name), 1)
        if not self.lr > 0:
            raise bad_value("lr", self.lr, "must be positive", shown=f"{self.lr:g}")
        for name in ("weight_decay", "warmup_epochs", "mixup"):
            if getattr(self, name) < 0:
                raise bad_value(name, getattr(self, name), "must not be negative", shown=f"{getattr(self, name):g}")
        if not 0 <= self.label_smoothing < 1:
            raise bad_value("label_smoothing", self.label_smoothing, "must be in [0, 1)",
                            shown=f"{self.label_smoothing:g}")
        if self.optimizer not in OPTIMIZERS:
            raise bad_value("optimizer", self.optimizer, f"is not one of {', '.join(OPTIMIZERS)}",
                            shown=repr(self.optimizer))
        if self.clip_grad is not None and not self.clip_grad > 0:
            raise bad_value("clip_grad", self.clip_grad, "must be positive", shown=f"{self.clip_grad:g}")
        low, high = self.short_side_jitter
        if not 0 < low <= high:
            problem = "must be two sizes MIN MAX with 0 < MIN <= MAX"
            raise UsageError(f"short_side_jitter=({low}, {high}): {problem}", cli=f"--jitter {low} {high}: {problem}")


OPTIMIZERS = ("sgd", "adamw")


# The authors' configs (docs/training.md). Jitter [256, 320] is for 224-pixel crops; `for_crop` scales it.
KINETICS = Recipe(epochs=40, batch_size=32, lr=0.035, warmup_epochs=5, warmup_start_lr=0.01, weight_decay=1e-5,
                  label_smoothing=0.3, mixup=0.4, flip=True, short_side_jitter=(256, 320))
SSV2 = Recipe(epochs=35, batch_size=32, lr=0.03, warmup_epochs=5, warmup_start_lr=0.003, weight_decay=1e-4,
              label_smoothing=0.0, mixup=0.0, flip=False, short_side_jitter=(256, 320))
PAPER_CROP = 224


def default_recipe(dataset: str, crop: int) -> Recipe:
    """The paper's recipe for a dataset format (SSv2's for ssv2, Kinetics' otherwise), jitter scaled to `crop`."""
    base = SSV2 if dataset == "ssv2" else KINETICS
    low, high = (round(side * crop / PAPER_CROP) for side in base.short_side_jitter)
    return replace(base, short_side_jitter=(low, high))


def param_groups(model: nn.Module, weight_decay: float) -> list[dict[str, Any]]:
    """Two groups: decayed weights, and norms, biases and the model's `no_weight_decay()` names undecayed."""
    skip = set(model.no_weight_decay()) if hasattr(model, "no_weight_decay") else set()
    decay, no_decay = [], []
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        (no_decay if param.ndim <= 1 or name in skip else decay).append(param)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def build_optimizer(model: nn.Module, recipe: Recipe, steps_per_epoch: int,
                    ) -> tuple[torch.optim.Optimizer, LRScheduler]:
    """SGD (Nesterov) or AdamW over `param_groups` and its per-step warm-up + cosine schedule."""
    groups = param_groups(model, recipe.weight_decay)
    optimizer: torch.optim.Optimizer
    if recipe.optimizer == "adamw":
        optimizer = torch.optim.AdamW(groups, lr=recipe.lr)
    else:
        optimizer = torch.optim.SGD(groups, lr=recipe.lr, momentum=recipe.momentum, nesterov=True)
    schedule = warmup_cosine(optimizer, total_steps=recipe.epochs * steps_per_epoch,
                             warmup_steps=round(recipe.warmup_epochs * steps_per_epoch),
                             start_factor=recipe.warmup_start_lr / recipe.lr)
    return optimizer, schedule


def warmup_cosine(optimizer: torch.optim.Optimizer, *, total_steps: int, warmup_steps: int, start_factor: float,
                  ) -> LRScheduler:
    """Learning rate after k of N optimiser steps (peak P, W warm-up steps, f = start_factor):
    P * (f + (1 - f) * k / W) while k < W, then P * (1 + cos(pi * (k - W) / (N - W))) / 2, which is 0 at k = N.

    The paper's linear warm-up from `warmup_start_lr` followed by a cosine, updated every optimiser step; a
    warm-up as long as the run never reaches the cosine.
    """
    cosine = CosineAnnealingLR(optimizer, T_max=max(total_steps - warmup_steps, 1))
    if warmup_steps == 0:
        return cosine
    warmup = LinearLR(optimizer, start_factor=start_factor, end_factor=1.0, total_iters=warmup_steps)
    return SequentialLR(optimizer, [warmup, cosine], milestones=[warmup_steps])


def build_mixup(recipe: Recipe, num_classes: int) -> v2.MixUp | None:
    """torchvision's MixUp with Beta(alpha, alpha) weights (None when the recipe has no mixup).

    It mixes each clip with the one before it in the batch and returns the mixed one-hot targets; its weight is
    drawn from torch's global generator, whose state the checkpoints save, so resumed runs mix the same.
    """
    return v2.MixUp(alpha=recipe.mixup, num_classes=num_classes) if recipe.mixup > 0 else None


def training_loss(logits: Tensor, targets: Tensor, recipe: Recipe) -> Tensor:
    """The recipe's label-smoothed cross-entropy, in float32 whatever the autocast dtype.

    `targets` are class indices, or MixUp's class probabilities; either way the smoothing spreads
    `label_smoothing` evenly over all classes.
    """
    return F.cross_entropy(logits.float(), targets, label_smoothing=recipe.label_smoothing)
