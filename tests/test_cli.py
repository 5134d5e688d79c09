"""The command line as a new user meets it: `run` refuses to start without credentials, `demo`
uses the simulator whatever the environment holds, `status` shows the last run from storage,
and `tasks.py ui` leaves no process behind."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, date, datetime, timedelta

import duckdb
import pytest
import requests
import yaml

from commandline import main as cli
from platform_kpis.catalog import parse_catalog
from platform_kpis.config import DEMO_CATALOG, REPO_ROOT
from platform_kpis.credentials import missing_credentials
from simulator.org import DEMO_SCALE, EPOCH, Org, Scale, ending_on, fixed_end

SCALE = Scale(teams=2, repos_per_team=1, members_per_team=3, days=35, customers=10)
SEED = 4
CREDENTIALS = {
    # Shaped like real tokens (built here so no scanner mistakes the file for a leak).
    "GITHUB_TOKEN": "ghp_" + "16C7e42F292c6912E7710c838347Ae178B4a",
    "PAGERDUTY_API_TOKEN": "u+8a7Fs2Hd9QpLx1yZkW",
    "ZENDESK_URL": "https://acme.zendesk.com",
    "ZENDESK_EMAIL": "ops@acme.example",
    "ZENDESK_API_TOKEN": "6wiIBWbGkBMo1mRDMuVwkw1EPsNkeUj95PIz2akv",
}


class Listener:
    """A TCP port that counts the connections made to it: where the environment's APIs point,
    so any request the command makes to them is seen."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self._stop = False
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            conn.close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        self._stop = True
        self._thread.join()
        self.sock.close()


@pytest.fixture
def listener():
    lst = Listener()
    yield lst
    lst.close()


def real_looking_env(listener: Listener) -> dict[str, str]:
    return {
        **CREDENTIALS,
        "GITHUB_API_URL": listener.url,
        "PAGERDUTY_API_URL": listener.url,
        "ZENDESK_URL": listener.url,
    }


# --- run: the credential check ------------------------------------------------------------


def test_the_catalog_decides_which_credentials_are_needed():
    with_repos = parse_catalog({"teams": [{"name": "a", "repos": ["o/r"]}]})
    without_repos = parse_catalog({"teams": [{"name": "a", "services": ["P1"]}]})
    assert missing_credentials({}, with_repos) == [
        "GITHUB_TOKEN",
        "PAGERDUTY_API_TOKEN",
        "ZENDESK_URL",
        "ZENDESK_EMAIL",
        "ZENDESK_API_TOKEN",
    ]
    # GitHub is read only for the catalog's repositories; the others for the whole account.
    assert "GITHUB_TOKEN" not in missing_credentials({}, without_repos)
    assert missing_credentials({**CREDENTIALS, "ZENDESK_EMAIL": " "}, with_repos) == [
        "ZENDESK_EMAIL"
    ]
    assert missing_credentials(CREDENTIALS, with_repos) == []


def _run_command(env: dict[str, str], *args: str) -> tuple[subprocess.CompletedProcess, float]:
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "commandline.main", *args],
        env={"PATH": os.environ["PATH"], "PYTHONPATH": str(REPO_ROOT), **env},
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return done, time.monotonic() - started


@pytest.mark.parametrize("unset", sorted(CREDENTIALS))
def test_run_with_a_credential_missing_refuses_to_start(unset, listener, tmp_path):
    env = real_looking_env(listener)
    del env[unset]
    env |= {"PLATFORM_KPIS_CATALOG": str(DEMO_CATALOG), "PLATFORM_KPIS_HOME": str(tmp_path)}
    done, seconds = _run_command(env, "run")
    assert done.returncode != 0
    assert unset in done.stderr
    assert seconds < 10, f"took {seconds:.1f} s"
    assert listener.connections == 0
    assert not (tmp_path / "dagster").exists() and not (tmp_path / "raw").exists()
    for value in CREDENTIALS.values():  # secrets are never printed
        assert value not in done.stderr + done.stdout


def test_run_without_a_catalog_names_the_variable(listener, tmp_path):
    done, _ = _run_command(
        {**real_looking_env(listener), "PLATFORM_KPIS_HOME": str(tmp_path)}, "run"
    )
    assert done.returncode != 0 and "PLATFORM_KPIS_CATALOG" in done.stderr
    assert listener.connections == 0


# --- the demo's clock --------------------------------------------------------------------


