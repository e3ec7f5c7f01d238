"""The one step from decoded views to ranked predictions, shared by `classify`, `eval` and `timeline`.

Items (a video's test views, a timeline window's crops) go through the model `view_batch` views at a time,
views of several items in one forward pass; each item's logits are fused as the model was evaluated
(`combine_views`) and ranked (`ranking`), and the items come out in the order they went in. Memory stays
bounded: an item is pulled from the input only while fewer than `view_batch` views wait for the model.

On a GPU a batch is gathered into pinned host memory and copied without blocking, and the next batch is
queued before the previous one's logits are read back (through pinned memory and an event), so the GPU
works on one batch while the host gathers the next.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import torch
from torch import Tensor, nn

from .inference import combine_views, intra_op_threads
from .registry.schema import Combine, Protocol

K = TypeVar("K")

# A GPU batch holds at most this many input values by default: 16 views of 16 frames of 224 x 224 (VideoMamba-S,
# LViT-K400), as many smaller views as make the same size, never more than GPU_MAX_VIEWS.
GPU_BATCH_VALUES = 16 * 3 * 16 * 224 * 224
GPU_MAX_VIEWS = 256
# Views of at most this many values (lvit-demo: 3 x 8 x 32 x 32) run on one CPU thread: their operators are too
# short to share out, and the other cores decode meanwhile: faster, with the same logits to the bit
# (benchmarks/FINDINGS.md).
SMALL_VIEW_VALUES = 2**18


def view_values(protocol: Protocol) -> int:
    return 3 * protocol.frames * protocol.crop**2


def default_view_batch(device: torch.device, protocol: Protocol) -> int:
    """Views per forward pass: one on a CPU (batching views only costs time there: benchmarks/FINDINGS.md), a
    bounded batch on a GPU."""
    if device.type == "cpu":
        return 1
    return max(1, min(GPU_MAX_VIEWS, GPU_BATCH_VALUES // view_values(protocol)))


def model_threads(device: torch.device, protocol: Protocol) -> int | None:
    """torch's CPU threads for the model's passes: one for small views, torch's setting (None) otherwise."""
    return 1 if device.type == "cpu" and view_values(protocol) <= SMALL_VIEW_VALUES else None


def ranking(probabilities: Tensor, labels: Sequence[str], k: int) -> list[dict[str, Any]]:
    """The `top_k` entries of every record: rank, class index, label and probability, most likely first."""
    top = probabilities.topk(min(k, len(labels)))
    return [{"rank": r + 1, "index": int(i), "label": labels[i], "probability": float(p)}
            for r, (p, i) in enumerate(zip(top.values.tolist(), top.indices.tolist(), strict=True))]


@dataclass(frozen=True)
class Prediction(Generic[K]):
    """One item's result: its key as given, its ranked top-k (None: it had no views) and its model seconds."""

    key: K
    top_k: list[dict[str, Any]] | None
    seconds: float  # the item's share (by views) of the forward passes its views took part in


@dataclass(eq=False)
class _Item(Generic[K]):
    key: K
    views: Tensor | None
    sent: int = 0  # views handed to a forward pass
    logits: list[Tensor] = field(default_factory=list)
    received: int = 0  # views whose logits are back
    seconds: float = 0.0

    @property
    def total(self) -> int:
        return 0 if self.views is None else len(self.views)


@dataclass
class _Batch:
    parts: list[tuple[_Item, int]]  # (item, views of it in this batch), in batch order
    logits: Tensor  # (views, K) float32; on a GPU, pinned host memory filled once `done` has passed
    done: Any  # a CUDA event recorded after the copy back, or None on a CPU
    seconds: float  # host time spent launching (all of the forward pass on a CPU)


Progress = Callable[[int, int], None]


