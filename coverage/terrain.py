"""Terrain: DEM access, path profiles and the knife-edge diffraction screen (DESIGN §4).

An edge module (it reads its own input, the DEM GeoTIFF); everything else is pure.

- :func:`open_dem` → :class:`Dem`, a small frozen handle (no pixels held). Any CRS
  rasterio/PROJ knows, geographic or projected (e.g. EPSG:32648, UTM 48N). Band 1,
  with the band's scale/offset applied; elevations in metres (orthometric, as SRTM
  and Copernicus GLO-30 are). Nodata, an internal mask and NaN all mean "no data".
- :func:`sample_profiles` → :class:`Profiles`: many paths at once, as ITM PFL rows
  ``[n_points - 1, step_m, elev_0 … elev_last]`` (transmitter first), NaN-padded to a
  common width. Only the window of the raster covering the paths (+ 2 pixels) is read.
- :func:`knife_edge_loss_db`: diffraction over the profile, ITU-R P.526-15 §4.1
  knife edges combined by Deygout (up to 3 edges) or Epstein–Peterson, numba-parallel
  over paths. :func:`line_of_sight`: optical or Fresnel-zone clearance.
- :func:`terrain_path_loss_db`: ITM point-to-point (the model of record), free
  space + knife edges, or NTIA Extended Hata over the profile (``covgap.ehata``), for
  the pairs whose path the DEM covers; NaN and ``covered=False`` elsewhere so the
  caller falls back to the terrain-free models.

Geometry. Intermediate points lie on the great circle between the end points
(spherical interpolation of the WGS 84 geodetic coordinates, equal spacing, exact at
the ends and middle of pieces of ≤ 25 km and quadratic in between; within 0.2 m of
pyproj's ellipsoidal geodesic points on 30 km paths, about 1 m at 100 km), the path
length is the WGS 84 geodesic distance (pyproj ``Geod.inv``), and each path gets
``ceil(distance / step_m) + 1`` points, so its actual step is ``distance / (n - 1)
≤ step_m``. Elevations are interpolated bilinearly between pixel centres (the
raster's outer half-pixel takes the edge pixels' values); a sample is NaN when it
falls outside the raster or a pixel it draws on (non-zero weight) has no data.
The knife-edge geometry bends the profile with an effective Earth radius
``k · 6371 km`` (k = 4/3 by default, ITU-R P.834/P.526); ITM applies its own
refractivity-derived curvature to the raw profile.

Elevations are held as float32 (1 mm resolution below 8 km). Only band 1 is read.
Not supported: paths crossing the antimeridian (±180°).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import numba
import numpy as np
import numpy.typing as npt
import rasterio
import rasterio.errors
import rasterio.warp
from affine import Affine
from pyproj import CRS, Geod, Transformer
from rasterio.windows import Window

from .errors import CRSError, InputFileError, PropagationRangeError, ScenarioError
from .itm import itm_p2p_batch_db
from .propagation import cached_njit, fspl_db

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

#: Mean Earth radius, m (ITU-R P.834 / P.526 use 6371 km; k = 4/3 gives ≈ 8495 km).
EARTH_RADIUS_M = 6_371_000.0
#: Default effective-Earth-radius factor (standard atmosphere, ITU-R P.834).
K_FACTOR_STANDARD = 4.0 / 3.0
#: Speed of light, m/s (wavelength λ = c / f).
C_M_PER_S = 299_792_458.0
#: ITU-R P.526-15 eq. (31): J(ν) = 0 for ν ≤ this value.
NU_MIN = -0.78
#: Default profile step, m (1 arc-second DEMs: SRTM, Copernicus GLO-30).
DEFAULT_STEP_M = 30.0
#: Paths shorter than this, m, get no terrain answer (ITM needs a positive length).
MIN_PATH_M = 1.0
#: Paths per batch in :func:`terrain_path_loss_db` (bounds memory: ~24 B per point).
DEFAULT_CHUNK_PATHS = 4096
#: Tile size, degrees, by which :func:`terrain_path_loss_db` groups paths (by the
#: transmitter's position) so each batch reads a small raster window.
DEFAULT_TILE_DEG = 0.25

KnifeEdgeMethod = Literal["deygout", "epstein_peterson"]
KNIFE_EDGE_METHODS: tuple[str, ...] = ("deygout", "epstein_peterson")
TerrainModel = Literal["itm", "knife_edge", "ehata"]
TERRAIN_MODELS: tuple[str, ...] = ("itm", "knife_edge", "ehata")
#: Options :func:`terrain_path_loss_db` passes on to eHata (``covgap.ehata.ehata_batch``).
EHATA_OPTIONS: tuple[str, ...] = ("environment", "reliability", "strict")

_GEOD = Geod(ellps="WGS84")
_WINDOW_MARGIN_PX = 2
#: Longest great-circle piece interpolated quadratically, radians of arc (25 km).
_PIECE_RAD = 25_000.0 / EARTH_RADIUS_M

# --------------------------------------------------------------------------- DEM handle


@dataclass(frozen=True, repr=False)
class Dem:
    """An opened DEM: where it is and how its pixels map to the ground (no pixels held).

    ``transform`` maps (col, row) pixel-corner coordinates to the DEM's ``crs``;
    ``bounds_lonlat`` is ``(west, south, east, north)`` in EPSG:4326 (the raster's
    footprint, densified when the DEM is projected).
    """

    path: Path
    crs: CRS
    transform: Affine
    width: int
    height: int
    nodata: float | None
    bounds_lonlat: tuple[float, float, float, float]
    #: True when the DEM's CRS is EPSG:4326 (no coordinate transformation needed).
    is_wgs84_lonlat: bool

    def __repr__(self) -> str:
        epsg = self.crs.to_epsg()
        crs = f"EPSG:{epsg}" if epsg is not None else self.crs.name
        return f"Dem({str(self.path)!r}, {crs}, {self.width}×{self.height} px)"


def open_dem(path: str | Path) -> Dem:
    """Open a DEM GeoTIFF (any CRS) and describe it; band 1 is the elevation, metres.

    Raises :class:`InputFileError` naming the file when it is missing, a folder,
    unreadable or not a raster, and :class:`CRSError` when it has no CRS or
    georeferencing.
    """
    p = Path(path)
    if not p.exists():
        raise InputFileError("DEM file not found", file=p)
    if p.is_dir():
        raise InputFileError("DEM path is a folder, not a GeoTIFF file", file=p)
    try:
        with rasterio.open(p) as src:
            if src.count < 1:
                raise InputFileError("DEM has no raster band", file=p)
            if src.crs is None:
                raise CRSError(
                    "DEM has no coordinate reference system: assign one, e.g. "
                    "`gdal_edit.py -a_srs EPSG:4326 FILE`",
                    file=p,
                )
            if src.transform.is_identity:
                raise CRSError(
                    "DEM has no georeferencing (identity geotransform): "
                    "it is not a georeferenced raster",
                    file=p,
                )
            crs = CRS.from_wkt(src.crs.to_wkt())
            epsg = src.crs.to_epsg()
            w, s, e, n = rasterio.warp.transform_bounds(
                src.crs, "EPSG:4326", *src.bounds, densify_pts=21
            )
            nodata = None if src.nodata is None else float(src.nodata)
            return Dem(
                path=p,
                crs=crs,
                transform=src.transform,
                width=int(src.width),
                height=int(src.height),
                nodata=nodata,
                bounds_lonlat=(float(w), float(s), float(e), float(n)),
                is_wgs84_lonlat=epsg == 4326,
            )
    except rasterio.errors.RasterioIOError as exc:
        raise InputFileError(
            f"not a readable raster (a DEM GeoTIFF is expected): {exc}", file=p
        ) from exc
    except rasterio.errors.CRSError as exc:
        raise CRSError(f"DEM has a CRS PROJ cannot use: {exc}", file=p) from exc


@lru_cache(maxsize=16)
def _to_dem_crs(crs_wkt: str) -> Transformer:
    """EPSG:4326 lon/lat → the DEM's CRS, x/y order (cached per CRS)."""
    return Transformer.from_crs("EPSG:4326", CRS.from_wkt(crs_wkt), always_xy=True)


