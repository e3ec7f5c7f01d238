"""One attention of an LViT block, along time or along space."""

from __future__ import annotations

from torch import Tensor, nn


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
    """

    def __init__(self, dim: int, num_heads: int, *, mixer: nn.Module, fixation: nn.Module,
                 shift: nn.Module) -> None:
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"embed_dim {dim} is not divisible by num_heads {num_heads}")
        self.num_heads = num_heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.shift = shift
        self.fixation = fixation
        self.mixer = mixer
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: Tensor, grid: tuple[int, int, int]) -> Tensor:
        # x: (batch, n, C); grid = (T, H, W) tells the shift how the batch axis is laid out
        b, n, c = x.shape
        qkv = self.qkv(x).view(b, n, 3, c)
        kv = self.shift(qkv[:, :, 1:], grid).view(b, n, 2, self.num_heads, -1)  # B n 2 h e
        q = qkv[:, :, 0].view(b, n, self.num_heads, -1)  # B n h e
        k, v = kv.unbind(2)
        q, k = self.fixation(self.mixer.feature_map(q), self.mixer.feature_map(k), v)
        return self.proj(self.mixer(q, k, v).reshape(b, n, c))
