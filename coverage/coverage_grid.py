"""Predicted coverage on a regular grid: the best-server level over an area (DESIGN §4, §7).

The village analysis answers "is this village served?"; planners also want to see where
the service ends between villages. This module evaluates the same best-server level on a
regular grid of cells over the analysed area: every cell centre is handed to
:func:`covgap.analysis.assess_villages` as if it were a village (no measurement, clutter
``settings.default_clutter``), so the level of a cell is exactly what a village standing
at its centre would get — the same sectors (active only), N_RB, pattern, path-loss model
choice, clutter/body losses, calibration terms and reach. Nothing of the link budget is
re-implemented here.

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
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from .analysis import AnalysisSettings, assess_villages
from .atomic import atomic_path
from .errors import CRSError, ScenarioError, SchemaError
from .propagation import TERRAIN_MODEL_NAMES

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
    #: Cell centres per call of the analysis (memory bound only; results do not depend on it).
    block_cells: int = 200_000


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
    #: sector–cell pairs evaluated
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
    if not (isinstance(grid.block_cells, int) and grid.block_cells >= 1):
        raise bad("coverage_block_cells", grid.block_cells, "an integer ≥ 1")


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
    each cell centre is assessed by :func:`covgap.analysis.assess_villages` as a village of
    clutter ``settings.default_clutter`` (a terrain model in ``settings.model`` becomes
    "auto": the grid is terrain-free). See the module docstring for the grid's geometry.
    """
    check_grid_settings(grid)
    column, quantity, threshold_key = LEVELS[grid.technology]
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
    tech = towers[(towers["technology"].astype("object") == grid.technology).to_numpy(bool)]
    rows, cols = np.nonzero(inside)
    n_pairs = 0
    if len(tech) and rows.size:
        for start in range(0, rows.size, grid.block_cells):
            r = rows[start : start + grid.block_cells]
            c = cols[start : start + grid.block_cells]
            lon, lat = _centres(x0, y0, cm, r, c)
            points = gpd.GeoDataFrame(
                {"electrified": np.zeros(r.size, dtype=bool)},
                geometry=gpd.points_from_xy(lon, lat),
                crs="EPSG:4326",
            )
            result = assess_villages(points, tech, run_settings)
            values = pd.to_numeric(result.villages[column]).to_numpy(dtype=np.float64)
            level[r, c] = values.astype(np.float32)
            n_pairs += result.n_pairs
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
        n_cells_computed=int(rows.size),
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
            _chunk(b"IDAT", zlib.compress(raw.tobytes(), 9)),
            _chunk(b"IEND", b""),
        ]
    )
