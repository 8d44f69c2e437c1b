"""Build scheduler: CP-SAT in lexicographic stages, plus a greedy yardstick (DESIGN §6).

Layers (PyJobShop style):

1. :class:`ScheduleSettings` (+ :class:`Crew`, :class:`TaskTemplate`,
   :class:`covgap.calendar.RainWindow`) — the scenario's part, documented defaults;
2. :func:`build_problem` → :class:`ProblemData` — the sites turned into integer data on
   each region's tick axis (task chains, crew pools, release and deadline ticks, travel
   between sites, fixed work from a progress file); no solver objects;
3. the CP-SAT model (``_PartModel``), solved stage by stage by :func:`plan_builds`;
   :func:`greedy_schedule` is the earliest-deadline-first list scheduler with
   nearest-neighbour crew moves on the same :class:`ProblemData`;
4. :class:`ScheduleResult` — ``tasks`` (``schedule.csv``), ``sites``
   (``sites_schedule.csv``), status as data, objective terms and bounds, the greedy's
   figures, what moved since a previous plan, why sites are late and the least extra
   crews that would put them on time, a plain-text summary.

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

**Crews.** Units of one operator × region × kind are identical, so the model holds one
``add_cumulative`` per pool with capacity = the number of units, not one optional
interval per unit (no symmetry, far fewer variables); units are assigned afterwards by a
serial schedule-generation pass that also places every crew move.

**Travel.** A unit moving between sites drives ``great-circle × road_factor`` km at the
region's speed; hours become ticks (rounded up) of ``work_hours_per_day /
ticks_per_day`` hours each. In the model each crew interval is extended in front by its
*least possible* inbound move (from the nearest other site of the pool, or a home base,
0 after another task of the same site): a relaxation, so CP-SAT's bounds stay valid
bounds of the real problem. The decoder then places tasks in the solver's start order
with the real moves (unit chosen: earliest start, then nearest, then lowest index); a
schedule that satisfies the real moves also satisfies the relaxation, so each decoded
plan is the hint of the next stage. Every crew's sequence in the output respects its
real travel times.

**Objective**, lexicographic, solved in stages per independent part (sites that share
no crew pool: with crews per operator × region, each operator × region is a part, so
the parts' optima add up to the whole's):

1. *most sites on time*: each site's intervals are optional with one presence literal
   (present ⇔ on time, hard deadline); a late site can always be appended after the
   on-time work, so ``n − max on-time`` is the least number of late sites. Redundant
   energy cuts per pool (``Σ_on-time d ≤ capacity × window``) give the LP its bound;
2. *least total tardiness* (ticks) with ``Σ late ≤`` stage 1's count;
3. *least makespan* with the tardiness fixed (only when stage 2 proved its optimum).

Fewer late sites come first, so a CP-SAT plan may have fewer late sites but more late
days than the greedy; both are printed.

Each stage starts from the best plan so far (a complete hint): the heuristics
(earliest-deadline-first per site, the same dropping a site that would end late —
Moore–Hodgson style —, a block-level latest-start list, and a travel-aware dispatch: the
unit free first takes the visit with the best apparent tardiness cost with setups, an
ATCS rule weighing the visit's slack against the drive to it, over a grid of its two
scales) and, while a level is above its bound, a seeded local search on the real plan (a
crew visit moved in its pool's order, the plan rebuilt with the real moves), before and
after the on-time solve. The part's answer is the lexicographically best plan seen (so
CP-SAT never reports worse than the yardstick).

**Bounds** (``_part_bound``), valid for the real problem, with their source printed:
per site, the chain alone (release dates, least moves); per crew pool, lower bounds on
the k-th smallest completion of its visits (order statistics: of ``units + 1`` visits one
has ended before the last starts; the visits between two ranks hold their least total
work; start ranks inherited through the chain from earlier pools), and the least-cost
assignment of sites to those ranks (a site finishing its last visit k-th ends no earlier
than its chain from there) bounds the late count (0/1 costs) and the total tardiness;
with the late count capped, a Lagrangian dual of the same assignment. For the tardiness
level also the LP relaxation of a time-indexed model by working days (GLOP; travel dropped,
durations and release dates rounded down, deadlines up: a relaxation whose optimum starts
every visit on a day boundary), which sees every pool and the chains at once
(``lp_bound_max_columns``). The proven values enter the stage models as redundant
constraints, so CP-SAT's bound starts there, and a level whose plan meets its bound is not
solved again.

**Determinism.** A fixed ``random_seed``, a deterministic time limit per solve (a share
of ``max_deterministic_time`` by part size and stage; what a solve leaves carries on),
and either one worker or ``interleave_search``; the wall-clock limit
``max_wall_time_s`` is a backstop only (when it bites, the result says so).

**Late plans.** Each late site gets its reasons (``power date``: the chain from the
power date alone ends after the deadline; ``travel``: even with units of its own driving
from their bases it ends late; ``crew capacity``: the pools that need more units), and
:func:`least_extra_crews` searches the fewest extra units per pool that put every other
site on time: a lower bound per pool (its order-statistics bound with every other pool
unlimited), then units added where they help most and taken back where the plan can
spare them, each count checked with real plans; ``OPTIMAL`` when the count found equals
the lower bound (proven least), ``FEASIBLE`` (enough, not proven least) otherwise.

**Re-planning.** ``plan_builds(…, progress=…, previous=…)``: ``done`` tasks are kept as
they were and leave the model; a ``started`` task keeps its unit and runs on from the
planning start for the working days it still needs; the previous plan's starts are the
first hint, and :attr:`ScheduleResult.moved` lists every task whose dates changed.

Not modelled: exact crew routing (a circuit per unit) — the relaxation + decoder above
replaces it on every pool size; costs of extra crews (every extra unit counts 1).
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import math
import random
import re
import time
import unicodedata
from bisect import bisect_left
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from ortools.graph.python import linear_sum_assignment
from ortools.linear_solver import pywraplp
from ortools.sat.python import cp_model

from .admin import REGION_OF_PROVINCE
from .calendar import RainWindow, TickAxis, WorkCalendar, to_date
from .errors import ScenarioError, SchemaError, SolverError
from .schema import OPERATOR_SLUGS, OPERATORS

__all__ = [
    "CREW_KINDS",
    "DEFAULT_TASKS",
    "PROGRESS_STATUSES",
    "SITE_COLUMNS",
    "STATUS_NAMES",
    "TASK_COLUMNS",
    "TASK_ORDER",
    "Crew",
    "ExtraCrews",
    "ProblemData",
    "RainWindow",
    "ScheduleResult",
    "ScheduleSettings",
    "SiteData",
    "TaskData",
    "TaskTemplate",
    "build_problem",
    "default_crews",
    "greedy_schedule",
    "least_extra_crews",
    "plan_builds",
    "solve_rcpsp",
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
#: Task states a progress file may give.
PROGRESS_STATUSES: tuple[str, ...] = ("done", "started")
#: Every CP-SAT status, mapped explicitly to the name the result carries.
STATUS_NAMES: dict[Any, str] = {
    cp_model.OPTIMAL: "OPTIMAL",
    cp_model.FEASIBLE: "FEASIBLE",
    cp_model.INFEASIBLE: "INFEASIBLE",
    cp_model.MODEL_INVALID: "MODEL_INVALID",
    cp_model.UNKNOWN: "UNKNOWN",
}
TASK_COLUMNS: tuple[str, ...] = (
    "site_id",
    "operator",
    "task",
    "crew_id",
    "start_date",
    "finish_date",
)
SITE_COLUMNS: tuple[str, ...] = (
    "site_id",
    "operator",
    "group",
    "deadline",
    "finish_date",
    "on_air_date",
    "late_days",
)

_GROUP_ORDER: tuple[str, ...] = ("low_signal_powered", "low_signal_unpowered")
#: Energy cuts kept per crew pool (see ``_PartModel._add_energy_cuts``).
_MAX_CUTS_PER_POOL = 60
#: Share of a part's deterministic time per stage (on time, tardiness, makespan).
_STAGE_SHARES = (0.45, 0.45, 0.10)
#: Columns of the time-indexed LP bound a part may use per unit of its deterministic time
#: (GLOP takes about twice the wall time of a unit of CP-SAT's on that many).
_LP_COLUMNS_PER_DET = 16_000
#: Local search before a part's on-time solve, in units of the part's deterministic time
#: (times ``local_search_rate``): on the sample it improves plans more per second than
#: CP-SAT on the relaxed model does (mean tardiness over seeds 0–2: 2,770 → 2,381 ticks).
_LOCAL_SEARCH_FIRST = 1.8
#: Share of the least-extra-crews budget for the relaxations that bound the parts (the
#: rest checks candidate counts with real plans): proofs need it, the checks gained
#: nothing from more on the sample.
_EXTRA_RELAXED_SHARE = 0.8
#: Smallest deterministic time given to one solve.
_MIN_SOLVE_TIME = 0.05
_EARTH_RADIUS_KM = 6371.0088


@dataclass(frozen=True)
class TaskTemplate:
    """One build task: its duration in working days (> 0; fractions allowed) and the crew
    kind it needs (``None``: no crew, e.g. a permit is the authority's time)."""

    name: str
    duration_days: float
    crew_kind: str | None = None

    def __post_init__(self) -> None:
        if self.name not in TASK_ORDER:
            raise ScenarioError(
                f"unknown task {self.name!r}: tasks are {', '.join(TASK_ORDER)}", column="tasks"
            )
        if not (math.isfinite(float(self.duration_days)) and float(self.duration_days) > 0):
            raise ScenarioError(
                f"task {self.name!r}: duration_days must be > 0 working days, "
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
    named ``<crew_id>/1 … <crew_id>/<count>``, based at ``home_lon``/``home_lat``
    (EPSG:4326 degrees; NaN = unknown: no move from home is counted)."""

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
        for name in ("home_lon", "home_lat"):
            v = float(getattr(self, name))
            object.__setattr__(self, name, v)
        if not math.isnan(self.home_lon) and not -180 <= self.home_lon <= 180:
            raise ScenarioError(f"crew {self.crew_id}: home_lon {self.home_lon} out of range")
        if not math.isnan(self.home_lat) and not -90 <= self.home_lat <= 90:
            raise ScenarioError(f"crew {self.crew_id}: home_lat {self.home_lat} out of range")

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
    return {"new": (), "upgrade": ("civil", "tower"), "colocation": ("tower",)}


def _default_speeds() -> dict[str, float]:
    # Mountain roads in the north and the highlands, flat but canal-cut in the Mekong.
    return {
        "Northwest": 25.0,
        "Northeast": 30.0,
        "Central Highlands": 30.0,
        "North Central": 35.0,
        "South Central Coast": 35.0,
        "Mekong Delta": 30.0,
        "Red River Delta": 40.0,
        "Southeast": 40.0,
    }


def _default_backhaul_days() -> dict[str, float]:
    return {"fibre": 4.0, "microwave": 2.0, "satellite": 1.0}


@dataclass(frozen=True)
class ScheduleSettings:
    """Scheduler settings (the scenario's ``[schedule]`` part).

    calendar: working days; ``calendar.start`` is the planning start (2025-07-15),
        Sundays and 2025-09-01/02 off, 730-day horizon.
    crews: crew types; ``None`` → :func:`default_crews` builds ``default_crew_count``
        units of every needed kind per operator × region present in the sites.
    default_crew_count: units per default crew type (2).
    tasks: task templates (:data:`DEFAULT_TASKS`); every name of :data:`TASK_ORDER` once.
    skip_tasks_by_kind: tasks a site kind skips (``upgrade``: civil and tower;
        ``colocation``: tower).
    backhaul_duration_days: backhaul task duration by the site's ``backhaul`` value
        (fibre 4, microwave 2, satellite 1 working days); other values use the template.
    duration_factor_by_province: province_code → factor on every task of its sites
        (terrain; default none = 1). A site's own ``duration_factor`` column multiplies.
    deadlines: per group, inclusive (31 Aug / 30 Nov 2025); a site's own ``deadline``
        column, when present and not NaT, wins (siting sets it, DESIGN §3).
    on_air_lag_days: calendar days from the end of integration to on-air (10).
    on_air_targets: per group, the on-air target the summary reports against
        (14 Sep 2025 for the powered group).
    region_of: province_code → planning region, a mapping or a callable; ``None`` →
        ``covgap.admin.REGION_OF_PROVINCE`` (the eight socio-economic regions). A site's
        own ``region`` column wins.
    ticks_per_day: the clock's resolution (4 ticks per working day).
    work_hours_per_day: hours in a working day (8): a tick is ``8 / 4 = 2`` hours.
    rain_windows: rainy-season slow-downs (:class:`RainWindow`: region or ``"*"``,
        start, end, factor ≥ 1); none by default.
    travel: count crew moves between sites (True).
    road_factor: road distance / great-circle distance (1.4).
    speed_kmh: road speed where the region has none in ``speed_kmh_by_region`` (35).
    speed_kmh_by_region: road speed per planning region, km/h (25 Northwest … 40 deltas).
    max_deterministic_time: CP-SAT deterministic time over all parts and stages (10).
    max_wall_time_s: wall-clock backstop over the whole solve (300 s); when it bites the
        plan is still valid but may differ from run to run, and the result says so.
    explain_deterministic_time: deterministic time for :func:`least_extra_crews` (4).
    explain_late: compute reasons and least extra crews when sites are late (True).
    max_extra_units_per_pool: search limit of :func:`least_extra_crews` (20).
    route_max_visits: crew pools with at most this many visits get exact routes in the
        model (a multiple circuit, O(visits²) arcs); larger pools keep the travel
        relaxation, the decoder and the local search (6: circuits cost far more wall time
        than CP-SAT's deterministic time counts — 20 made the sample's solves ~3× slower
        for no better plan).
    local_search_rate: work of the local search (a visit moved in a crew's order, the
        plan rebuilt with the real moves, kept when no worse), in visits placed per unit of
        deterministic time a part is given (200,000: about 1,000 rebuilds of a 35-site
        part); the search before the on-time solve gets 1.8 units' worth, the later ones
        about 0.2 each; 0 turns it off. A seeded search: the same inputs give the same plan.
    lp_bound_max_columns: the tardiness level's bound also comes from the LP relaxation of
        a time-indexed model by working days (no travel: a bound, never a plan), for parts
        whose model has at most this many columns and at most 16,000 per unit of the part's
        deterministic time (40,000: the sample's largest part, 35 sites, about 21,000
        columns, solves in about 4–5 s); 0 turns it off.
    seed: CP-SAT ``random_seed`` (0), also the local search's seed.
    num_workers: CP-SAT workers (2); reproducible with ``interleave_search=True`` or
        ``num_workers=1``.
    interleave_search: CP-SAT interleaved (deterministic) parallel search (True).
    """

    calendar: WorkCalendar = field(default_factory=WorkCalendar)
    crews: tuple[Crew, ...] | None = None
    default_crew_count: int = 2
    tasks: tuple[TaskTemplate, ...] = DEFAULT_TASKS
    skip_tasks_by_kind: Mapping[str, tuple[str, ...]] = field(default_factory=_default_skips)
    backhaul_duration_days: Mapping[str, float] = field(default_factory=_default_backhaul_days)
    duration_factor_by_province: Mapping[str, float] = field(default_factory=dict)
    deadlines: Mapping[str, dt.date] = field(default_factory=_default_deadlines)
    on_air_lag_days: int = 10
    on_air_targets: Mapping[str, dt.date] = field(default_factory=_default_targets)
    region_of: Mapping[str, str] | Callable[[str], str] | None = None
    ticks_per_day: int = 4
    work_hours_per_day: float = 8.0
    rain_windows: tuple[RainWindow, ...] = ()
    travel: bool = True
    road_factor: float = 1.4
    speed_kmh: float = 35.0
    speed_kmh_by_region: Mapping[str, float] = field(default_factory=_default_speeds)
    max_deterministic_time: float = 10.0
    max_wall_time_s: float = 300.0
    explain_deterministic_time: float = 4.0
    explain_late: bool = True
    max_extra_units_per_pool: int = 20
    route_max_visits: int = 6
    local_search_rate: float = 200_000.0
    lp_bound_max_columns: int = 40_000
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
        for key, value in self.backhaul_duration_days.items():
            if not float(value) > 0:
                raise ScenarioError(
                    f"backhaul_duration_days[{key!r}] must be > 0, got {value}",
                    column="backhaul_duration_days",
                )
        for key, value in self.duration_factor_by_province.items():
            if not float(value) > 0:
                raise ScenarioError(
                    f"duration_factor_by_province[{key!r}] must be > 0, got {value}",
                    column="duration_factor_by_province",
                )
        checks: list[tuple[str, bool]] = [
            ("default_crew_count must be ≥ 1", int(self.default_crew_count) >= 1),
            ("on_air_lag_days must be ≥ 0", int(self.on_air_lag_days) >= 0),
            ("max_deterministic_time must be > 0", float(self.max_deterministic_time) > 0),
            ("max_wall_time_s must be > 0", float(self.max_wall_time_s) > 0),
            ("explain_deterministic_time must be > 0", float(self.explain_deterministic_time) > 0),
            ("max_extra_units_per_pool must be ≥ 1", int(self.max_extra_units_per_pool) >= 1),
            ("local_search_rate must be ≥ 0", float(self.local_search_rate) >= 0),
            ("lp_bound_max_columns must be ≥ 0", int(self.lp_bound_max_columns) >= 0),
            ("num_workers must be ≥ 1", int(self.num_workers) >= 1),
            ("ticks_per_day must be between 1 and 48", 1 <= int(self.ticks_per_day) <= 48),
            ("work_hours_per_day must be in (0, 24]", 0 < float(self.work_hours_per_day) <= 24),
            ("road_factor must be ≥ 1", float(self.road_factor) >= 1),
            ("speed_kmh must be > 0", float(self.speed_kmh) > 0),
        ]
        for message, ok in checks:
            if not ok:
                raise ScenarioError(message, column=message.split()[0])
        for key, value in self.speed_kmh_by_region.items():
            if not float(value) > 0:
                raise ScenarioError(
                    f"speed_kmh_by_region[{key!r}] must be > 0, got {value}",
                    column="speed_kmh_by_region",
                )
        if self.crews is not None:
            ids = [c.crew_id for c in self.crews]
            dup = sorted({i for i in ids if ids.count(i) > 1})
            if dup:
                raise ScenarioError(f"duplicate crew_id {', '.join(dup)}", column="crews")
            used = {t.crew_kind for t in self.tasks if t.crew_kind is not None}
            for c in self.crews:
                if c.kind not in used:
                    raise ScenarioError(
                        f"crew {c.crew_id}: kind {c.kind!r} is used by no task (task crew "
                        f"kinds: {', '.join(sorted(used))})",
                        column="crews",
                    )

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
        (grid 2 + equipment 2 + backhaul 2 + integration 1 = 7 by default), rounded up:
        siting uses it to judge whether a ``power_eta`` comes in time for a deadline."""
        chain = self.chain(kind, power)
        names = [t.name for t in chain]
        if power not in names:  # a site kind that skips the power task
            return 0
        return math.ceil(sum(float(t.duration_days) for t in chain[names.index(power) :]) - 1e-9)

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

    def speed_kmh_in(self, region: str) -> float:
        """Road speed of a region (km/h)."""
        return float(self.speed_kmh_by_region.get(region, self.speed_kmh))


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


class _Travel:
    """Travel ticks between the sites of one part and from the units' homes (cached)."""

    def __init__(self, problem: ProblemData, site_indices: Sequence[int]) -> None:
        self.problem = problem
        self.local = {s: k for k, s in enumerate(site_indices)}
        sites = [problem.sites[i] for i in site_indices]
        self.lon = np.array([s.lon for s in sites], dtype=float)
        self.lat = np.array([s.lat for s in sites], dtype=float)
        self.region = sites[0].region if sites else ""
        n = len(sites)
        if n and problem.travel:
            hours = problem.travel_hours(
                self.lon[:, None],
                self.lat[:, None],
                self.lon[None, :],
                self.lat[None, :],
                self.region,
            )
            self.site_ticks = problem.ticks_of_hours(hours)
            self.site_hours = np.asarray(hours, dtype=float)
        else:
            self.site_ticks = np.zeros((n, n), dtype=np.int64)
            self.site_hours = np.zeros((n, n))
        self._ticks: list[list[int]] = self.site_ticks.tolist()  # plain lists: fast lookups
        self._home: dict[int, np.ndarray] = {}
        self._home_list: dict[int, list[int]] = {}
        self._blocks: dict[int, list[Block]] = {}

    def blocks(self, site: int) -> list[Block]:
        """:func:`_blocks` of a site of the part (cached)."""
        out = self._blocks.get(site)
        if out is None:
            out = self._blocks[site] = _blocks(self.problem.sites[site])
        return out

    def between(self, a: int, b: int) -> int:
        """Ticks from site ``a`` to site ``b`` (global site indices)."""
        if a == b:
            return 0
        return self._ticks[self.local[a]][self.local[b]]

    def home(self, unit: int) -> np.ndarray:
        """Ticks from the unit's home to every site of the part."""
        if unit not in self._home:
            hl, ht = self.problem.unit_home[unit]
            if not self.problem.travel or math.isnan(hl) or math.isnan(ht) or not len(self.lon):
                self._home[unit] = np.zeros(len(self.lon), dtype=np.int64)
            else:
                h = self.problem.travel_hours(hl, ht, self.lon, self.lat, self.region)
                self._home[unit] = self.problem.ticks_of_hours(h)
        return self._home[unit]

    def from_home(self, unit: int, site: int) -> int:
        row = self._home_list.get(unit)
        if row is None:
            row = self._home_list[unit] = [int(x) for x in self.home(unit)]
        return row[self.local[site]]

    def pool_home(self, pool: int, site: int) -> int:
        """Least move from a home of the pool's units to ``site``."""
        return min(self.from_home(u, site) for u in self.problem.pools[pool])


def _min_inbound(
    problem: ProblemData, part: Sequence[int], travel: _Travel
) -> dict[tuple[int, int], int]:
    """Per crew block ``(site, block)`` the least move any unit could make to reach it:
    the least of the moves from another site of the pool and from the pool's homes."""
    by_pool: dict[int, list[int]] = {}
    for s in part:
        for b in _blocks(problem.sites[s]):
            if b[2] >= 0 and s not in by_pool.setdefault(b[2], []):
                by_pool[b[2]].append(s)
    least_of: dict[tuple[int, int], int] = {}
    for pool, members in by_pool.items():
        loc = np.array([travel.local[s] for s in members])
        sub = travel.site_ticks[np.ix_(loc, loc)].astype(float)
        np.fill_diagonal(sub, np.inf)
        from_sites = sub.min(axis=0) if len(members) > 1 else np.full(len(members), np.inf)
        homes = np.min([travel.home(u)[loc] for u in problem.pools[pool]], axis=0)
        least = np.minimum(from_sites, homes)
        for k, s in enumerate(members):
            least_of[(s, pool)] = int(least[k])
    out: dict[tuple[int, int], int] = {}
    for s in part:
        seen: set[int] = set()
        for b_idx, b in enumerate(_blocks(problem.sites[s])):
            if b[2] >= 0:
                # A second visit of the same pool to the same site may follow the first.
                out[(s, b_idx)] = 0 if b[2] in seen else least_of[(s, b[2])]
                seen.add(b[2])
    return out


# --------------------------------------------------------------------------- decoding
@dataclass(frozen=True)
class _Assignment:
    """A complete schedule on the tick axes: start per (site, task left) and the unit
    index doing it (-1 without crew)."""

    starts: tuple[tuple[int, ...], ...]
    units: tuple[tuple[int, ...], ...]


class _Sgs:
    """Serial schedule generation with real travel, for one part: place blocks one by
    one, each as early as its chain predecessor, its release and a gap of a unit of its
    pool (with the moves in and out of the gap) allow; the unit chosen is the one that
    can start earliest, then the nearest, then the lowest index (or a forced unit)."""

    def __init__(self, problem: ProblemData, part: Sequence[int], travel: _Travel) -> None:
        self.problem = problem
        self.travel = travel
        self.blocks = {s: travel.blocks(s) for s in part}
        self.busy: dict[int, list[tuple[int, int, int]]] = {}  # unit → sorted (start, end, site)
        self.starts: dict[int, list[int]] = {s: [-1] * len(problem.sites[s].tasks) for s in part}
        self.units: dict[int, list[int]] = {s: [-1] * len(problem.sites[s].tasks) for s in part}

    def _fit(self, unit: int, site: int, est: int, dur: int) -> tuple[int, int]:
        """Earliest start ≥ est on ``unit`` and the move into it."""
        busy = self.busy.setdefault(unit, [])
        tr = self.travel
        ticks, local = tr._ticks, tr.local
        row_in = local[site]
        n_busy = len(busy)
        pos = max(0, bisect_left(busy, (est, -1, -1)) - 1)
        while True:
            prev_end = busy[pos - 1][1] if pos else 0
            if pos < n_busy and busy[pos][0] - max(est, prev_end) < dur:
                pos += 1  # the gap is too short even without driving
                continue
            if pos == 0:
                move = tr.from_home(unit, site)
            else:
                prev_site = busy[pos - 1][2]
                move = 0 if prev_site == site else ticks[local[prev_site]][row_in]
            t = max(est, prev_end + move)
            if pos >= n_busy:
                return t, move
            nxt = busy[pos]
            back = 0 if nxt[2] == site else ticks[row_in][local[nxt[2]]]
            if t + dur + back <= nxt[0]:
                return t, move
            pos += 1

    def est(self, site: int, b_idx: int) -> int:
        i0, _, _, _, offsets = self.blocks[site][b_idx]
        tasks = self.problem.sites[site].tasks
        if tasks[i0].fixed_start is not None:
            return int(tasks[i0].fixed_start or 0)
        t = 0
        if i0 > 0:
            t = self.starts[site][i0 - 1] + tasks[i0 - 1].duration
        i1 = self.blocks[site][b_idx][1]
        for k in range(i0, i1 + 1):
            t = max(t, tasks[k].release - offsets[k - i0])
        return t

    def place(self, site: int, b_idx: int, forced_unit: int = -1) -> int:
        """Place block ``b_idx`` of ``site``; returns its end tick."""
        i0, i1, pool, dur, offsets = self.blocks[site][b_idx]
        task = self.problem.sites[site].tasks[i0]
        est = self.est(site, b_idx)
        start, unit = est, -1
        if pool >= 0:
            if task.fixed_unit >= 0:
                cands: Sequence[int] = (task.fixed_unit,)
            elif forced_unit >= 0:
                cands = (forced_unit,)
            else:
                cands = self.problem.pools[pool]
            best: tuple[int, int, int] | None = None
            for u in cands:
                t, move = self._fit(u, site, est, dur)
                if task.fixed_start is not None:
                    if t > est and len(cands) > 1:
                        continue  # busy with another started task
                    t = est  # already on site: it goes on whatever the moves say
                key = (t, move, u)
                if best is None or key < best:
                    best = key
            if best is None:
                raise SchemaError(
                    f"site {self.problem.sites[site].site_id}: more started "
                    f"{task.crew_kind!r} tasks at once than units of that crew",
                    column="status",
                )
            start, _, unit = best
            busy = self.busy.setdefault(unit, [])
            busy.insert(bisect_left(busy, (start, -1, -1)), (start, start + dur, site))
        for k in range(i0, i1 + 1):
            self.starts[site][k] = start + offsets[k - i0]
            self.units[site][k] = unit
        return start + dur

    def remove(self, site: int, b_idx: int) -> None:
        i0, i1, _pool, dur, _ = self.blocks[site][b_idx]
        unit = self.units[site][i0]
        if unit >= 0:
            st = self.starts[site][i0]
            self.busy[unit].remove((st, st + dur, site))
        for k in range(i0, i1 + 1):
            self.starts[site][k] = -1
            self.units[site][k] = -1


def _is_fixed(problem: ProblemData, s: int, block: Block) -> bool:
    return problem.sites[s].tasks[block[0]].fixed_start is not None


def _decode(
    problem: ProblemData,
    part: Sequence[int],
    travel: _Travel,
    starts: Mapping[int, Sequence[float]],
    forced: Mapping[tuple[int, int], int] | None = None,
) -> tuple[dict[int, list[int]], dict[int, list[int]]]:
    """Place every block of ``part`` in the order of ``starts`` (any numbers: only their
    order counts; fixed blocks first;
    ties: site, chain position) with real moves, on ``forced[(site, block)]`` units where
    given; returns starts and units per task."""
    sgs = _Sgs(problem, part, travel)
    forced = forced or {}
    order = sorted(
        (0 if _is_fixed(problem, s, b) else 1, starts[s][b[0]], s, k)
        for s in part
        for k, b in enumerate(sgs.blocks[s])
    )
    for _, _, s, k in order:
        sgs.place(s, k, forced.get((s, k), -1))
    return sgs.starts, sgs.units


def _edf_key(problem: ProblemData, s: int) -> tuple[int, int, str]:
    site = problem.sites[s]
    return (site.deadline_tick, site.release_tick, site.site_id)


def _greedy_part(
    problem: ProblemData, part: Sequence[int], travel: _Travel, *, drop_late: bool
) -> tuple[dict[int, list[int]], dict[int, list[int]]]:
    """Earliest-deadline-first list scheduling, one site's chain at a time (fixed blocks
    first). With ``drop_late`` a site that would end late is taken out and appended
    after all the others (the Moore–Hodgson idea: a late site should not hold crews
    that on-time sites need)."""
    sgs = _Sgs(problem, part, travel)
    for s in part:
        for k, b in enumerate(sgs.blocks[s]):
            if _is_fixed(problem, s, b):
                sgs.place(s, k)
    late: list[int] = []
    for s in sorted(part, key=lambda s: _edf_key(problem, s)):
        site = problem.sites[s]
        free = [k for k, b in enumerate(sgs.blocks[s]) if not _is_fixed(problem, s, b)]
        if not free:
            continue
        end = 0
        for k in free:
            end = sgs.place(s, k)
        if drop_late and end > site.deadline_tick:
            for k in reversed(free):
                sgs.remove(s, k)
            late.append(s)
    for s in late:
        for k, b in enumerate(sgs.blocks[s]):
            if not _is_fixed(problem, s, b):
                sgs.place(s, k)
    return sgs.starts, sgs.units


def _part_value(
    problem: ProblemData,
    part: Sequence[int],
    starts: Mapping[int, Sequence[int]],
    ignore: frozenset[int] = frozenset(),
) -> tuple[int, int, int]:
    """(late sites, tardiness ticks, makespan ticks) of a part's schedule; sites in
    ``ignore`` count towards the makespan only."""
    n_late = tard = span = 0
    for s in part:
        site = problem.sites[s]
        if not site.tasks:
            continue
        end = starts[s][-1] + site.tasks[-1].duration
        span = max(span, end)
        late = 0 if s in ignore else max(0, end - site.deadline_tick)
        tard += late
        n_late += late > 0
    return (n_late, tard, span)


def _local_search(
    problem: ProblemData,
    part: Sequence[int],
    travel: _Travel,
    starts: Mapping[int, Sequence[int]],
    moves: int,
    seed: int,
    ignore: frozenset[int] = frozenset(),
) -> tuple[dict[int, list[int]], dict[int, list[int]], tuple[int, int, int]]:
    """Improve a plan with the real moves: a crew visit is moved just before or after
    another visit of the same pool in the placing order, the plan is rebuilt by
    :func:`_decode` (real travel, units chosen again) and kept when it is no worse
    lexicographically (late sites, tardiness, makespan; sites in ``ignore`` count towards
    the makespan only). ``moves`` rebuilds at most, a seeded generator: the same inputs
    give the same plan."""
    rng = random.Random(seed)
    blocks = {s: _blocks(problem.sites[s]) for s in part}
    by_pool: dict[int, list[tuple[int, int]]] = {}
    for s in part:
        for k, b in enumerate(blocks[s]):
            if b[2] >= 0 and not _is_fixed(problem, s, b):
                by_pool.setdefault(b[2], []).append((s, k))
    pools = [p for p in sorted(by_pool) if len(by_pool[p]) > 1]
    best_st, best_un = _decode(problem, part, travel, starts)
    best = _part_value(problem, part, best_st, ignore)
    if not pools:
        return best_st, best_un, best
    keys = {s: [float(v) for v in best_st[s]] for s in part}
    for _ in range(moves):
        items = by_pool[pools[rng.randrange(len(pools))]]
        (s, k), (s2, k2) = rng.sample(items, 2)
        if s == s2:
            continue
        i0, i1 = blocks[s][k][0], blocks[s][k][1]
        row = list(keys[s])
        shift = keys[s2][blocks[s2][k2][0]] + rng.choice((-0.5, 0.5)) - row[i0]
        for j in range(i0, len(row)):  # the block moves; later tasks keep chain order
            row[j] = row[j] + shift if j <= i1 else max(row[j], row[j - 1] + 1e-3)
        for j in range(i0 - 1, -1, -1):  # earlier tasks stay before it
            row[j] = min(row[j], row[j + 1] - 1e-3)
        trial = {**keys, s: row}
        st, un = _decode(problem, part, travel, trial)
        value = _part_value(problem, part, st, ignore)
        if value <= best:
            best, best_st, best_un = value, st, un
            keys = {x: [float(v) for v in st[x]] for x in part}
    return best_st, best_un, best


# --------------------------------------------------------------------------- bounds
def _block_est(site: SiteData, s: int, setup: Mapping[tuple[int, int], int]) -> list[int]:
    """Earliest start tick of each block of ``site`` (global index ``s``) with crews always
    free: chain predecessors, release dates, fixed starts, and a crew block no earlier than
    its least inbound move ``setup[(s, block)]`` (every unit starts at home at tick 0 and
    drives at least that far before the block)."""
    est: list[int] = []
    t = 0
    tasks = site.tasks
    for b_idx, (i0, i1, pool, dur, offsets) in enumerate(_blocks(site)):
        if tasks[i0].fixed_start is not None:
            t = int(tasks[i0].fixed_start or 0)
        else:
            for k in range(i0, i1 + 1):
                t = max(t, tasks[k].release - offsets[k - i0])
            if pool >= 0:
                t = max(t, int(setup.get((s, b_idx), 0)))
        est.append(t)
        t += dur
    return est


def _rank_completions(starts_lb: np.ndarray, lengths: np.ndarray, units: int) -> np.ndarray:
    """Lower bounds on the k-th smallest completion of the intervals of one crew pool.

    ``starts_lb[k]`` bounds the k-th smallest interval start from below (sorted);
    ``lengths`` are the intervals' lengths (any order); ``units`` the pool's capacity.
    Two valid arguments: of any ``units + 1`` intervals, one has ended before the last of
    them starts, so the k-th start is ≥ the (k − units)-th start + the shortest length;
    and the intervals with start ranks i…k that end by the k-th completion hold at least
    the sum of the k − i + 1 shortest lengths inside ``[start_i, C_k]`` on ``units``
    units (Chu's order-statistics argument, on parallel units)."""
    n = len(starts_lb)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    p_min = int(lengths.min())
    s = np.array(starts_lb, dtype=np.int64)
    for k in range(units, n):
        s[k] = max(s[k], s[k - units] + p_min)
    energy = np.concatenate(([0], np.cumsum(np.sort(lengths).astype(np.int64))))
    c = s + p_min
    for k in range(n):
        fill = -(-energy[k + 1 - np.arange(k + 1)] // units)  # ceil(Σ shortest / units)
        c[k] = max(int(c[k]), int((s[: k + 1] + fill).max()))
    return c


def _assign(cost: np.ndarray) -> tuple[int, np.ndarray]:
    """Least-cost perfect assignment of a square integer matrix (rows → columns)."""
    n = cost.shape[0]
    if n == 0:
        return 0, np.zeros(0, dtype=np.int64)
    solver = linear_sum_assignment.SimpleLinearSumAssignment()
    rows, cols = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    solver.add_arcs_with_cost(rows.ravel(), cols.ravel(), cost.ravel())
    if solver.solve() != solver.OPTIMAL:  # pragma: no cover - square and complete
        raise SolverError("the assignment bound found no assignment")
    return int(solver.optimal_cost()), np.array([solver.right_mate(i) for i in range(n)])


def _assign_with_late_cap(cost: np.ndarray, max_late: int) -> int:
    """Lower bound on ``min Σ cost`` over assignments with at most ``max_late`` rows of
    positive cost: the Lagrangian dual ``max_λ min Σ (cost + λ·[cost > 0]) − λ·max_late``
    (concave in λ; bisection on the subgradient, integer λ)."""
    n = cost.shape[0]
    if n == 0:
        return 0
    late = (cost > 0).astype(np.int64)
    rows = np.arange(n)

    def dual(lam: int) -> tuple[int, int]:
        value, cols = _assign(cost + lam * late)
        return value - lam * max_late, int(late[rows, cols].sum())

    best, n_late = dual(0)
    if n_late <= max_late:
        return best
    lo, hi = 1, int(cost.max()) * n + 1
    while lo < hi:
        mid = (lo + hi) // 2
        value, n_late = dual(mid)
        best = max(best, value)
        if n_late > max_late:
            lo = mid + 1
        else:
            hi = mid
    return max(best, dual(lo)[0])


@dataclass
class _PoolBound:
    """One crew pool's assignment bound: ``cost[i, k]`` is the least tardiness of site
    ``members[i]`` if its last block on the pool ends k-th; ``others_*`` are the chain-alone
    tardiness and late count of the part's sites outside the pool."""

    pool: int
    kind: str
    cost: np.ndarray
    others_tard: int
    others_late: int
    tard: int
    late: int


@dataclass
class _Bound:
    """Proven lower bounds of one part (ticks and site counts) with their sources."""

    chain_tard: int
    chain_late: int
    pools: list[_PoolBound]
    _memo: dict[int | None, tuple[int, str]] = field(default_factory=dict)

    @property
    def late(self) -> tuple[int, str]:
        """Sites late in any schedule and where that comes from."""
        best = (self.chain_late, "chain")
        for pb in self.pools:
            if pb.late > best[0]:
                best = (pb.late, f"{pb.kind} crews")
        return best

    def tardiness(self, max_late: int | None = None) -> tuple[int, str]:
        """Least total tardiness (ticks) of any schedule with at most ``max_late`` late
        sites (``None``: any number), and its source (``chain`` or ``<kind> crews``)."""
        if max_late in self._memo:
            return self._memo[max_late]
        best = (self.chain_tard, "chain")
        for pb in self.pools:
            value = pb.tard
            if max_late is not None and max_late - pb.others_late >= pb.late - pb.others_late:
                value = max(
                    value,
                    pb.others_tard + _assign_with_late_cap(pb.cost, max_late - pb.others_late),
                )
            if value > best[0]:
                best = (value, f"{pb.kind} crews")
        self._memo[max_late] = best
        return best


def _part_bound(
    problem: ProblemData,
    part: Sequence[int],
    setup: Mapping[tuple[int, int], int],
    *,
    keep: Callable[[int], bool] | None = None,
    capacity: Mapping[int, int] | None = None,
    propagate: bool = True,
) -> _Bound:
    """Lower bounds on the late sites and the total tardiness of a part, valid for the
    real problem (travel counted as each visit's least inbound move, as in the model).

    Per crew pool (in chain order), sorted lower bounds on its blocks' start ranks come
    from the blocks' own earliest starts and, through the chain, from every earlier pool's
    completion ranks plus the least work in between (a subset's k-th value is ≥ the whole
    set's k-th value); :func:`_rank_completions` turns them into completion ranks. A site
    whose last block on the pool ends k-th finishes no earlier than its chain from that
    completion (later tasks and their release dates), so the least-cost assignment of
    sites to ranks bounds the total tardiness (and, with 0/1 costs, the late count) of any
    schedule. ``keep`` drops sites (a relaxation), ``capacity`` overrides pool sizes,
    ``propagate=False`` ignores the chain between pools (for capacity searches)."""
    sites = [s for s in part if problem.sites[s].tasks and (keep is None or keep(s))]
    blocks = {s: _blocks(problem.sites[s]) for s in sites}
    est = {s: _block_est(problem.sites[s], s, setup) for s in sites}
    end_alone: dict[int, int] = {}
    for s in sites:
        end_alone[s] = est[s][-1] + blocks[s][-1][3]
    base = {s: max(0, end_alone[s] - problem.sites[s].deadline_tick) for s in sites}
    chain_tard = sum(base.values())
    chain_late = sum(1 for v in base.values() if v > 0)
    position: dict[int, list[int]] = {}
    for s in sites:
        for blk in blocks[s]:
            if blk[2] >= 0:
                position.setdefault(blk[2], []).append(blk[0])
    order = sorted(position, key=lambda p: (float(np.mean(position[p])), p))
    ranks: dict[int, np.ndarray] = {}
    pools: list[_PoolBound] = []
    for p in order:
        jobs = [(s, b) for s in sites for b, blk in enumerate(blocks[s]) if blk[2] == p]
        lengths = np.zeros(len(jobs), dtype=np.int64)
        own = np.zeros(len(jobs), dtype=np.int64)
        links: list[dict[int, int]] = []
        for j, (s, b) in enumerate(jobs):
            i0, _, _, dur, _ = blocks[s][b]
            fixed = problem.sites[s].tasks[i0].fixed_start is not None
            pad = 0 if fixed else int(setup.get((s, b), 0))
            lengths[j] = dur + pad
            own[j] = est[s][b] - pad
            link: dict[int, int] = {}
            if propagate and not fixed:
                gap = 0
                for pb in range(b - 1, -1, -1):
                    q = blocks[s][pb][2]
                    if q >= 0 and q in ranks and q not in link:
                        link[q] = gap - pad
                    gap += blocks[s][pb][3]
            links.append(link)
        lb = np.sort(own)
        for q in ranks:
            for split in (False, True):
                groups: dict[int, list[int]] = {}
                for j, link in enumerate(links):
                    if q in link:
                        groups.setdefault(link[q] if split else 0, []).append(j)
                if not groups:
                    continue
                seqs = []
                linked: set[int] = set()
                for idx in groups.values():
                    linked.update(idx)
                    gap_min = min(links[j][q] for j in idx)
                    seqs.append(np.maximum(np.sort(own[idx]), ranks[q][: len(idx)] + gap_min))
                rest = [j for j in range(len(jobs)) if j not in linked]
                if rest:
                    seqs.append(own[rest])
                lb = np.maximum(lb, np.sort(np.concatenate(seqs)))
        units = int(capacity.get(p, len(problem.pools[p])) if capacity else len(problem.pools[p]))
        ranks[p] = _rank_completions(lb, lengths, max(1, units))
        last: dict[int, int] = {}
        for s, b in jobs:
            last[s] = b
        members = sorted(last)
        n = len(members)
        c = ranks[p][:n]
        cost = np.zeros((n, n), dtype=np.int64)
        for i, s in enumerate(members):
            t = c.copy()
            tasks = problem.sites[s].tasks
            for i0, i1, _, dur, offsets in blocks[s][last[s] + 1 :]:
                if tasks[i0].fixed_start is not None:
                    t = np.full_like(t, int(tasks[i0].fixed_start or 0) + dur)
                    continue
                release = max(tasks[k].release - offsets[k - i0] for k in range(i0, i1 + 1))
                t = np.maximum(t, release) + dur
            cost[i] = np.maximum(0, np.maximum(t, end_alone[s]) - problem.sites[s].deadline_tick)
        inside = set(members)
        others_tard = sum(v for s, v in base.items() if s not in inside)
        others_late = sum(1 for s, v in base.items() if s not in inside and v > 0)
        tard, _ = _assign(cost)
        late, _ = _assign((cost > 0).astype(np.int64))
        pools.append(
            _PoolBound(
                pool=p,
                kind=problem.pool_keys[p][2],
                cost=cost,
                others_tard=others_tard,
                others_late=others_late,
                tard=tard + others_tard,
                late=late + others_late,
            )
        )
    return _Bound(chain_tard=chain_tard, chain_late=chain_late, pools=pools)


def _lp_tardiness_bound(
    problem: ProblemData,
    part: Sequence[int],
    *,
    slot: int,
    horizon: int,
    max_columns: int,
) -> int | None:
    """Lower bound on the total tardiness (ticks) of any plan of a part, from the LP
    relaxation of a time-indexed model (OR-Tools' GLOP simplex); ``None`` when the model
    would need more than ``max_columns`` columns or the LP does not solve.

    The model is of a relaxed problem: no travel, durations and release dates rounded down
    and deadlines rounded up to whole slots of ``slot`` ticks. A plan of the relaxed
    problem can be shifted left until every visit starts at a release, at the end of its
    chain predecessor or at the end of another visit of its pool, all whole slots, without
    ending any site later; so counting time in slots loses nothing, and the relaxation's
    integer optimum (whole slots) is ≥ the LP's. Columns ``y[b, t]`` = "block ``b`` has
    started by slot ``t``" for ``t < horizon`` slots; a block may start at or after the
    horizon (``1 − y[b, horizon − 1]``, charged as if it started there, the pools
    unconstrained from then on)."""
    g = max(1, int(slot))
    h = max(1, -(-int(horizon) // g) + 1)
    layout: list[tuple[list[tuple[int, int, int]], int]] = []  # (pool, D, est) per block, dl
    columns = 0
    for site in (problem.sites[s] for s in part if problem.sites[s].tasks):
        rows: list[tuple[int, int, int]] = []
        t = 0
        for i0, i1, pool, dur, offsets in _blocks(site):
            task = site.tasks[i0]
            if task.fixed_start is not None:
                release = int(task.fixed_start) // g
            else:
                release = max(
                    max(0, site.tasks[k].release - offsets[k - i0]) // g for k in range(i0, i1 + 1)
                )
            t = max(t, release)
            rows.append((pool, dur // g, t))
            columns += max(0, h - t)
            t += dur // g
        layout.append((rows, -(-site.deadline_tick // g)))
    if not layout or columns > max_columns:
        return None
    lp = pywraplp.Solver.CreateSolver("GLOP")
    if lp is None:  # pragma: no cover - GLOP is OR-Tools' own LP solver
        return None
    lp.SetSolverSpecificParametersAsString("use_dual_simplex: true")
    constant = 0.0
    objective: list[tuple[Any, float]] = []
    active: dict[int, list[list[Any]]] = {}  # pool → per slot, the columns' ± terms
    for k, (rows, dl) in enumerate(layout):
        prev: tuple[Callable[[int], Any], int] | None = None  # (y of the previous block, D)
        for b, (pool, d, est) in enumerate(rows):
            ys = [lp.NumVar(0.0, 1.0, f"y{k}_{b}_{t}") for t in range(est, h)]

            def y(t: int, ys: list[Any] = ys, est: int = est) -> Any:
                return 0.0 if t < est else ys[t - est]

            for t in range(est + 1, h):
                lp.Add(y(t) >= y(t - 1))
            if prev is not None:  # started by t only if the previous block started by t − D
                for t in range(est, h):
                    lp.Add(y(t) <= prev[0](t - prev[1]))
            if pool >= 0 and d > 0:
                per_slot = active.setdefault(pool, [[] for _ in range(h)])
                for t in range(est, h):
                    per_slot[t].append((y(t), 1.0))
                    if t + d < h:
                        per_slot[t + d].append((y(t), -1.0))
            prev = (y, d)
            if b == len(rows) - 1:
                # Σ_t cost(t)·(y[t] − y[t−1]) + cost(h)·(1 − y[h−1]) with cost(t) the
                # tardiness of a start in slot t (non-decreasing in t).
                def cost(t: int, d: int = d, dl: int = dl) -> float:
                    return float(max(0, t + d - dl))

                constant += cost(max(est, h))
                for t in range(est, h):
                    objective.append((ys[t - est], cost(t) - cost(t + 1)))
    for pool, per_slot in active.items():
        units = len(problem.pools[pool])
        for terms in per_slot:
            if terms:
                lp.Add(sum(coef * var for var, coef in terms) <= units)
    lp.Minimize(constant + sum(coef * var for var, coef in objective if coef))
    if lp.Solve() != pywraplp.Solver.OPTIMAL:
        return None
    value = lp.Objective().Value()
    # The relaxed optimum is a whole number of slots; keep clear of the LP's tolerances.
    return g * max(0, math.ceil(value - 1e-3 - 1e-7 * abs(value)))


# --------------------------------------------------------------------------- CP-SAT model
class _PartModel:
    """CP-SAT model of one independent part (see the module docstring).

    mode ``"ontime"``: optional blocks, hard deadlines, maximise sites on time;
    ``"tardiness"``: every site, ``Σ late ≤ max_late``, minimise total tardiness;
    ``"makespan"``: also ``Σ tardiness ≤ max_tardiness``, minimise the makespan;
    ``"extra"``: every site that can be on time is, pool capacities are variables
    (``units + extra``), minimise the extra units.

    Pools with at most ``route_max_visits`` visits get exact routes (one
    ``add_multiple_circuit`` per pool: arcs between visits carry the real move, at most
    ``units`` routes leave the depot); larger pools keep the travel relaxation.
    """

    def __init__(
        self,
        problem: ProblemData,
        part: Sequence[int],
        travel: _Travel,
        setup: Mapping[tuple[int, int], int],
        mode: str,
        *,
        horizon: int,
        route_max_visits: int,
        max_late: int | None = None,
        max_tardiness: int | None = None,
        max_extra: int = 0,
        min_late: int = 0,
        min_tardiness: int = 0,
        late_ok: frozenset[int] = frozenset(),
    ) -> None:
        self.problem = problem
        self.part = list(part)
        self.travel = travel
        self.mode = mode
        self.model = cp_model.CpModel()
        self.horizon = horizon
        self.setup = setup
        self.blocks = {s: _blocks(problem.sites[s]) for s in self.part}
        self.block_est = {
            s: _block_est(problem.sites[s], s, setup) for s in self.part if problem.sites[s].tasks
        }
        # Late whatever the crews do: the chain (with the least moves) ends after the deadline.
        self.late_alone = {
            s: est[-1] + self.blocks[s][-1][3] > problem.sites[s].deadline_tick
            for s, est in self.block_est.items()
        }
        self.start: dict[tuple[int, int], Any] = {}  # (site, block) → start
        self.est: dict[tuple[int, int], int] = {}
        self.dom: dict[tuple[int, int], tuple[int, int]] = {}
        self.present: dict[tuple[int, int], Any] = {}  # (site, block) → literal or True
        self.on: dict[int, Any] = {}
        self.tard: dict[int, cp_model.IntVar] = {}
        self.late: dict[int, cp_model.IntVar] = {}
        self.extra: dict[int, cp_model.IntVar] = {}
        self.arcs: dict[int, dict[tuple[int, int], Any]] = {}  # pool → (from, to) node → lit
        self.nodes: dict[int, list[tuple[int, int]]] = {}  # pool → node k+1 ↔ (site, block)
        # pool → (interval, size, presence, site, block, est − pad, latest end)
        self.pool_items: dict[int, list[tuple[Any, int, Any, int, int, int, int]]] = {}
        self.makespan: cp_model.IntVar | None = None
        m = self.model
        for s in self.part:
            site = problem.sites[s]
            if not site.tasks:
                continue
            if mode in ("ontime", "extra") and (self.late_alone[s] or s in late_ok):
                if mode == "ontime":
                    self.on[s] = False
                # Late whatever happens: only its started work (if any) takes crews now.
                self._add_site(s, deadline=None, presence=None, only_fixed=True)
                continue
            if mode == "ontime":
                lit = m.new_bool_var(f"on{s}")
                self.on[s] = lit
                self._add_site(s, deadline=site.deadline_tick, presence=lit)
            elif mode == "extra":
                self._add_site(s, deadline=site.deadline_tick, presence=None)
            else:
                self._add_site(s, deadline=None, presence=None)
        self._add_pools(max_extra, route_max_visits)
        if mode == "ontime":
            self._add_energy_cuts()
            on = [v for v in self.on.values() if v is not False]
            # Redundant: the proven bound on late sites (see _part_bound).
            if on and min_late > 0:
                m.add(sum(on) <= len(self.block_est) - min_late)
            m.maximize(sum(on))
        elif mode in ("tardiness", "makespan"):
            self._add_tardiness(max_late, max_tardiness)
            if min_tardiness > 0:  # redundant: the proven bound (see _part_bound)
                m.add(sum(self.tard.values()) >= min_tardiness)
        else:
            m.minimize(sum(self.extra.values()))

    def _add_site(
        self, s: int, *, deadline: int | None, presence: Any, only_fixed: bool = False
    ) -> None:
        m = self.model
        tasks = self.problem.sites[s].tasks
        blocks = self.blocks[s]
        est = self.block_est[s]
        end_limit = self.horizon if deadline is None else deadline
        lst = [0] * len(blocks)
        t = end_limit
        for b in range(len(blocks) - 1, -1, -1):
            t -= blocks[b][3]
            lst[b] = t
        prev: tuple[Any, int] | None = None
        for b, (i0, _, pool, dur, _) in enumerate(blocks):
            fixed = tasks[i0].fixed_start is not None
            if only_fixed and not fixed:
                continue
            if fixed:
                start: Any = m.new_constant(int(tasks[i0].fixed_start or 0))
                pres: Any = True
            else:
                start = m.new_int_var(est[b], max(est[b], lst[b]), f"s{s}_{b}")
                self.dom[(s, b)] = (est[b], max(est[b], lst[b]))
                pres = True if presence is None else presence
            self.start[(s, b)] = start
            self.est[(s, b)] = est[b]
            self.present[(s, b)] = pres
            if prev is not None:
                m.add(start >= prev[0] + prev[1])
            prev = (start, dur)
            if pool >= 0:
                pad = 0 if fixed else self.setup.get((s, b), 0)
                size = dur + pad
                if pres is True:
                    iv = m.new_interval_var(start - pad, size, start + dur, f"i{s}_{b}")
                else:
                    iv = m.new_optional_interval_var(
                        start - pad, size, start + dur, pres, f"i{s}_{b}"
                    )
                self.pool_items.setdefault(pool, []).append(
                    (iv, size, pres, s, b, est[b] - pad, lst[b] + dur)
                )

    def _add_pools(self, max_extra: int, route_max_visits: int) -> None:
        m = self.model
        for pool in sorted(self.pool_items):
            items = self.pool_items[pool]
            cap = len(self.problem.pools[pool])
            intervals = [it[0] for it in items]
            if self.mode == "extra":
                x = m.new_int_var(0, max_extra, f"x{pool}")
                self.extra[pool] = x
                m.add_cumulative(intervals, [1] * len(intervals), cap + x)
                continue
            if cap == 1:
                m.add_no_overlap(intervals)
            elif len(intervals) > cap:
                m.add_cumulative(intervals, [1] * len(intervals), cap)
            if self.problem.travel and 1 < len(items) <= route_max_visits:
                self._add_routes(pool, items, cap)

    def _add_routes(self, pool: int, items: list[Any], cap: int) -> None:
        """Exact moves in one pool: a multiple circuit through a depot (node 0), one route
        per unit used (≤ ``cap``); arc ``i → j`` ⇒ ``start_j ≥ end_i + move(i, j)``; an
        absent visit (late in the on-time stage) takes its self-loop."""
        m = self.model
        tr = self.travel
        nodes = [(it[3], it[4]) for it in items]
        self.nodes[pool] = nodes
        arcs: dict[tuple[int, int], Any] = {}
        triples: list[tuple[int, int, Any]] = []
        dur = {(it[3], it[4]): self.blocks[it[3]][it[4]][3] for it in items}
        for k, (s, b) in enumerate(nodes, start=1):
            pres = self.present[(s, b)]
            start = self.start[(s, b)]
            out0 = m.new_bool_var(f"a{pool}_0_{k}")
            arcs[(0, k)] = out0
            m.add(start >= tr.pool_home(pool, s)).only_enforce_if(out0)
            arcs[(k, 0)] = m.new_bool_var(f"a{pool}_{k}_0")
            if pres is not True:
                loop = pres.Not()
                arcs[(k, k)] = loop
        for k, (s, b) in enumerate(nodes, start=1):
            for j, (s2, b2) in enumerate(nodes, start=1):
                if j == k:
                    continue
                lit = m.new_bool_var(f"a{pool}_{k}_{j}")
                arcs[(k, j)] = lit
                move = tr.between(s, s2)
                m.add(
                    self.start[(s2, b2)] >= self.start[(s, b)] + dur[(s, b)] + move
                ).only_enforce_if(lit)
        for (a, b_), lit in arcs.items():
            triples.append((a, b_, lit))
        m.add_multiple_circuit(triples)
        m.add(sum(arcs[(0, k)] for k in range(1, len(nodes) + 1)) <= cap)
        self.arcs[pool] = arcs

    def _add_energy_cuts(self) -> None:
        """Redundant cuts that let the LP bound the number of late sites: for a pool of
        capacity ``c`` and a window ``[a, b)``, the on-time sites whose (padded) visits
        must lie inside it need ``Σ on_s · size ≤ c · (b − a)``. Added only where it
        bites, the most overloaded ``_MAX_CUTS_PER_POOL`` windows per pool."""
        m = self.model
        for pool in sorted(self.pool_items):
            cap = len(self.problem.pools[pool])
            rows = [it for it in self.pool_items[pool] if it[2] is not True]
            if not rows:
                continue
            est_a = np.array([r[5] for r in rows])
            lft_a = np.array([r[6] for r in rows])
            dur_a = np.array([r[1] for r in rows])
            cuts: list[tuple[float, int, int]] = []
            for b in np.unique(lft_a):
                sel_b = lft_a <= b
                for a in np.unique(est_a[sel_b]):
                    if a >= b:
                        continue
                    inside = sel_b & (est_a >= a)
                    energy = int(dur_a[inside].sum())
                    if energy > cap * (b - a):
                        cuts.append((energy / (cap * (b - a)), int(a), int(b)))
            cuts.sort(key=lambda c: (-c[0], c[1], c[2]))
            for _, a, b in cuts[:_MAX_CUTS_PER_POOL]:
                per_site: dict[int, int] = {}
                for r in rows:
                    if r[5] >= a and r[6] <= b:
                        per_site[r[3]] = per_site.get(r[3], 0) + r[1]
                m.add(sum(d * self.on[k] for k, d in sorted(per_site.items())) <= cap * (b - a))

    def _end(self, s: int) -> Any:
        blocks = self.blocks[s]
        return self.start[(s, len(blocks) - 1)] + blocks[-1][3]

    def _add_tardiness(self, max_late: int | None, max_tardiness: int | None) -> None:
        m = self.model
        ends = []
        for s in self.part:
            site = self.problem.sites[s]
            if not site.tasks:
                continue
            end = self._end(s)
            ends.append(end)
            ub = max(0, self.horizon - site.deadline_tick)
            tard = m.new_int_var(0, ub, f"t{s}")
            late = m.new_bool_var(f"l{s}")
            m.add(tard >= end - site.deadline_tick)
            if self.late_alone[s]:
                m.add(late == 1)
            if ub > 0:
                m.add(tard <= ub * late)
            else:
                m.add(late == 0)
            self.tard[s] = tard
            self.late[s] = late
        if max_late is not None:
            m.add(sum(self.late.values()) <= max_late)
        if self.mode == "tardiness":
            m.minimize(sum(self.tard.values()))
        else:
            if max_tardiness is not None:
                m.add(sum(self.tard.values()) <= max_tardiness)
            self.makespan = m.new_int_var(0, self.horizon, "makespan")
            m.add_max_equality(self.makespan, ends)
            m.minimize(self.makespan)

    def hint(
        self,
        starts: Mapping[int, Sequence[int]],
        units: Mapping[int, Sequence[int]],
        extra: Mapping[int, int] | None = None,
    ) -> None:
        """A complete hint from a decoded schedule (starts and units per task)."""
        m = self.model

        def on_time(s: int) -> bool:
            site = self.problem.sites[s]
            return starts[s][-1] + site.tasks[-1].duration <= site.deadline_tick

        for (s, b), var in self.start.items():
            if isinstance(var, cp_model.IntVar) and self.present[(s, b)] is not True:
                absent = not on_time(s)
            else:
                absent = False
            if (
                not isinstance(var, cp_model.IntVar)
                or self.problem.sites[s].tasks[self.blocks[s][b][0]].fixed_start is not None
            ):
                continue
            lo, hi = self.dom[(s, b)]
            value = lo if absent else min(max(int(starts[s][self.blocks[s][b][0]]), lo), hi)
            m.add_hint(var, value)
        for s, lit in self.on.items():
            if lit is not False:
                m.add_hint(lit, on_time(s))
        for s, tard in self.tard.items():
            site = self.problem.sites[s]
            value = max(0, starts[s][-1] + site.tasks[-1].duration - site.deadline_tick)
            m.add_hint(tard, value)
            m.add_hint(self.late[s], value > 0)
        if self.makespan is not None:
            m.add_hint(
                self.makespan,
                max(starts[s][-1] + self.problem.sites[s].tasks[-1].duration for s in self.tard),
            )
        if extra is not None:
            for pool, x in self.extra.items():
                m.add_hint(x, int(extra.get(pool, 0)))
        for pool, arcs in self.arcs.items():
            nodes = self.nodes[pool]
            index = {sb: k for k, sb in enumerate(nodes, start=1)}
            seq: dict[int, list[tuple[int, int]]] = {}
            for s, b in nodes:
                if self.present[(s, b)] is not True and not on_time(s):
                    continue
                u = units[s][self.blocks[s][b][0]]
                seq.setdefault(u, []).append((starts[s][self.blocks[s][b][0]], index[(s, b)]))
            used: set[tuple[int, int]] = set()
            for u in sorted(seq):
                path = [k for _, k in sorted(seq[u])]
                chain = [0, *path, 0]
                for a, b_ in itertools.pairwise(chain):
                    used.add((a, b_))
            for k, (s, b) in enumerate(nodes, start=1):
                if self.present[(s, b)] is not True and not on_time(s):
                    used.add((k, k))
            for key, lit in arcs.items():
                if isinstance(lit, cp_model.IntVar):
                    m.add_hint(lit, key in used)

    def read(
        self, solver: cp_model.CpSolver
    ) -> tuple[dict[int, list[int]], dict[tuple[int, int], int]]:
        """Starts per task of the solution (late sites of an on-time solve: after all
        on-time work, by deadline) and, for routed pools, the unit of each visit."""
        out: dict[int, list[int]] = {}
        big = self.horizon + 1
        present_site: dict[int, bool] = {}
        for s in self.part:
            site = self.problem.sites[s]
            on = self.on.get(s, True)
            present = on is True or (on is not False and solver.boolean_value(on))
            present_site[s] = present
            row = [0] * len(site.tasks)
            for b, (i0, i1, _, _, offsets) in enumerate(self.blocks[s]):
                if site.tasks[i0].fixed_start is not None:
                    base = int(site.tasks[i0].fixed_start or 0)
                elif present and (s, b) in self.start:
                    base = int(solver.value(self.start[(s, b)]))
                else:
                    base = big + site.deadline_tick * 64 + i0
                for k in range(i0, i1 + 1):
                    row[k] = base + (offsets[k - i0] if base < big else k - i0)
            out[s] = row
        forced: dict[tuple[int, int], int] = {}
        for pool, arcs in self.arcs.items():
            nodes = self.nodes[pool]
            succ = {a: b for (a, b), lit in arcs.items() if a != b and solver.boolean_value(lit)}
            firsts = sorted(
                (out[nodes[b - 1][0]][self.blocks[nodes[b - 1][0]][nodes[b - 1][1]][0]], b)
                for (a, b), lit in arcs.items()
                if a == 0 and b != 0 and solver.boolean_value(lit)
            )
            pool_units = list(self.problem.pools[pool])
            # Routes holding a started visit keep its unit; the others take the rest.
            routes: list[list[int]] = []
            for _, k in firsts:
                path = []
                while k != 0:
                    path.append(k)
                    k = succ.get(k, 0)
                routes.append(path)
            taken: dict[int, int] = {}
            for r_idx, path in enumerate(routes):
                for k in path:
                    s, b = nodes[k - 1]
                    fu = self.problem.sites[s].tasks[self.blocks[s][b][0]].fixed_unit
                    if fu >= 0:
                        taken[r_idx] = fu
            free = [u for u in pool_units if u not in taken.values()]
            for r_idx, path in enumerate(routes):
                unit = taken.get(r_idx)
                if unit is None:
                    if not free:
                        continue
                    unit = free.pop(0)
                for k in path:
                    forced[nodes[k - 1]] = unit
        return out, forced


def _solver(settings: ScheduleSettings, det_time: float, wall_s: float) -> cp_model.CpSolver:
    solver = cp_model.CpSolver()
    params = solver.parameters
    params.max_deterministic_time = float(max(det_time, _MIN_SOLVE_TIME))
    params.max_time_in_seconds = float(max(wall_s, 0.05))
    params.random_seed = int(settings.seed)
    params.num_workers = int(settings.num_workers)
    params.interleave_search = bool(settings.interleave_search)
    params.log_search_progress = False
    return solver


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


def _part_horizon(problem: ProblemData, part: Sequence[int], travel: _Travel) -> int:
    """Ticks any semi-active schedule of the part fits in: the latest release plus all
    work and the longest possible move before each visit, capped by the calendar."""
    axis = problem.axis(problem.sites[part[0]])
    rel = work = n_visits = 0
    for s in part:
        for t in problem.sites[s].tasks:
            rel = max(rel, t.release, t.fixed_start or 0)
            work += t.duration
        n_visits += sum(1 for b in _blocks(problem.sites[s]) if b[2] >= 0)
    longest = int(travel.site_ticks.max()) if travel.site_ticks.size else 0
    pools = {t.pool for s in part for t in problem.sites[s].tasks if t.pool >= 0}
    for p in pools:
        for u in problem.pools[p]:
            h = travel.home(u)
            if h.size:
                longest = max(longest, int(h.max()))
    return int(min(axis.horizon, rel + work + longest * n_visits))


@dataclass
class _PartState:
    """One part before CP-SAT: travel, least moves, horizon, proven bounds and the best
    heuristic plan (``value`` = late sites, tardiness ticks, makespan ticks)."""

    part: list[int]
    travel: _Travel
    setup: dict[tuple[int, int], int]
    horizon: int
    bound: _Bound
    plan: str
    starts: dict[int, list[int]]
    units: dict[int, list[int]]
    value: tuple[int, int, int]

    @property
    def open(self) -> bool:
        """True while the late count or the tardiness is above its proven bound."""
        late_lb, _ = self.bound.late
        return self.value[0] > late_lb or self.value[1] > self.bound.tardiness(self.value[0])[0]


@dataclass
class _PartOutcome:
    starts: dict[int, list[int]]
    units: dict[int, list[int]]
    value: tuple[int, int, int]
    late_lb: int
    late_source: str
    tard_lb: int  # given at most value[0] late sites in this part
    tard_source: str
    span_lb: int
    levels_proven: int  # 0 none, 1 late count, 2 + tardiness, 3 + makespan
    stages: list[dict[str, Any]]


def _lst_part(
    problem: ProblemData,
    part: Sequence[int],
    travel: _Travel,
    ignore: frozenset[int] = frozenset(),
) -> tuple[dict[int, list[int]], dict[int, list[int]]]:
    """Block-level list scheduling by latest start (deadline minus the rest of the chain):
    a crew takes the most urgent visit first whatever site it belongs to (the per-site
    greedy books a whole chain at a time); sites in ``ignore`` come after all others."""
    keys: dict[int, list[int]] = {}
    late_shift = 1 + max((problem.axis(problem.sites[s]).horizon for s in part), default=0)
    for s in part:
        tasks = problem.sites[s].tasks
        t = problem.sites[s].deadline_tick + (late_shift if s in ignore else 0)
        row = [0] * len(tasks)
        for k in range(len(tasks) - 1, -1, -1):
            t -= tasks[k].duration
            row[k] = t
        keys[s] = row
    return _decode(problem, part, travel, keys)


#: (k1, k2, look-ahead) settings of the travel-aware dispatch (:func:`_dispatch_part`):
#: urgency scale in mean visit lengths, drive scale in mean moves, look-ahead in working
#: days (on the sample, a day's look-ahead wins with travel, none without).
_DISPATCH_GRID: tuple[tuple[float, float, float], ...] = tuple(
    (k1, k2, days)
    for days in (1.0, 0.0)
    for k1 in (4.0, 2.0, 1.0, 8.0, 0.5)
    for k2 in (0.25, 0.1, 0.5, 1.0, math.inf)
)
#: Candidate (unit, visit) evaluations all dispatch runs of one part may spend.
_DISPATCH_WORK = 3_000_000


def _dispatch_part(
    problem: ProblemData,
    part: Sequence[int],
    travel: _Travel,
    k1: float,
    k2: float,
    window: float,
    ignore: frozenset[int] = frozenset(),
) -> dict[tuple[int, int], tuple[int, int]]:
    """Travel-aware dispatching (an ATCS rule: apparent tardiness cost with setups).

    Time moves forward: the crew unit that can start a visit earliest goes next, and among
    its pool's visits that it could start within ``window`` ticks of that time it takes the
    one with the highest index ``exp(−slack⁺ / (k1·p̄)) · exp(−move / (k2·s̄)) / p``
    (slack: the visit's latest start for the site's deadline minus its start; p̄ and s̄ the
    part's mean visit length and move). Sites in ``ignore`` rank after every other.
    Started (fixed) visits hold their units first. Returns ``(site, block) → (start,
    unit)``; :func:`_decode` turns it into a plan with the real moves.
    """
    blocks = {s: travel.blocks(s) for s in part}
    tasks = {s: problem.sites[s].tasks for s in part}
    late_shift = 1 + max((problem.axis(problem.sites[s]).horizon for s in part), default=0)
    lst: dict[int, list[int]] = {}
    lengths: list[int] = []
    for s in part:
        t = problem.sites[s].deadline_tick + (late_shift if s in ignore else 0)
        row = [0] * len(blocks[s])
        for b in range(len(blocks[s]) - 1, -1, -1):
            t -= blocks[s][b][3]
            row[b] = t
        lst[s] = row
        lengths.extend(blk[3] for blk in blocks[s] if blk[2] >= 0)
    p_bar = max(1.0, float(np.mean(lengths))) if lengths else 1.0
    s_bar = max(1.0, float(travel.site_ticks.mean())) if travel.site_ticks.size else 1.0
    nxt = dict.fromkeys(part, 0)
    ready = dict.fromkeys(part, 0)
    free: dict[int, int] = {}
    where: dict[int, int] = {}  # unit → site it stands at (absent: at home)
    for s in part:
        for blk in blocks[s]:
            if blk[2] >= 0:
                for u in problem.pools[blk[2]]:
                    free.setdefault(u, 0)
    out: dict[tuple[int, int], tuple[int, int]] = {}

    def est(s: int) -> int:
        i0, i1, _, _, offsets = blocks[s][nxt[s]]
        t = ready[s]
        for k in range(i0, i1 + 1):
            t = max(t, tasks[s][k].release - offsets[k - i0])
        return t

    def place(s: int, start: int, unit: int) -> None:
        out[(s, nxt[s])] = (start, unit)
        ready[s] = start + blocks[s][nxt[s]][3]
        nxt[s] += 1
        if unit >= 0:
            free[unit] = ready[s]
            where[unit] = s

    left = sum(len(blocks[s]) for s in part)
    while left:
        moved = True
        while moved:  # crew-free tasks and started visits go as soon as they can
            moved = False
            for s in part:
                while nxt[s] < len(blocks[s]):
                    i0, _, pool, _, _ = blocks[s][nxt[s]]
                    task = tasks[s][i0]
                    if task.fixed_start is not None:
                        unit = task.fixed_unit
                        if unit < 0 and pool >= 0:
                            unit = min(problem.pools[pool], key=lambda u: (free[u], u))
                        place(s, int(task.fixed_start), unit)
                    elif pool < 0:
                        place(s, est(s), -1)
                    else:
                        break
                    left -= 1
                    moved = True
        if not left:
            break
        waiting: dict[int, list[int]] = {}
        for s in part:
            if nxt[s] < len(blocks[s]):
                waiting.setdefault(blocks[s][nxt[s]][2], []).append(s)
        options: dict[tuple[int, int], tuple[int, int]] = {}
        first: tuple[int, int] | None = None
        for pool in sorted(waiting):
            ready_at = {s: est(s) for s in waiting[pool]}
            for u in problem.pools[pool]:
                here = where.get(u)
                for s in waiting[pool]:
                    move = travel.from_home(u, s) if here is None else travel.between(here, s)
                    start = max(free[u] + move, ready_at[s])
                    options[(u, s)] = (start, move)
                    if first is None or (start, u) < first:
                        first = (start, u)
        assert first is not None
        t0, unit = first
        chosen: tuple[float, int] | None = None
        for s in waiting[problem.unit_pool[unit]]:
            start, move = options[(unit, s)]
            if start > t0 + window:
                continue
            slack = max(0, lst[s][nxt[s]] - start)
            score = (
                slack / (k1 * p_bar)
                + (move / (k2 * s_bar) if math.isfinite(k2) else 0.0)
                + math.log(blocks[s][nxt[s]][3] or 1)
                + 1e-6 * (start - t0)
            )
            if chosen is None or (score, s) < chosen:
                chosen = (score, s)
        assert chosen is not None
        s = chosen[1]
        place(s, options[(unit, s)][0], unit)
        left -= 1
    return out


def _dispatch_best(
    problem: ProblemData,
    part: Sequence[int],
    travel: _Travel,
    ignore: frozenset[int] = frozenset(),
    work: int = _DISPATCH_WORK,
) -> tuple[dict[int, list[int]], dict[int, list[int]]]:
    """The best plan of :func:`_dispatch_part` over :data:`_DISPATCH_GRID` (lexicographic:
    late sites, tardiness, makespan; ``ignore`` as in :func:`_part_value`), each decoded
    with the real moves; sites in ``ignore`` rank after every other. Large parts try fewer
    settings (``work`` candidate evaluations at most, whatever the machine: the same
    inputs give the same plan)."""
    n_visits = sum(len(travel.blocks(s)) for s in part)
    n_units = len(
        {u for s in part for b in travel.blocks(s) if b[2] >= 0 for u in problem.pools[b[2]]}
    )
    per_run = max(1, n_visits * len(part) * max(1, n_units))
    runs = max(1, min(len(_DISPATCH_GRID), work // per_run))
    step = len(_DISPATCH_GRID) / runs
    best: tuple[tuple[int, int, int], dict[int, list[int]], dict[int, list[int]]] | None = None
    for i in range(runs):
        k1, k2, days = _DISPATCH_GRID[int(i * step)]
        window = days * problem.ticks_per_day
        placed = _dispatch_part(problem, part, travel, k1, k2, window, ignore)
        keys = {s: [0.0] * len(problem.sites[s].tasks) for s in part}
        forced: dict[tuple[int, int], int] = {}
        for (s, b), (start, unit) in placed.items():
            i0, i1, _, _, offsets = travel.blocks(s)[b]
            for k in range(i0, i1 + 1):
                keys[s][k] = start + offsets[k - i0]
            if unit >= 0:
                forced[(s, b)] = unit
        st, un = _decode(problem, part, travel, keys, forced)
        value = _part_value(problem, part, st, ignore)
        if best is None or value < best[0]:
            best = (value, st, un)
    assert best is not None
    return best[1], best[2]


def _prepare_part(
    problem: ProblemData, part: list[int], previous: Mapping[int, Sequence[int]] | None
) -> _PartState:
    """Travel, least moves, horizon, bounds and the best of the heuristic plans."""
    travel = _Travel(problem, part)
    setup = _min_inbound(problem, part, travel)
    candidates: list[tuple[str, dict[int, list[int]], dict[int, list[int]]]] = []
    if previous is not None:
        st, un = _decode(problem, part, travel, {s: list(previous[s]) for s in part})
        candidates.append(("previous plan", st, un))
    st, un = _greedy_part(problem, part, travel, drop_late=True)
    candidates.append(("edf-drop-late", st, un))
    st, un = _greedy_part(problem, part, travel, drop_late=False)
    candidates.append(("greedy-edf", st, un))
    st, un = _lst_part(problem, part, travel)
    candidates.append(("latest-start list", st, un))
    st, un = _dispatch_best(problem, part, travel)
    candidates.append(("travel-aware dispatch", st, un))
    best = min(candidates, key=lambda c: _part_value(problem, part, c[1]))
    return _PartState(
        part=part,
        travel=travel,
        setup=setup,
        horizon=_part_horizon(problem, part, travel),
        bound=_part_bound(problem, part, setup),
        plan=best[0],
        starts=best[1],
        units=best[2],
        value=_part_value(problem, part, best[1]),
    )


def _solve_part(
    problem: ProblemData,
    state: _PartState,
    settings: ScheduleSettings,
    budget: float,
    deadline_wall: float,
) -> tuple[_PartOutcome, float, bool]:
    """Solve one part in stages from its prepared state; returns the outcome, the
    deterministic time used and whether the wall-clock backstop stopped a solve.

    Every stage model carries the proven bound of its level as a redundant constraint,
    so CP-SAT's own bound starts there; a level whose plan meets its bound is not solved.
    """
    part, travel, setup, horizon = state.part, state.travel, state.setup, state.horizon
    route_max = int(settings.route_max_visits)
    best_name, best_st, best_un, best_val = state.plan, state.starts, state.units, state.value
    stages: list[dict[str, Any]] = []
    real = [s for s in part if problem.sites[s].tasks]
    late_lb, late_src = state.bound.late
    span_lb = max(
        (
            est[-1] + _blocks(problem.sites[s])[-1][3]
            for s in real
            for est in [_block_est(problem.sites[s], s, setup)]
        ),
        default=0,
    )
    span_floor = span_lb
    used = 0.0
    wall_hit = False
    levels = 0

    def solve(model: _PartModel, share: float) -> tuple[str, cp_model.CpSolver]:
        nonlocal used, wall_hit
        wall_left = deadline_wall - time.perf_counter()
        solver = _solver(settings, share, wall_left)
        code = solver.solve(model.model)
        used += solver.deterministic_time
        if wall_left <= 0.05 or solver.wall_time >= wall_left - 0.01:
            wall_hit = True
        return STATUS_NAMES.get(code, f"UNRECOGNISED_{code}"), solver

    def adopt(model: _PartModel, solver: cp_model.CpSolver) -> None:
        nonlocal best_st, best_un, best_val, best_name
        raw, forced = model.read(solver)
        st, un = _decode(problem, part, travel, raw, forced)
        val = _part_value(problem, part, st)
        if val < best_val:
            best_st, best_un, best_val, best_name = st, un, val, f"cp-sat {model.mode}"

    n_blocks = max(1, sum(len(travel.blocks(s)) for s in part))

    def improve(share: float, salt: int) -> None:
        """Local search with the real moves on the best plan (see _local_search)."""
        nonlocal best_st, best_un, best_val, best_name
        n_moves = int(float(settings.local_search_rate) * share / n_blocks)
        if n_moves <= 0:
            return
        st, un, val = _local_search(
            problem, part, travel, best_st, n_moves, int(settings.seed) * 7919 + salt
        )
        if val < best_val:
            best_st, best_un, best_val = st, un, val
            best_name = f"{best_name} + local search"

    def record(stage: str, status: str, value: int, bound: int, det: float, src: str) -> None:
        stages.append(
            {
                "stage": stage,
                "status": status,
                "value": value,
                "bound": bound,
                "bound_source": src,
                "det_time": det,
            }
        )

    # Stage 1: most sites on time.
    share = budget * _STAGE_SHARES[0]
    if best_val[0] > late_lb:
        improve(budget * _LOCAL_SEARCH_FIRST, 0)
    if best_val[0] <= late_lb:
        levels = 1
        record("late", "OPTIMAL", best_val[0], late_lb, 0.0, late_src)
    elif share < _MIN_SOLVE_TIME:
        record("late", "SKIPPED", best_val[0], late_lb, 0.0, late_src)
    else:
        model = _PartModel(
            problem,
            part,
            travel,
            setup,
            "ontime",
            horizon=horizon,
            route_max_visits=route_max,
            min_late=late_lb,
        )
        model.hint(best_st, best_un)
        status, solver = solve(model, share)
        if status in ("OPTIMAL", "FEASIBLE"):
            adopt(model, solver)
            cp_lb = len(real) - math.floor(solver.best_objective_bound + 1e-6)
            if cp_lb > late_lb:
                late_lb, late_src = cp_lb, "CP-SAT"
        levels = 1 if best_val[0] <= late_lb else 0
        record("late", status, best_val[0], late_lb, solver.deterministic_time, late_src)
    if best_val[0] > late_lb:
        improve(budget * _STAGE_SHARES[0] / 2, 1)
    # Stage 2: least tardiness with at most that many late sites.
    tard_lb, tard_src = state.bound.tardiness(best_val[0])
    if best_val[1] > tard_lb and settings.lp_bound_max_columns > 0:
        lp = _lp_tardiness_bound(
            problem,
            part,
            slot=problem.ticks_per_day,
            horizon=best_val[2],
            max_columns=min(int(settings.lp_bound_max_columns), int(_LP_COLUMNS_PER_DET * budget)),
        )
        if lp is not None and lp > tard_lb:
            tard_lb, tard_src = lp, "time-indexed LP"
    if best_val[1] > tard_lb:
        improve(budget * _STAGE_SHARES[1] / 2, 2)
    share = budget * _STAGE_SHARES[1] + max(0.0, budget * _STAGE_SHARES[0] - used)
    if best_val[1] <= tard_lb:
        levels = 2 if levels >= 1 else levels
        record("tardiness", "OPTIMAL", best_val[1], tard_lb, 0.0, tard_src)
    elif share < _MIN_SOLVE_TIME:
        record("tardiness", "SKIPPED", best_val[1], tard_lb, 0.0, tard_src)
    else:
        model = _PartModel(
            problem,
            part,
            travel,
            setup,
            "tardiness",
            horizon=horizon,
            route_max_visits=route_max,
            max_late=best_val[0],
            min_tardiness=tard_lb,
        )
        model.hint(best_st, best_un)
        status, solver = solve(model, share)
        if status in ("OPTIMAL", "FEASIBLE"):
            adopt(model, solver)
            cp_lb = math.ceil(solver.best_objective_bound - 1e-6)
            if cp_lb > tard_lb:
                tard_lb, tard_src = cp_lb, "CP-SAT"
        if best_val[1] > tard_lb:
            improve(budget * _STAGE_SHARES[1] / 2, 3)
        if levels >= 1 and best_val[1] <= tard_lb:
            levels = 2
        record("tardiness", status, best_val[1], tard_lb, solver.deterministic_time, tard_src)
    # Stage 3: least makespan, only once the tardiness level is proven.
    share = max(budget * _STAGE_SHARES[2], budget - used)
    if levels >= 2 and share >= _MIN_SOLVE_TIME:
        if best_val[2] <= span_floor:
            levels = 3
            span_lb = best_val[2]
            record("makespan", "OPTIMAL", best_val[2], span_lb, 0.0, "chain")
        else:
            model = _PartModel(
                problem,
                part,
                travel,
                setup,
                "makespan",
                horizon=horizon,
                route_max_visits=route_max,
                max_late=best_val[0],
                max_tardiness=best_val[1],
            )
            model.hint(best_st, best_un)
            status, solver = solve(model, share)
            if status in ("OPTIMAL", "FEASIBLE"):
                adopt(model, solver)
                span_lb = max(span_lb, math.ceil(solver.best_objective_bound - 1e-6))
            if best_val[2] <= span_lb:
                levels = 3
            record("makespan", status, best_val[2], span_lb, solver.deterministic_time, "CP-SAT")
    head = problem.sites[part[0]]
    outcome = _PartOutcome(
        starts=best_st,
        units=best_un,
        value=best_val,
        late_lb=late_lb,
        late_source=late_src,
        tard_lb=min(tard_lb, best_val[1]),
        tard_source=tard_src,
        span_lb=span_lb,
        levels_proven=levels,
        stages=[
            {**x, "part": f"{head.operator} / {head.region}", "sites": len(part), "plan": best_name}
            for x in stages
        ],
    )
    return outcome, used, wall_hit


# --------------------------------------------------------------------------- result
@dataclass(frozen=True, eq=False)
class ExtraCrews:
    """Why sites are late and the least extra crew units that put them on time.

    late_sites: ``site_id, operator, region, group, deadline, finish_date, late_days,
        reasons`` (reasons: ``;``-joined among ``power date …``, ``travel …``,
        ``crew capacity …``).
    extra: ``operator, region, kind, crew_id, units, extra_units`` — one row per pool
        that needs more units (crew_id: the crew the extra units join).
    unfixable: site ids no extra crew can put on time (their power date, their chain, or
        the drive from the crews' bases).
    status: ``OPTIMAL`` (enough, and proven least: the units equal the lower bound),
        ``FEASIBLE`` (enough — a real plan with them puts every other site on time — but
        not proven least), ``NOT_FOUND`` (even ``max_extra_units_per_pool`` more units per
        pool do not do it in some part: ``extra`` lists the other parts' units only, the
        summary names the part), ``NONE_NEEDED`` (no late site crews could fix).
    lower_bound: proven least total extra units (over the parts searched): no plan with
        fewer puts every fixable site on time.
    """

    late_sites: pd.DataFrame
    extra: pd.DataFrame
    unfixable: tuple[str, ...]
    status: str
    lower_bound: int
    summary: str

    def to_dict(self) -> dict[str, Any]:
        """The JSON document of ``infeasibility.json``."""
        return {
            "status": self.status,
            "proven_least": self.status == "OPTIMAL",
            "extra_units_total": int(self.extra["extra_units"].sum()) if len(self.extra) else 0,
            "extra_units_lower_bound": int(self.lower_bound),
            "extra_crews": [
                {
                    "operator": r.operator,
                    "region": r.region,
                    "kind": r.kind,
                    "crew_id": r.crew_id,
                    "units": int(r.units),  # type: ignore[arg-type]
                    "extra_units": int(r.extra_units),  # type: ignore[arg-type]
                }
                for r in self.extra.itertuples(index=False)
            ],
            "late_sites": [
                {
                    "site_id": r.site_id,
                    "operator": r.operator,
                    "region": r.region,
                    "group": r.group,
                    "deadline": r.deadline,
                    "finish_date": r.finish_date,
                    "late_days": int(r.late_days),  # type: ignore[arg-type]
                    "reasons": [x for x in str(r.reasons).split("; ") if x],
                }
                for r in self.late_sites.itertuples(index=False)
            ],
            "unfixable_sites": list(self.unfixable),
            "summary": self.summary,
        }


@dataclass(frozen=True, eq=False)
class ScheduleResult:
    """A schedule (CP-SAT or greedy) and how good it is.

    tasks: ``site_id, operator, task, crew_id, start_date, finish_date`` (ISO dates;
        finish = last working day, inclusive; crew_id ``""`` for tasks without crew);
        sorted by site then chain order — what a Gantt per site, operator or crew needs.
    sites: ``site_id, operator, group, deadline, finish_date, on_air_date, late_days``
        (ISO dates; late_days = calendar days after the deadline, 0 when on time).
    status: ``OPTIMAL`` (every part proven on all three levels) / ``FEASIBLE``
        (``INFEASIBLE``, ``MODEL_INVALID``, ``UNKNOWN`` never come back: there is always
        the greedy plan).
    objective: ``W1·n_late + W2·tardiness_ticks + makespan_ticks`` (``W2 = H + 1``,
        ``W1 = W2·T_max + H + 1``), the same for both methods, so comparable.
    lower_bound: proven bound on ``objective`` (NaN for the greedy).
    n_late, total_late_days: late sites and their calendar days late.
    total_tardiness_working_days: Σ working days between deadline and finish.
    makespan_working_days: working days from the first working day to the last finish.
    n_late_lower_bound: sites that must be late in any schedule (proven).
    tardiness_ticks, tardiness_lower_bound_ticks, tardiness_gap: the tardiness level
        (ticks) and its proven bound: the least total tardiness of any schedule with at
        most as many late sites in each independent part (operator × region) as this plan
        — the lexicographic level's bound once ``n_late == n_late_lower_bound`` — and the
        gap ``(value − bound) / value`` (0 when both are 0).
    n_late_bound_sources, tardiness_bound_sources: where the bounds come from, summed
        over the parts: ``chain`` (each site's chain alone: power dates, least moves),
        ``<kind> crews`` (order statistics of that crew pool's completions with an
        assignment of sites to them, see ``_part_bound``), ``CP-SAT`` (the solver's bound).
    first_plan_s: wall seconds until a complete plan existed (the greedy passes).
    runtime_s: wall-clock seconds (not reproducible; never written to outputs).
    method: ``"cp-sat"`` or ``"greedy-edf"``.
    baseline: the greedy's result, run beside CP-SAT (``None`` on the greedy itself).
    moved: re-planning: tasks whose dates or crew changed against ``previous``
        (``site_id, task, old_start, new_start, old_finish, new_finish, old_crew_id,
        new_crew_id, finish_shift_days``), ``None`` without a previous plan.
    explanation: :class:`ExtraCrews` when sites are late (and ``explain_late``).
    stages: per part and stage, what the solver did (status, value, bound, time).
    wall_limit_hit: the ``max_wall_time_s`` backstop stopped a solve (not reproducible).
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
    tardiness_ticks: int = 0
    tardiness_lower_bound_ticks: int = 0
    first_plan_s: float = 0.0
    baseline: ScheduleResult | None = None
    moved: pd.DataFrame | None = None
    explanation: ExtraCrews | None = None
    stages: tuple[dict[str, Any], ...] = ()
    wall_limit_hit: bool = False
    assignment: _Assignment | None = None
    n_late_bound_sources: tuple[tuple[str, int], ...] = ()
    tardiness_bound_sources: tuple[tuple[str, int], ...] = ()

    @property
    def lexicographic(self) -> tuple[int, int, int]:
        """``(sites late, total tardiness in ticks, makespan in working days)``."""
        return (self.n_late, self.tardiness_ticks, self.makespan_working_days)

    @property
    def tardiness_gap(self) -> float:
        """``(tardiness − bound) / tardiness`` on the tardiness level (0 when it is 0)."""
        if self.tardiness_ticks == 0:
            return 0.0
        return (self.tardiness_ticks - self.tardiness_lower_bound_ticks) / self.tardiness_ticks


def _weights(problem: ProblemData) -> tuple[int, int]:
    h = max((a.horizon for a in problem.axes.values()), default=1)
    t_max = sum(max(0, problem.axis(s).horizon - s.deadline_tick) for s in problem.sites)
    w2 = h + 1
    return (w2 * t_max + h + 1, w2)


def _tables(
    problem: ProblemData, assignment: _Assignment
) -> tuple[pd.DataFrame, pd.DataFrame, int, int, int]:
    """tasks and sites frames, tardiness ticks, total working days late, makespan ticks."""
    cal = problem.calendar
    lag = dt.timedelta(days=problem.on_air_lag_days)
    task_rows: list[tuple[str, str, str, str, str, str]] = []
    site_rows: list[tuple[str, str, str, str, str, str, int]] = []
    tard_ticks = late_wd = span = 0
    for s_idx, site in enumerate(problem.sites):
        axis = problem.axis(site)
        rows: list[tuple[int, tuple[str, str, str, str, str, str]]] = []
        order = {n: k for k, n in enumerate(TASK_ORDER)}
        for d in site.done:
            rows.append(
                (
                    order[d.name],
                    (
                        site.site_id,
                        site.operator,
                        d.name,
                        d.crew_id,
                        d.start_date.isoformat(),
                        d.finish_date.isoformat(),
                    ),
                )
            )
        starts = assignment.starts[s_idx]
        units = assignment.units[s_idx]
        finish: dt.date | None = max((d.finish_date for d in site.done), default=None)
        if site.tasks:
            first_idx = [axis.day_of_tick(st) for st in starts]
            last_idx = [
                axis.day_of_tick(st + t.duration - 1)
                for st, t in zip(starts, site.tasks, strict=True)
            ]
            first = cal.iso_dates_of(first_idx)
            last = cal.iso_dates_of(last_idx)
            for t_idx, task in enumerate(site.tasks):
                unit = units[t_idx]
                shown = (
                    task.shown_start.isoformat() if task.shown_start is not None else first[t_idx]
                )
                rows.append(
                    (
                        order[task.name],
                        (
                            site.site_id,
                            site.operator,
                            task.name,
                            problem.units[unit] if unit >= 0 else "",
                            shown,
                            last[t_idx],
                        ),
                    )
                )
            end = starts[-1] + site.tasks[-1].duration
            span = max(span, end)
            tard_ticks += max(0, end - site.deadline_tick)
            late_wd += max(0, last_idx[-1] - site.deadline_index)
            finish = dt.date.fromisoformat(last[-1])
        assert finish is not None
        rows.sort(key=lambda r: r[0])
        task_rows.extend(r[1] for r in rows)
        site_rows.append(
            (
                site.site_id,
                site.operator,
                site.group,
                site.deadline.isoformat(),
                finish.isoformat(),
                (finish + lag).isoformat(),
                max(0, (finish - site.deadline).days),
            )
        )
    tasks = pd.DataFrame(task_rows, columns=list(TASK_COLUMNS))
    sites_df = pd.DataFrame(site_rows, columns=list(SITE_COLUMNS))
    sites_df["late_days"] = sites_df["late_days"].astype("int64")
    return tasks, sites_df, tard_ticks, late_wd, span


def _makespan_days(problem: ProblemData, sites_df: pd.DataFrame) -> int:
    if sites_df.empty:
        return 0
    last = max(sites_df["finish_date"])
    return problem.calendar.index_of(dt.date.fromisoformat(last), side="before") + 1


def _result(
    problem: ProblemData,
    settings: ScheduleSettings,
    assignment: _Assignment,
    *,
    status: str,
    late_lb: int,
    tard_lb: int,
    span_lb: int | None,
    runtime_s: float,
    first_plan_s: float,
    method: str,
    baseline: ScheduleResult | None = None,
    moved: pd.DataFrame | None = None,
    stages: tuple[dict[str, Any], ...] = (),
    wall_limit_hit: bool = False,
    explanation: ExtraCrews | None = None,
    bound_sources: tuple[tuple[tuple[str, int], ...], tuple[tuple[str, int], ...]] = ((), ()),
) -> ScheduleResult:
    tasks, sites_df, tard_ticks, late_wd, span = _tables(problem, assignment)
    n_late = int((sites_df["late_days"] > 0).sum())
    w1, w2 = _weights(problem)
    objective = float(w1 * n_late + w2 * tard_ticks + span)
    if method == "cp-sat":
        lower = float(w1 * late_lb + (w2 * tard_lb + (span_lb or 0) if late_lb == n_late else 0))
    else:
        lower = math.nan
    result = ScheduleResult(
        tasks=tasks,
        sites=sites_df,
        status=status,
        objective=objective,
        lower_bound=lower,
        n_late=n_late,
        total_late_days=int(sites_df["late_days"].sum()),
        total_tardiness_working_days=int(late_wd),
        makespan_working_days=_makespan_days(problem, sites_df),
        n_late_lower_bound=int(late_lb),
        runtime_s=float(runtime_s),
        summary="",
        method=method,
        problem=problem,
        tardiness_ticks=int(tard_ticks),
        tardiness_lower_bound_ticks=int(tard_lb),
        first_plan_s=float(first_plan_s),
        baseline=baseline,
        moved=moved,
        explanation=explanation,
        stages=stages,
        wall_limit_hit=wall_limit_hit,
        n_late_bound_sources=bound_sources[0],
        tardiness_bound_sources=bound_sources[1],
        assignment=assignment,
    )
    object.__setattr__(result, "summary", _summary(result, settings))
    return result


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _sources_text(sources: Sequence[tuple[str, int]]) -> str:
    return " + ".join(f"{v} from {k}" for k, v in sources) if sources else "nothing to bound"


def _bound_lines(result: ScheduleResult) -> list[str]:
    """The two objective levels with their proven bounds and where those come from."""
    proven = result.n_late == result.n_late_lower_bound
    return [
        f"Late-site level: {result.n_late} late, proven at least {result.n_late_lower_bound} "
        f"({_sources_text(result.n_late_bound_sources)})"
        + ("; optimal." if proven else "; not proven least."),
        f"Tardiness level: {result.tardiness_ticks} ticks of {result.problem.hours_per_tick:g} h "
        f"({result.total_tardiness_working_days} working days), proven bound "
        f"{result.tardiness_lower_bound_ticks} ticks "
        f"({_sources_text(result.tardiness_bound_sources)}), gap "
        f"{100 * result.tardiness_gap:.1f}%"
        + (
            "."
            if proven
            else " — among plans with at most as many late sites per operator and region."
        )
        + (
            " The bounds count each crew visit's shortest possible drive in, not whole "
            "routes: with travel they are loose, and the gap is only an upper limit on how "
            "far this plan is from the best."
            if result.problem.travel and result.tardiness_gap > 0
            else ""
        ),
    ]


def _summary(result: ScheduleResult, settings: ScheduleSettings) -> str:
    """Plain planner text: per group completion and on-air dates, power waits, late sites
    with how late, the greedy's figures beside, what moved, the least extra crews."""
    problem, sites_df = result.problem, result.sites
    label = "CP-SAT" if result.method == "cp-sat" else "greedy earliest-deadline-first"
    if not problem.sites:
        return f"{label}: no sites to build."
    n_tasks = len(result.tasks)
    lines = [
        f"{label} ({result.status}): {_plural(len(problem.sites), 'site')}, {n_tasks} tasks, "
        f"work from {min(result.tasks['start_date'])} to {max(sites_df['finish_date'])}."
    ]
    groups = sorted(
        {s.group for s in problem.sites},
        key=lambda g: (_GROUP_ORDER.index(g) if g in _GROUP_ORDER else len(_GROUP_ORDER), g),
    )
    by_site = {s.site_id: s for s in problem.sites}
    tasks = result.tasks.set_index(["site_id", "task"])
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
        head += f"; on air by {max(part['on_air_date'])}"
        target = settings.on_air_targets.get(group)
        if target is not None:
            head += f" (target {to_date(target).isoformat()})"
        lines.append(head + ".")
        waits = []
        for s in members:
            if (
                s.power == "grid"
                and s.power_date is not None
                and s.power_date > problem.calendar.start
            ):
                key = (s.site_id, "grid")
                if (
                    key in tasks.index
                    and tasks.loc[key, "start_date"]
                    == problem.calendar.next_working_day_on_or_after(s.power_date).isoformat()
                ):
                    waits.append(s.power_date)
        if waits:
            verb = "waits" if len(waits) == 1 else "wait"
            lines.append(
                f"  {_plural(len(waits), 'site')} {verb} for grid power, the last until "
                f"{max(waits).isoformat()}."
            )
        after = [s for s in members if s.power_date is not None and s.power_date > s.deadline]
        if after:
            lines.append(
                f"  warning: {_plural(len(after), 'site')} get grid power only after the "
                f"deadline (power_eta, e.g. {after[0].site_id} on {after[0].power_date}): "
                "late unless solar+battery is chosen."
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
                f" (at least {_plural(result.n_late_lower_bound, 'site')} must be late in any "
                "schedule)"
                if result.n_late_lower_bound and result.method == "cp-sat"
                else ""
            )
            + ":"
        )
        shown = late_all.head(20)
        for row in shown.itertuples(index=False):
            lines.append(
                f"  {row.site_id} ({row.operator}, {row.group}): finishes {row.finish_date}, "
                f"{_plural(int(row.late_days), 'day')} after {row.deadline}."  # type: ignore[arg-type]
            )
        if len(late_all) > len(shown):
            lines.append(f"  … and {len(late_all) - len(shown)} more (see sites_schedule.csv).")
    if result.method == "cp-sat" and problem.sites:
        lines.extend(_bound_lines(result))
    if result.baseline is not None:
        b = result.baseline
        lines.append(
            f"Greedy earliest-deadline-first (the yardstick): {_plural(b.n_late, 'site')} late, "
            f"{_plural(b.total_late_days, 'day')} late in total ({b.tardiness_ticks} ticks), "
            f"last finish {max(b.sites['finish_date'])}."
        )
    if result.moved is not None:
        mv = result.moved
        later = int((mv["finish_shift_days"] > 0).sum()) if len(mv) else 0
        lines.append(
            f"Re-plan: {_plural(len(mv), 'task')} moved against the previous plan"
            + (f", {later} finishing later" if later else "")
            + "."
        )
    if result.wall_limit_hit:
        lines.append(
            f"warning: the wall-clock backstop ({settings.max_wall_time_s:g} s) stopped the "
            "solver: this plan may differ from run to run; raise max_wall_time_s."
        )
    if result.explanation is not None:
        lines.append(result.explanation.summary)
    return "\n".join(lines)


# --------------------------------------------------------------------------- entry points
def _to_assignment(
    problem: ProblemData, starts: Mapping[int, Sequence[int]], units: Mapping[int, Sequence[int]]
) -> _Assignment:
    return _Assignment(
        starts=tuple(tuple(int(x) for x in starts.get(i, ())) for i in range(len(problem.sites))),
        units=tuple(tuple(int(x) for x in units.get(i, ())) for i in range(len(problem.sites))),
    )


def _previous_starts(problem: ProblemData, previous: pd.DataFrame) -> dict[int, list[int]] | None:
    """Start ticks of a previous ``schedule.csv`` for the tasks left (missing tasks: just
    after their chain predecessor)."""
    need = {"site_id", "task", "start_date"}
    if not need <= set(previous.columns):
        raise SchemaError(
            f"previous schedule lacks column(s) {', '.join(sorted(need - set(previous.columns)))}",
            column=sorted(need - set(previous.columns))[0],
        )
    known = {
        (str(a), str(b)): c
        for a, b, c in zip(
            previous["site_id"], previous["task"], previous["start_date"], strict=True
        )
    }
    out: dict[int, list[int]] = {}
    cal = problem.calendar
    for s_idx, site in enumerate(problem.sites):
        axis = problem.axis(site)
        row: list[int] = []
        t = 0
        for task in site.tasks:
            if task.fixed_start is not None:
                t = task.fixed_start
            else:
                v = known.get((site.site_id, task.name))
                cand = max(t, task.release)
                if v is not None and not _missing(v):
                    cand = max(cand, axis.first_tick(cal.index_of(to_date(v), side="after")))
                t = cand
            row.append(t)
            t += task.duration
        out[s_idx] = row
    return out


def _moved(previous: pd.DataFrame, tasks: pd.DataFrame) -> pd.DataFrame:
    """Tasks whose start, finish or crew changed between two ``schedule.csv`` frames."""
    cols = ["site_id", "task", "start_date", "finish_date", "crew_id"]
    prev = previous.reindex(columns=cols).copy()
    prev = prev.astype({c: "object" for c in cols}).fillna("")
    prev = prev.astype(str)
    new = tasks[cols].astype(str)
    merged = prev.merge(new, on=["site_id", "task"], how="outer", suffixes=("_old", "_new"))
    merged = merged.fillna("")
    changed = (
        (merged["start_date_old"] != merged["start_date_new"])
        | (merged["finish_date_old"] != merged["finish_date_new"])
        | (merged["crew_id_old"] != merged["crew_id_new"])
    )
    m = merged[changed].sort_values(["site_id", "task"]).reset_index(drop=True)

    def shift(a: str, b: str) -> int:
        if not a or not b:
            return 0
        return (dt.date.fromisoformat(b) - dt.date.fromisoformat(a)).days

    out = pd.DataFrame(
        {
            "site_id": m["site_id"],
            "task": m["task"],
            "old_start": m["start_date_old"],
            "new_start": m["start_date_new"],
            "old_finish": m["finish_date_old"],
            "new_finish": m["finish_date_new"],
            "old_crew_id": m["crew_id_old"],
            "new_crew_id": m["crew_id_new"],
            "finish_shift_days": [
                shift(a, b) for a, b in zip(m["finish_date_old"], m["finish_date_new"], strict=True)
            ],
        }
    )
    out["finish_shift_days"] = out["finish_shift_days"].astype("int64")
    return out


def greedy_schedule(
    sites: pd.DataFrame, settings: ScheduleSettings, *, progress: pd.DataFrame | None = None
) -> ScheduleResult:
    """The yardstick: earliest-deadline-first list scheduling (each site's chain in turn,
    sites by deadline, power date, site_id), every task as early as a unit allows, the
    unit that can start first (then the nearest); status ``FEASIBLE``, no bound."""
    t0 = time.perf_counter()
    problem = build_problem(sites, settings, progress=progress)
    return _greedy_result(problem, settings, t0)


def _greedy_result(problem: ProblemData, settings: ScheduleSettings, t0: float) -> ScheduleResult:
    starts: dict[int, list[int]] = {}
    units: dict[int, list[int]] = {}
    for part in _components(problem):
        travel = _Travel(problem, part)
        st, un = _greedy_part(problem, part, travel, drop_late=False)
        starts.update(st)
        units.update(un)
    runtime = time.perf_counter() - t0
    return _result(
        problem,
        settings,
        _to_assignment(problem, starts, units),
        status="FEASIBLE",
        late_lb=0,
        tard_lb=0,
        span_lb=None,
        runtime_s=runtime,
        first_plan_s=runtime,
        method="greedy-edf",
    )


def plan_builds(
    sites: pd.DataFrame,
    settings: ScheduleSettings,
    *,
    progress: pd.DataFrame | None = None,
    previous: pd.DataFrame | None = None,
) -> ScheduleResult:
    """Schedule every site's build chain with CP-SAT (see the module docstring).

    sites: the siting output (GeoDataFrame or DataFrame; see :func:`build_problem`).
    progress: tasks done or started (:func:`covgap.schedule_io.read_progress`).
    previous: the previous ``schedule.csv`` (re-planning: its starts are the first hint
        and :attr:`ScheduleResult.moved` says what changed).

    A late plan is a result (``n_late > 0``, listed in ``summary``, explained in
    ``explanation``). The greedy plan always exists, so a plan always comes back; the
    parts are solved in a fixed order, each with a share of ``max_deterministic_time``
    by its number of tasks (what a part leaves goes on to the next).
    """
    t0 = time.perf_counter()
    problem = build_problem(sites, settings, progress=progress)
    deadline_wall = t0 + float(settings.max_wall_time_s)
    baseline = _greedy_result(problem, settings, time.perf_counter())
    first_plan = time.perf_counter() - t0  # the greedy plan is complete and feasible
    n = len(problem.sites)
    prev_starts = _previous_starts(problem, previous) if previous is not None else None
    parts = [p for p in _components(problem) if any(problem.sites[s].tasks for s in p)]
    states = [_prepare_part(problem, part, prev_starts) for part in parts]
    # Parts whose late count and tardiness already meet their bounds only need the
    # makespan stage: they get a tenth of the weight of an open part of the same size.
    weights = [
        sum(len(problem.sites[i].tasks) for i in st.part) * (1.0 if st.open else 0.1)
        for st in states
    ]
    total_weight = max(1e-9, sum(weights))
    starts: dict[int, list[int]] = {i: [] for i in range(n)}
    units: dict[int, list[int]] = {i: [] for i in range(n)}
    late_lb = tard_lb = 0
    late_sources: dict[str, int] = {}
    tard_sources: dict[str, int] = {}
    span_lb = 0
    all_levels = 3
    stages: list[dict[str, Any]] = []
    carry = 0.0
    wall_hit = False
    for state, weight in zip(states, weights, strict=True):
        own = float(settings.max_deterministic_time) * weight / total_weight
        budget = max(0.5 * own, own + carry)
        outcome, used, hit = _solve_part(problem, state, settings, budget, deadline_wall)
        wall_hit = wall_hit or hit
        carry = carry + own - used  # negative when parts overran: the next ones pay it back
        starts.update(outcome.starts)
        units.update(outcome.units)
        late_lb += outcome.late_lb
        tard_lb += outcome.tard_lb
        if outcome.late_lb:
            late_sources[outcome.late_source] = (
                late_sources.get(outcome.late_source, 0) + outcome.late_lb
            )
        if outcome.tard_lb:
            tard_sources[outcome.tard_source] = (
                tard_sources.get(outcome.tard_source, 0) + outcome.tard_lb
            )
        span_lb = max(span_lb, outcome.span_lb)
        all_levels = min(all_levels, outcome.levels_proven)
        stages.extend(outcome.stages)
    assignment = _to_assignment(problem, starts, units)
    status = "OPTIMAL" if all_levels >= 3 else "FEASIBLE"
    tasks_df, sites_df, tard_ticks, _, _ = _tables(problem, assignment)
    moved = _moved(previous, tasks_df) if previous is not None else None
    explanation = None
    n_late = int((sites_df["late_days"] > 0).sum())
    if n_late and settings.explain_late:
        explanation = least_extra_crews(problem, settings, assignment)
    return _result(
        problem,
        settings,
        assignment,
        status=status,
        late_lb=late_lb,
        tard_lb=min(tard_lb, tard_ticks),
        span_lb=span_lb,
        runtime_s=time.perf_counter() - t0,
        first_plan_s=first_plan,
        method="cp-sat",
        baseline=baseline,
        moved=moved,
        stages=tuple(stages),
        wall_limit_hit=wall_hit,
        explanation=explanation,
        bound_sources=(tuple(sorted(late_sources.items())), tuple(sorted(tard_sources.items()))),
    )


# --------------------------------------------------------------------------- late plans
def _with_extra_units(problem: ProblemData, extra: Mapping[int, int]) -> ProblemData:
    """The problem with ``extra[pool]`` more units in some pools, named after the pool's
    first crew (``<crew_id>/<count + k>``) and based at its home."""
    units = list(problem.units)
    unit_pool = list(problem.unit_pool)
    unit_home = list(problem.unit_home)
    pools = [list(p) for p in problem.pools]
    for pool in sorted(extra):
        k = int(extra[pool])
        if k <= 0:
            continue
        first = problem.units[problem.pools[pool][0]]
        crew_id = first.rsplit("/", 1)[0]
        count = sum(1 for u in problem.units if u.rsplit("/", 1)[0] == crew_id)
        home = problem.unit_home[problem.pools[pool][0]]
        for j in range(1, k + 1):
            pools[pool].append(len(units))
            unit_pool.append(pool)
            unit_home.append(home)
            units.append(f"{crew_id}/{count + j}")
    return ProblemData(
        sites=problem.sites,
        crews=problem.crews,
        units=tuple(units),
        unit_pool=tuple(unit_pool),
        unit_home=tuple(unit_home),
        pools=tuple(tuple(p) for p in pools),
        pool_keys=problem.pool_keys,
        axes=problem.axes,
        calendar=problem.calendar,
        ticks_per_day=problem.ticks_per_day,
        on_air_lag_days=problem.on_air_lag_days,
        travel=problem.travel,
        road_factor=problem.road_factor,
        speeds_kmh=problem.speeds_kmh,
        hours_per_tick=problem.hours_per_tick,
    )


def _unlimited_end(problem: ProblemData, s: int, travel: _Travel) -> int:
    """End tick of a site's chain when every crew visit gets a unit of its own that drives
    from the nearest home base of its pool (units start at home at tick 0): what any
    number of extra units, waiting at their crew's base, can achieve."""
    site = problem.sites[s]
    t = 0
    for i0, i1, pool, dur, offsets in _blocks(site):
        if site.tasks[i0].fixed_start is not None:
            t = int(site.tasks[i0].fixed_start or 0) + dur
            continue
        for k in range(i0, i1 + 1):
            t = max(t, site.tasks[k].release - offsets[k - i0])
        if pool >= 0:
            t = max(t, travel.pool_home(pool, s))
        t += dur
    return t


@dataclass
class _ExtraSearch:
    """The least-extra-units search of one part (see :func:`least_extra_crews`)."""

    problem: ProblemData
    part: list[int]
    settings: ScheduleSettings
    ignore: frozenset[int]  # sites extra units cannot put on time
    pools: list[int]
    travel: _Travel  # moves within the part (extra units share their crews' homes)
    budget: float = 0.0  # deterministic time left for CP-SAT solves
    moves: int = 0  # local-search rebuilds left

    @functools.cached_property
    def setup(self) -> dict[tuple[int, int], int]:
        """Each crew visit's least inbound move (:func:`_min_inbound`)."""
        return _min_inbound(self.problem, self.part, self.travel)

    def late(self, extra: Mapping[int, int], *, thorough: bool) -> tuple[int, int]:
        """(target sites late, their tardiness) of the best plan found with ``extra``
        units: the drop-late and latest-start heuristics, and when ``thorough`` the local
        search and a CP-SAT on-time solve (while the budget lasts)."""
        prob = _with_extra_units(self.problem, extra)
        part = self.part
        tr = _Travel(prob, part)
        plans = [
            _greedy_part(prob, part, tr, drop_late=True),
            _lst_part(prob, part, tr, ignore=self.ignore),
            _dispatch_best(prob, part, tr, self.ignore, _DISPATCH_WORK // 10),
        ]
        best_st, best_un = min(plans, key=lambda p: _part_value(prob, part, p[0], self.ignore))
        value = _part_value(prob, part, best_st, self.ignore)
        if value[0] and thorough and self.moves > 0:
            n_moves = min(self.moves, 300)
            self.moves -= n_moves
            best_st, best_un, value = _local_search(
                prob, part, tr, best_st, n_moves, int(self.settings.seed), self.ignore
            )
        if value[0] and thorough and self.budget >= _MIN_SOLVE_TIME:
            setup = _min_inbound(prob, part, tr)
            model = _PartModel(
                prob,
                part,
                tr,
                setup,
                "ontime",
                horizon=_part_horizon(prob, part, tr),
                route_max_visits=int(self.settings.route_max_visits),
                late_ok=self.ignore,
            )
            model.hint(best_st, best_un)
            share = min(self.budget, max(_MIN_SOLVE_TIME, self.budget / 3))
            solver = _solver(self.settings, share, float(self.settings.max_wall_time_s))
            code = solver.solve(model.model)
            self.budget -= solver.deterministic_time
            if STATUS_NAMES.get(code) in ("OPTIMAL", "FEASIBLE"):
                raw, forced = model.read(solver)
                st, _ = _decode(prob, part, tr, raw, forced)
                value = min(value, _part_value(prob, part, st, self.ignore))
        return value[0], value[1]

    def lower_bounds(self, limit: int) -> dict[int, int]:
        """Per pool the fewest extra units without which some target site is late even
        with every other pool unlimited (the pool's order-statistics bound, chain links
        ignored, non-target sites dropped): each is necessary, so their sum bounds the
        total."""
        need: dict[int, int] = {}
        for x in range(limit + 1):
            capacity = {p: len(self.problem.pools[p]) + x for p in self.pools}
            bound = _part_bound(
                self.problem,
                self.part,
                self.setup,
                keep=lambda s: s not in self.ignore,
                capacity=capacity,
                propagate=False,
            )
            late_of = {pb.pool: pb.late for pb in bound.pools}
            for p in self.pools:
                if p not in need and late_of.get(p, 0) == 0:
                    need[p] = x
            if len(need) == len(self.pools):
                break
        return {p: need.get(p, limit) for p in self.pools}

    def relaxed(
        self, lower: Mapping[int, int], limit: int, share: float
    ) -> tuple[dict[int, int] | None, int]:
        """CP-SAT on a relaxation with the pools' extra units as variables (every target on
        time, moves as each visit's least inbound move): its counts (``None`` when none
        found) and its proven least total, a lower bound for the real problem."""
        model = _PartModel(
            self.problem,
            self.part,
            self.travel,
            self.setup,
            "extra",
            horizon=_part_horizon(self.problem, self.part, self.travel),
            route_max_visits=0,
            max_extra=limit,
            late_ok=self.ignore,
        )
        for p, x in model.extra.items():
            model.model.add(x >= int(lower.get(p, 0)))
        solver = _solver(self.settings, share, float(self.settings.max_wall_time_s))
        status = STATUS_NAMES.get(solver.solve(model.model), "UNKNOWN")
        self.budget -= solver.deterministic_time
        floor = sum(lower.values())
        if status not in ("OPTIMAL", "FEASIBLE"):
            return None, floor
        counts = {p: int(solver.value(x)) for p, x in model.extra.items()}
        counts.update({p: int(lower.get(p, 0)) for p in self.pools if p not in counts})
        return counts, max(floor, math.ceil(solver.best_objective_bound - 1e-6))

    def search(
        self, start: Mapping[int, int], floor: Mapping[int, int], limit: int
    ) -> tuple[dict[int, int], bool]:
        """From ``start`` (checked thoroughly), add the unit that helps the heuristics most
        until every target site is on time, then take back every unit the plan can spare
        down to the per-pool ``floor`` (heuristics first, then a thorough check); returns
        the counts and whether they put every target site on time."""
        extra = {p: max(int(start.get(p, 0)), int(floor.get(p, 0))) for p in self.pools}
        n_late, _ = self.late(extra, thorough=True)
        while n_late:
            options = []
            for p in self.pools:
                if extra[p] < limit:
                    trial = {**extra, p: extra[p] + 1}
                    options.append((self.late(trial, thorough=False), p))
            if not options:
                return extra, False
            (_, _), p = min(options)
            extra[p] += 1
            n_late, _ = self.late(extra, thorough=False)
        for p in self.pools:
            while extra[p] > floor.get(p, 0):
                trial = {**extra, p: extra[p] - 1}
                if self.late(trial, thorough=False)[0] and self.late(trial, thorough=True)[0]:
                    break
                extra = trial
        return extra, True


def least_extra_crews(
    problem: ProblemData, settings: ScheduleSettings, assignment: _Assignment
) -> ExtraCrews:
    """Reasons for each late site of ``assignment`` and the fewest extra crew units (by
    operator × region × kind) that put on time every site extra units can put on time.

    Targets: the late sites whose chain ends by the deadline when every crew visit gets a
    unit of its own driving from its crew's base (:func:`_unlimited_end`); the others are
    late whatever the crews (``power date``, ``travel``). Per part with late targets:

    * **lower bound** — per pool, the fewest extra units its order-statistics bound needs
      to put every target on time with all other pools unlimited (each is necessary, so
      their sum bounds the total);
    * **relaxation** — CP-SAT on a model with the pools' extra units as variables, every
      target on time and each move relaxed to the visit's least inbound move: its proven
      least raises the part's lower bound and, when proven, its counts start the search;
    * **search** — from those counts, each candidate checked with real plans (heuristics,
      local search, CP-SAT with hard deadlines, all with the real moves), one unit at a
      time to the pool that helps most until every target is on time, then every unit the
      plan can spare is taken back (never below a pool's own bound).

    Deterministic time: ``explain_deterministic_time``, 80 % for the relaxations and the
    rest for the checks, given to the parts smallest first in proportion to their sizes,
    what one leaves going to the next.

    ``status``: ``OPTIMAL`` when the units found equal the lower bound (proven least),
    ``FEASIBLE`` when they suffice but are not proven least, ``NOT_FOUND`` when
    ``max_extra_units_per_pool`` more units per pool do not do it, ``NONE_NEEDED`` when no
    late site can be helped by crews.
    """
    starts = {i: list(assignment.starts[i]) for i in range(len(problem.sites))}
    cal = problem.calendar
    limit = int(settings.max_extra_units_per_pool)
    unlimited: dict[int, int] = {}
    parts: list[tuple[list[int], _Travel]] = []
    for part in _components(problem):
        tr = _Travel(problem, part)
        for s in part:
            if problem.sites[s].tasks:
                unlimited[s] = _unlimited_end(problem, s, tr)
        late = [
            s
            for s in part
            if problem.sites[s].tasks
            and starts[s][-1] + problem.sites[s].tasks[-1].duration > problem.sites[s].deadline_tick
        ]
        if any(unlimited[s] <= problem.sites[s].deadline_tick for s in late):
            parts.append((part, tr))
    extra_total: dict[int, int] = {}
    lb_total = 0
    proven = found = True
    searches: list[_ExtraSearch] = []
    missing: list[str] = []  # parts (operator / region) no count up to the limit fixes
    for part, tr in parts:
        ignore = frozenset(
            s
            for s in part
            if problem.sites[s].tasks and unlimited[s] > problem.sites[s].deadline_tick
        )
        pools = sorted({t.pool for s in part for t in problem.sites[s].tasks if t.pool >= 0})
        searches.append(_ExtraSearch(problem, part, settings, ignore, pools, tr))
    # Deterministic time flows on, smallest part first: what a part leaves (a relaxation
    # proven early) goes to the larger parts after it, in proportion to their sizes.
    searches.sort(key=lambda x: (len(x.part), x.part[0]))
    total = float(settings.explain_deterministic_time)
    left_relaxed = total * _EXTRA_RELAXED_SHARE
    left_checks = total - left_relaxed
    size_all = size_left = sum(len(x.part) for x in searches)
    for search in searches:
        share = len(search.part) / max(1, size_left)
        size_left -= len(search.part)
        lower = search.lower_bounds(limit)
        # The relaxation first: its proven least bounds the part and, when proven, its
        # counts start the search (an unproven one may be far from the least).
        search.budget = given = left_relaxed * share
        relaxed, lb = search.relaxed(lower, limit, given)
        left_relaxed -= given - search.budget
        search.budget = given = left_checks * share
        search.moves = int(
            float(settings.local_search_rate)
            * total
            * len(search.part)
            / size_all
            / max(1, sum(len(_blocks(problem.sites[s])) for s in search.part))
        )
        start = relaxed if relaxed is not None and sum(relaxed.values()) == lb else lower
        extra, ok = search.search(start, lower, limit)
        left_checks -= given - search.budget
        if not ok:
            # Counts that do not suffice are no answer: the part is named instead.
            found = False
            missing.append(" / ".join(problem.pool_keys[search.pools[0]][:2]))
            lb_total += lb
            continue
        lb = min(lb, sum(extra.values()))  # both hold; keep the report consistent
        lb_total += lb
        proven = proven and sum(extra.values()) == lb
        for p, k in extra.items():
            if k:
                extra_total[p] = extra_total.get(p, 0) + k
    # Reasons per late site.
    rows = []
    unfixable: list[str] = []
    for s_idx, site in enumerate(problem.sites):
        if not site.tasks:
            continue
        end = starts[s_idx][-1] + site.tasks[-1].duration
        if end <= site.deadline_tick:
            continue
        axis = problem.axis(site)
        finish = cal.date_of(axis.day_of_tick(end - 1))
        reasons: list[str] = []
        if site.chain_late_alone:
            unfixable.append(site.site_id)
            if site.power_date is not None and any(
                t.name == "grid" and t.release > 0 for t in site.tasks
            ):
                earliest = cal.date_of(axis.day_of_tick(site.earliest_end - 1))
                reasons.append(
                    f"power date: grid power only on {site.power_date}, so even with free crews "
                    f"it ends {earliest}, after the deadline {site.deadline}"
                )
            else:
                reasons.append(
                    "chain: even started at once with free crews its tasks end after the "
                    f"deadline {site.deadline}"
                )
        elif unlimited[s_idx] > site.deadline_tick:
            unfixable.append(site.site_id)
            earliest = cal.date_of(axis.day_of_tick(unlimited[s_idx] - 1))
            reasons.append(
                "travel: even with a unit of every crew kind free for it alone, driving from "
                f"its base, it ends {earliest}, after the deadline {site.deadline}"
            )
        else:
            pools_needed = [
                p
                for p in sorted(extra_total)
                if extra_total[p] and any(t.pool == p for t in site.tasks)
            ]
            text = f"crew capacity: {site.operator} crews in {site.region} are fully booked"
            if pools_needed:
                kinds = ", ".join(
                    f"{problem.pool_keys[p][2]} (+{extra_total[p]})" for p in pools_needed
                )
                text += f", more {kinds} units put it on time"
            reasons.append(text)
        rows.append(
            (
                site.site_id,
                site.operator,
                site.region,
                site.group,
                site.deadline.isoformat(),
                finish.isoformat(),
                (finish - site.deadline).days,
                "; ".join(reasons),
            )
        )
    late_df = pd.DataFrame(
        rows,
        columns=[
            "site_id",
            "operator",
            "region",
            "group",
            "deadline",
            "finish_date",
            "late_days",
            "reasons",
        ],
    )
    late_df["late_days"] = late_df["late_days"].astype("int64")
    ex_rows = []
    for p in sorted(extra_total, key=lambda p: problem.pool_keys[p]):
        if not extra_total[p]:
            continue
        op, region, kind = problem.pool_keys[p]
        first = problem.units[problem.pools[p][0]].rsplit("/", 1)[0]
        ex_rows.append((op, region, kind, first, len(problem.pools[p]), extra_total[p]))
    extra_df = pd.DataFrame(
        ex_rows, columns=["operator", "region", "kind", "crew_id", "units", "extra_units"]
    )
    extra_df = extra_df.astype({"units": "int64", "extra_units": "int64"})
    if not parts:
        status = "NONE_NEEDED"
    elif not found:
        status = "NOT_FOUND"
    else:
        status = "OPTIMAL" if proven else "FEASIBLE"
    total = int(extra_df["extra_units"].sum()) if len(extra_df) else 0
    by = ", ".join(
        f"+{r.extra_units} {r.kind} ({r.operator}, {r.region})" for r in extra_df.itertuples()
    )
    if status == "NONE_NEEDED":
        text = (
            f"No extra crew helps: the {_plural(len(unfixable), 'late site')} "
            f"{'waits' if len(unfixable) == 1 else 'wait'} for power, on "
            f"{'its' if len(unfixable) == 1 else 'their'} own chain or on the drive from the "
            "crews' bases past the deadline."
        )
    elif status == "NOT_FOUND":
        text = (
            f"No plan found that puts every site on time in {', '.join(sorted(missing))} even "
            f"with {_plural(limit, 'more unit')} per crew pool (max_extra_units_per_pool); at "
            f"least {_plural(lb_total, 'extra unit')} in all."
        )
        if by:
            text += f" Elsewhere: {by}."
    else:
        proof = (
            "proven least"
            if status == "OPTIMAL"
            else f"enough, not proven least: at least {_plural(lb_total, 'unit')} are needed"
        )
        text = (
            f"Least extra crews to meet every deadline ({proof}): {_plural(total, 'unit')}: {by}."
        )
        if unfixable:
            text += (
                f" {_plural(len(unfixable), 'site')} "
                f"{'stays' if len(unfixable) == 1 else 'stay'} late whatever the crews (power "
                "date, chain or travel)."
            )
    return ExtraCrews(
        late_sites=late_df,
        extra=extra_df,
        unfixable=tuple(unfixable),
        status=status,
        lower_bound=int(lb_total),
        summary=text,
    )


# --------------------------------------------------------------------------- RCPSP core
def solve_rcpsp(
    durations: Sequence[int],
    demands: Sequence[Sequence[int]],
    capacities: Sequence[int],
    successors: Sequence[Sequence[int]],
    *,
    max_deterministic_time: float = 1.0,
    seed: int = 0,
    num_workers: int = 2,
    linearization_level: int = 2,
) -> tuple[str, int, int, list[int]]:
    """The scheduler's core on a single-mode RCPSP (PSPLIB): fixed-size intervals,
    ``end ≤ start`` precedences and one ``add_cumulative`` per renewable resource — the
    constraint families :class:`_PartModel` uses for crew pools — minimising the
    makespan. Returns ``(status, makespan, bound, starts)``; activities are 0-based and
    ``successors[i]`` lists ``i``'s successors. ``linearization_level`` 2 puts the
    cumulative relaxations into CP-SAT's LP (on PSPLIB j30 with one worker and 1 unit of
    deterministic time it finds the optimum more often than the default 1)."""
    n = len(durations)
    horizon = int(sum(durations))
    m = cp_model.CpModel()
    starts = [m.new_int_var(0, horizon - int(durations[i]), f"s{i}") for i in range(n)]
    intervals = [
        m.new_fixed_size_interval_var(starts[i], int(durations[i]), f"i{i}") for i in range(n)
    ]
    for i in range(n):
        for j in successors[i]:
            m.add(starts[j] >= starts[i] + int(durations[i]))
    for r, cap in enumerate(capacities):
        users = [i for i in range(n) if demands[i][r] > 0 and durations[i] > 0]
        if users:
            m.add_cumulative(
                [intervals[i] for i in users], [int(demands[i][r]) for i in users], int(cap)
            )
    makespan = m.new_int_var(0, horizon, "makespan")
    m.add_max_equality(makespan, [starts[i] + int(durations[i]) for i in range(n)])
    m.minimize(makespan)
    solver = cp_model.CpSolver()
    p = solver.parameters
    p.max_deterministic_time = float(max_deterministic_time)
    p.random_seed = int(seed)
    p.num_workers = int(num_workers)
    # Several workers: interleaved (deterministic); one worker: its plain sequential
    # search, which is stronger than a one-thread interleaved portfolio on j30.
    p.interleave_search = int(num_workers) > 1
    p.linearization_level = int(linearization_level)
    code = solver.solve(m)
    status = STATUS_NAMES.get(code, f"UNRECOGNISED_{code}")
    if status not in ("OPTIMAL", "FEASIBLE"):
        return status, -1, int(solver.best_objective_bound), []
    return (
        status,
        int(solver.objective_value),
        math.ceil(solver.best_objective_bound - 1e-6),
        [int(solver.value(s)) for s in starts],
    )
