"""Best server, received levels, flags and summaries on hand-solvable cases.

Expected levels are computed here from the published formulas with scalar
``math`` (Hata 1980, COST 231 §4.4.1, 3GPP TR 38.901 RMa, 3GPP TR 36.814
sector pattern, haversine on the WGS84 mean radius) and the N_RB tables of
TS 36.101 / TS 38.101-1, never from covgap's own output. Levels: 0.01 dB.
"""

from __future__ import annotations

import math
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point

from covgap.analysis import AnalysisSettings, assess_villages, resource_blocks, summarise
from covgap.errors import CRSError, ScenarioError, SchemaError

TOL_DB = 0.01
R_M = 6_371_008.8
log10 = math.log10
SLUGS = {
    "Viettel": "viettel",
    "VNPT": "vnpt",
    "MobiFone": "mobifone",
    "Vietnamobile": "vietnamobile",
}
CLUTTER_DB = {"urban_large": 15.0, "urban_small_medium": 10.0, "suburban": 6.0, "open_rural": 3.0}
RESULT_COLUMNS = [
    "best_operator", "best_tower_id", "best_technology", "best_rsrp_dbm", "best_distance_m",
    "model", "extrapolated", "rsrp_source", "rsrp_viettel_dbm", "rsrp_vnpt_dbm",
    "rsrp_mobifone_dbm", "rsrp_vietnamobile_dbm", "low_signal_viettel", "low_signal_vnpt",
    "low_signal_mobifone", "low_signal_vietnamobile", "best_rscp_dbm", "best_rxlev_dbm",
    "margin_db", "low_signal", "group", "predicted_rsrp_dbm", "predicted_distance_m",
    "best_rsrp_4g_dbm", "best_rsrp_5g_dbm", "covered_2g", "covered_3g", "covered_4g",
    "covered_5g",
]  # fmt: skip

# --------------------------------------------------------------------------- hand formulas


def fspl(f: float, d_km: float) -> float:
    return 32.45 + 20 * log10(f) + 20 * log10(d_km)


def a_hm(f: float, hm: float, env: str) -> float:
    if env == "urban_large":
        if f <= 300:
            return 8.29 * log10(1.54 * hm) ** 2 - 1.1
        return 3.2 * log10(11.75 * hm) ** 2 - 4.97
    return (1.1 * log10(f) - 0.7) * hm - (1.56 * log10(f) - 0.8)


def correction(f: float, env: str) -> float:
    if env == "suburban":
        return -2 * log10(f / 28) ** 2 - 5.4
    if env == "open_rural":
        return -4.78 * log10(f) ** 2 + 18.33 * log10(f) - 40.94
    return 0.0


def hata(f: float, hb: float, hm: float, d: float, env: str) -> float:
    slope = (44.9 - 6.55 * log10(hb)) * log10(d)
    return (
        69.55 + 26.16 * log10(f) - 13.82 * log10(hb) - a_hm(f, hm, env) + slope + correction(f, env)
    )


def cost231(f: float, hb: float, hm: float, d: float, env: str) -> float:
    slope = (44.9 - 6.55 * log10(hb)) * log10(d)
    c_m = 3.0 if env == "urban_large" else 0.0
    return (
        46.3 + 33.9 * log10(f) - 13.82 * log10(hb) - a_hm(f, hm, env) + slope + c_m
        + correction(f, env)
    )  # fmt: skip


def rma(fc: float, d2d: float, hbs: float, hut: float, los: bool) -> float:
    h, w = 5.0, 20.0
    d3d = math.sqrt(d2d**2 + (hbs - hut) ** 2)
    d_bp = 2 * math.pi * hbs * hut * fc * 1e9 / 3.0e8

    def pl1(d: float) -> float:
        return (
            20 * log10(40 * math.pi * d * fc / 3)
            + min(0.03 * h**1.72, 10) * log10(d)
            - min(0.044 * h**1.72, 14.77)
            + 0.002 * log10(h) * d
        )

    pl = pl1(d3d) if d2d <= d_bp else pl1(d_bp) + 40 * log10(d3d / d_bp)
    if los:
        return pl
    nlos = (
        161.04 - 7.1 * log10(w) + 7.5 * log10(h)
        - (24.37 - 3.7 * (h / hbs) ** 2) * log10(hbs)
        + (43.42 - 3.1 * log10(hbs)) * (log10(d3d) - 3)
        + 20 * log10(fc) - (3.2 * log10(11.75 * hut) ** 2 - 4.97)
    )  # fmt: skip
    return max(pl, nlos)


def auto_loss(f: float, hb: float, hm: float, d_km: float, env: str) -> tuple[float, str, bool]:
    """The 'auto' rules of covgap.propagation.path_loss_db, written out per pair."""
    d = max(d_km, 0.01)
    heights = 30 <= hb <= 200 and 1 <= hm <= 10
    hata_nd, cost_nd = 150 <= f <= 1500 and heights, 1500 <= f <= 2000 and heights
    rural = env in ("suburban", "open_rural")
    rma_nd = rural and 500 <= f <= 7000 and 10 <= hb <= 150 and 1 <= hm <= 10
    hata_d = 1 <= d <= 20
    rma_d = 0.01 <= d <= (10 if env == "open_rural" else 5)
    if hata_nd and hata_d:
        use, ext = "hata", False
    elif cost_nd and hata_d:
        use, ext = "cost231", False
    elif rma_nd and rma_d:
        use, ext = "rma", False
    else:
        ext = True
        if hata_nd:
            use = "hata"
        elif cost_nd:
            use = "cost231"
        elif rma_nd:
            use = "rma"
        elif f <= 1500:
            use = "hata"
        elif f <= 2000 or not rural:
            use = "cost231"
        else:
            use = "rma"
    if use == "hata":
        loss = hata(f, hb, hm, d, env)
    elif use == "cost231":
        loss = cost231(f, hb, hm, d, env)
    else:
        loss = rma(f / 1000, d * 1000, hb, hm, env == "open_rural")
    return max(loss, fspl(f, d)), use, ext


