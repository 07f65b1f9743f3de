"""The page-by-page accumulators give scikit-learn's metrics on the same rows."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as skm

from predwatch.analyzers import quality as q

Z = 1.96


def _paged(acc: q.ClassificationAccumulator, actual, predicted, proba, page: int = 333) -> None:
    for i in range(0, len(actual), page):
        acc.add(actual[i : i + page], predicted[i : i + page], proba[i : i + page])


def _by_name(metrics: list[q.Metric]) -> dict[str, q.Metric]:
    return {m.name: m for m in metrics}


def _binary(n: int, seed: int, decimals: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.random(n) < 0.3
    s = 1 / (1 + np.exp(-(np.where(y, 1.0, -1.0) + rng.normal(0, 1.5, n))))
    if decimals is not None:
        s = np.round(s, decimals)
    return y, s


class TestClassificationAccumulator:
    def test_binary_equals_sklearn(self) -> None:
        """Accuracy, precision, recall, F1 and log loss equal sklearn's; AUC within its bound."""
        y, s = _binary(4000, 1)
        actual = ["1" if v else "0" for v in y]
        proba = [{"0": 1 - v, "1": v} for v in s]
        acc = q.ClassificationAccumulator()
        _paged(acc, actual, [None] * len(actual), proba)
        m = _by_name(acc.metrics(Z))
        pred = s > 0.5  # argmax of {0: 1-s, 1: s}; no exact 0.5 here
        assert m["accuracy"].value == pytest.approx(skm.accuracy_score(y, pred), abs=1e-12)
        assert m["precision"].value == pytest.approx(skm.precision_score(y, pred), abs=1e-12)
        assert m["recall"].value == pytest.approx(skm.recall_score(y, pred), abs=1e-12)
        assert m["f1"].value == pytest.approx(skm.f1_score(y, pred), abs=1e-12)
        assert m["log_loss"].value == pytest.approx(skm.log_loss(y, s), rel=1e-12)
        exact = skm.roc_auc_score(y, s)
        assert abs(m["roc_auc"].value - exact) <= m["roc_auc_bin_error"].value + 1e-12

    def test_auc_exact_when_no_two_scores_share_a_bin(self) -> None:
        """With at most one score per bin the binned AUC is the exact AUC and the bound 0."""
        y = np.array([1, 0, 1, 0, 0, 1, 1, 0])
        s = np.array([0.95, 0.05, 0.45, 0.55, 0.15, 0.85, 0.25, 0.65])
        acc = q.ClassificationAccumulator()
        acc.add([str(v) for v in y], [None] * 8, [{"0": 1 - v, "1": v} for v in s])
        m = _by_name(acc.metrics(Z))
        assert m["roc_auc"].value == pytest.approx(skm.roc_auc_score(y, s), abs=1e-12)
        assert m["roc_auc_bin_error"].value == 0.0

    @settings(max_examples=40, deadline=None)
    @given(
        seed=st.integers(0, 10_000),
        bins=st.sampled_from([10, 100, 1000]),
        decimals=st.sampled_from([1, 2, 3, 6]),
    )
    def test_auc_within_documented_bound(self, seed: int, bins: int, decimals: int) -> None:
        """|binned AUC - exact AUC| never exceeds the reported bound, whatever the ties."""
        y, s = _binary(300, seed, decimals)
        if y.all() or not y.any():
            return
        acc = q.ClassificationAccumulator(bins=bins)
        acc.add(["1" if v else "0" for v in y], [None] * len(y), [{"0": 1 - v, "1": v} for v in s])
        m = _by_name(acc.metrics(Z))
        assert abs(m["roc_auc"].value - skm.roc_auc_score(y, s)) <= (
            m["roc_auc_bin_error"].value + 1e-12
        )

    def test_multiclass_equals_sklearn(self) -> None:
        """Macro precision/recall/F1, one-vs-rest macro AUC and log loss equal sklearn's."""
        rng = np.random.default_rng(5)
        classes = ["bird", "cat", "dog"]
        n = 3000
        y = rng.integers(0, 3, n)
        logits = rng.normal(0, 1, (n, 3))
        logits[np.arange(n), y] += 1.2
        p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        actual = [classes[i] for i in y]
        proba = [dict(zip(classes, row, strict=True)) for row in p.tolist()]
        acc = q.ClassificationAccumulator()
        _paged(acc, actual, [None] * n, proba)
        m = _by_name(acc.metrics(Z))
        pred = [classes[i] for i in p.argmax(axis=1)]
        assert m["accuracy"].value == pytest.approx(skm.accuracy_score(actual, pred), abs=1e-12)
        for name, fn in (
            ("precision", skm.precision_score),
            ("recall", skm.recall_score),
            ("f1", skm.f1_score),
        ):
            assert m[name].value == pytest.approx(fn(actual, pred, average="macro"), abs=1e-12)
        assert m["log_loss"].value == pytest.approx(
            skm.log_loss(actual, p, labels=classes), rel=1e-12
        )
        exact = skm.roc_auc_score(actual, p, multi_class="ovr", average="macro", labels=classes)
        assert abs(m["roc_auc"].value - exact) <= m["roc_auc_bin_error"].value + 1e-12

    def test_labels_only_give_no_auc_or_log_loss(self) -> None:
        """Predictions with a label and no scores give the confusion-matrix metrics only."""
        acc = q.ClassificationAccumulator()
        acc.add(["a", "b", "a", "c"], ["a", "b", "b", "c"], [None] * 4)
        m = _by_name(acc.metrics(Z))
        assert set(m) == {"accuracy", "precision", "recall", "f1"}
        assert m["accuracy"].value == 0.75
        assert m["f1"].value == pytest.approx(
            skm.f1_score(["a", "b", "a", "c"], ["a", "b", "b", "c"], average="macro")
        )

    def test_explicit_positive_class(self) -> None:
        """The positive class given decides precision and recall (sklearn's pos_label)."""
        actual = ["yes", "no", "no", "yes", "no"]
        pred = ["yes", "yes", "no", "no", "no"]
        acc = q.ClassificationAccumulator()
        acc.add(actual, pred, [None] * 5)
        m = _by_name(acc.metrics(Z, positive="no"))
        assert m["precision"].value == pytest.approx(
            skm.precision_score(actual, pred, pos_label="no")
        )
        assert m["recall"].value == pytest.approx(skm.recall_score(actual, pred, pos_label="no"))

    def test_auc_undefined_with_one_class(self) -> None:
        """A window whose outcomes are all one class has no AUC, and says why."""
        acc = q.ClassificationAccumulator()
        acc.add(["1", "1"], [None, None], [{"0": 0.2, "1": 0.8}, {"0": 0.6, "1": 0.4}])
        m = _by_name(acc.metrics(Z))
        assert m["roc_auc"].value is None
        assert "undefined" in m["roc_auc"].note

    def test_empty(self) -> None:
        """No rows, no metrics."""
        assert q.ClassificationAccumulator().metrics(Z) == []

    def test_memory_does_not_grow_with_rows(self) -> None:
        """The state is a confusion matrix and fixed histograms, whatever the row count."""
        acc = q.ClassificationAccumulator()
        y, s = _binary(5000, 2)
        for _ in range(3):
            acc.add(
                ["1" if v else "0" for v in y], [None] * len(y), [{"0": 1 - v, "1": v} for v in s]
            )
        assert len(acc.confusion) <= 4
        assert all(h.size == q.AUC_BINS for h in (*acc._pos.values(), *acc._neg.values()))


