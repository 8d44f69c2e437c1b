"""What a schedule answers: :class:`ScheduleResult`, its tables and its plain summary.

``tasks`` (``schedule.csv``), ``sites`` (``sites_schedule.csv``), status as data,
objective terms and bounds with their sources, the greedy's figures, what moved since a
previous plan, why sites are late, and :class:`ExtraCrews` (the least extra crews that
would put them on time).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ..calendar import to_date
from .heuristics import _Assignment
from .problem import ProblemData
from .settings import TASK_ORDER, ScheduleSettings

TASK_COLUMNS: tuple[str, ...] = (
    "site_id",
    "operator",
    "task",
    "crew_id",
    "start_date",
    "finish_date",
)


SITE_COLUMNS: tuple[str, ...] = (
    "site_id",
    "operator",
    "group",
    "deadline",
    "finish_date",
    "on_air_date",
    "late_days",
)


_GROUP_ORDER: tuple[str, ...] = ("low_signal_powered", "low_signal_unpowered")


# --------------------------------------------------------------------------- result
@dataclass(frozen=True, eq=False)
class ExtraCrews:
    """Why sites are late and the least extra crew units that put them on time.

    late_sites: ``site_id, operator, region, group, deadline, finish_date, late_days,
        reasons`` (reasons: ``;``-joined among ``power date …``, ``travel …``,
        ``crew capacity …``).
    extra: ``operator, region, kind, crew_id, units, extra_units`` — one row per pool
        that needs more units (crew_id: the crew the extra units join).
    unfixable: site ids no extra crew can put on time (their power date, their chain, or
        the drive from the crews' bases).
    status: ``OPTIMAL`` (enough, and proven least: the units equal the lower bound),
        ``FEASIBLE`` (enough — a real plan with them puts every other site on time — but
        not proven least), ``NOT_FOUND`` (even ``max_extra_units_per_pool`` more units per
        pool do not do it in some part: ``extra`` lists the other parts' units only, the
        summary names the part), ``NONE_NEEDED`` (no late site crews could fix).
    lower_bound: proven least total extra units (over the parts searched): no plan with
        fewer puts every fixable site on time.
    summary: the answer in one paragraph, with the extra units per pool (console, JSON).
    headline: the same without the per-pool list, for pages that show ``extra`` as a table.
    """

    late_sites: pd.DataFrame
    extra: pd.DataFrame
    unfixable: tuple[str, ...]
    status: str
    lower_bound: int
    summary: str
    headline: str

    def to_dict(self) -> dict[str, Any]:
        """The JSON document of ``infeasibility.json``."""
        return {
            "status": self.status,
            "proven_least": self.status == "OPTIMAL",
            "extra_units_total": int(self.extra["extra_units"].sum()) if len(self.extra) else 0,
            "extra_units_lower_bound": int(self.lower_bound),
            "extra_crews": [
                {
                    "operator": r.operator,
                    "region": r.region,
                    "kind": r.kind,
                    "crew_id": r.crew_id,
                    "units": int(r.units),  # type: ignore[arg-type]
                    "extra_units": int(r.extra_units),  # type: ignore[arg-type]
                }
                for r in self.extra.itertuples(index=False)
            ],
            "late_sites": [
                {
                    "site_id": r.site_id,
                    "operator": r.operator,
                    "region": r.region,
                    "group": r.group,
                    "deadline": r.deadline,
                    "finish_date": r.finish_date,
                    "late_days": int(r.late_days),  # type: ignore[arg-type]
                    "reasons": [x for x in str(r.reasons).split("; ") if x],
                }
                for r in self.late_sites.itertuples(index=False)
            ],
            "unfixable_sites": list(self.unfixable),
            "summary": self.summary,
            "headline": self.headline,
        }


@dataclass(frozen=True, eq=False)
class ScheduleResult:
    """A schedule (CP-SAT or greedy) and how good it is.

    tasks: ``site_id, operator, task, crew_id, start_date, finish_date`` (ISO dates;
        finish = last working day, inclusive; crew_id ``""`` for tasks without crew);
        sorted by site then chain order — what a Gantt per site, operator or crew needs.
    sites: ``site_id, operator, group, deadline, finish_date, on_air_date, late_days``
        (ISO dates; late_days = calendar days after the deadline, 0 when on time).
    status: ``OPTIMAL`` (every part proven on all three levels) / ``FEASIBLE``
        (``INFEASIBLE``, ``MODEL_INVALID``, ``UNKNOWN`` never come back: there is always
        the greedy plan).
    objective: ``W1·n_late + W2·tardiness_ticks + makespan_ticks`` (``W2 = H + 1``,
        ``W1 = W2·T_max + H + 1``), the same for both methods, so comparable.
    lower_bound: proven bound on ``objective`` (NaN for the greedy).
    n_late, total_late_days: late sites and their calendar days late.
    total_tardiness_working_days: Σ working days between deadline and finish.
    makespan_working_days: working days from the first working day to the last finish.
    n_late_lower_bound: sites that must be late in any schedule (proven).
    tardiness_ticks, tardiness_lower_bound_ticks, tardiness_gap: the tardiness level
        (ticks) and its proven bound: the least total tardiness of any schedule with at
        most as many late sites in each independent part (operator × region) as this plan
        — the lexicographic level's bound once ``n_late == n_late_lower_bound`` — and the
        gap ``(value − bound) / value`` (0 when both are 0).
    n_late_bound_sources, tardiness_bound_sources: where the bounds come from, summed
        over the parts: ``chain`` (each site's chain alone: power dates, least moves),
        ``<kind> crews`` (order statistics of that crew pool's completions with an
        assignment of sites to them, see ``_part_bound``), ``CP-SAT`` (the solver's bound).
    first_plan_s: wall seconds until a complete plan existed (the greedy passes).
    runtime_s: wall-clock seconds (not reproducible; never written to outputs).
    method: ``"cp-sat"`` or ``"greedy-edf"``.
    baseline: the greedy's result, run beside CP-SAT (``None`` on the greedy itself).
    moved: re-planning: tasks whose dates or crew changed against ``previous``
        (``site_id, task, old_start, new_start, old_finish, new_finish, old_crew_id,
        new_crew_id, finish_shift_days``), ``None`` without a previous plan.
    explanation: :class:`ExtraCrews` when sites are late (and ``explain_late``).
    stages: per part and stage, what the solver did (status, value, bound, time).
    wall_limit_hit: the ``max_wall_time_s`` backstop stopped a solve (not reproducible).
    """

    tasks: pd.DataFrame
    sites: pd.DataFrame
    status: str
    objective: float
    lower_bound: float
    n_late: int
    total_late_days: int
    total_tardiness_working_days: int
    makespan_working_days: int
    n_late_lower_bound: int
    runtime_s: float
    summary: str
    method: str
    problem: ProblemData
    tardiness_ticks: int = 0
    tardiness_lower_bound_ticks: int = 0
    first_plan_s: float = 0.0
    baseline: ScheduleResult | None = None
    moved: pd.DataFrame | None = None
    explanation: ExtraCrews | None = None
    stages: tuple[dict[str, Any], ...] = ()
    wall_limit_hit: bool = False
    assignment: _Assignment | None = None
    n_late_bound_sources: tuple[tuple[str, int], ...] = ()
    tardiness_bound_sources: tuple[tuple[str, int], ...] = ()

    @property
    def lexicographic(self) -> tuple[int, int, int]:
        """``(sites late, total tardiness in ticks, makespan in working days)``."""
        return (self.n_late, self.tardiness_ticks, self.makespan_working_days)

    @property
    def tardiness_gap(self) -> float:
        """``(tardiness − bound) / tardiness`` on the tardiness level (0 when it is 0)."""
        if self.tardiness_ticks == 0:
            return 0.0
        return (self.tardiness_ticks - self.tardiness_lower_bound_ticks) / self.tardiness_ticks


def _weights(problem: ProblemData) -> tuple[int, int]:
    h = max((a.horizon for a in problem.axes.values()), default=1)
    t_max = sum(max(0, problem.axis(s).horizon - s.deadline_tick) for s in problem.sites)
    w2 = h + 1
    return (w2 * t_max + h + 1, w2)


def _tables(
    problem: ProblemData, assignment: _Assignment
) -> tuple[pd.DataFrame, pd.DataFrame, int, int, int]:
    """tasks and sites frames, tardiness ticks, total working days late, makespan ticks."""
    cal = problem.calendar
    lag = dt.timedelta(days=problem.on_air_lag_days)
    task_rows: list[tuple[str, str, str, str, str, str]] = []
    site_rows: list[tuple[str, str, str, str, str, str, int]] = []
    tard_ticks = late_wd = span = 0
    for s_idx, site in enumerate(problem.sites):
        axis = problem.axis(site)
        rows: list[tuple[int, tuple[str, str, str, str, str, str]]] = []
        order = {n: k for k, n in enumerate(TASK_ORDER)}
        for d in site.done:
            rows.append(
                (
                    order[d.name],
                    (
                        site.site_id,
                        site.operator,
                        d.name,
                        d.crew_id,
                        d.start_date.isoformat(),
                        d.finish_date.isoformat(),
                    ),
                )
            )
        starts = assignment.starts[s_idx]
        units = assignment.units[s_idx]
        finish: dt.date | None = max((d.finish_date for d in site.done), default=None)
        if site.tasks:
            first_idx = [axis.day_of_tick(st) for st in starts]
            last_idx = [
                axis.day_of_tick(st + t.duration - 1)
                for st, t in zip(starts, site.tasks, strict=True)
            ]
            first = cal.iso_dates_of(first_idx)
            last = cal.iso_dates_of(last_idx)
            for t_idx, task in enumerate(site.tasks):
                unit = units[t_idx]
                shown = (
                    task.shown_start.isoformat() if task.shown_start is not None else first[t_idx]
                )
                rows.append(
                    (
                        order[task.name],
                        (
                            site.site_id,
                            site.operator,
                            task.name,
                            problem.units[unit] if unit >= 0 else "",
                            shown,
                            last[t_idx],
                        ),
                    )
                )
            end = starts[-1] + site.tasks[-1].duration
            span = max(span, end)
            tard_ticks += max(0, end - site.deadline_tick)
            late_wd += max(0, last_idx[-1] - site.deadline_index)
            finish = dt.date.fromisoformat(last[-1])
        assert finish is not None
        rows.sort(key=lambda r: r[0])
        task_rows.extend(r[1] for r in rows)
        site_rows.append(
            (
                site.site_id,
                site.operator,
                site.group,
                site.deadline.isoformat(),
                finish.isoformat(),
                (finish + lag).isoformat(),
                max(0, (finish - site.deadline).days),
            )
        )
    tasks = pd.DataFrame(task_rows, columns=list(TASK_COLUMNS))
    sites_df = pd.DataFrame(site_rows, columns=list(SITE_COLUMNS))
    sites_df["late_days"] = sites_df["late_days"].astype("int64")
    return tasks, sites_df, tard_ticks, late_wd, span


def _makespan_days(problem: ProblemData, sites_df: pd.DataFrame) -> int:
    if sites_df.empty:
        return 0
    last = max(sites_df["finish_date"])
    return problem.calendar.index_of(dt.date.fromisoformat(last), side="before") + 1


def _result(
    problem: ProblemData,
    settings: ScheduleSettings,
    assignment: _Assignment,
    *,
    status: str,
    late_lb: int,
    tard_lb: int,
    span_lb: int | None,
    runtime_s: float,
    first_plan_s: float,
    method: str,
    baseline: ScheduleResult | None = None,
    moved: pd.DataFrame | None = None,
    stages: tuple[dict[str, Any], ...] = (),
    wall_limit_hit: bool = False,
    explanation: ExtraCrews | None = None,
    bound_sources: tuple[tuple[tuple[str, int], ...], tuple[tuple[str, int], ...]] = ((), ()),
) -> ScheduleResult:
    tasks, sites_df, tard_ticks, late_wd, span = _tables(problem, assignment)
    n_late = int((sites_df["late_days"] > 0).sum())
    w1, w2 = _weights(problem)
    objective = float(w1 * n_late + w2 * tard_ticks + span)
    if method == "cp-sat":
        lower = float(w1 * late_lb + (w2 * tard_lb + (span_lb or 0) if late_lb == n_late else 0))
    else:
        lower = math.nan
    result = ScheduleResult(
        tasks=tasks,
        sites=sites_df,
        status=status,
        objective=objective,
        lower_bound=lower,
        n_late=n_late,
        total_late_days=int(sites_df["late_days"].sum()),
        total_tardiness_working_days=int(late_wd),
        makespan_working_days=_makespan_days(problem, sites_df),
        n_late_lower_bound=int(late_lb),
        runtime_s=float(runtime_s),
        summary="",
        method=method,
        problem=problem,
        tardiness_ticks=int(tard_ticks),
        tardiness_lower_bound_ticks=int(tard_lb),
        first_plan_s=float(first_plan_s),
        baseline=baseline,
        moved=moved,
        explanation=explanation,
        stages=stages,
        wall_limit_hit=wall_limit_hit,
        n_late_bound_sources=bound_sources[0],
        tardiness_bound_sources=bound_sources[1],
        assignment=assignment,
    )
    object.__setattr__(result, "summary", _summary(result, settings))
    return result


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _sources_text(sources: Sequence[tuple[str, int]]) -> str:
    return " + ".join(f"{v} from {k}" for k, v in sources) if sources else "nothing to bound"


def _bound_lines(result: ScheduleResult) -> list[str]:
    """The two objective levels with their proven bounds and where those come from."""
    proven = result.n_late == result.n_late_lower_bound
    return [
        f"Late-site level: {result.n_late} late, proven at least {result.n_late_lower_bound} "
        f"({_sources_text(result.n_late_bound_sources)})"
        + ("; optimal." if proven else "; not proven least."),
        f"Tardiness level: {result.tardiness_ticks} ticks of {result.problem.hours_per_tick:g} h "
        f"({result.total_tardiness_working_days} working days), proven bound "
        f"{result.tardiness_lower_bound_ticks} ticks "
        f"({_sources_text(result.tardiness_bound_sources)}), gap "
        f"{100 * result.tardiness_gap:.1f}%"
        + (
            "."
            if proven
            else " — among plans with at most as many late sites per operator and region."
        )
        + (
            " The bounds count each crew visit's shortest possible drive in, not whole "
            "routes: with travel they are loose, and the gap is only an upper limit on how "
            "far this plan is from the best."
            if result.problem.travel and result.tardiness_gap > 0
            else ""
        ),
    ]


def _summary(result: ScheduleResult, settings: ScheduleSettings) -> str:
    """Plain planner text: per group completion and on-air dates, power waits, late sites
    with how late, the greedy's figures beside, what moved, the least extra crews."""
    problem, sites_df = result.problem, result.sites
    label = "CP-SAT" if result.method == "cp-sat" else "greedy earliest-deadline-first"
    if not problem.sites:
        return f"{label}: no sites to build."
    n_tasks = len(result.tasks)
    lines = [
        f"{label} ({result.status}): {_plural(len(problem.sites), 'site')}, {n_tasks} tasks, "
        f"work from {min(result.tasks['start_date'])} to {max(sites_df['finish_date'])}."
    ]
    groups = sorted(
        {s.group for s in problem.sites},
        key=lambda g: (_GROUP_ORDER.index(g) if g in _GROUP_ORDER else len(_GROUP_ORDER), g),
    )
    by_site = {s.site_id: s for s in problem.sites}
    tasks = result.tasks.set_index(["site_id", "task"])
    for group in groups:
        part = sites_df[sites_df["group"] == group]
        members = [by_site[i] for i in part["site_id"]]
        n_vill = sum(s.n_villages for s in members)
        deadlines = sorted({s.deadline for s in members})
        dl_text = ", ".join(d.isoformat() for d in deadlines)
        late = part[part["late_days"] > 0]
        head = f"{group}: {_plural(len(part), 'site')} serving {_plural(n_vill, 'village')}; "
        if late.empty:
            head += f"all complete by {max(part['finish_date'])} (deadline {dl_text})"
        else:
            head += (
                f"{len(late)} late, the others complete by "
                f"{max(part.loc[part['late_days'] == 0, 'finish_date'], default='—')} "
                f"(deadline {dl_text})"
            )
        head += f"; on air by {max(part['on_air_date'])}"
        target = settings.on_air_targets.get(group)
        if target is not None:
            head += f" (target {to_date(target).isoformat()})"
        lines.append(head + ".")
        waits = []
        for s in members:
            if (
                s.power == "grid"
                and s.power_date is not None
                and s.power_date > problem.calendar.start
            ):
                key = (s.site_id, "grid")
                if (
                    key in tasks.index
                    and tasks.loc[key, "start_date"]
                    == problem.calendar.next_working_day_on_or_after(s.power_date).isoformat()
                ):
                    waits.append(s.power_date)
        if waits:
            verb = "waits" if len(waits) == 1 else "wait"
            lines.append(
                f"  {_plural(len(waits), 'site')} {verb} for grid power, the last until "
                f"{max(waits).isoformat()}."
            )
        after = [s for s in members if s.power_date is not None and s.power_date > s.deadline]
        if after:
            lines.append(
                f"  warning: {_plural(len(after), 'site')} get grid power only after the "
                f"deadline (power_eta, e.g. {after[0].site_id} on {after[0].power_date}): "
                "late unless solar+battery is chosen."
            )
        n_solar = sum(1 for s in members if s.power == "solar")
        if n_solar:
            lines.append(f"  {_plural(n_solar, 'site')} on solar+battery (no grid in time).")
    late_all = sites_df[sites_df["late_days"] > 0].sort_values(
        ["late_days", "site_id"], ascending=[False, True]
    )
    if late_all.empty:
        lines.append("No site is late.")
    else:
        lines.append(
            f"Late: {_plural(len(late_all), 'site')}, "
            f"{_plural(int(late_all['late_days'].sum()), 'day')} in total"
            + (
                f" (at least {_plural(result.n_late_lower_bound, 'site')} must be late in any "
                "schedule)"
                if result.n_late_lower_bound and result.method == "cp-sat"
                else ""
            )
            + ":"
        )
        shown = late_all.head(20)
        for row in shown.itertuples(index=False):
            lines.append(
                f"  {row.site_id} ({row.operator}, {row.group}): finishes {row.finish_date}, "
                f"{_plural(int(row.late_days), 'day')} after {row.deadline}."  # type: ignore[arg-type]
            )
        if len(late_all) > len(shown):
            lines.append(f"  … and {len(late_all) - len(shown)} more (see sites_schedule.csv).")
    if result.method == "cp-sat" and problem.sites:
        lines.extend(_bound_lines(result))
    if result.baseline is not None:
        b = result.baseline
        lines.append(
            f"Greedy earliest-deadline-first (the yardstick): {_plural(b.n_late, 'site')} late, "
            f"{_plural(b.total_late_days, 'day')} late in total ({b.tardiness_ticks} ticks), "
            f"last finish {max(b.sites['finish_date'])}."
        )
    if result.moved is not None:
        mv = result.moved
        later = int((mv["finish_shift_days"] > 0).sum()) if len(mv) else 0
        lines.append(
            f"Re-plan: {_plural(len(mv), 'task')} moved against the previous plan"
            + (f", {later} finishing later" if later else "")
            + "."
        )
    if result.wall_limit_hit:
        lines.append(
            f"warning: the wall-clock backstop ({settings.max_wall_time_s:g} s) stopped the "
            "solver: this plan may differ from run to run; raise max_wall_time_s."
        )
    if result.explanation is not None:
        lines.append(result.explanation.summary)
    return "\n".join(lines)
