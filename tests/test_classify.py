"""`linvit classify` and `classify()` on real encoded files: records, outputs, views, bad input."""

from __future__ import annotations

import io
import json
import platform
import re
from pathlib import Path

import pytest
import torch
from videos import faststart, make_audio_only, make_video, truncate

from linvit_cli import classify
from linvit_cli.classifier import Classifier
from linvit_cli.errors import UsageError
from linvit_cli.inference import cpu_half_precision, resolve_autocast
from linvit_cli.models.architectures import create_model
from linvit_cli.models.checkpoint import save_safetensors

LABELS = [f"class {i}" for i in range(5)]


@pytest.fixture(scope="session")
def tiny_registry(tmp_path_factory) -> Path:
    """A registry with a small random-weight LViT (segment sampling) and the same net with dense sampling."""
    root = tmp_path_factory.mktemp("registry")
    torch.manual_seed(0)
    net = create_model("lvit_tiny", num_classes=len(LABELS), embed_dim=32, depth=1, num_heads=2, head_hidden=16)
    save_safetensors(net.state_dict(), root / "tiny.safetensors")
    (root / "labels.txt").write_text("\n".join(LABELS) + "\n")
    common = ('arch = "lvit_tiny"\ndataset = "test"\nlabels = { file = "labels.txt" }\n'
              'config = { embed_dim = 32, depth = 1, num_heads = 2, head_hidden = 16 }\n'
              'weights = { path = "tiny.safetensors", format = "safetensors" }\n')
    protocol = 'short_side = 32, crop = 32, mean = [0.5, 0.5, 0.5], std = [0.5, 0.5, 0.5], combine = "logit_sum"'
    (root / "weights.toml").write_text(
        f'[models.tiny-segment]\n{common}'
        f'protocol = {{ frames = 8, sampling = "segment", views = [2, 3], {protocol} }}\n\n'
        f'[models.tiny-dense]\n{common}'
        f'protocol = {{ frames = 8, sampling = "dense", stride = 16, fps = 30, views = [2, 3], {protocol} }}\n'
    )
    return root / "weights.toml"


