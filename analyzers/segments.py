"""Segments of a run (`analyze --segment-by`): which slices to compare and how to ask for them.

Pure. A segment is one value of a segmentation field (an input feature or a `labels.*`
field). The top segments by volume are compared one by one; every other document (other
values, and documents without the field) is pooled as `(other)`. Each segmentation field
becomes one `filters` aggregation, named `seg<i>`, nested in the SAME search bodies as the
window's feature and prediction aggregations (one bucket per segment plus the `(other)`
bucket), so a run costs no request per segment: only one small `terms` request per field
and window beforehand, which ranks the segments by volume.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from predwatch import schema as s
from predwatch.baseline import Baseline
from predwatch.errors import ConfigError

Body = dict[str, Any]

OTHER_SEGMENT = "(other)"
DEFAULT_SEGMENTS = 10
MAX_SEGMENTS = 100
# Candidates each window's ranking request returns per field (the top by pooled volume are
# chosen among them): far more than the segments compared, so a segment large in only one
# of the two windows (one that appeared or disappeared) is still a candidate.
RANK_SIZE = 1000
# Distinct values of a categorical feature counted per segment; a segment with more values
# does not compare that feature's distribution or unseen share (said in a note).
SEGMENT_TERMS_CAP = 200
# The note of such a feature in such a segment: only its top values are known there, so its
# distribution is not compared in the segment (see segment_compare.untested_truncated).
NOTE_TRUNCATED = f"more than {SEGMENT_TERMS_CAP} distinct values in this segment"
# Buckets one search body may create across its segments (Elasticsearch refuses a response
# above search.max_buckets, 65,536 by default): segmented runs send fewer features per body.
BUCKET_BUDGET = 40_000
OTHER_KEY = "other"  # the filters bucket of (other); segment buckets are s0, s1, ...


@dataclass(frozen=True)
class SegmentSpec:
    """One segmentation field and the segment values compared one by one."""

    field: str  # as the user wrote it: "region" or "labels.tier"
    es_field: str  # the indexed field: "inputs.region" or "labels.tier"
    values: tuple[str, ...]

    @property
    def keys(self) -> tuple[str, ...]:
        """The segments of this field in report order: the values, then (other)."""
        return (*self.values, OTHER_SEGMENT)

    def agg(self, sub: Body) -> Body:
        """A `filters` aggregation: one bucket per value, `other` for the rest, `sub` in each."""
        filters = {f"s{j}": {"term": {self.es_field: v}} for j, v in enumerate(self.values)}
        return {
            "filters": {"filters": filters, "other_bucket_key": OTHER_KEY},
            "aggs": sub,
        }

    def bucket_value(self, key: str) -> str:
        """The segment value of a `filters` bucket key (`s3` -> the fourth value)."""
        if key == OTHER_KEY:
            return OTHER_SEGMENT
        return self.values[int(key[1:])]


def parse_fields(text: str | None) -> tuple[str, ...]:
    """`--segment-by region,labels.tier` -> ("region", "labels.tier"); ConfigError on junk."""
    if not text:
        return ()
    names = tuple(dict.fromkeys(n.strip() for n in text.split(",") if n.strip()))
    if not names:
        raise ConfigError("--segment-by needs a field name, e.g. --segment-by region")
    return names


def check_count(n: int) -> int:
    if not 1 <= n <= MAX_SEGMENTS:
        raise ConfigError(f"--segments must lie between 1 and {MAX_SEGMENTS}, got {n}")
    return n


def es_field(name: str) -> str:
    """The indexed field of a segmentation field: `labels.*` as is, else the input feature."""
    if name == s.LABELS or name.startswith(f"{s.LABELS}."):
        return name
    return s.feature_field(s.INPUTS, name)


def rank_body(spec_field: str, query: Body) -> Body:
    """Document counts of the most frequent values of one field in one window."""
    return {
        "size": 0,
        "track_total_hits": True,
        "query": query,
        "aggs": {
            "values": {"terms": {"field": spec_field, "size": RANK_SIZE, "shard_size": RANK_SIZE}}
        },
    }


def ranked_values(resp: Mapping[str, Any]) -> dict[str, float]:
    """Value -> documents of a `rank_body` response."""
    buckets = ((resp.get("aggregations") or {}).get("values") or {}).get("buckets") or []
    return {str(b.get("key_as_string", b["key"])): float(b["doc_count"]) for b in buckets}


def top_values(counts: Sequence[Mapping[str, float]], n: int) -> tuple[str, ...]:
    """The `n` values with the most documents over all windows (shares, so a small
    reference window weighs as much as a large current one); ties by value."""
    pooled: dict[str, float] = {}
    for c in counts:
        total = math.fsum(c.values())
        for value, count in c.items():
            pooled[value] = pooled.get(value, 0.0) + (count / total if total else 0.0)
    ranked = sorted(pooled, key=lambda v: (-pooled[v], v))
    return tuple(v for v in ranked if v != OTHER_SEGMENT)[:n]


def features_per_request(
    baseline: Baseline, segments: Sequence[SegmentSpec], per_request: int
) -> int:
    """Features per search body so the segment buckets stay within BUCKET_BUDGET."""
    if not segments:
        return per_request
    buckets = sum(len(spec.keys) for spec in segments) + 1
    widest = 1
    for fp in baseline.features:
        if fp.numeric is not None:
            widest = max(widest, len(fp.numeric.edges) + 3)
        elif fp.categorical is not None:
            widest = max(widest, min(len(fp.categorical.vocabulary) + 1, SEGMENT_TERMS_CAP))
    return max(1, min(per_request, BUCKET_BUDGET // (buckets * widest)))
