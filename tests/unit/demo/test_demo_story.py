"""Mapping analyzer results and fired alerts back to the demo's scenarios (pure)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from predwatch.analyzers.aggregates import Latency, VersionGroup, Window
from predwatch.analyzers.checks import LatencyCheck
from predwatch.analyzers.compare import Comparison, Distribution, FeatureResult
from predwatch.analyzers.report import ReferenceInfo, Report
from predwatch.analyzers.stats import Summary, TestResult
from predwatch.demo import story
from predwatch.demo import traffic as t

START = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)


def _test(name: str, effect: float, drifted: bool, p: float | None = 1e-9) -> TestResult:
    return TestResult(name, 1.0, p, effect, f"{name}_effect", 0.1, 100, 100, "", p, drifted)


def _feature(name: str, tests: list[TestResult], **kw: Any) -> FeatureResult:
    return FeatureResult(name, kw.pop("type", "numeric"), 100, 100, tuple(tests), **kw)


def _report(
    features: list[FeatureResult],
    predictions: list[FeatureResult] | None = None,
    **kw: Any,
) -> Report:
    window = Window(START, START + dt.timedelta(days=1))
    return Report(
        run_id="r",
        created_at=START,
        model="demo",
        baseline={"id": "demo@1.4.0", "version": "1.4.0"},
        prediction_kind="classification",
        window=window,
        reference=ReferenceInfo("baseline", None, "demo@1.4.0", 1000),
        documents=kw.pop("documents", 500.0),
        comparison=Comparison(tuple(features), tuple(predictions or ())),
        alpha=0.05,
        min_count=100,
        **kw,
    )


def _alert(kind: str, feature: str | None = None, top: dict[str, int] | None = None) -> Any:
    rule_id = f"{kind}.{feature}" if feature else kind
    return story.AlertFired(rule_id, kind, feature, 0.2, 0.05, "7d", top or {})


class TestFinding:
    def test_test_text(self) -> None:
        """Distances print as `name value`; others name their effect and the p-value."""
        f = story.Finding("analyzer", "psi", "x", effect=1.21, effect_name="psi")
        assert f.test() == "psi 1.21"
        g = story.Finding("analyzer", "chi2", "x", effect=0.47, effect_name="cramers_v", p_value=0)
        assert g.test() == "chi2 (cramers_v 0.47, p(Holm) < 1e-300)"
        h = story.Finding("analyzer", "served_versions", "model.version")
        assert h.test() == "served_versions"


class TestChapters:
    def test_signals_consequences_and_false_alarms(self) -> None:
        """A scenario's own signal is 'caught by'; score drift during an input failure is a
        consequence; anything else is 'also flagged'."""
        missing = _report(
            [
                _feature(
                    "ac_mass",
                    [_test("missing_rate", 3.1, True)],
                    rates={"missing_reference": 0.0, "missing_current": 1.0},
                ),
                _feature("height", [_test("wasserstein", 0.12, True, None)]),
            ],
            [_feature("prediction.value", [_test("ks", 0.2, True)], type="prediction")],
        )
        chs = story.chapters(START, {"missing": [("baseline", missing)]}, [])
        ch = next(c for c in chs if c.scenario.key == "missing")
        assert ch.caught and [f.name for f in ch.caught_by] == ["missing_rate"]
        assert "missing 0.0% -> 100.0%" in ch.caught_by[0].context
        assert [f.feature for f in ch.consequences] == ["prediction.value"]
        assert [f.feature for f in ch.also] == ["height"]

    def test_not_caught_without_a_signal(self) -> None:
        """A window whose findings are all unrelated does not count as caught."""
        rep = _report([_feature("height", [_test("ks", 0.3, True)])])
        chs = story.chapters(START, {"new_words": [("baseline", rep)]}, [])
        ch = next(c for c in chs if c.scenario.key == "new_words")
        assert not ch.caught
        assert any("NOT CAUGHT" in line for line in story.render(chs, []))

    def test_clean_days_report_false_alarms(self) -> None:
        """Findings in the clean period are counted as false alarms, not hidden."""
        quiet = _report([_feature("height", [_test("ks", 0.01, False)])], documents=800)
        noisy = _report([_feature("height", [_test("ks", 0.3, True)])])
        text = story.render(story.chapters(START, {"clean": [("baseline", quiet)]}, []), [])
        assert any("nothing flagged in 800 predictions" in x for x in text)
        text = story.render(story.chapters(START, {"clean": [("baseline", noisy)]}, []), [])
        assert any("1 false alarm(s)" in x for x in text)

    def test_versions_and_latency(self) -> None:
        """Version tests, the served-versions check and a latency regression are signals of
        their scenarios, reported once whatever the reference."""
        groups = (
            VersionGroup("1.4.0", 300, Summary(300, 0.1, 0.01), (), {}, None),
            VersionGroup("2.0.0-exp", 500, Summary(500, 0.3, 0.02), (), {}, None),
        )
        version = _report([], version_tests=(_test("anova", 0.15, True),), versions=groups)
        lat = LatencyCheck(
            Latency(400, {"95": 700.0}), Latency(400, {"95": 70.0}), 1.0, 10.0, p_value=1e-30
        )
        slow = _report([], latency=lat)
        reports = {
            "wrong_version": [("baseline", version), ("clean days", version)],
            "latency": [("baseline", slow), ("clean days", slow)],
        }
        chs = {c.scenario.key: c for c in story.chapters(START, reports, [])}
        names = [f.name for f in chs["wrong_version"].caught_by]
        assert names == ["anova", "served_versions"]
        assert [f.name for f in chs["latency"].caught_by] == ["latency_p95"]
        assert "p95 70 ms -> 700 ms" in chs["latency"].caught_by[0].context

    def test_shift_names_the_category(self) -> None:
        """A categorical change is described by the shift found in Elasticsearch when given,
        else by the report's largest increase."""
        dist = Distribution(("A", "(other)"), (90.0, 10.0), (50.0, 50.0))
        rep = _report([_feature("species", [_test("psi", 1.0, True, None)], type="categorical",
                                distribution=dist)])  # fmt: skip
        ch = story.chapters(START, {"rare_category": [("baseline", rep)]}, [])[2]
        assert ch.caught_by[0].context == "(other) 10.0% -> 50.0%"
        shifts = {"rare_category": {"species": "SNOW GOOSE 0.1% -> 40.0%"}}
        ch = story.chapters(START, {"rare_category": [("baseline", rep)]}, [], shifts)[2]
        assert ch.caught_by[0].context == "SNOW GOOSE 0.1% -> 40.0%"


