"""Sites and crews turned into integer data: :func:`build_problem` → :class:`ProblemData`.

**Clock.** Time is counted in *ticks* of work on the working-day axis of
:class:`covgap.calendar.WorkCalendar`: ``ticks_per_day`` per working day (4 by default:
two hours of an 8-hour day), fewer inside a region's rain window (a day that does
``1/factor`` of the work). Sundays and holidays hold no tick, so no work ever falls on
them. A task of ``D`` working days needs ``ceil(D × factor × ticks_per_day)`` ticks.

**Chain.** Per site ``survey → permit → civil → tower → grid|solar → equipment →
backhaul → integration``; a site ``kind`` skips tasks (``upgrade``: civil and tower;
``colocation``: tower), ``power`` picks grid or solar, ``backhaul`` sets the backhaul
task's duration. ``grid`` starts no earlier than the site's power date; solar has no
release. The deadline binds the end of integration (last working day on or before the
deadline date).

A site's consecutive tasks done by one crew kind form a *block* (one crew visit,
:func:`_blocks`); sites that share no crew pool form independent parts
(:func:`_components`). Input files are never read here.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from ..calendar import TickAxis, WorkCalendar, to_date
from ..errors import ScenarioError, SchemaError, SolverError
from ..schema import OPERATOR_SLUGS, OPERATORS
from .settings import TASK_ORDER, Crew, ScheduleSettings

_EARTH_RADIUS_KM = 6371.0088


# --------------------------------------------------------------------------- problem data
@dataclass(frozen=True)
class TaskData:
    """One task still to schedule, on its region's tick axis.

    duration: ticks of work; release: earliest start tick (the power date for ``grid``,
    the end of done work for the first task left); pool: index into
    :attr:`ProblemData.pools` (-1: no crew); fixed_start / fixed_unit: a task already
    started (from a progress file) runs on from tick 0 on that unit (-1: any unit);
    shown_start: the date ``schedule.csv`` gives as its start (a started task keeps the
    date it really started).
    """

    name: str
    duration: int
    crew_kind: str | None
    release: int
    pool: int
    fixed_start: int | None = None
    fixed_unit: int = -1
    shown_start: dt.date | None = None


@dataclass(frozen=True)
class DoneTask:
    """A task a progress file reports done: kept in the output as it was."""

    name: str
    start_date: dt.date
    finish_date: dt.date
    crew_id: str


@dataclass(frozen=True)
class SiteData:
    """One site: identity, deadline (date, working-day index and tick), power date
    (``None`` for solar), location (EPSG:4326, NaN unknown) and the tasks left."""

    site_id: str
    operator: str
    region: str
    group: str
    kind: str
    power: str
    backhaul: str
    deadline: dt.date
    deadline_index: int
    deadline_tick: int
    power_date: dt.date | None
    release_tick: int
    n_villages: int
    lon: float
    lat: float
    tasks: tuple[TaskData, ...]
    done: tuple[DoneTask, ...] = ()

    @property
    def earliest_end(self) -> int:
        """End tick (exclusive) of the tasks left with crews always free and no travel."""
        t = 0
        for task in self.tasks:
            t = (
                task.fixed_start + task.duration
                if task.fixed_start is not None
                else max(t, task.release) + task.duration
            )
        return t

    @property
    def chain_late_alone(self) -> bool:
        """True when even with free crews next door the site ends after its deadline."""
        return bool(self.tasks) and self.earliest_end > self.deadline_tick


@dataclass(frozen=True)
class ProblemData:
    """The scheduling instance: sites (sorted by ``site_id``), crew units and pools,
    one tick axis per region, travel matrices on demand.

    units: crew unit ids ``<crew_id>/<k>``; unit_pool / unit_home: pool index and home
    lon/lat per unit; pools: per pool the unit indices (units of one operator × region ×
    kind); axes: region → :class:`TickAxis`.
    """

    sites: tuple[SiteData, ...]
    crews: tuple[Crew, ...]
    units: tuple[str, ...]
    unit_pool: tuple[int, ...]
    unit_home: tuple[tuple[float, float], ...]
    pools: tuple[tuple[int, ...], ...]
    pool_keys: tuple[tuple[str, str, str], ...]
    axes: Mapping[str, TickAxis]
    calendar: WorkCalendar
    ticks_per_day: int
    on_air_lag_days: int
    travel: bool
    road_factor: float
    speeds_kmh: Mapping[str, float]
    hours_per_tick: float

    def axis(self, site: SiteData) -> TickAxis:
        """The tick axis of a site's region."""
        return self.axes[site.region]

    def travel_hours(self, lon1: Any, lat1: Any, lon2: Any, lat2: Any, region: str) -> Any:
        """Road hours between points (degrees, EPSG:4326; numpy broadcasting; NaN → 0)."""
        km = _haversine_km(lon1, lat1, lon2, lat2) * self.road_factor
        hours = km / float(self.speeds_kmh[region])
        return np.where(np.isnan(hours), 0.0, hours)

    def ticks_of_hours(self, hours: Any) -> Any:
        """Hours of driving → ticks (rounded up; 0 when travel is off)."""
        if not self.travel:
            return np.zeros_like(np.asarray(hours, dtype=float), dtype=np.int64)
        return np.ceil(np.asarray(hours, dtype=float) / self.hours_per_tick - 1e-9).astype(np.int64)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary of the instance on the tick axis (for debugging and the
        benchmark; ``problem.json`` itself is written by :mod:`covgap.schedule_io`)."""
        return {
            "time_unit": f"tick ({self.hours_per_tick:g} h; {self.ticks_per_day} per working day)",
            "first_working_day": self.calendar.first_working_day.isoformat(),
            "units": list(self.units),
            "sites": [
                {
                    "site_id": s.site_id,
                    "region": s.region,
                    "deadline_tick": s.deadline_tick,
                    "release_tick": s.release_tick,
                    "tasks": [
                        {"task": t.name, "ticks": t.duration, "release": t.release, "pool": t.pool}
                        for t in s.tasks
                    ],
                }
                for s in self.sites
            ],
        }


def _haversine_km(lon1: Any, lat1: Any, lon2: Any, lat2: Any) -> Any:
    lon1, lat1, lon2, lat2 = (
        np.radians(np.asarray(x, dtype=float)) for x in (lon1, lat1, lon2, lat2)
    )
    a = (
        np.sin((lat2 - lat1) / 2) ** 2
        + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * _EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-") or "x"


_REQUIRED_SITE_COLUMNS = ("site_id", "operator", "group", "power")


def _check_sites(sites: pd.DataFrame) -> None:
    missing = [c for c in _REQUIRED_SITE_COLUMNS if c not in sites.columns]
    if "province_code" not in sites.columns and "region" not in sites.columns:
        missing.append("province_code")
    if missing:
        raise SchemaError(
            f"sites lack column(s) {', '.join(missing)} (needed: "
            f"{', '.join(_REQUIRED_SITE_COLUMNS)}, province_code or region; optional: kind, "
            "power_date, deadline, backhaul, lon/lat or geometry, duration_factor)",
            column=missing[0],
        )
    ids = sites["site_id"].astype(str)
    dup = ids[ids.duplicated()]
    if len(dup):
        raise SchemaError(f"duplicate site_id {dup.iloc[0]!r}", column="site_id")
    bad_op = sites.loc[~sites["operator"].isin(OPERATORS), "operator"]
    if len(bad_op):
        raise SchemaError(
            f"site {sites.loc[bad_op.index[0], 'site_id']}: operator {bad_op.iloc[0]!r} "
            f"is not one of {', '.join(OPERATORS)}",
            column="operator",
        )
    bad_power = sites.loc[~sites["power"].isin(("grid", "solar")), "power"]
    if len(bad_power):
        raise SchemaError(
            f"site {sites.loc[bad_power.index[0], 'site_id']}: power {bad_power.iloc[0]!r} "
            "is not 'grid' or 'solar'",
            column="power",
        )


def _column(sites: pd.DataFrame, name: str, default: Any) -> list[Any]:
    if name not in sites.columns:
        return [default] * len(sites)
    return [default if _missing(v) else v for v in sites[name].tolist()]


def _missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return value == ""
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _site_regions(sites: pd.DataFrame, settings: ScheduleSettings) -> list[str]:
    given = _column(sites, "region", None)
    codes = _column(sites, "province_code", None)
    out = []
    for region, code, sid in zip(given, codes, sites["site_id"].astype(str), strict=True):
        if region is not None:
            out.append(str(region))
        elif code is None:
            raise SchemaError(f"site {sid}: neither region nor province_code", column="region")
        else:
            out.append(settings.region(str(code)))
    return out


def _site_lonlat(sites: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    n = len(sites)
    lon = np.full(n, np.nan)
    lat = np.full(n, np.nan)
    if isinstance(sites, gpd.GeoDataFrame) and n and sites.geometry is not None:
        geom = sites.geometry
        if geom.crs is not None and geom.crs.to_epsg() != 4326:
            geom = geom.to_crs(4326)
        ok = ~(geom.isna() | geom.is_empty)
        rep = geom[ok]
        if len(rep) and not (rep.geom_type == "Point").all():
            rep = rep.representative_point()
        lon[ok.to_numpy()] = rep.x.to_numpy()
        lat[ok.to_numpy()] = rep.y.to_numpy()
    for name, arr in (("lon", lon), ("lat", lat)):
        if name in sites.columns:
            vals = pd.to_numeric(sites[name], errors="coerce").to_numpy(dtype=float)
            arr[:] = np.where(np.isnan(arr), vals, arr)
    return lon, lat


def default_crews(sites: pd.DataFrame, settings: ScheduleSettings) -> tuple[Crew, ...]:
    """The default crew set: for every operator × region present in ``sites`` and every
    crew kind the templates use, ``settings.default_crew_count`` units, named
    ``<operator-slug>-<region-slug>-<kind>``, based at the mean lon/lat of those sites
    (EPSG:4326; NaN without locations). Ordered by operator (canonical), region, kind."""
    _check_sites(sites)
    kinds: list[str] = []
    for t in settings.tasks:
        if t.crew_kind is not None and t.crew_kind not in kinds:
            kinds.append(t.crew_kind)
    lon, lat = _site_lonlat(sites)
    frame = pd.DataFrame(
        {
            "operator": sites["operator"].astype(str).to_numpy(),
            "region": _site_regions(sites, settings),
            "lon": lon,
            "lat": lat,
        }
    )
    crews: list[Crew] = []
    op_rank = {op: i for i, op in enumerate(OPERATORS)}
    keys = sorted(
        {(op, reg) for op, reg in zip(frame["operator"], frame["region"], strict=True)},
        key=lambda k: (op_rank[k[0]], k[1]),
    )
    for op, reg in keys:
        part = frame[(frame["operator"] == op) & (frame["region"] == reg)]
        mlon = float(part["lon"].mean()) if part["lon"].notna().any() else math.nan
        mlat = float(part["lat"].mean()) if part["lat"].notna().any() else math.nan
        for kind in kinds:
            crews.append(
                Crew(
                    crew_id=f"{OPERATOR_SLUGS[op]}-{_slug(reg)}-{kind}",
                    operator=op,
                    region=reg,
                    kind=kind,
                    count=int(settings.default_crew_count),
                    home_lon=round(mlon, 6) if not math.isnan(mlon) else mlon,
                    home_lat=round(mlat, 6) if not math.isnan(mlat) else mlat,
                )
            )
    return tuple(crews)


def _date_or_none(value: Any) -> dt.date | None:
    if _missing(value):
        return None
    return to_date(value)


def _duration_ticks(days: float, factor: float, ticks_per_day: int) -> int:
    return max(1, math.ceil(float(days) * float(factor) * ticks_per_day - 1e-9))


def build_problem(
    sites: pd.DataFrame,
    settings: ScheduleSettings,
    *,
    progress: pd.DataFrame | None = None,
) -> ProblemData:
    """Turn the sites (siting output: ``site_id, operator, group, power`` and
    ``province_code`` or ``region``; optionally ``kind`` (new/upgrade/colocation),
    ``power_date`` (required for grid), ``deadline``, ``backhaul``, ``n_villages``,
    ``duration_factor``, ``duration_<task>`` (working days, overrides the template),
    geometry or ``lon``/``lat``) into :class:`ProblemData`.

    progress: tasks already ``done`` or ``started`` (:func:`covgap.schedule_io.read_progress`
    checks the file; columns ``site_id, task, status, start_date, finish_date, crew_id``).

    Raises :class:`SchemaError` for bad site rows, :class:`ScenarioError` when no crew
    can do a task of a site, :class:`SolverError` when a site cannot finish inside the
    calendar horizon even alone.
    """
    _check_sites(sites)
    cal = settings.calendar
    crews = settings.crews if settings.crews is not None else default_crews(sites, settings)
    regions_all = _site_regions(sites, settings)
    region_set = sorted(set(regions_all) | {c.region for c in crews})
    axes = {
        r: TickAxis(cal, settings.ticks_per_day, settings.rain_windows, region=r)
        for r in region_set
    }
    K = int(settings.ticks_per_day)

    units: list[str] = []
    unit_pool: list[int] = []
    unit_home: list[tuple[float, float]] = []
    pool_index: dict[tuple[str, str, str], int] = {}
    pools: list[list[int]] = []
    for crew in crews:
        key = (crew.operator, crew.region, crew.kind)
        if key not in pool_index:
            pool_index[key] = len(pools)
            pools.append([])
        for uid in crew.unit_ids:
            pools[pool_index[key]].append(len(units))
            unit_pool.append(pool_index[key])
            unit_home.append((crew.home_lon, crew.home_lat))
            units.append(uid)
    unit_of_id = {u: i for i, u in enumerate(units)}

    prog: dict[tuple[str, str], Any] = {}
    if progress is not None and len(progress):
        for prow in progress.itertuples(index=False):
            prog[(str(prow.site_id), str(prow.task))] = prow

    ids = sites["site_id"].astype(str).to_numpy()
    order = np.argsort(ids, kind="stable")
    kinds = [str(k) for k in _column(sites, "kind", "new")]
    backhauls = [str(b) for b in _column(sites, "backhaul", "")]
    groups = sites["group"].astype(str).tolist()
    powers = sites["power"].astype(str).tolist()
    operators = sites["operator"].astype(str).tolist()
    deadlines_col = _column(sites, "deadline", None)
    power_dates = _column(sites, "power_date", None)
    n_vill = _column(sites, "n_villages", 1)
    factors = _column(sites, "duration_factor", 1.0)
    provinces = _column(sites, "province_code", None)
    lon, lat = _site_lonlat(sites)
    overrides = {n: _column(sites, f"duration_{n}", None) for n in TASK_ORDER}
    site_data: list[SiteData] = []
    for pos in order:
        p = int(pos)
        site_id = str(ids[p])
        kind = kinds[p]
        if kind not in settings.skip_tasks_by_kind:
            raise SchemaError(
                f"site {site_id}: kind {kind!r} is not one of "
                f"{', '.join(settings.skip_tasks_by_kind)}",
                column="kind",
            )
        group = groups[p]
        deadline = _date_or_none(deadlines_col[p])
        if deadline is None:
            if group not in settings.deadlines:
                raise SchemaError(
                    f"site {site_id}: no deadline column value and group {group!r} has no "
                    f"deadline (groups with deadlines: {', '.join(settings.deadlines)})",
                    column="group",
                )
            deadline = to_date(settings.deadlines[group])
        power = powers[p]
        power_date = _date_or_none(power_dates[p])
        if power == "grid" and power_date is None:
            raise SchemaError(
                f"site {site_id}: power is 'grid' but power_date is empty (the day grid "
                "power reaches the site; use power='solar' when there is none)",
                column="power_date",
            )
        if power == "solar":
            power_date = None
        region = regions_all[p]
        axis = axes[region]
        operator = operators[p]
        factor = float(factors[p])
        if provinces[p] is not None:
            factor *= float(settings.duration_factor_by_province.get(str(provinces[p]), 1.0))
        if not (math.isfinite(factor) and factor > 0):
            raise SchemaError(
                f"site {site_id}: duration_factor must be > 0, got {factor}",
                column="duration_factor",
            )
        release_index = 0 if power_date is None else max(0, cal.index_of(power_date, side="after"))
        release_tick = axis.first_tick(release_index)
        dl_index = cal.index_of(deadline, side="before")
        deadline_tick = axis.first_tick(dl_index + 1)
        tasks: list[TaskData] = []
        done: list[DoneTask] = []
        after_done = 0
        for tpl in settings.chain(kind, power):
            days = float(tpl.duration_days)
            if tpl.name == "backhaul" and backhauls[p] in settings.backhaul_duration_days:
                days = float(settings.backhaul_duration_days[backhauls[p]])
            override = overrides[tpl.name][p]
            if override is not None:
                days = float(override)
                if not (math.isfinite(days) and days > 0):
                    raise SchemaError(
                        f"site {site_id}: duration_{tpl.name} must be > 0 working days, "
                        f"got {override}",
                        column=f"duration_{tpl.name}",
                    )
            pool = -1
            if tpl.crew_kind is not None:
                key = (operator, region, tpl.crew_kind)
                if key not in pool_index:
                    raise ScenarioError(
                        f"site {site_id}: no {tpl.crew_kind!r} crew of {operator} in region "
                        f"{region!r} for task {tpl.name!r}: add one to the crews",
                        column="crews",
                    )
                pool = pool_index[key]
            ticks = _duration_ticks(days, factor, K)
            release = release_tick if tpl.name == "grid" else 0
            row = prog.get((site_id, tpl.name))
            if row is not None and str(row.status) == "done":
                done.append(
                    DoneTask(
                        tpl.name,
                        to_date(row.start_date),
                        to_date(row.finish_date),
                        "" if _missing(row.crew_id) else str(row.crew_id),
                    )
                )
                fin = to_date(row.finish_date)
                after_done = max(after_done, axis.first_tick(cal.index_of(fin, side="before") + 1))
                continue
            fixed_start: int | None = None
            fixed_unit = -1
            shown: dt.date | None = None
            if row is not None and str(row.status) == "started":
                started = to_date(row.start_date)
                shown = started
                s_idx = cal.index_of(started, side="after")
                if s_idx >= 0:  # starts on or after the planning start: fixed there
                    fixed_start = axis.first_tick(s_idx)
                else:  # worked from then until the planning start; the rest from tick 0
                    worked = -s_idx
                    ticks = max(1, ticks - worked * K)
                    fixed_start = 0
                if not _missing(getattr(row, "crew_id", None)):
                    unit = unit_of_id.get(str(row.crew_id))
                    if unit is None or unit_pool[unit] != pool:
                        raise SchemaError(
                            f"site {site_id} task {tpl.name}: crew unit {row.crew_id!r} is not "
                            f"a unit of the {tpl.crew_kind!r} crews of {operator} in {region}",
                            column="crew_id",
                        )
                    fixed_unit = unit
            if not tasks:
                release = max(release, after_done)
            tasks.append(
                TaskData(
                    name=tpl.name,
                    duration=int(ticks),
                    crew_kind=tpl.crew_kind,
                    release=int(release),
                    pool=pool,
                    fixed_start=fixed_start,
                    fixed_unit=fixed_unit,
                    shown_start=shown,
                )
            )
        site_data.append(
            SiteData(
                site_id=site_id,
                operator=operator,
                region=region,
                group=group,
                kind=kind,
                power=power,
                backhaul=backhauls[p],
                deadline=deadline,
                deadline_index=dl_index,
                deadline_tick=deadline_tick,
                power_date=power_date,
                release_tick=release_tick,
                n_villages=int(n_vill[p]),
                lon=float(lon[p]),
                lat=float(lat[p]),
                tasks=tuple(tasks),
                done=tuple(done),
            )
        )
    problem = ProblemData(
        sites=tuple(site_data),
        crews=tuple(crews),
        units=tuple(units),
        unit_pool=tuple(unit_pool),
        unit_home=tuple(unit_home),
        pools=tuple(tuple(p) for p in pools),
        pool_keys=tuple(pool_index),
        axes=axes,
        calendar=cal,
        ticks_per_day=K,
        on_air_lag_days=int(settings.on_air_lag_days),
        travel=bool(settings.travel),
        road_factor=float(settings.road_factor),
        speeds_kmh={r: settings.speed_kmh_in(r) for r in region_set},
        hours_per_tick=float(settings.work_hours_per_day) / K,
    )
    for s in problem.sites:
        horizon = problem.axis(s).horizon
        if s.tasks and s.earliest_end > horizon:
            raise SolverError(
                f"site {s.site_id} cannot finish inside the calendar horizon "
                f"({cal.horizon_days} days from {cal.start}, last working day "
                f"{cal.date_of(cal.horizon_index - 1)}) even with free crews "
                f"(power date {s.power_date}); extend the calendar's horizon_days"
            )
    return problem


# --------------------------------------------------------------------------- blocks, travel
#: A block of a site's chain: tasks ``i0 … i1`` (indices into ``SiteData.tasks``) done
#: back to back in one visit by one unit of ``pool`` (-1: one task without crew);
#: ``offsets`` are the tasks' start offsets from the block's start.
Block = tuple[int, int, int, int, tuple[int, ...]]  # (i0, i1, pool, duration, offsets)


def _blocks(site: SiteData) -> list[Block]:
    """Consecutive tasks of one site that need the same crew pool form one visit (the RF
    crew installs equipment, backhaul and integration in one stay); a task without crew
    is a block of its own. A started task always opens a block."""
    out: list[Block] = []
    i = 0
    tasks = site.tasks
    while i < len(tasks):
        j = i
        if tasks[i].pool >= 0:
            while (
                j + 1 < len(tasks)
                and tasks[j + 1].pool == tasks[i].pool
                and tasks[j + 1].fixed_start is None
                and tasks[j + 1].release == 0
            ):
                j += 1
        offsets = []
        acc = 0
        for k in range(i, j + 1):
            offsets.append(acc)
            acc += tasks[k].duration
        out.append((i, j, tasks[i].pool, acc, tuple(offsets)))
        i = j + 1
    return out


# --------------------------------------------------------------------------- parts
def _components(problem: ProblemData) -> list[list[int]]:
    """Independent parts: sites linked through shared crew pools (union–find). With
    crews per operator × region these are the operator × region groups. Ordered by
    their first site; sites inside in problem order."""
    parent = list(range(len(problem.sites)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    owner: dict[int, int] = {}
    for s_idx, site in enumerate(problem.sites):
        for task in site.tasks:
            if task.pool < 0:
                continue
            if task.pool in owner:
                a, b = find(owner[task.pool]), find(s_idx)
                if a != b:
                    parent[max(a, b)] = min(a, b)
            else:
                owner[task.pool] = s_idx
    groups: dict[int, list[int]] = {}
    for s_idx in range(len(problem.sites)):
        groups.setdefault(find(s_idx), []).append(s_idx)
    return [groups[k] for k in sorted(groups)]
