"""Site planning: candidates, CP-SAT cover, power rules, terrain, options, bad input.

Expected values are worked by hand from the rules of DESIGN §3/§5 and the costs the
tests set; positions are laid out with pyproj's ellipsoidal ``Geod`` (independent of
the haversine in the code). Coverage facts the cases rely on (which candidate reaches
which village) are stated with their margins in dB where they are set up.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
from affine import Affine
from conftest import TEST_DATA
from pyproj import Geod
from shapely.geometry import Point, box

from covgap.analysis import (
    OPERATOR_SLUGS,
    OPERATORS,
    AnalysisSettings,
    assess_villages,
    coverage_matrix,
)
from covgap.errors import CRSError, ScenarioError, SchemaError
from covgap.io import load_towers, load_villages
from covgap.network import BackhaulSettings
from covgap.siting import SITE_COLUMNS, SitingSettings, plan_sites
from covgap.terrain import open_dem
from covgap.tomlbind import bind

GEOD = Geod(ellps="WGS84")
BASE = (104.0, 21.5)  # lon, lat in the Lào Cai hills
NAN = math.nan
#: No ring/high-ground candidates: the village sites and towers only (hand-checkable).
BARE = {"ring_points": 0, "high_ground_points": 0}


def _at(dx_m: float, dy_m: float = 0.0, base: tuple[float, float] = BASE) -> Point:
    """The point ``dx_m`` east and ``dy_m`` north of ``base`` (geodesic)."""
    lon, lat = base
    if dx_m:
        lon, lat, _ = GEOD.fwd(lon, lat, 90.0 if dx_m > 0 else 270.0, abs(dx_m))
    if dy_m:
        lon, lat, _ = GEOD.fwd(lon, lat, 0.0 if dy_m > 0 else 180.0, abs(dy_m))
    return Point(lon, lat)


def _far(k: int) -> Point:
    """Points 30 km apart: a new 4G site (1800 MHz, reach ≈ 11 km) covers only its own."""
    return _at(30_000.0 * (k + 1))


def _village(village_id: str, geometry: Point, **kw: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "village_id": village_id,
        "name": f"Bản {village_id}",
        "province_code": "15",
        "province": "Lào Cai",
        "commune_code": "04000",
        "population": 300,
        "electrified": False,
        "power_eta": None,
        "assigned_operator": None,
        "group": "low_signal_unpowered",
        "rsrp_viettel_dbm": NAN,
        "rsrp_vnpt_dbm": NAN,
        "rsrp_mobifone_dbm": NAN,
        "rsrp_vietnamobile_dbm": NAN,
        "geometry": geometry,
    }
    if kw.get("electrified") and "group" not in kw:
        row["group"] = "low_signal_powered"
    row.update(kw)
    return row


def _frame(rows: list[dict[str, Any]]) -> gpd.GeoDataFrame:
    frame = pd.DataFrame(rows)
    frame["power_eta"] = pd.to_datetime(frame["power_eta"]).astype("datetime64[s]")
    frame["electrified"] = frame["electrified"].astype(bool)
    frame["population"] = frame["population"].astype("int64")
    return gpd.GeoDataFrame(frame, geometry="geometry", crs="EPSG:4326")


def _towers(rows: list[dict[str, Any]]) -> gpd.GeoDataFrame:
    base = {
        "technology": "4G",
        "frequency_mhz": 2600.0,
        "bandwidth_mhz": 20.0,
        "height_m": 30.0,
        "eirp_dbm": 59.0,
        "azimuth_deg": NAN,
        "beamwidth_deg": NAN,
        "status": "active",
        "backhaul": "fibre",
        "power": "grid",
    }
    frame = pd.DataFrame([{**base, **r} for r in rows])
    if "site_id" not in frame:
        frame["site_id"] = frame["tower_id"]
    return gpd.GeoDataFrame(frame, geometry="geometry", crs="EPSG:4326")


def _site(sites: gpd.GeoDataFrame, site_id: str) -> pd.Series:
    rows = sites[sites["site_id"] == site_id]
    assert len(rows) == 1, (site_id, list(sites["site_id"]))
    return rows.iloc[0]


def _settings(**kw: Any) -> SitingSettings:
    return SitingSettings(**{**BARE, **kw})


# --------------------------------------------------------------------------- the cover


def test_colocation_beats_two_new_builds_with_the_known_optimum() -> None:
    """V1, V2 (assigned VNPT, electrified) 14 km apart; a Viettel tower T (30 m, grid,
    fibre) half-way. Reach (1800 MHz, 10 MHz, 60 dBm): T's tenant antennas (27 m) give
    ≈ −101 dBm at 7 km (9 dB above −110); a new site at V1 gives ≈ −115 dBm at V2.

    Hand costs over 10 years (defaults): co-location 0.55e9 + grid 50e6 + fibre on site
    30e6 = 0.63e9 capex; opex 110e6 + 40e6 + 12e6 = 162e6 → 2.25e9. A new site at a
    village: 1.5e9 + 50e6 + a 7 km 15 GHz hop to T 200e6 = 1.75e9; opex 150e6 + 40e6 +
    20e6 = 210e6 → 3.85e9, two of them 7.70e9. Optimum: the co-location alone.
    """
    villages = _frame(
        [
            _village("V1", _at(-7000.0), electrified=True, assigned_operator="VNPT"),
            _village("V2", _at(7000.0), electrified=True, assigned_operator="VNPT"),
        ]
    )
    towers = _towers([{"tower_id": "T", "operator": "Viettel", "geometry": Point(*BASE)}])
    plan = plan_sites(villages, towers, _settings())
    assert plan.status == "OPTIMAL"
    sites = plan.sites
    assert list(sites["site_id"]) == ["C-T-vnpt"]
    site = sites.iloc[0]
    assert (site["kind"], site["operator"], site["host_site_id"]) == ("colocation", "VNPT", "T")
    assert site["villages_served"] == "V1;V2"
    assert site["height_m"] == pytest.approx(27.0)
    assert (site["power"], site["power_rule"]) == ("grid", "host_grid")
    assert site["backhaul"] == "fibre"
    assert site["capex_vnd"] == pytest.approx(0.63e9, rel=1e-9)
    assert site["opex_vnd_per_year"] == pytest.approx(162e6, rel=1e-9)
    assert plan.objective_vnd == pytest.approx(2.25e9, rel=1e-9)
    assert plan.bound_vnd == pytest.approx(2.25e9, rel=1e-6)
    assert plan.gap == pytest.approx(0.0, abs=1e-9)
    assert plan.greedy_cost_vnd == pytest.approx(2.25e9, rel=1e-9)
    assert plan.uncoverable.empty
    # The two new sites are candidates at the hand cost (VNPT, the assigned operator).
    cands = plan.candidates.set_index("site_id")
    assert cands.loc["S-V1", "cost_vnd"] == pytest.approx(3.85e9, rel=1e-9)
    assert cands.loc["S-V1", "operator"] == "VNPT"
    # Viettel's own upgrade serves no VNPT village: not a candidate.
    assert not plan.candidates["site_id"].str.startswith("U-").any()

    # Without structural headroom (towers column) the plan is the two new sites.
    towers["colocation_headroom"] = False
    plan2 = plan_sites(villages, towers, _settings())
    assert list(plan2.sites["site_id"]) == ["S-V1", "S-V2"]
    assert plan2.objective_vnd == pytest.approx(7.70e9, rel=1e-9)
    assert set(plan2.sites["backhaul"]) == {"microwave"}
    assert set(plan2.links["kind"]) == {"microwave"}
    assert plan2.links["length_m"].to_numpy() == pytest.approx([7000.0, 7000.0], rel=5e-3)


def test_budget_picks_the_most_population_per_cost() -> None:
    """Four isolated villages; satellite backhaul for all (no towers, no PoPs: 150e6
    capex); solar costs 400e6 flat, grid 50e6. Capex: A, D (unpowered, solar) 2.05e9;
    B, C (electrified, grid) 1.70e9. Budget 3.5e9: B + C = 3.40e9 covers 1,700 people;
    D alone 1,600; any pair with a solar site costs ≥ 3.75e9. The greedy (most new
    people per VND: D first at 780/bn) stops at 1,600."""
    villages = _frame(
        [
            _village("A", _far(0), population=1000),
            _village("B", _far(1), population=900, electrified=True),
            _village("C", _far(2), population=800, electrified=True),
            _village("D", _far(3), population=1600),
        ]
    )
    settings = _settings(
        budget_vnd=3.5e9,
        power_capex_vnd={"grid": 50e6, "solar": 400e6, "generator": 150e6},
        solar_pv_vnd_per_kwp=0.0,
        battery_vnd_per_kwh=0.0,
        backhaul=BackhaulSettings(satellite_capex_vnd=150e6, commune_centre_pops=False),
    )
    plan = plan_sites(villages, None, settings)
    assert set(plan.sites["site_id"]) == {"S-B", "S-C"}
    assert plan.sites["capex_vnd"].sum() == pytest.approx(3.40e9, rel=1e-9)
    assert plan.population_covered == 1700
    assert plan.population_bound == 1700
    assert plan.status == "OPTIMAL"
    assert plan.gap == pytest.approx(0.0, abs=1e-12)
    assert plan.greedy_population == 1600
    unc = plan.uncoverable.set_index("village_id")
    assert sorted(unc.index) == ["A", "D"]
    assert all(r.startswith("budget:") for r in unc["reason"])
    assert "1,700 people within the budget" in plan.summary


def test_every_gap_village_is_covered_at_least_cost_with_shared_towers() -> None:
    """Three unassigned villages around one existing Viettel site U (2G only, grid,
    fibre) at 3 km: upgrading U (0.4e9 + 50e6 + 30e6 = 0.48e9; opex 60e6 + 40e6 +
    12e6 = 112e6 → 1.6e9) covers all three; a new site at a village costs 1.5e9 + 50e6
    + a 3 km 23 GHz hop 160e6 and 150e6 + 40e6 + 15e6 a year → 3.76e9."""
    villages = _frame(
        [
            _village("N", _at(0.0, 3000.0), electrified=True),
            _village("E", _at(3000.0), electrified=True),
            _village("S", _at(0.0, -3000.0), electrified=True),
        ]
    )
    towers = _towers(
        [
            {
                "tower_id": "U",
                "operator": "Viettel",
                "technology": "2G",
                "frequency_mhz": 900.0,
                "bandwidth_mhz": 0.2,
                "geometry": Point(*BASE),
            }
        ]
    )
    plan = plan_sites(villages, towers, _settings())
    assert list(plan.sites["site_id"]) == ["U-U"]
    site = plan.sites.iloc[0]
    assert site["kind"] == "upgrade"
    assert site["villages_served"] == "E;N;S"
    assert site["n_villages"] == 3
    assert site["population_served"] == 900
    assert plan.objective_vnd == pytest.approx(1.6e9, rel=1e-9)
    assert plan.cost_by_province.to_dict("records") == [
        {
            "province_code": "15",
            "province": "Lào Cai",
            "sites": 1,
            "new": 0,
            "upgrade": 1,
            "colocation": 0,
            "villages_served": 3,
            "population_served": 900,
            "capex_vnd": pytest.approx(0.48e9),
            "opex_vnd_per_year": pytest.approx(112e6),
            "cost_vnd": pytest.approx(1.6e9),
        }
    ]


def test_shared_mode_ignores_assignments() -> None:
    """Village assigned to VNPT beside a Viettel 2G site: per operator it needs a VNPT
    site (co-location, 2.25e9); shared, Viettel's upgrade (1.6e9) serves it."""
    villages = _frame([_village("X", _at(2000.0), electrified=True, assigned_operator="VNPT")])
    towers = _towers(
        [{"tower_id": "U", "operator": "Viettel", "technology": "2G", "geometry": Point(*BASE)}]
    )
    per_op = plan_sites(villages, towers, _settings())
    assert list(per_op.sites["site_id"]) == ["C-U-vnpt"]
    shared = plan_sites(villages, towers, _settings(operator_mode="shared"))
    assert list(shared.sites["site_id"]) == ["U-U"]
    assert shared.sites.iloc[0]["operator"] == "Viettel"
    assert shared.objective_vnd < per_op.objective_vnd


