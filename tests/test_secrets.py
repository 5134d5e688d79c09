"""Credentials never leave: a gateway that echoes the request's headers in its error bodies
(some do, on 400/403/422) must not put a token into anything the project writes."""

from __future__ import annotations

import base64
import json
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from extractors.errors import AuthError, ExtractError, ForbiddenError
from extractors.http import RetryPolicy
from extractors.rawstore import SOURCES, open_store
from extractors.sources import make_client, sync_source
from platform_kpis.catalog import load_catalog
from platform_kpis.config import DEMO_CATALOG, Secret, Settings
from platform_kpis.redact import REDACTED, redact, remember_header
from tests.pipeline_support import run_nightly

TOKENS = {
    "GITHUB_TOKEN": "ghp_" + "EchoedSecret0123456789abcdefABCDEF",  # built: no scanner alarm
    "PAGERDUTY_API_TOKEN": "pdEchoedSecret+y_sZ98765",
    "ZENDESK_API_TOKEN": "zdEchoedSecretQ4242424242xyz",
}
ZENDESK_EMAIL = "agent@example.test"
ZENDESK_PAIR = f"{ZENDESK_EMAIL}/token:{TOKENS['ZENDESK_API_TOKEN']}"
# Every form a credential travels in: the tokens, and Zendesk's Basic pair and its base64.
FORBIDDEN = [*TOKENS.values(), ZENDESK_PAIR, base64.b64encode(ZENDESK_PAIR.encode()).decode()]
FAST = RetryPolicy(max_attempts=3, backoff_base=0.001, backoff_max=0.01, timeout=(2.0, 2.0))


def _error_body(source: str, style: str, headers: dict[str, str]) -> tuple[str, bytes]:
    """What a header-echoing gateway answers, in each API's own error shape or as text."""
    auth = headers.get("Authorization", "")
    dump = "\n".join(f"{k}: {v}" for k, v in headers.items())
    if style == "text":
        return "text/plain", f"request rejected\n{dump}\n".encode()
    body: dict = {
        "github": {
            "message": f"Validation Failed (you sent Authorization: {auth})",
            "request_headers": headers,
        },
        "pagerduty": {
            "error": {"message": f"Access Denied for {auth}", "code": 2010, "errors": [dump]},
            "headers": headers,
        },
        "zendesk": {"error": "InvalidEndpoint", "description": f"Rejected; headers: {headers}"},
    }[source]
    return "application/json", json.dumps(body).encode()


class Gateway:
    """A loopback server: ``/<source>/...`` answers ``statuses[source]`` with the request's
    headers echoed in the body; ``/hook`` receives webhook posts."""

    def __init__(self, statuses: dict[str, int], style: str = "json"):
        self.statuses = statuses
        self.style = style
        self.hook_bodies: list[bytes] = []
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                source = self.path.strip("/").split("/")[0]
                content_type, body = _error_body(source, gateway.style, dict(self.headers))
                self.send_response(gateway.statuses[source])
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self):
                gateway.hook_bodies.append(self.rfile.read(int(self.headers["Content-Length"])))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def env(self) -> dict[str, str]:
        return {
            "GITHUB_API_URL": f"{self.url}/github",
            "PAGERDUTY_API_URL": f"{self.url}/pagerduty",
            "ZENDESK_URL": f"{self.url}/zendesk",
            "ZENDESK_EMAIL": ZENDESK_EMAIL,
            **TOKENS,
        }

    def settings(self, home: Path) -> Settings:
        env = self.env()
        return Settings(
            github_api_url=env["GITHUB_API_URL"],
            github_token=Secret(TOKENS["GITHUB_TOKEN"]),
            pagerduty_api_url=env["PAGERDUTY_API_URL"],
            pagerduty_api_token=Secret(TOKENS["PAGERDUTY_API_TOKEN"]),
            zendesk_url=env["ZENDESK_URL"],
            zendesk_email=ZENDESK_EMAIL,
            zendesk_api_token=Secret(TOKENS["ZENDESK_API_TOKEN"]),
            home=home,
        )

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    served = Gateway({source: 400 for source in SOURCES})
    yield served
    served.stop()


def assert_clean(text: str | bytes, where: str) -> None:
    data = text if isinstance(text, bytes) else text.encode()
    for secret in FORBIDDEN:
        assert secret.encode() not in data, f"a credential leaked into {where}"


# What each API's own error fields say, which the error text keeps.
API_SAYS = {"github": "Validation Failed", "pagerduty": "code 2010", "zendesk": "InvalidEndpoint"}
REASONS = {400: "Bad Request", 403: "Forbidden", 422: "Unprocessable Entity", 500: "Server Error"}


