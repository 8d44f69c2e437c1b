"""Readers for the villages, towers and boundaries inputs, and the rejects file (DESIGN §3).

Every format goes through the same path: the file is checked (exists, not empty, known
suffix, archive safe), read with every attribute as text (:func:`read_table`), its headers
mapped onto the contract (:mod:`covgap.schema`), values parsed, coordinates checked and
transformed to EPSG:4326 (:mod:`covgap.crs`). File-level problems raise one
:class:`~covgap.errors.CovgapError`; row-level problems become :class:`~covgap.errors.Reject`
rows and the row is dropped; values accepted with a fix become warnings naming the file, the
rows and the column. Rows are numbered from 1 over data records in file order, for every
format (GDAL FIDs are not row numbers).

Formats: CSV (read by Python's ``csv`` module: ``,``/``;``/tab delimiters, semicolon files
with decimal commas, BOM, CR/CRLF; a large file without quotes whose records all match the
header is read by Arrow's parser instead, to the same table), GeoJSON, GeoPackage,
Shapefile (``.shp`` or a zipped one), GeoParquet (GDAL's Parquet driver when present, else
``geopandas.read_parquet``). GDAL formats are read with pyogrio with dates as strings;
numeric columns meant as numbers are parsed as typed, other typed columns are turned back
into text carefully (``12`` not ``12.0``) so IDs are never numbers or dates. Parsing is
vectorised (distinct values looked at once), so national files (≈ 700 k sector rows) load
in seconds.
"""

from __future__ import annotations

import csv
import io as _io
import json
import logging
import math
import os
import re
import sqlite3
import tempfile
import warnings
import zipfile
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyproj
import shapely
from pyogrio.errors import DataLayerError, DataSourceError

from . import admin, schema
from .atomic import write_text_atomic
from .crs import COASTAL_TOLERANCE_M, WGS84, crs_label, outside_vietnam, parse_crs, to_lonlat
from .errors import InputFileError, Reject, SchemaError, UsageError

__all__ = [
    "MAX_ZIP_MEMBERS",
    "MAX_ZIP_RATIO",
    "MAX_ZIP_UNCOMPRESSED_BYTES",
    "MEMORY_FACTOR",
    "MEMORY_LIMIT_ENV",
    "SUPPORTED_SUFFIXES",
    "LoadResult",
    "RawTable",
    "available_memory_bytes",
    "load_boundaries",
    "load_towers",
    "load_villages",
    "read_table",
    "write_rejects_csv",
]

log = logging.getLogger(__name__)

#: ``na_value`` giving None for missing text in ``Series.to_numpy(dtype=object)``.
_NA_NONE: Any = None

SUPPORTED_SUFFIXES: dict[str, str] = {
    ".csv": "CSV",
    ".txt": "CSV",
    ".geojson": "GeoJSON",
    ".json": "GeoJSON",
    ".gpkg": "GPKG",
    ".shp": "ESRI Shapefile",
    ".zip": "zip",
    ".parquet": "Parquet",
    ".geoparquet": "Parquet",
}
"""File suffixes the loaders read, and the format each means."""

MAX_ZIP_UNCOMPRESSED_BYTES = 2 * 1024**3
"""Largest total uncompressed size (bytes) of a zip archive the loaders will open."""
MAX_ZIP_RATIO = 100.0
"""Largest compression ratio of a zip member larger than :data:`ZIP_RATIO_MIN_BYTES`."""
ZIP_RATIO_MIN_BYTES = 1024**2
"""Members smaller than this (uncompressed bytes) are not ratio-checked."""
MAX_ZIP_MEMBERS = 1000
"""Most members a zip archive may have."""

_REJECT_HEADER = ("file", "row", "column", "value", "reason")
_SQLITE_MAGIC = b"SQLite format 3\x00"
_ROWS_SHOWN = 8
_UNITS = {"dbm": "dBm", "mhz": "MHz", "m": "m", "deg": "°", "dbi": "dBi", "db": "dB"}


# ---------------------------------------------------------------------------------------------
# Results


@dataclass(frozen=True)
class LoadResult:
    """What a loader returns: the canonical GeoDataFrame (EPSG:4326, index 0..n-1), the
    rejected rows, warnings (each naming the file, and rows/column where they apply), the
    path as given and the number of data rows read."""

    gdf: gpd.GeoDataFrame
    rejects: tuple[Reject, ...]
    warnings: tuple[str, ...]
    path: Path
    n_read: int


@dataclass
class RawTable:
    """A file read as text: ``data`` holds every attribute column as ``str``/``None``
    (object dtype, index 0..n-1, in file order) — except the columns named in ``native``,
    kept as the GDAL and GeoParquet readers give them (numbers as typed in the file, text
    as pandas strings) and turned into such text only when asked (:meth:`text`); the
    parsers take them as they are. ``geometry`` the geometries of GDAL and GeoParquet formats
    (None for CSV and plain tables); ``crs`` the file's CRS (None when it has none or the
    format carries none)."""

    file: str
    data: pd.DataFrame
    geometry: np.ndarray | None
    crs: pyproj.CRS | None
    format: str
    decimal_comma: bool = False
    warnings: list[str] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    bad_rows: set[int] = field(default_factory=set)  # positions already rejected
    native: set[str] = field(default_factory=set)  # columns of data not yet object text

    @property
    def n_read(self) -> int:
        """Number of data rows read."""
        return len(self.data)

    def text(self, name: str) -> pd.Series:
        """Column ``name`` as object text (``str``/``None``): a native column is turned into
        text (integers without ``.0``, integral floats as integers) and kept so."""
        if name in self.native:
            self.data[name] = _to_text(self.data[name])
            self.native.discard(name)
        return self.data[name]


# ---------------------------------------------------------------------------------------------
# Reading files as text


def read_table(path: str | Path, *, layer: str | None = None) -> RawTable:
    """Read ``path`` with every attribute as text (see :class:`RawTable`).

    Raises :class:`InputFileError` for a missing, empty, unsupported, unreadable or unsafe
    file, a file with no data rows, or a multi-layer GeoPackage without ``layer``."""
    file = str(path)
    p = Path(path)
    if not p.exists():
        raise InputFileError("file not found", file=file)
    if p.is_dir():
        raise InputFileError("is a folder, not a file", file=file)
    suffix = p.suffix.lower()
    fmt = SUPPORTED_SUFFIXES.get(suffix)
    if fmt is None:
        known = ", ".join(sorted(SUPPORTED_SUFFIXES))
        raise InputFileError(
            f"unsupported file type {suffix or '(no suffix)'!r} (expected one of {known}; "
            "a zipped Shapefile as .zip)",
            file=file,
        )
    size = p.stat().st_size
    if size == 0:
        raise InputFileError("empty file", file=file)
    if layer is not None and fmt not in ("GPKG", "zip"):
        raise UsageError(
            "--layer applies only to GeoPackage files and zips holding several Shapefiles",
            file=file,
        )
    if fmt != "zip":  # a zip is checked member by member, from its headers
        _check_memory(size, fmt, file)
    if fmt == "CSV":
        table = _read_csv(p, file)
    elif fmt == "zip":
        table = _read_zip(p, file, layer)
    elif fmt == "Parquet":
        table = _read_parquet(p, file)
    elif fmt == "GPKG":
        table = _read_gpkg(p, file, layer)
    elif fmt == "ESRI Shapefile":
        table = _read_shapefile(p, file)
    else:
        table = _read_gdal(str(p), file, fmt, layer=None)
    if table.n_read == 0:
        where = f" (layer {layer!r})" if layer else ""
        raise InputFileError(f"no data rows{where}", file=file)
    return table


# ---------------------------------------------------------------------------------------------
# Resource limits

MEMORY_FACTOR: dict[str, float] = {
    "CSV": 16.0,
    "GeoJSON": 24.0,
    "GPKG": 12.0,
    "ESRI Shapefile": 12.0,
    "Parquet": 12.0,
}
"""Memory needed to load a file, as a multiple of its size on disk (unpacked size for a
zip member): measured on villages files (a 23 MB CSV of 200 000 rows peaks at about 350 MB
above the interpreter's own), rounded up."""

MEMORY_LIMIT_ENV = "COVGAP_MEMORY_LIMIT"
"""Environment variable capping the memory (bytes, or with a K/M/G suffix) covgap assumes it
may use for one input file; the machine's available memory (and a cgroup limit) always
applies too."""

_SIZE_RE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?\s*", re.IGNORECASE)


def _parse_bytes(text: str) -> int | None:
    m = _SIZE_RE.fullmatch(text)
    if m is None:
        return None
    scale = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}[m.group(2).lower()]
    return int(float(m.group(1)) * scale)


