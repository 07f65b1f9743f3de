"""`predwatch demo --fast` end to end against the session's Elasticsearch."""

from __future__ import annotations

import datetime as dt
import http.server
import json
import threading

from elasticsearch import Elasticsearch

from predwatch.config import ESConfig
from tests.helpers.demo_run import DemoRun, run_demo

# scenario -> tests or alert rules any of which counts as "the right one caught it"
EXPECTED = {
    "missing": {"missing_rate", "missing_rate.ac_mass", "missing_rate.num_engs"},
    "rare_category": {"chi2", "psi", "js", "linf"},
    "new_words": {"oov_rate", "oov_rate.remarks"},
    "wrong_version": {"anova", "kruskal", "ks", "psi", "version_change", "multiple_versions"},
    "latency": {"latency_p95"},
}
TITLES = {
    "missing": "a feature becomes unavailable",
    "rare_category": "a rare category becomes common",
    "new_words": "users type words the model never saw",
    "wrong_version": "the wrong model version is deployed",
    "latency": "latency regresses",
}


class FakeKibana:
    """Answers `POST /api/saved_objects/_import` on loopback like Kibana does."""

    def __init__(self) -> None:
        self.imports = 0
        self.objects = 0
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                ok = self.path.startswith("/api/saved_objects/_import")
                ok = ok and self.headers.get("kbn-xsrf") is not None
                n = sum(1 for line in body.splitlines() if line.startswith(b'{"'))
                if ok:
                    outer.imports += 1
                    outer.objects += n
                answer = {"success": True, "successCount": n, "successResults": []}
                data = json.dumps(answer if ok else {"error": "bad request"}).encode()
                self.send_response(200 if ok else 400)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeKibana:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def _count(es: Elasticsearch, model: str, **query: object) -> int:
    es.indices.refresh(index=f"predwatch-predictions-{model}-*")
    resp = es.count(index=f"predwatch-predictions-{model}-*", **query)  # type: ignore[arg-type]
    return int(resp["count"])


