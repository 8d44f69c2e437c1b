"""The planners' report: one self-contained HTML page (tables and inline SVG figures).

What it shows (DESIGN §7): headline numbers (villages assessed, low signal with and
without electricity, population, sites planned by kind, capex, schedule outcome against
each deadline and the on-air target), the schedule outcome per group, a bar chart of gap
villages by province (with / without power), the cumulative on-air curve against the
deadlines, a Gantt chart of the schedule (one row per site, one bar per task), and
tables by province and by commune (communes with gaps only).

Self-contained and offline: no script, no external asset, no web font; figures are inline
SVG drawn here; a Content-Security-Policy ``<meta>`` forbids every load and every script,
so the page cannot reach the network nor run code even if opened from a hostile folder.
A print stylesheet lays it out on A4. Every text from the data is HTML-escaped.
Deterministic: the same inputs give the same bytes (no timestamp; the covgap version is
the only provenance written).

Numbers a tool can read: headline figures carry ``data-key`` / ``data-value`` (the exact
integer or ISO date), schedule rows ``data-group``, Gantt rows ``<g class="gantt-row"
data-site=…>``, bars ``<g class="bar" data-province=…>``.
"""

from __future__ import annotations

import datetime as dt
import html
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from . import __version__
from .atomic import write_text_atomic
from .errors import SchemaError
from .export import GROUPS
from .maps import GROUP_COLOURS, GROUP_LABELS

__all__ = [
    "DEFAULT_DEADLINES",
    "DEFAULT_ON_AIR_TARGETS",
    "TASK_COLOURS",
    "GroupOutcome",
    "ReportFacts",
    "build_gantt",
    "build_report",
    "render_gantt_html",
    "render_report_html",
    "report_facts",
]

#: Build deadlines per gap group (inclusive), used when the schedule has no ``deadline``.
DEFAULT_DEADLINES: dict[str, dt.date] = {
    "low_signal_powered": dt.date(2025, 8, 31),
    "low_signal_unpowered": dt.date(2025, 11, 30),
}
#: On-air targets per group (the August group: on air by Sunday 14 Sep 2025).
DEFAULT_ON_AIR_TARGETS: dict[str, dt.date] = {"low_signal_powered": dt.date(2025, 9, 14)}
#: Gantt bar colour per task (Okabe–Ito, plus grey and indigo for the ninth).
TASK_COLOURS: dict[str, str] = {
    "survey": "#56B4E9",
    "permit": "#F0E442",
    "civil": "#E69F00",
    "tower": "#D55E00",
    "grid": "#0072B2",
    "solar": "#009E73",
    "equipment": "#CC79A7",
    "backhaul": "#7f7f7f",
    "integration": "#332288",
}
_OTHER_TASK_COLOUR = "#bbbbbb"
_GAP_GROUPS = ("low_signal_powered", "low_signal_unpowered")
_DEADLINE_COLOUR = "#B8330A"
_TARGET_COLOUR = "#0072B2"

_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "base-uri 'none'; form-action 'none'"
)

# --------------------------------------------------------------------------- values


def _e(value: object) -> str:
    """HTML-escaped text (quotes too: safe in attributes)."""
    return html.escape(str(value), quote=True)


def _missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _day(value: Any) -> dt.date | None:
    """A date from a Timestamp, date or ISO text; missing or empty → None."""
    if _missing(value) or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError) as exc:
        raise SchemaError(f"not a date: {value!r}") from exc
    return None if pd.isna(stamp) else stamp.date()


def _int(value: Any) -> int:
    if _missing(value) or (isinstance(value, str) and not value.strip()):
        return 0
    return round(float(value))


def _fmt_int(n: int) -> str:
    return f"{n:,}"


def _fmt_day(d: dt.date | None) -> str:
    return d.isoformat() if d is not None else "—"


def _short_day(d: dt.date) -> str:
    return f"{d.day} {d.strftime('%b')}"


def _fmt_vnd(vnd: int) -> str:
    """``532,500,000,000`` → ``"532.5 bn"`` (billions of dong, 1 decimal)."""
    return f"{vnd / 1e9:,.1f} bn"


def _code(value: Any, width: int) -> str:
    """An administrative code as text: ``8`` or ``"8"`` → ``"08"`` (CSV readers drop
    leading zeros); empty or missing → ``""``."""
    if _missing(value):
        return ""
    text = str(value).strip()
    if text.endswith(".0") and text[:-2].isdigit():
        text = text[:-2]
    return text.zfill(width) if text.isdigit() else text


