"""Pure drift statistics computed from aggregated counts and summary statistics.

Every test returns a ``TestResult`` and never raises on degenerate data; a
``VerdictPolicy`` then adjusts p-values across a run and decides drift.
"""

from ._types import Summary, TestResult
from .chi2 import chi2, cramers_v
from .distance import PSI_EPSILON, js, linf, probabilities, psi, wasserstein
from .ks import ks
from .means import anova, anova2, t_test
from .multiple import holm
from .proportions import missing_rate, oov_rate, out_of_range_rate
from .ranks import kruskal, kruskal2, mann_whitney
from .registry import DEFAULT_TESTS, REGISTRY, TestSpec
from .verdict import DEFAULT_THRESHOLDS, INCREASE_ONLY, VerdictPolicy, feature_drifted

__all__ = [
    "DEFAULT_TESTS",
    "DEFAULT_THRESHOLDS",
    "INCREASE_ONLY",
    "PSI_EPSILON",
    "REGISTRY",
    "Summary",
    "TestResult",
    "TestSpec",
    "VerdictPolicy",
    "anova",
    "anova2",
    "chi2",
    "cramers_v",
    "feature_drifted",
    "holm",
    "js",
    "kruskal",
    "kruskal2",
    "ks",
    "linf",
    "mann_whitney",
    "missing_rate",
    "oov_rate",
    "out_of_range_rate",
    "probabilities",
    "psi",
    "t_test",
    "wasserstein",
]
