"""CRS checks and transforms (covgap.crs) and the outside-Vietnam check, through real files.

Known answers: places whose WGS 84 positions are public (Hoàn Kiếm lake, Sa Pa, Vientiane,
Nanning …). VN-2000 fixtures are made by projecting a WGS 84 point with the *WGS 84* version
of the published projection (UTM 48N, or transverse Mercator k = 0.9999 on the TM-3 central
meridian) and labelling the result VN-2000: the two datums differ by a few hundred metres, so
a correct loader lands within ~300 m of the starting point, and a loader that skipped the datum
shift would land on it exactly (the test asks for the shift, too)."""

from __future__ import annotations

import math
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyproj
import pytest
import shapely

from covgap import crs as vncrs
from covgap.errors import CRSError
from covgap.io import load_boundaries, load_towers, load_villages

pytestmark = [
    pytest.mark.filterwarnings("ignore:Column names longer than 10 characters"),
    pytest.mark.filterwarnings("ignore:Normalized/laundered field name"),
]

SHARED = Path(__file__).resolve().parents[2] / "shared"
PROVINCES = SHARED / "data" / "vn_provinces34.geojson"

HOAN_KIEM = (105.8524, 21.0287)  # Hoàn Kiếm lake, Hà Nội
SA_PA = (103.8440, 22.3364)
DIEN_BIEN_PHU = (103.0166, 21.3860)
THAI_NGUYEN = (105.8442, 21.5942)

HEADER = "village_id,name,province_code,province,population,electrified"


def _geodesic_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    _, _, d = pyproj.Geod(ellps="WGS84").inv(a[0], a[1], b[0], b[1])
    return float(d)


def _project(lonlat: tuple[float, float], proj: str) -> tuple[float, float]:
    t = pyproj.Transformer.from_crs("EPSG:4326", proj, always_xy=True)
    x, y = t.transform(*lonlat)
    return float(x), float(y)


def _villages_frame(points: list[tuple[float, float]], crs: str) -> gpd.GeoDataFrame:
    n = len(points)
    return gpd.GeoDataFrame(
        {
            "village_id": [f"V{i + 1}" for i in range(n)],
            "name": [f"Bản {i + 1}" for i in range(n)],
            "province_code": ["01"] * n,
            "province": ["Hà Nội"] * n,
            "population": [100 + i for i in range(n)],
            "electrified": ["yes"] * n,
        },
        geometry=[shapely.Point(p) for p in points],
        crs=crs,
    )


def _xy(result_gdf: gpd.GeoDataFrame, i: int = 0) -> tuple[float, float]:
    g = result_gdf.geometry.iloc[i]
    return float(g.x), float(g.y)


# --- to_lonlat -----------------------------------------------------------------------------


def test_parse_crs() -> None:
    assert vncrs.parse_crs("EPSG:3405").to_epsg() == 3405  # type: ignore[union-attr]
    assert vncrs.parse_crs("9210").to_epsg() == 9210  # type: ignore[union-attr]
    assert vncrs.parse_crs(None) is None
    with pytest.raises(CRSError) as info:
        vncrs.parse_crs("EPSG:999999", file="v.csv")
    assert info.value.file == "v.csv" and "unknown CRS" in info.value.reason


@pytest.mark.parametrize("code", [4756, 3405, 3406, 5896, 5897, 5898, 5899, 9205, 9210, 9218])
def test_every_vn2000_crs_transforms(code: int) -> None:
    crs = pyproj.CRS.from_epsg(code)
    t = vncrs.transformer_to_wgs84(crs)
    # A point near each CRS's natural origin area comes back finite and inside Vietnam's box.
    fwd = pyproj.Transformer.from_crs(4326, crs, always_xy=True)
    lon0 = {3406: 108.2, 5898: 108.2, 5899: 107.7, 9218: 108.4}.get(code, 105.0)
    x, y = fwd.transform(lon0, 16.0)
    lon, lat = t.transform(x, y)
    assert abs(lon - lon0) < 0.01 and abs(lat - 16.0) < 0.01


