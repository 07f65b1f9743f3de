"""The report: JSON contract, table and self-contained HTML, and the stored documents."""

from __future__ import annotations

import dataclasses
import io
import json
import re

import pytest
from rich.console import Console

from predwatch.analyzers import job, svg
from predwatch.analyzers.report import Report, _fmt, as_count, plural, render_table
from predwatch.analyzers.report_html import render_html
from tests.helpers import analyze_samples as smp

WINDOW = smp.WINDOW
CONTRACT_TEST_KEYS = {
    "name",
    "statistic",
    "p_value",
    "p_value_adjusted",
    "effect_size",
    "threshold",
    "drifted",
    "note",
}


_report = smp.sample_report


@pytest.fixture(scope="module")
def report() -> Report:
    return _report()


class TestJson:
    def test_contract(self, report: Report) -> None:
        """The documented keys are all there, at the documented places."""
        d = report.to_dict()
        assert {"model", "window", "reference", "features", "predictions", "summary"} <= set(d)
        assert d["model"] == "m1" and set(d["window"]) == {"start", "end"}
        assert d["reference"]["kind"] == "baseline"
        for f in d["features"]:
            assert {"feature", "type", "n_current", "n_reference", "drifted", "tests"} <= set(f)
            for t in f["tests"]:
                assert set(t) >= CONTRACT_TEST_KEYS
        assert set(d["summary"]) >= {"drifted_features"}

    def test_verdicts(self, report: Report) -> None:
        """Drifted features, findings and the exit code agree."""
        d = report.to_dict()
        assert d["summary"]["drifted_features"] == ["user.Country code", "comment"]
        assert "4 non-finite predictions" in d["summary"]["findings"]
        assert d["summary"]["exit_code"] == 1 and report.exit_code == 1
        assert d["predictions"]["nonfinite"]["flagged"] is True

    def test_strict_json(self, report: Report) -> None:
        """NaN and infinities become null: the output parses as strict JSON."""
        text = json.dumps(report.to_dict(), allow_nan=False)
        assert json.loads(text)["predictions"]["trend"]["buckets"][1]["mean"] is None

    def test_previous_reference_has_its_window(self) -> None:
        """A window reference reports its start and end."""
        r = _report(reference="previous")
        r = dataclasses.replace(
            r, reference=dataclasses.replace(r.reference, window=WINDOW.previous())
        )
        assert r.to_dict()["reference"]["start"] == "2026-03-01T11:00:00.000Z"


class TestCounts:
    def test_counts_are_ints_in_json(self, report: Report) -> None:
        """Documents, n_current/n_reference, bucket and version counts are JSON integers
        (Elasticsearch returns them as floats: "documents": 6000.0 was printed)."""
        text = json.dumps(report.to_dict())
        d = json.loads(text)
        assert d["documents"] == 1000 and isinstance(d["documents"], int)
        assert isinstance(d["reference"]["documents"], int)
        for f in d["features"]:
            assert isinstance(f["n_current"], int) and isinstance(f["n_reference"], int)
            assert all(isinstance(c, int) for c in f["distribution"]["current"])
        assert all(isinstance(b["count"], int) for b in d["predictions"]["trend"]["buckets"])
        assert all(isinstance(g["count"], int) for g in d["predictions"]["versions"]["groups"])
        assert isinstance(d["predictions"]["nonfinite"]["predictions"], int)
        assert not re.search(r'"(documents|n_current|n_reference|count)": \d+\.0\b', text)

    def test_fractions_stay_floats(self) -> None:
        """Only whole counts become ints; means and shares keep their type."""
        assert as_count(3.0) == 3 and isinstance(as_count(3.0), int)
        assert as_count(2.5) == 2.5 and as_count(None) is None

    def test_large_numbers_without_exponent(self) -> None:
        """Milliseconds and counts below a million print in full ("1e+04 ms" was printed)."""
        assert _fmt(10025.0) == "10,025" and _fmt(2096.4) == "2,096"
        assert _fmt(0.1234) == "0.123" and _fmt(2.5e7) == "2.50e+07"

    def test_plural(self) -> None:
        """The word agrees with the count ("1 bucket", never "1 buckets")."""
        assert plural(1, "bucket") == "1 bucket"
        assert plural(2, "bucket") == "2 buckets"
        assert plural(6000.0, "prediction") == "6,000 predictions"
        assert plural(0, "row") == "0 rows"

    def test_one_bucket_in_the_table(self, report: Report) -> None:
        """A one-bucket trend reads "1 bucket of ..."."""
        one = dataclasses.replace(report, trend=report.trend[:1])
        buf = io.StringIO()
        render_table(one, Console(file=buf, width=200, color_system=None))
        assert "1 bucket of" in buf.getvalue() and "1 buckets" not in buf.getvalue()


class TestTable:
    def test_table_at_a_glance(self, report: Report) -> None:
        """The table names every feature, marks drift and ends with the findings."""
        buf = io.StringIO()
        render_table(report, Console(file=buf, width=200, color_system=None))
        text = buf.getvalue()
        for name in ("age", "user.Country code", "comment", "prediction.value"):
            assert name in text
        assert text.count("DRIFT") == 2 and "FINDINGS (3)" in text


