"""Folding (value, count) pairs of a window onto a categorical profile's cells.

Used on a `terms` result and on composite pages alike, in memory bounded by the profile's
top values plus the `keep_unseen` most frequent unseen values. Pure.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass

from predwatch.analyzers.aggregates import CategoricalAggs
from predwatch.analyzers.query_features import UNSEEN_TOP
from predwatch.baseline import CategoricalProfile


@dataclass(frozen=True)
class _Ranked:
    """A (count, value) ordered from least to most frequent; among equal counts the later
    value ranks lower, so the kept ties are the first values, as `terms` orders them."""

    count: float
    value: str

    def __lt__(self, other: _Ranked) -> bool:
        if self.count != other.count:
            return self.count < other.count
        return self.value > other.value


class CategoryFold:
    """Folds (value, count) pairs onto a categorical profile's cells in bounded memory."""

    def __init__(self, profile: CategoricalProfile | None, keep_unseen: int = UNSEEN_TOP) -> None:
        self.profile = profile
        self.top: dict[str, float] = dict.fromkeys(profile.frequencies, 0.0) if profile else {}
        self.other = 0.0
        self.unseen = 0.0
        self._keep = keep_unseen
        self._heap: list[_Ranked] = []

    def add(self, value: str, count: float) -> None:
        if value in self.top:
            self.top[value] += count
        elif self.profile is not None and value in self.profile.vocabulary:
            self.other += count
        else:
            self.unseen += count
            self.keep_top(value, count)

    def keep_top(self, value: str, count: float) -> None:
        """Remember (value, count) if it is among the `keep_unseen` most frequent so far."""
        item = _Ranked(count, value)
        if len(self._heap) < self._keep:
            heapq.heappush(self._heap, item)
        elif self._heap[0] < item:
            heapq.heapreplace(self._heap, item)

    def top_values(self) -> tuple[tuple[str, float], ...]:
        """The kept values, most frequent first; ties by value, as a `terms` aggregation."""
        return tuple((r.value, r.count) for r in sorted(self._heap, reverse=True))

    def result(self, total: float, note: str = "") -> CategoricalAggs:
        n = math.fsum(self.top.values()) + self.other + self.unseen
        unseen_top = self.top_values()
        return CategoricalAggs(
            top=self.top,
            other=self.other,
            unseen=self.unseen,
            total=total,
            missing=max(0.0, total - n),
            unseen_top=unseen_top,
            note=note,
        )
