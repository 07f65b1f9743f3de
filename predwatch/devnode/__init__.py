"""A local Elasticsearch for development and tests, without Docker (`predwatch es ...`).

A development tool, not part of what predwatch runs in production: nothing outside this
package imports it except the `es` command, the demo's `--start-es`, tests and benchmarks.
`download` gets Elasticsearch and a Java, `process` handles pids, ports and private files,
`node` runs one node, `cluster` several as one cluster, `users` adds file-realm users and
roles to a secured node, `cli` is `predwatch es`.
"""

from predwatch.devnode.cluster import DEFAULT_HEAP, LocalCluster, cluster_or_node, is_cluster
from predwatch.devnode.download import DEFAULT_VERSION, cache_dir, fetch, find_java
from predwatch.devnode.node import Discovery, LocalNode, NodeInfo
from predwatch.devnode.process import (
    default_home,
    free_port,
    port_in_use,
    private_files,
    temporary_home,
    write_private,
)

__all__ = [
    "DEFAULT_HEAP",
    "DEFAULT_VERSION",
    "Discovery",
    "LocalCluster",
    "LocalNode",
    "NodeInfo",
    "cache_dir",
    "cluster_or_node",
    "default_home",
    "fetch",
    "find_java",
    "free_port",
    "is_cluster",
    "port_in_use",
    "private_files",
    "temporary_home",
    "write_private",
]
