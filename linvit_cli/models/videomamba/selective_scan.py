"""The selective scan of Mamba (S6), in plain PyTorch for CPU and GPU.

For every channel d and state index n the scan runs the linear recurrence

    h_t = exp(delta_t A) * h_{t-1} + delta_t B_t u_t,        y_t = sum_n C_t[n] h_t[n]

with h_0 = 0; delta, B and C depend on the token (the "selection"), A does not. `mamba_ssm` does this in
a CUDA kernel; here it is two functions:

- `selective_scan`, the fast path. The sequence is cut into chunks of `chunk_size` steps and a block of
  `chunks_per_block` chunks is handled at once: the decays exp(delta_t A) and inputs delta_t B_t u_t of the
  whole block are made with one broadcast product each, the recurrence walks the steps of a chunk for all
  chunks of the block together, the chunks' start states are chained through their total decays, and the
  read-out by C is one batched matrix product. Only products of decays (all in (0, 1]) are formed, never
  their inverses, so float32 neither overflows nor loses the early tokens, whatever the decay rates. On a
  CPU one chunk per block keeps the working set in cache (32 steps of 16 x 768 states: 1.5 MiB per
  sequence); on a GPU large blocks keep kernel launches few.
  The log-space alternative (cumulative sums of delta A, exponentials of their differences, matrix
  products inside a chunk) needs an exponential per (step pair, channel, state) because Mamba's decay
  differs for every state index: chunk-size times more exponentials than the recurrence, and on a CPU
  the exponentials already cost more than everything else in the scan.
- `selective_scan_reference`, one step at a time as the equations read: the yardstick for tests and the
  benchmark.

Both compute in float32 at least (float64 stays float64) and return the dtype of `u`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor

_LOG2_E = 1.0 / math.log(2.0)
# Elements of one (block, state, channel) tensor on a GPU: four such tensors live at once (256 MiB each in
# float32), large enough that kernel launches, not memory, bound the time.
_GPU_BLOCK_ELEMENTS = 1 << 26


def selective_scan(
    u: Tensor,
    delta: Tensor,
    A: Tensor,
    B: Tensor,
    C: Tensor,
    *,
    chunk_size: int | None = None,
    chunks_per_block: int | None = None,
) -> Tensor:
    """y of the selective scan (without the D skip and the gate), chunked.

    Args:
        u: inputs, (Bt, L, D).
        delta: positive step sizes, (Bt, L, D).
        A: decay rates (negative), (D, N), or (Bt, D, N) when the batch mixes several scans.
        B: input projections, (Bt, L, N).
        C: output projections, (Bt, L, N).
        chunk_size: steps walked one by one inside a chunk (default 32 on CPU, 64 on GPU).
        chunks_per_block: chunks handled together (default 1 on CPU; on GPU as many as fit in
            `_GPU_BLOCK_ELEMENTS`).

    Returns:
        y, (Bt, L, D), dtype of `u`.
    """
    _check_shapes(u, delta, A, B, C)
    dtype = torch.promote_types(u.dtype, torch.float32)
    batch, length, channels = u.shape
    n = A.shape[-1]
    on_gpu = u.device.type != "cpu"
    chunk = chunk_size or (64 if on_gpu else 32)
    if chunks_per_block is None:
        chunks_per_block = max(1, _GPU_BLOCK_ELEMENTS // (batch * chunk * n * channels)) if on_gpu else 1
    if chunk < 1 or chunks_per_block < 1:
        raise ValueError(f"chunk_size and chunks_per_block must be positive, got {chunk}, {chunks_per_block}")

    delta, B, C = delta.to(dtype), B.to(dtype), C.to(dtype)
    x = delta * u.to(dtype)  # B L D: what each step writes into the state, before B_t
    # The state is laid out (N, D) so that the read-out C_t h_t is a row vector times a matrix.
    # exp(delta A) is computed as exp2(delta A log2 e): the same value, a cheaper instruction.
    rates = (A.to(dtype) * _LOG2_E).transpose(-1, -2).contiguous()  # (N, D) or (Bt, N, D)
    if rates.ndim == 3:
        rates = rates.unsqueeze(1)  # Bt 1 N D, broadcast over the steps
    in_place = not (torch.is_grad_enabled() and any(t.requires_grad for t in (u, delta, A, B, C)))

    block_steps = min(length, chunk * chunks_per_block)
    workspace = _Workspace(x, (batch, block_steps, n, channels)) if in_place else None
    state = x.new_zeros(batch, n, channels)  # B N D, carried from block to block
    outputs = []
    start = 0
    while start < length:
        steps = min(chunk, length - start)
        chunks = max(1, min(chunks_per_block, (length - start) // chunk)) if steps == chunk else 1
        stop = start + chunks * steps
        decay_out, inputs_out = workspace.take(stop - start) if workspace else (None, None)
        decay = torch.mul(delta[:, start:stop, None, :], rates, out=decay_out).exp2_()  # B S N D: exp(delta_t A)
        inputs = torch.mul(x[:, start:stop, None, :], B[:, start:stop, :, None], out=inputs_out)  # delta_t B_t u_t
        if workspace is not None and chunks == 1:  # the CPU's case: walk the cached step views
            states, state = inputs, _walk_in_place(*workspace.steps(stop - start), state)
        else:
            block = (batch, chunks, steps, n, channels)  # B G Q N D
            states, state = _scan_block(decay.view(block), inputs.view(block), state, in_place)
        # (B S 1 N) @ (B S N D) -> B S 1 D: y_t = C_t h_t for every step of the block
        read = torch.matmul(C[:, start:stop, None, :], states.view(batch, stop - start, n, channels))
        outputs.append(read.squeeze(2))  # B S D
        start = stop
    return torch.cat(outputs, dim=1).to(u.dtype)


class _Workspace:
    """Block buffers reused from block to block when no gradient is needed.

    On a CPU, fresh memory for every block costs more than the arithmetic done in it. The state buffers
    alternate, so that the carry (a view of the previous block's last state) survives the next block.
    """

    def __init__(self, like: Tensor, shape: tuple[int, int, int, int]) -> None:
        self.shape = shape
        self.decay = like.new_empty(shape)
        self.states = (like.new_empty(shape), like.new_empty(shape))
        self.turn = 0
        self._steps: dict[tuple[int, int], tuple[tuple[Tensor, ...], tuple[Tensor, ...]]] = {}

    def take(self, steps: int) -> tuple[Tensor, Tensor]:
        """Decay and state buffers (B, steps, N, D) for the next block."""
        self.turn ^= 1
        return self._buffers(steps, self.turn)

    def steps(self, steps: int) -> tuple[tuple[Tensor, ...], tuple[Tensor, ...]]:
        """The last `take`'s buffers cut into steps (B, N, D), made once: a CPU block is too short to pay
        for slicing views at every step."""
        key = (steps, self.turn)
        if key not in self._steps:
            decay, states = self._buffers(*key)
            self._steps[key] = decay.unbind(1), states.unbind(1)
        return self._steps[key]

    def _buffers(self, steps: int, turn: int) -> tuple[Tensor, Tensor]:
        batch, _, n, channels = self.shape
        size = batch * steps * n * channels
        shape = (batch, steps, n, channels)
        # a shorter last block takes the front of the flat buffers, so its views stay contiguous
        return self.decay.view(-1)[:size].view(shape), self.states[turn].view(-1)[:size].view(shape)


def _walk_in_place(decays: Sequence[Tensor], states: Sequence[Tensor], carry: Tensor) -> Tensor:
    """One chunk's recurrence, written over its inputs: states[t] holds delta_t B_t u_t and becomes h_t.

    Returns the state after the last step. `carry` is the state before the chunk; all tensors have the
    shape of one step, (B, N, D), or (B, G, N, D) for G chunks walked side by side.
    """
    states[0].addcmul_(decays[0], carry)
    for q in range(1, len(states)):
        states[q].addcmul_(decays[q], states[q - 1])
    return states[-1]


def _scan_block(decay: Tensor, inputs: Tensor, carry: Tensor, in_place: bool) -> tuple[Tensor, Tensor]:
    """States (Bt, G, Q, N, D) of a block of G chunks of Q steps, and the state after its last step.

    `carry` (Bt, N, D) is the state before the block. Each chunk is first scanned from its own start; chunk
    0 starts from `carry`, the others from zero. The true start of chunk j > 0 is the end of chunk j - 1,
    found by chaining chunk ends through each chunk's total decay, and reaches step q of chunk j through
    the decay accumulated since the chunk began.
    """
    batch, chunks, steps, n, channels = decay.shape
    if chunks == 1:
        entry = carry.unsqueeze(1)  # B 1 N D
    else:
        entry = torch.cat([carry.unsqueeze(1), carry.new_zeros(batch, chunks - 1, n, channels)], dim=1)
    decays = decay.unbind(2)
    if in_place:  # inference: turn the inputs into the states, step after step
        states = inputs
        last = _walk_in_place(decays, states.unbind(2), entry)  # steps of (B G N D)
    else:  # autograd does not allow writing into the views of `unbind`
        rows = [torch.addcmul(inputs[:, :, 0], decays[0], entry)]
        for q in range(1, steps):
            rows.append(torch.addcmul(inputs[:, :, q], decays[q], rows[-1]))
        states = torch.stack(rows, dim=2)
        last = rows[-1]
    if chunks == 1:
        return states, last[:, 0]

    since_start = decay.cumprod(dim=2)  # B G Q N D: decay from each chunk's start to each step
    totals = since_start[:, :, -1].unbind(1)
    local_ends = last.unbind(1)
    end = local_ends[0]  # chunk 0 already started from the carry
    starts = [torch.zeros_like(end), end]
    for j in range(1, chunks - 1):
        end = torch.addcmul(local_ends[j], totals[j], end)
        starts.append(end)
    end = torch.addcmul(local_ends[-1], totals[-1], end)
    states = torch.addcmul(states, since_start, torch.stack(starts, dim=1).unsqueeze(2))
    return states, end


def selective_scan_reference(u: Tensor, delta: Tensor, A: Tensor, B: Tensor, C: Tensor) -> Tensor:
    """The same scan one step at a time, exactly as the recurrence reads (slow; for tests and benchmarks).

    Shapes as in `selective_scan`; returns (Bt, L, D) in the dtype of `u`.
    """
    _check_shapes(u, delta, A, B, C)
    dtype = torch.promote_types(u.dtype, torch.float32)
    u, delta, A, B, C = (t.to(dtype) for t in (u, delta, A, B, C))
    if A.ndim == 2:
        A = A.unsqueeze(0)  # 1 D N
    batch, length, channels = u.shape
    h = u.new_zeros(batch, channels, A.shape[-1])  # B D N
    ys = []
    for t in range(length):
        dt = delta[:, t, :, None]  # B D 1
        h = torch.exp(dt * A) * h + dt * u[:, t, :, None] * B[:, t, None, :]
        ys.append((h * C[:, t, None, :]).sum(-1))  # B D
    return torch.stack(ys, dim=1).to(u.dtype)


def _check_shapes(u: Tensor, delta: Tensor, A: Tensor, B: Tensor, C: Tensor) -> None:
    if u.ndim != 3 or delta.shape != u.shape:
        raise ValueError(f"u and delta must both be (Bt, L, D), got {tuple(u.shape)}, {tuple(delta.shape)}")
    batch, length, channels = u.shape
    if A.shape[-2:-1] != (channels,) or A.ndim not in (2, 3) or (A.ndim == 3 and A.shape[0] != batch):
        raise ValueError(f"A must be (D, N) or (Bt, D, N) with Bt = {batch}, D = {channels}, "
                         f"got {tuple(A.shape)}")
    expected = (batch, length, A.shape[-1])
    if B.shape != expected or C.shape != expected:
        raise ValueError(f"B and C must be (Bt, L, N) = {expected}, got {tuple(B.shape)}, {tuple(C.shape)}")
