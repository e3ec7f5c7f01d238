"""VideoMamba's token mixer: one Mamba layer that scans the sequence in both directions.

The authors' checkpoints come from their fork of `mamba_ssm` ("bimamba v2"): `in_proj` (giving x and the
gate z) and `out_proj` are shared, while each direction has its own causal depthwise convolution, its own
projections to (delta, B, C), its own A and its own D. Their sum, not their mean, goes through `out_proj`.

Three traps of the authors' stack are avoided here (docs/videomamba.md#traps): their slow path drops the
backward scan, upstream `mamba_ssm` has no backward weights at all, and the gate applies to the D skip
too: a direction's output is (scan + D u) * SiLU(z).

The two directions run side by side: the tokens are reversed once for the backward direction and stacked
under the forward ones, and from there every stage (convolution, projections, step sizes, scan, D skip)
is one operation over both, each direction with its own weights.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ... import kernels
from ...kernels.numba import bimamba as numba_mixer
from ...kernels.triton import bimamba as triton_mixer
from ..layers import Linear
from .causal_conv import causal_depthwise_conv
from .selective_scan import selective_scan
from .softplus import softplus


class SelectiveSSM(nn.Module):
    """The weights of one scan direction: causal conv, the selection (delta, B, C from the token), A, D.

    `BidirectionalMamba` applies both directions' weights together; `conv` keeps the layout of the
    checkpoints' nn.Conv1d, (D, 1, K), while the convolution itself runs in `causal_depthwise_conv`.

    Args:
        d_inner: channels D of the scanned sequence.
        d_state: state size N per channel.
        d_conv: width K of the causal depthwise convolution.
        dt_rank: rank R of the low-rank projection that produces delta.
    """

    def __init__(self, d_inner: int, d_state: int, d_conv: int, dt_rank: int) -> None:
        super().__init__()
        self.d_state = d_state
        self.dt_rank = dt_rank
        self.conv = nn.Conv1d(d_inner, d_inner, d_conv, groups=d_inner)
        self.selection_proj = Linear(d_inner, dt_rank + 2 * d_state, bias=False)
        self.delta_proj = Linear(dt_rank, d_inner)
        self.A_log = nn.Parameter(torch.empty(d_inner, d_state))
        self.D = nn.Parameter(torch.empty(d_inner))
        self.reset_parameters()

    def reset_parameters(self, dt_min: float = 1e-3, dt_max: float = 1e-1) -> None:
        """Mamba's initialisation: A = -(1..N), D = 1, step sizes log-uniform in [dt_min, dt_max]."""
        with torch.no_grad():
            n = torch.arange(1, self.d_state + 1, dtype=torch.float32, device=self.A_log.device)
            self.A_log.copy_(torch.log(n).expand_as(self.A_log))
            self.D.fill_(1.0)
            bound = self.dt_rank**-0.5
            nn.init.uniform_(self.delta_proj.weight, -bound, bound)
            dt = torch.empty_like(self.delta_proj.bias).uniform_(math.log(dt_min), math.log(dt_max)).exp()
            self.delta_proj.bias.copy_(dt + torch.log(-torch.expm1(-dt)))  # softplus^-1(dt)


class BidirectionalMamba(nn.Module):
    """VideoMamba's bidirectional Mamba mixer (arXiv 2403.06977), (B, L, C) -> (B, L, C).

    Args:
        dim: channels C of the residual stream.
        d_state: state size N per channel (16).
        d_conv: causal convolution width (4).
        expand: inner channels D = expand * C (2).
        dt_rank: rank of the delta projection; default ceil(C / 16).
    """

    def __init__(self, dim: int, *, d_state: int = 16, d_conv: int = 4, expand: int = 2,
                 dt_rank: int | None = None) -> None:
        super().__init__()
        d_inner = expand * dim
        dt_rank = dt_rank or math.ceil(dim / 16)
        self.in_proj = Linear(dim, 2 * d_inner, bias=False)
        self.forward_ssm = SelectiveSSM(d_inner, d_state, d_conv, dt_rank)
        self.backward_ssm = SelectiveSSM(d_inner, d_state, d_conv, dt_rank)
        self.out_proj = Linear(d_inner, dim, bias=False)

    def ungated(self, hidden: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Each direction's scan plus its D skip, both (B, L, D) in token order, and the gate input z."""
        x, z = self.in_proj(hidden).chunk(2, dim=-1)  # B L D each
        batch, length, channels = x.shape
        both = (self.forward_ssm, self.backward_ssm)
        per_direction = (2, batch, length, channels)
        # 2 B L D: the forward direction's tokens, then the backward direction's, last token first
        tokens = torch.cat([x, x.flip(1)]).view(per_direction)
        taps = torch.stack([ssm.conv.weight.squeeze(1).t() for ssm in both]).unsqueeze(1)  # 2 1 K D
        bias = torch.stack([ssm.conv.bias for ssm in both]).unsqueeze(1)  # 2 1 D
        u = F.silu(causal_depthwise_conv(tokens, taps, bias)).view(2, batch * length, channels)
        rank, n = self.forward_ssm.dt_rank, self.forward_ssm.d_state
        dt, B, C = linear_pair(u, [ssm.selection_proj for ssm in both]).split([rank, n, n], dim=-1)
        delta = softplus(linear_pair(dt, [ssm.delta_proj for ssm in both]))  # 2 BL D
        wide = torch.promote_types(self.forward_ssm.A_log.dtype, torch.float32)
        A = -torch.exp(torch.stack([ssm.A_log for ssm in both]).to(wide))  # 2 D N
        # one scan over 2B sequences: one walk over L for both directions
        sequences = (2 * batch, length)
        y = selective_scan(u.view(*sequences, channels), delta.view(*sequences, channels),
                           A.repeat_interleave(batch, dim=0), B.reshape(*sequences, n), C.reshape(*sequences, n))
        D = torch.stack([ssm.D for ssm in both])[:, None, None]  # 2 1 1 D
        ys = torch.addcmul(y.view(per_direction), u.view(per_direction), D)
        return ys[0], ys[1].flip(1), z

    def branches(self, hidden: Tensor) -> tuple[Tensor, Tensor]:
        """The two directions' gated outputs (B, L, D), both in token order, before they are summed."""
        y_fwd, y_bwd, z = self.ungated(hidden)
        gate = F.silu(z)
        return y_fwd * gate, y_bwd * gate

    def forward(self, hidden: Tensor) -> Tensor:
        backend = kernels.backend(hidden.device)
        if backend == "numba" and numba_mixer.applies(self, hidden):
            return numba_mixer.forward(self, hidden)
        if backend == "triton" and triton_mixer.applies(self, hidden):
            return triton_mixer.forward(self, hidden)
        y_fwd, y_bwd, z = self.ungated(hidden)
        return self.out_proj((y_fwd + y_bwd) * F.silu(z))  # both directions share the gate


def linear_pair(x: Tensor, layers: list[nn.Linear]) -> Tensor:
    """Two Linear layers, one per half of x (2, M, in), as one batched product: (2, M, out)."""
    weight = torch.stack([layer.weight for layer in layers]).transpose(1, 2)  # 2 in out
    if layers[0].bias is None:
        return torch.bmm(x, weight)
    return torch.baddbmm(torch.stack([layer.bias for layer in layers]).unsqueeze(1), x, weight)
