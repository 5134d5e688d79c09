"""The PagerDuty extractor against the simulated PagerDuty API, over HTTP.

Every test compares the raw layer's latest versions with ``model.truth(now)`` exactly. Quirk
tests name, in their docstring, the bug of a shipped connector they would catch.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import requests

import extractors.pagerduty as pd
from extractors.base import Page, ReadContext, Stream, parse_time
from extractors.errors import AuthError, ExtractError, RecordError
from extractors.rawstore import DuckDBSourceStore, duckdb_path
from extractors.sources import sync_source
from platform_kpis.catalog import parse_catalog
from platform_kpis.config import Settings
from simulator.app import PAGERDUTY_TOKEN
from simulator.faults import FaultInjector
from simulator.server import WindowLimiter
from tests.conftest import FAST_RETRY, open_raw, run_sync, settings_for

TABLES = ("services", "teams", "users", "incidents", "log_entries")


# --- helpers ----------------------------------------------------------------------------
def raw_latest(tmp_path, table: str) -> dict[str, dict]:
    with open_raw(tmp_path, "pagerduty") as store:
        return {key: rec for key, rec, _ in store.latest(table)}


def assert_equals_truth(sim, tmp_path, tables=TABLES) -> dict[str, list[dict]]:
    truth = sim.pagerduty_model.truth(sim.clock.now())
    for table in tables:
        expected = {r["id"]: r for r in truth[table]}
        assert len(expected) == len(truth[table])
        got = raw_latest(tmp_path, table)
        missing, extra = expected.keys() - got.keys(), got.keys() - expected.keys()
        assert not missing and not extra, f"{table}: missing {missing}, extra {extra}"
        stale = [k for k in expected if got[k] != expected[k]]
        assert not stale, f"{table}: {len(stale)} records differ from the API, e.g. {stale[0]}"
    return truth


def assert_no_repeated_versions(tmp_path) -> None:
    """No key holds two identical versions: a re-read added nothing downstream."""
    with open_raw(tmp_path, "pagerduty") as store:
        for table in TABLES:
            dupes = store.con.execute(
                f"select record_key, count(*) from {table} group by record_key, record_hash "
                "having count(*) > 1"
            ).fetchall()
            assert dupes == [], f"{table}: repeated versions {dupes[:3]}"


def list_queries(sim, path: str) -> list[dict[str, list[str]]]:
    return [q for _, p, q in sim.pagerduty.request_log if p == path]


def spy_errors(sim) -> list[int]:
    """Statuses of every error response the simulated API builds (400s included)."""
    statuses: list[int] = []
    original = sim.pagerduty.error

    def spy(status: int, message: str, code: int | None = None):
        statuses.append(status)
        return original(status, message, code)

    sim.pagerduty.error = spy
    return statuses


def sync_with_client(sim, tmp_path, client) -> None:
    settings = settings_for(sim, tmp_path)
    with DuckDBSourceStore(duckdb_path(tmp_path, "pagerduty"), "pagerduty") as store:
        sync_source(
            "pagerduty",
            settings,
            parse_catalog(sim.org.catalog()),
            store,
            client=client,
            history_start=sim.org.start,
        )


class Kill(Exception):
    """The process died."""


class Killed(Stream):
    """A stream whose run dies after ``after`` pages were committed (a killed process)."""

    def __init__(self, inner: Stream, after: int):
        self.inner, self.after, self.spec = inner, after, inner.spec

    def read(self, state: dict[str, Any], ctx: ReadContext) -> Iterator[Page]:
        for n, page in enumerate(self.inner.read(state, ctx)):
            if n == self.after:
                raise Kill(f"killed after {self.after} pages")
            yield page


# --- 1. full sync -------------------------------------------------------------------------
def test_full_sync_equals_truth(sim, tmp_path):
    run = run_sync(sim, tmp_path, "pagerduty")
    assert [r.status for r in run.results] == ["success"] * 5
    truth = assert_equals_truth(sim, tmp_path)
    assert_no_repeated_versions(tmp_path)
    statuses = {i["status"] for i in truth["incidents"]}
    assert statuses == {"triggered", "acknowledged", "resolved"}
    assert len(truth["log_entries"]) > len(truth["incidents"]) > 25
    # Windowed reads always send both ends, from the start of history to the server's now.
    for path in ("/incidents", "/log_entries"):
        queries = list_queries(sim, path)
        assert queries and all("since" in q and "until" in q for q in queries)
        assert parse_time(queries[0]["since"][0]) == sim.org.start
    cursor = next(r.cursor for r in run.results if r.stream == "incidents")
    assert parse_time(cursor) >= sim.clock.now()  # the server's clock, not this machine's


# --- 2. incremental -------------------------------------------------------------------------
def test_incremental_run_reads_only_new_or_changed(sim, tmp_path):
    """A day later: one window per stream (no full re-read), plus a by-id re-read of exactly
    the incidents the raw layer holds open that the new window does not cover."""
    first = run_sync(sim, tmp_path, "pagerduty")
    cursor = parse_time(next(r.cursor for r in first.results if r.stream == "incidents"))
    since = cursor - pd.OVERLAP
    open_before = {
        k
        for k, rec in raw_latest(tmp_path, "incidents").items()
        if rec["status"] != "resolved" and parse_time(rec["created_at"]) < since
    }
    assert open_before
    sim.pagerduty.request_log.clear()
    sim.advance(days=1)
    run_sync(sim, tmp_path, "pagerduty")
    truth = assert_equals_truth(sim, tmp_path)
    assert_no_repeated_versions(tmp_path)
    for path in ("/incidents", "/log_entries"):
        queries = list_queries(sim, path)
        assert len(queries) == 1, f"{path}: {len(queries)} list requests for one day of data"
        assert parse_time(queries[0]["since"][0]) == since
        assert queries[0]["offset"] == ["0"]
    reread = {
        p.rsplit("/", 1)[1] for _, p, _ in sim.pagerduty.request_log if p.startswith("/incidents/")
    }
    assert reread == open_before
    new_entries = [e for e in truth["log_entries"] if parse_time(e["created_at"]) >= cursor]
    assert new_entries  # the day brought activity, and it is all in raw (above)


# --- 3. killed mid-stream -------------------------------------------------------------------
@pytest.mark.parametrize("victim,after", [("incidents", 2), ("log_entries", 3)])
def test_killed_run_resumes_without_loss_or_duplicates(sim, tmp_path, monkeypatch, victim, after):
    sim.pagerduty.max_limit = 25  # several pages, so the kill lands inside a window
    real = pd.streams
    monkeypatch.setattr(
        pd, "streams", lambda: [Killed(s, after) if s.spec.name == victim else s for s in real()]
    )
    with pytest.raises(Kill):
        run_sync(sim, tmp_path, "pagerduty")
    partial = raw_latest(tmp_path, victim)
    assert 0 < len(partial) < len(sim.pagerduty_model.truth(sim.clock.now())[victim])
    monkeypatch.setattr(pd, "streams", real)
    run_sync(sim, tmp_path, "pagerduty")
    assert_equals_truth(sim, tmp_path)
    assert_no_repeated_versions(tmp_path)


def test_killed_during_reread_of_open_incidents(sim, tmp_path, monkeypatch):
    run_sync(sim, tmp_path, "pagerduty")
    sim.advance(days=1)
    monkeypatch.setattr(pd, "REREAD_BATCH", 1)
    real = pd.streams
    # Page 0 is the day's window; page 1 the first re-read incident; die before page 2.
    monkeypatch.setattr(
        pd, "streams", lambda: [Killed(s, 2) if s.spec.name == "incidents" else s for s in real()]
    )
    with pytest.raises(Kill):
        run_sync(sim, tmp_path, "pagerduty")
    monkeypatch.setattr(pd, "streams", real)
    run_sync(sim, tmp_path, "pagerduty")
    assert_equals_truth(sim, tmp_path)
    assert_no_repeated_versions(tmp_path)


# --- 4. quirks ------------------------------------------------------------------------------
def test_pagination_reads_past_the_first_page(sim, tmp_path):
    """Bug: a well-known connector reads only the first page (25 incidents)."""
    sim.pagerduty.max_limit = 25  # the server hands out pages of 25 whatever we ask
    run_sync(sim, tmp_path, "pagerduty")
    truth = assert_equals_truth(sim, tmp_path)
    assert len(truth["incidents"]) > 50
    offsets = [int(q["offset"][0]) for q in list_queries(sim, "/incidents")]
    assert offsets == list(range(0, len(truth["incidents"]), 25))


def test_offset_cap_is_never_hit(sim, tmp_path, monkeypatch):
    """Bug: full-history reads fail with 400 past 10,000 incidents (cap shrunk to 50)."""
    sim.pagerduty.offset_cap = 50
    sim.pagerduty.max_limit = 25
    monkeypatch.setattr(pd, "OFFSET_CAP", 50)
    monkeypatch.setattr(pd, "LOG_WINDOW", timedelta(days=14))  # > 50 entries per window
    errors = spy_errors(sim)
    run_sync(sim, tmp_path, "pagerduty")
    assert errors == []
    truth = assert_equals_truth(sim, tmp_path)
    assert_no_repeated_versions(tmp_path)
    for path in ("/incidents", "/log_entries"):
        queries = list_queries(sim, path)
        assert all(int(q["offset"][0]) + 25 <= 50 for q in queries)
    # More than 50 records per window: reads continued from the time of a record seen,
    # incidents (oldest first) with a later since, log entries (newest first) an earlier until.
    incidents, entries = list_queries(sim, "/incidents"), list_queries(sim, "/log_entries")
    assert len({q["since"][0] for q in incidents}) > len({q["until"][0] for q in incidents})
    assert len({q["until"][0] for q in entries}) > len({q["since"][0] for q in entries})
    assert len(truth["incidents"]) > 50 and len(truth["log_entries"]) > 200
    # The naive full-history read is refused by the simulated API, as by the real one.
    resp = requests.get(
        f"{sim.base_urls['pagerduty']}/incidents",
        params={"date_range": "all", "offset": 50, "limit": 25},
        headers={"Authorization": f"Token token={PAGERDUTY_TOKEN}"},
        timeout=5,
    )
    assert resp.status_code == 400 and resp.json()["error"]["code"] == 2002


def test_every_window_has_both_ends_and_old_data_is_complete(sim, tmp_path):
    """Bug: a tap sends only ``since`` and silently gets one month of data."""
    sim.advance(days=40)  # 68 days of history: more than a month
    run_sync(sim, tmp_path, "pagerduty")
    truth = assert_equals_truth(sim, tmp_path)
    for path in ("/incidents", "/log_entries"):
        for q in list_queries(sim, path):
            assert q.get("since") and q.get("until"), f"{path} asked with one end: {q}"
            assert parse_time(q["until"][0]) - parse_time(q["since"][0]) <= timedelta(days=31)
    month_ago = sim.clock.now() - timedelta(days=31)
    old = [i for i in truth["incidents"] if parse_time(i["created_at"]) < month_ago]
    old_entries = [e for e in truth["log_entries"] if parse_time(e["created_at"]) < month_ago]
    assert len(old) > 20 and len(old_entries) > 80  # and all of them are in raw (above)


def test_status_change_of_an_old_incident_reaches_raw(sim, tmp_path):
    """Bug: reading incidents by creation time only never sees an old incident resolved."""
    run_sync(sim, tmp_path, "pagerduty")
    now0 = sim.clock.now()
    before = raw_latest(tmp_path, "incidents")
    old_open = {
        k: r
        for k, r in before.items()
        if r["status"] != "resolved" and parse_time(r["created_at"]) < now0 - timedelta(days=5)
    }
    assert old_open
    sim.advance(days=1)
    run_sync(sim, tmp_path, "pagerduty")
    after = raw_latest(tmp_path, "incidents")
    resolved = [k for k in old_open if after[k]["status"] == "resolved"]
    assert resolved, "an incident created 10 days ago and resolved today still shows open"
    for k in resolved:
        assert after[k]["resolved_at"] is not None and after[k]["acknowledgements"] == []
    assert_equals_truth(sim, tmp_path)


def test_rate_limited_with_headers_waits_ratelimit_reset(sim, tmp_path):
    """Bug: a tap treats 429 as fatal. The wait follows ``ratelimit-reset`` (seconds)."""
    sim.pagerduty.limiter = WindowLimiter(5, 1.0)
    waits: list[float] = []
    client = pd.make_client(settings_for(sim, tmp_path), FAST_RETRY)
    client.sleep = lambda s: (waits.append(s), time.sleep(s))
    sync_with_client(sim, tmp_path, client)
    assert_equals_truth(sim, tmp_path)
    assert waits and all(w == 1.0 for w in waits)  # the header's word, not the 0.01 backoff
    assert client.stats.throttled_seconds == sum(waits)


def test_rate_limited_without_headers_backs_off(sim, tmp_path):
    """Bug: the same tap raises KeyError when the rate-limit headers are missing."""
    sim.pagerduty.limiter = WindowLimiter(5, 1.0)
    sim.pagerduty.rate_headers_on_429 = False
    waits: list[float] = []
    client = pd.make_client(settings_for(sim, tmp_path), FAST_RETRY)
    client.sleep = lambda s: (waits.append(s), time.sleep(s))
    sync_with_client(sim, tmp_path, client)
    assert_equals_truth(sim, tmp_path)
    # Exponential backoff from the configured base, doubled up to the cap, while blocked.
    ladder = [min(FAST_RETRY.backoff_base * 2**n, FAST_RETRY.backoff_max) for n in range(30)]
    assert waits[:4] == ladder[:4] and set(waits) <= set(ladder)


def _response(status: int, headers: dict[str, str]) -> requests.Response:
    resp = requests.Response()
    resp.status_code = status
    resp.headers.update(headers)
    return resp


def test_rate_limit_policy_reads_every_hint():
    policy = pd.PagerDutyRateLimit(base=2.0, max_backoff=30.0)
    assert policy.wait_seconds(_response(200, {"ratelimit-reset": "9"}), 1) is None
    assert policy.wait_seconds(_response(400, {}), 1) is None
    assert policy.wait_seconds(_response(429, {"ratelimit-reset": "7"}), 1) == 7.0
    assert policy.wait_seconds(_response(429, {"Retry-After": "12"}), 1) == 12.0
    assert (
        policy.wait_seconds(_response(429, {"Retry-After": "3", "ratelimit-reset": "5"}), 1) == 5.0
    )
    assert [policy.wait_seconds(_response(429, {}), n) for n in (1, 2, 3, 5)] == [2, 4, 8, 30]
    assert policy.wait_seconds(_response(429, {"ratelimit-reset": "soon"}), 1) == 2.0


# --- 5. bad input ---------------------------------------------------------------------------
def test_malformed_json_fails_clearly_and_keeps_loaded_data(sim, tmp_path):
    run_sync(sim, tmp_path, "pagerduty")
    before = raw_latest(tmp_path, "log_entries")
    sim.advance(days=1)
    sim.pagerduty.faults.schedule("malformed", r"^/log_entries$", times=50)
    with pytest.raises(ExtractError) as err:
        run_sync(sim, tmp_path, "pagerduty")
    assert "pagerduty/log_entries" in str(err.value) and "malformed JSON" in str(err.value)
    assert raw_latest(tmp_path, "log_entries") == before
    assert_equals_truth(sim, tmp_path, tables=("services", "users", "incidents"))


def _visible_incident(sim) -> str:
    incidents = sim.pagerduty_model.incidents_created(None, None, sim.clock.now())
    return incidents[len(incidents) // 2].id


def test_missing_required_field_names_the_record(sim, tmp_path):
    victim = _visible_incident(sim)
    sim.pagerduty_model.corrupt("incidents", victim, drop=("created_at",))
    with pytest.raises(RecordError) as err:
        run_sync(sim, tmp_path, "pagerduty")
    msg = str(err.value)
    assert f"pagerduty/incidents record {victim}" in msg and "created_at" in msg
    assert_equals_truth(sim, tmp_path, tables=("services", "teams", "users"))


def test_unknown_status_names_the_record_and_keeps_loaded_data(sim, tmp_path):
    run_sync(sim, tmp_path, "pagerduty")
    before = raw_latest(tmp_path, "incidents")
    first_now = sim.clock.now()
    sim.advance(days=1)
    model, now = sim.pagerduty_model, sim.clock.now()
    newest = model.incidents_created(None, None, now)[-1]  # read by tonight's window
    assert newest.created_at > first_now
    victim = newest.id
    model.corrupt("incidents", victim, set_fields={"status": "exploded"})
    model.corrupt("log_entries", model.entries_between(None, None, now)[-1].id, drop=("incident",))
    with pytest.raises(RecordError) as err:
        run_sync(sim, tmp_path, "pagerduty")
    msg = str(err.value)
    assert f"pagerduty/incidents record {victim}" in msg and "'exploded'" in msg
    assert raw_latest(tmp_path, "incidents") == before  # the failed page committed nothing
    with pytest.raises(RecordError, match=r"pagerduty/log_entries record R\w+: .*incident"):
        run_sync(sim, tmp_path, "pagerduty", only=["log_entries"])


def test_bad_token_names_the_variable_and_hides_the_token(sim, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    run_sync(sim, tmp_path, "pagerduty")
    wrong = "wrong-secret-0123456789"
    settings = Settings.from_env(
        {**sim.env(), "PAGERDUTY_API_TOKEN": wrong, "PLATFORM_KPIS_HOME": str(tmp_path)}
    )
    client = pd.make_client(settings, FAST_RETRY)
    with pytest.raises(AuthError) as err:
        sync_with_client(sim, tmp_path, client)
    assert "PAGERDUTY_API_TOKEN" in str(err.value) and "401" in str(err.value)
    assert wrong not in str(err.value) and wrong not in repr(client)
    assert wrong not in caplog.text and PAGERDUTY_TOKEN not in caplog.text
    assert_equals_truth(sim, tmp_path)  # what the first run loaded stays
    with open_raw(tmp_path, "pagerduty") as store:
        for table in TABLES:
            rows = store.con.execute(
                f"select count(*) from {table} where record::varchar like '%{PAGERDUTY_TOKEN}%'"
            ).fetchone()[0]
            assert rows == 0


def test_exact_authorization_header_is_sent(sim, tmp_path):
    client = pd.make_client(settings_for(sim, tmp_path), FAST_RETRY)
    resp, body = client.get_json("/teams")
    sent = resp.request.headers
    assert sent["Authorization"] == f"Token token={PAGERDUTY_TOKEN}"
    assert sent["Accept"] == "application/vnd.pagerduty+json;version=2"
    assert body["teams"]


# --- 6. transient faults --------------------------------------------------------------------
def test_transient_faults_still_give_an_exact_sync(sim, tmp_path):
    # Seeded faults of the cheap kinds, plus one of every kind for sure (a 429 waits its
    # one-second ratelimit-reset, a timeout the client's read timeout: one each).
    cheap = ("500", "502", "503", "truncate", "disconnect")
    faults = sim.pagerduty.faults = FaultInjector(seed=11, rate=0.25, kinds=cheap)
    one_each = {
        "500": "^/services",
        "502": "^/teams",
        "503": "^/users",
        "429": "^/log_entries",
        "truncate": "^/incidents$",
        "disconnect": "^/log_entries",
        "timeout": "^/incidents$",
    }
    for kind, path in one_each.items():
        faults.schedule(kind, path)
    sim.pagerduty.timeout_delay = 1.7  # just past the client's 1.5 s read timeout
    sim.pagerduty.max_limit = 25  # more requests, more faults
    run = run_sync(sim, tmp_path, "pagerduty")
    sim.advance(days=1)
    run2 = run_sync(sim, tmp_path, "pagerduty")
    assert_equals_truth(sim, tmp_path)
    assert_no_repeated_versions(tmp_path)
    kinds = {k for k, _ in sim.pagerduty.faults.fired}
    assert kinds == set(one_each)
    assert sum(r.retries for r in run.results + run2.results) >= len(sim.pagerduty.faults.fired)
