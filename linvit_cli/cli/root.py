"""The root Typer app, on which every command module registers its command (`cli/app.py` imports them all).

A module of its own, so that command modules and `app.py` import it one way.
"""

from __future__ import annotations

from typing import Annotated

import typer

from .. import __version__
from ..output import console

app = typer.Typer(
    name="linvit",
    help="Classify videos with linear-complexity video Transformers.\n\n"
    "Environment: LINVIT_REGISTRY (extra weights.toml files), LINVIT_DEBUG=1 (tracebacks), "
    "LINVIT_KERNELS=auto|numba|torch|triton (the kernel path; torch: plain PyTorch), LINVIT_MATMUL=onednn|blas "
    "(force the CPU matrix-product backend, measured per machine otherwise), LINVIT_MALLOC=system (glibc's "
    "defaults; linvit keeps freed memory for reuse otherwise), LINVIT_CACHE (linvit's cache "
    "folder), and "
    "huggingface_hub's HF_HOME, HF_HUB_CACHE, HF_HUB_OFFLINE, HF_TOKEN, HF_ENDPOINT, HF_HUB_ETAG_TIMEOUT.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110},
)


def _print_version(value: bool) -> None:
    if value:
        console.result(f"linvit {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(version: Annotated[bool, typer.Option("--version", callback=_print_version, is_eager=True,
                                                help="Print linvit's version and exit.")] = False) -> None:
    """Options of `linvit` itself, before the command (the app's help text stays the one above)."""
