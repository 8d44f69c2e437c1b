"""Scenario files (TOML) → typed, frozen settings.

A scenario names the inputs and every setting of every stage. Each table binds
to the settings dataclass of its stage (``[analysis]`` → :class:`AnalysisSettings`,
``[siting]`` → :class:`SitingSettings`, ``[schedule]`` → :class:`ScheduleSettings`);
unknown keys are refused with a "did you mean". Paths written in a scenario
resolve against the scenario file's folder; the CLI's flags override them and
resolve against the current directory. ``scenarios/vietnam_2025.toml`` documents
every key with its type, unit and default.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .admin import REGION_OF_PROVINCE
from .analysis import AnalysisSettings
from .calendar import WorkCalendar
from .errors import ScenarioError
from .maps import MapSettings
from .schedule import ScheduleSettings
from .siting import SitingSettings
from .tomlbind import bind, check_keys


@dataclass(frozen=True)
class Inputs:
    """Input files. ``None`` means absent (boundaries and DEM are optional)."""

    villages: Path | None = None
    towers: Path | None = None
    boundaries: Path | None = None
    dem: Path | None = None
    #: Polygons (any vector format, any CRS) where no new site may be built.
    excluded: Path | None = None
    #: Commune polygons for the maps' "Communes" layer (optional).
    communes: Path | None = None
    #: CRS of CSV coordinates when they are not EPSG:4326 lon/lat (e.g. "EPSG:3405").
    crs: str | None = None
    #: CRS of the villages file's CSV coordinates only (overrides ``crs`` for villages).
    villages_crs: str | None = None
    #: CRS of the towers file's CSV coordinates only (overrides ``crs`` for towers).
    towers_crs: str | None = None
    villages_layer: str | None = None
    towers_layer: str | None = None
    #: Which administrative vintage the inputs' province codes use: 2025 (34) or 2019 (63).
    admin_vintage: int = 2025

    @property
    def villages_crs_effective(self) -> str | None:
        """CRS for the villages' CSV coordinates: ``villages_crs``, else ``crs``."""
        return self.villages_crs or self.crs

    @property
    def towers_crs_effective(self) -> str | None:
        """CRS for the towers' CSV coordinates: ``towers_crs``, else ``crs``."""
        return self.towers_crs or self.crs


@dataclass(frozen=True)
class Planning:
    """The programme's dates (DESIGN §1). Deadlines are inclusive."""

    start: dt.date = dt.date(2025, 7, 15)
    deadline_powered: dt.date = dt.date(2025, 8, 31)
    deadline_unpowered: dt.date = dt.date(2025, 11, 30)
    #: Calendar days from the end of integration to on air.
    on_air_lag_days: int = 10
    #: On-air target for the powered (August) group: the 2nd week of September.
    on_air_target: dt.date = dt.date(2025, 9, 14)

    def __post_init__(self) -> None:
        if self.on_air_lag_days < 0:
            raise ValueError("on_air_lag_days must be >= 0")
        if not self.start <= self.deadline_powered <= self.deadline_unpowered:
            raise ValueError("need start <= deadline_powered <= deadline_unpowered")


@dataclass(frozen=True)
class CalendarSettings:
    """Working calendar (the planning start comes from ``[planning] start``)."""

    #: Weekdays without work, Monday = 0 … Sunday = 6.
    days_off_weekly: tuple[int, ...] = (6,)
    #: Public holidays (no work): the 2025 National Day break by default.
    holidays: tuple[dt.date, ...] = (dt.date(2025, 9, 1), dt.date(2025, 9, 2))
    #: Calendar days after the start inside which every task must fit.
    horizon_days: int = 730