@pytest.fixture(scope="session")
def clips(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("clips")
    return {
        "mp4": make_video(root / "a.mp4", frames=48, fps=24),
        "webm": make_video(root / "b.webm", codec="libvpx-vp9", frames=24, fps=12),
        "mkv": make_video(root / "c.mkv", frames=30, fps=30, size=(321, 241), pix_fmt="yuv444p"),
        "ten_bit": make_video(root / "ten.mp4", frames=24, fps=24, pix_fmt="yuv420p10le"),
        "one_second": make_video(root / "short.mp4", frames=30, fps=30),
        "portrait": make_video(root / "portrait.mp4", frames=24, fps=24, size=(48, 64), rotation=90),
        "one_frame": make_video(root / "single.mp4", frames=1, fps=24),
        "tiny": make_video(root / "tiny16.mp4", frames=24, fps=24, size=(16, 16)),
    }


def _json(result) -> dict:
    assert result.out.strip(), result.err
    return json.loads(result.out)


def test_table_output_names_file_video_and_model(run_cli, tiny_registry, clips):
    result = run_cli("classify", clips["mp4"], "--model", "tiny-segment", "--registry", tiny_registry, "-k", "3")
    assert result.code == 0, result.err
    first = result.out.splitlines()[0]
    for part in (str(clips["mp4"]), "24 fps", "64x48", "8 frames x 2x3 views", "tiny-segment"):
        assert part in first
    assert sum(label in result.out for label in LABELS) == 3


def test_json_document_schema(run_cli, tiny_registry, clips):
    result = run_cli("classify", clips["mp4"], clips["webm"], "--model", "tiny-segment", "--registry",
                     tiny_registry, "--json", "--views", "1x3")
    assert result.code == 0, result.err
    doc = _json(result)
    assert doc["model"] == "tiny-segment"
    assert doc["summary"] == {"videos": 2, "ok": 2, "failed": 0, "cut_short": 0}
    for record in doc["results"]:
        assert record["ok"] and record["error"] is None and record["complete"] and record["caution"] is None
        assert record["sampling"] == {"kind": "segment", "frames": 8, "views": [1, 3], "combine": "logit_sum"}
        assert set(record["video"]) == {"duration", "fps", "width", "height", "frames", "codec", "rotation"}
        probs = [row["probability"] for row in record["top_k"]]
        assert probs == sorted(probs, reverse=True) and 0 < sum(probs) <= 1 + 1e-6
        assert [row["rank"] for row in record["top_k"]] == [1, 2, 3, 4, 5]
        assert all(LABELS[row["index"]] == row["label"] for row in record["top_k"])
    webm = doc["results"][1]["video"]
    assert webm["frames"] == 24 and webm["fps"] == 12  # WebM states no frame count: worked out


def test_jsonl_streams_one_line_per_video_and_a_failure_does_not_stop_the_batch(run_cli, tiny_registry, clips,
                                                                               tmp_path):
    missing = tmp_path / "nope.mp4"
    result = run_cli("classify", clips["mp4"], missing, clips["webm"], "--model", "tiny-segment", "--registry",
                     tiny_registry, "--jsonl", "--fast")
    assert result.code == 1
    lines = [json.loads(line) for line in result.out.splitlines()]
    assert [r["ok"] for r in lines] == [True, False, True]
    assert "nope.mp4" in lines[1]["error"]
    assert [line for line in result.err.splitlines() if line.startswith("Error")] == [f"Error: {lines[1]['error']}"]


def _bad_inputs(root: Path, clips: dict[str, Path]) -> dict[str, Path]:
    (root / "empty").mkdir()
    (root / "zero.mp4").write_bytes(b"")
    (root / "text.mp4").write_text("this is not a video\n" * 20)
    (root / "random.mp4").write_bytes(bytes(range(256)) * 40)
    return {
        "missing": root / "missing.mp4",
        "no videos": root / "empty",
        "zero bytes": root / "zero.mp4",
        "text": root / "text.mp4",
        "random": root / "random.mp4",
        "truncated mp4": truncate(clips["mp4"], root / "cut.mp4", keep=0.5),
        "audio only": make_audio_only(root / "sound.mp4"),
    }


def test_each_bad_input_is_one_line_naming_the_file_and_the_batch_goes_on(run_cli, tiny_registry, clips,
                                                                         tmp_path):
    bad = _bad_inputs(tmp_path, clips)
    for what, path in bad.items():
        result = run_cli("classify", path, "--model", "tiny-segment", "--registry", tiny_registry)
        errors = result.err.strip().splitlines()
        assert result.code == 1, what
        assert len(errors) == 1 and errors[0].startswith("Error: ") and path.name in errors[0], (what, errors)
        assert "Traceback" not in result.err
    batch = run_cli("classify", clips["mp4"], *bad.values(), "--model", "tiny-segment", "--registry",
                    tiny_registry, "--json")
    doc = _json(batch)
    assert batch.code == 1
    assert doc["summary"] == {"videos": 1 + len(bad), "ok": 1, "failed": len(bad), "cut_short": 0}


def test_odd_but_valid_videos_are_classified_with_warnings_where_due(run_cli, tiny_registry, clips, tmp_path):
    cut_webm = truncate(make_video(tmp_path / "long.webm", codec="libvpx-vp9", frames=96, fps=24),
                        tmp_path / "cut.webm", keep=0.5)
    paths = [clips["one_frame"], clips["tiny"], clips["mkv"], clips["portrait"], clips["ten_bit"], cut_webm]
    result = run_cli("classify", *paths, "--model", "tiny-segment", "--registry", tiny_registry, "--json")
    doc = _json(result)
    assert result.code == 1, result.err  # every file classified, but one was cut short
    assert doc["summary"] == {"videos": 6, "ok": 6, "failed": 0, "cut_short": 1}
    records = {Path(r["file"]).name: r for r in doc["results"]}
    assert records["single.mp4"]["warnings"]  # one frame for 8 sampled: repeated, and said
    assert records["portrait.mp4"]["video"]["width"] == 48 and records["portrait.mp4"]["video"]["height"] == 64
    assert records["c.mkv"]["video"]["width"] == 321
    assert any("frames" in w for w in records["cut.webm"]["warnings"])  # says how much was really there
    assert [name for name, record in records.items() if not record["complete"]] == ["cut.webm"]


def test_a_file_cut_short_is_classified_from_what_decodes_with_a_warning_and_exit_1(run_cli, tiny_registry,
                                                                                    tmp_path):
    whole = faststart(make_video(tmp_path / "ten.mp4", frames=240, fps=24, gop=24), tmp_path / "whole.mp4")
    cut = truncate(whole, tmp_path / "cut.mp4", keep=0.5)  # its index, at the front, still lists all 240 frames
    result = run_cli("classify", cut, "--model", "tiny-segment", "--registry", tiny_registry, "--jsonl")
    assert result.code == 1
    (record,) = [json.loads(line) for line in result.out.splitlines()]
    assert record["ok"] and not record["complete"] and record["top_k"]
    (warning,) = [line for line in result.err.splitlines() if "cut short" in line]
    assert warning.startswith("Warning: ") and "before the 10.00 s (240 frames) the file states" in warning
    assert re.search(r"decoding stopped at [3-6]\.\d\d s", warning), warning
    whole_run = run_cli("classify", whole, "--model", "tiny-segment", "--registry", tiny_registry, "--jsonl")
    assert whole_run.code == 0 and json.loads(whole_run.out)["complete"] and whole_run.err == ""


def test_video_shorter_than_the_dense_window_repeats_frames_and_says_so(run_cli, tiny_registry, clips):
    result = run_cli("classify", clips["one_second"], "--model", "tiny-dense", "--registry", tiny_registry, "--json")
    record = _json(result)["results"][0]
    assert result.code == 0 and record["ok"]
    assert record["warnings"], "a 1 s video under a 8x16-frame window at 30 fps must say frames were repeated"


def test_folders_globs_and_stdin(run_cli, tiny_registry, clips, monkeypatch):
    folder = clips["mp4"].parent
    by_folder = _json(run_cli("classify", folder, "--model", "tiny-segment", "--registry", tiny_registry,
                              "--json", "--fast"))
    assert {Path(r["file"]).name for r in by_folder["results"]} == {p.name for p in clips.values()}
    by_glob = _json(run_cli("classify", str(folder / "*.webm"), "--model", "tiny-segment", "--registry",
                            tiny_registry, "--json", "--fast"))
    assert [Path(r["file"]).name for r in by_glob["results"]] == ["b.webm"]
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(f"{clips['mp4']}\n\n{clips['mkv']}\n".encode())))
    by_stdin = _json(run_cli("classify", "-", "--model", "tiny-segment", "--registry", tiny_registry, "--json",
                             "--fast"))
    assert [Path(r["file"]).name for r in by_stdin["results"]] == ["a.mp4", "c.mkv"]


