"""Offline HTML maps of villages, towers, planned sites and backhaul (folium + vendored Leaflet).

One self-contained HTML file per map, readable with no network: Leaflet 1.9.4 (and
Leaflet.markercluster 1.5.3 when a layer is clustered) are inlined from
``coverage/assets/``; folium's CDN links are removed; there are no online tiles unless
asked for (``tiles="openstreetmap"``: an extra base-layer choice, not shown at first;
without it the page holds no http(s) address a browser would fetch). The base layer is
the province boundaries file when one is given (its credit in the attribution and the
legend); without it the map says "no boundaries file: no base layer". Commune polygons,
when given, are an extra layer of thin lines (off at first on the national map, on for
a province map and limited to that province), simplified by Douglas–Peucker with a
tolerance of :data:`COMMUNE_SIMPLIFY_M` metres (a local UTM zone; drawn outlines within
twice that of the input) and rounded to 5 decimals (≈ 1 m).

Layers (the names are stable; tools and tests rely on them)::

    Villages: covered                       blue   #0072B2  small circle
    Villages: low signal, with power        orange #E69F00  circle, black outline
    Villages: low signal, without power     vermillion #D55E00  circle, black outline
    Towers: <Operator>                      one per operator present, squares
    Backhaul links                          only when links are given; line style by kind
    Planned sites                           operator colour; shape by kind (new ◆, upgrade ▲)
    Provinces                               when boundaries are given
    Communes                                when communes are given; thin grey lines
    Predicted coverage: 4G RSRP             when a coverage grid is given (technology and
                                            quantity of the grid); an image overlay

Colours are Okabe & Ito's colour-blind-safe palette ("Color Universal Design", 2008);
the three village groups also differ in size and outline, towers and sites in shape,
link kinds in dash pattern. Operators: Viettel #009E73, VNPT #56B4E9, MobiFone #CC79A7,
Vietnamobile #F0E442.

Time slider: with a site schedule, a control steps through the weeks (Monday–Sunday) from
the first to the last on-air date and shows the sites on air by the end of each week (and
their backhaul links); "All" shows every planned site. ``window.covgap.setWeek(k)`` (k =
week index, or ``null`` for all) drives it from scripts, ``#week=k`` in the URL at load.

Province maps: ``province_code="08"`` keeps that province's villages and sites, the
towers within its bounding box grown by 20 km, the backhaul links of its sites (not the
neighbours' links that merely cross the view: their sites are not on the map, and the
legend counts what is drawn), the boundaries around it, and zooms to it;
:func:`build_province_maps` writes one per province with gap villages, and
:func:`build_maps` the national map and those in one go. The inputs are prepared once
per call (:class:`_Frames`: the villages' and towers' display values, the towers grouped
into drawn points, province codes, boundary outlines, the schedule by site) and every map
takes its rows of them, so 34 province maps cost little more than their JSON and HTML.

How the page stays light: the data go into the page once, as compact column arrays
(``<script type="application/json">``, repeated strings dictionary-encoded), and a small
runtime (``assets/covgap_map.js``) draws every point as a canvas shape into the
feature groups folium made; popups and tooltips are built on demand. Towers are drawn
once per (operator, site), not once per sector. Towers and planned sites layers with
more than ``cluster_threshold`` points are clustered; villages are never clustered
(each group's colour is the point of the map).

Predicted coverage: a :class:`covgap.coverage_grid.CoverageGrid` (best-server level per
cell, EPSG:3857) is drawn as one PNG image overlay (a ``data:`` URI in the page, one
pixel per cell, no resampling: Leaflet stretches it linearly in Web Mercator, the grid's
own CRS), coloured by :func:`covgap.coverage_grid.level_classes` (ColorBrewer BuPu, one
hue, darker = stronger; semi-transparent); below the threshold or with no server in reach
nothing is drawn. Off at first on the national map, on for a province map (which embeds
only the cells around its province). The legend states the classes and the cell size.

Safety: text from the data reaches the page only through ``textContent`` (popups,
tooltips, slider) or :func:`html.escape` (legend, title, credit), and never passes
through a Jinja template (folium re-renders macro output as a template, so a name
holding ``{{ … }}`` would otherwise be evaluated at build time).

Determinism: element ids that folium/branca draw at random are replaced by a counter
before rendering, and nothing time-dependent is written: the same inputs give the same
bytes.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import json
import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import Element, Figure
from shapely.geometry import mapping

from .atomic import write_text_atomic
from .coverage_grid import (
    CoverageGrid,
    GridSettings,
    check_grid_settings,
    level_classes,
    png_bytes,
)
from .errors import CRSError, InputFileError, ScenarioError, SchemaError, UsageError
from .export import GROUPS
from .schema import OPERATORS

__all__ = [
    "COMMUNE_SIMPLIFY_M",
    "COVERAGE_OPACITY",
    "GROUP_COLOURS",
    "GROUP_LABELS",
    "LAYER_COMMUNES",
    "LAYER_LINKS",
    "LAYER_PROVINCES",
    "LAYER_SITES",
    "LINK_STYLES",
    "NO_BASE_NOTE",
    "NO_TILES_LAYER",
    "OPERATOR_COLOURS",
    "PROVINCE_MARGIN_M",
    "SITE_KIND_SHAPES",
    "TILE_LAYERS",
    "VILLAGE_LAYERS",
    "MapSettings",
    "build_map",
    "build_maps",
    "build_province_maps",
    "coverage_layer_name",
    "load_communes",
    "province_map_name",
    "render_map_html",
    "site_kind_shape",
    "tower_layer_name",
]

#: Layer name per village group (stable).
VILLAGE_LAYERS: dict[str, str] = {
    "covered": "Villages: covered",
    "low_signal_powered": "Villages: low signal, with power",
    "low_signal_unpowered": "Villages: low signal, without power",
}
#: Short label per group (legend, popups).
GROUP_LABELS: dict[str, str] = {
    "covered": "covered",
    "low_signal_powered": "low signal, with power",
    "low_signal_unpowered": "low signal, without power",
}
#: Okabe–Ito colours per village group.
GROUP_COLOURS: dict[str, str] = {
    "covered": "#0072B2",
    "low_signal_powered": "#E69F00",
    "low_signal_unpowered": "#D55E00",
}
#: Okabe–Ito colours per operator (towers and planned sites).
OPERATOR_COLOURS: dict[str, str] = {
    "Viettel": "#009E73",
    "VNPT": "#56B4E9",
    "MobiFone": "#CC79A7",
    "Vietnamobile": "#F0E442",
}
LAYER_SITES = "Planned sites"
LAYER_LINKS = "Backhaul links"
LAYER_PROVINCES = "Provinces"
LAYER_COMMUNES = "Communes"
NO_BASE_NOTE = "no boundaries file: no base layer"
#: Douglas–Peucker tolerance of the commune outlines drawn on maps, m (GEOS, topology
#: kept, in a UTM zone). GEOS may also drop a ring's start vertex when it lies within
#: the tolerance of its neighbours' segment, which can add as much again: every drawn
#: outline lies within 2 × this of the input (≤ 158 m on ../shared's north sample, whose
#: 268 communes go from 90,713 to 26,434 vertices, 0.58 MB in the page).
COMMUNE_SIMPLIFY_M = 100.0
_COMMUNE_DECIMALS = 5  # ≈ 1.1 m
#: Opacity of the predicted-coverage image overlay.
COVERAGE_OPACITY = 0.6
#: Online tile layers a map can offer (``tiles=`` key): name in the layer control, URL
#: template, attribution (HTML, fixed text) and maximum zoom. Never shown at first.
TILE_LAYERS: dict[str, dict[str, Any]] = {
    "openstreetmap": {
        "name": "OpenStreetMap (online)",
        "url": "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
        "attribution": '&copy; <a href="https://www.openstreetmap.org/copyright">'
        "OpenStreetMap</a> contributors",
        "maxZoom": 19,
    },
}
#: Name of the base-layer choice with no tiles (shown at first when tiles are offered).
NO_TILES_LAYER = "No tiles (offline)"
#: Marker shape of a planned site per ``kind``; any other kind is drawn as a hexagon.
SITE_KIND_SHAPES: dict[str, str] = {"new": "diamond", "upgrade": "triangle"}
_OTHER_KIND_SHAPE = "hexagon"
#: Line style per backhaul link ``kind`` (told apart by dash pattern, not colour alone);
#: any other kind gets the ``"other"`` style.
LINK_STYLES: dict[str, dict[str, Any]] = {
    "fibre": {"color": "#000000", "weight": 2.5, "opacity": 0.9},
    "microwave": {"color": "#0072B2", "weight": 2, "opacity": 0.9, "dashArray": "8 5"},
    "satellite": {"color": "#6b6b6b", "weight": 2, "opacity": 0.9, "dashArray": "2 5"},
    "other": {"color": "#999999", "weight": 1.5, "opacity": 0.9, "dashArray": "1 3"},
}
#: Province maps show the towers within the province's bounding box grown by this (m).
PROVINCE_MARGIN_M = 20_000.0
_M_PER_DEG_LAT = 111_320.0  # metres per degree of latitude (and of longitude at the equator)

_VIETNAM_CENTRE = [16.0, 106.0]  # [lat, lon]
_COORD_DECIMALS = 6

_STYLES: dict[str, dict[str, Any]] = {
    "covered": {
        "shape": "circle",
        "radius": 3,
        "stroke": False,
        "fillColor": GROUP_COLOURS["covered"],
        "fillOpacity": 0.8,
    },
    "low_signal_powered": {
        "shape": "circle",
        "radius": 5,
        "color": "#000000",
        "weight": 1,
        "fillColor": GROUP_COLOURS["low_signal_powered"],
        "fillOpacity": 0.95,
    },
    "low_signal_unpowered": {
        "shape": "circle",
        "radius": 5,
        "color": "#000000",
        "weight": 1,
        "fillColor": GROUP_COLOURS["low_signal_unpowered"],
        "fillOpacity": 0.95,
    },
    "tower": {
        "shape": "square",
        "radius": 3,
        "color": "#222222",
        "weight": 0.8,
        "fillOpacity": 0.9,
    },
    "site": {"shape": "diamond", "radius": 6, "color": "#000000", "weight": 2, "fillOpacity": 1.0},
}
_BOUNDARY_STYLE = {"color": "#6b6b6b", "weight": 1, "fillColor": "#ffffff", "fillOpacity": 0.7}
# province maps: the province itself, and its neighbours greyed
_FOCUS_STYLE = {"color": "#222222", "weight": 2.5, "fillColor": "#ffffff", "fillOpacity": 0.8}
_OTHER_PROVINCE_STYLE = {
    "color": "#8a8a8a",
    "weight": 1,
    "fillColor": "#e4e4df",
    "fillOpacity": 0.7,
}
_COMMUNE_STYLE = {"color": "#5a5a5a", "weight": 0.7, "opacity": 0.9, "fill": False}

# popup rows: (label, column, format); formats: text int dec1 dec2 signed1 bool
_POPUPS: dict[str, dict[str, Any]] = {
    "village": {
        "title": ["Village", "name"],
        "rows": [
            ["Village ID", "id", "text"],
            ["Commune", "commune", "text"],
            ["Province", "province", "text"],
            ["Population", "pop", "int"],
            ["Status", "group", "text"],
            ["Best server", "op", "text"],
            ["Best tower", "tower", "text"],
            ["RSRP (dBm)", "rsrp", "dec1"],
            ["RSRP source", "src", "text"],
            ["Margin (dB)", "margin", "signed1"],
            ["Electrified", "elec", "bool"],
            ["Power date", "eta", "text"],
            ["Planned site", "site", "text"],
            ["On air", "onair", "text"],
        ],
    },
    "tower": {
        "title": ["Tower site", "id"],
        "rows": [
            ["Operator", "op", "text"],
            ["Technology", "tech", "text"],
            ["Sectors", "sectors", "int"],
            ["Height (m)", "h", "dec1"],
            ["Status", "status", "text"],
        ],
    },
    "site": {
        "title": ["Planned site", "id"],
        "rows": [
            ["Operator", "op", "text"],
            ["Kind", "kind", "text"],
            ["Technology", "tech", "text"],
            ["Height (m)", "h", "dec1"],
            ["Group", "group", "text"],
            ["Deadline", "deadline", "text"],
            ["Power", "power", "text"],
            ["Power date", "pdate", "text"],
            ["Villages", "nv", "int"],
            ["Village IDs", "vids", "text"],
            ["Population served", "pop", "int"],
            ["Capex (VND)", "capex", "int"],
            ["Province", "province", "text"],
            ["Build complete", "finish", "text"],
            ["On air", "onair", "text"],
            ["Late (days)", "late", "int"],
        ],
    },
    "link": {
        "title": ["Backhaul link", "site"],
        "rows": [
            ["Operator", "op", "text"],
            ["Kind", "kind", "text"],
            ["Length (km)", "km", "dec2"],
        ],
    },
}
_TOOLTIPS: dict[str, list[str]] = {
    "village": ["name", "group"],
    "tower": ["op", "id"],
    "site": ["id", "op", "kind"],
    "link": ["kind", "site"],
}


@dataclass(frozen=True)
class MapSettings:
    """Settings of the map stage (scenario table ``[maps]``)."""

    #: Draw the predicted-coverage layer (and write its GeoTIFF).
    coverage: bool = True
    #: Ground size of a coverage cell, m (grown in 50 m steps when the grid is too large).
    coverage_cell_m: float = 500.0
    #: Most coverage cells inside the analysed area.
    coverage_max_cells: int = 1_500_000
    #: Most coverage cells in the grid's bounding box.
    coverage_max_box_cells: int = 16_000_000
    #: Technology of the coverage layer: "2G", "3G", "4G" or "5G".
    coverage_technology: str = "4G"
    #: Online tile layer offered as a base-layer choice (never shown at first): "" for
    #: none (fully offline), or a key of TILE_LAYERS ("openstreetmap").
    tiles: str = ""

    def __post_init__(self) -> None:
        check_grid_settings(self.grid_settings())
        if self.tiles_key is not None and self.tiles_key.lower() not in TILE_LAYERS:
            raise ScenarioError(
                f"[maps] tiles = {self.tiles!r}: expected one of {', '.join(TILE_LAYERS)}, "
                'or "" for none (offline)'
            )

    def grid_settings(self) -> GridSettings:
        """The :class:`covgap.coverage_grid.GridSettings` these settings ask for."""
        return GridSettings(
            cell_m=self.coverage_cell_m,
            max_cells=self.coverage_max_cells,
            max_box_cells=self.coverage_max_box_cells,
            technology=self.coverage_technology,
        )

    @property
    def tiles_key(self) -> str | None:
        """``tiles`` for :func:`build_map` (None when "")."""
        return self.tiles.strip() or None


def tower_layer_name(operator: str) -> str:
    """Layer name of an operator's towers (``"Towers: Viettel"``)."""
    return f"Towers: {operator}"


