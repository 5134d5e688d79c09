"""Keep credentials out of everything the project writes: exception messages, log records,
the sync status table, failure summaries and webhooks.

Two nets, because neither is enough alone. The credentials this process knows (the HTTP
clients remember theirs; the secret environment variables are read at each call) are
replaced wherever they appear, in whatever context. Patterns catch what the process cannot
know in advance: a proxy echoing an ``Authorization`` header, a ``token=...`` in a URL, a
password in a DSN.
"""

from __future__ import annotations

import logging
import os
import re
import threading

REDACTED = "<redacted>"

# Environment variables whose values are credentials (a webhook URL carries its own key).
SECRET_ENV = (
    "GITHUB_TOKEN",
    "PAGERDUTY_API_TOKEN",
    "ZENDESK_API_TOKEN",
    "PLATFORM_KPIS_PG_DSN",
    "PLATFORM_KPIS_FAILURE_WEBHOOK",
    "DAGSTER_PG_URL",
)

# Shorter values would redact ordinary words; no real credential is this short.
MIN_SECRET_LENGTH = 6

_AUTH_SCHEME = re.compile(r"(?i)\b(Bearer|Basic|Token|Digest)(\s+)([A-Za-z0-9._~+/=:-]{6,})")
_KEY_VALUE = re.compile(
    r"""(?ix)
    (["']?\b(?:proxy-authorization|authorization|x-api-key|api[_-]?key|api[_-]?token
       |access[_-]?token|auth[_-]?token|private-token|x-auth-token|token|password|passwd
       |secret|client[_-]?secret|cookie|set-cookie)\b["']?
     \s*[:=]\s*["']?)
    ([^"'\r\n&,;}\]]+)
    """
)
_URL_PASSWORD = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^/\s:@]+:)([^@\s/]+)(@)")

_known: set[str] = set()
_lock = threading.Lock()


def remember(*values: str | None) -> None:
    """Add credentials this process holds: from now on :func:`redact` removes them."""
    with _lock:
        _known.update(v for v in values if v and len(v) >= MIN_SECRET_LENGTH)


def remember_header(value: str) -> None:
    """An auth header's value and its secret parts: ``Bearer X`` -> X; ``Token token=X`` -> X;
    ``Basic B64`` -> B64, the decoded ``user:password`` and the password."""
    import base64
    import binascii

    scheme, _, credential = value.partition(" ")
    remember(value, credential, credential.removeprefix("token="))
    if scheme.lower() == "basic":
        try:
            pair = base64.b64decode(credential, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return
        remember(pair, pair.partition(":")[2])


def _secrets() -> list[str]:
    env = (os.environ.get(name) for name in SECRET_ENV)
    with _lock:
        values = _known | {v for v in env if v and len(v) >= MIN_SECRET_LENGTH}
    return sorted(values, key=len, reverse=True)  # a longer value may contain a shorter one


def redact(text: str) -> str:
    """``text`` without any known credential or auth-like value."""
    if not text:
        return text
    for secret in _secrets():
        text = text.replace(secret, REDACTED)
    text = _URL_PASSWORD.sub(rf"\g<1>{REDACTED}\g<3>", text)
    text = _AUTH_SCHEME.sub(rf"\g<1>\g<2>{REDACTED}", text)
    return _KEY_VALUE.sub(lambda m: m.group(1) + _keep_redacted(m.group(2)), text)


def _keep_redacted(value: str) -> str:
    # ``Authorization: Bearer [redacted]`` is already safe and says more than one marker.
    return value if REDACTED in value else REDACTED


class RedactingFilter(logging.Filter):
    """Rewrites each record's message (and traceback) through :func:`redact`."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        if record.exc_info:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


_FILTER = RedactingFilter()


def logger(name: str) -> logging.Logger:
    """``logging.getLogger(name)`` with the redacting filter: a logger's filters see only the
    records logged on it, so every project module takes its logger from here."""
    log = logging.getLogger(name)
    if _FILTER not in log.filters:
        log.addFilter(_FILTER)
    return log
