"""Keep credentials out of everything predwatch shows: URLs with userinfo and known secrets.

`split_userinfo` moves `user:password@` out of a URL at parse time (config does it, so no
client, repr, log line or error message downstream ever holds a URL with a password);
`redact_url` / `redact_text` are the second line of defence for text that mentions URLs
predwatch did not parse itself (client exception messages, user input echoed back).
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit, urlunsplit

# scheme://userinfo@  (userinfo: anything up to the first @ that is not a /, ? or #)
_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>[^/?#@\s]*)@")
MASK = "***"


def split_userinfo(url: str) -> tuple[str, str | None, str | None]:
    """`(url without userinfo, username, password)`; username/password percent-decoded, None
    when absent. Raises ValueError for a URL whose host or port cannot be parsed."""
    parts = urlsplit(url)
    _ = parts.port  # ValueError for a port that is not a number in 0-65535
    if "@" not in parts.netloc:
        return url, None, None
    userinfo, _, hostport = parts.netloc.rpartition("@")
    user, sep, password = userinfo.partition(":")
    clean = urlunsplit(parts._replace(netloc=hostport))
    return clean, unquote(user) or None, unquote(password) if sep else None


def redact_url(url: str) -> str:
    """`url` with any `user:password@` replaced by `***@` (the host stays visible)."""
    return redact_text(url)


def redact_text(text: str, secrets: tuple[str | None, ...] = ()) -> str:
    """`text` with URL userinfo and each non-empty secret in `secrets` replaced by ***."""
    text = _USERINFO.sub(lambda m: f"{m.group('scheme')}{MASK}@", text)
    for secret in secrets:
        if secret:
            text = text.replace(secret, MASK)
    return text
