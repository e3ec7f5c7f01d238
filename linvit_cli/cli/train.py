"""`linvit train`: train a registry model or an architecture config on an annotated video dataset.

The command resolves the model, labels, protocol, datasets and recipe, reports what it found, and hands a
`TrainJob` to `linvit_cli.train.loop.fit`. Under torchrun every process runs this command; only rank 0
prints.
"""

from __future__ import annotations

from dataclasses import asdict, replace
from pathlib import Path
from typing import Annotated, Any

import typer

from ..errors import UsageError, at_least
from ..output import console
from ._options import (
    CacheDirOpt,
    ModelOpt,
    OfflineOpt,
    RegistryOpt,
    WeightsOpt,
    WorkersOpt,
    command_line,
    default_workers,
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

_KIND_PROTOCOL = {"ssv2": "lvit-ssv2", "kinetics": "lvit-k400", "list": "lvit-ssv2"}  # protocols for --arch


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
    from ..datasets import KINDS
    from ..registry.load import load_registry

    if (model is None) == (arch is None):
        raise UsageError("name exactly one of --model NAME (a registry model) and --arch ARCH (a new model)")
    if dataset not in KINDS:
        raise UsageError(f"--dataset '{dataset}' is not one of {', '.join(KINDS)}")
    at_least("workers", workers, 0)
    for path, option in ((weights, "--weights"), (annotations, "--annotations"), (val_annotations,
                         "--val-annotations"), (labels, "--labels")):
        check_input_file(path, option)
    check_output_folder(out, "--out")
    reg = load_registry(registry)
    overrides = parse_config(config or [])
    from ..datasets import dataset_labels, default_annotations, identify, read_dataset  # torch from here on
    from ..distributed import distributed_rank
    from ..models.architectures import get_architecture
    from ..registry.load import load_registry
    from ..resolve import resolve_model
    from ..train.export import check_name, default_name
    from ..train.loop import CHECKPOINT, TrainJob, fit
    from ..train.recipe import default_recipe

    main = distributed_rank() == 0
    if model is not None:
        entry = resolve_model(model, reg, offline=offline, cache_dir=cache_dir)
        arch_name, build, protocol = entry.arch, {**entry.config, **overrides}, entry.protocol
        label_names = entry.labels
    else:
        arch_name, build = get_architecture(arch).name, overrides
        protocol = reg.get(_KIND_PROTOCOL[dataset]).protocol
    if "num_classes" in build:
        raise UsageError("--config num_classes is derived from the labels; remove it")
    protocol = replace(protocol, frames=frames or protocol.frames, crop=size or protocol.crop,
                       short_side=size or protocol.short_side)
    for key, value in (("num_frames", protocol.frames), ("img_size", protocol.crop)):
        if key in build:
            build[key] = value
    train_file = annotations or default_annotations(dataset, root, "train")
    if model is None:
        label_names = dataset_labels(dataset, root, train_file, labels)
    data = identify(dataset, root, label_names, {frozenset(e.labels): e.dataset for e in reg})
    train_set = read_dataset(dataset, root, label_names, annotations=train_file, label_file=labels)
    val_set = None if val_annotations is None else read_dataset(
        dataset, root, label_names, annotations=val_annotations, split="validation", label_file=labels)
    recipe = default_recipe(dataset, protocol.crop).with_overrides(
        epochs=epochs, batch_size=batch_size, lr=lr, weight_decay=weight_decay, warmup_epochs=warmup_epochs,
        label_smoothing=label_smoothing, mixup=mixup, accumulate=accumulate, optimizer=optimizer,
        clip_grad=clip_grad, short_side_jitter=jitter, seed=seed)
    recipe.check()
    if recipe.short_side_jitter[0] < protocol.crop:
        raise UsageError(f"--jitter {' '.join(map(str, recipe.short_side_jitter))} goes below the "
                         f"{protocol.crop}-pixel crop; use MIN >= {protocol.crop}")

    name = name or default_name(model or arch_name, dataset, protocol.frames)
    check_name(name)
    if name in reg.entries:
        raise UsageError(f"--name '{name}' is already a registry model ({reg.entries[name].source}); "
                         "choose another --name")
    out.mkdir(parents=True, exist_ok=True)
    checkpoint = out / CHECKPOINT
    resume_path = None
    if resume == "auto":
        resume_path = checkpoint if checkpoint.is_file() else None
    elif resume is not None:
        resume_path = Path(resume)
    elif checkpoint.is_file():
        raise UsageError(f"{out} already holds a training run ({CHECKPOINT}); pass --resume auto to continue it "
                         "or choose another --out")

    if main:
        for split in (train_set, val_set):
            if split is not None:
                (console.warning if split.missing else _info)(split.summary())
        _info(f"model {model or arch_name} ({arch_name}, {len(label_names)} classes) -> {name}; "
              f"config {build or '{}'}; clips {protocol.frames} frames x {protocol.crop}px, {protocol.sampling} "
              "sampling")
        _info("recipe: " + ", ".join(f"{k}={v}" for k, v in asdict(recipe).items()))
    if not train_set.samples:
        raise UsageError(f"no training video found under {root} ({train_set.summary()})")
    job = TrainJob(arch=arch_name, config=build, labels=tuple(label_names), protocol=protocol, train=train_set,
                   recipe=recipe, out=out, name=name, data=data, val=val_set, init_weights=weights,
                   workers=default_workers(workers), device=device, amp=amp, resume=resume_path, skip_bad=skip_bad,
                   log_every=log_every, stop_after=stop_after, command=command_line(ctx),
                   public_command=command_line(ctx, public=True, leave_out=("resume", "stop_after")))
    result = fit(job)
    if main and result.registry is not None:
        top1 = "" if result.val_top1 is None else f", validation top-1 {result.val_top1:.2%}"
        _info(f"wrote {result.weights} and {result.registry}{top1}; use it with "
              f"--registry {result.registry} --model {name}")
    raise typer.Exit(0)


def _info(message: str) -> None:
    console.stderr.print(message, markup=False, highlight=False)
