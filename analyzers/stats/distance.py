"""Distribution distances: PSI, Jensen-Shannon, L-infinity, Wasserstein — each with a p-value.

``psi``, ``js`` and ``linf`` accept two category -> count mappings (aligned on
the union of keys) or two count sequences over the same bins.

A distance never alarms on its size alone: with few values or many cells, sampling
noise alone makes the plug-in distances large (under no drift ``E[PSI] ~ (C-1)/n_eff``
and ``E[JSD] ~ (C-1)/(8 n_eff)`` nats, with ``n_eff = n1*n2/(n1+n2)``). So every
distance comes with

- a p-value under "no drift": PSI and JS are, to second order, Pearson's X² / n_eff
  (``n_eff * PSI`` and ``8 n_eff * JSD`` share X²'s chi-square(C-1) law), and they take
  the p-value of X² on the same cells, which is the best behaved of the three at small
  counts; L-inf takes the Bonferroni bound over the cells of the largest standardized
  difference; Wasserstein takes a gamma law matched to its exact no-drift mean and
  variance (the binned CDF gaps are a Gaussian bridge);
- an effect size with that noise floor removed (``PSI - (C-1)/n_eff``,
  ``sqrt(JSD - (C-1)/(8 n_eff ln 2))`` in bits, ``sqrt(W² - E0[W²])``), comparable
  across window sizes; the raw plug-in value stays in ``statistic``.
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
from .chi2 import chi2_pvalue, pearson
from .verdict import DEFAULT_THRESHOLDS

# PSI is infinite when a cell is empty on one side only, so every probability
# is floored at PSI_EPSILON (no renormalization, so the floor does not grow with
# the number of categories). A category at 5% with no reference mass then adds
# about 0.3, i.e. it is flagged on its own.
PSI_EPSILON = 1e-4
# Expected values per cell (in the smaller sample) below which L-inf's normal bound is unsafe.
MIN_EXPECTED = 5.0


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


def _single(
    name: str, effect_name: str, threshold: float, n_ref: float, n_cur: float
) -> TestResult:
    """All mass in one cell on both sides: nothing can differ (a trivial result)."""
    return TestResult(
        name, 0.0, 1.0, 0.0, effect_name, threshold, n_ref, n_cur, "single category", trivial=True
    )


def _chi2_cells(reference: Counts, current: Counts) -> tuple[float, int, float]:
    ref, cur = align_counts(reference, current)
    stat, dof, n_eff = pearson(ref, cur)
    return chi2_pvalue(stat, dof), dof, n_eff


@guarded
def psi(reference: Counts, current: Counts) -> TestResult:
    """Population stability index sum((q - p) * ln(q / p)), probabilities floored at PSI_EPSILON.

    ``statistic`` is the plug-in PSI, ``effect_size`` the PSI less its no-drift mean
    ``(C - 1) / n_eff``; the p-value is Pearson's X² on the same cells.
    """
    threshold = DEFAULT_THRESHOLDS["psi"]
    p, q, n_ref, n_cur = probabilities(reference, current)
    if n_ref == 0 or n_cur == 0:
        return undefined("psi", "psi", threshold, n_ref, n_cur, NOTE_INSUFFICIENT)
    if _note(p, q):
        return _single("psi", "psi", threshold, n_ref, n_cur)
    ps, qs = np.maximum(p, PSI_EPSILON), np.maximum(q, PSI_EPSILON)
    value = float(np.sum((qs - ps) * np.log(qs / ps)))
    p_value, dof, n_eff = _chi2_cells(reference, current)
    effect = max(0.0, value - dof / n_eff)
    return TestResult("psi", value, p_value, effect, "psi", threshold, n_ref, n_cur, dof=float(dof))


@guarded
def js(reference: Counts, current: Counts) -> TestResult:
    """Jensen-Shannon distance in base 2 (in [0, 1]).

    No smoothing is needed: the mixture is positive wherever either side is.
    ``statistic`` is the plug-in distance, ``effect_size`` the distance with the no-drift
    mean of the divergence removed; the p-value is Pearson's X² on the same cells.
    """
    threshold = DEFAULT_THRESHOLDS["js"]
    p, q, n_ref, n_cur = probabilities(reference, current)
    if n_ref == 0 or n_cur == 0:
        return undefined("js", "js_distance", threshold, n_ref, n_cur, NOTE_INSUFFICIENT)
    if _note(p, q):
        return _single("js", "js_distance", threshold, n_ref, n_cur)
    m = (p + q) / 2.0
    divergence = float(np.sum(special.rel_entr(p, m) + special.rel_entr(q, m))) / 2.0
    bits = max(0.0, divergence / math.log(2.0))
    value = min(1.0, math.sqrt(bits))
    p_value, dof, n_eff = _chi2_cells(reference, current)
    effect = min(1.0, math.sqrt(max(0.0, bits - dof / (8.0 * n_eff * math.log(2.0)))))
    return TestResult(
        "js", value, p_value, effect, "js_distance", threshold, n_ref, n_cur, dof=float(dof)
    )


@guarded
def linf(reference: Counts, current: Counts) -> TestResult:
    """L-infinity distance of the normalized frequencies, as TFDV computes it.

    The p-value bounds the chance that the largest standardized cell difference
    ``|q - p| / sqrt(m (1 - m) (1/n1 + 1/n2))`` is this large under no drift
    (Bonferroni over the cells with at least MIN_EXPECTED pooled values expected in the
    smaller sample; conservative).
    """
    threshold = DEFAULT_THRESHOLDS["linf"]
    p, q, n_ref, n_cur = probabilities(reference, current)
    if n_ref == 0 or n_cur == 0:
        return undefined("linf", "linf_distance", threshold, n_ref, n_cur, NOTE_INSUFFICIENT)
    if _note(p, q):
        return _single("linf", "linf_distance", threshold, n_ref, n_cur)
    value = float(np.max(np.abs(p - q))) if p.size else 0.0
    pooled = (p * n_ref + q * n_cur) / (n_ref + n_cur)
    live = (pooled > 0) & (pooled < 1)
    # The normal approximation needs a few expected values per cell: rarer cells cannot
    # move L-inf much, and testing them would only add noise (and Bonferroni terms).
    sizable = live & (pooled * min(n_ref, n_cur) >= MIN_EXPECTED)
    if np.any(sizable):
        live = sizable
    se = np.sqrt(pooled[live] * (1.0 - pooled[live]) * (1.0 / n_ref + 1.0 / n_cur))
    z = float(np.max(np.abs(p[live] - q[live]) / se))
    cells = int(np.count_nonzero(live))
    p_value = min(1.0, cells * 2.0 * float(special.ndtr(-z)))
    return TestResult(
        "linf",
        value,
        p_value,
        value,
        "linf_distance",
        threshold,
        n_ref,
        n_cur,
        dof=float(cells),
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
    reference_sums: Bins | None = None,
    current_sums: Bins | None = None,
) -> TestResult:
    """1-D Wasserstein distance between the binned samples, divided by the reference sd.

    ``edges`` are the K-1 inner edges of the K bins. Each sample's mass in a bin sits at
    that sample's mean in the bin when ``*_sums`` (sum of the values per bin) are given,
    else at ``bin_points`` (midpoints; the open tail bins, where heavy tails live, are then
    underestimated). The statistic is the raw distance; the effect size is
    ``sqrt(W² - E0[W²])`` (the no-drift noise removed) over the reference sd. The p-value
    is that of the distance at the fixed bin points, from a gamma law with its no-drift
    mean and variance (``_null_moments``): a test of the counts alone.
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
    # The p-value tests the counts alone, on fixed bin points: the binned CDF gaps are a
    # Gaussian bridge under no drift. Per-bin means (heavy tails, where one extreme value
    # can move a tail bin's mean) only make the distance itself accurate.
    x = bin_points(e, reference_summary)
    widths = np.diff(x)
    gaps = np.abs(np.cumsum(ref)[:-1] / n_ref - np.cumsum(cur)[:-1] / n_cur)
    on_points = float(np.sum(gaps * widths))
    pooled_cdf = np.cumsum(ref + cur)[:-1] / (n_ref + n_cur)
    mean0, second0 = _null_moments(pooled_cdf, widths, 1.0 / n_ref + 1.0 / n_cur)
    p_value = _gamma_sf(on_points, mean0, second0 - mean0 * mean0)
    distance = on_points
    # Both sides or neither: one side at its means and the other at bin points (an old
    # baseline without bin means) would measure the geometry, not the data.
    if reference_sums is not None and current_sums is not None:
        x_ref, x_cur = _points(x, ref, reference_sums), _points(x, cur, current_sums)
        distance = _w1(x_ref, ref / n_ref, x_cur, cur / n_cur)
    sd = reference_summary.std
    if not (math.isfinite(sd) and sd > 0):
        note = "reference standard deviation is zero or undefined"
        return TestResult(
            "wasserstein",
            distance,
            p_value,
            None,
            "normed_wasserstein",
            threshold,
            n_ref,
            n_cur,
            note,
        )
    effect = math.sqrt(max(0.0, distance * distance - second0)) / sd
    return TestResult(
        "wasserstein",
        distance,
        p_value,
        effect,
        "normed_wasserstein",
        threshold,
        n_ref,
        n_cur,
        dof=float(ref.size),
    )


