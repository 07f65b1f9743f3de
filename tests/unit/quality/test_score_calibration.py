"""Calibration maps fitted on binned reference rows (analyzers/score_calibration.py)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.isotonic import IsotonicRegression

from predwatch.analyzers import score_calibration as sc


def _rows(seed: int, n: int, calibrated: bool) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    s = rng.beta(2.0, 3.0, n)
    p = s if calibrated else 1.0 / (1.0 + np.exp(-4.0 * (s - 0.6)))
    return s, rng.random(n) < p


def _folds(s: np.ndarray, y: np.ndarray, edges: np.ndarray, k: int = 5) -> list[sc.BinnedLabels]:
    fold = np.arange(len(s)) % k
    out = []
    for f in range(k):
        b = sc.BinnedLabels(edges)
        b.add(s[fold == f], y[fold == f])
        out.append(b)
    return out


class TestGrid:
    def test_threshold_becomes_an_edge(self) -> None:
        """A threshold between grid lines is inserted: the predicted class is constant per bin."""
        e = sc.Grid(0.0, 1.0, 10).edges(0.37)
        assert 0.37 in e
        assert len(e) == 12
        assert np.all(np.diff(e) > 0)

    def test_bins_are_closed_below_like_elasticsearch_ranges(self) -> None:
        """A score equal to an edge falls in the bin that starts there ([from, to) as `range`)."""
        e = sc.Grid(0.0, 1.0, 4).edges(0.5)
        idx = sc.bin_index(e, [-0.1, 0.0, 0.25, 0.49, 0.5, 1.0, 1.5])
        assert idx.tolist() == [0, 1, 2, 2, 3, 5, 5]

    def test_bad_grid_is_refused(self) -> None:
        """An empty or reversed range is a caller error."""
        with pytest.raises(ValueError, match="low < high"):
            sc.Grid(1.0, 0.0)


class TestIsotonic:
    def test_pav_equals_scikit_learn_on_the_bin_means(self) -> None:
        """Unpooled, the map is scikit-learn's isotonic fit on rows moved to their bin mean."""
        s, y = _rows(1, 5000, calibrated=False)
        edges = sc.Grid(0.0, 1.0, 200).edges(0.5)
        ref = sc.BinnedLabels(edges)
        ref.add(s, y)
        cal = sc.fit_isotonic(ref, min_rows=1)
        pos = ref.positions()
        moved = pos[sc.bin_index(edges, s)]
        iso = IsotonicRegression(out_of_bounds="clip").fit(moved, y.astype(float))
        probe = np.linspace(-0.1, 1.1, 500)
        assert np.allclose(cal(probe), iso.predict(probe), atol=1e-12)

    def test_pooling_gives_each_point_at_least_min_rows(self) -> None:
        """Pooled points hold >= min_rows rows, and the rows add up."""
        x = np.arange(10.0)
        y = np.linspace(0, 1, 10)
        w = np.array([1, 2, 3, 1, 1, 1, 5, 1, 1, 1.0])
        gx, _, gw = sc.pool_small(x, y, w, 4.0)
        assert gw.sum() == w.sum()
        assert (gw >= 4).all()
        assert np.all(np.diff(gx) > 0)

    def test_map_is_monotone_and_within_zero_one(self) -> None:
        """Any fitted map is non-decreasing with values in [0, 1]."""
        s, y = _rows(2, 3000, calibrated=False)
        ref = sc.BinnedLabels(sc.Grid().edges(0.5))
        ref.add(s, y)
        p = sc.fit_isotonic(ref)(np.linspace(-1, 2, 1000))
        assert np.all(np.diff(p) >= 0)
        assert p.min() >= 0 and p.max() <= 1

    def test_nan_scores_are_not_counted(self) -> None:
        """Rows without a finite score (the shipper stores NaN and inf as null) are not counted."""
        ref = sc.BinnedLabels(sc.Grid().edges(0.5))
        ref.add([0.2, np.nan, np.inf, 0.7], [0, 1, 1, 1])
        assert ref.rows == 2

    def test_block_weights_are_the_derivative_of_the_map(self) -> None:
        """Moving one block's probability moves p(score) by exactly its weight."""
        s, y = _rows(3, 4000, calibrated=False)
        ref = sc.BinnedLabels(sc.Grid().edges(0.5))
        ref.add(s, y)
        cal = sc.fit_isotonic(ref)
        probe = np.linspace(0.0, 1.0, 301)
        w = cal.block_weights(probe)
        j = len(cal.blocks) // 2
        blocks = list(cal.blocks)
        x0, x1, p, m = blocks[j]
        blocks[j] = (x0, x1, p + 1e-6, m)
        moved = sc.Calibration(tuple(blocks), cal.method, cal.rows)
        assert np.allclose((moved(probe) - cal(probe)) / 1e-6, w[:, j], atol=1e-6)


