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
"""

from __future__ import annotations

import copy
import email.utils
import re
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

import requests

from extractors.base import (
    Page,
    RawRecord,
    ReadContext,
    Stream,
    StreamSpec,
    check_enum,
    iso,
    parse_time,
    require,
    require_time,
)
from extractors.errors import ExtractError, NotFoundError, RecordError
from extractors.http import HttpClient, RetryPolicy, header_float
from platform_kpis.config import Settings
from platform_kpis.redact import logger

log = logger(__name__)

SOURCE = "github"
CREDENTIAL = "GITHUB_TOKEN"
API_VERSION = "2022-11-28"
PER_PAGE = 100  # GitHub's maximum
# Read at make_client() time, so tests (and impatient users) can shrink them.
SECONDARY_MIN_WAIT = 60.0  # GitHub: without retry-after, wait at least a minute
RESET_MARGIN = 1.0  # x-ratelimit-reset has second resolution: wait a little past it
MAX_BACKOFF = 900.0
RUN_LISTING_CAP = 1000  # a filtered Actions runs listing serves at most this many results
PR_OVERLAP = timedelta(minutes=10)  # re-read PRs updated this long before the cursor
RUN_OVERLAP = timedelta(days=3)  # runs created before the cursor may complete later
COMPARE_OVERLAP = timedelta(days=1)
BATCH = 20  # child requests (PR commits, statuses, compares) per committed page

PR_FIELDS = (
    "number",
    "state",
    "title",
    "user",
    "labels",
    "created_at",
    "updated_at",
    "closed_at",
    "merged_at",
    "merge_commit_sha",
    "head",
    "base",
    "draft",
)
DEPLOYMENT_FIELDS = (
    "id",
    "sha",
    "ref",
    "task",
    "environment",
    "creator",
    "created_at",
    "updated_at",
)
STATUS_STATES = ("error", "failure", "inactive", "in_progress", "queued", "pending", "success")
SETTLED_STATES = frozenset({"error", "failure", "inactive"})
RUN_FIELDS = (
    "id",
    "name",
    "head_branch",
    "head_sha",
    "event",
    "status",
    "conclusion",
    "run_started_at",
    "created_at",
    "updated_at",
)
RUN_STATUSES = (
    "completed",
    "action_required",
    "cancelled",
    "failure",
    "neutral",
    "skipped",
    "stale",
    "success",
    "timed_out",
    "in_progress",
    "queued",
    "requested",
    "waiting",
    "pending",
)
RUN_CONCLUSIONS = (
    "success",
    "failure",
    "neutral",
    "cancelled",
    "skipped",
    "timed_out",
    "action_required",
    "stale",
    "startup_failure",
    None,
)
COMPARE_FIELDS = ("status", "ahead_by", "behind_by", "total_commits", "commits")
COMPARE_STATUSES = ("ahead", "behind", "identical", "diverged")


# --- the HTTP client ----------------------------------------------------------------------


@dataclass
class GitHubRateLimit:
    """403 and 429 alike (GitHub sends either). With ``x-ratelimit-remaining: 0`` the primary
    limit is spent: wait until ``x-ratelimit-reset``, counted from the server's Date. With
    ``retry-after`` (a secondary limit): wait that long. Otherwise a 429, or a 403 that says
    "rate limit", is a secondary limit: wait ``secondary_min_wait``, doubling per attempt.
    Any of these headers may be missing (GHES without rate limiting): none is required."""

    secondary_min_wait: float = SECONDARY_MIN_WAIT
    reset_margin: float = RESET_MARGIN
    max_backoff: float = MAX_BACKOFF

    def wait_seconds(self, response: requests.Response, attempt: int) -> float | None:
        if response.status_code not in (403, 429):
            return None
        retry_after = header_float(response, "retry-after")
        if retry_after is not None:
            return max(0.0, retry_after)
        if header_float(response, "x-ratelimit-remaining") == 0:
            reset = header_float(response, "x-ratelimit-reset")
            if reset is not None:
                wait = reset - _server_epoch(response)
                return min(max(0.0, wait) + self.reset_margin, 3600.0 + self.reset_margin)
            return self._backoff(attempt)
        if response.status_code == 429 or "rate limit" in response.text[:2000].lower():
            return self._backoff(attempt)
        return None  # a plain 403: no access, not a limit

    def _backoff(self, attempt: int) -> float:
        cap = max(self.max_backoff, self.secondary_min_wait)
        return min(cap, self.secondary_min_wait * 2 ** max(0, attempt - 1))


def _server_epoch(response: requests.Response) -> float:
    """The server's now (its Date header), so a skewed local clock does not skew the wait."""
    value = response.headers.get("Date")
    if value:
        try:
            return email.utils.parsedate_to_datetime(value).timestamp()
        except (TypeError, ValueError):
            pass
    return time.time()


