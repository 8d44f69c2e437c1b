"""Calibration against measurements: known injected corrections, hand-worked folds.

Known answers from outside the code: the offsets and slopes injected into synthetic
measurements here (measured = the analysis' own prediction + a chosen correction +
seeded Gaussian noise of a chosen σ), a two-village cross-validation worked by hand,
and the correction's arithmetic (offset dB; slope × log10(d_km)) for the settings.
"""

from __future__ import annotations

import json
import math
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point

from covgap.analysis import AnalysisSettings, assess_villages
from covgap.calibration import calibrate
from covgap.errors import ScenarioError, SchemaError

R_M = 6_371_008.8
LON0, LAT0 = 105.0, 21.0
SIGMA_DB = 2.0


def villages(points: list[tuple[float, float]], **cols: Any) -> gpd.GeoDataFrame:
    n = len(points)
    data: dict[str, Any] = {
        "village_id": pd.Series([f"V{i:04d}" for i in range(n)], dtype="str"),
        "population": np.full(n, 100, dtype=np.int64),
        "electrified": np.ones(n, dtype=bool),
        "measured_rsrp_dbm": np.full(n, np.nan),
        "measured_operator": pd.Series([None] * n, dtype=object),
        "clutter": pd.Series(["open_rural"] * n, dtype=object),
        "source_row": np.arange(1, n + 1),
    }
    data.update(cols)
    return gpd.GeoDataFrame(
        pd.DataFrame(data), geometry=[Point(p) for p in points], crs="EPSG:4326"
    )


def towers(points: list[tuple[float, float]], eirp_dbm: float = 60.0) -> gpd.GeoDataFrame:
    n = len(points)
    df = pd.DataFrame(
        {
            "tower_id": [f"T{i}" for i in range(n)],
            "operator": ["Viettel"] * n,
            "technology": ["4G"] * n,
            "frequency_mhz": [900.0] * n,
            "bandwidth_mhz": [10.0] * n,
            "height_m": [35.0] * n,
            "eirp_dbm": [eirp_dbm] * n,
            "status": ["active"] * n,
            "source_row": np.arange(1, n + 1),
        }
    )
    return gpd.GeoDataFrame(df, geometry=[Point(p) for p in points], crs="EPSG:4326")


def offset_point(lon: float, lat: float, east_m: float, north_m: float) -> tuple[float, float]:
    dlat = math.degrees(north_m / R_M)
    dlon = math.degrees(east_m / (R_M * math.cos(math.radians(lat))))
    return lon + dlon, lat + dlat


# --------------------------------------------------------------------------- recovery


def synthetic_measurements(
    truth: dict[str, tuple[float, float]], n: int = 420, seed: int = 11
) -> gpd.GeoDataFrame:
    """Villages around 4 towers, measured = prediction + truth[clutter] + N(0, σ)."""
    rng = np.random.default_rng(seed)
    sites = _sites()
    r = 500.0 * 30.0 ** rng.random(n)  # 0.5–15 km, log-uniform: spread in log10(d)
    theta = rng.uniform(0, 2 * math.pi, n)
    home = rng.integers(0, 4, n)
    points = [
        offset_point(*sites[h], r[i] * math.cos(theta[i]), r[i] * math.sin(theta[i]))
        for i, h in enumerate(home)
    ]
    clutter = np.array(list(truth), dtype=object)[rng.integers(0, len(truth), n)]
    t = towers(sites)
    v = villages(points, clutter=pd.Series(clutter, dtype=object))
    pred = assess_villages(v, t).villages
    d_km = pred["predicted_distance_m"].to_numpy() / 1000.0
    a = np.array([truth[c][0] for c in clutter])
    b = np.array([truth[c][1] for c in clutter])
    measured = pred["predicted_rsrp_dbm"].to_numpy() + a + b * np.log10(d_km)
    measured += rng.normal(0.0, SIGMA_DB, n)
    v["measured_rsrp_dbm"] = np.round(measured, 1)
    return assess_villages(v, t).villages


