"""The organisation's PagerDuty account generated: teams, users, services and incidents.

:class:`PagerDutyModel` draws the whole incident timeline at construction (deterministic from
``org.rng``) and answers views as of any moment. It inherits the JSON rendering
(:mod:`.render`) so callers keep one object: ``model.incident_json(...)``, ``model.truth(now)``.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from simulator.org import Org, Person
from simulator.pagerduty.entities import (
    ACK_TIMEOUT,
    ALNUM,
    KINDS,
    TITLES,
    Incident,
    LogEntry,
    PDService,
    PDTeam,
    PDUser,
    _entry_order,
)
from simulator.pagerduty.render import PagerDutyRendering


def _poisson(rng: Any, lam: float) -> int:
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


class PagerDutyModel(PagerDutyRendering):
    """The organisation's PagerDuty account, generated once from ``org``."""

    def __init__(self, org: Org):
        self.org = org
        self._ids: set[str] = set()
        id_rng = org.rng("pagerduty", "ids")
        self._id_rng = id_rng
        self.teams = [PDTeam(self._new_id("P", 7), t.name) for t in org.teams]
        team_id = {t.name: t.id for t in self.teams}
        self.users = [
            PDUser(p.pd_user_id, p.name, p.email, p.team, p.pd_in_catalog and p.team is not None)
            for p in org.people
        ]
        self.services: list[PDService] = []
        for t in org.teams:
            for sid in t.services:
                self.services.append(self._service(sid, t.name, team_id[t.name]))
        for sid in org.unmapped_services:
            self.services.append(self._service(sid, None, None))
        self._service_by_id = {s.id: s for s in self.services}
        self._user_by_id = {u.id: u for u in self.users}
        self._team_by_id = {t.id: t for t in self.teams}
        self.incidents = self._generate()
        self._incident_by_id = {i.id: i for i in self.incidents}
        self._created = [i.created_at for i in self.incidents]
        self.log_entries = sorted(
            (e for i in self.incidents for e in i.log_entries), key=_entry_order
        )
        self._entry_times = [e.created_at for e in self.log_entries]
        self._corruptions: dict[tuple[str, str], tuple[tuple[str, ...], dict[str, Any]]] = {}

    # --- generation -------------------------------------------------------------------
    def _new_id(self, prefix: str, length: int) -> str:
        while True:
            value = prefix + "".join(
                self._id_rng.choice(ALNUM) for _ in range(length - len(prefix))
            )
            if value not in self._ids:
                self._ids.add(value)
                return value

    def _service(self, sid: str, team: str | None, team_id: str | None) -> PDService:
        label = (team or "legacy") + "-" + sid[-1].lower() if team else "legacy-monolith"
        return PDService(
            sid, label, team, team_id, self.org.start, self._new_id("P", 7), self._new_id("P", 7)
        )

    def _responders(self, service: PDService) -> list[Person]:
        team = next((t for t in self.org.teams if t.name == service.team), None)
        if team is None:  # an unmapped service: whoever is around, outsiders first
            return self.org.outsiders + [t.members[0] for t in self.org.teams]
        return list(team.members)

    def _generate(self) -> list[Incident]:
        org = self.org
        days = (org.horizon - org.start).days
        drafts: list[dict[str, Any]] = []
        for svc in self.services:
            rng = org.rng("pagerduty", "incidents", svc.id)
            rate = rng.uniform(*org.scale.incidents_per_service_day) * org.scale.activity
            story = org.scale.story if svc.team is not None else None
            for day in range(days):
                lam = rate
                if story is not None:  # deploy safety: fewer releases break the teams' services
                    lam *= story.incident_factor(org.start + timedelta(days=day))
                for k in range(_poisson(rng, lam)):
                    created = org.start + timedelta(days=day, seconds=rng.randint(60, 86399))
                    drafts.append(self._draft(svc, created, org.rng("pagerduty", svc.id, day, k)))
        drafts.extend(self._planted())
        drafts.sort(key=lambda d: (d["created_at"], d["service"].id, d["title"]))
        return [self._build(n, d) for n, d in enumerate(drafts, start=1)]

    def _draft(self, svc: PDService, created: datetime, rng: Any) -> dict[str, Any]:
        pool = self._responders(svc)
        others = [p for p in self.org.people if p not in pool]
        if others and rng.random() < 0.08:  # now and then someone from outside helps
            pool = pool + [rng.choice(others)]
        assignee = rng.choice(pool).pd_user_id
        urgency = "high" if rng.random() < 0.6 else "low"
        title = rng.choice(TITLES).format(s=svc.name)
        first_ack = created + timedelta(seconds=int(30 + rng.expovariate(1 / 600)))
        tail = self.org.scale.long_incidents
        r = rng.random()
        acks: list[tuple[str, datetime]] = []
        resolved_by: str | None
        if r < 0.03 * tail:  # never acknowledged: open for days until a clean-up, or forever
            forgotten = rng.random() < 0.25
            # Whole seconds everywhere: the API renders seconds, and the truth must be what a
            # reader can recompute from the API's records.
            resolved = (
                None if forgotten else created + timedelta(seconds=int(rng.uniform(2, 15) * 86400))
            )
            resolved_by = None if forgotten else assignee
        elif r < 0.13:  # resolved without acknowledgement (auto-resolve, or a quick fix)
            resolved = created + timedelta(seconds=rng.randint(120, 3 * 3600))
            resolved_by = None if rng.random() < 0.6 else assignee
        else:
            n_acks = 1 if rng.random() < 0.7 else (2 if rng.random() < 0.75 else 3)
            people = rng.sample(pool, min(n_acks, len(pool)))
            ack_user = assignee if assignee in [p.pd_user_id for p in people] else None
            order = ([ack_user] if ack_user else []) + [
                p.pd_user_id for p in people if p.pd_user_id != ack_user
            ]
            t = first_ack
            for user in order:
                acks.append((user, t))
                t += timedelta(seconds=rng.randint(60, 1800))
            if rng.random() < 0.06 * tail:  # a long one: days
                hold = timedelta(seconds=int(rng.uniform(24, 120) * 3600))
            else:
                hold = timedelta(seconds=int(min(rng.lognormvariate(3.6, 1.0), 20 * 60) * 60))
            resolved = max(acks[-1][1], first_ack + hold) + timedelta(seconds=rng.randint(1, 59))
            resolved_by = rng.choice(order)
        return {
            "service": svc,
            "created_at": created,
            "title": title,
            "urgency": urgency,
            "assignee": assignee,
            "acks": acks,
            "resolved_at": resolved,
            "resolved_by": resolved_by,
            "resolved_at_null": resolved is not None and rng.random() < 0.1,
            "priority": rng.choice([None, None, "P1", "P2", "P3"]),
            "escalate_to": rng.choice(pool).pd_user_id,
        }

    def _planted(self) -> list[dict[str, Any]]:
        """Edge cases every seed has, on the first team's first service, around ``now0``."""
        org = self.org
        svc = self.services[0]
        members = [p.pd_user_id for p in org.teams[0].members]
        a, b = members[0], members[-1]  # b: in the catalog by e-mail only
        now0 = org.now0

        def at(delta: timedelta) -> datetime:
            return max(org.start + timedelta(hours=1), now0 + delta)

        base = {
            "service": svc,
            "urgency": "high",
            "priority": None,
            "escalate_to": b,
            "resolved_at_null": False,
            "assignee": a,
        }
        old = at(-timedelta(days=10, hours=-3))
        late = at(-timedelta(hours=2))
        nulled = at(-timedelta(days=5))
        never = at(-timedelta(days=3))
        return [
            # old, open at now0, resolved during the next day (status change of an old one)
            {
                **base,
                "title": f"Slow memory leak on {svc.name}",
                "created_at": old,
                "acks": [(a, old + timedelta(minutes=10)), (b, old + timedelta(minutes=25))],
                "resolved_at": now0 + timedelta(hours=12),
                "resolved_by": b,
            },
            # created before now0, acknowledged and resolved after it
            {
                **base,
                "title": f"Replica lag on {svc.name}",
                "created_at": late,
                "acks": [(a, now0 + timedelta(hours=1))],
                "resolved_at": now0 + timedelta(hours=3),
                "resolved_by": a,
            },
            # resolved, but the incident's resolved_at field is null
            {
                **base,
                "title": f"Stuck deploy on {svc.name}",
                "created_at": nulled,
                "acks": [(b, nulled + timedelta(minutes=4))],
                "resolved_at": nulled + timedelta(hours=2),
                "resolved_by": b,
                "resolved_at_null": True,
            },
            # never acknowledged, never resolved
            {
                **base,
                "title": f"Noisy alert on {svc.name}",
                "urgency": "low",
                "created_at": never,
                "acks": [],
                "resolved_at": None,
                "resolved_by": None,
            },
        ]

    def _build(self, number: int, d: dict[str, Any]) -> Incident:
        svc: PDService = d["service"]
        created: datetime = d["created_at"]
        acks = d["acks"]
        resolved: datetime | None = d["resolved_at"]
        deadline = created + timedelta(seconds=ACK_TIMEOUT)
        first_action = min([t for _, t in acks] + ([resolved] if resolved else []), default=None)
        escalate = first_action is None or first_action > deadline
        inc = Incident(
            id=self._new_id("Q", 14),
            number=number,
            title=d["title"],
            urgency=d["urgency"],
            service_id=svc.id,
            created_at=created,
            assignee_id=d["assignee"],
            escalated_to=d["escalate_to"] if escalate else None,
            acks=acks,
            resolved_at=resolved,
            resolved_by=d["resolved_by"],
            resolved_at_null=d["resolved_at_null"],
            priority=d["priority"],
        )
        entries: list[tuple[str, datetime, str, str, tuple[str, ...]]] = [
            (
                "trigger_log_entry",
                created,
                svc.integration_id,
                "events_api_v2_inbound_integration_reference",
                (),
            ),
            ("assign_log_entry", created, svc.id, "service_reference", (d["assignee"],)),
        ]
        if inc.escalated_to:
            entries.append(
                (
                    "escalate_log_entry",
                    deadline,
                    svc.escalation_policy_id,
                    "escalation_policy_reference",
                    (inc.escalated_to,),
                )
            )
        entries += [("acknowledge_log_entry", t, u, "user_reference", ()) for u, t in acks]
        if resolved is not None:
            if inc.resolved_by:
                entries.append(
                    ("resolve_log_entry", resolved, inc.resolved_by, "user_reference", ())
                )
            else:
                entries.append(
                    (
                        "resolve_log_entry",
                        resolved,
                        svc.integration_id,
                        "events_api_v2_inbound_integration_reference",
                        (),
                    )
                )
        inc.log_entries = [
            LogEntry(
                self._new_id("R", 26), kind, t, inc.id, svc.id, agent, agent_type, assignees, seq
            )
            for seq, (kind, t, agent, agent_type, assignees) in enumerate(entries)
        ]
        return inc

    # --- views as of a time -----------------------------------------------------------
    def incidents_created(
        self, since: datetime | None, until: datetime | None, now: datetime
    ) -> list[Incident]:
        """Incidents with since <= created_at < until, visible at ``now``, oldest first."""
        lo = 0 if since is None else bisect.bisect_left(self._created, since)
        hi_time = now if until is None or until > now else None
        hi = (
            bisect.bisect_right(self._created, hi_time)
            if hi_time is not None
            else bisect.bisect_left(self._created, until)
        )
        return self.incidents[lo:hi]

    def entries_between(
        self, since: datetime | None, until: datetime | None, now: datetime
    ) -> list[LogEntry]:
        """Log entries with since <= created_at < until, visible at ``now``, oldest first."""
        lo = 0 if since is None else bisect.bisect_left(self._entry_times, since)
        hi_time = now if until is None or until > now else None
        hi = (
            bisect.bisect_right(self._entry_times, hi_time)
            if hi_time is not None
            else bisect.bisect_left(self._entry_times, until)
        )
        return self.log_entries[lo:hi]

    def incident(self, incident_id: str, now: datetime) -> Incident | None:
        inc = self._incident_by_id.get(incident_id)
        return inc if inc is not None and inc.created_at <= now else None

    def truth(self, now: datetime) -> dict[str, list[dict]]:
        """The records the API serves as of ``now``, per raw table of the extractor."""
        return {
            "services": [self.service_json(s, now) for s in self.services],
            "teams": [self.team_json(t) for t in self.teams],
            "users": [self.user_json(u) for u in self.users],
            "incidents": [
                self.incident_json(i, now) for i in self.incidents_created(None, None, now)
            ],
            "log_entries": [self.entry_json(e) for e in self.entries_between(None, None, now)],
        }

    # --- corruption, for tests of bad input ----------------------------------------------
    def corrupt(
        self,
        kind: str,
        record_id: str,
        *,
        drop: Iterable[str] = (),
        set_fields: dict[str, Any] | None = None,
    ) -> None:
        """Serve record ``record_id`` of ``kind`` (incidents, log_entries, services, teams,
        users) without the fields ``drop`` and with ``set_fields`` overridden."""
        if kind not in KINDS:
            raise ValueError(f"unknown kind {kind!r}")
        self._corruptions[(kind, record_id)] = (tuple(drop), dict(set_fields or {}))

    def _apply(self, kind: str, record: dict[str, Any]) -> dict[str, Any]:
        hit = self._corruptions.get((kind, record["id"]))
        if hit is None:
            return record
        drop, overrides = hit
        out = {k: v for k, v in record.items() if k not in drop}
        out.update(overrides)
        return out
