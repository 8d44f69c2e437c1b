"""Build the bundled sample data set from the real base data in ``../shared/data``.

What is real: the 34 provinces and 3,321 communes (codes, names, a point inside
each commune, areas) and, for the far north, the commune polygons; the national
outline used to keep every point on land. What is synthetic: the villages'
positions inside their communes, their names, populations, electricity and
power dates, the measurements, and every tower (no public tower data set for
Vietnam exists, see ``../shared/data/SOURCES.md``).

Calibration: the generator draws a pool of candidate villages and towers, runs
covgap's own analysis on them (the same function and settings the demo uses),
and then *selects* which candidate villages go into the sample so that it holds
the programme's headline numbers (238 low-signal villages with electricity, 117
without). Villages do not affect each other's coverage, so a subset keeps each
village's status; the analysis never sees the target. Everything is drawn from
one seeded generator: the same seed gives the same files, byte for byte.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from .admin import REGION_OF_PROVINCE
from .analysis import AnalysisSettings, assess_villages
from .atomic import write_text_atomic
from .crs import outside_vietnam
from .errors import InputFileError

log = logging.getLogger(__name__)

#: Regions where terrain is mountainous: fewer towers, more villages without power.
MOUNTAIN_REGIONS = frozenset({"Northwest", "Northeast", "Central Highlands"})
OPERATOR_SHARE = {"Viettel": 0.44, "VNPT": 0.26, "MobiFone": 0.22, "Vietnamobile": 0.08}
OPERATOR_PREFIX = {"Viettel": "VTL", "VNPT": "VNP", "MobiFone": "MBF", "Vietnamobile": "VNM"}

_NORTH_PREFIX = ("Bản", "Thôn", "Bản", "Làng")
_CENTRE_PREFIX = ("Thôn", "Làng", "Buôn", "Thôn")
_SOUTH_PREFIX = ("Ấp", "Ấp", "Khóm", "Ấp")
_SYLLABLES = (
    "Nà",
    "Khuổi",
    "Pác",
    "Phìn",
    "Sín",
    "Tả",
    "Hạ",
    "Thượng",
    "Đông",
    "Tây",
    "Nam",
    "Bắc",
    "Tân",
    "Phú",
    "An",
    "Hòa",
    "Bình",
    "Lộc",
    "Mường",
    "Cốc",
    "Lũng",
    "Pải",
    "Chải",
    "Trung",
    "Thành",
    "Hưng",
    "Long",
    "Mỹ",
    "Thạnh",
    "Vĩnh",
    "Phước",
    "Sơn",
    "Lâm",
    "Khê",
    "Suối",
    "Đồng",
    "Bãi",
    "Cầu",
    "Rẫy",
    "Kon",
    "Plei",
    "Đắk",
    "Ea",
    "Hồ",
    "Cát",
    "Giang",
)


@dataclass(frozen=True)
class SampleSpec:
    """What the sample must hold (the programme's headline numbers by default)."""

    seed: int = 20250715
    n_villages: int = 3000
    n_gap_powered: int = 238
    n_gap_unpowered: int = 117
    pool_factor: float = 2.2
    measured_share: float = 0.06


@dataclass(frozen=True)
class SampleResult:
    """The selected villages and towers (canonical columns, EPSG:4326)."""

    villages: gpd.GeoDataFrame
    towers: gpd.GeoDataFrame
    counts: dict[str, int]


def shared_data_dir(start: Path | None = None) -> Path:
    """``../shared/data`` beside the project (the folder holding ``pyproject.toml``)."""
    here = (start or Path.cwd()).resolve()
    for base in (here, *here.parents):
        cand = base.parent / "shared" / "data"
        if (base / "pyproject.toml").exists() and cand.is_dir():
            return cand
    pkg = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
    if pkg.is_dir():
        return pkg
    raise InputFileError(
        "base data folder ../shared/data not found: the sample generator needs the real "
        "province and commune tables (the committed sample in data/ works without it)",
        file="../shared/data",
    )


def _provinces(shared: Path) -> gpd.GeoDataFrame:
    return pyogrio.read_dataframe(shared / "vn_provinces34.geojson", columns=["province_code"])


def _land(provinces: gpd.GeoDataFrame) -> shapely.Geometry:
    land = shapely.union_all(provinces.geometry.values)
    shapely.prepare(land)
    return land


def _keep_accepted(gdf: gpd.GeoDataFrame, provinces: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Drop points the loader would reject as outside Vietnam (same test, same tolerance)."""
    outside = outside_vietnam(gdf.geometry.x.to_numpy(), gdf.geometry.y.to_numpy(), provinces)
    return gdf.loc[~outside].reset_index(drop=True)


def _communes(shared: Path) -> pd.DataFrame:
    df = pd.read_csv(shared / "vn_communes.csv", dtype=str, keep_default_na=False)
    for col in ("lon", "lat", "area_km2"):
        df[col] = df[col].astype(float)
    df["region"] = df["province_code"].map(REGION_OF_PROVINCE)
    if df["region"].isna().any():
        missing = sorted(set(df.loc[df["region"].isna(), "province_code"]))
        raise InputFileError(f"no planning region for province codes {missing}", file="admin")
    df["mountain"] = df["region"].isin(MOUNTAIN_REGIONS)
    return df.sort_values("commune_code").reset_index(drop=True)


def _north_polygons(shared: Path) -> dict[str, shapely.Geometry]:
    path = shared / "vn_communes_north_sample.geojson"
    if not path.exists():
        return {}
    gdf = pyogrio.read_dataframe(path, columns=["commune_code"])
    return dict(zip(gdf["commune_code"].astype(str), gdf.geometry.values, strict=True))


def _offset_points(
    rng: np.random.Generator, lon: np.ndarray, lat: np.ndarray, radius_km: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Uniform points in discs of ``radius_km`` around (lon, lat) (small-offset approximation)."""
    r = radius_km * np.sqrt(rng.random(lon.size))
    theta = rng.random(lon.size) * 2 * np.pi
    dlat = (r * np.cos(theta)) / 111.32
    dlon = (r * np.sin(theta)) / (111.32 * np.cos(np.radians(lat)))
    return lon + dlon, lat + dlat


def _in_polygon(rng: np.random.Generator, poly: shapely.Geometry, n: int) -> np.ndarray:
    minx, miny, maxx, maxy = poly.bounds
    out: list[tuple[float, float]] = []
    while len(out) < n:
        xs = minx + rng.random(4 * n) * (maxx - minx)
        ys = miny + rng.random(4 * n) * (maxy - miny)
        inside = shapely.contains_xy(poly, xs, ys)
        out.extend(zip(xs[inside], ys[inside], strict=True))
    return np.array(out[:n])


def _place(
    rng: np.random.Generator,
    communes: pd.DataFrame,
    idx: np.ndarray,
    land: shapely.Geometry,
    polygons: dict[str, shapely.Geometry],
    *,
    spread: float,
    max_km: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Points inside the chosen communes (polygon where known, else a disc kept on land)."""
    c = communes.iloc[idx]
    radius = np.minimum(spread * np.sqrt(c["area_km2"].to_numpy() / np.pi), max_km)
    lon, lat = _offset_points(rng, c["lon"].to_numpy(), c["lat"].to_numpy(), radius)
    for _ in range(8):  # redraw points that fell into the sea or abroad
        bad = ~shapely.contains_xy(land, lon, lat)
        if not bad.any():
            break
        lon[bad], lat[bad] = _offset_points(
            rng, c["lon"].to_numpy()[bad], c["lat"].to_numpy()[bad], radius[bad] * 0.5
        )
    bad = ~shapely.contains_xy(land, lon, lat)
    lon[bad], lat[bad] = c["lon"].to_numpy()[bad], c["lat"].to_numpy()[bad]
    codes = c["commune_code"].to_numpy()
    for code in sorted(set(codes) & polygons.keys()):
        sel = np.flatnonzero(codes == code)
        pts = _in_polygon(rng, polygons[code], sel.size)
        lon[sel], lat[sel] = pts[:, 0], pts[:, 1]
    return np.round(lon, 6), np.round(lat, 6)


def _village_names(rng: np.random.Generator, regions: np.ndarray) -> list[str]:
    names: list[str] = []
    for region in regions:
        if region in ("Northwest", "Northeast"):
            prefix = _NORTH_PREFIX[rng.integers(len(_NORTH_PREFIX))]
        elif region in ("Southeast", "Mekong Delta"):
            prefix = _SOUTH_PREFIX[rng.integers(len(_SOUTH_PREFIX))]
        else:
            prefix = _CENTRE_PREFIX[rng.integers(len(_CENTRE_PREFIX))]
        a, b = rng.choice(len(_SYLLABLES), size=2, replace=False)
        name = f"{prefix} {_SYLLABLES[a]} {_SYLLABLES[b]}"
        if rng.random() < 0.25:
            name += f" {rng.integers(1, 6)}"
        names.append(name)
    return names


def _candidate_villages(
    rng: np.random.Generator,
    communes: pd.DataFrame,
    land: shapely.Geometry,
    polygons: dict[str, shapely.Geometry],
    n: int,
) -> gpd.GeoDataFrame:
    weight = np.where(communes["division_type"] == "xã", 1.0, 0.25)
    weight = weight * np.where(communes["mountain"], 1.6, 1.0)
    idx = np.sort(rng.choice(len(communes), size=n, replace=True, p=weight / weight.sum()))
    lon, lat = _place(rng, communes, idx, land, polygons, spread=0.8, max_km=9.0)
    c = communes.iloc[idx].reset_index(drop=True)
    seq = c.groupby("commune_code").cumcount().to_numpy() + 1
    mountain = c["mountain"].to_numpy()
    population = np.round(
        np.clip(rng.lognormal(np.log(np.where(mountain, 380, 750)), 0.6), 60, 6000)
    ).astype(np.int64)
    households = np.round(population / rng.uniform(3.6, 4.8, n)).astype(np.int64)
    p_unpowered = np.where(mountain, 0.30, 0.06)
    electrified = rng.random(n) >= p_unpowered
    eta_days = np.where(rng.random(n) < 0.85, rng.integers(20, 130, n), rng.integers(130, 260, n))
    start = np.datetime64("2025-07-15")
    power_eta = np.where(
        electrified, np.datetime64("NaT"), start + eta_days.astype("timedelta64[D]")
    )
    clutter = np.where(
        c["division_type"].to_numpy() == "phường",
        "urban_small_medium",
        np.where(rng.random(n) < 0.15, "suburban", "open_rural"),
    )
    clutter_or_none = _optional_text(clutter, ~(rng.random(n) < 0.3))  # else scenario default
    gdf = gpd.GeoDataFrame(
        {
            "village_id": [
                f"{code}{k:03d}" for code, k in zip(c["commune_code"], seq, strict=True)
            ],
            "name": _village_names(rng, c["region"].to_numpy()),
            "province_code": c["province_code"].to_numpy(),
            "province": c["province_name"].to_numpy(),
            "commune_code": c["commune_code"].to_numpy(),
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
    return gdf


def _candidate_towers(
    rng: np.random.Generator,
    communes: pd.DataFrame,
    land: shapely.Geometry,
    polygons: dict[str, shapely.Geometry],
) -> gpd.GeoDataFrame:
    urban = (communes["division_type"] != "xã").to_numpy()
    mountain = communes["mountain"].to_numpy()
    lam = np.where(urban, 1.6, np.where(mountain, 0.28, 0.85))
    n_sites = rng.poisson(lam)
    idx = np.repeat(np.arange(len(communes)), n_sites)
    lon, lat = _place(rng, communes, idx, land, polygons, spread=0.6, max_km=6.0)
    ops = list(OPERATOR_SHARE)
    op_idx = rng.choice(len(ops), size=idx.size, p=np.array(list(OPERATOR_SHARE.values())))
    rows: list[dict[str, object]] = []
    counters = dict.fromkeys(ops, 0)
    for i, ci in enumerate(idx):
        op = ops[op_idx[i]]
        counters[op] += 1
        site_id = f"{OPERATOR_PREFIX[op]}-{counters[op]:05d}"
        is_urban = bool(urban[ci])
        height = float(np.round(rng.uniform(18, 32) if is_urban else rng.uniform(25, 45)))
        status = "planned" if rng.random() < 0.03 else "active"
        backhaul = (
            "fibre"
            if (is_urban or rng.random() < 0.55)
            else ("microwave" if rng.random() < 0.85 else "satellite")
        )
        power = "grid" if rng.random() < 0.9 else ("solar" if rng.random() < 0.7 else "generator")
        rot = float(rng.integers(0, 120))
        band = rng.choice([1800, 2100, 900, 2600], p=[0.6, 0.15, 0.15, 0.1])
        bw = {900: 5.0, 1800: 20.0, 2100: 15.0, 2600: 20.0}[int(band)]
        base = {
            "site_id": site_id,
            "operator": op,
            "height_m": height,
            "status": status,
            "backhaul": backhaul,
            "power": power,
            "lon": lon[i],
            "lat": lat[i],
        }
        for k in range(3):
            rows.append(
                base
                | {
                    "tower_id": f"{site_id}-L{k + 1}",
                    "technology": "4G",
                    "frequency_mhz": float(band),
                    "bandwidth_mhz": bw,
                    "eirp_dbm": float(np.round(rng.uniform(57.5, 61.0), 1)),
                    "azimuth_deg": (rot + 120 * k) % 360,
                    "beamwidth_deg": 65.0,
                }
            )
        if rng.random() < 0.7:
            rows.append(
                base
                | {
                    "tower_id": f"{site_id}-G1",
                    "technology": "2G",
                    "frequency_mhz": 900.0,
                    "bandwidth_mhz": 0.2,
                    "eirp_dbm": float(np.round(rng.uniform(52, 56), 1)),
                    "azimuth_deg": np.nan,
                    "beamwidth_deg": np.nan,
                }
            )
        if rng.random() < 0.5:
            rows.append(
                base
                | {
                    "tower_id": f"{site_id}-U1",
                    "technology": "3G",
                    "frequency_mhz": 2100.0,
                    "bandwidth_mhz": 5.0,
                    "eirp_dbm": float(np.round(rng.uniform(55, 59), 1)),
                    "azimuth_deg": np.nan,
                    "beamwidth_deg": np.nan,
                }
            )
        if is_urban and rng.random() < 0.45:
            for k in range(3):
                rows.append(
                    base
                    | {
                        "tower_id": f"{site_id}-N{k + 1}",
                        "technology": "5G",
                        "frequency_mhz": float(rng.choice([2600.0, 3500.0, 3700.0])),
                        "bandwidth_mhz": 100.0,
                        "eirp_dbm": float(np.round(rng.uniform(70, 74), 1)),
                        "azimuth_deg": (rot + 120 * k) % 360,
                        "beamwidth_deg": 65.0,
                    }
                )
    df = pd.DataFrame(rows)
    df = df.sort_values(["site_id", "tower_id"], kind="stable").reset_index(drop=True)
    gdf = gpd.GeoDataFrame(
        {
            "tower_id": df["tower_id"],
            "site_id": df["site_id"],
            "operator": df["operator"],
            "technology": df["technology"],
            "frequency_mhz": df["frequency_mhz"],
            "bandwidth_mhz": df["bandwidth_mhz"],
            "height_m": df["height_m"],
            "eirp_dbm": df["eirp_dbm"],
            "azimuth_deg": df["azimuth_deg"].astype(float),
            "beamwidth_deg": df["beamwidth_deg"].astype(float),
            "status": df["status"],
            "backhaul": df["backhaul"],
            "power": df["power"],
            "source_row": np.arange(1, len(df) + 1, dtype=np.int64),
        },
        geometry=gpd.points_from_xy(df["lon"], df["lat"]),
        crs="EPSG:4326",
    )
    return gdf


def _add_measurements(
    rng: np.random.Generator, villages: gpd.GeoDataFrame, assessed: gpd.GeoDataFrame, share: float
) -> gpd.GeoDataFrame:
    """Drive-test style measurements for a share of villages: prediction + 6 dB noise."""
    out = villages.copy()
    n = len(out)
    pick = rng.random(n) < share
    predicted = assessed["best_rsrp_dbm"].to_numpy()
    noise = rng.normal(0.0, 6.0, n)
    measured = np.where(np.isnan(predicted), rng.uniform(-132, -118, n), predicted + noise)
    measured = np.round(np.clip(measured, -140.0, -44.0), 1)
    out["measured_rsrp_dbm"] = np.where(pick, measured, np.nan)
    give_op = pick & (rng.random(n) < 0.5) & assessed["best_operator"].notna().to_numpy()
    ops = assessed["best_operator"].astype(object).to_numpy()
    out["measured_operator"] = _optional_text(ops, give_op)
    return out


def build_sample(
    shared: Path,
    *,
    spec: SampleSpec | None = None,
    analysis: AnalysisSettings | None = None,
) -> SampleResult:
    """Generate the sample (see the module docstring). Pure: writes nothing."""
    spec = spec or SampleSpec()
    analysis = analysis or AnalysisSettings()
    rng = np.random.default_rng(spec.seed)
    provinces = _provinces(shared)
    land = _land(provinces)
    communes = _communes(shared)
    polygons = _north_polygons(shared)
    towers = _keep_accepted(_candidate_towers(rng, communes, land, polygons), provinces)
    towers["source_row"] = np.arange(1, len(towers) + 1, dtype=np.int64)
    pool = _keep_accepted(
        _candidate_villages(rng, communes, land, polygons, int(spec.n_villages * spec.pool_factor)),
        provinces,
    )
    first = assess_villages(pool, towers, analysis).villages
    pool = _add_measurements(rng, pool, first, spec.measured_share)
    assessed = assess_villages(pool, towers, analysis).villages
    group = assessed["group"].to_numpy()

    def pick(mask: np.ndarray, k: int, what: str) -> np.ndarray:
        cand = np.flatnonzero(mask)
        if cand.size < k:
            raise InputFileError(
                f"sample calibration failed: only {cand.size} candidate {what} villages for {k}; "
                "raise pool_factor",
                file=str(shared),
            )
        return np.sort(rng.choice(cand, size=k, replace=False))

    n_cov = spec.n_villages - spec.n_gap_powered - spec.n_gap_unpowered
    chosen = np.sort(
        np.concatenate(
            [
                pick(group == "low_signal_powered", spec.n_gap_powered, "low-signal powered"),
                pick(group == "low_signal_unpowered", spec.n_gap_unpowered, "low-signal unpowered"),
                pick(group == "covered", n_cov, "covered"),
            ]
        )
    )
    villages = pool.iloc[chosen].reset_index(drop=True)
    gap = assessed["group"].to_numpy()[chosen] != "covered"
    ops = np.array(list(OPERATOR_SHARE))
    assign = gap & (rng.random(len(villages)) < 0.5)
    drawn = ops[rng.integers(0, len(ops), len(villages))]
    villages["assigned_operator"] = _optional_text(drawn, assign)
    villages["source_row"] = np.arange(1, len(villages) + 1, dtype=np.int64)
    counts = {
        "villages": len(villages),
        "low_signal_powered": spec.n_gap_powered,
        "low_signal_unpowered": spec.n_gap_unpowered,
        "towers": len(towers),
        "sites": int(towers["site_id"].nunique()),
    }
    return SampleResult(villages=villages, towers=towers, counts=counts)


def _optional_text(values: np.ndarray, keep: np.ndarray) -> pd.Series:
    """Text where ``keep``, else None (object dtype, so None stays None)."""
    return pd.Series(
        [str(v) if k else None for v, k in zip(values, keep, strict=True)], dtype="object"
    )


def _iso(value: Any) -> str | None:
    if value is None or pd.isna(value):
        return None
    return pd.Timestamp(value).strftime("%Y-%m-%d")


def villages_geojson(villages: gpd.GeoDataFrame) -> str:
    """The villages as RFC 7946 GeoJSON text (lon/lat, 6 decimals, ids as text)."""
    feats = []
    for rec, geom in zip(
        villages.drop(columns=["geometry", "source_row"]).to_dict("records"),
        villages.geometry.values,
        strict=True,
    ):
        props: dict[str, Any] = {}
        for k, v in rec.items():
            if k == "power_eta":
                props[k] = _iso(v)
            elif (isinstance(v, float) and np.isnan(v)) or v is pd.NA or v is None:
                props[k] = None
            elif isinstance(v, np.integer):
                props[k] = int(v)
            elif isinstance(v, np.bool_ | bool):
                props[k] = bool(v)
            else:
                props[k] = v
        feats.append(
            {
                "type": "Feature",
                "properties": props,
                "geometry": {"type": "Point", "coordinates": [round(geom.x, 6), round(geom.y, 6)]},
            }
        )
    lines = ",\n".join(json.dumps(f, ensure_ascii=False, separators=(",", ":")) for f in feats)
    return '{"type":"FeatureCollection","features":[\n' + lines + "\n]}\n"


def towers_csv(towers: gpd.GeoDataFrame) -> str:
    """The towers as a lon/lat CSV (EPSG:4326)."""
    df = pd.DataFrame(towers.drop(columns=["geometry", "source_row"]))
    df.insert(0, "lon", np.round(towers.geometry.x.to_numpy(), 6))
    df.insert(1, "lat", np.round(towers.geometry.y.to_numpy(), 6))
    cols = [
        "tower_id",
        "site_id",
        "operator",
        "technology",
        "frequency_mhz",
        "bandwidth_mhz",
        "height_m",
        "eirp_dbm",
        "azimuth_deg",
        "beamwidth_deg",
        "status",
        "backhaul",
        "power",
        "lon",
        "lat",
    ]
    return df[cols].to_csv(index=False, lineterminator="\n")


def write_sample(result: SampleResult, villages_path: Path, towers_path: Path) -> None:
    """Write the sample files atomically."""
    write_text_atomic(villages_path, villages_geojson(result.villages))
    write_text_atomic(towers_path, towers_csv(result.towers))


def spec_with(**changes: object) -> SampleSpec:
    """A :class:`SampleSpec` with some fields changed (for the CLI)."""
    return dataclasses.replace(SampleSpec(), **changes)  # type: ignore[arg-type]


__all__ = [
    "SampleResult",
    "SampleSpec",
    "build_sample",
    "shared_data_dir",
    "towers_csv",
    "villages_geojson",
    "write_sample",
]
