"""Comparison of a window with its reference: test selection, insufficient data, verdicts."""

from __future__ import annotations

import dataclasses

from predwatch.analyzers import compare as c
from predwatch.analyzers.aggregates import (
    OTHER,
    UNSEEN,
    CategoricalAggs,
    NumericAggs,
    TextAggs,
    VersionGroup,
    WindowAggregates,
)
from predwatch.analyzers.stats import Summary, VerdictPolicy
from tests.helpers import analyze_samples as smp

POLICY = VerdictPolicy()


def _current(
    *,
    age_bins: tuple[float, ...] = (1000, 3000, 4000, 2000),
    age_mean: float = 1.2,
    cat_top: dict[str, float] | None = None,
    unseen: float = 0.0,
    oov_tokens: float = 5000.0,
    total: float = 11_000,
    age_missing: float = 1000,
) -> WindowAggregates:
    """A window of 10x the baseline's size with the baseline's shape unless told otherwise."""
    n = sum(age_bins)
    return WindowAggregates(
        window=None,
        total=total,
        features={
            "age": NumericAggs(age_bins, Summary(n, age_mean, 0.8, -2.0, 4.0), total, age_missing),
            "user.Country code": CategoricalAggs(
                cat_top or {"a": 5000, "b": 3000, "c": 1500}, 500, unseen, total, age_missing
            ),
            "comment": TextAggs(total, age_missing, 100_000, oov_tokens, Summary(10_000, 10, 4)),
        },
    )


def _run(current: WindowAggregates, **kw: object) -> c.Comparison:
    b = smp.baseline(**kw)  # type: ignore[arg-type]
    return c.judge(c.compare(b, current, c.baseline_reference(b)), POLICY)


def _drifted(comp: c.Comparison) -> set[str]:
    return {f.feature for f in comp.features if f.drifted}


class TestBaselineReference:
    def test_profiles_become_aggregates(self) -> None:
        """Bins, summaries, category cells and token counts come from the profile."""
        ref = c.baseline_reference(smp.baseline())
        age = ref.features["age"]
        assert isinstance(age, NumericAggs)
        assert age.bins == (100, 300, 400, 200) and age.missing == 100 and age.total == 1100
        cat = ref.features["user.Country code"]
        assert isinstance(cat, CategoricalAggs)
        assert cat.cells() == {"a": 500, "b": 300, "c": 150, OTHER: 50, UNSEEN: 0}
        text = ref.features["comment"]
        assert isinstance(text, TextAggs)
        assert text.oov_tokens == text.tokens * 0.05


