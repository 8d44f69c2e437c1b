"""The national synthetic case (``covgap sample --national``): Vietnam at full scale.

≈ 100 k villages and ≈ 120 k sites of ≈ 3 sectors each (DESIGN §1, §8, §9), on the same
contracts as the bundled sample (:mod:`covgap.sample`, whose helpers this module reuses):
canonical villages and towers columns, EPSG:4326 points, seeded, byte-identical files for
the same seed.

What is real: the 34 provinces and 3,321 communes of 1 July 2025 (codes, names, a point
inside each commune, areas), the far north's commune polygons, the national outline that
keeps every point on land, and the 898 GeoNames populated places of
``../shared/data/vn_populated_places.csv``. What is synthetic: every village and every
tower (no public tower data set for Vietnam exists, see ``../shared/data/SOURCES.md``).

**Where villages go** — in proportion to real place density. Every commune and every
populated place is a *seed*; a village picks a seed with probability proportional to its
weight, then a position around it (inside the commune polygon where one is known, else a
disc of the commune's size kept on land, as the sample does):

* a commune weighs by its kind (xã 1, đặc khu 0.6, phường 0.3: rural communes hold the
  hamlets), by its area (``(area / median area)^0.35``: bigger communes hold more hamlets,
  sub-linearly) and by terrain (×1.3 in the mountain regions, where hamlets are small and
  many);
* a populated place weighs ``1 + log10(1 + population)/2``; ``place_share`` of the
  villages (15 %) are drawn around places, in a disc of ≈ 2.5 km, so towns and their
  surroundings are denser, as they are.

**Where sites go** — the same seeds with weights for networks: phường 2.5, xã 1 (0.55 in
the mountains), đặc khu 1, times ``(area / median area)^0.3``; 10 % around populated
places. Operators by national share (Viettel 44 %, VNPT 26 %, MobiFone 22 %,
Vietnamobile 8 %). Every site has three 4G sectors (azimuths 120° apart, 65° beams;
1800/2100/900/2600 MHz); ``share_5g`` of the sites (57.5 %: 68,457 5G sites planned
for ≈ 119 k 4G sites, DESIGN §1) add three 5G sectors (2600/3500/3700 MHz, 100 MHz),
urban sites first; ``share_2g`` an omni 2G carrier (900 MHz) and ``share_3g`` an omni 3G
carrier (2100 MHz). Heights, EIRPs, backhaul and power are drawn as in the sample.

**Village attributes** as in the sample (populations log-normal, a third of mountain
villages without grid power, power dates within 2025–26, clutter from the commune kind).
When ``measured_share`` or ``assigned_share`` is > 0, one analysis pass (the caller's
:class:`~covgap.analysis.AnalysisSettings`) gives drive-test-like measurements
(prediction + 6 dB noise) to ``measured_share`` of the villages, and a ministry-assigned
operator to ``assigned_share`` of the villages that pass finds low-signal. Unlike the
sample, nothing is calibrated to a target count: the national gap share is whatever the
network above leaves (printed by the CLI).

Pure: :func:`build_national` writes nothing; :func:`write_national` writes the files
(GeoJSON or GeoParquet villages, CSV or GeoParquet towers) atomically.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely

from .analysis import OPERATORS, AnalysisSettings, assess_villages
from .atomic import atomic_path, write_text_atomic
from .errors import InputFileError, UsageError
from .sample import (
    _CENTRE_PREFIX,
    _NORTH_PREFIX,
    _SOUTH_PREFIX,
    _SYLLABLES,
    OPERATOR_PREFIX,
    OPERATOR_SHARE,
    SampleResult,
    _add_measurements,
    _communes,
    _keep_accepted,
    _land,
    _north_polygons,
    _optional_text,
    _place,
    _provinces,
    towers_csv,
    villages_geojson,
    write_sample,
)

__all__ = [
    "NationalSpec",
    "build_national",
    "national_spec",
    "write_national",
]


@dataclass(frozen=True)
class NationalSpec:
    """Size and mix of the national synthetic case (shares are fractions in 0…1)."""

    #: seed of the one generator everything is drawn from
    seed: int = 20250715
    #: villages (exact count)
    n_villages: int = 100_000
    #: sites (exact count); each has three 4G sectors
    n_sites: int = 120_000
    #: share of sites with three 5G sectors (68,457 / ≈ 119 k, DESIGN §1)
    share_5g: float = 0.575
    #: share of sites with an omni 2G carrier
    share_2g: float = 0.7
    #: share of sites with an omni 3G carrier
    share_3g: float = 0.5
    #: share of villages drawn around the GeoNames populated places (the rest by commune)
    place_share: float = 0.15
    #: share of sites drawn around the populated places
    site_place_share: float = 0.10
    #: share of sites with status "planned" (not counted by the analysis)
    planned_share: float = 0.03
    #: share of villages with a measured RSRP (needs one analysis pass when > 0)
    measured_share: float = 0.02
    #: share of the low-signal villages with a ministry-assigned operator (analysis pass)
    assigned_share: float = 0.5


def national_spec(**changes: object) -> NationalSpec:
    """A :class:`NationalSpec` with some fields changed (for the CLI); checks the values."""
    spec = replace(NationalSpec(), **changes)  # type: ignore[arg-type]
    for name in ("n_villages", "n_sites"):
        value = getattr(spec, name)
        if not (isinstance(value, int) and value >= 1):
            raise UsageError(f"{name} = {value!r}: expected an integer ≥ 1")
    for name in (
        "share_5g",
        "share_2g",
        "share_3g",
        "place_share",
        "site_place_share",
        "planned_share",
        "measured_share",
        "assigned_share",
    ):
        value = getattr(spec, name)
        if not (isinstance(value, int | float) and 0.0 <= value <= 1.0):
            raise UsageError(f"{name} = {value!r}: expected a share between 0 and 1")
    if not (isinstance(spec.seed, int) and spec.seed >= 0):
        raise UsageError(f"seed = {spec.seed!r}: expected an integer ≥ 0")
    return spec


# --------------------------------------------------------------------------- seeds


def _places(shared: Path, communes: pd.DataFrame) -> pd.DataFrame:
    """GeoNames populated places as seeds: their point, their commune's attributes."""
    path = shared / "vn_populated_places.csv"
    if not path.exists():
        raise InputFileError("populated places table is missing", file=str(path))
    p = pd.read_csv(path, dtype=str, keep_default_na=False)
    p = p.loc[p["commune_code"].isin(communes["commune_code"])].copy()
    pop = pd.to_numeric(p["population"], errors="coerce").fillna(0.0).clip(lower=0.0)
    by_code = communes.set_index("commune_code")
    seeds = by_code.loc[p["commune_code"]].reset_index()
    seeds["lon"] = p["lon"].astype(float).to_numpy()
    seeds["lat"] = p["lat"].astype(float).to_numpy()
    # a disc of ≈ 2.5 km at spread 0.8: area π (2.5/0.8)² ≈ 30.7 km², never wider than the commune
    seeds["area_km2"] = np.minimum(seeds["area_km2"].to_numpy(), 30.7)
    seeds["place_weight"] = 1.0 + np.log10(1.0 + pop.to_numpy()) / 2.0
    return seeds.sort_values(["commune_code", "lon", "lat"], kind="stable").reset_index(drop=True)