def available_memory_bytes() -> tuple[int, str] | None:
    """The memory (bytes) an input may take, and where that figure comes from: the least of
    ``COVGAP_MEMORY_LIMIT``, the cgroup (container) limit left and the kernel's
    ``MemAvailable``; None when none of them is known."""
    found: list[tuple[int, str]] = []
    env = os.environ.get(MEMORY_LIMIT_ENV)
    if env:
        value = _parse_bytes(env)
        if value is None:
            raise UsageError(f"{MEMORY_LIMIT_ENV}={env!r} is not a size (bytes, or e.g. 512M, 4G)")
        found.append((value, f"{MEMORY_LIMIT_ENV}={env}"))
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        if limit.isdigit():
            used = Path("/sys/fs/cgroup/memory.current").read_text().strip()
            found.append((int(limit) - (int(used) if used.isdigit() else 0), "the cgroup limit"))
    except OSError:
        pass
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                found.append((int(line.split()[1]) * 1024, "available memory"))
                break
    except (OSError, ValueError, IndexError):
        pass
    return min(found) if found else None


def _gib(n: float) -> str:
    return f"{n / 1024**3:.2f} GiB" if n >= 1024**3 else f"{n / 1024**2:.0f} MiB"


def _check_memory(size: int, fmt: str, file: str) -> None:
    """Refuse, before reading anything, a file that would not fit in memory."""
    need = size * MEMORY_FACTOR.get(fmt, 16.0)
    avail = available_memory_bytes()
    if avail is not None and need > avail[0]:
        raise InputFileError(
            f"too large to load: {_gib(size)} of {fmt} needs about {_gib(need)} of memory and "
            f"{avail[1]} is {_gib(avail[0])}: split the file (e.g. by province) and run each "
            "part, or free memory",
            file=file,
        )


def _read_shapefile(p: Path, file: str) -> RawTable:
    """A Shapefile at ``p`` (sidecars beside it), its .dbf checked for truncation first."""

    def sidecar(ext: str) -> Path | None:
        candidates = (p.with_suffix(ext), p.with_suffix(ext.upper()))
        return next((q for q in candidates if q.exists()), None)

    cpg, dbf, shx = sidecar(".cpg"), sidecar(".dbf"), sidecar(".shx")
    if dbf is None or shx is None:
        raise InputFileError(
            f"Shapefile has no {'.dbf' if dbf is None else '.shx'} file beside it", file=file
        )
    with dbf.open("rb") as fh:
        dbf_head = fh.read(32)
    with shx.open("rb") as fh:
        shx_head = fh.read(100)
    _check_shapefile_parts(dbf_head, dbf.stat().st_size, shx_head, shx.stat().st_size, file)
    encoding, transcode = _shapefile_encoding(
        cpg.read_bytes() if cpg is not None else None,
        dbf.read_bytes() if cpg is None else None,
        file,
    )
    # (records marked deleted in the .dbf are skipped by GDAL, as every GIS does)
    return _read_gdal(
        str(p), file, "ESRI Shapefile", layer=None, encoding=encoding, transcode=transcode
    )


