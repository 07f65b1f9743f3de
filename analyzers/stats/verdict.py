"""Verdict policy: turn a run's test results into drift decisions.

One rule for every result: it drifts when sampling noise at its sample size is an
unlikely explanation AND the change is large enough to matter, i.e. when

- its Holm-adjusted p-value is below ``alpha`` (the correction runs over every
  non-trivial result of the run: all features, all tests, the predictions), and
- its effect size reaches the threshold (effect sizes do not depend on n; the distances
  have their no-drift noise floor removed, see ``distance``), and
- for ``missing_rate``, ``oov_rate`` and ``out_of_range_rate``, the rate went up (their
  p-values are one-sided).

Every test has a p-value, so no result alarms on its size alone. Results without a
p-value (undefined: too few values) and trivial ones (a rate of 0 on both sides, one
category: the data cannot show a difference) never drift and do not count in the
correction. Holm bounds the chance of any false alarm in a run by ``alpha`` whatever the
tests' dependence and whatever else drifted: with no drift, the chance that a run flags
anything is at most ``alpha``, and a feature that really moved does not make the others
easier to flag (tests/unit/analyzers/test_analyze_calibration.py simulates it). Each
result also gets the smallest effect it
could detect at this n with 80 % power at level ``alpha / m`` (``power``), so a window
too small to see the configured effect says so.

Default effect-size thresholds, each with its reason:

- chi2 (Cohen's w, bias-corrected) 0.1: Cohen's "small" effect; about 2 % of the
  mass moving between two categories of 10 % each.
- cramers_v 0.1: V for two equal samples (w / 2), Cohen's "small" for a 2-row table.
- ks (D) 0.1: a 10-point gap between CDFs; a +0.3 sd mean shift gives ~0.12.
- t_test (|Cohen's d|) 0.2: Cohen's "small" standardized mean difference.
- anova (eta squared) 0.01: Cohen's "small" share of explained variance.
- kruskal (epsilon squared) 0.01: rank analogue of eta squared, same convention.
- mann_whitney (|rank-biserial r|) 0.1: Cohen's "small" correlation.
- psi (bias-corrected) 0.2: industry rule of thumb (< 0.1 stable, 0.1-0.2 moderate,
  > 0.2 shift), now on the same scale at every window size.
- js (distance, base 2, bias-corrected) 0.1: a +0.3 sd shift gives ~0.12.
- linf 0.05: a category share moving by 5 points.
- wasserstein (normed by reference sd, bias-corrected) 0.1: the distribution moved 0.1 sd.
- missing_rate / oov_rate / out_of_range_rate (|Cohen's h|) 0.2: Cohen's "small" proportion
  change (e.g. 0.2 % of values beyond the training extremes growing to 2.1 %).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

from ._types import TestResult
from .multiple import holm
from .power import min_detectable_effect

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
        "out_of_range_rate": 0.2,
        "psi": 0.2,
        "t_test": 0.2,
        "wasserstein": 0.1,
    }
)

# Tests whose alarm is one-sided: only an increase of the rate is drift.
INCREASE_ONLY: frozenset[str] = frozenset({"missing_rate", "oov_rate", "out_of_range_rate"})


@dataclass(frozen=True)
class VerdictPolicy:
    """Significance level (on Holm-adjusted p-values) and effect-size thresholds."""

    alpha: float = 0.05
    # hash=False: a mapping is not hashable, and alpha alone is a valid hash.
    thresholds: Mapping[str, float] = field(default_factory=lambda: DEFAULT_THRESHOLDS, hash=False)

    def __post_init__(self) -> None:
        if not 0.0 < self.alpha < 1.0:
            raise ValueError(f"alpha must lie in (0, 1), got {self.alpha!r}")

    def apply(
        self, results: Sequence[TestResult], groups: Sequence[str] | None = None
    ) -> list[TestResult]:
        """Fill ``p_value_adjusted``, ``threshold``, ``drifted`` and the detectable effect.

        ``groups`` names the feature of each result. Within a feature, results with the same
        p-value come from one test of one hypothesis (psi and js take chi2's X² on the same
        cells): they count once in the correction, as the test they are.
        """
        keys = list(groups) if groups is not None else [str(i) for i in range(len(results))]
        if len(keys) != len(results):
            raise ValueError("groups must name one feature per result")
        distinct: dict[tuple[str, float], int] = {}
        slot: list[int | None] = []
        for key, r in zip(keys, results, strict=True):
            if counts(r) and r.p_value is not None:
                slot.append(distinct.setdefault((key, r.p_value), len(distinct)))
            else:
                slot.append(None)
        adjusted = holm([p for _, p in distinct])
        m = max(1, len(distinct))
        return [
            self._decide(r, None if s is None else adjusted[s], self.alpha / m)
            for r, s in zip(results, slot, strict=True)
        ]

    def _decide(self, result: TestResult, p_adj: float | None, level: float) -> TestResult:
        threshold = self.thresholds.get(result.name, result.threshold)
        drifted = (
            result.effect_size is not None
            and result.effect_size >= threshold
            and p_adj is not None
            and p_adj < self.alpha
        )
        if result.name in INCREASE_ONLY:
            drifted = drifted and result.statistic is not None and result.statistic > 0
        judged = dataclasses.replace(
            result, p_value_adjusted=p_adj, threshold=threshold, drifted=drifted
        )
        mde = min_detectable_effect(judged, level) if p_adj is not None else None
        return dataclasses.replace(judged, min_detectable_effect=mde)


def counts(result: TestResult) -> bool:
    """Whether a result enters the multiple-testing correction (it can show a difference)."""
    return result.p_value is not None and not result.trivial


def feature_drifted(results: Sequence[TestResult]) -> bool:
    """A feature drifted when any of its judged results drifted.

    Raises ``ValueError`` if a result was not judged yet (apply a policy first),
    so that an unjudged run is never silently reported as "no drift".
    """
    if any(r.drifted is None for r in results):
        raise ValueError("results must be judged by VerdictPolicy.apply first")
    return any(r.drifted for r in results)
