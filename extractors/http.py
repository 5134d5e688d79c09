"""One HTTP session factory for every source: timeouts, retries, rate limits, statistics.

Retriable: connection errors, timeouts, 5xx, truncated or malformed JSON bodies, and rate
limits (each source says how long to wait through its ``RateLimitPolicy``); when they outlast
every attempt the error is ``transient``. Fatal: 401, 403, 404 and other 4xx, raised as
:class:`ExtractError` subclasses. An error's text summarises the response (status and the
API's own error fields), never its raw body: a gateway that echoes request headers would put
the credential there. The client remembers its credentials so that nothing the project writes
repeats them (:mod:`platform_kpis.redact`).
"""

from __future__ import annotations

import email.utils
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import urlsplit

import requests

from extractors.errors import AuthError, ExtractError, ForbiddenError, NotFoundError
from platform_kpis.redact import logger, redact, remember_header

log = logger(__name__)


@dataclass
class RequestStats:
    requests: int = 0
    retries: int = 0
    throttled_seconds: float = 0.0
    not_modified: int = 0

    def snapshot(self) -> RequestStats:
        return RequestStats(self.requests, self.retries, self.throttled_seconds, self.not_modified)

    def since(self, before: RequestStats) -> RequestStats:
        return RequestStats(
            self.requests - before.requests,
            self.retries - before.retries,
            self.throttled_seconds - before.throttled_seconds,
            self.not_modified - before.not_modified,
        )


class RateLimitPolicy(Protocol):
    def wait_seconds(self, response: requests.Response, attempt: int) -> float | None:
        """Seconds to wait before retrying, or None when the response is no rate limit."""


@dataclass
class RetryPolicy:
    max_attempts: int = 6
    backoff_base: float = 1.0
    backoff_max: float = 60.0
    max_rate_limit_waits: int = 30
    timeout: tuple[float, float] = (10.0, 60.0)

    def backoff(self, attempt: int) -> float:
        return min(self.backoff_max, self.backoff_base * (2 ** (attempt - 1)))


