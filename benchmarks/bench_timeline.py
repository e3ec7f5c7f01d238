"""Timeline benchmark: peak memory and time against video length, and speed against plain PyAV decoding.

The targets of issue 12, each printed as a ratio of two measurements made in the same run:
  - peak RSS of the timeline of a LONG-minute video <= 1.1x that of a SHORT-minute one (default 60 and 1);
  - time(LONG) / time(MID) between 9 and 11 for LONG = 10 x MID (default 60 and 6): linear, no seeking
    (MID: the median of the --repeat runs, the first made between the SHORT and LONG ones);
  - with lvit-demo, the timeline's frame rate >= 0.8x that of plain PyAV threaded sequential decoding of
    the same file (`for frame in container.decode(video=0)`, no conversion), each the best of --repeat
    runs of the MID video taken in turns.

Every measurement runs in a process of its own (this script with --child), which reports its peak RSS
(`memory.peak_rss_mib`: its own, not its parent's) and the time of the work alone (model loading and
imports excluded), so no run inherits another's memory. It also reports its CPU time (all its threads) and
the share of the machine's CPU time the hypervisor stole while it ran (/proc/stat): on a shared virtual
machine a slow minute shows there, and the CPU time ratio, which steal does not inflate, is printed beside
the wall time ratio. Each video is read once before its runs, so that every run reads it from the page
cache, not the disk (a new session found the hour's 1.6 GB uncached). Models: lvit-demo (packaged weights)
and VideoMamba-S (videomamba-s16-k400-f16) with random weights of the right shape, saved once as
safetensors and given with --weights, so nothing is downloaded. The timeline runs as `linvit timeline
--jsonl` does, records serialised and dropped.

Videos: H.264 (x264 ultrafast, GOP --gop), simple moving content (a colour gradient sliding sideways and a
bright square crossing it) under fresh grain in every frame (--noise, the standard deviation in grey
levels): without grain such pictures decode several times faster than camera footage, which would make
the frame rate ratio a measure of the content. Generated once into --cache (default bench-out/timeline,
git-ignored): one GOP is encoded and repeated by remuxing with shifted timestamps (bench_decode.repeated),
so an hour of 720p takes seconds to build and decodes like the GOP it repeats.

    python benchmarks/bench_timeline.py                        # 1280x720, 1 / 6 / 60 min, both models
    python benchmarks/bench_timeline.py --models lvit-demo     # the quick part (VideoMamba-S on a CPU is slow)
    python benchmarks/bench_timeline.py --size 320x180 --minutes 0.1 0.2 2 --models lvit-demo   # a smoke test
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import av
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from bench_decode import repeated  # noqa: E402
from memory import peak_rss_mib  # noqa: E402
from videos import make_video  # noqa: E402

VIDEOMAMBA = "videomamba-s16-k400-f16"


def sliding(noise: float) -> Callable[[int, int, int], np.ndarray]:
    """Frame `number`: a horizontal colour gradient moving 4 px a frame, a square crossing it, grain."""
    def draw(number: int, width: int, height: int) -> np.ndarray:
        x = (np.arange(width) + 4 * number) % width / width
        y = np.arange(height)[:, None] / height
        image = np.empty((height, width, 3), np.float32)
        image[..., 0] = (255 * x)[None, :]
        image[..., 1] = 255 * y
        image[..., 2] = (127 * (1 - x) + 64)[None, :]
        side = height // 6
        left = (8 * number) % max(width - side, 1)
        image[height // 3 : height // 3 + side, left : left + side] = 240
        if noise:
            image += np.random.default_rng(number).normal(0, noise, (height, width, 1)).astype(np.float32)
        return image.clip(0, 255).astype(np.uint8)
    return draw


def video(cache: Path, size: tuple[int, int], minutes: float, fps: int, gop: int, noise: float) -> Path:
    """A `minutes`-long video of repeated GOPs (the last one may run a little long)."""
    unit = cache / f"unit-{size[0]}x{size[1]}-{fps}fps-gop{gop}-noise{noise:g}.mp4"
    if not unit.exists():
        print(f"encoding {unit} ...", file=sys.stderr)
        make_video(unit, size=size, frames=gop, fps=fps, gop=gop, draw=sliding(noise),
                   options={"preset": "ultrafast"})
    copies = max(1, round(minutes * 60 * fps / gop))
    path = cache / f"{unit.stem}-x{copies}.mp4"
    if not path.exists():
        print(f"remuxing {copies} copies into {path} ...", file=sys.stderr)
    return repeated(path, unit, copies)


def read_through(path: Path) -> Path:
    """Read `path` once so that the runs find it in the page cache (a cold read measures the disk)."""
    with path.open("rb") as file:
        while file.read(1 << 23):
            pass
    return path


def cpu_jiffies() -> tuple[int, int]:
    """The machine's stolen and total CPU time since boot (/proc/stat; zeros where there is none)."""
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    except (OSError, ValueError):
        return 0, 0
    return fields[7], sum(fields)


