"""The fault suite's subprocess producer reports where it hangs instead of only timing out."""

from __future__ import annotations

import pytest

from tests.helpers.faults.faults_check import Producer


def test_wait_past_its_bound_dumps_the_producers_threads(
    capfd: pytest.CaptureFixture[str],
) -> None:
    """A producer that outlives `wait`'s bound fails the test with its threads' stacks on
    stderr (where the shipper's threads and the main thread's line are named)."""
    p = Producer("t_hang", es_url="http://127.0.0.1:9", durability="memory")
    try:
        with pytest.raises(AssertionError, match=r"did not end within 0\.5 s"):
            p.wait(0.5)
    finally:
        p.kill()
    err = capfd.readouterr().err
    assert "Current thread" in err or "Thread 0x" in err
    assert "producer.py" in err