def coverage_layer_name(grid: CoverageGrid) -> str:
    """Layer name of a predicted-coverage grid (``"Predicted coverage: 4G RSRP"``)."""
    return f"Predicted coverage: {grid.technology} {grid.quantity}"


# --------------------------------------------------------------------------- value helpers


def _missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _text(value: Any) -> str | None:
    return None if _missing(value) else str(value)


def _date(value: Any) -> str | None:
    """ISO date; missing, empty text or NaT → None; unparsable text is shown as given."""
    if _missing(value) or (isinstance(value, str) and not value.strip()):
        return None
    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError):
        return str(value)
    return None if pd.isna(stamp) else stamp.strftime("%Y-%m-%d")


def _num(value: Any, decimals: int) -> float | None:
    if _missing(value):
        return None
    try:
        out = round(float(value), decimals)
    except (TypeError, ValueError):
        return None
    return out + 0.0 if math.isfinite(out) else None


def _whole(value: Any) -> int | None:
    if _missing(value):
        return None
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return round(f) if math.isfinite(f) else None


def _objects(values: Sequence[Any]) -> np.ndarray:
    """A 1-D object array holding ``values`` as they are (never split into dimensions)."""
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def _dec1(value: Any) -> float | None:
    return _num(value, 1)


def _flag(value: Any) -> bool | None:
    return None if _missing(value) else bool(value)


def _rounded(values: np.ndarray, whole: bool) -> list[Any]:
    """``_whole`` (``whole``) or ``_dec1`` of each float of ``values`` (the same values)."""
    finite = np.isfinite(values).tolist()
    if whole:
        return [round(v) if f else None for v, f in zip(values.tolist(), finite, strict=True)]
    return [round(v, 1) + 0.0 if f else None for v, f in zip(values.tolist(), finite, strict=True)]


def _column_fast(series: pd.Series, convert: Callable[[Any], Any]) -> list[Any] | None:
    """``[convert(v) for v in series]`` for the common column types at numpy speed (the
    same values), or None when ``series`` is not one of them."""
    dtype = series.dtype
    if convert is _text and (isinstance(dtype, pd.StringDtype) or dtype.kind == "O"):
        missing = series.isna().to_numpy(dtype=bool).tolist()
        return [
            None if m else (v if type(v) is str else str(v))
            for v, m in zip(series.tolist(), missing, strict=True)
        ]
    numeric = pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)
    if convert in (_dec1, _whole) and numeric:
        return _rounded(series.to_numpy(dtype=np.float64, na_value=np.nan), convert is _whole)
    if convert is _flag and dtype == np.bool_:
        return [bool(v) for v in series.tolist()]
    if convert is _date and pd.api.types.is_datetime64_dtype(dtype):
        text = series.dt.strftime("%Y-%m-%d")
        missing = series.isna().to_numpy(dtype=bool).tolist()
        return [None if m else v for v, m in zip(text.tolist(), missing, strict=True)]
    if convert is _date and (isinstance(dtype, pd.StringDtype) or dtype.kind == "O"):
        items = _objects(series.tolist())
        given = items[~pd.isna(items)]
        if pd.api.types.infer_dtype(given, skipna=False) not in ("string", "empty"):
            return None
        # dates as text repeat: parse each distinct one once (missing → -1 → None)
        codes, uniques = pd.factorize(items)
        table = _objects([_date(u) for u in uniques.tolist()] + [None])
        return list(table[codes].tolist())
    return None


def _column(frame: pd.DataFrame, name: str, convert: Callable[[Any], Any]) -> list[Any]:
    if name not in frame.columns:
        return [None] * len(frame)
    fast = _column_fast(frame[name], convert)
    if fast is not None:
        return fast
    return [convert(v) for v in frame[name].tolist()]


def _encode(values: Sequence[Any]) -> list[Any] | dict[str, Any]:
    """A column for the page: a plain array, or ``{"k": distinct values, "c": codes}``
    (code -1 = missing, distinct values in order of first appearance) when strings repeat
    enough for that to be smaller."""
    n = len(values)
    if n >= 8:
        items = _objects(values)
        missing = pd.isna(items)
        given = items[~missing]
        if all(v is None for v in items[missing].tolist()) and (
            not len(given) or pd.api.types.infer_dtype(given, skipna=False) == "string"
        ):
            codes, uniques = pd.factorize(items)  # None → -1
            if len(uniques) * 3 <= n:
                return {"k": uniques.tolist(), "c": codes.tolist()}
    return list(values)


def _to_wgs84(gdf: gpd.GeoDataFrame, what: str) -> gpd.GeoDataFrame:
    if gdf.crs is None:
        return gdf
    if gdf.crs.to_epsg() == 4326:
        return gdf
    try:
        return gdf.to_crs(4326)
    except Exception as exc:
        raise CRSError(f"{what}: cannot transform {gdf.crs} to EPSG:4326: {exc}") from exc


