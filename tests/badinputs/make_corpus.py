"""Generate the bad-input corpus (``tests/badinputs/``) and its ``manifest.json``.

Run it from outside the project folder (the repo root must stay off ``sys.path``)::

    cd /tmp && /work/main/.venv/bin/python /work/main/tests/badinputs/make_corpus.py

Every case is written here together with its expected outcome, worked out by hand from
DESIGN §3 (never by running the loaders): the exit code, the ``file:row:column`` of the
one-line error, the ``rejects.csv`` rows, the warnings, and for accepted inputs the
normalised values. ``tests/test_badinputs.py`` runs ``covgap validate`` on each case.

The files are small and deterministic (fixed zip timestamps, fixed GeoPackage and DBF dates),
so running the script again rewrites the same bytes. Cases that need big files (a real
multi-gigabyte zip bomb, a very large CSV, a sparse file larger than memory) are built at
test time instead.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import shutil
import sqlite3
import struct
import sys
import tempfile
import unicodedata
import warnings
import zipfile
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import pyogrio
import pyproj
import shapely
from shapely.geometry import GeometryCollection, LineString, MultiPoint, Point, Polygon

HERE = Path(__file__).resolve().parent
FIXED_DATE = "2025-01-01T00:00:00Z"
ZIP_TIME = (2025, 1, 1, 0, 0, 0)

VILLAGE_HEADER = (
    "village_id",
    "name",
    "province_code",
    "province",
    "commune_code",
    "commune",
    "population",
    "households",
    "electrified",
    "power_eta",
    "assigned_operator",
    "measured_rsrp_dbm",
    "measured_operator",
    "clutter",
    "lon",
    "lat",
)
TOWER_HEADER = (
    "tower_id",
    "site_id",
    "operator",
    "technology",
    "frequency_mhz",
    "bandwidth_mhz",
    "height_m",
    "eirp_dbm",
    "azimuth_deg",
    "beamwidth_deg",
    "status",
    "backhaul",
    "power",
    "lon",
    "lat",
)

# Three real places (lon, lat; EPSG:4326), inside their provinces.
HA_NOI = (105.83636, 21.03943)  # Ba Đình, province 01
LAO_CAI = (104.00493, 22.50618)  # Lào Cai ward, province 15
DIEN_BIEN = (103.17875, 22.01699)  # Mường Lay, province 11

V1 = {
    "village_id": "V001",
    "name": "Thôn Ba Đình",
    "province_code": "01",
    "province": "Hà Nội",
    "commune_code": "00004",
    "commune": "Phường Ba Đình",
    "population": "500",
    "households": "120",
    "electrified": "yes",
    "power_eta": "",
    "assigned_operator": "",
    "measured_rsrp_dbm": "",
    "measured_operator": "",
    "clutter": "urban_small_medium",
    "lon": "105.83636",
    "lat": "21.03943",
}
V2 = {
    **V1,
    "village_id": "V002",
    "name": "Tổ 1 Lào Cai",
    "province_code": "15",
    "province": "Lào Cai",
    "commune_code": "02647",
    "commune": "Phường Lào Cai",
    "population": "800",
    "households": "200",
    "electrified": "có",
    "clutter": "suburban",
    "lon": "104.00493",
    "lat": "22.50618",
}
V3 = {
    **V1,
    "village_id": "V003",
    "name": "Bản Mường Lay",
    "province_code": "11",
    "province": "Điện Biên",
    "commune_code": "03151",
    "commune": "Phường Mường Lay",
    "population": "420",
    "households": "95",
    "electrified": "không",
    "power_eta": "2025-09-20",
    "clutter": "open_rural",
    "lon": "103.17875",
    "lat": "22.01699",
}
T1 = {
    "tower_id": "T-HN-1",
    "site_id": "HN-1",
    "operator": "Viettel",
    "technology": "4G",
    "frequency_mhz": "1800",
    "bandwidth_mhz": "20",
    "height_m": "30",
    "eirp_dbm": "60",
    "azimuth_deg": "",
    "beamwidth_deg": "",
    "status": "active",
    "backhaul": "fibre",
    "power": "grid",
    "lon": "105.84",
    "lat": "21.04",
}
T2 = {
    **T1,
    "tower_id": "T-LC-1",
    "site_id": "LC-1",
    "operator": "VNPT",
    "height_m": "35",
    "azimuth_deg": "120",
    "beamwidth_deg": "65",
    "lon": "104.01",
    "lat": "22.51",
}
T3 = {
    **T1,
    "tower_id": "T-DB-1",
    "site_id": "DB-1",
    "operator": "MobiFone",
    "technology": "2G",
    "frequency_mhz": "900",
    "bandwidth_mhz": "0.2",
    "height_m": "40",
    "eirp_dbm": "55",
    "backhaul": "microwave",
    "lon": "103.18",
    "lat": "22.02",
}

# VN-2000 / UTM zone 48N (EPSG:3405) coordinates of the three places, from pyproj (the
# loaders must invert this within a metre).
_TO_UTM48 = pyproj.Transformer.from_crs(4326, 3405, always_xy=True)


def utm48(lonlat: tuple[float, float]) -> tuple[float, float]:
    x, y = _TO_UTM48.transform(*lonlat)
    return round(x, 3), round(y, 3)


# ---------------------------------------------------------------------------------------------
# Cases


@dataclass
class Case:
    """One corpus case and its expected outcome (see README.md for the fields)."""

    id: str
    klass: str
    input: str  # "villages" or "towers"
    path: str  # relative to tests/badinputs
    outcome: str  # "error", "rejects" or "accepted"
    does: str  # what the tool does, one line (docs/reliability.md)
    args: list[str] = field(default_factory=list)
    boundaries: bool = False
    exit_code: int = 0
    error: dict[str, Any] | None = None
    rejects: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    n_accepted: int | None = None
    values: dict[str, dict[str, Any]] = field(default_factory=dict)
    tolerance_deg: float = 1e-7
    companion: str | None = None  # the other input, when not the clean default

    def manifest(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "class": self.klass,
            "input": self.input,
            "path": self.path,
            "args": self.args,
            "boundaries": self.boundaries,
            "companion": self.companion,
            "outcome": self.outcome,
            "exit_code": self.exit_code,
            "does": self.does,
        }
        if self.error is not None:
            out["error"] = self.error
        if self.outcome != "error":
            out["rejects"] = self.rejects
            out["warnings"] = self.warnings
            out["n_accepted"] = self.n_accepted
            out["values"] = self.values
            out["tolerance_deg"] = self.tolerance_deg
        return out


CASES: list[Case] = []


def error(
    id: str,
    klass: str,
    input: str,
    path: str,
    *,
    reason: str,
    does: str,
    row: int | None = None,
    column: str | None = None,
    exit_code: int = 2,
    args: Iterable[str] = (),
    boundaries: bool = False,
) -> None:
    """A case the tool refuses with one line ``error: <file>:<row>:<column>: <reason>``
    (``reason`` is a substring of the printed reason)."""
    CASES.append(
        Case(
            id,
            klass,
            input,
            path,
            "error",
            does,
            list(args),
            boundaries,
            exit_code,
            {"row": row, "column": column, "reason": reason},
        )
    )


def accepted(
    id: str,
    klass: str,
    input: str,
    path: str,
    *,
    n: int,
    does: str,
    values: dict[str, dict[str, Any]] | None = None,
    rejects: list[dict[str, Any]] | None = None,
    warnings: Iterable[str] = (),
    args: Iterable[str] = (),
    boundaries: bool = False,
    tolerance_deg: float = 1e-7,
    companion: str | None = None,
) -> None:
    """A case that loads (exit 0): ``n`` rows accepted, exactly ``rejects`` in rejects.csv
    (each ``{row, column, value, reason}``; ``reason`` a substring), each of ``warnings``
    (substrings) printed, and ``values`` (by ID: canonical column -> value; ``lon``/``lat``
    within ``tolerance_deg``) in the loaded frame."""
    CASES.append(
        Case(
            id,
            klass,
            input,
            path,
            "rejects" if rejects else "accepted",
            does,
            list(args),
            boundaries,
            0,
            None,
            rejects or [],
            list(warnings),
            n,
            values or {},
            tolerance_deg,
            companion,
        )
    )


def reject(row: int, column: str, value: str, reason: str) -> dict[str, Any]:
    return {"row": row, "column": column, "value": value, "reason": reason}


# ---------------------------------------------------------------------------------------------
# Writers


def out(rel: str) -> Path:
    path = HERE / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def csv_line(values: Iterable[str], sep: str = ",") -> str:
    cells = []
    for v in values:
        if any(c in v for c in (sep, '"', "\n", "\r")):
            v = '"' + v.replace('"', '""') + '"'
        cells.append(v)
    return sep.join(cells)


def csv_text(
    header: Iterable[str], rows: Iterable[dict[str, str]], *, sep: str = ",", nl: str = "\n"
) -> str:
    header = list(header)
    lines = [csv_line(header, sep)]
    lines += [csv_line([r.get(h, "") for h in header], sep) for r in rows]
    return nl.join(lines) + nl


def write_csv(
    rel: str,
    rows: Iterable[dict[str, str]],
    *,
    header: Iterable[str] = VILLAGE_HEADER,
    sep: str = ",",
    nl: str = "\n",
    encoding: str = "utf-8",
) -> str:
    out(rel).write_bytes(csv_text(header, rows, sep=sep, nl=nl).encode(encoding))
    return rel


def write_bytes(rel: str, data: bytes) -> str:
    out(rel).write_bytes(data)
    return rel


def geojson_feature(props: dict[str, Any], geometry: dict[str, Any] | None) -> dict[str, Any]:
    return {"type": "Feature", "properties": props, "geometry": geometry}


def point(lon: float, lat: float, *more: float) -> dict[str, Any]:
    return {"type": "Point", "coordinates": [lon, lat, *more]}


def village_props(row: dict[str, str], **changes: Any) -> dict[str, Any]:
    """A village row as GeoJSON properties (typed: numbers as numbers, empty as null)."""
    props: dict[str, Any] = {}
    for key in VILLAGE_HEADER[:-2]:
        value: Any = row[key]
        if value == "":
            value = None
        elif key in ("population", "households"):
            value = int(value)
        elif key == "measured_rsrp_dbm":
            value = float(value)
        props[key] = value
    props.update(changes)
    return props


def write_geojson(rel: str, features: list[dict[str, Any]], **top: Any) -> str:
    obj = {"type": "FeatureCollection", **top, "features": features}
    text = json.dumps(obj, ensure_ascii=False, indent=1) + "\n"
    out(rel).write_text(text, encoding="utf-8")
    return rel


def village_frame(rows: list[dict[str, str]], crs: Any = 4326, **kw: Any) -> gpd.GeoDataFrame:
    """Villages as a producer writes them: typed columns, geometry from lon/lat."""
    data: dict[str, list[Any]] = {}
    for key in VILLAGE_HEADER[:-2]:
        col = [r[key] or None for r in rows]
        if key in ("population", "households"):
            col = [int(v) if v else None for v in col]
        data[key] = col
    geometry = kw.pop("geometry", None)
    if geometry is None:
        geometry = [Point(float(r["lon"]), float(r["lat"])) for r in rows]
    return gpd.GeoDataFrame(data, geometry=geometry, crs=crs)


def _gdal_write(gdf: gpd.GeoDataFrame, path: Path, **kw: Any) -> None:
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": FIXED_DATE})
    try:
        pyogrio.write_dataframe(gdf, path, **kw)
    finally:
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": None})


def write_gpkg(rel: str, layers: dict[str, gpd.GeoDataFrame]) -> str:
    path = out(rel)
    path.unlink(missing_ok=True)
    for name, gdf in layers.items():
        _gdal_write(
            gdf,
            path,
            layer=name,
            driver="GPKG",
            append=path.exists(),
            layer_options={"SPATIAL_INDEX": "NO"},
        )
    compact(path)
    return rel


def compact(path: Path) -> None:
    """Shrink a GeoPackage (1 kB pages, free pages dropped): a few kB instead of ~100."""
    con = sqlite3.connect(path)
    con.execute("PRAGMA page_size = 1024")
    con.execute("VACUUM")
    con.close()


def shapefile_members(
    gdf: gpd.GeoDataFrame, stem: str, *, encoding: str | None = None, prj: bool = True
) -> dict[str, bytes]:
    """The files of a Shapefile (``stem.shp`` …) as bytes, the DBF date fixed."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{stem}.shp"
        kw: dict[str, Any] = {"driver": "ESRI Shapefile"}
        if encoding:
            kw["encoding"] = encoding
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _gdal_write(gdf, path, **kw)
        files = {p.name: p.read_bytes() for p in sorted(Path(tmp).iterdir())}
    dbf = bytearray(files[f"{stem}.dbf"])
    dbf[1:4] = bytes([125, 1, 1])  # last-update date 2025-01-01
    files[f"{stem}.dbf"] = bytes(dbf)
    if not prj:
        files.pop(f"{stem}.prj", None)
    return files


