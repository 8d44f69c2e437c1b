"""Loaders (covgap.io) through real files written to tmp_path and read back with pyogrio.

Every format must give the same canonical frame (written out by hand below); IDs that look
like numbers or dates stay text; bad files raise one error naming the file; bad rows become
rejects naming file, row and column."""

from __future__ import annotations

import sqlite3
import time
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from covgap import io as vio
from covgap.errors import CovgapError, InputFileError, Reject, SchemaError, UsageError

pytestmark = [
    pytest.mark.filterwarnings("ignore:Column names longer than 10 characters"),
    pytest.mark.filterwarnings("ignore:Normalized/laundered field name"),
]

IDS = ["T0001", "0012", "2025-01-01"]
LON = [104.00493, 105.81685, 103.17875]
LAT = [22.50618, 21.03942, 22.01699]
VILLAGE_HEADER = "village_id,name,province_code,province,population,electrified,lon,lat"


def _typed_villages() -> gpd.GeoDataFrame:
    """Three villages as a producer would write them (typed columns, EPSG:4326)."""
    return gpd.GeoDataFrame(
        {
            "village_id": IDS,
            "name": ["Bản Khoà", "Thôn Ngọc Hà", "Bản Mường Lay"],
            "province_code": ["15", "01", "11"],
            "province": ["Lào Cai", "Hà Nội", "Điện Biên"],
            "commune_code": ["02647", "00008", None],
            "commune": ["Phường Lào Cai", "Phường Ngọc Hà", None],
            "population": [1200, 300, 0],
            "households": [250.0, np.nan, 95.0],
            "electrified": [True, False, False],
            "power_eta": [None, "2025-10-15", "2025-09-20"],
            "assigned_operator": ["Viettel", None, "VNPT"],
            "measured_rsrp_dbm": [-112.5, np.nan, np.nan],
            "measured_operator": ["Viettel", None, None],
            "clutter": ["open_rural", None, "suburban"],
        },
        geometry=gpd.points_from_xy(LON, LAT),
        crs="EPSG:4326",
    )


def _expected_villages() -> pd.DataFrame:
    """The canonical frame (DESIGN §3 and the brief), by hand."""
    return pd.DataFrame(
        {
            "village_id": pd.Series(IDS, dtype="str"),
            "name": pd.Series(["Bản Khoà", "Thôn Ngọc Hà", "Bản Mường Lay"], dtype="str"),
            "province_code": pd.Series(["15", "01", "11"], dtype="str"),
            "province": pd.Series(["Lào Cai", "Hà Nội", "Điện Biên"], dtype="str"),
            "commune_code": pd.Series(["02647", "00008", None], dtype="str"),
            "commune": pd.Series(["Phường Lào Cai", "Phường Ngọc Hà", None], dtype="str"),
            "population": pd.Series([1200, 300, 0], dtype="int64"),
            "households": pd.array([250, None, 95], dtype="Int64"),
            "electrified": pd.Series([True, False, False], dtype=bool),
            "power_eta": pd.Series(
                [None, "2025-10-15", "2025-09-20"], dtype="datetime64[ns]"
            ).astype("datetime64[s]"),
            "assigned_operator": pd.Series(["Viettel", None, "VNPT"], dtype="str"),
            "measured_rsrp_dbm": pd.Series([-112.5, np.nan, np.nan], dtype="float64"),
            "measured_operator": pd.Series(["Viettel", None, None], dtype="str"),
            "clutter": pd.Series(["open_rural", None, "suburban"], dtype="str"),
            "source_row": pd.Series([1, 2, 3], dtype="int64"),
        }
    )


def _assert_canonical(result: vio.LoadResult) -> None:
    gdf = result.gdf
    assert gdf.crs.to_epsg() == 4326
    assert list(gdf.index) == [0, 1, 2]
    pd.testing.assert_frame_equal(pd.DataFrame(gdf.drop(columns="geometry")), _expected_villages())
    assert gdf.geometry.x.tolist() == pytest.approx(LON, abs=1e-9)
    assert gdf.geometry.y.tolist() == pytest.approx(LAT, abs=1e-9)
    assert result.rejects == ()
    assert result.n_read == 3


def _csv_text() -> str:
    return (
        "village_id,name,province_code,province,commune_code,commune,population,households,"
        "electrified,power_eta,assigned_operator,measured_rsrp_dbm,measured_operator,clutter,"
        "lon,lat\n"
        "T0001,Bản Khoà,15,Lào Cai,02647,Phường Lào Cai,1200,250,true,,Viettel,-112.5,Viettel,"
        "open_rural,104.00493,22.50618\n"
        "0012,Thôn Ngọc Hà,01,Hà Nội,00008,Phường Ngọc Hà,300,,false,2025-10-15,,,,,"
        "105.81685,21.03942\n"
        "2025-01-01,Bản Mường Lay,11,Điện Biên,,,0,95,false,2025-09-20,VNPT,,,suburban,"
        "103.17875,22.01699\n"
    )


# --- round trips ---------------------------------------------------------------------------