# --------------------------------------------------------------------------- profiles


@dataclass(frozen=True, eq=False)
class Profiles:
    """Terrain profiles of many paths (result of :func:`sample_profiles`).

    ``pfl[i]`` is path ``i`` in ITM PFL layout ``[n_points - 1, step_m, elev_0 …]``
    (elevations m above the DEM's vertical datum, transmitter first), NaN-padded to
    the widest path; an elevation is NaN where the DEM has no data there.
    """

    #: (n_paths, 2 + max n_points) float64, ITM PFL rows, NaN padded
    pfl: FloatArray
    #: geodesic (WGS 84) path length, m
    distance_m: FloatArray
    #: path entirely inside the DEM with no missing elevation, finite end points and at
    #: least MIN_PATH_M long: its row is a valid PFL (rows with False may not be: a
    #: zero-length path has step 0; select ``pfl[covered]`` for the models)
    covered: BoolArray
    #: raster window the elevations came from (offsets and size in the DEM's pixels;
    #: what :func:`sample_profiles` read); None when no point falls on the raster
    window: Window | None

    @property
    def n_points(self) -> npt.NDArray[np.int64]:
        """Points per path (``pfl[:, 0] + 1``)."""
        return (self.pfl[:, 0] + 1.0).astype(np.int64)

    @property
    def step_m(self) -> FloatArray:
        """Spacing of each path's points, m (``pfl[:, 1]``)."""
        return self.pfl[:, 1].copy()

    def point_distance_m(self, i: int) -> FloatArray:
        """Distance of each point of path ``i`` from its transmitter, m."""
        n = int(self.pfl[i, 0]) + 1
        return np.arange(n, dtype=np.float64) * self.pfl[i, 1]


@cached_njit()
def _slerp_deg(
    ax: float, ay: float, az: float, bx: float, by: float, bz: float, omega: float,
    sin_omega: float, t: float,
) -> tuple[float, float]:  # fmt: skip
    """(lon, lat) in degrees at fraction ``t`` of the great circle from unit vector a to b."""
    if omega < 1e-12:
        wa = 1.0 - t
        wb = t
    else:
        wa = math.sin((1.0 - t) * omega) / sin_omega
        wb = math.sin(t * omega) / sin_omega
    vx = wa * ax + wb * bx
    vy = wa * ay + wb * by
    vz = wa * az + wb * bz
    return (
        math.degrees(math.atan2(vy, vx)),
        math.degrees(math.atan2(vz, math.sqrt(vx * vx + vy * vy))),
    )


@cached_njit(parallel=True)
def _great_circle_points(
    lon0_deg: FloatArray,
    lat0_deg: FloatArray,
    lon1_deg: FloatArray,
    lat1_deg: FloatArray,
    n_seg: npt.NDArray[np.int64],
    valid: BoolArray,
    offsets: npt.NDArray[np.int64],
    lon_out: FloatArray,
    lat_out: FloatArray,
) -> None:
    """Equally spaced points on each path's great circle (spherical interpolation).

    Path ``i``'s ``n_seg[i] + 1`` points go to ``[offsets[i], offsets[i + 1])``;
    NaN for a path whose end points are not ``valid``. Exact spherical interpolation
    at the ends and middle of pieces of at most :data:`_PIECE_RAD` of arc, quadratic
    in lon/lat between them (within 5 mm of the exact points on a 30 km piece).
    """
    for i in numba.prange(lon0_deg.size):
        k0 = offsets[i]
        m = n_seg[i]
        if not valid[i]:
            for k in range(k0, k0 + m + 1):
                lon_out[k] = math.nan
                lat_out[k] = math.nan
            continue
        p0 = math.radians(lat0_deg[i])
        l0 = math.radians(lon0_deg[i])
        p1 = math.radians(lat1_deg[i])
        l1 = math.radians(lon1_deg[i])
        ax = math.cos(p0) * math.cos(l0)
        ay = math.cos(p0) * math.sin(l0)
        az = math.sin(p0)
        bx = math.cos(p1) * math.cos(l1)
        by = math.cos(p1) * math.sin(l1)
        bz = math.sin(p1)
        cx = ay * bz - az * by
        cy = az * bx - ax * bz
        cz = ax * by - ay * bx
        omega = math.atan2(math.sqrt(cx * cx + cy * cy + cz * cz), ax * bx + ay * by + az * bz)
        sin_omega = math.sin(omega)
        n_piece = max(1, math.ceil(omega / _PIECE_RAD))
        if m <= 4 * n_piece:
            for j in range(m + 1):
                lo, la = _slerp_deg(ax, ay, az, bx, by, bz, omega, sin_omega, j / m)
                lon_out[k0 + j] = lo
                lat_out[k0 + j] = la
        else:
            for p in range(n_piece):
                t0 = p / n_piece
                t1 = (p + 1) / n_piece
                x0, y0 = _slerp_deg(ax, ay, az, bx, by, bz, omega, sin_omega, t0)
                xm, ym = _slerp_deg(ax, ay, az, bx, by, bz, omega, sin_omega, 0.5 * (t0 + t1))
                x1, y1 = _slerp_deg(ax, ay, az, bx, by, bz, omega, sin_omega, t1)
                # Lagrange quadratic through s = 0, 1/2, 1 as f0 + s·f1 + s²·f2
                xb = -3.0 * x0 + 4.0 * xm - x1
                xc = 2.0 * x0 - 4.0 * xm + 2.0 * x1
                yb = -3.0 * y0 + 4.0 * ym - y1
                yc = 2.0 * y0 - 4.0 * ym + 2.0 * y1
                j_start = (p * m + n_piece - 1) // n_piece
                j_end = ((p + 1) * m + n_piece - 1) // n_piece if p < n_piece - 1 else m + 1
                for j in range(j_start, j_end):
                    s = (j / m) * n_piece - p
                    lon_out[k0 + j] = x0 + s * (xb + s * xc)
                    lat_out[k0 + j] = y0 + s * (yb + s * yc)
        lon_out[k0] = lon0_deg[i]
        lat_out[k0] = lat0_deg[i]
        lon_out[k0 + m] = lon1_deg[i]
        lat_out[k0 + m] = lat1_deg[i]


