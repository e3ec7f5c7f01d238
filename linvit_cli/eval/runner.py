"""The evaluation loop: videos decoded ahead in worker processes (`loader.ahead`), their views through the
model in batches (`predict.Predictor`: views of several videos in one batch on a GPU), one JSON line per
video as it is done; `--resume` skips what an earlier run did; torchrun splits the rest.

Predictions come from the `Classifier`'s predictor, the step `linvit classify` and `linvit timeline` use, so
they give the same numbers for the same file, and the records' `top_k` entries are theirs (rank, index,
label, probability). A file that fails to decode becomes a record with its error (counted as unreadable),
never another video. Under torchrun each process takes every
world-th remaining video (a strided shard: disjoint, nothing padded or evaluated twice), writes its own part
file, and after the last video process 0 merges the parts and writes the report.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import torch

from ..classifier import Classifier
from ..datasets import Dataset
from ..distributed import DistContext, distributed
from ..loader import Decoded, Unreadable, ahead, decode_views, decoder_threads
from ..machine import decoding_workers
from ..output.jsonl import JsonLines
from ..output.progress import Progress, counted, per_second
from ..registry.schema import ModelEntry
from . import report as rep

T = TypeVar("T")

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
    workers: int | None = None  # None: `machine.decoding_workers`
    view_batch: int | None = None  # None: `predict.default_view_batch`
    top_k: int = TOP5
    limit: int | None = None
    resume: bool = False
    offline: bool = False
    cache_dir: Path | None = None
    command: str = ""


def fingerprint(job: EvalJob, classifier: Classifier) -> dict[str, Any]:
    """What makes two runs' predictions interchangeable: model and weights, data, protocol, precision."""
    entry = classifier.entry
    return {"model": entry.name, "arch": entry.arch, "config": dict(entry.config), "labels": list(entry.labels),
            "predictions_schema": rep.PREDICTIONS_SCHEMA, "weights": rep.weights_source(entry, job.weights),
            "protocol": rep.protocol_section(entry.protocol, classifier.views, None),
            "dtype": job.dtype, "top_k": classifier.top_k, "dataset": rep.dataset_fingerprint(job.dataset)}


def evaluate(job: EvalJob) -> dict[str, Any] | None:
    """Run `job`; process 0 returns the report (also in OUT/report.json), the others None."""
    clips, crops = job.views or job.model.protocol.views
    with distributed(job.device) as (ctx, device):
        classifier = Classifier(job.model, weights=job.weights, device=str(device),
                                dtype=job.dtype, views=(clips, crops), view_batch=job.view_batch,
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
            "predictions_schema": rep.PREDICTIONS_SCHEMA,
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
        workers = self.workers
        decode = partial(decode_views, protocol=classifier.entry.protocol, views=classifier.views,
                         threads=decoder_threads(workers))
        seconds = {"wall": 0.0, "decode": 0.0, "model": 0.0, "waiting": 0.0, "videos": 0.0}
        loaded = _timed(ahead([job.dataset.samples[i].path for i in shard], decode, workers,
                              yield_cpu=classifier.predict.busy_cpu), seconds)
        items = (((index, got), got.views if isinstance(got, Decoded) else None)
                 for index, got in zip(shard, loaded, strict=True))
        started = time.perf_counter()
        where = f" (process 0 of {self.ctx.world})" if self.ctx.active else ""
        with JsonLines(rep.part_path(job.out, self.ctx.rank)) as writer, Progress(enabled=self.ctx.main) as lines:
            line = lines.line("evaluating" + where, len(shard), count=counted("videos"), speed=per_second("videos"))
            for prediction in classifier.predict(items):
                index, got = prediction.key
                if isinstance(got, Unreadable):
                    record = {**self.base_record(index), "ok": False, "error": got.message}
                else:
                    seconds["decode"] += got.seconds
                    seconds["model"] += prediction.seconds
                    record = self.prediction_record(index, got, prediction.top_k or [])
                writer.write(record)
                seconds["videos"] += 1
                line.advance()
        seconds["wall"] = time.perf_counter() - started
        return seconds

    @property
    def workers(self) -> int:
        return decoding_workers(self.job.workers)

    def base_record(self, index: int) -> dict[str, Any]:
        label = self.job.dataset.samples[index].label
        return {"file": self.names[index], "label": self.classifier.entry.labels[label], "label_index": label}

    def prediction_record(self, index: int, decoded: Decoded, top_k: list[dict[str, Any]]) -> dict[str, Any]:
        record = self.base_record(index)
        ranked = [row["index"] for row in top_k]
        return {**record, "ok": True, "top_k": top_k,
                "correct_top1": ranked[0] == record["label_index"],
                "correct_top5": record["label_index"] in ranked[:TOP5],
                "warnings": decoded.warnings}

    def timing(self, timings: list[dict[str, float]], resumed: int) -> dict[str, Any]:
        """Where this run's time went, all processes together; decode seconds are worker seconds (they overlap)."""
        wall = max(t["wall"] for t in timings)
        videos = sum(t["videos"] for t in timings)
        return {"wall_s": wall, "decode_s": sum(t["decode"] for t in timings),
                "model_s": sum(t["model"] for t in timings), "waiting_for_data_s": sum(t["waiting"] for t in timings),
                "videos": int(videos), "videos_per_s": videos / wall if wall > 0 else 0.0, "resumed_from": resumed,
                "processes": self.ctx.world, "workers": self.workers, "device": str(self.classifier.device),
                "torch_threads": torch.get_num_threads()}


def _timed(items: Iterator[T], seconds: dict[str, float]) -> Iterator[T]:
    """`items`, adding the time spent waiting for each to `seconds["waiting"]`."""
    while True:
        start = time.perf_counter()
        try:
            item = next(items)
        except StopIteration:
            return
        finally:
            seconds["waiting"] += time.perf_counter() - start
        yield item