# --------------------------------------------------------------------------- power


def test_power_flips_from_solar_to_grid_when_power_eta_moves_earlier() -> None:
    def power(eta: str | None) -> pd.Series:
        villages = _frame([_village("U", _far(0), power_eta=eta)])
        return plan_sites(villages, None, _settings()).sites.iloc[0]

    late = power("2025-12-10")
    assert late["power"] == "solar"
    assert pd.isna(late["power_date"])
    assert late["power_reason"].startswith("power_eta 2025-12-10 after deadline 2025-11-30")
    assert late["power_rule"] == "solar_after"
    # 1 kW × 24 h = 24 kWh/day: 24 / (4 h × 0.75) = 8 kWp; 24 × 2 days / 0.8 = 60 kWh;
    # 80e6 + 8 × 12e6 + 60 × 5e6 = 476e6.
    assert late["pv_kwp"] == pytest.approx(8.0)
    assert late["battery_kwh"] == pytest.approx(60.0)
    assert late["power_capex_vnd"] == pytest.approx(476e6)

    early = power("2025-09-15")
    assert early["power"] == "grid"
    assert early["power_date"] == pd.Timestamp("2025-09-15")
    assert early["power_reason"] == "grid arrives 2025-09-15 (power_eta) before deadline 2025-11-30"
    assert early["power_capex_vnd"] == pytest.approx(50e6)
    # Same site, cheaper: 476e6 − 50e6 capex and (25e6 − 40e6) × 10 opex apart.
    assert late["cost_vnd"] - early["cost_vnd"] == pytest.approx(426e6 - 150e6)


