"""Where the time of one VideoMamba clip goes, with linvit's kernels and with plain PyTorch.

One view (16 frames, 224 px by default) of VideoMamba-S at random weights, inference mode, run both ways in
this one process, alternately: the kernels path (on a CPU the numba kernels: the mixer's convolution, scan,
softplus, D skip and gate in two kernels, the residual add and RMSNorm in a third; on CUDA the Triton
kernels: convolution + SiLU, the scan's segment summaries, the scan with read-out, D skip and gate, and add
+ RMSNorm) and the plain PyTorch path (chunked selective scan), as `LINVIT_KERNELS=torch` runs it. For
each, an instrumented run (synchronising after every part) splits the time into the matrix products (every
Linear, the per-direction projections and the patch embedding), the kernels or the scan and causal
convolutions, and everything else. The plain scan is also compared with the step-by-step reference on
block 0's inputs. On CUDA it then reports views per second and the distance of the float32 logits from a
float64 run (which takes the plain path). Freed memory is kept for reuse as the `linvit` command keeps it
(`linvit_cli/allocator.py`; `LINVIT_MALLOC=system` for glibc's defaults).

    python benchmarks/bench_videomamba.py                     # CPU, torch's threads
    python benchmarks/bench_videomamba.py --threads 2 --frames 64
    python benchmarks/bench_videomamba.py --device cuda --batch 4 --dtype bfloat16
    python benchmarks/bench_videomamba.py --threads 2 --isa avx2   # ATen, oneDNN, MKL, numba held to AVX2
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager

import isa  # benchmarks/isa.py, beside this script
import torch
from torch import Tensor, nn

from linvit_cli import kernels
from linvit_cli.kernels import numba as numba_kernels
from linvit_cli.kernels import triton as triton_kernels
from linvit_cli.kernels.numba import bimamba as numba_mixer
from linvit_cli.kernels.triton import bimamba as triton_mixer
from linvit_cli.models.architectures import create_model
from linvit_cli.models.videomamba import bimamba
from linvit_cli.models.videomamba.selective_scan import selective_scan, selective_scan_reference

MATMUL_MODULES = (nn.Linear, nn.Conv3d)
# (module, function, label): the pieces timed under a label of their own
PLAIN_PARTS = ((bimamba, "selective_scan", "scan"), (bimamba, "causal_depthwise_conv", "causal conv"))
# per backend: its loader, its kernels (module, function, label) and its glue's matrix products
KERNELS = {
    "numba": (numba_kernels.load, (("mixer", "causal_conv_silu", "kernel: conv + SiLU"),
                                   ("mixer", "bidirectional_scan", "kernel: scan + gate"),
                                   ("norm", "add_rms_norm", "kernel: add + RMSNorm")), (numba_mixer, "linear")),
    "triton": (triton_kernels.load, (("mixer", "causal_conv_silu", "kernel: conv + SiLU"),
                                     ("mixer", "scan_summaries", "kernel: scan summaries"),
                                     ("mixer", "scan_outputs", "kernel: scan + gate"),
                                     ("norm", "add_rms_norm", "kernel: add + RMSNorm")), (triton_mixer, "_project")),
}


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
def replaced(owner: object, name: str, value: object) -> Iterator[None]:
    original = getattr(owner, name)
    setattr(owner, name, value)
    try:
        yield
    finally:
        setattr(owner, name, original)


@contextmanager
def plain_pytorch() -> Iterator[None]:
    """The model as it runs with `LINVIT_KERNELS=torch`."""
    before = os.environ.get(kernels.ENV_VAR)
    os.environ[kernels.ENV_VAR] = "torch"
    try:
        yield
    finally:
        if before is None:
            del os.environ[kernels.ENV_VAR]
        else:
            os.environ[kernels.ENV_VAR] = before


class TimedLaunches:
    """Stands for a Triton kernel: `kernel[grid](...)` launches it, timed under `label`."""

    def __init__(self, kernel: object, timed: Callable[[Callable[..., object], str], Callable[..., object]],
                 label: str) -> None:
        self.kernel, self.timed, self.label = kernel, timed, label

    def __getitem__(self, grid: tuple[int, ...]) -> Callable[..., object]:
        return self.timed(self.kernel[grid], self.label)


@contextmanager
def timed_parts(model: nn.Module, watch: Stopwatch, captured: list[tuple[Tensor, ...]],
                backend: str) -> Iterator[None]:
    """Time matrix products, `backend`'s kernels, scan and convolutions; keep the first plain scan's inputs."""

    def timed(function: Callable[..., object], label: str) -> Callable[..., object]:
        def run(*args: object, **kwargs: object) -> object:
            if label == "scan" and not captured:
                captured.append(args)
            start = watch.now()
            out = function(*args, **kwargs)
            watch.add(label, watch.now() - start)
            return out
        return run

    starts: dict[int, float] = {}

    def before(module: nn.Module, _inputs: object) -> None:
        starts[id(module)] = watch.now()

    def after(module: nn.Module, _inputs: object, _output: object) -> None:
        watch.add("matrix products", watch.now() - starts.pop(id(module)))

    handles = [h for m in model.modules() if isinstance(m, MATMUL_MODULES)
               for h in (m.register_forward_pre_hook(before), m.register_forward_hook(after))]
    parts = [(owner, name, label) for owner, name, label in PLAIN_PARTS]
    parts += [(torch, name, "matrix products") for name in ("bmm", "baddbmm")]
    launched = []
    if backend in KERNELS:
        load, kernel_parts, (glue, product) = KERNELS[backend]
        parts.append((glue, product, "matrix products"))
        launched = [(load(module), name, label) for module, name, label in kernel_parts if load(module)]
    with ExitStack() as stack:
        for owner, name, label in parts:
            stack.enter_context(replaced(owner, name, timed(getattr(owner, name), label)))
        for owner, name, label in launched:
            kernel = getattr(owner, name)
            stack.enter_context(replaced(owner, name, timed(kernel, label) if backend == "numba"
                                         else TimedLaunches(kernel, timed, label)))
        try:
            yield
        finally:
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
    parser.add_argument("--dtype", default="float32", choices=("float32", "bfloat16", "float16"),
                        help="autocast precision of the forwards (the scan computes in float32 either way)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs of each kind (the best is kept)")
    isa.add_option(parser)
    args = isa.start(parser)
    device = torch.device(args.device)
    torch.manual_seed(0)
    model = create_model(args.model, num_frames=args.frames, img_size=args.img_size).eval().to(device)
    x = torch.randn(args.batch, 3, args.frames, args.img_size, args.img_size).to(device)  # made on CPU: same bits
    watch = Stopwatch(device)
    if device.type == "cpu":
        print(isa.describe())
    print(f"{args.model}, {sum(p.numel() for p in model.parameters()) / 1e6:.1f} M parameters; input "
          f"{args.batch} x 3 x {args.frames} x {args.img_size} x {args.img_size}, {args.dtype}, {device}"
          + (f", {torch.get_num_threads()} threads" if device.type == "cpu" else ""))
    backend = kernels.backend(device)
    fused = backend in KERNELS and KERNELS[backend][0]("mixer") is not None
    kernels_mode = f"{backend} kernels"
    # mode -> (context, backend whose kernels run)
    modes = {kernels_mode: (ExitStack, backend)} if fused else {}
    modes["plain PyTorch"] = (plain_pytorch, "torch")
    precision = getattr(torch, args.dtype)

    def forward() -> Tensor:
        with torch.autocast(device.type, dtype=precision, enabled=args.dtype != "float32"):
            return model(x)

    captured: list[tuple[Tensor, ...]] = []
    with torch.inference_mode():
        logits, totals = {}, {mode: float("inf") for mode in modes}
        for mode, (context, _) in modes.items():
            with context():
                logits[mode] = forward()  # warm-up (and the first time numba's or Triton's compilation)
        for _ in range(args.repeats):  # alternately, so that a slow phase of the machine hits both
            for mode, (context, _) in modes.items():
                with context():
                    totals[mode] = min(totals[mode], best_of(1, watch, forward))
        print(f"\nforward, best of {args.repeats}")
        for mode, seconds in totals.items():
            print(f"  {mode:<16} {seconds * 1e3:8.1f} ms")
        if fused:
            a, b = logits.values()
            print(f"  plain / kernels  {totals['plain PyTorch'] / totals[kernels_mode]:8.2f}x   "
                  f"max |logit difference| {(a.float() - b.float()).abs().max().item():.1e}")
        for mode, (context, runs) in modes.items():
            parts = Stopwatch(device)
            with context(), timed_parts(model, parts, captured, runs):
                total = best_of(1, parts, forward)
            print(f"\n{mode}: one instrumented run, {total * 1e3:.1f} ms")
            for label, seconds in sorted(parts.seconds.items(), key=lambda item: -item[1]):
                print(f"  {label:<24} {seconds * 1e3:7.1f} ms")
            print(f"  {'everything else':<24} {(total - sum(parts.seconds.values())) * 1e3:7.1f} ms")

        layer = captured[0]
        ours = best_of(args.repeats, watch, lambda: selective_scan(*layer))
        start = watch.now()
        reference = selective_scan_reference(*layer)
        reference_s = watch.now() - start
        error = ((selective_scan(*layer) - reference).abs().max() / reference.abs().max()).item()
        print(f"\nplain scan of block 0 ({layer[0].shape[1]} tokens, {layer[0].shape[0]} sequences, "
              f"D = {layer[0].shape[2]}, N = {layer[2].shape[-1]}): chunked {ours * 1e3:.1f} ms, step by step "
              f"{reference_s * 1e3:.1f} ms ({reference_s / ours:.1f}x), max |difference| / max {error:.1e}")

        if device.type == "cuda":
            passes = max(args.repeats, 10)
            seconds = best_of(1, watch, lambda: [forward() for _ in range(passes)])
            logits64 = model.double()(x.double())  # float64: the plain path
            logits32 = model.float()(x)
            print(f"{backend} path: views / s ({args.dtype}) {passes * args.batch / seconds:.1f}; max |fp32 - fp64| "
                  f"logits {(logits32.double() - logits64).abs().max().item():.1e} "
                  f"(max |logit| {logits64.abs().max().item():.2f})")


if __name__ == "__main__":
    main()
