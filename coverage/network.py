"""Backhaul planning (DESIGN §5): fibre points of presence, microwave hops, LEO/VSAT.

Every planned site needs a path to fibre. The graph (networkx) has three kinds of
node:

* **fibre points of presence (PoPs)** — the sites of existing active towers whose
  ``backhaul`` is ``fibre``, and, when ``commune_centre_pops`` is on, one point per
  commune: its most populous electrified village that is not a gap village (``group``
  "covered" when the villages carry the analysis' ``group``; ties: smallest
  ``village_id``). The package has no commune-centre table; the commune seat is in
  practice the largest electrified settlement of the commune, Vietnamese operators
  have run fibre to every commune People's Committee, and a seat with fibre has
  mobile coverage, so that village stands in for it (a mast of
  ``commune_centre_mast_m`` there);
* **relays** — the other existing active tower sites (microwave, satellite or no
  backhaul): places where a microwave repeater can be mounted (``relay_existing_towers``);
* **targets** — the sites to connect. A target never relays another target's traffic
  (edges only point *into* targets), so each target's cost is its own and does not
  depend on which other sites get built.

Edges are candidate links: a **microwave hop** between two nodes no farther apart than
the longest hop of a band whose capacity carries the target's demand
(``demand_mbps_by_technology``); with a DEM, a hop needs line of sight with
``fresnel_fraction`` of the first Fresnel zone clear at that band's frequency over the
DEM profile (:func:`covgap.terrain.line_of_sight`, Earth bulge with ``k_factor``); a
hop the DEM does not cover is taken as clear and counted. A **fibre spur** joins a
node to a PoP no farther than ``fibre_spur_max_m``. An edge's weight is its cheapest
option's life-cycle cost, capex + ``opex_years`` × yearly opex, in VND.

Each target gets the cheapest path to any PoP with at most ``max_hops`` links (a
layered graph: relay copies per hop count, so the hop limit is exact), found by
networkx's multi-source Dijkstra from the PoPs. **LEO/VSAT** replaces it when no path
exists or the satellite terminal's life-cycle cost is lower (unless the satellite
capacity is below the demand and a terrestrial path exists). A target mounted on an
existing tower (``host_site_id``) with a microwave or satellite link may instead share
that link (``shared_link_*`` costs): the cheaper of the two is kept. On a fibre tower
the PoP is the site itself (a zero-length fibre link).

Distances are geodesic (haversine on the WGS84 mean radius); inputs and outputs are
EPSG:4326. No file I/O (the DEM is read through :mod:`covgap.terrain`).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from shapely.geometry import LineString

from .errors import SchemaError
from .schema import OPERATORS as _OPERATORS

__all__ = [
    "BACKHAUL_KINDS",
    "LINK_COLUMNS",
    "POP_COLUMNS",
    "BackhaulPlan",
    "BackhaulSettings",
    "MicrowaveBand",
    "fibre_points_of_presence",
    "haversine_m",
    "pairs_within",
    "plan_backhaul",
    "tower_sites",
]

#: ``kind`` of a backhaul link (the export's ``LINK_KINDS``).
BACKHAUL_KINDS: tuple[str, ...] = ("fibre", "microwave", "satellite")
#: Mean Earth radius (IUGG), metres: haversine distances on WGS84 lon/lat.
EARTH_RADIUS_M = 6_371_008.8
#: Columns of :attr:`BackhaulPlan.links` (then geometry).
LINK_COLUMNS: tuple[str, ...] = (
    "site_id",
    "kind",
    "length_m",
    "hops",
    "capacity_mbps",
    "bands",
    "pop_id",
    "capex_vnd",
    "opex_vnd_per_year",
)
#: Columns of :attr:`BackhaulPlan.pops` (then geometry).
POP_COLUMNS: tuple[str, ...] = ("pop_id", "pop_kind", "height_m")
#: Distance under which two nodes are the same place (m): no hop is planned between them.
SAME_PLACE_M = 1.0
#: Capacity reported for a fibre link (a 10 GbE port), Mbit/s.
FIBRE_CAPACITY_MBPS = 10_000.0


@dataclass(frozen=True)
class MicrowaveBand:
    """One microwave band: frequency (GHz), longest hop (km, rain fading in Vietnam's
    ITU-R P.837 rain zone P limits it), capacity (Mbit/s) and cost per hop (VND: a pair
    of radios and dishes, installed; yearly: licence and maintenance)."""

    frequency_ghz: float
    max_hop_km: float
    capacity_mbps: float
    capex_vnd: float
    opex_vnd_per_year: float

    def __post_init__(self) -> None:
        for name in ("frequency_ghz", "max_hop_km", "capacity_mbps"):
            value = float(getattr(self, name))
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"microwave band {name} must be > 0, got {value!r}")
        for name in ("capex_vnd", "opex_vnd_per_year"):
            value = float(getattr(self, name))
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"microwave band {name} must be ≥ 0, got {value!r}")


def _default_bands() -> dict[str, MicrowaveBand]:
    # Typical tropical hop lengths (high rain rates) and 2025 equipment prices: 7 GHz
    # 1.2 m dishes, 28 MHz channel; 15/23 GHz 56 MHz channels; E-band 80 GHz 2 GHz wide.
    return {
        "7GHz": MicrowaveBand(7.0, 30.0, 200.0, 300e6, 25e6),
        "15GHz": MicrowaveBand(15.0, 12.0, 450.0, 200e6, 20e6),
        "23GHz": MicrowaveBand(23.0, 6.0, 450.0, 160e6, 15e6),
        "80GHz": MicrowaveBand(80.0, 2.0, 5000.0, 250e6, 8e6),
    }


def _default_demand() -> dict[str, float]:
    # Peak backhaul per site: a 2G TRX site, a 3G NodeB, a 20 MHz 3-sector LTE site,
    # a 100 MHz NR site.
    return {"2G": 2.0, "3G": 21.0, "4G": 150.0, "5G": 1000.0}


@dataclass(frozen=True)
class BackhaulSettings:
    """Backhaul settings (the scenario's ``[siting.backhaul]`` table). VND, m, Mbit/s.

    microwave_bands: band name → :class:`MicrowaveBand` (7, 15, 23 and 80 GHz).
    demand_mbps_by_technology: backhaul a site needs (2G 2, 3G 21, 4G 150, 5G 1000).
    fibre_spur_max_m: longest new fibre spur to a PoP (1000 m).
    fibre_vnd_per_km: new aerial fibre, per km (120e6).
    fibre_capex_vnd, fibre_opex_vnd_per_year: termination and ports at both ends
        (30e6), yearly lease/maintenance (12e6); also paid on a fibre site itself.
    satellite_capex_vnd, satellite_opex_vnd_per_year, satellite_capacity_mbps: a LEO
        (or VSAT) terminal installed (120e6), its service per year (150e6) and its
        capacity (200).
    shared_link_capex_vnd, shared_link_opex_vnd_per_year: sharing the existing
        microwave or satellite link of the host tower (capacity upgrade 50e6, 20e6/yr).
    max_hops: most links on a path to fibre (4).
    fresnel_fraction: share of the first Fresnel zone a hop keeps clear over the DEM
        (0.6, ITU-R P.530 practice).
    k_factor: effective Earth radius factor for the clearance (4/3).
    profile_step_m: DEM profile spacing for line of sight (30).
    commune_centre_pops: commune centres are fibre PoPs (True; see the module docstring).
    commune_centre_mast_m: mast height at a commune centre (30).
    relay_existing_towers: existing non-fibre tower sites can host repeaters (True).
    pops_per_node: nearest PoPs tried from each node (6): every PoP is a free source,
        so without a DEM the nearest one is always the cheapest; the others matter when
        terrain blocks it.
    """

    microwave_bands: Mapping[str, MicrowaveBand] = field(default_factory=_default_bands)
    demand_mbps_by_technology: Mapping[str, float] = field(default_factory=_default_demand)
    fibre_spur_max_m: float = 1000.0
    fibre_vnd_per_km: float = 120e6
    fibre_capex_vnd: float = 30e6
    fibre_opex_vnd_per_year: float = 12e6
    satellite_capex_vnd: float = 120e6
    satellite_opex_vnd_per_year: float = 150e6
    satellite_capacity_mbps: float = 200.0
    shared_link_capex_vnd: float = 50e6
    shared_link_opex_vnd_per_year: float = 20e6
    max_hops: int = 4
    fresnel_fraction: float = 0.6
    k_factor: float = 4.0 / 3.0
    profile_step_m: float = 30.0
    commune_centre_pops: bool = True
    commune_centre_mast_m: float = 30.0
    relay_existing_towers: bool = True
    pops_per_node: int = 6

    def __post_init__(self) -> None:
        if int(self.max_hops) < 1:
            raise ValueError(f"backhaul max_hops must be ≥ 1, got {self.max_hops}")
        if int(self.pops_per_node) < 1:
            raise ValueError(f"backhaul pops_per_node must be ≥ 1, got {self.pops_per_node}")
        for name in (
            "fibre_spur_max_m",
            "fibre_vnd_per_km",
            "fibre_capex_vnd",
            "fibre_opex_vnd_per_year",
            "satellite_capex_vnd",
            "satellite_opex_vnd_per_year",
            "satellite_capacity_mbps",
            "shared_link_capex_vnd",
            "shared_link_opex_vnd_per_year",
            "fresnel_fraction",
            "commune_centre_mast_m",
        ):
            value = float(getattr(self, name))
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"backhaul {name} must be ≥ 0, got {value!r}")
        if not (self.profile_step_m > 0 and self.k_factor > 0):
            raise ValueError("backhaul profile_step_m and k_factor must be > 0")

    def demand_mbps(self, technology: str) -> float:
        """Backhaul demand of a site of this technology; a missing key is an error."""
        if technology not in self.demand_mbps_by_technology:
            raise ValueError(
                f"backhaul demand_mbps_by_technology has no {technology!r} "
                f"(known: {', '.join(self.demand_mbps_by_technology)})"
            )
        return float(self.demand_mbps_by_technology[technology])


@dataclass(frozen=True, eq=False)
class BackhaulPlan:
    """Result of :func:`plan_backhaul`.

    routes: one row per target, same order and index as the input: ``site_id``,
        ``backhaul`` (fibre/microwave/satellite), ``backhaul_reason``, ``pop_id``,
        ``hops``, ``length_m``, ``capacity_mbps``, ``bands``, ``capex_vnd``,
        ``opex_vnd_per_year``, ``cost_vnd`` (capex + opex_years × opex) and ``path``
        (node ids from the site to the PoP, ``;``-joined).
    links: one LineString per target (site → … → PoP, EPSG:4326) with
        :data:`LINK_COLUMNS`; a satellite link or a link to a PoP on the site itself is
        a zero-length line at the site.
    pops: the fibre PoPs (:data:`POP_COLUMNS`), sorted by ``pop_id``.
    n_los_checked, n_los_blocked, n_los_uncovered: hop × band line-of-sight checks over
        the DEM, how many were blocked, and how many the DEM did not cover (taken as
        clear); all 0 without a DEM.
    """

    routes: pd.DataFrame
    links: gpd.GeoDataFrame
    pops: gpd.GeoDataFrame
    n_los_checked: int
    n_los_blocked: int
    n_los_uncovered: int


# --------------------------------------------------------------------------- geometry


def haversine_m(
    lon1: npt.ArrayLike, lat1: npt.ArrayLike, lon2: npt.ArrayLike, lat2: npt.ArrayLike
) -> npt.NDArray[np.float64]:
    """Great-circle distance in metres between lon/lat degree arrays (EPSG:4326)."""
    p1 = np.radians(np.asarray(lat1, dtype=np.float64))
    p2 = np.radians(np.asarray(lat2, dtype=np.float64))
    dl = np.radians(np.asarray(lon2, dtype=np.float64) - np.asarray(lon1, dtype=np.float64))
    a = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return np.asarray(2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0))))


def pairs_within(
    a_lon: npt.NDArray[np.float64],
    a_lat: npt.NDArray[np.float64],
    b_lon: npt.NDArray[np.float64],
    b_lat: npt.NDArray[np.float64],
    radius_m: float,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """Every (a, b) pair at most ``radius_m`` apart (geodesic): positions and distance.

    A degree-space STRtree ``dwithin`` prefilter (radius widened by 1/cos of the largest
    latitude) finds the candidates; haversine decides. Sorted by (a, distance, b).
    """
    empty = (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float64))
    if len(a_lon) == 0 or len(b_lon) == 0 or not radius_m >= 0:
        return empty
    lat_max = min(89.0, float(np.max(np.abs(np.concatenate([a_lat, b_lat])))) + 1.0)
    deg = radius_m / (EARTH_RADIUS_M * math.pi / 180.0) / math.cos(math.radians(lat_max))
    deg = deg * 1.01 + 1e-9
    tree = shapely.STRtree(shapely.points(b_lon, b_lat))
    ia, ib = tree.query(shapely.points(a_lon, a_lat), predicate="dwithin", distance=deg)
    if len(ia) == 0:
        return empty
    d = haversine_m(a_lon[ia], a_lat[ia], b_lon[ib], b_lat[ib])
    keep = d <= radius_m
    ia, ib, d = ia[keep], ib[keep], d[keep]
    order = np.lexsort((ib, d, ia))
    return ia[order].astype(np.int64), ib[order].astype(np.int64), d[order]


def _xy(gdf: gpd.GeoDataFrame) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    arr = np.asarray(gdf.geometry.array, dtype=object)
    return (
        np.asarray(shapely.get_x(arr), dtype=np.float64),
        np.asarray(shapely.get_y(arr), dtype=np.float64),
    )


# --------------------------------------------------------------------------- nodes


def tower_sites(towers: gpd.GeoDataFrame | None) -> pd.DataFrame:
    """Active tower rows grouped by ``site_id`` (``tower_id`` when empty), sorted:
    ``site_id, lon, lat`` (the first row's, by tower_id), ``height_m`` (largest; 30 m
    when none is given), ``operators`` (tuple, canonical order), ``power`` ("grid" if
    any row has it, else the first given), ``backhaul`` ("fibre" if any row has it,
    else the first given) and ``headroom`` (the optional ``colocation_headroom``
    column: True/False when given on some row — False if any row says so — else None).
    """
    cols = ["site_id", "lon", "lat", "height_m", "operators", "power", "backhaul", "headroom"]
    if towers is None or len(towers) == 0:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in cols})
    t = towers
    if "status" in t.columns:
        status = t["status"].astype(object)
        t = t[(status.isna() | (status == "active")).to_numpy(dtype=bool)]
    arr = np.asarray(t.geometry.array, dtype=object)
    ok = ~shapely.is_missing(arr)
    ok[ok] &= ~shapely.is_empty(arr[ok]) & (shapely.get_type_id(arr[ok]) == 0)
    t = t[ok]
    if len(t) == 0:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in cols})
    lon, lat = _xy(t)

    def text(name: str) -> npt.NDArray[np.object_]:
        if name not in t.columns:
            return np.full(len(t), None, dtype=object)
        col = t[name].astype(object)
        return np.asarray(col.where(col.notna(), None).to_numpy(dtype=object))

    tid = t["tower_id"].astype(str).to_numpy(dtype=object)
    site = text("site_id")
    site = np.where(pd.isna(site), tid, site).astype(str)
    head = text("colocation_headroom")
    flag = np.full(len(t), np.nan)
    for k, h in enumerate(head):
        if h is not None:
            flag[k] = 1.0 if str(h).strip().lower() in ("true", "1", "yes", "có") else 0.0
    ops = t["operator"].astype(str).to_numpy(dtype=object) if "operator" in t.columns else None
    frame = pd.DataFrame(
        {
            "site_id": site,
            "tower_id": tid,
            "lon": lon,
            "lat": lat,
            "height_m": pd.to_numeric(t["height_m"], errors="coerce").to_numpy(dtype=float)
            if "height_m" in t.columns
            else np.nan,
            "power": text("power"),
            "backhaul": text("backhaul"),
            "flag": flag,
        }
    )
    frame["is_grid"] = frame["power"] == "grid"
    frame["is_fibre"] = frame["backhaul"] == "fibre"
    for op in _OPERATORS:
        frame[op] = (ops == op) if ops is not None else False
    frame = frame.sort_values(["site_id", "tower_id"], kind="stable")
    g = frame.groupby("site_id", sort=True)
    out = pd.DataFrame(
        {
            "lon": g["lon"].first(),
            "lat": g["lat"].first(),
            "height_m": g["height_m"].max().fillna(30.0),
            "grid": g["is_grid"].any(),
            "power0": g["power"].first(),
            "fibre": g["is_fibre"].any(),
            "backhaul0": g["backhaul"].first(),
            "flag_min": g["flag"].min(),
            **{op: g[op].any() for op in _OPERATORS},
        }
    )
    operators = [
        tuple(op for op, has in zip(_OPERATORS, flags, strict=True) if has)
        for flags in out[list(_OPERATORS)].to_numpy(dtype=bool)
    ]
    power = np.where(out["grid"].to_numpy(dtype=bool), "grid", out["power0"].to_numpy(dtype=object))
    backhaul = np.where(
        out["fibre"].to_numpy(dtype=bool), "fibre", out["backhaul0"].to_numpy(dtype=object)
    )
    fmin = out["flag_min"].to_numpy(dtype=float)
    result = pd.DataFrame(
        {
            "site_id": out.index.astype(str).to_numpy(dtype=object),
            "lon": out["lon"].to_numpy(dtype=float),
            "lat": out["lat"].to_numpy(dtype=float),
            "height_m": out["height_m"].to_numpy(dtype=float),
            "operators": pd.Series(operators, dtype=object).to_numpy(dtype=object),
            "power": pd.Series(power, dtype=object).where(pd.notna(power), None).to_numpy(),
            "backhaul": pd.Series(backhaul, dtype=object)
            .where(pd.notna(backhaul), None)
            .to_numpy(),
            "headroom": np.array(
                [None if np.isnan(f) else bool(f >= 1.0) for f in fmin], dtype=object
            ),
        }
    )
    return result.reset_index(drop=True)


def fibre_points_of_presence(
    towers: gpd.GeoDataFrame | None,
    villages: gpd.GeoDataFrame | None,
    settings: BackhaulSettings,
) -> gpd.GeoDataFrame:
    """Fibre PoPs: active tower sites with fibre backhaul (``pop_id`` = ``site_id``,
    ``pop_kind`` "tower") and, with ``commune_centre_pops``, each commune's most
    populous electrified covered village (``pop_id`` ``commune:<commune_code>``, ``pop_kind``
    "commune_centre", height ``commune_centre_mast_m``). EPSG:4326, sorted by pop_id."""
    return _pops(tower_sites(towers), villages, settings)


def _pops(
    sites: pd.DataFrame, villages: gpd.GeoDataFrame | None, settings: BackhaulSettings
) -> gpd.GeoDataFrame:
    fibre = sites[sites["backhaul"] == "fibre"]
    frames = [
        pd.DataFrame(
            {
                "pop_id": fibre["site_id"].astype(str).to_numpy(),
                "pop_kind": "tower",
                "height_m": fibre["height_m"].astype(float).to_numpy(),
                "lon": fibre["lon"].astype(float).to_numpy(),
                "lat": fibre["lat"].astype(float).to_numpy(),
            }
        )
    ]
    if settings.commune_centre_pops and villages is not None and len(villages):
        need = {"commune_code", "population", "electrified", "village_id"}
        if need <= set(villages.columns):
            keep = villages["commune_code"].notna() & villages["electrified"].astype(bool)
            if "group" in villages.columns:
                keep &= villages["group"] == "covered"
            v = villages[keep]
            arr = np.asarray(v.geometry.array, dtype=object)
            ok = ~shapely.is_missing(arr)
            ok[ok] &= ~shapely.is_empty(arr[ok]) & (shapely.get_type_id(arr[ok]) == 0)
            v = v[ok]
            if len(v):
                lon, lat = _xy(v)
                cand = pd.DataFrame(
                    {
                        "commune_code": v["commune_code"].astype(str).to_numpy(),
                        "village_id": v["village_id"].astype(str).to_numpy(),
                        "population": pd.to_numeric(v["population"], errors="coerce")
                        .fillna(0)
                        .to_numpy(dtype=np.int64),
                        "lon": lon,
                        "lat": lat,
                    }
                )
                cand = cand.sort_values(
                    ["commune_code", "population", "village_id"],
                    ascending=[True, False, True],
                    kind="stable",
                ).drop_duplicates("commune_code")
                frames.append(
                    pd.DataFrame(
                        {
                            "pop_id": ("commune:" + cand["commune_code"]).to_numpy(),
                            "pop_kind": "commune_centre",
                            "height_m": float(settings.commune_centre_mast_m),
                            "lon": cand["lon"].to_numpy(),
                            "lat": cand["lat"].to_numpy(),
                        }
                    )
                )
    pops = pd.concat(frames, ignore_index=True).sort_values("pop_id", kind="stable")
    pops = pops.reset_index(drop=True)
    return gpd.GeoDataFrame(
        {c: pops[c].to_numpy() for c in POP_COLUMNS},
        geometry=gpd.points_from_xy(pops["lon"], pops["lat"]),
        crs="EPSG:4326",
    )


# --------------------------------------------------------------------------- line of sight


def _los_clear(
    dem: Any,
    a_lon: npt.NDArray[np.float64],
    a_lat: npt.NDArray[np.float64],
    h_a: npt.NDArray[np.float64],
    b_lon: npt.NDArray[np.float64],
    b_lat: npt.NDArray[np.float64],
    h_b: npt.NDArray[np.float64],
    freqs_mhz: list[float],
    settings: BackhaulSettings,
    tile_deg: float = 0.25,
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """Per hop and band: Fresnel clearance over the DEM → ``(clear[n, n_bands],
    covered[n])``. Hops grouped by the first end's ``tile_deg`` tile so each profile
    batch reads a small raster window; an uncovered hop counts as clear."""
    from .terrain import line_of_sight, sample_profiles

    n = a_lon.size
    clear = np.ones((n, len(freqs_mhz)), dtype=np.bool_)
    covered = np.zeros(n, dtype=np.bool_)
    if n == 0:
        return clear, covered
    west, south, east, north = dem.bounds_lonlat
    on = (
        (a_lon >= west) & (a_lon <= east) & (b_lon >= west) & (b_lon <= east)
        & (a_lat >= south) & (a_lat <= north) & (b_lat >= south) & (b_lat <= north)
    )  # fmt: skip
    idx = np.flatnonzero(on)
    if idx.size == 0:
        return clear, covered
    tx = np.floor(a_lon[idx] / tile_deg).astype(np.int64)
    ty = np.floor(a_lat[idx] / tile_deg).astype(np.int64)
    order = np.lexsort((idx, ty, tx))
    keys = np.stack([tx[order], ty[order]], axis=1)
    cuts = np.flatnonzero(np.any(keys[1:] != keys[:-1], axis=1)) + 1
    for part in np.split(idx[order], cuts):
        prof = sample_profiles(
            dem,
            a_lon[part],
            a_lat[part],
            b_lon[part],
            b_lat[part],
            step_m=settings.profile_step_m,
        )
        use = prof.covered
        if not use.any():
            continue
        sel = part[use]
        covered[sel] = True
        for j, f in enumerate(freqs_mhz):
            clear[sel, j] = line_of_sight(
                prof.pfl[use],
                h_a[sel],
                h_b[sel],
                k_factor=settings.k_factor,
                fresnel_fraction=settings.fresnel_fraction,
                freq_mhz=np.full(sel.size, f),
            )
    return clear, covered


# --------------------------------------------------------------------------- planning


@dataclass(frozen=True)
class _Edge:
    cost: int
    kind: str  # "fibre" or "microwave"
    band: str  # band name, "" for fibre
    length_m: float
    capacity_mbps: float
    capex_vnd: float
    opex_vnd_per_year: float


@dataclass(frozen=True)
class _Edges:
    """Candidate links a → b with their cheapest option (arrays, one entry per link)."""

    a: npt.NDArray[np.int64]
    b: npt.NDArray[np.int64]
    cost: npt.NDArray[np.int64]
    band: npt.NDArray[np.int64]  # index in the band list; -1: fibre spur
    length_m: npt.NDArray[np.float64]
    names: tuple[str, ...]
    capacity: tuple[float, ...]
    capex: tuple[float, ...]
    opex: tuple[float, ...]
    fibre_capex: npt.NDArray[np.float64]

    def edge(self, k: int) -> _Edge:
        j = int(self.band[k])
        if j < 0:
            return _Edge(
                int(self.cost[k]),
                "fibre",
                "",
                float(self.length_m[k]),
                FIBRE_CAPACITY_MBPS,
                float(self.fibre_capex[k]),
                float(self.opex[-1]),
            )
        return _Edge(
            int(self.cost[k]),
            "microwave",
            self.names[j],
            float(self.length_m[k]),
            self.capacity[j],
            self.capex[j],
            self.opex[j],
        )


@dataclass
class _LosCounter:
    checked: int = 0
    blocked: int = 0
    uncovered: int = 0


def _hop_edges(
    a_lon: npt.NDArray[np.float64],
    a_lat: npt.NDArray[np.float64],
    a_h: npt.NDArray[np.float64],
    b_lon: npt.NDArray[np.float64],
    b_lat: npt.NDArray[np.float64],
    b_h: npt.NDArray[np.float64],
    radius_m: float,
    *,
    to_pop: bool,
    nearest_only: int | None,
    bands: list[tuple[str, MicrowaveBand]],
    settings: BackhaulSettings,
    opex_years: int,
    dem: Any,
    los: _LosCounter,
) -> _Edges:
    """Links a → b within ``radius_m`` with their cheapest option (a fibre spur to a PoP
    within ``fibre_spur_max_m``; a microwave band whose longest hop covers the distance
    and, over a DEM, whose Fresnel clearance holds); with ``nearest_only`` k, only each
    a's k nearest b. Two points closer than :data:`SAME_PLACE_M` get no microwave hop."""
    ia, ib, d = pairs_within(a_lon, a_lat, b_lon, b_lat, radius_m)
    if nearest_only is not None and ia.size:
        rank = np.arange(ia.size) - np.searchsorted(ia, ia, side="left")
        keep = rank < nearest_only
        ia, ib, d = ia[keep], ib[keep], d[keep]
    nb = len(bands)
    clear = np.ones((ia.size, nb), dtype=np.bool_)
    hop = d >= SAME_PLACE_M
    if dem is not None and ia.size and nb:
        h_idx = np.flatnonzero(hop)
        c, cov = _los_clear(
            dem,
            a_lon[ia[h_idx]],
            a_lat[ia[h_idx]],
            a_h[ia[h_idx]],
            b_lon[ib[h_idx]],
            b_lat[ib[h_idx]],
            b_h[ib[h_idx]],
            [b.frequency_ghz * 1000.0 for _, b in bands],
            settings,
        )
        clear[h_idx] = c
        los.checked += int(h_idx.size) * nb
        los.blocked += int((~c[cov]).sum())
        los.uncovered += int((~cov).sum()) * nb
    big = np.iinfo(np.int64).max
    best = np.full(ia.size, big, dtype=np.int64)
    band = np.full(ia.size, -2, dtype=np.int64)
    fibre_capex = settings.fibre_capex_vnd + settings.fibre_vnd_per_km * d / 1000.0
    if to_pop:
        ok = d <= settings.fibre_spur_max_m
        cost = np.round(fibre_capex + opex_years * settings.fibre_opex_vnd_per_year)
        best = np.where(ok, cost.astype(np.int64), best)
        band = np.where(ok, -1, band)
    for j, (_, b) in enumerate(bands):
        ok = hop & (d <= b.max_hop_km * 1000.0) & clear[:, j]
        cost_j = round(b.capex_vnd + opex_years * b.opex_vnd_per_year)
        better = ok & (cost_j < best)
        best = np.where(better, cost_j, best)
        band = np.where(better, j, band)
    keep = band > -2
    return _Edges(
        a=ia[keep].astype(np.int64),
        b=ib[keep].astype(np.int64),
        cost=best[keep],
        band=band[keep],
        length_m=d[keep],
        names=tuple(n for n, _ in bands),
        capacity=tuple(float(b.capacity_mbps) for _, b in bands),
        capex=tuple(float(b.capex_vnd) for _, b in bands),
        opex=(*(float(b.opex_vnd_per_year) for _, b in bands), settings.fibre_opex_vnd_per_year),
        fibre_capex=fibre_capex[keep],
    )


def _empty_links() -> gpd.GeoDataFrame:
    frame = pd.DataFrame({c: pd.Series(dtype="object") for c in LINK_COLUMNS})
    for c in ("length_m", "capacity_mbps", "capex_vnd", "opex_vnd_per_year"):
        frame[c] = pd.Series(dtype="float64")
    frame["hops"] = pd.Series(dtype="int64")
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries([], crs="EPSG:4326"), crs="EPSG:4326")


