"""Predicted coverage on a regular grid: the best-server level over an area (DESIGN §4, §7).

The village analysis answers "is this village served?"; planners also want to see where
the service ends between villages. This module evaluates the same best-server level on a
regular grid of cells over the analysed area: the level of a cell is exactly what
:func:`covgap.analysis.assess_villages` gives a village standing at its centre (no
measurement, clutter ``settings.default_clutter``) — the same sectors (active only),
N_RB, pattern, path-loss model choice, clutter/body losses, calibration terms and reach.
Nothing of the link budget is re-implemented here: the sectors are prepared by the
analysis (``_prepare_sectors``) and every pair is evaluated with the analysis' and
``covgap.propagation``'s numba helpers. What differs is the search: a raster kernel
(see "kernel" below) walks the sectors tile by tile with exact upper bounds and skips
those that cannot be a cell's best server, so a national grid of ~1.4 M cells takes
seconds, not the minutes of assessing every cell centre as a village.

Grid: square cells in Web Mercator (EPSG:3857), row 0 to the north, edges on multiples of
the cell size (so grids of the same cell size line up). A cell is ``cell_m`` metres on
the ground at the area's centre latitude φc (its side in EPSG:3857 is ``cell_m / cos φc``)
and ``cell_m · cos φ / cos φc`` at latitude φ: over Vietnam (8.5–23.4° N, φc ≈ 16° N)
within −5 %…+6 % of ``cell_m``. Web Mercator because a Leaflet image overlay is stretched
linearly in that projection: the cells land exactly where they are computed, with no
resampling (a lon/lat grid would be misplaced by up to ~20 km in the middle of the
country). When the area's bounding box would hold more than ``max_cells`` cells at
``cell_m``, the cell grows in steps of 50 m until it fits; the grid records the size used.

Only cells whose centre lies inside the area are computed; the others, and the cells with
no server of the technology in reach, are NaN. Technology: the best level over all
operators of that technology's carriers — RSRP for 4G/5G, RSCP for 3G, RxLev for 2G — in
dBm (the ``best_rsrp_4g_dbm`` … ``best_rxlev_dbm`` columns of the analysis).

Terrain: the grid is terrain-free (no DEM): a DEM-based model (ITM) over every
cell × sector pair would take hours at a national scale. A scenario whose analysis model
is "itm"/"knife_edge" gets the terrain-free choice of "auto" on the grid; the grid says
so (``terrain=False``) and the map legend states it.

This module does no file I/O except :func:`write_geotiff`.
"""

from __future__ import annotations

import dataclasses
import math
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeAlias

import geopandas as gpd
import numba
import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry.base import BaseGeometry

from . import analysis as _analysis
from .analysis import (
    _G_REACH2,
    _I_CLASS,
    _I_FLAGS,
    _L_FREQ,
    _L_LEVEL0,
    _P_BW,
    _P_COS_AZ,
    _P_SECTORED,
    _P_SIN_AZ,
    EARTH_RADIUS_M,
    PATTERN_MAX_DB,
    AnalysisSettings,
    _bearing_terms,
    _cap_ranges,
    _check_settings,
    _chord2,
    _chord_to_km,
    _chord_to_m,
    _clutter_losses,
    _clutter_slopes,
    _kernel_model_code,
    _pattern_db,
    _prepare_sectors,
    _village_frame,
)
from .atomic import atomic_path
from .errors import CRSError, ScenarioError, SchemaError
from .propagation import (
    ENVIRONMENTS,
    MIN_DISTANCE_KM,
    MODEL_AUTO,
    MODEL_COST231,
    MODEL_HATA,
    MODEL_RMA,
    PROPAGATION_SOURCE,
    TERRAIN_MODEL_NAMES,
    cached_njit,
    pair_model,
    pair_model_loss,
    pair_model_loss_floor,
)

__all__ = [
    "GRID_CRS",
    "LEVELS",
    "WEB_MERCATOR_RADIUS_M",
    "Area",
    "CoverageGrid",
    "GridSettings",
    "LevelClass",
    "analysed_area",
    "check_grid_settings",
    "coverage_grid",
    "geotiff_name",
    "level_classes",
    "png_bytes",
    "write_geotiff",
]

#: CRS of the grid (and of the GeoTIFF).
GRID_CRS = "EPSG:3857"
#: Sphere radius of Web Mercator (EPSG:3857), m.
WEB_MERCATOR_RADIUS_M = 6_378_137.0
#: Per technology: (analysis column, quantity name, threshold setting of AnalysisSettings).
LEVELS: dict[str, tuple[str, str, str]] = {
    "2G": ("best_rxlev_dbm", "RxLev", "threshold_rxlev_dbm"),
    "3G": ("best_rscp_dbm", "RSCP", "threshold_rscp_dbm"),
    "4G": ("best_rsrp_4g_dbm", "RSRP", "threshold_rsrp_dbm"),
    "5G": ("best_rsrp_5g_dbm", "RSRP", "threshold_rsrp_dbm"),
}
_DEFAULT_ANALYSIS = AnalysisSettings()
#: The cell grows in steps of this many metres when the grid would be too large.
CELL_STEP_M = 50.0
#: zlib level of the map's PNG: 6 (zlib's default) is ~8× faster than 9 on a national grid
#: (0.07 vs 0.56 s for 11.7 M cells) for a data stream ~8 % larger (210 vs 194 kB).
PNG_COMPRESSION = 6
#: Colour classes, strongest first: (dB above the threshold, colour). ColorBrewer BuPu
#: (Brewer & Harrower, colorbrewer2.org; marked colour-blind safe there): one hue ramp,
#: darker = stronger. Below the threshold nothing is drawn (it is the low-signal area).
_CLASS_STEPS: tuple[tuple[float, str], ...] = (
    (30.0, "#810F7C"),
    (20.0, "#8856A7"),
    (10.0, "#8C96C6"),
    (0.0, "#B3CDE3"),
)