class TestCompare:
    def test_same_shape_does_not_drift(self) -> None:
        """A window distributed like the baseline flags nothing."""
        comp = _run(_current())
        assert _drifted(comp) == set()
        assert all(f.status == "ok" for f in comp.features)

    def test_default_tests_per_type(self) -> None:
        """Each type runs the registry's default tests."""
        comp = _run(_current())
        names = {f.feature: [t.name for t in f.tests] for f in comp.features}
        assert names["age"] == [
            "ks",
            "psi",
            "wasserstein",
            "t_test",
            "missing_rate",
            "out_of_range_rate",
        ]
        assert names["user.Country code"] == [
            "chi2",
            "psi",
            "js",
            "linf",
            "missing_rate",
            "oov_rate",
        ]
        assert names["comment"] == ["oov_rate", "missing_rate"]

    def test_each_shift_flags_its_feature(self) -> None:
        """A moved numeric mass, unseen categories and an OOV rise are each flagged."""
        assert _drifted(_run(_current(age_bins=(3000, 3000, 3000, 1000), age_mean=0.9))) == {"age"}
        assert _drifted(_run(_current(unseen=3000))) == {"user.Country code"}
        assert _drifted(_run(_current(cat_top={"a": 2000, "b": 3000, "c": 4500}))) == {
            "user.Country code"
        }
        assert _drifted(_run(_current(oov_tokens=30_000))) == {"comment"}

    def test_vanished_feature_flags_missing_rate(self) -> None:
        """All values missing: distribution tests say insufficient data, missing_rate drifts."""
        comp = _run(_current(age_bins=(0, 0, 0, 0), age_missing=11_000))
        age = next(f for f in comp.features if f.feature == "age")
        assert age.drifted and [t.name for t in age.tests if t.drifted] == ["missing_rate"]
        assert "insufficient data" in age.note
        assert age.tests[0].note.startswith("insufficient data")

    def test_empty_window_is_insufficient_data(self) -> None:
        """No documents: every feature is 'insufficient data', nothing drifts, nothing raises."""
        empty = WindowAggregates(
            window=None,
            total=0,
            features={
                "age": NumericAggs((0, 0, 0, 0), Summary(0, float("nan"), float("nan")), 0, 0),
                "user.Country code": CategoricalAggs({"a": 0, "b": 0, "c": 0}, 0, 0, 0, 0),
                "comment": TextAggs(0, 0, 0, 0, Summary(0, float("nan"), float("nan"))),
            },
        )
        comp = _run(empty)
        assert _drifted(comp) == set()
        assert [f.status for f in comp.features] == ["insufficient data"] * 3
        assert all("no predictions in the window" in f.note for f in comp.features)

    def test_small_window_gates_distribution_tests(self) -> None:
        """Below min_count values, distances are not computed (their noise would alarm); the
        rate tests, whose p-values hold at any n, still run."""
        small = _current(age_bins=(5, 1, 1, 1), total=10, age_missing=2)
        b = smp.baseline()
        comp = c.compare(b, small, c.baseline_reference(b), min_count=100)
        age = comp.features[0]
        rates = {"missing_rate", "out_of_range_rate"}
        assert all(t.effect_size is None for t in age.tests if t.name not in rates)
        assert "need 100" in age.note

    def test_truncated_vocabulary_skips_oov_rate(self) -> None:
        """With a truncated vocabulary the unseen share is unknown: oov_rate is not compared."""
        comp = _run(_current(unseen=3000), vocab_truncated=True)
        cat = next(f for f in comp.features if f.feature == "user.Country code")
        oov = next(t for t in cat.tests if t.name == "oov_rate")
        assert oov.effect_size is None and "truncated" in oov.note
        assert cat.distribution is not None and UNSEEN not in cat.distribution.labels

    def test_prediction_value_is_compared(self) -> None:
        """The prediction distribution is compared like a numeric feature."""
        b = smp.baseline()
        cur = dataclasses.replace(
            _current(),
            prediction=c.baseline_reference(b).prediction,
        )
        comp = c.judge(c.compare(b, cur, c.baseline_reference(b)), POLICY)
        assert [f.feature for f in comp.predictions] == ["prediction.value"]
        assert not comp.predictions[0].drifted

    def test_judge_adjusts_across_the_run(self) -> None:
        """Every non-trivial test with a p-value gets a Holm-adjusted p-value and a verdict;
        trivial ones (a rate of 0 on both sides) get none."""
        comp = _run(_current())
        tests = comp.all_tests()
        assert all(t.drifted is not None for t in tests)
        counted = [t for t in tests if t.p_value is not None and not t.trivial]
        assert counted and all(t.p_value_adjusted is not None for t in counted)
        assert all(t.p_value_adjusted is None for t in tests if t.trivial)


