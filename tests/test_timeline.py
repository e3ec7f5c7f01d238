"""`linvit timeline` and `timeline()`: windows over long videos, pipes and URLs, damaged and cut files.

The model is the packaged `lvit-demo` (offline, 8 frames of 32 px, segment sampling): its default window
is 2 s. Pipes and Ctrl-C run the real command in a subprocess, with a real MPEG-TS on its standard input.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import http.server
import io
import json
import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import av
import numpy as np
import pytest
import torch
from videos import damage, join_synth_clips, make_video, read_frame_number, truncate

from linvit_cli import timeline
from linvit_cli.output.tables import clock, count

DEMO = ("--model", "lvit-demo", "--device", "cpu")
KEYS = {"file", "model", "commit", "caution", "index", "start", "end", "top_k", "warnings"}

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def media(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("timeline")
    ten = make_video(root / "ten.mp4", frames=300, gop=30)
    return {
        "six": make_video(root / "six.mp4", frames=180, gop=30),
        "ts": make_video(root / "five.ts", frames=150, gop=30),
        "long ts": make_video(root / "long.ts", frames=1800, gop=30, options={"preset": "ultrafast"}),
        "damaged": damage(ten, root / "damaged.mp4", [125]),  # 4.17 s: inside the third window
        "cut": truncate(make_video(root / "eight.mkv", frames=240, gop=30), root / "cut.mkv", keep=0.5),
        "short": make_video(root / "short.mp4", frames=36),
    }


def lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines()]


def run_subprocess(*args: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "linvit_cli", "timeline", *args, *DEMO], env=os.environ.copy(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kwargs)


def test_jsonl_has_one_line_per_window_with_classifys_top_k(run_cli, media):
    result = run_cli("timeline", media["six"], *DEMO, "--jsonl", "-k", "3")
    assert result.code == 0, result.err
    records = lines(result.out)
    assert [(r["index"], r["start"], r["end"]) for r in records] == [(0, 0.0, 2.0), (1, 2.0, 4.0), (2, 4.0, 6.0)]
    for record in records:
        assert set(record) == KEYS and record["file"] == str(media["six"]) and record["warnings"] == []
        assert [row["rank"] for row in record["top_k"]] == [1, 2, 3]
        assert set(record["top_k"][0]) == {"rank", "index", "label", "probability"}
    # one window over a whole clip is what `classify` gives for its centre view
    clip = run_cli("classify", media["short"], *DEMO, "--views", "1x1", "--json", "-k", "3")
    window = run_cli("timeline", media["short"], *DEMO, "--json", "-k", "3")
    expected = json.loads(clip.out)["results"][0]["top_k"]
    (got,) = json.loads(window.out)["windows"]
    assert [r["index"] for r in got["top_k"]] == [r["index"] for r in expected]
    assert [r["probability"] for r in got["top_k"]] == pytest.approx([r["probability"] for r in expected], abs=1e-6)
    assert any("shorter than one window" in w for w in json.loads(window.out)["warnings"])


def test_json_document_and_terminal_view_show_merged_segments(run_cli, media):
    result = run_cli("timeline", media["six"], *DEMO, "--json", "--window", "1", "--stride", "0.5")
    assert result.code == 0, result.err
    doc = json.loads(result.out)
    assert doc["complete"] and doc["error"] is None and doc["model"] == "lvit-demo"
    assert doc["timeline"] == {"window": 1.0, "stride": 0.5, "crops": 1, "frames": 8, "sampling": "segment",
                               "combine": "logit_sum"}
    assert doc["video"]["frames"] == 180 and len(doc["windows"]) == 12  # the last, from 5.5 s, is half there
    segments, windows = doc["segments"], doc["windows"]
    assert sum(s["windows"] for s in segments) == len(windows)
    assert segments[0]["start"] == 0.0 and segments[-1]["end"] == 6.0
    assert all(a["end"] == b["start"] for a, b in zip(segments, segments[1:], strict=False))  # no overlaps
    for segment in segments:
        merged = windows[segment["first_window"] : segment["first_window"] + segment["windows"]]
        assert {w["top_k"][0]["label"] for w in merged} == {segment["label"]}
        assert segment["probability"] == pytest.approx(sum(w["top_k"][0]["probability"] for w in merged)
                                                       / len(merged), abs=1e-4)
    human = run_cli("timeline", media["six"], *DEMO, "--window", "1", "--stride", "0.5")
    assert human.code == 0
    rows = human.out.splitlines()
    assert "six.mp4" in rows[0] and "windows of 1 s every 0.5 s" in rows[0]
    assert len(rows) == 2 + len(segments) and rows[1].startswith("Note: lvit-demo is a toy model")
    for row, segment in zip(rows[2:], segments, strict=True):
        assert segment["label"][:40] in row and f"{100 * segment['probability']:.1f}%" in row
    assert re.search(r"12 windows, \d+ segments: 00:00:06 of video", human.err)


def test_one_window_one_segment_in_the_singular(run_cli, media):
    result = run_cli("timeline", media["short"], *DEMO)
    assert result.code == 0 and re.search(r"^1 window, 1 segment: 00:00:01\.2 of video", result.err, re.M), result.err
    assert result.out.rstrip().endswith(" 1 window")


def test_api_yields_the_records_of_jsonl(run_cli, media):
    records = timeline(media["six"], model="lvit-demo", window=3.0, top_k=2, device="cpu")
    first = next(records)  # a generator: the first window comes before the rest is read
    assert (first["start"], first["end"]) == (0.0, 3.0)
    cli = lines(run_cli("timeline", media["six"], *DEMO, "--window", "3", "-k", "2", "--jsonl").out)
    assert [first, *records] == cli


@pytest.mark.parametrize(("args", "message"), [
    (["--window", "0"], "positive"),
    (["--stride", "-1"], "positive"),
    (["--crops", "0"], "--crops"),
    (["--json", "--jsonl"], "--json and --jsonl"),
    (["--model", "no-such-model"], "known models"),
])
def test_usage_errors_exit_2_with_one_line(run_cli, media, args, message):
    result = run_cli("timeline", media["six"], *DEMO, *args)
    assert result.code == 2
    (line,) = result.err.strip().splitlines()
    assert line.startswith("Error: ") and message in line


def test_an_unreadable_file_is_one_error_line(run_cli, tmp_path):
    (tmp_path / "notes.mp4").write_text("not a video\n" * 50)
    for path in (tmp_path / "notes.mp4", tmp_path / "missing.mp4"):
        result = run_cli("timeline", path, *DEMO)
        assert result.code == 1 and result.out == ""
        (line,) = result.err.strip().splitlines()
        assert line.startswith("Error: ") and path.name in line


def test_three_crops_per_window(run_cli, media):
    result = run_cli("timeline", media["six"], *DEMO, "--crops", "3", "--json")
    assert result.code == 0, result.err
    doc = json.loads(result.out)
    assert doc["timeline"]["crops"] == 3 and len(doc["windows"]) == 3


def test_a_damaged_packet_costs_a_frame_and_a_warning_on_its_window(run_cli, media):
    with av.open(str(media["damaged"])) as container:  # the premise: FFmpeg's decoder rejects the packet
        stream = container.streams.video[0]
        with pytest.raises(av.error.InvalidDataError):
            for packet in container.demux(stream):
                stream.decode(packet)
    result = run_cli("timeline", media["damaged"], *DEMO, "--jsonl")
    assert result.code == 0, result.err
    records = lines(result.out)
    assert [r["start"] for r in records] == [0.0, 2.0, 4.0, 6.0, 8.0]
    warned = [r["index"] for r in records if any(w.startswith("1 frame(s) lost") for w in r["warnings"])]
    assert warned == [2]
    # the total is the video's (the document's, and said at the end), not an undamaged last window's
    assert not any(w.startswith("in all") for r in records for w in r["warnings"])
    assert "Warning: " + str(media["damaged"]) + ": in all: 1 frame(s) lost" in result.err
    document = json.loads(run_cli("timeline", media["damaged"], *DEMO, "--json").out)
    assert [w for w in document["warnings"] if w.startswith("in all: 1 frame(s) lost")]
    assert "damaged packet" in result.err and "4.2" in result.err
    # classify reads the same file with one warning instead of rejecting it
    classified = run_cli("classify", media["damaged"], *DEMO, "--jsonl")
    assert classified.code == 0 and "1 frame(s) lost" in lines(classified.out)[0]["warnings"][0]


def test_a_file_cut_short_gives_the_timeline_so_far_a_warning_where_it_stopped_and_exit_1(run_cli, media):
    result = run_cli("timeline", media["cut"], *DEMO, "--jsonl")
    assert result.code == 1
    records = lines(result.out)
    assert records and records[-1]["end"] < 4.5
    (stopped,) = [line for line in result.err.splitlines() if "decoding stopped at" in line]
    assert stopped.startswith("Warning: ") and "before the 8.00 s the file states" in stopped
    assert re.search(r"decoding stopped at 00:00:0\d(\.\d)? \(\d\.\d\d s\)", stopped)
    assert any("decoding stopped" in w for w in records[-1]["warnings"])
    doc = json.loads(run_cli("timeline", media["cut"], *DEMO, "--json").out)
    assert doc["complete"] is False and doc["windows"]


def test_standard_input_as_pipe(media):
    data = media["ts"].read_bytes()
    for spelling in ("pipe:", "-"):
        done = subprocess.run([sys.executable, "-m", "linvit_cli", "timeline", spelling, *DEMO, "--jsonl"],
                              input=data, capture_output=True, env=os.environ.copy(), timeout=120)
        assert done.returncode == 0, done.stderr.decode()
        records = lines(done.stdout.decode())
        assert [(r["start"], r["end"]) for r in records] == [(0.0, 2.0), (2.0, 4.0), (4.0, 5.0)]  # ends in the 3rd
        assert records[0]["file"] == spelling and "ends at 5.00 s" in records[2]["warnings"][0]


@contextlib.contextmanager
def served(path: Path) -> Iterator[str]:
    """The URL of `path` on a loopback `http.server` (which, like a plain web server, sends the file front to back
    and answers no range request)."""
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

    handler = functools.partial(Quiet, directory=str(path.parent))
    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}/{path.name}"
        finally:
            server.shutdown()


def test_an_http_url_is_read_as_a_stream(run_cli, media):
    with served(media["ts"]) as url:
        streamed = run_cli("timeline", url, *DEMO, "--jsonl")
    assert streamed.code == 0, streamed.err
    from_file = lines(run_cli("timeline", media["ts"], *DEMO, "--jsonl").out)
    strip = [{k: v for k, v in r.items() if k != "file"} for r in lines(streamed.out)]
    assert strip == [{k: v for k, v in r.items() if k != "file"} for r in from_file]


def test_an_ordinary_mp4_on_a_pipe_or_over_http_says_a_stream_needs_a_streaming_format(run_cli, tmp_path):
    # an MP4 as most tools write it: its index (moov) after the 280 kB of frames, beyond what a forward read reaches
    noise = np.random.default_rng(0)
    video = make_video(tmp_path / "moov-at-end.mp4", frames=60, options={"crf": "0"},
                       draw=lambda k, w, h: noise.integers(0, 256, (h, w, 3), dtype=np.uint8))
    with av.open(str(video)) as container:  # the premise: the file itself reads
        assert container.streams.video[0].frames == 60
    piped = subprocess.run([sys.executable, "-m", "linvit_cli", "timeline", "-", *DEMO], input=video.read_bytes(),
                           capture_output=True, env=os.environ.copy(), timeout=120)
    with served(video) as url:
        fetched = run_cli("timeline", url, *DEMO)
    for code, err in ((piped.returncode, piped.stderr.decode()), (fetched.code, fetched.err)):
        assert code == 1
        (line,) = err.strip().splitlines()
        assert line.startswith("Error: ") and "needs a format that streams (MPEG-TS" in line
        assert "the 'moov' atom" in line and "-movflags +faststart" in line and "-f mpegts" in line


def test_ctrl_c_exits_130_leaving_whole_json_lines(media):
    data = media["long ts"].read_bytes()
    process = run_subprocess("pipe:", "--jsonl", stdin=subprocess.PIPE)
    process.stdin.write(data[: len(data) // 3])  # a third, then the stream stalls as a live one can
    process.stdin.flush()
    first = process.stdout.readline()
    assert json.loads(first)["index"] == 0
    process.send_signal(signal.SIGINT)
    rest, err = process.communicate(timeout=60)  # closing stdin lets the blocked read return, as when the
    # producer is killed by the same Ctrl-C
    assert process.returncode == 130
    records = lines((first + rest).decode())  # every line whole
    last = err.decode().strip().splitlines()[-1]
    done = f"{count(len(records), 'window')}, at {clock(records[-1]['end'])}"
    assert last == f"Error: interrupted after {done} of the video"


def page_data(page: Path) -> dict:
    """The data a `--html` page carries for its script."""
    found = re.search(r'<script id="timeline-data" type="application/json">(.*?)</script>', page.read_text(), re.S)
    return json.loads(found.group(1))


def jpeg_picture(uri: str) -> np.ndarray:
    """The RGB picture of a `data:image/jpeg;base64,...` URI, decoded by FFmpeg."""
    with av.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1])), format="jpeg_pipe") as container:
        (frame,) = container.decode(video=0)
    return frame.to_ndarray(format="rgb24")


def test_page_thumbnails_are_the_frames_as_decoded_not_the_models_32_pixels(run_cli, tmp_path):
    video = make_video(tmp_path / "wide.mp4", size=(320, 240), frames=150, gop=30)  # frame numbers burned in
    page = tmp_path / "page.html"
    result = run_cli("timeline", video, *DEMO, "--window", "1", "--html", page)
    assert result.code == 0, result.err
    segments = page_data(page)["segments"]
    assert segments
    for segment in segments:
        picture = jpeg_picture(segment["thumbnail"])
        assert picture.shape == (144, 192, 3)  # 192 px wide, as the video's frames are shaped (lvit-demo sees 32)
        assert 30 * segment["start"] <= read_frame_number(picture) < 30 * segment["end"]


def test_windows_aligned_with_joined_clips_get_their_class(run_cli, tmp_path):
    labels = join_synth_clips(tmp_path / "joined.mp4", 60)
    result = run_cli("timeline", tmp_path / "joined.mp4", *DEMO, "--window", str(16 / 12), "--jsonl")
    assert result.code == 0, result.err
    records = lines(result.out)
    assert len(records) == len(labels)
    right = sum(r["top_k"][0]["label"] == label for r, label in zip(records, labels, strict=True))
    assert right >= 0.85 * len(labels), f"{right} of {len(labels)}"


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_gives_the_cpu_timeline(media):
    cpu = list(timeline(media["six"], model="lvit-demo", device="cpu"))
    gpu = list(timeline(media["six"], model="lvit-demo", device="cuda", view_batch=4))
    for a, b in zip(cpu, gpu, strict=True):
        assert [r["index"] for r in a["top_k"]] == [r["index"] for r in b["top_k"]]
        assert [r["probability"] for r in a["top_k"]] == pytest.approx([r["probability"] for r in b["top_k"]],
                                                                        abs=1e-4)


def test_several_videos_each_get_their_timeline_in_order_and_out_holds_their_documents(run_cli, media, tmp_path):
    videos = [media["six"], media["short"], media["cut"]]
    result = run_cli("timeline", *videos, *DEMO, "--jsonl", "--out", tmp_path / "docs.jsonl")
    assert result.code == 1  # the file cut short
    alone = [run_cli("timeline", video, *DEMO, "--json") for video in videos]
    documents = [json.loads(a.out) for a in alone]
    assert lines(result.out) == [w for doc in documents for w in doc["windows"]]
    written = lines((tmp_path / "docs.jsonl").read_text())
    assert [{k: v for k, v in d.items() if k != "seconds"} for d in written] == [
        {k: v for k, v in d.items() if k != "seconds"} for d in documents]
    assert [d["complete"] for d in written] == [True, True, False] and all(d["ok"] for d in written)
    assert "2 of 3 videos done, 1 not to the end; written to" in result.err
    together = run_cli("timeline", *videos, *DEMO, "--json")
    assert together.code == 2 and "--json takes one video and 3 were given" in together.err
