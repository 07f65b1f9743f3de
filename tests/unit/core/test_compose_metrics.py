"""docker-compose.yml's Prometheus and Grafana services (`--profile metrics`): the files they
mount exist and agree with each other and with the demo service, and the provisioned
dashboard and rules are what predwatch generates today."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from predwatch.alerts import prometheus_rules as pr
from predwatch.alerts.rules import load_rules
from predwatch.grafana import contract, dashboard
from tests.helpers.compose_env import env_example, interpolate

REPO = Path(__file__).resolve().parents[3]
DEPLOY = REPO / "deploy"


@pytest.fixture(scope="module")
def services() -> dict[str, Any]:
    text = interpolate((REPO / "docker-compose.yml").read_text(), env_example())
    return dict(yaml.safe_load(text)["services"])


def _mounts(service: dict[str, Any]) -> dict[str, Path]:
    """Container path -> repository path of the service's bind mounts from the checkout."""
    out = {}
    for v in service["volumes"]:
        src, dst = v.split(":")[:2]
        if src.startswith("./"):
            out[dst] = REPO / src[2:]
    return out


def _container_file(service: dict[str, Any], path: str) -> Path:
    """The repository file a container path of `service` shows."""
    for dst, src in _mounts(service).items():
        if path.startswith(dst + "/"):
            return src / path[len(dst) + 1 :]
    raise AssertionError(f"{path} is not mounted from the checkout")


def _env(service: dict[str, Any]) -> dict[str, str]:
    return dict(e.split("=", 1) for e in service.get("environment", []))


class TestPrometheus:
    def test_optional_local_and_healthy(self, services: dict[str, Any]) -> None:
        """Behind the `metrics` profile, on 127.0.0.1 only, with a health check."""
        for name in ("prometheus", "grafana"):
            s = services[name]
            assert s["profiles"] == ["metrics"]
            assert all(p.startswith("127.0.0.1:") for p in s["ports"])
            assert "healthcheck" in s
            assert all(":ro" in v for v in s["volumes"] if v.startswith("./"))

    def test_scrapes_the_demo_metrics_port(self, services: dict[str, Any]) -> None:
        """The scrape target is the demo service on the port its shippers serve."""
        prom = services["prometheus"]
        config_path = next(a.split("=", 1)[1] for a in prom["command"] if "config.file" in a)
        config = yaml.safe_load(_container_file(prom, config_path).read_text())
        targets = {
            t
            for job in config["scrape_configs"]
            for c in job["static_configs"]
            for t in c["targets"]
        }
        demo = _env(services["demo"])
        assert f"demo:{demo['PREDWATCH_DEMO_METRICS_PORT']}" in targets
        assert demo["PREDWATCH_DEMO_METRICS_ADDR"] == "0.0.0.0"  # reachable from other containers
        assert "prometheus" in services["demo"]["command"]  # installs the metrics extra

    def test_rules_loaded_and_up_to_date(self, services: dict[str, Any]) -> None:
        """The rule_files glob finds the rendered demo rules, identical to a fresh render."""
        prom = services["prometheus"]
        config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
        pattern = config["rule_files"][0]
        folder = _container_file(prom, pattern.rsplit("/", 1)[0] + "/x").parent
        rendered = sorted(folder.glob(pattern.rsplit("/", 1)[1]))
        assert [p.name for p in rendered] == ["predwatch-demo.yml"]
        source = "deploy/prometheus/demo.rules.yaml"
        doc, skipped = pr.rules_file(load_rules(REPO / source))
        assert not skipped
        assert rendered[0].read_text() == pr.dumps(doc, source), (
            "re-render: predwatch alerts render --rules deploy/prometheus/demo.rules.yaml "
            "--target prometheus -o deploy/prometheus/rules"
        )


class TestGrafana:
    def test_datasource_is_the_prometheus_service(self, services: dict[str, Any]) -> None:
        """The provisioned data source points at the prometheus service and is the default."""
        graf = services["grafana"]
        path = "/etc/grafana/provisioning/datasources/prometheus.yml"
        sources = yaml.safe_load(_container_file(graf, path).read_text())["datasources"]
        assert sources[0]["type"] == "prometheus" and sources[0]["isDefault"] is True
        port = services["prometheus"]["ports"][0].rsplit(":", 1)[1]
        assert sources[0]["url"] == f"http://prometheus:{port}"

    def test_dashboards_provisioned_from_the_mounted_folder(self, services: dict[str, Any]) -> None:
        """The file provider reads the folder the dashboards are mounted at."""
        graf = services["grafana"]
        path = "/etc/grafana/provisioning/dashboards/predwatch.yml"
        provider = yaml.safe_load(_container_file(graf, path).read_text())["providers"][0]
        assert provider["type"] == "file"
        folder = _container_file(graf, provider["options"]["path"] + "/x").parent
        assert folder == DEPLOY / "grafana" / "dashboards"

    def test_demo_dashboard_up_to_date(self) -> None:
        """The provisioned dashboard is `predwatch grafana export --model demo`, contract-clean."""
        dash = json.loads((DEPLOY / "grafana" / "dashboards" / "predwatch-demo.json").read_text())
        assert dash == dashboard("demo"), (
            "regenerate: predwatch grafana export --model demo "
            "-o deploy/grafana/dashboards/predwatch-demo.json"
        )
        assert contract.check(dash) == []
