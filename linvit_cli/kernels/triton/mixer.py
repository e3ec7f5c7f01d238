"""The bidirectional Mamba mixer's non-matrix work as Triton kernels: GPU inference, float32 arithmetic.

Inputs and outputs keep the precision they come in (float32, or bfloat16/float16 under autocast); every
sum, exponential and the scan's state are float32, as in `mamba_ssm`'s kernels.

- `causal_conv_silu`: both directions' depthwise convolutions and their SiLU, in one pass over x. The
  backward direction reads the next tokens instead of the previous ones, in token order: nothing is
  reversed or copied.
- `scan_summaries`, `scan_outputs`: the selective scan of both directions with softplus(delta + bias), the
  decays exp(delta A), the recurrence h = exp(delta A) h + delta B u in registers, the read-out C h, the D
  skip and the SiLU gate; the backward direction walks from the last token. The output is
  (y_fwd + y_bwd) * SiLU(z), the input of the output projection.

A scan is sequential in the tokens, and one program per (sequence, block of channels) would leave most of a
GPU idle (VideoMamba-S: 24 programs for one view) while each walks 3,137 tokens. So the tokens are cut into
segments walked side by side. `scan_summaries` walks every segment from a zero state and keeps, per
direction, the state it ends in and the product of its decays; `scan_outputs` starts each segment from the
state that the segments before it (in that direction's order) hand on, chained from those summaries, walks
it again and reads out. One program of `scan_outputs` does both directions of its segment: the forward walk
writes its read-out to `partial` (float32), the backward walk adds it, gates and writes the output.
"""

from __future__ import annotations

import triton
import triton.language as tl


@triton.jit
def _silu(x):
    return x / (1.0 + tl.exp(-x))


@triton.jit
def _softplus(x):
    """`F.softplus` (threshold 20): max(x, 0) + log1p(t), t = e^-|x|, with log1p(t) = log(s) - ((s - 1) - t) / s,
    s = 1 + t: the second term puts back what rounding s lost (there is no log1p in every Triton backend)."""
    t = tl.exp(-tl.abs(x))
    s = 1.0 + t
    return tl.where(x > 20.0, x, tl.maximum(x, 0.0) + tl.log(s) - ((s - 1.0) - t) / s)


@triton.jit
def causal_conv_silu(x, taps_fwd, taps_bwd, bias_fwd, bias_bwd, u, plane, length, channels, x_row,
                     WIDTH: tl.constexpr, BLOCK_L: tl.constexpr, BLOCK_D: tl.constexpr):
    """u[0, b, t] = SiLU(bias_fwd + sum_k taps_fwd[:, k] x[b, t - (K - 1 - k)]); u[1] the same with
    taps_bwd and the next tokens, x[b, t + (K - 1 - k)].

    x: (B, L, D), rows `x_row` elements apart (the first half of the input projection); taps: (D, 1, K) as
    nn.Conv1d holds them; bias: (D,); u: (2, B, L, D) contiguous, written, `plane` = B L D elements apart.
    Grid: (token blocks, channel blocks, B).
    """
    b = tl.program_id(2).to(tl.int64)
    t = tl.program_id(0) * BLOCK_L + tl.arange(0, BLOCK_L)
    d = tl.program_id(1) * BLOCK_D + tl.arange(0, BLOCK_D)
    in_d = d < channels
    zero = tl.zeros([BLOCK_L, BLOCK_D], tl.float32)
    fwd = zero + tl.load(bias_fwd + d, mask=in_d, other=0.0).to(tl.float32)[None, :]
    bwd = zero + tl.load(bias_bwd + d, mask=in_d, other=0.0).to(tl.float32)[None, :]
    rows = x + b * length * x_row
    for k in tl.static_range(WIDTH):
        back = WIDTH - 1 - k  # tokens between the tap's input and the output token
        earlier, later = t - back, t + back
        seen = (earlier >= 0) & (earlier < length)
        x_earlier = tl.load(rows + earlier[:, None] * x_row + d[None, :], mask=seen[:, None] & in_d[None, :],
                            other=0.0)
        fwd += x_earlier.to(tl.float32) * tl.load(taps_fwd + d * WIDTH + k, mask=in_d, other=0.0).to(tl.float32)
        seen = later < length
        x_later = tl.load(rows + later[:, None] * x_row + d[None, :], mask=seen[:, None] & in_d[None, :], other=0.0)
        bwd += x_later.to(tl.float32) * tl.load(taps_bwd + d * WIDTH + k, mask=in_d, other=0.0).to(tl.float32)
    out = u + (b * length + t[:, None]) * channels + d[None, :]
    inside = (t < length)[:, None] & in_d[None, :]
    tl.store(out, _silu(fwd).to(u.dtype.element_ty), mask=inside)
    tl.store(out + plane, _silu(bwd).to(u.dtype.element_ty), mask=inside)


