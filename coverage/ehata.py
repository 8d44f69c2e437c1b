"""NTIA Extended Hata (eHata) v3.2 urban propagation model, compiled with numba.

Source of the algorithm: NTIA/ITS's public-domain reference implementation of the
Extended Hata model (https://github.com/NTIA/ehata, C++ ``src/*.cpp`` at commit
8238223ef3, version 3.2.0), a U.S. Government work not subject to U.S. copyright;
covgap reimplements it here with acknowledgement. The model is described in
Drocella et al., "3.5 GHz Exclusion Zone Analyses and Methodology", NTIA Report
TR-15-517 (2015); it extends Hata (1980) with Okumura et al. (1968)'s
curves: a median loss refitted to 1500–3000 MHz, a second power law beyond a
break-point distance (anchored at 100 km), location variability, and Okumura's
terrain corrections (isolated ridge, rolling hills, general slope, land–sea path).

Losses are *basic transmission losses* in dB; heights are structural heights above
ground in metres; no coordinates, hence no CRS. Terrain profiles use ITM's PFL
layout ``[n_points - 1, step_m, elev_0 … elev_last]`` (elevations in metres above
mean sea level) and run **from the mobile to the base station** (eHata's
convention; ITM's profiles run from the transmitter).

Public functions:

- :func:`ehata_db` — loss over one profile; :func:`ehata_ex` — the same with NTIA's
  intermediate values (``ExtendedHata_DBG``) in an :class:`EhataResult`;
- :func:`ehata_batch` — many profiles at once (numba, parallel over paths);
- the building blocks, as numpy ufuncs (they broadcast):
  :func:`median_basic_loss_db`, :func:`breakpoint_distance_km`,
  :func:`location_sigma_db`, :func:`location_variability_db`,
  :func:`isolated_ridge_correction_db`, :func:`median_rolling_hilly_correction_db`,
  :func:`fine_rolling_hilly_correction_db`, :func:`general_slope_correction_db`,
  :func:`mixed_path_correction_db`. NTIA *subtracts* each correction from the loss
  (a positive correction is a gain).

Environments are NLCD land-cover codes (eHata: 23 or 24 urban, 22 suburban, any
other rural) or covgap's names (:data:`ENVIRONMENT_NLCD`).

Validity (:data:`EHATA_RANGE`). NTIA's code states no input limits except
``0 < reliability < 1``; the ranges here are those its formulas are built on:
frequency 1500–3000 MHz (the Okumura points the median loss is refitted to),
path distance 1–100 km (the 1 km and 100 km anchors of the two power laws), and
*effective* heights 30–200 m (base station) and 1–10 m (mobile), the box NTIA
clamps them to. An effective height is the structural height plus the terminal's
ground elevation above the mean terrain 3–15 km toward the other end (scaled in
for 3–15 km paths; equal to the structural height under 3 km). ``strict=True``
raises :class:`~covgap.errors.PropagationRangeError` for any of these outside its
range, naming the model, the argument, the value and the range; ``strict=False``
computes as NTIA does (clamping the heights) and reports ``in_range``. Inputs NTIA
cannot compute at all (a reliability outside (0, 1), a non-positive frequency, a
negative height, a malformed profile, a NaN anywhere) always raise.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numba
import numpy as np
import numpy.typing as npt
from numba import prange

from .errors import PropagationRangeError
from .itm import _as_pfl, _flatten_pfls, _fmt, _numeric_args
from .propagation import ENVIRONMENTS, _inside, cached_njit

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
ArrayLike = npt.ArrayLike

MODEL = "ehata"

# --------------------------------------------------------------------------- environments

#: NLCD codes eHata distinguishes.
NLCD_SUBURBAN = 22
NLCD_URBAN_MEDIUM = 23
NLCD_URBAN_HIGH = 24
#: The code covgap passes for ``open_rural`` (NLCD 82, cultivated crops); eHata treats
#: every code other than 22, 23 and 24 alike (rural).
NLCD_RURAL = 82

#: covgap environment name → the NLCD code passed to eHata. Both urban names give the
#: same loss: eHata has a single urban curve.
ENVIRONMENT_NLCD: dict[str, int] = {
    "urban_large": NLCD_URBAN_HIGH,
    "urban_small_medium": NLCD_URBAN_MEDIUM,
    "suburban": NLCD_SUBURBAN,
    "open_rural": NLCD_RURAL,
}

# --------------------------------------------------------------------------- ranges

#: (low, high), inclusive, in the unit of the argument named in the key; heights are
#: the *effective* heights (see the module docstring).
EHATA_RANGE: dict[str, tuple[float, float]] = {
    "freq_mhz": (1500.0, 3000.0),
    "hb_m": (30.0, 200.0),
    "hm_m": (1.0, 10.0),
    "d_km": (1.0, 100.0),
}
_SOURCE = "NTIA eHata v3.2 / TR-15-517"

# --------------------------------------------------------------------------- constants
# Evaluated once, with the same double-precision expressions as NTIA's MedianBasicPropLoss.

_PI = 3.14159265358979323846
_C_M_PER_S = 1.0 / math.sqrt(8.854e-12 * 4.0e-7 * _PI)  # NTIA's c = 1/sqrt(eps0 mu0)
_SR_1KM_M = math.sqrt(1.0e6 + (200.0 - 3.0) ** 2)  # ray length, hb 200 m / hm 3 m, 1 km
_HTG_HB_REF_DB = 13.82 * math.log10(200.0)  # Hata height gain, reference hb = 200 m
_HTG_HM_REF_DB = 3.2 * math.log10(11.75 * 3.0) ** 2 - 4.97  # reference hm = 3 m (Hata eq 16)
_WN_1500 = 2.0 * _PI * 1.5e9 / _C_M_PER_S  # wavenumber at 1500 MHz, rad/m
# Urban attenuation relative to free space at 1 km: 22 / 23.5 / 25.85 dB at 1500 / 2000 /
# 3000 MHz (Okumura) → log-quadratic in frequency.
_GAMMA_1 = (3.85 / math.log10(2.0) - 1.5 / math.log10(4.0 / 3.0)) / math.log10(1.5)
_BETA_1 = 20.0 + 1.5 / math.log10(4.0 / 3.0) - _GAMMA_1 * math.log10(3.0e6)
_ALPHA_1 = (
    22.0
    + _HTG_HB_REF_DB
    + _HTG_HM_REF_DB
    + 20.0 * math.log10(2.0 * _WN_1500 * _SR_1KM_M)
    - math.log10(1500.0) * (_BETA_1 + _GAMMA_1 * math.log10(1500.0))
)
# Suburban correction: 11.5 / 12.4 / 14 dB at 1500 / 2000 / 3000 MHz.
_DENOM = math.log10(4.0 / 3.0) * math.log10(1.5) * math.log10(2.0)
_GAMMA_1_SUB = (2.5 * math.log10(4.0 / 3.0) - 0.9 * math.log10(2.0)) / _DENOM
_BETA_1_SUB = (
    0.9 * math.log10(2.0) * math.log10(4.5e6) - 2.5 * math.log10(4.0 / 3.0) * math.log10(3.0e6)
) / _DENOM
_ALPHA_1_SUB = 11.5 - _BETA_1_SUB * math.log10(1.5e3) - _GAMMA_1_SUB * math.log10(1.5e3) ** 2
# Attenuation at 100 km: 63.5 / 65.75 / 69.5 dB at 1500 / 2000 / 3000 MHz (NTIA's fit).
_ALPHA_100 = 120.78129
_BETA_100 = -52.714929
_GAMMA_100 = 10.919011
# Distance exponent beyond the break point: n/2 = 2.5, 3, 3.22 at effective base heights
# 24.5, 70, 200 m (Okumura Fig. 12), quadratic in log hb.
_TAU = (
    (0.72 * math.log10(70.0 / 24.5) - 0.5 * math.log10(200.0 / 24.5))
    / math.log10(70.0 / 24.5)
    / math.log10(200.0 / 70.0)
    / math.log10(200.0 / 24.5)
)
_SIGMA_N = 0.72 / math.log10(200.0 / 24.5) - _TAU * math.log10(200.0 * 24.5)
_RHO = 2.5 - math.log10(24.5) * (_SIGMA_N + _TAU * math.log10(24.5))
# Location variability sigma_u: 7.1 / 7.5 / 8.1 dB at 1500 / 2000 / 3000 MHz.
_ALPHA_U = 4.0976291
_BETA_U = -1.2255656
_GAMMA_U = 0.68350345
# Effective earth curvature: NTIA writes these as C float literals (301.0f, 157e-9f).
_EN0 = float(np.float32(301.0))
_GMA_PER_M = float(np.float32(157e-9))
# Okumura Fig. 31 (isolated ridge): curves C (d1 ≤ 15 km), B (30 km), A (60 km) at d2 =
# 0 … 8 km; the mixed land–sea path curves (Okumura §4.4) at 30 and 60 km.
_RIDGE_D1_KM = np.array([15.0, 30.0, 60.0])
_RIDGE_D2_KM = np.arange(9.0)
_RIDGE_CURVES_DB = np.array(
    [
        [4.0, -13.0, -17.5, -17.5, -15.0, -12.5, -10.0, -8.0, -6.0],
        [12.0, -8.5, -13.0, -12.0, -10.0, -8.0, -6.5, -5.0, -4.0],
        [20.0, -4.0, -6.5, -6.0, -4.5, -3.5, -2.5, -2.0, -1.0],
    ]
)
_SEA_BETA_30 = np.array([0.0, 0.15, 0.35, 0.45, 0.6, 0.65, 0.725, 0.775, 0.85, 1.0])
_SEA_CORR_30_DB = np.array(
    [
        [0.0, 1.0, 3.0, 4.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0],
        [0.0, 4.0, 5.5, 7.0, 8.5, 9.0, 9.5, 9.8, 10.25, 11.0],
    ]
)
_SEA_BETA_60 = np.array([0.0, 0.15, 0.3, 0.4, 0.5, 0.6, 0.725, 0.85, 0.9, 1.0])
_SEA_CORR_60_DB = np.array(
    [
        [0.0, 2.0, 4.0, 5.5, 7.0, 9.0, 11.0, 13.0, 14.0, 15.0],
        [0.0, 4.25, 6.25, 9.2, 10.5, 11.75, 13.0, 14.0, 14.25, 15.0],
    ]
)

#: ``sea_end`` values of :func:`mixed_path_correction_db` (NTIA's ``iend_ov_sea``).
SEA_END_MOBILE = 1  # more sea in the first half of the profile (the mobile's end)
SEA_END_BASE = 0  # more sea in the second half (the base station's end)
SEA_END_BOTH = -1  # as much at either end

# --------------------------------------------------------------------------- scalar cores


@cached_njit()
def _is_urban(enviro: int) -> bool:
    """eHata's urban codes: NLCD 23 (developed, medium) and 24 (developed, high intensity)."""
    return enviro in (NLCD_URBAN_MEDIUM, NLCD_URBAN_HIGH)


