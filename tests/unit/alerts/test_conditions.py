"""Watcher compare/array_compare semantics reproduced in Python.

Contract tests: checked against predwatch's model of Watcher's conditions, not a running
Watcher."""

from __future__ import annotations

import math

import pytest

from predwatch.alerts.conditions import Check, apply_op, lenient_compare, resolve

pytestmark = pytest.mark.contract

RESPONSE = {
    "hits": {"total": 7},
    "aggregations": {
        "guard": {"buckets": [{"key": "m", "value": {"value": 0.2}}]},
        "lat": {"values": [{"key": 95.0, "value": 1200.0}]},
        "empty": {"buckets": []},
    },
}


class TestResolve:
    def test_maps_and_list_indices(self) -> None:
        """Dot paths walk maps; a numeric part indexes a list, as in ObjectPath."""
        assert resolve("hits.total", RESPONSE) == 7
        assert resolve("aggregations.lat.values.0.value", RESPONSE) == 1200.0

    def test_missing_parts_are_none(self) -> None:
        """Any missing part, a bad index or walking into a scalar gives None."""
        assert resolve("hits.nope.x", RESPONSE) is None
        assert resolve("aggregations.lat.values.3.value", RESPONSE) is None
        assert resolve("aggregations.lat.values.x", RESPONSE) is None
        assert resolve("hits.total.x", RESPONSE) is None


class TestLenientCompare:
    def test_numbers_and_numeric_strings(self) -> None:
        """The configured number decides: a numeric string compares as a number."""
        assert lenient_compare(3, 2.5) == 1
        assert lenient_compare("10", 9) == 1
        assert lenient_compare(2, 2.0) == 0

    def test_uncomparable(self) -> None:
        """None, NaN and non-numeric text against a number never compare."""
        assert lenient_compare(None, 1) is None
        assert lenient_compare(math.nan, 1) is None
        assert lenient_compare("abc", 1) is None

    def test_ops_with_none(self) -> None:
        """gt/lt/eq are false on an uncomparable value; not_eq is true."""
        assert not apply_op("gt", None, 0)
        assert not apply_op("lte", None, 0)
        assert apply_op("not_eq", None, 0)


class TestCheck:
    def test_compare(self) -> None:
        """A compare check reads one path and reports the value it compared."""
        ev = Check("ctx.payload.hits.total", "gt", 5).evaluate(RESPONSE)
        assert (ev.fired, ev.value, ev.enough_data) == (True, 7, True)

    def test_array_compare_some(self) -> None:
        """An array check fires when some element matches, reporting that element's value."""
        check = Check("ctx.payload.aggregations.guard.buckets", "gt", 0.1, "value.value")
        assert check.evaluate(RESPONSE).fired
        assert not Check(check.path, "gt", 0.3, "value.value").evaluate(RESPONSE).fired

    def test_empty_array_means_not_enough_data(self) -> None:
        """An empty bucket list (min_count not reached) never fires and says so."""
        ev = Check("ctx.payload.aggregations.empty.buckets", "gt", 0, "x").evaluate(RESPONSE)
        assert (ev.fired, ev.enough_data) == (False, False)

    def test_array_path_must_be_a_list(self) -> None:
        """An array check on a scalar is an error, as in Watcher."""
        with pytest.raises(ValueError, match="did not evaluate to an array"):
            Check("ctx.payload.hits.total", "gt", 0, "x").evaluate(RESPONSE)

    @pytest.mark.parametrize(
        "check",
        [
            Check("ctx.payload.hits.total", "lte", 0),
            Check("ctx.payload.aggregations.guard.buckets", "lt", 0.5, "value.value"),
        ],
    )
    def test_watcher_round_trip(self, check: Check) -> None:
        """watcher_condition() renders a condition that from_watcher() reads back equal."""
        assert Check.from_watcher(check.watcher_condition()) == check

    def test_watcher_shapes(self) -> None:
        """compare is {path: {op: value}}; array_compare nests value and quantifier."""
        assert Check("ctx.payload.hits.total", "gt", 0).watcher_condition() == {
            "compare": {"ctx.payload.hits.total": {"gt": 0}}
        }
        cond = Check("ctx.payload.a.buckets", "gt", 1.0, "v.value").watcher_condition()
        assert cond == {
            "array_compare": {
                "ctx.payload.a.buckets": {
                    "path": "v.value",
                    "gt": {"value": 1.0, "quantifier": "some"},
                }
            }
        }

    def test_rejects_bad_definitions(self) -> None:
        """Unknown operators and paths outside ctx.payload are refused."""
        with pytest.raises(ValueError):
            Check("ctx.payload.x", "above", 1)
        with pytest.raises(ValueError):
            Check("hits.total", "gt", 1)

    def test_mustache_value(self) -> None:
        """The notification text reads the first element of an array check."""
        check = Check("ctx.payload.aggregations.guard.buckets", "gt", 0.1, "value.value")
        assert check.mustache_value() == "{{ctx.payload.aggregations.guard.buckets.0.value.value}}"
