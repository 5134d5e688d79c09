"""The simulated GitHub API: its model's timeline and its HTTP behaviour.

``GitHubSim`` serves the GitHub part of :class:`simulator.app.Simulator` alone (same seed,
scale, model and service wiring), so these tests and the extractor's need no other API.
"""

from __future__ import annotations

import collections
import json
import math
import re
import time
from datetime import datetime, timedelta

import pytest
import requests

from simulator.app import GITHUB_TOKEN
from simulator.clock import SimClock
from simulator.faults import FaultInjector
from simulator.github import GitHubModel, GitHubService
from simulator.org import Org, Scale
from simulator.server import ServedService, WindowLimiter
from tests.conftest import REAL_FIXTURES

SMALL = Scale(teams=2, repos_per_team=2, members_per_team=3, days=28, customers=15)
FIXTURES = REAL_FIXTURES / "github"
HEX40 = re.compile(r"^[0-9a-f]{40}$")


class GitHubSim:
    """The GitHub service of the simulator on its own loopback port, wired like
    ``Simulator`` wires it (attribute names match: org, clock, github, github_model)."""

    def __init__(
        self,
        seed: int = 7,
        scale: Scale = SMALL,
        *,
        fault_rate: float = 0.0,
        timeout_delay: float = 2.5,
        rate_limit: tuple[int, float] | None = None,
    ):
        self.org = Org.generate(seed, scale)
        self.clock = SimClock(self.org.now0)
        self.github_model = GitHubModel(self.org)
        self.github = GitHubService(
            self.github_model,
            self.clock,
            FaultInjector(seed * 3 + 1, fault_rate),
            WindowLimiter(*rate_limit) if rate_limit else None,
            timeout_delay,
        )
        self._served = ServedService(self.github)
        # The shared server sends headers and body in two writes; without TCP_NODELAY a
        # keep-alive client waits ~40 ms per response (Nagle + delayed ACK). The handler
        # class is this server's own, so the switch touches nothing else.
        self._served.httpd.RequestHandlerClass.disable_nagle_algorithm = True

    def __enter__(self) -> GitHubSim:
        self._served.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._served.stop()

    @property
    def api(self) -> str:
        return self._served.base_url

    def env(self) -> dict[str, str]:
        return {"GITHUB_API_URL": self.api, "GITHUB_TOKEN": GITHUB_TOKEN}

    def advance(self, days: float = 0, hours: float = 0) -> datetime:
        now = self.clock.advance(days=days, hours=hours)
        assert now <= self.org.horizon
        return now

    def get(
        self, path: str, token: str = GITHUB_TOKEN, headers: dict | None = None, **params
    ) -> requests.Response:
        return requests.get(
            f"{self.api}{path}",
            params=params,
            timeout=5,
            headers={"Authorization": f"Bearer {token}", **(headers or {})},
        )


@pytest.fixture
def ghsim():
    with GitHubSim() as s:
        yield s


@pytest.fixture(scope="module")
def model() -> GitHubModel:
    return GitHubModel(Org.generate(7, SMALL))