def _check_shapefile_parts(
    dbf_head: bytes, dbf_size: int, shx_head: bytes, shx_size: int, file: str
) -> None:
    """Refuse a truncated .dbf, or a .dbf and .shx that disagree on the number of records
    (GDAL would read the records that are there and drop the rest without a word)."""
    if len(dbf_head) < 32:
        raise InputFileError("the .dbf is truncated (no complete header)", file=file)
    n_records = int.from_bytes(dbf_head[4:8], "little")
    header_len = int.from_bytes(dbf_head[8:10], "little")
    record_len = int.from_bytes(dbf_head[10:12], "little")
    expected = header_len + n_records * record_len
    if record_len and dbf_size < expected:
        whole = max(0, (dbf_size - header_len) // record_len)
        raise InputFileError(
            f"the .dbf is truncated: its header says {n_records} records of {record_len} bytes "
            f"({expected} bytes) but the file has {dbf_size} bytes ({whole} complete records): "
            f"rows {whole + 1}–{n_records} would be lost; copy the Shapefile again",
            file=file,
        )
    if len(shx_head) >= 100 and shx_head[:4] == b"\x00\x00\x27\x0a":
        n_shapes = (shx_size - 100) // 8
        if n_shapes != n_records:
            raise InputFileError(
                f"the .shx indexes {n_shapes} shapes but the .dbf holds {n_records} records: "
                "the Shapefile is damaged (copy it again)",
                file=file,
            )


_TEXT_BOMS: tuple[tuple[bytes, str], ...] = (
    (b"\xef\xbb\xbf", "utf-8"),
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)


def _decode_text(raw: bytes, file: str) -> str:
    """CSV bytes as text: the encoding a byte-order mark names (UTF-8, UTF-16, UTF-32), else
    UTF-8. Anything else is refused naming the first bad byte and its line."""
    for bom, codec in _TEXT_BOMS:
        if raw.startswith(bom):
            try:
                return raw[len(bom) :].decode(codec)
            except UnicodeDecodeError as exc:
                raise InputFileError(
                    f"not valid {codec.upper()} text although it starts with a {codec.upper()} "
                    f"byte-order mark (bad bytes at offset {exc.start + len(bom)})",
                    file=file,
                ) from None
    if b"\x00" in raw:
        line = raw[: raw.index(b"\x00")].count(b"\n") + 1
        raise InputFileError(
            f"not a text file (contains NUL bytes, first on line {line}; UTF-16 text without "
            "a byte-order mark?)",
            file=file,
        )
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputFileError(
            f"not UTF-8 text (byte 0x{raw[exc.start]:02X} on line {line}); save it as UTF-8 "
            "(Excel: 'CSV UTF-8 (Comma delimited)')",
            file=file,
        ) from None


def _read_csv(p: Path, file: str) -> RawTable:
    text = _decode_text(p.read_bytes(), file)
    if "\x00" in text:
        raise InputFileError("not a text file (contains NUL characters)", file=file)
    if not text.strip():
        raise InputFileError("empty file", file=file)
    first_line = next(line for line in re.split(r"\r\n|\r|\n", text[: 1 << 16]) if line.strip())
    counts = {d: first_line.count(d) for d in (",", ";", "\t")}
    delimiter = max(counts, key=lambda d: counts[d])
    fast = _read_plain_csv(text, first_line, delimiter, file)
    if fast is not None:
        return fast
    # strict: an unbalanced quote is an error, not every later line swallowed into one value
    reader = csv.reader(_io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    header: list[str] | None = None
    records: list[list[str]] = []
    long_rows: list[tuple[int, int]] = []
    start_line = 1
    try:
        for rec in reader:
            start_line = reader.line_num + 1  # where the next record starts
            if not rec or not "".join(rec).strip():
                continue
            if header is None:
                header = rec
                continue
            records.append(rec)
    except csv.Error as exc:
        msg = str(exc)
        if "unexpected end of data" in msg:
            reason = (
                f'a quoted field opened on line {start_line} is never closed (an unbalanced "): '
                "every line after it would be read as one value; fix the quotes"
            )
        elif "expected after" in msg:
            reason = (
                f"line {reader.line_num}: text after a closing quote ({msg}); a quote inside a "
                'quoted value must be doubled ("")'
            )
        else:
            reason = f"line {reader.line_num}: {msg}"
        raise InputFileError(f"not a readable CSV file ({reason})", file=file) from None
    assert header is not None
    names = _unique_headers(header, file)
    width = len(names)
    for i, rec in enumerate(records):
        if len(rec) != width:
            if len(rec) > width and "".join(rec[width:]).strip():
                long_rows.append((i, len(rec)))
            records[i] = (rec + [""] * width)[:width]
    data = pd.DataFrame(records, columns=names, dtype=object)
    table = RawTable(file, data, None, None, "CSV", decimal_comma=delimiter == ";")
    for i, n_fields in long_rows:
        table.rejects.append(
            Reject(
                file,
                i + 1,
                "(row)",
                f"{n_fields} fields",
                f"row has {n_fields} fields, "
                f"the header has {width} (a delimiter inside an unquoted value?)",
            )
        )
        table.bad_rows.add(i)
    return table


ARROW_CSV_MIN_CHARS = 1 << 18
"""CSV text at least this long (characters) is tried with Arrow's parser first."""


def _read_plain_csv(text: str, first_line: str, delimiter: str, file: str) -> RawTable | None:
    """The common CSV read by Arrow's parser: no quote characters, the header on the first
    line, every record as wide as the header. Anything else returns None and the file is
    read by Python's ``csv`` module, which words each problem (so both give the same
    table whenever this one answers). Records whose fields are all empty are skipped, as
    there; a record of spaces only sends the file to the ``csv`` module."""
    if len(text) < ARROW_CSV_MIN_CHARS or '"' in text:
        return None
    head = re.split(r"\r\n|\r|\n", text[: 1 << 16], maxsplit=1)
    if len(head) < 2 or head[0] != first_line:
        return None
    header = first_line.split(delimiter)
    if not "".join(header).strip():
        return None
    names = _unique_headers(header, file)
    width = len(names)
    invalid: list[int] = []

    def on_invalid(row: Any) -> str:
        invalid.append(1)
        return "skip"

    try:
        import pyarrow as pa
        from pyarrow import csv as pa_csv

        keys = [f"c{i}" for i in range(width)]
        arrow = pa_csv.read_csv(
            pa.py_buffer(text.encode("utf-8")),
            read_options=pa_csv.ReadOptions(skip_rows=1, column_names=keys),
            parse_options=pa_csv.ParseOptions(
                delimiter=delimiter,
                quote_char=False,
                escape_char=False,
                newlines_in_values=False,
                ignore_empty_lines=True,
                invalid_row_handler=on_invalid,
            ),
            convert_options=pa_csv.ConvertOptions(
                column_types=dict.fromkeys(keys, pa.string()),
                strings_can_be_null=False,
                null_values=[],
            ),
        )
    except Exception:  # the csv module reads it and words what is wrong
        return None
    if invalid:
        return None
    columns = [pd.Series(arrow.column(k).to_pandas(), dtype="str") for k in keys]
    lengths = [c.str.len().to_numpy(dtype=np.int64) for c in columns]
    if any(n.size and int(n.max()) > csv.field_size_limit() for n in lengths):
        return None  # the csv module refuses it ("field larger than field limit")
    empty = np.logical_and.reduce([n == 0 for n in lengths]) if width else np.zeros(0, bool)
    maybe_blank = np.logical_and.reduce(
        [
            (n == 0)
            | ~c.str.isascii().to_numpy(dtype=bool)
            | c.str.slice(0, 1).isin(schema.ASCII_SPACE).to_numpy(dtype=bool)
            for c, n in zip(columns, lengths, strict=True)
        ]
    )
    if (maybe_blank & ~empty).any():
        return None
    keep = ~empty
    data = pd.DataFrame(
        {
            name: c.to_numpy(dtype=object, na_value=_NA_NONE)[keep]
            for name, c in zip(names, columns, strict=True)
        },
        index=pd.RangeIndex(int(keep.sum())),
        dtype=object,
    )
    return RawTable(file, data, None, None, "CSV", decimal_comma=delimiter == ";")


def _unique_headers(header: list[str], file: str) -> list[str]:
    names: list[str] = []
    seen: dict[str, int] = {}
    for i, h in enumerate(header):
        name = admin.clean_text(h) or f"(column {i + 1})"
        if name in seen:
            raise SchemaError(
                f"duplicate column name {name!r} (columns {seen[name] + 1} and {i + 1})",
                file=file,
                column=name,
            )
        seen[name] = i
        names.append(name)
    return names


def _gdal_errors(exc: Exception, file: str, what: str) -> InputFileError:
    msg = str(exc).split("; It might help")[0].strip()
    if "not recognized as being in a supported file format" in msg:
        msg = "its content is not readable by GDAL"
    return InputFileError(f"not a readable {what} file ({msg})", file=file)


def _read_gpkg(p: Path, file: str, layer: str | None) -> RawTable:
    """A GeoPackage at ``p`` (``file`` names it in messages)."""
    with p.open("rb") as fh:
        magic = fh.read(16)
    if magic != _SQLITE_MAGIC:
        raise InputFileError("not a GeoPackage (no SQLite header)", file=file)
    try:
        layers = pyogrio.list_layers(str(p))
    except (DataSourceError, DataLayerError) as exc:
        n_contents = _gpkg_contents_count(p)
        if n_contents == 0:
            raise InputFileError("GeoPackage has no layers (empty)", file=file) from None
        if n_contents is None:
            raise InputFileError(
                "an SQLite database without GeoPackage tables (not a GeoPackage)", file=file
            ) from None
        raise _gdal_errors(exc, file, "GeoPackage") from None
    names = [str(n) for n in layers[:, 0]] if len(layers) else []
    if not names:
        raise InputFileError("GeoPackage has no layers (empty)", file=file)
    if layer is None:
        if len(names) > 1:
            raise InputFileError(
                f"GeoPackage has {len(names)} layers ({', '.join(names)}): choose one with "
                "--layer (scenario: [inputs] villages_layer or towers_layer)",
                file=file,
            )
        layer = names[0]
    elif layer not in names:
        raise InputFileError(
            f"no layer {layer!r} in the GeoPackage (layers: {', '.join(names)})", file=file
        )
    return _read_gdal(str(p), file, "GPKG", layer=layer)


def _gpkg_contents_count(p: Path) -> int | None:
    """Rows of ``gpkg_contents`` (read-only), or None when there is no such table."""
    try:
        con = sqlite3.connect(f"{p.resolve().as_uri()}?mode=ro", uri=True)
        try:
            (count,) = con.execute("SELECT count(*) FROM gpkg_contents").fetchone()
        finally:
            con.close()
    except sqlite3.Error:
        return None
    return int(count)


_CP1258_RE = re.compile(rb"\s*(?:cp|windows-?|ansi\s*)?1258\s*", re.IGNORECASE)


def _shapefile_encoding(
    cpg: bytes | None, dbf: bytes | None, file: str
) -> tuple[str | None, str | None]:
    """``(encoding for GDAL, codec to transcode text with afterwards)`` for a Shapefile.

    * a ``.cpg`` naming Windows-1258 (Vietnamese): GDAL reads bytes as ISO-8859-1 and
      Python decodes them as cp1258 (GDAL's own cp1258 conversion drops the last
      character of names and values: iconv's cp1258 is stateful);
    * another ``.cpg``: GDAL follows it;
    * no ``.cpg``: UTF-8 when the DBF declares no code page and its records decode as
      UTF-8; refused (:class:`InputFileError`) when they are not UTF-8 and nothing says
      which encoding they are (GDAL would read them as ISO-8859-1, garbling names).
    """
    if cpg is not None:
        if _CP1258_RE.fullmatch(cpg):
            return "ISO-8859-1", "cp1258"
        return None, None
    if dbf is None or len(dbf) < 32 or dbf[29] != 0:  # byte 29: declared code page (LDID)
        return None, None
    records = dbf[int.from_bytes(dbf[8:10], "little") :]
    try:
        records.decode("utf-8")
    except UnicodeDecodeError:
        raise InputFileError(
            "Shapefile text is not UTF-8 and no .cpg file names its encoding: add a .cpg "
            "beside the .shp (e.g. containing 1258 for Windows-1258) or save it as UTF-8",
            file=file,
        ) from None
    return "UTF-8", None


def _read_gdal(
    source: str,
    file: str,
    fmt: str,
    *,
    layer: str | None,
    encoding: str | None = None,
    transcode: str | None = None,
) -> RawTable:
    opts: dict[str, Any] = {}
    if fmt == "GeoJSON":
        opts["DATE_AS_STRING"] = "YES"
        _check_json_nul(Path(source), file)
    kwargs: dict[str, Any] = {}
    if encoding:
        kwargs["encoding"] = encoding
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            gdf = pyogrio.read_dataframe(
                source,
                layer=layer,
                datetime_as_string=True,
                fid_as_index=False,
                use_arrow=True,
                **kwargs,
                **opts,
            )
        for w in caught:
            log.debug("%s: GDAL: %s", file, w.message)
        return _from_frame(gdf, file, fmt, transcode=transcode)
    except (DataSourceError, DataLayerError) as exc:
        raise _gdal_errors(exc, file, fmt) from None
    except Exception as exc:  # GDAL/Arrow raise assorted errors on corrupt files
        if isinstance(exc, UnicodeDecodeError) or "Wrapping" in str(exc):
            raise InputFileError(
                "text that is not valid in its declared encoding (a wrong .cpg?); save the "
                "file as UTF-8",
                file=file,
            ) from None
        raise _gdal_errors(exc, file, fmt) from None


# A JSON escape \u0000 (after an even number of backslashes, so not an escaped "\\u0000").
_JSON_NUL_RE = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")


def _check_json_nul(path: Path, file: str) -> None:
    """Refuse JSON whose strings hold a NUL character: GDAL cuts text at a NUL without a
    word (``"a\\u0000b"`` would be read as ``"a"``)."""
    with path.open("rb") as fh:
        raw = fh.read()
    m = _JSON_NUL_RE.search(raw)
    if m is not None:
        line = raw[: m.end()].count(b"\n") + 1
        raise InputFileError(
            f"a text value holds a NUL character (\\u0000) on line {line}: it would be cut "
            "there; remove it",
            file=file,
        )


def _from_frame(
    frame: pd.DataFrame, file: str, fmt: str, *, transcode: str | None = None
) -> RawTable:
    """Text table from a (Geo)DataFrame. ``transcode``: text was read as ISO-8859-1 and is
    really in this codec (names and values are re-decoded)."""
    geometry: np.ndarray | None = None
    crs: pyproj.CRS | None = None
    if isinstance(frame, gpd.GeoDataFrame) and frame.geometry.name in frame.columns:
        geometry = frame.geometry.to_numpy()
        crs = frame.crs
        frame = pd.DataFrame(frame.drop(columns=frame.geometry.name))

    def fix(text: str) -> str:
        return text.encode("latin-1").decode(transcode) if transcode else text

    names = _unique_headers([fix(str(c)) for c in frame.columns], file)
    columns: dict[str, pd.Series] = {}
    native: set[str] = set()
    for i, name in enumerate(names):
        values = frame.iloc[:, i]
        if _is_number(values.dtype) or (isinstance(values.dtype, pd.StringDtype) and not transcode):
            columns[name] = values.reset_index(drop=True)
            native.add(name)
            continue
        text = _to_text(values)
        columns[name] = text.map(lambda v: None if v is None else fix(v)) if transcode else text
    data = pd.DataFrame(columns, index=pd.RangeIndex(len(frame)))
    return RawTable(file, data, geometry, crs, fmt, native=native)


def _is_number(dtype: Any) -> bool:
    """A float or integer dtype (numpy or nullable), not bool."""
    return bool(pd.api.types.is_float_dtype(dtype) or pd.api.types.is_integer_dtype(dtype))


def _float_text(v: float) -> str | None:
    if math.isnan(v):
        return None
    if math.isfinite(v) and v == int(v) and abs(v) < 1e15:
        return str(int(v))
    return repr(float(v))


def _cell_text(v: Any) -> str | None:
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, str):
        return v
    if isinstance(v, (bool, np.bool_)):
        return "true" if v else "false"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        return _float_text(float(v))
    if isinstance(v, bytes):
        return v.decode("utf-8", errors="replace")
    if isinstance(v, pd.Timestamp):
        return v.date().isoformat() if v == v.normalize() else v.isoformat()
    if isinstance(v, (list, dict)):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, np.ndarray):
        return json.dumps(v.tolist(), ensure_ascii=False)
    return str(v)


