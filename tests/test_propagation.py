"""Path-loss models against published values and the published formulas.

Expected values come from outside covgap: ITU-R P.525's free-space constant,
ns-3's Okumura–Hata reference values (computed by its independent Octave
scripts), and the textbook formulas written out below with scalar ``math``
(Hata 1980, COST 231 Final Report §4.4.1, 3GPP TR 38.901 Table 7.4.1-1).
Formula checks use a 0.01 dB tolerance unless stated.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from covgap.errors import PropagationRangeError
from covgap.propagation import (
    cost231_hata_db,
    cost231_in_range,
    fspl_db,
    fspl_reach_km,
    hata_in_range,
    okumura_hata_db,
    path_loss_db,
    rma_38901_db,
    rma_in_range,
)

TOL_DB = 0.01
log10 = math.log10

# --------------------------------------------------------------------------- textbook formulas


def fspl(f_mhz: float, d_km: float) -> float:
    return 32.45 + 20 * log10(f_mhz) + 20 * log10(d_km)


def a_small(f: float, hm: float) -> float:
    return (1.1 * log10(f) - 0.7) * hm - (1.56 * log10(f) - 0.8)


def a_large(f: float, hm: float) -> float:
    # Hata: f <= 200 MHz and f >= 400 MHz forms (covgap switches at 300 MHz)
    if f <= 300:
        return 8.29 * log10(1.54 * hm) ** 2 - 1.1
    return 3.2 * log10(11.75 * hm) ** 2 - 4.97


def env_correction(f: float, env: str) -> float:
    if env == "suburban":
        return -2 * log10(f / 28) ** 2 - 5.4
    if env == "open_rural":
        return -4.78 * log10(f) ** 2 + 18.33 * log10(f) - 40.94
    return 0.0


def hata(f: float, hb: float, hm: float, d: float, env: str) -> float:
    a = a_large(f, hm) if env == "urban_large" else a_small(f, hm)
    urban = 69.55 + 26.16 * log10(f) - 13.82 * log10(hb) - a + (44.9 - 6.55 * log10(hb)) * log10(d)
    return urban + env_correction(f, env)


def cost231(f: float, hb: float, hm: float, d: float, env: str) -> float:
    a = a_large(f, hm) if env == "urban_large" else a_small(f, hm)
    c_m = 3.0 if env == "urban_large" else 0.0
    urban = (
        46.3 + 33.9 * log10(f) - 13.82 * log10(hb) - a + (44.9 - 6.55 * log10(hb)) * log10(d) + c_m
    )
    return urban + env_correction(f, env)


def rma(
    fc: float, d2d: float, hbs: float, hut: float, los: bool, h: float = 5.0, w: float = 20.0
) -> float:
    d3d = math.sqrt(d2d**2 + (hbs - hut) ** 2)
    d_bp = 2 * math.pi * hbs * hut * fc * 1e9 / 3.0e8

    def pl1(d: float) -> float:
        return (
            20 * log10(40 * math.pi * d * fc / 3)
            + min(0.03 * h**1.72, 10) * log10(d)
            - min(0.044 * h**1.72, 14.77)
            + 0.002 * log10(h) * d
        )

    pl_los = pl1(d3d) if d2d <= d_bp else pl1(d_bp) + 40 * log10(d3d / d_bp)
    if los:
        return pl_los
    nlos = (
        161.04
        - 7.1 * log10(w)
        + 7.5 * log10(h)
        - (24.37 - 3.7 * (h / hbs) ** 2) * log10(hbs)
        + (43.42 - 3.1 * log10(hbs)) * (log10(d3d) - 3)
        + 20 * log10(fc)
        - (3.2 * log10(11.75 * hut) ** 2 - 4.97)
    )
    return max(pl_los, nlos)


ENVS = ("urban_large", "urban_small_medium", "suburban", "open_rural")

# --------------------------------------------------------------------------- free space


def test_fspl_matches_itu_r_p525_at_1ghz_1km() -> None:
    # P.525: L = 32.4 + 20 log f(MHz) + 20 log d(km) → 92.45 dB with the 32.45 constant
    assert fspl_db(1000.0, 1.0) == pytest.approx(92.45, abs=TOL_DB)


def test_fspl_hand_values_and_reach_inverse() -> None:
    f = np.array([700.0, 1800.0, 3500.0])
    d = np.array([0.5, 3.0, 12.0])
    expected = [fspl(a, b) for a, b in zip(f, d, strict=True)]
    assert fspl_db(f, d) == pytest.approx(expected, abs=TOL_DB)
    assert fspl_reach_km(f, np.asarray(expected)) == pytest.approx(d, rel=1e-9)


# --------------------------------------------------------------------------- Okumura–Hata


@pytest.mark.parametrize(
    ("environment", "published_db"),
    [("urban_large", 137.93), ("urban_small_medium", 137.88), ("suburban", 128.03)],
)
def test_hata_matches_ns3_reference(environment: str, published_db: float) -> None:
    # ns-3 src/propagation/test/okumura-hata-test-suite.cc: 869 MHz, 2 km, hb 30 m, hm 1 m;
    # published to 0.01 dB, so the tolerance is half a unit of the last digit plus rounding.
    got = okumura_hata_db(869.0, 30.0, 1.0, 2.0, environment)
    assert got == pytest.approx(published_db, abs=0.006)


@pytest.mark.parametrize("environment", ENVS)
@pytest.mark.parametrize(
    ("f", "hb", "hm", "d"), [(900.0, 50.0, 1.5, 5.0), (450.0, 120.0, 3.0, 15.0), (160.0, 30, 8, 1)]
)
def test_hata_textbook_formula(environment: str, f: float, hb: float, hm: float, d: float) -> None:
    assert okumura_hata_db(f, hb, hm, d, environment) == pytest.approx(
        hata(f, hb, hm, d, environment), abs=TOL_DB
    )


def test_hata_large_city_switches_form_at_300_mhz() -> None:
    hm = 8.0
    low = 8.29 * log10(1.54 * hm) ** 2 - 1.1
    high = 3.2 * log10(11.75 * hm) ** 2 - 4.97
    base = okumura_hata_db(250.0, 50.0, hm, 5.0, "urban_small_medium") + a_small(250.0, hm)
    assert okumura_hata_db(250.0, 50.0, hm, 5.0, "urban_large") == pytest.approx(
        base - low, abs=TOL_DB
    )
    base = okumura_hata_db(350.0, 50.0, hm, 5.0, "urban_small_medium") + a_small(350.0, hm)
    assert okumura_hata_db(350.0, 50.0, hm, 5.0, "urban_large") == pytest.approx(
        base - high, abs=TOL_DB
    )


def test_hata_environment_array_and_broadcasting() -> None:
    d = np.array([[1.0], [4.0], [16.0]])  # (3, 1)
    env = np.array(ENVS)  # (4,)
    got = okumura_hata_db(900.0, 40.0, 1.5, d, env)
    assert got.shape == (3, 4)
    for i, dk in enumerate(d[:, 0]):
        for j, e in enumerate(ENVS):
            assert got[i, j] == pytest.approx(hata(900.0, 40.0, 1.5, dk, e), abs=TOL_DB)
    scalar = okumura_hata_db(900.0, 40.0, 1.5, 3.0, "suburban")
    assert np.ndim(scalar) == 0


# --------------------------------------------------------------------------- COST-231


@pytest.mark.parametrize("environment", ENVS)
@pytest.mark.parametrize(("f", "hb", "hm", "d"), [(1800.0, 45.0, 1.5, 5.0), (1950, 100, 5, 18)])
def test_cost231_textbook_formula(
    environment: str, f: float, hb: float, hm: float, d: float
) -> None:
    assert cost231_hata_db(f, hb, hm, d, environment) == pytest.approx(
        cost231(f, hb, hm, d, environment), abs=TOL_DB
    )


def test_cost231_metropolitan_adds_3_db_over_medium_city_at_hm_1_5() -> None:
    # at hm = 1.5 m both a(hm) forms are ~0 (|a| < 0.06 dB at 1800 MHz): C_m dominates
    large = cost231_hata_db(1800.0, 40.0, 1.5, 3.0, "urban_large")
    medium = cost231_hata_db(1800.0, 40.0, 1.5, 3.0, "urban_small_medium")
    expected = 3.0 - a_large(1800.0, 1.5) + a_small(1800.0, 1.5)
    assert large - medium == pytest.approx(expected, abs=TOL_DB)


# --------------------------------------------------------------------------- RMa


@pytest.mark.parametrize(
    ("fc", "d2d", "hbs", "hut", "los", "h", "w"),
    [
        (3.5, 1000.0, 35.0, 1.5, True, 5.0, 20.0),  # LOS before the breakpoint (3848 m)
        (3.5, 6000.0, 35.0, 1.5, True, 5.0, 20.0),  # LOS beyond: PL2
        (0.9, 2000.0, 35.0, 1.5, False, 5.0, 20.0),  # NLOS = max(LOS, NLOS')
        (2.6, 4500.0, 60.0, 3.0, False, 12.0, 30.0),
        (0.7, 300.0, 20.0, 1.5, True, 8.0, 10.0),
    ],
)
def test_rma_textbook_formula(
    fc: float, d2d: float, hbs: float, hut: float, los: bool, h: float, w: float
) -> None:
    got = rma_38901_db(fc, d2d, hbs, hut, los, h, w)
    assert got == pytest.approx(rma(fc, d2d, hbs, hut, los, h, w), abs=TOL_DB)


def test_rma_nlos_never_below_los() -> None:
    d = np.geomspace(10.0, 5000.0, 60)
    los = rma_38901_db(2.1, d, 35.0, 1.5, True)
    nlos = rma_38901_db(2.1, d, 35.0, 1.5, False)
    assert np.all(nlos >= los)


# --------------------------------------------------------------------------- monotonic, ranges


@pytest.mark.parametrize("environment", ENVS)
def test_losses_increase_with_distance(environment: str) -> None:
    d = np.geomspace(0.05, 60.0, 200)
    for loss in (
        fspl_db(900.0, d),
        okumura_hata_db(900.0, 40.0, 1.5, d, environment),
        cost231_hata_db(1800.0, 40.0, 1.5, d, environment),
        rma_38901_db(3.5, d * 1000, 35.0, 1.5, True),
        rma_38901_db(3.5, d * 1000, 35.0, 1.5, False),
        path_loss_db("auto", 2600.0, 40.0, 1.5, d, environment).loss_db,
        path_loss_db("auto", 900.0, 20.0, 1.5, d, environment).loss_db,
    ):
        assert np.all(np.diff(loss) > 0)


def test_auto_steps_at_box_edges_stay_under_4_db() -> None:
    # The documented bound of the model switches (path_loss_db's docstring).
    d = np.geomspace(0.02, 40.0, 2000)
    worst = 0.0
    for environment in ENVS:
        for f in (450.0, 900.0, 1500.0, 1800.0, 2100.0, 2600.0, 3500.0):
            for hb in (10.0, 20.0, 30.0, 40.0, 60.0, 120.0, 160.0):
                loss = path_loss_db("auto", f, hb, 1.5, d, environment).loss_db
                worst = min(worst, float(np.diff(loss).min()))
    assert worst > -4.0


def test_in_range_masks() -> None:
    assert hata_in_range([150, 1500, 149.9, 900, 900, 900], [30, 200, 50, 29, 50, 50],
                         [1.5, 10, 1.5, 1.5, 1.5, 1.5], [1, 20, 5, 5, 0.99, 20.5]).tolist() == [
        True, True, False, False, False, False,
    ]  # fmt: skip
    assert cost231_in_range([1500, 2000, 2100], 40, 1.5, 5).tolist() == [True, True, False]
    mask = rma_in_range([0.5, 7.0, 7.5, 3.5, 3.5, 3.5], [10, 10_000, 100, 6000, 6000, 100],
                        35, 1.5, [True, True, True, True, False, True],
                        [5, 5, 5, 5, 5, 55], 20)  # fmt: skip
    assert mask.tolist() == [True, True, False, True, False, False]


@pytest.mark.parametrize(
    ("call", "model", "argument", "value", "bounds"),
    [
        (lambda: okumura_hata_db(900, 25, 1.5, 5, strict=True), "okumura_hata", "hb_m", "25",
         "30–200"),
        (lambda: okumura_hata_db(2100, 40, 1.5, 5, strict=True), "okumura_hata", "freq_mhz",
         "2100", "150–1500"),
        (lambda: okumura_hata_db(900, 40, 1.5, [2, 25], strict=True), "okumura_hata", "d_km",
         "25", "1–20"),
        (lambda: cost231_hata_db(1800, 40, 12, 5, strict=True), "cost231_hata", "hm_m", "12",
         "1–10"),
        (lambda: rma_38901_db(3.5, 6000, 35, 1.5, False, strict=True), "rma_38901", "d2d_m",
         "6000", "10–5000"),
        (lambda: rma_38901_db(10.0, 1000, 35, 1.5, True, strict=True), "rma_38901", "freq_ghz",
         "10", "0.5–7"),
        (lambda: rma_38901_db(3.5, 1000, 35, 1.5, True, 5, 60, strict=True), "rma_38901", "w_m",
         "60", "5–50"),
    ],
)  # fmt: skip
def test_strict_range_errors_name_model_argument_value_range(
    call: object, model: str, argument: str, value: str, bounds: str
) -> None:
    with pytest.raises(PropagationRangeError) as info:
        call()  # type: ignore[operator]
    message = str(info.value)
    assert info.value.column == argument
    for part in (model, argument, value, bounds):
        assert part in message


def test_strict_accepts_the_box_and_lax_extrapolates() -> None:
    inside = okumura_hata_db(900, 40, 1.5, 5, "suburban", strict=True)
    assert inside == pytest.approx(hata(900, 40, 1.5, 5, "suburban"), abs=TOL_DB)
    outside = okumura_hata_db(900, 20, 1.5, 0.5, "suburban")
    assert outside == pytest.approx(hata(900, 20, 1.5, 0.5, "suburban"), abs=TOL_DB)


def test_unknown_environment_is_refused() -> None:
    with pytest.raises(PropagationRangeError, match="forest"):
        okumura_hata_db(900, 40, 1.5, 5, "forest")
    # the name as the user wrote it, not numpy's repr of it (np.str_('jungle'))
    with pytest.raises(PropagationRangeError) as err:
        path_loss_db("auto", 900.0, 40.0, 1.5, [5.0, 6.0], np.array(["suburban", "jungle"]))
    assert "environment = 'jungle' is not one of" in str(err.value)
    assert "np.str_" not in str(err.value)


# --------------------------------------------------------------------------- dispatcher


def test_auto_picks_hata_cost231_rma_in_their_boxes() -> None:
    r = path_loss_db(
        "auto",
        [900.0, 1800.0, 900.0, 900.0, 3500.0],
        [40.0, 40.0, 20.0, 20.0, 25.0],
        1.5,
        [5.0, 5.0, 3.0, 3.0, 8.0],
        ["urban_small_medium", "suburban", "open_rural", "suburban", "open_rural"],
    )
    assert r.model_used.tolist() == ["hata", "cost231", "rma", "rma", "rma"]
    assert not r.extrapolated.any()
    expected = [
        hata(900, 40, 1.5, 5, "urban_small_medium"),
        cost231(1800, 40, 1.5, 5, "suburban"),
        rma(0.9, 3000, 20, 1.5, True),  # open_rural: LOS
        rma(0.9, 3000, 20, 1.5, False),  # suburban: NLOS
        rma(3.5, 8000, 25, 1.5, True),  # LOS range reaches 10 km
    ]
    assert r.loss_db == pytest.approx(expected, abs=TOL_DB)


def test_auto_extrapolates_the_nearest_model() -> None:
    cases = [
        # (f MHz, hb m, d km, environment) → model, expected loss
        ((900.0, 25.0, 7.0, "suburban"), "rma", rma(0.9, 7000, 25, 1.5, False)),  # distance only
        ((900.0, 20.0, 14.0, "open_rural"), "rma", rma(0.9, 14000, 20, 1.5, True)),  # distance
        ((900.0, 40.0, 0.5, "urban_large"), "hata", hata(900, 40, 1.5, 0.5, "urban_large")),
        ((1800.0, 40.0, 30.0, "suburban"), "cost231", cost231(1800, 40, 1.5, 30, "suburban")),
        ((2600.0, 40.0, 5.0, "urban_large"), "cost231", cost231(2600, 40, 1.5, 5, "urban_large")),
        ((2600.0, 8.0, 3.0, "open_rural"), "rma", rma(2.6, 3000, 8, 1.5, True)),  # band: RMa
        ((1800.0, 25.0, 3.0, "urban_small_medium"), "cost231",
         cost231(1800, 25, 1.5, 3, "urban_small_medium")),  # band: 1500–2000 MHz
        ((1200.0, 8.0, 3.0, "suburban"), "hata", hata(1200, 8, 1.5, 3, "suburban")),  # band
        ((120.0, 40.0, 5.0, "open_rural"), "hata", hata(120, 40, 1.5, 5, "open_rural")),
    ]  # fmt: skip
    f, hb, d, env = (np.array([c[0][i] for c in cases]) for i in range(4))
    r = path_loss_db("auto", f, hb, 1.5, d, env)
    assert r.model_used.tolist() == [c[1] for c in cases]
    assert r.extrapolated.all()
    expected = [max(c[2], fspl(c[0][0], c[0][2])) for c in cases]
    assert r.loss_db == pytest.approx(expected, abs=TOL_DB)


def test_dispatcher_floors_at_free_space_and_clamps_to_10_m() -> None:
    # Hata's open-area loss at 200 m from a 200 m mast is below free space:
    assert hata(900, 200, 1.5, 0.2, "open_rural") < fspl(900, 0.2)
    r = path_loss_db("hata", 900.0, 200.0, 1.5, [0.2, 0.0, 0.01], "open_rural")
    assert r.loss_db[0] == pytest.approx(fspl(900, 0.2), abs=TOL_DB)
    assert r.loss_db[1] == pytest.approx(r.loss_db[2], abs=1e-12)
    assert r.extrapolated.all()


@pytest.mark.parametrize("shared_heights", [False, True])
def test_forced_models_equal_the_model_functions(shared_heights: bool) -> None:
    rng = np.random.default_rng(3)
    if shared_heights:  # many pairs share (f, hb, hm): the coefficients are computed once each
        n = 3000
        f = rng.choice([700.0, 900.0, 1800.0, 2100.0, 2600.0, 3500.0], n)
        hb = rng.choice([15.0, 30.0, 45.0], n)
        hm = rng.choice([1.5, 3.0], n)
    else:
        n = 400
        f = rng.uniform(150.0, 3800.0, n)
        hb = rng.uniform(10.0, 150.0, n)
        hm = rng.uniform(1.0, 10.0, n)
    d = rng.uniform(1.0, 20.0, n)
    env = rng.choice(np.array(ENVS), n)
    free = fspl_db(f, d)
    cases = {
        "hata": okumura_hata_db(f, hb, hm, d, env),
        "cost231": cost231_hata_db(f, hb, hm, d, env),
        "rma": rma_38901_db(f / 1000, d * 1000, hb, hm, env == "open_rural"),
        "fspl": free,
    }
    for model, loss in cases.items():
        r = path_loss_db(model, f, hb, hm, d, env)
        assert (r.model_used == model).all()
        np.testing.assert_allclose(r.loss_db, np.maximum(loss, free), rtol=0, atol=1e-9)
    in_box = hata_in_range(f, hb, hm, d)
    assert (path_loss_db("hata", f, hb, hm, d, env).extrapolated == ~in_box).all()


def test_terrain_seam_replaces_loss_where_given() -> None:
    r = path_loss_db(
        "auto", 900.0, 40.0, 1.5, [5.0, 5.0], "suburban", terrain_loss_db=[np.nan, 150.0]
    )
    assert r.model_used.tolist() == ["hata", "itm"]
    assert r.loss_db[1] == 150.0
    assert r.loss_db[0] == pytest.approx(hata(900, 40, 1.5, 5, "suburban"), abs=TOL_DB)
    assert not r.extrapolated.any()


def test_terrain_seam_records_the_terrain_model_that_answered() -> None:
    r = path_loss_db(
        "auto", 1800.0, 40.0, 1.5, [3.0, 3.0, 12.0], "open_rural",
        terrain_loss_db=[141.5, np.nan, 160.0], terrain_model="knife_edge",
    )  # fmt: skip
    assert r.model_used.tolist() == ["knife_edge", "cost231", "knife_edge"]
    assert r.loss_db[0] == 141.5 and r.loss_db[2] == 160.0
    assert r.loss_db[1] == pytest.approx(cost231(1800, 40, 1.5, 3, "open_rural"), abs=TOL_DB)
    with pytest.raises(PropagationRangeError, match="terrain_model"):
        path_loss_db("auto", 900.0, 40.0, 1.5, 5.0, terrain_loss_db=[1.0], terrain_model="srtm")
    r = path_loss_db(
        "auto", 1800.0, 40.0, 1.5, 3.0, "open_rural", terrain_loss_db=140.0, terrain_model="ehata"
    )
    assert (str(r.model_used), float(r.loss_db)) == ("ehata", 140.0)


def test_unknown_model_is_refused() -> None:
    with pytest.raises(PropagationRangeError, match="model"):
        path_loss_db("walfisch", 900.0, 40.0, 1.5, 5.0, "suburban")


# --------------------------------------------------------------------------- numba cache
# covgap.propagation.cached_njit: numba's on-disk cache keyed also on the files a kernel
# depends on, and no import error when nowhere is writable. Each case runs a fresh
# interpreter (numba's cache is per process) on a tiny module written here.

_DEP = """
import numba

