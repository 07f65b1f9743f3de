"""Every aggregation that feeds a test is exact on a multi-shard index: the same documents,
shipped to a model whose daily indices have 3 primary shards (+1 replica, 3 nodes) and to
a model whose daily indices have 1 shard, give the same counts and the same analyze JSON."""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass, is_dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner
from elasticsearch import Elasticsearch

from predwatch import schema as s
from predwatch.analyzers import fetch, queries
from predwatch.analyzers.aggregates import CategoricalAggs, TextAggs, Window, WindowAggregates
from predwatch.analyzers.profile import build_baseline
from predwatch.baseline import Baseline, save_baseline
from predwatch.cli import main
from predwatch.config import ESConfig
from predwatch.setup_es import setup_elasticsearch
from predwatch.shipper import Shipper
from tests.helpers import cluster_data as cd

N = 4000
WINDOW = Window(cd.START, cd.END)


@dataclass(frozen=True)
class Pair:
    sharded: Baseline  # 3 shards per daily index
    single: Baseline  # 1 shard per daily index
    paths: dict[str, Path]
    texts: list[str]


def _ship(cfg: ESConfig, baseline: Baseline, rows: list[dict[str, Any]], spool: Path) -> None:
    shipper = Shipper(
        baseline.model,
        baseline=baseline,
        es_url=cfg.hosts,
        spool_dir=spool,
        deployment=False,
        handle_sigterm=False,
    )
    try:
        for row in rows:
            shipper.log_prediction(
                cd.inputs(row),
                prediction=row["score"],
                prediction_id=row["id"],
                timestamp=row["ts"],
                latency_ms=row["latency"],
            )
        assert shipper.flush(timeout=300), shipper.stats()
        stats = shipper.stats()
        # A batch re-sent after a timeout finds some of its documents already written: 409,
        # counted as duplicates (delivered, not written twice).
        assert stats["acked"] + stats["duplicates"] == len(rows), stats
        assert stats["dropped_total"] == 0 and stats["dead_lettered"] == 0, stats
    finally:
        shipper.close()


@pytest.fixture(scope="module")
def pair(
    sharded: ESConfig, cluster_es: Elasticsearch, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Pair]:
    """Two models with the same baseline and the same served documents, over midnight."""
    rng = np.random.default_rng(12)
    train = cd.frame(rng, 4000, serving=False)
    tag = uuid.uuid4().hex[:8]
    baselines = [
        build_baseline(
            train, model=f"t_{tag}_{kind}", version="1", prediction_columns=["score"], text=["text"]
        )
        for kind in ("three", "one")
    ]
    setup_elasticsearch(cluster_es, sharded, baselines)
    one = baselines[1].model
    for day in ("2025.03.10", "2025.03.11"):  # the one-shard model's daily indices
        cluster_es.indices.create(
            index=f"predwatch-predictions-{one}-{day}",
            settings={"number_of_shards": 1, "number_of_replicas": 0},
        )
    serve = cd.frame(rng, N, serving=True)
    serve["ts"] = cd.timestamps(rng, N)
    serve["id"] = [f"p{i:05d}" for i in range(N)]
    serve["latency"] = rng.gamma(4.0, 5.0, N)
    rows = serve.to_dict("records")
    tmp = tmp_path_factory.mktemp("cluster-analyze")
    paths = {}
    for b in baselines:
        _ship(sharded, b, rows, tmp / f"spool-{b.model}")
        paths[b.model] = save_baseline(b, tmp / f"{b.model}.json")
        cluster_es.indices.refresh(index=s.index_pattern("predictions", b.model))
    try:
        yield Pair(baselines[0], baselines[1], paths, list(serve["text"]))
    finally:
        for b in baselines:
            found = cluster_es.indices.get(index=s.index_pattern("predictions", b.model))
            for index in found.body:
                cluster_es.options(ignore_status=404).indices.delete(index=index)
            cluster_es.options(ignore_status=404).indices.delete_index_template(
                name=f"predwatch-predictions-{b.model}"
            )


def _shards(es: Elasticsearch, model: str) -> list[int]:
    got = es.indices.get_settings(index=s.index_pattern("predictions", model))
    return sorted(int(v["settings"]["index"]["number_of_shards"]) for v in got.body.values())


def _aggregates(es: Elasticsearch, cfg: ESConfig, b: Baseline) -> WindowAggregates:
    (agg,) = fetch.aggregate(es, cfg, b, [fetch.WindowSpec(WINDOW)])
    return agg


