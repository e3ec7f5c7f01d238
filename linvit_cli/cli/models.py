"""`linvit models`: the registry as a table (or JSON); with `--hub`, the linvit models on the Hub."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich import box
from rich.table import Table

from ..output import console
from ._options import CacheDirOpt, JsonOpt, RegistryOpt
from .root import app


@app.command("models")
def models_command(
    registry: RegistryOpt = None, cache_dir: CacheDirOpt = None, as_json: JsonOpt = False,
    hub: Annotated[bool, typer.Option("--hub", help="List the Hub's linvit models instead (library_name: linvit), "
                                      "most downloaded first; run one with --model hf://OWNER/REPO.")] = False,
    limit: Annotated[int, typer.Option("--limit", help="With --hub: at most this many models.")] = 50,
) -> None:
    """List the models linvit knows: parameters, frames, test views, dataset, weights (and whether cached); with
    --hub, the linvit models on the Hub."""
    if hub:
        _hub_models(limit, as_json)
        return
    from ..hub import is_cached
    from ..registry.load import load_registry
    from ..registry.params import parameter_counts
    from ..registry.schema import HubWeights, PackagedWeights

    reg = load_registry(registry)
    params = parameter_counts(reg)
    rows = []
    for entry in reg:
        cached = None  # only Hub weights can be missing from the disk
        if isinstance(entry.weights, HubWeights):
            cached = is_cached(entry.weights, cache_dir) is not None
            weights = "hub (cached)" if cached else "hub"
        elif isinstance(entry.weights, PackagedWeights):
            weights = "packaged"
        else:
            weights = "unpublished"
        rows.append({
            "name": entry.name,
            "default": entry.name == reg.default,
            "arch": entry.arch,
            "params": params[entry.name],
            "frames": entry.protocol.frames,
            "views": f"{entry.protocol.views[0]}x{entry.protocol.views[1]}",
            "dataset": entry.dataset,
            "top1": entry.meta.get("top1"),
            "weights": weights,
            "cached": cached,
            "caution": entry.caution,
        })
    if as_json:
        console.stdout.print_json(json.dumps({"default": reg.default, "models": rows}))
        return
    notes = [f"{row['name']}: {row['caution']}" for row in rows if row["caution"]]
    table = Table(title="linvit models", title_justify="left", caption="\n".join(
        [f"* default model: {reg.default}", *notes]), caption_justify="left", box=box.SIMPLE_HEAD)
    table.add_column("name", no_wrap=True)  # names are what users copy: never cut or folded
    for column, justify in (("params", "right"), ("frames", "right"), ("views", "right"), ("dataset", "left"),
                            ("top-1", "right"), ("weights", "left")):
        table.add_column(column, justify=justify, overflow="fold")
    for row in rows:
        name = f"{row['name']} *" if row["default"] else row["name"]
        top1 = "" if row["top1"] is None else f"{row['top1']:.1f}"
        table.add_row(name, f"{row['params'] / 1e6:.1f}M", str(row["frames"]), row["views"], row["dataset"],
                      top1, row["weights"])
    console.print_wide(table)


def _hub_models(limit: int, as_json: bool) -> None:
    from ..hub_repo import list_hub_models

    rows = list_hub_models(limit)
    if as_json:
        console.stdout.print_json(json.dumps({"models": rows}))
        return
    table = Table(title="linvit models on the Hub", title_justify="left", box=box.SIMPLE_HEAD,
                  caption="run one with: linvit classify VIDEO --model NAME")
    table.add_column("name", no_wrap=True)
    for column in ("downloads", "likes", "updated"):
        table.add_column(column, justify="right")
    for row in rows:
        table.add_row(row["name"] + (" (private)" if row["private"] else ""),
                      *("" if row[key] is None else str(row[key]) for key in ("downloads", "likes", "updated")))
    console.print_wide(table)
