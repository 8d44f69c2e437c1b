"""Backhaul: cheapest path to fibre on tiny hand-laid graphs, fibre spurs, LEO/VSAT,
line of sight over a synthetic DEM.

Positions are laid out with pyproj's ellipsoidal ``Geod``; band limits are far from
every distance used, so the haversine distances of the code (≤ 0.5 % off) pick the
same bands. Costs are the defaults over 10 years: 7 GHz 300e6 + 10 × 25e6 = 550e6,
15 GHz 200e6 + 10 × 20e6 = 400e6, 23 GHz 160e6 + 10 × 15e6 = 310e6, 80 GHz 250e6 +
10 × 8e6 = 330e6; LEO/VSAT 120e6 + 10 × 150e6 = 1,620e6; fibre 30e6 + 120e6/km +
10 × 12e6.
"""

from __future__ import annotations

import itertools
import math
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
from affine import Affine
from pyproj import Geod
from shapely.geometry import Point

from covgap.errors import SchemaError
from covgap.network import (
    BackhaulSettings,
    MicrowaveBand,
    fibre_points_of_presence,
    haversine_m,
    nearest_within,
    pairs_within,
    plan_backhaul,
    tower_sites,
)
from covgap.terrain import open_dem

GEOD = Geod(ellps="WGS84")
BASE = (104.0, 21.5)
YEARS = 10
NO_COMMUNES = BackhaulSettings(commune_centre_pops=False)


def _at(east_km: float, north_km: float = 0.0) -> Point:
    lon, lat = BASE
    if east_km:
        lon, lat, _ = GEOD.fwd(lon, lat, 90.0 if east_km > 0 else 270.0, abs(east_km) * 1000)
    if north_km:
        lon, lat, _ = GEOD.fwd(lon, lat, 0.0 if north_km > 0 else 180.0, abs(north_km) * 1000)
    return Point(lon, lat)


def _towers(rows: list[tuple[str, Point, str]], height_m: float = 30.0) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "tower_id": [r[0] for r in rows],
            "site_id": [r[0] for r in rows],
            "operator": "Viettel",
            "technology": "4G",
            "height_m": height_m,
            "status": "active",
            "backhaul": [r[2] for r in rows],
            "power": "grid",
        },
        geometry=[r[1] for r in rows],
        crs="EPSG:4326",
    )


def _sites(rows: list[tuple[str, Point]], **extra: Any) -> gpd.GeoDataFrame:
    data: dict[str, Any] = {
        "site_id": [r[0] for r in rows],
        "height_m": 30.0,
        "technology": "4G",
    }
    data.update(extra)
    return gpd.GeoDataFrame(data, geometry=[r[1] for r in rows], crs="EPSG:4326")


def _route(plan: Any, site_id: str) -> pd.Series:
    return plan.routes.set_index("site_id").loc[site_id]


