"""Path-loss models, vectorised over numpy arrays (DESIGN §4).

Every model is a pure function with units in its argument names, its source and
validity range in its docstring, and a ``strict`` keyword: ``strict=True``
raises :class:`~covgap.errors.PropagationRangeError` (naming the model, the
argument, the value and the range) for any input outside the range;
``strict=False`` (the pipeline's choice) computes the formula anyway
(extrapolates). Each model has a companion ``*_in_range`` function giving the
boolean in-range mask, so callers can mark extrapolated pairs.

Losses are basic transmission losses in dB (positive numbers). Arguments
broadcast against each other like numpy ufuncs; a result is an array of the
broadcast shape (a numpy scalar when every argument is a scalar).

Environment names (the village ``clutter`` values, Hata's area types):
``urban_large``, ``urban_small_medium``, ``suburban``, ``open_rural``.

Formulas are written once, as arithmetic-only "core" functions over numpy
arrays. The model functions evaluate them directly; the dispatcher
(:func:`path_loss_db`, and the best-server kernel of ``covgap.analysis``, which
calls the same numba function :func:`coef_pair_loss` per pair) evaluates them
through per-transmitter coefficients computed from the same cores (see
:func:`loss_coefficients`), so both give the same losses (tested to 1e-9 dB).
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Literal, NamedTuple, TypeVar

import numba
import numpy as np
import numpy.typing as npt
import pandas as pd

from .errors import PropagationRangeError

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
ArrayLike = npt.ArrayLike

# --------------------------------------------------------------------------- names

#: Environment names; an environment's integer code is its index here.
ENVIRONMENTS: tuple[str, ...] = ("urban_large", "urban_small_medium", "suburban", "open_rural")
ENV_URBAN_LARGE = 0
ENV_URBAN_SMALL_MEDIUM = 1
ENV_SUBURBAN = 2
ENV_OPEN_RURAL = 3

#: Model names as recorded per pair (``model`` column); a model's code is its index.
#: "itm", "knife_edge" and "ehata" are the terrain models (``covgap.terrain``): a pair
#: records one of them when a DEM answered for its path.
MODEL_NAMES: tuple[str, ...] = ("hata", "cost231", "rma", "fspl", "itm", "knife_edge", "ehata")
MODEL_HATA = 0
MODEL_COST231 = 1
MODEL_RMA = 2
MODEL_FSPL = 3
MODEL_ITM = 4
MODEL_KNIFE_EDGE = 5
MODEL_EHATA = 6
#: Input-only code of the ``"auto"`` choice.
MODEL_AUTO = -1
#: What :func:`path_loss_db` accepts as ``model`` (the terrain-free choices).
MODEL_CHOICES: tuple[str, ...] = ("auto", "hata", "cost231", "rma", "fspl")
#: The terrain models (they need a DEM profile; see ``covgap.terrain``), in
#: :data:`MODEL_NAMES` spelling.
TERRAIN_MODEL_NAMES: tuple[str, ...] = ("itm", "knife_edge", "ehata")

ModelChoice = Literal["auto", "hata", "cost231", "rma", "fspl"]

# --------------------------------------------------------------------------- ranges
# (low, high), inclusive, in the unit of the argument named in the key.

#: Okumura–Hata (Hata 1980; ITU-R P.529-3 §2).
HATA_RANGE: dict[str, tuple[float, float]] = {
    "freq_mhz": (150.0, 1500.0),
    "hb_m": (30.0, 200.0),
    "hm_m": (1.0, 10.0),
    "d_km": (1.0, 20.0),
}
#: COST-231 Hata (COST 231 Final Report, 1999, §4.4.1).
COST231_RANGE: dict[str, tuple[float, float]] = {
    "freq_mhz": (1500.0, 2000.0),
    "hb_m": (30.0, 200.0),
    "hm_m": (1.0, 10.0),
    "d_km": (1.0, 20.0),
}
#: 3GPP TR 38.901 Table 7.4.1-1 RMa. Frequency: validated by measurement to 7 GHz
#: (the TR's note; 7–30 GHz is the TR's extrapolation and is marked out of range here).
RMA_RANGE: dict[str, tuple[float, float]] = {
    "freq_ghz": (0.5, 7.0),
    "d2d_m_los": (10.0, 10_000.0),
    "d2d_m_nlos": (10.0, 5_000.0),
    "hbs_m": (10.0, 150.0),
    "hut_m": (1.0, 10.0),
    "h_m": (5.0, 50.0),
    "w_m": (5.0, 50.0),
}

#: Closest distance the dispatcher evaluates (RMa's lower bound): nearer pairs use 10 m.
MIN_DISTANCE_KM = 0.01
#: Speed of light used by TR 38.901 for the breakpoint distance (its note: 3.0e8 m/s).
C_M_PER_S = 3.0e8
_LOG10_28 = float(np.log10(28.0))

_SOURCES = {
    "okumura_hata": "Hata 1980",
    "cost231_hata": "COST 231 Final Report §4.4.1",
    "rma_38901": "3GPP TR 38.901 Table 7.4.1-1",
    "fspl": "ITU-R P.525",
    "ehata": "NTIA eHata v3.2",
}

# --------------------------------------------------------------------------- cores
# Arithmetic only (np.log10 / np.minimum / np.maximum work on arrays and, under numba,
# on scalars). Logs are base 10; frequency in MHz unless the name says GHz.


def _fspl_core(log_f_mhz: Any, log_d_km: Any) -> Any:
    return 32.45 + 20.0 * log_f_mhz + 20.0 * log_d_km


def _a_hm_small_medium(log_f_mhz: Any, hm_m: Any) -> Any:
    return (1.1 * log_f_mhz - 0.7) * hm_m - (1.56 * log_f_mhz - 0.8)


def _a_hm_large_low_f(hm_m: Any) -> Any:
    return 8.29 * np.log10(1.54 * hm_m) ** 2 - 1.1


def _a_hm_large_high_f(hm_m: Any) -> Any:
    return 3.2 * np.log10(11.75 * hm_m) ** 2 - 4.97


def _hata_urban_core(log_f_mhz: Any, log_hb_m: Any, a_hm_db: Any, log_d_km: Any) -> Any:
    return (
        69.55 + 26.16 * log_f_mhz - 13.82 * log_hb_m - a_hm_db + (44.9 - 6.55 * log_hb_m) * log_d_km
    )


def _cost231_urban_core(
    log_f_mhz: Any, log_hb_m: Any, a_hm_db: Any, log_d_km: Any, c_m_db: Any
) -> Any:
    return (
        46.3
        + 33.9 * log_f_mhz
        - 13.82 * log_hb_m
        - a_hm_db
        + (44.9 - 6.55 * log_hb_m) * log_d_km
        + c_m_db
    )


def _suburban_correction(log_f_mhz: Any) -> Any:
    return -2.0 * (log_f_mhz - _LOG10_28) ** 2 - 5.4


def _open_correction(log_f_mhz: Any) -> Any:
    return -4.78 * log_f_mhz**2 + 18.33 * log_f_mhz - 40.94


def _rma_pl1(fc_ghz: Any, d3d_m: Any, h_m: Any) -> Any:
    hp = h_m**1.72
    return (
        20.0 * np.log10(40.0 * np.pi * d3d_m * fc_ghz / 3.0)
        + np.minimum(0.03 * hp, 10.0) * np.log10(d3d_m)
        - np.minimum(0.044 * hp, 14.77)
        + 0.002 * np.log10(h_m) * d3d_m
    )


def _rma_nlos_prime(fc_ghz: Any, d3d_m: Any, hbs_m: Any, hut_m: Any, h_m: Any, w_m: Any) -> Any:
    log_hbs = np.log10(hbs_m)
    return (
        161.04
        - 7.1 * np.log10(w_m)
        + 7.5 * np.log10(h_m)
        - (24.37 - 3.7 * (h_m / hbs_m) ** 2) * log_hbs
        + (43.42 - 3.1 * log_hbs) * (np.log10(d3d_m) - 3.0)
        + 20.0 * np.log10(fc_ghz)
        - (3.2 * np.log10(11.75 * hut_m) ** 2 - 4.97)
    )


def _rma_breakpoint_m(fc_ghz: Any, hbs_m: Any, hut_m: Any) -> Any:
    return 2.0 * np.pi * hbs_m * hut_m * (fc_ghz * 1e9) / C_M_PER_S


# --------------------------------------------------------------------------- helpers


def _f64(x: ArrayLike) -> FloatArray:
    return np.asarray(x, dtype=np.float64)


def _out(x: npt.NDArray[Any]) -> Any:
    """0-d arrays become numpy scalars; others stay arrays."""
    return x[()] if x.ndim == 0 else x


def _inside(x: FloatArray, bounds: tuple[float, float]) -> BoolArray:
    lo, hi = bounds
    return np.asarray((x >= lo) & (x <= hi))


def _require(model: str, name: str, x: FloatArray, bounds: tuple[float, float], unit: str) -> None:
    """Raise PropagationRangeError for the first value of ``x`` outside ``bounds``."""
    bad = ~_inside(x, bounds)
    if bad.any():
        value = float(np.asarray(x)[bad].flat[0])
        lo, hi = bounds
        raise PropagationRangeError(
            f"{model}: {name} = {value:g} {unit} is outside the validity range "
            f"{lo:g}–{hi:g} {unit} ({_SOURCES[model]}); pass strict=False to extrapolate",
            column=name,
        )


def environment_codes(environment: str | ArrayLike) -> npt.NDArray[np.int8]:
    """Integer codes (index in :data:`ENVIRONMENTS`) of environment names.

    Accepts one name or an array-like of names; raises PropagationRangeError
    naming the first unknown value.
    """
    names = np.asarray(environment, dtype=object)
    uniq, inverse = np.unique(names.astype(str), return_inverse=True)
    lookup = np.empty(uniq.size, dtype=np.int8)
    for i, name in enumerate(uniq):
        if name not in ENVIRONMENTS:
            raise PropagationRangeError(
                f"environment = {str(name)!r} is not one of {', '.join(ENVIRONMENTS)}",
                column="environment",
            )
        lookup[i] = ENVIRONMENTS.index(name)
    return lookup[inverse].reshape(names.shape)


# --------------------------------------------------------------------------- FSPL


def fspl_db(freq_mhz: ArrayLike, d_km: ArrayLike) -> FloatArray:
    """Free-space path loss, dB: ``32.45 + 20 log10 f + 20 log10 d`` (ITU-R P.525).

    ``freq_mhz`` in MHz, ``d_km`` in km (> 0). Valid for any far-field distance:
    there is no range to check and no ``strict`` switch.
    """
    f, d = np.broadcast_arrays(_f64(freq_mhz), _f64(d_km))
    return _out(np.asarray(_fspl_core(np.log10(f), np.log10(d))))


def fspl_in_range(freq_mhz: ArrayLike, d_km: ArrayLike) -> BoolArray:
    """Where free space applies: positive frequency and distance."""
    f, d = np.broadcast_arrays(_f64(freq_mhz), _f64(d_km))
    return _out(np.asarray((f > 0) & (d > 0)))


# --------------------------------------------------------------------------- Hata


def hata_in_range(
    freq_mhz: ArrayLike, hb_m: ArrayLike, hm_m: ArrayLike, d_km: ArrayLike
) -> BoolArray:
    """True where (f, hb, hm, d) is inside Okumura–Hata's box (:data:`HATA_RANGE`)."""
    f, hb, hm, d = np.broadcast_arrays(_f64(freq_mhz), _f64(hb_m), _f64(hm_m), _f64(d_km))
    r = HATA_RANGE
    ok = (
        _inside(f, r["freq_mhz"])
        & _inside(hb, r["hb_m"])
        & _inside(hm, r["hm_m"])
        & _inside(d, r["d_km"])
    )
    return _out(ok)