def write_zip(rel: str, members: dict[str, bytes], *, method: int = zipfile.ZIP_DEFLATED) -> str:
    path = out(rel)
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.compress_type = method
            info.external_attr = 0o644 << 16
            zf.writestr(info, data)
    return rel


def write_files(folder: str, members: dict[str, bytes]) -> None:
    base = HERE / folder
    base.mkdir(parents=True, exist_ok=True)
    for name, data in members.items():
        (base / name).write_bytes(data)


def cp1258(text: str) -> bytes:
    """Windows-1258 bytes of ``text``: precomposed where the code page has the letter,
    else base letter + combining tone mark (as Vietnamese Windows writes it)."""
    outb = bytearray()
    for ch in unicodedata.normalize("NFC", text):
        try:
            outb += ch.encode("cp1258")
            continue
        except UnicodeEncodeError:
            pass
        decomposed = unicodedata.normalize("NFD", ch)
        base, marks = decomposed[0], decomposed[1:]
        # the base may be a precomposed vowel of the code page (â ê ô ơ ư ă) + a tone mark
        for i in [None, *range(len(marks))]:
            head = base if i is None else unicodedata.normalize("NFC", base + marks[i])
            rest = marks if i is None else marks[:i] + marks[i + 1 :]
            try:
                outb += head.encode("cp1258") + rest.encode("cp1258")
                break
            except UnicodeEncodeError:
                continue
        else:
            raise ValueError(f"{ch!r} has no cp1258 form")
    return bytes(outb)


# ---------------------------------------------------------------------------------------------
# Zip bombs


def crc32_of_zeros(n: int) -> int:
    """CRC-32 of ``n`` zero bytes without reading them (zlib's crc32_combine method:
    appending zero bits is a linear map over GF(2), raised to the power n by squaring)."""

    def times(mat: list[int], vec: int) -> int:
        s, i = 0, 0
        while vec:
            if vec & 1:
                s ^= mat[i]
            vec >>= 1
            i += 1
        return s

    def square(mat: list[int]) -> list[int]:
        return [times(mat, mat[i]) for i in range(32)]

    odd = [0xEDB88320] + [1 << i for i in range(31)]  # one zero bit
    even = square(odd)  # two zero bits
    odd = square(even)  # four zero bits
    crc = 0xFFFFFFFF  # the pre-conditioned crc of nothing
    length = n
    while length:
        even = square(odd)
        if length & 1:
            crc = times(even, crc)
        length >>= 1
        if not length:
            break
        odd = square(even)
        if length & 1:
            crc = times(odd, crc)
        length >>= 1
    return crc ^ 0xFFFFFFFF


@dataclass
class RawEntry:
    """One member of a hand-written zip: ``chunks`` are its stored (deflated) bytes;
    ``crc``, ``csize`` and ``usize`` are what its headers declare, true or not."""

    name: str
    chunks: Iterable[bytes]
    crc: int
    csize: int
    usize: int


def raw_zip(path: Path, entries: list[RawEntry]) -> None:
    """Write a zip64 archive byte by byte with the sizes the entries declare."""
    central = bytearray()
    with open(path, "wb") as fh:
        for e in entries:
            offset = fh.tell()
            name = e.name.encode()
            z64 = struct.pack("<HHQQ", 0x0001, 16, e.usize, e.csize)
            head = (0x04034B50, 45, 0, 8, 0, 0x5A21, e.crc, 0xFFFFFFFF, 0xFFFFFFFF)
            fh.write(struct.pack("<IHHHHHIIIHH", *head, len(name), len(z64)) + name + z64)
            for chunk in e.chunks:
                fh.write(chunk)
            cz64 = struct.pack("<HHQQQ", 0x0001, 24, e.usize, e.csize, offset)
            entry = (0x02014B50, 45, 45, 0, 8, 0, 0x5A21, e.crc, 0xFFFFFFFF, 0xFFFFFFFF)
            tail = (len(name), len(cz64), 0, 0, 0, 0o644 << 16, 0xFFFFFFFF)
            central += struct.pack("<IHHHHHHIIIHHHHHII", *entry, *tail) + name + cz64
        cd_start = fh.tell()
        fh.write(central)
        cd_end = fh.tell()
        n, size = len(entries), cd_end - cd_start
        fh.write(struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, n, n, size, cd_start))
        fh.write(struct.pack("<IIQI", 0x07064B50, 0, cd_end, 1))
        fh.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, n, n, size, 0xFFFFFFFF, 0))


