"""Candidate locations (layer 1): rings and DEM high ground around each gap village
(geodesic, EPSG:4326), and the existing tower sites an operator can upgrade or co-locate on.
"""

from __future__ import annotations

import math
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Geod

from ..errors import CRSError, SchemaError
from ..network import haversine_m, pairs_within, tower_sites
from .settings import SitingSettings
from .villages import _GapVillages

#: Mean Earth radius (IUGG), metres.
EARTH_RADIUS_M = 6_371_008.8


_GEOD = Geod(ellps="WGS84")


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
    from ..terrain import sample_profiles

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


def _candidate_locations(
    gaps: _GapVillages,
    tower_table: pd.DataFrame,
    settings: SitingSettings,
    *,
    dem: Any,
    excl: Any,
) -> tuple[pd.DataFrame, int]:
    """Candidate locations (``_LOCATION_COLUMNS``, one row per ``location_id``, sorted):
    ``new`` sites at each gap village and on its high ground (DEM) or ring, ``upgrade``
    and ``colocation`` on the towers of :func:`_tower_table` within
    ``tower_search_radius_m`` of a gap village; none inside ``excl`` (a shapely geometry
    in EPSG:4326, or None). Also returns how many villages off the DEM got a ring."""
    tech = settings.technology
    kinds = set(settings.candidate_kinds)
    cols: dict[str, list[Any]] = {c: [] for c in _LOCATION_COLUMNS}
    hg_fallback = 0
    if "new" in kinds:
        new_height = float(settings.height_m_by_technology[tech])
        for i in range(len(gaps.ids)):
            around: list[tuple[float, float, str, float]] | None = None
            if dem is not None:
                around = _high_ground(dem, float(gaps.lon[i]), float(gaps.lat[i]), settings, excl)
                if around is None:
                    hg_fallback += 1
            src = "high_ground"
            if around is None:
                around = _ring(
                    float(gaps.lon[i]),
                    float(gaps.lat[i]),
                    settings.ring_points,
                    settings.ring_radius_m,
                )
                src = "ring"
            places = [(gaps.lon[i], gaps.lat[i], "", math.nan), *around]
            _extend(
                cols,
                kind="new",
                gen=i,
                host_site=None,
                host_ops=(),
                host_power=None,
                host_backhaul=None,
                height_m=new_height,
                location_id=[
                    f"S-{gaps.ids[i]}" + (f"-{tag}" if tag else "") for *_, tag, _ in places
                ],
                lon=[p[0] for p in places],
                lat=[p[1] for p in places],
                source=["village", *([src] * len(around))],
                rise_m=[p[3] for p in places],
            )
    if len(tower_table) and kinds & {"upgrade", "colocation"}:
        near_t, _, _ = pairs_within(
            tower_table["lon"].to_numpy(dtype=float),
            tower_table["lat"].to_numpy(dtype=float),
            gaps.lon,
            gaps.lat,
            float(settings.tower_search_radius_m),
        )
        near = tower_table.iloc[np.unique(near_t)]
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
    return loc, hg_fallback
