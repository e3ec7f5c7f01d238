"""The matmul backend's race on an idle machine, beside a busy process and beside a busy thread of its own: the
measurement behind `calibration.STEADY_SHARE`.

`linvit_cli.calibration` keeps a measured choice only when the thread that ran the race had at least
`STEADY_SHARE` of the time on a CPU. This script runs `models/layers/linear._race` (oneDNN against BLAS, what
`matmul_backend` measures) a few times alone, a few times while another process spins on one CPU, and a few
times while another thread of this process does (classify's decoder reading ahead is such a thread), and prints
each race's GFLOP/s, choice and the racing thread's CPU share, so the threshold can be checked on any machine:

    python benchmarks/bench_calibration.py
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import threading
import time

import torch

from linvit_cli.calibration import STEADY_SHARE
from linvit_cli.models.layers.linear import _race

BUSY = "import time\nend = time.time() + 600\nwhile time.time() < end: pass"


def races(label: str, count: int) -> None:
    for _ in range(count):
        cpu, wall = time.thread_time(), time.perf_counter()
        result = _race()
        share = (time.thread_time() - cpu) / (time.perf_counter() - wall)
        print(f"  {label:<24} oneDNN {result['onednn_gflops']:6.1f}  BLAS {result['blas_gflops']:6.1f} GFLOP/s  "
              f"chose {result['backend']:<6}  CPU share {share:.2f}  {'kept' if share >= STEADY_SHARE else 'not kept'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--races", type=int, default=3, help="races in each condition")
    args = parser.parse_args()
    print(f"{torch.get_num_threads()} threads; STEADY_SHARE = {STEADY_SHARE}")
    races("idle", args.races)
    busy = subprocess.Popen([sys.executable, "-c", BUSY])
    try:
        time.sleep(0.5)
        races("one busy process", args.races)
    finally:
        busy.kill()
    done = threading.Event()
    spinner = threading.Thread(target=_spin, args=(done,), daemon=True)
    spinner.start()
    try:
        races("one busy thread of ours", args.races)
    finally:
        done.set()
        spinner.join()


def _spin(done: threading.Event) -> None:
    """Keep one CPU busy outside the GIL, as a decoder does (hashlib lets go of it for large inputs)."""
    block = bytes(1 << 20)
    while not done.is_set():
        hashlib.sha256(block).digest()


if __name__ == "__main__":
    main()
