"""Longley–Rice Irregular Terrain Model (NTIA ITM v1.4), compiled with numba.

A translation of NTIA/ITS's public-domain reference implementation
(https://github.com/NTIA/itm, C++ ``src/*.cpp`` at commit 183ad95bd8, v1.4), written
as small ``@njit`` functions with no global mutable state. Equation tags in the
comments are NTIA's: [Algorithm] = Hufford, "The ITS Irregular Terrain Model,
version 1.2.2: The Algorithm" (1995); [TN101] = Rice et al., NBS Technical Note 101
(1967); [ERL 79-ITS 67] = Longley & Rice (1968); [Vogler 1964] = NBS J. Res. 68D.

Public functions (all losses are *basic transmission loss* in dB; heights are
structural heights above ground in metres; no coordinates, hence no CRS):

- :func:`itm_p2p_db` — point-to-point mode over a terrain profile (PFL);
- :func:`itm_area_db` — area mode (distance, terrain irregularity Δh, siting);
- :func:`itm_p2p_batch` / :func:`itm_p2p_batch_db` — many profiles at once (numba
  ``prange``), for the pipeline and the benchmark.

Terrain profiles use ITM's PFL layout ``[n_points - 1, step_m, elev_0 … elev_last]``
(elevations in metres above mean sea level, transmitter first).

Variability is given in time/location/situation (TLS) form. NTIA's
confidence/reliability (``ITM_*_CR``) functions are the TLS ones with
``time_pct = reliability``, ``location_pct = 50``, ``situation_pct = confidence``.
``mdvar`` is the mode of variability: 0 single message, 1 accidental, 2 mobile,
3 broadcast; +10 removes location variability, +20 removes situation variability.

Validity. NTIA answers out-of-range inputs in two tiers, and so does covgap:

- *errors* (NTIA return codes 1000–1022: e.g. frequency outside 20–20000 MHz, a
  height outside 0.5–3000 m, N_0 outside 250–400 N-units, a percentage outside
  (0, 100)) always raise :class:`~covgap.errors.PropagationRangeError`;
- *warnings* (NTIA's bit flags, e.g. frequency outside 40–10000 MHz, a height
  outside 1–1000 m, a path under 1 km, extreme horizon geometry) are returned in
  ``ItmResult.warnings``; with ``strict=True`` any warning raises instead, naming
  the argument (or the derived quantity), its value and the range.
"""

from __future__ import annotations

import cmath
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numba
import numpy as np
from numba import prange

from .errors import PropagationRangeError
from .propagation import cached_njit

__all__ = [
    "ERROR_MESSAGES",
    "MODE_DIFFRACTION",
    "MODE_LINE_OF_SIGHT",
    "MODE_TROPOSCATTER",
    "SITING_CAREFUL",
    "SITING_RANDOM",
    "SITING_VERY_CAREFUL",
    "WARNING_FLAGS",
    "ItmBatchResult",
    "ItmResult",
    "itm_area_db",
    "itm_p2p_batch",
    "itm_p2p_batch_db",
    "itm_p2p_db",
]

# --------------------------------------------------------------------------------------
# Constants (NTIA include/itm.h, Enums.h, Errors.h, Warnings.h)

PI = 3.1415926535897932384
SQRT2 = math.sqrt(2.0)
A_0_M = 6370e3  # actual earth radius used by Vogler's C_0, metres
A_9000_M = 9000e3  # 9000 km radius of the variability effective distance, metres
THIRD = 1.0 / 3.0
GAMMA_A_PER_M = 157e-9  # curvature of the actual earth, ~1 / 6370 km
WAVENUMBER_MHZ = 47.7  # k = f / 47.7 MHz, in 1/m
N_SCALE_HEIGHT_M = 9460.0  # refractivity scale height [TN101, Eq 4.3]

_MODE_P2P = 0
_MODE_AREA = 1

MODE_NOT_SET = 0
MODE_LINE_OF_SIGHT = 1
MODE_DIFFRACTION = 2
MODE_TROPOSCATTER = 3
MODE_NAMES = {
    MODE_NOT_SET: "not set",
    MODE_LINE_OF_SIGHT: "line of sight",
    MODE_DIFFRACTION: "diffraction",
    MODE_TROPOSCATTER: "troposcatter",
}

POLARIZATION_HORIZONTAL = 0
POLARIZATION_VERTICAL = 1

SITING_RANDOM = 0
SITING_CAREFUL = 1
SITING_VERY_CAREFUL = 2

MDVAR_SINGLE_MESSAGE = 0
MDVAR_ACCIDENTAL = 1
MDVAR_MOBILE = 2
MDVAR_BROADCAST = 3

SUCCESS = 0
SUCCESS_WITH_WARNINGS = 1
_CODE_NONFINITE_PROFILE = -1  # covgap's own batch code: a profile elevation is NaN/inf

ERROR_TX_TERMINAL_HEIGHT = 1000
ERROR_RX_TERMINAL_HEIGHT = 1001
ERROR_INVALID_RADIO_CLIMATE = 1002
ERROR_INVALID_TIME = 1003
ERROR_INVALID_LOCATION = 1004
ERROR_INVALID_SITUATION = 1005
ERROR_REFRACTIVITY = 1008
ERROR_FREQUENCY = 1009
ERROR_POLARIZATION = 1010
ERROR_EPSILON = 1011
ERROR_SIGMA = 1012
ERROR_GROUND_IMPEDANCE = 1013
ERROR_MDVAR = 1014
ERROR_EFFECTIVE_EARTH = 1016
ERROR_PATH_DISTANCE = 1017
ERROR_DELTA_H = 1018
ERROR_TX_SITING_CRITERIA = 1019
ERROR_RX_SITING_CRITERIA = 1020
ERROR_SURFACE_REFRACTIVITY_SMALL = 1021
ERROR_SURFACE_REFRACTIVITY_LARGE = 1022

#: NTIA return code → what it means (ERRORS_AND_WARNINGS.md).
ERROR_MESSAGES: dict[int, str] = {
    ERROR_TX_TERMINAL_HEIGHT: "h_tx_m is outside 0.5–3000 m",
    ERROR_RX_TERMINAL_HEIGHT: "h_rx_m is outside 0.5–3000 m",
    ERROR_INVALID_RADIO_CLIMATE: "climate is not one of 1–7",
    ERROR_INVALID_TIME: "time_pct is outside (0, 100)",
    ERROR_INVALID_LOCATION: "location_pct is outside (0, 100)",
    ERROR_INVALID_SITUATION: "situation_pct is outside (0, 100)",
    ERROR_REFRACTIVITY: "n_0_nunits is outside 250–400 N-units",
    ERROR_FREQUENCY: "freq_mhz is outside 20–20000 MHz",
    ERROR_POLARIZATION: "pol is not 0 (horizontal) or 1 (vertical)",
    ERROR_EPSILON: "epsilon is below 1",
    ERROR_SIGMA: "sigma_s_per_m is not positive",
    ERROR_GROUND_IMPEDANCE: (
        "the ground impedance's imaginary part is not smaller than its real part "
        "(epsilon too close to 1 for this sigma_s_per_m, freq_mhz and pol)"
    ),
    ERROR_MDVAR: "mdvar is not one of 0–3 plus 0, 10, 20 or 30",
    ERROR_EFFECTIVE_EARTH: "the effective earth radius is outside 4000–13333 km",
    ERROR_PATH_DISTANCE: "d_km is not positive",
    ERROR_DELTA_H: "delta_h_m is negative",
    ERROR_TX_SITING_CRITERIA: "tx_siting is not 0 (random), 1 (careful) or 2 (very careful)",
    ERROR_RX_SITING_CRITERIA: "rx_siting is not 0 (random), 1 (careful) or 2 (very careful)",
    ERROR_SURFACE_REFRACTIVITY_SMALL: (
        "the surface refractivity N_s (n_0_nunits scaled by the path's mean elevation) "
        "is below 150 N-units"
    ),
    ERROR_SURFACE_REFRACTIVITY_LARGE: "the surface refractivity N_s is above 400 N-units",
}

WARN_TX_TERMINAL_HEIGHT = 0x0001
WARN_RX_TERMINAL_HEIGHT = 0x0002
WARN_FREQUENCY = 0x0004
WARN_PATH_DISTANCE_TOO_BIG_1 = 0x0008
WARN_PATH_DISTANCE_TOO_BIG_2 = 0x0010
WARN_PATH_DISTANCE_TOO_SMALL_1 = 0x0020
WARN_PATH_DISTANCE_TOO_SMALL_2 = 0x0040
WARN_TX_HORIZON_ANGLE = 0x0080
WARN_RX_HORIZON_ANGLE = 0x0100
WARN_TX_HORIZON_DISTANCE_1 = 0x0200
WARN_RX_HORIZON_DISTANCE_1 = 0x0400
WARN_TX_HORIZON_DISTANCE_2 = 0x0800
WARN_RX_HORIZON_DISTANCE_2 = 0x1000
WARN_EXTREME_VARIABILITIES = 0x2000
WARN_SURFACE_REFRACTIVITY = 0x4000

#: NTIA warning bit → name (Warnings.h without the ``WARN__`` prefix).
WARNING_FLAGS: dict[int, str] = {
    WARN_TX_TERMINAL_HEIGHT: "TX_TERMINAL_HEIGHT",
    WARN_RX_TERMINAL_HEIGHT: "RX_TERMINAL_HEIGHT",
    WARN_FREQUENCY: "FREQUENCY",
    WARN_PATH_DISTANCE_TOO_BIG_1: "PATH_DISTANCE_TOO_BIG_1",
    WARN_PATH_DISTANCE_TOO_BIG_2: "PATH_DISTANCE_TOO_BIG_2",
    WARN_PATH_DISTANCE_TOO_SMALL_1: "PATH_DISTANCE_TOO_SMALL_1",
    WARN_PATH_DISTANCE_TOO_SMALL_2: "PATH_DISTANCE_TOO_SMALL_2",
    WARN_TX_HORIZON_ANGLE: "TX_HORIZON_ANGLE",
    WARN_RX_HORIZON_ANGLE: "RX_HORIZON_ANGLE",
    WARN_TX_HORIZON_DISTANCE_1: "TX_HORIZON_DISTANCE_1",
    WARN_RX_HORIZON_DISTANCE_1: "RX_HORIZON_DISTANCE_1",
    WARN_TX_HORIZON_DISTANCE_2: "TX_HORIZON_DISTANCE_2",
    WARN_RX_HORIZON_DISTANCE_2: "RX_HORIZON_DISTANCE_2",
    WARN_EXTREME_VARIABILITIES: "EXTREME_VARIABILITIES",
    WARN_SURFACE_REFRACTIVITY: "SURFACE_REFRACTIVITY",
}

# Variability tables, one entry per radio climate 1–7 ([TN101, Fig 10.13], [Algorithm,
# Table 5.1]); immutable tuples so numba freezes them as constants.
_V_MED_C1 = (-9.67, -0.62, 1.26, -9.21, -0.62, -0.39, 3.15)
_V_MED_C2 = (12.7, 9.19, 15.5, 9.05, 9.19, 2.86, 857.9)
_V_MED_X1 = (144.9e3, 228.9e3, 262.6e3, 84.1e3, 228.9e3, 141.7e3, 2222.0e3)
_V_MED_X2 = (190.3e3, 205.2e3, 185.2e3, 101.1e3, 205.2e3, 315.9e3, 164.8e3)
_V_MED_X3 = (133.8e3, 143.6e3, 99.8e3, 98.6e3, 143.6e3, 167.4e3, 116.3e3)

_BSM1 = (2.13, 2.66, 6.11, 1.98, 2.68, 6.86, 8.51)
_BSM2 = (159.5, 7.67, 6.65, 13.11, 7.16, 10.38, 169.8)
_XSM1 = (762.2e3, 100.4e3, 138.2e3, 139.1e3, 93.7e3, 187.8e3, 609.8e3)
_XSM2 = (123.6e3, 172.5e3, 242.2e3, 132.7e3, 186.8e3, 169.6e3, 119.9e3)
_XSM3 = (94.5e3, 136.4e3, 178.6e3, 193.5e3, 133.5e3, 108.9e3, 106.6e3)

_BSP1 = (2.11, 6.87, 10.08, 3.68, 4.75, 8.58, 8.43)
_BSP2 = (102.3, 15.53, 9.60, 159.3, 8.12, 13.97, 8.19)
_XSP1 = (636.9e3, 138.7e3, 165.3e3, 464.4e3, 93.2e3, 216.0e3, 136.2e3)
_XSP2 = (134.8e3, 143.7e3, 225.7e3, 93.1e3, 135.9e3, 152.0e3, 188.5e3)
_XSP3 = (95.6e3, 98.6e3, 129.7e3, 94.2e3, 113.4e3, 122.7e3, 122.9e3)