def test_power_rules_hand_cases() -> None:
    start = pd.Timestamp("2025-07-15")
    villages = _frame(
        [
            _village("EL", _far(0), electrified=True),
            # Electrified covered village at BASE: grid source for NEAR (800 m), not FAR1200.
            _village("SRC", Point(*BASE), group="covered", electrified=True),
            _village("NEAR", _at(800.0)),
            # The 7-working-day tail must start by Sat 22 Nov to end on Sat 29 Nov (last
            # working day on or before Sun 30 Nov; Sun 23 Nov is off).
            _village("EDGE_OK", _far(4), power_eta="2025-11-22"),
            _village("EDGE_SUN", _far(5), power_eta="2025-11-23"),
            _village("EDGE_LATE", _far(6), power_eta="2025-11-24"),
        ]
    )
    sites = plan_sites(villages, None, _settings()).sites

    el = _site(sites, "S-EL")
    assert (el["power"], el["power_date"]) == ("grid", start)
    assert el["power_reason"] == "electrified village within 1 km (EL at 0 m)"

    near = _site(sites, "S-NEAR")
    assert (near["power"], near["power_date"]) == ("grid", start)
    match = re.fullmatch(
        r"electrified village within 1 km \(SRC at (\d+) m\)", near["power_reason"]
    )
    assert match and float(match.group(1)) == pytest.approx(800.0, abs=5.0)
    assert near["grid_line_km"] == pytest.approx(0.8, abs=0.005)
    assert near["power_capex_vnd"] == pytest.approx(50e6 + 0.8 * 400e6, abs=2e6)

    ok = _site(sites, "S-EDGE_OK")
    assert (ok["power"], ok["power_date"]) == ("grid", pd.Timestamp("2025-11-22"))
    for vid in ("EDGE_SUN", "EDGE_LATE"):
        s = _site(sites, f"S-{vid}")
        assert s["power"] == "solar", vid
        assert pd.isna(s["power_date"])
        assert "working days before deadline 2025-11-30" in s["power_reason"]
        assert "(grid needed by 2025-11-22)" in s["power_reason"]


