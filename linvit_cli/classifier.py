"""Classify video files: one model loaded once, many files, one record per file.

The records are what `linvit classify --json` prints and what `classify()` returns.
"""

from __future__ import annotations

import glob
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import at_least
from .inference import resolve_autocast, resolve_device
from .loader import Decoded, Unreadable, ahead, decode_views, decoder_threads, workers_for
from .loading import load_model
from .machine import decoding_workers
from .names import is_hub_name
from .predict import Predictor, default_view_batch, model_threads
from .registry.load import Registry
from .registry.schema import ModelEntry, Protocol
from .resolve import resolve_model

if TYPE_CHECKING:
    from .video.decode import VideoInfo

VIDEO_EXTENSIONS = frozenset({".mp4", ".m4v", ".mov", ".webm", ".mkv", ".avi", ".mpg", ".mpeg", ".ts",
                              ".wmv", ".flv", ".3gp", ".ogv"})


@dataclass(frozen=True)
class Input:
    """One thing to classify, or the reason an argument gave nothing to classify."""

    path: str
    error: str | None = None


def expand_inputs(arguments: Iterable[str]) -> Iterator[Input]:
    """Files as given; folders recursively (video extensions); globs; nothing silently dropped.

    A folder or glob that yields no video is reported as an input error rather than skipped.
    """
    for arg in arguments:
        path = Path(arg)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.suffix.lower() in VIDEO_EXTENSIONS and p.is_file())
            if not found:
                yield Input(arg, f"{arg}: folder has no video files ({', '.join(sorted(VIDEO_EXTENSIONS))})")
            yield from (Input(str(p)) for p in found)
        elif not path.exists() and glob.has_magic(arg):
            matches = sorted(glob.glob(arg, recursive=True))
            if not matches:
                yield Input(arg, f"{arg}: no file matches this pattern")
            yield from (Input(m) for m in matches if Path(m).is_file())
        else:
            yield Input(arg)


