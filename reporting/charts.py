"""The report's charts: Vega-Altair specifications rendered to SVG at build time by
vl-convert, so the page carries them inline and needs no script and no network."""

from __future__ import annotations

import altair as alt
import pandas as pd
import vl_convert

WIDTH = 620
MAX_TICKS = 10
CATEGORY_ORDER = ["roadmap", "platform", "unplanned", "unclassified"]
CATEGORY_COLOURS = ["#2f6db5", "#5fa55a", "#e4863a", "#b0b0b0"]
# Altair writes specs for one Vega-Lite release; vl-convert renders it with that release.
VL_VERSION = "_".join(alt.SCHEMA_VERSION.lstrip("v").split(".")[:2])


def svg(chart: alt.TopLevelMixin) -> str:
    spec = chart.configure_view(stroke=None).configure_axis(labelFontSize=11).to_dict()
    out = vl_convert.vegalite_to_svg(spec, vl_version=f"v{VL_VERSION}")
    # The SVG's own XML prologue is not allowed inside HTML.
    return out[out.index("<svg") :]


def _completeness(frame: pd.DataFrame, period: str) -> pd.DataFrame:
    frame = frame.copy()
    frame[period] = pd.to_datetime(frame[period])  # the spec is JSON: dates as timestamps
    frame["period"] = frame["complete"].map({True: "complete", False: "partial"})
    return frame


def _time_axis(frame: pd.DataFrame, period: str, padding: float = 0) -> alt.X:
    """Ticks on the periods themselves (weeks on their Monday, months by name), at most
    MAX_TICKS of them: a time axis left to itself ticks on days the data does not have."""
    periods = sorted(frame[period].unique())
    step = -(-len(periods) // MAX_TICKS)  # ceiling division
    ticks = [pd.Timestamp(p) for p in periods[::step]]
    return alt.X(
        f"{period}:T",
        title=None,
        scale=alt.Scale(padding=padding),
        axis=alt.Axis(
            format="%b %Y" if period == "month_start" else "%d %b",
            values=[alt.DateTime(year=t.year, month=t.month, date=t.day) for t in ticks],
            labelAngle=0,
        ),
    )


def lines(
    rows: list[dict], period: str, series: dict[str, str], title: str, unit: str
) -> str | None:
    """One line per column of ``series`` (column -> legend label) over ``period``; partial
    periods are drawn as faded points, so nobody reads a running week as a drop."""
    frame = pd.DataFrame(rows)
    if frame.empty:
        return None
    frame = _completeness(frame, period)
    long = frame.melt(
        id_vars=[period, "period"], value_vars=list(series), var_name="measure", value_name="v"
    ).dropna(subset=["v"])
    if long.empty:
        return None
    long["measure"] = long["measure"].map(series)
    base = alt.Chart(long, title=title).encode(
        x=_time_axis(frame, period, padding=12),
        y=alt.Y("v:Q", title=unit),
        color=alt.Color("measure:N", title=None, sort=list(series.values())),
    )
    points = base.mark_point(size=40, filled=True).encode(
        opacity=alt.Opacity(
            "period:N", scale=alt.Scale(domain=["complete", "partial"], range=[1, 0.35])
        ),
    )
    # The line joins complete periods only: a running period's point stands alone.
    line = base.transform_filter(alt.datum.period == "complete").mark_line()
    return svg((line + points).properties(width=WIDTH, height=160))


def bars(rows: list[dict], period: str, column: str, title: str, unit: str) -> str | None:
    frame = pd.DataFrame(rows)
    if frame.empty:
        return None
    frame = _completeness(frame, period)
    # A time axis gives bars no band: size them to the number of periods shown.
    size = max(2.0, min(28.0, WIDTH * 0.6 / len(frame)))
    chart = (
        alt.Chart(frame, title=title)
        .mark_bar(size=size)
        .encode(
            x=_time_axis(frame, period, padding=size / 2 + 2),
            y=alt.Y(f"{column}:Q", title=unit),
            opacity=alt.Opacity(
                "period:N",
                scale=alt.Scale(domain=["complete", "partial"], range=[1, 0.35]),
                title=None,
            ),
        )
        .properties(width=WIDTH, height=110)
    )
    return svg(chart)


def capacity(rows: list[dict], budget: list[dict]) -> str | None:
    """Per team, its shares stacked in category order, with black ticks where the budget's
    cumulative targets fall (e.g. 70% and 90% for 70/20/10)."""
    frame = pd.DataFrame(rows)[["team", "category", "share"]]
    if frame.empty:
        return None
    frame["order"] = (
        frame["category"]
        .map({c: i for i, c in enumerate(CATEGORY_ORDER)})
        .fillna(len(CATEGORY_ORDER))
    )
    stacked = (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            y=alt.Y("team:N", title=None, sort=None),
            x=alt.X(
                "share:Q",
                stack="zero",
                title="share of the week's effort",
                axis=alt.Axis(format="%"),
            ),
            color=alt.Color(
                "category:N",
                title=None,
                scale=alt.Scale(domain=CATEGORY_ORDER, range=CATEGORY_COLOURS),
            ),
            order=alt.Order("order:Q"),
        )
    )
    layers = stacked
    if budget:
        ticks = (
            alt.Chart(pd.DataFrame(budget))
            .mark_tick(color="black", thickness=2, size=22)
            .encode(y=alt.Y("team:N", sort=None), x="cumulative:Q")
        )
        layers = stacked + ticks
    height = 28 * frame["team"].nunique()
    return svg(layers.properties(width=WIDTH - 100, height=height))
