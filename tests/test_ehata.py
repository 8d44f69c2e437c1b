"""NTIA Extended Hata (eHata v3.2) against NTIA's own answers, Okumura's anchors, its
properties and its handling of bad input.

Expected values are outside this code: NTIA eHata v3.2's double-precision results on
the 53 NTIA/ehata test scenarios × reliability 0.5/0.1/0.9 (``loss_db`` in
../shared/reference/propagation/ehata_reference.csv, read in place; README there), and
the Okumura et al. (1968) values eHata's median loss is fitted to, as NTIA quotes them
(NTIA TR-15-517 and NTIA's MedianBasicPropLoss/Sigma_u comments): urban attenuation
relative to free space 22 / 23.5 / 25.85 dB at 1 km and 63.5 / 65.75 / 69.5 dB at
100 km, suburban correction 11.5 / 12.4 / 14 dB, location sigma 7.1 / 7.5 / 8.1 dB at
1500 / 2000 / 3000 MHz (base 200 m, mobile 3 m).
"""

from __future__ import annotations

import csv
import json
import math
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from covgap.ehata import (
    EHATA_RANGE,
    SEA_END_BASE,
    SEA_END_BOTH,
    SEA_END_MOBILE,
    ehata_batch,
    ehata_db,
    ehata_ex,
    fine_rolling_hilly_correction_db,
    general_slope_correction_db,
    isolated_ridge_correction_db,
    location_sigma_db,
    location_variability_db,
    median_basic_loss_db,
    median_rolling_hilly_correction_db,
    mixed_path_correction_db,
)
from covgap.errors import PropagationRangeError

REF_DIR = Path(__file__).resolve().parents[2] / "shared" / "reference" / "propagation"
SHARED_ABSENT = f"../shared is absent: {REF_DIR} holds the NTIA eHata reference cases"
REF_FILE = "ehata_reference.csv"

TOLERANCE_DB = 0.1  # the contract (README of the reference cases)
FAITHFUL_PORT_DB = 1e-3  # what a faithful double-precision port reaches
OKUMURA_DB = 1e-3  # NTIA's fits reproduce Okumura's points to ~1e-4 dB
C_M_PER_S = 299_792_458.0


@cache
def _rows() -> list[dict[str, str]]:
    with (REF_DIR / REF_FILE).open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


@cache
def _profiles() -> dict[str, list[float]]:
    data = json.loads((REF_DIR / "terrain_profiles.json").read_text(encoding="utf-8"))
    return {key: entry["pfl"] for key, entry in data["profiles"].items()}


def _params() -> list[Any]:
    """One pytest param per reference row (id = case_id), or one that skips."""
    if not REF_DIR.is_dir():
        return [pytest.param(None, id="shared-absent")]
    return [pytest.param(row, id=row["case_id"]) for row in _rows()]


def _run(row: dict[str, str], **kwargs: Any) -> float:
    return ehata_db(
        float(row["freq_mhz"]),
        float(row["hb_m"]),
        float(row["hm_m"]),
        _profiles()[row["profile_id"]],
        int(row["enviro_code"]),
        float(row["reliability"]),
        **kwargs,
    )


def _col(rows: list[dict[str, str]], key: str) -> np.ndarray:
    return np.array([float(row[key]) for row in rows])


def _flat_pfl(d_km: float, step_m: float = 100.0, elevation_m: float = 100.0) -> list[float]:
    n = max(1, round(d_km * 1000.0 / step_m))
    return [float(n), d_km * 1000.0 / n] + [elevation_m] * (n + 1)


def _fspl_db(freq_mhz: float, d_m: float) -> float:
    return 20.0 * math.log10(4.0 * math.pi * d_m * freq_mhz * 1e6 / C_M_PER_S)


# --------------------------------------------------------------------------------------
# NTIA reference values, one test per row


@pytest.mark.shared
@pytest.mark.parametrize("row", _params())
def test_matches_ntia(row: dict[str, str] | None) -> None:
    if row is None:
        pytest.skip(SHARED_ABSENT)
    assert _run(row) == pytest.approx(float(row["loss_db"]), abs=TOLERANCE_DB)