@cached_njit()
def _median_core(
    f_mhz: float, hb_m: float, hm_m: float, d_km: float, enviro: int
) -> tuple[float, float, float, float]:
    """Median basic loss (NTIA MedianBasicPropLoss): (loss dB, d_bp km, att 1 km, att 100 km)."""
    lf = math.log10(f_mhz)
    lhb = math.log10(hb_m)
    wnmh = 2.0e6 * _PI * f_mhz / _C_M_PER_S
    term1 = lf * (_BETA_1 + _GAMMA_1 * lf)
    att_1km = (
        _ALPHA_1
        + term1
        - _HTG_HB_REF_DB
        - _HTG_HM_REF_DB
        - 20.0 * math.log10(2.0 * wnmh * _SR_1KM_M)
    )
    att_100km = _ALPHA_100 + lf * (_BETA_100 + _GAMMA_100 * lf)
    term2 = -13.82 * lhb
    n_h = 2.0 * (_RHO + lhb * (_SIGMA_N + _TAU * lhb) - 1.0)
    n_l = 0.1 * (44.9 - 6.55 * lhb) - 2.0
    d_bp_km = 10.0 ** ((2.0 * n_h + 0.1 * (att_1km - att_100km)) / (n_h - n_l))
    terma = -3.2 * math.log10(11.75 * hm_m) ** 2 + 4.97
    if d_km <= d_bp_km:
        urban = _ALPHA_1 + term1 + term2 + terma + (44.9 - 6.55 * lhb) * math.log10(d_km)
    else:
        sr_d = math.sqrt(1.0e6 * d_km**2 + (hb_m - hm_m) ** 2)
        urban = (
            att_100km + _HTG_HB_REF_DB + term2 + _HTG_HM_REF_DB + terma - 20.0 * n_h
            + 10.0 * n_h * math.log10(d_km) + 20.0 * math.log10(2.0 * wnmh * sr_d)
        )  # fmt: skip
    if _is_urban(enviro):
        loss = urban
    elif enviro == NLCD_SUBURBAN:
        loss = urban - (_ALPHA_1_SUB + _BETA_1_SUB * lf + _GAMMA_1_SUB * lf**2)
    else:
        loss = urban - (40.94 - 18.33 * lf + 4.78 * lf**2)
    return loss, d_bp_km, att_1km, att_100km


@cached_njit()
def _sigma_core(f_mhz: float, enviro: int) -> float:
    """Location-variability standard deviation, dB (NTIA Sigma_u; Sigma_r = Sigma_u + 2)."""
    lf = math.log10(f_mhz)
    sigma_u = _ALPHA_U + _BETA_U * lf + _GAMMA_U * lf**2
    if _is_urban(enviro):
        return sigma_u
    return sigma_u + 2.0


@cached_njit()
def _ierf(q: float) -> float:
    """NTIA's inverse complementary normal (the ITM approximation, Abramowitz–Stegun 26.2.23)."""
    x = 0.5 - q
    t = max(0.5 - abs(x), 0.000001)
    t = math.sqrt(-2.0 * math.log(t))
    v = t - ((0.010328 * t + 0.802853) * t + 2.515516698) / (
        ((0.001308 * t + 0.189269) * t + 1.432788) * t + 1.0
    )
    return -v if x < 0.0 else v


@cached_njit()
def _variability_core(f_mhz: float, enviro: int, reliability: float) -> float:
    """Loss added to the median for a reliability (fraction not exceeded), dB."""
    return -_ierf(reliability) * _sigma_core(f_mhz, enviro)


@cached_njit()
def _ridge_core(d1_hzn_km: float, d2_hzn_km: float, h_edge_m: float) -> float:
    """Isolated-ridge correction, dB (NTIA IsolatedRidgeCorrectionFactor; Okumura Fig. 31–32)."""
    alpha = math.sqrt(h_edge_m / 200.0)
    id1 = 1 if d1_hzn_km >= _RIDGE_D1_KM[1] else 0
    id2 = 0
    while id2 < 7 and d2_hzn_km > _RIDGE_D2_KM[id2 + 1]:
        id2 += 1
    frac = (d2_hzn_km - _RIDGE_D2_KM[id2]) / (_RIDGE_D2_KM[id2 + 1] - _RIDGE_D2_KM[id2])
    lo = _RIDGE_CURVES_DB[id1]
    hi = _RIDGE_CURVES_DB[id1 + 1]
    c1 = lo[id2] + (lo[id2 + 1] - lo[id2]) * frac
    c2 = hi[id2] + (hi[id2 + 1] - hi[id2]) * frac
    if d1_hzn_km <= 15.0:
        k_im = c1
    elif d1_hzn_km >= 60.0:
        k_im = c2
    else:
        k_im = c1 + (c2 - c1) * (d1_hzn_km - _RIDGE_D1_KM[id1]) / (
            _RIDGE_D1_KM[id1 + 1] - _RIDGE_D1_KM[id1]
        )
    if d2_hzn_km > 2.0:  # no gain beyond 2 km behind the ridge (NTIA issue #11)
        k_im = min(k_im, 0.0)
    return alpha * k_im


