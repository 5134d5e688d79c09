"""The GitHub extractor against the simulated API over HTTP: exact syncs, incremental runs,
crashes, bad input, and one test per GitHub quirk of docs/apis.md (each docstring says
which shipped bug it catches)."""

from __future__ import annotations

import math
import re
import shutil
import uuid
from pathlib import Path

import pytest
import requests

import extractors.github as gh
from extractors.errors import AuthError, ExtractError, NotFoundError, RecordError
from extractors.http import RetryPolicy
from extractors.rawstore import DuckDBSourceStore, duckdb_path
from extractors.sources import sync_source
from platform_kpis.catalog import parse_catalog
from platform_kpis.config import Settings
from simulator.github import SETTLED_STATES
from tests.conftest import FAST_RETRY, open_raw, run_sync
from tests.test_github_sim import GitHubSim

TABLES = (
    "repositories",
    "pull_requests",
    "pr_commits",
    "deployments",
    "deployment_statuses",
    "workflow_runs",
    "compares",
)
PULLS = r"^/repos/[^/]+/[^/]+/pulls$"
STATUSES = r"^/repos/[^/]+/[^/]+/deployments/\d+/statuses$"
COMPARES = r"^/repos/[^/]+/[^/]+/compare/"
PR_COMMITS = r"^/repos/[^/]+/[^/]+/pulls/\d+/commits$"


@pytest.fixture
def ghsim():
    with GitHubSim() as s:
        yield s


@pytest.fixture(autouse=True)
def quick_waits(monkeypatch):
    """Rate-limit waits in seconds, not minutes: the policy's knobs, shrunk."""
    monkeypatch.setattr(gh.client, "SECONDARY_MIN_WAIT", 0.05)
    monkeypatch.setattr(gh.client, "RESET_MARGIN", 0.0)


@pytest.fixture(scope="module")
def baseline(tmp_path_factory) -> Path:
    """A raw layer after one full sync of the default simulator ("last night")."""
    home = tmp_path_factory.mktemp("github-baseline")
    with GitHubSim() as s:
        run_sync(s, home, "github")
    return home


def restore(baseline: Path, tmp_path: Path) -> None:
    shutil.copytree(baseline / "raw", tmp_path / "raw")


def sync(sim: GitHubSim, tmp_path: Path, **kw):
    return run_sync(sim, tmp_path, "github", **kw)


def sync_with_catalog(sim: GitHubSim, tmp_path: Path, catalog: dict, *, env=None, only=None):
    settings = Settings.from_env({**sim.env(), **(env or {}), "PLATFORM_KPIS_HOME": str(tmp_path)})
    with DuckDBSourceStore(duckdb_path(tmp_path, "github"), "github") as store:
        return sync_source(
            "github",
            settings,
            parse_catalog(catalog),
            store,
            only=only,
            retry=FAST_RETRY,
            history_start=sim.org.start,
        )


def latest(tmp_path: Path, table: str) -> dict[str, dict]:
    with open_raw(tmp_path, "github") as store:
        return {k: rec for k, rec, _ in store.latest(table)}


def contexts(tmp_path: Path, table: str) -> dict[str, dict | None]:
    with open_raw(tmp_path, "github") as store:
        return {k: ctx for k, _, ctx in store.latest(table)}


def state(tmp_path: Path, stream: str) -> dict:
    with open_raw(tmp_path, "github") as store:
        return store.state(stream)


def assert_equals_truth(sim: GitHubSim, tmp_path: Path, tables=TABLES) -> None:
    truth = sim.github_model.truth_by_key(sim.clock.now())
    for table in tables:
        got = latest(tmp_path, table)
        assert sorted(got) == sorted(truth[table]), f"{table}: keys differ"
        assert got == truth[table], f"{table}: records differ"


