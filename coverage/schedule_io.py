"""Files around the scheduler (DESIGN §3, §6): the stand-alone ``problem.json`` (read,
written, checked against ``schemas/problem.schema.json``), the ``progress.csv`` of a
re-plan, a previous ``schedule.csv``, ``infeasibility.json``, and the per-crew-unit
utilisation table.

``problem.json`` is self-contained: planning start, deadlines per group, calendar
(weekly days off, holidays, horizon, ticks per day, rain windows with factors), travel
settings, task templates, sites (id, lon/lat EPSG:4326, operator, region, group,
electrified, kind, power, power date, deadline, backhaul, per-task durations or a
duration factor) and crews (id, kind, operator, region, home base lon/lat, count).
``read_problem`` gives back ``(sites, settings)`` for :func:`covgap.schedule.plan_builds`;
``write_problem`` writes the same document for any ``(sites, settings)``, so every
schedule can be re-run and shared.

``progress.csv`` (one row per task already begun): ``site_id, task, status, start_date,
finish_date, crew_id`` — status ``done`` (finish_date required) or ``started``
(finish_date empty); crew_id optional (the unit, ``<crew_id>/<k>``). Dates ISO
``YYYY-MM-DD``. Rows are numbered from 1 over data records (the header is not a row).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import json
import math
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .atomic import write_text_atomic
from .calendar import RainWindow, WorkCalendar
from .errors import CovgapError, InputFileError, SchemaError
from .schedule import (
    PROGRESS_STATUSES,
    TASK_ORDER,
    Crew,
    ExtraCrews,
    ScheduleResult,
    ScheduleSettings,
    TaskTemplate,
    build_problem,
)
from .schedule.problem import _blocks, _components
from .schedule.travel import _Travel

__all__ = [
    "PROBLEM_FORMAT",
    "PROBLEM_VERSION",
    "PROGRESS_COLUMNS",
    "UTILISATION_COLUMNS",
    "crew_utilisation",
    "problem_document",
    "problem_schema",
    "read_previous_schedule",
    "read_problem",
    "read_progress",
    "write_infeasibility",
    "write_problem",
]

PROBLEM_FORMAT = "covgap-schedule-problem"
PROBLEM_VERSION = 1
PROGRESS_COLUMNS: tuple[str, ...] = (
    "site_id",
    "task",
    "status",
    "start_date",
    "finish_date",
    "crew_id",
)
UTILISATION_COLUMNS: tuple[str, ...] = (
    "crew_id",
    "crew",
    "operator",
    "region",
    "kind",
    "tasks",
    "visits",
    "busy_working_days",
    "travel_hours",
    "first_start",
    "last_finish",
    "span_working_days",
    "utilisation",
)


@cache
def problem_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of ``problem.json``, shipped in the package."""
    text = resources.files("covgap").joinpath("schemas/problem.schema.json").read_text("utf-8")
    return json.loads(text)  # type: ignore[no-any-return]


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return pd.Timestamp(value).date().isoformat()


def _num(value: float) -> float | None:
    return None if value is None or math.isnan(float(value)) else round(float(value), 6)