def test_grid_extension_when_cost_and_time_beat_solar() -> None:
    """An unpowered village 1.5 km from an electrified covered one, no power_eta.
    Cheap line (50e6/km): 50e6 + 75e6 capex + 10 × 40e6 = 525e6 < solar 476e6 + 250e6 =
    726e6 → extension, built in 10 + ceil(5 × 1.5) = 18 working days from Tue 15 Jul
    (Sundays off): ready Tue 5 Aug 2025. At 400e6/km (50e6 + 600e6 + 400e6 = 1.05e9)
    solar wins."""
    villages = _frame(
        [
            _village("SRC", Point(*BASE), group="covered", electrified=True),
            _village("U", _at(1500.0)),
        ]
    )
    cheap = plan_sites(villages, None, _settings(grid_line_vnd_per_km=50e6)).sites.iloc[0]
    assert cheap["power"] == "grid"
    assert cheap["power_rule"] == "grid_extension"
    assert cheap["power_date"] == pd.Timestamp("2025-08-05")
    assert "grid extension 1.5 km from electrified village SRC" in cheap["power_reason"]
    assert cheap["grid_line_km"] == pytest.approx(1.5, abs=0.01)
    dear = plan_sites(villages, None, _settings()).sites.iloc[0]
    assert dear["power"] == "solar"
    assert dear["power_rule"] == "solar_cost"
    assert "grid extension costs" in dear["power_reason"]


def test_generator_only_as_last_resort() -> None:
    villages = _frame([_village("U", _far(0))])
    site = plan_sites(villages, None, _settings(solar_max_kwp=5.0)).sites.iloc[0]
    assert site["power"] == "generator"
    assert site["power_rule"] == "generator"
    assert "8.0 kWp > solar_max_kwp 5" in site["power_reason"]
    assert site["power_reason"].endswith("generator (last resort)")


