"""The layout of a local multi-node cluster (no server: nothing is started here)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from predwatch.devnode import LocalNode
from predwatch.devnode.cluster import LocalCluster, cluster_or_node
from predwatch.errors import LocalNodeError


class TestLayout:
    def test_ports_homes_and_discovery(self, tmp_path: Path) -> None:
        """Node i: HTTP port+i, transport port+100+i, home node-<i+1>, every node seeded."""
        c = LocalCluster(home=tmp_path, port=19000, nodes=3)
        assert [n.port for n in c.nodes] == [19000, 19001, 19002]
        assert [n.home.name for n in c.nodes] == ["node-1", "node-2", "node-3"]
        d = c.nodes[1].discovery
        assert d is not None and d.transport_port == 19101
        assert d.seed_hosts == ("127.0.0.1:19100", "127.0.0.1:19101", "127.0.0.1:19102")
        assert d.initial_masters == ("predwatch-19000", "predwatch-19001", "predwatch-19002")
        assert c.url == "http://127.0.0.1:19000,http://127.0.0.1:19001,http://127.0.0.1:19002"

    def test_node_settings_form_a_cluster(self, tmp_path: Path) -> None:
        """A cluster node gets seed hosts and initial masters instead of single-node
        discovery and a random transport port."""
        settings = LocalCluster(home=tmp_path, port=19000).nodes[0]._discovery_settings()
        assert settings["transport.port"] == 19100
        assert "discovery.type" not in settings
        assert len(settings["discovery.seed_hosts"]) == 3
        single = LocalNode(home=tmp_path / "single", port=19000)._discovery_settings()
        assert single == {"transport.port": 0, "discovery.type": "single-node"}

    def test_layout_is_remembered(self, tmp_path: Path) -> None:
        """cluster.json keeps the layout: stop/status need only the home."""
        LocalCluster(home=tmp_path, port=19000, nodes=4, transport_port=29000)._write_layout()
        assert json.loads((tmp_path / "cluster.json").read_text())["nodes"] == 4
        found = cluster_or_node(tmp_path, 1)
        assert isinstance(found, LocalCluster)
        assert [n.port for n in found.nodes] == [19000, 19001, 19002, 19003]
        assert found.nodes[3].discovery is not None
        assert found.nodes[3].discovery.transport_port == 29003
        assert isinstance(cluster_or_node(tmp_path / "other", 1), LocalNode)

    @pytest.mark.parametrize(
        ("kwargs", "needle"),
        [({"nodes": 1}, "2 nodes or more"), ({"transport_port": 19001}, "overlap")],
    )
    def test_invalid(self, tmp_path: Path, kwargs: dict[str, int], needle: str) -> None:
        """Too few nodes, or transport ports on top of HTTP ports, are refused up front."""
        with pytest.raises(LocalNodeError, match=needle):
            LocalCluster(home=tmp_path, port=19000, **kwargs)  # type: ignore[arg-type]


class TestStartCommand:
    def test_security_with_nodes_is_refused_before_anything_starts(self, tmp_path: Path) -> None:
        """`es start --nodes 2 --security`: one error line, exit 2, and no node folder made."""
        from click.testing import CliRunner

        from predwatch.cli import main

        home = tmp_path / "cluster"
        args = ["es", "start", "--nodes", "2", "--security", "--port", "19000", "--home", str(home)]
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 2, result.output
        assert result.output.startswith("error: --security with --nodes is not supported yet")
        assert not home.exists()
