"""The generated PromQL evaluated by Prometheus' own engine: `promtool test rules` feeds
input series to the rendered alert rules and to the dashboard's queries and compares the
results with what each should be. Needs a `promtool` (PATH or PREDWATCH_PROMTOOL); without
one these tests are skipped, and the unit tests still parse every expression."""

from __future__ import annotations

import math
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from predwatch.alerts import prometheus_rules as pr
from predwatch.alerts.rules import default_rules
from predwatch.baseline import load_baseline
from predwatch.grafana import contract, dashboard
from predwatch.grafana.metrics import STATES

DEMO = Path(__file__).resolve().parents[1] / "alerts" / "demo.baseline.json"
PROMTOOL = os.environ.get("PREDWATCH_PROMTOOL") or shutil.which("promtool")
pytestmark = pytest.mark.skipif(
    not PROMTOOL, reason="no promtool on PATH or in PREDWATCH_PROMTOOL (Prometheus' CLI)"
)
# Grafana's variables as Grafana would interpolate them for a 30-minute dashboard.
GRAFANA_VARS = {"$__rate_interval": "5m", "$__range": "30m", "$version": ".*"}
V1 = 'model="demo", version="1.0"'


def _series(**extra: str) -> str:
    labels = ", ".join([V1, *(f'{k}="{v}"' for k, v in extra.items())])
    return "{" + labels + "}"


# 30 minutes, one sample a minute: 100 predictions a minute of version 1.0, 30 of 2.0.
BASE_SERIES = [
    ("predwatch_predictions_total" + _series(), "0+100x30"),
    ('predwatch_predictions_total{model="demo", version="2.0"}', "0+30x30"),
    ("predwatch_feature_missing_total" + _series(feature="age"), "0+50x30"),
    ("predwatch_feature_missing_total" + _series(feature="income"), "0+0x30"),
    ("predwatch_feature_oov_total" + _series(feature="country"), "0+10x30"),
    ("predwatch_prediction_latency_ms_bucket" + _series(le="50.0"), "0+0x30"),
    ("predwatch_prediction_latency_ms_bucket" + _series(le="100.0"), "0+100x30"),
    ("predwatch_prediction_latency_ms_bucket" + _series(le="+Inf"), "0+100x30"),
    ("predwatch_prediction_latency_ms_count" + _series(), "0+100x30"),
    ("predwatch_prediction_score_sum" + _series(), "0+90x30"),
    ("predwatch_prediction_score_count" + _series(), "0+100x30"),
    ("predwatch_shipper_dropped_total" + _series(reason="queue_full"), "0+1x30"),
    ("predwatch_shipper_dropped_total" + _series(reason="spool_full"), "0+0x30"),
    ("predwatch_shipper_oldest_unsent_age_seconds" + _series(), "400+0x30"),
    ("predwatch_shipper_dead_lettered_total" + _series(), "0+0x30"),
    *(
        (f'predwatch_shipper_state{{{V1}, state="{s}", instance="a"}}', v)
        for s, v in (
            ("idle", "0+0x30"),
            ("ok", "1+0x30"),
            ("spilling", "0+0x30"),
            ("backoff", "0+0x30"),
            ("error", "0+0x30"),
            ("closed", "0+0x30"),
        )
    ),
    # Multiprocess mode (livesum): two processes of instance b ok, one backing off.
    *(
        (f'predwatch_shipper_state{{{V1}, state="{st}", instance="b"}}', f"{n}+0x30")
        for st, n in zip(STATES, (0, 2, 0, 0, 1, 0), strict=True)
    ),
    # The training CDF of the score at the baseline's edges (0.2, 0.5, 0.8): .4 .7 .9 1.
    *(
        (f'predwatch_baseline_score_ratio{{{V1}, le="{le}"}}', f"{r}+0x30")
        for le, r in (("0.2", 0.4), ("0.5", 0.7), ("0.8", 0.9), ("+Inf", 1))
    ),
]


