"""Clips for training and validation, decoded in DataLoader worker processes.

Training clips take a random frame in each segment (segment-style protocols, as SSv2 training) or a
window at a random start (dense protocols, as Kinetics training), a random short side in the recipe's
jitter range, then torchvision's random square crop and, when the recipe allows, horizontal flip. Frames
are resized as they are decoded, with the protocol's own resize (video/transforms.py), so a large video
never holds its full-size frames and training pixels are made as the test views' are. Each clip's random
numbers come from generators seeded by (seed, epoch, sample index) alone, numpy's for frames and size and
torch's (forked from the global one) for the torchvision transforms, so a clip is the same whatever the
process, worker or batch that loads it: DDP runs, resumed runs and any number of workers see the same data.

A file that fails to decode becomes a `Failure` item, never another sample: `collate` keeps failures
apart from the batch so the loop can count, report and (only with --skip-bad) go on without them.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset as TorchDataset
from torchvision import tv_tensors
from torchvision.transforms import v2

from ..datasets import Sample
from ..errors import VideoDecodeError
from ..registry.schema import Protocol
from ..video.decode import Video
from ..video.sampling import segment_indices
from ..video.transforms import normalize, recipe_for, resize_frame
from ..video.views import load_views
from ..workers import Failure


@dataclass
class Batch:
    """The clips that decoded, their labels and sample indices, and the failures of the same batch."""

    clips: Tensor  # (B, 3, T, crop, crop); B may be 0 when every file of the batch failed
    labels: Tensor  # (B,) int64
    indices: Tensor  # (B,) int64
    failures: list[Failure]


def collate(items: list[tuple[Tensor, int, int] | Failure]) -> Batch:
    """Stack the decoded items; failures travel beside them, counted by the loop."""
    good = [item for item in items if not isinstance(item, Failure)]
    failures = [item for item in items if isinstance(item, Failure)]
    if not good:
        return Batch(torch.empty(0), torch.empty(0, dtype=torch.long), torch.empty(0, dtype=torch.long), failures)
    return Batch(torch.stack([clip for clip, _, _ in good]), torch.tensor([label for _, label, _ in good]),
                 torch.tensor([index for _, _, index in good]), failures)


def train_indices(length: int, protocol: Protocol, rng: np.random.Generator) -> list[int]:
    """Random training frames on the protocol's timeline of `length` frames.

    dense: `frames` frames `stride` apart from a uniformly drawn start (SlowFast's training clip);
    otherwise one frame drawn uniformly in each of the segments the test protocol takes centres of.
    """
    if protocol.sampling == "dense":
        span = protocol.frames * (protocol.stride or 1)
        start = rng.uniform(0, max(length - span, 0))
        picked = np.linspace(start, start + span - 1, protocol.frames)
        return np.clip(picked, 0, length - 1).astype(np.int64).tolist()
    starts = segment_indices(length, protocol.frames, 1)
    ends = segment_indices(length, protocol.frames, 2)
    return [int(rng.integers(s, e + 1)) for s, e in zip(starts, ends, strict=True)]


class TrainClips(TorchDataset):
    """Augmented training clips `(clip (3, T, crop, crop), label, index)`, or a `Failure`.

    Set `epoch` before each pass: it enters the per-clip random seed.
    """

    def __init__(self, samples: tuple[Sample, ...], protocol: Protocol, *, jitter: tuple[int, int], flip: bool,
                 seed: int) -> None:
        if jitter[0] < protocol.crop:
            raise ValueError(f"short-side jitter {jitter} must not go below the crop {protocol.crop}")
        self.samples, self.protocol, self.jitter, self.seed = samples, protocol, jitter, seed
        self.augment = v2.Compose([v2.RandomCrop(protocol.crop), *([v2.RandomHorizontalFlip()] if flip else [])])
        self.epoch = 0

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> tuple[Tensor, int, int] | Failure:
        sample = self.samples[index]
        rng = np.random.default_rng([self.seed, self.epoch, index])
        try:
            clip = self._clip(sample, rng)
        except VideoDecodeError as err:
            return Failure(index, str(err))
        return clip, sample.label, index

    def _clip(self, sample: Sample, rng: np.random.Generator) -> Tensor:
        protocol = self.protocol
        short_side = int(rng.integers(self.jitter[0], self.jitter[1] + 1))
        with Video(sample.path, threads=1) as video:
            info = video.info
            rate = protocol.fps or info.fps
            length = max(1, round(info.num_frames * rate / info.fps))
            times = [k / rate for k in train_indices(length, protocol, rng)]
            frames = video.read(times, convert=partial(resize_frame, short_side=short_side,
                                                       recipe=recipe_for(protocol))).frames
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(rng.integers(2**63)))
            clip = self.augment(tv_tensors.Video(torch.stack(frames)))  # T C H W, as torchvision's videos
        return normalize(clip.as_subclass(Tensor).transpose(0, 1), protocol.mean, protocol.std).contiguous()


class CentreClips(TorchDataset):
    """Validation clips: the protocol's centre clip, centre crop (`load_views` with one view), or a `Failure`."""

    def __init__(self, samples: tuple[Sample, ...], protocol: Protocol) -> None:
        self.samples, self.protocol = samples, protocol

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> tuple[Tensor, int, int] | Failure:
        sample = self.samples[index]
        try:
            views = load_views(sample.path, self.protocol, views=(1, 1), threads=1).views
        except VideoDecodeError as err:
            return Failure(index, str(err))
        return views[0], sample.label, index
