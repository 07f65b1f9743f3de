"""Multiclass CBPE (one-vs-rest): the fit from class-probability columns, the baseline block,
`baseline build --class-scores`, and the per-class bins of the histogram request."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score, roc_auc_score

from predwatch.analyzers import estimate_query as eq
from predwatch.analyzers import quality_estimate as qe
from predwatch.analyzers.baseline_cli import baseline as baseline_cli
from predwatch.analyzers.estimate_fit_multiclass import (
    _Reader,
    fit_reference_multiclass,
    realized_multiclass,
)
from predwatch.baseline import BaselineError, load_baseline
from predwatch.baseline_checks import Invalid, read_estimation

CLASSES = ("a", "b", "c")
COLUMNS = {c: f"proba_{c}" for c in CLASSES}
W = np.array([[2.0, 0.0], [-1.0, 1.7], [-1.0, -1.7]])


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return np.asarray(e / e.sum(axis=1, keepdims=True))


def _frame(seed: int = 0, n: int = 20_000) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 2))
    p = _softmax(x @ W.T)
    y = (rng.random(n)[:, None] > np.cumsum(p, axis=1)).sum(axis=1)
    s = _softmax(1.6 * (x @ W.T))
    frame = pd.DataFrame({"x1": x[:, 0], "y": np.asarray(CLASSES)[y]})
    for j, c in enumerate(CLASSES):
        frame[COLUMNS[c]] = s[:, j]
    return frame


class TestFit:
    def test_realized_equals_scikit_learn(self) -> None:
        """Accuracy, macro precision/recall/F1 equal scikit-learn's; macro OvR AUC within 1e-3."""
        f = _frame(1)
        r = _Reader(list(CLASSES), 0)
        r.add(f[list(COLUMNS.values())], f["y"])
        pred = {c: r.pred[c][0].merged(r.pred[c][1:]) for c in CLASSES}
        other = {c: r.other[c][0].merged(r.other[c][1:]) for c in CLASSES}
        got = realized_multiclass(pred, other)
        s = f[list(COLUMNS.values())].to_numpy()
        y, yhat = f["y"].to_numpy(), np.asarray(CLASSES)[s.argmax(axis=1)]
        assert got["accuracy"] == pytest.approx(accuracy_score(y, yhat), abs=1e-12)
        for name, fn in (
            ("precision", precision_score),
            ("recall", recall_score),
            ("f1", f1_score),
        ):
            assert got[name] == pytest.approx(fn(y, yhat, average="macro"), abs=1e-12), name
        want = roc_auc_score(y, s, multi_class="ovr", average="macro", labels=list(CLASSES))
        assert got["roc_auc"] == pytest.approx(want, abs=1e-3)

    def test_block_is_valid_with_per_class_maps_and_edges(self) -> None:
        """The block validates, has a map and far fewer than 1,002 edges per class, and
        estimates the reference out of fold within 0.02."""
        block = fit_reference_multiclass([_frame(2)], columns=COLUMNS, target="y")
        assert read_estimation(block) is not None
        assert block["classes"] == list(CLASSES)
        for c in CLASSES:
            assert 2 < len(block["per_class"][c]["edges"]) < 300
        assert all(v < 0.02 for v in block["reference"]["mean_abs_error_out_of_fold"].values())
        e = qe.Estimation.from_block(block, "m@1")
        assert e.kind == "multiclass" and [m.name for m in e.classes] == list(CLASSES)
        assert e.threshold is None and e.positive is None

    def test_chunks_give_the_same_block(self) -> None:
        """Read in chunks, the maps and metrics are those of one read (memory O(bins))."""
        f = _frame(3)
        whole = fit_reference_multiclass([f], columns=COLUMNS, target="y", seed=4)
        parts = fit_reference_multiclass(
            [f.iloc[i : i + 3000] for i in range(0, len(f), 3000)],
            columns=COLUMNS,
            target="y",
            seed=4,
        )
        assert parts["reference"]["realized"] == pytest.approx(whole["reference"]["realized"])

    def test_scores_outside_0_1_are_refused(self) -> None:
        """Class scores must be probabilities: a logit column is an error that says so."""
        f = _frame(4)
        f.loc[0, "proba_a"] = 3.0
        with pytest.raises(BaselineError, match=r"probabilities in \[0, 1\]"):
            fit_reference_multiclass([f], columns=COLUMNS, target="y")

    def test_label_without_a_score_column_is_refused(self) -> None:
        """A target value with no PREFIX<class> column is named."""
        f = _frame(5)
        f.loc[:5, "y"] = "d"
        with pytest.raises(BaselineError, match="'d'"):
            fit_reference_multiclass([f], columns=COLUMNS, target="y")

    def test_bad_multiclass_block_names_its_path(self) -> None:
        """A class without its map is refused with the path of the missing part."""
        block = fit_reference_multiclass([_frame(6)], columns=COLUMNS, target="y")
        del block["per_class"]["b"]
        with pytest.raises(Invalid, match=r"estimation\.per_class\.b"):
            read_estimation(block)


