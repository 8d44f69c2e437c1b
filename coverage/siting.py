"""Site planning — FIRST SLICE: one new site per gap village (DESIGN §5).

This slice puts one new site at the location of every low-signal ("gap") village
(``group != "covered"``); a later issue replaces it by the CP-SAT min-cost cover over
candidate sites (existing towers to upgrade or share, new sites at villages and
high points) and by a real backhaul plan. What it already does properly:

* **Operator.** The ``assigned_operator`` (ministry assignment) when given; else the
  operator with the strongest existing signal at the village — the one closest to
  the threshold, so the cheapest gap to fill — with ties broken in canonical order
  (Viettel, VNPT, MobiFone, Vietnamobile); else, with no signal from anyone, the
  ``default_operator`` (Viettel: the largest rural network, first in canonical order).
* **Deadline.** The earliest deadline of the groups of the villages served (one
  village per site here): 31 Aug 2025 for ``low_signal_powered``, 30 Nov 2025 for
  ``low_signal_unpowered`` (DESIGN §3 "Site deadlines").
* **Power** (DESIGN §3 "Site power date"):
  1. an electrified village within ``grid_reach_m`` (1 km, geodesic) of the site —
     the served village itself when it is electrified — gives grid at once
     (``power_date`` = planning start);
  2. else the served village's ``power_eta``, if grid power then still leaves the
     power-dependent tail of the chain (grid connection, equipment, backhaul,
     integration: ``power_tail_working_days``) before the last working day on or
     before the deadline, gives grid from that date;
  3. else solar + battery (``power_date`` NaT): the ``power_eta`` is after the
     deadline, too close to it, or absent.
  Grid extension over more than ``grid_reach_m`` (when its cost and time beat solar)
  is not weighed in this slice.
* **Backhaul.** Not planned yet: ``microwave`` is assumed and not costed, and
  ``backhaul_reason`` says so.

No file I/O; inputs and outputs are EPSG:4326.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .calendar import WorkCalendar, to_date
from .errors import CRSError, SchemaError
from .schedule import ScheduleSettings
from .schema import OPERATORS

__all__ = [
    "FIRST_SLICE_METHOD",
    "GROUPS",
    "SITE_COLUMNS",
    "UNCOVERABLE_COLUMNS",
    "SitePlan",
    "SitingSettings",
    "plan_sites",
]

#: Village groups (DESIGN §4), covered first.
GROUPS: tuple[str, ...] = ("covered", "low_signal_powered", "low_signal_unpowered")
#: ``planning_method`` of this slice's sites.
FIRST_SLICE_METHOD = "one site per gap village (first slice)"
#: Mean Earth radius (IUGG), metres, for haversine distances on WGS84 lon/lat.
EARTH_RADIUS_M = 6_371_008.8

RSRP_COLUMNS: dict[str, str] = {
    "Viettel": "rsrp_viettel_dbm",
    "VNPT": "rsrp_vnpt_dbm",
    "MobiFone": "rsrp_mobifone_dbm",
    "Vietnamobile": "rsrp_vietnamobile_dbm",
}

SITE_COLUMNS: tuple[str, ...] = (
    "site_id",
    "operator",
    "operator_reason",
    "kind",
    "technology",
    "height_m",
    "villages_served",
    "n_villages",
    "population_served",
    "group",
    "deadline",
    "power",
    "power_date",
    "power_reason",
    "backhaul",
    "backhaul_reason",
    "capex_vnd",
    "opex_vnd_per_year",
    "province_code",
    "province",
    "commune_code",
    "planning_method",
)
UNCOVERABLE_COLUMNS: tuple[str, ...] = ("village_id", "name", "province_code", "group", "reason")

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

_BACKHAUL_REASON = "first slice: backhaul not planned yet (microwave assumed, not costed)"


def _default_heights() -> dict[str, float]:
    # Typical rural greenfield masts: lower bands reach farther from a taller mast.
    return {"2G": 35.0, "3G": 30.0, "4G": 30.0, "5G": 25.0}


def _default_site_capex() -> dict[str, float]:
    # New 4G site with a 30 m tower (civil works, tower, RAN, installation) ≈ 1.5 bn VND;
    # an upgrade of an existing tower (new RAN on it) ≈ 0.4 bn VND.
    return {"new": 1.5e9, "upgrade": 0.4e9}


def _default_power_capex() -> dict[str, float]:
    # Grid: metering + low-voltage drop ≈ 50 M VND (plus the per-km line below);
    # solar + battery: ≈ 6 kWp PV, 20 kWh LiFePO4, controller ≈ 450 M VND.
    return {"grid": 50e6, "solar": 450e6}


def _default_site_opex() -> dict[str, float]:
    # Site lease, maintenance visits, RAN support per year.
    return {"new": 150e6, "upgrade": 60e6}


def _default_power_opex() -> dict[str, float]:
    # Grid electricity ≈ 1.5 kW × 8,760 h × ~3,000 VND/kWh ≈ 40 M VND; solar: cleaning,
    # inspection and a battery-replacement reserve ≈ 25 M VND.
    return {"grid": 40e6, "solar": 25e6}


def _default_deadlines() -> dict[str, dt.date]:
    return {
        "low_signal_powered": dt.date(2025, 8, 31),
        "low_signal_unpowered": dt.date(2025, 11, 30),
    }


@dataclass(frozen=True)
class SitingSettings:
    """Siting settings (the scenario's ``[sites]`` part). Money in VND, lengths in m.

    technology: technology of new sites ("4G").
    height_m_by_technology: antenna height of a new site per technology
        (2G 35, 3G 30, 4G 30, 5G 25 m).
    site_capex_vnd: capex per site kind (new 1.5e9: 4G site with a 30 m tower;
        upgrade 0.4e9).
    power_capex_vnd: capex per power option on top of the site (grid 50e6 connection;
        solar 450e6 for PV + battery).
    grid_line_vnd_per_km: grid line from the nearest electrified village (400e6/km,
        rural 22 kV/0.4 kV line); zero when the site is at an electrified village.
    site_opex_vnd_per_year, power_opex_vnd_per_year: yearly running costs
        (new 150e6, upgrade 60e6; grid 40e6, solar 25e6).
    grid_reach_m: an electrified village this close (geodesic) gives the site grid at
        once (1000 m).
    deadlines: per gap group, inclusive (31 Aug / 30 Nov 2025).
    calendar: working days (planning start 2025-07-15, Sundays, 2025-09-01/02 off).
    power_tail_working_days: working days from the grid connection to the end of
        integration; the default is the schedule's default templates (grid 2 +
        equipment 2 + backhaul 2 + integration 1 = 7). Keep it equal to
        ``ScheduleSettings.power_tail_working_days()`` of the schedule you run.
    default_operator: operator for a gap village with no assignment and no signal
        from anyone (Viettel).
    """

    technology: str = "4G"
    height_m_by_technology: Mapping[str, float] = field(default_factory=_default_heights)
    site_capex_vnd: Mapping[str, float] = field(default_factory=_default_site_capex)
    power_capex_vnd: Mapping[str, float] = field(default_factory=_default_power_capex)
    grid_line_vnd_per_km: float = 400e6
    site_opex_vnd_per_year: Mapping[str, float] = field(default_factory=_default_site_opex)
    power_opex_vnd_per_year: Mapping[str, float] = field(default_factory=_default_power_opex)
    grid_reach_m: float = 1000.0
    deadlines: Mapping[str, dt.date] = field(default_factory=_default_deadlines)
    calendar: WorkCalendar = field(default_factory=WorkCalendar)
    power_tail_working_days: int = field(
        default_factory=lambda: ScheduleSettings().power_tail_working_days("grid")
    )
    default_operator: str = "Viettel"

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
        missing = [g for g in GROUPS[1:] if g not in self.deadlines]
        if missing:
            raise ValueError(f"deadlines lack group(s) {', '.join(missing)}")
        for key in ("grid", "solar"):
            if key not in self.power_capex_vnd or key not in self.power_opex_vnd_per_year:
                raise ValueError(f"power_capex_vnd and power_opex_vnd_per_year need {key!r}")
        if "new" not in self.site_capex_vnd or "new" not in self.site_opex_vnd_per_year:
            raise ValueError("site_capex_vnd and site_opex_vnd_per_year need 'new'")
        if not self.grid_reach_m >= 0:
            raise ValueError(f"grid_reach_m must be ≥ 0, got {self.grid_reach_m}")
        if int(self.power_tail_working_days) < 1:
            raise ValueError("power_tail_working_days must be ≥ 1")


@dataclass(frozen=True, eq=False)
class SitePlan:
    """Planned sites (GeoDataFrame, EPSG:4326 points, columns :data:`SITE_COLUMNS` +
    geometry, sorted by ``site_id``), the gap villages no site can serve
    (:data:`UNCOVERABLE_COLUMNS`; here only villages without a location) and how the
    plan was made; ``summary`` is plain planner text (counts per group, operator and
    power option, why sites get solar, capex) — a ``power_eta`` after the deadline is
    said there, as DESIGN §3 asks, never raised."""

    sites: gpd.GeoDataFrame
    uncoverable: pd.DataFrame
    method: str
    summary: str


def _vnd(amount: float) -> str:
    return f"{amount / 1e9:,.2f} bn VND"


def _summary(sites: gpd.GeoDataFrame, uncoverable: pd.DataFrame) -> str:
    """Plain text: sites per group and operator, power choice and its reasons, money."""
    lines = [f"{FIRST_SLICE_METHOD}: {len(sites)} new sites."]
    if len(sites):
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
                f"{group}: {len(part)} sites ({by_op}), "
                f"{int(part['population_served'].sum()):,} people, deadline "
                f"{part['deadline'].min().date()}."
            )
        reasons = sites["power_reason"]
        n_near = int(reasons.str.startswith("electrified village within").sum())
        n_eta = int(reasons.str.startswith("grid arrives").sum())
        n_after = int(reasons.str.contains("after deadline").sum())
        n_close = int(reasons.str.contains("working days before deadline").sum())
        n_none = int(reasons.str.startswith("no power_eta").sum())
        lines.append(
            f"Power: {n_near + n_eta} on grid ({n_near} at once from an electrified village "
            f"nearby, {n_eta} from their power_eta), {n_after + n_close + n_none} on "
            f"solar+battery."
        )
        if n_after or n_close or n_none:
            lines.append(
                f"  warning: solar+battery because power_eta is after the deadline ({n_after}), "
                f"too close to it for the build ({n_close}) or absent ({n_none})."
            )
        lines.append(
            f"Capex {_vnd(float(sites['capex_vnd'].sum()))}; opex "
            f"{_vnd(float(sites['opex_vnd_per_year'].sum()))} a year "
            "(backhaul not planned or costed yet)."
        )
    if len(uncoverable):
        lines.append(
            f"{len(uncoverable)} gap villages cannot be served: "
            + ", ".join(uncoverable["village_id"].head(10))
            + (" …" if len(uncoverable) > 10 else "")
            + " (see uncoverable)."
        )
    return "\n".join(lines)


def _haversine_m(
    lon1: np.ndarray, lat1: np.ndarray, lon2: np.ndarray, lat2: np.ndarray
) -> np.ndarray:
    """Great-circle distance in metres between lon/lat degree arrays (EPSG:4326)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp = p2 - p1
    dl = np.radians(lon2 - lon1)
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def _nearest_within(
    points: np.ndarray,
    targets: np.ndarray,
    target_ids: np.ndarray,
    reach_m: float,
) -> tuple[np.ndarray, np.ndarray]:
    """For each point, the nearest target within ``reach_m`` (geodesic): its position in
    ``targets`` (-1 if none) and the distance in metres (NaN if none). Ties: smaller id.

    A degree-space STRtree ``dwithin`` prefilter (radius widened by 1/cos of the
    largest latitude) keeps only candidate pairs; haversine decides.
    """
    n = len(points)
    best = np.full(n, -1, dtype=np.int64)
    dist = np.full(n, np.nan)
    if n == 0 or len(targets) == 0:
        return best, dist
    lat_all = np.concatenate([shapely.get_y(points), shapely.get_y(targets)])
    lat_max = min(89.0, float(np.nanmax(np.abs(lat_all))) + 1.0)
    deg = reach_m / (EARTH_RADIUS_M * math.pi / 180.0) / math.cos(math.radians(lat_max))
    deg = deg * 1.01 + 1e-9
    tree = shapely.STRtree(targets)
    pi, ti = tree.query(points, predicate="dwithin", distance=deg)
    if len(pi) == 0:
        return best, dist
    d = _haversine_m(
        shapely.get_x(points[pi]),
        shapely.get_y(points[pi]),
        shapely.get_x(targets[ti]),
        shapely.get_y(targets[ti]),
    )
    keep = d <= reach_m
    pairs = pd.DataFrame({"p": pi[keep], "t": ti[keep], "d": d[keep], "id": target_ids[ti[keep]]})
    pairs = pairs.sort_values(["p", "d", "id"], kind="stable").drop_duplicates("p")
    best[pairs["p"].to_numpy()] = pairs["t"].to_numpy()
    dist[pairs["p"].to_numpy()] = pairs["d"].to_numpy()
    return best, dist


