"""Distribution distances without p-values: PSI, Jensen-Shannon, L-infinity, Wasserstein.

``psi``, ``js`` and ``linf`` accept two category -> count mappings (aligned on
the union of keys) or two count sequences over the same bins.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import special

from ._types import (
    NOTE_INSUFFICIENT,
    Bins,
    Counts,
    FloatArray,
    Summary,
    TestResult,
    align_counts,
    guarded,
    undefined,
)
from .verdict import DEFAULT_THRESHOLDS

# PSI is infinite when a cell is empty on one side only, so every probability
# is floored at PSI_EPSILON (no renormalization, so the floor does not grow with
# the number of categories). A category at 5% with no reference mass then adds
# about 0.3, i.e. it is flagged on its own.
PSI_EPSILON = 1e-4


def probabilities(
    reference: Counts, current: Counts
) -> tuple[FloatArray, FloatArray, float, float]:
    """Align two count sets and normalize them: (p_ref, p_cur, n_ref, n_cur).

    The probability vectors are all zeros when a sample is empty.
    """
    ref, cur = align_counts(reference, current)
    n_ref, n_cur = float(ref.sum()), float(cur.sum())
    p = ref / n_ref if n_ref > 0 else np.zeros_like(ref)
    q = cur / n_cur if n_cur > 0 else np.zeros_like(cur)
    return p, q, n_ref, n_cur


def _note(p: FloatArray, q: FloatArray) -> str:
    return "single category" if np.count_nonzero(p + q) == 1 else ""


@guarded
def psi(reference: Counts, current: Counts) -> TestResult:
    """Population stability index sum((q - p) * ln(q / p)), probabilities floored at PSI_EPSILON."""
    threshold = DEFAULT_THRESHOLDS["psi"]
    p, q, n_ref, n_cur = probabilities(reference, current)
    if n_ref == 0 or n_cur == 0:
        return undefined("psi", "psi", threshold, n_ref, n_cur, NOTE_INSUFFICIENT)
    ps, qs = np.maximum(p, PSI_EPSILON), np.maximum(q, PSI_EPSILON)
    value = float(np.sum((qs - ps) * np.log(qs / ps)))
    return TestResult("psi", value, None, value, "psi", threshold, n_ref, n_cur, _note(p, q))


@guarded
def js(reference: Counts, current: Counts) -> TestResult:
    """Jensen-Shannon distance in base 2 (in [0, 1]).

    No smoothing is needed: the mixture is positive wherever either side is.
    """
    threshold = DEFAULT_THRESHOLDS["js"]
    p, q, n_ref, n_cur = probabilities(reference, current)
    if n_ref == 0 or n_cur == 0:
        return undefined("js", "js_distance", threshold, n_ref, n_cur, NOTE_INSUFFICIENT)
    m = (p + q) / 2.0
    divergence = float(np.sum(special.rel_entr(p, m) + special.rel_entr(q, m))) / 2.0
    value = min(1.0, math.sqrt(max(0.0, divergence / math.log(2.0))))
    return TestResult("js", value, None, value, "js_distance", threshold, n_ref, n_cur, _note(p, q))


@guarded
def linf(reference: Counts, current: Counts) -> TestResult:
    """L-infinity distance of the normalized frequencies, as TFDV computes it."""
    threshold = DEFAULT_THRESHOLDS["linf"]
    p, q, n_ref, n_cur = probabilities(reference, current)
    if n_ref == 0 or n_cur == 0:
        return undefined("linf", "linf_distance", threshold, n_ref, n_cur, NOTE_INSUFFICIENT)
    value = float(np.max(np.abs(p - q))) if p.size else 0.0
    return TestResult(
        "linf", value, None, value, "linf_distance", threshold, n_ref, n_cur, _note(p, q)
    )


def bin_points(edges: FloatArray, summary: Summary) -> FloatArray:
    """One representative value per bin: midpoints, and for the two open bins the
    midpoint between the edge and the reference min/max (or the edge itself when
    unknown), never further out than the neighbouring inner bin is wide, so one
    outlier cannot dominate the distance.
    """
    if edges.size == 0:
        return np.zeros(1)
    inner = (edges[:-1] + edges[1:]) / 2.0
    lo_width = edges[1] - edges[0] if edges.size > 1 else math.inf
    hi_width = edges[-1] - edges[-2] if edges.size > 1 else math.inf
    lo, hi = summary.min, summary.max
    first = edges[0] - (
        min((edges[0] - lo) / 2.0, lo_width) if _finite(lo, below=edges[0]) else 0.0
    )
    last = edges[-1] + (
        min((hi - edges[-1]) / 2.0, hi_width) if _finite(hi, above=edges[-1]) else 0.0
    )
    return np.concatenate([[first], inner, [last]])


def _finite(x: float | None, *, below: float = math.inf, above: float = -math.inf) -> bool:
    return x is not None and math.isfinite(x) and above < x < below


@guarded
def wasserstein(
    reference_bins: Bins,
    current_bins: Bins,
    edges: Bins,
    reference_summary: Summary,
) -> TestResult:
    """1-D Wasserstein distance between the binned samples, divided by the reference sd.

    ``edges`` are the K-1 inner edges of the K bins. The statistic is the raw
    distance, the effect size the normed one.
    """
    threshold = DEFAULT_THRESHOLDS["wasserstein"]
    ref, cur = align_counts(reference_bins, current_bins)
    e = np.asarray(edges, dtype=np.float64)
    if e.ndim != 1 or e.size != ref.size - 1:
        raise ValueError(f"expected {ref.size - 1} inner edges for {ref.size} bins, got {e.size}")
    if not np.all(np.isfinite(e)) or np.any(np.diff(e) < 0):
        raise ValueError("edges must be finite and non-decreasing")
    n_ref, n_cur = float(ref.sum()), float(cur.sum())
    if n_ref == 0 or n_cur == 0:
        return undefined(
            "wasserstein", "normed_wasserstein", threshold, n_ref, n_cur, NOTE_INSUFFICIENT
        )
    x = bin_points(e, reference_summary)
    # W1 = integral of |F_ref - F_cur|; both CDFs are steps at the bin points.
    gap = np.abs(np.cumsum(ref)[:-1] / n_ref - np.cumsum(cur)[:-1] / n_cur)
    distance = float(np.sum(gap * np.diff(x)))
    sd = reference_summary.std
    if not (math.isfinite(sd) and sd > 0):
        note = "reference standard deviation is zero or undefined"
        return TestResult(
            "wasserstein", distance, None, None, "normed_wasserstein", threshold, n_ref, n_cur, note
        )
    return TestResult(
        "wasserstein", distance, None, distance / sd, "normed_wasserstein", threshold, n_ref, n_cur
    )
