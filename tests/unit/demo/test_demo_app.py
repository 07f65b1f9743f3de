"""The demo's serving app over real HTTP on loopback, shipping into a fake sink."""

from __future__ import annotations

import datetime as dt
import io
import json
import random
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest

from predwatch.demo import app as demo_app
from predwatch.demo import client
from predwatch.demo import dataset as ds
from predwatch.demo import model as mdl
from predwatch.demo.traffic import Request, Segment
from predwatch.shipper import ItemResult, Shipper

WHEN = dt.datetime(2026, 3, 2, 14, 30, tzinfo=dt.UTC)


class _Sink:
    """Keeps every document it is sent."""

    def __init__(self) -> None:
        self.docs: list[dict[str, Any]] = []
        self.mu = threading.Lock()

    def bulk(self, body: bytes, n_items: int) -> list[ItemResult]:
        lines = body.decode().splitlines()
        with self.mu:
            self.docs += [json.loads(x) for x in lines[1::2]]
        return [ItemResult(201) for _ in range(n_items)]

    def ensure_index(self, index: str, mapping: dict[str, Any]) -> None:
        pass

    def close(self) -> None:
        pass


def _rows(n: int, seed: int = 0) -> pd.DataFrame:
    rng = random.Random(seed)
    words = ["bird", "struck", "wing", "engine", "no", "damage", "flt", "gull"]
    rows = []
    for i in range(n):
        rows.append(
            {
                "height": rng.choice([None, 0.0, 100.0, 500.0]),
                "speed": rng.uniform(80, 250),
                "ac_mass": float(rng.randint(1, 5)),
                "num_engs": float(rng.randint(1, 4)),
                "phase_of_flt": rng.choice(["Approach", "Climb", None]),
                "time_of_day": rng.choice(["Day", "Night"]),
                "sky": rng.choice(["No Cloud", "Overcast", None]),
                "species": rng.choice(["GULLS", "HAWKS", "SPARROWS"]),
                "birds_struck": rng.choice(["1", "2-10"]),
                "remarks": " ".join(rng.choices(words, k=5)) if i % 5 else None,
                ds.TARGET: int(i % 4 == 0),
            }
        )
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def models() -> tuple[mdl.Model, mdl.Model]:
    frame = _rows(120)
    return mdl.train(frame, "2026-03-01T00:00:00+00:00"), mdl.train_experiment(frame, "x")


class _Served:
    def __init__(self, url: str, sinks: dict[str, _Sink], shippers: dict[str, Shipper]) -> None:
        self.url, self.sinks, self.shippers = url, sinks, shippers

    def flush(self) -> None:
        for s in self.shippers.values():
            assert s.flush(10)


@pytest.fixture
def served(models: tuple[mdl.Model, mdl.Model]) -> Iterator[_Served]:
    sinks = {m.version: _Sink() for m in models}
    shippers = {
        m.version: Shipper(
            "demo", m.version, sink=lambda v=m.version: sinks[v], handle_sigterm=False,
            flush_interval=0.05,
        )
        for m in models
    }  # fmt: skip
    app = demo_app.ServingApp({m.version: (m, shippers[m.version]) for m in models}, io.StringIO())
    running = demo_app.Running(app)
    try:
        yield _Served(running.url, sinks, shippers)
    finally:
        running.stop()
        for s in shippers.values():
            assert s.flush(10)
            s.close()


def _post(url: str, payload: Any, headers: dict[str, str] | None = None) -> Any:
    return client._call(url, payload, headers)


