"""A roofline on paper: bytes moved and kernels launched by one VideoMamba-S view on a GPU, plain PyTorch
against the Triton kernels, and the time each implies on a named GPU. Needs no GPU and takes seconds.

The model runs on PyTorch's meta device, which allocates and computes nothing but takes the GPU branches of
the plain path (the chunked scan with large blocks). Every PyTorch operator is counted by a dispatch mode:
one launch, the bytes of its tensor inputs read (a broadcast input once) and of its outputs written; views
and allocations launch nothing. On the Triton path the four kernels are not launched but recorded: one
launch each, and the bytes of the tensors each reads and writes, from its arguments (each tensor a kernel
touches counted once: re-reads of a segment's summaries hit the L2 cache). The matrix products are counted
alike on both paths (cuBLAS), and their FLOP give a compute bound of their own.

bfloat16 is autocast as on a GPU, emulated on the meta device (where autocast does not run): the matrix
products take bfloat16 copies of float32 inputs (weights cast once per forward, as autocast caches them)
and write bfloat16; everything else sees the dtypes that follow.

The time on the GPU is bytes / bandwidth plus launches x launch cost: both counted in full (no overlap),
an estimate of eager PyTorch, whose launches are paid on the CPU. It ignores latency: the Triton scan walks
its segments token by token, which only a GPU can time (`bench_videomamba.py --device cuda`).

    python benchmarks/roofline_videomamba.py                   # H100 SXM, 16 and 64 frames, fp32 and bf16
    python benchmarks/roofline_videomamba.py --bandwidth 4.8 --launch-us 5 --gpu "H200"
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten
from torch.utils.flop_counter import flop_registry

from linvit_cli import kernels
from linvit_cli.models.architectures import create_model

aten = torch.ops.aten
NO_LAUNCH = {aten.empty.memory_format, aten.empty_strided.default, aten.empty_like.default, aten.new_empty.default,
             aten.new_empty_strided.default, aten._unsafe_view.default, aten.lift_fresh.default}
MATMULS = {aten.mm, aten.addmm, aten.bmm, aten.baddbmm, aten.convolution}
# what each Triton kernel writes (the other tensor arguments it only reads); `partial` is written, then read
WRITES = {"causal_conv_silu": {"u"}, "scan_summaries": {"ends", "decays"}, "scan_outputs": {"partial", "out"},
          "add_rms_norm": {"total", "normed"}}
READS_BACK = {"partial"}
TRITON_KERNELS = {"mixer": ("causal_conv_silu", "scan_summaries", "scan_outputs"), "norm": ("add_rms_norm",)}


def touched(t: torch.Tensor) -> int:
    """Bytes of the distinct elements a tensor (view) covers: a broadcast (stride 0) axis counts once."""
    return math.prod(size for size, stride in zip(t.shape, t.stride(), strict=True) if stride) * t.element_size()


@dataclass
class Traffic:
    launches: int = 0
    read: int = 0
    written: int = 0
    flop: int = 0

    def add(self, reads: list[torch.Tensor], writes: list[torch.Tensor]) -> None:
        self.launches += 1
        self.read += sum(touched(t) for t in {id(t): t for t in reads}.values())
        self.written += sum(touched(t) for t in {id(t): t for t in writes}.values())


class Counted(TorchDispatchMode):
    """Counts every PyTorch operator into `traffic`; with `autocast`, casts the matrix products' inputs."""

    def __init__(self, traffic: Traffic, autocast: torch.dtype | None) -> None:
        super().__init__()
        self.traffic, self.autocast = traffic, autocast
        self.cast_weights: set[int] = set()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if self.autocast is not None and func.overloadpacket in MATMULS:
            args = tuple(self.cast(a) for a in args)
        out = func(*args, **kwargs)
        outputs = [t for t in tree_flatten(out)[0] if isinstance(t, torch.Tensor)]
        if func.is_view or func in NO_LAUNCH or not outputs:
            return out
        self.traffic.add([t for t in tree_flatten((args, kwargs))[0] if isinstance(t, torch.Tensor)], outputs)
        if func.overloadpacket in flop_registry:
            self.traffic.flop += flop_registry[func.overloadpacket](*args, **kwargs, out_val=out)
        return out

    def cast(self, t: object) -> object:
        """Autocast's copy of a float32 input; a weight's is made once per forward, as autocast caches it."""
        if not isinstance(t, torch.Tensor) or t.dtype != torch.float32:
            return t
        narrow = t.to(self.autocast)
        weight = t._base if t._base is not None else t
        if not weight.requires_grad:  # an activation: cast at every use
            self.traffic.add([t], [narrow])
        elif id(weight) not in self.cast_weights:
            self.cast_weights.add(id(weight))
            self.traffic.add([t], [narrow])
        return narrow


class Recorded:
    """Stands for a Triton kernel: `kernel[grid](...)` records its launch and traffic instead of launching."""

    def __init__(self, kernel, traffic: Traffic) -> None:
        self.names, self.kernel, self.traffic = kernel.arg_names, kernel.__name__, traffic

    def __getitem__(self, grid: tuple[int, ...]):
        def launch(*args: object, **kwargs: object) -> None:
            named = {**dict(zip(self.names, args, strict=False)), **kwargs}
            tensors = {name: t for name, t in named.items() if isinstance(t, torch.Tensor)}
            writes = WRITES[self.kernel]
            self.traffic.add([t for name, t in tensors.items() if name not in writes or name in READS_BACK],
                             [t for name, t in tensors.items() if name in writes])
        return launch


