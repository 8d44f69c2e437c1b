"""Terrain in the best-server analysis: DEMs made here, the sample's synthetic DEM.

Known answers from outside the code: the geometry of the DEMs written here (a ridge
600 m above a plain between a tower and a village; which paths lie on the raster),
Hata 1980 written out with scalar ``math`` for the terrain-free level, the LTE
N_RB of TS 36.101 (10 MHz → 50), the real geography the sample DEM follows
(Fansipan 3,143 m at 103.775 E, 22.303 N; the Red River at Lào Cai city about 80 m;
Lào Cai's bounds from ``../shared/data/vn_provinces34.geojson``). The terrain loss
itself is :func:`covgap.terrain.terrain_path_loss_db`'s, tested against ITU-R P.526
and NTIA ITM in ``test_terrain.py`` / ``test_itm.py``: here it is the oracle for the
wiring (the analysis must use exactly that loss, per pair).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
from affine import Affine
from conftest import PROJECT, shared_or_skip
from shapely.geometry import Point

from covgap.analysis import AnalysisSettings, assess_villages, coverage_matrix
from covgap.demsample import SampleDemSpec, build_sample_dem, write_sample_dem
from covgap.errors import InputFileError, ScenarioError
from covgap.terrain import Dem, open_dem, terrain_path_loss_db

ARCSEC = 1.0 / 3600.0
LON0, LAT0 = 104.0, 22.0
R_M = 6_371_008.8
PLAIN_M, RIDGE_M, RIDGE_SIGMA_M = 200.0, 600.0, 150.0
TOWER_LAT = LAT0 - math.degrees(4000.0 / R_M)  # 4 km south of the ridge
VILLAGE_LAT = LAT0 + math.degrees(4000.0 / R_M)  # 4 km north of it
N_RB_10MHZ = 50  # TS 36.101 Table 5.6-1
CLUTTER_OPEN_DB = 3.0  # covgap's default open_rural clutter loss (a setting)
TOL_DB = 0.01
GROUPS = {"covered", "low_signal_powered", "low_signal_unpowered"}


def ridge_m(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """An east–west ridge along LAT0, 600 m above a 200 m plain (Gaussian, σ 150 m)."""
    y = (np.asarray(lat) - LAT0) * 110_574.0
    return PLAIN_M + RIDGE_M * np.exp(-(y * y) / (2.0 * RIDGE_SIGMA_M**2)) + 0.0 * lon


def flat_m(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    return np.full(np.broadcast(lon, lat).shape, PLAIN_M)


def write_dem(
    path: Path,
    surface: Callable[[np.ndarray, np.ndarray], np.ndarray],
    *,
    west: float = LON0 - 0.05,
    north: float = LAT0 + 0.05,
    size: int = 360,
    hole: tuple[slice, slice] | None = None,
) -> Dem:
    """A 1-arc-second EPSG:4326 GeoTIFF of ``surface`` (pixel centres), opened."""
    lon = west + (np.arange(size) + 0.5) * ARCSEC
    lat = north - (np.arange(size) + 0.5) * ARCSEC
    z = surface(*np.meshgrid(lon, lat)).astype("float32")
    if hole is not None:
        z[hole] = -9999.0
    with rasterio.open(
        path, "w", driver="GTiff", width=size, height=size, count=1, dtype="float32",
        crs="EPSG:4326", transform=Affine(ARCSEC, 0.0, west, 0.0, -ARCSEC, north), nodata=-9999.0,
    ) as dst:  # fmt: skip
        dst.write(z, 1)
    return open_dem(path)


def villages(points: list[tuple[float, float]], **cols: Any) -> gpd.GeoDataFrame:
    n = len(points)
    df = pd.DataFrame(
        {
            "village_id": pd.Series([f"V{i}" for i in range(n)], dtype="str"),
            "population": np.full(n, 100, dtype=np.int64),
            "electrified": np.ones(n, dtype=bool),
            "measured_rsrp_dbm": np.full(n, np.nan),
            "clutter": pd.Series(["open_rural"] * n, dtype=object),
            "source_row": np.arange(1, n + 1),
            **cols,
        }
    )
    return gpd.GeoDataFrame(df, geometry=[Point(p) for p in points], crs="EPSG:4326")


def towers(rows: list[dict[str, Any]]) -> gpd.GeoDataFrame:
    recs = []
    for i, r in enumerate(rows):
        recs.append(
            {
                "tower_id": r["tower_id"],
                "site_id": r.get("site_id", r["tower_id"]),
                "operator": "Viettel",
                "technology": "4G",
                "frequency_mhz": 900.0,
                "bandwidth_mhz": 10.0,
                "height_m": 30.0,
                "eirp_dbm": 60.0,
                "azimuth_deg": r.get("azimuth_deg", math.nan),
                "beamwidth_deg": 65.0,  # used only where an azimuth is given
                "status": "active",
                "source_row": i + 1,
            }
        )
    geom = [Point(r["lon"], r["lat"]) for r in rows]
    return gpd.GeoDataFrame(pd.DataFrame(recs), geometry=geom, crs="EPSG:4326")


TOWER = {"tower_id": "T1", "lon": LON0, "lat": TOWER_LAT}


def hata_open_db(f: float, hb: float, hm: float, d_km: float) -> float:
    """Hata 1980, small/medium-city a(hm), open-area correction."""
    lf = math.log10(f)
    a_hm = (1.1 * lf - 0.7) * hm - (1.56 * lf - 0.8)
    urban = 69.55 + 26.16 * lf - 13.82 * math.log10(hb) - a_hm
    urban += (44.9 - 6.55 * math.log10(hb)) * math.log10(d_km)
    return urban - 4.78 * lf**2 + 18.33 * lf - 40.94


def rsrp(loss_db: float) -> float:
    """RSRP at an open_rural village of the 60 dBm, 10 MHz LTE tower, dBm."""
    return 60.0 - 10.0 * math.log10(12 * N_RB_10MHZ) - loss_db - CLUTTER_OPEN_DB


def assert_no_nan_flags(v: gpd.GeoDataFrame) -> None:
    flags = ["low_signal", "covered_2g", "covered_3g", "covered_4g", "covered_5g",
             *[c for c in v.columns if c.startswith("low_signal_")], "extrapolated"]  # fmt: skip
    for c in flags:
        assert v[c].dtype == bool, c
    assert set(v["group"]) <= GROUPS
    assert v["model"].notna().all()
    has_server = v["best_tower_id"].notna()
    assert np.isfinite(v.loc[has_server, "margin_db"]).all()


# --------------------------------------------------------------------------- the ridge


@pytest.mark.parametrize(
    ("model", "terrain_model"), [("itm", "itm"), ("knife_edge", "knife_edge"), ("auto", "itm")]
)
def test_village_behind_a_ridge_is_low_signal_with_terrain_and_covered_without(
    tmp_path: Path, model: str, terrain_model: str
) -> None:
    dem = write_dem(tmp_path / "ridge.tif", ridge_m)
    v = villages([(LON0, VILLAGE_LAT)])
    t = towers([TOWER])
    free = assess_villages(v, t)
    d_km = 2 * 4.0  # along a meridian through the ridge
    want_free = rsrp(hata_open_db(900.0, 30.0, 1.5, d_km))
    assert want_free >= -110.0  # by hand: Hata sees no ridge, the village is covered
    row = free.villages.iloc[0]
    assert row["best_rsrp_dbm"] == pytest.approx(want_free, abs=0.05)
    assert row["group"] == "covered" and row["model"] == "hata"
    assert (free.n_pairs_terrain, free.n_pairs_fallback, free.terrain_model) == (0, 0, None)

    a = assess_villages(v, t, AnalysisSettings(model=model), dem=dem)
    row = a.villages.iloc[0]
    assert bool(row["low_signal"]) and row["group"] == "low_signal_powered"
    assert row["model"] == terrain_model and not bool(row["extrapolated"])
    assert (a.n_pairs, a.n_pairs_terrain, a.n_pairs_fallback) == (1, 1, 0)
    assert a.terrain_model == terrain_model
    assert row["best_rsrp_dbm"] < want_free - 20.0  # a 600 m ridge costs tens of dB
    assert_no_nan_flags(a.villages)


def test_the_terrain_loss_replaces_the_model_loss_exactly(tmp_path: Path) -> None:
    dem = write_dem(tmp_path / "ridge.tif", ridge_m)
    points = [(LON0, VILLAGE_LAT), (LON0 + 0.02, LAT0 + 0.03)]
    v = villages(points)
    for model in ("itm", "knife_edge"):
        a = assess_villages(v, towers([TOWER]), AnalysisSettings(model=model), dem=dem)
        oracle = terrain_path_loss_db(
            dem, LON0, TOWER_LAT, 30.0, [p[0] for p in points], [p[1] for p in points], 1.5,
            900.0, model=model,
        )  # fmt: skip
        assert oracle.covered.all()
        for i in range(2):
            want = rsrp(float(oracle.loss_db[i]))
            assert a.villages["best_rsrp_dbm"].iloc[i] == pytest.approx(want, abs=TOL_DB)


def test_terrain_settings_reach_the_terrain_model(tmp_path: Path) -> None:
    dem = write_dem(tmp_path / "ridge.tif", ridge_m)
    v, t = villages([(LON0, VILLAGE_LAT)]), towers([TOWER])
    settings = AnalysisSettings(model="itm", itm_climate=1, itm_n0_nunits=360.0, terrain_step_m=90)
    a = assess_villages(v, t, settings, dem=dem)
    oracle = terrain_path_loss_db(
        dem, LON0, TOWER_LAT, 30.0, LON0, VILLAGE_LAT, 1.5, 900.0, model="itm", step_m=90.0,
        climate=1, n_0_nunits=360.0,
    ).loss_db[0]  # fmt: skip
    assert a.villages["best_rsrp_dbm"].iloc[0] == pytest.approx(rsrp(float(oracle)), abs=TOL_DB)


def test_sectors_of_a_site_differ_only_by_their_pattern(tmp_path: Path) -> None:
    dem = write_dem(tmp_path / "ridge.tif", ridge_m)
    rows = [
        {"tower_id": f"S-{az:.0f}", "site_id": "S", "lon": LON0, "lat": TOWER_LAT,
         "azimuth_deg": az}
        for az in (0.0, 120.0, 240.0)
    ]  # fmt: skip
    v = villages([(LON0, VILLAGE_LAT)])
    a = assess_villages(v, towers(rows), AnalysisSettings(model="knife_edge"), dem=dem)
    oracle = terrain_path_loss_db(
        dem, LON0, TOWER_LAT, 30.0, LON0, VILLAGE_LAT, 1.5, 900.0, model="knife_edge"
    ).loss_db[0]
    # due north: the 0° sector points at the village (0 dB pattern loss) and wins
    row = a.villages.iloc[0]
    assert row["best_tower_id"] == "S-0"
    assert row["best_rsrp_dbm"] == pytest.approx(rsrp(float(oracle)), abs=TOL_DB)
    assert (a.n_pairs, a.n_pairs_terrain) == (3, 3)


# --------------------------------------------------------------------------- partial cover


def test_partial_dem_gives_terrain_where_it_covers_and_both_counts(tmp_path: Path) -> None:
    dem = write_dem(tmp_path / "ridge.tif", ridge_m)  # lon 103.95–104.05
    on = (LON0, VILLAGE_LAT)
    off = (LON0 + 0.08, VILLAGE_LAT)  # east of the DEM
    a = assess_villages(
        villages([on, off]), towers([TOWER]), AnalysisSettings(model="itm"), dem=dem
    )
    assert (a.n_pairs, a.n_pairs_terrain, a.n_pairs_fallback) == (2, 1, 1)
    assert a.villages["model"].tolist() == ["itm", "hata"]
    d_km = math.hypot(8.0, 0.08 * 111.32 * math.cos(math.radians(LAT0)))
    want = rsrp(hata_open_db(900.0, 30.0, 1.5, d_km))
    assert a.villages["best_rsrp_dbm"].iloc[1] == pytest.approx(want, abs=0.05)
    assert_no_nan_flags(a.villages)


def test_nodata_on_a_path_falls_back_and_no_nan_reaches_a_flag(tmp_path: Path) -> None:
    # a 40 × 40 px hole of nodata straddling the path to the second village
    dem = write_dem(tmp_path / "holes.tif", flat_m, hole=(slice(150, 190), slice(60, 100)))
    west = (LON0 - 0.03, LAT0 + 0.02)  # path crosses the hole
    north_v = (LON0, VILLAGE_LAT)
    v = villages([north_v, west], electrified=np.array([True, False]))
    a = assess_villages(v, towers([TOWER]), AnalysisSettings(model="knife_edge"), dem=dem)
    assert (a.n_pairs_terrain, a.n_pairs_fallback) == (1, 1)
    assert a.villages["model"].tolist()[0] == "knife_edge"
    assert a.villages["model"].tolist()[1] in {"hata", "cost231", "rma"}
    assert np.isfinite(a.villages["best_rsrp_dbm"]).all()
    assert_no_nan_flags(a.villages)


def test_a_dem_covering_none_of_the_area_is_an_error_naming_it(tmp_path: Path) -> None:
    far = write_dem(tmp_path / "far_away.tif", flat_m, west=110.0, north=15.0)
    v, t = villages([(LON0, VILLAGE_LAT)]), towers([TOWER])
    for model in ("auto", "itm", "knife_edge"):
        with pytest.raises(InputFileError, match=r"far_away\.tif covers none of the area") as err:
            assess_villages(v, t, AnalysisSettings(model=model), dem=far)
        assert str(err.value.file).endswith("far_away.tif")
        assert "lon 104.0000" in str(err.value)  # the area is named too
    # villages on the DEM, but no tower on it: no path lies on it either
    here = write_dem(tmp_path / "north_only.tif", flat_m, north=LAT0 + 0.1, size=300)
    with pytest.raises(InputFileError, match="none of the 1 village–sector paths"):
        assess_villages(v, t, AnalysisSettings(model="itm"), dem=here)
    # no tower anywhere: nothing to compute, not an error
    empty = assess_villages(v, t.iloc[:0], AnalysisSettings(model="itm"), dem=here)
    assert (empty.n_pairs, empty.n_pairs_terrain) == (0, 0)


def test_a_terrain_model_needs_a_dem(tmp_path: Path) -> None:
    v, t = villages([(LON0, VILLAGE_LAT)]), towers([TOWER])
    for model in ("itm", "knife_edge"):
        with pytest.raises(ScenarioError, match="needs a DEM"):
            assess_villages(v, t, AnalysisSettings(model=model))
        with pytest.raises(ScenarioError, match="needs a DEM"):
            coverage_matrix(t, v, AnalysisSettings(model=model))


def test_terrain_free_named_models_do_not_use_the_dem(tmp_path: Path) -> None:
    dem = write_dem(tmp_path / "ridge.tif", ridge_m)
    v, t = villages([(LON0, VILLAGE_LAT)]), towers([TOWER])
    a = assess_villages(v, t, AnalysisSettings(model="hata"), dem=dem)
    b = assess_villages(v, t, AnalysisSettings(model="hata"))
    assert (a.n_pairs_terrain, a.n_pairs_fallback, a.terrain_model) == (0, 0, None)
    assert a.villages["best_rsrp_dbm"].iloc[0] == b.villages["best_rsrp_dbm"].iloc[0]


def test_coverage_matrix_uses_the_same_terrain(tmp_path: Path) -> None:
    dem = write_dem(tmp_path / "ridge.tif", ridge_m)
    v, t = villages([(LON0, VILLAGE_LAT)]), towers([TOWER])
    settings = AnalysisSettings(model="knife_edge")
    m = coverage_matrix(t, v, settings, dem=dem)
    a = assess_villages(v, t, settings, dem=dem)
    assert m.model.tolist() == ["knife_edge"] and m.terrain.tolist() == [True]
    assert m.level_dbm[0] == pytest.approx(a.villages["best_rsrp_dbm"].iloc[0], abs=1e-9)


# --------------------------------------------------------------------------- sample DEM


def test_sample_dem_generator_is_deterministic() -> None:
    small = SampleDemSpec(west=103.70, south=22.20, east=103.90, north=22.40)
    a, b = build_sample_dem(small), build_sample_dem(small)
    assert a.shape == (240, 240) and a.dtype == np.int16
    np.testing.assert_array_equal(a, b)
    other = build_sample_dem(dataclasses.replace(small, seed=small.seed + 1))
    assert (other != a).any()


@pytest.fixture(scope="module")
def sample_dem(tmp_path_factory: pytest.TempPathFactory) -> Dem:
    return open_dem(write_sample_dem(tmp_path_factory.mktemp("dem") / "lao_cai.tif"))


def test_sample_dem_follows_lao_cai(sample_dem: Dem) -> None:
    provinces = shared_or_skip("data", "vn_provinces34.geojson")
    lao_cai = gpd.read_file(provinces).set_index("province_code").loc["15", "geometry"]
    w, s, e, n = sample_dem.bounds_lonlat
    pw, ps, pe, pn = lao_cai.bounds
    assert w <= pw and s <= ps and e >= pe and n >= pn  # the whole province is on it
    assert sample_dem.crs.to_epsg() == 4326
    with rasterio.open(sample_dem.path) as src:
        z = src.read(1)
        assert src.res == pytest.approx((1 / 1200, 1 / 1200))  # 3 arc-seconds
        assert src.tags()["SYNTHETIC"].startswith("yes")

        def around(lon: float, lat: float, r_deg: float) -> np.ndarray:
            row, col = src.index(lon, lat)
            k = round(r_deg * 1200)
            return z[row - k : row + k + 1, col - k : col + k + 1]

        # Fansipan (3,143 m) stands on the Hoàng Liên Sơn crest; the Red River at
        # Lào Cai city runs at about 80 m
        assert around(103.775, 22.303, 0.03).max() > 2500
        assert around(103.96, 22.50, 0.02).min() < 300
    assert z.min() >= 25 and z.max() <= 3200
    assert 400 < np.median(z) < 1400


def test_analyse_the_sample_with_itm_over_the_sample_dem(sample_dem: Dem) -> None:
    from covgap.io import load_towers, load_villages
    from covgap.scenario import load_scenario

    sc = load_scenario(PROJECT / "scenarios" / "vietnam_2025.toml")
    v = load_villages(PROJECT / "data" / "villages" / "villages.geojson").gdf
    t = load_towers(PROJECT / "data" / "towers" / "towers.csv").gdf
    a = assess_villages(v, t, dataclasses.replace(sc.analysis, model="itm"), dem=sample_dem)
    assert a.n_pairs_terrain > 0 and a.n_pairs_fallback > 0
    assert a.n_pairs_terrain + a.n_pairs_fallback == a.n_pairs
    models = a.villages["model"]
    on_terrain = models == "itm"
    assert on_terrain.any()
    assert (a.villages.loc[on_terrain, "province_code"] == "15").any()  # Lào Cai's villages
    w, s, e, n = sample_dem.bounds_lonlat
    x, y = a.villages.geometry.x, a.villages.geometry.y
    assert not (on_terrain & ~((x >= w) & (x <= e) & (y >= s) & (y <= n))).any()
    assert_no_nan_flags(a.villages)