@dataclass
class HttpClient:
    """A requests session bound to one API. ``credential_name`` is the environment variable
    named in a 401 message, so the user knows which credential to fix."""

    source: str
    base_url: str
    auth_headers: Mapping[str, str] = field(repr=False)
    rate_limit: RateLimitPolicy
    credential_name: str
    default_headers: Mapping[str, str] = field(default_factory=dict)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    sleep: Callable[[float], None] = time.sleep
    stats: RequestStats = field(default_factory=RequestStats)
    server_time: datetime | None = None

    def __post_init__(self) -> None:
        self.base_url = self.base_url.rstrip("/")
        self._session = requests.Session()
        self._session.headers.update(self.default_headers)
        self._session.headers.update(self.auth_headers)
        for value in self.auth_headers.values():
            remember_header(value)

    def url(self, path_or_url: str) -> str:
        if path_or_url.startswith(("http://", "https://")):
            return path_or_url
        return f"{self.base_url}/{path_or_url.lstrip('/')}"

    def get(
        self,
        path_or_url: str,
        params: Mapping[str, Any] | None = None,
        *,
        stream: str | None = None,
        headers: Mapping[str, str] | None = None,
        allow: tuple[int, ...] = (),
    ) -> requests.Response:
        """GET with retries. Statuses in ``allow`` (e.g. 304, 404) are returned, not raised."""
        url = self.url(path_or_url)
        shown = _safe_url(url)
        attempt = 0
        throttles = 0
        while True:
            attempt += 1
            self.stats.requests += 1
            try:
                resp = self._session.get(
                    url, params=params, headers=headers, timeout=self.retry.timeout
                )
            except (
                requests.ConnectionError,
                requests.Timeout,
                requests.exceptions.ChunkedEncodingError,
            ) as exc:
                self._retry_or_raise(attempt, stream, f"{type(exc).__name__} on GET {shown}")
                continue
            self._note_date(resp)
            if resp.status_code in allow:
                return resp
            wait = self.rate_limit.wait_seconds(resp, throttles + 1)
            if wait is not None:
                throttles += 1
                if throttles > self.retry.max_rate_limit_waits:
                    raise ExtractError(
                        f"still rate limited after {throttles - 1} waits on GET {shown}",
                        source=self.source,
                        stream=stream,
                        transient=True,
                    )
                log.info("%s rate limited on %s; waiting %.1fs", self.source, shown, wait)
                self.stats.retries += 1
                self.stats.throttled_seconds += wait
                self.sleep(wait)
                continue
            if resp.status_code >= 500:
                self._retry_or_raise(attempt, stream, f"{summary(resp)} on GET {shown}")
                continue
            if resp.status_code >= 400:
                raise self._client_error(resp, shown, stream)
            return resp

    def get_json(
        self,
        path_or_url: str,
        params: Mapping[str, Any] | None = None,
        *,
        stream: str | None = None,
        headers: Mapping[str, str] | None = None,
        allow: tuple[int, ...] = (),
    ) -> tuple[requests.Response, Any]:
        """GET and decode JSON; a body that does not parse (a truncated transfer) is retried
        like a 5xx, then reported as malformed. Allowed non-200 statuses decode to None
        when their body is empty."""
        attempt = 0
        while True:
            attempt += 1
            resp = self.get(path_or_url, params, stream=stream, headers=headers, allow=allow)
            if resp.status_code == 304 or (resp.status_code in allow and not resp.content):
                if resp.status_code == 304:
                    self.stats.not_modified += 1
                return resp, None
            try:
                return resp, json.loads(resp.content)
            except ValueError:
                shown = _safe_url(resp.url)
                if attempt >= self.retry.max_attempts:
                    raise ExtractError(
                        f"malformed JSON from GET {shown} after {attempt} attempts",
                        source=self.source,
                        stream=stream,
                        transient=True,
                    ) from None
                self.stats.retries += 1
                self.sleep(self.retry.backoff(attempt))

    def _client_error(self, resp: requests.Response, shown: str, stream: str | None):
        what = f"{summary(resp)} on GET {shown}"
        if resp.status_code == 401:
            return AuthError(
                f"{what}: check {self.credential_name}", source=self.source, stream=stream
            )
        if resp.status_code == 403:
            return ForbiddenError(
                f"{what}: {self.credential_name} may not read this",
                source=self.source,
                stream=stream,
            )
        if resp.status_code == 404:
            return NotFoundError(
                f"{what} (missing, or {self.credential_name} may not see it)",
                source=self.source,
                stream=stream,
            )
        return ExtractError(what, source=self.source, stream=stream)

    def _retry_or_raise(self, attempt: int, stream: str | None, what: str) -> None:
        if attempt >= self.retry.max_attempts:
            raise ExtractError(
                f"{what}, gave up after {attempt} attempts",
                source=self.source,
                stream=stream,
                transient=True,
            )
        self.stats.retries += 1
        self.sleep(self.retry.backoff(attempt))

    def _note_date(self, resp: requests.Response) -> None:
        value = resp.headers.get("Date")
        if value:
            try:
                self.server_time = email.utils.parsedate_to_datetime(value).astimezone(UTC)
            except (TypeError, ValueError):
                pass

    def now(self) -> datetime:
        """The server's clock (its Date header) when known: windows end at the server's
        "now", which keeps a simulator with its own clock and a skewed host honest."""
        return self.server_time or datetime.now(UTC)


def header_float(resp: requests.Response, name: str) -> float | None:
    value = resp.headers.get(name)
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        return None


def _safe_url(url: str) -> str:
    """Scheme, host and path only: query strings may carry cursors we need not print twice,
    and never credentials (all auth travels in headers)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


# The longest API error message an error text repeats; longer ones are cut.
MAX_API_MESSAGE = 200


def summary(resp: requests.Response) -> str:
    """``403 Forbidden`` plus the API's own error fields when the body is JSON: GitHub's
    ``message``, PagerDuty's ``error.code``/``error.message``/``error.errors``, Zendesk's
    ``error`` (a string or ``{title, message}``) and ``description``. Never the raw body."""
    head = f"{resp.status_code} {resp.reason or ''}".strip()
    try:
        body = json.loads(resp.content) if resp.content else None
    except ValueError:
        body = None
    fields = _api_error_fields(body) if isinstance(body, dict) else []
    texts = [" ".join(str(f).split()) for f in fields if f]
    # "404 Not Found (Not Found)" says nothing twice.
    texts = [t for t in texts if t.lower() != (resp.reason or "").lower()]
    said = "; ".join(redact(t)[:MAX_API_MESSAGE] for t in texts)
    return f"{head} ({said})" if said else head


def _api_error_fields(body: dict[str, Any]) -> list[object]:
    fields: list[object] = [body.get("message")]
    error = body.get("error")
    if isinstance(error, dict):  # PagerDuty {code, message, errors}; Zendesk {title, message}
        code = error.get("code")
        fields += [f"code {code}" if code is not None else None, error.get("title")]
        fields += [error.get("message")]
        errors = error.get("errors")
        if isinstance(errors, list):
            fields += [e for e in errors if isinstance(e, str)]
    elif isinstance(error, str):  # Zendesk {error, description}
        fields.append(error)
    fields.append(body.get("description"))
    return fields
