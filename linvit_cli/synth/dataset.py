"""Writing the benchmark: encoded videos plus annotation files in Something-Something v2's layout.

Each video depends only on (seed, split, index), never on how many videos are made or in which order, so
generation can run in parallel, and a run asking for more videos repeats the smaller run's videos first.
Class labels are balanced in blocks: every run of `len(classes)` consecutive indices holds each class once,
in an order shuffled per block.
"""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Literal

import av
import numpy as np
from av.video.reformatter import VideoReformatter

from ..datasets import DATASET_INFO
from ..errors import LinvitError, UsageError, at_least, bad_value
from .classes import MotionClass, select
from .render import BACKGROUNDS, Background, compose, render

Codec = Literal["h264", "vp9"]

# Split name -> leading digit of its video ids, so ids stay numeric (as SSv2's) and unique across splits.
SPLITS = {"train": 1, "validation": 2}
MAX_PER_SPLIT = 10**6
MIN_SIZE = 32  # distractors are a few pixels wide at this size
SYNTH_NAME = "synth-motion"  # the dataset name models trained on these clips record (as lvit-demo's entry)
MIN_FRAMES = 8  # both flashes of the ordering classes, with their fades, fit in this many frames

# One encoder thread and bit-exact muxing make the files themselves reproducible, not only their pixels.
# x264's macroblock-tree rate control is off: with it, one process encoding the same frames again wrote a
# different file about one time in ten (x264's assembly path; with no-asm the files were steady too).
_ENCODERS: dict[str, tuple[str, str, dict[str, str]]] = {
    "h264": ("libx264", "mp4", {"crf": "18", "preset": "veryfast", "threads": "1", "x264-params": "mbtree=0"}),
    "vp9": ("libvpx-vp9", "webm", {"crf": "24", "b": "0", "deadline": "realtime", "cpu-used": "8",
                                   "threads": "1"}),
}


def video_id(split: str, index: int) -> str:
    return str(SPLITS[split] * MAX_PER_SPLIT + index)


def _rng(seed: int, split: str, purpose: int, *key: int) -> np.random.Generator:
    """A random stream named by seed, split (crc32, unlike hash(), is the same in every process) and key;
    `purpose` keeps keys of different uses apart (SeedSequence ignores trailing zeros, not inner ones)."""
    return np.random.default_rng([seed, zlib.crc32(split.encode()), purpose, *key])


def clip_rng(seed: int, split: str, index: int) -> np.random.Generator:
    """The random stream of one video's scene."""
    return _rng(seed, split, 0, index)