# --------------------------------------------------------------------------- terrain


def _ridge_dem(path: Path) -> Path:
    """1″ EPSG:4326 DEM around BASE: 200 m plains with a north–south ridge through BASE,
    ``200 + 450 exp(−x²/2·700²) (0.8 + 0.2 exp(−y²/2·1500²))`` m (peak 650 m at BASE)."""
    px = 1.0 / 3600.0
    west, north = BASE[0] - 0.06, BASE[1] + 0.05
    cols, rows = round(0.12 / px), round(0.10 / px)
    lon = west + (np.arange(cols) + 0.5) * px
    lat = north - (np.arange(rows) + 0.5) * px
    x = (lon[None, :] - BASE[0]) * 111_320.0 * math.cos(math.radians(BASE[1]))
    y = (lat[:, None] - BASE[1]) * 110_574.0
    z = 200.0 + 450.0 * np.exp(-(x**2) / (2 * 700.0**2)) * (
        0.8 + 0.2 * np.exp(-(y**2) / (2 * 1500.0**2))
    )
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=cols,
        height=rows,
        count=1,
        dtype="float32",
        crs="EPSG:4326",
        transform=Affine(px, 0.0, west, 0.0, -px, north),
    ) as dst:
        dst.write(z.astype("float32"), 1)
    return path


def test_village_behind_a_ridge_needs_a_high_ground_site(tmp_path: Path) -> None:
    """A and B (electrified) 2.8 km either side of a 450 m ridge. Terrain-free, a site at
    A reaches B at 5.6 km (≈ −101 dBm, COST-231 open): one village site (5.07e9 with grid
    and satellite backhaul). Over the DEM (ITM) the ridge blocks A ↔ B; a site on the
    crest sees both (≈ −77 dBm) and costs 5.346e9 with solar, less than two village sites
    (10.14e9): the plan is one high-ground site; without high-ground candidates, two.
    Hand costs (no towers, no PoPs: LEO/VSAT 120e6 + 150e6/yr): village site 1.5e9 +
    50e6 + 120e6 = 1.67e9, opex 150e6 + 40e6 + 150e6 = 340e6 → 5.07e9; crest site
    1.5e9 + 476e6 + 120e6 = 2.096e9, opex 150e6 + 25e6 + 150e6 = 325e6 → 5.346e9."""
    villages = _frame(
        [
            _village("A", _at(-2800.0), electrified=True),
            _village("B", _at(2800.0), electrified=True),
        ]
    )
    settings = SitingSettings()
    flat = plan_sites(villages, None, settings)
    assert len(flat.sites) == 1
    assert flat.sites.iloc[0]["source"] == "village"
    assert flat.sites.iloc[0]["villages_served"] == "A;B"
    assert flat.objective_vnd == pytest.approx(5.07e9, rel=1e-9)

    dem = open_dem(_ridge_dem(tmp_path / "ridge.tif"))
    hilly = plan_sites(villages, None, settings, dem=dem)
    assert len(hilly.sites) == 1
    site = hilly.sites.iloc[0]
    assert site["source"] == "high_ground"
    # the crest near BASE stands 0.8·450 + 0.2·450·exp(−y²/…) ≈ 430–450 m above the plain
    assert 400.0 < site["ground_rise_m"] < 455.0
    assert site["villages_served"] == "A;B"
    assert site["power"] == "solar"
    assert abs(site.geometry.x - BASE[0]) < 0.002  # on the crest (x within ~200 m)
    assert hilly.objective_vnd == pytest.approx(5.346e9, rel=1e-9)
    cov = hilly.coverage.set_index(["location_id", "village_id"])
    assert not cov.loc[("S-A", "B"), "covered"]  # blocked by the ridge over the DEM
    assert cov.loc[("S-A", "B"), "model"] == "itm"
    assert flat.coverage.set_index(["location_id", "village_id"]).loc[("S-A", "B"), "covered"]
    assert "over the DEM (ITM)" in hilly.summary

    no_high = plan_sites(villages, None, SitingSettings(high_ground_points=0), dem=dem)
    assert list(no_high.sites["site_id"]) == ["S-A", "S-B"]


