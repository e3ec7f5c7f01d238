"""RGB of only the rows of a frame that a resize reads, with the values a whole-frame conversion gives.

Shrinking a 720p frame to a 32 px short side reads 64 of its 720 rows (LViT's bilinear resize blends two
rows per output row), yet converting the whole frame from YUV to RGB cost more than decoding it. For 8-bit
4:2:0 frames FFmpeg's converter computes each pixel from its own luma and the chroma of its 2x2 block, so
a small frame holding each wanted luma row twice (with its chroma row) converts to exactly those rows.
That relies on how swscale works inside, so `RowConverter` does not assume it: the first frame of each
format, size and colour setting is converted both ways and compared, and where they differ the frames of
that kind are converted whole.
"""

from __future__ import annotations

from dataclasses import dataclass

import av
import numpy as np
from av.video.reformatter import VideoReformatter

PARTIAL_FORMATS = ("yuv420p", "yuvj420p")


@dataclass(frozen=True)
class FrameRows:
    """Some rows of an upright RGB frame: `pixels[i]` is row `rows[i]` of a frame `height` rows high."""

    pixels: np.ndarray  # uint8 (len(rows), width, 3)
    rows: np.ndarray  # ascending row indexes
    height: int


class RowConverter:
    """Converts frames to rgb24, whole or only chosen rows (`FrameRows`) where that gives the same values."""

    def __init__(self) -> None:
        self._whole = VideoReformatter()
        self._part = VideoReformatter()  # a swscale context of its own: the two sizes would evict each other
        self._exact: dict[tuple, bool] = {}  # (format, size, colour setting) -> rows convert exactly

    def whole(self, frame: av.VideoFrame) -> np.ndarray:
        return self._whole.reformat(frame, format="rgb24").to_ndarray()

    def convert(self, frame: av.VideoFrame, rows: np.ndarray) -> np.ndarray | FrameRows:
        """The frame's RGB: `FrameRows` of `rows` where converting them alone is exact, else the whole frame."""
        if frame.format.name not in PARTIAL_FORMATS or frame.width % 2 or len(rows) == 0:
            return self.whole(frame)
        kind = (frame.format.name, frame.width, frame.height, frame.colorspace, frame.color_range)
        exact = self._exact.get(kind)
        if exact is False:
            return self.whole(frame)
        part = FrameRows(self._rows(frame, rows), rows, frame.height)
        if exact is None:
            image = self.whole(frame)
            self._exact[kind] = bool(np.array_equal(image[rows], part.pixels))
            if not self._exact[kind]:
                return image
        return part

    def _rows(self, frame: av.VideoFrame, rows: np.ndarray) -> np.ndarray:
        width, height = frame.width, frame.height
        chroma = rows // 2
        padded = len(rows) + len(rows) % 2  # a 4:2:0 frame of 2 x padded rows: a multiple of 4
        small = av.VideoFrame(width, 2 * padded, frame.format.name)
        small.colorspace, small.color_range = frame.colorspace, frame.color_range
        luma = _plane(frame, 0, height, width)[rows]
        target = _plane(small, 0, 2 * padded, width)
        target[0 : 2 * len(rows) : 2] = luma
        target[1 : 2 * len(rows) : 2] = luma
        for index in (1, 2):
            source = _plane(frame, index, (height + 1) // 2, width // 2)
            _plane(small, index, padded, width // 2)[: len(rows)] = source[chroma]
        rgb = self._part.reformat(small, format="rgb24").to_ndarray()
        return rgb[0 : 2 * len(rows) : 2]


def _plane(frame: av.VideoFrame, index: int, height: int, width: int) -> np.ndarray:
    """Plane `index` of a frame as a (height, width) uint8 view of its buffer (line padding cut off)."""
    plane = frame.planes[index]
    return np.frombuffer(plane, np.uint8).reshape(height, plane.line_size)[:, :width]
