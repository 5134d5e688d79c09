"""The simulated Zendesk Support API: organizations (customers), tickets and ticket metrics.

The model generates the whole timeline from ``org.start`` to ``org.horizon`` at construction;
the service shows it as of the clock. What a ground-truth module should read:

- ``ZendeskModel.organizations``: :class:`Organization` (``id``, ``created_at``, ``updates``).
  A customer is active in a month when ``created_at`` is before the month's end.
- ``ZendeskModel.tickets``: :class:`Ticket` (``id``, ``created_at``, ``organization_id``,
  ``events``) with ``status_at(now)``, ``is_deleted(now)``, ``tags_at(now)``,
  ``solved_at(now)`` (the metric's value), ``handle_time_seconds(now)``,
  ``generated_at(now)`` and ``updated_at(now)``.
- ``ZendeskModel.truth(now)``: the exact records of the raw tables ``tickets``,
  ``ticket_metrics`` and ``organizations`` that a complete export sees at ``now``.
- ``ZendeskModel.handle_time_field_id`` and ``trust_tags`` (from ``org.catalog()``),
  ``first_organization_at``. The handle-time value is served as a string of seconds
  (``"1860"``), as Zendesk serves numeric custom fields. A ticket's metric set has id
  ``Ticket.metric_id``; a deleted ticket keeps its metric set, frozen at deletion.

Quirks the model produces on purpose:

- no organization in the first calendar month (January): a month with tickets and no
  customers; every ticket created before the first organization has no organization (unless
  ``Scale.established_customers`` puts customers before the history; then tickets also
  arrive in proportion to the customers, ``Scale.tickets_per_customer_month``);
- the closing automation closes every ticket solved 4+ days ago nightly at 03:17:00, so
  many tickets share one ``generated_timestamp`` second (across page boundaries too); the
  weekly CRM sync updates several organizations at 02:05:00 (same second), and a bulk
  import creates the 2nd-4th organizations in one second;
- system changes (a late handle-time write by the time-tracking integration, a satisfaction
  survey being sent) move ``generated_timestamp`` but not ``updated_at``;
- deleted tickets (``status: deleted``), reopened tickets, tickets without the handle-time
  field, and tickets whose handle time stays null;
- every change avoids the minute before a whole hour (and the hour's first second), so at a
  clock on a whole hour nothing is held back by the export's one-minute delay and
  ``truth(now)`` is exactly what a full export returns.
"""

from __future__ import annotations

import base64
import bisect
import math
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from simulator.clock import SimClock
from simulator.faults import FaultInjector
from simulator.org import Org
from simulator.server import Request, Response, Service, WindowLimiter
from simulator.story import ENTERPRISE_BLOCKER_TAGS

ACCOUNT_URL = "https://acme.zendesk.com/api/v2"
WEEKEND_FACTOR = 0.4  # tickets on a weekend day, against a weekday
WEEKDAY_SHARE = (5 + 2 * WEEKEND_FACTOR) / 7  # a day's mean rate, against a weekday's
HOLD_BACK_SECONDS = 60  # incremental exports leave out what changed in the last minute
PRODUCT_FIELD_ID = 360000002  # a dropdown custom field every ticket carries
ESCALATED_FIELD_ID = 360000003  # a checkbox custom field every ticket carries
TICKET_ID_BASE = 1000
METRIC_ID_BASE = 26_200_000
ORG_ID_BASE = 360_100_000_000
AGENT_IDS = (377_900_000_001, 377_900_000_002, 377_900_000_003, 377_900_000_004)
GROUP_ID = 360_004_077_472
BRAND_ID = 360_002_256_672
STATUSES = ("new", "open", "pending", "hold", "solved", "closed", "deleted")
TYPES = ("problem", "incident", "question", "task", None)
PRIORITIES = ("urgent", "high", "normal", "low", None)
SUBJECTS = (
    "Dashboard shows wrong totals",
    "Cannot log in",
    "Export is slow",
    "Invoice question",
    "API returns 500",
    "Numbers differ from our warehouse",
    "How do I add a user?",
    "Webhook not firing",
    "Report missing rows",
    "Feature request: dark mode",
    "Password reset email never arrives",
)
ENTERPRISE_SUBJECTS = {
    "sso": "SSO login fails for users from our identity provider",
    "permissions": "Viewer role can edit dashboards in the admin area",
    "audit_log": "Security review needs an export of the audit log",
}
PRODUCTS = ("analytics", "billing", "api", "integrations", "admin")
ORG_WORDS = (
    "Northwind",
    "Globex",
    "Initech",
    "Umbrella",
    "Hooli",
    "Vandelay",
    "Stark",
    "Wayne",
    "Acme",
    "Tyrell",
    "Cyberdyne",
    "Soylent",
    "Wonka",
    "Gringotts",
    "Oscorp",
)
ORG_SUFFIXES = ("Labs", "Retail", "Logistics", "Health", "Bank", "Media", "Foods", "Energy")


