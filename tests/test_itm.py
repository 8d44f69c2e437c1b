"""ITM (NTIA v1.4) against NTIA's own answers, and its range handling.

Expected values are outside this code: NTIA ITM v1.4's double-precision results
(``ntia_v14_loss_db``, ``ntia_v14_mode``, ``ntia_v14_warnings``) and, for NTIA's
published cases, the rounded values NTIA printed (``loss_db`` with
``published_decimals``), from ../shared/reference/propagation (README there).
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

from covgap.errors import PropagationRangeError
from covgap.itm import (
    MODE_LINE_OF_SIGHT,
    WARN_EXTREME_VARIABILITIES,
    WARN_FREQUENCY,
    WARN_PATH_DISTANCE_TOO_SMALL_2,
    WARN_RX_TERMINAL_HEIGHT,
    ItmResult,
    itm_area_db,
    itm_p2p_batch,
    itm_p2p_batch_db,
    itm_p2p_db,
)

REF_DIR = Path(__file__).resolve().parents[2] / "shared" / "reference" / "propagation"
SHARED_ABSENT = f"../shared is absent: {REF_DIR} holds the NTIA ITM reference cases"

TOLERANCE_DB = 0.1  # the contract (DESIGN §9)
FAITHFUL_PORT_DB = 1e-3  # what a faithful double-precision port reaches
CSV_ROUNDING_DB = 1e-6  # expected values are stored with 6 decimals

P2P_FILES = ("itm_p2p_reference.csv", "itm_p2p_generated.csv")
AREA_FILES = ("itm_area_reference.csv", "itm_area_generated.csv")


def _read_rows(name: str) -> list[dict[str, str]]:
    with (REF_DIR / name).open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _params(names: tuple[str, ...]) -> list[Any]:
    """One pytest param per CSV row (id ``file:case_id``), or one that skips."""
    if not REF_DIR.is_dir():
        return [pytest.param(None, None, id="shared-absent")]
    return [
        pytest.param(name, row, id=f"{name.removesuffix('.csv')}:{row['case_id']}")
        for name in names
        for row in _read_rows(name)
    ]


@cache
def _profiles() -> dict[str, list[float]]:
    data = json.loads((REF_DIR / "terrain_profiles.json").read_text(encoding="utf-8"))
    return {key: entry["pfl"] for key, entry in data["profiles"].items()}


def _common_kwargs(row: dict[str, str]) -> dict[str, Any]:
    return {
        "climate": int(row["climate"]),
        "n_0_nunits": float(row["n_0_nunits"]),
        "pol": int(row["pol"]),
        "epsilon": float(row["epsilon"]),
        "sigma_s_per_m": float(row["sigma_s_per_m"]),
        "mdvar": int(row["mdvar"]),
        "time_pct": float(row["time_pct"]),
        "location_pct": float(row["location_pct"]),
        "situation_pct": float(row["situation_pct"]),
    }


def _run_p2p(row: dict[str, str]) -> ItmResult:
    return itm_p2p_db(
        _profiles()[row["profile_id"]],
        float(row["h_tx_m"]),
        float(row["h_rx_m"]),
        float(row["freq_mhz"]),
        **_common_kwargs(row),
    )


def _run_area(row: dict[str, str]) -> ItmResult:
    return itm_area_db(
        float(row["d_km"]),
        float(row["h_tx_m"]),
        float(row["h_rx_m"]),
        int(row["tx_siting"]),
        int(row["rx_siting"]),
        float(row["delta_h_m"]),
        float(row["freq_mhz"]),
        **_common_kwargs(row),
    )


def _check_against_ntia(result: ItmResult, row: dict[str, str]) -> None:
    expected_db = float(row["ntia_v14_loss_db"])
    assert result.loss_db == pytest.approx(expected_db, abs=TOLERANCE_DB)
    assert result.mode == int(row["ntia_v14_mode"])
    assert result.warnings == int(row["ntia_v14_warnings"], 16)
    assert result.return_code == (1 if result.warnings else 0)
    if row["source"].startswith("NTIA/"):
        # NTIA's published value, rounded to the decimals it printed
        half_unit_db = 0.5 * 10.0 ** -int(row["published_decimals"])
        assert result.loss_db == pytest.approx(
            float(row["loss_db"]), abs=half_unit_db + CSV_ROUNDING_DB
        )


# --------------------------------------------------------------------------------------
# NTIA reference values, one test per row


@pytest.mark.shared
@pytest.mark.parametrize(("name", "row"), _params(P2P_FILES))
def test_p2p_matches_ntia(name: str | None, row: dict[str, str] | None) -> None:
    if row is None:
        pytest.skip(SHARED_ABSENT)
    _check_against_ntia(_run_p2p(row), row)


@pytest.mark.shared
@pytest.mark.parametrize(("name", "row"), _params(AREA_FILES))
def test_area_matches_ntia(name: str | None, row: dict[str, str] | None) -> None:
    if row is None:
        pytest.skip(SHARED_ABSENT)
    _check_against_ntia(_run_area(row), row)


@pytest.mark.shared
@pytest.mark.parametrize("name", P2P_FILES + AREA_FILES)
def test_faithful_port_max_error(name: str) -> None:
    """Whole file: the largest |covgap − NTIA| is within a faithful port's 1e-3 dB."""
    if not REF_DIR.is_dir():
        pytest.skip(SHARED_ABSENT)
    run = _run_p2p if name in P2P_FILES else _run_area
    rows = _read_rows(name)
    errors_db = [abs(run(row).loss_db - float(row["ntia_v14_loss_db"])) for row in rows]
    assert len(errors_db) == len(rows) > 0
    assert max(errors_db) <= FAITHFUL_PORT_DB


