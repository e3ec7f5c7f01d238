"""`linvit convert`: an authors' checkpoint in, our safetensors out."""

from __future__ import annotations

import json
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
    reg = load_registry(registry)
    reg.get(model)  # an unknown model is named before torch is imported
    from ..loading import resolve_entry
    from ..models.architectures import create_model, load_weights
    from ..models.checkpoint import read_state_dict, save_safetensors
    from ..registry.load import load_registry

    arch_name, kwargs, entry = resolve_entry(model, reg)
    source = read_state_dict(src)
    # keep the checkpoint's precision: building in float32 first would round a float64 checkpoint
    dtype = next((v.dtype for v in source.values() if v.is_floating_point()), None)
    net = create_model(arch_name, **kwargs).to(dtype=dtype)
    load_weights(net, arch_name, source, src, adapt)
    state = net.state_dict()
    metadata = {"linvit.model": model, "linvit.arch": arch_name, "linvit.config": json.dumps(kwargs),
                "linvit.source": src.name}
    save_safetensors(state, dst, metadata)
    count = sum(p.numel() for p in net.parameters())
    console.stderr.print(f"wrote {dst} ({len(state)} tensors, {count:,} parameters) for model {model}",
                         markup=False, highlight=False)
