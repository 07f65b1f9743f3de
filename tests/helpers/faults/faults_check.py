"""What every fault scenario checks at its end: the shipper's accounting and, by id, the
documents in Elasticsearch (none missing, none twice, dead letters where they belong)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Collection, Iterable
from pathlib import Path
from typing import Any, Protocol

from elasticsearch import Elasticsearch

from predwatch import devnode
from predwatch import schema as s
from predwatch.devnode.process import alive

CHUNK = 1000
PRODUCER = Path(__file__).with_name("producer.py")


def pending(st: dict[str, Any]) -> int:
    """Records not settled yet: in memory and in spools (stats()["pending"])."""
    return int(st["pending"])


# stats()["accounting"] (ship-core): both sides of the identity, term by term. Records
# adopted from dead processes' spools and the shipper's own documents (deployment,
# dead letters) come in besides what this process enqueued.
CAME = ("enqueued", "adopted", "internal")
WENT = ("acked", "duplicates", "dead_lettered", "dropped", "internal_done", "pending")


def accounting(st: dict[str, Any]) -> tuple[int, int]:
    """(enqueued + adopted + internal, acked + duplicates + dead_lettered + dropped +
    internal_done + pending), recomputed from the terms, not read from `balanced`."""
    assert "accounting" in st, "stats() exposes no accounting"
    a = st["accounting"]
    return sum(int(a[k]) for k in CAME), sum(int(a[k]) for k in WENT)


def assert_accounting(st: dict[str, Any]) -> None:
    """The identity holds, and its terms are the counters stats() reports."""
    came, went = accounting(st)
    a = st["accounting"]
    terms = ", ".join(f"{k} {a[k]}" for k in (*CAME, *WENT))
    assert came == went, f"accounting off by {came - went}: {terms}"
    assert a["balanced"], terms
    top = {
        "enqueued": "enqueued",
        "acked": "acked",
        "duplicates": "duplicates",
        "dead_lettered": "dead_lettered",
        "dropped": "dropped_total",
        "pending": "pending",
    }
    differ = {k: (a[k], st[v]) for k, v in top.items() if a[k] != st[v]}
    assert not differ, f"accounting terms differ from the counters: {differ}"
    assert sum(st["dropped"].values()) == st["dropped_total"]


def _count_ids(es: Elasticsearch, index: str, field: str | None, ids: list[str]) -> Counter[str]:
    found: Counter[str] = Counter()
    for i in range(0, len(ids), CHUNK):
        part = ids[i : i + CHUNK]
        query = {"ids": {"values": part}} if field is None else {"terms": {field: part}}
        r = es.options(ignore_status=404).search(
            index=index,
            query=query,
            size=2 * len(part),
            source=[field] if field else False,
            ignore_unavailable=True,
            allow_no_indices=True,
        )
        for h in r.get("hits", {}).get("hits", []):
            found[h["_source"][field] if field else h["_id"]] += 1
    return found


def assert_landed(
    es: Elasticsearch, model: str, expected: Iterable[str], dead: Collection[str] = ()
) -> None:
    """Every id of `expected` is stored exactly once in the model's prediction indices (by
    `_id`), nothing else is stored there, and every id of `dead` is in
    `predwatch-deadletter` exactly once and not among the predictions."""
    want = list(expected)
    assert len(want) == len(set(want)), "the test logged an id twice"
    pattern = s.index_pattern("predictions", model)
    dl_index = s.index_name("deadletter")
    es.indices.refresh(index=f"{pattern},{dl_index}", ignore_unavailable=True)
    found = _count_ids(es, pattern, None, [*want, *dead])
    missing = [i for i in want if found[i] == 0]
    twice = [i for i, n in found.items() if n > 1]
    total = es.options(ignore_status=404).count(
        index=pattern, ignore_unavailable=True, allow_no_indices=True
    )
    stored = total.get("count", 0)
    assert not missing, f"{len(missing)} of {len(want)} missing, e.g. {missing[:3]}"
    assert not twice, f"{len(twice)} stored twice, e.g. {twice[:3]}"
    in_index = [i for i in dead if found[i]]
    assert not in_index, f"dead-lettered ids also stored as predictions: {in_index[:3]}"
    assert stored == len(want), f"{stored} documents stored, {len(want)} expected"
    if dead:
        dl = _count_ids(es, dl_index, "prediction_id", list(dead))
        lost = [i for i in dead if dl[i] != 1]
        assert not lost, f"{len(lost)} of {len(dead)} not dead-lettered exactly once: {lost[:3]}"


def spool_dirs(root: Path) -> list[Path]:
    """The per-process spool directories under `root` (none when it does not exist)."""
    return [p for p in root.iterdir() if p.is_dir()] if root.exists() else []


class Delivers(Protocol):
    """What `deliver_rest` drives: a `Shipper` in this process or a `Producer`."""

    def flush(self, timeout: float) -> bool: ...

    def stats(self) -> dict[str, Any]: ...

    def close(self, timeout: float) -> bool: ...


def deliver_rest(
    es: Elasticsearch,
    model: str,
    sh: Delivers,
    ids: Iterable[str],
    *,
    records: int | None = None,
    dead: Collection[str] = (),
    spool: Path | None = None,
) -> dict[str, Any]:
    """How every scenario ends once the fault is gone: `sh` flushes within 60 s with nothing
    dropped, nothing pending, `len(dead)` records dead-lettered (and, given `records`,
    acked + duplicates == records); its accounting holds; it closes; no process directory
    is left under `spool` (given); `assert_landed(es, model, ids, dead)`. Its stats after
    the flush, for the checks a scenario adds."""
    assert sh.flush(60), "not everything was delivered within 60 s"
    st = sh.stats()
    assert st["dropped"] == {}, st["dropped"]
    assert pending(st) == 0, st["accounting"]
    assert st["dead_lettered"] == len(dead), (st["dead_lettered"], len(dead))
    if records is not None:
        assert st["acked"] + st["duplicates"] == records, (st["acked"], st["duplicates"])
    assert_accounting(st)
    assert sh.close(10), "close() did not deliver everything"
    if spool is not None:
        assert spool_dirs(spool) == [], spool_dirs(spool)
    assert_landed(es, model, ids, dead)
    return st


def wait_until(cond: Any, timeout: float, step: float = 0.05) -> bool:
    """Poll `cond()` until true or `timeout` seconds passed (a bound, not an assertion)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(step)
    return bool(cond())