@cached_njit()
def _rolling_median_core(delta_h_m: float) -> float:
    """Median rolling-hilly-terrain correction, dB (Δh floored at 15 m, where it is ≈ 0)."""
    lg = math.log10(max(delta_h_m, 15.0))
    return -1.5072013 + lg * (8.458676 + -6.102538 * lg)


@cached_njit()
def _rolling_fine_core(
    delta_h_m: float, h_m_gnd_m: float, pfl10_m: float, pfl50_m: float, pfl90_m: float
) -> float:
    """Fine rolling-hilly-terrain correction, dB, by the mobile's ground height in the
    10/50/90 % terrain quantiles (0 for Δh < 10 m)."""
    if delta_h_m < 10.0:
        return 0.0
    lg = math.log10(delta_h_m)
    k_h = -11.728795 + lg * (15.544272 + -1.8154766 * lg)
    if h_m_gnd_m >= pfl10_m:
        return k_h
    if h_m_gnd_m <= pfl90_m:
        return -k_h
    if h_m_gnd_m >= pfl50_m:
        return k_h * (h_m_gnd_m - pfl50_m) / (pfl10_m - pfl50_m)
    return -k_h * (pfl50_m - h_m_gnd_m) / (pfl50_m - pfl90_m)


@cached_njit()
def _slope_core(theta_m_mrad: float, d_km: float) -> float:
    """General-slope correction, dB (Okumura §4.3, Fig. 34)."""
    if theta_m_mrad <= 0.0:
        if d_km <= 10.0:
            return theta_m_mrad * 0.25
        if d_km >= 30.0:
            return theta_m_mrad * 0.8
        return theta_m_mrad * (0.25 + 0.05 * (0.8 - 0.25) * (d_km - 10.0))
    if d_km <= 10.0:
        return theta_m_mrad * 0.125
    if d_km >= 60.0:
        return theta_m_mrad * 0.6
    if d_km <= 30.0:
        return theta_m_mrad * (0.125 + 0.05 * (d_km - 10.0) * (0.35 - 0.125))
    return theta_m_mrad * (0.35 + (d_km - 30.0) * (0.6 - 0.35) / 30.0)


@cached_njit()
def _sea_curve(beta: float, sea_end: int, betas: np.ndarray, corr: np.ndarray) -> float:
    """Okumura's land–sea correction at one distance curve (30 or 60 km), dB."""
    ist = 0
    while ist < betas.size - 2 and beta > betas[ist + 1]:
        ist += 1
    s0 = (corr[0, ist + 1] - corr[0, ist]) / (betas[ist + 1] - betas[ist])
    s1 = (corr[1, ist + 1] - corr[1, ist]) / (betas[ist + 1] - betas[ist])
    if sea_end == 0:
        return corr[0, ist] + (beta - betas[ist]) * s0
    if sea_end == 1:
        return corr[1, ist] + (beta - betas[ist]) * s1
    return 0.5 * (corr[0, ist] + corr[1, ist] + (beta - betas[ist]) * (s0 + s1))


@cached_njit()
def _mixed_core(d_km: float, beta: float, sea_end: int) -> float:
    """Mixed land–sea path correction, dB (Okumura §4.4), linear in d between 30 and 60 km."""
    if beta == 0.0:
        return 0.0
    if d_km <= 30.0:
        return _sea_curve(beta, sea_end, _SEA_BETA_30, _SEA_CORR_30_DB)
    if d_km >= 60.0:
        return _sea_curve(beta, sea_end, _SEA_BETA_60, _SEA_CORR_60_DB)
    c30 = _sea_curve(beta, sea_end, _SEA_BETA_30, _SEA_CORR_30_DB)
    c60 = _sea_curve(beta, sea_end, _SEA_BETA_60, _SEA_CORR_60_DB)
    return c30 + (d_km - 30.0) / 30.0 * (c60 - c30)


# --------------------------------------------------------------------------- profile analysis

# Layout of the intermediate-values array the kernel fills (NTIA's InterValues, plus the
# pre-clamp effective heights, the median and the corrections applied).
_IV_D_BP_KM = 0
_IV_ATT_1KM = 1
_IV_ATT_100KM = 2
_IV_HB_EFF = 3  # clamped, as NTIA reports it
_IV_HM_EFF = 4
_IV_HB_EFF_RAW = 5  # before the clamp
_IV_HM_EFF_RAW = 6
_IV_PFL10 = 7
_IV_PFL50 = 8
_IV_PFL90 = 9
_IV_DELTA_H = 10
_IV_D_KM = 11
_IV_D_HZN_MOBILE = 12
_IV_D_HZN_BASE = 13
_IV_H_AVG_MOBILE = 14
_IV_H_AVG_BASE = 15
_IV_THETA_M = 16
_IV_BETA = 17
_IV_SEA_END = 18
_IV_HEDGE = 19
_IV_SINGLE = 20
_IV_SLOPE_MAX = 21
_IV_SLOPE_MIN = 22
_IV_MEDIAN = 23
_IV_VARIABILITY = 24
_IV_K_RIDGE = 25
_IV_K_ROLL_MEDIAN = 26
_IV_K_ROLL_FINE = 27
_IV_K_SLOPE = 28
_IV_K_MIXED = 29
_IV_SIZE = 30


@cached_njit()
def _mean(pfl: np.ndarray, i_start: int, i_end: int) -> float:
    """Mean of pfl[i_start..i_end] (inclusive), summed in order as NTIA does."""
    total = 0.0
    for i in range(i_start, i_end + 1):
        total += pfl[i]
    return total / (i_end - i_start + 1)


@cached_njit()
def _average_ground(pfl: np.ndarray, hb_m: float, hm_m: float, inter: np.ndarray) -> None:
    """Terminal ground heights above the mean terrain 3–15 km away; effective heights."""
    n = int(pfl[0])
    xi_km = pfl[1] * 0.001
    d_km = n * xi_km
    if d_km < 3.0:
        inter[_IV_H_AVG_MOBILE] = pfl[2]
        inter[_IV_H_AVG_BASE] = pfl[n + 2]
        inter[_IV_HM_EFF_RAW] = hm_m
        inter[_IV_HB_EFF_RAW] = hb_m
        return
    i3 = int(3.0 / xi_km)
    if d_km <= 15.0:
        scale = (d_km - 3.0) / 12.0
        h_avg_m = scale * (pfl[2] - _mean(pfl, 2 + i3, n + 2))
        h_avg_b = scale * (pfl[n + 2] - _mean(pfl, 2, n + 2 - i3))
    else:
        i15 = int(15.0 / xi_km)
        h_avg_m = pfl[2] - _mean(pfl, 2 + i3, 2 + i15)
        h_avg_b = pfl[n + 2] - _mean(pfl, n + 2 - i15, n + 2 - i3)
    inter[_IV_H_AVG_MOBILE] = h_avg_m
    inter[_IV_H_AVG_BASE] = h_avg_b
    inter[_IV_HM_EFF_RAW] = hm_m + h_avg_m
    inter[_IV_HB_EFF_RAW] = hb_m + h_avg_b


