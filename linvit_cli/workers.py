"""What training and evaluation share about decoding in DataLoader workers: a file that fails is an item of its
own, never another sample, and each worker runs one intra-op thread."""

from __future__ import annotations

from typing import NamedTuple

import torch


class Failure(NamedTuple):
    """A sample whose file could not be decoded: its index and the decoder's one-line reason."""

    index: int
    message: str


def worker_init(_: int) -> None:
    """One intra-op thread per worker: decode parallelism comes from the workers themselves."""
    torch.set_num_threads(1)
