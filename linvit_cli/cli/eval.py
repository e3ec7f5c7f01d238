"""`linvit eval`: a model's accuracy on an annotated dataset under its own test protocol.

The command resolves the model, the dataset (labels matched by name) and the views, prints the protocol
and what the annotations list, and hands an `EvalJob` to `linvit_cli.eval.runner.evaluate`. Under torchrun
every process runs this command; only process 0 prints.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any

import typer

from ..errors import UsageError, at_least
from ..machine import decoding_workers
from ..names import HUB_PREFIX
from ..output import console
from ._options import (
    CacheDirOpt,
    DecodeWorkersOpt,
    DeviceOpt,
    DtypeOpt,
    FastOpt,
    ModelOpt,
    OfflineOpt,
    RegistryOpt,
    ViewBatchOpt,
    ViewsOpt,
    WeightsOpt,
    checked_model,
    command_line,
    parse_views,
)
from ._paths import check_input_file, check_output_folder
from .root import app

EXAMPLES = """Examples:

\b
  linvit eval --dataset ssv2 --root ssv2 --model videomamba-s16-ssv2-f16
  linvit eval --dataset k400 --root k400/val --annotations k400/validate.csv --model videomamba-s16-k400-f16 --fast
  linvit eval --dataset list --root videos --annotations val_list.txt --labels classes.txt --model NAME
  linvit eval --dataset ssv2 --root ssv2 --model hf://owner/repo@v1    # a Hub model, at the commit v1 names now
  torchrun --nproc-per-node 8 -m linvit_cli eval --dataset k400 --root k400/val --annotations k400/validate.csv

A run writes OUT/report.json and OUT/predictions.jsonl (one line per video, as it goes); --resume continues it.
"""

# --dataset -> the annotation reader, and the registry `dataset` a model evaluated on it is expected to have
DATASETS = {"ssv2": ("ssv2", "ssv2"), "k400": ("kinetics", "kinetics400"), "k600": ("kinetics", "kinetics600"),
            "list": ("list", None)}


@app.command("eval", epilog=EXAMPLES)
def eval_command(
    ctx: typer.Context,
    dataset: Annotated[str, typer.Option("--dataset", help="ssv2, k400, k600 or list (mmaction2's `path label`).")],
    root: Annotated[Path, typer.Option("--root", help="Dataset folder (videos; SSv2's annotation files).")],
    annotations: Annotated[Path | None, typer.Option("--annotations", help="Validation annotations (ssv2 default: "
                                                     "ROOT/something-something-v2-validation.json).")] = None,
    labels: Annotated[Path | None, typer.Option("--labels", help="The dataset's label file (one class per line), "
                                                "for a list with integer labels.")] = None,
    model: ModelOpt = None,
    weights: WeightsOpt = None,
    out: Annotated[Path | None, typer.Option("--out", help="Folder for report.json and predictions.jsonl "
                                             "(default: eval-MODEL-DATASET).")] = None,
    views: ViewsOpt = None,
    fast: FastOpt = False,
    workers: DecodeWorkersOpt = None,
    device: DeviceOpt = "auto",
    dtype: DtypeOpt = "float32",
    view_batch: ViewBatchOpt = None,
    top_k: Annotated[int, typer.Option("--top-k", "-k", help="Predictions stored per video (at least 5).")] = 5,
    limit: Annotated[int | None, typer.Option("--limit", help="Evaluate only the first N videos found "
                                              "(a quick check; --resume later completes the run).")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue the run in OUT, skipping videos done "
                                         "(refused if model, data or protocol differ).")] = False,
    registry: RegistryOpt = None,
    offline: OfflineOpt = False,
    cache_dir: CacheDirOpt = None,
) -> None:
    """Evaluate a model under its test protocol: top-1, top-5, mean class accuracy, per-class accuracy and
    confusions, with counts of missing and unreadable videos (exit 1 if no video could be evaluated)."""
    if dataset not in DATASETS:
        raise UsageError(f"--dataset '{dataset}' is not one of {', '.join(DATASETS)}")
    at_least("workers", workers, 0)
    at_least("limit", limit, 1)
    kind, expected = DATASETS[dataset]
    chosen_views = parse_views(views, fast)
    override = "--fast" if fast else (f"--views {views}" if views else None)
    reg, entry = checked_model(model, registry, views=chosen_views, weights=weights, top_k=top_k,
                               view_batch=view_batch, offline=offline, cache_dir=cache_dir)
    for path, option in ((annotations, "--annotations"), (labels, "--labels")):
        check_input_file(path, option)
    out = out or Path(f"eval-{re.sub(r'[^A-Za-z0-9._-]+', '-', entry.name.removeprefix(HUB_PREFIX))}-{dataset}")
    check_output_folder(out, "--out")
    from ..datasets import BENCHMARKS, read_dataset  # torch from here on, once the options are known to be good
    from ..distributed import distributed_rank
    from ..eval.report import describe_protocol, protocol_section
    from ..eval.runner import EvalJob, evaluate

    main = distributed_rank() == 0
    data = read_dataset(kind, root, entry.labels, annotations=annotations, split="validation", label_file=labels)
    _check_label_sets(kind, root, labels, entry.labels)
    if main:
        if expected and entry.dataset in BENCHMARKS and entry.dataset != expected:
            console.warning(f"model {entry.name} was trained on {entry.dataset}, not {expected}; "
                            "its labels match this dataset's by name, but the numbers are not that benchmark's")
        (console.warning if data.missing else console.info)(data.summary())
    if not data.samples:
        raise UsageError(f"none of the {data.listed} videos listed in {data.annotations} is under {root} "
                         f"(first expected: {data.missing[0] if data.missing else 'none listed'})")
    protocol = protocol_section(entry.protocol, chosen_views or entry.protocol.views, override)
    if main:
        console.info(f"model {entry.name} ({entry.arch}, {entry.num_classes} classes, weights "
              f"{weights or 'of the registry'}); protocol: {describe_protocol(protocol)}")
    job = EvalJob(model=entry, dataset=data, out=out, views=chosen_views, views_override=override,
                  weights=weights, device=device, dtype=dtype, workers=decoding_workers(workers), view_batch=view_batch,
                  top_k=top_k, limit=limit, resume=resume, offline=offline, cache_dir=cache_dir,
                  command=command_line(ctx))
    report = evaluate(job)
    if report is None:  # not process 0: it printed nothing and writes nothing
        raise typer.Exit(0)
    _summary(report, out)
    raise typer.Exit(0 if report["dataset"]["evaluated"] else 1)


def _check_label_sets(kind: str, root: Path, label_file: Path | None, model_labels: tuple[str, ...]) -> None:
    """A dataset that writes down its classes must have the model's, as a set (the order may differ)."""
    from ..datasets import declared_labels

    own = declared_labels(kind, root, label_file)
    if own is None or set(own) == set(model_labels):
        return
    lacking = sorted(set(own) - set(model_labels))
    extra = sorted(set(model_labels) - set(own))
    parts = [f"{len(lacking)} class(es) the model does not know: {', '.join(map(repr, lacking[:5]))}"] * bool(lacking)
    parts += [f"{len(extra)} model class(es) the dataset lacks: {', '.join(map(repr, extra[:5]))}"] * bool(extra)
    raise UsageError(f"the dataset's label list under {root} is not the model's: {'; '.join(parts)}")


