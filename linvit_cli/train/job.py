"""A `TrainRequest` resolved into a checked `TrainJob`, and run: what `linvit train` does, for Python callers too.

`prepare_training` resolves the model (or architecture), labels, protocol, datasets and recipe, refuses what
cannot train before any training starts, picks the registry name and the checkpoint to resume from, and makes
the run's folder; `train_model` runs the job (`loop.fit`).
"""

from __future__ import annotations

from dataclasses import fields, replace
from pathlib import Path

from ..datasets import dataset_labels, default_annotations, identify, read_dataset
from ..errors import UsageError, bad_value
from ..machine import default_workers
from ..models.architectures import get_architecture
from ..registry.load import load_registry
from ..registry.schema import Protocol
from ..resolve import resolve_model
from .export import check_name, default_name
from .loop import CHECKPOINT, TrainJob, TrainResult, fit
from .recipe import Recipe, default_recipe
from .request import TrainRequest

# The registry model whose protocol (sampling, normalisation, default frames and crop) a new architecture uses.
_KIND_PROTOCOL = {"ssv2": "lvit-ssv2", "kinetics": "lvit-k400", "list": "lvit-ssv2"}


def train_model(request: TrainRequest) -> TrainResult:
    """Train as `request` asks: `fit(prepare_training(request))` (see `train.loop` for the files written)."""
    return fit(prepare_training(request))


def prepare_training(request: TrainRequest) -> TrainJob:
    """The job `request` asks for, every part resolved and checked; makes the run's folder (`out`).

    Raises `UsageError` for what the request cannot train (an unknown model, classes the model lacks, a recipe
    that cannot run, a name already in the registry, a folder holding another run) and `AnnotationError` for
    annotation files that cannot be read.
    """
    request.check()
    registry = request.registry or load_registry()
    kind, root, out = request.dataset, Path(request.root), Path(request.out)
    if request.model is not None:
        entry = resolve_model(request.model, registry, offline=request.offline, cache_dir=request.cache_dir)
        arch, config, protocol = entry.arch, {**entry.config, **request.config}, entry.protocol
        labels: tuple[str, ...] | None = entry.labels
    else:
        arch, config, labels = get_architecture(request.arch or "").name, dict(request.config), None
        protocol = registry.get(_KIND_PROTOCOL[kind]).protocol
    protocol = _clips(protocol, request.frames, request.size)
    for key, value in (("num_frames", protocol.frames), ("img_size", protocol.crop)):
        if key in config:
            config[key] = value
    train_file = request.annotations or default_annotations(kind, root, "train")
    labels = labels or dataset_labels(kind, root, train_file, request.labels)
    train = read_dataset(kind, root, labels, annotations=train_file, label_file=request.labels)
    if not train.samples:
        raise UsageError(f"no training video found under {root} ({train.summary()})")
    val = None if request.val_annotations is None else read_dataset(
        kind, root, labels, annotations=request.val_annotations, split="validation", label_file=request.labels)
    recipe = _recipe(request, protocol.crop)
    name = request.name or default_name(request.model or arch, kind, protocol.frames)
    check_name(name)
    if name in registry.entries:
        raise bad_value("name", name, f"is already a registry model ({registry.entries[name].source}); choose "
                        "another name", shown=repr(name))
    data = identify(kind, root, labels, {frozenset(e.labels): e.dataset for e in registry})
    out.mkdir(parents=True, exist_ok=True)
    return TrainJob(arch=arch, config=config, labels=tuple(labels), protocol=protocol, train=train, recipe=recipe,
                    out=out, name=name, data=data, val=val, init_weights=request.weights,
                    workers=default_workers(request.workers), device=request.device, amp=request.amp,
                    resume=_resume_point(request.resume, out), skip_bad=request.skip_bad,
                    log_every=request.log_every, stop_after=request.stop_after, command=request.command,
                    public_command=request.public_command)


def _clips(protocol: Protocol, frames: int | None, size: int | None) -> Protocol:
    """The protocol with the clips asked for: `size` is the crop and the short side frames are resized to."""
    return replace(protocol, frames=frames or protocol.frames, crop=size or protocol.crop,
                   short_side=size or protocol.short_side)


def _recipe(request: TrainRequest, crop: int) -> Recipe:
    """The paper's recipe for the dataset with the request's changes, checked against each other and the crop."""
    changes = {f.name: getattr(request, f.name) for f in fields(Recipe) if hasattr(request, f.name)}  # same names
    recipe = default_recipe(request.dataset, crop).with_overrides(**changes)
    recipe.check()
    low, high = recipe.short_side_jitter
    if low < crop:
        problem = f"goes below the {crop}-pixel crop; use MIN >= {crop}"
        raise UsageError(f"short_side_jitter=({low}, {high}) {problem}", cli=f"--jitter {low} {high} {problem}")
    return recipe


def _resume_point(resume: str | Path | None, out: Path) -> Path | None:
    """The checkpoint to go on from: "auto" takes OUT's own if there is one; a run already in OUT is never
    started over unasked."""
    checkpoint = out / CHECKPOINT
    if resume == "auto":
        return checkpoint if checkpoint.is_file() else None
    if resume is not None:
        return Path(resume)
    if checkpoint.is_file():
        tail = "to continue it or choose another"
        raise UsageError(f"{out} already holds a training run ({CHECKPOINT}); pass resume='auto' {tail} out",
                         cli=f"{out} already holds a training run ({CHECKPOINT}); pass --resume auto {tail} --out")
    return None
