"""The Zendesk account's constants (ids, vocabulary, the export's hold-back) and the time
helpers (business minutes, the hour-edge rule) shared by the generation and the records.

Apart so the entities, their JSON and the generator can all import them without a cycle.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

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