def make_client(settings: Settings, retry: RetryPolicy | None = None) -> HttpClient:
    auth: dict[str, str] = {}
    if settings.github_token:  # without a token only public repositories answer
        auth["Authorization"] = f"Bearer {settings.github_token.reveal()}"
    return HttpClient(
        SOURCE,
        settings.github_api_url,
        auth,
        GitHubRateLimit(SECONDARY_MIN_WAIT, RESET_MARGIN, MAX_BACKOFF),
        CREDENTIAL,
        default_headers={
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": API_VERSION,
            "User-Agent": "platform-kpis-extractor",
        },
        retry=retry or RetryPolicy(),
    )


# --- helpers ------------------------------------------------------------------------------


def _repo_path(repo: str) -> str:
    owner, _, name = repo.partition("/")
    return f"repos/{quote(owner, safe='')}/{quote(name, safe='')}"


def _pages(
    client: HttpClient,
    path: str,
    params: Mapping[str, Any] | None,
    stream: str,
    *,
    headers: Mapping[str, str] | None = None,
    allow: tuple[int, ...] = (),
) -> Iterator[tuple[requests.Response, Any]]:
    """Follow ``Link: rel="next"`` until there is none; a next URL seen before is an error
    (a loop would never end)."""
    url: str = path
    seen: set[str] = set()
    while True:
        resp, body = client.get_json(url, params, stream=stream, headers=headers, allow=allow)
        yield resp, body
        nxt = resp.links.get("next", {}).get("url") if resp.status_code == 200 else None
        if not nxt:
            return
        if nxt in seen:
            raise ExtractError(f"pagination repeats a page of {path}", source=SOURCE, stream=stream)
        seen.add(nxt)
        url, params, headers = nxt, None, None  # the next URL carries the query


def _array(body: Any, stream: str, what: str) -> list[Any]:
    if not isinstance(body, list):
        raise ExtractError(
            f"expected a JSON array from {what}, got {type(body).__name__}",
            source=SOURCE,
            stream=stream,
        )
    return body


def _object(item: Any, stream: str, key: str) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise RecordError("is not a JSON object", source=SOURCE, stream=stream, record=key)
    return item


def _time(record: Mapping[str, Any], fld: str, stream: str, key: str) -> datetime:
    return require_time(record, fld, source=SOURCE, stream=stream, key=key)


def _repos_with_signal(ctx: ReadContext, signal: str) -> list[str]:
    return [
        r for r in ctx.catalog.repos if ctx.catalog.repo_settings(r).deployment_signal == signal
    ]


def _repo_of(key: str, context: Mapping[str, Any] | None) -> str:
    """The repository of a child record: its context, else its key (``owner/name#...``)."""
    if context and context.get("repo"):
        return str(context["repo"])
    return key.rsplit("#", 1)[0]


def _page_size(ctx: ReadContext) -> int:
    return ctx.page_size or PER_PAGE


def _latest(values: list[str]) -> str | None:
    return max(values, key=lambda v: parse_time(v)) if values else None


class _GitHubStream(Stream):
    def _state(self, **parts: Any) -> dict[str, Any]:
        return copy.deepcopy(parts)


# --- repositories -------------------------------------------------------------------------


class Repositories(_GitHubStream):
    spec = StreamSpec(SOURCE, "repositories", "owner/name", None)

    def read(self, state: dict[str, Any], ctx: ReadContext) -> Iterator[Page]:
        name = self.spec.name
        etags: dict[str, str] = dict(state.get("etags", {}))
        for repo in ctx.catalog.repos:
            headers = {"If-None-Match": etags[repo]} if repo in etags else None
            try:
                resp, body = ctx.client.get_json(
                    _repo_path(repo), stream=name, headers=headers, allow=(304,)
                )
            except NotFoundError:
                raise NotFoundError(
                    f"repository {repo} not found: it does not exist or "
                    f"{CREDENTIAL} cannot read it (check the catalog and the "
                    "token's access)",
                    source=SOURCE,
                    stream=name,
                    record=repo,
                ) from None
            if resp.status_code == 304:
                continue  # unchanged since the stored version
            record = _object(body, name, repo)
            require(
                record, ("id", "full_name", "default_branch"), source=SOURCE, stream=name, key=repo
            )
            if resp.headers.get("etag"):
                etags[repo] = resp.headers["etag"]
            yield Page({name: [RawRecord(repo, record, {"repo": repo})]}, self._state(etags=etags))

    def cursor_of(self, state: dict[str, Any]) -> str | None:
        return f"{len(state.get('etags', {}))} etags"


# --- pull requests ------------------------------------------------------------------------