@cached_njit()
def _terrain_statistics(pfl: np.ndarray, inter: np.ndarray) -> None:
    """10/50/90 % terrain quantiles and Δh over the 10 km at the mobile (or the whole path)."""
    n = int(pfl[0])
    xi_km = pfl[1] * 0.001
    d_km = n * xi_km
    i_end = n + 2 if d_km < 10.0 else 2 + int(10.0 / xi_km)
    desc = -np.sort(-pfl[2 : i_end + 1])  # descending: index k is the (k+1)-th highest
    npts = desc.size
    q10 = desc[min(max(0, int(0.1 * npts - 1)), npts - 1)]
    q50 = desc[min(max(0, int(0.5 * npts - 1)), npts - 1)]
    q90 = desc[min(max(0, int(0.9 * npts - 1)), npts - 1)]
    delta_h = q10 - q90
    if d_km < 10.0:  # asymptotic Δh for short paths [TR-15-517]
        factor = (1.0 - 0.8 * math.exp(-0.2)) / (1.0 - 0.8 * math.exp(-0.02 * d_km))
        q10 *= factor
        q50 *= factor
        q90 *= factor
        delta_h *= factor
    inter[_IV_PFL10] = q10
    inter[_IV_PFL50] = q50
    inter[_IV_PFL90] = q90
    inter[_IV_DELTA_H] = delta_h


@cached_njit()
def _least_squares(z: np.ndarray, n_int: int, xi_m: float, x1_m: float, x2_m: float) -> float:
    """Slope term of ITM's least-squares line over z[0..n_int]: returns zn − z0, metres."""
    xn = float(n_int)
    xa = float(int(max(x1_m / xi_m, 0.0)))
    xb = xn - int(max(xn - x2_m / xi_m, 0.0))
    if xb <= xa:
        xa = max(xa - 1.0, 0.0)
        xb = xn - max(xn - xb + 1.0, 0.0)
    ja = int(xa)
    jb = int(xb)
    xa = xb - xa
    x = -0.5 * xa
    xb = xb + x
    a = 0.5 * (z[ja] + z[jb])
    b = 0.5 * (z[ja] - z[jb]) * x
    for _ in range(2, jb - ja + 1):
        ja += 1
        x += 1.0
        a += z[ja]
        b += z[ja] * x
    a /= xa
    b = b * 12.0 / ((xa * xa + 2.0) * xa)
    return (a + b * (xn - xb)) - (a - b * xb)


@cached_njit()
def _mobile_slope(pfl: np.ndarray, inter: np.ndarray) -> None:
    """Mean terrain slope at the mobile, mrad (least-squares lines over 5 … 10 km)."""
    n = int(pfl[0])
    xi_m = pfl[1]
    d_m = n * xi_m
    slope_max = -1.0e31
    slope_min = 1.0e31
    slope_five = 0.0
    x2_m = 5000.0
    while d_m >= x2_m and x2_m <= 10000.0:
        n_int = int(x2_m / xi_m)
        rise_m = _least_squares(pfl[2 : n_int + 3], n_int, xi_m, 0.0, x2_m)
        slope = -1000.0 * rise_m / x2_m  # Okumura's sign: positive when the mobile is high
        slope_min = min(slope_min, slope)
        slope_max = max(slope_max, slope)
        if x2_m == 5000.0:
            slope_five = slope
        x2_m += 1000.0
    if d_m <= 5000.0 or slope_max * slope_min < 0.0:
        theta = slope_five
    elif slope_max >= 0.0:
        theta = slope_max
    else:
        theta = slope_min
    inter[_IV_SLOPE_MAX] = slope_max
    inter[_IV_SLOPE_MIN] = slope_min
    inter[_IV_THETA_M] = theta


@cached_njit()
def _sea_path(pfl: np.ndarray, inter: np.ndarray) -> None:
    """Fraction of profile points at elevation 0 (sea) and the end nearer to it."""
    n = int(pfl[0])
    mid = n // 2
    sea = 0
    low = 0
    high = 0
    for i in range(1, n + 2):  # NTIA's 1-based point index
        if pfl[i + 1] == 0.0:
            sea += 1
            if i <= mid:
                low += 1
            else:
                high += 1
    inter[_IV_BETA] = sea / (n + 1)
    if low > high:
        inter[_IV_SEA_END] = SEA_END_MOBILE
    elif high > low:
        inter[_IV_SEA_END] = SEA_END_BASE
    else:
        inter[_IV_SEA_END] = SEA_END_BOTH


@cached_njit()
def _horizons(
    pfl: np.ndarray, gme_per_m: float, d_m: float, h_1_m: float, h_2_m: float
) -> tuple[float, float]:
    """Horizon distances (from the first and the last point), m (ITM's hzns)."""
    n = int(pfl[0])
    xi = pfl[1]
    za = pfl[2] + h_1_m
    zb = pfl[n + 2] + h_2_m
    qc = 0.5 * gme_per_m
    q = qc * d_m
    th_b = (zb - za) / d_m
    th_a = th_b - q
    th_b = -th_b - q
    d_a = d_m
    d_b = d_m
    if n < 2:
        return d_a, d_b
    sa = 0.0
    sb = d_m
    seen = False
    for i in range(2, n + 1):
        sa += xi
        sb -= xi
        q = pfl[i + 1] - (qc * sa + th_a) * sa - za
        if q > 0.0:
            th_a += q / sa
            d_a = sa
            seen = True
        if seen:
            q = pfl[i + 1] - (qc * sb + th_b) * sb - zb
            if q > 0.0:
                th_b += q / sb
                d_b = sb
    return d_a, d_b


@cached_njit()
def _single_horizon(pfl: np.ndarray, hm_m: float, hb_m: float, inter: np.ndarray) -> None:
    """Whether one obstacle makes both horizons (isolated ridge) and its height h̃_edge, m."""
    n = int(pfl[0])
    xi = pfl[1]
    d_m = n * xi
    h_gnd = _mean(pfl, 2, n + 2)
    ens = _EN0 if h_gnd == 0.0 else _EN0 * math.exp(-h_gnd / 9460.0)
    gme = _GMA_PER_M * (1.0 - 0.04665 * math.exp(ens / 179.3))
    d_mob, d_base = _horizons(pfl, gme, d_m, hm_m, hb_m)
    inter[_IV_D_HZN_MOBILE] = d_mob
    inter[_IV_D_HZN_BASE] = d_base
    d_diff = d_m - d_mob - d_base
    q = max(d_diff - 0.5 * xi, 0.0) - max(-d_diff - 0.5 * xi, 0.0)
    if q != 0.0:
        inter[_IV_SINGLE] = 0.0
        return
    inter[_IV_SINGLE] = 1.0
    iedge = int(d_mob / xi)
    za = hb_m + pfl[n + 2]
    zb = hm_m + pfl[2]
    hedge = pfl[iedge + 2] - (za * d_base + zb * d_mob) / d_m + 0.5 * gme * d_mob * d_base
    inter[_IV_HEDGE] = max(hedge, 0.0)