def iso(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


# --- the model ------------------------------------------------------------------------------


def test_model_is_deterministic(model):
    again = GitHubModel(Org.generate(7, SMALL))
    now = model.org.now0
    assert json.dumps(again.truth_by_key(now)) == json.dumps(model.truth_by_key(now))


def test_timeline_invariants(model):
    start = model.org.start
    for repo in model.repos.values():
        landed = [c.landed_at for c in repo.main]
        assert landed == sorted(landed) and len(set(landed)) == len(landed)
        assert all(HEX40.match(sha) for sha in repo.commits)
        assert all(
            c.authored_at >= start and c.committed_at >= start for c in repo.commits.values()
        )
        for i, c in enumerate(repo.main[1:], 1):
            assert c.parent == repo.main[i - 1].sha
        for pr in repo.pulls:
            assert pr.created_at >= start and all(
                c.committed_at < pr.created_at for c in pr.commits
            )
            if pr.is_change:  # merge, squash and rebase: the merge sha is on main
                assert pr.merge_commit_sha in repo.main_index
            elif pr.merged_at is not None:  # a release branch: never on main
                assert pr.merge_commit_sha not in repo.main_index
        for d in repo.deployments:
            assert d.created_at >= start
            times = [s.created_at for s in d.statuses]
            assert times == sorted(times) and times[0] > d.created_at
            assert d.sha in repo.commits or d.kind == "orphan"
        for r in repo.runs:
            assert start <= r.created_at <= r.run_started_at < r.completed_at


def test_model_generates_the_edge_cases(model):
    now = model.org.now0  # everything below happens within the first sync's history
    repos = list(model.repos.values())
    deploy_repos = [r for r in repos if r.deployment_signal == "deployments"]
    assert {r.production_environment for r in deploy_repos} == {"production", "prod"}
    for repo in deploy_repos:
        kinds = collections.Counter(d.kind for d in repo.deployments if d.visible(now))
        assert {
            "normal",
            "staging",
            "retry",
            "rollback",
            "explicit_rollback",
            "revert_rollback",
            "roll_forward",
        } <= set(kinds), repo.full_name
        prod = [d for d in repo.deployments if d.visible(now) and d.kind != "staging"]
        states = {s.state for d in prod for s in d.statuses_at(now)}
        assert {"queued", "in_progress", "success", "failure", "inactive"} <= states
        explicit = [d for d in prod if d.kind == "explicit_rollback"]
        assert all(d.task == "deploy:rollback" for d in explicit)
        assert all("Rollback" in d.description for d in prod if d.kind == "revert_rollback")
        done = sorted((d for d in prod if d.deployed_at(now)), key=lambda d: d.deployed_at(now))
        shas = [d.sha for d in done]
        # An implicit rollback: the sha of two deployments back, right after another sha.
        assert any(shas[i] == shas[i - 2] != shas[i - 1] for i in range(2, len(shas)))
    every = [d for r in deploy_repos for d in r.deployments if d.visible(now)]
    assert any(d.kind == "orphan" for d in every)
    assert any(s.state == "error" for d in every for s in d.statuses)
    assert any(s.state == "pending" for d in every for s in d.statuses)
    assert any(
        d.deployed_at() - d.created_at > timedelta(hours=1) for d in every if d.deployed_at()
    )
    pulls = [p for r in repos for p in r.pulls if p.visible(now)]
    assert {p.merge_method for p in pulls if p.merged(now)} == {"merge", "squash", "rebase"}
    assert any(p.merged(now) and not p.is_change for p in pulls)  # into release/...
    assert any(p.closed(now) and not p.merged(now) for p in pulls)
    assert any(not p.closed(now) for p in pulls)
    assert any(len({model_category(e.name) for e in p.labels}) == 2 for p in pulls)
    assert any(not p.labels for p in pulls)
    assert any(e.at > p.created_at for p in pulls for e in p.labels)
    assert any(p.title.startswith('Revert "') for p in pulls)
    assert any(p.title.lower().startswith("hotfix") for p in pulls)
    assert any(p.head_ref.startswith("hotfix/") for p in pulls)
    teams = {login: person.team for login, person in model.people.items()}
    assert any(teams[p.author] is None for p in pulls)  # an outsider
    assert any(teams[p.author] not in (None, model.repos[p.repo].team) for p in pulls)
    assert any(p.created_at - p.commits[0].authored_at > timedelta(days=2) for p in pulls)
    assert any(c.kind == "direct" for r in repos for c in r.main if c.landed_at <= now)
    runs = [x for r in repos for x in r.runs if x.visible(now)]
    deploy_runs = [x for x in runs if x.name == "Deploy production"]
    assert {x.conclusion for x in deploy_runs if x.head_branch == "main"} >= {"success", "failure"}
    assert any(x.head_branch != "main" for x in deploy_runs)
    assert any(x.name == "CI" and x.head_branch == "main" for x in runs)
    assert any(x.kind == "retry" for x in deploy_runs)


def model_category(label: str) -> str:
    return {
        "feature": "roadmap",
        "enhancement": "roadmap",
        "platform": "platform",
        "tech-debt": "platform",
        "bug": "unplanned",
        "incident": "unplanned",
    }[label]


def test_the_clock_reveals_activity(model):
    now = model.org.now0 + timedelta(days=1, hours=12)  # a Tuesday noon: PRs in flight
    before, next_day = model.truth_by_key(now), model.truth_by_key(now + timedelta(days=1))
    for table in ("pull_requests", "deployments", "deployment_statuses", "compares"):
        assert set(before[table]) < set(next_day[table]), table
    pending = min(
        (
            p
            for r in model.repos.values()
            for p in r.pulls
            if p.visible(now) and p.merged_at and p.merged_at > now
        ),
        key=lambda p: p.merged_at,
    )
    later = pending.merged_at
    after = model.truth_by_key(later)
    key = f"{pending.repo}#{pending.number}"
    assert before["pull_requests"][key]["state"] == "open"
    assert before["pull_requests"][key]["merged_at"] is None
    assert after["pull_requests"][key]["merged_at"] == iso(pending.merged_at)
    assert after["pull_requests"][key]["merge_commit_sha"] == pending.merge_commit_sha
    assert all(r["updated_at"] <= iso(now) for r in before["pull_requests"].values())


# --- HTTP -----------------------------------------------------------------------------------


def test_pagination_by_link_header(ghsim):
    one = ghsim.get("/repos/acme/checkout-service/deployments/140000630/statuses")
    assert one.status_code == 200 and "Link" not in one.headers
    first = ghsim.get("/repos/acme/checkout-service/pulls", state="all", per_page=10)
    assert 'rel="next"' in first.headers["Link"] and 'rel="last"' in first.headers["Link"]
    assert len(first.json()) == 10
    last_url = first.links["last"]["url"]
    assert last_url.startswith(ghsim.api + "/repos/")
    last = requests.get(last_url, timeout=5, headers={"Authorization": f"Bearer {GITHUB_TOKEN}"})
    assert "next" not in last.links and "prev" in last.links
    assert (
        len(ghsim.get("/repos/acme/checkout-service/pulls", state="all", per_page=500).json()) == 48
    )  # per_page is capped at 100
    assert len(ghsim.get("/repos/acme/checkout-service/pulls", state="all").json()) == 30


def test_pulls_sort_updated_defaults_to_ascending(ghsim):
    asc = ghsim.get(
        "/repos/acme/checkout-web/pulls", state="all", sort="updated", per_page=100
    ).json()
    stamps = [p["updated_at"] for p in asc]
    assert len(stamps) > 30 and stamps == sorted(stamps)
    desc = ghsim.get(
        "/repos/acme/checkout-web/pulls",
        state="all",
        sort="updated",
        direction="desc",
        per_page=100,
    ).json()
    assert [p["updated_at"] for p in desc] == sorted(stamps, reverse=True)


def test_errors_in_githubs_shape(ghsim):
    missing = ghsim.get("/repos/acme/ghost")
    assert missing.status_code == 404 and missing.json()["message"] == "Not Found"
    unknown = ghsim.get("/repos/acme/checkout-service/compare/" + "a" * 40 + "..." + "b" * 40)
    assert unknown.status_code == 404
    denied = ghsim.get("/repos/acme/checkout-service", token="nope")
    assert denied.status_code == 401 and denied.json()["message"] == "Bad credentials"


def test_conditional_request_is_free(tmp_path):
    with GitHubSim(rate_limit=(100, 600)) as sim:
        first = sim.get("/repos/acme/checkout-service")
        etag, left = first.headers["etag"], int(first.headers["x-ratelimit-remaining"])
        again = sim.get("/repos/acme/checkout-service", headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.content == b""
        assert int(again.headers["x-ratelimit-remaining"]) == left
        assert (
            int(sim.get("/repos/acme/checkout-service").headers["x-ratelimit-remaining"])
            == left - 1
        )
        sim.advance(days=1)  # a push since: the representation changed
        assert (
            sim.get("/repos/acme/checkout-service", headers={"If-None-Match": etag}).status_code
            == 200
        )


def test_rate_limit_headers_and_throttling():
    with GitHubSim(rate_limit=(3, 2.0)) as sim:
        ok = sim.get("/repos/acme/checkout-service")
        for h in ("limit", "remaining", "used", "reset", "resource"):
            assert f"x-ratelimit-{h}" in ok.headers
        date = email_epoch(ok.headers["Date"])
        assert 0 < int(ok.headers["x-ratelimit-reset"]) - date <= 2  # on the server's clock
        sim.get("/repos/acme/checkout-service")
        sim.get("/repos/acme/checkout-service")
        spent = [sim.get("/repos/acme/checkout-service") for _ in range(2)]
        assert [r.status_code for r in spent] == [403, 429]  # GitHub sends either
        assert all(r.headers["x-ratelimit-remaining"] == "0" for r in spent)
        sim.github.rate_headers_enabled = False
        time.sleep(2.05)
        bare = sim.get("/repos/acme/checkout-service")
        assert bare.status_code == 200
        assert not [h for h in bare.headers if h.lower().startswith("x-ratelimit")]
        assert sim.get("/rate_limit").status_code == 404  # "Rate limiting is not enabled."


def email_epoch(value: str) -> int:
    import email.utils

    return int(email.utils.parsedate_to_datetime(value).timestamp())


def test_secondary_limit_fault(ghsim):
    ghsim.github.faults.schedule("secondary", r"^/repos/", times=1)
    ghsim.github.faults.schedule("secondary_bare", r"^/repos/", times=1)
    with_wait, bare = (ghsim.get("/repos/acme/checkout-service") for _ in range(2))
    for resp in (with_wait, bare):
        assert resp.status_code == 403 and "secondary rate limit" in resp.json()["message"]
        assert resp.headers["x-ratelimit-remaining"] != "0"
    assert with_wait.headers["retry-after"] == "60" and "retry-after" not in bare.headers


def test_filtered_runs_listing_is_capped(ghsim):
    path = "/repos/acme/platform-web/actions/runs"
    everything = ghsim.get(path, per_page=100).json()
    ghsim.github.filtered_cap = 5
    capped = ghsim.get(path, branch="main", per_page=100)
    body = capped.json()
    assert body["total_count"] > 5 and len(body["workflow_runs"]) == 5
    assert "Link" not in capped.headers  # nothing past the cap, though total_count says more
    unfiltered = ghsim.get(path, per_page=100).json()
    assert len(unfiltered["workflow_runs"]) == min(100, everything["total_count"])
    window = ghsim.get(path, created="2026-01-12..2026-01-13", status="completed").json()
    assert window["workflow_runs"] and all(
        "2026-01-12" <= r["created_at"][:10] <= "2026-01-13" for r in window["workflow_runs"]
    )
    assert {r["status"] for r in window["workflow_runs"]} == {"completed"}


def test_compare_pages_and_cap(ghsim):
    model = ghsim.github_model
    repo = model.repos["acme/checkout-service"]
    base, head = repo.main[3].sha, repo.head_at(ghsim.clock.now()).sha
    path = f"/repos/{repo.full_name}/compare/{base}...{head}"
    unpaged = ghsim.get(path).json()
    total = unpaged["total_commits"]
    assert total > 60 and unpaged["status"] == "ahead" and len(unpaged["commits"]) == total
    ghsim.github.compare_unpaged_cap = 50
    assert len(ghsim.get(path).json()["commits"]) == 50
    page1 = ghsim.get(path, per_page=30, page=1)
    assert 'rel="next"' in page1.headers["Link"]
    pages = [page1.json()] + [
        ghsim.get(path, per_page=30, page=n).json() for n in range(2, math.ceil(total / 30) + 1)
    ]
    assert pages[0]["files"] and all(p["files"] == [] for p in pages[1:])
    assert [c["sha"] for p in pages for c in p["commits"]] == [
        c.sha for c in repo.main[4 : 4 + total]
    ]  # oldest first
    behind = ghsim.get(f"/repos/{repo.full_name}/compare/{head}...{base}").json()
    assert behind["status"] == "behind" and behind["commits"] == []
    assert behind["behind_by"] == total
    same = ghsim.get(f"/repos/{repo.full_name}/compare/{base}...{base}").json()
    assert same["status"] == "identical" and same["total_commits"] == 0
    squashed = next(
        p
        for p in repo.pulls
        if p.merge_method == "squash" and p.merged_at and p.merged_at < ghsim.clock.now()
    )
    side = ghsim.get(f"/repos/{repo.full_name}/compare/{head}...{squashed.commits[-1].sha}")
    assert side.json()["status"] == "diverged"  # a squashed branch is not on main


def test_drift_fault_moves_a_later_pull_to_the_front(ghsim):
    path = "/repos/acme/checkout-service/pulls"
    args = {"state": "all", "sort": "updated", "direction": "desc", "per_page": 10}
    before = [p["number"] for p in ghsim.get(path, **args).json()]
    second = [p["number"] for p in ghsim.get(path, page=2, **args).json()]
    ghsim.github.faults.schedule("drift", r"/pulls$", times=1)
    ghsim.get(path, **args)
    after = [p["number"] for p in ghsim.get(path, **args).json()]
    assert ghsim.github.drifted == [("acme/checkout-service", second[0])]
    assert after[0] == second[0] and after[1:] == before[:9]


def test_corrupt_hook_breaks_one_record(ghsim):
    ghsim.github_model.corrupt(
        "pull_requests", "acme/checkout-service#1", drop=("number",), values={"state": "exploded"}
    )
    pulls = ghsim.get(
        "/repos/acme/checkout-service/pulls", state="all", sort="created", direction="asc"
    ).json()
    assert "number" not in pulls[0] and pulls[0]["state"] == "exploded"
    assert pulls[1]["number"] == 2


def _shape_diff(real, ours, path: str = "") -> list[str]:
    """Where ``ours`` lacks a key of ``real``, has one more, or holds another type; a null
    on either side (a nullable field) and an empty array are not compared further."""
    if isinstance(real, dict) and isinstance(ours, dict):
        out = [
            f"missing {path}.{k}"
            for k in real.keys() - ours.keys()
            if f"{path}.{k}" not in FORK_ONLY
        ]
        out += [f"extra {path}.{k}" for k in ours.keys() - real.keys()]
        for k in real.keys() & ours.keys():
            out += _shape_diff(real[k], ours[k], f"{path}.{k}")
        return out
    if isinstance(real, list) and isinstance(ours, list):
        return [d for item in ours[:1] if real for d in _shape_diff(real[0], item, path + "[]")]
    if real is None or ours is None or type(real) is type(ours):
        return []
    return [f"type {path}: {type(real).__name__} here {type(ours).__name__}"]


# Keys only a fork, or a repository generated from a template, carries.
FORK_ONLY = (".parent", ".source")


@pytest.mark.parametrize(
    "fixture, path, params",
    [
        ("get_repository.json", "/repos/acme/checkout-service", {}),
        (
            "list_pull_requests.json",
            "/repos/acme/checkout-service/pulls",
            {"state": "all", "sort": "updated", "direction": "desc"},
        ),
        ("list_pull_request_commits.json", "/repos/acme/checkout-service/pulls/1/commits", {}),
        ("list_deployments.json", "/repos/acme/checkout-service/deployments", {}),
        (
            "list_deployment_statuses.json",
            "/repos/acme/checkout-service/deployments/140000630/statuses",
            {},
        ),
        ("list_workflow_runs.json", "/repos/acme/platform-web/actions/runs", {}),
        ("compare_commits.json", None, {}),
    ],
)
def test_records_have_the_real_apis_keys_and_types(ghsim, fixture, path, params):
    """The simulator's bodies carry the keys of GitHub's own examples, with the same value
    types wherever both are non-null (nullable fields may be null in either)."""
    if path is None:
        repo = ghsim.github_model.repos["acme/checkout-service"]
        path = f"/repos/{repo.full_name}/compare/{repo.main[2].sha}...{repo.main[9].sha}"
    body = ghsim.get(path, **params).json()
    real = json.loads((FIXTURES / fixture).read_text())
    if isinstance(real, dict) and "workflow_runs" in real:
        real, body = real["workflow_runs"], body["workflow_runs"]
    if isinstance(real, list):  # every item of ours against GitHub's example item
        problems = {d for item in body for d in _shape_diff(real[0], item)}
    else:
        problems = set(_shape_diff(real, body))
    assert sorted(problems) == []
