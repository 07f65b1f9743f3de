"""CBPE bins from the calibration map (analyzers/estimate_edges.py) vs rows and the fine grid."""

from __future__ import annotations

import datetime as dt
import itertools

import numpy as np
import pandas as pd
import pytest

from predwatch.analyzers import estimate as est
from predwatch.analyzers import estimate_query as eq
from predwatch.analyzers import score_calibration as sc
from predwatch.analyzers.aggregates import Window
from predwatch.analyzers.estimate_edges import (
    AUC_TOLERANCE,
    MAX_BINS,
    MAX_SPLIT,
    auc_bound,
    estimation_edges,
    summed_bins,
)
from predwatch.analyzers.estimate_fit import fit_reference
from predwatch.analyzers.quality_estimate import Estimation
from predwatch.baseline_checks import Invalid, read_estimation
from tests.helpers import cbpe

EDGES = sc.Grid().edges(0.5)
Z95 = 1.959963984540054
EXACT = ("accuracy", "precision", "recall", "f1")


def _frame(seed: int = 0, n: int = 20_000) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    y = rng.random(n) < 1.0 / (1.0 + np.exp(-(1.5 * x - 0.3)))
    return pd.DataFrame({"score": 1.0 / (1.0 + np.exp(-2.0 * x)), "y": y.astype(int)})


def _estimate(cal: sc.Calibration, edges: np.ndarray, s: np.ndarray) -> dict[str, float]:
    k = len(edges) + 1
    idx = sc.bin_index(edges, s)
    counts = np.bincount(idx, minlength=k).astype(float)
    sums = np.bincount(idx, weights=s, minlength=k)
    ests = est.binary(cal, edges, counts, threshold=0.5, z=Z95, sums=sums)
    return {e.name: float(e.value or 0.0) for e in ests}


class TestAgainstRowsAndFineGrid:
    @pytest.mark.parametrize("seed", [0, 1, 2, 3])
    @pytest.mark.parametrize("use_reference", [True, False])
    def test_map_edges_equal_rows_and_the_fine_grid(self, seed: int, use_reference: bool) -> None:
        """Confusion-matrix metrics are the row-level ones exactly; ROC AUC within 1e-3 of
        rows and of the 1,002-bin estimate, on a window shifted away from the reference."""
        rng = np.random.default_rng(seed)
        fitted, ref = cbpe.labelled(rng, 20_000)
        cal = fitted.calibration
        edges = estimation_edges(cal, 0.5, ref if use_reference else None)
        s = rng.beta(3.0, 2.0, 30_000)
        got = _estimate(cal, edges, s)
        fine = _estimate(cal, EDGES, s)
        rows = cbpe.row_level_cbpe(cal(s), s, 0.5)
        for name in EXACT:
            assert got[name] == pytest.approx(rows[name], abs=1e-12), name
        assert got["roc_auc"] == pytest.approx(rows["roc_auc"], abs=1e-3)
        assert got["roc_auc"] == pytest.approx(fine["roc_auc"], abs=1e-3)
        assert len(edges) < len(EDGES) / 4

    def test_identity_map_is_split_like_a_ramp(self) -> None:
        """The identity map (one ramp over [0, 1]) gets equal sub-bins; AUC within 1e-3 of rows."""
        rng = np.random.default_rng(5)
        _, ref = cbpe.labelled(rng, 20_000)
        edges = estimation_edges(sc.IDENTITY_MAP, 0.5, ref)
        assert 2 < len(edges) < 300
        s = rng.beta(2.0, 3.0, 30_000)
        got = _estimate(sc.IDENTITY_MAP, edges, s)
        rows = cbpe.row_level_cbpe(s, s, 0.5)
        for name in est.METRICS:
            assert got[name] == pytest.approx(rows[name], abs=1e-3), name

    @pytest.mark.parametrize("seed", [0, 1])
    def test_bound_on_the_reference_is_under_the_tolerance(self, seed: int) -> None:
        """The ROC AUC tie bound of the chosen edges, on the reference's rows, is about 1e-4
        or less, for the fitted map and for the identity (whose knots alone are far off)."""
        fitted, ref = cbpe.labelled(np.random.default_rng(seed), 20_000)
        for cal in (fitted.calibration, sc.IDENTITY_MAP):
            edges = estimation_edges(cal, 0.5, ref)
            # auc_bound places each fine bin's rows at its mean: a little above the rule's own
            assert auc_bound(cal, edges, ref) <= AUC_TOLERANCE * 1.5
        knots = np.union1d(sc.IDENTITY_MAP.knots()[0], [0.5])
        assert auc_bound(sc.IDENTITY_MAP, knots, ref) > 100 * AUC_TOLERANCE

    def test_an_unreachable_tolerance_stops_at_the_caps(self) -> None:
        """Asked for a bound of 0, the split stops at MAX_SPLIT per ramp and about MAX_BINS
        in all, so a request never nears Elasticsearch's bucket limit."""
        fitted, ref = cbpe.labelled(np.random.default_rng(8), 20_000)
        one = estimation_edges(sc.IDENTITY_MAP, 0.5, ref, tolerance=0.0)
        assert len(one) <= MAX_SPLIT + 2
        many = estimation_edges(fitted.calibration, 0.5, ref, tolerance=0.0)
        assert len(many) <= MAX_BINS + MAX_SPLIT + 2 * len(fitted.calibration.blocks) + 1

    def test_every_knot_and_the_threshold_are_edges(self) -> None:
        """The map's knots and the threshold are among the edges (exact confusion matrix)."""
        fitted, ref = cbpe.labelled(np.random.default_rng(7), 10_000)
        edges = estimation_edges(fitted.calibration, 0.37, ref)
        assert set(fitted.calibration.knots()[0]) <= set(edges)
        assert 0.37 in edges
        assert (np.diff(edges) > 0).all()


