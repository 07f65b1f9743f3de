"""Running `predwatch demo` (or `make demo`'s script) in a subprocess for the demo tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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


REPO = Path(__file__).resolve().parents[2]


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
