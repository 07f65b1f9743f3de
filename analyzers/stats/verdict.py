"""Verdict policy: turn a run's test results into drift decisions.

A result with a p-value drifts when its Benjamini-Hochberg adjusted p-value is
below ``alpha`` AND its effect size reaches the threshold: at Elasticsearch
scale every tiny difference is "significant", so the effect size decides. A
result without a p-value (psi, js, linf, wasserstein, cramers_v) drifts on its
effect size alone. Undefined results never drift. ``missing_rate`` and
``oov_rate`` only drift when the current rate is higher (positive statistic):
fewer missing or out-of-vocabulary values are not an alarm.

Default effect-size thresholds, each with its reason:

- chi2 (Cramer's V) 0.1: Cohen's "small" association for a 2-row table. V
  (like eta and epsilon squared) shrinks when one sample dwarfs the other.
- cramers_v 0.1: same measure and convention as chi2.
- ks (D) 0.1: a 10-point gap between CDFs; a +0.3 sd mean shift gives ~0.12.
- t_test (|Cohen's d|) 0.2: Cohen's "small" standardized mean difference.
- anova (eta squared) 0.01: Cohen's "small" share of explained variance.
- kruskal (epsilon squared) 0.01: rank analogue of eta squared, same convention.
- mann_whitney (|rank-biserial r|) 0.1: Cohen's "small" correlation.
- psi 0.2: industry rule of thumb (< 0.1 stable, 0.1-0.2 moderate, > 0.2 shift).
- js (distance, base 2) 0.1: a +0.3 sd shift gives ~0.12; its noise grows
  like sqrt(categories / n), so lower values alarm on high-cardinality features.
- linf 0.05 (not 0.1): a category share moving by 10 points must clear the
  threshold with margin; at 0.1 it was a coin flip. Noise at 1e5 rows is < 0.005.
- wasserstein (normed by reference sd) 0.1: the distribution moved 0.1 sd.
- missing_rate / oov_rate (|Cohen's h|) 0.2: Cohen's "small" proportion change.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

from ._types import TestResult
from .multiple import benjamini_hochberg

DEFAULT_THRESHOLDS: Mapping[str, float] = MappingProxyType(
    {
        "anova": 0.01,
        "chi2": 0.1,
        "cramers_v": 0.1,
        "js": 0.1,
        "kruskal": 0.01,
        "ks": 0.1,
        "linf": 0.05,
        "mann_whitney": 0.1,
        "missing_rate": 0.2,
        "oov_rate": 0.2,
        "psi": 0.2,
        "t_test": 0.2,
        "wasserstein": 0.1,
    }
)

# Tests whose alarm is one-sided: only an increase of the rate is drift.
INCREASE_ONLY: frozenset[str] = frozenset({"missing_rate", "oov_rate"})


@dataclass(frozen=True)
class VerdictPolicy:
    """Significance level (on BH-adjusted p-values) and effect-size thresholds."""

    alpha: float = 0.05
    # hash=False: a mapping is not hashable, and alpha alone is a valid hash.
    thresholds: Mapping[str, float] = field(default_factory=lambda: DEFAULT_THRESHOLDS, hash=False)

    def __post_init__(self) -> None:
        if not 0.0 < self.alpha < 1.0:
            raise ValueError(f"alpha must lie in (0, 1), got {self.alpha!r}")

    def apply(self, results: Sequence[TestResult]) -> list[TestResult]:
        """Fill ``p_value_adjusted``, ``threshold`` and ``drifted`` for a whole run."""
        adjusted = benjamini_hochberg([r.p_value for r in results])
        return [self._decide(r, p_adj) for r, p_adj in zip(results, adjusted, strict=True)]

    def _decide(self, result: TestResult, p_adj: float | None) -> TestResult:
        threshold = self.thresholds.get(result.name, result.threshold)
        drifted = result.effect_size is not None and result.effect_size >= threshold
        if result.p_value is not None:
            drifted = drifted and p_adj is not None and p_adj < self.alpha
        elif result.statistic is None:
            drifted = False
        if result.name in INCREASE_ONLY:
            drifted = drifted and result.statistic is not None and result.statistic > 0
        return dataclasses.replace(
            result, p_value_adjusted=p_adj, threshold=threshold, drifted=drifted
        )


def feature_drifted(results: Sequence[TestResult]) -> bool:
    """A feature drifted when any of its judged results drifted.

    Raises ``ValueError`` if a result was not judged yet (apply a policy first),
    so that an unjudged run is never silently reported as "no drift".
    """
    if any(r.drifted is None for r in results):
        raise ValueError("results must be judged by VerdictPolicy.apply first")
    return any(r.drifted for r in results)
