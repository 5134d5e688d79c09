"""The simulated GitHub REST API, shaped like GitHub Enterprise Server (base URL ``.../api/v3``).

:class:`GitHubModel` generates each repository's whole timeline from ``org.start`` to
``org.horizon`` at construction; :class:`GitHubService` serves it as of the clock. What a
ground-truth module should read (all plain dataclasses, public attributes):

- ``GitHubModel.repos``: ``full_name`` -> :class:`Repo` (``team``, ``default_branch``,
  ``deployment_signal`` ``"deployments"`` or ``"workflow_runs"``, ``production_environment``
  (``"production"`` or ``"prod"``), ``main`` (the linear main history, oldest first, each a
  :class:`Commit` with ``landed_at``), ``commits`` (every sha of the repository),
  ``pulls``, ``deployments``, ``runs``).
- :class:`PullRequest`: ``number``, ``author``, ``title``, ``head_ref``, ``base_ref``,
  ``created_at``, ``merged_at``/``closed_at`` (when it happens, possibly after now),
  ``merge_method``, ``merge_commit_sha``, ``commits`` (what ``/pulls/{n}/commits`` lists),
  ``labels`` (:class:`LabelEvent` name + time added); ``merged(now)``, ``labels_at(now)``,
  ``updated_at(now)``, ``is_change`` (merged into the default branch).
- :class:`Deployment`: ``id``, ``sha``, ``task``, ``environment``, ``description``,
  ``created_at``, ``statuses`` (:class:`DeploymentStatus`), ``kind`` (the generator's intent:
  normal, retry, rollback, explicit_rollback, revert_rollback, roll_forward, orphan, staging);
  ``deployed_at(now)`` = the first ``success`` status.
- :class:`WorkflowRun`: ``name``, ``head_branch``, ``head_sha``, ``run_started_at``,
  ``completed_at``, ``conclusion``; ``status_at(now)``, ``updated_at(now)``.
- ``GitHubModel.compare(repo, base, head, now)``: GitHub's compare as a :class:`Comparison`
  (``None`` where GitHub answers 404), ``GitHubModel.truth(now)`` / ``truth_by_key(now)``:
  the exact records of every raw table the extractor writes.

Edge cases generated on purpose: PR commits authored days before the PR, merge / squash /
rebase merges (``merge_commit_sha`` is on the linear main history in all three), PRs merged
into ``release/...`` (not a change), closed-unmerged and open PRs (whose ``merge_commit_sha``
is a test-merge commit that is never on main), labels added after creation or after the
merge, titles ``Revert "..."`` / ``hotfix...`` / ``Hotfix ...`` and ``hotfix/`` branches,
authors from another team or outside the catalog, direct pushes to main that belong to no PR;
deployments to ``staging`` beside production (``production`` or ``prod``), failed and errored
deployments, ``pending`` instead of ``queued``, slow deployments still ``in_progress`` for
hours, a retry of the same sha, a rollback to the sha two deployments back (implicit or
``task: deploy:rollback``), a rollback by a revert commit whose description says "Rollback",
a roll-forward after a rollback, ``inactive`` statuses on superseded deployments, a deployed
sha the repository does not know (its compares answer 404); Actions repositories with
``Deploy production`` runs on main (success, failure, cancelled, retries) beside ``CI`` runs
and deploy runs on release branches.

The history is linearised: a merge-method PR's own commits sit on main right before its
merge commit, so a compare between two main shas lists exactly what the merge brought.
Embedded repository objects (a PR's ``head.repo``/``base.repo``, a run's ``repository``) do
not change over time, so a record changes only when its own entity changes; the repository
endpoint itself shows ``pushed_at``/``updated_at``/``open_issues_count`` as of now.
"""

from __future__ import annotations

import base64
import bisect
import hashlib
import json
import math
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from simulator.clock import SimClock
from simulator.faults import FaultInjector
from simulator.org import Org, Person
from simulator.server import Request, Response, Service, WindowLimiter
from simulator.story import CANARY_CATCH

GITHUB_TOKEN = "sim-github-token"  # the literal of simulator.app.GITHUB_TOKEN (no import cycle)
WEB_URL = "https://github.acme.example"  # the GHES host the records name (not the served port)
API_URL = f"{WEB_URL}/api/v3"
DOCS = "https://docs.github.com/enterprise-server@3.14/rest"
DEPLOY_BOT = "acme-deployer[bot]"
MERGE_BOT = "web-flow"
STATUS_STATES = ("error", "failure", "inactive", "in_progress", "queued", "pending", "success")
SETTLED_STATES = frozenset({"error", "failure", "inactive"})  # nothing follows these
TABLES = (
    "repositories",
    "pull_requests",
    "pr_commits",
    "deployments",
    "deployment_statuses",
    "workflow_runs",
    "compares",
)
CATEGORY_LABELS = {
    "roadmap": ("feature", "enhancement"),
    "platform": ("platform", "tech-debt"),
    "unplanned": ("bug", "incident"),
}
LABEL_COLORS = {
    "feature": "a2eeef",
    "enhancement": "84b6eb",
    "platform": "5319e7",
    "tech-debt": "fbca04",
    "bug": "d73a4a",
    "incident": "b60205",
}
VERBS = ("Add", "Fix", "Improve", "Refactor", "Remove", "Update", "Speed up", "Document")
NOUNS = (
    "checkout flow",
    "retry logic",
    "cache layer",
    "search ranking",
    "login form",
    "metrics export",
    "billing job",
    "api pagination",
    "feature flags",
    "error pages",
    "ci pipeline",
    "db migrations",
    "rate limiter",
    "audit log",
)
FILES = (
    "src/app.py",
    "src/api/handlers.py",
    "src/models.py",
    "tests/test_app.py",
    "README.md",
    "deploy/values.yaml",
    "src/jobs/worker.py",
)


# --- small helpers -----------------------------------------------------------------------


# The URL templates GitHub puts in a repository object (as in the real fixtures).
_REPO_URL_KEYS = (
    "archive_url",
    "assignees_url",
    "blobs_url",
    "branches_url",
    "collaborators_url",
    "comments_url",
    "commits_url",
    "compare_url",
    "contents_url",
    "contributors_url",
    "deployments_url",
    "downloads_url",
    "events_url",
    "forks_url",
    "git_commits_url",
    "git_refs_url",
    "git_tags_url",
    "git_url",
    "issue_comment_url",
    "issue_events_url",
    "issues_url",
    "keys_url",
    "labels_url",
    "languages_url",
    "merges_url",
    "milestones_url",
    "notifications_url",
    "pulls_url",
    "releases_url",
    "ssh_url",
    "stargazers_url",
    "statuses_url",
    "subscribers_url",
    "subscription_url",
    "tags_url",
    "teams_url",
    "trees_url",
)


def _iso(dt: datetime | None) -> str | None:
    return None if dt is None else dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _sec(dt: datetime) -> datetime:
    return dt.replace(microsecond=0)


def _sha(*parts: object) -> str:
    return hashlib.sha1(repr(parts).encode()).hexdigest()


def _node(kind: str, ident: object) -> str:
    return base64.b64encode(f"{kind}:{ident}".encode()).decode()


def _poisson(rng, mean: float) -> int:
    if mean <= 0:
        return 0
    if mean > 30:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def _user_id(login: str) -> int:
    return 10_000 + int(hashlib.sha256(login.encode()).hexdigest()[:7], 16)


def _etag(body: Any) -> str:
    return (
        'W/"'
        + hashlib.sha256(json.dumps(body, separators=(",", ":")).encode()).hexdigest()[:40]
        + '"'
    )


# --- the entities ------------------------------------------------------------------------


@dataclass
class Commit:
    """A commit. ``committed_at`` is the committer date GitHub shows and the moment the sha
    becomes known to the repository; ``landed_at`` is when it reached main (None: only on a
    branch, then ``fork_index`` is the main position it branches from and ``chain`` the branch
    shas up to and including it)."""

    sha: str
    repo: str
    author: str
    authored_at: datetime
    committed_at: datetime
    message: str
    parent: str | None
    kind: str  # initial, pr, merge, squash, rebase, direct, revert, release, bulk
    committer: str | None = None  # login of the committer (web-flow for merges on GitHub)
    pull_number: int | None = None
    landed_at: datetime | None = None
    fork_index: int | None = None
    chain: tuple[str, ...] = ()


@dataclass
class LabelEvent:
    name: str
    at: datetime


@dataclass
class PullRequest:
    """A pull request; ``merged_at``/``closed_at`` are when that happens (maybe after now)."""

    repo: str
    number: int
    id: int
    author: str
    title: str
    body: str
    created_at: datetime
    head_ref: str
    base_ref: str
    commits: list[Commit]
    labels: list[LabelEvent]
    touches: list[datetime]  # comments and edits: they move updated_at only
    merged_at: datetime | None = None
    closed_at: datetime | None = None
    merge_method: str | None = None  # merge, squash, rebase
    merge_commit_sha: str | None = None
    merged_by: str | None = None
    test_merge_sha: str = ""  # GitHub's test-merge commit, shown while not merged
    draft: bool = False
    base_sha: str = ""

    def visible(self, now: datetime) -> bool:
        return self.created_at <= now

    def merged(self, now: datetime) -> bool:
        return self.merged_at is not None and self.merged_at <= now

    def closed(self, now: datetime) -> bool:
        return self.closed_at is not None and self.closed_at <= now

    def labels_at(self, now: datetime) -> list[str]:
        return [e.name for e in sorted(self.labels, key=lambda e: e.at) if e.at <= now]

    def updated_at(self, now: datetime) -> datetime:
        moments = [self.created_at, *(e.at for e in self.labels), *self.touches]
        if self.closed_at is not None:
            moments.append(self.closed_at)
        return max(m for m in moments if m <= now)

    @property
    def is_change(self) -> bool:
        """Merged (eventually) into the default branch: a change in the KPI sense."""
        return self.merged_at is not None and self.base_ref == "main"


@dataclass
class DeploymentStatus:
    id: int
    deployment_id: int
    state: str
    created_at: datetime
    creator: str
    description: str
    environment: str


@dataclass
class Deployment:
    repo: str
    id: int
    sha: str
    ref: str
    task: str
    environment: str
    production_environment: bool
    description: str
    creator: str
    created_at: datetime
    statuses: list[DeploymentStatus] = field(default_factory=list)
    kind: str = "normal"

    def visible(self, now: datetime) -> bool:
        return self.created_at <= now

    def statuses_at(self, now: datetime) -> list[DeploymentStatus]:
        return [s for s in self.statuses if s.created_at <= now]

    def updated_at(self, now: datetime) -> datetime:
        return max([self.created_at, *(s.created_at for s in self.statuses_at(now))])

    def deployed_at(self, now: datetime | None = None) -> datetime | None:
        """The first ``success`` status (as of ``now`` when given)."""
        return next(
            (
                s.created_at
                for s in self.statuses
                if s.state == "success" and (now is None or s.created_at <= now)
            ),
            None,
        )