def _fmt_m(distance_m: float) -> str:
    """``1 km`` for whole kilometres, else ``850 m``."""
    if distance_m >= 1000 and float(distance_m) % 1000 == 0:
        return f"{distance_m / 1000:g} km"
    return f"{distance_m:g} m"


def _choose_operator(row: Any, default_operator: str) -> tuple[str, str]:
    assigned = row["assigned_operator"]
    if isinstance(assigned, str) and assigned:
        return assigned, "assigned operator"
    best_op, best_rsrp = None, -math.inf
    for op in OPERATORS:  # canonical order: the first of equals wins
        value = row[RSRP_COLUMNS[op]]
        if value is not None and not pd.isna(value) and float(value) > best_rsrp:
            best_op, best_rsrp = op, float(value)
    if best_op is not None:
        return best_op, f"strongest existing signal ({best_rsrp:.1f} dBm)"
    return default_operator, f"no signal from any operator: default {default_operator}"


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


def _row(villages: pd.DataFrame, label: Any) -> int | None:
    if "source_row" in villages.columns:
        value = villages.loc[label, "source_row"]
        return None if pd.isna(value) else int(value)
    return None


def _empty_sites() -> gpd.GeoDataFrame:
    frame = pd.DataFrame({c: pd.Series(dtype="object") for c in SITE_COLUMNS})
    for c in ("deadline", "power_date"):
        frame[c] = pd.Series(dtype="datetime64[s]")
    for c in ("height_m", "capex_vnd", "opex_vnd_per_year"):
        frame[c] = pd.Series(dtype="float64")
    for c in ("n_villages", "population_served"):
        frame[c] = pd.Series(dtype="int64")
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries([], crs="EPSG:4326"), crs="EPSG:4326")


