"""Site planning: least-cost sites covering the gap villages, with power and backhaul (DESIGN §5).

The stage, in layers (data in, data out; no file I/O; EPSG:4326 in and out):

1. **Candidates.** Three kinds, all carrying the equipment of ``technology``
   (:class:`Equipment`: band, bandwidth, EIRP, omni — the sectors of a coverage
   site are aimed at the villages it serves — and electrical load):

   * ``new`` sites at every gap village, and around it: the ``high_ground_points``
     highest DEM cells within ``high_ground_radius_m`` that rise at least
     ``high_ground_min_rise_m`` above the village (when a DEM covers it), else a ring of
     ``ring_points`` points at ``ring_radius_m`` (azimuths from north, geodesic);
   * ``upgrade`` of an existing active tower site within ``tower_search_radius_m`` of
     a gap village: its own operator adds the equipment at the site's antenna height;
   * ``colocation`` on such a site by another operator, ``colocation_height_offset_m``
     below the top antennas, when the tower has structural headroom. Towers carry no
     such column in the data contract: ``colocation_headroom`` (default True: rural
     towers in Vietnam are mostly self-supporting lattice towers with room for a
     second tenant) applies to every tower, and an optional towers column
     ``colocation_headroom`` (bool) overrides it per site (any row False → no room).

   Candidates inside ``excluded`` polygons are dropped (existing towers too when
   ``exclude_existing_in_areas``).
2. **Coverage matrix** — :func:`covgap.analysis.coverage_matrix`, the engine of the
   analysis stage (same settings, ``settings.analysis``; terrain-aware over the DEM
   with the ``auto`` model): a candidate covers a gap village when its RSRP there is at
   or above the threshold.
3. **Operators.** ``operator_mode = "per_operator"``: a village with an
   ``assigned_operator`` can only be served by that operator's site; an unassigned
   village by anyone. A location gets a candidate for each operator it could serve
   for: the assigned operators of the gap villages it covers and the preferred operator
   of the unassigned ones (assigned; else the strongest existing signal; else
   ``default_operator``). ``"shared"``: one network for everyone (neutral host /
   national roaming): assignments are not enforced, a new site belongs to the
   preferred operator of its village, no co-location candidates.
4. **Power** (DESIGN §3, per candidate and deadline): (1) an existing tower on grid →
   grid at once; (2) an electrified village within ``grid_reach_m`` → grid at once
   (plus the line); otherwise the cheapest, over ``opex_years``, of those that are
   ready in time for the deadline (the power-dependent tail of ``power_tail_working_days``
   must fit before the last working day on or before it): (3a) grid from the
   ``power_eta`` of the nearest village within ``grid_reach_m`` that has one, (3b) a grid
   extension from the nearest electrified village within ``grid_extension_max_m``
   (``grid_extension_days_fixed`` + ``grid_extension_days_per_km`` × km working days from
   the planning start), (3c) solar + battery sized from the daily load (``load_kw``×24
   h), ``peak_sun_hours``, ``solar_system_efficiency``, ``battery_autonomy_days`` and
   ``battery_depth_of_discharge``, costed per kWp and kWh; (4) a generator only as the
   last resort, when solar would need more than ``solar_max_kwp``. Site power date: the
   planning start (1, 2), the ``power_eta`` (3a), the extension's ready day (3b), none
   (solar, generator). The "nearest village it serves" of DESIGN §3 is read as the
   nearest village with a ``power_eta`` within ``grid_reach_m`` of the site (for a site
   at a village, that village): farther grid is an extension, costed as such, so the
   cost of a candidate does not depend on the rest of the plan.
5. **Backhaul** — :func:`covgap.network.plan_backhaul` per candidate location (fibre
   on a fibre site or a short spur, microwave hops to a fibre PoP through existing
   towers, else LEO/VSAT). New sites do not relay for each other, again so that a
   candidate's cost is its own.
6. **Selection** (CP-SAT): one 0/1 variable per candidate and *deadline variant* — a
   candidate serving an electrified (August) gap village is costed with power planned
   for 31 Aug, one serving only unelectrified villages for 30 Nov (only the variants that
   differ are kept; a powered village can only be served by an August variant).
   Minimise Σ (capex + ``opex_years`` × opex) so that every coverable gap village is
   covered (hard), at most one variant per candidate; or, with ``budget_vnd`` (capex),
   maximise the population newly covered, then the cost at that population. Options:
   ``one_new_site_per_commune`` (per operator), ``required_sites``. When the options make
   the hard cover infeasible, the villages that cannot be covered under them are found
   by a second solve with a penalty per uncovered village and listed with the reason.
   Status, objective, bound and gap are reported; a greedy set cover (cost per newly
   covered village) runs on the same data and its cost is reported beside. Costs enter
   the solver in whole thousands of VND (the bound is converted back; rounding ≤ 500
   VND per site). Before solving, dominated candidates (another covers all their
   villages for no more cost, and capex with a budget) are dropped — exact for set
   cover — and the min-cost cover is solved per independent part (villages linked by a
   shared candidate); clauses enter the LP relaxation (``linearization_level`` 2), which
   is what proves set-cover optima. Deterministic: fixed seed, deterministic time limit,
   one worker by default (``interleave_search`` with several).
7. **Serving.** Each covered gap village is served by the selected eligible site with
   the strongest RSRP there (ties: smallest ``site_id``); a site's deadline is the
   earliest of its served villages' (DESIGN §3), and an August variant left serving no
   electrified village is swapped for its cheaper November variant.

Not modelled: new sites relaying each other's backhaul or sharing one new tower
between operators; interference and capacity; discounting of opex.
"""

from __future__ import annotations

import datetime as dt
import difflib
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, cast

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from ortools.sat.python import cp_model
from pyproj import Geod

from .analysis import AnalysisSettings, coverage_matrix
from .calendar import WorkCalendar, to_date
from .errors import CRSError, ScenarioError, SchemaError
from .network import (
    BackhaulSettings,
    haversine_m,
    nearest_within,
    pairs_within,
    plan_backhaul,
    tower_sites,
)
from .schedule import ScheduleSettings
from .schema import OPERATOR_SLUGS, OPERATORS

__all__ = [
    "CANDIDATE_COLUMNS",
    "COST_BY_PROVINCE_COLUMNS",
    "COVERAGE_COLUMNS",
    "GROUPS",
    "KINDS",
    "OPERATOR_MODES",
    "POWER_OPTIONS",
    "SITE_COLUMNS",
    "UNCOVERABLE_COLUMNS",
    "Equipment",
    "SitePlan",
    "SitingSettings",
    "plan_sites",
]

#: Village groups (DESIGN §4), covered first.
GROUPS: tuple[str, ...] = ("covered", "low_signal_powered", "low_signal_unpowered")
#: Site kinds (the schedule's ``upgrade`` and ``colocation`` skip civil works and tower).
KINDS: tuple[str, ...] = ("new", "upgrade", "colocation")
#: Power options, in order of preference on equal cost.
POWER_OPTIONS: tuple[str, ...] = ("grid", "solar", "generator")
#: ``operator_mode`` values.
OPERATOR_MODES: tuple[str, ...] = ("per_operator", "shared")
#: Mean Earth radius (IUGG), metres.
EARTH_RADIUS_M = 6_371_008.8

RSRP_COLUMNS: dict[str, str] = {
    "Viettel": "rsrp_viettel_dbm",
    "VNPT": "rsrp_vnpt_dbm",
    "MobiFone": "rsrp_mobifone_dbm",
    "Vietnamobile": "rsrp_vietnamobile_dbm",
}
_SLUG: dict[str, str] = {op: OPERATOR_SLUGS[op] for op in OPERATORS}

SITE_COLUMNS: tuple[str, ...] = (
    "site_id",
    "operator",
    "operator_reason",
    "kind",
    "source",
    "ground_rise_m",
    "host_site_id",
    "host_operator",
    "technology",
    "frequency_mhz",
    "height_m",
    "eirp_dbm",
    "villages_served",
    "n_villages",
    "population_served",
    "group",
    "deadline",
    "power",
    "power_date",
    "power_reason",
    "power_rule",
    "pv_kwp",
    "battery_kwh",
    "grid_line_km",
    "backhaul",
    "backhaul_reason",
    "backhaul_pop",
    "backhaul_hops",
    "backhaul_length_m",
    "site_capex_vnd",
    "power_capex_vnd",
    "backhaul_capex_vnd",
    "capex_vnd",
    "opex_vnd_per_year",
    "cost_vnd",
    "province_code",
    "province",
    "commune_code",
    "planning_method",
)
UNCOVERABLE_COLUMNS: tuple[str, ...] = ("village_id", "name", "province_code", "group", "reason")
CANDIDATE_COLUMNS: tuple[str, ...] = (
    "site_id",
    "location_id",
    "operator",
    "kind",
    "source",
    "variant",
    "height_m",
    "n_coverable",
    "population_coverable",
    "power",
    "capex_vnd",
    "opex_vnd_per_year",
    "cost_vnd",
    "selected",
    "greedy",
)
COVERAGE_COLUMNS: tuple[str, ...] = (
    "location_id",
    "village_id",
    "rsrp_dbm",
    "covered",
    "distance_m",
    "model",
)
COST_BY_PROVINCE_COLUMNS: tuple[str, ...] = (
    "province_code",
    "province",
    "sites",
    "new",
    "upgrade",
    "colocation",
    "villages_served",
    "population_served",
    "capex_vnd",
    "opex_vnd_per_year",
    "cost_vnd",
)

_REQUIRED_COLUMNS: tuple[str, ...] = (
    "village_id",
    "name",
    "province_code",
    "province",
    "commune_code",
    "population",
    "electrified",
    "power_eta",
    "assigned_operator",
    "group",
    *RSRP_COLUMNS.values(),
)
_GEOD = Geod(ellps="WGS84")
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


