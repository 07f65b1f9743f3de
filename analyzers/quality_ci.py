"""Confidence intervals of quality metrics and the "quality regressed" verdict.

Pure: closed-form intervals from counts and running moments, no resampling.

- accuracy, precision, recall (binary): Wilson score interval of k successes in n trials.
- macro precision / recall / F1 (multiclass): normal interval with the variance of the mean
  of the per-class estimates, treated as independent: sum(p_c (1 - p_c) / n_c) / C^2.
- F1 (binary): delta method on the multinomial proportions of (TP, FP, FN, TN).
- MAE, log loss: normal interval of a mean, mean +- z * sd / sqrt(n).
- RMSE: the normal interval of the mean squared error, square-rooted (lower end >= 0).
- ROC AUC: Hanley & McNeil (1982) standard error; macro AUC: sqrt(sum se_c^2) / C.
- R2: no interval (reported, never judged).

Verdict: a metric regressed when its whole interval lies on the worse side of the reference
moved by a tolerance: for higher-is-better metrics (accuracy, precision, recall, F1, ROC AUC,
R2) `ci_high < reference - tolerance` (tolerance absolute, these are rates); for
lower-is-better ones (MAE, RMSE, log loss) `ci_low > reference * (1 + tolerance)`
(tolerance relative, their scale is the target's). Metrics without an interval, or with fewer
than `min_count` labelled rows, are not judged.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

Interval = tuple[float, float]


def z_value(confidence: float) -> float:
    """Two-sided normal quantile of a confidence level (0.95 -> 1.96)."""
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie between 0 and 1, got {confidence}")
    return NormalDist().inv_cdf(0.5 + confidence / 2.0)


def wilson(k: float, n: float, z: float) -> Interval | None:
    """Wilson score interval of a proportion k/n (None when n == 0)."""
    if n <= 0:
        return None
    p = k / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2.0 * n)) / denom
    half = z * math.sqrt(p * (1.0 - p) / n + z * z / (4.0 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def mean_interval(mean: float, var: float, n: int, z: float) -> Interval | None:
    """Normal interval of a mean from the sample variance (None below two values)."""
    if n < 2 or not math.isfinite(var):
        return None
    half = z * math.sqrt(max(var, 0.0) / n)
    return mean - half, mean + half


def sqrt_interval(ci: Interval | None) -> Interval | None:
    """The interval of sqrt(x) from an interval of x >= 0."""
    if ci is None:
        return None
    return math.sqrt(max(ci[0], 0.0)), math.sqrt(max(ci[1], 0.0))


def macro_interval(
    value: float, parts: list[tuple[float, float]], z: float, upper: float = 1.0
) -> Interval | None:
    """Normal interval of a mean of per-class proportions given as (p_c, n_c)."""
    used = [(p, n) for p, n in parts if n > 0]
    if not parts or not used:
        return None
    var = sum(p * (1.0 - p) / n for p, n in used) / (len(parts) ** 2)
    half = z * math.sqrt(var)
    return max(0.0, value - half), min(upper, value + half)


def f1_interval(tp: float, fp: float, fn: float, tn: float, z: float) -> Interval | None:
    """Delta-method interval of F1 = 2TP / (2TP + FP + FN) under a multinomial model."""
    n = tp + fp + fn + tn
    d = 2.0 * tp + fp + fn
    if n <= 0 or d <= 0:
        return None
    a, b, c = tp / n, fp / n, fn / n
    dd = 2.0 * a + b + c
    f1 = 2.0 * a / dd
    grad = np.array([2.0 * (b + c) / dd**2, -2.0 * a / dd**2, -2.0 * a / dd**2])
    p = np.array([a, b, c])
    cov = (np.diag(p) - np.outer(p, p)) / n
    var = float(grad @ cov @ grad)
    half = z * math.sqrt(max(var, 0.0))
    return max(0.0, f1 - half), min(1.0, f1 + half)


def hanley_mcneil_se(auc: float, n_pos: float, n_neg: float) -> float | None:
    """Standard error of a ROC AUC (Hanley & McNeil 1982)."""
    if n_pos < 1 or n_neg < 1:
        return None
    q1 = auc / (2.0 - auc)
    q2 = 2.0 * auc * auc / (1.0 + auc)
    var = (
        auc * (1.0 - auc) + (n_pos - 1.0) * (q1 - auc * auc) + (n_neg - 1.0) * (q2 - auc * auc)
    ) / (n_pos * n_neg)
    return math.sqrt(max(var, 0.0))


def se_interval(value: float, se: float | None, z: float, upper: float = 1.0) -> Interval | None:
    if se is None:
        return None
    return max(0.0, value - z * se), min(upper, value + z * se)


@dataclass(frozen=True)
class Verdict:
    """How one metric compares with its reference."""

    reference: float | None
    threshold: float | None  # the bound the interval had to cross
    regressed: bool | None  # None: not judged (no reference, no interval, too few rows)
    note: str = ""


def judge(
    value: float | None,
    ci: Interval | None,
    higher_is_better: bool,
    reference: float | None,
    tolerance: float,
    n: int,
    min_count: int,
) -> Verdict:
    """Did the metric regress against `reference` (see the module docstring)?"""
    if reference is None or not math.isfinite(reference):
        return Verdict(None, None, None, "no reference value")
    if value is None:
        return Verdict(reference, None, None, "no value in this window")
    if n < min_count:
        return Verdict(reference, None, None, f"{n} labelled rows < min count {min_count}")
    if ci is None:
        return Verdict(reference, None, None, "no confidence interval for this metric")
    if higher_is_better:
        threshold = reference - tolerance
        return Verdict(reference, threshold, ci[1] < threshold)
    threshold = reference * (1.0 + tolerance) if reference >= 0 else reference + tolerance
    return Verdict(reference, threshold, ci[0] > threshold)