def test_the_fixed_date_is_the_bundled_history():
    assert fixed_end(DEMO_SCALE) == date(2026, 8, 3)
    assert ending_on(DEMO_SCALE, fixed_end(DEMO_SCALE)) == (DEMO_SCALE, EPOCH)
    org = Org.generate(1, *ending_on(DEMO_SCALE, date(2026, 8, 3)))
    assert org.catalog() == yaml.safe_load(DEMO_CATALOG.read_text())


@pytest.mark.parametrize("end", [date(2026, 12, 1), date(2027, 3, 7), date(2026, 2, 20)])
def test_a_dated_history_moves_by_whole_weeks_and_ends_on_its_day(end):
    scale, start = ending_on(DEMO_SCALE, end)
    shift = start - EPOCH
    assert shift.days % 7 == 0 and start.weekday() == 0  # still a Monday: ISO weeks line up
    org = Org.generate(1, scale, start)
    assert org.now0 == datetime(end.year, end.month, end.day, tzinfo=UTC)
    assert 0 <= scale.days - DEMO_SCALE.days < 7
    bets = {b["id"]: b["shipped_on"] for b in org.catalog()["bets"]}
    fixed = {b["id"]: b["shipped_on"] for b in Org.generate(1, DEMO_SCALE).catalog()["bets"]}
    assert bets == {k: v + shift for k, v in fixed.items()}
    assert all(bets[k].weekday() == fixed[k].weekday() for k in bets)


def test_a_shifted_organisation_is_the_fixed_one_moved_in_time():
    from simulator.github import GitHubModel
    from simulator.pagerduty import PagerDutyModel

    shift = timedelta(weeks=47)
    fixed, moved = Org.generate(SEED, SCALE), Org.generate(SEED, SCALE, EPOCH + shift)

    def pulls(org, by):
        return [
            (n, p.number, p.created_at - by)
            for n, r in GitHubModel(org).repos.items()
            for p in r.pulls
        ]

    def incidents(org, by):
        return [(i.id, i.created_at - by) for i in PagerDutyModel(org).incidents]

    assert pulls(moved, shift) == pulls(fixed, timedelta(0))
    assert incidents(moved, shift) == incidents(fixed, timedelta(0))


