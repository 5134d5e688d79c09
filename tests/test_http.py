"""The shared HTTP client against a tiny service on the simulator's plumbing."""

from __future__ import annotations

import pytest

from extractors.errors import AuthError, ExtractError, NotFoundError
from extractors.http import HttpClient, RetryPolicy
from simulator.clock import SimClock
from simulator.org import EPOCH
from simulator.server import Request, Response, ServedService, Service

TOKEN = "s3cr3t-token-value"


class Echo(Service):
    name = "echo"

    def __init__(self, **kw):
        super().__init__(SimClock(EPOCH), **kw)
        self.route("GET", "/thing", lambda req, m: Response(200, {"ok": True, "pad": "x" * 200}))
        self.route("GET", "/missing", lambda req, m: self.error(404, "Not Found"))

    def authenticate(self, req: Request) -> Response | None:
        if req.header("authorization") != f"Bearer {TOKEN}":
            return self.error(401, "Bad credentials")
        return None

    def error(self, status: int, message: str, code: int | None = None) -> Response:
        return Response(status, {"message": message})

    def throttled(self, reset_epoch: float) -> Response:
        return Response(429, {"message": "slow down"}, {"retry-after": "0"})


class RetryAfter:
    def wait_seconds(self, resp, attempt):
        return float(resp.headers["retry-after"]) if resp.status_code == 429 else None


@pytest.fixture
def echo():
    served = ServedService(Echo(timeout_delay=1.0)).start()
    yield served
    served.stop()


def client(served, token=TOKEN, **retry) -> HttpClient:
    policy = RetryPolicy(
        **{"max_attempts": 4, "backoff_base": 0.001, "timeout": (1.0, 0.5), **retry}
    )
    return HttpClient(
        "echo",
        served.base_url,
        {"Authorization": f"Bearer {token}"},
        RetryAfter(),
        "ECHO_TOKEN",
        retry=policy,
    )


@pytest.mark.parametrize("kind", ["429", "500", "502", "503", "timeout", "truncate", "disconnect"])
def test_transient_faults_are_retried(echo, kind):
    echo.service.faults.schedule(kind, "/thing", times=2)
    c = client(echo)
    _, body = c.get_json("/thing")
    assert body["ok"] is True
    assert c.stats.retries == 2
    assert c.stats.requests == 3


def test_server_date_is_the_clock(echo):
    c = client(echo)
    c.get_json("/thing")
    assert c.now() == EPOCH


def test_persistent_malformed_json_is_a_clear_error(echo):
    echo.service.faults.schedule("malformed", "/thing", times=10)
    with pytest.raises(ExtractError, match=r"echo/things: malformed JSON from GET .*/thing"):
        client(echo).get_json("/thing", stream="things")


def test_gives_up_after_max_attempts(echo):
    echo.service.faults.schedule("500", "/thing", times=10)
    c = client(echo)
    with pytest.raises(ExtractError, match="gave up after 4 attempts"):
        c.get_json("/thing", stream="things")
    assert c.stats.requests == 4


def test_401_names_the_credential_not_its_value(echo):
    with pytest.raises(AuthError) as err:
        client(echo, token="wrong-value").get_json("/thing", stream="things")
    assert "ECHO_TOKEN" in str(err.value) and "401" in str(err.value)
    assert "wrong-value" not in str(err.value)


def test_404_is_fatal_and_named(echo):
    with pytest.raises(NotFoundError, match="echo/things: 404 Not Found on GET .*/missing"):
        client(echo).get_json("/missing", stream="things")
