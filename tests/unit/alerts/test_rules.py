"""Rule file format, validation messages, and the defaults derived from a baseline."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from typing import Any

import pytest

from predwatch.alerts import rules as r
from predwatch.baseline import Baseline, load_baseline

DEMO = Path(__file__).with_name("demo.baseline.json")


@pytest.fixture(scope="module")
def demo() -> Baseline:
    return load_baseline(DEMO)


def minimal(**rule: Any) -> dict[str, Any]:
    base = {"id": "nf", "kind": "nonfinite", "threshold": 0}
    base.update(rule)
    return {"format": r.FORMAT, "format_version": 1, "model": "credit", "rules": [base]}


def error(data: Any, env: dict[str, str] | None = None) -> str:
    with pytest.raises(r.RulesError) as info:
        r.rules_from_dict(data, env or {})
    return str(info.value)


class TestDurations:
    def test_units(self) -> None:
        """30s, 15m, 2h and 1d are seconds, minutes, hours and days."""
        assert [r.duration_seconds(x) for x in ("30s", "15m", "2h", "1d")] == [30, 900, 7200, 86400]

    @pytest.mark.parametrize("bad", ["15", "0m", "1w", "-5m", "m", "1.5h"])
    def test_rejects(self, bad: str) -> None:
        """Anything but a positive integer with s/m/h/d is refused with the value quoted."""
        with pytest.raises(r.RulesError, match="not a duration"):
            r.duration_seconds(bad)

    def test_split(self) -> None:
        """split_duration gives Kibana's timeWindowSize and timeWindowUnit."""
        assert r.split_duration("15m") == (15, "m")


class TestSpikeThreshold:
    @pytest.mark.parametrize(
        ("expected", "threshold"),
        [(0.0, 0.05), (0.01, 0.06), (0.1, 0.3), (0.5, 0.75), (0.9, 0.95)],
    )
    def test_values(self, expected: float, threshold: float) -> None:
        """max(3x expected, expected + 0.05), capped halfway to 1 for large rates."""
        assert r.spike_threshold(expected) == pytest.approx(threshold)

    def test_always_above_expected(self) -> None:
        """The threshold is above the expected rate everywhere in [0, 1)."""
        assert all(r.spike_threshold(e / 100) > e / 100 for e in range(100))


