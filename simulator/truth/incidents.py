"""The truth of ``marts/incidents``: incidents with their acknowledge and resolve times
(``fct_incidents``) and the weekly incident figures (``kpi_incidents_weekly``).

The incident figures are written once here; the scorecard sums the same function monthly,
and capacity reads the responders' first acknowledgements from here.
"""

from __future__ import annotations

from datetime import date, datetime

from simulator.truth.common import (
    Record,
    Teams,
    bucket,
    hours_between,
    mean,
    minutes_between,
    percentile_cont,
    ratio,
    table_teams,
    week_start,
)


def acknowledged_at(inc: Record) -> datetime | None:
    """The first acknowledge log entry."""
    acks = [e["created_at"] for e in inc["log_entries"] if e["type"] == "acknowledge_log_entry"]
    return min(acks, default=None)


def resolved_at(inc: Record) -> datetime | None:
    """A resolved incident's resolved_at field, or the first resolve log entry when that
    is null; None while unresolved."""
    if inc["status"] != "resolved":
        return None
    if inc.get("resolved_at") is not None:
        return inc["resolved_at"]
    resolves = [e["created_at"] for e in inc["log_entries"] if e["type"] == "resolve_log_entry"]
    return min(resolves, default=None)


def responder_first_acks(inc: Record) -> dict[str, datetime]:
    """Each acknowledging user's first acknowledgement."""
    out: dict[str, datetime] = {}
    for e in sorted(inc["log_entries"], key=lambda e: e["created_at"]):
        if e["type"] == "acknowledge_log_entry":
            out.setdefault(e["agent_id"], e["created_at"])
    return out


def ops_hours(time_to_resolve_hours: float | None, responders: int) -> float | None:
    """Time to resolve x max(1, responders); none for an unresolved incident."""
    if time_to_resolve_hours is None:
        return None
    return time_to_resolve_hours * max(1, responders)


def fct_incidents(incidents: list[Record], teams: Teams) -> list[Record]:
    rows = []
    for inc in incidents:
        ack, res = acknowledged_at(inc), resolved_at(inc)
        responders = len(responder_first_acks(inc))
        ttr = hours_between(inc["created_at"], res) if res else None
        rows.append(
            {
                "incident_id": inc["incident_id"],
                "service_id": inc["service_id"],
                "team": teams.of_service(inc["service_id"]),
                "urgency": inc["urgency"],
                "created_at": inc["created_at"],
                "acknowledged_at": ack,
                "resolved_at": res,
                "time_to_ack_minutes": minutes_between(inc["created_at"], ack) if ack else None,
                "time_to_resolve_hours": ttr,
                "responders": responders,
                "ops_hours": ops_hours(ttr, responders),
            }
        )
    return sorted(rows, key=lambda r: (r["created_at"], r["incident_id"]))


def incident_figures(incidents: list[Record], deployments: int) -> Record:
    resolved = [
        i["time_to_resolve_hours"] for i in incidents if i["time_to_resolve_hours"] is not None
    ]
    acked = [i["time_to_ack_minutes"] for i in incidents if i["time_to_ack_minutes"] is not None]
    per_100 = ratio(len(incidents), deployments)
    return {
        "incidents": len(incidents),
        "high_urgency_incidents": sum(1 for i in incidents if i["urgency"] == "high"),
        "resolved_incidents": len(resolved),
        "mttr_hours": mean(resolved),
        "ttr_p50_hours": percentile_cont(resolved, 0.5),
        "ttr_p95_hours": percentile_cont(resolved, 0.95),
        "mtta_minutes": mean(acked),
        "incidents_per_100_deployments": None if per_100 is None else per_100 * 100,
        "n": len(resolved),
    }


def kpi_incidents_weekly(
    incidents: list[Record], deployments: list[Record], weeks: list[date], team_names: list[str]
) -> list[Record]:
    teams = table_teams(team_names, [i["team"] for i in incidents])
    inc_by = bucket(incidents, lambda i: week_start(i["created_at"]))
    deps_by = bucket(
        [d for d in deployments if d["succeeded"]], lambda d: week_start(d["deployed_at"])
    )
    rows = [
        {
            "week_start": w,
            "team": team,
            **incident_figures(inc_by.get((w, team), []), len(deps_by.get((w, team), []))),
        }
        for w in weeks
        for team in teams
    ]
    return sorted(rows, key=lambda r: (r["week_start"], r["team"]))
