"""HTTP plumbing shared by the three simulated APIs: routing, auth, rate limits, faults.

Each API is a :class:`Service` served by its own ``ThreadingHTTPServer`` on loopback. The
``Date`` header follows the simulator's clock, as real servers' follows theirs.
"""

from __future__ import annotations

import email.utils
import json
import re
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from simulator.clock import SimClock
from simulator.faults import FaultInjector


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    base_url: str

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else default

    def args(self, name: str) -> list[str]:
        return self.query.get(name, [])

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass
class Response:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


class WindowLimiter:
    """A fixed-window request counter in wall-clock time (rate limits are real time)."""

    def __init__(self, limit: int, window_seconds: float):
        self.limit = limit
        self.window = window_seconds
        self._start = time.time()
        self._used = 0
        self._lock = threading.Lock()

    def hit(self) -> tuple[bool, int, float]:
        """Count a request: (allowed, remaining, epoch seconds when the window resets)."""
        with self._lock:
            now = time.time()
            if now >= self._start + self.window:
                self._start, self._used = now, 0
            reset = self._start + self.window
            if self._used >= self.limit:
                return False, 0, reset
            self._used += 1
            return True, self.limit - self._used, reset


Handler = Callable[[Request, re.Match[str]], Response]


class Service(ABC):
    """One simulated API. Subclasses declare routes and their auth/error/rate-limit style."""

    name: str = "service"
    prefix: str = ""

    def __init__(
        self,
        clock: SimClock,
        faults: FaultInjector | None = None,
        rate_limit: WindowLimiter | None = None,
        timeout_delay: float = 3.0,
    ):
        self.clock = clock
        self.faults = faults or FaultInjector()
        self.limiter = rate_limit
        self.timeout_delay = timeout_delay
        self.request_log: list[tuple[str, str, dict[str, list[str]]]] = []
        self._log_lock = threading.Lock()
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []

    # --- to implement per API -------------------------------------------------------
    @abstractmethod
    def authenticate(self, req: Request) -> Response | None:
        """None when the credential is accepted, else the API's 401 response."""

    @abstractmethod
    def error(self, status: int, message: str, code: int | None = None) -> Response:
        """An error response in this API's body style."""

    @abstractmethod
    def throttled(self, reset_epoch: float) -> Response:
        """The API's rate-limit response."""

    def rate_headers(self, remaining: int, reset_epoch: float) -> dict[str, str]:
        return {}

    # --- routing --------------------------------------------------------------------
    def route(self, method: str, pattern: str, handler: Handler) -> None:
        self._routes.append((method, re.compile(f"^{pattern}$"), handler))

    def handle(self, req: Request) -> tuple[Response, str | None]:
        """The response, and a transport-level fault to apply while sending it."""
        with self._log_lock:
            self.request_log.append((req.method, req.path, req.query))
        denied = self.authenticate(req)
        if denied is not None:
            return denied, None
        extra: dict[str, str] = {}
        if self.limiter is not None:
            allowed, remaining, reset = self.limiter.hit()
            if not allowed:
                return self.throttled(reset), None
            extra = self.rate_headers(remaining, reset)
        fault = self.faults.pick(req.path)
        if fault == "429":
            return self.throttled(time.time() + 1), None
        if fault in ("500", "502", "503"):
            return self.error(int(fault), "simulated server error"), None
        for method, pattern, handler in self._routes:
            m = pattern.match(req.path)
            if m and method == req.method:
                resp = handler(req, m)
                resp.headers = {**extra, **resp.headers}
                return resp, fault
        return self.error(404, "Not Found"), None

    def requests_to(self, pattern: str) -> int:
        rx = re.compile(pattern)
        with self._log_lock:
            return sum(1 for _, path, _ in self.request_log if rx.search(path))


def _make_handler(service: Service, control: Callable[[Request], Response] | None):
    class _Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in two writes: without this, keep-alive clients wait for
        # delayed ACKs (~40 ms a response).
        disable_nagle_algorithm = True

        def log_message(self, *args: Any) -> None:  # quiet: tests read request_log instead
            pass

        def date_time_string(self, timestamp: float | None = None) -> str:
            return email.utils.format_datetime(service.clock.now(), usegmt=True)

        def _request(self, method: str) -> Request:
            parts = urlsplit(self.path)
            path = parts.path
            if service.prefix and path.startswith(service.prefix):
                path = path[len(service.prefix) :] or "/"
            host = self.headers.get("Host", f"127.0.0.1:{self.server.server_address[1]}")
            return Request(
                method,
                path,
                parse_qs(parts.query, keep_blank_values=True),
                {k.lower(): v for k, v in self.headers.items()},
                f"http://{host}{service.prefix}",
            )

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            self._serve("POST")

        def _serve(self, method: str) -> None:
            req = self._request(method)
            fault = None
            if req.path.startswith("/_sim/") and control is not None:
                resp = control(req)
            else:
                try:
                    resp, fault = service.handle(req)
                except Exception as exc:  # a simulator bug must surface as a 500, not a hang
                    resp = service.error(500, f"simulator error: {type(exc).__name__}: {exc}")
            if isinstance(resp.body, bytes | str):
                payload = resp.body.encode() if isinstance(resp.body, str) else resp.body
            elif resp.body is None:
                payload = b""
            else:
                payload = json.dumps(resp.body).encode()
            if fault == "malformed":
                payload = b"<html>upstream proxy error</html>"
            if fault == "timeout":
                time.sleep(service.timeout_delay)
            length = len(payload)
            if fault == "truncate":
                payload = payload[: max(1, len(payload) // 2)]
                length = len(payload)
            elif fault == "disconnect":
                payload = payload[: max(1, len(payload) // 2)]
            try:
                self.send_response(resp.status)
                headers = {"Content-Type": "application/json; charset=utf-8", **resp.headers}
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(length))
                if fault == "disconnect":
                    self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(payload)
                self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                return
            if fault == "disconnect":
                self.close_connection = True

    return _Handler


class ServedService:
    """A service running on its own loopback port in a daemon thread."""

    def __init__(
        self,
        service: Service,
        control: Callable[[Request], Response] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ):
        self.service = service
        self.httpd = ThreadingHTTPServer((host, port), _make_handler(service, control))
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, daemon=True, name=f"sim-{service.name}"
        )

    @property
    def base_url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}{self.service.prefix}"

    def start(self) -> ServedService:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
