"""Operator exports: per operator GeoJSON, GeoPackage, KML and CSV, a JSON Schema, an index.

What an operator receives (DESIGN §2, §7), in ``exports/``:

* ``<slug>.geojson`` — RFC 7946: the sites planned for the operator, the gap villages
  they serve and (when links are given) their backhaul links; EPSG:4326 longitude/latitude,
  coordinates rounded to 6 decimals (about 0.1 m), no ``crs`` member, feature ids as
  strings, fixed property order and types (``schema/operator_export.schema.json``, copied
  from the package's committed schema, draft 2020-12);
* ``<slug>.gpkg`` — GeoPackage, layers ``sites``, ``villages`` and ``links`` (always all
  three, an empty layer keeps its columns and geometry type), the same fields (lists as
  ``;``-joined text, dates as ISO text);
* ``<slug>.kml`` — for Google Earth: folders "Sites", "Villages", "Backhaul links";
  placemark names and ``ExtendedData`` carry the text as data (XML-escaped), the
  balloon (``description``) is an HTML table with every value HTML-escaped, and the
  balloon style shows only it (never ``$[name]`` as HTML);
* ``<slug>.csv`` — for spreadsheets: one row per site then per village, ``lon``/``lat``
  columns, UTF-8 with a byte-order mark (so spreadsheet programs read Vietnamese
  correctly; GDAL and pandas skip it), ``\n`` line ends, RFC 4180 quoting;
* ``index.json`` — per operator and file: counts, bytes and SHA-256 (no timestamps).

Text is data in GeoJSON, GPKG, CSV and KML's data fields: NFC, never HTML-escaped; only
KML's balloons escape it (display). Files are written atomically and are byte-identical
for identical inputs (the GeoPackage's metadata date is fixed, see
:data:`covgap.outputs.FIXED_GPKG_DATE`).
"""

from __future__ import annotations

import csv
import hashlib
import html
import io
import itertools
import json
import math
import re
import unicodedata
from collections.abc import Iterable, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
from shapely.geometry import LineString, Point

from .atomic import atomic_path, write_bytes_atomic, write_text_atomic
from .errors import CRSError, SchemaError
from .outputs import FIXED_GPKG_DATE, pyogrio_config
from .schema import OPERATOR_SLUGS, OPERATORS

__all__ = [
    "COORD_DECIMALS",
    "CSV_COLUMNS",
    "EXPORT_FORMATS",
    "GPKG_FIELDS",
    "GROUPS",
    "KML_FOLDERS",
    "LINK_KINDS",
    "OPERATORS",
    "OPERATOR_SLUGS",
    "SCHEMA_NAME",
    "load_schema",
    "operator_csv_text",
    "operator_feature_collection",
    "operator_kml_text",
    "operator_layers",
    "operator_slug",
    "schema_text",
    "validate_rfc7946",
    "write_operator_exports",
    "write_operator_geojson",
]

#: Village / site groups (DESIGN §4).
GROUPS: tuple[str, ...] = ("covered", "low_signal_powered", "low_signal_unpowered")
#: Decimal places kept in exported coordinates (1e-6° ≈ 0.11 m).
COORD_DECIMALS = 6
#: File name of the export schema, in ``coverage/schemas/`` and ``<out>/schema/``.
SCHEMA_NAME = "operator_export.schema.json"
#: Backhaul link kinds (``kind`` of the links).
LINK_KINDS: tuple[str, ...] = ("fibre", "microwave", "satellite")
#: Export formats, in the order they are written per operator.
EXPORT_FORMATS: tuple[str, ...] = ("geojson", "gpkg", "kml", "csv")

#: GeoPackage layers and their fields (name, type: str/int/float/bool), in order; the
#: GeoJSON properties of the same name (lists joined by ";").
GPKG_FIELDS: dict[str, tuple[tuple[str, str], ...]] = {
    "sites": (
        ("site_id", "str"),
        ("operator", "str"),
        ("kind", "str"),
        ("technology", "str"),
        ("height_m", "float"),
        ("group", "str"),
        ("deadline", "str"),
        ("power", "str"),
        ("power_date", "str"),
        ("n_villages", "int"),
        ("population_served", "int"),
        ("villages_served", "str"),
        ("capex_vnd", "int"),
        ("province_code", "str"),
        ("province", "str"),
    ),
    "villages": (
        ("village_id", "str"),
        ("name", "str"),
        ("province_code", "str"),
        ("province", "str"),
        ("commune_code", "str"),
        ("commune", "str"),
        ("population", "int"),
        ("electrified", "bool"),
        ("power_eta", "str"),
        ("group", "str"),
        ("best_rsrp_dbm", "float"),
        ("served_by_site", "str"),
    ),
    "links": (
        ("link_id", "str"),
        ("site_id", "str"),
        ("operator", "str"),
        ("kind", "str"),
        ("length_m", "float"),
    ),
}
_GPKG_GEOMETRY = {"sites": "Point", "villages": "Point", "links": "LineString"}
_FEATURE_LAYER = {"site": "sites", "village": "villages", "link": "links"}
#: KML folder per feature type.
KML_FOLDERS: dict[str, str] = {
    "site": "Sites",
    "village": "Villages",
    "link": "Backhaul links",
}
#: CSV columns: one row per site and per village (links are in GeoJSON, GPKG and KML).
CSV_COLUMNS: tuple[str, ...] = (
    "feature_type",
    "id",
    "lon",
    "lat",
    "site_id",
    "village_id",
    "name",
    "operator",
    "kind",
    "technology",
    "height_m",
    "group",
    "deadline",
    "power",
    "power_date",
    "n_villages",
    "population_served",
    "villages_served",
    "capex_vnd",
    "province_code",
    "province",
    "commune_code",
    "commune",
    "population",
    "electrified",
    "power_eta",
    "best_rsrp_dbm",
    "served_by_site",
)