def _a_hm_db(log_f: FloatArray, f: FloatArray, hm: FloatArray, env: npt.NDArray[Any]) -> Any:
    """Mobile antenna height correction a(hm), dB, per environment."""
    large = np.where(f <= 300.0, _a_hm_large_low_f(hm), _a_hm_large_high_f(hm))
    return np.where(env == ENV_URBAN_LARGE, large, _a_hm_small_medium(log_f, hm))


def _area_correction_db(log_f: FloatArray, env: npt.NDArray[Any]) -> Any:
    """Hata's suburban / open-area corrections, dB (0 for the urban types)."""
    return np.where(
        env == ENV_SUBURBAN,
        _suburban_correction(log_f),
        np.where(env == ENV_OPEN_RURAL, _open_correction(log_f), 0.0),
    )


def okumura_hata_db(
    freq_mhz: ArrayLike,
    hb_m: ArrayLike,
    hm_m: ArrayLike,
    d_km: ArrayLike,
    environment: str | ArrayLike = "urban_small_medium",
    *,
    strict: bool = False,
) -> FloatArray:
    """Okumura–Hata median path loss, dB (Hata 1980, IEEE Trans. VT-29(3); ITU-R P.529-3).

    Urban: ``69.55 + 26.16 log f − 13.82 log hb − a(hm) + (44.9 − 6.55 log hb) log d``.
    ``a(hm)``: small/medium city ``(1.1 log f − 0.7) hm − (1.56 log f − 0.8)`` for
    ``urban_small_medium``, ``suburban`` and ``open_rural``; large city
    ``8.29 (log 1.54 hm)² − 1.1`` for f ≤ 200 MHz and ``3.2 (log 11.75 hm)² − 4.97`` for
    f ≥ 400 MHz. Hata gives no form between 200 and 400 MHz: this function switches
    at 300 MHz, the middle of the gap (below it the f ≤ 200 form, above it the
    f ≥ 400 form), so neither is stretched by more than 100 MHz; the two differ by
    < 0.01 dB at hm = 1.5 m and by 1.9 dB at hm = 10 m.
    Suburban: urban (small/medium) − ``2 (log(f/28))² − 5.4``; open/rural: urban
    (small/medium) ``− 4.78 (log f)² + 18.33 log f − 40.94``.

    Validity (:data:`HATA_RANGE`): f 150–1500 MHz, hb 30–200 m, hm 1–10 m,
    d 1–20 km. ``freq_mhz`` MHz, heights m, ``d_km`` km; ``environment`` one name or
    an array of names (see :data:`ENVIRONMENTS`).
    """
    f, hb, hm, d, env = np.broadcast_arrays(
        _f64(freq_mhz), _f64(hb_m), _f64(hm_m), _f64(d_km), environment_codes(environment)
    )
    if strict:
        for name, x, unit in (
            ("freq_mhz", f, "MHz"),
            ("hb_m", hb, "m"),
            ("hm_m", hm, "m"),
            ("d_km", d, "km"),
        ):
            _require("okumura_hata", name, x, HATA_RANGE[name], unit)
    log_f = np.log10(f)
    a_hm = _a_hm_db(log_f, f, hm, env)
    loss = _hata_urban_core(log_f, np.log10(hb), a_hm, np.log10(d))
    return _out(np.asarray(loss + _area_correction_db(log_f, env), dtype=np.float64))