@pytest.mark.shared
def test_faithful_port_max_error() -> None:
    """All 159 rows: the largest |covgap − NTIA| is within a faithful port's 1e-3 dB."""
    if not REF_DIR.is_dir():
        pytest.skip(SHARED_ABSENT)
    rows = _rows()
    errors_db = [abs(_run(row) - float(row["loss_db"])) for row in rows]
    assert len(errors_db) == len(rows) == 159
    assert max(errors_db) <= FAITHFUL_PORT_DB


@pytest.mark.shared
def test_batch_matches_ntia_and_single_calls() -> None:
    """All rows in one batch (list and NaN-padded 2-D forms) give NTIA's answers."""
    if not REF_DIR.is_dir():
        pytest.skip(SHARED_ABSENT)
    rows = _rows()
    pfls = [_profiles()[row["profile_id"]] for row in rows]
    args = (_col(rows, "freq_mhz"), _col(rows, "hb_m"), _col(rows, "hm_m"))
    env = _col(rows, "enviro_code").astype(int)
    rel = _col(rows, "reliability")
    result = ehata_batch(*args, pfls, env, rel)
    assert result.loss_db.shape == (len(rows),)
    assert np.abs(result.loss_db - _col(rows, "loss_db")).max() <= FAITHFUL_PORT_DB
    assert result.d_km == pytest.approx(_col(rows, "d_km"), rel=1e-6)  # CSV: 7 digits

    width = max(len(p) for p in pfls)
    padded = np.full((len(pfls), width), np.nan)
    for i, p in enumerate(pfls):
        padded[i, : len(p)] = p
    again = ehata_batch(*args, padded, env, rel)
    assert again.loss_db == pytest.approx(result.loss_db, abs=1e-9)
    assert again.in_range.tolist() == result.in_range.tolist()
    singles = [ehata_ex(*(a[i] for a in args), pfls[i], int(env[i]), rel[i]) for i in range(40)]
    assert [s.loss_db for s in singles] == pytest.approx(result.loss_db[:40].tolist(), abs=1e-9)
    assert [s.in_range for s in singles] == result.in_range[:40].tolist()


@pytest.mark.shared
def test_reverse_path_is_not_reciprocal() -> None:
    """eHata is not symmetric: NTIA's forward and reversed Devil's Tower paths differ by
    ~25 dB, and swapping the profile alone reproduces that difference; ``pfl_from="base"``
    reverses a base-first profile."""
    if not REF_DIR.is_dir():
        pytest.skip(SHARED_ABSENT)
    fwd = _profiles()["ntia_ehata_10"]
    rev = _profiles()["ntia_ehata_11"]
    assert rev[2:] == fwd[:1:-1]
    by_case = {row["case_id"]: float(row["loss_db"]) for row in _rows()}
    got_fwd = ehata_db(2200.0, 20.0, 3.0, fwd, "urban_small_medium")
    got_rev = ehata_db(2200.0, 20.0, 3.0, rev, "urban_small_medium")
    assert got_fwd == pytest.approx(by_case["ehata_90028_q50"], abs=FAITHFUL_PORT_DB)
    assert got_rev == pytest.approx(by_case["ehata_90029_q50"], abs=FAITHFUL_PORT_DB)
    assert got_rev - got_fwd > 20.0
    # a base-first profile (covgap.terrain's tower → village order) is reversed first
    from_base = ehata_db(2200.0, 20.0, 3.0, fwd, "urban_small_medium", pfl_from="base")
    assert from_base == got_rev
    padded = np.full((2, len(fwd) + 5), np.nan)
    padded[0, : len(fwd)] = fwd
    padded[1, : len(rev)] = rev
    batch = ehata_batch(2200.0, 20.0, 3.0, padded, 23, pfl_from="base").loss_db
    assert batch.tolist() == pytest.approx([got_rev, got_fwd], abs=1e-9)
    with pytest.raises(PropagationRangeError, match=r"pfl_from='village' must be"):
        ehata_db(2200.0, 20.0, 3.0, fwd, pfl_from="village")


