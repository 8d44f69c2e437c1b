"""The scenario's part of site planning: :class:`SitingSettings` and :class:`Equipment`, with
documented defaults (costs in VND, heights in m, distances in m), and the VND/metre text
formats of the plan's reasons.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..analysis import AnalysisSettings
from ..calendar import WorkCalendar
from ..errors import ScenarioError
from ..network import (
    BackhaulSettings,
)
from ..schedule import ScheduleSettings
from ..schema import OPERATORS

#: Village groups (DESIGN §4), covered first.
GROUPS: tuple[str, ...] = ("covered", "low_signal_powered", "low_signal_unpowered")


#: Site kinds (the schedule's ``upgrade`` and ``colocation`` skip civil works and tower).
KINDS: tuple[str, ...] = ("new", "upgrade", "colocation")


#: Power options, in order of preference on equal cost.
POWER_OPTIONS: tuple[str, ...] = ("grid", "solar", "generator")


#: ``operator_mode`` values.
OPERATOR_MODES: tuple[str, ...] = ("per_operator", "shared")


#: Thousands of VND: the solver's money unit.
_UNIT_VND = 1000.0


@dataclass(frozen=True)
class Equipment:
    """Radio equipment a candidate site gets for one technology: carrier frequency
    (MHz), channel bandwidth (MHz), EIRP in the main lobe (dBm, as the towers'
    ``eirp_dbm``) and the site's electrical load (kW, RAN + transmission + rectifier
    losses; sizes solar)."""

    frequency_mhz: float
    bandwidth_mhz: float
    eirp_dbm: float
    load_kw: float

    def __post_init__(self) -> None:
        for name in ("frequency_mhz", "bandwidth_mhz", "load_kw"):
            value = float(getattr(self, name))
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"equipment {name} must be > 0, got {value!r}")
        if not math.isfinite(float(self.eirp_dbm)):
            raise ValueError(f"equipment eirp_dbm must be a number, got {self.eirp_dbm!r}")


def _default_heights() -> dict[str, float]:
    # Typical rural greenfield masts: lower bands reach farther from a taller mast.
    return {"2G": 35.0, "3G": 30.0, "4G": 30.0, "5G": 25.0}


def _default_equipment() -> dict[str, Equipment]:
    # Rural coverage carriers: GSM 900; UMTS 2100; LTE band 3 (1800 MHz, the main LTE
    # band in Vietnam) 10 MHz at 40 W + 17 dBi − 3 dB feeder = 60 dBm; NR n78 100 MHz
    # massive-MIMO EIRP as the sample's 5G sectors. Loads: 0.5 / 0.8 / 1.0 / 2.5 kW.
    return {
        "2G": Equipment(900.0, 0.2, 55.0, 0.5),
        "3G": Equipment(2100.0, 5.0, 58.0, 0.8),
        "4G": Equipment(1800.0, 10.0, 60.0, 1.0),
        "5G": Equipment(3500.0, 100.0, 72.0, 2.5),
    }


def _default_site_capex() -> dict[str, float]:
    # New site with a 30 m tower (civil works, tower, RAN, installation) ≈ 1.5 bn VND;
    # upgrade of an own tower (new RAN on it) ≈ 0.4 bn; co-location (RAN, antennas,
    # structural check and mounting on another operator's tower) ≈ 0.55 bn.
    return {"new": 1.5e9, "upgrade": 0.4e9, "colocation": 0.55e9}


def _default_site_opex() -> dict[str, float]:
    # Lease, maintenance visits, RAN support per year; co-location adds the tower rent.
    return {"new": 150e6, "upgrade": 60e6, "colocation": 110e6}


def _default_power_capex() -> dict[str, float]:
    # Grid: metering + low-voltage drop (the line is per km, below); solar: controller,
    # rectifier, structure and installation (PV and battery are per kWp / kWh, below);
    # generator: a 10 kVA diesel set with fuel tank and ATS.
    return {"grid": 50e6, "solar": 80e6, "generator": 150e6}


def _default_power_opex() -> dict[str, float]:
    # Grid electricity ≈ 1 kW × 8,760 h × ~3,000 VND/kWh + fees ≈ 40 M VND; solar:
    # cleaning, inspection, battery-replacement reserve ≈ 25 M; generator: fuel
    # (~24 kWh/day at 0.3 l/kWh) and servicing ≈ 90 M.
    return {"grid": 40e6, "solar": 25e6, "generator": 90e6}


def _default_deadlines() -> dict[str, dt.date]:
    return {
        "low_signal_powered": dt.date(2025, 8, 31),
        "low_signal_unpowered": dt.date(2025, 11, 30),
    }


@dataclass(frozen=True)
class SitingSettings:
    """Siting settings (the scenario's ``[siting]`` table). Money in VND, lengths in m.

    technology: technology of the planned sites ("4G").
    height_m_by_technology: antenna height of a new site (2G 35, 3G 30, 4G 30, 5G 25 m).
    equipment_by_technology: :class:`Equipment` per technology (4G: 1800 MHz, 10 MHz,
        60 dBm, 1.0 kW).
    site_capex_vnd, site_opex_vnd_per_year: per kind — new 1.5e9 / 150e6, upgrade
        0.4e9 / 60e6, colocation 0.55e9 / 110e6 (incl. rent).
    power_capex_vnd, power_opex_vnd_per_year: per option — grid 50e6 connection /
        40e6, solar 80e6 fixed part / 25e6, generator 150e6 / 90e6.
    grid_line_vnd_per_km: new grid line (400e6/km, rural 22 kV/0.4 kV).
    grid_reach_m: an electrified village this close gives grid at once; a village with a
        ``power_eta`` this close gives grid on that date (1000 m).
    grid_extension_max_m, grid_extension_days_fixed, grid_extension_days_per_km:
        longest grid extension weighed (10 km) and its build time in working days
        (10 + 5 per km).
    solar_pv_vnd_per_kwp, battery_vnd_per_kwh: 12e6, 5e6 (installed).
    peak_sun_hours, solar_system_efficiency: 4.0 h/day (northern mountains, annual
        mean), 0.75. battery_autonomy_days, battery_depth_of_discharge: 2.0, 0.8.
    solar_max_kwp: the most PV a site can hold (20 kWp); beyond it, a generator.
    opex_years: years of opex in the cost minimised (10).
    operator_mode: "per_operator" or "shared" (see the module docstring).
    candidate_kinds: kinds generated (all three).
    tower_search_radius_m: existing sites this close to a gap village are candidates
        (15 km).
    colocation_headroom: default structural headroom of towers (True).
    colocation_height_offset_m: a tenant's antennas relative to the top ones (−3 m).
    ring_points, ring_radius_m: new-site candidates around each gap village without a
        DEM (6 at 2000 m).
    high_ground_points, high_ground_radius_m, high_ground_step_m,
        high_ground_min_separation_m, high_ground_min_rise_m: with a DEM, the highest
        cells (sampled every 90 m) within 3000 m, 3 of them at least 500 m apart (and from
        the village) and ≥ 20 m above it.
    one_new_site_per_commune: at most one new site per commune per operator (False).
    required_sites: candidate ``site_id`` values that must be built.
    exclude_existing_in_areas: excluded areas also forbid upgrades/co-location (False).
    budget_vnd: capex budget; None (absent) = cover every coverable gap village.
    max_deterministic_time, num_workers, interleave_search, seed: CP-SAT limits
        (deterministic time 10, 1 worker, interleaved when several, seed 0; the
        LP relaxation, not parallel search, is what solves set cover).
    default_operator: preferred operator of an unassigned village with no signal.
    analysis: the coverage engine's settings (the scenario's ``[analysis]``).
    backhaul: :class:`covgap.network.BackhaulSettings` (``[siting.backhaul]``).
    deadlines, calendar, power_tail_working_days: shared tables copied in by the
        scenario (31 Aug / 30 Nov 2025; planning start 2025-07-15; grid 2 + equipment 2
        + backhaul 2 + integration 1 = 7 working days).
    """

    technology: str = "4G"
    height_m_by_technology: Mapping[str, float] = field(default_factory=_default_heights)
    equipment_by_technology: Mapping[str, Equipment] = field(default_factory=_default_equipment)
    site_capex_vnd: Mapping[str, float] = field(default_factory=_default_site_capex)
    site_opex_vnd_per_year: Mapping[str, float] = field(default_factory=_default_site_opex)
    power_capex_vnd: Mapping[str, float] = field(default_factory=_default_power_capex)
    power_opex_vnd_per_year: Mapping[str, float] = field(default_factory=_default_power_opex)
    grid_line_vnd_per_km: float = 400e6
    grid_reach_m: float = 1000.0
    grid_extension_max_m: float = 10_000.0
    grid_extension_days_fixed: int = 10
    grid_extension_days_per_km: float = 5.0
    solar_pv_vnd_per_kwp: float = 12e6
    battery_vnd_per_kwh: float = 5e6
    peak_sun_hours: float = 4.0
    solar_system_efficiency: float = 0.75
    battery_autonomy_days: float = 2.0
    battery_depth_of_discharge: float = 0.8
    solar_max_kwp: float = 20.0
    opex_years: int = 10
    operator_mode: str = "per_operator"
    candidate_kinds: tuple[str, ...] = KINDS
    tower_search_radius_m: float = 15_000.0
    colocation_headroom: bool = True
    colocation_height_offset_m: float = -3.0
    ring_points: int = 6
    ring_radius_m: float = 2000.0
    high_ground_points: int = 3
    high_ground_radius_m: float = 3000.0
    high_ground_step_m: float = 90.0
    high_ground_min_separation_m: float = 500.0
    high_ground_min_rise_m: float = 20.0
    one_new_site_per_commune: bool = False
    required_sites: tuple[str, ...] = ()
    exclude_existing_in_areas: bool = False
    budget_vnd: float | None = None
    max_deterministic_time: float = 10.0
    num_workers: int = 1
    interleave_search: bool = True
    seed: int = 0
    default_operator: str = "Viettel"
    analysis: AnalysisSettings = field(default_factory=AnalysisSettings)
    backhaul: BackhaulSettings = field(default_factory=BackhaulSettings)
    deadlines: Mapping[str, dt.date] = field(default_factory=_default_deadlines)
    calendar: WorkCalendar = field(default_factory=WorkCalendar)
    power_tail_working_days: int = field(
        default_factory=lambda: ScheduleSettings().power_tail_working_days("grid")
    )

    def __post_init__(self) -> None:
        if self.technology not in self.height_m_by_technology:
            raise ValueError(
                f"technology {self.technology!r} has no height in height_m_by_technology "
                f"({', '.join(self.height_m_by_technology)})"
            )
        if self.default_operator not in OPERATORS:
            raise ValueError(
                f"default_operator {self.default_operator!r} is not one of {', '.join(OPERATORS)}"
            )
        if self.operator_mode not in OPERATOR_MODES:
            raise ValueError(
                f"operator_mode {self.operator_mode!r} is not one of {', '.join(OPERATOR_MODES)}"
            )
        bad = [k for k in self.candidate_kinds if k not in KINDS]
        if bad:
            raise ValueError(f"candidate_kinds: {bad[0]!r} is not one of {', '.join(KINDS)}")
        missing = [g for g in GROUPS[1:] if g not in self.deadlines]
        if missing:
            raise ValueError(f"deadlines lack group(s) {', '.join(missing)}")
        if not self.grid_reach_m >= 0:
            raise ValueError(f"grid_reach_m must be ≥ 0, got {self.grid_reach_m}")
        if int(self.power_tail_working_days) < 1:
            raise ValueError("power_tail_working_days must be ≥ 1")
        for name in ("ring_points", "high_ground_points", "opex_years", "num_workers"):
            if int(getattr(self, name)) < (1 if name == "num_workers" else 0):
                raise ValueError(f"{name} must be ≥ {1 if name == 'num_workers' else 0}")
        for name in (
            "peak_sun_hours",
            "solar_system_efficiency",
            "battery_depth_of_discharge",
            "high_ground_step_m",
            "max_deterministic_time",
        ):
            value = float(getattr(self, name))
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be > 0, got {value!r}")
        if self.budget_vnd is not None and not (
            math.isfinite(self.budget_vnd) and self.budget_vnd >= 0
        ):
            raise ValueError(f"budget_vnd must be ≥ 0 VND, got {self.budget_vnd!r}")

    def check_costs(self) -> None:
        """Raise :class:`ScenarioError` naming the first cost key the plan needs and
        the scenario lacks (``[siting] site_capex_vnd.colocation`` …)."""
        needs: list[tuple[str, Mapping[str, Any], tuple[str, ...]]] = [
            ("site_capex_vnd", self.site_capex_vnd, tuple(self.candidate_kinds)),
            ("site_opex_vnd_per_year", self.site_opex_vnd_per_year, tuple(self.candidate_kinds)),
            ("power_capex_vnd", self.power_capex_vnd, POWER_OPTIONS),
            ("power_opex_vnd_per_year", self.power_opex_vnd_per_year, POWER_OPTIONS),
            ("equipment_by_technology", self.equipment_by_technology, (self.technology,)),
        ]
        for table, mapping, keys in needs:
            for key in keys:
                if key not in mapping:
                    raise ScenarioError(
                        f"[siting] {table}.{key} is missing: the plan needs it "
                        f"(has: {', '.join(mapping) or 'nothing'})"
                    )
                value = mapping[key]
                if isinstance(value, int | float) and not (
                    math.isfinite(float(value)) and float(value) >= 0
                ):
                    raise ScenarioError(
                        f"[siting] {table}.{key} = {value!r}: expected an amount ≥ 0 VND"
                    )
        try:
            self.backhaul.demand_mbps(self.technology)
        except ValueError as exc:
            raise ScenarioError(f"[siting.backhaul] {exc}") from exc


def _vnd(amount: float) -> str:
    return f"{amount / 1e9:,.2f} bn VND"


def _fmt_m(distance_m: float) -> str:
    """``1 km`` for whole kilometres, else ``850 m``."""
    if distance_m >= 1000 and float(distance_m) % 1000 == 0:
        return f"{distance_m / 1000:g} km"
    return f"{distance_m:g} m"
