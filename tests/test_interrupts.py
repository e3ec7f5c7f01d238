"""Ctrl-C as terminals and `timeout -s INT` send it: SIGINT to the process, then to its whole group, so it
arrives twice. What the first one was writing (`--json`, `--jsonl`, `--out`, `--html`) must stay whole.

Each run is a real process: forked from a server that has imported linvit and torch once (multiprocessing's
forkserver), in a process group of its own, with stdout and stderr in files. That makes 20 runs take
seconds instead of minutes; the signals, handlers, decoding workers and writes are the real ones.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from videos import make_video

from linvit_cli.workers import _quiet_when_the_reader_left

DEMO = ["--model", "lvit-demo", "--device", "cpu"]
RUNS = 20
CLIPS = 40


def _linvit(args: list[str], out: str, err: str) -> None:
    """A run of `linvit ARGS` in this (forked) process: stdout and stderr to files, its own process group (made
    last: the test signals the group only once it exists, so every signal finds `main` running)."""
    for fd, path in ((1, out), (2, err)):
        os.dup2(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC), fd)
    os.environ["OMP_NUM_THREADS"] = "1"
    multiprocessing.set_start_method(None, force=True)  # decoding workers start as in a `linvit` run from a shell
    signal.signal(signal.SIGINT, signal.default_int_handler)
    from linvit_cli.cli.app import main

    os.setpgid(0, 0)
    try:
        main(args)
    finally:
        sys.stdout.flush()
        sys.stderr.flush()


@pytest.fixture(scope="module")
def server():
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["linvit_cli.cli.app", "linvit_cli.cli._runs", "linvit_cli.batch",
                                    "linvit_cli.classifier", "linvit_cli.timeline", "linvit_cli.models",
                                    "linvit_cli.output.page", "linvit_cli.output.progress"])
    return context


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("ctrl-c")
    folder = root / "clips"
    folder.mkdir()
    for k in range(CLIPS):
        make_video(folder / f"{k:02d}.mp4", frames=24, fps=12, size=(48, 32))
    return {"clips": folder, "long": make_video(root / "long.mp4", frames=6000, fps=12, size=(48, 32), gop=24)}


class Run:
    def __init__(self, server, folder: Path, args: list[str]) -> None:
        self.out, self.err = folder / "stdout", folder / "stderr"
        self.process = server.Process(target=_linvit, args=(args, str(self.out), str(self.err)))
        self.process.start()

    def wait_for(self, ready: Callable[[], bool], timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while not ready():
            assert self.process.is_alive(), self.err.read_text()
            assert time.monotonic() < deadline, "the run never got going"
            time.sleep(0.002)

    def double_interrupt(self) -> int:
        """SIGINT to the process, then to its group (as `timeout -s INT` does); its exit code."""
        self.wait_for(lambda: os.getpgid(self.process.pid) == self.process.pid)  # its group is its own
        os.kill(self.process.pid, signal.SIGINT)
        with contextlib.suppress(ProcessLookupError):  # the whole group may be gone already
            os.killpg(self.process.pid, signal.SIGINT)
        self.process.join(60)
        return self.process.exitcode


def lines_of(path: Path) -> list[dict]:
    text = path.read_text()
    assert text == "" or text.endswith("\n"), "a torn last line"
    return [json.loads(line) for line in text.splitlines()]


def has_lines(path: Path, count: int) -> Callable[[], bool]:
    return lambda: path.exists() and path.read_text().count("\n") >= count


def test_a_double_ctrl_c_leaves_json_jsonl_out_and_html_whole(server, inputs, tmp_path):
    rng = random.Random(0)
    timelines_with_windows = 0
    for run in range(RUNS):
        folder = tmp_path / str(run)
        folder.mkdir()
        labels, page = folder / "labels.jsonl", folder / "page.html"
        as_json = run % 2 == 0
        output = "--json" if as_json else "--jsonl"
        (folder / "c").mkdir()
        (folder / "t").mkdir()
        classify = Run(server, folder / "c", ["classify", str(inputs["clips"]), *DEMO, "--views", "3x1", "--out",
                                              str(labels), output])
        classify.wait_for(has_lines(labels, rng.randint(1, 5)))
        assert classify.double_interrupt() == 130, classify.err.read_text()
        timeline = Run(server, folder / "t", ["timeline", str(inputs["long"]), *DEMO, "--window", "1", "--stride",
                                              "0.25", "--html", str(page), output])  # 2,000 windows: seconds of work
        if as_json:
            time.sleep(rng.uniform(0.5, 1.5))  # --json prints nothing before the end: somewhere in the work
        else:
            timeline.wait_for(has_lines(timeline.out, rng.randint(1, 10)))
        assert timeline.double_interrupt() == 130, timeline.err.read_text()

        written = lines_of(labels)
        assert written and all(r["ok"] for r in written)
        assert "Traceback" not in classify.err.read_text() + timeline.err.read_text()  # nor from a decoding worker
        classify_err = classify.err.read_text().splitlines()
        assert classify_err[-1] == f"Error: interrupted after {len(written)} of {CLIPS} videos", classify_err
        if as_json:
            document = json.loads(classify.out.read_text())
            assert document["complete"] is False and document["results"] == written
        else:
            assert lines_of(classify.out) == written

        timeline_err = timeline.err.read_text().splitlines()
        assert timeline_err[-1].startswith("Error: interrupted"), timeline_err
        if " window" not in timeline_err[-1]:  # before the first window (while the model loaded): nothing written
            assert timeline.out.read_text() == "" and not page.exists()
            continue
        timelines_with_windows += 1
        if as_json:
            document = json.loads(timeline.out.read_text())
            assert document["complete"] is False and document["error"] == "interrupted (Ctrl-C)"
        windows = document["windows"] if as_json else lines_of(timeline.out)
        html = page.read_text()
        assert html.rstrip().endswith("</html>") and "interrupted (Ctrl-C)" in html
        assert html.count('"s":') == len(windows)  # the page holds the windows printed
    assert timelines_with_windows >= RUNS * 3 // 4  # most Ctrl-Cs came in the middle of the work


def test_ctrl_c_while_the_model_loads_says_so(server, tmp_path):
    weights = tmp_path / "weights.safetensors"
    os.mkfifo(weights)  # reading it waits until the test writes, which it never does: the load hangs there
    (tmp_path / "labels.txt").write_text("a\nb\n")
    registry = tmp_path / "weights.toml"
    registry.write_text('[models.stuck]\narch = "lvit_tiny"\ndataset = "test"\nlabels = { file = "labels.txt" }\n'
                        'config = { embed_dim = 32, depth = 1, num_heads = 2, head_hidden = 16 }\n'
                        f'weights = {{ path = "weights.safetensors", format = "safetensors", sha256 = "{"0" * 64}" }}\n'
                        'protocol = { frames = 8, sampling = "segment", views = [1, 1], short_side = 32, crop = 32, '
                        'mean = [0.5, 0.5, 0.5], std = [0.5, 0.5, 0.5], combine = "logit_sum" }\n')
    clip = make_video(tmp_path / "clip.mp4", frames=12, fps=12)
    run = Run(server, tmp_path, ["classify", str(clip), "--model", "stuck", "--registry", str(registry), "--json"])
    writer: list[int] = []

    def reading() -> bool:  # the run opens the weights: now a writer can open the FIFO without waiting
        try:
            writer.append(os.open(weights, os.O_WRONLY | os.O_NONBLOCK))  # kept open: the read waits for data
        except OSError:
            return False
        return True

    try:
        run.wait_for(reading)
        time.sleep(0.05)
        assert run.double_interrupt() == 130
    finally:
        for fd in writer:
            os.close(fd)
    assert run.err.read_text().strip().splitlines() == ["Error: interrupted while loading the model"]
    assert run.out.read_text() == ""


def test_a_decoding_worker_is_quiet_only_about_a_reader_that_hung_up():
    reported: list[type[BaseException]] = []
    hook = _quiet_when_the_reader_left(lambda kind, error, tb: reported.append(kind))

    def in_a_thread(kind: type[BaseException]) -> None:
        thread = threading.Thread(target=hook, args=(kind, kind(), None))
        thread.start()
        thread.join()

    for lost in (EOFError, BrokenPipeError, ConnectionResetError):
        in_a_thread(lost)  # the resource sharer's thread: the main process went away mid-handover
    in_a_thread(ValueError)
    hook(ConnectionResetError, ConnectionResetError(), None)  # the worker's own work: reported
    assert reported == [ValueError, ConnectionResetError]


CTRL_C_IN_FORK_CALLBACKS = """
import os, signal, sys, time
from linvit_cli import interrupts

