"""PSPLIB j30 with the scheduler's core model (precedences + cumulative, CP-SAT).

Reads the 480 single-mode RCPSP instances of ``../shared/reference/psplib/j30/`` in
place, solves each with :func:`covgap.schedule.solve_rcpsp` (deterministic time 1 per
instance by default) and counts how many reach the proven optimum of ``j30opt.sm``.
Floor (DESIGN §9): optimum on ≥ 470 of 480; the whole run ≤ 10 minutes.

Run from the repository root: ``.venv/bin/python benchmarks/bench_psplib.py``.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import sys
import time
from pathlib import Path

from covgap.schedule import solve_rcpsp

SHARED = Path(__file__).resolve().parents[2] / "shared" / "reference" / "psplib" / "j30"


def read_sm(path: Path) -> tuple[list[int], list[list[int]], list[int], list[list[int]]]:
    """One PSPLIB ``.sm`` file → durations, demands, capacities, successors (0-based)."""
    lines = path.read_text(encoding="latin-1").splitlines()
    i = next(k for k, x in enumerate(lines) if x.startswith("PRECEDENCE RELATIONS"))
    succ: dict[int, list[int]] = {}
    k = i + 2
    while not lines[k].startswith("*"):
        parts = [int(x) for x in lines[k].split()]
        succ[parts[0] - 1] = [s - 1 for s in parts[3 : 3 + parts[2]]]
        k += 1
    i = next(k for k, x in enumerate(lines) if x.startswith("REQUESTS/DURATIONS"))
    durations: list[int] = []
    demands: list[list[int]] = []
    k = i + 3
    while not lines[k].startswith("*"):
        parts = [int(x) for x in lines[k].split()]
        durations.append(parts[2])
        demands.append(parts[3:])
        k += 1
    i = next(k for k, x in enumerate(lines) if x.startswith("RESOURCEAVAILABILITIES"))
    capacities = [int(x) for x in lines[i + 2].split()]
    return durations, demands, capacities, [succ.get(j, []) for j in range(len(durations))]


def read_optima(path: Path) -> dict[tuple[int, int], int]:
    """``j30opt.sm`` → {(parameter, instance): optimal makespan}."""
    out: dict[tuple[int, int], int] = {}
    for line in path.read_text(encoding="latin-1").splitlines():
        m = re.match(r"^\s*(\d+)\s+(\d+)\s+(\d+)\s+[\d.]+\s*$", line)
        if m:
            out[(int(m.group(1)), int(m.group(2)))] = int(m.group(3))
    return out


def _key(path: Path) -> tuple[int, int]:
    """``j30P_I.sm`` → (P, I)."""
    m = re.match(r"j30(\d+)_(\d+)$", path.stem)
    assert m is not None, path
    return int(m.group(1)), int(m.group(2))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--time", type=float, default=1.0, help="deterministic time per instance")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--limit", type=int, default=0, help="only the first N instances")
    args = ap.parse_args()
    if not SHARED.exists():
        print(f"../shared is absent: {SHARED}", file=sys.stderr)
        return 2
    optima = read_optima(SHARED / "j30opt.sm")
    files = sorted(
        (SHARED / "instances").glob("j30*_*.sm"),
        key=_key,
    )
    if args.limit:
        files = files[: args.limit]
    print(
        f"machine: {platform.machine()} {os.cpu_count()} cpus, load {os.getloadavg()[0]:.1f}; "
        f"python {platform.python_version()}; {len(files)} instances, "
        f"{args.time} deterministic time each, {args.workers} workers"
    )
    hit = proven = 0
    misses: list[str] = []
    t0 = time.perf_counter()
    slowest = (0.0, "")
    for path in files:
        p, i = _key(path)
        durations, demands, caps, succ = read_sm(path)
        t = time.perf_counter()
        status, makespan, bound, _ = solve_rcpsp(
            durations,
            demands,
            caps,
            succ,
            max_deterministic_time=args.time,
            num_workers=args.workers,
        )
        wall = time.perf_counter() - t
        slowest = max(slowest, (wall, path.name))
        best = optima[(p, i)]
        if makespan == best:
            hit += 1
        else:
            misses.append(f"{path.name}: {makespan} vs {best} (bound {bound})")
        proven += status == "OPTIMAL"
    total = time.perf_counter() - t0
    print(f"optimum reached: {hit}/{len(files)} (floor 470/480); proven optimal: {proven}")
    print(f"wall: {total:.1f} s total, slowest {slowest[0]:.1f} s ({slowest[1]})")
    for line in misses[:20]:
        print("  miss", line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