@triton.jit
def _step(h, A, bias, u, delta, B, row, d, n, in_d, in_n, channels, sel_row):
    """One token of the recurrence: (h_t, delta_t, u_t) from h_{t-1}; `row` = b * L + t."""
    delta_t = _softplus(tl.load(delta + row * channels + d, mask=in_d, other=0.0).to(tl.float32) + bias)
    u_t = tl.load(u + row * channels + d, mask=in_d, other=0.0).to(tl.float32)
    b_t = tl.load(B + row * sel_row + n, mask=in_n, other=0.0).to(tl.float32)
    decay = tl.exp(delta_t[:, None] * A)
    return decay * h + (delta_t * u_t)[:, None] * b_t[None, :], decay, u_t


@triton.jit
def _direction(A_log, bias, d, n, in_d, in_n, n_state):
    """A = -exp(A_log) as (D block, N), and the step sizes' bias, of one direction."""
    mask = in_d[:, None] & in_n[None, :]
    A = -tl.exp(tl.load(A_log + d[:, None] * n_state + n[None, :], mask=mask, other=0.0).to(tl.float32))
    return A, tl.load(bias + d, mask=in_d, other=0.0).to(tl.float32)


@triton.jit
def _summarise(u, delta, bias, A_log, B, ends, decays, summary, b, start, steps, length, channels, n_state, sel_row,
               BACKWARD: tl.constexpr, BLOCK_D: tl.constexpr, BLOCK_N: tl.constexpr):
    """Walk one segment from a zero state; store its end state and the product of its decays at `summary`."""
    d = tl.program_id(1) * BLOCK_D + tl.arange(0, BLOCK_D)
    n = tl.arange(0, BLOCK_N)
    in_d, in_n = d < channels, n < n_state
    A, bias = _direction(A_log, bias, d, n, in_d, in_n, n_state)
    h = tl.zeros([BLOCK_D, BLOCK_N], tl.float32)
    product = tl.full([BLOCK_D, BLOCK_N], 1.0, tl.float32)
    for i in range(steps):
        t = start + steps - 1 - i if BACKWARD else start + i
        h, decay, _ = _step(h, A, bias, u, delta, B, b * length + t, d, n, in_d, in_n, channels, sel_row)
        product *= decay
    at = summary * channels * n_state + d[:, None] * n_state + n[None, :]
    mask = in_d[:, None] & in_n[None, :]
    tl.store(ends + at, h, mask=mask)
    tl.store(decays + at, product, mask=mask)