@numba.njit
def value():
    return {value}
"""
_MOD = """
from pathlib import Path

import dep
from covgap.propagation import cached_njit

@cached_njit(depends_on=(Path(dep.__file__),))
def f():
    return dep.value()
"""
_RUN = "import mod; print(mod.f(), mod.f.stats.cache_hits and 'hit' or 'miss')"


def _run_module(folder: Path, env: dict[str, str]) -> str:
    out = subprocess.run(
        [sys.executable, "-c", _RUN],
        cwd=folder,
        env={**os.environ, "PYTHONPATH": str(folder), **env},
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    return out.stdout.strip()


def test_cached_kernel_is_reused_and_follows_its_dependency(tmp_path: Path) -> None:
    (tmp_path / "mod.py").write_text(textwrap.dedent(_MOD))
    (tmp_path / "dep.py").write_text(_DEP.format(value=1))
    env = {"NUMBA_CACHE_DIR": str(tmp_path / "cache")}
    assert _run_module(tmp_path, env) == "1 miss"  # compiled, then saved
    assert _run_module(tmp_path, env) == "1 hit"  # loaded from the cache
    # numba alone keys the cache on mod.py only and would return 1 again
    (tmp_path / "dep.py").write_text(_DEP.format(value=2))
    assert _run_module(tmp_path, env) == "2 miss"
    assert _run_module(tmp_path, env) == "2 hit"


def test_cached_kernel_compiles_when_no_cache_directory_is_writable(tmp_path: Path) -> None:
    (tmp_path / "mod.py").write_text(textwrap.dedent(_MOD))
    (tmp_path / "dep.py").write_text(_DEP.format(value=3))
    (tmp_path / "__pycache__").write_text("a file where the in-tree cache would go")
    blocker = tmp_path / "not_a_dir"
    blocker.write_text("")
    env = {  # every place numba would try is under a regular file: none can be made
        "NUMBA_CACHE_DIR": str(blocker / "numba"),
        "XDG_CACHE_HOME": str(blocker / "xdg"),
        "HOME": str(blocker / "home"),
    }
    assert _run_module(tmp_path, env) == "3 miss"
    assert _run_module(tmp_path, env) == "3 miss"  # compiled again: nothing was saved


# --------------------------------------------------------------------------- loss floor
# covgap.propagation.pair_model_loss_floor: the best-server kernel skips a sector when even
# this floor leaves it below the level to beat, so it must never exceed the loss at any
# farther distance (the property below, over the models' boxes and well outside them).


@pytest.mark.parametrize("env", ["urban_large", "urban_small_medium", "suburban", "open_rural"])
def test_loss_floor_never_exceeds_the_loss_farther_out(env: str) -> None:
    from covgap.propagation import (
        ENVIRONMENTS,
        MODEL_COST231,
        MODEL_FSPL,
        MODEL_HATA,
        MODEL_RMA,
        loss_coefficients,
        pair_model_loss,
        pair_model_loss_floor,
    )

    freqs = np.array([450.0, 900.0, 1800.0, 2100.0, 2600.0, 3500.0, 6000.0])
    heights = np.array([5.0, 12.0, 25.0, 30.0, 60.0, 150.0, 300.0])
    f, hb = (a.ravel() for a in np.meshgrid(freqs, heights))
    coef = loss_coefficients(f, hb, 1.5)
    e = ENVIRONMENTS.index(env)
    starts_km = np.geomspace(0.01, 40.0, 41)
    factors = np.array([1.0, 1.0001, 1.01, 1.3, 2.0, 4.0, 30.0])
    for used in (MODEL_HATA, MODEL_COST231, MODEL_RMA, MODEL_FSPL):
        for k in range(f.size):
            for d0 in starts_km:
                floor = pair_model_loss_floor(coef, k, used, d0, e)
                farther = [pair_model_loss(coef, k, used, d0 * x, e) for x in factors]
                assert floor <= min(farther) + 1e-9, (used, f[k], hb[k], d0)
                # and it is the loss itself at the start (tight) except around RMa's breakpoint
                if used != MODEL_RMA:
                    assert floor == pytest.approx(farther[0], abs=1e-9)
