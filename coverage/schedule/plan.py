"""The entry points: :func:`plan_builds` (CP-SAT) and :func:`greedy_schedule` (the yardstick).

**Re-planning.** ``plan_builds(…, progress=…, previous=…)``: ``done`` tasks are kept as
they were and leave the model; a ``started`` task keeps its unit and runs on from the
planning start for the working days it still needs; the previous plan's starts are the
first hint, and :attr:`ScheduleResult.moved` lists every task whose dates changed.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from ..calendar import to_date
from ..errors import SchemaError
from .extra import least_extra_crews
from .heuristics import _Assignment, _greedy_part
from .problem import ProblemData, _components, _missing, build_problem
from .result import ScheduleResult, _result, _tables
from .settings import ScheduleSettings
from .stages import _prepare_part, _solve_part
from .travel import _Travel


# --------------------------------------------------------------------------- entry points
def _to_assignment(
    problem: ProblemData, starts: Mapping[int, Sequence[int]], units: Mapping[int, Sequence[int]]
) -> _Assignment:
    return _Assignment(
        starts=tuple(tuple(int(x) for x in starts.get(i, ())) for i in range(len(problem.sites))),
        units=tuple(tuple(int(x) for x in units.get(i, ())) for i in range(len(problem.sites))),
    )


def _previous_starts(problem: ProblemData, previous: pd.DataFrame) -> dict[int, list[int]] | None:
    """Start ticks of a previous ``schedule.csv`` for the tasks left (missing tasks: just
    after their chain predecessor)."""
    need = {"site_id", "task", "start_date"}
    if not need <= set(previous.columns):
        raise SchemaError(
            f"previous schedule lacks column(s) {', '.join(sorted(need - set(previous.columns)))}",
            column=sorted(need - set(previous.columns))[0],
        )
    known = {
        (str(a), str(b)): c
        for a, b, c in zip(
            previous["site_id"], previous["task"], previous["start_date"], strict=True
        )
    }
    out: dict[int, list[int]] = {}
    cal = problem.calendar
    for s_idx, site in enumerate(problem.sites):
        axis = problem.axis(site)
        row: list[int] = []
        t = 0
        for task in site.tasks:
            if task.fixed_start is not None:
                t = task.fixed_start
            else:
                v = known.get((site.site_id, task.name))
                cand = max(t, task.release)
                if v is not None and not _missing(v):
                    cand = max(cand, axis.first_tick(cal.index_of(to_date(v), side="after")))
                t = cand
            row.append(t)
            t += task.duration
        out[s_idx] = row
    return out


def _moved(previous: pd.DataFrame, tasks: pd.DataFrame) -> pd.DataFrame:
    """Tasks whose start, finish or crew changed between two ``schedule.csv`` frames."""
    cols = ["site_id", "task", "start_date", "finish_date", "crew_id"]
    prev = previous.reindex(columns=cols).copy()
    prev = prev.astype({c: "object" for c in cols}).fillna("")
    prev = prev.astype(str)
    new = tasks[cols].astype(str)
    merged = prev.merge(new, on=["site_id", "task"], how="outer", suffixes=("_old", "_new"))
    merged = merged.fillna("")
    changed = (
        (merged["start_date_old"] != merged["start_date_new"])
        | (merged["finish_date_old"] != merged["finish_date_new"])
        | (merged["crew_id_old"] != merged["crew_id_new"])
    )
    m = merged[changed].sort_values(["site_id", "task"]).reset_index(drop=True)

    def shift(a: str, b: str) -> int:
        if not a or not b:
            return 0
        return (dt.date.fromisoformat(b) - dt.date.fromisoformat(a)).days

    out = pd.DataFrame(
        {
            "site_id": m["site_id"],
            "task": m["task"],
            "old_start": m["start_date_old"],
            "new_start": m["start_date_new"],
            "old_finish": m["finish_date_old"],
            "new_finish": m["finish_date_new"],
            "old_crew_id": m["crew_id_old"],
            "new_crew_id": m["crew_id_new"],
            "finish_shift_days": [
                shift(a, b) for a, b in zip(m["finish_date_old"], m["finish_date_new"], strict=True)
            ],
        }
    )
    out["finish_shift_days"] = out["finish_shift_days"].astype("int64")
    return out


def greedy_schedule(
    sites: pd.DataFrame, settings: ScheduleSettings, *, progress: pd.DataFrame | None = None
) -> ScheduleResult:
    """The yardstick: earliest-deadline-first list scheduling (each site's chain in turn,
    sites by deadline, power date, site_id), every task as early as a unit allows, the
    unit that can start first (then the nearest); status ``FEASIBLE``, no bound."""
    t0 = time.perf_counter()
    problem = build_problem(sites, settings, progress=progress)
    return _greedy_result(problem, settings, t0)


def _greedy_result(problem: ProblemData, settings: ScheduleSettings, t0: float) -> ScheduleResult:
    starts: dict[int, list[int]] = {}
    units: dict[int, list[int]] = {}
    for part in _components(problem):
        travel = _Travel(problem, part)
        st, un = _greedy_part(problem, part, travel, drop_late=False)
        starts.update(st)
        units.update(un)
    runtime = time.perf_counter() - t0
    return _result(
        problem,
        settings,
        _to_assignment(problem, starts, units),
        status="FEASIBLE",
        late_lb=0,
        tard_lb=0,
        span_lb=None,
        runtime_s=runtime,
        first_plan_s=runtime,
        method="greedy-edf",
    )


def plan_builds(
    sites: pd.DataFrame,
    settings: ScheduleSettings,
    *,
    progress: pd.DataFrame | None = None,
    previous: pd.DataFrame | None = None,
) -> ScheduleResult:
    """Schedule every site's build chain with CP-SAT (see the module docstring).

    sites: the siting output (GeoDataFrame or DataFrame; see :func:`build_problem`).
    progress: tasks done or started (:func:`covgap.schedule_io.read_progress`).
    previous: the previous ``schedule.csv`` (re-planning: its starts are the first hint
        and :attr:`ScheduleResult.moved` says what changed).

    A late plan is a result (``n_late > 0``, listed in ``summary``, explained in
    ``explanation``). The greedy plan always exists, so a plan always comes back; the
    parts are solved in a fixed order, each with a share of ``max_deterministic_time``
    by its number of tasks (what a part leaves goes on to the next).
    """
    t0 = time.perf_counter()
    problem = build_problem(sites, settings, progress=progress)
    deadline_wall = t0 + float(settings.max_wall_time_s)
    baseline = _greedy_result(problem, settings, time.perf_counter())
    first_plan = time.perf_counter() - t0  # the greedy plan is complete and feasible
    n = len(problem.sites)
    prev_starts = _previous_starts(problem, previous) if previous is not None else None
    parts = [p for p in _components(problem) if any(problem.sites[s].tasks for s in p)]
    states = [_prepare_part(problem, part, prev_starts) for part in parts]
    # Parts whose late count and tardiness already meet their bounds only need the
    # makespan stage: they get a tenth of the weight of an open part of the same size.
    weights = [
        sum(len(problem.sites[i].tasks) for i in st.part) * (1.0 if st.open else 0.1)
        for st in states
    ]
    total_weight = max(1e-9, sum(weights))
    starts: dict[int, list[int]] = {i: [] for i in range(n)}
    units: dict[int, list[int]] = {i: [] for i in range(n)}
    late_lb = tard_lb = 0
    late_sources: dict[str, int] = {}
    tard_sources: dict[str, int] = {}
    span_lb = 0
    all_levels = 3
    stages: list[dict[str, Any]] = []
    carry = 0.0
    wall_hit = False
    for state, weight in zip(states, weights, strict=True):
        own = float(settings.max_deterministic_time) * weight / total_weight
        budget = max(0.5 * own, own + carry)
        outcome, used, hit = _solve_part(problem, state, settings, budget, deadline_wall)
        wall_hit = wall_hit or hit
        carry = carry + own - used  # negative when parts overran: the next ones pay it back
        starts.update(outcome.starts)
        units.update(outcome.units)
        late_lb += outcome.late_lb
        tard_lb += outcome.tard_lb
        if outcome.late_lb:
            late_sources[outcome.late_source] = (
                late_sources.get(outcome.late_source, 0) + outcome.late_lb
            )
        if outcome.tard_lb:
            tard_sources[outcome.tard_source] = (
                tard_sources.get(outcome.tard_source, 0) + outcome.tard_lb
            )
        span_lb = max(span_lb, outcome.span_lb)
        all_levels = min(all_levels, outcome.levels_proven)
        stages.extend(outcome.stages)
    assignment = _to_assignment(problem, starts, units)
    status = "OPTIMAL" if all_levels >= 3 else "FEASIBLE"
    tasks_df, sites_df, tard_ticks, _, _ = _tables(problem, assignment)
    moved = _moved(previous, tasks_df) if previous is not None else None
    explanation = None
    n_late = int((sites_df["late_days"] > 0).sum())
    if n_late and settings.explain_late:
        explanation = least_extra_crews(problem, settings, assignment)
    return _result(
        problem,
        settings,
        assignment,
        status=status,
        late_lb=late_lb,
        tard_lb=min(tard_lb, tard_ticks),
        span_lb=span_lb,
        runtime_s=time.perf_counter() - t0,
        first_plan_s=first_plan,
        method="cp-sat",
        baseline=baseline,
        moved=moved,
        stages=tuple(stages),
        wall_limit_hit=wall_hit,
        explanation=explanation,
        bound_sources=(tuple(sorted(late_sources.items())), tuple(sorted(tard_sources.items()))),
    )
