"""Multiple-testing correction: Holm's step-down (family-wise error rate).

Holm controls the chance of even one false alarm among all the tests of a run, whatever
their dependence (the tests of one feature share its data; no independence or positive
dependence is assumed), and whatever the other features do: a feature that really moved
does not lower the bar for the others, as it does under a false discovery rate.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


def holm(p_values: Sequence[float | None]) -> list[float | None]:
    """Holm-adjusted p-values in input order; ``None`` stays ``None`` and is not counted.

    With m counted values sorted ascending, the i-th (1-based) is adjusted to the running
    maximum of ``min(1, (m - i + 1) p)``; a result is significant at level alpha exactly
    when Holm's procedure rejects it. Raises ``ValueError`` for NaN or values outside
    [0, 1] (a caller bug).
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
    scaled = np.minimum(raw[order] * (m - np.arange(m)), 1.0)
    adjusted = np.maximum.accumulate(scaled)  # step-down: never below an earlier one
    for rank, pos in enumerate(order):
        out[present[pos][0]] = float(adjusted[rank])
    return out