@cached_njit()
def _to_pixels(
    x: FloatArray, y: FloatArray, a: float, b: float, c: float, d: float, e: float, f: float,
    width: float, height: float,
) -> tuple[bool, float, float, float, float]:  # fmt: skip
    """CRS coordinates → fractional pixel (col, row), in place; bbox of those on the raster.

    ``(a … f)`` is the inverse geotransform. Returns (any on the raster, col min,
    col max, row min, row max) over the points inside ``[0, width] × [0, height]``.
    """
    found = False
    c_min = math.inf
    c_max = -math.inf
    r_min = math.inf
    r_max = -math.inf
    for k in range(x.size):
        xx = x[k]
        yy = y[k]
        col = a * xx + b * yy + c
        row = d * xx + e * yy + f
        x[k] = col
        y[k] = row
        if col >= 0.0 and col <= width and row >= 0.0 and row <= height:
            found = True
            c_min = min(c_min, col)
            c_max = max(c_max, col)
            r_min = min(r_min, row)
            r_max = max(r_max, row)
    return found, c_min, c_max, r_min, r_max


@cached_njit(parallel=True)
def _bilinear_profiles(
    grid: npt.NDArray[np.float32],
    col_px: FloatArray,
    row_px: FloatArray,
    width: int,
    height: int,
    col_off: int,
    row_off: int,
    offsets: npt.NDArray[np.int64],
    dist_m: FloatArray,
    n_seg: npt.NDArray[np.int64],
    pfl: FloatArray,
    covered: BoolArray,
) -> None:
    """Bilinear elevations at fractional pixel coordinates into PFL rows (whole rows).

    ``col_px``/``row_px`` are raster pixel-corner coordinates (0 … width/height over
    the raster); ``grid`` is the window read, at ``(row_off, col_off)``. Writes each
    row's header, its elevations and the NaN padding after them.
    """
    gh, gw = grid.shape
    for i in numba.prange(offsets.size - 1):
        k0 = offsets[i]
        n = offsets[i + 1] - k0
        pfl[i, 0] = n_seg[i]
        pfl[i, 1] = dist_m[i] / n_seg[i]
        for j in range(2 + n, pfl.shape[1]):
            pfl[i, j] = math.nan
        ok = True
        for j in range(n):
            c = col_px[k0 + j]
            r = row_px[k0 + j]
            z = math.nan
            if c >= 0.0 and c <= width and r >= 0.0 and r <= height:
                # window-local coordinates of pixel centres
                u = min(max(c - 0.5 - col_off, 0.0), gw - 1.0)
                v = min(max(r - 0.5 - row_off, 0.0), gh - 1.0)
                c0 = min(math.floor(u), max(gw - 2, 0))
                r0 = min(math.floor(v), max(gh - 2, 0))
                fu = u - c0
                fv = v - r0
                c1 = min(c0 + 1, gw - 1)
                r1 = min(r0 + 1, gh - 1)
                acc = 0.0
                w00 = (1.0 - fu) * (1.0 - fv)
                w01 = fu * (1.0 - fv)
                w10 = (1.0 - fu) * fv
                w11 = fu * fv
                if w00 > 0.0:
                    acc += w00 * grid[r0, c0]
                if w01 > 0.0:
                    acc += w01 * grid[r0, c1]
                if w10 > 0.0:
                    acc += w10 * grid[r1, c0]
                if w11 > 0.0:
                    acc += w11 * grid[r1, c1]
                z = acc
            if math.isnan(z):
                ok = False
            pfl[i, 2 + j] = z
        covered[i] = ok


def _setting_error(name: str, value: object, rule: str) -> ScenarioError:
    return ScenarioError(f"{name} = {value!r}: {rule}", column=name)