def test_cheapest_path_on_a_tiny_graph_is_the_hand_computed_one() -> None:
    """PoP P at 0; site S at 35 km east (no direct hop: 7 GHz reaches 30 km). Relays
    (km east, north): R1 (29.5, 0.5): S–R1 5.5 km (23 GHz 310e6) + R1–P 29.5 km (7 GHz
    550e6) = 860e6; R2 (17.5, 5): 18.2 + 18.2 km, 7 GHz twice = 1,100e6; R3 (24, 0):
    S–R3 11 km (15 GHz 400e6) + R3–P 24 km (7 GHz) = 950e6, or on via R4 (13, 0) (15 GHz
    twice + 7 GHz) = 1,350e6. Cheapest: S → R1 → P, 860e6 < LEO/VSAT 1,620e6."""
    towers = _towers(
        [
            ("P", _at(0.0), "fibre"),
            ("R1", _at(29.5, 0.5), "microwave"),
            ("R2", _at(17.5, 5.0), "microwave"),
            ("R3", _at(24.0), "microwave"),
            ("R4", _at(13.0), "satellite"),
        ]
    )
    sites = _sites([("S", _at(35.0))])
    plan = plan_backhaul(sites, towers, None, NO_COMMUNES, opex_years=YEARS)
    r = _route(plan, "S")
    assert r["backhaul"] == "microwave"
    assert r["path"] == "S;relay:R1;P"
    assert r["pop_id"] == "P"
    assert r["hops"] == 2
    assert r["bands"] == "23GHz;7GHz"
    assert r["cost_vnd"] == pytest.approx(860e6, rel=1e-12)
    assert r["capex_vnd"] == pytest.approx(460e6, rel=1e-12)
    assert r["opex_vnd_per_year"] == pytest.approx(40e6, rel=1e-12)
    assert r["capacity_mbps"] == pytest.approx(200.0)  # the 7 GHz hop's
    hand_km = math.hypot(5.5, 0.5) + math.hypot(29.5, 0.5)
    assert r["length_m"] == pytest.approx(hand_km * 1000, rel=5e-3)
    link = plan.links.iloc[0]
    assert (link["kind"], link["hops"]) == ("microwave", 2)
    coords = list(link.geometry.coords)
    assert len(coords) == 3
    assert coords[0] == pytest.approx((sites.geometry.iloc[0].x, sites.geometry.iloc[0].y))
    assert coords[2] == pytest.approx((towers.geometry.iloc[0].x, towers.geometry.iloc[0].y))
    assert plan.pops["pop_id"].tolist() == ["P"]

    # One hop allowed: no terrestrial path, so LEO/VSAT.
    one = plan_backhaul(
        sites, towers, None, BackhaulSettings(commune_centre_pops=False, max_hops=1),
        opex_years=YEARS,
    )  # fmt: skip
    r1 = _route(one, "S")
    assert r1["backhaul"] == "satellite"
    assert r1["backhaul_reason"].startswith("LEO/VSAT: no terrestrial path to fibre within 1 hop")
    assert r1["cost_vnd"] == pytest.approx(1620e6)
    assert one.links.iloc[0]["length_m"] == 0.0


def test_fibre_on_site_spur_and_satellite_when_cheaper() -> None:
    towers = _towers([("P", _at(0.0), "fibre")])
    sites = _sites(
        [
            ("ON", _at(0.0)),  # on the fibre site: 30e6 + 10 × 12e6 = 150e6
            ("SPUR", _at(0.6)),  # 30e6 + 0.6 × 120e6 = 102e6 + 120e6 = 222e6 < 80 GHz 330e6
            ("HOP", _at(4.0)),  # 23 GHz: 310e6
        ]
    )
    plan = plan_backhaul(sites, towers, None, NO_COMMUNES, opex_years=YEARS)
    on, spur, hop = (_route(plan, s) for s in ("ON", "SPUR", "HOP"))
    assert (on["backhaul"], on["hops"], on["cost_vnd"]) == ("fibre", 0, pytest.approx(150e6))
    assert on["backhaul_reason"] == "fibre: on fibre PoP P"
    assert (spur["backhaul"], spur["hops"]) == ("fibre", 1)
    assert spur["cost_vnd"] == pytest.approx(222e6, rel=5e-3)
    assert re.fullmatch(r"fibre spur (59\d|60\d) m to fibre PoP P", spur["backhaul_reason"])
    assert (hop["backhaul"], hop["bands"], hop["cost_vnd"]) == (
        "microwave",
        "23GHz",
        pytest.approx(310e6),
    )
    # A satellite service cheaper than the hop wins (and says why).
    cheap_sat = BackhaulSettings(
        commune_centre_pops=False, satellite_capex_vnd=10e6, satellite_opex_vnd_per_year=20e6
    )
    plan2 = plan_backhaul(sites.iloc[2:], towers, None, cheap_sat, opex_years=YEARS)
    r = _route(plan2, "HOP")
    assert r["backhaul"] == "satellite"
    assert r["cost_vnd"] == pytest.approx(210e6)
    assert "cheaper than microwave" in r["backhaul_reason"]


def test_a_site_on_a_microwave_tower_shares_its_link() -> None:
    """Upgrading a tower whose own link is microwave: sharing it (50e6 + 10 × 20e6 =
    250e6) beats a new hop to the PoP 20 km away (7 GHz 550e6)."""
    towers = _towers([("P", _at(0.0), "fibre"), ("M", _at(20.0), "microwave")])
    sites = _sites([("U-M", _at(20.0))], host_site_id=["M"], host_backhaul=["microwave"])
    r = _route(plan_backhaul(sites, towers, None, NO_COMMUNES, opex_years=YEARS), "U-M")
    assert r["backhaul"] == "microwave"
    assert r["backhaul_reason"] == "shares the existing microwave link of host site M"
    assert r["cost_vnd"] == pytest.approx(250e6)


