"""VideoMamba's token mixer: one Mamba layer that scans the sequence in both directions.

The authors' checkpoints come from their fork of `mamba_ssm` ("bimamba v2"): `in_proj` (giving x and the
gate z) and `out_proj` are shared, while each direction has its own causal depthwise convolution, its own
projections to (delta, B, C), its own A and its own D. Their sum, not their mean, goes through `out_proj`.

Three traps of the authors' stack are avoided here (WEIGHTS.md section 7): their slow path drops the
backward scan, upstream `mamba_ssm` has no backward weights at all, and the gate applies to the D skip
too: a direction's output is (scan + D u) * SiLU(z).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .selective_scan import selective_scan


class ScanInputs(NamedTuple):
    """What one direction feeds the selective scan, every sequence tensor in that direction's order."""

    u: Tensor  # B L D: convolved and activated input
    delta: Tensor  # B L D: positive step sizes
    A: Tensor  # D N: negative decay rates
    B: Tensor  # B L N: how each token writes into the state
    C: Tensor  # B L N: how each token reads the state


class SelectiveSSM(nn.Module):
    """One scan direction: causal conv, the selection (delta, B, C from the token), A and the D skip.

    Args:
        d_inner: channels D of the scanned sequence.
        d_state: state size N per channel.
        d_conv: width of the causal depthwise convolution.
        dt_rank: rank R of the low-rank projection that produces delta.
    """

    def __init__(self, d_inner: int, d_state: int, d_conv: int, dt_rank: int) -> None:
        super().__init__()
        self.d_state = d_state
        self.dt_rank = dt_rank
        # padded on both ends and cut to the first L outputs: output t sees inputs t-3 .. t only
        self.conv = nn.Conv1d(d_inner, d_inner, d_conv, groups=d_inner, padding=d_conv - 1)
        self.selection_proj = nn.Linear(d_inner, dt_rank + 2 * d_state, bias=False)
        self.delta_proj = nn.Linear(dt_rank, d_inner)
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

    def scan_inputs(self, x: Tensor) -> ScanInputs:
        """Scan inputs from x (B, L, D), given in the order this direction reads the tokens."""
        length = x.shape[1]
        # the convolution wants (B, D, L); everything after it reads u by token, so it is made contiguous
        u = F.silu(self.conv(x.transpose(1, 2))[..., :length]).transpose(1, 2).contiguous()  # B D L -> B L D
        dt, B, C = self.selection_proj(u).split([self.dt_rank, self.d_state, self.d_state], dim=-1)
        delta = F.softplus(self.delta_proj(dt))  # B L D
        A = -torch.exp(self.A_log.to(torch.promote_types(self.A_log.dtype, torch.float32)))
        return ScanInputs(u, delta, A, B, C)

    def gate(self, y: Tensor, u: Tensor, z: Tensor) -> Tensor:
        """This direction's output: the scan plus the D skip, both gated by SiLU(z)."""
        return (y + u * self.D) * F.silu(z)


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
        self.in_proj = nn.Linear(dim, 2 * d_inner, bias=False)
        self.forward_ssm = SelectiveSSM(d_inner, d_state, d_conv, dt_rank)
        self.backward_ssm = SelectiveSSM(d_inner, d_state, d_conv, dt_rank)
        self.out_proj = nn.Linear(d_inner, dim, bias=False)

    def branches(self, hidden: Tensor) -> tuple[Tensor, Tensor]:
        """The two directions' gated outputs (B, L, D), both in token order, before they are summed."""
        x, z = self.in_proj(hidden).chunk(2, dim=-1)  # B L D each
        x_rev, z_rev = x.flip(1), z.flip(1)  # the backward direction reads the last token first
        fwd = self.forward_ssm.scan_inputs(x)
        bwd = self.backward_ssm.scan_inputs(x_rev)
        # One scan over both directions stacked on the batch axis (2B sequences): one walk over L, not two.
        batch = x.shape[0]
        decay_rates = torch.cat([fwd.A.expand(batch, -1, -1), bwd.A.expand(batch, -1, -1)])  # 2B D N
        y = selective_scan(torch.cat([fwd.u, bwd.u]), torch.cat([fwd.delta, bwd.delta]), decay_rates,
                           torch.cat([fwd.B, bwd.B]), torch.cat([fwd.C, bwd.C]))
        y_fwd, y_bwd = y.chunk(2)  # B L D each
        return self.forward_ssm.gate(y_fwd, fwd.u, z), self.backward_ssm.gate(y_bwd, bwd.u, z_rev).flip(1)

    def forward(self, hidden: Tensor) -> Tensor:
        y_fwd, y_bwd = self.branches(hidden)
        return self.out_proj(y_fwd + y_bwd)
