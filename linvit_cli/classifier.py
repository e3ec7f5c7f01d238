"""Classify video files: one model loaded once, many files, one record per file.

The records are what `linvit classify --json` prints and what `classify()` returns.
"""

from __future__ import annotations

import glob
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import VideoDecodeError, at_least
from .inference import combine_views, predict_views, resolve_autocast, resolve_device
from .loading import load_model
from .names import is_hub_name
from .registry.load import Registry
from .registry.schema import ModelEntry
from .resolve import resolve_model

if TYPE_CHECKING:
    from torch import Tensor

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
        view_batch: views per forward pass; default 1 on a CPU (batching views only costs time there:
            benchmarks/FINDINGS.md), 4 on a GPU.
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
        self.view_batch = view_batch or (1 if self.device.type == "cpu" else 4)
        self.top_k = min(top_k, self.entry.num_classes)
        self.model = load_model(self.entry, weights, device=self.device, offline=offline, cache_dir=cache_dir)

    def __call__(self, path: str | Path, progress: Callable[[int, int], None] | None = None) -> dict[str, Any]:
        """The record of one file; an unreadable file gives a record with `ok: false` and the reason.

        `progress(views done, views)` follows the model's passes over the video's views.
        """
        from .video.views import load_views

        start = time.perf_counter()
        try:
            loaded = load_views(path, self.entry.protocol, self.views)
        except VideoDecodeError as err:
            return failure(str(path), str(err))
        logits = predict_views(self.model, loaded.views, device=self.device, autocast=self.autocast,
                               view_batch=self.view_batch, progress=progress)
        probabilities = combine_views(logits, self.entry.protocol.combine)
        protocol = self.entry.protocol
        return {
            "file": str(path),
            "ok": True,
            "error": None,
            "model": self.entry.name,
            "commit": self.commit,
            "caution": self.entry.caution,
            "video": video_record(loaded.info),
            "sampling": {"kind": protocol.sampling, "frames": protocol.frames, "views": list(self.views),
                         "combine": protocol.combine},
            "top_k": self.ranking(probabilities),
            "warnings": list(loaded.warnings),
            "complete": loaded.complete,  # False: cut short, classified from the part that decodes
            "seconds": round(time.perf_counter() - start, 3),
        }

    def ranking(self, probabilities: Tensor) -> list[dict[str, Any]]:
        """The `top_k` entries of a record: rank, class index, label and probability, most likely first."""
        top = probabilities.topk(self.top_k)
        return [{"rank": r + 1, "index": int(i), "label": self.entry.labels[i], "probability": float(p)}
                for r, (p, i) in enumerate(zip(top.values.tolist(), top.indices.tolist(), strict=True))]


def video_record(info: VideoInfo) -> dict[str, Any]:
    """The `video` entry of a record: what the file says about itself (duration 0 and frames 0: unknown)."""
    return {"duration": round(info.duration, 3), "fps": round(info.fps, 3), "width": info.width,
            "height": info.height, "frames": info.num_frames, "codec": info.codec, "rotation": info.rotation}


def failure(path: str, error: str) -> dict[str, Any]:
    return {"file": path, "ok": False, "error": error}


def classify(path_or_paths: str | Path | Sequence[str | Path], model: str | None = None, top_k: int = 5,
             **options: Any) -> list[dict[str, Any]]:
    """Classify one or more videos (files, folders, globs); returns the records `--json` prints.

    Options are those of `Classifier` (weights, device, dtype, views, view_batch, registry, ...).
    A file that cannot be read gives a record with `ok: False` and `error`; the others still run.
    """
    paths = [path_or_paths] if isinstance(path_or_paths, (str, Path)) else list(path_or_paths)
    classifier = Classifier(model, top_k=top_k, **options)
    return [failure(item.path, item.error) if item.error else classifier(item.path)
            for item in expand_inputs(str(p) for p in paths)]


__all__ = ["Classifier", "classify", "expand_inputs", "video_record"]
