"""`predwatch analyze --quality` without a server: flag plumbing, findings, the JSON key."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import Any

import pytest
from click.testing import CliRunner

from predwatch.analyzers import analyze_cli, analyze_quality, job
from predwatch.analyzers.aggregates import Window
from tests.helpers.analyze_samples import WINDOW
from tests.helpers.analyze_samples import sample_report as _report

DOWN = {"PREDWATCH_ES_URL": "http://127.0.0.1:1"}  # nothing listens on port 1


@dataclasses.dataclass
class FakeQuality:
    """What `with_quality` reads of a quality report."""

    regressed: list[str]
    run_id: str = "q1"
    reference_kind: str = "previous"
    notes: tuple[str, ...] = ()


class TestConfig:
    def test_default_off(self) -> None:
        """analyze does not run the quality job unless asked."""
        assert job.AnalyzeConfig(model="m1", window=WINDOW).quality is False

    def test_flag_reaches_the_config(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """--quality sets AnalyzeConfig.quality for the run."""
        seen: list[job.AnalyzeConfig] = []

        def fake_run(es: object, cfg: object, config: Any, baseline: object = None) -> Any:
            seen.append(config)
            return _report()

        monkeypatch.setattr(job, "run", fake_run)
        for args, expected in ((["--quality"], True), ([], False)):
            res = CliRunner().invoke(
                analyze_cli.analyze, ["--model", "m1", "--json", *args], env=DOWN
            )
            assert res.exit_code in (0, 1), res.output
            assert seen[-1].quality is expected

    def test_help_mentions_it(self) -> None:
        """--help documents --quality with an example."""
        res = CliRunner().invoke(analyze_cli.analyze, ["--help"])
        assert "--quality" in res.output and "--window 1d --quality" in res.output

    def test_quality_run_config(self) -> None:
        """The quality run uses the analyze window, the previous window and the store flag."""
        window = Window(
            dt.datetime(2026, 3, 1, tzinfo=dt.UTC), dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
        )
        q = analyze_quality.quality_config("m1", window, store=False)
        assert (q.model, q.window, q.reference, q.store) == ("m1", window, "previous", False)


class TestFindings:
    def test_regressed_metrics_are_findings(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Each regressed metric@version is a finding (exit 1), in the JSON under "quality"."""
        calls: list[dict[str, Any]] = []

        def fake(es: object, cfg: object, model: str, window: Window, **kw: Any) -> FakeQuality:
            calls.append({"model": model, "window": window, **kw})
            return FakeQuality(["roc_auc@1", "accuracy@*"], notes=("few labels",))

        monkeypatch.setattr(analyze_quality, "run", fake)
        base = _report()
        config = job.AnalyzeConfig(model="m1", window=WINDOW, quality=True, store=False)
        out = job.with_quality(None, None, config, base, WINDOW.end)  # type: ignore[arg-type]
        assert calls == [{"model": "m1", "window": WINDOW, "store": False, "now": WINDOW.end}]
        new = out.findings[len(base.findings) :]
        assert new == ["quality regressed: roc_auc@1", "quality regressed: accuracy@*"]
        assert out.exit_code == 1 and "quality: few labels" in out.notes
        d = json.loads(json.dumps(out.to_dict()))
        assert d["quality"]["regressed"] == ["roc_auc@1", "accuracy@*"]
        assert d["quality"]["run_id"] == "q1"
        assert "quality regressed: roc_auc@1" in d["summary"]["findings"]

    def test_without_quality(self) -> None:
        """A run without --quality has "quality": null and no quality finding."""
        d = _report().to_dict()
        assert d["quality"] is None
        assert not any(f.startswith("quality") for f in d["summary"]["findings"])

    def test_stored_summary_carries_the_finding(self) -> None:
        """The stored run summary counts a quality regression as a finding."""
        report = dataclasses.replace(_report(), quality={"regressed": ["f1@1"]})
        summary = next(d for d in job.documents(report) if d["record_type"] == "summary")
        assert summary["drifted"] is True and "quality regressed: f1@1" in summary["note"]
