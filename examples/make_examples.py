"""Write the sample clips of this folder: one clip of each motion of the synthetic benchmark, named after it.

The clips come from the same renderer as the demo model's training data (`linvit synth --background plain`),
drawn with a seed that neither its training nor its test data used. Half are H.264 MP4, half VP9 WebM.

    python examples/make_examples.py            # rewrites the clips next to this file
"""

from __future__ import annotations

import argparse
from pathlib import Path

from linvit_cli.synth.classes import CLASSES
from linvit_cli.synth.dataset import clip_rng, encode
from linvit_cli.synth.render import compose, render

SEED = 3
SIZE = 64
FRAMES = 16
FPS = 12


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent)
    args = parser.parse_args()
    for index, cls in enumerate(CLASSES):
        codec, suffix = ("h264", "mp4") if index % 2 == 0 else ("vp9", "webm")
        scene = compose(cls, clip_rng(SEED, "examples", index), FRAMES, "plain")
        encode(args.out / f"{cls.name}.{suffix}", render(scene, SIZE), FPS, codec)


if __name__ == "__main__":
    main()