# --------------------------------------------------------------------------- COST-231


def cost231_in_range(
    freq_mhz: ArrayLike, hb_m: ArrayLike, hm_m: ArrayLike, d_km: ArrayLike
) -> BoolArray:
    """True where (f, hb, hm, d) is inside COST-231 Hata's box (:data:`COST231_RANGE`)."""
    f, hb, hm, d = np.broadcast_arrays(_f64(freq_mhz), _f64(hb_m), _f64(hm_m), _f64(d_km))
    r = COST231_RANGE
    ok = (
        _inside(f, r["freq_mhz"])
        & _inside(hb, r["hb_m"])
        & _inside(hm, r["hm_m"])
        & _inside(d, r["d_km"])
    )
    return _out(ok)


def cost231_hata_db(
    freq_mhz: ArrayLike,
    hb_m: ArrayLike,
    hm_m: ArrayLike,
    d_km: ArrayLike,
    environment: str | ArrayLike = "urban_small_medium",
    *,
    strict: bool = False,
) -> FloatArray:
    """COST-231 Hata median path loss, dB (COST 231 Final Report, 1999, §4.4.1).

    ``46.3 + 33.9 log f − 13.82 log hb − a(hm) + (44.9 − 6.55 log hb) log d + C_m``,
    ``C_m`` = 3 dB for ``urban_large`` (metropolitan centres), 0 dB otherwise.
    ``a(hm)`` as in :func:`okumura_hata_db` (large-city form for ``urban_large`` — at
    these frequencies the f ≥ 400 MHz one — small/medium-city form otherwise).
    COST 231 gives only the urban model (C_m = 0 dB "for medium sized city and
    suburban centres with medium tree density"). Source choice: covgap's
    ``suburban`` and ``open_rural`` are Hata's area types (scattered buildings and
    trees; open land), not suburban town centres, so this function adds Hata's
    suburban / open-area corrections to the C_m = 0 urban loss, the usual extension
    of COST-231 outside cities. (Reading ``suburban`` as the report's "suburban
    centres" instead would give C_m = 0 and no correction: 13 dB more loss at
    1800 MHz.)

    Validity (:data:`COST231_RANGE`): f 1500–2000 MHz, hb 30–200 m, hm 1–10 m,
    d 1–20 km.
    """
    f, hb, hm, d, env = np.broadcast_arrays(
        _f64(freq_mhz), _f64(hb_m), _f64(hm_m), _f64(d_km), environment_codes(environment)
    )
    if strict:
        for name, x, unit in (
            ("freq_mhz", f, "MHz"),
            ("hb_m", hb, "m"),
            ("hm_m", hm, "m"),
            ("d_km", d, "km"),
        ):
            _require("cost231_hata", name, x, COST231_RANGE[name], unit)
    log_f = np.log10(f)
    a_hm = _a_hm_db(log_f, f, hm, env)
    c_m = np.where(env == ENV_URBAN_LARGE, 3.0, 0.0)
    loss = _cost231_urban_core(log_f, np.log10(hb), a_hm, np.log10(d), c_m)
    return _out(np.asarray(loss + _area_correction_db(log_f, env), dtype=np.float64))


# --------------------------------------------------------------------------- RMa