class PullRequests(_GitHubStream):
    spec = StreamSpec(SOURCE, "pull_requests", "owner/name#number", "updated_at")

    def read(self, state: dict[str, Any], ctx: ReadContext) -> Iterator[Page]:
        cursors: dict[str, str] = dict(state.get("repos", {}))
        for repo in ctx.catalog.repos:
            yield from self._repo(repo, cursors, ctx)

    def _repo(self, repo: str, cursors: dict[str, str], ctx: ReadContext) -> Iterator[Page]:
        """Walk ``updated`` descending down to the cursor (minus an overlap). The cursor
        advances only after the whole walk: a run killed halfway re-reads this repository."""
        name = self.spec.name
        saved = parse_time(cursors[repo]) if repo in cursors else None
        stop = saved - PR_OVERLAP if saved else ctx.start()
        newest = saved
        seen: dict[int, str] = {}  # number -> updated_at taken in this walk (dedupe)
        path = f"{_repo_path(repo)}/pulls"
        params = {
            "state": "all",
            "sort": "updated",
            "direction": "desc",
            "per_page": _page_size(ctx),
        }
        walk_start: datetime | None = None
        pages = 0
        for _resp, body in _pages(ctx.client, path, params, name):
            walk_start = walk_start or ctx.now()  # the server's Date of the first page
            pages += 1
            records, done, top = self._take(repo, body, stop, seen)
            newest = max(filter(None, (newest, top)), default=None)
            yield Page({name: records}, self._state(repos=cursors))
            if done:
                break
        if pages > 1 and walk_start is not None:
            # Page drift: a PR updated during the walk moved to page 1, already read, and
            # shifted the pages behind it. Re-read the top down to the walk's start.
            for _resp, body in _pages(ctx.client, path, params, name):
                records, done, top = self._take(repo, body, walk_start, seen)
                newest = max(filter(None, (newest, top)), default=None)
                yield Page({name: records}, self._state(repos=cursors))
                if done:
                    break
        if newest is not None:
            cursors[repo] = iso(newest)
        yield Page({}, self._state(repos=cursors))

    def _take(
        self, repo: str, body: Any, stop: datetime, seen: dict[int, str]
    ) -> tuple[list[RawRecord], bool, datetime | None]:
        """Records of a page updated at or after ``stop``; whether the walk is done."""
        name = self.spec.name
        records: list[RawRecord] = []
        top: datetime | None = None
        for item in _array(body, name, f"{repo} pulls"):
            key = f"{repo}#{item.get('number') if isinstance(item, dict) else '?'}"
            pr = _object(item, name, key)
            require(pr, PR_FIELDS, source=SOURCE, stream=name, key=key)
            check_enum(pr, "state", ("open", "closed"), source=SOURCE, stream=name, key=key)
            updated = _time(pr, "updated_at", name, key)
            if updated < stop:
                return records, True, top
            top = max(top, updated) if top else updated
            if seen.get(pr["number"]) == pr["updated_at"]:
                continue  # the same version again: a page shifted under us
            seen[pr["number"]] = pr["updated_at"]
            records.append(RawRecord(key, pr, {"repo": repo}))
        return records, False, top

    def cursor_of(self, state: dict[str, Any]) -> str | None:
        return _latest(list(state.get("repos", {}).values()))


class PullRequestCommits(_GitHubStream):
    spec = StreamSpec(
        SOURCE,
        "pr_commits",
        "owner/name#number#sha",
        "pull_request.updated_at",
        parents=("pull_requests",),
    )

    def read(self, state: dict[str, Any], ctx: ReadContext) -> Iterator[Page]:
        name = self.spec.name
        cursors: dict[str, list] = {r: list(v) for r, v in state.get("repos", {}).items()}
        marks = {r: (parse_time(v[0]), int(v[1])) for r, v in cursors.items()}
        todo: dict[str, list[tuple[datetime, int, str]]] = {}
        for key, pr, context in ctx.parents("pull_requests"):
            if pr.get("merged_at") is None:
                continue
            repo = _repo_of(key, context)
            mark = (_time(pr, "updated_at", name, key), int(pr["number"]))
            if repo in marks and mark <= marks[repo]:
                continue  # fetched when the PR looked like this (commits never change)
            todo.setdefault(repo, []).append((*mark, pr["updated_at"]))
        for repo in sorted(todo):
            batch: list[RawRecord] = []
            pulls = sorted(todo[repo])
            for i, (_, number, updated) in enumerate(pulls, 1):
                batch += self._commits(ctx, repo, number)
                if i % BATCH == 0 or i == len(pulls):
                    cursors[repo] = [updated, number]
                    yield Page({name: batch}, self._state(repos=cursors))
                    batch = []

    def _commits(self, ctx: ReadContext, repo: str, number: int) -> list[RawRecord]:
        name = self.spec.name
        path = f"{_repo_path(repo)}/pulls/{number}/commits"
        out = []
        for _resp, body in _pages(ctx.client, path, {"per_page": _page_size(ctx)}, name):
            for item in _array(body, name, f"{repo}#{number} commits"):
                sha = item.get("sha") if isinstance(item, dict) else None
                key = f"{repo}#{number}#{sha}"
                commit = _object(item, name, key)
                require(commit, ("sha", "commit"), source=SOURCE, stream=name, key=key)
                out.append(RawRecord(key, commit, {"repo": repo, "pull_number": number}))
        return out

    def cursor_of(self, state: dict[str, Any]) -> str | None:
        return _latest([v[0] for v in state.get("repos", {}).values()])


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