class TestParse:
    def test_minimal_rule_gets_defaults(self) -> None:
        """A rule with only id, kind and threshold gets window, throttle, log destination."""
        rs = r.rules_from_dict(minimal())
        (rule,) = rs.rules
        assert (rule.window, rule.throttle, rule.every, rule.destinations) == (
            "15m",
            "30m",
            "1m",
            ("log",),
        )

    def test_defaults_section_applies(self) -> None:
        """`defaults` values apply to every rule unless the rule sets its own."""
        data = minimal()
        data["defaults"] = {"throttle": "2h", "every": "5m"}
        data["rules"].append({"id": "nt", "kind": "no_traffic", "throttle": "10m"})
        rs = r.rules_from_dict(data)
        assert [(x.throttle, x.every) for x in rs.rules] == [("2h", "5m"), ("10m", "5m")]

    def test_env_references_are_expanded(self) -> None:
        """`${VAR}` in destinations reads the environment, so secrets stay out of the file."""
        data = minimal(destinations=["hook"])
        data["destinations"] = {
            "hook": {
                "type": "webhook",
                "url": "${HOOK}/x",
                "headers": {"Authorization": "Bearer ${TOKEN}"},
            }
        }
        rs = r.rules_from_dict(data, {"HOOK": "https://h.example", "TOKEN": "s3cr3t"})
        dest = rs.destination("hook")
        assert dest.url == "https://h.example/x"
        assert dest.headers["Authorization"] == "Bearer s3cr3t"

    def test_missing_env_variable_is_named(self) -> None:
        """An unset variable is named in the error."""
        data = minimal(destinations=["hook"])
        data["destinations"] = {"hook": {"type": "webhook", "url": "${NOPE}"}}
        assert "NOPE is not set" in error(data)

    @pytest.mark.parametrize(
        ("change", "message"),
        [
            ({"kind": "bogus"}, "unknown kind 'bogus'"),
            ({"kind": "oov_rate", "threshold": 0.1}, "needs a `feature`"),
            ({"kind": "oov_rate", "feature": "c", "threshold": 0.1}, "feature_type"),
            (
                {"kind": "oov_rate", "feature": "c", "feature_type": "categorical", "threshold": 2},
                "must be within [0, 1]",
            ),
            ({"feature": "x"}, "takes no `feature`"),
            ({"window": "15"}, "not a duration"),
            ({"severity": "page"}, "severity must be one of"),
            ({"threshold": "high"}, "threshold must be a number"),
            ({"kind": "prediction_mean", "threshold": [0.5, 0.1]}, "low < high"),
            ({"kind": "version_change"}, "needs `expected_version`"),
            ({"kind": "staleness"}, "needs `max_age`"),
            ({"kind": "staleness", "max_age": "90"}, "max_age '90' is not a duration"),
            ({"max_age": "90d"}, "takes no `max_age`"),
            ({"destinations": ["pager"]}, "'pager' is not declared"),
            ({"colour": "red"}, "unknown key(s) colour"),
        ],
    )
    def test_invalid_rules(self, change: dict[str, Any], message: str) -> None:
        """Each kind of mistake is reported with the rule's position and what is wrong."""
        text = error(minimal(**change))
        assert text.startswith("rules") and message in text

    def test_invalid_file_level(self) -> None:
        """Wrong format marker, newer format_version, bad model and duplicate ids."""
        assert "not a predwatch rule file" in error({"format": "x"})
        newer = minimal()
        newer["format_version"] = 2
        assert "upgrade predwatch" in error(newer)
        bad_model = minimal()
        bad_model["model"] = "Credit-Risk"
        assert "may only contain" in error(bad_model)
        dup = minimal()
        dup["rules"].append(dict(dup["rules"][0]))
        assert "appears twice" in error(dup)

    def test_destination_validation(self) -> None:
        """Webhooks need an http(s) url, email needs recipients, types are checked."""
        for dest, msg in [
            ({"type": "webhook"}, "needs a `url`"),
            ({"type": "webhook", "url": "ftp://x"}, "http:// or https://"),
            ({"type": "email"}, "needs `to`"),
            ({"type": "pager"}, "type must be one of"),
        ]:
            data = minimal(destinations=["d"])
            data["destinations"] = {"d": dest}
            assert msg in error(data)

    def test_yaml_and_json_round_trip(self, tmp_path: Path, demo: Baseline) -> None:
        """A saved rule set loads back equal from YAML and from JSON."""
        rs = r.default_rules(demo)
        rs = dataclasses.replace(
            rs,
            destinations={
                "mail": r.Destination("mail", "email", to=("a@b.org",), smtp_host="smtp.b.org")
            },
        )
        for name in ("rules.yaml", "rules.json"):
            path = r.save_rules(rs, tmp_path / name)
            assert r.load_rules(path, {}) == rs

    def test_load_errors(self, tmp_path: Path) -> None:
        """Unreadable files and broken YAML/JSON are one-line errors naming the file."""
        with pytest.raises(r.RulesError, match="cannot read rule file"):
            r.load_rules(tmp_path / "missing.yaml")
        bad = tmp_path / "bad.yaml"
        bad.write_text("rules: [unclosed\n")
        with pytest.raises(r.RulesError, match=r"bad\.yaml is not valid YAML"):
            r.load_rules(bad)
        badj = tmp_path / "bad.json"
        badj.write_text("{")
        with pytest.raises(r.RulesError, match=r"bad\.json is not valid JSON"):
            r.load_rules(badj)