def problem_document(sites: pd.DataFrame, settings: ScheduleSettings) -> dict[str, Any]:
    """The ``problem.json`` document of ``(sites, settings)`` (default crews resolved,
    regions and deadlines written out per site)."""
    problem = build_problem(sites, settings)
    by_id = {s.site_id: s for s in problem.sites}
    cal = settings.calendar
    site_rows: list[dict[str, Any]] = []
    ids = sites["site_id"].astype(str).tolist()
    extra_cols = {n: f"duration_{n}" for n in TASK_ORDER if f"duration_{n}" in sites.columns}
    for pos in np.argsort(np.array(ids), kind="stable"):
        row = sites.iloc[int(pos)]
        s = by_id[ids[int(pos)]]
        doc: dict[str, Any] = {
            "site_id": s.site_id,
            "lon": _num(s.lon),
            "lat": _num(s.lat),
            "operator": s.operator,
            "region": s.region,
            "group": s.group,
            "kind": s.kind,
            "power": s.power,
            "power_date": None if s.power_date is None else s.power_date.isoformat(),
            "deadline": s.deadline.isoformat(),
            "n_villages": s.n_villages,
        }
        if s.backhaul:
            doc["backhaul"] = s.backhaul
        if "province_code" in sites.columns and isinstance(row["province_code"], str):
            doc["province_code"] = row["province_code"]
        if "electrified" in sites.columns and not pd.isna(row["electrified"]):
            doc["electrified"] = bool(row["electrified"])
        if "duration_factor" in sites.columns and not pd.isna(row["duration_factor"]):
            doc["duration_factor"] = float(row["duration_factor"])
        durations = {n: float(row[c]) for n, c in extra_cols.items() if not pd.isna(row[c])}
        if durations:
            doc["durations"] = durations
        site_rows.append(doc)
    return {
        "format": PROBLEM_FORMAT,
        "version": PROBLEM_VERSION,
        "planning_start": cal.start.isoformat(),
        "deadlines": {g: pd.Timestamp(d).date().isoformat() for g, d in settings.deadlines.items()},
        "on_air_lag_days": int(settings.on_air_lag_days),
        "on_air_targets": {
            g: pd.Timestamp(d).date().isoformat() for g, d in settings.on_air_targets.items()
        },
        "calendar": {
            "days_off_weekly": list(cal.days_off_weekly),
            "holidays": [h.isoformat() for h in cal.holidays],
            "horizon_days": int(cal.horizon_days),
            "ticks_per_day": int(settings.ticks_per_day),
            "work_hours_per_day": float(settings.work_hours_per_day),
            "rain_windows": [
                {
                    "region": w.region,
                    "start": w.start.isoformat(),
                    "end": w.end.isoformat(),
                    "factor": float(w.factor),
                }
                for w in settings.rain_windows
            ],
        },
        "travel": {
            "enabled": bool(settings.travel),
            "road_factor": float(settings.road_factor),
            "speed_kmh": float(settings.speed_kmh),
            "speed_kmh_by_region": {k: float(v) for k, v in settings.speed_kmh_by_region.items()},
        },
        "tasks": [
            {"name": t.name, "duration_days": float(t.duration_days), "crew_kind": t.crew_kind}
            for t in settings.tasks
        ],
        "skip_tasks_by_kind": {k: list(v) for k, v in settings.skip_tasks_by_kind.items()},
        "backhaul_duration_days": {k: float(v) for k, v in settings.backhaul_duration_days.items()},
        "duration_factor_by_province": {
            k: float(v) for k, v in settings.duration_factor_by_province.items()
        },
        "solver": {
            "max_deterministic_time": float(settings.max_deterministic_time),
            "max_wall_time_s": float(settings.max_wall_time_s),
            "seed": int(settings.seed),
            "num_workers": int(settings.num_workers),
            "interleave_search": bool(settings.interleave_search),
            "route_max_visits": int(settings.route_max_visits),
            "local_search_rate": float(settings.local_search_rate),
            "lp_bound_max_columns": int(settings.lp_bound_max_columns),
            "explain_late": bool(settings.explain_late),
            "explain_deterministic_time": float(settings.explain_deterministic_time),
            "max_extra_units_per_pool": int(settings.max_extra_units_per_pool),
        },
        "sites": site_rows,
        "crews": [
            {
                "crew_id": c.crew_id,
                "operator": c.operator,
                "region": c.region,
                "kind": c.kind,
                "count": int(c.count),
                "home_lon": _num(c.home_lon),
                "home_lat": _num(c.home_lat),
            }
            for c in problem.crews
        ],
    }


def write_problem(path: Path, sites: pd.DataFrame, settings: ScheduleSettings) -> None:
    """Write ``problem.json`` (UTF-8, 2-space indent, keys in a fixed order: byte-identical
    for the same inputs)."""
    doc = problem_document(sites, settings)
    write_text_atomic(Path(path), json.dumps(doc, indent=2, ensure_ascii=False) + "\n")


def _where(err: Any) -> tuple[int | None, str | None]:
    """(row, column) of a JSON Schema error: row = 1-based item of sites/crews/…"""
    parts = list(err.absolute_path)
    row: int | None = None
    column: str | None = None
    if len(parts) >= 2 and isinstance(parts[1], int):
        row = parts[1] + 1
        column = ".".join(str(p) for p in [parts[0], *parts[2:]])
    elif parts:
        column = ".".join(str(p) for p in parts)
    return row, column


