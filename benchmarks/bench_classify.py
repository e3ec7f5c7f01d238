"""`linvit classify` of a folder: its throughput against decoding alone and the model alone, on the same files.

Two folders: synthetic motion clips (`linvit synth`, 32 px, 16 frames at 12 fps) and 10-second 640x360 H.264
clips (25 fps, x264's default GOP of 250, textured content scrolling under a moving disc); two models:
`lvit-demo` (the packaged weights; 8 frames of 32 px, so decoding dominates) and VideoMamba-S
(`videomamba-s16-k400-f16`'s shapes and protocol, 4x3 views of 16 frames at 224 px, with RANDOM weights made
here: the Hub's weights are not needed to time it, and its figures say nothing about accuracy).

For each folder and model, in one process and with the same sampling and views:
- decode alone: every file's test views through `loader.ahead` with the same workers, nothing else;
- model alone: the prediction step over the first file's views, fed once per file (views decoded beforehand);
- classify: the `linvit classify FOLDER --out FILE` command in this process, with --workers W and with 0 (the
  whole command, the model's loading and the workers' start included: give enough --files that these are small
  against the run; a few files measure mostly them).
Ratios: classify / decode alone (goal >= 0.85 for lvit-demo on the 10-s clips), classify / model alone (goal
>= 0.95 for VideoMamba-S on a CPU), classify with workers / without (goal >= 1). `--rss` also measures the peak
memory of `linvit classify` over 10 and over 1,000 inputs (the same clip listed again and again, through
standard input), each in a process of its own (goal: 1,000 <= 1.2x 10).

Inputs, random weights and registries are made once in the cache folder (default bench-out/classify,
git-ignored). Absolute figures drift on shared machines; compare the ratios of one run.

    python benchmarks/bench_classify.py                                  # 8 files a folder, both models
    python benchmarks/bench_classify.py --files 32 --workers 8 --device cuda --models videomamba-s
    python benchmarks/bench_classify.py --folders h264 --models lvit-demo --rss
"""

from __future__ import annotations

import argparse
import io
import subprocess
import sys
import time
from contextlib import redirect_stderr, redirect_stdout
from functools import partial
from pathlib import Path

import av
import numpy as np
import torch

from linvit_cli.classifier import Classifier
from linvit_cli.cli.app import main
from linvit_cli.loader import ahead, decode_views, decoder_threads
from linvit_cli.machine import decoding_workers
from linvit_cli.models.architectures import create_model
from linvit_cli.models.checkpoint import save_safetensors
from linvit_cli.registry.load import load_registry
from linvit_cli.registry.write import entry_toml, labels_text
from linvit_cli.synth.dataset import generate

MAMBA = "videomamba-s16-k400-f16"
MODELS = {"lvit-demo": "lvit-demo", "videomamba-s": f"bench-{MAMBA}"}


