"""Annotation readers: SSv2 JSON, Kinetics CSV (both file layouts), plain lists; counts, name matching, errors.

Videos here are empty files: the readers only check that files exist, decoding is the loaders' business.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from linvit_cli.datasets import AnnotationError, dataset_labels, read_dataset
from linvit_cli.errors import UsageError

CLASSES = ("Pushing something from left to right", "Moving something up", "Dropping something")


def touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")
    return path


@pytest.fixture
def ssv2(tmp_path: Path) -> Path:
    entries = [{"id": "1", "template": "Pushing [something] from left to right"},
               {"id": "2", "template": "Moving [something] up"},
               {"id": "3", "template": "Dropping [something]"},
               {"id": "4", "template": "Moving [something] up"}]
    (tmp_path / "something-something-v2-train.json").write_text(json.dumps(entries, indent=1))
    (tmp_path / "something-something-v2-labels.json").write_text(json.dumps({c: str(i) for i, c in enumerate(CLASSES)}))
    touch(tmp_path / "1.webm")
    touch(tmp_path / "videos" / "2.mp4")
    touch(tmp_path / "videos" / "3.webm")
    return tmp_path


def test_ssv2_finds_both_layouts_and_counts_missing(ssv2: Path) -> None:
    data = read_dataset("ssv2", ssv2, CLASSES)
    assert (data.listed, data.found, len(data.missing)) == (4, 3, 1)
    assert [s.path.relative_to(ssv2).as_posix() for s in data.samples] == ["1.webm", "videos/2.mp4", "videos/3.webm"]
    assert [s.label for s in data.samples] == [0, 1, 2]
    assert data.missing[0].name == "4.webm"
    assert "4 videos listed, 3 found, 1 missing" in data.summary() and "4.webm" in data.summary()
    assert dataset_labels("ssv2", ssv2, data.annotations) == CLASSES


def test_labels_match_by_name_not_position(ssv2: Path) -> None:
    model_labels = tuple(reversed(CLASSES)) + ("Something else",)
    data = read_dataset("ssv2", ssv2, model_labels)
    assert [model_labels[s.label] for s in data.samples] == [CLASSES[0], CLASSES[1], CLASSES[2]]


def test_unknown_class_is_named(ssv2: Path) -> None:
    with pytest.raises(UsageError, match="'Dropping something'"):
        read_dataset("ssv2", ssv2, CLASSES[:2])


def test_malformed_json_gives_line_and_column(ssv2: Path) -> None:
    (ssv2 / "bad.json").write_text('[\n{"id": "1", "template": "x"},\n{"id": 2 "template": "y"}\n]\n')
    with pytest.raises(AnnotationError, match=r"line 3 column 10"):
        read_dataset("ssv2", ssv2, CLASSES, annotations=ssv2 / "bad.json")
    (ssv2 / "bad.json").write_text('[{"id": "1"}]')
    with pytest.raises(AnnotationError, match="entry 1 needs"):
        read_dataset("ssv2", ssv2, CLASSES, annotations=ssv2 / "bad.json")


def test_missing_annotation_file(tmp_path: Path) -> None:
    with pytest.raises(AnnotationError, match="annotation file not found"):
        read_dataset("ssv2", tmp_path, CLASSES)
    with pytest.raises(UsageError, match="annotations=FILE") as raised:  # the parameter; the command, its option
        read_dataset("kinetics", tmp_path, CLASSES)
    assert "--annotations FILE" in raised.value.cli_message()


KINETICS_CSV = """label,youtube_id,time_start,time_end,split
abseiling,aaa,10,20,train
air drumming,bbb,0,10,train
abseiling,ccc,5,15,train
"""


@pytest.mark.parametrize("per_class", [False, True])
def test_kinetics_csv_both_layouts(tmp_path: Path, per_class: bool) -> None:
    (tmp_path / "train.csv").write_text(KINETICS_CSV)
    for label, name in (("abseiling", "aaa_000010_000020.mp4"), ("air drumming", "bbb_000000_000010.mp4")):
        touch(tmp_path / label / name if per_class else tmp_path / name)
    labels = dataset_labels("kinetics", tmp_path, tmp_path / "train.csv")
    assert labels == ("abseiling", "air drumming")
    data = read_dataset("kinetics", tmp_path, ("air drumming", "abseiling"), annotations=tmp_path / "train.csv")
    assert (data.listed, data.found, len(data.missing)) == (3, 2, 1)
    assert [s.label for s in data.samples] == [1, 0]
    assert data.missing[0].name == "ccc_000005_000015.mp4"


def test_kinetics_csv_errors_name_the_line(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("label,youtube_id,time_start,time_end,split\nabseiling,aaa,ten,20,train\n")
    with pytest.raises(AnnotationError, match="line 2"):
        read_dataset("kinetics", tmp_path, ("abseiling",), annotations=tmp_path / "a.csv")
    (tmp_path / "b.csv").write_text("name,id\nx,y\n")
    with pytest.raises(AnnotationError, match="line 1"):
        read_dataset("kinetics", tmp_path, ("abseiling",), annotations=tmp_path / "b.csv")


def test_plain_list_with_indices_and_names(tmp_path: Path) -> None:
    (tmp_path / "labels.txt").write_text("cat\ndog\n")
    touch(tmp_path / "clips" / "a b.mp4")
    touch(tmp_path / "clips" / "c.mp4")
    (tmp_path / "list.txt").write_text("clips/a b.mp4 1\n\n# comment\nclips/c.mp4 cat\nclips/gone.mp4 0\n")
    data = read_dataset("list", tmp_path, ("dog", "cat"), annotations=tmp_path / "list.txt")
    assert (data.listed, data.found, len(data.missing)) == (3, 2, 1)
    assert [(s.path.name, s.label) for s in data.samples] == [("a b.mp4", 0), ("c.mp4", 1)]
    (tmp_path / "bad.txt").write_text("clips/c.mp4 0\nonlyonefield\n")
    with pytest.raises(AnnotationError, match="line 2"):
        read_dataset("list", tmp_path, ("dog", "cat"), annotations=tmp_path / "bad.txt")
    (tmp_path / "far.txt").write_text("clips/c.mp4 7\n")
    with pytest.raises(AnnotationError, match="line 1: label index 7"):
        read_dataset("list", tmp_path, ("dog", "cat"), annotations=tmp_path / "far.txt")


def test_plain_list_indices_need_a_label_file(tmp_path: Path) -> None:
    (tmp_path / "list.txt").write_text("a.mp4 0\n")
    with pytest.raises(UsageError, match="labels=FILE") as raised:
        read_dataset("list", tmp_path, ("dog",), annotations=tmp_path / "list.txt")
    assert "--labels FILE" in raised.value.cli_message()