def _epoch(dt: datetime) -> int:
    return int(dt.timestamp())


def _iso(dt: datetime | None) -> str | None:
    return None if dt is None else dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _settle(t: datetime) -> datetime:
    """Move a change out of (HH:59:00, HH+1:00:00]: at a clock on a whole hour nothing is
    then inside the export's one-minute hold-back window (see module docstring)."""
    t = t.replace(microsecond=0)
    if t.minute == 59 or (t.minute == 0 and t.second == 0):
        top = t.replace(minute=0, second=0) + (
            timedelta(hours=1) if t.minute == 59 else timedelta()
        )
        t = top + timedelta(seconds=1 + t.second)
    return t


def _minutes(a: datetime, b: datetime) -> int:
    return int((b - a).total_seconds() // 60)


def business_minutes(a: datetime, b: datetime) -> int:
    """Minutes of [a, b) inside business hours (Mon-Fri 09:00-17:00 UTC)."""
    total = 0.0
    day = a.replace(hour=0, minute=0, second=0, microsecond=0)
    while day < b:
        if day.weekday() < 5:
            lo = max(a, day + timedelta(hours=9))
            hi = min(b, day + timedelta(hours=17))
            if hi > lo:
                total += (hi - lo).total_seconds()
        day += timedelta(days=1)
    return int(total // 60)


def _duration(a: datetime | None, b: datetime | None) -> dict[str, int | None]:
    if a is None or b is None:
        return {"calendar": None, "business": None}
    return {"calendar": _minutes(a, b), "business": business_minutes(a, b)}


# --- organizations -----------------------------------------------------------------------


@dataclass
class Organization:
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

    def record(self, now: datetime) -> dict[str, Any]:
        """The API record as of ``now`` (the organization must be visible)."""
        rev = self.revision(now)
        tiers = ("starter", "growth", "enterprise")
        tier = tiers[(tiers.index(self.tier) + rev) % len(tiers)] if rev else self.tier
        return {
            "url": f"{ACCOUNT_URL}/organizations/{self.id}.json",
            "id": self.id,
            "name": self.name,
            "shared_tickets": False,
            "shared_comments": False,
            "external_id": f"crm-{self.id % 100000:05d}",
            "created_at": _iso(self.created_at),
            "updated_at": _iso(self.updated_at(now)),
            "domain_names": [self.domain],
            "details": "",
            "notes": f"account review #{rev}" if rev else "",
            "group_id": None,
            "tags": [f"tier_{tier}"],
            "organization_fields": {"tier": tier, "crm_revision": rev},
        }


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
class Ticket:
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

    def record(self, now: datetime) -> dict[str, Any]:
        """The API record as of ``now`` (the ticket must be visible)."""
        a = self.attributes(now)
        custom = [{"id": PRODUCT_FIELD_ID, "value": self.product}]
        if self.has_handle_field:
            value = a.get("handle_time")
            # Numeric custom fields come back as strings, as Zendesk returns them.
            custom.append(
                {"id": self.handle_field_id, "value": None if value is None else str(value)}
            )
        custom.append({"id": ESCALATED_FIELD_ID, "value": a.get("priority") == "urgent"})
        return {
            "url": f"{ACCOUNT_URL}/tickets/{self.id}.json",
            "id": self.id,
            "external_id": None,
            "via": {"channel": self.channel, "source": {"from": {}, "to": {}, "rel": None}},
            "created_at": _iso(self.created_at),
            "updated_at": _iso(self.updated_at(now)),
            "type": self.type,
            "subject": self.subject,
            "raw_subject": self.subject,
            "description": f"{self.subject}. (ticket {self.id})",
            "priority": a["priority"],
            "status": a["status"],
            "recipient": "support@acme.example" if self.channel == "email" else None,
            "requester_id": self.requester_id,
            "submitter_id": self.requester_id,
            "assignee_id": a.get("assignee_id"),
            "organization_id": self.organization_id,
            "group_id": GROUP_ID if a.get("assignee_id") else None,
            "collaborator_ids": [],
            "follower_ids": [],
            "email_cc_ids": [],
            "forum_topic_id": None,
            "problem_id": None,
            "has_incidents": False,
            "is_public": True,
            "due_at": None,
            "tags": list(a["tags"]),
            "custom_fields": custom,
            "satisfaction_rating": {"score": a.get("satisfaction", "unoffered")},
            "sharing_agreement_ids": [],
            "custom_status_id": 1_500_007_502_300 + STATUSES.index(a["status"]),
            "fields": [dict(c) for c in custom],
            "followup_ids": [],
            "ticket_form_id": 360_000_389_592 if self.has_handle_field else 360_000_389_593,
            "brand_id": BRAND_ID,
            "allow_channelback": False,
            "allow_attachments": True,
            "from_messaging_channel": False,
            "generated_timestamp": _epoch(self.generated_at(now)),
        }

    def metric_set(self, now: datetime) -> dict[str, Any]:
        """The ticket's metric set as of ``now`` (frozen at deletion)."""
        evs = [e for e in self.events_until(now) if e.kind != "delete"]
        first = {}
        last = {}
        for e in evs:
            first.setdefault(e.kind, e.at)
            last[e.kind] = e.at
        agent = [e.at for e in evs if e.kind in ("assign", "reply", "solve")]
        status_changes = [e.at for e in evs if "status" in e.changes]
        comments = [e.at for e in evs if e.kind in ("create", "reply", "customer_reply")]
        metric_kinds = (
            "create",
            "assign",
            "reply",
            "customer_reply",
            "hold",
            "solve",
            "reopen",
            "close",
        )
        updated = max(e.at for e in evs if e.kind in metric_kinds)
        solved = self.solved_at(now)
        # Time spent per status until the latest solve: pending is the agent waiting on the
        # requester, hold is on hold, the rest is the requester waiting.
        spent = {"pending": 0.0, "hold": 0.0}
        status, since = None, self.created_at
        end = solved or now
        for e in evs:
            if e.at > end:
                break
            if "status" in e.changes:
                if status in spent:
                    spent[status] += (e.at - since).total_seconds()
                status, since = e.changes["status"], e.at
        pending_m = int(spent["pending"] // 60)
        hold_m = int(spent["hold"] // 60)
        full = _duration(self.created_at, solved)
        waits_known = solved is not None
        return {
            "url": f"{ACCOUNT_URL}/ticket_metrics/{self.metric_id}.json",
            "id": self.metric_id,
            "ticket_id": self.id,
            "created_at": _iso(self.created_at),
            "updated_at": _iso(updated),
            "group_stations": 1 if "assign" in first else 0,
            "assignee_stations": 1 if "assign" in first else 0,
            "reopens": sum(1 for e in evs if e.kind == "reopen"),
            "replies": sum(1 for e in evs if e.kind == "reply"),
            "assignee_updated_at": _iso(max(agent) if agent else None),
            "requester_updated_at": _iso(last.get("customer_reply", self.created_at)),
            "status_updated_at": _iso(max(status_changes)),
            "initially_assigned_at": _iso(first.get("assign")),
            "assigned_at": _iso(first.get("assign")),
            "solved_at": _iso(solved),
            "latest_comment_added_at": _iso(max(comments)),
            "reply_time_in_minutes": _duration(self.created_at, first.get("reply")),
            "first_resolution_time_in_minutes": _duration(self.created_at, first.get("solve")),
            "full_resolution_time_in_minutes": full,
            "agent_wait_time_in_minutes": {
                "calendar": pending_m if waits_known else None,
                "business": pending_m // 3 if waits_known else None,
            },
            "requester_wait_time_in_minutes": {
                "calendar": max(0, full["calendar"] - pending_m) if waits_known else None,
                "business": max(0, full["business"] - pending_m // 3) if waits_known else None,
            },
            "on_hold_time_in_minutes": {"calendar": hold_m, "business": hold_m // 3},
        }


# --- the model ---------------------------------------------------------------------------


class ZendeskModel:
    """Organizations and tickets of the synthetic organisation, generated once."""

    def __init__(self, org: Org):
        self.org = org
        settings = org.catalog()["settings"]
        self.handle_time_field_id: int = settings["handle_time_field_id"]
        self.trust_tags: tuple[str, ...] = tuple(settings["trust_tags"])
        self.first_organization_at = self._first_of_next_month(org.start)
        self.organizations: list[Organization] = self._organizations()
        self.tickets: list[Ticket] = self._tickets()
        self._org_by_id = {o.id: o for o in self.organizations}
        self._ticket_by_id = {t.id: t for t in self.tickets}
        # (table, id) -> (fields to drop, fields to set): test hooks to serve a bad record.
        self.corruptions: dict[tuple[str, int], tuple[tuple[str, ...], dict[str, Any]]] = {}
        self._cache_lock = threading.Lock()
        self._ticket_order: tuple[datetime, list[tuple[int, int]]] | None = None
        self._org_order: tuple[datetime, list[tuple[int, int]]] | None = None

    @staticmethod
    def _first_of_next_month(t: datetime) -> datetime:
        year, month = (t.year + 1, 1) if t.month == 12 else (t.year, t.month + 1)
        return datetime(year, month, 1, tzinfo=UTC)

    # --- generation ----------------------------------------------------------------------
    def _organizations(self) -> list[Organization]:
        org, rng = self.org, self.org.rng("zendesk", "organizations")
        n = org.scale.customers
        first = self.first_organization_at
        onboard_end = max(org.now0, first + timedelta(days=2))
        span_a = (onboard_end - first).total_seconds()
        span_b = max(1.0, (org.horizon - onboard_end).total_seconds())
        # Customers from before the history (signed up over the three years before it), then
        # three quarters of the rest onboard before now0, the others after it.
        established = round(n * org.scale.established_customers)
        newcomers = max(1, round((n - established) * 0.75))
        created: list[datetime] = []
        for i in range(n):
            if i < established:
                t = org.start - timedelta(seconds=rng.uniform(60, 3 * 365 * 86400))
            elif i < established + newcomers:
                t = first + timedelta(seconds=1 + rng.random() * (span_a - 2))
            else:
                t = onboard_end + timedelta(seconds=rng.random() * span_b)
            created.append(_settle(t))
        created.sort()
        if n >= 4:  # a bulk import: the 2nd to 4th customers arrive in the same second
            created[1] = created[2] = created[3] = created[1]
        # The weekly CRM sync (Mondays 02:05:00 sharp) touches a quarter of the customers in
        # one second.
        sync_days = int((org.horizon - first).total_seconds() // 86400) + 1
        syncs = [
            first + timedelta(days=d, hours=2, minutes=5)
            for d in range(sync_days)
            if (first + timedelta(days=d)).weekday() == 0
        ]
        out: list[Organization] = []
        for i, c in enumerate(created):
            updates = {
                _settle(c + timedelta(seconds=rng.uniform(3600, 20 * 86400)))
                for _ in range(rng.choice((0, 0, 1, 1, 2, 3)))
            }
            updates |= {s for s in syncs if s > c and rng.random() < 0.25}
            updates = {u for u in updates if c < u <= org.horizon}
            word = ORG_WORDS[i % len(ORG_WORDS)]
            suffix = ORG_SUFFIXES[(i // len(ORG_WORDS)) % len(ORG_SUFFIXES)]
            name = f"{word} {suffix}" + (f" {i}" if i >= len(ORG_WORDS) * len(ORG_SUFFIXES) else "")
            out.append(
                Organization(
                    id=ORG_ID_BASE + i + 1,
                    name=name,
                    created_at=c,
                    updates=sorted(updates),
                    domain=f"{word.lower()}-{suffix.lower()}{i}.example",
                    tier=rng.choice(("starter", "growth", "enterprise")),
                )
            )
        return out

    def _tickets(self) -> list[Ticket]:
        org = self.org
        rng = org.rng("zendesk", "tickets")
        per_customer = org.scale.tickets_per_customer_month
        org_created = [o.created_at for o in self.organizations]
        creations: list[datetime] = []
        day = org.start
        while day < org.horizon:
            if per_customer is None:
                rate = 6.0 * org.scale.activity
            else:  # in proportion to the customers, the month's rate spread over its weekdays
                customers = bisect.bisect_right(org_created, day)
                rate = customers * per_customer * 12 / 365.25 / WEEKDAY_SHARE
            rate *= WEEKEND_FACTOR if day.weekday() >= 5 else 1.0
            for _ in range(max(0, round(rate * rng.uniform(0.5, 1.5)))):
                t = _settle(day + timedelta(seconds=rng.uniform(60, 86400 - 60)))
                if org.start <= t <= org.horizon:
                    creations.append(t)
            day += timedelta(days=1)
        creations.sort()
        tickets = []
        for i, t0 in enumerate(creations):
            known = bisect.bisect_right(org_created, t0)  # customers existing at t0
            tier = None
            if known and rng.random() < 0.9:
                o = self.organizations[rng.randrange(known)]
                oid, requester = o.id, 20_000_000 + (o.id - ORG_ID_BASE) * 10 + rng.randrange(4)
                tier = o.tier
            else:
                oid, requester = None, 29_000_000 + rng.randrange(500)
            tickets.append(self._ticket(TICKET_ID_BASE + i + 1, t0, oid, requester, rng, tier))
        return tickets

    def _ticket(
        self, tid: int, t0: datetime, oid: int | None, requester: int, rng, tier: str | None
    ) -> Ticket:
        horizon = self.org.horizon
        story = self.org.scale.story
        subject = rng.choice(SUBJECTS)
        product = rng.choice(PRODUCTS)
        tags = [product]
        late_data = 0.12 * (story.late_data_trust_factor(t0) if story else 1.0)
        if rng.random() < late_data or "differ" in subject or "wrong totals" in subject:
            tags.append(rng.choice(self.trust_tags))
        if story is not None:  # its own random stream: the rest of the ticket stays as it was
            theme_rng = self.org.rng("zendesk", "enterprise-blocker", tid)
            if theme_rng.random() < story.enterprise_blocker_rate(tier, t0):
                tag = theme_rng.choice(ENTERPRISE_BLOCKER_TAGS)
                tags.append(tag)
                if len(tags) == 2:  # not about data: the subject says what blocks them
                    subject = ENTERPRISE_SUBJECTS[tag]
        priority = rng.choice(PRIORITIES)
        events = [
            TicketEvent(
                t0,
                "create",
                {
                    "status": "new" if rng.random() < 0.8 else "open",
                    "priority": priority,
                    "tags": tuple(sorted(tags)),
                    "assignee_id": None,
                    "handle_time": None,
                    "satisfaction": "unoffered",
                },
            )
        ]
        t = t0

        def at(lo_s: float, hi_s: float) -> datetime:
            nonlocal t
            t = _settle(t + timedelta(seconds=rng.uniform(lo_s, hi_s)))
            return t

        def add(kind: str, when: datetime, system: bool = False, **changes: Any) -> None:
            events.append(TicketEvent(when, kind, changes, system))

        delete_after = rng.uniform(600, 2 * 86400) if rng.random() < 0.04 else None
        has_handle = rng.random() < 0.9
        handle_mode = rng.choices(("with_solve", "late", "never"), (0.7, 0.15, 0.15))[0]
        handle = 0
        add("assign", at(300, 6 * 3600), status="open", assignee_id=rng.choice(AGENT_IDS))
        rounds = 2 if rng.random() < 0.12 else 1
        for r in range(rounds):
            if r:
                add("reopen", at(3600, 2 * 86400), status="open")
            add("reply", at(60, 8 * 3600))
            if rng.random() < 0.6:
                events[-1].changes["status"] = "pending"
                add("customer_reply", at(3600, 2 * 86400), status="open")
            if rng.random() < 0.1:
                add("hold", at(600, 4 * 3600), status="hold")
                add("reply", at(3600, 86400), status="open")
            if rng.random() < 0.06 and self.trust_tags[0] not in events[0].changes["tags"]:
                add(
                    "tag",
                    at(600, 3600),
                    tags=tuple(sorted({*events[0].changes["tags"], self.trust_tags[0]})),
                )
            handle += rng.randint(300, 7200)
            solve = {"status": "solved"}
            if handle_mode == "with_solve":
                solve["handle_time"] = handle
            add("solve", at(1800, 3 * 86400), **solve)
        last_solve = t
        if handle_mode == "late":  # the time-tracking integration writes it later
            add("handle_time", at(600, 2 * 86400), system=True, handle_time=handle)
        if rng.random() < 0.3:  # the survey goes out: a system change
            add("survey", at(3600, 86400), system=True, satisfaction="offered")
        # The closing automation runs nightly at 03:17:00 and closes, in one second, every
        # ticket solved 4+ days earlier.
        close = (last_solve + timedelta(days=4)).replace(hour=3, minute=17, second=0)
        if close < last_solve + timedelta(days=4):
            close += timedelta(days=1)
        add("close", max(close, _settle(t + timedelta(seconds=1))), status="closed")
        events.sort(key=lambda e: e.at)
        if delete_after is not None:  # deleted: nothing happens after the deletion
            gone = _settle(t0 + timedelta(seconds=delete_after))
            events = [e for e in events if e.at < gone] + [
                TicketEvent(gone, "delete", {"status": "deleted"})
            ]
        events = [e for e in events if e.at <= horizon]
        return Ticket(
            id=tid,
            created_at=t0,
            organization_id=oid,
            requester_id=requester,
            subject=subject,
            channel=rng.choice(("email", "web", "api")),
            type=rng.choice(TYPES),
            product=product,
            handle_field_id=self.handle_time_field_id if has_handle else None,
            events=events,
        )

    # --- views as of a time ---------------------------------------------------------------
    def organization(self, oid: int) -> Organization:
        return self._org_by_id[oid]

    def ticket(self, tid: int) -> Ticket:
        return self._ticket_by_id[tid]

    def ticket_order(
        self, now: datetime, hold_back: int = HOLD_BACK_SECONDS
    ) -> list[tuple[int, int]]:
        """(generated_timestamp, id) of the tickets the export shows at ``now``, sorted."""
        with self._cache_lock:
            if self._ticket_order and self._ticket_order[0] == now:
                return self._ticket_order[1]
        cutoff = _epoch(now) - hold_back
        order = sorted(
            (g, t.id)
            for t in self.tickets
            if t.visible(now) and (g := _epoch(t.generated_at(now))) <= cutoff
        )
        with self._cache_lock:
            self._ticket_order = (now, order)
        return order

    def organization_order(
        self, now: datetime, hold_back: int = HOLD_BACK_SECONDS
    ) -> list[tuple[int, int]]:
        """(updated_at epoch, id) of the organizations the export shows at ``now``, sorted."""
        with self._cache_lock:
            if self._org_order and self._org_order[0] == now:
                return self._org_order[1]
        cutoff = _epoch(now) - hold_back
        order = sorted(
            (u, o.id)
            for o in self.organizations
            if o.visible(now) and (u := _epoch(o.updated_at(now))) <= cutoff
        )
        with self._cache_lock:
            self._org_order = (now, order)
        return order

    def truth(self, now: datetime) -> dict[str, list[dict]]:
        """The records of each raw table a complete export sees at ``now`` (records changed
        within the last minute are held back, as the API does), sorted by id."""
        tickets = [
            self.ticket(tid) for _, tid in sorted(self.ticket_order(now), key=lambda p: p[1])
        ]
        return {
            "tickets": [t.record(now) for t in tickets],
            "ticket_metrics": [t.metric_set(now) for t in tickets],
            "organizations": [
                self.organization(oid).record(now)
                for _, oid in sorted(self.organization_order(now), key=lambda p: p[1])
            ],
        }

    # --- test hooks ----------------------------------------------------------------------
    def corrupt(
        self, table: str, record_id: int, *, drop: tuple[str, ...] = (), **set_fields: Any
    ) -> None:
        """Serve record ``record_id`` of ``table`` (tickets, ticket_metrics, organizations)
        without the ``drop`` fields and with ``set_fields`` overridden, e.g.
        ``corrupt("tickets", 1001, status="exploded")``."""
        self.corruptions[(table, record_id)] = (tuple(drop), dict(set_fields))

    def served(self, table: str, record: dict[str, Any]) -> dict[str, Any]:
        bad = self.corruptions.get((table, record["id"]))
        if bad is None:
            return record
        drop, set_fields = bad
        out = {k: v for k, v in record.items() if k not in drop}
        out.update(set_fields)
        return out


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
        from simulator.app import ZENDESK_TOKEN, zendesk_basic

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
