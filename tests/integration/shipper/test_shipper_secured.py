"""Integration: API key, basic auth, CA certificate, and wrong credentials / TLS mismatch
against the secured local node."""

from __future__ import annotations

import logging
import uuid
from pathlib import Path
from typing import Any

import pytest

from predwatch import es as es_mod
from predwatch.config import ESConfig
from tests.helpers.shipper_es import fast_shipper, landed_ids


def good_config(node: Any) -> ESConfig:
    c = node.credentials()
    return ESConfig(
        url=node.url, username=c["username"], password=c["password"], ca_cert=c["ca_cert"]
    )


def warnings_of(caplog: Any) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "predwatch.shipper" and r.levelno >= logging.WARNING
    ]


class TestSecured:
    def test_basic_auth_and_ca(self, secured_node: Any, tmp_path: Path) -> None:
        """Basic auth over TLS verified by the node's CA delivers."""
        cfg = good_config(secured_node)
        model = f"t_sec_{uuid.uuid4().hex[:8]}"
        sh = fast_shipper(model, cfg, tmp_path)
        pids = [sh.log_prediction({"i": i}, 0.5) for i in range(20)]
        assert sh.flush(30)
        sh.close()
        es = es_mod.client(cfg)
        assert sorted(landed_ids(es, model)) == sorted(pids)

    def test_api_key(self, secured_node: Any, tmp_path: Path) -> None:
        """An API key delivers (where the distribution can issue keys)."""
        c = secured_node.credentials()
        if not c.get("api_key"):
            pytest.skip(f"this node cannot issue API keys: {c.get('api_key_error', 'no key')}")
        cfg = ESConfig(url=secured_node.url, api_key=c["api_key"], ca_cert=c["ca_cert"])
        model = f"t_sec_{uuid.uuid4().hex[:8]}"
        sh = fast_shipper(model, cfg, tmp_path)
        pids = [sh.log_prediction({"i": i}, 0.5) for i in range(5)]
        assert sh.flush(30)
        sh.close()
        assert sorted(landed_ids(es_mod.client(good_config(secured_node)), model)) == sorted(pids)

    def test_wrong_password_keeps_records_and_reports_once(
        self, secured_node: Any, tmp_path: Path, caplog: Any
    ) -> None:
        """Rejected credentials: records stay on disk, one clear warning, no secret in it;
        a shipper with the right password later delivers them all."""
        caplog.set_level(logging.WARNING, logger="predwatch.shipper")
        good = good_config(secured_node)
        bad = ESConfig(
            url=good.url, username=good.username, password="WRONGPASS123", ca_cert=good.ca_cert
        )
        model = f"t_sec_{uuid.uuid4().hex[:8]}"
        sh = fast_shipper(model, bad, tmp_path)
        pids = [sh.log_prediction({"i": i}, 0.5) for i in range(50)]
        assert not sh.flush(3)
        pids += [sh.log_prediction({"i": i}, 0.5) for i in range(50, 60)]
        assert not sh.flush(2)
        st = sh.stats()
        assert st["acked"] == 0 and st["dropped_total"] == 0
        assert st["spool_pending_records"] + st["queue_depth"] == 60
        assert "rejected the credentials" in (st["last_error"] or "")
        (warning,) = warnings_of(caplog)
        assert "rejected the credentials" in warning and "WRONGPASS123" not in warning
        assert not sh.close(timeout=0.5)
        sh2 = fast_shipper(model, good, tmp_path)
        assert sh2.flush(30)
        sh2.close()
        assert sorted(landed_ids(es_mod.client(good), model)) == sorted(pids)

    def test_tls_mismatch_keeps_records_and_reports_once(
        self, secured_node: Any, tmp_path: Path, caplog: Any
    ) -> None:
        """An untrusted certificate: records stay on disk and one TLS warning is logged."""
        caplog.set_level(logging.WARNING, logger="predwatch.shipper")
        good = good_config(secured_node)
        no_ca = ESConfig(url=good.url, username=good.username, password=good.password)
        model = f"t_sec_{uuid.uuid4().hex[:8]}"
        sh = fast_shipper(model, no_ca, tmp_path)
        for i in range(30):
            sh.log_prediction({"i": i}, 0.5)
        assert not sh.flush(3)
        st = sh.stats()
        assert st["acked"] == 0 and st["spool_pending_records"] + st["queue_depth"] == 30
        (warning,) = warnings_of(caplog)
        assert "TLS" in warning and "PREDWATCH_ES_CA_CERT" in warning
        sh.close(timeout=0.2)
