"""Fixtures of the shipper's unit tests."""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers.shipper_fakes import FakeSink, make_baseline


@pytest.fixture
def sink() -> FakeSink:
    return FakeSink()


@pytest.fixture
def baseline() -> Any:
    return make_baseline()
