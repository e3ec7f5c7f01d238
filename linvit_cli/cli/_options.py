"""Option types shared by the commands, declared once (the `hf` CLI's `_cli_utils` pattern)."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Annotated

import typer

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


def command_line(ctx: typer.Context) -> str:
    """The options given on the command line, as a command to paste (for logs, reports and entries' meta)."""
    words = ["linvit", ctx.info_name or ""]
    for param in ctx.command.params:
        source = ctx.get_parameter_source(param.name)
        if source is None or source.name != "COMMANDLINE":  # Typer vendors its own Click: compare by name
            continue
        value = ctx.params[param.name]
        if getattr(param, "is_flag", False):
            words.append(param.opts[0] if value else (param.secondary_opts or param.opts)[0])
        else:  # a repeatable option gives a list; an option of several values (nargs > 1), a tuple
            for item in value if getattr(param, "multiple", False) else [value]:
                words += [param.opts[0], *(map(str, item) if param.nargs != 1 else [str(item)])]
    return shlex.join(words)


DeviceOpt = Annotated[str, typer.Option("--device", help="auto, cpu, cuda or cuda:N.")]
DtypeOpt = Annotated[str, typer.Option("--dtype", help="float32, bfloat16 or float16 (autocast).")]
ViewsOpt = Annotated[
    str | None, typer.Option("--views", help="Test views CLIPSxCROPS instead of the model's protocol, e.g. 4x3.")
]
FastOpt = Annotated[bool, typer.Option("--fast", help="One view per video: the centre clip's centre crop (1x1).")]
WorkersOpt = Annotated[
    int, typer.Option("--workers", help="DataLoader processes decoding videos (0: decode in this process).")
]
ViewBatchOpt = Annotated[
    int | None, typer.Option("--view-batch", help="Views per forward pass (default: 1 on a CPU, 4 on a GPU).")
]
TopKOpt = Annotated[int, typer.Option("--top-k", "-k", help="Labels to show per video (per window in a timeline).")]


def one_output(as_json: bool, as_jsonl: bool) -> None:
    """--json and --jsonl exclude each other."""
    from ..errors import UsageError

    if as_json and as_jsonl:
        raise UsageError("--json and --jsonl both choose the output; give one of them")
