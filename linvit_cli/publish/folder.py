"""What `linvit push` uploads: a `linvit train` run folder (and an eval report) as a Hub model repository.

The repository gets the layout `hf://` names are read by (linvit_cli.hub_repo): `linvit.toml` (the run's entry,
its weights `model.safetensors` pinned by sha256 and its labels counted, so a label file of the wrong length is
caught), `labels.txt`, `model.safetensors` as trained, and the model card `README.md`.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import UsageError
from ..hub_repo import CONFIG_FILE
from ..integrity import verify_sha256
from ..output import console
from ..registry.load import read_registry_file
from ..registry.schema import ModelEntry, PackagedWeights
from ..registry.write import LABELS_FILE, REGISTRY_FILE, WEIGHTS_FILE, entry_toml, labels_text
from .card import model_card

CARD_FILE = "README.md"


@dataclass(frozen=True)
class RepoFolder:
    """The repository's text files, and the run's weights file, uploaded as it is."""

    texts: dict[str, str]
    weights: Path
    entry: ModelEntry

    def write(self, folder: Path) -> None:
        """The folder `--dry-run` leaves: exactly the files a push would upload."""
        folder.mkdir(parents=True, exist_ok=True)
        for name, text in self.texts.items():
            (folder / name).write_text(text, encoding="utf-8")
        shutil.copyfile(self.weights, folder / WEIGHTS_FILE)


def repo_folder(run: Path, repo_id: str, *, report: Path | None, license: str | None,
                datasets: list[str]) -> RepoFolder:
    """The files of `repo_id` for the run; `license` defaults to the entry's meta.license, else `unknown`."""
    from ..models.params import count_parameters

    entry, sha = read_run(run)
    evaluated = read_report(report, sha) if report else None
    if license is None:
        license = entry.meta.get("license") if isinstance(entry.meta.get("license"), str) else None
    if license is None:
        console.warning("no --license given and none in the entry's meta: the card says `license: unknown`")
        license = "unknown"
    toml = entry_toml(f"Written by `linvit push`. Run it with: linvit classify VIDEO --model hf://{repo_id}",
                      entry.name, arch=entry.arch, dataset=entry.dataset, config=entry.config,
                      labels={"file": LABELS_FILE, "num_classes": entry.num_classes},
                      weights={"path": WEIGHTS_FILE, "format": "safetensors", "sha256": sha},
                      protocol=entry.protocol, meta=entry.meta)
    texts = {CONFIG_FILE: toml, LABELS_FILE: labels_text(entry.labels)}
    _check_parses(texts)
    files = {CARD_FILE: "this model card",
             CONFIG_FILE: "the linvit registry entry: architecture, config, labels, test protocol, weights' sha256",
             LABELS_FILE: f"the {entry.num_classes} class names, one per line, in the order of the model's outputs",
             WEIGHTS_FILE: f"the weights (safetensors, sha256 `{sha}`)"}
    card = model_card(entry, repo_id, parameters=count_parameters(entry), license=license,
                      datasets=datasets, report=evaluated, files=files)
    return RepoFolder({CARD_FILE: card, **texts}, entry.weights.path, entry)


def read_run(run: Path) -> tuple[ModelEntry, str]:
    """The one entry of a run's weights.toml and the sha256 of its weights, checked against the entry's."""
    registry = run / REGISTRY_FILE
    if not registry.is_file():
        raise UsageError(f"{run} has no {REGISTRY_FILE}: give the --out folder of a finished `linvit train`")
    entries, _ = read_registry_file(registry)
    if len(entries) != 1:
        raise UsageError(f"{registry} holds {len(entries)} models; linvit push takes a run folder with one")
    entry = next(iter(entries.values()))
    weights = entry.weights
    if not (isinstance(weights, PackagedWeights) and weights.format == "safetensors"):
        raise UsageError(f"{registry}: [models.{entry.name}] weights must be a safetensors file beside it "
                         "(a Hub model is loaded from safetensors only)")
    if not weights.path.is_file():
        raise UsageError(f"{registry}: [models.{entry.name}] weights {weights.path} not found")
    return entry, verify_sha256(weights.path, weights.sha256, f"{weights.path} (pinned in {registry})")


def read_report(path: Path, sha: str) -> dict[str, Any]:
    """A complete `linvit eval` report of these very weights (its recorded sha256 is theirs)."""
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise UsageError(f"--report {path} cannot be read as JSON ({err})") from None
    if not isinstance(report, dict) or report.get("status") != "complete" or "metrics" not in report:
        raise UsageError(f"--report {path} is not a complete `linvit eval` report.json")
    evaluated = report.get("model", {}).get("weights", {}).get("sha256")
    if evaluated != sha:
        raise UsageError(f"--report {path} evaluated other weights (sha256 {evaluated}), not this run's ({sha}); "
                         "evaluate the run with: linvit eval --registry RUN/weights.toml --model NAME ...")
    return report


def _check_parses(texts: dict[str, str]) -> None:
    """linvit.toml and its labels must parse as the Hub side will parse them: through the strict registry parser."""
    with tempfile.TemporaryDirectory() as tmp:
        for name, text in texts.items():
            (Path(tmp) / name).write_text(text, encoding="utf-8")
        read_registry_file(Path(tmp) / CONFIG_FILE)
