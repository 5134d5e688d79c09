"""PagerDuty REST v2 extractor: services, teams, users, incidents and log entries.

Raw tables (key = PagerDuty id, no context):

- ``services``, ``teams``, ``users``: read in full every run (small; classic pagination
  until ``more`` is false). State ``{"as_of": <server time>}``.
- ``incidents``: read by creation-time windows ``[since, until)``, both ends always sent
  (one end alone silently yields one month) and each window far inside the 6-month limit,
  ``sort_by=created_at``. State ``{"cursor": <end of the last fully read window>}``; the
  next run starts ``OVERLAP`` before it. A creation-time window never shows a status
  change of an older incident, so each run also re-reads, by id, the incidents the raw
  layer still holds as not resolved (``GET /incidents/{id}``). Chosen over deriving status
  from log entries because it is exact for every field (``resolved_at``, urgency,
  assignments) and cheap: open incidents are few at any time.
- ``log_entries``: account-wide ``/log_entries`` by entry-time windows from the cursor to
  the server's now. State ``{"cursor": ...}`` as for incidents.

``offset + limit`` past 10,000 is refused with a 400 (code 2002): before a request would
pass the cap, a window continues from the time of the last record seen (offset 0) and the
records of that boundary second already read are dropped, so no 400 is ever provoked.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
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
    parse_time,
    require,
    require_time,
)
from extractors.errors import ExtractError, RecordError
from extractors.http import HttpClient, RetryPolicy, header_float
from platform_kpis.config import Settings
from platform_kpis.redact import logger

log = logger(__name__)

SOURCE = "pagerduty"
CREDENTIAL = "PAGERDUTY_API_TOKEN"
ACCEPT = "application/vnd.pagerduty+json;version=2"
# Module attributes, read at run time, so tests can shrink them with the simulator's.
PAGE_LIMIT = 100  # the API's maximum ``limit``
OFFSET_CAP = 10_000  # offset + limit may not pass this
INCIDENT_WINDOW = timedelta(days=30)  # far inside the 6-month maximum range
LOG_WINDOW = timedelta(days=7)  # log entries are several per incident: smaller windows
OVERLAP = timedelta(minutes=10)  # records that became visible late (the store dedupes)
REREAD_BATCH = 25  # re-read open incidents committed per page
INCIDENT_STATUSES = ("triggered", "acknowledged", "resolved")
URGENCIES = ("high", "low")
SECOND = timedelta(seconds=1)


# --- client -----------------------------------------------------------------------------
@dataclass
class PagerDutyRateLimit:
    """429 → wait ``Retry-After`` or ``ratelimit-reset`` seconds (the larger when both come);
    when neither is sent (PagerDuty may omit them), back off exponentially from ``base``."""

    base: float = 1.0
    max_backoff: float = 60.0
    max_wait: float = 600.0  # a header asking for more is not believed

    def wait_seconds(self, response: requests.Response, attempt: int) -> float | None:
        if response.status_code != 429:
            return None
        hinted = [
            v
            for v in (
                header_float(response, "Retry-After"),
                header_float(response, "ratelimit-reset"),
            )
            if v is not None
        ]
        if hinted:
            return min(max(max(hinted), 0.0), self.max_wait)
        return min(self.max_backoff, self.base * 2 ** (attempt - 1))


def make_client(settings: Settings, retry: RetryPolicy | None = None) -> HttpClient:
    if not settings.pagerduty_api_token:
        raise ExtractError(f"{CREDENTIAL} is not set", source=SOURCE)
    retry = retry or RetryPolicy()
    token = f"Token token={settings.pagerduty_api_token.reveal()}"
    return HttpClient(
        source=SOURCE,
        base_url=settings.pagerduty_api_url,
        auth_headers={"Authorization": token},
        rate_limit=PagerDutyRateLimit(base=retry.backoff_base, max_backoff=retry.backoff_max),
        credential_name=CREDENTIAL,
        default_headers={"Accept": ACCEPT},
        retry=retry,
    )


# --- shared reading helpers ---------------------------------------------------------------
def _items(body: Any, key: str, stream: str) -> list[dict[str, Any]]:
    if not isinstance(body, dict) or not isinstance(body.get(key), list):
        raise ExtractError(f"unexpected response: no '{key}' list", source=SOURCE, stream=stream)
    return body[key]


def _limit(ctx: ReadContext) -> int:
    return max(1, min(ctx.page_size or PAGE_LIMIT, PAGE_LIMIT, OFFSET_CAP))


def _server_now(ctx: ReadContext) -> datetime:
    """The API's present. Windows end there, never at this machine's clock: if no response
    has told the server's Date yet, ask with one tiny request."""
    if ctx.client.server_time is None:
        ctx.client.get("/users", {"limit": 1})
    return ctx.now()


