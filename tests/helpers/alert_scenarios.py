"""Scenario data for the alert tests (a helper module for conftest and the tests):
prediction, drift and dead-letter documents written with the schema's field names into
the indices predwatch's templates map."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from elasticsearch import Elasticsearch, helpers

from predwatch import schema as s
from predwatch.alerts import kibana_rules, watcher
from predwatch.alerts.conditions import Check, resolve
from predwatch.alerts.rules import RuleSet
from tests.helpers import kibana_es_query

DEMO = Path(__file__).resolve().parents[1] / "unit" / "alerts" / "demo.baseline.json"
CLEAN_N = 80
Doc = dict[str, Any]
_DROP = object()
DROP: Any = _DROP  # a value in `over` that removes the field


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def prediction(model: str, version: str, i: int, **over: Any) -> Doc:
    """One clean prediction of the demo model, 5 + i/2 seconds ago; `over` replaces fields."""
    ts = _now() - dt.timedelta(seconds=5 + i / 2)
    doc: Doc = {
        s.TIMESTAMP: ts.isoformat(),
        s.PREDICTION_ID: uuid.uuid4().hex,
        s.MODEL_NAME: model,
        s.MODEL_VERSION: version,
        s.feature_field(s.INPUTS, "age"): 40.0,
        s.feature_field(s.INPUTS, "income"): 50000.0,
        s.feature_field(s.INPUTS, "country"): "US",
        s.feature_field(s.INPUTS, "device"): "mobile",
        s.feature_field(s.INPUTS, "comment"): "great app",
        # Alternating around the baseline mean 0.38: the clean mean is exactly 0.38.
        s.PREDICTION_VALUE: 0.30 if i % 2 else 0.46,
        s.PREDICTION_LABEL: "approve",
        s.LATENCY_MS: 40.0 + i % 20,
        s.NONFINITE: 0,
        s.text_field("comment", s.TEXT_TOKENS): 2,
        s.text_field("comment", s.TEXT_OOV_TOKENS): 0,
        s.text_field("comment", s.TEXT_OOV_RATE): 0.0,
        s.feature_field(s.OOV, "country"): 0,
        s.feature_field(s.OOV, "device"): 0,
    }
    for f in ("age", "income", "country", "device", "comment"):
        doc[s.feature_field(s.MISSING, f)] = 0
    doc.update(over)
    return {k: v for k, v in doc.items() if v is not _DROP}


class Scenario:
    """Writes documents for one model and cleans the shared indices' documents up."""

    def __init__(self, es: Elasticsearch, model: str, version: str) -> None:
        self.es = es
        self.model = model
        self.version = version
        self.shared: list[tuple[str, str]] = []  # (index, id) in indices shared with others

    def predictions(
        self,
        n: int = CLEAN_N,
        start: int = 0,
        change: Callable[[int], dict[str, Any]] | None = None,
    ) -> None:
        docs = []
        for i in range(start, start + n):
            d = prediction(self.model, self.version, i, **(change(i) if change else {}))
            when = dt.datetime.fromisoformat(d[s.TIMESTAMP])
            docs.append(
                {
                    "_index": s.index_name("predictions", self.model, when),
                    "_id": d[s.PREDICTION_ID],
                    "_op_type": "create",
                    "_source": d,
                }
            )
        helpers.bulk(self.es, docs, refresh=True)

    def drift(self, feature: str, drifted: bool) -> None:
        doc = {
            s.TIMESTAMP: _now().isoformat(),
            "run_id": uuid.uuid4().hex,
            "record_type": "feature",
            s.MODEL_NAME: self.model,
            "feature": feature,
            "drifted": drifted,
            "drifted_flag": int(drifted),
        }
        self.es.index(index=s.index_name("drift", self.model), document=doc, refresh=True)

    def segment(self, field: str, value: str, drifted: bool) -> None:
        """An `analyze --segment-by` segment document (and a drifted feature inside it,
        which must not fire the unsegmented drift rule)."""
        segment = {"field": field, "value": value, "name": f"{field}={value}"}
        common = {
            s.TIMESTAMP: _now().isoformat(),
            "run_id": uuid.uuid4().hex,
            s.MODEL_NAME: self.model,
            "segment": segment,
            "drifted": drifted,
            "drifted_flag": int(drifted),
        }
        index = s.index_name("drift", self.model)
        self.es.index(index=index, document={**common, "record_type": "segment"}, refresh=True)
        doc = {**common, "record_type": "segment_feature", "feature": "age"}
        self.es.index(index=index, document=doc, refresh=True)

    def quality_metric(self, name: str, drifted: bool | None) -> None:
        """A `predwatch quality` metric document (drifted = regressed; None: not judged)."""
        doc: dict[str, Any] = {
            s.TIMESTAMP: _now().isoformat(),
            "run_id": uuid.uuid4().hex,
            "record_type": "metric",
            s.MODEL_NAME: self.model,
            "metric": {"name": f"quality.{name}", "value": 0.71, "reference": 0.9},
        }
        if drifted is not None:
            doc.update(drifted=drifted, drifted_flag=int(drifted))
        self.es.index(index=s.index_name("drift", self.model), document=doc, refresh=True)

    def deadletter(self) -> None:
        doc = {
            s.TIMESTAMP: _now().isoformat(),
            s.MODEL_NAME: self.model,
            "prediction_id": uuid.uuid4().hex,
            "error": {"type": "mapper_parsing_exception", "reason": "bad", "status": 400},
            "payload": {"x": 1},
        }
        resp = self.es.index(index=s.index_name("deadletter"), document=doc, refresh=True)
        self.shared.append((s.index_name("deadletter"), resp["_id"]))

    def deployment(
        self, fingerprint: str = "f1", model_hash: str = "h1", host: str = "a", version: str = ""
    ) -> None:
        """A deployment document like the shipper writes (packages left out)."""
        doc = {
            s.TIMESTAMP: _now().isoformat(),
            "model": {"name": self.model, "version": version or self.version, "hash": model_hash},
            "host": {"name": host},
            "python": {"version": "3.11.7"},
            "fingerprint": fingerprint,
        }
        index = s.index_name("deployments")
        resp = self.es.index(index=index, document=doc, refresh=True)
        self.shared.append((index, resp["_id"]))

    def cleanup(self) -> None:
        for index, doc_id in self.shared:
            self.es.options(ignore_status=404).delete(index=index, id=doc_id)
        # delete_by_query is missing on the test node: find and delete alert records by id.
        alerts = s.index_name("alerts")
        hits = self.es.options(ignore_status=404).search(
            index=alerts, query={"term": {s.MODEL_NAME: self.model}}, size=1000, source=False
        )
        for hit in hits.body.get("hits", {}).get("hits", []):
            self.es.options(ignore_status=404).delete(index=alerts, id=hit["_id"])
        shared = f"{alerts},{s.index_name('deadletter')}"
        self.es.indices.refresh(index=shared, ignore_unavailable=True)


