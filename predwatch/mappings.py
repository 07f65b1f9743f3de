"""Elasticsearch mappings derived from the schema: the common prediction mapping, the
per-model part generated from a baseline's features, and the mappings of the other indices.

Pure: returns dicts, never talks to a cluster.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from predwatch import schema as s

Mapping_ = dict[str, Any]

KEYWORD: Mapping_ = {"type": "keyword", "ignore_above": s.KEYWORD_IGNORE_ABOVE}
# ignore_malformed: a string arriving in a numeric input is kept in _source and marked
# in _ignored instead of failing the whole document (docs/architecture.md: extras never
# fail indexing).
DOUBLE: Mapping_ = {"type": "double", "ignore_malformed": True}
FLAG: Mapping_ = {"type": "byte"}  # 0/1: numeric so Kibana can average it into a rate
DATE: Mapping_ = {"type": "date"}


def _flat_object(dynamic_templates_leaf: Mapping_ | None = None) -> Mapping_:
    """An object whose keys are leaf names even when they contain dots."""
    obj: Mapping_ = {"type": "object", "subobjects": False}
    if dynamic_templates_leaf is None:
        obj["dynamic"] = True
    return obj


def _dyn(
    name: str, path_match: str, mapping: Mapping_, mapping_type: str | None = None
) -> Mapping_:
    body: Mapping_ = {"path_match": path_match, "mapping": mapping}
    if mapping_type:
        body["match_mapping_type"] = mapping_type
    return {name: body}


def _value_templates(group: str) -> list[Mapping_]:
    """Dynamic templates for free-form values (inputs of models without a baseline, extras)."""
    g = group.replace(".", "_")
    return [
        _dyn(f"{g}_long", f"{group}.*", DOUBLE, "long"),
        _dyn(f"{g}_double", f"{group}.*", DOUBLE, "double"),
        _dyn(f"{g}_boolean", f"{group}.*", KEYWORD, "boolean"),
        _dyn(f"{g}_string", f"{group}.*", KEYWORD, "string"),
    ]


def _deployment_fields() -> Mapping_:
    """model.*, service.*, host.name and process.pid: who made a prediction (ECS names where
    ECS has one)."""
    keyword = {"type": "keyword"}
    return {
        "model": {
            "properties": {"name": keyword, "version": keyword, "hash": keyword, "trained_at": DATE}
        },
        "service": {"properties": {"name": keyword, "version": keyword, "environment": keyword}},
        "host": {"properties": {"name": keyword}},
        "process": {"properties": {"pid": {"type": "long"}}},
    }


def prediction_dynamic_templates() -> list[Mapping_]:
    """Typing rules for fields not named in a baseline: never a mapping conflict."""
    return [
        *_value_templates(s.INPUTS),
        *_value_templates(s.FEATURES),
        _dyn("labels", "labels.*", KEYWORD),
        _dyn("scores", f"{s.PREDICTION_SCORES}.*", DOUBLE),
        _dyn("missing", f"{s.MISSING}.*", FLAG),
        _dyn("oov", f"{s.OOV}.*", FLAG),
        _dyn("out_of_range", f"{s.OUT_OF_RANGE}.*", FLAG),
        _dyn("unseen", f"{s.UNSEEN}.*", KEYWORD),
        _dyn("text_terms", f"{s.TEXT}.*.{s.TEXT_OOV_TERMS}", KEYWORD),
        _dyn("text_rate", f"{s.TEXT}.*.{s.TEXT_OOV_RATE}", {"type": "float"}),
        _dyn("text_counts", f"{s.TEXT}.*", {"type": "integer"}),
    ]


def prediction_common_mapping() -> Mapping_:
    """The part of the prediction mapping every model shares."""
    return {
        # Unknown top-level fields stay in _source unindexed: they can never fail a document.
        "dynamic": False,
        "dynamic_templates": prediction_dynamic_templates(),
        "properties": {
            s.TIMESTAMP: DATE,
            "prediction_id": {"type": "keyword"},
            "message": {"type": "text"},
            "log": {"properties": {"logger": KEYWORD, "level": KEYWORD}},
            **_deployment_fields(),
            "labels": _flat_object(),
            "inputs": _flat_object(),
            "features": _flat_object(),
            "prediction": {
                "properties": {
                    "value": DOUBLE,
                    "label": KEYWORD,
                    "scores": _flat_object(),
                }
            },
            "latency_ms": {"type": "double"},
            # Values past the per-document field cap: in _source, never parsed or mapped.
            "unindexed": {"type": "object", "enabled": False},
            "monitor": {
                "properties": {
                    "missing": _flat_object(),
                    "oov": _flat_object(),
                    "unseen": _flat_object(),
                    "out_of_range": _flat_object(),
                    "text": _flat_object(),
                    "nonfinite": FLAG,
                    "truncated": FLAG,
                    "unserializable": {"type": "integer"},
                    "unindexed_count": {"type": "integer"},
                    "missing_count": {"type": "integer"},
                    "oov_count": {"type": "integer"},
                    "baseline": {"type": "keyword"},
                }
            },
        },
    }


def feature_properties(features: Iterable[s.Feature]) -> Mapping_:
    """Explicit per-model mapping of the baseline's features (Kibana charts only mapped fields)."""
    inputs: Mapping_ = {}
    missing: Mapping_ = {}
    oov: Mapping_ = {}
    unseen: Mapping_ = {}
    out_of_range: Mapping_ = {}
    text: Mapping_ = {}
    for f in s.validate_features(features):
        missing[f.name] = FLAG
        if f.type is s.FeatureType.NUMERIC:
            inputs[f.name] = DOUBLE
            out_of_range[f.name] = FLAG
        elif f.type is s.FeatureType.CATEGORICAL:
            inputs[f.name] = KEYWORD
            oov[f.name] = FLAG
            unseen[f.name] = KEYWORD
        else:
            inputs[f.name] = {
                "type": "text",
                "fields": {
                    "keyword": {"type": "keyword", "ignore_above": s.TEXT_KEYWORD_IGNORE_ABOVE}
                },
            }
            text[f"{f.name}.{s.TEXT_TOKENS}"] = {"type": "integer"}
            text[f"{f.name}.{s.TEXT_OOV_TOKENS}"] = {"type": "integer"}
            text[f"{f.name}.{s.TEXT_OOV_RATE}"] = {"type": "float"}
            text[f"{f.name}.{s.TEXT_OOV_TERMS}"] = KEYWORD

    def obj(props: Mapping_) -> Mapping_:
        return {**_flat_object(), "properties": props}

    return {
        "inputs": obj(inputs),
        "monitor": {
            "properties": {
                "missing": obj(missing),
                "oov": obj(oov),
                "unseen": obj(unseen),
                "out_of_range": obj(out_of_range),
                "text": obj(text),
            }
        },
    }


