"""A password written into es_url never shows in the shipper's repr, stats or log lines."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest

from predwatch.shipper import Shipper

SECRET = "SECRETPW123"


class TestUrlCredentials:
    def test_repr_stats_and_logs_hold_no_password(
        self, tmp_path: Path, caplog: pytest.LogCaptureFixture
    ) -> None:
        """Delivery to a closed port fails; nothing shown carries the URL's password."""
        caplog.set_level(logging.INFO)
        shipper = Shipper(
            "creds",
            "1",
            es_url=f"http://elastic:{SECRET}@127.0.0.1:9",
            spool_dir=tmp_path,
            handle_sigterm=False,
            flush_interval=0.05,
            deployment=False,
        )
        try:
            assert shipper.es_config.password == SECRET  # moved into the auth settings
            assert shipper.es_config.url == "http://127.0.0.1:9"
            shipper.log_prediction({"x": 1.0}, prediction=0.5)
            deadline = time.monotonic() + 30
            while shipper.stats()["last_error"] is None and time.monotonic() < deadline:
                time.sleep(0.05)
            last_error = shipper.stats()["last_error"]
            assert last_error is not None and "127.0.0.1:9" in last_error
            shown = [repr(shipper), last_error, *(r.getMessage() for r in caplog.records)]
            assert not [text for text in shown if SECRET in text]
            assert "no credentials" not in last_error
        finally:
            shipper.close(timeout=0)
