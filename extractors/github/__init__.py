"""GitHub: repositories, pull requests and their commits, deployments and their statuses,
Actions workflow runs, and the compares between consecutive production deployments.

Works against api.github.com and GitHub Enterprise Server alike (``GITHUB_API_URL`` =
``https://HOST/api/v3``): every request goes to the configured base URL or to a ``Link`` URL
it returned, nothing else (no probe of a hard-coded ``/rate_limit``).

Raw tables (key; context; state):

- ``repositories`` (``owner/name``; repo; ``{"etags": {repo: etag}}``): conditional GETs, a
  304 adds nothing.
- ``pull_requests`` (``owner/name#number``; repo; ``{"repos": {repo: updated_at}}``): per
  repository ``sort=updated&direction=desc``, stop past the cursor minus an overlap, then
  re-read the top until records predate the walk so a PR moved by page drift is kept.
- ``pr_commits`` (``owner/name#number#sha``; repo, pull_number;
  ``{"repos": {repo: [updated_at, number]}}``): merged PRs newer than the last one fetched.
- ``deployments`` (``owner/name#id``; repo; ``{"repos": {repo: max id}}``): newest first,
  down to the cursor or to the oldest stored deployment whose statuses may still change
  (its ``updated_at`` moves with every new status). All environments are kept.
- ``deployment_statuses`` (``owner/name#deployment_id#status_id``; repo, deployment_id;
  ``{"etags": {deployment key: etag}}``): only deployments without a settled status
  (failure, error, inactive) are re-read, with ``If-None-Match``. ``success`` does not
  settle a deployment: GitHub adds ``inactive`` when a newer one supersedes it.
- ``workflow_runs`` (``owner/name#id``; repo; ``{"repos": {repo: created_at}}``): only
  repositories whose catalog signal is ``workflow_runs``; completed runs on the default
  branch in ``created`` windows, split while a window holds more than the listing cap.
- ``compares`` (``owner/name#base...head``; repo, base, head and ``http_status: 404`` for a
  compare GitHub cannot answer; ``{"groups": {repo|env: {"floor": time, "done": {key:
  time}}}}``): between
  consecutive successful production deployments of a repository and environment (Actions
  repositories: consecutive successful deploy runs on the default branch), commits gathered
  over every page. A compare is asked once; a 404 is stored so it is not asked nightly.

The package: :mod:`.client` (constants, the HTTP client and rate-limit policy, helpers),
:mod:`.changes` (repositories, pull requests, their commits) and :mod:`.deployments`
(deployments, statuses, workflow runs, compares).
"""

from __future__ import annotations

from extractors.base import Stream
from extractors.github.changes import PullRequestCommits, PullRequests, Repositories
from extractors.github.client import (
    API_VERSION,
    CREDENTIAL,
    PER_PAGE,
    SETTLED_STATES,
    SOURCE,
    STATUS_STATES,
    GitHubRateLimit,
    make_client,
)
from extractors.github.deployments import Compares, Deployments, DeploymentStatuses, WorkflowRuns

__all__ = [
    "API_VERSION",
    "CREDENTIAL",
    "PER_PAGE",
    "SETTLED_STATES",
    "SOURCE",
    "STATUS_STATES",
    "Compares",
    "DeploymentStatuses",
    "Deployments",
    "GitHubRateLimit",
    "PullRequestCommits",
    "PullRequests",
    "Repositories",
    "WorkflowRuns",
    "make_client",
    "streams",
]


def streams() -> list[Stream]:
    return [
        Repositories(),
        PullRequests(),
        PullRequestCommits(),
        Deployments(),
        DeploymentStatuses(),
        WorkflowRuns(),
        Compares(),
    ]
