"""The predicted-coverage grid (covgap.coverage_grid): geometry, values, outputs.

Known answers come from outside the code: free-space loss from its physical formula,
cell centres from pyproj's EPSG:3857 → EPSG:4326 transform, inside/outside from
shapely, the PNG palette from ColorBrewer's published BuPu colours; agreement with the
village analysis is checked at exact points (cell centres as villages) and, for villages
at their real positions, against a bound derived from the model's slope.
"""

from __future__ import annotations

import dataclasses
import math
import struct
import zlib
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
from pyproj import Transformer
from shapely.geometry import MultiPolygon, Point, Polygon

from covgap.analysis import AnalysisSettings, assess_villages
from covgap.coverage_grid import (
    CoverageGrid,
    GridSettings,
    analysed_area,
    coverage_grid,
    geotiff_name,
    level_classes,
    png_bytes,
    write_geotiff,
)
from covgap.errors import CRSError, ScenarioError
from covgap.io import load_towers, load_villages

PROJECT = Path(__file__).resolve().parents[1]
SAMPLE_TOWERS = PROJECT / "data" / "towers" / "towers.csv"
SAMPLE_VILLAGES = PROJECT / "data" / "villages" / "villages.geojson"
TO_LONLAT = Transformer.from_crs("EPSG:3857", "EPSG:4326", always_xy=True)
EARTH_RADIUS_M = 6_371_008.8  # IUGG mean radius (the analysis' haversine radius)
C_M_PER_S = 299_792_458.0


#: an omni 4G carrier: 1800 MHz, 10 MHz (N_RB 50), 30 m mast, 60 dBm EIRP, active
OMNI_4G = dict(technology="4G", frequency_mhz=1800.0, bandwidth_mhz=10.0, height_m=30.0)
OMNI_4G.update(eirp_dbm=60.0, azimuth_deg=np.nan, beamwidth_deg=np.nan, status="active")


def tower(tid: str, lon: float, lat: float, **extra: object) -> dict[str, object]:
    row: dict[str, object] = {"tower_id": tid, "site_id": tid, "operator": "Viettel"}
    return {**row, **OMNI_4G, "geometry": Point(lon, lat), **extra}


def towers_of(*rows: dict[str, object]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(list(rows), geometry="geometry", crs="EPSG:4326")


def haversine_m(lon1: np.ndarray, lat1: np.ndarray, lon2: float, lat2: float) -> np.ndarray:
    p1, p2 = np.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2) - np.radians(lon1)
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * math.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(a))


def centres_by_pyproj(grid: CoverageGrid) -> tuple[np.ndarray, np.ndarray]:
    a, _, c, _, e, f = grid.transform
    nrow, ncol = grid.shape
    cols, rows = np.meshgrid(np.arange(ncol), np.arange(nrow))
    lon, lat = TO_LONLAT.transform(c + (cols + 0.5) * a, f + (rows + 0.5) * e)
    return np.asarray(lon), np.asarray(lat)


# --------------------------------------------------------------------------- values


def test_one_omni_tower_in_free_space_matches_the_formula() -> None:
    # RSRP = EIRP − 10·log10(12·N_RB) − FSPL − clutter loss (open_rural, 3 dB), with
    # N_RB = 50 for 10 MHz LTE (TS 36.101) and FSPL = 20·log10(4π·d·f / c)
    towers = towers_of(tower("T", 105.5, 21.0))
    settings = AnalysisSettings(model="fspl")
    grid = coverage_grid(towers, (105.4, 20.9, 105.6, 21.1), settings, GridSettings(cell_m=1000))
    lon, lat = centres_by_pyproj(grid)
    d_m = haversine_m(lon, lat, 105.5, 21.0)
    fspl = 20 * np.log10(4 * math.pi * d_m * 1800e6 / C_M_PER_S)
    expected = 60.0 - 10 * math.log10(12 * 50) - fspl - 3.0
    far = d_m > 100.0  # the analysis evaluates distances under 10 m at 10 m
    assert far.sum() > 400
    assert np.isfinite(grid.level_dbm).all()  # the box is within 20 km of the tower
    # 0.01 dB: P.525's rounded constant 32.45 vs the exact 32.4478 (0.002 dB) + float32
    np.testing.assert_allclose(grid.level_dbm[far], expected[far], atol=0.01)
    # the strongest cell is the one holding the tower
    row, col = grid.cell_of([105.5], [21.0])
    assert np.unravel_index(np.nanargmax(grid.level_dbm), grid.shape) == (row[0], col[0])


