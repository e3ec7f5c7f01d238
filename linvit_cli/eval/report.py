"""What `linvit eval` writes: `predictions.jsonl` (one line per video) and `report.json` (the protocol used,
the model and its weights, what the dataset held, the metrics, where the time went).

Predictions are appended to one part file per process (`predictions.part{rank}.jsonl`), each line flushed
as soon as its video is done, so an interrupted run loses at most the line being written; the end of the
run merges the parts into `predictions.jsonl` in annotation order. `report.json` is written at the start
with `"status": "running"` and the run's fingerprint, which `--resume` checks before reusing any line.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from ..datasets import Dataset, read_dataset_info
from ..errors import UsageError
from ..integrity import sha256_of
from ..output import jsonl
from ..registry.schema import HubWeights, ModelEntry, PackagedWeights, Protocol
from .metrics import Scored, summarize

REPORT = "report.json"
PREDICTIONS = "predictions.jsonl"
PART_GLOB = "predictions.part*.jsonl"
EXAMPLES = 5  # missing and unreadable files named in the report (all are in the JSONL or the dataset)
# The form of the lines of predictions.jsonl, named in report.json: 1, top-k entries {index, label, score};
# 2, the records of `linvit classify`: {rank, index, label, probability}.
PREDICTIONS_SCHEMA = 2


def part_path(out: Path, rank: int) -> Path:
    return out / f"predictions.part{rank}.jsonl"


def weights_source(entry: ModelEntry, override: Path | None) -> dict[str, Any]:
    """Which weights produced the numbers: a file and its hash, or the pinned Hub file."""
    if override is not None:
        return {"file": str(Path(override).resolve()), "sha256": sha256_of(Path(override))}
    weights = entry.weights
    if isinstance(weights, HubWeights):
        return {"hub": weights.repo, "file": weights.file, "revision": weights.revision, "sha256": weights.sha256}
    if isinstance(weights, PackagedWeights):
        return {"file": str(weights.path.resolve()), "sha256": weights.sha256 or sha256_of(weights.path)}
    return {"file": None}  # unpublished: loading the model stops the run before anything is written


def protocol_section(protocol: Protocol, views: tuple[int, int], override: str | None) -> dict[str, Any]:
    """The protocol as evaluated: the model's, with the test views actually used and the option that chose them."""
    return {**asdict(protocol), "views": list(views), "overrides": {"views": override} if override else {}}


def describe_protocol(section: dict[str, Any]) -> str:
    """One line for the start of a run, e.g. `16 frames, dense sampling (stride 16 at 30 fps), 4x3 views ...`."""
    sampling = section["sampling"]
    if section["stride"]:
        sampling += f" sampling (stride {section['stride']} at {section['fps']:g} fps)"
    else:
        sampling += " sampling" + (f" (indices at {section['fps']:g} fps)" if section["fps"] else "")
    clips, crops = section["views"]
    chosen = section["overrides"].get("views") or "the model's protocol"
    return (f"{section['frames']} frames, {sampling}, {clips}x{crops} views ({chosen}), "
            f"combined by {section['combine']}; short side {section['short_side']}, crop {section['crop']}")


def dataset_fingerprint(dataset: Dataset) -> dict[str, Any]:
    return {"kind": dataset.kind, "root": str(dataset.root.resolve()),
            "annotations": str(dataset.annotations.resolve()), "annotations_sha256": sha256_of(dataset.annotations)}


def relative_name(dataset: Dataset, path: Path) -> str:
    """A video's name in the JSONL: its path under the dataset root (the same whatever the working folder)."""
    try:
        return path.relative_to(dataset.root).as_posix()
    except ValueError:
        return str(path)


def done_records(out: Path) -> dict[str, dict[str, Any]]:
    """Every video already evaluated in `out` (merged file and parts of any earlier process count), by file."""
    files = [out / PREDICTIONS, *sorted(out.glob(PART_GLOB))]
    return {record["file"]: record for path in files if path.is_file() for record in jsonl.read_records(path)}


def existing_run(out: Path) -> bool:
    return (out / REPORT).exists() or (out / PREDICTIONS).exists() or any(out.glob(PART_GLOB))


def check_resume(out: Path, fingerprint: dict[str, Any], resume: bool) -> None:
    """Refuse to mix runs: an existing run needs --resume, and --resume needs the same model, data and protocol."""
    if not existing_run(out):
        return
    if not resume:
        raise UsageError(f"{out} already holds an evaluation; pass --resume to continue it or choose another --out")
    report = out / REPORT
    if not report.is_file():
        raise UsageError(f"{out} holds predictions but no {REPORT}, so which run wrote them is unknown; "
                         "remove them or choose another --out")
    try:
        earlier = json.loads(report.read_text(encoding="utf-8"))["fingerprint"]
    except (json.JSONDecodeError, KeyError, TypeError):
        raise UsageError(f"{report} is not a linvit eval report; remove it or choose another --out") from None
    now = json.loads(json.dumps(fingerprint))  # tuples -> lists, as read back
    differ = sorted(key for key in {**earlier, **now} if earlier.get(key) != now.get(key))
    if differ:
        shown = "; ".join(f"{key}: {_short(earlier.get(key))} -> {_short(now.get(key))}" for key in differ)
        raise UsageError(f"refusing to resume: {out} was evaluated with another {', '.join(differ)} ({shown}); "
                         "choose another --out")


def _short(value: Any, width: int = 60) -> str:
    text = json.dumps(value)
    return text if len(text) <= width else text[: width - 3] + "..."


def write_json(path: Path, document: dict[str, Any]) -> None:
    """Write through a temporary file: a reader (or a kill) never sees half a report."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def merge(out: Path, order: Sequence[str]) -> list[dict[str, Any]]:
    """Gather every record into `predictions.jsonl` in annotation order and remove the part files."""
    records = done_records(out)
    position = {name: i for i, name in enumerate(order)}
    merged = sorted((r for r in records.values() if r["file"] in position), key=lambda r: position[r["file"]])
    tmp = out / (PREDICTIONS + ".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        fh.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in merged)
    os.replace(tmp, out / PREDICTIONS)
    for part in out.glob(PART_GLOB):
        part.unlink()
    return merged


def dataset_section(dataset: Dataset, records: Iterable[dict[str, Any]], limit: int | None) -> dict[str, Any]:
    """Where the data is and what it says it is (`linvit-dataset.json`, else None), and counts: listed, found,
    missing (first few named), evaluated, unreadable (first few with the reason)."""
    records = list(records)
    bad = [r for r in records if not r["ok"]]
    info = read_dataset_info(dataset.root)  # what the data says it is (a card names it, never the root's path)
    return {
        **{k: v for k, v in dataset_fingerprint(dataset).items() if k != "annotations_sha256"},
        **{key: getattr(info, key, None) for key in ("name", "description", "made_with")},
        "listed": dataset.listed,
        "found": dataset.found,
        "missing": len(dataset.missing),
        "missing_files": [relative_name(dataset, p) for p in dataset.missing[:EXAMPLES]],
        "unreadable": len(bad),
        "unreadable_files": [{"file": r["file"], "error": r["error"]} for r in bad[:EXAMPLES]],
        "evaluated": len(records) - len(bad),
        "not_reached": dataset.found - len(records),  # --limit
        "limit": limit,
    }


def metrics_section(records: Iterable[dict[str, Any]], labels: Sequence[str]) -> dict[str, Any]:
    scored = [Scored(r["label_index"], [p["index"] for p in r["top_k"]]) for r in records if r["ok"]]
    return summarize(scored, labels)