def test_demand_decides_the_bands() -> None:
    """A 5G site (1,000 Mbit/s) 1.5 km from the PoP: only E-band (80 GHz, 2 km) carries
    it (330e6); 20 km away nothing does and the satellite is too small, so LEO/VSAT with
    the shortfall said."""
    towers = _towers([("P", _at(0.0), "fibre")])
    sites = _sites([("NEAR", _at(1.5)), ("FAR", _at(20.0))], technology="5G")
    plan = plan_backhaul(sites, towers, None, NO_COMMUNES, opex_years=YEARS)
    assert _route(plan, "NEAR")["bands"] == "80GHz"
    assert _route(plan, "NEAR")["cost_vnd"] == pytest.approx(330e6)
    far = _route(plan, "FAR")
    assert far["backhaul"] == "satellite"
    assert "demand 1000 Mbit/s exceeds the satellite's 200" in far["backhaul_reason"]


def _ridge_dem(path: Path) -> Path:
    """200 m plain with a 450 m north–south ridge through BASE (see test_siting)."""
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


def test_line_of_sight_over_the_dem_routes_around_a_ridge(tmp_path: Path) -> None:
    """PoP 2.8 km west of the ridge, site 2.8 km east, a relay tower on the crest.
    Without terrain the direct 5.6 km hop is one 23 GHz hop (310e6). Over the DEM the
    ridge (650 m) blocks it (the ray is at 230 m); each valley sees the crest (≥ 18 m
    clear, 0.6 F1 ≈ 1 m at 23 GHz): two 23 GHz hops, 620e6."""
    towers = _towers(
        [("P", _at(-2.8), "fibre"), ("RIDGE", _at(0.0), "microwave")],
    )
    sites = _sites([("S", _at(2.8))])
    flat = plan_backhaul(sites, towers, None, NO_COMMUNES, opex_years=YEARS)
    assert _route(flat, "S")["path"] == "S;P"
    assert _route(flat, "S")["cost_vnd"] == pytest.approx(310e6)
    assert flat.n_los_checked == 0

    dem = open_dem(_ridge_dem(tmp_path / "ridge.tif"))
    hilly = plan_backhaul(sites, towers, None, NO_COMMUNES, opex_years=YEARS, dem=dem)
    r = _route(hilly, "S")
    assert r["path"] == "S;relay:RIDGE;P"
    assert r["bands"] == "23GHz;23GHz"
    assert r["cost_vnd"] == pytest.approx(620e6)
    assert hilly.n_los_checked > 0
    assert hilly.n_los_blocked > 0
    assert hilly.n_los_uncovered == 0


def test_points_of_presence_and_tower_sites() -> None:
    towers = _towers(
        [
            ("A1", _at(0.0), "fibre"),
            ("B1", _at(5.0), "microwave"),
            ("C1", _at(9.0), "microwave"),
        ]
    )
    towers.loc[2, "site_id"] = "B1"  # C1 is a second sector row of site B1 (fibre-less)
    towers.loc[2, "status"] = "planned"
    towers["colocation_headroom"] = [None, "false", None]
    table = tower_sites(towers)
    assert table["site_id"].tolist() == ["A1", "B1"]
    assert table["backhaul"].tolist() == ["fibre", "microwave"]
    assert table["headroom"].tolist() == [None, False]
    assert table["operators"].tolist() == [("Viettel",), ("Viettel",)]
    villages = gpd.GeoDataFrame(
        {
            "village_id": ["v1", "v2", "v3", "v4"],
            "commune_code": ["00001", "00001", "00002", None],
            "population": [100, 900, 50, 5000],
            "electrified": [True, True, False, True],
            "group": ["covered", "covered", "covered", "covered"],
        },
        geometry=[_at(1.0), _at(2.0), _at(3.0), _at(4.0)],
        crs="EPSG:4326",
    )
    pops = fibre_points_of_presence(towers, villages, BackhaulSettings())
    # A1 (fibre); commune 00001's most populous electrified village v2; 00002 has no
    # electrified village; v4 has no commune.
    assert pops["pop_id"].tolist() == ["A1", "commune:00001"]
    assert pops.geometry.iloc[1].equals(villages.geometry.iloc[1])
    assert pops["height_m"].tolist() == [30.0, 30.0]


