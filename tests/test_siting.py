"""Siting, first slice: one site per gap village; operator and power rules on hand cases.

Expected values come from the rules in DESIGN §3/§5 applied by hand; distances are
set with pyproj's ellipsoidal ``Geod`` (independent of the haversine in the code).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from pyproj import Geod
from shapely.geometry import Point

from covgap.errors import CRSError, SchemaError
from covgap.siting import FIRST_SLICE_METHOD, SITE_COLUMNS, SitingSettings, plan_sites

GEOD = Geod(ellps="WGS84")
BASE = (104.0, 21.5)  # lon, lat in Yên Bái / Lào Cai hills
NAN = math.nan


def _east_of(base: tuple[float, float], distance_m: float) -> Point:
    lon, lat, _ = GEOD.fwd(base[0], base[1], 90.0, distance_m)
    return Point(lon, lat)


def _west(distance_m: float) -> Point:
    lon, lat, _ = GEOD.fwd(BASE[0], BASE[1], 270.0, distance_m)
    return Point(lon, lat)


def _far(k: int) -> Point:
    """Points 20 km apart from each other and from BASE: no grid reach between them."""
    return _east_of(BASE, 20_000.0 * (k + 1))


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
    row.update(kw)
    return row


def _reason_distance_m(reason: str) -> float:
    match = re.search(r"at (\d+) m\)", reason)
    assert match, reason
    return float(match.group(1))


def _frame(rows: list[dict[str, Any]]) -> gpd.GeoDataFrame:
    frame = pd.DataFrame(rows)
    frame["power_eta"] = pd.to_datetime(frame["power_eta"]).astype("datetime64[s]")
    frame["electrified"] = frame["electrified"].astype(bool)
    frame["population"] = frame["population"].astype("int64")
    return gpd.GeoDataFrame(frame, geometry="geometry", crs="EPSG:4326")


def _site(plan_sites_frame: gpd.GeoDataFrame, village_id: str) -> pd.Series:
    rows = plan_sites_frame[plan_sites_frame["site_id"] == f"S-{village_id}"]
    assert len(rows) == 1, village_id
    return rows.iloc[0]


def test_one_site_per_gap_village_at_its_location() -> None:
    villages = _frame(
        [
            _village("T02", _far(0), group="covered", electrified=True),
            _village("T10", _far(1), group="low_signal_powered", electrified=True),
            _village("0007", _far(2)),
            _village("2025-01-01", _far(3)),
        ]
    )
    plan = plan_sites(villages, None, SitingSettings())
    sites = plan.sites
    assert list(sites.columns) == [*SITE_COLUMNS, "geometry"]
    assert sites.crs.to_epsg() == 4326
    # Covered village gets none; ids stay text; sorted by site_id.
    assert list(sites["site_id"]) == sorted(["S-T10", "S-0007", "S-2025-01-01"])
    assert set(sites["kind"]) == {"new"}
    assert set(sites["technology"]) == {"4G"}
    assert list(sites["height_m"]) == [30.0, 30.0, 30.0]
    assert list(sites["n_villages"]) == [1, 1, 1]
    assert set(sites["planning_method"]) == {FIRST_SLICE_METHOD}
    assert plan.method == FIRST_SLICE_METHOD
    for _, site in sites.iterrows():
        vid = site["villages_served"]
        village = villages[villages["village_id"] == vid].iloc[0]
        assert site.geometry.equals(village.geometry)
        assert site["population_served"] == 300
    assert plan.uncoverable.empty
    assert set(sites["backhaul"]) == {"microwave"}
    assert all(
        r.startswith("first slice: backhaul not planned yet") for r in sites["backhaul_reason"]
    )


def test_group_and_deadline() -> None:
    villages = _frame(
        [
            _village("P", _far(0), group="low_signal_powered", electrified=True),
            _village("U", _far(1), group="low_signal_unpowered"),
        ]
    )
    sites = plan_sites(villages, None, SitingSettings()).sites
    assert _site(sites, "P")["group"] == "low_signal_powered"
    assert _site(sites, "P")["deadline"] == pd.Timestamp("2025-08-31")
    assert _site(sites, "U")["group"] == "low_signal_unpowered"
    assert _site(sites, "U")["deadline"] == pd.Timestamp("2025-11-30")
    assert sites["deadline"].dtype == "datetime64[s]"
    assert sites["power_date"].dtype == "datetime64[s]"


def test_operator_choice_rules() -> None:
    villages = _frame(
        [
            # Assigned operator wins over a stronger signal of another operator.
            _village("A", _far(0), assigned_operator="MobiFone", rsrp_viettel_dbm=-111.0),
            # Strongest existing signal (closest to the threshold).
            _village("B", _far(1), rsrp_viettel_dbm=-125.0, rsrp_vnpt_dbm=-113.0),
            # Ties go to canonical order: Viettel before MobiFone …
            _village("C", _far(2), rsrp_viettel_dbm=-115.0, rsrp_mobifone_dbm=-115.0),
            # … and VNPT before Vietnamobile.
            _village("D", _far(3), rsrp_vnpt_dbm=-117.5, rsrp_vietnamobile_dbm=-117.5),
            # No signal from anyone: Viettel.
            _village("E", _far(4)),
        ]
    )
    sites = plan_sites(villages, None, SitingSettings()).sites
    assert _site(sites, "A")["operator"] == "MobiFone"
    assert _site(sites, "A")["operator_reason"] == "assigned operator"
    assert _site(sites, "B")["operator"] == "VNPT"
    assert "-113.0 dBm" in _site(sites, "B")["operator_reason"]
    assert _site(sites, "C")["operator"] == "Viettel"
    assert _site(sites, "D")["operator"] == "VNPT"
    assert _site(sites, "E")["operator"] == "Viettel"
    assert _site(sites, "E")["operator_reason"].startswith("no signal from any operator")


def test_power_rules_hand_cases() -> None:
    start = pd.Timestamp("2025-07-15")
    villages = _frame(
        [
            # Electrified gap village: grid at once.
            _village("EL", _far(0), group="low_signal_powered", electrified=True),
            # Electrified covered village at BASE: grid source for NEAR (800 m), not FAR1200.
            _village("SRC", Point(*BASE), group="covered", electrified=True),
            _village("NEAR", _east_of(BASE, 800.0)),
            _village("FAR1200", _west(1200.0)),
            # power_eta well before the deadline: grid from that date.
            _village("ETA", _far(2), power_eta="2025-09-15"),
            # power_eta after the deadline: solar.
            _village("LATE", _far(3), power_eta="2025-12-10"),
            # Boundary (hand): the 7-working-day tail must start by Sat 22 Nov to end on
            # Sat 29 Nov (last working day on or before Sun 30 Nov; Sun 23 Nov off).
            _village("EDGE_OK", _far(4), power_eta="2025-11-22"),
            _village("EDGE_SUN", _far(5), power_eta="2025-11-23"),
            _village("EDGE_LATE", _far(6), power_eta="2025-11-24"),
        ]
    )
    sites = plan_sites(villages, None, SitingSettings()).sites

    el = _site(sites, "EL")
    assert (el["power"], el["power_date"]) == ("grid", start)
    assert el["power_reason"].startswith("electrified village within 1 km")

    near = _site(sites, "NEAR")
    assert (near["power"], near["power_date"]) == ("grid", start)
    assert near["power_reason"].startswith("electrified village within 1 km (SRC at ")
    assert _reason_distance_m(near["power_reason"]) == pytest.approx(800.0, abs=5.0)

    far = _site(sites, "FAR1200")
    assert far["power"] == "solar"
    assert pd.isna(far["power_date"])
    assert far["power_reason"] == "no power_eta: solar+battery"

    eta = _site(sites, "ETA")
    assert (eta["power"], eta["power_date"]) == ("grid", pd.Timestamp("2025-09-15"))
    assert eta["power_reason"] == "grid arrives 2025-09-15 (power_eta) before deadline 2025-11-30"

    late = _site(sites, "LATE")
    assert late["power"] == "solar"
    assert pd.isna(late["power_date"])
    assert late["power_reason"] == "power_eta 2025-12-10 after deadline 2025-11-30: solar+battery"

    ok = _site(sites, "EDGE_OK")
    assert (ok["power"], ok["power_date"]) == ("grid", pd.Timestamp("2025-11-22"))
    for vid in ("EDGE_SUN", "EDGE_LATE"):
        s = _site(sites, vid)
        assert s["power"] == "solar", vid
        assert pd.isna(s["power_date"])
        assert "solar+battery" in s["power_reason"]
        assert "2025-11-22" in s["power_reason"]  # the latest grid date that works

    # Summary: 8 gap sites; grid: EL, NEAR (at once), ETA, EDGE_OK (power_eta) = 4;
    # solar: LATE after the deadline, EDGE_SUN and EDGE_LATE too close, FAR1200 none.
    summary = plan_sites(villages, None, SitingSettings()).summary
    assert "8 new sites" in summary
    assert "Power: 4 on grid (2 at once from an electrified village nearby, 2 from their " in (
        summary
    )
    assert "4 on solar+battery" in summary
    assert "after the deadline (1), too close to it for the build (2) or absent (1)" in summary


def test_grid_reach_is_a_setting() -> None:
    villages = _frame(
        [
            _village("SRC", Point(*BASE), group="covered", electrified=True),
            _village("X", _west(1200.0)),
        ]
    )
    sites = plan_sites(villages, None, SitingSettings(grid_reach_m=1500.0)).sites
    x = _site(sites, "X")
    assert x["power"] == "grid"
    assert x["power_reason"].startswith("electrified village within 1500 m (SRC at ")
    # Haversine vs the WGS84 ellipsoid: within 0.5 % (6 m) at 1.2 km.
    assert _reason_distance_m(x["power_reason"]) == pytest.approx(1200.0, abs=6.0)


def test_capex_and_opex_hand_values() -> None:
    villages = _frame(
        [
            _village("EL", _far(0), group="low_signal_powered", electrified=True),
            _village("SRC", Point(*BASE), group="covered", electrified=True),
            _village("NEAR", _east_of(BASE, 800.0)),
            _village("SOL", _far(1)),
        ]
    )
    sites = plan_sites(villages, None, SitingSettings()).sites
    # New site 1.5e9 + grid connection 50e6 (+ 400e6 VND/km of line).
    assert _site(sites, "EL")["capex_vnd"] == pytest.approx(1.55e9, rel=1e-9)
    # 0.8 km of line: 1.5e9 + 50e6 + 0.8 × 400e6 = 1.87e9 (haversine vs ellipsoid ≤ 0.5 %
    # of 800 m → ≤ 1.6e6 VND).
    assert _site(sites, "NEAR")["capex_vnd"] == pytest.approx(1.87e9, abs=2e6)
    # Solar + battery: 1.5e9 + 450e6.
    assert _site(sites, "SOL")["capex_vnd"] == pytest.approx(1.95e9, rel=1e-9)
    assert _site(sites, "EL")["opex_vnd_per_year"] == pytest.approx(150e6 + 40e6, rel=1e-9)
    assert _site(sites, "SOL")["opex_vnd_per_year"] == pytest.approx(150e6 + 25e6, rel=1e-9)


def test_gap_village_without_location_is_uncoverable() -> None:
    villages = _frame([_village("OK", _far(0)), _village("NOWHERE", Point())])
    plan = plan_sites(villages, None, SitingSettings())
    assert list(plan.sites["site_id"]) == ["S-OK"]
    assert list(plan.uncoverable["village_id"]) == ["NOWHERE"]
    assert plan.uncoverable["reason"].iloc[0].startswith("no location")


def test_no_gap_villages_gives_an_empty_plan() -> None:
    villages = _frame([_village("C", _far(0), group="covered", electrified=True)])
    plan = plan_sites(villages, None, SitingSettings())
    assert plan.sites.empty
    assert list(plan.sites.columns) == [*SITE_COLUMNS, "geometry"]
    assert plan.sites.crs.to_epsg() == 4326


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


def test_same_inputs_same_plan() -> None:
    rng = np.random.default_rng(7)
    rows = [
        _village(
            f"V{k:03d}",
            Point(104.0 + rng.uniform(0, 0.05), 21.5 + rng.uniform(0, 0.05)),
            electrified=bool(k % 3 == 0),
            group="low_signal_powered" if k % 3 == 0 else "low_signal_unpowered",
            rsrp_viettel_dbm=float(rng.uniform(-130, -111)),
            power_eta=None if k % 2 else "2025-10-01",
        )
        for k in range(30)
    ]
    a = plan_sites(_frame(rows), None, SitingSettings()).sites
    b = plan_sites(_frame(list(reversed(rows))), None, SitingSettings()).sites
    pd.testing.assert_frame_equal(a, b)


def test_settings_validation() -> None:
    with pytest.raises(ValueError, match="technology"):
        SitingSettings(technology="6G")
    with pytest.raises(ValueError, match="default_operator"):
        SitingSettings(default_operator="Vinaphone")
    assert SitingSettings().power_tail_working_days == 7
    assert SitingSettings().calendar.start == dt.date(2025, 7, 15)
