"""Aggregations of one window's input features, one builder per feature kind.

Pure. Per feature (field names from `predwatch.schema`), named `f<i>_...` after the
feature's position in the baseline:
- numeric: `range` on the baseline's bin edges (with the sum of each bin), `extended_stats`,
  values outside the training [min, max] (missing = documents in the window - values counted);
- categorical: `terms` sized above the vocabulary (capped at TERMS_CAP; when the window
  has more distinct values than that, `fetch.py` pages with `composite`);
- text: `extended_stats` of tokens per document, the OOV token sum, an `exists` filter,
  the most frequent OOV terms (a `terms` with a large shard size whose error bounds
  `query_parse.oov_terms_exact` checks).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from predwatch import schema as s
from predwatch.baseline import Baseline, CategoricalProfile, NumericProfile

Body = dict[str, Any]

TERMS_CAP = 5000  # larger vocabularies are counted by composite paging
NEW_VALUES_ROOM = 100  # terms size above the vocabulary: room for unseen values
UNSEEN_TOP = 10  # most frequent unseen values / OOV terms kept for reports
# Candidates each shard returns for the top OOV terms. With several shards (a cluster, or a
# window over two daily indices) a shard size of UNSEEN_TOP misses and undercounts terms;
# this one usually makes the top list provably exact, else composite paging makes it so.
OOV_SHARD_SIZE = 500


def _ranges(profile: NumericProfile, out_of_range: bool) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = [
        {"key": str(i), **r} for i, r in enumerate(profile.range_buckets())
    ]
    if out_of_range and math.isfinite(profile.min) and math.isfinite(profile.max):
        # Values outside the training [min, max] (the shipper's out_of_range flag), counted
        # in the same pass as the bins: cheaper than a sum over the flag field.
        out.append({"key": "below", "to": profile.min})
        out.append({"key": "above", "from": math.nextafter(profile.max, math.inf)})
    return out


def numeric_aggs(prefix: str, fld: str, profile: NumericProfile, out_of_range: bool) -> Body:
    """Counts per baseline bin (with the sum of each bin) and `extended_stats` of `fld`."""
    ranges = _ranges(profile, out_of_range)
    return {
        f"{prefix}_bins": {
            "range": {"field": fld, "keyed": True, "ranges": ranges},
            # Where the mass sits inside each bin (Wasserstein's heavy tails).
            "aggs": {"sum": {"sum": {"field": fld}}},
        },
        f"{prefix}_stats": {"extended_stats": {"field": fld}},
    }


def terms_size(profile: CategoricalProfile) -> int:
    """Room for the whole vocabulary and some unseen values, capped at TERMS_CAP."""
    return min(len(profile.vocabulary) + NEW_VALUES_ROOM, TERMS_CAP)


def terms(fld: str, size: int) -> Body:
    """A `terms` aggregation exact up to `size` values (every shard returns as many)."""
    return {"terms": {"field": fld, "size": size, "shard_size": size}}


def feature_aggs(
    baseline: Baseline, names: Sequence[str], *, segment_cap: int | None = None
) -> Body:
    """The aggregations of the given features (named by their position in the baseline).

    `segment_cap`: the aggregations nested in one segment's bucket: categorical `terms` at
    most that many values, no top OOV terms of text features (those are for reports).
    """
    aggs: Body = {}
    for name in names:
        idx = feature_index(baseline, name)
        fp = baseline.features[idx]
        p = f"f{idx}"
        fld = s.feature_field(s.INPUTS, fp.name)
        if fp.numeric is not None:
            aggs.update(numeric_aggs(p, fld, fp.numeric, out_of_range=True))
        elif fp.categorical is not None:
            size = terms_size(fp.categorical)
            aggs[f"{p}_terms"] = terms(fld, size if segment_cap is None else min(size, segment_cap))
        elif fp.text is not None:
            aggs[f"{p}_len"] = {"extended_stats": {"field": s.text_field(fp.name, s.TEXT_TOKENS)}}
            aggs[f"{p}_oovtok"] = {"sum": {"field": s.text_field(fp.name, s.TEXT_OOV_TOKENS)}}
            aggs[f"{p}_present"] = {"filter": {"exists": {"field": fld}}}
            if segment_cap is None:
                aggs[f"{p}_oovterms"] = oov_terms_agg(fp.name)
    return aggs


def oov_terms_agg(feature: str) -> Body:
    """The most frequent OOV terms of a text feature, with the error bounds that tell
    whether the list is exact (`oov_terms_exact`)."""
    return {
        "terms": {
            "field": s.text_field(feature, s.TEXT_OOV_TERMS),
            "size": UNSEEN_TOP,
            "shard_size": OOV_SHARD_SIZE,
            "show_term_doc_count_error": True,
        }
    }


def feature_index(baseline: Baseline, name: str) -> int:
    """The position of feature `name` in the baseline (its aggregations are named f<i>_...)."""
    for i, f in enumerate(baseline.features):
        if f.name == name:
            return i
    raise KeyError(f"feature {name!r} is not in baseline {baseline.id}")
