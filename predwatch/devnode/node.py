"""A local Elasticsearch node for development and tests, without Docker.

Fetches `org.elasticsearch.distribution.integ-test-zip:elasticsearch:<version>:zip` from
Maven Central (with `mvn dependency:copy`, or a plain HTTPS download where Maven is absent),
unpacks it once into a cache, and runs it on 127.0.0.1 with a Java >= 21 found on the
machine. Elasticsearch refuses to run as root: when started by root the node runs as the
unprivileged system user `predwatch-es` (created if missing), which owns the node's folders.

A node lives in a home folder: config/, data/, logs/, tmp/, run/es.pid and node.json.
On its own it is a single-node cluster; `cluster.LocalCluster` starts several as one
cluster (each given a `Discovery`).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import requests

from predwatch.devnode.download import DEFAULT_VERSION, fetch, find_java, min_java
from predwatch.devnode.process import (
    NODE_USER,
    alive,
    default_home,
    ensure_user,
    is_our_es,
    port_in_use,
    private_files,
    run,
    run_launcher,
    tail,
    write_private,
)
from predwatch.errors import LocalNodeError

START_TIMEOUT = 180.0
ELASTIC_USER = "elastic"


@dataclass(frozen=True)
class Discovery:
    """How a node of a local multi-node cluster finds the others (all on 127.0.0.1)."""

    transport_port: int
    seed_hosts: tuple[str, ...]  # "127.0.0.1:<transport port>" of every node
    initial_masters: tuple[str, ...]  # node names voting in the first election


@dataclass
class NodeInfo:
    running: bool
    url: str
    pid: int | None
    version: str
    home: str
    security: bool
    credentials_file: str | None = None
    ca_cert: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class LocalNode:
    """One local node: `start()`, `stop()`, `status()`. Data survives stop/start."""

    def __init__(
        self,
        home: Path | None = None,
        port: int = 9200,
        version: str = DEFAULT_VERSION,
        security: bool = False,
        heap: str = "1g",
        log: Any = None,
        discovery: Discovery | None = None,
    ) -> None:
        self.port = port
        self.home = Path(home) if home else default_home(port)
        self.version = version
        self.security = security
        self.heap = heap
        self.log = log or (lambda msg: None)
        self.discovery = discovery
        saved = self._read_state()
        if saved:  # an existing node keeps the version and security it was created with
            self.version = saved.get("version", version)
            self.security = bool(saved.get("security", security))

    # paths
    @property
    def name(self) -> str:
        return f"predwatch-{self.port}"

    @property
    def url(self) -> str:
        return f"{'https' if self.security else 'http'}://127.0.0.1:{self.port}"

    @property
    def pidfile(self) -> Path:
        return self.home / "run" / "es.pid"

    @property
    def credentials_file(self) -> Path:
        return self.home / "credentials.json"

    @property
    def ca_cert(self) -> Path:
        return self.home / "config" / "certs" / "ca" / "ca.crt"

    def credentials(self) -> dict[str, Any]:
        """A secured node's username, password, api_key (None where unsupported), ca_cert."""
        if not self.credentials_file.exists():
            raise LocalNodeError(f"{self.home} is not a secured node (no credentials.json)")
        return dict(json.loads(self.credentials_file.read_text()))

    def exists(self) -> bool:
        """True when a node was created in this home (by `start`)."""
        return (self.home / "node.json").exists()

    def _read_state(self) -> dict[str, Any] | None:
        f = self.home / "node.json"
        return dict(json.loads(f.read_text())) if f.exists() else None

    # lifecycle
    def pid(self) -> int | None:
        try:
            pid = int(self.pidfile.read_text().strip())
        except (OSError, ValueError):
            return None
        return pid if is_our_es(pid, self.home) else None

    def status(self) -> NodeInfo:
        pid = self.pid()
        running = pid is not None and self._answers()
        return NodeInfo(
            running=running,
            url=self.url,
            pid=pid,
            version=self.version,
            home=str(self.home),
            security=self.security,
            credentials_file=str(self.credentials_file) if self.security else None,
            ca_cert=str(self.ca_cert) if self.security else None,
        )

    def start(self, timeout: float = START_TIMEOUT) -> NodeInfo:
        """Start the node and wait until it answers. Already running: return its status."""
        current = self.status()
        if current.pid is not None:
            if not current.running:
                self._wait(timeout)
            return self.status()
        t0 = time.monotonic()
        self.launch(timeout)
        self.wait_started(timeout - (time.monotonic() - t0))
        self.log(f"Elasticsearch answered after {time.monotonic() - t0:.1f}s")
        return self.status()

    def launch(self, timeout: float = START_TIMEOUT) -> None:
        """Prepare the home and start the process, without waiting for it to answer (the
        nodes of a cluster answer only once enough of them run to elect a master)."""
        ports = [self.port] + ([self.discovery.transport_port] if self.discovery else [])
        for port in ports:
            if port_in_use(port):
                raise LocalNodeError(
                    f"port {port} is already in use by another process; pass --port"
                )
        dist = fetch(self.version, self.log)
        java = find_java(min_java(self.version))
        self._prepare(dist, java)
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "ES_JAVA_HOME": str(java),
            "ES_PATH_CONF": str(self.home / "config"),
            "ES_TMPDIR": str(self.home / "tmp"),
            "ES_JAVA_OPTS": f"-Xms{self.heap} -Xmx{self.heap}",
            "HOME": str(self.home),
            "LANG": "C.UTF-8",
        }
        cmd = [str(dist / "bin" / "elasticsearch"), "-d", "-p", str(self.pidfile)]
        self.log(f"starting Elasticsearch {self.version} on {self.url} (home {self.home}) ...")
        out = self.home / "logs" / "startup.out"
        with out.open("ab") as sink:
            user = NODE_USER if os.geteuid() == 0 else None
            res = run_launcher(
                cmd,
                env=env,
                stdout=sink,
                stderr=subprocess.STDOUT,
                user=user,
                group=user,
                extra_groups=[] if user else None,
                cwd=self.home,
                check=False,
                timeout=timeout,
            )
        if res.returncode != 0:
            raise LocalNodeError(
                f"Elasticsearch did not start (exit {res.returncode}); see {out} and "
                f"{self.home / 'logs'}: {tail(out)}"
            )

    def wait_started(self, timeout: float) -> None:
        """Wait until the launched node answers (then finish a secured node's set-up)."""
        try:
            self._wait(timeout)
            if self.security and not self.credentials_file.exists():
                self._create_api_key()
        except BaseException:
            self.stop()  # never leave a half-started node behind
            raise

    def stop(self, timeout: float = 60.0) -> bool:
        """Stop exactly the process in this home's pidfile. False when it was not running."""
        pid = self.pid()
        if pid is None:
            self.pidfile.unlink(missing_ok=True)
            return False
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and alive(pid):
            time.sleep(0.2)
        if alive(pid):
            os.kill(pid, signal.SIGKILL)
            while alive(pid):
                time.sleep(0.1)
        self.pidfile.unlink(missing_ok=True)
        return True

    # internals
    def _prepare(self, dist: Path, java: Path) -> None:
        conf = self.home / "config"
        first = not conf.exists()
        for sub in ("data", "logs", "tmp", "run"):
            (self.home / sub).mkdir(parents=True, exist_ok=True)
        if first:
            shutil.copytree(dist / "config", conf)
        settings: dict[str, Any] = {
            "cluster.name": "predwatch-dev",
            "node.name": self.name,
            "network.host": "127.0.0.1",
            "http.port": self.port,
            **self._discovery_settings(),
            "path.data": str(self.home / "data"),
            "path.logs": str(self.home / "logs"),
            # dev caches often sit on nearly full disks; don't flip indices read-only
            "cluster.routing.allocation.disk.threshold_enabled": False,
            "action.destructive_requires_name": False,
            "xpack.security.enabled": self.security,
        }
        if self.security:
            settings.update(
                {
                    "xpack.security.http.ssl.enabled": True,
                    "xpack.security.http.ssl.key": "certs/node/node.key",
                    "xpack.security.http.ssl.certificate": "certs/node/node.crt",
                    "xpack.security.http.ssl.certificate_authorities": "certs/ca/ca.crt",
                    "xpack.security.authc.api_key.enabled": True,
                }
            )
            if first or not (conf / "certs").exists():
                self._make_security(dist, java, conf)
            for key in (conf / "certs").glob("*/*.key"):  # homes made by older versions
                os.chmod(key, 0o600)
        (conf / "elasticsearch.yml").write_text(
            "".join(f"{k}: {json.dumps(v)}\n" for k, v in settings.items())
        )
        state: dict[str, Any] = {
            "version": self.version,
            "security": self.security,
            "port": self.port,
        }
        if self.discovery:
            state["discovery"] = asdict(self.discovery)
        (self.home / "node.json").write_text(json.dumps(state))
        if os.geteuid() == 0:
            ensure_user(NODE_USER)
            for sub in ("config", "data", "logs", "tmp", "run"):
                subprocess.run(["chown", "-R", NODE_USER, str(self.home / sub)], check=True)
            os.chmod(self.home, 0o755)
            for parent in self.home.parents:  # the node user must reach its home
                if parent == Path("/"):
                    break
                if not os.stat(parent).st_mode & 0o001:
                    os.chmod(parent, os.stat(parent).st_mode | 0o011)

    def _discovery_settings(self) -> dict[str, Any]:
        d = self.discovery
        if d is None:
            return {"transport.port": 0, "discovery.type": "single-node"}
        return {
            # A cluster of its own: another predwatch-dev cluster on the machine must not
            # be joined by accident (seed hosts are explicit, and the name differs).
            "cluster.name": f"predwatch-dev-{d.initial_masters[0].removeprefix('predwatch-')}",
            "transport.port": d.transport_port,
            "discovery.seed_hosts": list(d.seed_hosts),
            "cluster.initial_master_nodes": list(d.initial_masters),
        }

    def _make_security(self, dist: Path, java: Path, conf: Path) -> None:
        # Private keys, the keystore and the password are 0600 from the moment they exist
        # (umask while they are made), never world-readable until a later chmod.
        with private_files():
            self._make_secrets(dist, java, conf)
        certs = conf / "certs"
        for folder in (certs, certs / "ca", certs / "node"):
            os.chmod(folder, 0o755)
        for cert in (certs / "ca" / "ca.crt", certs / "node" / "node.crt"):
            os.chmod(cert, 0o644)  # certificates are public; clients need the CA's
        for realm_file in ("users", "users_roles"):  # password hashes once users are added
            if (conf / realm_file).exists():
                os.chmod(conf / realm_file, 0o600)  # still empty here

    def _make_secrets(self, dist: Path, java: Path, conf: Path) -> None:
        env = {**os.environ, "ES_JAVA_HOME": str(java), "ES_PATH_CONF": str(conf)}
        certs = conf / "certs"
        certs.mkdir(exist_ok=True)
        tool = str(dist / "bin" / "elasticsearch-certutil")
        ca_zip, node_zip = certs / "ca.zip", certs / "node.zip"
        run([tool, "ca", "--pem", "--silent", "--days", "3650", "--out", str(ca_zip)], env)
        zipfile.ZipFile(ca_zip).extractall(certs)
        run(
            [
                tool,
                "cert",
                "--pem",
                "--silent",
                "--days",
                "3650",
                "--name",
                "node",
                "--ca-cert",
                str(certs / "ca" / "ca.crt"),
                "--ca-key",
                str(certs / "ca" / "ca.key"),
                "--ip",
                "127.0.0.1",
                "--dns",
                "localhost",
                "--out",
                str(node_zip),
            ],
            env,
        )
        zipfile.ZipFile(node_zip).extractall(certs)
        for archive in (ca_zip, node_zip):  # they hold the private keys a second time
            archive.unlink()
        password = os.urandom(12).hex()
        keystore = str(dist / "bin" / "elasticsearch-keystore")
        if not (conf / "elasticsearch.keystore").exists():
            run([keystore, "create"], env)
        run([keystore, "add", "-x", "-f", "bootstrap.password"], env, stdin=password)
        write_private(self.home / ".bootstrap", password)

    def _create_api_key(self) -> None:
        """Write credentials.json: the `elastic` password and, where possible, an API key.

        API keys live in the `.security` index, whose mapping needs the analysis-common
        module that the integ-test-zip lacks; there the key is null and the reason recorded
        (basic auth and TLS still work for real; a full distribution gets a key)."""
        password = (self.home / ".bootstrap").read_text().strip()
        resp = requests.post(
            f"{self.url}/_security/api_key",
            json={"name": "predwatch-dev"},
            auth=(ELASTIC_USER, password),
            verify=str(self.ca_cert),
            timeout=30,
        )
        creds: dict[str, Any] = {
            "username": ELASTIC_USER,
            "password": password,
            "api_key": None,
            "ca_cert": str(self.ca_cert),
            "url": self.url,
        }
        if resp.status_code == 200:
            creds["api_key"] = resp.json()["encoded"]
        else:
            creds["api_key_error"] = f"{resp.status_code}: {resp.text[:300]}"
            self.log(
                "no API key on this distribution (its .security index cannot be created); "
                "use the elastic user"
            )
        write_private(self.credentials_file, json.dumps(creds, indent=2))

    def _answers(self) -> bool:
        try:
            kwargs: dict[str, Any] = {"timeout": 2}
            if self.security:
                kwargs["verify"] = str(self.ca_cert)
                bootstrap = self.home / ".bootstrap"
                if bootstrap.exists():
                    kwargs["auth"] = (ELASTIC_USER, bootstrap.read_text().strip())
            r = requests.get(f"{self.url}/_cluster/health", **kwargs)
            return r.status_code in (200, 401)
        except requests.RequestException:
            return False

    def _wait(self, timeout: float) -> None:
        deadline = time.monotonic() + max(timeout, 5.0)
        while time.monotonic() < deadline:
            if self._answers():
                return
            if self.pid() is None and time.monotonic() > deadline - timeout + 10:
                break
            time.sleep(0.5)
        raise LocalNodeError(
            f"Elasticsearch at {self.url} did not answer in time; see {self.home / 'logs'}"
        )