@cached_njit()
def _ehata_kernel(
    pfl: np.ndarray,
    f_mhz: float,
    hb_m: float,
    hm_m: float,
    enviro: int,
    reliability: float,
    inter: np.ndarray,
) -> float:
    """eHata basic transmission loss, dB (NTIA ExtendedHata_DBG); fills ``inter``."""
    _average_ground(pfl, hb_m, hm_m, inter)
    _terrain_statistics(pfl, inter)
    _mobile_slope(pfl, inter)
    _sea_path(pfl, inter)
    _single_horizon(pfl, hm_m, hb_m, inter)
    hm_eff = min(max(inter[_IV_HM_EFF_RAW], 1.0), 10.0)
    hb_eff = min(max(inter[_IV_HB_EFF_RAW], 30.0), 200.0)
    inter[_IV_HM_EFF] = hm_eff
    inter[_IV_HB_EFF] = hb_eff
    d_km = pfl[0] * pfl[1] / 1000.0
    inter[_IV_D_KM] = d_km
    median, d_bp, att_1, att_100 = _median_core(f_mhz, hb_eff, hm_eff, d_km, enviro)
    inter[_IV_D_BP_KM] = d_bp
    inter[_IV_ATT_1KM] = att_1
    inter[_IV_ATT_100KM] = att_100
    inter[_IV_MEDIAN] = median
    variability = _variability_core(f_mhz, enviro, reliability)
    inter[_IV_VARIABILITY] = variability
    loss = median + variability
    k_mixed = _mixed_core(d_km, inter[_IV_BETA], int(inter[_IV_SEA_END]))
    inter[_IV_K_MIXED] = k_mixed
    if inter[_IV_SINGLE] != 0.0:
        k_ridge = _ridge_core(
            inter[_IV_D_HZN_BASE] * 0.001, inter[_IV_D_HZN_MOBILE] * 0.001, inter[_IV_HEDGE]
        )
        inter[_IV_K_RIDGE] = k_ridge
        return loss - k_ridge - k_mixed
    k_roll = _rolling_median_core(inter[_IV_DELTA_H])
    k_fine = _rolling_fine_core(
        inter[_IV_DELTA_H], pfl[2], inter[_IV_PFL10], inter[_IV_PFL50], inter[_IV_PFL90]
    )
    k_slope = _slope_core(inter[_IV_THETA_M], d_km)
    inter[_IV_K_ROLL_MEDIAN] = k_roll
    inter[_IV_K_ROLL_FINE] = k_fine
    inter[_IV_K_SLOPE] = k_slope
    return loss - k_roll - k_fine - k_slope - k_mixed


@cached_njit()
def _reversed_pfl(pfl: np.ndarray) -> np.ndarray:
    """The same PFL run from its last point to its first (padding dropped)."""
    n = int(pfl[0])
    out = np.empty(n + 3)
    out[0] = pfl[0]
    out[1] = pfl[1]
    for j in range(n + 1):
        out[2 + j] = pfl[2 + n - j]
    return out


@cached_njit(parallel=True)
def _batch_kernel(
    flat: np.ndarray,
    starts: np.ndarray,
    ends: np.ndarray,
    f_mhz: np.ndarray,
    hb_m: np.ndarray,
    hm_m: np.ndarray,
    enviro: np.ndarray,
    reliability: np.ndarray,
    reverse: bool,
    out_loss_db: np.ndarray,
    out_eff: np.ndarray,
    out_bad: np.ndarray,
) -> None:
    """Many paths in parallel; path ``i``'s PFL is ``flat[starts[i]:ends[i]]`` (run end to
    end in reverse when ``reverse``: base station first).

    ``out_eff[i]`` receives the pre-clamp effective (base, mobile) heights and the
    distance; a path whose used elevations are not all finite is flagged in
    ``out_bad`` and not computed.
    """
    for i in prange(starts.shape[0]):
        pfl = flat[starts[i] : ends[i]]
        n_nonfinite = 0
        for j in range(2, int(pfl[0]) + 3):
            n_nonfinite += 0 if abs(pfl[j]) < math.inf else 1
        if n_nonfinite:
            out_loss_db[i] = math.nan
            out_bad[i] = True
            continue
        if reverse:
            pfl = _reversed_pfl(pfl)
        inter = np.full(_IV_SIZE, math.nan)
        out_loss_db[i] = _ehata_kernel(
            pfl, f_mhz[i], hb_m[i], hm_m[i], enviro[i], reliability[i], inter
        )
        out_eff[i, 0] = inter[_IV_HB_EFF_RAW]
        out_eff[i, 1] = inter[_IV_HM_EFF_RAW]
        out_eff[i, 2] = inter[_IV_D_KM]


# --------------------------------------------------------------------------- building blocks
# numpy ufuncs over the scalar cores above (they broadcast; environment as NLCD codes).


@numba.vectorize(["float64(float64, float64, float64, float64, int64)"])
def _median_ufunc(f_mhz: float, hb_m: float, hm_m: float, d_km: float, enviro: int) -> float:
    return _median_core(f_mhz, hb_m, hm_m, d_km, enviro)[0]


@numba.vectorize(["float64(float64, float64)"])
def _breakpoint_ufunc(f_mhz: float, hb_m: float) -> float:
    return _median_core(f_mhz, hb_m, 3.0, 1.0, NLCD_URBAN_MEDIUM)[1]


@numba.vectorize(["float64(float64, int64)"])
def _sigma_ufunc(f_mhz: float, enviro: int) -> float:
    return _sigma_core(f_mhz, enviro)


@numba.vectorize(["float64(float64, int64, float64)"])
def _variability_ufunc(f_mhz: float, enviro: int, reliability: float) -> float:
    return _variability_core(f_mhz, enviro, reliability)


@numba.vectorize(["float64(float64, float64, float64)"])
def _ridge_ufunc(d1_hzn_km: float, d2_hzn_km: float, h_edge_m: float) -> float:
    return _ridge_core(d1_hzn_km, d2_hzn_km, h_edge_m)


@numba.vectorize(["float64(float64)"])
def _rolling_median_ufunc(delta_h_m: float) -> float:
    return _rolling_median_core(delta_h_m)


@numba.vectorize(["float64(float64, float64, float64, float64, float64)"])
def _rolling_fine_ufunc(
    delta_h_m: float, h_m_gnd_m: float, pfl10_m: float, pfl50_m: float, pfl90_m: float
) -> float:
    return _rolling_fine_core(delta_h_m, h_m_gnd_m, pfl10_m, pfl50_m, pfl90_m)


@numba.vectorize(["float64(float64, float64)"])
def _slope_ufunc(theta_m_mrad: float, d_km: float) -> float:
    return _slope_core(theta_m_mrad, d_km)


@numba.vectorize(["float64(float64, float64, int64)"])
def _mixed_ufunc(d_km: float, beta: float, sea_end: int) -> float:
    return _mixed_core(d_km, beta, sea_end)


def _out(x: npt.NDArray[Any]) -> Any:
    """0-d arrays become numpy scalars; others stay arrays."""
    x = np.asarray(x)
    return x[()] if x.ndim == 0 else x


def _finite(name: str, x: ArrayLike, *, low: float = -math.inf, open_low: bool = False) -> Any:
    """``x`` as float64; raise naming ``name`` if any value is NaN/inf or below ``low``."""
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise PropagationRangeError(f"{MODEL}: {name}={x!r} is not a number", column=name) from None
    with np.errstate(invalid="ignore"):
        bad = ~np.isfinite(arr) | ((arr <= low) if open_low else (arr < low))
    if bad.any():
        value = arr[bad].flat[0]
        rule = "finite" if low == -math.inf else f"finite and {'>' if open_low else '≥'} {low:g}"
        raise PropagationRangeError(
            f"{MODEL}: {name}={_fmt(value)} is not allowed (it must be {rule})", column=name
        )
    return arr