class TestRequest:
    def test_each_class_gets_its_own_bins(self) -> None:
        """The request's ranges per class are that class's bins; the reader sizes them apart."""
        own = {"a": eq.Bins.of([0.2, 0.5]), "b": eq.Bins.of([0.1, 0.3, 0.6, 0.9])}
        req = eq.Request.of(eq.Bins.of([0.5]), field_name=None, classes=["a", "b"], class_bins=own)
        aggs = req.aggs(split=True)
        assert len(aggs["c0"]["aggs"]["summed"]["range"]["ranges"]) == 3
        assert len(aggs["c1"]["aggs"]["summed"]["range"]["ranges"]) == 5
        got = req.window([("1", {"c0": {"buckets": {}}, "c1": {"buckets": {}}})])
        assert len(got.classes["*"]["a"].predicted.counts) == 3
        assert len(got.classes["*"]["b"].other.counts) == 5


class TestBaselineBuildCli:
    def _build(self, tmp_path: Path, *extra: str) -> tuple[int, str, Path]:
        _frame(7).to_csv(tmp_path / "ref.csv", index=False)
        out = tmp_path / "b.json"
        args = ["build", str(tmp_path / "ref.csv"), "--model", "m", "--version", "1",
                "--target-column", "y", "-o", str(out), *extra]  # fmt: skip
        r = CliRunner().invoke(baseline_cli, args)
        return r.exit_code, r.output, out

    def test_class_scores_store_the_multiclass_block(self, tmp_path: Path) -> None:
        """--class-scores PREFIX: per-class maps and macro reference metrics are stored, the
        probability columns and the target are no features."""
        code, output, out = self._build(tmp_path, "--class-scores", "proba_", "--json")
        assert code == 0, output
        b = load_baseline(out)
        assert [f.name for f in b.features] == ["x1"]
        assert b.estimation is not None and b.estimation["kind"] == "multiclass"
        assert set(b.metrics) == {"accuracy", "precision", "recall", "f1", "roc_auc"}
        summary = json.loads(output[output.index("{") :])
        assert summary["estimation"]["classes"] == list(CLASSES)
        shown = CliRunner().invoke(baseline_cli, ["show", str(out)])
        assert "multiclass one-vs-rest, 3 classes" in shown.output

    def test_multiclass_target_without_class_scores_says_what_to_give(self, tmp_path: Path) -> None:
        """Three label values and only one score column: exit 2, naming --class-scores and
        the fields the model must log."""
        code, output, _ = self._build(tmp_path, "--prediction-column", "proba_a")
        assert code == 2
        assert "--class-scores" in output and "prediction.scores.<class>" in output

    def test_prefix_matching_no_columns_is_a_usage_error(self, tmp_path: Path) -> None:
        """--class-scores with a prefix no column has: exit 2, saying what was looked for."""
        code, output, _ = self._build(tmp_path, "--class-scores", "p_")
        assert code == 2 and "p_<class>" in output


class TestReport:
    def test_json_names_the_classes(self) -> None:
        """The `estimated` JSON of a multiclass model: kind, classes, per-class map methods."""
        block = fit_reference_multiclass([_frame(8)], columns=COLUMNS, target="y")
        e = qe.Estimation.from_block(block, "m@1")
        d = qe.to_dict({}, e, [])
        assert d["kind"] == "multiclass" and d["classes"] == list(CLASSES)
        assert set(d["calibration"]) == set(CLASSES)
        assert "threshold" not in d and "positive_class" not in d