def test_best_server_is_the_maximum_over_towers_of_the_technology() -> None:
    a = tower("A", 105.45, 21.0)
    b = tower("B", 105.55, 21.0, operator="VNPT", eirp_dbm=50.0)
    gsm = tower("G", 105.50, 21.0, technology="2G", bandwidth_mhz=0.2, eirp_dbm=70.0)
    settings = AnalysisSettings(model="fspl")
    box = (105.4, 20.95, 105.6, 21.05)
    both = coverage_grid(towers_of(a, b, gsm), box, settings, GridSettings(cell_m=1000))
    only_a = coverage_grid(towers_of(a), box, settings, GridSettings(cell_m=1000))
    only_b = coverage_grid(towers_of(b), box, settings, GridSettings(cell_m=1000))
    np.testing.assert_array_equal(both.level_dbm, np.fmax(only_a.level_dbm, only_b.level_dbm))
    # the 2G carrier counts only on a 2G grid
    rxlev = coverage_grid(
        towers_of(a, b, gsm), box, settings, GridSettings(cell_m=1000, technology="2G")
    )
    assert (rxlev.technology, rxlev.quantity, rxlev.threshold_dbm) == ("2G", "RxLev", -95.0)
    lon, lat = centres_by_pyproj(rxlev)
    d_m = haversine_m(lon, lat, 105.50, 21.0)
    fspl = 20 * np.log10(4 * math.pi * d_m * 1800e6 / C_M_PER_S)
    np.testing.assert_allclose(rxlev.level_dbm, 70.0 - fspl - 3.0, atol=0.01)


def sample_towers() -> gpd.GeoDataFrame:
    return load_towers(SAMPLE_TOWERS).gdf


def sample_villages_near_hanoi() -> gpd.GeoDataFrame:
    """The sample's villages in a 0.5° box around Hà Nội (real towers around them)."""
    villages = load_villages(SAMPLE_VILLAGES).gdf
    x, y = villages.geometry.x, villages.geometry.y
    keep = ((x > 105.55) & (x < 106.05) & (y > 20.8) & (y < 21.3)).to_numpy(bool)
    return villages[keep].reset_index(drop=True)


def test_grid_equals_the_village_analysis_at_cell_centres() -> None:
    towers = sample_towers()
    villages = sample_villages_near_hanoi()
    assert len(villages) >= 20
    grid = coverage_grid(towers, analysed_area(villages), grid=GridSettings(cell_m=500))
    # one "village" at the exact centre of each cell holding a sample village
    rows, cols = grid.cell_of(villages.geometry.x, villages.geometry.y)
    assert (rows >= 0).all()
    lon, lat = centres_by_pyproj(grid)
    at = gpd.GeoDataFrame(
        {"electrified": np.ones(len(rows), dtype=bool)},
        geometry=gpd.points_from_xy(lon[rows, cols], lat[rows, cols]),
        crs="EPSG:4326",
    )
    expected = assess_villages(at, towers).villages["best_rsrp_4g_dbm"].to_numpy(float)
    got = grid.level_dbm[rows, cols].astype(float)
    assert np.isfinite(expected).sum() >= 20
    np.testing.assert_array_equal(np.isnan(got), np.isnan(expected))
    # float32 storage: 1e-4 dB
    np.testing.assert_allclose(got, expected, atol=1e-4, equal_nan=True)


