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

Verdict: a metric regressed when it is worse than the reference by more than a tolerance AND
the loss is beyond chance, as `analyze` judges drift (effect past its threshold and Holm p <
alpha). The threshold is `reference - tolerance` for higher-is-better metrics (accuracy,
precision, recall, F1, ROC AUC, R2; tolerance absolute, these are rates) and
`reference * (1 + tolerance)` for lower-is-better ones (MAE, RMSE, log loss; tolerance
relative, their scale is the target's); the point value must be past it. `judge` gives each
metric the one-sided p-value of its loss against the reference, from the normal
approximation of the difference: the spread of this window's interval on the side that
matters AND the reference's own standard error (`Reference.se`: a previous window is as noisy
as this one). `settle` applies Holm over every judged metric and version of the run at
alpha = 1 - confidence, so a run flags a regression that did not happen at most alpha of the
time. Metrics without an interval, or with fewer than `min_count` labelled rows, are not
judged.

Why: the old rule ("the whole interval lies past the threshold") compared this window's
interval with the previous window's point value, as if that were exact, for six metrics per
version separately. Simulated A/A runs (binary, calibrated scores,
`tests/unit/quality/test_quality_false_alarms.py`) flagged a regression in 38 % of runs at 30
labelled rows per window, 15 % at 100, 13 % at 300 and 10 % at 1,000.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from predwatch.analyzers.stats.multiple import holm

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
    threshold: float | None  # the bound the metric had to cross
    regressed: bool | None  # None: not judged (no reference, no interval, too few rows)
    note: str = ""
    p_value: float | None = None  # one-sided, of the loss against the reference; before Holm
    p_adjusted: float | None = None  # after `settle` (Holm over the run)
    beyond: bool = False  # the point value is past the threshold (the loss is large enough)


@dataclass(frozen=True)
class Reference:
    """A reference value and its own standard error (0: taken as exact)."""

    value: float
    se: float = 0.0


def spread(value: float | None, ci: Interval | None, z: float, upward: bool) -> float | None:
    """The standard error implied by one side of an interval built with `z`."""
    if value is None or ci is None or z <= 0:
        return None
    return max((ci[1] - value) if upward else (value - ci[0]), 0.0) / z


def judge(
    value: float | None,
    ci: Interval | None,
    higher_is_better: bool,
    reference: float | Reference | None,
    tolerance: float,
    n: int,
    min_count: int,
    z: float = 1.959963984540054,
) -> Verdict:
    """Did the metric regress against `reference` (see the module docstring)? `ci` was built
    with `z`; `regressed` here is the verdict of this metric alone (p < (1 - confidence) / 2),
    `settle` makes it the run's."""
    ref = (
        reference if isinstance(reference, Reference) or reference is None else Reference(reference)
    )
    if ref is None or not math.isfinite(ref.value):
        return Verdict(None, None, None, "no reference value")
    if value is None:
        return Verdict(ref.value, None, None, "no value in this window")
    if n < min_count:
        return Verdict(ref.value, None, None, f"{n} labelled rows < min count {min_count}")
    se = spread(value, ci, z, upward=higher_is_better)
    if se is None:
        return Verdict(ref.value, None, None, "no confidence interval for this metric")
    if higher_is_better:
        threshold, loss = ref.value - tolerance, ref.value - value
        beyond = value < threshold
    else:
        threshold = ref.value * (1.0 + tolerance) if ref.value >= 0 else ref.value + tolerance
        loss, beyond = value - ref.value, value > threshold
    sd = math.hypot(se, ref.se)
    p = NormalDist().cdf(-loss / sd) if sd > 0 else float(loss <= 0)
    regressed = beyond and p < NormalDist().cdf(-z)
    return Verdict(ref.value, threshold, regressed, p_value=p, beyond=beyond)


def settle(verdicts: Sequence[Verdict], alpha: float) -> list[Verdict]:
    """The run's verdicts: Holm over every judged metric (and version) at level `alpha`."""
    adjusted = holm([v.p_value if v.regressed is not None else None for v in verdicts])
    out = []
    for v, p in zip(verdicts, adjusted, strict=True):
        if v.regressed is None or p is None:
            out.append(v)
        else:
            out.append(dataclasses.replace(v, regressed=v.beyond and p < alpha, p_adjusted=p))
    return out


@dataclass(frozen=True)
class Candidate:
    """One metric of one version as `judge` takes it (`judged` False: reported only)."""

    name: str
    value: float | None
    interval: Interval | None
    higher_is_better: bool
    reference: Reference | None
    n: int
    judged: bool = True


def judge_run(
    groups: Mapping[str, Sequence[Candidate]],
    *,
    tolerance: float,
    min_count: int,
    confidence: float,
    twin: str | None = None,
    all_key: str = "*",
) -> dict[str, list[Verdict]]:
    """Every candidate of every version judged, then Holm over the run at 1 - confidence
    (`settle`): one run, one false-alarm rate. `twin`: a version whose rows are all the
    versions' rows (`all_key`), so the same data: judged once, and given those verdicts."""
    z = z_value(confidence)
    keys: list[tuple[str, int]] = []
    verdicts: list[Verdict] = []
    for version, items in groups.items():
        if version == twin and all_key in groups:
            continue
        for i, c in enumerate(items):
            ref = c.reference
            if not c.judged:
                v = Verdict(ref.value if ref else None, None, None)
            else:
                v = judge(
                    c.value, c.interval, c.higher_is_better, ref, tolerance, c.n, min_count, z
                )
            keys.append((version, i))
            verdicts.append(v)
    settled = settle(verdicts, 1.0 - confidence)
    none = Verdict(None, None, None)
    out = {v: [none] * len(g) for v, g in groups.items()}
    for (version, i), v in zip(keys, settled, strict=True):
        out[version][i] = v
    if twin is not None and twin in groups and all_key in groups:
        same = {c.name: v for c, v in zip(groups[all_key], out[all_key], strict=True)}
        out[twin] = [same.get(c.name, none) for c in groups[twin]]
    return out
