"""One part solved level by level: heuristic plans, bounds, local search, CP-SAT stages.

:func:`_prepare_part` builds a part's starting plans (EDF, EDF dropping late sites, the
latest-start list, the ATCS dispatch) and its bounds; :func:`_solve_part` runs the stages
of :mod:`.model`, each from the best plan so far as a complete hint, with the seeded local
search on the real plan while a level is above its bound (before and after the on-time
solve). The part's answer is the lexicographically best plan seen, so CP-SAT never
reports worse than the yardstick; a level whose plan meets its bound is not solved again.
Each part gets a share of ``max_deterministic_time`` by size and stage; what a solve
leaves carries on.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ortools.sat.python import cp_model

from .bounds import _block_est, _Bound, _lp_tardiness_bound, _part_bound
from .heuristics import _decode, _dispatch_best, _greedy_part, _local_search, _lst_part, _part_value
from .model import _MIN_SOLVE_TIME, STATUS_NAMES, _PartModel, _solver
from .problem import ProblemData, _blocks
from .settings import ScheduleSettings
from .travel import _min_inbound, _part_horizon, _Travel

#: Share of a part's deterministic time per stage (on time, tardiness, makespan).
_STAGE_SHARES = (0.45, 0.45, 0.10)


#: Columns of the time-indexed LP bound a part may use per unit of its deterministic time
#: (GLOP takes about twice the wall time of a unit of CP-SAT's on that many).
_LP_COLUMNS_PER_DET = 16_000


#: Local search before a part's on-time solve, in units of the part's deterministic time
#: (times ``local_search_rate``): on the sample it improves plans more per second than
#: CP-SAT on the relaxed model does (mean tardiness over seeds 0–2: 2,770 → 2,381 ticks).
_LOCAL_SEARCH_FIRST = 1.8


@dataclass
class _PartState:
    """One part before CP-SAT: travel, least moves, horizon, proven bounds and the best
    heuristic plan (``value`` = late sites, tardiness ticks, makespan ticks)."""

    part: list[int]
    travel: _Travel
    setup: dict[tuple[int, int], int]
    horizon: int
    bound: _Bound
    plan: str
    starts: dict[int, list[int]]
    units: dict[int, list[int]]
    value: tuple[int, int, int]

    @property
    def open(self) -> bool:
        """True while the late count or the tardiness is above its proven bound."""
        late_lb, _ = self.bound.late
        return self.value[0] > late_lb or self.value[1] > self.bound.tardiness(self.value[0])[0]


@dataclass
class _PartOutcome:
    starts: dict[int, list[int]]
    units: dict[int, list[int]]
    value: tuple[int, int, int]
    late_lb: int
    late_source: str
    tard_lb: int  # given at most value[0] late sites in this part
    tard_source: str
    span_lb: int
    levels_proven: int  # 0 none, 1 late count, 2 + tardiness, 3 + makespan
    stages: list[dict[str, Any]]


def _prepare_part(
    problem: ProblemData, part: list[int], previous: Mapping[int, Sequence[int]] | None
) -> _PartState:
    """Travel, least moves, horizon, bounds and the best of the heuristic plans."""
    travel = _Travel(problem, part)
    setup = _min_inbound(problem, part, travel)
    candidates: list[tuple[str, dict[int, list[int]], dict[int, list[int]]]] = []
    if previous is not None:
        st, un = _decode(problem, part, travel, {s: list(previous[s]) for s in part})
        candidates.append(("previous plan", st, un))
    st, un = _greedy_part(problem, part, travel, drop_late=True)
    candidates.append(("edf-drop-late", st, un))
    st, un = _greedy_part(problem, part, travel, drop_late=False)
    candidates.append(("greedy-edf", st, un))
    st, un = _lst_part(problem, part, travel)
    candidates.append(("latest-start list", st, un))
    st, un = _dispatch_best(problem, part, travel)
    candidates.append(("travel-aware dispatch", st, un))
    best = min(candidates, key=lambda c: _part_value(problem, part, c[1]))
    return _PartState(
        part=part,
        travel=travel,
        setup=setup,
        horizon=_part_horizon(problem, part, travel),
        bound=_part_bound(problem, part, setup),
        plan=best[0],
        starts=best[1],
        units=best[2],
        value=_part_value(problem, part, best[1]),
    )


def _solve_part(
    problem: ProblemData,
    state: _PartState,
    settings: ScheduleSettings,
    budget: float,
    deadline_wall: float,
) -> tuple[_PartOutcome, float, bool]:
    """Solve one part in stages from its prepared state; returns the outcome, the
    deterministic time used and whether the wall-clock backstop stopped a solve.

    Every stage model carries the proven bound of its level as a redundant constraint,
    so CP-SAT's own bound starts there; a level whose plan meets its bound is not solved.
    """
    part, travel, setup, horizon = state.part, state.travel, state.setup, state.horizon
    route_max = int(settings.route_max_visits)
    best_name, best_st, best_un, best_val = state.plan, state.starts, state.units, state.value
    stages: list[dict[str, Any]] = []
    real = [s for s in part if problem.sites[s].tasks]
    late_lb, late_src = state.bound.late
    span_lb = max(
        (
            est[-1] + _blocks(problem.sites[s])[-1][3]
            for s in real
            for est in [_block_est(problem.sites[s], s, setup)]
        ),
        default=0,
    )
    span_floor = span_lb
    used = 0.0
    wall_hit = False
    levels = 0

    def solve(model: _PartModel, share: float) -> tuple[str, cp_model.CpSolver]:
        nonlocal used, wall_hit
        wall_left = deadline_wall - time.perf_counter()
        solver = _solver(settings, share, wall_left)
        code = solver.solve(model.model)
        used += solver.deterministic_time
        if wall_left <= 0.05 or solver.wall_time >= wall_left - 0.01:
            wall_hit = True
        return STATUS_NAMES.get(code, f"UNRECOGNISED_{code}"), solver

    def adopt(model: _PartModel, solver: cp_model.CpSolver) -> None:
        nonlocal best_st, best_un, best_val, best_name
        raw, forced = model.read(solver)
        st, un = _decode(problem, part, travel, raw, forced)
        val = _part_value(problem, part, st)
        if val < best_val:
            best_st, best_un, best_val, best_name = st, un, val, f"cp-sat {model.mode}"

    def run(
        mode: str,
        share: float,
        *,
        max_late: int | None = None,
        max_tardiness: int | None = None,
        min_late: int = 0,
        min_tardiness: int = 0,
    ) -> tuple[str, float, float | None]:
        """Solve the stage model ``mode`` from the best plan (a complete hint) and adopt a
        better plan; returns the status, the deterministic time and CP-SAT's objective
        bound (``None`` without a solution)."""
        model = _PartModel(
            problem,
            part,
            travel,
            setup,
            mode,
            horizon=horizon,
            route_max_visits=route_max,
            max_late=max_late,
            max_tardiness=max_tardiness,
            min_late=min_late,
            min_tardiness=min_tardiness,
        )
        model.hint(best_st, best_un)
        status, solver = solve(model, share)
        if status not in ("OPTIMAL", "FEASIBLE"):
            return status, solver.deterministic_time, None
        adopt(model, solver)
        return status, solver.deterministic_time, solver.best_objective_bound

    n_blocks = max(1, sum(len(travel.blocks(s)) for s in part))

    def improve(share: float, salt: int) -> None:
        """Local search with the real moves on the best plan (see _local_search)."""
        nonlocal best_st, best_un, best_val, best_name
        n_moves = int(float(settings.local_search_rate) * share / n_blocks)
        if n_moves <= 0:
            return
        st, un, val = _local_search(
            problem, part, travel, best_st, n_moves, int(settings.seed) * 7919 + salt
        )
        if val < best_val:
            best_st, best_un, best_val = st, un, val
            best_name = f"{best_name} + local search"

    def record(stage: str, status: str, value: int, bound: int, det: float, src: str) -> None:
        stages.append(
            {
                "stage": stage,
                "status": status,
                "value": value,
                "bound": bound,
                "bound_source": src,
                "det_time": det,
            }
        )

    # Stage 1: most sites on time.
    share = budget * _STAGE_SHARES[0]
    if best_val[0] > late_lb:
        improve(budget * _LOCAL_SEARCH_FIRST, 0)
    if best_val[0] <= late_lb:
        levels = 1
        record("late", "OPTIMAL", best_val[0], late_lb, 0.0, late_src)
    elif share < _MIN_SOLVE_TIME:
        record("late", "SKIPPED", best_val[0], late_lb, 0.0, late_src)
    else:
        status, det, cp_bound = run("ontime", share, min_late=late_lb)
        cp_late_lb = -1 if cp_bound is None else len(real) - math.floor(cp_bound + 1e-6)
        if cp_late_lb > late_lb:
            late_lb, late_src = cp_late_lb, "CP-SAT"
        levels = 1 if best_val[0] <= late_lb else 0
        record("late", status, best_val[0], late_lb, det, late_src)
    if best_val[0] > late_lb:
        improve(budget * _STAGE_SHARES[0] / 2, 1)
    # Stage 2: least tardiness with at most that many late sites.
    tard_lb, tard_src = state.bound.tardiness(best_val[0])
    if best_val[1] > tard_lb and settings.lp_bound_max_columns > 0:
        lp = _lp_tardiness_bound(
            problem,
            part,
            slot=problem.ticks_per_day,
            horizon=best_val[2],
            max_columns=min(int(settings.lp_bound_max_columns), int(_LP_COLUMNS_PER_DET * budget)),
        )
        if lp is not None and lp > tard_lb:
            tard_lb, tard_src = lp, "time-indexed LP"
    if best_val[1] > tard_lb:
        improve(budget * _STAGE_SHARES[1] / 2, 2)
    share = budget * _STAGE_SHARES[1] + max(0.0, budget * _STAGE_SHARES[0] - used)
    if best_val[1] <= tard_lb:
        levels = 2 if levels >= 1 else levels
        record("tardiness", "OPTIMAL", best_val[1], tard_lb, 0.0, tard_src)
    elif share < _MIN_SOLVE_TIME:
        record("tardiness", "SKIPPED", best_val[1], tard_lb, 0.0, tard_src)
    else:
        status, det, cp_bound = run("tardiness", share, max_late=best_val[0], min_tardiness=tard_lb)
        cp_tard_lb = -1 if cp_bound is None else math.ceil(cp_bound - 1e-6)
        if cp_tard_lb > tard_lb:
            tard_lb, tard_src = cp_tard_lb, "CP-SAT"
        if best_val[1] > tard_lb:
            improve(budget * _STAGE_SHARES[1] / 2, 3)
        if levels >= 1 and best_val[1] <= tard_lb:
            levels = 2
        record("tardiness", status, best_val[1], tard_lb, det, tard_src)
    # Stage 3: least makespan, only once the tardiness level is proven.
    share = max(budget * _STAGE_SHARES[2], budget - used)
    if levels >= 2 and share >= _MIN_SOLVE_TIME:
        if best_val[2] <= span_floor:
            levels = 3
            span_lb = best_val[2]
            record("makespan", "OPTIMAL", best_val[2], span_lb, 0.0, "chain")
        else:
            status, det, cp_bound = run(
                "makespan", share, max_late=best_val[0], max_tardiness=best_val[1]
            )
            if cp_bound is not None:
                span_lb = max(span_lb, math.ceil(cp_bound - 1e-6))
            if best_val[2] <= span_lb:
                levels = 3
            record("makespan", status, best_val[2], span_lb, det, "CP-SAT")
    head = problem.sites[part[0]]
    outcome = _PartOutcome(
        starts=best_st,
        units=best_un,
        value=best_val,
        late_lb=late_lb,
        late_source=late_src,
        tard_lb=min(tard_lb, best_val[1]),
        tard_source=tard_src,
        span_lb=span_lb,
        levels_proven=levels,
        stages=[
            {**x, "part": f"{head.operator} / {head.region}", "sites": len(part), "plan": best_name}
            for x in stages
        ],
    )
    return outcome, used, wall_hit
