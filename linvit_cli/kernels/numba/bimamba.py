"""VideoMamba's bidirectional mixer, inference on a CPU, through the numba kernels of `mixer`.

Only the matrix products stay in PyTorch (the backend `models.layers.linear` chooses): the input projection, each
direction's selection and step-size projections, and the output projection. Everything between them runs in
the two kernels in float32, as `mamba_ssm`'s CUDA kernels compute the scan; under autocast the projections keep
the autocast precision. Training, float64 and devices other than the CPU keep the plain-PyTorch path.
"""

from __future__ import annotations

import math
import threading
from typing import TYPE_CHECKING

import torch
from torch import Tensor

from ...models.layers.linear import linear
from .. import for_inference
from . import load, torch_threads

if TYPE_CHECKING:
    from ...models.videomamba.bimamba import BidirectionalMamba

MAX_LANES = 64  # the most channels `mixer.LANES` takes (AVX-512), a multiple of every other choice
_scratch = threading.local()  # per thread: the buffers of `_buffer`


def applies(mixer: BidirectionalMamba, hidden: Tensor) -> bool:
    """Whether `forward` can compute this call: CPU, no gradient, float32 or narrower, D % MAX_LANES == 0."""
    return (hidden.device.type == "cpu" and for_inference(hidden, mixer.in_proj.weight)
            and mixer.out_proj.in_features % MAX_LANES == 0 and load("mixer") is not None)


def forward(mixer: BidirectionalMamba, hidden: Tensor) -> Tensor:
    """The mixer's output (B, L, C) for `hidden` (B, L, C), where `applies` holds."""
    compiled = load("mixer")
    xz = mixer.in_proj(hidden)  # B L 2D, in the autocast precision if any
    projected = xz.dtype
    xz = xz.float().contiguous()
    batch, length, _ = xz.shape
    channels = xz.shape[-1] // 2
    both = (mixer.forward_ssm, mixer.backward_ssm)
    rank = mixer.forward_ssm.dt_rank
    with torch.autocast("cpu", enabled=False), torch_threads():
        taps = _stacked([ssm.conv.weight.squeeze(1).t() for ssm in both])  # 2 K D
        u = _buffer("u", (2, batch, length, channels))
        compiled.causal_conv_silu(xz.numpy(), taps.numpy(), _stacked([ssm.conv.bias for ssm in both]).numpy(),
                                  u.numpy())
        # each direction's selection (delta's low rank, B, C) and step sizes: products of their own
        selections = [linear(u[d], ssm.selection_proj.weight.detach().float()) for d, ssm in enumerate(both)]
        deltas = [linear(sel[..., :rank], ssm.delta_proj.weight.detach().float())  # bias: in the kernel
                  for sel, ssm in zip(selections, both, strict=True)]
        # 2 N D: A log2 e, the decays' exponents in base 2 (`vector_math.decay`)
        decay_rates = _stacked([-torch.exp(ssm.A_log.float()).t() * math.log2(math.e) for ssm in both])
        y = _buffer("y", (batch, length, channels))
        compiled.bidirectional_scan(
            u.numpy(), *(d.contiguous().numpy() for d in deltas),
            _stacked([ssm.delta_proj.bias for ssm in both]).numpy(), decay_rates.numpy(),
            *(s.contiguous().numpy() for s in selections), rank,
            _stacked([ssm.D for ssm in both]).numpy(), xz.numpy(), y.numpy(),
        )
    return mixer.out_proj(y.to(projected))


def _buffer(name: str, shape: tuple[int, ...]) -> Tensor:
    """This thread's float32 tensor `name` of `shape`, reused from the previous layer's call.

    Every layer writes intermediates of the same shapes; fresh ones would fault in every page again (at 64
    frames, 116 MB a layer). The last clip's buffers stay allocated until a clip of another shape replaces
    them.
    """
    buffers = _scratch.__dict__.setdefault("buffers", {})
    buffer = buffers.get(name)
    if buffer is None or buffer.shape != shape:
        buffers[name] = None  # the old one goes before the new one is made
        buffer = buffers[name] = torch.empty(shape)
    return buffer


def _stacked(tensors: list[Tensor]) -> Tensor:
    """The two directions' weights as one contiguous float32 tensor, detached for numba."""
    return torch.stack([t.detach().float() for t in tensors]).contiguous()