def rma_in_range(
    freq_ghz: ArrayLike,
    d2d_m: ArrayLike,
    hbs_m: ArrayLike,
    hut_m: ArrayLike,
    los: ArrayLike,
    h_m: ArrayLike = 5.0,
    w_m: ArrayLike = 20.0,
) -> BoolArray:
    """True where the RMa inputs are inside :data:`RMA_RANGE` (d2D ≤ 10 km LOS, 5 km NLOS)."""
    fc, d2d, hbs, hut, los_b, h, w = np.broadcast_arrays(
        _f64(freq_ghz),
        _f64(d2d_m),
        _f64(hbs_m),
        _f64(hut_m),
        np.asarray(los, dtype=bool),
        _f64(h_m),
        _f64(w_m),
    )
    r = RMA_RANGE
    d_ok = np.where(los_b, _inside(d2d, r["d2d_m_los"]), _inside(d2d, r["d2d_m_nlos"]))
    ok = (
        _inside(fc, r["freq_ghz"])
        & d_ok
        & _inside(hbs, r["hbs_m"])
        & _inside(hut, r["hut_m"])
        & _inside(h, r["h_m"])
        & _inside(w, r["w_m"])
    )
    return _out(np.asarray(ok))


def rma_38901_db(
    freq_ghz: ArrayLike,
    d2d_m: ArrayLike,
    hbs_m: ArrayLike,
    hut_m: ArrayLike,
    los: ArrayLike,
    h_m: ArrayLike = 5.0,
    w_m: ArrayLike = 20.0,
    *,
    strict: bool = False,
) -> FloatArray:
    """3GPP TR 38.901 (v17.0.0) Table 7.4.1-1 rural macro (RMa) path loss, dB.

    ``d3D = √(d2D² + (hBS − hUT)²)``; breakpoint ``d_BP = 2π hBS hUT fc / c`` (fc in Hz,
    c = 3.0·10⁸ m/s).
    LOS: ``PL1 = 20 log(40π d3D fc/3) + min(0.03 h^1.72, 10) log d3D − min(0.044 h^1.72,
    14.77) + 0.002 log(h) d3D`` for d2D ≤ d_BP, else ``PL2 = PL1(d_BP) + 40 log(d3D / d_BP)``
    (PL1 evaluated at distance d_BP, the TR's literal form).
    NLOS: ``max(PL_LOS, PL'_NLOS)``, ``PL'_NLOS = 161.04 − 7.1 log W + 7.5 log h − (24.37 −
    3.7 (h/hBS)²) log hBS + (43.42 − 3.1 log hBS)(log d3D − 3) + 20 log fc − (3.2 (log
    11.75 hUT)² − 4.97)``. fc in GHz, distances and heights in m; ``los`` bool
    (array); ``h_m`` mean building height, ``w_m`` mean street width (TR defaults 5, 20).

    Validity (:data:`RMA_RANGE`): d2D 10 m–10 km LOS, 10 m–5 km NLOS; hBS 10–150 m,
    hUT 1–10 m, h 5–50 m, W 5–50 m; fc 0.5–7 GHz. The TR's table lists RMa for
    0.5–30 GHz but notes that it is validated by measurement only up to 7 GHz and
    extended above by extrapolation: 7–30 GHz is treated as out of range here.
    """
    fc, d2d, hbs, hut, los_b, h, w = np.broadcast_arrays(
        _f64(freq_ghz),
        _f64(d2d_m),
        _f64(hbs_m),
        _f64(hut_m),
        np.asarray(los, dtype=bool),
        _f64(h_m),
        _f64(w_m),
    )
    if strict:
        r = RMA_RANGE
        _require("rma_38901", "freq_ghz", fc, r["freq_ghz"], "GHz")
        if los_b.any():
            _require("rma_38901", "d2d_m", d2d[los_b], r["d2d_m_los"], "m (LOS)")
        if (~los_b).any():
            _require("rma_38901", "d2d_m", d2d[~los_b], r["d2d_m_nlos"], "m (NLOS)")
        _require("rma_38901", "hbs_m", hbs, r["hbs_m"], "m")
        _require("rma_38901", "hut_m", hut, r["hut_m"], "m")
        _require("rma_38901", "h_m", h, r["h_m"], "m")
        _require("rma_38901", "w_m", w, r["w_m"], "m")
    d3d = np.sqrt(d2d**2 + (hbs - hut) ** 2)
    d_bp = _rma_breakpoint_m(fc, hbs, hut)
    pl_los = np.where(
        d2d <= d_bp,
        _rma_pl1(fc, d3d, h),
        _rma_pl1(fc, d_bp, h) + 40.0 * np.log10(d3d / d_bp),
    )
    pl = np.where(los_b, pl_los, np.maximum(pl_los, _rma_nlos_prime(fc, d3d, hbs, hut, h, w)))
    return _out(np.asarray(pl, dtype=np.float64))


# --------------------------------------------------------------------------- coefficients
# The dispatcher (and the best-server kernel of covgap.analysis) evaluates the models
# through per-transmitter coefficients: with frequency, heights and environment fixed,
# each model above is affine in a few functions of distance:
#   Hata, COST-231:      A + B·log10(d_km)
#   RMa NLOS′:           K′ + S′·log10(d3D_m)
#   RMa LOS PL1:         K1 + S1·log10(d3D_m) + C1·d3D_m;  PL2: K2 + 40·log10(d3D_m)
#   free space:          F + 20·log10(d_km)
# The coefficients are obtained by evaluating the numpy formulas above at basis
# distances (1 and 10 km; 1, 10 and 100 m), so a pair costs two logarithms and a square
# root and the dispatcher computes exactly the formulas of the model functions (the
# tests check it to 1e-9 dB).

#: Column layout of a coefficient row (see :func:`loss_coefficients`).
COEF_FSPL = 0
COEF_FREQ = 1
COEF_HATA_A = 2  # 4 columns, one per environment code
COEF_HATA_B = 6
COEF_COST_A = 7  # 4 columns
COEF_COST_B = 11
COEF_RMA_K1 = 12
COEF_RMA_S1 = 13
COEF_RMA_C1 = 14
COEF_RMA_K2 = 15
COEF_RMA_DBP = 16
COEF_RMA_KN = 17
COEF_RMA_SN = 18
COEF_RMA_DH2 = 19
COEF_FLAGS = 20  # bit 0: Hata box holds f, hb, hm; bit 1: COST-231's; bit 2: RMa's
N_COEF = 21