def read_problem(path: Path) -> tuple[pd.DataFrame, ScheduleSettings]:
    """Read and check ``problem.json`` → ``(sites, settings)``.

    Raises :class:`InputFileError` for an unreadable file or bad JSON and
    :class:`SchemaError` naming the file, the item (row: 1-based index in ``sites`` or
    ``crews``) and the field for anything the schema or the scheduler refuses.
    """
    import jsonschema

    p = Path(path)
    name = str(p)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise InputFileError(f"cannot read the problem file: {exc.strerror}", file=name) from exc
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputFileError(
            f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})", file=name
        ) from exc
    validator = jsonschema.Draft202012Validator(
        problem_schema(), format_checker=jsonschema.FormatChecker()
    )
    errors = sorted(validator.iter_errors(doc), key=lambda e: [str(x) for x in e.absolute_path])
    if errors:
        err = errors[0]
        row, column = _where(err)
        more = f" (and {len(errors) - 1} more problems)" if len(errors) > 1 else ""
        raise SchemaError(f"{err.message}{more}", file=name, row=row, column=column)
    cal_doc = doc["calendar"]
    tasks = tuple(
        TaskTemplate(t["name"], float(t["duration_days"]), t.get("crew_kind")) for t in doc["tasks"]
    )
    used = {t.crew_kind for t in tasks if t.crew_kind is not None}
    crews: list[Crew] = []
    for i, c in enumerate(doc["crews"], start=1):
        if c["kind"] not in used:
            raise SchemaError(
                f"crew {c['crew_id']}: kind {c['kind']!r} is used by no task (task crew "
                f"kinds: {', '.join(sorted(used))})",
                file=name,
                row=i,
                column="crews.kind",
            )
        crews.append(
            Crew(
                c["crew_id"],
                c["operator"],
                c["region"],
                c["kind"],
                int(c["count"]),
                math.nan if c.get("home_lon") is None else float(c["home_lon"]),
                math.nan if c.get("home_lat") is None else float(c["home_lat"]),
            )
        )
    ids = [c.crew_id for c in crews]
    for i, crew_id in enumerate(ids, start=1):
        if ids.index(crew_id) != i - 1:
            raise SchemaError(
                f"duplicate crew_id {crew_id!r}", file=name, row=i, column="crews.crew_id"
            )
    travel = doc.get("travel", {})
    solver = doc.get("solver", {})
    defaults = ScheduleSettings()
    try:
        settings = ScheduleSettings(
            calendar=WorkCalendar(
                start=dt.date.fromisoformat(doc["planning_start"]),
                days_off_weekly=tuple(cal_doc.get("days_off_weekly", [6])),
                holidays=tuple(dt.date.fromisoformat(h) for h in cal_doc.get("holidays", [])),
                horizon_days=int(cal_doc.get("horizon_days", 730)),
            ),
            crews=tuple(crews),
            tasks=tasks,
            skip_tasks_by_kind={
                k: tuple(v)
                for k, v in doc.get("skip_tasks_by_kind", dict(defaults.skip_tasks_by_kind)).items()
            },
            backhaul_duration_days=dict(
                doc.get("backhaul_duration_days", defaults.backhaul_duration_days)
            ),
            duration_factor_by_province=dict(doc.get("duration_factor_by_province", {})),
            deadlines={g: dt.date.fromisoformat(d) for g, d in doc["deadlines"].items()},
            on_air_lag_days=int(doc.get("on_air_lag_days", defaults.on_air_lag_days)),
            on_air_targets={
                g: dt.date.fromisoformat(d) for g, d in doc.get("on_air_targets", {}).items()
            },
            ticks_per_day=int(cal_doc.get("ticks_per_day", defaults.ticks_per_day)),
            work_hours_per_day=float(
                cal_doc.get("work_hours_per_day", defaults.work_hours_per_day)
            ),
            rain_windows=tuple(
                RainWindow(
                    w["region"],
                    dt.date.fromisoformat(w["start"]),
                    dt.date.fromisoformat(w["end"]),
                    float(w["factor"]),
                )
                for w in cal_doc.get("rain_windows", [])
            ),
            travel=bool(travel.get("enabled", defaults.travel)),
            road_factor=float(travel.get("road_factor", defaults.road_factor)),
            speed_kmh=float(travel.get("speed_kmh", defaults.speed_kmh)),
            speed_kmh_by_region=dict(
                travel.get("speed_kmh_by_region", defaults.speed_kmh_by_region)
            ),
            max_deterministic_time=float(
                solver.get("max_deterministic_time", defaults.max_deterministic_time)
            ),
            max_wall_time_s=float(solver.get("max_wall_time_s", defaults.max_wall_time_s)),
            seed=int(solver.get("seed", defaults.seed)),
            num_workers=int(solver.get("num_workers", defaults.num_workers)),
            interleave_search=bool(solver.get("interleave_search", defaults.interleave_search)),
            route_max_visits=int(solver.get("route_max_visits", defaults.route_max_visits)),
            local_search_rate=float(solver.get("local_search_rate", defaults.local_search_rate)),
            lp_bound_max_columns=int(
                solver.get("lp_bound_max_columns", defaults.lp_bound_max_columns)
            ),
            explain_late=bool(solver.get("explain_late", defaults.explain_late)),
            explain_deterministic_time=float(
                solver.get("explain_deterministic_time", defaults.explain_deterministic_time)
            ),
            max_extra_units_per_pool=int(
                solver.get("max_extra_units_per_pool", defaults.max_extra_units_per_pool)
            ),
        )
    except (ValueError, SchemaError) as exc:
        reason = exc.reason if isinstance(exc, SchemaError) else str(exc)
        raise SchemaError(reason, file=name) from exc
    except Exception as exc:  # ScenarioError from the settings' own checks
        reason = getattr(exc, "reason", str(exc))
        raise SchemaError(reason, file=name, column=getattr(exc, "column", None)) from exc
    rows: list[dict[str, Any]] = []
    site_ids: dict[str, int] = {}
    for i, s in enumerate(doc["sites"], start=1):
        if s["site_id"] in site_ids:
            raise SchemaError(
                f"duplicate site_id {s['site_id']!r} (first in item {site_ids[s['site_id']]})",
                file=name,
                row=i,
                column="sites.site_id",
            )
        site_ids[s["site_id"]] = i
        if s["power"] == "grid" and s.get("power_date") is None:
            raise SchemaError(
                "power is 'grid' but power_date is null (use power 'solar' when there is none)",
                file=name,
                row=i,
                column="sites.power_date",
            )
        if s.get("kind", "new") not in settings.skip_tasks_by_kind:
            raise SchemaError(
                f"kind {s.get('kind')!r} is not one of {', '.join(settings.skip_tasks_by_kind)}",
                file=name,
                row=i,
                column="sites.kind",
            )
        rec: dict[str, Any] = {
            "site_id": s["site_id"],
            "operator": s["operator"],
            "region": s["region"],
            "group": s["group"],
            "kind": s.get("kind", "new"),
            "power": s["power"],
            "power_date": s.get("power_date"),
            "deadline": s.get("deadline"),
            "backhaul": s.get("backhaul", ""),
            "n_villages": int(s.get("n_villages", 1)),
            "lon": math.nan if s.get("lon") is None else float(s["lon"]),
            "lat": math.nan if s.get("lat") is None else float(s["lat"]),
            "duration_factor": float(s.get("duration_factor", 1.0)),
            "province_code": s.get("province_code"),
        }
        if "electrified" in s:
            rec["electrified"] = bool(s["electrified"])
        for task, days in s.get("durations", {}).items():
            rec[f"duration_{task}"] = float(days)
        rows.append(rec)
    sites = pd.DataFrame(rows)
    if sites.empty:
        sites = pd.DataFrame(columns=["site_id", "operator", "region", "group", "power"])
    for c in ("power_date", "deadline"):
        if c in sites.columns:
            sites[c] = pd.to_datetime(sites[c]).astype("datetime64[s]")
    # The scheduler's own checks (a crew for every task, the horizon), with the file named.
    try:
        build_problem(sites, settings)
    except CovgapError as exc:
        raise type(exc)(exc.reason, file=name, column=exc.column) from exc
    return sites, settings


