"""Coordinate reference systems: parsing, sanity checks and transforms to EPSG:4326.

DESIGN §3. Any CRS pyproj knows is accepted, including VN-2000 geographic (EPSG:4756), its
UTM zones (EPSG:3405/3406) and the TM-3 provincial zones (EPSG:5896–5899, 9205–9218).
Transforms always use ``always_xy=True``: x is easting/longitude, y northing/latitude, even
for CRSs whose authority axis order is lat/lon (4326, 4756, 4979). 3D CRSs (EPSG:4979, Z
coordinates) are accepted and the height dropped.

The checks catch the classic mistakes, by looking at all the rows of a file together:

* lon/lat swapped on every row (for Vietnam: "x" in 6–23.5, "y" in 102–118): swapped back
  with a warning;
* metres declared as degrees: refused (:class:`CRSError`, "pass --crs");
* degrees declared as a projected CRS: refused;
* no CRS at all (a Shapefile without ``.prj``): degrees are taken as EPSG:4326 with a
  warning (VN-2000 lon/lat would be a few hundred metres off, undetectable), metres refused.

:func:`outside_vietnam` flags points outside the country: with province boundaries, points
farther than a coastal tolerance (2 km) from every province; without, only the bounding boxes
of the mainland and the Hoàng Sa / Trường Sa archipelagos.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import geopandas as gpd
import numpy as np
import pyproj
import shapely
from pyproj.exceptions import CRSError as PyprojCRSError

from .errors import CRSError

__all__ = [
    "COASTAL_TOLERANCE_M",
    "VIETNAM_BBOX",
    "VIETNAM_BOXES",
    "WGS84",
    "LonLat",
    "crs_label",
    "in_vietnam_boxes",
    "looks_like_degrees",
    "outside_vietnam",
    "parse_crs",
    "to_lonlat",
    "transformer_to_wgs84",
]

WGS84 = pyproj.CRS.from_epsg(4326)

VIETNAM_BOXES: dict[str, tuple[float, float, float, float]] = {
    "mainland and coastal islands": (102.0, 8.0, 110.0, 23.5),
    "Hoàng Sa": (110.5, 15.5, 113.0, 17.5),
    "Trường Sa": (111.0, 6.0, 118.0, 12.0),
}
"""Bounding boxes (lon_min, lat_min, lon_max, lat_max; degrees, EPSG:4326) of Vietnam's
territory: the mainland with Phú Quốc, Côn Đảo, Bạch Long Vĩ, Thổ Chu …, and the two
archipelagos. Used for swapped-axis detection and, without a boundaries file, as the only
outside-Vietnam check."""

VIETNAM_BBOX: tuple[float, float, float, float] = (102.0, 6.0, 118.0, 23.5)
"""Envelope of :data:`VIETNAM_BOXES`."""

COASTAL_TOLERANCE_M = 2000.0
"""Points up to this far (metres) outside the province polygons still count as in Vietnam
(simplified coastlines, piers, small islets)."""

_CRS_EXAMPLES = (
    "e.g. --crs EPSG:3405 (VN-2000 / UTM zone 48N), EPSG:3406 (zone 49N) or a VN-2000 TM-3 "
    "zone such as EPSG:9210 (105°45′)"
)


def parse_crs(
    value: str | int | pyproj.CRS | None, *, file: str | None = None
) -> pyproj.CRS | None:
    """A :class:`pyproj.CRS` from ``EPSG:3405``, ``3405``, WKT, PROJ strings …; None stays
    None. Raises :class:`CRSError` for anything pyproj does not know."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, pyproj.CRS):
        return value
    text = value.strip() if isinstance(value, str) else value
    if isinstance(text, str) and text.isdigit():
        text = f"EPSG:{text}"
    try:
        return pyproj.CRS.from_user_input(text)
    except PyprojCRSError as exc:
        raise CRSError(
            f"unknown CRS {value!r} ({exc}); give an EPSG code such as EPSG:4326 or EPSG:3405",
            file=file,
        ) from None


def crs_label(crs: pyproj.CRS) -> str:
    """``EPSG:3405 (VN-2000 / UTM zone 48N)``, or the CRS name when it has no EPSG code."""
    code = crs.to_epsg()
    return f"EPSG:{code} ({crs.name})" if code else crs.name