def _all_estimates(
    cal: sc.Calibration, edges: np.ndarray, counts: np.ndarray, sums: np.ndarray
) -> list[tuple[str, float | None, float | None, float | None]]:
    ests = est.binary(cal, edges, counts, threshold=0.5, z=Z95, sums=sums)
    return [(e.name, e.value, e.ci_low, e.ci_high) for e in ests]


class TestSummedBins:
    """Only the bins `summed_bins` names need their sum: the others' NaN changes nothing."""

    def _cases(self) -> list[tuple[sc.Calibration, np.ndarray]]:
        out = [(sc.IDENTITY_MAP, EDGES), (sc.IDENTITY_MAP, estimation_edges(sc.IDENTITY_MAP, 0.5))]
        for seed in range(4):
            fitted, ref = cbpe.labelled(np.random.default_rng(seed), 20_000)
            cal = fitted.calibration
            out += [(cal, estimation_edges(cal, 0.5, ref)), (cal, EDGES)]
        return out

    @pytest.mark.parametrize("shift", [(2.0, 3.0), (5.0, 1.5), (0.7, 0.7)])
    def test_estimates_and_intervals_equal_those_with_every_sum(
        self, shift: tuple[float, float]
    ) -> None:
        """Values and both interval bounds, on reference-like and shifted windows."""
        rng = np.random.default_rng(11)
        for cal, edges in self._cases():
            s = np.concatenate([rng.beta(*shift, 3000), [0.0, 0.5, 1.0]])
            k = len(edges) + 1
            idx = sc.bin_index(edges, s)
            counts = np.bincount(idx, minlength=k).astype(float)
            sums = np.bincount(idx, weights=s, minlength=k)
            need = summed_bins(cal, edges)
            assert need.shape == (k,) and need.any() and not need.all()
            partial = np.where(need, sums, np.nan)
            for a, b in zip(
                _all_estimates(cal, edges, counts, sums),
                _all_estimates(cal, edges, counts, partial),
                strict=True,
            ):
                assert a[0] == b[0]
                for x, y in zip(a[1:], b[1:], strict=True):
                    assert x is not None and y is not None
                    assert abs(x - y) < 1e-12, (a, b)
            # the check can fail: without the summed bins' sums the estimate moves
            none = np.full(k, np.nan)
            moved = [
                abs((x[1] or 0.0) - (y[1] or 0.0))
                for x, y in zip(
                    _all_estimates(cal, edges, counts, sums),
                    _all_estimates(cal, edges, counts, none),
                    strict=True,
                )
            ]
            assert max(moved) > 1e-6

    def test_bins_inside_a_block_or_beyond_the_map_are_not_summed(self) -> None:
        """A hand-made map: flat blocks [0.2, 0.4] and [0.6, 0.8], a ramp between them."""
        cal = sc.Calibration(((0.2, 0.4, 0.1, 10.0), (0.6, 0.8, 0.7, 10.0)))
        edges = np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9])
        # bins: <0.1, [0.1,0.2), [0.2,0.3), [0.3,0.4), [0.4,0.5), [0.5,0.6), [0.6,0.7),
        #       [0.7,0.8), [0.8,0.9), >=0.9
        want = [False, False, False, False, True, True, False, False, False, False]
        assert summed_bins(cal, edges).tolist() == want
        # a bin straddling a block's end, or holding a one-point block, is summed
        assert summed_bins(cal, np.array([0.35, 0.45])).tolist() == [True, True, True]
        point = sc.Calibration(((0.2, 0.2, 0.1, 1.0), (0.6, 0.6, 0.7, 1.0)))
        assert summed_bins(point, np.array([0.1, 0.3, 0.7])).tolist() == [
            False, True, True, False
        ]  # fmt: skip


