"""`linvit classify`: video files in, top-k labels out."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from ..output import console
from ..output.tables import count
from ._options import (
    CacheDirOpt,
    DecodeWorkersOpt,
    DeviceOpt,
    DtypeOpt,
    FastOpt,
    JsonlOpt,
    JsonOpt,
    ModelOpt,
    OfflineOpt,
    OutOpt,
    RegistryOpt,
    ResumeOpt,
    ShardOpt,
    TopKOpt,
    ViewBatchOpt,
    ViewsOpt,
    WeightsOpt,
    checked_model,
    one_output,
    parse_views,
)
from ._paths import paths_from_stdin
from ._runs import Run, build_classifier
from .root import app

if TYPE_CHECKING:
    from ..classifier import Classifier

EXAMPLES = """Examples:

\b
  linvit classify clip.mp4                             # the default model (downloaded on first use)
  linvit classify clip.mp4 --registry run/weights.toml --model my-model   # a model from `linvit train`
  linvit classify clip.mp4 --model hf://owner/repo      # a model repository on the Hub (see `linvit push`)
  linvit classify videos/ --jsonl > labels.jsonl       # a folder, one JSON line per video
  find . -name '*.webm' | linvit classify - --model videomamba-s16-ssv2-f16 --fast
  linvit classify videos/ --out labels.jsonl           # a big folder: JSON lines in a file as they are done
  linvit classify videos/ --out labels.jsonl --resume  # after an interruption: only what the file lacks
  torchrun --nproc-per-node 4 -m linvit_cli classify videos/ --out labels.jsonl   # 4 processes, one file
  linvit classify videos/ --shard 3/8 --out labels.3.jsonl   # shard 3 of 8 (SLURM arrays, indexed jobs)

Exit codes: 0 done, 1 some file could not be read, 2 usage, 130 Ctrl-C (what was written stays whole).
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
    workers: DecodeWorkersOpt = None,
    as_json: JsonOpt = False,
    as_jsonl: JsonlOpt = False,
    out: OutOpt = None,
    resume: ResumeOpt = False,
    shard: ShardOpt = None,
    registry: RegistryOpt = None,
    offline: OfflineOpt = False,
    cache_dir: CacheDirOpt = None,
) -> None:
    """Classify videos and print the top labels of each (exit code 1 if any file could not be read, or was cut
    short: then its labels are of the part that decodes).

    Files are decoded ahead of the model in worker processes and reported in input order; under torchrun
    the processes share the files out and process 0 writes every result, in input order.
    """
    one_output(as_json, as_jsonl)
    run = Run.prepare(out=out, resume=resume, shard=shard, workers=workers, device=device)
    chosen_views = parse_views(views, fast)
    reg, entry = checked_model(model, registry, views=chosen_views, weights=weights, top_k=top_k,
                               view_batch=view_batch, offline=offline, cache_dir=cache_dir)
    from ..classifier import expand_inputs  # torch: once the options are known to be good
    from ..output.progress import counted, per_second

    with run:
        items = run.inputs(lambda: expand_inputs(paths_from_stdin() if inputs == ["-"] else inputs))
        classifier = build_classifier(entry, model is None, weights=weights, registry=reg, device=run.device,
                                      dtype=dtype, views=chosen_views, view_batch=view_batch, top_k=top_k,
                                      offline=offline, cache_dir=cache_dir)
        mine = run.plan(items, key=lambda item: item.path, same={"model": classifier.entry.name,
                                                                "commit": classifier.commit,
                                                                "sampling": classifier.sampling()})
        report = _Report(classifier, run, as_json=as_json, as_jsonl=as_jsonl)
        with run.progress("classifying", unit="videos") as lines:
            # a slow video's views get a line of their own, where this process is the only one
            views = None if run.ctx.active else lines.line("views", 1, count=counted("views"),
                                                          speed=per_second("views"), visible=False).item
            run.consume(classifier.records(mine, workers=run.workers_for(len(mine)), progress=views), report.add)
        code = report.finish()
    raise typer.Exit(code)


class _Report:
    """Where the records go on process 0: stderr for errors and warnings, stdout as tables or JSON, --out."""

    def __init__(self, classifier: Classifier, run: Run, *, as_json: bool, as_jsonl: bool) -> None:
        self.classifier, self.run, self.as_json, self.as_jsonl = classifier, run, as_json, as_jsonl
        self.human = not (as_json or as_jsonl or run.out is not None)
        self.records: list[dict[str, Any]] = []  # kept only for --json
        self.videos = self.failed = self.cut = 0
        entry = classifier.entry
        if entry.caution and self.human and run.main:  # in JSON, each record carries it
            from ..output.tables import caution_note

            console.stdout.print(caution_note(entry.name, entry.caution))

    def add(self, record: dict[str, Any]) -> None:
        """Errors and warnings to stderr at once; the record to --out, and to stdout as a table or a JSON line:
        to every output or (a Ctrl-C waits until it is done) to none."""
        from ..interrupts import held
        from ..output.tables import header, predictions

        with held():
            self.videos += 1
            self.failed += not record["ok"]
            self.cut += record["ok"] and not record["complete"]  # classified from what decodes, as timeline does
            if not record["ok"]:
                console.error(record["error"])
            for warning in record.get("warnings", []):
                console.warning(f"{record['file']}: {warning}")
            self.run.write(record)
            if self.as_jsonl:
                console.json_line(record)
            elif self.as_json:
                self.records.append(record)
            elif record["ok"] and self.human:
                console.stdout.print(header(record))
                console.stdout.print(predictions(record))
                console.stdout.print()

    def finish(self) -> int:
        """The --json document and the closing line; the exit code (raises `Interrupted` after a Ctrl-C)."""
        run = self.run
        if not run.main:
            return 0
        if self.as_json:
            console.json_document({"model": self.classifier.entry.name, "commit": self.classifier.commit,
                                   "results": self.records, "complete": not run.interrupted,
                                   "summary": {"videos": self.videos, "ok": self.videos - self.failed,
                                               "failed": self.failed, "cut_short": self.cut}})
        cut = f", {self.cut} of them cut short" if self.cut else ""
        return run.finish(f"{self.videos - self.failed} of {count(self.videos, 'video')} classified, {self.failed} "
                          f"failed{cut}", failed=self.failed + self.cut > 0,
                          quiet=self.as_json or (self.videos <= 1 and run.out is None),
                          stopped=f"interrupted after {self.videos} of {count(len(run.todo), 'video')}")