class TestDefaultPositive:
    def test_names(self) -> None:
        """ "1", "true" and "yes" are positive; otherwise the greater label; None for 3+."""
        assert q.default_positive(["0", "1"]) == "1"
        assert q.default_positive(["false", "true"]) == "true"
        assert q.default_positive(["disrupted", "not disrupted"]) == "not disrupted"
        assert q.default_positive(["a", "b", "c"]) is None


class TestRegressionAccumulator:
    def test_equals_sklearn(self) -> None:
        """MAE, RMSE and R2 equal sklearn's on the same rows, added in pages."""
        rng = np.random.default_rng(9)
        y = rng.normal(100, 20, 5000)
        yhat = y + rng.normal(2, 7, 5000)
        acc = q.RegressionAccumulator()
        for i in range(0, 5000, 777):
            acc.add(y[i : i + 777].tolist(), yhat[i : i + 777].tolist())
        m = _by_name(acc.metrics(Z))
        assert m["mae"].value == pytest.approx(skm.mean_absolute_error(y, yhat), rel=1e-10)
        assert m["rmse"].value == pytest.approx(
            math.sqrt(skm.mean_squared_error(y, yhat)), rel=1e-10
        )
        assert m["r2"].value == pytest.approx(skm.r2_score(y, yhat), rel=1e-10)
        assert m["mae"].ci_low < m["mae"].value < m["mae"].ci_high
        assert not m["mae"].higher_is_better

    def test_constant_target(self) -> None:
        """R2 of a constant target is 1.0 when predicted exactly, else 0.0 (as sklearn)."""
        exact = q.RegressionAccumulator()
        exact.add([3.0, 3.0], [3.0, 3.0])
        off = q.RegressionAccumulator()
        off.add([3.0, 3.0], [2.0, 3.0])
        assert _by_name(exact.metrics(Z))["r2"].value == skm.r2_score([3, 3], [3, 3]) == 1.0
        assert _by_name(off.metrics(Z))["r2"].value == skm.r2_score([3, 3], [2, 3]) == 0.0

    def test_non_finite_rows_are_left_out(self) -> None:
        """A NaN actual or prediction does not poison the sums."""
        acc = q.RegressionAccumulator()
        acc.add([1.0, float("nan"), 3.0], [1.5, 2.0, float("inf")])
        assert acc.n == 1


