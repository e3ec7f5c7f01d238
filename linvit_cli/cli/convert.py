"""`linvit convert`: an authors' checkpoint in, our safetensors out."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..output import console
from ._options import AdaptOpt, RegistryOpt
from ._paths import check_input_file, check_output_file
from .root import app


@app.command("convert", epilog="Example:\n\n\b\n  linvit convert checkpoint_epoch_00040.pyth lvit-k400.safetensors "
             "--model lvit-k400")
def convert_command(
    src: Annotated[Path, typer.Argument(help="The authors' checkpoint (.pyth/.pth) or a safetensors file.")],
    dst: Annotated[Path, typer.Argument(help="Where to write our safetensors file.")],
    model: Annotated[str, typer.Option("--model", "-m", help="Registry model the checkpoint belongs to.")],
    registry: RegistryOpt = None,
    adapt: AdaptOpt = False,
) -> None:
    """Map a checkpoint's keys onto linvit's model, check it loads strictly, and save it as safetensors."""
    from ..registry.load import load_registry

    check_input_file(src, "SRC")
    check_output_file(dst, "DST")
    entry = load_registry(registry).get(model)  # an unknown model is named before torch is imported
    from ..convert import convert_checkpoint

    done = convert_checkpoint(src, dst, entry, adapt=adapt)
    console.info(f"wrote {done.path} ({done.tensors} tensors, {done.parameters:,} parameters) for model {model}")