@dataclass(frozen=True)
class GridSettings:
    """Settings of the predicted-coverage grid (scenario table ``[maps]``)."""

    #: Ground size of a cell at the area's centre latitude, m (grown when too many cells).
    cell_m: float = 500.0
    #: Most cells inside the area (compute time; estimated from the area, see _layout).
    max_cells: int = 1_500_000
    #: Most cells in the grid's bounding box (memory: 4 bytes each; image size on the map).
    max_box_cells: int = 16_000_000
    #: Technology whose best level is mapped: "2G", "3G", "4G" or "5G".
    technology: str = "4G"


@dataclass(frozen=True, eq=False)
class CoverageGrid:
    """Best-server level per cell (result of :func:`coverage_grid`).

    ``level_dbm[row, col]`` (float32, dBm) is the level at the centre of the cell whose
    EPSG:3857 bounds are ``x0_m + col·cell_merc_m … + cell_merc_m`` (west → east) and
    ``y0_m − (row + 1)·cell_merc_m … y0_m − row·cell_merc_m`` (row 0 north); NaN outside
    the area or with no server of the technology in reach.
    """

    level_dbm: npt.NDArray[np.float32]
    #: west edge of column 0 and north edge of row 0, EPSG:3857 metres
    x0_m: float
    y0_m: float
    #: side of a cell in EPSG:3857 metres
    cell_merc_m: float
    #: ground size of a cell at the centre latitude, m (after any growth)
    cell_m: float
    #: the centre latitude the cell size refers to, degrees
    centre_lat_deg: float
    technology: str
    #: "RSRP", "RSCP" or "RxLev"
    quantity: str
    #: the technology's threshold of the analysis, dBm
    threshold_dbm: float
    #: the clutter the cells take (the analysis' default clutter)
    clutter: str
    #: the analysis model used ("auto", "hata", …; never a terrain model)
    model: str
    #: always False: the grid is terrain-free (see the module docstring)
    terrain: bool
    #: cells whose centre is inside the area (computed)
    n_cells_computed: int
    #: sector–cell pairs whose path loss was evaluated (the others were skipped by an
    #: exact bound: they could not be the cell's best server)
    n_pairs: int

    @property
    def shape(self) -> tuple[int, int]:
        return (int(self.level_dbm.shape[0]), int(self.level_dbm.shape[1]))

    @property
    def transform(self) -> tuple[float, float, float, float, float, float]:
        """Affine ``(a, b, c, d, e, f)`` (rasterio order): x = c + a·col, y = f + e·row."""
        return (self.cell_merc_m, 0.0, self.x0_m, 0.0, -self.cell_merc_m, self.y0_m)

    @property
    def bounds_merc(self) -> tuple[float, float, float, float]:
        """(west, south, east, north), EPSG:3857 m."""
        nrow, ncol = self.shape
        return (
            self.x0_m,
            self.y0_m - nrow * self.cell_merc_m,
            self.x0_m + ncol * self.cell_merc_m,
            self.y0_m,
        )

    @property
    def bounds_lonlat(self) -> tuple[float, float, float, float]:
        """(west, south, east, north), degrees (EPSG:4326)."""
        w, s, e, n = self.bounds_merc
        lon, lat = _to_lonlat(np.array([w, e]), np.array([s, n]))
        return (float(lon[0]), float(lat[0]), float(lon[1]), float(lat[1]))

    def centres_lonlat(
        self, rows: npt.ArrayLike, cols: npt.ArrayLike
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """Longitude and latitude (degrees) of the centres of cells ``(rows, cols)``."""
        return _centres(self.x0_m, self.y0_m, self.cell_merc_m, rows, cols)

    def cell_of(
        self, lon: npt.ArrayLike, lat: npt.ArrayLike
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """Row and column of the cell holding each point (−1, −1 outside the grid)."""
        x, y = _to_merc(np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64))
        col = np.floor((x - self.x0_m) / self.cell_merc_m).astype(np.int64)
        row = np.floor((self.y0_m - y) / self.cell_merc_m).astype(np.int64)
        nrow, ncol = self.shape
        out = (row < 0) | (row >= nrow) | (col < 0) | (col >= ncol)
        return np.where(out, -1, row), np.where(out, -1, col)

    def sample(self, lon: npt.ArrayLike, lat: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """The level (dBm) of the cell holding each point; NaN outside the grid."""
        row, col = self.cell_of(lon, lat)
        inside = row >= 0
        out = np.full(row.shape, np.nan)
        out[inside] = self.level_dbm[row[inside], col[inside]]
        return out

    def crop(self, bounds_lonlat: Sequence[float]) -> CoverageGrid | None:
        """The cells overlapping ``(west, south, east, north)`` (degrees); None when none do.
        The cells keep their positions (the crop of a grid lines up with it)."""
        w, s, e, n = (float(b) for b in bounds_lonlat)
        x, y = _to_merc(np.array([w, e]), np.array([s, n]))
        nrow, ncol = self.shape
        c0 = max(math.floor((x[0] - self.x0_m) / self.cell_merc_m), 0)
        c1 = min(math.ceil((x[1] - self.x0_m) / self.cell_merc_m), ncol)
        r0 = max(math.floor((self.y0_m - y[1]) / self.cell_merc_m), 0)
        r1 = min(math.ceil((self.y0_m - y[0]) / self.cell_merc_m), nrow)
        if c0 >= c1 or r0 >= r1:
            return None
        part = np.ascontiguousarray(self.level_dbm[r0:r1, c0:c1])
        return dataclasses.replace(
            self,
            level_dbm=part,
            x0_m=self.x0_m + c0 * self.cell_merc_m,
            y0_m=self.y0_m - r0 * self.cell_merc_m,
            n_cells_computed=int(np.isfinite(part).sum()),
        )


# --------------------------------------------------------------------------- projection


def _to_merc(
    lon: npt.NDArray[np.float64], lat: npt.NDArray[np.float64]
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """EPSG:4326 degrees → EPSG:3857 metres (spherical Mercator, the EPSG formulas)."""
    lat_c = np.clip(lat, -85.06, 85.06)
    x = WEB_MERCATOR_RADIUS_M * np.radians(lon)
    y = WEB_MERCATOR_RADIUS_M * np.log(np.tan(np.pi / 4.0 + np.radians(lat_c) / 2.0))
    return x, y


def _centres(
    x0: float, y0: float, cm: float, rows: npt.ArrayLike, cols: npt.ArrayLike
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Lon/lat (degrees) of the centres of cells ``(rows, cols)`` of a grid."""
    x = x0 + (np.asarray(cols, dtype=np.float64) + 0.5) * cm
    y = y0 - (np.asarray(rows, dtype=np.float64) + 0.5) * cm
    return _to_lonlat(x, y)


def _to_lonlat(
    x: npt.NDArray[np.float64], y: npt.NDArray[np.float64]
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """EPSG:3857 metres → EPSG:4326 degrees."""
    lon = np.degrees(x / WEB_MERCATOR_RADIUS_M)
    lat = np.degrees(2.0 * np.arctan(np.exp(y / WEB_MERCATOR_RADIUS_M)) - np.pi / 2.0)
    return lon, lat


# --------------------------------------------------------------------------- area


#: What :func:`coverage_grid` takes as its area: a (west, south, east, north) box in
#: degrees, or EPSG:4326 polygons.
Area: TypeAlias = (
    tuple[float, float, float, float] | BaseGeometry | Sequence[BaseGeometry] | gpd.GeoSeries
)


def _area_geoms(area: Area) -> list[BaseGeometry] | None:
    """Polygons of ``area`` (EPSG:4326), or None for a plain bounding box."""
    if isinstance(area, tuple) and len(area) == 4 and all(isinstance(v, int | float) for v in area):
        return None
    if isinstance(area, gpd.GeoSeries | gpd.GeoDataFrame):
        if area.crs is not None and area.crs.to_epsg() != 4326:
            try:
                area = area.to_crs(4326)
            except Exception as exc:
                raise CRSError(f"area: cannot transform {area.crs} to EPSG:4326: {exc}") from exc
        geoms = list(area.geometry) if isinstance(area, gpd.GeoDataFrame) else list(area)
    elif isinstance(area, BaseGeometry):
        geoms = [area]
    else:
        geoms = list(area)
    out = [g for g in geoms if g is not None and not g.is_empty]
    if not out:
        raise SchemaError("area: no geometry to compute the coverage grid over")
    bad = [g.geom_type for g in out if g.geom_type not in ("Polygon", "MultiPolygon")]
    if bad:
        raise SchemaError(f"area: expected polygons, got {bad[0]}")
    return out


def _bounds(area: Area, geoms: list[BaseGeometry] | None) -> tuple[float, float, float, float]:
    if geoms is None:
        assert isinstance(area, tuple)
        w, s, e, n = (float(v) for v in area)
    else:
        w, s, e, n = (float(v) for v in shapely.total_bounds(np.asarray(geoms, dtype=object)))
    if not (
        all(math.isfinite(v) for v in (w, s, e, n))
        and -180.0 <= w < e <= 180.0
        and -85.0 <= s < n <= 85.0
    ):
        raise SchemaError(
            f"area bounds ({w}, {s}, {e}, {n}): expected west < east, south < north in "
            "EPSG:4326 degrees (latitudes within ±85°)"
        )
    return w, s, e, n


def analysed_area(
    villages: gpd.GeoDataFrame,
    boundaries: gpd.GeoDataFrame | None = None,
    *,
    margin_m: float = 10_000.0,
) -> list[BaseGeometry]:
    """The area the analysis covers, as EPSG:4326 polygons for :func:`coverage_grid`.

    With ``boundaries`` (province polygons with ``province_code``): the provinces that
    hold at least one village (by the villages' ``province_code``). Otherwise (or when
    none matches): the villages' convex hull grown by ``margin_m`` metres.
    """
    if len(villages) == 0:
        raise SchemaError("villages: none given, so there is no analysed area")
    v = villages
    if v.crs is not None and v.crs.to_epsg() != 4326:
        v = v.to_crs(4326)
    if (
        boundaries is not None
        and "province_code" in boundaries.columns
        and "province_code" in v.columns
    ):
        b = boundaries if boundaries.crs is None else boundaries.to_crs(4326)
        codes = set(v["province_code"].dropna().astype(str))
        keep = b["province_code"].astype(str).isin(codes).to_numpy(dtype=bool)
        geoms = [g for g in b.geometry[keep] if g is not None and not g.is_empty]
        if geoms:
            return geoms
    hull = shapely.convex_hull(shapely.union_all(np.asarray(v.geometry, dtype=object)))
    lat_c = (hull.bounds[1] + hull.bounds[3]) / 2.0
    merc = gpd.GeoSeries([hull], crs=4326).to_crs(GRID_CRS)
    grown = merc.buffer(margin_m / math.cos(math.radians(lat_c)), quad_segs=8)
    return list(grown.to_crs(4326))


# --------------------------------------------------------------------------- grid


def check_grid_settings(grid: GridSettings) -> None:
    """Raise :class:`ScenarioError` (naming the ``[maps]`` key) for a bad setting."""

    def bad(key: str, value: object, expected: str) -> ScenarioError:
        return ScenarioError(f"[maps] {key} = {value!r}: expected {expected}")

    if grid.technology not in LEVELS:
        raise bad("coverage_technology", grid.technology, "one of " + ", ".join(LEVELS))
    if not (math.isfinite(grid.cell_m) and grid.cell_m >= 10.0):
        raise bad("coverage_cell_m", grid.cell_m, "a cell size ≥ 10 m")
    if not (isinstance(grid.max_cells, int) and grid.max_cells >= 1):
        raise bad("coverage_max_cells", grid.max_cells, "an integer ≥ 1")
    if not (isinstance(grid.max_box_cells, int) and grid.max_box_cells >= 1):
        raise bad("coverage_max_box_cells", grid.max_box_cells, "an integer ≥ 1")


def _layout(
    bounds: tuple[float, float, float, float],
    area_merc_m2: float | None,
    grid: GridSettings,
) -> tuple[float, float, float, int, int, float, float]:
    """(x0, y0, cell_merc, nrow, ncol, cell_m used, centre latitude) of the grid.

    The cell grows from ``grid.cell_m`` in steps of :data:`CELL_STEP_M` until the cells
    inside the area (estimated as its EPSG:3857 area / cell², or the whole box for a box)
    are at most ``grid.max_cells`` and the box at most ``grid.max_box_cells``."""
    w, s, e, n = bounds
    lat_c = round((s + n) / 2.0, 6)
    scale = 1.0 / math.cos(math.radians(lat_c))
    (xw, xe), (ys, yn) = _to_merc(np.array([w, e]), np.array([s, n]))
    cell_m = float(grid.cell_m)
    while True:
        cm = cell_m * scale
        c0, c1 = math.floor(xw / cm), math.ceil(xe / cm)
        r0, r1 = math.floor(ys / cm), math.ceil(yn / cm)
        ncol, nrow = max(c1 - c0, 1), max(r1 - r0, 1)
        box = nrow * ncol
        inside = box if area_merc_m2 is None else min(area_merc_m2 / (cm * cm), box)
        excess = max(inside / grid.max_cells, box / grid.max_box_cells)
        if excess <= 1.0:
            return c0 * cm, r1 * cm, cm, nrow, ncol, cell_m, lat_c
        grown = cell_m * math.sqrt(excess)
        cell_m = max(math.ceil(grown / CELL_STEP_M) * CELL_STEP_M, cell_m + CELL_STEP_M)


def _mask(
    merc: gpd.GeoSeries | None, x0: float, y0: float, cm: float, nrow: int, ncol: int
) -> npt.NDArray[np.bool_]:
    """Cells whose centre lies inside the area (``merc``: its polygons in EPSG:3857)."""
    if merc is None:
        return np.ones((nrow, ncol), dtype=bool)
    from rasterio.features import rasterize  # lazy: rasterio only when a grid is made
    from rasterio.transform import Affine

    burnt = rasterize(
        ((g, 1) for g in merc if g is not None and not g.is_empty),
        out_shape=(nrow, ncol),
        transform=Affine(cm, 0.0, x0, 0.0, -cm, y0),
        fill=0,
        all_touched=False,
        dtype="uint8",
    )
    return np.asarray(burnt, dtype=bool)


# --------------------------------------------------------------------------- kernel
# The grid is evaluated tile by tile (TILE_CELLS × TILE_CELLS cells; a thread owns a tile,
# so no two threads write the same cell, and the result does not depend on the threads).
#
# Loss floors: the sectors of a loss class (frequency and height: the same coefficient
# row) share a table of the least loss of each model over every distance from each chord
# bin on (covgap.propagation.pair_model_loss_floor: every model's loss grows with
# distance), and of the least over the models the run's model choice can use.
#
# Bounds: an upper bound of a sector's level anywhere on a tile is its level before
# losses − the least loss of any usable model from the tile's least distance − the
# clutter/body losses − the least horizontal pattern loss over the bearings of the tile
# (+ the largest calibration-slope term over the tile's distances).
#
# Per tile: the candidate sectors (whose reach can touch the tile, found with the
# analysis' sector index) get their tile bound without the pattern term and are ordered
# strongest first in bins of BOUND_BIN_DB. Each cell walks them in that order and stops
# at the first bin whose top is below its best so far (no later sector can beat it). A
# sector it reaches gets the pattern term of its tile bound (once per tile); if the bound
# still reaches the cell's best, the sector is tested against the least loss of its
# model at the cell's distance, and then evaluated exactly as the analysis does (the
# same helpers: distance, model choice, loss, pattern). The result is the analysis'
# maximum, whatever the order: the same value as assessing the cell's centre as a
# village (tests/test_coverage_grid.py compares them).

#: Cells per side of a tile (a thread's unit of work).
TILE_CELLS = 12
#: Width of a bin of the loss-floor tables: a chord (unit sphere) of 50 m.
FLOOR_BIN_CHORD = 50.0 / EARTH_RADIUS_M
#: Width of a bin of the candidates' bounds, dB.
BOUND_BIN_DB = 1.0
#: Tiles handed to a thread at a time (dynamic scheduling balances dense and sparse areas).
_TILE_CHUNK = 4
#: Margin added to the bounds, dB (float rounding of a bound vs the exact level: ~1e-13).
_GRID_MARGIN_DB = 1e-6
#: Safety margin of a block's radius, m (blocks are a few km across).
_RADIUS_MARGIN_M = 1.0
#: Earth radius (the analysis' haversine radius), km.
_R_KM = EARTH_RADIUS_M / 1000.0
#: Model codes of the floor tables' second axis (pair_model's codes: Hata 0 … FSPL 3).
_N_TABLE_MODELS = 4
_ANALYSIS_SOURCE = Path(_analysis.__file__)


@cached_njit(depends_on=(PROPAGATION_SOURCE,))
def _floor_tables(
    coef: npt.NDArray[np.float64],
    first: npt.NDArray[np.int64],
    model: int,
    env: int,
    n_bins: int,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Loss floors (dB) per loss class ``c`` (sector ``first[c]`` stands for it) and
    chord bin ``b`` (chords ≥ ``b · FLOOR_BIN_CHORD``, i.e. distances at least that
    chord's, and at least MIN_DISTANCE_KM): ``by_model[c, m, b]`` for each model code
    ``m`` < 4, and ``least[c, b]`` the least over the models ``model`` can use
    (MODEL_AUTO: Hata, COST-231 or RMa)."""
    by_model = np.empty((first.size, _N_TABLE_MODELS, n_bins))
    least = np.empty((first.size, n_bins))
    for c in range(first.size):
        k = first[c]
        for b in range(n_bins):
            edge = b * FLOOR_BIN_CHORD
            d = max(_chord_to_km(edge * edge), MIN_DISTANCE_KM)
            for m in range(_N_TABLE_MODELS):
                by_model[c, m, b] = pair_model_loss_floor(coef, k, m, d, env)
            if model == MODEL_AUTO:
                least[c, b] = min(
                    by_model[c, MODEL_HATA, b],
                    by_model[c, MODEL_COST231, b],
                    by_model[c, MODEL_RMA, b],
                )
            else:
                least[c, b] = by_model[c, model, b]
    return by_model, least


@cached_njit(inline="always")
def _block(
    r0: int,
    r1: int,
    c0: int,
    c1: int,
    lat_rad: npt.NDArray[np.float64],
    lon_rad: npt.NDArray[np.float64],
    x0: float,
    y0: float,
    cm: float,
) -> tuple[float, float, float, float, float, float, float, float, float, float, float]:
    """Centre of the cells ``[r0, r1) × [c0, c1)``: latitude, longitude (rad) and frame
    (sin φ, cos φ, sin λ, cos λ, unit vector x, y, z: the analysis' ``_village_frame``);
    the block's radius (km, to its farthest corner cell centre, with a margin) and the
    sine of its angle."""
    x = x0 + (0.5 * (c0 + c1 - 1) + 0.5) * cm
    y = y0 - (0.5 * (r0 + r1 - 1) + 0.5) * cm
    lon = x / WEB_MERCATOR_RADIUS_M
    lat = 2.0 * math.atan(math.exp(y / WEB_MERCATOR_RADIUS_M)) - math.pi / 2.0
    sp, cp, sl, cl, cx, cy, cz = _village_frame(lat, lon)
    radius_m = 0.0
    for rr in (r0, r1 - 1):
        for cc in (c0, c1 - 1):
            _, _, _, _, ux, uy, uz = _village_frame(lat_rad[rr], lon_rad[cc])
            dx = ux - cx
            dy = uy - cy
            dz = uz - cz
            radius_m = max(radius_m, _chord_to_m(dx * dx + dy * dy + dz * dz))
    radius_m = radius_m * (1.0 + 1e-6) + _RADIUS_MARGIN_M
    radius_km = radius_m / 1000.0
    return lat, lon, sp, cp, sl, cl, cx, cy, cz, radius_km, math.sin(radius_m / EARTH_RADIUS_M)


@cached_njit(inline="always")
def _distance_bound(
    lvl: npt.NDArray[np.float64],
    ints: npt.NDArray[np.int64],
    least: npt.NDArray[np.float64],
    k: int,
    d_km: float,
    radius_km: float,
    extra: float,
    slope: float,
) -> float:
    """Upper bound (dBm, before the pattern term) of sector ``k``'s level on a block whose
    centre is ``d_km`` away and whose cells lie within ``radius_km`` of it."""
    d_lo = d_km - radius_km
    b = 0
    if d_lo > 0.0:  # the bin of a chord ≤ d_lo's: 2 sin(x/2) ≥ x − x³/24
        x = d_lo / _R_KM
        b = min(int(x * (1.0 - x * x / 24.0) / FLOOR_BIN_CHORD), least.shape[1] - 1)
    u = lvl[k, _L_LEVEL0] - least[ints[k, _I_CLASS], b] - extra
    if slope != 0.0:
        lo = max(d_lo, MIN_DISTANCE_KM)
        hi = max(d_km + radius_km, MIN_DISTANCE_KM)
        u += max(slope * math.log10(lo), slope * math.log10(hi))
    return u + _GRID_MARGIN_DB


@cached_njit(inline="always")
def _pattern_floor_db(
    geo: npt.NDArray[np.float64],
    pat: npt.NDArray[np.float64],
    k: int,
    trig: tuple[float, float, float, float],
    chord2: float,
    sin_radius: float,
) -> float:
    """Least horizontal pattern loss (dB) of sector ``k`` toward any point of a block
    (``trig``: the frame of its centre, ``chord2`` the squared chord sector → centre,
    ``sin_radius`` the sine of the block's angular radius ρ). Seen from the sector, the
    block's bearings lie within asin(sin ρ / sin δ) of the centre's (δ its distance)."""
    if pat[k, _P_SECTORED] == 0.0:
        return 0.0
    sin_d = math.sqrt(chord2 * (1.0 - 0.25 * chord2))
    if sin_radius >= sin_d:
        return 0.0  # the block may surround the sector
    spread_deg = math.degrees(math.asin(sin_radius / sin_d)) + 1e-6
    east, north, dot = _bearing_terms(geo, pat, k, trig)
    cross = east * pat[k, _P_COS_AZ] - north * pat[k, _P_SIN_AZ]
    theta = math.degrees(math.atan2(abs(cross), dot)) - spread_deg
    if theta <= 0.0:
        return 0.0
    ratio = theta / pat[k, _P_BW]
    return min(12.0 * ratio * ratio, PATTERN_MAX_DB)


@cached_njit(parallel=True, depends_on=(PROPAGATION_SOURCE, _ANALYSIS_SOURCE))
def _grid_kernel(
    tiles: npt.NDArray[np.int64],
    lat_rad: npt.NDArray[np.float64],
    lon_rad: npt.NDArray[np.float64],
    inside: npt.NDArray[np.bool_],
    x0: float,
    y0: float,
    cm: float,
    geo: npt.NDArray[np.float64],
    pat: npt.NDArray[np.float64],
    lvl: npt.NDArray[np.float64],
    ints: npt.NDArray[np.int64],
    coef: npt.NDArray[np.float64],
    reach_km: npt.NDArray[np.float64],
    by_model: npt.NDArray[np.float64],
    least: npt.NDArray[np.float64],
    cell_start: npt.NDArray[np.int64],
    grid: tuple[float, float, float, float, int, int],
    model: int,
    env: int,
    extra: float,
    slope: float,
    level: npt.NDArray[np.float32],
    pairs: npt.NDArray[np.int64],
) -> None:
    """Best level of every cell inside the area, tile by tile (see the comment above).

    ``tiles[t]`` = (first row, first column) of tile ``t``; ``lat_rad[row]``,
    ``lon_rad[col]`` the cell centres; ``reach_km`` per sector; ``by_model``/``least``
    from :func:`_floor_tables`; ``level`` (NaN-filled) receives the best level (dBm) of
    each inside cell with a sector in reach; ``pairs[t]`` the pairs evaluated exactly.
    """
    nrow, ncol = inside.shape
    lat0, lon0, cell_rad, search_rad, n_brow, n_bcol = grid
    n_bins = least.shape[1]
    calibrated = slope != 0.0
    for t in numba.prange(tiles.shape[0]):
        r0 = tiles[t, 0]
        c0 = tiles[t, 1]
        r1 = min(r0 + TILE_CELLS, nrow)
        c1 = min(c0 + TILE_CELLS, ncol)
        lat_c, lon_c, sp, cp, sl, cl, cx, cy, cz, radius_km, sin_radius = _block(
            r0, r1, c0, c1, lat_rad, lon_rad, x0, y0, cm
        )
        trig_c = (sp, cp, sl, cl)
        # candidates: sectors whose reach can touch the tile, with their tile bound
        ranges, n_ranges = _cap_ranges(
            lat_c,
            lon_c,
            cell_start,
            (lat0, lon0, cell_rad, search_rad + radius_km / _R_KM, n_brow, n_bcol),
        )
        n_max = 0
        for r in range(n_ranges):
            n_max += ranges[r, 1] - ranges[r, 0]
        cand = np.empty(n_max, dtype=np.int64)
        bound = np.empty(n_max)
        centre_chord2 = np.empty(n_max)
        n = 0
        top = -np.inf
        low = np.inf
        for r in range(n_ranges):
            for k in range(ranges[r, 0], ranges[r, 1]):
                chord2 = _chord2(geo, k, cx, cy, cz)
                d_c = _chord_to_m(chord2) / 1000.0
                if d_c - radius_km > reach_km[k]:
                    continue
                u = _distance_bound(lvl, ints, least, k, d_c, radius_km, extra, slope)
                cand[n] = k
                bound[n] = u
                centre_chord2[n] = chord2
                n += 1
                top = max(top, u)
                low = min(low, u)
        if n == 0:
            continue
        # candidates in bins of BOUND_BIN_DB, strongest first (a counting sort)
        n_bb = int((top - low) / BOUND_BIN_DB) + 1
        start = np.zeros(n_bb + 1, dtype=np.int64)
        slot = np.empty(n, dtype=np.int64)
        for j in range(n):
            s = min(int((top - bound[j]) / BOUND_BIN_DB), n_bb - 1)
            slot[j] = s
            start[s + 1] += 1
        for s in range(n_bb):
            start[s + 1] += start[s]
        order = np.empty(n, dtype=np.int64)
        fill = start[:n_bb].copy()
        for j in range(n):
            order[fill[slot[j]]] = j
            fill[slot[j]] += 1
        bin_top = np.empty(n)
        for s in range(n_bb):  # each bin's highest bound
            hi = -np.inf
            for j in range(start[s], start[s + 1]):
                hi = max(hi, bound[order[j]])
            for j in range(start[s], start[s + 1]):
                bin_top[j] = hi
        patterned = np.zeros(n, dtype=np.bool_)  # the pattern term is in bound[o]
        evaluated = 0
        for row in range(r0, r1):
            phi = lat_rad[row]
            for col in range(c0, c1):
                if not inside[row, col]:
                    continue
                sp, cp, sl, cl, vx, vy, vz = _village_frame(phi, lon_rad[col])
                trig = (sp, cp, sl, cl)
                best = -np.inf
                for j in range(n):
                    if bin_top[j] < best:
                        break
                    o = order[j]
                    if bound[o] < best:
                        continue
                    k = cand[o]
                    if not patterned[o]:
                        patterned[o] = True
                        bound[o] -= _pattern_floor_db(
                            geo, pat, k, trig_c, centre_chord2[o], sin_radius
                        )
                        if bound[o] < best:
                            continue
                    chord2 = _chord2(geo, k, vx, vy, vz)
                    if chord2 > geo[k, _G_REACH2]:
                        continue
                    c = ints[k, _I_CLASS]
                    b = min(int(math.sqrt(chord2) / FLOOR_BIN_CHORD), n_bins - 1)
                    room = lvl[k, _L_LEVEL0] - extra - best + _GRID_MARGIN_DB
                    if calibrated:
                        d = _chord_to_km(chord2)
                        rise = slope * math.log10(d)
                    else:
                        if least[c, b] > room:
                            continue
                        d = _chord_to_km(chord2)
                        rise = 0.0
                    used, _ = pair_model(ints[k, _I_FLAGS], lvl[k, _L_FREQ], model, d, env)
                    if by_model[c, used, b] - rise > room:
                        continue
                    evaluated += 1
                    value = lvl[k, _L_LEVEL0] - pair_model_loss(coef, k, used, d, env) - extra
                    if calibrated:
                        value += rise
                    if value <= best:
                        continue
                    value -= _pattern_db(geo, pat, k, trig)
                    if value > best:
                        best = value
                if best > -np.inf:
                    level[row, col] = best
        pairs[t] = evaluated


def _tiles(inside: npt.NDArray[np.bool_], size: int) -> npt.NDArray[np.int64]:
    """(first row, first column) of the ``size`` × ``size`` tiles holding an inside cell,
    row-major."""
    nrow, ncol = inside.shape
    r = np.arange(0, nrow, size)
    c = np.arange(0, ncol, size)
    per_tile = np.logical_or.reduceat(np.logical_or.reduceat(inside, r, axis=0), c, axis=1)
    tr, tc = np.nonzero(per_tile)
    return np.ascontiguousarray(np.stack([r[tr], c[tc]], axis=1).astype(np.int64))


def coverage_grid(
    towers: gpd.GeoDataFrame,
    area: Area,
    settings: AnalysisSettings = _DEFAULT_ANALYSIS,
    grid: GridSettings = GridSettings(),
) -> CoverageGrid:
    """Best-server level (dBm) of ``grid.technology`` on a regular grid over ``area``.

    ``towers`` canonical (DESIGN §3, EPSG:4326; only active sectors count); ``area`` a
    ``(west, south, east, north)`` box in degrees, or EPSG:4326 polygon(s) (a geometry, a
    list of them or a GeoSeries; e.g. :func:`analysed_area`) — cells whose centre lies
    outside are NaN and not computed. ``settings`` are the analysis settings of the run:
    each cell gets the level :func:`covgap.analysis.assess_villages` gives a village of
    clutter ``settings.default_clutter`` at its centre (a terrain model in
    ``settings.model`` becomes "auto": the grid is terrain-free). See the module
    docstring for the grid's geometry and the kernel's comment for the search.
    """
    check_grid_settings(grid)
    _, quantity, threshold_key = LEVELS[grid.technology]
    geoms = _area_geoms(area)
    bounds = _bounds(area, geoms)
    merc = None if geoms is None else gpd.GeoSeries(geoms, crs=4326).to_crs(GRID_CRS)
    area_m2 = None if merc is None else float(merc.area.sum())
    x0, y0, cm, nrow, ncol, cell_m, lat_c = _layout(bounds, area_m2, grid)
    inside = _mask(merc, x0, y0, cm, nrow, ncol)
    level = np.full((nrow, ncol), np.nan, dtype=np.float32)
    run_settings = (
        dataclasses.replace(settings, model="auto")
        if settings.model in TERRAIN_MODEL_NAMES
        else settings
    )
    if "technology" not in towers.columns:
        raise SchemaError("towers: missing column technology", column="technology")
    if towers.crs is not None and towers.crs.to_epsg() != 4326:
        raise CRSError(
            f"towers are in {towers.crs.to_string()}; the coverage grid takes EPSG:4326 lon/lat"
        )
    _check_settings(run_settings)
    tech = towers[(towers["technology"] == grid.technology).to_numpy(dtype=bool, na_value=False)]
    sectors = _prepare_sectors(tech, run_settings)
    n_inside = int(np.count_nonzero(inside))
    n_pairs = 0
    if len(sectors.tower_id) and n_inside:
        # cell centres per column and per row (degrees, as a village's point would hold
        # them, then radians as the analysis converts them)
        lon_deg, _ = _centres(x0, y0, cm, np.zeros(ncol), np.arange(ncol))
        _, lat_deg = _centres(x0, y0, cm, np.arange(nrow), np.zeros(nrow))
        env = ENVIRONMENTS.index(run_settings.default_clutter)
        mcode = _kernel_model_code(run_settings)
        tiles = _tiles(inside, TILE_CELLS)
        pairs = np.zeros(len(tiles), dtype=np.int64)
        classes = sectors.ints[:, _I_CLASS]
        _, first = np.unique(classes, return_index=True)
        reach_km = (
            2.0 * EARTH_RADIUS_M * np.arcsin(0.5 * np.sqrt(sectors.geo[:, _G_REACH2])) / 1000.0
        ) * (1.0 + 1e-9) + 1e-6
        radius_m = math.sqrt(2.0) * TILE_CELLS * cm * math.cos(math.radians(lat_deg.min()))
        n_bins = int((sectors.grid[3] * EARTH_RADIUS_M + radius_m) / 50.0) + 2
        by_model, least = _floor_tables(sectors.coef, first.astype(np.int64), mcode, env, n_bins)
        with numba.parallel_chunksize(_TILE_CHUNK):
            _grid_kernel(
                tiles,
                np.radians(lat_deg),
                np.radians(lon_deg),
                inside,
                x0,
                y0,
                cm,
                sectors.geo,
                sectors.pat,
                sectors.lvl,
                sectors.ints,
                sectors.coef,
                reach_km,
                by_model,
                least,
                sectors.cell_start,
                sectors.grid,
                mcode,
                env,
                float(_clutter_losses(run_settings)[env]),
                float(_clutter_slopes(run_settings)[env]),
                level,
                pairs,
            )
        n_pairs = int(pairs.sum())
    return CoverageGrid(
        level_dbm=level,
        x0_m=x0,
        y0_m=y0,
        cell_merc_m=cm,
        cell_m=cell_m,
        centre_lat_deg=lat_c,
        technology=grid.technology,
        quantity=quantity,
        threshold_dbm=float(getattr(settings, threshold_key)),
        clutter=settings.default_clutter,
        model=run_settings.model,
        terrain=False,
        n_cells_computed=n_inside,
        n_pairs=n_pairs,
    )


# --------------------------------------------------------------------------- outputs


def geotiff_name(grid: CoverageGrid) -> str:
    """File name of the grid's GeoTIFF, e.g. ``"predicted_rsrp_4g.tif"``."""
    return f"predicted_{grid.quantity.lower()}_{grid.technology.lower()}.tif"


def write_geotiff(grid: CoverageGrid, path: str | Path) -> Path:
    """Write the grid as a single-band float32 GeoTIFF (EPSG:3857, dBm, NaN = no data,
    deflate-compressed, tiled), atomically; return the path. Tags say the technology,
    quantity, unit, threshold, cell size, clutter and model. Same grid → same bytes."""
    import rasterio  # lazy: rasterio only when a grid is written
    from rasterio.transform import Affine

    nrow, ncol = grid.shape
    profile: dict[str, Any] = {
        "driver": "GTiff",
        "height": nrow,
        "width": ncol,
        "count": 1,
        "dtype": "float32",
        "crs": GRID_CRS,
        "transform": Affine(*grid.transform),
        "nodata": float("nan"),
        "compress": "deflate",
        "predictor": 3,
        "tiled": True,
        "blockxsize": 256,
        "blockysize": 256,
    }
    with atomic_path(path) as tmp, rasterio.open(tmp, "w", **profile) as dst:
        dst.write(grid.level_dbm, 1)
        dst.set_band_description(1, f"predicted best-server {grid.technology} {grid.quantity}")
        dst.update_tags(
            technology=grid.technology,
            quantity=grid.quantity,
            units="dBm",
            threshold_dbm=f"{grid.threshold_dbm:g}",
            cell_m=f"{grid.cell_m:g}",
            cell_m_at_latitude_deg=f"{grid.centre_lat_deg:g}",
            clutter=grid.clutter,
            model=grid.model,
            terrain="no",
            source="covgap: covgap.analysis.assess_villages at each cell centre",
        )
    return Path(path)


@dataclass(frozen=True)
class LevelClass:
    """One colour class of the map: ``lower_dbm <= level < upper_dbm`` (None: open)."""

    lower_dbm: float
    upper_dbm: float | None
    colour: str
    label: str


def level_classes(threshold_dbm: float) -> list[LevelClass]:
    """The map's colour classes for a threshold, strongest first: ≥ threshold + 30,
    +20…+30, +10…+20 and threshold…+10 dB (e.g. −80 / −90 / −100 / −110 dBm for 4G RSRP).
    Levels below the threshold are not drawn."""
    out: list[LevelClass] = []
    upper: float | None = None
    for step, colour in _CLASS_STEPS:
        lower = threshold_dbm + step
        label = f"≥ {lower:g} dBm" if upper is None else f"{lower:g} to {upper:g} dBm"
        out.append(LevelClass(lower, upper, colour, label))
        upper = lower
    return out


def _classify(grid: CoverageGrid) -> npt.NDArray[np.uint8]:
    """Palette index per cell: 0 = not drawn (NaN or below threshold), 1 = strongest class."""
    level = grid.level_dbm
    out = np.zeros(level.shape, dtype=np.uint8)
    finite = np.isfinite(level)
    # weakest class first, each stronger class overwrites
    classes = level_classes(grid.threshold_dbm)
    for k in range(len(classes) - 1, -1, -1):
        out[finite & (level >= classes[k].lower_dbm)] = k + 1
    return out


def _chunk(kind: bytes, body: bytes) -> bytes:
    crc = zlib.crc32(kind + body) & 0xFFFFFFFF
    return len(body).to_bytes(4, "big") + kind + body + crc.to_bytes(4, "big")


def png_bytes(grid: CoverageGrid) -> bytes:
    """The grid as an 8-bit palette PNG, one pixel per cell (row 0 north), coloured by
    :func:`level_classes`; cells not drawn are fully transparent. Pure ``zlib``: the
    same grid gives the same bytes."""
    index = _classify(grid)
    nrow, ncol = index.shape
    classes = level_classes(grid.threshold_dbm)
    palette = b"\x00\x00\x00" + b"".join(bytes.fromhex(c.colour[1:]) for c in classes)
    alpha = b"\x00" + b"\xff" * len(classes)
    raw = np.zeros((nrow, ncol + 1), dtype=np.uint8)  # filter byte 0 (None) per row
    raw[:, 1:] = index
    header = ncol.to_bytes(4, "big") + nrow.to_bytes(4, "big") + bytes([8, 3, 0, 0, 0])
    return b"".join(
        [
            b"\x89PNG\r\n\x1a\n",
            _chunk(b"IHDR", header),
            _chunk(b"PLTE", palette),
            _chunk(b"tRNS", alpha),
            _chunk(b"IDAT", zlib.compress(raw.tobytes(), PNG_COMPRESSION)),
            _chunk(b"IEND", b""),
        ]
    )
