"""The synthetic motion benchmark: reproducible files in SSv2's layout, balanced classes, and classes that a
single frame cannot tell apart while two frames can."""

from __future__ import annotations

import io
import json
import re
from collections import Counter
from pathlib import Path

import av
import numpy as np
import pytest

from linvit_cli.cli.app import main
from linvit_cli.errors import UsageError
from linvit_cli.synth import classes, render
from linvit_cli.synth.dataset import class_index, clip_rng, encode, generate

TINY = {"size": 32, "frames": 8}
TINY_ARGS = ["--size", "32", "--frames", "8"]


def decode(path: Path) -> tuple[np.ndarray, tuple[object, str, str]]:
    """All frames as RGB, and the stream's frame rate, codec and pixel format."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        clip = np.stack([frame.to_ndarray(format="rgb24") for frame in container.decode(stream)])
        return clip, (stream.average_rate, stream.codec_context.name, stream.codec_context.pix_fmt)


def read_json(path: Path) -> object:
    return json.loads(path.read_text())


def videos_of(root: Path) -> list[Path]:
    return sorted((root / "videos").iterdir())


@pytest.mark.parametrize(("codec", "suffix"), [("h264", ".mp4"), ("vp9", ".webm")])
def test_videos_decode_with_requested_frames_size_and_rate(tmp_path: Path, codec: str, suffix: str) -> None:
    generate(tmp_path, splits={"train": 2, "validation": 1}, size=48, frames=10, fps=15, codec=codec)
    paths = videos_of(tmp_path)
    assert [p.suffix for p in paths] == [suffix] * 3
    for path in paths:
        clip, stream = decode(path)
        assert clip.shape == (10, 48, 48, 3)
        assert stream == (15, codec, "yuv420p")


def test_same_seed_same_files_other_seed_other_videos(tmp_path: Path) -> None:
    runs = {name: tmp_path / name for name in ("a", "b", "other")}
    for name, root in runs.items():
        generate(root, splits={"train": 4, "validation": 2}, seed=7 if name == "other" else 1, **TINY)
    names = ["something-something-v2-train.json", "something-something-v2-validation.json",
             "something-something-v2-labels.json", "labels.txt"]
    for name in names:
        assert (runs["a"] / name).read_bytes() == (runs["b"] / name).read_bytes()
    assert (runs["a"] / names[0]).read_bytes() != (runs["other"] / names[0]).read_bytes()
    for a, b, other in zip(*(videos_of(root) for root in runs.values()), strict=True):
        assert a.read_bytes() == b.read_bytes()
        assert np.array_equal(decode(a)[0], decode(b)[0])
        assert not np.array_equal(decode(a)[0], decode(other)[0])


def test_encoding_the_same_frames_again_writes_the_same_file(tmp_path: Path) -> None:
    motion = classes.CLASSES[class_index(1, "validation", 0, len(classes.CLASSES))]
    clip = render.render(render.compose(motion, clip_rng(1, "validation", 0), 8), 32)
    written = set()
    for _ in range(24):  # with x264's macroblock tree on, this clip came out in 3-4 versions in 40
        encode(tmp_path / "clip.mp4", clip, 12, "h264")
        written.add((tmp_path / "clip.mp4").read_bytes())
    assert len(written) == 1


def test_more_videos_or_more_workers_repeat_the_same_videos(tmp_path: Path) -> None:
    small = generate(tmp_path / "small", splits={"train": 3}, **TINY)
    large = generate(tmp_path / "large", splits={"train": 6}, workers=2, **TINY)
    assert large["train"][:3] == small["train"]
    for path in videos_of(tmp_path / "small"):
        assert path.read_bytes() == (tmp_path / "large" / "videos" / path.name).read_bytes()


def test_plain_background_is_the_same_grey_in_every_clip(tmp_path: Path) -> None:
    generate(tmp_path, splits={"train": 6, "validation": 0}, background="plain", **TINY)
    for path in videos_of(tmp_path):
        clip, _ = decode(path)
        pixels = clip.reshape(-1, 3).astype(int)
        background = np.all(np.abs(pixels - 128) <= 2, axis=1)  # mid-grey, up to the codec's rounding
        assert 0.5 < background.mean() < 0.99  # mostly background, and the objects are drawn over it


def test_annotations_follow_the_ssv2_layout(tmp_path: Path) -> None:
    result = generate(tmp_path, splits={"train": 14, "validation": 5}, **TINY)
    labels = read_json(tmp_path / "something-something-v2-labels.json")
    order = (tmp_path / "labels.txt").read_text().splitlines()
    assert order == [cls.label for cls in classes.CLASSES]
    assert labels == {label: str(i) for i, label in enumerate(order)}
    ids = []
    for split in ("train", "validation"):
        entries = read_json(tmp_path / f"something-something-v2-{split}.json")
        assert entries == result[split]
        for entry in entries:
            assert list(entry) == ["id", "label", "template", "placeholders"]
            assert entry["id"].isdigit()
            slots = re.findall(r"\[something\]", entry["template"], flags=re.IGNORECASE)
            assert len(slots) == len(entry["placeholders"]) >= 1
            filled = entry["template"]
            for placeholder in entry["placeholders"]:
                filled = re.sub(r"\[something\]", placeholder, filled, count=1, flags=re.IGNORECASE)
            assert entry["label"] == filled.lower()
            # The lookup SSv2 readers do: template without brackets -> index.
            assert entry["template"].replace("[", "").replace("]", "") in labels
            assert (tmp_path / "videos" / f"{entry['id']}.mp4").is_file()
            ids.append(entry["id"])
    assert len(set(ids)) == len(ids) == 19
    assert len(list((tmp_path / "videos").iterdir())) == 19


def test_the_data_says_what_it_is_and_how_to_make_it_again(tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    from linvit_cli.datasets import identify, read_dataset_info

    generate(tmp_path / "a", splits={"train": 2}, classes=["appearing", "disappearing"], **TINY)
    info = read_dataset_info(tmp_path / "a")
    assert info.name == "synth-motion" and info.description.startswith("linvit's synthetic motion benchmark (2 classes")
    assert info.made_with.startswith("linvit synth DATA --train 2 --seed 0") and "--classes appearing,disappearing" \
        in info.made_with and str(tmp_path) not in info.made_with
    again = tmp_path / "b"
    assert run_cli(info.made_with.replace("DATA", str(again)).split()[2:], capsys)[0] == 0
    assert read_json(again / "something-something-v2-train.json") == read_json(
        tmp_path / "a" / "something-something-v2-train.json")
    # data that does not describe itself is named by its classes where they are a known dataset's, never by layout
    (tmp_path / "a" / "linvit-dataset.json").unlink()
    labels = (tmp_path / "a" / "labels.txt").read_text().splitlines()
    assert identify("ssv2", tmp_path / "a", labels, {frozenset(labels): "synth-motion"}).name == "synth-motion"
    assert identify("ssv2", tmp_path / "a", labels, {}).name == "custom"


def test_classes_are_balanced_in_every_prefix() -> None:
    k = len(classes.CLASSES)
    labels = [class_index(5, "train", i, k) for i in range(6 * k + 5)]
    for n in (k, 3 * k + 1, len(labels)):
        counts = Counter(labels[:n])
        assert len(counts) == k and max(counts.values()) - min(counts.values()) <= 1
    assert labels[:k] != labels[k:2 * k]  # blocks are shuffled independently


def test_class_subset_keeps_the_given_order(tmp_path: Path) -> None:
    result = generate(tmp_path, splits={"train": 4}, classes=["up", "down"], **TINY)
    assert read_json(tmp_path / "something-something-v2-labels.json") == {
        "Moving something up": "0", "Moving something down": "1"}
    assert Counter(entry["template"] for entry in result["train"]) == {
        "Moving [something] up": 2, "Moving [something] down": 2}
    with pytest.raises(UsageError, match="'sideways'"):
        generate(tmp_path, splits={"train": 1}, classes=["up", "sideways"])


def test_each_class_is_its_partner_played_backwards() -> None:
    for cls in classes.CLASSES:
        partner = classes.reverse_of(cls)
        assert partner != cls and classes.reverse_of(partner) == cls
        forward = cls.tracks(np.random.default_rng(11), 12)
        backward = partner.tracks(np.random.default_rng(11), 12)
        assert len(forward) == len(backward)
        for f, b in zip(forward, reversed(backward), strict=True):
            for name in ("x", "y", "radius", "angle", "opacity"):
                assert np.array_equal(getattr(f, name), getattr(b, name)[::-1])


def edge_features(clips: np.ndarray) -> np.ndarray:
    """Per frame: log edge energy, edge centroid and edge energy on a 4x4 grid (edges = distance of each
    pixel from its 4x4 block mean, which removes the smooth background whatever its colour)."""
    n, t, s = clips.shape[:3]
    x = clips.reshape(n * t, s // 4, 4, s // 4, 4, 3)
    edges = np.abs(x - x.mean(axis=(2, 4), keepdims=True)).sum(axis=-1).reshape(n * t, s, s)
    energy = edges.sum(axis=(1, 2)) + 1e-6
    position = (np.arange(s) + 0.5) / s
    centre_x = (edges.sum(axis=1) * position).sum(axis=1) / energy
    centre_y = (edges.sum(axis=2) * position).sum(axis=1) / energy
    grid = edges.reshape(n * t, 4, s // 4, 4, s // 4).mean(axis=(2, 4)).reshape(n * t, 16)
    return np.c_[np.log(energy), centre_x, centre_y, grid].reshape(n, t, -1)


def clip_scores(train: np.ndarray, train_labels: np.ndarray, test: np.ndarray, k: int) -> np.ndarray:
    """Ridge regression onto one-hot labels, fitted on every (frame or frame pair) sample of the training
    clips; a test clip's score is the mean over its samples, so the classifier also sees every frame."""
    n, m, d = train.shape
    flat = train.reshape(n * m, d)
    mean, std = flat.mean(axis=0), flat.std(axis=0) + 1e-6

    def design(f: np.ndarray) -> np.ndarray:
        return np.c_[(f - mean) / std, np.ones(len(f))]

    z = design(flat)
    weights = np.linalg.solve(z.T @ z + np.eye(d + 1), z.T @ np.eye(k)[np.repeat(train_labels, m)])
    return (design(test.reshape(-1, d)) @ weights).reshape(len(test), -1, k).mean(axis=1)


