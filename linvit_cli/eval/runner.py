"""The evaluation loop: videos decoded in DataLoader workers, views through the model in chunks, one JSON
line per video as it is done; `--resume` skips what an earlier run did; torchrun splits the rest.

Scores come from `predict_views` and `combine_views` on a `Classifier`'s model, so `linvit classify` and
`linvit eval` give the same numbers for the same file. A file that fails to decode becomes a record with
its error (counted as unreadable), never another video. Under torchrun each process takes every
world-th remaining video (a strided shard: disjoint, nothing padded or evaluated twice), writes its own part
file, and after the last video process 0 merges the parts and writes the report.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import torch
from torch import Tensor
from torch.utils.data import DataLoader
from torch.utils.data import Dataset as TorchDataset

from ..classifier import Classifier
from ..datasets import Dataset, Sample
from ..distributed import DistContext, distributed
from ..errors import VideoDecodeError
from ..inference import combine_views, predict_views
from ..output import console
from ..registry.schema import ModelEntry, Protocol
from ..video.views import load_views
from ..workers import Failure, worker_init
from . import report as rep

TOP5 = 5  # predictions kept per video at least, so top-5 is always computable


@dataclass(frozen=True)
class EvalJob:
    """One evaluation, resolved by the caller (the CLI) from options, registry and annotations."""

    model: ModelEntry  # resolved once, by the caller
    dataset: Dataset
    out: Path
    views: tuple[int, int] | None = None  # None: the protocol's
    views_override: str | None = None  # the option that chose `views`, for the report
    weights: Path | None = None
    device: str = "auto"
    dtype: str = "float32"
    workers: int = 4
    view_batch: int | None = None  # None: all views of a video in one pass on a GPU, one at a time on a CPU
    top_k: int = TOP5
    limit: int | None = None
    resume: bool = False
    offline: bool = False
    cache_dir: Path | None = None
    command: str = ""


class Decoded(NamedTuple):
    """A decoded video's test views, with the decoder's warnings and the seconds the worker spent on it."""

    index: int
    views: Tensor
    warnings: list[str]
    seconds: float


class TestViews(TorchDataset):
    """The test views of chosen samples, or a `Failure`; `threads` caps FFmpeg per worker."""

    def __init__(self, samples: Sequence[Sample], order: Sequence[int], protocol: Protocol,
                 views: tuple[int, int], threads: int) -> None:
        self.samples, self.order, self.protocol, self.views, self.threads = samples, order, protocol, views, threads

    def __len__(self) -> int:
        return len(self.order)

    def __getitem__(self, position: int) -> Decoded | Failure:
        index = self.order[position]
        start = time.perf_counter()
        try:
            loaded = load_views(self.samples[index].path, self.protocol, self.views, threads=self.threads)
        except VideoDecodeError as err:
            return Failure(index, str(err))
        return Decoded(index, loaded.views, loaded.warnings, time.perf_counter() - start)


def fingerprint(job: EvalJob, classifier: Classifier) -> dict[str, Any]:
    """What makes two runs' predictions interchangeable: model and weights, data, protocol, precision."""
    entry = classifier.entry
    return {"model": entry.name, "arch": entry.arch, "config": dict(entry.config), "labels": list(entry.labels),
            "weights": rep.weights_source(entry, job.weights),
            "protocol": rep.protocol_section(entry.protocol, classifier.views, None),
            "dtype": job.dtype, "top_k": classifier.top_k, "dataset": rep.dataset_fingerprint(job.dataset)}


def evaluate(job: EvalJob) -> dict[str, Any] | None:
    """Run `job`; process 0 returns the report (also in OUT/report.json), the others None."""
    clips, crops = job.views or job.model.protocol.views
    with distributed(job.device) as (ctx, device):
        # a GPU takes all views of a video in one pass; a CPU, the Classifier's default, one at a time
        view_batch = job.view_batch or (None if device.type == "cpu" else clips * crops)
        classifier = Classifier(job.model, weights=job.weights, device=str(device),
                                dtype=job.dtype, views=(clips, crops), view_batch=view_batch,
                                top_k=max(job.top_k, TOP5), offline=job.offline, cache_dir=job.cache_dir)
        return _Run(job, classifier, ctx).run()