class TestDemo:
    def test_every_scenario_caught_and_named(self, demo_run: DemoRun) -> None:
        """Exit 0; the output names each injected scenario with the test that caught it."""
        assert demo_run.returncode == 0, demo_run.stderr + demo_run.stdout[-3000:]
        assert "5 of 5 injected failures caught" in demo_run.stdout
        out = demo_run.stdout[demo_run.stdout.index("What predwatch found") :]
        chapters = {c["scenario"]: c for c in demo_run.story["chapters"]}
        for key, names in EXPECTED.items():
            ch = chapters[key]
            assert ch["caught"], key
            found = {f["name"] for f in ch["caught_by"]}
            assert found & names, (key, found)
            # the printed story: the title, then "caught by" with one of the tests
            block = out[out.index(TITLES[key]) :]
            block = block[: block.index("\n  day ")] if "\n  day " in block else block
            assert "caught by" in block
            assert any(n.split(".")[0] in block for n in names), (key, block)
        assert "nothing flagged" in out or "false alarm" in out  # the clean period's verdict

    def test_what_elasticsearch_holds(self, demo_run: DemoRun, es: Elasticsearch) -> None:
        """Every prediction arrived, through both front ends, spread over the last 7 days,
        from two model versions; the analyzer runs were stored."""
        assert demo_run.returncode == 0
        model = demo_run.model
        story = demo_run.story
        assert story["predictions"] == 7 * 800 and story["dead_lettered"] == 0
        assert _count(es, model) == story["predictions"]
        resp = es.search(
            index=f"predwatch-predictions-{model}-*",
            size=0,
            aggs={
                "loggers": {"terms": {"field": "log.logger"}},
                "versions": {"terms": {"field": "model.version"}},
                "first": {"min": {"field": "@timestamp"}},
                "last": {"max": {"field": "@timestamp"}},
            },
        )
        aggs = resp["aggregations"]
        loggers = {b["key"] for b in aggs["loggers"]["buckets"]}
        assert "birdstrike" in loggers  # structlog
        assert "birdstrike.1.4.0" in loggers  # stdlib logging
        assert {b["key"] for b in aggs["versions"]["buckets"]} == {"1.4.0", "2.0.0-exp"}
        now = dt.datetime.now(dt.UTC).timestamp() * 1000
        assert now - 7 * 86400_000 - 3600_000 <= aggs["first"]["value"]
        assert aggs["last"]["value"] <= now
        assert (aggs["last"]["value"] - aggs["first"]["value"]) > 6 * 86400_000
        drift = es.count(index=f"predwatch-drift-{model}")
        assert drift["count"] > 0

    def test_outputs(self, demo_run: DemoRun) -> None:
        """The report, per-window reports, baseline, rules and dashboards are written."""
        out = demo_run.output
        for name in ("index.html", "baseline.json", "rules.yaml", "kibana.ndjson", "story.json"):
            assert (out / name).is_file(), name
        assert len(list((out / "reports").glob("*.html"))) == 6
        assert "Kibana: none configured" in demo_run.stdout

    def test_baseline_has_held_out_metrics(self, demo_run: DemoRun) -> None:
        """The demo baseline carries the out-of-fold metrics (quality --reference baseline)."""
        from predwatch.baseline import load_baseline

        b = load_baseline(demo_run.output / "baseline.json")
        assert {"accuracy", "precision", "recall", "f1", "roc_auc", "log_loss"} == set(b.metrics)
        assert 0.8 < b.metrics["roc_auc"] <= 1.0 and b.metrics_rows == b.rows
        assert "held-out ROC AUC" in demo_run.stdout

    def test_estimate_catches_the_wrong_version_before_labels(
        self, demo_run: DemoRun, es: Elasticsearch
    ) -> None:
        """No label ever arrives in the demo: the estimated accuracy drop catches the
        wrong-version day, the clean days' estimates hold, the estimated_quality alert
        fires, and the estimates are stored for the dashboard."""
        assert demo_run.returncode == 0
        chapters = {c["scenario"]: c for c in demo_run.story["chapters"]}
        wrong = chapters["wrong_version"]
        assert "estimated accuracy" in {f["name"] for f in wrong["caught_by"]}
        assert "estimated_quality" in {f["name"] for f in wrong["caught_by"]}
        assert not [f for f in chapters["clean"]["also_flagged"] if f["source"] == "estimate"]
        assert wrong["estimated"]["accuracy"] < chapters["clean"]["estimated"]["accuracy"]
        stored = es.count(
            index=f"predwatch-drift-{demo_run.model}",
            query={"prefix": {"metric.name": "quality.estimated."}},
        )
        assert stored["count"] > 0
        assert "Estimated quality per window" in (demo_run.output / "index.html").read_text()

    def test_safe_to_run_twice(
        self, demo_run: DemoRun, es_config: ESConfig, es: Elasticsearch
    ) -> None:
        """`predwatch demo --fast --kibana-url URL` again: it replaces the first run (one week
        of predictions, fresh alert state) and imports the dashboards into Kibana (a stand-in
        serving Kibana's import API here)."""
        assert demo_run.returncode == 0
        with FakeKibana() as kibana:
            again = run_demo(es_config, demo_run.model, demo_run.output, "--kibana-url", kibana.url)
        assert again.returncode == 0, again.stderr + again.stdout[-3000:]
        assert kibana.imports == 1 and kibana.objects > 10
        assert "Where to look in Kibana" in again.stdout
        assert f"{kibana.url}/app/dashboards#/view/" in again.stdout
        assert set(again.story["kibana"]) == {
            "inputs dashboard", "predictions dashboard", "drift dashboard",
        }  # fmt: skip
        assert "index(es) of an earlier run deleted" in again.stdout
        assert _count(es, demo_run.model) == again.story["predictions"]
        fired = sum(
            1 for c in again.story["chapters"] for f in c["caught_by"] if f["source"] == "alert"
        )
        es.indices.refresh(index="predwatch-alerts")
        records = es.count(
            index="predwatch-alerts", query={"term": {"model.name": demo_run.model}}
        )["count"]
        assert 0 < records <= fired + len(again.story["unattributed_alerts"])
