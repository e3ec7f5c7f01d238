"""Evaluation throughput: `linvit eval` wall time over model-only time on a fixed generated set.

Model-only time is the model's forward passes (and view fusion) on views decoded beforehand, the floor any
evaluation loop can reach; the ratio says how much decoding, data movement and bookkeeping add on top. The
goal on a GPU with enough decoding workers is <= 1.1. Each --workers value is one `linvit eval` run (in this
process, through the CLI entry point) on the same videos, printed side by side with the report's split of
the time into decoding (seconds spent in workers) and model. The set (SSv2 layout from `linvit synth`) and a
random-weight LViT registry are made once in the cache folder (default bench-out/eval, git-ignored).

    python benchmarks/bench_eval.py                              # 48 clips, workers 0 1 2, auto device
    python benchmarks/bench_eval.py --workers 0 4 8 --device cuda --embed-dim 384 --depth 12
"""

from __future__ import annotations

import argparse
import io
import json
import shutil
import time
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import torch

from linvit_cli.classifier import Classifier
from linvit_cli.cli.app import main
from linvit_cli.inference import resolve_device
from linvit_cli.models.architectures import create_model
from linvit_cli.models.checkpoint import save_safetensors
from linvit_cli.registry.load import load_registry
from linvit_cli.synth.dataset import generate
from linvit_cli.video.views import load_views


def prepare(cache: Path, args: argparse.Namespace) -> tuple[Path, Path]:
    """The dataset and a registry whose one model, `bench`, fits it; reused when the settings match."""
    key = f"v{args.videos}-s{args.size}-f{args.frames}-c{args.crop}-d{args.embed_dim}x{args.depth}"
    root, registry = cache / key / "data", cache / key / "weights.toml"
    if not registry.exists():
        shutil.rmtree(cache / key, ignore_errors=True)
        generate(root, splits={"validation": args.videos}, size=args.size, frames=args.frames * 2, workers=2)
        labels = (root / "labels.txt").read_text().splitlines()
        torch.manual_seed(0)
        net = create_model("lvit_tiny", num_classes=len(labels), embed_dim=args.embed_dim, depth=args.depth,
                           num_heads=max(1, args.embed_dim // 32), head_hidden=args.embed_dim)
        save_safetensors(net.state_dict(), cache / key / "bench.safetensors")
        (cache / key / "labels.txt").write_text("\n".join(labels) + "\n")
        registry.write_text(
            '[models.bench]\narch = "lvit_tiny"\ndataset = "ssv2"\nlabels = { file = "labels.txt" }\n'
            f'config = {{ embed_dim = {args.embed_dim}, depth = {args.depth}, num_heads = '
            f'{max(1, args.embed_dim // 32)}, head_hidden = {args.embed_dim} }}\n'
            'weights = { path = "bench.safetensors", format = "safetensors" }\n'
            f'protocol = {{ frames = {args.frames}, sampling = "segment", views = [2, 3], short_side = {args.crop}, '
            f'crop = {args.crop}, mean = [0.5, 0.5, 0.5], std = [0.5, 0.5, 0.5], combine = "logit_sum" }}\n')
    return root, registry


def model_only(root: Path, registry: Path, device: torch.device) -> float:
    """Seconds of the prediction step eval runs (views of several videos per batch where the device batches)
    over every video's views, decoded beforehand (after one warm-up video)."""
    classifier = Classifier("bench", registry=load_registry([registry]), device=str(device))
    views = [load_views(p, classifier.entry.protocol).views for p in sorted((root / "videos").iterdir())]
    list(classifier.predict([(0, views[0])]))
    start = time.perf_counter()
    list(classifier.predict(enumerate(views)))
    return time.perf_counter() - start


def run_eval(root: Path, registry: Path, out: Path, workers: int, device: str) -> tuple[float, dict]:
    shutil.rmtree(out, ignore_errors=True)
    start = time.perf_counter()
    quiet = io.StringIO()  # the eval's own table and messages; the benchmark prints its comparison
    try:
        with redirect_stdout(quiet), redirect_stderr(quiet):
            main(["eval", "--dataset", "ssv2", "--root", str(root), "--model", "bench", "--registry", str(registry),
                  "--out", str(out), "--workers", str(workers), "--device", device])
    except SystemExit as done:
        if done.code:
            raise RuntimeError(f"linvit eval failed: {quiet.getvalue()[-2000:]}") from None
    wall = time.perf_counter() - start
    return wall, json.loads((out / "report.json").read_text())["timing"]


def main_bench() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=48)
    parser.add_argument("--size", type=int, default=64, help="generated video size (square, pixels)")
    parser.add_argument("--frames", type=int, default=8, help="frames per clip (videos have twice as many)")
    parser.add_argument("--crop", type=int, default=32)
    parser.add_argument("--embed-dim", type=int, default=32)
    parser.add_argument("--depth", type=int, default=1)
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--cache", type=Path, default=Path("bench-out/eval"))
    args = parser.parse_args()
    device = resolve_device(args.device)
    root, registry = prepare(args.cache, args)
    floor = model_only(root, registry, device)
    print(f"{args.videos} videos, {args.size}px, 2x3 views of {args.frames} frames at {args.crop}px; "
          f"LViT width {args.embed_dim} depth {args.depth}; device {device}; torch threads {torch.get_num_threads()}")
    print(f"model-only (views decoded beforehand): {floor:.2f} s")
    print(f"{'workers':>7} {'command s':>10} {'loop s':>8} {'decode s':>9} {'model s':>8} {'waiting s':>9} "
          f"{'videos/s':>9} {'loop/model-only':>16}")
    for workers in args.workers:
        wall, timing = run_eval(root, registry, args.cache / "out", workers, str(device))
        print(f"{workers:>7} {wall:>10.2f} {timing['wall_s']:>8.2f} {timing['decode_s']:>9.2f} "
              f"{timing['model_s']:>8.2f} {timing['waiting_for_data_s']:>9.2f} {timing['videos_per_s']:>9.2f} "
              f"{timing['wall_s'] / floor:>16.2f}")


if __name__ == "__main__":
    main_bench()
