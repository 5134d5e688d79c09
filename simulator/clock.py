"""The simulator's clock: the API shows the organisation as of ``now``."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta


class SimClock:
    def __init__(self, now: datetime):
        self._now = now.astimezone(UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, *, days: float = 0, hours: float = 0, seconds: float = 0) -> datetime:
        with self._lock:
            self._now += timedelta(days=days, hours=hours, seconds=seconds)
            return self._now
