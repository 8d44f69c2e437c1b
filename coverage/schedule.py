"""Build scheduler: CP-SAT over working days, plus a greedy yardstick (DESIGN §6).

Layers (PyJobShop style):

1. :class:`ScheduleSettings` (+ :class:`Crew`, :class:`TaskTemplate`) — the scenario's
   part, documented defaults;
2. :func:`build_problem` → :class:`ProblemData` — the sites turned into integer data on
   the working-day axis (task chains, eligible crew units, release and deadline
   indices, horizon, objective weights); no solver objects;
3. the CP-SAT model (``_CpModel``: variables, constraints, objective), solved by
   :func:`plan_builds`; :func:`greedy_schedule` is the earliest-deadline-first list
   scheduler on the same :class:`ProblemData`;
4. :class:`ScheduleResult` — ``tasks`` (``schedule.csv``), ``sites``
   (``sites_schedule.csv``), solver status as data, objective terms, plain-text summary.

Model. Time is the working-day index of :class:`covgap.calendar.WorkCalendar` (0 = the
first working day on or after the planning start), so no task ever starts or ends
on a Sunday or holiday. Per site the chain ``survey → permit → civil → tower →
grid|solar → equipment → backhaul → integration`` (an ``upgrade`` skips civil and
tower; the power task is ``grid`` or ``solar`` after the site's ``power`` column),
each task a fixed-size interval; ``end ≤ start`` of the next. A task that needs a
crew has one optional interval per eligible crew unit (same operator, region and
crew kind), ``add_exactly_one`` over their presences and ``add_no_overlap`` per crew
unit; a redundant ``add_cumulative`` per crew pool (all units of one operator ×
region × kind) strengthens the bound. The ``grid`` task starts no earlier than the
site's power date (rolled forward to a working day); ``solar`` has no release.

Deadlines are soft: ``tardiness = max(0, last integration day − last working day on
or before the deadline)`` in working days, and a ``late`` literal ⇔ tardiness > 0.
The objective is lexicographic — sites late, then total tardiness, then makespan —
as one weighted sum ``W1·late + W2·tardiness + makespan`` with
``W2 = H + 1`` and ``W1 = W2·T_max + H + 1`` (``H`` the horizon in working days,
``T_max = Σ_sites max(0, H − 1 − deadline_index)`` the largest possible total
tardiness): the makespan lies in ``0…H`` so it can never outweigh one working day
of tardiness, and ``W2·tardiness + makespan ≤ W2·T_max + H < W1`` so no tardiness
saving can outweigh one more late site. The greedy schedule is given to CP-SAT as
a complete hint, so CP-SAT starts from the yardstick.

Two things keep it fast. *Decomposition*: sites that share no crew pool (with the
default crews: different operator × region) are independent, so each such part is
its own CP-SAT model, solved in a fixed order with a share of the deterministic time
proportional to its tasks; the parts' lexicographic optima add up to the whole's
(``Σ late`` and ``Σ tardiness`` are separable, and the largest part makespan is the
whole's). *Energy cuts* (``_CpModel._add_energy_cuts``): redundant linear cuts
``Σ_on-time d ≤ capacity × window`` per pool let the LP prove how many sites must be
late (:attr:`ScheduleResult.n_late_lower_bound`), which the plain model cannot.
Finally the solution is *left-justified* (``_left_justify``: every task as early as
its predecessor, release and a free unit allow, in the solver's start order), which
provably moves no task later and closes the idle gaps a time-limited search leaves.

Determinism: a fixed ``random_seed``, a deterministic time limit
(``max_deterministic_time``) and either one worker or ``interleave_search=True``
(deterministic whatever the number of workers); no wall-clock limit is set.

Not modelled in this slice (a later scheduling issue): travel between a crew's
consecutive sites (the seam: crew units keep their home base in :class:`Crew`,
and ``_CpModel._add_crew_constraints`` is where transition times / a circuit per
unit would replace the plain no-overlap), rain slow-down windows, the "least extra
crews" explanation of late plans, re-planning with started tasks fixed.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import time
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from ortools.sat.python import cp_model

from .admin import REGION_OF_PROVINCE
from .calendar import WorkCalendar, to_date
from .errors import ScenarioError, SchemaError, SolverError
from .schema import OPERATOR_SLUGS, OPERATORS

__all__ = [
    "CREW_KINDS",
    "DEFAULT_TASKS",
    "STATUS_NAMES",
    "TASK_ORDER",
    "Crew",
    "ProblemData",
    "ScheduleResult",
    "ScheduleSettings",
    "SiteData",
    "TaskData",
    "TaskTemplate",
    "build_problem",
    "default_crews",
    "greedy_schedule",
    "plan_builds",
]

#: The task names of ``schedule.csv``, in chain order (a site uses grid *or* solar).
TASK_ORDER: tuple[str, ...] = (
    "survey",
    "permit",
    "civil",
    "tower",
    "grid",
    "solar",
    "equipment",
    "backhaul",
    "integration",
)
#: Crew kinds the default templates use.
CREW_KINDS: tuple[str, ...] = ("survey", "civil", "rigging", "power", "rf")
#: Every CP-SAT status, mapped explicitly to the name the result carries.
STATUS_NAMES: dict[Any, str] = {
    cp_model.OPTIMAL: "OPTIMAL",
    cp_model.FEASIBLE: "FEASIBLE",
    cp_model.INFEASIBLE: "INFEASIBLE",
    cp_model.MODEL_INVALID: "MODEL_INVALID",
    cp_model.UNKNOWN: "UNKNOWN",
}

_GROUP_ORDER: tuple[str, ...] = ("low_signal_powered", "low_signal_unpowered")
#: Energy cuts kept per crew pool (see ``_CpModel._add_energy_cuts``).
_MAX_CUTS_PER_POOL = 50
#: Smallest deterministic-time share of one independent part.
_MIN_PART_TIME = 0.05


@dataclass(frozen=True)
class TaskTemplate:
    """One build task: its duration in working days (≥ 1) and the crew kind it needs
    (``None``: no crew, e.g. a permit is the authority's time)."""

    name: str
    duration_days: int
    crew_kind: str | None

    def __post_init__(self) -> None:
        if self.name not in TASK_ORDER:
            raise ScenarioError(
                f"unknown task {self.name!r}: tasks are {', '.join(TASK_ORDER)}", column="tasks"
            )
        if int(self.duration_days) < 1:
            raise ScenarioError(
                f"task {self.name!r}: duration_days must be ≥ 1 working day, "
                f"got {self.duration_days}",
                column="tasks",
            )


#: Default task templates (working days; plausible rural-Vietnam figures for a new
#: 30 m greenfield 4G site): survey 1 d (survey crew), permit 5 d (no crew: local
#: authority), civil works / foundation 6 d (civil crew), tower erection 4 d
#: (rigging crew), grid connection 2 d or solar + battery install 3 d (power crew),
#: RAN equipment 2 d, backhaul link 2 d and integration / acceptance 1 d (RF crew).
DEFAULT_TASKS: tuple[TaskTemplate, ...] = (
    TaskTemplate("survey", 1, "survey"),
    TaskTemplate("permit", 5, None),
    TaskTemplate("civil", 6, "civil"),
    TaskTemplate("tower", 4, "rigging"),
    TaskTemplate("grid", 2, "power"),
    TaskTemplate("solar", 3, "power"),
    TaskTemplate("equipment", 2, "rf"),
    TaskTemplate("backhaul", 2, "rf"),
    TaskTemplate("integration", 1, "rf"),
)


@dataclass(frozen=True)
class Crew:
    """A crew type of one operator in one planning region: ``count`` identical units
    named ``<crew_id>/1 … <crew_id>/<count>``.

    ``home_lon``/``home_lat`` (EPSG:4326 degrees) are the home base; they are kept for
    travel times, which this slice does not model yet (NaN = unknown).
    """

    crew_id: str
    operator: str
    region: str
    kind: str
    count: int = 1
    home_lon: float = math.nan
    home_lat: float = math.nan

    def __post_init__(self) -> None:
        if not self.crew_id or "/" in self.crew_id:
            raise ScenarioError(
                f"crew_id must be non-empty and without '/', got {self.crew_id!r}", column="crews"
            )
        if self.operator not in OPERATORS:
            raise ScenarioError(
                f"crew {self.crew_id}: operator {self.operator!r} is not one of "
                f"{', '.join(OPERATORS)}",
                column="crews",
            )
        if int(self.count) < 1:
            raise ScenarioError(
                f"crew {self.crew_id}: count must be ≥ 1, got {self.count}", column="crews"
            )

    @property
    def unit_ids(self) -> tuple[str, ...]:
        """``<crew_id>/1 … <crew_id>/<count>``."""
        return tuple(f"{self.crew_id}/{k}" for k in range(1, int(self.count) + 1))


def _default_deadlines() -> dict[str, dt.date]:
    return {
        "low_signal_powered": dt.date(2025, 8, 31),
        "low_signal_unpowered": dt.date(2025, 11, 30),
    }


def _default_targets() -> dict[str, dt.date]:
    return {"low_signal_powered": dt.date(2025, 9, 14)}


def _default_skips() -> dict[str, tuple[str, ...]]:
    return {"new": (), "upgrade": ("civil", "tower")}


@dataclass(frozen=True)
class ScheduleSettings:
    """Scheduler settings (the scenario's ``[schedule]`` part).

    calendar: working days; ``calendar.start`` is the planning start (2025-07-15),
        Sundays and 2025-09-01/02 off, 730-day horizon.
    crews: crew types; ``None`` → :func:`default_crews` builds ``default_crew_count``
        units of every needed kind per operator × region present in the sites.
    default_crew_count: units per default crew type (2).
    tasks: task templates (:data:`DEFAULT_TASKS`); every name of :data:`TASK_ORDER` once.
    skip_tasks_by_kind: tasks a site kind skips (``upgrade`` skips civil and tower).
    deadlines: per group, inclusive (31 Aug / 30 Nov 2025); a site's own ``deadline``
        column, when present and not NaT, wins (siting sets it, DESIGN §3).
    on_air_lag_days: calendar days from the end of integration to on-air (10).
    on_air_targets: per group, the on-air target the summary reports against
        (14 Sep 2025 for the powered group).
    region_of: province_code → planning region, a mapping or a callable; ``None`` →
        ``covgap.admin.REGION_OF_PROVINCE`` (the eight socio-economic regions).
    max_deterministic_time: CP-SAT deterministic time limit over all parts (3; on the
        355-site sample with default crews ≈ 20 s wall on 2 shared cores, and 10 gave
        the same plan in ≈ 70 s).
    seed: CP-SAT ``random_seed`` (0).
    num_workers: CP-SAT workers (2); reproducible with ``interleave_search=True`` or
        ``num_workers=1``.
    interleave_search: CP-SAT interleaved (deterministic) parallel search (True).
    """

    calendar: WorkCalendar = field(default_factory=WorkCalendar)
    crews: tuple[Crew, ...] | None = None
    default_crew_count: int = 2
    tasks: tuple[TaskTemplate, ...] = DEFAULT_TASKS
    skip_tasks_by_kind: Mapping[str, tuple[str, ...]] = field(default_factory=_default_skips)
    deadlines: Mapping[str, dt.date] = field(default_factory=_default_deadlines)
    on_air_lag_days: int = 10
    on_air_targets: Mapping[str, dt.date] = field(default_factory=_default_targets)
    region_of: Mapping[str, str] | Callable[[str], str] | None = None
    max_deterministic_time: float = 3.0
    seed: int = 0
    num_workers: int = 2
    interleave_search: bool = True

    def __post_init__(self) -> None:
        names = [t.name for t in self.tasks]
        missing = [n for n in TASK_ORDER if n not in names]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if missing or dupes:
            raise ScenarioError(
                "task templates must name every task once: "
                + (f"missing {', '.join(missing)}" if missing else "")
                + ("; " if missing and dupes else "")
                + (f"duplicated {', '.join(dupes)}" if dupes else ""),
                column="tasks",
            )
        for kind, skipped in self.skip_tasks_by_kind.items():
            bad = [t for t in skipped if t not in TASK_ORDER]
            if bad:
                raise ScenarioError(
                    f"skip_tasks_by_kind[{kind!r}] names unknown tasks {bad}", column="tasks"
                )
        if int(self.default_crew_count) < 1:
            raise ScenarioError("default_crew_count must be ≥ 1", column="default_crew_count")
        if int(self.on_air_lag_days) < 0:
            raise ScenarioError("on_air_lag_days must be ≥ 0", column="on_air_lag_days")
        if not self.max_deterministic_time > 0:
            raise ScenarioError(
                "max_deterministic_time must be > 0", column="max_deterministic_time"
            )
        if int(self.num_workers) < 1:
            raise ScenarioError("num_workers must be ≥ 1", column="num_workers")
        if self.crews is not None:
            ids = [c.crew_id for c in self.crews]
            dup = sorted({i for i in ids if ids.count(i) > 1})
            if dup:
                raise ScenarioError(f"duplicate crew_id {', '.join(dup)}", column="crews")

    @property
    def planning_start(self) -> dt.date:
        """The planning start (``calendar.start``)."""
        return self.calendar.start

    def template(self, name: str) -> TaskTemplate:
        """The template of task ``name``."""
        for t in self.tasks:
            if t.name == name:
                return t
        raise KeyError(name)

    def chain(self, kind: str = "new", power: str = "grid") -> tuple[TaskTemplate, ...]:
        """The task chain of a site of this ``kind`` and ``power`` (grid/solar), in order."""
        if power not in ("grid", "solar"):
            raise ValueError(f"power must be 'grid' or 'solar', got {power!r}")
        skipped = set(self.skip_tasks_by_kind.get(kind, ()))
        skipped.add("solar" if power == "grid" else "grid")
        return tuple(self.template(n) for n in TASK_ORDER if n not in skipped)

    def power_tail_working_days(self, power: str = "grid", kind: str = "new") -> int:
        """Working days from the start of the power task to the end of integration
        (grid 2 + equipment 2 + backhaul 2 + integration 1 = 7 by default): siting uses
        it to judge whether a ``power_eta`` comes in time for a deadline."""
        chain = self.chain(kind, power)
        names = [t.name for t in chain]
        if power not in names:  # a site kind that skips the power task
            return 0
        return sum(t.duration_days for t in chain[names.index(power) :])

    def region(self, province_code: str) -> str:
        """Planning region of a province (2025 code)."""
        region_of = self.region_of
        if region_of is None:
            region_of = REGION_OF_PROVINCE
        if callable(region_of) and not isinstance(region_of, Mapping):
            return str(region_of(province_code))
        assert isinstance(region_of, Mapping)
        if province_code not in region_of:
            raise ScenarioError(
                f"province_code {province_code!r} has no planning region in region_of",
                column="regions",
            )
        return str(region_of[province_code])


# --------------------------------------------------------------------------- problem data
@dataclass(frozen=True)
class TaskData:
    """One task of one site on the working-day axis.

    duration: working days; release: earliest start index (the power date for
    ``grid``, else 0); units: indices into :attr:`ProblemData.units` of the crew units
    that can do it (empty: no crew); pool: index of the crew pool (-1: no crew).
    """

    name: str
    duration: int
    crew_kind: str | None
    release: int
    units: tuple[int, ...]
    pool: int


@dataclass(frozen=True)
class SiteData:
    """One site: identity, deadline (date and working-day index of the last working day
    on or before it), power date (``None`` for solar) and its task chain."""

    site_id: str
    operator: str
    region: str
    group: str
    kind: str
    power: str
    deadline: dt.date
    deadline_index: int
    power_date: dt.date | None
    release_index: int
    n_villages: int
    tasks: tuple[TaskData, ...]


@dataclass(frozen=True)
class ProblemData:
    """The scheduling instance: sites (sorted by ``site_id``), crew units, pools, horizon.

    units: crew unit ids ``<crew_id>/<k>``; pools: per pool the unit indices (units of
    one operator × region × kind); horizon: working days available (tasks end ≤ it).
    """

    sites: tuple[SiteData, ...]
    crews: tuple[Crew, ...]
    units: tuple[str, ...]
    pools: tuple[tuple[int, ...], ...]
    pool_keys: tuple[tuple[str, str, str], ...]
    horizon: int
    calendar: WorkCalendar
    on_air_lag_days: int

    @property
    def max_total_tardiness(self) -> int:
        """``T_max``: total tardiness if every site ended on the last horizon day."""
        return sum(max(0, self.horizon - 1 - s.deadline_index) for s in self.sites)

    @property
    def weights(self) -> tuple[int, int, int]:
        """``(W1, W2, 1)`` of the lexicographic weighted objective (module docstring)."""
        w2 = self.horizon + 1
        w1 = w2 * self.max_total_tardiness + self.horizon + 1
        return (w1, w2, 1)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description (``problem.json``): calendar, crews, sites, tasks."""
        cal = self.calendar
        return {
            "time_unit": "working day",
            "calendar": {
                "start": cal.start.isoformat(),
                "first_working_day": cal.first_working_day.isoformat(),
                "days_off_weekly": list(cal.days_off_weekly),
                "holidays": [h.isoformat() for h in cal.holidays],
                "horizon_days": cal.horizon_days,
            },
            "horizon_working_days": self.horizon,
            "on_air_lag_days": self.on_air_lag_days,
            "objective": {
                "terms": ["sites_late", "total_tardiness_working_days", "makespan_working_days"],
                "weights": list(self.weights),
            },
            "crews": [
                {
                    "crew_id": c.crew_id,
                    "operator": c.operator,
                    "region": c.region,
                    "kind": c.kind,
                    "count": c.count,
                    "home_lon": None if math.isnan(c.home_lon) else c.home_lon,
                    "home_lat": None if math.isnan(c.home_lat) else c.home_lat,
                }
                for c in self.crews
            ],
            "sites": [
                {
                    "site_id": s.site_id,
                    "operator": s.operator,
                    "region": s.region,
                    "group": s.group,
                    "kind": s.kind,
                    "power": s.power,
                    "deadline": s.deadline.isoformat(),
                    "deadline_index": s.deadline_index,
                    "power_date": None if s.power_date is None else s.power_date.isoformat(),
                    "release_index": s.release_index,
                    "tasks": [
                        {
                            "task": t.name,
                            "duration_working_days": t.duration,
                            "crew_kind": t.crew_kind,
                            "release_index": t.release,
                            "crew_units": [self.units[u] for u in t.units],
                        }
                        for t in s.tasks
                    ],
                }
                for s in self.sites
            ],
        }


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-") or "x"


_REQUIRED_SITE_COLUMNS = ("site_id", "operator", "group", "power", "province_code")


def _check_sites(sites: pd.DataFrame) -> None:
    missing = [c for c in _REQUIRED_SITE_COLUMNS if c not in sites.columns]
    if missing:
        raise SchemaError(
            f"sites lack column(s) {', '.join(missing)} (needed: "
            f"{', '.join(_REQUIRED_SITE_COLUMNS)}; optional: kind, power_date, deadline)",
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


def _site_kind(sites: pd.DataFrame) -> list[str]:
    if "kind" not in sites.columns:
        return ["new"] * len(sites)
    return [("new" if pd.isna(k) else str(k)) for k in sites["kind"]]


def default_crews(sites: pd.DataFrame, settings: ScheduleSettings) -> tuple[Crew, ...]:
    """The default crew set: for every operator × region present in ``sites`` and every
    crew kind the templates use, ``settings.default_crew_count`` units, named
    ``<operator-slug>-<region-slug>-<kind>``, based at the mean lon/lat of those sites
    (EPSG:4326; NaN without geometry). Ordered by operator (canonical), region, kind."""
    _check_sites(sites)
    kinds = []
    for t in settings.tasks:
        if t.crew_kind is not None and t.crew_kind not in kinds:
            kinds.append(t.crew_kind)
    regions = [settings.region(str(p)) for p in sites["province_code"]]
    frame = pd.DataFrame(
        {"operator": sites["operator"].astype(str).to_numpy(), "region": regions},
        index=sites.index,
    )
    geom = None
    if isinstance(sites, gpd.GeoDataFrame) and len(sites):
        geom = sites.geometry
        if geom.crs is not None and geom.crs.to_epsg() != 4326:
            geom = geom.to_crs(4326)
    if geom is not None:
        frame["lon"] = [g.x if g is not None and not g.is_empty else np.nan for g in geom]
        frame["lat"] = [g.y if g is not None and not g.is_empty else np.nan for g in geom]
    else:
        frame["lon"] = np.nan
        frame["lat"] = np.nan
    crews: list[Crew] = []
    op_rank = {op: i for i, op in enumerate(OPERATORS)}
    keys = sorted(
        {(op, reg) for op, reg in zip(frame["operator"], frame["region"], strict=True)},
        key=lambda k: (op_rank[k[0]], k[1]),
    )
    for op, reg in keys:
        part = frame[(frame["operator"] == op) & (frame["region"] == reg)]
        lon = float(part["lon"].mean()) if part["lon"].notna().any() else math.nan
        lat = float(part["lat"].mean()) if part["lat"].notna().any() else math.nan
        for kind in kinds:
            crews.append(
                Crew(
                    crew_id=f"{OPERATOR_SLUGS[op]}-{_slug(reg)}-{kind}",
                    operator=op,
                    region=reg,
                    kind=kind,
                    count=int(settings.default_crew_count),
                    home_lon=round(lon, 6) if not math.isnan(lon) else lon,
                    home_lat=round(lat, 6) if not math.isnan(lat) else lat,
                )
            )
    return tuple(crews)


def _date_or_none(value: Any) -> dt.date | None:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    return to_date(value)


def build_problem(sites: pd.DataFrame, settings: ScheduleSettings) -> ProblemData:
    """Turn the sites (siting output: ``site_id, operator, group, power,
    province_code`` and optionally ``kind``, ``power_date``, ``deadline``,
    ``n_villages``, geometry) into :class:`ProblemData` on the working-day axis.

    Raises :class:`SchemaError` for bad site rows, :class:`ScenarioError` when no crew
    can do a task of a site, :class:`SolverError` when a site cannot finish inside the
    calendar horizon even alone.
    """
    _check_sites(sites)
    cal = settings.calendar
    crews = settings.crews if settings.crews is not None else default_crews(sites, settings)

    units: list[str] = []
    pool_index: dict[tuple[str, str, str], int] = {}
    pools: list[list[int]] = []
    for crew in crews:
        key = (crew.operator, crew.region, crew.kind)
        if key not in pool_index:
            pool_index[key] = len(pools)
            pools.append([])
        for uid in crew.unit_ids:
            pools[pool_index[key]].append(len(units))
            units.append(uid)

    order = np.argsort(sites["site_id"].astype(str).to_numpy(), kind="stable")
    kinds = _site_kind(sites)
    has_deadline_col = "deadline" in sites.columns
    has_power_date_col = "power_date" in sites.columns
    site_data: list[SiteData] = []
    for pos in order:
        row = sites.iloc[int(pos)]
        site_id = str(row["site_id"])
        kind = kinds[int(pos)]
        if kind not in settings.skip_tasks_by_kind:
            raise SchemaError(
                f"site {site_id}: kind {kind!r} is not one of "
                f"{', '.join(settings.skip_tasks_by_kind)}",
                column="kind",
            )
        group = str(row["group"])
        deadline = _date_or_none(row["deadline"]) if has_deadline_col else None
        if deadline is None:
            if group not in settings.deadlines:
                raise SchemaError(
                    f"site {site_id}: no deadline column value and group {group!r} has no "
                    f"deadline (groups with deadlines: {', '.join(settings.deadlines)})",
                    column="group",
                )
            deadline = to_date(settings.deadlines[group])
        power = str(row["power"])
        power_date = _date_or_none(row["power_date"]) if has_power_date_col else None
        if power == "grid" and power_date is None:
            raise SchemaError(
                f"site {site_id}: power is 'grid' but power_date is empty (the day grid "
                "power reaches the site; use power='solar' when there is none)",
                column="power_date",
            )
        if power == "solar":
            power_date = None
        release = 0 if power_date is None else max(0, cal.index_of(power_date, side="after"))
        operator = str(row["operator"])
        region = settings.region(str(row["province_code"]))
        tasks: list[TaskData] = []
        for tpl in settings.chain(kind, power):
            unit_ids: tuple[int, ...] = ()
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
                unit_ids = tuple(pools[pool])
            tasks.append(
                TaskData(
                    name=tpl.name,
                    duration=int(tpl.duration_days),
                    crew_kind=tpl.crew_kind,
                    release=release if tpl.name == "grid" else 0,
                    units=unit_ids,
                    pool=pool,
                )
            )
        n_villages = 1
        if "n_villages" in sites.columns and not pd.isna(row["n_villages"]):
            n_villages = int(row["n_villages"])
        site_data.append(
            SiteData(
                site_id=site_id,
                operator=operator,
                region=region,
                group=group,
                kind=kind,
                power=power,
                deadline=deadline,
                deadline_index=cal.index_of(deadline, side="before"),
                power_date=power_date,
                release_index=release,
                n_villages=n_villages,
                tasks=tuple(tasks),
            )
        )

    total = sum(t.duration for s in site_data for t in s.tasks)
    max_release = max((s.release_index for s in site_data), default=0)
    horizon = min(cal.horizon_index, max_release + total)
    for s in site_data:
        earliest = _earliest_finish(s)
        if earliest > horizon:
            raise SolverError(
                f"site {s.site_id} cannot finish inside the calendar horizon "
                f"({cal.horizon_days} days from {cal.start}, last working day "
                f"{cal.date_of(cal.horizon_index - 1)}) even with free crews: its chain "
                f"ends on working day {earliest} (power date {s.power_date}); "
                "extend the calendar's horizon_days"
            )
    return ProblemData(
        sites=tuple(site_data),
        crews=tuple(crews),
        units=tuple(units),
        pools=tuple(tuple(p) for p in pools),
        pool_keys=tuple(pool_index),
        horizon=horizon,
        calendar=cal,
        on_air_lag_days=int(settings.on_air_lag_days),
    )


def _earliest_finish(site: SiteData) -> int:
    """End index (exclusive) of the site's chain with crews always free."""
    t = 0
    for task in site.tasks:
        t = max(t, task.release) + task.duration
    return t


# --------------------------------------------------------------------------- result
@dataclass(frozen=True, eq=False)
class ScheduleResult:
    """A schedule (CP-SAT or greedy) and how good it is.

    tasks: ``site_id, operator, task, crew_id, start_date, finish_date`` (ISO dates;
        finish = last working day, inclusive; crew_id ``""`` for tasks without crew).
    sites: ``site_id, operator, group, deadline, finish_date, on_air_date, late_days``
        (ISO dates; late_days = calendar days after the deadline, 0 when on time).
    status: ``OPTIMAL`` / ``FEASIBLE`` (``INFEASIBLE``, ``MODEL_INVALID``, ``UNKNOWN``
        never come back: :func:`plan_builds` raises :class:`SolverError`).
    objective: ``W1·n_late + W2·tardiness + makespan`` (weights of
        :attr:`ProblemData.weights`, the same for both methods, so comparable).
    lower_bound: CP-SAT's proven bound on ``objective`` (NaN for the greedy).
    n_late, total_late_days: late sites and their calendar days late.
    total_tardiness_working_days, makespan_working_days: the other objective terms.
    n_late_lower_bound: sites that must be late in any schedule (from the bound).
    runtime_s: wall-clock seconds (not reproducible; never written to outputs).
    method: ``"cp-sat"`` or ``"greedy-edf"``.
    """

    tasks: pd.DataFrame
    sites: pd.DataFrame
    status: str
    objective: float
    lower_bound: float
    n_late: int
    total_late_days: int
    total_tardiness_working_days: int
    makespan_working_days: int
    n_late_lower_bound: int
    runtime_s: float
    summary: str
    method: str
    problem: ProblemData

    @property
    def lexicographic(self) -> tuple[int, int, int]:
        """``(sites late, total tardiness in working days, makespan in working days)``."""
        return (self.n_late, self.total_tardiness_working_days, self.makespan_working_days)


TASK_COLUMNS = ("site_id", "operator", "task", "crew_id", "start_date", "finish_date")
SITE_COLUMNS = (
    "site_id",
    "operator",
    "group",
    "deadline",
    "finish_date",
    "on_air_date",
    "late_days",
)


@dataclass(frozen=True)
class _Assignment:
    """A complete schedule on the index axis: start per (site, task) and the unit index
    doing it (-1 without crew)."""

    starts: tuple[tuple[int, ...], ...]
    units: tuple[tuple[int, ...], ...]


def _result(
    problem: ProblemData,
    settings: ScheduleSettings,
    assignment: _Assignment,
    *,
    status: str,
    lower_bound: float,
    late_lower_bound: int,
    runtime_s: float,
    method: str,
) -> ScheduleResult:
    cal = problem.calendar
    lag = dt.timedelta(days=problem.on_air_lag_days)
    task_rows: list[tuple[str, str, str, str, str, str]] = []
    site_rows: list[tuple[str, str, str, str, str, str, int]] = []
    n_late_wd = 0
    tard_total = 0
    makespan = 0
    waiting: list[tuple[SiteData, dt.date]] = []
    finishes: list[dt.date] = []
    for s_idx, site in enumerate(problem.sites):
        starts = assignment.starts[s_idx]
        units = assignment.units[s_idx]
        first = cal.iso_dates_of(starts)
        last = cal.iso_dates_of(
            [st + t.duration - 1 for st, t in zip(starts, site.tasks, strict=True)]
        )
        for t_idx, task in enumerate(site.tasks):
            unit = units[t_idx]
            task_rows.append(
                (
                    site.site_id,
                    site.operator,
                    task.name,
                    problem.units[unit] if unit >= 0 else "",
                    first[t_idx],
                    last[t_idx],
                )
            )
            if task.name == "grid" and t_idx > 0:
                prev_end = starts[t_idx - 1] + site.tasks[t_idx - 1].duration
                if starts[t_idx] == task.release and task.release > prev_end:
                    assert site.power_date is not None
                    waiting.append((site, site.power_date))
        end = starts[-1] + site.tasks[-1].duration  # exclusive index
        makespan = max(makespan, end)
        tard = max(0, end - 1 - site.deadline_index)
        tard_total += tard
        n_late_wd += tard > 0
        finish = dt.date.fromisoformat(last[-1])
        finishes.append(finish)
        late_days = max(0, (finish - site.deadline).days)
        site_rows.append(
            (
                site.site_id,
                site.operator,
                site.group,
                site.deadline.isoformat(),
                last[-1],
                (finish + lag).isoformat(),
                late_days,
            )
        )
    tasks = pd.DataFrame(task_rows, columns=list(TASK_COLUMNS))
    sites_df = pd.DataFrame(site_rows, columns=list(SITE_COLUMNS))
    sites_df["late_days"] = sites_df["late_days"].astype("int64")
    n_late = int((sites_df["late_days"] > 0).sum())
    # A site is late on the working-day axis exactly when it is late in calendar days.
    assert n_late == n_late_wd
    w1, w2, w3 = problem.weights
    objective = float(w1 * n_late + w2 * tard_total + w3 * makespan)
    late_lb = int(late_lower_bound)
    summary = _summary(
        problem,
        settings,
        sites_df,
        waiting,
        status=status,
        method=method,
        late_lb=late_lb,
    )
    return ScheduleResult(
        tasks=tasks,
        sites=sites_df,
        status=status,
        objective=objective,
        lower_bound=float(lower_bound),
        n_late=n_late,
        total_late_days=int(sites_df["late_days"].sum()),
        total_tardiness_working_days=int(tard_total),
        makespan_working_days=int(makespan),
        n_late_lower_bound=int(late_lb),
        runtime_s=float(runtime_s),
        summary=summary,
        method=method,
        problem=problem,
    )


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _summary(
    problem: ProblemData,
    settings: ScheduleSettings,
    sites_df: pd.DataFrame,
    waiting: list[tuple[SiteData, dt.date]],
    *,
    status: str,
    method: str,
    late_lb: int,
) -> str:
    """Plain planner text: per group the completion and on-air dates, power waits, late
    sites with how late."""
    label = "CP-SAT" if method == "cp-sat" else "greedy earliest-deadline-first"
    if not problem.sites:
        return f"{label}: no sites to build."
    n_tasks = sum(len(s.tasks) for s in problem.sites)
    lines = [
        f"{label} ({status}): {_plural(len(problem.sites), 'site')}, {n_tasks} tasks, "
        f"work from {problem.calendar.first_working_day.isoformat()} "
        f"to {max(sites_df['finish_date'])}."
    ]
    groups = sorted(
        {s.group for s in problem.sites},
        key=lambda g: (_GROUP_ORDER.index(g) if g in _GROUP_ORDER else len(_GROUP_ORDER), g),
    )
    by_site = {s.site_id: s for s in problem.sites}
    for group in groups:
        part = sites_df[sites_df["group"] == group]
        members = [by_site[i] for i in part["site_id"]]
        n_vill = sum(s.n_villages for s in members)
        deadlines = sorted({s.deadline for s in members})
        dl_text = ", ".join(d.isoformat() for d in deadlines)
        late = part[part["late_days"] > 0]
        head = f"{group}: {_plural(len(part), 'site')} serving {_plural(n_vill, 'village')}; "
        if late.empty:
            head += f"all complete by {max(part['finish_date'])} (deadline {dl_text})"
        else:
            head += (
                f"{len(late)} late, the others complete by "
                f"{max(part.loc[part['late_days'] == 0, 'finish_date'], default='—')} "
                f"(deadline {dl_text})"
            )
        on_air = max(part["on_air_date"])
        target = settings.on_air_targets.get(group)
        head += f"; on air by {on_air}"
        if target is not None:
            head += f" (target {to_date(target).isoformat()})"
        lines.append(head + ".")
        waits = [(s, d) for s, d in waiting if s.group == group]
        if waits:
            last = max(d for _, d in waits)
            verb = "waits" if len(waits) == 1 else "wait"
            lines.append(
                f"  {_plural(len(waits), 'site')} {verb} for grid power, the last until "
                f"{last.isoformat()}."
            )
        n_solar = sum(1 for s in members if s.power == "solar")
        if n_solar:
            lines.append(f"  {_plural(n_solar, 'site')} on solar+battery (no grid in time).")
    late_all = sites_df[sites_df["late_days"] > 0].sort_values(
        ["late_days", "site_id"], ascending=[False, True]
    )
    if late_all.empty:
        lines.append("No site is late.")
    else:
        lines.append(
            f"Late: {_plural(len(late_all), 'site')}, "
            f"{_plural(int(late_all['late_days'].sum()), 'day')} in total"
            + (
                f" (at least {_plural(late_lb, 'site')} must be late in any schedule)"
                if late_lb
                else ""
            )
            + ":"
        )
        shown = late_all.head(20)
        for site_id, operator, group, finish, late_days, deadline in zip(
            shown["site_id"],
            shown["operator"],
            shown["group"],
            shown["finish_date"],
            shown["late_days"].astype(int),
            shown["deadline"],
            strict=True,
        ):
            lines.append(
                f"  {site_id} ({operator}, {group}): finishes {finish}, "
                f"{_plural(int(late_days), 'day')} after {deadline}."
            )
        if len(late_all) > len(shown):
            lines.append(f"  … and {len(late_all) - len(shown)} more (see sites_schedule.csv).")
    return "\n".join(lines)


# --------------------------------------------------------------------------- greedy
def _serial_sgs(problem: ProblemData, order: list[tuple[int, int]]) -> _Assignment:
    """Serial schedule generation: take the tasks ``(site, task)`` in ``order`` (each
    after its chain predecessor) and start each as early as its predecessor, its
    release and a free gap of an eligible crew unit allow (the unit free earliest;
    ties: lowest unit index)."""
    busy: list[list[tuple[int, int]]] = [[] for _ in problem.units]  # sorted [start, end)
    starts = [[0] * len(s.tasks) for s in problem.sites]
    units = [[-1] * len(s.tasks) for s in problem.sites]
    for s_idx, t_idx in order:
        task = problem.sites[s_idx].tasks[t_idx]
        est = task.release
        if t_idx > 0:
            prev = problem.sites[s_idx].tasks[t_idx - 1]
            est = max(est, starts[s_idx][t_idx - 1] + prev.duration)
        start, unit = est, -1
        if task.units:
            best: tuple[int, int] | None = None
            for u in task.units:
                cand = _first_gap(busy[u], est, task.duration)
                if best is None or cand < best[0]:
                    best = (cand, u)
            assert best is not None
            start, unit = best
            _insert(busy[unit], start, start + task.duration)
        starts[s_idx][t_idx] = start
        units[s_idx][t_idx] = unit
    return _Assignment(starts=tuple(tuple(x) for x in starts), units=tuple(tuple(x) for x in units))


def _greedy_assignment(problem: ProblemData) -> _Assignment:
    """Earliest-deadline-first list scheduling: sites by (deadline index, power release,
    site_id), each site's whole chain in turn, through :func:`_serial_sgs`."""
    sites = sorted(
        range(len(problem.sites)),
        key=lambda i: (
            problem.sites[i].deadline_index,
            problem.sites[i].release_index,
            problem.sites[i].site_id,
        ),
    )
    return _serial_sgs(problem, [(s, t) for s in sites for t in range(len(problem.sites[s].tasks))])


def _left_justify(problem: ProblemData, assignment: _Assignment) -> _Assignment:
    """Shift a feasible schedule left: :func:`_serial_sgs` over its tasks in order of
    start (ties: site, then chain position), free to change crew units.

    No task starts later than before: when task ``j`` is placed, every task already
    placed started no later than ``j`` did and ends no later than it did, so the
    units busy over ``j``'s old slot are busy from its start, at most capacity − 1 of
    them; one unit is free for the whole slot. Hence no site ends later and no
    objective term grows. It removes the idle gaps a time-limited search leaves.
    """
    order = sorted(
        (assignment.starts[s][t], s, t)
        for s in range(len(problem.sites))
        for t in range(len(problem.sites[s].tasks))
    )
    return _serial_sgs(problem, [(s, t) for _, s, t in order])


def _first_gap(intervals: list[tuple[int, int]], earliest: int, duration: int) -> int:
    """Earliest t ≥ earliest with [t, t + duration) free of the sorted busy intervals."""
    t = earliest
    for a, b in intervals:
        if b <= t:
            continue
        if a >= t + duration:
            break
        t = b
    return t


def _insert(intervals: list[tuple[int, int]], a: int, b: int) -> None:
    pos = 0
    while pos < len(intervals) and intervals[pos][0] < a:
        pos += 1
    intervals.insert(pos, (a, b))


def greedy_schedule(sites: pd.DataFrame, settings: ScheduleSettings) -> ScheduleResult:
    """The yardstick: earliest-deadline-first list scheduler (see ``_greedy_assignment``),
    same inputs and result shape as :func:`plan_builds`; status ``FEASIBLE``, no bound."""
    t0 = time.perf_counter()
    problem = build_problem(sites, settings)
    assignment = _greedy_assignment(problem)
    return _result(
        problem,
        settings,
        assignment,
        status="FEASIBLE",
        lower_bound=math.nan,
        late_lower_bound=0,
        runtime_s=time.perf_counter() - t0,
        method="greedy-edf",
    )


# --------------------------------------------------------------------------- CP-SAT
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


class _CpModel:
    """CP-SAT model of some sites of a :class:`ProblemData` (one independent part):
    variables, constraints, objective with the problem's global weights."""

    def __init__(self, problem: ProblemData, site_indices: list[int]) -> None:
        self.problem = problem
        self.site_indices = site_indices
        self.model = cp_model.CpModel()
        self.starts: list[list[cp_model.IntVar]] = []
        self.presence: list[list[dict[int, Any]]] = []  # unit → literal (True if only one)
        self.unit_intervals: dict[int, list[cp_model.IntervalVar]] = {}
        self.pool_intervals: dict[int, list[cp_model.IntervalVar]] = {}
        self.tardiness: list[cp_model.IntVar] = []
        self.late: list[cp_model.IntVar] = []
        self._add_variables()
        self._add_precedences()
        self._add_crew_constraints()
        self._add_objective()

    def _sites(self) -> list[SiteData]:
        return [self.problem.sites[i] for i in self.site_indices]

    def _add_variables(self) -> None:
        m, horizon = self.model, self.problem.horizon
        for k, site in enumerate(self._sites()):
            # Domain tightening: earliest starts forward, latest starts backward.
            est: list[int] = []
            t = 0
            for task in site.tasks:
                t = max(t, task.release)
                est.append(t)
                t += task.duration
            lst: list[int] = [0] * len(site.tasks)
            t = horizon
            for i in range(len(site.tasks) - 1, -1, -1):
                t -= site.tasks[i].duration
                lst[i] = t
            starts, presence = [], []
            for t_idx, task in enumerate(site.tasks):
                name = f"{k}_{task.name}"
                start = m.new_int_var(est[t_idx], max(est[t_idx], lst[t_idx]), f"s{name}")
                interval = m.new_fixed_size_interval_var(start, task.duration, f"i{name}")
                lits: dict[int, Any] = {}
                if len(task.units) == 1:
                    lits[task.units[0]] = True
                    self.unit_intervals.setdefault(task.units[0], []).append(interval)
                elif task.units:
                    for u in task.units:
                        lit = m.new_bool_var(f"p{name}_{u}")
                        lits[u] = lit
                        self.unit_intervals.setdefault(u, []).append(
                            m.new_optional_fixed_size_interval_var(
                                start, task.duration, lit, f"o{name}_{u}"
                            )
                        )
                    m.add_exactly_one(list(lits.values()))
                if task.pool >= 0:
                    self.pool_intervals.setdefault(task.pool, []).append(interval)
                starts.append(start)
                presence.append(lits)
            self.starts.append(starts)
            self.presence.append(presence)

    def _add_precedences(self) -> None:
        for k, site in enumerate(self._sites()):
            st = self.starts[k]
            for i in range(len(site.tasks) - 1):
                self.model.add(st[i] + site.tasks[i].duration <= st[i + 1])

    def _add_crew_constraints(self) -> None:
        # Seam for travel: a later issue replaces the per-unit no-overlap by a sequence
        # (circuit / transition times from the units' home bases and site locations).
        for u in sorted(self.unit_intervals):
            if len(self.unit_intervals[u]) > 1:
                self.model.add_no_overlap(self.unit_intervals[u])
        for pool in sorted(self.pool_intervals):
            intervals = self.pool_intervals[pool]
            capacity = len(self.problem.pools[pool])
            if capacity > 1 and len(intervals) > capacity:
                self.model.add_cumulative(intervals, [1] * len(intervals), capacity)

    def _add_objective(self) -> None:
        m, horizon = self.model, self.problem.horizon
        ends = []
        for k, site in enumerate(self._sites()):
            end = self.starts[k][-1] + site.tasks[-1].duration
            ends.append(end)
            ub = max(0, horizon - 1 - site.deadline_index)
            tard = m.new_int_var(0, ub, f"tard{k}")
            late = m.new_bool_var(f"late{k}")
            m.add(tard >= end - 1 - site.deadline_index)
            if ub > 0:
                m.add(tard <= ub * late)
                m.add(tard >= 1).only_enforce_if(late)
            else:
                m.add(late == 0)
            self.tardiness.append(tard)
            self.late.append(late)
        self.makespan = m.new_int_var(0, horizon, "makespan")
        m.add_max_equality(self.makespan, ends)
        self._add_energy_cuts()
        w1, w2, w3 = self.problem.weights
        m.minimize(w1 * sum(self.late) + w2 * sum(self.tardiness) + w3 * self.makespan)

    def _add_energy_cuts(self) -> None:
        """Redundant cuts that let the LP bound the number of late sites.

        A site on time (``late = 0``) must run each task ``t`` inside its window
        ``[est_t, lft_t)``: ``est_t`` from the chain and release before it, ``lft_t`` =
        the deadline's last working day + 1 − the durations after ``t``. For a crew pool
        of capacity ``c`` and any window ``[a, b)``, the on-time sites whose pool tasks
        must lie inside it need ``Σ (1 − late_s)·d_s ≤ c·(b − a)``. A cut is added only
        where it bites (all those tasks together exceed ``c·(b − a)``), at most
        ``_MAX_CUTS_PER_POOL`` per pool (the most overloaded windows); a site that
        cannot be on time even alone gets ``late = 1``.
        """
        m = self.model
        items: dict[int, list[tuple[int, int, int, int]]] = {}  # pool → (k, est, lft, dur)
        for k, site in enumerate(self._sites()):
            est, t = [], 0
            for task in site.tasks:
                t = max(t, task.release)
                est.append(t)
                t += task.duration
            if t - 1 > site.deadline_index:
                m.add(self.late[k] == 1)
                continue
            after = 0
            for i in range(len(site.tasks) - 1, -1, -1):
                task = site.tasks[i]
                lft = site.deadline_index + 1 - after
                after += task.duration
                if task.pool >= 0:
                    items.setdefault(task.pool, []).append((k, est[i], lft, task.duration))
        for pool in sorted(items):
            cap = len(self.problem.pools[pool])
            rows = items[pool]
            est_a = np.array([r[1] for r in rows])
            lft_a = np.array([r[2] for r in rows])
            dur_a = np.array([r[3] for r in rows])
            cuts: list[tuple[float, int, int]] = []
            for b in np.unique(lft_a):
                for a in np.unique(est_a[lft_a <= b]):
                    if a >= b:
                        continue
                    inside = (est_a >= a) & (lft_a <= b)
                    energy = int(dur_a[inside].sum())
                    if energy > cap * (b - a):
                        cuts.append((energy / (cap * (b - a)), int(a), int(b)))
            cuts.sort(key=lambda c: (-c[0], c[1], c[2]))
            for _, a, b in cuts[:_MAX_CUTS_PER_POOL]:
                per_site: dict[int, int] = {}
                for (k, _, _, d), ok in zip(rows, (est_a >= a) & (lft_a <= b), strict=True):
                    if ok:
                        per_site[k] = per_site.get(k, 0) + d
                m.add(
                    sum(d * (1 - self.late[k]) for k, d in sorted(per_site.items()))
                    <= cap * (b - a)
                )

    def add_hint(self, assignment: _Assignment) -> None:
        """A complete hint from another schedule (the greedy one) if it fits the horizon."""
        horizon = self.problem.horizon
        sites = self._sites()
        ends = [
            assignment.starts[s_idx][-1] + site.tasks[-1].duration
            for s_idx, site in zip(self.site_indices, sites, strict=True)
        ]
        if max(ends, default=0) > horizon:
            return
        m = self.model
        for k, (s_idx, site) in enumerate(zip(self.site_indices, sites, strict=True)):
            for t_idx in range(len(site.tasks)):
                m.add_hint(self.starts[k][t_idx], assignment.starts[s_idx][t_idx])
                for u, lit in self.presence[k][t_idx].items():
                    if lit is not True:
                        m.add_hint(lit, u == assignment.units[s_idx][t_idx])
            tard = max(0, ends[k] - 1 - site.deadline_index)
            m.add_hint(self.tardiness[k], tard)
            m.add_hint(self.late[k], tard > 0)
        m.add_hint(self.makespan, max(ends, default=0))

    def read(
        self, solver: cp_model.CpSolver, starts: list[tuple[int, ...]], units: list[tuple[int, ...]]
    ) -> None:
        """Write the solution of this part into the global ``starts``/``units`` lists."""
        for k, (s_idx, site) in enumerate(zip(self.site_indices, self._sites(), strict=True)):
            s_starts, s_units = [], []
            for t_idx in range(len(site.tasks)):
                s_starts.append(int(solver.value(self.starts[k][t_idx])))
                chosen = -1
                for u, lit in self.presence[k][t_idx].items():
                    if lit is True or solver.boolean_value(lit):
                        chosen = u
                        break
                s_units.append(chosen)
            starts[s_idx] = tuple(s_starts)
            units[s_idx] = tuple(s_units)


def _solver(settings: ScheduleSettings, max_deterministic_time: float) -> cp_model.CpSolver:
    solver = cp_model.CpSolver()
    params = solver.parameters
    params.max_deterministic_time = float(max_deterministic_time)
    params.random_seed = int(settings.seed)
    params.num_workers = int(settings.num_workers)
    params.interleave_search = bool(settings.interleave_search)
    params.log_search_progress = False
    return solver


def plan_builds(sites: pd.DataFrame, settings: ScheduleSettings) -> ScheduleResult:
    """Schedule every site's build chain with CP-SAT (see the module docstring).

    sites: the siting output (GeoDataFrame or DataFrame): ``site_id, operator, group,
    power (grid/solar), province_code`` and optionally ``kind`` (new/upgrade),
    ``power_date`` (required for grid), ``deadline``, ``n_villages``.

    Sites that share no crew pool (different operator × region with the default crews)
    are independent, so each part is solved as its own CP-SAT model, in a fixed order,
    with a share of ``max_deterministic_time`` proportional to its number of tasks; the
    sum of the parts' lexicographic optima is the whole's optimum. ``status`` is
    ``OPTIMAL`` only when every part is proven optimal.

    A late plan is a result (``n_late > 0``, listed in ``summary``). Raises
    :class:`SolverError` when CP-SAT returns no schedule for a part (INFEASIBLE,
    MODEL_INVALID, or UNKNOWN: no solution within its time share).
    """
    t0 = time.perf_counter()
    problem = build_problem(sites, settings)
    n = len(problem.sites)
    if n == 0:
        empty = _Assignment(starts=(), units=())
        return _result(
            problem,
            settings,
            empty,
            status="OPTIMAL",
            lower_bound=0.0,
            late_lower_bound=0,
            runtime_s=0.0,
            method="cp-sat",
        )
    greedy = _greedy_assignment(problem)
    parts = _components(problem)
    sizes = [sum(len(problem.sites[i].tasks) for i in part) for part in parts]
    total_size = sum(sizes)
    starts: list[tuple[int, ...]] = [()] * n
    units: list[tuple[int, ...]] = [()] * n
    all_optimal = True
    bound_sum = 0.0
    late_lb = 0
    for part, size in zip(parts, sizes, strict=True):
        # A fixed share per part (CP-SAT's interleaved batches overshoot small limits, so
        # handing on what a part leaves would starve the parts after it).
        budget = max(_MIN_PART_TIME, float(settings.max_deterministic_time) * size / total_size)
        cp = _CpModel(problem, part)
        cp.add_hint(greedy)
        solver = _solver(settings, budget)
        code = solver.solve(cp.model)
        status = STATUS_NAMES.get(code, f"UNRECOGNISED_{code}")
        if status not in ("OPTIMAL", "FEASIBLE"):
            raise SolverError(_no_solution_message(problem, settings, part, status, budget, cp))
        all_optimal &= status == "OPTIMAL"
        bound = float(solver.best_objective_bound)
        bound_sum += bound
        # Inside one part W2·tardiness + makespan < W1, so ⌊bound / W1⌋ late sites are
        # proven there (not across parts: their makespans add up in the sum).
        late_lb += max(0, math.floor(bound + 1e-6) // problem.weights[0])
        cp.read(solver, starts, units)
    assignment = _left_justify(problem, _Assignment(starts=tuple(starts), units=tuple(units)))
    # Σ part objectives counts each part's makespan; the whole counts only the largest,
    # so Σ bounds − (parts − 1)·H is a valid bound on the whole (exact when optimal).
    lower_bound = bound_sum - (len(parts) - 1) * problem.horizon
    result = _result(
        problem,
        settings,
        assignment,
        status="OPTIMAL" if all_optimal else "FEASIBLE",
        lower_bound=max(0.0, lower_bound),
        late_lower_bound=late_lb,
        runtime_s=time.perf_counter() - t0,
        method="cp-sat",
    )
    if all_optimal:
        result = replace(result, lower_bound=result.objective)
    return result


def _no_solution_message(
    problem: ProblemData,
    settings: ScheduleSettings,
    part: list[int],
    status: str,
    budget: float,
    cp: _CpModel,
) -> str:
    cal = problem.calendar
    first = problem.sites[part[0]]
    where = (
        f"{len(part)} sites of {first.operator} in region {first.region!r} (first {first.site_id})"
    )
    if status == "INFEASIBLE":
        why = (
            "the crews cannot fit every task before the end of the calendar horizon "
            f"(working day {problem.horizon}, {cal.date_of(problem.horizon - 1)}); extend "
            "the calendar's horizon_days or add crews"
        )
    elif status == "MODEL_INVALID":
        why = f"the model is invalid ({cp.model.validate() or 'no detail'}): a bug"
    else:
        why = (
            f"no schedule found within its share ({budget:.2f}) of max_deterministic_time="
            f"{settings.max_deterministic_time}; raise it"
        )
    return f"CP-SAT returned {status} for {where}: {why}"
