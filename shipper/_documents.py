"""From an enqueued record to the two `_bulk` lines that index it (worker thread only).

A record is the tuple the caller's thread appends (nothing else is done there):

    (kind, prediction_id, enqueued_at, timestamp, inputs, prediction, latency_ms, extra)

`extra` is None or a dict with any of: features, labels, model_version, msg, args,
logger, level (the last four come from the logging front ends).

Prediction documents (field names from `predwatch.schema`): `@timestamp` (event time,
UTC, ms), `prediction_id`, `model.*`, `service.*`, `host.name`, `process.pid`, `inputs`
(flat keys, dots kept), `features`, `labels`, `prediction.value|label|scores`, `latency_ms`,
`message`, `log.logger|level`, `monitor.*` (see `_enrich`; `monitor.nonfinite`,
`monitor.truncated`, `monitor.unserializable` and `monitor.unindexed_count` are always
written, with or without a baseline).

Field cap: the free-form groups (`inputs` the baseline does not name, `features`, `labels`)
may bring at most `field_cap` fields into the mapping per document (a nested mapping costs
one field per leaf; see `mappings.extra_fields_cap`, derived from the template's
total_fields limit). Keys past it move, value and all, to `unindexed.<group>.<key>`
(stored in `_source`, never mapped) and are counted in `monitor.unindexed_count`, so one
very wide request cannot fill the day's mapping and leave later fields unindexed.

`prediction` may be: a number (-> value), a label (str/bool -> label), a dict of class
scores (-> scores, label = top class, value = the positive class's score for two classes,
else the top score), a dict with keys among value/label/scores (taken as given), a
sequence/array of scores (keyed by the baseline's classes when the lengths agree, else
"0", "1", ...; one element -> value), or a numpy scalar. An int is a label when the
baseline says classification and it is one of the classes, else a value.

Action line: `{"create": {"_index": <daily index of the event time>, "_id": <prediction_id>}}`;
ids longer than 512 bytes (Elasticsearch's limit) are replaced by their SHA-256 as `_id`,
the `prediction_id` field keeps the id as given (cut to 1024 characters).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
from collections.abc import Mapping
from typing import Any

from predwatch import schema as s
from predwatch.baseline import category_key

from ._enrich import Annotator
from ._hashing import sha256_hex
from ._model_stats import Observation
from ._serialize import (
    MAX_JSON_INT,
    Flags,
    IsoClock,
    Limits,
    clean,
    clean_group,
    clean_number,
    dumps,
    key_text,
    to_epoch,
)

PREDICTION, OUTCOME = 0, 1
Record = tuple[int, str, float, Any, Any, Any, Any, "dict[str, Any] | None"]

LABELS = "labels"  # in mappings.prediction_common_mapping, not (yet) a schema constant
MESSAGE = "message"
LOG = "log"
MAX_ID_BYTES = 512

_NONFINITE = s.NONFINITE.split(".", 1)[1]
_TRUNCATED = s.TRUNCATED.split(".", 1)[1]
_UNSERIALIZABLE = s.UNSERIALIZABLE.split(".", 1)[1]
_UNINDEXED_COUNT = s.UNINDEXED_COUNT.split(".", 1)[1]
_UNLIMITED = 1 << 62
_MONITOR = s.NONFINITE.split(".", 1)[0]
_PRED = s.PREDICTION_VALUE.split(".", 1)[0]
_VALUE = s.PREDICTION_VALUE.split(".", 1)[1]
_LABEL = s.PREDICTION_LABEL.split(".", 1)[1]
_SCORES = s.PREDICTION_SCORES.split(".", 1)[1]


def _static_part(fields: Mapping[str, Any]) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    for name, value in fields.items():
        if value is not None:
            s.set_path(doc, name, value)
    return doc


class DocBuilder:
    """Builds bulk lines for one shipper's model; not thread-safe (one worker uses it)."""

    def __init__(
        self,
        *,
        model: str,
        model_version: str,
        model_hash: str | None = None,
        trained_at: str | None = None,
        service: Mapping[str, str | None] | None = None,
        annotator: Annotator | None = None,
        limits: Limits | None = None,
        field_cap: int | None = None,
    ) -> None:
        self.model = model
        self.model_version = model_version
        self.annotator = annotator
        self.limits = limits or Limits()
        service = service or {}
        self._static = _static_part(
            {
                s.MODEL_NAME: model,
                s.MODEL_VERSION: model_version,
                s.MODEL_HASH: model_hash,
                s.MODEL_TRAINED_AT: trained_at,
                s.SERVICE_NAME: service.get("name"),
                s.SERVICE_VERSION: service.get("version"),
                s.SERVICE_ENVIRONMENT: service.get("environment"),
                s.HOST_NAME: socket.gethostname(),
                # Built per process: a forked child makes a new builder (see Shipper).
                s.PROCESS_PID: os.getpid(),
            }
        )
        self._outcome_model = {"name": model, "version": model_version}
        self.field_cap = _UNLIMITED if field_cap is None else field_cap
        self._mapped = frozenset(annotator.features if annotator else ())
        self._known: set[str] = set()  # field names found plain (see clean_group)
        self._iso = IsoClock()
        self._index_day = {"predictions": (-1, ""), "outcomes": (-1, "")}
        # While Prometheus metrics are on, the encoder sets a list here and each encoded
        # prediction adds its `Observation` (what the metrics count, from the document).
        self.observed: list[Observation] | None = None

    # --- public ---------------------------------------------------------------------
    def encode(self, rec: Record) -> bytes:
        """The action and source lines of `rec`, newline-terminated."""
        if rec[0] == OUTCOME:
            index, doc_id, doc = self.outcome(rec)
        else:
            index, doc_id, doc = self.prediction(rec)
        # The action line by hand: index names are plain ASCII, only the id needs escaping.
        action = f'{{"create":{{"_index":"{index}","_id":{_json_str(doc_id)}}}}}\n'
        line = action.encode("utf-8", "replace") + dumps(doc) + b"\n"
        if self.observed is not None and rec[0] == PREDICTION:
            self.observed.append(observation(doc))  # after dumps: only encoded ones count
        return line

    def prediction(self, rec: Record) -> tuple[str, str, dict[str, Any]]:
        _kind, pid, now, ts, inputs, prediction, latency_ms, extra = rec
        t = to_epoch(ts, now)
        fl = Flags()
        lim = self.limits
        doc: dict[str, Any] = {s.TIMESTAMP: self._iso(t), s.PREDICTION_ID: _id_field(pid)}
        doc.update(self._static)
        clean_inputs = clean_group(inputs, fl, lim, self._known)
        doc[s.INPUTS] = clean_inputs
        if extra:
            self._extra(doc, extra, fl)
        pred = self._prediction(prediction, fl)
        if pred:
            doc[_PRED] = pred
        if latency_ms is not None:
            lat = clean_number(latency_ms, fl)
            if lat is not None:
                doc[s.LATENCY_MS] = lat
        monitor: dict[str, Any] = {}
        if self.annotator is not None:
            self.annotator.annotate(clean_inputs, monitor)
        monitor[_NONFINITE] = 1 if fl.nonfinite else 0
        monitor[_TRUNCATED] = 1 if fl.truncated else 0
        monitor[_UNSERIALIZABLE] = fl.unserializable
        monitor[_UNINDEXED_COUNT] = self._cap(doc, fl.nested)
        doc[_MONITOR] = monitor
        return self._index("predictions", t), _doc_id(pid), doc

    def outcome(self, rec: Record) -> tuple[str, str, dict[str, Any]]:
        _kind, pid, now, ts, _inputs, actual, _lat, _extra = rec
        t = to_epoch(ts, now)
        fl = Flags()
        outcome: dict[str, Any] = {}
        v = clean(actual, fl, self.limits)
        if isinstance(v, bool):
            outcome["value"] = 1.0 if v else 0.0
            outcome["label"] = category_key(v)
        elif isinstance(v, int | float):
            outcome["value"] = float(v)
            if isinstance(v, int) or float(v).is_integer():
                outcome["label"] = category_key(v)
        elif v is not None:
            outcome["label"] = (v if isinstance(v, str) else dumps(v).decode())[
                : s.KEYWORD_IGNORE_ABOVE
            ]
        doc = {
            s.TIMESTAMP: self._iso(t),
            s.PREDICTION_ID: _id_field(pid),
            "model": self._outcome_model,
            "outcome": outcome,
        }
        return self._index("outcomes", t), _doc_id(pid), doc

    # --- parts ----------------------------------------------------------------------
    def _cap(self, doc: dict[str, Any], nested: bool) -> int:
        """Move free-form keys past the field cap under `unindexed`; how many moved.
        `nested`: some cleaned value was a mapping or a sequence (else each key costs 1)."""
        budget = self.field_cap
        if not nested:  # the usual case: scalar values, fewer than the cap
            wide = sum(len(doc.get(g) or ()) for g in _CAPPED)
            if wide <= budget:
                return 0
        moved: dict[str, dict[str, Any]] = {}
        n = 0
        for group in _CAPPED:
            values = doc.get(group)
            if not values:
                continue
            mapped = self._mapped if group == s.INPUTS else ()
            keep: dict[str, Any] = {}
            for name, v in values.items():
                if name in mapped:
                    keep[name] = v
                    continue
                cost = _cost(v)
                if cost <= budget:
                    budget -= cost
                    keep[name] = v
                else:
                    moved.setdefault(group, {})[name] = v
                    n += 1
            doc[group] = keep
        if moved:
            doc[s.UNINDEXED] = moved
        return n

    def _index(self, kind: str, t: float) -> str:
        day = int(t // 86400)
        cached_day, name = self._index_day[kind]
        if day != cached_day:
            name = s.index_name(kind, self.model, dt.datetime.fromtimestamp(t, dt.UTC))
            self._index_day[kind] = (day, name)
        return name

    def _extra(self, doc: dict[str, Any], extra: dict[str, Any], fl: Flags) -> None:
        lim = self.limits
        features = extra.get("features")
        if features is not None:
            doc[s.FEATURES] = clean_group(features, fl, lim, self._known)
        # `is not None`, never truthiness: a Series or an array refuses bool().
        labels = extra.get("labels")
        if labels is not None:
            cleaned = clean_group(labels, fl, lim, self._known)
            if cleaned:
                doc[LABELS] = cleaned
        version = extra.get("model_version")
        if version is not None:
            text = version if type(version) is str else key_text(version)
            if text is None:
                fl.unserializable += 1
            elif text:
                doc["model"] = {**doc["model"], "version": text[: s.KEYWORD_IGNORE_ABOVE]}
        if "msg" in extra:
            doc[MESSAGE] = clean(_message(extra["msg"], extra.get("args")), fl, lim)
        if "logger" in extra:
            doc[LOG] = {
                "logger": clean(extra["logger"], fl, lim),
                "level": clean(extra.get("level"), fl, lim),
            }

    def _prediction(self, p: Any, fl: Flags) -> dict[str, Any]:
        if p is None:
            return {}
        if type(p) is int and not -MAX_JSON_INT <= p <= MAX_JSON_INT:
            fl.unserializable += 1  # a number no double holds: no value, not a label either
            return {_VALUE: None}
        v = clean(p, fl, self.limits)
        classes = self.annotator.classes if self.annotator else ()
        classification = self.annotator is not None and self.annotator.kind == "classification"
        if isinstance(v, bool | str):
            return {_LABEL: category_key(v)} if category_key(v) is not None else {}
        if isinstance(v, int) and classification and str(v) in classes:
            return {_LABEL: str(v)}
        if isinstance(v, int | float):
            return {_VALUE: float(v)}
        if v is None:  # non-finite number: flagged, stored as null
            return {_VALUE: None}
        if isinstance(v, dict):
            if v and set(v) <= {_VALUE, _LABEL, _SCORES}:
                return _explicit(v, fl)
            return _from_scores({k: clean_number(x, fl) for k, x in v.items()})
        if isinstance(v, list):
            flat = v[0] if len(v) == 1 and isinstance(v[0], list) else v
            if len(flat) == 1:
                return self._prediction(flat[0], fl)
            keys = classes if len(classes) == len(flat) else [str(i) for i in range(len(flat))]
            return _from_scores({k: clean_number(x, fl) for k, x in zip(keys, flat, strict=False)})
        return {_LABEL: str(v)[: s.KEYWORD_IGNORE_ABOVE]}


def _explicit(v: dict[str, Any], fl: Flags) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if _VALUE in v:
        out[_VALUE] = clean_number(v[_VALUE], fl) if v[_VALUE] is not None else None
    if v.get(_LABEL) is not None:
        out[_LABEL] = category_key(v[_LABEL])
    if isinstance(v.get(_SCORES), dict):
        out[_SCORES] = {str(k): clean_number(x, fl) for k, x in v[_SCORES].items()}
    return out


def _from_scores(scores: dict[str, float | None]) -> dict[str, Any]:
    out: dict[str, Any] = {_SCORES: scores}
    finite = [(x, k) for k, x in scores.items() if x is not None]
    if finite:
        top, label = max(finite)
        out[_LABEL] = label
        keys = list(scores)
        second = scores[keys[1]] if len(keys) == 2 else None
        out[_VALUE] = second if second is not None else top
    return out


_CAPPED = (s.INPUTS, s.FEATURES, LABELS)


def _cost(v: Any) -> int:
    """Fields a cleaned value adds to a `subobjects: false` mapping (an upper bound)."""
    t = type(v)
    if t is dict:
        return max(1, sum(map(_cost, v.values())))
    if t is list:
        return max(1, sum(_cost(x) for x in v if type(x) is dict or type(x) is list))
    return 1


def _message(msg: Any, args: Any) -> str:
    try:
        text = str(msg)
        return text % args if args else text
    except Exception:
        try:
            return f"{msg!r} % {args!r}"
        except Exception:
            return "<unformattable message>"


_json_str = json.encoder.encode_basestring


def _id_field(pid: str) -> str:
    return pid if len(pid) <= s.KEYWORD_IGNORE_ABOVE else pid[: s.KEYWORD_IGNORE_ABOVE]


def _doc_id(pid: str) -> str:
    if len(pid) * 4 <= MAX_ID_BYTES or len(pid.encode("utf-8", "replace")) <= MAX_ID_BYTES:
        return pid
    return sha256_hex(pid.encode("utf-8", "replace"))


def observation(doc: Mapping[str, Any]) -> Observation:
    """What the metrics count of one prediction document (`_model_stats`)."""
    pred = doc.get(_PRED) or {}
    value = pred.get(_VALUE)
    label = pred.get(_LABEL)
    latency = doc.get(s.LATENCY_MS)
    return (
        doc["model"]["version"],
        None if latency is None else float(latency),
        None if value is None else float(value),
        None if label is None else str(label),
        doc.get(_MONITOR),
    )
