"""The scenario's part of scheduling: task templates, crews and :class:`ScheduleSettings`.

Every knob has a documented default (DESIGN §6): deadlines and target dates per group, the
task chain's templates (:data:`DEFAULT_TASKS`), the crews per operator × region × kind,
calendar, rain windows, travel (``road_factor``, speeds per region), and the solver's
budget (``max_deterministic_time``, ``random_seed``, ``num_workers``). No solver objects.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from ..admin import REGION_OF_PROVINCE
from ..calendar import RainWindow, WorkCalendar
from ..errors import ScenarioError
from ..schema import OPERATORS

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
