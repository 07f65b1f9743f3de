"""Several local nodes forming one Elasticsearch cluster on 127.0.0.1 (development, tests).

Node i (0-based) of a cluster whose first HTTP port is P and first transport port T listens
on HTTP P+i and transport T+i (T defaults to P+100, as 9200/9300), lives in
`<home>/node-<i+1>`, and finds the others through `discovery.seed_hosts`; all nodes are
master-eligible and vote in the first election (`cluster.initial_master_nodes`).
`<home>/cluster.json` records the layout, so `stop`/`status` need only the home (or port).
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import requests

from predwatch.devnode.download import DEFAULT_VERSION
from predwatch.devnode.node import START_TIMEOUT, Discovery, LocalNode, NodeInfo
from predwatch.devnode.process import default_home
from predwatch.errors import LocalNodeError

CLUSTER_FILE = "cluster.json"
TRANSPORT_OFFSET = 100
DEFAULT_HEAP = "512m"  # ~0.85 GB resident per node; three fit next to other work on 24 GB
# Three JVMs starting at once on a small machine take several times one node's start.
CLUSTER_START_TIMEOUT = 3 * START_TIMEOUT


@dataclass
class ClusterInfo:
    running: bool  # every node answers
    url: str  # comma-separated: what PREDWATCH_ES_URL takes
    health: str | None  # green | yellow | red, None when no node answers
    nodes: list[NodeInfo]
    version: str
    home: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def is_cluster(home: Path) -> bool:
    return (home / CLUSTER_FILE).exists()


class LocalCluster:
    """`nodes` local nodes forming one cluster: `start()`, `stop()`, `status()`."""

    def __init__(
        self,
        home: Path | None = None,
        port: int = 9200,
        nodes: int = 3,
        transport_port: int | None = None,
        version: str = DEFAULT_VERSION,
        heap: str = DEFAULT_HEAP,
        log: Any = None,
    ) -> None:
        self.home = Path(home) if home else default_home(port)
        saved = self._read_layout()
        if saved:  # an existing cluster keeps its layout and version
            port, nodes = int(saved["port"]), int(saved["nodes"])
            transport_port, version = int(saved["transport_port"]), str(saved["version"])
        if nodes < 2:
            raise LocalNodeError(f"a local cluster has 2 nodes or more, not {nodes}")
        self.port = port
        self.size = nodes
        self.transport_port = transport_port or port + TRANSPORT_OFFSET
        self.version = version
        self.heap = heap
        self.log = log or (lambda msg: None)
        http = [port + i for i in range(nodes)]
        transport = [self.transport_port + i for i in range(nodes)]
        if set(http) & set(transport):
            raise LocalNodeError(
                f"HTTP ports {http[0]}-{http[-1]} and transport ports {transport[0]}-"
                f"{transport[-1]} overlap; pass another --transport-port"
            )
        seeds = tuple(f"127.0.0.1:{t}" for t in transport)
        masters = tuple(f"predwatch-{p}" for p in http)
        self.nodes = [
            LocalNode(
                home=self.home / f"node-{i + 1}",
                port=http[i],
                version=version,
                heap=heap,
                log=self.log,
                discovery=Discovery(transport[i], seeds, masters),
            )
            for i in range(nodes)
        ]

    @property
    def url(self) -> str:
        return ",".join(n.url for n in self.nodes)

    def _read_layout(self) -> dict[str, Any] | None:
        f = self.home / CLUSTER_FILE
        return dict(json.loads(f.read_text())) if f.exists() else None

    def _write_layout(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        self.home.chmod(0o755)
        layout = {
            "nodes": self.size,
            "port": self.port,
            "transport_port": self.transport_port,
            "version": self.version,
        }
        (self.home / CLUSTER_FILE).write_text(json.dumps(layout))

    def health(
        self, params: dict[str, str] | None = None, wait: float = 0.0
    ) -> dict[str, Any] | None:
        """`_cluster/health` from the first node that answers (None: none does); `wait`:
        how long the request may wait for the `wait_for_*` conditions in `params`."""
        for node in self.nodes:
            if node.pid() is None:
                continue
            try:
                r = requests.get(
                    f"{node.url}/_cluster/health", params=params or {}, timeout=wait + 5
                )
            except requests.RequestException:
                continue
            if r.status_code in (200, 408):  # 408: wait_for_* timed out; body still says how
                return dict(r.json())
        return None

    def status(self) -> ClusterInfo:
        infos = [n.status() for n in self.nodes]
        health = self.health() if any(i.pid for i in infos) else None
        return ClusterInfo(
            running=all(i.running for i in infos),
            url=self.url,
            health=str(health["status"]) if health else None,
            nodes=infos,
            version=self.version,
            home=str(self.home),
        )

    def start(self, timeout: float = CLUSTER_START_TIMEOUT) -> ClusterInfo:
        """Start the nodes not running (all at once: none answers before a master is
        elected, which needs a majority), then wait until every node has joined and the
        cluster is green (yellow is reported, not an error: an index may want more
        replicas than there are nodes)."""
        self._write_layout()
        t0 = time.monotonic()
        todo = [n for n in self.nodes if n.pid() is None]
        errors: list[BaseException] = []

        def launch(node: LocalNode) -> None:
            try:
                node.launch(timeout)
            except BaseException as exc:  # reported below, after the other launches end
                errors.append(exc)

        threads = [threading.Thread(target=launch, args=(n,)) for n in todo]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        try:
            if errors:
                raise errors[0]
            for node in todo:
                node.wait_started(timeout - (time.monotonic() - t0))
            self._wait_formed(timeout - (time.monotonic() - t0))
        except BaseException:
            # Never leave half-started nodes behind; nodes that ran before keep running.
            for node in todo:
                node.stop()
            raise
        self.log(f"{self.size} nodes formed a cluster after {time.monotonic() - t0:.1f}s")
        return self.status()

    def _wait_formed(self, timeout: float) -> None:
        deadline = time.monotonic() + max(timeout, 5.0)
        health: dict[str, Any] | None = None
        while time.monotonic() < deadline:
            wait = max(1, min(30, int(deadline - time.monotonic())))
            params = {
                "wait_for_nodes": str(self.size),
                "wait_for_status": "green",
                "timeout": f"{wait}s",
            }
            health = self.health(params, wait)
            if health and int(health.get("number_of_nodes", 0)) == self.size:
                if health.get("status") != "green":
                    self.log(
                        f"cluster is {health.get('status')}: "
                        f"{health.get('unassigned_shards')} shard(s) unassigned"
                    )
                return
            time.sleep(0.5)
        seen = health.get("number_of_nodes") if health else "no"
        raise LocalNodeError(
            f"the local cluster did not form in time ({seen} of {self.size} nodes joined); "
            f"see the logs under {self.home}/node-*/logs"
        )

    def stop(self, timeout: float = 60.0) -> list[int]:
        """Stop exactly the processes in the nodes' pidfiles; returns their pids."""
        stopped = []
        for node in self.nodes:
            pid = node.pid()
            if node.stop(timeout):
                stopped.append(pid or 0)
        return stopped


def cluster_or_node(home: Path | None, port: int, log: Any = None) -> LocalCluster | LocalNode:
    """The cluster recorded at `home` (default: the port's home), else the single node."""
    where = Path(home) if home else default_home(port)
    if is_cluster(where):
        return LocalCluster(home=where, port=port, log=log)
    return LocalNode(home=where, port=port, log=log)
