"""`linvit download-weights`: registry models' pinned Hub files into huggingface_hub's cache, verified."""

from __future__ import annotations

from typing import Annotated

import typer

from ..output import console
from ._options import CacheDirOpt, OfflineOpt, RegistryOpt
from .root import app

EXAMPLES = """Examples:

\b
  linvit download-weights videomamba-s16-k400-f16
  linvit download-weights hf://owner/repo             # an hf:// model: linvit.toml, labels and weights, cached
  linvit download-weights --all --cache-dir /data/hf-cache
  HF_ENDPOINT=https://hf-mirror.example linvit download-weights videomamba-m16-ssv2-mask-f16 --force
"""


@app.command("download-weights", epilog=EXAMPLES)
def download_weights_command(
    names: Annotated[
        list[str] | None, typer.Argument(metavar="NAME", help="Registry models (see `linvit models`) or Hub "
                                         "repositories hf://owner/repo[@revision].")
    ] = None,
    all_models: Annotated[bool, typer.Option("--all", help="Every model with published weights.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Download again even when cached.")] = False,
    cache_dir: CacheDirOpt = None,
    offline: OfflineOpt = False,
    registry: RegistryOpt = None,
) -> None:
    """Download models' weights (or, with --offline, check the cached ones) and verify their sha256.

    Exits 1 when any download or check failed, after trying the others; models without published weights
    are skipped under --all and refused when named.
    """
    from rich.filesize import decimal

    from ..errors import HubError, UsageError, WeightsUnavailableError
    from ..hub import fetch_weights
    from ..registry.load import load_registry
    from ..registry.schema import HubWeights, PackagedWeights
    from ..resolve import resolve_model

    if bool(names) == all_models:
        raise UsageError("name the models to download, or pass --all (not both)")
    reg = load_registry(registry)
    entries = list(reg) if all_models else [resolve_model(name, reg, offline=offline, cache_dir=cache_dir)
                                            for name in dict.fromkeys(names or [])]
    if not all_models:
        unpublished = [entry.name for entry in entries if not entry.has_weights]
        if unpublished:
            raise WeightsUnavailableError(f"no published weights for {', '.join(unpublished)}: their authors "
                                          "released none; train them with `linvit train`")
    failed = 0
    for entry in entries:
        weights = entry.weights
        if not isinstance(weights, HubWeights):
            kind = "packaged with linvit" if isinstance(weights, PackagedWeights) else "unpublished"
            console.result(f"{entry.name}: skipped, weights {kind}")
            continue
        try:
            path = fetch_weights(weights, name=entry.name, offline=offline, cache_dir=cache_dir, force=force)
        except HubError as err:
            console.error(err.cli_message())
            console.result(f"{entry.name}: failed, {weights.file}")
            failed += 1
            continue
        check = "sha256 verified" if weights.sha256 else "sha256 not pinned"
        console.result(f"{entry.name}: ok, {weights.file}, {decimal(path.stat().st_size)}, {check}, {path}")
    if failed:  # each failure has had its own error line
        raise typer.Exit(1)
