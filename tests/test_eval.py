"""`linvit eval` end to end on small generated datasets (real encoded files, some missing, one corrupt).

Two models with the same tiny LViT body: `tiny` has random weights (its predictions are whatever it says, so
tests recompute every metric independently from the JSONL), and `fixed` has a zeroed last layer whose bias
ranks the classes in a known order for every input, so its metrics follow from the annotations alone.
`fixed-reversed` is the same model with its label list (and bias) in reverse order: matching by name must
give the same numbers.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import socket
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import torch

from linvit_cli.models.architectures import create_model
from linvit_cli.models.checkpoint import save_safetensors
from linvit_cli.synth.dataset import generate

VIDEOS = 12
CORRUPT, MISSING = "2000003", ("2000005", "2000008")
FIXED_RANKING = [4, 0, 7, 2, 9, 1]  # the fixed model's top classes, best first (indices of the dataset's labels)
TIMING = ("timing", "command")  # what may differ between runs giving the same results


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="session")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("ssv2")
    generate(root, splits={"validation": VIDEOS}, size=32, frames=8)
    return root


@pytest.fixture(scope="session")
def ssv2(pristine: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The SSv2 layout with two listed videos missing and one corrupt."""
    root = Path(shutil.copytree(pristine, tmp_path_factory.mktemp("damaged") / "ssv2"))
    for vid in MISSING:
        (root / "videos" / f"{vid}.mp4").unlink()
    (root / "videos" / f"{CORRUPT}.mp4").write_bytes(b"\x00not a video" * 40)
    return root


def labels_of(root: Path) -> list[str]:
    return (root / "labels.txt").read_text().splitlines()


def annotated(root: Path) -> dict[str, str]:
    """Video id -> class name, straight from the SSv2 json (template without brackets)."""
    entries = json.loads((root / "something-something-v2-validation.json").read_text())
    return {e["id"]: e["template"].replace("[", "").replace("]", "") for e in entries}


