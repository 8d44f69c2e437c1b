"""Column contracts and value normalisation for the villages and towers inputs (DESIGN §3).

Everything here works on text: the loaders (:mod:`covgap.io`) read every attribute as a
string (so ``0012``, ``T0001`` and ``2025-01-01`` stay text) and the functions below parse the
typed columns. Each parser takes a pandas Series of ``str``/missing values and returns a
:class:`Parsed` triple aligned to the input index:

* ``values`` — the parsed values (missing where absent or rejected);
* ``error`` — the reason a value is rejected (``None`` where it is fine);
* ``note`` — the fix applied to an accepted value (``None`` where nothing was fixed), which
  the loader turns into a warning naming file, rows and column.

Parsers are vectorised: the common, clean spellings go through pandas/numpy in one pass and
only the unusual ones are looked at one distinct value at a time.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from . import admin
from .errors import SchemaError

__all__ = [
    "ASCII_SPACE",
    "BACKHAULS",
    "CLUTTERS",
    "DEFAULT_BANDWIDTH_MHZ",
    "DEFAULT_BEAMWIDTH_DEG",
    "LAT_ALIASES",
    "LON_ALIASES",
    "OPERATORS",
    "OPERATOR_SLUGS",
    "POWER_SOURCES",
    "RANGES",
    "TECHNOLOGIES",
    "TOWER_COLUMNS",
    "TOWER_STATUSES",
    "VILLAGE_COLUMNS",
    "WKT_ALIASES",
    "ColumnMap",
    "ColumnSpec",
    "Parsed",
    "check_required",
    "clean_text_series",
    "duplicate_errors",
    "header_key",
    "looks_like",
    "parse_bool",
    "parse_choice",
    "parse_code",
    "parse_date",
    "parse_float",
    "parse_int",
    "parse_operator",
    "parse_provinces",
    "parse_text",
    "resolve_columns",
]

#: ``na_value`` giving None for missing text in ``Series.to_numpy(dtype=object)``.
_NA_NONE: Any = None

# ---------------------------------------------------------------------------------------------
# Vocabularies

OPERATORS: tuple[str, ...] = ("Viettel", "VNPT", "MobiFone", "Vietnamobile")
"""Canonical operator names, in report order."""

OPERATOR_SLUGS: dict[str, str] = {op: op.lower() for op in OPERATORS}
"""Export slugs (``exports/<slug>.geojson``)."""

TECHNOLOGIES: tuple[str, ...] = ("2G", "3G", "4G", "5G")
CLUTTERS: tuple[str, ...] = ("urban_large", "urban_small_medium", "suburban", "open_rural")
"""Hata environment names."""
TOWER_STATUSES: tuple[str, ...] = ("active", "planned")
BACKHAULS: tuple[str, ...] = ("fibre", "microwave", "satellite", "none")
POWER_SOURCES: tuple[str, ...] = ("grid", "solar", "generator")

DEFAULT_BANDWIDTH_MHZ: dict[str, float] = {"2G": 0.2, "3G": 5.0, "4G": 10.0, "5G": 100.0}
"""Carrier bandwidth (MHz) when ``bandwidth_mhz`` is absent."""
DEFAULT_BEAMWIDTH_DEG = 65.0
"""Horizontal half-power beamwidth (degrees) of a sector with an azimuth but no beamwidth."""

RANGES: dict[str, tuple[float, float]] = {
    "measured_rsrp_dbm": (-140.0, -44.0),
    "frequency_mhz": (700.0, 3800.0),
    "height_m": (3.0, 150.0),
    "bandwidth_mhz": (0.1, 400.0),
    "eirp_dbm": (0.0, 100.0),
    "azimuth_deg": (0.0, 360.0),
    "beamwidth_deg": (1.0, 360.0),
    "tx_power_dbm": (-10.0, 70.0),
    "antenna_gain_dbi": (-10.0, 30.0),
    "cable_loss_db": (0.0, 30.0),
}
"""Accepted closed ranges of numeric columns (units in the names)."""

_OPERATOR_ALIASES: dict[str, str] = {
    "viettel": "Viettel",
    "viettel telecom": "Viettel",
    "viettel mobile": "Viettel",
    "vtl": "Viettel",
    "vnpt": "VNPT",
    "vinaphone": "VNPT",
    "vina phone": "VNPT",
    "vnpt vinaphone": "VNPT",
    "vnpt-vinaphone": "VNPT",
    "mobifone": "MobiFone",
    "mobiphone": "MobiFone",
    "mobi fone": "MobiFone",
    "mobifone corporation": "MobiFone",
    "vietnamobile": "Vietnamobile",
    "vietnam mobile": "Vietnamobile",
    "vnmobile": "Vietnamobile",
    "vnm": "Vietnamobile",
}
_TECH_ALIASES: dict[str, str] = {
    "2g": "2G",
    "gsm": "2G",
    "3g": "3G",
    "umts": "3G",
    "wcdma": "3G",
    "4g": "4G",
    "lte": "4G",
    "5g": "5G",
    "nr": "5G",
    "5g nr": "5G",
}
_CLUTTER_ALIASES: dict[str, str] = {c.replace("_", " "): c for c in CLUTTERS}
_STATUS_ALIASES: dict[str, str] = {"active": "active", "planned": "planned"}
_BACKHAUL_ALIASES: dict[str, str] = {
    "fibre": "fibre",
    "fiber": "fibre",
    "optical fibre": "fibre",
    "microwave": "microwave",
    "mw": "microwave",
    "satellite": "satellite",
    "vsat": "satellite",
    "leo": "satellite",
    "none": "none",
}
_POWER_ALIASES: dict[str, str] = {
    "grid": "grid",
    "solar": "solar",
    "generator": "generator",
    "genset": "generator",
    "diesel": "generator",
}
_BOOL_WORDS: dict[str, bool] = {
    "true": True,
    "false": False,
    "yes": True,
    "no": False,
    "1": True,
    "0": False,
    "có": True,
    "không": False,
}

# ---------------------------------------------------------------------------------------------
# Column contracts

Kind = Literal[
    "id", "text", "province_code", "commune_code", "int", "float", "bool", "date", "operator",
    "technology", "clutter", "status", "backhaul", "power",
]  # fmt: skip


@dataclass(frozen=True)
class ColumnSpec:
    """One column of a data contract: canonical name, kind, whether required, aliases."""

    name: str
    kind: Kind
    required: bool = False
    aliases: tuple[str, ...] = ()


VILLAGE_COLUMNS: tuple[ColumnSpec, ...] = (
    ColumnSpec("village_id", "id", True, ("id", "ma_thon", "village_code")),
    ColumnSpec("name", "text", True, ("village_name", "village", "ten", "ten_thon")),
    ColumnSpec("province_code", "province_code", True, ("ma_tinh", "province_id")),
    ColumnSpec("province", "text", True, ("province_name", "tinh")),
    ColumnSpec("commune_code", "commune_code", False, ("ma_xa", "commune_id")),
    ColumnSpec("commune", "text", False, ("commune_name", "xa")),
    ColumnSpec("population", "int", True, ("pop", "dan_so")),
    ColumnSpec("households", "int", False, ("ho", "so_ho")),
    ColumnSpec("electrified", "bool", True, ("has_power", "co_dien")),
    ColumnSpec("power_eta", "date", False, ("power_date",)),
    ColumnSpec("assigned_operator", "operator", False, ()),
    ColumnSpec("measured_rsrp_dbm", "float", False, ("measured_rsrp", "rsrp_dbm", "rsrp")),
    ColumnSpec("measured_operator", "operator", False, ()),
    ColumnSpec("clutter", "clutter", False, ("environment",)),
)
"""Villages contract (DESIGN §3), in canonical column order."""

TOWER_COLUMNS: tuple[ColumnSpec, ...] = (
    ColumnSpec("tower_id", "id", True, ("sector_id", "cell_id", "id")),
    ColumnSpec("site_id", "id", False, ()),
    ColumnSpec("operator", "operator", True, ("carrier", "nha_mang")),
    ColumnSpec("technology", "technology", True, ("tech", "rat")),
    ColumnSpec("frequency_mhz", "float", True, ("frequency", "freq_mhz", "freq")),
    ColumnSpec("bandwidth_mhz", "float", False, ("bandwidth", "bw_mhz")),
    ColumnSpec("height_m", "float", True, ("height", "antenna_height_m")),
    ColumnSpec("eirp_dbm", "float", True, ("eirp",)),
    ColumnSpec("azimuth_deg", "float", False, ("azimuth",)),
    ColumnSpec("beamwidth_deg", "float", False, ("beamwidth",)),
    ColumnSpec("status", "status", False, ()),
    ColumnSpec("backhaul", "backhaul", False, ()),
    ColumnSpec("power", "power", False, ()),
    ColumnSpec("tx_power_dbm", "float", False, ("tx_power",)),
    ColumnSpec("antenna_gain_dbi", "float", False, ("antenna_gain", "gain_dbi")),
    ColumnSpec("cable_loss_db", "float", False, ("cable_loss",)),
)
"""Towers contract (one row per sector). ``tx_power_dbm``, ``antenna_gain_dbi`` and
``cable_loss_db`` are inputs only: ``eirp_dbm = tx_power_dbm + antenna_gain_dbi −
cable_loss_db`` (cable loss 0 dB when absent) where ``eirp_dbm`` is absent."""

LON_ALIASES: tuple[str, ...] = ("lon", "lng", "long", "longitude", "x", "kinh_do")
LAT_ALIASES: tuple[str, ...] = ("lat", "latitude", "y", "vi_do")
WKT_ALIASES: tuple[str, ...] = ("wkt", "geometry", "geom", "the_geom")

_SHAPEFILE_FIELD_LEN = 10

# Columns that betray the other kind of file (for "pass it as --towers" hints).
_TOWER_SIGNATURE = ("tower_id", "operator", "frequency_mhz", "technology", "height_m", "eirp_dbm")
_VILLAGE_SIGNATURE = ("village_id", "population", "electrified", "province_code", "province")


def header_key(header: str) -> str:
    """Comparable form of a column header: NFC, no zero-width characters, case-folded, no
    diacritics (``đ`` -> ``d``), runs of other characters as ``_`` (``Kinh độ`` -> ``kinh_do``)."""
    text = admin.clean_text(str(header)).casefold().replace("đ", "d")
    text = "".join(ch for ch in unicodedata.normalize("NFD", text) if not unicodedata.combining(ch))
    return re.sub(r"[^0-9a-z]+", "_", text).strip("_")


@dataclass(frozen=True)
class ColumnMap:
    """How a file's headers map onto a contract."""

    columns: dict[str, str]  # canonical name -> header as in the file
    lon: str | None = None
    lat: str | None = None
    wkt: str | None = None
    notes: tuple[str, ...] = ()  # aliases used ("column 'electrifie' read as 'electrified'")
    ignored: tuple[str, ...] = ()  # headers not in the contract
    found: tuple[str, ...] = field(default=())