def test_swapped_lon_lat_are_swapped_back_with_a_warning() -> None:
    x = np.array([21.0287, 22.3364])  # latitudes in the x column
    y = np.array([105.8524, 103.8440])
    out = vncrs.to_lonlat(x, y, vncrs.WGS84, file="v.csv", crs_source="default")
    assert out.lon.tolist() == pytest.approx([105.8524, 103.8440], abs=1e-9)
    assert out.lat.tolist() == pytest.approx([21.0287, 22.3364], abs=1e-9)
    assert any("swapped" in w and w.startswith("v.csv") for w in out.warnings)


def test_partly_swapped_rows_are_not_silently_swapped() -> None:
    x = np.array([21.0287, 105.8524])
    y = np.array([105.8524, 21.0287])
    out = vncrs.to_lonlat(x, y, vncrs.WGS84, file="v.csv", crs_source="default")
    assert not any("swapped" in w for w in out.warnings)
    assert out.error[0] is not None and out.error[1] is None  # lat 105.85 is impossible


def test_metres_declared_as_degrees_are_refused() -> None:
    x, y = _project(HOAN_KIEM, "EPSG:32648")
    with pytest.raises(CRSError) as info:
        vncrs.to_lonlat(np.array([x]), np.array([y]), vncrs.WGS84, file="v.gpkg")
    assert info.value.file == "v.gpkg"
    assert "not degrees" in info.value.reason and "--crs" in info.value.reason


def test_degrees_declared_as_metres_are_refused() -> None:
    crs = pyproj.CRS.from_epsg(3405)
    with pytest.raises(CRSError) as info:
        vncrs.to_lonlat(np.array([105.85]), np.array([21.03]), crs, file="v.shp")
    assert "look like degrees" in info.value.reason and "EPSG:3405" in info.value.reason


def test_no_crs_degrees_become_wgs84_with_a_warning() -> None:
    out = vncrs.to_lonlat(np.array([105.85]), np.array([21.03]), None, file="v.shp")
    assert out.crs.to_epsg() == 4326
    assert any(".prj" in w and "EPSG:4326" in w for w in out.warnings)


def test_no_crs_metres_are_refused() -> None:
    x, y = _project(HOAN_KIEM, "EPSG:32648")
    with pytest.raises(CRSError) as info:
        vncrs.to_lonlat(np.array([x]), np.array([y]), None, file="v.shp")
    assert "--crs" in info.value.reason and "EPSG:3405" in info.value.reason


def test_3d_crs_is_accepted() -> None:
    out = vncrs.to_lonlat(
        np.array([105.85]), np.array([21.03]), pyproj.CRS.from_epsg(4979), file="v.geojson"
    )
    assert (out.lon[0], out.lat[0]) == pytest.approx((105.85, 21.03), abs=1e-9)


def test_nan_coordinates_are_row_errors() -> None:
    out = vncrs.to_lonlat(
        np.array([105.85, np.nan]), np.array([21.03, 21.0]), vncrs.WGS84, file="v.csv"
    )
    assert out.error.tolist() == [None, "empty or NaN coordinates"]


# --- VN-2000 files -------------------------------------------------------------------------


def test_vn2000_utm48_geopackage_lands_within_300_m(tmp_path: Path) -> None:
    points = [HOAN_KIEM, SA_PA, DIEN_BIEN_PHU]
    # WGS 84 / UTM 48N coordinates, labelled VN-2000 / UTM 48N.
    xy = [_project(p, "+proj=utm +zone=48 +ellps=WGS84 +units=m") for p in points]
    gdf = _villages_frame(xy, "EPSG:3405")
    gdf["province_code"] = ["01", "15", "11"]
    gdf["province"] = ["Hà Nội", "Lào Cai", "Điện Biên"]
    path = tmp_path / "villages_vn2000.gpkg"
    gdf.to_file(path, layer="villages", driver="GPKG")
    result = load_villages(path)
    assert len(result.gdf) == 3 and not result.rejects
    assert result.gdf.crs.to_epsg() == 4326
    for i, p in enumerate(points):
        d = _geodesic_m(_xy(result.gdf, i), p)
        assert 100.0 < d < 300.0, d  # the datum shift was applied, and it is a few hundred m


