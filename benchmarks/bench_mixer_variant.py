"""A change to the numba mixer timed where it counts: a whole VideoMamba view, the installed kernels against a
variant source, both compiled in this one process and run in turns (the other order every other round).

The kernel alone on synthetic inputs can overstate what a change gives the model (benchmarks/FINDINGS.md: the
base-2 decay). Give the variant as a file, for example the mixer of an earlier commit:

    git show 528bb3e:linvit_cli/kernels/numba/mixer.py > /tmp/mixer_exp.py   # the scan with e^x decays
    python benchmarks/bench_mixer_variant.py /tmp/mixer_exp.py
    python benchmarks/bench_mixer_variant.py /tmp/mixer_exp.py --isa avx2 --frames 64

It prints the best forward time of each, their ratio, and the largest logit difference between them: a
variant written for other inputs (the earlier mixer takes A where today's glue passes A log2 e) computes
other numbers at the same cost, and the difference says so. A view's time drifts by several percent on a
shared machine (two builds of the same source have come out 1.06x apart), so it then times the scan alone
on the inputs the model gave 8 of its blocks, which settles changes of a few percent to the scan.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from types import ModuleType

import isa  # benchmarks/isa.py, beside this script
import torch
from mixer_build import build, installed_source, scan_inputs  # beside this script

from linvit_cli.kernels.numba import bimamba as numba_mixer
from linvit_cli.kernels.numba import torch_threads
from linvit_cli.models.architectures import create_model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("variant", type=Path, help="a version of linvit_cli/kernels/numba/mixer.py")
    parser.add_argument("--model", default="videomamba_small")
    parser.add_argument("--frames", type=int, default=16)
    parser.add_argument("--threads", type=int, default=None, help="torch and numba threads (default: torch's)")
    parser.add_argument("--rounds", type=int, default=3, help="timed forwards of each, in turns")
    isa.add_option(parser)
    args = isa.start(parser)
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
                for name, module in in_turns(builds, round_):
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
    scan_alone(builds, scan_inputs(model, clip), 2 * args.rounds)


def in_turns(builds: dict[str, ModuleType], round_: int) -> list[tuple[str, ModuleType]]:
    """The builds in this round's order: the other order every other round, so neither always runs first."""
    order = list(builds.items())
    return order if round_ % 2 == 0 else order[::-1]


def scan_alone(builds: dict[str, ModuleType], inputs: list[tuple], rounds: int) -> None:
    """Each build's `bidirectional_scan` on several blocks' own inputs (`scan_inputs`), in turns: a change of a
    few percent to the scan is a fraction of that of the whole view, within a view's run-to-run noise."""
    output = torch.empty(inputs[0][-1].shape).numpy()
    best = dict.fromkeys(builds, float("inf"))
    with torch_threads():
        for round_ in range(rounds + 1):
            for name, module in in_turns(builds, round_):
                start = time.perf_counter()
                try:
                    for arguments in inputs:
                        module.bidirectional_scan(*arguments[:-1], output)
                except TypeError:  # numba's dispatcher: no signature matches
                    print("  the scan alone: the variant takes other arguments")
                    return
                if round_:
                    best[name] = min(best[name], time.perf_counter() - start)
    print(f"  the scan alone on {len(inputs)} blocks' inputs, best of {rounds}: installed "
          f"{best['installed'] * 1e3:.1f} ms, variant {best['variant'] * 1e3:.1f} ms "
          f"({best['variant'] / best['installed']:.3f}x)")

if __name__ == "__main__":
    main()