def test_uncoverable_villages_come_back_with_the_reason() -> None:
    """X sits in an excluded area 8 km wide: its own site and its ring (2 km) are
    inside, and nothing else is within reach; Y is 30 km away and gets its site."""
    villages = _frame(
        [
            _village("X", Point(*BASE)),
            _village("Y", _far(0)),
            _village("NOWHERE", Point()),
        ]
    )
    area = gpd.GeoDataFrame(
        geometry=[box(BASE[0] - 0.04, BASE[1] - 0.04, BASE[0] + 0.04, BASE[1] + 0.04)],
        crs="EPSG:4326",
    ).to_crs(32648)  # any CRS: reprojected inside
    plan = plan_sites(villages, None, SitingSettings(), excluded=area)
    assert list(plan.sites["site_id"]) == ["S-Y"]
    unc = plan.uncoverable.set_index("village_id")["reason"]
    assert sorted(unc.index) == ["NOWHERE", "X"]
    assert unc["NOWHERE"].startswith("no location")
    assert unc["X"] == (
        "distance: no candidate site within reach; its own location is in an excluded area"
    )
    assert "2 gap villages get no site: NOWHERE, X" in plan.summary

    # Only existing towers as candidates: a tower 14 km away does not reach X.
    towers = _towers([{"tower_id": "T", "operator": "Viettel", "geometry": _at(14_000.0)}])
    plan = plan_sites(
        villages.iloc[:1], towers, _settings(candidate_kinds=("upgrade", "colocation"))
    )
    reason = plan.uncoverable.set_index("village_id").loc["X", "reason"]
    assert re.match(
        r"distance: the best candidate [UC]-T, 1[34]\.\d km away, gives -11\d\.\d dBm", reason
    )
    assert reason.endswith("new sites are not a candidate kind")

    # Reached, but only by another operator's upgrade: the assigned operator is the reason.
    near = _towers(
        [{"tower_id": "V", "operator": "Viettel", "technology": "2G", "geometry": _at(3000.0)}]
    )
    near["colocation_headroom"] = False
    vnpt = villages.iloc[:1].assign(assigned_operator="VNPT")
    plan = plan_sites(vnpt, near, _settings(candidate_kinds=("upgrade", "colocation")))
    reason = plan.uncoverable.set_index("village_id").loc["X", "reason"]
    assert reason.startswith(
        "operator: a candidate reaches it but none of its assigned operator VNPT"
    )


def test_one_new_site_per_commune_and_required_sites() -> None:
    """Two villages of one commune, both assigned Viettel, 30 km apart: with one new
    site per commune per operator only one can be served; the other is reported."""
    villages = _frame(
        [
            _village("P", _far(0), assigned_operator="Viettel", population=500),
            _village("Q", _far(1), assigned_operator="Viettel", population=400),
        ]
    )
    plan = plan_sites(villages, None, _settings(one_new_site_per_commune=True))
    assert len(plan.sites) == 1
    unc = plan.uncoverable
    assert len(unc) == 1
    assert unc["reason"].iloc[0].startswith("constraint:")
    # A required ring site is built even though the village site is cheaper.
    ringed = plan_sites(
        villages.iloc[:1], None, SitingSettings(required_sites=("S-P-R1",), ring_points=6)
    )
    assert list(ringed.sites["site_id"]) == ["S-P-R1"]
    with pytest.raises(ScenarioError, match=r"'S-P-R9' is not a candidate site"):
        plan_sites(villages, None, _settings(required_sites=("S-P-R9",)))


# --------------------------------------------------------------------------- contracts


def test_sites_feed_the_schedule_and_columns_are_typed() -> None:
    villages = _frame(
        [
            _village("T02", _far(0), group="covered"),
            _village("T10", _far(1), electrified=True),
            _village("0007", _far(2)),
            _village("2025-01-01", _far(3)),
        ]
    )
    plan = plan_sites(villages, None, SitingSettings())
    sites = plan.sites
    assert list(sites.columns) == [*SITE_COLUMNS, "geometry"]
    assert sites.crs.to_epsg() == 4326
    assert list(sites["site_id"]) == sorted(["S-T10", "S-0007", "S-2025-01-01"])
    assert sites["deadline"].dtype == "datetime64[s]"
    assert sites["power_date"].dtype == "datetime64[s]"
    assert _site(sites, "S-T10")["deadline"] == pd.Timestamp("2025-08-31")
    assert _site(sites, "S-0007")["deadline"] == pd.Timestamp("2025-11-30")
    assert set(sites["kind"]) == {"new"}
    assert set(sites["power"]) <= {"grid", "solar"}
    assert list(plan.links.columns[:5]) == ["site_id", "operator", "kind", "length_m", "hops"]
    assert plan.links.crs.to_epsg() == 4326
    assert set(plan.links["kind"]) == {"satellite"}  # no towers, no commune PoPs
    assert all(g.coords[0] == g.coords[-1] for g in plan.links.geometry)  # at the site
    assert plan.uncoverable.empty