# Verdicts of the rendered watches and Kibana rules on the real node's search responses, by
# predwatch's model of Watcher conditions and of Kibana's es-query rule (contract, not a
# running Watcher or Kibana).
def _watch_rule(watch: dict[str, Any]) -> str:
    return str(watch["metadata"]["predwatch"]["rule_id"])


def fired_by_watches(es: Elasticsearch, ruleset: RuleSet) -> set[str]:
    fired = set()
    for wid, watch in watcher.render_watches(ruleset).items():
        assert watcher.validate_watch(watch) == [], wid
        req = watch["input"]["search"]["request"]
        resp = es.search(
            index=",".join(req["indices"]),
            rest_total_hits_as_int=True,
            ignore_unavailable=True,
            allow_no_indices=True,
            **req["body"],
        ).body
        check = Check.from_watcher(watch["condition"])
        # The payload path the condition reads exists in the response (when an index does).
        assert resolve(check.path, {"ctx": {"payload": resp}}) is not None or (
            resp["_shards"]["total"] == 0
        ), (wid, check.path)
        if check.evaluate(resp).fired:
            fired.add(_watch_rule(watch))
    return fired


def fired_by_kibana(es: Elasticsearch, ruleset: RuleSet) -> set[str]:
    bodies, _ = kibana_rules.render_rules(ruleset)
    by_uuid = {kibana_rules.rule_uuid(r): r.id for r in ruleset.rules}
    fired = set()
    for rid, body in bodies.items():
        params = body["params"]
        search = kibana_es_query.simulated_search(params)
        resp = es.search(
            index=",".join(params["index"]),
            ignore_unavailable=True,
            allow_no_indices=True,
            **search,
        ).body
        # The value Kibana compares is in the response (when an index exists).
        if params["aggType"] == "count":
            assert isinstance(resp["hits"]["total"]["value"], int)
        else:
            assert "metricAgg" in resp.get("aggregations", {}) or resp["_shards"]["total"] == 0
        met, _ = kibana_es_query.evaluate_params(params, resp)
        if met:
            fired.add(by_uuid[rid])
    return fired
