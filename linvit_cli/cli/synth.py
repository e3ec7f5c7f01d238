"""`linvit synth`: write the synthetic motion benchmark (videos + SSv2-layout annotations)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from ..errors import UsageError
from ..output import console
from ._paths import check_output_folder
from .root import app

EXAMPLES = """Examples:

\b
  linvit synth data/synth --train 1200 --validation 240
  linvit synth data/plain --train 4800 --validation 600 --size 32 --background plain   # what lvit-demo learnt
  linvit synth data/lr --classes left-to-right,right-to-left --size 96 --frames 32 --codec vp9
"""


@app.command("synth", epilog=EXAMPLES)
def synth_command(
    out_dir: Annotated[Path, typer.Argument(help="Folder to write videos/ and the annotation files into.")],
    train: Annotated[int, typer.Option("--train", help="Training videos.")] = 600,
    validation: Annotated[int, typer.Option("--validation", help="Validation videos.")] = 120,
    seed: Annotated[int, typer.Option("--seed", help="Same seed, same videos and annotations.")] = 0,
    size: Annotated[int, typer.Option("--size", help="Frame width and height in pixels (even).")] = 64,
    frames: Annotated[int, typer.Option("--frames", help="Frames per video.")] = 16,
    fps: Annotated[int, typer.Option("--fps", help="Frame rate stored in the files.")] = 12,
    codec: Annotated[str, typer.Option("--codec", help="h264 (MP4) or vp9 (WebM).")] = "h264",
    background: Annotated[str, typer.Option("--background", help="random (a random colour, flat, graded or "
                                            "blotchy) or plain (the same mid-grey in every clip).")] = "random",
    classes: Annotated[
        str | None,
        typer.Option("--classes", help="Comma-separated class names, in label order (default: all twelve; "
                     "a wrong name lists them)."),
    ] = None,
    workers: Annotated[int, typer.Option("--workers", help="Processes rendering videos.")] = 1,
    force: Annotated[bool, typer.Option("--force", help="Write into OUT_DIR even if not empty.")] = False,
) -> None:
    """Render and encode clips of moving shapes whose class only the order of frames tells (direction,
    approaching or receding, appearing or disappearing, rotation sense, order of two flashes)."""
    from ..output.progress import Progress, counted, per_second
    from ..output.tables import count
    from ..synth.dataset import generate

    check_output_folder(out_dir, "OUT_DIR")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not force:
        raise UsageError(f"{out_dir} is not empty; choose another OUT_DIR or pass --force to write into it")
    names = None if classes is None else [name.strip() for name in classes.split(",") if name.strip()]
    started = time.perf_counter()
    with Progress() as lines:
        line = lines.line("synth", train + validation, count=counted("videos"), speed=per_second("videos"))
        annotations = generate(out_dir, splits={"train": train, "validation": validation}, seed=seed,
                               size=size, frames=frames, fps=fps, codec=codec, background=background, classes=names,
                               workers=workers, progress=line.advance)
    labels = len((out_dir / "labels.txt").read_text().splitlines())
    console.info(
        f"wrote {len(annotations['train'])} train + {count(len(annotations['validation']), 'validation video')} "
        f"({count(labels, 'class', 'classes')}, {size}x{size}, {frames} frames at {fps} fps, {codec}, {background} "
        f"background) to {out_dir} in {time.perf_counter() - started:.1f} s")
