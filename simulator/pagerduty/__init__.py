"""The simulated PagerDuty REST API v2: services, teams, users, incidents and log entries.

:class:`PagerDutyModel` generates the whole incident timeline of the organisation from
``org.start`` to ``org.horizon`` at construction (deterministic from ``org.rng``).
:class:`PagerDutyService` serves it over HTTP *as of the clock*: an incident created after
``now`` is invisible, one resolved after ``now`` shows as triggered or acknowledged, and a
log entry exists once its time has come.

The model's entities are plain dataclasses with public attributes; a ground-truth module
computes KPIs from them directly:

- ``model.teams``: :class:`PDTeam` (``id``, ``name`` = the catalog team name);
- ``model.services``: :class:`PDService` (``id``, ``name``, ``team`` = catalog team name or
  None for ``org.unmapped_services``);
- ``model.users``: :class:`PDUser` (``id`` = ``person.pd_user_id``, ``name``, ``email``,
  ``team``; ``in_catalog_by_id`` False for a member the catalog knows by e-mail only, and
  for outsiders);
- ``model.incidents``: :class:`Incident`, sorted by ``created_at`` (``acks`` = the
  acknowledgements in time order, one per user; ``resolved_at`` = the true resolve time or
  None when never resolved before the horizon; ``resolved_at_null`` = the API shows a null
  ``resolved_at`` field, the first resolve log entry still has the time);
- ``model.log_entries``: :class:`LogEntry`, sorted by time (also ``incident.log_entries``).

Helpers: ``Incident.status_at(now)``;
``model.incidents_created(since, until, now)``, ``model.entries_between(...)``,
``model.truth(now)`` (the exact records of the raw tables ``services``, ``teams``, ``users``,
``incidents``, ``log_entries``) and ``model.corrupt(kind, id, drop=, set_fields=)``.

Edge cases: incidents never acknowledged (some open for days, a few forever), resolved
without acknowledgement (auto-resolved by the integration or by hand), acknowledged by two
or three users, escalated after 30 unacknowledged minutes, long ones (1-5 days), resolved
ones with a null ``resolved_at``, responders outside the catalog and one member known to
the catalog by e-mail only. Planted around ``org.now0`` on the first service: an incident
created ten days earlier still open at ``now0`` and resolved 12 h later, one created 2 h
before ``now0`` and acknowledged and resolved after it, a null-``resolved_at`` one, and a
never-acknowledged open one. As in the real API, a resolved incident lists no assignments
or acknowledgements: who acknowledged lives in the log entries.

Quirks honoured (see docs/apis.md): exact ``Authorization: Token token=...``; classic
pagination (``limit`` <= ``max_limit``, default 25; ``more``; ``total`` null unless
``total=true``); ``offset + limit > offset_cap`` -> 400 code 2002; ``since``/``until`` on
creation time (incidents) or entry time (log entries), since inclusive, until exclusive;
one end only -> a one-month window from that end; no end -> the last month; a range over
``max_range`` -> 400; ``date_range=all``; log entries newest first (as the real API returns
them); 429 with ``ratelimit-*`` headers (switch ``rate_headers_on_429`` to drop them).

The package, by seam: :mod:`.entities` (the dataclasses and constants), :mod:`.model` (the
generation and views as of a time), :mod:`.render` (the JSON PagerDuty returns) and
:mod:`.service` (routes, pagination, date ranges, rate limits).
"""

from simulator.pagerduty.entities import (
    ACK_TIMEOUT,
    API,
    KINDS,
    WEB,
    Incident,
    LogEntry,
    PDService,
    PDTeam,
    PDUser,
    iso,
)
from simulator.pagerduty.model import PagerDutyModel
from simulator.pagerduty.service import PagerDutyService

__all__ = [
    "ACK_TIMEOUT",
    "API",
    "KINDS",
    "WEB",
    "Incident",
    "LogEntry",
    "PDService",
    "PDTeam",
    "PDUser",
    "PagerDutyModel",
    "PagerDutyService",
    "iso",
]
