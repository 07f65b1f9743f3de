"""One `predwatch demo --fast` run shared by the demo's integration tests (it takes ~30 s)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from predwatch.config import ESConfig


@dataclass
class DemoRun:
    model: str
    output: Path
    returncode: int
    stdout: str
    stderr: str

    @property
    def story(self) -> dict[str, Any]:
        return json.loads((self.output / "story.json").read_text())


def predwatch_command() -> list[str]:
    """The installed `predwatch` console script of this interpreter's environment."""
    script = Path(sys.executable).parent / "predwatch"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from predwatch.cli import main; main()"]


def connection_args(cfg: ESConfig) -> list[str]:
    args = ["--es-url", cfg.url]
    if cfg.api_key:
        args += ["--api-key", cfg.api_key]
    if cfg.username and cfg.password:
        args += ["--username", cfg.username, "--password", cfg.password]
    if cfg.ca_cert:
        args += ["--ca-cert", cfg.ca_cert]
    return args


REPO = Path(__file__).resolve().parents[3]


def run_demo(
    cfg: ESConfig, model: str, output: Path, *extra: str, make_demo: bool = False
) -> DemoRun:
    """`predwatch demo --fast ...`; with `make_demo`, through `.ci/demo` (what `make demo`
    runs: bootstrap, then the command), in this interpreter's environment."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREDWATCH_KIBANA")}
    env["PREDWATCH_VENV"] = sys.prefix
    head = ["bash", str(REPO / ".ci" / "demo")] if make_demo else [*predwatch_command(), "demo"]
    proc = subprocess.run(
        [*head, "--fast", "--model", model, "--output-dir", str(output),
         *connection_args(cfg), *extra],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
        check=False,
    )  # fmt: skip
    return DemoRun(model, output, proc.returncode, proc.stdout, proc.stderr)


def _cleanup(es: Elasticsearch, model: str) -> None:
    found = es.options(ignore_status=404).indices.get(
        index=f"predwatch-*-{model}*", expand_wildcards="all"
    )
    for index in found.body if isinstance(found.body, dict) else {}:
        es.options(ignore_status=404).indices.delete(index=index)
    templates = es.options(ignore_status=404).indices.get_index_template(name=f"*{model}*")
    for t in templates.body.get("index_templates", []):
        es.options(ignore_status=404).indices.delete_index_template(name=t["name"])
    es.options(ignore_status=404).delete(index="predwatch-baselines", id=f"{model}@1.4.0")
    hits = es.options(ignore_status=404).search(
        index="predwatch-alerts", size=1000, query={"term": {"model.name": model}}
    )
    for h in hits.body.get("hits", {}).get("hits", []):
        es.options(ignore_status=404).delete(index=h["_index"], id=h["_id"])


@pytest.fixture(scope="session")
def demo_run(
    es_config: ESConfig, es: Elasticsearch, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DemoRun]:
    """`make demo`'s script with --fast, under a model name of its own, once per session."""
    model = f"demo_t{uuid.uuid4().hex[:8]}"
    output = tmp_path_factory.mktemp("demo") / "out"
    try:
        yield run_demo(es_config, model, output, make_demo=True)
    finally:
        _cleanup(es, model)
