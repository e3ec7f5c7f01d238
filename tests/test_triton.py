"""The Triton kernels of VideoMamba's mixer: through Triton's interpreter in CI, compiled for an H100 without
one, and on a GPU where there is one (`cuda`).

Triton reads `TRITON_INTERPRET` once, when it is imported, so the interpreted tests (`triton_interpreted.py`)
run in a process of their own that has it from the start; this process and every other test never see it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from mixers import perturbed_mixer, plain_float64, relative_error

from linvit_cli import kernels
from linvit_cli.kernels.triton import load
from linvit_cli.models.architectures import create_model

pytest.importorskip("triton")

HERE = Path(__file__).resolve().parent
needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")


def interpreted() -> bool:
    """Whether Triton was imported into this process under TRITON_INTERPRET=1."""
    import triton.language as tl

    return type(tl.zeros).__name__ == "InterpretedFunction"


@pytest.mark.skipif(kernels.triton_interpreted(), reason="this process is the interpreter's own")
def test_the_kernels_match_the_float64_plain_path_in_triton_s_interpreter():
    env = {**os.environ, "TRITON_INTERPRET": "1"}
    env.pop(kernels.ENV_VAR, None)
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           str(HERE / "triton_interpreted.py")],
                          cwd=HERE.parent, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]
    assert " passed" in done.stdout and "skipped" not in done.stdout


def test_triton_on_a_cpu_without_the_interpreter_is_one_line_and_exit_code_2(monkeypatch, run_cli):
    monkeypatch.setenv(kernels.ENV_VAR, "triton")
    monkeypatch.delenv("TRITON_INTERPRET", raising=False)
    done = run_cli("classify", HERE.parent / "examples" / "clockwise.mp4", "--model", "lvit-demo")
    assert done.code == 2
    assert done.err == ("Error: LINVIT_KERNELS=triton needs a CUDA device, or TRITON_INTERPRET=1 to run its "
                        "kernels on the CPU (slowly, for tests)\n")


@pytest.mark.parametrize("ones", [False, True])
def test_the_kernels_compile_for_an_h100(ones):
    """Triton's compiler down to an sm_90 binary, which needs no GPU: what the interpreter does not check.

    Activations in bfloat16 (autocast's), weights and the scan's summaries in float32. Triton compiles an
    integer argument equal to 1 as a constant: `ones` compiles the kernels as one view of one token runs them.
    """
    if interpreted():
        pytest.skip("Triton was imported under TRITON_INTERPRET=1")
    from triton.backends.compiler import GPUTarget
    from triton.compiler import ASTSource, compile

    mixer, norm = load("mixer"), load("norm")
    activations = {"x", "u", "z", "out", "branch", "normed", "u_fwd", "u_bwd", "delta_fwd", "delta_bwd", "B_fwd",
                   "B_bwd", "C_fwd", "C_bwd"}
    scalars = {"batch", "length", "channels", "n_state", "sel_row", "z_row", "segment", "x_row", "plane"}
    single = {"batch": 1, "length": 1, "segment": 1} if ones else {}
    for kernel, constants in ((mixer.causal_conv_silu, {"WIDTH": 4, "BLOCK_L": 32, "BLOCK_D": 64}),
                              (mixer.scan_summaries, {"BLOCK_D": 32, "BLOCK_N": 16}),
                              (mixer.scan_outputs, {"BLOCK_D": 32, "BLOCK_N": 16}),
                              (norm.add_rms_norm, {"BLOCK_C": 512})):
        constants = {**constants, **{k: v for k, v in single.items() if k in kernel.arg_names}}
        signature = {name: "constexpr" if name in constants else "i32" if name in scalars else
                     "fp32" if name == "eps" else "*bf16" if name in activations else "*fp32"
                     for name in kernel.arg_names}
        binary = compile(ASTSource(kernel, signature, constants), target=GPUTarget("cuda", 90, 32))
        assert binary.asm["cubin"]


# --- on a GPU --------------------------------------------------------------------------------------------


@pytest.mark.cuda
@needs_cuda
def test_auto_takes_triton_on_cuda(monkeypatch):
    monkeypatch.delenv(kernels.ENV_VAR, raising=False)
    assert kernels.choose("cuda") == ("triton", "auto: CUDA, Triton installed")


@pytest.mark.cuda
@needs_cuda
@pytest.mark.parametrize(("length", "batch"), [(3137, 1), (197, 4), (7, 2)])
def test_cuda_triton_mixer_matches_the_float64_plain_path(length, batch, monkeypatch, triton_launches):
    """VideoMamba-S's widths (C = 384, D = 768): one 16-frame view in many segments, and shorter ones."""
    monkeypatch.setenv(kernels.ENV_VAR, "triton")
    monkeypatch.setattr(torch.backends.cuda.matmul, "allow_tf32", False)
    mixer = perturbed_mixer(384, "weak").cuda()
    x = torch.randn(batch, length, 384, device="cuda")
    with torch.inference_mode():
        out = mixer(x)
        with torch.autocast("cuda", dtype=torch.bfloat16):
            half = mixer(x)
    expected = plain_float64(mixer, x)
    assert triton_launches[0] == "causal_conv_silu" and triton_launches[-1] == "scan_outputs"
    assert relative_error(out, expected) < 1e-4
    assert half.dtype == torch.bfloat16 and relative_error(half, expected) < 3e-2


@pytest.mark.cuda
@needs_cuda
def test_cuda_videomamba_small_matches_the_plain_path(monkeypatch, triton_launches):
    monkeypatch.setenv(kernels.ENV_VAR, "triton")
    monkeypatch.setattr(torch.backends.cuda.matmul, "allow_tf32", False)
    monkeypatch.setattr(torch.backends.cudnn, "allow_tf32", False)
    torch.manual_seed(0)
    model = create_model("videomamba_small", num_frames=8).eval().cuda()
    x = torch.randn(2, 3, 8, 224, 224, device="cuda")
    with torch.inference_mode():
        logits = model(x)
    assert "scan_outputs" in triton_launches and "add_rms_norm" in triton_launches
    assert relative_error(logits, plain_float64(model, x)) < 1e-4
