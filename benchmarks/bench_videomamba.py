"""Where the time of one VideoMamba clip goes: the selective scan against the matrix products.

One view (16 frames, 224 px by default) of VideoMamba-S at random weights, float32, inference mode. The
scan calls, the matrix products (every Linear layer, the paired per-direction projections and the patch
embedding) and the causal convolutions are timed separately, so the report shows whether the
plain-PyTorch scan costs more or less than the matrix products around it (the goal: scan / matmul <= 1
on CPU). Our chunked scan is also compared with the step-by-step reference on the same inputs (the scan
inputs of the first block, both directions). On CUDA it also reports clips per second and the distance
of the float32 logits from a float64 run of the same model.

    python benchmarks/bench_videomamba.py                     # CPU
    python benchmarks/bench_videomamba.py --device cuda       # GPU
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import torch
from torch import Tensor, nn

from linvit_cli.models import create_model
from linvit_cli.models.videomamba import bimamba
from linvit_cli.models.videomamba.selective_scan import selective_scan, selective_scan_reference

MATMUL_MODULES = (nn.Linear, nn.Conv3d)
# functions of the mixer timed under a label of their own: (attribute of `bimamba`, label)
MIXER_FUNCTIONS = (("selective_scan", "scan"), ("linear_pair", "matmul"), ("causal_depthwise_conv", "conv"))


class Stopwatch:
    """Accumulated seconds per label; synchronises the device so GPU work is counted where it runs."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.seconds: dict[str, float] = {}

    def now(self) -> float:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        return time.perf_counter()

    def add(self, label: str, seconds: float) -> None:
        self.seconds[label] = self.seconds.get(label, 0.0) + seconds


@contextmanager
def timed_parts(model: nn.Module, watch: Stopwatch, captured: list[tuple[Tensor, ...]]) -> Iterator[None]:
    """Time the scan, the matrix products and the causal convolutions; keep the first scan's inputs in
    `captured`."""

    def timed(function: Callable[..., Tensor], label: str) -> Callable[..., Tensor]:
        def run(*args: Tensor) -> Tensor:
            if label == "scan" and not captured:
                captured.append(args)
            start = watch.now()
            out = function(*args)
            watch.add(label, watch.now() - start)
            return out
        return run

    starts: dict[int, float] = {}

    def before(module: nn.Module, _inputs: object) -> None:
        starts[id(module)] = watch.now()

    def after(module: nn.Module, _inputs: object, _output: object) -> None:
        watch.add("matmul", watch.now() - starts.pop(id(module)))

    handles = [h for m in model.modules() if isinstance(m, MATMUL_MODULES)
               for h in (m.register_forward_pre_hook(before), m.register_forward_hook(after))]
    originals = {name: getattr(bimamba, name) for name, _ in MIXER_FUNCTIONS}
    for name, label in MIXER_FUNCTIONS:
        setattr(bimamba, name, timed(originals[name], label))
    try:
        yield
    finally:
        for name, function in originals.items():
            setattr(bimamba, name, function)
        for handle in handles:
            handle.remove()


