"""Generation of deployments and Actions runs, the delivery signal of each repository.

Deployments are planned (times and outcomes) before the main history exists and resolved to
shas afterwards; Actions repositories get ``CI`` and ``Deploy production`` runs instead. A
mixin of :class:`simulator.github.model.GitHubModel`, kept apart because it is the largest
part of the generator and the one the delivery KPIs rest on.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from simulator.github.entities import (
    DEPLOY_BOT,
    NOUNS,
    Deployment,
    DeploymentStatus,
    Repo,
    WorkflowRun,
    _Plan,
    _poisson,
    _sec,
    _sha,
)
from simulator.story import CANARY_CATCH


class DeploymentGeneration:
    """The deployment and workflow-run half of the generator (mixed into the model)."""

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