# --- demo with real-looking credentials, then status -----------------------------------


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    home = tmp_path_factory.mktemp("cli-demo")
    (home / "dagster").mkdir()
    (home / "dagster" / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    lst = Listener()
    user_env = {
        **real_looking_env(lst),
        "PLATFORM_KPIS_CATALOG": str(home / "my-real-catalog.yml"),  # does not exist
        "PLATFORM_KPIS_TARGET": "postgres",
        "PLATFORM_KPIS_PG_DSN": f"postgresql://nobody@127.0.0.1:{lst.port}/prod",
        "PLATFORM_KPIS_HOME": str(home),
        "DAGSTER_HOME": str(home / "dagster"),
    }
    saved = dict(os.environ)
    os.environ.update(user_env)
    out = home / "demo.out"
    try:
        with open(out, "w") as f, contextlib.redirect_stdout(f):
            code = cli.run_demo(SEED, scale=SCALE)
        env_after = dict(os.environ)
    finally:
        os.environ.clear()
        os.environ.update(saved)
        lst.close()
    yield {
        "home": home,
        "code": code,
        "out": out.read_text(),
        "env": user_env,
        "env_after": env_after,
        "connections": lst.connections,
    }


@pytest.mark.slow
def test_demo_uses_the_simulator_whatever_the_environment_holds(demo):
    out = demo["out"]
    assert demo["code"] == 0, out
    first = out.splitlines()[0]
    assert first.startswith("demo:") and "bundled simulator" in first
    simulator_url = re.search(
        r"simulator \(seed \d+, history [\d-]+ to [\d-]+\) at (http://127\.0\.0\.1:\d+)", out
    )
    assert simulator_url and simulator_url.group(1) != demo["env"]["GITHUB_API_URL"]
    today = datetime.now(UTC).date()
    # Nothing reached the URLs or the warehouse the environment named...
    assert demo["connections"] == 0
    # ...and the raw layer (DuckDB, not the Postgres DSN) holds the simulator's organisation.
    with duckdb.connect(str(demo["home"] / "raw" / "github.duckdb"), read_only=True) as con:
        repos = {
            r[0] for r in con.execute("select record->>'full_name' from repositories").fetchall()
        }
        synced = con.execute(
            "select count(*) from pipeline_sync_status where status = 'success' and requests > 0"
        ).fetchone()[0]
    assert repos == set(Org.generate(SEED, *ending_on(SCALE, today)).repos)
    assert synced > 0
    assert re.search(r"^github/pull_requests\s+success\s+[1-9]", out, re.M)
    # The history ends today (UTC): the scorecard is of the last complete month, last month.
    last_month = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    assert f"to {today:%Y-%m-%d}) at http://127.0.0.1:" in out
    assert f"\nscorecard, {last_month:%B %Y} (org-wide, the last complete month)" in out
    # The user's environment is left as it was.
    assert demo["env_after"] == {**demo["env_after"], **demo["env"]}
    for value in CREDENTIALS.values():
        assert value not in out


@pytest.mark.slow
def test_status_shows_the_last_run_from_storage(demo):
    assert demo["code"] == 0
    env = {k: v for k, v in demo["env"].items() if not k.startswith(("GITHUB", "PAGER", "ZEND"))}
    env |= {"PLATFORM_KPIS_TARGET": "duckdb"}
    del env["PLATFORM_KPIS_PG_DSN"]
    probe = (
        "import sys, time; t = time.monotonic(); from commandline import main as cli; "
        "code = cli.main(['status']); "
        "print(f'@@ {code} {time.monotonic() - t:.3f} {\"dagster\" in sys.modules}')"
    )
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", probe],
        env={"PATH": os.environ["PATH"], "PYTHONPATH": str(REPO_ROOT), **env},
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    wall = time.monotonic() - started
    out = done.stdout
    code, seconds, dagster_loaded = out.strip().splitlines()[-1].split()[1:]
    assert code == "0", done.stderr
    print(f"\nstatus: {float(seconds):.2f} s in process, {wall:.2f} s with interpreter start")
    assert dagster_loaded == "False"
    assert float(seconds) < 2.0
    runs = demo["home"] / "dagster" / "history" / "runs.db"
    assert runs.exists()
    assert re.search(r"^last nightly run: SUCCESS \(started \d{4}-\d\d-\d\d", out, re.M)
    demo_out = demo["out"]

    def section(text: str, start: str, end: str) -> str:
        return text[text.index(start) : text.index(end, text.index(start))]

    # The same sync table, gate verdict and scorecard the demo printed when it ran.
    assert section(out, "source/stream", "raw layer:") == section(
        demo_out, "source/stream", "raw layer:"
    )
    assert section(out, "\nscorecard,", "published marts:") == section(
        demo_out, "\nscorecard,", "published marts:"
    )
    gate = [line for line in demo_out.splitlines() if line.startswith("gate:")]
    assert gate and gate[0] in out.splitlines()
    with duckdb.connect(
        str(demo["home"] / "published" / "platform_kpis.duckdb"), read_only=True
    ) as con:
        kpis = {
            r[0] for r in con.execute("select distinct kpi from marts.kpi_scorecard").fetchall()
        }
    shown = set(
        re.findall(r"^(\w+)\s+[-\d]", section(out, "\nscorecard,", "published marts:"), re.M)
    )
    assert shown and shown <= kpis


def test_status_before_any_run(tmp_path):
    done, _ = _run_command({"PLATFORM_KPIS_HOME": str(tmp_path)}, "status")
    assert done.returncode == 0, done.stderr
    assert "no nightly run yet" in done.stdout
    assert "github/*" in done.stdout and "never synced" in done.stdout
    assert "no published marts yet" in done.stdout


# --- tasks.py ui stops every child ----------------------------------------------------------


def _children(pid: int) -> dict[int, int]:
    """pid -> parent pid of every process under ``pid`` (walking /proc)."""
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError):
                stat = open(f"/proc/{entry}/stat").read()  # noqa: SIM115
                parents[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = {}, [pid]
    while frontier:
        p = frontier.pop()
        for child, parent in parents.items():
            if parent == p and child not in found:
                found[child] = parent
                frontier.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        state = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0]  # noqa: SIM115
    except OSError:
        return False
    return state != "Z"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_one_code_location_name_everywhere():
    import tomllib

    pyproject = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["dagster"]
    workspace = yaml.safe_load(cli.WORKSPACE.read_text())["load_from"]
    assert workspace == [
        {
            "python_module": {
                "module_name": pyproject["module_name"],
                "location_name": pyproject["code_location_name"],
                "working_directory": ".",
            }
        }
    ]


