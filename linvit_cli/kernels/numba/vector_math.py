"""exp, SiLU, softplus and the scan's decay for numba kernels, in float32 operations the compiler can vectorise.

A loop that calls `math.exp` stays scalar (LLVM has no vector exponential without Intel's SVML), and in the
selective scan there is one exponential per state element. These versions use only multiply-adds,
rounding and an integer shift, which LLVM turns into AVX2/AVX-512 code: e^x = 2^k e^r with k = round(x /
ln 2) and r = x - k ln 2 (ln 2 in two parts, so r keeps every bit), e^r a polynomial, 2^k written straight
into the float's exponent bits.

The selective scan's decays exp(delta A) are 2^(delta A log2 e) with A log2 e computed beforehand, as
`mamba_ssm`'s CUDA kernel computes them: one product and no split of ln 2 per state element, and a
shorter polynomial, since the exponent is never positive.

Accuracy in float32 against float64, over float32's normal range (results below 2^-126 flush to zero):
exp 1.2e-7 relative, the decay's 2^x 1.8e-7, softplus and SiLU within two units in the last place, as
torch's own vectorised functions. Polynomials: least squares of the relative error on 2000 Chebyshev nodes
in float64, rounded to float32. The kernels compile without reassociation (`FASTMATH`), which would undo
the split of ln 2.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

# fused multiply-adds and signed-zero freedom, but no reassociation and no assumption that nan/inf are absent
FASTMATH = {"contract", "nsz", "arcp"}

_F = np.float32
# e^r on [-ln 2 / 2, ln 2 / 2], degree 6
_E0, _E1, _E2, _E3, _E4, _E5, _E6 = (_F(c) for c in (
    1.0, 1.0, 0.49999991059303284, 0.1666642129421234, 0.0416683591902256, 0.008374771103262901,
    0.0013829420786350965))
# 2^r on [-1/2, 1/2], degree 5 (constant term 1: a decay of delta = 0 is exactly 1)
_X1, _X2, _X3, _X4, _X5 = (_F(c) for c in (
    0.6931468844413757, 0.24022237956523895, 0.05550893023610115, 0.009671698324382305, 0.0013218672247603536))
# log1p(t) / t on [0, 1], degree 9
_L0, _L1, _L2, _L3, _L4, _L5, _L6, _L7, _L8, _L9 = (_F(c) for c in (
    1.0, -0.49999889731407166, 0.33329665660858154, -0.24951167404651642, 0.19661018252372742,
    -0.15263274312019348, 0.10532950609922409, -0.05626952648162842, 0.019487686455249786,
    -0.0031639994122087955))
_LN2_HI = _F(0.693359375)  # few mantissa bits: k * _LN2_HI is exact
_LN2_LO = _F(-0.00021219444170128554)
_LOG2_E = _F(1.4426950408889634)
_LOWEST = _F(-87.33654)  # e^x < 2^-126 below: zero
_HIGHEST = _F(88.37626)  # e^x saturates (finite) above
_DECAY_LOWEST = _F(-126.0)  # 2^x below: 2^-126, float32's smallest normal number, instead of nearly zero
_HALF = _F(0.5)
_ONE = _F(1.0)
_ZERO = _F(0.0)
_SOFTPLUS_THRESHOLD = _F(20.0)  # F.softplus returns x itself above it


@intrinsic
def _as_float32(typingctx, bits):  # noqa: ARG001 - numba's intrinsic signature
    """The float32 whose bit pattern is the int32 `bits` (a register reinterpretation, free)."""
    signature = types.float32(types.int32)

    def codegen(context, builder, sig, args):  # noqa: ARG001
        return builder.bitcast(args[0], ir.FloatType())

    return signature, codegen


@njit(inline="always", fastmath=FASTMATH)
def exp(x):
    """e^x for float32 x: 0 below -87.3, e^88.4 (finite, 2.4e38) above 88.4."""
    x = min(max(x, _LOWEST), _HIGHEST)
    k = np.floor(x * _LOG2_E + _HALF)
    r = (x - k * _LN2_HI) - k * _LN2_LO
    p = _E0 + r * (_E1 + r * (_E2 + r * (_E3 + r * (_E4 + r * (_E5 + r * _E6)))))
    scale = _as_float32((np.int32(k) + np.int32(127)) << np.int32(23))  # 2^k; k = -127 gives 0
    return p * scale if x > _LOWEST else _ZERO


@njit(inline="always", fastmath=FASTMATH)
def decay(x):
    """2^x for float32 x <= 0, the scan's exp(delta A) with x = delta A log2 e; 2^-126 for x below -126.

    Without a zero below the range (a state times 2^-126 is below any value the read-out can show) and
    without a top clamp, it compiles to a third fewer vector instructions than `exp`.
    """
    x = max(x, _DECAY_LOWEST)
    k = np.rint(x)
    r = x - k  # exact: k is the integer nearest x
    p = _ONE + r * (_X1 + r * (_X2 + r * (_X3 + r * (_X4 + r * _X5))))
    return p * _as_float32((np.int32(k) + np.int32(127)) << np.int32(23))


@njit(inline="always", fastmath=FASTMATH)
def silu(x):
    """x * sigmoid(x)."""
    return x / (_ONE + exp(-x))


@njit(inline="always", fastmath=FASTMATH)
def softplus(x):
    """log(1 + e^x) as `F.softplus` (beta 1, threshold 20): max(x, 0) + log1p(e^-|x|)."""
    t = exp(-abs(x))  # in [0, 1]
    log1p = t * (_L0 + t * (_L1 + t * (_L2 + t * (_L3 + t * (_L4 + t * (_L5 + t * (_L6 + t * (
        _L7 + t * (_L8 + t * _L9)))))))))
    return x if x > _SOFTPLUS_THRESHOLD else max(x, _ZERO) + log1p