@dataclass
class WorkflowRun:
    repo: str
    id: int
    name: str
    workflow_id: int
    path: str
    head_branch: str
    head_sha: str
    event: str
    run_number: int
    actor: str
    display_title: str
    created_at: datetime
    run_started_at: datetime
    completed_at: datetime
    conclusion: str  # success, failure, cancelled (once completed)
    kind: str = "ci"  # ci, deploy, retry, release_deploy

    def visible(self, now: datetime) -> bool:
        return self.created_at <= now

    def status_at(self, now: datetime) -> str:
        if self.completed_at <= now:
            return "completed"
        return "in_progress" if self.run_started_at <= now else "queued"

    def updated_at(self, now: datetime) -> datetime:
        if self.completed_at <= now:
            return self.completed_at
        return self.run_started_at if self.run_started_at <= now else self.created_at


@dataclass
class Repo:
    full_name: str
    id: int
    team: str | None
    created_at: datetime
    deployment_signal: str  # deployments | workflow_runs
    production_environment: str | None  # the env name production deploys use
    description: str
    default_branch: str = "main"
    main: list[Commit] = field(default_factory=list)
    commits: dict[str, Commit] = field(default_factory=dict)
    pulls: list[PullRequest] = field(default_factory=list)
    deployments: list[Deployment] = field(default_factory=list)
    runs: list[WorkflowRun] = field(default_factory=list)
    main_index: dict[str, int] = field(default_factory=dict)
    main_landed: list[datetime] = field(default_factory=list)
    deployment_by_id: dict[int, Deployment] = field(default_factory=dict)

    @property
    def owner(self) -> str:
        return self.full_name.split("/")[0]

    @property
    def name(self) -> str:
        return self.full_name.split("/")[1]

    def reindex(self) -> None:
        self.main_index = {c.sha: i for i, c in enumerate(self.main)}
        self.main_landed = [c.landed_at for c in self.main]

    def head_at(self, when: datetime) -> Commit:
        """The tip of main at ``when``."""
        i = bisect.bisect_right(self.main_landed, when) - 1
        return self.main[max(i, 0)]

    def pull(self, number: int) -> PullRequest | None:
        return self.pulls[number - 1] if 0 < number <= len(self.pulls) else None


@dataclass
class Comparison:
    base: Commit
    head: Commit
    merge_base: Commit
    status: str
    ahead_by: int
    behind_by: int
    commits: list[Commit]


@dataclass
class _Plan:
    """One planned deployment (or deploy run): times and outcomes are drawn before the main
    history exists; shas are resolved afterwards."""

    at: datetime
    kind: str
    outcome: str  # success, failure, error (cancelled for runs)
    durations: tuple[float, float]  # seconds to in_progress, seconds to the final state
    first_state: str = "queued"
    creator: str = ""
    explicit: bool = False
    revert_title: str = ""


# --- the model ---------------------------------------------------------------------------