def test_haversine_against_the_ellipsoid() -> None:
    p, q = _at(0.0), _at(30.0, 40.0)
    _, _, d = GEOD.inv(p.x, p.y, q.x, q.y)
    assert float(haversine_m(p.x, p.y, q.x, q.y)) == pytest.approx(d, rel=5e-3)


def test_bad_inputs() -> None:
    with pytest.raises(SchemaError, match="height_m"):
        plan_backhaul(
            _sites([("S", _at(0.0))]).drop(columns=["height_m"]),
            None,
            None,
            BackhaulSettings(),
            opex_years=YEARS,
        )
    with pytest.raises(ValueError, match="demand_mbps_by_technology has no '6G'"):
        plan_backhaul(
            _sites([("S", _at(0.0))], technology="6G"), None, None, BackhaulSettings(), opex_years=1
        )
    with pytest.raises(ValueError, match="max_hop_km"):
        MicrowaveBand(7.0, 0.0, 100.0, 1.0, 1.0)
    with pytest.raises(ValueError, match="max_hops"):
        BackhaulSettings(max_hops=0)


def test_ties_break_the_same_way_in_every_process(tmp_path: Path) -> None:
    """Two PoPs at the same distance (same cost): the chosen one must not depend on
    Python's per-process string hashing (PYTHONHASHSEED)."""
    code = (
        "import geopandas as gpd\n"
        "from shapely.geometry import Point\n"
        "from covgap.network import BackhaulSettings, plan_backhaul\n"
        "t = gpd.GeoDataFrame({'tower_id': ['W', 'E'], 'operator': 'Viettel',"
        " 'height_m': 30.0, 'backhaul': 'fibre'},"
        " geometry=[Point(103.95, 21.5), Point(104.05, 21.5)], crs='EPSG:4326')\n"
        "s = gpd.GeoDataFrame({'site_id': ['S'], 'height_m': 30.0, 'technology': '4G'},"
        " geometry=[Point(104.0, 21.5)], crs='EPSG:4326')\n"
        "r = plan_backhaul(s, t, None, BackhaulSettings(commune_centre_pops=False),"
        " opex_years=10).routes\n"
        "print(r['path'].iloc[0])\n"
    )
    outs = set()
    for seed in ("1", "2", "3", "4"):
        proc = subprocess.run(
            [sys.executable, "-c", code],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
            check=True,
        )
        outs.add(proc.stdout.strip())
    assert len(outs) == 1, outs


def _great_circle_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Haversine on the IUGG mean radius, written out here as the oracle."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6_371_008.8 * math.asin(math.sqrt(a))


def test_pairs_and_nearest_agree_with_brute_force() -> None:
    """Every pair within 7 km (sorted by a, distance, b), and the nearest within 7 km, as
    a double loop finds them; the same in blocks of 3 query points."""
    rng = np.random.default_rng(11)
    a_lon, a_lat = rng.uniform(103.9, 104.3, 40), rng.uniform(21.3, 21.7, 40)
    b_lon, b_lat = rng.uniform(103.9, 104.3, 60), rng.uniform(21.3, 21.7, 60)
    expected = sorted(
        (i, d, j)
        for i in range(40)
        for j in range(60)
        if (d := _great_circle_m(a_lon[i], a_lat[i], b_lon[j], b_lat[j])) <= 7000.0
    )
    for chunk in (3, 8192):
        ia, ib, d = pairs_within(a_lon, a_lat, b_lon, b_lat, 7000.0, chunk=chunk)
        assert list(zip(ia.tolist(), ib.tolist(), strict=True)) == [(i, j) for i, _, j in expected]
        assert d == pytest.approx([x for _, x, _ in expected], rel=1e-12)
    near, dist = nearest_within(a_lon, a_lat, b_lon, b_lat, 7000.0)
    for i in range(40):
        mine = [(x, j) for k, x, j in expected if k == i]
        if mine:
            assert (near[i], dist[i]) == (min(mine)[1], pytest.approx(min(mine)[0], rel=1e-12))
        else:
            assert near[i] == -1 and math.isnan(dist[i])


