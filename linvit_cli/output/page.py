"""The timeline as one self-contained HTML page (`linvit timeline --html FILE`).

The page is `timeline.html` with the timeline's data inlined as JSON; its own script draws everything
(time axis, segments coloured by label, a legend, top-k of any window on hover or click, one card per
segment with a thumbnail), so it opens offline, from a mail attachment or a USB stick alike. Thumbnails are
JPEG data URIs encoded with FFmpeg's MJPEG encoder through PyAV, which linvit already needs.
"""

from __future__ import annotations

import base64
import html
import json
import os
from fractions import Fraction
from importlib import resources
from pathlib import Path
from typing import Any

import av
import numpy as np

# Pixels at most: the page's cards are 168 px wide. Thumbnails are made from the frames as decoded (a model's
# 32-pixel input would show as blocks); smaller videos' pictures are kept as they are.
THUMBNAIL_WIDTH = 192


def write_page(path: Path, document: dict[str, Any], thumbnails: list[np.ndarray | None]) -> None:
    """Write the page of a `linvit timeline --json` document; `thumbnails` has one picture per segment."""
    windows = document["windows"]
    labels = {row["index"]: row["label"] for w in windows for row in w["top_k"]}
    duration = max([document["video"]["duration"], *(w["end"] for w in windows)])
    data = {
        **{key: document[key]
           for key in ("file", "model", "commit", "caution", "video", "timeline", "warnings", "complete", "error")},
        "duration": duration,
        "labels": {str(index): label for index, label in sorted(labels.items())},
        "windows": [{"s": w["start"], "e": w["end"], "k": [[row["index"], round(row["probability"], 4)]
                                                           for row in w["top_k"]], "warnings": w["warnings"]}
                    for w in windows],
        "segments": [{**segment, "thumbnail": None if picture is None else jpeg_data_uri(picture)}
                     for segment, picture in zip(document["segments"], thumbnails, strict=True)],
    }
    # `<` escaped: no string in the data can close the script element it sits in
    inline = json.dumps(data, ensure_ascii=False, separators=(",", ":")).replace("<", "\\u003c")
    template = resources.files(__package__).joinpath("timeline.html").read_text(encoding="utf-8")
    page = template.replace("__TITLE__", html.escape(f"linvit timeline: {document['file']}")).replace(
        "__DATA__", inline)
    partial = path.with_name(path.name + ".part")  # a reader, or a kill, never sees half a page
    partial.write_text(page, encoding="utf-8")
    os.replace(partial, path)


def jpeg_data_uri(image: np.ndarray, max_width: int = THUMBNAIL_WIDTH) -> str:
    """An RGB uint8 picture (H, W, 3) as a `data:image/jpeg;base64,...` URI, at most `max_width` wide."""
    height, width = image.shape[:2]
    scale = min(1.0, max_width / width)
    size = max(2, round(width * scale) // 2 * 2), max(2, round(height * scale) // 2 * 2)  # 4:2:0 wants even sides
    frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
    frame = frame.reformat(width=size[0], height=size[1], format="yuvj420p")
    encoder = av.CodecContext.create("mjpeg", "w")
    encoder.width, encoder.height, encoder.pix_fmt = size[0], size[1], "yuvj420p"
    encoder.time_base = Fraction(1, 25)
    encoder.options = {"qmin": "2", "qmax": "4"}  # quality near 90: small pictures stay sharp
    data = b"".join(bytes(packet) for packet in [*encoder.encode(frame), *encoder.encode(None)])
    return "data:image/jpeg;base64," + base64.b64encode(data).decode("ascii")
