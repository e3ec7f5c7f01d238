"""The `linvit` command: every command module, registered on the root app (`root.py`), and the one place that
turns errors into exit codes.

`main()` runs the app and maps `LinvitError` to one line on stderr with its exit code (1 runtime, 2 usage).
`LINVIT_DEBUG=1` shows tracebacks instead.
"""

from __future__ import annotations

import os
import sys
import warnings

from .. import allocator, interrupts
from ..errors import LinvitError
from ..output import console

# Command modules register on `app` when imported.
from . import classify, convert, env, eval, models, push, synth, timeline, train, weights  # noqa: F401
from .root import app


def main(argv: list[str] | None = None) -> None:
    """Entry point of the console script and of `python -m linvit_cli`.

    Typer (in standalone mode) reports bad options itself with exit code 2; commands end with
    `typer.Exit(code)`. Our own errors become one line on stderr with their exit code, in the command line's
    words (`LinvitError.cli_message`: options where the library names parameters). Ctrl-C stops the command
    (exit code 130, `Error: interrupted ...`) once per key press, and cannot break what it writes.
    """
    debug = os.environ.get("LINVIT_DEBUG", "") not in ("", "0")
    if not debug:  # Python warnings (ours, torch's) as one line each, like linvit's own warnings
        warnings.showwarning = lambda message, *_args, **_kwargs: console.warning(str(message))
    try:
        allocator.keep_freed_memory()
        with interrupts.once_per_press():
            app(args=argv, prog_name="linvit")
    except SystemExit as done:
        if done.code == 130 and interrupts.received():  # Typer ends an unhandled Ctrl-C without a word
            console.error("interrupted")
        raise
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
