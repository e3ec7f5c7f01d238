"""LViT with feature fixation (arXiv 2210.08164)."""

from .model import LinearVideoTransformer, lvit_b16, lvit_tiny

__all__ = ["LinearVideoTransformer", "lvit_b16", "lvit_tiny"]
