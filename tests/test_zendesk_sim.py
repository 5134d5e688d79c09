"""The simulated Zendesk API: its model's timeline and its HTTP behaviour.

``ZendeskSim`` serves the Zendesk part of :class:`simulator.app.Simulator` alone (same seed,
scale, model and service wiring), so these tests and the extractor's need no other API.
"""

from __future__ import annotations

import collections
import json
from datetime import UTC, datetime, timedelta

import pytest
import requests

from simulator.app import ZENDESK_EMAIL, ZENDESK_TOKEN, zendesk_basic
from simulator.clock import SimClock
from simulator.faults import FaultInjector
from simulator.org import Org, Scale
from simulator.server import ServedService
from simulator.zendesk import ZendeskModel, ZendeskService, decode_cursor
from tests.conftest import REAL_FIXTURES

SMALL = Scale(teams=2, repos_per_team=2, members_per_team=3, days=28, customers=15)
FIXTURES = REAL_FIXTURES / "zendesk"


class ZendeskSim:
    """The Zendesk service of the simulator on its own loopback port, wired like
    ``Simulator`` wires it (attribute names match: org, clock, zendesk, zendesk_model)."""

    def __init__(
        self,
        seed: int = 7,
        scale: Scale = SMALL,
        *,
        fault_rate: float = 0.0,
        timeout_delay: float = 2.5,
    ):
        self.org = Org.generate(seed, scale)
        self.clock = SimClock(self.org.now0)
        self.zendesk_model = ZendeskModel(self.org)
        self.zendesk = ZendeskService(
            self.zendesk_model,
            self.clock,
            FaultInjector(seed * 3 + 3, fault_rate),
            None,
            timeout_delay,
        )
        self._served = ServedService(self.zendesk)

    def __enter__(self) -> ZendeskSim:
        self._served.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._served.stop()

    @property
    def api(self) -> str:
        return self._served.base_url

    def env(self) -> dict[str, str]:
        return {
            "ZENDESK_URL": self.api.removesuffix("/api/v2"),
            "ZENDESK_EMAIL": ZENDESK_EMAIL,
            "ZENDESK_API_TOKEN": ZENDESK_TOKEN,
        }

    def advance(self, days: float = 0, hours: float = 0, seconds: float = 0) -> datetime:
        now = self.clock.advance(days=days, hours=hours, seconds=seconds)
        assert now <= self.org.horizon
        return now

    def set_clock(self, when: datetime) -> None:
        self.clock.advance(seconds=(when - self.clock.now()).total_seconds())

    def get(self, path: str, auth: str | None = None, **params) -> requests.Response:
        return requests.get(
            f"{self.api}{path}",
            params=params,
            timeout=5,
            headers={"Authorization": auth or zendesk_basic()},
        )


@pytest.fixture
def zsim():
    with ZendeskSim() as s:
        yield s


@pytest.fixture(scope="module")
def model() -> ZendeskModel:
    return ZendeskModel(Org.generate(7, SMALL))


def epoch(dt: datetime) -> int:
    return int(dt.timestamp())


# --- the model ---------------------------------------------------------------------------


def test_model_is_deterministic_and_starts_no_earlier_than_the_history(model):
    again = ZendeskModel(Org.generate(7, SMALL))
    h = model.org.horizon
    assert again.truth(h) == model.truth(h)
    assert all(e.at >= model.org.start for t in model.tickets for e in t.events)
    assert all(o.created_at >= model.org.start for o in model.organizations)


def test_no_customer_in_the_first_month_and_january_tickets_have_none(model):
    assert len(model.organizations) == SMALL.customers
    first = min(o.created_at for o in model.organizations)
    assert first >= datetime(2026, 2, 1, tzinfo=UTC)
    january = [t for t in model.tickets if t.created_at < datetime(2026, 2, 1, tzinfo=UTC)]
    assert january and all(t.organization_id is None for t in january)
    later = [t for t in model.tickets if t.created_at >= first]
    with_org = [t for t in later if t.organization_id is not None]
    assert 0 < len(later) - len(with_org) < len(with_org)  # mostly with a customer, a few not
    created = {o.id: o.created_at for o in model.organizations}
    assert all(created[t.organization_id] <= t.created_at for t in with_org)