@pytest.fixture(scope="session")
def registry(pristine: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("registry")
    labels = labels_of(pristine)
    torch.manual_seed(0)
    net = create_model("lvit_tiny", num_classes=len(labels), embed_dim=32, depth=1, num_heads=2, head_hidden=16)
    save_safetensors(net.state_dict(), root / "tiny.safetensors")
    bias = torch.zeros(len(labels))
    bias[FIXED_RANKING] = torch.linspace(6.0, 1.0, len(FIXED_RANKING))
    with torch.no_grad():
        net.head.fc2.weight.zero_()
        net.head.fc2.bias.copy_(bias)
    save_safetensors(net.state_dict(), root / "fixed.safetensors")
    with torch.no_grad():
        net.head.fc2.bias.copy_(bias.flip(0))
    save_safetensors(net.state_dict(), root / "fixed-reversed.safetensors")
    (root / "labels.txt").write_text("\n".join(labels) + "\n")
    (root / "reversed.txt").write_text("\n".join(reversed(labels)) + "\n")
    protocol = ('protocol = { frames = 8, sampling = "segment", views = [2, 3], short_side = 32, crop = 32, '
                'mean = [0.5, 0.5, 0.5], std = [0.5, 0.5, 0.5], combine = "logit_sum" }\n')
    text = ""
    for name, weights, label_file in (("tiny", "tiny", "labels.txt"), ("fixed", "fixed", "labels.txt"),
                                      ("fixed-reversed", "fixed-reversed", "reversed.txt")):
        text += (f'[models.{name}]\narch = "lvit_tiny"\ndataset = "test"\nlabels = {{ file = "{label_file}" }}\n'
                 'config = { embed_dim = 32, depth = 1, num_heads = 2, head_hidden = 16 }\n'
                 f'weights = {{ path = "{weights}.safetensors", format = "safetensors" }}\n{protocol}\n')
    (root / "weights.toml").write_text(text)
    return root / "weights.toml"


def evaluate(run_cli, registry: Path, root: Path, out: Path, *extra: str, model: str = "tiny", dataset: str = "ssv2"):
    return run_cli("eval", "--dataset", dataset, "--root", root, "--model", model, "--registry", registry,
                   "--out", out, "--workers", "0", "--device", "cpu", *extra)


def outputs(out: Path) -> tuple[dict, list[dict]]:
    report = json.loads((out / "report.json").read_text())
    lines = [json.loads(line) for line in (out / "predictions.jsonl").read_text().splitlines()]
    return report, lines


def without(report: dict, keys: tuple[str, ...] = TIMING) -> dict:
    return {k: v for k, v in report.items() if k not in keys}


def recompute(lines: list[dict], labels: list[str]) -> dict:
    """The metrics, computed here from the JSONL without linvit's metrics module."""
    good = [r for r in lines if r["ok"]]
    per_class: dict[str, list[int]] = {}
    for r in good:
        per_class.setdefault(r["label"], []).append(r["top_k"][0]["label"] == r["label"])
    mistakes = Counter((r["label"], r["top_k"][0]["label"]) for r in good if r["top_k"][0]["label"] != r["label"])
    return {
        "top1": sum(r["top_k"][0]["index"] == r["label_index"] for r in good) / len(good),
        "top5": sum(r["label_index"] in [p["index"] for p in r["top_k"][:5]] for r in good) / len(good),
        "mean_class_accuracy": sum(sum(v) / len(v) for v in per_class.values()) / len(per_class),
        "per_class": {k: sum(v) / len(v) for k, v in per_class.items()},
        "mistakes": sum(mistakes.values()),
        "top_pair_count": max(mistakes.values(), default=0),
    }


def check_metrics(report: dict, lines: list[dict], labels: list[str]) -> None:
    expected, metrics = recompute(lines, labels), report["metrics"]
    for key in ("top1", "top5", "mean_class_accuracy"):
        assert metrics[key] == pytest.approx(expected[key]), key
    assert {k: v["accuracy"] for k, v in metrics["per_class"].items()} == pytest.approx(expected["per_class"])
    pairs = metrics["confused_pairs"]
    assert (pairs[0]["count"] if pairs else 0) == expected["top_pair_count"]
    assert sum(p["count"] for p in pairs) <= expected["mistakes"]


def test_ssv2_counts_protocol_and_metrics_equal_a_recomputation(run_cli, registry, ssv2, tmp_path):
    out = tmp_path / "out"
    result = evaluate(run_cli, registry, ssv2, out)
    assert result.code == 0, result.err
    assert result.err.index("2x3 views (the model's protocol)") < result.err.index("wrote")  # said first
    assert "12 videos listed, 10 found, 2 missing" in result.err
    report, lines = outputs(out)
    data = report["dataset"]
    assert (data["listed"], data["found"], data["missing"], data["unreadable"], data["evaluated"]) == (12, 10, 2, 1, 9)
    assert sorted(Path(f).stem for f in data["missing_files"]) == sorted(MISSING)
    assert [Path(r["file"]).stem for r in lines if not r["ok"]] == [CORRUPT]  # counted, never replaced
    assert f"{CORRUPT}.mp4" in data["unreadable_files"][0]["error"]
    assert len(lines) == 10 and len({r["file"] for r in lines}) == 10
    assert report["protocol"]["views"] == [2, 3] and report["protocol"]["overrides"] == {}
    assert report["model"]["weights"]["sha256"] and report["status"] == "complete"
    assert set(report["timing"]) >= {"wall_s", "decode_s", "model_s", "videos_per_s"}
    for r in (r for r in lines if r["ok"]):
        assert len(r["top_k"]) == 5 and r["correct_top1"] == (r["top_k"][0]["index"] == r["label_index"])
        assert [p["probability"] for p in r["top_k"]] == sorted((p["probability"] for p in r["top_k"]), reverse=True)
        assert [p["rank"] for p in r["top_k"]] == [1, 2, 3, 4, 5]  # the records of `linvit classify`
        assert set(r["top_k"][0]) == {"rank", "index", "label", "probability"}
    assert report["predictions_schema"] == 2  # the report says which form its lines have
    check_metrics(report, lines, labels_of(ssv2))
    assert "top-1" in result.out and "evaluated / unreadable" in result.out


def test_fixed_model_scores_from_annotations_and_label_order_does_not_matter(run_cli, registry, ssv2, tmp_path):
    labels = labels_of(ssv2)
    truth = [name for vid, name in annotated(ssv2).items() if vid not in (CORRUPT, *MISSING)]
    best, top5 = labels[FIXED_RANKING[0]], {labels[i] for i in FIXED_RANKING[:5]}
    reports = []
    for model in ("fixed", "fixed-reversed"):
        result = evaluate(run_cli, registry, ssv2, tmp_path / model, "--fast", model=model)
        assert result.code == 0, result.err
        report, lines = outputs(tmp_path / model)
        assert report["protocol"]["views"] == [1, 1] and report["protocol"]["overrides"] == {"views": "--fast"}
        metrics = report["metrics"]
        assert metrics["top1"] == pytest.approx(sum(t == best for t in truth) / len(truth))
        assert metrics["top5"] == pytest.approx(sum(t in top5 for t in truth) / len(truth))
        assert {r["file"]: r["label"] for r in lines if r["ok"]} == {
            f"videos/{vid}.mp4": name for vid, name in annotated(ssv2).items() if vid not in (CORRUPT, *MISSING)}
        reports.append(metrics)
    assert reports[0] == reports[1]


def kinetics_layouts(source: Path, base: Path) -> tuple[Path, Path, Path]:
    """The same videos as Kinetics: a CSV, flat `{id}_{start}_{end}.mp4` files and one folder per class."""
    flat, folders = base / "flat", base / "folders"
    csv_path = base / "validate.csv"
    with csv_path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["label", "youtube_id", "time_start", "time_end", "split"])
        for k, (vid, name) in enumerate(annotated(source).items()):
            writer.writerow([name, f"yt{vid}", 10 * k, 10 * k + 10, "val"])
            target = f"yt{vid}_{10 * k:06d}_{10 * k + 10:06d}.mp4"
            video = source / "videos" / f"{vid}.mp4"
            if video.exists():
                (flat / target).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(video, flat / target)
                (folders / name.replace(" ", "_")).mkdir(parents=True, exist_ok=True)
                shutil.copy(video, folders / name.replace(" ", "_") / target)
    return csv_path, flat, folders


