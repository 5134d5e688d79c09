"""The organisation's Zendesk generated: organizations (customers) and tickets.

:class:`ZendeskModel` draws the whole timeline at construction and answers views as of any
moment (the export orders, the truth), with hooks for tests to serve broken records.
"""

from __future__ import annotations

import bisect
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from simulator.org import Org
from simulator.story import ENTERPRISE_BLOCKER_TAGS
from simulator.zendesk.account import (
    AGENT_IDS,
    ENTERPRISE_SUBJECTS,
    HOLD_BACK_SECONDS,
    ORG_ID_BASE,
    ORG_SUFFIXES,
    ORG_WORDS,
    PRIORITIES,
    PRODUCTS,
    SUBJECTS,
    TICKET_ID_BASE,
    TYPES,
    WEEKDAY_SHARE,
    WEEKEND_FACTOR,
    _epoch,
    _settle,
)
from simulator.zendesk.entities import (
    Organization,
    Ticket,
    TicketEvent,
)

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
