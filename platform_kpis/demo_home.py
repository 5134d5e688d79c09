"""Keeping the demo's simulated data apart from everything else in ``PLATFORM_KPIS_HOME``.

The demo's organisation moves with the calendar (its history ends today), so two demos on
different days serve different timelines of the same records: appended to one raw layer, they
would mix. A marker file names the history a home's data came from; a demo of another
history starts from an empty raw layer, and a home holding data no demo wrote (a production
run's) is never touched by a demo, nor a demo's by a production run.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

MARKER = "demo_history.json"
# What a run writes under the home, besides the Dagster instance (kept: it is run history).
DATA = ("raw", "warehouse.duckdb", "warehouse.duckdb.wal", "published", "reports")


class HomeInUse(RuntimeError):
    """The home holds data of the other kind (production vs demo)."""


def _held(home: Path) -> list[Path]:
    return [home / name for name in DATA if (home / name).exists()]


def prepare_for_demo(home: Path, history: dict[str, str]) -> bool:
    """Make ``home`` ready for a demo of ``history``; True when an earlier demo's data (of
    another history) was removed."""
    marker = home / MARKER
    held = _held(home)
    if not marker.exists() and held:
        raise HomeInUse(
            f"{home} holds data no demo wrote ({', '.join(p.name for p in held)}): the demo "
            "does not write simulated records beside it. Set PLATFORM_KPIS_HOME to another "
            "folder for the demo, or remove those if they are an older demo's."
        )
    cleared = marker.exists() and json.loads(marker.read_text()) != history
    if cleared:
        for path in held:
            shutil.rmtree(path) if path.is_dir() else path.unlink()
    home.mkdir(parents=True, exist_ok=True)
    marker.write_text(json.dumps(history, sort_keys=True) + "\n")
    return cleared


def check_not_demo(home: Path) -> None:
    """A production run never appends real records to a demo's simulated ones."""
    if (home / MARKER).exists():
        raise HomeInUse(
            f"{home} holds the demo's simulated data ({MARKER}): set PLATFORM_KPIS_HOME to "
            "another folder for real runs, or remove this one."
        )