def in_the_callback():  # Ctrl-C while a process is forked, as in logging's lock release when workers start
    os.kill(os.getpid(), signal.SIGINT)
    for _ in range(1000):  # the handler runs here, and Python drops what it raises
        pass

os.register_at_fork(after_in_parent=in_the_callback)
"""


def stderr_of(script: str) -> list[str]:
    """The lines on stderr of a Python process that runs `script` after `CTRL_C_IN_FORK_CALLBACKS`."""
    done = subprocess.run([sys.executable, "-c", CTRL_C_IN_FORK_CALLBACKS + script], capture_output=True, text=True,
                          timeout=120)
    return done.stderr.splitlines()


def test_a_ctrl_c_lost_where_python_drops_exceptions_does_not_leave_the_command_deaf():
    lines = stderr_of("""
with interrupts.once_per_press():
    if os.fork() == 0:
        os._exit(0)
    os.wait()
    try:
        time.sleep(interrupts.SAME_PRESS_S)
        os.kill(os.getpid(), signal.SIGINT)  # the user presses Ctrl-C again
        time.sleep(5)
    except KeyboardInterrupt:
        sys.exit("stopped")
sys.exit("deaf")
""")
    assert "Exception ignored" in lines[0] and lines[-1] == "stopped", lines  # the first was lost, not the second


FORKED_WORKERS = """
import os, signal
from linvit_cli import interrupts
from linvit_cli.workers import worker_init

def in_a_child(then=None):  # what a process forked now does with SIGINT: ignore, raise or other
    reader, writer = os.pipe()
    if os.fork() == 0:
        if then is not None:
            then(0)
        handler = signal.getsignal(signal.SIGINT)
        os.write(writer, b"ignore" if handler is signal.SIG_IGN else b"raise" if handler is signal.default_int_handler
                 else b"other")
        os._exit(0)
    os.wait()
    return os.read(reader, 16).decode()

with interrupts.once_per_press():
    print(in_a_child(), in_a_child(then=worker_init))
signal.signal(signal.SIGINT, signal.SIG_DFL)
print(in_a_child())
"""


def test_workers_forked_by_the_command_ignore_ctrl_c_until_they_start():
    done = subprocess.run([sys.executable, "-c", FORKED_WORKERS], capture_output=True, text=True, timeout=120)
    assert done.stdout.split() == ["ignore", "raise", "other"], done.stderr


def test_ctrl_c_while_decoding_workers_start_stops_the_run():
    lines = stderr_of("""
from torch.utils.data import DataLoader
from linvit_cli.workers import started, worker_init
with interrupts.once_per_press():
    try:
        batches = started(DataLoader(range(8), num_workers=2, worker_init_fn=worker_init))
    except KeyboardInterrupt:
        sys.exit("stopped")
sys.exit("went on")
""")
    assert lines == ["stopped"], lines
