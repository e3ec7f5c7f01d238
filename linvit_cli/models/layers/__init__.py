"""Layers that more than one model family uses."""

from .drop import DropPath
from .slices import in_slices

__all__ = ["DropPath", "in_slices"]