def plan_sites(
    villages: gpd.GeoDataFrame,
    towers: gpd.GeoDataFrame | None,
    settings: SitingSettings,
) -> SitePlan:
    """One new site at every gap village (first slice; see the module docstring).

    villages: analysed villages (EPSG:4326 points) with ``village_id, name,
        province_code, province, commune_code, population, electrified, power_eta,
        assigned_operator, group`` and the four ``rsrp_<operator>_dbm`` columns (NaN:
        no signal). Every village (covered or not) counts as a grid source when
        electrified.
    towers: existing towers (canonical form); not used by this slice (the later
        min-cost cover plans upgrades and co-location on them).

    Returns a :class:`SitePlan` whose ``sites`` are sorted by ``site_id``
    (``S-<village_id>``); ``deadline`` and ``power_date`` are ``datetime64[s]`` dates.
    """
    del towers  # first slice: new sites only
    _check_villages(villages)
    cal = settings.calendar
    start = cal.start
    tail = int(settings.power_tail_working_days)

    geom = villages.geometry
    present = ~shapely.is_missing(np.asarray(geom.array))
    located = pd.Series(present, index=villages.index) & ~geom.is_empty
    located &= geom.geom_type == "Point"
    gap = villages["group"] != "covered"
    unc = villages[gap & ~located]
    uncoverable = pd.DataFrame(
        {
            "village_id": unc["village_id"].astype(str).to_numpy(),
            "name": unc["name"].astype(str).to_numpy(),
            "province_code": unc["province_code"].astype(str).to_numpy(),
            "group": unc["group"].astype(str).to_numpy(),
            "reason": ["no location (empty or non-point geometry)"] * len(unc),
        },
        columns=list(UNCOVERABLE_COLUMNS),
    )
    gaps = villages[gap & located]
    if gaps.empty:
        empty = _empty_sites()
        return SitePlan(
            sites=empty,
            uncoverable=uncoverable,
            method=FIRST_SLICE_METHOD,
            summary=_summary(empty, uncoverable),
        )

    electrified = villages[located & villages["electrified"].astype(bool)]
    near_pos, near_dist = _nearest_within(
        np.asarray(gaps.geometry.array),
        np.asarray(electrified.geometry.array),
        electrified["village_id"].astype(str).to_numpy(),
        float(settings.grid_reach_m),
    )
    power_eta = pd.to_datetime(gaps["power_eta"])
    kind = "new"
    height_m = float(settings.height_m_by_technology[settings.technology])

    rows: list[dict[str, Any]] = []
    for i, (_, v) in enumerate(gaps.iterrows()):
        group = str(v["group"])
        deadline = to_date(settings.deadlines[group])
        operator, operator_reason = _choose_operator(v, settings.default_operator)
        eta = power_eta.iloc[i]
        line_km = 0.0
        power_date: Any
        if near_pos[i] >= 0:
            near_id = str(electrified["village_id"].iloc[int(near_pos[i])])
            power, power_date = "grid", pd.Timestamp(start)
            power_reason = (
                f"electrified village within {_fmt_m(settings.grid_reach_m)} "
                f"({near_id} at {near_dist[i]:.0f} m)"
            )
            line_km = float(near_dist[i]) / 1000.0
        elif pd.isna(eta):
            power, power_date = "solar", pd.NaT
            power_reason = "no power_eta: solar+battery"
        else:
            eta_date = eta.date()
            latest_index = cal.index_of(deadline, side="before") - tail + 1
            if eta_date > deadline:
                power, power_date = "solar", pd.NaT
                power_reason = f"power_eta {eta_date} after deadline {deadline}: solar+battery"
            elif cal.index_of(eta_date, side="after") > latest_index:
                power, power_date = "solar", pd.NaT
                power_reason = (
                    f"power_eta {eta_date} leaves under {tail} working days before deadline "
                    f"{deadline} (grid needed by {cal.date_of(latest_index)}): solar+battery"
                )
            else:
                power, power_date = "grid", pd.Timestamp(eta_date)
                power_reason = f"grid arrives {eta_date} (power_eta) before deadline {deadline}"
        capex = float(settings.site_capex_vnd[kind]) + float(settings.power_capex_vnd[power])
        if power == "grid":
            capex += float(settings.grid_line_vnd_per_km) * line_km
        opex = float(settings.site_opex_vnd_per_year[kind]) + float(
            settings.power_opex_vnd_per_year[power]
        )
        commune = v["commune_code"]
        rows.append(
            {
                "site_id": f"S-{v['village_id']}",
                "operator": operator,
                "operator_reason": operator_reason,
                "kind": kind,
                "technology": settings.technology,
                "height_m": height_m,
                "villages_served": str(v["village_id"]),
                "n_villages": 1,
                "population_served": int(v["population"]),
                "group": group,
                "deadline": pd.Timestamp(deadline),
                "power": power,
                "power_date": power_date,
                "power_reason": power_reason,
                "backhaul": "microwave",
                "backhaul_reason": _BACKHAUL_REASON,
                "capex_vnd": round(capex),
                "opex_vnd_per_year": round(opex),
                "province_code": str(v["province_code"]),
                "province": str(v["province"]),
                "commune_code": None if pd.isna(commune) else str(commune),
                "planning_method": FIRST_SLICE_METHOD,
                "geometry": v.geometry,
            }
        )
    frame = pd.DataFrame(rows)
    for c in ("deadline", "power_date"):
        frame[c] = pd.to_datetime(frame[c]).astype("datetime64[s]")
    for c in ("capex_vnd", "opex_vnd_per_year", "height_m"):
        frame[c] = frame[c].astype("float64")
    for c in ("n_villages", "population_served"):
        frame[c] = frame[c].astype("int64")
    sites = gpd.GeoDataFrame(frame, geometry="geometry", crs="EPSG:4326")
    sites = sites.sort_values("site_id", kind="stable").reset_index(drop=True)
    return SitePlan(
        sites=sites,
        uncoverable=uncoverable,
        method=FIRST_SLICE_METHOD,
        summary=_summary(sites, uncoverable),
    )
