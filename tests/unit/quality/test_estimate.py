"""CBPE from score histograms (analyzers/estimate.py) against row-level computations."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import f1_score, precision_score, recall_score, roc_auc_score

from predwatch.analyzers import estimate as est
from predwatch.analyzers import score_calibration as sc
from tests.helpers import cbpe

Z95 = 1.959963984540054
EDGES = sc.Grid().edges(0.5)
K = len(EDGES) + 1


def _hist(s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    idx = sc.bin_index(EDGES, s)
    return np.bincount(idx, minlength=K).astype(float), np.bincount(idx, weights=s, minlength=K)


def _realized(s: np.ndarray, y: np.ndarray, threshold: float) -> dict[str, float]:
    yhat = s >= threshold
    return {
        "accuracy": float(np.mean(yhat == y)),
        "precision": float(precision_score(y, yhat)),
        "recall": float(recall_score(y, yhat)),
        "f1": float(f1_score(y, yhat)),
        "roc_auc": float(roc_auc_score(y, s)),
    }


class TestAgainstRows:
    @pytest.mark.parametrize("seed", [0, 1, 2])
    def test_histogram_equals_row_level_cbpe(self, seed: int) -> None:
        """With the same map, the estimate from 1/1000 bins is the row-level one within 1e-3."""
        rng = np.random.default_rng(seed)
        cal = cbpe.labelled(rng, 20_000)[0].calibration
        s = rng.beta(3.0, 2.0, 30_000)
        counts, sums = _hist(s)
        got = {
            e.name: e.value for e in est.binary(cal, EDGES, counts, threshold=0.5, z=Z95, sums=sums)
        }
        rows = cbpe.row_level_cbpe(cal(s), s, 0.5)
        for name in est.METRICS:
            assert got[name] == pytest.approx(rows[name], abs=1e-3), name

    def test_rows_on_bin_means_are_reproduced_exactly(self) -> None:
        """When every row of a bin has the bin's score, histogram and rows agree to 1e-9."""
        rng = np.random.default_rng(3)
        cal = cbpe.labelled(rng, 20_000)[0].calibration
        pos = sc.positions(EDGES)
        s = pos[sc.bin_index(EDGES, rng.beta(3.0, 2.0, 10_000))]
        counts = np.bincount(sc.bin_index(EDGES, s), minlength=K).astype(float)
        got = {e.name: e.value for e in est.binary(cal, EDGES, counts, threshold=0.5, z=Z95)}
        rows = cbpe.row_level_cbpe(cal(s), s, 0.5)
        for name in est.METRICS:
            assert got[name] == pytest.approx(rows[name], abs=1e-9), name

    def test_realized_binary_equals_scikit_learn(self) -> None:
        """Realized metrics on bins equal scikit-learn's on rows (AUC within the bin width)."""
        rng = np.random.default_rng(4)
        s = rng.beta(2.0, 3.0, 20_000)
        y = rng.random(20_000) < cbpe.truth(s)
        ref = sc.BinnedLabels(EDGES)
        ref.add(s, y)
        got = est.realized_binary(ref, 0.5)
        want = _realized(s, y, 0.5)
        for name in ("accuracy", "precision", "recall", "f1"):
            assert got[name] == pytest.approx(want[name], abs=1e-12), name
        assert got["roc_auc"] == pytest.approx(want["roc_auc"], abs=1e-3)


class TestInterval:
    def test_sampling_variance_is_the_label_noise_of_the_window(self) -> None:
        """Given the scores, the delta-method se equals the spread of the realized metric when
        labels are drawn from the calibrated probabilities (2,000 label draws, within 10 %)."""
        rng = np.random.default_rng(5)
        s = rng.beta(3.0, 2.0, 3000)
        counts, sums = _hist(s)
        exact = sc.Calibration(
            tuple((float(x), float(x), float(cbpe.truth(x)), 0.0) for x in np.linspace(0, 1, 2001))
        )
        got = {e.name: e for e in est.binary(exact, EDGES, counts, threshold=0.5, z=Z95, sums=sums)}
        p = exact(s)
        draws: dict[str, list[float]] = {m: [] for m in est.METRICS}
        for _ in range(2000):
            y = rng.random(len(s)) < p
            ref = sc.BinnedLabels(EDGES)
            ref.add(s, y)
            for k, v in est.realized_binary(ref, 0.5).items():
                draws[k].append(v)
        for name in est.METRICS:
            e = got[name]
            assert e.se_calibration == 0.0  # the exact map has no fitted blocks
            assert type(e.se_sampling) is float and type(e.ci_low) is float  # JSON as is
            assert e.se_sampling == pytest.approx(float(np.std(draws[name])), rel=0.1), name
            assert e.value == pytest.approx(float(np.mean(draws[name])), abs=0.2 * e.se_sampling)

    def test_interval_covers_the_realized_metric_at_about_its_level(self) -> None:
        """Over 200 seeds (fitted map, 20,000 reference rows, a shifted window of 2,000), the 95 %
        interval covers the realized value in 88-99 % of runs per metric (binomial band of 200
        draws around the 92-95 % measured; the fitted map's variance is slightly underestimated)."""
        hits = dict.fromkeys(est.METRICS, 0)
        runs = 200
        for seed in range(runs):
            rng = np.random.default_rng(1000 + seed)
            cal = cbpe.labelled(rng, 20_000)[0].calibration
            s = rng.beta(3.0, 2.0, 2000)
            y = rng.random(2000) < cbpe.truth(s)
            counts, sums = _hist(s)
            ests = est.binary(cal, EDGES, counts, threshold=0.5, z=Z95, sums=sums)
            ref = sc.BinnedLabels(EDGES)
            ref.add(s, y)
            real = est.realized_binary(ref, 0.5)
            for e in ests:
                assert e.ci_low is not None and e.ci_high is not None
                hits[e.name] += e.ci_low <= real[e.name] <= e.ci_high
        for name, h in hits.items():
            assert 0.88 <= h / runs <= 0.99, (name, h / runs)

    def test_interval_widens_with_a_small_reference(self) -> None:
        """The map's own uncertainty enters: 2,000 reference rows widen it against 50,000."""
        rng = np.random.default_rng(6)
        s = rng.beta(3.0, 2.0, 20_000)
        counts, sums = _hist(s)
        widths = []
        for n_ref in (2000, 50_000):
            cal = cbpe.labelled(np.random.default_rng(7), n_ref)[0].calibration
            acc = est.binary(cal, EDGES, counts, threshold=0.5, z=Z95, sums=sums)[0]
            assert acc.ci_low is not None and acc.ci_high is not None
            widths.append(acc.ci_high - acc.ci_low)
        assert widths[0] > 1.5 * widths[1]