@triton.jit
def scan_summaries(u_fwd, u_bwd, delta_fwd, delta_bwd, bias_fwd, bias_bwd, A_log_fwd, A_log_bwd, B_fwd, B_bwd,
                   ends, decays, batch, length, channels, n_state, sel_row, segment,
                   BLOCK_D: tl.constexpr, BLOCK_N: tl.constexpr):
    """Per direction, sequence and segment: the state a walk from zero ends in, and the product of the decays.

    u_*, delta_*: (B, L, D) contiguous, the scanned inputs and the step sizes before bias and softplus;
    bias_*: (D,); A_log_*: (D, N); B_*: (B, L, N), rows `sel_row` apart (views of the selection projection);
    ends, decays: (2, B, S, D, N) float32, written (the forward direction's last segment and the backward
    one's first are never needed and stay unwritten). Grid: (S, channel blocks, 2 B).
    """
    s = tl.program_id(0)
    segments = tl.num_programs(0)
    b = (tl.program_id(2) // 2).to(tl.int64)
    start = s * segment
    steps = tl.minimum(start + segment, length) - start
    if tl.program_id(2) % 2 == 0:
        if s < segments - 1:
            _summarise(u_fwd, delta_fwd, bias_fwd, A_log_fwd, B_fwd, ends, decays, b * segments + s, b, start,
                       steps, length, channels, n_state, sel_row, False, BLOCK_D, BLOCK_N)
    else:
        if s > 0:
            _summarise(u_bwd, delta_bwd, bias_bwd, A_log_bwd, B_bwd, ends, decays, (batch + b) * segments + s, b,
                       start, steps, length, channels, n_state, sel_row, True, BLOCK_D, BLOCK_N)


@triton.jit
def _read_out(u, delta, bias, A_log, B, C, skip, z, ends, decays, partial, out, b, s, segments, first_summary,
              start, steps, length, channels, n_state, sel_row, z_row,
              BACKWARD: tl.constexpr, BLOCK_D: tl.constexpr, BLOCK_N: tl.constexpr):
    """One direction over one segment, from the state the segments before it hand on.

    Forward: partial[t] = C_t h_t + D u_t. Backward: out[t] = (C_t h_t + D u_t + partial[t]) * SiLU(z_t).
    """
    d = tl.program_id(1) * BLOCK_D + tl.arange(0, BLOCK_D)
    n = tl.arange(0, BLOCK_N)
    in_d, in_n = d < channels, n < n_state
    A, bias = _direction(A_log, bias, d, n, in_d, in_n, n_state)
    skip = tl.load(skip + d, mask=in_d, other=0.0).to(tl.float32)
    mask = in_d[:, None] & in_n[None, :]
    state = d[:, None] * n_state + n[None, :]
    h = tl.zeros([BLOCK_D, BLOCK_N], tl.float32)
    handed_on = segments - 1 - s if BACKWARD else s
    for j in range(handed_on):  # the segments before this one, in walking order
        if BACKWARD:
            at = (first_summary + segments - 1 - j) * channels * n_state + state
        else:
            at = (first_summary + j) * channels * n_state + state
        h = tl.load(decays + at, mask=mask, other=0.0) * h + tl.load(ends + at, mask=mask, other=0.0)
    for i in range(steps):
        t = start + steps - 1 - i if BACKWARD else start + i
        row = b * length + t
        h, _, u_t = _step(h, A, bias, u, delta, B, row, d, n, in_d, in_n, channels, sel_row)
        c_t = tl.load(C + row * sel_row + n, mask=in_n, other=0.0).to(tl.float32)
        y = tl.sum(h * c_t[None, :], axis=1) + skip * u_t
        if BACKWARD:
            y += tl.load(partial + row * channels + d, mask=in_d, other=0.0)
            z_t = tl.load(z + row * z_row + d, mask=in_d, other=0.0).to(tl.float32)
            tl.store(out + row * channels + d, (y * _silu(z_t)).to(out.dtype.element_ty), mask=in_d)
        else:
            tl.store(partial + row * channels + d, y, mask=in_d)


@triton.jit
def scan_outputs(u_fwd, u_bwd, delta_fwd, delta_bwd, bias_fwd, bias_bwd, A_log_fwd, A_log_bwd, B_fwd, B_bwd,
                 C_fwd, C_bwd, skip_fwd, skip_bwd, z, ends, decays, partial, out,
                 batch, length, channels, n_state, sel_row, z_row, segment,
                 BLOCK_D: tl.constexpr, BLOCK_N: tl.constexpr):
    """out = (scan_fwd + D_fwd u_fwd + scan_bwd + D_bwd u_bwd) * SiLU(z), segment by segment.

    As `scan_summaries`, plus C_*: (B, L, N) rows `sel_row` apart; skip_*: (D,) the D skips; z: (B, L, D) rows
    `z_row` apart (the second half of the input projection); ends, decays: `scan_summaries`' output (unread
    with one segment); partial: (B, L, D) float32 scratch, which may be `out` itself; out: (B, L, D)
    contiguous, written. Grid: (S, channel blocks, B).
    """
    s = tl.program_id(0)
    segments = tl.num_programs(0)
    b = tl.program_id(2).to(tl.int64)
    start = s * segment
    steps = tl.minimum(start + segment, length) - start
    _read_out(u_fwd, delta_fwd, bias_fwd, A_log_fwd, B_fwd, C_fwd, skip_fwd, z, ends, decays, partial, out, b, s,
              segments, b * segments, start, steps, length, channels, n_state, sel_row, z_row, False, BLOCK_D,
              BLOCK_N)
    tl.debug_barrier()  # `partial` as written: a thread may read what another one wrote
    _read_out(u_bwd, delta_bwd, bias_bwd, A_log_bwd, B_bwd, C_bwd, skip_bwd, z, ends, decays, partial, out, b, s,
              segments, (batch + b) * segments, start, steps, length, channels, n_state, sel_row, z_row, True,
              BLOCK_D, BLOCK_N)
