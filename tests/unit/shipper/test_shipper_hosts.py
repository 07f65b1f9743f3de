"""A shipper given several hosts: configuration and the client its sink builds (no server)."""

from __future__ import annotations

from pathlib import Path

from predwatch.config import ESConfig
from predwatch.shipper import ElasticsearchSink, Shipper

HOSTS = ["http://127.0.0.1:1", "http://127.0.0.1:2", "http://127.0.0.1:3"]


class TestSeveralHosts:
    def test_list_and_comma_separated(self, tmp_path: Path) -> None:
        """es_url takes a list or a comma-separated string of the cluster's nodes."""
        for url in (HOSTS, ",".join(HOSTS)):
            shipper = Shipper(
                "m", model_version="1", es_url=url, spool_dir=tmp_path, handle_sigterm=False
            )
            try:
                assert shipper.es_config.hosts == HOSTS
            finally:
                shipper.close(timeout=0.1)

    def test_sink_fails_over_on_connection_errors_only(self) -> None:
        """The sink's client knows every node and tries each once on a connection failure,
        never on an HTTP status (those are the shipper's to retry, with backoff)."""
        sink = ElasticsearchSink(ESConfig(url=",".join(HOSTS)))
        es = sink.es
        assert sorted(n.config.port for n in es.transport.node_pool.all()) == [1, 2, 3]
        # the client's per-request options (private: the client has no public accessor)
        assert es._max_retries == len(HOSTS) - 1
        assert es._retry_on_status == () and es._retry_on_timeout is False
        sink.close()