@pytest.mark.parametrize("style", ["json", "text"])
@pytest.mark.parametrize("status", [400, 403, 422, 500])
@pytest.mark.parametrize("source", SOURCES)
def test_client_errors_summarise_and_never_repeat_the_credential(
    gateway, tmp_path, caplog, source, status, style
):
    caplog.set_level(logging.DEBUG)
    gateway.statuses[source] = status
    gateway.style = style
    client = make_client(source, gateway.settings(tmp_path), FAST)
    with pytest.raises(ExtractError) as caught:
        client.get_json("things", stream="things")
    text = str(caught.value)
    assert f"{status} " in text and REASONS[status] in text
    if style == "json":
        assert API_SAYS[source] in text  # the API's own words survive, its echo does not
    assert caught.value.transient == (status == 500)
    assert isinstance(caught.value, ForbiddenError) == (status == 403)
    assert_clean(text, "the exception")
    assert_clean(repr(caught.value.args), "the exception's args")
    assert_clean(caplog.text, "the log")


def test_redaction_patterns():
    remember_header("Basic " + base64.b64encode(b"me@corp.test/token:abcDEF123456").decode())
    cases = {
        '{"Authorization": "Bearer gho_16C7e42F292c6912E7710c838347Ae178B4a"}': (
            f'{{"Authorization": "Bearer {REDACTED}"}}'
        ),
        "Authorization: Token token=y_NbAkKc66ryYTWUXYEu\nAccept: json": (
            f"Authorization: Token {REDACTED}\nAccept: json"
        ),
        "GET /export?token=abc123456&page=2": f"GET /export?token={REDACTED}&page=2",
        "postgresql://kpis:hunter2hunter2@db:5432/kpis": f"postgresql://kpis:{REDACTED}@db:5432/kpis",
        "the pair me@corp.test/token:abcDEF123456 leaked": f"the pair {REDACTED} leaked",
        "echoed abcDEF123456 alone": f"echoed {REDACTED} alone",
        "401 Unauthorized on GET https://api.github.com/x: check GITHUB_TOKEN": (
            "401 Unauthorized on GET https://api.github.com/x: check GITHUB_TOKEN"
        ),
    }
    for text, expected in cases.items():
        assert redact(text) == expected


def test_extraction_records_a_summary_not_the_echo(gateway, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    gateway.statuses.update(github=422, pagerduty=403, zendesk=500)
    settings = gateway.settings(tmp_path)
    catalog = load_catalog(DEMO_CATALOG)
    for source in SOURCES:
        with open_store(source, target="duckdb", home=tmp_path) as store:
            with pytest.raises(ExtractError) as caught:
                sync_source(source, settings, catalog, store, retry=FAST)
            assert_clean(str(caught.value), f"{source}'s exception")
            errors = [r["error"] for r in store.status_rows() if r["status"] == "failed"]
        assert len(errors) == 1 and str(gateway.statuses[source]) in errors[0]
        assert_clean(errors[0], f"{source}'s sync status")
    assert_clean(caplog.text, "the log")
    for path in (tmp_path / "raw").iterdir():
        assert_clean(path.read_bytes(), path.name)


def test_a_dagster_run_against_the_echo_writes_no_credential(gateway, tmp_path, caplog):
    """The nightly job through Dagster: the event log and its storage, the raw files, the
    failure summary file and the webhook body hold no credential."""
    caplog.set_level(logging.DEBUG)
    gateway.statuses.update(github=422, pagerduty=403, zendesk=400)
    home = tmp_path / "home"
    env = {
        **gateway.env(),
        "PLATFORM_KPIS_HOME": str(home),
        "PLATFORM_KPIS_CATALOG": str(DEMO_CATALOG),
        "PLATFORM_KPIS_FAILURE_WEBHOOK": f"{gateway.url}/hook",
    }
    (tmp_path / "dagster").mkdir()
    instance = dg.DagsterInstance.local_temp(str(tmp_path / "dagster"))
    result = run_nightly(env, instance)
    assert not result.success
    from orchestration.monitoring import report_run_failure
    from tests.marts_support import environment

    with environment(env):
        summary = report_run_failure(instance, result.dagster_run)
    assert summary and "step raw_github" in summary and "422 Unprocessable Entity" in summary
    assert "step raw_pagerduty" in summary and "403 Forbidden" in summary
    assert len(gateway.hook_bodies) == 1
    assert json.loads(gateway.hook_bodies[0])["text"] == summary
    assert_clean(gateway.hook_bodies[0], "the webhook")
    assert_clean(caplog.text, "the log")
    events = instance.all_logs(result.run_id)
    assert_clean("\n".join(e.to_json() for e in events), "the Dagster event log")
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert_clean(path.read_bytes(), str(path.relative_to(tmp_path)))
    for source in SOURCES:
        con = duckdb.connect(str(home / "raw" / f"{source}.duckdb"), read_only=True)
        errors = con.execute("select error from pipeline_sync_status").fetchall()
        con.close()
        assert errors and all(e[0] for e in errors)
        assert_clean(repr(errors), f"{source}'s pipeline_sync_status")


def test_a_refused_credential_is_an_auth_error_naming_the_variable(gateway, tmp_path):
    gateway.statuses["github"] = 401
    client = make_client("github", gateway.settings(tmp_path), FAST)
    with pytest.raises(AuthError, match="401 Unauthorized .* check GITHUB_TOKEN") as caught:
        client.get_json("repos/acme/api")
    assert not caught.value.transient and client.stats.requests == 1
