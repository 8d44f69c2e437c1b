"""NTIA Extended Hata as a terrain model of the analysis (``model = "ehata"``).

Known answers from outside the code under test: the DEM geometry of
``test_terrain_analysis`` (a 600 m ridge on a 200 m plain; the tower 4 km south of it
on a meridian, so the great-circle distance is 4 km by construction), the LTE N_RB of
TS 36.101 (10 MHz → 50), free space written out (ITU-R P.525: 32.45 + 20 log f_MHz +
20 log d_km) and the clutter losses and floor rule the analysis documents. The eHata
loss itself is :func:`covgap.ehata.ehata_db`'s on the profile :func:`covgap.terrain.
sample_profiles` gives (``test_ehata.py`` checks it against all of NTIA's reference
rows): here it is the oracle for the wiring — the analysis must use exactly that loss.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio
import pytest
import rasterio
from affine import Affine
from conftest import TEST_DATA, run_cli
from test_terrain_analysis import (
    CLUTTER_OPEN_DB,
    LAT0,
    LON0,
    N_RB_10MHZ,
    R_M,
    TOL_DB,
    TOWER_LAT,
    assert_no_nan_flags,
    ridge_m,
    towers,
    villages,
    write_dem,
)

from covgap.analysis import AnalysisSettings, assess_villages, coverage_matrix
from covgap.ehata import ehata_ex
from covgap.errors import ScenarioError
from covgap.pipeline import assessment_facts
from covgap.terrain import Dem, sample_profiles, terrain_path_loss_db

EHATA = AnalysisSettings(model="ehata")
CLUTTER_SUBURBAN_DB = 6.0  # covgap's default suburban clutter loss (a setting)
STEP_M = 30.0  # AnalysisSettings.terrain_step_m's default


def north_of_ridge(m: float) -> float:
    """Latitude ``m`` metres north of the ridge line (on the tower's meridian)."""
    return LAT0 + math.degrees(m / R_M)


def fspl(f_mhz: float, d_km: float) -> float:
    """ITU-R P.525 free-space basic transmission loss, dB."""
    return 32.45 + 20.0 * math.log10(f_mhz) + 20.0 * math.log10(d_km)


def oracle(dem: Dem, lat: float, f_mhz: float, hb_m: float, clutter: str) -> tuple[float, bool]:
    """eHata (median) over the profile tower → village, and whether it is in range."""
    prof = sample_profiles(dem, LON0, TOWER_LAT, LON0, lat, step_m=STEP_M)
    assert prof.covered.all()
    r = ehata_ex(f_mhz, hb_m, 1.5, prof.pfl[0], clutter, 0.5, pfl_from="base")
    return r.loss_db, r.in_range


def budget(loss_db: float, clutter_db: float) -> float:
    """RSRP of the 60 dBm, 10 MHz LTE carrier after ``loss_db`` and the clutter loss."""
    return 60.0 - 10.0 * math.log10(12 * N_RB_10MHZ) - loss_db - clutter_db


@pytest.fixture(scope="module")
def dem(tmp_path_factory: pytest.TempPathFactory) -> Dem:
    return write_dem(tmp_path_factory.mktemp("ehata") / "ridge.tif", ridge_m)


def test_ehata_loss_on_the_profile_plus_the_link_budget(dem: Dem) -> None:
    lat_open, lat_sub = north_of_ridge(1500.0), north_of_ridge(4000.0)
    v = villages([(LON0, lat_open), (LON0, lat_sub)])
    v["clutter"] = ["open_rural", "suburban"]
    t = towers([{"tower_id": "T1", "lon": LON0, "lat": TOWER_LAT}])
    t["frequency_mhz"] = 1800.0
    t["height_m"] = 60.0
    a = assess_villages(v, t, EHATA, dem=dem)
    assert (a.n_pairs, a.n_pairs_terrain, a.n_pairs_fallback) == (2, 2, 0)
    assert a.terrain_model == "ehata"
    assert a.villages["model"].tolist() == ["ehata", "ehata"]
    for i, (lat, clutter, clutter_db, d_km) in enumerate(
        [
            (lat_open, "open_rural", CLUTTER_OPEN_DB, 5.5),
            (lat_sub, "suburban", CLUTTER_SUBURBAN_DB, 8.0),
        ]
    ):
        loss, in_range = oracle(dem, lat, 1800.0, 60.0, clutter)
        assert loss > fspl(1800.0, d_km) + 20.0  # far above the free-space floor
        row = a.villages.iloc[i]
        assert row["best_rsrp_dbm"] == pytest.approx(budget(loss, clutter_db), abs=TOL_DB)
        assert bool(row["extrapolated"]) is (not in_range)
    # one pair is inside eHata's box, the other not (the mobile's effective height at
    # 4 km behind the ridge is below 1 m): the counts follow the flags
    assert a.villages["extrapolated"].tolist() == [False, True]
    assert a.n_extrapolated == 1
    assert_no_nan_flags(a.villages)
    facts = assessment_facts(a, EHATA)  # what manifest.json records
    assert (facts["model"], facts["terrain_model"], facts["n_pairs_terrain"]) == (
        "ehata",
        "ehata",
        2,
    )
    m = coverage_matrix(t, v, EHATA, dem=dem)
    assert m.model.tolist() == ["ehata", "ehata"] and m.terrain.all()
    assert m.extrapolated.tolist() == [False, True]
    assert m.level_dbm == pytest.approx(a.villages["best_rsrp_dbm"].to_numpy(), abs=1e-9)


def test_auto_with_ehata_as_its_terrain_model_matches(dem: Dem) -> None:
    v = villages([(LON0, north_of_ridge(1500.0))])
    t = towers([{"tower_id": "T1", "lon": LON0, "lat": TOWER_LAT}])
    t["frequency_mhz"] = 1800.0
    a = assess_villages(v, t, AnalysisSettings(model="auto", terrain_model="ehata"), dem=dem)
    b = assess_villages(v, t, EHATA, dem=dem)
    assert a.villages["model"].tolist() == ["ehata"] and a.terrain_model == "ehata"
    assert a.villages["best_rsrp_dbm"].iloc[0] == b.villages["best_rsrp_dbm"].iloc[0]


def test_a_700_mhz_tower_is_extrapolated_everywhere(dem: Dem) -> None:
    pts = [(LON0, north_of_ridge(m)) for m in (1500.0, 3000.0, 4000.0)]
    t = towers([{"tower_id": "T700", "lon": LON0, "lat": TOWER_LAT}])
    t["frequency_mhz"] = 700.0  # eHata's median loss is fitted to 1500–3000 MHz
    t["height_m"] = 60.0
    a = assess_villages(villages(pts), t, EHATA, dem=dem)
    assert a.villages["model"].tolist() == ["ehata"] * 3
    assert a.villages["extrapolated"].all()
    assert a.n_extrapolated == a.n_pairs == a.n_pairs_terrain == 3
    assert a.extrapolated_share == 1.0


def test_ehata_below_free_space_is_floored_at_free_space(dem: Dem) -> None:
    # a village on the ridge top, 4 km from a 200 m mast on the plain: eHata's rolling-
    # hills correction (mobile above the terrain's 10 % quantile) puts it below free space
    lat = north_of_ridge(0.0)
    loss, _ = oracle(dem, lat, 1800.0, 200.0, "open_rural")
    free = fspl(1800.0, 4.0)  # 4 km exactly on the sphere (how TOWER_LAT is placed)
    assert loss < free - 10.0  # more than the reach's 10 dB margin below free space
    t = towers([{"tower_id": "T1", "lon": LON0, "lat": TOWER_LAT}])
    t["frequency_mhz"] = 1800.0
    t["height_m"] = 200.0
    a = assess_villages(villages([(LON0, lat)]), t, EHATA, dem=dem)
    row = a.villages.iloc[0]
    assert row["model"] == "ehata"
    assert row["best_rsrp_dbm"] == pytest.approx(budget(free, CLUTTER_OPEN_DB), abs=TOL_DB)
    # terrain.py itself returns eHata unfloored; the floor is the analysis's rule
    raw = terrain_path_loss_db(
        dem, LON0, TOWER_LAT, 200.0, LON0, lat, 1.5, 1800.0, model="ehata",
        environment="open_rural",
    )  # fmt: skip
    assert raw.loss_db[0] == pytest.approx(loss, abs=1e-9)


def test_ehata_needs_a_dem() -> None:
    v = villages([(LON0, north_of_ridge(1500.0))])
    t = towers([{"tower_id": "T1", "lon": LON0, "lat": TOWER_LAT}])
    with pytest.raises(ScenarioError, match="'ehata' is a terrain model and needs a DEM"):
        assess_villages(v, t, EHATA)
    with pytest.raises(ScenarioError, match="needs a DEM"):
        coverage_matrix(t, v, EHATA)


def test_terrain_loss_reports_in_range_per_model(dem: Dem) -> None:
    lats = [north_of_ridge(1500.0), north_of_ridge(4000.0)]
    args = (dem, LON0, TOWER_LAT, 60.0, [LON0, LON0], lats, 1.5, 1800.0)
    eh = terrain_path_loss_db(*args, model="ehata", environment=["open_rural", "suburban"])
    assert eh.in_range.tolist() == [
        oracle(dem, lat, 1800.0, 60.0, c)[1]
        for lat, c in zip(lats, ["open_rural", "suburban"], strict=True)
    ]
    loss, covered = terrain_path_loss_db(*args, model="itm")  # still unpacks in two
    assert covered.all() and np.isfinite(loss).all()
    assert terrain_path_loss_db(*args, model="knife_edge").in_range.all()
    with pytest.raises(ScenarioError, match="takes only environment, reliability, strict"):
        terrain_path_loss_db(*args, model="ehata", climate=5)


# --------------------------------------------------------------------------- CLI


def write_lao_cai_dem(path: Path) -> Path:
    """A 3-arc-second DEM around the Lào Cai test towers (T-LC-1, T-LC-2) and village
    V002: a plain at 100 m rising 20 m per km eastward (EPSG:4326)."""
    res = 1.0 / 1200.0
    west, north, size = 103.97, 22.54, 96  # 103.97–104.05 E, 22.46–22.54 N
    lon = west + (np.arange(size) + 0.5) * res
    z = np.tile(100.0 + (lon - west) * 111_320.0 * math.cos(math.radians(22.5)) * 0.02,
                (size, 1)).astype("float32")  # fmt: skip
    with rasterio.open(
        path, "w", driver="GTiff", width=size, height=size, count=1, dtype="float32",
        crs="EPSG:4326", transform=Affine(res, 0.0, west, 0.0, -res, north), nodata=-9999.0,
    ) as dst:  # fmt: skip
        dst.write(z, 1)
    return path


def test_cli_analyse_with_ehata_over_a_dem(tmp_path: Path) -> None:
    dem = write_lao_cai_dem(tmp_path / "lao_cai_small.tif")
    v, t = TEST_DATA / "villages_small.csv", TEST_DATA / "towers_small.csv"
    res = run_cli(
        "analyse", "--villages", v, "--towers", t, "--model", "ehata", "--dem", dem,
        cwd=tmp_path,
    )  # fmt: skip
    assert res.returncode == 0, res.output
    assert "terrain (ehata)" in res.stdout
    out = pyogrio.read_dataframe(tmp_path / "out" / "villages_assessed.gpkg")
    by_id = out.set_index("village_id")
    # V002 is 0.7 km from T-LC-1 (1800 MHz), both on the DEM: eHata, under its 1 km
    assert by_id.loc["V002", "model"] == "ehata"
    assert bool(by_id.loc["V002", "extrapolated"])
    # the Hà Nội villages are off the DEM: terrain-free fallback
    assert by_id.loc["V001", "model"] in {"hata", "cost231", "rma"}
    summary = pd.read_csv(tmp_path / "out" / "summary_by_province.csv", dtype=str)
    assert "15" in set(summary["province_code"])  # Lào Cai is summarised


def test_cli_ehata_without_a_dem_is_a_one_line_usage_error(tmp_path: Path) -> None:
    v, t = TEST_DATA / "villages_small.csv", TEST_DATA / "towers_small.csv"
    res = run_cli("analyse", "--villages", v, "--towers", t, "--model", "ehata", cwd=tmp_path)
    assert res.returncode == 2, res.output
    lines = [ln for ln in res.stderr.splitlines() if ln.startswith("error")]
    assert len(lines) == 1
    assert "ehata" in lines[0] and "DEM" in lines[0] and "--dem" in lines[0]