def test_vn2000_tm3_csv_with_crs_option(tmp_path: Path) -> None:
    # TM-3 105°45′ (EPSG:9210): transverse Mercator, k = 0.9999, x0 = 500 km.
    proj = "+proj=tmerc +lon_0=105.75 +k=0.9999 +x_0=500000 +y_0=0 +ellps=WGS84 +units=m"
    x, y = _project(THAI_NGUYEN, proj)
    path = tmp_path / "tm3.csv"
    path.write_text(f"{HEADER},x,y\nV1,Bản A,19,Thái Nguyên,10,có,{x:.3f},{y:.3f}\n")
    result = load_villages(path, crs="EPSG:9210")
    assert not result.rejects
    d = _geodesic_m(_xy(result.gdf), THAI_NGUYEN)
    assert 100.0 < d < 300.0, d


def test_vn2000_tm3_zipped_shapefile_with_prj(tmp_path: Path) -> None:
    # TM-3 zone 482 (EPSG:5897): central meridian 105°.
    proj = "+proj=tmerc +lon_0=105 +k=0.9999 +x_0=500000 +y_0=0 +ellps=WGS84 +units=m"
    gdf = _villages_frame([_project(HOAN_KIEM, proj)], "EPSG:5897")
    shp_dir = tmp_path / "shp"
    shp_dir.mkdir()
    gdf.to_file(shp_dir / "villages.shp")
    zpath = tmp_path / "villages.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        for f in sorted(shp_dir.iterdir()):
            zf.write(f, f.name)
    result = load_villages(zpath)
    assert not result.rejects
    d = _geodesic_m(_xy(result.gdf), HOAN_KIEM)
    assert 100.0 < d < 300.0, d


def test_metres_csv_without_crs_is_refused_naming_the_file(tmp_path: Path) -> None:
    x, y = _project(HOAN_KIEM, "EPSG:3405")
    path = tmp_path / "metres.csv"
    path.write_text(f"{HEADER},x,y\nV1,Bản A,01,Hà Nội,10,có,{x:.1f},{y:.1f}\n")
    with pytest.raises(CRSError) as info:
        load_villages(path)
    assert info.value.file == str(path)
    assert "a CSV of lon/lat is read as EPSG:4326" in info.value.reason
    assert "--crs" in info.value.reason


def test_prj_less_shapefile(tmp_path: Path) -> None:
    degrees = _villages_frame([HOAN_KIEM], "EPSG:4326")
    degrees.to_file(tmp_path / "deg.shp")
    (tmp_path / "deg.prj").unlink()
    result = load_villages(tmp_path / "deg.shp")
    assert _xy(result.gdf) == pytest.approx(HOAN_KIEM, abs=1e-9)
    assert any(".prj" in w and "EPSG:4326" in w for w in result.warnings)

    metres = _villages_frame([_project(HOAN_KIEM, "EPSG:3405")], "EPSG:3405")
    metres.to_file(tmp_path / "m.shp")
    (tmp_path / "m.prj").unlink()
    with pytest.raises(CRSError) as info:
        load_villages(tmp_path / "m.shp")
    assert info.value.file == str(tmp_path / "m.shp") and "--crs" in info.value.reason


def test_swapped_geojson_is_swapped_back(tmp_path: Path) -> None:
    gdf = _villages_frame([(p[1], p[0]) for p in (HOAN_KIEM, SA_PA)], "EPSG:4326")
    path = tmp_path / "swapped.geojson"
    gdf.to_file(path)
    result = load_villages(path)
    assert _xy(result.gdf, 0) == pytest.approx(HOAN_KIEM, abs=1e-9)
    assert _xy(result.gdf, 1) == pytest.approx(SA_PA, abs=1e-9)
    assert any("swapped" in w and str(path) in w for w in result.warnings)


def test_3d_points_drop_z(tmp_path: Path) -> None:
    path = tmp_path / "z.geojson"
    path.write_text(
        '{"type":"FeatureCollection","features":[{"type":"Feature","properties":'
        '{"village_id":"V1","name":"A","province_code":"01","province":"Hà Nội",'
        '"population":5,"electrified":"yes"},"geometry":{"type":"Point",'
        f'"coordinates":[{HOAN_KIEM[0]},{HOAN_KIEM[1]},35.5]}}}}]}}',
        encoding="utf-8",
    )
    result = load_villages(path)
    geom = result.gdf.geometry.iloc[0]
    assert not geom.has_z
    assert (geom.x, geom.y) == pytest.approx(HOAN_KIEM, abs=1e-9)