@pytest.mark.parametrize(
    ("technology", "settings"),
    [
        ("4G", AnalysisSettings()),
        ("5G", AnalysisSettings(model="rma", default_clutter="suburban")),
        ("2G", AnalysisSettings(model="hata", default_clutter="urban_large")),
        ("3G", AnalysisSettings(model="cost231", max_reach_km=8.0)),
        (
            "4G",
            AnalysisSettings(
                clutter_offset_db={"open_rural": 4.0},
                clutter_slope_db_per_decade={"open_rural": -3.0},
                body_loss_db=2.0,
            ),
        ),
    ],
    ids=["4g-auto", "5g-rma-suburban", "2g-hata-urban", "3g-cost231-8km", "4g-calibrated"],
)
def test_every_cell_equals_the_village_analysis_at_its_centre(
    technology: str, settings: AnalysisSettings
) -> None:
    # The grid skips sectors by bounds (see the kernel's comment): every cell of a 1 km
    # grid over the sample's densest area (~660 sectors of every technology, sectored and
    # omni, 900–3700 MHz, 18–45 m masts) must still get exactly the analysis' best level
    # for a village at its centre (NaN where no sector of the technology is in reach).
    towers = sample_towers()
    grid = coverage_grid(
        towers,
        (105.6, 20.85, 106.0, 21.25),
        settings,
        GridSettings(cell_m=1000, technology=technology),
    )
    lon, lat = centres_by_pyproj(grid)
    at = gpd.GeoDataFrame(
        {"electrified": np.ones(lon.size, dtype=bool)},
        geometry=gpd.points_from_xy(lon.ravel(), lat.ravel()),
        crs="EPSG:4326",
    )
    column = {"2G": "best_rxlev_dbm", "3G": "best_rscp_dbm"}.get(
        technology, f"best_rsrp_{technology.lower()}_dbm"
    )
    expected = assess_villages(at, towers, settings).villages[column].to_numpy(float)
    got = grid.level_dbm.ravel().astype(float)
    assert np.isfinite(expected).sum() >= 1000
    np.testing.assert_array_equal(np.isnan(got), np.isnan(expected))
    # float32 storage: 1e-4 dB
    np.testing.assert_allclose(got, expected, atol=1e-4, equal_nan=True)
    # far fewer pairs evaluated than cells × sectors in reach
    assert 0 < grid.n_pairs < grid.n_cells_computed * 50


def test_villages_agree_with_their_cell_within_the_offset_bound() -> None:
    # villages at their real positions vs the cell holding them. With one model
    # everywhere (COST-231 Hata: no switching between models) the level changes with
    # distance by at most 44.9 dB/decade (its slope 44.9 − 6.55·log10(hb), hb ≥ 1 m; the
    # free-space floor is 20 dB/decade) and with direction by at most
    # 24·√(20/12)/θ3dB dB per degree (TR 36.814 pattern, θ3dB = 65°), and so does a maximum
    # over sectors. Over an offset δ (≤ half the cell's diagonal) from a village whose
    # nearest sector is d away: |Δ| ≤ 44.9·log10((d+δ)/(d−δ)) + 0.48·2·asin(δ/(2(d−δ))) (°).
    # Compared where both levels are ≥ the threshold (a sector out of reach there cannot
    # be the best: reach ends 10 dB below it in free space) and d ≥ 2 km.
    towers = sample_towers()
    villages = sample_villages_near_hanoi().drop(columns=["clutter"])  # default clutter
    settings = AnalysisSettings(model="cost231")
    grid = coverage_grid(
        towers, analysed_area(villages), settings, GridSettings(cell_m=250, max_cells=400_000)
    )
    assert grid.cell_m == 250
    village = assess_villages(villages, towers, settings).villages
    v_level = village["best_rsrp_4g_dbm"].to_numpy(float)
    g_level = grid.sample(villages.geometry.x, villages.geometry.y)
    lte = towers[(towers["technology"] == "4G") & (towers["status"] == "active")]
    d_min = np.array(
        [
            haversine_m(lte.geometry.x.to_numpy(), lte.geometry.y.to_numpy(), x, y).min()
            for x, y in zip(villages.geometry.x, villages.geometry.y, strict=True)
        ]
    )
    usable = (d_min >= 2000) & (v_level >= -110) & (g_level >= -110)
    assert usable.sum() >= 10
    d = d_min[usable]
    delta = grid.cell_merc_m * np.cos(np.radians(villages.geometry.y.to_numpy()[usable]))
    delta = delta * math.sqrt(2) / 2
    slope_deg = 24 * math.sqrt(20 / 12) / 65.0
    angle_deg = np.degrees(2 * np.arcsin(delta / (2 * (d - delta))))
    bound = 44.9 * np.log10((d + delta) / (d - delta)) + slope_deg * angle_deg
    diff = np.abs(v_level - g_level)[usable]
    assert (diff <= bound).all(), (diff.max(), bound[diff.argmax()])


