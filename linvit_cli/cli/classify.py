"""`linvit classify`: video files in, top-k labels out."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from ..output import console
from ._options import (
    CacheDirOpt,
    DeviceOpt,
    DtypeOpt,
    FastOpt,
    ModelOpt,
    OfflineOpt,
    RegistryOpt,
    ViewsOpt,
    WeightsOpt,
)
from .app import app

EXAMPLES = """Examples:
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
    top_k: Annotated[int, typer.Option("--top-k", "-k", help="Labels to show per video.")] = 5,
    views: ViewsOpt = None,
    fast: FastOpt = False,
    device: DeviceOpt = "auto",
    dtype: DtypeOpt = "float32",
    view_batch: Annotated[int | None, typer.Option("--view-batch", help="Views per forward pass "
                                                   "(default: 1 on a CPU, 4 on a GPU).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document with every result.")] = False,
    as_jsonl: Annotated[bool, typer.Option("--jsonl", help="Print one JSON line per video as it is done.")] = False,
    registry: RegistryOpt = None,
    offline: OfflineOpt = False,
    cache_dir: CacheDirOpt = None,
) -> None:
    """Classify videos and print the top labels of each (exit code 1 if any file could not be read)."""
    from ..classifier import Classifier, expand_inputs, failure, parse_views
    from ..errors import HubError, UsageError
    from ..registry.load import load_registry

    if as_json and as_jsonl:
        raise UsageError("--json and --jsonl both choose the output; give one of them")
    chosen_views = parse_views(views, fast)
    arguments = [line.strip() for line in sys.stdin if line.strip()] if inputs == ["-"] else inputs
    items = list(expand_inputs(arguments))
    try:
        classifier = Classifier(model, weights=weights, registry=load_registry(registry), device=device,
                                dtype=dtype, views=chosen_views, view_batch=view_batch, top_k=top_k,
                                offline=offline, cache_dir=cache_dir)
    except HubError as err:
        if model is not None:
            raise
        # the default model's weights are out of reach: say how to work offline, never switch silently
        hint = "or classify offline now with the demo model in the package: --model lvit-demo"
        raise HubError(f"{err}; {hint}") from err
    records = []
    with console.Progress(len(items), show_files=not (as_json or as_jsonl)) as progress:
        for item in items:
            record = failure(item.path, item.error) if item.error else classifier(item.path, progress.views)
            records.append(record)
            _report(record, as_json=as_json, as_jsonl=as_jsonl)
            progress.file_done(Path(item.path).name)
    failed = sum(not r["ok"] for r in records)
    if as_json:
        document = {"model": classifier.entry.name, "commit": classifier.commit, "results": records,
                    "summary": {"videos": len(records), "ok": len(records) - failed, "failed": failed}}
        console.stdout.out(json.dumps(document, indent=2, ensure_ascii=False), highlight=False)
    elif len(records) > 1:
        console.stderr.print(f"{len(records) - failed} of {len(records)} videos classified, {failed} failed",
                             highlight=False)
    raise typer.Exit(1 if failed else 0)


def _report(record: dict, *, as_json: bool, as_jsonl: bool) -> None:
    """Errors and warnings to stderr at once; results to stdout as a table or a JSON line."""
    from ..output.tables import header, predictions

    if not record["ok"]:
        console.error(record["error"])
    for warning in record.get("warnings", []):
        console.warning(f"{record['file']}: {warning}")
    if as_jsonl:
        console.stdout.out(json.dumps(record, ensure_ascii=False), highlight=False)
        console.stdout.file.flush()
    elif not as_json and record["ok"]:
        console.stdout.print(header(record))
        console.stdout.print(predictions(record))
        console.stdout.print()