def _as_paths(
    tx_lon: npt.ArrayLike, tx_lat: npt.ArrayLike, rx_lon: npt.ArrayLike, rx_lat: npt.ArrayLike
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    arrs = np.broadcast_arrays(
        *(np.atleast_1d(np.asarray(a, dtype=np.float64)) for a in (tx_lon, tx_lat, rx_lon, rx_lat))
    )
    if arrs[0].ndim != 1:
        raise ValueError(f"path coordinates must be 1-D arrays; got shape {arrs[0].shape}")
    a, b, c, d = (np.ascontiguousarray(x) for x in arrs)
    return a, b, c, d


def _path_layout(
    tx_lon: FloatArray,
    tx_lat: FloatArray,
    rx_lon: FloatArray,
    rx_lat: FloatArray,
    step_m: float,
    max_points: int | None,
) -> tuple[FloatArray, npt.NDArray[np.int64], BoolArray]:
    """Geodesic distance, segments per path and which paths have usable end points."""
    valid = (
        np.isfinite(tx_lon)
        & np.isfinite(tx_lat)
        & np.isfinite(rx_lon)
        & np.isfinite(rx_lat)
        & (np.abs(tx_lat) <= 90.0)
        & (np.abs(rx_lat) <= 90.0)
    )
    dist = np.zeros(tx_lon.size)
    if valid.any():
        _, _, d = _GEOD.inv(tx_lon[valid], tx_lat[valid], rx_lon[valid], rx_lat[valid])
        dist[valid] = np.asarray(d, dtype=np.float64)
    n_seg = np.maximum(np.ceil(dist / step_m - 1e-9), 1.0).astype(np.int64)
    if max_points is not None:
        n_seg = np.minimum(n_seg, max_points - 1)
    n_seg[~valid] = 1
    return dist, n_seg, valid


def _check_sampling(step_m: float, max_points: int | None) -> None:
    if not (math.isfinite(step_m) and step_m > 0.0):
        raise _setting_error("step_m", step_m, "must be a positive number of metres")
    if max_points is not None and (int(max_points) != max_points or max_points < 2):
        raise _setting_error("max_points", max_points, "must be an integer ≥ 2 (or unset)")


@dataclass
class _GridCache:
    """The last raster window read, reused while later batches fall inside it."""

    window: Window | None = None
    grid: npt.NDArray[np.float32] | None = None
    #: pixels added on each side of a batch's window when reading (so the next
    #: batches of the same area hit), unless the result exceeds max_pixels
    pad_px: int = 1024
    max_pixels: int = 64_000_000  # 256 MB of float32


def _sample_open(
    src: Any,
    dem: Dem,
    tx_lon: FloatArray,
    tx_lat: FloatArray,
    rx_lon: FloatArray,
    rx_lat: FloatArray,
    step_m: float,
    max_points: int | None,
    cache: _GridCache | None = None,
) -> Profiles:
    """:func:`sample_profiles` on an already opened dataset ``src`` (+ window reuse)."""
    n_paths = tx_lon.size
    dist, n_seg, valid = _path_layout(tx_lon, tx_lat, rx_lon, rx_lat, step_m, max_points)
    width_pfl = 2 + (int(n_seg.max()) + 1 if n_paths else 2)
    pfl = np.empty((n_paths, width_pfl))
    covered = np.zeros(n_paths, dtype=np.bool_)
    if n_paths == 0:
        return Profiles(pfl, dist, covered, None)
    offsets = np.zeros(n_paths + 1, dtype=np.int64)
    np.cumsum(n_seg + 1, out=offsets[1:])
    x = np.empty(int(offsets[-1]))
    y = np.empty_like(x)
    _great_circle_points(tx_lon, tx_lat, rx_lon, rx_lat, n_seg, valid, offsets, x, y)
    if not dem.is_wgs84_lonlat:
        with np.errstate(invalid="ignore"):
            x, y = _to_dem_crs(dem.crs.to_wkt()).transform(x, y, errcheck=False)
        x = np.ascontiguousarray(x, dtype=np.float64)
        y = np.ascontiguousarray(y, dtype=np.float64)
    inv = ~dem.transform
    # x/y become fractional pixel coordinates (col/row) in place
    found, c_min, c_max, r_min, r_max = _to_pixels(
        x, y, inv.a, inv.b, inv.c, inv.d, inv.e, inv.f, float(dem.width), float(dem.height)
    )
    window: Window | None = None
    if found:
        c0 = max(math.floor(c_min) - _WINDOW_MARGIN_PX, 0)
        c1 = min(math.ceil(c_max) + _WINDOW_MARGIN_PX, dem.width)
        r0 = max(math.floor(r_min) - _WINDOW_MARGIN_PX, 0)
        r1 = min(math.ceil(r_max) + _WINDOW_MARGIN_PX, dem.height)
        cw = cache.window if cache is not None else None
        if (
            cache is not None
            and cache.grid is not None
            and cw is not None
            and cw.col_off <= c0
            and cw.row_off <= r0
            and c1 <= cw.col_off + cw.width
            and r1 <= cw.row_off + cw.height
        ):
            window, grid = cw, cache.grid
        else:
            if cache is not None:
                pc0 = max(c0 - cache.pad_px, 0)
                pc1 = min(c1 + cache.pad_px, dem.width)
                pr0 = max(r0 - cache.pad_px, 0)
                pr1 = min(r1 + cache.pad_px, dem.height)
                if (pc1 - pc0) * (pr1 - pr0) <= cache.max_pixels:
                    c0, c1, r0, r1 = pc0, pc1, pr0, pr1
            window = Window(c0, r0, c1 - c0, r1 - r0)
            grid = _read_window(src, dem, window)
            if cache is not None:
                cache.window, cache.grid = window, grid
        c0, r0 = int(window.col_off), int(window.row_off)
    else:
        grid = np.full((1, 1), np.float32(np.nan), dtype=np.float32)
        c0 = r0 = 0
    _bilinear_profiles(
        grid, x, y, dem.width, dem.height, c0, r0, offsets, dist, n_seg, pfl, covered
    )
    covered &= valid & (dist >= MIN_PATH_M)
    return Profiles(pfl, dist, covered, window)


def _read_window(src: Any, dem: Dem, window: Window) -> npt.NDArray[np.float32]:
    """Band 1 over ``window`` as float32 metres, NaN where masked (nodata/mask/NaN).

    float32 keeps elevations to within 1 mm below 8 km and halves the memory.
    """
    try:
        band = src.read(1, window=window, masked=True, out_dtype="float32")
    except rasterio.errors.RasterioIOError as exc:
        raise InputFileError(f"cannot read the DEM's pixels: {exc}", file=dem.path) from exc
    grid = np.ma.filled(band, np.float32(np.nan)).astype(np.float32, copy=False)
    scale = src.scales[0] if src.scales else 1.0
    offset = src.offsets[0] if src.offsets else 0.0
    if scale != 1.0 or offset != 0.0:
        grid = grid * np.float32(scale) + np.float32(offset)
    return np.ascontiguousarray(grid)


def _open_raster(dem: Dem) -> Any:
    try:
        return rasterio.open(dem.path)
    except rasterio.errors.RasterioIOError as exc:
        raise InputFileError(f"cannot open the DEM: {exc}", file=dem.path) from exc


def sample_profiles(
    dem: Dem,
    tx_lon: npt.ArrayLike,
    tx_lat: npt.ArrayLike,
    rx_lon: npt.ArrayLike,
    rx_lat: npt.ArrayLike,
    *,
    step_m: float = DEFAULT_STEP_M,
    max_points: int | None = None,
) -> Profiles:
    """Terrain profiles of many transmitter → receiver paths at once.

    Coordinates are EPSG:4326 lon/lat degrees (arrays broadcast together; scalars
    for one end are fine). Each path gets ``ceil(distance / step_m) + 1`` equally
    spaced points on its great circle (at most ``max_points``: longer paths get a
    longer step), elevations interpolated bilinearly (see the module docstring).
    Reads one raster window: the bounding box of all the points + 2 pixels, so call
    it with paths that lie near each other (``terrain_path_loss_db`` groups them).
    Memory: 16 bytes per point while sampling, 8 per point in the result, 4 per
    pixel of the window.
    """
    _check_sampling(step_m, max_points)
    a, b, c, d = _as_paths(tx_lon, tx_lat, rx_lon, rx_lat)
    with _open_raster(dem) as src:
        return _sample_open(src, dem, a, b, c, d, step_m, max_points)


# --------------------------------------------------------------------------- knife edges


def fresnel_kirchhoff_nu(
    h_m: npt.ArrayLike, d1_m: npt.ArrayLike, d2_m: npt.ArrayLike, freq_mhz: npt.ArrayLike
) -> FloatArray:
    """Fresnel–Kirchhoff diffraction parameter ν (ITU-R P.526-15 eq. 26).

    ``ν = h · sqrt(2 (d1 + d2) / (λ d1 d2))``: ``h_m`` height of the edge above the
    straight line joining the two ends (negative below it), ``d1_m``/``d2_m`` its
    distances from the ends, m; λ = c / f.
    """
    h, d1, d2, f = (np.asarray(v, dtype=np.float64) for v in (h_m, d1_m, d2_m, freq_mhz))
    lam = C_M_PER_S / (f * 1e6)
    return np.asarray(h * np.sqrt(2.0 * (d1 + d2) / (lam * d1 * d2)))


def knife_edge_j_db(nu: npt.ArrayLike) -> FloatArray:
    """Single knife-edge loss J(ν), dB (ITU-R P.526-15 eq. 31; 0 for ν ≤ −0.78).

    ``J(ν) = 6.9 + 20 log10(sqrt((ν − 0.1)² + 1) + ν − 0.1)``.
    """
    v = np.asarray(nu, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        j = 6.9 + 20.0 * np.log10(np.sqrt((v - 0.1) ** 2 + 1.0) + v - 0.1)
    return np.asarray(np.where(v > NU_MIN, j, np.where(np.isnan(v), np.nan, 0.0)))


@cached_njit()
def _j_db(nu: float) -> float:
    if nu <= NU_MIN:
        return 0.0
    x = nu - 0.1
    return 6.9 + 20.0 * math.log10(math.sqrt(x * x + 1.0) + x)


@cached_njit()
def _nu_of(key: float, span_m: float, lam_m: float) -> float:
    """ν from the ranking key ``h·|h| / (d1 d2)`` of a sub-path of length ``span_m``."""
    v = math.sqrt(abs(key) * 2.0 * span_m / lam_m)
    return v if key >= 0.0 else -v


@cached_njit()
def _main_edge(
    z: FloatArray,
    i0: int,
    i1: int,
    ha: float,
    hb: float,
    step: float,
    inv_2ka: float,
) -> tuple[int, float]:
    """Interior point of ``(i0, i1)`` with the largest ν w.r.t. the chord ``ha → hb``.

    Heights of the chord's ends ``ha``/``hb`` are absolute (m). Returns the index and
    the key ``h·|h| / (d1 d2)`` (same order as ν; ν = sign·sqrt(|key|·2L/λ)), with
    ``h`` the point's height above the chord including the Earth bulge
    ``d1 d2 / (2 k a)``. Index −1 when there is no interior point; key NaN when a
    height is NaN.
    """
    best_key = -math.inf
    best_j = -1
    span = (i1 - i0) * step
    slope = (hb - ha) / (i1 - i0)
    for j in range(i0 + 1, i1):
        m = j - i0
        d1 = m * step
        d2 = span - d1
        d12 = d1 * d2
        h = z[j] + d12 * inv_2ka - (ha + slope * m)
        key = h * abs(h) / d12
        if key > best_key:
            best_key = key
            best_j = j
        elif math.isnan(key):
            return j, math.nan
    return best_j, best_key


@cached_njit()
def _edge_nu(
    z: FloatArray, i0: int, j: int, i1: int, ha: float, hb: float, step: float,
    inv_2ka: float, lam: float,
) -> float:  # fmt: skip
    """ν of point ``j`` for the chord from ``(i0, ha)`` to ``(i1, hb)`` (with bulge)."""
    d1 = (j - i0) * step
    d2 = (i1 - j) * step
    h = z[j] + d1 * d2 * inv_2ka - (ha + (hb - ha) * d1 / (d1 + d2))
    return h * math.sqrt(2.0 * (d1 + d2) / (lam * d1 * d2))


@cached_njit()
def _knife_edge_one(
    z: FloatArray, n: int, step: float, ha: float, hb: float, lam: float, inv_2ka: float,
    method: int,
) -> float:  # fmt: skip
    """Diffraction loss (dB) of one profile ``z[0:n]``; end heights absolute (m)."""
    last = n - 1
    jm, km = _main_edge(z, 0, last, ha, hb, step, inv_2ka)
    if jm < 0:
        return 0.0  # two points: no obstacle
    if math.isnan(km):
        return math.nan
    nu_m = _nu_of(km, last * step, lam)
    if nu_m <= NU_MIN:
        return 0.0
    zm = z[jm]
    # the sub-paths on either side of the main edge (Deygout's second stage)
    jt = -1
    nu_t = -math.inf
    if jm >= 2:
        jt, kt = _main_edge(z, 0, jm, ha, zm, step, inv_2ka)
        nu_t = _nu_of(kt, jm * step, lam)
    jr = -1
    nu_r = -math.inf
    if last - jm >= 2:
        jr, kr = _main_edge(z, jm, last, zm, hb, step, inv_2ka)
        nu_r = _nu_of(kr, (last - jm) * step, lam)
    if method == 0:  # Deygout
        return _j_db(nu_m) + _j_db(nu_t) + _j_db(nu_r)
    # Epstein–Peterson over the same edges: each edge against its neighbours' tops
    has_t = nu_t > NU_MIN
    has_r = nu_r > NU_MIN
    loss = 0.0
    left_i = 0
    left_h = ha
    if has_t:
        loss += _j_db(nu_t)  # its neighbours are the transmitter and the main edge
        left_i = jt
        left_h = z[jt]
    right_i = last
    right_h = hb
    if has_r:
        loss += _j_db(nu_r)  # between the main edge and the receiver
        right_i = jr
        right_h = z[jr]
    return loss + _j_db(_edge_nu(z, left_i, jm, right_i, left_h, right_h, step, inv_2ka, lam))


#: Paths a thread takes at a time in the knife-edge and line-of-sight batches.
_PATHS_PER_CHUNK = 64


def _in_chunks(kernel: Any, *args: Any) -> None:
    """Run a parallel batch kernel handing paths out :data:`_PATHS_PER_CHUNK` at a time
    (numba's dynamic scheduling: a thread slowed down on a shared machine holds the
    batch up less than with one fixed share per thread)."""
    with numba.parallel_chunksize(_PATHS_PER_CHUNK):
        kernel(*args)


@cached_njit(parallel=True)
def _knife_edge_batch(
    pfl: FloatArray,
    h_tx_m: FloatArray,
    h_rx_m: FloatArray,
    lam_m: FloatArray,
    inv_2ka: float,
    method: int,
    out: FloatArray,
) -> None:
    for i in numba.prange(pfl.shape[0]):
        n = int(pfl[i, 0]) + 1
        step = pfl[i, 1]
        z = pfl[i, 2 : 2 + n]
        ha = z[0] + h_tx_m[i]
        hb = z[n - 1] + h_rx_m[i]
        if not (ha == ha and hb == hb and lam_m[i] == lam_m[i]):
            out[i] = math.nan
        else:
            out[i] = _knife_edge_one(z, n, step, ha, hb, lam_m[i], inv_2ka, method)


@cached_njit(parallel=True)
def _los_batch(
    pfl: FloatArray,
    h_tx_m: FloatArray,
    h_rx_m: FloatArray,
    lam_m: FloatArray,
    fraction: float,
    inv_2ka: float,
    out: BoolArray,
) -> None:
    for i in numba.prange(pfl.shape[0]):
        n = int(pfl[i, 0]) + 1
        step = pfl[i, 1]
        ha = pfl[i, 2] + h_tx_m[i]
        hb = pfl[i, 1 + n] + h_rx_m[i]
        lam = lam_m[i]
        span = (n - 1) * step
        ok = ha == ha and hb == hb
        for j in range(1, n - 1):
            if not ok:
                break
            d1 = j * step
            d2 = span - d1
            h = pfl[i, 2 + j] + d1 * d2 * inv_2ka - (ha + (hb - ha) * d1 / span)
            clear = 0.0 if lam == 0.0 else fraction * math.sqrt(lam * d1 * d2 / span)
            if not (h + clear <= 0.0):  # also False for NaN
                ok = False
        out[i] = ok


def _check_pfl_batch(pfl_batch: npt.ArrayLike, what: str) -> FloatArray:
    arr = np.asarray(pfl_batch, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[np.newaxis, :]
    if arr.ndim != 2 or arr.shape[1] < 4:
        raise PropagationRangeError(
            f"{what}: pfl_batch must be 2-D (n_paths, 2 + n_points) in PFL layout with ≥ 2 "
            f"elevations; got shape {np.shape(pfl_batch)}"
        )
    arr = np.ascontiguousarray(arr)
    n_int = arr[:, 0]
    step = arr[:, 1]
    with np.errstate(invalid="ignore"):
        bad = (
            ~np.isfinite(n_int)
            | (n_int < 1)
            | (n_int != np.floor(n_int))
            | (n_int + 3 > arr.shape[1])
            | ~np.isfinite(step)
            | (step <= 0)
        )
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise PropagationRangeError(
            f"{what}: pfl_batch[{i}] header [n_points - 1, step_m] = "
            f"[{n_int[i]!r}, {step[i]!r}] is not a PFL for a row of {arr.shape[1]} values "
            f"({int(bad.sum())} bad row(s) in all)"
        )
    return arr


def _per_path(value: npt.ArrayLike, n: int, name: str, what: str) -> FloatArray:
    arr = np.asarray(value, dtype=np.float64)
    try:
        return np.ascontiguousarray(np.broadcast_to(arr, (n,)), dtype=np.float64)
    except ValueError:
        raise PropagationRangeError(
            f"{what}: {name} must be a scalar or one value per path ({n}); got shape {arr.shape}"
        ) from None


def _check_k(k_factor: float) -> float:
    if not (math.isfinite(k_factor) and k_factor > 0.0):
        raise _setting_error("k_factor", k_factor, "must be a positive number (4/3 standard)")
    return 1.0 / (2.0 * k_factor * EARTH_RADIUS_M)


def _wavelength_m(freq: FloatArray, what: str) -> FloatArray:
    bad = ~(np.isfinite(freq) & (freq > 0.0))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise PropagationRangeError(f"{what}: freq_mhz[{i}] = {freq[i]!r} must be > 0 MHz")
    return np.asarray(C_M_PER_S / (freq * 1e6))


def knife_edge_loss_db(
    pfl_batch: npt.ArrayLike,
    h_tx_m: npt.ArrayLike,
    h_rx_m: npt.ArrayLike,
    freq_mhz: npt.ArrayLike,
    *,
    method: KnifeEdgeMethod | str = "deygout",
    k_factor: float = K_FACTOR_STANDARD,
) -> FloatArray:
    """Diffraction loss over each terrain profile, dB (ITU-R P.526-15 §4.1 knife edges).

    ``pfl_batch``: (n_paths, width) PFL rows ``[n_points - 1, step_m, elev_0 …]``
    (NaN padding after each row's points ignored; a 1-D PFL is one path). Heights
    ``h_tx_m``/``h_rx_m`` above ground at the first/last point, m; ``freq_mhz`` MHz;
    scalars or one per path. Each profile point's height above the chord between
    the ends includes the Earth bulge ``d1 d2 / (2 k a)`` (a = 6371 km).

    The main edge is the point of largest ν (eq. 26); loss 0 when its ν ≤ −0.78.
    ``"deygout"``: J(ν_main) + J(ν_t) + J(ν_r), where t and r are the largest-ν
    points of the two sub-paths transmitter → main-edge top and main-edge top →
    receiver (at most 3 edges; no empirical correction). ``"epstein_peterson"``:
    the same edges (t and r kept when their ν > −0.78), each edge's J(ν) taken
    against the tops of its neighbours in the sequence tx, t, main, r, rx. J is
    eq. 31. Returns one loss per path (≥ 0), NaN where a used elevation is NaN.
    """
    what = "knife-edge diffraction"
    if method not in KNIFE_EDGE_METHODS:
        raise _setting_error("method", method, f"must be one of {', '.join(KNIFE_EDGE_METHODS)}")
    inv_2ka = _check_k(k_factor)
    arr = _check_pfl_batch(pfl_batch, what)
    n = arr.shape[0]
    lam = _wavelength_m(_per_path(freq_mhz, n, "freq_mhz", what), what)
    out = np.empty(n)
    if n:
        h_tx = _per_path(h_tx_m, n, "h_tx_m", what)
        h_rx = _per_path(h_rx_m, n, "h_rx_m", what)
        method_code = KNIFE_EDGE_METHODS.index(method)
        _in_chunks(_knife_edge_batch, arr, h_tx, h_rx, lam, inv_2ka, method_code, out)
    return out


def line_of_sight(
    pfl_batch: npt.ArrayLike,
    h_tx_m: npt.ArrayLike,
    h_rx_m: npt.ArrayLike,
    *,
    k_factor: float = K_FACTOR_STANDARD,
    fresnel_fraction: float = 0.6,
    freq_mhz: npt.ArrayLike | None = None,
) -> BoolArray:
    """Whether each path is clear, per profile (bool array, one per path).

    Without ``freq_mhz``: optical line of sight — no profile point (with the Earth
    bulge for ``k_factor``) rises above the straight ray between the antennas.
    With ``freq_mhz``: every interior point stays at least ``fresnel_fraction`` of
    the first Fresnel-zone radius ``sqrt(λ d1 d2 / d)`` below the ray (0.6 is the
    usual microwave-link criterion, ITU-R P.530). False where an elevation is NaN.
    Arguments as in :func:`knife_edge_loss_db`.
    """
    what = "line of sight"
    inv_2ka = _check_k(k_factor)
    if not (math.isfinite(fresnel_fraction) and fresnel_fraction >= 0.0):
        raise _setting_error("fresnel_fraction", fresnel_fraction, "must be ≥ 0")
    arr = _check_pfl_batch(pfl_batch, what)
    n = arr.shape[0]
    if freq_mhz is None:
        lam = np.zeros(n)
    else:
        lam = _wavelength_m(_per_path(freq_mhz, n, "freq_mhz", what), what)
    out = np.empty(n, dtype=np.bool_)
    if n:
        h_tx = _per_path(h_tx_m, n, "h_tx_m", what)
        h_rx = _per_path(h_rx_m, n, "h_rx_m", what)
        _in_chunks(_los_batch, arr, h_tx, h_rx, lam, float(fresnel_fraction), inv_2ka, out)
    return out


# --------------------------------------------------------------------------- path loss


@dataclass(frozen=True, eq=False)
class TerrainLoss:
    """Result of :func:`terrain_path_loss_db`, per pair (unpacks as ``loss, covered``)."""

    #: basic transmission loss, dB; NaN where ``covered`` is False
    loss_db: FloatArray
    #: the DEM covers the path (no missing elevation) and the terrain model answered
    covered: BoolArray
    #: the pair's inputs are inside the terrain model's validity range: eHata's
    #: ``covgap.ehata.EHATA_RANGE`` (frequency, effective heights, distance); True for ITM
    #: (which raises on its own limits) and the knife-edge screen; False where not covered
    in_range: BoolArray

    def __iter__(self) -> Iterator[npt.NDArray[Any]]:
        """``loss_db, covered`` (the two-field form callers unpack)."""
        return iter((self.loss_db, self.covered))


def _covers_none_error(
    dem: Dem, a: FloatArray, b: FloatArray, c: FloatArray, d: FloatArray
) -> InputFileError:
    """The "DEM covers none of the area" error, with both extents."""
    w, s, e, n = dem.bounds_lonlat
    lon = np.concatenate([a, c])
    lat = np.concatenate([b, d])
    ok = np.isfinite(lon) & np.isfinite(lat)
    span = (
        f"lon {lon[ok].min():.4f}…{lon[ok].max():.4f}, lat {lat[ok].min():.4f}…{lat[ok].max():.4f}"
        if ok.any()
        else "no finite coordinates"
    )
    return InputFileError(
        f"DEM {dem.path.name} covers none of the area: none of the {a.size} path(s) "
        f"({span}) lies wholly on it with data; the DEM spans lon {w:.4f}…{e:.4f}, "
        f"lat {s:.4f}…{n:.4f} (EPSG:4326). Use a DEM covering the villages and "
        "towers, or run without one",
        file=dem.path,
    )


def _ehata_environments(environment: Any, n: int, what: str) -> npt.NDArray[np.int64]:
    """eHata environments as NLCD codes, one per path (covgap names or codes)."""
    from .ehata import _nlcd  # lazy: covgap.ehata compiles its ufuncs on import

    codes = _nlcd(environment)
    try:
        return np.ascontiguousarray(np.broadcast_to(codes, (n,)), dtype=np.int64)
    except ValueError:
        raise PropagationRangeError(
            f"{what}: environment must be a scalar or one value per path ({n}); "
            f"got shape {codes.shape}"
        ) from None


def _tile_groups(lon: FloatArray, lat: FloatArray, tile_deg: float) -> list[FloatArray]:
    """Path indices grouped by the transmitter's tile, in a deterministic order."""
    finite = np.isfinite(lon) & np.isfinite(lat)
    tx = np.where(finite, np.floor(np.nan_to_num(lon) / tile_deg), 0).astype(np.int64)
    ty = np.where(finite, np.floor(np.nan_to_num(lat) / tile_deg), 0).astype(np.int64)
    order = np.lexsort((lon, ty, tx))
    key = np.stack([tx[order], ty[order]], axis=1)
    cut = np.flatnonzero(np.any(key[1:] != key[:-1], axis=1)) + 1
    return list(np.split(order, cut))


def terrain_path_loss_db(
    dem: Dem,
    tx_lon: npt.ArrayLike,
    tx_lat: npt.ArrayLike,
    h_tx_m: npt.ArrayLike,
    rx_lon: npt.ArrayLike,
    rx_lat: npt.ArrayLike,
    h_rx_m: npt.ArrayLike,
    freq_mhz: npt.ArrayLike,
    *,
    model: TerrainModel | str = "itm",
    step_m: float = DEFAULT_STEP_M,
    max_points: int | None = None,
    knife_edge_method: KnifeEdgeMethod | str = "deygout",
    k_factor: float = K_FACTOR_STANDARD,
    chunk_paths: int = DEFAULT_CHUNK_PATHS,
    tile_deg: float = DEFAULT_TILE_DEG,
    **itm_kwargs: Any,
) -> TerrainLoss:
    """Terrain-aware basic transmission loss per transmitter → receiver pair, dB.

    Coordinates EPSG:4326 lon/lat degrees; heights above ground, m; ``freq_mhz``
    MHz; each a scalar or one value per pair. For pairs whose path the DEM covers
    (:attr:`Profiles.covered`, and at least 1 m long):

    - ``model="itm"``: ITM point-to-point over the sampled profile
      (:func:`covgap.itm.itm_p2p_batch_db`; ``itm_kwargs`` — ``climate``,
      ``n_0_nunits``, ``pol``, ``epsilon``, ``sigma_s_per_m``, ``mdvar``,
      ``time_pct``, ``location_pct``, ``situation_pct``, ``strict`` — are passed on,
      scalars or per pair). ITM's errors (e.g. a height outside 0.5–3000 m) raise
      :class:`PropagationRangeError`;
    - ``model="knife_edge"``: free space (ITU-R P.525, geodesic distance) +
      :func:`knife_edge_loss_db` (``knife_edge_method``, ``k_factor``);
    - ``model="ehata"``: NTIA Extended Hata v3.2 over the profile
      (:func:`covgap.ehata.ehata_batch`, the profile run transmitter → receiver, so
      ``h_tx_m`` is the base station's height and ``h_rx_m`` the mobile's). Its options,
      scalars or per pair, in place of ITM's: ``environment`` (covgap clutter names or
      NLCD codes, default ``"open_rural"``), ``reliability`` (fraction of locations,
      default 0.5: the median) and ``strict`` (default False). The loss is eHata's
      as NTIA computes it (no free-space floor); ``in_range`` marks the pairs inside
      ``covgap.ehata.EHATA_RANGE``.

    Other pairs get NaN and ``covered=False``: the caller uses its terrain-free
    model there and reports both counts. Pairs are processed in batches of
    ``chunk_paths`` grouped by the transmitter's ``tile_deg`` tile, each batch
    reading only its raster window. Raises :class:`InputFileError` naming the DEM
    when it covers none of the paths (an empty input is not an error).
    """
    if model not in TERRAIN_MODELS:
        raise _setting_error("model", model, f"must be one of {', '.join(TERRAIN_MODELS)}")
    if model == "ehata":
        unknown = sorted(set(itm_kwargs) - set(EHATA_OPTIONS))
        if unknown:
            raise _setting_error(
                "model", model, f"takes only {', '.join(EHATA_OPTIONS)} (got {', '.join(unknown)})"
            )
    if model == "knife_edge":
        if itm_kwargs:
            raise _setting_error(
                "model", model, f"takes no ITM options (got {', '.join(sorted(itm_kwargs))})"
            )
        if knife_edge_method not in KNIFE_EDGE_METHODS:
            raise _setting_error(
                "knife_edge_method",
                knife_edge_method,
                f"must be one of {', '.join(KNIFE_EDGE_METHODS)}",
            )
        _check_k(k_factor)
    _check_sampling(step_m, max_points)
    if int(chunk_paths) != chunk_paths or chunk_paths < 1:
        raise _setting_error("chunk_paths", chunk_paths, "must be a positive integer")
    if not (math.isfinite(tile_deg) and tile_deg > 0.0):
        raise _setting_error("tile_deg", tile_deg, "must be a positive number of degrees")

    a, b, c, d = _as_paths(tx_lon, tx_lat, rx_lon, rx_lat)
    n = a.size
    what = f"terrain path loss ({model})"
    htx = _per_path(h_tx_m, n, "h_tx_m", what)
    hrx = _per_path(h_rx_m, n, "h_rx_m", what)
    freq = _per_path(freq_mhz, n, "freq_mhz", what)
    ehata_env: npt.NDArray[np.int64] | None = None
    if model == "ehata":
        ehata_env = _ehata_environments(itm_kwargs.pop("environment", "open_rural"), n, what)
    per_path_kw = {k: np.ndim(v) > 0 for k, v in itm_kwargs.items()}
    itm_arrays = {
        k: (_per_path(v, n, k, what) if per_path_kw[k] else v) for k, v in itm_kwargs.items()
    }
    loss = np.full(n, np.nan)
    answered = np.zeros(n, dtype=np.bool_)
    in_range = np.zeros(n, dtype=np.bool_)
    any_covered = False
    if n == 0:
        return TerrainLoss(loss, answered, in_range)
    # a path can only be covered if both its ends lie on the DEM's footprint: the
    # others are not sampled at all (a provincial DEM in a national run)
    west, south, east, north = dem.bounds_lonlat
    with np.errstate(invalid="ignore"):
        on_dem = (
            (a >= west) & (a <= east) & (c >= west) & (c <= east)
            & (b >= south) & (b <= north) & (d >= south) & (d <= north)
        )  # fmt: skip
    candidates = np.flatnonzero(on_dem)
    cache = _GridCache()
    if candidates.size:
        with _open_raster(dem) as src:
            for part in _tile_groups(a[candidates], b[candidates], tile_deg):
                group = candidates[part]
                for start in range(0, group.size, int(chunk_paths)):
                    idx = group[start : start + int(chunk_paths)]
                    prof = _sample_open(
                        src, dem, a[idx], b[idx], c[idx], d[idx], step_m, max_points, cache
                    )
                    use = prof.covered
                    if not use.any():
                        continue
                    any_covered = True
                    sel = idx[use]
                    pfl = prof.pfl[use]
                    kw: dict[str, Any] = {
                        k: (v[sel] if per_path_kw[k] else v) for k, v in itm_arrays.items()
                    }
                    if model == "itm":
                        loss[sel] = itm_p2p_batch_db(pfl, htx[sel], hrx[sel], freq[sel], **kw)
                        in_range[sel] = True
                    elif ehata_env is not None:
                        from .ehata import ehata_batch  # lazy: compiled only when used

                        eh = ehata_batch(
                            freq[sel], htx[sel], hrx[sel], pfl, ehata_env[sel],
                            pfl_from="base", **kw,
                        )  # fmt: skip
                        loss[sel] = eh.loss_db
                        in_range[sel] = eh.in_range
                    else:
                        fs = np.asarray(fspl_db(freq[sel], prof.distance_m[use] / 1000.0))
                        loss[sel] = fs + knife_edge_loss_db(
                            pfl,
                            htx[sel],
                            hrx[sel],
                            freq[sel],
                            method=knife_edge_method,
                            k_factor=k_factor,
                        )
                        in_range[sel] = True
                    answered[sel] = np.isfinite(loss[sel])
    if not any_covered:
        raise _covers_none_error(dem, a, b, c, d)
    return TerrainLoss(loss, answered, in_range & answered)


__all__ = [
    "C_M_PER_S",
    "DEFAULT_STEP_M",
    "EARTH_RADIUS_M",
    "EHATA_OPTIONS",
    "KNIFE_EDGE_METHODS",
    "K_FACTOR_STANDARD",
    "MIN_PATH_M",
    "NU_MIN",
    "TERRAIN_MODELS",
    "Dem",
    "Profiles",
    "TerrainLoss",
    "fresnel_kirchhoff_nu",
    "knife_edge_j_db",
    "knife_edge_loss_db",
    "line_of_sight",
    "open_dem",
    "sample_profiles",
    "terrain_path_loss_db",
]
