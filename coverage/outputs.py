"""Writers and readers for covgap's own stage outputs (GeoPackage, CSV, JSON).

Every writer is atomic (temporary file beside the target, then rename) and
deterministic: GeoPackages are written with a fixed ``OGR_CURRENT_DATE`` so the
same data gives the same bytes. Readers restore the column types the stages
expect (IDs as text, dates as ``datetime64[s]``, booleans as ``bool``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio

from .atomic import atomic_path, write_text_atomic
from .errors import InputFileError

#: GeoPackage metadata date: fixed so that outputs are byte-identical run to run.
FIXED_GPKG_DATE = "2025-01-01T00:00:00Z"

#: Columns that hold identifiers or codes: always text.
TEXT_COLUMNS = (
    "village_id",
    "tower_id",
    "site_id",
    "province_code",
    "commune_code",
    "best_tower_id",
    "villages_served",
    "served_by_site",
)
#: Columns that hold dates (date only).
DATE_COLUMNS = ("power_eta", "power_date", "deadline")
#: Columns that hold booleans.
BOOL_COLUMNS_PREFIXES = ("low_signal", "electrified", "extrapolated")


def _prepare_for_gpkg(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    out = gdf.copy()
    for col in out.columns:
        if col == out.geometry.name:
            continue
        s = out[col]
        if pd.api.types.is_datetime64_any_dtype(s):
            # Dates as ISO text: GeoPackage DATE support varies by reader.
            out[col] = s.dt.strftime("%Y-%m-%d").astype(object).where(s.notna(), None)
        elif isinstance(s.dtype, pd.StringDtype) or s.dtype == object:
            out[col] = s.astype(object).where(s.notna(), None)
    return out


def write_gpkg(gdf: gpd.GeoDataFrame, path: str | Path, *, layer: str) -> Path:
    """Write ``gdf`` (EPSG:4326) as one layer of a new GeoPackage, atomically."""
    return write_gpkg_layers({layer: gdf}, path)


def write_gpkg_layers(layers: Mapping[str, gpd.GeoDataFrame], path: str | Path) -> Path:
    """Write several layers (name → EPSG:4326 frame, in order) into a new GeoPackage,
    atomically; the file appears only once every layer is in it."""
    target = Path(path)
    with atomic_path(target) as tmp, pyogrio_config(OGR_CURRENT_DATE=FIXED_GPKG_DATE):
        for i, (layer, gdf) in enumerate(layers.items()):
            pyogrio.write_dataframe(
                _prepare_for_gpkg(gdf), tmp, layer=layer, driver="GPKG", append=i > 0
            )
    return target


class pyogrio_config:
    """Set GDAL config options for the duration of a ``with`` block."""

    def __init__(self, **options: str) -> None:
        self.options = options
        self.previous: dict[str, Any] = {}

    def __enter__(self) -> None:
        for key in self.options:
            self.previous[key] = pyogrio.get_gdal_config_option(key)
        pyogrio.set_gdal_config_options(dict(self.options))

    def __exit__(self, *exc: object) -> None:
        pyogrio.set_gdal_config_options(self.previous)


def read_stage_gpkg(path: str | Path, *, layer: str | None = None) -> gpd.GeoDataFrame:
    """Read a GeoPackage that a covgap stage wrote, restoring column types."""
    p = Path(path)
    if not p.exists():
        raise InputFileError(
            "file not found (run the previous stage first, or pass the right path)", file=p
        )
    try:
        gdf = pyogrio.read_dataframe(p, layer=layer)
    except Exception as exc:  # pyogrio raises several DataSourceError types
        raise InputFileError(f"cannot read as a GeoPackage: {exc}", file=p) from exc
    return restore_types(gdf)


def restore_types(df: pd.DataFrame) -> Any:
    """Give ID columns text, date columns ``datetime64[s]`` and flag columns ``bool``."""
    for col in df.columns:
        if col in TEXT_COLUMNS:
            df[col] = df[col].astype(object).where(df[col].notna(), None)
        elif col in DATE_COLUMNS:
            df[col] = pd.to_datetime(df[col], format="%Y-%m-%d", errors="coerce").astype(
                "datetime64[s]"
            )
        elif col.startswith(BOOL_COLUMNS_PREFIXES) and df[col].dtype != bool:
            df[col] = df[col].astype(bool)
    return df


def write_csv(df: pd.DataFrame, path: str | Path, *, float_format: str = "%.2f") -> Path:
    """Write ``df`` as UTF-8 CSV with ``\\n`` line endings, atomically."""
    target = Path(path)
    out = df.copy()
    for col in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[col]):
            out[col] = out[col].dt.strftime("%Y-%m-%d")
    with atomic_path(target) as tmp:
        out.to_csv(tmp, index=False, lineterminator="\n", float_format=float_format)
    return target


def write_json(obj: Any, path: str | Path) -> Path:
    """Write ``obj`` as indented UTF-8 JSON (keys in insertion order), atomically."""
    return write_text_atomic(
        path, json.dumps(obj, ensure_ascii=False, indent=2, default=_json_default) + "\n"
    )


def _json_default(value: Any) -> Any:
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return None if np.isnan(value) else float(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def sha256_file(path: str | Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def file_hashes(paths: Iterable[Path], *, base: Path | None = None) -> Mapping[str, str]:
    """``{relative path: sha256}`` for the files that exist, sorted by name."""
    out: dict[str, str] = {}
    for p in sorted(paths):
        if p.is_file():
            key = str(p.relative_to(base)) if base is not None else str(p)
            out[key] = sha256_file(p)
    return out
