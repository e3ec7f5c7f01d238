"""Layers that more than one model family uses."""

from .drop import DropPath

__all__ = ["DropPath"]
