"""Layers that more than one model family uses."""

from .drop import DropPath
from .linear import Linear
from .slices import in_slices

__all__ = ["DropPath", "Linear", "in_slices"]
