"""Errors the extractors raise. Messages name source, stream and record, never a secret."""

from __future__ import annotations


class ExtractError(Exception):
    """A fatal extraction error: retrying the same request will not help."""

    def __init__(
        self, message: str, *, source: str, stream: str | None = None, record: str | None = None
    ):
        self.source = source
        self.stream = stream
        self.record = record
        where = source + (f"/{stream}" if stream else "") + (f" record {record}" if record else "")
        super().__init__(f"{where}: {message}")


class AuthError(ExtractError):
    """The API refused the credential (401)."""


class NotFoundError(ExtractError):
    """The resource does not exist or the credential may not see it (404)."""


class RecordError(ExtractError):
    """A record breaks the shape the stream declares (missing field, unknown enum value)."""
