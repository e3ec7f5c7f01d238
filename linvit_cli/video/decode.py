"""Decode video files with PyAV: metadata, and the frames nearest to chosen times.

Frames are addressed by time (seconds from the first frame), never by a frame counter, so variable
frame rate files and containers that do not know their frame count (WebM) are sampled correctly. Reading
walks forward through the stream and seeks only when a keyframe lies ahead of the next wanted time, so a
long video is never decoded whole; only the frames kept are converted to RGB, and of those only the rows
the resize reads where a caller names them (`rows.RowConverter`).

Inputs that cannot seek (standard input as `pipe:` or `-`, and URLs FFmpeg opens: http, https, rtsp, ...)
are read the same way, forward only. A packet the decoder rejects as damaged costs its frame, not the file:
it is counted (`DecodedFrames.lost`) and the neighbouring frames stand in for it, until more than
`MAX_LOST_SHARE` of the packets read are lost (`check_losses`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Generic, TypeVar

import av
import numpy as np

from ..errors import VideoDecodeError
from .prefetch import Prefetch
from .rows import FrameRows, RowConverter

T = TypeVar("T")

# Without a demuxer index, jump only across gaps longer than this: each seek restarts decoding at a
# keyframe, which for short clips costs more than decoding straight on (docs/pyav.md#decoding).
SEEK_GAP_S = 2.0
# With an index, seek when that skips at least this much decoding: below it, flushing the frame-threaded
# decoder and decoding the keyframe cost about as much as decoding on (benchmarks/FINDINGS.md).
MIN_SKIP_S = 0.25
_TIE_S = 1e-6  # two frames this close to equally far from a wanted time count as a tie: the earlier wins
# A read fails when the decoder rejects more than this share of the packets it was given: beyond it the
# frames left are too far apart to stand in for the lost ones (one damaged packet in 250 costs one frame).
MAX_LOST_SHARE = 0.1
STDIN = ("-", "pipe:", "pipe:0")
# What a stream (a pipe, a URL read forward only) needs that a file does not, and how to make it.
STREAMABLE = ("a pipe or a URL is read front to back, so it needs a format that streams (MPEG-TS, Matroska/WebM, "
              "fragmented or faststart MP4): an ordinary MP4 or MOV keeps its index (the 'moov' atom) at its end, out "
              "of reach; remux it with `ffmpeg -i in.mp4 -c copy -movflags +faststart out.mp4` (or `-f mpegts` for "
              "MPEG-TS), or give the file itself")
TRUNCATED_S = 1.0  # what decodes ends this much before the stated length: the file was cut short (`cut_short`)
NETWORK_TIMEOUT_S = (30.0, 60.0)  # (opening, each read) for URLs, so that a dead server is an error, not a hang


def is_stream(source: str | Path) -> bool:
    """Standard input (`pipe:`, `-`) or a URL (`scheme://...`): inputs that are read once, forward only."""
    return isinstance(source, str) and (source in STDIN or "://" in source)


@dataclass(frozen=True)
class VideoInfo:
    """What a video file says about itself (and what probing had to work out)."""

    path: str
    duration: float  # seconds; 0.0 when unknown (a stream that states no length)
    fps: float  # average frame rate; guessed by FFmpeg when the container states none
    num_frames: int  # exact when `frames_from` is "stream" or "packets", an estimate otherwise, 0 when unknown
    frames_from: str  # "stream", "stream duration", "container duration", "packets" or "unknown" (a stream)
    width: int  # as displayed, after rotation
    height: int
    rotation: int  # degrees counter-clockwise the stored pixels are turned for display (-180..180)
    codec: str
    pix_fmt: str
    is_vfr: bool  # heuristic: irregular timestamps in the index, or average and base rates disagree
    start_time: float  # presentation time of the first frame, seconds; all other times count from it


@dataclass(frozen=True)
class DecodedFrames(Generic[T]):
    """Frames for a list of wanted times, in the order asked.

    Several wanted times may share one frame (the same object is repeated); `times` says which frame each
    one got. When the stream ended before a wanted time (a truncated file, or a frame count estimated too
    high) the last frame stands in for it: `past_end` counts those and `stream_end` gives where the data
    stopped, so the caller can say so instead of pretending.
    """

    frames: list[T]
    times: tuple[float, ...]  # seconds from the first frame, of the frame returned for each wanted time
    past_end: int
    stream_end: float | None  # time of the last frame, when decoding ran into the end of the stream
    decoded: int  # frames the decoder produced for this read (a measure of the work done)
    packets: int = 0  # packets given to the decoder for this read
    lost: tuple[float, ...] = ()  # time (s from the first frame) of each packet rejected as damaged

    def frames_found(self, fps: float) -> int | None:
        """About how many frames the stream really holds, when decoding reached its end."""
        return None if self.stream_end is None else round(self.stream_end * fps) + 1


def probe(path: str | Path) -> VideoInfo:
    """Read a video's metadata; decodes only its first frame (for the rotation and the start time)."""
    with Video(path) as video:
        return video.info