def make_clip(path: Path, seed: int, seconds: int = 10, size: tuple[int, int] = (640, 360), fps: int = 25) -> Path:
    """Textured noise scrolling diagonally, with a bright disc crossing it: something to encode."""
    if path.exists():
        return path
    width, height = size
    rng = np.random.default_rng(seed)
    texture = rng.integers(0, 256, (2 * height, 2 * width, 3), dtype=np.uint8)
    texture = ((texture.astype(np.uint16) + np.roll(texture, 1, 0) + np.roll(texture, 1, 1)) // 3).astype(np.uint8)
    yy, xx = np.mgrid[:height, :width]
    partial_path = path.with_suffix(".part.mp4")
    with av.open(str(partial_path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for k in range(seconds * fps):
            frame = texture[k % height : k % height + height, 2 * k % width : 2 * k % width + width].copy()
            cx, cy = (k * 7 + 97 * seed) % width, height // 2 + int(60 * np.sin(k / 10))
            frame[(xx - cx) ** 2 + (yy - cy) ** 2 < 900] = 255
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode())
    partial_path.rename(path)
    return path


def make_folders(cache: Path, files: int) -> dict[str, Path]:
    synth, h264 = cache / f"synth-{files}", cache / f"h264-{files}"
    if not (synth / "done").exists():
        generate(synth, splits={"validation": files}, size=32, frames=16, background="plain", workers=2)
        (synth / "done").touch()
    h264.mkdir(parents=True, exist_ok=True)
    for k in range(files):
        make_clip(h264 / f"clip{k:04d}.mp4", seed=k)
    return {"synth": synth / "videos", "h264": h264}


def make_registry(cache: Path) -> Path:
    """A registry whose one model is VideoMamba-S's entry with random weights beside it."""
    registry = cache / "weights.toml"
    if not registry.exists():
        entry = load_registry().get(MAMBA)
        torch.manual_seed(0)
        state = create_model(entry.arch, **entry.build_kwargs()).state_dict()
        save_safetensors(state, cache / "random.safetensors")
        (cache / "labels.txt").write_text(labels_text(entry.labels))
        registry.write_text(entry_toml(f"{MAMBA} with random weights", f"bench-{MAMBA}", arch=entry.arch,
                                       dataset=entry.dataset, config=entry.config, labels={"file": "labels.txt"},
                                       weights={"path": "random.safetensors", "format": "safetensors"},
                                       protocol=entry.protocol, meta={}))
    return registry


def decode_alone(classifier: Classifier, paths: list[Path], workers: int) -> float:
    """Seconds to decode every file's test views as classify does (same sampling, same workers), and no more."""
    decode = partial(decode_views, protocol=classifier.entry.protocol, views=classifier.views,
                     threads=decoder_threads(workers))
    start = time.perf_counter()
    for _ in ahead(paths, decode, workers):
        pass
    return time.perf_counter() - start


def model_alone(classifier: Classifier, paths: list[Path]) -> float:
    """Seconds of the prediction step over one file's views fed once per file (after one warm-up pass)."""
    views = decode_views(paths[0], classifier.entry.protocol, classifier.views, 0).views
    list(classifier.predict([(0, views)]))
    start = time.perf_counter()
    list(classifier.predict((k, views) for k in range(len(paths))))
    return time.perf_counter() - start


def classify(folder: Path, model: str, registry: Path, device: str, workers: int, out: Path) -> float:
    """Seconds of `linvit classify FOLDER --out FILE` in this process (its messages hidden)."""
    out.unlink(missing_ok=True)
    quiet = io.StringIO()
    start = time.perf_counter()
    try:
        with redirect_stdout(quiet), redirect_stderr(quiet):
            main(["classify", str(folder), "--model", model, "--registry", str(registry), "--device", device,
                  "--workers", str(workers), "--out", str(out)])
    except SystemExit as done:
        if done.code:
            raise RuntimeError(f"linvit classify failed: {quiet.getvalue()[-2000:]}") from None
    return time.perf_counter() - start


def peak_rss(clip: Path, count: int, model: str, registry: Path, device: str, workers: int) -> float:
    """Peak resident MiB of a `linvit classify -` process given `clip` `count` times on standard input."""
    code = (f"import atexit, sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); from memory import peak_rss_mib; "
            "atexit.register(lambda: print(f'{peak_rss_mib():.1f}', file=sys.__stdout__)); "
            "from linvit_cli.cli.app import main; "
            f"main(['classify', '-', '--model', {model!r}, '--registry', {str(registry)!r}, '--device', {device!r}, "
            f"'--workers', '{workers}', '--jsonl'])")
    done = subprocess.run([sys.executable, "-c", code], input=f"{clip}\n" * count, capture_output=True, text=True,
                          check=True)
    return float(done.stdout.strip().splitlines()[-1])


def main_bench() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=8, help="files per folder")
    parser.add_argument("--folders", nargs="+", default=["synth", "h264"], choices=["synth", "h264"])
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--workers", type=int, default=None, help="decoding workers (default: classify's)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--rss", action="store_true", help="also peak memory over 10 and 1,000 inputs")
    parser.add_argument("--cache", type=Path, default=Path("bench-out/classify"))
    args = parser.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)
    workers = decoding_workers(args.workers)
    folders = make_folders(args.cache, args.files)
    registry = make_registry(args.cache)
    print(f"{args.files} files a folder; workers {workers}; torch threads {torch.get_num_threads()}; "
          f"videomamba-s has RANDOM weights (timing only)")
    print(f"{'folder':>6} {'model':>13} {'device':>6} {'decode/s':>9} {'model/s':>9} {'classify/s':>10} "
          f"{'w=0/s':>7} {'cls/decode':>10} {'cls/model':>9} {'w/w=0':>6}")
    for model in args.models:
        classifier = Classifier(MODELS[model], registry=load_registry([registry]), device=args.device)
        device = str(classifier.device)
        for name in args.folders:
            paths = sorted(p for p in folders[name].iterdir() if p.suffix == ".mp4")
            classify(folders[name], MODELS[model], registry, device, workers, args.cache / "out.jsonl")  # warm-up
            rates = [len(paths) / seconds for seconds in (
                decode_alone(classifier, paths, workers), model_alone(classifier, paths),
                classify(folders[name], MODELS[model], registry, device, workers, args.cache / "out.jsonl"),
                classify(folders[name], MODELS[model], registry, device, 0, args.cache / "out.jsonl"))]
            decode, alone, with_workers, without = rates
            print(f"{name:>6} {model:>13} {device:>6} {decode:>9.2f} {alone:>9.2f} {with_workers:>10.2f} "
                  f"{without:>7.2f} {with_workers / decode:>10.2f} {with_workers / alone:>9.2f} "
                  f"{with_workers / without:>6.2f}")
            if args.rss:
                small, large = (peak_rss(paths[0], count, MODELS[model], registry, device, workers)
                                for count in (10, 1000))
                print(f"{'':>6} peak RSS: 10 inputs {small:.0f} MiB, 1,000 inputs {large:.0f} MiB "
                      f"({large / small:.2f}x)")


if __name__ == "__main__":
    main_bench()