def _village_weight(communes: pd.DataFrame) -> npt.NDArray[np.float64]:
    kind = communes["division_type"].to_numpy()
    base = np.where(kind == "xã", 1.0, np.where(kind == "phường", 0.3, 0.6))
    area = communes["area_km2"].to_numpy(dtype=np.float64)
    size = (np.maximum(area, 0.5) / float(np.median(area))) ** 0.35
    return base * size * np.where(communes["mountain"].to_numpy(), 1.3, 1.0)


def _site_weight(communes: pd.DataFrame) -> npt.NDArray[np.float64]:
    kind = communes["division_type"].to_numpy()
    mountain = communes["mountain"].to_numpy()
    base = np.where(
        kind == "phường", 2.5, np.where(kind == "xã", np.where(mountain, 0.55, 1.0), 1.0)
    )
    area = communes["area_km2"].to_numpy(dtype=np.float64)
    return base * (np.maximum(area, 0.5) / float(np.median(area))) ** 0.3


def _draw(
    rng: np.random.Generator,
    seeds: pd.DataFrame,
    weight: npt.NDArray[np.float64],
    n: int,
    land: shapely.Geometry,
    polygons: dict[str, shapely.Geometry],
    provinces: gpd.GeoDataFrame,
    *,
    spread: float,
    max_km: float,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Exactly ``n`` points the loaders accept: seed index, lon, lat; sorted by seed."""
    if n == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0), np.zeros(0)
    p = weight / weight.sum()
    got_idx: list[npt.NDArray[np.int64]] = []
    got_lon: list[npt.NDArray[np.float64]] = []
    got_lat: list[npt.NDArray[np.float64]] = []
    have = 0
    for _ in range(20):
        want = n - have
        k = want + max(16, int(0.02 * want))
        idx = np.sort(rng.choice(len(seeds), size=k, replace=True, p=p))
        lon, lat = _place(rng, seeds, idx, land, polygons, spread=spread, max_km=max_km)
        probe = gpd.GeoDataFrame(geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326")
        probe["i"] = np.arange(k)
        ok = _keep_accepted(probe, provinces)["i"].to_numpy()[:want]
        got_idx.append(idx[ok])
        got_lon.append(lon[ok])
        got_lat.append(lat[ok])
        have += ok.size
        if have >= n:
            break
    if have < n:
        raise InputFileError(
            f"could not place {n} points on land ({have} placed): check the base data",
            file="vn_provinces34.geojson",
        )
    idx = np.concatenate(got_idx)
    order = np.argsort(idx, kind="stable")
    return idx[order], np.concatenate(got_lon)[order], np.concatenate(got_lat)[order]


# --------------------------------------------------------------------------- villages


def _names(rng: np.random.Generator, regions: npt.NDArray[np.object_]) -> list[str]:
    """Hamlet names in the sample's style (Bản/Thôn/Ấp + two syllables), vectorised."""
    n = regions.size
    north = np.isin(regions, ["Northwest", "Northeast"])
    south = np.isin(regions, ["Southeast", "Mekong Delta"])
    k = rng.integers(0, 4, n)
    prefix = np.where(
        north,
        np.asarray(_NORTH_PREFIX, dtype=object)[k],
        np.where(south, np.asarray(_SOUTH_PREFIX, dtype=object)[k], np.asarray(_CENTRE_PREFIX)[k]),
    )
    syl = np.asarray(_SYLLABLES, dtype=object)
    a = rng.integers(0, syl.size, n)
    b = (a + rng.integers(1, syl.size, n)) % syl.size  # a different syllable
    number = np.where(rng.random(n) < 0.25, rng.integers(1, 6, n), 0)
    return [
        f"{p} {x} {y} {m}" if m else f"{p} {x} {y}"
        for p, x, y, m in zip(prefix, syl[a], syl[b], number, strict=True)
    ]


def _villages(
    rng: np.random.Generator,
    seeds: pd.DataFrame,
    idx: npt.NDArray[np.int64],
    lon: npt.NDArray[np.float64],
    lat: npt.NDArray[np.float64],
) -> gpd.GeoDataFrame:
    n = idx.size
    c = seeds.iloc[idx].reset_index(drop=True)
    # IDs: commune code + sequence in the commune, in (commune, position) order
    order = np.lexsort((lat, lon, c["commune_code"].to_numpy()))
    c = c.iloc[order].reset_index(drop=True)
    lon, lat = lon[order], lat[order]
    seq = c.groupby("commune_code", sort=False).cumcount().to_numpy() + 1
    width = max(3, len(str(int(seq.max())))) if n else 3
    mountain = c["mountain"].to_numpy(dtype=bool)
    population = np.round(
        np.clip(rng.lognormal(np.log(np.where(mountain, 380, 750)), 0.6), 60, 6000)
    ).astype(np.int64)
    households = np.round(population / rng.uniform(3.6, 4.8, n)).astype(np.int64)
    electrified = rng.random(n) >= np.where(mountain, 0.30, 0.06)
    eta_days = np.where(rng.random(n) < 0.85, rng.integers(20, 130, n), rng.integers(130, 260, n))
    power_eta = np.where(
        electrified,
        np.datetime64("NaT"),
        np.datetime64("2025-07-15") + eta_days.astype("timedelta64[D]"),
    )
    clutter = np.where(
        c["division_type"].to_numpy() == "phường",
        "urban_small_medium",
        np.where(rng.random(n) < 0.15, "suburban", "open_rural"),
    )
    clutter_or_none = _optional_text(clutter, ~(rng.random(n) < 0.3))  # else scenario default
    codes = c["commune_code"].to_numpy(dtype=object)
    return gpd.GeoDataFrame(
        {
            "village_id": [f"{code}{k:0{width}d}" for code, k in zip(codes, seq, strict=True)],
            "name": _names(rng, c["region"].to_numpy(dtype=object)),
            "province_code": c["province_code"].to_numpy(),
            "province": c["province_name"].to_numpy(),
            "commune_code": codes,
            "commune": c["commune_full_name"].to_numpy(),
            "population": population,
            "households": pd.array(households, dtype="Int64"),
            "electrified": electrified,
            "power_eta": pd.to_datetime(power_eta).astype("datetime64[s]"),
            "assigned_operator": pd.Series([None] * n, dtype=object),
            "measured_rsrp_dbm": np.full(n, np.nan),
            "measured_operator": pd.Series([None] * n, dtype=object),
            "clutter": clutter_or_none,
            "source_row": np.arange(1, n + 1, dtype=np.int64),
        },
        geometry=gpd.points_from_xy(lon, lat),
        crs="EPSG:4326",
    )


# --------------------------------------------------------------------------- towers


def _towers(
    rng: np.random.Generator,
    seeds: pd.DataFrame,
    idx: npt.NDArray[np.int64],
    lon: npt.NDArray[np.float64],
    lat: npt.NDArray[np.float64],
    spec: NationalSpec,
) -> gpd.GeoDataFrame:
    """Sector rows of the sites at (lon, lat), vectorised (the sample's draws, per site)."""
    n = idx.size
    urban = seeds["division_type"].to_numpy()[idx] != "xã"
    ops = np.asarray(list(OPERATOR_SHARE), dtype=object)
    op = ops[rng.choice(ops.size, size=n, p=np.array(list(OPERATOR_SHARE.values())))]
    prefix = np.asarray([OPERATOR_PREFIX[o] for o in OPERATORS], dtype=object)
    op_code = pd.Index(list(OPERATORS)).get_indexer(pd.Index(op))
    counter = pd.Series(op_code).groupby(op_code).cumcount().to_numpy() + 1
    site_id = np.asarray(
        [f"{p}-{k:06d}" for p, k in zip(prefix[op_code], counter, strict=True)], dtype=object
    )
    height = np.where(urban, np.round(rng.uniform(18, 32, n)), np.round(rng.uniform(25, 45, n)))
    status = np.where(rng.random(n) < spec.planned_share, "planned", "active")
    r1, r2, r3, r4 = rng.random((4, n))
    backhaul = np.where(urban | (r1 < 0.55), "fibre", np.where(r2 < 0.85, "microwave", "satellite"))
    power = np.where(r3 < 0.9, "grid", np.where(r4 < 0.7, "solar", "generator"))
    rot = rng.integers(0, 120, n).astype(np.float64)
    band = rng.choice([1800.0, 2100.0, 900.0, 2600.0], size=n, p=[0.6, 0.15, 0.15, 0.1])
    bw_4g = np.select([band == 900.0, band == 2100.0], [5.0, 15.0], 20.0)
    # 5G: urban sites first, at the share that makes the national total share_5g
    n_urban = int(urban.sum())
    p_urban = min(0.95, spec.share_5g * n / max(n_urban, 1))
    p_rural = (spec.share_5g * n - p_urban * n_urban) / max(n - n_urban, 1)
    has_5g = rng.random(n) < np.where(urban, p_urban, float(np.clip(p_rural, 0.0, 1.0)))
    has_2g = rng.random(n) < spec.share_2g
    has_3g = rng.random(n) < spec.share_3g
    band_5g = rng.choice([2600.0, 3500.0, 3700.0], size=n)

    parts: list[pd.DataFrame] = []

    def add(
        sel: npt.NDArray[np.bool_],
        suffix: str,
        tech: str,
        freq: object,
        bw: object,
        eirp: npt.NDArray[np.float64],
        azimuth: npt.NDArray[np.float64],
    ) -> None:
        ix = np.flatnonzero(sel)
        parts.append(
            pd.DataFrame(
                {
                    "site": ix,
                    "tower_id": site_id[ix] + suffix,
                    "technology": tech,
                    "frequency_mhz": np.broadcast_to(np.asarray(freq, dtype=np.float64), n)[ix],
                    "bandwidth_mhz": np.broadcast_to(np.asarray(bw, dtype=np.float64), n)[ix],
                    "eirp_dbm": eirp[ix],
                    "azimuth_deg": azimuth[ix],
                    "beamwidth_deg": np.where(np.isnan(azimuth[ix]), np.nan, 65.0),
                }
            )
        )

    every = np.ones(n, dtype=bool)
    omni = np.full(n, np.nan)
    for k in range(3):
        eirp = np.round(rng.uniform(57.5, 61.0, n), 1)
        add(every, f"-L{k + 1}", "4G", band, bw_4g, eirp, (rot + 120 * k) % 360)
    add(has_2g, "-G1", "2G", 900.0, 0.2, np.round(rng.uniform(52, 56, n), 1), omni)
    add(has_3g, "-U1", "3G", 2100.0, 5.0, np.round(rng.uniform(55, 59, n), 1), omni)
    for k in range(3):
        eirp = np.round(rng.uniform(70, 74, n), 1)
        add(has_5g, f"-N{k + 1}", "5G", band_5g, 100.0, eirp, (rot + 120 * k) % 360)
    df = pd.concat(parts, ignore_index=True)
    site = df["site"].to_numpy()
    df["site_id"] = site_id[site]
    df = df.iloc[np.lexsort((df["tower_id"].to_numpy(), df["site_id"].to_numpy()))]
    site = df["site"].to_numpy()
    rows = len(df)
    return gpd.GeoDataFrame(
        {
            "tower_id": df["tower_id"].to_numpy(dtype=object),
            "site_id": df["site_id"].to_numpy(dtype=object),
            "operator": op[site],
            "technology": df["technology"].to_numpy(dtype=object),
            "frequency_mhz": df["frequency_mhz"].to_numpy(),
            "bandwidth_mhz": df["bandwidth_mhz"].to_numpy(),
            "height_m": height[site],
            "eirp_dbm": df["eirp_dbm"].to_numpy(),
            "azimuth_deg": df["azimuth_deg"].to_numpy(dtype=np.float64),
            "beamwidth_deg": df["beamwidth_deg"].to_numpy(dtype=np.float64),
            "status": status[site].astype(object),
            "backhaul": backhaul[site].astype(object),
            "power": power[site].astype(object),
            "source_row": np.arange(1, rows + 1, dtype=np.int64),
        },
        geometry=gpd.points_from_xy(np.round(lon[site], 6), np.round(lat[site], 6)),
        crs="EPSG:4326",
    )


# --------------------------------------------------------------------------- build


def build_national(
    shared: Path,
    *,
    spec: NationalSpec | None = None,
    analysis: AnalysisSettings | None = None,
) -> SampleResult:
    """Generate the national case from the base data in ``shared`` (``../shared/data``).

    Returns villages and towers in the canonical columns (EPSG:4326) and counts
    (villages, towers, sites, and per group when an analysis pass ran). Pure: writes
    nothing. Same ``spec`` (seed included) and same base data → identical frames.
    """
    spec = national_spec(**spec.__dict__) if spec is not None else NationalSpec()
    analysis = analysis or AnalysisSettings()
    rng = np.random.default_rng(spec.seed)
    provinces = _provinces(shared)
    land = _land(provinces)
    communes = _communes(shared)
    polygons = _north_polygons(shared)
    places = _places(shared, communes)
    seeds = pd.concat([communes, places.drop(columns="place_weight")], ignore_index=True)
    n_c = len(communes)
    is_place = np.arange(len(seeds)) >= n_c

    def weights(commune_w: npt.NDArray[np.float64], place_share: float) -> npt.NDArray[np.float64]:
        w = np.zeros(len(seeds))
        w[:n_c] = commune_w / commune_w.sum() * (1.0 - place_share)
        pw = places["place_weight"].to_numpy()
        w[n_c:] = pw / pw.sum() * place_share
        return w

    s_idx, s_lon, s_lat = _draw(
        rng,
        seeds,
        weights(_site_weight(communes), spec.site_place_share),
        spec.n_sites,
        land,
        polygons,
        provinces,
        spread=0.7,
        max_km=8.0,
    )
    towers = _towers(rng, seeds, s_idx, s_lon, s_lat, spec)
    v_idx, v_lon, v_lat = _draw(
        rng,
        seeds,
        weights(_village_weight(communes), spec.place_share),
        spec.n_villages,
        land,
        polygons,
        provinces,
        spread=0.8,
        max_km=9.0,
    )
    villages = _villages(rng, seeds, v_idx, v_lon, v_lat)
    counts: dict[str, int] = {
        "villages": len(villages),
        "villages_near_places": int(is_place[v_idx].sum()),
        "towers": len(towers),
        "sites": int(towers["site_id"].nunique()),
    }
    if spec.measured_share > 0 or spec.assigned_share > 0:
        first = assess_villages(villages, towers, analysis).villages
        if spec.measured_share > 0:
            villages = _add_measurements(rng, villages, first, spec.measured_share)
        gap = first["low_signal"].to_numpy(dtype=bool)
        assign = gap & (rng.random(len(villages)) < spec.assigned_share)
        ops = np.asarray(OPERATORS, dtype=object)
        drawn = ops[rng.integers(0, ops.size, len(villages))]
        villages["assigned_operator"] = _optional_text(drawn, assign)
        counts["low_signal_first_pass"] = int(gap.sum())
    return SampleResult(villages=villages, towers=towers, counts=counts)


def write_national(result: SampleResult, villages_path: Path, towers_path: Path) -> None:
    """Write the national case atomically; the format follows each path's suffix.

    Villages: ``.geojson`` (RFC 7946, as the sample) or ``.parquet`` (GeoParquet, what
    ``covgap.io`` reads fastest at this size). Towers: ``.csv`` (lon/lat, as the sample) or
    ``.parquet``. Other suffixes are refused.
    """
    v_suffix = villages_path.suffix.lower()
    t_suffix = towers_path.suffix.lower()
    if v_suffix not in (".geojson", ".parquet"):
        raise UsageError(f"{villages_path}: national villages are written as .geojson or .parquet")
    if t_suffix not in (".csv", ".parquet"):
        raise UsageError(f"{towers_path}: national towers are written as .csv or .parquet")
    if v_suffix == ".geojson" and t_suffix == ".csv":
        write_sample(result, villages_path, towers_path)
        return
    if v_suffix == ".geojson":
        write_text_atomic(villages_path, villages_geojson(result.villages))
    else:
        _write_parquet(result.villages, villages_path)
    if t_suffix == ".csv":
        write_text_atomic(towers_path, towers_csv(result.towers))
    else:
        _write_parquet(result.towers, towers_path)


def _write_parquet(gdf: gpd.GeoDataFrame, path: Path) -> None:
    """GeoParquet without ``source_row`` (the loaders number rows), text columns as text."""
    out = gdf.drop(columns=["source_row"])
    if "power_eta" in out.columns:
        eta = out["power_eta"]
        out["power_eta"] = pd.Series(
            np.where(eta.isna(), None, eta.dt.strftime("%Y-%m-%d")), index=out.index, dtype=object
        )
    with atomic_path(path) as tmp:
        out.to_parquet(tmp, index=False, compression="zstd", write_covering_bbox=False)