def read_frames(path: str | Path, times: Sequence[float], *, threads: int = 0,
                ) -> tuple[np.ndarray, DecodedFrames[np.ndarray]]:
    """RGB frames (N, H, W, 3) uint8, upright, nearest to each time (seconds from the first frame).

    Returns the stacked frames and the `DecodedFrames` they came from (the time of each frame, and
    whether the stream ended before some wanted time).
    """
    with Video(path, threads=threads) as video:
        decoded = video.read(times)
    return np.stack(decoded.frames), decoded


class Video:
    """An open video file or stream: `info`, and `read` for the frames nearest to given times.

    Opening decodes the first frame: it carries the rotation and the start time, and proves the stream
    decodes. Frame threading is on (docs/pyav.md#decoding); `threads` = 0 lets FFmpeg use one thread per
    core, which DataLoader workers may want to lower. Every failure, at opening or in mid-stream, is raised
    as a one-line `VideoDecodeError` naming the file, except damaged packets, which are counted in
    `DecodedFrames.lost`. A stream (`is_stream`), or a file opened with `seek=False`, is never sought: it is
    read front to back, every packet once, and reads must ask for later and later times. `prefetch` > 0
    decodes up to that many frames ahead in a thread of its own (`Prefetch`), for a caller that does long
    work between reads (the timeline runs the model).
    """

    def __init__(self, path: str | Path, *, threads: int = 0, seek: bool = True, prefetch: int = 0) -> None:
        self.streaming = is_stream(path)
        self.path: str | Path = path if self.streaming else Path(path)
        self._threads = threads
        self._prefetch = prefetch
        self._frames: Iterator[av.VideoFrame] = iter(())
        if not self.streaming:
            _check_file(self.path)
        self._container: av.container.InputContainer | None = None
        self._tally = _Tally()
        try:
            first = self._restart()
            self.info = self._probe(first)
        except BaseException:
            self.close()
            raise
        self._converter = RowConverter()  # its swscale contexts are kept: a fresh one per frame costs more
        self._decoded = 1
        # without timestamps there is nothing to seek by; a stream is read forward only
        self._seekable = seek and first.pts is not None and not self.streaming

    def __enter__(self) -> Video:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        self._stop_decoding()
        if self._container is not None:
            self._container.close()

    def _stop_decoding(self) -> None:
        """Stop the decoding thread, if any: the container is this thread's again (to seek or close)."""
        if isinstance(self._frames, Prefetch):
            self._frames.close()

    def read(self, times: Sequence[float], convert: Callable[[np.ndarray | FrameRows], T] | None = None,
             rows: np.ndarray | None = None) -> DecodedFrames[T]:
        """The frame nearest to each wanted time (seconds from the first frame), decoded once each.

        Each frame kept is converted to upright RGB uint8 and passed through `convert` once, so a caller
        can shrink it right away instead of holding full-size frames. Ties go to the earlier frame.
        `rows` (ascending) names the only rows of an upright `info.height` x `info.width` frame that
        `convert` reads: frames whose conversion can be limited to them exactly come to it as `FrameRows`.
        """
        order = sorted(range(len(times)), key=times.__getitem__)
        frames: list[Any] = [None] * len(times)
        found = [0.0] * len(times)
        past_end, start_count = 0, self._decoded
        start_packets, start_lost = self._tally.packets, len(self._tally.lost)
        last: tuple[av.VideoFrame, Any] | None = None  # the frame converted last, and what it became
        if self._prefetch and not isinstance(self._frames, Prefetch):  # (after probing: it reads the container)
            self._frames = Prefetch(self._frames, self._prefetch)
        with _reported(self.path, "decoding"):
            for k in order:
                frame, time = self._nearest(max(times[k], 0.0))
                if last is None or last[0] is not frame:
                    image = self._rgb(frame, rows)
                    last = frame, image if convert is None else convert(image)
                frames[k], found[k] = last[1], time
                if self._after is None and times[k] > time + 1.5 / self.info.fps:
                    past_end += 1
        stream_end = self._before[1] if self._after is None and self._before is not None else None
        lost = tuple(t - self.info.start_time for t in self._tally.lost[start_lost:])
        return DecodedFrames(frames, tuple(found), past_end, stream_end, self._decoded - start_count,
                             self._tally.packets - start_packets, lost)

    def _rgb(self, frame: av.VideoFrame, rows: np.ndarray | None) -> np.ndarray | FrameRows:
        """Upright RGB of a frame: only `rows` of it where the frame is upright and of the stated size."""
        info = self.info
        if rows is not None and not info.rotation and (frame.width, frame.height) == (info.width, info.height):
            return self._converter.convert(frame, rows)
        return _to_rgb(self._converter.whole(frame), info.rotation)

    def _restart(self) -> av.VideoFrame:
        """(Re)open the file and decode its first frame, which becomes the window's only frame."""
        self.close()
        self._container = None
        with _reported(self.path, "opening", self._stream_hint):
            source = "pipe:0" if self.path in STDIN else str(self.path)
            network = self.streaming and "://" in source
            self._container = av.open(source, metadata_errors="ignore",
                                      timeout=NETWORK_TIMEOUT_S if network else None)
            streams = self._container.streams
            if not streams.video:
                kinds = ", ".join(sorted({s.type for s in streams})) or "none"
                raise VideoDecodeError(f"'{self.path}' has no video stream (streams found: {kinds})")
            self._stream = streams.video[0]
            self._stream.thread_type = "AUTO"
            self._stream.thread_count = self._threads
            self._frames = self._decode()
            first = next(self._frames, None)
        if first is None:
            raise VideoDecodeError(f"'{self.path}' has a video stream but no frame of it decodes")
        # The two frames around the current wanted time: the last one earlier, the first one at or past it.
        self._before: tuple[av.VideoFrame, float] | None = None
        self._after: tuple[av.VideoFrame, float] | None = (first, 0.0)
        return first

    def _decode(self) -> Iterator[av.VideoFrame]:
        return _decode(self._container, self._stream, self._tally)

    def _stream_hint(self, error: Exception) -> str | None:
        """Why a pipe or URL may not open where the same file does: an MP4 (or MOV) whose index is at the end."""
        if not self.streaming:
            return None
        if self._container is not None and "mp4" in self._container.format.name:
            return f"it is an MP4 or MOV, and {STREAMABLE}"
        if isinstance(error, av.error.InvalidDataError):  # the format is unknown when the demuxer gave up
            return f"if it is an MP4 or MOV: {STREAMABLE}"
        return None

    def _probe(self, first: av.VideoFrame) -> VideoInfo:
        stream = self._stream
        fps = _frame_rate(stream)
        if fps <= 0:
            raise VideoDecodeError(f"'{self.path}' states no frame rate and FFmpeg could not guess one")
        duration, num_frames, frames_from = self._frame_count(fps)
        rotation = 90 * round(first.rotation / 90)  # display matrices of real files turn by quarter turns
        width, height = (first.height, first.width) if rotation % 180 else (first.width, first.height)
        return VideoInfo(
            path=str(self.path), duration=duration, fps=fps, num_frames=num_frames, frames_from=frames_from,
            width=width, height=height, rotation=rotation, codec=stream.codec_context.name,
            pix_fmt=first.format.name, is_vfr=_looks_vfr(stream), start_time=_time(first) or 0.0,
        )

    def _frame_count(self, fps: float) -> tuple[float, int, str]:
        """(duration s, frame count, where the count came from), trying cheap sources first.

        MP4 states the count; WebM/MKV usually state only a container duration (PyAV-Org/PyAV#1131); a
        raw stream (.h264) states neither, and then the packets are counted, without decoding, through a
        second handle (the first one is past the start and such streams cannot seek back). A pipe or URL
        cannot be opened twice: its length stays unknown.
        """
        stream, container = self._stream, self._container
        if stream.duration and stream.time_base:
            duration = float(stream.duration * stream.time_base)
        elif container.duration:
            duration = container.duration / av.time_base
        else:
            duration = 0.0
        if stream.frames > 0:
            return duration or stream.frames / fps, stream.frames, "stream"
        if duration > 0:
            source = "stream duration" if stream.duration else "container duration"
            return duration, max(1, round(duration * fps)), source
        if self.streaming:
            return 0.0, 0, "unknown"
        with av.open(str(self.path)) as again:
            count = sum(1 for packet in again.demux(again.streams[stream.index]) if packet.size)
        return count / fps, count, "packets"

    def _nearest(self, target: float) -> tuple[av.VideoFrame, float]:
        if self._passed(target) or self._worth_seeking(target):
            self._seek(target)
        while self._after is not None and self._after[1] < target:
            self._before, self._after = self._after, self._next()
        candidates = [c for c in (self._before, self._after) if c is not None]
        return min(candidates, key=lambda c: abs(c[1] - target) - (_TIE_S if c is self._before else 0.0))

    def _passed(self, target: float) -> bool:
        """Whether the frames around `target` lie behind the window (a later `read` going back)."""
        start = self._before or self._after
        return start is not None and target < start[1] - _TIE_S and start[1] > 0.0

    def _worth_seeking(self, target: float) -> bool:
        if self._after is None or not self._seekable:
            return False  # nothing lies ahead to seek to, or no way but reading on
        position = self._after[1]
        entries = self._stream.index_entries  # MP4: every frame; MKV/WebM: keyframes, once cues are read
        # Does the index reach the target? (Its times are decode times, which lag behind with B-frames.)
        if len(entries) and self._seconds(entries[len(entries) - 1].timestamp) >= target - SEEK_GAP_S:
            found = entries.search_timestamp(self._pts(target), backward=True)
            return found >= 0 and self._seconds(entries[found].timestamp) > position + MIN_SKIP_S
        # No index reaches that far yet (Matroska reads its cues at the first seek): judge by the gap.
        return target - position > SEEK_GAP_S

    def _seek(self, target: float) -> None:
        """Land on a keyframe at or before `target`; step further back while the first frame overshoots.

        Overshoot happens where seeking is approximate (MPEG-TS, measured) or an index holds decode
        times: the keyframe found for a time can be displayed after it, or lie past the end. The last
        resort, and the only way for streams that cannot seek (raw .h264), is the top of the file.
        """
        back = 0.0
        while target - back > 0 and self._seek_to(target - back):
            self._frames = self._decode()
            self._before, self._after = None, None
            self._after = self._next()
            if self._after is not None and self._after[1] <= target + _TIE_S:
                return
            back = max(2 * back, 1.0)
        self._restart()
        self._decoded += 1

    def _seek_to(self, seconds: float) -> bool:
        """Seek the demuxer; False (and no more tries) where the stream cannot seek by time."""
        if not self._seekable:
            return False
        self._stop_decoding()
        try:
            self._container.seek(self._pts(seconds), stream=self._stream, backward=True)
        except av.error.FFmpegError:
            self._seekable = False  # a failed seek leaves the demuxer at no known place
            return False
        return True

    def _next(self) -> tuple[av.VideoFrame, float] | None:
        frame = next(self._frames, None)
        if frame is None:
            return None
        self._decoded += 1
        time = _time(frame)
        if time is None:  # no timestamp (raw streams): one frame interval after the previous frame
            return frame, 0.0 if self._after is None else self._after[1] + 1 / self.info.fps
        return frame, time - self.info.start_time

    def _pts(self, seconds: float) -> int:
        return math.floor((seconds + self.info.start_time) / self._stream.time_base)

    def _seconds(self, pts: int) -> float:
        return float(pts * self._stream.time_base) - self.info.start_time