def _to_text(s: pd.Series) -> pd.Series:
    """A column of any dtype as object ``str``/``None``: integers without ``.0``, integral
    floats as integers, booleans ``true``/``false``, dates ISO (what :func:`_cell_text`
    gives each value; text, numbers and booleans vectorised)."""
    n = len(s)
    if isinstance(s.dtype, pd.StringDtype):
        values = s.to_numpy(dtype=object, na_value=_NA_NONE)
    elif pd.api.types.is_bool_dtype(s.dtype) and not s.isna().any():
        values = np.where(s.to_numpy(dtype=bool), "true", "false").astype(object)
    elif pd.api.types.is_float_dtype(s.dtype):
        values = _floats_text(s.to_numpy(dtype="float64", na_value=np.nan))
    elif pd.api.types.is_integer_dtype(s.dtype):
        given = s.notna().to_numpy(dtype=bool)
        values = np.full(n, None, dtype=object)
        values[given] = s[given].to_numpy(dtype=object).astype(str).astype(object)
    else:
        values = np.empty(n, dtype=object)
        values[:] = [_cell_text(v) for v in s.to_numpy(dtype=object)]
    return pd.Series(values, index=pd.RangeIndex(n), dtype=object)


def _floats_text(v: np.ndarray) -> np.ndarray:
    """:func:`_float_text` of every value: None for NaN, integers below 1e15 without
    ``.0``, else the shortest repr."""
    out = np.full(v.size, None, dtype=object)
    with np.errstate(invalid="ignore"):
        integral = np.isfinite(v) & (v == np.trunc(v)) & (np.abs(v) < 1e15)
    out[integral] = v[integral].astype(np.int64).astype(str).astype(object)
    other = np.flatnonzero(~integral & ~np.isnan(v))
    if other.size:
        out[other] = [repr(x) for x in v[other].tolist()]
    return out


def _as_text(v: Any) -> str | None:
    """A raw cell (text, or a number of a typed column) as the text it stands for."""
    return v if v is None or isinstance(v, str) else _cell_text(v)


def _check_zip(p: Path, file: str) -> zipfile.ZipFile:
    """Open a zip after checking, from its headers alone, member names, count, sizes and
    compression ratios (nothing is inflated here)."""
    try:
        zf = zipfile.ZipFile(p)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        raise InputFileError("not a valid zip archive", file=file) from None
    infos = zf.infolist()
    if not infos:
        zf.close()
        raise InputFileError("empty zip archive", file=file)
    try:
        _check_zip_members(infos, file)
    except InputFileError:
        zf.close()
        raise
    return zf


def _check_zip_members(infos: list[zipfile.ZipInfo], file: str) -> None:
    if len(infos) > MAX_ZIP_MEMBERS:
        raise InputFileError(
            f"zip archive has {len(infos)} members (more than {MAX_ZIP_MEMBERS})", file=file
        )
    total = 0
    for info in infos:
        name = info.filename.replace("\\", "/")
        parts = PurePosixPath(name).parts
        if name.startswith("/") or re.match(r"[A-Za-z]:", name) or ".." in parts:
            raise InputFileError(
                f"unsafe member name {info.filename!r} in the zip archive (absolute path or "
                "'..'): refusing to read it",
                file=file,
            )
        total += info.file_size
        if info.file_size > ZIP_RATIO_MIN_BYTES and info.file_size > MAX_ZIP_RATIO * max(
            info.compress_size, 1
        ):
            ratio = info.file_size / max(info.compress_size, 1)
            raise InputFileError(
                f"zip member {info.filename!r} expands {ratio:.0f}× ({info.compress_size} → "
                f"{info.file_size} bytes; limit {MAX_ZIP_RATIO:.0f}×): refusing a possible zip "
                "bomb",
                file=file,
            )
        # No compression method makes data much bigger: more compressed bytes than the
        # declared size means headers that lie (a bomb disguised as a small member).
        if info.compress_size > info.file_size * 1.01 + 1024:
            raise InputFileError(
                f"zip member {info.filename!r} declares {info.file_size} bytes unpacked but "
                f"holds {info.compress_size} compressed bytes: inconsistent headers (a "
                "disguised zip bomb?); refusing it",
                file=file,
            )
    if total > MAX_ZIP_UNCOMPRESSED_BYTES:
        raise InputFileError(
            f"zip archive expands to {total} bytes (limit {MAX_ZIP_UNCOMPRESSED_BYTES}): "
            "refusing a possible zip bomb",
            file=file,
        )


def _extract_member(zf: zipfile.ZipFile, member: str, dest: Path, file: str) -> Path:
    """Copy one member to ``dest``: never more bytes than its header declares, and its
    CRC-32 checked (a member whose headers understate its size fails here)."""
    info = zf.getinfo(member)
    if info.flag_bits & 0x1:
        raise InputFileError(
            f"zip member {member!r} is encrypted: unpack it with its password first", file=file
        )
    try:
        with zf.open(info) as src, dest.open("wb") as out:
            while chunk := src.read(1 << 20):
                out.write(chunk)
    except NotImplementedError as exc:
        raise InputFileError(f"zip member {member!r}: {exc}", file=file) from None
    except (zipfile.BadZipFile, EOFError, OSError, zlib.error) as exc:
        raise InputFileError(
            f"zip member {member!r} is corrupt or its headers lie about it ({exc}); refusing it",
            file=file,
        ) from None
    return dest


