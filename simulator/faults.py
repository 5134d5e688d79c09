"""Fault injection: seeded random faults plus one-shot faults a test schedules.

Kinds: ``429`` (rate limited, in the service's own style), ``500``/``502``/``503``,
``timeout`` (the answer comes too late), ``truncate`` (the body is cut short with a matching
Content-Length: malformed JSON), ``disconnect`` (the connection drops mid-body), ``malformed``
(a 200 whose body is not JSON at all, on every retry: bad input, not a transient fault).
Domain faults (``drift``: a page changes during a walk) are read by the services themselves.
"""

from __future__ import annotations

import random
import re
import threading
from dataclasses import dataclass

TRANSIENT = ("429", "500", "502", "503", "timeout", "truncate", "disconnect")


@dataclass
class OneShot:
    kind: str
    path: re.Pattern[str] | None
    remaining: int


class FaultInjector:
    def __init__(self, seed: int = 0, rate: float = 0.0, kinds: tuple[str, ...] = TRANSIENT):
        self._rng = random.Random(seed)
        self.rate = rate
        self.kinds = kinds
        self._scheduled: list[OneShot] = []
        self._lock = threading.Lock()
        self.fired: list[tuple[str, str]] = []

    def schedule(self, kind: str, path: str | None = None, times: int = 1) -> None:
        """Fire ``kind`` on the next ``times`` requests whose path matches ``path`` (regex)."""
        with self._lock:
            self._scheduled.append(OneShot(kind, re.compile(path) if path else None, times))

    def clear(self) -> None:
        with self._lock:
            self._scheduled.clear()
            self.rate = 0.0

    def pick(self, path: str) -> str | None:
        with self._lock:
            for shot in self._scheduled:
                if shot.remaining > 0 and (shot.path is None or shot.path.search(path)):
                    shot.remaining -= 1
                    self.fired.append((shot.kind, path))
                    return shot.kind
            if self.rate and self._rng.random() < self.rate:
                kind = self._rng.choice(self.kinds)
                self.fired.append((kind, path))
                return kind
        return None