class TestBinsRequest:
    def test_the_two_aggregations_partition_the_bins(self) -> None:
        """`score` (counts) and `summed` (counts and sums) hold every bin once, by index,
        [from, to) on the edges; the reader puts NaN where no sum was asked for."""
        cal = sc.Calibration(((0.2, 0.4, 0.1, 10.0), (0.6, 0.8, 0.7, 10.0)))
        bins = eq.Bins.of([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9], cal)
        aggs = bins.aggs("prediction.value")
        plain = aggs["score"]["range"]["ranges"]
        summed = aggs["summed"]["range"]["ranges"]
        assert "aggs" not in aggs["score"] and aggs["summed"]["aggs"]["sum"]["sum"]
        keys = sorted(int(r["key"]) for r in plain + summed)
        assert keys == list(range(bins.count))
        assert [int(r["key"]) for r in summed] == [4, 5]
        assert summed[0] == {"key": "4", "from": 0.4, "to": 0.5}
        assert plain[0] == {"key": "0", "to": 0.1} and plain[-1] == {"key": "9", "from": 0.9}
        h = bins.read(
            {
                "score": {"buckets": [{"key": "0", "doc_count": 3}]},
                "summed": {"buckets": [{"key": "4", "doc_count": 2, "sum": {"value": 0.9}}]},
            }
        )
        assert h.counts.tolist() == [3, 0, 0, 0, 2, 0, 0, 0, 0, 0]
        assert h.sums[4] == 0.9 and h.sums[5] == 0.0 and np.isnan(h.sums[0])

    def test_without_a_map_every_bin_is_summed(self) -> None:
        bins = eq.Bins.of([0.5])
        assert (
            "score" not in bins.aggs("f") and len(bins.aggs("f")["summed"]["range"]["ranges"]) == 2
        )


class TestBaselineBlock:
    def test_fit_stores_the_edges(self) -> None:
        """`baseline build --target-column` stores the map's edges, valid and far below 1,002."""
        block = fit_reference([_frame(0)], score="score", target="y", seed=0)
        assert read_estimation(block) is not None
        assert 0.5 in block["edges"]
        assert len(block["edges"]) < 300
        e = Estimation.from_block(block, "m@1")
        assert list(e.edges) == block["edges"]

    def test_old_block_without_edges_gets_them_from_the_blocks(self) -> None:
        """A baseline from before the edges: the same rule on the blocks' rows, not 1,002 bins."""
        block = fit_reference([_frame(0)], score="score", target="y", seed=0)
        del block["edges"]
        e = Estimation.from_block(block, "m@1")
        assert set(e.calibration.knots()[0]) <= set(e.edges)
        assert len(e.edges) < len(EDGES) / 2

    def test_old_identity_block_keeps_the_fine_grid(self) -> None:
        """An identity map (no block rows) without stored edges keeps the baseline's grid."""
        block = fit_reference([_frame(0)], score="score", target="y", seed=0)
        del block["edges"]
        block["calibration"] = sc.Calibration(sc.IDENTITY_MAP.blocks, sc.IDENTITY, 10).to_dict()
        e = Estimation.from_block(block, "m@1")
        assert np.array_equal(e.edges, sc.Grid().edges(0.5))

    @pytest.mark.parametrize("edges", [[0.1, 0.2], [0.5, 0.4], "x", []])
    def test_bad_edges_are_refused(self, edges: object) -> None:
        """Edges must be ascending numbers with the threshold among them."""
        block = fit_reference([_frame(0)], score="score", target="y", seed=0)
        block["edges"] = edges
        with pytest.raises(Invalid, match="edges"):
            read_estimation(block)