def test_a_frame_alone_does_not_tell_the_class_but_two_frames_do() -> None:
    k, frames, gap = len(classes.CLASSES), 16, 8

    def clips(split: str, count: int) -> tuple[np.ndarray, np.ndarray]:
        labels = np.array([class_index(0, split, i, k) for i in range(count)])
        rendered = [render.render(render.compose(classes.CLASSES[c], clip_rng(0, split, i), frames), 32)
                    for i, c in enumerate(labels)]
        return edge_features(np.stack(rendered).astype(np.float32) / 255.0), labels

    train, train_labels = clips("train", 30 * k)
    test, test_labels = clips("validation", 10 * k)
    partners = np.array([classes.CLASSES.index(classes.reverse_of(classes.CLASSES[c])) for c in test_labels])
    rows = np.arange(len(test_labels))
    results = {}
    for name, features in (("one frame", lambda f: f),
                           ("two frames", lambda f: np.concatenate([f[:, :-gap], f[:, gap:]], axis=2))):
        scores = clip_scores(features(train), train_labels, features(test), k)
        accuracy = np.mean(scores.argmax(axis=1) == test_labels)
        # Choosing between a class and its time reversal is exactly what frames alone cannot do.
        versus_reversal = np.mean(scores[rows, test_labels] > scores[rows, partners])
        results[name] = (accuracy, versus_reversal)
    (single, single_pair), (double, double_pair) = results["one frame"], results["two frames"]
    assert single < 2.5 / k and 0.3 < single_pair < 0.7, results
    assert double > single + 0.2 and double_pair > 0.75, results


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as done:
        main(["synth", *args])
    out, err = capsys.readouterr()
    return done.value.code, out, err