_SITE_COLUMNS = (
    "site_id",
    "operator",
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
    "capex_vnd",
    "province_code",
    "province",
)
_LINK_COLUMNS = ("site_id", "operator", "kind", "length_m", "geometry")
_VILLAGE_COLUMNS = (
    "village_id",
    "name",
    "province_code",
    "province",
    "population",
    "electrified",
    "group",
)


# --------------------------------------------------------------------------- helpers


def operator_slug(operator: str) -> str:
    """Export file stem of a canonical operator name (``"MobiFone"`` → ``"mobifone"``)."""
    try:
        return OPERATOR_SLUGS[operator]
    except KeyError:
        raise SchemaError(
            f"unknown operator {operator!r}: expected one of {', '.join(OPERATORS)}",
            column="operator",
        ) from None


def _is_missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _text(value: Any) -> str | None:
    """Text as data: NFC, not escaped; missing → None."""
    if _is_missing(value):
        return None
    return unicodedata.normalize("NFC", str(value))


def _iso_date(value: Any) -> str | None:
    """A date (Timestamp, datetime64, date or ISO string) as ``YYYY-MM-DD``; missing → None."""
    if _is_missing(value) or (isinstance(value, str) and not value.strip()):
        return None
    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError) as exc:
        raise SchemaError(f"not a date: {value!r}") from exc
    return None if pd.isna(stamp) else stamp.strftime("%Y-%m-%d")


def _int(value: Any, *, what: str) -> int:
    if _is_missing(value):
        raise SchemaError(f"{what} is missing: an integer is required")
    f = float(value)
    if not f.is_integer():
        raise SchemaError(f"{what} = {value!r} is not a whole number")
    return int(f)


def _float(value: Any, decimals: int) -> float | None:
    if _is_missing(value):
        return None
    out = round(float(value), decimals)
    if not math.isfinite(out):
        return None
    return out + 0.0  # -0.0 → 0.0


def _bool(value: Any, *, what: str) -> bool:
    if _is_missing(value):
        raise SchemaError(f"{what} is missing: true or false is required")
    return bool(value)


def _split_ids(value: Any) -> list[str]:
    """``"V1;V2"`` (or a list) → ``["V1", "V2"]`` (order kept, blanks dropped)."""
    items: Iterable[Any]
    if isinstance(value, list | tuple):
        items = value
    elif _is_missing(value):
        return []
    else:
        items = str(value).split(";")
    out: list[str] = []
    for item in items:
        text = _text(item)
        if text is not None and text.strip():
            out.append(text.strip())
    return out


def _lonlat(geom: Any, *, what: str) -> list[float]:
    if geom is None or geom.is_empty or geom.geom_type != "Point":
        kind = "empty" if geom is None or geom.is_empty else geom.geom_type
        raise SchemaError(f"{what}: geometry must be a point, got {kind}", column="geometry")
    lon, lat = float(geom.x), float(geom.y)
    if not (math.isfinite(lon) and math.isfinite(lat)):
        raise SchemaError(f"{what}: coordinates are not finite", column="geometry")
    return [round(lon, COORD_DECIMALS) + 0.0, round(lat, COORD_DECIMALS) + 0.0]


def _to_wgs84(gdf: gpd.GeoDataFrame, what: str) -> gpd.GeoDataFrame:
    """EPSG:4326 lon/lat; a frame without CRS is taken as EPSG:4326 (the canonical data)."""
    if gdf.crs is None:
        return gdf
    try:
        epsg = gdf.crs.to_epsg()
    except Exception:  # pragma: no cover - pyproj quirk
        epsg = None
    if epsg == 4326:
        return gdf
    try:
        return gdf.to_crs(4326)
    except Exception as exc:
        raise CRSError(f"{what}: cannot transform {gdf.crs} to EPSG:4326: {exc}") from exc


