"""The report: JSON contract, table and self-contained HTML, and the stored documents."""

from __future__ import annotations

import dataclasses
import io
import json
import re

import analyze_samples as smp
import pytest
from rich.console import Console

from predwatch.analyzers import job, queries, svg
from predwatch.analyzers.aggregates import Window
from predwatch.analyzers.compare import baseline_reference
from predwatch.analyzers.report import Report, render_table
from predwatch.analyzers.report_html import render_html

WINDOW = Window(smp.START, smp.END)
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


def _report(**config: object) -> Report:
    """A run on canned responses: age fine, unseen categories, OOV text, 4 NaN predictions."""
    b = smp.baseline()
    reqs = queries.plan(b, WINDOW)
    resp = [smp.feature_response(), smp.prediction_response()]
    current = queries.parse(b, WINDOW, reqs, resp).aggregates
    cfg = job.AnalyzeConfig(model="m1", window=WINDOW, **config)  # type: ignore[arg-type]
    ref = baseline_reference(b)
    return job.build_report(b, cfg, current, ref, current, smp.END)


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