class Predictor:
    """A model ready to rank items: device, precision, view batch, view fusion, labels and top-k.

    Args:
        model: a module in eval mode on `device`, views (B, 3, T, H, W) -> logits (B, K).
        autocast: the autocast precision, or None for plain float32.
        view_batch: views per forward pass (views of several items share one).
        combine: how an item's views are fused (`combine_views`).
        threads: torch's CPU threads during the passes (None: leave the setting alone).
    """

    def __init__(self, model: nn.Module, *, device: torch.device, autocast: torch.dtype | None, view_batch: int,
                 combine: Combine, labels: Sequence[str], top_k: int, threads: int | None = None) -> None:
        self.model, self.device, self.autocast, self.view_batch = model, device, autocast, view_batch
        self.combine, self.labels, self.top_k, self.threads = combine, labels, top_k, threads
        self._cuda = device.type == "cuda"
        # the passes keep several CPU threads busy: decoding alongside should yield to them (`loader.ahead`)
        self.busy_cpu = device.type == "cpu" and threads != 1 and torch.get_num_threads() > 1

    def batching(self, view_batch: int) -> Predictor:
        """The same predictor with another view batch."""
        return Predictor(self.model, device=self.device, autocast=self.autocast, view_batch=view_batch,
                         combine=self.combine, labels=self.labels, top_k=self.top_k, threads=self.threads)

    def __call__(self, items: Iterable[tuple[K, Tensor | None]], progress: Progress | None = None,
                 ) -> Iterator[Prediction[K]]:
        """Predictions of `(key, views (V, 3, T, H, W) or None)` items, in input order.

        `progress(done, views)` follows an item's views: called with 0 when its first view goes to the
        model and after each pass that computed some of them.
        """
        waiting: deque[_Item[K]] = deque()  # items not yet yielded, in input order
        flight: deque[_Batch] = deque()  # batches launched, logits not yet read back
        keep = 1 if self._cuda else 0  # batches left in flight while the next one is gathered
        unsent = 0
        for key, views in items:
            waiting.append(_Item(key, views))
            unsent += waiting[-1].total
            while unsent >= self.view_batch:
                unsent -= self._launch(waiting, flight, self.view_batch, progress)
                yield from self._settle(waiting, flight, keep, progress)
            yield from self._settle(waiting, flight, keep, progress)
        while unsent:
            unsent -= self._launch(waiting, flight, min(unsent, self.view_batch), progress)
            yield from self._settle(waiting, flight, keep, progress)
        yield from self._settle(waiting, flight, 0, progress)

    def _launch(self, waiting: deque[_Item[K]], flight: deque[_Batch], count: int, progress: Progress | None) -> int:
        """Start a forward pass over the next `count` unsent views; returns `count`."""
        start = time.perf_counter()
        parts, chunks, needed = [], [], count
        for item in waiting:
            if needed == 0:
                break
            take = min(needed, item.total - item.sent)
            if take <= 0:
                continue
            if item.sent == 0 and progress:
                progress(0, item.total)
            chunks.append(item.views[item.sent : item.sent + take])
            parts.append((item, take))
            item.sent += take
            needed -= take
        with torch.inference_mode(), intra_op_threads(self.threads), torch.autocast(
                self.device.type, dtype=self.autocast or torch.float32, enabled=self.autocast is not None):
            if self._cuda:
                logits, done = self._forward_cuda(chunks, count)
            else:
                logits, done = self.model(chunks[0] if len(chunks) == 1 else torch.cat(chunks)).float(), None
        flight.append(_Batch(parts, logits, done, time.perf_counter() - start))
        return count

    def _forward_cuda(self, chunks: list[Tensor], count: int) -> tuple[Tensor, Any]:
        """Queue one batch on the GPU; returns its logits' pinned host buffer and the event that fills it.

        The host buffers come from torch's pinned-memory cache, which reuses one only after the copies that
        read or write it have completed, so a buffer is never overwritten while its copy is in flight.
        """
        staged = torch.empty((count, *chunks[0].shape[1:]), dtype=chunks[0].dtype, pin_memory=True)
        torch.cat(chunks, out=staged)
        out = self.model(staged.to(self.device, non_blocking=True)).float()
        logits = torch.empty(out.shape, dtype=out.dtype, pin_memory=True)
        logits.copy_(out, non_blocking=True)
        done = torch.cuda.Event()
        done.record(torch.cuda.current_stream(self.device))  # the stream the copies went to, on the model's GPU
        return logits, done

    def _settle(self, waiting: deque[_Item[K]], flight: deque[_Batch], keep: int, progress: Progress | None,
                ) -> Iterator[Prediction[K]]:
        """Read back all but `keep` batches in flight, then yield the items at the front that are complete."""
        while len(flight) > keep:
            batch = flight.popleft()
            start = time.perf_counter()
            if batch.done is not None:
                batch.done.synchronize()
            seconds = batch.seconds + time.perf_counter() - start
            offset, total = 0, len(batch.logits)
            for item, count in batch.parts:
                item.logits.append(batch.logits[offset : offset + count])
                item.received += count
                item.seconds += seconds * count / total
                offset += count
                if progress:
                    progress(item.received, item.total)
        while waiting and waiting[0].received == waiting[0].total:
            item = waiting.popleft()
            top_k = None
            if item.views is not None:
                probabilities = combine_views(torch.cat(item.logits), self.combine)
                top_k = ranking(probabilities, self.labels, self.top_k)
            yield Prediction(item.key, top_k, item.seconds)
