"""Mixers off their initialisation and the float64 plain path: what the kernels' tests compare against."""

from __future__ import annotations

import copy

import pytest
import torch

from linvit_cli import kernels
from linvit_cli.models.videomamba.bimamba import BidirectionalMamba


def perturbed_mixer(dim: int, decay: str) -> BidirectionalMamba:
    """A mixer off its initialisation; strong decay forgets within a few tokens, weak decay remembers."""
    torch.manual_seed(dim)
    mixer = BidirectionalMamba(dim).eval()
    with torch.no_grad():
        for p in mixer.parameters():
            p.add_(0.2 * torch.randn_like(p))
        for ssm in (mixer.forward_ssm, mixer.backward_ssm):
            ssm.A_log.add_(3.0 if decay == "strong" else -3.0)
            ssm.delta_proj.bias.add_(2.0 if decay == "strong" else -2.0)
    return mixer


def one_direction(mixer: BidirectionalMamba, kept: str) -> BidirectionalMamba:
    """The mixer with the other direction's read-out (C) and D skip zeroed: its output is the kept one's alone."""
    silenced = mixer.backward_ssm if kept == "forward" else mixer.forward_ssm
    with torch.no_grad():
        silenced.selection_proj.weight[silenced.dt_rank + silenced.d_state :] = 0
        silenced.D.zero_()
    return mixer


def plain_float64(module: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    """A float64 copy of `module` on the plain-PyTorch path (`LINVIT_KERNELS=torch`), applied to x."""
    with pytest.MonkeyPatch.context() as scope, torch.inference_mode():
        scope.setenv(kernels.ENV_VAR, "torch")
        return copy.deepcopy(module).double()(x.double())


def relative_error(actual: torch.Tensor, expected: torch.Tensor) -> float:
    """max |actual - expected| / max |expected|."""
    return ((actual.double() - expected.double()).abs().max() / expected.double().abs().max()).item()
