"""Zendesk Support over HTTP: the incremental exports, ticket metrics, limits and cursors.

:class:`ZendeskService` serves the model as of the simulator's clock: cursor and time-based
incremental exports with their own per-minute budget and one-minute hold-back, cursor and
offset pagination of ticket metrics.
"""

from __future__ import annotations

import base64
import bisect
import math
import time
from datetime import datetime
from typing import Any

from simulator.clock import SimClock
from simulator.credentials import ZENDESK_TOKEN, zendesk_basic
from simulator.faults import FaultInjector
from simulator.server import Request, Response, Service, WindowLimiter
from simulator.zendesk.account import HOLD_BACK_SECONDS
from simulator.zendesk.entities import Ticket
from simulator.zendesk.model import ZendeskModel

# --- cursors -----------------------------------------------------------------------------


def encode_cursor(position: tuple[int, int]) -> str:
    """An opaque export cursor: the (generated_timestamp, id) of the last ticket served."""
    return base64.urlsafe_b64encode(f"{position[0]}:{position[1]}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[int, int]:
    ts, tid = base64.urlsafe_b64decode(cursor.encode()).decode().split(":")
    return int(ts), int(tid)


# --- the service -------------------------------------------------------------------------


class ZendeskService(Service):
    """Zendesk Support over HTTP. Limits are attributes so tests can shrink them."""

    name = "zendesk"
    prefix = "/api/v2"

    def __init__(
        self,
        model: ZendeskModel,
        clock: SimClock,
        faults: FaultInjector | None = None,
        limiter: WindowLimiter | None = None,
        timeout_delay: float = 3.0,
    ):
        super().__init__(clock, faults, limiter, timeout_delay)
        self.model = model
        self.ticket_page_max = 1000  # incremental tickets: per_page maximum and default
        self.organization_page_size = 1000  # time-based export page size
        self.metrics_page_max = 100  # /ticket_metrics page[size] maximum
        self.offset_cap = 10_000  # offset pagination fails past this many records
        self.hold_back_seconds = HOLD_BACK_SECONDS
        self.sideload_metric_sets = True  # False: a server that ignores include=metric_sets
        # Incremental exports: 10 requests per minute of real time. On when the simulator's
        # rate limiting is on; tests set export_limit/export_window directly.
        self.export_limit: int | None = 10 if limiter is not None else None
        self.export_window = 60.0
        self.export_throttled = 0  # how many 429s the export limit answered
        self._export_limiter: WindowLimiter | None = None
        self.route("GET", r"/incremental/tickets/cursor\.json", self._tickets_cursor)
        self.route("GET", r"/incremental/organizations(?:\.json)?", self._organizations)
        self.route("GET", r"/ticket_metrics(?:\.json)?", self._ticket_metrics)

    # --- API style -----------------------------------------------------------------------
    def authenticate(self, req: Request) -> Response | None:
        if req.header("authorization") in (zendesk_basic(), f"Bearer {ZENDESK_TOKEN}"):
            return None
        return Response(401, {"error": "Couldn't authenticate you"})

    def error(self, status: int, message: str, code: int | None = None) -> Response:
        kinds = {400: "InvalidValue", 404: "RecordNotFound", 429: "TooManyRequests"}
        return Response(
            status, {"error": kinds.get(status, "InternalError"), "description": message}
        )

    def throttled(self, reset_epoch: float) -> Response:
        wait = max(1, math.ceil(reset_epoch - time.time()))
        return Response(
            429,
            {"error": "TooManyRequests", "description": "Rate limit exceeded, retry later"},
            {"Retry-After": str(wait)},
        )

    def rate_headers(self, remaining: int, reset_epoch: float) -> dict[str, str]:
        limit = self.limiter.limit if self.limiter else 0
        return {"X-Rate-Limit": str(limit), "X-Rate-Limit-Remaining": str(remaining)}

    def _export_gate(self) -> Response | None:
        """The incremental exports' own budget (10/minute on the real API)."""
        if self.export_limit is None:
            return None
        lim = self._export_limiter
        if lim is None or (lim.limit, lim.window) != (self.export_limit, self.export_window):
            lim = self._export_limiter = WindowLimiter(self.export_limit, self.export_window)
        allowed, _, reset = lim.hit()
        if allowed:
            return None
        self.export_throttled += 1
        resp = self.throttled(reset)
        resp.body = {
            "error": "TooManyRequests",
            "description": "Number of allowed incremental export API requests per minute exceeded",
        }
        return resp

    # --- endpoints -----------------------------------------------------------------------
    def _int_arg(self, req: Request, name: str) -> int | None:
        value = req.arg(name)
        if value is None or value == "":
            return None
        if not value.lstrip("-").isdigit():
            raise _BadRequest(f"{name} must be an integer")
        return int(value)

    def _tickets_cursor(self, req: Request, m) -> Response:
        if (gate := self._export_gate()) is not None:
            return gate
        now = self.clock.now()
        try:
            per_page = self._int_arg(req, "per_page") or self.ticket_page_max
            start_time = self._int_arg(req, "start_time")
        except _BadRequest as exc:
            return self.error(400, str(exc))
        per_page = max(1, min(per_page, self.ticket_page_max))
        cursor = req.arg("cursor")
        if cursor:
            try:
                position = decode_cursor(cursor)
            except ValueError:
                return self.error(400, "Invalid cursor")
        elif start_time is not None:
            position = (start_time, -1)  # every ticket with generated_timestamp >= start_time
        else:
            return self.error(400, "start_time or cursor is required")
        order = self.model.ticket_order(now, self.hold_back_seconds)
        exclude_deleted = (req.arg("exclude_deleted") or "").lower() == "true"
        i = bisect.bisect_right(order, position)
        page: list[tuple[int, int]] = []
        while i < len(order) and len(page) < per_page:
            tid = order[i][1]
            if not (exclude_deleted and self.model.ticket(tid).is_deleted(now)):
                page.append(order[i])
            i += 1
        rest = order[i:]
        if exclude_deleted:
            rest = [p for p in rest if not self.model.ticket(p[1]).is_deleted(now)]
        after = encode_cursor(page[-1] if page else position)
        tickets = [self.model.ticket(tid) for _, tid in page]
        body: dict[str, Any] = {
            "tickets": [self.model.served("tickets", t.record(now)) for t in tickets],
            "after_url": f"{req.base_url}/incremental/tickets/cursor.json?cursor={after}",
            "after_cursor": after,
            "before_url": (
                f"{req.base_url}/incremental/tickets/cursor.json?cursor={cursor}"
                if cursor
                else None
            ),
            "before_cursor": cursor or None,
            "end_of_stream": not rest,
        }
        includes = {s.strip() for s in (req.arg("include") or "").split(",")}
        if "metric_sets" in includes and self.sideload_metric_sets:
            body["metric_sets"] = [
                self.model.served("ticket_metrics", t.metric_set(now)) for t in tickets
            ]
        return Response(200, body)

    def _organizations(self, req: Request, m) -> Response:
        if (gate := self._export_gate()) is not None:
            return gate
        now = self.clock.now()
        try:
            start = self._int_arg(req, "start_time")
            per_page = self._int_arg(req, "per_page") or self.organization_page_size
        except _BadRequest as exc:
            return self.error(400, str(exc))
        if start is None:
            return self.error(400, "start_time is required")
        limit = max(1, min(per_page, self.organization_page_size))
        order = self.model.organization_order(now, self.hold_back_seconds)
        i = bisect.bisect_left(order, (start, -1))
        page = order[i : i + limit]
        end_of_stream = i + limit >= len(order)
        if page and not end_of_stream and page[-1][0] == start:
            # A full page inside the start second cannot advance: serve the whole second and
            # move past it (the real API also lets a page grow to hold one timestamp).
            j = bisect.bisect_right(order, (start, math.inf))
            page, end_time, end_of_stream = order[i:j], start + 1, j >= len(order)
        else:
            # The next page starts AT end_time (inclusive): records of that second repeat.
            end_time = page[-1][0] if page else start
        orgs = [
            self.model.served("organizations", self.model.organization(oid).record(now))
            for _, oid in page
        ]
        return Response(
            200,
            {
                "organizations": orgs,
                "count": len(orgs),
                "end_time": end_time,
                "next_page": f"{req.base_url}/incremental/organizations.json?start_time={end_time}",
                "end_of_stream": end_of_stream,
            },
        )

    def _ticket_metrics(self, req: Request, m) -> Response:
        now = self.clock.now()
        metrics = sorted(
            (t for t in self.model.tickets if t.visible(now)), key=lambda t: t.metric_id
        )
        try:
            if req.arg("page") is not None:
                return self._metrics_offset(req, metrics, now)
            size = self._int_arg(req, "page[size]") or self.metrics_page_max
        except _BadRequest as exc:
            return self.error(400, str(exc))
        if size > self.metrics_page_max:
            return self.error(
                400, f"page[size] must be less than or equal to {self.metrics_page_max}"
            )
        after = req.arg("page[after]")
        start = 0
        if after:
            try:
                last_id = int(base64.urlsafe_b64decode(after.encode()).decode())
            except ValueError:
                return self.error(400, "Invalid page[after] cursor")
            start = bisect.bisect_right([t.metric_id for t in metrics], last_id)
        page = metrics[start : start + size]
        has_more = start + size < len(metrics)

        def cur(t: Ticket) -> str:
            return base64.urlsafe_b64encode(str(t.metric_id).encode()).decode()

        after_c = cur(page[-1]) if page else None
        before_c = cur(page[0]) if page else None
        base = f"{req.base_url}/ticket_metrics.json?page%5Bsize%5D={size}"
        return Response(
            200,
            {
                "ticket_metrics": [
                    self.model.served("ticket_metrics", t.metric_set(now)) for t in page
                ],
                "meta": {"has_more": has_more, "after_cursor": after_c, "before_cursor": before_c},
                "links": {
                    "next": f"{base}&page%5Bafter%5D={after_c}" if has_more else None,
                    "prev": f"{base}&page%5Bbefore%5D={before_c}" if start else None,
                },
            },
        )

    def _metrics_offset(self, req: Request, metrics: list[Ticket], now: datetime) -> Response:
        """Classic offset pagination (``page``/``per_page``): refused past ``offset_cap``."""
        page_no = self._int_arg(req, "page") or 1
        per_page = min(self._int_arg(req, "per_page") or 100, 100)
        if page_no < 1:
            raise _BadRequest("page must be >= 1")
        if page_no * per_page > self.offset_cap:
            return self.error(
                400,
                "Offset pagination is limited to the first "
                f"{self.offset_cap} records; use cursor pagination",
            )
        lo = (page_no - 1) * per_page
        page = metrics[lo : lo + per_page]
        base = f"{req.base_url}/ticket_metrics.json?per_page={per_page}&page="
        return Response(
            200,
            {
                "ticket_metrics": [
                    self.model.served("ticket_metrics", t.metric_set(now)) for t in page
                ],
                "next_page": f"{base}{page_no + 1}" if lo + per_page < len(metrics) else None,
                "previous_page": f"{base}{page_no - 1}" if page_no > 1 else None,
                "count": len(metrics),
            },
        )


class _BadRequest(ValueError):
    """A query parameter the API rejects with 400."""
