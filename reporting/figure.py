"""A figure shown in the report, tied to the published cell it shows.

The page carries each figure's table, column and key as ``data-`` attributes: a reader (or a
test) can look the number up in the marts and see that the page says the same."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Figure:
    text: str
    table: str = ""
    column: str = ""
    key: dict = field(default_factory=dict)

    @property
    def where(self) -> str:
        return ";".join(f"{k}={_key(v)}" for k, v in self.key.items())


def _key(v) -> str:
    return v.isoformat() if isinstance(v, dt.date) else str(v)