def _key(record: Mapping[str, Any], stream: str) -> str:
    key = record.get("id")
    if not isinstance(key, str) or not key:
        raise RecordError(
            "missing required field(s) ['id']",
            source=SOURCE,
            stream=stream,
            record=f"#{record.get('incident_number', '?')}",
        )
    return key


def _time_of(record: Mapping[str, Any], fld: str, stream: str, key: str) -> datetime:
    return require_time(record, fld, source=SOURCE, stream=stream, key=key)


def _ref_id(record: Mapping[str, Any], fld: str, stream: str, key: str) -> None:
    ref = record.get(fld)
    if not isinstance(ref, Mapping) or not ref.get("id"):
        raise RecordError(f"{fld} has no id", source=SOURCE, stream=stream, record=key)


def _classic_pages(
    client: HttpClient, path: str, key: str, *, stream: str, limit: int
) -> Iterator[list[dict[str, Any]]]:
    """Every page of an unfiltered list (small lists: services, teams, users)."""
    offset = 0
    while True:
        if offset and offset + limit > OFFSET_CAP:
            raise ExtractError(
                f"more than {OFFSET_CAP} records: the API refuses offsets "
                "past its cap and this list cannot be windowed by time",
                source=SOURCE,
                stream=stream,
            )
        _, body = client.get_json(path, {"limit": limit, "offset": offset}, stream=stream)
        items = _items(body, key, stream)
        yield items
        if not body.get("more") or not items:
            return
        offset += len(items)
        limit = int(body.get("limit") or limit)  # the server may clamp the page size


Checked = list[tuple[str, dict[str, Any]]]


def _window_pages(
    client: HttpClient,
    path: str,
    key: str,
    since: datetime,
    until: datetime,
    *,
    stream: str,
    limit: int,
    params: Mapping[str, Any],
    check: Callable[[dict[str, Any]], tuple[str, datetime]],
) -> Iterator[tuple[Checked, bool]]:
    """(records, is_last_page) of ``[since, until)``, each record once and validated by
    ``check`` (→ key, time), without ever asking for ``offset + limit`` past the cap: when
    the next page would, the window restarts at offset 0 from the second of the last record
    seen (oldest first: a new ``since``; newest first: a new ``until``), dropping the records
    of that second already yielded. Works for either order, which it checks as it goes."""
    lo, hi, offset = since, until, 0
    direction = 0  # +1 oldest first, -1 newest first, 0 not known yet
    edge: datetime | None = None  # the second of the last record seen
    edge_ids: set[str] = set()  # records of that second already yielded
    while True:
        if offset and offset + limit > OFFSET_CAP:
            lo, hi = _continue(lo, hi, edge, direction, stream)
            offset = 0
        query = {**params, "since": iso(lo), "until": iso(hi), "limit": limit, "offset": offset}
        _, body = client.get_json(path, query, stream=stream)
        items = _items(body, key, stream)
        fresh: Checked = []
        for item in items:
            rid, at = check(item)
            second = at.replace(microsecond=0)
            if edge is not None and second != edge:
                step = 1 if second > edge else -1
                if direction == 0:
                    direction = step
                elif step != direction:
                    raise ExtractError(
                        f"{path} answered out of time order; a window past "
                        "the offset cap could not be continued safely",
                        source=SOURCE,
                        stream=stream,
                    )
                edge_ids = set()
            elif rid in edge_ids:
                continue  # re-served after a continuation from this second
            edge = second
            edge_ids.add(rid)
            fresh.append((rid, item))
        last = not body.get("more") or not items
        yield fresh, last
        if last:
            return
        offset += len(items)
        limit = int(body.get("limit") or limit)


def _continue(
    lo: datetime, hi: datetime, edge: datetime | None, direction: int, stream: str
) -> tuple[datetime, datetime]:
    """The rest of a window after the cap, from the second of the last record seen."""
    if edge is not None and direction > 0 and edge > lo:
        return edge, hi
    if edge is not None and direction < 0 and edge + SECOND < hi:
        return lo, edge + SECOND
    raise ExtractError(
        f"more than {OFFSET_CAP} records within one second at "
        f"{iso(edge or lo)}: the window cannot be narrowed further",
        source=SOURCE,
        stream=stream,
    )


def _start(state: Mapping[str, Any], ctx: ReadContext) -> datetime:
    cursor = state.get("cursor")
    if cursor:
        return parse_time(cursor) - OVERLAP
    return ctx.start()


# --- validation ---------------------------------------------------------------------------
def _check_incident(record: dict[str, Any]) -> tuple[str, datetime]:
    key = _key(record, "incidents")
    kw = {"source": SOURCE, "stream": "incidents", "key": key}
    require(record, ("incident_number", "status", "urgency", "created_at", "service"), **kw)
    check_enum(record, "status", INCIDENT_STATUSES, **kw)
    check_enum(record, "urgency", URGENCIES, **kw)
    _ref_id(record, "service", "incidents", key)
    return key, _time_of(record, "created_at", "incidents", key)