@pytest.mark.shared
def test_batch_matches_ntia_and_single_calls() -> None:
    """All p2p rows in one batch (list and padded 2-D forms) give NTIA's answers."""
    if not REF_DIR.is_dir():
        pytest.skip(SHARED_ABSENT)
    rows = [row for name in P2P_FILES for row in _read_rows(name)]
    pfls = [_profiles()[row["profile_id"]] for row in rows]

    def col(key: str) -> np.ndarray:
        return np.array([float(row[key]) for row in rows])

    kwargs = {
        "climate": col("climate").astype(int),
        "n_0_nunits": col("n_0_nunits"),
        "pol": col("pol").astype(int),
        "epsilon": col("epsilon"),
        "sigma_s_per_m": col("sigma_s_per_m"),
        "mdvar": col("mdvar").astype(int),
        "time_pct": col("time_pct"),
        "location_pct": col("location_pct"),
        "situation_pct": col("situation_pct"),
    }
    result = itm_p2p_batch(pfls, col("h_tx_m"), col("h_rx_m"), col("freq_mhz"), **kwargs)
    expected_db = col("ntia_v14_loss_db")
    assert result.loss_db.shape == (len(rows),)
    assert np.abs(result.loss_db - expected_db).max() <= FAITHFUL_PORT_DB
    assert result.mode.tolist() == [int(row["ntia_v14_mode"]) for row in rows]
    assert result.warnings.tolist() == [int(row["ntia_v14_warnings"], 16) for row in rows]

    width = max(len(p) for p in pfls)
    padded = np.full((len(pfls), width), np.nan)
    for i, p in enumerate(pfls):
        padded[i, : len(p)] = p
    loss_db = itm_p2p_batch_db(padded, col("h_tx_m"), col("h_rx_m"), col("freq_mhz"), **kwargs)
    assert loss_db == pytest.approx(result.loss_db, abs=1e-9)
    singles = [_run_p2p(row).loss_db for row in rows[:25]]
    assert singles == pytest.approx(result.loss_db[:25].tolist(), abs=1e-9)