@dataclass
class _Tally:
    """Packets given to the decoder, and the presentation time (s) of each one it rejected as damaged."""

    packets: int = 0
    lost: list[float] = field(default_factory=list)


def _decode(container: av.container.InputContainer, stream: av.video.stream.VideoStream,
            tally: _Tally) -> Iterator[av.VideoFrame]:
    """The stream's frames in order, as `container.decode` gives them, past packets the decoder rejects.

    With frame threading the decoder reports a damaged packet a few packets later, so the time noted is
    that of the packet it was reported with: close to the lost frame, not exact. (A function, not a
    method: a generator holding its `Video` would make a reference cycle, and a codec freed late by the
    garbage collector in a forked DataLoader worker waits forever for its decoding threads.)
    """
    for packet in container.demux(stream):
        if packet.size:
            tally.packets += 1
        try:
            frames = stream.decode(packet)
        except av.error.InvalidDataError:
            time = _packet_time(packet)  # raw streams carry no timestamps: count frames instead
            tally.lost.append(tally.packets / _frame_rate(stream) if time is None else time)
            continue
        yield from frames


def check_losses(path: str | Path, lost: int, packets: int) -> None:
    """Fail a read whose decoder rejected more than `MAX_LOST_SHARE` of its packets; fewer cost a warning."""
    if lost > MAX_LOST_SHARE * packets:
        raise VideoDecodeError(f"'{path}': the decoder rejected {lost} of the {packets} packets read as damaged "
                               f"(more than {MAX_LOST_SHARE:.0%}): too little of the video decodes")