def _require(frame: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise SchemaError(
            f"{what} lack column(s) {', '.join(missing)}; have {', '.join(map(str, frame.columns))}"
        )


def _json_dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


# --------------------------------------------------------------------------- features


def _site_feature(row: pd.Series) -> dict[str, Any]:
    site_id = _text(row["site_id"]) or ""
    what = f"site {site_id}"
    deadline = _iso_date(row["deadline"])
    if deadline is None:
        raise SchemaError(f"{what}: deadline is missing", column="deadline")
    props: dict[str, Any] = {
        "feature_type": "site",
        "site_id": site_id,
        "operator": _text(row["operator"]),
        "kind": _text(row["kind"]),
        "technology": _text(row["technology"]),
        "height_m": _float(row["height_m"], 2),
        "group": _text(row["group"]),
        "deadline": deadline,
        "power": _text(row["power"]),
        "power_date": _iso_date(row["power_date"]),
        "n_villages": _int(row["n_villages"], what=f"{what}: n_villages"),
        "population_served": _int(row["population_served"], what=f"{what}: population_served"),
        "villages_served": _split_ids(row["villages_served"]),
        "capex_vnd": _int(row["capex_vnd"], what=f"{what}: capex_vnd"),
        "province_code": _text(row["province_code"]),
        "province": _text(row["province"]),
    }
    if props["group"] not in GROUPS:
        raise SchemaError(f"{what}: group {props['group']!r} is not one of {', '.join(GROUPS)}")
    return {
        "type": "Feature",
        "id": f"site/{site_id}",
        "geometry": {"type": "Point", "coordinates": _lonlat(row["geometry"], what=what)},
        "properties": props,
    }


def _village_feature(row: pd.Series, served_by: str) -> dict[str, Any]:
    village_id = _text(row["village_id"]) or ""
    what = f"village {village_id}"
    props: dict[str, Any] = {
        "feature_type": "village",
        "village_id": village_id,
        "name": _text(row["name"]),
        "province_code": _text(row["province_code"]),
        "province": _text(row["province"]),
        "commune_code": _text(row.get("commune_code")),
        "commune": _text(row.get("commune")),
        "population": _int(row["population"], what=f"{what}: population"),
        "electrified": _bool(row["electrified"], what=f"{what}: electrified"),
        "power_eta": _iso_date(row.get("power_eta")),
        "group": _text(row["group"]),
        "best_rsrp_dbm": _float(row.get("best_rsrp_dbm"), 1),
        "served_by_site": served_by,
    }
    if props["group"] not in GROUPS:
        raise SchemaError(f"{what}: group {props['group']!r} is not one of {', '.join(GROUPS)}")
    return {
        "type": "Feature",
        "id": f"village/{village_id}",
        "geometry": {"type": "Point", "coordinates": _lonlat(row["geometry"], what=what)},
        "properties": props,
    }


def _line_coords(geom: Any, *, what: str) -> list[list[float]]:
    if geom is None or geom.is_empty or geom.geom_type != "LineString":
        kind = "empty" if geom is None or geom.is_empty else geom.geom_type
        raise SchemaError(f"{what}: geometry must be a LineString, got {kind}", column="geometry")
    xy = np.asarray(geom.coords, dtype=float)[:, :2]
    if len(xy) < 2 or not np.isfinite(xy).all():
        raise SchemaError(f"{what}: needs two or more finite positions", column="geometry")
    return [[round(x, COORD_DECIMALS) + 0.0, round(y, COORD_DECIMALS) + 0.0] for x, y in xy]


def _link_features(links: gpd.GeoDataFrame, operator: str) -> list[dict[str, Any]]:
    """The operator's links, sorted by (site_id, kind, length_m, coordinates); id
    ``"link/<site_id>/<n>"`` with ``n`` counting from 1 per site in that order."""
    mine = links[links["operator"].astype("object") == operator]
    rows: list[tuple[str, str, float | None, list[list[float]]]] = []
    for k, (_, row) in enumerate(mine.iterrows()):
        site_id = _text(row["site_id"])
        what = f"{operator} link {k + 1} (site {site_id})"
        if not site_id:
            raise SchemaError(f"{what}: site_id is missing", column="site_id")
        kind = _text(row["kind"])
        if kind not in LINK_KINDS:
            raise SchemaError(
                f"{what}: kind {kind!r} is not one of {', '.join(LINK_KINDS)}", column="kind"
            )
        coords = _line_coords(row["geometry"], what=what)
        rows.append((site_id, kind, _float(row["length_m"], 1), coords))
    rows.sort(key=lambda r: (r[0], r[1], -1.0 if r[2] is None else r[2], r[3]))
    features: list[dict[str, Any]] = []
    count: dict[str, int] = {}
    for site_id, kind, length_m, coords in rows:
        count[site_id] = count.get(site_id, 0) + 1
        link_id = f"{site_id}/{count[site_id]}"
        features.append(
            {
                "type": "Feature",
                "id": f"link/{link_id}",
                "geometry": {"type": "LineString", "coordinates": coords},
                "properties": {
                    "feature_type": "link",
                    "link_id": link_id,
                    "site_id": site_id,
                    "operator": operator,
                    "kind": kind,
                    "length_m": length_m,
                },
            }
        )
    return features


def _positions(geometry: dict[str, Any]) -> list[list[float]]:
    coords = geometry["coordinates"]
    return [coords] if geometry["type"] == "Point" else list(coords)


def operator_feature_collection(
    sites: gpd.GeoDataFrame,
    villages: gpd.GeoDataFrame,
    operator: str,
    *,
    links: gpd.GeoDataFrame | None = None,
) -> dict[str, Any]:
    """The FeatureCollection for one operator (pure; EPSG:4326 lon/lat in, RFC 7946 out).

    Features: the operator's sites (``feature_type = "site"``, sorted by ``site_id``),
    then the villages they serve (``feature_type = "village"``, sorted by
    ``village_id``), then, when ``links`` are given, the operator's backhaul links
    (``feature_type = "link"``, LineStrings; ``links`` columns ``site_id``, ``operator``,
    ``kind`` in :data:`LINK_KINDS`, ``length_m``). Feature ids are ``"site/<site_id>"``,
    ``"village/<village_id>"`` and ``"link/<site_id>/<n>"`` so kinds never collide.
    ``served_by_site`` is the first (lowest ``site_id``) of the operator's sites serving
    the village; every serving site lists the village in its ``villages_served``. A
    village id in ``villages_served`` that is not in ``villages`` is a
    :class:`SchemaError`.
    """
    _require(sites, _SITE_COLUMNS, "sites")
    _require(villages, _VILLAGE_COLUMNS, "villages")
    sites = _to_wgs84(sites, "sites")
    villages = _to_wgs84(villages, "villages")

    mine = sites[sites["operator"].astype("object") == operator]
    mine = mine.assign(_key=mine["site_id"].astype(str)).sort_values("_key", kind="stable")
    site_features = [_site_feature(row) for _, row in mine.iterrows()]

    served_by: dict[str, str] = {}
    for feature in site_features:
        for village_id in feature["properties"]["villages_served"]:
            served_by.setdefault(village_id, feature["properties"]["site_id"])

    ids = villages["village_id"].astype(str)
    dup = ids[ids.duplicated()]
    if len(dup):
        raise SchemaError(f"villages: village_id {dup.iloc[0]!r} appears more than once")
    by_id = pd.Series(range(len(villages)), index=ids.to_numpy())
    unknown = sorted(v for v in served_by if v not in by_id.index)
    if unknown:
        shown = ", ".join(unknown[:5]) + (" …" if len(unknown) > 5 else "")
        raise SchemaError(
            f"{operator}: {len(unknown)} village id(s) in villages_served are not among the "
            f"villages: {shown}",
            column="villages_served",
        )
    village_features = [
        _village_feature(villages.iloc[int(by_id[v])], served_by[v]) for v in sorted(served_by)
    ]

    link_features: list[dict[str, Any]] = []
    if links is not None:
        _require(links, _LINK_COLUMNS, "links")
        link_features = _link_features(_to_wgs84(links, "links"), operator)

    features = site_features + village_features + link_features
    collection: dict[str, Any] = {"type": "FeatureCollection"}
    if features:
        positions = [p for f in features for p in _positions(f["geometry"])]
        lons = [p[0] for p in positions]
        lats = [p[1] for p in positions]
        collection["bbox"] = [min(lons), min(lats), max(lons), max(lats)]
    collection["features"] = features
    return collection


def _collection_text(collection: dict[str, Any]) -> str:
    """Valid JSON with one feature per line (diff-friendly), UTF-8 text, trailing newline."""
    head = {k: v for k, v in collection.items() if k != "features"}
    opening = _json_dumps(head)[:-1] + ',"features":['
    body = ",\n".join(_json_dumps(f) for f in collection["features"])
    return opening + ("\n" + body + "\n" if body else "") + "]}\n"


# --------------------------------------------------------------------------- schema


def schema_text() -> str:
    """The committed JSON Schema (draft 2020-12) of an operator export, as text."""
    return (resources.files("covgap") / "schemas" / SCHEMA_NAME).read_text(encoding="utf-8")


def load_schema() -> dict[str, Any]:
    """The committed JSON Schema of an operator export, parsed."""
    schema: dict[str, Any] = json.loads(schema_text())
    return schema


# --------------------------------------------------------------------------- writer


def operator_layers(collection: dict[str, Any]) -> dict[str, gpd.GeoDataFrame]:
    """The GeoPackage layers (``sites``, ``villages``, ``links``; EPSG:4326) of an operator's
    FeatureCollection: the fields of :data:`GPKG_FIELDS`, typed, empty layers included."""
    rows: dict[str, list[dict[str, Any]]] = {layer: [] for layer in GPKG_FIELDS}
    geoms: dict[str, list[Any]] = {layer: [] for layer in GPKG_FIELDS}
    for feature in collection["features"]:
        props = feature["properties"]
        layer = _FEATURE_LAYER[props["feature_type"]]
        rows[layer].append(props)
        coords = feature["geometry"]["coordinates"]
        geoms[layer].append(
            Point(coords) if feature["geometry"]["type"] == "Point" else LineString(coords)
        )
    out: dict[str, gpd.GeoDataFrame] = {}
    for layer, fields in GPKG_FIELDS.items():
        data: dict[str, Any] = {}
        for name, kind in fields:
            values = [r[name] for r in rows[layer]]
            if name == "villages_served":
                values = [";".join(v) for v in values]
            if kind == "int":
                data[name] = pd.Series(values, dtype="int64")
            elif kind == "float":
                data[name] = pd.Series(
                    [np.nan if v is None else v for v in values], dtype="float64"
                )
            elif kind == "bool":
                data[name] = pd.Series(values, dtype="bool")
            else:
                data[name] = pd.Series(values, dtype="object")
        out[layer] = gpd.GeoDataFrame(
            data, geometry=gpd.GeoSeries(geoms[layer], crs="EPSG:4326"), crs="EPSG:4326"
        )
    return out


def _write_gpkg(collection: dict[str, Any], path: Path) -> Path:
    with atomic_path(path) as tmp, pyogrio_config(OGR_CURRENT_DATE=FIXED_GPKG_DATE):
        for layer, frame in operator_layers(collection).items():
            pyogrio.write_dataframe(
                frame, tmp, layer=layer, driver="GPKG", geometry_type=_GPKG_GEOMETRY[layer]
            )
    return path


# --------------------------------------------------------------------------- CSV


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ";".join(str(v) for v in value)
    return str(value)


def operator_csv_text(collection: dict[str, Any]) -> str:
    """Sites then villages of an operator's FeatureCollection as CSV text (columns
    :data:`CSV_COLUMNS`; booleans ``true``/``false``, lists ``;``-joined, missing empty;
    text as data; ``\\n`` line ends; no byte-order mark: the writer adds it)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(CSV_COLUMNS)
    for feature in collection["features"]:
        props = feature["properties"]
        if props["feature_type"] == "link":
            continue
        lon, lat = feature["geometry"]["coordinates"]
        row = {**props, "id": feature["id"], "lon": lon, "lat": lat}
        writer.writerow([_csv_value(row.get(c)) for c in CSV_COLUMNS])
    return buffer.getvalue()


# --------------------------------------------------------------------------- KML

_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xml(value: Any) -> str:
    """Text for an XML element or attribute: characters XML 1.0 forbids become U+FFFD,
    then ``& < > "`` are escaped, and CR as ``&#13;`` (XML readers turn a raw CR into LF)."""
    text = _XML_ILLEGAL.sub("\ufffd", str(value))
    return html.escape(text, quote=True).replace("&#x27;", "'").replace("\r", "&#13;")


def _kml_colour(hex_rgb: str, alpha: int = 255) -> str:
    """``#RRGGBB`` → KML ``aabbggrr``."""
    r, g, b = hex_rgb[1:3], hex_rgb[3:5], hex_rgb[5:7]
    return f"{alpha:02x}{b}{g}{r}".lower()


def _number(value: Any, decimals: int | None = None) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if decimals is not None:
        return f"{float(value):,.{decimals}f}"
    return str(value)


_KML_ROWS: dict[str, tuple[tuple[str, str, int | None], ...]] = {
    # (label, property, decimals: None = as text/int)
    "site": (
        ("Site ID", "site_id", None),
        ("Operator", "operator", None),
        ("Kind", "kind", None),
        ("Technology", "technology", None),
        ("Height (m)", "height_m", 1),
        ("Group", "group", None),
        ("Deadline", "deadline", None),
        ("Power", "power", None),
        ("Power date", "power_date", None),
        ("Villages served", "villages_served", None),
        ("Population served", "population_served", None),
        ("Capex (VND)", "capex_vnd", None),
        ("Province", "province", None),
    ),
    "village": (
        ("Village ID", "village_id", None),
        ("Commune", "commune", None),
        ("Province", "province", None),
        ("Population", "population", None),
        ("Electrified", "electrified", None),
        ("Power date", "power_eta", None),
        ("Group", "group", None),
        ("Best RSRP (dBm)", "best_rsrp_dbm", 1),
        ("Served by site", "served_by_site", None),
    ),
    "link": (
        ("Site", "site_id", None),
        ("Operator", "operator", None),
        ("Kind", "kind", None),
        ("Length (m)", "length_m", 0),
    ),
}


def _balloon(kind: str, title: str, props: dict[str, Any]) -> str:
    """The placemark's balloon: an HTML table, every value HTML-escaped."""
    parts = [f"<h3>{html.escape(title)}</h3><table>"]
    for label, key, decimals in _KML_ROWS[kind]:
        value = props.get(key)
        if value is None or value == []:
            continue
        text = ", ".join(value) if isinstance(value, list) else _number(value, decimals)
        parts.append(f"<tr><th>{html.escape(label)}</th><td>{html.escape(text)}</td></tr>")
    parts.append("</table>")
    return "".join(parts)


def _kml_coords(geometry: dict[str, Any]) -> str:
    return " ".join(f"{lon!r},{lat!r}" for lon, lat in _positions(geometry))


def operator_kml_text(collection: dict[str, Any], operator: str) -> str:
    """KML 2.2 of an operator's FeatureCollection: folders :data:`KML_FOLDERS` (always all
    three), styles by operator (sites), group (villages) and link kind; names and
    ``ExtendedData`` are the text as data, balloons are escaped HTML."""
    from .maps import GROUP_COLOURS, LINK_STYLES, OPERATOR_COLOURS  # colours of the maps

    by_kind: dict[str, list[dict[str, Any]]] = {k: [] for k in KML_FOLDERS}
    for feature in collection["features"]:
        by_kind[feature["properties"]["feature_type"]].append(feature)
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<kml xmlns="http://www.opengis.net/kml/2.2">',
        "<Document>",
        f"<name>{_xml(f'covgap — {operator}')}</name>",
        "<open>1</open>",
        f"<description>{_xml(_document_note(by_kind))}</description>",
    ]
    balloon = "<BalloonStyle><text>$[description]</text></BalloonStyle>"
    op_colour = OPERATOR_COLOURS.get(operator, "#000000")
    out.append(
        f'<Style id="site"><IconStyle><color>{_kml_colour(op_colour)}</color>'
        f"<scale>1.2</scale></IconStyle>{balloon}</Style>"
    )
    for group in GROUPS:
        out.append(
            f'<Style id="village-{group}"><IconStyle>'
            f"<color>{_kml_colour(GROUP_COLOURS[group])}</color><scale>0.8</scale>"
            f"</IconStyle>{balloon}</Style>"
        )
    for kind in LINK_KINDS:
        style = LINK_STYLES.get(kind, LINK_STYLES["other"])
        out.append(
            f'<Style id="link-{kind}"><LineStyle><color>{_kml_colour(style["color"])}</color>'
            f"<width>{style['weight']}</width></LineStyle>{balloon}</Style>"
        )
    for kind, folder in KML_FOLDERS.items():
        out.append(f"<Folder><name>{_xml(folder)}</name>")
        for feature in by_kind[kind]:
            props = feature["properties"]
            if kind == "site":
                name, style_id = props["site_id"], "site"
            elif kind == "village":
                name = props["name"] or props["village_id"]
                style_id = f"village-{props['group']}"
            else:
                name, style_id = f"{props['kind']} {props['site_id']}", f"link-{props['kind']}"
            geometry = feature["geometry"]
            shape = "Point" if geometry["type"] == "Point" else "LineString"
            extended = "".join(
                f'<Data name="{_xml(key)}"><value>{_xml(_csv_value(value))}</value></Data>'
                for key, value in props.items()
            )
            out.append(
                "<Placemark>"
                f"<name>{_xml(name)}</name>"
                '<Snippet maxLines="0"></Snippet>'
                f"<description>{_xml(_balloon(kind, str(name), props))}</description>"
                f"<styleUrl>#{style_id}</styleUrl>"
                f"<ExtendedData>{extended}</ExtendedData>"
                f"<{shape}>"
                + ("<tessellate>1</tessellate>" if shape == "LineString" else "")
                + f"<coordinates>{_kml_coords(geometry)}</coordinates></{shape}>"
                "</Placemark>"
            )
        out.append("</Folder>")
    out += ["</Document>", "</kml>", ""]
    return "\n".join(out)