_C_D = (1.224, 0.801, 1.380, 1.000, 1.224, 1.518, 1.518)
_Z_D = (1.282, 2.161, 1.282, 20.0, 1.282, 1.282, 1.282)

_BFM1 = (1.0, 1.0, 1.0, 1.0, 0.92, 1.0, 1.0)
_BFM2 = (0.0, 0.0, 0.0, 0.0, 0.25, 0.0, 0.0)
_BFM3 = (0.0, 0.0, 0.0, 0.0, 1.77, 0.0, 0.0)

_BFP1 = (1.0, 0.93, 1.0, 0.93, 0.93, 1.0, 1.0)
_BFP2 = (0.0, 0.31, 0.0, 0.19, 0.31, 0.0, 0.0)
_BFP3 = (0.0, 2.00, 0.0, 1.79, 2.00, 0.0, 0.0)

# Troposcatter F(θd) coefficients [Algorithm, 6.9] and H_0 curves [Algorithm, 6.13].
_F_A = (133.4, 104.6, 71.8)
_F_B = (0.332e-3, 0.212e-3, 0.157e-3)
_F_C = (-10.0, -2.5, 5.0)
_H0_A = (25.0, 80.0, 177.0, 395.0, 705.0)
_H0_B = (24.0, 45.0, 68.0, 80.0, 105.0)

# Layout of the per-path intermediate-value array the kernels fill (NTIA's
# IntermediateValues struct plus the reference and free-space losses).
_IV_D_KM = 0
_IV_DELTA_H_M = 1
_IV_N_S = 2
_IV_H_E_TX_M = 3
_IV_H_E_RX_M = 4
_IV_D_HZN_TX_M = 5
_IV_D_HZN_RX_M = 6
_IV_THETA_HZN_TX = 7
_IV_THETA_HZN_RX = 8
_IV_A_REF_DB = 9
_IV_A_FS_DB = 10
_IV_SIZE = 11

#: Scratch floats of the Δh computation: its resampled profile of ≤ 245 points (PFL
#: layout) and 2 × 245 for the order statistics.
_DELTA_H_WORK = 3 * 245 + 2


# numba settings: error_model="numpy" keeps C semantics for x / 0 (inf/nan, no
# exception); no fastmath, so results match the double-precision C++ reference.
_njit = cached_njit(error_model="numpy")

#: Paths a thread takes at a time in the batch kernel (scratch is made once per block).
_BATCH_BLOCK = 8
#: Blocks a thread takes from the batch at a time (numba's dynamic scheduling).
_BATCH_CHUNK_BLOCKS = 4


@_njit
def _work_size(n_values: int) -> int:
    """Scratch floats one p2p path needs, for a PFL of ``n_values`` values (≥ its points)."""
    return _DELTA_H_WORK + 4 * n_values


# --------------------------------------------------------------------------------------
# Small helpers


@_njit
def _dim(x: float, y: float) -> float:
    """C ``fdim`` / NTIA ``DIM``: ``x − y`` if positive, else 0."""
    return x - y if x > y else 0.0


@_njit
def _inverse_ccdf(q: float) -> float:
    """Inverse complementary normal CDF, Abramowitz & Stegun 26.2.23 (NTIA's form)."""
    c_0 = 2.515516
    c_1 = 0.802853
    c_2 = 0.010328
    d_1 = 1.432788
    d_2 = 0.189269
    d_3 = 0.001308
    x = q
    if q > 0.5:
        x = 1.0 - x
    t_x = math.sqrt(-2.0 * math.log(x))
    zeta_x = ((c_2 * t_x + c_1) * t_x + c_0) / (((d_3 * t_x + d_2) * t_x + d_1) * t_x + 1.0)
    q_q = t_x - zeta_x
    if q > 0.5:
        q_q = -q_q
    return q_q


@_njit
def _free_space_loss_db(d_m: float, freq_mhz: float) -> float:
    """Free-space basic transmission loss, dB."""
    return 32.45 + 20.0 * math.log10(freq_mhz) + 20.0 * math.log10(d_m / 1000.0)


@_njit
def _terrain_roughness_m(d_m: float, delta_h_m: float) -> float:
    """Δh(d) [ERL 79-ITS 67, Eqn 3], distance in metres."""
    return delta_h_m * (1.0 - 0.8 * math.exp(-d_m / 50e3))


@_njit
def _sigma_h_m(delta_h_m: float) -> float:
    """RMS terrain deviation within the first Fresnel zone [ERL 79-ITS 67, Eqn 3.6a]."""
    return 0.78 * delta_h_m * math.exp(-0.5 * delta_h_m**0.25)


# --------------------------------------------------------------------------------------
# Validation and initialisation


@_njit
def _validate_inputs(
    h_tx_m: float,
    h_rx_m: float,
    climate: int,
    time_pct: float,
    location_pct: float,
    situation_pct: float,
    n_0: float,
    freq_mhz: float,
    pol: int,
    epsilon: float,
    sigma: float,
    mdvar: int,
) -> tuple[int, int]:
    """NTIA ValidateInputs: ``(return_code, warnings)``; code 0 means valid."""
    warnings = 0
    if h_tx_m < 1.0 or h_tx_m > 1000.0:
        warnings |= WARN_TX_TERMINAL_HEIGHT
    if h_tx_m < 0.5 or h_tx_m > 3000.0:
        return ERROR_TX_TERMINAL_HEIGHT, warnings
    if h_rx_m < 1.0 or h_rx_m > 1000.0:
        warnings |= WARN_RX_TERMINAL_HEIGHT
    if h_rx_m < 0.5 or h_rx_m > 3000.0:
        return ERROR_RX_TERMINAL_HEIGHT, warnings
    if climate < 1 or climate > 7:
        return ERROR_INVALID_RADIO_CLIMATE, warnings
    if n_0 < 250.0 or n_0 > 400.0:
        return ERROR_REFRACTIVITY, warnings
    if freq_mhz < 40.0 or freq_mhz > 10000.0:
        warnings |= WARN_FREQUENCY
    if freq_mhz < 20.0 or freq_mhz > 20000.0:
        return ERROR_FREQUENCY, warnings
    if pol != POLARIZATION_HORIZONTAL and pol != POLARIZATION_VERTICAL:
        return ERROR_POLARIZATION, warnings
    if epsilon < 1.0:
        return ERROR_EPSILON, warnings
    if sigma <= 0.0:
        return ERROR_SIGMA, warnings
    if (
        mdvar < 0
        or (mdvar > 3 and mdvar < 10)
        or (mdvar > 13 and mdvar < 20)
        or (mdvar > 23 and mdvar < 30)
        or mdvar > 33
    ):
        return ERROR_MDVAR, warnings
    if situation_pct <= 0.0 or situation_pct >= 100.0:
        return ERROR_INVALID_SITUATION, warnings
    if time_pct <= 0.0 or time_pct >= 100.0:
        return ERROR_INVALID_TIME, warnings
    if location_pct <= 0.0 or location_pct >= 100.0:
        return ERROR_INVALID_LOCATION, warnings
    return SUCCESS, warnings


@_njit
def _initialize_point_to_point(
    freq_mhz: float, h_sys_m: float, n_0: float, pol: int, epsilon: float, sigma: float
) -> tuple[complex, float, float]:
    """Ground impedance Z_g, effective earth curvature γ_e (1/m), surface refractivity N_s."""
    # sea-level refractivity scaled to the path's mean elevation [TN101, Eq 4.3]
    n_s = n_0 if h_sys_m == 0.0 else n_0 * math.exp(-h_sys_m / N_SCALE_HEIGHT_M)
    gamma_e = GAMMA_A_PER_M * (1.0 - 0.04665 * math.exp(n_s / 179.3))  # [TN101, Eq 4.4]
    ep_r = complex(epsilon, 18000.0 * sigma / freq_mhz)  # complex relative permittivity
    z_g = cmath.sqrt(ep_r - 1.0)  # horizontal polarisation
    if pol == POLARIZATION_VERTICAL:
        z_g = z_g / ep_r
    return z_g, gamma_e, n_s


@_njit
def _initialize_area(
    site_criteria: int, gamma_e: float, delta_h_m: float, h_m: float
) -> tuple[float, float, float]:
    """One terminal's effective height, horizon distance and horizon angle (area mode)."""
    if site_criteria == SITING_RANDOM:
        h_e_m = h_m
    else:
        b = 4.0 if site_criteria == SITING_CAREFUL else 9.0
        if h_m < 5.0:
            b = b * math.sin(0.1 * PI * h_m)
        # [Algorithm, Eqn 3.2]
        h_e_m = h_m + (1.0 + b) * math.exp(-min(20.0, 2.0 * h_m / max(1e-3, delta_h_m)))
    d_ls_m = math.sqrt(2.0 * h_e_m / gamma_e)
    h_3_m = 5.0
    d_hzn_m = d_ls_m * math.exp(-0.07 * math.sqrt(delta_h_m / max(h_e_m, h_3_m)))  # Eqn 3.3
    theta_hzn = (0.65 * delta_h_m * (d_ls_m / d_hzn_m - 1.0) - 2.0 * h_e_m) / d_ls_m  # Eqn 3.4
    return h_e_m, d_hzn_m, theta_hzn


# --------------------------------------------------------------------------------------
# Terrain profile analysis (PFL)


@_njit
def _find_horizons(
    pfl: np.ndarray, a_e_m: float, h_tx_m: float, h_rx_m: float, work: np.ndarray
) -> tuple[float, float, float, float]:
    """Horizon angles (rad) and distances (m) of both terminals: ``θ_tx, θ_rx, d_tx, d_rx``.

    The earth-curvature term ``d / (2 a_e)`` is computed as ``d · (0.5 / a_e)``: two
    divisions fewer per profile point, differing from NTIA only by floating-point
    rounding (about 1 ulp of the angle). In three passes over ``work`` (≥ 4 · n_points
    floats of scratch): the distances, accumulated as NTIA does (a chain of additions);
    the angles (independent divisions, which vectorise); the first largest angle of
    each end — the values and choices of NTIA's single loop. All NaN when an elevation
    is not finite (NaN or ±inf): the path cannot be computed.
    """
    n = int(pfl[0])
    xi = pfl[1]
    d_m = pfl[0] * pfl[1]
    half_curvature = 0.5 / a_e_m
    z_tx_m = pfl[2] + h_tx_m
    z_rx_m = pfl[n + 2] + h_rx_m
    # line-of-sight values first [TN101, Eq 6.15]
    theta_tx = (z_rx_m - z_tx_m) / d_m - d_m * half_curvature
    theta_rx = -(z_rx_m - z_tx_m) / d_m - d_m * half_curvature
    d_tx = work[0:n]
    d_rx = work[n : 2 * n]
    t_tx = work[2 * n : 3 * n]
    t_rx = work[3 * n : 4 * n]
    d_tx_m = 0.0
    d_rx_m = d_m
    for i in range(1, n):
        d_tx_m = d_tx_m + xi  # accumulated, as NTIA does (same distances to the bit)
        d_rx_m = d_rx_m - xi
        d_tx[i] = d_tx_m
        d_rx[i] = d_rx_m
    n_bad = 0
    for i in range(1, n):
        elev_m = pfl[i + 2]
        t_tx[i] = (elev_m - z_tx_m) / d_tx[i] - d_tx[i] * half_curvature
        t_rx[i] = -(z_rx_m - elev_m) / d_rx[i] - d_rx[i] * half_curvature
        n_bad += (elev_m - elev_m) != 0.0  # NaN or ±inf
    if n_bad or not (z_tx_m - z_tx_m == 0.0 and z_rx_m - z_rx_m == 0.0):
        return math.nan, math.nan, math.nan, math.nan
    i_tx = 0
    i_rx = 0
    for i in range(1, n):
        if t_tx[i] > theta_tx:
            theta_tx = t_tx[i]
            i_tx = i
        if t_rx[i] > theta_rx:
            theta_rx = t_rx[i]
            i_rx = i
    d_hzn_tx_m = d_tx[i_tx] if i_tx > 0 else d_m
    d_hzn_rx_m = d_rx[i_rx] if i_rx > 0 else d_m
    return theta_tx, theta_rx, d_hzn_tx_m, d_hzn_rx_m