def test_kinetics_csv_in_both_layouts_with_workers(run_cli, registry, ssv2, tmp_path):
    csv_path, flat, folders = kinetics_layouts(ssv2, tmp_path)
    metrics = []
    for root in (flat, folders):
        out = tmp_path / f"out-{root.name}"
        result = evaluate(run_cli, registry, root, out, "--annotations", csv_path, "--workers", "1",
                          "--views", "1x3", dataset="k400")
        assert result.code == 0, result.err
        report, lines = outputs(out)
        data = report["dataset"]
        assert (data["listed"], data["found"], data["missing"], data["unreadable"]) == (12, 10, 2, 1)
        assert report["protocol"]["overrides"] == {"views": "--views 1x3"}
        check_metrics(report, lines, labels_of(ssv2))
        metrics.append(report["metrics"])
    assert metrics[0] == metrics[1]


def test_plain_list_with_indices(run_cli, registry, ssv2, tmp_path):
    index = {name: i for i, name in enumerate(labels_of(ssv2))}
    listing = tmp_path / "val.txt"
    listing.write_text("".join(f"videos/{vid}.mp4 {index[name]}\n" for vid, name in annotated(ssv2).items()))
    out = tmp_path / "out"
    result = evaluate(run_cli, registry, ssv2, out, "--annotations", listing, "--fast", model="fixed-reversed",
                      dataset="list")
    assert result.code == 0, result.err
    report, lines = outputs(out)
    assert (report["dataset"]["found"], report["dataset"]["unreadable"]) == (10, 1)
    check_metrics(report, lines, labels_of(ssv2))