def test_recovers_injected_offsets_and_slopes_and_improves_held_out_rmse() -> None:
    truth = {"open_rural": (-8.0, 0.0), "suburban": (5.0, -6.0), "urban_small_medium": (2.0, 0.0)}
    assessed = synthetic_measurements(truth)
    res = calibrate(assessed, k=5, seed=3)
    assert res.n_villages == len(assessed) and res.n_unpredicted == 0
    for clutter, (a, b) in truth.items():
        # tolerances: ≈ 4 standard errors of the least-squares estimates (σ = 2 dB,
        # ~140 villages per clutter over 1.5 decades of distance)
        assert res.offset_db[clutter] == pytest.approx(a, abs=0.8), clutter
        assert res.slope_db_per_decade[clutter] == pytest.approx(b, abs=1.6), clutter
    assert res.offset_db["urban_large"] == 0.0  # no measurement: no correction
    assert res.slope_db_per_decade["urban_large"] == 0.0
    assert res.rmse_before_db > 4.0  # the injected corrections: ≈ 5.5 dB RMS
    # held-out villages, corrected by fits that never saw them: close to the noise σ
    assert SIGMA_DB * 0.85 < res.rmse_after_db < SIGMA_DB * 1.2
    assert res.improves and abs(res.bias_after_db) < 0.3
    per = res.per_clutter.set_index("clutter")
    assert (per.loc[list(truth), "rmse_after_db"] < SIGMA_DB * 1.3).all()
    assert int(per["n"].sum()) == res.n_villages
    # applying the fit brings the predictions onto the measurements (within the noise)
    tuned = assess_villages(
        assessed.drop(columns=_RESULT), towers(_sites()), res.apply(AnalysisSettings())
    )
    err = assessed["measured_rsrp_dbm"] - tuned.villages["predicted_rsrp_dbm"]
    assert float(np.sqrt(np.mean(err**2))) < SIGMA_DB * 1.2


_RESULT = [
    "best_operator", "best_tower_id", "best_technology", "best_rsrp_dbm", "best_distance_m",
    "model", "extrapolated", "rsrp_source", "rsrp_viettel_dbm", "rsrp_vnpt_dbm",
    "rsrp_mobifone_dbm", "rsrp_vietnamobile_dbm", "low_signal_viettel", "low_signal_vnpt",
    "low_signal_mobifone", "low_signal_vietnamobile", "best_rscp_dbm", "best_rxlev_dbm",
    "margin_db", "low_signal", "group", "predicted_rsrp_dbm", "predicted_distance_m",
    "best_rsrp_4g_dbm", "best_rsrp_5g_dbm", "covered_2g", "covered_3g", "covered_4g",
    "covered_5g",
]  # fmt: skip


def _sites() -> list[tuple[float, float]]:
    corners = ((0.0, 0.0), (20e3, 0.0), (0.0, 20e3), (20e3, 20e3))
    return [offset_point(LON0, LAT0, x, y) for x, y in corners]


# --------------------------------------------------------------------------- held out


def table(measured: list[float], predicted: list[float], clutter: list[str], **kw: Any) -> Any:
    n = len(measured)
    return pd.DataFrame(
        {
            "village_id": [f"V{i}" for i in range(n)],
            "measured_rsrp_dbm": measured,
            "predicted_rsrp_dbm": predicted,
            "predicted_distance_m": kw.get("distance_m", [1000.0] * n),
            "clutter": pd.Series(clutter, dtype=object),
        }
    )


def test_rmse_is_on_held_out_villages_never_the_fitted_ones() -> None:
    # two suburban villages, residuals +10 and −10 dB, two folds (one village each).
    # By hand: fitted on the other village, each gets offset ∓10, so its held-out error
    # is 20 dB: RMSE after 20, before 10 (in-sample the offset would be 0, RMSE 10).
    res = calibrate(table([-90.0, -110.0], [-100.0, -100.0], ["suburban"] * 2), k=2, seed=0)
    assert res.rmse_before_db == pytest.approx(10.0, abs=1e-9)
    assert res.rmse_after_db == pytest.approx(20.0, abs=1e-9)
    assert sorted(res.held_out["fold"]) == [0, 1]
    assert res.held_out["corrected_rsrp_dbm"].tolist() == pytest.approx([-110.0, -90.0])
    assert not res.improves
    assert res.offset_db["suburban"] == pytest.approx(0.0, abs=1e-9)  # final fit: all of them


def test_folds_are_seeded_and_stratified_by_clutter() -> None:
    clutter = ["open_rural"] * 10 + ["suburban"] * 8 + ["urban_large"] * 5
    n = len(clutter)
    rng = np.random.default_rng(1)
    df = table(list(rng.normal(-100, 5, n)), [-100.0] * n, clutter)
    a = calibrate(df, k=5, seed=42).held_out
    b = calibrate(df, k=5, seed=42).held_out
    c = calibrate(df, k=5, seed=43).held_out
    pd.testing.assert_frame_equal(a, b)
    assert (a["fold"].to_numpy() != c["fold"].to_numpy()).any()
    sizes = a["fold"].value_counts()
    assert sizes.max() - sizes.min() <= 1 and len(sizes) == 5
    for _, grp in a.groupby("clutter"):
        per = grp["fold"].value_counts().reindex(range(5), fill_value=0)
        assert per.max() - per.min() <= 1


