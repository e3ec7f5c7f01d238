"""`linvit classify` of one ordinary clip: how its wall time splits between the video and the model.

A 10-second 640x272 H.264 clip (25 fps, x264's default GOP of 250, moving textured content) is classified
with VideoMamba-S under its Kinetics protocol (4 clips x 3 crops, uniform sampling), at random weights of
the real shapes (the Hub's weights are not needed to time it). The video part is decoding, sampling,
resizing, cropping and normalising the 12 views (`load_views`); the model part is the forward passes and
view fusion. The goal on a CPU: the video part <= 10% of the wall time. Clip and weights are made once in
the cache folder (default bench-out/classify, git-ignored).

    python benchmarks/bench_classify.py
    python benchmarks/bench_classify.py --views 1x1 --device cuda
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import av
import numpy as np
import torch

from linvit_cli.classifier import Classifier, parse_views
from linvit_cli.inference import combine_views, predict_views
from linvit_cli.models.architectures import create_model
from linvit_cli.models.checkpoint import save_safetensors
from linvit_cli.registry.load import load_registry
from linvit_cli.registry.write import entry_toml, labels_text
from linvit_cli.video.views import load_views

MODEL = "videomamba-s16-k400-f16"


def make_clip(path: Path, seconds: int = 10, size: tuple[int, int] = (640, 272), fps: int = 25) -> Path:
    """Textured noise scrolling diagonally, with a bright disc crossing it: something to encode."""
    if path.exists():
        return path
    width, height = size
    rng = np.random.default_rng(0)
    texture = rng.integers(0, 256, (2 * height, 2 * width, 3), dtype=np.uint8)
    texture = ((texture.astype(np.uint16) + np.roll(texture, 1, 0) + np.roll(texture, 1, 1)) // 3).astype(np.uint8)
    yy, xx = np.mgrid[:height, :width]
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for k in range(seconds * fps):
            frame = texture[k % height : k % height + height, 2 * k % width : 2 * k % width + width].copy()
            cx, cy = (k * 7) % width, height // 2 + int(60 * np.sin(k / 10))
            frame[(xx - cx) ** 2 + (yy - cy) ** 2 < 900] = 255
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode())
    return path


def make_registry(folder: Path) -> Path:
    """A registry whose one model is the default model's entry with random weights beside it."""
    registry = folder / "weights.toml"
    if not registry.exists():
        entry = load_registry().get(MODEL)
        torch.manual_seed(0)
        state = create_model(entry.arch, **entry.build_kwargs()).state_dict()
        save_safetensors(state, folder / "random.safetensors")
        (folder / "labels.txt").write_text(labels_text(entry.labels))
        registry.write_text(entry_toml(f"{MODEL} with random weights", f"bench-{MODEL}", arch=entry.arch,
                                       dataset=entry.dataset, config=entry.config, labels={"file": "labels.txt"},
                                       weights={"path": "random.safetensors", "format": "safetensors"},
                                       protocol=entry.protocol, meta={}))
    return registry


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cache", type=Path, default=Path("bench-out/classify"))
    parser.add_argument("--views", default=None, help="CLIPSxCROPS instead of the protocol's 4x3")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    args.cache.mkdir(parents=True, exist_ok=True)
    clip = make_clip(args.cache / "clip-10s-640x272.mp4")
    classifier = Classifier(f"bench-{MODEL}", registry=load_registry([make_registry(args.cache)]),
                            device=args.device, views=parse_views(args.views, False))
    classifier(clip)  # warm-up: numba's kernels, the allocator, the decoder's libraries
    start = time.perf_counter()
    loaded = load_views(clip, classifier.entry.protocol, classifier.views)
    video_s = time.perf_counter() - start
    logits = predict_views(classifier.model, loaded.views, device=classifier.device, autocast=classifier.autocast,
                           view_batch=classifier.view_batch)
    combine_views(logits, classifier.entry.protocol.combine)
    total_s = time.perf_counter() - start
    info = loaded.info
    print(f"{clip.name}: {info.duration:.1f} s, {info.width}x{info.height}, {info.fps:g} fps, {info.codec}; "
          f"{MODEL} (random weights), {len(loaded.views)} views, {classifier.device}"
          + (f", {torch.get_num_threads()} threads" if classifier.device.type == "cpu" else ""))
    model_s = total_s - video_s
    print(f"  wall time                       {total_s:7.2f} s")
    print(f"  decode, sampling, transforms    {video_s:7.2f} s  ({video_s / total_s:.1%} of it; goal <= 10%)")
    print(f"  model and view fusion           {model_s:7.2f} s  ({model_s / len(loaded.views):.2f} s per view)")


if __name__ == "__main__":
    main()