class TestChoice:
    def test_calibrated_scores_keep_the_identity(self) -> None:
        """Scores that already are probabilities are not recalibrated (out-of-fold Brier)."""
        s, y = _rows(4, 50_000, calibrated=True)
        fitted = sc.fit(_folds(s, y, sc.Grid().edges(0.5)))
        assert fitted.calibration.method == sc.IDENTITY
        assert fitted.brier_identity is not None
        assert fitted.brier_identity <= fitted.brier_isotonic

    def test_miscalibrated_scores_get_the_isotonic_map(self) -> None:
        """Scores that are not probabilities get the isotonic map, fitted on every fold."""
        s, y = _rows(5, 50_000, calibrated=False)
        folds = _folds(s, y, sc.Grid().edges(0.5))
        fitted = sc.fit(folds)
        assert fitted.calibration.method == sc.ISOTONIC
        assert fitted.calibration.rows == 50_000
        assert len(fitted.out_of_fold) == 5
        assert all(c.rows == 40_000 for c in fitted.out_of_fold)

    def test_raw_scores_outside_zero_one_never_take_the_identity(self) -> None:
        """Margins (not probabilities) are calibrated even if the identity would score well."""
        s, y = _rows(6, 5000, calibrated=True)
        margin = 10.0 * (s - 0.5)
        fitted = sc.fit(_folds(margin, y, sc.Grid(-5.0, 5.0, 100).edges(0.0)))
        assert fitted.calibration.method == sc.ISOTONIC
        assert fitted.brier_identity is None


class TestStorage:
    def test_round_trip_through_json(self) -> None:
        """to_dict -> JSON -> from_dict gives the same map."""
        s, y = _rows(7, 5000, calibrated=False)
        ref = sc.BinnedLabels(sc.Grid().edges(0.5))
        ref.add(s, y)
        cal = sc.fit_isotonic(ref)
        again = sc.Calibration.from_dict(json.loads(json.dumps(cal.to_dict())))
        assert again == cal
        assert len(json.dumps(cal.to_dict())) < 8000  # a small table, not the rows

    @pytest.mark.parametrize(
        ("data", "message"),
        [
            ({"blocks": "x"}, "list of"),
            ({"blocks": [[0, 0, 0.5]]}, "list of"),
            ({"blocks": [[0, 0.1, 0.6, 3], [0.2, 0.3, 0.5, 3]]}, "non-decreasing"),
            ({"blocks": [[0, 0.1, 1.5, 3]]}, r"\[0, 1\]"),
            ({"blocks": [[0, 0.1, 0.5, 3]], "method": "platt"}, "method"),
            ({"blocks": [[0, 0.1, 0.5, 3]], "rows": -1}, "rows"),
        ],
    )
    def test_bad_tables_are_refused(self, data: dict[str, object], message: str) -> None:
        """A damaged table raises ValueError saying what is wrong."""
        with pytest.raises(ValueError, match=message):
            sc.Calibration.from_dict(data)
