"""Descriptor per test and the default tests per feature type.

``kind`` tells a caller how to call ``func``:

- ``"binned"``: ``func(reference_bins, current_bins, **extra)`` with counts over
  the same ordered bins; ``extra_inputs`` names further keyword arguments.
- ``"categorical"``: ``func(reference, current)`` with category -> count
  mappings (bin count sequences work too, since order does not matter).
- ``"summary"``: ``func(reference_summary, current_summary)``.
- ``"proportion"``: ``func(ref_hits, ref_total, cur_hits, cur_total)`` (out_of_range_rate
  takes a fifth argument: whether the reference is the sample that set the range).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Literal

from ._types import TestResult
from .chi2 import chi2, cramers_v
from .distance import js, linf, psi, wasserstein
from .ks import ks
from .means import anova2, t_test
from .proportions import missing_rate, oov_rate, out_of_range_rate
from .ranks import kruskal2, mann_whitney
from .verdict import DEFAULT_THRESHOLDS

Kind = Literal["binned", "categorical", "summary", "proportion"]

NUMERIC = frozenset({"numeric", "prediction"})
ALL_TYPES = frozenset({"numeric", "categorical", "text", "prediction"})


@dataclass(frozen=True)
class TestSpec:
    """How to call one test and what it is for."""

    __test__ = False  # not a pytest test class despite the name

    name: str
    func: Callable[..., TestResult]
    feature_types: frozenset[str]
    kind: Kind
    default_threshold: float
    description: str
    extra_inputs: tuple[str, ...] = ()


def _spec(
    func: Callable[..., TestResult], types: frozenset[str], kind: Kind, description: str, **kw: Any
) -> TestSpec:
    name = "kruskal" if func is kruskal2 else "anova" if func is anova2 else func.__name__
    return TestSpec(name, func, types, kind, DEFAULT_THRESHOLDS[name], description, **kw)


_SPECS = (
    _spec(chi2, frozenset({"categorical"}), "categorical", "Chi-square homogeneity; Cramer's V"),
    _spec(cramers_v, frozenset({"categorical"}), "categorical", "Cramer's V association"),
    _spec(psi, NUMERIC | {"categorical"}, "categorical", "Population stability index"),
    _spec(js, NUMERIC | {"categorical"}, "categorical", "Jensen-Shannon distance, base 2"),
    _spec(linf, NUMERIC | {"categorical"}, "categorical", "Max frequency difference (TFDV)"),
    _spec(ks, NUMERIC, "binned", "Kolmogorov-Smirnov at the bin edges"),
    _spec(kruskal2, NUMERIC, "binned", "Kruskal-Wallis H on bin mid ranks"),
    _spec(mann_whitney, NUMERIC, "binned", "Mann-Whitney U on bin mid ranks"),
    _spec(
        wasserstein,
        NUMERIC,
        "binned",
        "Wasserstein-1 distance over bin points, in reference sd",
        extra_inputs=("edges", "reference_summary", "reference_sums", "current_sums"),
    ),
    _spec(t_test, NUMERIC, "summary", "Welch t test; Cohen's d"),
    _spec(anova2, NUMERIC, "summary", "One-way ANOVA F; eta squared"),
    _spec(missing_rate, ALL_TYPES, "proportion", "Missing-value rate increase"),
    _spec(
        oov_rate,
        frozenset({"categorical", "text"}),
        "proportion",
        "Out-of-vocabulary rate increase",
    ),
    _spec(
        out_of_range_rate,
        frozenset({"numeric"}),
        "proportion",
        "Increase of the share of values outside the training [min, max]",
    ),
)

REGISTRY: Mapping[str, TestSpec] = MappingProxyType({s.name: s for s in _SPECS})

DEFAULT_TESTS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "numeric": ("ks", "psi", "wasserstein", "t_test", "missing_rate", "out_of_range_rate"),
        "categorical": ("chi2", "psi", "js", "linf", "missing_rate", "oov_rate"),
        "text": ("oov_rate", "missing_rate"),
        "prediction": ("ks", "psi", "wasserstein", "t_test"),
    }
)