@_njit
def _linear_least_squares_fit(pfl: np.ndarray, d_start: float, d_end: float) -> tuple[float, float]:
    """Least-squares line through ``pfl`` between two distances: heights at both ends."""
    n = int(pfl[0])
    i_start = int(_dim(d_start / pfl[1], 0.0))
    i_end = n - int(_dim(float(n), d_end / pfl[1]))
    if i_end <= i_start:
        i_start = int(_dim(float(i_start), 1.0))
        i_end = n - int(_dim(float(n), i_end + 1.0))
    x_length = float(i_end - i_start)
    mid_shifted_index = -0.5 * x_length
    mid_shifted_end = i_end + mid_shifted_index
    sum_y = 0.5 * (pfl[i_start + 2] + pfl[i_end + 2])
    scaled_sum_y = 0.5 * (pfl[i_start + 2] - pfl[i_end + 2]) * mid_shifted_index
    for _ in range(2, int(x_length) + 1):
        i_start += 1
        mid_shifted_index += 1.0
        sum_y += pfl[i_start + 2]
        scaled_sum_y += pfl[i_start + 2] * mid_shifted_index
    sum_y = sum_y / x_length
    scaled_sum_y = scaled_sum_y * 12.0 / ((x_length * x_length + 2.0) * x_length)
    fit_y1 = sum_y - scaled_sum_y * mid_shifted_end
    fit_y2 = sum_y + scaled_sum_y * (n - mid_shifted_end)
    return fit_y1, fit_y2


@_njit
def _select_kth(a: np.ndarray, k: int, lo: int, hi: int) -> float:
    """k-th smallest of ``a[lo:hi + 1]`` (0-based in ``a``), partially reordering ``a``.

    Quickselect (Hoare partition, median-of-three pivot), O(n) on average. On return
    every element left of ``k`` is ≤ ``a[k]`` and every one right of it is ≥ ``a[k]``.
    Order statistics are unique values, so this equals NTIA's ``nth_element`` exactly.
    """
    while hi > lo:
        mid = (lo + hi) // 2
        if a[mid] < a[lo]:
            a[mid], a[lo] = a[lo], a[mid]
        if a[hi] < a[lo]:
            a[hi], a[lo] = a[lo], a[hi]
        if a[hi] < a[mid]:
            a[hi], a[mid] = a[mid], a[hi]
        pivot = a[mid]
        i = lo
        j = hi
        while i <= j:
            while a[i] < pivot:
                i += 1
            while a[j] > pivot:
                j -= 1
            if i <= j:
                a[i], a[j] = a[j], a[i]
                i += 1
                j -= 1
        if k <= j:
            hi = j
        elif k >= i:
            lo = i
        else:
            return a[k]
    return a[k]


