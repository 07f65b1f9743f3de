"""A fake Elasticsearch sink and a small baseline for the shipper's unit tests.

(Integration tests use a real node.)
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

from predwatch.shipper import BulkFailed, ItemResult


class FakeSink:
    """Behaves like `_bulk` with op_type=create: stores documents by (index, id), 409 on repeats.

    `down` makes every request fail like a refused connection; `fail_item(doc) -> ItemResult|None`
    scripts per-item failures.
    """

    def __init__(self) -> None:
        self.docs: dict[tuple[str, str], dict[str, Any]] = {}
        self.requests = 0
        self.down: str | None = None
        self.fail_item: Callable[[dict[str, Any]], ItemResult | None] | None = None
        self.ensured: list[str] = []
        self.mu = threading.Lock()

    def bulk(self, body: bytes, n_items: int) -> list[ItemResult]:
        with self.mu:
            self.requests += 1
            if self.down:
                raise BulkFailed(self.down, f"fake: {self.down}")
            lines = body.decode().splitlines()
            assert len(lines) == 2 * n_items
            out = []
            for action_line, doc_line in zip(lines[::2], lines[1::2], strict=True):
                (meta,) = json.loads(action_line).values()
                doc = json.loads(doc_line)
                scripted = self.fail_item(doc) if self.fail_item else None
                key = (meta["_index"], meta["_id"])
                if scripted is not None:
                    out.append(scripted)
                elif key in self.docs:
                    out.append(ItemResult(409, "version_conflict_engine_exception", "exists"))
                else:
                    self.docs[key] = doc
                    out.append(ItemResult(201))
            return out

    def ensure_index(self, index: str, mapping: dict[str, Any]) -> None:
        if self.down:
            raise BulkFailed(self.down, f"fake: {self.down}")
        self.ensured.append(index)

    def close(self) -> None:
        pass

    def predictions(self) -> list[dict[str, Any]]:
        with self.mu:
            return [d for (i, _), d in self.docs.items() if i.startswith("predwatch-predictions-")]

    def index_docs(self, prefix: str) -> list[dict[str, Any]]:
        with self.mu:
            return [d for (i, _), d in self.docs.items() if i.startswith(prefix)]


def make_baseline(classes: tuple[str, ...] = ("0", "1")) -> Any:
    """A small baseline: numeric `age` (18..90), categorical `marital_status`, text `comment`."""
    from predwatch import schema
    from predwatch.baseline import (
        Baseline,
        CategoricalProfile,
        FeatureProfile,
        NumericProfile,
        PredictionProfile,
        TextProfile,
        Tokenizer,
    )

    num = NumericProfile((30.0, 50.0), (3.0, 4.0, 3.0), 45.0, 100.0, 18.0, 90.0, 10)
    cat = CategoricalProfile({"married": 6, "single": 4}, 0, frozenset({"married", "single"}), 10)
    text = TextProfile(
        Tokenizer(),
        {"good": 5, "service": 3, "bad": 2},
        0.1,
        NumericProfile((), (10.0,), 2.0, 1.0, 1.0, 3.0, 10),
        10,
    )
    pred = PredictionProfile(
        "classification",
        None,
        CategoricalProfile({"0": 5, "1": 5}, 0, frozenset(classes), 10),
        classes,
    )
    return Baseline(
        model="credit",
        version="3.1.0",
        trained_at="2026-01-01T00:00:00Z",
        hash="abc",
        created_at="2026-01-02T00:00:00Z",
        rows=10,
        features=(
            FeatureProfile("age", schema.FeatureType.NUMERIC, 10, 0, numeric=num),
            FeatureProfile(
                "marital_status", schema.FeatureType.CATEGORICAL, 10, 0, categorical=cat
            ),
            FeatureProfile("comment", schema.FeatureType.TEXT, 10, 0, text=text),
        ),
        prediction=pred,
    )