def test_cli_writes_the_benchmark_and_one_summary_line(tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    out_dir = tmp_path / "bench"
    code, out, err = run_cli([str(out_dir), "--train", "3", "--validation", "2", "--size", "32",
                              "--frames", "8", "--codec", "vp9", "--classes", "clockwise,counterclockwise"],
                             capsys)
    assert code == 0 and out == ""
    assert err.count("\n") == 1 and err.startswith("wrote 3 train + 2 validation videos (2 classes")
    assert len(list((out_dir / "videos").glob("*.webm"))) == 5
    assert (out_dir / "labels.txt").read_text().splitlines() == [
        "Turning something clockwise", "Turning something counterclockwise"]
    code, _, _ = run_cli([str(out_dir), "--train", "1", "--validation", "0", "--force", *TINY_ARGS], capsys)
    assert code == 0



def test_progress_line_on_a_terminal_counts_videos(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from rich.console import Console

    from linvit_cli.output import console

    terminal = io.StringIO()
    monkeypatch.setattr(console, "stderr", Console(file=terminal, force_terminal=True, width=120))
    code, _, _ = run_cli([str(tmp_path / "bench"), "--train", "2", "--validation", "1", *TINY_ARGS], capsys)
    assert code == 0 and "synth" in terminal.getvalue() and "3/3 videos" in terminal.getvalue()


@pytest.mark.parametrize(("args", "message"), [
    (["--classes", "up,sideways"], "unknown synth class 'sideways'"),
    (["--size", "16"], "--size 16"),
    (["--size", "33"], "--size 33"),
    (["--frames", "3"], "--frames 3"),
    (["--codec", "av1"], "unknown codec 'av1'"),
    (["--background", "stripes"], "unknown background 'stripes'"),
    (["--train", "-1"], "--train -1"),
])
def test_cli_rejects_bad_settings_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                              args: list[str], message: str) -> None:
    code, out, err = run_cli([str(tmp_path / "bench"), *args], capsys)
    assert code == 2 and out == ""
    assert err.startswith("Error: ") and message in err and err.count("\n") == 1
    assert not (tmp_path / "bench").exists()


def test_cli_refuses_a_non_empty_folder_without_force(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    code, _, err = run_cli([str(tmp_path), *TINY_ARGS], capsys)
    assert code == 2 and err.startswith("Error: ") and "--force" in err and err.count("\n") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]