def _fmt_vnd(amount: float) -> str:
    return f"{amount / 1e6:,.0f} M VND"


def plan_backhaul(
    sites: gpd.GeoDataFrame,
    towers: gpd.GeoDataFrame | None,
    villages: gpd.GeoDataFrame | None,
    settings: BackhaulSettings,
    *,
    opex_years: int,
    dem: Any = None,
) -> BackhaulPlan:
    """Cheapest backhaul of each site: fibre, microwave path to a fibre PoP, or LEO/VSAT.

    sites: EPSG:4326 points with ``site_id`` (unique), ``height_m`` (antenna height for
        the hops, m) and ``technology`` (its backhaul demand); optional
        ``host_site_id``/``host_backhaul`` when mounted on an existing tower.
    towers: the existing towers (canonical form; PoPs and relays), or None.
    villages: for commune-centre PoPs (``village_id``, ``commune_code``,
        ``population``, ``electrified``), or None.
    opex_years: years of opex in the life-cycle cost that ranks the options.
    dem: a :class:`covgap.terrain.Dem` for line-of-sight checks, or None.

    See the module docstring for the graph; the result is deterministic (nodes and
    edges are added in sorted order and costs are whole VND).
    """
    if not isinstance(sites, gpd.GeoDataFrame):
        raise SchemaError("backhaul: sites must be a GeoDataFrame (EPSG:4326 points)")
    missing = [c for c in ("site_id", "height_m", "technology") if c not in sites.columns]
    if missing:
        raise SchemaError(f"backhaul: sites lack column(s) {', '.join(missing)}", column=missing[0])
    if sites.crs is not None and sites.crs.to_epsg() != 4326:
        raise SchemaError(f"backhaul: sites must be EPSG:4326, got {sites.crs}")
    years = int(opex_years)
    t_sites = tower_sites(towers)
    pops = _pops(t_sites, villages, settings)
    relays = (
        t_sites[t_sites["backhaul"] != "fibre"].reset_index(drop=True)
        if settings.relay_existing_towers
        else t_sites.iloc[0:0]
    )
    s_lon, s_lat = _xy(sites) if len(sites) else (np.zeros(0), np.zeros(0))
    s_h = pd.to_numeric(sites["height_m"], errors="coerce").to_numpy(dtype=float)
    p_lon, p_lat = _xy(pops) if len(pops) else (np.zeros(0), np.zeros(0))
    p_h = pops["height_m"].to_numpy(dtype=float)
    r_lon = relays["lon"].to_numpy(dtype=float)
    r_lat = relays["lat"].to_numpy(dtype=float)
    r_h = relays["height_m"].to_numpy(dtype=float)
    pop_ids = pops["pop_id"].astype(str).to_numpy()
    relay_ids = relays["site_id"].astype(str).to_numpy()
    site_ids = sites["site_id"].astype(str).to_numpy()
    techs = sites["technology"].astype(str).to_numpy()
    host_id = (
        sites["host_site_id"].astype(object).to_numpy()
        if "host_site_id" in sites.columns
        else np.full(len(sites), None, dtype=object)
    )
    host_bh = (
        sites["host_backhaul"].astype(object).to_numpy()
        if "host_backhaul" in sites.columns
        else np.full(len(sites), None, dtype=object)
    )
    sat_capex = float(settings.satellite_capex_vnd)
    sat_opex = float(settings.satellite_opex_vnd_per_year)
    sat_cost = round(sat_capex + years * sat_opex)
    share_capex = float(settings.shared_link_capex_vnd)
    share_opex = float(settings.shared_link_opex_vnd_per_year)
    share_cost = round(share_capex + years * share_opex)
    los = _LosCounter()
    max_hops = int(settings.max_hops)

    n = len(sites)
    result: list[dict[str, Any]] = [{} for _ in range(n)]
    geoms: list[LineString] = [LineString() for _ in range(n)]
    demands = np.array([settings.demand_mbps(t) for t in techs], dtype=float)
    for demand in sorted(set(demands.tolist())):
        idx = np.flatnonzero(demands == demand)
        bands = sorted(
            (
                (name, b)
                for name, b in settings.microwave_bands.items()
                if b.capacity_mbps >= demand
            ),
            key=lambda nb: (nb[1].max_hop_km, nb[0]),
        )
        reach = max([b.max_hop_km * 1000.0 for _, b in bands] + [0.0])
        pop_reach = max(reach, float(settings.fibre_spur_max_m))
        common = {
            "bands": bands,
            "settings": settings,
            "opex_years": years,
            "dem": dem,
            "los": los,
        }
        sl, sa, sh = s_lon[idx], s_lat[idx], s_h[idx]
        site_pop = _hop_edges(
            sl, sa, sh, p_lon, p_lat, p_h, pop_reach,
            to_pop=True, nearest_only=int(settings.pops_per_node), **common,
        )  # fmt: skip
        lists: list[_Edges] = [site_pop]
        # layered digraph: PoP → relay@1 → … → relay@(max_hops-1) → site; edges point
        # into sites only, so no site relays another
        edges: list[tuple[Any, Any, int, tuple[int, int]]] = [
            (("pop", int(p)), ("site", int(idx[s])), int(c), (0, k))
            for k, (s, p, c) in enumerate(zip(site_pop.a, site_pop.b, site_pop.cost, strict=True))
        ]
        if max_hops >= 2 and len(relays) and bands:
            site_relay = _hop_edges(
                sl, sa, sh, r_lon, r_lat, r_h, reach, to_pop=False, nearest_only=None, **common
            )
            used = sorted(set(site_relay.b.tolist()))
            if used:
                # relays that reach a site; then, for longer chains, relays that reach
                # those (at most max_hops - 1 relays on a path)
                active = set(used)
                frontier = list(used)
                for _ in range(max_hops - 2):
                    if not frontier:
                        break
                    f = np.asarray(frontier, dtype=np.int64)
                    _, ib, _ = pairs_within(r_lon[f], r_lat[f], r_lon, r_lat, reach)
                    new = sorted(set(ib.tolist()) - active)
                    active.update(new)
                    frontier = new
                act = np.asarray(sorted(active), dtype=np.int64)
                relay_pop = _hop_edges(
                    r_lon[act], r_lat[act], r_h[act], p_lon, p_lat, p_h, pop_reach,
                    to_pop=True, nearest_only=int(settings.pops_per_node), **common,
                )  # fmt: skip
                lists += [site_relay, relay_pop]
                for k, (s, r, c) in enumerate(
                    zip(site_relay.a, site_relay.b, site_relay.cost, strict=True)
                ):
                    for h in range(1, max_hops):
                        edges.append((("relay", int(r), h), ("site", int(idx[s])), int(c), (1, k)))
                for k, (r, p, c) in enumerate(
                    zip(relay_pop.a, relay_pop.b, relay_pop.cost, strict=True)
                ):
                    edges.append((("pop", int(p)), ("relay", int(act[r]), 1), int(c), (2, k)))
                if max_hops >= 3:
                    relay_relay = _hop_edges(
                        r_lon[act], r_lat[act], r_h[act], r_lon[act], r_lat[act], r_h[act],
                        reach, to_pop=False, nearest_only=None, **common,
                    )  # fmt: skip
                    lists.append(relay_relay)
                    for k, (a, b, c) in enumerate(
                        zip(relay_relay.a, relay_relay.b, relay_relay.cost, strict=True)
                    ):
                        if a == b:
                            continue
                        for h in range(1, max_hops - 1):
                            edges.append(
                                (("relay", int(act[b]), h), ("relay", int(act[a]), h + 1), int(c),
                                 (3, k))
                            )  # fmt: skip
        graph = nx.DiGraph()
        graph.add_edges_from((u, v, {"weight": c, "e": e}) for u, v, c, e in edges)
        sources = sorted({u for u, _, _, _ in edges if u[0] == "pop"})
        dist: dict[Any, float] = {}
        paths: dict[Any, list[Any]] = {}
        if sources:
            dist, paths = nx.multi_source_dijkstra(graph, sources, weight="weight")
        for i in idx.tolist():
            node = ("site", i)
            here = (float(s_lon[i]), float(s_lat[i]))
            options: list[tuple[int, int, dict[str, Any], LineString]] = []
            if node in dist:
                path = paths[node]
                hops = []
                for u, v in itertools.pairwise(path):
                    which, k = graph.edges[u, v]["e"]
                    hops.append(lists[which].edge(k))
                coords = [here]
                names = [site_ids[i]]
                for u in reversed(path[:-1]):
                    if u[0] == "pop":
                        coords.append((float(p_lon[u[1]]), float(p_lat[u[1]])))
                        names.append(str(pop_ids[u[1]]))
                    else:
                        coords.append((float(r_lon[u[1]]), float(r_lat[u[1]])))
                        names.append(f"relay:{relay_ids[u[1]]}")
                kinds = {e.kind for e in hops}
                kind = "fibre" if kinds == {"fibre"} else "microwave"
                length = float(sum(e.length_m for e in hops))
                band_names = [e.band for e in reversed(hops) if e.band]
                pop = str(pop_ids[path[0][1]])
                if kind == "fibre":
                    reason = (
                        f"fibre: on fibre PoP {pop}"
                        if length < SAME_PLACE_M
                        else f"fibre spur {length:.0f} m to fibre PoP {pop}"
                    )
                else:
                    reason = (
                        f"microwave: {len(hops)} hop(s) ({', '.join(band_names)}), "
                        f"{length / 1000:.1f} km to fibre PoP {pop}"
                    )
                options.append(
                    (
                        int(dist[node]),
                        0,
                        {
                            "backhaul": kind,
                            "backhaul_reason": reason,
                            "pop_id": pop,
                            "hops": sum(1 for e in hops if e.length_m >= SAME_PLACE_M),
                            "length_m": length,
                            "capacity_mbps": float(min(e.capacity_mbps for e in hops)),
                            "bands": ";".join(band_names),
                            "capex_vnd": float(sum(e.capex_vnd for e in hops)),
                            "opex_vnd_per_year": float(sum(e.opex_vnd_per_year for e in hops)),
                            "path": ";".join(names),
                        },
                        LineString(coords if len(coords) > 1 else [here, here]),
                    )
                )
            hb = host_bh[i]
            if isinstance(hb, str) and hb in ("microwave", "satellite"):
                options.append(
                    (
                        share_cost,
                        1,
                        {
                            "backhaul": hb,
                            "backhaul_reason": (
                                f"shares the existing {hb} link of host site {host_id[i]}"
                            ),
                            "pop_id": None,
                            "hops": 0,
                            "length_m": 0.0,
                            "capacity_mbps": math.nan,
                            "bands": "",
                            "capex_vnd": share_capex,
                            "opex_vnd_per_year": share_opex,
                            "path": site_ids[i],
                        },
                        LineString([here, here]),
                    )
                )
            terrestrial = min(options, key=lambda o: (o[0], o[1])) if options else None
            sat = {
                "backhaul": "satellite",
                "pop_id": None,
                "hops": 0,
                "length_m": 0.0,
                "capacity_mbps": float(settings.satellite_capacity_mbps),
                "bands": "",
                "capex_vnd": sat_capex,
                "opex_vnd_per_year": sat_opex,
                "path": site_ids[i],
            }
            if terrestrial is None:
                sat["backhaul_reason"] = (
                    f"LEO/VSAT: no terrestrial path to fibre within {max_hops} hop(s)"
                    + (
                        f" (demand {demand:g} Mbit/s exceeds the satellite's "
                        f"{settings.satellite_capacity_mbps:g})"
                        if demand > settings.satellite_capacity_mbps
                        else ""
                    )
                )
                chosen, geom = sat, LineString([here, here])
            elif sat_cost < terrestrial[0] and demand <= settings.satellite_capacity_mbps:
                sat["backhaul_reason"] = (
                    f"LEO/VSAT: {_fmt_vnd(sat_cost)} over {years} years, cheaper than "
                    f"{terrestrial[2]['backhaul']} ({_fmt_vnd(terrestrial[0])})"
                )
                chosen, geom = sat, LineString([here, here])
            else:
                chosen, geom = terrestrial[2], terrestrial[3]
            chosen["cost_vnd"] = float(chosen["capex_vnd"]) + years * float(
                chosen["opex_vnd_per_year"]
            )
            result[i] = chosen
            geoms[i] = geom
    routes = pd.DataFrame(result, index=sites.index)
    if n:
        routes.insert(0, "site_id", site_ids)
        routes["hops"] = routes["hops"].astype("int64")
    else:
        routes = pd.DataFrame(
            columns=[
                "site_id",
                "backhaul",
                "backhaul_reason",
                "pop_id",
                "hops",
                "length_m",
                "capacity_mbps",
                "bands",
                "capex_vnd",
                "opex_vnd_per_year",
                "path",
                "cost_vnd",
            ]
        )
    if n:
        links = gpd.GeoDataFrame(
            {
                "site_id": site_ids,
                "kind": routes["backhaul"].to_numpy(dtype=object),
                "length_m": routes["length_m"].to_numpy(dtype=float),
                "hops": routes["hops"].to_numpy(dtype=np.int64),
                "capacity_mbps": routes["capacity_mbps"].to_numpy(dtype=float),
                "bands": routes["bands"].to_numpy(dtype=object),
                "pop_id": routes["pop_id"].to_numpy(dtype=object),
                "capex_vnd": routes["capex_vnd"].to_numpy(dtype=float),
                "opex_vnd_per_year": routes["opex_vnd_per_year"].to_numpy(dtype=float),
            },
            geometry=gpd.GeoSeries(geoms, crs="EPSG:4326"),
            crs="EPSG:4326",
        )
    else:
        links = _empty_links()
    return BackhaulPlan(
        routes=routes,
        links=links,
        pops=pops,
        n_los_checked=los.checked,
        n_los_blocked=los.blocked,
        n_los_uncovered=los.uncovered,
    )
