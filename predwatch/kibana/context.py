"""Stable ids and the per-model context every saved-object builder shares. Pure.

Ids are uuid5(NAMESPACE, "<model>:<kind>:<name>") — the same model, object kind and name
always give the same id, so importing a regenerated file with `overwrite=true` updates the
objects instead of adding copies. In a space other than `default` the space is part of the
name: Kibana 8+ keeps saved-object ids unique across spaces and would give a second space's
copy a new id on import, which would break the links between the dashboards.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from predwatch import schema as s
from predwatch.errors import PredwatchError
from predwatch.kibana.lens import Lens

NAMESPACE = uuid.uuid5(uuid.NAMESPACE_DNS, "kibana.predwatch")
SHARED = "*"  # "model" of objects every model shares (alerts, dead-letter data views)
DATA_VIEW_KINDS = ("predictions", "drift", "alerts", "deadletter")
DASHBOARDS = ("inputs", "predictions", "drift")
SEARCHES = ("oov_examples", "deadletters")
DEFAULT_MAX_FEATURES = 30

# Field names of the drift, alert and dead-letter indices, as predwatch.mappings maps them
# (the contract tests check each one against those mappings).
RECORD_TYPE = "record_type"  # drift: test | feature | summary | metric | segment*
FEATURE = "feature"
SEGMENT_NAME = "segment.name"  # drift, analyze --segment-by: "region=pacific"
TEST = "test"
STATISTIC = "statistic"
P_VALUE_ADJUSTED = "p_value_adjusted"
EFFECT_SIZE = "effect_size"
DRIFTED_FLAG = "drifted_flag"
DRIFTED_COUNT = "drifted_count"
METRIC_NAME = "metric.name"
METRIC_VALUE = "metric.value"
METRIC_REALIZED = "metric.realized"  # quality --estimate: realized beside the estimate
METRIC_SCOPE = "metric.scope"
ESTIMATED_PREFIX = "quality.estimated."
RULE_NAME = "rule.name"
RULE_KIND = "rule.kind"
SEVERITY = "severity"
ALERT_VALUE = "value"
ALERT_MESSAGE = "message"
ALERT_STATUS = "status"
TARGET_INDEX = "target_index"
ERROR_TYPE = "error.type"
ERROR_REASON = "error.reason"
ERROR_STATUS = "error.status"


class KibanaError(PredwatchError):
    """Saved objects that cannot be generated, exported or imported (the message says why)."""


def object_id(model: str, kind: str, name: str = "", space: str = "default") -> str:
    """The stable id of one saved object."""
    key = f"{model}:{kind}:{name}"
    if space != "default":
        key = f"{space}/{key}"
    return str(uuid.uuid5(NAMESPACE, key))


def data_view_model(kind: str, model: str) -> str:
    """Per-model data views for per-model indices; one shared view for shared indices."""
    return model if kind in s.PER_MODEL_KINDS else SHARED


@dataclass(frozen=True)
class Ctx:
    """What the builders of one model's objects need to know."""

    model: str
    space: str = "default"
    base_path: str = ""
    max_features: int = DEFAULT_MAX_FEATURES

    def oid(self, kind: str, name: str = "") -> str:
        return object_id(self.model, kind, name, self.space)

    def data_view(self, kind: str) -> str:
        return object_id(data_view_model(kind, self.model), "data-view", kind, self.space)

    def dashboard(self, which: str) -> str:
        return self.oid("dashboard", which)

    def search(self, which: str) -> str:
        return self.oid("search", which)

    @property
    def model_query(self) -> str:
        """KQL selecting this model's documents in a shared index."""
        return f'{s.MODEL_NAME} : "{self.model}"'

    def title(self, what: str) -> str:
        return f"[{self.model}] {what}"


@dataclass
class Item:
    """One dashboard panel to generate: a Lens visualization (built under `key`) or a
    saved search shown by reference."""

    key: str
    w: int
    h: int
    lens: Lens | None = None
    search: str = ""  # id of a saved search
