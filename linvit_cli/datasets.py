"""Annotation readers shared by `linvit train` and `linvit eval`: which videos a split lists, and their labels.

Three formats:
  ssv2      `something-something-v2-{train,validation}.json` (entries with "id" and "template") plus
            `something-something-v2-labels.json` (class name -> index); the class of an entry is its
            template without brackets; videos are `{id}.webm` or `{id}.mp4`, in the root or in `videos/`.
  kinetics  the official CSV (`label,youtube_id,time_start,time_end,split`); videos are
            `{youtube_id}_{start:06d}_{end:06d}.mp4`, in the root or in one folder per class.
  list      mmaction2's `path label` lines; the label is a class name or an index into the dataset's own
            label file; paths are relative to the root.

Labels are matched by name to the label list the model was built with, never by position: a dataset whose
label file orders classes differently still gets the right targets, and a class the model does not know is
an error naming it. Files listed but absent are counted (not an error), so the caller reports them first.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from .errors import LinvitError, UsageError

DatasetKind = Literal["ssv2", "kinetics", "list"]
Split = Literal["train", "validation"]
KINDS: tuple[str, ...] = ("ssv2", "kinetics", "list")
LABEL_FILE = "labels.txt"  # one class name per line, index = line; what `linvit synth` and `train` write
SSV2_LABELS = "something-something-v2-labels.json"
BENCHMARKS = frozenset({"ssv2", "kinetics400", "kinetics600"})  # datasets known by these names everywhere
DATASET_INFO = "linvit-dataset.json"  # a dataset's own name and description (`DatasetInfo`)
_SSV2_SPLIT_FILES = {"train": "something-something-v2-train.json",
                     "validation": "something-something-v2-validation.json"}
_SSV2_SUFFIXES = (".webm", ".mp4")
_KINETICS_COLUMNS = ("label", "youtube_id", "time_start", "time_end")
_EXAMPLES = 5  # missing files and unknown labels named in messages


class AnnotationError(LinvitError):
    """An annotation or label file that cannot be read or does not follow its format (names file and line)."""


@dataclass(frozen=True)
class Sample:
    """One video found on disk and its label index into `Dataset.labels`."""

    path: Path
    label: int


@dataclass(frozen=True)
class Dataset:
    """The videos of one split that exist on disk, and what the annotations listed but the disk lacks."""

    kind: DatasetKind
    root: Path
    annotations: Path
    labels: tuple[str, ...]  # the label list the targets index (the model's)
    samples: tuple[Sample, ...]
    listed: int
    missing: tuple[Path, ...]  # every listed video not found, in annotation order

    @property
    def found(self) -> int:
        return len(self.samples)

    def summary(self) -> str:
        """One line: listed / found / missing, with the first few missing paths."""
        line = f"{self.annotations}: {self.listed} videos listed, {self.found} found, {len(self.missing)} missing"
        if self.missing:
            shown = ", ".join(str(p) for p in self.missing[:_EXAMPLES])
            line += f" (first: {shown}{', ...' if len(self.missing) > _EXAMPLES else ''})"
        return line


@dataclass(frozen=True)
class DatasetInfo:
    """What a dataset says about itself in `ROOT/linvit-dataset.json` (written by `linvit synth`): the name a
    model trained on it records, a description for people, and how to make it again. No local path."""

    name: str
    description: str
    made_with: str | None = None  # the command that makes the same data


def read_dataset_info(root: Path) -> DatasetInfo | None:
    """The dataset's own description, or None where it has none (then only its annotation layout is known)."""
    path = root / DATASET_INFO
    if not path.is_file():
        return None
    data = _load_json(path)
    fields = {key: data.get(key) for key in ("name", "description", "made_with")} if isinstance(data, dict) else {}
    if not (isinstance(fields.get("name"), str) and fields["name"] and isinstance(fields.get("description"), str)
            and isinstance(fields.get("made_with"), (str, type(None)))):
        raise AnnotationError(f"{path}: expected an object with the strings name and description (and made_with)")
    return DatasetInfo(**fields)


def identify(kind: DatasetKind, root: Path, labels: Sequence[str], known: Mapping[frozenset[str], str]) -> DatasetInfo:
    """What a model trained or evaluated on the data under `root` records as its data: the dataset's own
    description, else the dataset whose classes these are (`known`: label sets of known datasets), else a
    dataset of so many classes in `kind`'s layout. Never the annotation layout's name alone: SSv2's layout
    holds other data too."""
    info = read_dataset_info(root)
    if info is not None:
        return info
    name = known.get(frozenset(labels))
    if name is not None:
        return DatasetInfo(name, f"{name} ({len(labels)} classes)")
    return DatasetInfo("custom", f"a dataset of {len(labels)} classes in {kind}'s annotation layout")