# --------------------------------------------------------------------------------------
# Okumura's anchors, as NTIA fits them (no ../shared needed)


@pytest.mark.parametrize(
    ("freq_mhz", "urban_1km_db", "urban_100km_db", "suburban_db", "sigma_u_db"),
    [
        (1500.0, 22.0, 63.5, 11.5, 7.1),
        (2000.0, 23.5, 65.75, 12.4, 7.5),
        (3000.0, 25.85, 69.5, 14.0, 8.1),
    ],
)
def test_median_loss_reproduces_okumura_points(
    freq_mhz: float,
    urban_1km_db: float,
    urban_100km_db: float,
    suburban_db: float,
    sigma_u_db: float,
) -> None:
    ray_1km_m = math.hypot(1000.0, 197.0)  # base 200 m, mobile 3 m
    ray_100km_m = math.hypot(100_000.0, 197.0)
    urban_1 = median_basic_loss_db(freq_mhz, 200.0, 3.0, 1.0, "urban_small_medium")
    urban_100 = median_basic_loss_db(freq_mhz, 200.0, 3.0, 100.0, "urban_large")
    suburban_1 = median_basic_loss_db(freq_mhz, 200.0, 3.0, 1.0, "suburban")
    assert urban_1 - _fspl_db(freq_mhz, ray_1km_m) == pytest.approx(urban_1km_db, abs=OKUMURA_DB)
    assert urban_100 - _fspl_db(freq_mhz, ray_100km_m) == pytest.approx(
        urban_100km_db, abs=OKUMURA_DB
    )
    assert urban_1 - suburban_1 == pytest.approx(suburban_db, abs=OKUMURA_DB)
    assert location_sigma_db(freq_mhz, "urban_large") == pytest.approx(sigma_u_db, abs=1e-6)
    assert location_sigma_db(freq_mhz, "open_rural") == pytest.approx(sigma_u_db + 2.0, abs=1e-6)


@pytest.mark.parametrize(
    ("d_km", "urban_excess_db"), [(1.0, 22.0), (100.0, 63.5)], ids=["1km", "100km"]
)
def test_flat_path_is_free_space_plus_okumura(d_km: float, urban_excess_db: float) -> None:
    """Over flat land (no terrain correction applies) the median loss at 1500 MHz, base
    200 m, mobile 3 m is free space plus Okumura's urban attenuation."""
    res = ehata_ex(1500.0, 200.0, 3.0, _flat_pfl(d_km), "urban_small_medium", 0.5)
    ray_m = math.hypot(d_km * 1000.0, 197.0)
    assert res.loss_db - _fspl_db(1500.0, ray_m) == pytest.approx(urban_excess_db, abs=OKUMURA_DB)
    assert res.in_range
    assert not res.single_horizon and res.h_edge_m is None
    assert (res.hb_eff_m, res.hm_eff_m) == (200.0, 3.0)
    assert res.delta_h_m == 0.0 and res.theta_m_mrad == 0.0 and res.sea_fraction == 0.0


