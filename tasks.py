#!/usr/bin/env python3
"""Set-up and entry points. Needs only Python 3.11+; the first call builds .venv from the lock.

python3 tasks.py demo        the whole pipeline against the bundled simulator (DuckDB)
python3 tasks.py test [ARGS] the whole test suite (ARGS go to pytest)
python3 tasks.py ui          the Dagster UI on this project, against the simulator
python3 tasks.py run         the nightly job once against the real APIs the environment names
python3 tasks.py status      the last run, its sync table, gate result and published scorecard
python3 tasks.py report      rebuild the HTML report from the published marts (no pipeline run)
python3 tasks.py simulator   serve the simulated APIs and print their base URLs
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
LOCK = ROOT / "requirements.lock"
MARKER = VENV / ".platform-kpis-lock"
PY = VENV / "bin" / "python"
COMMANDS = ("demo", "test", "ui", "run", "status", "simulator", "report")


def _lock_digest() -> str:
    return hashlib.sha256(LOCK.read_bytes() + (ROOT / "pyproject.toml").read_bytes()).hexdigest()


def env_is_current() -> bool:
    """.venv exists and was built from this lock file and pyproject."""
    return MARKER.exists() and MARKER.read_text() == _lock_digest() and PY.exists()


def ensure_env() -> None:
    """Create .venv and install the locked dependencies, once per lock-file change."""
    if env_is_current():
        return
    want = _lock_digest()
    if not PY.exists():
        print("creating .venv ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    print("installing locked dependencies (first run takes a few minutes) ...", flush=True)
    pip = [str(PY), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "-r", str(LOCK)], check=True)
    subprocess.run([*pip, "--no-deps", "-e", str(ROOT)], check=True)
    MARKER.write_text(want)


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in COMMANDS:
        print(__doc__)
        return 2
    ensure_env()
    command, rest = argv[0], argv[1:]
    if command == "test":
        cmd = [str(PY), "-m", "pytest", *rest]
    elif command == "simulator":
        cmd = [str(PY), "-m", "simulator", *rest]
    else:
        cmd = [str(PY), "-m", "commandline.main", command, *rest]
    # Replace this process, so Ctrl-C and SIGTERM reach the command itself (`ui` passes them
    # on to every Dagster process) and nothing is left waiting in between.
    os.chdir(ROOT)
    os.execve(cmd[0], cmd, {**os.environ, "PYTHONPATH": str(ROOT)})


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
