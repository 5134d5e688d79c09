"""Zendesk Support: tickets (with their metric sets) and organizations, by incremental export.

Raw tables (key = the Zendesk id as a string, record = the API object as served):

- ``tickets`` and ``ticket_metrics``: the cursor-based ticket export with
  ``include=metric_sets``. State ``{"cursor": after_cursor, "start_time": epoch}``: the
  cursor always comes from the response (never from a clock), so whatever changed after the
  server's cut-off (including the tickets it holds back for a minute) comes next time.
- ``organizations``: the time-based export, from 0 (every customer) on the first run.
  State ``{"end_time": epoch}``; the next run
  starts AT that second (inclusive): records sharing it are read again, never dropped.
  Repeats are harmless, the raw store appends only changed versions.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import requests

from extractors.base import (
    Page,
    RawRecord,
    ReadContext,
    Stream,
    StreamSpec,
    check_enum,
    iso,
    require,
)
from extractors.errors import ExtractError, RecordError
from extractors.http import HttpClient, RetryPolicy, header_float
from platform_kpis.config import Settings

SOURCE = "zendesk"
CREDENTIAL = "ZENDESK_EMAIL/ZENDESK_API_TOKEN"
EXPORT_PAGE_SIZE = 1000  # the cursor export's maximum per_page
METRICS_PAGE_SIZE = 100  # the /ticket_metrics maximum page[size]

TICKET_STATUSES = ("new", "open", "pending", "hold", "solved", "closed", "deleted")
TICKET_TYPES = ("problem", "incident", "question", "task", None)
TICKET_PRIORITIES = ("urgent", "high", "normal", "low", None)
TICKET_FIELDS = (
    "id",
    "created_at",
    "updated_at",
    "generated_timestamp",
    "status",
    "type",
    "priority",
    "tags",
    "organization_id",
    "requester_id",
    "custom_fields",
)
METRIC_FIELDS = (
    "id",
    "ticket_id",
    "created_at",
    "updated_at",
    "solved_at",
    "assigned_at",
    "reply_time_in_minutes",
    "full_resolution_time_in_minutes",
    "reopens",
    "replies",
)
ORGANIZATION_FIELDS = ("id", "name", "created_at", "updated_at")


# --- client ------------------------------------------------------------------------------


@dataclass
class ZendeskRateLimit:
    """429 means wait: ``Retry-After`` seconds when given (the incremental exports allow 10
    requests a minute), else exponential backoff."""

    retry: RetryPolicy

    def wait_seconds(self, response: requests.Response, attempt: int) -> float | None:
        if response.status_code != 429:
            return None
        retry_after = header_float(response, "Retry-After")
        if retry_after is not None and retry_after >= 0:
            return retry_after
        return self.retry.backoff(attempt)


def api_base(url: str) -> str:
    """``https://SUB.zendesk.com`` -> ``https://SUB.zendesk.com/api/v2``; a URL that already
    ends with ``/api/v2`` (or a slash) is taken as it is."""
    root = url.strip().rstrip("/")
    return root if root.endswith("/api/v2") else f"{root}/api/v2"


def make_client(settings: Settings, retry: RetryPolicy | None = None) -> HttpClient:
    if not settings.zendesk_url:
        raise ExtractError(
            "ZENDESK_URL is not set: give the account's address, e.g. "
            "https://yoursubdomain.zendesk.com",
            source=SOURCE,
        )
    if not settings.zendesk_email or not settings.zendesk_api_token:
        raise ExtractError(
            "ZENDESK_EMAIL and ZENDESK_API_TOKEN must both be set (an agent's "
            "e-mail and an API token)",
            source=SOURCE,
        )
    retry = retry or RetryPolicy()
    pair = f"{settings.zendesk_email}/token:{settings.zendesk_api_token.reveal()}"
    auth = dict(Authorization="Basic " + base64.b64encode(pair.encode()).decode())
    return HttpClient(
        SOURCE,
        api_base(settings.zendesk_url),
        auth,
        ZendeskRateLimit(retry),
        CREDENTIAL,
        default_headers={"Accept": "application/json"},
        retry=retry,
    )


# --- records -----------------------------------------------------------------------------


def _key(record: Any, stream: str, position: int) -> str:
    if not isinstance(record, Mapping):
        raise RecordError(
            f"item {position} is not an object", source=SOURCE, stream=stream, record=f"#{position}"
        )
    value = record.get("id")
    return str(value) if value is not None else f"#{position} (no id)"


def ticket_record(item: Any, position: int, stream: str = "tickets") -> RawRecord:
    key = _key(item, stream, position)
    kw = {"source": SOURCE, "stream": stream, "key": key}
    require(item, TICKET_FIELDS, **kw)
    check_enum(item, "status", TICKET_STATUSES, **kw)
    check_enum(item, "type", TICKET_TYPES, **kw)
    check_enum(item, "priority", TICKET_PRIORITIES, **kw)
    return RawRecord(key, item)


def metric_record(item: Any, position: int, stream: str = "tickets") -> RawRecord:
    key = _key(item, stream, position)
    require(item, METRIC_FIELDS, source=SOURCE, stream=stream, key=f"ticket_metrics {key}")
    return RawRecord(key, item)


def organization_record(item: Any, position: int, stream: str = "organizations") -> RawRecord:
    key = _key(item, stream, position)
    require(item, ORGANIZATION_FIELDS, source=SOURCE, stream=stream, key=key)
    return RawRecord(key, item)


def _envelope(body: Any, fields: tuple[str, ...], stream: str, what: str) -> Mapping[str, Any]:
    if not isinstance(body, Mapping) or any(f not in body for f in fields):
        raise ExtractError(
            f"unexpected {what} response: expected the fields {list(fields)}",
            source=SOURCE,
            stream=stream,
        )
    return body


# --- streams -----------------------------------------------------------------------------


class TicketsStream(Stream):
    spec = StreamSpec(
        SOURCE, "tickets", primary_key="id", cursor="after_cursor", extra_tables=("ticket_metrics",)
    )

    def read(self, state: dict[str, Any], ctx: ReadContext) -> Iterator[Page]:
        name = self.spec.name
        # The first run's start is saved so a run that finds nothing does not re-derive it
        # from a later "now".
        start_time = state.get("start_time")
        if start_time is None:
            start_time = int(ctx.start().timestamp())
        cursor: str | None = state.get("cursor")
        per_page = min(ctx.page_size or EXPORT_PAGE_SIZE, EXPORT_PAGE_SIZE)
        sideloaded = True
        while True:
            params: dict[str, Any] = {"include": "metric_sets", "per_page": per_page}
            if cursor:
                params["cursor"] = cursor
            else:
                params["start_time"] = start_time
            _, body = ctx.client.get_json("incremental/tickets/cursor.json", params, stream=name)
            body = _envelope(
                body, ("tickets", "after_cursor", "end_of_stream"), name, "ticket export"
            )
            tickets = [ticket_record(t, i) for i, t in enumerate(body["tickets"])]
            if "metric_sets" not in body:
                sideloaded = False
            metrics = [metric_record(m, i) for i, m in enumerate(body.get("metric_sets") or [])]
            # The next position is the response's after_cursor; an empty answer may omit it,
            # then the one we hold still stands.
            new_cursor = body["after_cursor"] or cursor
            if not body["end_of_stream"] and (new_cursor is None or new_cursor == cursor):
                raise ExtractError(
                    "the ticket export did not advance its cursor; stopping rather than looping",
                    source=SOURCE,
                    stream=name,
                )
            cursor = new_cursor
            state = {"cursor": cursor, "start_time": start_time}
            # Tickets, their metric sets and the cursor after them commit together.
            yield Page({name: tickets, "ticket_metrics": metrics}, state)
            if body["end_of_stream"]:
                break
        if not sideloaded:
            # This server ignored include=metric_sets (the key was absent): read every metric
            # set from /ticket_metrics instead. It is a full walk, as that list has no
            # "changed since" filter; the cursor above is already saved with its tickets.
            yield from self._metrics_walk(ctx, state)

    def _metrics_walk(self, ctx: ReadContext, state: dict[str, Any]) -> Iterator[Page]:
        name = self.spec.name
        params: dict[str, Any] = {"page[size]": METRICS_PAGE_SIZE}
        seen: set[str] = set()
        while True:
            _, body = ctx.client.get_json("ticket_metrics", params, stream=name)
            body = _envelope(body, ("ticket_metrics", "meta"), name, "ticket metrics")
            metrics = [metric_record(m, i) for i, m in enumerate(body["ticket_metrics"])]
            yield Page({"ticket_metrics": metrics}, state)
            meta = body["meta"] or {}
            after = meta.get("after_cursor")
            if not meta.get("has_more") or not after:
                break
            if after in seen:
                raise ExtractError(
                    "/ticket_metrics repeated a page cursor; stopping rather than looping",
                    source=SOURCE,
                    stream=name,
                )
            seen.add(after)
            params = {"page[size]": METRICS_PAGE_SIZE, "page[after]": after}

    def cursor_of(self, state: dict[str, Any]) -> str | None:
        return state.get("cursor")


class OrganizationsStream(Stream):
    spec = StreamSpec(SOURCE, "organizations", primary_key="id", cursor="end_time")

    def read(self, state: dict[str, Any], ctx: ReadContext) -> Iterator[Page]:
        name = self.spec.name
        # First run: the whole account (start_time 0), not the history window. Customers are
        # counted by creation date however old they are, and an organization untouched
        # since before the window would otherwise never be read.
        start = state.get("end_time") or 0
        url = "incremental/organizations.json"
        params: dict[str, Any] | None = {"start_time": start}
        while True:
            _, body = ctx.client.get_json(url, params, stream=name)
            body = _envelope(
                body, ("organizations", "end_time", "end_of_stream"), name, "organization export"
            )
            orgs = [organization_record(o, i) for i, o in enumerate(body["organizations"])]
            # end_time is the second of the page's last record: the next page (and the next
            # run) start AT it, not after it, so records sharing that second are not lost.
            end = body["end_time"] if body["end_time"] is not None else start
            yield Page({name: orgs}, {"end_time": end})
            if body["end_of_stream"]:
                break
            next_page = body.get("next_page")
            if not next_page or end <= start:
                raise ExtractError(
                    f"the organization export did not advance past {start}; "
                    "stopping rather than looping",
                    source=SOURCE,
                    stream=name,
                )
            url, params, start = next_page, None, end

    def cursor_of(self, state: dict[str, Any]) -> str | None:
        end = state.get("end_time")
        return None if end is None else iso(datetime.fromtimestamp(end, UTC))


def streams() -> list[Stream]:
    return [OrganizationsStream(), TicketsStream()]