@dataclass(frozen=True, eq=False)
class SitePlan:
    """The site plan.

    sites: GeoDataFrame (EPSG:4326 points), columns :data:`SITE_COLUMNS` + geometry,
        sorted by ``site_id``. ``site_id``: ``S-<village_id>`` (new site at the village),
        ``S-<village_id>-R<k>`` / ``-H<k>`` (ring / high ground around it), ``U-<site_id>``
        (upgrade), ``C-<site_id>-<operator slug>`` (co-location); a new site whose
        operator is not its village's preferred one ends in ``-<operator slug>``.
        ``kind`` new/upgrade/colocation; ``source`` village/ring/high_ground/tower and
        ``ground_rise_m`` (high ground above its village, m); ``host_*`` the existing
        site; ``villages_served`` ``;``-joined ids (sorted), ``n_villages``,
        ``population_served``; ``group`` and ``deadline`` (earliest of the villages
        served); ``power`` grid/solar/generator, ``power_date`` (NaT without grid),
        ``power_reason`` and ``power_rule`` (host_grid, grid_near, grid_eta,
        grid_extension, solar_after, solar_close, solar_none, solar_cost, generator),
        ``pv_kwp``/``battery_kwh`` (solar sizing), ``grid_line_km``; ``backhaul``
        fibre/microwave/satellite with reason, PoP, hops, length; money: the site,
        power and backhaul capex parts, ``capex_vnd``, ``opex_vnd_per_year`` and
        ``cost_vnd`` = capex + ``opex_years`` × opex.
    uncoverable: gap villages without a planned site (:data:`UNCOVERABLE_COLUMNS`) with
        the reason: no location, distance or terrain (no candidate reaches it), the
        assigned operator, the optional constraints, or the budget.
    method: how the plan was made (also each site's ``planning_method``).
    summary: plain planner text (no timings: it is reproducible).
    links: backhaul of each site (EPSG:4326 LineStrings site → … → fibre PoP; a
        satellite link is a zero-length line at the site): ``site_id, operator, kind
        (fibre/microwave/satellite), length_m, hops, capacity_mbps, bands, pop_id,
        capex_vnd, opex_vnd_per_year``.
    cost_by_province: :data:`COST_BY_PROVINCE_COLUMNS`, sorted by province_code.
    objective_vnd: cost (capex + opex_years × opex) of the plan; bound_vnd: CP-SAT's
        lower bound on it (min-cost mode; NaN with a budget); gap: relative gap of the
        solved objective (cost, or population with a budget), 0 when proven optimal.
    greedy_cost_vnd, greedy_population: the greedy set cover's plan on the same data.
    status: CP-SAT status name (OPTIMAL, FEASIBLE, …; "NO_GAP_VILLAGES" when there
        was nothing to plan; "GREEDY_FALLBACK" when CP-SAT found no solution in time).
    population_covered, population_bound: population the plan covers, and CP-SAT's
        upper bound on it with a budget (else the coverable population).
    candidates: every candidate (:data:`CANDIDATE_COLUMNS` + geometry), sorted.
    coverage: the candidate-location × gap-village matrix (:data:`COVERAGE_COLUMNS`),
        every pair within reach.
    solve_time_s: wall time of the CP-SAT solves (not part of any output file).
    """

    sites: gpd.GeoDataFrame
    uncoverable: pd.DataFrame
    method: str
    summary: str
    links: gpd.GeoDataFrame = field(default_factory=lambda: _empty_links())
    cost_by_province: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=list(COST_BY_PROVINCE_COLUMNS))
    )
    objective_vnd: float = 0.0
    bound_vnd: float = 0.0
    gap: float = 0.0
    greedy_cost_vnd: float = 0.0
    greedy_population: int = 0
    status: str = "NO_GAP_VILLAGES"
    population_covered: int = 0
    population_bound: int = 0
    candidates: gpd.GeoDataFrame | None = None
    coverage: pd.DataFrame | None = None
    solve_time_s: float = 0.0


# --------------------------------------------------------------------------- helpers


def _vnd(amount: float) -> str:
    return f"{amount / 1e9:,.2f} bn VND"


def _fmt_m(distance_m: float) -> str:
    """``1 km`` for whole kilometres, else ``850 m``."""
    if distance_m >= 1000 and float(distance_m) % 1000 == 0:
        return f"{distance_m / 1000:g} km"
    return f"{distance_m:g} m"


def _choose_operator(row: Any, default_operator: str) -> tuple[str, str]:
    """Preferred operator of a gap village: assigned; else the strongest existing
    signal (closest to the threshold; ties in canonical order); else the default."""
    assigned = row["assigned_operator"]
    if isinstance(assigned, str) and assigned:
        return assigned, "assigned operator"
    best_op, best_rsrp = None, -math.inf
    for op in OPERATORS:
        value = row[RSRP_COLUMNS[op]]
        if value is not None and not pd.isna(value) and float(value) > best_rsrp:
            best_op, best_rsrp = op, float(value)
    if best_op is not None:
        return best_op, f"strongest existing signal ({best_rsrp:.1f} dBm)"
    return default_operator, f"no signal from any operator: default {default_operator}"


def _row(villages: pd.DataFrame, label: Any) -> int | None:
    if "source_row" in villages.columns:
        value = villages.loc[label, "source_row"]
        return None if pd.isna(value) else int(value)
    return None


def _check_villages(villages: gpd.GeoDataFrame) -> None:
    if not isinstance(villages, gpd.GeoDataFrame):
        raise SchemaError("villages must be a GeoDataFrame (EPSG:4326 points)")
    missing = [c for c in _REQUIRED_COLUMNS if c not in villages.columns]
    if missing:
        raise SchemaError(
            f"villages lack column(s) {', '.join(missing)}: run the analysis stage first",
            column=missing[0],
        )
    if villages.crs is None or villages.crs.to_epsg() != 4326:
        raise CRSError(f"villages must be EPSG:4326 (lon/lat), got {villages.crs}: to_crs(4326)")
    bad = villages.loc[~villages["group"].isin(GROUPS), "group"]
    if len(bad):
        raise SchemaError(
            f"village {villages.loc[bad.index[0], 'village_id']}: group {bad.iloc[0]!r} is not "
            f"one of {', '.join(GROUPS)}",
            row=_row(villages, bad.index[0]),
            column="group",
        )
    ops = villages["assigned_operator"]
    bad_ops = ops[ops.notna() & ~ops.isin(OPERATORS)]
    if len(bad_ops):
        raise SchemaError(
            f"village {villages.loc[bad_ops.index[0], 'village_id']}: assigned_operator "
            f"{bad_ops.iloc[0]!r} is not one of {', '.join(OPERATORS)}",
            row=_row(villages, bad_ops.index[0]),
            column="assigned_operator",
        )
    ids = villages["village_id"].astype(str)
    if ids.duplicated().any():
        raise SchemaError(
            f"duplicate village_id {ids[ids.duplicated()].iloc[0]!r}", column="village_id"
        )


def _located(gdf: gpd.GeoDataFrame) -> npt.NDArray[np.bool_]:
    arr = np.asarray(gdf.geometry.array, dtype=object)
    ok = ~shapely.is_missing(arr)
    ok[ok] &= ~shapely.is_empty(arr[ok])
    ok[ok] &= shapely.get_type_id(arr[ok]) == 0
    if ok.any():
        x = shapely.get_x(arr[ok])
        y = shapely.get_y(arr[ok])
        fine = np.isfinite(x) & np.isfinite(y)
        ok[np.flatnonzero(ok)[~fine]] = False
    return np.asarray(ok, dtype=np.bool_)


def _text_or_none(value: Any) -> str | None:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    return str(value)


def _excluded_geometry(excluded: gpd.GeoDataFrame | None) -> Any:
    """Union of the excluded polygons (EPSG:4326), or None."""
    if excluded is None:
        return None
    if not isinstance(excluded, gpd.GeoDataFrame):
        raise SchemaError("excluded areas must be a GeoDataFrame of polygons")
    if len(excluded) == 0:
        return None
    if excluded.crs is None:
        raise CRSError("excluded areas have no CRS: set one (e.g. EPSG:4326)")
    gdf = excluded.to_crs(4326) if excluded.crs.to_epsg() != 4326 else excluded
    types = set(gdf.geometry.geom_type.dropna())
    bad = types - {"Polygon", "MultiPolygon"}
    if bad:
        raise SchemaError(
            f"excluded areas must be polygons, got {', '.join(sorted(bad))}", column="geometry"
        )
    union = shapely.union_all(np.asarray(gdf.geometry.array, dtype=object))
    shapely.prepare(union)
    return union


# --------------------------------------------------------------------------- candidates


def _ring(lon: float, lat: float, n: int, radius_m: float) -> list[tuple[float, float, str, float]]:
    if n <= 0 or radius_m <= 0:
        return []
    az = np.arange(n) * 360.0 / n
    lons, lats, _ = _GEOD.fwd(np.full(n, lon), np.full(n, lat), az, np.full(n, radius_m))
    return [
        (float(x), float(y), f"R{k + 1}", math.nan)
        for k, (x, y) in enumerate(zip(lons, lats, strict=True))
    ]


def _high_ground(
    dem: Any, lon: float, lat: float, settings: SitingSettings, excluded: Any
) -> list[tuple[float, float, str, float]] | None:
    """The highest DEM cells around a village (None when the DEM has no elevation at
    the village). Cells are sampled on east–west rows every ``high_ground_step_m``."""
    from .terrain import sample_profiles

    step = float(settings.high_ground_step_m)
    radius = float(settings.high_ground_radius_m)
    east = lon + math.degrees(step / (EARTH_RADIUS_M * math.cos(math.radians(lat))))
    here = sample_profiles(dem, lon, lat, east, lat, step_m=step)
    base = float(here.pfl[0, 2])
    if not math.isfinite(base):
        return None
    if settings.high_ground_points <= 0 or radius <= step:
        return []
    dys = np.arange(-math.floor(radius / step), math.floor(radius / step) + 1) * step
    half = np.sqrt(np.maximum(radius**2 - dys**2, 0.0))
    keep = half >= step
    dys, half = dys[keep], half[keep]
    lat_rows = lat + np.degrees(dys / EARTH_RADIUS_M)
    dlon = np.degrees(half / (EARTH_RADIUS_M * np.cos(np.radians(lat_rows))))
    prof = sample_profiles(dem, lon - dlon, lat_rows, lon + dlon, lat_rows, step_m=step)
    xs: list[np.ndarray] = []
    ys: list[np.ndarray] = []
    zs: list[np.ndarray] = []
    for i in range(dys.size):
        npts = int(prof.pfl[i, 0]) + 1
        frac = np.arange(npts) / max(npts - 1, 1)
        xs.append(lon - dlon[i] + 2.0 * dlon[i] * frac)
        ys.append(np.full(npts, lat_rows[i]))
        zs.append(prof.pfl[i, 2 : 2 + npts])
    x = np.concatenate(xs)
    y = np.concatenate(ys)
    z = np.concatenate(zs)
    d = haversine_m(lon, lat, x, y)
    ok = np.isfinite(z) & (d <= radius) & (z - base >= settings.high_ground_min_rise_m)
    ok &= d >= settings.high_ground_min_separation_m
    if excluded is not None and ok.any():
        inside = shapely.contains_xy(excluded, x[ok], y[ok])
        ok[np.flatnonzero(ok)[inside]] = False
    idx = np.flatnonzero(ok)
    order = idx[np.lexsort((y[idx], x[idx], d[idx], -z[idx]))]
    chosen: list[int] = []
    for j in order:
        if len(chosen) >= settings.high_ground_points:
            break
        if (
            chosen
            and (
                haversine_m(x[j], y[j], x[chosen], y[chosen])
                < settings.high_ground_min_separation_m
            ).any()
        ):
            continue
        chosen.append(int(j))
    return [
        (float(x[j]), float(y[j]), f"H{k + 1}", float(z[j] - base)) for k, j in enumerate(chosen)
    ]


def _tower_table(towers: gpd.GeoDataFrame | None, settings: SitingSettings) -> pd.DataFrame:
    """Active tower sites (:func:`covgap.network.tower_sites`) with the structural
    headroom resolved: the towers' ``colocation_headroom`` where given, else the
    setting."""
    if towers is not None:
        if not isinstance(towers, gpd.GeoDataFrame):
            raise SchemaError("towers must be a GeoDataFrame (EPSG:4326 points)")
        if towers.crs is not None and towers.crs.to_epsg() != 4326:
            raise CRSError(f"towers must be EPSG:4326 (lon/lat), got {towers.crs}: to_crs(4326)")
        missing = [c for c in ("tower_id", "operator", "height_m") if c not in towers.columns]
        if missing:
            raise SchemaError(f"towers lack column(s) {', '.join(missing)}", column=missing[0])
    tw = tower_sites(towers)
    tw["headroom"] = [
        bool(settings.colocation_headroom) if h is None else bool(h) for h in tw["headroom"]
    ]
    return tw


# --------------------------------------------------------------------------- power