def _summary(report: dict[str, Any], out: Path) -> None:
    """The numbers a reader looks for first, as a table on stdout; the rest is in the report."""
    from rich.table import Table

    data, metrics, timing = report["dataset"], report["metrics"], report["timing"]
    table = Table(title=f"{report['model']['name']} on {data['annotations']}", show_header=False)
    table.add_column(style="bold")
    table.add_column(justify="right")
    rows = [
        ("top-1", f"{metrics['top1']:.2%}"), ("top-5", f"{metrics['top5']:.2%}"),
        ("mean class accuracy", f"{metrics['mean_class_accuracy']:.2%}"),
        ("videos listed / found / missing", f"{data['listed']} / {data['found']} / {data['missing']}"),
        ("evaluated / unreadable", f"{data['evaluated']} / {data['unreadable']}"),
        ("views", "x".join(map(str, report["protocol"]["views"]))),
        ("time: wall / decode / model", f"{timing['wall_s']:.1f} s / {timing['decode_s']:.1f} s / "
                                        f"{timing['model_s']:.1f} s"),
        ("videos/s", f"{timing['videos_per_s']:.2f}"),
    ]
    if data["not_reached"]:
        rows.append(("not evaluated (--limit)", str(data["not_reached"])))
    for pair in metrics["confused_pairs"][:3]:
        rows.append(("confused", f"{pair['true']} -> {pair['predicted']} ({pair['count']})"))
    for row in rows:
        table.add_row(*row)
    console.print_wide(table)
    for bad in data["unreadable_files"]:
        console.warning(f"unreadable: {bad['error']}")
    console.info(f"wrote {out / 'report.json'} and {out / 'predictions.jsonl'}")