#: RMa's building height and street width as used by the dispatcher (TR defaults).
RMA_H_M = 5.0
RMA_W_M = 20.0


def loss_coefficients(freq_mhz: ArrayLike, hb_m: ArrayLike, hm_m: ArrayLike) -> FloatArray:
    """Per-transmitter coefficient rows ``(n, N_COEF)`` for the dispatcher.

    1-D inputs (broadcast): ``freq_mhz`` MHz, ``hb_m`` base and ``hm_m`` mobile antenna
    heights in m. See the comment above for the affine forms and the column constants
    ``COEF_*`` for the layout.
    """
    f, hb, hm = np.broadcast_arrays(_f64(freq_mhz), _f64(hb_m), _f64(hm_m))
    f, hb, hm = f.ravel(), hb.ravel(), hm.ravel()
    if f.size > 1024:
        # transmitters share few (f, hb, hm) triples: compute each once
        key = np.zeros(f.size, dtype=np.int64)
        for x in (f, hb, hm):
            codes, uniq = pd.factorize(x, use_na_sentinel=False)
            key = key * (uniq.size + 1) + codes
        key_codes, key_uniq = pd.factorize(key)
        if key_uniq.size < f.size // 2:
            first = np.zeros(key_uniq.size, dtype=np.int64)
            first[key_codes[::-1]] = np.arange(f.size - 1, -1, -1)
            return loss_coefficients(f[first], hb[first], hm[first])[key_codes]
    n = f.size
    cols: list[Any] = [None] * N_COEF
    with np.errstate(invalid="ignore", divide="ignore"):
        log_f = np.log10(f)
        log_hb = np.log10(hb)
        cols[COEF_FSPL] = _fspl_core(log_f, 0.0)
        cols[COEF_FREQ] = f
        a_small = _a_hm_small_medium(log_f, hm)
        a_large = np.where(f <= 300.0, _a_hm_large_low_f(hm), _a_hm_large_high_f(hm))
        for env in range(len(ENVIRONMENTS)):
            a_hm = a_large if env == ENV_URBAN_LARGE else a_small
            corr = (
                _suburban_correction(log_f)
                if env == ENV_SUBURBAN
                else _open_correction(log_f)
                if env == ENV_OPEN_RURAL
                else 0.0
            )
            c_m = 3.0 if env == ENV_URBAN_LARGE else 0.0
            cols[COEF_HATA_A + env] = _hata_urban_core(log_f, log_hb, a_hm, 0.0) + corr
            cols[COEF_COST_A + env] = _cost231_urban_core(log_f, log_hb, a_hm, 0.0, c_m) + corr
            if env == ENV_URBAN_SMALL_MEDIUM:  # the slope is the same for every environment
                h10 = _hata_urban_core(log_f, log_hb, a_hm, 1.0) + corr
                c10 = _cost231_urban_core(log_f, log_hb, a_hm, 1.0, c_m) + corr
                cols[COEF_HATA_B] = h10 - cols[COEF_HATA_A + env]
                cols[COEF_COST_B] = c10 - cols[COEF_COST_A + env]
        fc = f / 1000.0
        p1 = _rma_pl1(fc, 1.0, RMA_H_M)
        p10 = _rma_pl1(fc, 10.0, RMA_H_M)
        p100 = _rma_pl1(fc, 100.0, RMA_H_M)
        c_lin = ((p100 - p10) - (p10 - p1)) / 81.0
        cols[COEF_RMA_C1] = c_lin
        cols[COEF_RMA_S1] = (p10 - p1) - 9.0 * c_lin
        cols[COEF_RMA_K1] = p1 - c_lin
        d_bp = _rma_breakpoint_m(fc, hb, hm)
        cols[COEF_RMA_DBP] = d_bp
        cols[COEF_RMA_K2] = _rma_pl1(fc, d_bp, RMA_H_M) - 40.0 * np.log10(d_bp)
        n1 = _rma_nlos_prime(fc, 1.0, hb, hm, RMA_H_M, RMA_W_M)
        n10 = _rma_nlos_prime(fc, 10.0, hb, hm, RMA_H_M, RMA_W_M)
        cols[COEF_RMA_KN] = n1
        cols[COEF_RMA_SN] = n10 - n1
        cols[COEF_RMA_DH2] = (hb - hm) ** 2
    hata_box = hata_in_range(f, hb, hm, np.full(n, HATA_RANGE["d_km"][0]))
    cost_box = cost231_in_range(f, hb, hm, np.full(n, COST231_RANGE["d_km"][0]))
    rma_box = rma_in_range(
        fc, np.full(n, 100.0), hb, hm, False, RMA_H_M, RMA_W_M
    )  # d checked later
    cols[COEF_FLAGS] = (
        np.asarray(hata_box, dtype=np.float64)
        + 2.0 * np.asarray(cost_box, dtype=np.float64)
        + 4.0 * np.asarray(rma_box, dtype=np.float64)
    )
    coef = np.empty((n, N_COEF), dtype=np.float64)
    for j, col in enumerate(cols):
        coef[:, j] = col
    return coef


# --------------------------------------------------------------------------- numba cache
# numba keys a function's on-disk cache on the source of the file that defines it, not
# on the files of the numba functions it calls (and inlines): a kernel of analysis.py
# cached before propagation.py changed would keep the old model. ``cached_njit`` adds
# the content hash of the files named in ``depends_on`` to the cache key, and leaves a
# function uncached (compiled per process, never an import error) when no cache
# directory is writable. Where the cache goes is numba's choice: ``NUMBA_CACHE_DIR``
# when set, else ``__pycache__`` beside the module when writable (the editable install),
# else the user's cache directory (``~/.cache/numba``).

_F = TypeVar("_F", bound=Callable[..., Any])


def _files_digest(paths: Iterable[str | Path]) -> str:
    """SHA-256 over the bytes of ``paths`` (a missing file counts by its name)."""
    h = hashlib.sha256()
    for path in paths:
        try:
            h.update(Path(path).read_bytes())
        except OSError:
            h.update(b"missing:" + str(path).encode())
    return h.hexdigest()