def cut_short(stopped: float, duration: float) -> bool:
    """Whether decoding stopped (at `stopped` s) well before the length the file states: the file was cut short.
    Container durations of whole files agree with their streams to a frame or two, never `TRUNCATED_S`."""
    return duration > 0 and stopped < duration - TRUNCATED_S


def lost_warning(lost: Sequence[float]) -> list[str]:
    """The warning for frames lost to damaged packets, naming where; none when nothing was lost."""
    if not lost:
        return []
    where = ", ".join(f"{t:.2f} s" for t in lost[:5]) + (", ..." if len(lost) > 5 else "")
    return [f"{len(lost)} frame(s) lost: the decoder rejected {len(lost)} damaged packet(s) (near {where}); "
            "the nearest frames that decoded stand in"]


def _check_file(path: Path) -> None:
    """Name the common non-video cases before FFmpeg reports them as generic I/O errors."""
    if not path.exists():
        raise VideoDecodeError(f"'{path}' does not exist")
    if path.is_dir():
        raise VideoDecodeError(f"'{path}' is a directory, not a video file")
    if path.stat().st_size == 0:
        raise VideoDecodeError(f"'{path}' is empty (0 bytes)")


@contextmanager
def _reported(path: Path, doing: str, stream_hint: Callable[[Exception], str | None] | None = None) -> Iterator[None]:
    """Turn PyAV/FFmpeg and I/O failures into one `VideoDecodeError` line naming the file; `stream_hint(error)`
    may name a cause particular to reading the video as a stream."""
    try:
        yield
    except (av.error.FFmpegError, OSError) as error:
        special = stream_hint(error) if stream_hint else None
        if isinstance(error, av.error.InvalidDataError):
            hint = special or ("it is not a video file, or it is truncated (an MP4 cut short loses its index, "
                               "the 'moov' atom)" if doing == "opening" else "the file is damaged")
            raise VideoDecodeError(f"'{path}': invalid data while {doing} ({error.strerror}); {hint}") from error
        reason = getattr(error, "strerror", None) or error
        raise VideoDecodeError(f"'{path}': {doing} failed: {reason}" + (f"; {special}" if special else "")) from error