def _points(fallback: FloatArray, counts: FloatArray, sums: Bins | None) -> FloatArray:
    """Each bin's mean value where its sum is known and it has values, else `fallback`."""
    if sums is None:
        return fallback
    s = np.asarray(sums, dtype=np.float64)
    if s.shape != counts.shape or not np.all(np.isfinite(s)):
        return fallback
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, s / np.where(counts > 0, counts, 1.0), fallback)


def _w1(x_a: FloatArray, p_a: FloatArray, x_b: FloatArray, p_b: FloatArray) -> float:
    """W1 between two discrete distributions (points x, probabilities p): integral |F_a - F_b|."""
    x = np.concatenate([x_a, x_b])
    mass = np.concatenate([p_a, -p_b])
    order = np.argsort(x, kind="stable")
    gap = np.abs(np.cumsum(mass[order]))[:-1]
    return float(np.sum(gap * np.diff(x[order])))


def _null_moments(cdf: FloatArray, widths: FloatArray, scale: float) -> tuple[float, float]:
    """E[W] and E[W²] under no drift, W = sum(widths * |G|).

    The gaps G between the two empirical CDFs at the bin points are, to first order,
    a Gaussian bridge: Cov(G_i, G_j) = scale * F_i (1 - F_j) for i <= j (F the pooled
    CDF). E|G_i||G_j| of a bivariate normal is (2 s_i s_j / pi)(sqrt(1 - r²) + r asin r).
    """
    live = (cdf > 0) & (cdf < 1) & (widths > 0)
    f, w = cdf[live], widths[live]
    if f.size == 0:
        return 0.0, 0.0
    lo, hi = np.minimum.outer(f, f), np.maximum.outer(f, f)
    cov = scale * lo * (1.0 - hi)
    sd = np.sqrt(np.diag(cov))
    r = np.clip(cov / np.outer(sd, sd), -1.0, 1.0)
    abs_moment = (2.0 / math.pi) * np.outer(sd, sd) * (np.sqrt(1.0 - r * r) + r * np.arcsin(r))
    mean = float(np.sum(w * sd)) * math.sqrt(2.0 / math.pi)
    second = float(w @ abs_moment @ w)
    return mean, max(second, mean * mean)


def _gamma_sf(x: float, mean: float, var: float) -> float:
    """Upper tail at x of the gamma law with this mean and variance (1.0 when degenerate)."""
    if mean <= 0 or var <= 0:
        return 1.0 if x <= 0 else 0.0
    shape, scale = mean * mean / var, var / mean
    return float(special.gammaincc(shape, x / scale))