def _read_zip(p: Path, file: str, layer: str | None) -> RawTable:
    """A zip holding one Shapefile (or several, chosen with ``layer``), or one GeoJSON or
    GeoPackage. The members needed are checked from the headers, then copied (size-capped and
    CRC-checked) to a temporary folder that GDAL reads: GDAL never inflates the archive."""
    with _check_zip(p, file) as zf:
        members = [
            i.filename
            for i in zf.infolist()
            if not i.is_dir()
            and not i.filename.startswith("__MACOSX/")
            and not PurePosixPath(i.filename).name.startswith(".")
        ]
        lower = {m.lower(): m for m in members}
        shps = [m for m in members if m.lower().endswith(".shp")]
        others = [m for m in members if m.lower().endswith((".geojson", ".json", ".gpkg"))]
        if not shps and len(others) == 1 and (layer is None or others[0].lower().endswith(".gpkg")):
            member = others[0]
            kind = "GPKG" if member.lower().endswith(".gpkg") else "GeoJSON"
            _check_memory(zf.getinfo(member).file_size, kind, file)
            with tempfile.TemporaryDirectory(prefix="covgap-zip-") as tmp:
                suffix = PurePosixPath(member).suffix.lower()
                path = _extract_member(zf, member, Path(tmp) / f"data{suffix}", file)
                if kind == "GPKG":
                    return _read_gpkg(path, file, layer)
                return _read_gdal(str(path), file, "GeoJSON", layer=None)
        if not shps:
            raise InputFileError(
                f"no Shapefile (.shp) in the zip archive (members: {', '.join(members)})",
                file=file,
            )
        if layer is not None:
            chosen = [m for m in shps if PurePosixPath(m).stem == layer]
            if not chosen:
                stems = ", ".join(PurePosixPath(m).stem for m in shps)
                raise InputFileError(
                    f"no Shapefile {layer!r} in the zip archive (Shapefiles: {stems})",
                    file=file,
                )
            shp = chosen[0]
        elif len(shps) > 1:
            stems = ", ".join(PurePosixPath(m).stem for m in shps)
            raise InputFileError(
                f"zip archive holds {len(shps)} Shapefiles ({stems}): choose one with --layer",
                file=file,
            )
        else:
            shp = shps[0]
        base = shp[:-4]
        dbf = lower.get(base.lower() + ".dbf")
        if dbf is None or lower.get(base.lower() + ".shx") is None:
            missing = ".dbf" if dbf is None else ".shx"
            raise InputFileError(
                f"Shapefile {shp!r} in the zip archive has no {missing} file", file=file
            )
        parts = {
            ext: lower[base.lower() + ext]
            for ext in (".shp", ".shx", ".dbf", ".prj", ".cpg")
            if base.lower() + ext in lower
        }
        unpacked = sum(zf.getinfo(m).file_size for m in parts.values())
        _check_memory(unpacked, "ESRI Shapefile", file)
        with tempfile.TemporaryDirectory(prefix="covgap-zip-") as tmp:
            for ext, member in parts.items():
                _extract_member(zf, member, Path(tmp) / f"layer{ext}", file)
            return _read_shapefile(Path(tmp) / "layer.shp", file)


def _read_parquet(p: Path, file: str) -> RawTable:
    if "Parquet" in pyogrio.list_drivers():
        return _read_gdal(str(p), file, "Parquet", layer=None)
    try:
        frame: pd.DataFrame = gpd.read_parquet(p)
    except ValueError as exc:
        if "geo" not in str(exc).lower():
            raise InputFileError(f"not a readable Parquet file ({exc})", file=file) from None
        try:
            frame = pd.read_parquet(p)
        except Exception as exc2:
            raise InputFileError(f"not a readable Parquet file ({exc2})", file=file) from None
    except Exception as exc:
        raise InputFileError(f"not a readable Parquet file ({exc})", file=file) from None
    return _from_frame(frame, file, "Parquet")


# ---------------------------------------------------------------------------------------------
# Messages


class _Collector:
    """Gathers rejects and fix notes for one file, then words them."""

    def __init__(self, file: str, rows: np.ndarray) -> None:
        self.file = file
        self.rows = rows  # position -> 1-based row
        self.rejects: list[tuple[int, int, Reject]] = []
        self.bad = np.zeros(len(rows), dtype=bool)
        self.notes: dict[tuple[str, str], list[tuple[int, str, str]]] = {}
        self.warnings: list[str] = []
        self.reader_bad: set[int] = set()

    def reject(self, pos: int, order: int, column: str, value: Any, reason: str) -> None:
        if pos in self.reader_bad:  # a malformed record: its own reject says it all
            return
        text = "" if value is None else str(value)
        self.rejects.append(
            (pos, order, Reject(self.file, int(self.rows[pos]), column, text, reason))
        )
        self.bad[pos] = True

    def reject_many(
        self, errors: pd.Series, order: int, column: str, raw: pd.Series | None
    ) -> None:
        arr = errors.to_numpy(dtype=object)
        for pos in np.flatnonzero(errors.notna().to_numpy()):
            value = _as_text(raw.iloc[pos]) if raw is not None else None
            self.reject(int(pos), order, column, value, str(arr[pos]))

    def note_many(
        self,
        notes: pd.Series,
        column: str,
        raw: pd.Series | None,
        shown: pd.Series | None,
    ) -> None:
        arr = notes.to_numpy(dtype=object)
        for p in np.flatnonzero(notes.notna().to_numpy() & ~self.bad):
            before = "" if raw is None else str(_as_text(raw.iloc[p]))
            after = "" if shown is None else _show(shown.iloc[p])
            self.notes.setdefault((column, str(arr[p])), []).append((int(p), before, after))

    def words(self) -> tuple[tuple[Reject, ...], tuple[str, ...]]:
        rejects = tuple(r for _, _, r in sorted(self.rejects, key=lambda t: (t[0], t[1])))
        out = list(self.warnings)
        for (column, note), items in self.notes.items():
            items = [it for it in items if not self.bad[it[0]]]
            if not items:
                continue
            pos, before, after = items[0]
            row = int(self.rows[pos])
            example = f"{before!r} read as {after}" if before and after else ""
            if len(items) == 1:
                tail = f" ({example})" if example else ""
                out.append(f"{self.file}:{row}:{column}: {note}{tail}")
            else:
                shown = ", ".join(str(int(self.rows[i])) for i, _, _ in items[:_ROWS_SHOWN])
                more = ", …" if len(items) > _ROWS_SHOWN else ""
                eg = f"; e.g. row {row}: {example}" if example else ""
                out.append(
                    f"{self.file}: {column}: {note} in {len(items)} rows (rows {shown}{more}){eg}"
                )
        return rejects, tuple(out)