def assert_no_duplicate_versions(tmp_path: Path, tables=TABLES) -> None:
    """Downstream sees no duplicated row: no key holds the same content twice."""
    with open_raw(tmp_path, "github") as store:
        for table in tables:
            rows = store.con.execute(f"select record_key, record_hash from {table}").fetchall()
            assert len(rows) == len(set(rows)), f"{table} holds a record twice"


def calls(sim: GitHubSim, pattern: str) -> list[tuple[str, dict]]:
    """(path, query) of the requests the simulator received whose path matches."""
    rx = re.compile(pattern)
    return [(path, q) for _, path, q in sim.github.request_log if rx.search(path)]


def result(run, stream: str):
    return next(r for r in run.results if r.stream == stream)


# --- exact, incremental, resumable ----------------------------------------------------------


def test_full_sync_equals_truth(ghsim, tmp_path):
    run = sync(ghsim, tmp_path)
    assert [r.status for r in run.results] == ["success"] * len(TABLES)
    assert_equals_truth(ghsim, tmp_path)
    assert_no_duplicate_versions(tmp_path)
    deployments = latest(tmp_path, "deployments")
    # Every environment is kept (staging too): production filtering is dbt's job.
    assert {d["environment"] for d in deployments.values()} == {"production", "prod", "staging"}
    ctx = contexts(tmp_path, "pr_commits")
    assert all(set(c) == {"repo", "pull_number"} for c in ctx.values())
    assert all(
        set(c) == {"repo", "deployment_id"}
        for c in contexts(tmp_path, "deployment_statuses").values()
    )
    compares = contexts(tmp_path, "compares")
    missing = {k for k, c in compares.items() if c.get("http_status") == 404}
    assert missing, "the simulator deploys a sha GitHub cannot compare"
    assert all(latest(tmp_path, "compares")[k]["message"] == "Not Found" for k in missing)
    assert (
        max(len(r["commits"]) for r in latest(tmp_path, "compares").values() if "commits" in r) > 1
    )


def test_incremental_run_reads_only_what_changed(ghsim, baseline, tmp_path):
    restore(baseline, tmp_path)
    model, before = ghsim.github_model, ghsim.clock.now()
    old_compares = set(model.truth_by_key(before)["compares"])
    now = ghsim.advance(days=1)
    ghsim.github.request_log.clear()
    run = sync(ghsim, tmp_path)
    assert_equals_truth(ghsim, tmp_path)
    assert_no_duplicate_versions(tmp_path)
    repos = model.repos.values()
    # One page of pulls per repository holds the day's changes; no full re-read.
    assert len(calls(ghsim, PULLS)) == len(repos)
    assert all(q["page"] == ["1"] if "page" in q else True for _, q in calls(ghsim, PULLS))
    changed = [p for r in repos for p in r.pulls if p.merged(now) and p.updated_at(now) > before]
    assert changed and len(calls(ghsim, PR_COMMITS)) == len(changed)
    reread = [
        d
        for r in repos
        for d in r.deployments
        if d.visible(now)
        and (
            not d.visible(before)
            or not any(s.state in SETTLED_STATES for s in d.statuses_at(before))
        )
    ]
    assert len(calls(ghsim, STATUSES)) == len(reread)
    new_compares = set(model.truth_by_key(now)["compares"]) - old_compares
    assert new_compares and len(calls(ghsim, COMPARES)) == len(new_compares)
    assert len(calls(ghsim, r"/deployments$")) == 3 and len(calls(ghsim, r"/runs$")) == 1
    assert result(run, "pull_requests").appended > 0


def test_second_run_the_same_night_is_answered_304(ghsim, baseline, tmp_path):
    """Conditional requests: the repository and open deployments' statuses come back 304
    (not counted against the limit), nothing is appended, no compare is asked again."""
    restore(baseline, tmp_path)
    ghsim.github.request_log.clear()
    run = sync(ghsim, tmp_path)
    answers = ghsim.github.responses
    repo_answers = [s for p, s in answers if p.count("/") == 3]
    status_answers = [s for p, s in answers if p.endswith("/statuses")]
    assert repo_answers == [304] * 4
    assert status_answers and set(status_answers) == {304}
    assert run.client.stats.not_modified == len(repo_answers) + len(status_answers)
    assert sum(r.appended for r in run.results) == 0
    assert calls(ghsim, COMPARES) == [] and calls(ghsim, PR_COMMITS) == []