def deflated_entry(name: str, data: bytes, *, declared: int | None = None) -> RawEntry:
    """A deflated member; ``declared`` replaces the uncompressed size in its headers."""
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    packed = comp.compress(data) + comp.flush()
    size = len(data) if declared is None else declared
    return RawEntry(name, [packed], zlib.crc32(data), len(packed), size)


def zeros_entry(name: str, size: int) -> RawEntry:
    """A member that really inflates to ``size`` zero bytes (rounded down to whole MiB).

    The deflate stream is one full-flushed 1 MiB block of zeros repeated (a full flush
    resets the compressor, so every repeat compresses to the same bytes): about 1 kB on
    disk per MiB unpacked, written in well under a second even for gigabytes."""
    chunk = 1 << 20
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = comp.compress(bytes(chunk)) + comp.flush(zlib.Z_FULL_FLUSH)
    tail = comp.flush()
    repeats = size // chunk
    total = repeats * chunk
    chunks = itertools.chain(itertools.repeat(block, repeats), [tail])
    return RawEntry(name, chunks, crc32_of_zeros(total), len(block) * repeats + len(tail), total)


def zip_bomb(path: Path, size: int) -> Path:
    """A "Shapefile" zip whose .shp really inflates to ``size`` bytes of zeros."""
    raw_zip(
        path,
        [
            zeros_entry("villages.shp", size),
            deflated_entry("villages.shx", b""),
            deflated_entry("villages.dbf", b""),
        ],
    )
    return path


# ---------------------------------------------------------------------------------------------
# The corpus


