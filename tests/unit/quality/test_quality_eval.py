"""From joined rows to per-version metrics: task detection, value-only binary models,
the stored documents and the reference files."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pytest
from sklearn import metrics as skm

from predwatch import schema
from predwatch.analyzers import quality_ci as ci
from predwatch.analyzers import quality_job as qj
from predwatch.analyzers.aggregates import Window
from predwatch.analyzers.quality import Metric
from predwatch.analyzers.quality_eval import ALL_VERSIONS, Task, WindowEvaluator, detect_task
from predwatch.analyzers.quality_join import JoinedRow, choose_driver, prediction_index
from predwatch.errors import ConfigError

Z = 1.96


def row(
    pid: str = "a",
    *,
    version: str = "1",
    actual_label: str | None = None,
    actual_value: float | None = None,
    label: str | None = None,
    value: float | None = None,
    scores: dict[str, float] | None = None,
    delay_s: float = 60.0,
) -> JoinedRow:
    return JoinedRow(
        pid, version, 0.0, delay_s * 1000, actual_label, actual_value, label, value, scores
    )


def by_name(metrics: list[Metric]) -> dict[str, Metric]:
    return {m.name: m for m in metrics}


class TestDetectTask:
    def test_scores_mean_classification(self) -> None:
        """Rows with a label or scores are a classifier's."""
        t = detect_task([row(actual_label="1", scores={"0": 0.3, "1": 0.7})])
        assert t.kind == "classification"
        assert t.positive is None  # decided from the classes later

    def test_value_with_binary_outcomes(self) -> None:
        """A probability and 0/1 outcomes are a binary classifier; true/false picks "true"."""
        assert detect_task([row(actual_label="1", actual_value=1.0, value=0.8)]).positive == "1"
        t = detect_task([row(actual_label="true", actual_value=1.0, value=0.8)])
        assert (t.kind, t.positive) == ("classification", "true")

    def test_values_are_regression(self) -> None:
        """Numbers outside [0, 1] or non-binary outcomes are a regressor's."""
        assert detect_task([row(actual_value=3.5, value=3.1)]).kind == "regression"
        assert detect_task([row(actual_label="1", actual_value=1.0, value=1.7)]).kind == (
            "regression"
        )

    def test_explicit_kind_and_bad_options(self) -> None:
        """--kind wins over the guess; a bad kind or threshold is refused."""
        assert detect_task([row(actual_value=1.0, value=0.2)], "regression").kind == "regression"
        with pytest.raises(ConfigError):
            detect_task([], "clustering")
        with pytest.raises(ConfigError):
            detect_task([], threshold=1.5)


class TestWindowEvaluator:
    def test_value_only_binary_equals_sklearn(self) -> None:
        """A model logging only P(positive) is scored at the threshold, as sklearn would."""
        rng = np.random.default_rng(0)
        y = rng.random(800) < 0.4
        p = np.clip(0.4 * y + rng.random(800) * 0.6, 0, 1)
        rows = [
            row(f"r{i}", actual_label="1" if y[i] else "0", actual_value=float(y[i]), value=p[i])
            for i in range(800)
        ]
        ev = WindowEvaluator(detect_task(rows[:50], threshold=0.6))
        ev.add(rows[:300])
        ev.add(rows[300:])
        m = by_name(ev.results({"1": 1000}, Z)["1"])
        pred = p >= 0.6
        assert m["accuracy"].value == pytest.approx(skm.accuracy_score(y, pred))
        assert m["f1"].value == pytest.approx(skm.f1_score(y, pred))
        assert m["log_loss"].value == pytest.approx(skm.log_loss(y, p))
        assert abs(m["roc_auc"].value - skm.roc_auc_score(y, p)) <= m["roc_auc_bin_error"].value
        assert m["labelled_share"].value == 0.8

    def test_versions_and_all(self) -> None:
        """One group per version, one for all; versions without outcomes still counted."""
        ev = WindowEvaluator(Task("classification"))
        ev.add(
            [
                row("a", version="1", actual_label="x", label="x"),
                row("b", version="2", actual_label="x", label="y"),
            ]
        )
        res = ev.results({"1": 4, "2": 2, "3": 5}, Z)
        assert set(res) == {"1", "2", "3", ALL_VERSIONS}
        assert by_name(res["1"])["accuracy"].value == 1.0
        assert by_name(res["2"])["accuracy"].value == 0.0
        assert by_name(res[ALL_VERSIONS])["labelled_share"].value == pytest.approx(2 / 11)
        assert by_name(res["3"])["labelled"].value == 0.0
        assert "accuracy" not in by_name(res["3"])

    def test_unusable_rows_are_reported(self) -> None:
        """Joined rows missing what the metrics need are counted, not silently dropped."""
        ev = WindowEvaluator(Task("regression"))
        ev.add([row("a", actual_value=1.0, value=1.5), row("b", actual_label="x", value=2.0)])
        m = by_name(ev.results({"1": 2}, Z)["1"])
        assert m["unusable"].value == 1.0
        assert m["mae"].value == 0.5

    def test_label_delay(self) -> None:
        """Delays come from the outcome and prediction times of every joined row."""
        ev = WindowEvaluator(Task("classification"))
        ev.add([row(str(i), actual_label="x", label="x", delay_s=3600.0) for i in range(5)])
        m = by_name(ev.results({"1": 5}, Z)["1"])
        assert m["label_delay.p50_s"].value == pytest.approx(3600.0)


