"""The organisation's GitHub generated: repositories, pull requests and the main history.

:class:`GitHubModel` draws each repository's whole timeline from ``org.start`` to
``org.horizon`` at construction (deployments and Actions runs in :mod:`.deploys`), then answers
views as of any moment. It inherits the JSON rendering (:mod:`.render`) so callers keep one
object: ``model.pull_json(...)``, ``model.truth(now)``.
"""

from __future__ import annotations

import math
import threading
from datetime import datetime, timedelta
from typing import Any

from simulator.github.deploys import DeploymentGeneration
from simulator.github.entities import (
    CATEGORY_LABELS,
    DEPLOY_BOT,
    MERGE_BOT,
    NOUNS,
    STATUS_ORDER,
    VERBS,
    Commit,
    Comparison,
    Deployment,
    LabelEvent,
    PullRequest,
    Repo,
    _Plan,
    _poisson,
    _sec,
    _sha,
)
from simulator.github.render import GitHubRendering
from simulator.org import Org, Person


class GitHubModel(DeploymentGeneration, GitHubRendering):
    """The organisation's GitHub: repositories with their whole generated history."""

    def __init__(self, org: Org):
        self.org = org
        self.people: dict[str, Person] = {p.login: p for p in org.people}
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
