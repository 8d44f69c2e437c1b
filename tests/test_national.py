"""The national synthetic generator: seeded, exact counts, the loaders' contracts, real places.

Run on a small size (5,000 villages, 4,000 sites) to stay fast; the full size is the
benchmark's (benchmarks/bench_national.py).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import shared_or_skip

from covgap.errors import UsageError
from covgap.io import load_boundaries, load_towers, load_villages
from covgap.national import build_national, national_spec, write_national
from covgap.sample import SampleResult, towers_csv, villages_geojson

N_VILLAGES = 5_000
N_SITES = 4_000

VILLAGE_COLUMNS = [
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
    "source_row",
    "geometry",
]
TOWER_COLUMNS = [
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


@pytest.fixture(scope="module")
def shared() -> Path:
    return shared_or_skip("data")


@pytest.fixture(scope="module")
def small(shared: Path) -> SampleResult:
    spec = national_spec(n_villages=N_VILLAGES, n_sites=N_SITES, seed=11)
    return build_national(shared, spec=spec)


def test_same_seed_same_files_other_seed_other_files(shared: Path, small: SampleResult) -> None:
    again = build_national(
        shared, spec=national_spec(n_villages=N_VILLAGES, n_sites=N_SITES, seed=11)
    )
    assert villages_geojson(again.villages) == villages_geojson(small.villages)
    assert towers_csv(again.towers) == towers_csv(small.towers)
    other = build_national(
        shared,
        spec=national_spec(
            n_villages=N_VILLAGES, n_sites=N_SITES, seed=12, measured_share=0, assigned_share=0
        ),
    )
    assert villages_geojson(other.villages) != villages_geojson(small.villages)
    assert towers_csv(other.towers) != towers_csv(small.towers)


def test_exact_counts_and_the_sector_mix(small: SampleResult) -> None:
    v, t = small.villages, small.towers
    assert len(v) == N_VILLAGES and small.counts["villages"] == N_VILLAGES
    assert t["site_id"].nunique() == N_SITES == small.counts["sites"]
    per_site = t.groupby(["site_id", "technology"]).size().unstack(fill_value=0)
    assert (per_site["4G"] == 3).all()  # ≈ 3 sectors per site: exactly three 4G sectors
    assert set(per_site["5G"].unique()) <= {0, 3}
    assert set(per_site["2G"].unique()) <= {0, 1} and set(per_site["3G"].unique()) <= {0, 1}
    # binomial shares: 5 standard deviations of N_SITES draws
    sd = 5 * np.sqrt(0.25 / N_SITES)
    assert (per_site["5G"] == 3).mean() == pytest.approx(0.575, abs=sd)
    assert (per_site["2G"] == 1).mean() == pytest.approx(0.7, abs=sd)
    assert (per_site["3G"] == 1).mean() == pytest.approx(0.5, abs=sd)
    site_op = t.groupby("site_id")["operator"].agg(["first", "nunique"])
    assert (site_op["nunique"] == 1).all()  # one operator per site
    assert set(site_op["first"]) == {"Viettel", "VNPT", "MobiFone", "Vietnamobile"}
    assert (site_op["first"] == "Viettel").mean() == pytest.approx(0.44, abs=sd)
    # the sectors of a site are 120° apart and share its position and height
    lte = t.loc[t["technology"] == "4G"].sort_values("tower_id")
    az = lte["azimuth_deg"].to_numpy().reshape(-1, 3)
    assert np.allclose(np.sort(np.diff(np.sort(az, axis=1), axis=1), axis=1), 120.0)
    assert (t.groupby("site_id")["height_m"].nunique() == 1).all()
    assert (t.groupby("site_id").geometry.apply(lambda g: g.x.nunique() * g.y.nunique()) == 1).all()


def test_canonical_columns_and_ids(small: SampleResult) -> None:
    v, t = small.villages, small.towers
    assert list(v.columns) == VILLAGE_COLUMNS
    assert list(t.columns) == TOWER_COLUMNS
    assert v.crs.to_epsg() == 4326 and t.crs.to_epsg() == 4326
    assert v["village_id"].is_unique and t["tower_id"].is_unique
    assert v["village_id"].str.fullmatch(r"\d{8}").all()
    assert (v["village_id"].str[:5] == v["commune_code"]).all()
    assert (v["population"] > 0).all() and str(v["population"].dtype) == "int64"
    no_power = ~v["electrified"]
    assert v.loc[no_power, "power_eta"].notna().all() and v.loc[~no_power, "power_eta"].isna().all()
    assert set(t["technology"]) == {"2G", "3G", "4G", "5G"}
    assert set(t["status"]) <= {"active", "planned"}
    assert (t["frequency_mhz"].between(700, 3800)).all()
    assert t["height_m"].between(3, 150).all()


def test_files_load_through_covgap_io_without_a_reject(
    shared: Path, small: SampleResult, tmp_path: Path
) -> None:
    boundaries = load_boundaries(shared / "vn_provinces34.geojson")
    write_national(small, tmp_path / "v.geojson", tmp_path / "t.csv")
    write_national(small, tmp_path / "v.parquet", tmp_path / "t.parquet")
    for vf, tf in (("v.geojson", "t.csv"), ("v.parquet", "t.parquet")):
        villages = load_villages(tmp_path / vf, boundaries=boundaries)
        towers = load_towers(tmp_path / tf, boundaries=boundaries)
        assert villages.rejects == () and towers.rejects == ()
        assert len(villages.gdf) == N_VILLAGES and len(towers.gdf) == len(small.towers)
        assert villages.gdf["village_id"].tolist() == small.villages["village_id"].tolist()
        assert towers.gdf["tower_id"].tolist() == small.towers["tower_id"].tolist()
        got = villages.gdf.geometry
        assert np.allclose(got.x, small.villages.geometry.x, atol=1e-6)
        assert np.allclose(got.y, small.villages.geometry.y, atol=1e-6)
        eta = villages.gdf["power_eta"]
        want = small.villages["power_eta"]
        assert (eta.isna() == want.isna()).all() and (eta[eta.notna()] == want[want.notna()]).all()
    with pytest.raises(UsageError):
        write_national(small, tmp_path / "v.kml", tmp_path / "t.csv")


def test_villages_sit_in_real_communes_and_follow_place_density(
    shared: Path, small: SampleResult
) -> None:
    communes = pd.read_csv(shared / "vn_communes.csv", dtype=str, keep_default_na=False)
    by_code = communes.set_index("commune_code")
    v = small.villages
    assert v["commune_code"].isin(by_code.index).all()
    assert (by_code.loc[v["commune_code"], "province_code"].to_numpy() == v["province_code"]).all()
    assert (by_code.loc[v["commune_code"], "commune_full_name"].to_numpy() == v["commune"]).all()
    assert v["province_code"].nunique() == 34  # every province has villages
    # per province, villages rise with the real number of rural places (xã, where hamlets
    # are, plus GeoNames populated places)
    places = pd.read_csv(shared / "vn_populated_places.csv", dtype=str, keep_default_na=False)
    rural = communes.loc[communes["division_type"] == "xã", "province_code"].value_counts()
    real = rural.add(places["province_code"].value_counts(), fill_value=0)
    got = v["province_code"].value_counts().reindex(real.index, fill_value=0)
    assert real.rank().corr(got.rank()) > 0.5  # Spearman


def test_bad_sizes_are_refused() -> None:
    with pytest.raises(UsageError, match="n_villages"):
        national_spec(n_villages=0)
    with pytest.raises(UsageError, match="share_5g"):
        national_spec(share_5g=1.5)