def _require(frame: pd.DataFrame, columns: Iterable[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise SchemaError(
            f"{what} lack column(s) {', '.join(missing)}; have {', '.join(map(str, frame.columns))}"
        )


def _points(gdf: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(lat, lon, ok) arrays; ``ok`` is False for missing, empty or non-finite points."""
    geoms = gdf.geometry
    ok = (~geoms.isna() & ~geoms.is_empty).to_numpy().copy()
    lat = np.full(len(gdf), np.nan)
    lon = np.full(len(gdf), np.nan)
    if ok.any():
        pts = (
            geoms[ok].representative_point()
            if not (geoms[ok].geom_type == "Point").all()
            else geoms[ok]
        )
        lon[ok] = pts.x.to_numpy()
        lat[ok] = pts.y.to_numpy()
    ok &= np.isfinite(lat) & np.isfinite(lon)
    return np.round(lat, _COORD_DECIMALS), np.round(lon, _COORD_DECIMALS), ok


def _check_operators(values: Iterable[Any], what: str) -> None:
    """SchemaError naming the first row whose operator is not canonical (each distinct
    value is checked once)."""
    items = _objects(list(values))
    codes, uniques = pd.factorize(items, use_na_sentinel=False)
    bad = [k for k, op in enumerate(uniques.tolist()) if op not in OPERATORS]
    if bad:
        i = int(np.flatnonzero(np.isin(codes, bad))[0])
        raise SchemaError(
            f"{what}: operator {items[i]!r} is not one of {', '.join(OPERATORS)}",
            row=i + 1,
            column="operator",
        )


# --------------------------------------------------------------------------- tables


@dataclass
class _Layer:
    name: str
    kind: str | None  # table drawn into it, None for the provinces layer
    style: dict[str, Any] = field(default_factory=dict)
    cluster: bool = False
    fill_by: str | None = None
    group: folium.FeatureGroup | None = None
    show: bool = True  # on the map at first


@dataclass
class _Table:
    n: int
    cols: dict[str, list[Any] | dict[str, Any]]
    counts: dict[str, int]  # layer name → points
    dropped: int  # rows without usable coordinates


def _group_labels(
    values: pd.Series, codes: np.ndarray, order: np.ndarray, starts: np.ndarray
) -> list[str | None]:
    """Per group: the distinct non-missing ``values`` of its rows, sorted, joined by "/".

    Vectorised: each distinct value is a bit, groups OR their rows' bits."""
    labels, uniques = pd.factorize(values.astype("object"), sort=True)
    if len(uniques) > 62:  # not a small vocabulary: do it the slow way
        frame = pd.DataFrame({"g": codes, "v": values.astype("object").to_numpy()}).dropna()
        joined = frame.groupby("g")["v"].agg(lambda v: "/".join(sorted({str(x) for x in v})))
        return [joined.get(g) for g in range(len(starts))]
    bits = np.where(labels >= 0, np.left_shift(1, np.maximum(labels, 0)), 0).astype(np.int64)
    masks = np.bitwise_or.reduceat(bits[order], starts) if len(starts) else np.zeros(0, np.int64)
    names = [str(u) for u in uniques]
    text: dict[int, str | None] = {}
    for mask in np.unique(masks).tolist():
        text[mask] = "/".join(n for k, n in enumerate(names) if mask >> k & 1) or None
    return [text[m] for m in masks.tolist()]


@dataclass(frozen=True)
class _VillageRows:
    """Per-row display values of a villages frame, computed once and sliced per map
    (the same values as computing them on the slice: each depends on its row only)."""

    lat: np.ndarray
    lon: np.ndarray
    ok: np.ndarray  # usable coordinates
    groups: np.ndarray  # object: the group of each row (checked)
    cols: dict[str, np.ndarray]  # object arrays, see _VILLAGE_COLUMNS


#: Village table columns taken from a frame column: (table key, frame column, converter).
_VILLAGE_COLUMNS: tuple[tuple[str, str, Callable[[Any], Any]], ...] = (
    ("name", "name", _text),
    ("commune", "commune", _text),
    ("province", "province", _text),
    ("pop", "population", _whole),
    ("op", "best_operator", _text),
    ("tower", "best_tower_id", _text),
    ("rsrp", "best_rsrp_dbm", _dec1),
    ("src", "rsrp_source", _text),
    ("margin", "margin_db", _dec1),
    ("elec", "electrified", _flag),
    ("eta", "power_eta", _date),
)
#: Village table columns sent dictionary-encoded when that is smaller (see _encode).
_VILLAGE_ENCODED = frozenset({"commune", "province", "op", "src", "eta"})


def _village_rows(villages: gpd.GeoDataFrame) -> _VillageRows:
    _require(villages, ("village_id", "name", "group", "geometry"), "villages")
    groups = villages["group"].astype("object").tolist()
    for i, g in enumerate(groups):
        if g not in GROUPS:
            raise SchemaError(
                f"villages: group {g!r} is not one of {', '.join(GROUPS)}",
                row=i + 1,
                column="group",
            )
    lat, lon, ok = _points(villages)
    cols = {"id": _objects([str(x) for x in villages["village_id"].tolist()])}
    for key, column, convert in _VILLAGE_COLUMNS:
        cols[key] = _objects(_column(villages, column, convert))
    return _VillageRows(lat, lon, ok, _objects(groups), cols)


def _village_table(
    rows: _VillageRows,
    index: np.ndarray,
    layer_index: dict[str, int],
    site_of_village: dict[str, list[str]],
    onair_of_site: dict[str, str],
) -> _Table:
    """The villages of rows ``index`` (positions in the frame, ascending)."""
    ok = rows.ok[index]
    keep = index[ok]
    ids = rows.cols["id"][keep].tolist()
    grp = rows.groups[keep].tolist()
    sites = [site_of_village.get(i, []) for i in ids]
    cols: dict[str, Any] = {
        "lat": rows.lat[keep].tolist(),
        "lon": rows.lon[keep].tolist(),
        "layer": [layer_index[VILLAGE_LAYERS[g]] for g in grp],
        "id": ids,
    }
    for key, _, _ in _VILLAGE_COLUMNS:
        values = rows.cols[key][keep].tolist()
        cols[key] = _encode(values) if key in _VILLAGE_ENCODED else values
        if key == "pop":  # the table's column order (the page reads them by name)
            cols["group"] = _encode([GROUP_LABELS[g] for g in grp])
    cols["site"] = _encode([", ".join(s) if s else None for s in sites])
    cols["onair"] = _encode(
        [", ".join(onair_of_site[x] for x in s if x in onair_of_site) or None for s in sites]
    )
    counts = {VILLAGE_LAYERS[g]: grp.count(g) for g in GROUPS}
    return _Table(n=len(ids), cols=cols, counts=counts, dropped=int((~ok).sum()))


@dataclass(frozen=True)
class _TowerRows:
    """A towers frame grouped once into drawn points, one per (operator, site_id) of its
    rows with usable coordinates (groups in order of first appearance)."""

    ok: np.ndarray  # usable coordinates
    lat: np.ndarray
    lon: np.ndarray
    operator: np.ndarray  # object, per row
    code: np.ndarray  # group of each row, -1 where not ok
    size: np.ndarray  # rows per group
    first: np.ndarray  # first row of each group (position in the frame)
    cols: dict[str, np.ndarray]  # per group: lat, lon, id, sectors, h, op, tech, status


def _tower_groups(
    towers: gpd.GeoDataFrame, lat: np.ndarray, lon: np.ndarray
) -> tuple[np.ndarray, dict[str, list[Any]], np.ndarray]:
    """Group the rows of ``towers`` (all with usable coordinates ``lat``, ``lon``) by
    (operator, site_id): per row its group (numbered by first appearance), the table
    columns per group (vectorised) and the first row of each group."""
    op = towers["operator"].astype(str).reset_index(drop=True)
    site = towers["tower_id"].astype(str).reset_index(drop=True)
    if "site_id" in towers.columns:
        given = towers["site_id"].astype("object").reset_index(drop=True)
        site = given.where(given.notna(), site).astype(str)
    op_code, _ = pd.factorize(op)
    site_code, site_names = pd.factorize(site)
    # groups in order of first appearance
    codes, _ = pd.factorize(op_code.astype(np.int64) * (len(site_names) + 1) + site_code)
    order = np.argsort(codes, kind="stable")
    sorted_codes = codes[order]
    starts = (
        np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]])
        if len(codes)
        else np.zeros(0, np.int64)
    )
    first = order[starts]  # first row of each group
    n = len(starts)
    if "height_m" in towers.columns:
        heights = pd.to_numeric(towers["height_m"], errors="coerce").to_numpy(dtype=float)
        h_max = pd.Series(heights).groupby(codes).max().reindex(range(n)).to_numpy()
    else:
        h_max = np.full(n, np.nan)
    none = pd.Series([None] * len(towers), dtype="object")
    tech = towers["technology"].reset_index(drop=True) if "technology" in towers.columns else none
    status = towers["status"].reset_index(drop=True) if "status" in towers.columns else none
    cols: dict[str, list[Any]] = {
        "lat": lat[first].tolist(),
        "lon": lon[first].tolist(),
        "id": site.to_numpy()[first].tolist(),
        "sectors": np.bincount(codes, minlength=n).tolist() if n else [],
        "h": _rounded(np.asarray(h_max, dtype=np.float64), whole=False),
        "op": op.to_numpy()[first].tolist(),
        "tech": _group_labels(tech, codes, order, starts),
        "status": _group_labels(status, codes, order, starts),
    }
    return codes, cols, first


def _tower_rows(towers: gpd.GeoDataFrame) -> _TowerRows:
    _require(towers, ("tower_id", "operator", "geometry"), "towers")
    operator = _objects(towers["operator"].astype("object").tolist())
    _check_operators(operator.tolist(), "towers")
    lat, lon, ok = _points(towers)
    codes, cols, first = _tower_groups(towers[ok], lat[ok], lon[ok])
    code = np.full(len(towers), -1, dtype=np.int64)
    code[ok] = codes
    positions = np.flatnonzero(ok)
    return _TowerRows(
        ok=ok,
        lat=lat,
        lon=lon,
        operator=operator,
        code=code,
        size=np.bincount(codes, minlength=len(first)),
        first=positions[first],
        cols={k: _objects(v) for k, v in cols.items()},
    )


def _tower_table(
    rows: _TowerRows, towers: gpd.GeoDataFrame, index: np.ndarray, layer_index: dict[str, int]
) -> _Table:
    """One point per (operator, site_id) of rows ``index`` (positions in ``towers``,
    ascending): the frame's groups when each is wholly in or out of ``index`` (sectors of
    a site share a position), else grouped again from those rows."""
    ok = rows.ok[index]
    keep = index[ok]
    codes = rows.code[keep]
    count = np.bincount(codes, minlength=len(rows.first))
    present = np.flatnonzero(count)
    if np.array_equal(count[present], rows.size[present]):
        groups = present[np.argsort(rows.first[present], kind="stable")]
        cols = {k: v[groups].tolist() for k, v in rows.cols.items()}
    else:
        _, cols, _ = _tower_groups(towers.iloc[keep], rows.lat[keep], rows.lon[keep])
    ops = cols["op"]
    layer_of = {o: layer_index[tower_layer_name(o)] for o in set(ops)}
    table: dict[str, Any] = {
        "lat": cols["lat"],
        "lon": cols["lon"],
        "layer": [layer_of[o] for o in ops],
        "id": cols["id"],
        "sectors": cols["sectors"],
        "h": cols["h"],
        "op": _encode(ops),
        "tech": _encode(cols["tech"]),
        "status": _encode(cols["status"]),
    }
    counts = {tower_layer_name(o): n for o, n in Counter(ops).items()}
    return _Table(n=len(ops), cols=table, counts=counts, dropped=int((~ok).sum()))


def site_kind_shape(kind: str | None) -> str:
    """Marker shape of a planned site of ``kind`` (see :data:`SITE_KIND_SHAPES`)."""
    return SITE_KIND_SHAPES.get(kind or "", _OTHER_KIND_SHAPE)


