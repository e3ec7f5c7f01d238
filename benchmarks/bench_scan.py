"""The numba scan kernel at several lane counts on this CPU: the measurement behind `mixer.LANES`.

`kernels/numba/mixer.py` walks `LANES` channels per task, four vector registers' worth of the instruction set
numba compiles for. This script compiles the same kernel at 16, 32 and 64 lanes (the module's source with
another `LANES`, uncached), runs each on one layer of VideoMamba-S (one 16-frame view: 3,137 tokens, D = 768,
N = 16, both directions; the inputs the model gives 8 of its blocks, `mixer_build.scan_inputs`) on one
thread, in turns, and prints the best time of each, state updates per second, and what the compiled code
holds: the widest vector registers it uses, vector instructions, and stack accesses (register spills). Run
it held to each instruction set to see the rule hold on each:

    python benchmarks/bench_scan.py
    python benchmarks/bench_scan.py --isa avx2
"""

from __future__ import annotations

import argparse
import re
import time

import isa  # benchmarks/isa.py, beside this script
import numba
import numpy as np
import torch
from mixer_build import build, installed_source, scan_inputs  # beside this script

import linvit_cli.kernels.numba.mixer as installed
from linvit_cli.models.architectures import create_model

TOKENS, CHANNELS, STATES = 3137, 768, 16


def code_facts(kernel) -> str:
    """Widest registers, vector instructions and stack accesses in the kernel's machine code."""
    assembly = "\n".join(kernel.inspect_asm().values())
    instructions = re.findall(r"^\s+(v\w+)\s+([^\n]*)", assembly, re.M)
    widest = next((w for w in ("zmm", "ymm", "xmm") if any(w in operands for _, operands in instructions)), "none")
    spills = sum(("rsp" in operands or "rbp" in operands) for _, operands in instructions)
    return f"{widest} registers, {len(instructions)} vector instructions, {spills} touching the stack"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5, help="timed runs of each lane count, in turns")
    isa.add_option(parser)
    args = parser.parse_args()
    isa.hold(args.isa)
    numba.set_num_threads(1)
    print(isa.describe())
    print(f"linvit's choice here: LANES = {installed.LANES}")
    model = create_model("videomamba_small", num_frames=16, img_size=224).eval()
    inputs = scan_inputs(model, torch.randn(1, 3, 16, 224, 224, generator=torch.Generator().manual_seed(0)))
    kernels = {lanes: build(installed_source(), f"{lanes} lanes", lanes).bidirectional_scan
               for lanes in (16, 32, 64)}
    outputs = {lanes: torch.empty(1, TOKENS, CHANNELS).numpy() for lanes in kernels}  # 64-byte aligned
    best = dict.fromkeys(kernels, float("inf"))
    for _ in range(args.rounds + 1):  # the first round compiles
        for lanes, kernel in kernels.items():
            start = time.thread_time()
            for arguments in inputs:
                kernel(*arguments[:-1], outputs[lanes])
            best[lanes] = min(best[lanes], (time.thread_time() - start) / len(inputs))
    updates = 2 * TOKENS * CHANNELS * STATES
    print(f"a VideoMamba-S layer's scan (both directions; the mean of {len(inputs)} layers), one thread, "
          f"best of {args.rounds}:")
    for lanes, seconds in best.items():
        difference = np.abs(outputs[lanes] - outputs[64]).max() / np.abs(outputs[64]).max()
        print(f"  {lanes:>2} lanes: {seconds * 1e3:6.1f} ms, {updates / seconds / 1e9:5.2f} G state updates/s, "
              f"x{seconds / best[installed.LANES]:.2f} of linvit's choice; {code_facts(kernels[lanes])}; "
              f"max difference {difference:.0e}")


if __name__ == "__main__":
    main()
