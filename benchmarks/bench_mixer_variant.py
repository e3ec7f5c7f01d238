"""A change to the numba mixer timed where it counts: a whole VideoMamba view, the installed kernels against a
variant source, both compiled in this one process and run in turns.

The kernel alone (`bench_scan.py`) reads inputs it did not just produce and can overstate what a change gives
the model (benchmarks/FINDINGS.md: the base-2 decay). Give the variant as a file, for example the mixer of an
earlier commit:

    git show 528bb3e:linvit_cli/kernels/numba/mixer.py > /tmp/mixer_exp.py   # the scan with e^x decays
    python benchmarks/bench_mixer_variant.py /tmp/mixer_exp.py
    python benchmarks/bench_mixer_variant.py /tmp/mixer_exp.py --isa avx2 --frames 64

It prints the best forward time of each, their ratio, and the largest logit difference between them: a
variant written for other inputs (the earlier mixer takes A where today's glue passes A log2 e) computes
other numbers at the same cost, and the difference says so.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import isa  # benchmarks/isa.py, beside this script
import torch
from mixer_build import build, installed_source  # beside this script

from linvit_cli.kernels.numba import bimamba as numba_mixer
from linvit_cli.models.architectures import create_model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("variant", type=Path, help="a version of linvit_cli/kernels/numba/mixer.py")
    parser.add_argument("--model", default="videomamba_small")
    parser.add_argument("--frames", type=int, default=16)
    parser.add_argument("--threads", type=int, default=None, help="torch and numba threads (default: torch's)")
    parser.add_argument("--rounds", type=int, default=3, help="timed forwards of each, in turns")
    isa.add_option(parser)
    args = parser.parse_args()
    isa.hold(args.isa)
    if args.threads:
        torch.set_num_threads(args.threads)
    print(isa.describe())
    builds = {"installed": build(installed_source(), "installed"), "variant": build(args.variant.read_text(),
                                                                                      str(args.variant))}
    model = create_model(args.model, num_frames=args.frames, num_classes=400).eval()
    clip = torch.randn(1, 3, args.frames, 224, 224, generator=torch.Generator().manual_seed(0))
    load = numba_mixer.load
    best = dict.fromkeys(builds, float("inf"))
    logits = {}
    try:
        with torch.inference_mode():
            for round_ in range(args.rounds + 1):  # the first round compiles and warms up
                for name, module in builds.items():
                    numba_mixer.load = lambda kind, module=module: module if kind == "mixer" else load(kind)
                    start = time.perf_counter()
                    logits[name] = model(clip)
                    if round_:
                        best[name] = min(best[name], time.perf_counter() - start)
    finally:
        numba_mixer.load = load
    print(f"{args.model}, {args.frames} frames, {torch.get_num_threads()} threads, best of {args.rounds}:")
    for name, seconds in best.items():
        print(f"  {name:<10} {seconds * 1e3:8.1f} ms")
    difference = (logits["installed"] - logits["variant"]).abs().max().item()
    print(f"  variant / installed: {best['variant'] / best['installed']:.3f}x the time; "
          f"largest logit difference {difference:.1e}")


if __name__ == "__main__":
    main()
