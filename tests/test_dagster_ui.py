"""The code location as a data engineer meets it: `dagster dev` on loopback, the nightly job
launched through GraphQL against the simulator, and the UI's asset graph in headless
Chromium."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time

import pytest
import requests

from orchestration.publish_assets import published_path
from platform_kpis.config import REPO_ROOT
from simulator.app import Simulator
from simulator.org import Scale
from tests.cdp import Browser
from tests.pipeline_support import pipeline_env

SCALE = Scale(teams=2, repos_per_team=2, members_per_team=3, days=28, customers=12)
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def dagster_dev(tmp_path_factory):
    root = tmp_path_factory.mktemp("dagster-dev")
    sim = Simulator(seed=3, scale=SCALE).start()
    env = pipeline_env(sim, root / "data")
    (root / "dagster").mkdir()
    (root / "dagster" / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    port = _free_port()
    log = open(root / "dagster-dev.log", "w")  # noqa: SIM115 - closed at teardown
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dagster",
            "dev",
            "-w",
            str(REPO_ROOT / "workspace.yaml"),
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
        ],
        env={**os.environ, **env, "DAGSTER_HOME": str(root / "dagster")},
        cwd=REPO_ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 180
    while True:
        try:
            if requests.get(f"{base}/server_info", timeout=2).ok:
                break
        except requests.ConnectionError:
            pass
        if proc.poll() is not None or time.time() > deadline:
            log.close()
            sim.stop()
            raise AssertionError(
                "dagster dev did not start:\n" + (root / "dagster-dev.log").read_text()[-3000:]
            )
        time.sleep(1)
    try:
        _wait_for_code_location(base, deadline)
    except AssertionError:
        os.killpg(proc.pid, signal.SIGTERM)
        log.close()
        sim.stop()
        raise
    yield {"port": port, "base": base, "env": env, "root": root}
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
    log.close()
    sim.stop()


LOCATIONS = """{ workspaceOrError { __typename ... on Workspace { locationEntries {
  name loadStatus locationOrLoadError { __typename ... on PythonError { message } } } } } }"""


def _wait_for_code_location(base: str, deadline: float) -> None:
    """The webserver answers before the code location has loaded; a load error fails here
    with Dagster's own message."""
    while time.time() < deadline:
        body = requests.post(f"{base}/graphql", json={"query": LOCATIONS}, timeout=10).json()
        entries = body["data"]["workspaceOrError"].get("locationEntries") or []
        for entry in entries:
            loaded = entry["locationOrLoadError"]
            if loaded and loaded["__typename"] == "PythonError":
                raise AssertionError(f"code location failed to load: {loaded['message']}")
            if entry["loadStatus"] == "LOADED" and loaded:
                return
        time.sleep(1)
    raise AssertionError("the code location did not load in time")


def test_nightly_job_through_graphql(dagster_dev):
    from dagster_graphql import DagsterGraphQLClient

    client = DagsterGraphQLClient("127.0.0.1", port_number=dagster_dev["port"], timeout=60)
    run_id = client.submit_job_execution("nightly")
    deadline = time.time() + 600
    while (status := client.get_run_status(run_id).value) not in ("SUCCESS", "FAILURE", "CANCELED"):
        assert time.time() < deadline, "the nightly run did not finish in 10 minutes"
        time.sleep(2)
    assert status == "SUCCESS", (dagster_dev["root"] / "dagster-dev.log").read_text()[-3000:]
    published = published_path(dagster_dev["env"]["PLATFORM_KPIS_HOME"])
    assert published.exists()
    tool = REPO_ROOT.parent / "shared" / "tools" / "check_contract.py"
    if tool.exists():
        done = subprocess.run(
            [sys.executable, str(tool), str(published), "--version", "2"],
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stdout


@pytest.mark.skipif(
    CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it)"
)
def test_ui_shows_the_asset_graph(dagster_dev, tmp_path):
    base = dagster_dev["base"]
    browser = Browser(CHROMIUM, tmp_path / "chromium-profile", _free_port())
    try:
        browser.open(f"{base}/asset-groups")
        browser.wait_for_text(
            "Global asset lineage",
            "raw",
            "staging",
            "intermediate",
            "marts_build",
            "publish",
            "catalog",
        )
        groups = "/locations/platform_kpis/asset-groups/{}/lineage"
        for group, asset in (
            ("raw", "pull_requests"),
            ("marts_build", "fct_deployments"),
            ("publish", "published"),
        ):
            browser.open(base + groups.format(group))
            browser.wait_for_text(asset)
        browser.open(f"{base}/assets/marts_build/fct_deployments?view=checks")
        # The blocking expectation check, and a dbt test turned asset check.
        browser.wait_for_text(
            "expectations_fct_deployments", "unique_fct_deployments_deployment_id"
        )
        browser.open(f"{base}/asset-groups")
        browser.wait_for_text("marts_build", "publish")
        time.sleep(2)  # let the graph lay itself out
        # A new profile is greeted with a newsletter dialog; dismiss it as a person would.
        if "Join the Dagster community" in browser.wait_for_text("Global asset lineage"):
            assert browser.click_button("Skip")
            deadline = time.time() + 10
            while "Join the Dagster community" in browser.wait_for_text("Global asset lineage"):
                assert time.time() < deadline, "the dialog did not close"
                time.sleep(0.3)
        shot = browser.screenshot(tmp_path / "asset-graph.png")
        assert shot.stat().st_size > 10_000
    finally:
        browser.close()