def default_annotations(kind: DatasetKind, root: Path, split: Split) -> Path:
    """Where a split's annotation file is when none is given (SSv2 only: the others have no fixed name)."""
    if kind == "ssv2":
        return root / _SSV2_SPLIT_FILES[split]
    needs = f"a {kind} dataset needs its annotation file"
    which = "the official CSV" if kind == "kinetics" else "lines of `path label`"
    raise UsageError(f"{needs}: give annotations=FILE ({which})", cli=f"{needs}: pass --annotations FILE ({which})")


def dataset_labels(kind: DatasetKind, root: Path, annotations: Path, label_file: Path | None = None,
                   ) -> tuple[str, ...]:
    """The dataset's own class list, in its own order: for a model built for this dataset.

    `label_file` (one name per line) wins; else SSv2's labels json (ordered by its indices), else
    `labels.txt` in the root; a Kinetics CSV without either gives its class names sorted, which the
    trained model then records in its own label file (the order is written down, never assumed later).
    """
    declared = declared_labels(kind, root, label_file)
    if declared is not None:
        return declared
    if kind == "kinetics":
        return tuple(sorted({row.label for row in _kinetics_rows(annotations)}))
    if kind == "list":
        names = [label for _, label, _ in _list_rows(annotations)]
        if any(name.isdigit() for name in names):
            indices = f"{annotations} gives labels as indices but {root} has no {LABEL_FILE}: "
            which = "FILE (one class name per line) to say which class each index is"
            raise UsageError(f"{indices}give labels={which}", cli=f"{indices}pass --labels {which}")
        return tuple(sorted(set(names)))
    neither = f"{root} has neither {SSV2_LABELS} nor {LABEL_FILE}"
    raise UsageError(f"{neither}; give labels=FILE", cli=f"{neither}; pass --labels FILE")


def declared_labels(kind: DatasetKind, root: Path, label_file: Path | None = None) -> tuple[str, ...] | None:
    """The class list the dataset writes down (`label_file`, SSv2's labels json, `labels.txt`), or None.

    `linvit eval` compares it with the model's as a set: a dataset of other classes is refused up front.
    """
    if label_file is not None:
        return read_label_file(label_file)
    if kind == "ssv2" and (root / SSV2_LABELS).is_file():
        return _ssv2_label_index(root / SSV2_LABELS)[1]
    if (root / LABEL_FILE).is_file():
        return read_label_file(root / LABEL_FILE)
    return None


