"""GitHub's entities and vocabulary: the dataclasses the model generates and every other part
reads (the ground truth included), the constants and the small helpers they share.

They live apart from the generation so that rendering, the service and the ground truth can
import what a repository, a pull request or a deployment is without the generator.
"""

from __future__ import annotations

import base64
import bisect
import hashlib
import json
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

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


# Where each state sorts among statuses created in the same second (ids follow it).
STATUS_ORDER = {
    "queued": 0,
    "pending": 0,
    "in_progress": 1,
    "success": 2,
    "failure": 2,
    "error": 2,
    "inactive": 3,
}
