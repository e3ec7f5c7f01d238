"""How LViT's time grows with the clip: one block of LViT-K400 at several clip lengths, in turns.

A whole 128-frame LViT-K400 view takes minutes on a 2-core CPU, long enough for the machine's speed to
drift between the 16-frame and the 128-frame run. Its 12 blocks are alike, so one block tells the same
story in a fraction of the time: each length is run `--repeat` times in turns with the others, the best
of each counts, and time(T) / time(16) is printed against the linear T / 16. With `--profile`, torch's
profiler lists the operators whose share grows with T (the memory-bound passes show up there). On a
machine shared with other work, `--threads 1 --clock cpu` counts the process's CPU time, which other
processes taking turns on the cores do not inflate as they do wall time (two threads wait for each other).

    python benchmarks/bench_lvit_length.py                      # 16, 64, 128 frames, 2 threads
    python benchmarks/bench_lvit_length.py --frames 16 128 --profile
    python benchmarks/bench_lvit_length.py --threads 1 --clock cpu --repeat 5
"""

from __future__ import annotations

import argparse
import time

import torch

from linvit_cli.models.architectures import create_model
from linvit_cli.registry.load import load_registry


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, nargs="+", default=[16, 64, 128])
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of each length, in turns")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall", help="wall time or process CPU time")
    parser.add_argument("--profile", action="store_true", help="operator table per length")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    clock = time.process_time if args.clock == "cpu" else time.perf_counter
    entry = load_registry().get("lvit-k400")
    block = create_model(entry.arch, **entry.build_kwargs()).eval().blocks[0]
    grid = 17  # tokens per side at 224 px (stride-14 patches)
    clips = {t: torch.randn(1, t, grid * grid, block.mlp.fc2.out_features) for t in args.frames}
    best = dict.fromkeys(args.frames, float("inf"))
    with torch.inference_mode():
        for frames, x in clips.items():  # warm-up
            block(x.clone(), (frames, grid, grid))
        for _ in range(args.repeat):
            for frames, x in clips.items():
                x = x.clone()  # in inference the block adds into its input
                start = clock()
                block(x, (frames, grid, grid))
                best[frames] = min(best[frames], clock() - start)
    base = min(args.frames)
    print(f"LViT-K400, one block, float32, {args.threads} threads, {args.clock} time, "
          f"best of {args.repeat} runs in turns")
    print(f"{'frames':>7}{'s/block':>10}{'time / time(' + str(base) + ')':>20}{'linear':>9}")
    for frames in args.frames:
        print(f"{frames:>7}{best[frames]:>10.3f}{best[frames] / best[base]:>20.2f}{frames / base:>9.2f}")
    if args.profile:
        from torch.profiler import ProfilerActivity, profile

        for frames, x in clips.items():
            with torch.inference_mode(), profile(activities=[ProfilerActivity.CPU]) as prof:
                block(x.clone(), (frames, grid, grid))
            print(f"\n{frames} frames")
            print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=12))


if __name__ == "__main__":
    main()
