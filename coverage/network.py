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
networkx's multi-source Dijkstra from the PoPs. Only the part of that graph that can carry
a cheapest path is built (:func:`_relay_links`: cost bounds walked back from the sites),
so a national plan does not pair every relay with every relay and PoP within reach; the
paths, ties included, are those of the whole graph. **LEO/VSAT** replaces it when no path
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
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
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
    "nearest_within",
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


#: Points of ``a`` queried at once by :func:`pairs_within` (bounds its working memory).
PAIRS_CHUNK = 8192


def _dwithin_degrees(lat_max_abs: float, radius_m: float) -> float:
    """A degree-space radius that contains every point within ``radius_m`` (geodesic)
    of a point at latitudes up to ``lat_max_abs`` + 1° (widened by 1/cos latitude, + 1 %)."""
    lat_max = min(89.0, lat_max_abs + 1.0)
    deg = radius_m / (EARTH_RADIUS_M * math.pi / 180.0) / math.cos(math.radians(lat_max))
    return deg * 1.01 + 1e-9


class _PointIndex:
    """An STRtree over points ``b`` (lon/lat degrees) for geodesic radius queries."""

    def __init__(self, b_lon: npt.ArrayLike, b_lat: npt.ArrayLike) -> None:
        self.lon = np.asarray(b_lon, dtype=np.float64)
        self.lat = np.asarray(b_lat, dtype=np.float64)
        self.lat_max = float(np.max(np.abs(self.lat))) if self.lat.size else 0.0
        self.tree = shapely.STRtree(shapely.points(self.lon, self.lat)) if self.lon.size else None

    def blocks(
        self,
        a_lon: npt.ArrayLike,
        a_lat: npt.ArrayLike,
        radius_m: float,
        chunk: int = PAIRS_CHUNK,
    ) -> Iterator[tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64]]]:
        """Pairs (a, b) at most ``radius_m`` apart (haversine decides after a degree-space
        ``dwithin`` prefilter), ``chunk`` points of ``a`` at a time; each block sorted by
        (a, distance, b), blocks in increasing a."""
        a_lon = np.asarray(a_lon, dtype=np.float64)
        a_lat = np.asarray(a_lat, dtype=np.float64)
        if self.tree is None or a_lon.size == 0 or not radius_m >= 0:
            return
        deg = _dwithin_degrees(max(self.lat_max, float(np.max(np.abs(a_lat)))), radius_m)
        step = max(1, int(chunk))
        for start in range(0, a_lon.size, step):
            stop = min(a_lon.size, start + step)
            pts = shapely.points(a_lon[start:stop], a_lat[start:stop])
            ia, ib = self.tree.query(pts, predicate="dwithin", distance=deg)
            if len(ia) == 0:
                continue
            ia = ia.astype(np.int64) + start
            ib = ib.astype(np.int64)
            d = haversine_m(a_lon[ia], a_lat[ia], self.lon[ib], self.lat[ib])
            keep = d <= radius_m
            ia, ib, d = ia[keep], ib[keep], d[keep]
            order = np.lexsort((ib, d, ia))
            yield ia[order], ib[order], d[order]

    def pairs(
        self, a_lon: npt.ArrayLike, a_lat: npt.ArrayLike, radius_m: float, chunk: int = PAIRS_CHUNK
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64]]:
        """All blocks of :meth:`blocks` joined: sorted by (a, distance, b)."""
        parts = list(self.blocks(a_lon, a_lat, radius_m, chunk))
        if not parts:
            return (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float64))
        if len(parts) == 1:
            return parts[0]
        ia, ib, d = (np.concatenate(x) for x in zip(*parts, strict=True))
        return ia, ib, d

    def nearest_k(
        self, a_lon: npt.ArrayLike, a_lat: npt.ArrayLike, radius_m: float, k: int
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64]]:
        """The first ``k`` pairs of each ``a`` in :meth:`pairs` (its ``k`` nearest ``b``
        within ``radius_m``; ties: smallest position in ``b``), sorted the same way.

        Searched in growing radii from a guess (twice the distance holding ``k`` points
        at the mean density of ``b``), so dense ``b`` never yields all pairs within
        ``radius_m``: a point with ``k`` pairs inside a smaller radius has its ``k``
        nearest among them, since every point outside is farther."""
        a_lon = np.asarray(a_lon, dtype=np.float64)
        a_lat = np.asarray(a_lat, dtype=np.float64)
        empty = (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float64))
        if self.tree is None or a_lon.size == 0 or k < 1 or not radius_m >= 0:
            return empty
        m_per_deg = EARTH_RADIUS_M * math.pi / 180.0
        mid_lat = math.radians(float(self.lat.min() + self.lat.max()) / 2.0)
        width_m = float(self.lon.max() - self.lon.min()) * m_per_deg * math.cos(mid_lat)
        height_m = float(self.lat.max() - self.lat.min()) * m_per_deg
        area_m2 = max(width_m, 1e3) * max(height_m, 1e3)
        guess = 2.0 * math.sqrt(k * area_m2 / (math.pi * self.lon.size))
        r = min(float(radius_m), max(guess, 1.0))
        todo = np.arange(a_lon.size, dtype=np.int64)
        found: list[tuple[npt.NDArray[np.int64], ...]] = []
        dists: list[npt.NDArray[np.float64]] = []
        while todo.size:
            ia, ib, d = self.pairs(a_lon[todo], a_lat[todo], r)
            counts = np.bincount(ia, minlength=todo.size)
            done = (counts >= k) | (r >= radius_m) | (r >= math.pi * EARTH_RADIUS_M)
            rank = np.arange(ia.size) - np.searchsorted(ia, ia, side="left")
            keep = done[ia] & (rank < k)
            found.append((todo[ia[keep]], ib[keep]))
            dists.append(d[keep])
            todo = todo[~done]
            r = min(float(radius_m), r * 2.0)
        if not found:
            return empty
        ia = np.concatenate([f[0] for f in found])
        ib = np.concatenate([f[1] for f in found])
        d = np.concatenate(dists)
        order = np.lexsort((ib, d, ia))
        return ia[order], ib[order], d[order]