def test_corrections_follow_okumura_shapes() -> None:
    # rolling hills: ≈ 0 at Δh ≤ 15 m, a loss (negative correction) as Δh grows
    assert median_rolling_hilly_correction_db([0.0, 15.0]) == pytest.approx([0, 0], abs=1e-3)
    rolling = median_rolling_hilly_correction_db([30.0, 100.0, 300.0])
    assert np.all(np.diff(rolling) < 0) and rolling[0] < 0
    # fine rolling: none under Δh 10 m; +K_h at the 10 % quantile, −K_h at the 90 %
    assert fine_rolling_hilly_correction_db(5.0, 120.0, 110.0, 100.0, 90.0) == 0.0
    k_top = fine_rolling_hilly_correction_db(50.0, 120.0, 110.0, 100.0, 90.0)
    k_mid = fine_rolling_hilly_correction_db(50.0, 100.0, 110.0, 100.0, 90.0)
    k_low = fine_rolling_hilly_correction_db(50.0, 80.0, 110.0, 100.0, 90.0)
    assert k_top == pytest.approx(-k_low) and k_mid == pytest.approx(0.0, abs=1e-12)
    # general slope (Okumura Fig. 34): 0.125 / 0.35 / 0.6 dB per mrad up-slope at
    # ≤ 10 / 30 / ≥ 60 km; 0.25 / 0.8 down-slope at ≤ 10 / ≥ 30 km
    assert general_slope_correction_db(10.0, [5.0, 30.0, 80.0]) == pytest.approx([1.25, 3.5, 6.0])
    assert general_slope_correction_db(-10.0, [5.0, 40.0]) == pytest.approx([-2.5, -8.0])
    # isolated ridge (Okumura Fig. 31), 200 m ridge (factor 1): curve C at d1 ≤ 15 km
    assert isolated_ridge_correction_db(10.0, [0.0, 1.0, 2.0], 200.0) == pytest.approx(
        [4.0, -13.0, -17.5]
    )
    assert isolated_ridge_correction_db(60.0, 3.0, 50.0) == pytest.approx(0.5 * -6.0)
    # land–sea (Okumura §4.4): 11 dB at 30 km and 15 dB at 60 km for an all-sea path
    assert mixed_path_correction_db([30.0, 45.0, 60.0], 1.0, SEA_END_MOBILE) == pytest.approx(
        [11.0, 13.0, 15.0]
    )
    assert mixed_path_correction_db(20.0, 0.15, [SEA_END_BASE, SEA_END_MOBILE]) == pytest.approx(
        [1.0, 4.0]
    )
    assert mixed_path_correction_db(20.0, 0.15, SEA_END_BOTH) == pytest.approx(2.5)
    assert mixed_path_correction_db(20.0, 0.0) == 0.0


# --------------------------------------------------------------------------------------
# Properties


@pytest.mark.parametrize("environment", ["urban_large", "suburban", "open_rural"])
def test_loss_grows_with_distance_on_flat_terrain(environment: str) -> None:
    d_km = np.array([0.5, 1.0, 2.0, 2.9, 3.1, 5.0, 10.0, 15.0, 20.0, 30.0, 50.0, 80.0, 100.0])
    pfls = [_flat_pfl(d) for d in d_km]
    losses = ehata_batch(2100.0, 30.0, 1.5, pfls, environment).loss_db
    assert np.all(np.diff(losses) > 0), losses
    # and across the break-point distance at a tall base (d_bp ≈ 23 km at 200 m, 1500 MHz)
    d_fine = np.linspace(15.0, 35.0, 41)
    fine = ehata_batch(1500.0, 200.0, 3.0, [_flat_pfl(d) for d in d_fine], environment).loss_db
    assert np.all(np.diff(fine) > 0)


@pytest.mark.parametrize("d_km", [2.0, 8.0, 25.0, 70.0])
def test_loss_grows_with_frequency(d_km: float) -> None:
    freqs = np.arange(1500.0, 3001.0, 100.0)
    pfl = _flat_pfl(d_km)
    losses = ehata_batch(freqs, 30.0, 1.5, [pfl] * freqs.size, "urban_small_medium").loss_db
    assert np.all(np.diff(losses) > 0), losses


def test_reliability_orders_the_loss() -> None:
    """0.9 (loss not exceeded at 90 % of locations) ≥ 0.5 ≥ 0.1, on hilly and flat paths."""
    hill = [200.0, 50.0] + [100.0 + 60.0 * math.sin(i / 15.0) for i in range(201)]
    for pfl, env in ((hill, "suburban"), (_flat_pfl(12.0), "urban_small_medium")):
        lo, mid, hi = (ehata_db(1800.0, 25.0, 1.5, pfl, env, r) for r in (0.1, 0.5, 0.9))
        assert hi >= mid >= lo
        assert hi - mid == pytest.approx(mid - lo, abs=1e-6)  # symmetric normal quantiles
    spread = location_variability_db(2000.0, "urban_small_medium", [0.1, 0.5, 0.9])
    assert spread[0] < 0 and abs(spread[1]) < 1e-3 and spread[2] > 0