def test_csv_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "villages.csv"
    path.write_text(_csv_text(), encoding="utf-8")
    result = vio.load_villages(path)
    _assert_canonical(result)
    assert result.path == path


def test_geojson_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "villages.geojson"
    _typed_villages().to_file(path, driver="GeoJSON")
    _assert_canonical(vio.load_villages(path))


def test_gpkg_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "villages.gpkg"
    _typed_villages().to_file(path, layer="villages", driver="GPKG")
    _assert_canonical(vio.load_villages(path))


def test_gpkg_with_a_real_date_column(tmp_path: Path) -> None:
    gdf = _typed_villages()
    gdf["power_eta"] = pd.to_datetime(gdf["power_eta"])
    path = tmp_path / "villages.gpkg"
    gdf.to_file(path, layer="villages", driver="GPKG")
    _assert_canonical(vio.load_villages(path))


def test_shapefile_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "villages.shp"
    _typed_villages().to_file(path)  # long names truncated: electrifie, measured_r …
    result = vio.load_villages(path)
    _assert_canonical(result)
    assert any("'electrifie' read as 'electrified'" in w for w in result.warnings)


def test_zipped_shapefile_round_trip(tmp_path: Path) -> None:
    shp = tmp_path / "shp"
    shp.mkdir()
    _typed_villages().to_file(shp / "villages.shp")
    zpath = tmp_path / "villages.zip"
    with zipfile.ZipFile(zpath, "w", zipfile.ZIP_DEFLATED) as zf:
        for f in sorted(shp.iterdir()):
            zf.write(f, f"villages/{f.name}")
    _assert_canonical(vio.load_villages(zpath))


def test_geoparquet_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "villages.parquet"
    _typed_villages().to_parquet(path)
    _assert_canonical(vio.load_villages(path))


def test_plain_parquet_with_lon_lat_columns(tmp_path: Path) -> None:
    gdf = _typed_villages()
    frame = pd.DataFrame(gdf.drop(columns="geometry"))
    frame["lon"], frame["lat"] = LON, LAT
    path = tmp_path / "villages.parquet"
    frame.to_parquet(path)
    _assert_canonical(vio.load_villages(path))


@pytest.mark.parametrize("suffix", [".csv", ".geojson", ".gpkg", ".shp", ".zip", ".parquet"])
def test_ids_stay_text(tmp_path: Path, suffix: str) -> None:
    gdf = _typed_villages()
    if suffix == ".csv":
        path = tmp_path / "v.csv"
        path.write_text(_csv_text(), encoding="utf-8")
    elif suffix == ".zip":
        gdf.to_file(tmp_path / "v.shp")
        path = tmp_path / "v.zip"
        with zipfile.ZipFile(path, "w") as zf:
            for f in sorted(tmp_path.glob("v.*")):
                if f != path:
                    zf.write(f, f.name)
    elif suffix == ".parquet":
        path = tmp_path / "v.parquet"
        gdf.to_parquet(path)
    else:
        path = tmp_path / f"v{suffix}"
        gdf.to_file(path)
    ids = vio.load_villages(path).gdf["village_id"].tolist()
    assert ids == IDS
    assert all(type(i) is str for i in ids)


def test_numeric_id_fields_become_text_without_decimals(tmp_path: Path) -> None:
    gdf = _typed_villages()
    gdf["village_id"] = [12, 7, 300]
    gdf["population"] = [1200.0, 300.0, 0.0]
    path = tmp_path / "v.gpkg"
    gdf.to_file(path)
    out = vio.load_villages(path).gdf
    assert out["village_id"].tolist() == ["12", "7", "300"]
    assert out["population"].tolist() == [1200, 300, 0]


# --- CSV dialects --------------------------------------------------------------------------