def pairs_within(
    a_lon: npt.NDArray[np.float64],
    a_lat: npt.NDArray[np.float64],
    b_lon: npt.NDArray[np.float64],
    b_lat: npt.NDArray[np.float64],
    radius_m: float,
    *,
    chunk: int = PAIRS_CHUNK,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """Every (a, b) pair at most ``radius_m`` apart (geodesic): positions and distance.

    A degree-space STRtree ``dwithin`` prefilter (radius widened by 1/cos of the largest
    latitude) finds the candidates; haversine decides. Sorted by (a, distance, b). The
    points of ``a`` are queried ``chunk`` at a time, so the working memory is that of
    the result, not of the prefilter's candidates.
    """
    return _PointIndex(b_lon, b_lat).pairs(a_lon, a_lat, radius_m, chunk)


def nearest_within(
    a_lon: npt.NDArray[np.float64],
    a_lat: npt.NDArray[np.float64],
    b_lon: npt.NDArray[np.float64],
    b_lat: npt.NDArray[np.float64],
    radius_m: float,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """For each point of ``a``, the nearest point of ``b`` at most ``radius_m`` away
    (geodesic; ties: smallest position in ``b``) and its distance in metres; −1 and NaN
    where there is none: the first pair of each ``a`` in :func:`pairs_within`, found
    without holding all pairs (growing radii, as :meth:`_PointIndex.nearest_k`)."""
    n = len(a_lon)
    best = np.full(n, -1, dtype=np.int64)
    dist = np.full(n, np.nan, dtype=np.float64)
    ia, ib, d = _PointIndex(b_lon, b_lat).nearest_k(a_lon, a_lat, radius_m, 1)
    best[ia] = ib
    dist[ia] = d
    return best, dist


def _xy(gdf: gpd.GeoDataFrame) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    arr = np.asarray(gdf.geometry.array, dtype=object)
    return (
        np.asarray(shapely.get_x(arr), dtype=np.float64),
        np.asarray(shapely.get_y(arr), dtype=np.float64),
    )


# --------------------------------------------------------------------------- nodes


def _first_given(
    values: pd.Series, order: npt.NDArray[np.int64], starts: npt.NDArray[np.int64]
) -> npt.NDArray[np.object_]:
    """Per group (rows ``order``, groups starting at ``starts``): the first non-missing
    value as ``str``, or None — what ``groupby(...).first()`` gives."""
    given = values.notna().to_numpy(dtype=bool)[order]
    n = order.size
    pos = np.where(given, np.arange(n), n)
    first = np.minimum.reduceat(pos, starts) if n else np.zeros(0, dtype=np.int64)
    out = np.full(starts.size, None, dtype=object)
    has = first < n
    if has.any():
        text = values.iloc[order[first[has]]].astype(str).to_numpy(dtype=object)
        out[has] = text
    return out


def tower_sites(towers: gpd.GeoDataFrame | None) -> pd.DataFrame:
    """Active tower rows grouped by ``site_id`` (``tower_id`` when empty), sorted:
    ``site_id, lon, lat`` (the first row's, by tower_id), ``height_m`` (largest; 30 m
    when none is given), ``operators`` (tuple, canonical order), ``power`` ("grid" if
    any row has it, else the first given) and ``backhaul`` ("fibre" if any row has it,
    else the first given) and ``headroom`` (the optional ``colocation_headroom``
    column: True/False when given on some row — False if any row says so — else None).
    Vectorised over the rows (one sort, reductions per group).
    """
    cols = ["site_id", "lon", "lat", "height_m", "operators", "power", "backhaul", "headroom"]
    if towers is None or len(towers) == 0:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in cols})
    t = towers
    if "status" in t.columns:
        status = t["status"]
        t = t[(status.isna() | (status == "active")).to_numpy(dtype=bool)]
    arr = np.asarray(t.geometry.array, dtype=object)
    ok = ~shapely.is_missing(arr)
    ok[ok] &= ~shapely.is_empty(arr[ok]) & (shapely.get_type_id(arr[ok]) == 0)
    t = t[ok]
    if len(t) == 0:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in cols})
    lon, lat = _xy(t)
    tid = t["tower_id"].astype(str).reset_index(drop=True)
    if "site_id" in t.columns:
        raw = t["site_id"].reset_index(drop=True)
        site = raw.astype(str).where(raw.notna(), tid)
    else:
        site = tid
    site_code, site_names = pd.factorize(site, sort=True)
    tid_code, _ = pd.factorize(tid, sort=True)
    order = np.lexsort((tid_code, site_code))
    code_sorted = site_code[order]
    starts = np.flatnonzero(np.r_[True, code_sorted[1:] != code_sorted[:-1]])
    first = order[starts]

    def column(name: str) -> pd.Series:
        if name not in t.columns:
            return pd.Series(np.full(len(t), None, dtype=object))
        return t[name].reset_index(drop=True)

    def any_by_site(flags: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
        return np.asarray(np.logical_or.reduceat(flags[order], starts), dtype=np.bool_)

    height = (
        pd.to_numeric(t["height_m"], errors="coerce").to_numpy(dtype=float)
        if "height_m" in t.columns
        else np.full(len(t), np.nan)
    )
    h_sorted = np.where(np.isnan(height), -np.inf, height)[order]
    h_max = np.maximum.reduceat(h_sorted, starts)
    h_max = np.where(np.isneginf(h_max), 30.0, h_max)
    power, backhaul = column("power"), column("backhaul")
    grid = any_by_site((power == "grid").fillna(False).to_numpy(dtype=bool))
    fibre = any_by_site((backhaul == "fibre").fillna(False).to_numpy(dtype=bool))
    power_out = np.where(grid, "grid", _first_given(power, order, starts)).astype(object)
    backhaul_out = np.where(fibre, "fibre", _first_given(backhaul, order, starts)).astype(object)
    head = column("colocation_headroom")
    given = head.notna().to_numpy(dtype=bool)
    yes = np.zeros(len(t), dtype=np.bool_)
    if given.any():
        text = head[given].astype(str).str.strip().str.lower()
        yes[given] = text.isin(["true", "1", "yes", "có"]).to_numpy(dtype=bool)
    any_given = any_by_site(given)
    any_no = any_by_site(given & ~yes)
    headroom = np.full(starts.size, None, dtype=object)
    headroom[any_given] = ~any_no[any_given]
    ops = column("operator")
    mask = np.zeros(starts.size, dtype=np.int64)
    for k, op in enumerate(_OPERATORS):
        mask |= any_by_site((ops == op).fillna(False).to_numpy(dtype=bool)).astype(np.int64) << k
    combos = np.empty(1 << len(_OPERATORS), dtype=object)
    combos[:] = [
        tuple(op for k, op in enumerate(_OPERATORS) if m >> k & 1) for m in range(combos.size)
    ]
    result = pd.DataFrame(
        {
            "site_id": np.asarray(site_names, dtype=object)[code_sorted[starts]],
            "lon": lon[first],
            "lat": lat[first],
            "height_m": h_max,
            "operators": combos[mask],
            "power": power_out,
            "backhaul": backhaul_out,
            "headroom": headroom,
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

    def take(self, keep: npt.NDArray[np.bool_] | npt.NDArray[np.int64]) -> _Edges:
        """The links selected by a mask or positions, in that order."""
        return replace(
            self,
            a=self.a[keep],
            b=self.b[keep],
            cost=self.cost[keep],
            band=self.band[keep],
            length_m=self.length_m[keep],
            fibre_capex=self.fibre_capex[keep],
        )

    def join(self, other: _Edges) -> _Edges:
        """These links, then ``other``'s (same bands)."""
        return replace(
            self,
            a=np.concatenate([self.a, other.a]),
            b=np.concatenate([self.b, other.b]),
            cost=np.concatenate([self.cost, other.cost]),
            band=np.concatenate([self.band, other.band]),
            length_m=np.concatenate([self.length_m, other.length_m]),
            fibre_capex=np.concatenate([self.fibre_capex, other.fibre_capex]),
        )

    def sorted(self) -> _Edges:
        """Sorted by (a, length, b), the order of :func:`pairs_within`."""
        return self.take(np.lexsort((self.b, self.length_m, self.a)))

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


def _link_edges(
    ia: npt.NDArray[np.int64],
    ib: npt.NDArray[np.int64],
    d: npt.NDArray[np.float64],
    a_lon: npt.NDArray[np.float64],
    a_lat: npt.NDArray[np.float64],
    a_h: npt.NDArray[np.float64],
    b_lon: npt.NDArray[np.float64],
    b_lat: npt.NDArray[np.float64],
    b_h: npt.NDArray[np.float64],
    *,
    to_pop: bool,
    bands: list[tuple[str, MicrowaveBand]],
    settings: BackhaulSettings,
    opex_years: int,
    dem: Any,
    los: _LosCounter,
) -> _Edges:
    """Links a[ia] → b[ib] (``d`` metres apart) with their cheapest option (a fibre spur
    to a PoP within ``fibre_spur_max_m``; a microwave band whose longest hop covers the
    distance and, over a DEM, whose Fresnel clearance holds); pairs with no option are
    dropped. Two points closer than :data:`SAME_PLACE_M` get no microwave hop."""
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


#: A budget (VND) above every path: "no path known yet".
_NO_PATH = 2**62


@dataclass(frozen=True)
class _Points:
    """Positions (lon/lat degrees), antenna heights (m) and a spatial index."""

    lon: npt.NDArray[np.float64]
    lat: npt.NDArray[np.float64]
    h: npt.NDArray[np.float64]
    index: _PointIndex

    @staticmethod
    def of(
        lon: npt.NDArray[np.float64], lat: npt.NDArray[np.float64], h: npt.NDArray[np.float64]
    ) -> _Points:
        return _Points(lon, lat, h, _PointIndex(lon, lat))


@dataclass(frozen=True)
class _Linker:
    """Prices candidate links (:func:`_link_edges`) with one group's bands and settings."""

    bands: list[tuple[str, MicrowaveBand]]
    settings: BackhaulSettings
    opex_years: int
    dem: Any
    los: _LosCounter

    def price(
        self,
        ia: npt.NDArray[np.int64],
        ib: npt.NDArray[np.int64],
        d: npt.NDArray[np.float64],
        a: _Points,
        b: _Points,
        *,
        to_pop: bool,
        room: npt.NDArray[np.int64] | None = None,
    ) -> _Edges:
        """The links a[ia] → b[ib]; with ``room`` (per point of ``a``), only those
        costing at most ``room[a]``. Over a DEM, the terrain-free price (a lower bound:
        terrain only blocks bands) screens the pairs before the line-of-sight checks."""
        free = self.dem is None or room is not None
        e = _link_edges(
            ia, ib, d, a.lon, a.lat, a.h, b.lon, b.lat, b.h, to_pop=to_pop, bands=self.bands,
            settings=self.settings, opex_years=self.opex_years,
            dem=None if free else self.dem, los=self.los,
        )  # fmt: skip
        if room is not None:
            e = e.take(e.cost <= room[e.a])
        if free and self.dem is not None:
            e = _link_edges(
                e.a, e.b, e.length_m, a.lon, a.lat, a.h, b.lon, b.lat, b.h, to_pop=to_pop,
                bands=self.bands, settings=self.settings, opex_years=self.opex_years,
                dem=self.dem, los=self.los,
            )  # fmt: skip
            if room is not None:
                e = e.take(e.cost <= room[e.a])
        return e


@dataclass(frozen=True)
class _RelayLinks:
    """The relay links that can lie on a cheapest path to some site (see
    :func:`_relay_links`). ``site_relay``: a = site (position in its group), b = relay,
    entering the site from relay layers 1..``site_layers``; ``relay_pop``: a = relay,
    b = PoP (into layer 1); ``relay_relay``: a = the relay nearer the site, b = the one
    nearer the PoP, edge (b, h) → (a, h + 1) for h in 1..``relay_layers``. Each sorted
    by (a, length, b)."""

    site_relay: _Edges
    site_layers: npt.NDArray[np.int64]
    relay_pop: _Edges
    relay_relay: _Edges
    relay_layers: npt.NDArray[np.int64]


def _relay_links(
    site_pop: _Edges,
    sites: _Points,
    relays: _Points,
    pops: _Points,
    *,
    reach_m: float,
    pop_reach_m: float,
    pops_per_node: int,
    max_hops: int,
    linker: _Linker,
) -> _RelayLinks:
    """The part of the layered relay graph of :func:`plan_backhaul` that can carry a
    cheapest path to some site, found backwards from the sites with cost bounds.

    A site's budget is an upper bound on its cheapest path (its direct links to PoPs,
    then its one-relay paths). A relay link costs at least ``c_min`` (the cheapest band)
    and a relay's first link to a PoP at least ``first_min`` (that or a zero-length
    fibre spur), so a relay reached at layer h (h links from a PoP) costs at least
    ``first_min + (h − 1) c_min``. Walking back from each site, a relay keeps the most
    budget left after the links to the site ("slack"); a relay node, and a link, is
    kept only when its lower bound fits that slack (≤, so equal-cost paths stay). Every
    node and link on a cheapest path passes, so Dijkstra over the kept graph finds the
    same paths as over the whole graph (the same edges in the same order; dropped nodes
    only ever gave non-final tentative distances), while a site with a PoP near by
    never looks at the relays beyond its own neighbourhood.
    """
    nr = relays.lon.size
    h_top = max_hops - 1  # most relays on a path
    costs = [round(b.capex_vnd + linker.opex_years * b.opex_vnd_per_year) for _, b in linker.bands]
    c_min = int(min(costs))
    fibre0 = round(
        linker.settings.fibre_capex_vnd
        + linker.opex_years * linker.settings.fibre_opex_vnd_per_year
    )
    first_min = int(min(fibre0, c_min))

    def layers(slack: npt.NDArray[np.int64], cap: int) -> npt.NDArray[np.int64]:
        """Highest layer h ≤ cap with first_min + (h − 1) c_min ≤ slack (0: none)."""
        out = np.zeros(slack.size, dtype=np.int64)
        ok = slack >= first_min
        out[ok] = cap if c_min == 0 else 1 + (slack[ok] - first_min) // c_min
        return np.minimum(out, cap)

    def to_pops(which: npt.NDArray[np.int64]) -> _Edges:
        ia, ib, d = pops.index.nearest_k(
            relays.lon[which], relays.lat[which], pop_reach_m, pops_per_node
        )
        return linker.price(which[ia], ib, d, relays, pops, to_pop=True)

    n_sites = sites.lon.size
    budget = np.full(n_sites, _NO_PATH, dtype=np.int64)
    np.minimum.at(budget, site_pop.a, site_pop.cost)
    # layer-1 relays next to the sites whose budget a relay path could meet or beat
    cand = np.flatnonzero(budget >= first_min + c_min)
    ia, ib, d = relays.index.pairs(sites.lon[cand], sites.lat[cand], reach_m)
    site_relay = linker.price(cand[ia], ib, d, sites, relays, to_pop=False, room=budget - first_min)
    r1 = np.unique(site_relay.b)
    relay_pop = to_pops(r1)
    d1 = np.full(nr, _NO_PATH, dtype=np.int64)
    np.minimum.at(d1, relay_pop.a, relay_pop.cost)
    # one-relay paths tighten the budgets
    np.minimum.at(budget, site_relay.a, np.minimum(d1[site_relay.b] + site_relay.cost, _NO_PATH))
    slack_sr = budget[site_relay.a] - site_relay.cost
    keep = slack_sr >= first_min
    site_relay, slack_sr = site_relay.take(keep), slack_sr[keep]
    site_layers = layers(slack_sr, h_top)
    slack = np.full(nr, -1, dtype=np.int64)
    np.maximum.at(slack, site_relay.b, slack_sr)
    reached = slack >= first_min
    # relays farther back: position j (relays between it and the site: j − 1) → j + 1
    none = np.zeros(0, dtype=np.int64)
    rr = linker.price(none, none, np.zeros(0), relays, relays, to_pop=False)
    rr_layers = np.zeros(0, dtype=np.int64)
    priced = np.zeros(nr, dtype=np.bool_)
    for j in range(1, h_top):
        front = slack >= first_min + c_min
        new = np.flatnonzero(front & ~priced)
        if new.size:
            ia, ib, d = relays.index.pairs(relays.lon[new], relays.lat[new], reach_m)
            ia = new[ia]
            other = ia != ib
            e = linker.price(ia[other], ib[other], d[other], relays, relays, to_pop=False)
            rr = rr.join(e)
            rr_layers = np.concatenate([rr_layers, np.zeros(e.a.size, dtype=np.int64)])
            priced[new] = True
        m = np.flatnonzero(front[rr.a])
        sig = slack[rr.a[m]] - rr.cost[m]
        ok = sig >= first_min
        m, sig = m[ok], sig[ok]
        if m.size == 0:
            break
        np.maximum.at(rr_layers, m, layers(sig, h_top - j))
        slack = np.full(nr, -1, dtype=np.int64)
        np.maximum.at(slack, rr.b[m], sig)
        reached |= slack >= first_min
    used = rr_layers > 0
    order = np.flatnonzero(used)
    relay_relay = rr.take(order)
    relay_layers = rr_layers[order]
    if relay_relay.a.size:
        srt = np.lexsort((relay_relay.b, relay_relay.length_m, relay_relay.a))
        relay_relay, relay_layers = relay_relay.take(srt), relay_layers[srt]
    # layer-1 links to PoPs of every relay kept
    more = np.setdiff1d(np.flatnonzero(reached), r1)
    if more.size:
        relay_pop = relay_pop.join(to_pops(more))
    relay_pop = relay_pop.take(reached[relay_pop.a]).sorted()
    return _RelayLinks(site_relay, site_layers, relay_pop, relay_relay, relay_layers)


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
    tower_table: pd.DataFrame | None = None,
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
    tower_table: :func:`tower_sites` of ``towers`` when the caller has it already.

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
    t_sites = tower_table if tower_table is not None else tower_sites(towers)
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
    pop_pts = _Points.of(p_lon, p_lat, p_h)
    relay_pts = _Points.of(r_lon, r_lat, r_h)
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
        linker = _Linker(bands, settings, years, dem, los)
        site_pts = _Points.of(s_lon[idx], s_lat[idx], s_h[idx])
        ia, ib, d = pop_pts.index.nearest_k(
            site_pts.lon, site_pts.lat, pop_reach, int(settings.pops_per_node)
        )
        site_pop = linker.price(ia, ib, d, site_pts, pop_pts, to_pop=True)
        lists: list[_Edges] = [site_pop]
        # layered digraph: PoP → relay@1 → … → relay@(max_hops-1) → site; edges point
        # into sites only, so no site relays another
        edges: list[tuple[Any, Any, int, tuple[int, int]]] = [
            (("pop", int(p)), ("site", int(idx[s])), int(c), (0, k))
            for k, (s, p, c) in enumerate(zip(site_pop.a, site_pop.b, site_pop.cost, strict=True))
        ]
        if max_hops >= 2 and len(relays) and len(pops) and bands:
            rl = _relay_links(
                site_pop, site_pts, relay_pts, pop_pts, reach_m=reach, pop_reach_m=pop_reach,
                pops_per_node=int(settings.pops_per_node), max_hops=max_hops, linker=linker,
            )  # fmt: skip
            lists += [rl.site_relay, rl.relay_pop, rl.relay_relay]
            for k, (s, r, c, top) in enumerate(
                zip(rl.site_relay.a, rl.site_relay.b, rl.site_relay.cost, rl.site_layers,
                    strict=True)
            ):  # fmt: skip
                for h in range(1, int(top) + 1):
                    edges.append((("relay", int(r), h), ("site", int(idx[s])), int(c), (1, k)))
            for k, (r, p, c) in enumerate(
                zip(rl.relay_pop.a, rl.relay_pop.b, rl.relay_pop.cost, strict=True)
            ):
                edges.append((("pop", int(p)), ("relay", int(r), 1), int(c), (2, k)))
            for k, (a, b, c, top) in enumerate(
                zip(rl.relay_relay.a, rl.relay_relay.b, rl.relay_relay.cost, rl.relay_layers,
                    strict=True)
            ):  # fmt: skip
                for h in range(1, int(top) + 1):
                    edges.append((("relay", int(b), h), ("relay", int(a), h + 1), int(c), (3, k)))
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
