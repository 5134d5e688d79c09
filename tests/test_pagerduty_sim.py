"""The simulated PagerDuty API itself: shapes of the real fixtures, quirks, state as of now."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import requests

from extractors.base import iso, parse_time
from simulator.app import PAGERDUTY_TOKEN, Simulator
from simulator.org import Org
from simulator.pagerduty import PagerDutyModel
from simulator.server import WindowLimiter
from tests.conftest import REAL_FIXTURES, SMALL

FIXTURES = REAL_FIXTURES / "pagerduty"
AUTH = {"Authorization": f"Token token={PAGERDUTY_TOKEN}"}


@pytest.fixture(scope="module")
def shared_sim():
    """One simulator for the read-only tests here (its clock never moves)."""
    with Simulator(seed=7, scale=SMALL) as s:
        yield s


def get(sim, path: str, headers=None, **params) -> requests.Response:
    return requests.get(
        f"{sim.base_urls['pagerduty']}{path}",
        params=params,
        headers=AUTH if headers is None else headers,
        timeout=5,
    )


def _same_shape(fixture: dict, ours: dict, where: str) -> None:
    """Every key of the real record is served, with the same JSON type (a null in the
    fixture only says the key exists)."""
    for key, value in fixture.items():
        assert key in ours, f"{where}: missing {key}"
        if value is None or ours[key] is None:
            continue
        assert type(ours[key]) is type(value), f"{where}.{key}: {type(ours[key])}"
        if isinstance(value, dict):
            _same_shape(value, ours[key], f"{where}.{key}")
        elif isinstance(value, list) and value and ours[key]:
            if isinstance(value[0], dict):
                _same_shape(value[0], ours[key][0], f"{where}.{key}[0]")


@pytest.mark.parametrize(
    "path,key,fixture",
    [
        ("/services", "services", "list_services.json"),
        ("/teams", "teams", "list_teams.json"),
        ("/users", "users", "list_users.json"),
        ("/incidents", "incidents", "list_incidents.json"),
    ],
)
def test_records_have_the_real_shape(shared_sim, path, key, fixture):
    real = json.loads((FIXTURES / fixture).read_text())
    real_items = real[key] if isinstance(real, dict) else real
    body = get(shared_sim, path, limit=100).json()
    assert set(body) == {key, "limit", "offset", "more", "total"}
    if isinstance(real, dict):  # list_users.json has the real envelope
        for k in ("limit", "offset", "more"):
            assert type(body[k]) is type(real[k])
    for ours in body[key]:
        _same_shape(real_items[0], ours, f"{key}[{ours['id']}]")


def test_log_entries_have_the_real_shape_per_type(shared_sim):
    real = json.loads((FIXTURES / "list_log_entries.json").read_text())
    body = get(shared_sim, "/log_entries", limit=100).json()
    by_type = {e["type"]: e for e in body["log_entries"]}
    assert {
        "trigger_log_entry",
        "assign_log_entry",
        "acknowledge_log_entry",
        "resolve_log_entry",
    } <= set(by_type)
    for entry in real:
        ours = by_type[entry["type"]]
        # The real resolve entry came from an integration: compare the agent by kind.
        _same_shape(entry, ours, entry["type"])


def test_authorization_must_be_exact(shared_sim):
    assert get(shared_sim, "/teams").status_code == 200
    for header in (
        f"Bearer {PAGERDUTY_TOKEN}",
        f"Token {PAGERDUTY_TOKEN}",
        "Token token=wrong",
        f"token token={PAGERDUTY_TOKEN}",
    ):
        resp = get(shared_sim, "/teams", headers={"Authorization": header})
        assert resp.status_code == 401
        assert set(resp.json()["error"]) == {"message", "code"}
    assert get(shared_sim, "/teams", headers={}).status_code == 401


def test_classic_pagination_envelope(shared_sim):
    first = get(shared_sim, "/incidents", date_range="all").json()
    assert first["limit"] == 25 and first["offset"] == 0 and first["total"] is None
    assert first["more"] is True and len(first["incidents"]) == 25
    counted = get(shared_sim, "/incidents", date_range="all", total="true", limit=500).json()
    assert counted["limit"] == 100  # clamped to the maximum
    total = counted["total"]
    last = get(shared_sim, "/incidents", date_range="all", offset=total - 3).json()
    assert len(last["incidents"]) == 3 and last["more"] is False
    numbers = [i["incident_number"] for i in counted["incidents"]]
    assert numbers == sorted(numbers)  # sort_by=created_at: oldest first


def test_offset_cap_answers_400_code_2002(shared_sim):
    resp = get(shared_sim, "/log_entries", date_range="all", offset=9_950, limit=100)
    assert resp.status_code == 400
    assert resp.json() == {
        "error": {
            "code": 2002,
            "message": "Offset must be less than "
            "10000. Please refine your search by adding a date "
            "range.",
        }
    }
    assert (
        get(shared_sim, "/log_entries", date_range="all", offset=9_900, limit=100).status_code
        == 200
    )


def test_time_range_rules(shared_sim):
    org, now = shared_sim.org, shared_sim.clock.now()
    every = get(shared_sim, "/incidents", date_range="all", limit=100).json()["incidents"]
    created = [parse_time(i["created_at"]) for i in every]
    month = timedelta(days=30)

    def ids(**params) -> list[str]:
        return [
            i["id"] for i in get(shared_sim, "/incidents", limit=100, **params).json()["incidents"]
        ]

    # since only: silently one month from since.
    since = org.start - timedelta(days=10)
    one_month = ids(since=iso(since))
    assert one_month == [i["id"] for i, c in zip(every, created, strict=True) if c < since + month]
    assert 0 < len(one_month) < len(every)
    # until only: one month back from until; no end at all: the last month.
    assert ids(until=iso(now)) == [
        i["id"] for i, c in zip(every, created, strict=True) if now - month <= c < now
    ]
    assert ids() == [i["id"] for i, c in zip(every, created, strict=True) if c >= now - month]
    # since inclusive, until exclusive.
    t = created[10]
    assert every[10]["id"] in ids(since=iso(t), until=iso(now))
    assert every[10]["id"] not in ids(since=iso(org.start), until=iso(t))
    # More than six months: refused.
    resp = get(shared_sim, "/incidents", since=iso(now - timedelta(days=200)), until=iso(now))
    assert resp.status_code == 400 and resp.json()["error"]["code"] == 2001


def test_log_entries_newest_first_and_per_incident(shared_sim):
    body = get(shared_sim, "/log_entries", date_range="all", limit=100).json()
    times = [e["created_at"] for e in body["log_entries"]]
    assert times == sorted(times, reverse=True)
    incident = body["log_entries"][0]["incident"]["id"]
    own = get(shared_sim, f"/incidents/{incident}/log_entries").json()["log_entries"]
    assert own and {e["incident"]["id"] for e in own} == {incident}
    assert get(shared_sim, "/incidents/QNOSUCHINCIDENT").status_code == 404


def test_rate_limit_answers_429_with_optional_headers(shared_sim):
    service = shared_sim.pagerduty
    service.limiter = WindowLimiter(1, 30.0)
    try:
        assert get(shared_sim, "/teams").headers["ratelimit-remaining"] == "0"
        resp = get(shared_sim, "/teams")
        assert resp.status_code == 429
        assert resp.json() == {"error": {"message": "Rate Limit Exceeded", "code": 2020}}
        assert resp.headers["ratelimit-limit"] == "1"
        assert 1 <= int(resp.headers["ratelimit-reset"]) <= 30
        service.rate_headers_on_429 = False
        resp = get(shared_sim, "/teams")
        assert resp.status_code == 429 and "ratelimit-reset" not in resp.headers
    finally:
        service.limiter, service.rate_headers_on_429 = None, True


def test_state_as_of_the_clock_and_advancing_reveals_activity(sim):
    model, now0 = sim.pagerduty_model, sim.clock.now()
    future = next(i for i in model.incidents if i.created_at > now0)
    assert get(sim, f"/incidents/{future.id}").status_code == 404
    open_now = [
        i
        for i in model.incidents_created(None, None, now0)
        if i.status_at(now0) != "resolved"
        and i.resolved_at is not None
        and i.resolved_at <= now0 + timedelta(days=1)
    ]
    assert open_now
    before = get(sim, f"/incidents/{open_now[0].id}").json()["incident"]
    assert before["resolved_at"] is None and before["status"] != "resolved"
    sim.advance(days=1)
    after = get(sim, f"/incidents/{open_now[0].id}").json()["incident"]
    assert after["status"] == "resolved" and after["updated_at"] > before["updated_at"]
    visible = future.created_at <= sim.clock.now()
    assert get(sim, f"/incidents/{future.id}").status_code == (200 if visible else 404)
    assert model.truth(sim.clock.now())["incidents"] != model.truth(now0)["incidents"]


def test_model_generates_the_edge_cases():
    org = Org.generate(7, SMALL)
    model = PagerDutyModel(org)
    now = org.now0
    seen = model.incidents_created(None, None, now)
    assert all(e.created_at >= org.start for e in model.log_entries)
    assert [i.number for i in model.incidents] == list(range(1, len(model.incidents) + 1))
    assert [i.created_at for i in model.incidents] == sorted(i.created_at for i in model.incidents)
    assert any(not i.acks and i.resolved_at is None for i in seen)  # never acknowledged
    assert any(not i.acks and i.resolved_at and i.resolved_at <= now for i in seen)
    assert any(len(i.acks) > 1 for i in seen)  # several responders
    assert any(
        i.resolved_at and i.resolved_at - i.created_at > timedelta(days=1) for i in seen
    )  # long incidents
    nulled = [i for i in seen if i.resolved_at_null and i.status_at(now) == "resolved"]
    assert nulled
    record = model.incident_json(nulled[0], now)
    assert record["status"] == "resolved" and record["resolved_at"] is None
    resolve = [e for e in nulled[0].log_entries if e.type == "resolve_log_entry"]
    assert resolve and resolve[0].created_at == nulled[0].resolved_at
    assert any(i.escalated_to for i in seen)
    # Responders outside the catalog, and a member the catalog knows by e-mail only.
    by_id = {u.id: u for u in model.users}
    responders = {u for i in seen for u, _ in i.acks}
    assert any(by_id[u].team is None for u in responders)
    assert any(not by_id[u].in_catalog_by_id and by_id[u].team for u in responders)
    # Deterministic from the seed.
    again = PagerDutyModel(Org.generate(7, SMALL))
    assert again.truth(now) == model.truth(now)