@pytest.mark.parametrize(("args", "message"), [
    (["--model", "no-such-model"], "known models: .*lvit-k400"),
    (["--model", "lvit-k400"], "no published weights.*--weights"),
    (["--fast", "--views", "2x3"], "--fast and --views"),
    (["--views", "4by3"], "CLIPSxCROPS"),
    (["--device", "cpu", "--dtype", "float16"], "--dtype float16: this CPU has no native float16.*use float32"),
    (["--json", "--jsonl"], "--json and --jsonl"),
])
def test_usage_errors_exit_2_with_one_line(run_cli, tiny_registry, clips, args, message):
    args = args if "--model" in args else [*args, "--model", "tiny-segment"]
    result = run_cli("classify", clips["mp4"], *args, "--registry", tiny_registry)
    assert result.code == 2
    lines = result.err.strip().splitlines()
    assert len(lines) == 1
    assert __import__("re").search(message, lines[0]), lines[0]


def test_api_returns_the_records_of_json(run_cli, tiny_registry, clips, monkeypatch):
    monkeypatch.setenv("LINVIT_REGISTRY", str(tiny_registry))
    records = classify([clips["mp4"], clips["webm"]], model="tiny-segment", top_k=2, device="cpu")
    cli = _json(run_cli("classify", clips["mp4"], clips["webm"], "--model", "tiny-segment", "-k", "2", "--json"))
    strip = [{k: v for k, v in r.items() if k != "seconds"} for r in records]
    assert strip == [{k: v for k, v in r.items() if k != "seconds"} for r in cli["results"]]


