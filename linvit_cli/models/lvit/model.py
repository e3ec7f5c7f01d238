"""LViT: "Linear Video Transformer with Feature Fixation" (Lu et al., 2022, arXiv 2210.08164).

Authors: Kaiyue Lu, Zexiang Liu, Jianyuan Wang, Weixuan Sun, Zhen Qin, Dong Li, Xuyang Shen, Hui Deng,
Xiaodong Han, Yuchao Dai and Yiran Zhong.

A divided space-time Transformer whose attentions are linear in the number of tokens. Three ideas on top
of plain linear attention, each a module of its own:
  - the kernel phi(x) = ReLU(x) + 1/8 (`linear_attention.py`),
  - feature fixation, a gate from q, k and v reweighting phi(q) and phi(k) (`feature_fixation.py`),
  - neighbourhood association, shifts of k and v across frames and grid cells (`neighbourhood_association.py`).
Each can be switched off (or the attention made softmax) for the paper's ablation. Numbers follow the
authors' code: overlapping 16x16 patches with stride 14 and padding 8 (17x17 tokens at 224 px), no
position embedding, 8 temporal-embedding slots used modulo 8, mean pooling and an MLP head.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .._registry import register_model
from .attention import VideoAttention
from .block import DividedSpaceTimeBlock
from .convert import checkpoint_filter
from .feature_fixation import FeatureFixation, NoFixation
from .linear_attention import LinearAttention, SoftmaxAttention
from .neighbourhood_association import NoShift, SpatialShift, TemporalShift


class PatchEmbed(nn.Module):
    """Per-frame overlapping patches: Conv2d(3, C, patch, stride, padding) then LayerNorm."""

    def __init__(self, dim: int, patch_size: int, stride: int, padding: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.proj = nn.Conv2d(3, dim, patch_size, stride=stride, padding=padding)
        self.norm = nn.LayerNorm(dim, eps=eps)

    def forward(self, frames: Tensor) -> tuple[Tensor, tuple[int, int]]:
        # frames: (B*T, 3, H, W) -> tokens (B*T, H'*W', C) and the grid (H', W')
        x = self.proj(frames)
        grid = (x.shape[-2], x.shape[-1])
        return self.norm(x.flatten(2).transpose(1, 2)), grid


class VideoHead(nn.Module):
    """Mean over all tokens of the clip, then LayerNorm -> Linear -> GELU -> Dropout -> Linear."""

    def __init__(self, dim: int, hidden: int, num_classes: int, drop_rate: float, eps: float = 1e-5) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(dim, eps=eps)
        self.fc1 = nn.Linear(dim, hidden)
        self.drop = nn.Dropout(drop_rate)
        self.fc2 = nn.Linear(hidden, num_classes) if num_classes > 0 else nn.Identity()

    def forward(self, pooled: Tensor, pre_logits: bool = False) -> Tensor:
        x = self.drop(F.gelu(self.fc1(self.norm(pooled))))
        return x if pre_logits else self.fc2(x)


class LinearVideoTransformer(nn.Module):
    """LViT with feature fixation (arXiv 2210.08164); input (B, 3, T, H, W), output logits (B, K).

    Args:
        num_classes: K.
        embed_dim: channels C (512 in the paper's "B16").
        depth: number of divided space-time blocks.
        num_heads: heads per attention.
        mlp_ratio: MLP hidden channels over C.
        patch_size, patch_stride, patch_padding: the per-frame patch convolution.
        temporal_slots: learned temporal embeddings; frame t uses slot t mod temporal_slots.
        attention: "linear" (the paper) or "softmax" (the quadratic baseline, via SDPA).
        feature_fixation: gate phi(q), phi(k) with sigma(W [phi(q), phi(k), v]).
        share_gate: one gate for q and k (K600/SSv2 configs) or one each (K400).
        neighbourhood_association: shift k, v across frames (spatial attention) and cells (temporal).
        temporal_shift_segments: frames per temporal-shift group (8 for K400/K600, 16 for SSv2).
        temporal_shift_div: C / div channels shift to each of t+1 and t-1 (8 for K400/K600, 4 for SSv2).
        spatial_shift_div: C / div channels per neighbour in the 8-neighbour spatial shift.
        head_hidden: hidden width of the classification MLP.
        drop_rate: dropout on tokens before pooling and inside the head (0.5 in the paper).
        drop_path_rate: stochastic depth, growing linearly to this rate over the blocks.
    """

    def __init__(
        self,
        *,
        num_classes: int = 400,
        embed_dim: int = 512,
        depth: int = 12,
        num_heads: int = 8,
        mlp_ratio: float = 4.0,
        patch_size: int = 16,
        patch_stride: int = 14,
        patch_padding: int = 8,
        temporal_slots: int = 8,
        attention: Literal["linear", "softmax"] = "linear",
        feature_fixation: bool = True,
        share_gate: bool = False,
        neighbourhood_association: bool = True,
        temporal_shift_segments: int = 8,
        temporal_shift_div: int = 8,
        spatial_shift_div: int = 16,
        head_hidden: int = 768,
        drop_rate: float = 0.5,
        drop_path_rate: float = 0.0,
    ) -> None:
        super().__init__()
        if attention not in ("linear", "softmax"):
            raise ValueError(f"attention must be 'linear' or 'softmax', not {attention!r}")
        self.num_classes = num_classes
        self.embed_dim = embed_dim
        self.temporal_slots = temporal_slots
        head_dim = embed_dim // num_heads

        def make_attention(axis: str) -> VideoAttention:
            mixer = LinearAttention(head_dim) if attention == "linear" else SoftmaxAttention()
            fixation = FeatureFixation(head_dim, share_gate) if feature_fixation else NoFixation()
            if not neighbourhood_association:
                shift: nn.Module = NoShift()
            elif axis == "spatial":  # spatial attention looks across time through the shift, and vice versa
                shift = TemporalShift(embed_dim, temporal_shift_segments, temporal_shift_div)
            else:
                shift = SpatialShift(embed_dim, spatial_shift_div)
            return VideoAttention(embed_dim, num_heads, mixer=mixer, fixation=fixation, shift=shift)

        self.patch_embed = PatchEmbed(embed_dim, patch_size, patch_stride, patch_padding)
        self.temporal_embed = nn.Parameter(torch.zeros(1, temporal_slots, 1, embed_dim))
        rates = [drop_path_rate * i / max(depth - 1, 1) for i in range(depth)]
        chunk = temporal_shift_segments * max(1, 16 // temporal_shift_segments)  # whole shift groups
        self.blocks = nn.ModuleList(
            DividedSpaceTimeBlock(embed_dim, int(embed_dim * mlp_ratio), make_attention, drop_path=rate,
                                  frame_chunk=chunk)
            for rate in rates
        )
        self.norm = nn.LayerNorm(embed_dim, eps=1e-6)
        self.token_drop = nn.Dropout(drop_rate)
        self.head = VideoHead(embed_dim, head_hidden, num_classes, drop_rate)
        self.apply(_init_weights)

    def _check_input(self, x: Tensor) -> None:
        if x.ndim != 5 or x.shape[1] != 3:
            raise ValueError(f"expected a video tensor (B, 3, T, H, W), got shape {tuple(x.shape)}")
        if x.shape[2] % self.temporal_slots:
            raise ValueError(f"expected (B, 3, T, H, W) with T a multiple of {self.temporal_slots} "
                             f"(temporal-embedding slots), got T = {x.shape[2]}")

    def forward_features(self, x: Tensor) -> Tensor:
        """Normalised tokens (B, T, N, C) of a normalised clip (B, 3, T, H, W)."""
        self._check_input(x)
        b, _, t, h, w = x.shape
        tokens, (gh, gw) = self.patch_embed(x.transpose(1, 2).reshape(b * t, 3, h, w))  # B*T N C
        tokens = tokens.view(b, t // self.temporal_slots, self.temporal_slots, gh * gw, -1)
        x = (tokens + self.temporal_embed.unsqueeze(1)).view(b, t, gh * gw, -1)  # B T N C
        grid = (t, gh, gw)
        for block in self.blocks:
            x = block(x, grid)
        return self.norm(x)

    def forward_head(self, x: Tensor, pre_logits: bool = False) -> Tensor:
        """Logits (B, K) from tokens (B, T, N, C); `pre_logits` stops before the last linear."""
        return self.head(self.token_drop(x).mean(dim=(1, 2)), pre_logits=pre_logits)

    def forward(self, x: Tensor) -> Tensor:
        return self.forward_head(self.forward_features(x))

    def reset_classifier(self, num_classes: int) -> None:
        self.num_classes = num_classes
        self.head.fc2 = nn.Linear(self.head.fc1.out_features, num_classes) if num_classes > 0 else nn.Identity()
        if num_classes > 0:
            _init_weights(self.head.fc2)

    @torch.jit.ignore
    def no_weight_decay(self) -> set[str]:
        return {"temporal_embed"}


def _init_weights(module: nn.Module) -> None:
    """The authors' initialisation (matters only when training from scratch)."""
    if isinstance(module, nn.Linear):
        nn.init.trunc_normal_(module.weight, std=0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.LayerNorm):
        nn.init.ones_(module.weight)
        nn.init.zeros_(module.bias)
    elif isinstance(module, nn.Conv2d):
        fan_out = module.kernel_size[0] * module.kernel_size[1] * module.out_channels // module.groups
        nn.init.normal_(module.weight, 0.0, math.sqrt(2.0 / fan_out))
        if module.bias is not None:
            nn.init.zeros_(module.bias)


@register_model(checkpoint_filter)
def lvit_b16(**kwargs: object) -> LinearVideoTransformer:
    """The paper's model: 512 channels, 12 blocks, 8 heads, 16x16 patches with stride 14."""
    return LinearVideoTransformer(**{"embed_dim": 512, "depth": 12, "num_heads": 8, **kwargs})


@register_model(checkpoint_filter)
def lvit_tiny(**kwargs: object) -> LinearVideoTransformer:
    """A small LViT for CPU training on small clips (8x8 patches, 96 channels, 4 blocks)."""
    defaults = {"embed_dim": 96, "depth": 4, "num_heads": 4, "head_hidden": 192, "patch_size": 8,
                "patch_stride": 8, "patch_padding": 0, "drop_rate": 0.1}
    return LinearVideoTransformer(**{**defaults, **kwargs})


__all__ = ["LinearVideoTransformer", "lvit_b16", "lvit_tiny"]
