"""When this worker routes the deployment document (see `_deployment` for its content):
once per UTC day, after Elasticsearch first answered, prepared on its own thread."""

from __future__ import annotations

import time

from ._deployment import utc_day
from ._routing import Routing
from ._threads import start_thread


class DeploymentSchedule(Routing):
    """Routes today's deployment document once, like any record (an internal one)."""

    def _deployment_due(self) -> bool:
        dep = self.deployment
        if dep is None or dep.state == "failed" or not self.alive:
            return False
        day = utc_day(time.time())
        return self._answered and self._dep_day != day and dep.recorded_day != day

    def _deployment_step(self) -> None:
        """Route today's deployment document once (the environment is read on a thread),
        after Elasticsearch first answered this worker: a process that never reaches it
        (down, wrong URL or credentials) spools only its predictions."""
        dep = self.deployment
        if dep is None or dep.state == "failed":
            return
        now = time.time()
        day = utc_day(now)
        if self._dep_day == day:
            return
        if dep.recorded_day == day:  # recorded by this shipper before a fork or restart
            self._dep_day = day
            return
        if not dep.ready:
            if self._dep_thread is None:
                self._dep_thread = start_thread(
                    self._prepare_deployment, "predwatch-shipper-deployment"
                )
            return
        if not self._answered:
            return
        payload = dep.payload(now)
        # One step under the lock: _idle() sees the document either due or pending.
        with self._state:
            self._internal += 1
            self._dep_day = day
            self._route([(now, payload)])

    def _prepare_deployment(self) -> None:
        dep = self.deployment
        try:
            if dep is not None:
                dep.prepare()
        except Exception as exc:
            self._deployment_failed(exc)
        finally:
            self.wake.set()

    def _deployment_failed(self, exc: Exception) -> None:
        if self.deployment is not None:
            self.deployment.state = "failed"
        self._report("deployment", f"predwatch cannot build the deployment document: {exc!r}")
        self._notify()