class TestHtml:
    def test_self_contained(self, report: Report) -> None:
        """One file: inline CSS and SVG, no scripts, no external resources."""
        html = render_html(report)
        assert html.startswith("<!DOCTYPE html>") and html.rstrip().endswith("</html>")
        assert "<script" not in html
        assert not re.search(r"""(src|href)=["']?https?:""", html)
        assert html.count("<svg") >= 3  # two drifted features + trends

    def test_model_checks_in_words(self, report: Report) -> None:
        """Model checks show no Python values (None, True/False, 2.93e+03) and no snake_case
        rate names; counts have thousands separators."""
        html = render_html(report)
        checks = html[html.index("<h2>Model checks</h2>") : html.index("<h2>Other features")]
        for raw in ("None", "True", "False", "e+0", "stale:", "regressed:", "count "):
            assert raw not in checks, raw
        assert "996 predictions" in checks
        assert "trained 2026-01-01 00:00 UTC" in checks
        assert "no maximum age set" in checks
        assert "in the previous window" in checks
        for key in ("missing_current", "out_of_range_current", "unseen_reference"):
            assert key not in html
        assert "outside the training range" in html and "missing values" in html

    def test_unknown_training_time_in_words(self, report: Report) -> None:
        """An unknown training time says why, instead of "None (unknown)"."""
        st = dataclasses.replace(report.staleness, trained_at=None, source="unknown", age=None)
        html = render_html(dataclasses.replace(report, staleness=st))
        assert "None" not in html and "neither the predictions" in html

    def test_uses_the_window_width(self, report: Report) -> None:
        """The page is responsive: a viewport tag, no 1100 px cap, charts scale by viewBox."""
        html = render_html(report)
        assert "name='viewport'" in html and "max-width:1100px" not in html
        assert "svg.chart{width:100%" in html and 'class="chart"' in html
        assert "@media (max-width:600px)" in html

    def test_escapes_names(self) -> None:
        """Feature names and values are escaped in text and charts."""
        chart = svg.bars("<b>", ["<x>", "a&b"], [("ref", [1.0, 2.0])])
        assert "<b>" not in chart and "&lt;x&gt;" in chart and "a&amp;b" in chart


class TestDocuments:
    def test_one_document_per_test_feature_and_run(self, report: Report) -> None:
        """Tests, features, metrics and one summary, all carrying the run id."""
        docs = list(job.documents(report))
        kinds = [d["record_type"] for d in docs]
        n_tests = sum(
            len(f.tests) for f in (*report.comparison.features, *report.comparison.predictions)
        )
        assert kinds.count("test") == n_tests + len(report.version_tests)
        assert kinds.count("feature") == 4 and kinds.count("summary") == 1
        assert {d["run_id"] for d in docs} == {report.run_id}
        summary = docs[-1]
        assert summary["drifted_features"] == ["user.Country code", "comment"]
        assert summary["drifted_flag"] == 1
        json.dumps(docs, allow_nan=False)
        tests = [d for d in docs if d["record_type"] == "test"]
        assert all(d["drifted_flag"] in (0, 1) for d in tests)


class TestCharts:
    def test_nice_ticks_on_round_numbers(self) -> None:
        """Axis limits and ticks are round numbers around the data."""
        lo, hi, ticks = svg.nice_ticks(0.0131, 0.9823)
        assert (lo, hi) == (0.0, 1.0) and ticks == [0.0, 0.25, 0.5, 0.75, 1.0]
        assert svg.nice_ticks(12.3, 87.9)[2] == [0.0, 20.0, 40.0, 60.0, 80.0, 100.0]

    def test_probability_axis_stays_in_zero_one(self) -> None:
        """A band reaching past 1 (mean + sd) never pushes the axis to 1.026."""
        lo, hi, ticks = svg.nice_ticks(-0.1, 1.026, domain=(0.0, 1.0))
        assert lo == 0.0 and hi == 1.0 and max(ticks) == 1.0
        chart = svg.lines("p", ["a"], [("mean", [0.8])], band=([0.6], [1.05]), domain=(0, 1))
        assert ">1.026<" not in chart and ">1<" in chart

    def test_one_point_is_a_labelled_marker(self) -> None:
        """One or two points: large labelled markers, error bars, no degenerate line."""
        chart = svg.lines("p", ["12:00"], [("mean", [0.4231])], band=([0.3], [0.5]))
        assert 'r="4"' in chart and ">0.4231<" in chart
        assert "<polygon" not in chart and "<path" in chart
        many = svg.lines("p", list("abcd"), [("mean", [0.1, 0.2, 0.3, 0.4])])
        assert 'r="2"' in many and "<polyline" in many

    def test_a_flat_series_sits_mid_chart(self) -> None:
        """A constant value gets a range around it, not a zero-height axis."""
        lo, hi, _ = svg.nice_ticks(5.0, 5.0)
        assert lo < 5.0 < hi
