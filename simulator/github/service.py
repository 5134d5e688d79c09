"""GitHub's REST API over HTTP: routes, pagination, rate limits, conditional requests.

:class:`GitHubService` serves the model as of the simulator's clock, with GitHub's habits
(``Link`` pagination, primary and secondary rate limits, ETags and 304s, capped listings)
and the faults tests schedule.
"""

from __future__ import annotations

import math
import re
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from simulator.clock import SimClock
from simulator.credentials import GITHUB_TOKEN
from simulator.faults import FaultInjector
from simulator.github.entities import (
    DOCS,
    Deployment,
    PullRequest,
    Repo,
    _etag,
)
from simulator.github.model import GitHubModel
from simulator.server import Request, Response, Service, WindowLimiter

# --- the service -------------------------------------------------------------------------

_REPO = r"/repos/(?P<owner>[^/]+)/(?P<name>[^/]+)"
# Parameters that make an Actions runs listing "filtered" (capped at 1,000 results).
_RUN_FILTERS = ("actor", "branch", "check_suite_id", "created", "event", "head_sha", "status")
_RUN_CONCLUSIONS = (
    "success",
    "failure",
    "cancelled",
    "neutral",
    "skipped",
    "timed_out",
    "action_required",
    "stale",
    "startup_failure",
)