def test_view_batch_does_not_change_the_result(tiny_registry, clips, monkeypatch):
    monkeypatch.setenv("LINVIT_REGISTRY", str(tiny_registry))
    assert Classifier("tiny-segment", device="cpu").view_batch == 1  # on a CPU batching views only costs
    one = classify(clips["mkv"], model="tiny-segment", view_batch=1, device="cpu")[0]["top_k"]
    six = classify(clips["mkv"], model="tiny-segment", view_batch=6, device="cpu")[0]["top_k"]
    assert [r["index"] for r in one] == [r["index"] for r in six]
    assert all(abs(a["probability"] - b["probability"]) < 1e-5 for a, b in zip(one, six, strict=True))


def test_bfloat16_on_cpu_keeps_the_ranking_close_or_is_refused_where_it_is_not_native(tiny_registry, clips,
                                                                                       monkeypatch):
    monkeypatch.setenv("LINVIT_REGISTRY", str(tiny_registry))
    if "bfloat16" not in cpu_half_precision():
        with pytest.raises(UsageError, match="no native bfloat16"):
            classify(clips["mp4"], model="tiny-segment", device="cpu", dtype="bfloat16")
        return
    fp32 = classify(clips["mp4"], model="tiny-segment", device="cpu")[0]["top_k"]
    bf16 = classify(clips["mp4"], model="tiny-segment", device="cpu", dtype="bfloat16")[0]["top_k"]
    assert all(abs(a["probability"] - b["probability"]) < 0.02 for a, b in zip(fp32, bf16, strict=True))


@pytest.mark.parametrize(("dtype", "native", "allowed"), [
    ("bfloat16", frozenset({"bfloat16"}), True),
    ("bfloat16", frozenset(), False),
    ("float16", frozenset({"bfloat16"}), False),
    ("float16", frozenset({"bfloat16", "float16"}), True),
])
def test_half_precision_on_a_cpu_only_where_it_is_native(dtype, native, allowed):
    cpu = torch.device("cpu")
    if allowed:
        assert resolve_autocast(dtype, cpu, native) == getattr(torch, dtype)
        return
    with pytest.raises(UsageError) as refused:
        resolve_autocast(dtype, cpu, native)
    message, advice = str(refused.value).split("; use ")
    assert f"no native {dtype}" in message and advice.startswith("float32")
    assert ("bfloat16" in advice) == ("bfloat16" in native)
    assert refused.value.cli_message().startswith(f"--dtype {dtype}: ")


@pytest.mark.skipif(not Path("/proc/cpuinfo").exists() or platform.machine() != "x86_64", reason="x86 Linux")
def test_native_bfloat16_detection_agrees_with_the_cpu_flags():
    flags = set(next(line for line in Path("/proc/cpuinfo").read_text().splitlines()
                     if line.startswith("flags")).split(":", 1)[1].split())
    assert ("bfloat16" in cpu_half_precision()) == bool(flags & {"avx512_bf16", "amx_bf16"})


def test_progress_lines_videos_per_second_and_slow_views_on_a_terminal_only(run_cli, tiny_registry, clips,
                                                                             monkeypatch):
    from rich.console import Console

    from linvit_cli.output import console, progress

    monkeypatch.setattr(progress, "DETAIL_AFTER_S", 0.0)  # every video counts as slow
    args = ("classify", clips["mp4"], clips["mkv"], "--model", "tiny-segment", "--registry", tiny_registry, "--jsonl",
            "--workers", "0")
    piped = run_cli(*args)  # captured stderr is not a terminal: no progress at all, only the closing line
    assert piped.code == 0 and piped.err == "2 of 2 videos classified, 0 failed\n"
    terminal = io.StringIO()
    monkeypatch.setattr(console, "stderr", Console(file=terminal, force_terminal=True, width=120))
    shown = run_cli(*args)
    assert shown.code == 0
    drawn = terminal.getvalue()
    assert "classifying" in drawn and "/2 videos" in drawn and "/6 views" in drawn
    assert [json.loads(line)["ok"] for line in shown.out.splitlines()] == [True, True]  # stdout: the records only


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_gives_the_cpu_result(tiny_registry, clips, monkeypatch):
    monkeypatch.setenv("LINVIT_REGISTRY", str(tiny_registry))
    cpu = classify(clips["mp4"], model="tiny-segment", device="cpu")[0]["top_k"]
    gpu = classify(clips["mp4"], model="tiny-segment", device="cuda")[0]["top_k"]
    assert all(abs(a["probability"] - b["probability"]) < 1e-4 for a, b in zip(cpu, gpu, strict=True))
