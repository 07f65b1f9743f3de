"""Least-privilege roles on the secured node: a user with only predwatch_shipper can ship,
and nothing more (file realm: the zip's native realm cannot store users)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import elasticsearch
import pytest

from predwatch import es as es_mod
from predwatch.config import ESConfig
from predwatch.devnode import users as devnode_users
from predwatch.roles import COMPONENTS, load_roles
from predwatch.shipper import Shipper


@pytest.fixture(scope="module")
def users(secured_node: Any) -> dict[str, ESConfig]:
    """predwatch's roles installed, and one user per role (plus elastic as admin)."""
    creds = secured_node.credentials()
    roles = load_roles()
    devnode_users.add_roles(secured_node, roles)
    out = {
        "admin": ESConfig(
            url=secured_node.url,
            username=creds["username"],
            password=creds["password"],
            ca_cert=creds["ca_cert"],
        )
    }
    for role in ("predwatch_shipper", "predwatch_analyzer"):
        name, password = f"t_{role}_{uuid.uuid4().hex[:6]}", uuid.uuid4().hex
        devnode_users.add_user(secured_node, name, password, [role])
        out[role] = ESConfig(
            url=secured_node.url, username=name, password=password, ca_cert=creds["ca_cert"]
        )
    return out


@pytest.fixture
def model(users: dict[str, ESConfig]) -> Iterator[str]:
    name = f"t_roles_{uuid.uuid4().hex[:8]}"
    yield name
    admin = es_mod.client(users["admin"])
    found = admin.options(ignore_status=404).indices.get(index=f"predwatch-*-{name}*")
    for index in found.body if found.meta.status == 200 else {}:
        admin.indices.delete(index=index)


def _status(fn: Any) -> int:
    try:
        fn()
    except elasticsearch.ApiError as exc:
        return int(exc.meta.status)
    return 200


class TestRoleAsset:
    def test_every_component_has_a_role(self) -> None:
        """The asset defines exactly the documented roles, each with a description."""
        roles = load_roles()
        assert set(roles) == set(COMPONENTS)
        assert all(r["description"] for r in roles.values())


class TestShipperRole:
    def test_ships_and_nothing_more(self, users: dict[str, ESConfig], model: str) -> None:
        """predwatch_shipper delivers every record, and cannot read, delete or administer."""
        shipper = Shipper(
            model,
            "1",
            es_config=users["predwatch_shipper"],
            handle_sigterm=False,
            flush_interval=0.1,
        )
        try:
            for i in range(20):
                shipper.log_prediction({"x": float(i), "c": "a"}, prediction=0.1 * i)
            assert shipper.flush(60)
            stats = shipper.stats()
        finally:
            shipper.close(timeout=5)
        assert stats["acked"] >= 20 and stats["dead_lettered"] == 0, stats
        assert stats["last_error"] is None, stats

        admin = es_mod.client(users["admin"])
        pattern = f"predwatch-predictions-{model}-*"
        admin.indices.refresh(index=pattern)
        assert admin.count(index=pattern)["count"] == 20

        es = es_mod.client(users["predwatch_shipper"])
        index = next(iter(admin.indices.get(index=pattern).body))
        forbidden = {
            "search predictions": lambda: es.search(index=pattern),
            "get a prediction": lambda: es.get(index=index, id="x"),
            "delete the index": lambda: es.indices.delete(index=index),
            "overwrite a prediction": lambda: es.index(index=index, id="y", document={}),
            "read baselines": lambda: es.search(index="predwatch-baselines"),
            "write drift results": lambda: es.index(index=f"predwatch-drift-{model}", document={}),
            "cluster health": lambda: es.cluster.health(),
            "template": lambda: es.indices.put_index_template(name="t", index_patterns=["t*"]),
        }  # fmt: skip
        answers = {what: _status(call) for what, call in forbidden.items()}
        assert answers == dict.fromkeys(forbidden, 403)


class TestAnalyzerRole:
    def test_reads_but_cannot_delete_or_ship(self, users: dict[str, ESConfig], model: str) -> None:
        """predwatch_analyzer reads predictions and writes drift results, never deletes."""
        admin = es_mod.client(users["admin"])
        index = f"predwatch-predictions-{model}-2026.01.01"
        admin.index(index=index, id="p1", document={"@timestamp": "2026-01-01T00:00:00Z"})
        admin.indices.refresh(index=index)
        es = es_mod.client(users["predwatch_analyzer"])
        assert es.count(index=f"predwatch-predictions-{model}-*")["count"] == 1
        drift = f"predwatch-drift-{model}"
        assert _status(lambda: es.index(index=drift, document={"t": time.time()})) == 200
        assert _status(lambda: es.indices.delete(index=index)) == 403
        assert _status(lambda: es.index(index=index, id="p2", document={})) == 403