def _truncation_of(key: str, lookup: Mapping[str, tuple[str, str]]) -> str | None:
    """The one canonical column that a 10-character Shapefile field ``key`` truncates."""
    if len(key) != _SHAPEFILE_FIELD_LEN:
        return None
    hits = {
        target
        for name, (target, _) in lookup.items()
        if len(name) > _SHAPEFILE_FIELD_LEN and name.startswith(key)
    }
    return hits.pop() if len(hits) == 1 else None


def resolve_columns(
    headers: Iterable[str],
    specs: tuple[ColumnSpec, ...],
    *,
    file: str,
    coordinates: bool = True,
) -> ColumnMap:
    """Map ``headers`` onto ``specs``: exact names, aliases, Shapefile truncations.

    ``coordinates`` also looks for lon/lat or WKT columns. Does not check required columns
    (see :func:`check_required`). A header named exactly like the column wins over aliases
    of it (the alias column is ignored, with a note); two exact or two alias headers for one
    column raise :class:`SchemaError`.
    """
    header_list = [str(h) for h in headers]
    lookup: dict[str, tuple[str, str]] = {}  # key -> (canonical, kind of match)
    for spec in specs:
        lookup[spec.name] = (spec.name, "exact")
        for alias in spec.aliases:
            lookup.setdefault(alias, (spec.name, "alias"))
    if coordinates:
        for alias in LON_ALIASES:
            lookup.setdefault(alias, ("__lon__", "exact" if alias == "lon" else "alias"))
        for alias in LAT_ALIASES:
            lookup.setdefault(alias, ("__lat__", "exact" if alias == "lat" else "alias"))
        for alias in WKT_ALIASES:
            lookup.setdefault(alias, ("__wkt__", "exact"))

    matches: dict[str, list[tuple[str, str]]] = {}  # canonical -> [(header, how)]
    ignored: list[str] = []
    for header in header_list:
        key = header_key(header)
        hit = lookup.get(key)
        if hit is not None:
            matches.setdefault(hit[0], []).append((header, hit[1]))
            continue
        truncated = _truncation_of(key, lookup)
        if truncated is not None:
            matches.setdefault(truncated, []).append((header, "truncated"))
        else:
            ignored.append(header)

    chosen: dict[str, str] = {}
    notes: list[str] = []
    for canonical, found in matches.items():
        exact = [h for h, how in found if how == "exact"]
        if len(exact) > 1 or (not exact and len(found) > 1):
            both = found if not exact else [(h, "exact") for h in exact]
            raise SchemaError(
                f"columns {both[0][0]!r} and {both[1][0]!r} both mean "
                f"{_pretty(canonical)!r}: keep one",
                file=file,
                column=both[1][0],
            )
        header, how = (exact[0], "exact") if exact else found[0]
        chosen[canonical] = header
        if how == "truncated":
            notes.append(f"column {header!r} read as {_pretty(canonical)!r} (Shapefile name)")
        elif how == "alias":
            notes.append(f"column {header!r} read as {_pretty(canonical)!r}")
        for other, _ in found:
            if other != header:
                notes.append(f"column {other!r} ignored: {header!r} is the {_pretty(canonical)}")
    return ColumnMap(
        columns={k: v for k, v in chosen.items() if not k.startswith("__")},
        lon=chosen.get("__lon__"),
        lat=chosen.get("__lat__"),
        wkt=chosen.get("__wkt__"),
        notes=tuple(notes),
        ignored=tuple(ignored),
        found=tuple(header_list),
    )


