"""`--isa` for the benchmarks: rerun this script with ATen, oneDNN, MKL and numba held to one instruction set.

The limits must be in the environment before torch and numba are imported, so the script starts again in a
new process image (`os.execve`) whose children inherit them; linvit's own run-time choices (the matrix
backend, the numba kernels' lanes) read the same limits. A CPU held to AVX2 is not an AVX2 CPU (its caches,
latencies and clock stay), but it runs the same instructions.
"""

from __future__ import annotations

import argparse
import os
import sys

MARK = "LINVIT_BENCH_ISA"


def add_option(parser) -> None:
    parser.add_argument("--isa", choices=("avx2", "avx512"),
                        help="hold ATen, oneDNN, MKL and numba to this instruction set (default: all the CPU has)")


def hold(isa: str | None) -> None:
    """Restart the running script held to `isa`, unless it already is (or `isa` is None)."""
    if isa is None or os.environ.get(MARK) == isa:
        return
    from linvit_cli.errors import UsageError
    from linvit_cli.machine import held_to

    try:
        limits = held_to(isa)
    except UsageError as err:
        sys.exit(f"error: {err}")
    sys.stdout.flush()
    os.execve(sys.executable, [sys.executable, *sys.argv], {**os.environ, **limits, MARK: isa})


def start(parser: argparse.ArgumentParser) -> argparse.Namespace:
    """The command line's arguments, with this process held to `--isa` (`hold`), freed memory kept for reuse
    as the `linvit` command keeps it (`LINVIT_MALLOC=system`: glibc's defaults) and torch on `--threads`
    threads where given: how a benchmark that runs linvit's models in its own process begins."""
    args = parser.parse_args()
    hold(args.isa)
    import torch

    from linvit_cli.allocator import keep_freed_memory

    keep_freed_memory()
    if args.threads:
        torch.set_num_threads(args.threads)
    return args


def describe() -> str:
    """The CPU and the instruction set in effect, for the first line of a benchmark's output."""
    import torch

    from linvit_cli.machine import cpu, numba_vector_lanes

    held = os.environ.get(MARK)
    return (f"{cpu().describe()}; " + (f"held to {held.upper()}" if held else "no instruction-set limit")
            + f" (ATen {torch.backends.cpu.get_cpu_capability()}, numba {32 * numba_vector_lanes()}-bit vectors)")
