"""The fields of a weights.toml entry, in one place.

A registry entry says everything needed to reproduce a model's reported accuracy: the architecture and its
keyword arguments, the ordered label list, the evaluation protocol that produced the metric, and where the
weights come from. Parsing and validation live in `load.py`; this module only declares the shapes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

from ..errors import bad_value

Sampling = Literal["dense", "segment", "tsn", "uniform"]
Combine = Literal["logit_sum", "softmax_mean"]
WeightsFormat = Literal["safetensors", "lvit-pyth", "videomamba-pth"]

SAMPLINGS: tuple[str, ...] = ("dense", "segment", "tsn", "uniform")
COMBINES: tuple[str, ...] = ("logit_sum", "softmax_mean")
WEIGHTS_FORMATS: tuple[str, ...] = ("safetensors", "lvit-pyth", "videomamba-pth")
SEGMENT_CLIPS = ("segment centres", "segment starts", "segment ends")  # the temporal clips segment sampling defines


@dataclass(frozen=True)
class Protocol:
    """How a model's test accuracy was measured: frame sampling, test views, pixels, view fusion.

    Sampling kinds (index arithmetic in `linvit_cli.video.sampling`):
      dense    -- `frames` frames `stride` apart at `fps`, clips spread evenly over the video (LViT Kinetics).
      segment  -- TSN segments with rounded boundaries; clip 0 takes segment centres, clip 1 starts (LViT SSv2).
      tsn      -- `n / frames` ticks; view 0 at tick starts, view 1 at tick centres (VideoMamba SSv2).
      uniform  -- `(n - 1) / frames` segments shifted by a per-clip offset (VideoMamba Kinetics).
    """

    frames: int
    sampling: Sampling
    views: tuple[int, int]  # temporal clips x spatial crops
    short_side: int
    crop: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    combine: Combine
    stride: int | None = None  # dense sampling only: frame step at `fps`
    fps: float | None = None  # the frame rate indices count at (LViT's data was re-extracted at 30 fps);
    # None: the video's own frames

    @property
    def num_views(self) -> int:
        return self.views[0] * self.views[1]

    @property
    def max_clips(self) -> int | None:
        """The most temporal clips the sampling defines (None: any number)."""
        return len(SEGMENT_CLIPS) if self.sampling == "segment" else None

    def check_views(self, views: tuple[int, int], model: str) -> None:
        """Test views (clips, crops) other than the protocol's: at least one of each, and clips the sampling has."""
        shown = "x".join(map(str, views))
        if min(views) < 1:
            raise bad_value("views", views, "clips and crops must each be at least 1, e.g. 4x3 or 1x1", shown=shown)
        if self.max_clips is not None and views[0] > self.max_clips:
            raise bad_value("views", views, f"{model}'s {self.sampling} sampling defines {self.max_clips} temporal "
                            f"clips at most ({', '.join(SEGMENT_CLIPS)}), so 1 to {self.max_clips} clips, not "
                            f"{views[0]}", shown=shown)


@dataclass(frozen=True)
class HubWeights:
    """A file pinned to one commit of a Hugging Face Hub repository."""

    repo: str
    file: str
    revision: str  # 40-hex commit id, never a branch name
    format: WeightsFormat
    sha256: str | None = None  # None where no trustworthy hash is known yet (said in the entry's notes)


@dataclass(frozen=True)
class PackagedWeights:
    """A safetensors file shipped inside the package (or beside a user's registry file)."""

    path: Path
    format: WeightsFormat
    sha256: str | None = None


@dataclass(frozen=True)
class Unpublished:
    """The authors released no weights: the user must train or convert their own."""


UNPUBLISHED = Unpublished()
Weights = HubWeights | PackagedWeights | Unpublished


@dataclass(frozen=True)
class ModelEntry:
    """One model of the registry."""

    name: str
    arch: str
    dataset: str
    labels: tuple[str, ...]
    protocol: Protocol
    weights: Weights
    config: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    meta: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    source: Path | None = None  # the registry file that defined it

    @property
    def num_classes(self) -> int:
        return len(self.labels)

    @property
    def has_weights(self) -> bool:
        return not isinstance(self.weights, Unpublished)

    @property
    def caution(self) -> str | None:
        """What to know before trusting the model's labels (`meta.caution`): said with its results and its listing."""
        value = self.meta.get("caution")
        return value if isinstance(value, str) else None

    @property
    def commit(self) -> str | None:
        """The Hub commit the weights are read at (an `hf://` model's resolved revision), recorded with results."""
        return self.weights.revision if isinstance(self.weights, HubWeights) else None

    def build_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for the architecture builder: the config plus the class count of the labels."""
        return {**self.config, "num_classes": self.num_classes}