def test_resume_after_an_interruption_gives_the_same_report(run_cli, registry, ssv2, tmp_path):
    straight, split = tmp_path / "straight", tmp_path / "split"
    assert evaluate(run_cli, registry, ssv2, straight, "--views", "1x3").code == 0
    first = evaluate(run_cli, registry, ssv2, split, "--views", "1x3", "--limit", "4")
    assert first.code == 0, first.err
    partial, partial_lines = outputs(split)
    assert len(partial_lines) == 4 and partial["dataset"]["not_reached"] == 6
    # an interrupted later run: one more video done in a part file, the next one torn mid-line
    _, all_lines = outputs(straight)
    (split / "predictions.part1.jsonl").write_text(json.dumps(all_lines[4]) + "\n" + json.dumps(all_lines[5])[:40])

    again = evaluate(run_cli, registry, ssv2, split, "--views", "1x3")
    assert again.code == 2 and "--resume" in again.err
    other = evaluate(run_cli, registry, ssv2, split, "--views", "2x3", "--resume")
    assert other.code == 2 and "refusing to resume" in other.err and "protocol" in other.err
    resumed = evaluate(run_cli, registry, ssv2, split, "--views", "1x3", "--resume")
    assert resumed.code == 0, resumed.err
    report, lines = outputs(split)
    expected, expected_lines = outputs(straight)
    assert without(report) == without(expected)
    assert report["timing"]["resumed_from"] == 5 and report["timing"]["videos"] == 5
    assert [r["file"] for r in lines] == [r["file"] for r in expected_lines]
    assert [r.get("top_k") for r in lines] == [r.get("top_k") for r in expected_lines]
    assert not list(split.glob("predictions.part*"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_torchrun_two_processes_give_the_one_process_report(run_cli, registry, ssv2, tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    assert evaluate(run_cli, registry, ssv2, one, "--views", "1x3").code == 0
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2", "--master-addr", "127.0.0.1",
               "--master-port", str(_free_port()), "-m", "linvit_cli", "eval", "--dataset", "ssv2", "--root",
               str(ssv2), "--model", "tiny", "--registry", str(registry), "--out", str(two), "--workers", "0",
               "--device", "cpu", "--views", "1x3"]
    done = subprocess.run(command, env={**os.environ, "OMP_NUM_THREADS": "1"}, capture_output=True, text=True,
                          timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stderr.count("wrote ") == 1  # process 0 alone reports
    report, lines = outputs(two)
    expected, expected_lines = outputs(one)
    assert report["timing"]["processes"] == 2 and report["timing"]["videos"] == 10
    assert without(report) == without(expected)
    assert [(r["file"], r.get("top_k", [{}])[0].get("index")) for r in lines] == [
        (r["file"], r.get("top_k", [{}])[0].get("index")) for r in expected_lines]


def test_default_workers_are_no_more_than_the_cpus_at_hand(run_cli, registry, ssv2, tmp_path):
    cpus = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(cpus)})  # a one-CPU machine, as a container may be
    try:
        result = run_cli("eval", "--dataset", "ssv2", "--root", ssv2, "--model", "tiny", "--registry", registry,
                         "--out", tmp_path / "out", "--device", "cpu", "--limit", "2")
    finally:
        os.sched_setaffinity(0, cpus)
    assert result.code == 0, result.err
    assert json.loads((tmp_path / "out" / "report.json").read_text())["timing"]["workers"] == 1
    assert "suggested max" not in result.err


def test_nothing_readable_exits_1(run_cli, registry, ssv2, tmp_path):
    listing = tmp_path / "bad.txt"
    listing.write_text(f"videos/{CORRUPT}.mp4 0\n")
    result = evaluate(run_cli, registry, ssv2, tmp_path / "out", "--annotations", listing, dataset="list")
    assert result.code == 1
    assert json.loads((tmp_path / "out" / "report.json").read_text())["dataset"]["unreadable"] == 1


def _damaged(pristine: Path, tmp_path: Path, how: str) -> tuple[Path, list[str]]:
    """A copy of the dataset broken one way, and the extra options that point at the break."""
    root = Path(shutil.copytree(pristine, tmp_path / "data"))
    listing = root / "something-something-v2-validation.json"
    if how == "missing annotations":
        listing.unlink()
    elif how == "malformed json":
        listing.write_text(listing.read_text().replace("}", "", 3))
    elif how == "malformed csv":
        (root / "val.csv").write_text("label,youtube_id,time_start,time_end,split\na,b,1,2,val\na,b,x,2,val\n")
        return root, ["--annotations", str(root / "val.csv")]
    elif how == "no videos":
        shutil.rmtree(root / "videos")
    elif how == "unknown class":
        entries = json.loads(listing.read_text())
        entries[2]["template"] = "Juggling [something]"
        listing.write_text(json.dumps(entries))
    elif how == "other label set":
        (root / "labels.txt").write_text("".join(f"{n}\n" for n in [*labels_of(root)[:-1], "Juggling something"]))
        (root / "something-something-v2-labels.json").unlink()
    return root, []


@pytest.mark.parametrize(("how", "code", "message"), [
    ("missing annotations", 1, "annotation file not found: .*something-something-v2-validation.json"),
    ("malformed json", 1, "line \\d+ column \\d+"),
    ("malformed csv", 1, "line 3"),
    ("no videos", 2, "none of the 12 videos listed"),
    ("unknown class", 2, "'Juggling something'"),
    ("other label set", 2, "does not know: 'Juggling something'.*lacks"),
])
def test_bad_input_is_one_clear_line(run_cli, registry, pristine, tmp_path, how, code, message):
    root, extra = _damaged(pristine, tmp_path, how)
    result = evaluate(run_cli, registry, root, tmp_path / "out", *extra, dataset="k400" if extra else "ssv2")
    errors = [line for line in result.err.splitlines() if line.startswith("Error:")]
    assert result.code == code, result.err
    assert len(errors) == 1 and __import__("re").search(message, errors[0]), result.err
    assert "Traceback" not in result.err and not (tmp_path / "out").exists()


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_eval_batches_views_of_several_videos_and_gives_the_cpu_report(run_cli, registry, ssv2, tmp_path):
    cpu, gpu = tmp_path / "cpu", tmp_path / "gpu"
    assert evaluate(run_cli, registry, ssv2, cpu, "--views", "1x3").code == 0
    result = run_cli("eval", "--dataset", "ssv2", "--root", ssv2, "--model", "tiny", "--registry", registry, "--out",
                     gpu, "--workers", "2", "--device", "cuda", "--views", "1x3")
    assert result.code == 0, result.err
    (report, lines), (expected, expected_lines) = outputs(gpu), outputs(cpu)
    assert report["timing"]["device"].startswith("cuda")
    assert report["metrics"]["top1"] == expected["metrics"]["top1"]
    for a, b in zip(lines, expected_lines, strict=True):
        assert [p["index"] for p in a.get("top_k", [])] == [p["index"] for p in b.get("top_k", [])]
        assert [p["probability"] for p in a.get("top_k", [])] == pytest.approx(
            [p["probability"] for p in b.get("top_k", [])], rel=1e-4, abs=1e-6)