def random_weights(cache: Path) -> Path:
    """VideoMamba-S at random initialisation, as safetensors of the registry entry's shape."""
    path = cache / "videomamba-s16-k400-f16-random.safetensors"
    if not path.exists():
        import torch

        from linvit_cli.models.architectures import create_model
        from linvit_cli.models.checkpoint import save_safetensors
        from linvit_cli.registry.load import load_registry

        entry = load_registry().get(VIDEOMAMBA)
        torch.manual_seed(0)
        save_safetensors(create_model(entry.arch, **entry.build_kwargs()).state_dict(), path)
    return path


def child(args: argparse.Namespace) -> None:
    """One measurement; prints one JSON line: seconds of work (wall, CPU), steal share, frames, windows,
    peak RSS in MiB."""
    stolen, total = cpu_jiffies()
    cpu = time.process_time()
    if args.child == "decode":
        start = time.perf_counter()
        with av.open(str(args.video)) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            frames = sum(1 for _ in container.decode(stream))
        seconds, windows = time.perf_counter() - start, 0
    else:
        from linvit_cli.classifier import Classifier
        from linvit_cli.timeline import Timeline

        classifier = Classifier(args.model, weights=args.weights, views=(1, 1), device=args.device)
        stolen, total = cpu_jiffies()
        cpu, start = time.process_time(), time.perf_counter()
        with Timeline(args.video, classifier) as run:
            windows, end = 0, 0.0
            for result in run:
                json.dumps(result.record)
                windows, end = windows + 1, result.record["end"]
            frames = round(end * run.video.info.fps)
        seconds = time.perf_counter() - start
    cpu = time.process_time() - cpu
    stolen, total = (now - then for now, then in zip(cpu_jiffies(), (stolen, total), strict=True))
    print(json.dumps({"seconds": seconds, "cpu_seconds": cpu, "steal": stolen / max(total, 1),
                      "frames": frames, "windows": windows, "rss_mib": peak_rss_mib()}))