# --------------------------------------------------------------------------- geometry


def test_cells_are_square_web_mercator_cells_of_the_asked_size() -> None:
    towers = towers_of(tower("T", 105.5, 21.0))
    grid = coverage_grid(towers, (105.4, 20.9, 105.6, 21.1), grid=GridSettings(cell_m=500))
    a, b, c, d, e, f = grid.transform
    assert (b, d) == (0.0, 0.0) and a == -e == grid.cell_merc_m
    # 500 m on the ground at the box's centre latitude (21°): 500 / cos 21° in EPSG:3857
    assert grid.centre_lat_deg == pytest.approx(21.0)
    assert grid.cell_merc_m == pytest.approx(500 / math.cos(math.radians(21.0)), rel=1e-12)
    # edges on multiples of the cell; the box is covered
    assert c / a == pytest.approx(round(c / a), abs=1e-6)
    assert f / a == pytest.approx(round(f / a), abs=1e-6)
    w, s, e_, n = grid.bounds_lonlat
    assert w <= 105.4 and s <= 20.9 and e_ >= 105.6 and n >= 21.1
    assert e_ - 105.6 < 0.01 and w > 105.39
    # centres from the grid equal pyproj's
    lon, lat = centres_by_pyproj(grid)
    glon, glat = grid.centres_lonlat([0, grid.shape[0] - 1], [0, grid.shape[1] - 1])
    np.testing.assert_allclose(glon, [lon[0, 0], lon[-1, -1]], atol=1e-9)
    np.testing.assert_allclose(glat, [lat[0, 0], lat[-1, -1]], atol=1e-9)


def test_cell_grows_until_the_grid_fits() -> None:
    towers = towers_of(tower("T", 105.5, 21.0))
    box = (105.0, 20.5, 106.0, 21.5)  # ~104 × 111 km: ~46,000 cells of 500 m
    grid = coverage_grid(towers, box, grid=GridSettings(cell_m=500, max_cells=10_000))
    nrow, ncol = grid.shape
    assert nrow * ncol <= 10_000
    assert grid.cell_m > 500 and grid.cell_m % 50 == 0
    assert grid.cell_merc_m * math.cos(math.radians(grid.centre_lat_deg)) == pytest.approx(
        grid.cell_m
    )
    # the box cap counts too
    boxed = coverage_grid(
        towers, box, grid=GridSettings(cell_m=500, max_cells=10**9, max_box_cells=5_000)
    )
    assert boxed.shape[0] * boxed.shape[1] <= 5_000