class TestExactAcrossShards:
    def test_layout(self, pair: Pair, cluster_es: Elasticsearch) -> None:
        """The window spans two daily indices: 3 shards each for one model, 1 for the other."""
        assert _shards(cluster_es, pair.sharded.model) == [3, 3]
        assert _shards(cluster_es, pair.single.model) == [1, 1]

    def test_counts_equal(self, pair: Pair, cluster_es: Elasticsearch, sharded: ESConfig) -> None:
        """Bin, category, unseen and text counts are the same on 6 shards as on 2."""
        three = _aggregates(cluster_es, sharded, pair.sharded)
        one = _aggregates(cluster_es, sharded, pair.single)
        assert three.total == one.total == N
        for part in ("features", "prediction", "trend", "versions"):
            assert_same(getattr(three, part), getattr(one, part), part)
        big = three.features["big"]
        assert isinstance(big, CategoricalAggs)
        assert len(big.top) >= 1000 and big.unseen > 0 and big.missing == 0
        assert big.n == N  # every value counted (composite paging past the terms size)

    def test_top_unseen_words_are_the_truth(
        self, pair: Pair, cluster_es: Elasticsearch, sharded: ESConfig
    ) -> None:
        """The top OOV words equal those counted on the raw rows, on both layouts."""
        truth = cd.true_top_oov(pair.sharded, pair.texts, queries.UNSEEN_TOP)
        for b in (pair.sharded, pair.single):
            text = _aggregates(cluster_es, sharded, b).features["text"]
            assert isinstance(text, TextAggs)
            assert list(text.oov_terms) == truth, b.model

    def test_latency_percentiles_are_close(
        self, pair: Pair, cluster_es: Elasticsearch, sharded: ESConfig
    ) -> None:
        """Latency percentiles are approximate across shards (t-digest): within 2 %."""
        three = _aggregates(cluster_es, sharded, pair.sharded).latency
        one = _aggregates(cluster_es, sharded, pair.single).latency
        assert three is not None and one is not None and three.count == one.count == N
        for p, value in one.percentiles.items():
            assert value is not None and three.percentiles[p] == pytest.approx(value, rel=0.02)

    def test_analyze_json_equal(self, pair: Pair, sharded: ESConfig) -> None:
        """`predwatch analyze --json` over several hosts reports the same on both layouts."""
        out = []
        for b in (pair.sharded, pair.single):
            args = ["analyze", "--model", b.model, "--start", WINDOW.start.isoformat()]
            args += ["--end", WINDOW.end.isoformat(), "--baseline", str(pair.paths[b.model])]
            args += ["--json", "--no-store", "--es-url", sharded.url]
            res = CliRunner().invoke(main, args)
            assert res.exit_code in (0, 1), res.output
            out.append(_normalised(json.loads(res.output), b.model))
        assert_same(out[0], out[1], "report")


# Sums of floats (means, variances) differ in the last bits with the order shards add them
# up; a count that differs by one is far outside this tolerance.
FLOAT_REL = 1e-9
# Medians per trend bucket come from the `percentiles` aggregation (t-digest: approximate).
APPROXIMATE = {"median": 0.02}


def assert_same(a: Any, b: Any, path: str) -> None:
    """a == b, with floats compared to FLOAT_REL (APPROXIMATE ones more loosely)."""
    if is_dataclass(a) and is_dataclass(b):
        a, b = asdict(a), asdict(b)  # type: ignore[arg-type]
    if isinstance(a, dict) and isinstance(b, dict):
        assert a.keys() == b.keys(), path
        for k in a:
            assert_same(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list | tuple) and isinstance(b, list | tuple):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same(x, y, f"{path}[{i}]")
    elif isinstance(a, float) and isinstance(b, float) and not (math.isnan(a) and math.isnan(b)):
        rel = APPROXIMATE.get(path.rsplit(".", 1)[-1], FLOAT_REL)
        assert a == pytest.approx(b, rel=rel, abs=1e-12), path
    else:
        assert a == b or (a != a and b != b), path


def _normalised(report: Any, model: str) -> Any:
    """The report without what differs by design: the model name, run ids and times, and
    latency percentiles (approximate across shards, compared apart)."""
    if isinstance(report, dict):
        return {
            k: _normalised(v, model)
            for k, v in report.items()
            if k not in {"run_id", "created_at", "duration_s", "latency"}
        }
    if isinstance(report, list):
        return [_normalised(v, model) for v in report]
    if isinstance(report, str):
        return report.replace(model, "MODEL")
    return report