def _document_note(by_kind: dict[str, list[dict[str, Any]]]) -> str:
    return (
        f"{len(by_kind['site'])} planned site(s), {len(by_kind['village'])} village(s) they "
        f"serve, {len(by_kind['link'])} backhaul link(s). Coordinates WGS 84 (EPSG:4326)."
    )


# --------------------------------------------------------------------------- writer


def _file_entry(path: Path, data: bytes, **extra: Any) -> dict[str, Any]:
    return {
        "file": path.name,
        **extra,
        "bytes": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
    }


def write_operator_exports(
    sites: gpd.GeoDataFrame,
    villages: gpd.GeoDataFrame,
    out_dir: Path,
    *,
    links: gpd.GeoDataFrame | None = None,
    formats: Sequence[str] = EXPORT_FORMATS,
) -> list[Path]:
    """Write ``<out_dir>/<slug>.<format>`` per operator present among ``sites`` and format
    of ``formats`` (:data:`EXPORT_FORMATS`: ``geojson``, ``gpkg``, ``kml``, ``csv``).

    Also writes ``<out_dir>/schema/operator_export.schema.json`` (a copy of the package's
    schema) and ``<out_dir>/index.json`` (per operator: sites, villages, links, population
    of the villages; per file: counts, bytes and SHA-256; no timestamps). Inputs are
    EPSG:4326 (another CRS is transformed); ``links`` (optional) are backhaul LineStrings
    with ``site_id``, ``operator``, ``kind`` (:data:`LINK_KINDS`), ``length_m``. Returns the
    paths written: per operator (canonical order) its files in ``formats`` order, then the
    schema copy, then the index. Links of an operator with no planned site are not
    exported (there is no file for that operator). Files of operators absent from
    ``sites`` that a previous run left in ``out_dir`` are not touched (nor indexed).
    """
    out_dir = Path(out_dir)
    unknown = [f for f in formats if f not in EXPORT_FORMATS]
    if unknown or not formats:
        raise SchemaError(
            f"export formats {list(formats)!r}: choose from {', '.join(EXPORT_FORMATS)}"
        )
    _require(sites, _SITE_COLUMNS, "sites")
    present = [str(op) for op in pd.unique(sites["operator"].astype("object")) if op is not None]
    for op in present:
        operator_slug(op)  # unknown operator → SchemaError
    ordered = [op for op in OPERATORS if op in present]

    written: list[Path] = []
    entries: list[dict[str, Any]] = []
    for op in ordered:
        slug = operator_slug(op)
        collection = operator_feature_collection(sites, villages, op, links=links)
        props = [f["properties"] for f in collection["features"]]
        counts = {kind: sum(1 for p in props if p["feature_type"] == kind) for kind in KML_FOLDERS}
        files: dict[str, Any] = {}
        for fmt in formats:
            path = out_dir / f"{slug}.{fmt}"
            if fmt == "geojson":
                data = _collection_text(collection).encode("utf-8")
                write_bytes_atomic(path, data)
                files[fmt] = _file_entry(path, data, features=len(props))
            elif fmt == "gpkg":
                _write_gpkg(collection, path)
                layers = {_FEATURE_LAYER[k]: n for k, n in counts.items()}
                files[fmt] = _file_entry(path, path.read_bytes(), layers=layers)
            elif fmt == "kml":
                data = operator_kml_text(collection, op).encode("utf-8")
                write_bytes_atomic(path, data)
                folders = {KML_FOLDERS[k]: n for k, n in counts.items()}
                files[fmt] = _file_entry(path, data, folders=folders)
            else:
                data = b"\xef\xbb\xbf" + operator_csv_text(collection).encode("utf-8")
                write_bytes_atomic(path, data)
                rows = counts["site"] + counts["village"]
                files[fmt] = _file_entry(path, data, rows=rows, encoding="UTF-8 with BOM")
            written.append(path)
        entries.append(
            {
                "operator": op,
                "slug": slug,
                "sites": counts["site"],
                "villages": counts["village"],
                "links": counts["link"],
                "population": sum(p["population"] for p in props if p["feature_type"] == "village"),
                "files": files,
            }
        )

    schema_bytes = schema_text().encode("utf-8")
    written.append(write_bytes_atomic(out_dir / "schema" / SCHEMA_NAME, schema_bytes))
    index = {
        "format": "covgap operator export",
        "schema": f"schema/{SCHEMA_NAME}",
        "schema_sha256": hashlib.sha256(schema_bytes).hexdigest(),
        "crs": "EPSG:4326",
        "coordinate_decimals": COORD_DECIMALS,
        "operators": entries,
    }
    index_text = json.dumps(index, ensure_ascii=False, indent=2) + "\n"
    written.append(write_text_atomic(out_dir / "index.json", index_text))
    return written


