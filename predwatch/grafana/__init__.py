"""Grafana dashboards of a model's Prometheus metrics (`predwatch grafana export`)."""

from predwatch.grafana.contract import check
from predwatch.grafana.dashboard import dashboard

__all__ = ["check", "dashboard"]
