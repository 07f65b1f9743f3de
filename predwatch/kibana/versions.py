"""The saved-object versions each supported Kibana line imports. Pure.

Kibana's `_import` refuses an object whose `typeMigrationVersion` is newer than the newest
migration or model version its registration of that type knows ("belongs to a more recent
version of Kibana"), and one whose `coreMigrationVersion` is newer than Kibana itself; older
ones it migrates forward. predwatch therefore writes ONE set of objects, with versions every
supported line knows, and `check` proves it against the table below (read from Kibana's
saved-object type registrations; a model version N is written `10.N.0`):

- dashboard: model versions 1-2 in 8.19 (`src/plugins/dashboard/server/dashboard_saved_object`,
  schema v2 adds `controlGroupInput.showApplySelections`); 9.x adds 3 (`sections`) and 4
  (`accessControl`), so 9.0 is given the 8.19 value.
- search: model versions 1-5 in 8.19 (`src/plugins/saved_search/server/saved_objects/schema.ts`,
  v5 adds `density`); 9.x adds 6 (tabs).
- lens: migrations up to 8.9.0 in both lines (the Lens attribute format predwatch writes:
  `formBased` datasource, `state.visualization`, layer references).
- index-pattern: migrations up to 8.0.0 in both lines.
Attributes are the subset both lines read (no dashboard `sections`, no search tabs).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

# The oldest release of each supported line: what it knows is what every later one knows.
KIBANA_LINES: Mapping[str, Mapping[str, str]] = {
    "8.19": {
        "dashboard": "10.2.0",
        "search": "10.5.0",
        "lens": "8.9.0",
        "index-pattern": "8.0.0",
    },
    "9.0": {
        "dashboard": "10.2.0",
        "search": "10.5.0",
        "lens": "8.9.0",
        "index-pattern": "8.0.0",
    },
}


def _key(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split("."))


def check(objects: Sequence[Mapping[str, Any]], line: str) -> list[str]:
    """Why Kibana `line` (a key of KIBANA_LINES) would refuse to import `objects`."""
    known = KIBANA_LINES[line]
    problems = []
    for o in objects:
        name = f"{o.get('type')}:{o.get('id')}"
        newest = known.get(str(o.get("type")))
        if newest is None:
            problems.append(f"{name}: type unknown to the Kibana {line} table")
            continue
        tmv = o.get("typeMigrationVersion")
        if not isinstance(tmv, str) or _key(tmv) > _key(newest):
            problems.append(f"{name}: typeMigrationVersion {tmv} is newer than {line}'s {newest}")
        cmv = o.get("coreMigrationVersion")
        if not isinstance(cmv, str) or _key(cmv) > _key(f"{line}.0"):
            problems.append(f"{name}: coreMigrationVersion {cmv} is newer than Kibana {line}")
    return problems
