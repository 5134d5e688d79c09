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

The package, by seam: :mod:`.entities` (the dataclasses and shared constants),
:mod:`.model` (generation of repositories, pull requests and the main history) with
:mod:`.deploys` (deployments and Actions runs), :mod:`.render` (the JSON GitHub returns) and
:mod:`.service` (routes, pagination, rate limits, conditional requests).
"""

from simulator.github.entities import (
    API_URL,
    CATEGORY_LABELS,
    DEPLOY_BOT,
    DOCS,
    LABEL_COLORS,
    MERGE_BOT,
    SETTLED_STATES,
    STATUS_ORDER,
    STATUS_STATES,
    TABLES,
    WEB_URL,
    Commit,
    Comparison,
    Deployment,
    DeploymentStatus,
    LabelEvent,
    PullRequest,
    Repo,
    WorkflowRun,
)
from simulator.github.model import GitHubModel
from simulator.github.service import GitHubService

__all__ = [
    "API_URL",
    "CATEGORY_LABELS",
    "DEPLOY_BOT",
    "DOCS",
    "LABEL_COLORS",
    "MERGE_BOT",
    "SETTLED_STATES",
    "STATUS_ORDER",
    "STATUS_STATES",
    "TABLES",
    "WEB_URL",
    "Commit",
    "Comparison",
    "Deployment",
    "DeploymentStatus",
    "GitHubModel",
    "GitHubService",
    "LabelEvent",
    "PullRequest",
    "Repo",
    "WorkflowRun",
]