@_njit
def _kth_largest_and_smallest(a: np.ndarray, k: int, scratch: np.ndarray) -> tuple[float, float]:
    """The k-th largest and the k-th smallest of ``a`` (k ≤ a.size / 2); ``a`` is reordered.

    NTIA's two ``nth_element`` calls for the 10 % / 90 % points of ≤ 245 residuals,
    done Floyd–Rivest style: thresholds from a sorted sample of every 10th element,
    one branch-free pass copying the elements beyond them into ``scratch`` (≥ 2 a.size
    slots), then quickselect on those few; a side whose bucket holds fewer than k
    falls back to quickselect on all of ``a``. Order statistics are unique values, so
    the answers equal NTIA's exactly.
    """
    n = a.size
    m = n // 10  # sample size
    j = max(1, (m + 1) // 5)  # threshold rank in the sample, ~20 % from each end
    for r in range(m):  # insertion sort of the sample into scratch[0:m]
        v = a[10 * r + 5]
        pos = r
        while pos > 0 and scratch[pos - 1] > v:
            scratch[pos] = scratch[pos - 1]
            pos -= 1
        scratch[pos] = v
    t_hi = scratch[m - j] if m > 0 else -math.inf
    t_lo = scratch[j - 1] if m > 0 else math.inf
    n_hi = 0
    n_lo = 0
    for i in range(n):  # branch-free: always write, advance only when kept
        v = a[i]
        scratch[n_hi] = v
        n_hi += 1 if v >= t_hi else 0
        scratch[n + n_lo] = v
        n_lo += 1 if v <= t_lo else 0
    if n_hi >= k:
        q_hi = _select_kth(scratch, n_hi - k, 0, n_hi - 1)
    else:
        q_hi = _select_kth(a, n - k, 0, n - 1)
    if n_lo >= k:
        q_lo = _select_kth(scratch, n + k - 1, n, n + n_lo - 1)
    else:
        q_lo = _select_kth(a, k - 1, 0, n - 1)
    return q_hi, q_lo


@_njit
def _compute_delta_h_m(
    pfl: np.ndarray, d_start_m: float, d_end_m: float, work: np.ndarray
) -> float:
    """Terrain irregularity Δh (m): interdecile range of the residuals about a fitted line.

    ``work``: at least :data:`_DELTA_H_WORK` floats of scratch.
    """
    n_pfl = int(pfl[0])
    x_start = d_start_m / pfl[1]
    x_end = d_end_m / pfl[1]
    if x_end - x_start < 2.0:
        return 0.0
    p10 = int(0.1 * (x_end - x_start + 8.0))
    p10 = min(max(4, p10), 25)  # 10 % index
    n = 10 * p10 - 5
    np_s = float(n - 1)
    s = work[: 3 * n + 2]  # resampled profile (PFL layout), then 2n of scratch
    s[0] = np_s
    s[1] = 1.0
    x_end = (x_end - x_start) / np_s
    i = int(x_start)
    x_start -= float(i + 1)
    for j in range(n):
        while x_start > 0.0 and (i + 1) < n_pfl:
            x_start -= 1.0
            i += 1
        s[j + 2] = pfl[i + 3] + (pfl[i + 3] - pfl[i + 2]) * x_start
        x_start += x_end
    fit_y1, fit_y2 = _linear_least_squares_fit(s, 0.0, np_s)
    fit_y2 = (fit_y2 - fit_y1) / np_s
    diffs = s[2 : n + 2]  # residuals about the fitted line, in place of the samples
    for j in range(n):
        diffs[j] = s[j + 2] - fit_y1
        fit_y1 += fit_y2
    # NTIA ranks descending (nth_element, std::greater): q10 is the p10-th largest,
    # q90 the (p90 + 1)-th largest with p90 = n - p10, i.e. the p10-th smallest
    q10, q90 = _kth_largest_and_smallest(diffs, p10, s[n + 2 :])
    delta_h_d_m = q10 - q90
    # [ERL 79-ITS 67, Eqn 3], inverted
    return delta_h_d_m / (1.0 - 0.8 * math.exp(-(d_end_m - d_start_m) / 50e3))


@_njit
def _quick_pfl(
    pfl: np.ndarray, gamma_e: float, h_tx_m: float, h_rx_m: float, work: np.ndarray
) -> tuple[float, float, float, float, float, float, float, float]:
    """Path parameters from the profile (``work``: :func:`_work_size` floats of scratch).

    Returns ``θ_tx, θ_rx, d_hzn_tx_m, d_hzn_rx_m, h_e_tx_m, h_e_rx_m, Δh_m, d_m``; all but
    ``d_m`` NaN when an elevation is not finite.
    """
    d_m = pfl[0] * pfl[1]
    n = int(pfl[0])
    a_e_m = 1.0 / gamma_e
    theta_tx, theta_rx, d_hzn_tx, d_hzn_rx = _find_horizons(
        pfl, a_e_m, h_tx_m, h_rx_m, work[_DELTA_H_WORK:]
    )
    if math.isnan(theta_tx):  # a non-finite elevation
        return theta_tx, theta_rx, d_hzn_tx, d_hzn_rx, math.nan, math.nan, math.nan, d_m
    # terrain considered from 15 tower heights or 10 % of the horizon distance [Hufford 1982]
    d_start_m = min(15.0 * h_tx_m, 0.1 * d_hzn_tx)
    d_end_m = d_m - min(15.0 * h_rx_m, 0.1 * d_hzn_rx)
    delta_h_m = _compute_delta_h_m(pfl, d_start_m, d_end_m, work)

    if d_hzn_tx + d_hzn_rx > 1.5 * d_m:
        # well within line of sight
        fit_tx, fit_rx = _linear_least_squares_fit(pfl, d_start_m, d_end_m)
        h_e_tx = h_tx_m + _dim(pfl[2], fit_tx)
        h_e_rx = h_rx_m + _dim(pfl[n + 2], fit_rx)
        d_hzn_tx = math.sqrt(2.0 * h_e_tx * a_e_m) * math.exp(
            -0.07 * math.sqrt(delta_h_m / max(h_e_tx, 5.0))
        )
        d_hzn_rx = math.sqrt(2.0 * h_e_rx * a_e_m) * math.exp(
            -0.07 * math.sqrt(delta_h_m / max(h_e_rx, 5.0))
        )
        combined_m = d_hzn_tx + d_hzn_rx
        if combined_m <= d_m:
            q = (d_m / combined_m) ** 2
            h_e_tx = h_e_tx * q
            h_e_rx = h_e_rx * q
            d_hzn_tx = math.sqrt(2.0 * h_e_tx * a_e_m) * math.exp(
                -0.07 * math.sqrt(delta_h_m / max(h_e_tx, 5.0))
            )
            d_hzn_rx = math.sqrt(2.0 * h_e_rx * a_e_m) * math.exp(
                -0.07 * math.sqrt(delta_h_m / max(h_e_rx, 5.0))
            )
        q = math.sqrt(2.0 * h_e_tx * a_e_m)
        theta_tx = (0.65 * delta_h_m * (q / d_hzn_tx - 1.0) - 2.0 * h_e_tx) / q
        q = math.sqrt(2.0 * h_e_rx * a_e_m)
        theta_rx = (0.65 * delta_h_m * (q / d_hzn_rx - 1.0) - 2.0 * h_e_rx) / q
    else:
        fit_tx, _unused = _linear_least_squares_fit(pfl, d_start_m, 0.9 * d_hzn_tx)
        h_e_tx = h_tx_m + _dim(pfl[2], fit_tx)
        _unused, fit_rx = _linear_least_squares_fit(pfl, d_m - 0.9 * d_hzn_rx, d_end_m)
        h_e_rx = h_rx_m + _dim(pfl[n + 2], fit_rx)
    return theta_tx, theta_rx, d_hzn_tx, d_hzn_rx, h_e_tx, h_e_rx, delta_h_m, d_m


# --------------------------------------------------------------------------------------
# Diffraction


@_njit
def _fresnel_integral_db(v2: float) -> float:
    """Knife-edge loss for ``v²`` [TN101v2, Eqn III.24b/c]."""
    if v2 < 5.76:  # v < 2.4
        return 6.02 + 9.11 * math.sqrt(v2) - 1.27 * v2
    return 12.953 + 10.0 * math.log10(v2)


@_njit
def _knife_edge_diffraction_db(
    d_m: float, freq_mhz: float, a_e_m: float, theta_los: float, d_hzn_tx: float, d_hzn_rx: float
) -> float:
    """Double knife-edge diffraction loss [TN101, Eqn I.1, I.7]."""
    d_ml_m = d_hzn_tx + d_hzn_rx
    theta_nlos = d_m / a_e_m - theta_los  # [Algorithm, Eqn 4.12]
    d_nlos_m = d_m - d_ml_m
    # 1 / (4 pi) = 0.0795775
    k = 0.0795775 * (freq_mhz / WAVENUMBER_MHZ) * theta_nlos**2 * d_nlos_m
    v_1 = k * d_hzn_tx / (d_nlos_m + d_hzn_tx)
    v_2 = k * d_hzn_rx / (d_nlos_m + d_hzn_rx)
    return _fresnel_integral_db(v_1) + _fresnel_integral_db(v_2)


@_njit
def _height_function_db(x_km: float, k: float) -> float:
    """Height-gain function F(x, K) for smooth-earth diffraction [Vogler 1964]."""
    if x_km < 200.0:
        w = -math.log(k)
        if k < 1e-5 or x_km * w**3 > 5495.0:
            result = -117.0
            if x_km > 1.0:
                result = 17.372 * math.log(x_km) + result
        else:
            result = 2.5e-5 * x_km**2 / k - 8.686 * w - 15.0
    else:
        result = 0.05751 * x_km - 4.343 * math.log(x_km)
        if x_km < 2000.0:
            w = 0.0134 * x_km * math.exp(-0.005 * x_km)
            result = (1.0 - w) * result + w * (17.372 * math.log(x_km) - 117.0)
    return result


@_njit
def _smooth_earth_diffraction_db(
    d_m: float,
    freq_mhz: float,
    a_e_m: float,
    theta_los: float,
    d_hzn_tx: float,
    d_hzn_rx: float,
    h_e_tx: float,
    h_e_rx: float,
    z_g: complex,
) -> float:
    """Smooth-earth diffraction loss, three-radius method [Vogler 1964], [Algorithm, 4.20]."""
    theta_nlos = d_m / a_e_m - theta_los
    d_ml_m = d_hzn_tx + d_hzn_rx
    # three radii: diffraction path, and each terminal's [Vogler 1964, Eqn 3] re-arranged
    a_0 = (d_m - d_ml_m) / (d_m / a_e_m - theta_los)
    a_1 = 0.5 * d_hzn_tx**2 / h_e_tx
    a_2 = 0.5 * d_hzn_rx**2 / h_e_rx
    d_0_km = (a_0 * theta_nlos) / 1000.0
    d_1_km = d_hzn_tx / 1000.0
    d_2_km = d_hzn_rx / 1000.0
    abs_z_g = abs(z_g)
    f_third = freq_mhz**THIRD
    f_minus_third = freq_mhz ** (-THIRD)
    # C_0 = (4 / 3k)^(1/3) [Vogler 1964, Eqn 2]; K [Eqn 6a/7a]; B_0 [Fig 4]
    c_0 = ((4.0 / 3.0) * A_0_M / a_0) ** THIRD
    c_1 = ((4.0 / 3.0) * A_0_M / a_1) ** THIRD
    c_2 = ((4.0 / 3.0) * A_0_M / a_2) ** THIRD
    k_0 = 0.017778 * c_0 * f_minus_third / abs_z_g
    k_1 = 0.017778 * c_1 * f_minus_third / abs_z_g
    k_2 = 0.017778 * c_2 * f_minus_third / abs_z_g
    b_0 = 1.607 - k_0
    b_1 = 1.607 - k_1
    b_2 = 1.607 - k_2
    x_1 = b_1 * c_1**2 * f_third * d_1_km
    x_2 = b_2 * c_2**2 * f_third * d_2_km
    x_0 = b_0 * c_0**2 * f_third * d_0_km + x_1 + x_2
    f_x_1 = _height_function_db(x_1, k_1)
    f_x_2 = _height_function_db(x_2, k_2)
    g_x = 0.05751 * x_0 - 10.0 * math.log10(x_0)  # [TN101, Eqn 8.4]
    return g_x - f_x_1 - f_x_2 - 20.0


@_njit
def _diffraction_loss_db(
    d_m: float,
    d_hzn_tx: float,
    d_hzn_rx: float,
    h_e_tx: float,
    h_e_rx: float,
    z_g: complex,
    a_e_m: float,
    delta_h_m: float,
    h_tx_m: float,
    h_rx_m: float,
    mode: int,
    theta_los: float,
    d_sml_m: float,
    freq_mhz: float,
) -> float:
    """Diffraction loss: weighted knife-edge and smooth-earth plus clutter [ERL 79-ITS 67]."""
    a_k = _knife_edge_diffraction_db(d_m, freq_mhz, a_e_m, theta_los, d_hzn_tx, d_hzn_rx)
    a_se = _smooth_earth_diffraction_db(
        d_m, freq_mhz, a_e_m, theta_los, d_hzn_tx, d_hzn_rx, h_e_tx, h_e_rx, z_g
    )
    # terrain clutter, roughness at d_sML [ERL 79-ITS 67, page 3-13, Eqn 3.38c]
    sigma_h_d = _sigma_h_m(_terrain_roughness_m(d_sml_m, delta_h_m))
    a_fo = min(15.0, 5.0 * math.log10(1.0 + 1e-5 * h_tx_m * h_rx_m * freq_mhz * sigma_h_d))
    delta_h_d = _terrain_roughness_m(d_m, delta_h_m)
    q = h_tx_m * h_rx_m
    qk = h_e_tx * h_e_rx - q
    if mode == _MODE_P2P:
        q += 10.0  # C ~= 10 for low antennas with known path [ERL 79-ITS 67, page 3-8]
    term1 = math.sqrt(1.0 + qk / q)  # [ERL 79-ITS 67, Eqn 3.23]
    d_ml_m = d_hzn_tx + d_hzn_rx
    q = (term1 + (-theta_los * a_e_m + d_ml_m) / d_m) * min(
        delta_h_d * freq_mhz / WAVENUMBER_MHZ, 6283.2
    )
    w = 25.1 / (25.1 + math.sqrt(q))  # [ERL 79-ITS 67, Eqn 3.23]
    return w * a_se + (1.0 - w) * a_k + a_fo


# --------------------------------------------------------------------------------------
# Line of sight


@_njit
def _line_of_sight_loss_db(
    d_m: float,
    h_e_tx: float,
    h_e_rx: float,
    z_g: complex,
    delta_h_m: float,
    m_d: float,
    a_d0: float,
    d_sml_m: float,
    freq_mhz: float,
) -> float:
    """Two-ray line-of-sight loss blended with the extended diffraction line [Algorithm, 4.4x]."""
    sigma_h_d = _sigma_h_m(_terrain_roughness_m(d_m, delta_h_m))
    wn = freq_mhz / WAVENUMBER_MHZ
    h_sum = h_e_tx + h_e_rx
    sin_psi = h_sum / math.sqrt(d_m**2 + h_sum**2)  # [Algorithm, Eqn 4.46]
    r_e = (sin_psi - z_g) / (sin_psi + z_g) * math.exp(-min(10.0, wn * sigma_h_d * sin_psi))
    q = r_e.real**2 + r_e.imag**2  # [Algorithm, Eqn 4.48]
    if q < 0.25 or q < sin_psi:
        r_e = r_e * math.sqrt(sin_psi / q)
    delta_phi = wn * 2.0 * h_e_tx * h_e_rx / d_m  # [Algorithm, Eqn 4.49]
    if delta_phi > PI / 2.0:  # [Algorithm, Eqn 4.50]
        delta_phi = PI - (PI / 2.0) ** 2 / delta_phi
    rr = complex(math.cos(delta_phi), -math.sin(delta_phi)) + r_e
    a_t = -10.0 * math.log10(rr.real**2 + rr.imag**2)
    a_d = m_d * d_m + a_d0  # extended diffraction line
    w = 1.0 / (1.0 + freq_mhz * delta_h_m / max(10e3, d_sml_m))
    return w * a_t + (1.0 - w) * a_d


# --------------------------------------------------------------------------------------
# Troposcatter


@_njit
def _f_function_db(td: float) -> float:
    """F(θd) [Algorithm, 6.9]."""
    if td <= 10e3:
        i = 0
    elif td <= 70e3:
        i = 1
    else:
        i = 2
    return _F_A[i] + _F_B[i] * td + _F_C[i] * math.log10(td)


@_njit
def _h0_curve_db(j: int, r: float) -> float:
    """One H_0 curve [Algorithm, 6.13]."""
    return 10.0 * math.log10(1.0 + _H0_A[j] * (1.0 / r) ** 4 + _H0_B[j] * (1.0 / r) ** 2)


@_njit
def _h0_function_db(r: float, eta_s: float) -> float:
    """Troposcatter frequency gain H_0(r, η_s) [TN101v1, Ch 9.2], interpolated in η_s."""
    eta_s = min(max(eta_s, 1.0), 5.0)
    i = int(eta_s)
    q = eta_s - i
    result = _h0_curve_db(i - 1, r)
    if q != 0.0:
        result = (1.0 - q) * result + q * _h0_curve_db(i, r)
    return result


@_njit
def _troposcatter_loss_db(
    d_m: float,
    theta_tx: float,
    theta_rx: float,
    d_hzn_tx: float,
    d_hzn_rx: float,
    h_e_tx: float,
    h_e_rx: float,
    a_e_m: float,
    n_s: float,
    freq_mhz: float,
    theta_los: float,
    h0_in: float,
) -> tuple[float, float]:
    """Troposcatter loss [Algorithm, 4.63]; returns ``(loss_db, H_0)``.

    ``h0_in`` is the H_0 of the previous call (−1 before the first), as NTIA threads it.
    """
    wn = freq_mhz / WAVENUMBER_MHZ
    if h0_in > 15.0:  # short-circuit when already above 15 dB
        h_0 = h0_in
    else:
        ad = d_hzn_tx - d_hzn_rx
        rr = h_e_rx / h_e_tx
        if ad < 0.0:
            ad = -ad
            rr = 1.0 / rr
        theta = theta_tx + theta_rx + d_m / a_e_m  # angular distance, rad
        r_1 = 2.0 * wn * theta * h_e_tx  # [TN101, Eqn 9.4a]
        r_2 = 2.0 * wn * theta * h_e_rx
        if r_1 < 0.2 and r_2 < 0.2:
            return 1001.0, h0_in  # A_scat undefined [Algorithm, page 11]
        s = (d_m - ad) / (d_m + ad)  # asymmetry parameter
        q = min(max(0.1, rr / s), 10.0)  # [TN101, Eqn 9.5]
        s = max(0.1, s)
        h_0_m = (d_m - ad) * (d_m + ad) * theta * 0.25 / d_m  # cross-over height [4.66]
        z_0_m = 1.7556e3  # scale height [Algorithm, 4.67]
        z_1_m = 8.0e3
        eta_s = (h_0_m / z_0_m) * (
            1.0
            + (0.031 - n_s * 2.32e-3 + n_s**2 * 5.67e-6) * math.exp(-(min(1.7, h_0_m / z_1_m) ** 6))
        )  # [TN101, Eqn 9.3a]
        h_00 = (_h0_function_db(r_1, eta_s) + _h0_function_db(r_2, eta_s)) / 2.0
        delta_h_0 = min(
            h_00, 6.0 * (0.6 - math.log10(max(eta_s, 1.0))) * math.log10(s) * math.log10(q)
        )
        h_0 = max(h_00 + delta_h_0, 0.0)  # [TN101v1, p9.4]
        if eta_s < 1.0:  # interpolate with the η_s = 0 case
            h_0 = eta_s * h_0 + (1.0 - eta_s) * 10.0 * math.log10(
                ((1.0 + SQRT2 / r_1) * (1.0 + SQRT2 / r_2)) ** 2
                * (r_1 + r_2)
                / (r_1 + r_2 + 2.0 * SQRT2)
            )
        if h_0 > 15.0 and h0_in >= 0.0:  # [Algorithm, page 12]
            h_0 = h0_in
    th = d_m / a_e_m - theta_los
    d_0_m = 40e3  # [Algorithm, 6.8]
    h_m = 47.7  # [Algorithm, 4.63]
    loss = (
        _f_function_db(th * d_m)
        + 10.0 * math.log10(wn * h_m * th**4)
        - 0.1 * (n_s - 301.0) * math.exp(-th * d_m / d_0_m)
        + h_0
    )
    return loss, h_0


# --------------------------------------------------------------------------------------
# Reference attenuation


@_njit
def _longley_rice(
    theta_tx: float,
    theta_rx: float,
    freq_mhz: float,
    z_g: complex,
    d_hzn_tx: float,
    d_hzn_rx: float,
    h_e_tx: float,
    h_e_rx: float,
    gamma_e: float,
    n_s: float,
    delta_h_m: float,
    h_tx_m: float,
    h_rx_m: float,
    d_m: float,
    mode: int,
) -> tuple[int, float, int, int]:
    """Reference attenuation below free space: ``(return_code, A_ref_db, warnings, propmode)``."""
    warnings = 0
    a_e_m = 1.0 / gamma_e
    d_hzn_s_tx = math.sqrt(2.0 * h_e_tx * a_e_m)  # smooth-earth horizon distances
    d_hzn_s_rx = math.sqrt(2.0 * h_e_rx * a_e_m)
    d_sml_m = d_hzn_s_tx + d_hzn_s_rx  # maximum smooth-earth line-of-sight distance
    d_ml_m = d_hzn_tx + d_hzn_rx  # maximum line-of-sight distance of the path
    theta_los = -max(theta_tx + theta_rx, -d_ml_m / a_e_m)

    if abs(theta_tx) > 200e-3:
        warnings |= WARN_TX_HORIZON_ANGLE
    if abs(theta_rx) > 200e-3:
        warnings |= WARN_RX_HORIZON_ANGLE
    if d_hzn_tx < 0.1 * d_hzn_s_tx:
        warnings |= WARN_TX_HORIZON_DISTANCE_1
    if d_hzn_rx < 0.1 * d_hzn_s_rx:
        warnings |= WARN_RX_HORIZON_DISTANCE_1
    if d_hzn_tx > 3.0 * d_hzn_s_tx:
        warnings |= WARN_TX_HORIZON_DISTANCE_2
    if d_hzn_rx > 3.0 * d_hzn_s_rx:
        warnings |= WARN_RX_HORIZON_DISTANCE_2

    if n_s < 150.0:
        return ERROR_SURFACE_REFRACTIVITY_SMALL, 0.0, warnings, MODE_NOT_SET
    if n_s > 400.0:
        return ERROR_SURFACE_REFRACTIVITY_LARGE, 0.0, warnings, MODE_NOT_SET
    if n_s < 250.0:
        warnings |= WARN_SURFACE_REFRACTIVITY
    if a_e_m < 4000000.0 or a_e_m > 13333333.0:
        return ERROR_EFFECTIVE_EARTH, 0.0, warnings, MODE_NOT_SET
    if z_g.real <= abs(z_g.imag):
        return ERROR_GROUND_IMPEDANCE, 0.0, warnings, MODE_NOT_SET

    # two distances far into the diffraction region, and the diffraction line through them
    scale_m = (a_e_m**2 / freq_mhz) ** THIRD
    d_3_m = max(d_sml_m, d_ml_m + 5.0 * scale_m)
    d_4_m = d_3_m + 10.0 * scale_m
    a_3 = _diffraction_loss_db(
        d_3_m, d_hzn_tx, d_hzn_rx, h_e_tx, h_e_rx, z_g, a_e_m, delta_h_m,
        h_tx_m, h_rx_m, mode, theta_los, d_sml_m, freq_mhz,
    )  # fmt: skip
    a_4 = _diffraction_loss_db(
        d_4_m, d_hzn_tx, d_hzn_rx, h_e_tx, h_e_rx, z_g, a_e_m, delta_h_m,
        h_tx_m, h_rx_m, mode, theta_los, d_sml_m, freq_mhz,
    )  # fmt: skip
    m_d = (a_4 - a_3) / (d_4_m - d_3_m)
    a_d0 = a_3 - m_d * d_3_m

    d_min_m = abs(h_e_tx - h_e_rx) / 200e-3
    if d_m < d_min_m:
        warnings |= WARN_PATH_DISTANCE_TOO_SMALL_1
    if d_m < 1e3:
        warnings |= WARN_PATH_DISTANCE_TOO_SMALL_2
    if d_m > 1000e3:
        warnings |= WARN_PATH_DISTANCE_TOO_BIG_1
    if d_m > 2000e3:
        warnings |= WARN_PATH_DISTANCE_TOO_BIG_2

    if d_m < d_sml_m:
        # line of sight
        a_sml = d_sml_m * m_d + a_d0
        d_0_m = 0.04 * freq_mhz * h_e_tx * h_e_rx  # [ERL 79-ITS 67, Eqn 3.16a]
        if a_d0 >= 0.0:
            d_0_m = min(d_0_m, 0.5 * d_ml_m)
            d_1_m = d_0_m + 0.25 * (d_ml_m - d_0_m)  # [ERL 79-ITS 67, Eqn 3.16d]
        else:
            d_1_m = max(-a_d0 / m_d, 0.25 * d_ml_m)
        a_1 = _line_of_sight_loss_db(
            d_1_m, h_e_tx, h_e_rx, z_g, delta_h_m, m_d, a_d0, d_sml_m, freq_mhz
        )
        flag = False
        k_hat_1 = 0.0
        k_hat_2 = 0.0
        if d_0_m < d_1_m:
            a_0 = _line_of_sight_loss_db(
                d_0_m, h_e_tx, h_e_rx, z_g, delta_h_m, m_d, a_d0, d_sml_m, freq_mhz
            )
            q = math.log(d_sml_m / d_0_m)
            # [ERL 79-ITS 67, Eqn 3.20]
            k_hat_2 = max(
                0.0,
                ((d_sml_m - d_0_m) * (a_1 - a_0) - (d_1_m - d_0_m) * (a_sml - a_0))
                / ((d_sml_m - d_0_m) * math.log(d_1_m / d_0_m) - (d_1_m - d_0_m) * q),
            )
            flag = a_d0 > 0.0 or k_hat_2 > 0.0
            if flag:
                # [ERL 79-ITS 67, Eqn 3.21]
                k_hat_1 = (a_sml - a_0 - k_hat_2 * q) / (d_sml_m - d_0_m)
                if k_hat_1 < 0.0:
                    k_hat_1 = 0.0
                    k_hat_2 = _dim(a_sml, a_0) / q
                    if k_hat_2 == 0.0:
                        k_hat_1 = m_d
        if not flag:
            k_hat_1 = _dim(a_sml, a_1) / (d_sml_m - d_1_m)
            k_hat_2 = 0.0
            if k_hat_1 == 0.0:
                k_hat_1 = m_d
        a_o = a_sml - k_hat_1 * d_sml_m - k_hat_2 * math.log(d_sml_m)
        a_ref = a_o + k_hat_1 * d_m + k_hat_2 * math.log(d_m)  # [ERL 79-ITS 67, Eqn 3.19]
        propmode = MODE_LINE_OF_SIGHT
    else:
        # trans-horizon: two distances far into the troposcatter region
        d_5_m = d_ml_m + 200e3
        d_6_m = d_ml_m + 400e3
        a_6, h0 = _troposcatter_loss_db(
            d_6_m, theta_tx, theta_rx, d_hzn_tx, d_hzn_rx, h_e_tx, h_e_rx,
            a_e_m, n_s, freq_mhz, theta_los, -1.0,
        )  # fmt: skip
        a_5, h0 = _troposcatter_loss_db(
            d_5_m, theta_tx, theta_rx, d_hzn_tx, d_hzn_rx, h_e_tx, h_e_rx,
            a_e_m, n_s, freq_mhz, theta_los, h0,
        )  # fmt: skip
        if a_5 < 1000.0:
            m_s = (a_6 - a_5) / 200e3
            d_x_m = max(
                max(d_sml_m, d_ml_m + 1.088 * scale_m * math.log(freq_mhz)),
                (a_5 - a_d0 - m_s * d_5_m) / (m_d - m_s),
            )
            a_s0 = (m_d - m_s) * d_x_m + a_d0
        else:
            # troposcatter undefined: the diffraction line stands in for it
            m_s = m_d
            a_s0 = a_d0
            d_x_m = 10e6
        if d_m > d_x_m:
            a_ref = m_s * d_m + a_s0
            propmode = MODE_TROPOSCATTER
        else:
            a_ref = m_d * d_m + a_d0
            propmode = MODE_DIFFRACTION

    return SUCCESS, max(a_ref, 0.0), warnings, propmode


# --------------------------------------------------------------------------------------
# Variability


@_njit
def _curve(c1: float, c2: float, x1: float, x2: float, x3: float, d_e_m: float) -> float:
    """Climate curve shape [TN101v2, Eqn III.69/70]."""
    r = (d_e_m / x1) ** 2
    return (c1 + c2 / (1.0 + ((d_e_m - x2) / x3) ** 2)) * r / (1.0 + r)


@_njit
def _variability_db(
    time_pct: float,
    location_pct: float,
    situation_pct: float,
    h_e_tx: float,
    h_e_rx: float,
    delta_h_m: float,
    freq_mhz: float,
    d_m: float,
    a_ref_db: float,
    climate: int,
    mdvar: int,
) -> tuple[float, int]:
    """Attenuation below free space at the requested quantiles, ``(A_db, warnings)``."""
    warnings = 0
    z_t = _inverse_ccdf(time_pct / 100.0)
    z_l = _inverse_ccdf(location_pct / 100.0)
    z_s = _inverse_ccdf(situation_pct / 100.0)
    c = climate - 1
    wn = freq_mhz / WAVENUMBER_MHZ

    # effective distance [Algorithm, Eqn 5.3]
    d_ex_m = (
        math.sqrt(2.0 * A_9000_M * h_e_tx)
        + math.sqrt(2.0 * A_9000_M * h_e_rx)
        + (575.7e12 / wn) ** THIRD
    )
    d_e_m = 130e3 * d_m / d_ex_m if d_m < d_ex_m else 130e3 + d_m - d_ex_m

    # situation variability; +20 removes it [Hufford 1982]
    mdvar_internal = mdvar
    plus20 = mdvar_internal >= 20
    if plus20:
        mdvar_internal -= 20
        sigma_s = 0.0
    else:
        sigma_s = 5.0 + 3.0 * math.exp(-d_e_m / 100e3)  # [Algorithm, Eqn 5.10]
    plus10 = mdvar_internal >= 10
    if plus10:
        mdvar_internal -= 10

    v_med = _curve(_V_MED_C1[c], _V_MED_C2[c], _V_MED_X1[c], _V_MED_X2[c], _V_MED_X3[c], d_e_m)

    if mdvar_internal == MDVAR_SINGLE_MESSAGE:
        z_t = z_s
        z_l = z_s
    elif mdvar_internal == MDVAR_ACCIDENTAL:
        z_l = z_s
    elif mdvar_internal == MDVAR_MOBILE:
        z_l = z_t
    if abs(z_t) > 3.10 or abs(z_l) > 3.10 or abs(z_s) > 3.10:
        warnings |= WARN_EXTREME_VARIABILITIES

    # location variability; +10 removes it
    if plus10:
        sigma_l = 0.0
    else:
        delta_h_d = _terrain_roughness_m(d_m, delta_h_m)
        sigma_l = 10.0 * wn * delta_h_d / (wn * delta_h_d + 13.0)  # [Algorithm, Eqn 5.9]
    y_l = sigma_l * z_l

    # time variability
    q = math.log(0.133 * wn)
    g_minus = _BFM1[c] + _BFM2[c] / ((_BFM3[c] * q) ** 2 + 1.0)
    g_plus = _BFP1[c] + _BFP2[c] / ((_BFP3[c] * q) ** 2 + 1.0)
    sigma_t_minus = _curve(_BSM1[c], _BSM2[c], _XSM1[c], _XSM2[c], _XSM3[c], d_e_m) * g_minus
    sigma_t_plus = _curve(_BSP1[c], _BSP2[c], _XSP1[c], _XSP2[c], _XSP3[c], d_e_m) * g_plus
    sigma_td = _C_D[c] * sigma_t_plus
    tgtd = (sigma_t_plus - sigma_td) * _Z_D[c]
    if z_t < 0.0:
        sigma_t = sigma_t_minus
    elif z_t <= _Z_D[c]:
        sigma_t = sigma_t_plus
    else:
        sigma_t = sigma_td + tgtd / z_t
    y_t = sigma_t * z_t

    y_s_temp = sigma_s**2 + y_t**2 / (7.8 + z_s**2) + y_l**2 / (24.0 + z_s**2)  # Eqn 5.11
    if mdvar_internal == MDVAR_SINGLE_MESSAGE:
        y_r = 0.0
        y_s = math.sqrt(sigma_t**2 + sigma_l**2 + y_s_temp) * z_s
    elif mdvar_internal == MDVAR_ACCIDENTAL:
        y_r = y_t
        y_s = math.sqrt(sigma_l**2 + y_s_temp) * z_s
    elif mdvar_internal == MDVAR_MOBILE:
        y_r = math.sqrt(sigma_t**2 + sigma_l**2) * z_t
        y_s = math.sqrt(y_s_temp) * z_s
    else:  # broadcast
        y_r = y_t + y_l
        y_s = math.sqrt(y_s_temp) * z_s

    result = a_ref_db - v_med - y_r - y_s
    if result < 0.0:  # [Algorithm, Eqn 52]
        result = result * (29.0 - result) / (29.0 - 10.0 * result)
    return result, warnings


# --------------------------------------------------------------------------------------
# Drivers (ITM_P2P_TLS_Ex, ITM_AREA_TLS_Ex)


@_njit
def _reference_to_loss(
    path: tuple[float, float, float, complex, float, float, float, float, float, float, float,
                float, float, float, int],
    climate: int, mdvar: int, time_pct: float, location_pct: float, situation_pct: float,
    warnings: int, inter: np.ndarray,
) -> tuple[int, float, int, int]:  # fmt: skip
    """From the path parameters to the loss, the part p2p and area mode share: reference
    attenuation (``path``: :func:`_longley_rice`'s arguments), variability and free
    space; fills ``inter``. Returns ``(return_code, loss_db, warnings, propmode)``."""
    theta_tx, theta_rx, freq_mhz, _, d_hzn_tx, d_hzn_rx, h_e_tx, h_e_rx = path[:8]
    n_s, delta_h_m, d_m = path[9], path[10], path[13]
    rtn, a_ref, lr_warnings, propmode = _longley_rice(*path)
    warnings |= lr_warnings
    inter[_IV_DELTA_H_M] = delta_h_m
    inter[_IV_N_S] = n_s
    inter[_IV_H_E_TX_M] = h_e_tx
    inter[_IV_H_E_RX_M] = h_e_rx
    inter[_IV_D_HZN_TX_M] = d_hzn_tx
    inter[_IV_D_HZN_RX_M] = d_hzn_rx
    inter[_IV_THETA_HZN_TX] = theta_tx
    inter[_IV_THETA_HZN_RX] = theta_rx
    if rtn != SUCCESS:
        return rtn, math.nan, warnings, MODE_NOT_SET
    a_fs = _free_space_loss_db(d_m, freq_mhz)
    a_var, var_warnings = _variability_db(
        time_pct, location_pct, situation_pct, h_e_tx, h_e_rx, delta_h_m,
        freq_mhz, d_m, a_ref, climate, mdvar,
    )  # fmt: skip
    warnings |= var_warnings
    inter[_IV_A_REF_DB] = a_ref
    inter[_IV_A_FS_DB] = a_fs
    rtn = SUCCESS_WITH_WARNINGS if warnings != 0 else SUCCESS
    return rtn, a_var + a_fs, warnings, propmode


@_njit
def _p2p_kernel(
    pfl: np.ndarray,
    h_tx_m: float,
    h_rx_m: float,
    climate: int,
    n_0: float,
    freq_mhz: float,
    pol: int,
    epsilon: float,
    sigma: float,
    mdvar: int,
    time_pct: float,
    location_pct: float,
    situation_pct: float,
    inter: np.ndarray,
    work: np.ndarray,
) -> tuple[int, float, int, int]:
    """One p2p path: ``(return_code, loss_db, warnings, propmode)``; fills ``inter``
    (``work``: :func:`_work_size` floats of scratch)."""
    rtn, warnings = _validate_inputs(
        h_tx_m, h_rx_m, climate, time_pct, location_pct, situation_pct,
        n_0, freq_mhz, pol, epsilon, sigma, mdvar,
    )  # fmt: skip
    if rtn != SUCCESS:
        return rtn, math.nan, warnings, MODE_NOT_SET
    inter[_IV_D_KM] = (pfl[0] * pfl[1]) / 1000.0
    n = int(pfl[0])
    # mean path elevation, ignoring the first and last 10 %
    p10 = int(0.1 * n)
    h_sys_m = 0.0
    for i in range(p10, n - p10 + 1):
        h_sys_m += pfl[i + 2]
    h_sys_m = h_sys_m / (n - 2 * p10 + 1)

    z_g, gamma_e, n_s = _initialize_point_to_point(freq_mhz, h_sys_m, n_0, pol, epsilon, sigma)
    theta_tx, theta_rx, d_hzn_tx, d_hzn_rx, h_e_tx, h_e_rx, delta_h_m, d_m = _quick_pfl(
        pfl, gamma_e, h_tx_m, h_rx_m, work
    )
    if math.isnan(theta_tx):
        return _CODE_NONFINITE_PROFILE, math.nan, warnings, MODE_NOT_SET
    path = (
        theta_tx, theta_rx, freq_mhz, z_g, d_hzn_tx, d_hzn_rx, h_e_tx, h_e_rx, gamma_e,
        n_s, delta_h_m, h_tx_m, h_rx_m, d_m, _MODE_P2P,
    )  # fmt: skip
    return _reference_to_loss(
        path, climate, mdvar, time_pct, location_pct, situation_pct, warnings, inter
    )


@_njit
def _area_kernel(
    h_tx_m: float,
    h_rx_m: float,
    tx_siting: int,
    rx_siting: int,
    d_km: float,
    delta_h_m: float,
    climate: int,
    n_0: float,
    freq_mhz: float,
    pol: int,
    epsilon: float,
    sigma: float,
    mdvar: int,
    time_pct: float,
    location_pct: float,
    situation_pct: float,
    inter: np.ndarray,
) -> tuple[int, float, int, int]:
    """One area-mode prediction: ``(return_code, loss_db, warnings, propmode)``."""
    rtn, warnings = _validate_inputs(
        h_tx_m, h_rx_m, climate, time_pct, location_pct, situation_pct,
        n_0, freq_mhz, pol, epsilon, sigma, mdvar,
    )  # fmt: skip
    if rtn != SUCCESS:
        return rtn, math.nan, warnings, MODE_NOT_SET
    if d_km <= 0.0:
        return ERROR_PATH_DISTANCE, math.nan, warnings, MODE_NOT_SET
    if delta_h_m < 0.0:
        return ERROR_DELTA_H, math.nan, warnings, MODE_NOT_SET
    if tx_siting < SITING_RANDOM or tx_siting > SITING_VERY_CAREFUL:
        return ERROR_TX_SITING_CRITERIA, math.nan, warnings, MODE_NOT_SET
    if rx_siting < SITING_RANDOM or rx_siting > SITING_VERY_CAREFUL:
        return ERROR_RX_SITING_CRITERIA, math.nan, warnings, MODE_NOT_SET
    inter[_IV_D_KM] = d_km
    z_g, gamma_e, n_s = _initialize_point_to_point(freq_mhz, 0.0, n_0, pol, epsilon, sigma)
    h_e_tx, d_hzn_tx, theta_tx = _initialize_area(tx_siting, gamma_e, delta_h_m, h_tx_m)
    h_e_rx, d_hzn_rx, theta_rx = _initialize_area(rx_siting, gamma_e, delta_h_m, h_rx_m)
    d_m = d_km * 1000.0
    path = (
        theta_tx, theta_rx, freq_mhz, z_g, d_hzn_tx, d_hzn_rx, h_e_tx, h_e_rx, gamma_e,
        n_s, delta_h_m, h_tx_m, h_rx_m, d_m, _MODE_AREA,
    )  # fmt: skip
    return _reference_to_loss(
        path, climate, mdvar, time_pct, location_pct, situation_pct, warnings, inter
    )


@cached_njit(error_model="numpy", parallel=True)
def _p2p_batch_kernel(
    flat: np.ndarray,
    starts: np.ndarray,
    ends: np.ndarray,
    h_tx_m: np.ndarray,
    h_rx_m: np.ndarray,
    climate: np.ndarray,
    n_0: np.ndarray,
    freq_mhz: np.ndarray,
    pol: np.ndarray,
    epsilon: np.ndarray,
    sigma: np.ndarray,
    mdvar: np.ndarray,
    time_pct: np.ndarray,
    location_pct: np.ndarray,
    situation_pct: np.ndarray,
    out_loss_db: np.ndarray,
    out_warnings: np.ndarray,
    out_code: np.ndarray,
    out_mode: np.ndarray,
) -> None:
    """Many p2p paths in parallel; path ``i``'s PFL is ``flat[starts[i]:ends[i]]``.

    A path whose used elevations are not all finite gets code
    ``_CODE_NONFINITE_PROFILE`` (found by the horizon pass, before the rest is computed).
    Paths go to the threads in blocks of :data:`_BATCH_BLOCK`, each with its own scratch.
    """
    n_paths = starts.shape[0]
    n_blocks = (n_paths + _BATCH_BLOCK - 1) // _BATCH_BLOCK
    width = 0
    for i in range(n_paths):
        width = max(width, ends[i] - starts[i])
    for b in prange(n_blocks):
        inter = np.empty(_IV_SIZE)
        work = np.empty(_work_size(width))
        for i in range(b * _BATCH_BLOCK, min(n_paths, (b + 1) * _BATCH_BLOCK)):
            rtn, loss, warnings, mode = _p2p_kernel(
                flat[starts[i] : ends[i]], h_tx_m[i], h_rx_m[i], climate[i], n_0[i],
                freq_mhz[i], pol[i], epsilon[i], sigma[i], mdvar[i], time_pct[i],
                location_pct[i], situation_pct[i], inter, work,
            )  # fmt: skip
            out_loss_db[i] = loss
            out_warnings[i] = warnings
            out_code[i] = rtn
            out_mode[i] = mode


# --------------------------------------------------------------------------------------
# Public API


@dataclass(frozen=True)
class ItmResult:
    """One ITM prediction (NTIA's ``*_Ex`` outputs).

    ``loss_db`` is the basic transmission loss; ``warnings`` NTIA's warning bits
    (:data:`WARNING_FLAGS`); ``return_code`` 0 (SUCCESS) or 1 (SUCCESS_WITH_WARNINGS);
    ``mode`` 1 line of sight, 2 diffraction, 3 troposcatter. The rest are NTIA's
    intermediate values (terminal pairs are ``(tx, rx)``).
    """

    loss_db: float
    warnings: int
    return_code: int
    mode: int
    d_km: float
    delta_h_m: float
    n_s_nunits: float
    h_e_m: tuple[float, float]
    d_hzn_m: tuple[float, float]
    theta_hzn_rad: tuple[float, float]
    a_ref_db: float
    a_fs_db: float

    @property
    def warning_names(self) -> tuple[str, ...]:
        """Names of the warning bits set, in bit order."""
        return tuple(name for bit, name in WARNING_FLAGS.items() if self.warnings & bit)

    @property
    def mode_name(self) -> str:
        """``line of sight``, ``diffraction`` or ``troposcatter``."""
        return MODE_NAMES.get(self.mode, "unknown")

    @property
    def extrapolated(self) -> bool:
        """True when NTIA flagged any warning (the result needs care)."""
        return self.warnings != 0


@dataclass(frozen=True)
class ItmBatchResult:
    """Many p2p predictions, aligned with the input paths (arrays of length n_paths)."""

    loss_db: np.ndarray  # float64, basic transmission loss
    warnings: np.ndarray  # int64, NTIA warning bits
    mode: np.ndarray  # int64, 1 LOS / 2 diffraction / 3 troposcatter


_PCT_RANGE = "0 < value < 100 %"

# Argument checks mirroring NTIA's error codes: (name, NTIA code, allowed range).
_ARG_CHECKS: tuple[tuple[str, int, str], ...] = (
    ("h_tx_m", ERROR_TX_TERMINAL_HEIGHT, "0.5–3000 m"),
    ("h_rx_m", ERROR_RX_TERMINAL_HEIGHT, "0.5–3000 m"),
    ("climate", ERROR_INVALID_RADIO_CLIMATE, "an integer 1–7"),
    ("n_0_nunits", ERROR_REFRACTIVITY, "250–400 N-units"),
    ("freq_mhz", ERROR_FREQUENCY, "20–20000 MHz"),
    ("pol", ERROR_POLARIZATION, "0 (horizontal) or 1 (vertical)"),
    ("epsilon", ERROR_EPSILON, "≥ 1"),
    ("sigma_s_per_m", ERROR_SIGMA, "> 0 S/m"),
    ("mdvar", ERROR_MDVAR, "0–3, 10–13, 20–23 or 30–33"),
    ("situation_pct", ERROR_INVALID_SITUATION, _PCT_RANGE),
    ("time_pct", ERROR_INVALID_TIME, _PCT_RANGE),
    ("location_pct", ERROR_INVALID_LOCATION, _PCT_RANGE),
    ("d_km", ERROR_PATH_DISTANCE, "> 0 km"),
    ("delta_h_m", ERROR_DELTA_H, "≥ 0 m"),
    ("tx_siting", ERROR_TX_SITING_CRITERIA, "0 (random), 1 (careful) or 2 (very careful)"),
    ("rx_siting", ERROR_RX_SITING_CRITERIA, "0 (random), 1 (careful) or 2 (very careful)"),
)


def _bad_mask(name: str, x: np.ndarray) -> np.ndarray:
    """True where ``x`` breaks NTIA's error range for argument ``name`` (or is not finite)."""
    with np.errstate(invalid="ignore"):
        bad = ~np.isfinite(x)
        if name in ("h_tx_m", "h_rx_m"):
            bad |= (x < 0.5) | (x > 3000.0)
        elif name == "climate":
            bad |= (x < 1) | (x > 7) | (x != np.round(x))
        elif name == "n_0_nunits":
            bad |= (x < 250.0) | (x > 400.0)
        elif name == "freq_mhz":
            bad |= (x < 20.0) | (x > 20000.0)
        elif name == "pol":
            bad |= (x != 0) & (x != 1)
        elif name == "epsilon":
            bad |= x < 1.0
        elif name == "sigma_s_per_m":
            bad |= x <= 0.0
        elif name == "mdvar":
            base = np.mod(x, 10)
            bad |= (x < 0) | (x > 33) | (base > 3) | (x != np.round(x))
        elif name == "d_km":
            bad |= x <= 0.0
        elif name == "delta_h_m":
            bad |= x < 0.0
        elif name in ("tx_siting", "rx_siting"):
            bad |= (x != SITING_RANDOM) & (x != SITING_CAREFUL) & (x != SITING_VERY_CAREFUL)
        else:  # percentages
            bad |= (x <= 0.0) | (x >= 100.0)
    return np.asarray(bad)


def _numeric_args(
    raw: Mapping[str, object], *, model: str, n_paths: int | None = None
) -> dict[str, np.ndarray]:
    """Arguments as float64 arrays: length 1 (``n_paths`` None: scalars only) or n_paths."""
    args: dict[str, np.ndarray] = {}
    for name, value in raw.items():
        try:
            v = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            raise PropagationRangeError(f"{model}: {name}={value!r} is not a number") from None
        if n_paths is None:
            if v.ndim != 0:
                raise PropagationRangeError(
                    f"{model}: {name} must be a single number; got shape {v.shape} "
                    "(use itm_p2p_batch for many paths)"
                )
            args[name] = v.reshape(1)
        else:
            if v.ndim > 1 or (v.ndim == 1 and v.size != n_paths):
                raise PropagationRangeError(
                    f"{model}: {name} must be a scalar or have one value per path "
                    f"({n_paths}); got shape {v.shape}"
                )
            args[name] = np.array(np.broadcast_to(v, (n_paths,)), dtype=np.float64)
    return args


def _check_arguments(args: Mapping[str, np.ndarray], *, model: str, batch: bool = False) -> None:
    """Raise one PropagationRangeError listing every argument outside NTIA's error ranges."""
    problems: list[str] = []
    for name, code, range_text in _ARG_CHECKS:
        if name not in args:
            continue
        x = args[name]
        bad = _bad_mask(name, x)
        if bad.any():
            first = int(np.flatnonzero(bad)[0])
            where = f" (path {first}, {int(bad.sum())} path(s) in all)" if batch else ""
            problems.append(
                f"{name}={_fmt(x[first])}{where} is outside NTIA ITM's allowed range "
                f"{range_text} (NTIA error {code})"
            )
    if problems:
        raise PropagationRangeError(f"{model}: " + "; ".join(problems))


def _fmt(value: float | np.floating | np.integer) -> str:
    """Short repr of a number for messages."""
    v = float(value)
    if not math.isfinite(v):
        return str(v)
    return str(int(v)) if v.is_integer() and abs(v) < 1e15 else f"{v:.6g}"


def _as_pfl(pfl: np.ndarray | Sequence[float], *, model: str, label: str = "pfl") -> np.ndarray:
    """Check one PFL array ``[n_points - 1, step_m, elev_0 … elev_last]``; return float64."""
    arr = np.asarray(pfl, dtype=np.float64)
    if arr.ndim != 1 or arr.size < 4:
        raise PropagationRangeError(
            f"{model}: {label} must be a 1-D PFL array [n_points - 1, step_m, elevation_m …] "
            f"with at least 2 elevations; got shape {arr.shape}"
        )
    _check_pfl_header(arr[0], arr[1], arr.size, model=model, label=label)
    n = int(arr[0])
    if not np.isfinite(arr[2 : n + 3]).all():
        raise PropagationRangeError(f"{model}: {label} has non-finite elevations")
    return arr


def _check_pfl_header(
    n_intervals: float, step_m: float, size: int, *, model: str, label: str
) -> None:
    """The PFL's interval count must be a whole number ≥ 1 that fits; the step positive."""
    if not (np.isfinite(n_intervals) and n_intervals >= 1 and float(n_intervals).is_integer()):
        raise PropagationRangeError(
            f"{model}: {label}[0] (n_points - 1) must be a whole number ≥ 1; "
            f"got {_fmt(n_intervals) if np.isfinite(n_intervals) else n_intervals}"
        )
    if int(n_intervals) + 3 > size:
        raise PropagationRangeError(
            f"{model}: {label}[0] = {int(n_intervals)} says {int(n_intervals) + 1} elevations "
            f"but the array holds {size - 2}"
        )
    if not (np.isfinite(step_m) and step_m > 0.0):
        raise PropagationRangeError(
            f"{model}: {label}[1] (step_m) must be a positive distance in metres; got {step_m}"
        )


def _raise_kernel_error(code: int, *, model: str, detail: str = "") -> None:
    """Raise PropagationRangeError for an NTIA return code ≥ 1000."""
    what = ERROR_MESSAGES.get(code, "unknown NTIA error")
    raise PropagationRangeError(f"{model}: NTIA ITM error {code}: {what}{detail}")


def _warning_reasons(
    warnings: int,
    *,
    h_tx_m: float,
    h_rx_m: float,
    freq_mhz: float,
    mdvar: int,
    time_pct: float,
    location_pct: float,
    situation_pct: float,
    inter: np.ndarray,
) -> list[str]:
    """One sentence per warning bit set, naming the argument or quantity, value and range."""
    reasons: list[str] = []
    d_km = float(inter[_IV_D_KM])
    n_s = float(inter[_IV_N_S])
    gamma_e = GAMMA_A_PER_M * (1.0 - 0.04665 * math.exp(n_s / 179.3))
    h_e = (float(inter[_IV_H_E_TX_M]), float(inter[_IV_H_E_RX_M]))
    d_hzn = (float(inter[_IV_D_HZN_TX_M]), float(inter[_IV_D_HZN_RX_M]))
    theta = (float(inter[_IV_THETA_HZN_TX]), float(inter[_IV_THETA_HZN_RX]))
    d_hzn_s = tuple(math.sqrt(2.0 * h / gamma_e) for h in h_e)
    if warnings & WARN_TX_TERMINAL_HEIGHT:
        reasons.append(f"h_tx_m={_fmt(h_tx_m)} is outside ITM's validity range 1–1000 m")
    if warnings & WARN_RX_TERMINAL_HEIGHT:
        reasons.append(f"h_rx_m={_fmt(h_rx_m)} is outside ITM's validity range 1–1000 m")
    if warnings & WARN_FREQUENCY:
        reasons.append(f"freq_mhz={_fmt(freq_mhz)} is outside ITM's validity range 40–10000 MHz")
    if warnings & WARN_PATH_DISTANCE_TOO_BIG_1:
        reasons.append(f"path distance {d_km:.6g} km is beyond ITM's 1000 km")
    if warnings & WARN_PATH_DISTANCE_TOO_BIG_2:
        reasons.append(f"path distance {d_km:.6g} km is beyond 2000 km")
    if warnings & WARN_PATH_DISTANCE_TOO_SMALL_1:
        d_min_km = abs(h_e[0] - h_e[1]) / 0.2 / 1000.0
        reasons.append(
            f"path distance {d_km:.6g} km is below |h_e_tx − h_e_rx| / 0.2 = {d_min_km:.6g} km"
        )
    if warnings & WARN_PATH_DISTANCE_TOO_SMALL_2:
        reasons.append(f"path distance {d_km:.6g} km is below ITM's 1 km")
    for k, end, angle_bit, short_bit, long_bit in (
        (0, "TX", WARN_TX_HORIZON_ANGLE, WARN_TX_HORIZON_DISTANCE_1, WARN_TX_HORIZON_DISTANCE_2),
        (1, "RX", WARN_RX_HORIZON_ANGLE, WARN_RX_HORIZON_DISTANCE_1, WARN_RX_HORIZON_DISTANCE_2),
    ):
        if warnings & angle_bit:
            reasons.append(
                f"{end} horizon angle {theta[k]:.4g} rad exceeds ±0.2 rad "
                "(small-angle approximation)"
            )
        if warnings & short_bit:
            reasons.append(
                f"{end} horizon distance {d_hzn[k]:.6g} m is under 1/10 of the smooth-earth "
                f"horizon distance {d_hzn_s[k]:.6g} m"
            )
        if warnings & long_bit:
            reasons.append(
                f"{end} horizon distance {d_hzn[k]:.6g} m is over 3 times the smooth-earth "
                f"horizon distance {d_hzn_s[k]:.6g} m"
            )
    if warnings & WARN_EXTREME_VARIABILITIES:
        used = {"situation_pct": situation_pct}
        base = mdvar % 10
        if base != MDVAR_SINGLE_MESSAGE:
            used["time_pct"] = time_pct
        if base == MDVAR_BROADCAST:
            used["location_pct"] = location_pct
        far = [
            f"{name}={_fmt(v)}"
            for name, v in used.items()
            if abs(float(_inverse_ccdf(v / 100.0))) > 3.10
        ]
        reasons.append(
            f"{', '.join(far)} lies beyond 3.10 standard deviations "
            "(ITM's validity range is about 0.1–99.9 %)"
        )
    if warnings & WARN_SURFACE_REFRACTIVITY:
        reasons.append(
            f"surface refractivity N_s={n_s:.6g} N-units (n_0_nunits scaled by the path's mean "
            "elevation) is below 250"
        )
    return reasons


def _result_from(
    code: int, loss_db: float, warnings: int, mode: int, inter: np.ndarray
) -> ItmResult:
    return ItmResult(
        loss_db=float(loss_db),
        warnings=int(warnings),
        return_code=int(code),
        mode=int(mode),
        d_km=float(inter[_IV_D_KM]),
        delta_h_m=float(inter[_IV_DELTA_H_M]),
        n_s_nunits=float(inter[_IV_N_S]),
        h_e_m=(float(inter[_IV_H_E_TX_M]), float(inter[_IV_H_E_RX_M])),
        d_hzn_m=(float(inter[_IV_D_HZN_TX_M]), float(inter[_IV_D_HZN_RX_M])),
        theta_hzn_rad=(float(inter[_IV_THETA_HZN_TX]), float(inter[_IV_THETA_HZN_RX])),
        a_ref_db=float(inter[_IV_A_REF_DB]),
        a_fs_db=float(inter[_IV_A_FS_DB]),
    )


def itm_p2p_db(
    pfl: np.ndarray | Sequence[float],
    h_tx_m: float,
    h_rx_m: float,
    freq_mhz: float,
    *,
    climate: int = 5,
    n_0_nunits: float = 301.0,
    pol: int = 1,
    epsilon: float = 15.0,
    sigma_s_per_m: float = 0.005,
    mdvar: int = 12,
    time_pct: float = 50.0,
    location_pct: float = 50.0,
    situation_pct: float = 50.0,
    strict: bool = False,
) -> ItmResult:
    """ITM point-to-point basic transmission loss over a terrain profile (NTIA ITM_P2P_TLS).

    ``pfl`` is ``[n_points - 1, step_m, elev_0 … elev_last]`` (metres, transmitter first);
    ``h_tx_m``/``h_rx_m`` structural heights above ground (m); ``climate`` 1–7 (1
    equatorial … 5 continental temperate … 7 maritime temperate over sea); ``n_0_nunits``
    sea-level refractivity, scaled here by the path's mean elevation as NTIA does;
    ``pol`` 0 horizontal / 1 vertical; ``epsilon`` relative permittivity;
    ``sigma_s_per_m`` ground conductivity; ``mdvar`` mode of variability (default 12:
    mobile, no location variability — the p2p convention); percentages in (0, 100).

    Raises PropagationRangeError for NTIA's errors (always) and for any NTIA warning
    when ``strict`` (validity range: heights 1–1000 m, 40–10000 MHz, 1–2000 km …).
    """
    model = "ITM point-to-point"
    arr = _as_pfl(pfl, model=model)
    args = _numeric_args(
        {
            "h_tx_m": h_tx_m,
            "h_rx_m": h_rx_m,
            "climate": climate,
            "n_0_nunits": n_0_nunits,
            "freq_mhz": freq_mhz,
            "pol": pol,
            "epsilon": epsilon,
            "sigma_s_per_m": sigma_s_per_m,
            "mdvar": mdvar,
            "time_pct": time_pct,
            "location_pct": location_pct,
            "situation_pct": situation_pct,
        },
        model=model,
    )
    _check_arguments(args, model=model)
    v = {name: float(a[0]) for name, a in args.items()}
    inter = np.full(_IV_SIZE, np.nan)
    code, loss, warnings, mode = _p2p_kernel(
        arr, v["h_tx_m"], v["h_rx_m"], int(v["climate"]), v["n_0_nunits"], v["freq_mhz"],
        int(v["pol"]), v["epsilon"], v["sigma_s_per_m"], int(v["mdvar"]), v["time_pct"],
        v["location_pct"], v["situation_pct"], inter, np.empty(_work_size(arr.size)),
    )  # fmt: skip
    if code >= ERROR_TX_TERMINAL_HEIGHT:
        _raise_kernel_error(code, model=model, detail=_kernel_error_detail(code, inter, v))
    if strict and warnings:
        _raise_strict(model, warnings, v, inter)
    return _result_from(code, loss, warnings, mode, inter)


def itm_area_db(
    d_km: float,
    h_tx_m: float,
    h_rx_m: float,
    tx_siting: int,
    rx_siting: int,
    delta_h_m: float,
    freq_mhz: float,
    *,
    climate: int = 5,
    n_0_nunits: float = 301.0,
    pol: int = 1,
    epsilon: float = 15.0,
    sigma_s_per_m: float = 0.005,
    mdvar: int = 12,
    time_pct: float = 50.0,
    location_pct: float = 50.0,
    situation_pct: float = 50.0,
    strict: bool = False,
) -> ItmResult:
    """ITM area-mode basic transmission loss (NTIA ITM_AREA_TLS).

    ``d_km`` path distance (> 0); ``tx_siting``/``rx_siting`` 0 random, 1 careful,
    2 very careful; ``delta_h_m`` terrain irregularity Δh (≥ 0; 0 flat/water, 30
    plains, 90 hills, 200 mountains, 500 rugged mountains); other arguments as in
    :func:`itm_p2p_db` (N_0 is not elevation-scaled in area mode, as in NTIA).
    """
    model = "ITM area"
    args = _numeric_args(
        {
            "d_km": d_km,
            "h_tx_m": h_tx_m,
            "h_rx_m": h_rx_m,
            "tx_siting": tx_siting,
            "rx_siting": rx_siting,
            "delta_h_m": delta_h_m,
            "freq_mhz": freq_mhz,
            "climate": climate,
            "n_0_nunits": n_0_nunits,
            "pol": pol,
            "epsilon": epsilon,
            "sigma_s_per_m": sigma_s_per_m,
            "mdvar": mdvar,
            "time_pct": time_pct,
            "location_pct": location_pct,
            "situation_pct": situation_pct,
        },
        model=model,
    )
    _check_arguments(args, model=model)
    v = {name: float(a[0]) for name, a in args.items()}
    inter = np.full(_IV_SIZE, np.nan)
    code, loss, warnings, mode = _area_kernel(
        v["h_tx_m"], v["h_rx_m"], int(v["tx_siting"]), int(v["rx_siting"]), v["d_km"],
        v["delta_h_m"], int(v["climate"]), v["n_0_nunits"], v["freq_mhz"], int(v["pol"]),
        v["epsilon"], v["sigma_s_per_m"], int(v["mdvar"]), v["time_pct"],
        v["location_pct"], v["situation_pct"], inter,
    )  # fmt: skip
    if code >= ERROR_TX_TERMINAL_HEIGHT:
        _raise_kernel_error(code, model=model, detail=_kernel_error_detail(code, inter, v))
    if strict and warnings:
        _raise_strict(model, warnings, v, inter)
    return _result_from(code, loss, warnings, mode, inter)


def _kernel_error_detail(code: int, inter: np.ndarray, v: Mapping[str, float]) -> str:
    """Values behind an error the kernel found (derived quantities, not arguments)."""
    if code in (ERROR_SURFACE_REFRACTIVITY_SMALL, ERROR_SURFACE_REFRACTIVITY_LARGE):
        return (
            f" (N_s={float(inter[_IV_N_S]):.6g} N-units from "
            f"n_0_nunits={_fmt(v['n_0_nunits'])}; allowed 150–400)"
        )
    if code == ERROR_GROUND_IMPEDANCE:
        return (
            f" (epsilon={_fmt(v['epsilon'])}, sigma_s_per_m={_fmt(v['sigma_s_per_m'])}, "
            f"freq_mhz={_fmt(v['freq_mhz'])}, pol={_fmt(v['pol'])})"
        )
    return ""


def _raise_strict(
    model: str, warnings: int, v: Mapping[str, float], inter: np.ndarray, where: str = ""
) -> None:
    """Raise PropagationRangeError listing every NTIA warning set (``strict=True``)."""
    reasons = _warning_reasons(
        warnings,
        h_tx_m=v["h_tx_m"],
        h_rx_m=v["h_rx_m"],
        freq_mhz=v["freq_mhz"],
        mdvar=int(v["mdvar"]),
        time_pct=v["time_pct"],
        location_pct=v["location_pct"],
        situation_pct=v["situation_pct"],
        inter=inter,
    )
    raise PropagationRangeError(
        f"{model}{where}: outside the model's validity range (NTIA warnings "
        f"0x{warnings:04X}): " + "; ".join(reasons) + " — pass strict=False to compute "
        "and flag it"
    )


def _concatenate_1d(
    pfls: np.ndarray | Sequence[np.ndarray | Sequence[float]],
) -> np.ndarray | None:
    """The PFLs end to end as float64 when every one is a 1-D array (else None)."""
    if not pfls or not all(isinstance(p, np.ndarray) and p.ndim == 1 for p in pfls):
        return None
    return np.concatenate(pfls).astype(np.float64, copy=False)


def _flatten_pfls(
    pfls: np.ndarray | Sequence[np.ndarray | Sequence[float]], *, model: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Paths as one float64 buffer and each path's ``[start, end)`` in it.

    A 2-D array is used in place (row ``i`` = path ``i``, padding after its PFL
    ignored); a list of 1-D PFLs is concatenated. Checks every PFL header.
    """
    if isinstance(pfls, np.ndarray) and pfls.ndim == 2:
        arr = np.ascontiguousarray(pfls, dtype=np.float64)
        n_paths, width = arr.shape
        flat = arr.reshape(-1)
        starts = np.arange(n_paths, dtype=np.int64) * width
        ends = starts + width
    else:
        joined = _concatenate_1d(pfls)
        if joined is not None:  # a sequence of 1-D PFLs (the usual case): sizes in one go
            flat = joined
            sizes = np.fromiter(map(len, pfls), dtype=np.int64, count=len(pfls))
        else:
            rows = [np.asarray(p, dtype=np.float64) for p in pfls]
            for i, r in enumerate(rows):
                if r.ndim != 1:
                    raise PropagationRangeError(
                        f"{model}: pfls[{i}] must be a 1-D PFL array; got shape {r.shape}"
                    )
            sizes = np.array([r.size for r in rows], dtype=np.int64)
            flat = np.concatenate(rows) if rows else np.empty(0)
        ends = np.cumsum(sizes)
        starts = ends - sizes
    short = np.flatnonzero(ends - starts < 4)
    if short.size:
        i = int(short[0])
        raise PropagationRangeError(
            f"{model}: pfls[{i}] must be a PFL [n_points - 1, step_m, elevation_m …] with "
            f"at least 2 elevations; it holds {int(ends[i] - starts[i])} values"
        )
    n_int = flat[starts]
    step = flat[starts + 1]
    with np.errstate(invalid="ignore"):
        bad = (
            ~np.isfinite(n_int)
            | (n_int < 1)
            | (n_int != np.floor(n_int))
            | (n_int + 3 > ends - starts)
            | ~np.isfinite(step)
            | (step <= 0)
        )
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        _check_pfl_header(
            flat[starts[i]],
            flat[starts[i] + 1],
            int(ends[i] - starts[i]),
            model=model,
            label=f"pfls[{i}]",
        )
    return flat, starts, ends


def itm_p2p_batch(
    pfls: np.ndarray | Sequence[np.ndarray | Sequence[float]],
    h_tx_m: float | np.ndarray,
    h_rx_m: float | np.ndarray,
    freq_mhz: float | np.ndarray,
    *,
    climate: int | np.ndarray = 5,
    n_0_nunits: float | np.ndarray = 301.0,
    pol: int | np.ndarray = 1,
    epsilon: float | np.ndarray = 15.0,
    sigma_s_per_m: float | np.ndarray = 0.005,
    mdvar: int | np.ndarray = 12,
    time_pct: float | np.ndarray = 50.0,
    location_pct: float | np.ndarray = 50.0,
    situation_pct: float | np.ndarray = 50.0,
    strict: bool = False,
) -> ItmBatchResult:
    """ITM point-to-point for many paths at once (numba, parallel over paths).

    ``pfls`` is a 2-D array ``(n_paths, max_len)`` whose row ``i`` is path ``i``'s PFL
    (each row's own ``n_points - 1`` says how much of it is used; pad with NaN), or a
    list of 1-D PFL arrays of any lengths. Every other argument is a scalar or an
    array of length ``n_paths``, as in :func:`itm_p2p_db`. Returns loss, warning bits
    and propagation mode per path; errors raise (naming the first bad path), and with
    ``strict`` so does the first path carrying a warning.
    """
    model = "ITM point-to-point (batch)"
    flat, starts, ends = _flatten_pfls(pfls, model=model)
    n = starts.shape[0]
    raw: dict[str, object] = {
        "h_tx_m": h_tx_m,
        "h_rx_m": h_rx_m,
        "climate": climate,
        "n_0_nunits": n_0_nunits,
        "freq_mhz": freq_mhz,
        "pol": pol,
        "epsilon": epsilon,
        "sigma_s_per_m": sigma_s_per_m,
        "mdvar": mdvar,
        "time_pct": time_pct,
        "location_pct": location_pct,
        "situation_pct": situation_pct,
    }
    args = _numeric_args(raw, model=model, n_paths=n)
    _check_arguments(args, model=model, batch=True)
    iargs = {name: args[name].astype(np.int64) for name in ("climate", "pol", "mdvar")}

    loss = np.empty(n)
    warnings = np.zeros(n, dtype=np.int64)
    code = np.zeros(n, dtype=np.int64)
    mode = np.zeros(n, dtype=np.int64)
    if n:
        # blocks handed out a few at a time: a thread the machine slows down (a shared
        # machine) holds up the batch less than with one fixed share per thread
        with numba.parallel_chunksize(_BATCH_CHUNK_BLOCKS):
            _p2p_batch_kernel(
                flat, starts, ends, args["h_tx_m"], args["h_rx_m"], iargs["climate"],
                args["n_0_nunits"], args["freq_mhz"], iargs["pol"], args["epsilon"],
                args["sigma_s_per_m"], iargs["mdvar"], args["time_pct"], args["location_pct"],
                args["situation_pct"],
                loss, warnings, code, mode,
            )  # fmt: skip
    nonfinite = np.flatnonzero(code == _CODE_NONFINITE_PROFILE)
    if nonfinite.size:
        raise PropagationRangeError(
            f"{model}: pfls[{int(nonfinite[0])}] has non-finite elevations "
            f"({nonfinite.size} path(s) in all)"
        )
    failed = np.flatnonzero(code >= ERROR_TX_TERMINAL_HEIGHT)
    flagged = np.flatnonzero(warnings) if strict else np.empty(0, dtype=np.int64)
    if failed.size or flagged.size:
        # re-run the first offending path alone for its intermediate values
        i = int(failed[0]) if failed.size else int(flagged[0])
        v = {name: float(a[i]) for name, a in args.items()}
        inter = np.full(_IV_SIZE, np.nan)
        _p2p_kernel(
            flat[starts[i] : ends[i]], v["h_tx_m"], v["h_rx_m"], int(v["climate"]), v["n_0_nunits"],
            v["freq_mhz"], int(v["pol"]), v["epsilon"], v["sigma_s_per_m"], int(v["mdvar"]),
            v["time_pct"], v["location_pct"], v["situation_pct"], inter,
            np.empty(_work_size(int(ends[i] - starts[i]))),
        )  # fmt: skip
        if failed.size:
            detail = _kernel_error_detail(int(code[i]), inter, v)
            _raise_kernel_error(
                int(code[i]),
                model=model,
                detail=f"{detail} at path {i} ({failed.size} path(s) in all)",
            )
        _raise_strict(
            model, int(warnings[i]), v, inter,
            where=f" path {i} ({flagged.size} path(s) flagged in all)",
        )  # fmt: skip
    return ItmBatchResult(loss_db=loss, warnings=warnings, mode=mode)


def itm_p2p_batch_db(
    pfls: np.ndarray | Sequence[np.ndarray | Sequence[float]],
    h_tx_m: float | np.ndarray,
    h_rx_m: float | np.ndarray,
    freq_mhz: float | np.ndarray,
    *,
    climate: int | np.ndarray = 5,
    n_0_nunits: float | np.ndarray = 301.0,
    pol: int | np.ndarray = 1,
    epsilon: float | np.ndarray = 15.0,
    sigma_s_per_m: float | np.ndarray = 0.005,
    mdvar: int | np.ndarray = 12,
    time_pct: float | np.ndarray = 50.0,
    location_pct: float | np.ndarray = 50.0,
    situation_pct: float | np.ndarray = 50.0,
    strict: bool = False,
) -> np.ndarray:
    """Basic transmission loss (dB) per path; :func:`itm_p2p_batch` without the flags."""
    return itm_p2p_batch(
        pfls,
        h_tx_m,
        h_rx_m,
        freq_mhz,
        climate=climate,
        n_0_nunits=n_0_nunits,
        pol=pol,
        epsilon=epsilon,
        sigma_s_per_m=sigma_s_per_m,
        mdvar=mdvar,
        time_pct=time_pct,
        location_pct=location_pct,
        situation_pct=situation_pct,
        strict=strict,
    ).loss_db
