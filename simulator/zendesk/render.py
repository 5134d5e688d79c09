"""Zendesk's API objects: the JSON the API returns for an organization, a ticket and its
metric set, as of a moment.

Mixins of the entities (:mod:`.entities`), so each record is ``ticket.record(now)`` as before,
kept apart from the entities' timeline logic so the shapes can be read (and checked against
``tests/fixtures/real/zendesk``) on their own.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from simulator.zendesk.account import (
    ACCOUNT_URL,
    BRAND_ID,
    ESCALATED_FIELD_ID,
    GROUP_ID,
    PRODUCT_FIELD_ID,
    STATUSES,
    _duration,
    _epoch,
    _iso,
)


class OrganizationRecord:
    """The organization's API record (mixed into :class:`.entities.Organization`)."""

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


class TicketRecord:
    """The ticket's API record and metric set (mixed into :class:`.entities.Ticket`)."""

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
