"""LViT's speed and memory on one clip, against its softmax variant and VideoMAE-B, measured in one run.

Each measurement runs in a fresh subprocess so that its peak RSS is its own (weights included). Achieved
GFLOP/s are reported over a float32 matmul peak measured in the same run, so the ratios hold on a noisy
machine even when absolute times drift.

    python benchmarks/bench_model.py                     # CPU float32, 8/16/32/64 frames
    python benchmarks/bench_model.py --frames 16 --models lvit
    python benchmarks/bench_model.py --device cuda       # GPU (peak memory from CUDA's allocator)

VideoMAE-B needs `pip install transformers` (the `bench` extra); without it that row is skipped and says so.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

MODELS = ("lvit", "lvit-softmax", "videomae-b")


def matmul_peak(device: str, seconds: float = 3.0) -> float:
    """Best GFLOP/s of a 2048^3 float32 matmul over `seconds`."""
    import torch

    a = torch.randn(2048, 2048, device=device)
    b = torch.randn(2048, 2048, device=device)
    best = float("inf")
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        sync(device)
        start = time.perf_counter()
        torch.mm(a, b)
        sync(device)
        best = min(best, time.perf_counter() - start)
    return 2 * 2048**3 / best / 1e9


def sync(device: str) -> None:
    if device.startswith("cuda"):
        import torch

        torch.cuda.synchronize()


def build(name: str, frames: int):
    """The model and a normalised input clip of `frames` frames at 224 px."""
    import torch

    if name == "videomae-b":
        from transformers import VideoMAEConfig, VideoMAEForVideoClassification

        config = VideoMAEConfig(num_frames=frames, image_size=224, num_labels=400)
        return VideoMAEForVideoClassification(config), torch.randn(1, frames, 3, 224, 224)
    from linvit_cli.models import create_model

    attention = "softmax" if name == "lvit-softmax" else "linear"
    model = create_model("lvit_b16", num_classes=400, share_gate=False, attention=attention)
    return model, torch.randn(1, 3, frames, 224, 224)


def measure(name: str, frames: int, device: str, repeat: int) -> dict:
    """Runs inside the child process: best time of `repeat` runs after one warm-up, FLOPs, peak memory."""
    import resource

    import torch

    model, x = build(name, frames)
    model = model.eval().to(device)
    x = x.to(device)
    run = (lambda: model(pixel_values=x).logits) if name == "videomae-b" else (lambda: model(x))
    with torch.inference_mode():
        times = []
        for _ in range(repeat + 1):  # the first run warms up
            sync(device)
            start = time.perf_counter()
            run()
            sync(device)
            times.append(time.perf_counter() - start)
        # peak memory of plain inference, read before FLOP counting, whose dispatch mode holds more
        if device.startswith("cuda"):
            peak_mb = torch.cuda.max_memory_allocated() / 2**20
        else:
            peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        from torch.utils.flop_counter import FlopCounterMode  # imported late: its modules add to the RSS

        counter = FlopCounterMode(display=False)
        with counter:
            run()
    return {"seconds": min(times[1:]), "gflop": counter.get_total_flops() / 1e9, "peak_mb": peak_mb}


def child(args: argparse.Namespace) -> None:
    import torch

    torch.set_num_threads(args.threads) if args.threads else None
    print(json.dumps(measure(args.child, args.child_frames, args.device, args.repeat)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, nargs="+", default=[8, 16, 32, 64])
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeat", type=int, default=2, help="timed runs after one warm-up; the best counts")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--child-frames", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    peak = matmul_peak(args.device)
    print(f"device {args.device}, torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"float32 matmul peak {peak:.1f} GFLOP/s")
    results: dict[tuple[str, int], dict] = {}
    header = f"{'model':<14}{'frames':>7}{'ms/clip':>10}{'GFLOP':>9}{'GFLOP/s':>9}{'of peak':>9}{'peak MiB':>9}"
    print(header)
    for name in args.models:
        for frames in args.frames:
            cmd = [sys.executable, __file__, "--child", name, "--child-frames", str(frames), "--device",
                   args.device, "--repeat", str(args.repeat), "--threads", str(args.threads)]
            proc = subprocess.run(cmd, capture_output=True, text=True)
            if proc.returncode != 0:
                last = (proc.stderr.strip().splitlines() or ["failed"])[-1]
                print(f"{name:<14}{frames:>7}  skipped: {last}")
                continue
            r = results[name, frames] = json.loads(proc.stdout.strip().splitlines()[-1])
            rate = r["gflop"] / r["seconds"]
            print(f"{name:<14}{frames:>7}{r['seconds'] * 1e3:>10.0f}{r['gflop']:>9.0f}{rate:>9.1f}"
                  f"{rate / peak:>9.2f}{r['peak_mb']:>9.0f}", flush=True)

    def ratio(a: tuple[str, int], b: tuple[str, int]) -> str:
        return f"{results[a]['seconds'] / results[b]['seconds']:.2f}" if a in results and b in results else "n/a"

    print("\nratios (same run)")
    print(f"  lvit time(64)/time(16):            {ratio(('lvit', 64), ('lvit', 16))}   (linear: 4.0; goal <= 4.4)")
    print(f"  lvit-softmax time(64)/time(16):    {ratio(('lvit-softmax', 64), ('lvit-softmax', 16))}")
    print(f"  softmax/linear at 64 frames:       {ratio(('lvit-softmax', 64), ('lvit', 64))}   (goal >= 1.5)")
    print(f"  videomae-b/lvit at 64 frames:      {ratio(('videomae-b', 64), ('lvit', 64))}   (goal >= 1.0)")
    print(f"  videomae-b/lvit at 16 frames:      {ratio(('videomae-b', 16), ('lvit', 16))}")


if __name__ == "__main__":
    main()