class TestMoments:
    def test_merge_equals_numpy(self) -> None:
        """Batches merged with Chan's formula give numpy's mean and sample variance."""
        rng = np.random.default_rng(4)
        x = rng.exponential(3.0, 10_001)
        m = q.Moments()
        for part in np.array_split(x, 17):
            m.add(part)
        assert m.n == x.size
        assert m.mean == pytest.approx(x.mean(), rel=1e-12)
        assert m.var == pytest.approx(x.var(ddof=1), rel=1e-10)


class TestDelayHistogram:
    def test_percentiles_within_one_bin(self) -> None:
        """Percentiles are within 12.2 % of numpy's nearest-rank percentile."""
        rng = np.random.default_rng(2)
        d = np.exp(rng.uniform(np.log(30), np.log(10 * 86400), 20_000))
        h = q.DelayHistogram()
        for part in np.array_split(d, 7):
            h.add(part)
        for p in (50, 90, 99):
            exact = float(np.percentile(d, p, method="inverted_cdf"))
            assert h.percentile(p) == pytest.approx(exact, rel=0.122)
        m = _by_name(h.metrics())
        assert m["label_delay.max_s"].value == d.max()
        assert m["label_delay.mean_s"].value == pytest.approx(d.mean())

    def test_negative_delays_are_counted(self) -> None:
        """Outcomes stamped before their prediction land in the first bin and are noted."""
        h = q.DelayHistogram()
        h.add([-5.0, 0.5, 100.0])
        assert h.negative == 1
        assert "before their prediction" in _by_name(h.metrics())["label_delay.mean_s"].note
        assert h.percentile(50) == pytest.approx(-2.25)  # the mean of the < 1 s bin

    def test_empty(self) -> None:
        """No outcome, no delay metrics."""
        assert q.DelayHistogram().metrics() == []
        assert q.DelayHistogram().percentile(50) is None


class TestMerge:
    def test_merged_equals_fed_together(self) -> None:
        """Per-version accumulators merged give the metrics of all rows fed to one."""
        y, s = _binary(3000, 8)
        actual = ["1" if v else "0" for v in y]
        proba = [{"0": 1 - v, "1": v} for v in s]
        whole, a, b = (q.ClassificationAccumulator() for _ in range(3))
        whole.add(actual, [None] * 3000, proba)
        a.add(actual[:1000], [None] * 1000, proba[:1000])
        b.add(actual[1000:], [None] * 2000, proba[1000:])
        a.merge(b)
        for x, w in zip(a.metrics(Z), whole.metrics(Z), strict=True):
            assert x.name == w.name
            assert x.value == pytest.approx(w.value, rel=1e-12)
        r1, r2, rw = (q.RegressionAccumulator() for _ in range(3))
        r1.add(s[:100].tolist(), y[:100].tolist())
        r2.add(s[100:].tolist(), y[100:].tolist())
        rw.add(s.tolist(), y.tolist())
        r1.merge(r2)
        assert [m.value for m in r1.metrics(Z)] == pytest.approx([m.value for m in rw.metrics(Z)])
        d1, d2 = q.DelayHistogram(), q.DelayHistogram()
        d1.add([10.0, 20.0])
        d2.add([30.0])
        d1.merge(d2)
        assert (d1.n, d1.max, d1.total) == (3, 30.0, 60.0)