def class_index(seed: int, split: str, index: int, num_classes: int) -> int:
    """Label of a video: position `index % num_classes` of a shuffled block of all labels."""
    block = _rng(seed, split, 1, num_classes, index // num_classes)
    return int(block.permutation(num_classes)[index % num_classes])


def annotation(cls: MotionClass, placeholders: Sequence[str], vid: str) -> dict[str, object]:
    """An entry of `something-something-v2-{train,validation}.json`; its label is the filled-in template in
    lower case, as in SSv2."""
    names = iter(placeholders)
    label = re.sub(r"\[something\]", lambda _: next(names), cls.template, flags=re.IGNORECASE)
    return {"id": vid, "label": label.lower(), "template": cls.template, "placeholders": list(placeholders)}


def encode(path: Path, clip: np.ndarray, fps: int, codec: Codec) -> None:
    """Write (frames, H, W, 3) uint8 RGB as yuv420p H.264 MP4 or VP9 WebM."""
    encoder, _, options = _ENCODERS[codec]
    with av.open(str(path), "w", options={"fflags": "+bitexact"}) as container:
        stream = container.add_stream(encoder, rate=fps)
        stream.width, stream.height, stream.pix_fmt = clip.shape[2], clip.shape[1], "yuv420p"
        stream.options = options
        stream.codec_context.thread_count = 1  # with options' "threads": either alone left x264 threaded
        # A reformatter of its own: the encoder's conversion to YUV otherwise depends on what PyAV converted
        # before in this process (a decode to RGB changed the files written after it).
        to_yuv = VideoReformatter()
        for rgb in clip:
            frame = to_yuv.reformat(av.VideoFrame.from_ndarray(rgb, format="rgb24"), format="yuv420p")
            container.mux(stream.encode(frame))
        container.mux(stream.encode())


@dataclass(frozen=True)
class _Job:
    """What every video of a run shares; picklable, for worker processes."""

    videos: Path
    classes: tuple[MotionClass, ...]
    seed: int
    size: int
    frames: int
    fps: int
    codec: Codec
    background: Background

    def __call__(self, split: str, index: int) -> dict[str, object]:
        """Render, encode and annotate one video."""
        cls = self.classes[class_index(self.seed, split, index, len(self.classes))]
        scene = compose(cls, clip_rng(self.seed, split, index), self.frames, self.background)
        vid = video_id(split, index)
        path = self.videos / f"{vid}.{_ENCODERS[self.codec][1]}"
        encode(path, render(scene, self.size), self.fps, self.codec)
        return annotation(cls, [sprite.name for sprite in scene.objects], vid)


def _check(splits: Mapping[str, int], seed: int, size: int, frames: int, fps: int, codec: str,
           background: str, workers: int) -> None:
    """Refuse settings that cannot make a usable benchmark, before any file is written."""
    if seed < 0:
        raise bad_value("seed", seed, "must be zero or positive")
    unknown = set(splits) - set(SPLITS)
    if unknown:
        raise UsageError(f"unknown split {', '.join(sorted(unknown))}; SSv2 has {', '.join(SPLITS)}")
    for split, count in splits.items():
        if not 0 <= count < MAX_PER_SPLIT:
            problem = f"is out of range; use 0 to {MAX_PER_SPLIT - 1} videos"
            raise UsageError(f"splits[{split!r}]={count} {problem}", cli=f"--{split} {count} {problem}")
    if size < MIN_SIZE or size % 2:
        raise bad_value("size", size, f"cannot be drawn and encoded; use an even size >= {MIN_SIZE}")
    if frames < MIN_FRAMES:
        raise bad_value("frames", frames, f"too few to show every class; use at least {MIN_FRAMES}")
    if fps < 1:
        raise bad_value("fps", fps, "must be a positive whole number")
    if codec not in _ENCODERS:
        raise UsageError(f"unknown codec {codec!r}; choose from {', '.join(_ENCODERS)}")
    if background not in BACKGROUNDS:
        raise UsageError(f"unknown background {background!r}; choose from {', '.join(BACKGROUNDS)}")
    at_least("workers", workers, 1)


def generate(
    out_dir: Path,
    *,
    splits: Mapping[str, int],
    seed: int = 0,
    size: int = 64,
    frames: int = 16,
    fps: int = 12,
    codec: Codec = "h264",
    background: Background = "random",
    classes: Sequence[str] | None = None,
    workers: int = 1,
    progress: Callable[[], None] | None = None,
) -> dict[str, list[dict[str, object]]]:
    """Write `videos/{id}.mp4|webm`, the SSv2 annotation and label files, `labels.txt` and the dataset's description
    (`linvit-dataset.json`: name, description, the command that makes it again) under `out_dir`.

    `splits` maps "train" and/or "validation" to a number of videos; `classes` picks class names (in label
    order; default all); `background` is "random" or "plain" (see `render`). `progress` is called once per
    finished video. Returns each split's annotations.
    Annotation files are written last, so an interrupted run never lists a video that is not there.
    """
    _check(splits, seed, size, frames, fps, codec, background, workers)
    encoder = _ENCODERS[codec][0]
    if encoder not in av.codecs_available:
        missing = f"this PyAV build has no {encoder} encoder"
        raise LinvitError(f"{missing} (codec={codec!r}); try the other codec",
                          cli=f"{missing} (--codec {codec}); try the other codec")
    chosen = select(classes)
    videos = out_dir / "videos"
    videos.mkdir(parents=True, exist_ok=True)
    job = _Job(videos, chosen, seed, size, frames, fps, codec, background)
    annotations: dict[str, list[dict[str, object]]] = {}
    with ExitStack() as stack:
        run: Callable[..., Iterable[dict[str, object]]] = map
        if workers > 1:
            run = partial(stack.enter_context(ProcessPoolExecutor(workers)).map, chunksize=8)
        for split, count in splits.items():
            annotations[split] = []
            for entry in run(partial(job, split), range(count)):
                annotations[split].append(entry)
                if progress is not None:
                    progress()
    for split, entries in annotations.items():
        lines = ",\n".join(json.dumps(entry) for entry in entries)
        (out_dir / f"something-something-v2-{split}.json").write_text(f"[\n{lines}\n]\n")
    labels = {cls.label: str(i) for i, cls in enumerate(chosen)}
    (out_dir / "something-something-v2-labels.json").write_text(json.dumps(labels, indent=1) + "\n")
    (out_dir / "labels.txt").write_text("".join(f"{cls.label}\n" for cls in chosen))
    command = ["linvit", "synth", "DATA", *(f"--{split} {count}" for split, count in splits.items()),
               f"--seed {seed} --size {size} --frames {frames} --fps {fps} --codec {codec} --background {background}",
               *([f"--classes {','.join(cls.name for cls in chosen)}"] if classes is not None else [])]
    info = {"name": SYNTH_NAME, "description": f"linvit's synthetic motion benchmark ({len(chosen)} classes of shapes "
                                               f"moving, turning, appearing or flashing; {background} backgrounds)",
            "made_with": " ".join(command)}
    (out_dir / DATASET_INFO).write_text(json.dumps(info, indent=1) + "\n")
    return annotations