def _pretty(canonical: str) -> str:
    return {"__lon__": "lon", "__lat__": "lat", "__wkt__": "wkt"}.get(canonical, canonical)


def looks_like(headers: Iterable[str]) -> tuple[str | None, tuple[str, ...]]:
    """Guess the kind of file from its headers: ``("towers", evidence)``,
    ``("villages", evidence)`` or ``(None, ())``. Needs three signature columns."""
    keys = {header_key(h) for h in headers}
    towers = tuple(c for c in _TOWER_SIGNATURE if c in keys)
    villages = tuple(c for c in _VILLAGE_SIGNATURE if c in keys)
    if len(towers) >= 3 and len(towers) > len(villages):
        return "towers", towers[:3]
    if len(villages) >= 3 and len(villages) > len(towers):
        return "villages", villages[:3]
    return None, ()


def check_required(
    colmap: ColumnMap,
    specs: tuple[ColumnSpec, ...],
    *,
    file: str,
    expected: Literal["villages", "towers"],
    optional_when: Mapping[str, tuple[str, ...]] | None = None,
) -> None:
    """Raise :class:`SchemaError` naming the first missing required column, what was found,
    and, if the file looks like the other kind, which option to pass it with.

    ``optional_when`` lists required columns that may be absent when all of the given other
    columns are present (``eirp_dbm`` when ``tx_power_dbm`` and ``antenna_gain_dbi`` are).
    """
    optional_when = optional_when or {}
    for spec in specs:
        if not spec.required or spec.name in colmap.columns:
            continue
        substitutes = optional_when.get(spec.name)
        if substitutes and all(s in colmap.columns for s in substitutes):
            continue
        found = ", ".join(colmap.found) if colmap.found else "no columns"
        kind, evidence = looks_like(colmap.found)
        if kind is not None and kind != expected:
            raise SchemaError(
                f"missing required column {spec.name!r}: this looks like a {kind} file "
                f"(has {', '.join(evidence)}); pass it as --{kind} (found: {found})",
                file=file,
                column=spec.name,
            )
        extra = ""
        if substitutes:
            extra = f" (or {' and '.join(substitutes)})"
        aliases = f"; also accepted: {', '.join(spec.aliases)}" if spec.aliases else ""
        raise SchemaError(
            f"missing required column {spec.name!r}{extra} (found: {found}{aliases})",
            file=file,
            column=spec.name,
        )