# --------------------------------------------------------------------------------------
# Small synthetic cases (no ../shared needed)

# 10 km, 101 points, gentle hill in the middle: line of sight at these heights.
FLAT_STEP_M = 100.0
HILL_PFL = [100.0, FLAT_STEP_M] + [20.0 + 15.0 * math.sin(math.pi * i / 100) for i in range(101)]


def test_result_fields_and_free_space_term() -> None:
    res = itm_p2p_db(HILL_PFL, 30.0, 2.0, 900.0)
    assert res.d_km == pytest.approx(10.0, abs=1e-12)
    # free-space term, hand formula: 32.45 + 20 log10(f_MHz) + 20 log10(d_km)
    assert res.a_fs_db == pytest.approx(32.45 + 20 * math.log10(900.0) + 20.0, abs=1e-9)
    assert res.mode == MODE_LINE_OF_SIGHT
    assert res.mode_name == "line of sight"
    assert res.loss_db > res.a_fs_db - 10.0  # variability at 50 % stays small
    assert res.warnings == 0 and not res.extrapolated and res.warning_names == ()


def test_warning_names_follow_the_bits() -> None:
    res = itm_p2p_db(HILL_PFL, 30.0, 0.8, 30.0)  # RX under 1 m, 30 MHz under 40 MHz
    assert res.warnings & WARN_RX_TERMINAL_HEIGHT
    assert res.warnings & WARN_FREQUENCY
    assert "RX_TERMINAL_HEIGHT" in res.warning_names
    assert "FREQUENCY" in res.warning_names
    assert res.extrapolated and res.return_code == 1


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"freq_mhz": 15.0}, "freq_mhz=15 is outside NTIA ITM's allowed range 20–20000 MHz"),
        ({"freq_mhz": 25000.0}, "freq_mhz=25000"),
        ({"h_tx_m": 0.3}, "h_tx_m=0.3 is outside NTIA ITM's allowed range 0.5–3000 m"),
        ({"h_rx_m": 3500.0}, "h_rx_m=3500"),
        ({"climate": 8}, "climate=8"),
        ({"n_0_nunits": 200.0}, "n_0_nunits=200 is outside NTIA ITM's allowed range 250–400"),
        ({"pol": 2}, "pol=2"),
        ({"epsilon": 0.5}, "epsilon=0.5"),
        ({"sigma_s_per_m": 0.0}, "sigma_s_per_m=0"),
        ({"mdvar": 5}, "mdvar=5"),
        ({"time_pct": 0.0}, "time_pct=0"),
        ({"location_pct": 100.0}, "location_pct=100"),
        ({"situation_pct": -5.0}, "situation_pct=-5"),
        ({"freq_mhz": float("nan")}, "freq_mhz=nan"),
    ],
)
@pytest.mark.parametrize("strict", [False, True])
def test_ntia_errors_always_raise(kwargs: dict[str, Any], needle: str, strict: bool) -> None:
    args: dict[str, Any] = {"h_tx_m": 30.0, "h_rx_m": 2.0, "freq_mhz": 900.0}
    args.update(kwargs)
    with pytest.raises(PropagationRangeError) as excinfo:
        itm_p2p_db(HILL_PFL, strict=strict, **args)
    assert needle in str(excinfo.value)
    assert str(excinfo.value).startswith("ITM point-to-point: ")


def test_all_bad_arguments_reported_at_once() -> None:
    with pytest.raises(PropagationRangeError) as excinfo:
        itm_p2p_db(HILL_PFL, 0.1, 2.0, 5.0, climate=0)
    message = str(excinfo.value)
    assert "h_tx_m=0.1" in message and "freq_mhz=5" in message and "climate=0" in message