def test_compare_404_is_stored_once(ghsim, baseline, tmp_path):
    """A deployed sha GitHub does not know: its compares answer 404. The answer is stored
    (context http_status 404) so it is not asked again every night."""
    restore(baseline, tmp_path)
    gone = [k for k, c in contexts(tmp_path, "compares").items() if c.get("http_status") == 404]
    assert len(gone) == 2  # into and out of the unknown sha
    ghsim.advance(days=1)
    ghsim.github.request_log.clear()
    sync(ghsim, tmp_path)
    asked = {p for p, _ in calls(ghsim, COMPARES)}
    assert asked and not any(p.endswith(k.split("#", 1)[1]) for p in asked for k in gone)


class Killed(Exception):
    pass


def test_run_killed_during_the_pull_walk_resumes(ghsim, tmp_path, monkeypatch):
    """Killed mid-walk (pages of several repositories committed): the re-run loses and
    duplicates nothing, and the interrupted repository's cursor had not moved."""
    ghsim.github.max_per_page = 10
    original = gh.PullRequests.read

    def dies_on_page_10(self, state, ctx):
        for n, page in enumerate(original(self, state, ctx)):
            if n == 10:
                raise Killed
            yield page

    monkeypatch.setattr(gh.PullRequests, "read", dies_on_page_10)
    with pytest.raises(Killed):
        sync(ghsim, tmp_path, only=["repositories", "pull_requests"])
    cursors = state(tmp_path, "pull_requests")["repos"]
    assert list(cursors) == ["acme/checkout-service"]  # the second repo's walk was cut
    assert latest(tmp_path, "pull_requests")
    monkeypatch.setattr(gh.PullRequests, "read", original)
    sync(ghsim, tmp_path)
    assert_equals_truth(ghsim, tmp_path)
    assert_no_duplicate_versions(tmp_path)


def test_failed_child_stream_resumes_where_it_stopped(ghsim, tmp_path):
    """PR commits of the first repository are committed, then the second repository's fail
    for good: the re-run asks only for what is missing."""
    ghsim.github.faults.schedule(
        "500", r"^/repos/acme/checkout-web/pulls/\d+/commits$", times=FAST_RETRY.max_attempts
    )
    with pytest.raises(ExtractError, match="gave up"):
        sync(ghsim, tmp_path)
    first = [k for k in latest(tmp_path, "pr_commits")]
    assert first and all(k.startswith("acme/checkout-service#") for k in first)
    ghsim.github.request_log.clear()
    sync(ghsim, tmp_path)
    assert not calls(ghsim, r"^/repos/acme/checkout-service/pulls/\d+/commits$")
    assert_equals_truth(ghsim, tmp_path)
    assert_no_duplicate_versions(tmp_path)


# --- GitHub quirks ----------------------------------------------------------------------


def test_403_and_429_both_mean_wait_until_reset(tmp_path):
    """Primary limit spent: GitHub answers 403 or 429 with remaining 0. Bug: a popular tap
    treats 429 as fatal — this sync would stop at the first 429."""
    with GitHubSim(rate_limit=(10, 1.0)) as sim:
        sim.github.max_per_page = 15
        run = sync(sim, tmp_path, only=["repositories", "pull_requests"])
        statuses = {s for _, s in sim.github.responses}
        assert {403, 429} <= statuses
        assert run.client.stats.throttled_seconds > 0
        assert_equals_truth(sim, tmp_path, ("repositories", "pull_requests"))