@lru_cache(maxsize=64)
def _transformer(wkt: str) -> pyproj.Transformer:
    return pyproj.Transformer.from_crs(pyproj.CRS.from_wkt(wkt), WGS84, always_xy=True)


def transformer_to_wgs84(crs: pyproj.CRS) -> pyproj.Transformer:
    """Cached transformer from ``crs`` (made 2D) to EPSG:4326, ``always_xy=True``."""
    return _transformer(_as_2d(crs).to_wkt())


def _as_2d(crs: pyproj.CRS) -> pyproj.CRS:
    return crs.to_2d() if len(crs.axis_info) > 2 else crs


def looks_like_degrees(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per point: finite and within ±180 (x) / ±90 (y)."""
    with np.errstate(invalid="ignore"):
        return np.isfinite(x) & np.isfinite(y) & (np.abs(x) <= 180.0) & (np.abs(y) <= 90.0)


def in_vietnam_boxes(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Per point (degrees, EPSG:4326): inside one of :data:`VIETNAM_BOXES`."""
    inside = np.zeros(np.shape(lon), dtype=bool)
    with np.errstate(invalid="ignore"):
        for x0, y0, x1, y1 in VIETNAM_BOXES.values():
            inside |= (lon >= x0) & (lon <= x1) & (lat >= y0) & (lat <= y1)
    return inside


@dataclass(frozen=True)
class LonLat:
    """Coordinates in EPSG:4326 with per-row rejection reasons and file-level warnings."""

    lon: np.ndarray
    lat: np.ndarray
    error: np.ndarray  # object array: reason or None per row
    warnings: tuple[str, ...]
    crs: pyproj.CRS  # the source CRS finally used


def _sample(x: np.ndarray, y: np.ndarray, mask: np.ndarray) -> str:
    i = int(np.flatnonzero(mask)[0])
    return f"x={x[i]:.6g}, y={y[i]:.6g}"


def to_lonlat(
    x: np.ndarray,
    y: np.ndarray,
    crs: pyproj.CRS | None,
    *,
    file: str,
    crs_source: str = "file",
) -> LonLat:
    """Check and transform coordinates to EPSG:4326 lon/lat (``always_xy=True``).

    ``x``/``y`` are in ``crs`` axis-x/axis-y terms (easting/longitude first). ``crs=None``
    means the file has no CRS. ``crs_source`` words the messages: ``"file"`` (the file's own
    CRS), ``"--crs"`` (the user's), ``"default"`` (a CSV of lon/lat, EPSG:4326). Rows with
    non-finite coordinates get an error; file-level contradictions raise :class:`CRSError`.
    """
    x = np.asarray(x, dtype="float64")
    y = np.asarray(y, dtype="float64")
    n = len(x)
    error = np.full(n, None, dtype=object)
    warnings: list[str] = []
    valid = np.isfinite(x) & np.isfinite(y)
    error[~valid] = "empty or NaN coordinates"
    if not valid.any():
        return LonLat(
            np.full(n, np.nan), np.full(n, np.nan), error, (), crs if crs is not None else WGS84
        )
    degrees = looks_like_degrees(x, y)

    if crs is None:
        if degrees[valid].all():
            warnings.append(
                f"{file}: no CRS (e.g. a Shapefile without .prj): the coordinates look like "
                "degrees and are taken as EPSG:4326 (WGS 84); if they are VN-2000 lon/lat "
                "(EPSG:4756) they are a few hundred metres off: pass --crs EPSG:4756"
            )
            crs = WGS84
        else:
            raise CRSError(
                f"no CRS (e.g. a Shapefile without .prj) and the coordinates are not degrees "
                f"({_sample(x, y, valid & ~degrees)}: metres?): pass --crs, {_CRS_EXAMPLES}",
                file=file,
            )
    if crs.is_geographic:
        swapped_ok = in_vietnam_boxes(y, x)
        if swapped_ok[valid].all() and not in_vietnam_boxes(x, y)[valid].any():
            warnings.append(
                f"{file}: longitude and latitude are swapped on every row "
                f"({_sample(x, y, valid)}): swapped back"
            )
            x, y = y, x
            degrees = looks_like_degrees(x, y)
        not_deg = valid & ~degrees
        if not_deg.sum() * 2 > valid.sum():
            where = {
                "default": "a CSV of lon/lat is read as EPSG:4326",
                "--crs": f"--crs says {crs_label(crs)}",
                "file": f"the file says {crs_label(crs)}",
            }.get(crs_source, f"the CRS is {crs_label(crs)}")
            raise CRSError(
                f"coordinates are not degrees ({_sample(x, y, not_deg)}: metres?) but {where}: "
                f"pass --crs with the projected CRS, {_CRS_EXAMPLES}",
                file=file,
            )
        error[not_deg] = "coordinates out of range for degrees (|lon| ≤ 180, |lat| ≤ 90)"
        error[not_deg & in_vietnam_boxes(y, x)] = (
            "lon and lat look swapped on this row (not on every row, so not swapped back): "
            "swap them in the file"
        )
        ok = valid & degrees
    else:
        if degrees[valid].all():
            where = "--crs says" if crs_source == "--crs" else "the file says"
            raise CRSError(
                f"coordinates look like degrees ({_sample(x, y, valid)}) but {where} "
                f"{crs_label(crs)}, a projected CRS in metres: pass --crs EPSG:4326 "
                "(or EPSG:4756 for VN-2000 lon/lat)",
                file=file,
            )
        ok = valid

    transformer = transformer_to_wgs84(crs)
    lon = np.full(n, np.nan)
    lat = np.full(n, np.nan)
    with np.errstate(invalid="ignore"):
        lon[ok], lat[ok] = transformer.transform(x[ok], y[ok], errcheck=False)
    if not crs.is_geographic:
        in_box = in_vietnam_boxes(lon, lat)
        if not in_box[ok].any():
            slon = np.full(n, np.nan)
            slat = np.full(n, np.nan)
            with np.errstate(invalid="ignore"):
                slon[ok], slat[ok] = transformer.transform(y[ok], x[ok], errcheck=False)
            if in_vietnam_boxes(slon, slat)[ok].all():
                warnings.append(
                    f"{file}: easting and northing are swapped on every row "
                    f"({_sample(x, y, ok)}): swapped back"
                )
                lon, lat = slon, slat
    bad_transform = ok & ~(np.isfinite(lon) & np.isfinite(lat))
    error[bad_transform] = f"coordinates cannot be transformed from {crs_label(crs)}"
    return LonLat(lon, lat, error, tuple(warnings), crs)


def outside_vietnam(
    lon: np.ndarray,
    lat: np.ndarray,
    boundaries: gpd.GeoDataFrame | None = None,
    *,
    tolerance_m: float = COASTAL_TOLERANCE_M,
) -> np.ndarray:
    """Per point (EPSG:4326 degrees): True when outside Vietnam.

    With ``boundaries`` (province polygons, any CRS): outside when farther than
    ``tolerance_m`` from every polygon, measured in a UTM CRS picked by
    ``estimate_utm_crs()`` for the points in question. Without: outside
    :data:`VIETNAM_BOXES`. Non-finite coordinates are never flagged here."""
    lon = np.asarray(lon, dtype="float64")
    lat = np.asarray(lat, dtype="float64")
    finite = np.isfinite(lon) & np.isfinite(lat)
    if boundaries is None:
        return finite & ~in_vietnam_boxes(lon, lat)
    polys = boundaries.to_crs(WGS84) if boundaries.crs is not None else boundaries
    parts = [g for g in shapely.get_parts(polys.geometry.to_numpy()) if not g.is_empty]
    inside = np.zeros(len(lon), dtype=bool)
    for part in parts:
        x0, y0, x1, y1 = part.bounds
        cand = finite & ~inside & (lon >= x0) & (lon <= x1) & (lat >= y0) & (lat <= y1)
        if cand.any():
            shapely.prepare(part)
            inside[cand] = shapely.intersects_xy(part, lon[cand], lat[cand])
    rest = finite & ~inside
    if rest.any() and tolerance_m > 0:
        pts = gpd.GeoSeries(gpd.points_from_xy(lon[rest], lat[rest]), crs=WGS84)
        utm = pts.estimate_utm_crs()
        pts_m = pts.to_crs(utm).to_numpy()
        parts_m = gpd.GeoSeries(parts, crs=WGS84).to_crs(utm).to_numpy()
        tree = shapely.STRtree(parts_m)
        near_idx = tree.query(pts_m, predicate="dwithin", distance=tolerance_m)[0]
        near = np.zeros(len(pts_m), dtype=bool)
        near[np.unique(near_idx)] = True
        rest_idx = np.flatnonzero(rest)
        inside[rest_idx[near]] = True
    return finite & ~inside