class TestRegrouping:
    def test_group_bins_equal_reference_mass(self) -> None:
        """100 equal bins become 10 groups of 10; the current counts follow the same cuts."""
        ref, cur = c.group_bins([1.0] * 100, list(range(100)))
        assert ref == [10.0] * 10
        assert cur[0] == sum(range(10)) and sum(cur) == sum(range(100))

    def test_group_bins_keeps_empty_reference_tail(self) -> None:
        """Current mass in bins with no reference mass is kept, in the last group."""
        ref, cur = c.group_bins([5.0] * 20 + [0.0] * 5, [1.0] * 25)
        assert sum(ref) == 100 and sum(cur) == 25

    def test_merge_rare(self) -> None:
        """Categories expected fewer than 5 times in the smaller sample go to (other); when
        (other) itself stays below 5, the smallest kept category joins it."""
        ref = {"a": 900.0, "b": 99.0, "c": 1.0, OTHER: 0.0, UNSEEN: 0.0}
        cur = {"a": 80.0, "b": 10.0, "c": 5.0, OTHER: 1.0, UNSEEN: 4.0}
        r, k = c.merge_rare(ref, cur, n_small=100)
        assert r == {"a": 900, OTHER: 100}
        assert k == {"a": 80, OTHER: 20}
        r, k = c.merge_rare(ref, cur, n_small=1000)
        # c is kept (5.5 expected), then joins (other), which alone expects 4.5.
        assert r == {"a": 900, "b": 99, OTHER: 1}
        assert k == {"a": 80, "b": 10, OTHER: 10}

    def test_cells_are_chosen_on_pooled_counts(self) -> None:
        """A category rare in the reference but common in the current sample keeps its own
        cell (the reference's own counts decided before, which biased chi2 upwards)."""
        ref = {"a": 500.0, "b": 4.0, "c": 496.0, OTHER: 0.0}
        cur = {"a": 400.0, "b": 196.0, "c": 404.0, OTHER: 0.0}
        r, k = c.merge_rare(ref, cur, n_small=100)
        assert r == {"a": 500, "c": 496, "b": 4, OTHER: 0}
        assert k == {"a": 400, "c": 404, "b": 196, OTHER: 0}

    def test_coarse_distribution_for_plots(self) -> None:
        """Adjacent numeric bins merge for plots; labels follow the kept edges."""
        edges = tuple(float(e) for e in range(1, 100))
        d = c.Distribution(c.bin_labels(edges), (1.0,) * 100, (2.0,) * 100, edges)
        small = d.coarse(25)
        assert len(small.labels) == 25 and sum(small.current) == 200
        assert small.labels[0] == "< 4" and small.labels[-1] == ">= 96"


class TestVersions:
    def test_versions_with_different_predictions(self) -> None:
        """ANOVA and Kruskal-Wallis across versions flag clearly different predictions."""
        groups = [
            VersionGroup("1", 5000, Summary(5000, 0.3, 0.01), (4000, 1000), {}, None),
            VersionGroup("2", 5000, Summary(5000, 0.7, 0.01), (500, 4500), {}, None),
        ]
        results = c.compare_versions(groups, POLICY)
        assert [t.name for t in results] == ["anova", "kruskal"]
        assert all(t.drifted for t in results)

    def test_one_version_is_insufficient(self) -> None:
        """A single version cannot be compared: undefined results, no drift."""
        results = c.compare_versions(
            [VersionGroup("1", 5000, Summary(5000, 0.3, 0.01), (4000, 1000), {}, None)], POLICY
        )
        assert all(t.effect_size is None and not t.drifted for t in results)


class TestLabels:
    def test_classification_label_is_compared(self) -> None:
        """A class-share change and an unseen class flag prediction.label."""
        from predwatch.analyzers.aggregates import PredictionAggs
        from predwatch.baseline import CategoricalProfile, PredictionProfile

        label = CategoricalProfile({"no": 700, "yes": 300}, 0, frozenset({"no", "yes"}), 1000)
        b = dataclasses.replace(
            smp.baseline(),
            prediction=PredictionProfile("classification", label=label, classes=("no", "yes")),
        )
        same = CategoricalAggs({"no": 7000, "yes": 3000}, 0, 0, 10_000, 0)
        moved = CategoricalAggs({"no": 4000, "yes": 3000}, 0, 3000, 10_000, 0)
        for cur, drifted in ((same, False), (moved, True)):
            window = dataclasses.replace(_current(), prediction=PredictionAggs(None, cur))
            comp = c.judge(c.compare(b, window, c.baseline_reference(b)), POLICY)
            (pred,) = comp.predictions
            assert pred.feature == "prediction.label" and pred.drifted is drifted