def test_absent_rate_limit_headers_do_not_crash(ghsim, tmp_path):
    """GHES with rate limiting disabled sends no x-ratelimit-* header, and a proxy's 429 may
    come bare. Bug: the same tap reads the headers unconditionally and raises KeyError."""
    ghsim.github.rate_headers_enabled = False
    ghsim.github.faults.schedule("429", PULLS, times=1)
    ghsim.github.faults.schedule("secondary_bare", PULLS, times=1)
    probe = ghsim.get("/repos/acme/checkout-service")
    assert not [h for h in probe.headers if h.lower().startswith("x-ratelimit")]
    run = sync(ghsim, tmp_path, only=["repositories", "pull_requests"])
    assert result(run, "pull_requests").retries == 2
    assert_equals_truth(ghsim, tmp_path, ("repositories", "pull_requests"))


def test_secondary_limit_waits_retry_after_then_backs_off(ghsim, tmp_path):
    """Secondary limit: 403 "You have exceeded a secondary rate limit". With retry-after wait
    that long; without, at least the minimum, doubling each time. Bug: treating the 403 as
    fatal (or retrying at once, which GitHub answers by banning the token for longer)."""
    ghsim.github.secondary_retry_after = 1
    ghsim.github.faults.schedule("secondary", r"^/repos/acme/checkout-service$", times=1)
    ghsim.github.faults.schedule("secondary_bare", PULLS, times=3)
    run = sync(ghsim, tmp_path, only=["repositories", "pull_requests"])
    assert result(run, "repositories").throttled_seconds == pytest.approx(1.0)
    assert result(run, "pull_requests").throttled_seconds == pytest.approx(0.05 + 0.1 + 0.2)
    assert_equals_truth(ghsim, tmp_path, ("repositories", "pull_requests"))


def test_policy_defaults_follow_githubs_documentation():
    policy = gh.GitHubRateLimit()  # the class defaults, not the shrunk module values

    def answer(status: int, headers: dict, body: str = "") -> requests.Response:
        resp = requests.Response()
        resp.status_code, resp._content = status, body.encode()
        resp.headers.update(headers)
        return resp

    date = "Mon, 02 Feb 2026 00:00:00 GMT"
    reset = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "1769990430", "Date": date}
    assert policy.wait_seconds(answer(429, reset), 1) == pytest.approx(30 + 1)
    assert (
        policy.wait_seconds(
            answer(
                403, {"x-ratelimit-remaining": "12"}, "You have exceeded a secondary rate limit"
            ),
            1,
        )
        == 60
    )
    assert policy.wait_seconds(answer(429, {}), 3) == 240
    assert policy.wait_seconds(answer(403, {"retry-after": "7"}), 1) == 7
    assert policy.wait_seconds(answer(403, {}, '{"message": "Resource not accessible"}'), 1) is None
    assert policy.wait_seconds(answer(200, {}), 1) is None


def test_ghes_base_url_is_the_only_place_requests_go(ghsim, tmp_path, monkeypatch):
    """GHES serves the API under https://HOST/api/v3. Bug: a connector probes a hard-coded
    api.github.com /rate_limit. Every request of a full sync must go to the configured base."""
    sent: list[str] = []
    original = requests.Session.send

    def recording(self, request, **kw):
        sent.append(request.url)
        return original(self, request, **kw)

    monkeypatch.setattr(requests.Session, "send", recording)
    sync(ghsim, tmp_path)
    assert ghsim.api.endswith("/api/v3")
    assert sent and all(u.startswith(ghsim.api + "/repos/") for u in sent)
    assert len(sent) == len(ghsim.github.request_log)  # every one reached the simulator
    assert not [u for u in sent if "api.github.com" in u or "rate_limit" in u]