LOCATIONS = "{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus } } } }"


@pytest.mark.slow
def test_tasks_ui_stops_every_child_on_sigterm(tmp_path):
    import tasks

    if not tasks.env_is_current():
        pytest.skip(".venv is not built from this lock: tasks.py would install it first")
    port = _free_port()
    (tmp_path / "dagster").mkdir()
    (tmp_path / "dagster" / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    env = {
        **os.environ,
        **CREDENTIALS,
        "PLATFORM_KPIS_HOME": str(tmp_path),
        "DAGSTER_HOME": str(tmp_path / "dagster"),
        "DAGSTER_PORT": str(port),
    }
    log = open(tmp_path / "ui.log", "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        ["python3", "tasks.py", "ui"],
        cwd=REPO_ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    seen: dict[int, int] = {}
    try:
        deadline = time.monotonic() + 240
        names: list[str] = []
        while time.monotonic() < deadline and proc.poll() is None:
            seen |= _children(proc.pid)
            with contextlib.suppress(requests.RequestException, KeyError, TypeError):
                body = requests.post(
                    f"http://127.0.0.1:{port}/graphql", json={"query": LOCATIONS}, timeout=5
                ).json()
                entries = body["data"]["workspaceOrError"]["locationEntries"]
                if entries and all(e["loadStatus"] == "LOADED" for e in entries):
                    names = [e["name"] for e in entries]
                    break
            time.sleep(1)
        assert names == ["platform_kpis"], (tmp_path / "ui.log").read_text()[-3000:]
        seen |= _children(proc.pid)
        # dagster dev, its webserver, daemon and code server
        assert len(seen) >= 4, seen
        proc.send_signal(signal.SIGTERM)
        sent = time.monotonic()
        while time.monotonic() < sent + 15 and any(_alive(p) for p in seen):
            time.sleep(0.2)
        left = [p for p in seen if _alive(p)]
        assert not left, f"still running 15 s after SIGTERM: {left}"
        print(f"\nui: {len(seen)} processes stopped {time.monotonic() - sent:.1f} s after SIGTERM")
        proc.wait(timeout=5)
    finally:
        for p in seen:
            with contextlib.suppress(ProcessLookupError):
                os.kill(p, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()
    first = (tmp_path / "ui.log").read_text().splitlines()[0]
    assert first.startswith("ui:") and "bundled simulator" in first


# --- the demo's data and a production run's never mix -------------------------------------


def test_a_demo_of_another_history_starts_afresh(tmp_path):
    from platform_kpis import demo_home

    first = {"seed": "1", "start": "2026-05-04T00:00:00+00:00", "scale": "Scale()"}
    assert not demo_home.prepare_for_demo(tmp_path, first)
    (tmp_path / "raw").mkdir()
    (tmp_path / "raw" / "github.duckdb").write_bytes(b"x")
    (tmp_path / "published").mkdir()
    (tmp_path / "dagster").mkdir()
    assert not demo_home.prepare_for_demo(tmp_path, first)  # same history: data kept
    assert (tmp_path / "raw" / "github.duckdb").exists()
    assert demo_home.prepare_for_demo(tmp_path, {**first, "start": "2026-05-11T00:00:00+00:00"})
    assert not (tmp_path / "raw").exists() and not (tmp_path / "published").exists()
    assert (tmp_path / "dagster").exists()  # the run history stays


def test_demo_and_run_refuse_each_others_home(tmp_path, listener):
    (tmp_path / "raw").mkdir()  # a production run's raw layer
    done, _ = _run_command({"PLATFORM_KPIS_HOME": str(tmp_path)}, "demo")
    assert done.returncode == 2 and "holds data no demo wrote" in done.stderr
    assert (tmp_path / "raw").exists() and not (tmp_path / "demo_history.json").exists()
    (tmp_path / "demo_history.json").write_text("{}")
    env = {
        **real_looking_env(listener),
        "PLATFORM_KPIS_CATALOG": str(DEMO_CATALOG),
        "PLATFORM_KPIS_HOME": str(tmp_path),
    }
    done, _ = _run_command(env, "run")
    assert done.returncode == 2 and "demo's simulated data" in done.stderr
    assert listener.connections == 0