def test_operator_choice_for_unassigned_villages() -> None:
    villages = _frame(
        [
            _village("A", _far(0), assigned_operator="MobiFone", rsrp_viettel_dbm=-111.0),
            _village("B", _far(1), rsrp_viettel_dbm=-125.0, rsrp_vnpt_dbm=-113.0),
            _village("C", _far(2), rsrp_viettel_dbm=-115.0, rsrp_mobifone_dbm=-115.0),
            _village("E", _far(3)),
        ]
    )
    sites = plan_sites(villages, None, _settings()).sites.set_index("site_id")
    assert sites.loc["S-A", "operator"] == "MobiFone"
    assert sites.loc["S-A", "operator_reason"] == "assigned operator of 1 of 1 served village(s)"
    assert sites.loc["S-B", "operator"] == "VNPT"
    assert "-113.0 dBm" in sites.loc["S-B", "operator_reason"]
    assert sites.loc["S-C", "operator"] == "Viettel"  # ties: canonical order
    assert sites.loc["S-E", "operator"] == "Viettel"  # no signal: default


def test_coverage_matrix_is_the_analysis_engine() -> None:
    """Per village and operator, the best 4G/5G level over the matrix equals
    ``assess_villages``' predicted RSRP (same kernel walk and model; 1e-9 dB)."""
    villages = load_villages(TEST_DATA / "villages_small.csv").gdf
    villages["measured_rsrp_dbm"] = np.nan
    towers = load_towers(TEST_DATA / "towers_small.csv").gdf
    settings = AnalysisSettings()
    assessed = assess_villages(villages, towers, settings).villages
    mat = coverage_matrix(towers, villages, settings)
    assert mat.n_pairs > 0
    ops = towers["operator"].to_numpy()[mat.candidate]
    tech = towers["technology"].to_numpy()[mat.candidate]
    for op, slug in zip(OPERATORS, OPERATOR_SLUGS, strict=True):
        col = assessed[f"rsrp_{slug}_dbm"].to_numpy()
        for v in range(len(villages)):
            sel = (mat.village == v) & (ops == op) & np.isin(tech, ["4G", "5G"])
            if sel.any():
                assert mat.level_dbm[sel].max() == pytest.approx(col[v], abs=1e-9)
            else:
                assert np.isnan(col[v])
    ofdm = np.isin(tech, ["4G", "5G"])
    assert (mat.covered[ofdm] == (mat.level_dbm[ofdm] >= -110.0)).all()


def test_same_inputs_same_plan_whatever_the_row_order() -> None:
    rng = np.random.default_rng(7)
    rows = [
        _village(
            f"V{k:03d}",
            Point(104.0 + rng.uniform(0, 0.2), 21.5 + rng.uniform(0, 0.2)),
            electrified=bool(k % 3 == 0),
            rsrp_viettel_dbm=float(rng.uniform(-130, -111)),
            power_eta=None if k % 2 else "2025-10-01",
        )
        for k in range(16)
    ]
    a = plan_sites(_frame(rows), None, SitingSettings())
    b = plan_sites(_frame(list(reversed(rows))), None, SitingSettings())
    pd.testing.assert_frame_equal(a.sites, b.sites)
    pd.testing.assert_frame_equal(a.links, b.links)
    assert a.summary == b.summary


# --------------------------------------------------------------------------- bad input


def test_missing_costs_name_the_key() -> None:
    villages = _frame([_village("A", _far(0))])
    # As a scenario table sets it: the TOML table replaces the whole default mapping.
    settings = bind(
        SitingSettings,
        {"site_capex_vnd": {"new": 1.5e9, "upgrade": 0.4e9}},
        where="siting",
        file="s.toml",
    )
    with pytest.raises(ScenarioError, match=r"\[siting\] site_capex_vnd\.colocation is missing"):
        plan_sites(villages, None, settings)
    with pytest.raises(ScenarioError, match=r"power_opex_vnd_per_year\.generator"):
        plan_sites(
            villages, None, SitingSettings(power_opex_vnd_per_year={"grid": 1.0, "solar": 1.0})
        )
    # Kinds that are not planned need no cost.
    ok = SitingSettings(
        site_capex_vnd={"new": 1.5e9},
        site_opex_vnd_per_year={"new": 1e8},
        candidate_kinds=("new",),
    )
    assert len(plan_sites(villages, None, ok).sites) == 1


