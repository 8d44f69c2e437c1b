"""The gap villages as siting reads them: required columns, coordinates, the operator each
village prefers (assigned; else the strongest existing signal; else the default), and
the excluded areas (EPSG:4326).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely

from ..errors import CRSError, SchemaError
from ..schema import OPERATORS
from .settings import GROUPS

RSRP_COLUMNS: dict[str, str] = {
    "Viettel": "rsrp_viettel_dbm",
    "VNPT": "rsrp_vnpt_dbm",
    "MobiFone": "rsrp_mobifone_dbm",
    "Vietnamobile": "rsrp_vietnamobile_dbm",
}


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


def _check_one_of(
    villages: gpd.GeoDataFrame, column: str, allowed: tuple[str, ...], *, optional: bool = False
) -> None:
    """Raise :class:`SchemaError` at the first value of ``column`` not in ``allowed``
    (``optional``: missing values pass)."""
    values = villages[column]
    bad = values[~values.isin(allowed) & (values.notna() if optional else True)]
    if len(bad):
        raise SchemaError(
            f"village {villages.loc[bad.index[0], 'village_id']}: {column} {bad.iloc[0]!r} "
            f"is not one of {', '.join(allowed)}",
            row=_row(villages, bad.index[0]),
            column=column,
        )


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
    _check_one_of(villages, "group", GROUPS)
    _check_one_of(villages, "assigned_operator", OPERATORS, optional=True)
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


@dataclass(frozen=True)
class _GapVillages:
    """The located gap villages (``group != "covered"``), sorted by ``village_id``, as
    arrays aligned to ``frame`` (lon/lat in EPSG:4326 degrees); ``unlocated``: the gap
    villages without a point, as uncoverable rows."""

    frame: gpd.GeoDataFrame
    ids: npt.NDArray[Any]
    lon: npt.NDArray[np.float64]
    lat: npt.NDArray[np.float64]
    population: npt.NDArray[np.int64]
    powered: npt.NDArray[np.bool_]
    assigned: npt.NDArray[Any]  # operator or None
    preferred: npt.NDArray[Any]  # operator (see _choose_operator)
    preferred_why: list[str]
    unlocated: list[dict[str, Any]]


def _gap_villages(
    villages: gpd.GeoDataFrame, located: npt.NDArray[np.bool_], default_operator: str
) -> _GapVillages:
    """The gap villages of ``villages`` (checked), ``located`` from :func:`_located`."""
    gap_mask = (villages["group"] != "covered").to_numpy(dtype=bool)
    unlocated = [
        {
            "village_id": str(r["village_id"]),
            "name": str(r["name"]),
            "province_code": str(r["province_code"]),
            "group": str(r["group"]),
            "reason": "no location (empty or non-point geometry)",
        }
        for _, r in villages[gap_mask & ~located].iterrows()
    ]
    gaps = villages[gap_mask & located]
    gaps = gaps.iloc[np.argsort(gaps["village_id"].astype(str).to_numpy(), kind="stable")]
    gaps = gaps.reset_index(drop=True)
    prefs = [_choose_operator(r, default_operator) for _, r in gaps.iterrows()]
    points = np.asarray(gaps.geometry.array)
    return _GapVillages(
        frame=gaps,
        ids=gaps["village_id"].astype(str).to_numpy(),
        lon=np.asarray(shapely.get_x(points), dtype=float),
        lat=np.asarray(shapely.get_y(points), dtype=float),
        population=pd.to_numeric(gaps["population"], errors="coerce")
        .fillna(0)
        .to_numpy(dtype=np.int64),
        powered=(gaps["group"] == "low_signal_powered").to_numpy(dtype=bool),
        assigned=np.array([_text_or_none(a) for a in gaps["assigned_operator"]], dtype=object),
        preferred=np.array([p[0] for p in prefs], dtype=object),
        preferred_why=[p[1] for p in prefs],
        unlocated=unlocated,
    )


def _operators_at(
    row: Mapping[str, Any], reach: list[int], gaps: _GapVillages, *, shared: bool, prune: bool
) -> list[str]:
    """The operators that get a candidate at location ``row`` (a ``_LOCATION_COLUMNS`` row)
    reaching the gap villages ``reach`` (indices into ``gaps``). With ``shared``: the
    preferred operator of a new site's village, or the tower's own operators for an
    upgrade. Otherwise: the operators assigned to villages there, and the preferred ones
    of the unassigned villages (with ``prune``, one operator stands for them all when
    none is assigned: the others would be dominated)."""
    kind = str(row["kind"])
    if shared:
        if kind == "new":
            ops = [str(gaps.preferred[int(row["gen"])])]
        elif kind == "upgrade":
            ops = list(row["host_ops"])
        else:
            ops = []
    else:
        assigned = {str(gaps.assigned[v]) for v in reach if gaps.assigned[v] is not None}
        free = [v for v in reach if gaps.assigned[v] is None]
        if kind == "upgrade":
            ops = [op for op in row["host_ops"] if op in assigned or free]
        else:
            guests = [op for op in OPERATORS if op not in row["host_ops"]]
            with_own = [op for op in guests if op in assigned]
            prefs_here = [str(gaps.preferred[v]) for v in free if gaps.preferred[v] in guests]
            if prune:
                # Same place, same kind, same cost: an operator serving assigned villages
                # here covers everything one without any would (the unassigned ones), so
                # the latter is dominated; with none assigned, one operator stands for
                # all: the generating village's preferred one, else the most preferred.
                ops = list(with_own)
                if not ops and free:
                    gen_op = str(gaps.preferred[int(row["gen"])]) if int(row["gen"]) >= 0 else None
                    if gen_op in guests:
                        ops = [gen_op]
                    elif prefs_here:
                        ops = [
                            max(guests, key=lambda o: (prefs_here.count(o), -OPERATORS.index(o)))
                        ]
            else:
                ops = [op for op in guests if op in assigned or op in prefs_here]
    return ops