def test_pagination_follows_link_until_there_is_no_next(ghsim, tmp_path):
    """Lists come in pages named by the Link header. Bug: stopping after the first page (or
    guessing pages instead of following rel="next") keeps 7 PRs per repository here."""
    ghsim.github.max_per_page = 7
    sync(ghsim, tmp_path, only=["repositories", "pull_requests"])
    now = ghsim.clock.now()
    for name, repo in ghsim.github_model.repos.items():
        pages = math.ceil(len(ghsim.github_model.visible_pulls(repo, now)) / 7)
        asked = [q.get("page", ["1"])[0] for p, q in calls(ghsim, PULLS) if name in p]
        # The walk (pages 1..last), then the drift re-read of page 1.
        assert asked == [str(n) for n in range(1, pages + 1)] + ["1"]
    assert_equals_truth(ghsim, tmp_path, ("repositories", "pull_requests"))


def test_page_drift_does_not_lose_the_moved_pull_request(ghsim, tmp_path):
    """While the walk reads page 1, a PR on page 2 is updated and jumps to the front: page 2
    now repeats page 1's last PR and the moved one is on no page left to read. Bug: a plain
    descending walk misses that update until some later night."""
    ghsim.github.max_per_page = 10
    ghsim.github.faults.schedule("drift", r"^/repos/acme/checkout-service/pulls$", times=1)
    sync(ghsim, tmp_path, only=["repositories", "pull_requests"])
    assert len(ghsim.github.drifted) == 1
    repo, number = ghsim.github.drifted[0]
    moved = latest(tmp_path, "pull_requests")[f"{repo}#{number}"]
    assert moved["updated_at"] == ghsim.clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")
    assert_equals_truth(ghsim, tmp_path, ("repositories", "pull_requests"))
    assert_no_duplicate_versions(tmp_path, ("pull_requests",))


def test_filtered_run_listing_cap_is_windowed(ghsim, tmp_path, monkeypatch):
    """A filtered Actions runs listing serves at most 1,000 results (shrunk to 10 here).
    Bug: one ``created>=`` listing silently stops at the cap; windows must be split."""
    ghsim.github.filtered_cap = 10
    monkeypatch.setattr(gh.deployments, "RUN_LISTING_CAP", 10)
    sync(ghsim, tmp_path, only=["repositories", "workflow_runs"])
    truth = ghsim.github_model.truth_by_key(ghsim.clock.now())["workflow_runs"]
    assert len(truth) > 4 * 10
    windows = [q["created"][0] for _, q in calls(ghsim, r"/actions/runs$")]
    assert len([w for w in windows if ".." in w]) > 4
    assert_equals_truth(ghsim, tmp_path, ("workflow_runs",))


def test_compare_beyond_250_commits_is_paginated(ghsim, tmp_path):
    """An unpaged compare lists at most 250 commits. Bug: shipped commits past the 250th
    would be missing, their PRs attributed to a later deployment by the time rule."""
    model = ghsim.github_model
    repo = model.repos["acme/checkout-service"]
    base, head = next(
        (b, h)
        for b, h in model.compare_pairs(repo, ghsim.clock.now())
        if b != h
        and b in repo.main_index
        and h in repo.main_index
        and repo.main_index[h] > repo.main_index[b]
    )
    model.add_main_commits(repo.full_name, 300, base)
    sync(
        ghsim,
        tmp_path,
        only=["repositories", "deployments", "deployment_statuses", "workflow_runs", "compares"],
    )
    record = latest(tmp_path, "compares")[f"{repo.full_name}#{base}...{head}"]
    assert record["total_commits"] > 300
    assert len(record["commits"]) == record["total_commits"]
    pages = [q for p, q in calls(ghsim, COMPARES) if p.endswith(f"{base}...{head}")]
    assert len(pages) == math.ceil(record["total_commits"] / 100)
    assert_equals_truth(ghsim, tmp_path, ("compares",))


