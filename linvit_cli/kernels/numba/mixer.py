"""The bidirectional Mamba mixer's non-matrix work as two numba kernels, for CPU inference in float32.

Between its input and output projections the mixer does little arithmetic per byte (a short convolution,
SiLU, softplus, the scan, the D skip and the gate), so operator-at-a-time PyTorch spends its time passing
(B, L, D) tensors through memory and, in the scan, on thousands of tiny dependent steps. Here:

- `causal_conv_silu`: both directions' depthwise convolutions and their SiLU, in one pass over x. The
  backward direction is computed in token order (its convolution reads the next tokens instead of the
  previous ones), so the tokens are never reversed and copied.
- `bidirectional_scan`: for `LANES` channels at a time, softplus(delta + bias), the decays
  exp(delta A) (as 2^(delta A log2 e), `vector_math.decay`), the recurrence h = exp(delta A) h + delta B u,
  the read-out C h, the D skip, both directions (the backward one walking the tokens from the end) and the
  SiLU gate. It writes (y_fwd + y_bwd) * SiLU(z), the input of the output projection.

`LANES` is four vector registers of the instruction set numba compiles for (64 channels with AVX-512, 32
with AVX2, 16 with 128-bit vectors): enough independent states per step to hide the latency of each step's
exponentials and products, few enough that a step's working values stay in registers (AVX2 has 16 of them,
AVX-512 32). benchmarks/FINDINGS.md has the measurements.

Importing this module compiles both (explicit signatures; numba caches the machine code on disk, keyed by
the target's features, from which `LANES` follows).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ...machine import numba_vector_lanes
from .vector_math import FASTMATH, decay, silu, softplus

LANES = 4 * numba_vector_lanes()  # channels scanned together; the mixer's width D must be a multiple of it
_ROWS = 64  # tokens per task of the convolution
_F32 = np.float32

_OPTIONS = {"parallel": True, "fastmath": FASTMATH, "boundscheck": False, "cache": True, "nogil": True}


@njit(inline="always", fastmath=FASTMATH)
def _multiply_add(out, a, b):
    """out += a * b, elementwise over one row."""
    for j in range(out.shape[0]):
        out[j] += a[j] * b[j]


@njit("void(float32[:, :, ::1], float32[:, :, ::1], float32[:, ::1], float32[:, :, :, ::1])", **_OPTIONS)
def causal_conv_silu(xz, taps, bias, u):
    """u[direction, b, t] = SiLU(bias + sum_k taps[k] x[b, t -/+ (K - 1 - k)]), x = xz[..., :D].

    xz: (B, L, 2D) the input projection (x, then the gate's z); taps: (2, K, D), tap K - 1 on the current
    token, as `causal_depthwise_conv` takes them; bias: (2, D); u: (2, B, L, D), written. Direction 0
    reads the previous tokens, direction 1 the next ones.
    """
    batch, length, _ = xz.shape
    _, width, channels = taps.shape
    blocks = (length + _ROWS - 1) // _ROWS
    for task in prange(2 * batch * blocks):
        direction = task // (batch * blocks)
        b = task // blocks % batch
        start = task % blocks * _ROWS
        for t in range(start, min(start + _ROWS, length)):
            out = u[direction, b, t]
            out[:] = bias[direction]
            for k in range(width):
                source = t - (width - 1 - k) if direction == 0 else t + (width - 1 - k)
                if 0 <= source < length:
                    _multiply_add(out, taps[direction, k], xz[b, source, :channels])
            for j in range(channels):
                out[j] = silu(out[j])


@njit("void(float32[:, :, :, ::1], float32[:, :, ::1], float32[:, :, ::1], float32[:, ::1], float32[:, :, ::1], "
      "float32[:, :, ::1], float32[:, :, ::1], int64, float32[:, ::1], float32[:, :, ::1], float32[:, :, ::1])",
      **_OPTIONS)
def bidirectional_scan(u, delta_fwd, delta_bwd, delta_bias, decay_rates, selection_fwd, selection_bwd, rank, skip,
                       xz, y):
    """y = (scan_fwd + D_fwd u_fwd + scan_bwd + D_bwd u_bwd) * SiLU(z), both scans over the same tokens.

    u: (2, B, L, D) the scanned inputs (`causal_conv_silu`); delta_fwd, delta_bwd: (B, L, D) each
    direction's step sizes before their bias and softplus; delta_bias: (2, D); decay_rates: (2, N, D), A log2 e
    transposed (negative); selection_fwd, selection_bwd: (B, L, R + 2N), each direction's projection whose
    columns R.. are B_t, then C_t; skip: (2, D) the D skips; xz: (B, L, 2D), z at columns D..; y: (B, L, D),
    written.

    Each loop over the lanes reads or writes as few arrays as it can: with more, LLVM gives up proving
    that they do not overlap and the loop stays scalar.
    """
    _, batch, length, channels = u.shape
    n = decay_rates.shape[1]
    blocks = channels // LANES
    for task in prange(batch * blocks):
        b = task // blocks
        first, last = task % blocks * LANES, task % blocks * LANES + LANES
        state = np.empty(n * LANES, _F32)  # h[n, lane], row after row
        rate = np.empty(n * LANES, _F32)
        step = np.empty(LANES, _F32)
        written = np.empty(LANES, _F32)
        out = np.empty(LANES, _F32)
        for direction in range(2):
            delta_in, selection = (delta_fwd, selection_fwd) if direction == 0 else (delta_bwd, selection_bwd)
            bias, d_skip = delta_bias[direction, first:last], skip[direction, first:last]
            state[:] = 0.0
            for s in range(n):
                rate[s * LANES : (s + 1) * LANES] = decay_rates[direction, s, first:last]
            for i in range(length):
                t = i if direction == 0 else length - 1 - i
                x, d_in = u[direction, b, t, first:last], delta_in[b, t, first:last]
                for j in range(LANES):
                    step[j] = softplus(d_in[j] + bias[j])
                for j in range(LANES):
                    written[j] = step[j] * x[j]
                for j in range(LANES):
                    out[j] = d_skip[j] * x[j]
                chosen = selection[b, t, rank:]  # B_t, then C_t: a row of its own keeps 3-D indexing out of the loop
                for s in range(n):
                    b_t, c_t = chosen[s], chosen[n + s]
                    for j in range(LANES):
                        k = s * LANES + j
                        h = decay(step[j] * rate[k]) * state[k] + written[j] * b_t
                        state[k] = h
                        out[j] += c_t * h
                row = y[b, t, first:last]
                if direction == 0:
                    row[:] = out
                else:
                    z = xz[b, t, channels + first : channels + last]
                    for j in range(LANES):
                        out[j] += row[j]
                    for j in range(LANES):
                        row[j] = out[j] * silu(z[j])

