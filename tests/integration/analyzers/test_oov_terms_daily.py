"""Top unseen words of a window that crosses UTC midnight (two daily indices, so two
shards even on one node) are exact: a word frequent on both days but never in either
day's own top ten must still come first."""

from __future__ import annotations

import datetime as dt
import uuid

import pandas as pd
from elasticsearch import Elasticsearch

from predwatch import schema as s
from predwatch.analyzers import fetch
from predwatch.analyzers.aggregates import TextAggs, Window
from predwatch.analyzers.profile import build_baseline
from predwatch.config import ESConfig
from tests.helpers import analyze_data as ad

MIDNIGHT = dt.datetime(2025, 2, 1, tzinfo=dt.UTC)
WINDOW = Window(MIDNIGHT - dt.timedelta(hours=1), MIDNIGHT + dt.timedelta(hours=1))


def _docs(texts: list[str], start: dt.datetime, baseline: object) -> list[dict[str, object]]:
    docs = []
    for i, text in enumerate(texts):
        doc = ad.annotate({"comment": text}, baseline)  # type: ignore[arg-type]
        doc[s.TIMESTAMP] = (start + dt.timedelta(seconds=i)).isoformat().replace("+00:00", "Z")
        doc[s.PREDICTION_ID] = uuid.uuid4().hex
        doc["model"] = {"name": baseline.model, "version": "1"}  # type: ignore[attr-defined]
        docs.append(doc)
    return docs


class TestTopUnseenWordsOverTwoDays:
    def test_word_second_on_each_day_is_first_overall(
        self, es: Elasticsearch, es_config: ESConfig, model_name: str
    ) -> None:
        """'both' is in 9 documents each day, below ten words with 10 there: 18 wins."""
        train = pd.DataFrame({"comment": [" ".join(ad.WORDS[:50])] * 200})
        baseline = build_baseline(train, model=model_name, version="1", text=["comment"])
        ad.install(es, es_config, baseline)
        day1 = [f"w1 a{i}" for i in range(10) for _ in range(10)] + ["w2 both"] * 9
        day2 = [f"w1 b{i}" for i in range(10) for _ in range(10)] + ["w2 both"] * 9
        docs = _docs(day1, WINDOW.start, baseline) + _docs(day2, MIDNIGHT, baseline)
        ad.ship(es, docs)
        assert len(es.indices.get(index=s.index_pattern("predictions", model_name)).body) == 2
        (agg,) = fetch.aggregate(
            es, es_config, baseline, [fetch.WindowSpec(WINDOW, predictions=False)]
        )
        text = agg.features["comment"]
        assert isinstance(text, TextAggs)
        assert text.oov_terms[0] == ("both", 18.0)
        # then the ten-document words, ties in term order as a terms aggregation gives them
        assert [t for t, _ in text.oov_terms[1:]] == [f"a{i}" for i in range(9)]
