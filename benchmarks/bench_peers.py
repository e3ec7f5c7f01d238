"""linvit's linear-complexity models against a quadratic peer (VideoMAE-B) on the same machine, in one run.

Each measurement (model, frame count) runs in a fresh subprocess, so its peak RSS is its own (torch and the
weights included): random weights, one 224 px view, the best of `--repeat` timed forwards after one
warm-up. On CUDA the child then runs batches of views (`--batches`) and reports clips per second at the
best of them (a GPU is used in full only by several views at once), and its peak is of GPU memory. GFLOP
follow benchmarks/flops.py (2 per multiply-add of matrix products, convolutions and attention, plus
VideoMamba's scan at 3 multiply-adds per token, channel and state), counted on the meta device. Achieved
GFLOP/s are divided by a matmul peak measured in this run (float32 on a CPU, the forwards' precision on
CUDA, where autocast runs the products in it), before and after the models (the higher one counts), so the
fractions hold on a noisy machine where absolute times drift. linvit's models run as the `linvit` command runs
them, with freed memory kept for reuse (`linvit_cli/allocator.py`); so does `videomae-b-linvit`, the peer with
linvit's Linear and allocator, while `videomae-b` runs as its users run it.
The models are measured frame count by frame count, so the ones a ratio compares run minutes apart at most;
`--rounds 2` measures the whole set twice and keeps each measurement's faster round (on a machine whose
speed drifts by 15-30% from minute to minute, one slow minute then decides no ratio alone).

    python benchmarks/bench_peers.py                                  # CPU float32, 2 threads, 16/64/128 frames
    python benchmarks/bench_peers.py --frames 16 --models videomamba-s videomae-b
    python benchmarks/bench_peers.py --rounds 2                       # twice as long, less noise
    python benchmarks/bench_peers.py --dtype bfloat16                 # autocast (where the CPU has bf16)
    python benchmarks/bench_peers.py --device cuda --dtype bfloat16  # VideoMamba-S on linvit's Triton kernels
    python benchmarks/bench_peers.py --isa avx2                       # ATen, oneDNN, MKL, numba held to AVX2

VideoMAE-B (Hugging Face transformers, SDPA attention) needs `pip install transformers` (the `bench` extra);
without it its rows say so.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import isa  # benchmarks/isa.py, beside this script
import torch

MODELS = ("videomamba-s", "lvit-k400", "lvit-softmax", "videomae-b", "videomae-b-linvit")
DEFAULT_MODELS = ("videomamba-s", "lvit-k400", "videomae-b", "videomae-b-linvit")


def build(name: str, frames: int) -> tuple[torch.nn.Module, torch.Tensor]:
    """The model (random weights) and a normalised input clip of `frames` frames at 224 px."""
    if name.startswith("videomae-b"):
        from transformers import VideoMAEConfig, VideoMAEForVideoClassification

        from linvit_cli.models.layers import Linear

        model = VideoMAEForVideoClassification(VideoMAEConfig(num_frames=frames, image_size=224, num_labels=400,
                                                              attn_implementation="sdpa"))
        if name == "videomae-b-linvit":  # the peer with linvit's Linear: its products on the backend linvit chose
            for module in model.modules():
                if type(module) is torch.nn.Linear:
                    module.__class__ = Linear
        return model, torch.randn(1, frames, 3, 224, 224)
    from linvit_cli.models.architectures import create_model
    from linvit_cli.registry.load import load_registry

    if name == "videomamba-s":
        return create_model("videomamba_small", num_classes=400, num_frames=frames), torch.randn(1, 3, frames, 224, 224)
    entry = load_registry().get("lvit-k400")  # the K400 configuration: two gates, 8-frame shift groups
    attention = "softmax" if name == "lvit-softmax" else "linear"
    return create_model(entry.arch, **entry.build_kwargs(), attention=attention), torch.randn(1, 3, frames, 224, 224)


def forward(name: str, model: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    return model(pixel_values=x).logits if name.startswith("videomae-b") else model(x)


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def matmul_peak(device: str, dtype: torch.dtype, seconds: float = 2.0) -> dict[str, float]:
    """Best GFLOP/s of a 2048^3 product over `seconds` each: torch.mm (MKL on a CPU) and, on a CPU, oneDNN (the
    path of linvit's Linear layers), which can be twice as fast (AMD CPUs with AVX-512). In `dtype`."""
    a, b = (torch.randn(2048, 2048, device=device, dtype=dtype) for _ in range(2))
    kinds = {"torch.mm": lambda: torch.mm(a, b)}
    if device == "cpu" and dtype == torch.float32 and torch.backends.mkldnn.is_available():
        kinds["oneDNN"] = lambda: torch.ops.mkldnn._linear_pointwise(a, b, None, "none", [], "")
    peaks = {}
    for kind, product in kinds.items():
        best = float("inf")
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            sync(device)
            start = time.perf_counter()
            product()
            sync(device)
            best = min(best, time.perf_counter() - start)
        peaks[kind] = 2 * 2048**3 / best / 1e9
    return peaks


def measure(name: str, frames: int, device: str, dtype: str, repeat: int, batches: list[int]) -> dict:
    """Runs in the child: best seconds of `repeat` forwards after one warm-up, and the peak memory; on CUDA
    also the most clips per second over batches of `batches` views (1 included) and the batch that gave it."""
    from memory import peak_rss_mib

    from linvit_cli.allocator import keep_freed_memory

    if name != "videomae-b":
        keep_freed_memory()
    torch.manual_seed(0)
    model, x = build(name, frames)
    model, x = model.eval().to(device), x.to(device)

    def best_seconds(clip: torch.Tensor) -> float:
        times = []
        for _ in range(repeat + 1):
            sync(device)
            start = time.perf_counter()
            forward(name, model, clip)
            sync(device)
            times.append(time.perf_counter() - start)
        return min(times[1:])

    autocast = dtype != "float32"
    with torch.inference_mode(), torch.autocast(torch.device(device).type, dtype=getattr(torch, dtype),
                                                enabled=autocast):
        seconds = best_seconds(x)
        throughput = {1: 1 / seconds}
        if device.startswith("cuda"):
            for batch in sorted(set(batches) - {1}):
                try:
                    throughput[batch] = batch / best_seconds(x.expand(batch, *x.shape[1:]).contiguous())
                except torch.cuda.OutOfMemoryError:
                    break
    peak_mib = torch.cuda.max_memory_allocated() / 2 ** 20 if device.startswith("cuda") else peak_rss_mib()
    best_batch = max(throughput, key=throughput.get)
    return {"seconds": seconds, "peak_mib": peak_mib, "clips_per_s": throughput[best_batch], "batch": best_batch}


def run_child(name: str, frames: int, args: argparse.Namespace) -> dict | None:
    """One measurement in a fresh process; None (and a line saying why) when it fails."""
    cmd = [sys.executable, __file__, "--child", name, str(frames), "--device", args.device,
           "--dtype", args.dtype, "--repeat", str(args.repeat), "--threads", str(args.threads),
           "--batches", *map(str, args.batches)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["failed"])[-1]
        print(f"{name:<18}{frames:>7}  failed: {last}", flush=True)
        return None
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, nargs="+", default=[16, 64, 128])
    parser.add_argument("--models", nargs="+", choices=MODELS,
                        help=f"default: {' '.join(DEFAULT_MODELS)} (on CUDA without videomae-b-linvit, a CPU variant)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtype", default="float32", choices=("float32", "bfloat16", "float16"),
                        help="autocast precision of the forwards (the peak: float32 on a CPU, this on CUDA)")
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 2, 4, 8, 16, 32],
                        help="on CUDA, views per forward tried for clips/s (up to the first out of memory)")
    parser.add_argument("--repeat", type=int, default=2, help="timed runs after one warm-up; the best counts")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    parser.add_argument("--rounds", type=int, default=1,
                        help="times the whole set is measured, minutes apart; each measurement's best round counts")
    parser.add_argument("--child", nargs=2, metavar=("MODEL", "FRAMES"), help=argparse.SUPPRESS)
    isa.add_option(parser)
    args = parser.parse_args()
    isa.hold(args.isa)
    torch.set_num_threads(args.threads)
    if args.child:
        print(json.dumps(measure(args.child[0], int(args.child[1]), args.device, args.dtype, args.repeat,
                                 args.batches)))
        return
    on_gpu = args.device.startswith("cuda")
    args.models = args.models or [m for m in DEFAULT_MODELS if not (on_gpu and m == "videomae-b-linvit")]
    peak_dtype = getattr(torch, args.dtype) if on_gpu else torch.float32

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from flops import count_gflop  # here, not in the children: torch's FLOP counter adds ~60 MiB to a process

    from linvit_cli.models.layers.linear import matmul_backend

    before = matmul_peak(args.device, peak_dtype)
    where = torch.cuda.get_device_name(args.device) if on_gpu else f"{isa.describe()}, {args.threads} threads"
    print(f"{where}; torch {torch.__version__}; {args.device}, {args.dtype}; {str(peak_dtype)[6:]} matmul peak "
          "before the models: " + ", ".join(f"{k} {v:.0f}" for k, v in before.items()) + " GFLOP/s")
    if not on_gpu:
        print(f"linvit's Linear here: {' '.join(matmul_backend())}")
    print(f"{'model':<18}{'frames':>7}{'s/view':>9}{'GFLOP':>8}{'GFLOP/s':>9}{'peak MiB':>10}"
          + (f"{'clips/s':>9}{'batch':>6}" if on_gpu else ""))
    results: dict[tuple[str, int], dict] = {}
    # frame count by frame count, so that the models compared run within minutes of each other
    for round_ in range(args.rounds):
        for frames in args.frames:
            for name in args.models:
                result = run_child(name, frames, args)
                if result is None:
                    continue
                earlier = results.get((name, frames))
                if earlier is not None:  # the faster round counts; peak memory, the higher
                    result = dict(min(earlier, result, key=lambda r: r["seconds"]),
                                  peak_mib=max(earlier["peak_mib"], result["peak_mib"]))
                result["gflop"] = earlier["gflop"] if earlier else count_gflop(
                    lambda name=name, frames=frames: build(name, frames),
                    lambda model, x, name=name: forward(name, model, x))
                results[name, frames] = result
                print(f"{name:<18}{frames:>7}{result['seconds']:>9.3f}{result['gflop']:>8.0f}"
                      f"{result['gflop'] / result['seconds']:>9.1f}{result['peak_mib']:>10.0f}"
                      + (f"{result['clips_per_s']:>9.1f}{result['batch']:>6}" if on_gpu else "")
                      + (f"   (best of {round_ + 1} rounds)" if round_ else ""), flush=True)
    after = matmul_peak(args.device, peak_dtype)
    peak = max(*before.values(), *after.values())
    print(f"\n{str(peak_dtype)[6:]} matmul peak after the models: "
          + ", ".join(f"{k} {v:.0f}" for k, v in after.items()) + f" GFLOP/s; fractions of the highest ({peak:.0f}):")
    for (name, frames), result in results.items():
        print(f"  {name:<18}{frames:>4} frames: {result['gflop'] / result['seconds'] / peak:.2f} of peak")

    def ratio(a: tuple[str, int], b: tuple[str, int]) -> str:
        return f"{results[a]['seconds'] / results[b]['seconds']:.2f}" if a in results and b in results else "n/a"

    def of_peak(key: tuple[str, int]) -> str:
        return f"{results[key]['gflop'] / results[key]['seconds'] / peak:.2f}" if key in results else "n/a"

    mamba, lvit, mae, mae_linvit = "videomamba-s", "lvit-k400", "videomae-b", "videomae-b-linvit"
    print("\nratios (time per view, same run)                 goal")
    goals = ((16, "<= 0.5"), (64, "<= 0.3"), (128, "")) if on_gpu else ((16, "<= 0.6"), (64, "<= 0.35"), (128, ""))
    for frames, goal in goals:
        print(f"  VideoMamba-S / VideoMAE-B, {frames:>3} frames:   {ratio((mamba, frames), (mae, frames)):>6}   {goal}")
    print(f"  VideoMamba-S of matmul peak, 16 frames: {of_peak((mamba, 16)):>6}   >= 0.45")
    for frames, goal in ((16, ""), (64, "<= 0.9"), (128, "<= 0.4")):
        print(f"  LViT-K400 / VideoMAE-B, {frames:>3} frames:      {ratio((lvit, frames), (mae, frames)):>6}   {goal}")
    print(f"  LViT-K400 time(128) / time(16):          {ratio((lvit, 128), (lvit, 16)):>6}   <= 8.4 (linear: 8.0)")
    if on_gpu:
        print("  time per clip at each model's best batch, against VideoMAE-B's:")
        for frames in args.frames:
            for model in (mamba, lvit):
                if (model, frames) in results and (mae, frames) in results:
                    per_clip = results[mae, frames]["clips_per_s"] / results[model, frames]["clips_per_s"]
                    print(f"  {model} / VideoMAE-B, {frames:>3} frames: {per_clip:6.2f}")
    else:
        print("  against VideoMAE-B with linvit's Linear layers too (architecture against architecture):")
        for frames in (16, 64, 128):
            mamba_ratio, lvit_ratio = ratio((mamba, frames), (mae_linvit, frames)), ratio((lvit, frames),
                                                                                          (mae_linvit, frames))
            print(f"  VideoMamba-S / VideoMAE-B (linvit), {frames:>3}: {mamba_ratio:>6}")
            print(f"  LViT-K400 / VideoMAE-B (linvit), {frames:>3}:    {lvit_ratio:>6}")
    if ("lvit-softmax", 64) in results:
        print(f"  LViT softmax / linear, 64 frames:        {ratio(('lvit-softmax', 64), (lvit, 64)):>6}")
    if (lvit, 16) in results and not on_gpu:
        print(f"  LViT-K400 peak RSS, 16 frames:           {results[lvit, 16]['peak_mib'] * 2**20 / 1e9:>6.2f}   "
              "<= 1.0 GB")


if __name__ == "__main__":
    main()
