"""PSPLIB j30 with the scheduler's core model (precedences + cumulative, CP-SAT).

Reads the 480 single-mode RCPSP instances of ``../shared/reference/psplib/j30/`` in
place, solves each with :func:`covgap.schedule.solve_rcpsp` (deterministic time 1 per
instance by default) and counts how many reach the proven optimum of ``j30opt.sm``.
Floor (DESIGN §9): optimum on ≥ 470 of 480; the whole run ≤ 10 minutes.

The two cores are used by solving two instances at once (``--jobs 2``, a process pool),
each with one CP-SAT worker (``--workers 1``): one worker with a deterministic time limit
is reproducible, and the run's wall time is about ``480 × time / jobs`` seconds plus
model building — bounded, instead of two interleaved workers that only share one
instance's limit. Prints the total wall time and the load average before and after.

Run from the repository root: ``.venv/bin/python benchmarks/bench_psplib.py``
(``--limit N`` for the first N instances while developing).
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import sys
import time
from concurrent.futures import ProcessPoolExecutor
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


def _solve_one(args: tuple[Path, float, int]) -> tuple[str, str, int, int, float]:
    """Solve one instance (in a worker process): name, status, makespan, bound, wall s."""
    path, det_time, workers = args
    durations, demands, caps, succ = read_sm(path)
    t = time.perf_counter()
    status, makespan, bound, _ = solve_rcpsp(
        durations,
        demands,
        caps,
        succ,
        max_deterministic_time=det_time,
        num_workers=workers,
    )
    return path.name, status, makespan, bound, time.perf_counter() - t


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--time", type=float, default=1.0, help="deterministic time per instance")
    ap.add_argument("--jobs", type=int, default=2, help="instances solved at once (processes)")
    ap.add_argument("--workers", type=int, default=1, help="CP-SAT workers per instance")
    ap.add_argument("--limit", type=int, default=0, help="only the first N instances")
    args = ap.parse_args()
    if not SHARED.exists():
        print(f"../shared is absent: {SHARED}", file=sys.stderr)
        return 2
    optima = read_optima(SHARED / "j30opt.sm")
    files = sorted((SHARED / "instances").glob("j30*_*.sm"), key=_key)
    if args.limit:
        files = files[: args.limit]
    load_before = os.getloadavg()
    print(
        f"machine: {platform.machine()} {os.cpu_count()} cpus, load {load_before[0]:.1f} "
        f"{load_before[1]:.1f} {load_before[2]:.1f} (1/5/15 min); python "
        f"{platform.python_version()}; {len(files)} instances, deterministic time "
        f"{args.time:g} each, {args.jobs} at once with {args.workers} CP-SAT worker(s) each",
        flush=True,
    )
    hit = proven = 0
    misses: list[str] = []
    slowest = (0.0, "")
    cpu_s = 0.0
    t0 = time.perf_counter()
    work = [(path, float(args.time), int(args.workers)) for path in files]
    with ProcessPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        for name, status, makespan, bound, wall in pool.map(_solve_one, work, chunksize=4):
            p, i = _key(Path(name))
            best = optima[(p, i)]
            if makespan == best:
                hit += 1
            else:
                misses.append(f"{name}: {makespan} vs {best} (bound {bound})")
            proven += status == "OPTIMAL"
            slowest = max(slowest, (wall, name))
            cpu_s += wall
    total = time.perf_counter() - t0
    load_after = os.getloadavg()
    print(f"optimum reached: {hit}/{len(files)} (floor 470/480); proven optimal: {proven}")
    print(
        f"wall: {total:.1f} s in total (floor 600 s), {cpu_s:.1f} s summed over the solves, "
        f"slowest {slowest[0]:.1f} s ({slowest[1]}); load after {load_after[0]:.1f} "
        f"{load_after[1]:.1f} {load_after[2]:.1f}"
    )
    for line in misses[:20]:
        print("  miss", line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
