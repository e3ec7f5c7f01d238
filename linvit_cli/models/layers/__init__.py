"""Layers that more than one model family uses."""

from .drop import DropPath
from .linear import Linear
from .slices import in_slices
from .softplus import softplus

__all__ = ["DropPath", "Linear", "in_slices", "softplus"]