class TestEdgeCases:
    def test_no_rows_no_estimates(self) -> None:
        """An empty window estimates nothing (no zeros that look like a collapse)."""
        cal = sc.IDENTITY_MAP
        assert est.binary(cal, EDGES, np.zeros(K), threshold=0.5, z=Z95) == []

    def test_nothing_predicted_positive(self) -> None:
        """Precision is undefined, with a note, when no row reaches the threshold."""
        counts, sums = _hist(np.full(100, 0.2))
        ests = est.binary(sc.IDENTITY_MAP, EDGES, counts, threshold=0.5, z=Z95, sums=sums)
        got = {e.name: e for e in ests}
        assert got["precision"].value is None
        assert "no row predicted positive" in got["precision"].note
        assert got["accuracy"].value == pytest.approx(0.8)
        assert got["recall"].value == pytest.approx(0.0)

    def test_threshold_must_be_an_edge(self) -> None:
        """A threshold inside a bin cannot split it: a caller error."""
        with pytest.raises(ValueError, match="edges"):
            est.binary(sc.IDENTITY_MAP, EDGES, np.ones(K), threshold=0.12345, z=Z95)

    def test_wrong_number_of_bins(self) -> None:
        """Counts that do not fit the edges are refused."""
        with pytest.raises(ValueError, match="bins"):
            est.binary(sc.IDENTITY_MAP, EDGES, np.ones(10), threshold=0.5, z=Z95)

    def test_estimate_judged_like_a_metric(self) -> None:
        """An estimate converts to a quality Metric (to reuse quality_ci.judge)."""
        counts, _ = _hist(np.random.default_rng(8).beta(3, 2, 1000))
        e = est.binary(sc.IDENTITY_MAP, EDGES, counts, threshold=0.5, z=Z95)[0]
        m = e.metric()
        assert (m.name, m.value, m.interval, m.higher_is_better) == (
            "accuracy",
            e.value,
            (e.ci_low, e.ci_high),
            True,
        )


class TestMulticlass:
    def test_one_vs_rest_against_rows(self) -> None:
        """Per-class histograms give the row-level expected accuracy and macro metrics."""
        rng = np.random.default_rng(9)
        n, classes = 20_000, ("a", "b", "c")
        logits = rng.normal(size=(n, 3)) * 2.0
        proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        predicted = proba.argmax(axis=1)
        parts = {}
        for j, c in enumerate(classes):
            mine = predicted == j
            pred, _ = _hist(proba[mine, j])
            other, _ = _hist(proba[~mine, j])
            parts[c] = est.ClassBins.of(sc.IDENTITY_MAP, EDGES, pred, other)
        got = {e.name: e for e in est.multiclass(parts, Z95)}
        p_pred = proba[np.arange(n), predicted]
        assert got["accuracy"].value == pytest.approx(float(p_pred.mean()), abs=1e-3)
        recalls = []
        for j in range(3):
            tp = proba[predicted == j, j].sum()
            recalls.append(tp / proba[:, j].sum())
        assert got["recall"].value == pytest.approx(float(np.mean(recalls)), abs=1e-3)
        aucs = [cbpe.row_level_cbpe(proba[:, j], proba[:, j], 0.5)["roc_auc"] for j in range(3)]
        assert got["roc_auc"].value == pytest.approx(float(np.mean(aucs)), abs=1e-3)
        # labels drawn from the (calibrated) probabilities: realized within the interval
        y = np.array([rng.choice(3, p=row) for row in proba])
        acc = float(np.mean(y == predicted))
        assert got["accuracy"].ci_low <= acc <= got["accuracy"].ci_high
        assert math.isfinite(got["f1"].value or math.nan)


class TestReferenceCheck:
    def test_out_of_fold_error_is_small_on_calibrated_reference(self) -> None:
        """Estimated out of fold, the reference's metrics are within 0.02 of the realized ones."""
        rng = np.random.default_rng(10)
        s = rng.beta(2.0, 3.0, 50_000)
        y = rng.random(50_000) < cbpe.truth(s)
        fold = np.arange(50_000) % 5
        folds = []
        for f in range(5):
            b = sc.BinnedLabels(EDGES)
            b.add(s[fold == f], y[fold == f])
            folds.append(b)
        check = est.reference_check(folds, sc.fit(folds), 0.5)
        assert set(check.realized) == set(est.METRICS)
        assert all(v < 0.02 for v in check.mean_abs_error.values())
        assert check.realized["accuracy"] == pytest.approx(_realized(s, y, 0.5)["accuracy"])
