"""Real encoded test videos made with PyAV, with the frame number burned into the pixels.

Tests that need a video file (decoding, classify, eval, train) build it here instead of shipping binaries.
Every frame carries its own number as a 4x4 grid of black/white cells, large enough to survive lossy
codecs, chroma subsampling and tiny sizes (16x16), so a test can assert which exact frame a reader returned.

Grid layout (row-major, upright): the corners top-left, top-right and bottom-right are white and
bottom-left is black, which tells a transposed, rotated or mirrored reading apart from an upright one; the
other 12 cells hold the frame number modulo 4096, most significant bit first.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

GRID = 4
_CORNERS = {(0, 0): 1, (0, GRID - 1): 1, (GRID - 1, GRID - 1): 1, (GRID - 1, 0): 0}
_DATA_CELLS = [(r, c) for r in range(GRID) for c in range(GRID) if (r, c) not in _CORNERS]
MAX_NUMBER = 1 << len(_DATA_CELLS)  # numbers wrap around at 4096
_WHITE, _BLACK = 235, 16  # inside the limited-range luma band, so no codec clips them

Draw = Callable[[int, int, int], np.ndarray]


def _cell_bounds(index: int, cells: int, length: int) -> tuple[int, int]:
    return index * length // cells, (index + 1) * length // cells


def burn_frame_number(number: int, width: int, height: int) -> np.ndarray:
    """An upright RGB frame (height, width, 3) showing `number` as the 4x4 bit grid."""
    bits = dict(_CORNERS)
    for k, cell in enumerate(_DATA_CELLS):
        bits[cell] = (number % MAX_NUMBER) >> (len(_DATA_CELLS) - 1 - k) & 1
    image = np.empty((height, width, 3), np.uint8)
    for (r, c), bit in bits.items():
        y0, y1 = _cell_bounds(r, GRID, height)
        x0, x1 = _cell_bounds(c, GRID, width)
        image[y0:y1, x0:x1] = _WHITE if bit else _BLACK
    return image


def solid(value: int) -> Draw:
    """A draw function painting every frame one grey level (for checking normalisation)."""
    return lambda number, width, height: np.full((height, width, 3), value, np.uint8)


def read_frame_number(image: np.ndarray) -> int:
    """The number burned into a decoded RGB frame (H, W, 3) by `burn_frame_number`.

    Reads the mean of the middle half of each cell, so blurred cell borders do not matter. Raises
    ValueError when the corner pattern is wrong: the frame is not upright or carries no number.
    """
    height, width = image.shape[:2]
    luma = image.astype(np.float32).mean(axis=2)

    def bit(r: int, c: int) -> int:
        y0, y1 = _cell_bounds(r, GRID, height)
        x0, x1 = _cell_bounds(c, GRID, width)
        qy, qx = (y1 - y0) // 4, (x1 - x0) // 4
        middle = luma[y0 + qy : max(y1 - qy, y0 + qy + 1), x0 + qx : max(x1 - qx, x0 + qx + 1)]
        return int(middle.mean() > 128)

    corners = {cell: bit(*cell) for cell in _CORNERS}
    if corners != _CORNERS:
        raise ValueError(f"corner cells {corners} do not match {_CORNERS}: frame not upright or not numbered")
    number = 0
    for cell in _DATA_CELLS:
        number = number << 1 | bit(*cell)
    return number


def read_frame_numbers(images: np.ndarray | Sequence[np.ndarray]) -> list[int]:
    """`read_frame_number` of each frame of a stack (N, H, W, 3)."""
    return [read_frame_number(np.asarray(image)) for image in images]


def make_video(
    path: str | Path,
    *,
    codec: str = "libx264",
    size: tuple[int, int] = (64, 48),
    frames: int = 30,
    fps: int | Fraction = 30,
    pts: Sequence[float] | None = None,
    rotation: int = 0,
    pix_fmt: str = "yuv420p",
    gop: int | None = None,
    options: dict[str, str] | None = None,
    draw: Draw = burn_frame_number,
    audio: bool = False,
) -> Path:
    """Encode a video whose frame k shows `draw(k, width, height)`, and return its path.

    `size` is (width, height) as displayed. `pts` gives each frame's time in seconds (a variable frame
    rate file); without it frame k sits at k / fps. `rotation` (degrees counter-clockwise, the convention
    of `VideoFrame.rotation`) stores the pixels turned the other way plus a display matrix, as phones do,
    so a reader that honours the matrix gets `draw`'s upright picture back. x264 runs without B-frames so
    that MP4 durations of variable-rate files stay exact. `audio` adds a short sine track.
    """
    path = Path(path)
    if pts is not None and len(pts) != frames:
        raise ValueError(f"pts has {len(pts)} entries for {frames} frames")
    width, height = size
    stored = (height, width) if rotation % 180 else (width, height)
    time_base = Fraction(1, 1000) if pts is not None else 1 / Fraction(fps)
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=fps)
        stream.width, stream.height = stored
        stream.pix_fmt = pix_fmt
        stream.codec_context.time_base = time_base
        codec_options = {"bf": "0"} if codec == "libx264" else {}
        if gop is not None:
            codec_options["g"] = str(gop)
        stream.options = {**codec_options, **(options or {})}
        if rotation:
            stream.set_display_rotation(rotation)
        sound = container.add_stream("aac", rate=16000) if audio else None
        for k in range(frames):
            image = np.rot90(draw(k, width, height), k=-rotation // 90)
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
            frame.pts = k if pts is None else round(pts[k] / time_base)
            frame.time_base = time_base
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
        if sound is not None:
            _write_tone(container, sound, seconds=frames / float(fps))
    return path


def make_audio_only(path: str | Path, seconds: float = 1.0) -> Path:
    """An M4A-style MP4 with one AAC track and no video stream."""
    path = Path(path)
    with av.open(str(path), "w", format="mp4") as container:
        _write_tone(container, container.add_stream("aac", rate=16000), seconds)
    return path


def _write_tone(container: av.container.OutputContainer, stream: av.audio.stream.AudioStream,
                seconds: float) -> None:
    rate = stream.codec_context.sample_rate
    samples = (0.2 * np.sin(2 * np.pi * 440 * np.arange(int(rate * seconds)) / rate)).astype(np.float32)
    step = 1024
    for start in range(0, len(samples), step):
        chunk = samples[start : start + step]
        frame = av.AudioFrame.from_ndarray(chunk[None, :], format="fltp", layout="mono")
        frame.sample_rate = rate
        frame.pts = start
        container.mux(stream.encode(frame))
    container.mux(stream.encode(None))


def faststart(source: str | Path, target: str | Path) -> Path:
    """A copy of an MP4 with its index (the 'moov' atom) moved before the frames, as web and phone videos have it:
    cut short, such a file still opens, and its index states more frames than decode."""
    with av.open(str(source)) as inside, av.open(str(target), "w", format="mp4",
                                                 options={"movflags": "+faststart"}) as outside:
        stream = outside.add_stream_from_template(inside.streams.video[0])
        for packet in inside.demux(inside.streams.video[0]):
            if packet.dts is not None:
                packet.stream = stream
                outside.mux(packet)
    return Path(target)


def truncate(source: str | Path, target: str | Path, keep: float = 0.5) -> Path:
    """Copy the first `keep` fraction of a file's bytes, as an interrupted download leaves it."""
    data = Path(source).read_bytes()
    target = Path(target)
    target.write_bytes(data[: int(len(data) * keep)])
    return target