def build() -> list[Case]:
    """Write every case's files and ``manifest.json``; return the cases."""
    CASES.clear()
    # Clean companions: every villages case is run with towers/good.csv and vice versa.
    write_csv("villages/good.csv", [V1, V2, V3])
    write_csv("towers/good.csv", [T1, T2, T3], header=TOWER_HEADER)
    accepted(
        "good_villages",
        "clean input (control)",
        "villages",
        "villages/good.csv",
        n=3,
        does="accepted as is",
        values={
            "V001": {"name": "Thôn Ba Đình", "population": 500, "electrified": True},
            "V003": {"electrified": False, "power_eta": "2025-09-20", "province_code": "11"},
        },
    )
    accepted(
        "good_towers",
        "clean input (control)",
        "towers",
        "towers/good.csv",
        n=3,
        does="accepted as is; defaults filled",
        values={
            "T-HN-1": {"operator": "Viettel", "beamwidth_deg": None, "status": "active"},
            "T-LC-1": {"beamwidth_deg": 65.0, "azimuth_deg": 120.0},
        },
    )

    # --- empty, header only ------------------------------------------------------------
    error(
        "empty_csv",
        "empty file",
        "villages",
        write_bytes("villages/empty.csv", b""),
        reason="empty file",
        does="refused: one line naming the file",
    )
    error(
        "blank_lines_csv",
        "empty file",
        "villages",
        write_bytes("villages/blank_lines.csv", b"\n  \r\n\t\n"),
        reason="empty file",
        does="refused: one line naming the file",
    )
    error(
        "empty_geojson",
        "empty file",
        "villages",
        write_bytes("villages/empty.geojson", b""),
        reason="empty file",
        does="refused before GDAL reads it",
    )
    error(
        "header_only_csv",
        "header only",
        "villages",
        write_bytes("villages/header_only.csv", (",".join(VILLAGE_HEADER) + "\n").encode()),
        reason="no data rows",
        does="refused: no data rows",
    )
    error(
        "header_only_towers",
        "header only",
        "towers",
        write_bytes("towers/header_only.csv", (",".join(TOWER_HEADER) + "\r\n").encode()),
        reason="no data rows",
        does="refused: no data rows",
    )
    error(
        "no_features_geojson",
        "header only",
        "villages",
        write_geojson("villages/no_features.geojson", []),
        reason="no data rows",
        does="refused: no data rows",
    )

    # --- encodings -----------------------------------------------------------------------
    text = csv_text(VILLAGE_HEADER, [V1, V2, V3])
    error(
        "cp1258_csv",
        "wrong encoding: cp1258",
        "villages",
        write_bytes("villages/cp1258.csv", cp1258(text)),
        reason="not UTF-8 text (byte 0xF4 on line 2)",
        does="refused naming the first bad byte and line; says how to save as UTF-8",
    )
    latin = csv_text(
        VILLAGE_HEADER, [{**V1, "name": "Thôn Hà", "province": "Ha Noi", "commune": "Ba Dinh"}]
    )
    error(
        "latin1_csv",
        "wrong encoding: latin-1",
        "villages",
        write_bytes("villages/latin1.csv", latin.encode("latin-1")),
        reason="not UTF-8 text (byte 0xF4 on line 2)",
        does="refused naming the first bad byte and line",
    )
    accepted(
        "utf8_bom_csv",
        "wrong encoding: UTF-8 with BOM",
        "villages",
        write_bytes("villages/utf8_bom.csv", b"\xef\xbb\xbf" + text.encode()),
        n=3,
        does="accepted (the BOM is dropped; the first header is village_id)",
        values={"V001": {"village_id": "V001", "name": "Thôn Ba Đình"}},
    )
    accepted(
        "utf16_csv",
        "wrong encoding: UTF-16 with BOM (Excel 'Unicode text')",
        "villages",
        write_bytes(
            "villages/utf16_tab.csv",
            csv_text(VILLAGE_HEADER, [V1, V2, V3], sep="\t", nl="\r\n").encode("utf-16"),
        ),
        n=3,
        does="accepted: decoded as the byte-order mark says (tab-delimited)",
        values={"V002": {"name": "Tổ 1 Lào Cai", "electrified": True}},
    )
    accepted(
        "mixed_newlines_csv",
        "mixed line endings",
        "villages",
        write_bytes(
            "villages/mixed_newlines.csv",
            (
                ",".join(VILLAGE_HEADER)
                + "\r\n"
                + csv_line(V1.values())
                + "\n"
                + csv_line(V2.values())
                + "\r"
                + csv_line(V3.values())
                + "\r\n"
            ).encode(),
        ),
        n=3,
        does="accepted (CR, LF and CRLF in one file)",
        values={"V003": {"power_eta": "2025-09-20", "lon": 103.17875, "lat": 22.01699}},
    )
    error(
        "nul_bytes_csv",
        "binary data in a text file",
        "villages",
        write_bytes("villages/nul_bytes.csv", text.encode().replace(b"\nV002", b"\nV\0\0\0002")),
        reason="not a text file (contains NUL bytes, first on line 3",
        does="refused: not a text file",
    )

    # --- CSV structure ---------------------------------------------------------------------
    unclosed = text.replace("Tổ 1 Lào Cai", '"Tổ 1 Lào Cai')
    error(
        "unclosed_quote_csv",
        "malformed CSV: unclosed quote",
        "villages",
        write_bytes("villages/unclosed_quote.csv", unclosed.encode()),
        reason="quoted field opened on line 3 is never closed",
        does="refused naming the line (rows after it would otherwise vanish into one field)",
    )
    long_row = text.replace("103.17875,22.01699", "103.17875,22.01699,extra,cells")
    accepted(
        "long_row_csv",
        "malformed CSV: row with extra fields",
        "villages",
        write_bytes("villages/long_row.csv", long_row.encode()),
        n=2,
        does="the row is rejected (a delimiter inside an unquoted value?)",
        rejects=[reject(3, "(row)", "18 fields", "the header has 16")],
    )
    short = text.replace(",open_rural,103.17875,22.01699", "")
    accepted(
        "short_row_csv",
        "malformed CSV: row with missing fields",
        "villages",
        write_bytes("villages/short_row.csv", short.encode()),
        n=2,
        does="the missing trailing cells are empty: the row is rejected for its coordinates",
        rejects=[reject(3, "lon/lat", "", "empty or NaN coordinates")],
    )
    error(
        "huge_field_csv",
        "resource limits: one huge field",
        "villages",
        write_csv("villages/huge_field.csv", [V1, {**V2, "name": "x" * 200_000}]),
        reason="line 3",
        does="refused naming the line (field larger than the CSV field limit)",
    )
    error(
        "missing_column_csv",
        "missing column",
        "villages",
        write_csv(
            "villages/missing_electrified.csv",
            [V1, V2],
            header=[h for h in VILLAGE_HEADER if h != "electrified"],
        ),
        column="electrified",
        reason="missing required column 'electrified'",
        does="refused naming the column and listing the columns found",
    )
    error(
        "missing_coordinates_csv",
        "missing column",
        "villages",
        write_csv(
            "villages/missing_coordinates.csv", [V1], header=[h for h in VILLAGE_HEADER[:-2]]
        ),
        column="lon",
        reason="no coordinates",
        does="refused: says which coordinate columns are accepted",
    )
    error(
        "missing_column_towers",
        "missing column",
        "towers",
        write_csv(
            "towers/missing_frequency.csv",
            [T1],
            header=[h for h in TOWER_HEADER if h != "frequency_mhz"],
        ),
        column="frequency_mhz",
        reason="missing required column 'frequency_mhz'",
        does="refused naming the column",
    )
    dup_header = [*VILLAGE_HEADER, "population"]
    error(
        "duplicate_column_csv",
        "duplicated column",
        "villages",
        write_csv("villages/duplicate_column.csv", [{**V1}], header=dup_header),
        column="population",
        reason="duplicate column name 'population' (columns 7 and 17)",
        does="refused naming both columns",
    )
    alias_header = [*VILLAGE_HEADER[:6], "pop", "dan_so", *VILLAGE_HEADER[7:]]
    error(
        "alias_clash_csv",
        "duplicated column",
        "villages",
        write_csv(
            "villages/alias_clash.csv",
            [{**V1, "pop": "500", "dan_so": "500"}],
            header=alias_header,
        ),
        column="dan_so",
        reason="columns 'pop' and 'dan_so' both mean 'population'",
        does="refused: two aliases of one column",
    )
    error(
        "towers_as_villages",
        "wrong file for the option",
        "villages",
        "towers/good.csv",
        column="village_id",
        reason="this looks like a towers file",
        does="refused: says to pass it as --towers",
    )

    # --- IDs -------------------------------------------------------------------------------
    accepted(
        "duplicate_ids_csv",
        "duplicate IDs",
        "villages",
        write_csv("villages/duplicate_ids.csv", [V1, V2, {**V3, "village_id": "V001"}]),
        n=2,
        does="later duplicates rejected naming the first row; the first is kept",
        rejects=[reject(3, "village_id", "V001", "duplicate village_id 'V001' (first at row 1)")],
        values={"V001": {"name": "Thôn Ba Đình"}},
    )
    accepted(
        "duplicate_tower_ids",
        "duplicate IDs",
        "towers",
        write_csv(
            "towers/duplicate_ids.csv",
            [T1, T2, {**T3, "tower_id": "T-HN-1"}],
            header=TOWER_HEADER,
        ),
        n=2,
        does="later duplicates rejected naming the first row",
        rejects=[reject(3, "tower_id", "T-HN-1", "duplicate tower_id 'T-HN-1' (first at row 1)")],
    )
    id_rows = [
        {**V1, "village_id": "T0001"},
        {**V2, "village_id": "0012"},
        {**V3, "village_id": "2025-01-01"},
    ]
    id_values = {
        "T0001": {"village_id": "T0001", "source_row": 1},
        "0012": {"village_id": "0012", "source_row": 2},
        "2025-01-01": {"village_id": "2025-01-01", "source_row": 3},
    }
    accepted(
        "coercible_ids_csv",
        "IDs that look like numbers or dates",
        "villages",
        write_csv("villages/coercible_ids.csv", id_rows),
        n=3,
        does="kept as text: 0012 keeps its zeros, 2025-01-01 is not a date",
        values=id_values,
    )
    accepted(
        "coercible_ids_geojson",
        "IDs that look like numbers or dates",
        "villages",
        write_geojson(
            "villages/coercible_ids.geojson",
            [
                geojson_feature(village_props(r), point(float(r["lon"]), float(r["lat"])))
                for r in id_rows
            ],
        ),
        n=3,
        does="kept as text (GDAL is told not to type dates)",
        values=id_values,
    )
    accepted(
        "coercible_ids_gpkg",
        "IDs that look like numbers or dates",
        "villages",
        write_gpkg("villages/coercible_ids.gpkg", {"villages": village_frame(id_rows)}),
        n=3,
        does="kept as text",
        values=id_values,
    )
    accepted(
        "coercible_ids_shapefile",
        "IDs that look like numbers or dates",
        "villages",
        write_zip(
            "villages/coercible_ids_shp.zip",
            shapefile_members(village_frame(id_rows), "villages", encoding="UTF-8"),
        ),
        n=3,
        does="kept as text (truncated field names mapped back)",
        values={**id_values, "0012": {"village_id": "0012", "population": 800}},
        warnings=["column 'electrifie' read as 'electrified' (Shapefile name)"],
    )

    # --- coordinates -----------------------------------------------------------------------
    accepted(
        "nan_inf_empty_coordinates",
        "NaN / inf / empty coordinates",
        "villages",
        write_csv(
            "villages/nan_inf_empty_coordinates.csv",
            [
                V1,
                {**V2, "lon": "NaN"},
                {**V3, "lat": "inf"},
                {**V1, "village_id": "V004", "lon": "", "lat": ""},
                {**V1, "village_id": "V005", "lon": "-Infinity"},
                {**V1, "village_id": "V006", "lat": "1e999"},
            ],
        ),
        n=1,
        does="each such row rejected naming the coordinate column",
        rejects=[
            reject(2, "lon", "NaN", "not a number"),
            reject(3, "lat", "inf", "not a number"),
            reject(4, "lon/lat", "", "empty or NaN coordinates"),
            reject(5, "lon", "-Infinity", "not a number"),
            reject(6, "lat", "1e999", "not a number"),
        ],
    )
    swapped_rows = [{**r, "lon": r["lat"], "lat": r["lon"]} for r in (V1, V2, V3)]
    accepted(
        "swapped_lon_lat_csv",
        "swapped lon/lat",
        "villages",
        write_csv("villages/swapped_lon_lat.csv", swapped_rows),
        n=3,
        does="swapped back on every row, with a warning",
        warnings=["longitude and latitude are swapped on every row", "swapped back"],
        values={"V001": {"lon": HA_NOI[0], "lat": HA_NOI[1]}},
    )
    accepted(
        "swapped_lon_lat_geojson",
        "swapped lon/lat",
        "villages",
        write_geojson(
            "villages/swapped_lon_lat.geojson",
            [
                geojson_feature(village_props(r), point(float(r["lat"]), float(r["lon"])))
                for r in (V1, V2, V3)
            ],
        ),
        n=3,
        does="swapped back on every row, with a warning",
        warnings=["longitude and latitude are swapped on every row"],
        values={"V002": {"lon": LAO_CAI[0], "lat": LAO_CAI[1]}},
    )
    accepted(
        "partly_swapped_csv",
        "swapped lon/lat",
        "villages",
        write_csv(
            "villages/partly_swapped.csv", [V1, V2, {**V3, "lon": V3["lat"], "lat": V3["lon"]}]
        ),
        n=2,
        does="a single swapped row is not silently swapped back: rejected, saying it looks swapped",
        rejects=[
            reject(3, "lon/lat", "22.01699 103.17875", "lon and lat look swapped on this row")
        ],
    )
    utm_rows = []
    for r, place in ((V1, HA_NOI), (V2, LAO_CAI), (V3, DIEN_BIEN)):
        x, y = utm48(place)
        utm_rows.append({**r, "lon": f"{x:.3f}", "lat": f"{y:.3f}"})
    error(
        "utm_metres_as_wgs84_csv",
        "VN-2000 UTM metres declared as EPSG:4326",
        "villages",
        write_csv("villages/utm48_metres.csv", utm_rows),
        reason="coordinates are not degrees",
        does="refused: says to pass --crs with the projected CRS (e.g. EPSG:3405)",
    )
    error(
        "utm_metres_declared_4326",
        "VN-2000 UTM metres declared as EPSG:4326",
        "villages",
        "villages/utm48_metres.csv",
        args=["--crs", "EPSG:4326"],
        reason="--crs says EPSG:4326",
        does="refused: the declared CRS contradicts the numbers",
    )
    utm_towers = []
    for t in (T1, T2, T3):
        x, y = utm48((float(t["lon"]), float(t["lat"])))
        utm_towers.append({**t, "lon": f"{x:.3f}", "lat": f"{y:.3f}"})
    write_csv("towers/utm48_metres.csv", utm_towers, header=TOWER_HEADER)
    accepted(
        "utm_metres_with_crs",
        "VN-2000 UTM metres with the right --crs (valid)",
        "villages",
        "villages/utm48_metres.csv",
        args=["--crs", "EPSG:3405"],
        companion="towers/utm48_metres.csv",  # --crs applies to both inputs
        n=3,
        does="accepted and transformed to EPSG:4326",
        values={
            "V001": {"lon": HA_NOI[0], "lat": HA_NOI[1]},
            "V003": {"lon": DIEN_BIEN[0], "lat": DIEN_BIEN[1]},
        },
        tolerance_deg=1e-5,
    )
    error(
        "degrees_declared_utm",
        "degrees declared as a projected CRS",
        "villages",
        "villages/good.csv",
        args=["--crs", "EPSG:3405"],
        reason="coordinates look like degrees",
        does="refused: says to pass --crs EPSG:4326",
    )
    error(
        "unknown_crs",
        "unknown CRS",
        "villages",
        "villages/good.csv",
        args=["--crs", "EPSG:999999"],
        reason="unknown CRS 'EPSG:999999'",
        does="refused: one line",
    )

    # Shapefiles
    frame = village_frame([V1, V2, V3])
    accepted(
        "shp_no_prj_degrees",
        "zipped Shapefile without .prj (degrees)",
        "villages",
        write_zip(
            "villages/no_prj_degrees.zip",
            shapefile_members(frame, "villages", encoding="UTF-8", prj=False),
        ),
        n=3,
        does="taken as EPSG:4326 with a warning (VN-2000 lon/lat would be ~200 m off)",
        warnings=["no CRS (e.g. a Shapefile without .prj)", "taken as EPSG:4326"],
        values={"V001": {"lon": HA_NOI[0], "lat": HA_NOI[1], "name": "Thôn Ba Đình"}},
    )
    utm_frame = village_frame(
        [V1, V2, V3],
        crs=3405,
        geometry=[Point(*utm48(p)) for p in (HA_NOI, LAO_CAI, DIEN_BIEN)],
    )
    error(
        "shp_no_prj_metres",
        "zipped Shapefile without .prj (metres)",
        "villages",
        write_zip(
            "villages/no_prj_metres.zip",
            shapefile_members(utm_frame, "villages", encoding="UTF-8", prj=False),
        ),
        reason="no CRS (e.g. a Shapefile without .prj) and the coordinates are not degrees",
        does="refused: says to pass --crs",
    )
    accepted(
        "shp_vn2000_utm_prj",
        "VN-2000 UTM with a proper .prj (valid)",
        "villages",
        write_zip(
            "villages/vn2000_utm48_prj.zip",
            shapefile_members(utm_frame, "villages", encoding="UTF-8"),
        ),
        n=3,
        does="accepted and transformed to EPSG:4326",
        values={"V002": {"lon": LAO_CAI[0], "lat": LAO_CAI[1]}},
        tolerance_deg=1e-5,
    )
    accepted(
        "shp_unzipped_prj",
        "VN-2000 UTM with a proper .prj (valid)",
        "villages",
        "villages/vn2000_utm48/villages.shp",
        n=3,
        does="accepted (a plain .shp with its sidecar files)",
        values={"V003": {"lon": DIEN_BIEN[0], "lat": DIEN_BIEN[1]}},
        tolerance_deg=1e-5,
    )
    write_files("villages/vn2000_utm48", shapefile_members(utm_frame, "villages", encoding="UTF-8"))
    members = shapefile_members(frame, "villages", encoding="UTF-8")
    dbf = members["villages.dbf"]
    truncated = {**members, "villages.dbf": dbf[: len(dbf) - 300]}
    error(
        "truncated_dbf_zip",
        "truncated .dbf",
        "villages",
        write_zip("villages/truncated_dbf.zip", truncated),
        reason="the .dbf is truncated: its header says 3 records",
        does="refused: the .dbf is shorter than its header says (GDAL drops the rows silently)",
    )
    write_files("villages/truncated_dbf", truncated)
    error(
        "truncated_dbf_plain",
        "truncated .dbf",
        "villages",
        "villages/truncated_dbf/villages.shp",
        reason="the .dbf is truncated: its header says 3 records",
        does="refused: the .dbf is shorter than its header says (GDAL drops the rows silently)",
    )
    cp_members = shapefile_members(frame, "villages", encoding="cp1258")
    no_cpg = {k: v for k, v in cp_members.items() if not k.endswith(".cpg")}
    error(
        "shp_cp1258_without_cpg",
        "wrong encoding: cp1258",
        "villages",
        write_zip("villages/cp1258_no_cpg.zip", no_cpg),
        reason="no .cpg file names its encoding",
        does="refused: says to add a .cpg (1258) or save as UTF-8",
    )
    accepted(
        "shp_cp1258_with_cpg",
        "wrong encoding: cp1258",
        "villages",
        write_zip("villages/cp1258_cpg.zip", {**no_cpg, "villages.cpg": b"1258"}),
        n=3,
        does="accepted: the .cpg names Windows-1258 and the names are decoded with it",
        values={"V001": {"name": "Thôn Ba Đình"}, "V003": {"name": "Bản Mường Lay"}},
    )
    towers_frame = gpd.GeoDataFrame(
        {
            "tower_id": ["T-HN-1", "T-LC-1"],
            "operator": ["Viettel", "VNPT"],
            "technology": ["4G", "4G"],
            "frequency_mhz": [1800.0, 1800.0],
            "bandwidth_mhz": [20.0, 20.0],
            "height_m": [30.0, 35.0],
            "tx_power_dbm": [43.0, 46.0],
            "antenna_gain_dbi": [17.0, 18.0],
            "cable_loss_db": [2.0, 3.0],
            "azimuth_deg": [None, 120.0],
            "beamwidth_deg": [None, 65.0],
        },
        geometry=[Point(105.84, 21.04), Point(104.01, 22.51)],
        crs=4326,
    )
    accepted(
        "shp_truncated_field_names",
        "Shapefile truncated field names (valid)",
        "towers",
        write_zip(
            "towers/truncated_names_shp.zip",
            shapefile_members(towers_frame, "towers", encoding="UTF-8"),
        ),
        n=2,
        does="frequency_, bandwidth_, tx_power_d, antenna_ga … mapped back with a note",
        warnings=[
            "column 'frequency_' read as 'frequency_mhz'",
            "column 'antenna_ga' read as 'antenna_gain_dbi' (Shapefile name)",
        ],
        values={
            "T-HN-1": {"frequency_mhz": 1800.0, "eirp_dbm": 58.0, "bandwidth_mhz": 20.0},
            "T-LC-1": {"eirp_dbm": 61.0, "azimuth_deg": 120.0, "beamwidth_deg": 65.0},
        },
    )

    # Zip archives
    error(
        "zip_parent_member",
        "zip member with ../ path",
        "villages",
        write_zip(
            "villages/zip_parent_member.zip",
            {f"../{k}": v for k, v in members.items()},
        ),
        reason="unsafe member name '../villages.cpg'",
        does="refused before anything is read",
    )
    error(
        "zip_absolute_member",
        "zip member with ../ path",
        "villages",
        write_zip(
            "villages/zip_absolute_member.zip",
            {f"/tmp/{k}": v for k, v in members.items()},
        ),
        reason="unsafe member name '/tmp/villages.cpg'",
        does="refused before anything is read",
    )
    raw_zip(
        out("villages/zip_bomb_declared.zip"),
        [
            deflated_entry("villages.shp", bytes(100), declared=6 * 1024**3),
            deflated_entry("villages.shx", bytes(100)),
            deflated_entry("villages.dbf", bytes(100)),
        ],
    )
    error(
        "zip_bomb_declared",
        "zip bomb",
        "villages",
        "villages/zip_bomb_declared.zip",
        reason="6442450944 bytes; limit 100×): refusing a possible zip bomb",
        does="refused from the headers before anything is inflated (size and ratio limits)",
    )
    zip_bomb(out("villages/zip_bomb_ratio.zip"), 16 * 1024**2)
    error(
        "zip_bomb_ratio",
        "zip bomb",
        "villages",
        "villages/zip_bomb_ratio.zip",
        reason="zip member 'villages.shp' expands 1",
        does="refused from the headers: compression ratio over the limit (100x)",
    )
    raw_zip(
        out("villages/zip_lying_sizes.zip"),
        [
            deflated_entry(name, data, declared=10 if name.endswith(".dbf") else None)
            for name, data in members.items()
        ],
    )
    error(
        "zip_lying_sizes",
        "zip bomb",
        "villages",
        "villages/zip_lying_sizes.zip",
        reason="zip member 'villages.dbf' is corrupt or its headers lie about it",
        does="refused: members are copied out size-capped and CRC-checked, never trusted",
    )
    raw_zip(
        out("villages/zip_disguised_bomb.zip"),
        [
            dataclasses.replace(zeros_entry("villages.shp", 16 * 1024**2), usize=100),
            deflated_entry("villages.shx", b""),
            deflated_entry("villages.dbf", b""),
        ],
    )
    error(
        "zip_disguised_bomb",
        "zip bomb",
        "villages",
        "villages/zip_disguised_bomb.zip",
        reason="zip member 'villages.shp' declares 100 bytes unpacked but holds",
        does="refused from the headers: more compressed bytes than declared unpacked ones",
    )
    error(
        "zip_empty",
        "zip without a Shapefile",
        "villages",
        write_bytes("villages/zip_empty.zip", b"PK\x05\x06" + b"\0" * 18),
        reason="empty zip archive",
        does="refused",
    )
    error(
        "zip_no_shapefile",
        "zip without a Shapefile",
        "villages",
        write_zip("villages/zip_readme_only.zip", {"README.txt": b"nothing here\n"}),
        reason="no Shapefile (.shp) in the zip archive (members: README.txt)",
        does="refused, listing the members",
    )
    error(
        "zip_not_a_zip",
        "file content does not match its suffix",
        "villages",
        write_bytes("villages/not_a_zip.zip", text.encode()),
        reason="not a valid zip archive",
        does="refused",
    )

    # GeoJSON
    accepted(
        "geojson_legacy_crs_utm",
        "GeoJSON with a legacy crs member",
        "villages",
        write_geojson(
            "villages/legacy_crs_3405.geojson",
            [
                geojson_feature(village_props(r), point(*utm48(p)))
                for r, p in ((V1, HA_NOI), (V2, LAO_CAI), (V3, DIEN_BIEN))
            ],
            crs={"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::3405"}},
        ),
        n=3,
        does="the crs member is honoured: metres transformed to EPSG:4326",
        values={"V001": {"lon": HA_NOI[0], "lat": HA_NOI[1]}},
        tolerance_deg=1e-5,
    )
    accepted(
        "geojson_legacy_crs84",
        "GeoJSON with a legacy crs member",
        "villages",
        write_geojson(
            "villages/legacy_crs84.geojson",
            [
                geojson_feature(village_props(r), point(float(r["lon"]), float(r["lat"])))
                for r in (V1, V2, V3)
            ],
            crs={"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}},
        ),
        n=3,
        does="accepted (CRS84 is lon/lat)",
        values={"V003": {"lon": DIEN_BIEN[0], "lat": DIEN_BIEN[1]}},
    )
    error(
        "geojson_legacy_crs_4326_metres",
        "VN-2000 UTM metres declared as EPSG:4326",
        "villages",
        write_geojson(
            "villages/legacy_crs_4326_metres.geojson",
            [
                geojson_feature(village_props(r), point(*utm48(p)))
                for r, p in ((V1, HA_NOI), (V2, LAO_CAI), (V3, DIEN_BIEN))
            ],
            crs={"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::4326"}},
        ),
        reason="coordinates are not degrees",
        does="refused: the declared CRS contradicts the numbers",
    )
    square = Polygon(
        [(105.83, 21.03), (105.84, 21.03), (105.84, 21.04), (105.83, 21.04), (105.83, 21.03)]
    )
    accepted(
        "geojson_non_point_geometries",
        "non-point and null geometries",
        "villages",
        write_geojson(
            "villages/non_point.geojson",
            [
                geojson_feature(village_props(V1), shapely.geometry.mapping(square)),
                geojson_feature(
                    village_props(V2),
                    shapely.geometry.mapping(LineString([(104.0, 22.5), (104.01, 22.51)])),
                ),
                geojson_feature(
                    village_props(V3),
                    shapely.geometry.mapping(GeometryCollection([Point(103.17875, 22.01699)])),
                ),
                geojson_feature(
                    village_props(V1, village_id="V004"),
                    shapely.geometry.mapping(MultiPoint([(105.8, 21.0), (105.81, 21.01)])),
                ),
            ],
        ),
        n=2,
        does="polygons and multipoints become a representative point with a warning; "
        "lines and collections are rejected",
        rejects=[
            reject(2, "geometry", "LineString", "a LineString is not a point"),
            reject(3, "geometry", "GeometryCollection", "a GeometryCollection is not a point"),
        ],
        warnings=["taken as a representative point inside each (rows 1, 4)"],
        values={"V001": {"lon": 105.835, "lat": 21.035}},
        tolerance_deg=0.0051,
    )
    accepted(
        "geojson_null_geometries",
        "non-point and null geometries",
        "villages",
        write_geojson(
            "villages/null_geometry.geojson",
            [
                geojson_feature(village_props(V1), point(*HA_NOI)),
                geojson_feature(village_props(V2), None),
                geojson_feature(village_props(V3), {"type": "Point", "coordinates": []}),
            ],
        ),
        n=1,
        does="rows without a geometry rejected",
        rejects=[
            reject(2, "geometry", "", "empty or NaN coordinates"),
            reject(3, "geometry", "", "empty or NaN coordinates"),
        ],
    )
    accepted(
        "wkt_point_empty",
        "non-point and null geometries",
        "villages",
        write_csv(
            "villages/wkt_column.csv",
            [
                {**V1, "wkt": "POINT (105.83636 21.03943)"},
                {**V2, "wkt": "POINT EMPTY"},
                {**V3, "wkt": "POINT Z (103.17875 22.01699 950)"},
                {**V1, "village_id": "V004", "wkt": "LINESTRING (1 2, 3 4"},
            ],
            header=[*VILLAGE_HEADER[:-2], "wkt"],
        ),
        n=2,
        does="POINT EMPTY is a missing location (never 0,0); bad WKT rejected; Z dropped",
        rejects=[
            reject(2, "wkt", "", "empty or NaN coordinates"),
            reject(4, "wkt", "LINESTRING (1 2, 3 4", "not valid WKT geometry"),
        ],
        warnings=["Z (height) coordinates ignored"],
        values={"V003": {"lon": DIEN_BIEN[0], "lat": DIEN_BIEN[1]}},
    )
    accepted(
        "geojson_3d_points",
        "3D points (valid)",
        "villages",
        write_geojson(
            "villages/points_3d.geojson",
            [
                geojson_feature(village_props(r), point(*p, h))
                for r, p, h in ((V1, HA_NOI, 12.0), (V2, LAO_CAI, 90.5), (V3, DIEN_BIEN, 950.0))
            ],
        ),
        n=3,
        does="accepted; the height is dropped with a warning",
        warnings=["Z (height) coordinates ignored"],
        values={"V002": {"lon": LAO_CAI[0], "lat": LAO_CAI[1]}},
    )
    accepted(
        "gpkg_3d_epsg4979",
        "3D points (valid)",
        "villages",
        write_gpkg(
            "villages/points_3d_4979.gpkg",
            {
                "villages": village_frame(
                    [V1, V2, V3],
                    crs=4979,
                    geometry=[Point(*HA_NOI, 12.0), Point(*LAO_CAI, 90.5), Point(*DIEN_BIEN, 950)],
                )
            },
        ),
        n=3,
        does="accepted (EPSG:4979 is 3D lon/lat); the height is dropped with a warning",
        warnings=["Z (height) coordinates ignored"],
        values={"V003": {"lon": DIEN_BIEN[0], "lat": DIEN_BIEN[1]}},
    )
    good_geojson = json.dumps(
        {
            "type": "FeatureCollection",
            "features": [
                geojson_feature(village_props(r), point(float(r["lon"]), float(r["lat"])))
                for r in (V1, V2, V3)
            ],
        },
        ensure_ascii=False,
    )
    error(
        "truncated_geojson",
        "truncated JSON",
        "villages",
        write_bytes("villages/truncated.geojson", good_geojson.encode()[: len(good_geojson) // 2]),
        reason="not a readable GeoJSON file",
        does="refused: one line, no traceback",
    )
    error(
        "invalid_json",
        "invalid JSON",
        "villages",
        write_bytes(
            "villages/invalid.geojson",
            b"{'type': 'FeatureCollection', 'features': [,]}\n",
        ),
        reason="not a readable GeoJSON file",
        does="refused: one line, no traceback",
    )
    error(
        "deeply_nested_json",
        "invalid JSON",
        "villages",
        write_bytes(
            "villages/deeply_nested.geojson",
            b'{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": '
            b'{"village_id": ' + b"[" * 100_000 + b"]" * 100_000 + b'}, "geometry": null}]}\n',
        ),
        reason="Too many nested objects and/or arrays",
        does="refused by the JSON parser's depth limit (no stack overflow)",
    )
    nan_json = json.dumps(
        {
            "type": "FeatureCollection",
            "features": [
                geojson_feature(village_props(V1), point(0.0, 21.0)),
                geojson_feature(village_props(V2), point(*LAO_CAI)),
            ],
        },
        ensure_ascii=False,
    ).replace("[0.0, 21.0]", "[NaN, 21.0]")
    accepted(
        "geojson_nan_coordinates",
        "NaN / inf / empty coordinates",
        "villages",
        write_bytes("villages/nan_coordinates.geojson", nan_json.encode()),
        n=1,
        does="the row is rejected (never placed at 0,0)",
        rejects=[reject(1, "geometry", "", "empty or NaN coordinates")],
    )
    error(
        "nul_in_json_string",
        "binary data in a text file",
        "villages",
        write_bytes(
            "villages/nul_in_name.geojson",
            good_geojson.replace("Tổ 1 Lào Cai", "Tổ 1\\u0000 Lào Cai").encode(),
        ),
        reason="a text value holds a NUL character (\\u0000) on line 1",
        does="refused: GDAL would cut the name at the NUL without a word",
    )
    error(
        "json_not_geojson",
        "invalid JSON",
        "villages",
        write_bytes("villages/not_geojson.json", b'{"villages": [1, 2, 3]}\n'),
        reason="not a readable GeoJSON file",
        does="refused: one line, no traceback",
    )

    # --- values ----------------------------------------------------------------------------
    accepted(
        "out_of_range_villages",
        "numbers out of range",
        "villages",
        write_csv(
            "villages/out_of_range.csv",
            [
                {**V1, "population": "-5"},
                {**V2, "measured_rsrp_dbm": "12"},
                {**V3, "measured_rsrp_dbm": "-95.5"},
                {**V1, "village_id": "V004", "households": "-1"},
                {**V1, "village_id": "V005", "population": "1e9"},
            ],
        ),
        n=1,
        does="each bad value rejected naming file, row and column",
        rejects=[
            reject(1, "population", "-5", "negative"),
            reject(2, "measured_rsrp_dbm", "12", "12 is outside -140…-44 dBm"),
            reject(4, "households", "-1", "negative"),
            reject(5, "population", "1e9", "not a whole number"),
        ],
        values={"V003": {"measured_rsrp_dbm": -95.5}},
    )
    accepted(
        "out_of_range_towers",
        "numbers out of range",
        "towers",
        write_csv(
            "towers/out_of_range.csv",
            [
                {**T1, "frequency_mhz": "1.8"},
                {**T2, "height_m": "1000"},
                T3,
                {**T1, "tower_id": "T-4", "eirp_dbm": "-3"},
                {**T1, "tower_id": "T-5", "azimuth_deg": "400"},
            ],
            header=TOWER_HEADER,
        ),
        n=1,
        does="rejected; a frequency under 10 gets the 'looks like GHz' hint with the MHz value",
        rejects=[
            reject(
                1, "frequency_mhz", "1.8", "looks like GHz: write frequency_mhz in MHz (e.g. 1800"
            ),
            reject(2, "height_m", "1000", "1000 is outside 3…150 m"),
            reject(4, "eirp_dbm", "-3", "outside 0…100 dBm"),
            reject(5, "azimuth_deg", "400", "outside 0…360"),
        ],
    )
    accepted(
        "thousands_separators",
        "thousands separators",
        "villages",
        write_csv(
            "villages/thousands.csv",
            [
                {**V1, "population": "1.200"},
                {**V2, "population": "1,200"},
                {**V3, "population": "1 200"},
            ],
        ),
        n=3,
        does="1.200, 1,200 and 1 200 read as 1200 with a warning",
        warnings=["population: thousands separator removed in 3 rows (rows 1, 2, 3)"],
        values={
            "V001": {"population": 1200},
            "V002": {"population": 1200},
            "V003": {"population": 1200},
        },
    )
    accepted(
        "not_whole_numbers",
        "thousands separators",
        "villages",
        write_csv(
            "villages/not_whole_numbers.csv",
            [
                {**V1, "population": "2.5"},
                {**V2, "population": "khoảng 500"},
                {**V3, "population": "1.2000"},
            ],
        ),
        n=0,
        does="2.5, 'khoảng 500' and 1.2000 rejected (never rounded or guessed)",
        rejects=[
            reject(1, "population", "2.5", "not a whole number"),
            reject(2, "population", "khoảng 500", "not a whole number"),
            reject(3, "population", "1.2000", "not a whole number"),
        ],
    )
    accepted(
        "electricity_spellings",
        "electricity spellings",
        "villages",
        write_csv(
            "villages/electricity_spellings.csv",
            [
                {**V1, "electrified": "CÓ"},
                {**V2, "electrified": unicodedata.normalize("NFD", "Không")},
                {**V3, "electrified": "True"},
                {**V1, "village_id": "V004", "electrified": "chưa"},
                {**V1, "village_id": "V005", "electrified": "maybe"},
                {**V1, "village_id": "V006", "electrified": ""},
                {**V1, "village_id": "V007", "electrified": "2"},
            ],
        ),
        n=3,
        does="yes/no, có/không, true/false, 1/0 in any case or Unicode form; anything else "
        "rejected, never taken as false",
        rejects=[
            reject(4, "electrified", "chưa", "not a yes/no value"),
            reject(5, "electrified", "maybe", "not a yes/no value"),
            reject(6, "electrified", "", "missing value"),
            reject(7, "electrified", "2", "not a yes/no value"),
        ],
        values={
            "V001": {"electrified": True},
            "V002": {"electrified": False},
            "V003": {"electrified": True},
        },
    )
    accepted(
        "unknown_operators_towers",
        "unknown operators",
        "towers",
        write_csv(
            "towers/operators.csv",
            [
                {**T1, "operator": "Viettel Telecom"},
                {**T2, "operator": "VinaPhone"},
                {**T3, "operator": "Gmobile"},
                {**T1, "tower_id": "T-4", "operator": "Beeline"},
                {**T1, "tower_id": "T-5", "operator": ""},
            ],
            header=TOWER_HEADER,
        ),
        n=2,
        does="aliases mapped with a warning (VinaPhone -> VNPT); unknown names rejected",
        rejects=[
            reject(3, "operator", "Gmobile", "unknown operator"),
            reject(4, "operator", "Beeline", "unknown operator"),
            reject(5, "operator", "", "missing value"),
        ],
        warnings=["operator alias read as"],
        values={"T-HN-1": {"operator": "Viettel"}, "T-LC-1": {"operator": "VNPT"}},
    )
    accepted(
        "unknown_operator_villages",
        "unknown operators",
        "villages",
        write_csv(
            "villages/assigned_operator.csv",
            [
                {**V1, "assigned_operator": "mobifone"},
                {**V2, "assigned_operator": "S-Fone"},
                V3,
            ],
        ),
        n=2,
        does="alias mapped with a warning; unknown rejected",
        rejects=[reject(2, "assigned_operator", "S-Fone", "unknown operator")],
        values={"V001": {"assigned_operator": "MobiFone"}, "V003": {"assigned_operator": None}},
    )
    accepted(
        "unknown_technology",
        "unknown vocabulary",
        "towers",
        write_csv(
            "towers/technology.csv",
            [{**T1, "technology": "LTE"}, {**T2, "technology": "6G"}, T3],
            header=TOWER_HEADER,
        ),
        n=2,
        does="LTE read as 4G with a note; 6G rejected listing the accepted values",
        rejects=[reject(2, "technology", "6G", "unknown technology (expected one of 2G, 3G")],
        values={"T-HN-1": {"technology": "4G"}},
    )
    accepted(
        "dates",
        "dates",
        "villages",
        write_csv(
            "villages/dates.csv",
            [
                {**V1, "power_eta": "02/03/2026"},
                {**V2, "power_eta": "31/02/2026"},
                {**V3, "power_eta": "2025-13-01"},
                {**V1, "village_id": "V004", "power_eta": "March 2026"},
                {**V1, "village_id": "V005", "power_eta": "2025-09-20T00:00:00"},
                {**V1, "village_id": "V006", "power_eta": "03-04-25"},
            ],
        ),
        n=2,
        does="ISO dates as is; dd/mm/yyyy read day first with a warning; impossible or "
        "ambiguous dates rejected",
        rejects=[
            reject(2, "power_eta", "31/02/2026", "impossible date"),
            reject(3, "power_eta", "2025-13-01", "impossible date"),
            reject(4, "power_eta", "March 2026", "not a date"),
            reject(6, "power_eta", "03-04-25", "not a date"),
        ],
        warnings=["read day first (dd/mm/yyyy)"],
        values={"V001": {"power_eta": "2026-03-02"}, "V005": {"power_eta": "2025-09-20"}},
    )
    accepted(
        "semicolon_decimal_comma",
        "semicolon CSV with decimal commas (valid)",
        "villages",
        write_bytes(
            "villages/semicolon_decimal_comma.csv",
            b"\xef\xbb\xbf"
            + csv_text(
                VILLAGE_HEADER,
                [
                    {**V1, "lon": "105,83636", "lat": "21,03943", "measured_rsrp_dbm": "-95,5"},
                    {**V2, "lon": "104,00493", "lat": "22,50618", "population": "1.200"},
                    {**V3, "lon": "103,17875", "lat": "22,01699"},
                ],
                sep=";",
                nl="\r\n",
            ).encode(),
        ),
        n=3,
        does="accepted (Vietnamese Excel): ';' delimiter, ',' decimal mark, '.' thousands",
        warnings=["thousands separator removed"],
        values={
            "V001": {"lon": HA_NOI[0], "lat": HA_NOI[1], "measured_rsrp_dbm": -95.5},
            "V002": {"population": 1200},
        },
    )
    accepted(
        "vietnamese_headers",
        "column aliases (valid)",
        "villages",
        write_csv(
            "villages/vietnamese_headers.csv",
            [{**V1, "Kinh độ": V1["lon"], "Vĩ độ": V1["lat"], "Mã thôn": "V001", "dan_so": "500"}],
            header=[
                "Mã thôn",
                *VILLAGE_HEADER[1:6],
                "dan_so",
                *VILLAGE_HEADER[7:14],
                "Kinh độ",
                "Vĩ độ",
            ],
        ),
        n=1,
        does="aliases (Mã thôn, dan_so, Kinh độ, Vĩ độ) mapped with a note",
        warnings=["column 'Kinh độ' read as 'lon'"],
        values={"V001": {"population": 500, "lon": HA_NOI[0]}},
    )

    # --- where the points are -------------------------------------------------------------
    outside = [
        V1,
        {**V2, "village_id": "SEA", "lon": "109.9", "lat": "14.0"},
        {**V2, "village_id": "LAOS", "lon": "102.6", "lat": "17.9667"},
        {**V2, "village_id": "CHINA", "lon": "108.3665", "lat": "22.817"},
        {**V2, "village_id": "CAMBODIA", "lon": "104.916", "lat": "11.556"},
        {**V2, "village_id": "KUNMING", "lon": "102.71", "lat": "25.04"},
    ]
    accepted(
        "outside_vietnam_boundaries",
        "points at sea or in a neighbouring country",
        "villages",
        write_csv("villages/outside_vietnam.csv", outside),
        boundaries=True,
        n=1,
        does="with --boundaries: rejected when more than 2 km from every province",
        rejects=[
            reject(r, "lon/lat", v, "outside Vietnam: in the sea or a neighbouring country")
            for r, v in (
                (2, "109.900000 14.000000"),
                (3, "102.600000 17.966700"),
                (4, "108.366500 22.817000"),
                (5, "104.916000 11.556000"),
                (6, "102.710000 25.040000"),
            )
        ],
    )
    accepted(
        "outside_vietnam_bbox_only",
        "points at sea or in a neighbouring country",
        "villages",
        "villages/outside_vietnam.csv",
        n=5,
        does="without boundaries only the bounding boxes are checked, and the run says so",
        rejects=[reject(6, "lon/lat", "102.710000 25.040000", "outside Vietnam's bounding boxes")],
        warnings=["no boundaries file: only Vietnam's bounding boxes were checked"],
    )

    # --- names -----------------------------------------------------------------------------
    nfd = unicodedata.normalize("NFD", "Bản Mường Lay")
    accepted(
        "nfd_zero_width_names",
        "NFD and zero-width characters in names",
        "villages",
        write_csv(
            "villages/nfd_zero_width.csv",
            [
                {**V1, "name": "Thôn\u200b Ba\u200d Đình\ufeff"},
                {**V2, "name": "T\u00adổ 1 Lào\u2060 Cai"},
                {**V3, "name": nfd},
                {**V1, "village_id": "V\u200b004", "name": "e\u200b\u0301"},
            ],
        ),
        n=4,
        does="names NFC-normalised and zero-width characters removed, otherwise kept",
        values={
            "V001": {"name": "Thôn Ba Đình"},
            "V002": {"name": "Tổ 1 Lào Cai"},
            "V003": {"name": "Bản Mường Lay"},
            "V004": {"name": "é"},
        },
    )
    hostile = [
        "<script>alert(1)</script>",
        "${alert(1)}",
        "{{7*7}}",
        "</textarea><img src=x onerror=alert(2)>",
        '=HYPERLINK("http://x","y")',
        "{% include '/etc/passwd' %}",
        "'; DROP TABLE villages; --",
    ]
    accepted(
        "markup_injection_names",
        "markup and template injection in names",
        "villages",
        write_csv(
            "villages/injection_names.csv",
            [{**V1, "village_id": f"X{i}", "name": s} for i, s in enumerate(hostile)],
        ),
        n=len(hostile),
        does="accepted as text, unchanged (escaped only in display formats)",
        values={f"X{i}": {"name": s} for i, s in enumerate(hostile)},
    )

    accepted(
        "console_markup_in_values",
        "markup and template injection in names",
        "villages",
        write_csv(
            "villages/console_markup.csv",
            [
                {**V1, "village_id": "[/]", "name": "[bold red]Thôn[/bold red]", "[/]": "x"},
                {**V2, "village_id": "[/]", "[/]": "y"},
                {**V3, "[/]": "z"},
            ],
            header=[*VILLAGE_HEADER, "[/]"],
        ),
        n=2,
        does="printed literally in the summary (console markup is not interpreted)",
        rejects=[reject(2, "village_id", "[/]", "duplicate village_id '[/]' (first at row 1)")],
        warnings=["columns not in the villages contract, ignored: [/]"],
        values={"[/]": {"name": "[bold red]Thôn[/bold red]"}},
    )

    accepted(
        "console_emoji_codes",
        "markup and template injection in names",
        "villages",
        write_csv(
            "villages/console_emoji.csv",
            [{**V1, ":fire:": "x"}, {**V2, "village_id": ":warning:", ":fire:": "y"}],
            header=[*VILLAGE_HEADER, ":fire:"],
        ),
        n=2,
        does="printed literally in the summary (':fire:' is not turned into an emoji)",
        warnings=["columns not in the villages contract, ignored: :fire:"],
        values={":warning:": {"name": "Tổ 1 Lào Cai"}},
    )

    # --- GeoPackage ----------------------------------------------------------------------
    error(
        "gpkg_several_layers",
        "GeoPackage with several layers",
        "villages",
        write_gpkg(
            "villages/two_layers.gpkg",
            {"north": village_frame([V2, V3]), "south": village_frame([V1])},
        ),
        reason="GeoPackage has 2 layers (north, south): choose one",
        does="refused, naming the layers (never the first silently)",
    )
    path = out("villages/no_layers.gpkg")
    write_gpkg("villages/no_layers.gpkg", {"v": village_frame([V1])})
    con = sqlite3.connect(path)
    con.execute("DELETE FROM gpkg_contents")
    con.execute("DELETE FROM gpkg_geometry_columns")
    con.execute("DROP TABLE v")
    con.commit()
    con.close()
    compact(path)
    error(
        "gpkg_no_layers",
        "GeoPackage with no layers",
        "villages",
        "villages/no_layers.gpkg",
        reason="GeoPackage has no layers (empty)",
        does="refused (GDAL alone says 'not a supported format')",
    )
    error(
        "gpkg_not_sqlite",
        "file content does not match its suffix",
        "villages",
        write_bytes("villages/not_sqlite.gpkg", text.encode()),
        reason="not a GeoPackage (no SQLite header)",
        does="refused",
    )

    # --- unsupported ---------------------------------------------------------------------
    error(
        "unsupported_xlsx",
        "unsupported format",
        "villages",
        write_bytes("villages/villages.xlsx", b"PK\x03\x04 not really a workbook"),
        reason="unsupported file type '.xlsx'",
        does="refused, listing the supported suffixes",
    )
    error(
        "folder_not_file",
        "missing file",
        "villages",
        "villages/vn2000_utm48",
        reason="is a folder, not a file",
        does="refused",
    )
    error(
        "missing_file",
        "missing file",
        "villages",
        "villages/does_not_exist.csv",
        reason="file not found",
        does="refused",
    )

    manifest = {
        "about": "Bad-input corpus: each case is run with `covgap validate` "
        "(see README.md and tests/test_badinputs.py).",
        "companions": {"villages": "villages/good.csv", "towers": "towers/good.csv"},
        "cases": [c.manifest() for c in CASES],
    }
    (HERE / "manifest.json").write_text(
        json.dumps(manifest, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
    )
    return list(CASES)


def main(argv: list[str]) -> int:
    for sub in ("villages", "towers"):
        folder = HERE / sub
        if folder.exists():
            shutil.rmtree(folder)
    cases = build()
    counts: dict[str, int] = {}
    for c in cases:
        counts[c.outcome] = counts.get(c.outcome, 0) + 1
    size = sum(p.stat().st_size for p in HERE.rglob("*") if p.is_file())
    print(f"{len(cases)} cases {counts}; corpus {size / 1024:.0f} KiB in {HERE}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
