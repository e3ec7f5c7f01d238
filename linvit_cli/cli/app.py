"""The `linvit` command: the root Typer app, and the one place that turns errors into exit codes.

Every command module registers itself on `app`; `main()` runs it and maps `LinvitError` to one line on
stderr with its exit code (1 runtime, 2 usage). `LINVIT_DEBUG=1` shows tracebacks instead.
"""

from __future__ import annotations

import os
import sys
import warnings
from typing import Annotated

import typer

from .. import __version__
from ..errors import LinvitError
from ..output import console

app = typer.Typer(
    name="linvit",
    help="Classify videos with linear-complexity video Transformers.\n\n"
    "Environment: LINVIT_REGISTRY (extra weights.toml files), LINVIT_DEBUG=1 (tracebacks), and "
    "huggingface_hub's HF_HOME, HF_HUB_CACHE, HF_HUB_OFFLINE, HF_TOKEN, HF_ENDPOINT.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110},
)


def _print_version(value: bool) -> None:
    if value:
        console.stdout.print(f"linvit {__version__}", markup=False, highlight=False)
        raise typer.Exit(0)


@app.callback()
def _root(version: Annotated[bool, typer.Option("--version", callback=_print_version, is_eager=True,
                                                help="Print linvit's version and exit.")] = False) -> None:
    """Options of `linvit` itself, before the command (the app's help text stays the one above)."""


# Command modules register on `app` when imported.
from . import classify, convert, env, eval, models, push, synth, timeline, train, weights  # noqa: E402,F401


def main(argv: list[str] | None = None) -> None:
    """Entry point of the console script and of `python -m linvit_cli`.

    Typer (in standalone mode) reports bad options itself with exit code 2; commands end with
    `typer.Exit(code)`. Our own errors become one line on stderr with their exit code, in the command line's
    words (`LinvitError.cli_message`: options where the library names parameters).
    """
    debug = os.environ.get("LINVIT_DEBUG", "") not in ("", "0")
    if not debug:  # Python warnings (ours, torch's) as one line each, like linvit's own warnings
        warnings.showwarning = lambda message, *_args, **_kwargs: console.warning(str(message))
    try:
        app(args=argv, prog_name="linvit")
    except LinvitError as err:
        if debug:
            raise
        console.error(err.cli_message())
        sys.exit(err.exit_code)
    except KeyboardInterrupt:
        console.error("interrupted")
        sys.exit(130)
    except Exception as err:  # a bug of ours: still one line, with the way to see more
        if debug:
            raise
        console.error(f"internal error: {type(err).__name__}: {err} (set LINVIT_DEBUG=1 for the traceback)")
        sys.exit(1)