def test_environment_names_and_codes_agree() -> None:
    pfl = _flat_pfl(6.0)
    by_name = {
        name: ehata_db(2000.0, 40.0, 1.5, pfl, name)
        for name in ("urban_large", "urban_small_medium", "suburban", "open_rural")
    }
    assert (
        by_name["urban_large"]
        == by_name["urban_small_medium"]
        == ehata_db(2000.0, 40.0, 1.5, pfl, 23)
    )
    assert by_name["suburban"] == ehata_db(2000.0, 40.0, 1.5, pfl, 22)
    assert by_name["open_rural"] == ehata_db(2000.0, 40.0, 1.5, pfl, 41)  # any other NLCD code
    assert by_name["urban_large"] > by_name["suburban"] > by_name["open_rural"]


def test_effective_heights_and_clamp() -> None:
    """Beyond 15 km the mobile's effective height is its ground above the mean terrain
    3–15 km away; NTIA clamps effective heights to 1–10 m and 30–200 m."""
    step_m = 100.0
    elev = np.full(301, 100.0)
    elev[:10] = 104.0  # mobile on a 4 m rise; the 3–15 km stretch stays at 100 m
    pfl = [300.0, step_m, *elev.tolist()]
    res = ehata_ex(2000.0, 50.0, 2.0, pfl, "open_rural")
    assert res.hm_eff_unclamped_m == pytest.approx(6.0)
    assert res.hm_eff_m == pytest.approx(6.0)
    assert res.hb_eff_m == pytest.approx(50.0)
    assert res.in_range
    low = ehata_ex(2000.0, 10.0, 0.5, pfl, "open_rural")
    assert (low.hb_eff_m, low.hm_eff_m) == (30.0, 4.5)
    assert not low.in_range
    assert low.median_loss_db == pytest.approx(
        median_basic_loss_db(2000.0, 30.0, 4.5, 30.0, "open_rural"), abs=1e-9
    )


# --------------------------------------------------------------------------------------
# Range handling and bad input


def test_strict_frequency_names_model_argument_value_and_range() -> None:
    pfl = _flat_pfl(5.0)
    loose = ehata_ex(3500.0, 40.0, 1.5, pfl)
    assert math.isfinite(loose.loss_db) and not loose.in_range
    with pytest.raises(PropagationRangeError) as excinfo:
        ehata_db(3500.0, 40.0, 1.5, pfl, strict=True)
    message = excinfo.value.reason
    assert message.startswith("ehata: ")
    assert "freq_mhz = 3500 MHz" in message and "1500–3000 MHz" in message
    assert "strict=False" in message
    assert excinfo.value.column == "freq_mhz"
    assert EHATA_RANGE["freq_mhz"] == (1500.0, 3000.0)


