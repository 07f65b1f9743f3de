"""Baselines for the Grafana tests: the Kibana tests' demo-like model (every feature type,
feature names with dots, spaces and capitals) and a regression model."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "kibana"))

from kibana_fixtures import demo_baseline, regression_baseline

__all__ = ["demo_baseline", "regression_baseline"]
