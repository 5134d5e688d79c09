"""GitHub streams of the code changes: repositories, pull requests and their commits."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
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
from extractors.errors import NotFoundError
from extractors.github.client import (
    BATCH,
    CREDENTIAL,
    PR_FIELDS,
    PR_OVERLAP,
    SOURCE,
    _array,
    _GitHubStream,
    _latest,
    _object,
    _page_size,
    _pages,
    _repo_of,
    _repo_path,
    _time,
)

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
