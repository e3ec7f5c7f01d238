"""The residual add and the RMSNorm that follows it, in one numba pass per row (CPU inference, float32).

PyTorch's CPU RMSNorm is several passes over the row (square, mean, rsqrt, two products), each through
memory; here the add and the norm read the row once. Importing this module compiles the kernel (numba
caches it on disk).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from .vector_math import FASTMATH

_LANES = 16  # partial sums kept per row, so the sum of squares vectorises without reassociation


@njit("void(float32[:, ::1], float32[:, ::1], float32[::1], float32, float32[:, ::1], float32[:, ::1])",
      parallel=True, fastmath=FASTMATH, boundscheck=False, cache=True, nogil=True)
def add_rms_norm(hidden, residual, weight, eps, residual_out, normed):
    """residual_out = residual + hidden; normed = residual_out / sqrt(mean(residual_out^2) + eps) * weight.

    All (rows, C) but weight (C,); `residual` may be `residual_out` itself.
    """
    rows, channels = hidden.shape
    whole = channels // _LANES * _LANES
    for r in prange(rows):
        total = residual_out[r]
        added = residual[r]
        h = hidden[r]
        for j in range(channels):
            total[j] = added[j] + h[j]
        partial = np.zeros(_LANES, np.float32)
        for start in range(0, whole, _LANES):
            for lane in range(_LANES):
                partial[lane] += total[start + lane] * total[start + lane]
        squares = np.float32(0.0)
        for j in range(whole, channels):
            squares += total[j] * total[j]
        for lane in range(_LANES):
            squares += partial[lane]
        scale = np.float32(1.0) / np.sqrt(squares / np.float32(channels) + eps)
        out = normed[r]
        for j in range(channels):
            out[j] = total[j] * scale * weight[j]