def _site_table(
    sites: gpd.GeoDataFrame, layer_index: dict[str, int], schedule: dict[str, dict[str, Any]]
) -> _Table:
    _require(sites, ("site_id", "operator", "geometry"), "sites")
    _check_operators(sites["operator"].astype("object").tolist(), "sites")
    lat, lon, ok = _points(sites)
    s = sites[ok]
    ids = [str(x) for x in s["site_id"].tolist()]
    ops = [str(x) for x in s["operator"].tolist()]
    groups = _column(s, "group", _text)

    def served(x: Any) -> str | None:
        if _missing(x):
            return None
        items = [p.strip() for p in str(x).split(";") if p.strip()]
        shown = ", ".join(items[:12])
        return shown + (f" … (+{len(items) - 12})" if len(items) > 12 else "") if items else None

    kinds = _column(s, "kind", _text)
    cols: dict[str, Any] = {
        "lat": lat[ok].tolist(),
        "lon": lon[ok].tolist(),
        "layer": [layer_index[LAYER_SITES]] * len(ids),
        "id": ids,
        "op": _encode(ops),
        "fill": _encode([OPERATOR_COLOURS[o] for o in ops]),
        "shape": _encode([site_kind_shape(k) for k in kinds]),
        "kind": _encode(kinds),
        "tech": _encode(_column(s, "technology", _text)),
        "h": _column(s, "height_m", lambda x: _num(x, 1)),
        "group": _encode([GROUP_LABELS.get(g, g) if g else None for g in groups]),
        "deadline": _encode(_column(s, "deadline", _date)),
        "power": _encode(_column(s, "power", _text)),
        "pdate": _encode(_column(s, "power_date", _date)),
        "nv": _column(s, "n_villages", _whole),
        "vids": _column(s, "villages_served", served),
        "pop": _column(s, "population_served", _whole),
        "capex": _column(s, "capex_vnd", _whole),
        "province": _encode(_column(s, "province", _text)),
        "finish": _encode([schedule.get(i, {}).get("finish_date") for i in ids]),
        "onair": _encode([schedule.get(i, {}).get("on_air_date") for i in ids]),
        "late": [schedule.get(i, {}).get("late_days") for i in ids],
    }
    return _Table(n=len(ids), cols=cols, counts={LAYER_SITES: len(ids)}, dropped=int((~ok).sum()))