@dataclass(frozen=True)
class _Power:
    power: str
    power_date: dt.date | None
    reason: str
    rule: str
    capex_vnd: float
    opex_vnd_per_year: float
    line_km: float
    pv_kwp: float
    battery_kwh: float


@dataclass(frozen=True)
class _PowerContext:
    host_site: str | None
    host_power: str | None
    near_elec: tuple[str, float] | None  # electrified village within grid reach
    near_eta: tuple[str, float, dt.date] | None  # village with power_eta within reach
    ext: tuple[str, float] | None  # nearest electrified village within extension max


def _solar_size(settings: SitingSettings) -> tuple[float, float, float]:
    """(PV kWp, battery kWh, capex VND) for the technology's load."""
    load_kw = float(settings.equipment_by_technology[settings.technology].load_kw)
    daily_kwh = load_kw * 24.0
    pv = daily_kwh / (settings.peak_sun_hours * settings.solar_system_efficiency)
    battery = daily_kwh * settings.battery_autonomy_days / settings.battery_depth_of_discharge
    capex = (
        float(settings.power_capex_vnd["solar"])
        + pv * settings.solar_pv_vnd_per_kwp
        + battery * settings.battery_vnd_per_kwh
    )
    return pv, battery, capex


class _Days:
    """Memoised working-day arithmetic over a :class:`WorkCalendar`."""

    def __init__(self, cal: WorkCalendar) -> None:
        self.cal = cal
        self.start = cal.start
        self._index: dict[tuple[dt.date, str], int] = {}
        self._date: dict[int, dt.date] = {}

    def index_of(self, day: dt.date, side: str) -> int:
        key = (day, side)
        if key not in self._index:
            self._index[key] = self.cal.index_of(day, side="after" if side == "after" else "before")
        return self._index[key]

    def date_of(self, index: int) -> dt.date:
        if index not in self._date:
            self._date[index] = self.cal.date_of(index)
        return self._date[index]


def _decide_power(
    ctx: _PowerContext, deadline: dt.date, settings: SitingSettings, cal: _Days | None = None
) -> _Power:
    """The power rules of the module docstring for one site location and deadline."""
    cal = cal if cal is not None else _Days(settings.calendar)
    years = int(settings.opex_years)
    tail = int(settings.power_tail_working_days)
    g_capex = float(settings.power_capex_vnd["grid"])
    g_opex = float(settings.power_opex_vnd_per_year["grid"])
    per_km = float(settings.grid_line_vnd_per_km)
    start = cal.start
    if ctx.host_power == "grid":
        return _Power(
            "grid",
            start,
            f"existing tower {ctx.host_site} on grid",
            "host_grid",
            g_capex,
            g_opex,
            0.0,
            0.0,
            0.0,
        )
    if ctx.near_elec is not None:
        vid, d = ctx.near_elec
        return _Power(
            "grid",
            start,
            f"electrified village within {_fmt_m(settings.grid_reach_m)} ({vid} at {d:.0f} m)",
            "grid_near",
            g_capex + per_km * d / 1000.0,
            g_opex,
            d / 1000.0,
            0.0,
            0.0,
        )
    latest = cal.index_of(deadline, side="before") - tail + 1
    options: list[tuple[float, int, _Power]] = []
    why: list[str] = []
    rule_no_grid = "solar_none"
    if ctx.near_eta is not None:
        vid, d, eta = ctx.near_eta
        where = "power_eta" if d < 1.0 else f"power_eta of {vid} at {d:.0f} m"
        if eta > deadline:
            why.append(f"power_eta {eta} after deadline {deadline}")
            rule_no_grid = "solar_after"
        elif cal.index_of(eta, side="after") > latest:
            why.append(
                f"power_eta {eta} leaves under {tail} working days before deadline "
                f"{deadline} (grid needed by {cal.date_of(latest)})"
            )
            rule_no_grid = "solar_close"
        else:
            capex = g_capex + per_km * d / 1000.0
            options.append(
                (
                    capex + years * g_opex,
                    0,
                    _Power(
                        "grid",
                        eta,
                        f"grid arrives {eta} ({where}) before deadline {deadline}",
                        "grid_eta",
                        capex,
                        g_opex,
                        d / 1000.0,
                        0.0,
                        0.0,
                    ),
                )
            )
    else:
        why.append(f"no power_eta within {_fmt_m(settings.grid_reach_m)}")
    if ctx.ext is not None:
        vid, d = ctx.ext
        km = d / 1000.0
        days = int(settings.grid_extension_days_fixed) + math.ceil(
            settings.grid_extension_days_per_km * km - 1e-9
        )
        ready = cal.date_of(days)
        if days > latest:
            why.append(
                f"a {km:.1f} km grid extension from {vid} would be ready {ready}, too late "
                f"for deadline {deadline}"
            )
        else:
            capex = g_capex + per_km * km
            options.append(
                (
                    capex + years * g_opex,
                    1,
                    _Power(
                        "grid",
                        ready,
                        f"grid extension {km:.1f} km from electrified village {vid}, ready "
                        f"{ready} before deadline {deadline}",
                        "grid_extension",
                        capex,
                        g_opex,
                        km,
                        0.0,
                        0.0,
                    ),
                )
            )
    else:
        why.append(f"no electrified village within {_fmt_m(settings.grid_extension_max_m)}")
    pv, battery, s_capex = _solar_size(settings)
    s_opex = float(settings.power_opex_vnd_per_year["solar"])
    solar_ok = pv <= settings.solar_max_kwp
    sizing = f"{pv:.1f} kWp PV, {battery:.0f} kWh battery"
    if solar_ok:
        options.append(
            (
                s_capex + years * s_opex,
                2,
                _Power("solar", None, "", rule_no_grid, s_capex, s_opex, 0.0, pv, battery),
            )
        )
    if options:
        life, _, best = min(options, key=lambda o: (o[0], o[1]))
        if best.power == "solar":
            grid_life = [o for o in options if o[2].power == "grid"]
            parts = list(why)
            rule = rule_no_grid
            for g_life, _, g in grid_life:
                parts.append(
                    f"{'grid from power_eta' if g.rule == 'grid_eta' else 'grid extension'} "
                    f"costs {_vnd(g_life)} over {years} years vs {_vnd(life)}"
                )
                rule = "solar_cost"
            return _Power(
                "solar",
                None,
                "; ".join(parts) + f": solar+battery ({sizing})",
                rule,
                s_capex,
                s_opex,
                0.0,
                pv,
                battery,
            )
        solar_life = [o for o in options if o[2].power == "solar"]
        reason = best.reason
        if best.rule == "grid_extension":
            cmp = f"{_vnd(life)} over {years} years"
            if solar_life:
                cmp += f" vs solar+battery {_vnd(solar_life[0][0])}"
            reason = f"{'; '.join(why)}; {reason}: {cmp}" if why else f"{reason}: {cmp}"
        return _Power(
            best.power,
            best.power_date,
            reason,
            best.rule,
            best.capex_vnd,
            best.opex_vnd_per_year,
            best.line_km,
            0.0,
            0.0,
        )
    gen_capex = float(settings.power_capex_vnd["generator"])
    gen_opex = float(settings.power_opex_vnd_per_year["generator"])
    return _Power(
        "generator",
        None,
        "; ".join(why)
        + f"; solar+battery would need {pv:.1f} kWp > solar_max_kwp {settings.solar_max_kwp:g}"
        ": generator (last resort)",
        "generator",
        gen_capex,
        gen_opex,
        0.0,
        0.0,
        0.0,
    )


# --------------------------------------------------------------------------- solver


@dataclass
class _Problem:
    """Set-cover data: candidate variants × coverable gap villages."""

    n_villages: int
    cover_ptr: npt.NDArray[np.int64]  # CSR over candidates
    cover_idx: npt.NDArray[np.int64]
    cost_k: npt.NDArray[np.int64]  # thousands of VND
    capex_k: npt.NDArray[np.int64]
    physical: npt.NDArray[np.int64]  # candidate variant → physical candidate
    commune_groups: list[list[int]]  # physical candidates sharing (operator, commune)
    required: list[int]  # physical candidates
    population: npt.NDArray[np.int64]  # per village
    coverable: npt.NDArray[np.bool_]  # per village


@dataclass
class _Solved:
    selected: npt.NDArray[np.bool_]
    status: str
    objective_k: float
    bound_k: float
    gap: float
    population_bound: int
    forced_uncovered: npt.NDArray[np.bool_]
    wall_s: float


def _village_lists(p: _Problem) -> list[list[int]]:
    lists: list[list[int]] = [[] for _ in range(p.n_villages)]
    for j in range(p.cost_k.size):
        for v in p.cover_idx[p.cover_ptr[j] : p.cover_ptr[j + 1]]:
            lists[int(v)].append(j)
    return lists


def _greedy(p: _Problem, budget_k: int | None) -> npt.NDArray[np.bool_]:
    """Greedy set cover: repeatedly the variant with the least cost per newly covered
    village (with a budget: the most new population per capex that still fits), ties
    to the most new villages, then the first in site_id order; one variant per
    candidate, the commune rule and the required sites respected."""
    n = p.cost_k.size
    chosen = np.zeros(n, dtype=np.bool_)
    blocked = np.zeros(n, dtype=np.bool_)
    phys_of_group: dict[int, list[int]] = {}
    for g, members in enumerate(p.commune_groups):
        for m in members:
            phys_of_group.setdefault(m, []).append(g)
    group_members = [set(m) for m in p.commune_groups]
    variants: dict[int, list[int]] = {}
    for j in range(n):
        variants.setdefault(int(p.physical[j]), []).append(j)
    uncovered = p.coverable.copy()
    pair_cand = np.repeat(np.arange(n), np.diff(p.cover_ptr))
    spent = 0

    def take(j: int) -> None:
        nonlocal spent
        chosen[j] = True
        spent += int(p.capex_k[j])
        ph = int(p.physical[j])
        for k in variants[ph]:
            blocked[k] = True
        for g in phys_of_group.get(ph, []):
            for other in group_members[g]:
                for k in variants[other]:
                    blocked[k] = True
        uncovered[p.cover_idx[p.cover_ptr[j] : p.cover_ptr[j + 1]]] = False

    for ph in p.required:
        options = [k for k in variants.get(ph, []) if not blocked[k]]
        if options:
            take(max(options, key=lambda k: (p.cover_ptr[k + 1] - p.cover_ptr[k], -k)))
    weights = p.population.astype(np.float64)
    while uncovered.any():
        flag = uncovered[p.cover_idx].astype(np.float64)
        gain = np.bincount(pair_cand, weights=flag, minlength=n)
        ok = (gain > 0) & ~blocked
        if budget_k is not None:
            ok &= spent + p.capex_k <= budget_k
        if not ok.any():
            break
        idx = np.flatnonzero(ok)
        if budget_k is None:
            score = p.cost_k[idx] / gain[idx]
            j = int(idx[np.lexsort((idx, -gain[idx], score))[0]])
        else:
            pop_gain = np.bincount(pair_cand, weights=flag * weights[p.cover_idx], minlength=n)
            score = pop_gain[idx] / np.maximum(p.capex_k[idx], 1)
            j = int(idx[np.lexsort((idx, -pop_gain[idx], -score))[0]])
        take(j)
    return chosen