try:
    from numba.core.caching import FunctionCache as _FunctionCache

    class _KeyedFunctionCache(_FunctionCache):  # type: ignore[misc]
        """numba's per-function cache with ``extra_key`` in every index key; a failed
        write (cache directory gone read-only) keeps the compiled code, unsaved."""

        def __init__(self, py_func: Callable[..., Any], extra_key: str) -> None:
            self._extra_key = extra_key
            super().__init__(py_func)

        def _index_key(self, sig: Any, codegen: Any) -> Any:
            return (*super()._index_key(sig, codegen), self._extra_key)

        def save_overload(self, sig: Any, data: Any) -> None:
            with contextlib.suppress(OSError):
                super().save_overload(sig, data)

except ImportError:  # pragma: no cover - a numba without this class: no cache
    _KeyedFunctionCache = None  # type: ignore[assignment,misc]


def cached_njit(*, depends_on: Iterable[str | Path] = (), **options: Any) -> Callable[[_F], _F]:
    """``numba.njit(**options)`` with an on-disk cache that follows its dependencies.

    The cache is also invalidated when a file of ``depends_on`` changes (the modules
    whose numba functions the decorated one calls). With no writable cache directory
    the function is compiled in each process instead (no error).
    """
    deps = tuple(depends_on)

    def wrap(func: _F) -> _F:
        disp = numba.njit(cache=False, **options)(func)
        if _KeyedFunctionCache is not None and hasattr(disp, "py_func"):
            # numba raises RuntimeError "no locator available" when nowhere is writable
            with contextlib.suppress(RuntimeError, OSError):
                disp._cache = _KeyedFunctionCache(disp.py_func, _files_digest(deps))
        return disp  # type: ignore[no-any-return]

    return wrap


#: This file, for the ``depends_on`` of kernels that call its numba functions.
PROPAGATION_SOURCE = Path(__file__)

_HF1 = HATA_RANGE["freq_mhz"][1]
_CF1 = COST231_RANGE["freq_mhz"][1]
_HD0, _HD1 = HATA_RANGE["d_km"]
_RD0_KM = RMA_RANGE["d2d_m_nlos"][0] / 1000.0
_RD1_KM_NLOS = RMA_RANGE["d2d_m_nlos"][1] / 1000.0
_RD1_KM_LOS = RMA_RANGE["d2d_m_los"][1] / 1000.0


@cached_njit(inline="always")
def rma_max_km(env: int) -> float:
    """RMa's largest distance (km) for the path state of ``env`` (LOS for open_rural)."""
    return _RD1_KM_LOS if env == ENV_OPEN_RURAL else _RD1_KM_NLOS


@cached_njit(inline="always")
def _rma_distance_ok(d_km: float, env: int) -> bool:
    """RMa's distance range for the path state of ``env``."""
    return _RD0_KM <= d_km <= rma_max_km(env)


@cached_njit(inline="always")
def extrapolation_masks(model: int, env: int) -> tuple[int, int, bool]:
    """How a pair's model can be in range, for :func:`pair_extrapolated` (numba).

    Returns ``(mask_hata_d, mask_rma_d, never)``: the pair is in range when its
    transmitter's ``COEF_FLAGS`` has a bit of ``mask_hata_d`` and its distance is in
    Hata's 1–20 km, or a bit of ``mask_rma_d`` and a distance in RMa's range for the
    path state of ``env``; ``never``: the model is never extrapolated (free space).
    """
    if model == MODEL_AUTO:  # Hata or COST-231 in their boxes, RMa for the rural types
        return 3, 4 if env in (ENV_SUBURBAN, ENV_OPEN_RURAL) else 0, False
    if model == MODEL_HATA:
        return 1, 0, False
    if model == MODEL_COST231:
        return 2, 0, False
    if model == MODEL_RMA:
        return 0, 4, False
    return 0, 0, True


@cached_njit(inline="always")
def extrapolated_by_masks(
    flags: int, masks: tuple[int, int, bool], hata_d: bool, rma_d: bool
) -> bool:
    """:func:`pair_extrapolated` from :func:`extrapolation_masks` and whether the distance
    is in Hata's 1–20 km (``hata_d``) and in RMa's range (``rma_d``); branch-free."""
    mask_h, mask_r, never = masks
    return not never and ((flags & mask_h) * int(hata_d) | (flags & mask_r) * int(rma_d)) == 0


@cached_njit(inline="always")
def pair_extrapolated(flags: int, model: int, d_km: float, env: int) -> bool:
    """Whether the model :func:`pair_model` picks for the pair is outside its validity
    range (``d_km`` ≥ 10 m; numba)."""
    return extrapolated_by_masks(
        flags,
        extrapolation_masks(model, env),
        _HD0 <= d_km <= _HD1,
        _rma_distance_ok(d_km, env),
    )


@cached_njit(inline="always")
def pair_model(flags: int, freq_mhz: float, model: int, d_km: float, env: int) -> tuple[int, bool]:
    """Model used for one pair and whether it is extrapolated (numba).

    ``flags`` is a transmitter's ``COEF_FLAGS`` value, ``freq_mhz`` its frequency,
    ``d_km`` the distance already raised to :data:`MIN_DISTANCE_KM`. The rules of
    :func:`path_loss_db`: with "auto" the first model whose box holds the pair (Hata,
    COST-231, RMa for the rural types), else the nearest, extrapolated.
    """
    ext = pair_extrapolated(flags, model, d_km, env)
    if model != MODEL_AUTO:
        return model, ext
    hata_d = _HD0 <= d_km <= _HD1
    rural = env in (ENV_SUBURBAN, ENV_OPEN_RURAL)
    if (flags & 1) != 0 and hata_d:
        return MODEL_HATA, ext
    if (flags & 2) != 0 and hata_d:
        return MODEL_COST231, ext
    if rural and (flags & 4) != 0 and _rma_distance_ok(d_km, env):
        return MODEL_RMA, ext
    # no box holds it: first a model that the pair misses in distance only (the distance
    # laws extrapolate smoothly), else by frequency band
    if (flags & 1) != 0:
        return MODEL_HATA, ext
    if (flags & 2) != 0:
        return MODEL_COST231, ext
    if rural and (flags & 4) != 0:
        return MODEL_RMA, ext
    if freq_mhz <= _HF1:
        return MODEL_HATA, ext
    if freq_mhz <= _CF1 or not rural:
        return MODEL_COST231, ext
    return MODEL_RMA, ext