def _timeline(on_air: Sequence[str | None]) -> tuple[list[str], list[int]] | None:
    """Weeks (Monday–Sunday) from the first to the last on-air date: the list of week-end
    Sundays (ISO) and, per site, the index of its on-air week (-1: no usable date).
    ``None`` when no site has an on-air date."""
    days: list[dt.date | None] = []
    for text in on_air:
        try:
            days.append(dt.date.fromisoformat(text) if text else None)
        except ValueError:
            days.append(None)
    known = [d for d in days if d is not None]
    if not known:
        return None
    monday = min(known) - dt.timedelta(days=min(known).weekday())
    n_weeks = (max(known) - monday).days // 7 + 1
    weeks = [(monday + dt.timedelta(days=7 * k + 6)).isoformat() for k in range(n_weeks)]
    index = [-1 if d is None else (d - monday).days // 7 for d in days]
    return weeks, index


def _link_table(
    links: gpd.GeoDataFrame, layer_index: dict[str, int], site_row: dict[str, int]
) -> _Table:
    """Backhaul links as flat coordinate arrays: link ``i`` has the points
    ``start[i] .. start[i+1]-1`` of ``lat``/``lon``; ``srow`` is the row of its site in the
    sites table (-1: not a drawn site)."""
    _require(links, ("site_id", "operator", "kind", "geometry"), "links")
    _check_operators(links["operator"].astype("object").tolist(), "links")
    lats: list[float] = []
    lons: list[float] = []
    start: list[int] = [0]
    keep: list[int] = []
    dropped = 0
    for i, geom in enumerate(links.geometry.tolist()):
        if geom is None or geom.is_empty:
            dropped += 1
            continue
        parts = list(geom.geoms) if geom.geom_type == "MultiLineString" else [geom]
        if any(p.geom_type != "LineString" for p in parts):
            raise SchemaError(
                f"links: geometry must be a LineString, got {geom.geom_type}",
                row=i + 1,
                column="geometry",
            )
        xy = np.concatenate([np.asarray(p.coords)[:, :2] for p in parts])
        if len(xy) < 2 or not np.isfinite(xy).all():
            dropped += 1
            continue
        lons.extend(np.round(xy[:, 0], _COORD_DECIMALS).tolist())
        lats.extend(np.round(xy[:, 1], _COORD_DECIMALS).tolist())
        start.append(len(lats))
        keep.append(i)
    sub = links.iloc[keep]
    site_ids = _column(sub, "site_id", _text)
    kinds = _column(sub, "kind", _text)
    lengths = _column(sub, "length_m", lambda x: None if _num(x, 0) is None else float(x))
    cols: dict[str, Any] = {
        "lat": lats,
        "lon": lons,
        "start": start,
        "layer": [layer_index[LAYER_LINKS]] * len(keep),
        "site": site_ids,
        "srow": [site_row.get(x, -1) if x is not None else -1 for x in site_ids],
        "op": _encode(_column(sub, "operator", _text)),
        "kind": _encode(kinds),
        "style": _encode([k if k in LINK_STYLES else "other" for k in kinds]),
        "km": [None if m is None else _num(m / 1000.0, 2) for m in lengths],
    }
    return _Table(n=len(keep), cols=cols, counts={LAYER_LINKS: len(keep)}, dropped=dropped)


def _schedule_by_site(site_schedule: pd.DataFrame | None) -> dict[str, dict[str, Any]]:
    if site_schedule is None:
        return {}
    _require(site_schedule, ("site_id",), "site_schedule")
    out: dict[str, dict[str, Any]] = {}
    for site_id, finish, on_air, late in zip(
        site_schedule["site_id"].tolist(),
        _column(site_schedule, "finish_date", _date),
        _column(site_schedule, "on_air_date", _date),
        _column(site_schedule, "late_days", _whole),
        strict=True,
    ):
        out[str(site_id)] = {"finish_date": finish, "on_air_date": on_air, "late_days": late}
    return out


def _villages_served(sites: gpd.GeoDataFrame | None) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    if sites is None or "villages_served" not in sites.columns:
        return out
    for site_id, served in zip(
        sites["site_id"].tolist(), sites["villages_served"].tolist(), strict=True
    ):
        if _missing(served):
            continue
        for v in str(served).split(";"):
            if v.strip():
                out.setdefault(v.strip(), []).append(str(site_id))
    return out


# --------------------------------------------------------------------------- boundaries


def _round_coords(coords: Any) -> Any:
    return _round_to(coords, _COORD_DECIMALS)


def _boundary_features(boundaries: gpd.GeoDataFrame) -> list[dict[str, Any] | None]:
    """The GeoJSON feature of each boundary row (EPSG:4326; None: empty or not a polygon)."""
    b = _to_wgs84(boundaries, "boundaries")
    features: list[dict[str, Any] | None] = []
    for row in b.to_dict("records"):
        geom = row.get("geometry")
        gj = None if geom is None or geom.is_empty else mapping(geom)
        if gj is None or gj["type"] not in ("Polygon", "MultiPolygon"):
            features.append(None)
            continue
        features.append(
            {
                "type": "Feature",
                "properties": {
                    "province_code": _text(row.get("province_code")),
                    "province_name": _text(row.get("province_name")),
                },
                "geometry": {"type": gj["type"], "coordinates": _round_coords(gj["coordinates"])},
            }
        )
    return features


def _feature_collection(features: Iterable[dict[str, Any] | None]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": [f for f in features if f is not None]}


# --------------------------------------------------------------------------- communes

_COMMUNE_NAME_COLUMNS = ("commune_full_name", "commune_name", "commune", "name", "ten_xa")


def load_communes(path: str | Path) -> gpd.GeoDataFrame:
    """Commune polygons for the map's "Communes" layer (EPSG:4326), e.g.
    ``../shared/data/vn_communes_north_sample.geojson``.

    Columns out: ``commune_code`` (text; 5 digits when numeric), ``commune`` (the name
    shown: the first of ``commune_full_name``, ``commune_name``, ``commune``, ``name``,
    ``ten_xa`` in the file), ``province_code`` (2-digit text; None when the file has no
    such column), geometry (Polygon/MultiPolygon; other rows are dropped). Raises
    :class:`InputFileError` for a missing or unreadable file, no polygons, or no
    ``commune_code`` or name column.
    """
    from .io import read_table  # the loaders' reader: formats, size and zip safety checks

    file = str(path)
    table = read_table(path)
    if table.geometry is None:
        raise InputFileError("communes need polygon geometries (none found)", file=file)
    data = table.data
    if "commune_code" not in data.columns:
        raise InputFileError(
            f"communes need a commune_code column (found: {', '.join(data.columns)})",
            file=file,
            column="commune_code",
        )
    name_col = next((c for c in _COMMUNE_NAME_COLUMNS if c in data.columns), None)
    if name_col is None:
        raise InputFileError(
            f"communes need a name column ({', '.join(_COMMUNE_NAME_COLUMNS)}; found: "
            f"{', '.join(data.columns)})",
            file=file,
        )
    geoms = np.asarray(table.geometry, dtype=object)
    kind = shapely.get_type_id(geoms)
    polygons = (kind == 3) | (kind == 6)  # Polygon, MultiPolygon
    if not polygons.any():
        raise InputFileError("communes need polygon geometries (none found)", file=file)

    def code(value: Any, width: int) -> str | None:
        text = _text(value)
        if text is None or not text.strip():
            return None
        text = text.strip()
        return text.zfill(width) if text.isdigit() else text

    gdf = gpd.GeoDataFrame(
        {
            "commune_code": [code(v, 5) for v in data["commune_code"].tolist()],
            "commune": [_text(v) for v in data[name_col].tolist()],
            "province_code": (
                [code(v, 2) for v in data["province_code"].tolist()]
                if "province_code" in data.columns
                else [None] * len(data)
            ),
        },
        geometry=list(geoms),
        crs=table.crs if table.crs is not None else "EPSG:4326",
    )
    gdf = gdf[polygons].reset_index(drop=True)
    return _to_wgs84(gdf, "communes")


def _utm_epsg(lon: float, lat: float) -> int:
    """EPSG code of the WGS 84 / UTM zone holding (lon, lat)."""
    zone = min(max(int((lon + 180.0) // 6.0) + 1, 1), 60)
    return (32600 if lat >= 0 else 32700) + zone


def _prepare_communes(communes: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Communes as drawn: EPSG:4326, Douglas–Peucker simplified with
    :data:`COMMUNE_SIMPLIFY_M` (in the UTM zone of the data's centre; topology kept),
    empty and non-polygon rows dropped, in code order."""
    _require(communes, ("commune_code", "commune", "geometry"), "communes")
    c = _to_wgs84(communes, "communes")
    if c.crs is None:  # no CRS: taken as EPSG:4326, like every input of the map
        c = c.set_crs(4326)
    geoms = np.asarray(c.geometry, dtype=object)
    ok = ~shapely.is_missing(geoms) & ~shapely.is_empty(geoms)
    kind = shapely.get_type_id(geoms)
    c = c[ok & ((kind == 3) | (kind == 6))]
    keep = ["commune_code", "commune", "province_code", "geometry"]
    c = c[[k for k in keep if k in c.columns]].copy()
    if "province_code" not in c.columns:
        c["province_code"] = None
    if len(c):
        w, s, e, n = c.total_bounds
        metric = c.to_crs(_utm_epsg((w + e) / 2.0, (s + n) / 2.0))
        simple = metric.geometry.simplify(COMMUNE_SIMPLIFY_M, preserve_topology=True)
        c = c.set_geometry(gpd.GeoSeries(simple, crs=metric.crs).to_crs(4326).to_numpy())
    codes = c["commune_code"].astype("object").map(lambda v: "" if _missing(v) else str(v))
    order = np.argsort(codes.to_numpy(dtype=str), kind="stable")
    return c.iloc[order].reset_index(drop=True)


def _round_to(coords: Any, decimals: int) -> Any:
    if isinstance(coords, tuple | list) and coords and isinstance(coords[0], int | float):
        return [round(float(x), decimals) + 0.0 for x in coords[:2]]
    return [_round_to(x, decimals) for x in coords]


def _communes_geojson(communes: gpd.GeoDataFrame) -> dict[str, Any]:
    """The prepared communes as a FeatureCollection (``code``, ``name`` properties)."""
    features = []
    for row in communes.to_dict("records"):
        gj = mapping(row["geometry"])
        features.append(
            {
                "type": "Feature",
                "properties": {
                    "code": _text(row.get("commune_code")),
                    "name": _text(row.get("commune")),
                },
                "geometry": {
                    "type": gj["type"],
                    "coordinates": _round_to(gj["coordinates"], _COMMUNE_DECIMALS),
                },
            }
        )
    return {"type": "FeatureCollection", "features": features}


# --------------------------------------------------------------------------- page parts


def _asset(*parts: str) -> bytes:
    return (resources.files("covgap") / "assets").joinpath(*parts).read_bytes()


def _script_text(code: str, what: str) -> str:
    """JavaScript that can sit inside a ``<script>`` element (source-map comment dropped)."""
    code = re.sub(r"\n//# sourceMappingURL=\S+\s*$", "\n", code)
    if re.search(r"</script|<!--", code, re.IGNORECASE):
        raise RuntimeError(f"{what} cannot be inlined: it contains '</script' or '<!--'")
    return code


def _inline_js(code: str, what: str) -> str:
    return f"<script>\n{_script_text(code, what)}\n</script>"


def _inline_css(css: str, what: str, images: str | None = None) -> str:
    css = re.sub(r"/\*# sourceMappingURL=\S+ \*/", "", css)
    if images is not None:

        def data_uri(match: re.Match[str]) -> str:
            name = match.group(1)
            data = base64.b64encode(_asset(images, "images", name)).decode("ascii")
            return f"url(data:image/png;base64,{data})"

        css = re.sub(r"url\(images/([A-Za-z0-9_.-]+\.png)\)", data_uri, css)
    if re.search(r"</style", css, re.IGNORECASE):
        raise RuntimeError(f"{what} cannot be inlined: it contains '</style'")
    return f"<style>\n{css}\n</style>"


def _deg(value: float) -> float:
    """Degrees for the page: 9 decimals (0.1 mm), never -0.0."""
    return round(float(value), 9) + 0.0


def _json_for_html(obj: Any) -> str:
    """JSON safe inside ``<script type="application/json">`` (no '<', '>', '&')."""
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


class _Raw(Element):
    """Text put into the page verbatim. It is never compiled as a Jinja template (a
    plain ``Element(text)`` would be), so data holding ``{{ … }}`` stays data."""

    def __init__(self, text: str, name: str = "Raw") -> None:
        super().__init__()
        self._name = name
        self._text = text

    def render(self, **kwargs: Any) -> str:
        return self._text


class _Runtime(Element):
    """Adds the data payload and the covgap runtime after folium's own scripts."""

    def __init__(self, payload: Callable[[], dict[str, Any]]) -> None:
        super().__init__()
        self._name = "CovgapRuntime"
        self._payload = payload

    def render(self, **kwargs: Any) -> str:
        figure = self.get_root()
        assert isinstance(figure, Figure)
        data = _json_for_html(self._payload())
        figure.html.add_child(
            _Raw(f'<script type="application/json" id="covgap-data">{data}</script>'),
            name="covgap_data",
        )
        runtime = _asset("covgap_map.js").decode("utf-8")
        figure.script.add_child(_Raw(_script_text(runtime, "covgap_map.js")), name="covgap")
        return ""


def _assign_ids(root: Element) -> None:
    """Replace branca's random element ids by a counter, in tree order (determinism)."""
    counter = 0
    stack = [root]
    while stack:
        element = stack.pop()
        counter += 1
        element._id = str(counter)
        children = list(element._children.values())
        if isinstance(element, Figure):
            children = [element.header, element.html, element.script, *children]
        stack.extend(reversed(children))
        if isinstance(element, folium.Map):
            element.global_switches._id = "0"


_SWATCH_PATHS = {
    "circle": "M6 1.5a4.5 4.5 0 1 0 0.001 0Z",
    "square": "M1.5 1.5H10.5V10.5H1.5Z",
    "diamond": "M6 0.5L11.5 6L6 11.5L0.5 6Z",
    "triangle": "M6 0.8L11.4 10.6H0.6Z",
    "hexagon": "M3.2 1.2H8.8L11.6 6L8.8 10.8H3.2L0.4 6Z",
    "bar": "M0.5 3H11.5V9H0.5Z",  # a colour chip (operator colour of planned sites)
}


def _swatch(shape: str, colour: str) -> str:
    """A 12 px inline-SVG legend symbol of ``shape`` filled with ``colour``."""
    return (
        f'<svg class="covgap-sw" width="12" height="12" viewBox="0 0 12 12" aria-hidden="true">'
        f'<path d="{_SWATCH_PATHS[shape]}" fill="{html.escape(colour)}" stroke="#222" '
        'stroke-width="1"/></svg>'
    )


def _line_swatch(style: dict[str, Any]) -> str:
    dash = style.get("dashArray")
    dash_attr = f' stroke-dasharray="{html.escape(str(dash))}"' if dash else ""
    return (
        '<svg class="covgap-sw-line" width="24" height="10" viewBox="0 0 24 10" '
        f'aria-hidden="true"><line x1="1" y1="5" x2="23" y2="5" '
        f'stroke="{html.escape(str(style["color"]))}" stroke-width="{style["weight"]}"'
        f"{dash_attr}/></svg>"
    )


@dataclass(frozen=True)
class _LegendCounts:
    villages: dict[str, int]  # group → villages
    towers: dict[str, int]  # operator → tower sites
    site_kinds: dict[str, int]  # kind → planned sites (kind "" = not given)
    site_operators: dict[str, int]  # operator → planned sites
    links: dict[str, int] | None  # kind → links; None when no links were given
    dropped: int


def _legend_html(
    title: str,
    counts: _LegendCounts,
    *,
    sites_given: bool,
    credit: str | None,
    has_boundaries: bool,
    province_note: str | None,
    communes: int | None = None,
    communes_credit: str | None = None,
    coverage: CoverageGrid | None = None,
    coverage_shown: bool = False,
) -> str:
    def row(swatch: str, label: str, n: int, data_key: str) -> str:
        return (
            f'<div class="covgap-legend-row" data-layer="{html.escape(data_key)}">{swatch}'
            f"<span>{html.escape(label)}</span>"
            f'<span class="covgap-n">{n:,}</span></div>'
        )

    def none_row(text: str) -> str:
        return f'<div class="covgap-legend-row"><span>{html.escape(text)}</span></div>'

    parts = [
        '<div class="covgap-legend" id="covgap-legend">',
        f'<div class="covgap-legend-title">{html.escape(title)}</div>',
    ]
    if province_note:
        parts.append(f'<div class="covgap-legend-note">{html.escape(province_note)}</div>')
    parts.append('<div class="covgap-legend-section">Villages</div>')
    for g in GROUPS:
        parts.append(
            row(
                _swatch("circle", GROUP_COLOURS[g]),
                GROUP_LABELS[g],
                counts.villages[g],
                VILLAGE_LAYERS[g],
            )
        )
    parts.append('<div class="covgap-legend-section">Towers (sites)</div>')
    if not counts.towers:
        parts.append(none_row("none given"))
    for op, n in counts.towers.items():
        parts.append(row(_swatch("square", OPERATOR_COLOURS[op]), op, n, tower_layer_name(op)))
    if counts.links is not None:
        parts.append('<div class="covgap-legend-section">Backhaul links</div>')
        if not counts.links:
            parts.append(none_row("none planned"))
        for kind, n in counts.links.items():
            style = LINK_STYLES.get(kind, LINK_STYLES["other"])
            parts.append(row(_line_swatch(style), kind, n, LAYER_LINKS))
    parts.append('<div class="covgap-legend-section">Planned sites</div>')
    if not counts.site_kinds:
        parts.append(none_row("none planned" if sites_given else "none given"))
    else:
        parts.append('<div class="covgap-legend-sub">by kind (shape)</div>')
        for kind, n in counts.site_kinds.items():
            label = kind or "kind not given"
            parts.append(row(_swatch(site_kind_shape(kind), "#ffffff"), label, n, LAYER_SITES))
        parts.append('<div class="covgap-legend-sub">by operator (colour)</div>')
        for op, n in counts.site_operators.items():
            parts.append(row(_swatch("bar", OPERATOR_COLOURS[op]), op, n, LAYER_SITES))
    if coverage is not None:
        parts.append(_coverage_legend(coverage, shown=coverage_shown))
    if communes is not None:
        parts.append('<div class="covgap-legend-section">Communes</div>')
        parts.append(row(_line_swatch(_COMMUNE_STYLE), "outlines", communes, LAYER_COMMUNES))
    if counts.dropped:
        parts.append(
            f'<div class="covgap-legend-note">{counts.dropped:,} row(s) without usable '
            "coordinates are not drawn</div>"
        )
    if has_boundaries:
        text = f"Boundaries: {credit}" if credit else "Boundaries: (no credit given)"
        parts.append(f'<div class="covgap-legend-credit">{html.escape(text)}</div>')
    else:
        parts.append(f'<div class="covgap-legend-note">{html.escape(NO_BASE_NOTE)}</div>')
    if communes is not None:
        text = f"Communes: {communes_credit}" if communes_credit else "Communes: (no credit given)"
        text += f" (outlines simplified, tolerance {COMMUNE_SIMPLIFY_M:g} m)"
        parts.append(f'<div class="covgap-legend-credit">{html.escape(text)}</div>')
    parts.append("</div>")
    return "".join(parts)


def _coverage_legend(grid: CoverageGrid, *, shown: bool) -> str:
    """The legend section of a predicted-coverage layer: classes, threshold, cell size."""
    name = coverage_layer_name(grid)
    parts = [
        f'<div class="covgap-legend-section" id="covgap-coverage-legend">'
        f"{html.escape(f'Predicted {grid.technology} {grid.quantity} (best server)')}</div>"
    ]
    for cls in level_classes(grid.threshold_dbm):
        parts.append(
            f'<div class="covgap-legend-row" data-layer="{html.escape(name)}">'
            f"{_swatch('square', cls.colour)}<span>{html.escape(cls.label)}</span></div>"
        )
    lat = grid.centre_lat_deg
    lat_text = f"{abs(lat):.1f}° {'N' if lat >= 0 else 'S'}"
    note = (
        f"Not drawn: below {grid.threshold_dbm:g} dBm (low signal) or no {grid.technology} "
        f"server in reach. Grid cells of {grid.cell_m:,.0f} m (at {lat_text}; "
        f"EPSG:3857), each assessed at its centre like a village of clutter {grid.clutter} "
        f"(model {grid.model}, no terrain)."
    )
    if not shown:
        note += " Off at first: tick it in the layer control."
    parts.append(f'<div class="covgap-legend-note">{html.escape(note)}</div>')
    return "".join(parts)


# --------------------------------------------------------------------------- province view


@dataclass(frozen=True)
class _Frames:
    """The inputs of a run's maps (EPSG:4326) with what every map of them reads, computed
    once: the villages' and towers' display rows, province codes, boundary features and
    the schedule by site."""

    villages: gpd.GeoDataFrame
    towers: gpd.GeoDataFrame
    sites: gpd.GeoDataFrame | None
    links: gpd.GeoDataFrame | None
    boundaries: gpd.GeoDataFrame | None
    communes: gpd.GeoDataFrame | None  # prepared (see _prepare_communes)
    village_rows: _VillageRows
    tower_rows: _TowerRows | None  # None when there is no tower
    boundary_features: list[dict[str, Any] | None] | None
    #: two-digit province code per row (None where missing); None: no such column
    village_codes: np.ndarray | None
    site_codes: np.ndarray | None
    boundary_codes: np.ndarray | None
    commune_codes: np.ndarray | None
    #: site_id → finish_date, on_air_date (ISO text or None), late_days (see _schedule_by_site)
    schedule: dict[str, dict[str, Any]]
    #: the links' site_id as text (None without links or without that column)
    link_sites: np.ndarray | None = None


def _frames(
    villages: gpd.GeoDataFrame,
    towers: gpd.GeoDataFrame,
    sites: gpd.GeoDataFrame | None,
    links: gpd.GeoDataFrame | None,
    boundaries: gpd.GeoDataFrame | None,
    communes: gpd.GeoDataFrame | None,
    site_schedule: pd.DataFrame | None,
) -> _Frames:
    villages = _to_wgs84(villages, "villages")
    towers = _to_wgs84(towers, "towers")
    sites = _to_wgs84(sites, "sites") if sites is not None else None
    links = _to_wgs84(links, "links") if links is not None else None
    boundaries = _to_wgs84(boundaries, "boundaries") if boundaries is not None else None
    prepared = _prepare_communes(communes) if communes is not None else None
    tower_rows = _tower_rows(towers) if len(towers) else None
    village_rows = _village_rows(villages)
    return _Frames(
        villages=villages,
        towers=towers,
        sites=sites,
        links=links,
        boundaries=boundaries,
        communes=prepared,
        village_rows=village_rows,
        tower_rows=tower_rows,
        boundary_features=_boundary_features(boundaries) if boundaries is not None else None,
        village_codes=_code_array(villages, "province_code"),
        site_codes=_code_array(sites, "province_code") if sites is not None else None,
        boundary_codes=(
            _code_array(boundaries, "province_code") if boundaries is not None else None
        ),
        commune_codes=_code_array(prepared, "province_code") if prepared is not None else None,
        schedule=_schedule_by_site(site_schedule),
        link_sites=(
            _objects([str(x) for x in links["site_id"].astype("object").tolist()])
            if links is not None and "site_id" in links.columns
            else None
        ),
    )


@dataclass(frozen=True)
class _View:
    """What one map shows: rows of the frames, where to zoom and the focus province."""

    frames: _Frames
    villages: np.ndarray  # positions of the villages drawn (ascending)
    towers: np.ndarray  # positions of the towers in view (ascending)
    sites: gpd.GeoDataFrame | None
    links: gpd.GeoDataFrame | None
    boundaries: np.ndarray | None  # positions of the boundary rows drawn
    fit: list[list[float]] | None  # [[south, west], [north, east]]
    focus: str | None  # province code of a province map
    focus_name: str | None
    communes: gpd.GeoDataFrame | None = None  # prepared (see _prepare_communes)
    coverage: CoverageGrid | None = None


def _national_view(frames: _Frames, coverage: CoverageGrid | None) -> _View:
    return _View(
        frames,
        np.arange(len(frames.villages)),
        np.arange(len(frames.towers)),
        frames.sites,
        frames.links,
        np.arange(len(frames.boundaries)) if frames.boundaries is not None else None,
        None,
        None,
        None,
        frames.communes,
        coverage,
    )


def _province_code(code: Any) -> str:
    """``8``, ``"8"`` or ``"08"`` → ``"08"`` (codes are two-digit text)."""
    text = str(code).strip()
    return text.zfill(2) if text.isdigit() else text


def _code_array(frame: pd.DataFrame, column: str) -> np.ndarray | None:
    """Two-digit province codes of ``frame[column]`` (object array; None where missing),
    or None when there is no such column. Each distinct value is converted once."""
    if column not in frame.columns:
        return None
    values = frame[column].astype("object")
    index, uniques = pd.factorize(values, use_na_sentinel=True)
    table = _objects([_province_code(u) for u in uniques.tolist()] + [None])
    return table[index]  # index -1 (missing) → the final None


def _grow_bounds(bounds: Sequence[float], margin_m: float) -> tuple[float, float, float, float]:
    """A lon/lat box grown by ``margin_m`` metres on every side (spherical approximation)."""
    w, s, e, n = (float(b) for b in bounds)
    dlat = margin_m / _M_PER_DEG_LAT
    widest = max(abs(s), abs(n)) + dlat
    dlon = margin_m / (_M_PER_DEG_LAT * max(math.cos(math.radians(min(widest, 89.0))), 1e-6))
    return w - dlon, max(s - dlat, -90.0), e + dlon, min(n + dlat, 90.0)


def _province_view(code: str, frames: _Frames, coverage: CoverageGrid | None = None) -> _View:
    villages, sites, links, boundaries = (
        frames.villages,
        frames.sites,
        frames.links,
        frames.boundaries,
    )
    if frames.village_codes is None:
        _require(villages, ("province_code",), "villages")
    assert frames.village_codes is not None
    v_index = np.flatnonzero(frames.village_codes == code)
    name: str | None = None
    if "province" in villages.columns and len(v_index):
        name = _text(villages["province"].iloc[v_index[0]])
    s_part = None
    if sites is not None:
        if frames.site_codes is not None:
            s_part = sites[frames.site_codes == code]
        else:
            s_part = sites.iloc[0:0]  # decided below from the box
    own_polygons = None
    if boundaries is not None and frames.boundary_codes is not None:
        own_polygons = boundaries[frames.boundary_codes == code]
        own_polygons = own_polygons[~own_polygons.geometry.isna() & ~own_polygons.is_empty]
        if name is None and len(own_polygons) and "province_name" in own_polygons.columns:
            name = _text(own_polygons["province_name"].iloc[0])
    if own_polygons is not None and len(own_polygons):
        bounds = own_polygons.total_bounds
    else:
        rows = frames.village_rows
        v_ok = v_index[rows.ok[v_index]]
        lat = [rows.lat[v_ok]]
        lon = [rows.lon[v_ok]]
        if s_part is not None and len(s_part):
            s_lat, s_lon, s_ok = _points(s_part)
            lat.append(s_lat[s_ok])
            lon.append(s_lon[s_ok])
        lat_all = np.concatenate(lat)
        lon_all = np.concatenate(lon)
        if not len(lat_all):
            raise SchemaError(
                f"province {code!r}: no village, site or boundary of that province to map "
                "(check the code: two digits, 2025 codes, e.g. '08')",
                column="province_code",
            )
        bounds = np.array([lon_all.min(), lat_all.min(), lon_all.max(), lat_all.max()])
    box = _grow_bounds(bounds, PROVINCE_MARGIN_M)
    w, s, e, n = box

    def inside(lat: np.ndarray, lon: np.ndarray, ok: np.ndarray) -> np.ndarray:
        return np.asarray(ok & (lon >= w) & (lon <= e) & (lat >= s) & (lat <= n), dtype=bool)

    t = frames.tower_rows
    t_index = np.flatnonzero(inside(t.lat, t.lon, t.ok)) if t is not None else np.zeros(0, np.int64)
    if sites is not None and frames.site_codes is None:
        s_part = sites[inside(*_points(sites))] if len(sites) else sites
    l_part = None
    if links is not None:
        _require(links, ("site_id", "geometry"), "links")
        site_ids = set(s_part["site_id"].astype(str)) if s_part is not None else set()
        assert frames.link_sites is not None
        l_part = links[pd.Series(frames.link_sites).isin(site_ids).to_numpy(dtype=bool)]
    b_index = None
    if boundaries is not None:
        b_index = np.flatnonzero(boundaries.intersects(shapely.box(w, s, e, n)).to_numpy(bool))
    c_part = None
    communes = frames.communes
    if communes is not None:
        codes = frames.commune_codes
        if codes is not None and any(c is not None for c in codes):  # the province's communes
            c_part = communes[codes == code]
        else:  # no province codes: those reaching into the view
            c_part = communes[communes.intersects(shapely.box(w, s, e, n)).to_numpy(bool)]
    cropped = coverage.crop(box) if coverage is not None else None
    fit = [[float(bounds[1]), float(bounds[0])], [float(bounds[3]), float(bounds[2])]]
    return _View(
        frames, v_index, t_index, s_part, l_part, b_index, fit, code, name, c_part, cropped
    )


# --------------------------------------------------------------------------- public API


def render_map_html(
    villages: gpd.GeoDataFrame,
    towers: gpd.GeoDataFrame,
    sites: gpd.GeoDataFrame | None = None,
    *,
    links: gpd.GeoDataFrame | None = None,
    site_schedule: pd.DataFrame | None = None,
    boundaries: gpd.GeoDataFrame | None = None,
    boundaries_credit: str | None = None,
    title: str = "covgap",
    province_code: str | None = None,
    cluster_threshold: int | None = 2000,
    coverage_raster: CoverageGrid | None = None,
    communes: gpd.GeoDataFrame | None = None,
    communes_credit: str | None = None,
    tiles: str | None = None,
) -> str:
    """The map page as text (see :func:`build_map`, which writes it)."""
    tile_spec = _tile_spec(tiles)
    frames = _frames(villages, towers, sites, links, boundaries, communes, site_schedule)
    if province_code is not None:
        view = _province_view(_province_code(province_code), frames, coverage_raster)
    else:
        view = _national_view(frames, coverage_raster)
    return _render(
        view,
        boundaries_credit=boundaries_credit,
        title=title,
        cluster_threshold=cluster_threshold,
        communes_credit=communes_credit,
        tiles=tile_spec,
    )


def _tile_spec(tiles: str | None) -> dict[str, Any] | None:
    """The :data:`TILE_LAYERS` entry of ``tiles`` (None: no online tiles)."""
    if tiles is None:
        return None
    key = str(tiles).strip().lower()
    if key not in TILE_LAYERS:
        raise UsageError(
            f"tiles = {tiles!r}: expected one of {', '.join(TILE_LAYERS)} (or none: offline)"
        )
    return TILE_LAYERS[key]


def _render(
    view: _View,
    *,
    boundaries_credit: str | None,
    title: str,
    cluster_threshold: int | None,
    communes_credit: str | None = None,
    tiles: dict[str, Any] | None = None,
) -> str:
    frames = view.frames
    sites, links, boundaries = view.sites, view.links, view.boundaries

    # --- layers, in control order (villages, towers, links, sites, provinces)
    tower_ops: list[str] = []
    if len(view.towers) and frames.tower_rows is not None:
        present = set(frames.tower_rows.operator[view.towers].tolist())
        tower_ops = [op for op in OPERATORS if op in present]
    layers: list[_Layer] = [_Layer(VILLAGE_LAYERS[g], "village", dict(_STYLES[g])) for g in GROUPS]
    for op in tower_ops:
        layers.append(
            _Layer(
                tower_layer_name(op),
                "tower",
                {**_STYLES["tower"], "fillColor": OPERATOR_COLOURS[op]},
            )
        )
    if links is not None:
        layers.append(_Layer(LAYER_LINKS, "link"))
    layers.append(
        _Layer(LAYER_SITES, "site", {**_STYLES["site"], "fillColor": "#ffffff"}, fill_by="fill")
    )
    if boundaries is not None:
        layers.append(_Layer(LAYER_PROVINCES, None))
    # off at first on the national map, on for a province map
    extra_shown = view.focus is not None
    if view.communes is not None:
        layers.append(_Layer(LAYER_COMMUNES, None, show=extra_shown))
    coverage = view.coverage
    if coverage is not None:
        layers.append(_Layer(coverage_layer_name(coverage), None, show=extra_shown))
    layer_index = {layer.name: i for i, layer in enumerate(layers)}

    # --- tables
    schedule = frames.schedule
    onair_of_site = {k: v["on_air_date"] for k, v in schedule.items() if v["on_air_date"]}
    village_table = _village_table(
        frames.village_rows, view.villages, layer_index, _villages_served(sites), onair_of_site
    )
    tables: dict[str, _Table] = {"village": village_table}
    if len(view.towers) and frames.tower_rows is not None:
        tables["tower"] = _tower_table(frames.tower_rows, frames.towers, view.towers, layer_index)
    timeline: dict[str, Any] | None = None
    site_row: dict[str, int] = {}
    if sites is not None and len(sites):
        site_table = _site_table(sites, layer_index, schedule)
        tables["site"] = site_table
        ids = site_table.cols["id"]
        assert isinstance(ids, list)
        site_row = {sid: k for k, sid in enumerate(ids)}
        onair_col = site_table.cols["onair"]
        onair = (
            [None if c < 0 else onair_col["k"][c] for c in onair_col["c"]]
            if isinstance(onair_col, dict)
            else list(onair_col)
        )
        weeks = _timeline(onair)
        if weeks is not None:
            site_table.cols["wk"] = weeks[1]
            timeline = {
                "weeks": weeks[0],
                "total": site_table.n,
                "undated": sum(1 for k in weeks[1] if k < 0),
            }
    if links is not None and len(links):
        tables["link"] = _link_table(links, layer_index, site_row)
    for layer in layers:
        n = tables[layer.kind].counts.get(layer.name, 0) if layer.kind in tables else 0
        layer.cluster = (
            layer.kind in ("tower", "site")
            and cluster_threshold is not None
            and n > cluster_threshold
        )
    clustered = any(layer.cluster for layer in layers)

    # --- folium skeleton
    m = folium.Map(
        location=_VIETNAM_CENTRE,
        zoom_start=6,
        tiles=None,
        prefer_canvas=True,
        control_scale=True,
        minZoom=3,
        maxZoom=18,  # the map has no tile layer to take it from (clustering needs it)
    )
    m.default_js = []
    m.default_css = []
    if tiles is not None:  # base-layer choices: none (shown) or the online tiles (not shown)
        folium.FeatureGroup(name=NO_TILES_LAYER, overlay=False, control=True, show=True).add_to(m)
        folium.TileLayer(
            tiles=tiles["url"],
            attr=tiles["attribution"],
            name=tiles["name"],
            max_zoom=tiles["maxZoom"],
            max_native_zoom=tiles["maxZoom"],
            overlay=False,
            control=True,
            show=False,
        ).add_to(m)
    for layer in layers:
        layer.group = folium.FeatureGroup(
            name=layer.name, overlay=True, control=True, show=layer.show
        )
        layer.group.add_to(m)
    folium.LayerControl(position="topright", collapsed=False).add_to(m)

    boundary_data = None
    if boundaries is not None and frames.boundary_features is not None:
        boundary_data = _feature_collection(frames.boundary_features[i] for i in boundaries)
    credit = boundaries_credit.strip() if boundaries_credit and boundaries_credit.strip() else None
    commune_credit = (
        communes_credit.strip() if communes_credit and communes_credit.strip() else None
    )
    commune_data = _communes_geojson(view.communes) if view.communes is not None else None
    coverage_png = png_bytes(coverage) if coverage is not None else None

    def payload() -> dict[str, Any]:
        out: dict[str, Any] = {
            "map": m.get_name(),
            "fallbackCenter": _VIETNAM_CENTRE,
            "fallbackZoom": 5,
            "fit": view.fit,
            "layers": [],
            "order": [layer.name for layer in layers if layer.kind is not None],
            "tables": {kind: {"n": table.n, "cols": table.cols} for kind, table in tables.items()},
            "popup": _POPUPS,
            "tooltip": _TOOLTIPS,
            "linkStyles": LINK_STYLES,
            "timeline": timeline,
        }
        for layer in layers:
            assert layer.group is not None
            spec: dict[str, Any] = {"name": layer.name, "var": layer.group.get_name()}
            if layer.kind is not None:
                spec.update(kind=layer.kind, style=layer.style, cluster=layer.cluster)
                if layer.fill_by:
                    spec["fillBy"] = layer.fill_by
                if layer.kind == "site":
                    spec["shapeBy"] = "shape"
            out["layers"].append(spec)
        if boundary_data is not None:
            out["boundaries"] = {
                "layer": LAYER_PROVINCES,
                "data": boundary_data,
                "style": _BOUNDARY_STYLE,
                "focus": view.focus,
                "focusStyle": _FOCUS_STYLE,
                "otherStyle": _OTHER_PROVINCE_STYLE,
                "attribution": html.escape(credit or "boundaries: no credit given"),
            }
        if commune_data is not None:
            out["communes"] = {
                "layer": LAYER_COMMUNES,
                "data": commune_data,
                "style": _COMMUNE_STYLE,
                "attribution": html.escape(commune_credit or "communes: no credit given"),
            }
        if coverage is not None and coverage_png is not None:
            w, s, e, n = coverage.bounds_lonlat
            out["coverage"] = {
                "layer": coverage_layer_name(coverage),
                "url": "data:image/png;base64," + base64.b64encode(coverage_png).decode("ascii"),
                "bounds": [[_deg(s), _deg(w)], [_deg(n), _deg(e)]],
                "opacity": COVERAGE_OPACITY,
            }
        if tiles is not None:
            out["tiles"] = {"name": tiles["name"], "none": NO_TILES_LAYER}
        return out

    m.add_child(_Runtime(payload))

    # --- page head and fixed boxes (escaped text, never Jinja)
    figure = m.get_root()
    assert isinstance(figure, Figure)
    head = [
        f"<title>{html.escape(title)}</title>",
        _inline_css(_asset("leaflet", "leaflet.css").decode("utf-8"), "leaflet.css", "leaflet"),
        _inline_js(_asset("leaflet", "leaflet.js").decode("utf-8"), "leaflet.js"),
    ]
    if clustered:
        head += [
            _inline_css(
                _asset("leaflet.markercluster", "MarkerCluster.css").decode("utf-8"),
                "MarkerCluster.css",
            ),
            _inline_js(
                _asset("leaflet.markercluster", "leaflet.markercluster.js").decode("utf-8"),
                "leaflet.markercluster.js",
            ),
        ]
    head.append(_inline_css(_asset("covgap_map.css").decode("utf-8"), "covgap_map.css"))
    for k, text in enumerate(head):
        figure.header.add_child(_Raw(text), name=f"covgap_head_{k}")

    counts = _legend_counts(tables, tower_ops, links is not None)
    province_note = None
    if view.focus is not None:
        label = f"{view.focus_name} ({view.focus})" if view.focus_name else view.focus
        province_note = (
            f"Province {label}: its villages and planned sites; towers within "
            f"{PROVINCE_MARGIN_M / 1000:g} km of its bounds"
        )
    figure.html.add_child(
        _Raw(
            _legend_html(
                title,
                counts,
                sites_given=sites is not None,
                credit=credit,
                has_boundaries=boundaries is not None,
                province_note=province_note,
                communes=len(commune_data["features"]) if commune_data is not None else None,
                communes_credit=commune_credit,
                coverage=coverage,
                coverage_shown=extra_shown,
            )
        ),
        name="covgap_legend",
    )
    if boundaries is None:
        figure.html.add_child(
            _Raw(f'<div class="covgap-note" id="covgap-no-base">{html.escape(NO_BASE_NOTE)}</div>'),
            name="covgap_note",
        )

    _assign_ids(figure)
    return figure.render()


def _decoded(col: list[Any] | dict[str, Any]) -> list[Any]:
    if isinstance(col, dict):
        return [None if c < 0 else col["k"][c] for c in col["c"]]
    return list(col)


def _legend_counts(
    tables: dict[str, _Table], tower_ops: list[str], links_given: bool
) -> _LegendCounts:
    village_table = tables["village"]
    villages = {g: village_table.counts[VILLAGE_LAYERS[g]] for g in GROUPS}
    towers = (
        {op: tables["tower"].counts.get(tower_layer_name(op), 0) for op in tower_ops}
        if "tower" in tables
        else {}
    )
    site_kinds: dict[str, int] = {}
    site_operators: dict[str, int] = {}
    if "site" in tables:
        ops = _decoded(tables["site"].cols["op"])
        site_operators = {op: ops.count(op) for op in OPERATORS if op in ops}
        kinds = [k or "" for k in _decoded(tables["site"].cols["kind"])]
        known = [k for k in SITE_KIND_SHAPES if k in kinds]
        others = sorted({k for k in kinds if k not in SITE_KIND_SHAPES})
        site_kinds = {k: kinds.count(k) for k in [*known, *others]}
    links: dict[str, int] | None = None
    if links_given:
        links = {}
        if "link" in tables:
            kinds = [k or "" for k in _decoded(tables["link"].cols["kind"])]
            known = [k for k in LINK_STYLES if k in kinds and k != "other"]
            others = sorted({k for k in kinds if k not in known})
            links = {k: kinds.count(k) for k in [*known, *others]}
    dropped = sum(t.dropped for t in tables.values())
    return _LegendCounts(villages, towers, site_kinds, site_operators, links, dropped)


def build_map(
    villages: gpd.GeoDataFrame,
    towers: gpd.GeoDataFrame,
    sites: gpd.GeoDataFrame | None = None,
    *,
    links: gpd.GeoDataFrame | None = None,
    site_schedule: pd.DataFrame | None = None,
    boundaries: gpd.GeoDataFrame | None = None,
    boundaries_credit: str | None = None,
    title: str = "covgap",
    province_code: str | None = None,
    out_path: Path,
    cluster_threshold: int | None = 2000,
    coverage_raster: CoverageGrid | None = None,
    communes: gpd.GeoDataFrame | None = None,
    communes_credit: str | None = None,
    tiles: str | None = None,
) -> Path:
    """Write one self-contained, offline HTML map to ``out_path`` (atomically); return it.

    Inputs are EPSG:4326 GeoDataFrames (another CRS is transformed; none is taken as
    EPSG:4326): ``villages`` assessed (``village_id``, ``name``, ``group`` required;
    ``commune``, ``province``, ``population``, ``electrified``, ``power_eta``,
    ``best_operator``, ``best_tower_id``, ``best_rsrp_dbm`` (dBm), ``margin_db`` (dB),
    ``rsrp_source`` shown when present), ``towers`` canonical (one row per sector; drawn
    once per operator and ``site_id``), ``sites`` planned (optional; drawn by ``kind``
    and operator), ``links`` backhaul (optional LineStrings with ``site_id``,
    ``operator``, ``kind`` fibre/microwave/satellite, ``length_m``; a "Backhaul links"
    layer when given, even empty), ``site_schedule`` (optional; ``site_id``,
    ``finish_date``, ``on_air_date``, ``late_days``; its on-air dates drive the weekly
    time slider), ``boundaries`` province polygons (optional base layer) and their
    ``boundaries_credit``. ``province_code`` (``"08"``) makes a province map: that
    province's villages (by ``province_code``) and sites, the towers within its bounds
    (from ``boundaries``, else from its villages) grown by :data:`PROVINCE_MARGIN_M`,
    zoomed to it. Towers and sites layers with more than ``cluster_threshold`` points are
    clustered (None: never). Operators must be canonical (:data:`covgap.export.OPERATORS`)
    and groups one of :data:`covgap.export.GROUPS`, else :class:`SchemaError`.

    Optional layers: ``coverage_raster`` (a :class:`covgap.coverage_grid.CoverageGrid`
    from :func:`covgap.coverage_grid.coverage_grid`) adds the predicted-coverage image
    overlay (cropped to the view on a province map); ``communes`` (polygons with
    ``commune_code``, ``commune`` and ``province_code``, e.g. from :func:`load_communes`)
    adds the "Communes" outlines with the name in a tooltip, credited with
    ``communes_credit``; both are off at first on the national map and on for a province
    map. ``tiles`` (None, or a :data:`TILE_LAYERS` key such as ``"openstreetmap"``) offers
    an online tile layer as a base-layer choice, never shown at first (an unknown key is
    a :class:`UsageError`).
    """
    text = render_map_html(
        villages,
        towers,
        sites,
        links=links,
        site_schedule=site_schedule,
        boundaries=boundaries,
        boundaries_credit=boundaries_credit,
        title=title,
        province_code=province_code,
        cluster_threshold=cluster_threshold,
        coverage_raster=coverage_raster,
        communes=communes,
        communes_credit=communes_credit,
        tiles=tiles,
    )
    return write_text_atomic(Path(out_path), text)


def province_map_name(province_code: str) -> str:
    """File name of a province map (``"province_08.html"``)."""
    return f"province_{_province_code(province_code)}.html"


def build_province_maps(
    villages: gpd.GeoDataFrame,
    towers: gpd.GeoDataFrame,
    sites: gpd.GeoDataFrame | None = None,
    *,
    links: gpd.GeoDataFrame | None = None,
    site_schedule: pd.DataFrame | None = None,
    boundaries: gpd.GeoDataFrame | None = None,
    boundaries_credit: str | None = None,
    title: str = "covgap",
    out_dir: Path,
    cluster_threshold: int | None = 2000,
    coverage_raster: CoverageGrid | None = None,
    communes: gpd.GeoDataFrame | None = None,
    communes_credit: str | None = None,
    tiles: str | None = None,
) -> list[Path]:
    """Write ``<out_dir>/province_<code>.html`` for every province with gap villages
    (``group`` other than ``covered``), in code order; return the paths.

    Same inputs as :func:`build_map` (the communes of each map are its province's; the
    coverage grid is cropped to the province's bounds grown by :data:`PROVINCE_MARGIN_M`;
    both layers are on at first); each map's title is ``"<title> — <province>
    (<code>)"``. Maps of provinces without gap villages are not written (nor removed
    when an earlier run left them).
    """
    _require(villages, ("province_code", "group"), "villages")
    tile_spec = _tile_spec(tiles)
    frames = _frames(villages, towers, sites, links, boundaries, communes, site_schedule)
    return _write_province_maps(
        frames,
        Path(out_dir),
        boundaries_credit=boundaries_credit,
        title=title,
        cluster_threshold=cluster_threshold,
        coverage=coverage_raster,
        communes_credit=communes_credit,
        tiles=tile_spec,
    )


def _write_province_maps(
    frames: _Frames,
    out_dir: Path,
    *,
    boundaries_credit: str | None,
    title: str,
    cluster_threshold: int | None,
    coverage: CoverageGrid | None,
    communes_credit: str | None,
    tiles: dict[str, Any] | None,
) -> list[Path]:
    """The province maps of :func:`build_province_maps` from prepared frames."""
    if frames.village_codes is None:
        _require(frames.villages, ("province_code",), "villages")
    assert frames.village_codes is not None
    gap = frames.village_rows.groups != "covered"
    codes = sorted({c for c in frames.village_codes[gap].tolist() if c})
    written: list[Path] = []
    for code in codes:
        view = _province_view(code, frames, coverage)
        label = f"{view.focus_name} ({code})" if view.focus_name else code
        text = _render(
            view,
            boundaries_credit=boundaries_credit,
            title=f"{title} — {label}",
            cluster_threshold=cluster_threshold,
            communes_credit=communes_credit,
            tiles=tiles,
        )
        written.append(write_text_atomic(out_dir / province_map_name(code), text))
    return written


def build_maps(
    villages: gpd.GeoDataFrame,
    towers: gpd.GeoDataFrame,
    sites: gpd.GeoDataFrame | None = None,
    *,
    links: gpd.GeoDataFrame | None = None,
    site_schedule: pd.DataFrame | None = None,
    boundaries: gpd.GeoDataFrame | None = None,
    boundaries_credit: str | None = None,
    title: str = "covgap",
    out_path: Path,
    out_dir: Path,
    cluster_threshold: int | None = 2000,
    coverage_raster: CoverageGrid | None = None,
    communes: gpd.GeoDataFrame | None = None,
    communes_credit: str | None = None,
    tiles: str | None = None,
) -> tuple[Path, list[Path]]:
    """:func:`build_map` to ``out_path`` and :func:`build_province_maps` to ``out_dir``
    with the same arguments, in one go: the same files (byte for byte), with the inputs
    prepared once for all the maps (the per-village and per-tower values, boundary
    outlines and province codes). Returns (the national map, the province maps)."""
    _require(villages, ("province_code", "group"), "villages")
    tile_spec = _tile_spec(tiles)
    frames = _frames(villages, towers, sites, links, boundaries, communes, site_schedule)
    text = _render(
        _national_view(frames, coverage_raster),
        boundaries_credit=boundaries_credit,
        title=title,
        cluster_threshold=cluster_threshold,
        communes_credit=communes_credit,
        tiles=tile_spec,
    )
    national = write_text_atomic(Path(out_path), text)
    provinces = _write_province_maps(
        frames,
        Path(out_dir),
        boundaries_credit=boundaries_credit,
        title=title,
        cluster_threshold=cluster_threshold,
        coverage=coverage_raster,
        communes_credit=communes_credit,
        tiles=tile_spec,
    )
    return national, provinces