class _Run:
    def __init__(self, job: EvalJob, classifier: Classifier, ctx: DistContext) -> None:
        self.job, self.classifier, self.ctx = job, classifier, ctx
        dataset = job.dataset
        self.names = [rep.relative_name(dataset, s.path) for s in dataset.samples]
        self.chosen = range(len(self.names) if job.limit is None else min(job.limit, len(self.names)))
        entry = classifier.entry
        self.header = {
            "status": "running",
            "model": {"name": entry.name, "commit": classifier.commit, "arch": entry.arch, "dataset": entry.dataset,
                      "num_classes": entry.num_classes, "weights": rep.weights_source(entry, job.weights)},
            "protocol": rep.protocol_section(entry.protocol, classifier.views, job.views_override),
            "command": job.command,
            "fingerprint": fingerprint(job, classifier),
        }

    def run(self) -> dict[str, Any] | None:
        job, ctx = self.job, self.ctx
        job.out.mkdir(parents=True, exist_ok=True)
        rep.check_resume(job.out, self.header["fingerprint"], job.resume)  # every process: all refuse alike
        done = rep.done_records(job.out)
        remaining = [i for i in self.chosen if self.names[i] not in done]
        ctx.barrier()  # everyone has read the earlier records before anyone appends
        if ctx.main:
            rep.write_json(job.out / rep.REPORT, self.header)
        timing = self.loop(remaining[ctx.rank :: ctx.world])
        timings = ctx.gather(timing)  # also waits until every part file is complete
        if not ctx.main:
            return None
        records = rep.merge(job.out, [self.names[i] for i in self.chosen])
        labels = self.classifier.entry.labels
        report = {**self.header, "status": "complete",
                  "dataset": rep.dataset_section(job.dataset, records, job.limit),
                  "metrics": rep.metrics_section(records, labels),
                  "timing": self.timing(timings, resumed=len(self.chosen) - len(remaining))}
        rep.write_json(job.out / rep.REPORT, report)
        return report

    def loop(self, shard: list[int]) -> dict[str, float]:
        """Evaluate this process's shard into its part file; returns its seconds (wall, decode, model, waiting)."""
        job, classifier = self.job, self.classifier
        workers = job.workers
        data = TestViews(job.dataset.samples, shard, classifier.entry.protocol, classifier.views,
                         threads=1 if workers else 0)
        loader = DataLoader(data, batch_size=None, num_workers=workers, pin_memory=classifier.device.type == "cuda",
                            worker_init_fn=worker_init if workers else None)
        seconds = {"wall": 0.0, "decode": 0.0, "model": 0.0, "waiting": 0.0, "videos": 0.0}
        started = time.perf_counter()
        part = rep.part_path(job.out, self.ctx.rank)
        with rep.PartWriter(part) as writer, _progress(len(shard), self.ctx) as advance:
            ready = time.perf_counter()
            for item in loader:
                seconds["waiting"] += time.perf_counter() - ready
                if isinstance(item, Failure):
                    record = self.failure_record(item)
                else:
                    seconds["decode"] += item.seconds
                    tick = time.perf_counter()
                    record = self.prediction_record(item)
                    seconds["model"] += time.perf_counter() - tick
                writer.write(record)
                seconds["videos"] += 1
                advance(seconds["videos"] / (time.perf_counter() - started))
                ready = time.perf_counter()
        seconds["wall"] = time.perf_counter() - started
        return seconds

    def base_record(self, index: int) -> dict[str, Any]:
        label = self.job.dataset.samples[index].label
        return {"file": self.names[index], "label": self.classifier.entry.labels[label], "label_index": label}

    def failure_record(self, failure: Failure) -> dict[str, Any]:
        return {**self.base_record(failure.index), "ok": False, "error": failure.message}

    def prediction_record(self, item: Decoded) -> dict[str, Any]:
        classifier = self.classifier
        logits = predict_views(classifier.model, item.views, device=classifier.device, autocast=classifier.autocast,
                               view_batch=classifier.view_batch)
        top = combine_views(logits, classifier.entry.protocol.combine).topk(classifier.top_k)
        record = self.base_record(item.index)
        ranked = top.indices.tolist()
        return {**record, "ok": True,
                "top_k": [{"index": i, "label": classifier.entry.labels[i], "score": p}
                          for i, p in zip(ranked, top.values.tolist(), strict=True)],
                "correct_top1": ranked[0] == record["label_index"],
                "correct_top5": record["label_index"] in ranked[:TOP5],
                "warnings": item.warnings}

    def timing(self, timings: list[dict[str, float]], resumed: int) -> dict[str, Any]:
        """Where this run's time went, all processes together; decode seconds are worker seconds (they overlap)."""
        wall = max(t["wall"] for t in timings)
        videos = sum(t["videos"] for t in timings)
        return {"wall_s": wall, "decode_s": sum(t["decode"] for t in timings),
                "model_s": sum(t["model"] for t in timings), "waiting_for_data_s": sum(t["waiting"] for t in timings),
                "videos": int(videos), "videos_per_s": videos / wall if wall > 0 else 0.0, "resumed_from": resumed,
                "processes": self.ctx.world, "workers": self.job.workers, "device": str(self.classifier.device),
                "torch_threads": torch.get_num_threads()}


@contextmanager
def _progress(total: int, ctx: DistContext) -> Iterator[Callable[[float], None]]:
    """A Rich bar with videos/s and ETA on process 0's terminal (its shard); yields `advance(rate)`."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    where = f" (process 0 of {ctx.world})" if ctx.active else ""
    with Progress(TextColumn("evaluating" + where), BarColumn(), MofNCompleteColumn(),
                  TextColumn("{task.fields[rate]:.1f} videos/s"), TimeRemainingColumn(), console=console.stderr,
                  transient=True, disable=not (ctx.main and console.stderr.is_terminal)) as bar:
        task = bar.add_task("eval", total=total, rate=0.0)
        yield lambda rate: bar.update(task, advance=1, rate=rate)
