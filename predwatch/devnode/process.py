"""Processes and files of a local node: ports and homes, pid checks that survive pid reuse,
the launcher, the node's system user when run by root, and files private from creation."""

from __future__ import annotations

import contextlib
import os
import random
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from predwatch.devnode.download import cache_dir
from predwatch.errors import LocalNodeError

NODE_USER = "predwatch-es"


def default_home(port: int) -> Path:
    return cache_dir() / "nodes" / str(port)


def temporary_home(prefix: str = "node") -> Path:
    """A new folder for a throw-away node (tests, benchmarks) that the node user can reach.

    Not under pytest's tmp_path: pytest resets /tmp/pytest-of-<user> to 0700 when a session
    starts, which would lock the node user out of a node another session is running."""
    home = Path(tempfile.mkdtemp(prefix=f"predwatch-{prefix}-"))
    home.chmod(0o755)
    return home


def free_port() -> int:
    """A port free now, below the kernel's ephemeral (source-port) range when there is room.

    Binding port 0 hands out a port of the ephemeral range, which any outgoing connection may
    take as its source port. A client retrying a stopped node on such a port can even connect
    to itself (TCP simultaneous open: source port = destination port) and then holds the
    port, so the node cannot be restarted on it. Ports below the range are never source ports.
    """
    low = ephemeral_low()
    pick = random.SystemRandom()  # independent of any seeded `random` of the caller
    if low > 2048:
        for _ in range(100):
            port = pick.randrange(max(1024, low - 12000), low)
            if _bindable(port):
                return port
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def ephemeral_low(path: str = "/proc/sys/net/ipv4/ip_local_port_range") -> int:
    """The first port of the kernel's ephemeral range (32768 when it cannot be read)."""
    try:
        return int(Path(path).read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def _bindable(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return not port_in_use(port)


def port_in_use(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


@contextlib.contextmanager
def private_files() -> Iterator[None]:
    """Files created inside are 0600 and folders 0700 (by anyone: this process and the
    tools it runs). The umask is process-wide: used only while a node is being created."""
    old = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(old)


def write_private(path: Path, text: str) -> None:
    """Write `text` to `path`, which is 0600 from its creation (an existing file is replaced)."""
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)


def run_launcher(cmd: list[str], **kwargs: Any) -> subprocess.CompletedProcess[bytes]:
    """Run `elasticsearch -d`, which returns once the node has started (or failed)."""
    try:
        return subprocess.run(cmd, **kwargs)
    except subprocess.TimeoutExpired:
        raise LocalNodeError(
            f"Elasticsearch did not finish starting within {kwargs.get('timeout', 0):.0f}s "
            "(a busy machine?); run the command again, it continues where it stopped"
        ) from None


def run(cmd: list[str], env: dict[str, str], stdin: str | None = None) -> None:
    res = subprocess.run(cmd, env=env, input=stdin, capture_output=True, text=True, check=False)
    if res.returncode != 0:
        raise LocalNodeError(f"{Path(cmd[0]).name} failed: {(res.stderr or res.stdout)[-300:]}")


def ensure_user(name: str) -> None:
    if subprocess.run(["id", "-u", name], capture_output=True, check=False).returncode == 0:
        return
    res = subprocess.run(
        ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
        capture_output=True,
        text=True,
        check=False,
    )
    if res.returncode != 0:
        raise LocalNodeError(f"could not create the system user {name}: {res.stderr.strip()}")


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie child is not alive
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def is_our_es(pid: int, home: Path) -> bool:
    """True when `pid` is an Elasticsearch whose config is in `home` (guards pid reuse)."""
    if not alive(pid):
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        environ = Path(f"/proc/{pid}/environ").read_bytes().decode(errors="replace")
    except OSError:
        return True  # no /proc (not Linux): trust the pidfile
    return "org.elasticsearch" in cmdline and str(home / "config") in (cmdline + environ)


def tail(path: Path, n: int = 3) -> str:
    try:
        lines = [ln for ln in path.read_text(errors="replace").splitlines() if ln.strip()]
    except OSError:
        return ""
    return " | ".join(lines[-n:])[-500:]
