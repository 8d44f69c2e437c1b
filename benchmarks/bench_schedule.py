"""Scheduler yardstick on the sample (DESIGN §9): CP-SAT beside the greedy.

Builds the sample's sites (``data/villages``, ``data/towers`` → analysis → siting), then
prints, for the greedy earliest-deadline-first yardstick and for CP-SAT runs: sites late
with the proven least number late, calendar days late, the tardiness level (ticks of two
hours) with its proven bound, the bound's sources and the gap, the composite objective
with its bound, wall times (first complete plan and total), the load average, and the
least extra crews with the plan again once they are added (every site crews can help must
then be on time); then a 2,000-site stress case (the sample's sites seven times over,
jittered) that must return a plan.

Floors (issue #6): first plan ≤ 5 s; 0 late sites whenever a plan with 0 exists;
tardiness level within 2 % of the proven bound by 60 s on 2 cores. The gap printed is
``(plan − bound) / plan`` between the plan's real tardiness (real crew moves) and a bound
valid for the real problem (``covgap.schedule.bounds._part_bound``, the order statistics of the
crew pools, and ``_lp_tardiness_bound``, the time-indexed LP by working days); when the
late count is not proven least, that bound holds among plans with at most as many late
sites per operator × region.

Runs: the default settings (2 units per crew kind, no rain); the demo scenario's
schedule settings (``scenarios/vietnam_2025.toml``: 4 units, rain windows); the default
settings by whole days without travel; the stress case. Run from the repository root:
``.venv/bin/python benchmarks/bench_schedule.py`` (``--time`` deterministic time of the
main runs, ``--stress-time``, ``--skip-stress``, ``--only-stress``, ``--skip-extra``).
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
from covgap.scenario import load_scenario
from covgap.schedule import (
    ScheduleResult,
    ScheduleSettings,
    default_crews,
    greedy_schedule,
    least_extra_crews,
    plan_builds,
)
from covgap.siting import SitingSettings, plan_sites

ROOT = Path(__file__).resolve().parents[1]
WALL_FLOOR_S = 60.0
GAP_FLOOR = 0.02


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


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load {one:.1f}/{five:.1f}/{fifteen:.1f}"


def _sources(pairs: tuple[tuple[str, int], ...]) -> str:
    return " + ".join(f"{v} {k}" for k, v in pairs) if pairs else "0"


def line(name: str, r: ScheduleResult, wall: float) -> str:
    """One result: late sites, late days, tardiness with bound and gap, objective."""
    if r.method != "cp-sat":
        return (
            f"{name:<36} late {r.n_late:4d}        late days {r.total_late_days:5d} "
            f"tardiness {r.tardiness_ticks:6d} ticks{'':29} objective {r.objective:.4g}"
            f"{'':20} wall {wall:6.2f} s"
        )
    return (
        f"{name:<36} late {r.n_late:4d} (≥{r.n_late_lower_bound:4d}) late days "
        f"{r.total_late_days:5d} tardiness {r.tardiness_ticks:6d} ticks, bound "
        f"{r.tardiness_lower_bound_ticks:6d}, gap {100 * r.tardiness_gap:5.1f}% objective "
        f"{r.objective:.4g} (bound {r.lower_bound:.4g}) first {r.first_plan_s:4.2f} s "
        f"wall {wall:6.1f} s [{r.status}{', wall backstop hit' if r.wall_limit_hit else ''}]"
    )


def run(name: str, sites: pd.DataFrame, settings: ScheduleSettings) -> tuple[ScheduleResult, float]:
    before = load()
    t = time.perf_counter()
    r = plan_builds(sites, settings)
    wall = time.perf_counter() - t
    print(line(name, r, wall), flush=True)
    print(
        f"{'':4}bounds: late ≥ {r.n_late_lower_bound} = {_sources(r.n_late_bound_sources)}; "
        f"tardiness ≥ {r.tardiness_lower_bound_ticks} ticks = "
        f"{_sources(r.tardiness_bound_sources)}"
        + ("" if r.n_late == r.n_late_lower_bound else " (given ≤ that many late per part)")
        + f"; {before} → {load()}",
        flush=True,
    )
    if r.baseline is not None:
        print(line("    greedy EDF beside it", r.baseline, r.baseline.runtime_s), flush=True)
    if r.explanation is not None:
        print(f"{'':4}extra crews [{r.explanation.status}]: {r.explanation.summary}", flush=True)
    return r, wall


def extra_crews(r: ScheduleResult, settings: ScheduleSettings, sites: pd.DataFrame) -> None:
    """The least-extra-crews search on a plan, timed apart from the plan itself; then the
    plan again with those crews added: every site but those late whatever the crews must
    be on time (the floor "0 late whenever a plan with 0 exists", on a real instance)."""
    assert r.assignment is not None
    t = time.perf_counter()
    ex = least_extra_crews(r.problem, settings, r.assignment)
    print(
        f"{'':4}extra crews [{ex.status}, {time.perf_counter() - t:.1f} s, {load()}]: {ex.summary}",
        flush=True,
    )
    if ex.status not in ("OPTIMAL", "FEASIBLE"):
        return
    crews = settings.crews if settings.crews is not None else default_crews(sites, settings)
    add = dict(zip(ex.extra["crew_id"], ex.extra["extra_units"], strict=True))
    grown = tuple(dataclasses.replace(c, count=c.count + int(add.get(c.crew_id, 0))) for c in crews)
    more = dataclasses.replace(settings, crews=grown)
    t = time.perf_counter()
    again = plan_builds(sites, more)
    wall = time.perf_counter() - t
    stay = len(ex.unfixable)
    print(
        f"{'':4}with them: late {again.n_late} ({stay} late whatever the crews), wall "
        f"{wall:.1f} s; floor 0 late whenever a plan with 0 exists: "
        f"{'met' if again.n_late <= stay else 'NOT met'}",
        flush=True,
    )


def floors(r: ScheduleResult, wall: float) -> None:
    ok_first = r.first_plan_s <= 5.0
    ok_gap = r.tardiness_gap <= GAP_FLOOR and wall <= WALL_FLOOR_S
    print(
        f"{'':4}floors: first plan ≤ 5 s: {'met' if ok_first else 'NOT met'} "
        f"({r.first_plan_s:.2f} s); tardiness within {100 * GAP_FLOOR:g} % of the proven bound "
        f"by {WALL_FLOOR_S:g} s: {'met' if ok_gap else 'NOT met'} (gap "
        f"{100 * r.tardiness_gap:.1f} %, {wall:.1f} s); late count proven least: "
        f"{'yes' if r.n_late == r.n_late_lower_bound else 'no'}",
        flush=True,
    )


def stress(sites: pd.DataFrame, base: ScheduleSettings, det: float) -> None:
    """The 2,000-site stress case: the sample's sites seven times over, jittered."""
    big = stress_sites(sites, max(1, round(2000 / max(1, len(sites)))))
    settings = dataclasses.replace(base, max_deterministic_time=det, explain_late=False)
    run(f"stress {len(big)} sites (det {det:g})", big, settings)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--time", type=float, default=20.0, help="deterministic time, main runs")
    ap.add_argument("--stress-time", type=float, default=10.0, help="deterministic time, stress")
    ap.add_argument("--skip-stress", action="store_true")
    ap.add_argument("--only-stress", action="store_true")
    ap.add_argument("--skip-extra", action="store_true", help="no least-extra-crews search")
    args = ap.parse_args()
    print(
        f"machine: {platform.machine()} {os.cpu_count()} cpus, {load()} (1/5/15 min); "
        f"python {platform.python_version()}"
    )
    t = time.perf_counter()
    sites = sample_sites()
    print(f"sample: {len(sites)} sites (built in {time.perf_counter() - t:.1f} s)", flush=True)
    base = ScheduleSettings()
    if args.only_stress:
        stress(sites, base, args.stress_time)
        return 0
    t = time.perf_counter()
    g = greedy_schedule(sites, base)
    print(line("greedy EDF (default crews)", g, time.perf_counter() - t), flush=True)
    quick = dataclasses.replace(base, max_deterministic_time=1.0, explain_late=False)
    run("CP-SAT quick (det 1)", sites, quick)
    settings = dataclasses.replace(base, max_deterministic_time=args.time, explain_late=False)
    main_run, wall = run(f"CP-SAT default crews (det {args.time:g})", sites, settings)
    floors(main_run, wall)
    if not args.skip_extra and main_run.n_late:
        extra_crews(main_run, settings, sites)
    scenario = load_scenario(ROOT / "scenarios" / "vietnam_2025.toml").schedule
    settings = dataclasses.replace(
        scenario,
        max_deterministic_time=args.time,
        max_wall_time_s=base.max_wall_time_s,  # the demo's 40 s backstop would cut det time
        explain_late=False,
    )
    demo, wall = run(f"CP-SAT demo scenario (det {args.time:g})", sites, settings)
    floors(demo, wall)
    if not args.skip_extra and demo.n_late:
        extra_crews(demo, settings, sites)
    daily = dataclasses.replace(
        base, ticks_per_day=1, travel=False, max_deterministic_time=args.time, explain_late=False
    )
    days, wall = run(f"CP-SAT by days, no travel (det {args.time:g})", sites, daily)
    floors(days, wall)
    if not args.skip_stress:
        stress(sites, base, args.stress_time)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
