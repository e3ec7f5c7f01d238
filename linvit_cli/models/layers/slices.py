"""Evaluation in slices, for functions that treat the rows of their input independently."""

from __future__ import annotations

from collections.abc import Callable

from torch import Tensor


def in_slices(fn: Callable[[Tensor], Tensor], x: Tensor, rows: int) -> Tensor:
    """fn(x), computed `rows` rows (first axis) of x at a time.

    Valid when row i of fn(x) depends on row i of x only. The result is the same as one call; the
    intermediates of fn then hold a few rows, so they stay in cache instead of streaming through memory
    once per operation, and they no longer count towards the peak memory of a long clip.
    """
    if x.shape[0] <= rows:
        return fn(x)
    out: Tensor | None = None
    for start, piece in zip(range(0, x.shape[0], rows), x.split(rows), strict=True):
        y = fn(piece)
        if out is None:
            out = y.new_empty(x.shape[0], *y.shape[1:])
        out[start : start + rows] = y
    assert out is not None
    return out