# ---------------------------------------------------------------------------------------------
# Parsed values


@dataclass(frozen=True)
class Parsed:
    """Result of parsing one column: values, per-row rejection reasons, per-row fix notes
    (all three aligned to the input's positions, with a RangeIndex)."""

    values: pd.Series
    error: pd.Series
    note: pd.Series

    @property
    def bad(self) -> pd.Series:
        """Boolean mask of rejected rows."""
        return self.error.notna()


_ZERO_WIDTH_RE = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]")

Outcome = tuple[Any, str | None, str | None]  # (value, error, note)


def _clean_one(v: Any) -> str | None:
    if v is None:
        return None
    if not isinstance(v, str):
        if v is pd.NA or v is pd.NaT or (isinstance(v, float) and v != v):
            return None
        v = str(v)
    if not v.isascii():
        # zero-width characters out first: between a letter and its combining mark they
        # would keep NFC from composing the two ("e\u200b\u0301" must become "é")
        v = unicodedata.normalize("NFC", _ZERO_WIDTH_RE.sub("", v))
    v = v.strip()
    return v or None


#: Columns shorter than this are cleaned value by value (the vectorised path's fixed
#: cost is larger there).
VECTOR_MIN_ROWS = 1000
#: ASCII characters ``str.isspace()`` is True for (what ``str.strip()`` removes).
ASCII_SPACE = (" ", "\t", "\n", "\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x1f")


def _text_array(values: pd.Series | np.ndarray) -> np.ndarray:
    """Cleaned text as an object array of ``str``/``None`` (see :func:`_clean_one`).

    Text columns (``str``/missing) take a vectorised path: a non-empty ASCII value with
    no space at either end is already clean, and only the others are cleaned one by one."""
    if isinstance(values, pd.Series) and isinstance(values.dtype, pd.StringDtype):
        s = values.reset_index(drop=True)
    else:
        raw = values.to_numpy(dtype=object) if isinstance(values, pd.Series) else values
        if len(raw) < VECTOR_MIN_ROWS:
            out = np.empty(len(raw), dtype=object)
            out[:] = [
                (v.strip() or None) if type(v) is str and v.isascii() else _clean_one(v)
                for v in raw
            ]
            return out
        if pd.api.types.infer_dtype(raw, skipna=True) not in ("string", "empty"):
            out = np.empty(len(raw), dtype=object)
            out[:] = [_clean_one(v) for v in raw]
            return out
        missing = np.asarray(pd.isna(raw), dtype=bool)
        if missing.any():
            raw = raw.copy()
            raw[missing] = None
        s = pd.Series(raw, dtype="str")
    if len(s) > 1000 and s.iloc[:1000].nunique() <= 50:
        # few distinct values (a vocabulary column): clean each distinct value once
        codes, uniques = pd.factorize(s)
        cleaned = _none_array(len(uniques) + 1)
        cleaned[:-1] = _text_array(np.asarray(uniques, dtype=object))
        return cleaned[codes]
    present = s.notna().to_numpy(dtype=bool)
    plain = (
        present
        & s.str.isascii().to_numpy(dtype=bool, na_value=False)
        & (s.str.len().to_numpy(dtype="float64", na_value=0.0) > 0)
        & ~s.str.slice(0, 1).isin(ASCII_SPACE).to_numpy(dtype=bool)
        & ~s.str.slice(-1).isin(ASCII_SPACE).to_numpy(dtype=bool)
    )
    text = s.to_numpy(dtype=object, na_value=_NA_NONE)
    out = np.full(len(text), None, dtype=object)
    out[plain] = text[plain]
    other = np.flatnonzero(present & ~plain)
    if other.size:
        out[other] = [_clean_one(v) for v in text[other]]
    return out