def write_operator_geojson(
    sites: gpd.GeoDataFrame,
    villages: gpd.GeoDataFrame,
    out_dir: Path,
    *,
    links: gpd.GeoDataFrame | None = None,
) -> list[Path]:
    """Only the GeoJSON files (and schema, index) of :func:`write_operator_exports`."""
    return write_operator_exports(sites, villages, out_dir, links=links, formats=("geojson",))


# --------------------------------------------------------------------------- RFC 7946


_GEOMETRY_DEPTH = {
    "Point": 0,
    "MultiPoint": 1,
    "LineString": 1,
    "MultiLineString": 2,
    "Polygon": 2,
    "MultiPolygon": 3,
}


def _ring_area2(ring: list[list[float]]) -> float:
    """Twice the signed planar area of a ring (> 0: counterclockwise)."""
    return sum(a[0] * b[1] - b[0] * a[1] for a, b in itertools.pairwise(ring))


class _Checker:
    def __init__(
        self,
        max_decimals: int | None,
        region: tuple[float, float, float, float] | None,
    ) -> None:
        self.problems: list[str] = []
        self.max_decimals = max_decimals
        self.region = region
        self.positions: list[list[float]] = []

    def add(self, where: str, message: str) -> None:
        self.problems.append(f"{where}: {message}")

    def position(self, where: str, pos: Any) -> None:
        if not isinstance(pos, list) or len(pos) not in (2, 3):
            self.add(where, f"a position must be [lon, lat] or [lon, lat, alt], got {pos!r}")
            return
        if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in pos):
            self.add(where, f"position {pos!r} holds non-numbers")
            return
        if not all(math.isfinite(v) for v in pos):
            self.add(where, f"position {pos!r} is not finite")
            return
        lon, lat = pos[0], pos[1]
        if not -180.0 <= lon <= 180.0:
            self.add(where, f"longitude {lon} is outside [-180, 180] (is it [lat, lon]?)")
        if not -90.0 <= lat <= 90.0:
            self.add(where, f"latitude {lat} is outside [-90, 90] (is it [lat, lon]?)")
        if self.region is not None:
            w, s, e, n = self.region
            if not (w <= lon <= e and s <= lat <= n):
                self.add(
                    where,
                    f"position [{lon}, {lat}] is outside the expected region "
                    f"[{w}, {s}, {e}, {n}] (lon/lat swapped?)",
                )
        if self.max_decimals is not None:
            for v in pos[:2]:
                if round(v, self.max_decimals) != v:
                    self.add(where, f"coordinate {v} has more than {self.max_decimals} decimals")
                    break
        self.positions.append(pos)

    def coordinates(self, where: str, gtype: str, coords: Any) -> None:
        depth = _GEOMETRY_DEPTH[gtype]
        if depth == 0:
            self.position(where, coords)
            return
        if not isinstance(coords, list):
            self.add(where, f"{gtype} coordinates must be an array")
            return
        if gtype == "LineString" and len(coords) < 2:
            self.add(where, "a LineString needs two or more positions")
        if gtype == "Polygon":
            self.polygon(where, coords)
            return
        sub = {"MultiPoint": "Point", "MultiLineString": "LineString", "MultiPolygon": "Polygon"}
        if gtype in sub:
            for k, part in enumerate(coords):
                self.coordinates(f"{where}[{k}]", sub[gtype], part)
        else:  # LineString
            for k, pos in enumerate(coords):
                self.position(f"{where}[{k}]", pos)

    def polygon(self, where: str, rings: Any) -> None:
        if not isinstance(rings, list):
            self.add(where, "Polygon coordinates must be an array of rings")
            return
        for r, ring in enumerate(rings):
            if not isinstance(ring, list) or len(ring) < 4:
                self.add(f"{where}[{r}]", "a linear ring needs four or more positions")
                continue
            for k, pos in enumerate(ring):
                self.position(f"{where}[{r}][{k}]", pos)
            if ring[0] != ring[-1]:
                self.add(f"{where}[{r}]", "linear ring is not closed (first != last position)")
                continue
            try:
                area2 = _ring_area2(ring)
            except (TypeError, IndexError):
                continue
            exterior = r == 0
            if (exterior and area2 < 0) or (not exterior and area2 > 0):
                self.add(
                    f"{where}[{r}]",
                    "ring breaks the right-hand rule (exterior counterclockwise, holes clockwise)",
                )

    def geometry(self, where: str, geom: Any) -> None:
        if geom is None:
            return
        if not isinstance(geom, dict):
            self.add(where, "geometry must be an object or null")
            return
        if "crs" in geom:
            self.add(where, "has a 'crs' member (removed in RFC 7946: coordinates are WGS 84)")
        gtype = geom.get("type")
        if gtype == "GeometryCollection":
            parts = geom.get("geometries")
            if not isinstance(parts, list):
                self.add(where, "GeometryCollection needs a 'geometries' array")
                return
            for k, part in enumerate(parts):
                self.geometry(f"{where}.geometries[{k}]", part)
            return
        if gtype not in _GEOMETRY_DEPTH:
            self.add(where, f"unknown geometry type {gtype!r}")
            return
        if "coordinates" not in geom:
            self.add(where, f"{gtype} has no 'coordinates'")
            return
        self.coordinates(f"{where}.coordinates", gtype, geom["coordinates"])

    def bbox(self, where: str, bbox: Any, positions: list[list[float]]) -> None:
        if not isinstance(bbox, list) or len(bbox) not in (4, 6):
            self.add(where, f"bbox must have 4 or 6 numbers, got {bbox!r}")
            return
        if not all(isinstance(v, int | float) and math.isfinite(v) for v in bbox):
            self.add(where, f"bbox {bbox!r} holds non-numbers")
            return
        half = len(bbox) // 2
        w, s, e, n = bbox[0], bbox[1], bbox[half], bbox[half + 1]
        if s > n:
            self.add(where, f"bbox south {s} is north of north {n}")
        if w <= e:  # (w > e is a box crossing the antimeridian: allowed)
            outside = [p for p in positions if not (w <= p[0] <= e and s <= p[1] <= n)]
            if outside:
                self.add(where, f"bbox does not contain position {outside[0]!r}")