def test_state_is_shown_as_of_now(model):
    now = model.org.now0
    truth = model.truth(now)
    ids = {r["id"] for r in truth["tickets"]}
    assert ids == {t.id for t in model.tickets if t.created_at <= now}
    later = model.truth(now + timedelta(days=3))
    assert len(later["tickets"]) > len(truth["tickets"])
    assert len(later["organizations"]) > len(truth["organizations"])
    changed = [t for t in model.tickets if t.created_at <= now < t.events[-1].at]
    assert changed  # advancing reveals later changes of existing tickets
    t = changed[0]
    assert t.record(now)["generated_timestamp"] <= epoch(now)
    for rec in truth["tickets"]:
        assert rec["updated_at"] <= now.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_the_timeline_holds_the_quirks_the_extractor_must_survive(model):
    h = model.org.horizon
    truth = model.truth(h)
    statuses = collections.Counter(r["status"] for r in truth["tickets"])
    assert {"closed", "deleted", "solved"} <= set(statuses)
    gen = collections.Counter(r["generated_timestamp"] for r in truth["tickets"])
    assert max(gen.values()) >= 5  # the closing automation: many tickets in one second
    system = [
        r
        for r in truth["tickets"]
        if r["updated_at"]
        != datetime.fromtimestamp(r["generated_timestamp"], UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    ]
    assert system  # generated_timestamp moved without updated_at
    field_id = model.handle_time_field_id
    values = [
        next((f["value"] for f in r["custom_fields"] if f["id"] == field_id), "absent")
        for r in truth["tickets"]
    ]
    assert "absent" in values and None in values
    assert any(isinstance(v, str) and v.isdigit() for v in values)
    assert any(set(r["tags"]) & set(model.trust_tags) for r in truth["tickets"])
    metrics = {m["ticket_id"]: m for m in truth["ticket_metrics"]}
    assert any(m["reopens"] for m in metrics.values())
    unsolved = [r for r in truth["tickets"] if r["status"] in ("new", "open", "pending")]
    assert all(metrics[r["id"]]["solved_at"] is None for r in unsolved)
    orgs = collections.Counter(r["updated_at"] for r in truth["organizations"])
    assert max(orgs.values()) >= 3  # organizations sharing one second
    assert any(r["updated_at"] != r["created_at"] for r in truth["organizations"])


def test_no_change_sits_in_the_minute_before_a_whole_hour(model):
    times = [e.at for t in model.tickets for e in t.events]
    times += [u for o in model.organizations for u in [o.created_at, *o.updates]]
    assert not [t for t in times if t.minute == 59 or (t.minute == 0 and t.second == 0)]


# --- the API against the real fixtures ---------------------------------------------------


def _types(a: dict, b: dict) -> list[str]:
    return [
        k
        for k in a
        if k in b and a[k] is not None and b[k] is not None and type(a[k]) is not type(b[k])
    ]


def test_responses_carry_the_keys_and_types_of_the_real_api(zsim):
    real = json.loads((FIXTURES / "incremental_tickets_cursor.json").read_text())
    body = zsim.get(
        "/incremental/tickets/cursor.json", start_time=epoch(zsim.org.start), include="metric_sets"
    ).json()
    assert set(real) <= set(body)
    ticket, real_ticket = body["tickets"][0], real["tickets"][0]
    assert set(ticket) == set(real_ticket)
    assert _types(ticket, real_ticket) == []
    real_metric = json.loads((FIXTURES / "ticket_metrics_list.json").read_text())
    metric = body["metric_sets"][0]
    assert set(metric) == set(real_metric["ticket_metrics"][0])
    assert _types(metric, real_metric["ticket_metrics"][0]) == []
    listed = zsim.get("/ticket_metrics.json").json()
    assert set(listed) == {"ticket_metrics", "meta", "links"}
    assert set(listed["meta"]) == {"has_more", "after_cursor", "before_cursor"}
    orgs = zsim.get("/incremental/organizations.json", start_time=0).json()
    assert set(orgs) == {"organizations", "count", "end_time", "next_page", "end_of_stream"}


def test_auth_basic_token_or_bearer_else_401(zsim):
    assert zsim.get("/ticket_metrics.json").status_code == 200
    assert zsim.get("/ticket_metrics.json", auth=f"Bearer {ZENDESK_TOKEN}").status_code == 200
    bad = zsim.get("/ticket_metrics.json", auth=zendesk_basic(token="wrong"))
    assert bad.status_code == 401
    assert bad.json() == {"error": "Couldn't authenticate you"}


def test_cursor_export_pages_hold_back_and_deleted(zsim):
    zsim.zendesk.ticket_page_max = 7
    start = epoch(zsim.org.start)
    seen, cursor, pages = [], None, 0
    while True:
        params = {"cursor": cursor} if cursor else {"start_time": start}
        body = zsim.get("/incremental/tickets/cursor.json", per_page=50, **params).json()
        pages += 1
        assert len(body["tickets"]) <= 7
        seen += [(t["generated_timestamp"], t["id"]) for t in body["tickets"]]
        cursor = body["after_cursor"]
        assert body["after_url"].endswith(f"cursor={cursor}")
        if body["end_of_stream"]:
            break
    assert seen == sorted(seen) and len(set(seen)) == len(seen)
    assert pages > 2
    truth = zsim.zendesk_model.truth(zsim.clock.now())["tickets"]
    assert sorted(i for _, i in seen) == [r["id"] for r in truth]
    assert decode_cursor(cursor) == seen[-1]
    # Polling again with the last cursor returns nothing new, and keeps the position.
    again = zsim.get("/incremental/tickets/cursor.json", cursor=cursor).json()
    assert again["tickets"] == [] and again["end_of_stream"] and again["after_cursor"] == cursor
    # A change within the last minute is held back until a minute has passed.
    ticket = next(
        t
        for t in zsim.zendesk_model.tickets
        if any(e.at > zsim.clock.now() for e in t.events) and t.created_at < zsim.clock.now()
    )
    change = next(e.at for e in ticket.events if e.at > zsim.clock.now())
    zsim.set_clock(change + timedelta(seconds=30))
    body = zsim.get("/incremental/tickets/cursor.json", cursor=cursor).json()
    assert ticket.id not in [t["id"] for t in body["tickets"]]
    zsim.advance(seconds=31)
    body = zsim.get("/incremental/tickets/cursor.json", cursor=cursor).json()
    assert ticket.id in [t["id"] for t in body["tickets"]]
    # Deleted tickets appear with status deleted unless excluded.
    full = zsim.get("/incremental/tickets/cursor.json", start_time=start).json()
    assert any(t["status"] == "deleted" for t in full["tickets"])
    kept = zsim.get(
        "/incremental/tickets/cursor.json", start_time=start, exclude_deleted="true"
    ).json()
    assert kept["tickets"] and all(t["status"] != "deleted" for t in kept["tickets"])


def test_time_based_export_repeats_the_boundary_second(zsim):
    zsim.zendesk.organization_page_size = 2
    body = zsim.get("/incremental/organizations.json", start_time=0).json()
    assert body["count"] == 2 and not body["end_of_stream"]
    end = body["end_time"]
    assert end == epoch(
        datetime.fromisoformat(body["organizations"][-1]["updated_at"].replace("Z", "+00:00"))
    )
    nxt = requests.get(
        body["next_page"], headers={"Authorization": zendesk_basic()}, timeout=5
    ).json()
    assert nxt["organizations"][0]["id"] == body["organizations"][-1]["id"]  # a duplicate


def test_ticket_metrics_cursor_pagination_and_offset_cap(zsim):
    ids, params = [], {"page[size]": 40}
    while True:
        body = zsim.get("/ticket_metrics.json", **params).json()
        ids += [m["id"] for m in body["ticket_metrics"]]
        if not body["meta"]["has_more"]:
            assert body["links"]["next"] is None
            break
        params = {"page[size]": 40, "page[after]": body["meta"]["after_cursor"]}
    assert ids == sorted(set(ids)) and len(ids) > 80
    assert zsim.get("/ticket_metrics.json", **{"page[size]": 101}).status_code == 400
    zsim.zendesk.offset_cap = 50
    assert zsim.get("/ticket_metrics.json", page=1, per_page=50).status_code == 200
    capped = zsim.get("/ticket_metrics.json", page=2, per_page=50)
    assert capped.status_code == 400 and "cursor pagination" in capped.json()["description"]


def test_incremental_export_limit_answers_429_with_retry_after(zsim):
    zsim.zendesk.export_limit, zsim.zendesk.export_window = 1, 30.0
    start = epoch(zsim.org.start)
    assert zsim.get("/incremental/organizations.json", start_time=start).status_code == 200
    throttled = zsim.get("/incremental/tickets/cursor.json", start_time=start)
    assert throttled.status_code == 429
    assert 1 <= int(throttled.headers["Retry-After"]) <= 30
    assert zsim.get("/ticket_metrics.json").status_code == 200  # other endpoints unaffected


def test_corrupted_records_are_served_as_asked(zsim):
    tid = zsim.zendesk_model.tickets[0].id
    zsim.zendesk_model.corrupt("tickets", tid, drop=("status",))
    zsim.zendesk_model.corrupt("tickets", tid + 1, status="exploded")
    body = zsim.get("/incremental/tickets/cursor.json", start_time=0).json()
    by_id = {t["id"]: t for t in body["tickets"]}
    assert "status" not in by_id[tid] and by_id[tid + 1]["status"] == "exploded"
