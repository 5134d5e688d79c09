"""GitHub's API objects: the JSON the REST API returns for each entity, as of a moment.

Shapes follow the real payloads (``tests/fixtures/real/github``). ``truth_by_key`` gathers
the records of every raw table the extractor writes, so the ground truth and the tests compare
with exactly what is served. A mixin of :class:`simulator.github.model.GitHubModel`, apart from
the generation so either can change without reading the other.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from typing import Any

from simulator.github.entities import (
    _REPO_URL_KEYS,
    API_URL,
    DOCS,
    FILES,
    LABEL_COLORS,
    MERGE_BOT,
    TABLES,
    WEB_URL,
    Commit,
    Comparison,
    Deployment,
    DeploymentStatus,
    PullRequest,
    Repo,
    WorkflowRun,
    _iso,
    _node,
    _sha,
    _user_id,
)
from simulator.org import Person


class GitHubRendering:
    """JSON records of the model's entities (mixed into the model)."""

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