class GitHubService(Service):
    """GitHub's REST API over the model, as of the clock.

    Knobs for tests: ``max_per_page`` (100), ``default_per_page`` (30), ``pr_commits_cap``
    (250), ``compare_unpaged_cap`` (250), ``filtered_cap`` (1,000 results of a filtered runs
    listing), ``throttle_status`` (403, 429 or "alternate" when the primary limit is spent),
    ``rate_headers_enabled`` (False: GHES with rate limiting disabled, no x-ratelimit-*
    header at all), ``secondary_retry_after`` (the retry-after of the ``secondary`` fault),
    ``fault_reset_seconds`` (the reset of the ``429`` fault).

    Fault kinds read here beside the shared ones: ``secondary`` (403 "You have exceeded a
    secondary rate limit" with retry-after), ``secondary_bare`` (the same without
    retry-after), ``drift`` (on a pulls listing: after the page is served, the first PR of
    the next page gets a comment and moves to the front of ``sort=updated``).
    """

    name = "github"
    prefix = "/api/v3"

    def __init__(
        self,
        model: GitHubModel,
        clock: SimClock,
        faults: FaultInjector | None = None,
        rate_limit: WindowLimiter | None = None,
        timeout_delay: float = 3.0,
        *,
        rate_headers: bool = True,
    ):
        super().__init__(clock, faults, rate_limit, timeout_delay)
        self.model = model
        self.max_per_page = 100
        self.default_per_page = 30
        self.pr_commits_cap = 250
        self.compare_unpaged_cap = 250
        self.filtered_cap = 1000
        self.throttle_status: int | str = "alternate"
        self.rate_headers_enabled = rate_headers
        self.secondary_retry_after = 60
        self.fault_reset_seconds = 1.0
        self.responses: list[tuple[str, int]] = []  # (path, status) of every answer
        self.drifted: list[tuple[str, int]] = []  # (repo, number) moved by a drift fault
        self._throttles = 0
        self._unlimited_used = 0
        self._state_lock = threading.Lock()
        routes = [
            ("", self._repository),
            ("/pulls", self._pulls),
            (r"/pulls/(?P<number>\d+)", self._pull),
            (r"/pulls/(?P<number>\d+)/commits", self._pull_commits),
            ("/deployments", self._deployments),
            (r"/deployments/(?P<id>\d+)", self._deployment),
            (r"/deployments/(?P<id>\d+)/statuses", self._statuses),
            ("/actions/runs", self._runs),
            (r"/compare/(?P<basehead>[^/]+)", self._compare),
        ]
        for suffix, handler in routes:
            self.route("GET", _REPO + suffix, handler)
        self.route("GET", "/rate_limit", self._rate_limit)

    # --- the Service contract --------------------------------------------------------------

    def authenticate(self, req: Request) -> Response | None:
        auth = req.header("authorization") or ""
        scheme, _, token = auth.partition(" ")
        if scheme.lower() in ("bearer", "token") and token == GITHUB_TOKEN:
            return None
        return Response(
            401, {"message": "Bad credentials", "documentation_url": DOCS, "status": "401"}
        )

    def error(self, status: int, message: str, code: int | None = None) -> Response:
        return Response(
            status, {"message": message, "documentation_url": DOCS, "status": str(status)}
        )

    def throttled(self, reset_epoch: float) -> Response:
        """The primary limit is spent: 403 or 429 with remaining 0 (GitHub sends either)."""
        status = self.throttle_status
        if status == "alternate":
            with self._state_lock:
                self._throttles += 1
                status = 403 if self._throttles % 2 else 429
        return self._limited(int(status), reset_epoch)

    def rate_headers(self, remaining: int, reset_epoch: float) -> dict[str, str]:
        if not self.rate_headers_enabled:
            return {}
        limit = self.limiter.limit if self.limiter is not None else 5000
        return {
            "x-ratelimit-limit": str(limit),
            "x-ratelimit-remaining": str(remaining),
            "x-ratelimit-used": str(limit - remaining),
            "x-ratelimit-reset": str(self._server_epoch(reset_epoch)),
            "x-ratelimit-resource": "core",
        }

    def _server_epoch(self, real_epoch: float) -> int:
        """A reset moment on the server's clock (the one its Date header shows): the real
        seconds left, counted from the simulated now, rounded up."""
        left = max(0.0, real_epoch - time.time())
        return math.ceil(self.clock.now().timestamp() + left)

    def _limited(self, status: int, reset_epoch: float) -> Response:
        body = {
            "message": "API rate limit exceeded for user ID 1. If you reach out to GitHub "
            "Support for help, please include the request ID.",
            "documentation_url": f"{DOCS}/overview/rate-limits-for-the-rest-api",
            "status": str(status),
        }
        return Response(status, body, self.rate_headers(0, reset_epoch))

    def _secondary(self, kind: str) -> Response:
        remaining, reset = self._peek_limit()
        headers = self.rate_headers(remaining, reset)
        if kind == "secondary":
            headers["retry-after"] = str(self.secondary_retry_after)
        body = {
            "message": "You have exceeded a secondary rate limit. Please wait a few "
            "minutes before you try again.",
            "documentation_url": f"{DOCS}/overview/rate-limits-for-the-rest-api"
            "#about-secondary-rate-limits",
            "status": "403",
        }
        return Response(403, body, headers)

    def _peek_limit(self) -> tuple[int, float]:
        if self.limiter is not None:
            lim = self.limiter
            return max(0, lim.limit - lim._used), lim._start + lim.window
        return 5000 - 1 - self._unlimited_used % 4999, time.time() + 3600

    def _hit(self) -> tuple[bool, int, float]:
        if self.limiter is not None:
            return self.limiter.hit()
        with self._state_lock:
            self._unlimited_used += 1  # headers count down but nothing is enforced
        return True, 5000 - 1 - self._unlimited_used % 4999, time.time() + 3600

    def handle(self, req: Request) -> tuple[Response, str | None]:
        resp, fault = self._handle(req)
        with self._log_lock:
            self.responses.append((req.path, resp.status))
        return resp, fault

    def _handle(self, req: Request) -> tuple[Response, str | None]:
        with self._log_lock:
            self.request_log.append((req.method, req.path, req.query))
        denied = self.authenticate(req)
        if denied is not None:
            return denied, None
        fault = self.faults.pick(req.path)
        if fault == "429":
            return self._limited(429, time.time() + self.fault_reset_seconds), None
        if fault in ("secondary", "secondary_bare"):
            return self._secondary(fault), None
        if fault in ("500", "502", "503"):
            return self.error(int(fault), "Server Error"), None
        resp = self._dispatch(req)
        etag = resp.headers.get("etag")
        if resp.status == 200 and etag and req.header("if-none-match") == etag:
            # Conditional request answered from cache: not counted against the limit.
            remaining, reset = self._peek_limit()
            return Response(304, None, {**self.rate_headers(remaining, reset), "etag": etag}), fault
        allowed, remaining, reset = self._hit()
        if not allowed:
            return self.throttled(reset), None
        resp.headers = {**self.rate_headers(remaining, reset), **resp.headers}
        if fault == "drift":
            self._drift(req)
            fault = None
        return resp, fault

    def _dispatch(self, req: Request) -> Response:
        for method, pattern, handler in self._routes:
            m = pattern.match(req.path)
            if m and method == req.method:
                resp = handler(req, m)
                if resp.status == 200 and resp.body is not None and "etag" not in resp.headers:
                    resp.headers["etag"] = _etag(resp.body)
                return resp
        return self.error(404, "Not Found")

    # --- helpers -----------------------------------------------------------------------

    def _repo(self, m: re.Match[str]) -> Repo | None:
        return self.model.repos.get(f"{m['owner']}/{m['name']}")

    def _missing(self, doc: str = "") -> Response:
        return Response(404, self.model.not_found(doc))

    def _page_args(self, req: Request) -> tuple[int, int] | Response:
        try:
            per_page = int(req.arg("per_page") or self.default_per_page)
            page = int(req.arg("page") or 1)
        except ValueError:
            return self.error(422, "Invalid request: per_page and page must be integers")
        return max(1, min(per_page, self.max_per_page)), max(1, page)

    def _paged(
        self,
        req: Request,
        items: list[Any],
        extra: dict[str, Any] | None = None,
        shown: int | None = None,
    ) -> tuple[list[Any], dict[str, str]] | Response:
        """Slice a listing; ``Link`` with next/last (first/prev past page 1), none at all when
        everything fits on one page. ``shown``: how many items may be paged (a cap)."""
        args = self._page_args(req)
        if isinstance(args, Response):
            return args
        per_page, page = args
        count = len(items) if shown is None else min(shown, len(items))
        last = max(1, math.ceil(count / per_page))
        chunk = items[(page - 1) * per_page : min(page * per_page, count)]
        headers: dict[str, str] = {}
        if last > 1 or page > 1:

            def url(p: int) -> str:
                q = {k: v[-1] for k, v in req.query.items()}
                q["page"] = str(p)
                return f"{req.base_url}{req.path}?{urlencode(q)}"

            links = []
            if page > 1:
                links += [f'<{url(page - 1)}>; rel="prev"', f'<{url(1)}>; rel="first"']
            if page < last:
                links += [f'<{url(page + 1)}>; rel="next"', f'<{url(last)}>; rel="last"']
            if links:
                headers["Link"] = ", ".join(links)
        return chunk, headers

    # --- endpoints -----------------------------------------------------------------------

    def _repository(self, req: Request, m: re.Match[str]) -> Response:
        repo = self._repo(m)
        if repo is None:
            return self._missing("/repos/repos#get-a-repository")
        with self.model._lock:
            return Response(200, self.model.repository_json(repo, self.clock.now()))

    def _sorted_pulls(self, req: Request, repo: Repo, now: datetime) -> list[PullRequest]:
        state = req.arg("state", "open")
        pulls = self.model.visible_pulls(repo, now)
        if state == "open":
            pulls = [p for p in pulls if not p.closed(now)]
        elif state == "closed":
            pulls = [p for p in pulls if p.closed(now)]
        base = req.arg("base")
        if base:
            pulls = [p for p in pulls if p.base_ref == base]
        sort = req.arg("sort", "created")
        # GitHub: direction defaults to desc for sort=created, asc otherwise.
        direction = req.arg("direction") or ("desc" if sort == "created" else "asc")
        if sort == "updated":
            pulls.sort(key=lambda p: (p.updated_at(now), p.number))
        else:
            pulls.sort(key=lambda p: (p.created_at, p.number))
        if direction == "desc":
            pulls.reverse()
        return pulls

    def _pulls(self, req: Request, m: re.Match[str]) -> Response:
        repo = self._repo(m)
        if repo is None:
            return self._missing("/pulls/pulls#list-pull-requests")
        now = self.clock.now()
        with self.model._lock:
            pulls = self._sorted_pulls(req, repo, now)
            paged = self._paged(req, pulls)
            if isinstance(paged, Response):
                return paged
            chunk, headers = paged
            return Response(200, [self.model.pull_json(repo, p, now) for p in chunk], headers)

    def _pull(self, req: Request, m: re.Match[str]) -> Response:
        repo = self._repo(m)
        pr = repo.pull(int(m["number"])) if repo else None
        now = self.clock.now()
        if pr is None or not pr.visible(now):
            return self._missing("/pulls/pulls#get-a-pull-request")
        with self.model._lock:
            return Response(200, self.model.pull_json(repo, pr, now))

    def _pull_commits(self, req: Request, m: re.Match[str]) -> Response:
        repo = self._repo(m)
        pr = repo.pull(int(m["number"])) if repo else None
        if pr is None or not pr.visible(self.clock.now()):
            return self._missing("/pulls/pulls#list-commits-on-a-pull-request")
        paged = self._paged(req, pr.commits, shown=self.pr_commits_cap)
        if isinstance(paged, Response):
            return paged
        chunk, headers = paged
        return Response(200, [self.model.pr_commit_json(repo, pr, c) for c in chunk], headers)

    def _deployments(self, req: Request, m: re.Match[str]) -> Response:
        repo = self._repo(m)
        if repo is None:
            return self._missing("/deployments/deployments#list-deployments")
        now = self.clock.now()
        deps = [
            d
            for d in reversed(self.model.visible_deployments(repo, now))
            if all(
                not req.arg(k) or getattr(d, k) == req.arg(k)
                for k in ("environment", "sha", "ref", "task")
            )
        ]
        deps.sort(key=lambda d: d.id, reverse=True)
        paged = self._paged(req, deps)
        if isinstance(paged, Response):
            return paged
        chunk, headers = paged
        return Response(200, [self.model.deployment_json(repo, d, now) for d in chunk], headers)

    def _find_deployment(self, m: re.Match[str]) -> tuple[Repo, Deployment] | None:
        repo = self._repo(m)
        if repo is None:
            return None
        dep = repo.deployment_by_id.get(int(m["id"]))
        if dep is None or not dep.visible(self.clock.now()):
            return None
        return repo, dep

    def _deployment(self, req: Request, m: re.Match[str]) -> Response:
        found = self._find_deployment(m)
        if found is None:
            return self._missing("/deployments/deployments#get-a-deployment")
        repo, dep = found
        return Response(200, self.model.deployment_json(repo, dep, self.clock.now()))

    def _statuses(self, req: Request, m: re.Match[str]) -> Response:
        found = self._find_deployment(m)
        if found is None:
            return self._missing("/deployments/statuses#list-deployment-statuses")
        repo, dep = found
        statuses = sorted(dep.statuses_at(self.clock.now()), key=lambda s: s.id, reverse=True)
        paged = self._paged(req, statuses)
        if isinstance(paged, Response):
            return paged
        chunk, headers = paged
        return Response(200, [self.model.status_json(repo, dep, s) for s in chunk], headers)

    def _runs(self, req: Request, m: re.Match[str]) -> Response:
        repo = self._repo(m)
        if repo is None:
            return self._missing("/actions/workflow-runs#list-workflow-runs-for-a-repository")
        now = self.clock.now()
        created = req.arg("created")
        window = _created_window(created) if created else (None, None)
        if window is None:
            return self.error(422, f"Invalid created filter: {created!r}")
        lo, hi = window
        status, branch = req.arg("status"), req.arg("branch")
        event, head_sha = req.arg("event"), req.arg("head_sha")
        runs = []
        for r in reversed(repo.runs):
            if not r.visible(now) or (branch and r.head_branch != branch):
                continue
            if (event and r.event != event) or (head_sha and r.head_sha != head_sha):
                continue
            if (lo and r.created_at < lo) or (hi and r.created_at > hi):
                continue
            current = r.status_at(now)
            if status in _RUN_CONCLUSIONS:
                if current != "completed" or r.conclusion != status:
                    continue
            elif status and current != status:
                continue
            runs.append(r)
        runs.sort(key=lambda r: (r.created_at, r.id), reverse=True)
        filtered = any(req.arg(k) for k in _RUN_FILTERS)
        paged = self._paged(req, runs, shown=self.filtered_cap if filtered else None)
        if isinstance(paged, Response):
            return paged
        chunk, headers = paged
        body = {
            "total_count": len(runs),
            "workflow_runs": [self.model.run_json(repo, r, now) for r in chunk],
        }
        return Response(200, body, headers)

    def _compare(self, req: Request, m: re.Match[str]) -> Response:
        repo = self._repo(m)
        base, sep, head = m["basehead"].partition("...")
        doc = "/commits/commits#compare-two-commits"
        if repo is None or not sep:
            return self._missing(doc)
        with self.model._lock:
            cmp = self.model.compare(repo, base, head, self.clock.now())
            if cmp is None:
                return self._missing(doc)
            if req.arg("page") is None and req.arg("per_page") is None:
                shown = cmp.commits[: self.compare_unpaged_cap]
                return Response(200, self.model.compare_json(repo, cmp, shown))
            paged = self._paged(req, cmp.commits)
            if isinstance(paged, Response):
                return paged
            chunk, headers = paged
            first = int(req.arg("page") or 1) == 1
            return Response(200, self.model.compare_json(repo, cmp, chunk, files=first), headers)

    def _rate_limit(self, req: Request, m: re.Match[str]) -> Response:
        if not self.rate_headers_enabled:
            return self.error(404, "Rate limiting is not enabled.")
        remaining, reset = self._peek_limit()
        limit = self.limiter.limit if self.limiter is not None else 5000
        core = {
            "limit": limit,
            "used": limit - remaining,
            "remaining": remaining,
            "reset": self._server_epoch(reset),
        }
        return Response(200, {"resources": {"core": core}, "rate": core})

    def _drift(self, req: Request) -> None:
        """Page drift: a PR on a later page of this ``sort=updated`` walk gets a comment now
        and jumps to the front, so the walk's next page repeats one PR and misses it."""
        m = re.match(f"^{_REPO}/pulls$", req.path)
        if m is None or req.arg("sort") != "updated":
            return
        repo = self._repo(m)
        args = self._page_args(req)
        if repo is None or isinstance(args, Response):
            return
        per_page, page = args
        now = self.clock.now()
        with self.model._lock:
            pulls = self._sorted_pulls(req, repo, now)
            if len(pulls) > page * per_page:
                moved = pulls[page * per_page]
                self.model.touch_pull(repo.full_name, moved.number, now)
                self.drifted.append((repo.full_name, moved.number))


def _created_window(value: str) -> tuple[datetime | None, datetime | None] | None:
    """GitHub's ``created`` qualifier: ``>=X``, ``>X``, ``<=X``, ``<X``, ``A..B`` (``*`` open),
    with dates or date-times; None when it does not parse."""

    def parse(text: str, end: bool) -> datetime | None:
        if text in ("", "*"):
            return None
        text = text.replace("Z", "+00:00")
        dt = datetime.fromisoformat(text)
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=UTC)
        if end and "T" not in text:
            dt += timedelta(days=1, seconds=-1)  # a whole date includes its last second
        return dt.astimezone(UTC)

    try:
        for op in (">=", "<=", ">", "<"):
            if value.startswith(op):
                dt = parse(value[len(op) :], op.startswith("<"))
                if op == ">":
                    return dt + timedelta(seconds=1), None
                if op == "<":
                    return None, dt - timedelta(seconds=1)
                return (dt, None) if op == ">=" else (None, dt)
        lo, sep, hi = value.partition("..")
        if sep:
            return parse(lo, False), parse(hi, True)
        day = parse(value, False)
        return day, parse(value, True)
    except ValueError:
        return None
