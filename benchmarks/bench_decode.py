"""Decoding benchmark: linvit's sampled decode against plain PyAV, and a long video against a short one.

Prints one table. Rows compared with each other run interleaved (round robin, best of --repeat each), so a
burst of load on a shared machine hits all of them alike. Videos are generated once into the cache folder
(default bench-out/, git-ignored): a short clip (K400-like length) and a long one, H.264 with a GOP of
--gop frames, x264 "ultrafast", every frame showing its number as in tests/videos.py. A long video repeats
one encoded GOP (remuxed with shifted timestamps), so it takes seconds to build instead of encoding every
frame; a second long video with a short GOP (--sweep-gop) serves the seek-threshold sweep.

    python benchmarks/bench_decode.py                      # 1920x1080, 10 s vs 600 s, GOP 250
    python benchmarks/bench_decode.py --size 640x360 --long 120
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import av
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from videos import MAX_NUMBER, make_video, read_frame_numbers  # noqa: E402

from linvit_cli.registry.schema import Protocol  # noqa: E402
from linvit_cli.video import decode  # noqa: E402
from linvit_cli.video.decode import DecodedFrames, Video  # noqa: E402
from linvit_cli.video.sampling import uniform_indices  # noqa: E402
from linvit_cli.video.transforms import resize_frame  # noqa: E402
from linvit_cli.video.views import load_views  # noqa: E402

UNIFORM = Protocol(frames=16, sampling="uniform", views=(4, 3), short_side=224, crop=224,
                   mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225), combine="softmax_mean")
DENSE = Protocol(frames=16, sampling="dense", views=(4, 3), short_side=224, crop=224, mean=(0.5, 0.5, 0.5),
                 std=(0.5, 0.5, 0.5), combine="logit_sum", stride=16, fps=30)


def encoded(path: Path, size: tuple[int, int], frames: int, fps: int, gop: int) -> Path:
    if not path.exists():
        print(f"generating {path} ...", file=sys.stderr)
        make_video(path, size=size, frames=frames, fps=fps, gop=gop, options={"preset": "ultrafast"})
    return path


def repeated(path: Path, unit: Path, copies: int) -> Path:
    """`copies` of a one-GOP video back to back, by remuxing its packets with shifted timestamps."""
    if path.exists():
        return path
    with av.open(str(unit)) as source:
        stream = source.streams.video[0]
        packets = [p for p in source.demux(stream) if p.size]
        with av.open(str(path), "w") as out:
            copy = out.add_stream_from_template(stream)
            for k in range(copies):
                for packet in packets:
                    packet.pts += stream.duration if k else 0
                    packet.dts += stream.duration if k else 0
                    packet.stream = copy
                    out.mux(packet)
    return path


def race(runs: dict[str, Callable[[], object]], repeat: int) -> dict[str, float]:
    """Best wall time of each run over `repeat` rounds, the runs taking turns within each round."""
    best = dict.fromkeys(runs, float("inf"))
    for _ in range(repeat):
        for name, run in runs.items():
            start = time.perf_counter()
            run()
            best[name] = min(best[name], time.perf_counter() - start)
    return best


def plain_all(path: Path, threaded: bool) -> int:
    """Plain PyAV: decode and convert every frame (the baseline for 'all frames needed')."""
    with av.open(str(path)) as container:
        if threaded:
            container.streams.video[0].thread_type = "AUTO"
        return sum(1 for frame in container.decode(video=0) if frame.to_ndarray(format="rgb24") is not None)


def plain_few(path: Path, wanted: list[int]) -> list[int]:
    """Plain PyAV as the transformers pipeline reads: decode from the start, convert only wanted frames."""
    numbers, last = [], max(wanted)
    with av.open(str(path)) as container:
        container.streams.video[0].thread_type = "AUTO"
        for index, frame in enumerate(container.decode(video=0)):
            if index in wanted:
                numbers.extend(read_frame_numbers([frame.to_ndarray(format="rgb24")]) * wanted.count(index))
            if index == last:
                break
    return numbers


def ours(path: Path, indices: list[int], convert: Callable[[np.ndarray], object] | None = None,
         ) -> DecodedFrames:
    with Video(path) as video:
        return video.read([i / video.info.fps for i in indices], convert=convert)


def check(numbers: list[int], indices: list[int], period: int) -> str:
    """Whether the burned-in numbers are those of the wanted frames (a long video restarts every GOP)."""
    return "exact" if numbers == [i % period % MAX_NUMBER for i in indices] else "WRONG FRAMES"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cache", type=Path, default=Path("bench-out"), help="folder for generated videos")
    parser.add_argument("--size", default="1920x1080", help="WIDTHxHEIGHT")
    parser.add_argument("--short", type=int, default=10, help="seconds of the short video")
    parser.add_argument("--long", type=int, default=600, help="seconds of the long video")
    parser.add_argument("--gop", type=int, default=250, help="frames between keyframes")
    parser.add_argument("--sweep-gop", type=int, default=30, help="GOP of the video for the seek sweep")
    parser.add_argument("--fps", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=3, help="rounds per measurement, best kept")
    parser.add_argument("--torch-threads", type=int, default=1, help="as in a DataLoader worker")
    args = parser.parse_args()
    torch.set_num_threads(args.torch_threads)
    size = tuple(int(v) for v in args.size.split("x"))
    args.cache.mkdir(parents=True, exist_ok=True)
    tag = f"{size[0]}x{size[1]}_{args.fps}fps"
    short = encoded(args.cache / f"short_{args.short}s_gop{args.gop}_{tag}.mp4", size, args.short * args.fps,
                    args.fps, args.gop)
    long = {gop: repeated(args.cache / f"long_{args.long}s_gop{gop}_{tag}.mp4",
                          encoded(args.cache / f"unit_gop{gop}_{tag}.mp4", size, gop, args.fps, gop),
                          copies=-(-args.long * args.fps // gop))
            for gop in (args.gop, args.sweep_gop)}
    n_short, n_long = args.short * args.fps, Video(long[args.gop]).info.num_frames
    rows: list[tuple[str, float, str]] = []

    # 1. Every frame needed: our walk must not cost more than PyAV's own loop.
    everything = list(range(n_short))
    best = race({"default": lambda: plain_all(short, False), "auto": lambda: plain_all(short, True),
                 "ours": lambda: ours(short, everything, convert=lambda image: None)}, args.repeat)
    rows += [(f"plain PyAV, all {n_short} frames of short, default threads", best["default"], ""),
             ("plain PyAV, same, thread_type=AUTO", best["auto"], ""),
             ("linvit Video.read, same frames", best["ours"],
              f"{n_short / best['ours']:.0f} fps; x{best['default'] / best['ours']:.2f} vs default, "
              f"x{best['auto'] / best['ours']:.2f} vs AUTO")]

    # 2. Few frames of a long video: seeking instead of decoding everything.
    few = uniform_indices(n_long, 16, 0, 1)
    start = time.perf_counter()
    numbers = plain_few(long[args.gop], few)
    t_plain = time.perf_counter() - start
    t_ours = race({"ours": lambda: ours(long[args.gop], few)}, args.repeat)["ours"]
    got = ours(long[args.gop], few)
    rows += [(f"plain PyAV, 16 frames of long ({n_long} frames), decode from start (1 run)", t_plain,
              check(numbers, few, args.gop)),
             ("linvit Video.read, same 16 frames", t_ours,
              f"{check(read_frame_numbers(got.frames), few, args.gop)}; {got.decoded} frames decoded; "
              f"x{t_plain / t_ours:.1f} faster")]

    # 3. A full 4x3-view test sample, long against short.
    for protocol in (UNIFORM, DENSE):
        name = f"load_views {protocol.sampling} 16 frames x 4x3 views"
        best = race({"short": lambda p=protocol: load_views(short, p),
                     "long": lambda p=protocol: load_views(long[args.gop], p)}, args.repeat)
        rows += [(f"{name}, short", best["short"], ""),
                 (f"{name}, long", best["long"], f"long/short x{best['long'] / best['short']:.2f}")]

    # 4. The seek threshold. Dense clips on a short-GOP video put a keyframe between neighbouring wanted
    # frames (0.57 s apart) at every distance, so seeking and decoding on compete there.
    default_skip = decode.MIN_SKIP_S

    def with_skip(skip: float) -> Callable[[], object]:
        def run() -> object:
            decode.MIN_SKIP_S = skip
            return load_views(long[args.sweep_gop], DENSE)
        return run

    best = race({skip: with_skip(skip) for skip in (0.0, 0.1, default_skip, 0.5, 1.0)}, args.repeat)
    decode.MIN_SKIP_S = default_skip
    rows += [(f"load_views dense 4x3, long GOP {args.sweep_gop}, MIN_SKIP_S={skip}", seconds,
              "(default)" if skip == default_skip else "") for skip, seconds in best.items()]

    # 5. swscale resizing during colour conversion against the protocols' resize (16 frames of short).
    with av.open(str(short)) as container:
        frames = [f for f, _ in zip(container.decode(video=0), range(16), strict=False)]
    reference = [resize_frame(f.to_ndarray(format="rgb24"), 224, "float") for f in frames]
    height, width = reference[0].shape[1:]

    def swscale(frame: av.VideoFrame) -> torch.Tensor:
        image = frame.to_ndarray(format="rgb24", width=width, height=height, interpolation="BILINEAR")
        return torch.from_numpy(image).permute(2, 0, 1).float()

    resizes = {
        "rgb24 + resize float (LViT recipe)":
            lambda: [resize_frame(f.to_ndarray(format="rgb24"), 224, "float") for f in frames],
        "rgb24 + resize uint8 (VideoMamba recipe)":
            lambda: [resize_frame(f.to_ndarray(format="rgb24"), 224, "uint8") for f in frames],
        "swscale BILINEAR resize inside to_ndarray": lambda: [swscale(f) for f in frames],
    }
    best = race(resizes, args.repeat)
    for label, run in resizes.items():
        diff = torch.stack([(a - b).abs() for a, b in zip(run(), reference, strict=True)])
        rows.append((f"{label}, per frame", best[label] / len(frames),
                     f"vs float recipe: max {diff.max():.1f}, mean {diff.mean():.3f} of 255 levels"))

    print(f"\nvideos: {short.name}, {long[args.gop].name}, {long[args.sweep_gop].name}; "
          f"torch threads {args.torch_threads}; PyAV {av.__version__}; best of {args.repeat} interleaved rounds")
    width_name = max(len(r[0]) for r in rows)
    print(f"{'measurement':<{width_name}}  {'seconds':>8}  notes")
    for name, seconds, notes in rows:
        print(f"{name:<{width_name}}  {seconds:8.3f}  {notes}")


if __name__ == "__main__":
    main()
