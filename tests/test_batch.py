"""Many videos: `classify` and `timeline` with decoding workers, `--out`/`--resume`, `--shard K/N`, torchrun.

The model is the packaged `lvit-demo` (offline, 8 frames of 32 px); the inputs are small real H.264 files and
one that is not a video. What the commands write is compared record by record with one plain run's.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from videos import make_video

DEMO = ("--model", "lvit-demo", "--device", "cpu")
VIDEOS = 9

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """Nine short clips of different lengths and sizes, and a file that is not a video among them."""
    root = tmp_path_factory.mktemp("videos")
    for k in range(VIDEOS):
        make_video(root / f"clip{k}.mp4", frames=24 + 12 * (k % 4), fps=12, size=(64 + 16 * (k % 3), 48))
    (root / "clip4b.mp4").write_bytes(b"this is not a video\n" * 30)
    return root


def records(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines()]


def same(got: list[dict], expected: list[dict]) -> None:
    """The same files in the same order, with the same labels and probabilities (to 1e-6); seconds may differ."""
    assert [r["file"] for r in got] == [r["file"] for r in expected]
    for a, b in zip(got, expected, strict=True):
        assert {k: v for k, v in a.items() if k not in ("seconds", "top_k")} == {
            k: v for k, v in b.items() if k not in ("seconds", "top_k")}
        assert [r["label"] for r in a.get("top_k", [])] == [r["label"] for r in b.get("top_k", [])]
        assert [r["probability"] for r in a.get("top_k", [])] == pytest.approx(
            [r["probability"] for r in b.get("top_k", [])], abs=1e-6)


@pytest.fixture(scope="module")
def plain(folder) -> list[dict]:
    """One process, decoding here: the records everything else must reproduce."""
    from linvit_cli.cli.app import main

    out = folder.parent / "plain.jsonl"
    with pytest.raises(SystemExit) as done:
        main(["classify", str(folder), *DEMO, "--workers", "0", "--out", str(out), "--jsonl"])
    assert done.value.code == 1  # the file that is not a video
    return records(out.read_text())


def test_workers_decode_ahead_and_the_records_keep_input_order(run_cli, folder, plain):
    assert len(plain) == VIDEOS + 1 and [r["ok"] for r in plain].count(False) == 1
    result = run_cli("classify", folder, *DEMO, "--workers", "2", "--jsonl")
    assert result.code == 1
    same(records(result.out), plain)  # a failed file is still a record, in its place
    assert [line for line in result.err.splitlines() if line.startswith("Error")] == [
        f"Error: {r['error']}" for r in plain if not r["ok"]]


def test_out_is_checked_before_any_work(run_cli, folder, tmp_path):
    (tmp_path / "taken.jsonl").write_text("{}\n")
    for args, message in [(["--out", tmp_path / "no" / "labels.jsonl"], "does not exist"),
                          (["--out", tmp_path], "is a folder"),
                          (["--out", tmp_path / "taken.jsonl"], "already exists; pass --resume"),
                          (["--resume"], "--resume continues an --out FILE"),
                          (["--shard", "2/2"], "--shard '2/2' is not K/N")]:
        result = run_cli("classify", folder, "--model", "no-such-model", *args)  # the model is never looked up
        assert result.code == 2, (args, result.err)
        (line,) = result.err.strip().splitlines()
        assert line.startswith("Error: ") and message in line


def test_resume_after_an_interruption_gives_the_one_run_file(run_cli, folder, plain, tmp_path):
    out = tmp_path / "labels.jsonl"
    lines = (folder.parent / "plain.jsonl").read_text().splitlines(keepends=True)
    out.write_text("".join(lines[:4]) + lines[4][:30])  # four whole lines, the fifth torn by a kill
    result = run_cli("classify", folder, *DEMO, "--out", out, "--resume")
    assert result.code == 1, result.err
    assert "4 already in" in result.err and result.out == ""  # with --out, stdout carries only --json/--jsonl
    same(records(out.read_text()), plain)
    again = run_cli("classify", folder, *DEMO, "--out", out, "--resume")  # nothing left to do
    assert again.code == 0 and "0 of 0 videos" in again.err
    assert len(out.read_text().splitlines()) == VIDEOS + 1
    other = run_cli("classify", folder, *DEMO, "--out", out, "--resume", "--views", "1x1")
    assert other.code == 2 and "refusing to resume" in other.err and "sampling" in other.err


def test_shards_hold_every_video_once_and_each_resumes_on_its_own(run_cli, folder, plain, tmp_path):
    shards = []
    for k in range(3):
        out = tmp_path / f"labels.{k}.jsonl"
        result = run_cli("classify", folder, *DEMO, "--shard", f"{k}/3", "--out", out)
        assert result.code == (0 if all(r["ok"] for r in plain[k::3]) else 1), result.err
        shards.append(records(out.read_text()))
    for k, shard in enumerate(shards):
        same(shard, plain[k::3])
    resumed = run_cli("classify", folder, *DEMO, "--shard", "1/3", "--out", tmp_path / "labels.1.jsonl", "--resume")
    assert resumed.code == 0 and len(records((tmp_path / "labels.1.jsonl").read_text())) == len(plain[1::3])


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def torchrun(*args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2", "--master-addr", "127.0.0.1",
               "--master-port", str(_free_port()), "-m", "linvit_cli", *args, *DEMO]
    return subprocess.run(command, env={**os.environ, "OMP_NUM_THREADS": "1"}, capture_output=True, text=True,
                          timeout=240)


def test_torchrun_two_processes_write_what_one_process_writes(run_cli, folder, plain, tmp_path):
    out = tmp_path / "two.jsonl"
    done = torchrun("classify", str(folder), "--out", str(out), "--jsonl", "--workers", "1")
    assert done.returncode == 1 and "linvit_cli/" not in done.stderr  # torchrun reports exit 1; no trace of ours
    assert [line for line in done.stderr.splitlines() if line.startswith("Error")] == [
        f"Error: {r['error']}" for r in plain if not r["ok"]]  # said once, by process 0
    same(records(out.read_text()), plain)
    same(records(done.stdout), plain)


def test_torchrun_timelines_of_several_videos_are_one_processs(run_cli, folder, tmp_path):
    one, two = tmp_path / "one.jsonl", tmp_path / "two.jsonl"
    single = run_cli("timeline", folder, *DEMO, "--out", one, "--jsonl")
    assert single.code == 1, single.err  # the file that is not a video
    done = torchrun("timeline", str(folder), "--out", str(two), "--jsonl")
    assert records(done.stdout) == records(single.out)
    strip = [{k: v for k, v in r.items() if k != "seconds"} for r in records(two.read_text())]
    assert strip == [{k: v for k, v in r.items() if k != "seconds"} for r in records(one.read_text())]
    assert len(strip) == VIDEOS + 1 and [r["ok"] for r in strip].count(False) == 1


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("view_batch", [[], ["--view-batch", "3"]])
def test_cuda_batches_views_of_several_videos_and_gives_the_cpu_records(run_cli, folder, plain, view_batch):
    result = run_cli("classify", folder, "--model", "lvit-demo", "--device", "cuda", "--workers", "2", "--jsonl",
                     *view_batch)
    assert result.code == 1  # the file that is not a video, in its place
    got = records(result.out)
    assert [r["file"] for r in got] == [r["file"] for r in plain]
    for a, b in zip(got, plain, strict=True):
        assert [r["index"] for r in a.get("top_k", [])] == [r["index"] for r in b.get("top_k", [])]
        assert [r["probability"] for r in a.get("top_k", [])] == pytest.approx(
            [r["probability"] for r in b.get("top_k", [])], rel=1e-4, abs=1e-6)