@cached_njit(inline="always")
def pair_model_loss(coef: FloatArray, k: int, used: int, d_km: float, env: int) -> float:
    """Loss (dB) of transmitter row ``k`` by model ``used`` at ``d_km`` (≥ 10 m) in
    ``env``, floored at free space (numba; see :func:`path_loss_db`)."""
    log_d = np.log10(d_km)
    free = coef[k, COEF_FSPL] + 20.0 * log_d
    if used == MODEL_HATA:
        loss = coef[k, COEF_HATA_A + env] + coef[k, COEF_HATA_B] * log_d
    elif used == MODEL_COST231:
        loss = coef[k, COEF_COST_A + env] + coef[k, COEF_COST_B] * log_d
    elif used == MODEL_RMA:
        d2d = d_km * 1000.0
        d3d = np.sqrt(d2d * d2d + coef[k, COEF_RMA_DH2])
        l3 = np.log10(d3d)
        if d2d <= coef[k, COEF_RMA_DBP]:
            loss = coef[k, COEF_RMA_K1] + coef[k, COEF_RMA_S1] * l3 + coef[k, COEF_RMA_C1] * d3d
        else:
            loss = coef[k, COEF_RMA_K2] + 40.0 * l3
        if env != ENV_OPEN_RURAL:  # NLOS = max(PL_LOS, PL'_NLOS)
            loss = max(loss, coef[k, COEF_RMA_KN] + coef[k, COEF_RMA_SN] * l3)
    else:
        loss = free
    return max(loss, free)


@cached_njit(inline="always")
def pair_model_loss_floor(coef: FloatArray, k: int, used: int, d_km: float, env: int) -> float:
    """A lower bound (dB) of :func:`pair_model_loss` by model ``used`` over every
    distance ≥ ``d_km`` (≥ 10 m; numba).

    Each formula grows with distance (Hata/COST-231: slope ≥ 0; RMa: PL1 up to the
    breakpoint, PL2 beyond it, PL'_NLOS, all in d3D ≥ d2D), so the bound is the loss
    at ``d_km`` — for RMa LOS below the breakpoint, the smaller of PL1 there and PL2
    just past the breakpoint. A formula with a negative slope (none with real inputs)
    contributes nothing beyond free space.
    """
    log_d = np.log10(d_km)
    free = coef[k, COEF_FSPL] + 20.0 * log_d
    loss = -np.inf
    if used == MODEL_HATA:
        if coef[k, COEF_HATA_B] >= 0.0:
            loss = coef[k, COEF_HATA_A + env] + coef[k, COEF_HATA_B] * log_d
    elif used == MODEL_COST231:
        if coef[k, COEF_COST_B] >= 0.0:
            loss = coef[k, COEF_COST_A + env] + coef[k, COEF_COST_B] * log_d
    elif used == MODEL_RMA:
        d2d = d_km * 1000.0
        dh2 = coef[k, COEF_RMA_DH2]
        d3d = np.sqrt(d2d * d2d + dh2)
        l3 = np.log10(d3d)
        d_bp = coef[k, COEF_RMA_DBP]
        pl2_bp = coef[k, COEF_RMA_K2] + 40.0 * np.log10(np.sqrt(d_bp * d_bp + dh2))
        if d2d > d_bp:
            loss = coef[k, COEF_RMA_K2] + 40.0 * l3
        elif coef[k, COEF_RMA_S1] >= 0.0 and coef[k, COEF_RMA_C1] >= 0.0:
            pl1 = coef[k, COEF_RMA_K1] + coef[k, COEF_RMA_S1] * l3 + coef[k, COEF_RMA_C1] * d3d
            loss = min(pl1, pl2_bp)
        if env != ENV_OPEN_RURAL and coef[k, COEF_RMA_SN] >= 0.0:
            loss = max(loss, coef[k, COEF_RMA_KN] + coef[k, COEF_RMA_SN] * l3)
    return max(loss, free)


@cached_njit(inline="always")
def coef_pair_loss(
    coef: FloatArray, k: int, model: int, d_km: float, env: int
) -> tuple[float, int, bool]:
    """Loss of transmitter row ``k`` at ``d_km`` in environment ``env`` (numba).

    Returns ``(loss_db, model_code, extrapolated)`` with the rules of
    :func:`path_loss_db` (:func:`pair_model`, then :func:`pair_model_loss`).
    """
    d = max(d_km, MIN_DISTANCE_KM)
    used, ext = pair_model(int(coef[k, COEF_FLAGS]), coef[k, COEF_FREQ], model, d, env)
    return pair_model_loss(coef, k, used, d, env), used, ext


@cached_njit()
def _path_loss_loop(
    model: int,
    coef: FloatArray,
    d_km: FloatArray,
    env: npt.NDArray[np.int8],
    loss_db: FloatArray,
    used: npt.NDArray[np.int8],
    ext: BoolArray,
) -> None:
    for i in range(d_km.size):
        lo, u, e = coef_pair_loss(coef, i, model, d_km[i], env[i])
        loss_db[i] = lo
        used[i] = u
        ext[i] = e


# --------------------------------------------------------------------------- dispatcher


class PathLoss(NamedTuple):
    """Result of :func:`path_loss_db`, per pair."""

    loss_db: FloatArray
    #: model name per pair (one of :data:`MODEL_NAMES`)
    model_used: npt.NDArray[np.str_]
    #: True where the model used is outside its validity range
    extrapolated: BoolArray


def model_code(model: str) -> int:
    """Integer code of a model choice (``"auto"`` → :data:`MODEL_AUTO`)."""
    if model == "auto":
        return MODEL_AUTO
    if model in MODEL_CHOICES:
        return MODEL_NAMES.index(model)
    raise PropagationRangeError(
        f"model = {model!r} is not one of {', '.join(MODEL_CHOICES)}", column="model"
    )


