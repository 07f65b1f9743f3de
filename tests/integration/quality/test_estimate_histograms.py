"""CBPE's score histograms from a real node equal numpy's on the same rows, per version, for
binary (value) and multiclass (per-class scores split by predicted label) models."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from elasticsearch import Elasticsearch

from predwatch.analyzers import estimate as est
from predwatch.analyzers import estimate_query as eq
from predwatch.analyzers import score_calibration as sc
from predwatch.analyzers.aggregates import Window
from predwatch.config import ESConfig
from tests.helpers import quality_data as qd

WINDOW = Window(qd.T0, qd.T0 + qd.DAY)
EDGES = sc.Grid().edges(0.5)
BINS = eq.Bins.of(EDGES)  # every bin summed
# a map with flat blocks and ramps: most bins are counted only
MAP = sc.Calibration(((0.1, 0.3, 0.05, 50.0), (0.45, 0.55, 0.4, 50.0), (0.7, 0.9, 0.8, 50.0)))
HOUR = dt.timedelta(hours=1)


def _served(scores: np.ndarray, versions: list[str], prefix: str) -> list[qd.Served]:
    step = qd.DAY / (len(scores) + 1)
    return [
        qd.Served(f"{prefix}{i}", qd.T0 + (i + 1) * step, versions[i], {"value": float(v)})
        for i, v in enumerate(scores)
    ]


class TestBinaryHistograms:
    def test_counts_and_sums_equal_numpy_per_version(
        self, es: Elasticsearch, es_config: ESConfig, model_name: str
    ) -> None:
        """Bins, per-bin sums and the all-versions total match numpy, edge values included."""
        rng = np.random.default_rng(1)
        scores = np.concatenate([rng.beta(2, 3, 1500), [0.0, 0.5, 0.999, 1.0, 0.25]])
        versions = ["1" if i % 3 else "2" for i in range(len(scores))]
        qd.install(es, es_config)
        rows = _served(scores, versions, "p")
        rows.append(qd.Served("late", qd.T0 + 2 * qd.DAY, "1", {"value": 0.9}))  # outside
        qd.ship_predictions(es, model_name, rows)
        got = eq.histograms(es, es_config, model_name, WINDOW, BINS)
        k = len(EDGES) + 1
        v = np.asarray(versions)
        for key, mask in (("1", v == "1"), ("2", v == "2"), (eq.ALL_VERSIONS, v == v)):
            idx = sc.bin_index(EDGES, scores[mask])
            assert np.array_equal(got.binary[key].counts, np.bincount(idx, minlength=k))
            want_sums = np.bincount(idx, weights=scores[mask], minlength=k)
            assert np.allclose(got.binary[key].sums, want_sums, atol=1e-9)

    def test_estimate_from_the_node_equals_the_pure_estimate(
        self, es: Elasticsearch, es_config: ESConfig, model_name: str
    ) -> None:
        """The estimate computed on the node's histogram is the one computed on numpy's."""
        rng = np.random.default_rng(2)
        scores = rng.beta(3, 2, 2000)
        qd.install(es, es_config)
        qd.ship_predictions(es, model_name, _served(scores, ["1"] * len(scores), "q"))
        h = eq.histograms(es, es_config, model_name, WINDOW, BINS).binary["1"]
        idx = sc.bin_index(EDGES, scores)
        k = len(EDGES) + 1
        kw = {"threshold": 0.5, "z": 1.96}
        node = est.binary(sc.IDENTITY_MAP, EDGES, h.counts, sums=h.sums, **kw)
        local = est.binary(
            sc.IDENTITY_MAP,
            EDGES,
            np.bincount(idx, minlength=k),
            sums=np.bincount(idx, weights=scores, minlength=k),
            **kw,
        )
        for a, b in zip(node, local, strict=True):
            assert a.value is not None and b.value is not None
            assert abs(a.value - b.value) < 1e-9

    @pytest.mark.parametrize("versions", [["1"], ["1", "2"]])
    def test_sums_only_where_the_map_needs_them(
        self, es: Elasticsearch, es_config: ESConfig, model_name: str, versions: list[str]
    ) -> None:
        """With a map, the counted-only bins come from a `range` without sub-aggregations:
        every count still equals numpy's, the summed bins' sums too, the others are NaN, and
        the estimate equals the one from every bin's sum (one version: one request; two: the
        per-version request)."""
        rng = np.random.default_rng(6)
        scores = np.concatenate([rng.beta(2, 2, 1200), [0.1, 0.3, 0.45, 0.5, 0.9, 1.0]])
        per_row = [versions[i % len(versions)] for i in range(len(scores))]
        qd.install(es, es_config)
        qd.ship_predictions(es, model_name, _served(scores, per_row, "r"))
        bins = eq.Bins.of(EDGES, MAP)
        assert 0 < bins.summed.sum() < bins.count
        got = eq.histograms(es, es_config, model_name, WINDOW, bins)
        assert sorted(got.binary) == sorted([*versions, eq.ALL_VERSIONS])
        h = got.binary[eq.ALL_VERSIONS]
        k = len(EDGES) + 1
        idx = sc.bin_index(EDGES, scores)
        counts = np.bincount(idx, minlength=k)
        sums = np.bincount(idx, weights=scores, minlength=k)
        assert np.array_equal(h.counts, counts)
        assert np.allclose(h.sums[bins.summed], sums[bins.summed], atol=1e-9)
        assert np.isnan(h.sums[~bins.summed]).all()
        kw = {"threshold": 0.5, "z": 1.96}
        node = est.binary(MAP, EDGES, h.counts, sums=h.sums, **kw)
        local = est.binary(MAP, EDGES, counts, sums=sums, **kw)
        for a, b in zip(node, local, strict=True):
            assert a.value is not None and b.value is not None
            assert abs(a.value - b.value) < 1e-9 and a.ci_low == pytest.approx(b.ci_low)

    def test_no_predictions_in_the_window(
        self, es: Elasticsearch, es_config: ESConfig, model_name: str
    ) -> None:
        """A window without predictions gives an empty all-versions histogram, no error."""
        got = eq.histograms(es, es_config, model_name, WINDOW, BINS)
        assert got.binary[eq.ALL_VERSIONS].rows == 0
        assert list(got.binary) == [eq.ALL_VERSIONS]


class TestManyWindows:
    def test_windows_in_one_request_equal_one_request_each(
        self,
        es: Elasticsearch,
        es_config: ESConfig,
        model_name: str,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """Hourly windows read together (also split by a small bucket budget) equal each read
        alone; predictions outside every window count nowhere."""
        rng = np.random.default_rng(4)
        scores = rng.beta(2, 2, 900)
        versions = ["1" if i % 2 else "2" for i in range(len(scores))]
        qd.install(es, es_config)
        qd.ship_predictions(es, model_name, _served(scores, versions, "h"))
        hours = [Window(qd.T0 + i * HOUR, qd.T0 + (i + 1) * HOUR) for i in (0, 1, 5, 23)]
        alone = [eq.histograms(es, es_config, model_name, w, BINS) for w in hours]
        for budget in (eq.BUCKET_BUDGET, 3000):  # 3000: one window per request
            monkeypatch.setattr(eq, "BUCKET_BUDGET", budget)
            together = eq.histograms_many(es, es_config, model_name, hours, BINS)
            assert len(together) == len(hours)
            for a, b in zip(alone, together, strict=True):
                assert sorted(a.binary) == sorted(b.binary)
                for key in a.binary:
                    assert np.array_equal(a.binary[key].counts, b.binary[key].counts)
        step = qd.DAY / (len(scores) + 1)
        inside = sum(
            any(w.start <= qd.T0 + (i + 1) * step < w.end for w in hours)
            for i in range(len(scores))
        )
        assert sum(h.binary[eq.ALL_VERSIONS].rows for h in alone) == inside

    def test_one_version_skips_the_terms_level_with_the_same_result(
        self, es: Elasticsearch, es_config: ESConfig, model_name: str
    ) -> None:
        """With one model version the batched request has no `terms` level; its histograms,
        binary and per class, still equal each window read alone, under that version's key."""
        rng = np.random.default_rng(5)
        n = 900
        proba = rng.dirichlet([1.0, 1.0, 1.0], n)
        classes = ["a", "b", "c"]
        step = qd.DAY / (n + 1)
        rows = [
            qd.Served(
                f"o{i}",
                qd.T0 + (i + 1) * step,
                "7",
                {
                    "value": float(proba[i, 0]),
                    "label": classes[int(proba[i].argmax())],
                    "scores": {c: float(proba[i, j]) for j, c in enumerate(classes)},
                },
            )
            for i in range(n)
        ]
        qd.install(es, es_config)
        qd.ship_predictions(es, model_name, rows)
        hours = [Window(qd.T0 + i * HOUR, qd.T0 + (i + 1) * HOUR) for i in (0, 3, 30)]
        own = {"b": eq.Bins.of([0.2, 0.6])}
        kw = {"classes": classes, "class_bins": own}
        alone = [eq.histograms(es, es_config, model_name, w, BINS, **kw) for w in hours]
        together = eq.histograms_many(es, es_config, model_name, hours, BINS, **kw)
        for a, b in zip(alone, together, strict=True):
            assert sorted(a.binary) == sorted(b.binary)
            assert sorted(a.classes) == sorted(b.classes)
            for key in a.binary:
                assert np.array_equal(a.binary[key].counts, b.binary[key].counts)
                assert np.allclose(a.binary[key].sums, b.binary[key].sums)
                for c in classes:
                    for side in ("predicted", "other"):
                        x = getattr(a.classes[key][c], side)
                        y = getattr(b.classes[key][c], side)
                        assert np.array_equal(x.counts, y.counts), (key, c, side)
        assert together[0].binary["7"].rows > 0 and together[2].binary[eq.ALL_VERSIONS].rows == 0
        assert len(together[0].classes["7"]["b"].other.counts) == 3


