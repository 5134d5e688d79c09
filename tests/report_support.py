"""Synthetic publications for the report's tests, and reading a report's figures back.

A synthetic publication holds the v2 tables (or fewer) with small, varied values, written as a
DuckDB file or a Postgres schema ``marts``. ``figures`` pulls every figure the report tied to a
published cell, and ``assert_figures_match`` looks each one up in the marts: the page must say
what the marts say, to the rounding it shows.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

D, TS, F, INT, T, B = "date", "timestamp", "double precision", "bigint", "text", "boolean"

SCHEMAS = {
    "kpi_delivery_weekly": [
        ("week_start", D), ("team", T), ("deployments", INT), ("rollback_rate", F),
        ("change_failure_rate", F), ("changes", INT), ("lead_time_p50_hours", F),
        ("lead_time_p95_hours", F), ("n", INT), ("is_complete", B),
    ],
    "kpi_incidents_weekly": [
        ("week_start", D), ("team", T), ("incidents", INT), ("resolved_incidents", INT),
        ("mttr_hours", F), ("n", INT), ("is_complete", B),
    ],
    "kpi_support_monthly": [
        ("month_start", D), ("tickets", INT), ("trust_tickets", INT), ("active_customers", INT),
        ("tickets_per_1k_customers", F), ("trust_tickets_per_1k_customers", F),
        ("is_complete", B),
    ],
    "kpi_support_themes_monthly": [
        ("month_start", D), ("theme", T), ("tickets", INT), ("active_customers", INT),
        ("tickets_per_1k_customers", F), ("is_complete", B),
    ],
    "kpi_cost_to_serve_monthly": [
        ("month_start", D), ("compute_cost", F), ("ops_hours", F), ("ops_cost", F),
        ("active_customers", INT), ("cost_per_customer", F), ("ops_cost_per_customer", F),
        ("is_complete", B),
    ],
    "mart_capacity_allocation": [
        ("week_start", D), ("team", T), ("category", T), ("fte_weeks", F), ("share", F),
        ("target_share", F), ("variance_pp", F), ("is_complete", B),
    ],
    "kpi_scorecard": [
        ("month_start", D), ("kpi", T), ("value", F), ("previous_value", F),
        ("change_pct", F), ("n", INT), ("is_complete", B),
    ],
    "kpi_coverage": [("metric", T), ("covered", INT), ("total", INT), ("share", F)],
    "pipeline_sync_status": [
        ("source", T), ("stream", T), ("status", T), ("last_attempt_at", TS),
        ("last_success_at", TS), ("records", INT), ("requests", INT), ("retries", INT),
        ("throttled_seconds", F), ("cursor", T), ("error", T),
    ],
    "mart_platform_bets": [
        ("bet_id", T), ("team", T), ("kpi", T), ("direction", T), ("shipped_on", D),
        ("baseline_start", D), ("baseline_end", D), ("evaluation_start", D),
        ("evaluation_end", D), ("before_value", F), ("after_value", F), ("change", F),
        ("change_pct", F), ("n_before", INT), ("n_after", INT), ("standard_error", F),
        ("verdict", T), ("constraint_text", T), ("bet_text", T),
    ],
    "publications": [
        ("publication_id", T), ("published_at", TS), ("as_of", TS), ("warnings", T),
    ],
    "kpi_restatements": [
        ("month_start", D), ("kpi", T), ("first_published_at", TS), ("first_value", F),
        ("current_value", F), ("change", F),
    ],
}  # fmt: skip
V2_ONLY = ("kpi_support_themes_monthly", "mart_platform_bets", "publications", "kpi_restatements")
BUDGET = {"roadmap": 0.7, "platform": 0.2, "unplanned": 0.1}
THEMES = ("trust", "enterprise_blocker")
TWO_BETS = [
    # A clear improvement of the organisation's lead time...
    ("faster-ci", None, "lead_time_p50_hours", "down", 30.0, 20.0, 8, 8, 1.5, "improved",
     "Releases wait on a 40-minute CI queue", "Parallel CI runners on spot instances"),
    # ...and a bet on one team still inside its evaluation window.
    ("safer-deploys", "payments", "change_failure_rate", "down", 0.25, 0.2, 8, 3, None,
     "in_progress", "Every release risks a payments outage", "Canary deployments"),
]  # fmt: skip


@dataclass
class Synthetic:
    teams: list[str] = field(default_factory=lambda: ["payments", "search"])
    weeks: int = 10
    first_week: dt.date = dt.date(2025, 12, 1)
    billing: bool = True
    bets: list[tuple] = field(default_factory=lambda: list(TWO_BETS))
    v2: bool = True

    @property
    def week_starts(self) -> list[dt.date]:
        return [self.first_week + dt.timedelta(weeks=i) for i in range(self.weeks)]

    @property
    def as_of(self) -> dt.datetime:
        """Half-way into a week after the data (so the last week is complete)."""
        return dt.datetime.combine(self.week_starts[-1] + dt.timedelta(days=7), dt.time(12))

    @property
    def month_starts(self) -> list[dt.date]:
        return sorted({w.replace(day=1) for w in self.week_starts})

    def month_complete(self, m: dt.date) -> bool:
        nxt = (m.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
        return dt.datetime.combine(nxt, dt.time()) <= self.as_of

    def tables(self) -> dict[str, list[tuple]]:
        teams = ["all", *self.teams]
        out: dict[str, list[tuple]] = {t: [] for t in SCHEMAS}
        for i, w in enumerate(self.week_starts):
            done = w + dt.timedelta(days=7) <= self.as_of.date()
            for j, team in enumerate(teams):
                deploys = 3 + (i * 7 + j * 5) % 11
                out["kpi_delivery_weekly"].append(
                    (w, team, deploys, (i % 4) / 20, (i % 5) / 17, deploys + 2,
                     10 + i * 1.37 + j, 40 + i * 2.91 + j, deploys + 2, done)
                )  # fmt: skip
                out["kpi_incidents_weekly"].append(
                    (w, team, i % 3 + j, i % 3, None if i % 3 == 0 else 2.25 + i / 3, i % 3, done)
                )
                shares = {"roadmap": 0.55 + j / 20, "platform": 0.25, "unplanned": 0.2 - j / 20}
                for category, share in shares.items():
                    target = BUDGET[category]
                    out["mart_capacity_allocation"].append(
                        (w, team, category, share * (3 + j), share, target,
                         (share - target) * 100, done)
                    )  # fmt: skip
        previous: dict[str, float | None] = {}
        for k, m in enumerate(self.month_starts):
            done = self.month_complete(m)
            customers = 120 + 10 * k
            tickets = 14 + 3 * k
            per_1k = tickets / customers * 1000
            out["kpi_support_monthly"].append(
                (m, tickets, 5 + k, customers, per_1k, (5 + k) / customers * 1000, done)
            )
            for n_theme, theme in enumerate(THEMES):
                count = 5 + k - 3 * n_theme
                out["kpi_support_themes_monthly"].append(
                    (m, theme, count, customers, count / customers * 1000, done)
                )
            compute = 5000.0 + 250 * k if self.billing else None
            ops_hours = 40.5 + k
            ops_cost = ops_hours * 120
            cost = None if compute is None else (compute + ops_cost) / customers
            out["kpi_cost_to_serve_monthly"].append(
                (m, compute, ops_hours, ops_cost, customers, cost, ops_cost / customers, done)
            )
            values = {
                "lead_time_p50_hours": (12.0 + k * 1.75, 30),
                "deployments": (30.0 + k, 30 + k),
                "change_failure_rate": (0.125 + k / 100, 28),
                "mttr_hours": (4.5 - k / 4, 6),
                "tickets_per_1k_customers": (per_1k, tickets),
                "cost_per_customer": (cost, None),
                "roadmap_share": (0.6 - k / 50, None),
                **{f"{t}_tickets_per_1k_customers": (3.0 + k + n, 4) for n, t in enumerate(THEMES)},
            }
            for kpi, (value, n) in values.items():
                prev = previous.get(kpi)
                change = (
                    None if not done or value is None or not prev else (value - prev) / prev * 100
                )
                out["kpi_scorecard"].append((m, kpi, value, prev, change, n, done))
                previous[kpi] = value
        out["kpi_coverage"] = [
            ("changes_deployed", 90, 100, 0.9),
            ("deployments_compare_linked", 45, 50, 0.9),
            ("incidents_team_mapped", 7, 8, 0.875),
            ("prs_classified", 60, 100, 0.6),
            ("authors_mapped", 95, 100, 0.95),
        ]
        synced = self.as_of - dt.timedelta(hours=2)
        out["pipeline_sync_status"] = [
            ("github", "pull_requests", "success", synced, synced, 412, 9, 1, 12.5, "c", None),
            ("pagerduty", "incidents", "success", synced, synced, 37, 2, 0, 0.0, "c", None),
            ("zendesk", "tickets", "failed", synced, synced - dt.timedelta(days=2), 90, 3, 4,
             61.0, "c", "HTTP 503 from /api/v2/incremental/tickets/cursor.json"),
        ]  # fmt: skip
        weeks = self.week_starts
        for bet_id, team, kpi, direction, before, after, nb, na, se, verdict, c, b in self.bets:
            shipped = weeks[len(weeks) // 2]
            out["mart_platform_bets"].append(
                (bet_id, team, kpi, direction, shipped, weeks[0], shipped - dt.timedelta(days=1),
                 shipped + dt.timedelta(days=7), shipped + dt.timedelta(weeks=8, days=6),
                 before, after, after - before, (after - before) / before * 100, nb, na, se,
                 verdict, c, b)
            )  # fmt: skip
        published = self.as_of + dt.timedelta(minutes=30)
        out["publications"] = [
            ("pub-1", published - dt.timedelta(days=1), self.as_of - dt.timedelta(days=1), None),
            ("pub-2", published, self.as_of, '["kpi_coverage: prs_classified at 0.60"]'),
        ]
        first = self.month_starts[0]
        out["kpi_restatements"] = [
            (first, "deployments", published - dt.timedelta(days=20), 29.0, 30.0, 1.0)
        ]
        if not self.v2:
            for table in V2_ONLY:
                del out[table]
        return out

    def columns(self, table: str) -> list[tuple[str, str]]:
        cols = SCHEMAS[table]
        return cols if self.v2 else [c for c in cols if c[0] != "is_complete"]

    def rows(self, table: str, rows: list[tuple]) -> list[tuple]:
        if self.v2:
            return rows
        keep = [i for i, c in enumerate(SCHEMAS[table]) if c[0] != "is_complete"]
        return [tuple(r[i] for i in keep) for r in rows]

    def write_duckdb(self, path: Path) -> Path:
        import duckdb

        path.parent.mkdir(parents=True, exist_ok=True)
        con = duckdb.connect(str(path))
        try:
            self._write(con.execute, "?")
        finally:
            con.close()
        return path

    def write_postgres(self, dsn: str) -> None:
        import psycopg

        with psycopg.connect(dsn, autocommit=True) as con:
            self._write(con.execute, "%s")

    def _write(self, execute, placeholder: str) -> None:
        execute("create schema marts")
        for table, rows in self.tables().items():
            cols = self.columns(table)
            execute(f"create table marts.{table} ({', '.join(f'{c} {t}' for c, t in cols)})")
            marks = ", ".join([placeholder] * len(cols))
            for row in self.rows(table, rows):
                execute(f"insert into marts.{table} values ({marks})", list(row))


# --- reading a report back ---------------------------------------------------------------


@dataclass
class Shown:
    table: str
    column: str
    where: dict[str, str]
    text: str


BLOCKS = {"p", "div", "td", "th", "tr", "li", "dt", "dd", "br", "h1", "h2", "h3", "section"}


class _Figures(HTMLParser):
    def __init__(self):
        super().__init__()
        self.figures: list[Shown] = []
        self.text: list[str] = []
        self._open: list[Shown | None] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("style", "svg", "title"):
            self._skip += 1
        if tag in BLOCKS:
            self.text.append(" ")
        a = dict(attrs)
        if tag == "span":
            self._open.append(
                Shown(a["data-table"], a["data-column"], parse_where(a["data-where"]), "")
                if "data-table" in a
                else None
            )

    def handle_endtag(self, tag):
        if tag in ("style", "svg", "title"):
            self._skip -= 1
        if tag == "span" and self._open:
            done = self._open.pop()
            if done is not None:
                self.figures.append(done)

    def handle_data(self, data):
        if self._skip:
            return
        self.text.append(data)
        for f in self._open:
            if f is not None:
                f.text += data


def parse_where(where: str) -> dict[str, str]:
    return dict(part.split("=", 1) for part in where.split(";") if part)


def read_report(html: str) -> tuple[list[Shown], str]:
    """The figures tied to published cells, and the page's visible text (charts aside)."""
    parser = _Figures()
    parser.feed(html)
    return parser.figures, " ".join("".join(parser.text).split())


