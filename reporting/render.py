"""Build the report: read the publication, draw the charts, render the template, and
replace the HTML file atomically (a reader never opens half a report)."""

from __future__ import annotations

import datetime as dt
import os
import time
from dataclasses import dataclass
from pathlib import Path

import jinja2

from reporting import bets, capacity, health, pains, report_path, scorecard, trends
from reporting.marts import Publication, open_publication

TEMPLATES = Path(__file__).resolve().parent / "templates"
TITLE = "Platform KPIs"


@dataclass
class Built:
    path: Path
    bytes: int
    seconds: float
    scorecard: scorecard.Scorecard


def render(pub: Publication, now: dt.datetime) -> tuple[str, scorecard.Scorecard]:
    """The report's HTML for this publication, and its scorecard (the key figures)."""
    billing_missing = health.no_billing_export(pub)
    card = scorecard.build(pub, billing_missing)
    bet_list, bets_note = bets.build(pub)
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    html = env.get_template("report.html.j2").render(
        title=f"{TITLE}, {card.month}" if card.month else TITLE,
        built_at=now.strftime("%Y-%m-%d %H:%M UTC"),
        source=pub.where if pub.dialect == "postgres" else "the published marts",
        scorecard=card,
        pains=pains.build(card),
        pain_note=pains.missing_note,
        trends=trends.build(pub, billing_missing),
        capacity=capacity.build(pub),
        bets=bet_list,
        bets_note=bets_note,
        health=health.build(pub, now, billing_missing),
    )
    return html, card


def write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def build_report(
    target: str, home: str | Path, dsn: str | None = None, out: Path | None = None
) -> Built:
    """Rebuild the report from the published marts (never the build schema)."""
    started = time.perf_counter()
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    with open_publication(target, home, dsn) as pub:
        html, card = render(pub, now)
    path = out or report_path(home)
    write_atomically(path, html)
    return Built(path, path.stat().st_size, time.perf_counter() - started, card)