class TestAlerts:
    def test_alert_scenarios(self) -> None:
        """Version and latency rules point at their scenarios; rate rules by feature; the
        drift rule by the drifted features it lists."""
        assert story.alert_scenarios(_alert("version_change")) == {"wrong_version"}
        assert story.alert_scenarios(_alert("latency_p95")) == {"latency"}
        assert story.alert_scenarios(_alert("missing_rate", "ac_mass")) == {"missing"}
        assert story.alert_scenarios(_alert("oov_rate", "remarks")) == {"new_words"}
        drift = _alert("drift", top={"species": 2, "remarks": 1, "height": 1})
        assert story.alert_scenarios(drift) == {"rare_category", "new_words"}
        assert story.alert_scenarios(_alert("unseen", "species")) == set()

    def test_fired_alerts_join_their_chapter(self) -> None:
        """A fired rule is listed under its scenario; one tied to none is reported apart."""
        fired = [_alert("missing_rate", "ac_mass"), _alert("unseen", "sky")]
        chs = story.chapters(START, {}, fired)
        ch = next(c for c in chs if c.scenario.key == "missing")
        assert ch.caught and ch.caught_by[0].source == "alert"
        extra = story.unattributed(fired)
        assert [f.name for f in extra] == ["unseen.sky"]
        assert any("not tied to a scenario" in x for x in story.render(chs, extra))

    def test_drift_alert_names_the_scenario_features(self) -> None:
        """In a chapter, the drift alert names only that scenario's drifted features."""
        f = story.alert_finding(_alert("drift", top={"species": 2, "remarks": 1}), "new_words")
        assert "among them remarks" in f.context and "species" not in f.context


class TestJson:
    def test_chapter_dict(self) -> None:
        """The JSON of a chapter says whether the failure was caught and by what."""
        chs = story.chapters(START, {}, [_alert("latency_p95")])
        d = {c.scenario.key: c.to_dict() for c in chs}
        assert d["latency"]["caught"] is True
        assert d["latency"]["caught_by"][0]["name"] == "latency_p95"
        assert d["clean"]["caught"] is None
        assert d["missing"]["caught"] is False
        assert t.CLEAN.key == "clean"


class TestEstimates:
    def _estimated(self, regressed: bool) -> dict[str, Any]:
        m = {"value": 0.8, "ci_low": 0.78, "ci_high": 0.82, "reference": 0.93}
        return {"versions": {"*": {"accuracy": {**m, "regressed": regressed}}}}

    def test_wrong_version_caught_by_the_estimate_before_labels(self) -> None:
        """A dropped estimate on the wrong-version day catches it; the chart value is kept."""
        chs = {
            c.scenario.key: c
            for c in story.chapters(START, {}, [], None, {"wrong_version": self._estimated(True)})
        }
        ch = chs["wrong_version"]
        assert ch.caught and ch.caught_by[0].source == "estimate"
        assert "before any label" in ch.caught_by[0].context
        assert ch.estimated == {"accuracy": 0.8}
        assert any("estimated accuracy" in line for line in story.render(list(chs.values()), []))

    def test_clean_period_estimate_drop_is_a_false_alarm(self) -> None:
        """On the clean days a dropped estimate is listed under also-flagged, not hidden."""
        chs = story.chapters(START, {}, [], None, {"clean": self._estimated(True)})
        clean = next(c for c in chs if c.scenario.key == "clean")
        assert [f.name for f in clean.also] == ["estimated accuracy"]
        quiet = story.chapters(START, {}, [], None, {"clean": self._estimated(False)})
        assert not next(c for c in quiet if c.scenario.key == "clean").also


class TestEstimateFindings:
    @staticmethod
    def _m(value: float, regressed: bool) -> dict[str, float | bool]:
        return {"value": value, "ci_low": value - 0.02, "ci_high": value + 0.02,
                "reference": 0.937, "regressed": regressed}  # fmt: skip

    def test_a_drop_of_one_version_counts(self) -> None:
        """A version that dropped is a finding even when the pooled estimate did not, and the
        finding names the version."""
        from predwatch.demo import story

        est = {"versions": {
            "*": {"accuracy": self._m(0.90, False)},
            "2.0.0-exp": {"accuracy": self._m(0.84, True)},
            "1.4.0": {"accuracy": self._m(0.93, False)},
        }}  # fmt: skip
        (f,) = story.estimate_findings(est)
        assert f.name == "estimated accuracy" and "version 2.0.0-exp" in f.context

    def test_the_pooled_drop_comes_first(self) -> None:
        """When all versions together dropped, that is the finding (once per metric)."""
        from predwatch.demo import story

        est = {"versions": {
            "*": {"accuracy": self._m(0.88, True)},
            "2.0.0-exp": {"accuracy": self._m(0.84, True)},
        }}  # fmt: skip
        (f,) = story.estimate_findings(est)
        assert "version" not in f.context and f.context.startswith("0.880")
        assert story.estimate_findings(None) == []
