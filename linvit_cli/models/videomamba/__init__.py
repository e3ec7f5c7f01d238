"""VideoMamba (arXiv 2403.06977) in plain PyTorch; importing it registers the builders."""

from .model import VideoMamba, videomamba_middle, videomamba_small, videomamba_tiny

__all__ = ["VideoMamba", "videomamba_middle", "videomamba_small", "videomamba_tiny"]
