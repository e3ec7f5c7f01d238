"""Option types shared by the commands, declared once (the `hf` CLI's `_cli_utils` pattern)."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ..errors import UsageError, at_least
from ..machine import DEFAULT_WORKERS
from ._paths import check_input_file

if TYPE_CHECKING:
    from ..registry.load import Registry
    from ..registry.schema import ModelEntry

ModelOpt = Annotated[
    str | None, typer.Option("--model", "-m", help="Registry model name (see `linvit models`), or a Hub "
                             "repository: hf://owner/repo[@revision].")
]
WeightsOpt = Annotated[
    Path | None,
    typer.Option("--weights", "-w", help="Weights file to use instead of the model's own "
                 "(our safetensors or the authors' checkpoint)."),
]
RegistryOpt = Annotated[
    list[Path] | None,
    typer.Option("--registry", help="Extra weights.toml with models of your own (repeatable; "
                 "also LINVIT_REGISTRY, paths separated by ':')."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document instead of a table.")]
JsonlOpt = Annotated[
    bool, typer.Option("--jsonl", help="Print one JSON line per result as it is done (a video; a timeline's window).")
]
OfflineOpt = Annotated[
    bool, typer.Option("--offline", help="Never use the network; only cached weights (as HF_HUB_OFFLINE=1).")
]
CacheDirOpt = Annotated[
    Path | None, typer.Option("--cache-dir", help="Hub cache folder (default: huggingface_hub's, HF_HOME).")
]
AdaptOpt = Annotated[
    bool, typer.Option("--adapt", help="Interpolate a checkpoint made for another frame count or resolution.")
]


def command_line(ctx: typer.Context, *, public: bool = False, leave_out: tuple[str, ...] = ()) -> str:
    """The options given on the command line, as a command to paste (for logs, reports and entries' meta).

    `public`: for what is published (a pushed model's entry and card): every path becomes a placeholder named
    after its option (`--root ROOT`), and the options `leave_out` names are left out.
    """
    words = ["linvit", ctx.info_name or ""]
    for param in ctx.command.params:
        source = ctx.get_parameter_source(param.name)
        if source is None or source.name != "COMMANDLINE" or public and param.name in leave_out:
            continue  # (Typer vendors its own Click: the source is compared by name)
        value = ctx.params[param.name]
        if getattr(param, "is_flag", False):
            words.append(param.opts[0] if value else (param.secondary_opts or param.opts)[0])
        else:  # a repeatable option gives a list; an option of several values (nargs > 1), a tuple
            for item in value if getattr(param, "multiple", False) else [value]:
                if public and isinstance(item, Path):
                    item = param.name.upper()
                words += [param.opts[0], *(map(str, item) if param.nargs != 1 else [str(item)])]
    return shlex.join(words)


DeviceOpt = Annotated[str, typer.Option("--device", help="auto, cpu, cuda or cuda:N.")]
DtypeOpt = Annotated[str, typer.Option("--dtype", help="float32, bfloat16 or float16 (autocast).")]
ViewsOpt = Annotated[
    str | None, typer.Option("--views", help="Test views CLIPSxCROPS instead of the model's protocol, e.g. 4x3.")
]
FastOpt = Annotated[bool, typer.Option("--fast", help="One view per video: the centre clip's centre crop (1x1).")]


WorkersOpt = Annotated[
    int | None, typer.Option("--workers", help="DataLoader processes decoding videos (0: decode in this process; "
                             f"default: {DEFAULT_WORKERS}, or fewer where fewer CPUs are at hand).", show_default=False)
]
DecodeWorkersOpt = Annotated[
    int | None, typer.Option("--workers", help="Processes decoding videos ahead of the model (default: one per CPU, "
                             "shared among torchrun's processes on a machine; 0: decode in this process).",
                             show_default=False)
]
ViewBatchOpt = Annotated[
    int | None, typer.Option("--view-batch", help="Views per forward pass, views of several videos in one (default: "
                             "1 on a CPU; on a GPU up to 16 views of 16x224x224, more of smaller ones).",
                             show_default=False)
]
OutOpt = Annotated[
    Path | None, typer.Option("--out", "-o", help="Also write one JSON line per result to FILE as each is done "
                              "(refused if FILE exists, unless --resume).", metavar="FILE", show_default=False)
]
ResumeOpt = Annotated[
    bool, typer.Option("--resume", help="Continue --out FILE: skip the inputs it already holds (same model and "
                       "settings), repair a torn last line, append the rest.")
]
ShardOpt = Annotated[
    str | None, typer.Option("--shard", help="Do only shard K of N (inputs K, K+N, K+2N, ...), for schedulers that "
                             "start N processes themselves; each shard with its own --out.", metavar="K/N",
                             show_default=False)
]
TopKOpt = Annotated[int, typer.Option("--top-k", "-k", help="Labels to show per video (per window in a timeline).")]


def one_output(as_json: bool, as_jsonl: bool) -> None:
    """--json and --jsonl exclude each other."""
    if as_json and as_jsonl:
        raise UsageError("--json and --jsonl both choose the output; give one of them")


def parse_views(views: str | None, fast: bool) -> tuple[int, int] | None:
    """`--views CLIPSxCROPS` or `--fast` (1x1) into (clips, crops); None keeps the model's protocol.

    Only the form is checked here; the numbers, against the model's sampling, by `Protocol.check_views`.
    """
    if fast and views:
        raise UsageError("--fast and --views both choose the test views; give one of them")
    if fast:
        return (1, 1)
    if views is None:
        return None
    parts = views.lower().split("x")
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        raise UsageError(f"--views {views}: not CLIPSxCROPS, two whole numbers such as 4x3 or 1x1")
    return int(parts[0]), int(parts[1])


def checked_model(model: str | None, registry: list[Path] | None, *, views: tuple[int, int] | None,
                  weights: Path | None, top_k: int, view_batch: int | None, offline: bool,
                  cache_dir: Path | None) -> tuple[Registry, ModelEntry]:
    """The registry and the model entry of a command that runs a model, with the options about it checked first:
    counts, the --weights file, the test views against the model's sampling (no torch imported yet)."""
    from ..registry.load import load_registry
    from ..resolve import resolve_model

    at_least("top_k", top_k, 1)
    at_least("view_batch", view_batch, 1)
    check_input_file(weights, "--weights")
    reg = load_registry(registry)
    entry = resolve_model(model, reg, offline=offline, cache_dir=cache_dir)
    if views is not None:
        entry.protocol.check_views(views, entry.name)
    return reg, entry