_STATUS = {
    cp_model.OPTIMAL: "OPTIMAL",
    cp_model.FEASIBLE: "FEASIBLE",
    cp_model.INFEASIBLE: "INFEASIBLE",
    cp_model.MODEL_INVALID: "MODEL_INVALID",
    cp_model.UNKNOWN: "UNKNOWN",
}


def _solver(settings: SitingSettings, det_time: float) -> cp_model.CpSolver:
    solver = cp_model.CpSolver()
    prm = solver.parameters
    prm.random_seed = int(settings.seed)
    prm.num_workers = int(settings.num_workers)
    # one worker is deterministic by itself; interleaving would time-slice subsolvers in it
    prm.interleave_search = bool(settings.interleave_search) and int(settings.num_workers) > 1
    prm.max_deterministic_time = float(det_time)
    # clauses (the cover rows) enter the LP relaxation: set cover's LP bound is tight
    prm.linearization_level = 2
    prm.log_search_progress = False
    return solver


def _subproblem(
    p: _Problem, cands: npt.NDArray[np.int64], vills: npt.NDArray[np.int64]
) -> _Problem:
    """The part of ``p`` on these candidates and villages (renumbered, order kept)."""
    vpos = np.full(p.n_villages, -1, dtype=np.int64)
    vpos[vills] = np.arange(vills.size)
    lens = np.diff(p.cover_ptr)[cands]
    ptr = np.zeros(cands.size + 1, dtype=np.int64)
    np.cumsum(lens, out=ptr[1:])
    idx = (
        np.concatenate([p.cover_idx[p.cover_ptr[j] : p.cover_ptr[j + 1]] for j in cands])
        if cands.size
        else np.zeros(0, dtype=np.int64)
    )
    phys = p.physical[cands]
    in_part = set(phys.tolist())
    return _Problem(
        n_villages=int(vills.size),
        cover_ptr=ptr,
        cover_idx=vpos[idx],
        cost_k=p.cost_k[cands],
        capex_k=p.capex_k[cands],
        physical=phys,
        commune_groups=[g for g in p.commune_groups if in_part.intersection(g)],
        required=[r for r in p.required if r in in_part],
        population=p.population[vills],
        coverable=p.coverable[vills],
    )


def _components(p: _Problem) -> list[tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]]:
    """Independent parts of the cover: villages joined by a candidate covering both, by
    two variants of one candidate or by a commune group. Returns (candidates, villages)
    per part, in order of their first village."""
    parent = list(range(p.n_villages))

    def find(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    def union(a: int, b: int) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)

    n = p.cost_k.size
    first = np.array(
        [int(p.cover_idx[p.cover_ptr[j]]) for j in range(n)], dtype=np.int64
    )  # every candidate covers ≥ 1 village
    for j in range(n):
        row = p.cover_idx[p.cover_ptr[j] : p.cover_ptr[j + 1]]
        for v in row[1:]:
            union(int(row[0]), int(v))
    anchor: dict[int, int] = {}
    for j in range(n):
        ph = int(p.physical[j])
        if ph in anchor:
            union(anchor[ph], int(first[j]))
        else:
            anchor[ph] = int(first[j])
    for group in p.commune_groups:
        members = [anchor[ph] for ph in group if ph in anchor]
        for m in members[1:]:
            union(members[0], m)
    root_v = np.array([find(v) for v in range(p.n_villages)], dtype=np.int64)
    root_c = root_v[first] if n else np.zeros(0, dtype=np.int64)
    parts = []
    for r in np.unique(root_c):
        parts.append((np.flatnonzero(root_c == r), np.flatnonzero(root_v == r)))
    return parts


