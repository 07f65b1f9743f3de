"""Skew by segment: the baseline's per-segment profiles as references (pure).

`baseline build --segment-by FIELD` stores the top segments of FIELD by training rows, plus
one "(other)" profile for the rest. In skew mode those stored segments are the ones compared
(`--segments` cannot add segments the baseline has no profile for); drift mode needs none.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

from predwatch.analyzers.aggregates import WindowAggregates
from predwatch.analyzers.segments import OTHER_SEGMENT, SegmentSpec
from predwatch.baseline import Baseline, SegmentProfiles
from predwatch.errors import ConfigError


def _stored(baseline: Baseline, field: str) -> SegmentProfiles:
    for s in baseline.segments:
        if s.field == field:
            return s
    have = ", ".join(s.field for s in baseline.segments) or "none"
    raise ConfigError(
        f"--segment-by {field} against the baseline needs per-segment profiles, and baseline "
        f"{baseline.id} has none for {field} (it has: {have}); rebuild it with "
        f"`predwatch baseline build ... --segment-by {field}`, or compare with an earlier "
        "window (--reference previous or START..END), which needs none"
    )


def specs(baseline: Baseline, fields: Mapping[str, str], top: int) -> tuple[SegmentSpec, ...]:
    """The stored segments of each field as SegmentSpecs. `top` does not apply: the
    baseline's (other) profile pools exactly the segments it did not store."""
    del top
    out = []
    for name, full in fields.items():
        stored = _stored(baseline, name)
        values = tuple(s.value for s in stored.segments if s.value != OTHER_SEGMENT)
        out.append(SegmentSpec(name, full, values))
    return tuple(out)


def profiles(
    baseline: Baseline, segments: Sequence[SegmentSpec]
) -> dict[tuple[str, str], Baseline]:
    """(field, value) -> the segment's profile in the shape of a baseline."""
    out: dict[tuple[str, str], Baseline] = {}
    for spec in segments:
        for sp in _stored(baseline, spec.field).segments:
            out[(spec.field, sp.value)] = dataclasses.replace(
                baseline,
                rows=sp.rows,
                features=sp.features,
                prediction=sp.prediction,
                segments=(),
            )
    return out


def reference(
    reference: WindowAggregates, refs: Mapping[tuple[str, str], Baseline]
) -> WindowAggregates:
    """The baseline reference with the training rows of each segment (the segment mix)."""
    sizes = {key: WindowAggregates(None, float(b.rows), {}) for key, b in refs.items()}
    return dataclasses.replace(reference, segments=sizes)
