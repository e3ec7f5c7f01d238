"""The root `linvit` command itself: its version option."""

from __future__ import annotations

import subprocess
import sys

from linvit_cli import __version__


def test_version_prints_the_package_version_and_exits_0_without_importing_torch() -> None:
    code = ("import sys; from linvit_cli.cli.app import main\ntry: main(['--version'])\n"
            "except SystemExit as done: print('exit', done.code)\n"
            "print(sorted(m for m in ('torch', 'huggingface_hub') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.splitlines() == [f"linvit {__version__}", "exit 0", "[]"], done.stderr
    assert done.stderr == ""


def test_help_examples_keep_their_lines(run_cli) -> None:
    from linvit_cli.cli.app import app

    commands = {info.name: info.epilog for info in app.registered_commands if info.epilog}
    assert {"classify", "eval", "train", "synth", "timeline", "convert"} <= set(commands)
    for name, epilog in commands.items():
        shown = [line.strip() for line in run_cli(name, "--help").out.splitlines()]
        examples = [line.strip() for line in epilog.splitlines() if line.startswith("  ")]
        assert examples and all(line in shown for line in examples), (name, [x for x in examples if x not in shown])