class Producer:
    """A shipper in a subprocess (`producer.py`), for scenarios where a process dies."""

    def __init__(self, model: str, wrapper: list[str] | None = None, **kwargs: Any) -> None:
        self.proc = subprocess.Popen(
            [
                *(wrapper or []),
                sys.executable,
                str(PRODUCER),
                json.dumps({"model": model, **kwargs}),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.hello = self._read()

    def _read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise EOFError(f"the producer ended (exit {self.proc.wait(30)})")
        return dict(json.loads(line))

    def call(self, op: str, **args: Any) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"op": op, **args}) + "\n")
        self.proc.stdin.flush()
        return {} if op == "exit" else self._read()

    def log(self, n: int, tag: str = "") -> list[str]:
        return list(self.call("log", n=n, tag=tag)["ids"])

    def stats(self) -> dict[str, Any]:
        return dict(self.call("stats")["stats"])

    def flush(self, timeout: float) -> bool:
        return bool(self.call("flush", timeout=timeout)["ok"])

    def close(self, timeout: float) -> bool:
        return bool(self.call("close", timeout=timeout)["ok"])

    def __enter__(self) -> Producer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.kill()

    def exit_without_close(self, timeout: float = 60) -> dict[str, Any]:
        """Leave through sys.exit (the shipper's atexit hook runs); its stats after that."""
        self.call("exit")
        last = self._read()
        assert self.wait(timeout) == 0
        return dict(last["stats"])

    def wait(self, timeout: float = 60) -> int:
        """The exit status; past `timeout`, the producer's thread stacks are dumped to the
        test's stderr (SIGUSR1, `faulthandler`) before the failure, to show where it hangs."""
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            if self.proc.poll() is None:
                os.kill(self.proc.pid, signal.SIGUSR1)
                time.sleep(2.0)  # the dump is written by the child's signal handler
            raise AssertionError(
                f"the producer (pid {self.proc.pid}) did not end within {timeout:g} s; "
                "its threads' stacks are in the captured stderr"
            ) from None

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(30)


class KillableNode:
    """A local node the scenarios may SIGKILL and restart (never a node they did not start)."""

    def __init__(self, node: devnode.LocalNode) -> None:
        self.node = node
        self.url = node.url

    def kill(self) -> None:
        pid = self.node.pid()
        assert pid is not None, "the node is not running"
        os.kill(pid, signal.SIGKILL)
        while alive(pid):
            time.sleep(0.05)

    def start(self) -> None:
        self.node.start()