def test_only_cells_centred_inside_the_area_are_computed() -> None:
    towers = towers_of(tower("T", 105.5, 21.0))
    triangle = Polygon([(105.4, 20.9), (105.6, 20.9), (105.5, 21.1)])
    square = Polygon([(105.62, 20.95), (105.66, 20.95), (105.66, 21.0), (105.62, 21.0)])
    area = [MultiPolygon([triangle]), square]  # all within 20 km (max reach) of the tower
    grid = coverage_grid(towers, area, AnalysisSettings(model="fspl"), GridSettings(cell_m=1000))
    lon, lat = centres_by_pyproj(grid)
    inside = shapely.contains_xy(shapely.union_all([triangle, square]), lon, lat)
    assert grid.n_cells_computed == int(inside.sum())
    assert np.isfinite(grid.level_dbm[inside]).all()  # all within reach of the tower
    assert np.isnan(grid.level_dbm[~inside]).all()


def test_crop_keeps_the_cells_in_place() -> None:
    towers = towers_of(tower("T", 105.5, 21.0))
    grid = coverage_grid(towers, (105.3, 20.8, 105.7, 21.2), grid=GridSettings(cell_m=1000))
    part = grid.crop((105.45, 20.95, 105.55, 21.05))
    assert part is not None
    r, c = grid.cell_of([part.bounds_lonlat[0] + 1e-6], [part.bounds_lonlat[3] - 1e-6])
    nrow, ncol = part.shape
    np.testing.assert_array_equal(
        part.level_dbm, grid.level_dbm[r[0] : r[0] + nrow, c[0] : c[0] + ncol]
    )
    w, s, e, n = part.bounds_lonlat
    assert w <= 105.45 and s <= 20.95 and e >= 105.55 and n >= 21.05
    assert grid.crop((100.0, 10.0, 100.1, 10.1)) is None


def test_analysed_area_is_the_provinces_with_villages_or_the_grown_hull() -> None:
    villages = gpd.GeoDataFrame(
        {"province_code": ["08", "08", "15"]},
        geometry=[Point(105.2, 21.2), Point(105.3, 21.3), Point(104.0, 22.5)],
        crs="EPSG:4326",
    )
    squares = {
        "08": Polygon([(105.0, 21.0), (105.5, 21.0), (105.5, 21.5), (105.0, 21.5)]),
        "15": Polygon([(103.5, 22.0), (104.5, 22.0), (104.5, 23.0), (103.5, 23.0)]),
        "11": Polygon([(102.5, 21.0), (103.3, 21.0), (103.3, 21.8), (102.5, 21.8)]),
    }
    boundaries = gpd.GeoDataFrame(
        {"province_code": list(squares)}, geometry=list(squares.values()), crs="EPSG:4326"
    )
    area = analysed_area(villages, boundaries)
    assert [g.equals(squares[k]) for g, k in zip(area, ["08", "15"], strict=True)] == [True] * 2
    hull = analysed_area(villages, margin_m=5_000)
    assert len(hull) == 1
    # every village is inside and ~5 km of margin around the farthest one
    assert shapely.contains_xy(hull[0], villages.geometry.x, villages.geometry.y).all()
    assert shapely.contains_xy(hull[0], 104.0, 22.5 + 4_500 / 111_320)
    assert not shapely.contains_xy(hull[0], 104.0, 22.5 + 5_500 / 111_320)


def test_settings_and_inputs_are_checked() -> None:
    towers = towers_of(tower("T", 105.5, 21.0))
    box = (105.4, 20.9, 105.6, 21.1)
    with pytest.raises(ScenarioError, match="coverage_technology"):
        coverage_grid(towers, box, grid=GridSettings(technology="LTE"))
    with pytest.raises(ScenarioError, match="coverage_cell_m"):
        coverage_grid(towers, box, grid=GridSettings(cell_m=0.0))
    with pytest.raises(CRSError, match="EPSG:4326"):
        coverage_grid(towers.to_crs(3857), box)
    # a terrain model in the analysis settings: the grid is terrain-free ("auto")
    grid = coverage_grid(towers, box, AnalysisSettings(model="itm"), GridSettings(cell_m=2000))
    assert (grid.model, grid.terrain) == ("auto", False)
    # no tower of the technology: every cell is NaN, no pair evaluated
    none = coverage_grid(towers, box, grid=GridSettings(cell_m=2000, technology="5G"))
    assert np.isnan(none.level_dbm).all() and none.n_pairs == 0