def clean_text_series(values: pd.Series) -> pd.Series:
    """NFC, zero-width characters removed, stripped; empty strings become missing (None).
    Returns an object Series of ``str``/``None`` with a RangeIndex."""
    return _series(_text_array(values))


def _series(arr: np.ndarray | list[Any]) -> pd.Series:
    return pd.Series(arr, index=pd.RangeIndex(len(arr)), dtype=object)


def _none_array(n: int) -> np.ndarray:
    return np.full(n, None, dtype=object)


def _missing(text: np.ndarray, required: bool, what: str) -> np.ndarray:
    err = _none_array(len(text))
    if required:
        err[_isnone(text)] = f"missing value ({what})"
    return err


def _isnone(arr: np.ndarray) -> np.ndarray:
    return np.asarray(pd.isna(arr), dtype=bool)


def _map_unique(
    text: np.ndarray, func: Callable[[str], Outcome], mask: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Apply ``func(value) -> (parsed, error, note)`` once per distinct value (positions where
    ``mask`` is True, default: every non-missing one). Elsewhere all three are None."""
    n = len(text)
    vals, errs, notes = _none_array(n), _none_array(n), _none_array(n)
    positions = np.flatnonzero(~_isnone(text) if mask is None else mask)
    if positions.size == 0:
        return vals, errs, notes
    codes, uniques = pd.factorize(np.asarray(text[positions], dtype=object))
    per_value = [func(v) for v in uniques]
    for k, out in enumerate((vals, errs, notes)):
        column = _none_array(len(per_value))
        for j, r in enumerate(per_value):
            column[j] = r[k]
        out[positions] = column[codes]
    return vals, errs, notes


def _merge(base: np.ndarray, extra: np.ndarray) -> np.ndarray:
    """``base`` where it is not None, else ``extra``."""
    out = base.copy()
    take = _isnone(base)
    out[take] = extra[take]
    return out


def _parsed(values: Any, err: np.ndarray, note: np.ndarray) -> Parsed:
    v = values if isinstance(values, pd.Series) else _series(values)
    return Parsed(v, _series(err), _series(note))


def parse_text(values: pd.Series, *, required: bool = False, what: str = "text") -> Parsed:
    """Free text (names, IDs): NFC, zero-width characters removed, stripped."""
    text = _text_array(values)
    return _parsed(text, _missing(text, required, what), _none_array(len(text)))


def parse_code(values: pd.Series, *, digits: int, required: bool = False) -> Parsed:
    """A numeric administrative code kept as text with its leading zeros (``digits`` long).

    Shorter all-digit codes (leading zeros lost by a spreadsheet) are padded with a note;
    anything else is rejected."""
    text = _text_array(values)
    full = re.compile(rf"\d{{{digits}}}")
    short = re.compile(rf"\d{{1,{digits - 1}}}")

    def one(v: str) -> Outcome:
        if full.fullmatch(v):
            return v, None, None
        if short.fullmatch(v):
            return v.zfill(digits), None, f"leading zeros restored to {digits} digits"
        return None, f"not a {digits}-digit code", None

    vals, errs, notes = _map_unique(text, one)
    err = _merge(errs, _missing(text, required, f"a {digits}-digit code"))
    return _parsed(vals, err, notes)


_INT_GROUPED = re.compile(r"\d{1,3}(?:([.,\u00a0\u202f ])\d{3})(?:\1\d{3})*")
_INT_ZERO_FRACTION = re.compile(r"(\d+)\.0+")


def _one_int(v: str) -> Outcome:
    if v.isdigit() and v.isascii():
        return int(v), None, None
    if v.startswith("+") and v[1:].isdigit() and v.isascii():
        return int(v[1:]), None, None
    if _INT_GROUPED.fullmatch(v):
        return int(re.sub(r"\D", "", v)), None, "thousands separator removed"
    m = _INT_ZERO_FRACTION.fullmatch(v)
    if m and not _INT_GROUPED.fullmatch(v):
        return int(m.group(1)), None, "zero decimal fraction dropped"
    if re.fullmatch(r"[-\u2212]\s*[\d.,\s]+", v):
        return None, "negative (must be a whole number ≥ 0)", None
    return None, "not a whole number", None


def _typed_int(values: pd.Series, *, required: bool) -> Parsed:
    """:func:`parse_int` of an integer column: what its text (``str(int)``) would give."""
    n = len(values)
    present = values.notna().to_numpy(dtype=bool)
    vals = _none_array(n)
    err = _none_array(n)
    if present.any():
        num = values[present].to_numpy(dtype=object)
        neg = np.asarray(num < 0, dtype=bool)
        pos = np.flatnonzero(present)
        ok = pos[~neg]
        vals[ok] = [int(v) for v in num[~neg]]
        err[pos[neg]] = "negative (must be a whole number ≥ 0)"
    if required:
        err[~present] = "missing value (a whole number ≥ 0)"
    return _parsed(vals, err, _none_array(n))


def parse_int(values: pd.Series, *, required: bool = False) -> Parsed:
    """Whole numbers ≥ 0 (population, households).

    ``1200`` as is; ``1.200`` (Vietnamese thousands dot), ``1,200``, ``1 200`` -> 1200 with a
    note; ``1200.0`` -> 1200 with a note; ``2.5``, ``khoảng 500``, negatives rejected.
    Values: an object Series of ``int``/``None``. A column of integers (a typed file
    column) is taken as is, negatives rejected."""
    if isinstance(values, pd.Series) and pd.api.types.is_integer_dtype(values.dtype):
        return _typed_int(values, required=required)
    text = _text_array(values)
    vals, errs, notes = _map_unique(text, _one_int)
    err = _merge(errs, _missing(text, required, "a whole number ≥ 0"))
    return _parsed(vals, err, notes)


_FLOAT_UNSIGNED_RE = re.compile(r"(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_GROUPED_DOT_COMMA = re.compile(r"(\d{1,3}(?:([. ])\d{3})(?:\2\d{3})*)(,\d+)?")
_GROUPED_COMMA_DOT = re.compile(r"\d{1,3}(?:([, ])\d{3})(?:\1\d{3})*(\.\d+)?")


def _one_float(v: str, decimal_comma: bool) -> Outcome:
    t = v.replace("\u2212", "-").replace("\u00a0", " ").replace("\u202f", " ")
    sign = ""
    if t[:1] in ("+", "-"):
        sign, t = t[0], t[1:].lstrip()
    if decimal_comma:
        # Vietnamese Excel: ',' is the decimal mark, '.' or ' ' groups thousands.
        m = _GROUPED_DOT_COMMA.fullmatch(t)
        if m and (m.group(2) == " " or m.group(3) or "." in m.group(1)):
            digits = re.sub(r"[. ]", "", m.group(1)) + (m.group(3) or "").replace(",", ".")
            return float(sign + digits), None, "thousands separator removed"
        if re.fullmatch(r"\d+(,\d*)?|,\d+", t):
            return float(sign + t.replace(",", ".")), None, None
    else:
        if _GROUPED_COMMA_DOT.fullmatch(t):
            return float(sign + re.sub(r"[, ]", "", t)), None, "thousands separator removed"
        if re.fullmatch(r"\d+,\d+", t):
            return float(sign + t.replace(",", ".")), None, "decimal comma read as a point"
    if _FLOAT_UNSIGNED_RE.fullmatch(t):
        f = float(sign + t)
        if math.isfinite(f):
            return f, None, None
    return None, "not a number", None


def _is_number_column(values: Any) -> bool:
    """A Series of numbers (float or integer dtype, not bool)."""
    return isinstance(values, pd.Series) and (
        pd.api.types.is_float_dtype(values.dtype) or pd.api.types.is_integer_dtype(values.dtype)
    )


def parse_float(
    values: pd.Series,
    *,
    required: bool = False,
    decimal_comma: bool = False,
    value_range: tuple[float, float] | None = None,
    unit: str = "",
    name: str = "",
) -> Parsed:
    """Decimal numbers (float64, NaN when absent or rejected).

    ``decimal_comma`` (semicolon CSVs from Vietnamese Excel): in a column holding commas,
    ``-95,5`` is −95.5 and ``1.800,5`` is 1800.5 (thousands dot, with a note). Otherwise
    ``1,800`` is 1800 and a lone ``-95,5`` is −95.5, both with a note. NaN/inf are rejected;
    ``value_range`` (closed) is checked; ``frequency_mhz`` below 10 is rejected as "looks like
    GHz" with the MHz value to write instead. A column of numbers (a typed file column) is
    taken as is: NaN is absent, ±inf is "not a number"."""
    missing_reason = f"a number{(' in ' + unit) if unit else ''}"
    if _is_number_column(values):
        arr = values.to_numpy(dtype="float64", na_value=np.nan)
        n = len(arr)
        absent = np.isnan(arr)
        out = np.where(np.isfinite(arr), arr, np.nan)
        err = _none_array(n)
        err[~absent & ~np.isfinite(arr)] = "not a number"
        if required:
            err[absent] = f"missing value ({missing_reason})"
        notes = _none_array(n)
    else:
        text = _text_array(values)
        n = len(text)
        present = ~_isnone(text)
        s = pd.Series(text, dtype=object)
        comma_column = decimal_comma and bool(s.str.contains(",", regex=False).any())
        if comma_column:
            fast_mask = present & ~s.str.contains(".", regex=False).fillna(False).to_numpy(bool)
            num = pd.to_numeric(
                s.where(fast_mask).str.replace(",", ".", regex=False), errors="coerce"
            )
        else:
            fast_mask = present
            num = pd.to_numeric(s, errors="coerce")
        arr = num.to_numpy(dtype="float64", na_value=np.nan)
        fast_ok = fast_mask & np.isfinite(arr)
        out = np.where(fast_ok, arr, np.nan)
        slow = present & ~fast_ok
        vals, errs, notes = _map_unique(text, lambda v: _one_float(v, decimal_comma), slow)
        got = slow & ~_isnone(vals)
        out[got] = vals[got].astype("float64")
        err = _merge(errs, _missing(text, required, missing_reason))
    if value_range is not None:
        lo, hi = value_range
        with np.errstate(invalid="ignore"):
            outside = np.isfinite(out) & ((out < lo) | (out > hi))
        for i in np.flatnonzero(outside):
            v = out[i]
            reason = f"{v:g} is outside {lo:g}…{hi:g}{(' ' + unit) if unit else ''}"
            if name == "frequency_mhz" and 0 < v < 10:
                reason = (
                    f"{v:g} MHz looks like GHz: write frequency_mhz in MHz "
                    f"(e.g. {v * 1000:g}); accepted range {lo:g}…{hi:g} MHz"
                )
            err[i] = reason
    out[~_isnone(err)] = np.nan
    return _parsed(pd.Series(out, index=pd.RangeIndex(n), dtype="float64"), err, notes)


def parse_bool(values: pd.Series, *, required: bool = True) -> Parsed:
    """``true/false``, ``yes/no``, ``1/0``, ``có/không`` in any case or Unicode form.
    Anything else (``chưa``, ``maybe``, empty when required) is rejected, never taken as
    false. Values: object ``bool``/``None``."""
    text = _text_array(values)
    words = "true/false, yes/no, 1/0, có/không"

    def one(v: str) -> Outcome:
        key = unicodedata.normalize("NFC", v).casefold()
        if key in _BOOL_WORDS:
            return _BOOL_WORDS[key], None, None
        return None, f"not a yes/no value (expected {words})", None

    vals, errs, notes = _map_unique(text, one)
    return _parsed(vals, _merge(errs, _missing(text, required, words)), notes)


def _operator_key(v: str) -> str:
    return " ".join(re.sub(r"[_\-./]+", " ", v.casefold()).split())


def _one_operator(v: str) -> Outcome:
    if v in OPERATORS:
        return v, None, None
    key = _operator_key(v)
    op = _OPERATOR_ALIASES.get(key) or _OPERATOR_ALIASES.get(key.replace(" ", ""))
    if op is not None:
        return op, None, f"operator alias read as {op}"
    return None, f"unknown operator (expected one of {', '.join(OPERATORS)})", None


def parse_operator(values: pd.Series, *, required: bool = False) -> Parsed:
    """Operator names to ``Viettel``/``VNPT``/``MobiFone``/``Vietnamobile``. Aliases
    (``viettel``, ``Viettel Telecom``, ``VinaPhone`` -> VNPT …) are accepted with a note;
    unknown names are rejected."""
    text = _text_array(values)
    vals, errs, notes = _map_unique(text, _one_operator)
    err = _merge(errs, _missing(text, required, "an operator: " + ", ".join(OPERATORS)))
    return _parsed(vals, err, notes)


_CHOICES: dict[str, tuple[tuple[str, ...], dict[str, str]]] = {
    "technology": (TECHNOLOGIES, _TECH_ALIASES),
    "clutter": (CLUTTERS, _CLUTTER_ALIASES),
    "status": (TOWER_STATUSES, _STATUS_ALIASES),
    "backhaul": (BACKHAULS, _BACKHAUL_ALIASES),
    "power": (POWER_SOURCES, _POWER_ALIASES),
}


def parse_choice(values: pd.Series, kind: str, *, required: bool = False) -> Parsed:
    """One of a fixed vocabulary (``technology``, ``clutter``, ``status``, ``backhaul``,
    ``power``). Case, spaces and hyphens are forgiven silently; other aliases (``LTE`` ->
    4G, ``fiber`` -> fibre) with a note; unknown values rejected listing the accepted ones."""
    choices, aliases = _CHOICES[kind]
    by_key = {c.casefold(): c for c in choices}

    def one(v: str) -> Outcome:
        if v in choices:
            return v, None, None
        key = " ".join(re.sub(r"[_\-]+", " ", v.casefold()).split())
        if key.replace(" ", "_") in by_key:
            return by_key[key.replace(" ", "_")], None, None
        if key in aliases:
            return aliases[key], None, f"{kind} alias read as {aliases[key]}"
        return None, f"unknown {kind} (expected one of {', '.join(choices)})", None

    text = _text_array(values)
    vals, errs, notes = _map_unique(text, one)
    err = _merge(errs, _missing(text, required, "one of " + ", ".join(choices)))
    return _parsed(vals, err, notes)


_ISO_DATE = re.compile(r"(\d{4})[-/](\d{1,2})[-/](\d{1,2})")
_ISO_DATETIME = re.compile(
    r"(\d{4})[-/](\d{2})[-/](\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?"
)
_DAY_FIRST = re.compile(r"(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})")


def _make_date(y: str, m: str, d: str) -> dt.date | None:
    try:
        return dt.date(int(y), int(m), int(d))
    except ValueError:
        return None


def _one_date(v: str) -> Outcome:
    m = _ISO_DATE.fullmatch(v)
    if m:
        day = _make_date(*m.groups())
        return (day, None, None) if day else (None, "impossible date", None)
    m = _ISO_DATETIME.fullmatch(v)
    if m:
        day = _make_date(*m.groups()[:3])
        if day is None:
            return None, "impossible date", None
        midnight = m.group(4) == "00" and m.group(5) == "00" and m.group(6) in (None, "00")
        return day, None, None if midnight else "time of day dropped (dates only)"
    m = _DAY_FIRST.fullmatch(v)
    if m:
        d, mo, y = m.groups()
        day = _make_date(y, mo, d)
        if day is None:
            return None, "impossible date (read day first: dd/mm/yyyy)", None
        return day, None, "read day first (dd/mm/yyyy)"
    return None, "not a date (expected yyyy-mm-dd, or dd/mm/yyyy day first)", None


def parse_date(values: pd.Series, *, required: bool = False) -> Parsed:
    """Dates: ISO ``yyyy-mm-dd`` (also ``yyyy/mm/dd`` and midnight date-times as GDAL writes
    them); ``dd/mm/yyyy`` is day first (the Vietnamese convention) with a note; impossible
    dates (31/02/2025) rejected. Values ``datetime64[s]`` (NaT when absent)."""
    text = _text_array(values)
    vals, errs, notes = _map_unique(text, _one_date)
    err = _merge(errs, _missing(text, required, "a date"))
    iso = [None if d is None else d.isoformat() for d in vals]
    out = pd.Series(pd.to_datetime(pd.Series(iso, dtype=object), format="%Y-%m-%d"))
    return _parsed(out.astype("datetime64[s]"), err, notes)


def parse_provinces(codes: pd.Series, names: pd.Series, *, vintage: int = 2025) -> Parsed:
    """Province (code, name) pairs to 2025 ones (:func:`covgap.admin.normalise_province`).

    ``values`` holds ``(code2025, name2025)`` tuples (None when rejected); ``error`` reasons
    start with the column they are about (``"province_code: ..."`` or ``"province: ..."``)."""
    code_text = _text_array(codes)
    name_text = _text_array(names)
    n = len(code_text)
    vals, errs, notes = _none_array(n), _none_array(n), _none_array(n)
    if n == 0:
        return _parsed(vals, errs, notes)
    c_codes, c_uniq = pd.factorize(code_text, use_na_sentinel=False)
    n_codes, n_uniq = pd.factorize(name_text, use_na_sentinel=False)
    width = len(n_uniq) + 1
    pair_codes, pair_uniq = pd.factorize(c_codes.astype(np.int64) * width + n_codes)
    outcome = _none_array(len(pair_uniq))
    for j, key in enumerate(pair_uniq.tolist()):
        code = c_uniq[key // width]
        name = n_uniq[key % width]
        code = None if _is_missing(code) else code
        name = None if _is_missing(name) else name
        try:
            c, nm, warning = admin.normalise_province(code, name, vintage)
            outcome[j] = ((c, nm), None, warning)
        except SchemaError as exc:
            outcome[j] = (None, f"{exc.column or 'province'}: {exc.reason}", None)
    for k, out in enumerate((vals, errs, notes)):
        column = _none_array(len(outcome))
        for j, r in enumerate(outcome):
            column[j] = r[k]
        out[:] = column[pair_codes]
    return _parsed(vals, errs, notes)


def _is_missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and v != v)


def duplicate_errors(ids: pd.Series, rows: pd.Series | np.ndarray, *, column: str) -> pd.Series:
    """Reasons for IDs seen before (the later duplicates), naming the first row; None elsewhere.

    ``ids`` are cleaned text by position (missing IDs are never duplicates); ``rows`` the
    1-based file rows by position."""
    id_arr = ids.to_numpy(dtype=object)
    row_arr = np.asarray(rows)
    err = _none_array(len(id_arr))
    codes, _ = pd.factorize(id_arr)  # missing: -1
    given = np.flatnonzero(codes >= 0)
    if given.size == 0:
        return _series(err)
    _, first = np.unique(codes[given], return_index=True)
    first_pos = np.empty(int(codes.max()) + 1, dtype=np.int64)
    first_pos[codes[given[first]]] = given[first]
    for i in given[given != first_pos[codes[given]]]:
        v = id_arr[i]
        err[i] = f"duplicate {column} {v!r} (first at row {int(row_arr[first_pos[codes[i]]])})"
    return _series(err)