@contextmanager
def path(name: str, traffic: Traffic, autocast: torch.dtype | None) -> Iterator[None]:
    """The model's GPU path `name` ('torch' or 'triton') on the meta device; Triton launches go to `traffic`."""
    backend, saved = kernels.backend, []
    kernels.backend = lambda device: name  # choose() knows no kernels for the meta device
    if name == "triton":
        from linvit_cli.kernels.triton import load

        for module, kernel_names in TRITON_KERNELS.items():
            loaded = load(module)
            saved += [(loaded, k, getattr(loaded, k)) for k in kernel_names]
            for k in kernel_names:
                setattr(loaded, k, Recorded(getattr(loaded, k), traffic))
    try:
        with autocast_reported("meta", autocast):
            yield
    finally:
        kernels.backend = backend
        for owner, k, kernel in saved:
            setattr(owner, k, kernel)


@contextmanager
def autocast_reported(device: str, dtype: torch.dtype | None) -> Iterator[None]:
    """`torch.is_autocast_enabled(device)` and `get_autocast_dtype` say what autocast on a GPU would say
    (torch has no autocast state for the meta device and raises when asked)."""
    enabled, get_dtype = torch.is_autocast_enabled, torch.get_autocast_dtype
    torch.is_autocast_enabled = lambda *a: dtype is not None if a[:1] == (device,) else enabled(*a)
    torch.get_autocast_dtype = lambda d: dtype if d == device else get_dtype(d)
    try:
        yield
    finally:
        torch.is_autocast_enabled, torch.get_autocast_dtype = enabled, get_dtype


def count(frames: int, name: str, dtype: torch.dtype) -> Traffic:
    """Traffic of one forward of VideoMamba-S (one 224 px view of `frames` frames) on path `name`, after one
    forward of warm-up."""
    with torch.device("meta"):
        model = create_model("videomamba_small", num_frames=frames).eval()
        x = torch.empty(1, 3, frames, 224, 224)
    traffic = Traffic()
    autocast = dtype if dtype != torch.float32 else None
    # no_grad, not inference_mode: under inference_mode the dispatch mode would see composite operators
    # (linear, matmul, rms_norm) undecomposed, where a GPU runs the kernels they decompose into
    with torch.no_grad(), path(name, traffic, autocast):
        model(x)  # a first forward, as a GPU's warm-up: the Triton path makes its narrow weights once
        traffic.__init__()
        with Counted(traffic, autocast):
            model(x)
    return traffic


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, nargs="+", default=[16, 64])
    parser.add_argument("--gpu", default="H100 SXM", help="the GPU named in the table")
    parser.add_argument("--bandwidth", type=float, default=3.35, help="its memory bandwidth, TB/s")
    parser.add_argument("--launch-us", type=float, default=5.0, help="cost of one eager kernel launch, us")
    parser.add_argument("--tflops", type=float, default=989.0, help="its dense bf16 tensor-core peak, TFLOP/s")
    args = parser.parse_args()
    print(f"VideoMamba-S, one 224 px view; {args.gpu}: {args.bandwidth} TB/s, {args.launch_us:g} us per launch "
          f"(assumed), {args.tflops:g} TFLOP/s bf16")
    print("\n| frames | dtype | path | launches | GB read | GB written | GB moved | ms bytes | ms launches "
          "| ms total |\n|---|---|---|---:|---:|---:|---:|---:|---:|---:|")
    ratios, flop = [], {}
    for frames in args.frames:
        for dtype in (torch.float32, torch.bfloat16):
            counted = {name: count(frames, name, dtype) for name in ("torch", "triton")}
            for name, t in counted.items():
                moved = t.read + t.written
                bytes_ms, launch_ms = moved / args.bandwidth / 1e9, t.launches * args.launch_us / 1e3
                print(f"| {frames} | {str(dtype).removeprefix('torch.')} | {'plain' if name == 'torch' else name} | "
                      f"{t.launches:,} | {t.read / 1e9:.2f} | {t.written / 1e9:.2f} | {moved / 1e9:.2f} | "
                      f"{bytes_ms:.1f} | {launch_ms:.1f} | {bytes_ms + launch_ms:.1f} |")
            plain, fused = counted["torch"], counted["triton"]
            ratios.append((frames, dtype, (fused.read + fused.written) / (plain.read + plain.written),
                           fused.launches / plain.launches))
            flop[frames] = fused.flop
    print("\nTriton / plain               bytes    launches   (targets at 16 frames: <= 3%, <= 5%)")
    for frames, dtype, moved, launched in ratios:
        print(f"  {frames:>3} frames {str(dtype).removeprefix('torch.'):<9}   {moved:7.1%}    {launched:7.1%}")
    print("\nmatrix products (both paths): " + ", ".join(
        f"{f} frames {g / 1e9:.0f} GFLOP, >= {g / args.tflops / 1e9:.2f} ms in bf16" for f, g in flop.items()))


if __name__ == "__main__":
    main()
