"""docker-compose.yml is validated against the Compose specification (no Docker engine here).

Variables are interpolated from .env.example the way `docker compose config` does, then the
file is parsed and validated by `compose-spec` (typed models of the Compose specification).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import compose_spec
import pytest
import yaml

from tests.helpers.compose_env import env_example, interpolate

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def compose_text() -> str:
    return interpolate((REPO / "docker-compose.yml").read_text(), env_example())


@pytest.fixture(scope="module")
def compose(compose_text: str) -> dict[str, Any]:
    return dict(yaml.safe_load(compose_text))


class TestComposeFile:
    def test_valid_against_spec(self, compose_text: str) -> None:
        """The interpolated file parses and validates as a Compose specification document."""
        parsed = compose_spec.PyCompose.from_yaml(compose_text)
        parsed.validate()
        assert {"elasticsearch", "kibana", "setup"} <= set(parsed.service_names())

    def test_validator_catches_mistakes(self, compose_text: str) -> None:
        """The validator used here does reject a wrong type and an unknown key."""
        for bad in (
            compose_text.replace("retries: 30", "retries: lots"),
            compose_text.replace("    ports:", "    portz:", 1),
        ):
            with pytest.raises(ValueError):
                compose_spec.PyCompose.from_yaml(bad).validate()

    def test_every_required_variable_documented(self) -> None:
        """Each ${VAR:?...} the file requires is in .env.example."""
        text = (REPO / "docker-compose.yml").read_text()
        required = set(re.findall(r"\$\{([A-Z_]+):\?", text))
        assert required <= set(env_example())

    def test_security_trial_and_health(self, compose: dict[str, Any]) -> None:
        """Security on, trial licence (Watcher), health checks, setup waits for healthy services."""
        services = compose["services"]
        es_env = "\n".join(services["elasticsearch"]["environment"])
        assert "xpack.security.enabled=true" in es_env
        assert "xpack.license.self_generated.type=trial" in es_env
        assert "healthcheck" in services["elasticsearch"]
        assert "healthcheck" in services["kibana"]
        deps = services["setup"]["depends_on"]
        assert deps["elasticsearch"]["condition"] == "service_healthy"
        assert deps["kibana"]["condition"] == "service_healthy"
        assert "compose-setup" in services["setup"]["command"]
        assert (REPO / ".ci" / "compose-setup").exists()