def _looks_vfr(stream: av.video.stream.VideoStream) -> bool:
    """Irregular steps between indexed timestamps (MP4 indexes every frame), else average vs base rate.

    Only the first 2000 index entries are looked at: reading all of a long video's costs tens of ms.
    """
    entries = stream.index_entries
    if len(entries) > 2 and len(entries) >= stream.frames > 0:
        steps = np.diff(sorted(entry.timestamp for entry in entries[:2000]))
        return bool(steps.max() - steps.min() > max(2, 0.1 * float(np.median(steps))))
    average, base = stream.average_rate, stream.base_rate
    return bool(average and base and abs(average - base) > 0.01 * base)


def _to_rgb(image: np.ndarray, rotation: int) -> np.ndarray:
    """An RGB frame (H, W, 3) as stored, turned upright."""
    return np.ascontiguousarray(np.rot90(image, k=rotation // 90)) if rotation else image


def _time(frame: av.VideoFrame) -> float | None:
    return None if frame.pts is None else float(frame.pts * frame.time_base)


def _packet_time(packet: av.Packet) -> float | None:
    """A packet's presentation time in seconds, else its decoding time; None in raw streams."""
    stamp = packet.pts if packet.pts is not None else packet.dts
    return None if stamp is None or not packet.time_base else float(stamp * packet.time_base)


def _frame_rate(stream: av.video.stream.VideoStream) -> float:
    """The average frame rate, else FFmpeg's guess, else the base rate; 0.0 when none is known."""
    return float(stream.average_rate or stream.guessed_rate or stream.base_rate or 0)
