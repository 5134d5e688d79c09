"""The stream protocol every source implements.

A stream reads pages and yields :class:`Page` objects. Each page carries the records of one
or more raw tables and the stream state *after* those records: the writer commits both in
one transaction, so a run killed between pages resumes from the last committed page and
loses nothing.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from extractors.errors import RecordError
from extractors.http import HttpClient
from platform_kpis.catalog import Catalog


@dataclass(frozen=True)
class RawRecord:
    key: str
    data: Mapping[str, Any]
    context: Mapping[str, Any] | None = None


@dataclass
class Page:
    records: dict[str, list[RawRecord]]
    state: dict[str, Any]

    @property
    def count(self) -> int:
        return sum(len(v) for v in self.records.values())


@dataclass(frozen=True)
class StreamSpec:
    source: str
    name: str
    primary_key: str
    cursor: str | None
    parents: tuple[str, ...] = ()
    extra_tables: tuple[str, ...] = ()

    @property
    def tables(self) -> tuple[str, ...]:
        return (self.name, *self.extra_tables)


# Reads the latest version of every record of a raw table of the same source:
# yields (key, record, context) tuples.
ParentReader = Callable[[str], Iterable[tuple[str, dict, dict | None]]]


@dataclass
class ReadContext:
    client: HttpClient
    catalog: Catalog
    parents: ParentReader
    history_start: datetime | None = None
    page_size: int | None = None
    options: dict[str, Any] = field(default_factory=dict)

    def now(self) -> datetime:
        return self.client.now()

    def start(self) -> datetime:
        """Where a first full sync begins: a configured date, else two years back."""
        return self.history_start or (self.now() - timedelta(days=730))


class Stream(ABC):
    spec: StreamSpec

    @abstractmethod
    def read(self, state: dict[str, Any], ctx: ReadContext) -> Iterator[Page]:
        """Yield pages of records with the state that covers them."""

    def cursor_of(self, state: dict[str, Any]) -> str | None:
        """A short, human-readable cursor for status tables and run metadata."""
        value = state.get("cursor")
        return None if value is None else str(value)


def require(
    record: Mapping[str, Any], fields: Iterable[str], *, source: str, stream: str, key: str
) -> None:
    missing = [f for f in fields if f not in record]
    if missing:
        raise RecordError(
            f"missing required field(s) {missing}", source=source, stream=stream, record=key
        )


def check_enum(
    record: Mapping[str, Any],
    fld: str,
    allowed: Iterable[Any],
    *,
    source: str,
    stream: str,
    key: str,
) -> None:
    value = record.get(fld)
    allowed = tuple(allowed)
    if value not in allowed:
        raise RecordError(
            f"unknown {fld} {value!r} (expected one of {list(allowed)})",
            source=source,
            stream=stream,
            record=key,
        )


def require_time(
    record: Mapping[str, Any], fld: str, *, source: str, stream: str, key: str
) -> datetime:
    """A timestamp field that must be present and parse, else a RecordError naming it."""
    try:
        value = parse_time(record[fld])
    except (KeyError, TypeError, ValueError, AttributeError):
        value = None
    if value is None:
        raise RecordError(
            f"{fld} {record.get(fld)!r} is not a timestamp",
            source=source,
            stream=stream,
            record=key,
        )
    return value


def parse_time(value: str | None) -> datetime | None:
    """ISO 8601 with Z or an offset, to an aware UTC datetime."""
    if value is None:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