@dataclass(frozen=True)
class Scenario:
    """A whole scenario: inputs, programme dates and every stage's settings."""

    path: Path | None = None
    name: str = "covgap"
    seed: int = 20250715
    inputs: Inputs = field(default_factory=Inputs)
    planning: Planning = field(default_factory=Planning)
    calendar: CalendarSettings = field(default_factory=CalendarSettings)
    #: province_code (2025) → planning region; default the eight socio-economic regions.
    regions: Mapping[str, str] = field(default_factory=lambda: dict(REGION_OF_PROVINCE))
    analysis: AnalysisSettings = field(default_factory=AnalysisSettings)
    siting: SitingSettings = field(default_factory=SitingSettings)
    schedule: ScheduleSettings = field(default_factory=ScheduleSettings)
    maps: MapSettings = field(default_factory=MapSettings)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly view (for ``manifest.json``)."""
        return _jsonable(self)


_TOP_KEYS = [
    "name",
    "seed",
    "inputs",
    "planning",
    "calendar",
    "regions",
    "analysis",
    "siting",
    "schedule",
    "maps",
]
#: Keys that live in [planning]/[calendar]/[regions] and are copied into the stages.
_PLANNING_OWNED = {
    "calendar": "[calendar] (and [planning] start)",
    "deadlines": "[planning] deadline_powered / deadline_unpowered",
    "on_air_lag_days": "[planning] on_air_lag_days",
    "on_air_targets": "[planning] on_air_target",
    "region_of": "[regions]",
    "seed": "the top-level seed",
    "power_tail_working_days": "[schedule] tasks (it is derived from their durations)",
    "analysis": "[analysis] (siting uses the same coverage model)",
}


def _stage_table(data: Mapping[str, Any], name: str, file: str) -> Mapping[str, Any]:
    table = data.get(name, {})
    if not isinstance(table, Mapping):
        raise ScenarioError(f"[{name}] must be a table", file=file)
    for key in table:
        if key in _PLANNING_OWNED:
            raise ScenarioError(
                f"[{name}] {key}: set it in {_PLANNING_OWNED[key]}, which every stage shares",
                file=file,
            )
    return table


def _regions(table: Any, file: str) -> dict[str, str]:
    if not isinstance(table, Mapping):
        raise ScenarioError('[regions] must be a table of province_code = "region"', file=file)
    out = dict(REGION_OF_PROVINCE)
    for code, region in table.items():
        if code not in REGION_OF_PROVINCE:
            raise ScenarioError(
                f'[regions] {code!r} is not a 2025 province code ("01" … "96")', file=file
            )
        if not isinstance(region, str) or not region:
            raise ScenarioError(f"[regions] {code} = {region!r}: expected a name", file=file)
        out[code] = region
    return out


def _jsonable(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: _jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, dt.date):
        return obj.isoformat()
    if callable(obj):
        return getattr(obj, "__name__", repr(obj))
    if isinstance(obj, float) and obj != obj:  # NaN is not JSON
        return None
    return obj


def _resolve(path: Path | None, base: Path) -> Path | None:
    if path is None:
        return None
    full = path if path.is_absolute() else base / path
    return Path(os.path.relpath(os.path.normpath(full))) if not path.is_absolute() else full


def load_scenario(path: str | Path | None) -> Scenario:
    """Read a scenario TOML file; ``None`` gives the documented defaults."""
    if path is None:
        return apply_planning(Scenario())
    p = Path(path)
    if not p.is_file():
        raise ScenarioError("scenario file not found", file=p)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"not valid TOML: {exc}", file=p) from exc
    except UnicodeDecodeError as exc:
        raise ScenarioError("not UTF-8 text", file=p) from exc
    file = str(p)
    check_keys(data, _TOP_KEYS, where="top level", file=file)
    raw_inputs = data.get("inputs", {})
    if not isinstance(raw_inputs, Mapping):
        raise ScenarioError("[inputs] must be a table", file=file)
    # "" means "not given" (TOML has no null).
    raw_inputs = {k: (None if v == "" else v) for k, v in raw_inputs.items()}
    inputs = bind(Inputs, raw_inputs, where="inputs", file=file)
    base = p.parent
    inputs = dataclasses.replace(
        inputs,
        villages=_resolve(inputs.villages, base),
        towers=_resolve(inputs.towers, base),
        boundaries=_resolve(inputs.boundaries, base),
        dem=_resolve(inputs.dem, base),
        excluded=_resolve(inputs.excluded, base),
        communes=_resolve(inputs.communes, base),
        crs=inputs.crs or None,
        villages_crs=inputs.villages_crs or None,
        towers_crs=inputs.towers_crs or None,
        villages_layer=inputs.villages_layer or None,
        towers_layer=inputs.towers_layer or None,
    )
    if inputs.admin_vintage not in (2019, 2025):
        raise ScenarioError(
            f"[inputs] admin_vintage = {inputs.admin_vintage}: expected 2025 (34 provinces) "
            "or 2019 (63 provinces)",
            file=file,
        )
    name = data.get("name", p.stem)
    seed = data.get("seed", Scenario.seed)
    if not isinstance(name, str):
        raise ScenarioError(f"name = {name!r}: expected a string", file=file)
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ScenarioError(f"seed = {seed!r}: expected a non-negative integer", file=file)
    scenario = Scenario(
        path=p,
        name=name,
        seed=seed,
        inputs=inputs,
        planning=bind(Planning, data.get("planning", {}), where="planning", file=file),
        calendar=bind(CalendarSettings, data.get("calendar", {}), where="calendar", file=file),
        regions=_regions(data.get("regions", {}), file),
        analysis=bind(
            AnalysisSettings, _stage_table(data, "analysis", file), where="analysis", file=file
        ),
        siting=bind(SitingSettings, _stage_table(data, "siting", file), where="siting", file=file),
        schedule=bind(
            ScheduleSettings, _stage_table(data, "schedule", file), where="schedule", file=file
        ),
        maps=bind(MapSettings, _stage_table(data, "maps", file), where="maps", file=file),
    )
    return apply_planning(scenario)


def apply_planning(scenario: Scenario) -> Scenario:
    """Copy ``[planning]``, ``[calendar]``, ``[regions]`` and the seed into the stages."""
    pl = scenario.planning
    cal = WorkCalendar(
        start=pl.start,
        days_off_weekly=scenario.calendar.days_off_weekly,
        holidays=scenario.calendar.holidays,
        horizon_days=scenario.calendar.horizon_days,
    )
    deadlines = {
        "low_signal_powered": pl.deadline_powered,
        "low_signal_unpowered": pl.deadline_unpowered,
    }
    schedule = _replace_known(
        scenario.schedule,
        calendar=cal,
        deadlines=deadlines,
        on_air_lag_days=pl.on_air_lag_days,
        on_air_targets={"low_signal_powered": pl.on_air_target},
        region_of=dict(scenario.regions),
        seed=scenario.seed,
    )
    siting = _replace_known(
        scenario.siting,
        calendar=cal,
        deadlines=deadlines,
        power_tail_working_days=schedule.power_tail_working_days("grid"),
        analysis=scenario.analysis,
        seed=scenario.seed,
    )
    return dataclasses.replace(scenario, siting=siting, schedule=schedule)


def _replace_known(obj: Any, **values: Any) -> Any:
    names = {f.name for f in dataclasses.fields(obj)}
    return dataclasses.replace(obj, **{k: v for k, v in values.items() if k in names})