def _nlcd(environment: str | int | ArrayLike) -> npt.NDArray[np.int64]:
    """NLCD codes from covgap environment names or from integer codes (≥ 0)."""
    arr = np.asarray(environment)
    if arr.dtype.kind in "iu":
        codes = arr.astype(np.int64)
    elif arr.dtype.kind == "f":
        if not (np.isfinite(arr).all() and (arr == np.round(arr)).all()):
            raise PropagationRangeError(
                f"{MODEL}: environment codes must be whole NLCD codes; got {arr.ravel()[:3]}",
                column="environment",
            )
        codes = arr.astype(np.int64)
    else:
        uniq, inverse = np.unique(arr.astype(str), return_inverse=True)
        unknown = [str(u) for u in uniq if str(u) not in ENVIRONMENT_NLCD]
        if unknown:
            raise PropagationRangeError(
                f"{MODEL}: environment = {unknown[0]!r} is not one of {', '.join(ENVIRONMENTS)} "
                "(or an integer NLCD land-cover code)",
                column="environment",
            )
        lookup = np.array([ENVIRONMENT_NLCD[str(u)] for u in uniq], dtype=np.int64)
        codes = lookup[inverse].reshape(arr.shape)
    if (codes < 0).any():
        raise PropagationRangeError(
            f"{MODEL}: environment code {int(codes[codes < 0].flat[0])} is not an NLCD code",
            column="environment",
        )
    return codes


def median_basic_loss_db(
    freq_mhz: ArrayLike,
    hb_eff_m: ArrayLike,
    hm_eff_m: ArrayLike,
    d_km: ArrayLike,
    environment: str | int | ArrayLike = "urban_small_medium",
) -> Any:
    """eHata median basic transmission loss, dB, before terrain corrections (NTIA
    MedianBasicPropLoss).

    Urban: Hata's distance law with the intercept refitted to Okumura's 1500–3000 MHz
    points up to the break-point distance (:func:`breakpoint_distance_km`), beyond it
    a power law with exponent ``n_h`` (Okumura Fig. 12) through the 100 km
    attenuation fit; suburban and rural subtract Okumura's corrections. ``freq_mhz``
    MHz, effective heights in m (used as given: :func:`ehata_db` clamps them to
    30–200 m and 1–10 m first), ``d_km`` km, ``environment`` names or NLCD codes.
    """
    f = _finite("freq_mhz", freq_mhz, low=0.0, open_low=True)
    hb = _finite("hb_eff_m", hb_eff_m, low=0.0, open_low=True)
    hm = _finite("hm_eff_m", hm_eff_m, low=0.0, open_low=True)
    d = _finite("d_km", d_km, low=0.0, open_low=True)
    return _out(_median_ufunc(f, hb, hm, d, _nlcd(environment)))


def breakpoint_distance_km(freq_mhz: ArrayLike, hb_eff_m: ArrayLike) -> Any:
    """Distance, km, where eHata's median loss switches from Hata's distance exponent
    to the long-distance one (NTIA's ``d_bp__km``); depends on frequency (MHz) and the
    effective base-station height (m)."""
    f = _finite("freq_mhz", freq_mhz, low=0.0, open_low=True)
    hb = _finite("hb_eff_m", hb_eff_m, low=0.0, open_low=True)
    return _out(_breakpoint_ufunc(f, hb))


def location_sigma_db(
    freq_mhz: ArrayLike, environment: str | int | ArrayLike = "urban_small_medium"
) -> Any:
    """Standard deviation of location variability, dB: Okumura's 7.1 / 7.5 / 8.1 dB at
    1500 / 2000 / 3000 MHz (log-quadratic in f) in urban areas, 2 dB more elsewhere."""
    f = _finite("freq_mhz", freq_mhz, low=0.0, open_low=True)
    return _out(_sigma_ufunc(f, _nlcd(environment)))


def _check_reliability(reliability: ArrayLike) -> Any:
    r = _finite("reliability", reliability)
    if ((r <= 0.0) | (r >= 1.0)).any():
        value = r[(r <= 0.0) | (r >= 1.0)].flat[0]
        raise PropagationRangeError(
            f"{MODEL}: reliability={_fmt(value)} is outside NTIA's limits 0 < reliability < 1 "
            "(the fraction of locations where the loss is not exceeded)",
            column="reliability",
        )
    return r


def location_variability_db(
    freq_mhz: ArrayLike,
    environment: str | int | ArrayLike = "urban_small_medium",
    reliability: ArrayLike = 0.5,
) -> Any:
    """Loss added to the median for a reliability, dB: ``−z(reliability) · σ`` with NTIA's
    inverse-normal approximation (the ITM one, so about 1e-4 σ off zero at 0.5).
    ``reliability`` is the fraction of locations where the loss is not exceeded (0–1,
    open): 0.9 gives a larger loss than 0.5."""
    f = _finite("freq_mhz", freq_mhz, low=0.0, open_low=True)
    return _out(_variability_ufunc(f, _nlcd(environment), _check_reliability(reliability)))


def isolated_ridge_correction_db(
    d1_hzn_km: ArrayLike, d2_hzn_km: ArrayLike, h_edge_m: ArrayLike
) -> Any:
    """Isolated-ridge correction K_im, dB, subtracted from the loss (Okumura §4.2,
    Fig. 31–32): ``sqrt(h_edge / 200 m)`` times curves A/B/C at the base station's
    distance to the ridge ``d1_hzn_km`` and the mobile's ``d2_hzn_km``; no gain when the
    mobile is more than 2 km behind the ridge. ``h_edge_m`` ≥ 0 (ridge height above the
    line between the antennas)."""
    d1 = _finite("d1_hzn_km", d1_hzn_km, low=0.0)
    d2 = _finite("d2_hzn_km", d2_hzn_km, low=0.0)
    h = _finite("h_edge_m", h_edge_m, low=0.0)
    return _out(_ridge_ufunc(d1, d2, h))


def median_rolling_hilly_correction_db(delta_h_m: ArrayLike) -> Any:
    """Median rolling-hilly-terrain correction, dB, subtracted from the loss (Okumura's
    curve as NTIA fits it, log-quadratic in Δh; Δh under 15 m counts as 15 m, where it
    is ≈ 0). Negative: hills add loss."""
    return _out(_rolling_median_ufunc(_finite("delta_h_m", delta_h_m, low=0.0)))


def fine_rolling_hilly_correction_db(
    delta_h_m: ArrayLike,
    h_m_gnd_m: ArrayLike,
    pfl10_m: ArrayLike,
    pfl50_m: ArrayLike,
    pfl90_m: ArrayLike,
) -> Any:
    """Fine rolling-hilly-terrain correction, dB, subtracted from the loss (Okumura's
    fine correction as NTIA fits it): ``+K_h`` with the mobile's ground ``h_m_gnd_m`` at
    or above the 10 % terrain quantile, ``−K_h`` at or below the 90 % one, linear
    through the median between; 0 for Δh under 10 m. Heights in m (the quantiles as
    eHata scales them)."""
    args = [
        _finite(name, x)
        for name, x in (
            ("delta_h_m", delta_h_m),
            ("h_m_gnd_m", h_m_gnd_m),
            ("pfl10_m", pfl10_m),
            ("pfl50_m", pfl50_m),
            ("pfl90_m", pfl90_m),
        )
    ]
    return _out(_rolling_fine_ufunc(*args))


def general_slope_correction_db(theta_m_mrad: ArrayLike, d_km: ArrayLike) -> Any:
    """General-slope correction, dB, subtracted from the loss (Okumura §4.3, Fig. 34):
    the mean terrain slope at the mobile ``theta_m_mrad`` (mrad, positive when the
    ground rises toward the mobile) times 0.125–0.6 (up-slope) or 0.25–0.8 (down-slope)
    by path distance ``d_km``."""
    th = _finite("theta_m_mrad", theta_m_mrad)
    d = _finite("d_km", d_km, low=0.0)
    return _out(_slope_ufunc(th, d))