_NUMBER = re.compile(r"[-+]?\d[\d,]*(?:\.(\d+))?")
RELATIVE = {"change_pct", "variance_pp"}  # already percentages or points in the marts


def published_value(con, figure: Shown):
    conds = " and ".join(f"cast({k} as varchar) = ?" for k in figure.where)
    rows = con.execute(
        f"select {figure.column} from marts.{figure.table}" + (f" where {conds}" if conds else ""),
        list(figure.where.values()),
    ).fetchall()
    assert len(rows) == 1, f"{figure} matches {len(rows)} published rows"
    return rows[0][0]


def assert_shows(figure: Shown, value) -> None:
    """The text shows ``value`` to the decimals it prints (a rate or share as a percentage)."""
    match = _NUMBER.search(figure.text)
    if value is None:
        assert match is None, f"{figure}: the mart holds NULL, the page shows a number"
        return
    assert match, f"{figure}: the mart holds {value}, the page shows no number"
    shown = float(match.group(0).replace(",", ""))
    decimals = len(match.group(1) or "")
    percent = ("%" in figure.text or "pts" in figure.text) and figure.column not in RELATIVE
    expected = float(value) * (100 if percent else 1)
    assert abs(shown - expected) <= 0.5 * 10**-decimals + 1e-9, (
        f"{figure.table}.{figure.column} {figure.where}: page {figure.text!r}, mart {value}"
    )


def assert_figures_match(con, figures: list[Shown]) -> None:
    for figure in figures:
        assert_shows(figure, published_value(con, figure))
