"""`linvit train`: train a registry model or an architecture config on an annotated video dataset.

The options become a `TrainRequest`; what needs no torch is checked first, then
`linvit_cli.train.job.prepare_training` resolves it into a `TrainJob`, the command reports what it found, and
`linvit_cli.train.loop.fit` runs it. Under torchrun every process runs this command; only rank 0 prints.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer

from ..errors import UsageError
from ..output import console
from ._options import (
    CacheDirOpt,
    ModelOpt,
    OfflineOpt,
    RegistryOpt,
    WeightsOpt,
    WorkersOpt,
    command_line,
)
from ._paths import check_input_file, check_output_folder
from .root import app

EXAMPLES = """Examples:

\b
  linvit synth data/synth --train 1200 --validation 240
  linvit train --arch lvit_tiny --dataset ssv2 --root data/synth --out runs/tiny --frames 8 --size 64 --epochs 10 \\
      --val-annotations data/synth/something-something-v2-validation.json
  linvit train --model lvit-k400 --dataset kinetics --root k400/train --annotations k400/train.csv --out runs/k400
  linvit train --arch lvit_b16 --config attention=softmax --config feature_fixation=false --dataset list ...
  torchrun --nproc-per-node 8 -m linvit_cli train --model lvit-ssv2 --dataset ssv2 --root ssv2 --out runs/ssv2

