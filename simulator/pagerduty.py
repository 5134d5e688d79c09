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

Helpers: ``Incident.status_at(now)``, ``first_ack_at``, ``responder_ids``;
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
"""

from __future__ import annotations

import bisect
import math
import string
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from simulator.clock import SimClock
from simulator.faults import FaultInjector
from simulator.org import Org, Person
from simulator.server import Request, Response, Service, WindowLimiter

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


def _pd_token() -> str:
    from simulator.app import PAGERDUTY_TOKEN  # lazily: app imports this module

    return PAGERDUTY_TOKEN


def iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- the model --------------------------------------------------------------------------
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

    @property
    def first_ack_at(self) -> datetime | None:
        return self.acks[0][1] if self.acks else None

    @property
    def responder_ids(self) -> list[str]:
        return [u for u, _ in self.acks]

    def status_at(self, now: datetime) -> str:
        if self.resolved_at is not None and self.resolved_at <= now:
            return "resolved"
        if self.acks and self.acks[0][1] <= now:
            return "acknowledged"
        return "triggered"


def _poisson(rng: Any, lam: float) -> int:
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


class PagerDutyModel:
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

    # --- JSON shapes (the keys and value types of tests/fixtures/real/pagerduty) ----------
    def _ref(self, kind: str, rid: str, summary: str, path: str) -> dict[str, Any]:
        return {
            "id": rid,
            "type": kind,
            "summary": summary,
            "self": f"{API}/{path}/{rid}",
            "html_url": f"{WEB}/{path}/{rid}",
        }

    def user_ref(self, uid: str) -> dict[str, Any]:
        return self._ref("user_reference", uid, self._user_by_id[uid].name, "users")

    def service_ref(self, svc: PDService) -> dict[str, Any]:
        return self._ref("service_reference", svc.id, svc.name, "services")

    def team_refs(self, team_id: str | None) -> list[dict[str, Any]]:
        if team_id is None:
            return []
        return [self._ref("team_reference", team_id, self._team_by_id[team_id].name, "teams")]

    def _agent(self, svc: PDService, agent_id: str, agent_type: str) -> dict[str, Any]:
        if agent_type == "user_reference":
            return self.user_ref(agent_id)
        if agent_type == "service_reference":
            return self.service_ref(svc)
        if agent_type == "escalation_policy_reference":
            return self._ref(agent_type, agent_id, "Default", "escalation_policies")
        return {
            "id": agent_id,
            "type": agent_type,
            "summary": "Events API v2",
            "self": f"{API}/services/{svc.id}/integrations/{agent_id}",
            "html_url": f"{WEB}/services/{svc.id}/integrations/{agent_id}",
        }

    def team_json(self, team: PDTeam) -> dict[str, Any]:
        return self._apply(
            "teams",
            {
                "id": team.id,
                "type": "team",
                "summary": team.name,
                "self": f"{API}/teams/{team.id}",
                "html_url": f"{WEB}/teams/{team.id}",
                "name": team.name,
                "description": f"The {team.name} team",
            },
        )

    def user_json(self, user: PDUser) -> dict[str, Any]:
        team = next((t for t in self.teams if t.name == user.team), None)
        contact = f"PC{user.id[-5:]}"
        return self._apply(
            "users",
            {
                "avatar_url": f"https://secure.gravatar.com/avatar/{user.id.lower()}.png?d=mm&r=PG",
                "billed": True,
                "color": "green",
                "contact_methods": [
                    {
                        "id": contact,
                        "type": "email_contact_method_reference",
                        "summary": "Default",
                        "self": f"{API}/users/{user.id}/contact_methods/{contact}",
                    }
                ],
                "coordinated_incidents": [],
                "email": user.email,
                "html_url": f"{WEB}/users/{user.id}",
                "id": user.id,
                "invitation_sent": False,
                "name": user.name,
                "notification_rules": [],
                "role": "user",
                "self": f"{API}/users/{user.id}",
                "summary": user.name,
                "teams": self.team_refs(team.id if team else None),
                "time_zone": "Etc/UTC",
                "type": "user",
            },
        )

    def service_json(self, svc: PDService, now: datetime) -> dict[str, Any]:
        mine = [i for i in self.incidents_created(None, None, now) if i.service_id == svc.id]
        open_urgencies = {i.urgency for i in mine if i.status_at(now) != "resolved"}
        status = (
            "critical" if "high" in open_urgencies else "warning" if open_urgencies else "active"
        )
        return self._apply(
            "services",
            {
                "auto_resolve_timeout": 14400,
                "status": status,
                "incident_urgency_rule": {"type": "constant", "urgency": "high"},
                "addons": [],
                "type": "service",
                "description": None,
                "self": f"{API}/services/{svc.id}",
                "escalation_policy": self._ref(
                    "escalation_policy_reference",
                    svc.escalation_policy_id,
                    "Default",
                    "escalation_policies",
                ),
                "created_at": iso(svc.created_at),
                "summary": svc.name,
                "integrations": [
                    self._agent(
                        svc, svc.integration_id, "events_api_v2_inbound_integration_reference"
                    )
                ],
                "html_url": f"{WEB}/services/{svc.id}",
                "acknowledgement_timeout": ACK_TIMEOUT,
                "support_hours": None,
                "last_incident_timestamp": iso(mine[-1].created_at) if mine else None,
                "teams": self.team_refs(svc.team_id),
                "scheduled_actions": [],
                "id": svc.id,
                "name": svc.name,
            },
        )

    def incident_json(self, inc: Incident, now: datetime) -> dict[str, Any]:
        svc = self._service_by_id[inc.service_id]
        status = inc.status_at(now)
        resolved = status == "resolved"
        acks = [(u, t) for u, t in inc.acks if t <= now]
        seen = [e for e in inc.log_entries if e.created_at <= now]
        changes = [e for e in seen if e.type in ("trigger_log_entry", "resolve_log_entry")]
        if acks and not resolved:
            first = next(e for e in seen if e.type == "acknowledge_log_entry")
            changes.append(first)
        change = max(changes, key=_entry_order)
        if inc.escalated_at is not None and inc.escalated_at <= now:
            assignment = (inc.escalated_to, inc.escalated_at)
        else:
            assignment = (inc.assignee_id, inc.created_at)
        trigger = inc.log_entries[0]
        priority = None
        if inc.priority:
            pid = f"PPRI{inc.priority[-1]}00"
            priority = {
                "id": pid,
                "type": "priority",
                "summary": inc.priority,
                "self": f"{API}/priorities/{pid}",
                "html_url": None,
                "name": inc.priority,
            }
        record = {
            "incident_number": inc.number,
            "title": inc.title,
            "description": inc.title,
            "created_at": iso(inc.created_at),
            "updated_at": iso(max(e.created_at for e in seen)),
            "status": status,
            "pending_actions": [],
            "incident_key": f"alert-{inc.id.lower()}",
            "service": self.service_ref(svc),
            "assignments": []
            if resolved
            else [{"at": iso(assignment[1]), "assignee": self.user_ref(assignment[0])}],
            "acknowledgements": []
            if resolved
            else [{"at": iso(t), "acknowledger": self.user_ref(u)} for u, t in acks],
            "last_status_change_at": iso(change.created_at),
            "last_status_change_by": self._agent(svc, change.agent_id, change.agent_type),
            "first_trigger_log_entry": {
                "id": trigger.id,
                "type": "trigger_log_entry_reference",
                "summary": "Triggered through the API",
                "self": f"{API}/log_entries/{trigger.id}",
                "html_url": f"{WEB}/incidents/{inc.id}/log_entries/{trigger.id}",
            },
            "escalation_policy": self._ref(
                "escalation_policy_reference",
                svc.escalation_policy_id,
                "Default",
                "escalation_policies",
            ),
            "teams": self.team_refs(svc.team_id),
            "alert_counts": {
                "all": 1,
                "triggered": 0 if resolved else 1,
                "resolved": 1 if resolved else 0,
            },
            "impacted_services": [self.service_ref(svc)],
            "is_mergeable": True,
            "resolve_reason": None,
            "urgency": inc.urgency,
            "priority": priority,
            "resolved_at": (
                iso(inc.resolved_at)
                if resolved and inc.resolved_at and not inc.resolved_at_null
                else None
            ),
            "id": inc.id,
            "type": "incident",
            "summary": f"[#{inc.number}] {inc.title}",
            "self": f"{API}/incidents/{inc.id}",
            "html_url": f"{WEB}/incidents/{inc.id}",
        }
        return self._apply("incidents", record)

    def entry_json(self, entry: LogEntry) -> dict[str, Any]:
        svc = self._service_by_id[entry.service_id]
        inc = self._incident_by_id[entry.incident_id]
        verb = entry.type.removesuffix("_log_entry")
        agent = self._agent(svc, entry.agent_id, entry.agent_type)
        channel = {
            "user_reference": "website",
            "service_reference": "auto",
            "escalation_policy_reference": "timeout",
        }.get(entry.agent_type, "api")
        summary = {
            "trigger": "Triggered through the API",
            "assign": f"Assigned by {agent['summary']}",
            "escalate": f"Escalated by {agent['summary']}",
            "acknowledge": f"Acknowledged by {agent['summary']}",
            "resolve": f"Resolved by {agent['summary']}",
        }.get(verb, verb)
        record: dict[str, Any] = {
            "id": entry.id,
            "type": entry.type,
            "summary": summary,
            "self": f"{API}/log_entries/{entry.id}",
            "html_url": None,
            "created_at": iso(entry.created_at),
            "agent": agent,
            "channel": {"type": channel},
            "service": self.service_ref(svc),
            "incident": {
                "id": inc.id,
                "type": "incident_reference",
                "summary": f"[#{inc.number}] {inc.title}",
                "self": f"{API}/incidents/{inc.id}",
                "html_url": f"{WEB}/incidents/{inc.id}",
            },
            "teams": self.team_refs(svc.team_id),
            "contexts": [],
        }
        if entry.assignee_ids:
            record["assignees"] = [self.user_ref(u) for u in entry.assignee_ids]
        if entry.type == "acknowledge_log_entry":
            record["acknowledgement_timeout"] = ACK_TIMEOUT
        if entry.type in ("trigger_log_entry", "acknowledge_log_entry", "resolve_log_entry"):
            record["event_details"] = (
                {"description": inc.title} if entry.type == "trigger_log_entry" else {}
            )
        return self._apply("log_entries", record)


def _entry_order(e: LogEntry) -> tuple[datetime, str, int]:
    return (e.created_at, e.incident_id, e.seq)


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
        if req.header("Authorization") == f"Token token={_pd_token()}":
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
