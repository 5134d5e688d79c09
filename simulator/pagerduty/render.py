"""PagerDuty's API objects: the JSON the REST API v2 returns for each entity, as of a moment.

Shapes are the keys and value types of the real payloads (``tests/fixtures/real/pagerduty``).
A mixin of :class:`simulator.pagerduty.model.PagerDutyModel`, apart from the generation so
either can change without reading the other.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from simulator.pagerduty.entities import (
    ACK_TIMEOUT,
    API,
    WEB,
    Incident,
    LogEntry,
    PDService,
    PDTeam,
    PDUser,
    _entry_order,
    iso,
)


class PagerDutyRendering:
    """JSON records of the model's entities (mixed into the model)."""

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