def read_label_file(path: Path) -> tuple[str, ...]:
    """Class names, one per line (index = line among non-empty lines); repeated names are an error."""
    try:
        names = tuple(line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip())
    except FileNotFoundError:
        raise AnnotationError(f"label file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as err:
        raise AnnotationError(f"{path}: cannot read label file ({err})") from None
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise AnnotationError(f"{path}: label file repeats {', '.join(repeated[:_EXAMPLES])}")
    if not names:
        raise AnnotationError(f"{path}: label file is empty")
    return names


def read_dataset(kind: DatasetKind, root: Path, labels: Sequence[str], *, annotations: Path | None = None,
                 split: Split = "train", label_file: Path | None = None) -> Dataset:
    """The samples of one split, labelled by index into `labels` (the model's classes), matched by name.

    Raises `AnnotationError` for a missing or malformed annotation file (with its line number) and
    `UsageError` for classes `labels` does not contain. Videos not on disk are counted in `missing`.
    """
    if kind not in KINDS:
        raise UsageError(f"unknown dataset format '{kind}'; choose from {', '.join(KINDS)}")
    root = Path(root)
    if not root.is_dir():
        raise UsageError(f"dataset root {root} is not a folder")
    annotations = Path(annotations) if annotations is not None else default_annotations(kind, root, split)
    if not annotations.is_file():
        raise AnnotationError(f"annotation file not found: {annotations}")
    if kind == "ssv2":
        listed = _ssv2_entries(root, annotations)
    elif kind == "kinetics":
        listed = _kinetics_entries(root, annotations)
    else:
        listed = _list_entries(root, annotations, label_file)
    index = {name: i for i, name in enumerate(labels)}
    unknown = sorted({name for _, name, _ in listed if name not in index})
    if unknown:
        shown = ", ".join(f"'{name}'" for name in unknown[:_EXAMPLES])
        raise UsageError(f"{annotations}: {len(unknown)} class(es) the model does not know: {shown}"
                         f"{' ...' if len(unknown) > _EXAMPLES else ''}; the model's labels are "
                         f"{', '.join(repr(n) for n in labels[:_EXAMPLES])}{' ...' if len(labels) > _EXAMPLES else ''}")
    samples = tuple(Sample(path, index[name]) for path, name, _ in listed if path.is_file())
    missing = tuple(path for path, _, _ in listed if not path.is_file())
    return Dataset(kind, root, annotations, tuple(labels), samples, len(listed), missing)


# A listed video: where it should be, its class name, its line (or entry) number for messages.
_Entry = tuple[Path, str, int]


def _ssv2_label_index(path: Path) -> tuple[dict[str, int], tuple[str, ...]]:
    raw = _load_json(path)
    if not isinstance(raw, dict):
        raise AnnotationError(f"{path}: expected an object mapping class names to indices")
    try:
        index = {str(name): int(i) for name, i in raw.items()}
    except (TypeError, ValueError):
        raise AnnotationError(f"{path}: every value must be a class index (a number or a string of digits)") from None
    if sorted(index.values()) != list(range(len(index))):
        raise AnnotationError(f"{path}: class indices must be 0..{len(index) - 1}, each once")
    return index, tuple(sorted(index, key=index.__getitem__))


def _ssv2_entries(root: Path, annotations: Path) -> list[_Entry]:
    raw = _load_json(annotations)
    if not isinstance(raw, list):
        raise AnnotationError(f"{annotations}: expected a JSON list of videos")
    entries = []
    for n, item in enumerate(raw, 1):
        if not (isinstance(item, dict) and isinstance(item.get("id"), (str, int))
                and isinstance(item.get("template"), str)):
            raise AnnotationError(f"{annotations}: entry {n} needs an \"id\" and a \"template\" (SSv2 layout)")
        vid = str(item["id"])
        entries.append((_ssv2_path(root, vid), item["template"].replace("[", "").replace("]", ""), n))
    return entries


def _ssv2_path(root: Path, vid: str) -> Path:
    """The first existing of `{id}.webm`, `{id}.mp4` in the root then `videos/`; the first guess if none."""
    candidates = [folder / f"{vid}{suffix}" for folder in (root, root / "videos") for suffix in _SSV2_SUFFIXES]
    return next((p for p in candidates if p.is_file()), candidates[0])


def _load_json(path: Path) -> object:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise AnnotationError(f"file not found: {path}") from None
    except json.JSONDecodeError as err:
        raise AnnotationError(f"{path}: line {err.lineno} column {err.colno}: invalid JSON ({err.msg})") from None
    except (OSError, UnicodeDecodeError) as err:
        raise AnnotationError(f"{path}: cannot read ({err})") from None


@dataclass(frozen=True)
class _KineticsRow:
    label: str
    youtube_id: str
    start: int
    end: int
    line: int


def _kinetics_rows(path: Path) -> list[_KineticsRow]:
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            reader = csv.reader(fh)
            header = next(reader, None)
            if header is None or not set(_KINETICS_COLUMNS) <= {h.strip() for h in header}:
                raise AnnotationError(f"{path}: line 1: expected a header with {','.join(_KINETICS_COLUMNS)}")
            column = {h.strip(): i for i, h in enumerate(header)}
            rows = []
            for fields in reader:
                if not fields:
                    continue
                line = reader.line_num
                try:
                    label, yid, start, end = (fields[column[c]].strip() for c in _KINETICS_COLUMNS)
                    rows.append(_KineticsRow(label, yid, int(float(start)), int(float(end)), line))
                except (IndexError, ValueError):
                    raise AnnotationError(f"{path}: line {line}: expected label,youtube_id,time_start,time_end "
                                          f"with whole-second times, got {','.join(fields)!r}") from None
            return rows
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise AnnotationError(f"{path}: cannot read CSV ({err})") from None


def _kinetics_entries(root: Path, annotations: Path) -> list[_Entry]:
    entries = []
    for row in _kinetics_rows(annotations):
        name = f"{row.youtube_id}_{row.start:06d}_{row.end:06d}.mp4"
        candidates = (root / name, root / row.label / name, root / row.label.replace(" ", "_") / name)
        path = next((p for p in candidates if p.is_file()), candidates[0])
        entries.append((path, row.label, row.line))
    return entries


def _list_rows(path: Path) -> list[tuple[str, str, int]]:
    """(path, label, line) of every non-empty, non-comment line; a path may contain spaces."""
    rows = []
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise AnnotationError(f"{path}: cannot read ({err})") from None
    for line, content in enumerate(text.splitlines(), 1):
        content = content.strip()
        if not content or content.startswith("#"):
            continue
        parts = content.rsplit(maxsplit=1)
        if len(parts) != 2:
            raise AnnotationError(f"{path}: line {line}: expected `path label`, got {content!r}")
        rows.append((parts[0], parts[1], line))
    return rows


def _list_entries(root: Path, annotations: Path, label_file: Path | None) -> list[_Entry]:
    rows = _list_rows(annotations)
    own: tuple[str, ...] | None = None
    entries = []
    for rel, label, line in rows:
        if label.isdigit():
            if own is None:
                own = dataset_labels("list", root, annotations, label_file)
            if int(label) >= len(own):
                raise AnnotationError(f"{annotations}: line {line}: label index {label} is past the "
                                      f"{len(own)} classes of the dataset's label file")
            label = own[int(label)]
        entries.append((root / rel, label, line))
    return entries
