"""The Zendesk extractor against the simulated API over HTTP: exact syncs, incremental runs,
crashes, and one test per quirk of docs/apis.md (each says which shipped bug it
catches)."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import pytest
import requests

from extractors.errors import AuthError, ExtractError, RecordError
from extractors.http import RetryPolicy
from extractors.zendesk import ZendeskRateLimit, api_base, make_client
from platform_kpis.config import Settings
from simulator.app import ZENDESK_TOKEN
from simulator.faults import FaultInjector
from simulator.zendesk import decode_cursor
from tests.conftest import FAST_RETRY, open_raw, run_sync
from tests.test_zendesk_sim import ZendeskSim

TABLES = ("tickets", "ticket_metrics", "organizations")


@pytest.fixture
def zsim():
    with ZendeskSim() as s:
        yield s


def epoch(dt: datetime) -> int:
    return int(dt.timestamp())


def sync(zsim, tmp_path, **kw):
    return run_sync(zsim, tmp_path, "zendesk", **kw)


def result(run, stream: str):
    return next(r for r in run.results if r.stream == stream)


def latest(tmp_path, table: str) -> dict[str, dict]:
    with open_raw(tmp_path, "zendesk") as store:
        return {k: rec for k, rec, _ in store.latest(table)}


def state(tmp_path, stream: str) -> dict:
    with open_raw(tmp_path, "zendesk") as store:
        return store.state(stream)


def versions(tmp_path, table: str) -> list[tuple[str, str]]:
    """(key, record hash) of every stored row, oldest first."""
    with open_raw(tmp_path, "zendesk") as store:
        return store.con.execute(
            f"select record_key, record_hash from {table} order by ingest_id"
        ).fetchall()


def assert_equals_truth(zsim, tmp_path, tables=TABLES) -> None:
    truth = zsim.zendesk_model.truth(zsim.clock.now())
    for table in tables:
        want = {str(r["id"]): r for r in truth[table]}
        got = latest(tmp_path, table)
        assert sorted(got) == sorted(want), f"{table}: keys differ"
        assert got == want, f"{table}: records differ"


def assert_no_duplicate_versions(tmp_path, tables=TABLES) -> None:
    """Downstream sees no duplicated row: no key holds the same content twice."""
    for table in tables:
        rows = versions(tmp_path, table)
        assert len(rows) == len(set(rows)), f"{table} holds a record twice"


def cursor_requests(zsim) -> int:
    return zsim.zendesk.requests_to(r"^/incremental/tickets/cursor\.json$")


def org_requests(zsim) -> int:
    return zsim.zendesk.requests_to(r"^/incremental/organizations")


def fail_after(zsim, path_regex: str, ok_requests: int, kind: str = "malformed") -> None:
    """Let ``ok_requests`` requests to ``path_regex`` through, then fault every later one."""
    import re

    service, seen = zsim.zendesk, [0]
    handle = service.handle

    def counting(req):
        if re.search(path_regex, req.path):
            seen[0] += 1
            if seen[0] == ok_requests + 1:
                service.faults.schedule(kind, path_regex, times=1000)
        return handle(req)

    service.handle = counting


def next_whole_hour(t: datetime) -> datetime:
    return t.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)


# --- the "done when" ---------------------------------------------------------------


def test_full_sync_equals_the_truth(zsim, tmp_path):
    zsim.zendesk.ticket_page_max = 40
    run = sync(zsim, tmp_path)
    assert all(r.status == "success" for r in run.results)
    assert_equals_truth(zsim, tmp_path)
    assert_no_duplicate_versions(tmp_path)
    truth = zsim.zendesk_model.truth(zsim.clock.now())
    assert cursor_requests(zsim) == math.ceil(len(truth["tickets"]) / 40)
    assert zsim.zendesk.requests_to("^/ticket_metrics") == 0  # side-loaded, no second walk
    assert state(tmp_path, "tickets")["start_time"] == epoch(zsim.org.start)


def test_full_sync_through_the_whole_simulator(sim, tmp_path):
    """The same through simulator.app.Simulator (conftest's ``sim``), as the pipeline runs it."""
    run = sync(sim, tmp_path)
    assert [r.status for r in run.results] == ["success", "success"]
    assert_equals_truth(sim, tmp_path)


def test_incremental_run_reads_only_what_changed(zsim, tmp_path):
    zsim.zendesk.ticket_page_max = 10
    sync(zsim, tmp_path)
    cursor = state(tmp_path, "tickets")["cursor"]
    end_time = state(tmp_path, "organizations")["end_time"]
    zsim.advance(days=1)
    model, now = zsim.zendesk_model, zsim.clock.now()
    changed = [p for p in model.ticket_order(now) if p > decode_cursor(cursor)]
    orgs = [p for p in model.organization_order(now) if p[0] >= end_time]
    assert 0 < len(changed) < len(model.ticket_order(now)) / 3
    before_t, before_o = cursor_requests(zsim), org_requests(zsim)
    run = sync(zsim, tmp_path)
    assert cursor_requests(zsim) - before_t == max(1, math.ceil(len(changed) / 10))
    assert org_requests(zsim) - before_o == 1
    # Each changed ticket once, with its metric set; the organizations from the saved second.
    assert result(run, "tickets").records == 2 * len(changed)
    assert result(run, "organizations").records == len(orgs)
    assert_equals_truth(zsim, tmp_path)
    assert_no_duplicate_versions(tmp_path)


def test_a_killed_run_resumes_without_loss_or_duplicates(zsim, tmp_path):
    """Quirk "state saved before the data it covers" (shipped bug: data lost on a crash):
    the run dies after three pages; the saved cursor must be exactly the last committed
    ticket, and the re-run must complete the table with nothing lost or stored twice."""
    zsim.zendesk.ticket_page_max = 10
    fail_after(zsim, r"/incremental/tickets/cursor", ok_requests=3)
    with pytest.raises(ExtractError, match="malformed JSON"):
        sync(zsim, tmp_path, retry=RetryPolicy(max_attempts=2, backoff_base=0.001))
    saved = decode_cursor(state(tmp_path, "tickets")["cursor"])
    order = zsim.zendesk_model.ticket_order(zsim.clock.now())
    committed = {str(tid) for gen, tid in order if (gen, tid) <= saved}
    assert len(committed) == 30
    assert set(latest(tmp_path, "tickets")) == committed
    assert set(latest(tmp_path, "ticket_metrics")) == {
        str(zsim.zendesk_model.ticket(int(k)).metric_id) for k in committed
    }
    zsim.zendesk.faults.clear()
    del zsim.zendesk.handle  # back to the class's handler
    sync(zsim, tmp_path)
    assert_equals_truth(zsim, tmp_path)
    assert_no_duplicate_versions(tmp_path)
    rows = versions(tmp_path, "tickets")
    assert len(rows) == len({k for k, _ in rows})  # nothing changed: one version per ticket


# --- one test per Zendesk quirk --------------------------------------------------------------


def _first_change_after(zsim, t: datetime):
    """The earliest ticket change after ``t`` of a ticket that exists by then and that
    changes nothing else until the next whole hour after it."""
    found = []
    for tk in zsim.zendesk_model.tickets:
        if tk.created_at >= t:
            continue
        for e, nxt in zip(tk.events, [*tk.events[1:], None], strict=True):
            quiet = nxt is None or nxt.at > next_whole_hour(e.at)
            if e.at > t + timedelta(minutes=2) and quiet:
                found.append((e.at, tk))
    return min(found, key=lambda p: (p[0], p[1].id))


def test_tickets_held_back_in_the_last_minute_come_next_run(zsim, tmp_path):
    """Quirk "cursor must come from the response, not now" (shipped bug: records missed
    between runs): run right after a change, which the export holds back for a minute; a
    cursor set to the server's (or the host's) "now" would skip it forever."""
    sync(zsim, tmp_path)
    change, ticket = _first_change_after(zsim, zsim.clock.now())
    zsim.set_clock(change + timedelta(seconds=30))
    sync(zsim, tmp_path)
    stored = latest(tmp_path, "tickets")[str(ticket.id)]
    assert stored["generated_timestamp"] < epoch(change)  # held back this time
    zsim.set_clock(next_whole_hour(zsim.clock.now()))
    sync(zsim, tmp_path)
    assert latest(tmp_path, "tickets")[str(ticket.id)]["generated_timestamp"] >= epoch(change)
    assert_equals_truth(zsim, tmp_path)
    assert_no_duplicate_versions(tmp_path)


def test_changes_made_during_a_run_are_not_missed(zsim, tmp_path):
    """Quirk "cursor must come from the response, not now" (shipped bug: records missed
    between runs): the clock jumps forward between two pages of a run, ending 30 s after a
    change; a bookmark taken from "now" at the end of the run would pass over that change."""
    zsim.zendesk.ticket_page_max = 10
    change, ticket = _first_change_after(zsim, zsim.clock.now() + timedelta(hours=5))
    service, handle, calls = zsim.zendesk, zsim.zendesk.handle, [0]

    def jump_after_second_page(req):
        resp = handle(req)
        if "cursor.json" in req.path:
            calls[0] += 1
            if calls[0] == 2:
                zsim.set_clock(change + timedelta(seconds=30))
        return resp

    service.handle = jump_after_second_page
    run1 = sync(zsim, tmp_path)
    service.handle = handle
    assert calls[0] > 2
    got = latest(tmp_path, "tickets")
    assert got.get(str(ticket.id), {}).get("generated_timestamp", 0) < epoch(change)
    assert any(r["generated_timestamp"] > epoch(zsim.org.now0) for r in got.values())
    # Changes that landed during the walk (before the hold-back window) were read.
    zsim.set_clock(next_whole_hour(zsim.clock.now()))
    run2 = sync(zsim, tmp_path)
    assert latest(tmp_path, "tickets")[str(ticket.id)]["generated_timestamp"] >= epoch(change)
    assert result(run2, "tickets").records < result(run1, "tickets").records
    assert_equals_truth(zsim, tmp_path)
    assert_no_duplicate_versions(tmp_path)


def test_records_sharing_the_bookmark_second_are_kept(zsim, tmp_path):
    """Quirk "strict > on a second-resolution bookmark" (shipped bug: records sharing the
    second dropped): an organizations page ends inside a group of records updated in the
    same second; the next page must start AT end_time. Same for tickets sharing a
    generated_timestamp across a page boundary of the cursor export."""
    model, now = zsim.zendesk_model, zsim.clock.now()
    orgs = model.organization_order(now)
    p = next(i for i in range(1, len(orgs) - 1) if orgs[i][0] == orgs[i + 1][0])
    zsim.zendesk.organization_page_size = p + 1  # page 1 ends with the group's first record
    tickets = model.ticket_order(now)
    size = 6
    straddles = [i for i in range(size, len(tickets), size) if tickets[i - 1][0] == tickets[i][0]]
    assert straddles, "no same-second group crosses a ticket page boundary"
    zsim.zendesk.ticket_page_max = size
    sync(zsim, tmp_path)
    assert org_requests(zsim) >= 2
    assert_equals_truth(zsim, tmp_path)
    # The second of the bookmark repeats on the next run: re-read, not re-stored.
    rows = len(versions(tmp_path, "organizations"))
    sync(zsim, tmp_path)
    assert len(versions(tmp_path, "organizations")) == rows


def test_duplicates_of_the_time_based_export_do_not_duplicate_rows(zsim, tmp_path):
    """Quirk "duplicates in time-based export" (shipped bug: duplicated rows downstream):
    with small pages every boundary record is served twice; the raw layer must hold one
    version per content, across a second run and a day of changes too."""
    zsim.zendesk.organization_page_size = 3
    run1 = sync(zsim, tmp_path)
    served = result(run1, "organizations").records
    truth = zsim.zendesk_model.truth(zsim.clock.now())["organizations"]
    assert served > len(truth)  # the export did repeat records
    assert len(versions(tmp_path, "organizations")) == len(truth)
    zsim.advance(days=7)
    sync(zsim, tmp_path)
    sync(zsim, tmp_path)
    assert_equals_truth(zsim, tmp_path, ("organizations",))
    assert_no_duplicate_versions(tmp_path, ("organizations",))
    # Exactly one row per (organization, updated_at) state seen at the two clocks.
    now = zsim.clock.now()
    states = {
        (o.id, o.updated_at(t))
        for t in (zsim.org.now0, now)
        for o in zsim.zendesk_model.organizations
        if o.visible(t)
    }
    assert len(versions(tmp_path, "organizations")) == len(states)


def test_a_change_that_moves_only_generated_timestamp_is_picked_up(zsim, tmp_path):
    """Quirk "updated_at instead of generated_timestamp" (shipped bug: changes missed): a
    system change (a late handle-time write, a survey) moves generated_timestamp but leaves
    updated_at as it was; an extractor filtering or bookmarking on updated_at misses it."""
    # A system change after the clock, with an hour of quiet before and after it.
    now = zsim.clock.now()
    change, tid, quiet_since = min(
        (e.at, tk.id, next_whole_hour(prev.at))
        for tk in zsim.zendesk_model.tickets
        for prev, e, nxt in zip(tk.events, tk.events[1:], [*tk.events[2:], None], strict=False)
        if e.system
        and e.at > now
        and next_whole_hour(prev.at) < e.at
        and (nxt is None or nxt.at > next_whole_hour(e.at))
    )
    ticket = zsim.zendesk_model.ticket(tid)
    zsim.set_clock(max(now, quiet_since))
    sync(zsim, tmp_path)
    before = latest(tmp_path, "tickets")[str(ticket.id)]
    zsim.set_clock(next_whole_hour(change))
    sync(zsim, tmp_path)
    after = latest(tmp_path, "tickets")[str(ticket.id)]
    assert after["updated_at"] == before["updated_at"]
    assert after["generated_timestamp"] == epoch(change) > before["generated_timestamp"]
    assert after != before
    assert_equals_truth(zsim, tmp_path)


def test_the_incremental_export_limit_is_waited_out_with_retry_after(zsim, tmp_path):
    """429 on the incremental exports' own limit (10 a minute on the real API, 2 per 3 s
    here): the client waits Retry-After and finishes; a client treating 429 as fatal fails,
    and one ignoring Retry-After hammers the server with many more 429s."""
    zsim.zendesk.export_limit, zsim.zendesk.export_window = 2, 3.0
    zsim.zendesk.ticket_page_max = 100  # 1 organizations page + 2 ticket pages: one 429
    run = sync(zsim, tmp_path)
    assert_equals_truth(zsim, tmp_path)
    assert 1 <= zsim.zendesk.export_throttled <= 4
    assert sum(r.throttled_seconds for r in run.results) >= 1.0
    assert sum(r.retries for r in run.results) == zsim.zendesk.export_throttled


def test_rate_limit_policy():
    policy = ZendeskRateLimit(RetryPolicy(backoff_base=2.0, backoff_max=60.0))

    def resp(status: int, headers: dict) -> requests.Response:
        r = requests.Response()
        r.status_code, r.headers = status, requests.structures.CaseInsensitiveDict(headers)
        return r

    assert policy.wait_seconds(resp(429, {"Retry-After": "7"}), 1) == 7.0
    assert [policy.wait_seconds(resp(429, {}), n) for n in (1, 2, 3)] == [2.0, 4.0, 8.0]
    assert policy.wait_seconds(resp(503, {"Retry-After": "7"}), 1) is None
    assert policy.wait_seconds(resp(200, {}), 1) is None


def test_metric_sets_fall_back_to_the_ticket_metrics_list(zsim, tmp_path):
    """A server that ignores include=metric_sets: the metrics come from /ticket_metrics."""
    zsim.zendesk.sideload_metric_sets = False
    sync(zsim, tmp_path)
    total = len(zsim.zendesk_model.truth(zsim.clock.now())["ticket_metrics"])
    assert total > 100  # more than one page of the list
    assert zsim.zendesk.requests_to("^/ticket_metrics") == math.ceil(total / 100)
    assert_equals_truth(zsim, tmp_path)


# --- bad input -------------------------------------------------------------------------------


def test_malformed_json_fails_clearly_and_keeps_loaded_data(zsim, tmp_path):
    sync(zsim, tmp_path)
    loaded = latest(tmp_path, "tickets")
    saved = state(tmp_path, "tickets")
    zsim.advance(days=1)
    zsim.zendesk.faults.schedule("malformed", r"/incremental/tickets", times=100)
    with pytest.raises(ExtractError) as err:
        sync(zsim, tmp_path)
    assert "zendesk/tickets" in str(err.value) and "malformed JSON" in str(err.value)
    assert latest(tmp_path, "tickets") == loaded
    assert state(tmp_path, "tickets") == saved
    zsim.zendesk.faults.clear()
    sync(zsim, tmp_path)
    assert_equals_truth(zsim, tmp_path)


@pytest.mark.parametrize(
    "bad, message",
    [
        ({"drop": ("status",)}, "missing required field(s) ['status']"),
        ({"status": "exploded"}, "unknown status 'exploded'"),
    ],
)
def test_a_bad_ticket_names_source_stream_and_record(zsim, tmp_path, bad, message):
    """A bad record stops the run with a message naming it; the pages before it stay, with
    the cursor after them, not after the bad page (also a "state saved before the data it
    covers" check: a cursor committed before its page is validated would skip the page)."""
    zsim.zendesk.ticket_page_max = 10
    order = zsim.zendesk_model.ticket_order(zsim.clock.now())
    victim = order[24][1]  # on the third page
    zsim.zendesk_model.corrupt("tickets", victim, **bad)
    with pytest.raises(RecordError) as err:
        sync(zsim, tmp_path)
    assert f"zendesk/tickets record {victim}: {message}" in str(err.value)
    # The two pages before it are committed, with the cursor after them.
    assert set(latest(tmp_path, "tickets")) == {str(i) for _, i in order[:20]}
    assert decode_cursor(state(tmp_path, "tickets")["cursor"]) == order[19]


def test_a_bad_metric_set_and_organization_are_named(zsim, tmp_path):
    first = zsim.zendesk_model.tickets[0]
    zsim.zendesk_model.corrupt("ticket_metrics", first.metric_id, drop=("solved_at",))
    with pytest.raises(
        RecordError, match=f"zendesk/tickets record ticket_metrics {first.metric_id}: missing"
    ):
        sync(zsim, tmp_path, only=["tickets"])
    org = zsim.zendesk_model.organizations[0]
    zsim.zendesk_model.corrupt("organizations", org.id, drop=("updated_at",))
    with pytest.raises(RecordError, match=f"zendesk/organizations record {org.id}: missing"):
        sync(zsim, tmp_path, only=["organizations"])


def test_401_names_the_credential_and_never_the_token(zsim, tmp_path, monkeypatch):
    token = "wrong-secret-zd-token-123"
    env = {**zsim.env(), "ZENDESK_API_TOKEN": token}
    monkeypatch.setattr(zsim, "env", lambda: env)
    with pytest.raises(AuthError) as err:
        sync(zsim, tmp_path)
    text = str(err.value)
    assert "401" in text and "ZENDESK_EMAIL/ZENDESK_API_TOKEN" in text and "zendesk/" in text
    assert token not in text and ZENDESK_TOKEN not in text
    with open_raw(tmp_path, "zendesk") as store:
        rows = store.con.execute("select error from pipeline_sync_status").fetchall()
    assert rows and all(token not in (e or "") for (e,) in rows)


def test_client_settings(zsim, tmp_path):
    assert api_base("https://acme.zendesk.com") == "https://acme.zendesk.com/api/v2"
    assert api_base("https://acme.zendesk.com/") == "https://acme.zendesk.com/api/v2"
    assert api_base("https://acme.zendesk.com/api/v2/") == "https://acme.zendesk.com/api/v2"
    for url in (zsim.api, zsim.api + "/", zsim.env()["ZENDESK_URL"] + "/"):
        client = make_client(Settings.from_env({**zsim.env(), "ZENDESK_URL": url}), FAST_RETRY)
        _, body = client.get_json("ticket_metrics")
        assert body["ticket_metrics"]
    with pytest.raises(ExtractError, match="ZENDESK_URL is not set"):
        make_client(Settings.from_env({k: v for k, v in zsim.env().items() if k != "ZENDESK_URL"}))
    with pytest.raises(ExtractError, match="ZENDESK_API_TOKEN must"):
        make_client(Settings.from_env({**zsim.env(), "ZENDESK_API_TOKEN": ""}))
    shown = repr(make_client(Settings.from_env(zsim.env())))
    assert ZENDESK_TOKEN not in shown and "Basic" not in shown


# --- transient faults ------------------------------------------------------------------------


def test_transient_faults_still_give_an_exact_sync(zsim, tmp_path):
    zsim.zendesk.faults = FaultInjector(
        seed=5, rate=0.3, kinds=("429", "500", "502", "503", "truncate", "disconnect", "timeout")
    )
    zsim.zendesk.ticket_page_max = 25
    zsim.zendesk.organization_page_size = 4
    sync(
        zsim,
        tmp_path,
        retry=RetryPolicy(max_attempts=8, backoff_base=0.01, backoff_max=0.05, timeout=(2.0, 1.5)),
    )
    zsim.advance(days=1)
    sync(
        zsim,
        tmp_path,
        retry=RetryPolicy(max_attempts=8, backoff_base=0.01, backoff_max=0.05, timeout=(2.0, 1.5)),
    )
    kinds = {k for k, _ in zsim.zendesk.faults.fired}
    assert len(kinds) >= 4
    assert_equals_truth(zsim, tmp_path)
    assert_no_duplicate_versions(tmp_path)


def test_first_organization_month_is_after_the_first_ticket_month(zsim, tmp_path):
    """What the support KPIs rely on: a month with tickets but no customers yet."""
    sync(zsim, tmp_path)
    orgs = latest(tmp_path, "organizations").values()
    tickets = latest(tmp_path, "tickets").values()
    first_org = min(o["created_at"] for o in orgs)
    assert first_org >= "2026-02-01"
    january = [t for t in tickets if t["created_at"] < "2026-02-01"]
    assert january and all(t["organization_id"] is None for t in january)
