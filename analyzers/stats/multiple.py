"""Multiple-testing correction (Benjamini-Hochberg false discovery rate)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


def benjamini_hochberg(p_values: Sequence[float | None]) -> list[float | None]:
    """BH-adjusted p-values in input order; ``None`` stays ``None`` and is not counted.

    Adjusted values are monotone in the raw p-values and clipped to 1.
    Raises ``ValueError`` for NaN or values outside [0, 1] (a caller bug).
    """
    present = [(i, p) for i, p in enumerate(p_values) if p is not None]
    for _, p in present:
        if math.isnan(p) or not 0.0 <= p <= 1.0:
            raise ValueError(f"p-values must lie in [0, 1], got {p!r}")
    out: list[float | None] = [None] * len(p_values)
    if not present:
        return out
    raw = np.array([p for _, p in present], dtype=np.float64)
    m = raw.size
    order = np.argsort(raw, kind="stable")
    scaled = raw[order] * m / np.arange(1, m + 1)
    # Step-up: each adjusted value is the minimum over all larger ranks.
    adjusted = np.minimum(np.minimum.accumulate(scaled[::-1])[::-1], 1.0)
    for rank, pos in enumerate(order):
        out[present[pos][0]] = float(adjusted[rank])
    return out
