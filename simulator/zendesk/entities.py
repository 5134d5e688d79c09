"""Zendesk's entities: organizations and tickets with their whole timelines.

Plain dataclasses the model generates and the ground truth reads; each answers questions as
of a moment (``status_at``, ``solved_at`` ...). Their JSON lives in :mod:`.render`.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from simulator.zendesk.account import METRIC_ID_BASE
from simulator.zendesk.render import OrganizationRecord, TicketRecord

# --- organizations -----------------------------------------------------------------------


@dataclass
class Organization(OrganizationRecord):
    """A customer. ``updates`` are the times of its later changes (ascending, each strictly
    after ``created_at``); each bumps ``updated_at`` and the notes revision."""

    id: int
    name: str
    created_at: datetime
    updates: list[datetime]
    domain: str
    tier: str

    def visible(self, now: datetime) -> bool:
        return self.created_at <= now

    def revision(self, now: datetime) -> int:
        return bisect.bisect_right(self.updates, now)

    def updated_at(self, now: datetime) -> datetime:
        n = self.revision(now)
        return self.updates[n - 1] if n else self.created_at


# --- tickets -----------------------------------------------------------------------------


@dataclass
class TicketEvent:
    """One change of a ticket. ``changes`` sets ticket attributes (``status``, ``priority``,
    ``tags``, ``assignee_id``, ``handle_time``, ``satisfaction``). A ``system`` change moves
    ``generated_timestamp`` only; every other change also moves ``updated_at``.

    kinds: create, assign, reply, customer_reply, hold, solve, reopen, close, delete, tag,
    handle_time (system), survey (system)."""

    at: datetime
    kind: str
    changes: dict[str, Any] = field(default_factory=dict)
    system: bool = False


@dataclass
class Ticket(TicketRecord):
    """A ticket and its whole timeline. ``handle_field_id`` None: the ticket's form lacks
    the handle-time field, so ``custom_fields`` has no entry for it at all."""

    id: int
    created_at: datetime
    organization_id: int | None
    requester_id: int
    subject: str
    channel: str
    type: str | None
    product: str
    handle_field_id: int | None
    events: list[TicketEvent]
    _times: list[datetime] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        self._times = [e.at for e in self.events]

    @property
    def has_handle_field(self) -> bool:
        return self.handle_field_id is not None

    @property
    def metric_id(self) -> int:
        return METRIC_ID_BASE + self.id

    def events_until(self, now: datetime) -> list[TicketEvent]:
        return self.events[: bisect.bisect_right(self._times, now)]

    def visible(self, now: datetime) -> bool:
        return self.created_at <= now

    def generated_at(self, now: datetime) -> datetime:
        """The latest change of any kind (``generated_timestamp``)."""
        return self.events_until(now)[-1].at

    def updated_at(self, now: datetime) -> datetime:
        """The latest non-system change (``updated_at``)."""
        return next(e.at for e in reversed(self.events_until(now)) if not e.system)

    def attributes(self, now: datetime) -> dict[str, Any]:
        state: dict[str, Any] = {}
        for e in self.events_until(now):
            state.update(e.changes)
        return state

    def status_at(self, now: datetime) -> str:
        return self.attributes(now)["status"]

    def is_deleted(self, now: datetime) -> bool:
        return self.status_at(now) == "deleted"

    def tags_at(self, now: datetime) -> list[str]:
        return list(self.attributes(now)["tags"])

    def handle_time_seconds(self, now: datetime) -> int | None:
        """The handle-time field's value in seconds (None when null or absent)."""
        return self.attributes(now).get("handle_time") if self.has_handle_field else None

    def solved_at(self, now: datetime) -> datetime | None:
        """The metric's ``solved_at``: the latest solve while the ticket is solved or closed
        (frozen at deletion; None while unsolved or reopened)."""
        status = None
        solved = None
        for e in self.events_until(now):
            if e.kind == "delete":
                break
            status = e.changes.get("status", status)
            if e.kind == "solve":
                solved = e.at
        return solved if status in ("solved", "closed") else None
