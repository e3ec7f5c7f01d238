"""One attention of an LViT block, along time or along space."""

from __future__ import annotations

from torch import Tensor, nn

from ..layers import Linear, in_slices


class VideoAttention(nn.Module):
    """qkv projection -> neighbourhood association on k, v -> kernel -> feature fixation -> mixing -> proj.

    The three ideas of the paper are injected modules, so the ablation chooses classes at build time and
    `forward` has no switches.

    Args:
        dim: channels C.
        num_heads: heads h; C must be divisible by h.
        mixer: `LinearAttention` or `SoftmaxAttention`.
        fixation: `FeatureFixation` or `NoFixation`.
        shift: `TemporalShift`, `SpatialShift` or `NoShift`.
        chunk_tokens: in evaluation, the sequences after the shift are mixed and projected in slices
            (`in_slices`) of at most this many tokens (at least one sequence), as even as can be: each
            sequence is independent once k and v hold their neighbours' channels, so the result is the same,
            and the kernel, gate and mixing passes work on slices that stay in cache.
    """

    def __init__(self, dim: int, num_heads: int, *, mixer: nn.Module, fixation: nn.Module,
                 shift: nn.Module, chunk_tokens: int = 1024) -> None:
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"embed_dim {dim} is not divisible by num_heads {num_heads}")
        self.num_heads = num_heads
        self.chunk_tokens = chunk_tokens
        self.qkv = Linear(dim, 3 * dim)
        self.shift = shift
        self.fixation = fixation
        self.mixer = mixer
        self.proj = Linear(dim, dim)

    def forward(self, x: Tensor, grid: tuple[int, int, int]) -> Tensor:
        # x: (batch, n, C) sequences; grid = (T, H, W) tells the shift how the batch axis is laid out
        b, n, c = x.shape
        qkv = self.qkv(x).view(b, n, 3, c)
        self.shift(qkv[:, :, 1:], grid)  # in place: k and v borrow channels from their neighbours
        return self.attend(qkv)

    def attend(self, qkv: Tensor) -> Tensor:
        """Shifted projections (batch, n, 3, C) -> output (batch, n, C), in slices in evaluation."""
        if self.training:
            return self.proj(self._mix(qkv))
        slices = -(-len(qkv) // max(1, self.chunk_tokens // qkv.shape[1]))
        even = -(-len(qkv) // slices)  # 17 sequences of 64 tokens go as 9 + 8, not 16 + 1
        return in_slices(lambda part: self.proj(self._mix(part)), qkv, even)

    def _mix(self, qkv: Tensor) -> Tensor:
        """Kernel, feature fixation and token mixing of shifted (batch, n, 3, C) projections -> (batch, n, C)."""
        b, n, _, c = qkv.shape
        q, k, v = qkv.view(b, n, 3, self.num_heads, -1).unbind(2)  # B n h e each
        q, k = self.fixation(self.mixer.feature_map(q), self.mixer.feature_map(k), v)
        return self.mixer(q, k, v).reshape(b, n, c)