Then: linvit classify --registry runs/tiny/weights.toml --model NAME VIDEO
"""

def parse_config(items: list[str]) -> dict[str, Any]:
    """`key=value` pairs; values read as TOML literals (true, 3, 0.5, [1, 2]), else as plain strings."""
    from ..registry.load import tomllib

    config: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--config '{item}' is not key=value (e.g. --config attention=softmax)")
        try:
            config[key.strip()] = tomllib.loads(f"v = {value.strip()}")["v"]
        except tomllib.TOMLDecodeError:
            config[key.strip()] = value.strip()
    return config


@app.command("train", epilog=EXAMPLES)
def train_command(
    ctx: typer.Context,
    dataset: Annotated[str, typer.Option("--dataset", help="Annotation format: ssv2, kinetics or list.")],
    root: Annotated[Path, typer.Option("--root", help="Dataset folder (videos; SSv2 annotation files).")],
    out: Annotated[Path, typer.Option("--out", help="Folder for checkpoint, log, weights and weights.toml.")],
    model: ModelOpt = None,
    arch: Annotated[str | None, typer.Option("--arch", help="Architecture to build (lvit_b16, lvit_tiny, ...); "
                                             "labels then come from the dataset.")] = None,
    config: Annotated[list[str] | None, typer.Option("--config", help="Builder argument key=value "
                                                     "(repeatable), e.g. attention=softmax.")] = None,
    annotations: Annotated[Path | None, typer.Option("--annotations", help="Training annotation file "
                                                     "(ssv2 default: ROOT/something-something-v2-train.json).")] = None,
    val_annotations: Annotated[Path | None, typer.Option("--val-annotations", help="Validation annotation file: "
                                                         "top-1 on centre views after each epoch.")] = None,
    labels: Annotated[Path | None, typer.Option("--labels", help="The dataset's label file (one class per line) "
                                                "for --arch and for integer labels in a list.")] = None,
    epochs: Annotated[int | None, typer.Option("--epochs", help="Default: the paper's (K400 40, SSv2 35).")] = None,
    batch_size: Annotated[int | None, typer.Option("--batch-size", help="Clips per optimiser step, all "
                                                   "processes together (default 32).")] = None,
    lr: Annotated[float | None, typer.Option("--lr", help="Peak learning rate (K400 0.035, SSv2 0.03).")] = None,
    weight_decay: Annotated[float | None, typer.Option("--weight-decay")] = None,
    warmup_epochs: Annotated[float | None, typer.Option("--warmup-epochs")] = None,
    label_smoothing: Annotated[float | None, typer.Option("--label-smoothing")] = None,
    mixup: Annotated[float | None, typer.Option("--mixup", help="Mixup alpha; 0 turns it off.")] = None,
    accumulate: Annotated[int | None, typer.Option("--accumulate", help="Micro-batches per optimiser step.")] = None,
    optimizer: Annotated[str | None, typer.Option("--optimizer", help="sgd (Nesterov, the paper's) or adamw "
                                                  "(for small models trained from scratch).")] = None,
    clip_grad: Annotated[float | None, typer.Option("--clip-grad", help="Clip the gradient norm of each "
                                                    "optimiser step to this value (default: no clipping).")] = None,
    jitter: Annotated[tuple[int, int] | None, typer.Option("--jitter", metavar="MIN MAX", help="Short side of "
                                                           "training frames, drawn per clip in [MIN, MAX] before "
                                                           "the random crop (default: the paper's 256-320 for "
                                                           "224-pixel crops, scaled to --size).")] = None,
    seed: Annotated[int | None, typer.Option("--seed")] = None,
    workers: WorkersOpt = None,
    frames: Annotated[int | None, typer.Option("--frames", help="Frames per clip (default: the protocol's).")] = None,
    size: Annotated[int | None, typer.Option("--size", help="Crop size in pixels (default: the protocol's).")] = None,
    amp: Annotated[bool, typer.Option("--amp/--no-amp", help="Mixed precision on GPU (bf16, else fp16 with "
                                      "loss scaling); CPU runs in float32.")] = True,
    device: Annotated[str | None, typer.Option("--device", help="cpu or cuda (default: cuda if present).")] = None,
    resume: Annotated[str | None, typer.Option("--resume", help="A checkpoint to continue from, or 'auto' "
                                               "for OUT/checkpoint.pt when it exists.")] = None,
    skip_bad: Annotated[bool, typer.Option("--skip-bad", help="Leave out files that fail to decode (counted "
                                           "and logged) instead of stopping.")] = False,
    name: Annotated[str | None, typer.Option("--name", help="Registry name of the trained model.")] = None,
    log_every: Annotated[int, typer.Option("--log-every", help="Also log every N optimiser steps.")] = 0,
    stop_after: Annotated[int | None, typer.Option("--stop-after", help="End after this many epochs with a "
                                                   "checkpoint (for job time limits); --resume auto goes on.")] = None,
    weights: WeightsOpt = None,
    registry: RegistryOpt = None,
    offline: OfflineOpt = False,
    cache_dir: CacheDirOpt = None,
) -> None:
    """Train a video classifier with the paper's recipe (SGD + Nesterov, warm-up + cosine, label smoothing,
    mixup, short-side jitter and random crops); runs on many GPUs or machines through torchrun."""
    from ..registry.load import load_registry
    from ..train.request import TrainRequest

    request = TrainRequest(
        dataset=dataset, root=root, out=out, model=model, arch=arch, config=parse_config(config or []),
        annotations=annotations, val_annotations=val_annotations, labels=labels, epochs=epochs,
        batch_size=batch_size, lr=lr, weight_decay=weight_decay, warmup_epochs=warmup_epochs,
        label_smoothing=label_smoothing, mixup=mixup, accumulate=accumulate, optimizer=optimizer, clip_grad=clip_grad,
        short_side_jitter=jitter, seed=seed, frames=frames, size=size, workers=workers, device=device, amp=amp,
        resume=resume, skip_bad=skip_bad, name=name, log_every=log_every, stop_after=stop_after, weights=weights,
        registry=load_registry(registry), offline=offline, cache_dir=cache_dir, command=command_line(ctx),
        public_command=command_line(ctx, public=True, leave_out=("resume", "stop_after")))
    request.check()
    for path, option in ((weights, "--weights"), (annotations, "--annotations"), (val_annotations,
                         "--val-annotations"), (labels, "--labels")):
        check_input_file(path, option)
    check_output_folder(out, "--out")
    from ..distributed import distributed_rank  # torch from here on
    from ..train.job import prepare_training
    from ..train.loop import fit

    job = prepare_training(request)
    main = distributed_rank() == 0
    if main:
        for split in (job.train, job.val):
            if split is not None:
                (console.warning if split.missing else console.info)(split.summary())
        protocol = job.protocol
        console.info(f"model {model or job.arch} ({job.arch}, {len(job.labels)} classes) -> {job.name}; config "
                     f"{job.config or '{}'}; clips {protocol.frames} frames x {protocol.crop}px, {protocol.sampling} "
                     "sampling")
        console.info("recipe: " + ", ".join(f"{k}={v}" for k, v in asdict(job.recipe).items()))
    result = fit(job)
    if main and result.registry is not None:
        top1 = "" if result.val_top1 is None else f", validation top-1 {result.val_top1:.2%}"
        console.info(f"wrote {result.weights} and {result.registry}{top1}; use it with "
                     f"--registry {result.registry} --model {job.name}")
    raise typer.Exit(0)