def _read_csv_rows(path: Path) -> tuple[list[str], list[list[str]]]:
    name = str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise InputFileError(f"cannot read: {exc.strerror}", file=name) from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputFileError("not UTF-8 text", file=name) from exc
    if not text.strip():
        raise InputFileError("the file is empty", file=name)
    reader = csv.reader(io.StringIO(text, newline=""))
    rows = [r for r in reader]
    header = [h.strip() for h in rows[0]]
    body = [r for r in rows[1:] if any(c.strip() for c in r)]
    return header, body


def _date_cell(value: str, file: str, row: int, column: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError as exc:
        raise SchemaError(
            f"{value!r} is not a date (YYYY-MM-DD)", file=file, row=row, column=column
        ) from exc


def read_progress(path: Path, sites: pd.DataFrame, settings: ScheduleSettings) -> pd.DataFrame:
    """Read ``progress.csv`` and check it against the sites' task chains.

    Returns ``site_id, task, status, start_date, finish_date, crew_id, source_row``
    (dates as ``datetime.date``; finish ``None`` for started tasks). Raises
    :class:`SchemaError` naming file, row and column for an unknown site or task, a bad
    status or date, a duplicate, a task begun before its predecessor is done, or a crew
    unit that is not one of the task's crew.
    """
    name = str(path)
    header, body = _read_csv_rows(Path(path))
    required = ("site_id", "task", "status", "start_date")
    missing = [c for c in required if c not in header]
    if missing:
        raise SchemaError(
            f"missing column(s) {', '.join(missing)} (columns: {', '.join(PROGRESS_COLUMNS)})",
            file=name,
            column=missing[0],
        )
    unknown = [h for h in header if h not in PROGRESS_COLUMNS]
    if unknown:
        raise SchemaError(
            f"unknown column {unknown[0]!r} (columns: {', '.join(PROGRESS_COLUMNS)})",
            file=name,
            column=unknown[0],
        )
    problem = build_problem(sites, settings)
    chains = {s.site_id: [t.name for t in s.tasks] for s in problem.sites}
    units = {s.site_id: {t.name: t.pool for t in s.tasks} for s in problem.sites}
    unit_pool = dict(zip(problem.units, problem.unit_pool, strict=True))
    col = {h: i for i, h in enumerate(header)}
    records: list[dict[str, Any]] = []
    seen: dict[tuple[str, str], int] = {}
    for r, cells in enumerate(body, start=1):
        cells = cells + [""] * (len(header) - len(cells))

        def get(c: str, cells: list[str] = cells) -> str:
            return cells[col[c]].strip() if c in col else ""

        site_id, task, status = get("site_id"), get("task"), get("status").lower()
        if site_id not in chains:
            raise SchemaError(f"unknown site {site_id!r}", file=name, row=r, column="site_id")
        if task not in chains[site_id]:
            raise SchemaError(
                f"site {site_id} has no task {task!r} (its tasks: {', '.join(chains[site_id])})",
                file=name,
                row=r,
                column="task",
            )
        if (site_id, task) in seen:
            raise SchemaError(
                f"site {site_id} task {task} is already given in row {seen[(site_id, task)]}",
                file=name,
                row=r,
                column="task",
            )
        seen[(site_id, task)] = r
        if status not in PROGRESS_STATUSES:
            raise SchemaError(
                f"status {get('status')!r} is not one of {', '.join(PROGRESS_STATUSES)}",
                file=name,
                row=r,
                column="status",
            )
        start = _date_cell(get("start_date"), name, r, "start_date")
        finish: dt.date | None = None
        if status == "done":
            if not get("finish_date"):
                raise SchemaError(
                    "a done task needs its finish_date", file=name, row=r, column="finish_date"
                )
            finish = _date_cell(get("finish_date"), name, r, "finish_date")
            if finish < start:
                raise SchemaError(
                    f"finish_date {finish} is before start_date {start}",
                    file=name,
                    row=r,
                    column="finish_date",
                )
        elif get("finish_date"):
            raise SchemaError(
                "a started task has no finish_date yet (leave it empty)",
                file=name,
                row=r,
                column="finish_date",
            )
        crew = get("crew_id")
        if crew:
            pool = units[site_id][task]
            if crew not in unit_pool or unit_pool[crew] != pool:
                raise SchemaError(
                    f"crew unit {crew!r} is not a unit of the crew that does {task} at {site_id}",
                    file=name,
                    row=r,
                    column="crew_id",
                )
        records.append(
            {
                "site_id": site_id,
                "task": task,
                "status": status,
                "start_date": start,
                "finish_date": finish,
                "crew_id": crew,
                "source_row": r,
            }
        )
    # Chain order: a task begun needs every task before it done; one started per site.
    by_site: dict[str, dict[str, dict[str, Any]]] = {}
    for rec in records:
        by_site.setdefault(rec["site_id"], {})[rec["task"]] = rec
    for site_id, given in by_site.items():
        chain = chains[site_id]
        for task, rec in given.items():
            for before in chain[: chain.index(task)]:
                if before not in given or given[before]["status"] != "done":
                    raise SchemaError(
                        f"site {site_id}: {task} is {rec['status']} but {before} before it "
                        "is not done",
                        file=name,
                        row=rec["source_row"],
                        column="task",
                    )
    frame = pd.DataFrame(records, columns=[*PROGRESS_COLUMNS, "source_row"])
    frame.attrs["file"] = name
    return frame


def read_previous_schedule(path: Path) -> pd.DataFrame:
    """A previous ``schedule.csv`` (all columns text) for re-planning."""
    name = str(path)
    header, body = _read_csv_rows(Path(path))
    need = ("site_id", "task", "crew_id", "start_date", "finish_date")
    missing = [c for c in need if c not in header]
    if missing:
        raise SchemaError(
            f"not a schedule.csv: missing column(s) {', '.join(missing)}",
            file=name,
            column=missing[0],
        )
    col = {h: i for i, h in enumerate(header)}
    rows = []
    for r, cells in enumerate(body, start=1):
        cells = cells + [""] * (len(header) - len(cells))
        rec = {c: cells[col[c]].strip() for c in need}
        for c in ("start_date", "finish_date"):
            _date_cell(rec[c], name, r, c)
        rows.append(rec)
    return pd.DataFrame(rows, columns=list(need)).astype(str)


def write_infeasibility(path: Path, explanation: ExtraCrews) -> None:
    """Write ``infeasibility.json``: late sites with reasons and the least extra crews."""
    write_text_atomic(
        Path(path), json.dumps(explanation.to_dict(), indent=2, ensure_ascii=False) + "\n"
    )


def crew_utilisation(result: ScheduleResult) -> pd.DataFrame:
    """One row per crew unit: tasks and visits done, busy working days, driving hours
    (home → first site → … → last site), first start, last finish, span in working days
    and utilisation = busy / span (0 for an idle unit). Sorted by crew unit id."""
    problem = result.problem
    assignment = result.assignment
    if assignment is None:
        raise ValueError("the result carries no assignment")
    k = problem.ticks_per_day
    crew_of: dict[str, Crew] = {}
    for c in problem.crews:
        for unit_id in c.unit_ids:
            crew_of[unit_id] = c
    visits: dict[int, list[tuple[int, int, int]]] = {}  # unit → (start, end, site)
    n_tasks: dict[int, int] = {}
    for s_idx, site in enumerate(problem.sites):
        starts = assignment.starts[s_idx]
        units = assignment.units[s_idx]
        for i0, i1, pool, dur, _ in _blocks(site):
            if pool < 0:
                continue
            u = units[i0]
            visits.setdefault(u, []).append((starts[i0], starts[i0] + dur, s_idx))
            n_tasks[u] = n_tasks.get(u, 0) + (i1 - i0 + 1)
    travel_of: dict[int, _Travel] = {}
    for part in _components(problem):
        tr = _Travel(problem, part)
        for s in part:
            travel_of[s] = tr
    rows = []
    cal = problem.calendar
    for u, uid in enumerate(problem.units):
        crew = crew_of.get(uid)
        op, region, kind = problem.pool_keys[problem.unit_pool[u]]
        seq = sorted(visits.get(u, []))
        busy = sum(e - s for s, e, _ in seq)
        hours = 0.0
        if seq and problem.travel:
            hl, ht = problem.unit_home[u]
            first = problem.sites[seq[0][2]]
            if not (math.isnan(hl) or math.isnan(first.lon)):
                hours += float(problem.travel_hours(hl, ht, first.lon, first.lat, first.region))
            for (_, _, a), (_, _, b) in itertools.pairwise(seq):
                if a != b:
                    tr = travel_of[a]
                    hours += float(tr.site_hours[tr.local[a], tr.local[b]])
        if seq:
            axis = problem.axis(problem.sites[seq[0][2]])
            d0 = axis.day_of_tick(seq[0][0])
            d1 = axis.day_of_tick(max(e for _, e, _ in seq) - 1)
            first_start = cal.date_of(d0).isoformat()
            last_finish = cal.date_of(d1).isoformat()
            span = d1 - d0 + 1
        else:
            first_start = last_finish = ""
            span = 0
        busy_days = busy / k
        rows.append(
            (
                uid,
                crew.crew_id if crew is not None else uid.rsplit("/", 1)[0],
                op,
                region,
                kind,
                n_tasks.get(u, 0),
                len(seq),
                round(busy_days, 3),
                round(hours, 2),
                first_start,
                last_finish,
                int(span),
                round(busy_days / span, 4) if span else 0.0,
            )
        )
    frame = pd.DataFrame(rows, columns=list(UTILISATION_COLUMNS))
    return frame.sort_values("crew_id", kind="stable").reset_index(drop=True)
