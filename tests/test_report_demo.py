"""The report of a real nightly run, opened in headless Chromium with the network cut off:
every section is there, every figure equals the published marts, nothing is fetched, nothing
fails, and no person appears."""

from __future__ import annotations

import base64
import json
import re
import shutil
import socket

import duckdb
import pytest

from commandline import main as cli
from orchestration.publish_assets import published_path
from reporting.render import report_path
from simulator.app import Simulator
from simulator.org import Scale
from tests.cdp import Browser
from tests.marts_support import environment
from tests.pipeline_support import pipeline_env, run_nightly
from tests.report_support import Shown, assert_figures_match, parse_where

SCALE = Scale(teams=2, repos_per_team=2, members_per_team=3, days=42, customers=15)
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SECTIONS = (
    "Scorecard",
    "From platform pain to business outcome",
    "Trends",
    "Capacity allocation",
    "Platform bets",
    "Data health",
)
# A proxy nobody listens on: should the page try the network despite the offline emulation,
# the request fails and is counted below.
NOWHERE_PROXY = ("--proxy-server=http://127.0.0.1:9", "--proxy-bypass-list=<-loopback>")


@pytest.fixture(scope="module")
def night(tmp_path_factory):
    home = tmp_path_factory.mktemp("report-demo")
    sim = Simulator(seed=7, scale=SCALE).start()
    try:
        env = pipeline_env(sim, home)
        result = run_nightly(env)
        people = [(p.login, p.name, p.email) for p in sim.org.people]
    finally:
        sim.stop()
    assert result.success
    yield home, env, result, people


def _report_metadata(result) -> dict:
    for event in result.get_asset_materialization_events():
        m = event.event_specific_data.materialization
        if m.asset_key.path == ["marts", "report"]:
            return m.metadata
    raise AssertionError("marts/report was not materialized")


def test_the_nightly_run_writes_the_report_with_its_key_figures(night):
    home, _, result, _ = night
    metadata = _report_metadata(result)
    path = report_path(home)
    assert metadata["path"].value == str(path) and path.exists()
    assert metadata["bytes"].value == path.stat().st_size
    figures = metadata["key_figures"].value
    assert "| Lead time to production, median |" in figures
    assert "| Change failure rate |" in figures


def test_tasks_report_rebuilds_from_the_publication_alone(night, capsys):
    home, env, _, _ = night
    published = published_path(home)
    before = {p: p.stat().st_mtime_ns for p in home.rglob("*.duckdb")}
    report_path(home).unlink()
    # The APIs are gone (the simulator has stopped): only the published file can feed it.
    with environment(env):
        assert cli.main(["report"]) == 0
    assert f"report: {report_path(home)}" in capsys.readouterr().out
    assert report_path(home).exists()
    assert {p: p.stat().st_mtime_ns for p in home.rglob("*.duckdb")} == before
    assert published in before


def test_no_person_appears_in_the_report(night):
    home, _, _, people = night
    html = report_path(home).read_text().lower()
    assert people
    for login, name, email in people:
        for value in (login, name, email):
            # As a word: the login "ines" must not trip over "business".
            found = re.search(rf"(?<![\w.@-]){re.escape(value.lower())}(?![\w@-])", html)
            assert not found, f"{value!r} appears in the report"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _last_complete_month(con):
    """Independently of the report: the latest month flagged complete, or (before the flag
    existed) the month before the latest."""
    cols = {r[0] for r in con.execute("describe marts.kpi_scorecard").fetchall()}
    if "is_complete" in cols:
        return con.execute(
            "select max(month_start) from marts.kpi_scorecard where is_complete"
        ).fetchone()[0]
    return con.execute(
        "select max(month_start) from marts.kpi_scorecard "
        "where month_start < (select max(month_start) from marts.kpi_scorecard)"
    ).fetchone()[0]


@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium to open the report")
def test_report_in_headless_chromium_offline(night, tmp_path):
    home, _, _, _ = night
    url = report_path(home).as_uri()
    browser = Browser(CHROMIUM, tmp_path / "profile", _free_port(), NOWHERE_PROXY)
    try:
        for domain in ("Page", "Runtime", "Log", "Network"):
            browser.send(f"{domain}.enable")
        browser.send(
            "Network.emulateNetworkConditions",
            offline=True,
            latency=0,
            downloadThroughput=-1,
            uploadThroughput=-1,
        )
        browser.open(url)
        body = browser.wait_for_text(*SECTIONS, timeout=60)
        raw = browser.evaluate(
            "JSON.stringify([...document.querySelectorAll('[data-table]')].map(e => "
            "[e.dataset.table, e.dataset.column, e.dataset.where, e.innerText]))"
        )
        charts = browser.evaluate("document.querySelectorAll('.chart svg').length")
        kpis = browser.evaluate(
            "JSON.stringify([...document.querySelectorAll('#scorecard tr[data-kpi]')]"
            ".map(r => r.dataset.kpi))"
        )
        height = browser.evaluate("document.documentElement.scrollHeight")
        browser.send(
            "Emulation.setDeviceMetricsOverride",
            width=1100,
            height=int(height),
            deviceScaleFactor=1,
            mobile=False,
        )
        shot = browser.screenshot(tmp_path / "report.png")
        pdf = browser.send("Page.printToPDF", printBackground=False)["data"]
        (tmp_path / "report.pdf").write_bytes(base64.b64decode(pdf))
        events = list(browser.events)
    finally:
        browser.close()
    print(f"\nreport screenshot: {shot}\nprinted: {tmp_path / 'report.pdf'}")

    figures = [Shown(t, c, parse_where(w), text) for t, c, w, text in json.loads(raw)]
    con = duckdb.connect(str(published_path(home)), read_only=True)
    try:
        assert_figures_match(con, figures)
        month = _last_complete_month(con)
        published_kpis = {
            r[0]
            for r in con.execute(
                "select kpi from marts.kpi_scorecard where month_start = ?", [month]
            ).fetchall()
        }
    finally:
        con.close()
    assert f"Scorecard, {month:%B %Y}" in body
    assert set(json.loads(kpis)) == published_kpis
    tables = {f.table for f in figures}
    assert {"kpi_scorecard", "kpi_delivery_weekly", "kpi_incidents_weekly"} <= tables
    assert {"kpi_support_monthly", "kpi_cost_to_serve_monthly"} <= tables
    assert {"mart_capacity_allocation", "pipeline_sync_status", "kpi_coverage"} <= tables
    assert charts >= 6
    assert len(base64.b64decode(pdf)) > 10_000

    errors = [
        e
        for e in events
        if e["method"] == "Runtime.exceptionThrown"
        or (e["method"] == "Runtime.consoleAPICalled" and e["params"]["type"] == "error")
        or (e["method"] == "Log.entryAdded" and e["params"]["entry"]["level"] == "error")
    ]
    assert not errors, errors
    requests = [
        e["params"]["request"]["url"] for e in events if e["method"] == "Network.requestWillBeSent"
    ]
    assert all(u.startswith(("file:", "data:")) for u in requests), requests
    failed = [e["params"] for e in events if e["method"] == "Network.loadingFailed"]
    assert not failed, failed