class Classifier:
    """A registry or Hub model ready to classify files.

    Args:
        model: registry name, `hf://owner/repo[@revision]` or an entry resolved before (`resolve_model`); None
            takes the registry's default.
        weights: a weights file to use instead of the model's own.
        registry: the registry (default: packaged + LINVIT_REGISTRY).
        device: auto, cpu, cuda or cuda:N.
        dtype: float32, bfloat16 or float16 (autocast).
        views: (clips, crops) overriding the protocol's test views.
        view_batch: views per forward pass, views of several videos in one; default `default_view_batch`
            (1 on a CPU, where batching views is no faster: benchmarks/FINDINGS.md; a bounded batch on a GPU).
        top_k: labels per record.
        offline, cache_dir: Hub cache use for weights not yet downloaded.
    """

    def __init__(self, model: str | ModelEntry | None = None, *, weights: str | Path | None = None,
                 registry: Registry | None = None, device: str = "auto", dtype: str = "float32",
                 views: tuple[int, int] | None = None, view_batch: int | None = None, top_k: int = 5,
                 offline: bool = False, cache_dir: Path | None = None) -> None:
        at_least("top_k", top_k, 1)
        at_least("view_batch", view_batch, 1)
        self.entry = model if isinstance(model, ModelEntry) else resolve_model(model, registry, offline=offline,
                                                                                cache_dir=cache_dir)
        if views is not None:
            self.entry.protocol.check_views(views, self.entry.name)
        # the Hub commit behind the results: an hf:// model's files, a registry model's pinned weights (if used)
        self.commit = self.entry.commit if weights is None or is_hub_name(self.entry.name) else None
        self.device = resolve_device(device)
        self.autocast = resolve_autocast(dtype, self.device)
        self.views = views or self.entry.protocol.views
        protocol = self.entry.protocol
        self.view_batch = view_batch or default_view_batch(self.device, protocol)
        self.top_k = min(top_k, self.entry.num_classes)
        self.model = load_model(self.entry, weights, device=self.device, offline=offline, cache_dir=cache_dir)
        self.predict = Predictor(self.model, device=self.device, autocast=self.autocast, view_batch=self.view_batch,
                                 combine=protocol.combine, labels=self.entry.labels, top_k=self.top_k,
                                 threads=model_threads(self.device, protocol))

    def __call__(self, path: str | Path, progress: Callable[[int, int], None] | None = None) -> dict[str, Any]:
        """The record of one file, decoded here; an unreadable file gives a record with `ok: false` and the reason.

        `progress(views done, views)` follows the model's passes over the video's views.
        """
        return next(self.records([Input(str(path))], workers=0, progress=progress))

    def records(self, inputs: Sequence[Input], *, workers: int = 0,
                progress: Callable[[int, int], None] | None = None) -> Iterator[dict[str, Any]]:
        """The records of `inputs`, in their order, as each is done; `workers` processes decode ahead."""
        decode = partial(_decode_input, protocol=self.entry.protocol, views=self.views,
                         threads=decoder_threads(workers))
        loaded = ahead(inputs, decode, workers, yield_cpu=self.predict.busy_cpu)
        items = (((item.path, got), got.views if isinstance(got, Decoded) else None)
                 for item, got in zip(inputs, loaded, strict=True))
        for prediction in self.predict(items, progress):
            path, got = prediction.key
            yield (failure(path, got.message) if isinstance(got, Unreadable) else
                   self.record(path, got, prediction.top_k or [], prediction.seconds))

    def record(self, path: str, decoded: Decoded, top_k: list[dict[str, Any]], model_seconds: float,
               ) -> dict[str, Any]:
        """A file's record: what it is, how it was sampled, the ranked labels, warnings and the seconds spent."""
        return {
            "file": path,
            "ok": True,
            "error": None,
            "model": self.entry.name,
            "commit": self.commit,
            "caution": self.entry.caution,
            "video": video_record(decoded.info),
            "sampling": self.sampling(),
            "top_k": top_k,
            "warnings": list(decoded.warnings),
            "complete": decoded.complete,  # False: cut short, classified from the part that decodes
            "seconds": round(decoded.seconds + model_seconds, 3),
        }

    def sampling(self) -> dict[str, Any]:
        """The `sampling` entry of a record: the protocol's frames and fusion, with the views used."""
        protocol = self.entry.protocol
        return {"kind": protocol.sampling, "frames": protocol.frames, "views": list(self.views),
                "combine": protocol.combine}


def _decode_input(item: Input, protocol: Protocol, views: tuple[int, int], threads: int) -> Decoded | Unreadable:
    """An input's views, or the reason it gave none (an argument that matched no file, an unreadable file)."""
    return Unreadable(item.error) if item.error else decode_views(item.path, protocol, views, threads)


def video_record(info: VideoInfo) -> dict[str, Any]:
    """The `video` entry of a record: what the file says about itself (duration 0 and frames 0: unknown)."""
    return {"duration": round(info.duration, 3), "fps": round(info.fps, 3), "width": info.width,
            "height": info.height, "frames": info.num_frames, "codec": info.codec, "rotation": info.rotation}


def failure(path: str, error: str) -> dict[str, Any]:
    """The record of an input that gave no result: the file (or argument) and why."""
    return {"file": path, "ok": False, "error": error}


def classify(path_or_paths: str | Path | Sequence[str | Path], model: str | None = None, top_k: int = 5, *,
             workers: int | None = None, **options: Any) -> list[dict[str, Any]]:
    """Classify one or more videos (files, folders, globs); returns the records `--json` prints.

    `workers` processes decode ahead of the model (default: as `linvit classify`, one per CPU; 0 decodes
    here). Options are those of `Classifier` (weights, device, dtype, views, view_batch, registry, ...).
    A file that cannot be read gives a record with `ok: False` and `error`; the others still run.
    """
    paths = [path_or_paths] if isinstance(path_or_paths, (str, Path)) else list(path_or_paths)
    classifier = Classifier(model, top_k=top_k, **options)
    inputs = list(expand_inputs(str(p) for p in paths))
    return list(classifier.records(inputs, workers=workers_for(decoding_workers(workers), len(inputs))))


__all__ = ["Classifier", "classify", "expand_inputs", "video_record"]
