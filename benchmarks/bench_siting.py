"""Benchmark: site planning on the sample's gap villages (DESIGN §9, issue 5; not run by CI).

Cases, each printing the candidates, CP-SAT's status, cost (or population), bound, gap,
wall time, and the greedy set cover's figure on the same data with the ratio:

1. **sample, min cost** — the committed sample (``data/``, 355 gap villages after the
   analysis with the default settings), every candidate kind, ring candidates (no DEM):
   ≥ 2,000 candidates; floor: proven optimal or ≤ 1 % gap in ≤ 30 s on 2 cores;
2. **sample, budget** — the same with a capex budget of half the min-cost plan's capex
   (most population newly covered);
3. **dense synthetic** — ``--dense N`` gap villages (default 2,000) drawn in a 60 × 60 km
   mountain block with 40 existing sites, so candidates overlap heavily and the cover
   does not split into tiny independent parts (the hard case for the solver).

The analysis stage's numba kernels are compiled in a warm-up run, timed apart.

Run from outside the repository root, e.g.
``cd /tmp && /work/main/.venv/bin/python /work/main/benchmarks/bench_siting.py``.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import time
from pathlib import Path

import geopandas as gpd
import numba
import numpy as np
import pandas as pd

from covgap.analysis import AnalysisSettings, assess_villages
from covgap.io import load_towers, load_villages
from covgap.siting import SitePlan, SitingSettings, plan_sites

PROJECT = Path(__file__).resolve().parents[1]


def _bn(vnd: float) -> str:
    return f"{vnd / 1e9:,.2f} bn VND"


def report(label: str, plan: SitePlan, wall_s: float, budget: bool) -> None:
    cands = plan.candidates
    n_cand = 0 if cands is None else len(cands)
    n_places = 0 if cands is None else cands["location_id"].nunique()
    kinds = "" if cands is None else ", ".join(
        f"{k} {int((cands['kind'] == k).sum())}" for k in ("new", "upgrade", "colocation")
    )  # fmt: skip
    print(f"== {label}")
    print(f"   candidates: {n_cand:,} ({kinds}) at {n_places:,} places")
    print(
        f"   plan: {len(plan.sites)} sites, {plan.population_covered:,} people, "
        f"{len(plan.uncoverable)} gap villages without a site"
    )
    if budget:
        ratio = plan.greedy_population / plan.population_covered if plan.population_covered else 0
        print(
            f"   CP-SAT {plan.status}: population {plan.population_covered:,}, bound "
            f"{plan.population_bound:,}, gap {plan.gap:.3%}; cost {_bn(plan.objective_vnd)}"
        )
        print(
            f"   greedy: population {plan.greedy_population:,} (greedy / CP-SAT = {ratio:.4f}), "
            f"cost {_bn(plan.greedy_cost_vnd)}"
        )
    else:
        ratio = plan.greedy_cost_vnd / plan.objective_vnd if plan.objective_vnd else 0
        print(
            f"   CP-SAT {plan.status}: cost {_bn(plan.objective_vnd)}, bound "
            f"{_bn(plan.bound_vnd)}, gap {plan.gap:.3%}"
        )
        print(f"   greedy: cost {_bn(plan.greedy_cost_vnd)} (greedy / CP-SAT = {ratio:.4f})")
    print(f"   time: plan_sites {wall_s:.2f} s wall, of which CP-SAT {plan.solve_time_s:.2f} s")
    ok = plan.status == "OPTIMAL" or (plan.gap <= 0.01)
    met = "met" if ok and wall_s <= 30 else "NOT met"
    print(f"   floor (optimal or ≤ 1 % gap in ≤ 30 s): {met}")


def timed(
    villages: gpd.GeoDataFrame, towers: gpd.GeoDataFrame | None, settings: SitingSettings
) -> tuple[SitePlan, float]:
    t0 = time.perf_counter()
    plan = plan_sites(villages, towers, settings)
    return plan, time.perf_counter() - t0


def dense_case(n: int, side_km: float, seed: int) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """``n`` gap villages and 40 tower sites (2G only: no 4G coverage yet) in a
    ``side_km`` square block of the northern mountains; half electrified, a quarter
    assigned to an operator."""
    rng = np.random.default_rng(seed)
    lon0, lat0 = 103.2, 21.4
    dlon = side_km * 1000 / (111_320 * np.cos(np.radians(lat0)))
    dlat = side_km * 1000 / 110_574
    lon = lon0 + rng.uniform(0, dlon, n)
    lat = lat0 + rng.uniform(0, dlat, n)
    elec = rng.random(n) < 0.5
    ops = np.array(["Viettel", "VNPT", "MobiFone", "Vietnamobile"], dtype=object)
    assigned = np.where(rng.random(n) < 0.25, ops[rng.integers(0, 4, n)], None)
    eta = pd.to_datetime("2025-08-01") + pd.to_timedelta(rng.integers(0, 150, n), unit="D")
    villages = gpd.GeoDataFrame(
        {
            "village_id": [f"D{i:05d}" for i in range(n)],
            "name": [f"Bản D{i}" for i in range(n)],
            "province_code": "15",
            "province": "Lào Cai",
            "commune_code": [f"{4000 + i % 60:05d}" for i in range(n)],
            "population": rng.integers(80, 1500, n),
            "electrified": elec,
            "power_eta": pd.Series(np.where(elec, pd.NaT, eta)).astype("datetime64[s]"),
            "assigned_operator": pd.Series(assigned, dtype=object),
            "group": np.where(elec, "low_signal_powered", "low_signal_unpowered"),
            **{
                f"rsrp_{s}_dbm": np.where(rng.random(n) < 0.3, rng.uniform(-130, -111, n), np.nan)
                for s in ("viettel", "vnpt", "mobifone", "vietnamobile")
            },
        },
        geometry=gpd.points_from_xy(lon, lat),
        crs="EPSG:4326",
    )
    m = 40
    tlon = lon0 + rng.uniform(0, dlon, m)
    tlat = lat0 + rng.uniform(0, dlat, m)
    towers = gpd.GeoDataFrame(
        {
            "tower_id": [f"T{i:03d}" for i in range(m)],
            "site_id": [f"T{i:03d}" for i in range(m)],
            "operator": ops[rng.integers(0, 4, m)],
            "technology": "2G",
            "frequency_mhz": 900.0,
            "bandwidth_mhz": 0.2,
            "height_m": rng.uniform(20, 45, m).round(),
            "eirp_dbm": 55.0,
            "status": "active",
            "backhaul": np.where(rng.random(m) < 0.5, "fibre", "microwave"),
            "power": np.where(rng.random(m) < 0.7, "grid", "solar"),
        },
        geometry=gpd.points_from_xy(tlon, tlat),
        crs="EPSG:4326",
    )
    return villages, towers


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dense", type=int, default=2000, help="gap villages of case 3 (0: skip)")
    ap.add_argument("--dense-km", type=float, default=150.0, help="side of case 3's block, km")
    ap.add_argument("--only-dense", action="store_true", help="skip the sample cases")
    ap.add_argument("--seed", type=int, default=20250715)
    args = ap.parse_args()
    print(
        f"machine: {platform.platform()}, {platform.processor() or platform.machine()}, "
        f"cpu_count={os.cpu_count()}, numba threads={numba.get_num_threads()}"
    )
    analysis = AnalysisSettings()
    villages = load_villages(PROJECT / "data" / "villages" / "villages.geojson").gdf
    towers = load_towers(PROJECT / "data" / "towers" / "towers.csv").gdf
    assessed = assess_villages(villages, towers, analysis).villages
    n_gap = int((assessed["group"] != "covered").sum())
    print(f"sample: {len(villages):,} villages, {n_gap} gap villages, {len(towers):,} sector rows")
    settings = SitingSettings(analysis=analysis)

    t0 = time.perf_counter()
    plan_sites(assessed.head(400), towers, settings)  # compiles the kernels
    print(f"warm-up (numba compile / cache load): {time.perf_counter() - t0:.2f} s")

    if not args.only_dense:
        plan, wall = timed(assessed, towers, settings)
        report("1. sample, min cost (per operator)", plan, wall, budget=False)
        n_cand = 0 if plan.candidates is None else len(plan.candidates)
        print(f"   candidates ≥ 2,000: {'yes' if n_cand >= 2000 else 'NO'}")

        budget = 0.5 * float(plan.sites["capex_vnd"].sum())
        plan_b, wall_b = timed(assessed, towers, dataclasses.replace(settings, budget_vnd=budget))
        report(f"2. sample, budget {_bn(budget)} capex", plan_b, wall_b, budget=True)

    if args.dense > 0:
        dv, dt_ = dense_case(args.dense, args.dense_km, args.seed)
        plan_d, wall_d = timed(dv, dt_, settings)
        report(
            f"3. dense synthetic, {args.dense:,} gap villages in {args.dense_km:g} km square, "
            "min cost",
            plan_d,
            wall_d,
            False,
        )
        plan_db, wall_db = timed(
            dv,
            dt_,
            dataclasses.replace(settings, budget_vnd=0.5 * float(plan_d.sites["capex_vnd"].sum())),
        )
        report("4. dense synthetic, half the capex as budget", plan_db, wall_db, budget=True)


if __name__ == "__main__":
    main()
