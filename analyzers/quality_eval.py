"""From joined (prediction, outcome) rows to quality metrics per model version (pure).

How a row is scored (`Task`):
- classification: the actual class is `outcome.label`; the predicted class is
  `prediction.label`, else the arg-max of `prediction.scores`; class probabilities are
  `prediction.scores`. A binary model that logs only `prediction.value` (the positive class's
  probability) is scored with the positive class when value >= threshold, and every actual
  class other than the positive one counts as the negative class.
- regression: `outcome.value` against `prediction.value`.
`kind="auto"` decides on the first joined rows: classification when predictions carry a
label or scores, or when they carry only a value in [0, 1] and the outcomes are 0/1 or
true/false; regression otherwise. The positive class defaults to "1"/"true"/"yes" or the
greater of two labels (`quality.default_positive`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from predwatch.analyzers import quality as q
from predwatch.analyzers.quality_join import JoinedRow
from predwatch.errors import ConfigError

KINDS = ("auto", "classification", "regression")
ALL_VERSIONS = "*"
BINARY_OUTCOMES = frozenset({"0", "1", "true", "false"})


@dataclass(frozen=True)
class Task:
    kind: str  # classification | regression
    positive: str | None = None
    threshold: float = 0.5

    @property
    def negative(self) -> str:
        """The negative class's name for value-only binary models."""
        return {"1": "0", "true": "false", "yes": "no"}.get(self.positive or "", "(negative)")


def detect_task(
    rows: Sequence[JoinedRow],
    kind: str = "auto",
    positive: str | None = None,
    threshold: float = 0.5,
) -> Task:
    """The task of these rows (see the module docstring)."""
    if kind not in KINDS:
        raise ConfigError(f"--kind must be one of {', '.join(KINDS)}, not {kind!r}")
    if not 0.0 < threshold < 1.0:
        raise ConfigError(f"--threshold must lie between 0 and 1, got {threshold}")
    if kind == "auto":
        kind = _guess(rows)
    if kind == "classification" and positive is None and not any(r.scores or r.label for r in rows):
        labels = {r.actual_label for r in rows}
        positive = "true" if labels & {"true", "false"} else "1"
    return Task(kind, positive, threshold)


def _guess(rows: Sequence[JoinedRow]) -> str:
    if any(r.label is not None or r.scores for r in rows):
        return "classification"
    values = [r.value for r in rows if r.value is not None]
    labels = {r.actual_label for r in rows}
    if values and labels <= BINARY_OUTCOMES and all(0.0 <= v <= 1.0 for v in values):
        return "classification"
    return "regression"


@dataclass
class Group:
    """The accumulators of one model version (or of all versions together)."""

    task: Task
    labelled: int = 0
    used: int = 0
    classification: q.ClassificationAccumulator = field(default_factory=q.ClassificationAccumulator)
    regression: q.RegressionAccumulator = field(default_factory=q.RegressionAccumulator)
    delay: q.DelayHistogram = field(default_factory=q.DelayHistogram)

    def add(self, rows: Sequence[JoinedRow]) -> None:
        self.labelled += len(rows)
        self.delay.add([(r.outcome_at - r.predicted_at) / 1000.0 for r in rows])
        if self.task.kind == "regression":
            pairs = [
                (r.actual_value, r.value)
                for r in rows
                if r.actual_value is not None and r.value is not None
            ]
            self.used += len(pairs)
            self.regression.add([a for a, _ in pairs], [p for _, p in pairs])
            return
        actual, predicted, proba = [], [], []
        for r in rows:
            one = self._classify(r)
            if one is not None:
                actual.append(one[0])
                predicted.append(one[1])
                proba.append(one[2])
        self.used += len(actual)
        self.classification.add(actual, predicted, proba)

    def _classify(self, r: JoinedRow) -> tuple[str, str | None, dict[str, float] | None] | None:
        if r.actual_label is None:
            return None
        if r.scores:
            return r.actual_label, r.label, r.scores
        if r.label is not None:
            return r.actual_label, r.label, None
        if r.value is None:
            return None
        t = self.task
        pos, neg = t.positive or "1", t.negative
        actual = pos if r.actual_label == pos else neg
        v = min(max(r.value, 0.0), 1.0)
        return actual, pos if r.value >= t.threshold else neg, {pos: v, neg: 1.0 - v}

    def merge(self, other: Group) -> None:
        self.labelled += other.labelled
        self.used += other.used
        self.classification.merge(other.classification)
        self.regression.merge(other.regression)
        self.delay.merge(other.delay)

    def metrics(self, z: float, predictions: int) -> list[q.Metric]:
        """Counts, quality metrics and label delay of this group."""
        share = self.labelled / predictions if predictions else None
        out = [
            q.Metric("predictions", float(predictions), n=predictions),
            q.Metric("labelled", float(self.labelled), n=predictions),
            q.Metric("labelled_share", share, n=predictions),
        ]
        if self.used < self.labelled:
            out.append(
                q.Metric(
                    "unusable",
                    float(self.labelled - self.used),
                    n=self.labelled,
                    higher_is_better=False,
                    note="joined rows without the values the metrics need",
                )
            )
        if self.task.kind == "regression":
            out += self.regression.metrics(z)
        else:
            out += self.classification.metrics(z, self.task.positive)
        out += self.delay.metrics()
        return out


@dataclass
class WindowEvaluator:
    """Feeds joined pages into one Group per model version; all versions are their merge."""

    task: Task
    groups: dict[str, Group] = field(default_factory=dict)

    def add(self, rows: Iterable[JoinedRow]) -> None:
        by_version: dict[str, list[JoinedRow]] = {}
        for r in rows:
            by_version.setdefault(r.version, []).append(r)
        for version, part in by_version.items():
            self._group(version).add(part)

    def _group(self, key: str) -> Group:
        g = self.groups.get(key)
        if g is None:
            g = self.groups[key] = Group(self.task)
        return g

    def results(self, counts: dict[str, int], z: float) -> dict[str, list[q.Metric]]:
        """Metrics per version key, plus ALL_VERSIONS; versions without outcomes included."""
        out: dict[str, list[q.Metric]] = {}
        every = Group(self.task)
        for version in sorted(set(counts) | set(self.groups)):
            g = self.groups.get(version) or Group(self.task)
            every.merge(g)
            out[version] = g.metrics(z, counts.get(version, 0))
        out[ALL_VERSIONS] = every.metrics(z, sum(counts.values()))
        return out
