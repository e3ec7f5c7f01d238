"""The training loop: one process, or one per GPU (or CPU process) under torchrun with DDP.

`fit(job)` trains `job.recipe.epochs` epochs, validates after each when a validation split is given,
writes a checkpoint at each epoch end (`OUT/checkpoint.pt`), a JSON-lines log (`OUT/log.jsonl`) and at
the end `model.safetensors` + `weights.toml`. Under torchrun (RANK/WORLD_SIZE set) every process trains
on its shard of each epoch (DistributedSampler) and DDP averages gradients; rank 0 alone writes files and
shows progress. At the end every rank hashes its weights and rank 0 checks and logs that they agree.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Iterator
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler, Subset
from torchvision import tv_tensors

from ..datasets import Dataset, DatasetInfo
from ..distributed import DistContext, distributed
from ..errors import LinvitError, UsageError, bad_value
from ..integrity import sha256_of
from ..models.architectures import create_model, load_weights
from ..models.checkpoint import read_state_dict
from ..output import console
from ..output.progress import Line, Progress, counted
from ..registry.schema import Protocol
from ..workers import Failure, started, worker_init
from .checkpoint import (
    check_fingerprint,
    fingerprint,
    load_checkpoint,
    rng_state,
    save_checkpoint,
    set_rng_state,
    state_digest,
)
from .data import Batch, CentreClips, TrainClips, collate
from .export import export
from .recipe import Recipe, build_mixup, build_optimizer, training_loss

CHECKPOINT = "checkpoint.pt"
LOG = "log.jsonl"
_NAMED_FAILURES = 3  # files named in a decode-failure message


class TrainingDataError(LinvitError):
    """Files failed to decode during training or validation and skip_bad was not asked for."""


@dataclass(frozen=True)
class TrainJob:
    """Everything one run needs, resolved by the caller (the CLI) from options, registry and annotations."""

    arch: str
    config: dict[str, Any]  # builder kwargs, without num_classes (derived from labels)
    labels: tuple[str, ...]
    protocol: Protocol  # frames, crop, normalisation; also the protocol recorded for validation
    train: Dataset
    recipe: Recipe
    out: Path
    name: str  # registry name of the trained model
    data: DatasetInfo  # what the model records it was trained on
    val: Dataset | None = None
    init_weights: Path | None = None
    workers: int = 4
    device: str | None = None
    amp: bool = True
    resume: Path | None = None
    skip_bad: bool = False
    log_every: int = 0  # optimiser steps between step records in the log; 0: epoch records only
    stop_after: int | None = None  # end this process after that many epochs (the run resumes from its checkpoint)
    command: str = ""  # as given, for the log
    public_command: str = ""  # with paths as placeholders, for the weights' entry (published by `linvit push`)
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TrainResult:
    registry: Path | None  # None when the run stopped early (--stop-after)
    weights: Path | None
    val_top1: float | None
    final_loss: float


def fit(job: TrainJob) -> TrainResult:
    """Train as `job` says; see the module docstring for the files written."""
    with distributed(job.device) as (ctx, device):
        return _Run(job, ctx, device).run()


class _Run:
    def __init__(self, job: TrainJob, ctx: DistContext, device: torch.device) -> None:
        self.job, self.ctx, self.device = job, ctx, device
        recipe = job.recipe
        per_step = ctx.world * recipe.accumulate
        if recipe.batch_size % per_step:
            size, parts = recipe.batch_size, f"{ctx.world} process(es) x"
            raise UsageError(f"batch_size={size} does not split into {parts} accumulate={recipe.accumulate}; use a "
                             f"multiple of {per_step}", cli=f"--batch-size {size} does not split into {parts} "
                             f"--accumulate {recipe.accumulate}; use a multiple of {per_step}")
        self.micro = recipe.batch_size // per_step
        train_set = TrainClips(job.train.samples, job.protocol, jitter=recipe.short_side_jitter, flip=recipe.flip,
                               seed=recipe.seed)
        self.train_set = train_set
        self.sampler = DistributedSampler(train_set, num_replicas=ctx.world, rank=ctx.rank, shuffle=True,
                                          seed=recipe.seed, drop_last=True)
        self.steps = len(self.sampler) // self.micro // recipe.accumulate  # optimiser steps per epoch
        if self.steps < 1:
            raise bad_value("batch_size", recipe.batch_size, f"{job.train.found} training videos make no full step "
                            "of this many clips; lower it")
        self.amp_dtype = None
        if job.amp and device.type == "cuda":
            self.amp_dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp_dtype == torch.float16)
        torch.manual_seed(recipe.seed)  # the same initial weights in every process
        self.model = create_model(job.arch, **job.config, num_classes=len(job.labels))
        if job.init_weights is not None:
            load_weights(self.model, job.arch, read_state_dict(job.init_weights), job.init_weights)
        self.model.to(device)
        self.optimizer, self.scheduler = build_optimizer(self.model, recipe, self.steps)
        self.mixup = build_mixup(recipe, len(job.labels))
        self.fingerprint = fingerprint(
            model={"arch": job.arch, **job.config, "num_classes": len(job.labels)},
            labels=list(job.labels), init={"weights": str(job.init_weights) if job.init_weights else None},
            data={"kind": job.train.kind, "annotations": sha256_of(job.train.annotations),
                  "samples": job.train.found, "frames": job.protocol.frames, "crop": job.protocol.crop,
                  "sampling": job.protocol.sampling},
            recipe=asdict(recipe))
        self.epoch = 0
        self.failures: list[str] = []  # this epoch's decode failures in this process

    # -- plumbing ---------------------------------------------------------------------------------------
    def log(self, record: dict[str, Any]) -> None:
        if self.ctx.main:
            with (self.job.out / LOG).open("a", encoding="utf-8") as fh:
                fh.write(json.dumps({"time": round(time.time(), 3), **record}) + "\n")

    def say(self, message: str) -> None:
        if self.ctx.main:
            console.info(message)

    def loader(self, dataset: torch.utils.data.Dataset, batch_size: int, sampler: Any = None) -> DataLoader:
        workers = self.job.workers
        return DataLoader(dataset, batch_size=batch_size, sampler=sampler, num_workers=workers, collate_fn=collate,
                          worker_init_fn=worker_init if workers else None, drop_last=sampler is self.sampler,
                          pin_memory=self.device.type == "cuda")

    def autocast(self) -> Any:
        if self.amp_dtype is None:
            return nullcontext()
        return torch.autocast(self.device.type, dtype=self.amp_dtype)

    def stop_on_failures(self, failures: list[Failure], where: str) -> None:
        """Without skip_bad, any failure in any process stops every process with the files named."""
        if self.job.skip_bad:
            return
        bad = self.ctx.sum([float(len(failures))], self.device)[0]
        if bad:
            messages = [m for part in self.ctx.gather([f.message for f in failures]) for m in part]
            self.log({"event": "error", "epoch": self.epoch, "where": where, "bad_files": int(bad),
                      "bad_examples": messages[:_NAMED_FAILURES]})
            failed = (f"{int(bad)} file(s) failed to decode during {where} (epoch {self.epoch + 1}): "
                      f"{' | '.join(messages[:_NAMED_FAILURES])}; fix or remove them, or pass ")
            raise TrainingDataError(failed + "skip_bad=True to leave them out",
                                    cli=failed + "--skip-bad to leave them out")

    # -- resume / checkpoint --------------------------------------------------------------------------
    def resume(self, path: Path) -> None:
        state = load_checkpoint(path)
        check_fingerprint(state["fingerprint"], self.fingerprint, path)
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.scaler.load_state_dict(state["scaler"])
        self.epoch = state["epoch"]
        rngs = state["rng"]
        if len(rngs) == self.ctx.world:
            set_rng_state(rngs[self.ctx.rank])
        elif self.ctx.main:
            console.warning(f"{path} was written by {len(rngs)} process(es), this run has {self.ctx.world}: "
                            "dropout and mixup draws will differ from an uninterrupted run")
        self.say(f"resumed from {path} at epoch {self.epoch} (step {self.epoch * self.steps})")
        self.log({"event": "resume", "checkpoint": str(path), "epoch": self.epoch})

    def save(self) -> None:
        rngs = self.ctx.gather(rng_state())
        if self.ctx.main:
            save_checkpoint(self.job.out / CHECKPOINT, {
                "fingerprint": self.fingerprint, "epoch": self.epoch, "step": self.epoch * self.steps,
                "model": self.module.state_dict(), "optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict(), "scaler": self.scaler.state_dict(), "rng": rngs,
            })

    # -- training ----------------------------------------------------------------------------------------
    @property
    def module(self) -> nn.Module:
        return self.model.module if isinstance(self.model, DistributedDataParallel) else self.model

    def run(self) -> TrainResult:
        job = self.job
        if job.resume is not None:
            self.resume(job.resume)
        if self.ctx.active:
            self.model = DistributedDataParallel(self.model, device_ids=[self.device.index] if
                                                 self.device.type == "cuda" else None)
        self.log({"event": "start", "command": job.command, "recipe": asdict(job.recipe), "name": job.name,
                  "world_size": self.ctx.world, "micro_batch": self.micro, "steps_per_epoch": self.steps,
                  "train": job.train.summary(), "val": job.val.summary() if job.val else None,
                  "device": str(self.device), "amp": str(self.amp_dtype) if self.amp_dtype else None})
        clips_per_step = self.micro * job.recipe.accumulate * self.ctx.world
        stats: dict[str, float] = {"loss": float("nan")}
        top1 = None
        with Progress(enabled=self.ctx.main) as lines:
            bar = lines.line("train", job.recipe.epochs * self.steps, completed=self.epoch * self.steps,
                             count=counted("steps"), speed=lambda steps: f"{steps * clips_per_step:.1f} clips/s")
            while self.epoch < job.recipe.epochs:
                if job.stop_after is not None and self.epoch >= job.stop_after:
                    self.say(f"stopped after epoch {self.epoch} as asked; continue with --resume auto "
                             "(resume='auto')")
                    return TrainResult(None, None, top1, stats["loss"])
                stats = self.train_epoch(bar)
                if not np.isfinite(stats["loss"]):
                    diverged = f"the training loss became {stats['loss']} in epoch {self.epoch + 1}; lower "
                    raise LinvitError(diverged + "lr (or raise warmup_epochs)",
                                      cli=diverged + "--lr (or raise --warmup-epochs)")
                top1, val_bad = self.validate() if job.val is not None else (None, 0)
                self.epoch += 1
                self.save()
                self.log({"event": "epoch", "epoch": self.epoch, "step": self.epoch * self.steps, **stats,
                          "val_top1": top1, "val_bad_files": val_bad})
                val = "" if top1 is None else f", val top-1 {top1:.2%}"
                bad = (f", {stats['bad_files'] + val_bad} file(s) failed to decode (skipped)"
                       if stats["bad_files"] + val_bad else "")
                self.say(f"epoch {self.epoch}/{job.recipe.epochs}: loss {stats['loss']:.4f}, "
                         f"acc {stats['acc']:.2%}, {stats['clips_per_s']:.1f} clips/s{val}{bad}")
        return self.finish(top1, stats["loss"])

    def batches(self) -> Iterator[Batch]:
        """This epoch's micro-batches, exactly steps x accumulate of them in every process."""
        self.sampler.set_epoch(self.epoch)
        self.train_set.epoch = self.epoch
        loader = self.loader(self.train_set, self.micro, self.sampler)
        return itertools.islice(started(loader), self.steps * self.job.recipe.accumulate)

    def train_epoch(self, bar: Line) -> dict[str, Any]:
        recipe, model = self.job.recipe, self.model
        model.train()
        self.failures = []
        totals = np.zeros(3)  # loss x clips, correct, clips
        started = time.perf_counter()
        micro_batches = self.batches()
        for step in range(self.steps):
            for k in range(recipe.accumulate):
                batch = next(micro_batches)
                self.failures += [f.message for f in batch.failures]
                self.stop_on_failures(batch.failures, "training")
                last = k == recipe.accumulate - 1
                with nullcontext() if last or not self.ctx.active else model.no_sync():
                    totals += self.forward_backward(batch)
            if recipe.clip_grad is not None:
                self.scaler.unscale_(self.optimizer)
                torch.nn.utils.clip_grad_norm_(self.model.parameters(), recipe.clip_grad)
            self.scaler.step(self.optimizer)
            self.scaler.update()
            self.optimizer.zero_grad(set_to_none=True)
            self.scheduler.step()
            speed = totals[2] * self.ctx.world / (time.perf_counter() - started)
            bar.advance(description=f"epoch {self.epoch + 1}/{recipe.epochs}",
                        note=f"loss {totals[0] / max(totals[2], 1):.4f} acc {totals[1] / max(totals[2], 1):.1%}")
            if self.job.log_every and (step + 1) % self.job.log_every == 0:
                self.log({"event": "step", "epoch": self.epoch + 1, "step": self.epoch * self.steps + step + 1,
                          "loss": totals[0] / max(totals[2], 1), "lr": self.scheduler.get_last_lr()[0],
                          "clips_per_s": speed})
        loss_sum, correct, clips, bad = self.ctx.sum([*totals.tolist(), float(len(self.failures))], self.device)
        messages = [m for part in self.ctx.gather(self.failures) for m in part] if bad else []
        return {"loss": loss_sum / max(clips, 1), "acc": correct / max(clips, 1), "clips": int(clips),
                "lr": self.scheduler.get_last_lr()[0], "clips_per_s": clips / (time.perf_counter() - started),
                "bad_files": int(bad), "bad_examples": messages[:_NAMED_FAILURES]}

    def forward_backward(self, batch: Batch) -> np.ndarray:
        """One micro-batch: loss scaled for accumulation, backward; returns (loss x clips, correct, clips).

        A micro-batch whose every file failed (only with --skip-bad) still runs a zero-weighted step on a
        blank clip, so DDP's gradient all-reduce sees the same calls in every process.
        """
        recipe = self.job.recipe
        count = batch.clips.shape[0]
        clips = batch.clips.to(self.device, non_blocking=True) if count else torch.zeros(
            1, 3, self.job.protocol.frames, self.job.protocol.crop, self.job.protocol.crop, device=self.device)
        labels = batch.labels.to(self.device) if count else torch.zeros(1, dtype=torch.long, device=self.device)
        inputs, targets = clips, labels
        if self.mixup is not None and count > 1:
            # MixUp takes 5-d batches as videos; it mixes element-wise, so our (B, C, T, H, W) order is fine
            mixed, targets = self.mixup(tv_tensors.Video(clips), labels)
            inputs = mixed.as_subclass(Tensor)
        with self.autocast():
            logits = self.model(inputs)
        loss = training_loss(logits, targets, recipe)
        weight = 1.0 if count else 0.0
        self.scaler.scale(loss * weight / recipe.accumulate).backward()
        if not count:
            return np.zeros(3)
        correct = (logits.argmax(-1) == labels).sum().item()
        return np.array([loss.item() * count, correct, count])

    @torch.no_grad()
    def validate(self) -> tuple[float, int]:
        """Top-1 on the centre view of every validation video that decodes, over all processes (no padding),
        and the number that failed (with --skip-bad; without it they stop the run)."""
        self.model.eval()
        val = CentreClips(self.job.val.samples, self.job.protocol)
        shard = Subset(val, range(self.ctx.rank, len(val), self.ctx.world))
        correct = seen = 0
        failures: list[Failure] = []
        for batch in started(self.loader(shard, self.micro)):
            failures += batch.failures
            if batch.clips.shape[0]:
                with self.autocast():
                    logits = self.module(batch.clips.to(self.device))
                correct += (logits.argmax(-1).cpu() == batch.labels).sum().item()
                seen += batch.clips.shape[0]
        self.stop_on_failures(failures, "validation")
        correct, seen, bad = self.ctx.sum([correct, seen, len(failures)], self.device)
        return correct / max(seen, 1), int(bad)

    def finish(self, top1: float | None, loss: float) -> TrainResult:
        """Check every process holds the same weights, then write the weights and the registry entry."""
        state = self.module.state_dict()
        digests = self.ctx.gather(state_digest(state))
        job = self.job
        registry = job.out / "weights.toml"
        if self.ctx.main:
            if len(set(digests)) != 1:
                raise LinvitError(f"processes ended with different weights ({digests}); a bug, please report it")
            data = job.data  # said without the local path: the entry is what `linvit push` publishes
            meta = {**job.meta, "notes": f"trained with linvit train on {data.description}",
                    "trained_on": data.description, **({"data": data.made_with} if data.made_with else {}),
                    "command": job.public_command, "recipe": json.dumps(asdict(job.recipe), sort_keys=True)}
            if top1 is not None:
                meta["top1"] = round(100 * top1, 2)
            registry = export(job.out, name=job.name, arch=job.arch, dataset=job.data.name, config=job.config,
                              labels=job.labels, protocol=job.protocol, state_dict=state, meta=meta)
            self.log({"event": "end", "epochs": job.recipe.epochs, "loss": loss, "val_top1": top1,
                      "rank_digests": digests, "weights_sha256": sha256_of(job.out / "model.safetensors")})
        return TrainResult(registry, job.out / "model.safetensors", top1, loss)

