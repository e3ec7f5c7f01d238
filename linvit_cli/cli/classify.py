"""`linvit classify`: video files in, top-k labels out."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ..output import console
from ..output.tables import count
from ._options import (
    CacheDirOpt,
    DeviceOpt,
    DtypeOpt,
    FastOpt,
    JsonlOpt,
    JsonOpt,
    ModelOpt,
    OfflineOpt,
    RegistryOpt,
    TopKOpt,
    ViewBatchOpt,
    ViewsOpt,
    WeightsOpt,
    checked_model,
    one_output,
    parse_views,
)
from ._paths import paths_from_stdin
from .root import app

if TYPE_CHECKING:
    from ..classifier import Classifier
    from ..registry.schema import ModelEntry

EXAMPLES = """Examples:

\b
  linvit classify clip.mp4                             # the default model (downloaded on first use)
  linvit classify clip.mp4 --registry run/weights.toml --model my-model   # a model from `linvit train`
  linvit classify clip.mp4 --model hf://owner/repo      # a model repository on the Hub (see `linvit push`)
  linvit classify videos/ --jsonl > labels.jsonl       # a folder, one JSON line per video
  find . -name '*.webm' | linvit classify - --model videomamba-s16-ssv2-f16 --fast
"""


@app.command("classify", epilog=EXAMPLES)
def classify_command(
    inputs: Annotated[list[str], typer.Argument(help="Video files, folders (searched recursively), globs, "
                                                "or - to read paths from standard input.")],
    model: ModelOpt = None,
    weights: WeightsOpt = None,
    top_k: TopKOpt = 5,
    views: ViewsOpt = None,
    fast: FastOpt = False,
    device: DeviceOpt = "auto",
    dtype: DtypeOpt = "float32",
    view_batch: ViewBatchOpt = None,
    as_json: JsonOpt = False,
    as_jsonl: JsonlOpt = False,
    registry: RegistryOpt = None,
    offline: OfflineOpt = False,
    cache_dir: CacheDirOpt = None,
) -> None:
    """Classify videos and print the top labels of each (exit code 1 if any file could not be read, or was cut
    short: then its labels are of the part that decodes)."""
    one_output(as_json, as_jsonl)
    chosen_views = parse_views(views, fast)
    reg, entry = checked_model(model, registry, views=chosen_views, weights=weights, top_k=top_k, view_batch=view_batch,
                           offline=offline, cache_dir=cache_dir)
    arguments = paths_from_stdin() if inputs == ["-"] else inputs
    from ..classifier import expand_inputs, failure  # torch: once the options are known to be good

    items = list(expand_inputs(arguments))
    classifier = build_classifier(entry, model is None, weights=weights, registry=reg, device=device,
                                  dtype=dtype, views=chosen_views, view_batch=view_batch, top_k=top_k,
                                  offline=offline, cache_dir=cache_dir)
    if classifier.entry.caution and not (as_json or as_jsonl):  # in JSON, each record carries it
        from ..output.tables import caution_note

        console.stdout.print(caution_note(classifier.entry.name, classifier.entry.caution))
    records = []
    with console.Progress(len(items), show_files=not (as_json or as_jsonl)) as progress:
        for item in items:
            record = failure(item.path, item.error) if item.error else classifier(item.path, progress.views)
            records.append(record)
            _report(record, as_json=as_json, as_jsonl=as_jsonl)
            progress.file_done(Path(item.path).name)
    failed = sum(not r["ok"] for r in records)
    cut = sum(r["ok"] and not r["complete"] for r in records)  # classified from what decodes, as timeline does
    if as_json:
        document = {"model": classifier.entry.name, "commit": classifier.commit, "results": records,
                    "summary": {"videos": len(records), "ok": len(records) - failed, "failed": failed,
                                "cut_short": cut}}
        console.stdout.out(json.dumps(document, indent=2, ensure_ascii=False), highlight=False)
    elif len(records) > 1:
        console.stderr.print(f"{len(records) - failed} of {count(len(records), 'video')} classified, {failed} "
                             f"failed" + (f", {cut} of them cut short" if cut else ""), highlight=False)
    raise typer.Exit(1 if failed or cut else 0)


def build_classifier(entry: ModelEntry, default: bool, **options: Any) -> Classifier:
    """The `Classifier` of a command's model (resolved once, by `checked_model`); when the default model's
    weights are out of reach, the error says how to work offline instead (a model is never switched
    silently)."""
    from ..classifier import Classifier
    from ..errors import HubError

    try:
        return Classifier(entry, **options)
    except HubError as err:
        if not default:
            raise
        hint = "or classify offline now with the demo model in the package: --model lvit-demo"
        raise HubError(f"{err}; {hint}") from err


def _report(record: dict, *, as_json: bool, as_jsonl: bool) -> None:
    """Errors and warnings to stderr at once; results to stdout as a table or a JSON line."""
    from ..output.tables import header, predictions

    if not record["ok"]:
        console.error(record["error"])
    for warning in record.get("warnings", []):
        console.warning(f"{record['file']}: {warning}")
    if as_jsonl:
        console.json_line(record)
    elif not as_json and record["ok"]:
        console.stdout.print(header(record))
        console.stdout.print(predictions(record))
        console.stdout.print()