def path_loss_db(
    model: ModelChoice | str,
    freq_mhz: ArrayLike,
    hb_m: ArrayLike,
    hm_m: ArrayLike,
    d_km: ArrayLike,
    environment: str | ArrayLike = "open_rural",
    *,
    terrain_loss_db: ArrayLike | None = None,
    terrain_model: str = "itm",
) -> PathLoss:
    """Path loss per pair with the model chosen per pair → ``(loss_db, model_used, extrapolated)``.

    ``model="auto"`` picks, per pair, the first model whose validity range covers it:

    1. Okumura–Hata: 150 ≤ f ≤ 1500 MHz, hb 30–200 m, hm 1–10 m, d 1–20 km;
    2. COST-231 Hata: 1500 < f ≤ 2000 MHz, same boxes;
    3. TR 38.901 RMa, for ``open_rural`` (as LOS, d 10 m–10 km) and ``suburban``
       (as NLOS, d 10 m–5 km) villages: 0.5–7 GHz, hBS 10–150 m, hUT 1–10 m.
       RMa is a rural model: the urban types never use it in range.

    RMa's path state follows the environment because that is how it agrees with
    Hata where both apply: RMa LOS is within ~3 dB of Hata's open-area loss and RMa
    NLOS within ~5 dB of Hata's suburban loss from 0.5 to 10 km (900 and 1800 MHz,
    hb 25–40 m, hm 1.5 m), while RMa NLOS is ~20 dB above Hata open. A single path
    state for both would make a village's level jump by ~20 dB at Hata's box edges
    (1 km, hb 30 m, 1500 MHz) instead of following the terrain. Obstruction beyond
    what the environment implies is for the clutter losses now and the terrain
    model (ITM) later.

    When no model covers the pair, the nearest one is extrapolated and the pair is
    marked. Nearest: first, in the order above, a model that the pair misses in
    distance only (the distance laws extrapolate smoothly, so a village's level
    stays continuous along a path); else by frequency band: f ≤ 1500 MHz → Hata;
    1500 < f ≤ 2000 MHz → COST-231; f > 2000 MHz → RMa for ``open_rural``/
    ``suburban`` (its band covers 2–7 GHz), COST-231 for the urban types (the
    nearest urban formulation). Box edges still switch models, at 1 km (RMa below,
    Hata/COST-231 above, for masts ≥ 30 m): a step of at most 4 dB (largest for
    ``suburban``, hb 30 m: RMa NLOS → Hata suburban) over 0.45–3.5 GHz, hb 10–160 m.

    A named ``model`` ("hata", "cost231", "rma", "fspl") is used for every pair,
    marked extrapolated outside its box (RMa: LOS for ``open_rural``, NLOS
    otherwise; FSPL is never extrapolated).

    For every model, distances under 10 m are evaluated at 10 m and the loss is
    never less than free space at the pair's distance (the rule of SEAMCAT's
    Extended Hata, ERC Report 68: free-space loss is used where a model gives less);
    the per-model functions above apply neither rule.

    Terrain seam: ``terrain_loss_db`` (same shape, NaN where no terrain model
    answered) replaces the loss where finite; those pairs are recorded as
    ``terrain_model`` (``"itm"``, ``"knife_edge"`` or ``"ehata"``, the model that
    produced the losses) and not extrapolated (the seam takes losses only: eHata's
    out-of-range pairs are marked by ``covgap.analysis`` from
    ``covgap.terrain.TerrainLoss.in_range``). Arguments as in the model functions
    (``freq_mhz`` MHz, heights m, ``d_km`` km, environment names).
    """
    code = model_code(model)
    if terrain_model not in TERRAIN_MODEL_NAMES:
        raise PropagationRangeError(
            f"terrain_model = {terrain_model!r} is not one of {', '.join(TERRAIN_MODEL_NAMES)}",
            column="terrain_model",
        )
    f, hb, hm, d, env = np.broadcast_arrays(
        _f64(freq_mhz), _f64(hb_m), _f64(hm_m), _f64(d_km), environment_codes(environment)
    )
    shape = f.shape
    n = f.size
    loss = np.empty(n, dtype=np.float64)
    used = np.empty(n, dtype=np.int8)
    ext = np.empty(n, dtype=np.bool_)
    _path_loss_loop(
        code,
        loss_coefficients(f.ravel(), hb.ravel(), hm.ravel()),
        np.ascontiguousarray(d).ravel(),
        np.ascontiguousarray(env, dtype=np.int8).ravel(),
        loss,
        used,
        ext,
    )
    if terrain_loss_db is not None:
        terrain = np.broadcast_to(_f64(terrain_loss_db), shape).ravel()
        has = np.isfinite(terrain)
        loss = np.where(has, terrain, loss)
        used = np.where(has, MODEL_NAMES.index(terrain_model), used).astype(np.int8)
        ext = ext & ~has
    names = np.asarray(MODEL_NAMES)[used]
    return PathLoss(_out(loss.reshape(shape)), _out(names.reshape(shape)), _out(ext.reshape(shape)))


def fspl_reach_km(freq_mhz: ArrayLike, max_loss_db: ArrayLike) -> FloatArray:
    """Distance, km, at which free-space loss reaches ``max_loss_db`` (inverse of ``fspl_db``)."""
    f, loss = np.broadcast_arrays(_f64(freq_mhz), _f64(max_loss_db))
    return _out(np.asarray(10.0 ** ((loss - 32.45 - 20.0 * np.log10(f)) / 20.0)))


__all__ = [
    "COST231_RANGE",
    "ENVIRONMENTS",
    "HATA_RANGE",
    "MIN_DISTANCE_KM",
    "MODEL_CHOICES",
    "MODEL_NAMES",
    "PROPAGATION_SOURCE",
    "RMA_RANGE",
    "TERRAIN_MODEL_NAMES",
    "PathLoss",
    "cached_njit",
    "coef_pair_loss",
    "cost231_hata_db",
    "cost231_in_range",
    "environment_codes",
    "extrapolated_by_masks",
    "extrapolation_masks",
    "fspl_db",
    "fspl_in_range",
    "fspl_reach_km",
    "hata_in_range",
    "loss_coefficients",
    "model_code",
    "okumura_hata_db",
    "pair_extrapolated",
    "pair_model",
    "pair_model_loss",
    "pair_model_loss_floor",
    "path_loss_db",
    "rma_38901_db",
    "rma_in_range",
    "rma_max_km",
]