def damage(source: str | Path, target: str | Path, packets: Sequence[int]) -> Path:
    """Copy an H.264 MP4/MKV with chosen video packets (0-based, in file order) made undecodable.

    The first NAL unit length of each packet is overwritten with 0x7fffffff, larger than the packet, so
    FFmpeg's decoder rejects the packet as invalid data (`av.error.InvalidDataError`) while the container
    and every other packet stay intact: later frames decode (those predicted from the lost one, with
    errors concealed).
    """
    data = bytearray(Path(source).read_bytes())
    with av.open(str(source)) as container:
        chosen = set(packets)
        found = [(p.pos, bytes(p)) for k, p in enumerate(q for q in container.demux(video=0) if q.size) if k in chosen]
    for pos, payload in found:
        start = data.find(payload, pos)  # the payload itself: MKV's `pos` points at the block header before it
        data[start : start + 4] = b"\x7f\xff\xff\xff"
    target = Path(target)
    target.write_bytes(data)
    return target


def join_synth_clips(path: str | Path, count: int, *, seed: int = 2, fps: int = 12) -> list[str]:
    """`count` clips of the synthetic motion benchmark (`linvit synth --seed SEED --size 32 --frames 16
    --background plain`, validation split) joined end to end in one H.264 video; returns their labels."""
    from linvit_cli.synth.classes import CLASSES
    from linvit_cli.synth.dataset import class_index, clip_rng, encode
    from linvit_cli.synth.render import compose, render

    classes = [CLASSES[class_index(seed, "validation", i, len(CLASSES))] for i in range(count)]
    clips = [render(compose(cls, clip_rng(seed, "validation", i), 16, "plain"), 32) for i, cls in enumerate(classes)]
    encode(Path(path), np.concatenate(clips), fps, "h264")
    return [cls.label for cls in classes]