def test_warning_tier_computes_unless_strict() -> None:
    res = itm_p2p_db(HILL_PFL, 30.0, 2.0, 30.0)  # 30 MHz: NTIA warns (40–10000 MHz)
    assert res.warnings == WARN_FREQUENCY
    assert math.isfinite(res.loss_db)
    with pytest.raises(PropagationRangeError) as excinfo:
        itm_p2p_db(HILL_PFL, 30.0, 2.0, 30.0, strict=True)
    message = str(excinfo.value)
    assert "freq_mhz=30 is outside ITM's validity range 40–10000 MHz" in message
    assert "0x0004" in message and "strict=False" in message


def test_strict_names_height_and_variability() -> None:
    with pytest.raises(PropagationRangeError, match=r"h_rx_m=0\.8 is outside .* 1–1000 m"):
        itm_p2p_db(HILL_PFL, 30.0, 0.8, 900.0, strict=True)
    res = itm_p2p_db(HILL_PFL, 30.0, 2.0, 900.0, mdvar=3, location_pct=99.95)
    assert res.warnings == WARN_EXTREME_VARIABILITIES
    with pytest.raises(PropagationRangeError, match=r"location_pct=99\.95 lies beyond 3\.10"):
        itm_p2p_db(HILL_PFL, 30.0, 2.0, 900.0, mdvar=3, location_pct=99.95, strict=True)


@pytest.mark.shared
def test_strict_names_terrain_warnings() -> None:
    """NTIA's p2p.csv row 2 carries warning 0x0400 (RX horizon under 1/10 smooth earth)."""
    if not REF_DIR.is_dir():
        pytest.skip(SHARED_ABSENT)
    row = next(r for r in _read_rows("itm_p2p_reference.csv") if r["case_id"] == "ntia_p2p_2")
    assert _run_p2p(row).warning_names == ("RX_HORIZON_DISTANCE_1",)
    with pytest.raises(PropagationRangeError, match=r"RX horizon distance .* under 1/10"):
        itm_p2p_db(
            _profiles()[row["profile_id"]],
            float(row["h_tx_m"]),
            float(row["h_rx_m"]),
            float(row["freq_mhz"]),
            strict=True,
            **_common_kwargs(row),
        )


def test_derived_errors_raise() -> None:
    # epsilon = 1 with horizontal polarisation: Z_g = sqrt(j x), real == imag (NTIA 1013)
    with pytest.raises(PropagationRangeError, match="NTIA ITM error 1013"):
        itm_p2p_db(HILL_PFL, 30.0, 2.0, 900.0, pol=0, epsilon=1.0)
    # a plateau at 5000 m scales N_0 = 250 to 250·exp(−5000/9460) ≈ 147 < 150 (NTIA 1021)
    plateau = [100.0, FLAT_STEP_M] + [5000.0] * 101
    with pytest.raises(PropagationRangeError, match=r"NTIA ITM error 1021.*N_s=147"):
        itm_p2p_db(plateau, 30.0, 2.0, 900.0, n_0_nunits=250.0)


@pytest.mark.parametrize(
    ("pfl", "needle"),
    [
        ([100.0, 0.0, *([10.0] * 101)], "step_m"),
        ([100.0, 100.0, *([10.0] * 50)], "says 101 elevations but the array holds 50"),
        ([2.5, 100.0, 1.0, 2.0, 3.0, 4.0], "whole number"),
        ([100.0, 100.0, *([10.0] * 100), float("nan")], "non-finite elevations"),
        ([[1.0, 2.0]], "1-D PFL array"),
    ],
)
def test_malformed_profiles_raise(pfl: list[Any], needle: str) -> None:
    with pytest.raises(PropagationRangeError, match=needle):
        itm_p2p_db(pfl, 30.0, 2.0, 900.0)


