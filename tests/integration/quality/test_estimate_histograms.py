"""CBPE's score histograms from a real node equal numpy's on the same rows, per version, for
binary (value) and multiclass (per-class scores split by predicted label) models."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from elasticsearch import Elasticsearch

from predwatch import schema as s
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
    @pytest.mark.parametrize(("per_request", "parallel"), [(100, 4), (2, 1), (3, 16)])
    def test_windows_in_one_request_equal_one_request_each(
        self,
        es: Elasticsearch,
        es_config: ESConfig,
        model_name: str,
        monkeypatch: pytest.MonkeyPatch,
        per_request: int,
        parallel: int,
    ) -> None:
        """Hourly windows read together equal each read alone, however they are sent (several
        _msearch requests, each window whole or in pieces); predictions outside every window
        count nowhere."""
        rng = np.random.default_rng(4)
        scores = rng.beta(2, 2, 900)
        versions = ["1" if i % 2 else "2" for i in range(len(scores))]
        qd.install(es, es_config)
        qd.ship_predictions(es, model_name, _served(scores, versions, "h"))
        hours = [Window(qd.T0 + i * HOUR, qd.T0 + (i + 1) * HOUR) for i in (0, 1, 5, 23)]
        alone = [eq.histograms(es, es_config, model_name, w, BINS) for w in hours]
        monkeypatch.setattr(eq, "SEARCHES_PER_REQUEST", per_request)
        monkeypatch.setattr(eq, "PARALLEL", parallel)
        together = eq.histograms_many(es, es_config, model_name, hours, BINS)
        assert len(together) == len(hours)
        for a, b in zip(alone, together, strict=True):
            assert sorted(a.binary) == sorted(b.binary)
            for key in a.binary:
                assert np.array_equal(a.binary[key].counts, b.binary[key].counts)
                assert np.allclose(a.binary[key].sums, b.binary[key].sums, atol=1e-9)
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


class TestDailyIndices:
    """Windows over several days' indices: whole days, and windows that cut them (searched in
    pieces), with one version or a version per day."""

    DAYS = 3

    def _ship(self, es: Elasticsearch, model: str, versions: list[str]) -> tuple[np.ndarray, list]:
        rng = np.random.default_rng(8)
        n = 600 * self.DAYS
        scores = np.concatenate([rng.beta(2, 3, n - 3), [0.0, 0.5, 1.0]])
        step = self.DAYS * qd.DAY / (n + 1)
        at = [qd.T0 + (i + 1) * step for i in range(n)]
        rows = [
            qd.Served(f"d{i}", t, versions[(t - qd.T0) // qd.DAY], {"value": float(v)})
            for i, (t, v) in enumerate(zip(at, scores, strict=True))
        ]
        qd.ship_predictions(es, model, rows)
        return scores, at

    @staticmethod
    def _numpy(
        scores: np.ndarray, at: list, w: Window, bins: eq.Bins, keep: np.ndarray | None = None
    ) -> tuple[np.ndarray, ...]:
        inside = np.array([w.start <= t < w.end for t in at]) & (True if keep is None else keep)
        idx = sc.bin_index(bins.edges, scores[inside])
        counts = np.bincount(idx, minlength=bins.count)
        return counts, np.bincount(idx, weights=scores[inside], minlength=bins.count)

    @pytest.mark.parametrize("versions", [["1", "1", "1"], ["1", "1", "2"]])
    def test_whole_and_cut_windows_equal_numpy(
        self, es: Elasticsearch, es_config: ESConfig, model_name: str, versions: list[str]
    ) -> None:
        """Per window and version, counts (and the sums asked for) equal numpy's: whole days
        (bins split, counted from the index; alone, in pieces of whole days, whose versions
        differ in the second case), a window that cuts two days' indices (pieces),
        one that starts mid-day and crosses into the next version's day (pieces, then asked
        again per version), and one too short to cut."""
        qd.install(es, es_config)
        scores, at = self._ship(es, model_name, versions)
        bins = eq.Bins.of(EDGES, MAP)
        now = dt.datetime.now(dt.UTC)
        windows = [
            Window(qd.T0, qd.T0 + 2 * qd.DAY),
            Window(qd.T0 + 12 * HOUR, qd.T0 + 36 * HOUR),
            Window(qd.T0 + 30 * HOUR, qd.T0 + 3 * qd.DAY),
            Window(qd.T0 + 50 * HOUR, qd.T0 + 50 * HOUR + dt.timedelta(milliseconds=3)),
            Window(qd.T0, qd.T0 + 3 * qd.DAY),
        ]
        assert [eq.covers_its_days(w, now) for w in windows] == [True, False, False, False, True]
        for group in (windows, *([w] for w in windows)):  # alone, a cut window is in pieces
            got = eq.histograms_many(es, es_config, model_name, group, bins)
            for w, h in zip(group, got, strict=True):
                counts, sums = self._numpy(scores, at, w, bins)
                total = h.binary[eq.ALL_VERSIONS]
                assert np.array_equal(total.counts, counts), w
                known = ~np.isnan(total.sums)
                assert np.allclose(total.sums[known], sums[known], atol=1e-9)
                assert known[bins.summed].all()  # every sum the estimate needs
                seen = {versions[(t - qd.T0) // qd.DAY] for t in at if w.start <= t < w.end}
                assert sorted(h.binary) == sorted([*seen, eq.ALL_VERSIONS])
                for v in seen:
                    day = np.array([versions[(t - qd.T0) // qd.DAY] == v for t in at])
                    c, _ = self._numpy(scores, at, w, bins, keep=day)
                    assert np.array_equal(h.binary[v].counts, c), (w, v)

    def test_only_the_windows_days_are_searched(
        self,
        es: Elasticsearch,
        es_config: ESConfig,
        model_name: str,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """The search names the daily indices of the window's days (`schema.window_indices`):
        a document filed under another day's index (which the shipper never writes) is not
        found, though its timestamp is in the window."""
        qd.install(es, es_config)
        scores, at = self._ship(es, model_name, ["1"] * self.DAYS)
        stray = s.index_name("predictions", model_name, qd.T0 + 5 * qd.DAY)
        doc = {s.TIMESTAMP: qd.iso(qd.T0 + HOUR), s.PREDICTION_ID: "stray"}
        doc |= {"model": {"name": model_name, "version": "1"}, "prediction": {"value": 0.5}}
        es.index(index=stray, id="stray", document=doc, refresh=True)
        w = Window(qd.T0, qd.T0 + qd.DAY)
        got = eq.histograms(es, es_config, model_name, w, eq.Bins.of(EDGES))
        counts, _ = self._numpy(scores, at, w, eq.Bins.of(EDGES))
        assert np.array_equal(got.binary[eq.ALL_VERSIONS].counts, counts)
        wide = Window(qd.T0, qd.T0 + 6 * qd.DAY)  # names the stray index's day too
        monkeypatch.setattr(eq, "PARALLEL", 1)  # one search (pieces would cut at midnights)
        got = eq.histograms(es, es_config, model_name, wide, eq.Bins.of(EDGES))
        assert got.binary[eq.ALL_VERSIONS].rows == len(at) + 1


class TestMulticlassHistograms:
    @pytest.mark.parametrize("cut", [False, True])
    def test_per_class_split_by_predicted_label(
        self, es: Elasticsearch, es_config: ESConfig, model_name: str, cut: bool
    ) -> None:
        """Per class: its score among rows predicted as it, and among the others; also for a
        window that cuts its day's index (searched in pieces, summed per class)."""
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
        window = Window(qd.T0 + HOUR, qd.T0 + 23 * HOUR) if cut else WINDOW
        got = eq.histograms(
            es, es_config, model_name, window, BINS, field_name=None, classes=classes
        )
        at = np.array([window.start <= r.at < window.end for r in rows])
        assert at.sum() < (600 if cut else 601)
        k = len(EDGES) + 1
        for j, c in enumerate(classes):
            mine = (label == j) & at
            assert got.classes[eq.ALL_VERSIONS][c].predicted.rows == mine.sum()
            h = got.classes["1"][c]
            want_p = np.bincount(sc.bin_index(EDGES, proba[mine, j]), minlength=k)
            want_o = np.bincount(sc.bin_index(EDGES, proba[~mine & at, j]), minlength=k)
            assert np.array_equal(h.predicted.counts, want_p)
            assert np.array_equal(h.other.counts, want_o)