def _check_entry(record: dict[str, Any]) -> tuple[str, datetime]:
    key = _key(record, "log_entries")
    kw = {"source": SOURCE, "stream": "log_entries", "key": key}
    # PagerDuty has many entry types (notify, annotate, ...): the type is kept, not checked.
    require(record, ("type", "created_at", "incident"), **kw)
    _ref_id(record, "incident", "log_entries", key)
    if record["type"] in ("acknowledge_log_entry", "resolve_log_entry"):
        require(record, ("agent",), **kw)  # responders come from acknowledge agents
        _ref_id(record, "agent", "log_entries", key)
    return key, _time_of(record, "created_at", "log_entries", key)


# --- streams ------------------------------------------------------------------------------
class _FullList(Stream):
    """A small list read in full each run."""

    def __init__(self, name: str, required: tuple[str, ...]):
        self.spec = StreamSpec(SOURCE, name, "id", None)
        self.required = required

    def read(self, state: dict[str, Any], ctx: ReadContext) -> Iterator[Page]:
        name = self.spec.name
        for items in _classic_pages(ctx.client, f"/{name}", name, stream=name, limit=_limit(ctx)):
            records = []
            for item in items:
                key = _key(item, name)
                require(item, self.required, source=SOURCE, stream=name, key=key)
                records.append(RawRecord(key, item))
            yield Page({name: records}, {"as_of": iso(ctx.now())})


class _Windowed(Stream):
    """A time-windowed list; the cursor is the end of the last fully read window."""

    path: str
    window: Callable[[], timedelta]
    params: Mapping[str, Any]
    check: Callable[[dict[str, Any]], tuple[str, datetime]]

    def windows(self, state: dict[str, Any], ctx: ReadContext) -> Iterator[Page]:
        name = self.spec.name
        # until is exclusive and the Date header has whole seconds: one more second keeps
        # what was created at the server's "now" itself.
        end = _server_now(ctx) + SECOND
        cursor = state.get("cursor")
        lo = _start(state, ctx)
        while lo < end:
            hi = min(lo + self.window(), end)
            for batch, last in _window_pages(
                ctx.client,
                self.path,
                name,
                lo,
                hi,
                stream=name,
                limit=_limit(ctx),
                params=self.params,
                check=self.check,
            ):
                if last:
                    cursor = iso(hi)  # only a fully read window moves the cursor
                yield Page({name: [RawRecord(k, r) for k, r in batch]}, {"cursor": cursor})
            lo = hi


class IncidentsStream(_Windowed):
    spec = StreamSpec(SOURCE, "incidents", "id", "created_at")
    path = "/incidents"
    params = {"sort_by": "created_at", "time_zone": "UTC"}
    check = staticmethod(_check_incident)

    @staticmethod
    def window() -> timedelta:
        return INCIDENT_WINDOW

    def read(self, state: dict[str, Any], ctx: ReadContext) -> Iterator[Page]:
        # Collected before any page commits: incidents the raw layer holds as not resolved.
        still_open = {
            key for key, rec, _ in ctx.parents("incidents") if rec.get("status") != "resolved"
        }
        cursor = state.get("cursor")
        for page in self.windows(state, ctx):
            still_open.difference_update(r.key for r in page.records["incidents"])
            cursor = page.state["cursor"]
            yield page
        yield from self._reread(sorted(still_open), cursor, ctx)

    def _reread(self, ids: list[str], cursor: str | None, ctx: ReadContext) -> Iterator[Page]:
        """Older incidents whose status may have moved on since they were last read."""
        for i in range(0, len(ids), REREAD_BATCH):
            records = []
            for incident_id in ids[i : i + REREAD_BATCH]:
                resp, body = ctx.client.get_json(
                    f"/incidents/{incident_id}", stream="incidents", allow=(404,)
                )
                if resp.status_code == 404:
                    log.warning(
                        "pagerduty incident %s is gone; keeping its last version", incident_id
                    )
                    continue
                if not isinstance(body, dict) or not isinstance(body.get("incident"), dict):
                    raise ExtractError(
                        f"unexpected response for incident {incident_id}",
                        source=SOURCE,
                        stream="incidents",
                    )
                record = body["incident"]
                records.append(RawRecord(_check_incident(record)[0], record))
            yield Page({"incidents": records}, {"cursor": cursor})


class LogEntriesStream(_Windowed):
    spec = StreamSpec(SOURCE, "log_entries", "id", "created_at")
    path = "/log_entries"
    params = {"time_zone": "UTC"}
    check = staticmethod(_check_entry)

    @staticmethod
    def window() -> timedelta:
        return LOG_WINDOW

    def read(self, state: dict[str, Any], ctx: ReadContext) -> Iterator[Page]:
        return self.windows(state, ctx)


def streams() -> list[Stream]:
    return [
        _FullList("services", ("name", "teams")),
        _FullList("teams", ("name",)),
        _FullList("users", ("name", "email")),
        IncidentsStream(),
        LogEntriesStream(),
    ]
