"""A prediction part the baseline has and the app never logs is a note, not drift."""

from __future__ import annotations

import dataclasses

from predwatch.analyzers import compare as c
from predwatch.analyzers.aggregates import CategoricalAggs, PredictionAggs
from predwatch.analyzers.stats import VerdictPolicy
from predwatch.baseline import Baseline, CategoricalProfile, PredictionProfile
from tests.helpers import analyze_samples as smp

POLICY = VerdictPolicy()


def _score_and_label() -> Baseline:
    base = smp.baseline()
    assert base.prediction is not None and base.prediction.value is not None
    label = CategoricalProfile({"no": 700, "yes": 300}, 0, frozenset({"no", "yes"}), 1000)
    return dataclasses.replace(
        base,
        prediction=PredictionProfile(
            "classification", value=base.prediction.value, label=label, classes=("no", "yes")
        ),
    )


class TestNeverLogged:
    def test_label_never_logged_is_a_note(self) -> None:
        """Only scores logged: prediction.label has no test, no drift, and a note saying why."""
        b = _score_and_label()
        ref = c.baseline_reference(b)
        assert ref.prediction is not None
        no_label = CategoricalAggs({}, 0, 0, 10_000, 10_000)  # 10,000 predictions, none labelled
        window = dataclasses.replace(
            ref, total=10_000, prediction=PredictionAggs(ref.prediction.value, no_label)
        )
        comp = c.judge(c.compare(b, window, ref), POLICY)
        by_name = {p.feature: p for p in comp.predictions}
        label = by_name["prediction.label"]
        assert not label.drifted and label.tests == ()
        assert "not logged" in label.note and "prediction.label" in label.note
        assert by_name["prediction.value"].tests  # the score is still compared

    def test_label_logged_sometimes_is_still_tested(self) -> None:
        """A label missing from part of the predictions is still a missing-rate test."""
        b = _score_and_label()
        ref = c.baseline_reference(b)
        assert ref.prediction is not None
        half = CategoricalAggs({"no": 3500, "yes": 1500}, 0, 0, 10_000, 5_000)
        window = dataclasses.replace(
            ref, total=10_000, prediction=PredictionAggs(ref.prediction.value, half)
        )
        comp = c.judge(c.compare(b, window, ref), POLICY)
        label = {p.feature: p for p in comp.predictions}["prediction.label"]
        assert any(t.name == "missing_rate" and t.drifted for t in label.tests)
