"""Ports for local nodes: free, and outside the kernel's ephemeral (source-port) range."""

from __future__ import annotations

import socket
from pathlib import Path

from predwatch.devnode import process


class TestFreePort:
    def test_below_the_ephemeral_range(self) -> None:
        """Ports handed out lie below the first ephemeral port, so no outgoing connection
        (nor a client connecting to itself) can hold a stopped node's port."""
        low = process.ephemeral_low()
        ports = {process.free_port() for _ in range(20)}
        assert all(1024 <= p < low for p in ports), (low, sorted(ports))

    def test_bindable(self) -> None:
        """The port can be bound right away."""
        port = process.free_port()
        with socket.socket() as s:
            s.bind(("127.0.0.1", port))

    def test_skips_a_taken_port(self) -> None:
        """A listening port is never returned."""
        with socket.socket() as held:
            held.bind(("127.0.0.1", 0))
            held.listen()
            taken = held.getsockname()[1]
            assert not process._bindable(taken)

    def test_unreadable_range(self, tmp_path: Path) -> None:
        """Without /proc the usual Linux default is assumed."""
        assert process.ephemeral_low(str(tmp_path / "missing")) == 32768
        (tmp_path / "range").write_text("40000\t60999\n")
        assert process.ephemeral_low(str(tmp_path / "range")) == 40000
