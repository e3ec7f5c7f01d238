"""VideoMamba's bidirectional mixer, inference on a GPU, through the Triton kernels of `mixer`.

The matrix products stay in PyTorch (cuBLAS, in the autocast precision if any): the input projection, each
direction's selection and step-size projections, and the output projection. Between them three kernel
launches do the rest: the convolutions with their SiLU, the scan's segment summaries (skipped when the
tokens fit in one segment) and the scan with its read-out, D skip and gate. The kernels read the weights
where the module keeps them (no stacked copies, no -exp(A_log) tensors), so a layer is six products and
three kernels. Training and float64 keep the plain-PyTorch path.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.utils.weak import WeakIdKeyDictionary

from .. import for_inference
from . import cdiv, load, on_device

if TYPE_CHECKING:
    from ...models.videomamba.bimamba import BidirectionalMamba

_CONV_TOKENS, _CONV_CHANNELS = 32, 64  # a convolution program's tile
_BLOCK_D = 32  # channels per scan program: its state is _BLOCK_D x N float32 in registers
# Scan programs aimed at (several per multiprocessor of a large GPU: an H100 has 132): the tokens are cut
# into as many segments as it takes, but no shorter than _MIN_SEGMENT, below which chaining the segments'
# states costs more than walking them side by side saves.
_PROGRAMS = 512
_MIN_SEGMENT = 64
_narrow_weights = WeakIdKeyDictionary()  # weight -> ((dtype, address, version), its copy in dtype)


def applies(mixer: BidirectionalMamba, hidden: Tensor) -> bool:
    """Whether `forward` can compute this call: no gradient, float32 or narrower, kernels importable."""
    return for_inference(hidden, mixer.in_proj.weight) and load("mixer") is not None


def forward(mixer: BidirectionalMamba, hidden: Tensor) -> Tensor:
    """The mixer's output (B, L, C) for `hidden` (B, L, C), where `applies` holds."""
    compiled = load("mixer")
    fwd, bwd = mixer.forward_ssm, mixer.backward_ssm
    xz = _project(hidden, mixer.in_proj.weight).contiguous()  # B L 2D, in the autocast precision if any
    batch, length, width = xz.shape
    channels, rank, n = width // 2, fwd.dt_rank, fwd.d_state
    with on_device(xz.device):
        u = xz.new_empty(2, batch, length, channels)
        grid = (cdiv(length, _CONV_TOKENS), cdiv(channels, _CONV_CHANNELS), batch)
        compiled.causal_conv_silu[grid](
            xz[..., :channels], fwd.conv.weight, bwd.conv.weight, fwd.conv.bias, bwd.conv.bias, u, u[0].numel(),
            length, channels, width, WIDTH=fwd.conv.kernel_size[0], BLOCK_L=_CONV_TOKENS, BLOCK_D=_CONV_CHANNELS)
        both = (fwd, bwd)
        selections = [_project(u[i], ssm.selection_proj.weight) for i, ssm in enumerate(both)]  # B L R+2N each
        deltas = [_project(selection[..., :rank], ssm.delta_proj.weight)  # the bias: in the kernel
                  for selection, ssm in zip(selections, both, strict=True)]
        y = xz.new_empty(batch, length, channels)
        blocks = cdiv(channels, _BLOCK_D)
        segments = max(1, min(cdiv(length, _MIN_SEGMENT), cdiv(_PROGRAMS, batch * blocks)))
        segment = cdiv(length, segments)
        segments = cdiv(length, segment)
        summaries = [y.new_empty(2, batch, segments, channels, n, dtype=torch.float32) for _ in range(2)]
        directions = [u[0], u[1], *deltas, fwd.delta_proj.bias, bwd.delta_proj.bias, fwd.A_log, bwd.A_log,
                      *(selection[..., rank : rank + n] for selection in selections)]
        common = {"batch": batch, "length": length, "channels": channels, "n_state": n,
                  "sel_row": selections[0].shape[-1], "segment": segment, "BLOCK_D": _BLOCK_D,
                  "BLOCK_N": 1 << (n - 1).bit_length()}
        if segments > 1:
            compiled.scan_summaries[(segments, blocks, 2 * batch)](*directions, *summaries, **common)
        partial = y if y.dtype == torch.float32 else torch.empty_like(y, dtype=torch.float32)
        compiled.scan_outputs[(segments, blocks, batch)](
            *directions, *(selection[..., rank + n :] for selection in selections), fwd.D, bwd.D,
            xz[..., channels:], *summaries, partial, y, z_row=width, **common)
    return _project(y, mixer.out_proj.weight)


def _project(x: Tensor, weight: Tensor) -> Tensor:
    """x @ weight.T, under autocast in its precision with the weight's narrow copy kept from call to call.

    Autocast makes its copies of the weights again in every forward: six more kernel launches per layer,
    as many as the layer's kernels. The copy here is made again only when the weight changes (its address
    or its version, which in-place updates such as `load_state_dict` advance).
    """
    device = x.device.type
    if weight.dtype != torch.float32 or not torch.is_autocast_enabled(device):
        return F.linear(x, weight)
    dtype = torch.get_autocast_dtype(device)
    key = (dtype, weight.data_ptr(), weight._version)
    kept = _narrow_weights.get(weight)
    if kept is None or kept[0] != key:
        kept = _narrow_weights[weight] = (key, weight.detach().to(dtype))
    return F.linear(x.to(dtype), kept[1])