# --- outside Vietnam -----------------------------------------------------------------------

OUTSIDE = {
    "Vientiane, Laos": (102.6331, 17.9757),
    "Laos near the Điện Biên border": (102.95, 20.80),
    "Nanning, China": (108.37, 22.82),
    "Mengzi, China": (103.38, 23.36),
    "Phnom Penh, Cambodia": (104.92, 11.56),
    "Gulf of Tonkin": (107.50, 19.50),
    "South China Sea": (110.00, 12.00),
}
INSIDE = {
    "Hoàn Kiếm, Hà Nội": HOAN_KIEM,
    "Sa Pa": SA_PA,
    "Phú Quốc island": (103.96, 10.22),
    "Côn Đảo": (106.61, 8.69),
}


def _boundaries() -> gpd.GeoDataFrame:
    if not PROVINCES.exists():
        pytest.skip("../shared is absent: vn_provinces34.geojson is needed as boundaries")
    return load_boundaries(PROVINCES)


def test_outside_vietnam_with_boundaries() -> None:
    b = _boundaries()
    places = {**OUTSIDE, **INSIDE}
    lon = np.array([p[0] for p in places.values()])
    lat = np.array([p[1] for p in places.values()])
    flags = dict(zip(places, vncrs.outside_vietnam(lon, lat, b), strict=True))
    assert {k for k, v in flags.items() if v} == set(OUTSIDE)


def test_coastal_tolerance_is_about_2_km() -> None:
    b = _boundaries()
    # East of Mỹ Khê beach (Đà Nẵng) along 16.0544° N: 1 km ≈ 0.00935° of longitude there.
    coast = (108.2466, 16.0544)
    step = 1000.0 / (111_320.0 * math.cos(math.radians(coast[1])))
    lon = np.array([coast[0], coast[0] + 1.5 * step, coast[0] + 3.5 * step])
    lat = np.full(3, coast[1])
    assert vncrs.outside_vietnam(lon, lat, b).tolist() == [False, False, True]


def test_villages_in_laos_china_and_the_sea_are_rejected(tmp_path: Path) -> None:
    b = _boundaries()
    places = list(OUTSIDE.items()) + list(INSIDE.items())
    lines = [f"{HEADER},lon,lat"]
    for i, (_, (lon, lat)) in enumerate(places):
        lines.append(f"V{i + 1},Bản {i + 1},01,Hà Nội,10,có,{lon},{lat}")
    path = tmp_path / "v.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = load_villages(path, boundaries=b)
    assert len(result.gdf) == len(INSIDE)
    assert [r.row for r in result.rejects] == list(range(1, len(OUTSIDE) + 1))
    for r in result.rejects:
        assert r.file == str(path) and r.column == "lon/lat"
        assert r.reason.startswith("outside Vietnam: in the sea or a neighbouring country")
    assert not any("bounding boxes were checked" in w for w in result.warnings)


def test_without_boundaries_only_the_bounding_boxes_are_checked(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text(
        "tower_id,operator,technology,frequency_mhz,height_m,eirp_dbm,lon,lat\n"
        "T1,Viettel,4G,1800,30,60,102.6331,17.9757\n"  # Vientiane: inside the box, not caught
        "T2,Viettel,4G,1800,30,60,100.50,13.75\n"  # Bangkok: outside the box
        "T3,Viettel,4G,1800,30,60,102.70,25.04\n",  # Kunming: outside the box
        encoding="utf-8",
    )
    result = load_towers(path)
    assert result.gdf["tower_id"].tolist() == ["T1"]
    assert [r.row for r in result.rejects] == [2, 3]
    assert all("bounding boxes" in r.reason for r in result.rejects)
    assert any("only Vietnam's bounding boxes were checked" in w for w in result.warnings)


def test_boundaries_are_the_34_provinces() -> None:
    b = _boundaries()
    assert len(b) == 34
    assert b.crs.to_epsg() == 4326
    assert list(b.columns[:2]) == ["province_code", "province_name"]
    assert b.loc[b["province_code"] == "15", "province_name"].item() == "Lào Cai"