# --------------------------------------------------------------------------- outputs


def test_geotiff_round_trip_and_same_bytes(tmp_path: Path) -> None:
    towers = towers_of(tower("T", 105.5, 21.0))
    area = Polygon([(105.4, 20.9), (105.6, 20.9), (105.5, 21.1)])
    grid = coverage_grid(towers, area, grid=GridSettings(cell_m=1000))
    assert geotiff_name(grid) == "predicted_rsrp_4g.tif"
    path = write_geotiff(grid, tmp_path / geotiff_name(grid))
    with rasterio.open(path) as src:
        assert src.crs.to_epsg() == 3857
        assert tuple(src.transform)[:6] == pytest.approx(grid.transform)
        assert (src.height, src.width, src.count, src.dtypes[0]) == (*grid.shape, 1, "float32")
        data = src.read(1)
        tags = src.tags()
    np.testing.assert_array_equal(data, grid.level_dbm)  # NaN where NaN, same values
    assert tags["units"] == "dBm" and tags["technology"] == "4G" and tags["cell_m"] == "1000"
    again = write_geotiff(grid, tmp_path / "again.tif")
    assert path.read_bytes() == again.read_bytes()


def decode_palette_png(data: bytes) -> tuple[np.ndarray, list[str], list[int]]:
    """Indices, palette (#rrggbb) and alpha of an 8-bit palette PNG (filter 0 rows)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, palette, alpha = 8, b"", [], []
    width = height = 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        assert (
            zlib.crc32(kind + body)
            == struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])[0]
        )
        pos += 12 + length
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", body[:10])
            assert (depth, colour) == (8, 3)
        elif kind == b"PLTE":
            palette = ["#" + body[i : i + 3].hex().upper() for i in range(0, len(body), 3)]
        elif kind == b"tRNS":
            alpha = list(body)
        elif kind == b"IDAT":
            idat += body
    raw = np.frombuffer(zlib.decompress(idat), dtype=np.uint8).reshape(height, width + 1)
    assert (raw[:, 0] == 0).all()
    return raw[:, 1:], palette, alpha


def test_png_colours_cells_by_class() -> None:
    # 4G RSRP, threshold −110 dBm: ≥ −80 | −90…−80 | −100…−90 | −110…−100 | not drawn
    values = np.array(
        [
            [-75.0, -80.0, -85.0, -90.0],
            [-95.0, -100.0, -110.0, -110.5],
            [np.nan, -130, -30, -99.99],
        ],
        dtype=np.float32,
    )
    grid = CoverageGrid(
        values, 0.0, 0.0, 1.0, 1.0, 0.0, "4G", "RSRP", -110.0, "open_rural", "auto", False, 0, 0
    )
    index, palette, alpha = decode_palette_png(png_bytes(grid))
    np.testing.assert_array_equal(index, [[1, 1, 2, 2], [3, 3, 4, 0], [0, 0, 1, 3]])
    # ColorBrewer BuPu (5 classes: the 4 darkest), darkest = strongest; index 0 transparent
    assert palette[1:] == ["#810F7C", "#8856A7", "#8C96C6", "#B3CDE3"]
    assert alpha == [0, 255, 255, 255, 255]
    assert [c.label for c in level_classes(-110.0)] == [
        "≥ -80 dBm",
        "-90 to -80 dBm",
        "-100 to -90 dBm",
        "-110 to -100 dBm",
    ]
    assert png_bytes(grid) == png_bytes(dataclasses.replace(grid))
