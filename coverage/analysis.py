"""Best server per village, low-signal flags and summaries (DESIGN §4).

For every village, every active sector within its reach is evaluated and the
strongest wins (best server, not nearest). The work is one fused numba kernel
over chunks of villages: a latitude/longitude grid index of the sectors gives
each village its candidate sectors, and per pair the kernel computes the
geodesic distance (haversine on the WGS84 mean radius), the initial bearing,
the horizontal pattern loss, the path loss (``covgap.propagation``'s
dispatcher, the same code as :func:`~covgap.propagation.path_loss_db`) and the
received level, keeping only the per-village bests. No village × sector matrix
and no pair list is ever held in memory.

The index: sectors sorted into latitude/longitude cells of a quarter of the
largest reach; a village scans only the cells its reach's spherical cap can touch
(exact bound, so no pair is missed) — the 3 × 3 cells around it first, where its
best servers usually are — then filters by each sector's own reach on the chord.
Villages are visited in Z (Morton) order so neighbours share cached sectors. (A
shapely STRtree ``dwithin`` query would also find the pairs, but materialises them:
at the national scale, ~200 M pairs per 4G run, that alone exceeds the time budget
of DESIGN §9.)

Pre-tests (exact: they skip only sectors that cannot change any result). Every pair
in reach is counted, and classified in or out of its model's range from its squared
chord against the chords of the range edges (the distance itself within 1e-9 of an
edge). A sector then gets its model loss, bearing and pattern only if an upper bound
of its level reaches the best it competes with (its operator's 4G/5G best, the 3G or
the 2G best): free space over the chord (≤ the distance; every model's loss is at
least free space), the least loss of its model over the pair's distance band
(``covgap.propagation.pair_model_loss_floor``), and 20 dB less when the village lies
where the sector's pattern is at its floor. Most of the ~2,000 sectors in a village's
reach are skipped this way; the results are those of evaluating every pair (ties go
to the lowest ``tower_id`` whatever the order).

Received level (DESIGN §4), per technology:

* 4G/5G RSRP ``= EIRP − 10·log10(12·N_RB) − PL − A(θ) − extra``;
* 3G RSCP ``= EIRP − cpich_offset − PL − A(θ) − extra``;
* 2G RxLev ``= EIRP − PL − A(θ) − extra``;

with ``A(θ) = min(12 (θ/θ3dB)², 20 dB)`` (3GPP TR 36.814 Table A.2.1.1-2
horizontal pattern), θ the angle between the sector azimuth and the initial
great-circle bearing tower → village (omni sectors: 0 dB), and ``extra`` the
village's clutter loss plus the body loss.

Reach of a sector: the distance at which free space alone brings its level
down to ``threshold − 10 dB``, capped by ``max_reach_km``. Every model's loss
is floored at free space (see :func:`~covgap.propagation.path_loss_db`) and the
other losses are ≥ 0, so a sector beyond its reach could only give less than
``threshold − 10 dB``: leaving it out changes no flag.

Terrain (optional, DESIGN §4): given an opened DEM (``covgap.terrain.Dem``), the pairs
whose whole path lies on it are first enumerated (a collect-only pass of the same grid
walk), reduced to one path per site position, height, frequency and village, and
their loss computed once by ``covgap.terrain.terrain_path_loss_db`` (ITM, the
knife-edge screen or NTIA Extended Hata); the kernel then uses that loss in place of
the terrain-free model's for those pairs (recorded as "itm"/"knife_edge"/"ehata") and
the terrain-free model for the others, and both counts are reported.
``covgap.terrain`` (rasterio) is imported only when a DEM is used.

eHata over the DEM (``model = "ehata"``, or ``terrain_model = "ehata"`` under "auto")
is handled as the Hata path is, deliberately: (1) its environment is the village's
clutter (``covgap.ehata.ENVIRONMENT_NLCD``: urban / suburban / rural), exactly as
Hata's area correction is, and the clutter loss of ``clutter_loss_db`` is still added
on top — for Hata too that setting is the margin for the buildings and vegetation
around the handset at the village's edge, not the area-type correction both models
already contain, so neither counts the area type twice and changing the model does
not silently change the margin; (2) its loss is floored at free space over the
pair's distance (the rule of the dispatcher, SEAMCAT's Extended Hata, ERC Report
68), since eHata's ridge, slope and sea-path corrections can bring it below free
space on mountain and coastal paths. The floor keeps the reach (free space to
threshold − 10 dB) exact for eHata pairs; the free-space pre-test does not apply
to terrain pairs at all (their losses are computed before the kernel). eHata pairs
outside ``covgap.ehata.EHATA_RANGE`` (700/900/3500 MHz carriers, effective base
heights under 30 m, paths under 1 km, …) are marked ``extrapolated``; ITM and
knife-edge pairs never are.

Calibration (``covgap.calibration``): per-clutter offsets (dB) and slopes (dB per
decade of distance) fitted to measurements are settings here
(``clutter_offset_db``, ``clutter_slope_db_per_decade``) added to every predicted
level; the reach budget is widened by the largest rise they can give.

Input GeoDataFrames are EPSG:4326 (lon/lat) Point layers in the canonical form
of ``covgap.io``. This module does no file I/O (the DEM is read by ``covgap.terrain``).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

import geopandas as gpd
import numba
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely

from .errors import CRSError, InputFileError, ScenarioError, SchemaError
from .propagation import (
    COEF_FLAGS,
    COEF_FREQ,
    COEF_FSPL,
    ENVIRONMENTS,
    HATA_RANGE,
    MIN_DISTANCE_KM,
    MODEL_AUTO,
    MODEL_CHOICES,
    MODEL_NAMES,
    PROPAGATION_SOURCE,
    RMA_RANGE,
    TERRAIN_MODEL_NAMES,
    cached_njit,
    coef_pair_loss,
    extrapolated_by_masks,
    extrapolation_masks,
    fspl_reach_km,
    loss_coefficients,
    model_code,
    pair_extrapolated,
    pair_model,
    pair_model_loss,
    pair_model_loss_floor,
    rma_max_km,
)

# Canonical names (DESIGN §3; the same spellings as covgap.schema).
OPERATORS: tuple[str, ...] = ("Viettel", "VNPT", "MobiFone", "Vietnamobile")
OPERATOR_SLUGS: tuple[str, ...] = ("viettel", "vnpt", "mobifone", "vietnamobile")
TECHNOLOGIES: tuple[str, ...] = ("2G", "3G", "4G", "5G")
GROUPS: tuple[str, ...] = ("covered", "low_signal_powered", "low_signal_unpowered")
RSRP_SOURCES: tuple[str, ...] = ("measured", "predicted", "none")

#: WGS84 mean Earth radius (IUGG R1), m: the haversine radius.
EARTH_RADIUS_M = 6_371_008.8

#: 3GPP TR 36.814 Table A.2.1.1-2: maximum horizontal attenuation, dB.
PATTERN_MAX_DB = 20.0
#: Beamwidth used when a sector has an azimuth but no beamwidth (the loaders' default).
DEFAULT_BEAMWIDTH_DEG = 65.0

#: LTE channel bandwidth (MHz) → N_RB (TS 36.101 Table 5.6-1).
LTE_N_RB: tuple[tuple[float, int], ...] = (
    (1.4, 6),
    (3.0, 15),
    (5.0, 25),
    (10.0, 50),
    (15.0, 75),
    (20.0, 100),
)
#: NR FR1 channel bandwidth (MHz) → N_RB at 30 kHz SCS (TS 38.101-1 Table 5.3.2-1).
NR_N_RB_30KHZ: tuple[tuple[float, int], ...] = (
    (5.0, 11),
    (10.0, 24),
    (15.0, 38),
    (20.0, 51),
    (25.0, 65),
    (30.0, 78),
    (40.0, 106),
    (50.0, 133),
    (60.0, 162),
    (70.0, 189),
    (80.0, 217),
    (90.0, 245),
    (100.0, 273),
)

#: Default extra loss per clutter, dB: buildings and vegetation around a handset
#: at the edge of a village's houses. Engineering margins (roughly half the
#: indoor-penetration margins of operators' link budgets), not values from a
#: standard: calibrate them with measurements (scenario ``clutter_loss_db``).
DEFAULT_CLUTTER_LOSS_DB: Mapping[str, float] = MappingProxyType(
    {"urban_large": 15.0, "urban_small_medium": 10.0, "suburban": 6.0, "open_rural": 3.0}
)

_TECH_2G, _TECH_3G, _TECH_4G, _TECH_5G = 0, 1, 2, 3
_N_OP = len(OPERATORS)


@dataclass(frozen=True)
class AnalysisSettings:
    """Settings of the analysis stage (scenario table ``[analysis]``).

    Thresholds are in dBm; distances in km; losses in dB; heights in m.
    """

    #: 4G/5G RSRP threshold, dBm: below it (or with no server) a village is low-signal.
    threshold_rsrp_dbm: float = -110.0
    #: 3G RSCP threshold, dBm (reported beside, does not decide ``low_signal``).
    threshold_rscp_dbm: float = -100.0
    #: 2G RxLev threshold, dBm (reported beside).
    threshold_rxlev_dbm: float = -95.0
    #: Cap on a sector's reach, km.
    max_reach_km: float = 20.0
    #: Path-loss model: "auto" (per pair, see covgap.propagation.path_loss_db; with a DEM,
    #: ``terrain_model`` over the DEM where it covers the path), "hata", "cost231", "rma",
    #: "fspl" (terrain-free: a DEM is not used), or "itm" / "knife_edge" / "ehata" (that
    #: terrain model over the DEM, which is then required; "auto"'s terrain-free choice
    #: where the DEM does not cover the path).
    model: str = "auto"
    #: Terrain model of "auto" over a DEM: "itm" (Longley–Rice point-to-point, the model
    #: of record), "knife_edge" (free space + Deygout knife edges, the fast screen) or
    #: "ehata" (NTIA Extended Hata v3.2 over the profile, median, village clutter).
    terrain_model: str = "itm"
    #: Profile step along a terrain path, m (≤ the DEM's pixel size is pointless below it).
    terrain_step_m: float = 30.0
    #: ITM radio climate (1 equatorial … 7 maritime temperate over sea; NTIA's codes).
    itm_climate: int = 5
    #: ITM surface refractivity N_0, N-units (sea-level value; NTIA's default 301).
    itm_n0_nunits: float = 301.0
    #: Handset antenna height above ground, m.
    mobile_height_m: float = 1.5
    #: Clutter of villages whose ``clutter`` is empty.
    default_clutter: str = "open_rural"
    #: Extra loss per clutter, dB; keys missing here take DEFAULT_CLUTTER_LOSS_DB's value.
    clutter_loss_db: Mapping[str, float] = field(
        default_factory=lambda: MappingProxyType(dict(DEFAULT_CLUTTER_LOSS_DB))
    )
    #: Calibration offset per clutter, dB, added to every predicted level of the villages
    #: of that clutter (``covgap.calibration``: measured − predicted); missing keys: 0.
    clutter_offset_db: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    #: Calibration slope per clutter, dB per decade of distance (km): adds
    #: ``slope · log10(d_km)`` to a predicted level (0 at 1 km); missing keys: 0.
    clutter_slope_db_per_decade: Mapping[str, float] = field(
        default_factory=lambda: MappingProxyType({})
    )
    #: Body loss of the handset user, dB (added everywhere).
    body_loss_db: float = 0.0
    #: 3G CPICH power = EIRP − this, dB.
    cpich_offset_db: float = 10.0
    #: Villages per chunk of the kernel (memory bound; results do not depend on it).
    chunk_size: int = 50_000


@dataclass(frozen=True)
class Assessment:
    """Result of :func:`assess_villages`."""

    #: input villages (all columns kept, same order and index) + result columns
    villages: gpd.GeoDataFrame
    #: sector–village pairs evaluated (within the sector's reach, all technologies)
    n_pairs: int
    #: of those, pairs evaluated by a model outside its validity range
    n_extrapolated: int
    #: n_extrapolated / n_pairs (0.0 when no pair)
    extrapolated_share: float
    #: pairs whose loss is the terrain model's over the DEM (0 without a DEM)
    n_pairs_terrain: int = 0
    #: pairs evaluated by a terrain-free model although a DEM was in use (the DEM does not
    #: cover the path, or it has no data on it); 0 without a DEM
    n_pairs_fallback: int = 0
    #: the terrain model used over the DEM ("itm" / "knife_edge" / "ehata"), None without
    #: terrain
    terrain_model: str | None = None


# --------------------------------------------------------------------------- checks


def _per_clutter(
    mapping: Mapping[str, float], key: str, default: Mapping[str, float]
) -> npt.NDArray[np.float64]:
    """A per-clutter setting as an array indexed by environment code (``default`` fills)."""
    merged = dict(default)
    for name, value in mapping.items():
        if name not in ENVIRONMENTS:
            raise ScenarioError(
                f"[analysis] {key}: unknown clutter {name!r}; known: {', '.join(ENVIRONMENTS)}"
            )
        merged[name] = float(value)
    return np.array([merged.get(e, 0.0) for e in ENVIRONMENTS], dtype=np.float64)


def _clutter_losses(settings: AnalysisSettings) -> npt.NDArray[np.float64]:
    """Extra loss per environment code, dB: clutter loss + body loss − calibration offset."""
    loss = _per_clutter(settings.clutter_loss_db, "clutter_loss_db", DEFAULT_CLUTTER_LOSS_DB)
    offset = _per_clutter(settings.clutter_offset_db, "clutter_offset_db", {})
    if not offset.any():
        return loss + settings.body_loss_db
    return loss + settings.body_loss_db - offset


def _clutter_slopes(settings: AnalysisSettings) -> npt.NDArray[np.float64]:
    """Calibration slope per environment code, dB per decade of distance (km)."""
    return _per_clutter(settings.clutter_slope_db_per_decade, "clutter_slope_db_per_decade", {})


def _max_calibration_gain_db(settings: AnalysisSettings) -> float:
    """Largest rise of a level the calibration terms can give (≥ 0), dB.

    The reach of a sector (free space to threshold − 10 dB) assumes every other term
    lowers the level; a positive offset (or a slope over 0.01 km…``max_reach_km``)
    can raise it, so the reach budget is widened by this much.
    """
    extra = _clutter_losses(settings)
    slope = _clutter_slopes(settings)
    log_lo = math.log10(MIN_DISTANCE_KM)
    log_hi = math.log10(max(settings.max_reach_km, MIN_DISTANCE_KM))
    rise = -extra + np.maximum(slope * log_lo, slope * log_hi)
    return max(0.0, float(rise.max()))


def _kernel_model_code(settings: AnalysisSettings) -> int:
    """The terrain-free model code the kernels use (a terrain model → auto's choice)."""
    if settings.model in TERRAIN_MODEL_NAMES:
        return MODEL_AUTO
    return model_code(settings.model)


def _terrain_choice(settings: AnalysisSettings, dem: Any) -> str | None:
    """The terrain model a run uses over ``dem``, or None (no DEM, or a terrain-free model).

    A terrain model (``"itm"``/``"knife_edge"``/``"ehata"``) without a DEM is a
    ScenarioError.
    """
    if settings.model in TERRAIN_MODEL_NAMES:
        if dem is None:
            raise ScenarioError(
                f"[analysis] model = {settings.model!r} is a terrain model and needs a DEM: "
                "give one ([inputs] dem or --dem FILE), or use model = 'auto' (terrain-free "
                "without a DEM)"
            )
        return settings.model
    if dem is None or settings.model != "auto":
        return None
    return settings.terrain_model


def _check_settings(s: AnalysisSettings) -> None:
    def bad(key: str, value: object, expected: str) -> ScenarioError:
        return ScenarioError(f"[analysis] {key} = {value!r}: expected {expected}")

    choices = (*MODEL_CHOICES, *TERRAIN_MODEL_NAMES)
    if s.model not in choices:
        raise bad("model", s.model, "one of " + ", ".join(choices))
    if s.terrain_model not in TERRAIN_MODEL_NAMES:
        raise bad("terrain_model", s.terrain_model, "one of " + ", ".join(TERRAIN_MODEL_NAMES))
    if not (math.isfinite(s.terrain_step_m) and s.terrain_step_m > 0):
        raise bad("terrain_step_m", s.terrain_step_m, "a positive step in m")
    if not (
        isinstance(s.itm_climate, int)
        and not isinstance(s.itm_climate, bool)
        and 1 <= s.itm_climate <= 7
    ):
        raise bad("itm_climate", s.itm_climate, "an integer 1–7 (NTIA ITM radio climate)")
    if not (math.isfinite(s.itm_n0_nunits) and 250.0 <= s.itm_n0_nunits <= 400.0):
        raise bad("itm_n0_nunits", s.itm_n0_nunits, "a surface refractivity of 250–400 N-units")
    for key in ("clutter_offset_db", "clutter_slope_db_per_decade"):
        values = _per_clutter(getattr(s, key), key, {})
        if not np.isfinite(values).all():
            raise bad(key, dict(getattr(s, key)), "finite dB values per clutter")
    if s.default_clutter not in ENVIRONMENTS:
        raise bad("default_clutter", s.default_clutter, "one of " + ", ".join(ENVIRONMENTS))
    if not (math.isfinite(s.max_reach_km) and s.max_reach_km > 0):
        raise bad("max_reach_km", s.max_reach_km, "a positive distance in km")
    if not (math.isfinite(s.mobile_height_m) and s.mobile_height_m > 0):
        raise bad("mobile_height_m", s.mobile_height_m, "a positive height in m")
    if not (isinstance(s.chunk_size, int) and s.chunk_size >= 1):
        raise bad("chunk_size", s.chunk_size, "an integer ≥ 1")
    for key in (
        "threshold_rsrp_dbm",
        "threshold_rscp_dbm",
        "threshold_rxlev_dbm",
        "cpich_offset_db",
    ):
        if not math.isfinite(getattr(s, key)):
            raise bad(key, getattr(s, key), "a finite number")
    if not (math.isfinite(s.body_loss_db) and s.body_loss_db >= 0):
        raise bad("body_loss_db", s.body_loss_db, "a loss ≥ 0 dB")
    losses = _per_clutter(s.clutter_loss_db, "clutter_loss_db", DEFAULT_CLUTTER_LOSS_DB)
    if not (np.isfinite(losses).all() and (losses >= 0).all()):
        raise bad("clutter_loss_db", dict(s.clutter_loss_db), "losses ≥ 0 dB")


def _rows(df: pd.DataFrame) -> npt.NDArray[np.int64]:
    """1-based data rows for messages: ``source_row`` when present, else position + 1."""
    if "source_row" in df.columns:
        return np.asarray(df["source_row"].to_numpy(), dtype=np.int64)
    return np.arange(1, len(df) + 1, dtype=np.int64)


def _require_columns(df: pd.DataFrame, columns: tuple[str, ...], what: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise SchemaError(f"{what}: missing column(s) {', '.join(missing)}", column=missing[0])


def _lonlat(gdf: gpd.GeoDataFrame, what: str) -> tuple[npt.NDArray[np.float64], ...]:
    """Longitudes and latitudes (degrees) of a Point layer in EPSG:4326."""
    if gdf.crs is not None and gdf.crs.to_epsg() != 4326:
        raise CRSError(
            f"{what} are in {gdf.crs.to_string()}; the analysis takes EPSG:4326 lon/lat "
            "(reproject with .to_crs(4326))"
        )
    geom = gdf.geometry
    if len(gdf) == 0:
        empty = np.empty(0, dtype=np.float64)
        return empty, empty
    arr = np.asarray(geom.array, dtype=object)
    bad = (shapely.get_type_id(arr) != 0) | shapely.is_empty(arr)
    points = arr.copy()
    points[bad] = None
    lon = np.where(bad, np.nan, shapely.get_x(points))
    lat = np.where(bad, np.nan, shapely.get_y(points))
    bad |= ~(np.isfinite(lon) & np.isfinite(lat)) | (np.abs(lat) > 90) | (np.abs(lon) > 180)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise SchemaError(
            f"{what}: geometry must be a lon/lat point, got {geom.iloc[i]}",
            row=int(_rows(gdf)[i]),
            column="geometry",
        )
    return lon, lat


def _codes(
    values: pd.Series,
    names: tuple[str, ...],
    what: str,
    column: str,
    rows: npt.NDArray[np.int64],
    *,
    missing: int | None = None,
) -> npt.NDArray[np.int64]:
    """Index in ``names`` of each value; ``missing`` for empty values (else an error)."""
    isna = values.isna().to_numpy(dtype=bool)
    codes = np.asarray(pd.Index(list(names)).get_indexer(pd.Index(values)), dtype=np.int64)
    unknown = (codes < 0) & ~isna
    if unknown.any():
        i = int(np.flatnonzero(unknown)[0])
        raise SchemaError(
            f"{what}: {column} = {values.iloc[i]!r} is not one of {', '.join(names)}",
            row=int(rows[i]),
            column=column,
        )
    if isna.any():
        if missing is None:
            i = int(np.flatnonzero(isna)[0])
            raise SchemaError(f"{what}: {column} is empty", row=int(rows[i]), column=column)
        codes[isna] = missing
    return codes


def _finite_column(
    df: pd.DataFrame, column: str, what: str, rows: npt.NDArray[np.int64], *, positive: bool
) -> npt.NDArray[np.float64]:
    x = pd.to_numeric(df[column], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    bad = ~np.isfinite(x) | ((x <= 0) if positive else False)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        need = "a positive number" if positive else "a number"
        raise SchemaError(
            f"{what}: {column} = {df[column].iloc[i]!r}: expected {need}",
            row=int(rows[i]),
            column=column,
        )
    return x


# --------------------------------------------------------------------------- N_RB


def resource_blocks(
    technology: npt.ArrayLike,
    bandwidth_mhz: npt.ArrayLike,
    *,
    rows: npt.ArrayLike | None = None,
) -> npt.NDArray[np.int64]:
    """N_RB per carrier from its technology ("4G"/"5G") and channel bandwidth (MHz).

    Table values: LTE :data:`LTE_N_RB` (TS 36.101), NR :data:`NR_N_RB_30KHZ` (TS 38.101-1,
    30 kHz SCS). A bandwidth between two table entries gets the linear interpolation
    of their N_RB, rounded down (the carrier's power is spread over its RBs; e.g. NR
    35 MHz → 92, 45 MHz → 119); one outside the table's span (LTE < 1.4 or > 20 MHz,
    NR < 5 or > 100 MHz) is refused with a SchemaError naming ``bandwidth_mhz`` and the
    row (``rows``: 1-based data rows, for the message). Other technologies give 0.
    """
    tech = np.asarray(technology, dtype=object)
    bw = np.asarray(bandwidth_mhz, dtype=np.float64)
    tech, bw = np.broadcast_arrays(tech, bw)
    row_numbers = (
        np.arange(1, bw.size + 1) if rows is None else np.asarray(rows, dtype=np.int64).ravel()
    )
    out = np.zeros(bw.shape, dtype=np.int64)
    for name, table in (("4G", LTE_N_RB), ("5G", NR_N_RB_30KHZ)):
        sel = tech == name
        if not sel.any():
            continue
        xs = np.array([b for b, _ in table])
        ys = np.array([n for _, n in table], dtype=np.float64)
        b = bw[sel]
        outside = ~((b >= xs[0] - 1e-9) & (b <= xs[-1] + 1e-9))
        if outside.any():
            i = int(np.flatnonzero(sel.ravel())[np.flatnonzero(outside)[0]])
            raise SchemaError(
                f"{name} carrier with bandwidth_mhz = {bw.ravel()[i]:g}: N_RB is defined for "
                f"{xs[0]:g}–{xs[-1]:g} MHz ({'LTE' if name == '4G' else 'NR, 30 kHz SCS'})",
                row=int(row_numbers[i]),
                column="bandwidth_mhz",
            )
        nearest = np.clip(np.searchsorted(xs, b), 1, xs.size - 1)
        nearest = np.where(
            np.abs(xs[nearest - 1] - b) < np.abs(xs[nearest] - b), nearest - 1, nearest
        )
        exact = np.abs(xs[nearest] - b) <= 1e-6
        interp = np.floor(np.interp(b, xs, ys) + 1e-9)
        out[sel] = np.where(exact, ys[nearest], interp).astype(np.int64)
    return out


# --------------------------------------------------------------------------- kernel
# Sector arrays as the kernels read them (rows in grid-cell order, see _Sectors): the
# fields of a pair test sit side by side, so the hot loop streams one row per sector.
_G_X, _G_Y, _G_Z, _G_REACH2 = 0, 1, 2, 3  # geo: unit vector, reach as chord²
#: pat: bearing / pattern terms (read only for the pairs that can win)
_P_COSLAT, _P_SINLON, _P_COSLON, _P_SIN_AZ, _P_COS_AZ, _P_COS_SAT, _P_BW, _P_SECTORED = range(8)
#: lvl: level before losses (dBm), 10^((level0 − free-space constant)/10), frequency (MHz)
_L_LEVEL0, _L_GAIN, _L_FREQ = 0, 1, 2
#: ints: slot (see _N_SLOTS), tower_id rank, coefficient flags (COEF_FLAGS), loss class
#: (sectors of a class share frequency and height: their coefficient rows are equal)
_I_SLOT, _I_RANK, _I_FLAGS, _I_CLASS = 0, 1, 2, 3
#: A village's (sin φ, cos φ, sin λ, cos λ), from :func:`_village_frame`.
_Trig = tuple[float, float, float, float]
#: Slots of the running bests a sector competes for: 4G of operator o → o, 5G → 4 + o,
#: 3G → 8, 2G → 9.
_N_SLOTS = 2 * _N_OP + 2
#: Safety margin of the free-space pre-test, dB (rounding of the linear form is ~1e-13 dB).
_BOUND_MARGIN_DB = 1e-6
#: The pattern's floor as a power ratio (the pre-test of a village in a sector's back).
_FLOOR_GAIN = 10.0 ** (PATTERN_MAX_DB / 10.0)
#: Earth radius squared, km²: a squared chord × this ≤ the squared distance in km.
_R_KM2 = (EARTH_RADIUS_M / 1000.0) ** 2
#: Hata's (and COST-231's) distance range, km. The distance bands of :func:`_band` need
#: RMa's largest distances (5 km NLOS, 10 km LOS) strictly inside it.
_HATA_D_KM = HATA_RANGE["d_km"]
assert _HATA_D_KM[0] < RMA_RANGE["d2d_m_nlos"][1] / 1000.0 < _HATA_D_KM[1]
assert _HATA_D_KM[0] < RMA_RANGE["d2d_m_los"][1] / 1000.0 < _HATA_D_KM[1]
#: Relative band around a range edge (as a squared chord) where the kernel computes the
#: distance to classify a pair: the chord decides elsewhere, as the distance would.
_EDGE_REL = 1e-9


@cached_njit(inline="always")
def _asin(x: float) -> float:
    """asin; below 0.01 its Taylor series to x⁷ (error < 1e-17 relative, i.e. exact)."""
    if x < 0.01:
        x2 = x * x
        return x * (1.0 + x2 * (1.0 / 6.0 + x2 * (3.0 / 40.0 + x2 * (5.0 / 112.0))))
    return math.asin(min(x, 1.0))


@cached_njit()
def _lon_halfwidth(lat: float, r: float, a: float, b: float) -> float:
    """Largest |Δlon| (rad) of points within angle ``r`` of latitude ``lat`` whose latitude
    lies in [a, b] (a ≤ b, both within lat ± r); ≥ π means every longitude."""
    sin_lat = math.sin(lat)
    cos_lat = math.cos(lat)
    cos_r = math.cos(r)
    s = sin_lat / cos_r if cos_r > 0 else 2.0
    if abs(s) >= 1.0 or cos_lat <= 1e-12:
        return 4.0  # the cap holds a pole
    widest = math.asin(s)
    best = 0.0
    for phi in (a, b, widest):
        if phi < a or phi > b:
            continue
        den = cos_lat * math.cos(phi)
        if den <= 1e-12:
            return 4.0
        c = (cos_r - sin_lat * math.sin(phi)) / den
        if c <= -1.0:
            return 4.0
        w = 0.0 if c >= 1.0 else math.acos(c)
        best = max(best, w)
    return best


@cached_njit()
def _cap_ranges(
    phi: float,
    lam: float,
    cell_start: npt.NDArray[np.int64],
    grid: tuple[float, float, float, float, int, int],
) -> tuple[npt.NDArray[np.int64], int]:
    """Sector position ranges ``[k0, k1)`` of the grid cells that the spherical cap of
    radius ``search_rad`` around (``phi``, ``lam``) (rad) can touch (exact bound).

    Returns ``(ranges, n)``: ``ranges[:n]`` rows ``(k0, k1)``, the 3 × 3 cells around the
    village first (its likely best servers: the free-space pre-test of the best-server
    kernel then skips most of the others), then the rest of each row of cells.
    """
    lat0, lon0, cell_rad, search_rad, nrow, ncol = grid
    lo = phi - search_rad
    hi = phi + search_rad
    r0 = max(math.floor((lo - lat0) / cell_rad), 0)
    r1 = min(math.floor((hi - lat0) / cell_rad), nrow - 1)
    n_rows = max(r1 - r0 + 1, 0)
    rv = math.floor((phi - lat0) / cell_rad)
    cv = math.floor((lam - lon0) / cell_rad)
    # per row of cells: column spans inside the 3 × 3 block, left of it, right of it
    spans = np.empty((n_rows, 3, 2), dtype=np.int64)
    for j in range(n_rows):
        row = r0 + j
        a = max(lat0 + row * cell_rad, lo)
        b = min(lat0 + (row + 1) * cell_rad, hi)
        c0 = 1
        c1 = 0  # c0 > c1: the cap misses the row
        if a <= b:
            half = _lon_halfwidth(phi, search_rad, a, b)
            if half >= math.pi:
                c0 = 0
                c1 = ncol - 1
            else:
                half += 1e-9
                c0 = max(math.floor((lam - half - lon0) / cell_rad), 0)
                c1 = min(math.floor((lam + half - lon0) / cell_rad), ncol - 1)
        n0 = max(c0, cv - 1)
        n1 = min(c1, cv + 1)
        if not (rv - 1 <= row <= rv + 1 and n0 <= n1):
            n0 = c1 + 1  # nothing in the block: the whole row is "left"
            n1 = c1
        spans[j, 0, 0] = n0
        spans[j, 0, 1] = n1
        spans[j, 1, 0] = c0
        spans[j, 1, 1] = n0 - 1
        spans[j, 2, 0] = n1 + 1
        spans[j, 2, 1] = c1
    ranges = np.empty((3 * n_rows, 2), dtype=np.int64)
    n = 0
    for far in range(2):  # the block first, then the rest row by row
        for j in range(n_rows):
            base = (r0 + j) * ncol
            for part in range(far, 1 + 2 * far):
                s0 = spans[j, part, 0]
                s1 = spans[j, part, 1]
                if s0 <= s1:
                    k0 = cell_start[base + s0]
                    k1 = cell_start[base + s1 + 1]
                    if k0 < k1:
                        ranges[n, 0] = k0
                        ranges[n, 1] = k1
                        n += 1
    return ranges, n


@cached_njit(inline="always")
def _bearing_terms(
    geo: npt.NDArray[np.float64], pat: npt.NDArray[np.float64], k: int, trig: _Trig
) -> tuple[float, float, float]:
    """Initial great-circle bearing sector ``k`` → village as a local (east, north) vector,
    and its dot product with the azimuth's unit vector (``trig``: the village's
    :func:`_village_frame`)."""
    sp, cp, sl, cl = trig
    stp = geo[k, _G_Z]
    ctp = pat[k, _P_COSLAT]
    stl = pat[k, _P_SINLON]
    ctl = pat[k, _P_COSLON]
    east = (sl * ctl - cl * stl) * cp
    north = ctp * sp - stp * cp * (cl * ctl + sl * stl)
    return east, north, east * pat[k, _P_SIN_AZ] + north * pat[k, _P_COS_AZ]


@cached_njit(inline="always")
def _beyond_sat(
    pat: npt.NDArray[np.float64], k: int, east: float, north: float, dot: float
) -> bool:
    """θ ≥ θ_sat: the bearing is where the pattern has reached its floor (20 dB)."""
    return dot <= pat[k, _P_COS_SAT] * math.sqrt(east * east + north * north)


@cached_njit(inline="always")
def _in_floor(
    geo: npt.NDArray[np.float64], pat: npt.NDArray[np.float64], k: int, trig: _Trig
) -> bool:
    """The village is where sector ``k``'s pattern loss is its floor, PATTERN_MAX_DB."""
    if pat[k, _P_SECTORED] == 0.0:
        return False
    east, north, dot = _bearing_terms(geo, pat, k, trig)
    return _beyond_sat(pat, k, east, north, dot)


@cached_njit(inline="always")
def _pattern_db(
    geo: npt.NDArray[np.float64], pat: npt.NDArray[np.float64], k: int, trig: _Trig
) -> float:
    """Horizontal pattern loss A(θ) (dB) of sector ``k`` toward the village (0: omni)."""
    if pat[k, _P_SECTORED] == 0.0:
        return 0.0
    east, north, dot = _bearing_terms(geo, pat, k, trig)
    if _beyond_sat(pat, k, east, north, dot):
        return PATTERN_MAX_DB
    cross = east * pat[k, _P_COS_AZ] - north * pat[k, _P_SIN_AZ]
    ratio = math.degrees(math.atan2(abs(cross), dot)) / pat[k, _P_BW]
    return min(12.0 * ratio * ratio, PATTERN_MAX_DB)


@cached_njit(inline="always")
def _village_frame(phi: float, lam: float) -> tuple[float, ...]:
    """``sin φ, cos φ, sin λ, cos λ`` (a :data:`_Trig`) and the unit vector x, y, z of a
    village (rad)."""
    sp = math.sin(phi)
    cp = math.cos(phi)
    sl = math.sin(lam)
    cl = math.cos(lam)
    return sp, cp, sl, cl, cp * cl, cp * sl, sp


@cached_njit(inline="always")
def _chord2(geo: npt.NDArray[np.float64], k: int, vx: float, vy: float, vz: float) -> float:
    """Squared chord (unit sphere) between sector ``k`` and the village's unit vector."""
    dx = geo[k, _G_X] - vx
    dy = geo[k, _G_Y] - vy
    dz = geo[k, _G_Z] - vz
    return dx * dx + dy * dy + dz * dz


@cached_njit(inline="always")
def _chord_to_m(chord2: float) -> float:
    """Great-circle distance (m) of a squared chord: haversine, hav θ = chord²/4."""
    return 2.0 * EARTH_RADIUS_M * _asin(0.5 * math.sqrt(chord2))


@cached_njit(inline="always")
def _chord_to_km(chord2: float) -> float:
    """The distance the model rules take (km, raised to MIN_DISTANCE_KM)."""
    return max(_chord_to_m(chord2) / 1000.0, MIN_DISTANCE_KM)


@cached_njit(inline="always")
def _km_to_chord2(d_km: float) -> float:
    """Squared chord (unit sphere) of a great-circle distance in km."""
    s = 2.0 * math.sin(d_km * 1000.0 / (2.0 * EARTH_RADIUS_M))
    return s * s


@cached_njit(inline="always")
def _range_edges(env: int) -> tuple[float, float, float]:
    """Squared chords of Hata's 1 and 20 km and of RMa's largest distance for ``env``."""
    return (
        _km_to_chord2(_HATA_D_KM[0]),
        _km_to_chord2(_HATA_D_KM[1]),
        _km_to_chord2(rma_max_km(env)),
    )


@cached_njit(inline="always")
def _band(chord2: float, edges: tuple[float, float, float]) -> int:
    """Distance band of a squared chord: 0 below 1 km, 1 up to RMa's largest distance,
    2 up to 20 km, 3 beyond (edges from :func:`_range_edges`; branch-free)."""
    lo, hi, top = edges
    return int(chord2 >= lo) + int(chord2 > top) + int(chord2 > hi)


@cached_njit(inline="always")
def _extrapolated_table(model: int, env: int) -> npt.NDArray[np.int64]:
    """1 where a pair is extrapolated, indexed ``band · 8 + flags`` (:func:`_band`,
    ``COEF_FLAGS``): :func:`~covgap.propagation.pair_extrapolated` per distance band."""
    masks = extrapolation_masks(model, env)
    table = np.empty(32, dtype=np.int64)
    for band in range(4):
        for flags in range(8):
            table[band * 8 + flags] = extrapolated_by_masks(
                flags, masks, band == 1 or band == 2, band <= 1
            )
    return table


@cached_njit(inline="always")
def _near_edge(chord2: float, edges: tuple[float, float, float]) -> bool:
    """Within _EDGE_REL of one of ``edges``: rounding could put the distance either side."""
    lo, hi, top = edges
    return (
        (abs(chord2 - lo) <= _EDGE_REL * lo)
        | (abs(chord2 - hi) <= _EDGE_REL * hi)
        | (abs(chord2 - top) <= _EDGE_REL * top)
    )


@cached_njit(inline="always")
def _raise_bar(
    bar_db: npt.NDArray[np.float64],
    gain: npt.NDArray[np.float64],
    slot: int,
    extra_db: float,
    cur_dbm: float,
) -> None:
    """Slot ``slot``'s best is now ``cur_dbm``: a sector of that slot can change something
    only if its level before pattern loss reaches it, i.e. ``level0 − loss ≥ bar_db[slot]``
    (``extra_db + cur_dbm`` less a safety margin); ``gain`` is that bar in the linear form
    of the free-space pre-test (see :func:`_best_server_kernel`)."""
    bar = extra_db + cur_dbm - _BOUND_MARGIN_DB
    bar_db[slot] = bar
    gain[slot] = 10.0 ** (bar / 10.0)


@cached_njit(inline="always")
def _terrain_index(p_k: npt.NDArray[np.int64], lo: int, hi: int, k: int) -> int:
    """Position of sector ``k`` in ``p_k[lo:hi]`` (ascending), −1 when absent."""
    end = hi
    while lo < hi:
        mid = (lo + hi) // 2
        if p_k[mid] < k:
            lo = mid + 1
        else:
            hi = mid
    if lo < end and p_k[lo] == k:
        return lo
    return -1


@cached_njit(depends_on=(PROPAGATION_SOURCE,))
def _band_floors(
    coef: npt.NDArray[np.float64],
    first: npt.NDArray[np.int64],
    flags: npt.NDArray[np.int64],
    freq_mhz: npt.NDArray[np.float64],
    model: int,
) -> npt.NDArray[np.float64]:
    """Least loss (dB) of each loss class (sector ``first[c]`` stands for class ``c``) over
    the distances of each band of :func:`_band`, per environment: ``out[env, c · 4 + band]``.

    Inside a band the model choice of :func:`~covgap.propagation.pair_model` is fixed
    (the bands are cut where a model's range ends); the floor is
    :func:`~covgap.propagation.pair_model_loss_floor` from the band's first distance.
    """
    n_env = len(ENVIRONMENTS)
    out = np.empty((n_env, 4 * first.size))
    lo, hi = _HATA_D_KM
    for env in range(n_env):
        starts = (MIN_DISTANCE_KM, lo, rma_max_km(env), hi)
        inside = (0.5 * lo, lo, hi, 2.0 * hi)  # a distance in each band
        for c in range(first.size):
            k = first[c]
            for band in range(4):
                used, _ = pair_model(flags[k], freq_mhz[k], model, inside[band], env)
                out[env, 4 * c + band] = pair_model_loss_floor(coef, k, used, starts[band], env)
    return out


@cached_njit(parallel=True, depends_on=(PROPAGATION_SOURCE,))
def _best_server_kernel(
    v_lat: npt.NDArray[np.float64],
    v_lon: npt.NDArray[np.float64],
    v_env: npt.NDArray[np.int64],
    v_extra_db: npt.NDArray[np.float64],
    v_slope_db: npt.NDArray[np.float64],
    v_pair_start: npt.NDArray[np.int64],
    v_pair_end: npt.NDArray[np.int64],
    p_k: npt.NDArray[np.int64],
    p_loss_db: npt.NDArray[np.float64],
    p_ext: npt.NDArray[np.bool_],
    terrain_code: int,
    geo: npt.NDArray[np.float64],
    pat: npt.NDArray[np.float64],
    lvl: npt.NDArray[np.float64],
    ints: npt.NDArray[np.int64],
    band_floor: npt.NDArray[np.float64],
    coef: npt.NDArray[np.float64],
    cell_start: npt.NDArray[np.int64],
    grid: tuple[float, float, float, float, int, int],
    model: int,
    op_level: npt.NDArray[np.float64],
    op_tower: npt.NDArray[np.int64],
    op_dist_m: npt.NDArray[np.float64],
    op_model: npt.NDArray[np.int64],
    op_ext: npt.NDArray[np.bool_],
    tech_best: npt.NDArray[np.float64],
    counts: npt.NDArray[np.int64],
) -> None:
    """Best server per village (see the module docstring).

    Per village ``i``: ``op_*[i, o]`` the best 4G/5G server of operator ``o``,
    ``tech_best[i, t]`` the best level per technology code ``t`` (2G RxLev, 3G RSCP,
    4G/5G RSRP), ``counts[i]`` = (pairs in reach, extrapolated, on terrain).

    Free-space pre-test: every model's loss is at least free space and the pattern
    loss is ≥ 0, so a sector whose level with free-space loss alone stays below the
    level it has to match (its slot's running best) cannot change anything: its model
    loss and bearing are skipped, with the test done in linear form (no logarithm).
    Terrain pairs (ITM's loss may be below free space) and calibration slopes skip
    the pre-test. The results do not depend on the order in which sectors are met
    (ties go to the lowest ``tower_id``).

    Terrain: village ``i``'s pairs with a terrain loss are ``p_k[v_pair_start[i]:
    v_pair_end[i]]`` (sector positions, ascending) with losses ``p_loss_db`` (NaN: the
    DEM did not answer); a finite one replaces the model's loss and the pair records
    ``terrain_code``, extrapolated as ``p_ext`` says (eHata outside its range).
    Calibration: ``v_slope_db[i]`` dB per decade of distance (km) is added to every
    level of the village (its offset is in ``v_extra_db``).
    """
    for i in numba.prange(v_lat.size):
        phi = v_lat[i]
        lam = v_lon[i]
        sp, cp, sl, cl, vx, vy, vz = _village_frame(phi, lam)
        trig = (sp, cp, sl, cl)
        env = v_env[i]
        extra = v_extra_db[i]
        slope = v_slope_db[i]
        t_lo = v_pair_start[i]
        t_hi = v_pair_end[i]
        pre_test = slope == 0.0
        edges = _range_edges(env)
        ext_table = _extrapolated_table(model, env)
        floors = band_floor[env]
        pairs = 0
        ext_pairs = 0
        terrain_pairs = 0
        best_rxlev = -np.inf
        best_rscp = -np.inf
        best_4g = -np.inf
        best_5g = -np.inf
        bar_db = np.full(_N_SLOTS, -np.inf)  # see _raise_bar
        gain = np.zeros(_N_SLOTS)
        ranges, n_ranges = _cap_ranges(phi, lam, cell_start, grid)
        for r in range(n_ranges):
            for k in range(ranges[r, 0], ranges[r, 1]):
                chord2 = _chord2(geo, k, vx, vy, vz)
                if chord2 > geo[k, _G_REACH2]:
                    continue
                pairs += 1
                flags = ints[k, _I_FLAGS]
                slot = ints[k, _I_SLOT]
                loss = math.nan
                t_at = _terrain_index(p_k, t_lo, t_hi, k) if t_lo < t_hi else -1
                if t_at >= 0:
                    loss = p_loss_db[t_at]
                if math.isfinite(loss):
                    d_m = _chord_to_m(chord2)
                    d = _chord_to_km(chord2)
                    used = terrain_code
                    ext = p_ext[t_at]
                    ext_pairs += ext
                    terrain_pairs += 1
                else:
                    near = _near_edge(chord2, edges)  # rounding matters: use the distance
                    band = _band(chord2, edges)
                    if near:
                        ext_pairs += pair_extrapolated(flags, model, _chord_to_km(chord2), env)
                    else:
                        ext_pairs += ext_table[band * 8 + flags]
                    if pre_test:
                        # Can it reach its slot's bar? Free space over the chord (≤ the
                        # distance, in linear form) and the model's least loss in the
                        # pair's distance band are both below its loss; then the same
                        # with the pattern's floor when the village is in its back.
                        free_bound = chord2 * _R_KM2 * gain[slot]
                        floor_db = -np.inf if near else floors[ints[k, _I_CLASS] * 4 + band]
                        room_db = lvl[k, _L_LEVEL0] - floor_db - bar_db[slot]
                        if free_bound > lvl[k, _L_GAIN] or room_db < 0.0:
                            continue
                        if (
                            free_bound * _FLOOR_GAIN > lvl[k, _L_GAIN] or room_db < PATTERN_MAX_DB
                        ) and _in_floor(geo, pat, k, trig):
                            continue
                    d_m = _chord_to_m(chord2)
                    d = _chord_to_km(chord2)
                    used, ext = pair_model(flags, lvl[k, _L_FREQ], model, d, env)
                    loss = pair_model_loss(coef, k, used, d, env)
                level = lvl[k, _L_LEVEL0] - loss - extra
                if slope != 0.0:
                    level += slope * math.log10(d)
                if slot < _N_OP:
                    op = slot
                    cur = min(op_level[i, op], best_4g)
                elif slot < 2 * _N_OP:
                    op = slot - _N_OP
                    cur = min(op_level[i, op], best_5g)
                elif slot == 2 * _N_OP:
                    op = -1
                    cur = best_rscp
                else:
                    op = -1
                    cur = best_rxlev
                if level < cur:
                    continue  # cannot win even with 0 dB pattern loss: skip the bearing
                level -= _pattern_db(geo, pat, k, trig)
                if op >= 0:
                    if slot < _N_OP:
                        if level > best_4g:
                            best_4g = level
                            for s in range(_N_OP):
                                _raise_bar(bar_db, gain, s, extra, min(op_level[i, s], best_4g))
                    elif level > best_5g:
                        best_5g = level
                        for s in range(_N_OP):
                            _raise_bar(bar_db, gain, _N_OP + s, extra, min(op_level[i, s], best_5g))
                    cur = op_level[i, op]
                    if level > cur or (
                        level == cur
                        and op_tower[i, op] >= 0
                        and ints[k, _I_RANK] < ints[op_tower[i, op], _I_RANK]
                    ):
                        op_level[i, op] = level
                        op_tower[i, op] = k
                        op_dist_m[i, op] = d_m
                        op_model[i, op] = used
                        op_ext[i, op] = ext
                        _raise_bar(bar_db, gain, op, extra, min(level, best_4g))
                        _raise_bar(bar_db, gain, _N_OP + op, extra, min(level, best_5g))
                elif slot == 2 * _N_OP:
                    if level > best_rscp:
                        best_rscp = level
                        _raise_bar(bar_db, gain, slot, extra, level)
                elif level > best_rxlev:
                    best_rxlev = level
                    _raise_bar(bar_db, gain, slot, extra, level)
        tech_best[i, _TECH_2G] = best_rxlev
        tech_best[i, _TECH_3G] = best_rscp
        tech_best[i, _TECH_4G] = best_4g
        tech_best[i, _TECH_5G] = best_5g
        counts[i, 0] = pairs
        counts[i, 1] = ext_pairs
        counts[i, 2] = terrain_pairs


@dataclass(frozen=True)
class _Sectors:
    """Active sectors as the kernels read them: sorted by grid cell, then tower_id."""

    tower_id: npt.NDArray[np.object_]
    lon_deg: npt.NDArray[np.float64]
    lat_deg: npt.NDArray[np.float64]
    #: antenna height above ground, m
    height_m: npt.NDArray[np.float64]
    #: technology code (index in TECHNOLOGIES)
    tech: npt.NDArray[np.int64]
    #: path-loss coefficient rows (covgap.propagation.loss_coefficients)
    coef: npt.NDArray[np.float64]
    #: (n, 4): unit vector x, y, z and the reach as a squared chord (_G_*)
    geo: npt.NDArray[np.float64]
    #: (n, 8): bearing and pattern terms (_P_*)
    pat: npt.NDArray[np.float64]
    #: (n, 3): level before losses (dBm), free-space pre-test gain, frequency (MHz) (_L_*)
    lvl: npt.NDArray[np.float64]
    #: (n, 4): slot, tower_id rank, coefficient flags, loss class (_I_*)
    ints: npt.NDArray[np.int64]
    #: (4 environments, classes × 4 bands): least loss (dB) of a class's sectors at the
    #: distances of a band (:func:`_band_floors`)
    band_floor: npt.NDArray[np.float64]
    #: first sector position of each grid cell (row-major), + the end
    cell_start: npt.NDArray[np.int64]
    #: (lat0 rad, lon0 rad, cell size rad, search radius rad, rows, columns)
    grid: tuple[float, float, float, float, int, int]

    @property
    def lat0(self) -> float:
        return self.grid[0]

    @property
    def lon0(self) -> float:
        return self.grid[1]

    @property
    def cell_rad(self) -> float:
        return self.grid[2]


#: Largest number of grid cells; a larger area gets coarser cells (slower, same result).
_MAX_CELLS = 4_000_000
#: Villages handed to a thread at a time (dynamic scheduling balances dense and sparse areas).
_THREAD_CHUNK = 256


def _part1by1(x: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """Spread the low 32 bits of ``x`` to the even bit positions (Morton code helper)."""
    x = x & np.uint64(0xFFFFFFFF)
    for shift, mask in (
        (16, 0x0000FFFF0000FFFF),
        (8, 0x00FF00FF00FF00FF),
        (4, 0x0F0F0F0F0F0F0F0F),
        (2, 0x3333333333333333),
        (1, 0x5555555555555555),
    ):
        x = (x | (x << np.uint64(shift))) & np.uint64(mask)
    return x


def _morton_order(
    lat_rad: npt.NDArray[np.float64], lon_rad: npt.NDArray[np.float64], sectors: _Sectors
) -> npt.NDArray[np.int64]:
    """Village positions sorted along a Z curve over the sector grid's cells."""
    row = np.clip((lat_rad - sectors.lat0) / sectors.cell_rad, 0, 2**31 - 1).astype(np.uint64)
    col = np.clip((lon_rad - sectors.lon0) / sectors.cell_rad, 0, 2**31 - 1).astype(np.uint64)
    code = _part1by1(row) | (_part1by1(col) << np.uint64(1))
    return np.argsort(code, kind="stable")


def _prepare_sectors(towers: gpd.GeoDataFrame, s: AnalysisSettings) -> _Sectors:
    what = "towers"
    _require_columns(
        towers,
        ("tower_id", "operator", "technology", "frequency_mhz", "height_m", "eirp_dbm"),
        what,
    )
    if "status" in towers.columns:
        status = towers["status"].astype(object)
        active = (status.isna() | (status == "active")).to_numpy(dtype=bool)
    else:
        active = np.ones(len(towers), dtype=bool)
    t = towers.loc[active]
    rows = _rows(t)
    lon, lat = _lonlat(t, what)
    op = _codes(t["operator"], OPERATORS, what, "operator", rows)
    tech = _codes(t["technology"], TECHNOLOGIES, what, "technology", rows)
    freq = _finite_column(t, "frequency_mhz", what, rows, positive=True)
    height = _finite_column(t, "height_m", what, rows, positive=True)
    eirp = _finite_column(t, "eirp_dbm", what, rows, positive=False)
    tech_names = np.asarray(TECHNOLOGIES, dtype=object)[tech]
    if "bandwidth_mhz" in t.columns:
        bw = pd.to_numeric(t["bandwidth_mhz"], errors="coerce").to_numpy(
            dtype=np.float64, na_value=np.nan
        )
    else:
        bw = np.full(len(t), np.nan)
    default_bw = np.array([0.2, 5.0, 10.0, 100.0])[tech]
    bw = np.where(np.isfinite(bw), bw, default_bw)
    n_rb = resource_blocks(tech_names, bw, rows=rows)
    ofdm = tech >= _TECH_4G
    level0 = eirp.copy()
    level0[ofdm] -= 10.0 * np.log10(12.0 * n_rb[ofdm])
    level0[tech == _TECH_3G] -= s.cpich_offset_db
    threshold = np.array(
        [s.threshold_rxlev_dbm, s.threshold_rscp_dbm, s.threshold_rsrp_dbm, s.threshold_rsrp_dbm]
    )[tech]
    budget_db = level0 - (threshold - 10.0)
    gain_db = _max_calibration_gain_db(s)
    if gain_db > 0.0:
        budget_db = budget_db + gain_db
    reach_km = np.minimum(fspl_reach_km(freq, budget_db), s.max_reach_km)
    reach_rad = np.asarray(reach_km, dtype=np.float64) * 1000.0 / EARTH_RADIUS_M
    reach_chord2 = (2.0 * np.sin(reach_rad / 2.0)) ** 2
    az = (
        pd.to_numeric(t["azimuth_deg"], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        if "azimuth_deg" in t.columns
        else np.full(len(t), np.nan)
    )
    beam = (
        pd.to_numeric(t["beamwidth_deg"], errors="coerce").to_numpy(
            dtype=np.float64, na_value=np.nan
        )
        if "beamwidth_deg" in t.columns
        else np.full(len(t), np.nan)
    )
    beam = np.where(np.isfinite(beam) & (beam > 0), beam, DEFAULT_BEAMWIDTH_DEG)
    sectored = np.isfinite(az)
    az_0 = np.where(sectored, az, 0.0)
    # angle from the azimuth beyond which A(θ) = 20 dB: 12 (θ/θ3dB)² = 20
    theta_sat_deg = beam * math.sqrt(PATTERN_MAX_DB / 12.0)
    cos_sat = np.where(theta_sat_deg >= 180.0, -2.0, np.cos(np.radians(theta_sat_deg)))
    ids = t["tower_id"].astype(str).to_numpy(dtype=object)
    rank = np.empty(len(ids), dtype=np.int64)
    rank[np.argsort(ids.astype(str), kind="stable")] = np.arange(len(ids))

    lat_r = np.radians(lat)
    lon_r = np.radians(lon)
    search = float(reach_rad.max()) if len(t) else 0.0
    search = search * (1.0 + 1e-9) + 1e-12
    cell = max(search / 4.0, 1e-7)
    lat0 = float(lat_r.min()) if len(t) else 0.0
    lon0 = float(lon_r.min()) if len(t) else 0.0
    span_lat = float(lat_r.max() - lat0) if len(t) else 0.0
    span_lon = float(lon_r.max() - lon0) if len(t) else 0.0
    while (int(span_lat / cell) + 1) * (int(span_lon / cell) + 1) > _MAX_CELLS:
        cell *= 2.0
    nrow = int(span_lat / cell) + 1
    ncol = int(span_lon / cell) + 1
    cell_id = np.minimum(((lat_r - lat0) / cell).astype(np.int64), nrow - 1) * ncol + np.minimum(
        ((lon_r - lon0) / cell).astype(np.int64), ncol - 1
    )
    order = np.lexsort((rank, cell_id))
    counts = np.bincount(cell_id, minlength=nrow * ncol)
    cell_start = np.zeros(nrow * ncol + 1, dtype=np.int64)
    np.cumsum(counts, out=cell_start[1:])
    lat_o = lat_r[order]
    lon_o = lon_r[order]
    coslat = np.cos(lat_o)
    az_o = np.radians(az_0[order])
    freq_o = freq[order]
    level0_o = level0[order]
    tech_o = tech[order]
    op_o = op[order]
    coef = np.ascontiguousarray(loss_coefficients(freq_o, height[order], s.mobile_height_m))
    f_code, _ = pd.factorize(freq_o)
    h_code, h_uniq = pd.factorize(height[order])
    cls, cls_uniq = pd.factorize(f_code * np.int64(len(h_uniq)) + h_code)
    first = np.zeros(len(cls_uniq), dtype=np.int64)
    first[cls[::-1]] = np.arange(cls.size - 1, -1, -1)  # a sector of each class
    flags = coef[:, COEF_FLAGS].astype(np.int64)
    # the running best a sector competes for: 4G/5G per operator, 3G, 2G (_N_SLOTS)
    slot = np.select(
        [tech_o == _TECH_4G, tech_o == _TECH_5G, tech_o == _TECH_3G],
        [op_o, _N_OP + op_o, 2 * _N_OP],
        2 * _N_OP + 1,
    )
    geo = [coslat * np.cos(lon_o), coslat * np.sin(lon_o), np.sin(lat_o), reach_chord2[order]]
    pat = [
        coslat,
        np.sin(lon_o),
        np.cos(lon_o),
        np.sin(az_o),
        np.cos(az_o),
        cos_sat[order],
        beam[order],
        sectored[order].astype(np.float64),
    ]
    # free-space pre-test: 10^((level0 − free-space constant) / 10), see _raise_bar
    gain = 10.0 ** ((level0_o - coef[:, COEF_FSPL]) / 10.0)
    return _Sectors(
        tower_id=ids[order],
        lon_deg=np.ascontiguousarray(lon[order]),
        lat_deg=np.ascontiguousarray(lat[order]),
        height_m=np.ascontiguousarray(height[order]),
        tech=np.ascontiguousarray(tech_o),
        coef=coef,
        geo=np.stack(geo, axis=1),
        pat=np.stack(pat, axis=1),
        lvl=np.stack([level0_o, gain, freq_o], axis=1),
        ints=np.stack([slot, rank[order], flags, cls.astype(np.int64)], axis=1),
        band_floor=_band_floors(coef, first, flags, freq_o, _kernel_model_code(s)),
        cell_start=cell_start,
        grid=(lat0, lon0, cell, search, nrow, ncol),
    )


# --------------------------------------------------------------------------- assess


def _village_arrays(
    villages: gpd.GeoDataFrame, settings: AnalysisSettings
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64], npt.NDArray[np.float64], Any]:
    """Data rows, longitudes, latitudes (degrees) and clutter codes of the villages (an
    empty ``clutter`` takes ``settings.default_clutter``)."""
    v_rows = _rows(villages)
    v_lon, v_lat = _lonlat(villages, "villages")
    default = ENVIRONMENTS.index(settings.default_clutter)
    if "clutter" in villages.columns:
        env = _codes(
            villages["clutter"], ENVIRONMENTS, "villages", "clutter", v_rows, missing=default
        )
    else:
        env = np.full(len(villages), default, dtype=np.int64)
    return v_rows, v_lon, v_lat, env


def _check_longitude_span(v_lon: npt.NDArray[np.float64], sectors: _Sectors, what: str) -> None:
    lon_all = np.concatenate([v_lon, sectors.lon_deg])
    if lon_all.size and float(lon_all.max() - lon_all.min()) > 180.0:
        raise SchemaError(
            f"villages and {what} span more than 180° of longitude: data crossing the "
            "antimeridian is not supported",
            column="geometry",
        )


def assess_villages(
    villages: gpd.GeoDataFrame,
    towers: gpd.GeoDataFrame,
    settings: AnalysisSettings = AnalysisSettings(),
    *,
    dem: Any = None,
) -> Assessment:
    """Best server, received levels and low-signal flags for every village.

    ``villages`` and ``towers`` in the canonical form (DESIGN §3, EPSG:4326 points);
    only ``status == "active"`` sectors count. Returns the villages with these
    columns added (all input columns kept, geometry last):

    ``best_operator``, ``best_tower_id``, ``best_technology`` (None when no server),
    ``best_rsrp_dbm`` (best 4G/5G RSRP over all operators, NaN when none in reach),
    ``best_distance_m``, ``model`` ("" when none), ``extrapolated``, ``rsrp_source``
    ("measured"/"predicted"/"none"), ``rsrp_<slug>_dbm`` and ``low_signal_<slug>`` per
    operator, ``best_rscp_dbm`` (3G), ``best_rxlev_dbm`` (2G), ``margin_db``
    (best RSRP − threshold), ``low_signal``, ``group``; then, predictions only:
    ``predicted_rsrp_dbm`` and ``predicted_distance_m`` (the predicted RSRP a
    measurement at the village compares with — the measured operator's best when
    ``measured_operator`` is given, else the best over operators — and the distance
    to that sector, m; what :func:`covgap.calibration.calibrate` fits),
    ``best_rsrp_4g_dbm``, ``best_rsrp_5g_dbm`` (best over operators per technology)
    and ``covered_2g``, ``covered_3g``, ``covered_4g``, ``covered_5g`` (a predicted
    server of that technology at or above its threshold).

    Measurements win over predictions: a ``measured_rsrp_dbm`` with a
    ``measured_operator`` replaces that operator's value (the best is then recomputed);
    without an operator it replaces only the any-operator value. The ``best_*``
    columns describe where ``best_rsrp_dbm`` comes from: when it is a measurement,
    ``best_tower_id``/``best_technology``/``model`` are empty, ``best_distance_m`` NaN,
    and ``best_operator`` is the measured operator (None if not given).

    Terrain (``dem``: a :class:`covgap.terrain.Dem` from :func:`covgap.terrain.open_dem`):
    with ``settings.model`` "auto" (its ``terrain_model``), "itm", "knife_edge" or
    "ehata", every pair whose whole path the DEM covers gets the terrain model's loss
    (:func:`covgap.terrain.terrain_path_loss_db`, tower height → ``mobile_height_m``,
    profile step ``terrain_step_m``; computed once per site position, height, frequency
    and village, so the sectors of a site share it) in place of the terrain-free
    model's, and records that model ("itm"/"knife_edge", never extrapolated; "ehata",
    with the village's clutter as its environment, floored at free space, extrapolated
    outside ``covgap.ehata.EHATA_RANGE``: see the module docstring); the clutter and
    body losses are added as for every model. The other pairs keep the terrain-free
    model (``n_pairs_fallback``). A DEM covering none of the paths raises
    :class:`~covgap.errors.InputFileError` naming it and both extents; a terrain model
    without a DEM raises :class:`~covgap.errors.ScenarioError`. The terrain-free named
    models ("hata", "cost231", "rma", "fspl") do not use a DEM.
    """
    _check_settings(settings)
    terrain_model = _terrain_choice(settings, dem)
    if not isinstance(villages, gpd.GeoDataFrame) or not isinstance(towers, gpd.GeoDataFrame):
        raise SchemaError("villages and towers must be GeoDataFrames (EPSG:4326 points)")
    _require_columns(villages, ("electrified",), "villages")
    v_rows, v_lon, v_lat, env = _village_arrays(villages, settings)
    n = len(villages)
    extra_db = _clutter_losses(settings)[env]
    slope_db = _clutter_slopes(settings)[env]
    sectors = _prepare_sectors(towers, settings)
    _check_longitude_span(v_lon, sectors, "towers")

    op_level = np.full((n, _N_OP), -np.inf)
    op_tower = np.full((n, _N_OP), -1, dtype=np.int64)
    op_dist = np.full((n, _N_OP), np.nan)
    op_model = np.full((n, _N_OP), -1, dtype=np.int64)
    op_ext = np.zeros((n, _N_OP), dtype=np.bool_)
    tech_best = np.full((n, len(TECHNOLOGIES)), -np.inf)
    counts = np.zeros((n, 3), dtype=np.int64)  # pairs, extrapolated, on terrain
    if len(sectors.tower_id) and n:
        v_lat_r = np.radians(v_lat)
        v_lon_r = np.radians(v_lon)
        mcode = _kernel_model_code(settings)
        if terrain_model is not None:
            tp = _terrain_pairs(
                dem, terrain_model, settings, sectors, v_lon, v_lat, env, extra_db, mcode
            )
        else:
            tp = _TerrainPairs.none(n)
        # Villages in Morton (Z) order of the sector grid: neighbouring villages share
        # sectors, so a chunk (and a thread's share of it) stays in cache. Results are
        # per village and do not depend on this order.
        order = _morton_order(v_lat_r, v_lon_r, sectors)
        for start in range(0, n, settings.chunk_size):
            ix = order[start : start + settings.chunk_size]
            out = (
                np.full((ix.size, _N_OP), -np.inf),
                np.full((ix.size, _N_OP), -1, dtype=np.int64),
                np.full((ix.size, _N_OP), np.nan),
                np.full((ix.size, _N_OP), -1, dtype=np.int64),
                np.zeros((ix.size, _N_OP), dtype=np.bool_),
                np.full((ix.size, len(TECHNOLOGIES)), -np.inf),
                np.zeros((ix.size, 3), dtype=np.int64),
            )
            with numba.parallel_chunksize(_THREAD_CHUNK):
                _best_server_kernel(
                    v_lat_r[ix],
                    v_lon_r[ix],
                    env[ix],
                    extra_db[ix],
                    slope_db[ix],
                    tp.start[ix],
                    tp.end[ix],
                    tp.k,
                    tp.loss_db,
                    tp.extrapolated,
                    tp.code,
                    sectors.geo,
                    sectors.pat,
                    sectors.lvl,
                    sectors.ints,
                    sectors.band_floor,
                    sectors.coef,
                    sectors.cell_start,
                    sectors.grid,
                    mcode,
                    *out,
                )
            for whole, part in zip(
                (op_level, op_tower, op_dist, op_model, op_ext, tech_best, counts),
                out,
                strict=True,
            ):
                whole[ix] = part
    rxlev, rscp, rsrp_4g, rsrp_5g = (tech_best[:, t] for t in range(len(TECHNOLOGIES)))
    n_pairs, n_ext, n_terr = counts[:, 0], counts[:, 1], counts[:, 2]
    total = int(n_pairs.sum())
    terrain_total = int(n_terr.sum())
    if terrain_model is not None and terrain_total == 0:
        on_dem = _on_dem(dem, v_lon, v_lat)
        if total or not on_dem.any():
            raise _dem_covers_none(dem, v_lon, v_lat, total)
    result = _assemble(
        villages,
        v_rows,
        sectors,
        settings,
        op_level,
        op_tower,
        op_dist,
        op_model,
        op_ext,
        rscp,
        rxlev,
        rsrp_4g,
        rsrp_5g,
    )
    extrap = int(n_ext.sum())
    return Assessment(
        villages=result,
        n_pairs=total,
        n_extrapolated=extrap,
        extrapolated_share=(extrap / total) if total else 0.0,
        n_pairs_terrain=terrain_total,
        n_pairs_fallback=(total - terrain_total) if terrain_model is not None else 0,
        terrain_model=terrain_model,
    )


# --------------------------------------------------------------------------- terrain


@dataclass(frozen=True)
class _TerrainPairs:
    """Terrain losses per village–sector pair, grouped by village (CSR, sector ascending).

    Village ``i``'s pairs are ``k[start[i]:end[i]]`` (sector positions of
    :class:`_Sectors`) with losses ``loss_db`` (NaN where the DEM did not answer) and
    ``extrapolated`` (the terrain model is outside its validity range: eHata only);
    ``code`` is the terrain model's code in ``MODEL_NAMES``.
    """

    start: npt.NDArray[np.int64]
    end: npt.NDArray[np.int64]
    k: npt.NDArray[np.int64]
    loss_db: npt.NDArray[np.float64]
    extrapolated: npt.NDArray[np.bool_]
    code: int

    @classmethod
    def none(cls, n: int) -> _TerrainPairs:
        zero = np.zeros(n, dtype=np.int64)
        return cls(zero, zero, np.zeros(0, dtype=np.int64), np.zeros(0), np.zeros(0, np.bool_), -1)


def _on_dem(dem: Any, lon: npt.NDArray[np.float64], lat: npt.NDArray[np.float64]) -> Any:
    """Points inside the DEM's lon/lat footprint (``dem.bounds_lonlat``)."""
    west, south, east, north = dem.bounds_lonlat
    return (lon >= west) & (lon <= east) & (lat >= south) & (lat <= north)


def _dem_covers_none(
    dem: Any, v_lon: npt.NDArray[np.float64], v_lat: npt.NDArray[np.float64], n_pairs: int
) -> InputFileError:
    w, s, e, n = dem.bounds_lonlat
    area = (
        f"villages at lon {v_lon.min():.4f}…{v_lon.max():.4f}, "
        f"lat {v_lat.min():.4f}…{v_lat.max():.4f}"
        if v_lon.size
        else "no villages"
    )
    what = (
        f"none of the {n_pairs:,} village–sector paths in reach lies wholly on it with data"
        if n_pairs
        else "no village lies on it"
    )
    return InputFileError(
        f"DEM {Path(str(dem.path)).name} covers none of the area: {what} ({area}); the DEM "
        f"spans lon {w:.4f}…{e:.4f}, lat {s:.4f}…{n:.4f} (EPSG:4326). Use a DEM covering "
        "the villages and towers, or run without one",
        file=str(dem.path),
    )


def _terrain_pairs(
    dem: Any,
    terrain_model: str,
    settings: AnalysisSettings,
    sectors: _Sectors,
    v_lon: npt.NDArray[np.float64],
    v_lat: npt.NDArray[np.float64],
    env: npt.NDArray[np.int64],
    extra_db: npt.NDArray[np.float64],
    mcode: int,
) -> _TerrainPairs:
    """Terrain losses of every in-reach pair whose two ends lie on the DEM's footprint.

    The pairs are enumerated by :func:`_pair_kernel` (the grid walk of the best-server
    kernel, collect only) over the villages on the footprint, in chunks of
    ``settings.chunk_size``; pairs are deduplicated to one path per (site position,
    antenna height, frequency, village) and :func:`covgap.terrain.terrain_path_loss_db`
    runs once over the distinct paths.
    """
    n = v_lon.size
    t_on = _on_dem(dem, sectors.lon_deg, sectors.lat_deg)
    villages_on = np.flatnonzero(_on_dem(dem, v_lon, v_lat))
    if not (villages_on.size and t_on.any()):
        return _TerrainPairs.none(n)
    v_lat_r = np.radians(v_lat)
    v_lon_r = np.radians(v_lon)
    parts_v: list[npt.NDArray[np.int64]] = []
    parts_k: list[npt.NDArray[np.int64]] = []
    parts_d: list[npt.NDArray[np.float64]] = []
    for start in range(0, villages_on.size, settings.chunk_size):
        ix = villages_on[start : start + settings.chunk_size]
        pairs = _pairs_in_reach(ix, v_lat_r, v_lon_r, env, extra_db, sectors, mcode)
        keep = t_on[pairs.k]
        parts_v.append(pairs.village[keep])
        parts_k.append(pairs.k[keep])
        parts_d.append(pairs.distance_m[keep])
    if not parts_v:
        return _TerrainPairs.none(n)
    p_v = np.concatenate(parts_v)
    p_k = np.concatenate(parts_k)
    order = np.lexsort((p_k, p_v))
    p_v, p_k, p_d = p_v[order], p_k[order], np.concatenate(parts_d)[order]
    if p_v.size == 0:
        return _TerrainPairs.none(n)
    p_loss, p_ext = _pair_terrain_loss_db(
        dem, terrain_model, settings, sectors, p_k, p_v, v_lon, v_lat, env, p_d
    )
    counts_v = np.bincount(p_v, minlength=n).astype(np.int64)
    end = np.cumsum(counts_v)
    return _TerrainPairs(
        start=end - counts_v,
        end=end,
        k=np.ascontiguousarray(p_k),
        loss_db=np.ascontiguousarray(p_loss),
        extrapolated=np.ascontiguousarray(p_ext),
        code=MODEL_NAMES.index(terrain_model),
    )


def _assemble(
    villages: gpd.GeoDataFrame,
    v_rows: npt.NDArray[np.int64],
    sectors: _Sectors,
    s: AnalysisSettings,
    op_level: npt.NDArray[np.float64],
    op_tower: npt.NDArray[np.int64],
    op_dist: npt.NDArray[np.float64],
    op_model: npt.NDArray[np.int64],
    op_ext: npt.NDArray[np.bool_],
    rscp: npt.NDArray[np.float64],
    rxlev: npt.NDArray[np.float64],
    rsrp_4g: npt.NDArray[np.float64],
    rsrp_5g: npt.NDArray[np.float64],
) -> gpd.GeoDataFrame:
    """Apply measurements, pick the best operator and build the result columns."""
    n = len(villages)
    op_level = np.where(np.isfinite(op_level), op_level, np.nan)
    predicted_op = op_level.copy()  # before the measurements replace any value
    op_measured = np.zeros((n, _N_OP), dtype=bool)
    measured = (
        pd.to_numeric(villages["measured_rsrp_dbm"], errors="coerce").to_numpy(
            dtype=np.float64, na_value=np.nan
        )
        if "measured_rsrp_dbm" in villages.columns
        else np.full(n, np.nan)
    )
    has_meas = np.isfinite(measured)
    if "measured_operator" in villages.columns:
        m_op = _codes(
            villages["measured_operator"],
            OPERATORS,
            "villages",
            "measured_operator",
            v_rows,
            missing=-1,
        )
    else:
        m_op = np.full(n, -1, dtype=np.int64)
    with_op = has_meas & (m_op >= 0)
    idx = np.flatnonzero(with_op)
    op_level[idx, m_op[idx]] = measured[idx]
    op_measured[idx, m_op[idx]] = True

    filled = np.where(np.isnan(op_level), -np.inf, op_level)
    best_op = filled.argmax(axis=1) if n else np.zeros(0, dtype=np.int64)
    rows_ix = np.arange(n)
    best_level = filled[rows_ix, best_op] if n else np.zeros(0)
    has_best = np.isfinite(best_level)
    from_meas = has_best & op_measured[rows_ix, best_op]
    best_rsrp = np.where(has_best, best_level, np.nan)
    anon = has_meas & (m_op < 0)
    best_rsrp = np.where(anon, measured, best_rsrp)
    source = np.where(anon | from_meas, "measured", np.where(has_best, "predicted", "none"))
    predicted = source == "predicted"

    tower_ix = op_tower[rows_ix, best_op] if n else np.zeros(0, dtype=np.int64)
    tower_ok = predicted & (tower_ix >= 0)
    ids = sectors.tower_id
    tech_names = np.asarray(TECHNOLOGIES, dtype=object)
    best_tower = np.full(n, None, dtype=object)
    best_tech = np.full(n, None, dtype=object)
    if len(ids):
        best_tower[tower_ok] = ids[tower_ix[tower_ok]]
        best_tech[tower_ok] = tech_names[sectors.tech[tower_ix[tower_ok]]]
    best_operator = np.where(
        predicted | from_meas, np.asarray(OPERATORS, dtype=object)[best_op], None
    )
    best_dist = np.where(tower_ok, op_dist[rows_ix, best_op], np.nan) if n else np.zeros(0)
    model_names = np.asarray(MODEL_NAMES, dtype=object)
    best_model = np.where(tower_ok, model_names[np.maximum(op_model[rows_ix, best_op], 0)], "")
    best_ext = tower_ok & op_ext[rows_ix, best_op] if n else np.zeros(0, dtype=bool)

    thr = s.threshold_rsrp_dbm
    low = ~(best_rsrp >= thr)
    elec = villages["electrified"]
    if elec.isna().any():
        i = int(np.flatnonzero(elec.isna().to_numpy())[0])
        raise SchemaError(
            "villages: electrified is empty", row=int(v_rows[i]), column="electrified"
        )
    electrified = elec.astype(bool).to_numpy()
    group = np.where(~low, GROUPS[0], np.where(electrified, GROUPS[1], GROUPS[2]))

    cols: dict[str, Any] = {
        "best_operator": pd.Series(best_operator, dtype=object),
        "best_tower_id": pd.Series(best_tower, dtype=object),
        "best_technology": pd.Series(best_tech, dtype=object),
        "best_rsrp_dbm": best_rsrp,
        "best_distance_m": best_dist,
        "model": pd.Series(best_model, dtype="str"),
        "extrapolated": best_ext.astype(bool),
        "rsrp_source": pd.Series(source, dtype="str"),
    }
    for k, slug in enumerate(OPERATOR_SLUGS):
        cols[f"rsrp_{slug}_dbm"] = op_level[:, k].copy()
    for k, slug in enumerate(OPERATOR_SLUGS):
        cols[f"low_signal_{slug}"] = ~(op_level[:, k] >= thr)
    cols["best_rscp_dbm"] = np.where(np.isfinite(rscp), rscp, np.nan)
    cols["best_rxlev_dbm"] = np.where(np.isfinite(rxlev), rxlev, np.nan)
    cols["margin_db"] = best_rsrp - thr
    cols["low_signal"] = low
    cols["group"] = pd.Series(group, dtype="str")
    # predictions only: the value a measurement compares with (calibration), per technology
    pred_filled = np.where(np.isnan(predicted_op), -np.inf, predicted_op)
    pred_op = pred_filled.argmax(axis=1) if n else np.zeros(0, dtype=np.int64)
    pred_op = np.where(with_op, m_op, pred_op)
    pred_level = pred_filled[rows_ix, pred_op] if n else np.zeros(0)
    has_pred = np.isfinite(pred_level)
    cols["predicted_rsrp_dbm"] = np.where(has_pred, pred_level, np.nan)
    cols["predicted_distance_m"] = (
        np.where(has_pred, op_dist[rows_ix, pred_op], np.nan) if n else np.zeros(0)
    )
    levels = {
        "2g": (rxlev, s.threshold_rxlev_dbm),
        "3g": (rscp, s.threshold_rscp_dbm),
        "4g": (rsrp_4g, thr),
        "5g": (rsrp_5g, thr),
    }
    cols["best_rsrp_4g_dbm"] = np.where(np.isfinite(rsrp_4g), rsrp_4g, np.nan)
    cols["best_rsrp_5g_dbm"] = np.where(np.isfinite(rsrp_5g), rsrp_5g, np.nan)
    for tech, (lvl, tech_thr) in levels.items():
        cols[f"covered_{tech}"] = np.asarray(lvl >= tech_thr, dtype=bool)  # -inf: False

    geom_name = villages.geometry.name
    base = villages.drop(columns=[c for c in cols if c in villages.columns])
    keep = [c for c in base.columns if c != geom_name]
    added = pd.DataFrame(
        {
            k: (v.set_axis(villages.index) if isinstance(v, pd.Series) else v)
            for k, v in cols.items()
        },
        index=villages.index,
    )
    frame = pd.concat([pd.DataFrame(base[keep]), added], axis=1)
    frame[geom_name] = base[geom_name]
    return gpd.GeoDataFrame(frame, geometry=geom_name, crs=villages.crs)


def _pair_terrain_loss_db(
    dem: Any,
    terrain_model: str,
    settings: AnalysisSettings,
    sectors: _Sectors,
    k: npt.NDArray[np.int64],
    village: npt.NDArray[np.int64],
    v_lon: npt.NDArray[np.float64],
    v_lat: npt.NDArray[np.float64],
    env: npt.NDArray[np.int64],
    distance_m: npt.NDArray[np.float64],
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
    """Terrain loss of each pair (sector position ``k``, village position ``village``), dB,
    and whether the pair is outside the terrain model's validity range.

    NaN (and not extrapolated) where the DEM does not cover the path. One terrain path
    per distinct (site position, antenna height, frequency) × village, so the sectors of
    a site share it; :func:`covgap.terrain.terrain_path_loss_db` runs once over the
    distinct paths (it raises InputFileError naming the DEM when it covers none of them).
    eHata gets the village's clutter as its environment (``env``: codes of
    ``ENVIRONMENTS``) and its loss is floored at free space over the pair's
    ``distance_m`` (the kernel's distance; see the module docstring).
    """
    from .terrain import terrain_path_loss_db  # lazy: rasterio only when a DEM is used

    if k.size == 0:
        return np.zeros(0), np.zeros(0, dtype=np.bool_)
    site_key = np.stack(
        [sectors.lon_deg, sectors.lat_deg, sectors.height_m, sectors.coef[:, COEF_FREQ]], axis=1
    )
    _, site_code = np.unique(site_key, axis=0, return_inverse=True)
    site_code = np.asarray(site_code, dtype=np.int64).ravel()
    path_key = site_code[k] * np.int64(max(v_lon.size, 1)) + village
    _, first, inverse = np.unique(path_key, return_index=True, return_inverse=True)
    tk = k[first]
    tv = village[first]
    itm_kw: dict[str, Any] = {}
    if terrain_model == "itm":
        itm_kw = {"climate": settings.itm_climate, "n_0_nunits": settings.itm_n0_nunits}
    elif terrain_model == "ehata":
        from .ehata import ENVIRONMENT_NLCD

        nlcd = np.array([ENVIRONMENT_NLCD[e] for e in ENVIRONMENTS], dtype=np.int64)
        itm_kw = {"environment": nlcd[env[tv]], "reliability": 0.5}
    answer = terrain_path_loss_db(
        dem,
        sectors.lon_deg[tk],
        sectors.lat_deg[tk],
        sectors.height_m[tk],
        v_lon[tv],
        v_lat[tv],
        settings.mobile_height_m,
        sectors.coef[tk, COEF_FREQ],
        model=terrain_model,
        step_m=settings.terrain_step_m,
        **itm_kw,
    )
    inv = np.asarray(inverse).ravel()
    loss = np.asarray(answer.loss_db, dtype=np.float64)[inv]
    ext = (answer.covered & ~answer.in_range)[inv]
    if terrain_model == "ehata":
        d_km = np.maximum(distance_m / 1000.0, MIN_DISTANCE_KM)
        free = sectors.coef[k, COEF_FSPL] + 20.0 * np.log10(d_km)
        loss = np.where(np.isfinite(loss), np.maximum(loss, free), loss)
    return loss, ext


# --------------------------------------------------------------------------- summaries


def summarise(
    villages_assessed: gpd.GeoDataFrame | pd.DataFrame,
    by: Literal["province", "commune"],
) -> pd.DataFrame:
    """Counts per province or commune, sorted by code (deterministic).

    Keys: ``province_code, province`` (``by="province"``) or ``province_code, province,
    commune_code, commune`` (``by="commune"``; villages without a commune form one
    row with empty code and name). Columns: ``villages``, ``population``,
    ``low_signal_powered``, ``low_signal_unpowered``, ``covered``,
    ``population_low_signal`` (population of the low-signal villages) and
    ``share_low_signal`` (low-signal villages / villages); then, when the villages
    carry :func:`assess_villages`' ``covered_2g`` … ``covered_5g`` columns, per
    technology ``population_covered_<tech>`` (population of the villages a predicted
    server of that technology reaches at its threshold) and
    ``share_population_covered_<tech>`` (that / population; 0.0 where the population is
    0) for 2g, 3g, 4g, 5g — the 5G programme goal is 90 % of the population.
    """
    if by == "province":
        keys = ["province_code", "province"]
    elif by == "commune":
        keys = ["province_code", "province", "commune_code", "commune"]
    else:
        raise ScenarioError(f"summarise: by = {by!r}: expected 'province' or 'commune'")
    _require_columns(villages_assessed, (*keys, "population", "group"), "villages_assessed")
    df = pd.DataFrame(
        {
            k: villages_assessed[k]
            .astype(object)
            .where(villages_assessed[k].notna(), "")
            .astype(str)
            .to_numpy()
            for k in keys
        }
    )
    group = villages_assessed["group"].astype(str).to_numpy()
    pop = pd.to_numeric(villages_assessed["population"], errors="coerce").fillna(0)
    df["villages"] = 1
    df["population"] = pop.to_numpy(dtype=np.int64)
    for g in ("low_signal_powered", "low_signal_unpowered", "covered"):
        df[g] = (group == g).astype(np.int64)
    low = group != "covered"
    df["population_low_signal"] = np.where(low, df["population"].to_numpy(), 0)
    techs = [t for t in ("2g", "3g", "4g", "5g") if f"covered_{t}" in villages_assessed.columns]
    if len(techs) < 4:
        techs = []
    for t in techs:
        cov = villages_assessed[f"covered_{t}"].astype(bool).to_numpy()
        df[f"population_covered_{t}"] = np.where(cov, df["population"].to_numpy(), 0)
    out = df.groupby(keys, sort=True, dropna=False, as_index=False).sum()
    out = out.sort_values(keys, kind="stable").reset_index(drop=True)
    gap = out["low_signal_powered"] + out["low_signal_unpowered"]
    out["share_low_signal"] = (gap / out["villages"]).astype(np.float64)
    int_cols = [
        "villages",
        "population",
        "low_signal_powered",
        "low_signal_unpowered",
        "covered",
        "population_low_signal",
    ]
    out[int_cols] = out[int_cols].astype(np.int64)
    tech_cols: list[str] = []
    total_pop = out["population"].to_numpy(dtype=np.float64)
    for t in techs:
        col = f"population_covered_{t}"
        out[col] = out[col].astype(np.int64)
        share = np.divide(
            out[col].to_numpy(dtype=np.float64),
            total_pop,
            out=np.zeros(len(out)),
            where=total_pop > 0,
        )
        out[f"share_population_covered_{t}"] = share
        tech_cols += [col, f"share_population_covered_{t}"]
    for k in keys:
        out[k] = out[k].astype("str")
    return out[[*keys, *int_cols, "share_low_signal", *tech_cols]]


# --------------------------------------------------------------------------- coverage matrix


@cached_njit(parallel=True, depends_on=(PROPAGATION_SOURCE,))
def _pair_kernel(
    v_lat: npt.NDArray[np.float64],
    v_lon: npt.NDArray[np.float64],
    v_env: npt.NDArray[np.int64],
    v_extra_db: npt.NDArray[np.float64],
    geo: npt.NDArray[np.float64],
    pat: npt.NDArray[np.float64],
    lvl: npt.NDArray[np.float64],
    coef: npt.NDArray[np.float64],
    cell_start: npt.NDArray[np.int64],
    grid: tuple[float, float, float, float, int, int],
    model: int,
    fill: bool,
    offsets: npt.NDArray[np.int64],
    counts: npt.NDArray[np.int64],
    out_k: npt.NDArray[np.int64],
    out_level: npt.NDArray[np.float64],
    out_loss: npt.NDArray[np.float64],
    out_dist_m: npt.NDArray[np.float64],
    out_model: npt.NDArray[np.int64],
    out_ext: npt.NDArray[np.bool_],
) -> None:
    """Every sector–village pair within the sector's reach (the pairs
    :func:`_best_server_kernel` evaluates, found by the same grid walk), with the same
    level formula. ``fill=False`` only counts pairs per village into ``counts``;
    ``fill=True`` writes pair ``j`` of village ``i`` at ``offsets[i] + j``."""
    for i in numba.prange(v_lat.size):
        phi = v_lat[i]
        lam = v_lon[i]
        sp, cp, sl, cl, vx, vy, vz = _village_frame(phi, lam)
        trig = (sp, cp, sl, cl)
        env = v_env[i]
        extra = v_extra_db[i]
        pos = offsets[i] if fill else 0
        found = 0
        ranges, n_ranges = _cap_ranges(phi, lam, cell_start, grid)
        for r in range(n_ranges):
            for k in range(ranges[r, 0], ranges[r, 1]):
                chord2 = _chord2(geo, k, vx, vy, vz)
                if chord2 > geo[k, _G_REACH2]:
                    continue
                found += 1
                if not fill:
                    continue
                d_m = _chord_to_m(chord2)
                loss, used, ext = coef_pair_loss(coef, k, model, d_m / 1000.0, env)
                level = lvl[k, _L_LEVEL0] - loss - extra
                out_k[pos] = k
                out_level[pos] = level - _pattern_db(geo, pat, k, trig)
                out_loss[pos] = loss
                out_dist_m[pos] = d_m
                out_model[pos] = used
                out_ext[pos] = ext
                pos += 1
        if not fill:
            counts[i] = found


@dataclass(frozen=True)
class _PairList:
    """In-reach pairs of some villages, grouped by village (:func:`_pairs_in_reach`)."""

    village: npt.NDArray[np.int64]
    k: npt.NDArray[np.int64]
    level_dbm: npt.NDArray[np.float64]
    loss_db: npt.NDArray[np.float64]
    distance_m: npt.NDArray[np.float64]
    model: npt.NDArray[np.int64]
    extrapolated: npt.NDArray[np.bool_]


def _pairs_in_reach(
    ix: npt.NDArray[np.int64],
    v_lat_r: npt.NDArray[np.float64],
    v_lon_r: npt.NDArray[np.float64],
    env: npt.NDArray[np.int64],
    extra_db: npt.NDArray[np.float64],
    sectors: _Sectors,
    mcode: int,
) -> _PairList:
    """Every pair of the villages at positions ``ix`` within a sector's reach, with the
    level (no calibration slope), loss, distance, model and flag of :func:`_pair_kernel`
    (a counting pass sizes the arrays, a second fills them)."""
    m = ix.size
    counts = np.zeros(m, dtype=np.int64)
    offsets = np.zeros(m, dtype=np.int64)
    walk = functools.partial(
        _pair_kernel,
        v_lat_r[ix],
        v_lon_r[ix],
        env[ix],
        extra_db[ix],
        sectors.geo,
        sectors.pat,
        sectors.lvl,
        sectors.coef,
        sectors.cell_start,
        sectors.grid,
        mcode,
    )
    none_i = np.zeros(0, dtype=np.int64)
    none_f = np.zeros(0, dtype=np.float64)
    walk(False, offsets, counts, none_i, none_f, none_f, none_f, none_i, np.zeros(0, np.bool_))
    total = int(counts.sum())
    np.cumsum(counts[:-1], out=offsets[1:])
    out = _PairList(
        village=np.repeat(ix, counts),
        k=np.empty(total, dtype=np.int64),
        level_dbm=np.empty(total),
        loss_db=np.empty(total),
        distance_m=np.empty(total),
        model=np.empty(total, dtype=np.int64),
        extrapolated=np.empty(total, dtype=np.bool_),
    )
    if total:
        walk(
            True,
            offsets,
            counts,
            out.k,
            out.level_dbm,
            out.loss_db,
            out.distance_m,
            out.model,
            out.extrapolated,
        )
    return out


@dataclass(frozen=True, eq=False)
class CoverageMatrix:
    """Sparse candidate × village received levels (result of :func:`coverage_matrix`).

    One entry per transmitter–village pair within the transmitter's reach (the pairs
    :func:`assess_villages` evaluates), sorted by (candidate, village). ``candidate`` and
    ``village`` are row positions in the inputs. ``level_dbm`` is RSRP for 4G/5G
    carriers, RSCP for 3G and RxLev for 2G, with the same formula, model choice,
    pattern and clutter/body losses as :func:`assess_villages` (terrain-aware where a
    DEM answered, see :func:`coverage_matrix`); ``covered`` is ``level_dbm`` at or
    above the carrier's technology threshold.
    """

    candidate: npt.NDArray[np.int64]
    village: npt.NDArray[np.int64]
    level_dbm: npt.NDArray[np.float64]
    #: the terrain-free level of the pair (equal to ``level_dbm`` where ``terrain`` is False)
    level_no_terrain_dbm: npt.NDArray[np.float64]
    covered: npt.NDArray[np.bool_]
    distance_m: npt.NDArray[np.float64]
    #: model name per pair (``covgap.propagation.MODEL_NAMES``; the terrain model's over
    #: the DEM)
    model: npt.NDArray[np.object_]
    extrapolated: npt.NDArray[np.bool_]
    #: the DEM answered for the pair (its loss is the terrain model's)
    terrain: npt.NDArray[np.bool_]
    n_candidates: int
    n_villages: int
    #: pairs a DEM was asked about but did not cover (terrain-free fallback); 0 without DEM
    n_terrain_fallback: int

    @property
    def n_pairs(self) -> int:
        return int(self.candidate.size)

    def covered_csr(self) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """Covered pairs as CSR rows per candidate: ``(indptr, village)`` with candidate
        ``c``'s covered villages at ``village[indptr[c]:indptr[c + 1]]`` (ascending)."""
        cand = self.candidate[self.covered]
        vill = self.village[self.covered]
        indptr = np.zeros(self.n_candidates + 1, dtype=np.int64)
        np.cumsum(np.bincount(cand, minlength=self.n_candidates), out=indptr[1:])
        return indptr, vill.astype(np.int64)


def coverage_matrix(
    candidates: gpd.GeoDataFrame,
    villages: gpd.GeoDataFrame,
    settings: AnalysisSettings = AnalysisSettings(),
    *,
    dem: Any = None,
) -> CoverageMatrix:
    """Received level of every candidate transmitter at every village within its reach.

    ``candidates`` are transmitter rows in the towers' canonical form (DESIGN §3:
    ``tower_id`` unique, ``operator``, ``technology``, ``frequency_mhz``,
    ``bandwidth_mhz``, ``height_m``, ``eirp_dbm``, optional ``azimuth_deg``/
    ``beamwidth_deg``/``status``; only active rows are evaluated); ``villages`` as for
    :func:`assess_villages` (``clutter`` optional). Both EPSG:4326 points.

    The coverage engine of :func:`assess_villages`, pair by pair instead of best per
    village: the same sector preparation (N_RB, CPICH offset, reach = free space to
    threshold − 10 dB capped by ``max_reach_km``), the same grid walk and the same
    numba per-pair loss (:func:`covgap.propagation.coef_pair_loss`, model choice per
    ``settings.model``), pattern and clutter/body losses. Nothing is held per village
    × transmitter beyond the pairs in reach.

    Terrain (``dem``, a :class:`covgap.terrain.Dem`): as in :func:`assess_villages` —
    with ``settings.model`` "auto" (its ``terrain_model``, default ITM), "itm",
    "knife_edge" or "ehata", the loss of every pair whose path the DEM covers is the
    terrain model's over the DEM profile (:func:`covgap.terrain.terrain_path_loss_db`,
    transmitter height → ``mobile_height_m``), the terrain seam of
    :func:`covgap.propagation.path_loss_db` (the DEM's loss replaces the model's; the
    pair records the terrain model, not extrapolated except eHata outside its range;
    eHata floored at free space); other pairs keep the terrain-free model and are
    counted in ``n_terrain_fallback``. A DEM covering none of the pairs raises
    :class:`~covgap.errors.InputFileError` naming it; a terrain model without a DEM
    raises :class:`~covgap.errors.ScenarioError`. The
    terrain-free named models ignore the DEM. Calibration terms
    (``clutter_offset_db``, ``clutter_slope_db_per_decade``) apply as in
    :func:`assess_villages`.
    """
    _check_settings(settings)
    terrain_name = _terrain_choice(settings, dem)
    if not isinstance(villages, gpd.GeoDataFrame) or not isinstance(candidates, gpd.GeoDataFrame):
        raise SchemaError("candidates and villages must be GeoDataFrames (EPSG:4326 points)")
    _require_columns(candidates, ("tower_id",), "candidates")
    ids = candidates["tower_id"].astype(str)
    if ids.duplicated().any():
        raise SchemaError(
            f"candidates: duplicate tower_id {ids[ids.duplicated()].iloc[0]!r}",
            column="tower_id",
        )
    _, v_lon, v_lat, env = _village_arrays(villages, settings)
    n = len(villages)
    extra_db = _clutter_losses(settings)[env]
    sectors = _prepare_sectors(candidates, settings)
    _check_longitude_span(v_lon, sectors, "candidates")
    empty_i = np.zeros(0, dtype=np.int64)
    empty_f = np.zeros(0, dtype=np.float64)
    empty_b = np.zeros(0, dtype=np.bool_)
    if not (len(sectors.tower_id) and n):
        return CoverageMatrix(
            empty_i,
            empty_i,
            empty_f,
            empty_f,
            empty_b,
            empty_f,
            np.zeros(0, dtype=object),
            empty_b,
            empty_b,
            len(candidates),
            n,
            0,
        )
    pairs = _pairs_in_reach(
        np.arange(n, dtype=np.int64),
        np.radians(v_lat),
        np.radians(v_lon),
        env,
        extra_db,
        sectors,
        _kernel_model_code(settings),
    )
    k, village, level, loss, dist, used, ext = (
        pairs.k,
        pairs.village,
        pairs.level_dbm,
        pairs.loss_db,
        pairs.distance_m,
        pairs.model,
        pairs.extrapolated,
    )
    total = k.size
    slope_db = _clutter_slopes(settings)[env]
    if slope_db.any():  # calibration slope, dB per decade of distance (km)
        level = level + slope_db[village] * np.log10(np.maximum(dist / 1000.0, MIN_DISTANCE_KM))
    # sector position (sorted by grid cell) → candidate row
    cand_of_sector = pd.Index(ids.to_numpy()).get_indexer(pd.Index(sectors.tower_id.astype(str)))
    candidate = cand_of_sector[k].astype(np.int64)
    level_free = level.copy()
    terrain = np.zeros(total, dtype=np.bool_)
    n_fallback = 0
    if terrain_name is not None and total:
        t_loss, t_ext = _pair_terrain_loss_db(
            dem, terrain_name, settings, sectors, k, village, v_lon, v_lat, env, dist
        )
        answered = np.isfinite(t_loss)
        level = np.where(answered, level_free + loss - t_loss, level_free)
        used = np.where(answered, MODEL_NAMES.index(terrain_name), used)
        ext = np.where(answered, t_ext, ext)
        terrain = answered
        n_fallback = int((~answered).sum())
    tech = _codes(
        candidates["technology"], TECHNOLOGIES, "candidates", "technology", _rows(candidates)
    )[candidate]
    threshold = np.array(
        [
            settings.threshold_rxlev_dbm,
            settings.threshold_rscp_dbm,
            settings.threshold_rsrp_dbm,
            settings.threshold_rsrp_dbm,
        ]
    )[tech]
    order = np.lexsort((village, candidate))
    names = np.asarray(MODEL_NAMES, dtype=object)
    return CoverageMatrix(
        candidate=candidate[order],
        village=village[order],
        level_dbm=level[order],
        level_no_terrain_dbm=level_free[order],
        covered=(level >= threshold)[order],
        distance_m=dist[order],
        model=names[used[order]],
        extrapolated=ext[order],
        terrain=terrain[order],
        n_candidates=len(candidates),
        n_villages=n,
        n_terrain_fallback=n_fallback,
    )


__all__ = [
    "DEFAULT_CLUTTER_LOSS_DB",
    "EARTH_RADIUS_M",
    "GROUPS",
    "LTE_N_RB",
    "NR_N_RB_30KHZ",
    "OPERATORS",
    "OPERATOR_SLUGS",
    "AnalysisSettings",
    "Assessment",
    "CoverageMatrix",
    "assess_villages",
    "coverage_matrix",
    "resource_blocks",
    "summarise",
]