def validate_rfc7946(
    obj: Any,
    *,
    max_decimals: int | None = COORD_DECIMALS,
    region_lonlat: tuple[float, float, float, float] | None = None,
) -> list[str]:
    """Problems that make ``obj`` (parsed JSON) not an RFC 7946 FeatureCollection as covgap
    writes them; ``[]`` when none.

    Checks: a FeatureCollection object with a ``features`` array of ``Feature`` objects;
    no ``crs`` member anywhere; feature ids strings (covgap's rule; RFC 7946 also allows
    numbers); ``properties`` an object or null; geometries of the RFC types with positions
    ``[lon, lat(, alt)]`` that are finite and in range; linear rings closed, with four or
    more positions and the right-hand rule; ``bbox`` well formed and containing the
    positions; at most ``max_decimals`` decimals (None: any). ``region_lonlat`` =
    ``(west, south, east, north)`` flags positions outside an expected area, which is how
    swapped lat/lon shows for a country-sized region (Vietnam: ``(102, 8, 118, 24)``).
    """
    check = _Checker(max_decimals, region_lonlat)
    if not isinstance(obj, dict):
        return [f"top level: not a JSON object but {type(obj).__name__}"]
    if obj.get("type") != "FeatureCollection":
        check.add("top level", f"type is {obj.get('type')!r}, not 'FeatureCollection'")
    if "crs" in obj:
        check.add("top level", "has a 'crs' member (removed in RFC 7946: coordinates are WGS 84)")
    features = obj.get("features")
    if not isinstance(features, list):
        check.add("top level", "'features' is missing or not an array")
        return check.problems
    for i, feature in enumerate(features):
        where = f"features[{i}]"
        if not isinstance(feature, dict):
            check.add(where, "not an object")
            continue
        if feature.get("type") != "Feature":
            check.add(where, f"type is {feature.get('type')!r}, not 'Feature'")
        if "crs" in feature:
            check.add(where, "has a 'crs' member (removed in RFC 7946)")
        if "id" in feature and not isinstance(feature["id"], str):
            check.add(where, f"id {feature['id']!r} is not a string")
        if "geometry" not in feature:
            check.add(where, "has no 'geometry' member (use null for none)")
        if "properties" not in feature:
            check.add(where, "has no 'properties' member (use null for none)")
        elif feature["properties"] is not None and not isinstance(feature["properties"], dict):
            check.add(where, "properties must be an object or null")
        start = len(check.positions)
        check.geometry(f"{where}.geometry", feature.get("geometry"))
        if "bbox" in feature:
            check.bbox(f"{where}.bbox", feature["bbox"], check.positions[start:])
    if "bbox" in obj:
        check.bbox("top level bbox", obj["bbox"], check.positions)
    return check.problems