def measure(kind: str, path: Path, model: str | None = None, weights: Path | None = None,
            device: str = "cpu") -> dict:
    command = [sys.executable, __file__, "--child", kind, "--video", str(path), "--device", device]
    if model:
        command += ["--model", model]
    if weights:
        command += ["--weights", str(weights)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode:
        sys.exit(f"{' '.join(command)} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="1280x720", help="WIDTHxHEIGHT of the videos")
    parser.add_argument("--minutes", type=float, nargs=3, default=[1.0, 6.0, 60.0], metavar=("SHORT", "MID", "LONG"),
                        help="video lengths: memory compares LONG with SHORT, time LONG with MID")
    parser.add_argument("--fps", type=int, default=30)
    parser.add_argument("--gop", type=int, default=250)
    parser.add_argument("--noise", type=float, default=4.0, help="grain, standard deviation in grey levels "
                        "(4: about 3.6 Mbit/s at 720p, decoded as fast as web video of that rate)")
    parser.add_argument("--models", nargs="+", default=["lvit-demo", VIDEOMAMBA])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeat", type=int, default=3,
                        help="timeline and decoding runs of the MID video, in turns: the best of each gives the "
                        "frame rate ratio, the median timeline run the time ratio")
    parser.add_argument("--cache", type=Path, default=Path("bench-out/timeline"))
    parser.add_argument("--child", choices=["decode", "timeline"], help=argparse.SUPPRESS)
    parser.add_argument("--video", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--model", help=argparse.SUPPRESS)
    parser.add_argument("--weights", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    args.cache.mkdir(parents=True, exist_ok=True)
    size = tuple(int(v) for v in args.size.lower().split("x"))
    short, mid, long = (read_through(video(args.cache, size, m, args.fps, args.gop, args.noise))
                        for m in args.minutes)
    rows = []
    for model in args.models:
        weights = random_weights(args.cache) if model == VIDEOMAMBA else None
        runs = {name: measure("timeline", path, model, weights, args.device)
                for name, path in (("short", short), ("mid", mid), ("long", long))}
        # the frame rate ratio: decoding and timeline runs taken in turns, the best of each (this machine's
        # speed drifts by a third from one minute to the next); time long/mid takes the median MID run, so
        # that one run in a slow minute does not decide it
        timelines, decodes = [runs["mid"]], [measure("decode", mid)]
        for _ in range(args.repeat - 1):
            timelines.append(measure("timeline", mid, model, weights, args.device))
            decodes.append(measure("decode", mid))
        runs["mid"] = sorted(timelines, key=lambda run: run["seconds"])[(len(timelines) - 1) // 2]
        runs["mid cpu"] = sorted(run["cpu_seconds"] for run in timelines)[(len(timelines) - 1) // 2]
        best, decode = (min(kind, key=lambda run: run["seconds"]) for kind in (timelines, decodes))
        pairs = [d["seconds"] / t["seconds"] for t, d in zip(timelines, decodes, strict=True)]
        rows.append((model, runs, decode["frames"] / decode["seconds"], best["frames"] / best["seconds"],
                     [t["seconds"] for t in timelines], [d["seconds"] for d in decodes], pairs))
    minutes = " / ".join(f"{m:g}" for m in args.minutes)
    print(f"\ntimeline of {args.size} H.264 at {args.fps} fps, GOP {args.gop}, grain {args.noise:g}, {minutes} min, "
          f"device {args.device}\n")
    print(f"{'model':<26}{'RSS long/short':>16}{'time long/mid':>15}{'CPU long/mid':>14}{'timeline fps':>14}"
          f"{'decode fps':>12}{'ratio':>8}   RSS MiB short/mid/long   s short/mid/long   steal % short/mid/long")
    for model, runs, decode_fps, fps, *_ in rows:
        rss, secs, steal = ([runs[k][key] for k in ("short", "mid", "long")]
                            for key in ("rss_mib", "seconds", "steal"))
        print(f"{model:<26}{rss[2] / rss[0]:>16.3f}{secs[2] / secs[1]:>15.2f}"
              f"{runs['long']['cpu_seconds'] / runs['mid cpu']:>14.2f}{fps:>14.1f}{decode_fps:>12.1f}"
              f"{fps / decode_fps:>8.2f}   {' / '.join(f'{v:.0f}' for v in rss):<24} "
              f"{' / '.join(f'{v:.1f}' for v in secs):<18} {' / '.join(f'{100 * v:.1f}' for v in steal)}")
    print("\nMID runs in turns (s): timeline, decode, and decode/timeline of each pair (the spread of the ratio)")
    for model, *_, timelines, decodes, pairs in rows:
        print(f"{model:<26}{' '.join(f'{v:.2f}' for v in timelines)} | {' '.join(f'{v:.2f}' for v in decodes)} | "
              f"{' '.join(f'{v:.2f}' for v in pairs)} (median {sorted(pairs)[(len(pairs) - 1) // 2]:.2f})")
    print("\ntargets: RSS long/short <= 1.1; time long/mid in [9, 11] when LONG = 10 x MID; "
          "lvit-demo timeline/decode fps ratio >= 0.8")


if __name__ == "__main__":
    main()