def test_strict_heights_and_distance() -> None:
    with pytest.raises(PropagationRangeError, match=r"hb_m = 20 m .*effective base-station"
                       r" height of 20 m, outside the validity range 30–200 m"):  # fmt: skip
        ehata_db(2000.0, 20.0, 1.5, _flat_pfl(5.0), strict=True)
    with pytest.raises(PropagationRangeError, match=r"hm_m = 12 m .* 1–10 m"):
        ehata_db(2000.0, 40.0, 12.0, _flat_pfl(5.0), strict=True)
    with pytest.raises(PropagationRangeError, match=r"d_km = 0\.5 km .* 1–100 km"):
        ehata_db(2000.0, 40.0, 1.5, _flat_pfl(0.5), strict=True)
    with pytest.raises(PropagationRangeError, match=r"freq_mhz = 900 MHz.*; d_km = 120 km"):
        ehata_db(900.0, 40.0, 1.5, _flat_pfl(120.0), strict=True)
    assert ehata_db(2000.0, 40.0, 1.5, _flat_pfl(5.0), strict=True) > 0


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"reliability": 0.0}, r"reliability=0 is outside NTIA's limits 0 < reliability < 1"),
        ({"reliability": 1.0}, r"reliability=1 is outside"),
        ({"reliability": float("nan")}, r"reliability=nan"),
        ({"freq_mhz": float("nan")}, r"freq_mhz=nan is not allowed"),
        ({"freq_mhz": -5.0}, r"freq_mhz=-5 .*> 0"),
        ({"hb_m": -1.0}, r"hb_m=-1 .*≥ 0"),
        ({"hm_m": float("inf")}, r"hm_m=inf"),
        ({"environment": "jungle"}, r"environment = 'jungle' is not one of"),
        ({"environment": -3}, r"environment code -3"),
    ],
)
@pytest.mark.parametrize("strict", [False, True])
def test_hard_errors_always_raise(kwargs: dict[str, Any], needle: str, strict: bool) -> None:
    args: dict[str, Any] = {
        "freq_mhz": 2000.0,
        "hb_m": 40.0,
        "hm_m": 1.5,
        "pfl": _flat_pfl(5.0),
        "environment": "suburban",
        "reliability": 0.5,
    }
    args.update(kwargs)
    with pytest.raises(PropagationRangeError, match=needle) as excinfo:
        ehata_db(strict=strict, **args)
    assert excinfo.value.reason.startswith("ehata")


@pytest.mark.parametrize(
    ("pfl", "needle"),
    [
        ([50.0, 100.0, *([10.0] * 50), float("nan")], "non-finite elevations"),
        ([50.0, 0.0, *([10.0] * 51)], "step_m"),
        ([50.0, 100.0, *([10.0] * 20)], "says 51 elevations but the array holds 20"),
        ([[1.0, 2.0]], "1-D PFL array"),
    ],
)
def test_malformed_profiles_raise(pfl: list[Any], needle: str) -> None:
    with pytest.raises(PropagationRangeError, match=needle):
        ehata_db(2000.0, 40.0, 1.5, pfl)


def test_batch_errors_name_the_path() -> None:
    pfl = _flat_pfl(5.0)
    holed = np.array([pfl, pfl, pfl])
    holed[1, 20] = np.nan
    with pytest.raises(PropagationRangeError, match=r"pfls\[1\] has non-finite elevations"):
        ehata_batch(2000.0, 40.0, 1.5, holed)
    with pytest.raises(PropagationRangeError, match=r"one value per path \(3\)"):
        ehata_batch(np.array([2000.0, 2100.0]), 40.0, 1.5, [pfl] * 3)
    with pytest.raises(PropagationRangeError, match=r"reliability=1\.2"):
        ehata_batch(2000.0, 40.0, 1.5, [pfl] * 3, reliability=np.array([0.5, 1.2, 0.5]))
    with pytest.raises(PropagationRangeError, match=r"environment must be one name/code or one"):
        ehata_batch(2000.0, 40.0, 1.5, [pfl] * 3, ["suburban", "suburban"])
    flagged = ehata_batch(np.array([2000.0, 3500.0, 2000.0]), 40.0, 1.5, [pfl] * 3)
    assert flagged.in_range.tolist() == [True, False, True]
    assert np.isfinite(flagged.loss_db).all()
    with pytest.raises(
        PropagationRangeError, match=r"path 1 \(1 path\(s\) out of range in all\): freq_mhz"
    ):
        ehata_batch(np.array([2000.0, 3500.0, 2000.0]), 40.0, 1.5, [pfl] * 3, strict=True)


def test_building_blocks_reject_nan() -> None:
    with pytest.raises(PropagationRangeError, match="d_km=nan"):
        median_basic_loss_db(2000.0, 50.0, 1.5, float("nan"))
    with pytest.raises(PropagationRangeError, match=r"sea_fraction=1\.5 is above 1"):
        mixed_path_correction_db(20.0, 1.5)
    with pytest.raises(PropagationRangeError, match="sea_end must be"):
        mixed_path_correction_db(20.0, 0.5, 2)
    with pytest.raises(PropagationRangeError, match="h_edge_m=-1"):
        isolated_ridge_correction_db(10.0, 1.0, -1.0)
