"""linvit's allocation policy against glibc's defaults, side by side: the measurement behind `linvit_cli/allocator.py`.

Each model and frame count runs in fresh processes, one with freed memory kept for reuse (what the `linvit`
command does) and one with `LINVIT_MALLOC=system`, in turns (`--rounds`); each child times `--repeat` forwards
after a warm-up. Printed per setting: the best seconds per view, the page faults (minor) and system CPU time of
the last forward, and the child's peak RSS. Where the C library is not glibc both settings are the same.

    python benchmarks/bench_allocator.py
    python benchmarks/bench_allocator.py --models videomamba-s lvit-k400 --frames 16 64 128
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

import isa  # benchmarks/isa.py, beside this script
import torch

SETTINGS = ("keep", "system")


def measure(name: str, frames: int, repeat: int) -> dict[str, float]:
    """In the child: the allocation policy `LINVIT_MALLOC` names, then the forwards."""
    from bench_peers import build, forward  # beside this script
    from memory import peak_rss_mib

    from linvit_cli.allocator import keep_freed_memory

    keep_freed_memory()
    torch.manual_seed(0)
    model, clip = build(name, frames)
    model.eval()
    best = float("inf")
    with torch.inference_mode():
        for timed in range(repeat + 1):  # the first one warms up
            before = resource.getrusage(resource.RUSAGE_SELF)
            start = time.perf_counter()
            forward(name, model, clip)
            if timed:
                best = min(best, time.perf_counter() - start)
            after = resource.getrusage(resource.RUSAGE_SELF)
        return {"seconds": best, "faults": after.ru_minflt - before.ru_minflt,
                "system_s": after.ru_stime - before.ru_stime, "peak_mib": peak_rss_mib()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=["videomamba-s"])
    parser.add_argument("--frames", type=int, nargs="+", default=[16, 64])
    parser.add_argument("--repeat", type=int, default=2, help="timed forwards per child after one warm-up")
    parser.add_argument("--rounds", type=int, default=2, help="children of each setting, in turns")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    isa.add_option(parser)
    args = parser.parse_args()
    isa.hold(args.isa)
    torch.set_num_threads(args.threads)
    if args.child:
        print(json.dumps(measure(args.child[0], int(args.child[1]), args.repeat)))
        return
    print(f"{isa.describe()}, {args.threads} threads")
    print(f"{'model':<14}{'frames':>7}  {'setting':<8}{'s/view':>8}{'faults':>10}{'sys s':>7}{'peak MiB':>10}")
    for name in args.models:
        for frames in args.frames:
            best: dict[str, dict[str, float]] = {}
            for _ in range(args.rounds):
                for setting in SETTINGS:
                    cmd = [sys.executable, __file__, "--child", name, str(frames), "--repeat", str(args.repeat),
                           "--threads", str(args.threads)]
                    done = subprocess.run(cmd, capture_output=True, text=True, check=False,
                                          env={**os.environ, "LINVIT_MALLOC": setting})
                    if done.returncode:
                        sys.exit(f"{name} {frames} {setting}: {(done.stderr.strip().splitlines() or ['failed'])[-1]}")
                    result = json.loads(done.stdout.strip().splitlines()[-1])
                    if setting not in best or result["seconds"] < best[setting]["seconds"]:
                        best[setting] = result
            for setting, result in best.items():
                print(f"{name:<14}{frames:>7}  {setting:<8}{result['seconds']:>8.3f}{result['faults']:>10}"
                      f"{result['system_s']:>7.2f}{result['peak_mib']:>10.0f}")
            print(f"{'':<21}system / keep: {best['system']['seconds'] / best['keep']['seconds']:.3f}x the time")


if __name__ == "__main__":
    main()