def _show(v: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    if isinstance(v, pd.Timestamp):
        return v.date().isoformat()
    if isinstance(v, tuple):
        return " ".join(str(x) for x in v)
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


# ---------------------------------------------------------------------------------------------
# Geometry


_AREA_TYPE_IDS = {3, 4, 6}  # Polygon, MultiPoint, MultiPolygon (shapely type ids)
_TYPE_NAMES = {
    -1: "missing geometry",
    0: "Point",
    1: "LineString",
    2: "LinearRing",
    3: "Polygon",
    4: "MultiPoint",
    5: "MultiLineString",
    6: "MultiPolygon",
    7: "GeometryCollection",
}


def _geometry_xy(
    geoms: np.ndarray,
    column: str,
    col: _Collector,
    *,
    what: str,
    skip: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """x, y of point geometries (representative points of polygons/multipoints, with a
    warning); rejects empty or missing geometries and other types. ``skip`` marks rows
    already rejected."""
    file = col.file
    n = len(geoms)
    x = np.full(n, np.nan)
    y = np.full(n, np.nan)
    skip = np.zeros(n, dtype=bool) if skip is None else skip
    empty = (np.asarray(pd.isna(geoms), dtype=bool) | shapely.is_empty(geoms)) & ~skip
    type_ids = shapely.get_type_id(geoms)
    is_point = (type_ids == 0) & ~empty & ~skip
    x[is_point] = shapely.get_x(geoms[is_point])
    y[is_point] = shapely.get_y(geoms[is_point])
    area = np.isin(type_ids, list(_AREA_TYPE_IDS)) & ~empty & ~skip
    lookup = np.array(
        [_TYPE_NAMES.get(t, "geometry") for t in range(-1, max(_TYPE_NAMES) + 1)], dtype=object
    )
    known = (type_ids >= -1) & (type_ids <= max(_TYPE_NAMES))
    names = np.where(known, lookup[np.clip(type_ids, -1, max(_TYPE_NAMES)) + 1], "geometry")
    if area.any():
        reps = shapely.point_on_surface(geoms[area])
        x[area] = shapely.get_x(reps)
        y[area] = shapely.get_y(reps)
        kinds = "/".join(sorted(set(names[area])))
        count = int(area.sum())
        rows = ", ".join(str(int(r)) for r in col.rows[area][:_ROWS_SHOWN])
        more = ", …" if count > _ROWS_SHOWN else ""
        col.warnings.append(
            f"{file}: {column}: {count} {kinds} feature(s) taken as a representative point "
            f"inside each (rows {rows}{more}); {what} should be points"
        )
    for pos in np.flatnonzero(empty):
        col.reject(int(pos), -1, column, "", "empty or NaN coordinates")
    for pos in np.flatnonzero(~empty & ~is_point & ~area & ~skip):
        col.reject(
            int(pos), -1, column, names[pos], f"a {names[pos]} is not a point: {what} are points"
        )
    present = ~empty & ~skip
    if present.any() and shapely.has_z(geoms[present]).any():
        col.warnings.append(f"{file}: {column}: Z (height) coordinates ignored")
    return x, y


def _points_from_table(
    table: RawTable,
    colmap: schema.ColumnMap,
    crs_user: pyproj.CRS | None,
    col: _Collector,
    *,
    what: str,
) -> tuple[np.ndarray, np.ndarray, str, str]:
    """x, y per row in the source CRS (NaN where missing/rejected), the column name for
    coordinate rejects, and where the CRS comes from (``file``, ``--crs``, ``default``).
    Rejects bad geometries."""
    file = table.file
    geoms = table.geometry
    use_columns = colmap.lon is not None and colmap.lat is not None
    user_or_default = "--crs" if crs_user is not None else "default"
    if geoms is not None and not (use_columns and all(g is None for g in geoms)):
        x, y = _geometry_xy(geoms, "geometry", col, what=what)
        if crs_user is not None:
            if table.crs is not None and not table.crs.equals(crs_user):
                col.warnings.append(
                    f"{file}: --crs {crs_label(crs_user)} overrides the file's CRS "
                    f"{crs_label(table.crs)}"
                )
            return x, y, "geometry", "--crs"
        return x, y, "geometry", "file"
    if use_columns:
        assert colmap.lon is not None and colmap.lat is not None
        column = f"{colmap.lon}/{colmap.lat}"
        px = schema.parse_float(table.data[colmap.lon], decimal_comma=table.decimal_comma)
        py = schema.parse_float(table.data[colmap.lat], decimal_comma=table.decimal_comma)
        col.reject_many(px.error, -1, colmap.lon, table.data[colmap.lon])
        col.reject_many(py.error, -1, colmap.lat, table.data[colmap.lat])
        x = px.values.to_numpy(dtype="float64")
        y = py.values.to_numpy(dtype="float64")
        missing = (px.values.isna() & px.error.isna()) | (py.values.isna() & py.error.isna())
        for pos in np.flatnonzero(missing.to_numpy()):
            value = _xy_text(table, colmap, int(pos))
            col.reject(int(pos), -1, column, value, "empty or NaN coordinates")
        return x, y, column, user_or_default
    if colmap.wkt is not None:
        column = colmap.wkt
        text = schema.clean_text_series(table.text(column)).to_numpy(dtype=object)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            parsed = shapely.from_wkt(text, on_invalid="ignore")
        invalid = ~pd.isna(text) & pd.isna(parsed)
        for pos in np.flatnonzero(invalid):
            col.reject(int(pos), -1, column, text[pos], "not valid WKT geometry")
        x, y = _geometry_xy(parsed, column, col, what=what, skip=invalid)
        return x, y, column, user_or_default
    found = ", ".join(table.data.columns)
    raise SchemaError(
        "no coordinates: expected lon/lat columns (lon: "
        f"{', '.join(schema.LON_ALIASES)}; lat: {', '.join(schema.LAT_ALIASES)}) or a WKT "
        f"column ({', '.join(schema.WKT_ALIASES)}) (found: {found})",
        file=file,
        column="lon",
    )


def _xy_text(table: RawTable, colmap: schema.ColumnMap, pos: int) -> str:
    assert colmap.lon is not None and colmap.lat is not None
    lon = _as_text(table.data[colmap.lon].iloc[pos])
    lat = _as_text(table.data[colmap.lat].iloc[pos])
    return f"{lon or ''} {lat or ''}".strip()


def _locate(
    table: RawTable,
    colmap: schema.ColumnMap,
    crs: str | pyproj.CRS | None,
    boundaries: gpd.GeoDataFrame | None,
    col: _Collector,
    *,
    what: str,
) -> tuple[np.ndarray, np.ndarray]:
    """lon/lat (EPSG:4326) per row; rejects rows without usable coordinates or outside
    Vietnam."""
    file = table.file
    crs_user = parse_crs(crs, file=file)
    x, y, column, source = _points_from_table(table, colmap, crs_user, col, what=what)
    src_crs: pyproj.CRS | None
    if source == "--crs":
        src_crs = crs_user
    elif source == "default":
        src_crs = WGS84
    else:
        src_crs = table.crs
    usable = ~col.bad & np.isfinite(x) & np.isfinite(y)
    xx = np.where(usable, x, np.nan)
    yy = np.where(usable, y, np.nan)
    if not usable.any():
        return xx, yy
    result = to_lonlat(xx, yy, src_crs, file=file, crs_source=source)
    col.warnings.extend(result.warnings)
    for pos in np.flatnonzero(usable):
        reason = result.error[pos]
        if reason is not None:
            col.reject(int(pos), -1, column, f"{x[pos]:.10g} {y[pos]:.10g}", str(reason))
    lon, lat = result.lon, result.lat
    ok = usable & np.isfinite(lon) & np.isfinite(lat)
    outside = np.zeros(len(lon), dtype=bool)
    if ok.any():
        # each distinct place once (the sectors of a site share theirs)
        back, places = pd.factorize(lon[ok] + 1j * lat[ok])
        outside[ok] = outside_vietnam(places.real, places.imag, boundaries)[back]
    if boundaries is None:
        reason = (
            "outside Vietnam's bounding boxes (mainland, Hoàng Sa, Trường Sa; "
            "no boundaries file given)"
        )
        col.warnings.append(
            f"{file}: no boundaries file: only Vietnam's bounding boxes were checked, so points "
            "in neighbouring countries or the sea inside them are not caught"
        )
    else:
        reason = (
            "outside Vietnam: in the sea or a neighbouring country "
            f"(more than {COASTAL_TOLERANCE_M / 1000:g} km from the provinces)"
        )
    for pos in np.flatnonzero(outside):
        col.reject(int(pos), -1, column, f"{lon[pos]:.6f} {lat[pos]:.6f}", reason)
    return lon, lat


# ---------------------------------------------------------------------------------------------
# Loaders


def _header(colmap: schema.ColumnMap, name: str) -> str:
    return colmap.columns.get(name, name)


def _raw(table: RawTable, colmap: schema.ColumnMap, name: str) -> pd.Series | None:
    """Column ``name`` as text, or None when the file lacks it."""
    header = colmap.columns.get(name)
    return table.text(header) if header is not None else None


def _stored(table: RawTable, colmap: schema.ColumnMap, name: str) -> pd.Series | None:
    """Column ``name`` as stored (text, or the numbers of a typed column), or None."""
    header = colmap.columns.get(name)
    return table.data[header] if header is not None else None


def _raw_or_absent(table: RawTable, colmap: schema.ColumnMap, name: str) -> pd.Series:
    raw = _raw(table, colmap, name)
    return raw if raw is not None else _absent(table.n_read)


def _absent(n: int) -> pd.Series:
    return pd.Series([None] * n, index=pd.RangeIndex(n), dtype=object)


def _parse_columns(
    table: RawTable,
    colmap: schema.ColumnMap,
    specs: tuple[schema.ColumnSpec, ...],
    col: _Collector,
    *,
    skip: Iterable[str] = (),
    optional: Iterable[str] = (),
) -> dict[str, schema.Parsed]:
    """Parse every contract column (absent optional ones as all-missing)."""
    n = table.n_read
    out: dict[str, schema.Parsed] = {}
    skip_set, optional_set = set(skip), set(optional)
    for order, spec in enumerate(specs):
        if spec.name in skip_set:
            continue
        kind = spec.kind
        # pandas text and numbers of a typed column (for numbers) parse as they are;
        # other typed columns (an integer ID, a float population) from their text
        raw = _stored(table, colmap, spec.name)
        if raw is not None and not (
            raw.dtype == object
            or isinstance(raw.dtype, pd.StringDtype)
            or kind == "float"
            or (kind == "int" and pd.api.types.is_integer_dtype(raw.dtype))
        ):
            raw = _raw(table, colmap, spec.name)
        values = raw if raw is not None else _absent(n)
        required = spec.required and spec.name not in optional_set
        if kind in ("id", "text"):
            parsed = schema.parse_text(values, required=required, what=spec.name)
        elif kind == "commune_code":
            parsed = schema.parse_code(values, digits=5, required=required)
        elif kind == "int":
            parsed = schema.parse_int(values, required=required)
        elif kind == "float":
            unit = spec.name.rsplit("_", 1)[-1]
            parsed = schema.parse_float(
                values,
                required=required,
                decimal_comma=table.decimal_comma,
                value_range=schema.RANGES.get(spec.name),
                unit=_UNITS.get(unit, ""),
                name=spec.name,
            )
        elif kind == "bool":
            parsed = schema.parse_bool(values, required=required)
        elif kind == "date":
            parsed = schema.parse_date(values, required=required)
        elif kind == "operator":
            parsed = schema.parse_operator(values, required=required)
        elif kind in ("technology", "clutter", "status", "backhaul", "power"):
            parsed = schema.parse_choice(values, kind, required=required)
        else:
            raise AssertionError(f"no parser for column kind {kind!r}")
        header = _header(colmap, spec.name)
        col.reject_many(parsed.error, order, header, raw)
        out[spec.name] = parsed
    return out


def _note_all(
    parsed: dict[str, schema.Parsed],
    table: RawTable,
    colmap: schema.ColumnMap,
    col: _Collector,
) -> None:
    for name, p in parsed.items():
        col.note_many(p.note, _header(colmap, name), _stored(table, colmap, name), p.values)


def _start(
    path: str | Path,
    specs: tuple[schema.ColumnSpec, ...],
    *,
    kind: Literal["villages", "towers"],
    layer: str | None,
    optional_when: Mapping[str, tuple[str, ...]] | None = None,
) -> tuple[RawTable, schema.ColumnMap, _Collector]:
    table = read_table(path, layer=layer)
    colmap = schema.resolve_columns(table.data.columns, specs, file=table.file)
    schema.check_required(
        colmap,
        specs,
        file=table.file,
        expected=kind,
        optional_when=optional_when,
    )
    col = _Collector(table.file, np.arange(1, table.n_read + 1, dtype="int64"))
    for pos in sorted(table.bad_rows):
        col.bad[pos] = True
    col.reader_bad = set(table.bad_rows)
    col.rejects.extend((r.row - 1 if r.row else 0, -2, r) for r in table.rejects)
    col.warnings.extend(table.warnings)
    for note in colmap.notes:
        col.warnings.append(f"{table.file}: {note}")
    ignored = [h for h in colmap.ignored if not h.startswith("(column ")]
    if ignored:
        col.warnings.append(
            f"{table.file}: columns not in the {kind} contract, ignored: {', '.join(ignored)}"
        )
    return table, colmap, col


def _str_series(values: Any, n: int) -> pd.Series:
    return pd.Series(values, index=pd.RangeIndex(n), dtype="str")


def _finish(
    table: RawTable,
    col: _Collector,
    frame: dict[str, Any],
    lon: np.ndarray,
    lat: np.ndarray,
    path: str | Path,
) -> LoadResult:
    keep = ~col.bad
    df = pd.DataFrame(frame, index=pd.RangeIndex(table.n_read))
    df["source_row"] = col.rows.astype("int64")
    df = df.loc[keep].reset_index(drop=True)
    geometry = gpd.points_from_xy(lon[keep], lat[keep], crs=WGS84)
    gdf = gpd.GeoDataFrame(df, geometry=geometry, crs=WGS84)
    rejects, warns = col.words()
    return LoadResult(gdf, rejects, warns, Path(path), table.n_read)


def load_villages(
    path: str | Path,
    *,
    crs: str | None = None,
    layer: str | None = None,
    boundaries: gpd.GeoDataFrame | None = None,
    admin_vintage: int = 2025,
) -> LoadResult:
    """Load a villages file into the canonical villages GeoDataFrame (DESIGN §3).

    ``crs`` (``--crs``) is the CRS of the coordinates when the file has none or a wrong one
    (a CSV of lon/lat is EPSG:4326 by default). ``layer`` picks a GeoPackage layer.
    ``boundaries`` (province polygons, see :func:`load_boundaries`) enables the
    outside-Vietnam check; without it only bounding boxes are checked. ``admin_vintage``
    says which province codes/names the file uses: 2025 (34 provinces) or 2019 (the 63 before
    1 July 2025), mapped to 2025 with warnings. Columns out: village_id, name, province_code,
    province, commune_code, commune, population (int64), households (Int64), electrified
    (bool), power_eta (datetime64[s]), assigned_operator, measured_rsrp_dbm (float64),
    measured_operator, clutter, source_row, geometry (EPSG:4326 points)."""
    if admin_vintage not in admin.ADMIN_VINTAGES:
        raise UsageError(f"admin_vintage must be 2025 or 2019, not {admin_vintage}")
    specs = schema.VILLAGE_COLUMNS
    table, colmap, col = _start(path, specs, kind="villages", layer=layer)
    n = table.n_read
    lon, lat = _locate(table, colmap, crs, boundaries, col, what="villages")
    # province_code and province are parsed together (either may fill in the other).
    parsed = _parse_columns(table, colmap, specs, col, skip=("province_code", "province"))
    order = {s.name: i for i, s in enumerate(specs)}

    prov = schema.parse_provinces(
        _raw_or_absent(table, colmap, "province_code"),
        _raw_or_absent(table, colmap, "province"),
        vintage=admin_vintage,
    )
    prov_errors = prov.error.to_numpy(dtype=object)
    for pos in np.flatnonzero(prov.error.notna().to_numpy()):
        which, _, text = str(prov_errors[pos]).partition(": ")
        name = "province_code" if which == "province_code" else "province"
        raw = _raw(table, colmap, name)
        value = raw.iloc[pos] if raw is not None else None
        col.reject(int(pos), order[name], _header(colmap, name), value, text)
    prov_code = prov.values.map(lambda v: v[0] if v else None)
    prov_name = prov.values.map(lambda v: v[1] if v else None)
    col.note_many(prov.note, _header(colmap, "province"), _raw(table, colmap, "province"), None)

    ids = parsed["village_id"].values
    dup = schema.duplicate_errors(ids, pd.Series(col.rows), column="village_id")
    col.reject_many(
        dup, order["village_id"], _header(colmap, "village_id"), _raw(table, colmap, "village_id")
    )
    _note_all(parsed, table, colmap, col)

    population = parsed["population"].values
    frame: dict[str, Any] = {
        "village_id": _str_series(ids, n),
        "name": _str_series(parsed["name"].values, n),
        "province_code": _str_series(prov_code, n),
        "province": _str_series(prov_name, n),
        "commune_code": _str_series(parsed["commune_code"].values, n),
        "commune": _str_series(parsed["commune"].values, n),
        "population": population,
        "households": pd.array(parsed["households"].values.tolist(), dtype="Int64"),
        "electrified": parsed["electrified"].values,
        "power_eta": parsed["power_eta"].values.astype("datetime64[s]"),
        "assigned_operator": _str_series(parsed["assigned_operator"].values, n),
        "measured_rsrp_dbm": parsed["measured_rsrp_dbm"].values.astype("float64"),
        "measured_operator": _str_series(parsed["measured_operator"].values, n),
        "clutter": _str_series(parsed["clutter"].values, n),
    }
    result = _finish(table, col, frame, lon, lat, path)
    gdf = result.gdf
    gdf["population"] = gdf["population"].astype("int64")
    gdf["electrified"] = gdf["electrified"].astype(bool)
    return result


def load_towers(
    path: str | Path,
    *,
    crs: str | None = None,
    layer: str | None = None,
    boundaries: gpd.GeoDataFrame | None = None,
) -> LoadResult:
    """Load a towers file (one row per sector) into the canonical towers GeoDataFrame.

    Defaults filled: ``site_id`` = ``tower_id``; ``bandwidth_mhz`` per technology (2G 0.2, 3G
    5, 4G 10, 5G 100 MHz); ``status`` active; ``beamwidth_deg`` 65° where an azimuth is given;
    ``eirp_dbm`` = ``tx_power_dbm + antenna_gain_dbi − cable_loss_db`` where absent. Columns
    out: tower_id, site_id, operator, technology, frequency_mhz, bandwidth_mhz, height_m,
    eirp_dbm, azimuth_deg, beamwidth_deg, status, backhaul, power, source_row, geometry
    (EPSG:4326 points). ``crs``, ``layer``, ``boundaries`` as for :func:`load_villages`."""
    specs = schema.TOWER_COLUMNS
    optional_when = {"eirp_dbm": ("tx_power_dbm", "antenna_gain_dbi")}
    table, colmap, col = _start(
        path, specs, kind="towers", layer=layer, optional_when=optional_when
    )
    n = table.n_read
    lon, lat = _locate(table, colmap, crs, boundaries, col, what="towers")
    parsed = _parse_columns(table, colmap, specs, col, optional=("eirp_dbm",))
    order = {s.name: i for i, s in enumerate(specs)}

    ids = parsed["tower_id"].values
    dup = schema.duplicate_errors(ids, pd.Series(col.rows), column="tower_id")
    col.reject_many(
        dup, order["tower_id"], _header(colmap, "tower_id"), _raw(table, colmap, "tower_id")
    )

    site = parsed["site_id"].values.where(parsed["site_id"].values.notna(), ids)

    tech = parsed["technology"].values
    bandwidth = parsed["bandwidth_mhz"].values.copy()
    default_bw = tech.map(schema.DEFAULT_BANDWIDTH_MHZ)
    bandwidth = bandwidth.where(bandwidth.notna(), default_bw.astype("float64"))

    # EIRP: given, else computed from its parts.
    eirp = parsed["eirp_dbm"].values.copy()
    tx = parsed["tx_power_dbm"].values
    gain = parsed["antenna_gain_dbi"].values
    loss = parsed["cable_loss_db"].values.fillna(0.0)
    parts_bad = (
        parsed["tx_power_dbm"].bad | parsed["antenna_gain_dbi"].bad | parsed["cable_loss_db"].bad
    )
    need = eirp.isna() & parsed["eirp_dbm"].error.isna()
    can = need & tx.notna() & gain.notna() & ~parts_bad
    computed = tx + gain - loss
    eirp[can] = computed[can]
    eirp_header = _header(colmap, "eirp_dbm")
    lo, hi = schema.RANGES["eirp_dbm"]
    for pos in np.flatnonzero((need & ~can & ~parts_bad).to_numpy()):
        col.reject(
            int(pos),
            order["eirp_dbm"],
            eirp_header,
            "",
            "missing value (eirp_dbm, or tx_power_dbm and antenna_gain_dbi)",
        )
    for pos in np.flatnonzero((can & ((computed < lo) | (computed > hi))).to_numpy()):
        col.reject(
            int(pos),
            order["eirp_dbm"],
            eirp_header,
            f"{computed.iloc[pos]:g}",
            f"computed EIRP {computed.iloc[pos]:g} dBm is outside {lo:g}…{hi:g} dBm",
        )
    n_computed = int((can & ~pd.Series(col.bad)).sum())
    if n_computed:
        rows = col.rows[(can & ~pd.Series(col.bad)).to_numpy()]
        shown = ", ".join(str(int(r)) for r in rows[:_ROWS_SHOWN])
        col.warnings.append(
            f"{table.file}: eirp_dbm: computed as tx_power_dbm + antenna_gain_dbi − "
            f"cable_loss_db (cable loss 0 dB when absent) in {n_computed} rows "
            f"(rows {shown}{', …' if n_computed > _ROWS_SHOWN else ''})"
        )

    azimuth = parsed["azimuth_deg"].values
    beam = parsed["beamwidth_deg"].values.copy()
    no_az_beam = azimuth.isna() & beam.notna()
    if no_az_beam.any():
        rows = col.rows[no_az_beam.to_numpy() & ~col.bad]
        if len(rows):
            col.warnings.append(
                f"{table.file}: {_header(colmap, 'beamwidth_deg')}: ignored without an azimuth "
                f"(omni) in {len(rows)} rows (rows "
                f"{', '.join(str(int(r)) for r in rows[:_ROWS_SHOWN])})"
            )
        beam[no_az_beam] = np.nan
    beam[azimuth.notna() & beam.isna()] = schema.DEFAULT_BEAMWIDTH_DEG

    status = parsed["status"].values.where(parsed["status"].values.notna(), "active")
    _note_all(parsed, table, colmap, col)

    frame: dict[str, Any] = {
        "tower_id": _str_series(ids, n),
        "site_id": _str_series(site, n),
        "operator": _str_series(parsed["operator"].values, n),
        "technology": _str_series(tech, n),
        "frequency_mhz": parsed["frequency_mhz"].values.astype("float64"),
        "bandwidth_mhz": bandwidth.astype("float64"),
        "height_m": parsed["height_m"].values.astype("float64"),
        "eirp_dbm": eirp.astype("float64"),
        "azimuth_deg": azimuth.astype("float64"),
        "beamwidth_deg": beam.astype("float64"),
        "status": _str_series(status, n),
        "backhaul": _str_series(parsed["backhaul"].values, n),
        "power": _str_series(parsed["power"].values, n),
    }
    return _finish(table, col, frame, lon, lat, path)


# ---------------------------------------------------------------------------------------------
# Boundaries


def load_boundaries(path: str | Path) -> gpd.GeoDataFrame:
    """Province polygons in EPSG:4326 with ``province_code`` (2-digit 2025 GSO code, text)
    and ``province_name`` (the official 2025 short name) first, other columns kept.

    Codes are checked against the 34 provinces of 2025 (a name-only file gets codes from its
    names). Raises :class:`InputFileError` on any problem: unreadable file, no polygons,
    unknown or repeated codes, a name that contradicts its code, metres without a CRS."""
    file = str(path)
    p = Path(path)
    table = read_table(p)
    if table.geometry is None:
        raise InputFileError("boundaries need polygon geometries (none found)", file=file)
    spec = (
        schema.ColumnSpec("province_code", "province_code", False, ("ma_tinh", "code")),
        schema.ColumnSpec("province_name", "text", False, ("province", "name", "ten_tinh", "tinh")),
    )
    try:
        colmap = schema.resolve_columns(table.data.columns, spec, file=file, coordinates=False)
    except SchemaError as exc:
        raise InputFileError(exc.reason, file=file, column=exc.column) from None
    if not colmap.columns:
        raise InputFileError(
            "boundaries need a province_code or province_name column "
            f"(found: {', '.join(table.data.columns)})",
            file=file,
            column="province_code",
        )
    n = table.n_read
    codes = (
        table.text(colmap.columns["province_code"])
        if "province_code" in colmap.columns
        else _absent(n)
    )
    names = (
        table.text(colmap.columns["province_name"])
        if "province_name" in colmap.columns
        else _absent(n)
    )
    out_codes: list[str] = []
    out_names: list[str] = []
    seen: dict[str, int] = {}
    for pos in range(n):
        row = pos + 1
        try:
            code, name, _ = admin.normalise_province(codes.iloc[pos], names.iloc[pos], 2025)
        except SchemaError as exc:
            raise InputFileError(
                f"{exc.reason} (boundaries must be the 34 provinces of 2025)",
                file=file,
                row=row,
                column=colmap.columns.get(exc.column or "", exc.column),
            ) from None
        if code in seen:
            raise InputFileError(
                f"province_code {code} appears in rows {seen[code]} and {row}: boundaries need "
                "one feature per 2025 province (dissolve first)",
                file=file,
                row=row,
                column=colmap.columns.get("province_code", "province_code"),
            )
        seen[code] = row
        out_codes.append(code)
        out_names.append(name)
    geoms = table.geometry
    types = np.array(["" if g is None else g.geom_type for g in geoms], dtype=object)
    for pos in range(n):
        g = geoms[pos]
        if g is None or g.is_empty:
            raise InputFileError("empty geometry", file=file, row=pos + 1, column="geometry")
        if types[pos] not in ("Polygon", "MultiPolygon"):
            raise InputFileError(
                f"a {types[pos]} is not a province polygon",
                file=file,
                row=pos + 1,
                column="geometry",
            )
    invalid = ~shapely.is_valid(geoms)
    if invalid.any():
        log.info("%s: %d invalid polygons repaired with make_valid", file, int(invalid.sum()))
        geoms = geoms.copy()
        geoms[invalid] = shapely.make_valid(geoms[invalid])
    crs = table.crs
    if crs is None:
        xmin, ymin, xmax, ymax = shapely.total_bounds(geoms)
        if max(abs(xmin), abs(xmax)) <= 180 and max(abs(ymin), abs(ymax)) <= 90:
            log.warning("%s: no CRS: coordinates look like degrees, taken as EPSG:4326", file)
            crs = WGS84
        else:
            raise InputFileError(
                "no CRS and the coordinates are not degrees: save the boundaries with a CRS",
                file=file,
            )
    others = {
        c: table.text(c)
        for c in list(table.data.columns)
        if c not in colmap.columns.values() and c not in ("province_code", "province_name")
    }
    frame = pd.DataFrame(
        {
            "province_code": pd.Series(out_codes, dtype="str"),
            "province_name": pd.Series(out_names, dtype="str"),
        }
    )
    for c, v in others.items():
        frame[c] = _retype(v)
    gdf = gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms, crs=crs))
    try:
        gdf = gdf.to_crs(WGS84)
    except Exception as exc:
        raise InputFileError(
            f"boundaries cannot be transformed to EPSG:4326 ({exc})", file=file
        ) from None
    return gdf.reset_index(drop=True)


def _retype(values: pd.Series) -> pd.Series:
    """Text back to numbers where every value is a number (boundaries' extra columns)."""
    present = values.dropna()
    if len(present) and present.str.match(r"0\d").any():  # codes with leading zeros stay text
        return values.astype("str")
    if len(present) and present.str.fullmatch(r"-?\d{1,15}").all():
        return pd.Series(pd.array([None if v is None else int(v) for v in values], dtype="Int64"))
    if len(present) and present.str.fullmatch(r"-?\d+(\.\d*)?([eE][+-]?\d+)?").all():
        return values.astype("float64")
    return values.astype("str")


# ---------------------------------------------------------------------------------------------
# Rejects file


def write_rejects_csv(rejects: Iterable[Reject], path: str | Path) -> Path:
    """Write ``rejects.csv`` (``file,row,column,value,reason``; UTF-8, ``\\n`` line ends)
    atomically; written even when there are no rejects (header only). Returns ``path``."""
    buf = _io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(_REJECT_HEADER)
    for r in rejects:
        writer.writerow([r.file, "" if r.row is None else r.row, r.column, r.value, r.reason])
    return write_text_atomic(path, buf.getvalue())
