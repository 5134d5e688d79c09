"""The run-failure sensor writes a summary naming the failed step and the reason."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import dagster as dg

from orchestration.monitoring import run_failure_summary


def _failed_run_context():

    @dg.op
    def extract_github():
        raise RuntimeError("github/pull_requests: 401 Unauthorized: check GITHUB_TOKEN")

    @dg.job
    def nightly():
        extract_github()

    instance = dg.DagsterInstance.ephemeral()
    result = nightly.execute_in_process(instance=instance, raise_on_error=False)
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "PIPELINE_FAILURE")
    context = dg.build_run_status_sensor_context(
        sensor_name="run_failure_summary",
        dagster_event=failure,
        dagster_instance=instance,
        dagster_run=result.dagster_run,
    ).for_run_failure()
    return context, result


def test_failure_summary_names_step_and_reason(tmp_path, monkeypatch):
    monkeypatch.setenv("PLATFORM_KPIS_HOME", str(tmp_path))
    monkeypatch.delenv("PLATFORM_KPIS_FAILURE_WEBHOOK", raising=False)
    context, result = _failed_run_context()
    run_failure_summary(context)
    text = (tmp_path / "run_failures" / f"{result.run_id}.txt").read_text()
    assert f"run {result.run_id} of job 'nightly' failed" in text
    assert "step extract_github: RuntimeError: github/pull_requests: 401" in text


def test_failure_summary_posts_to_the_webhook(tmp_path, monkeypatch):
    received: list[dict] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append(json.loads(body))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Hook)
    thread = threading.Thread(target=server.handle_request, daemon=True)
    thread.start()
    monkeypatch.setenv("PLATFORM_KPIS_HOME", str(tmp_path))
    monkeypatch.setenv(
        "PLATFORM_KPIS_FAILURE_WEBHOOK", f"http://127.0.0.1:{server.server_address[1]}/hook"
    )
    context, result = _failed_run_context()
    run_failure_summary(context)
    thread.join(timeout=10)
    server.server_close()
    assert len(received) == 1
    assert f"run {result.run_id} of job 'nightly' failed" in received[0]["text"]
    assert "401" in received[0]["text"]


def test_gate_report_puts_blocking_findings_first_and_joins_the_summary():
    from orchestration.monitoring import failure_summary, gate_report

    def evaluation(name, passed, severity, text):
        return dg.AssetCheckEvaluation(
            asset_key=dg.AssetKey(["marts_build", name]),
            check_name=f"expectations_{name}",
            passed=passed,
            severity=severity,
            metadata={"report": dg.MetadataValue.text(text)},
        )

    text = gate_report(
        [
            evaluation("fct_tickets", False, dg.AssetCheckSeverity.WARN, "[WARN] tickets"),
            evaluation("fct_changes", True, dg.AssetCheckSeverity.ERROR, ""),
            evaluation("fct_incidents", False, dg.AssetCheckSeverity.ERROR, "[ERROR] incidents"),
        ]
    )
    assert text == "[ERROR] incidents\n[WARN] tickets"
    _, result = _failed_run_context()
    summary = failure_summary(result.dagster_run, [], text)
    assert summary.endswith(
        "The gate's findings (the last good publication stays in place):\n" + text
    )
