"""Training throughput of the paper's LViT against its softmax variant: clips/s of full SGD steps, one run.

A step is what `linvit train` does per optimiser step: forward, label-smoothed cross-entropy, backward,
SGD (Nesterov) update, on a random normalised clip. Both models are measured in the same process, one
after the other, so the ratio holds on a noisy machine even when absolute times drift.

    python benchmarks/bench_train.py                       # CPU float32, 16 frames, 224 px, batch 1
    python benchmarks/bench_train.py --steps 5 --device cuda --batch-size 4
"""

from __future__ import annotations

import argparse
import time

import torch

from linvit_cli.models.architectures import create_model
from linvit_cli.train.recipe import KINETICS, build_optimizer, training_loss

VARIANTS = {"lvit (linear)": {}, "lvit (softmax)": {"attention": "softmax"}}


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def clips_per_second(config: dict, args: argparse.Namespace, device: torch.device) -> tuple[float, float]:
    """(clips/s over the timed steps, seconds of the warm-up step) for one variant."""
    torch.manual_seed(0)
    model = create_model("lvit_b16", num_classes=400, **config).to(device).train()
    optimizer, _ = build_optimizer(model, KINETICS, steps_per_epoch=1)
    clips = torch.randn(args.batch_size, 3, args.frames, args.size, args.size, device=device)
    labels = torch.zeros(args.batch_size, dtype=torch.long, device=device)

    def step() -> None:
        loss = training_loss(model(clips), labels, KINETICS)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    started = time.perf_counter()
    step()
    sync(device)
    warmup = time.perf_counter() - started
    started = time.perf_counter()
    for _ in range(args.steps):
        step()
    sync(device)
    return args.steps * args.batch_size / (time.perf_counter() - started), warmup


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=16)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--batch-size", type=int, default=1)
    parser.add_argument("--steps", type=int, default=2, help="timed steps per variant, after one warm-up step")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=0, help="torch intra-op threads (0: torch's default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    print(f"lvit_b16 training steps: {args.frames} frames x {args.size}^2, batch {args.batch_size}, float32, "
          f"{device}, {torch.get_num_threads()} threads, torch {torch.__version__}; 1 warm-up + {args.steps} timed")
    results = {}
    for name, config in VARIANTS.items():
        rate, warmup = clips_per_second(config, args, device)
        results[name] = rate
        print(f"  {name:16s} {rate:8.4f} clips/s  ({1 / rate * args.batch_size:6.2f} s/step; warm-up {warmup:.2f} s)")
    linear, softmax = results.values()
    print(f"  linear / softmax throughput: {linear / softmax:.2f}x")


if __name__ == "__main__":
    main()