def _prune_dominated(
    p: _Problem, *, budget: bool
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Set-cover dominance: candidate j is dropped when another candidate k covers every
    village j covers at no more cost (and, with a budget, no more capex); ties kept by
    more villages, then the smaller index, so every dropped j keeps an undropped
    dominator. Safe with the one-variant-per-candidate rule (a candidate's August variant
    covers its November one), so an optimum of the reduced problem is one of the whole;
    not applied with commune groups, never to a required candidate's variants. Returns
    (kept indices, dominator per candidate: itself when kept)."""
    n = p.cost_k.size
    dominator = np.arange(n, dtype=np.int64)
    if p.commune_groups or n < 2:
        return np.arange(n, dtype=np.int64), dominator
    required = set(p.required)
    covers = [
        frozenset(p.cover_idx[p.cover_ptr[j] : p.cover_ptr[j + 1]].tolist()) for j in range(n)
    ]
    lists = _village_lists(p)
    dropped = np.zeros(n, dtype=np.bool_)
    cost = p.cost_k
    capex = p.capex_k
    for j in range(n):
        if int(p.physical[j]) in required:
            continue
        cj = covers[j]
        v0 = min(sorted(cj), key=lambda v: len(lists[v]))
        for k in lists[v0]:
            if k == j or dropped[k] or cost[k] > cost[j] or not cj <= covers[k]:
                continue
            if budget and capex[k] > capex[j]:
                continue
            tie = cost[k] == cost[j] and (not budget or capex[k] == capex[j])
            if tie and len(covers[k]) == len(cj) and k > j:
                continue
            dropped[j] = True
            dominator[j] = k
            break
    # follow chains to an undropped dominator
    for jj in np.flatnonzero(dropped).tolist():
        top = int(dominator[jj])
        while dropped[top]:
            top = int(dominator[top])
        dominator[jj] = top
    return np.flatnonzero(~dropped).astype(np.int64), dominator


def _reduced(
    p: _Problem, hint: npt.NDArray[np.bool_], *, budget: bool
) -> tuple[_Problem, npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
    """``p`` without dominated candidates, the kept indices, and the hint moved onto the
    dominators (at most one variant per candidate kept)."""
    keep, dominator = _prune_dominated(p, budget=budget)
    if keep.size == p.cost_k.size:
        return p, keep, hint
    pos = np.full(p.cost_k.size, -1, dtype=np.int64)
    pos[keep] = np.arange(keep.size)
    sub = _subproblem(p, keep, np.arange(p.n_villages, dtype=np.int64))
    new_hint = np.zeros(keep.size, dtype=np.bool_)
    taken: set[int] = set()
    for j in np.flatnonzero(hint):
        k = int(pos[dominator[j]])
        ph = int(sub.physical[k])
        if ph not in taken:
            new_hint[k] = True
            taken.add(ph)
    return sub, keep, new_hint


def _solve_cover(
    p: _Problem, settings: SitingSettings, hint: npt.NDArray[np.bool_], det_time: float
) -> tuple[npt.NDArray[np.bool_], str, float, float, npt.NDArray[np.bool_]]:
    """One part, min cost: (selected, status, objective, bound, forced-uncovered)."""
    n = p.cost_k.size
    lists = _village_lists(p)
    cov = [v for v in range(p.n_villages) if p.coverable[v]]
    forced = np.zeros(p.n_villages, dtype=np.bool_)
    simple = not p.commune_groups and not p.required
    if simple and len(cov) == 1:
        # one village: its cheapest candidate (first in site_id order on ties)
        j = min(lists[cov[0]], key=lambda k: (int(p.cost_k[k]), k))
        sel = np.zeros(n, dtype=np.bool_)
        sel[j] = True
        obj = float(p.cost_k[j])
        return sel, "OPTIMAL", obj, obj, forced
    variants: dict[int, list[int]] = {}
    for j in range(n):
        variants.setdefault(int(p.physical[j]), []).append(j)

    def model(soft: bool) -> tuple[cp_model.CpModel, list[Any], dict[int, Any], int]:
        m = cp_model.CpModel()
        x = [m.new_bool_var(f"x{j}") for j in range(n)]
        for members in variants.values():
            if len(members) > 1:
                m.add_at_most_one(x[k] for k in members)
        for group in p.commune_groups:
            lits = [x[k] for ph in group for k in variants.get(ph, [])]
            if len(lits) > 1:
                m.add_at_most_one(lits)
        for ph in p.required:
            m.add_exactly_one(x[k] for k in variants[ph])
        u: dict[int, Any] = {}
        penalty = int(p.cost_k.sum()) + 1
        for v in cov:
            if soft:
                u[v] = m.new_bool_var(f"u{v}")
                m.add_bool_or([*(x[j] for j in lists[v]), u[v]])
            else:
                m.add_bool_or(x[j] for j in lists[v])
        cost = sum(int(p.cost_k[j]) * x[j] for j in range(n))
        m.minimize(cost + penalty * sum(u.values()) if soft else cost)
        for j in range(n):
            m.add_hint(x[j], bool(hint[j]))
        return m, x, u, penalty

    m, x, _, _ = model(False)
    solver = _solver(settings, det_time)
    st = solver.solve(m)
    if st in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        sel = np.array([bool(solver.value(x[j])) for j in range(n)], dtype=np.bool_)
        return sel, _STATUS[st], solver.objective_value, solver.best_objective_bound, forced
    if st == cp_model.INFEASIBLE:
        # the optional constraints leave some villages uncoverable: find which
        m, x, u, penalty = model(True)
        solver = _solver(settings, det_time)
        st = solver.solve(m)
        if st in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            for v in cov:
                forced[v] = bool(solver.value(u[v]))
            k = int(forced.sum())
            sel = np.array([bool(solver.value(x[j])) for j in range(n)], dtype=np.bool_)
            obj = solver.objective_value - penalty * k
            bound = min(solver.best_objective_bound - penalty * k, obj)
            return sel, _STATUS[st], obj, bound, forced
        if st == cp_model.INFEASIBLE:
            raise ScenarioError(
                "[siting] required_sites break the other options (one new site per commune "
                "per operator): no plan satisfies both",
                column="required_sites",
            )
    return hint.copy(), "UNKNOWN", float(p.cost_k[hint].sum()), math.nan, forced


def _solve(
    p: _Problem, settings: SitingSettings, hint: npt.NDArray[np.bool_], budget_k: int | None
) -> _Solved:
    """CP-SAT: min-cost cover (hard; a penalty per uncovered village only when the optional
    constraints make it infeasible), solved part by part (independent groups of villages:
    each part's optimum adds up to the whole's, with the deterministic time shared in
    proportion to the parts' sizes); or max population within the budget, then the least
    cost at that population (one model: the budget couples everything)."""
    t0 = time.perf_counter()
    n = p.cost_k.size
    if budget_k is None:
        sel = np.zeros(n, dtype=np.bool_)
        forced = np.zeros(p.n_villages, dtype=np.bool_)
        total_obj = 0.0
        total_bound = 0.0
        statuses: set[str] = set()
        parts = _components(p)
        size = max(int(p.cover_idx.size), 1)
        for cands, vills in parts:
            sub = _subproblem(p, cands, vills)
            share = float(settings.max_deterministic_time) * sub.cover_idx.size / size
            red, keep, red_hint = _reduced(sub, hint[cands], budget=False)
            s_sel, st, obj, bound, s_forced = _solve_cover(
                red, settings, red_hint, max(share, 0.05)
            )
            sel[cands[keep]] = s_sel
            forced[vills] = s_forced
            total_obj += obj
            total_bound += bound
            statuses.add(st)
        if "UNKNOWN" in statuses:
            status = "GREEDY_FALLBACK" if statuses == {"UNKNOWN"} else "FEASIBLE"
        else:
            status = "OPTIMAL" if statuses <= {"OPTIMAL"} else "FEASIBLE"
        return _Solved(
            sel,
            status,
            total_obj,
            total_bound,
            _gap(total_obj, total_bound),
            0,
            forced,
            time.perf_counter() - t0,
        )
    full_p, full_hint = p, hint
    p, keep, hint = _reduced(p, hint, budget=True)
    n = p.cost_k.size
    lists = _village_lists(p)
    cov = [v for v in range(p.n_villages) if p.coverable[v]]
    variants: dict[int, list[int]] = {}
    for j in range(n):
        variants.setdefault(int(p.physical[j]), []).append(j)
    m = cp_model.CpModel()
    x = [m.new_bool_var(f"x{j}") for j in range(n)]
    for members in variants.values():
        if len(members) > 1:
            m.add_at_most_one(x[k] for k in members)
    for group in p.commune_groups:
        lits = [x[k] for ph in group for k in variants.get(ph, [])]
        if len(lits) > 1:
            m.add_at_most_one(lits)
    for ph in p.required:
        m.add_exactly_one(x[k] for k in variants[ph])
    z = {v: m.new_bool_var(f"z{v}") for v in cov}
    for v in cov:
        m.add_bool_or(x[j] for j in lists[v]).only_enforce_if(z[v])
    m.add(sum(int(p.capex_k[j]) * x[j] for j in range(n)) <= budget_k)
    for j in range(n):
        m.add_hint(x[j], bool(hint[j]))
    for v in cov:
        m.add_hint(z[v], bool(any(hint[j] for j in lists[v])))
    pop_expr = sum(int(p.population[v]) * z[v] for v in cov)
    m.maximize(pop_expr)
    forced = np.zeros(p.n_villages, dtype=np.bool_)
    solver = _solver(settings, float(settings.max_deterministic_time) * 2.0 / 3.0)
    st1 = solver.solve(m)
    if st1 not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        if st1 == cp_model.INFEASIBLE:
            raise ScenarioError(
                f"[siting] budget_vnd = {settings.budget_vnd:,.0f}: the required sites alone "
                "cost more (capex) than the budget, or break the other options",
                column="budget_vnd",
            )
        return _Solved(
            full_hint.copy(),
            "GREEDY_FALLBACK",
            float(full_p.cost_k[full_hint].sum()),
            math.nan,
            math.nan,
            0,
            forced,
            time.perf_counter() - t0,
        )
    best_pop = round(solver.objective_value)
    pop_bound = math.floor(solver.best_objective_bound + 1e-6)
    status1 = _STATUS[st1]
    phase1 = [bool(solver.value(x[j])) for j in range(n)]
    zval = {v: bool(solver.value(z[v])) for v in cov}
    m.clear_hints()
    for j in range(n):
        m.add_hint(x[j], phase1[j])
    for v in cov:
        m.add_hint(z[v], zval[v])
    m.add(pop_expr >= best_pop)
    m.minimize(sum(int(p.cost_k[j]) * x[j] for j in range(n)))
    solver2 = _solver(settings, float(settings.max_deterministic_time) / 3.0)
    st2 = solver2.solve(m)
    if st2 in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        sel = np.array([bool(solver2.value(x[j])) for j in range(n)], dtype=np.bool_)
        obj = solver2.objective_value
    else:
        sel = np.array(phase1, dtype=np.bool_)
        obj = float(p.cost_k[sel].sum())
    full_sel = np.zeros(full_p.cost_k.size, dtype=np.bool_)
    full_sel[keep] = sel
    return _Solved(
        full_sel,
        status1,
        obj,
        math.nan,
        (pop_bound - best_pop) / max(pop_bound, 1),
        pop_bound,
        forced,
        time.perf_counter() - t0,
    )


def _gap(obj: float, bound: float) -> float:
    if not (math.isfinite(obj) and math.isfinite(bound)):
        return math.nan
    return max(0.0, obj - bound) / max(abs(obj), 1.0)


# --------------------------------------------------------------------------- output


def _empty_links() -> gpd.GeoDataFrame:
    cols = {
        "site_id": "object",
        "operator": "object",
        "kind": "object",
        "length_m": "float64",
        "hops": "int64",
        "capacity_mbps": "float64",
        "bands": "object",
        "pop_id": "object",
        "capex_vnd": "float64",
        "opex_vnd_per_year": "float64",
    }
    frame = pd.DataFrame({c: pd.Series(dtype=t) for c, t in cols.items()})
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries([], crs="EPSG:4326"), crs="EPSG:4326")


def _empty_sites() -> gpd.GeoDataFrame:
    frame = pd.DataFrame({c: pd.Series(dtype="object") for c in SITE_COLUMNS})
    for c in ("deadline", "power_date"):
        frame[c] = pd.Series(dtype="datetime64[s]")
    for c in _FLOAT_SITE_COLUMNS:
        frame[c] = pd.Series(dtype="float64")
    for c in ("n_villages", "population_served", "backhaul_hops"):
        frame[c] = pd.Series(dtype="int64")
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries([], crs="EPSG:4326"), crs="EPSG:4326")


_FLOAT_SITE_COLUMNS: tuple[str, ...] = (
    "ground_rise_m",
    "frequency_mhz",
    "height_m",
    "eirp_dbm",
    "pv_kwp",
    "battery_kwh",
    "grid_line_km",
    "backhaul_length_m",
    "site_capex_vnd",
    "power_capex_vnd",
    "backhaul_capex_vnd",
    "capex_vnd",
    "opex_vnd_per_year",
    "cost_vnd",
)


def _cost_by_province(sites: pd.DataFrame) -> pd.DataFrame:
    if sites.empty:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in COST_BY_PROVINCE_COLUMNS})
    df = pd.DataFrame(
        {
            "province_code": sites["province_code"].astype(str).to_numpy(),
            "province": sites["province"].astype(str).to_numpy(),
            "sites": 1,
            "new": (sites["kind"] == "new").to_numpy(dtype=np.int64),
            "upgrade": (sites["kind"] == "upgrade").to_numpy(dtype=np.int64),
            "colocation": (sites["kind"] == "colocation").to_numpy(dtype=np.int64),
            "villages_served": sites["n_villages"].to_numpy(dtype=np.int64),
            "population_served": sites["population_served"].to_numpy(dtype=np.int64),
            "capex_vnd": sites["capex_vnd"].to_numpy(dtype=float),
            "opex_vnd_per_year": sites["opex_vnd_per_year"].to_numpy(dtype=float),
            "cost_vnd": sites["cost_vnd"].to_numpy(dtype=float),
        }
    )
    out = df.groupby(["province_code", "province"], sort=True, as_index=False).sum()
    out = out.sort_values(["province_code", "province"], kind="stable").reset_index(drop=True)
    for c in ("province_code", "province"):
        out[c] = out[c].astype("str")
    return out[list(COST_BY_PROVINCE_COLUMNS)]


def _summary(
    method: str,
    sites: gpd.GeoDataFrame,
    uncoverable: pd.DataFrame,
    *,
    status: str,
    objective_vnd: float,
    bound_vnd: float,
    gap: float,
    greedy_cost_vnd: float,
    greedy_population: int,
    population_covered: int,
    population_bound: int,
    n_candidates: int,
    n_locations: int,
    budget_vnd: float | None,
    opex_years: int,
    terrain_note: str,
) -> str:
    lines = [
        f"{method}: {len(sites)} sites from {n_candidates} candidates "
        f"({n_locations} candidate places examined)."
    ]
    if terrain_note:
        lines.append(terrain_note)
    if len(sites):
        kinds = ", ".join(
            f"{int((sites['kind'] == k).sum())} {k}" for k in KINDS if (sites["kind"] == k).any()
        )
        lines.append(f"Kinds: {kinds}.")
        for group in GROUPS[1:]:
            part = sites[sites["group"] == group]
            if part.empty:
                continue
            by_op = ", ".join(
                f"{op} {int((part['operator'] == op).sum())}"
                for op in OPERATORS
                if (part["operator"] == op).any()
            )
            lines.append(
                f"{group}: {len(part)} sites ({by_op}), {int(part['n_villages'].sum())} villages, "
                f"{int(part['population_served'].sum()):,} people, deadline "
                f"{part['deadline'].min().date()}."
            )
        rule = sites["power_rule"]
        n = {r: int((rule == r).sum()) for r in rule.unique()}
        on_grid = int((sites["power"] == "grid").sum())
        lines.append(
            f"Power: {on_grid} on grid ({n.get('host_grid', 0)} on an existing grid tower, "
            f"{n.get('grid_near', 0)} at once from an electrified village nearby, "
            f"{n.get('grid_eta', 0)} from their power_eta, {n.get('grid_extension', 0)} by a grid "
            f"extension), {int((sites['power'] == 'solar').sum())} on solar+battery, "
            f"{int((sites['power'] == 'generator').sum())} on a generator."
        )
        late = n.get("solar_after", 0) + n.get("solar_close", 0)
        if late or n.get("solar_none", 0) or n.get("solar_cost", 0):
            lines.append(
                f"  warning: solar+battery because power_eta is after the deadline "
                f"({n.get('solar_after', 0)}), too close to it for the build "
                f"({n.get('solar_close', 0)}), absent ({n.get('solar_none', 0)}), or grid "
                f"costs more ({n.get('solar_cost', 0)})."
            )
        bh = ", ".join(
            f"{int((sites['backhaul'] == k).sum())} {k}"
            for k in ("fibre", "microwave", "satellite")
            if (sites["backhaul"] == k).any()
        )
        lines.append(f"Backhaul: {bh}.")
        lines.append(
            f"Capex {_vnd(float(sites['capex_vnd'].sum()))}; opex "
            f"{_vnd(float(sites['opex_vnd_per_year'].sum()))} a year; cost over {opex_years} "
            f"years {_vnd(float(sites['cost_vnd'].sum()))}; "
            f"{population_covered:,} people newly covered."
        )
    if budget_vnd is not None:
        lines.append(
            f"Solver {status}: {population_covered:,} people within the budget "
            f"{_vnd(budget_vnd)} (bound {population_bound:,}, gap {gap:.2%}); greedy "
            f"{greedy_population:,} people."
        )
    elif math.isfinite(bound_vnd):
        ratio = greedy_cost_vnd / objective_vnd if objective_vnd > 0 else math.nan
        lines.append(
            f"Solver {status}: cost {_vnd(objective_vnd)}, bound {_vnd(bound_vnd)}, gap "
            f"{gap:.2%}; greedy set cover {_vnd(greedy_cost_vnd)} ({ratio:.3f}× the plan)."
        )
    else:
        lines.append(f"Solver {status}: the greedy plan is used ({_vnd(objective_vnd)}).")
    if len(uncoverable):
        lines.append(
            f"{len(uncoverable)} gap villages get no site: "
            + ", ".join(uncoverable["village_id"].head(10))
            + (" …" if len(uncoverable) > 10 else "")
            + " (see uncoverable)."
        )
    return "\n".join(lines)


# --------------------------------------------------------------------------- plan


#: Columns of the candidate-location table built in :func:`plan_sites`.
_LOCATION_COLUMNS: tuple[str, ...] = (
    "kind",
    "gen",
    "host_site",
    "host_ops",
    "host_power",
    "host_backhaul",
    "height_m",
    "location_id",
    "lon",
    "lat",
    "source",
    "rise_m",
)


def _extend(cols: dict[str, list[Any]], **values: Any) -> None:
    """Append rows to a column table: lists are per row (all of one length), anything
    else is repeated on every row (a tuple is a value, not a list of them)."""
    n = max(len(v) for v in values.values() if isinstance(v, list))
    for name, v in values.items():
        cols[name].extend(v if isinstance(v, list) else [v] * n)


class _Rows:
    """Row ``i`` of a frame as a dict of Python values (``DataFrame.to_dict("records")``
    one row at a time: only the rows asked for are built)."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self._cols = {str(c): frame[c].tolist() for c in frame.columns}

    def __getitem__(self, i: int) -> dict[str, Any]:
        return {c: v[i] for c, v in self._cols.items()}


def plan_sites(
    villages: gpd.GeoDataFrame,
    towers: gpd.GeoDataFrame | None,
    settings: SitingSettings,
    *,
    dem: Any = None,
    excluded: gpd.GeoDataFrame | None = None,
) -> SitePlan:
    """Least-cost sites (or most population within a budget) for the gap villages.

    villages: analysed villages (EPSG:4326 points) with ``village_id, name,
        province_code, province, commune_code, population, electrified, power_eta,
        assigned_operator, group`` and the four ``rsrp_<operator>_dbm`` columns; gap
        villages are ``group != "covered"``; every electrified village is a grid source
        and every village with a ``power_eta`` a planned one.
    towers: existing towers (canonical form; optional ``colocation_headroom`` column),
        or None: candidates for upgrade and co-location, fibre PoPs and relays.
    dem: a :class:`covgap.terrain.Dem` (opened by the caller), or None: terrain-aware
        coverage, high-ground candidates and microwave line of sight.
    excluded: polygons (any CRS) where no candidate may stand, or None.

    See the module docstring. Raises :class:`ScenarioError` for a missing cost key, an
    unknown required site or a budget below the required sites.
    """
    _check_villages(villages)
    settings.check_costs()
    cal = settings.calendar
    tech = settings.technology
    eq = settings.equipment_by_technology[tech]
    athr = settings.analysis.threshold_rsrp_dbm if tech in ("4G", "5G") else None
    thr = (
        athr
        if athr is not None
        else (
            settings.analysis.threshold_rscp_dbm
            if tech == "3G"
            else settings.analysis.threshold_rxlev_dbm
        )
    )
    years = int(settings.opex_years)
    excl = _excluded_geometry(excluded)
    kinds = set(settings.candidate_kinds)

    # --- villages: all (grid sources, PoPs) and gaps (sorted by village_id)
    located = _located(villages)
    all_v = villages[located]
    all_v = all_v.iloc[np.argsort(all_v["village_id"].astype(str).to_numpy(), kind="stable")]
    gap_mask = (villages["group"] != "covered").to_numpy(dtype=bool)
    unloc = villages[gap_mask & ~located]
    unc_rows: list[dict[str, Any]] = [
        {
            "village_id": str(r["village_id"]),
            "name": str(r["name"]),
            "province_code": str(r["province_code"]),
            "group": str(r["group"]),
            "reason": "no location (empty or non-point geometry)",
        }
        for _, r in unloc.iterrows()
    ]
    gaps = villages[gap_mask & located]
    gaps = gaps.iloc[np.argsort(gaps["village_id"].astype(str).to_numpy(), kind="stable")]
    gaps = gaps.reset_index(drop=True)
    ng = len(gaps)
    g_id = gaps["village_id"].astype(str).to_numpy()
    g_lon = np.asarray(shapely.get_x(np.asarray(gaps.geometry.array)), dtype=float)
    g_lat = np.asarray(shapely.get_y(np.asarray(gaps.geometry.array)), dtype=float)
    g_pop = pd.to_numeric(gaps["population"], errors="coerce").fillna(0).to_numpy(dtype=np.int64)
    g_powered = (gaps["group"] == "low_signal_powered").to_numpy(dtype=bool)
    g_assigned = np.array([_text_or_none(a) for a in gaps["assigned_operator"]], dtype=object)
    prefs = [_choose_operator(r, settings.default_operator) for _, r in gaps.iterrows()]
    g_pref = np.array([p[0] for p in prefs], dtype=object)
    goal = "max population within budget" if settings.budget_vnd is not None else "min-cost cover"
    method = f"CP-SAT {goal} ({settings.operator_mode.replace('_', ' ')})"
    if ng == 0:
        unc = pd.DataFrame(unc_rows, columns=list(UNCOVERABLE_COLUMNS))
        empty = _empty_sites()
        return SitePlan(
            sites=empty,
            uncoverable=unc,
            method=method,
            summary=f"{method}: no gap village to plan for."
            + (f" {len(unc)} gap villages have no location." if len(unc) else ""),
            links=_empty_links(),
            cost_by_province=_cost_by_province(empty),
            status="NO_GAP_VILLAGES",
        )

    # --- candidate locations ("emitters"), as columns
    cols: dict[str, list[Any]] = {c: [] for c in _LOCATION_COLUMNS}
    hg_fallback = 0
    if "new" in kinds:
        new_height = float(settings.height_m_by_technology[tech])
        for i in range(ng):
            around: list[tuple[float, float, str, float]] | None = None
            if dem is not None:
                around = _high_ground(dem, float(g_lon[i]), float(g_lat[i]), settings, excl)
                if around is None:
                    hg_fallback += 1
            src = "high_ground"
            if around is None:
                around = _ring(
                    float(g_lon[i]), float(g_lat[i]), settings.ring_points, settings.ring_radius_m
                )
                src = "ring"
            places = [(g_lon[i], g_lat[i], "", math.nan), *around]
            _extend(
                cols,
                kind="new",
                gen=i,
                host_site=None,
                host_ops=(),
                host_power=None,
                host_backhaul=None,
                height_m=new_height,
                location_id=[f"S-{g_id[i]}" + (f"-{tag}" if tag else "") for *_, tag, _ in places],
                lon=[p[0] for p in places],
                lat=[p[1] for p in places],
                source=["village", *([src] * len(around))],
                rise_m=[p[3] for p in places],
            )
    tw = _tower_table(towers, settings)
    if len(tw) and kinds & {"upgrade", "colocation"}:
        near_t, _, _ = pairs_within(
            tw["lon"].to_numpy(dtype=float),
            tw["lat"].to_numpy(dtype=float),
            g_lon,
            g_lat,
            float(settings.tower_search_radius_m),
        )
        near = tw.iloc[np.unique(near_t)]
        host_height = near["height_m"].to_numpy(dtype=float)
        roomy = np.array([bool(h) for h in near["headroom"]], dtype=np.bool_)
        for kind, prefix, pick, height in (
            ("upgrade", "U", np.ones(len(near), dtype=np.bool_), host_height),
            (
                "colocation",
                "C",
                roomy,
                np.maximum(3.0, host_height + settings.colocation_height_offset_m),
            ),
        ):
            if kind not in kinds or not pick.any():
                continue
            part = near[pick]
            site_ids = part["site_id"].astype(str).tolist()
            _extend(
                cols,
                kind=kind,
                gen=-1,
                host_site=site_ids,
                host_ops=[tuple(o) for o in part["operators"]],
                host_power=part["power"].tolist(),
                host_backhaul=part["backhaul"].tolist(),
                height_m=height[pick].tolist(),
                location_id=[f"{prefix}-{x}" for x in site_ids],
                lon=part["lon"].to_numpy(dtype=float).tolist(),
                lat=part["lat"].to_numpy(dtype=float).tolist(),
                source="tower",
                rise_m=math.nan,
            )
    loc = pd.DataFrame(cols) if cols["kind"] else pd.DataFrame()
    if len(loc):
        loc = loc.drop_duplicates("location_id").sort_values("location_id", kind="stable")
        loc = loc.reset_index(drop=True)
        if excl is not None:
            inside = shapely.contains_xy(
                excl, loc["lon"].to_numpy(dtype=float), loc["lat"].to_numpy(dtype=float)
            )
            if not settings.exclude_existing_in_areas:
                inside &= (loc["kind"] == "new").to_numpy()
            loc = loc[~inside].reset_index(drop=True)
    nl = len(loc)
    recs = _Rows(loc)

    # --- coverage matrix (the analysis engine)
    l_lon = loc["lon"].to_numpy(dtype=float) if nl else np.zeros(0)
    l_lat = loc["lat"].to_numpy(dtype=float) if nl else np.zeros(0)
    emitters = gpd.GeoDataFrame(
        {
            "tower_id": loc["location_id"].to_numpy(dtype=object) if nl else [],
            "operator": OPERATORS[0],
            "technology": tech,
            "frequency_mhz": float(eq.frequency_mhz),
            "bandwidth_mhz": float(eq.bandwidth_mhz),
            "height_m": loc["height_m"].to_numpy(dtype=float) if nl else [],
            "eirp_dbm": float(eq.eirp_dbm),
            "status": "active",
        },
        geometry=gpd.points_from_xy(l_lon, l_lat),
        crs="EPSG:4326",
    )
    gap_frame = gaps[["village_id", "geometry"] + (["clutter"] if "clutter" in gaps else [])]
    mat = coverage_matrix(emitters, gap_frame, settings.analysis, dem=dem)
    p_loc = mat.candidate
    p_vil = mat.village
    # covered pairs, sorted by (location, village): location li reaches the gap villages
    # c_vil[c_ptr[li]:c_ptr[li + 1]] with levels c_lvl[...]
    c_vil = p_vil[mat.covered]
    c_lvl = mat.level_dbm[mat.covered]
    c_ptr = np.searchsorted(mat.candidate[mat.covered], np.arange(nl + 1)).astype(np.int64)
    reached_any = np.zeros(ng, dtype=np.bool_)
    reached_any[c_vil] = True

    def level_at(li: int, vills: list[int]) -> npt.NDArray[np.float64]:
        part = c_vil[c_ptr[li] : c_ptr[li + 1]]
        return np.asarray(c_lvl[c_ptr[li] + np.searchsorted(part, vills)], dtype=np.float64)

    # --- power context per location
    a_lon = np.asarray(shapely.get_x(np.asarray(all_v.geometry.array)), dtype=float)
    a_lat = np.asarray(shapely.get_y(np.asarray(all_v.geometry.array)), dtype=float)
    a_id = all_v["village_id"].astype(str).to_numpy()
    a_elec = all_v["electrified"].astype(bool).to_numpy()
    a_eta = pd.to_datetime(all_v["power_eta"]).to_numpy()
    # Only locations that cover some gap village become candidates and need a power
    # context: the nearest electrified village within reach of the grid or an extension,
    # and the nearest unelectrified one with a power_eta within grid reach (ties: the
    # smallest village_id, as all_v is sorted by it).
    near_elec: dict[int, tuple[str, float]] = {}
    near_eta: dict[int, tuple[str, float, dt.date]] = {}
    ext: dict[int, tuple[str, float]] = {}
    useful = np.flatnonzero(c_ptr[1:] > c_ptr[:-1])
    e_pos = np.flatnonzero(a_elec)
    e_near, e_dist = nearest_within(
        l_lon[useful],
        l_lat[useful],
        a_lon[e_pos],
        a_lat[e_pos],
        max(float(settings.grid_reach_m), float(settings.grid_extension_max_m)),
    )
    t_pos = np.flatnonzero(~a_elec & ~pd.isna(a_eta))
    t_near, t_dist = nearest_within(
        l_lon[useful], l_lat[useful], a_lon[t_pos], a_lat[t_pos], float(settings.grid_reach_m)
    )
    for k, li in enumerate(useful.tolist()):
        if e_near[k] >= 0:
            vb, d = int(e_pos[e_near[k]]), float(e_dist[k])
            if d <= settings.grid_extension_max_m:
                ext[li] = (str(a_id[vb]), d)
            if d <= settings.grid_reach_m:
                near_elec[li] = (str(a_id[vb]), d)
        if t_near[k] >= 0:
            vb, d = int(t_pos[t_near[k]]), float(t_dist[k])
            near_eta[li] = (str(a_id[vb]), d, pd.Timestamp(a_eta[vb]).date())
    deadline_of = {g: to_date(settings.deadlines[g]) for g in GROUPS[1:]}
    power_cache: dict[tuple[int, str], _Power] = {}
    days = _Days(cal)

    def power_of(li: int, group: str) -> _Power:
        key = (li, group)
        if key not in power_cache:
            row = recs[li]
            ctx = _PowerContext(
                host_site=row["host_site"],
                host_power=row["host_power"],
                near_elec=near_elec.get(li),
                near_eta=near_eta.get(li),
                ext=ext.get(li),
            )
            power_cache[key] = _decide_power(ctx, deadline_of[group], settings, days)
        return power_cache[key]

    # --- candidates: location × operator × deadline variant
    shared = settings.operator_mode == "shared"
    cands: list[dict[str, Any]] = []
    prune = not settings.one_new_site_per_commune
    for li in range(nl):
        reach = c_vil[c_ptr[li] : c_ptr[li + 1]].tolist()
        if not reach:
            continue
        row = recs[li]
        kind = str(row["kind"])
        if shared:
            if kind == "new":
                ops = [str(g_pref[int(row["gen"])])]
            elif kind == "upgrade":
                ops = list(row["host_ops"])
            else:
                ops = []
        else:
            assigned = {str(g_assigned[v]) for v in reach if g_assigned[v] is not None}
            free = [v for v in reach if g_assigned[v] is None]
            if kind == "upgrade":
                ops = [op for op in row["host_ops"] if op in assigned or free]
            else:
                guests = [op for op in OPERATORS if op not in row["host_ops"]]
                with_own = [op for op in guests if op in assigned]
                prefs_here = [str(g_pref[v]) for v in free if g_pref[v] in guests]
                if prune:
                    # Same place, same kind, same cost: an operator serving assigned villages
                    # here covers everything one without any would (the unassigned ones), so
                    # the latter is dominated; with none assigned, one operator stands for
                    # all: the generating village's preferred one, else the most preferred.
                    ops = list(with_own)
                    if not ops and free:
                        gen_op = str(g_pref[int(row["gen"])]) if int(row["gen"]) >= 0 else None
                        if gen_op in guests:
                            ops = [gen_op]
                        elif prefs_here:
                            ops = [
                                max(
                                    guests, key=lambda o: (prefs_here.count(o), -OPERATORS.index(o))
                                )
                            ]
                else:
                    ops = [op for op in guests if op in assigned or op in prefs_here]
        gen = int(row["gen"])
        for op in ops:
            serve = reach if shared else [v for v in reach if g_assigned[v] in (None, op)]
            if not serve:
                continue
            lid = str(row["location_id"])
            if kind == "new":
                sid = lid if op == g_pref[gen] else f"{lid}-{_SLUG[op]}"
            elif kind == "upgrade":
                sid = lid if len(row["host_ops"]) == 1 else f"{lid}-{_SLUG[op]}"
            else:
                sid = f"{lid}-{_SLUG[op]}"
            variants: list[tuple[str, list[int]]] = []
            pw_aug = power_of(li, "low_signal_powered") if g_powered[serve].any() else None
            pw_nov = power_of(li, "low_signal_unpowered") if (~g_powered[serve]).any() else None
            if pw_aug is not None:
                variants.append(("low_signal_powered", serve))
            if pw_nov is not None:
                unp = [v for v in serve if not g_powered[v]]
                same = pw_aug is not None and (
                    pw_aug.power,
                    pw_aug.power_date,
                    pw_aug.capex_vnd,
                    pw_aug.opex_vnd_per_year,
                ) == (pw_nov.power, pw_nov.power_date, pw_nov.capex_vnd, pw_nov.opex_vnd_per_year)
                if not same:
                    variants.append(("low_signal_unpowered", unp))
            for variant, cover in variants:
                cands.append(
                    {
                        "site_id": sid,
                        "loc": li,
                        "operator": op,
                        "kind": kind,
                        "variant": variant,
                        "cover": cover,
                    }
                )
    cands.sort(key=lambda c: (c["site_id"], GROUPS.index(c["variant"])))

    # --- backhaul per location that has a candidate
    used_locs = sorted({c["loc"] for c in cands})
    bh_routes: dict[int, dict[str, Any]] = {}
    bh_links: dict[int, Any] = {}
    n_los = (0, 0, 0)
    if used_locs:
        ul = loc.iloc[used_locs]
        bh_in = gpd.GeoDataFrame(
            {
                "site_id": ul["location_id"].to_numpy(dtype=object),
                "height_m": ul["height_m"].to_numpy(dtype=float),
                "technology": tech,
                "host_site_id": ul["host_site"].to_numpy(dtype=object),
                "host_backhaul": ul["host_backhaul"].to_numpy(dtype=object),
            },
            geometry=gpd.points_from_xy(l_lon[used_locs], l_lat[used_locs]),
            crs="EPSG:4326",
        )
        bh = plan_backhaul(
            bh_in,
            towers,
            villages,
            settings.backhaul,
            opex_years=years,
            dem=dem,
            tower_table=tw,
        )
        route_recs = cast(list[dict[str, Any]], bh.routes.to_dict("records"))
        link_geoms = list(bh.links.geometry)
        for k, li in enumerate(used_locs):
            bh_routes[li] = route_recs[k]
            bh_links[li] = link_geoms[k]
        n_los = (bh.n_los_checked, bh.n_los_blocked, bh.n_los_uncovered)

    # --- costs
    for c in cands:
        li = c["loc"]
        pw = power_of(li, c["variant"])
        route = bh_routes[li]
        s_capex = float(settings.site_capex_vnd[c["kind"]])
        s_opex = float(settings.site_opex_vnd_per_year[c["kind"]])
        c["power"] = pw
        c["site_capex"] = s_capex
        c["capex"] = s_capex + pw.capex_vnd + float(route["capex_vnd"])
        c["opex"] = s_opex + pw.opex_vnd_per_year + float(route["opex_vnd_per_year"])
        c["cost"] = c["capex"] + years * c["opex"]

    # --- required sites
    phys_ids = sorted({c["site_id"] for c in cands})
    phys_index = {s: k for k, s in enumerate(phys_ids)}
    required: list[int] = []
    all_ids = [*phys_ids, *(str(x) for x in loc["location_id"])] if nl else phys_ids
    for sid in settings.required_sites:
        if sid not in phys_index:
            close = difflib.get_close_matches(sid, all_ids, n=1, cutoff=0.6)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise ScenarioError(
                f"[siting] required_sites: {sid!r} is not a candidate site{hint}; candidates "
                "are S-<village_id>[-R<k>|-H<k>][-<operator>], U-<site_id>[-<operator>], "
                "C-<site_id>-<operator> that reach a gap village and are not excluded",
                column="required_sites",
            )
        required.append(phys_index[sid])

    # --- problem
    coverable = np.zeros(ng, dtype=np.bool_)
    for c in cands:
        coverable[c["cover"]] = True
    nc = len(cands)
    lens = np.array([len(c["cover"]) for c in cands], dtype=np.int64)
    ptr = np.zeros(nc + 1, dtype=np.int64)
    np.cumsum(lens, out=ptr[1:])
    idx = (
        np.concatenate([np.asarray(c["cover"], dtype=np.int64) for c in cands])
        if nc
        else np.zeros(0, dtype=np.int64)
    )
    groups: dict[tuple[str, str], set[int]] = {}
    if settings.one_new_site_per_commune:
        for c in cands:
            if c["kind"] != "new":
                continue
            gen = int(recs[c["loc"]]["gen"])
            commune = _text_or_none(gaps["commune_code"].iloc[gen])
            if commune is not None:
                groups.setdefault((c["operator"], commune), set()).add(phys_index[c["site_id"]])
    problem = _Problem(
        n_villages=ng,
        cover_ptr=ptr,
        cover_idx=idx,
        cost_k=np.array([round(c["cost"] / _UNIT_VND) for c in cands], dtype=np.int64),
        capex_k=np.array([math.ceil(c["capex"] / _UNIT_VND - 1e-9) for c in cands], dtype=np.int64),
        physical=np.array([phys_index[c["site_id"]] for c in cands], dtype=np.int64),
        commune_groups=[sorted(g) for _, g in sorted(groups.items()) if len(g) > 1],
        required=sorted(set(required)),
        population=g_pop,
        coverable=coverable,
    )
    budget_k = None if settings.budget_vnd is None else math.floor(settings.budget_vnd / _UNIT_VND)
    greedy = _greedy(problem, budget_k)
    solved = _solve(problem, settings, greedy, budget_k)
    sel = solved.selected

    # --- serving: strongest eligible selected site per village; Aug → Nov swap
    def assign(selected: npt.NDArray[np.bool_]) -> dict[int, int]:
        best: dict[int, tuple[float, str, int]] = {}
        for j in np.flatnonzero(selected):
            c = cands[int(j)]
            levels = level_at(c["loc"], c["cover"])
            for v, lv in zip(c["cover"], levels.tolist(), strict=True):
                key = (-lv, c["site_id"], int(j))
                if v not in best or key < best[v]:
                    best[v] = key
        return {v: k[2] for v, k in best.items()}

    served_by = assign(sel)
    twin = {(c["site_id"], c["variant"]): j for j, c in enumerate(cands)}
    swapped = False
    for j in np.flatnonzero(sel):
        c = cands[int(j)]
        if c["variant"] != "low_signal_powered":
            continue
        mine = [v for v, k in served_by.items() if k == j]
        if any(g_powered[v] for v in mine):
            continue
        other = twin.get((c["site_id"], "low_signal_unpowered"))
        if other is not None and cands[other]["cost"] <= c["cost"]:
            sel[j] = False
            sel[other] = True
            swapped = True
    if swapped:
        served_by = assign(sel)

    # --- nearest village (province, commune) within 50 km of the selected tower sites
    place: dict[int, int] = {}
    sel_locs = {int(cands[int(j)]["loc"]) for j in np.flatnonzero(sel)}
    t_sel = sorted(li for li in sel_locs if int(recs[li]["gen"]) < 0)
    if t_sel:
        ti = np.asarray(t_sel, dtype=np.int64)
        p_near, _ = nearest_within(l_lon[ti], l_lat[ti], a_lon, a_lat, 50_000.0)
        place = {int(li): int(b) for li, b in zip(ti, p_near, strict=True) if b >= 0}

    # --- sites
    served: dict[int, list[int]] = {}
    for vill, site_j in served_by.items():
        served.setdefault(site_j, []).append(vill)
    rows: list[dict[str, Any]] = []
    link_rows: list[dict[str, Any]] = []
    for j in np.flatnonzero(sel):
        c = cands[int(j)]
        li = c["loc"]
        lrow = recs[li]
        mine = sorted(served.get(int(j), []), key=lambda v: g_id[v])
        group = (
            ("low_signal_powered" if g_powered[mine].any() else "low_signal_unpowered")
            if mine
            else c["variant"]
        )
        power: _Power = c["power"]
        route = bh_routes[li]
        gen = int(lrow["gen"])
        if gen >= 0:
            info = gaps.iloc[gen]
        elif li in place:
            info = all_v.iloc[place[li]]
        else:
            info = None
        op = c["operator"]
        n_assigned = sum(1 for v in mine if g_assigned[v] == op)
        if c["kind"] == "upgrade":
            op_reason = f"upgrade of {op}'s own site {lrow['host_site']}"
        elif shared and gen >= 0:
            op_reason = f"shared mode: {prefs[gen][1]} at {g_id[gen]}"
        elif n_assigned:
            op_reason = f"assigned operator of {n_assigned} of {len(mine)} served village(s)"
        elif gen >= 0 and op == g_pref[gen]:
            op_reason = f"unassigned villages only: {prefs[gen][1]} at {g_id[gen]}"
        else:
            op_reason = "unassigned villages only: cheapest cover"
        if c["kind"] == "colocation":
            op_reason += f"; co-located on {'/'.join(lrow['host_ops'])}'s site {lrow['host_site']}"
        rows.append(
            {
                "site_id": c["site_id"],
                "operator": op,
                "operator_reason": op_reason,
                "kind": c["kind"],
                "source": str(lrow["source"]),
                "ground_rise_m": float(lrow["rise_m"]),
                "host_site_id": _text_or_none(lrow["host_site"]),
                "host_operator": "/".join(lrow["host_ops"]) or None,
                "technology": tech,
                "frequency_mhz": float(eq.frequency_mhz),
                "height_m": float(lrow["height_m"]),
                "eirp_dbm": float(eq.eirp_dbm),
                "villages_served": ";".join(g_id[v] for v in mine),
                "n_villages": len(mine),
                "population_served": int(g_pop[mine].sum()) if mine else 0,
                "group": group,
                "deadline": pd.Timestamp(deadline_of[group]),
                "power": power.power,
                "power_date": pd.Timestamp(power.power_date) if power.power_date else pd.NaT,
                "power_reason": power.reason,
                "power_rule": power.rule,
                "pv_kwp": power.pv_kwp,
                "battery_kwh": power.battery_kwh,
                "grid_line_km": power.line_km,
                "backhaul": route["backhaul"],
                "backhaul_reason": route["backhaul_reason"],
                "backhaul_pop": _text_or_none(route["pop_id"]),
                "backhaul_hops": int(route["hops"]),
                "backhaul_length_m": float(route["length_m"]),
                "site_capex_vnd": c["site_capex"],
                "power_capex_vnd": power.capex_vnd,
                "backhaul_capex_vnd": float(route["capex_vnd"]),
                "capex_vnd": float(round(c["capex"])),
                "opex_vnd_per_year": float(round(c["opex"])),
                "cost_vnd": float(round(c["capex"]) + years * round(c["opex"])),
                "province_code": None if info is None else str(info["province_code"]),
                "province": None if info is None else str(info["province"]),
                "commune_code": None if info is None else _text_or_none(info["commune_code"]),
                "planning_method": method,
                "lon": float(lrow["lon"]),
                "lat": float(lrow["lat"]),
            }
        )
        link_rows.append(
            {
                "site_id": c["site_id"],
                "operator": op,
                "kind": route["backhaul"],
                "length_m": float(route["length_m"]),
                "hops": int(route["hops"]),
                "capacity_mbps": float(route["capacity_mbps"]),
                "bands": route["bands"],
                "pop_id": _text_or_none(route["pop_id"]),
                "capex_vnd": float(route["capex_vnd"]),
                "opex_vnd_per_year": float(route["opex_vnd_per_year"]),
                "geometry": bh_links[li],
            }
        )
    if rows:
        frame = pd.DataFrame(rows)
        frame["geometry"] = shapely.points(
            frame["lon"].to_numpy(dtype=float), frame["lat"].to_numpy(dtype=float)
        )
        frame["deadline"] = pd.to_datetime(frame["deadline"]).astype("datetime64[s]")
        frame["power_date"] = pd.to_datetime(frame["power_date"]).astype("datetime64[s]")
        for col in _FLOAT_SITE_COLUMNS:
            frame[col] = frame[col].astype("float64")
        for col in ("n_villages", "population_served", "backhaul_hops"):
            frame[col] = frame[col].astype("int64")
        frame = frame[[*SITE_COLUMNS, "geometry"]]
        sites = gpd.GeoDataFrame(frame, geometry="geometry", crs="EPSG:4326")
        sites = sites.sort_values("site_id", kind="stable").reset_index(drop=True)
        links = gpd.GeoDataFrame(pd.DataFrame(link_rows), geometry="geometry", crs="EPSG:4326")
        links = links.sort_values("site_id", kind="stable").reset_index(drop=True)
    else:
        sites = _empty_sites()
        links = _empty_links()

    # --- uncoverable
    thr_s = f"{thr:g} dBm"
    best_any: dict[int, tuple[float, float, float, int]] = {}
    if mat.n_pairs:
        order = np.lexsort((p_loc, -mat.level_dbm, p_vil))  # per village, strongest first
        first = order[np.r_[True, p_vil[order][1:] != p_vil[order][:-1]]]
        for q in first.tolist():
            best_any[int(p_vil[q])] = (
                float(mat.level_dbm[q]),
                float(mat.level_no_terrain_dbm[q]),
                float(mat.distance_m[q]),
                int(p_loc[q]),
            )
    own_excluded = (
        shapely.contains_xy(excl, g_lon, g_lat) if excl is not None else np.zeros(ng, dtype=bool)
    )
    covered_v = set(served_by)
    for v in range(ng):
        if v in covered_v:
            continue
        if solved.forced_uncovered[v]:
            reason = (
                "constraint: no candidate reaching it fits the options "
                "(one new site per commune per operator / required sites)"
            )
        elif coverable[v]:
            reason = f"budget: not covered within the budget of {_vnd(settings.budget_vnd or 0.0)}"
        else:
            b = best_any.get(v)
            if reached_any[v]:
                op = g_assigned[v]
                reason = (
                    f"operator: a candidate reaches it but none of its assigned operator {op} "
                    "(or co-location has no headroom / is not a candidate kind)"
                )
            elif b is None:
                reason = "distance: no candidate site within reach"
            elif mat.n_pairs and b[1] >= thr and b[0] < thr:
                reason = (
                    f"terrain: the best candidate {recs[b[3]]['location_id']} gives "
                    f"{b[0]:.1f} dBm over the terrain ({b[1]:.1f} dBm without), below "
                    f"the threshold {thr_s}"
                )
            else:
                reason = (
                    f"distance: the best candidate {recs[b[3]]['location_id']}, "
                    f"{b[2] / 1000:.1f} km away, gives {b[0]:.1f} dBm, below the threshold "
                    f"{thr_s}"
                )
            if own_excluded[v]:
                reason += "; its own location is in an excluded area"
            elif "new" not in kinds:
                reason += "; new sites are not a candidate kind"
        unc_rows.append(
            {
                "village_id": str(g_id[v]),
                "name": str(gaps["name"].iloc[v]),
                "province_code": str(gaps["province_code"].iloc[v]),
                "group": str(gaps["group"].iloc[v]),
                "reason": reason,
            }
        )
    uncoverable = pd.DataFrame(unc_rows, columns=list(UNCOVERABLE_COLUMNS))
    uncoverable = uncoverable.sort_values("village_id", kind="stable").reset_index(drop=True)

    # --- candidates and coverage tables
    cand_frame = gpd.GeoDataFrame(
        {
            "site_id": [c["site_id"] for c in cands],
            "location_id": [str(recs[c["loc"]]["location_id"]) for c in cands],
            "operator": [c["operator"] for c in cands],
            "kind": [c["kind"] for c in cands],
            "source": [str(recs[c["loc"]]["source"]) for c in cands],
            "variant": [c["variant"] for c in cands],
            "height_m": [float(recs[c["loc"]]["height_m"]) for c in cands],
            "n_coverable": lens,
            "population_coverable": [int(g_pop[c["cover"]].sum()) for c in cands],
            "power": [c["power"].power for c in cands],
            "capex_vnd": [float(round(c["capex"])) for c in cands],
            "opex_vnd_per_year": [float(round(c["opex"])) for c in cands],
            "cost_vnd": [float(round(c["capex"]) + years * round(c["opex"])) for c in cands],
            "selected": sel.astype(bool),
            "greedy": greedy.astype(bool),
        },
        geometry=gpd.points_from_xy(
            [l_lon[c["loc"]] for c in cands], [l_lat[c["loc"]] for c in cands]
        ),
        crs="EPSG:4326",
    )
    coverage = pd.DataFrame(
        {
            "location_id": loc["location_id"].to_numpy(dtype=object)[p_loc]
            if nl
            else np.zeros(0, dtype=object),
            "village_id": g_id[p_vil],
            "rsrp_dbm": mat.level_dbm,
            "covered": mat.covered,
            "distance_m": mat.distance_m,
            "model": mat.model,
        }
    )

    # --- figures
    objective_vnd = float(sites["cost_vnd"].sum()) if len(sites) else 0.0
    greedy_cost = float(cand_frame.loc[greedy, "cost_vnd"].sum()) if nc else 0.0
    greedy_pop = int(g_pop[coverable & _covered_by(problem, greedy)].sum())
    pop_cov = int(g_pop[list(covered_v)].sum()) if covered_v else 0
    if settings.budget_vnd is None:
        bound_vnd = solved.bound_k * _UNIT_VND if math.isfinite(solved.bound_k) else math.nan
        if math.isfinite(bound_vnd):
            bound_vnd = min(bound_vnd, objective_vnd)
        pop_bound = int(g_pop[coverable].sum())
    else:
        bound_vnd = math.nan
        pop_bound = solved.population_bound
    terrain_note = ""
    if dem is not None:
        terrain_note = (
            f"Terrain: {int(mat.terrain.sum())} of {mat.n_pairs} candidate–village pairs over "
            f"the DEM (ITM), {mat.n_terrain_fallback} outside it (terrain-free model); "
            f"{hg_fallback} villages off the DEM got a ring instead of high ground; microwave "
            f"line of sight: {n_los[0]} hop×band checks, {n_los[1]} blocked, {n_los[2]} "
            "outside the DEM (taken as clear)."
        )
    summary = _summary(
        method,
        sites,
        uncoverable,
        status=solved.status,
        objective_vnd=objective_vnd,
        bound_vnd=bound_vnd,
        gap=solved.gap,
        greedy_cost_vnd=greedy_cost,
        greedy_population=greedy_pop,
        population_covered=pop_cov,
        population_bound=pop_bound,
        n_candidates=nc,
        n_locations=nl,
        budget_vnd=settings.budget_vnd,
        opex_years=years,
        terrain_note=terrain_note,
    )
    return SitePlan(
        sites=sites,
        uncoverable=uncoverable,
        method=method,
        summary=summary,
        links=links,
        cost_by_province=_cost_by_province(sites),
        objective_vnd=objective_vnd,
        bound_vnd=bound_vnd,
        gap=solved.gap,
        greedy_cost_vnd=greedy_cost,
        greedy_population=greedy_pop,
        status=solved.status,
        population_covered=pop_cov,
        population_bound=pop_bound,
        candidates=cand_frame,
        coverage=coverage,
        solve_time_s=solved.wall_s,
    )


def _covered_by(p: _Problem, chosen: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
    out = np.zeros(p.n_villages, dtype=np.bool_)
    for j in np.flatnonzero(chosen):
        out[p.cover_idx[p.cover_ptr[j] : p.cover_ptr[j + 1]]] = True
    return out
