"""Layers that more than one model family uses."""

from .drop import DropPath
from .slices import in_slices
from .softplus import softplus

__all__ = ["DropPath", "in_slices", "softplus"]