class TestDefaults:
    def test_every_kind_present(self, demo: Baseline) -> None:
        """The defaults hold every rule kind, per-feature kinds once per fitting feature."""
        rs = r.default_rules(demo)
        assert {x.kind for x in rs.rules} == set(r.KINDS)
        ids = {x.id for x in rs.rules}
        assert {"missing_rate.age", "oov_rate.country", "unseen.device", "oov_rate.comment"} <= ids
        assert "oov_rate.age" not in ids  # numeric features have no vocabulary

    def test_thresholds_from_baseline(self, demo: Baseline) -> None:
        """Missing/OOV thresholds come from the training rates; version from the baseline."""
        rules = {x.id: x for x in r.default_rules(demo).rules}
        income = demo.feature("income")
        assert income is not None
        assert rules["missing_rate.income"].threshold == r.spike_threshold(income.missing_rate)
        assert rules["oov_rate.comment"].threshold == r.spike_threshold(0.08)
        assert rules["oov_rate.comment"].feature_type == "text"
        assert rules["oov_rate.country"].threshold == 0.05  # complete vocabulary: expected 0
        assert rules["unseen.country"].threshold == r.DEFAULT_UNSEEN_RATE
        assert rules["version_change"].expected_version == demo.version

    def test_truncated_vocabulary_raises_expected_oov(self, demo: Baseline) -> None:
        """With a truncated vocabulary, `other`/n is the expected OOV rate."""
        country = demo.feature("country")
        assert country is not None and country.categorical is not None
        cat = dataclasses.replace(country.categorical, vocabulary_truncated=True)
        b = dataclasses.replace(demo, features=(dataclasses.replace(country, categorical=cat),))
        rule = {x.id: x for x in r.default_rules(b).rules}["oov_rate.country"]
        assert rule.threshold == r.spike_threshold(500 / 10000)

    def test_prediction_band(self, demo: Baseline) -> None:
        """mean +/- sigma x std / sqrt(min_count) of the baseline's prediction value."""
        rule = {x.id: x for x in r.default_rules(demo, min_count=100, sigma=3).rules}[
            "prediction_mean"
        ]
        half = 3 * math.sqrt(0.06 / 100)
        assert rule.band == pytest.approx((0.38 - half, 0.38 + half))

    def test_no_prediction_profile_no_band_rule(self, demo: Baseline) -> None:
        """A baseline without a prediction profile gets no prediction_mean rule."""
        b = dataclasses.replace(demo, prediction=None)
        assert "prediction_mean" not in {x.kind for x in r.default_rules(b).rules}

    def test_options(self, demo: Baseline) -> None:
        """Destinations, min_count and latency bound are taken from the caller; a model name
        other than the baseline's is refused (its thresholds would be another model's)."""
        rs = r.default_rules(demo, "demo", destinations=("stdout",), min_count=7, latency_ms=250)
        assert rs.model == "demo" and all(x.model == "demo" for x in rs.rules)
        with pytest.raises(r.RulesError, match="the baseline is for model 'demo'"):
            r.default_rules(demo, "other")
        assert all(x.destinations == ("stdout",) for x in rs.rules)
        rules = {x.id: x for x in rs.rules}
        assert rules["latency_p95"].threshold == 250
        assert rules["oov_rate.country"].min_count == 7

    def test_printable_as_yaml_and_json(self, demo: Baseline) -> None:
        """dumps_rules gives YAML with a comment header, or plain JSON."""
        rs = r.default_rules(demo)
        assert r.dumps_rules(rs).startswith("# predwatch alert rules")
        assert json.loads(r.dumps_rules(rs, "json"))["model"] == "demo"


class TestDeploymentKinds:
    def test_defaults(self, demo: Baseline) -> None:
        """Dependency and model-hash changes look at a day of deployment documents (more
        than one value per version); staleness at an hour of predictions."""
        rules = {x.id: x for x in r.default_rules(demo).rules}
        for rid in ("dependency_change", "model_hash_change"):
            assert (rules[rid].window, rules[rid].threshold, rules[rid].max_age) == (
                "1d",
                1.0,
                None,
            )
        stale = rules["staleness"]
        assert (stale.window, stale.threshold, stale.max_age) == ("1h", 0.0, r.DEFAULT_MAX_AGE)

    def test_max_age_round_trip(self) -> None:
        """max_age is read from and written to rule files."""
        rs = r.rules_from_dict(minimal(kind="staleness", max_age="30d"), {})
        assert rs.rules[0].max_age == "30d"
        assert rs.to_dict()["rules"][0]["max_age"] == "30d"


class TestQualityRegressionKind:
    def test_default(self, demo: Baseline) -> None:
        """quality_regression looks at a day of quality runs and fires on any regressed metric."""
        rule = next(x for x in r.default_rules(demo).rules if x.id == "quality_regression")
        assert (rule.kind, rule.window, rule.threshold, rule.severity) == (
            "quality_regression", "1d", 0.0, "warning"
        )  # fmt: skip
        assert rule.feature is None and r.KINDS["quality_regression"].unit == "regressed metrics"

    def test_takes_no_feature(self) -> None:
        """Like drift, it is a per-model rule: a feature is refused."""
        with pytest.raises(r.RulesError, match="takes no `feature`"):
            r.rules_from_dict(minimal(kind="quality_regression", feature="age"), {})
