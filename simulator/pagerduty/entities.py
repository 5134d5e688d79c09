"""PagerDuty's entities and vocabulary: the dataclasses the model generates and the ground
truth reads, the constants and helpers shared by the generation, the rendering and the service.
"""

from __future__ import annotations

import string
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

API = "https://api.pagerduty.com"
WEB = "https://acme.pagerduty.com"
ACK_TIMEOUT = 1800  # seconds before an unacknowledged incident escalates
ALNUM = string.ascii_uppercase + string.digits
TITLES = [
    "High error rate on {s}",
    "Latency p99 above SLO on {s}",
    "{s} health check failing",
    "Disk almost full on {s} primary",
    "{s} queue backlog growing",
    "5xx spike on {s}",
    "Certificate expiring for {s}",
    "{s} pods crash looping",
]
KINDS = ("incidents", "log_entries", "services", "teams", "users")


def iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- the entities ---------------------------------------------------------------------
@dataclass(frozen=True)
class PDTeam:
    id: str
    name: str  # the catalog team name


@dataclass(frozen=True)
class PDUser:
    id: str
    name: str
    email: str
    team: str | None  # catalog team, None for an outsider
    in_catalog_by_id: bool  # the catalog lists this PagerDuty id (False: by e-mail, or never)


@dataclass(frozen=True)
class PDService:
    id: str
    name: str
    team: str | None  # catalog team that owns it; None for an unmapped service
    team_id: str | None  # the PagerDuty team id of that team
    created_at: datetime
    escalation_policy_id: str
    integration_id: str


@dataclass(frozen=True)
class LogEntry:
    id: str
    type: str  # trigger_/assign_/escalate_/acknowledge_/resolve_log_entry
    created_at: datetime
    incident_id: str
    service_id: str
    agent_id: str
    agent_type: str  # user_reference, service_reference, ..._inbound_integration_reference
    assignee_ids: tuple[str, ...] = ()  # assign and escalate entries
    seq: int = 0  # order of entries sharing a second (trigger before assign, ...)


@dataclass
class Incident:
    id: str
    number: int
    title: str
    urgency: str  # high | low
    service_id: str
    created_at: datetime
    assignee_id: str  # assigned at creation
    escalated_to: str | None  # reassigned at created_at + ACK_TIMEOUT when still unacked
    acks: list[tuple[str, datetime]]  # (user id, time): one per acknowledging user
    resolved_at: datetime | None  # None: still open at the horizon
    resolved_by: str | None  # user id; None: auto-resolved by the integration
    resolved_at_null: bool = False  # the API shows resolved_at = null for this one
    priority: str | None = None  # P1..P3 or None
    log_entries: list[LogEntry] = field(default_factory=list)

    @property
    def escalated_at(self) -> datetime | None:
        return self.created_at + timedelta(seconds=ACK_TIMEOUT) if self.escalated_to else None

    def status_at(self, now: datetime) -> str:
        if self.resolved_at is not None and self.resolved_at <= now:
            return "resolved"
        if self.acks and self.acks[0][1] <= now:
            return "acknowledged"
        return "triggered"


def _entry_order(e: LogEntry) -> tuple[datetime, str, int]:
    return (e.created_at, e.incident_id, e.seq)
