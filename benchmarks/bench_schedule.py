"""Scheduler yardstick on the sample (DESIGN §9): CP-SAT beside the greedy.

Builds the sample's sites (``data/villages``, ``data/towers`` → analysis → siting), then
prints, for the greedy earliest-deadline-first yardstick and for CP-SAT runs: sites late,
late days, tardiness (ticks) with its proven bound and gap, the late-count bound, the
objective and bound, wall times (first complete plan and total), the least extra crews;
then a 2,000-site stress case (the sample's sites six times over, jittered) that must
return a plan. Floors: first plan ≤ 5 s; 0 late sites whenever a plan with 0 exists;
tardiness level within 2% of the proven bound by 60 s.

Run from the repository root: ``.venv/bin/python benchmarks/bench_schedule.py``
(``--time`` deterministic time of the main run, ``--skip-stress``).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from covgap.analysis import AnalysisSettings, assess_villages
from covgap.io import load_towers, load_villages
from covgap.schedule import ScheduleResult, ScheduleSettings, greedy_schedule, plan_builds
from covgap.siting import SitingSettings, plan_sites

ROOT = Path(__file__).resolve().parents[1]


def sample_sites() -> pd.DataFrame:
    villages = load_villages(ROOT / "data" / "villages" / "villages.geojson")
    towers = load_towers(ROOT / "data" / "towers" / "towers.csv")
    vg = getattr(villages, "gdf", villages)
    tg = getattr(towers, "gdf", towers)
    assessment = assess_villages(vg, tg, AnalysisSettings())
    return plan_sites(assessment.villages, tg, SitingSettings()).sites


def stress_sites(sites: pd.DataFrame, copies: int, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    parts = []
    for k in range(copies):
        part = sites.copy()
        part["site_id"] = part["site_id"].astype(str) + f"-{k}"
        dx = rng.uniform(-0.05, 0.05, len(part))
        dy = rng.uniform(-0.05, 0.05, len(part))
        if k:
            pts = part.geometry.representative_point()
            part = part.set_geometry(
                gpd.points_from_xy(pts.x + dx, pts.y + dy, crs=part.crs), crs=part.crs
            )
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


def line(name: str, r: ScheduleResult, wall: float) -> str:
    gap = f"{100 * r.tardiness_gap:5.1f}%" if r.method == "cp-sat" else "    —"
    bound = f"{r.tardiness_lower_bound_ticks:7d}" if r.method == "cp-sat" else "      —"
    late_lb = f"{r.n_late_lower_bound:4d}" if r.method == "cp-sat" else "   —"
    obj_bound = f"{r.lower_bound:.4g}" if r.method == "cp-sat" else "—"
    return (
        f"{name:<34} {r.status:<8} late {r.n_late:4d} (≥{late_lb}) days {r.total_late_days:6d} "
        f"tard {r.tardiness_ticks:7d} bound {bound} gap {gap} obj {r.objective:.4g} "
        f"(bound {obj_bound}) first {r.first_plan_s:5.2f} s wall {wall:6.1f} s"
    )


def run(name: str, sites: pd.DataFrame, settings: ScheduleSettings) -> ScheduleResult:
    t = time.perf_counter()
    r = plan_builds(sites, settings)
    wall = time.perf_counter() - t
    print(line(name, r, wall), flush=True)
    if r.baseline is not None:
        print(line("  greedy EDF beside it", r.baseline, r.baseline.runtime_s), flush=True)
    return r


def stress(sites: pd.DataFrame, base: ScheduleSettings, det: float) -> int:
    """The 2,000-site stress case: the sample's sites seven times over, jittered."""
    big = stress_sites(sites, max(1, round(2000 / max(1, len(sites)))))
    t = time.perf_counter()
    r = plan_builds(big, dataclasses.replace(base, max_deterministic_time=det, explain_late=False))
    print(line(f"stress {len(big)} sites (det {det:g})", r, time.perf_counter() - t))
    assert r.baseline is not None
    print(line("  greedy EDF beside it", r.baseline, r.baseline.runtime_s), flush=True)
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--time", type=float, default=10.0, help="deterministic time, main run")
    ap.add_argument("--long", type=float, default=30.0, help="deterministic time, long run")
    ap.add_argument("--skip-stress", action="store_true")
    ap.add_argument("--only-stress", action="store_true")
    args = ap.parse_args()
    print(
        f"machine: {platform.machine()} {os.cpu_count()} cpus, load {os.getloadavg()[0]:.1f}; "
        f"python {platform.python_version()}"
    )
    t = time.perf_counter()
    sites = sample_sites()
    print(f"sample: {len(sites)} sites (built in {time.perf_counter() - t:.1f} s)", flush=True)
    base = ScheduleSettings()
    if args.only_stress:
        return stress(sites, base, args.time)
    t = time.perf_counter()
    g = greedy_schedule(sites, base)
    print(line("greedy EDF (travel, 4 ticks/day)", g, time.perf_counter() - t), flush=True)
    quick = dataclasses.replace(base, max_deterministic_time=2.0, explain_late=False)
    run("CP-SAT quick (det 2)", sites, quick)
    main_run = run(
        f"CP-SAT (det {args.time:g})",
        sites,
        dataclasses.replace(base, max_deterministic_time=args.time),
    )
    if main_run.explanation is not None:
        print("  " + main_run.explanation.summary, flush=True)
    run(
        f"CP-SAT long (det {args.long:g})",
        sites,
        dataclasses.replace(base, max_deterministic_time=args.long, explain_late=False),
    )
    daily = dataclasses.replace(
        base, ticks_per_day=1, travel=False, max_deterministic_time=args.time, explain_late=False
    )
    run("CP-SAT days, no travel (1st slice)", sites, daily)
    if not args.skip_stress:
        stress(sites, base, args.time)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