def test_semicolon_csv_with_decimal_commas(tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    path.write_text(
        "village_id;name;province_code;province;population;electrified;measured_rsrp_dbm;lon;lat\n"
        "0012;Thôn Ngọc Hà;01;Hà Nội;1.200;Có;-112,5;105,81685;21,03942\n",
        encoding="utf-8",
    )
    result = vio.load_villages(path)
    row = result.gdf.iloc[0]
    assert row["village_id"] == "0012"
    assert row["population"] == 1200
    assert row["measured_rsrp_dbm"] == pytest.approx(-112.5, abs=1e-12)
    assert (row.geometry.x, row.geometry.y) == pytest.approx((105.81685, 21.03942), abs=1e-12)
    assert any(w.startswith(f"{path}:1:population: thousands separator") for w in result.warnings)


@pytest.mark.parametrize("newline", ["\r\n", "\r", "\n"])
def test_bom_and_line_endings(tmp_path: Path, newline: str) -> None:
    path = tmp_path / "v.csv"
    path.write_bytes(("\ufeff" + _csv_text().replace("\n", newline)).encode("utf-8"))
    _assert_canonical(vio.load_villages(path))


def test_not_utf8_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "v.csv"
    path.write_bytes((VILLAGE_HEADER + "\nV1,Thôn A,01,Ha Noi,10,1,105.8,21.0\n").encode("cp1258"))
    with pytest.raises(InputFileError) as info:
        vio.load_villages(path)
    assert info.value.file == str(path)
    assert "not UTF-8" in info.value.reason and "line 2" in info.value.reason


def test_wkt_column_with_point_empty(tmp_path: Path) -> None:
    path = tmp_path / "v.csv"
    path.write_text(
        "village_id,name,province_code,province,population,electrified,wkt\n"
        'V1,A,01,Hà Nội,10,có,"POINT (105.8 21.0)"\n'
        "V2,B,01,Hà Nội,10,có,POINT EMPTY\n"
        "V3,C,01,Hà Nội,10,có,POINT (105.8\n",
        encoding="utf-8",
    )
    result = vio.load_villages(path)
    assert result.gdf["village_id"].tolist() == ["V1"]
    assert [(r.row, r.column, r.reason) for r in result.rejects] == [
        (2, "wkt", "empty or NaN coordinates"),
        (3, "wkt", "not valid WKT geometry"),
    ]


def test_row_with_too_many_fields(tmp_path: Path) -> None:
    path = tmp_path / "v.csv"
    path.write_text(
        VILLAGE_HEADER + "\nV1,A,01,Hà Nội,10,có,105.8,21.0\nV2,B,01,Hà Nội,1,200,có,105.8,21.0\n",
        encoding="utf-8",
    )
    result = vio.load_villages(path)
    assert result.gdf["village_id"].tolist() == ["V1"]
    assert [(r.row, r.column) for r in result.rejects] == [(2, "(row)")]
    assert "row has 9 fields, the header has 8" in result.rejects[0].reason


def test_csv_without_coordinates(tmp_path: Path) -> None:
    path = tmp_path / "v.csv"
    path.write_text(
        "village_id,name,province_code,province,population,electrified\nV1,A,01,Hà Nội,10,có\n",
        encoding="utf-8",
    )
    with pytest.raises(SchemaError) as info:
        vio.load_villages(path)
    assert info.value.file == str(path)
    assert "no coordinates" in info.value.reason and "kinh_do" in info.value.reason


def test_shapefile_without_cpg_keeps_vietnamese_text(tmp_path: Path) -> None:
    _typed_villages().to_file(tmp_path / "v.shp")
    (tmp_path / "v.cpg").unlink()
    names = vio.load_villages(tmp_path / "v.shp").gdf["name"].tolist()
    assert names == ["Bản Khoà", "Thôn Ngọc Hà", "Bản Mường Lay"]


def test_shapefile_in_cp1258(tmp_path: Path) -> None:
    names = ["Thôn Đồng", "Bản Nà"]
    # Windows-1258 has ô, Đ, à precomposed but writes most tones as combining marks.
    in_cp1258 = ["Thôn Đô\u0300ng", "Ba\u0309n Nà"]
    gdf = gpd.GeoDataFrame(
        {
            "village_id": ["V1", "V2"],
            "name": names,
            "province_code": ["01", "01"],
            "province": ["Ha Noi", "Ha Noi"],
            "population": [10, 20],
            "electrified": ["yes", "no"],
        },
        geometry=gpd.points_from_xy([105.81685, 105.82], [21.03942, 21.04]),
        crs="EPSG:4326",
    )
    gdf.to_file(tmp_path / "v.shp")  # UTF-8; re-encoded by hand below (same field width)
    dbf = tmp_path / "v.dbf"
    data = dbf.read_bytes()
    for name, legacy in zip(names, in_cp1258, strict=True):
        utf8, cp = name.encode(), legacy.encode("cp1258")
        data = data.replace(utf8, cp + b" " * (len(utf8) - len(cp)))
    dbf.write_bytes(data)
    (tmp_path / "v.cpg").write_text("1258", encoding="ascii")
    assert vio.load_villages(tmp_path / "v.shp").gdf["name"].tolist() == names  # NFC again
    (tmp_path / "v.cpg").unlink()
    with pytest.raises(InputFileError) as info:
        vio.load_villages(tmp_path / "v.shp")
    assert info.value.file == str(tmp_path / "v.shp")
    assert "not UTF-8 and no .cpg" in info.value.reason


def test_geopackage_inside_a_zip(tmp_path: Path) -> None:
    gpkg = tmp_path / "v.gpkg"
    _typed_villages().to_file(gpkg, layer="villages")
    zpath = tmp_path / "v.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        zf.write(gpkg, "data/v.gpkg")
    _assert_canonical(vio.load_villages(zpath))


# --- GDAL traps ----------------------------------------------------------------------------


def test_empty_and_nan_geometries_are_rejected(tmp_path: Path) -> None:
    gdf = _typed_villages()
    gdf.geometry = [shapely.Point(LON[0], LAT[0]), shapely.Point(), None]
    path = tmp_path / "v.gpkg"
    gdf.to_file(path)
    result = vio.load_villages(path)
    assert result.gdf["village_id"].tolist() == ["T0001"]
    assert [(r.row, r.column, r.reason) for r in result.rejects] == [
        (2, "geometry", "empty or NaN coordinates"),
        (3, "geometry", "empty or NaN coordinates"),
    ]

    csv_path = tmp_path / "nan.csv"
    csv_path.write_text(
        VILLAGE_HEADER + "\nV1,A,01,Hà Nội,10,có,nan,21.0\nV2,B,01,Hà Nội,10,có,,\n",
        encoding="utf-8",
    )
    rejects = vio.load_villages(csv_path).rejects
    assert [(r.row, r.column) for r in rejects] == [(1, "lon"), (2, "lon/lat")]


def test_null_geometries_in_geojson_are_rejected_rows(tmp_path: Path) -> None:
    gdf = _typed_villages()
    gdf.geometry = [None, None, None]
    path = tmp_path / "v.geojson"
    gdf.to_file(path)
    result = vio.load_villages(path)
    assert len(result.gdf) == 0
    assert [(r.row, r.reason) for r in result.rejects] == [
        (i, "empty or NaN coordinates") for i in (1, 2, 3)
    ]


def test_polygons_become_representative_points_with_a_warning(tmp_path: Path) -> None:
    gdf = _typed_villages()
    square = shapely.box(LON[1] - 0.01, LAT[1] - 0.01, LON[1] + 0.01, LAT[1] + 0.01)
    gdf.geometry = [
        shapely.Point(LON[0], LAT[0]),
        square,
        shapely.LineString([(LON[2], LAT[2]), (LON[2] + 0.01, LAT[2])]),
    ]
    path = tmp_path / "v.gpkg"
    gdf.to_file(path)
    result = vio.load_villages(path)
    assert result.gdf["village_id"].tolist() == ["T0001", "0012"]
    assert square.contains(result.gdf.geometry.iloc[1])
    assert any("Polygon" in w and "representative point" in w for w in result.warnings)
    assert [(r.row, r.reason) for r in result.rejects] == [
        (3, "a LineString is not a point: villages are points")
    ]


def test_rows_are_numbered_from_1_in_every_format(tmp_path: Path) -> None:
    gdf = _typed_villages()
    gdf["electrified"] = ["yes", "maybe", "no"]
    for name in ("v.shp", "v.gpkg", "v.geojson"):
        gdf.to_file(tmp_path / name)
        rejects = vio.load_villages(tmp_path / name).rejects
        assert [(r.row, r.value) for r in rejects] == [(2, "maybe")], name


# --- file-level errors ---------------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.csv"
    with pytest.raises(InputFileError) as info:
        vio.load_villages(path)
    assert info.value.line() == f"error: {path}: file not found"


@pytest.mark.parametrize("name", ["empty.csv", "empty.geojson", "empty.gpkg", "empty.zip"])
def test_empty_file(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(b"")
    with pytest.raises(InputFileError) as info:
        vio.load_villages(path)
    assert info.value.reason == "empty file" and info.value.file == str(path)


def test_header_only_has_no_data_rows(tmp_path: Path) -> None:
    path = tmp_path / "v.csv"
    path.write_text(VILLAGE_HEADER + "\n\n", encoding="utf-8")
    with pytest.raises(InputFileError) as info:
        vio.load_villages(path)
    assert info.value.reason == "no data rows"

    gj = tmp_path / "v.geojson"
    gj.write_text('{"type": "FeatureCollection", "features": []}', encoding="utf-8")
    with pytest.raises(InputFileError, match="no data rows"):
        vio.load_villages(gj)


def test_unsupported_extension(tmp_path: Path) -> None:
    path = tmp_path / "villages.xlsx"
    path.write_bytes(b"PK\x03\x04")
    with pytest.raises(InputFileError) as info:
        vio.load_villages(path)
    assert "unsupported file type '.xlsx'" in info.value.reason


def test_missing_column_names_it_and_lists_the_found_ones(tmp_path: Path) -> None:
    path = tmp_path / "v.csv"
    path.write_text("village_id,name,province,lon,lat\nV1,A,Hà Nội,105.8,21.0\n")
    with pytest.raises(SchemaError) as info:
        vio.load_villages(path)
    err = info.value
    assert (err.file, err.column) == (str(path), "province_code")
    assert "found: village_id, name, province, lon, lat" in err.reason


def test_towers_file_passed_as_villages(tmp_path: Path) -> None:
    path = tmp_path / "towers.csv"
    path.write_text(
        "tower_id,operator,technology,frequency_mhz,height_m,eirp_dbm,lon,lat\n"
        "T1,Viettel,4G,1800,30,60,105.8,21.0\n"
    )
    with pytest.raises(SchemaError) as info:
        vio.load_villages(path)
    assert (
        "looks like a towers file (has tower_id, operator, frequency_mhz); pass it as --towers"
        in info.value.reason
    )


def test_villages_file_passed_as_towers(tmp_path: Path) -> None:
    path = tmp_path / "v.csv"
    path.write_text(_csv_text(), encoding="utf-8")
    with pytest.raises(SchemaError) as info:
        vio.load_towers(path)
    assert "looks like a villages file" in info.value.reason
    assert "pass it as --villages" in info.value.reason


def test_multi_layer_geopackage_needs_a_layer(tmp_path: Path) -> None:
    path = tmp_path / "v.gpkg"
    gdf = _typed_villages()
    gdf.to_file(path, layer="north")
    gdf.iloc[:1].to_file(path, layer="south")
    with pytest.raises(InputFileError) as info:
        vio.load_villages(path)
    assert "2 layers (north, south)" in info.value.reason and "--layer" in info.value.reason
    assert len(vio.load_villages(path, layer="south").gdf) == 1
    with pytest.raises(InputFileError, match=r"no layer 'east'.*north, south"):
        vio.load_villages(path, layer="east")


def test_layerless_geopackage(tmp_path: Path) -> None:
    path = tmp_path / "v.gpkg"
    _typed_villages().to_file(path, layer="v")
    con = sqlite3.connect(path)
    con.execute("DELETE FROM gpkg_contents")
    con.execute("DELETE FROM gpkg_geometry_columns")
    con.execute("DROP TABLE v")
    con.commit()
    con.close()
    with pytest.raises(InputFileError) as info:
        vio.load_villages(path)
    assert info.value.reason == "GeoPackage has no layers (empty)"


def test_layer_option_on_a_csv_is_a_usage_error(tmp_path: Path) -> None:
    path = tmp_path / "v.csv"
    path.write_text(_csv_text(), encoding="utf-8")
    with pytest.raises(UsageError):
        vio.load_villages(path, layer="x")


# --- zip safety ----------------------------------------------------------------------------


def test_zip_with_parent_directory_member_is_refused(tmp_path: Path) -> None:
    zpath = tmp_path / "evil.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        zf.writestr("../evil.shp", b"x")
    with pytest.raises(InputFileError) as info:
        vio.load_villages(zpath)
    assert "unsafe member name '../evil.shp'" in info.value.reason


def test_zip_with_absolute_member_is_refused(tmp_path: Path) -> None:
    zpath = tmp_path / "abs.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        zf.writestr(zipfile.ZipInfo("/etc/villages.shp"), b"x")
    with pytest.raises(InputFileError, match="unsafe member name"):
        vio.load_villages(zpath)


def test_zip_bomb_is_refused_before_extraction(tmp_path: Path) -> None:
    zpath = tmp_path / "bomb.zip"
    chunk = bytes(1 << 20)
    with zipfile.ZipFile(zpath, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        with zf.open("villages.shp", "w") as fh:
            for _ in range(64):  # 64 MiB of zeros
                fh.write(chunk)
        zf.writestr("villages.dbf", b"")
        zf.writestr("villages.shx", b"")
    assert zpath.stat().st_size < 1 << 20
    start = time.perf_counter()
    with pytest.raises(InputFileError) as info:
        vio.load_villages(zpath)
    assert time.perf_counter() - start < 1.0
    assert "zip bomb" in info.value.reason and "villages.shp" in info.value.reason


def test_zip_total_size_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shp = tmp_path / "shp"
    shp.mkdir()
    _typed_villages().to_file(shp / "v.shp")
    zpath = tmp_path / "v.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        for f in sorted(shp.iterdir()):
            zf.write(f, f.name)
    monkeypatch.setattr(vio, "MAX_ZIP_UNCOMPRESSED_BYTES", 100)
    with pytest.raises(InputFileError, match="limit 100"):
        vio.load_villages(zpath)


def test_zip_with_several_shapefiles_needs_a_layer(tmp_path: Path) -> None:
    shp = tmp_path / "shp"
    shp.mkdir()
    _typed_villages().to_file(shp / "a.shp")
    _typed_villages().iloc[:1].to_file(shp / "b.shp")
    zpath = tmp_path / "v.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        for f in sorted(shp.iterdir()):
            zf.write(f, f.name)
    with pytest.raises(InputFileError, match=r"2 Shapefiles \(a, b\).*--layer"):
        vio.load_villages(zpath)
    assert len(vio.load_villages(zpath, layer="b").gdf) == 1


# --- rejects and warnings ------------------------------------------------------------------

BAD_ROWS = [
    # (column, value, reason fragment)
    ("population", "2.5", "not a whole number"),
    ("population", "khoảng 500", "not a whole number"),
    ("population", "-3", "negative"),
    ("electrified", "chưa", "not a yes/no value"),
    ("electrified", "maybe", "not a yes/no value"),
    ("electrified", "", "missing value"),
    ("power_eta", "31/02/2025", "impossible date"),
    ("assigned_operator", "Gmobile", "unknown operator"),
    ("measured_rsrp_dbm", "-30", "outside -140…-44"),
    ("clutter", "jungle", "unknown clutter"),
    ("province_code", "10", "admin_vintage = 2019"),
    ("province", "Atlantis", "unknown province"),
    ("village_id", "", "missing value"),
]


@pytest.mark.parametrize(("column", "value", "reason"), BAD_ROWS)
def test_bad_values_are_rejected_naming_file_row_and_column(
    tmp_path: Path, column: str, value: str, reason: str
) -> None:
    base = {
        "village_id": "V2",
        "name": "B",
        "province_code": "15",
        "province": "Lào Cai",
        "population": "10",
        "electrified": "có",
        "power_eta": "",
        "assigned_operator": "",
        "measured_rsrp_dbm": "",
        "clutter": "",
        "lon": "104.0",
        "lat": "22.5",
    }
    good = dict(base, village_id="V1")
    bad = dict(base, **{column: value})
    header = ",".join(base)
    path = tmp_path / "v.csv"
    path.write_text(
        "\n".join([header, ",".join(good.values()), ",".join(bad.values())]) + "\n",
        encoding="utf-8",
    )
    result = vio.load_villages(path)
    assert result.gdf["village_id"].tolist() == ["V1"]
    assert len(result.rejects) == 1
    r = result.rejects[0]
    assert (r.file, r.row, r.column, r.value) == (str(path), 2, column, value)
    assert reason in r.reason


def test_duplicate_ids_keep_the_first(tmp_path: Path) -> None:
    path = tmp_path / "v.csv"
    path.write_text(
        VILLAGE_HEADER + "\nV1,A,01,Hà Nội,10,có,105.8,21.0\nV2,B,01,Hà Nội,10,có,105.8,21.0\n"
        "V1,C,01,Hà Nội,10,có,105.8,21.0\n",
        encoding="utf-8",
    )
    result = vio.load_villages(path)
    assert result.gdf["name"].tolist() == ["A", "B"]
    assert result.rejects == (
        Reject(str(path), 3, "village_id", "V1", "duplicate village_id 'V1' (first at row 1)"),
    )


def test_warnings_name_file_rows_and_column(tmp_path: Path) -> None:
    path = tmp_path / "v.csv"
    rows = [f"V{i},A,01,Hà Nội,1.20{i},có,105.8,21.0" for i in range(1, 4)]
    path.write_text(VILLAGE_HEADER + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    result = vio.load_villages(path)
    assert result.gdf["population"].tolist() == [1201, 1202, 1203]
    msg = next(w for w in result.warnings if "thousands separator" in w)
    assert msg.startswith(f"{path}: population:")
    assert "3 rows (rows 1, 2, 3)" in msg and "'1.201' read as 1201" in msg


def test_old_province_names_and_codes(tmp_path: Path) -> None:
    path = tmp_path / "v.csv"
    path.write_text(
        VILLAGE_HEADER + "\nV1,A,15,Yên Bái,10,có,104.9,21.7\nV2,B,10,Lào Cai,10,có,104.0,22.5\n",
        encoding="utf-8",
    )
    new = vio.load_villages(path)  # admin_vintage 2025: 15 + old name OK, 10 is no 2025 code
    assert new.gdf[["province_code", "province"]].values.tolist() == [["15", "Lào Cai"]]
    assert any("'Yên Bái' mapped to 15 Lào Cai" in w for w in new.warnings)
    assert new.rejects[0].row == 2 and new.rejects[0].column == "province_code"

    old = vio.load_villages(path, admin_vintage=2019)  # 15 was Yên Bái, 10 was Lào Cai
    assert old.gdf[["province_code", "province"]].values.tolist() == [
        ["15", "Lào Cai"],
        ["15", "Lào Cai"],
    ]
    assert not old.rejects
    assert any("10 Lào Cai mapped to 15 Lào Cai" in w for w in old.warnings)


# --- towers --------------------------------------------------------------------------------


def test_tower_defaults(tmp_path: Path) -> None:
    path = tmp_path / "towers.csv"
    path.write_text(
        "tower_id,site_id,operator,technology,frequency_mhz,height_m,eirp_dbm,tx_power_dbm,"
        "antenna_gain_dbi,cable_loss_db,azimuth_deg,beamwidth_deg,status,lon,lat\n"
        "0001,,Viettel,4G,1800,30,60,,,,,,,105.8,21.0\n"
        "0002,S9,VinaPhone,5G,3500,25,,46,18,2,120,,planned,105.8,21.0\n"
        "0003,S9,MobiFone,2G,900,40,,43,15,,240,90,active,105.8,21.0\n"
        "0004,,Vietnamobile,3G,2100,35,,,,,,,,105.8,21.0\n"
        "0005,,Viettel,4G,1.8,30,60,,,,,,,105.8,21.0\n",
        encoding="utf-8",
    )
    result = vio.load_towers(path)
    gdf = result.gdf
    assert gdf["tower_id"].tolist() == ["0001", "0002", "0003"]
    assert gdf["site_id"].tolist() == ["0001", "S9", "S9"]
    assert gdf["operator"].tolist() == ["Viettel", "VNPT", "MobiFone"]
    assert gdf["bandwidth_mhz"].tolist() == pytest.approx([10.0, 100.0, 0.2], abs=1e-12)
    assert gdf["eirp_dbm"].tolist() == pytest.approx([60.0, 62.0, 58.0], abs=1e-12)
    assert np.isnan(gdf["beamwidth_deg"].iloc[0])
    assert gdf["beamwidth_deg"].iloc[1:].tolist() == pytest.approx([65.0, 90.0], abs=1e-12)
    assert gdf["status"].tolist() == ["active", "planned", "active"]
    assert [(r.row, r.column) for r in result.rejects] == [(4, "eirp_dbm"), (5, "frequency_mhz")]
    assert "looks like GHz" in result.rejects[1].reason
    assert any("eirp_dbm: computed" in w and "rows 2, 3" in w for w in result.warnings)
    assert list(gdf.columns) == [
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
        "source_row",
        "geometry",
    ]


def test_towers_shapefile_truncated_names(tmp_path: Path) -> None:
    gdf = gpd.GeoDataFrame(
        {
            "tower_id": ["T0001"],
            "operator": ["Viettel"],
            "technology": ["4G"],
            "frequency_mhz": [1800.0],
            "bandwidth_mhz": [20.0],
            "height_m": [30.0],
            "eirp_dbm": [60.0],
            "azimuth_deg": [0.0],
            "beamwidth_deg": [65.0],
        },
        geometry=[shapely.Point(105.8, 21.0)],
        crs="EPSG:4326",
    )
    gdf.to_file(tmp_path / "t.shp")
    out = vio.load_towers(tmp_path / "t.shp").gdf
    assert out[["frequency_mhz", "bandwidth_mhz", "azimuth_deg", "beamwidth_deg"]].iloc[
        0
    ].tolist() == pytest.approx([1800.0, 20.0, 0.0, 65.0], abs=1e-12)


# --- rejects.csv ---------------------------------------------------------------------------


def test_write_rejects_csv(tmp_path: Path) -> None:
    empty = vio.write_rejects_csv([], tmp_path / "out" / "rejects.csv")
    assert empty.read_text(encoding="utf-8") == "file,row,column,value,reason\n"
    rejects = [
        Reject("v.csv", 3, "population", "2,5", "not a whole number"),
        Reject("v.csv", None, "lon/lat", 'x "y"', "empty or NaN coordinates"),
    ]
    path = vio.write_rejects_csv(rejects, tmp_path / "out" / "rejects.csv")
    assert path.read_bytes().decode("utf-8") == (
        "file,row,column,value,reason\n"
        'v.csv,3,population,"2,5",not a whole number\n'
        'v.csv,,lon/lat,"x ""y""",empty or NaN coordinates\n'
    )
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["rejects.csv"]


def test_every_file_error_is_a_covgap_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.geojson"
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(CovgapError) as info:
        vio.load_villages(path)
    assert info.value.file == str(path)
    assert info.value.line().startswith(f"error: {path}: not a readable GeoJSON file")


def test_province_code_or_name_alone(tmp_path: Path) -> None:
    path = tmp_path / "v.csv"
    path.write_text(
        VILLAGE_HEADER + "\nV1,A,15,,10,có,104.0,22.5\nV2,B,,Hà Giang,10,có,105.0,22.8\n"
        "V3,C,,,10,có,105.0,22.8\n",
        encoding="utf-8",
    )
    result = vio.load_villages(path)
    assert result.gdf[["province_code", "province"]].values.tolist() == [
        ["15", "Lào Cai"],
        ["08", "Tuyên Quang"],
    ]
    assert any(w.startswith(f"{path}:1:province: province empty") for w in result.warnings)
    assert any("'Hà Giang' mapped to 08 Tuyên Quang" in w for w in result.warnings)
    assert [(r.row, r.column) for r in result.rejects] == [(3, "province")]


# --- national-size inputs (the vectorised readers) -----------------------------------------

TOWER_HEADER = (
    "tower_id,site_id,operator,technology,frequency_mhz,bandwidth_mhz,height_m,eirp_dbm,"
    "azimuth_deg,beamwidth_deg,status,backhaul,power,lon,lat"
)


def _tower_rows(n: int) -> list[str]:
    """``n`` clean sector rows (three per site, sites 0.01° apart), then, when there are
    20 or more, bad cells: row 7 a GHz frequency, row 12 an unknown operator, row 20 an
    EIRP of "inf"."""
    rows = []
    for i in range(n):
        site = i // 3
        lon, lat = 103.5 + (site % 100) * 0.01, 21.0 + (site // 100) * 0.01
        rows.append(
            f"T{i:05d},S{site:05d},Viettel,4G,1800,10,30,60,{(i % 3) * 120},65,active,"
            f"fibre,grid,{lon:.5f},{lat:.5f}"
        )
    if n >= 20:
        rows[6] = rows[6].replace(",1800,", ",2.1,")
        rows[11] = rows[11].replace(",Viettel,", ",Viettal,")
        rows[19] = rows[19].replace(",60,", ",inf,")
    return rows


def _rejects_of(result: vio.LoadResult) -> list[tuple[int, str, str, str]]:
    return [(r.row, r.column, r.value, r.reason) for r in result.rejects]


_HAND_REJECTS = [
    (
        7,
        "frequency_mhz",
        "2.1",
        "2.1 MHz looks like GHz: write frequency_mhz in MHz (e.g. 2100); accepted range "
        "700…3800 MHz",
    ),
    (
        12,
        "operator",
        "Viettal",
        "unknown operator (expected one of Viettel, VNPT, MobiFone, Vietnamobile)",
    ),
    (20, "eirp_dbm", "inf", "not a number"),
]


def test_a_large_csv_reads_the_same_through_arrow_and_the_csv_module(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """4,000 rows (past ARROW_CSV_MIN_CHARS, so Arrow's parser reads it): the same frame,
    rejects (by hand) and warnings as Python's csv module gives for the same file."""
    path = tmp_path / "towers.csv"
    path.write_text("\n".join([TOWER_HEADER, *_tower_rows(4000)]) + "\n", encoding="utf-8")
    assert path.stat().st_size >= vio.ARROW_CSV_MIN_CHARS
    fast = vio.load_towers(path)
    monkeypatch.setattr(vio, "ARROW_CSV_MIN_CHARS", 1 << 40)
    slow = vio.load_towers(path)
    pd.testing.assert_frame_equal(fast.gdf, slow.gdf, check_exact=True)
    assert _rejects_of(fast) == _rejects_of(slow) == _HAND_REJECTS
    assert fast.warnings == slow.warnings
    assert len(fast.gdf) == 3997
    assert fast.gdf["tower_id"].iloc[6] == "T00007"


def test_a_large_csv_with_blank_records_and_short_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A record of empty fields is skipped and rows are numbered over the records kept
    (read by Arrow, as the csv module reads it); a short row and a record of spaces send
    the file to the csv module, which pads the short row (no coordinates: rejected) and
    skips the spaces."""
    rows = _tower_rows(4000)
    path = tmp_path / "blank.csv"
    path.write_text(
        "\r\n".join([TOWER_HEADER, *rows[:2], "," * 14, *rows[2:]]) + "\r\n", encoding="utf-8"
    )
    got = vio.load_towers(path)
    assert got.n_read == 4000
    assert _rejects_of(got) == _HAND_REJECTS
    monkeypatch.setattr(vio, "ARROW_CSV_MIN_CHARS", 1 << 40)
    pd.testing.assert_frame_equal(vio.load_towers(path).gdf, got.gdf, check_exact=True)
    monkeypatch.undo()

    short = rows[200].rsplit(",", 2)[0]  # T00200 without lon, lat
    body = [TOWER_HEADER, *rows[:48], short, *rows[48:100], "  ", *rows[100:]]
    path = tmp_path / "short.csv"
    path.write_text("\n".join(body) + "\n", encoding="utf-8")
    got = vio.load_towers(path)
    assert got.n_read == 4001
    assert _rejects_of(got) == [
        *_HAND_REJECTS,
        (49, "lon/lat", "", "empty or NaN coordinates"),
        (202, "tower_id", "T00200", "duplicate tower_id 'T00200' (first at row 49)"),
    ]


def test_typed_numbers_in_geoparquet_are_rejected_with_their_text(tmp_path: Path) -> None:
    """Floats typed in a GeoParquet file go straight to the parser; a bad one is rejected
    naming the value as text ("2.1", "inf"), as in the CSV of the same rows."""
    rows = _tower_rows(30)
    csv_path = tmp_path / "towers.csv"
    csv_path.write_text("\n".join([TOWER_HEADER, *rows]) + "\n", encoding="utf-8")
    frame = pd.read_csv(csv_path, dtype={"tower_id": str, "site_id": str})
    gdf = gpd.GeoDataFrame(
        frame.drop(columns=["lon", "lat"]),
        geometry=gpd.points_from_xy(frame["lon"], frame["lat"]),
        crs="EPSG:4326",
    )
    assert gdf["eirp_dbm"].dtype == "float64"
    pq_path = tmp_path / "towers.parquet"
    gdf.to_parquet(pq_path)
    got = vio.load_towers(pq_path)
    want = vio.load_towers(csv_path)
    assert [r[:2] + r[2:] for r in _rejects_of(got)] == [
        (7, "frequency_mhz", "2.1", _HAND_REJECTS[0][3]),
        (12, "operator", "Viettal", _HAND_REJECTS[1][3]),
        (20, "eirp_dbm", "inf", "not a number"),
    ]
    pd.testing.assert_frame_equal(got.gdf, want.gdf, check_exact=True)


def test_sectors_sharing_a_place_outside_vietnam_are_all_rejected(tmp_path: Path) -> None:
    """Three sectors of one site in Thailand (inside no Vietnam box): each row is
    rejected."""
    rows = _tower_rows(6)[:3] + [
        r.replace("103.51000,21.00000", "100.00000,15.00000") for r in _tower_rows(6)[3:]
    ]
    path = tmp_path / "towers.csv"
    path.write_text("\n".join([TOWER_HEADER, *rows]) + "\n", encoding="utf-8")
    got = vio.load_towers(path)
    assert [(r.row, r.value) for r in got.rejects] == [
        (4, "100.000000 15.000000"),
        (5, "100.000000 15.000000"),
        (6, "100.000000 15.000000"),
    ]