class GitHubModel:
    """The organisation's GitHub: repositories with their whole generated history."""

    def __init__(self, org: Org):
        self.org = org
        self.people: dict[str, Person] = {p.login: p for p in org.people}
        self.bots = (DEPLOY_BOT, MERGE_BOT, "dependabot[bot]")
        catalog = org.catalog()
        self.production_pattern: str = catalog["settings"]["production_environment_pattern"]
        self.workflow_patterns: dict[str, str] = {
            r: s.get("workflow_pattern", "(?i)deploy")
            for r, s in catalog["repositories"].items()
            if s.get("deployment_signal") == "workflow_runs"
        }
        self.corruptions: dict[tuple[str, str], tuple[tuple[str, ...], dict[str, Any]]] = {}
        self._lock = threading.RLock()
        self.repos: dict[str, Repo] = {}
        total_days = org.scale.days + org.scale.horizon_days
        deploy_repo_no = 0
        for i, full in enumerate(org.repos):
            signal = "workflow_runs" if full in org.workflow_repos else "deployments"
            env = None
            if signal == "deployments":
                env = "prod" if deploy_repo_no % 2 else "production"
            repo = Repo(
                full,
                700_000_000 + i * 37,
                org.team_of_repo(full),
                _sec(org.start),
                signal,
                env,
                f"The {full.split('/')[1]} of team {org.team_of_repo(full)}",
            )
            self.repos[full] = repo
            pulls = self._generate_pulls(repo, total_days)
            plans = (
                self._plan_deployments(repo, total_days, deploy_repo_no)
                if signal == "deployments"
                else []
            )
            self._build_main(repo, pulls, plans, total_days)
            if signal == "deployments":
                self._resolve_deployments(repo, plans)
                deploy_repo_no += 1
            else:
                self._generate_runs(repo, total_days)
        self._assign_ids()

    # --- generation: pull requests -------------------------------------------------------

    def _members(self, repo: Repo) -> tuple[list[Person], list[Person]]:
        own = [p for t in self.org.teams if t.name == repo.team for p in t.members]
        others = [p for t in self.org.teams if t.name != repo.team for p in t.members]
        return own, others

    def _generate_pulls(self, repo: Repo, total_days: int) -> list[PullRequest]:
        org = self.org
        rng = org.rng("github", "pulls", repo.full_name)
        own, others = self._members(repo)
        start = org.start
        pulls: list[PullRequest] = []
        titles: list[str] = []
        for d in range(total_days):
            day = start + timedelta(days=d)
            rate = (2.2 if day.weekday() < 5 else 0.3) * org.scale.activity
            for _ in range(_poisson(rng, rate)):
                created = _sec(day + timedelta(seconds=rng.uniform(8 * 3600, 19 * 3600)))
                r = rng.random()
                if r < 0.8 or not (others or org.outsiders):
                    author = rng.choice(own)
                elif r < 0.92 and others:
                    author = rng.choice(others)
                else:
                    author = rng.choice(org.outsiders or own)
                verb, noun = rng.choice(VERBS), rng.choice(NOUNS)
                title = f"{verb} {noun}"
                slug = noun.replace(" ", "-") + f"-{rng.randrange(100, 999)}"
                head_ref = rng.choice([f"feature/{slug}", f"{author.login}/{slug}"])
                r = rng.random()
                if r < 0.04 and titles:
                    title = f'Revert "{rng.choice(titles)}"'
                    head_ref = f"revert-{slug}"
                elif r < 0.07:
                    title = f"hotfix: {noun}"
                elif r < 0.09:
                    title = f"Hotfix {noun} crash"
                if rng.random() < 0.06:
                    head_ref = f"hotfix/{slug}"
                titles.append(title)
                # 1-5 commits before the PR opens; sometimes the first one days earlier.
                n_commits = rng.choice((1, 1, 2, 2, 3, 3, 4, 5))
                back = (
                    rng.uniform(2, 6) * 86400
                    if rng.random() < 0.15
                    else rng.uniform(0.3, 30) * 3600
                )
                first = max(start + timedelta(minutes=1), created - timedelta(seconds=back))
                span = max(0.0, (created - first).total_seconds() - 60)
                offsets = sorted(rng.uniform(0, span) for _ in range(n_commits - 1))
                times = [first] + [first + timedelta(seconds=o) for o in offsets]
                times = [_sec(t) for t in times]
                for k in range(1, len(times)):  # strictly increasing committer dates
                    if times[k] <= times[k - 1]:
                        times[k] = times[k - 1] + timedelta(seconds=1)
                commits = [
                    Commit(
                        _sha(repo.full_name, "pr", len(pulls), k),
                        repo.full_name,
                        author.login,
                        t,
                        t,
                        f"{title}" if k == 0 else f"{rng.choice(VERBS)} {noun} (part {k + 1})",
                        None,
                        "pr",
                        author.login,
                    )
                    for k, t in enumerate(times)
                ]
                pr = PullRequest(
                    repo.full_name,
                    0,
                    0,
                    author.login,
                    title,
                    f"This PR changes the {noun}.",
                    created,
                    head_ref,
                    "main",
                    commits,
                    [],
                    [],
                )
                self._pull_outcome(rng, pr, own, len(pulls))
                pulls.append(pr)
        pulls.sort(key=lambda p: (p.created_at, p.head_ref))
        for number, pr in enumerate(pulls, 1):
            pr.number = number
            for c in pr.commits:
                c.pull_number = number
        repo.pulls = pulls
        return pulls

    def _pull_outcome(self, rng, pr: PullRequest, own: list[Person], seq: int) -> None:
        created = pr.created_at
        r = rng.random()
        if r < 0.81:
            hours = min(120.0, max(0.3, rng.lognormvariate(math.log(6), 1.0)))
            pr.merged_at = _sec(created + timedelta(hours=hours))
            pr.closed_at = pr.merged_at
            pr.merge_method = rng.choices(("merge", "squash", "rebase"), (0.4, 0.45, 0.15))[0]
            pr.merged_by = rng.choice(own).login
            if r >= 0.76:
                pr.base_ref = f"release/{created.year}.{created.month:02d}"
        elif r < 0.90:
            pr.closed_at = _sec(created + timedelta(hours=rng.uniform(1, 96)))
        else:
            pr.draft = rng.random() < 0.3
        pr.test_merge_sha = _sha(pr.repo, "test-merge", seq)
        # Labels: none, one, or two of different categories; some added later.
        for cat in self._label_categories(rng, pr.repo):
            at = (
                created
                if rng.random() < 0.65
                else _sec(created + timedelta(hours=rng.uniform(0.1, 30)))
            )
            pr.labels.append(LabelEvent(rng.choice(CATEGORY_LABELS[cat]), at))
        end = pr.closed_at or created + timedelta(days=5)
        for _ in range(rng.choice((0, 0, 1, 1, 2, 3))):
            span = max(60.0, (end - created).total_seconds())
            pr.touches.append(_sec(created + timedelta(seconds=rng.uniform(30, span))))
        if pr.closed_at is not None and rng.random() < 0.1:  # a comment after the close
            pr.touches.append(_sec(pr.closed_at + timedelta(hours=rng.uniform(1, 48))))

    def _label_categories(self, rng, repo: str) -> list[str]:
        mix = self.org.scale.pr_label_mix
        if mix is None:
            r = rng.random()
            return rng.sample(list(CATEGORY_LABELS), 0 if r < 0.3 else 1 if r < 0.8 else 2)
        none, roadmap, platform, unplanned = mix
        if self.org.team_of_repo(repo) == "platform":  # the platform team's work is platform
            roadmap, platform = platform, roadmap
        cat = rng.choices(
            (None, "roadmap", "platform", "unplanned"), (none, roadmap, platform, unplanned)
        )[0]
        return [] if cat is None else [cat]

    # --- generation: deployments ---------------------------------------------------------

    def _plan_deployments(self, repo: Repo, total_days: int, repo_no: int) -> list[_Plan]:
        """Production deploy slots with their outcomes and episodes (retries, rollbacks,
        roll-forwards, a revert-commit rollback, a sha GitHub cannot compare)."""
        org = self.org
        rng = org.rng("github", "deploy-plan", repo.full_name)
        own, _ = self._members(repo)
        story = org.scale.story
        # Each repository gets every episode once early on (the first one also an unknown
        # sha), then more at random.
        forced = {
            "rollback": 3 + repo_no,
            "explicit_rollback": 8 + repo_no,
            "revert_rollback": 13 + repo_no,
        }
        if repo_no == 0:
            forced["orphan"] = 10
        done: set[str] = set()
        rolled_forward = False
        plans: list[_Plan] = []
        free = org.start

        def add(at: datetime, kind: str, outcome: str | None = None, **kw: Any) -> _Plan:
            nonlocal free
            at = _sec(max(at, free))
            if outcome is None:
                x = rng.random()
                outcome = "success" if x < 0.85 else "failure" if x < 0.95 else "error"
            slow = outcome == "success" and kind == "normal" and rng.random() < 0.12
            first = rng.uniform(15, 60)
            final = rng.uniform(3600, 3 * 3600) if slow else rng.uniform(180, 720)
            if outcome == "error":
                first, final = 0, rng.uniform(20, 90)
            plan = _Plan(
                at,
                kind,
                outcome,
                (first, final),
                "pending" if rng.random() < 0.2 else "queued",
                rng.choice(own).login,
                **kw,
            )
            plans.append(plan)
            free = at + timedelta(seconds=final + 60)
            return plan

        for d in range(total_days):
            day = org.start + timedelta(days=d)
            if day.weekday() >= 5:
                continue
            n = max(1, _poisson(rng, 1.5 * org.scale.activity))
            for t in sorted(
                day + timedelta(seconds=rng.uniform(9 * 3600, 20 * 3600)) for _ in range(n)
            ):
                t = max(t, free)
                if t.date() != day.date() or t.hour >= 22:
                    continue
                plan = add(t, "normal")
                if plan.outcome != "success":
                    if rng.random() < 0.6:
                        add(
                            free + timedelta(minutes=rng.uniform(5, 15)),
                            "retry",
                            "success" if rng.random() < 0.9 else "failure",
                        )
                    continue
                if rng.random() < 0.03:
                    add(free + timedelta(minutes=rng.uniform(3, 10)), "retry", "success")
                    continue
                episode = next(
                    (k for k, day_no in forced.items() if k not in done and d >= day_no), None
                )
                if episode is None:
                    x = rng.random()
                    episode = (
                        "rollback"
                        if x < 0.03
                        else "explicit_rollback"
                        if x < 0.05
                        else "revert_rollback"
                        if x < 0.06
                        else None
                    )
                if episode is None:
                    continue
                if story is not None and story.canary_on(t) and rng.random() < CANARY_CATCH:
                    plan.outcome = "failure"  # the canary stopped it: it never went out
                    continue
                done.add(episode)
                gap = timedelta(minutes=rng.uniform(20, 90))
                if episode in ("rollback", "explicit_rollback"):
                    add(free + gap, episode, "success", explicit=episode != "rollback")
                    if rng.random() < 0.6 or not rolled_forward:
                        rolled_forward = True
                        add(free + timedelta(hours=rng.uniform(2, 5)), "roll_forward", "success")
                elif episode == "revert_rollback":
                    add(free + gap, episode, "success", revert_title=rng.choice(NOUNS))
                else:
                    add(free + gap, "orphan", "success")
        return plans

    def _resolve_deployments(self, repo: Repo, plans: list[_Plan]) -> None:
        rng = self.org.rng("github", "deploy-resolve", repo.full_name)
        env = repo.production_environment or "production"
        succeeded: list[Deployment] = []
        rolled_back_sha: str | None = None
        previous: Deployment | None = None
        deployments: list[Deployment] = []
        for plan in plans:
            sha = repo.head_at(plan.at).sha
            task, ref = "deploy", repo.default_branch
            description = f"Deploy {sha[:7]} to {env}"
            kind = plan.kind
            if kind == "normal":
                at = _sec(plan.at - timedelta(minutes=rng.uniform(20, 45)))
                s_sha = repo.head_at(at).sha
                staging = Deployment(
                    repo.full_name,
                    0,
                    s_sha,
                    ref,
                    "deploy",
                    "staging",
                    False,
                    f"Deploy {s_sha[:7]} to staging",
                    plan.creator,
                    at,
                    kind="staging",
                )
                ok = "success" if rng.random() < 0.95 else "failure"
                self._statuses(staging, _Plan(at, "staging", ok, (20, rng.uniform(120, 300))))
                deployments.append(staging)
            elif kind == "retry" and previous is not None:
                sha, description = previous.sha, f"Retry deploy {previous.sha[:7]}"
            elif kind in ("rollback", "explicit_rollback"):
                target = next(
                    (
                        d.sha
                        for d in reversed(succeeded[:-1])
                        if succeeded and d.sha != succeeded[-1].sha
                    ),
                    None,
                )
                if target is None:  # nothing to go back to: it is only a redeploy
                    kind, sha = "retry", succeeded[-1].sha if succeeded else sha
                else:
                    rolled_back_sha, sha, ref = succeeded[-1].sha, target, target
                    if plan.explicit:
                        task, description = "deploy:rollback", f"Rollback to {sha[:7]}"
            elif kind == "roll_forward":
                if rolled_back_sha is None:
                    kind = "normal"
                else:
                    sha, description = rolled_back_sha, f"Redeploy {rolled_back_sha[:7]}"
                    rolled_back_sha = None
            elif kind == "revert_rollback":
                description = f"Rollback: revert of {plan.revert_title} ({sha[:7]})"
            elif kind == "orphan":
                sha = _sha(repo.full_name, "orphan", plan.at)
                ref = "hotfix/urgent-patch"
                description = f"Deploy {sha[:7]} from hotfix/urgent-patch"
            dep = Deployment(
                repo.full_name,
                0,
                sha,
                ref,
                task,
                env,
                True,
                description,
                plan.creator,
                plan.at,
                kind=kind,
            )
            self._statuses(dep, plan)
            deployments.append(dep)
            previous = dep
            if plan.outcome == "success":
                succeeded.append(dep)
        deployments.sort(key=lambda d: d.created_at)
        self._supersede(deployments)
        repo.deployments = deployments

    def _statuses(self, dep: Deployment, plan: _Plan) -> None:
        t0 = dep.created_at + timedelta(seconds=2)
        first, final = plan.durations
        states = [(plan.first_state, t0)]
        if plan.outcome != "error":
            states.append(("in_progress", t0 + timedelta(seconds=first)))
        states.append((plan.outcome, t0 + timedelta(seconds=max(final, first + 5))))
        notes = {
            "queued": "Deployment queued",
            "pending": "Waiting for a runner",
            "in_progress": "Deploying",
            "success": "Deployment finished successfully.",
            "failure": "Health checks failed",
            "error": "Deployment could not start",
        }
        dep.statuses = [
            DeploymentStatus(0, 0, s, _sec(t), DEPLOY_BOT, notes[s], dep.environment)
            for s, t in states
        ]

    def _supersede(self, deployments: list[Deployment]) -> None:
        """GitHub marks the previous successful deployment of an environment ``inactive``
        when a newer one succeeds."""
        by_env: dict[str, list[Deployment]] = {}
        for d in deployments:
            if d.deployed_at() is not None:
                by_env.setdefault(d.environment, []).append(d)
        for deps in by_env.values():
            deps.sort(key=lambda d: (d.deployed_at(), d.created_at))
            for old, new in zip(deps, deps[1:], strict=False):
                old.statuses.append(
                    DeploymentStatus(
                        0,
                        0,
                        "inactive",
                        new.deployed_at() + timedelta(seconds=1),
                        DEPLOY_BOT,
                        "Superseded by a newer deployment",
                        old.environment,
                    )
                )

    # --- generation: the main history ----------------------------------------------------

    def _build_main(
        self, repo: Repo, pulls: list[PullRequest], plans: list[_Plan], total_days: int
    ) -> None:
        """The linear main history: merges of PRs into main (merge: the PR's commits and a
        merge commit; squash: one new commit; rebase: copies of the PR's commits), direct
        pushes that belong to no PR, and the revert commits of revert rollbacks."""
        org = self.org
        rng = org.rng("github", "main", repo.full_name)
        own, _ = self._members(repo)
        full = repo.full_name
        events: list[tuple[datetime, int, str, Any]] = []
        for pr in pulls:
            if pr.merged_at is not None and pr.base_ref == "main":
                events.append((pr.merged_at, pr.number, "merge", pr))
        for d in range(total_days):
            if rng.random() < 0.04 * org.scale.activity:
                at = _sec(org.start + timedelta(days=d, seconds=rng.uniform(9, 18) * 3600))
                events.append((at, 0, "direct", rng.choice(own).login))
        for plan in plans:
            if plan.kind == "revert_rollback":  # the revert is pushed right before the deploy
                events.append((plan.at - timedelta(minutes=8), 0, "revert", plan))
        events.sort(key=lambda e: (e[0], e[1]))
        init = _sec(org.start + timedelta(minutes=5))
        main = [
            Commit(
                _sha(full, "initial"),
                full,
                own[0].login,
                init,
                init,
                "Initial commit",
                None,
                "initial",
                own[0].login,
                landed_at=init,
            )
        ]

        def land(c: Commit, at: datetime) -> Commit:
            at = max(_sec(at), main[-1].landed_at + timedelta(seconds=1))
            c.parent, c.landed_at = main[-1].sha, at
            if c.kind != "pr":  # a PR's own commits keep their committer date
                c.committed_at = at
            main.append(c)
            return c

        for at, _, kind, payload in events:
            if kind == "merge":
                pr = payload
                if pr.merge_method == "merge":
                    for c in pr.commits:
                        land(c, at)
                    mc = Commit(
                        _sha(full, "merge", pr.number),
                        full,
                        pr.merged_by,
                        at,
                        at,
                        f"Merge pull request #{pr.number} from {repo.owner}/"
                        f"{pr.head_ref}\n\n{pr.title}",
                        None,
                        "merge",
                        MERGE_BOT,
                        pr.number,
                    )
                    pr.merge_commit_sha = land(mc, at).sha
                elif pr.merge_method == "squash":
                    sc = Commit(
                        _sha(full, "squash", pr.number),
                        full,
                        pr.author,
                        at,
                        at,
                        f"{pr.title} (#{pr.number})",
                        None,
                        "squash",
                        MERGE_BOT,
                        pr.number,
                    )
                    pr.merge_commit_sha = land(sc, at).sha
                else:
                    for c in pr.commits:
                        rc = Commit(
                            _sha(full, "rebase", c.sha),
                            full,
                            c.author,
                            c.authored_at,
                            at,
                            c.message,
                            None,
                            "rebase",
                            MERGE_BOT,
                            pr.number,
                        )
                        pr.merge_commit_sha = land(rc, at).sha
            elif kind == "direct":
                land(
                    Commit(
                        _sha(full, "direct", at),
                        full,
                        payload,
                        at,
                        at,
                        "chore: update CODEOWNERS",
                        None,
                        "direct",
                        payload,
                    ),
                    at,
                )
            else:
                land(
                    Commit(
                        _sha(full, "revert", at),
                        full,
                        payload.creator,
                        at,
                        at,
                        f'Revert "{payload.revert_title}"',
                        None,
                        "revert",
                        payload.creator,
                    ),
                    at,
                )
        repo.main = main
        repo.commits = {c.sha: c for c in main}
        repo.reindex()
        for pr in pulls:
            pr.base_sha = repo.head_at(pr.created_at).sha
            if pr.merge_method != "merge" or pr.base_ref != "main":
                # Never on main as such: the branch forks where main was at its first commit.
                fork = repo.head_at(pr.commits[0].committed_at)
                self._branch(pr.commits, repo.main_index[fork.sha], fork.sha)
            for c in pr.commits:
                repo.commits.setdefault(c.sha, c)
            if pr.merged_at is not None and pr.base_ref != "main":
                tip = pr.commits[-1]
                sha = _sha(full, "release", pr.number)
                repo.commits[sha] = Commit(
                    sha,
                    full,
                    pr.merged_by,
                    pr.merged_at,
                    pr.merged_at,
                    f"Merge pull request #{pr.number} into {pr.base_ref}",
                    tip.sha,
                    "release",
                    MERGE_BOT,
                    pr.number,
                    fork_index=tip.fork_index,
                    chain=(*tip.chain, sha),
                )
                pr.merge_commit_sha = sha

    @staticmethod
    def _branch(commits: list[Commit], fork_index: int, fork_sha: str) -> None:
        parent, chain = fork_sha, ()
        for c in commits:
            chain = (*chain, c.sha)
            c.parent, c.fork_index, c.chain = parent, fork_index, chain
            parent = c.sha

    # --- generation: workflow runs -------------------------------------------------------

    def _generate_runs(self, repo: Repo, total_days: int) -> None:
        org = self.org
        rng = org.rng("github", "runs", repo.full_name)
        own, _ = self._members(repo)
        runs: list[WorkflowRun] = []
        ci_id, deploy_id = repo.id * 10 + 1, repo.id * 10 + 2

        def run(
            name: str,
            branch: str,
            sha: str,
            event: str,
            at: datetime,
            seconds: float,
            conclusion: str,
            actor: str,
            title: str,
            kind: str,
        ) -> None:
            at = _sec(at)
            started = at + timedelta(seconds=rng.randint(2, 20))
            wf = ci_id if name == "CI" else deploy_id
            path = ".github/workflows/" + ("ci.yml" if name == "CI" else "deploy.yml")
            runs.append(
                WorkflowRun(
                    repo.full_name,
                    0,
                    name,
                    wf,
                    f"{path}@{branch}",
                    branch,
                    sha,
                    event,
                    0,
                    actor,
                    title,
                    at,
                    started,
                    _sec(started + timedelta(seconds=seconds)),
                    conclusion,
                    kind,
                )
            )

        for i, c in enumerate(repo.main[1:], 1):
            nxt = repo.main[i + 1] if i + 1 < len(repo.main) else None
            if nxt is not None and c.pull_number and nxt.pull_number == c.pull_number:
                continue  # CI runs once per push (a merge lands several commits at once)
            ok = "success" if rng.random() < 0.9 else "failure"
            run(
                "CI",
                "main",
                c.sha,
                "push",
                c.landed_at + timedelta(seconds=3),
                rng.uniform(240, 600),
                ok,
                c.author,
                c.message.splitlines()[0],
                "ci",
            )
        for pr in repo.pulls:
            run(
                "CI",
                pr.head_ref,
                pr.commits[-1].sha,
                "pull_request",
                pr.created_at + timedelta(seconds=30),
                rng.uniform(240, 600),
                "success" if rng.random() < 0.85 else "failure",
                pr.author,
                pr.title,
                "ci",
            )
        free = org.start
        forced_retry = False
        for d in range(total_days):
            day = org.start + timedelta(days=d)
            if day.weekday() >= 5:
                continue
            if rng.random() < 0.08:
                rel = f"release/{day.year}.{day.month:02d}"
                run(
                    "Deploy production",
                    rel,
                    _sha(repo.full_name, "release-tip", d),
                    "workflow_dispatch",
                    day + timedelta(hours=rng.uniform(9, 17)),
                    rng.uniform(180, 600),
                    "success",
                    rng.choice(own).login,
                    "Deploy production",
                    "release_deploy",
                )
            n = max(1, _poisson(rng, 1.5 * org.scale.activity))
            for t in sorted(
                day + timedelta(seconds=rng.uniform(9 * 3600, 20 * 3600)) for _ in range(n)
            ):
                t = max(t, free)
                if t.date() != day.date() or t.hour >= 23:
                    continue
                x = rng.random()
                conclusion = "success" if x < 0.85 else "failure" if x < 0.97 else "cancelled"
                slow = conclusion == "success" and rng.random() < 0.1
                seconds = rng.uniform(3600, 9000) if slow else rng.uniform(180, 720)
                sha = repo.head_at(t).sha
                actor = rng.choice(own).login
                run(
                    "Deploy production",
                    "main",
                    sha,
                    "workflow_dispatch",
                    t,
                    seconds,
                    conclusion,
                    actor,
                    "Deploy production",
                    "deploy",
                )
                free = runs[-1].completed_at + timedelta(minutes=2)
                if conclusion != "success" and (rng.random() < 0.6 or not forced_retry):
                    forced_retry = True
                    run(
                        "Deploy production",
                        "main",
                        sha,
                        "workflow_dispatch",
                        free + timedelta(minutes=rng.uniform(3, 10)),
                        rng.uniform(180, 600),
                        "success",
                        actor,
                        "Deploy production",
                        "retry",
                    )
                    free = runs[-1].completed_at + timedelta(minutes=2)
        runs.sort(key=lambda r: (r.created_at, r.workflow_id, r.head_branch))
        counters: dict[int, int] = {}
        for r in runs:
            counters[r.workflow_id] = counters.get(r.workflow_id, 0) + 1
            r.run_number = counters[r.workflow_id]
        repo.runs = runs

    def _assign_ids(self) -> None:
        """Ids grow with creation time across the organisation, as GitHub's do."""
        pulls = sorted(
            (p for r in self.repos.values() for p in r.pulls),
            key=lambda p: (p.created_at, p.repo, p.number),
        )
        for i, p in enumerate(pulls):
            p.id = 1_800_000_000 + i * 7
        deps = sorted(
            (d for r in self.repos.values() for d in r.deployments),
            key=lambda d: (d.created_at, d.repo, d.environment),
        )
        for i, d in enumerate(deps):
            d.id = 140_000_000 + i * 3
        statuses = sorted(
            ((s, d) for d in deps for s in d.statuses),
            key=lambda sd: (sd[0].created_at, sd[1].id, STATUS_ORDER[sd[0].state]),
        )
        for i, (s, d) in enumerate(statuses):
            s.id, s.deployment_id = 300_000_000 + i * 5, d.id
        for d in deps:
            d.statuses.sort(key=lambda s: s.id)
            self.repos[d.repo].deployment_by_id[d.id] = d
        runs = sorted(
            (r for repo in self.repos.values() for r in repo.runs),
            key=lambda r: (r.created_at, r.repo, r.workflow_id),
        )
        for i, r in enumerate(runs):
            r.id = 9_000_000_000 + i * 11

    # --- test hooks ----------------------------------------------------------------------

    def corrupt(
        self,
        table: str,
        key: str,
        *,
        drop: tuple[str, ...] = (),
        values: dict[str, Any] | None = None,
    ) -> None:
        """Serve the record ``key`` of raw table ``table`` broken: without the fields in
        ``drop``, with ``values`` overriding fields (e.g. ``{"state": "exploded"}``)."""
        self.corruptions[(table, key)] = (tuple(drop), dict(values or {}))

    def add_main_commits(self, repo_name: str, count: int, after_sha: str) -> list[Commit]:
        """Insert ``count`` direct commits on main right after ``after_sha`` (a test hook for
        long compares); their times lie between that commit and the next one."""
        with self._lock:
            repo = self.repos[repo_name]
            i = repo.main_index[after_sha]
            lo = repo.main[i].landed_at
            hi = repo.main[i + 1].landed_at if i + 1 < len(repo.main) else lo + timedelta(hours=1)
            step = (hi - lo) / (count + 1)
            added: list[Commit] = []
            parent = after_sha
            for k in range(count):
                at = lo + step * (k + 1)
                c = Commit(
                    _sha(repo_name, "bulk", after_sha, k),
                    repo_name,
                    DEPLOY_BOT,
                    at,
                    at,
                    f"chore: regenerate fixtures ({k + 1}/{count})",
                    parent,
                    "bulk",
                    DEPLOY_BOT,
                    landed_at=at,
                )
                added.append(c)
                repo.commits[c.sha] = c
                parent = c.sha
            for c in repo.commits.values():  # branches forking later move up
                if c.fork_index is not None and c.fork_index > i:
                    c.fork_index += count
            repo.main[i + 1 : i + 1] = added
            if i + 1 + count < len(repo.main):
                repo.main[i + 1 + count].parent = parent
            repo.reindex()
            return added

    def touch_pull(self, repo_name: str, number: int, when: datetime) -> None:
        """Someone comments on a PR at ``when``: its ``updated_at`` moves (page drift)."""
        with self._lock:
            self.repos[repo_name].pull(number).touches.append(_sec(when))

    # --- views as of now -----------------------------------------------------------------

    def visible_pulls(self, repo: Repo, now: datetime) -> list[PullRequest]:
        return [p for p in repo.pulls if p.visible(now)]

    def visible_deployments(self, repo: Repo, now: datetime) -> list[Deployment]:
        return [d for d in repo.deployments if d.visible(now)]

    def compare(self, repo: Repo, base: str, head: str, now: datetime) -> Comparison | None:
        """GitHub's ``compare/base...head`` as of ``now``; None where GitHub answers 404."""
        b, h = repo.commits.get(base), repo.commits.get(head)
        if b is None or h is None or b.committed_at > now or h.committed_at > now:
            return None
        fb, cb = self._ancestry(repo, b)
        fh, ch = self._ancestry(repo, h)
        shared = 0
        while shared < min(len(cb), len(ch)) and cb[shared] == ch[shared]:
            shared += 1
        head_only = [c.sha for c in repo.main[fb + 1 : fh + 1]] + list(ch[shared:])
        base_only = [c.sha for c in repo.main[fh + 1 : fb + 1]] + list(cb[shared:])
        if shared:
            merge_base = repo.commits[cb[shared - 1]]
        else:
            merge_base = repo.main[min(fb, fh)]
        status = (
            "identical"
            if not head_only and not base_only
            else "ahead"
            if not base_only
            else "behind"
            if not head_only
            else "diverged"
        )
        return Comparison(
            b,
            h,
            merge_base,
            status,
            len(head_only),
            len(base_only),
            [repo.commits[s] for s in head_only],
        )

    @staticmethod
    def _ancestry(repo: Repo, c: Commit) -> tuple[int, tuple[str, ...]]:
        if c.sha in repo.main_index:
            return repo.main_index[c.sha], ()
        return c.fork_index or 0, c.chain

    # --- JSON records ----------------------------------------------------------------------

    def _fix(self, table: str, key: str, record: dict[str, Any]) -> dict[str, Any]:
        broken = self.corruptions.get((table, key))
        if broken is None:
            return record
        drop, values = broken
        out = {k: v for k, v in record.items() if k not in drop}
        out.update(values)
        return out

    def user_json(self, login: str) -> dict[str, Any]:
        url = f"{API_URL}/users/{login}"
        uid = _user_id(login)
        return {
            "login": login,
            "id": uid,
            "node_id": _node("04:User", uid),
            "avatar_url": f"{WEB_URL}/avatars/u/{uid}",
            "gravatar_id": "",
            "url": url,
            "html_url": f"{WEB_URL}/{login}",
            "followers_url": f"{url}/followers",
            "following_url": f"{url}/following{{/other_user}}",
            "gists_url": f"{url}/gists{{/gist_id}}",
            "starred_url": f"{url}/starred{{/owner}}{{/repo}}",
            "subscriptions_url": f"{url}/subscriptions",
            "organizations_url": f"{url}/orgs",
            "repos_url": f"{url}/repos",
            "events_url": f"{url}/events{{/privacy}}",
            "received_events_url": f"{url}/received_events",
            "type": "Bot"
            if login.endswith("[bot]")
            else "Organization"
            if login == self.org_login
            else "User",
            "site_admin": False,
        }

    @property
    def org_login(self) -> str:
        return next(iter(self.repos)).split("/")[0]

    def _repo_urls(self, repo: Repo) -> dict[str, str]:
        api = f"{API_URL}/repos/{repo.full_name}"
        return {
            "archive_url": f"{api}/{{archive_format}}{{/ref}}",
            "assignees_url": f"{api}/assignees{{/user}}",
            "blobs_url": f"{api}/git/blobs{{/sha}}",
            "branches_url": f"{api}/branches{{/branch}}",
            "collaborators_url": f"{api}/collaborators{{/collaborator}}",
            "comments_url": f"{api}/comments{{/number}}",
            "commits_url": f"{api}/commits{{/sha}}",
            "compare_url": f"{api}/compare/{{base}}...{{head}}",
            "contents_url": f"{api}/contents/{{+path}}",
            "contributors_url": f"{api}/contributors",
            "deployments_url": f"{api}/deployments",
            "downloads_url": f"{api}/downloads",
            "events_url": f"{api}/events",
            "forks_url": f"{api}/forks",
            "git_commits_url": f"{api}/git/commits{{/sha}}",
            "git_refs_url": f"{api}/git/refs{{/sha}}",
            "git_tags_url": f"{api}/git/tags{{/sha}}",
            "git_url": f"git://{WEB_URL.split('//')[1]}/{repo.full_name}.git",
            "issue_comment_url": f"{api}/issues/comments{{/number}}",
            "issue_events_url": f"{api}/issues/events{{/number}}",
            "issues_url": f"{api}/issues{{/number}}",
            "keys_url": f"{api}/keys{{/key_id}}",
            "labels_url": f"{api}/labels{{/name}}",
            "languages_url": f"{api}/languages",
            "merges_url": f"{api}/merges",
            "milestones_url": f"{api}/milestones{{/number}}",
            "notifications_url": f"{api}/notifications{{?since,all,participating}}",
            "pulls_url": f"{api}/pulls{{/number}}",
            "releases_url": f"{api}/releases{{/id}}",
            "ssh_url": f"git@{WEB_URL.split('//')[1]}:{repo.full_name}.git",
            "stargazers_url": f"{api}/stargazers",
            "statuses_url": f"{api}/statuses/{{sha}}",
            "subscribers_url": f"{api}/subscribers",
            "subscription_url": f"{api}/subscription",
            "tags_url": f"{api}/tags",
            "teams_url": f"{api}/teams",
            "trees_url": f"{api}/git/trees{{/sha}}",
            "hooks_url": f"{api}/hooks",
        }

    def _repo_head(self, repo: Repo) -> dict[str, Any]:
        return {
            "id": repo.id,
            "node_id": _node("010:Repository", repo.id),
            "name": repo.name,
            "full_name": repo.full_name,
        }

    def _repo_core(self, repo: Repo, pushed: datetime, open_issues: int) -> dict[str, Any]:
        """The repository shape of a PR's head/base and of GET /repos (without extras)."""
        urls = self._repo_urls(repo)
        out = {
            **self._repo_head(repo),
            "owner": self.user_json(repo.owner),
            "private": True,
            "html_url": f"{WEB_URL}/{repo.full_name}",
            "description": repo.description,
            "fork": False,
            "url": f"{API_URL}/repos/{repo.full_name}",
        }
        for k in _REPO_URL_KEYS:
            out[k] = urls[k]
        out.update(
            {
                "clone_url": f"{WEB_URL}/{repo.full_name}.git",
                "mirror_url": None,
                "hooks_url": urls["hooks_url"],
                "svn_url": f"{WEB_URL}/{repo.full_name}",
                "homepage": None,
                "language": "Python",
                "forks_count": 0,
                "stargazers_count": 3,
                "watchers_count": 3,
                "size": 2048,
                "default_branch": repo.default_branch,
                "open_issues_count": open_issues,
                "is_template": False,
                "topics": ["platform", repo.team or "unowned"],
                "has_issues": True,
                "has_projects": False,
                "has_wiki": False,
                "has_pages": False,
                "has_downloads": True,
                "archived": False,
                "disabled": False,
                "visibility": "internal",
                "pushed_at": _iso(pushed),
                "created_at": _iso(repo.created_at),
                "updated_at": _iso(pushed),
                "permissions": {"admin": False, "push": False, "pull": True},
                "allow_rebase_merge": True,
                "template_repository": None,
                "temp_clone_token": "",
                "allow_squash_merge": True,
                "allow_auto_merge": False,
                "delete_branch_on_merge": True,
                "allow_merge_commit": True,
                "subscribers_count": 4,
                "network_count": 0,
                "license": {
                    "key": "other",
                    "name": "Other",
                    "spdx_id": "NOASSERTION",
                    "url": None,
                    "node_id": "MDc6TGljZW5zZTA=",
                },
                "forks": 0,
                "open_issues": open_issues,
                "watchers": 3,
            }
        )
        return out

    def repository_json(self, repo: Repo, now: datetime) -> dict[str, Any]:
        pushed = repo.head_at(now).landed_at
        open_prs = sum(1 for p in repo.pulls if p.visible(now) and not p.closed(now))
        out = self._repo_core(repo, pushed, open_prs)
        del out["language"]  # GitHub's GET /repos example has none (the PR's copy does)
        out["has_discussions"] = False
        out["allow_forking"] = False
        out["organization"] = self.user_json(repo.owner)
        # GET /repos lists has_discussions after has_downloads and allow_forking after
        # allow_merge_commit; key order is cosmetic, the key set is what clients see.
        return self._fix("repositories", repo.full_name, out)

    def _stable_repo(self, repo: Repo) -> dict[str, Any]:
        """The embedded repository of PR head/base: fixed in time (see the module doc)."""
        out = self._repo_core(repo, repo.created_at, 0)
        out["license"] = {**out["license"], "html_url": None}
        return out

    def _label_json(self, repo: Repo, name: str) -> dict[str, Any]:
        lid = 4_000_000_000 + int(
            hashlib.sha256(f"{repo.full_name}/{name}".encode()).hexdigest()[:6], 16
        )
        return {
            "id": lid,
            "node_id": _node("05:Label", lid),
            "url": f"{API_URL}/repos/{repo.full_name}/labels/{name}",
            "name": name,
            "description": f"Work of kind {name}",
            "color": LABEL_COLORS.get(name, "ededed"),
            "default": name == "bug",
        }

    def pull_json(self, repo: Repo, pr: PullRequest, now: datetime) -> dict[str, Any]:
        api = f"{API_URL}/repos/{repo.full_name}"
        html = f"{WEB_URL}/{repo.full_name}"
        n = pr.number
        merged, closed = pr.merged(now), pr.closed(now)
        head_sha = pr.commits[-1].sha
        author = self.people.get(pr.author)
        association = "MEMBER" if author is not None and author.team else "CONTRIBUTOR"
        out = {
            "url": f"{api}/pulls/{n}",
            "id": pr.id,
            "node_id": _node("011:PullRequest", pr.id),
            "html_url": f"{html}/pull/{n}",
            "diff_url": f"{html}/pull/{n}.diff",
            "patch_url": f"{html}/pull/{n}.patch",
            "issue_url": f"{api}/issues/{n}",
            "commits_url": f"{api}/pulls/{n}/commits",
            "review_comments_url": f"{api}/pulls/{n}/comments",
            "review_comment_url": f"{api}/pulls/comments{{/number}}",
            "comments_url": f"{api}/issues/{n}/comments",
            "statuses_url": f"{api}/statuses/{head_sha}",
            "number": n,
            "state": "closed" if closed else "open",
            "locked": False,
            "title": pr.title,
            "user": self.user_json(pr.author),
            "body": pr.body,
            "labels": [self._label_json(repo, name) for name in pr.labels_at(now)],
            "milestone": None,
            "active_lock_reason": None,
            "created_at": _iso(pr.created_at),
            "updated_at": _iso(pr.updated_at(now)),
            "closed_at": _iso(pr.closed_at) if closed else None,
            "merged_at": _iso(pr.merged_at) if merged else None,
            "merge_commit_sha": pr.merge_commit_sha if merged else pr.test_merge_sha,
            "assignee": None,
            "assignees": [],
            "requested_reviewers": [],
            "requested_teams": [],
            "head": {
                "label": f"{repo.owner}:{pr.head_ref}",
                "ref": pr.head_ref,
                "sha": head_sha,
                "user": self.user_json(repo.owner),
                "repo": self._stable_repo(repo),
            },
            "base": {
                "label": f"{repo.owner}:{pr.base_ref}",
                "ref": pr.base_ref,
                "sha": pr.base_sha,
                "user": self.user_json(repo.owner),
                "repo": self._stable_repo(repo),
            },
            "_links": {
                "self": {"href": f"{api}/pulls/{n}"},
                "html": {"href": f"{html}/pull/{n}"},
                "issue": {"href": f"{api}/issues/{n}"},
                "comments": {"href": f"{api}/issues/{n}/comments"},
                "review_comments": {"href": f"{api}/pulls/{n}/comments"},
                "review_comment": {"href": f"{api}/pulls/comments{{/number}}"},
                "commits": {"href": f"{api}/pulls/{n}/commits"},
                "statuses": {"href": f"{api}/statuses/{head_sha}"},
            },
            "author_association": association,
            "auto_merge": None,
            "draft": pr.draft and not closed,
        }
        return self._fix("pull_requests", f"{repo.full_name}#{n}", out)

    def commit_json(self, repo: Repo, c: Commit) -> dict[str, Any]:
        api = f"{API_URL}/repos/{repo.full_name}"
        person = self.people.get(c.author)
        committer_login = c.committer or c.author
        committer = self.people.get(committer_login)

        def ident(login: str, who: Person | None, when: datetime) -> dict[str, str]:
            if who is not None:
                return {"name": who.name, "email": who.email, "date": _iso(when)}
            if login == MERGE_BOT:
                return {
                    "name": "GitHub",
                    "email": "noreply@github.acme.example",
                    "date": _iso(when),
                }
            return {
                "name": login,
                "email": f"{login}@users.noreply.github.acme.example",
                "date": _iso(when),
            }

        tree = _sha(c.sha, "tree")
        return {
            "url": f"{api}/commits/{c.sha}",
            "sha": c.sha,
            "node_id": _node("06:Commit", c.sha),
            "html_url": f"{WEB_URL}/{repo.full_name}/commit/{c.sha}",
            "comments_url": f"{api}/commits/{c.sha}/comments",
            "commit": {
                "url": f"{api}/git/commits/{c.sha}",
                "author": ident(c.author, person, c.authored_at),
                "committer": ident(committer_login, committer, c.committed_at),
                "message": c.message,
                "tree": {"url": f"{api}/tree/{tree}", "sha": tree},
                "comment_count": 0,
                "verification": {
                    "verified": False,
                    "reason": "unsigned",
                    "signature": None,
                    "payload": None,
                    "verified_at": None,
                },
            },
            "author": self.user_json(c.author),
            "committer": self.user_json(committer_login),
            "parents": []
            if c.parent is None
            else [{"url": f"{api}/commits/{c.parent}", "sha": c.parent}],
        }

    def pr_commit_json(self, repo: Repo, pr: PullRequest, c: Commit) -> dict[str, Any]:
        return self._fix(
            "pr_commits", f"{repo.full_name}#{pr.number}#{c.sha}", self.commit_json(repo, c)
        )

    def deployment_json(self, repo: Repo, d: Deployment, now: datetime) -> dict[str, Any]:
        api = f"{API_URL}/repos/{repo.full_name}"
        out = {
            "url": f"{api}/deployments/{d.id}",
            "id": d.id,
            "node_id": _node("010:Deployment", d.id),
            "sha": d.sha,
            "ref": d.ref,
            "task": d.task,
            "payload": {},
            "original_environment": d.environment,
            "environment": d.environment,
            "description": d.description,
            "creator": self.user_json(d.creator),
            "created_at": _iso(d.created_at),
            "updated_at": _iso(d.updated_at(now)),
            "statuses_url": f"{api}/deployments/{d.id}/statuses",
            "repository_url": api,
            "transient_environment": False,
            "production_environment": d.production_environment,
        }
        return self._fix("deployments", f"{repo.full_name}#{d.id}", out)

    def status_json(self, repo: Repo, d: Deployment, s: DeploymentStatus) -> dict[str, Any]:
        api = f"{API_URL}/repos/{repo.full_name}"
        log = f"https://deploy.acme.example/{repo.name}/{d.id}"
        out = {
            "url": f"{api}/deployments/{d.id}/statuses/{s.id}",
            "id": s.id,
            "node_id": _node("016:DeploymentStatus", s.id),
            "state": s.state,
            "creator": self.user_json(s.creator),
            "description": s.description,
            "environment": s.environment,
            "target_url": log,
            "created_at": _iso(s.created_at),
            "updated_at": _iso(s.created_at),
            "deployment_url": f"{api}/deployments/{d.id}",
            "repository_url": api,
            "environment_url": f"https://{s.environment}.{repo.name}.acme.example",
            "log_url": log,
        }
        return self._fix("deployment_statuses", f"{repo.full_name}#{d.id}#{s.id}", out)

    def run_json(self, repo: Repo, r: WorkflowRun, now: datetime) -> dict[str, Any]:
        api = f"{API_URL}/repos/{repo.full_name}"
        urls = self._repo_urls(repo)
        status = r.status_at(now)
        head = repo.commits.get(r.head_sha)
        who = self.people.get(r.actor)
        mini = {
            **self._repo_head(repo),
            "owner": self.user_json(repo.owner),
            "private": True,
            "html_url": f"{WEB_URL}/{repo.full_name}",
            "description": repo.description,
            "fork": False,
            "url": api,
        }
        repository = {
            **mini,
            **{k: urls[k] for k in (*_REPO_URL_KEYS, "hooks_url")},
        }
        head_repository = {
            **self._repo_head(repo),
            "private": True,
            "owner": self.user_json(repo.owner),
            "html_url": f"{WEB_URL}/{repo.full_name}",
            "description": repo.description,
            "fork": False,
            "url": api,
        }
        head_repository.update(
            {
                k: urls[k]
                for k in (
                    "forks_url",
                    "keys_url",
                    "collaborators_url",
                    "teams_url",
                    "hooks_url",
                    "issue_events_url",
                    "events_url",
                    "assignees_url",
                    "branches_url",
                    "tags_url",
                    "blobs_url",
                    "git_tags_url",
                    "git_refs_url",
                    "trees_url",
                    "statuses_url",
                    "languages_url",
                    "stargazers_url",
                    "contributors_url",
                    "subscribers_url",
                    "subscription_url",
                    "commits_url",
                    "git_commits_url",
                    "comments_url",
                    "issue_comment_url",
                    "contents_url",
                    "compare_url",
                    "merges_url",
                    "archive_url",
                    "downloads_url",
                    "issues_url",
                    "pulls_url",
                    "milestones_url",
                    "notifications_url",
                    "labels_url",
                    "releases_url",
                    "deployments_url",
                )
            }
        )
        suite = r.id + 17
        out = {
            "id": r.id,
            "name": r.name,
            "node_id": _node("012:WorkflowRun", r.id),
            "check_suite_id": suite,
            "check_suite_node_id": _node("010:CheckSuite", suite),
            "head_branch": r.head_branch,
            "head_sha": r.head_sha,
            "path": r.path,
            "run_number": r.run_number,
            "event": r.event,
            "display_title": r.display_title,
            "status": status,
            "conclusion": r.conclusion if status == "completed" else None,
            "workflow_id": r.workflow_id,
            "url": f"{api}/actions/runs/{r.id}",
            "html_url": f"{WEB_URL}/{repo.full_name}/actions/runs/{r.id}",
            "pull_requests": [],
            "created_at": _iso(r.created_at),
            "updated_at": _iso(r.updated_at(now)),
            "actor": self.user_json(r.actor),
            "run_attempt": 1,
            "run_started_at": _iso(r.run_started_at),
            "triggering_actor": self.user_json(r.actor),
            "jobs_url": f"{api}/actions/runs/{r.id}/jobs",
            "logs_url": f"{api}/actions/runs/{r.id}/logs",
            "check_suite_url": f"{api}/check-suites/{suite}",
            "artifacts_url": f"{api}/actions/runs/{r.id}/artifacts",
            "cancel_url": f"{api}/actions/runs/{r.id}/cancel",
            "rerun_url": f"{api}/actions/runs/{r.id}/rerun",
            "workflow_url": f"{api}/actions/workflows/{r.workflow_id}",
            "head_commit": {
                "id": r.head_sha,
                "tree_id": _sha(r.head_sha, "tree"),
                "message": head.message if head else r.display_title,
                "timestamp": _iso(head.committed_at if head else r.created_at),
                "author": {
                    "name": who.name if who else r.actor,
                    "email": who.email if who else f"{r.actor}@acme.example",
                },
                "committer": {"name": "GitHub", "email": "noreply@github.acme.example"},
            },
            "repository": repository,
            "head_repository": head_repository,
        }
        return self._fix("workflow_runs", f"{repo.full_name}#{r.id}", out)

    def _files(self, repo: Repo, cmp: Comparison) -> list[dict[str, Any]]:
        if not cmp.commits:
            return []
        digest = hashlib.sha256(f"{cmp.base.sha}{cmp.head.sha}".encode()).digest()
        out = []
        for k in range(1 + digest[0] % 3):
            name = FILES[(digest[1] + k) % len(FILES)]
            adds, dels = digest[2 + k] % 120, digest[5 + k] % 40
            blob = _sha(cmp.head.sha, name)
            out.append(
                {
                    "sha": blob,
                    "filename": name,
                    "status": "modified",
                    "additions": adds,
                    "deletions": dels,
                    "changes": adds + dels,
                    "blob_url": f"{WEB_URL}/{repo.full_name}/blob/{cmp.head.sha}/{name}",
                    "raw_url": f"{WEB_URL}/{repo.full_name}/raw/{cmp.head.sha}/{name}",
                    "contents_url": f"{API_URL}/repos/{repo.full_name}/contents/{name}"
                    f"?ref={cmp.head.sha}",
                    "patch": f"@@ -1,{dels} +1,{adds} @@",
                }
            )
        return out

    def compare_json(
        self, repo: Repo, cmp: Comparison, commits: list[Commit], files: bool = True
    ) -> dict[str, Any]:
        base, head = cmp.base.sha, cmp.head.sha
        path = f"{repo.full_name}/compare/{base}...{head}"
        out = {
            "url": f"{API_URL}/repos/{path}",
            "html_url": f"{WEB_URL}/{path}",
            "permalink_url": f"{WEB_URL}/{repo.full_name}/compare/{repo.owner}:{base}..."
            f"{repo.owner}:{head}",
            "diff_url": f"{WEB_URL}/{path}.diff",
            "patch_url": f"{WEB_URL}/{path}.patch",
            "base_commit": self.commit_json(repo, cmp.base),
            "merge_base_commit": self.commit_json(repo, cmp.merge_base),
            "status": cmp.status,
            "ahead_by": cmp.ahead_by,
            "behind_by": cmp.behind_by,
            "total_commits": len(cmp.commits),
            "commits": [self.commit_json(repo, c) for c in commits],
            "files": self._files(repo, cmp) if files else [],
        }
        return self._fix("compares", f"{repo.full_name}#{base}...{head}", out)

    @staticmethod
    def not_found(doc: str = "") -> dict[str, str]:
        return {"message": "Not Found", "documentation_url": f"{DOCS}{doc}", "status": "404"}

    # --- the truth -------------------------------------------------------------------------

    def compare_pairs(self, repo: Repo, now: datetime) -> list[tuple[str, str]]:
        """(base, head) shas of consecutive successful production deployments of each
        environment (for Actions repositories: consecutive successful deploy runs on the
        default branch), ordered by deployed_at, ties to the larger id."""
        pairs: list[tuple[str, str]] = []
        if repo.deployment_signal == "workflow_runs":
            pattern = self.workflow_patterns.get(repo.full_name, "(?i)deploy")
            done = sorted(
                (
                    r
                    for r in repo.runs
                    if r.visible(now)
                    and r.status_at(now) == "completed"
                    and r.conclusion == "success"
                    and r.head_branch == repo.default_branch
                    and re.search(pattern, r.name)
                ),
                key=lambda r: (r.updated_at(now), r.id),
            )
            return [(a.head_sha, b.head_sha) for a, b in zip(done, done[1:], strict=False)]
        by_env: dict[str, list[Deployment]] = {}
        for d in repo.deployments:
            if (
                d.visible(now)
                and d.deployed_at(now) is not None
                and re.search(self.production_pattern, d.environment)
            ):
                by_env.setdefault(d.environment, []).append(d)
        for env in sorted(by_env):
            deps = sorted(by_env[env], key=lambda d: (d.deployed_at(now), d.id))
            pairs += [(a.sha, b.sha) for a, b in zip(deps, deps[1:], strict=False)]
        return pairs

    def truth_by_key(self, now: datetime) -> dict[str, dict[str, dict[str, Any]]]:
        """Every raw table the extractor writes: key -> the record GitHub serves at ``now``
        (keys as the extractor forms them). Workflow runs: the completed runs on the default
        branch of the Actions repositories, created since ``org.start``."""
        out: dict[str, dict[str, dict[str, Any]]] = {t: {} for t in TABLES}
        with self._lock:
            for full, repo in self.repos.items():
                out["repositories"][full] = self.repository_json(repo, now)
                for pr in self.visible_pulls(repo, now):
                    out["pull_requests"][f"{full}#{pr.number}"] = self.pull_json(repo, pr, now)
                    if pr.merged(now):
                        for c in pr.commits[:250]:
                            out["pr_commits"][f"{full}#{pr.number}#{c.sha}"] = self.pr_commit_json(
                                repo, pr, c
                            )
                for d in self.visible_deployments(repo, now):
                    out["deployments"][f"{full}#{d.id}"] = self.deployment_json(repo, d, now)
                    for s in d.statuses_at(now):
                        out["deployment_statuses"][f"{full}#{d.id}#{s.id}"] = self.status_json(
                            repo, d, s
                        )
                if repo.deployment_signal == "workflow_runs":
                    for r in repo.runs:
                        if (
                            r.visible(now)
                            and r.status_at(now) == "completed"
                            and r.head_branch == repo.default_branch
                            and r.created_at >= self.org.start
                        ):
                            out["workflow_runs"][f"{full}#{r.id}"] = self.run_json(repo, r, now)
                for base, head in self.compare_pairs(repo, now):
                    key = f"{full}#{base}...{head}"
                    cmp = self.compare(repo, base, head, now)
                    out["compares"][key] = (
                        self.not_found("/commits/commits#compare-two-commits")
                        if cmp is None
                        else self.compare_json(repo, cmp, cmp.commits)
                    )
        return out

    def truth(self, now: datetime) -> dict[str, list[dict[str, Any]]]:
        """For each raw table, the records GitHub would serve as of ``now``."""
        return {t: list(recs.values()) for t, recs in self.truth_by_key(now).items()}