class TestMulticlassHistograms:
    def test_per_class_split_by_predicted_label(
        self, es: Elasticsearch, es_config: ESConfig, model_name: str
    ) -> None:
        """Per class: its score among rows predicted as it, and among the others."""
        rng = np.random.default_rng(3)
        classes = ["a", "b", "c"]
        logits = rng.normal(size=(600, 3))
        proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        label = proba.argmax(axis=1)
        qd.install(es, es_config)
        step = qd.DAY / 601
        rows = [
            qd.Served(
                f"m{i}",
                qd.T0 + (i + 1) * step,
                "1",
                {
                    "label": classes[label[i]],
                    "scores": {c: float(proba[i, j]) for j, c in enumerate(classes)},
                },
            )
            for i in range(600)
        ]
        qd.ship_predictions(es, model_name, rows)
        got = eq.histograms(
            es, es_config, model_name, WINDOW, BINS, field_name=None, classes=classes
        )
        k = len(EDGES) + 1
        for j, c in enumerate(classes):
            mine = label == j
            h = got.classes["1"][c]
            want_p = np.bincount(sc.bin_index(EDGES, proba[mine, j]), minlength=k)
            want_o = np.bincount(sc.bin_index(EDGES, proba[~mine, j]), minlength=k)
            assert np.array_equal(h.predicted.counts, want_p)
            assert np.array_equal(h.other.counts, want_o)