class TestChooseDriver:
    def test_smaller_side_drives(self) -> None:
        """The join pages through whichever side has fewer documents."""
        assert choose_driver(100, 5000) == "predictions"
        assert choose_driver(100_000, 5000) == "outcomes"


class TestPredictionIndex:
    def test_the_windows_days_or_the_pattern(self) -> None:
        """The join's prediction side names the window's daily indices, comma-joined, as
        long as they fit in a request line; past that, the model's pattern."""
        d = dt.datetime(2026, 1, 30, 12, tzinfo=dt.UTC)
        got = prediction_index("m", Window(d, d + dt.timedelta(days=3)))
        days = ("2026.01.30", "2026.01.31", "2026.02.01", "2026.02.02")
        assert got == ",".join(f"predwatch-predictions-m-{x}" for x in days)
        whole = Window(
            dt.datetime(2026, 3, 1, tzinfo=dt.UTC), dt.datetime(2026, 5, 1, tzinfo=dt.UTC)
        )
        assert prediction_index("m", whole) == (
            "predwatch-predictions-m-2026.03.*,predwatch-predictions-m-2026.04.*"
        )
        # 30 + 29 days of two partial months, under a 48-character model name: > 3,000 chars
        long = Window(
            dt.datetime(2026, 1, 2, tzinfo=dt.UTC), dt.datetime(2026, 3, 30, tzinfo=dt.UTC)
        )
        model = "m" * 48
        names = schema.window_indices("predictions", model, long.start, long.end)
        assert len(",".join(names)) > 3000
        assert prediction_index(model, long) == f"predwatch-predictions-{model}-*"
        assert prediction_index("m", long).count(",") == 59  # 30 days, February, 29 days


def report(regressed: bool | None) -> qj.QualityReport:
    acc = Metric("accuracy", 0.7, 0.68, 0.72, 1000)
    share = Metric("labelled_share", 0.5, n=2000)
    verdict = ci.Verdict(0.9, 0.88, regressed)
    groups = {
        "1": (qj.Judged(acc, verdict), qj.Judged(share, ci.Verdict(None, None, None))),
        ALL_VERSIONS: (qj.Judged(acc, verdict),),
    }
    t0 = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    return qj.QualityReport(
        run_id="r1",
        created_at=t0,
        model="m",
        task=Task("classification"),
        window=Window(t0, t0 + dt.timedelta(days=1)),
        reference_kind="previous",
        reference_window=Window(t0 - dt.timedelta(days=1), t0),
        driver="outcomes",
        groups=groups,
        tolerance=0.02,
        confidence=0.95,
    )


class TestDocuments:
    def test_metric_documents(self) -> None:
        """One metric document per metric and version; verdict fields only when judged."""
        docs = list(qj.documents(report(True)))
        metrics = [d for d in docs if d["record_type"] == "metric"]
        assert len(metrics) == 3
        acc_v1 = next(
            d
            for d in metrics
            if d["metric"]["name"] == "quality.accuracy" and d["model"].get("version") == "1"
        )
        assert acc_v1["drifted"] is True and acc_v1["drifted_flag"] == 1
        assert acc_v1["metric"]["ci_low"] == 0.68 and acc_v1["metric"]["reference"] == 0.9
        share = next(d for d in metrics if d["metric"]["name"] == "quality.labelled_share")
        assert "drifted" not in share
        every = [d for d in metrics if d["metric"]["scope"] == "all"]
        assert every and all("version" not in d["model"] for d in every)

    def test_summary(self) -> None:
        """The summary lists every regressed metric@version; the exit code says so."""
        r = report(True)
        summary = list(qj.documents(r))[-1]
        assert summary["record_type"] == "quality"
        assert summary["drifted_features"] == ["quality.accuracy@1", "quality.accuracy@*"]
        assert r.exit_code == 1
        assert report(False).exit_code == 0
        assert json.dumps(r.to_dict())


class TestReferenceFile:
    def test_forms(self, tmp_path: Path) -> None:
        """A flat object or {"metrics": ...}; the quality. prefix is optional."""
        p = tmp_path / "ref.json"
        p.write_text('{"metrics": {"quality.accuracy": 0.9, "roc_auc": 0.95}}')
        assert qj.read_reference_file(str(p)) == {"accuracy": 0.9, "roc_auc": 0.95}

    @pytest.mark.parametrize(
        ("text", "message"),
        [("not json", "not JSON"), ("[1, 2]", "expected an object"), ('{"acc": "x"}', "finite")],
    )
    def test_errors(self, tmp_path: Path, text: str, message: str) -> None:
        """Malformed files are refused with a message saying what is wrong."""
        p = tmp_path / "ref.json"
        p.write_text(text)
        with pytest.raises(qj.ReferenceMetricsError, match=message):
            qj.read_reference_file(str(p))

    def test_missing(self, tmp_path: Path) -> None:
        """A missing file is named."""
        with pytest.raises(qj.ReferenceMetricsError, match="does not exist"):
            qj.read_reference_file(str(tmp_path / "nope.json"))


class TestQualityConfig:
    def test_validation(self) -> None:
        """Bad model names and option values are refused before any request."""
        t0 = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
        w = Window(t0, t0 + dt.timedelta(hours=1))
        with pytest.raises(ConfigError):
            qj.QualityConfig(model="Bad-Name", window=w)
        with pytest.raises(ConfigError):
            qj.QualityConfig(model="m", window=w, confidence=1.5)
        with pytest.raises(ConfigError):
            qj.QualityConfig(model="m", window=w, page_size=20_000)