class TestPieces:
    U = dt.UTC
    NOW = dt.datetime(2026, 3, 12, 9, 30, tzinfo=dt.UTC)

    def test_which_windows_cover_their_days(self) -> None:
        """Starting at a UTC midnight, and ending at one or after now (today's index has
        nothing later): the window holds every document of its days' indices."""
        d = dt.datetime(2026, 3, 10, tzinfo=self.U)
        h = dt.timedelta(hours=1)
        covers = {
            (d, d + 24 * h): True,
            (d, d + 48 * h): True,
            (d, self.NOW): True,  # ends now: today's index is whole
            (d + h, d + 24 * h): False,
            (d, d + 30 * h): False,  # ends mid-day, in the past
            (d.astimezone(dt.timezone(dt.timedelta(hours=2))), d + 24 * h): True,
        }
        for (a, b), want in covers.items():
            assert eq.covers_its_days(Window(a, b), self.NOW) is want, (a, b)

    def test_a_cut_window_is_cut_into_contiguous_pieces(self) -> None:
        """Pieces partition the window exactly (each ends where the next starts, in whole
        milliseconds from its start); a one-day window covering its day, or a window too
        short, is whole."""
        a = dt.datetime(2026, 3, 10, 7, 0, 0, 123456, tzinfo=self.U)
        for length in (dt.timedelta(hours=25), dt.timedelta(milliseconds=7)):
            w = Window(a, a + length)
            got = eq._pieces(w, self.NOW, 4)
            assert len(got) == 4 and got[0].start == w.start and got[-1].end == w.end
            assert all(x.end == y.start for x, y in itertools.pairwise(got))
            assert all((p.start - a) % dt.timedelta(milliseconds=1) == dt.timedelta(0) for p in got)
        short = Window(a, a + dt.timedelta(milliseconds=3))
        assert eq._pieces(short, self.NOW, 4) == [short]
        day = Window(
            dt.datetime(2026, 3, 10, tzinfo=self.U), dt.datetime(2026, 3, 11, tzinfo=self.U)
        )
        assert eq._pieces(day, self.NOW, 4) == [day]
        assert eq._pieces(Window(a, a + dt.timedelta(hours=1)), self.NOW, 1) == [
            Window(a, a + dt.timedelta(hours=1))
        ]

    def test_a_window_covering_its_days_is_cut_at_midnights(self) -> None:
        """Every piece covers its days too (its bins may still be counted from the index):
        whole days, as even as they go, never more pieces than days; a window running past
        now is cut over the days up to now only."""
        d = dt.datetime(2026, 2, 20, tzinfo=self.U)
        day = dt.timedelta(days=1)
        w = Window(d, d + 10 * day)
        got = eq._pieces(w, self.NOW, 4)
        assert [p.start for p in got] == [d, d + 2 * day, d + 5 * day, d + 7 * day]
        assert got[-1].end == w.end and all(x.end == y.start for x, y in itertools.pairwise(got))
        assert all(eq.covers_its_days(p, self.NOW) for p in got)
        assert eq._pieces(Window(d, d + 2 * day), self.NOW, 4) == [
            Window(d, d + day),
            Window(d + day, d + 2 * day),
        ]
        # to the end of next week, asked on March 12 at 09:30: March 10, 11 and 12 hold rows
        ahead = Window(dt.datetime(2026, 3, 10, tzinfo=self.U), d + 30 * day)
        got = eq._pieces(ahead, self.NOW, 4)
        assert [p.start.day for p in got] == [10, 11, 12] and got[-1].end == ahead.end
        later = Window(d + 22 * day, d + 24 * day)  # March 14-15, in the future: whole
        assert eq._pieces(later, self.NOW, 4) == [later]
