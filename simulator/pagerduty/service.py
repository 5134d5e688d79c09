"""PagerDuty's REST API v2 over HTTP: routes, classic pagination, date ranges, rate limits.

:class:`PagerDutyService` serves the model as of the simulator's clock with the quirks listed
in :mod:`simulator.pagerduty` (its docstring) and ``docs/apis.md``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from simulator.clock import SimClock
from simulator.credentials import PAGERDUTY_TOKEN
from simulator.faults import FaultInjector
from simulator.pagerduty.entities import _entry_order
from simulator.pagerduty.model import PagerDutyModel
from simulator.server import Request, Response, Service, WindowLimiter


# --- the HTTP service -------------------------------------------------------------------
class _BadRequest(Exception):
    def __init__(self, message: str, code: int = 2001):
        super().__init__(message)
        self.code = code


class PagerDutyService(Service):
    name = "pagerduty"
    prefix = ""

    def __init__(
        self,
        model: PagerDutyModel,
        clock: SimClock,
        faults: FaultInjector | None = None,
        limiter: WindowLimiter | None = None,
        timeout_delay: float = 3.0,
    ):
        super().__init__(clock, faults, limiter, timeout_delay)
        self.model = model
        # Limits a test may shrink (the real values are the defaults).
        self.max_limit = 100
        self.default_limit = 25
        self.offset_cap = 10_000
        self.max_range = timedelta(days=183)  # "at most 6 months"
        self.one_end_window = timedelta(days=30)  # what a one-ended range silently gets
        self.rate_limit_per_minute = 960
        self.rate_headers_on_429 = True  # False: a 429 without ratelimit-* headers
        self.route("GET", "/services", self._services)
        self.route("GET", "/teams", self._teams)
        self.route("GET", "/users", self._users)
        self.route("GET", "/incidents", self._incidents)
        self.route("GET", "/incidents/(?P<id>[A-Za-z0-9]+)", self._incident)
        self.route("GET", "/incidents/(?P<id>[A-Za-z0-9]+)/log_entries", self._incident_log)
        self.route("GET", "/log_entries", self._log_entries)

    # --- style of this API ------------------------------------------------------------
    def authenticate(self, req: Request) -> Response | None:
        if req.header("Authorization") == f"Token token={PAGERDUTY_TOKEN}":
            return None
        return self.error(401, "Authentication required", 2006)

    def error(self, status: int, message: str, code: int | None = None) -> Response:
        codes = {400: 2001, 401: 2006, 404: 2100, 429: 2020}
        return Response(
            status, {"error": {"message": message, "code": code or codes.get(status, 2000)}}
        )

    def throttled(self, reset_epoch: float) -> Response:
        resp = self.error(429, "Rate Limit Exceeded", 2020)
        if self.rate_headers_on_429:
            resp.headers = self.rate_headers(0, reset_epoch)
        return resp

    def rate_headers(self, remaining: int, reset_epoch: float) -> dict[str, str]:
        limit = self.limiter.limit if self.limiter is not None else self.rate_limit_per_minute
        reset = max(1, math.ceil(reset_epoch - time.time()))
        return {
            "ratelimit-limit": str(limit),
            "ratelimit-remaining": str(remaining),
            "ratelimit-reset": str(reset),
        }

    def handle(self, req: Request) -> tuple[Response, str | None]:
        try:
            return super().handle(req)
        except _BadRequest as exc:
            return self.error(400, str(exc), exc.code), None

    # --- helpers ----------------------------------------------------------------------
    def _page(
        self, req: Request, key: str, items: list[Any], render: Callable[[Any], dict[str, Any]]
    ) -> Response:
        limit = _int(req.arg("limit"), self.default_limit, "limit")
        offset = _int(req.arg("offset"), 0, "offset")
        if limit < 1 or offset < 0:
            raise _BadRequest("Invalid Input Provided")
        limit = min(limit, self.max_limit)
        if offset + limit > self.offset_cap:
            raise _BadRequest(
                f"Offset must be less than {self.offset_cap}. Please refine your "
                "search by adding a date range.",
                2002,
            )
        chunk = items[offset : offset + limit]
        total = len(items) if req.arg("total") == "true" else None
        return Response(
            200,
            {
                key: [render(x) for x in chunk],
                "limit": limit,
                "offset": offset,
                "more": offset + len(chunk) < len(items),
                "total": total,
            },
        )

    def _range(self, req: Request) -> tuple[datetime | None, datetime | None]:
        """The creation-time (or entry-time) range a list request asks for."""
        if req.arg("date_range") == "all":
            return None, None
        since, until = _time(req.arg("since"), "since"), _time(req.arg("until"), "until")
        if since is None and until is None:
            until = self.clock.now()
            since = until - self.one_end_window
        elif until is None:  # the real API silently narrows to one month
            until = since + self.one_end_window
        elif since is None:
            since = until - self.one_end_window
        if since > until:
            raise _BadRequest("Invalid Input Provided: since must be before until")
        if until - since > self.max_range:
            raise _BadRequest("Invalid Input Provided: the date range is longer than 6 months")
        return since, until

    # --- handlers ---------------------------------------------------------------------
    def _services(self, req: Request, m: Any) -> Response:
        now = self.clock.now()
        return self._page(
            req, "services", self.model.services, lambda s: self.model.service_json(s, now)
        )

    def _teams(self, req: Request, m: Any) -> Response:
        return self._page(req, "teams", self.model.teams, self.model.team_json)

    def _users(self, req: Request, m: Any) -> Response:
        return self._page(req, "users", self.model.users, self.model.user_json)

    def _incidents(self, req: Request, m: Any) -> Response:
        now = self.clock.now()
        since, until = self._range(req)
        items = self.model.incidents_created(since, until, now)
        statuses = [s for v in req.args("statuses[]") for s in v.split(",") if s]
        if statuses:
            items = [i for i in items if i.status_at(now) in statuses]
        services = req.args("service_ids[]")
        if services:
            items = [i for i in items if i.service_id in services]
        sort = req.arg("sort_by", "created_at")
        if sort in ("created_at:desc",):
            items = items[::-1]
        elif sort not in ("created_at", "created_at:asc"):
            raise _BadRequest(f"Invalid Input Provided: sort_by {sort}")
        return self._page(req, "incidents", items, lambda i: self.model.incident_json(i, now))

    def _incident(self, req: Request, m: Any) -> Response:
        now = self.clock.now()
        inc = self.model.incident(m["id"], now)
        if inc is None:
            return self.error(404, "Not Found", 2100)
        return Response(200, {"incident": self.model.incident_json(inc, now)})

    def _log_entries(self, req: Request, m: Any) -> Response:
        since, until = self._range(req)
        items = self.model.entries_between(since, until, self.clock.now())[::-1]  # newest first
        return self._page(req, "log_entries", items, self.model.entry_json)

    def _incident_log(self, req: Request, m: Any) -> Response:
        now = self.clock.now()
        inc = self.model.incident(m["id"], now)
        if inc is None:
            return self.error(404, "Not Found", 2100)
        since, until = _time(req.arg("since"), "since"), _time(req.arg("until"), "until")
        items = [
            e
            for e in inc.log_entries
            if e.created_at <= now
            and (since is None or e.created_at >= since)
            and (until is None or e.created_at < until)
        ]
        items.sort(key=_entry_order, reverse=True)
        return self._page(req, "log_entries", items, self.model.entry_json)


def _int(value: str | None, default: int, name: str) -> int:
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise _BadRequest(f"Invalid Input Provided: {name} must be an integer") from None


def _time(value: str | None, name: str) -> datetime | None:
    if not value:
        return None
    try:
        # A '+' of an offset arrives as a space when the client did not encode it.
        dt = datetime.fromisoformat(value.strip().replace(" ", "+").replace("Z", "+00:00"))
    except ValueError:
        raise _BadRequest(f"Invalid Input Provided: {name} is not a date") from None
    return (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).astimezone(UTC)
