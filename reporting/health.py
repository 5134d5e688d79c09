"""Data health: every stream's sync status, the gate's result, and what this publication
lacks, so a reader knows how far to trust the figures above."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field

from reporting import formatting as fmt
from reporting.figure import Figure
from reporting.marts import Publication

STATUS = "pipeline_sync_status"
# What the report reads that an older publication may lack (contract v2), in words.
V2_PARTS = {
    ("kpi_scorecard", "is_complete"): "which months are complete",
    ("kpi_support_themes_monthly", None): "support tickets per theme",
    ("mart_platform_bets", None): "the bets ledger",
    ("publications", None): "the publication history and the gate's warnings",
    ("kpi_restatements", None): "restated figures",
}
ERROR_CHARS = 300


@dataclass
class Health:
    streams: list[dict] = field(default_factory=list)
    publication: dict = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    restatements: list[dict] = field(default_factory=list)
    restatements_known: bool = False


def no_billing_export(pub: Publication) -> bool:
    """Without an export the cost mart's compute cost is NULL in every month; with one, a
    month without charges holds 0."""
    table = "kpi_cost_to_serve_monthly"
    if pub.has(table, "has_billing_export"):
        rows = pub.rows(table, ["has_billing_export"])
        return bool(rows) and not any(r["has_billing_export"] for r in rows)
    rows = pub.rows(table, ["compute_cost"])
    return bool(rows) and all(r["compute_cost"] is None for r in rows)


def _warnings(raw) -> list[str]:
    if raw is None or raw == "":
        return []
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            return [raw]
    if isinstance(raw, dict):
        return [f"{k}: {v}" for k, v in raw.items()]
    if isinstance(raw, list | tuple):
        return [str(w) for w in raw]
    return [str(raw)]


def _streams(pub: Publication, now: dt.datetime) -> list[dict]:
    cols = [
        "source",
        "stream",
        "status",
        "last_success_at",
        "records",
        "retries",
        "throttled_seconds",
        "error",
    ]
    out = []
    for r in pub.rows(STATUS, cols, order="source, stream"):
        key = {"source": r["source"], "stream": r["stream"]}
        error = (r.get("error") or "").strip()
        out.append(
            {
                "name": f"{r['source']}/{r['stream']}",
                "status": r.get("status") or fmt.NONE,
                "ok": r.get("status") == "success" and not error,
                "last_success": fmt.when(r.get("last_success_at")),
                "age": fmt.age(r.get("last_success_at"), now),
                "records": Figure(fmt.count(r.get("records")), STATUS, "records", key),
                "retries": Figure(fmt.count(r.get("retries")), STATUS, "retries", key),
                "throttled": Figure(
                    fmt.seconds(r.get("throttled_seconds")), STATUS, "throttled_seconds", key
                ),
                "error": error[:ERROR_CHARS] + ("…" if len(error) > ERROR_CHARS else ""),
            }
        )
    return out


def build(pub: Publication, now: dt.datetime, billing_missing: bool) -> Health:
    h = Health(streams=_streams(pub, now))
    if not pub.has(STATUS):
        h.missing.append("The pipeline's sync status is not in this publication.")
    for s in h.streams:
        if s["last_success"] == fmt.NONE:
            h.missing.append(f"{s['name']} has never synced successfully: its figures are absent.")
    pubs = pub.rows(
        "publications",
        ["publication_id", "published_at", "as_of", "warnings"],
        order="published_at desc",
    )
    if pubs:
        latest = pubs[0]
        h.publication = {
            "id": latest.get("publication_id"),
            "published_at": fmt.when(latest.get("published_at")),
            "as_of": fmt.when(latest.get("as_of")),
            "count": len(pubs),
        }
        h.warnings = _warnings(latest.get("warnings"))
    if billing_missing:
        h.missing.append(
            "No billing export: compute cost and cost to serve per customer are unknown "
            "(not zero); operations cost per customer is still shown."
        )
    for (table, column), words in V2_PARTS.items():
        if not pub.has(table, *([column] if column else [])):
            what = f"{table}.{column}" if column else table
            h.missing.append(f"{words.capitalize()}: {what} is not in this publication.")
    if pub.has("kpi_restatements"):
        h.restatements_known = True
        cols = ["month_start", "kpi", "first_published_at", "first_value", "current_value"]
        for r in pub.rows("kpi_restatements", [*cols, "change"], order="month_start, kpi"):
            kpi = r["kpi"]
            key = {"month_start": r["month_start"], "kpi": kpi}
            h.restatements.append(
                {
                    "month": fmt.month(r["month_start"]),
                    "kpi": kpi,
                    "first_published_at": fmt.when(r.get("first_published_at")),
                    "first": Figure(
                        fmt.value(kpi, r.get("first_value")), "kpi_restatements", "first_value", key
                    ),
                    "current": Figure(
                        fmt.value(kpi, r.get("current_value")),
                        "kpi_restatements",
                        "current_value",
                        key,
                    ),
                }
            )
    return h