def test_area_errors_and_strict() -> None:
    for kwargs, needle in (
        ({"d_km": 0.0}, r"d_km=0 .*> 0 km"),
        ({"delta_h_m": -1.0}, r"delta_h_m=-1 .*≥ 0 m"),
        ({"tx_siting": 3}, r"tx_siting=3"),
        ({"rx_siting": -1}, r"rx_siting=-1"),
    ):
        args: dict[str, Any] = {
            "d_km": 10.0,
            "h_tx_m": 30.0,
            "h_rx_m": 2.0,
            "tx_siting": 0,
            "rx_siting": 0,
            "delta_h_m": 90.0,
            "freq_mhz": 900.0,
        }
        args.update(kwargs)
        with pytest.raises(PropagationRangeError, match=needle):
            itm_area_db(**args)
    short = itm_area_db(0.5, 30.0, 2.0, 0, 0, 90.0, 900.0)
    assert short.warnings & WARN_PATH_DISTANCE_TOO_SMALL_2
    with pytest.raises(PropagationRangeError, match=r"path distance 0\.5 km is below ITM's 1 km"):
        itm_area_db(0.5, 30.0, 2.0, 0, 0, 90.0, 900.0, strict=True)


def test_batch_errors_name_the_path() -> None:
    pfls = [HILL_PFL, HILL_PFL, HILL_PFL]
    with pytest.raises(PropagationRangeError, match=r"freq_mhz=10 \(path 1, 1 path\(s\) in all\)"):
        itm_p2p_batch(pfls, 30.0, 2.0, np.array([900.0, 10.0, 900.0]))
    with pytest.raises(PropagationRangeError, match=r"one value per path \(3\)"):
        itm_p2p_batch(pfls, 30.0, 2.0, np.array([900.0, 900.0]))
    flagged = itm_p2p_batch(pfls, 30.0, np.array([2.0, 2.0, 0.8]), 900.0)
    assert flagged.warnings.tolist() == [0, 0, WARN_RX_TERMINAL_HEIGHT]
    with pytest.raises(PropagationRangeError, match=r"path 2 \(1 path\(s\) flagged in all\)"):
        itm_p2p_batch(pfls, 30.0, np.array([2.0, 2.0, 0.8]), 900.0, strict=True)
    with pytest.raises(PropagationRangeError, match=r"pfls\[1\]\[1\] \(step_m\)"):
        itm_p2p_batch([HILL_PFL, [100.0, -1.0, *HILL_PFL[2:]]], 30.0, 2.0, 900.0)
    holed = np.array([HILL_PFL, HILL_PFL, HILL_PFL])
    holed[2, 40] = np.inf
    with pytest.raises(PropagationRangeError, match=r"pfls\[2\] has non-finite elevations"):
        itm_p2p_batch(holed, 30.0, 2.0, 900.0)
    # NaN padding after a row's own PFL is ignored
    padded = np.full((2, len(HILL_PFL) + 7), np.nan)
    padded[:, : len(HILL_PFL)] = HILL_PFL
    assert itm_p2p_batch_db(padded, 30.0, 2.0, 900.0) == pytest.approx(
        [itm_p2p_db(HILL_PFL, 30.0, 2.0, 900.0).loss_db] * 2, abs=1e-9
    )


def test_interdecile_selection_equals_sorting() -> None:
    """ComputeDeltaH's 10 %/90 % order statistics (a fast selection) equal np.sort's."""
    from covgap.itm import _kth_largest_and_smallest

    rng = np.random.default_rng(7)
    for trial in range(400):
        p10 = int(rng.integers(4, 26))
        n = 10 * p10 - 5  # NTIA's sample count for this p10
        shape = trial % 4
        if shape == 0:
            a = rng.normal(size=n)
        elif shape == 1:
            a = rng.normal(size=n).cumsum()  # terrain-like, correlated
        elif shape == 2:
            a = rng.integers(0, 4, size=n).astype(float)  # many ties
        else:
            a = np.sort(rng.normal(size=n))[::-1].copy()
        expected = np.sort(a)
        got = _kth_largest_and_smallest(a.copy(), p10, np.empty(2 * n))
        assert got == (expected[n - p10], expected[p10 - 1])
