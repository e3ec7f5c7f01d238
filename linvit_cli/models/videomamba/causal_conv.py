"""Mamba's short causal convolution, computed in the token-major layout of the layers around it."""

from __future__ import annotations

import torch
from torch import Tensor


def causal_depthwise_conv(x: Tensor, taps: Tensor, bias: Tensor) -> Tensor:
    """Every channel convolved along the tokens with its own K taps; output t sees inputs t-K+1 .. t.

    `nn.Conv1d(D, D, K, groups=D, padding=K-1)` cut to its first L outputs computes the same on (B, D, L),
    at the price of two transposed copies of the sequence, and on a CPU its depthwise kernel is slower than
    these K multiply-adds over shifted views.

    Args:
        x: (..., L, D).
        taps: (..., K, D), tap K-1 applying to the current token; the conv's weight (D, 1, K) as
            `weight.squeeze(1).t()`.
        bias: (..., D).
        Leading axes broadcast, so one call can convolve several sequences, each with its own weights.

    Returns:
        (..., L, D).
    """
    length, width = x.shape[-2], taps.shape[-2]
    out = torch.addcmul(bias.unsqueeze(-2), x, taps[..., -1:, :])
    for back in range(1, min(width, length)):  # the tap `back` tokens into the past
        out[..., back:, :].addcmul_(x[..., : length - back, :], taps[..., -1 - back : width - back, :])
    return out
