"""The one HTTP client predwatch talks to Kibana with (saved-object import, alerting rules,
connectors). The only Kibana I/O in predwatch; what to send lives with its callers.

Every request carries `kbn-xsrf` (Kibana refuses writes without it), the credentials of the
`KibanaConfig` (API key or user/password) and its CA certificate, and addresses the
config's space (`/s/<space>/api/...` for a space other than `default`). Transport failures
and refusals become one `KibanaError` line that says what to change.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from types import TracebackType
from typing import Any

import requests

from predwatch.config import KibanaConfig
from predwatch.kibana.context import KibanaError

XSRF_VALUE = "true"


class KibanaClient:
    """Requests to one Kibana space; `close()` (or `with`) releases the connections."""

    def __init__(self, cfg: KibanaConfig, session: requests.Session | None = None) -> None:
        self.cfg = cfg
        self._own_session = session is None
        self.session = session or requests.Session()
        self.session.headers["kbn-xsrf"] = XSRF_VALUE
        if cfg.api_key:
            self.session.headers["Authorization"] = f"ApiKey {cfg.api_key}"
        elif cfg.username and cfg.password:
            self.session.auth = (cfg.username, cfg.password)
        if cfg.ca_cert:
            self.session.verify = cfg.ca_cert

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, str] | None = None,
        files: Mapping[str, Any] | None = None,
        allow: Collection[int] = (),
        privilege: str = "",
    ) -> requests.Response:
        """Send `method path` to the config's space. A 2xx answer or one of `allow` is
        returned; any other answer raises KibanaError (`privilege` names what a 403 needs)."""
        cfg = self.cfg
        try:
            resp = self.session.request(
                method,
                cfg.api_url(path),
                json=json,
                params=params,
                files=files,
                timeout=cfg.request_timeout,
            )
        except requests.exceptions.SSLError as exc:
            raise KibanaError(
                f"TLS to Kibana at {cfg.url} failed ({self._short(exc)}); pass --ca-cert with "
                "the CA certificate that signed Kibana's certificate"
            ) from None
        except requests.exceptions.Timeout:
            raise KibanaError(
                f"Kibana at {cfg.url} did not answer within {cfg.request_timeout:g}s"
            ) from None
        except requests.exceptions.ConnectionError:
            raise KibanaError(
                f"Kibana at {cfg.url} could not be reached (connection refused or host "
                "unknown); check the Kibana URL (--url / --kibana-url / PREDWATCH_KIBANA_URL; "
                "Kibana listens on port 5601 by default)"
            ) from None
        except requests.exceptions.RequestException as exc:
            raise KibanaError(
                f"the request to Kibana at {cfg.url} failed: {self._short(exc)}"
            ) from None
        status = resp.status_code
        if status < 400 or status in allow:
            return resp
        message = self.message(resp)
        if status == 401:
            raise KibanaError(
                f"Kibana at {cfg.url} rejected the credentials ({cfg.auth_kind}); check the "
                "credentials: --api-key or --username/--password (the same as for Elasticsearch)"
            )
        if status == 403:
            needs = privilege or "the privilege for it"
            raise KibanaError(
                f"Kibana at {cfg.url} refused {method} {path} for {cfg.auth_kind}: check the "
                f"credentials; the user needs {needs} in space {cfg.space!r} ({message})"
            )
        if status == 404:
            raise KibanaError(
                f"no {method} {path} at {cfg.api_url(path)}: is the URL Kibana (not "
                f"Elasticsearch), and does space {cfg.space!r} exist? ({message})"
            )
        raise KibanaError(f"Kibana at {cfg.url} refused {method} {path}: {status} {message}")

    def message(self, resp: requests.Response) -> str:
        """Kibana's explanation in an answer, on one line, secrets redacted."""
        try:
            body = resp.json()
            if isinstance(body, dict):
                text = str(body.get("message") or body.get("error") or body)
            else:
                text = str(body)
        except ValueError:
            text = resp.text
        return self.cfg.redact(" ".join(text.split())[:300])

    def _short(self, exc: BaseException) -> str:
        text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return self.cfg.redact(text[:200])

    def close(self) -> None:
        if self._own_session:
            self.session.close()

    def __enter__(self) -> KibanaClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
