"""`linvit push`: a trained model (a `linvit train` run folder) to a Hub model repository, in one commit."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..output import console
from ._paths import check_input_file, check_output_folder
from .root import app

EXAMPLES = """Examples:

\b
  linvit push runs/tiny me/lvit-tiny-synth --dry-run out/lvit-tiny-synth      # write the folder, upload nothing
  linvit push runs/tiny me/lvit-tiny-synth --report eval-tiny/report.json --license apache-2.0
  linvit push runs/k400 my-org/lvit-b16-k400 --private --dataset-id kinetics400
  linvit classify clip.mp4 --model hf://me/lvit-tiny-synth                     # then anyone runs it

The token is huggingface_hub's (HF_TOKEN, or `hf auth login`), with write access to the repository's owner.
"""


@app.command("push", epilog=EXAMPLES)
def push_command(
    run: Annotated[Path, typer.Argument(metavar="RUN_DIR", help="The --out folder of `linvit train` (weights.toml, "
                                        "model.safetensors, labels.txt).")],
    repo_id: Annotated[str, typer.Argument(metavar="OWNER/REPO", help="The Hub model repository.")],
    report: Annotated[Path | None, typer.Option("--report", help="report.json of `linvit eval` on these weights: "
                                                "its top-1/top-5 and protocol go into the card.")] = None,
    private: Annotated[bool, typer.Option("--private", help="Create the repository private (an existing one "
                                          "keeps its visibility).")] = False,
    license: Annotated[str | None, typer.Option("--license", help="The weights' license, a Hub license id "
                                                "(default: the entry's meta.license, else unknown).")] = None,
    dataset_ids: Annotated[list[str] | None, typer.Option("--dataset-id", help="Hub dataset id(s) for the card "
                                                          "(repeatable; default: the entry's dataset if it is ssv2, "
                                                          "kinetics400 or kinetics600, else none).")] = None,
    message: Annotated[str | None, typer.Option("--message", help="Commit message.")] = None,
    dry_run: Annotated[Path | None, typer.Option("--dry-run", metavar="DIR", help="Write the files into DIR "
                                                 "instead of uploading them.")] = None,
) -> None:
    """Publish a trained model: a model card (README.md), linvit.toml, labels.txt and model.safetensors, uploaded
    in one commit (the repository is created if needed); prints the commit URL."""
    from ..errors import UsageError
    from ..names import is_repo_id
    from ..publish.folder import repo_folder
    from ..publish.upload import upload

    if not is_repo_id(repo_id):
        raise UsageError(f"'{repo_id}' is not a Hub repository id: give OWNER/REPO, e.g. me/lvit-tiny-synth")
    check_input_file(report, "--report")
    if dry_run is not None:
        check_output_folder(dry_run, "--dry-run")

    folder = repo_folder(run, repo_id, report=report, license=license, datasets=dataset_ids or [])
    if dry_run is not None:
        folder.write(dry_run)
        files = ", ".join(sorted([*folder.texts, "model.safetensors"]))
        console.info(f"wrote {files} into {dry_run}; nothing uploaded")
        return
    url = upload(folder, repo_id, private=private, message=message)
    console.result(url)
    console.info(f"pushed {folder.entry.name} to {repo_id}; run it with: linvit classify VIDEO --model hf://{repo_id}")