def n_rb(tech: str, bw: float) -> int:
    lte = {1.4: 6, 3: 15, 5: 25, 10: 50, 15: 75, 20: 100}
    nr = {5: 11, 10: 24, 15: 38, 20: 51, 25: 65, 30: 78, 40: 106, 50: 133, 60: 162, 70: 189,
          80: 217, 90: 245, 100: 273}  # fmt: skip
    return (lte if tech == "4G" else nr)[bw]


def pattern_db(theta_deg: float, beamwidth_deg: float) -> float:
    return min(12 * (theta_deg / beamwidth_deg) ** 2, 20.0)


def haversine_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * R_M * math.asin(math.sqrt(a))


def bearing_deg(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dl = math.radians(lon2 - lon1)
    y = math.sin(dl) * math.cos(p2)
    x = math.cos(p1) * math.sin(p2) - math.sin(p1) * math.cos(p2) * math.cos(dl)
    return math.degrees(math.atan2(y, x)) % 360


def north(lat: float, d_m: float) -> float:
    """Latitude ``d_m`` metres north of ``lat`` along a meridian."""
    return lat + math.degrees(d_m / R_M)


def level(
    tower: dict[str, Any], lon: float, lat: float, env: str = "open_rural", hm: float = 1.5
) -> float:
    """Hand-computed received level (RSRP/RSCP/RxLev) of ``tower`` at a village."""
    d_m = haversine_m(tower["lon"], tower["lat"], lon, lat)
    loss, _, _ = auto_loss(tower["frequency_mhz"], tower["height_m"], hm, d_m / 1000, env)
    lvl = tower["eirp_dbm"] - loss - CLUTTER_DB[env]
    tech = tower["technology"]
    if tech in ("4G", "5G"):
        lvl -= 10 * log10(12 * n_rb(tech, tower["bandwidth_mhz"]))
    elif tech == "3G":
        lvl -= 10.0
    az = tower.get("azimuth_deg", math.nan)
    if not math.isnan(az):
        diff = abs((bearing_deg(tower["lon"], tower["lat"], lon, lat) - az + 180) % 360 - 180)
        lvl -= pattern_db(diff, tower.get("beamwidth_deg", 65.0))
    return lvl


# --------------------------------------------------------------------------- builders


def villages_gdf(rows: list[dict[str, Any]]) -> gpd.GeoDataFrame:
    """Villages in the canonical in-memory form (covgap.io.load_villages)."""
    recs = []
    for i, r in enumerate(rows):
        recs.append(
            {
                "village_id": r.get("village_id", f"V{i:03d}"),
                "name": r.get("name", f"Bản {i}"),
                "province_code": r.get("province_code", "01"),
                "province": r.get("province", "Hà Nội"),
                "commune_code": r.get("commune_code"),
                "commune": r.get("commune"),
                "population": r.get("population", 100),
                "households": r.get("households"),
                "electrified": r.get("electrified", True),
                "power_eta": r.get("power_eta"),
                "assigned_operator": r.get("assigned_operator"),
                "measured_rsrp_dbm": r.get("measured_rsrp_dbm", math.nan),
                "measured_operator": r.get("measured_operator"),
                "clutter": r.get("clutter"),
                "source_row": i + 1,
            }
        )
    df = pd.DataFrame(recs)
    df["village_id"] = df["village_id"].astype("str")
    df["population"] = df["population"].astype("int64")
    df["households"] = df["households"].astype("Int64")
    df["electrified"] = df["electrified"].astype(bool)
    df["power_eta"] = pd.to_datetime(df["power_eta"]).astype("datetime64[s]")
    df["measured_rsrp_dbm"] = df["measured_rsrp_dbm"].astype("float64")
    for col in ("commune_code", "commune", "assigned_operator", "measured_operator", "clutter"):
        df[col] = pd.Series(list(df[col]), dtype=object)
    geom = [Point(r["lon"], r["lat"]) for r in rows]
    return gpd.GeoDataFrame(df, geometry=geom, crs="EPSG:4326")


def towers_gdf(rows: list[dict[str, Any]]) -> gpd.GeoDataFrame:
    """Sector rows in the canonical in-memory form (covgap.io.load_towers)."""
    default_bw = {"2G": 0.2, "3G": 5.0, "4G": 10.0, "5G": 100.0}
    recs = []
    for i, r in enumerate(rows):
        az = r.get("azimuth_deg", math.nan)
        recs.append(
            {
                "tower_id": r["tower_id"],
                "site_id": r.get("site_id", r["tower_id"]),
                "operator": r.get("operator", "Viettel"),
                "technology": r.get("technology", "4G"),
                "frequency_mhz": float(r.get("frequency_mhz", 900.0)),
                "bandwidth_mhz": float(
                    r.get("bandwidth_mhz", default_bw[r.get("technology", "4G")])
                ),
                "height_m": float(r.get("height_m", 40.0)),
                "eirp_dbm": float(r.get("eirp_dbm", 60.0)),
                "azimuth_deg": az,
                "beamwidth_deg": r.get("beamwidth_deg", math.nan if math.isnan(az) else 65.0),
                "status": r.get("status", "active"),
                "backhaul": None,
                "power": None,
                "source_row": i + 1,
            }
        )
    columns = [
        "tower_id", "site_id", "operator", "technology", "frequency_mhz", "bandwidth_mhz",
        "height_m", "eirp_dbm", "azimuth_deg", "beamwidth_deg", "status", "backhaul", "power",
        "source_row",
    ]  # fmt: skip
    df = pd.DataFrame(recs, columns=columns)
    geom = [Point(r["lon"], r["lat"]) for r in rows]
    return gpd.GeoDataFrame(df, geometry=geom, crs="EPSG:4326")


def tower(tower_id: str, lon: float, lat: float, **kw: Any) -> dict[str, Any]:
    defaults = {"operator": "Viettel", "technology": "4G", "frequency_mhz": 900.0,
                "height_m": 40.0, "eirp_dbm": 60.0, "azimuth_deg": math.nan}  # fmt: skip
    t = {**defaults, **kw, "tower_id": tower_id, "lon": lon, "lat": lat}
    t.setdefault("bandwidth_mhz", {"2G": 0.2, "3G": 5.0, "4G": 10.0, "5G": 100.0}[t["technology"]])
    return t


EMPTY_TOWERS = towers_gdf([])

# --------------------------------------------------------------------------- best server


def test_best_server_is_not_the_nearest() -> None:
    lon, lat = 105.0, 20.0
    near = tower("A-near", lon, north(lat, -1000.0), height_m=15.0, eirp_dbm=35.0)
    far = tower("B-far", lon, north(lat, 8000.0), height_m=60.0, eirp_dbm=64.0)
    want_near, want_far = level(near, lon, lat), level(far, lon, lat)
    assert want_far > want_near  # by hand: the far, high, strong mast wins
    v = assess_villages(villages_gdf([{"lon": lon, "lat": lat}]), towers_gdf([near, far])).villages
    row = v.iloc[0]
    assert row["best_tower_id"] == "B-far"
    assert row["best_rsrp_dbm"] == pytest.approx(want_far, abs=TOL_DB)
    assert row["best_distance_m"] == pytest.approx(8000.0, abs=0.01)
    assert row["model"] == "hata" and not row["extrapolated"]  # 900 MHz, 60 m, 8 km: in box
    assert row["best_technology"] == "4G" and row["best_operator"] == "Viettel"
    # the near one alone: RMa (15 m mast, rural, 1 km), in its range
    alone = assess_villages(villages_gdf([{"lon": lon, "lat": lat}]), towers_gdf([near]))
    assert alone.villages.iloc[0]["best_rsrp_dbm"] == pytest.approx(want_near, abs=TOL_DB)
    assert alone.villages.iloc[0]["model"] == "rma"


@pytest.mark.parametrize(
    ("azimuth", "beamwidth", "pattern"),
    [
        (math.nan, math.nan, 0.0),  # omni
        (0.0, 65.0, 0.0),  # pointing at the village (due north)
        (180.0, 65.0, 20.0),  # pointing away: the 20 dB floor
        (30.0, 65.0, 12 * (30 / 65) ** 2),  # 2.556 dB
        (270.0, 120.0, 12 * (90 / 120) ** 2),  # 6.75 dB
        (340.0, 65.0, 12 * (20 / 65) ** 2),  # wraps through north
    ],
)
def test_sector_pattern_loss(azimuth: float, beamwidth: float, pattern: float) -> None:
    lon, lat = 105.0, 20.0
    omni = tower("T", lon, lat, frequency_mhz=1800.0)
    t = {**omni, "azimuth_deg": azimuth, "beamwidth_deg": beamwidth}
    v_lat = north(lat, 3000.0)
    v = assess_villages(villages_gdf([{"lon": lon, "lat": v_lat}]), towers_gdf([t])).villages
    assert v.iloc[0]["best_rsrp_dbm"] == pytest.approx(
        level(omni, lon, v_lat) - pattern, abs=TOL_DB
    )


def test_sector_pattern_off_meridian_uses_initial_great_circle_bearing() -> None:
    t = tower("T", 104.8, 21.3, azimuth_deg=10.0, beamwidth_deg=65.0, frequency_mhz=2100.0)
    lon, lat = 104.83, 21.34  # north-east: bearing ≈ 34°, θ ≈ 24°
    theta = abs(bearing_deg(t["lon"], t["lat"], lon, lat) - 10.0)
    assert 20 < theta < 30
    v = assess_villages(villages_gdf([{"lon": lon, "lat": lat, "clutter": "suburban"}]),
                        towers_gdf([t])).villages  # fmt: skip
    assert v.iloc[0]["best_rsrp_dbm"] == pytest.approx(level(t, lon, lat, "suburban"), abs=TOL_DB)
    assert v.iloc[0]["best_distance_m"] == pytest.approx(
        haversine_m(t["lon"], t["lat"], lon, lat), abs=0.01
    )


def test_tower_beyond_its_reach_is_not_counted() -> None:
    lon, lat = 106.0, 11.0
    weak = tower("W", lon, lat, eirp_dbm=10.0)
    # reach: free space down to threshold − 10 dB = −120 dBm RSRP
    max_loss = 10.0 - 10 * log10(12 * 50) + 120.0
    reach_m = 1000 * 10 ** ((max_loss - 32.45 - 20 * log10(900.0)) / 20)
    assert 3000 < reach_m < 3600
    v = villages_gdf([{"lon": lon, "lat": north(lat, 0.95 * reach_m)},
                      {"lon": lon, "lat": north(lat, 1.05 * reach_m)}])  # fmt: skip
    a = assess_villages(v, towers_gdf([weak]))
    assert a.n_pairs == 1
    assert a.villages["best_rsrp_dbm"].iloc[0] == pytest.approx(
        level(weak, lon, north(lat, 0.95 * reach_m)), abs=TOL_DB
    )
    assert math.isnan(a.villages["best_rsrp_dbm"].iloc[1])
    assert a.villages["rsrp_source"].tolist() == ["predicted", "none"]


def test_max_reach_caps_strong_sectors() -> None:
    lon, lat = 106.0, 11.0
    strong = tower("S", lon, lat, eirp_dbm=70.0, height_m=100.0)
    v = villages_gdf([{"lon": lon, "lat": north(lat, 25_000.0)}])
    default = assess_villages(v, towers_gdf([strong]))
    assert default.n_pairs == 0 and math.isnan(default.villages["best_rsrp_dbm"].iloc[0])
    wide = assess_villages(v, towers_gdf([strong]), AnalysisSettings(max_reach_km=30.0))
    assert wide.n_pairs == 1
    want = level(strong, lon, north(lat, 25_000.0))
    assert wide.villages["best_rsrp_dbm"].iloc[0] == pytest.approx(want, abs=TOL_DB)
    assert bool(wide.villages["extrapolated"].iloc[0])  # Hata past 20 km


def test_planned_towers_do_not_count() -> None:
    lon, lat = 106.0, 11.0
    t = {**tower("P", lon, north(lat, 2000)), "status": "planned"}
    a = assess_villages(villages_gdf([{"lon": lon, "lat": lat}]), towers_gdf([t]))
    assert a.n_pairs == 0
    assert a.villages["group"].iloc[0] == "low_signal_powered"


# --------------------------------------------------------------------------- levels per technology


def test_nr_and_lte_rsrp_use_n_rb_and_3g_2g_levels() -> None:
    lon, lat = 105.5, 19.0
    v_lat = north(lat, 2500.0)
    ts = [
        tower("LTE20", lon, lat, operator="Viettel", technology="4G", frequency_mhz=1800.0,
              bandwidth_mhz=20.0),
        tower("NR100", lon, lat, operator="VNPT", technology="5G", frequency_mhz=3500.0,
              bandwidth_mhz=100.0, eirp_dbm=72.0),
        tower("UMTS", lon, lat, operator="MobiFone", technology="3G", frequency_mhz=2100.0,
              eirp_dbm=58.0),
        tower("GSM", lon, lat, operator="Vietnamobile", technology="2G", frequency_mhz=900.0,
              eirp_dbm=55.0),
    ]  # fmt: skip
    v = assess_villages(villages_gdf([{"lon": lon, "lat": v_lat}]), towers_gdf(ts)).villages
    row = v.iloc[0]
    assert row["rsrp_viettel_dbm"] == pytest.approx(level(ts[0], lon, v_lat), abs=TOL_DB)
    assert row["rsrp_vnpt_dbm"] == pytest.approx(level(ts[1], lon, v_lat), abs=TOL_DB)
    assert math.isnan(row["rsrp_mobifone_dbm"]) and math.isnan(row["rsrp_vietnamobile_dbm"])
    assert row["best_rscp_dbm"] == pytest.approx(level(ts[2], lon, v_lat), abs=TOL_DB)
    assert row["best_rxlev_dbm"] == pytest.approx(level(ts[3], lon, v_lat), abs=TOL_DB)
    # 10·log10(12·N_RB): 100 RB → 30.79 dB, 273 RB → 35.15 dB
    assert 10 * log10(12 * 273) == pytest.approx(35.154, abs=1e-3)


def test_only_3g_and_2g_leave_a_village_low_signal() -> None:
    lon, lat = 105.5, 19.0
    ts = [tower("U", lon, lat, technology="3G", frequency_mhz=2100.0, eirp_dbm=60.0),
          tower("G", lon, lat, technology="2G", frequency_mhz=900.0, eirp_dbm=60.0)]  # fmt: skip
    v = assess_villages(villages_gdf([{"lon": lon, "lat": north(lat, 1500)}]), towers_gdf(ts))
    row = v.villages.iloc[0]
    assert row["best_rscp_dbm"] > -100 and row["best_rxlev_dbm"] > -95
    assert bool(row["low_signal"]) and math.isnan(row["best_rsrp_dbm"])
    assert row["best_operator"] is None and row["model"] == ""


@pytest.mark.parametrize(
    ("technology", "bandwidth", "expected"),
    [("4G", 1.4, 6), ("4G", 3, 15), ("4G", 5, 25), ("4G", 10, 50), ("4G", 15, 75),
     ("4G", 20, 100), ("5G", 5, 11), ("5G", 20, 51), ("5G", 40, 106), ("5G", 50, 133),
     ("5G", 60, 162), ("5G", 80, 217), ("5G", 100, 273),
     ("5G", 35, 92), ("5G", 45, 119), ("4G", 12, 60), ("2G", 0.2, 0), ("3G", 5, 0)],
)  # fmt: skip
def test_resource_blocks(technology: str, bandwidth: float, expected: int) -> None:
    # table rows (TS 36.101 Table 5.6-1; TS 38.101-1 Table 5.3.2-1, 30 kHz SCS); between
    # rows: linear interpolation rounded down (35 → 92 and 45 → 119, as later releases list)
    assert resource_blocks([technology], [bandwidth]).tolist() == [expected]


@pytest.mark.parametrize(("technology", "bandwidth"), [("4G", 25.0), ("4G", 1.0), ("5G", 200.0)])
def test_resource_blocks_refuses_bandwidths_outside_the_tables(
    technology: str, bandwidth: float
) -> None:
    with pytest.raises(SchemaError) as info:
        resource_blocks(["4G", technology], [10.0, bandwidth], rows=[7, 8])
    assert info.value.column == "bandwidth_mhz" and info.value.row == 8


# --------------------------------------------------------------------------- measurements, flags


def _two_operator_case() -> tuple[list[dict[str, Any]], float, float]:
    lon, lat = 105.0, 21.0
    v_lat = north(lat, 2000.0)
    ts = [tower("VT", lon, lat, operator="Viettel", eirp_dbm=60.0),
          tower("VN", lon, lat, operator="VNPT", frequency_mhz=2100.0, eirp_dbm=40.0)]  # fmt: skip
    return ts, level(ts[0], lon, v_lat), level(ts[1], lon, v_lat)


def test_measurements_override_predictions() -> None:
    ts, viettel, vnpt = _two_operator_case()
    assert viettel > vnpt > -110  # by hand: both predicted above threshold
    pos = {"lon": 105.0, "lat": north(21.0, 2000.0)}
    v = assess_villages(
        villages_gdf([
            {**pos, "measured_rsrp_dbm": -120.0, "measured_operator": "Viettel"},
            {**pos, "measured_rsrp_dbm": -125.0},
            {**pos, "measured_rsrp_dbm": -60.0, "measured_operator": "Viettel"},
            {**pos},
        ]),
        towers_gdf(ts),
    ).villages  # fmt: skip
    # 0: Viettel's value replaced; the best is recomputed → VNPT's prediction
    r = v.iloc[0]
    assert r["rsrp_viettel_dbm"] == -120.0 and bool(r["low_signal_viettel"])
    assert r["best_operator"] == "VNPT" and r["best_tower_id"] == "VN"
    assert r["best_rsrp_dbm"] == pytest.approx(vnpt, abs=TOL_DB)
    assert r["rsrp_source"] == "predicted" and not bool(r["low_signal"])
    # 1: no operator: only the any-operator value and flag change
    r = v.iloc[1]
    assert r["best_rsrp_dbm"] == -125.0 and bool(r["low_signal"])
    assert r["rsrp_source"] == "measured" and r["best_operator"] is None
    assert r["rsrp_viettel_dbm"] == pytest.approx(viettel, abs=TOL_DB)
    assert not bool(r["low_signal_viettel"]) and r["group"] == "low_signal_powered"
    assert r["margin_db"] == pytest.approx(-15.0, abs=1e-9)
    # 2: a measured operator that is the best
    r = v.iloc[2]
    assert r["best_rsrp_dbm"] == -60.0 and r["best_operator"] == "Viettel"
    assert r["rsrp_source"] == "measured" and r["best_tower_id"] is None
    assert r["model"] == "" and math.isnan(r["best_distance_m"])
    # 3: no measurement
    r = v.iloc[3]
    assert r["best_rsrp_dbm"] == pytest.approx(viettel, abs=TOL_DB)
    assert r["rsrp_source"] == "predicted" and r["best_tower_id"] == "VT"


def test_per_operator_flags() -> None:
    lon, lat = 105.0, 21.0
    v_lat = north(lat, 2000.0)
    ts = [tower("VT", lon, lat, operator="Viettel", eirp_dbm=60.0),
          tower("VN", lon, lat, operator="VNPT", eirp_dbm=25.0)]  # fmt: skip
    assert level(ts[0], lon, v_lat) > -110 > level(ts[1], lon, v_lat) > -120
    v = assess_villages(villages_gdf([{"lon": lon, "lat": v_lat}]), towers_gdf(ts)).villages
    flags = [bool(v[f"low_signal_{s}"].iloc[0]) for s in SLUGS.values()]
    assert flags == [False, True, True, True]
    assert not bool(v["low_signal"].iloc[0]) and v["group"].iloc[0] == "covered"
    assert v["rsrp_vnpt_dbm"].iloc[0] == pytest.approx(level(ts[1], lon, v_lat), abs=TOL_DB)


def test_groups_split_by_electricity() -> None:
    pos = {"lon": 105.0, "lat": 21.0}
    v = assess_villages(
        villages_gdf([
            {**pos, "electrified": True, "measured_rsrp_dbm": -100.0},
            {**pos, "electrified": False, "measured_rsrp_dbm": -110.0},  # at threshold
            {**pos, "electrified": True},
            {**pos, "electrified": False, "measured_rsrp_dbm": -110.5},
        ]),
        EMPTY_TOWERS,
    ).villages  # fmt: skip
    assert v["group"].tolist() == [
        "covered", "covered", "low_signal_powered", "low_signal_unpowered"
    ]  # fmt: skip
    assert v["rsrp_source"].tolist() == ["measured", "measured", "none", "measured"]
    assert v["low_signal"].tolist() == [False, False, True, True]


# --------------------------------------------------------------------------- output contract


def test_output_keeps_input_columns_and_counts_pairs() -> None:
    lon, lat = 105.0, 21.0
    ts = [
        tower("IN", lon, lat, frequency_mhz=900.0, height_m=40.0),  # Hata, in its box
        tower("OUT", lon, lat, frequency_mhz=2600.0, height_m=40.0),
    ]  # urban 2.6 GHz: COST-231
    villages = villages_gdf([{"lon": lon, "lat": north(lat, 3000.0), "clutter": "urban_large"}])
    a = assess_villages(villages, towers_gdf(ts))
    v = a.villages
    input_cols = [c for c in villages.columns if c != "geometry"]
    assert list(v.columns) == [*input_cols, *RESULT_COLUMNS, "geometry"]
    assert v.crs == villages.crs and list(v.index) == list(villages.index)
    assert (a.n_pairs, a.n_extrapolated, a.extrapolated_share) == (2, 1, 0.5)
    assert v["best_tower_id"].iloc[0] == "IN" and v["model"].iloc[0] == "hata"
    assert v["best_rsrp_dbm"].iloc[0] == pytest.approx(
        level(ts[0], lon, north(lat, 3000.0), "urban_large"), abs=TOL_DB
    )


def test_equal_levels_break_ties_by_tower_id() -> None:
    lon, lat = 105.0, 21.0
    ts = [tower("Z9", lon, lat), tower("A1", lon, lat)]
    v = villages_gdf([{"lon": lon, "lat": north(lat, 2000.0)}])
    for order in (ts, ts[::-1]):
        assert assess_villages(v, towers_gdf(order)).villages["best_tower_id"].iloc[0] == "A1"


def _random_case(
    seed: int, n_villages: int = 40, n_towers: int = 70
) -> tuple[gpd.GeoDataFrame, list[dict[str, Any]]]:
    rng = np.random.default_rng(seed)
    envs = ["urban_large", "urban_small_medium", "suburban", "open_rural", None]
    rows = [
        {"lon": float(rng.uniform(104.9, 105.3)), "lat": float(rng.uniform(20.9, 21.3)),
         "clutter": envs[int(rng.integers(0, 5))], "electrified": bool(rng.random() < 0.5)}
        for _ in range(n_villages)
    ]  # fmt: skip
    ops = ["Viettel", "VNPT", "MobiFone", "Vietnamobile"]
    bands = {"2G": [900.0], "3G": [2100.0], "4G": [700.0, 900.0, 1800.0, 2600.0], "5G": [3500.0]}
    ts = []
    for k in range(n_towers):
        tech = ["2G", "3G", "4G", "4G", "5G"][int(rng.integers(0, 5))]
        sectored = rng.random() < 0.7
        ts.append(
            tower(
                f"T{k:03d}", float(rng.uniform(104.8, 105.4)), float(rng.uniform(20.8, 21.4)),
                operator=ops[int(rng.integers(0, 4))], technology=tech,
                frequency_mhz=float(rng.choice(bands[tech])),
                height_m=float(rng.choice([12.0, 20.0, 30.0, 45.0, 60.0])),
                eirp_dbm=float(rng.uniform(35.0, 65.0)),
                azimuth_deg=float(rng.uniform(0, 360)) if sectored else math.nan,
                beamwidth_deg=float(rng.choice([65.0, 90.0])) if sectored else math.nan,
            )
        )  # fmt: skip
    return villages_gdf(rows), ts


@pytest.mark.parametrize(
    ("seed", "n_villages", "n_towers", "min_pairs"),
    [
        (11, 40, 70, 300),  # the grid search (466 pairs)
        # dense: ~60 sectors per village, most skipped by the kernel's pre-tests
        (3, 30, 1500, 1500),
    ],
)
def test_matches_a_brute_force_per_pair_reference(
    seed: int, n_villages: int, n_towers: int, min_pairs: int
) -> None:
    villages, ts = _random_case(seed, n_villages, n_towers)
    s = AnalysisSettings(max_reach_km=15.0)
    result = assess_villages(villages, towers_gdf(ts), s)
    v = result.villages
    thresholds = {"2G": -95.0, "3G": -100.0, "4G": -110.0, "5G": -110.0}
    n_pairs = 0
    n_extrapolated = 0
    for i, vil in enumerate(villages.itertuples()):
        env = vil.clutter if isinstance(vil.clutter, str) else "open_rural"
        lon, lat = vil.geometry.x, vil.geometry.y
        best: dict[str, float] = {}
        for t in ts:
            lvl0 = t["eirp_dbm"] - (
                10 * log10(12 * n_rb(t["technology"], t["bandwidth_mhz"]))
                if t["technology"] in ("4G", "5G") else 10.0 if t["technology"] == "3G" else 0.0
            )  # fmt: skip
            reach_km = min(
                10 ** ((lvl0 - thresholds[t["technology"]] + 10 - fspl(t["frequency_mhz"], 1))
                       / 20), s.max_reach_km
            )  # fmt: skip
            d_m = haversine_m(t["lon"], t["lat"], lon, lat)
            if d_m > reach_km * 1000:
                continue
            n_pairs += 1
            n_extrapolated += auto_loss(t["frequency_mhz"], t["height_m"], 1.5, d_m / 1000, env)[2]
            key = t["operator"] if t["technology"] in ("4G", "5G") else t["technology"]
            best[key] = max(best.get(key, -math.inf), level(t, lon, lat, env))
        for op, slug in SLUGS.items():
            got = v[f"rsrp_{slug}_dbm"].iloc[i]
            if op in best:
                assert got == pytest.approx(best[op], abs=1e-6)
            else:
                assert math.isnan(got)
        for tech, col in (("3G", "best_rscp_dbm"), ("2G", "best_rxlev_dbm")):
            got = v[col].iloc[i]
            assert got == pytest.approx(best[tech], abs=1e-6) if tech in best else math.isnan(got)
    assert n_pairs > min_pairs
    assert (result.n_pairs, result.n_extrapolated) == (n_pairs, n_extrapolated)


def test_chunking_and_tower_order_do_not_change_results() -> None:
    villages, ts = _random_case(5)
    base = assess_villages(villages, towers_gdf(ts), AnalysisSettings(chunk_size=10_000))
    one = assess_villages(villages, towers_gdf(ts), AnalysisSettings(chunk_size=1))
    pd.testing.assert_frame_equal(base.villages, one.villages)
    rng = np.random.default_rng(0)
    shuffled = towers_gdf([ts[i] for i in rng.permutation(len(ts))])
    other = assess_villages(villages, shuffled, AnalysisSettings(chunk_size=7))
    pd.testing.assert_frame_equal(base.villages, other.villages)
    assert (base.n_pairs, base.n_extrapolated) == (other.n_pairs, other.n_extrapolated)


# --------------------------------------------------------------------------- errors


def test_bad_inputs_are_reported_with_row_and_column() -> None:
    pos = {"lon": 105.0, "lat": 21.0}
    t = towers_gdf([tower("T", 105.0, 21.0)])
    with pytest.raises(SchemaError) as info:
        assess_villages(villages_gdf([pos, {**pos, "clutter": "jungle"}]), t)
    assert (info.value.row, info.value.column) == (2, "clutter")
    with pytest.raises(CRSError, match="EPSG:4326"):
        assess_villages(villages_gdf([pos]).to_crs(3405), t)
    bad_bw = towers_gdf([tower("T", 105.0, 21.0, technology="5G", bandwidth_mhz=400.0)])
    with pytest.raises(SchemaError) as info:
        assess_villages(villages_gdf([pos]), bad_bw)
    assert (info.value.row, info.value.column) == (1, "bandwidth_mhz")
    bad_op = towers_gdf([tower("T", 105.0, 21.0, operator="Beeline")])
    with pytest.raises(SchemaError, match="Beeline"):
        assess_villages(villages_gdf([pos]), bad_op)
    for settings in (AnalysisSettings(model="walfisch"), AnalysisSettings(chunk_size=0),
                     AnalysisSettings(clutter_loss_db={"forest": 5.0}),
                     AnalysisSettings(default_clutter="jungle")):  # fmt: skip
        with pytest.raises(ScenarioError):
            assess_villages(villages_gdf([pos]), t, settings)


def test_clutter_losses_are_settings() -> None:
    lon, lat = 105.0, 21.0
    t = tower("T", lon, lat)
    v = villages_gdf([{"lon": lon, "lat": north(lat, 3000.0)}])
    base = assess_villages(v, towers_gdf([t])).villages["best_rsrp_dbm"].iloc[0]
    more = assess_villages(
        v, towers_gdf([t]), AnalysisSettings(clutter_loss_db={"open_rural": 10.0},
                                             body_loss_db=3.0)
    ).villages["best_rsrp_dbm"].iloc[0]  # fmt: skip
    assert base - more == pytest.approx(10.0 - 3.0 + 3.0, abs=1e-9)


# --------------------------------------------------------------------------- summaries


def test_summaries_count_by_province_and_commune() -> None:
    pos = {"lon": 105.0, "lat": 21.0}
    rows = [
        # province 10: two communes; province 02: one village without commune
        {**pos, "province_code": "10", "province": "Lào Cai", "commune_code": "02800",
         "commune": "Sa Pa", "population": 500, "electrified": True},  # low, powered
        {**pos, "province_code": "10", "province": "Lào Cai", "commune_code": "02800",
         "commune": "Sa Pa", "population": 300, "electrified": False},  # low, unpowered
        {**pos, "province_code": "10", "province": "Lào Cai", "commune_code": "02650",
         "commune": "Bát Xát", "population": 200, "measured_rsrp_dbm": -90.0},  # covered
        {**pos, "province_code": "02", "province": "Tuyên Quang", "population": 1000,
         "electrified": False},  # low, unpowered
    ]  # fmt: skip
    v = assess_villages(villages_gdf(rows), EMPTY_TOWERS).villages
    prov = summarise(v, by="province")
    assert prov["province_code"].tolist() == ["02", "10"]
    assert prov.columns.tolist() == [
        "province_code", "province", "villages", "population", "low_signal_powered",
        "low_signal_unpowered", "covered", "population_low_signal", "share_low_signal",
        "population_covered_2g", "share_population_covered_2g", "population_covered_3g",
        "share_population_covered_3g", "population_covered_4g", "share_population_covered_4g",
        "population_covered_5g", "share_population_covered_5g",
    ]  # fmt: skip
    p10 = prov.iloc[1]
    assert (p10["villages"], p10["population"], p10["low_signal_powered"],
            p10["low_signal_unpowered"], p10["covered"], p10["population_low_signal"]) == (
        3, 1000, 1, 1, 1, 800)  # fmt: skip
    assert p10["share_low_signal"] == pytest.approx(2 / 3)
    assert prov.iloc[0]["share_low_signal"] == 1.0
    com = summarise(v, by="commune")
    assert list(zip(com["province_code"], com["commune_code"], strict=True)) == [
        ("02", ""), ("10", "02650"), ("10", "02800")
    ]  # fmt: skip
    assert com["villages"].tolist() == [1, 1, 2]
    assert com["population_low_signal"].tolist() == [1000, 0, 800]
    # deterministic: the same input in another row order gives the same table
    pd.testing.assert_frame_equal(summarise(v.iloc[::-1], by="commune"), com)


# --------------------------------------------------------------------------- per technology


def test_best_level_and_coverage_per_technology() -> None:
    lon, lat = 105.0, 21.0
    ts = [
        tower("L", lon, north(lat, -2000.0), technology="4G", frequency_mhz=1800.0),
        tower("N", lon, north(lat, 9000.0), technology="5G", frequency_mhz=3500.0,
              operator="VNPT", eirp_dbm=62.0),
        tower("G", lon, north(lat, -3000.0), technology="2G", frequency_mhz=900.0,
              eirp_dbm=50.0),
        tower("U", lon, north(lat, 15000.0), technology="3G", frequency_mhz=2100.0,
              eirp_dbm=45.0),
    ]  # fmt: skip
    v = assess_villages(villages_gdf([{"lon": lon, "lat": lat}]), towers_gdf(ts)).villages
    r = v.iloc[0]
    want = {t["tower_id"]: level(t, lon, lat) for t in ts}
    assert r["best_rsrp_4g_dbm"] == pytest.approx(want["L"], abs=TOL_DB)
    assert r["best_rsrp_5g_dbm"] == pytest.approx(want["N"], abs=TOL_DB)
    assert r["best_rxlev_dbm"] == pytest.approx(want["G"], abs=TOL_DB)
    assert r["best_rscp_dbm"] == pytest.approx(want["U"], abs=TOL_DB)
    # thresholds: RSRP −110 (4G and 5G), RSCP −100, RxLev −95 (hand comparison)
    assert bool(r["covered_4g"]) == (want["L"] >= -110.0)
    assert bool(r["covered_5g"]) == (want["N"] >= -110.0)
    assert bool(r["covered_3g"]) == (want["U"] >= -100.0)
    assert bool(r["covered_2g"]) == (want["G"] >= -95.0)
    assert want["L"] >= -110.0 and want["N"] < -110.0 and want["U"] < -100.0  # the case mixes
    none = assess_villages(villages_gdf([{"lon": 100.0, "lat": 10.0}]), towers_gdf(ts)).villages
    assert math.isnan(none["best_rsrp_5g_dbm"].iloc[0])
    assert not none[["covered_2g", "covered_3g", "covered_4g", "covered_5g"]].any(axis=None)


def test_predicted_rsrp_is_what_a_measurement_compares_with() -> None:
    lon, lat = 105.0, 21.0
    vt = tower("VT", lon, north(lat, -3000.0), operator="Viettel")
    vn = tower("VN", lon, north(lat, 6000.0), operator="VNPT")
    want_vt, want_vn = level(vt, lon, lat), level(vn, lon, lat)
    assert want_vt > want_vn
    rows = [
        {"lon": lon, "lat": lat, "measured_rsrp_dbm": -70.0, "measured_operator": "VNPT"},
        {"lon": lon, "lat": lat, "measured_rsrp_dbm": -130.0},
        {"lon": lon, "lat": lat},
    ]
    v = assess_villages(villages_gdf(rows), towers_gdf([vt, vn])).villages
    # the measured operator's own prediction, not the measurement that replaced it
    assert v["predicted_rsrp_dbm"].iloc[0] == pytest.approx(want_vn, abs=TOL_DB)
    assert v["predicted_distance_m"].iloc[0] == pytest.approx(6000.0, abs=0.5)
    assert v["rsrp_vnpt_dbm"].iloc[0] == -70.0
    for i in (1, 2):  # no operator: the best prediction over operators
        assert v["predicted_rsrp_dbm"].iloc[i] == pytest.approx(want_vt, abs=TOL_DB)
        assert v["predicted_distance_m"].iloc[i] == pytest.approx(3000.0, abs=0.5)


def test_summaries_count_population_covered_per_technology() -> None:
    lon, lat = 105.0, 21.0
    ts = [
        tower("L", lon, lat, technology="4G"),
        tower("N", lon, lat, technology="5G", frequency_mhz=3500.0, eirp_dbm=62.0),
    ]
    near, far = north(lat, 1000.0), north(lat, 12000.0)
    assert level(ts[1], lon, near) >= -110.0 > level(ts[1], lon, far)  # by hand
    assert level(ts[0], lon, far) >= -110.0
    rows = [
        {"lon": lon, "lat": near, "province_code": "15", "province": "Lào Cai",
         "population": 700},
        {"lon": lon, "lat": far, "province_code": "15", "province": "Lào Cai",
         "population": 300},
        {"lon": lon, "lat": far, "province_code": "08", "province": "Tuyên Quang",
         "population": 0},
    ]  # fmt: skip
    prov = summarise(assess_villages(villages_gdf(rows), towers_gdf(ts)).villages, by="province")
    lc = prov.set_index("province_code").loc["15"]
    assert (lc["population_covered_4g"], lc["population_covered_5g"]) == (1000, 700)
    assert lc["share_population_covered_5g"] == pytest.approx(0.7)
    assert lc["population_covered_2g"] == 0 and lc["share_population_covered_3g"] == 0.0
    tq = prov.set_index("province_code").loc["08"]
    assert tq["share_population_covered_4g"] == 0.0  # no population: 0, not NaN


def test_summaries_without_technology_columns_keep_the_base_columns() -> None:
    v = assess_villages(villages_gdf([{"lon": 105.0, "lat": 21.0}]), EMPTY_TOWERS).villages
    old = v.drop(columns=["covered_2g", "covered_3g", "covered_4g", "covered_5g"])
    assert summarise(old, by="province").columns[-1] == "share_low_signal"


def test_terrain_and_calibration_settings_are_checked() -> None:
    pos = {"lon": 105.0, "lat": 21.0}
    t = towers_gdf([tower("T", 105.0, 21.0)])
    for settings in (
        AnalysisSettings(terrain_model="longley"),
        AnalysisSettings(terrain_step_m=0.0),
        AnalysisSettings(itm_climate=8),
        AnalysisSettings(itm_n0_nunits=500.0),
        AnalysisSettings(clutter_offset_db={"forest": 1.0}),
        AnalysisSettings(clutter_slope_db_per_decade={"open_rural": math.nan}),
    ):
        with pytest.raises(ScenarioError):
            assess_villages(villages_gdf([pos]), t, settings)