def _score_buckets(cdf: tuple[int, int, int, int]) -> list[tuple[str, str]]:
    les = ("0.2", "0.5", "0.8", "+Inf")
    return [
        ("predwatch_prediction_score_bucket" + _series(le=le), f"0+{n}x30")
        for le, n in zip(les, cdf, strict=True)
    ]


def _grafana(expr: str) -> str:
    for var, value in GRAFANA_VARS.items():
        expr = expr.replace(var, value)
    return expr


def _promtool_test(tmp_path: Path, rules: dict[str, Any], tests: list[dict[str, Any]]) -> None:
    (tmp_path / "rules.yml").write_text(yaml.safe_dump(rules))
    (tmp_path / "test.yml").write_text(
        yaml.safe_dump({"rule_files": ["rules.yml"], "evaluation_interval": "1m", "tests": tests})
    )
    assert PROMTOOL is not None
    res = subprocess.run(
        [PROMTOOL, "test", "rules", "test.yml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert res.returncode == 0, res.stdout + res.stderr


def _case(series: list[tuple[str, str]], checks: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "interval": "1m",
        "input_series": [{"series": s, "values": v} for s, v in series],
        "promql_expr_test": checks,
    }


STEP = 1 / 1024  # exact in binary: both sides round to the same float


def _expect(expr: str, *samples: tuple[str, float]) -> dict[str, Any]:
    """`expr` at the end of the 30 minutes returns exactly these (labels, value) samples, to
    within 1/1024 (promtool compares floats exactly; no sample expected: no rounding)."""
    if samples:
        expr = f"round({expr}, {STEP})"
    return {
        "expr": expr,
        "eval_time": "30m",
        "exp_samples": [
            {"labels": labels, "value": math.floor(value / STEP + 0.5) * STEP}
            for labels, value in samples
        ],
    }


class TestRulesEvaluate:
    def test_rules_fire_on_their_signal_only(self, tmp_path: Path) -> None:
        """Each default rule's expression, on known series, returns what should fire."""
        ruleset = default_rules(load_baseline(DEMO))
        doc, _ = pr.rules_file(ruleset)
        exprs = {r["labels"]["rule_id"]: r["expr"] for g in doc["groups"] for r in g["rules"]}
        checks = [
            _expect(exprs["missing_rate.age"], ("{}", 50 * 15 / (130 * 15))),
            _expect(exprs["missing_rate.income"]),
            _expect(exprs["oov_rate.country"], ("{}", 10 * 15 / (130 * 15))),
            _expect(exprs["oov_rate.device"]),
            _expect(exprs["latency_p95"]),  # p95 97.5 ms, bound 1000 ms
            _expect(exprs["no_traffic"]),
            _expect(exprs["version_change"], ('{version="2.0"}', 30 * 15)),
            _expect(exprs["multiple_versions"], ("{}", 2)),
            _expect(exprs["prediction_mean"], ("{}", 0.9)),
            _expect(exprs["dropped"], ('{reason="queue_full"}', 15)),
            _expect(exprs["delivery_lag"], ('{version="1.0"}', 400)),
            _expect(exprs["deadletter"]),
        ]
        _promtool_test(tmp_path, doc, [_case(BASE_SERIES, checks)])

    def test_no_traffic_without_any_series(self, tmp_path: Path) -> None:
        """A model whose series are gone fires no_traffic (with 0), not silence."""
        doc, _ = pr.rules_file(default_rules(load_baseline(DEMO)))
        expr = next(
            r["expr"]
            for g in doc["groups"]
            for r in g["rules"]
            if r["alert"] == "PredwatchNoTraffic"
        )
        other = [('predwatch_predictions_total{model="other", version="1"}', "0+5x30")]
        _promtool_test(tmp_path, doc, [_case(other, [_expect(expr, ("{}", 0))])])


class TestDashboardEvaluates:
    def _panel_expr(self, title: str, i: int = 0) -> str:
        dash = dashboard("demo", load_baseline(DEMO))
        panel = next(p for p in contract.panels(dash) if p["title"] == title)
        return _grafana(panel["targets"][i]["expr"])

    def test_rates_latency_and_state(self, tmp_path: Path) -> None:
        """Missing rate per feature, latency p95 and the coded shipper state evaluate right."""
        series = BASE_SERIES + _score_buckets((40, 70, 90, 100))
        checks = [
            _expect(
                self._panel_expr("Missing rate per feature"),
                ('{feature="age"}', 50 / 130),
                ('{feature="income"}', 0),
            ),
            _expect(self._panel_expr("Latency p50 / p95 / p99", 1), ("{}", 97.5)),
            _expect(
                self._panel_expr("Shipper state"),
                ('{instance="a", version="1.0"}', 1 + STATES.index("ok")),
                ('{instance="b", version="1.0"}', 1 + STATES.index("backoff")),  # the worst
            ),
            _expect(
                self._panel_expr("Predictions per second by version"),
                ('{version="1.0"}', 100 / 60),
                ('{version="2.0"}', 30 / 60),
            ),
        ]
        _promtool_test(tmp_path, {"groups": []}, [_case(series, checks)])

    @pytest.mark.parametrize(
        ("cdf", "gap"),
        [((40, 70, 90, 100), 0.0), ((10, 40, 90, 100), 0.3)],
        ids=["same", "shifted"],
    )
    def test_cdf_gap(self, tmp_path: Path, cdf: tuple[int, int, int, int], gap: float) -> None:
        """The distance to training is 0 for the training shape, the largest CDF gap otherwise."""
        expr = self._panel_expr("Score distance to training (largest CDF gap)")
        series = BASE_SERIES + _score_buckets(cdf)
        _promtool_test(tmp_path, {"groups": []}, [_case(series, [_expect(expr, ("{}", gap))])])


class TestCheckRules:
    def test_generated_files_pass_promtool_check(self, tmp_path: Path) -> None:
        """`promtool check rules` accepts the default rules, the PrometheusRule's groups and
        the Compose demo's rules file."""
        ruleset = default_rules(load_baseline(DEMO))
        plain, _ = pr.rules_file(ruleset)
        operator, _ = pr.prometheus_rule(ruleset)
        (tmp_path / "plain.yml").write_text(pr.dumps(plain))
        (tmp_path / "operator.yml").write_text(yaml.safe_dump(operator["spec"]))
        compose = Path(__file__).resolve().parents[3] / "deploy/prometheus/rules/predwatch-demo.yml"
        assert PROMTOOL is not None
        res = subprocess.run(
            [PROMTOOL, "check", "rules", "plain.yml", "operator.yml", str(compose)],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert res.returncode == 0, res.stdout + res.stderr
        assert res.stdout.count("SUCCESS") == 3

    def test_promtool_refuses_a_broken_rule(self, tmp_path: Path) -> None:
        """The check is real: a rule whose PromQL does not parse fails it."""
        (tmp_path / "bad.yml").write_text(
            yaml.safe_dump(
                {"groups": [{"name": "g", "rules": [{"alert": "A", "expr": "sum(x >"}]}]}
            )
        )
        assert PROMTOOL is not None
        res = subprocess.run(
            [PROMTOOL, "check", "rules", "bad.yml"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=False,
        )
        assert res.returncode != 0


class TestComposeConfig:
    def test_prometheus_config_passes_promtool(self) -> None:
        """`promtool check config` accepts the Compose Prometheus configuration."""
        config = Path(__file__).resolve().parents[3] / "deploy/prometheus/prometheus.yml"
        assert PROMTOOL is not None
        res = subprocess.run(
            [PROMTOOL, "check", "config", str(config)], capture_output=True, text=True, check=False
        )
        assert res.returncode == 0, res.stdout + res.stderr
