"""Minimum detectable effects: the smallest change a test finds with 80 % power at its n.

A window too small to see the configured effect must say so rather than guess. For
each test, ``min_detectable_effect(result, alpha)`` gives the effect size (on the test's
own scale, the one its threshold uses) that the test detects with probability
``POWER`` at significance ``alpha`` (the policy passes the level the first alarm of a
run must reach, ``alpha / m``). Normal or noncentral chi-square approximations:

- t_test (Cohen's d), wasserstein (normed; a location shift of d sd moves W1 by d):
  ``(z[1-a/2] + z[power]) * sqrt(1/n1 + 1/n2)``;
- missing_rate / oov_rate / out_of_range_rate (Cohen's h, one-sided):
  ``(z[1-a] + z[power]) * sqrt(1/n1 + 1/n2)``;
- chi2 (Cohen's w), psi, js: the noncentrality ``lam`` at which a chi-square(dof) test
  has that power; ``w = sqrt(lam / n_eff)``, ``psi = lam / n_eff`` and the JS distance
  ``sqrt(lam / (8 n_eff ln 2))`` (the three agree to second order);
- ks (D): ``(sqrt(ln(2/a) / 2) + z[power] / 2) / sqrt(n_eff)`` (Smirnov's bound, worst-case sd);
- linf: one cell at share 1/2 moving, Bonferroni over the cells: an upper bound.
Tests without a formula (anova, kruskal, mann_whitney) return None.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from scipy import special

from ._types import TestResult

POWER = 0.8


def _n(result: TestResult) -> tuple[float, float] | None:
    n1, n2 = result.n_reference, result.n_current
    if not (n1 > 0 and n2 > 0 and math.isfinite(n1) and math.isfinite(n2)):
        return None
    return n1, n2


def _z(p: float) -> float:
    return float(special.ndtri(p))


def _spread(n1: float, n2: float) -> float:
    return math.sqrt(1.0 / n1 + 1.0 / n2)


def _two_sided_shift(result: TestResult, alpha: float) -> float | None:
    n = _n(result)
    return None if n is None else (_z(1 - alpha / 2) + _z(POWER)) * _spread(*n)


def _one_sided_shift(result: TestResult, alpha: float) -> float | None:
    n = _n(result)
    return None if n is None else (_z(1 - alpha) + _z(POWER)) * _spread(*n)


def _noncentrality(result: TestResult, alpha: float) -> tuple[float, float] | None:
    """(lambda, n_eff) for a chi-square test of `result.dof` degrees of freedom."""
    n = _n(result)
    dof = result.dof
    if n is None or dof is None or dof < 1:
        return None
    critical = float(special.chdtri(dof, alpha))
    lam = float(special.chndtrinc(critical, dof, 1.0 - POWER))
    if not math.isfinite(lam):
        return None
    return lam, 1.0 / (1.0 / n[0] + 1.0 / n[1])


def _w(result: TestResult, alpha: float) -> float | None:
    nc = _noncentrality(result, alpha)
    return None if nc is None else math.sqrt(nc[0] / nc[1])


def _psi(result: TestResult, alpha: float) -> float | None:
    nc = _noncentrality(result, alpha)
    return None if nc is None else nc[0] / nc[1]


def _js(result: TestResult, alpha: float) -> float | None:
    nc = _noncentrality(result, alpha)
    return None if nc is None else min(1.0, math.sqrt(nc[0] / (8 * nc[1] * math.log(2.0))))


def _ks(result: TestResult, alpha: float) -> float | None:
    n = _n(result)
    if n is None:
        return None
    n_eff = 1.0 / (1.0 / n[0] + 1.0 / n[1])
    return min(1.0, (math.sqrt(math.log(2.0 / alpha) / 2.0) + _z(POWER) / 2.0) / math.sqrt(n_eff))


def _linf(result: TestResult, alpha: float) -> float | None:
    n = _n(result)
    if n is None:
        return None
    cells = max(1.0, result.dof or 1.0)
    return min(1.0, (_z(1 - alpha / (2 * cells)) + _z(POWER)) * 0.5 * _spread(*n))


def _cramers_v(result: TestResult, alpha: float) -> float | None:
    w = _w(result, alpha)
    return None if w is None else w / 2.0


FORMULAS: dict[str, Callable[[TestResult, float], float | None]] = {
    "chi2": _w,
    "cramers_v": _cramers_v,
    "js": _js,
    "ks": _ks,
    "linf": _linf,
    "missing_rate": _one_sided_shift,
    "oov_rate": _one_sided_shift,
    "out_of_range_rate": _one_sided_shift,
    "psi": _psi,
    "t_test": _two_sided_shift,
    "wasserstein": _two_sided_shift,
}


def min_detectable_effect(result: TestResult, alpha: float) -> float | None:
    """Smallest effect `result`'s test detects with POWER at level `alpha` (None: unknown)."""
    formula = FORMULAS.get(result.name)
    if formula is None or result.trivial or not 0.0 < alpha < 1.0:
        return None
    with_nan = formula(result, alpha)
    return with_nan if with_nan is not None and math.isfinite(with_nan) else None
