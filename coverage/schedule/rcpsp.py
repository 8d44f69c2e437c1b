"""The core model on a plain RCPSP instance (PSPLIB), to check it against proven optima."""

from __future__ import annotations

import math
from collections.abc import Sequence

from ortools.sat.python import cp_model

from .model import STATUS_NAMES


# --------------------------------------------------------------------------- RCPSP core
def solve_rcpsp(
    durations: Sequence[int],
    demands: Sequence[Sequence[int]],
    capacities: Sequence[int],
    successors: Sequence[Sequence[int]],
    *,
    max_deterministic_time: float = 1.0,
    seed: int = 0,
    num_workers: int = 2,
    linearization_level: int = 2,
) -> tuple[str, int, int, list[int]]:
    """The scheduler's core on a single-mode RCPSP (PSPLIB): fixed-size intervals,
    ``end ≤ start`` precedences and one ``add_cumulative`` per renewable resource — the
    constraint families :class:`_PartModel` uses for crew pools — minimising the
    makespan. Returns ``(status, makespan, bound, starts)``; activities are 0-based and
    ``successors[i]`` lists ``i``'s successors. ``linearization_level`` 2 puts the
    cumulative relaxations into CP-SAT's LP (on PSPLIB j30 with one worker and 1 unit of
    deterministic time it finds the optimum more often than the default 1)."""
    n = len(durations)
    horizon = int(sum(durations))
    m = cp_model.CpModel()
    starts = [m.new_int_var(0, horizon - int(durations[i]), f"s{i}") for i in range(n)]
    intervals = [
        m.new_fixed_size_interval_var(starts[i], int(durations[i]), f"i{i}") for i in range(n)
    ]
    for i in range(n):
        for j in successors[i]:
            m.add(starts[j] >= starts[i] + int(durations[i]))
    for r, cap in enumerate(capacities):
        users = [i for i in range(n) if demands[i][r] > 0 and durations[i] > 0]
        if users:
            m.add_cumulative(
                [intervals[i] for i in users], [int(demands[i][r]) for i in users], int(cap)
            )
    makespan = m.new_int_var(0, horizon, "makespan")
    m.add_max_equality(makespan, [starts[i] + int(durations[i]) for i in range(n)])
    m.minimize(makespan)
    solver = cp_model.CpSolver()
    p = solver.parameters
    p.max_deterministic_time = float(max_deterministic_time)
    p.random_seed = int(seed)
    p.num_workers = int(num_workers)
    # Several workers: interleaved (deterministic); one worker: its plain sequential
    # search, which is stronger than a one-thread interleaved portfolio on j30.
    p.interleave_search = int(num_workers) > 1
    p.linearization_level = int(linearization_level)
    code = solver.solve(m)
    status = STATUS_NAMES.get(code, f"UNRECOGNISED_{code}")
    if status not in ("OPTIMAL", "FEASIBLE"):
        return status, -1, int(solver.best_objective_bound), []
    return (
        status,
        int(solver.objective_value),
        math.ceil(solver.best_objective_bound - 1e-6),
        [int(solver.value(s)) for s in starts],
    )
