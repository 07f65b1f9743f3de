"""Input value objects, the common result type and count validation.

Conventions shared by every test in this package:

- ``effect_size`` is never negative; the direction of a change lives in the sign
  of ``statistic`` where a test has one (positive means "current is larger").
- Degenerate but valid data never raises: the result carries ``None`` values and
  a ``note``. Invalid input (negative or non-finite counts, mismatched lengths)
  is a caller bug and raises ``ValueError``.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ParamSpec

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
# Inputs: plain sequences (as parsed from Elasticsearch JSON) or numpy arrays.
Bins = Sequence[float] | npt.NDArray[Any]
Counts = Mapping[str, float] | Bins

NOTE_INSUFFICIENT = "insufficient data"
NOTE_NUMERIC = "numerically undefined (extreme counts)"

P = ParamSpec("P")


@dataclass(frozen=True)
class Summary:
    """Count, mean and sample variance (ddof=1) of one numeric sample."""

    n: float
    mean: float
    var: float
    min: float | None = None
    max: float | None = None

    def __post_init__(self) -> None:
        if not math.isfinite(self.n) or self.n < 0:
            raise ValueError(f"Summary.n must be finite and >= 0, got {self.n!r}")
        if self.var < 0:
            raise ValueError(f"Summary.var must be >= 0, got {self.var!r}")

    @property
    def std(self) -> float:
        """Sample standard deviation (NaN when undefined)."""
        return math.sqrt(self.var) if self.var >= 0 else math.nan

    @classmethod
    def from_extended_stats(cls, d: Mapping[str, Any]) -> Summary:
        """Build from an Elasticsearch ``extended_stats`` aggregation result.

        Undefined values (null when ``count`` is 0, or a variance for a single
        value) become NaN, which every test treats as "insufficient data".
        """
        n = float(d.get("count") or 0)
        var = d.get("variance_sampling")
        if var is None and d.get("variance") is not None and n > 1:
            # Older clusters only report the population variance.
            var = float(d["variance"]) * n / (n - 1)
        # Elasticsearch computes the variance as E[x^2] - E[x]^2, which can come
        # out slightly negative for constant values: clamp at 0.
        var = _float_or_nan(var) if n > 1 else math.nan
        var = 0.0 if var < 0 else var
        return cls(
            n=n,
            mean=_float_or_nan(d.get("avg")),
            var=var,
            min=None if d.get("min") is None else float(d["min"]),
            max=None if d.get("max") is None else float(d["max"]),
        )

    @classmethod
    def from_values(cls, values: npt.ArrayLike) -> Summary:
        """Summarize raw values (for tests and small in-memory samples)."""
        x = np.asarray(values, dtype=np.float64).ravel()
        if x.size == 0:
            return cls(n=0.0, mean=math.nan, var=math.nan)
        var = float(np.var(x, ddof=1)) if x.size > 1 else math.nan
        return cls(float(x.size), float(np.mean(x)), var, float(x.min()), float(x.max()))


@dataclass(frozen=True)
class TestResult:
    """Outcome of one statistical test; verdict fields are filled by the policy."""

    __test__ = False  # not a pytest test class despite the name

    name: str
    statistic: float | None
    p_value: float | None
    effect_size: float | None
    effect_name: str
    threshold: float
    n_reference: float
    n_current: float
    note: str = ""
    p_value_adjusted: float | None = None
    drifted: bool | None = None
    # Cells compared (categorical and binned distances): the degrees of freedom are dof.
    dof: float | None = None
    # True when the data cannot show a difference at all (e.g. a rate of 0 in both samples):
    # the p-value is a constant 1 and the result does not enter the multiple-testing correction.
    trivial: bool = False
    # Smallest effect this test detects with 80 % power at this n (filled by the policy).
    min_detectable_effect: float | None = None

    @property
    def detectable(self) -> bool | None:
        """Whether the configured threshold is within reach at this n (None: unknown)."""
        if self.min_detectable_effect is None:
            return None
        return self.min_detectable_effect <= self.threshold


def _float_or_nan(value: Any) -> float:
    return math.nan if value is None else float(value)


def as_counts(values: Bins, label: str) -> FloatArray:
    """Return ``values`` as a 1-D float array, rejecting negative or non-finite counts."""
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"{label}: counts must be one-dimensional, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{label}: counts must be finite (got NaN or inf)")
    if np.any(arr < 0):
        raise ValueError(f"{label}: counts must be >= 0")
    return arr


def align_counts(
    reference: Counts,
    current: Counts,
) -> tuple[FloatArray, FloatArray]:
    """Align two category mappings (union of keys) or two equal-length bin sequences."""
    if isinstance(reference, Mapping) and isinstance(current, Mapping):
        keys = sorted(set(reference) | set(current))
        ref = as_counts([reference.get(k, 0.0) for k in keys], "reference")
        cur = as_counts([current.get(k, 0.0) for k in keys], "current")
        return ref, cur
    if isinstance(reference, Mapping) or isinstance(current, Mapping):
        raise ValueError("reference and current must both be mappings or both be sequences")
    ref = as_counts(reference, "reference")
    cur = as_counts(current, "current")
    if ref.shape != cur.shape:
        raise ValueError(f"bin counts differ in length: {ref.size} vs {cur.size}")
    return ref, cur


def undefined(
    name: str, effect_name: str, threshold: float, n_ref: float, n_cur: float, note: str
) -> TestResult:
    """Result for data on which the test is not defined."""
    return TestResult(name, None, None, None, effect_name, threshold, n_ref, n_cur, note)


def guarded(func: Callable[P, TestResult]) -> Callable[P, TestResult]:
    """Turn a NaN or infinite outcome (e.g. from subnormal counts) into an undefined result.

    Also silences numpy's floating-point warnings, which such outcomes trigger.
    """

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> TestResult:
        with np.errstate(all="ignore"):
            result = func(*args, **kwargs)
        values = (result.statistic, result.p_value, result.effect_size)
        if all(v is None or math.isfinite(v) for v in values):
            return result
        return dataclasses.replace(
            result, statistic=None, p_value=None, effect_size=None, note=NOTE_NUMERIC
        )

    return wrapper