def _require(frame: pd.DataFrame, columns: Iterable[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise SchemaError(
            f"{what} lack column(s) {', '.join(missing)}; have {', '.join(map(str, frame.columns))}"
        )


def _group_label(group: str) -> str:
    return GROUP_LABELS.get(group, group)


# --------------------------------------------------------------------------- facts


@dataclass(frozen=True)
class GroupOutcome:
    """The schedule against one group's deadline (dates inclusive)."""

    group: str
    deadline: dt.date | None
    sites: int
    on_time: int
    late: int
    total_late_days: int
    last_finish: dt.date | None
    target: dt.date | None  # on-air target, None when the group has none
    on_air_by_target: int | None
    last_on_air: dt.date | None


@dataclass(frozen=True)
class ReportFacts:
    """The headline numbers. ``sites`` is None without a sites table, ``outcomes`` None
    without a schedule."""

    villages: int
    by_group: dict[str, int]
    population: int
    population_by_group: dict[str, int]
    sites: int | None
    sites_by_kind: dict[str, int]
    sites_by_operator: dict[str, int]
    capex_vnd: int | None
    outcomes: list[GroupOutcome] | None
    sites_late: int | None
    last_finish: dt.date | None
    last_on_air: dt.date | None


@dataclass(frozen=True)
class _SiteRow:
    """One row of the site schedule, typed."""

    site_id: str
    operator: str
    group: str
    deadline: dt.date | None
    finish: dt.date | None
    on_air: dt.date | None
    late_days: int


def _schedule_rows(site_schedule: pd.DataFrame, deadlines: Mapping[str, dt.date]) -> list[_SiteRow]:
    _require(site_schedule, ("site_id", "group", "finish_date", "on_air_date"), "site_schedule")
    n = len(site_schedule)

    def column(name: str) -> list[Any]:
        return site_schedule[name].tolist() if name in site_schedule.columns else [None] * n

    rows = []
    for sid, op, group, deadline, finish, on_air, late in zip(
        column("site_id"),
        column("operator"),
        column("group"),
        column("deadline"),
        column("finish_date"),
        column("on_air_date"),
        column("late_days"),
        strict=True,
    ):
        g = str(group)
        d = _day(deadline) or deadlines.get(g)
        f = _day(finish)
        if "late_days" in site_schedule.columns:
            late_days = _int(late)
        else:
            late_days = max(0, (f - d).days) if f is not None and d is not None else 0
        rows.append(
            _SiteRow(str(sid), "" if _missing(op) else str(op), g, d, f, _day(on_air), late_days)
        )
    return rows


def _group_order(group: str) -> int:
    return GROUPS.index(group) if group in GROUPS else len(GROUPS)


def report_facts(
    villages_assessed: pd.DataFrame,
    sites: pd.DataFrame | None,
    site_schedule: pd.DataFrame | None,
    *,
    on_air_targets: Mapping[str, dt.date] | None = None,
    deadlines: Mapping[str, dt.date] | None = None,
) -> ReportFacts:
    """The headline numbers from the assessed villages, the planned sites and the site
    schedule (pure; see :func:`build_report` for the columns)."""
    targets = dict(DEFAULT_ON_AIR_TARGETS if on_air_targets is None else on_air_targets)
    dls = dict(DEFAULT_DEADLINES if deadlines is None else deadlines)
    _require(villages_assessed, ("group", "population"), "villages_assessed")
    groups = villages_assessed["group"].astype("object").tolist()
    for i, g in enumerate(groups):
        if g not in GROUPS:
            raise SchemaError(
                f"villages_assessed: group {g!r} is not one of {', '.join(GROUPS)}",
                row=i + 1,
                column="group",
            )
    population = [_int(x) for x in villages_assessed["population"].tolist()]
    by_group = {g: groups.count(g) for g in GROUPS}
    pop_by_group = {
        g: sum(p for p, gg in zip(population, groups, strict=True) if gg == g) for g in GROUPS
    }

    n_sites: int | None = None
    by_kind: dict[str, int] = {}
    by_operator: dict[str, int] = {}
    capex: int | None = None
    if sites is not None:
        _require(sites, ("site_id",), "sites")
        n_sites = len(sites)
        kinds = (
            [str(k) if not _missing(k) else "not given" for k in sites["kind"].tolist()]
            if "kind" in sites.columns
            else ["not given"] * n_sites
        )
        by_kind = {k: kinds.count(k) for k in sorted(set(kinds), key=_kind_order)}
        if "operator" in sites.columns:
            ops = [str(o) for o in sites["operator"].tolist()]
            by_operator = {o: ops.count(o) for o in sorted(set(ops), key=_operator_order)}
        if "capex_vnd" in sites.columns:
            capex = sum(_int(x) for x in sites["capex_vnd"].tolist())

    outcomes: list[GroupOutcome] | None = None
    sites_late: int | None = None
    last_finish: dt.date | None = None
    last_on_air: dt.date | None = None
    if site_schedule is not None:
        rows = _schedule_rows(site_schedule, dls)
        outcomes = []
        keys = sorted(
            {(r.group, r.deadline) for r in rows},
            key=lambda k: (_group_order(k[0]), k[0], k[1] or dt.date.max),
        )
        for group, deadline in keys:
            part = [r for r in rows if r.group == group and r.deadline == deadline]
            finishes = [r.finish for r in part if r.finish is not None]
            on_airs = [r.on_air for r in part if r.on_air is not None]
            late = sum(1 for r in part if r.late_days > 0)
            target = targets.get(group)
            outcomes.append(
                GroupOutcome(
                    group=group,
                    deadline=deadline,
                    sites=len(part),
                    on_time=len(part) - late,
                    late=late,
                    total_late_days=sum(max(r.late_days, 0) for r in part),
                    last_finish=max(finishes) if finishes else None,
                    target=target,
                    on_air_by_target=(
                        sum(1 for d in on_airs if d <= target) if target is not None else None
                    ),
                    last_on_air=max(on_airs) if on_airs else None,
                )
            )
        sites_late = sum(1 for r in rows if r.late_days > 0)
        all_finish = [r.finish for r in rows if r.finish is not None]
        all_on_air = [r.on_air for r in rows if r.on_air is not None]
        last_finish = max(all_finish) if all_finish else None
        last_on_air = max(all_on_air) if all_on_air else None
    return ReportFacts(
        villages=len(groups),
        by_group=by_group,
        population=sum(population),
        population_by_group=pop_by_group,
        sites=n_sites,
        sites_by_kind=by_kind,
        sites_by_operator=by_operator,
        capex_vnd=capex,
        outcomes=outcomes,
        sites_late=sites_late,
        last_finish=last_finish,
        last_on_air=last_on_air,
    )


def _kind_order(kind: str) -> tuple[int, str]:
    known = ("new", "upgrade")
    return (known.index(kind) if kind in known else len(known), kind)


def _operator_order(op: str) -> tuple[int, str]:
    known = ("Viettel", "VNPT", "MobiFone", "Vietnamobile")
    return (known.index(op) if op in known else len(known), op)


# --------------------------------------------------------------------------- SVG helpers


def _n(x: float) -> str:
    """A coordinate with at most 2 decimals, no trailing zeros (compact, deterministic)."""
    text = f"{x:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _text(x: float, y: float, text: str, *, cls: str = "", anchor: str = "start") -> str:
    c = f' class="{cls}"' if cls else ""
    a = f' text-anchor="{anchor}"' if anchor != "start" else ""
    return f'<text x="{_n(x)}" y="{_n(y)}"{c}{a}>{_e(text)}</text>'


def _line(x1: float, y1: float, x2: float, y2: float, *, cls: str) -> str:
    return f'<line x1="{_n(x1)}" y1="{_n(y1)}" x2="{_n(x2)}" y2="{_n(y2)}" class="{cls}"/>'


@dataclass(frozen=True)
class _DateAxis:
    start: dt.date
    end: dt.date
    x0: float
    x1: float

    @property
    def px_per_day(self) -> float:
        return (self.x1 - self.x0) / max((self.end - self.start).days, 1)

    def x(self, d: dt.date) -> float:
        return self.x0 + (d - self.start).days * self.px_per_day

    def months(self) -> list[dt.date]:
        d = dt.date(self.start.year, self.start.month, 1)
        out = []
        while d <= self.end:
            if d >= self.start:
                out.append(d)
            d = dt.date(d.year + (d.month == 12), d.month % 12 + 1, 1)
        return out

    def mondays(self) -> list[dt.date]:
        d = self.start + dt.timedelta(days=(7 - self.start.weekday()) % 7)
        out = []
        while d <= self.end:
            out.append(d)
            d += dt.timedelta(days=7)
        return out


def _date_grid(axis: _DateAxis, top: float, bottom: float, *, label_y: float) -> list[str]:
    parts: list[str] = []
    if axis.px_per_day * 7 >= 10:
        parts += [_line(axis.x(d), top, axis.x(d), bottom, cls="grid-week") for d in axis.mondays()]
    for d in axis.months():
        parts.append(_line(axis.x(d), top, axis.x(d), bottom, cls="grid-month"))
        if axis.x(d) + 56 <= axis.x1:  # room for the label
            parts.append(_text(axis.x(d) + 3, label_y, f"{d.strftime('%b')} {d.year}", cls="axis"))
    return parts


@dataclass(frozen=True)
class _Mark:
    day: dt.date
    label: str
    kind: str  # "deadline" or "target"


def _marks(
    outcomes: Sequence[GroupOutcome] | None, groups: Iterable[str] | None = None
) -> list[_Mark]:
    """Deadline and on-air target lines of the groups in the schedule."""
    if not outcomes:
        return []
    wanted = set(groups) if groups is not None else None
    marks: dict[tuple[dt.date, str], _Mark] = {}
    for o in outcomes:
        if wanted is not None and o.group not in wanted:
            continue
        short = "with power" if o.group == "low_signal_powered" else _group_label(o.group)
        if o.group == "low_signal_unpowered":
            short = "without power"
        if o.deadline is not None:
            marks.setdefault(
                (o.deadline, "deadline"),
                _Mark(o.deadline, f"deadline {_short_day(o.deadline)} ({short})", "deadline"),
            )
        if o.target is not None:
            marks.setdefault(
                (o.target, "target"),
                _Mark(o.target, f"on-air target {_short_day(o.target)} ({short})", "target"),
            )
    return sorted(marks.values(), key=lambda m: (m.day, m.kind))


def _mark_lines(axis: _DateAxis, marks: Sequence[_Mark], top: float, bottom: float) -> list[str]:
    parts: list[str] = []
    for k, m in enumerate(marks):
        x = axis.x(m.day) + axis.px_per_day  # the end of the (inclusive) day
        cls = "deadline" if m.kind == "deadline" else "target"
        parts.append(_line(x, top, x, bottom, cls=cls))
        y = top - 4 - 11 * (k % 3)
        if x > axis.x1 - 6.5 * len(m.label):  # no room on the right: label to the left
            parts.append(_text(x - 2, y, m.label, cls=f"mark-label {cls}-label", anchor="end"))
        else:
            parts.append(_text(x + 2, y, m.label, cls=f"mark-label {cls}-label"))
    return parts


def _svg(width: float, height: float, body: Sequence[str], *, cls: str, label: str) -> str:
    return (
        f'<svg class="{cls}" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_n(width)} '
        f'{_n(height)}" width="{_n(width)}" height="{_n(height)}" role="img" '
        f'aria-label="{_e(label)}">' + "".join(body) + "</svg>"
    )


# --------------------------------------------------------------------------- figures


def _gaps_by_province_svg(summary: pd.DataFrame) -> tuple[str, int]:
    """Stacked horizontal bars: gap villages with / without power per province (provinces
    with gaps, most first). Returns the SVG and the number of provinces without gaps."""
    rows = []
    for r in summary.to_dict("records"):
        powered, unpowered = _int(r["low_signal_powered"]), _int(r["low_signal_unpowered"])
        rows.append(
            (_code(r["province_code"], 2), str(r.get("province") or ""), powered, unpowered)
        )
    with_gaps = [r for r in rows if r[2] + r[3] > 0]
    with_gaps.sort(key=lambda r: (-(r[2] + r[3]), r[0]))
    if not with_gaps:
        return "", len(rows)
    label_w, width, row_h, top = 170.0, 900.0, 18.0, 30.0
    bar_w = width - label_w - 70
    most = max(r[2] + r[3] for r in with_gaps)
    height = top + row_h * len(with_gaps) + 10
    body = [
        f'<rect x="{_n(label_w)}" y="6" width="12" height="12" '
        f'fill="{GROUP_COLOURS["low_signal_powered"]}"/>',
        _text(label_w + 16, 16, "low signal, with power", cls="legend"),
        f'<rect x="{_n(label_w + 180)}" y="6" width="12" height="12" '
        f'fill="{GROUP_COLOURS["low_signal_unpowered"]}"/>',
        _text(label_w + 196, 16, "low signal, without power", cls="legend"),
    ]
    for k, (code, name, powered, unpowered) in enumerate(with_gaps):
        y = top + k * row_h
        w1 = bar_w * powered / most
        w2 = bar_w * unpowered / most
        label = f"{name} ({code})" if name else code
        shown = label if len(label) <= 28 else label[:27] + "…"  # full label in the title
        body.append(
            f'<g class="bar" data-province="{_e(code)}" data-powered="{powered}" '
            f'data-unpowered="{unpowered}">'
            f"<title>{_e(label)}: {powered} with power, {unpowered} without</title>"
            + _text(label_w - 6, y + 12.5, shown, cls="bar-label", anchor="end")
            + f'<rect x="{_n(label_w)}" y="{_n(y + 2)}" width="{_n(w1)}" '
            f'height="{_n(row_h - 4)}" fill="{GROUP_COLOURS["low_signal_powered"]}"/>'
            f'<rect x="{_n(label_w + w1)}" y="{_n(y + 2)}" width="{_n(w2)}" '
            f'height="{_n(row_h - 4)}" fill="{GROUP_COLOURS["low_signal_unpowered"]}"/>'
            + _text(
                label_w + w1 + w2 + 5,
                y + 12.5,
                f"{powered} + {unpowered}" if unpowered else str(powered),
                cls="bar-value",
            )
            + "</g>"
        )
    svg = _svg(width, height, body, cls="chart", label="Gap villages by province")
    return svg, len(rows) - len(with_gaps)


def _on_air_svg(rows: Sequence[_SiteRow], outcomes: Sequence[GroupOutcome]) -> str:
    """Cumulative sites on air per group and in total, against deadlines and targets."""
    dated = [r for r in rows if r.on_air is not None]
    if not dated:
        return ""
    marks = _marks(outcomes)
    days = [d for r in rows for d in (r.on_air, r.finish) if d is not None]
    days += [m.day for m in marks]
    start = min(days) - dt.timedelta(days=3)
    end = max(days) + dt.timedelta(days=4)
    width, height = 960.0, 340.0
    left, right, top, bottom = 56.0, 230.0, 44.0, 30.0
    axis = _DateAxis(start, end, left, width - right)
    step = _nice_step(max(len(rows), 1) / 5)
    y_top = math.ceil(max(len(rows), 1) / step) * step

    def y(v: float) -> float:
        return height - bottom - (height - bottom - top) * v / y_top

    body = _date_grid(axis, top, height - bottom, label_y=height - bottom + 16)
    v = 0.0
    while v <= y_top + 1e-9:
        body.append(_line(left, y(v), width - right, y(v), cls="grid-y"))
        body.append(_text(left - 6, y(v) + 4, _fmt_int(round(v)), cls="axis", anchor="end"))
        v += step
    body += _mark_lines(axis, marks, top, height - bottom)
    groups = sorted({r.group for r in rows}, key=lambda g: (_group_order(g), g))
    series: list[tuple[str, list[_SiteRow]]] = [
        (g, [r for r in rows if r.group == g]) for g in groups
    ]
    if len(series) > 1:
        series.append(("all", list(rows)))
    legend_y = top
    for name, part in series:
        on_air = sorted(r.on_air for r in part if r.on_air is not None)
        points = [(axis.x(start), y(0))]
        count = 0
        for d, same in sorted(Counter(on_air).items()):
            x = axis.x(d) + axis.px_per_day  # on air during that day: counted at its end
            points.append((x, y(count)))
            count += same
            points.append((x, y(count)))
        points.append((axis.x(end), y(count)))
        colour = GROUP_COLOURS.get(name, "#444444")
        label = "all sites" if name == "all" else _group_label(name)
        path = " ".join(f"{_n(px)},{_n(py)}" for px, py in points)
        dash = ' stroke-dasharray="5 3"' if name == "all" else ""
        body.append(
            f'<polyline class="curve" data-series="{_e(name)}" data-final="{count}" '
            f'points="{path}" stroke="{colour}"{dash}/>'
        )
        lx = width - right + 10
        body.append(
            f'<line x1="{_n(lx)}" y1="{_n(legend_y)}" x2="{_n(lx + 18)}" y2="{_n(legend_y)}" '
            f'class="legend-line" stroke="{colour}"{dash}/>'
        )
        body.append(_text(lx + 22, legend_y + 4, f"{label}: {count}", cls="legend"))
        legend_y += 16
    return _svg(width, height, body, cls="chart", label="Sites on air over time")


def _nice_step(raw: float) -> float:
    if raw <= 1:
        return 1.0
    power = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 5, 10):
        if raw <= m * power:
            return float(m * power)
    return float(10 * power)


def _gantt_svg(
    schedule: Sequence[_SiteRow], tasks: pd.DataFrame, outcomes: Sequence[GroupOutcome]
) -> tuple[str, list[str]]:
    """One row per site (grouped by group, ordered by deadline, finish, site), one bar
    per task coloured by task, the on-air day as a tick, deadlines and targets as lines.
    Returns the SVG and the tasks shown (legend)."""
    _require(tasks, ("site_id", "task", "start_date", "finish_date"), "tasks")
    t = pd.DataFrame(
        {
            "site_id": [str(x) for x in tasks["site_id"].tolist()],
            "task": [str(x) for x in tasks["task"].tolist()],
            "crew": (
                [("" if _missing(x) else str(x)) for x in tasks["crew_id"].tolist()]
                if "crew_id" in tasks.columns
                else [""] * len(tasks)
            ),
            "start": [_day(x) for x in tasks["start_date"].tolist()],
            "finish": [_day(x) for x in tasks["finish_date"].tolist()],
        }
    )
    by_site: dict[str, list[tuple[dt.date, dt.date, str, str]]] = {}
    for site, task, crew, start_day, finish_day in zip(
        t["site_id"], t["task"], t["crew"], t["start"], t["finish"], strict=True
    ):
        if start_day is not None and finish_day is not None:
            by_site.setdefault(site, []).append((start_day, finish_day, task, crew))
    rows = list(schedule)
    known = {r.site_id for r in rows}
    for site in sorted(s for s in by_site if s not in known):  # tasks of unscheduled sites
        rows.append(_SiteRow(site, "", "", None, None, None, 0))
    rows.sort(
        key=lambda r: (
            _group_order(r.group),
            r.group,
            r.deadline or dt.date.max,
            r.finish or dt.date.max,
            r.site_id,
        )
    )
    if not rows:
        return "", []
    marks = _marks(outcomes)
    days = [d for spans in by_site.values() for s in spans for d in s[:2]]
    days += [r.on_air for r in rows if r.on_air is not None] + [m.day for m in marks]
    if not days:
        return "", []
    start = min(days) - dt.timedelta(days=1)
    end = max(days) + dt.timedelta(days=3)
    n = len(rows)
    row_h = 12.0 if n <= 80 else max(3.0, min(12.0, 960.0 / n))
    labels = row_h >= 9
    left = 96.0 if labels else 12.0
    width = 1000.0
    header_h = 18.0
    groups_present = sorted({r.group for r in rows}, key=lambda g: (_group_order(g), g))
    top = 56.0
    height = top + n * row_h + header_h * len(groups_present) + 8
    axis = _DateAxis(start, end, left, width - 12)
    body = _date_grid(axis, top, height - 4, label_y=top - 40)
    y = top
    tasks_seen: list[str] = []
    current: str | None = None
    counts = {g: sum(1 for r in rows if r.group == g) for g in groups_present}
    for row in rows:
        group, site, on_air, late_days = row.group, row.site_id, row.on_air, row.late_days
        if group != current:
            current = group
            label = (
                f"{_group_label(group)}: {counts[group]} site(s)"
                if group
                else f"no schedule row: {counts[group]} site(s)"
            )
            body.append(
                f'<rect x="0" y="{_n(y)}" width="{_n(width)}" height="{_n(header_h)}" '
                'class="gantt-header"/>' + _text(4, y + 13, label, cls="gantt-group")
            )
            y += header_h
        late = late_days > 0
        cls = "gantt-row late" if late else "gantt-row"
        parts = [f'<g class="{cls}" data-site="{_e(site)}" data-group="{_e(group)}">']
        if late:
            parts.append(
                f'<rect x="{_n(left)}" y="{_n(y)}" width="{_n(width - 12 - left)}" '
                f'height="{_n(row_h)}" class="late-band"/>'
            )
        if labels:
            parts.append(_text(left - 4, y + row_h - 3, site, cls="gantt-label", anchor="end"))
        bar_y, bar_h = y + row_h * 0.15, max(row_h * 0.7, 2.0)
        for s, f, task, crew in sorted(by_site.get(site, []), key=lambda x: (x[0], x[1], x[2])):
            if task not in tasks_seen:
                tasks_seen.append(task)
            x = axis.x(s)
            w = max(((f - s).days + 1) * axis.px_per_day, 1.0)
            colour = TASK_COLOURS.get(task, _OTHER_TASK_COLOUR)
            tip = f"{site} · {task} · {s.isoformat()} → {f.isoformat()}"
            if crew:
                tip += f" · crew {crew}"
            parts.append(
                f'<rect x="{_n(x)}" y="{_n(bar_y)}" width="{_n(w)}" height="{_n(bar_h)}" '
                f'fill="{colour}"><title>{_e(tip)}</title></rect>'
            )
        if on_air is not None:
            x = axis.x(on_air)
            tip = f"{site} on air {on_air.isoformat()}"
            if late:
                tip += f" · {late_days} day(s) late"
            parts.append(
                f'<rect x="{_n(x)}" y="{_n(y)}" width="{_n(max(axis.px_per_day, 1.5))}" '
                f'height="{_n(row_h)}" class="on-air"><title>{_e(tip)}</title></rect>'
            )
        parts.append("</g>")
        body.append("".join(parts))
        y += row_h
    body += _mark_lines(axis, marks, top, height - 4)
    order = [t for t in TASK_COLOURS if t in tasks_seen] + sorted(
        t for t in tasks_seen if t not in TASK_COLOURS
    )
    svg = _svg(width, height, body, cls="gantt", label=f"Gantt chart of {n} sites")
    return svg, order


# --------------------------------------------------------------------------- page parts


def _card(key: str, value: object, shown: str, label: str, note: str = "") -> str:
    extra = f'<div class="note">{_e(note)}</div>' if note else ""
    return (
        f'<div class="card" data-key="{_e(key)}" data-value="{_e(value)}">'
        f'<div class="num">{_e(shown)}</div><div class="lbl">{_e(label)}</div>{extra}</div>'
    )


def _headline_html(facts: ReportFacts, extra: Mapping[str, object] | None) -> str:
    cards = [
        _card("villages_assessed", facts.villages, _fmt_int(facts.villages), "villages assessed"),
        _card(
            "low_signal_powered",
            facts.by_group["low_signal_powered"],
            _fmt_int(facts.by_group["low_signal_powered"]),
            "low signal, with electricity",
            f"population {_fmt_int(facts.population_by_group['low_signal_powered'])}",
        ),
        _card(
            "low_signal_unpowered",
            facts.by_group["low_signal_unpowered"],
            _fmt_int(facts.by_group["low_signal_unpowered"]),
            "low signal, without electricity",
            f"population {_fmt_int(facts.population_by_group['low_signal_unpowered'])}",
        ),
        _card("covered", facts.by_group["covered"], _fmt_int(facts.by_group["covered"]), "covered"),
        _card(
            "population_assessed",
            facts.population,
            _fmt_int(facts.population),
            "population of the villages assessed",
        ),
        _card(
            "population_low_signal",
            sum(facts.population_by_group[g] for g in _GAP_GROUPS),
            _fmt_int(sum(facts.population_by_group[g] for g in _GAP_GROUPS)),
            "population with low signal",
        ),
    ]
    if facts.sites is not None:
        kinds = ", ".join(f"{k} {_fmt_int(n)}" for k, n in facts.sites_by_kind.items())
        cards.append(
            _card("sites_planned", facts.sites, _fmt_int(facts.sites), "sites planned", kinds)
        )
        for kind, n in facts.sites_by_kind.items():
            cards.append(_card(f"sites_{kind}", n, _fmt_int(n), f"sites: {kind}"))
        if facts.capex_vnd is not None:
            cards.append(
                _card(
                    "capex_vnd",
                    facts.capex_vnd,
                    _fmt_vnd(facts.capex_vnd),
                    "capex, VND",
                    f"{_fmt_int(facts.capex_vnd)} VND",
                )
            )
    if facts.outcomes is not None:
        assert facts.sites_late is not None
        cards.append(
            _card(
                "sites_late",
                facts.sites_late,
                _fmt_int(facts.sites_late),
                "sites finishing after their deadline",
            )
        )
        cards.append(
            _card(
                "last_finish_date",
                _fmt_day(facts.last_finish),
                _fmt_day(facts.last_finish),
                "last build finishes",
            )
        )
        for o in facts.outcomes:
            if o.target is None or o.on_air_by_target is None:
                continue
            cards.append(
                _card(
                    f"on_air_by_target_{o.group}",
                    o.on_air_by_target,
                    f"{_fmt_int(o.on_air_by_target)} / {_fmt_int(o.sites)}",
                    f"{_group_label(o.group)}: on air by {o.target.isoformat()}",
                    f"last on air {_fmt_day(o.last_on_air)}",
                )
            )
    parts = ['<div class="cards">', *cards, "</div>"]
    if facts.sites is None:
        parts.append('<p class="missing">No sites table: the sites stage was not run.</p>')
    if facts.outcomes is None:
        parts.append(_NO_SCHEDULE)
    if extra:
        parts.append('<dl class="run">')
        for key, value in extra.items():
            parts.append(f"<dt>{_e(key)}</dt><dd>{_e(value)}</dd>")
        parts.append("</dl>")
    return "".join(parts)


_NO_SCHEDULE = (
    '<p class="missing" id="no-schedule">No schedule: the schedule stage was not run, so '
    "there is no schedule outcome, on-air curve or Gantt chart.</p>"
)


def _outcome_table(outcomes: Sequence[GroupOutcome]) -> str:
    head = (
        "<thead><tr><th>Group</th><th>Deadline (inclusive)</th><th>Sites</th>"
        "<th>On time</th><th>Late</th><th>Days late (total)</th><th>Last finish</th>"
        "<th>On-air target</th><th>On air by target</th><th>Last on air</th></tr></thead>"
    )
    rows = []
    for o in outcomes:
        verdict = "ok" if o.late == 0 else "bad"
        by_target = (
            f"{_fmt_int(o.on_air_by_target)} of {_fmt_int(o.sites)}"
            if o.on_air_by_target is not None
            else "—"
        )
        rows.append(
            f'<tr data-group="{_e(o.group)}" class="{verdict}">'
            f"<td>{_e(_group_label(o.group))}</td><td>{_fmt_day(o.deadline)}</td>"
            f'<td class="n" data-key="sites">{_fmt_int(o.sites)}</td>'
            f'<td class="n" data-key="on_time">{_fmt_int(o.on_time)}</td>'
            f'<td class="n" data-key="late">{_fmt_int(o.late)}</td>'
            f'<td class="n">{_fmt_int(o.total_late_days)}</td>'
            f'<td data-key="last_finish">{_fmt_day(o.last_finish)}</td>'
            f"<td>{_fmt_day(o.target)}</td>"
            f'<td class="n" data-key="on_air_by_target">{_e(by_target)}</td>'
            f'<td data-key="last_on_air">{_fmt_day(o.last_on_air)}</td></tr>'
        )
    return f'<table class="outcome">{head}<tbody>{"".join(rows)}</tbody></table>'


def _td(value: object, *, number: bool = False, key: str = "") -> str:
    """One escaped table cell (``number``: right-aligned; ``key``: a ``data-key``)."""
    cls = ' class="n"' if number else ""
    data = f' data-key="{_e(key)}"' if key else ""
    return f"<td{cls}{data}>{_e(value)}</td>"


def _table(css: str, headers: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """A table of class ``css``: escaped headers, rows of :func:`_td` cells."""
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join(f"<tr>{''.join(r)}</tr>" for r in rows)
    return f'<table class="{css}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def late_explanation_problem(doc: Any) -> str | None:
    """Why ``doc`` cannot be shown as "What would meet the deadlines" (an
    ``infeasibility.json`` document read back), or ``None`` when it can."""
    if not isinstance(doc, dict):
        return "not a JSON object"
    numbers = {"extra_crews": ("units", "extra_units"), "late_sites": ("late_days",)}
    for key, fields in numbers.items():
        rows = doc.get(key, [])
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            return f'"{key}" must be a list of objects'
        for k, row in enumerate(rows):
            for field in fields:
                value = row.get(field, 0)
                if isinstance(value, bool) or not isinstance(value, int | float):
                    return f'"{key}"[{k}].{field} must be a number, not {value!r}'
        if key == "late_sites" and not all(isinstance(r.get("reasons", []), list) for r in rows):
            return '"late_sites" reasons must be lists'
    for key in ("summary", "headline"):
        if not isinstance(doc.get(key, ""), str):
            return f'"{key}" must be a string, not {doc[key]!r}'
    return None


def _explanation_html(doc: Mapping[str, Any]) -> str:
    """ "What would meet the deadlines": the scheduler's ``infeasibility.json`` document
    (summary, the extra crew units per operator × region × kind, the late sites with
    their reasons), escaped."""
    crews = list(doc.get("extra_crews") or [])
    # The table lists the units per pool: the lead says the rest (files written before
    # "headline" existed show the whole summary).
    lead = doc.get("headline") if crews and doc.get("headline") else doc.get("summary", "")
    parts = [
        '<div id="late-explanation"><h3>What would meet the deadlines</h3>',
        f'<p data-key="status" data-status="{_e(doc.get("status", ""))}">{_e(lead)}</p>',
    ]
    if crews:
        headers = ["Operator", "Region", "Crew kind", "Crew", "Units now", "Extra units"]
        rows = [
            [
                *(_td(c.get(k, "")) for k in ("operator", "region", "kind", "crew_id")),
                _td(_fmt_int(_int(c.get("units", 0))), number=True),
                _td(f"+{_fmt_int(_int(c.get('extra_units', 0)))}", number=True, key="extra_units"),
            ]
            for c in crews
        ]
        if doc.get("status") == "NOT_FOUND":  # the lead names the parts no count fixed
            parts.append(
                '<p class="note">In the other parts, these extra units put every site on time:</p>'
            )
        parts.append(_table("extra-crews", headers, rows))
    late = list(doc.get("late_sites") or [])
    if late:
        headers = ["Site", "Operator", "Region", "Group", "Deadline", "Finish", "Days late", "Why"]
        rows = [
            [
                *(_td(r.get(k, "")) for k in ("site_id", "operator", "region")),
                _td(_group_label(str(r.get("group", "")))),
                *(_td(r.get(k, "")) for k in ("deadline", "finish_date")),
                _td(_fmt_int(_int(r.get("late_days", 0))), number=True),
                _td("; ".join(str(x) for x in r.get("reasons") or [])),
            ]
            for r in late
        ]
        parts.append(_table("late-sites", headers, rows))
    parts.append("</div>")
    return "".join(parts)


def _province_table(
    summary: pd.DataFrame, sites: pd.DataFrame | None, schedule: Sequence[_SiteRow] | None
) -> str:
    _require(
        summary,
        (
            "province_code",
            "province",
            "villages",
            "population",
            "low_signal_powered",
            "low_signal_unpowered",
            "covered",
            "population_low_signal",
        ),
        "summary_by_province",
    )
    site_n: dict[str, int] = {}
    site_capex: dict[str, int] = {}
    site_province: dict[str, str] = {}
    if sites is not None and "province_code" in sites.columns:
        capex = sites["capex_vnd"].tolist() if "capex_vnd" in sites.columns else [0] * len(sites)
        for sid, code, c in zip(
            sites["site_id"].tolist(), sites["province_code"].tolist(), capex, strict=True
        ):
            code = _code(code, 2)
            site_n[code] = site_n.get(code, 0) + 1
            site_capex[code] = site_capex.get(code, 0) + _int(c)
            site_province[str(sid)] = code
    late_n: dict[str, int] = {}
    if schedule is not None:
        for site_row in schedule:
            if site_row.late_days > 0 and site_row.site_id in site_province:
                code = site_province[site_row.site_id]
                late_n[code] = late_n.get(code, 0) + 1
    with_sites = sites is not None and "province_code" in sites.columns
    with_late = schedule is not None and with_sites
    head = [
        "Code",
        "Province",
        "Villages",
        "Population",
        "Covered",
        "Low signal, with power",
        "Low signal, without power",
        "Share low signal",
        "Population, low signal",
    ]
    if with_sites:
        head += ["Sites planned", "Capex (bn VND)"]
    if with_late:
        head.append("Late sites")
    totals = dict.fromkeys(
        (
            "villages",
            "population",
            "covered",
            "low_signal_powered",
            "low_signal_unpowered",
            "population_low_signal",
        ),
        0,
    )
    body = []
    records = sorted(summary.to_dict("records"), key=lambda r: _code(r["province_code"], 2))
    for r in records:
        code = _code(r["province_code"], 2)
        vals = {k: _int(r[k]) for k in totals}
        for k in totals:
            totals[k] += vals[k]
        gap = vals["low_signal_powered"] + vals["low_signal_unpowered"]
        share = gap / vals["villages"] if vals["villages"] else 0.0
        cells = [
            f"<td>{_e(code)}</td>",
            f"<td>{_e(r['province'] if not _missing(r['province']) else '')}</td>",
            *(
                f'<td class="n">{_fmt_int(vals[k])}</td>'
                for k in (
                    "villages",
                    "population",
                    "covered",
                    "low_signal_powered",
                    "low_signal_unpowered",
                )
            ),
            f'<td class="n">{share:.1%}</td>',
            f'<td class="n">{_fmt_int(vals["population_low_signal"])}</td>',
        ]
        if with_sites:
            cells.append(f'<td class="n">{_fmt_int(site_n.get(code, 0))}</td>')
            cells.append(f'<td class="n">{site_capex.get(code, 0) / 1e9:,.1f}</td>')
        if with_late:
            cells.append(f'<td class="n">{_fmt_int(late_n.get(code, 0))}</td>')
        body.append(f'<tr data-province="{_e(code)}">{"".join(cells)}</tr>')
    gap = totals["low_signal_powered"] + totals["low_signal_unpowered"]
    share = gap / totals["villages"] if totals["villages"] else 0.0
    foot = [
        '<td colspan="2">All provinces</td>',
        *(
            f'<td class="n">{_fmt_int(totals[k])}</td>'
            for k in (
                "villages",
                "population",
                "covered",
                "low_signal_powered",
                "low_signal_unpowered",
            )
        ),
        f'<td class="n">{share:.1%}</td>',
        f'<td class="n">{_fmt_int(totals["population_low_signal"])}</td>',
    ]
    if with_sites:
        foot.append(f'<td class="n">{_fmt_int(sum(site_n.values()))}</td>')
        foot.append(f'<td class="n">{sum(site_capex.values()) / 1e9:,.1f}</td>')
    if with_late:
        foot.append(f'<td class="n">{_fmt_int(sum(late_n.values()))}</td>')
    thead = "".join(f"<th>{_e(h)}</th>" for h in head)
    return (
        f'<table class="data provinces"><thead><tr>{thead}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody><tfoot><tr>{''.join(foot)}</tr></tfoot></table>"
    )


def _commune_table(summary: pd.DataFrame) -> tuple[str, int]:
    _require(
        summary,
        (
            "province_code",
            "province",
            "commune_code",
            "commune",
            "villages",
            "low_signal_powered",
            "low_signal_unpowered",
            "population_low_signal",
        ),
        "summary_by_commune",
    )
    records = []
    for r in summary.to_dict("records"):
        powered, unpowered = _int(r["low_signal_powered"]), _int(r["low_signal_unpowered"])
        if powered + unpowered == 0:
            continue
        records.append(
            (
                _code(r["province_code"], 2),
                "" if _missing(r["province"]) else str(r["province"]),
                _code(r["commune_code"], 5),
                "" if _missing(r["commune"]) else str(r["commune"]),
                _int(r["villages"]),
                powered,
                unpowered,
                _int(r["population_low_signal"]),
            )
        )
    records.sort(key=lambda r: (r[0], r[2], r[3]))
    head = (
        "<thead><tr><th>Province</th><th>Commune code</th><th>Commune</th><th>Villages</th>"
        "<th>Low signal, with power</th><th>Low signal, without power</th>"
        "<th>Share low signal</th><th>Population, low signal</th></tr></thead>"
    )
    body = []
    for code, province, ccode, commune, villages, powered, unpowered, pop in records:
        share = (powered + unpowered) / villages if villages else 0.0
        body.append(
            f'<tr data-commune="{_e(ccode)}"><td>{_e(province)} ({_e(code)})</td>'
            f"<td>{_e(ccode) or '—'}</td><td>{_e(commune) or '(no commune)'}</td>"
            f'<td class="n">{_fmt_int(villages)}</td><td class="n">{_fmt_int(powered)}</td>'
            f'<td class="n">{_fmt_int(unpowered)}</td><td class="n">{share:.1%}</td>'
            f'<td class="n">{_fmt_int(pop)}</td></tr>'
        )
    return (
        f'<table class="data communes">{head}<tbody>{"".join(body)}</tbody></table>',
        len(records),
    )


def _sites_tables(facts: ReportFacts) -> str:
    if facts.sites is None:
        return ""
    rows = "".join(
        f'<tr><td>{_e(k)}</td><td class="n">{_fmt_int(n)}</td></tr>'
        for k, n in facts.sites_by_kind.items()
    )
    ops = "".join(
        f'<tr><td>{_e(k)}</td><td class="n">{_fmt_int(n)}</td></tr>'
        for k, n in facts.sites_by_operator.items()
    )
    return (
        '<div class="pair"><table class="data small"><thead><tr><th>Kind</th><th>Sites</th>'
        f'</tr></thead><tbody>{rows}</tbody></table><table class="data small"><thead><tr>'
        f"<th>Operator</th><th>Sites</th></tr></thead><tbody>{ops}</tbody></table></div>"
    )


_CSS = """
:root { --ink: #1a1a1a; --muted: #555; --rule: #cfcfcf; --bad: #B8330A; --ok: #1b7f3b; }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 1060px; padding: 16px 20px 40px; color: var(--ink);
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", sans-serif; }
h1 { font-size: 24px; margin: 8px 0 2px; }
h2 { font-size: 18px; margin: 28px 0 8px; border-bottom: 2px solid var(--ink);
  padding-bottom: 2px; }
h3 { font-size: 15px; margin: 18px 0 6px; }
.sub { color: var(--muted); margin: 0 0 10px; }
nav { display: flex; flex-wrap: wrap; gap: 4px 14px; font-size: 13px; margin-bottom: 8px; }
nav a { color: #0b5394; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(180px, 1fr)); gap: 8px; }
.card { border: 1px solid var(--rule); border-radius: 6px; padding: 8px 10px; background: #fafafa; }
.card .num { font-size: 22px; font-weight: 700; font-variant-numeric: tabular-nums; }
.card .lbl { color: var(--ink); font-size: 13px; }
.card .note { color: var(--muted); font-size: 12px; }
.card[data-key="sites_late"] .num { color: var(--ok); }
.card[data-key="sites_late"]:not([data-value="0"]) .num { color: var(--bad); }
.missing { background: #fff5e0; border: 1px solid #d9a400; border-radius: 4px; padding: 6px 10px; }
dl.run { display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; margin: 10px 0; }
dl.run dt { font-weight: 600; }
dl.run dd { margin: 0; }
table { border-collapse: collapse; font-size: 13px; margin: 6px 0; }
th, td { border-bottom: 1px solid var(--rule); padding: 3px 8px; text-align: left;
  vertical-align: top; }
thead th { border-bottom: 2px solid var(--ink); background: #f3f3f3; }
tfoot td { border-top: 2px solid var(--ink); font-weight: 600; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
table.data { width: 100%; }
table.small { width: auto; }
.pair { display: flex; gap: 24px; flex-wrap: wrap; align-items: flex-start; }
tr.bad td:nth-child(5) { color: var(--bad); font-weight: 700; }
tr.ok td:nth-child(5) { color: var(--ok); }
figure { margin: 8px 0 16px; }
figcaption { color: var(--muted); font-size: 12px; margin-top: 4px; }
svg { max-width: 100%; height: auto; font: 11px system-ui, sans-serif; }
svg .axis { fill: #444; font-size: 11px; }
svg .grid-month { stroke: #b5b5b5; stroke-width: 1; }
svg .grid-week { stroke: #ececec; stroke-width: 1; }
svg .grid-y { stroke: #e6e6e6; stroke-width: 1; }
svg .deadline { stroke: #B8330A; stroke-width: 1.6; }
svg .target { stroke: #0072B2; stroke-width: 1.6; stroke-dasharray: 6 3; }
svg .mark-label { font-size: 11px; font-weight: 600; }
svg .deadline-label { fill: #B8330A; }
svg .target-label { fill: #0072B2; }
svg .curve { fill: none; stroke-width: 2.2; }
svg .legend-line { stroke-width: 2.2; }
svg .legend { font-size: 12px; fill: #222; }
svg .bar-label { font-size: 12px; fill: #222; }
svg .bar-value { font-size: 11px; fill: #444; }
svg .gantt-header { fill: #f1f1f1; }
svg .gantt-group { font-size: 12px; font-weight: 700; fill: #222; }
svg .gantt-label { font-size: 9px; fill: #333; }
svg .late-band { fill: #fbe1d6; }
svg .on-air { fill: #111; }
.task-legend { display: flex; flex-wrap: wrap; gap: 4px 14px; font-size: 12px; margin: 4px 0; }
.task-legend span::before { content: ""; display: inline-block; width: 12px; height: 10px;
  margin-right: 4px; vertical-align: -1px; background: var(--c); border: 1px solid #0003; }
footer { margin-top: 30px; color: var(--muted); font-size: 12px;
  border-top: 1px solid var(--rule); }
@page { size: A4; margin: 12mm; }
@media print {
  body { max-width: none; padding: 0; font-size: 10pt; }
  nav { display: none; }
  h2 { break-after: avoid; page-break-after: avoid; }
  figure, .cards, table.outcome, .pair { break-inside: avoid; page-break-inside: avoid; }
  thead { display: table-header-group; }
  tr { break-inside: avoid; page-break-inside: avoid; }
  .card { background: none; }
  a { color: inherit; text-decoration: none; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  section.gantt-section { break-before: page; page-break-before: always; }
}
"""


def render_report_html(
    villages_assessed: pd.DataFrame,
    sites: pd.DataFrame | None,
    site_schedule: pd.DataFrame | None,
    tasks: pd.DataFrame | None,
    *,
    summary_by_province: pd.DataFrame,
    summary_by_commune: pd.DataFrame,
    headline: Mapping[str, object] | None = None,
    title: str,
    on_air_targets: Mapping[str, dt.date] | None = None,
    deadlines: Mapping[str, dt.date] | None = None,
    late_explanation: Mapping[str, Any] | None = None,
) -> str:
    """The report page as text (see :func:`build_report`, which writes it)."""
    facts = report_facts(
        villages_assessed,
        sites,
        site_schedule,
        on_air_targets=on_air_targets,
        deadlines=deadlines,
    )
    frame = (
        _schedule_rows(site_schedule, dict(DEFAULT_DEADLINES if deadlines is None else deadlines))
        if site_schedule is not None
        else None
    )
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>",
        f"<header><h1>{_e(title)}</h1>",
        '<p class="sub">Mobile-coverage gaps, planned sites and their build schedule '
        f"(covgap {_e(__version__)})</p></header>",
        '<nav><a href="#headline">Headline</a><a href="#schedule">Schedule outcome</a>'
        '<a href="#figures">Figures</a><a href="#gantt">Gantt chart</a>'
        '<a href="#provinces">By province</a><a href="#communes">By commune</a>'
        '<a href="#notes">Notes</a></nav>',
        '<section id="headline"><h2>Headline</h2>',
        _headline_html(facts, headline),
        _sites_tables(facts),
        "</section>",
        '<section id="schedule"><h2>Schedule outcome against the deadlines</h2>',
    ]
    if facts.outcomes is None:
        parts.append(_NO_SCHEDULE.replace(' id="no-schedule"', ""))
    else:
        parts.append(_outcome_table(facts.outcomes))
        if late_explanation is not None:
            parts.append(_explanation_html(late_explanation))
    parts.append("</section>")

    parts.append('<section id="figures"><h2>Figures</h2><h3>Gap villages by province</h3>')
    bars, without = _gaps_by_province_svg(summary_by_province)
    if bars:
        note = f" {without} province(s) have no gap village." if without else ""
        parts.append(
            f'<figure id="fig-gaps">{bars}<figcaption>Low-signal villages per province, '
            f"with and without electricity, most first.{_e(note)}</figcaption></figure>"
        )
    else:
        parts.append('<p class="missing">No gap villages.</p>')
    parts.append("<h3>Sites on air over time</h3>")
    if facts.outcomes is None or frame is None:
        parts.append('<p class="missing">No schedule: no on-air curve.</p>')
    else:
        curve = _on_air_svg(frame, facts.outcomes)
        parts.append(
            f'<figure id="fig-on-air">{curve}<figcaption>Cumulative planned sites on air '
            "(build complete + on-air lag) per group; solid red lines: build deadlines, "
            "dashed blue: on-air targets (each line at the end of its day).</figcaption>"
            "</figure>"
            if curve
            else '<p class="missing">No on-air dates in the schedule.</p>'
        )
    parts.append("</section>")

    parts.append('<section id="gantt" class="gantt-section"><h2>Gantt chart</h2>')
    if frame is None or facts.outcomes is None:
        parts.append('<p class="missing">No schedule: no Gantt chart.</p>')
    elif tasks is None:
        parts.append('<p class="missing">No task table (schedule.csv): no Gantt chart.</p>')
    else:
        gantt, shown = _gantt_svg(frame, tasks, facts.outcomes)
        legend = "".join(
            f'<span style="--c:{TASK_COLOURS.get(t, _OTHER_TASK_COLOUR)}">{_e(t)}</span>'
            for t in shown
        )
        legend += '<span style="--c:#111">on air</span><span style="--c:#fbe1d6">late site</span>'
        parts.append(
            f'<div class="task-legend">{legend}</div><figure id="fig-gantt">{gantt}'
            "<figcaption>One row per site, one bar per task (working days, finish "
            "inclusive); hover a bar for the site, task, dates and crew.</figcaption></figure>"
            if gantt
            else '<p class="missing">The schedule has no dated tasks.</p>'
        )
    parts.append("</section>")

    parts.append('<section id="provinces"><h2>By province</h2>')
    parts.append(_province_table(summary_by_province, sites, frame))
    parts.append("</section>")
    communes, n_communes = _commune_table(summary_by_commune)
    parts.append(
        f'<section id="communes"><h2>By commune</h2><p class="sub">{n_communes} commune(s) '
        "with gap villages (communes without gaps are left out).</p>"
    )
    parts.append(communes)
    parts.append("</section>")
    parts.append(
        '<section id="notes"><h2>Notes</h2><ul>'
        "<li>Groups: <b>covered</b> — some operator reaches the village at or above the "
        "signal threshold; <b>low signal, with power</b> — electrified, build deadline "
        "31 Aug 2025, on air by 14 Sep 2025; <b>low signal, without power</b> — EVN brings "
        "power, build deadline 30 Nov 2025. Deadlines are inclusive.</li>"
        "<li>Dates are calendar dates (ISO 8601); a site is on air its build's last "
        "working day plus the on-air lag.</li>"
        "<li>Money in Vietnamese dong (VND); bn = 10<sup>9</sup>.</li>"
        "<li>Province and commune codes are the 2025 codes (34 provinces).</li>"
        "</ul></section>"
    )
    parts.append(
        f"<footer><p>Made by covgap {_e(__version__)}. This page loads nothing and runs no "
        "script.</p></footer></body></html>\n"
    )
    return "".join(parts)


def build_report(
    villages_assessed: pd.DataFrame,
    sites: pd.DataFrame | None,
    site_schedule: pd.DataFrame | None,
    tasks: pd.DataFrame | None,
    *,
    summary_by_province: pd.DataFrame,
    summary_by_commune: pd.DataFrame,
    headline: Mapping[str, object] | None = None,
    title: str,
    out_path: Path,
    on_air_targets: Mapping[str, dt.date] | None = None,
    deadlines: Mapping[str, dt.date] | None = None,
    late_explanation: Mapping[str, Any] | None = None,
) -> Path:
    """Write the self-contained HTML report to ``out_path`` (atomically); return it.

    Inputs (GeoDataFrames or plain frames; geometry is not used):

    * ``villages_assessed``: ``group`` (covered / low_signal_powered /
      low_signal_unpowered), ``population``;
    * ``sites`` (None: the sites stage was not run): ``site_id``; ``kind``, ``operator``,
      ``capex_vnd`` (VND), ``province_code`` used when present;
    * ``site_schedule`` (None: no schedule run): ``site_id, operator, group, deadline,
      finish_date, on_air_date, late_days`` (ISO date text or dates);
    * ``tasks`` (None: no Gantt chart): ``site_id, operator, task, crew_id, start_date,
      finish_date`` (finish inclusive);
    * ``summary_by_province`` / ``summary_by_commune``: :func:`covgap.analysis.summarise`
      tables (codes as text; ``8`` read from a CSV is taken as ``"08"``);
    * ``headline``: extra facts shown under the headline, in order (e.g. scenario name,
      solver status), escaped;
    * ``on_air_targets``: per group, the on-air target (default 14 Sep 2025 for the
      powered group: pass the scenario's ``schedule.on_air_targets``); ``deadlines``: per
      group, used for schedule rows without a ``deadline``;
    * ``late_explanation``: when sites are late, the scheduler's ``infeasibility.json``
      document (:meth:`covgap.schedule.ExtraCrews.to_dict`): shown under the schedule
      outcome as "What would meet the deadlines" (the least extra crews, the late sites
      and why).
    """
    text = render_report_html(
        villages_assessed,
        sites,
        site_schedule,
        tasks,
        summary_by_province=summary_by_province,
        summary_by_commune=summary_by_commune,
        headline=headline,
        title=title,
        on_air_targets=on_air_targets,
        deadlines=deadlines,
        late_explanation=late_explanation,
    )
    return write_text_atomic(Path(out_path), text)


def render_gantt_html(
    site_schedule: pd.DataFrame,
    tasks: pd.DataFrame,
    *,
    title: str,
    on_air_targets: Mapping[str, dt.date] | None = None,
    deadlines: Mapping[str, dt.date] | None = None,
    late_explanation: Mapping[str, Any] | None = None,
) -> str:
    """A page with only the schedule: outcome per deadline (with what would meet the
    deadlines, when given) and the Gantt chart."""
    dls = dict(DEFAULT_DEADLINES if deadlines is None else deadlines)
    targets = dict(DEFAULT_ON_AIR_TARGETS if on_air_targets is None else on_air_targets)
    rows = _schedule_rows(site_schedule, dls)
    # the outcome needs no village: report_facts on an empty village table
    facts = report_facts(
        pd.DataFrame({"group": [], "population": []}),
        None,
        site_schedule,
        on_air_targets=targets,
        deadlines=dls,
    )
    assert facts.outcomes is not None
    gantt, shown = _gantt_svg(rows, tasks, facts.outcomes)
    legend = "".join(
        f'<span style="--c:{TASK_COLOURS.get(t, _OTHER_TASK_COLOUR)}">{_e(t)}</span>' for t in shown
    )
    legend += '<span style="--c:#111">on air</span><span style="--c:#fbe1d6">late site</span>'
    body = (
        f'<div class="task-legend">{legend}</div><figure id="fig-gantt">{gantt}</figure>'
        if gantt
        else '<p class="missing">The schedule has no dated tasks.</p>'
    )
    return "".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>",
            f"<header><h1>{_e(title)}</h1></header>",
            '<section id="schedule"><h2>Schedule outcome against the deadlines</h2>',
            _outcome_table(facts.outcomes),
            _explanation_html(late_explanation) if late_explanation is not None else "",
            '</section><section id="gantt"><h2>Gantt chart</h2>',
            body,
            f"</section><footer><p>Made by covgap {_e(__version__)}.</p></footer>",
            "</body></html>\n",
        ]
    )


def build_gantt(
    site_schedule: pd.DataFrame,
    tasks: pd.DataFrame,
    *,
    title: str,
    out_path: Path,
    on_air_targets: Mapping[str, dt.date] | None = None,
    deadlines: Mapping[str, dt.date] | None = None,
    late_explanation: Mapping[str, Any] | None = None,
) -> Path:
    """Write the schedule's own page (``gantt.html``: outcome table and Gantt chart, the
    same drawing as the report's) to ``out_path`` atomically; return it. Inputs as in
    :func:`build_report`."""
    text = render_gantt_html(
        site_schedule,
        tasks,
        title=title,
        on_air_targets=on_air_targets,
        deadlines=deadlines,
        late_explanation=late_explanation,
    )
    return write_text_atomic(Path(out_path), text)
