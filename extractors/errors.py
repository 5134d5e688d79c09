"""Errors the extractors raise. Messages name source, stream and record, never a secret: each
message passes through :func:`platform_kpis.redact.redact` when the error is made."""

from __future__ import annotations

from platform_kpis.redact import redact


class ExtractError(Exception):
    """An extraction error. ``transient`` when the same request may succeed later (a server
    error, a timeout or a rate limit that outlasted every wait): the orchestrator retries
    those after a pause and fails the others at once."""

    transient = False

    def __init__(
        self,
        message: str,
        *,
        source: str,
        stream: str | None = None,
        record: str | None = None,
        transient: bool | None = None,
    ):
        self.source = source
        self.stream = stream
        self.record = record
        if transient is not None:
            self.transient = transient
        where = source + (f"/{stream}" if stream else "") + (f" record {record}" if record else "")
        super().__init__(redact(f"{where}: {message}"))


class AuthError(ExtractError):
    """The API refused the credential (401)."""


class ForbiddenError(ExtractError):
    """The credential may not read this (a 403 that is no rate limit)."""


class NotFoundError(ExtractError):
    """The resource does not exist or the credential may not see it (404)."""


class RecordError(ExtractError):
    """A record breaks the shape the stream declares (missing field, unknown enum value)."""