def mixed_path_correction_db(
    d_km: ArrayLike, sea_fraction: ArrayLike, sea_end: ArrayLike = SEA_END_BOTH
) -> Any:
    """Land–sea mixed-path correction, dB, subtracted from the loss (Okumura §4.4):
    by the fraction of the path over sea (0–1), whether the sea lies at the
    mobile's end (:data:`SEA_END_MOBILE`), the base station's (:data:`SEA_END_BASE`) or
    both (:data:`SEA_END_BOTH`, the mean), on the 30 km and 60 km curves, linear in
    distance between them."""
    d = _finite("d_km", d_km, low=0.0)
    beta = _finite("sea_fraction", sea_fraction, low=0.0)
    if (beta > 1.0).any():
        raise PropagationRangeError(
            f"{MODEL}: sea_fraction={_fmt(beta[beta > 1.0].flat[0])} is above 1",
            column="sea_fraction",
        )
    end = np.asarray(sea_end)
    if not np.isin(end, (SEA_END_MOBILE, SEA_END_BASE, SEA_END_BOTH)).all():
        raise PropagationRangeError(
            f"{MODEL}: sea_end must be 1 (mobile end), 0 (base end) or -1 (both)",
            column="sea_end",
        )
    return _out(_mixed_ufunc(d, beta, end.astype(np.int64)))


# --------------------------------------------------------------------------- public API


@dataclass(frozen=True)
class EhataResult:
    """One eHata prediction with NTIA's intermediate values (``ExtendedHata_DBG``).

    Terminal pairs are ``(mobile, base)``. ``loss_db`` = ``median_loss_db`` +
    ``variability_db`` − the corrections that apply (a single-horizon path takes
    ``ridge_db`` and ``mixed_path_db``; any other takes the rolling-hill, slope and
    mixed-path ones; the others are 0). ``hb_eff_m``/``hm_eff_m`` are the effective
    heights NTIA uses (clamped to 30–200 m / 1–10 m), ``*_unclamped_m`` before the
    clamp. ``in_range`` says whether every input is inside :data:`EHATA_RANGE`.
    """

    loss_db: float
    median_loss_db: float
    variability_db: float
    in_range: bool
    d_km: float
    d_bp_km: float
    att_1km_db: float
    att_100km_db: float
    hb_eff_m: float
    hm_eff_m: float
    hb_eff_unclamped_m: float
    hm_eff_unclamped_m: float
    h_avg_m: tuple[float, float]
    pfl10_m: float
    pfl50_m: float
    pfl90_m: float
    delta_h_m: float
    d_hzn_m: tuple[float, float]
    theta_m_mrad: float
    slope_max_mrad: float
    slope_min_mrad: float
    sea_fraction: float
    sea_end: int
    single_horizon: bool
    h_edge_m: float | None
    ridge_db: float
    rolling_median_db: float
    rolling_fine_db: float
    slope_db: float
    mixed_path_db: float


@dataclass(frozen=True)
class EhataBatchResult:
    """Many eHata predictions, aligned with the input paths (arrays of length n_paths):
    loss (dB), whether each path's inputs are inside :data:`EHATA_RANGE`, the effective
    heights before NTIA's clamp (m) and the path distance (km)."""

    loss_db: FloatArray
    in_range: BoolArray
    hb_eff_unclamped_m: FloatArray
    hm_eff_unclamped_m: FloatArray
    d_km: FloatArray


def _new_inter() -> FloatArray:
    inter = np.full(_IV_SIZE, np.nan)
    inter[_IV_K_RIDGE : _IV_K_MIXED + 1] = 0.0
    return inter


def _out_of_range(values: dict[str, FloatArray]) -> dict[str, BoolArray]:
    """Per argument, where it (or the effective height derived from it) is outside
    :data:`EHATA_RANGE`. ``values``: f, hb, hm, hb_eff (pre-clamp), hm_eff, d (arrays)."""
    r = EHATA_RANGE
    return {
        "freq_mhz": ~_inside(values["f"], r["freq_mhz"]),
        "hb_m": ~_inside(values["hb_eff"], r["hb_m"]),
        "hm_m": ~_inside(values["hm_eff"], r["hm_m"]),
        "d_km": ~_inside(values["d"], r["d_km"]),
    }


def _range_reason(name: str, i: int, values: dict[str, FloatArray]) -> str:
    """One sentence naming the argument, its value and the range it is outside."""
    lo, hi = EHATA_RANGE[name]
    if name == "freq_mhz":
        return (
            f"freq_mhz = {_fmt(values['f'][i])} MHz is outside the validity range {lo:g}–{hi:g} MHz"
        )
    if name == "d_km":
        return (
            f"d_km = {_fmt(values['d'][i])} km (the profile's length) is outside the validity "
            f"range {lo:g}–{hi:g} km"
        )
    end = "base-station" if name == "hb_m" else "mobile"
    raw, eff = (
        (values["hb"], values["hb_eff"]) if name == "hb_m" else (values["hm"], values["hm_eff"])
    )
    return (
        f"{name} = {_fmt(raw[i])} m gives an effective {end} height of {eff[i]:.6g} m, outside "
        f"the validity range {lo:g}–{hi:g} m (NTIA clamps it)"
    )


def _raise_out_of_range(
    bad: dict[str, BoolArray], values: dict[str, FloatArray], *, model: str, batch: bool
) -> None:
    """Raise PropagationRangeError for the first path with any input out of range."""
    any_bad = np.zeros_like(next(iter(bad.values())))
    for mask in bad.values():
        any_bad |= mask
    i = int(np.flatnonzero(any_bad)[0])
    reasons = [_range_reason(name, i, values) for name, mask in bad.items() if mask[i]]
    where = f" path {i} ({int(any_bad.sum())} path(s) out of range in all):" if batch else ""
    first = next(name for name, mask in bad.items() if mask[i])
    raise PropagationRangeError(
        f"{model}:{where} " + "; ".join(reasons) + f" ({_SOURCE}); pass strict=False to "
        "extrapolate",
        column=first,
    )


def _reverse(pfl_from: str) -> bool:
    """True when profiles run from the base station (``pfl_from="base"``)."""
    if pfl_from not in ("mobile", "base"):
        raise PropagationRangeError(
            f"{MODEL}: pfl_from={pfl_from!r} must be 'mobile' (eHata's order) or 'base'",
            column="pfl_from",
        )
    return pfl_from == "base"


def _arguments(raw: dict[str, object], *, model: str, n_paths: int | None) -> dict[str, FloatArray]:
    """Numeric arguments as float64 arrays, with the limits NTIA cannot compute beyond."""
    args = _numeric_args(raw, model=model, n_paths=n_paths)
    _finite("freq_mhz", args["freq_mhz"], low=0.0, open_low=True)
    _finite("hb_m", args["hb_m"], low=0.0)
    _finite("hm_m", args["hm_m"], low=0.0)
    _check_reliability(args["reliability"])
    return args


