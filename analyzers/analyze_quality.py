"""`predwatch analyze --quality`: the quality run of the same window, as analyze findings.

The quality job (outcomes joined to predictions, metrics with confidence intervals) runs
for the analyze window against the previous window of the same length; every regressed
metric becomes a finding "quality regressed: <metric>@<version>" ("*" = all versions).
"""

from __future__ import annotations

import datetime as dt

from elasticsearch import Elasticsearch

from predwatch.analyzers import quality_job as qj
from predwatch.analyzers.aggregates import Window
from predwatch.config import ESConfig

FINDING = "quality regressed: "


def quality_config(model: str, window: Window, store: bool) -> qj.QualityConfig:
    """The quality run analyze makes: same model and window, reference "previous"."""
    return qj.QualityConfig(model=model, window=window, reference="previous", store=store)


def findings(report: qj.QualityReport) -> tuple[str, ...]:
    """One finding per regressed metric and version."""
    return tuple(FINDING + name for name in report.regressed)


def run(
    es: Elasticsearch,
    cfg: ESConfig,
    model: str,
    window: Window,
    *,
    store: bool,
    now: dt.datetime | None = None,
) -> qj.QualityReport:
    """Run (and, with `store`, record) the quality job for the analyze window."""
    return qj.run(es, cfg, quality_config(model, window, store), now=now)
