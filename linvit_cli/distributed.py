"""This process's place in a torchrun job, shared by `linvit train`, `eval`, `classify` and `timeline`.

Without torchrun (no WORLD_SIZE, or 1) everything here is a no-op on one process; under torchrun the
process group is NCCL on GPUs and gloo on CPUs, chosen from the device the command runs on.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import torch
import torch.distributed as dist

from .errors import LinvitError
from .inference import resolve_device

T = TypeVar("T")


@dataclass
class DistContext:
    """This process's rank among `world` processes; world 1 without torchrun."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.world > 1

    def sum(self, values: list[float], device: torch.device) -> list[float]:
        """Element-wise sum over processes (float64, so counts stay exact)."""
        if not self.active:
            return values
        tensor = torch.tensor(values, dtype=torch.float64, device=device)
        dist.all_reduce(tensor)
        return tensor.tolist()

    def gather(self, value: Any) -> list[Any]:
        """Every process's `value`, in rank order."""
        if not self.active:
            return [value]
        out: list[Any] = [None] * self.world
        dist.all_gather_object(out, value)
        return out

    def barrier(self) -> None:
        if self.active:
            dist.barrier()

    def on_main(self, compute: Callable[[], T]) -> T:
        """`compute()` run by process 0 alone, its value on every process; its `LinvitError` raised by all
        (so that a usage error found by process 0 ends every process alike, none left waiting)."""
        if not self.active:
            return compute()
        outcome: list[Any] = [None]
        if self.main:
            try:
                outcome[0] = (compute(), None)
            except LinvitError as err:
                outcome[0] = (None, err)
        dist.broadcast_object_list(outcome, src=0)
        value, error = outcome[0]
        if error is not None:
            raise error
        return value


def distributed_rank() -> int:
    """The rank torchrun gave this process (0 without torchrun): who prints and writes."""
    return int(os.environ.get("RANK", "0"))


def init_distributed(device: str | None) -> tuple[DistContext, torch.device]:
    """Join the torchrun job if there is one; returns the context and this process's device.

    `device` is a `resolve_device` spec (None: auto). Under torchrun a CUDA process takes the GPU of its
    local rank, whatever index the spec names.
    """
    chosen = resolve_device(device or "auto")
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistContext(), chosen
    ctx = DistContext(rank=int(os.environ["RANK"]), world=world, local_rank=int(os.environ.get("LOCAL_RANK", "0")))
    use_cuda = chosen.type == "cuda"
    if use_cuda:
        torch.cuda.set_device(ctx.local_rank)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if use_cuda else "gloo")
    return ctx, torch.device(f"cuda:{ctx.local_rank}" if use_cuda else "cpu")


@contextmanager
def distributed(device: str | None) -> Iterator[tuple[DistContext, torch.device]]:
    """`init_distributed`, and the process group torn down when the block ends (also on errors).

    After a normal end the ranks meet at a barrier first: a rank that tore down its links while another was
    still talking to it would abort that one (gloo's threads terminate the process).
    """
    ctx, chosen = init_distributed(device)
    try:
        yield ctx, chosen
        ctx.barrier()
    finally:
        if ctx.active and dist.is_initialized():
            dist.destroy_process_group()