def best_of(repeats: int, watch: Stopwatch, run: Callable[[], object]) -> float:
    """Fastest wall time of `repeats` runs, in seconds."""
    best = float("inf")
    for _ in range(repeats):
        start = watch.now()
        run()
        best = min(best, watch.now() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="videomamba_small")
    parser.add_argument("--frames", type=int, default=16)
    parser.add_argument("--batch", type=int, default=1,
                        help="views per forward pass (`linvit classify --view-batch`: 1 on a CPU, 4 on a GPU)")
    parser.add_argument("--img-size", type=int, default=224)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs of each kind (the best is kept)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    torch.manual_seed(0)
    model = create_model(args.model, num_frames=args.frames, img_size=args.img_size).eval().to(device)
    x = torch.randn(args.batch, 3, args.frames, args.img_size, args.img_size).to(device)  # made on CPU: same bits
    watch = Stopwatch(device)
    rows: list[tuple[str, str]] = [
        ("model", f"{args.model}, {sum(p.numel() for p in model.parameters()) / 1e6:.1f} M parameters"),
        ("input", f"{args.batch} x 3 x {args.frames} x {args.img_size} x {args.img_size}, float32, {device}"
                  + (f", {torch.get_num_threads()} threads" if device.type == "cpu" else "")),
    ]

    with torch.inference_mode():
        model(x)  # warm-up
        total = best_of(args.repeats, watch, lambda: model(x))
        captured: list[tuple[Tensor, ...]] = []
        runs = []  # (total, scan, matmul) of each instrumented run; the best of each is reported
        for _ in range(args.repeats):
            parts = Stopwatch(device)
            with timed_parts(model, parts, captured):
                timed_total = best_of(1, parts, lambda: model(x))
            runs.append((timed_total, parts.seconds["scan"], parts.seconds["matmul"], parts.seconds["conv"]))
        # the parts of the run with the best total, and every run's ratio (each measured within its run)
        timed_total, scan_s, matmul_s, conv_s = min(runs)
        ratios = sorted(scan / matmul for _, scan, matmul, _ in runs)
        depth = len(model.blocks)
        rows += [
            ("forward, total", f"{total * 1e3:.0f} ms (best of {args.repeats})"),
            ("  instrumented run", f"{timed_total * 1e3:.0f} ms (the best of {args.repeats}; its parts:)"),
            ("  selective scan", f"{scan_s * 1e3:.0f} ms ({depth} calls, both directions each)"),
            ("  matrix products", f"{matmul_s * 1e3:.0f} ms (Linear, paired projections, patch embedding)"),
            ("  causal convolutions", f"{conv_s * 1e3:.0f} ms"),
            ("  everything else", f"{(timed_total - scan_s - matmul_s - conv_s) * 1e3:.0f} ms"),
            ("  scan / matmul", f"{scan_s / matmul_s:.2f} in that run; "
                                f"{' '.join(f'{r:.2f}' for r in ratios)} in all {args.repeats} (goal <= 1)"),
        ]

        layer = captured[0]
        ours = best_of(args.repeats, watch, lambda: selective_scan(*layer))
        start = watch.now()
        reference = selective_scan_reference(*layer)
        ref_s = watch.now() - start
        y = selective_scan(*layer)
        err = ((y - reference).abs().max() / reference.abs().max()).item()
        length = layer[0].shape[1]
        # A floor for any scan of this kind: one exponential per state element, exp(delta_t A[d, n]).
        sequences, channels, n = layer[0].shape[0], layer[0].shape[2], layer[2].shape[-1]
        # chunks of 32 steps into one reused buffer, as the scan does on a CPU
        piece, buffer = torch.rand(2, sequences, 32, n, channels, device=device).neg_()
        exps = best_of(args.repeats, watch,
                       lambda: [torch.exp2(piece, out=buffer) for _ in range(-(-length // 32))])
        rows += [
            ("scan of block 0", f"{length} tokens, {sequences} sequences (views x 2 directions), "
                                f"D = {channels}, N = {n}"),
            ("  chunked (ours)", f"{ours * 1e3:.1f} ms"),
            ("  exps alone (a floor)", f"{exps * 1e3:.1f} ms: one exp per state element "
                                       f"({sequences} x {length} x {n} x {channels})"),
            ("  step-by-step reference", f"{ref_s * 1e3:.1f} ms, measured once on block 0"),
            ("  speed-up", f"{ref_s / ours:.1f}x"),
            ("  reference, whole model", f"~{ref_s * depth * 1e3:.0f} ms (block 0 x {depth}, extrapolated)"),
            ("  max |ours - ref| / max |ref|", f"{err:.1e}"),
        ]

        if device.type == "cuda":
            passes = max(args.repeats, 10)
            seconds = best_of(1, watch, lambda: [model(x) for _ in range(passes)])
            logits64 = model.double()(x.double())
            logits32 = model.float()(x)
            rows += [
                ("views / s (float32)", f"{passes * args.batch / seconds:.1f}"),
                ("max |fp32 - fp64| logits", f"{(logits32.double() - logits64).abs().max().item():.1e} "
                                             f"(max |logit| {logits64.abs().max().item():.2f})"),
            ]

    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        print(f"{label:<{width}}  {value}")


if __name__ == "__main__":
    main()