def model_mapping(features: Sequence[s.Feature], classes: Sequence[str] = ()) -> Mapping_:
    """Per-model mapping: the features (and class-score fields) of one baseline."""
    props = feature_properties(features)
    if classes:
        scores = {str(c): DOUBLE for c in classes}
        props["prediction"] = {"properties": {"scores": {**_flat_object(), "properties": scores}}}
    return {"properties": props}


def total_fields_limit(
    features: Sequence[s.Feature], minimum: int = s.DEFAULT_TOTAL_FIELDS_LIMIT
) -> int:
    """The total_fields limit of a model's template: `minimum` (the generic template's), raised
    so the baseline's features plus as much room again for free-form fields fit."""
    needed = 80 + sum(s.FIELDS_PER_FEATURE[str(f.type)] for f in features)
    return max(minimum, needed + 200)


def count_fields(mapping: Mapping_) -> int:
    """Fields a mapping defines, as Elasticsearch counts them against total_fields.limit
    (objects and multi-fields included)."""
    n = 0
    for body in mapping.get("properties", {}).values():
        n += 1 + count_fields(body) + len(body.get("fields", {}))
    return n


def extra_fields_cap(limit: int, features: Sequence[s.Feature] = ()) -> int:
    """Free-form fields one document may bring (inputs not in the baseline, `features`,
    `labels`): half the room the mappings leave under `limit`, so one wide request leaves
    the other half for fields first seen later that day. Fields past it go to `unindexed`."""
    used = count_fields(prediction_common_mapping())
    if features:
        used += count_fields(model_mapping(features))
    return max(0, (limit - used) // 2)


# --- the other indices ----------------------------------------------------------------
def _strict(props: Mapping_) -> Mapping_:
    return {"dynamic": False, "properties": props}


_MODEL = {"properties": {"name": {"type": "keyword"}, "version": {"type": "keyword"}}}


def outcomes_mapping() -> Mapping_:
    return _strict(
        {
            s.TIMESTAMP: DATE,
            "prediction_id": {"type": "keyword"},
            "model": _MODEL,
            "outcome": {"properties": {"value": DOUBLE, "label": KEYWORD}},  # schema.OUTCOME_*
        }
    )


def drift_mapping() -> Mapping_:
    """One document per (analyzer run, feature, test), per feature, and one run summary."""
    return _strict(
        {
            s.TIMESTAMP: DATE,
            "run_id": {"type": "keyword"},
            # test | feature | summary | metric; with --segment-by also segment (one per
            # segment), segment_test and segment_feature (a segment's own results)
            "record_type": {"type": "keyword"},
            "model": _MODEL,
            "window": {"properties": {"start": DATE, "end": DATE}},
            "reference": {"properties": {"kind": {"type": "keyword"}, "start": DATE, "end": DATE}},
            "feature": KEYWORD,
            "feature_type": {"type": "keyword"},
            "test": {"type": "keyword"},
            "statistic": {"type": "double"},
            "p_value": {"type": "double"},
            "p_value_adjusted": {"type": "double"},
            "effect_size": {"type": "double"},
            "effect_name": {"type": "keyword"},
            "threshold": {"type": "double"},
            "drifted": {"type": "boolean"},
            "drifted_flag": FLAG,  # the verdict as 0/1 so Kibana can sum and average it
            "note": {"type": "text"},
            "n_current": {"type": "double"},
            "n_reference": {"type": "double"},
            "min_detectable_effect": {"type": "double"},
            "detectable": {"type": "boolean"},
            "power_note": {"type": "text"},
            "drifted_features": KEYWORD,
            "drifted_count": {"type": "integer"},
            # analyze --segment-by: the segment of segment* documents ("region", "pacific",
            # "region=pacific"); the segment mix's documents carry only the field.
            "segment": {"properties": {"field": KEYWORD, "value": KEYWORD, "name": KEYWORD}},
            "drifted_segments": KEYWORD,  # summary: "region=pacific", ...
            "drifted_segment_count": {"type": "integer"},
            "metric": {
                "properties": {
                    "name": {"type": "keyword"},
                    "value": {"type": "double"},
                    "ci_low": {"type": "double"},
                    "ci_high": {"type": "double"},
                    "reference": {"type": "double"},
                    # quality --estimate: the realized value beside an estimate, and the error
                    "realized": {"type": "double"},
                    "error": {"type": "double"},
                    "n": {"type": "long"},
                    "scope": {"type": "keyword"},  # version | all
                }
            },
        }
    )


def baselines_mapping() -> Mapping_:
    return _strict(
        {
            s.TIMESTAMP: DATE,
            "baseline_id": {"type": "keyword"},
            "model": _MODEL,
            # The profile itself: stored, never indexed (its keys are feature names).
            "profile": {"type": "object", "enabled": False},
        }
    )


def deadletter_mapping() -> Mapping_:
    return _strict(
        {
            s.TIMESTAMP: DATE,
            "model": _MODEL,
            "prediction_id": {"type": "keyword"},
            "target_index": {"type": "keyword"},
            "error": {
                "properties": {
                    "type": {"type": "keyword"},
                    "reason": {"type": "text"},
                    "status": {"type": "integer"},
                }
            },
            # The refused document, kept verbatim and never parsed again (it conflicted once).
            "payload": {"type": "object", "enabled": False},
        }
    )


def alerts_mapping() -> Mapping_:
    return _strict(
        {
            s.TIMESTAMP: DATE,
            "model": _MODEL,
            "rule": {
                "properties": {
                    "id": {"type": "keyword"},
                    "name": {"type": "keyword"},
                    "kind": {"type": "keyword"},
                    "feature": KEYWORD,
                }
            },
            "source": {"type": "keyword"},  # runner | watcher | kibana
            "window": {"type": "keyword"},
            "watch_id": {"type": "keyword"},
            "details": {"type": "object", "enabled": False},
            "severity": {"type": "keyword"},
            "status": {"type": "keyword"},
            "value": {"type": "double"},
            "threshold": {"type": "double"},
            "message": {"type": "text"},
            "destinations": {"type": "keyword"},
        }
    )


def deployments_mapping() -> Mapping_:
    mapping = _strict(
        {
            s.TIMESTAMP: DATE,
            **_deployment_fields(),
            "python": {"properties": {"version": {"type": "keyword"}}},
            "packages": {**_flat_object(), "properties": {}},
            "fingerprint": {"type": "keyword"},
        }
    )
    mapping["dynamic_templates"] = [_dyn("packages", "packages.*", KEYWORD)]
    return mapping


OTHER_MAPPINGS = {
    "outcomes": outcomes_mapping,
    "drift": drift_mapping,
    "baselines": baselines_mapping,
    "deadletter": deadletter_mapping,
    "alerts": alerts_mapping,
    "deployments": deployments_mapping,
}