def test_bad_inputs_raise_covgap_errors() -> None:
    good = _frame([_village("A", _far(0))])
    with pytest.raises(SchemaError, match="rsrp_vnpt_dbm"):
        plan_sites(good.drop(columns=["rsrp_vnpt_dbm"]), None, SitingSettings())
    bad_group = good.copy()
    bad_group["group"] = "lõm sóng"
    with pytest.raises(SchemaError, match="group"):
        plan_sites(bad_group, None, SitingSettings())
    bad_op = good.copy()
    bad_op["assigned_operator"] = "VinaPhone"
    with pytest.raises(SchemaError, match="assigned_operator"):
        plan_sites(bad_op, None, SitingSettings())
    with pytest.raises(CRSError, match="EPSG:4326"):
        plan_sites(good.to_crs(3405), None, SitingSettings())
    lines = gpd.GeoDataFrame(geometry=[Point(*BASE).buffer(0.01).boundary], crs="EPSG:4326")
    with pytest.raises(SchemaError, match="polygons"):
        plan_sites(good, None, SitingSettings(), excluded=lines)


def test_settings_validation() -> None:
    with pytest.raises(ValueError, match="technology"):
        SitingSettings(technology="6G")
    with pytest.raises(ValueError, match="default_operator"):
        SitingSettings(default_operator="Vinaphone")
    with pytest.raises(ValueError, match="operator_mode"):
        SitingSettings(operator_mode="both")
    with pytest.raises(ValueError, match="candidate_kinds"):
        SitingSettings(candidate_kinds=("new", "tower"))
    with pytest.raises(ValueError, match="budget_vnd"):
        SitingSettings(budget_vnd=-1.0)
    assert SitingSettings().power_tail_working_days == 7
    assert SitingSettings().calendar.start == dt.date(2025, 7, 15)


def test_no_gap_villages_gives_an_empty_plan() -> None:
    villages = _frame([_village("C", _far(0), group="covered", electrified=True)])
    plan = plan_sites(villages, None, SitingSettings())
    assert plan.sites.empty
    assert list(plan.sites.columns) == [*SITE_COLUMNS, "geometry"]
    assert plan.status == "NO_GAP_VILLAGES"
    assert plan.links.empty


def test_a_village_behind_a_ridge_with_its_own_place_excluded_is_uncoverable_by_terrain(
    tmp_path: Path,
) -> None:
    """The ridge of the test above, B's own location and its ring excluded (a 4 km box),
    no high-ground candidates: only A's site and ring reach B, and the ridge blocks them
    (terrain-free they reach it at about −101 dBm): B comes back with the terrain reason."""
    villages = _frame(
        [
            _village("A", _at(-2800.0), electrified=True),
            _village("B", _at(2800.0), electrified=True),
        ]
    )
    b = _at(2800.0)
    area = gpd.GeoDataFrame(
        geometry=[box(b.x - 0.02, b.y - 0.02, b.x + 0.02, b.y + 0.02)], crs="EPSG:4326"
    )
    dem = open_dem(_ridge_dem(tmp_path / "ridge.tif"))
    settings = SitingSettings(high_ground_points=0)
    plan = plan_sites(villages, None, settings, dem=dem, excluded=area)
    assert list(plan.sites["villages_served"]) == ["A"]
    reason = plan.uncoverable.set_index("village_id").loc["B", "reason"]
    got = re.match(
        r"terrain: the best candidate (S-A\S*) gives (-\d+\.\d) dBm over the terrain "
        r"\((-\d+\.\d) dBm without\), below the threshold (-\d+) dBm; its own location is in "
        r"an excluded area$",
        reason,
    )
    assert got is not None, reason
    over, without, threshold = float(got[2]), float(got[3]), float(got[4])
    assert over < threshold <= without


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("group", "gap", "village B: group 'gap' is not one of covered, low_signal_powered"),
        ("assigned_operator", "Gmobile", "village B: assigned_operator 'Gmobile' is not one of"),
    ],
)
def test_a_village_value_outside_its_set_is_an_error_naming_the_column(
    column: str, value: str, message: str
) -> None:
    villages = _frame([_village("A", Point(*BASE)), _village("B", _far(0))])
    villages.loc[1, column] = value
    with pytest.raises(SchemaError, match=re.escape(message)) as err:
        plan_sites(villages, None, SitingSettings())
    assert err.value.column == column