def test_villages_without_a_prediction_are_counted_apart() -> None:
    df = table([-90.0, -95.0, -100.0, -120.0], [-92.0, -96.0, -99.0, math.nan], ["open_rural"] * 4)
    df.loc[4] = ["V4", math.nan, -100.0, 1000.0, "open_rural"]  # not measured
    res = calibrate(df, k=3, seed=0)
    assert (res.n_villages, res.n_unpredicted) == (3, 1)
    assert res.held_out["village_id"].tolist() == ["V0", "V1", "V2"]


def test_bad_requests_are_refused() -> None:
    df = table([-90.0, -95.0], [-92.0, -96.0], ["open_rural"] * 2)
    for k in (1, 3, True, 2.5):
        with pytest.raises(ScenarioError):
            calibrate(df, k=k)  # type: ignore[arg-type]
    with pytest.raises(SchemaError, match="predicted_rsrp_dbm"):
        calibrate(df.drop(columns=["predicted_rsrp_dbm"]), k=2)
    with pytest.raises(SchemaError, match="forest"):
        calibrate(table([-90.0, -95.0], [-92.0, -96.0], ["forest", "open_rural"]), k=2)


def test_summary_is_json_ready_and_deterministic() -> None:
    df = table([-90.0, -95.0, -100.0, -99.0], [-92.0, -96.0, -99.0, -98.0], ["suburban"] * 4)
    res = calibrate(df, k=2, seed=5)
    text = json.dumps(res.to_dict(), allow_nan=False, sort_keys=True)
    assert text == json.dumps(calibrate(df, k=2, seed=5).to_dict(), allow_nan=False, sort_keys=True)
    d = res.to_dict()
    assert d["clutter"]["urban_large"]["rmse_before_db"] is None  # no village: no RMSE
    assert d["settings"]["clutter_offset_db"]["suburban"] == pytest.approx(0.25, abs=1e-3)
    assert d["rmse_before_db"] == pytest.approx(math.sqrt((4 + 1 + 1 + 1) / 4), abs=1e-3)


# --------------------------------------------------------------------------- application


def test_offsets_and_slopes_shift_the_predicted_levels() -> None:
    t = towers([(LON0, LAT0)])
    d_m = 5000.0
    v = villages(
        [offset_point(LON0, LAT0, 0.0, d_m)], clutter=pd.Series(["suburban"], dtype=object)
    )
    base = assess_villages(v, t).villages["best_rsrp_dbm"].iloc[0]
    off = AnalysisSettings(clutter_offset_db={"suburban": 4.0, "open_rural": -50.0})
    shifted = assess_villages(v, t, off).villages["best_rsrp_dbm"].iloc[0]
    assert shifted - base == pytest.approx(4.0, abs=1e-9)
    slope = AnalysisSettings(clutter_slope_db_per_decade={"suburban": -6.0})
    tilted = assess_villages(v, t, slope).villages["best_rsrp_dbm"].iloc[0]
    assert tilted - base == pytest.approx(-6.0 * math.log10(d_m / 1000.0), abs=1e-6)


def test_apply_adds_to_the_settings_calibration() -> None:
    df = table([-90.0, -92.0, -94.0], [-100.0, -100.0, -100.0], ["open_rural"] * 3)
    res = calibrate(df, k=3, seed=0)
    assert res.offset_db["open_rural"] == pytest.approx(8.0)
    s = res.apply(AnalysisSettings(clutter_offset_db={"open_rural": 1.0, "suburban": 2.0}))
    assert s.clutter_offset_db == {"open_rural": pytest.approx(9.0), "suburban": 2.0}
    assert s.clutter_slope_db_per_decade == {}


def test_a_positive_offset_widens_the_reach() -> None:
    # a 10 dBm sector: reach = free space down to threshold − 10 dB. By hand:
    # level0 = 10 − 10·log10(600) = −17.78 dBm; budget = −17.78 + 120 = 102.22 dB;
    # FSPL(900 MHz, d) = 102.22 → d = 10^((102.22 − 32.45 − 59.08) / 20) = 3.42 km
    t = towers([(LON0, LAT0)], eirp_dbm=10.0)
    v = villages([offset_point(LON0, LAT0, 0.0, 3600.0)])
    assert assess_villages(v, t).n_pairs == 0
    same = assess_villages(v, t, AnalysisSettings(clutter_offset_db={"open_rural": 3.0}))
    assert same.n_pairs == 0  # +3 dB only cancels the 3 dB clutter loss: levels stay ≤ FSPL's
    wide = assess_villages(v, t, AnalysisSettings(clutter_offset_db={"open_rural": 10.0}))
    assert wide.n_pairs == 1  # 10 − 3 = 7 dB above FSPL's: reach × 10^(7/20) = 7.66 km