def test_a_remote_site_reaches_fibre_through_three_relays() -> None:
    """PoP P at 0; relays 25, 50 and 75 km east; site S at 100 km: the only terrestrial
    path is four 7 GHz hops, 4 × 550e6 = 2,200e6, dearer than LEO/VSAT (1,620e6). With
    the satellite dearer (5e9 + 10 × 150e6) the four hops are built; with three hops
    allowed there is no terrestrial path at all. NEAR, 4 km from P, is one 23 GHz hop
    (310e6) in the same plan."""
    towers = _towers(
        [
            ("P", _at(0.0), "fibre"),
            ("R1", _at(25.0), "microwave"),
            ("R2", _at(50.0), "microwave"),
            ("R3", _at(75.0), "microwave"),
        ]
    )
    sites = _sites([("S", _at(100.0)), ("NEAR", _at(4.0))])
    plan = plan_backhaul(sites, towers, None, NO_COMMUNES, opex_years=YEARS)
    r = _route(plan, "S")
    assert r["backhaul"] == "satellite"
    assert r["backhaul_reason"] == (
        "LEO/VSAT: 1,620 M VND over 10 years, cheaper than microwave (2,200 M VND)"
    )
    assert _route(plan, "NEAR")["cost_vnd"] == pytest.approx(310e6)
    dear = BackhaulSettings(commune_centre_pops=False, satellite_capex_vnd=5e9)
    r = _route(plan_backhaul(sites, towers, None, dear, opex_years=YEARS), "S")
    assert (r["backhaul"], r["hops"], r["path"]) == (
        "microwave",
        4,
        "S;relay:R3;relay:R2;relay:R1;P",
    )
    assert r["cost_vnd"] == pytest.approx(2200e6)
    three = BackhaulSettings(commune_centre_pops=False, satellite_capex_vnd=5e9, max_hops=3)
    r = _route(plan_backhaul(sites, towers, None, three, opex_years=YEARS), "S")
    assert r["backhaul_reason"].startswith("LEO/VSAT: no terrestrial path to fibre within 3 hop")


def _hop_cost(d_m: float, to_pop: bool) -> float:
    """The defaults over 10 years (module docstring): fibre spur ≤ 1 km to a PoP; 23 GHz
    ≤ 6 km 310e6 (cheaper than 80 GHz's 330e6 within 2 km); 15 GHz ≤ 12 km 400e6;
    7 GHz ≤ 30 km 550e6."""
    options = [math.inf]
    if to_pop and d_m <= 1000.0:
        options.append(30e6 + 120e6 * d_m / 1000.0 + 120e6)
    if d_m >= 1.0:
        options += [c for km, c in ((6, 310e6), (12, 400e6), (30, 550e6)) if d_m <= km * 1000]
    return min(options)


@pytest.mark.parametrize("seed", [4, 5, 6])
def test_cheapest_paths_equal_an_exhaustive_enumeration(seed: int) -> None:
    """3 PoPs, 9 relays and 6 sites in a 70 km square, up to 4 hops, LEO/VSAT priced out
    (9e9 + 10 × 150e6): every site's cost is the cheapest of all simple paths through at
    most 3 relays, enumerated here (each seed has sites behind relays; seed 4 four hops)."""
    rng = np.random.default_rng(seed)
    pts = [_at(float(x), float(y)) for x, y in rng.uniform(0.0, 70.0, (18, 2))]
    towers = _towers(
        [(f"P{k}", pts[k], "fibre") for k in range(3)]
        + [(f"R{k}", pts[3 + k], "microwave") for k in range(9)]
    )
    sites = _sites([(f"S{k}", pts[12 + k]) for k in range(6)])
    dear = BackhaulSettings(commune_centre_pops=False, satellite_capex_vnd=9e9)
    plan = plan_backhaul(sites, towers, None, dear, opex_years=YEARS)
    assert plan.routes["hops"].max() >= 2
    pops, relays = pts[:3], pts[3:12]

    def dist(p: Point, q: Point) -> float:
        return _great_circle_m(p.x, p.y, q.x, q.y)

    for k in range(6):
        s = pts[12 + k]
        best = min(_hop_cost(dist(s, p), True) for p in pops)
        for n in (1, 2, 3):
            for chain in itertools.permutations(relays, n):
                cost = _hop_cost(dist(s, chain[0]), False)
                cost += sum(_hop_cost(dist(u, v), False) for u, v in itertools.pairwise(chain))
                cost += min(_hop_cost(dist(chain[-1], p), True) for p in pops)
                best = min(best, cost)
        assert _route(plan, f"S{k}")["cost_vnd"] == pytest.approx(min(best, 10_500e6), rel=1e-9)
