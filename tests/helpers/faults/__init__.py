"""Fault injection against the real node: a switchable HTTP proxy, accounting checks and a
shipper in a subprocess (tests/integration/shipper/faults uses them)."""