class TestServingApp:
    def test_both_front_ends_ship_at_the_event_time(
        self, served: _Served, models: tuple[mdl.Model, mdl.Model]
    ) -> None:
        """Each front end ships one document per prediction, stamped with X-Event-Time."""
        url, sinks = served.url, served.sinks
        rows = ds.records(_rows(3, seed=1))
        for front in ("logging", "structlog"):
            out = _post(f"{url}/predict/{front}", {"inputs": rows},
                        {demo_app.EVENT_TIME_HEADER: str(WHEN.timestamp())})  # fmt: skip
            assert len(out["predictions"]) == 3 and out["version"] == mdl.VERSION
        served.flush()
        docs = sinks[mdl.VERSION].docs
        assert len(docs) == 6
        assert {d["@timestamp"] for d in docs} == {"2026-03-02T14:30:00.000Z"}
        assert {d["model"]["version"] for d in docs} == {mdl.VERSION}
        loggers = sorted(d["log"]["logger"] for d in docs)
        assert loggers[:3] == ["birdstrike"] * 3 and loggers[3].startswith("birdstrike.")
        assert all(d["latency_ms"] > 0 for d in docs)
        assert {d["prediction"]["label"] for d in docs} <= set(ds.CLASSES)
        assert docs[0]["inputs"]["species"] in ("GULLS", "HAWKS", "SPARROWS")

    def test_deploy_switches_version(self, served: _Served) -> None:
        """After /admin/state, predictions come from (and ship as) the deployed version."""
        url, sinks = served.url, served.sinks
        client.set_state(url, mdl.EXPERIMENT_VERSION, 0)
        out = _post(f"{url}/predict/logging", {"inputs": ds.records(_rows(2))})
        assert out["version"] == mdl.EXPERIMENT_VERSION
        served.flush()
        assert len(sinks[mdl.EXPERIMENT_VERSION].docs) == 2
        assert sinks[mdl.VERSION].docs == []

    def test_errors(self, served: _Served) -> None:
        """Unknown versions and malformed bodies are 400, unknown routes 404."""
        url = served.url
        with pytest.raises(urllib.error.HTTPError) as bad:
            client.set_state(url, "9.9.9", 0)
        assert bad.value.code == 400
        with pytest.raises(urllib.error.HTTPError) as missing:
            _post(f"{url}/nope", {})
        assert missing.value.code == 404
        with urllib.request.urlopen(f"{url}/healthz", timeout=5) as resp:
            assert json.loads(resp.read())["status"] == "ok"

    def test_client_sends_a_segment(self, served: _Served) -> None:
        """The client sends every request of a segment and reports the app's latencies."""
        url, sinks = served.url, served.sinks
        rows = tuple(ds.records(_rows(4)))
        reqs = tuple(Request(WHEN.timestamp() + i, "structlog", rows) for i in range(5))
        seg = Segment("clean", WHEN, WHEN + dt.timedelta(hours=1), mdl.VERSION, False, reqs)
        sent = client.send_week(url, [seg], lambda lat: 0.0, lambda s: None, workers=2)
        assert sent[0].failed == 0 and len(sent[0].latencies_ms) == 5
        served.flush()
        assert len(sinks[mdl.VERSION].docs) == 20


class TestModel:
    def test_missing_values_look_the_same_in_training_and_serving(
        self, models: tuple[mdl.Model, mdl.Model]
    ) -> None:
        """None in a record and NaN in a frame reach the pipeline as the same missing value."""
        frame = mdl.to_frame([{"species": None, "height": None, "remarks": None}])
        assert frame["species"].isna().all() and frame["remarks"].isna().all()
        assert frame["height"].dtype == "float64"
        prod, _ = models
        assert prod.score([{"species": None}]) == prod.score([{}])

    def test_experiment_scores_higher(self, models: tuple[mdl.Model, mdl.Model]) -> None:
        """The mistakenly deployed experiment is class-balanced: its scores are higher."""
        prod, exp = models
        rows = ds.records(_rows(60, seed=3))
        assert sum(exp.score(rows)) > sum(prod.score(rows))


class TestDataset:
    def test_prepare(self) -> None:
        """Reports without registry data are dropped, rare species grouped, target derived."""
        raw = _rows(30).rename(columns={ds.TARGET: "x"})
        raw["effect"] = [None, "Other"] * 15
        raw.loc[0, "ac_mass"] = None
        raw.loc[1, "species"] = "DODO"
        out = ds.prepare(raw)
        assert len(out) == 29
        assert ds.OTHER_SPECIES in set(out["species"])
        assert set(out[ds.TARGET]) == {0, 1}
        assert list(out.columns) == [*ds.FEATURES, ds.TARGET]