def ehata_ex(
    freq_mhz: float,
    hb_m: float,
    hm_m: float,
    pfl: npt.NDArray[np.float64] | Sequence[float],
    environment: str | int = "urban_small_medium",
    reliability: float = 0.5,
    *,
    pfl_from: str = "mobile",
    strict: bool = False,
) -> EhataResult:
    """NTIA Extended Hata basic transmission loss with its intermediate values.

    ``pfl`` is ``[n_points - 1, step_m, elev_0 … elev_last]`` (m above sea level) **from
    the mobile to the base station**; ``hb_m``/``hm_m`` structural heights above ground
    of the base station and the mobile (m, ≥ 0); ``freq_mhz`` MHz; ``environment`` a
    covgap name (:data:`ENVIRONMENT_NLCD`) or an NLCD code; ``reliability`` the fraction
    of locations where the loss is not exceeded (0 < r < 1; 0.5 = median).
    ``pfl_from="base"`` takes a profile that runs from the base station to the mobile
    (ITM's and ``covgap.terrain``'s tower → village order) and reverses it first.
    ``strict=True`` raises PropagationRangeError when an input is outside
    :data:`EHATA_RANGE` (see the module docstring); NTIA's hard limits always raise.
    """
    arr = _as_pfl(pfl, model=MODEL)
    if _reverse(pfl_from):
        arr = _reversed_pfl(arr)
    codes = _nlcd(environment)
    if codes.ndim != 0:
        raise PropagationRangeError(
            f"{MODEL}: environment must be a single name or code (use ehata_batch for many)",
            column="environment",
        )
    raw: dict[str, object] = {
        "freq_mhz": freq_mhz, "hb_m": hb_m, "hm_m": hm_m, "reliability": reliability,
    }  # fmt: skip
    v = {k: float(a[0]) for k, a in _arguments(raw, model=MODEL, n_paths=None).items()}
    inter = _new_inter()
    loss = _ehata_kernel(
        arr, v["freq_mhz"], v["hb_m"], v["hm_m"], int(codes), v["reliability"], inter
    )
    values = {
        "f": np.array([v["freq_mhz"]]),
        "hb": np.array([v["hb_m"]]),
        "hm": np.array([v["hm_m"]]),
        "hb_eff": inter[_IV_HB_EFF_RAW : _IV_HB_EFF_RAW + 1],
        "hm_eff": inter[_IV_HM_EFF_RAW : _IV_HM_EFF_RAW + 1],
        "d": inter[_IV_D_KM : _IV_D_KM + 1],
    }
    bad = _out_of_range(values)
    in_range = not any(bool(m[0]) for m in bad.values())
    if strict and not in_range:
        _raise_out_of_range(bad, values, model=MODEL, batch=False)
    single = bool(inter[_IV_SINGLE])
    return EhataResult(
        loss_db=float(loss),
        median_loss_db=float(inter[_IV_MEDIAN]),
        variability_db=float(inter[_IV_VARIABILITY]),
        in_range=in_range,
        d_km=float(inter[_IV_D_KM]),
        d_bp_km=float(inter[_IV_D_BP_KM]),
        att_1km_db=float(inter[_IV_ATT_1KM]),
        att_100km_db=float(inter[_IV_ATT_100KM]),
        hb_eff_m=float(inter[_IV_HB_EFF]),
        hm_eff_m=float(inter[_IV_HM_EFF]),
        hb_eff_unclamped_m=float(inter[_IV_HB_EFF_RAW]),
        hm_eff_unclamped_m=float(inter[_IV_HM_EFF_RAW]),
        h_avg_m=(float(inter[_IV_H_AVG_MOBILE]), float(inter[_IV_H_AVG_BASE])),
        pfl10_m=float(inter[_IV_PFL10]),
        pfl50_m=float(inter[_IV_PFL50]),
        pfl90_m=float(inter[_IV_PFL90]),
        delta_h_m=float(inter[_IV_DELTA_H]),
        d_hzn_m=(float(inter[_IV_D_HZN_MOBILE]), float(inter[_IV_D_HZN_BASE])),
        theta_m_mrad=float(inter[_IV_THETA_M]),
        slope_max_mrad=float(inter[_IV_SLOPE_MAX]),
        slope_min_mrad=float(inter[_IV_SLOPE_MIN]),
        sea_fraction=float(inter[_IV_BETA]),
        sea_end=int(inter[_IV_SEA_END]),
        single_horizon=single,
        h_edge_m=float(inter[_IV_HEDGE]) if single else None,
        ridge_db=float(inter[_IV_K_RIDGE]),
        rolling_median_db=float(inter[_IV_K_ROLL_MEDIAN]),
        rolling_fine_db=float(inter[_IV_K_ROLL_FINE]),
        slope_db=float(inter[_IV_K_SLOPE]),
        mixed_path_db=float(inter[_IV_K_MIXED]),
    )


def ehata_db(
    freq_mhz: float,
    hb_m: float,
    hm_m: float,
    pfl: npt.NDArray[np.float64] | Sequence[float],
    environment: str | int = "urban_small_medium",
    reliability: float = 0.5,
    *,
    pfl_from: str = "mobile",
    strict: bool = False,
) -> float:
    """NTIA Extended Hata basic transmission loss, dB, over one terrain profile.

    Arguments as :func:`ehata_ex` (``pfl`` runs from the mobile to the base station
    unless ``pfl_from="base"``);
    validity (:data:`EHATA_RANGE`): 1500–3000 MHz, 1–100 km, effective heights
    30–200 m (base) and 1–10 m (mobile).
    """
    return ehata_ex(
        freq_mhz, hb_m, hm_m, pfl, environment, reliability, pfl_from=pfl_from, strict=strict
    ).loss_db


def ehata_batch(
    freq_mhz: float | ArrayLike,
    hb_m: float | ArrayLike,
    hm_m: float | ArrayLike,
    pfls: npt.NDArray[np.float64] | Sequence[npt.NDArray[np.float64] | Sequence[float]],
    environment: str | int | ArrayLike = "urban_small_medium",
    reliability: float | ArrayLike = 0.5,
    *,
    pfl_from: str = "mobile",
    strict: bool = False,
) -> EhataBatchResult:
    """eHata for many paths at once (numba, parallel over paths).

    ``pfls`` is a 2-D array ``(n_paths, max_len)`` whose row ``i`` is path ``i``'s PFL
    (mobile first, or base station first with ``pfl_from="base"``; its own
    ``n_points - 1`` says how much of the row is used; pad with NaN), or a list of 1-D
    PFLs of any lengths. Every other argument is a scalar or has
    one value per path. A non-finite elevation in a used part of a profile, or any
    argument NTIA cannot compute, raises (naming the path); with ``strict`` so does the
    first path outside :data:`EHATA_RANGE`; otherwise ``in_range`` marks them.
    """
    model = f"{MODEL} (batch)"
    reverse = _reverse(pfl_from)
    flat, starts, ends = _flatten_pfls(pfls, model=model)
    n = int(starts.shape[0])
    raw: dict[str, object] = {
        "freq_mhz": freq_mhz, "hb_m": hb_m, "hm_m": hm_m, "reliability": reliability,
    }  # fmt: skip
    args = _arguments(raw, model=model, n_paths=n)
    codes = _nlcd(environment)
    if codes.ndim > 1 or (codes.ndim == 1 and codes.size != n):
        raise PropagationRangeError(
            f"{model}: environment must be one name/code or one per path ({n}); "
            f"got shape {codes.shape}",
            column="environment",
        )
    env = np.ascontiguousarray(np.broadcast_to(codes, (n,)), dtype=np.int64)
    loss = np.empty(n)
    eff = np.full((n, 3), np.nan)
    nonfinite = np.zeros(n, dtype=np.bool_)
    _batch_kernel(
        flat, starts, ends, args["freq_mhz"], args["hb_m"], args["hm_m"], env,
        args["reliability"], reverse, loss, eff, nonfinite,
    )  # fmt: skip
    if nonfinite.any():
        i = int(np.flatnonzero(nonfinite)[0])
        raise PropagationRangeError(
            f"{model}: pfls[{i}] has non-finite elevations ({int(nonfinite.sum())} path(s) in all)"
        )
    values = {
        "f": args["freq_mhz"],
        "hb": args["hb_m"],
        "hm": args["hm_m"],
        "hb_eff": eff[:, 0],
        "hm_eff": eff[:, 1],
        "d": eff[:, 2],
    }
    bad = _out_of_range(values)
    in_range = np.ones(n, dtype=np.bool_)
    for mask in bad.values():
        in_range &= ~mask
    if strict and not in_range.all():
        _raise_out_of_range(bad, values, model=model, batch=True)
    return EhataBatchResult(
        loss_db=loss,
        in_range=in_range,
        hb_eff_unclamped_m=np.ascontiguousarray(eff[:, 0]),
        hm_eff_unclamped_m=np.ascontiguousarray(eff[:, 1]),
        d_km=np.ascontiguousarray(eff[:, 2]),
    )
