"""Unit tests of ShipperConfig: one validated, frozen value object behind every Shipper."""

from __future__ import annotations

import dataclasses
import inspect
from pathlib import Path
from typing import Any

import pytest

from predwatch.errors import ConfigError
from predwatch.shipper import PiiConfig, Shipper, ShipperConfig, SpoolConfig
from tests.helpers.shipper_fakes import FakeSink


def _shipper(**kw: Any) -> Shipper:
    return Shipper(handle_sigterm=False, **kw)


class TestShipperConfig:
    def test_config_and_keywords_build_the_same(self, tmp_path: Path, sink: FakeSink) -> None:
        """Shipper(config=...) and the flat keywords give equal configs."""

        def factory() -> FakeSink:
            return sink

        cfg = ShipperConfig(
            model="credit",
            model_version="3.1.0",
            batch_size=7,
            spool=SpoolConfig(dir=tmp_path, budget=1 << 20, policy="block"),
            pii=PiiConfig(rules={"email": "drop"}),
            handle_sigterm=False,
            sink=factory,
        )
        by_config = Shipper(config=cfg)
        by_keywords = _shipper(
            model="credit",
            model_version="3.1.0",
            batch_size=7,
            spool_dir=tmp_path,
            spool_budget=1 << 20,
            spool_policy="block",
            pii={"email": "drop"},
            sink=factory,
        )
        try:
            assert by_config.config == by_keywords.config == cfg
            assert by_config.spool_root == by_keywords.spool_root == tmp_path
        finally:
            by_config.close(0.1)
            by_keywords.close(0.1)

    def test_shipper_defaults_match_the_config(self) -> None:
        """Every keyword default of Shipper equals the ShipperConfig default it builds."""
        params = inspect.signature(Shipper.__init__).parameters
        built = ShipperConfig.from_keywords(
            **{n: p.default for n, p in params.items() if n not in ("self", "config")}
            | {"model": "credit"}
        )
        assert built == ShipperConfig(model="credit")

    def test_frozen(self) -> None:
        """A config cannot be changed after validation; replace() makes a validated copy."""
        cfg = ShipperConfig(model="credit")
        with pytest.raises(dataclasses.FrozenInstanceError):
            cfg.batch_size = 1  # type: ignore[misc]
        assert dataclasses.replace(cfg, batch_size=10).batch_size == 10
        with pytest.raises(ConfigError, match="batch_size"):
            dataclasses.replace(cfg, batch_size=0)

    def test_pii_rules_are_read_only(self) -> None:
        """The rules mapping is copied: changing the caller's dict changes nothing."""
        rules = {"email": "drop"}
        cfg = PiiConfig(rules=rules)
        rules["phone"] = "drop"
        assert dict(cfg.rules) == {"email": "drop"}
        with pytest.raises(TypeError):
            cfg.rules["x"] = "drop"  # type: ignore[index]

    @pytest.mark.parametrize(
        ("kw", "message"),
        [
            ({"model": "Credit-Risk"}, "model"),
            ({"durability": "fast"}, "durability must be 'memory' or 'disk'"),
            ({"batch_size": 0}, "batch_size must be a positive whole number"),
            ({"max_queue": True}, "max_queue must be a positive whole number"),
            ({"flush_interval": -1}, "flush_interval must be a positive number of seconds"),
            ({"spool": SpoolConfig(budget=1)}, None),
            ({"api_key": "k", "es_config": object()}, "either es_config= or connection"),
            ({"prometheus_port": "9464"}, "prometheus_port"),
            ({"service_name": 3}, "service_name must be text"),
        ],
    )
    def test_validation(self, kw: dict[str, Any], message: str | None) -> None:
        """Bad options fail up front with a message naming the option."""
        if message is None:
            ShipperConfig(model="credit", **kw)  # valid
            return
        with pytest.raises(ConfigError, match=message):
            ShipperConfig(**{"model": "credit", **kw})

    @pytest.mark.parametrize(
        ("make", "message"),
        [
            (lambda: SpoolConfig(policy="wait"), "spool_policy must be 'drop_newest' or 'block'"),
            (lambda: SpoolConfig(budget=0), "spool_budget must be a positive whole number"),
            (lambda: PiiConfig(rules={"email": "mask"}), "PII action 'mask'"),
        ],
    )
    def test_sub_config_validation(self, make: Any, message: str) -> None:
        """The grouped sub-configs validate their own options."""
        with pytest.raises(ConfigError, match=message):
            make()

    def test_keywords_validated_the_same_way(self) -> None:
        """The flat keywords go through the same validation (one path)."""
        with pytest.raises(ConfigError, match="spool_policy must be"):
            _shipper(model="credit", model_version="1", spool_policy="wait")
        with pytest.raises(ConfigError, match="model is required"):
            _shipper(model_version="1")

    def test_config_and_keywords_not_both(self) -> None:
        """A keyword next to config= is refused, naming it."""
        with pytest.raises(ConfigError, match="also given: batch_size"):
            Shipper(config=ShipperConfig(model="credit"), batch_size=3)
        with pytest.raises(ConfigError, match="config must be a ShipperConfig"):
            Shipper(config={"model": "credit"})  # type: ignore[arg-type]

    def test_secrets_not_in_repr(self) -> None:
        """Passwords, API keys and the PII key never show in repr."""
        cfg = ShipperConfig(
            model="credit",
            username="u",
            password="hunter2",
            pii=PiiConfig(rules={"a": "hash"}, key="pii-secret"),
        )
        text = repr(cfg)
        assert "hunter2" not in text and "pii-secret" not in text and "'u'" in text