def test_unknown_repository_fails_naming_it(ghsim, tmp_path):
    catalog = ghsim.org.catalog()
    catalog["teams"][0]["repos"].append("acme/ghost")
    with pytest.raises(NotFoundError) as err:
        sync_with_catalog(ghsim, tmp_path, catalog)
    assert err.value.source == "github" and err.value.stream == "repositories"
    assert "acme/ghost" in str(err.value) and "GITHUB_TOKEN" in str(err.value)


# --- bad input --------------------------------------------------------------------------


def test_malformed_json_fails_clearly_and_keeps_loaded_data(ghsim, tmp_path):
    ghsim.github.faults.schedule("malformed", r"/deployments$", times=100)
    with pytest.raises(ExtractError) as err:
        sync(ghsim, tmp_path)
    assert err.value.source == "github" and err.value.stream == "deployments"
    assert "malformed JSON" in str(err.value)
    assert_equals_truth(ghsim, tmp_path, ("repositories", "pull_requests"))


def test_missing_required_field_names_the_record(ghsim, tmp_path):
    ghsim.github_model.corrupt("pull_requests", "acme/checkout-web#3", drop=("merged_at",))
    with pytest.raises(RecordError) as err:
        sync(ghsim, tmp_path)
    assert str(err.value).startswith("github/pull_requests record acme/checkout-web#3:")
    assert "merged_at" in str(err.value)
    assert_equals_truth(ghsim, tmp_path, ("repositories",))
    assert any(k.startswith("acme/checkout-service#") for k in latest(tmp_path, "pull_requests"))


def test_unknown_enum_value_names_the_record(ghsim, tmp_path):
    repo = ghsim.github_model.repos["acme/platform-service"]
    dep = repo.deployments[5]
    key = f"{repo.full_name}#{dep.id}#{dep.statuses[-1].id}"
    ghsim.github_model.corrupt("deployment_statuses", key, values={"state": "exploded"})
    with pytest.raises(RecordError) as err:
        sync(ghsim, tmp_path)
    assert err.value.stream == "deployment_statuses" and err.value.record == key
    assert "'exploded'" in str(err.value)
    assert_equals_truth(
        ghsim, tmp_path, ("repositories", "pull_requests", "pr_commits", "deployments")
    )


def test_bad_token_names_the_variable_not_the_token(ghsim, tmp_path):
    bad = "ghp_" + uuid.uuid4().hex
    with pytest.raises(AuthError) as err:
        sync_with_catalog(ghsim, tmp_path, ghsim.org.catalog(), env={"GITHUB_TOKEN": bad})
    message = str(err.value)
    assert "401" in message and "GITHUB_TOKEN" in message
    assert bad not in message and ghsim.env()["GITHUB_TOKEN"] not in message
    client = gh.make_client(Settings.from_env({**ghsim.env(), "GITHUB_TOKEN": bad}))
    assert bad not in repr(client)


def test_transient_faults_still_give_an_exact_sync(tmp_path):
    """429, 5xx, timeouts, truncated bodies and dropped connections at a seeded rate."""
    retry = RetryPolicy(max_attempts=6, backoff_base=0.01, backoff_max=0.05, timeout=(1.0, 0.3))
    with GitHubSim(fault_rate=0.08, timeout_delay=0.6) as sim:
        sim.github.fault_reset_seconds = 0
        run = sync(sim, tmp_path, retry=retry)
        kinds = {k for k, _ in sim.github.faults.fired}
        assert {"429", "timeout", "truncate", "disconnect"} <= kinds
        assert sum(r.retries for r in run.results) >= len(sim.github.faults.fired) - 3
        assert_equals_truth(sim, tmp_path)
        assert_no_duplicate_versions(tmp_path)


def test_the_composed_simulator_serves_github(sim, tmp_path):
    """The shared ``Simulator`` wires the same model and service (a small sync: its server
    keeps Nagle's delay, so a full one is slow there)."""
    sync(sim, tmp_path, only=["repositories", "pull_requests"])
    assert_equals_truth(sim, tmp_path, ("repositories", "pull_requests"))
