"""A stream's as_of is the API's own clock at the end of its last successful sync (the
server's Date header), never the pipeline host's: the simulator runs on its own clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from extractors.errors import ExtractError
from tests.conftest import open_raw, run_sync

STREAMS = ("services", "teams", "users", "incidents", "log_entries")


def statuses(tmp_path) -> dict[str, dict]:
    with open_raw(tmp_path, "pagerduty") as store:
        return {r["stream"]: r for r in store.status_rows()}


def test_as_of_is_the_servers_clock_and_survives_a_failure(sim, tmp_path):
    # An odd offset, so the server's clock is nowhere near the host's nor a round time.
    sim.clock.advance(hours=5, seconds=7.75)
    server_now = sim.clock.now()
    run_sync(sim, tmp_path, "pagerduty")
    first = statuses(tmp_path)
    assert set(first) == set(STREAMS)
    for row in first.values():
        # The Date header has whole seconds.
        assert row["as_of"] == server_now.replace(microsecond=0), row["stream"]
        # last_attempt_at is the host's clock, which is not the server's.
        assert abs(row["last_attempt_at"] - row["as_of"]) > timedelta(hours=1)
    assert abs(datetime.now(UTC) - first["incidents"]["as_of"]) > timedelta(hours=1)

    # A day later on the server, the incidents sync fails: its as_of stays where the last
    # success left it, while the streams that synced move on.
    sim.advance(days=1)
    sim.pagerduty.faults.schedule("malformed", r"^/incidents$", times=50)
    with pytest.raises(ExtractError):
        run_sync(sim, tmp_path, "pagerduty")
    second = statuses(tmp_path)
    assert second["incidents"]["status"] == "failed"
    assert second["incidents"]["as_of"] == first["incidents"]["as_of"]
    assert second["services"]["status"] == "success"
    assert second["services"]["as_of"] == first["services"]["as_of"] + timedelta(days=1)
