"""VideoMamba: a video classifier built from bidirectional Mamba layers (Li et al., arXiv 2403.06977).

Each frame is cut into 16x16 patches; every patch token gets the spatial position embedding of its cell
(shared by all frames) plus the temporal embedding of its frame. The tokens are laid out frame after
frame, behind one class token that carries the spatial embedding's slot 0 and no temporal embedding. A
stack of residual blocks (RMSNorm, then the bidirectional Mamba mixer) mixes them in time linear in their
number; the class token, normalised, feeds a linear head. Numbers follow the authors' code
(`videomamba/video_sm/models/videomamba.py`); their published checkpoints load through `convert.py`.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from .._registry import register_model
from ..layers import DropPath
from .add_norm import add_rms_norm
from .bimamba import BidirectionalMamba, SelectiveSSM
from .convert import checkpoint_filter


class MambaBlock(nn.Module):
    """Residual add, RMSNorm, mixer; returns (mixer output, residual stream) as the authors' block does.

    The add comes first so that, like the authors' fused add+norm, the block hands the residual stream on
    separately; it is kept in float32 (or wider) even when the model runs in half precision.

    Args:
        dim: channels C.
        mixer: the token mixer, (B, L, C) -> (B, L, C).
        drop_path: stochastic depth rate of the incoming branch.
        eps: RMSNorm epsilon.
    """

    def __init__(self, dim: int, mixer: nn.Module, drop_path: float = 0.0, eps: float = 1e-5) -> None:
        super().__init__()
        self.norm = nn.RMSNorm(dim, eps=eps)
        self.mixer = mixer
        self.drop_path = DropPath(drop_path)

    def forward(self, hidden: Tensor, residual: Tensor | None = None) -> tuple[Tensor, Tensor]:
        normed, residual = add_rms_norm(hidden, residual, self.norm, self.drop_path)
        return self.mixer(normed), residual


class VideoMamba(nn.Module):
    """VideoMamba (arXiv 2403.06977); input (B, 3, T, H, W), output logits (B, K).

    Args:
        num_classes: K; 0 leaves the head out (`forward` then returns features).
        num_frames: T, frames per clip (one temporal embedding each).
        img_size: H = W of the input frames.
        patch_size: side of the square patches.
        embed_dim: channels C (192 Ti, 384 S, 576 M).
        depth: number of blocks (24 Ti/S, 32 M).
        d_state: state size N of each scanned channel.
        d_conv: width of the mixer's causal convolutions.
        expand: the mixer scans expand * C channels.
        dt_rank: rank of the mixer's step-size projection; default ceil(C / 16).
        norm_eps: epsilon of every RMSNorm.
        drop_path_rate: stochastic depth, growing linearly over the blocks (the authors' default 0.1).
        head_drop_rate: dropout on the class token before the head.
    """

    def __init__(
        self,
        *,
        num_classes: int = 400,
        num_frames: int = 16,
        img_size: int = 224,
        patch_size: int = 16,
        embed_dim: int = 192,
        depth: int = 24,
        d_state: int = 16,
        d_conv: int = 4,
        expand: int = 2,
        dt_rank: int | None = None,
        norm_eps: float = 1e-5,
        drop_path_rate: float = 0.1,
        head_drop_rate: float = 0.0,
    ) -> None:
        super().__init__()
        if img_size % patch_size:
            raise ValueError(f"img_size {img_size} is not a multiple of patch_size {patch_size}")
        if depth < 1 or num_frames < 1:
            raise ValueError(f"depth and num_frames must be positive, got {depth} and {num_frames}")
        self.num_classes = num_classes
        self.num_frames = num_frames
        self.img_size = img_size
        self.patch_size = patch_size
        self.embed_dim = embed_dim
        self.grid_size = img_size // patch_size

        patch = (1, patch_size, patch_size)  # one frame deep: every frame is cut on its own
        self.patch_embed = nn.Conv3d(3, embed_dim, patch, stride=patch)
        self.class_token = nn.Parameter(torch.zeros(1, 1, embed_dim))
        # slot 0 belongs to the class token, slots 1.. to the grid cells row by row
        self.spatial_pos_embed = nn.Parameter(torch.zeros(1, 1 + self.grid_size**2, embed_dim))
        self.temporal_pos_embed = nn.Parameter(torch.zeros(1, num_frames, embed_dim))
        # block i receives the previous block's branch, so its rate is the (i-1)-th of the linear ramp
        rates = [0.0] + [drop_path_rate * i / max(depth - 1, 1) for i in range(depth)]
        self.blocks = nn.ModuleList(
            MambaBlock(embed_dim, BidirectionalMamba(embed_dim, d_state=d_state, d_conv=d_conv, expand=expand,
                                                     dt_rank=dt_rank), drop_path=rates[i], eps=norm_eps)
            for i in range(depth)
        )
        self.drop_path = DropPath(drop_path_rate)  # on the last block's branch
        self.norm = nn.RMSNorm(embed_dim, eps=norm_eps)
        self.head_drop = nn.Dropout(head_drop_rate)
        self.head = nn.Linear(embed_dim, num_classes) if num_classes > 0 else nn.Identity()

        nn.init.trunc_normal_(self.spatial_pos_embed, std=0.02)
        self.apply(lambda module: _init_weights(module, depth))

    def _check_input(self, x: Tensor) -> None:
        expected = (3, self.num_frames, self.img_size, self.img_size)
        if x.ndim != 5 or tuple(x.shape[1:]) != expected:
            raise ValueError(
                f"expected a video tensor (B, 3, T, H, W) with T = {self.num_frames} frames and "
                f"H = W = {self.img_size} pixels, i.e. (B, {', '.join(map(str, expected))}); "
                f"got shape {tuple(x.shape)}"
            )

    def embed(self, x: Tensor) -> Tensor:
        """Token sequence (B, 1 + T * N, C) of a clip (B, 3, T, H, W): class token, then frame after frame."""
        tokens = self.patch_embed(x)  # B C T H' W'
        b, c, t, gh, gw = tokens.shape
        tokens = tokens.permute(0, 2, 3, 4, 1).reshape(b, t, gh * gw, c)  # B T N C, cells row by row
        tokens = tokens + self.spatial_pos_embed[:, None, 1:] + self.temporal_pos_embed[:, :, None]
        cls = (self.class_token + self.spatial_pos_embed[:, :1]).expand(b, -1, -1)  # B 1 C
        return torch.cat([cls, tokens.reshape(b, t * gh * gw, c)], dim=1)  # B 1+T*N C

    def forward_tokens(self, x: Tensor) -> Tensor:
        """Every token after the final norm, (B, 1 + T * N, C); token 0 is the class token."""
        self._check_input(x)
        hidden, residual = self.embed(x), None
        for block in self.blocks:
            hidden, residual = block(hidden, residual)
        return add_rms_norm(hidden, residual, self.norm, self.drop_path)[0]

    def forward_features(self, x: Tensor) -> Tensor:
        """The normalised class token (B, C), the input of the head."""
        return self.forward_tokens(x)[:, 0]

    def forward_head(self, features: Tensor, pre_logits: bool = False) -> Tensor:
        """Logits (B, K) from class-token features (B, C); `pre_logits` stops before the linear layer."""
        features = self.head_drop(features)
        return features if pre_logits else self.head(features)

    def forward(self, x: Tensor) -> Tensor:
        return self.forward_head(self.forward_features(x))

    def reset_classifier(self, num_classes: int) -> None:
        self.num_classes = num_classes
        like = {"device": self.class_token.device, "dtype": self.class_token.dtype}
        self.head = nn.Linear(self.embed_dim, num_classes, **like) if num_classes > 0 else nn.Identity()
        _init_weights(self.head, len(self.blocks))

    @torch.jit.ignore
    def no_weight_decay(self) -> set[str]:
        return {"class_token", "spatial_pos_embed", "temporal_pos_embed"}


def _init_weights(module: nn.Module, depth: int) -> None:
    """The authors' initialisation, applied children first (matters only when training from scratch).

    Linear layers get truncated-normal weights and zero biases; each scan direction then restores Mamba's
    own A, D and step-size initialisation; the mixer's output projection is scaled by 1/sqrt(depth), the
    GPT-2 rule the authors use.
    """
    if isinstance(module, nn.Linear):
        nn.init.trunc_normal_(module.weight, std=0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, SelectiveSSM):
        module.reset_parameters()
    elif isinstance(module, BidirectionalMamba):
        nn.init.kaiming_uniform_(module.out_proj.weight, a=math.sqrt(5))
        with torch.no_grad():
            module.out_proj.weight.div_(math.sqrt(depth))


@register_model(checkpoint_filter)
def videomamba_tiny(**kwargs: object) -> VideoMamba:
    """VideoMamba-Ti: 192 channels, 24 blocks (7.0 M parameters with a 400-class head)."""
    return VideoMamba(**{"embed_dim": 192, "depth": 24, **kwargs})


@register_model(checkpoint_filter)
def videomamba_small(**kwargs: object) -> VideoMamba:
    """VideoMamba-S: 384 channels, 24 blocks (25.6 M parameters with a 400-class head)."""
    return VideoMamba(**{"embed_dim": 384, "depth": 24, **kwargs})


@register_model(checkpoint_filter)
def videomamba_middle(**kwargs: object) -> VideoMamba:
    """VideoMamba-M: 576 channels, 32 blocks (73.9 M parameters with a 400-class head)."""
    return VideoMamba(**{"embed_dim": 576, "depth": 32, **kwargs})


__all__ = ["VideoMamba", "videomamba_middle", "videomamba_small", "videomamba_tiny"]