STATUS_ORDER = {
    "queued": 0,
    "pending": 0,
    "in_progress": 1,
    "success": 2,
    "failure": 2,
    "error": 2,
    "inactive": 3,
}


# --- the service -------------------------------------------------------------------------

_REPO = r"/repos/(?P<owner>[^/]+)/(?P<name>[^/]+)"
# Parameters that make an Actions runs listing "filtered" (capped at 1,000 results).
_RUN_FILTERS = ("actor", "branch", "check_suite_id", "created", "event", "head_sha", "status")
_RUN_CONCLUSIONS = (
    "success",
    "failure",
    "cancelled",
    "neutral",
    "skipped",
    "timed_out",
    "action_required",
    "stale",
    "startup_failure",
)


class GitHubService(Service):
    """GitHub's REST API over the model, as of the clock.

    Knobs for tests: ``max_per_page`` (100), ``default_per_page`` (30), ``pr_commits_cap``
    (250), ``compare_unpaged_cap`` (250), ``filtered_cap`` (1,000 results of a filtered runs
    listing), ``throttle_status`` (403, 429 or "alternate" when the primary limit is spent),
    ``rate_headers_enabled`` (False: GHES with rate limiting disabled, no x-ratelimit-*
    header at all), ``secondary_retry_after`` (the retry-after of the ``secondary`` fault),
    ``fault_reset_seconds`` (the reset of the ``429`` fault).

    Fault kinds read here beside the shared ones: ``secondary`` (403 "You have exceeded a
    secondary rate limit" with retry-after), ``secondary_bare`` (the same without
    retry-after), ``drift`` (on a pulls listing: after the page is served, the first PR of
    the next page gets a comment and moves to the front of ``sort=updated``).
    """

    name = "github"
    prefix = "/api/v3"

    def __init__(
        self,
        model: GitHubModel,
        clock: SimClock,
        faults: FaultInjector | None = None,
        rate_limit: WindowLimiter | None = None,
        timeout_delay: float = 3.0,
        *,
        rate_headers: bool = True,
    ):
        super().__init__(clock, faults, rate_limit, timeout_delay)
        self.model = model
        self.max_per_page = 100
        self.default_per_page = 30
        self.pr_commits_cap = 250
        self.compare_unpaged_cap = 250
        self.filtered_cap = 1000
        self.throttle_status: int | str = "alternate"
        self.rate_headers_enabled = rate_headers
        self.secondary_retry_after = 60
        self.fault_reset_seconds = 1.0
        self.responses: list[tuple[str, int]] = []  # (path, status) of every answer
        self.drifted: list[tuple[str, int]] = []  # (repo, number) moved by a drift fault
        self._throttles = 0
        self._unlimited_used = 0
        self._state_lock = threading.Lock()
        routes = [
            ("", self._repository),
            ("/pulls", self._pulls),
            (r"/pulls/(?P<number>\d+)", self._pull),
            (r"/pulls/(?P<number>\d+)/commits", self._pull_commits),
            ("/deployments", self._deployments),
            (r"/deployments/(?P<id>\d+)", self._deployment),
            (r"/deployments/(?P<id>\d+)/statuses", self._statuses),
            ("/actions/runs", self._runs),
            (r"/compare/(?P<basehead>[^/]+)", self._compare),
        ]
        for suffix, handler in routes:
            self.route("GET", _REPO + suffix, handler)
        self.route("GET", "/rate_limit", self._rate_limit)

    # --- the Service contract --------------------------------------------------------------

    def authenticate(self, req: Request) -> Response | None:
        auth = req.header("authorization") or ""
        scheme, _, token = auth.partition(" ")
        if scheme.lower() in ("bearer", "token") and token == GITHUB_TOKEN:
            return None
        return Response(
            401, {"message": "Bad credentials", "documentation_url": DOCS, "status": "401"}
        )

    def error(self, status: int, message: str, code: int | None = None) -> Response:
        return Response(
            status, {"message": message, "documentation_url": DOCS, "status": str(status)}
        )

    def throttled(self, reset_epoch: float) -> Response:
        """The primary limit is spent: 403 or 429 with remaining 0 (GitHub sends either)."""
        status = self.throttle_status
        if status == "alternate":
            with self._state_lock:
                self._throttles += 1
                status = 403 if self._throttles % 2 else 429
        return self._limited(int(status), reset_epoch)

    def rate_headers(self, remaining: int, reset_epoch: float) -> dict[str, str]:
        if not self.rate_headers_enabled:
            return {}
        limit = self.limiter.limit if self.limiter is not None else 5000
        return {
            "x-ratelimit-limit": str(limit),
            "x-ratelimit-remaining": str(remaining),
            "x-ratelimit-used": str(limit - remaining),
            "x-ratelimit-reset": str(self._server_epoch(reset_epoch)),
            "x-ratelimit-resource": "core",
        }

    def _server_epoch(self, real_epoch: float) -> int:
        """A reset moment on the server's clock (the one its Date header shows): the real
        seconds left, counted from the simulated now, rounded up."""
        left = max(0.0, real_epoch - time.time())
        return math.ceil(self.clock.now().timestamp() + left)

    def _limited(self, status: int, reset_epoch: float) -> Response:
        body = {
            "message": "API rate limit exceeded for user ID 1. If you reach out to GitHub "
            "Support for help, please include the request ID.",
            "documentation_url": f"{DOCS}/overview/rate-limits-for-the-rest-api",
            "status": str(status),
        }
        return Response(status, body, self.rate_headers(0, reset_epoch))

    def _secondary(self, kind: str) -> Response:
        remaining, reset = self._peek_limit()
        headers = self.rate_headers(remaining, reset)
        if kind == "secondary":
            headers["retry-after"] = str(self.secondary_retry_after)
        body = {
            "message": "You have exceeded a secondary rate limit. Please wait a few "
            "minutes before you try again.",
            "documentation_url": f"{DOCS}/overview/rate-limits-for-the-rest-api"
            "#about-secondary-rate-limits",
            "status": "403",
        }
        return Response(403, body, headers)

    def _peek_limit(self) -> tuple[int, float]:
        if self.limiter is not None:
            lim = self.limiter
            return max(0, lim.limit - lim._used), lim._start + lim.window
        return 5000 - 1 - self._unlimited_used % 4999, time.time() + 3600

    def _hit(self) -> tuple[bool, int, float]:
        if self.limiter is not None:
            return self.limiter.hit()
        with self._state_lock:
            self._unlimited_used += 1  # headers count down but nothing is enforced
        return True, 5000 - 1 - self._unlimited_used % 4999, time.time() + 3600

    def handle(self, req: Request) -> tuple[Response, str | None]:
        resp, fault = self._handle(req)
        with self._log_lock:
            self.responses.append((req.path, resp.status))
        return resp, fault

    def _handle(self, req: Request) -> tuple[Response, str | None]:
        with self._log_lock:
            self.request_log.append((req.method, req.path, req.query))
        denied = self.authenticate(req)
        if denied is not None:
            return denied, None
        fault = self.faults.pick(req.path)
        if fault == "429":
            return self._limited(429, time.time() + self.fault_reset_seconds), None
        if fault in ("secondary", "secondary_bare"):
            return self._secondary(fault), None
        if fault in ("500", "502", "503"):
            return self.error(int(fault), "Server Error"), None
        resp = self._dispatch(req)
        etag = resp.headers.get("etag")
        if resp.status == 200 and etag and req.header("if-none-match") == etag:
            # Conditional request answered from cache: not counted against the limit.
            remaining, reset = self._peek_limit()
            return Response(304, None, {**self.rate_headers(remaining, reset), "etag": etag}), fault
        allowed, remaining, reset = self._hit()
        if not allowed:
            return self.throttled(reset), None
        resp.headers = {**self.rate_headers(remaining, reset), **resp.headers}
        if fault == "drift":
            self._drift(req)
            fault = None
        return resp, fault

    def _dispatch(self, req: Request) -> Response:
        for method, pattern, handler in self._routes:
            m = pattern.match(req.path)
            if m and method == req.method:
                resp = handler(req, m)
                if resp.status == 200 and resp.body is not None and "etag" not in resp.headers:
                    resp.headers["etag"] = _etag(resp.body)
                return resp
        return self.error(404, "Not Found")

    # --- helpers -----------------------------------------------------------------------

    def _repo(self, m: re.Match[str]) -> Repo | None:
        return self.model.repos.get(f"{m['owner']}/{m['name']}")

    def _missing(self, doc: str = "") -> Response:
        return Response(404, self.model.not_found(doc))

    def _page_args(self, req: Request) -> tuple[int, int] | Response:
        try:
            per_page = int(req.arg("per_page") or self.default_per_page)
            page = int(req.arg("page") or 1)
        except ValueError:
            return self.error(422, "Invalid request: per_page and page must be integers")
        return max(1, min(per_page, self.max_per_page)), max(1, page)

    def _paged(
        self,
        req: Request,
        items: list[Any],
        extra: dict[str, Any] | None = None,
        shown: int | None = None,
    ) -> tuple[list[Any], dict[str, str]] | Response:
        """Slice a listing; ``Link`` with next/last (first/prev past page 1), none at all when
        everything fits on one page. ``shown``: how many items may be paged (a cap)."""
        args = self._page_args(req)
        if isinstance(args, Response):
            return args
        per_page, page = args
        count = len(items) if shown is None else min(shown, len(items))
        last = max(1, math.ceil(count / per_page))
        chunk = items[(page - 1) * per_page : min(page * per_page, count)]
        headers: dict[str, str] = {}
        if last > 1 or page > 1:

            def url(p: int) -> str:
                q = {k: v[-1] for k, v in req.query.items()}
                q["page"] = str(p)
                return f"{req.base_url}{req.path}?{urlencode(q)}"

            links = []
            if page > 1:
                links += [f'<{url(page - 1)}>; rel="prev"', f'<{url(1)}>; rel="first"']
            if page < last:
                links += [f'<{url(page + 1)}>; rel="next"', f'<{url(last)}>; rel="last"']
            if links:
                headers["Link"] = ", ".join(links)
        return chunk, headers

    # --- endpoints -----------------------------------------------------------------------

    def _repository(self, req: Request, m: re.Match[str]) -> Response:
        repo = self._repo(m)
        if repo is None:
            return self._missing("/repos/repos#get-a-repository")
        with self.model._lock:
            return Response(200, self.model.repository_json(repo, self.clock.now()))

    def _sorted_pulls(self, req: Request, repo: Repo, now: datetime) -> list[PullRequest]:
        state = req.arg("state", "open")
        pulls = self.model.visible_pulls(repo, now)
        if state == "open":
            pulls = [p for p in pulls if not p.closed(now)]
        elif state == "closed":
            pulls = [p for p in pulls if p.closed(now)]
        base = req.arg("base")
        if base:
            pulls = [p for p in pulls if p.base_ref == base]
        sort = req.arg("sort", "created")
        # GitHub: direction defaults to desc for sort=created, asc otherwise.
        direction = req.arg("direction") or ("desc" if sort == "created" else "asc")
        if sort == "updated":
            pulls.sort(key=lambda p: (p.updated_at(now), p.number))
        else:
            pulls.sort(key=lambda p: (p.created_at, p.number))
        if direction == "desc":
            pulls.reverse()
        return pulls

    def _pulls(self, req: Request, m: re.Match[str]) -> Response:
        repo = self._repo(m)
        if repo is None:
            return self._missing("/pulls/pulls#list-pull-requests")
        now = self.clock.now()
        with self.model._lock:
            pulls = self._sorted_pulls(req, repo, now)
            paged = self._paged(req, pulls)
            if isinstance(paged, Response):
                return paged
            chunk, headers = paged
            return Response(200, [self.model.pull_json(repo, p, now) for p in chunk], headers)

    def _pull(self, req: Request, m: re.Match[str]) -> Response:
        repo = self._repo(m)
        pr = repo.pull(int(m["number"])) if repo else None
        now = self.clock.now()
        if pr is None or not pr.visible(now):
            return self._missing("/pulls/pulls#get-a-pull-request")
        with self.model._lock:
            return Response(200, self.model.pull_json(repo, pr, now))

    def _pull_commits(self, req: Request, m: re.Match[str]) -> Response:
        repo = self._repo(m)
        pr = repo.pull(int(m["number"])) if repo else None
        if pr is None or not pr.visible(self.clock.now()):
            return self._missing("/pulls/pulls#list-commits-on-a-pull-request")
        paged = self._paged(req, pr.commits, shown=self.pr_commits_cap)
        if isinstance(paged, Response):
            return paged
        chunk, headers = paged
        return Response(200, [self.model.pr_commit_json(repo, pr, c) for c in chunk], headers)

    def _deployments(self, req: Request, m: re.Match[str]) -> Response:
        repo = self._repo(m)
        if repo is None:
            return self._missing("/deployments/deployments#list-deployments")
        now = self.clock.now()
        deps = [
            d
            for d in reversed(self.model.visible_deployments(repo, now))
            if all(
                not req.arg(k) or getattr(d, k) == req.arg(k)
                for k in ("environment", "sha", "ref", "task")
            )
        ]
        deps.sort(key=lambda d: d.id, reverse=True)
        paged = self._paged(req, deps)
        if isinstance(paged, Response):
            return paged
        chunk, headers = paged
        return Response(200, [self.model.deployment_json(repo, d, now) for d in chunk], headers)

    def _find_deployment(self, m: re.Match[str]) -> tuple[Repo, Deployment] | None:
        repo = self._repo(m)
        if repo is None:
            return None
        dep = repo.deployment_by_id.get(int(m["id"]))
        if dep is None or not dep.visible(self.clock.now()):
            return None
        return repo, dep

    def _deployment(self, req: Request, m: re.Match[str]) -> Response:
        found = self._find_deployment(m)
        if found is None:
            return self._missing("/deployments/deployments#get-a-deployment")
        repo, dep = found
        return Response(200, self.model.deployment_json(repo, dep, self.clock.now()))

    def _statuses(self, req: Request, m: re.Match[str]) -> Response:
        found = self._find_deployment(m)
        if found is None:
            return self._missing("/deployments/statuses#list-deployment-statuses")
        repo, dep = found
        statuses = sorted(dep.statuses_at(self.clock.now()), key=lambda s: s.id, reverse=True)
        paged = self._paged(req, statuses)
        if isinstance(paged, Response):
            return paged
        chunk, headers = paged
        return Response(200, [self.model.status_json(repo, dep, s) for s in chunk], headers)

    def _runs(self, req: Request, m: re.Match[str]) -> Response:
        repo = self._repo(m)
        if repo is None:
            return self._missing("/actions/workflow-runs#list-workflow-runs-for-a-repository")
        now = self.clock.now()
        created = req.arg("created")
        window = _created_window(created) if created else (None, None)
        if window is None:
            return self.error(422, f"Invalid created filter: {created!r}")
        lo, hi = window
        status, branch = req.arg("status"), req.arg("branch")
        event, head_sha = req.arg("event"), req.arg("head_sha")
        runs = []
        for r in reversed(repo.runs):
            if not r.visible(now) or (branch and r.head_branch != branch):
                continue
            if (event and r.event != event) or (head_sha and r.head_sha != head_sha):
                continue
            if (lo and r.created_at < lo) or (hi and r.created_at > hi):
                continue
            current = r.status_at(now)
            if status in _RUN_CONCLUSIONS:
                if current != "completed" or r.conclusion != status:
                    continue
            elif status and current != status:
                continue
            runs.append(r)
        runs.sort(key=lambda r: (r.created_at, r.id), reverse=True)
        filtered = any(req.arg(k) for k in _RUN_FILTERS)
        paged = self._paged(req, runs, shown=self.filtered_cap if filtered else None)
        if isinstance(paged, Response):
            return paged
        chunk, headers = paged
        body = {
            "total_count": len(runs),
            "workflow_runs": [self.model.run_json(repo, r, now) for r in chunk],
        }
        return Response(200, body, headers)

    def _compare(self, req: Request, m: re.Match[str]) -> Response:
        repo = self._repo(m)
        base, sep, head = m["basehead"].partition("...")
        doc = "/commits/commits#compare-two-commits"
        if repo is None or not sep:
            return self._missing(doc)
        with self.model._lock:
            cmp = self.model.compare(repo, base, head, self.clock.now())
            if cmp is None:
                return self._missing(doc)
            if req.arg("page") is None and req.arg("per_page") is None:
                shown = cmp.commits[: self.compare_unpaged_cap]
                return Response(200, self.model.compare_json(repo, cmp, shown))
            paged = self._paged(req, cmp.commits)
            if isinstance(paged, Response):
                return paged
            chunk, headers = paged
            first = int(req.arg("page") or 1) == 1
            return Response(200, self.model.compare_json(repo, cmp, chunk, files=first), headers)

    def _rate_limit(self, req: Request, m: re.Match[str]) -> Response:
        if not self.rate_headers_enabled:
            return self.error(404, "Rate limiting is not enabled.")
        remaining, reset = self._peek_limit()
        limit = self.limiter.limit if self.limiter is not None else 5000
        core = {
            "limit": limit,
            "used": limit - remaining,
            "remaining": remaining,
            "reset": self._server_epoch(reset),
        }
        return Response(200, {"resources": {"core": core}, "rate": core})

    def _drift(self, req: Request) -> None:
        """Page drift: a PR on a later page of this ``sort=updated`` walk gets a comment now
        and jumps to the front, so the walk's next page repeats one PR and misses it."""
        m = re.match(f"^{_REPO}/pulls$", req.path)
        if m is None or req.arg("sort") != "updated":
            return
        repo = self._repo(m)
        args = self._page_args(req)
        if repo is None or isinstance(args, Response):
            return
        per_page, page = args
        now = self.clock.now()
        with self.model._lock:
            pulls = self._sorted_pulls(req, repo, now)
            if len(pulls) > page * per_page:
                moved = pulls[page * per_page]
                self.model.touch_pull(repo.full_name, moved.number, now)
                self.drifted.append((repo.full_name, moved.number))


def _created_window(value: str) -> tuple[datetime | None, datetime | None] | None:
    """GitHub's ``created`` qualifier: ``>=X``, ``>X``, ``<=X``, ``<X``, ``A..B`` (``*`` open),
    with dates or date-times; None when it does not parse."""

    def parse(text: str, end: bool) -> datetime | None:
        if text in ("", "*"):
            return None
        text = text.replace("Z", "+00:00")
        dt = datetime.fromisoformat(text)
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=UTC)
        if end and "T" not in text:
            dt += timedelta(days=1, seconds=-1)  # a whole date includes its last second
        return dt.astimezone(UTC)

    try:
        for op in (">=", "<=", ">", "<"):
            if value.startswith(op):
                dt = parse(value[len(op) :], op.startswith("<"))
                if op == ">":
                    return dt + timedelta(seconds=1), None
                if op == "<":
                    return None, dt - timedelta(seconds=1)
                return (dt, None) if op == ">=" else (None, dt)
        lo, sep, hi = value.partition("..")
        if sep:
            return parse(lo, False), parse(hi, True)
        day = parse(value, False)
        return day, parse(value, True)
    except ValueError:
        return None
