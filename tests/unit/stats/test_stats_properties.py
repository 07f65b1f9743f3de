"""Property test: arbitrary non-negative counts never make a test raise."""

from __future__ import annotations

import math

import hypothesis.strategies as st
from hypothesis import given, settings

from predwatch.analyzers import stats

count = st.one_of(
    st.integers(0, 10**9).map(float),
    st.floats(0.0, 1e9, allow_nan=False),
    st.floats(0.0, 1e300, allow_nan=False),  # overflow and subnormal territory
)
small_count = st.integers(0, 5).map(float)  # many zeros and ties
counts = st.lists(st.one_of(count, small_count), min_size=1, max_size=12)


@st.composite
def two_binned(draw: st.DrawFn) -> tuple[list[float], list[float], list[float]]:
    ref = draw(counts)
    cur = draw(st.lists(st.one_of(count, small_count), min_size=len(ref), max_size=len(ref)))
    edges = sorted(
        draw(st.lists(st.floats(-1e6, 1e6), min_size=len(ref) - 1, max_size=len(ref) - 1))
    )
    return ref, cur, edges


summary = st.builds(
    stats.Summary,
    n=st.one_of(count, small_count),
    mean=st.floats(-1e6, 1e6),
    var=st.one_of(st.floats(0.0, 1e6), st.just(math.nan)),
    min=st.one_of(st.none(), st.floats(-1e7, 1e7)),
    max=st.one_of(st.none(), st.floats(-1e7, 1e7)),
)


def _valid(r: stats.TestResult) -> bool:
    p_ok = r.p_value is None or 0.0 <= r.p_value <= 1.0
    effect_ok = r.effect_size is None or (math.isfinite(r.effect_size) and r.effect_size >= 0)
    return p_ok and effect_ok and (r.statistic is not None or r.note != "")


class TestNeverRaises:
    @settings(max_examples=150, deadline=None)
    @given(data=two_binned(), s_ref=summary, s_cur=summary, third=counts)
    def test_random_counts(
        self,
        data: tuple[list[float], list[float], list[float]],
        s_ref: stats.Summary,
        s_cur: stats.Summary,
        third: list[float],
    ) -> None:
        """Random non-negative counts give p-values in [0, 1] or None and never raise."""
        ref, cur, edges = data
        results = [
            stats.chi2(ref, cur),
            stats.cramers_v(ref, cur),
            stats.ks(ref, cur),
            stats.kruskal2(ref, cur),
            stats.kruskal([ref, cur, (third + [0.0] * len(ref))[: len(ref)]]),
            stats.mann_whitney(ref, cur),
            stats.psi(ref, cur),
            stats.js(ref, cur),
            stats.linf(ref, cur),
            stats.wasserstein(ref, cur, edges, s_ref),
            stats.t_test(s_ref, s_cur),
            stats.anova([s_ref, s_cur, s_ref]),
            stats.missing_rate(min(ref[0], sum(ref)), sum(ref), min(cur[0], sum(cur)), sum(cur)),
        ]
        assert all(_valid(r) for r in results), results
        judged = stats.VerdictPolicy().apply(results)
        assert all(r.drifted in (True, False) for r in judged)
