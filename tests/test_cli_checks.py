"""What a command checks before it does any work: option values, input files, output paths, standard input.

Each is one `Error:` line naming the option, exit code 2, before torch is imported (a usage error costs no more than
`--help`), so a run that would fail at its end (a page to an unwritable folder) fails at its start instead. The
library says the same with its parameters' names, never with the command line's options.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from videos import make_video

from linvit_cli import classify, load_model, timeline
from linvit_cli.errors import UsageError

DEMO = ["--model", "lvit-demo"]
UNWRITABLE = Path("/proc/1")  # a folder that exists and that no one, root included, may create files in

_CHILD = """
import contextlib, io, json, sys
from linvit_cli.cli.app import main
results = []
for args in json.loads(sys.argv[1]):
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            main(args)
            code = 0
        except SystemExit as done:
            code = done.code
    results.append([code, err.getvalue(), "torch" in sys.modules])
print(json.dumps(results))
"""


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    return make_video(tmp_path_factory.mktemp("clip") / "clip.mp4", frames=24, fps=12)


def one_error(text: str) -> str:
    (line,) = text.strip().splitlines()
    assert line.startswith("Error: ")
    return line


def test_usage_errors_of_option_values_come_before_torch_is_imported(clip, tmp_path):
    video = str(clip)
    cases = [
        (["classify", video, *DEMO, "--top-k", "0"], "--top-k 0: must be at least 1"),
        (["classify", video, *DEMO, "--view-batch", "0"], "--view-batch 0: must be at least 1"),
        (["classify", video, *DEMO, "--views", "0x3"], "--views 0x3: clips and crops must each be at least 1"),
        (["classify", video, *DEMO, "--views", "5x1"], "--views 5x1: lvit-demo's segment sampling defines 3 "
                                                         "temporal clips at most"),
        (["classify", video, *DEMO, "--views", "4by3"], "--views 4by3: not CLIPSxCROPS"),
        (["classify", video, *DEMO, "--weights", str(tmp_path / "none.safetensors")], "--weights .*: no such file"),
        (["timeline", video, *DEMO, "--window", "-1"], "--window -1: must be a positive number of seconds"),
        (["timeline", video, *DEMO, "--stride", "0"], "--stride 0: must be a positive number of seconds"),
        (["timeline", video, *DEMO, "--crops", "0"], "--crops 0: must be at least 1"),
        (["timeline", video, *DEMO, "--html", str(tmp_path / "no" / "page.html")], "--html .*does not exist"),
        (["eval", "--dataset", "ssv2", "--root", str(tmp_path), *DEMO, "--top-k", "0"], "--top-k 0: must be"),
        (["eval", "--dataset", "ssv2", "--root", str(tmp_path), *DEMO, "--workers", "-1"], "--workers -1: must"),
        (["eval", "--dataset", "ssv2", "--root", str(tmp_path), *DEMO, "--out", str(UNWRITABLE / "e")],
         "--out .*cannot be written"),
        (["train", "--arch", "lvit_tiny", "--dataset", "ssv2", "--root", str(tmp_path), "--out",
          str(UNWRITABLE / "run")], "--out .*cannot be written"),
        (["convert", str(tmp_path / "none.pyth"), str(tmp_path / "x.safetensors"), *DEMO], "SRC .*: no such file"),
        (["push", str(tmp_path), "me/model", "--dry-run", str(video)], "--dry-run .*is a file, not a folder"),
        (["models", "--hub", "--limit", "0"], "--limit 0: must be at least 1"),
    ]
    done = subprocess.run([sys.executable, "-c", _CHILD, json.dumps([args for args, _ in cases])],
                          capture_output=True, text=True, timeout=120, env=os.environ.copy())
    assert done.returncode == 0, done.stderr[-3000:]
    for (args, message), (code, err, torch_imported) in zip(cases, json.loads(done.stdout), strict=True):
        assert code == 2, (args, err)
        assert __import__("re").search(message, one_error(err)), (args, err)
        assert not torch_imported, f"{args}: torch was imported before the usage error"


@pytest.mark.parametrize("command", ["timeline", "eval", "train", "synth", "push", "convert"])
def test_every_output_path_is_checked_before_any_work(run_cli, clip, tmp_path, command):
    missing = tmp_path / "no" / "such" / "folder"
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    runs = {
        "timeline": lambda out: ["timeline", clip, *DEMO, "--html", out / "page.html"],
        "eval": lambda out: ["eval", "--dataset", "ssv2", "--root", tmp_path, *DEMO, "--out", out / "eval"],
        "train": lambda out: ["train", "--arch", "lvit_tiny", "--dataset", "ssv2", "--root", tmp_path,
                              "--out", out / "run"],
        "synth": lambda out: ["synth", out / "data", "--train", "1", "--validation", "0"],
        "push": lambda out: ["push", tmp_path, "me/model", "--dry-run", out / "dry"],
        "convert": lambda out: ["convert", clip, out / "x.safetensors", *DEMO],
    }
    for where, why in ((blocked, "is a file|is not a folder"), (UNWRITABLE, "cannot be written")):
        result = run_cli(*runs[command](where))
        assert result.code == 2, result.err
        assert __import__("re").search(why, one_error(result.err)), result.err
    if command == "timeline":  # a page goes into a folder that exists: one that does not is named
        result = run_cli(*runs[command](missing))
        assert result.code == 2 and "does not exist" in one_error(result.err)
    assert not missing.exists()


def test_a_video_piped_to_classify_is_a_usage_error_that_points_to_timeline(clip):
    done = subprocess.run([sys.executable, "-m", "linvit_cli", "classify", "-", *DEMO], input=clip.read_bytes(),
                          capture_output=True, timeout=120, env=os.environ.copy())
    assert done.returncode == 2, done.stderr.decode()
    line = one_error(done.stderr.decode())
    assert "`linvit classify -` reads paths" in line and "`linvit timeline -`" in line


def test_the_library_names_its_parameters_and_the_command_line_its_options(clip, run_cli):
    calls = {
        "top_k": lambda: classify(clip, model="lvit-demo", top_k=0),
        "view_batch": lambda: classify(clip, model="lvit-demo", view_batch=0),
        "views": lambda: classify(clip, model="lvit-demo", views=(5, 1)),
        "crops": lambda: next(timeline(clip, model="lvit-demo", crops=0)),
        "window": lambda: next(timeline(clip, model="lvit-demo", window=-1.0)),
        "dtype": lambda: classify(clip, model="lvit-demo", dtype="float64"),
        "device": lambda: classify(clip, model="lvit-demo", device="tpu"),
        "weights": lambda: load_model("lvit-k400"),
    }
    for name, call in calls.items():
        with pytest.raises(UsageError) as raised:
            call()
        assert name in str(raised.value) and "--" not in str(raised.value), str(raised.value)
    for args, said in ((["--dtype", "float64"], "--dtype float64: unknown dtype"),
                       (["--device", "tpu"], "--device tpu: unknown device"),
                       (["--model", "lvit-k400"], "pass --weights FILE")):
        result = run_cli("classify", clip, *DEMO, *args) if "--model" not in args else run_cli("classify", clip, *args)
        assert result.code == 2 and said in one_error(result.err), result.err
