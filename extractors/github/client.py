"""What every GitHub stream shares: the API's constants and field lists, the HTTP client with
GitHub's rate-limit policy, pagination and record helpers, and the stream base class.
"""

from __future__ import annotations

import copy
import email.utils
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

import requests

from extractors.base import (
    ReadContext,
    Stream,
    parse_time,
    require_time,
)
from extractors.errors import ExtractError, RecordError
from extractors.http import HttpClient, RetryPolicy, header_float
from platform_kpis.config import Settings

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
