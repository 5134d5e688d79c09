"""GitHub streams of what reached production: deployments and their statuses, Actions
workflow runs, and the compares between consecutive production deployments.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from extractors.base import (
    Page,
    RawRecord,
    ReadContext,
    StreamSpec,
    check_enum,
    iso,
    parse_time,
    require,
)
from extractors.errors import ExtractError
from extractors.github.client import (
    BATCH,
    COMPARE_FIELDS,
    COMPARE_OVERLAP,
    COMPARE_STATUSES,
    DEPLOYMENT_FIELDS,
    RUN_CONCLUSIONS,
    RUN_FIELDS,
    RUN_LISTING_CAP,
    RUN_OVERLAP,
    RUN_STATUSES,
    SETTLED_STATES,
    SOURCE,
    STATUS_STATES,
    _array,
    _GitHubStream,
    _latest,
    _object,
    _page_size,
    _pages,
    _repo_of,
    _repo_path,
    _repos_with_signal,
    _time,
)
from platform_kpis.redact import logger

log = logger(__package__)  # "extractors.github", as before the split


# --- deployments --------------------------------------------------------------------------


def _settled_deployments(ctx: ReadContext) -> set[str]:
    """Keys (``owner/name#id``) of stored deployments with a status nothing follows."""
    return {
        key.rsplit("#", 1)[0]
        for key, status, _ in ctx.parents("deployment_statuses")
        if status.get("state") in SETTLED_STATES
    }


class Deployments(_GitHubStream):
    spec = StreamSpec(SOURCE, "deployments", "owner/name#id", "id")

    def read(self, state: dict[str, Any], ctx: ReadContext) -> Iterator[Page]:
        name = self.spec.name
        top_ids: dict[str, int] = dict(state.get("repos", {}))
        settled = _settled_deployments(ctx)
        # Deployments whose statuses may still change: their updated_at will move.
        watch: dict[str, int] = {}
        for key, dep, context in ctx.parents("deployments"):
            if key not in settled:
                repo = _repo_of(key, context)
                watch[repo] = min(watch.get(repo, dep["id"]), dep["id"])
        for repo in _repos_with_signal(ctx, "deployments"):
            known = top_ids.get(repo)
            floor = min(known, watch.get(repo, known)) if known is not None else None
            start = ctx.start()
            path = f"{_repo_path(repo)}/deployments"
            for _resp, body in _pages(ctx.client, path, {"per_page": _page_size(ctx)}, name):
                records: list[RawRecord] = []
                done = False
                for item in _array(body, name, f"{repo} deployments"):
                    key = f"{repo}#{item.get('id') if isinstance(item, dict) else '?'}"
                    dep = _object(item, name, key)
                    require(dep, DEPLOYMENT_FIELDS, source=SOURCE, stream=name, key=key)
                    if floor is None and _time(dep, "created_at", name, key) < start:
                        done = True  # a first sync reaches back to the history start
                        break
                    records.append(RawRecord(key, dep, {"repo": repo}))
                    top_ids[repo] = max(top_ids.get(repo, dep["id"]), dep["id"])
                    done = done or (floor is not None and dep["id"] <= floor)
                yield Page({name: records}, self._state(repos=_only(top_ids, repo, known)))
                if done:
                    break
            yield Page({}, self._state(repos=top_ids))

    def cursor_of(self, state: dict[str, Any]) -> str | None:
        ids = list(state.get("repos", {}).values())
        return str(max(ids)) if ids else None


def _only(top_ids: dict[str, int], repo: str, known: int | None) -> dict[str, int]:
    """The state while a repository's walk is under way: its old cursor."""
    out = dict(top_ids)
    if known is None:
        out.pop(repo, None)
    else:
        out[repo] = known
    return out


class DeploymentStatuses(_GitHubStream):
    spec = StreamSpec(
        SOURCE,
        "deployment_statuses",
        "owner/name#deployment_id#status_id",
        None,
        parents=("deployments",),
    )

    def read(self, state: dict[str, Any], ctx: ReadContext) -> Iterator[Page]:
        name = self.spec.name
        etags: dict[str, str] = dict(state.get("etags", {}))
        settled = _settled_deployments(ctx)
        todo = [
            (key, _repo_of(key, context), int(dep["id"]))
            for key, dep, context in ctx.parents("deployments")
            if key not in settled
        ]
        batch: list[RawRecord] = []
        for i, (dep_key, repo, dep_id) in enumerate(todo, 1):
            headers = {"If-None-Match": etags[dep_key]} if dep_key in etags else None
            path = f"{_repo_path(repo)}/deployments/{dep_id}/statuses"
            params = {"per_page": _page_size(ctx)}
            final, first = False, True
            for resp, body in _pages(
                ctx.client, path, params, name, headers=headers, allow=(304, 404)
            ):
                if resp.status_code == 304:
                    break  # nothing new since the stored statuses
                if resp.status_code == 404:
                    log.warning(
                        "github: deployment %s is gone (deleted?); its stored statuses stay",
                        dep_key,
                    )
                    break
                if first and resp.headers.get("etag"):
                    etags[dep_key] = resp.headers["etag"]  # the first page's: the newest
                first = False
                for item in _array(body, name, f"{dep_key} statuses"):
                    key = f"{dep_key}#{item.get('id') if isinstance(item, dict) else '?'}"
                    status = _object(item, name, key)
                    require(
                        status, ("id", "state", "created_at"), source=SOURCE, stream=name, key=key
                    )
                    check_enum(status, "state", STATUS_STATES, source=SOURCE, stream=name, key=key)
                    final = final or status["state"] in SETTLED_STATES
                    batch.append(RawRecord(key, status, {"repo": repo, "deployment_id": dep_id}))
            if final:
                etags.pop(dep_key, None)  # never asked again
            if i % BATCH == 0 or i == len(todo):
                yield Page({name: batch}, self._state(etags=etags))
                batch = []

    def cursor_of(self, state: dict[str, Any]) -> str | None:
        return f"{len(state.get('etags', {}))} open deployments"


# --- workflow runs ------------------------------------------------------------------------


def _default_branches(ctx: ReadContext) -> dict[str, str]:
    return {
        key: rec["default_branch"]
        for key, rec, _ in ctx.parents("repositories")
        if isinstance(rec.get("default_branch"), str)
    }


class WorkflowRuns(_GitHubStream):
    spec = StreamSpec(
        SOURCE, "workflow_runs", "owner/name#id", "created_at", parents=("repositories",)
    )

    def read(self, state: dict[str, Any], ctx: ReadContext) -> Iterator[Page]:
        name = self.spec.name
        cursors: dict[str, str] = dict(state.get("repos", {}))
        repos = _repos_with_signal(ctx, "workflow_runs")
        branches = _default_branches(ctx) if repos else {}
        for repo in repos:
            branch = branches.get(repo) or self._default_branch(ctx, repo)
            saved = parse_time(cursors[repo]) if repo in cursors else None
            since = saved - RUN_OVERLAP if saved else ctx.start()
            newest = saved
            for records, top in self._window(ctx, repo, branch, since, None):
                newest = max(filter(None, (newest, top)), default=None)
                yield Page({name: records}, self._state(repos=cursors))
            if newest is not None:
                cursors[repo] = iso(newest)
            yield Page({}, self._state(repos=cursors))

    def _default_branch(self, ctx: ReadContext, repo: str) -> str:
        _resp, body = ctx.client.get_json(_repo_path(repo), stream=self.spec.name)
        record = _object(body, self.spec.name, repo)
        require(record, ("default_branch",), source=SOURCE, stream=self.spec.name, key=repo)
        return record["default_branch"]

    def _window(
        self, ctx: ReadContext, repo: str, branch: str, lo: datetime, hi: datetime | None
    ) -> Iterator[tuple[list[RawRecord], datetime | None]]:
        """Completed runs created in [lo, hi] (hi None: open-ended). A filtered listing
        serves at most RUN_LISTING_CAP results, so a window holding more is halved."""
        created = f">={iso(lo)}" if hi is None else f"{iso(lo)}..{iso(hi)}"
        params = {
            "branch": branch,
            "status": "completed",
            "created": created,
            "per_page": _page_size(ctx),
        }
        pages = _pages(ctx.client, f"{_repo_path(repo)}/actions/runs", params, self.spec.name)
        for n, (_resp, body) in enumerate(pages):
            if not isinstance(body, dict) or not isinstance(body.get("workflow_runs"), list):
                raise ExtractError(
                    f"{repo} runs listing lacks workflow_runs", source=SOURCE, stream=self.spec.name
                )
            total = body.get("total_count")
            if n == 0 and isinstance(total, int) and total > RUN_LISTING_CAP:
                end = hi or ctx.now()
                if end - lo < timedelta(seconds=2):
                    raise ExtractError(
                        f"{repo}: {total} runs created within {created}, more "
                        f"than the listing serves ({RUN_LISTING_CAP})",
                        source=SOURCE,
                        stream=self.spec.name,
                    )
                mid = lo + (end - lo) / 2
                mid = mid.replace(microsecond=0)
                yield from self._window(ctx, repo, branch, lo, mid)
                yield from self._window(ctx, repo, branch, mid + timedelta(seconds=1), end)
                return
            yield self._records(repo, body["workflow_runs"])

    def _records(self, repo: str, items: list[Any]) -> tuple[list[RawRecord], datetime | None]:
        name = self.spec.name
        out, top = [], None
        for item in items:
            key = f"{repo}#{item.get('id') if isinstance(item, dict) else '?'}"
            run = _object(item, name, key)
            require(run, RUN_FIELDS, source=SOURCE, stream=name, key=key)
            check_enum(run, "status", RUN_STATUSES, source=SOURCE, stream=name, key=key)
            check_enum(run, "conclusion", RUN_CONCLUSIONS, source=SOURCE, stream=name, key=key)
            created = _time(run, "created_at", name, key)
            top = max(top, created) if top else created
            out.append(RawRecord(key, run, {"repo": repo}))
        return out, top

    def cursor_of(self, state: dict[str, Any]) -> str | None:
        return _latest(list(state.get("repos", {}).values()))


# --- compares -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Deploy:
    """A successful production deployment (or deploy run), as the compares need it."""

    group: str  # owner/name|environment
    repo: str
    id: int
    sha: str
    deployed_at: datetime


class Compares(_GitHubStream):
    spec = StreamSpec(
        SOURCE,
        "compares",
        "owner/name#base...head",
        None,
        parents=("deployments", "deployment_statuses", "workflow_runs"),
    )

    def read(self, state: dict[str, Any], ctx: ReadContext) -> Iterator[Page]:
        """Per group (repository and environment): pairs whose head was deployed before
        ``floor`` were asked in an earlier run; ``done`` holds the keys asked since, so a
        deployment that shows up late between two known ones still gets its compares."""
        name = self.spec.name
        marks = {
            g: {"floor": v.get("floor"), "done": dict(v.get("done", {}))}
            for g, v in state.get("groups", {}).items()
        }
        groups: dict[str, list[_Deploy]] = {}
        for d in [*self._deployments(ctx), *self._runs(ctx)]:
            groups.setdefault(d.group, []).append(d)
        batch: list[RawRecord] = []
        for group in sorted(groups):
            deploys = sorted(groups[group], key=lambda d: (d.deployed_at, d.id))
            mark = marks.setdefault(group, {"floor": None, "done": {}})
            floor = parse_time(mark["floor"]) if mark["floor"] else None
            for prev, cur in zip(deploys, deploys[1:], strict=False):
                key = f"{cur.repo}#{prev.sha}...{cur.sha}"
                if (floor is not None and cur.deployed_at < floor) or key in mark["done"]:
                    continue  # asked before (a 404 included)
                batch.append(self._compare(ctx, cur.repo, prev.sha, cur.sha))
                mark["done"][key] = iso(cur.deployed_at)
                if len(batch) >= BATCH:
                    yield Page({name: batch}, self._state(groups=marks))
                    batch = []
            if len(deploys) > 1:
                new_floor = deploys[-1].deployed_at - COMPARE_OVERLAP
                mark["floor"] = iso(new_floor)
                mark["done"] = {k: v for k, v in mark["done"].items() if parse_time(v) >= new_floor}
        yield Page({name: batch}, self._state(groups=marks))

    def _deployments(self, ctx: ReadContext) -> list[_Deploy]:
        success: dict[str, datetime] = {}
        for key, status, _ in ctx.parents("deployment_statuses"):
            if status.get("state") == "success":
                dep_key = key.rsplit("#", 1)[0]
                at = _time(status, "created_at", "deployment_statuses", key)
                success[dep_key] = min(success.get(dep_key, at), at)
        out = []
        for key, dep, context in ctx.parents("deployments"):
            if key in success and ctx.catalog.is_production(dep.get("environment")):
                repo = _repo_of(key, context)
                out.append(
                    _Deploy(
                        f"{repo}|{dep['environment']}",
                        repo,
                        int(dep["id"]),
                        dep["sha"],
                        success[key],
                    )
                )
        return out

    def _runs(self, ctx: ReadContext) -> list[_Deploy]:
        repos = set(_repos_with_signal(ctx, "workflow_runs"))
        if not repos:
            return []
        branches = _default_branches(ctx)
        out = []
        for key, run, context in ctx.parents("workflow_runs"):
            repo = _repo_of(key, context)
            pattern = ctx.catalog.repo_settings(repo).workflow_pattern
            if (
                repo in repos
                and run.get("status") == "completed"
                and run.get("conclusion") == "success"
                and run.get("head_branch") == branches.get(repo)
                and re.search(pattern, run.get("name") or "")
            ):
                out.append(
                    _Deploy(
                        f"{repo}|production",
                        repo,
                        int(run["id"]),
                        run["head_sha"],
                        _time(run, "updated_at", "workflow_runs", key),
                    )
                )
        return out

    def _compare(self, ctx: ReadContext, repo: str, base: str, head: str) -> RawRecord:
        """GitHub's compare body with the commits of every page (an unpaged answer stops at
        250 commits); a 404 (a sha GitHub does not know) is stored as its error body."""
        name = self.spec.name
        key = f"{repo}#{base}...{head}"
        context: dict[str, Any] = {"repo": repo, "base": base, "head": head}
        path = f"{_repo_path(repo)}/compare/{base}...{head}"
        record: dict[str, Any] | None = None
        params = {"per_page": _page_size(ctx), "page": 1}
        for resp, body in _pages(ctx.client, path, params, name, allow=(404,)):
            if resp.status_code == 404:
                return RawRecord(
                    key, body if isinstance(body, dict) else {}, {**context, "http_status": 404}
                )
            page = _object(body, name, key)
            require(page, COMPARE_FIELDS, source=SOURCE, stream=name, key=key)
            check_enum(page, "status", COMPARE_STATUSES, source=SOURCE, stream=name, key=key)
            if record is None:
                record = {**page, "commits": list(page["commits"])}
            else:
                record["commits"].extend(page["commits"])
        if record is None:
            raise ExtractError(f"no answer for the compare {key}", source=SOURCE, stream=name)
        if len(record["commits"]) != record["total_commits"]:
            log.warning(
                "github: compare %s lists %d of %s commits",
                key,
                len(record["commits"]),
                record["total_commits"],
            )
        return RawRecord(key, record, context)

    def cursor_of(self, state: dict[str, Any]) -> str | None:
        return _latest([g["floor"] for g in state.get("groups", {}).values() if g.get("floor")])
