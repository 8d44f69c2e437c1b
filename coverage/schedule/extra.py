"""When deadlines cannot be met: the least extra crews that would put every site on time.

Each late site gets its reasons (``power date``: the chain from the power date alone ends
after the deadline; ``travel``: even with units of its own driving from their bases it
ends late; ``crew capacity``: the pools that need more units). :func:`least_extra_crews`
then works part by part, smallest first: a CP-SAT relaxation with the extra units per pool
as variables (every target site on time, each move relaxed to its least inbound drive)
gives a lower bound that sees the pools squeeze each other; units are then added where
they help most and taken back where the plan can spare them, each count checked with real
plans. ``OPTIMAL`` when the count found equals the lower bound (proven least),
``FEASIBLE`` (enough, not proven least) otherwise.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from .bounds import _part_bound
from .heuristics import (
    _DISPATCH_WORK,
    _Assignment,
    _decode,
    _dispatch_best,
    _greedy_part,
    _local_search,
    _lst_part,
    _part_value,
)
from .model import _MIN_SOLVE_TIME, STATUS_NAMES, _PartModel, _solver
from .problem import ProblemData, _blocks, _components
from .result import ExtraCrews, _plural
from .settings import ScheduleSettings
from .travel import _min_inbound, _part_horizon, _Travel

#: Share of the least-extra-crews budget for the relaxations that bound the parts (the
#: rest checks candidate counts with real plans): proofs need it, the checks gained
#: nothing from more on the sample.
_EXTRA_RELAXED_SHARE = 0.8


# --------------------------------------------------------------------------- late plans
def _with_extra_units(problem: ProblemData, extra: Mapping[int, int]) -> ProblemData:
    """The problem with ``extra[pool]`` more units in some pools, named after the pool's
    first crew (``<crew_id>/<count + k>``) and based at its home."""
    units = list(problem.units)
    unit_pool = list(problem.unit_pool)
    unit_home = list(problem.unit_home)
    pools = [list(p) for p in problem.pools]
    for pool in sorted(extra):
        k = int(extra[pool])
        if k <= 0:
            continue
        first = problem.units[problem.pools[pool][0]]
        crew_id = first.rsplit("/", 1)[0]
        count = sum(1 for u in problem.units if u.rsplit("/", 1)[0] == crew_id)
        home = problem.unit_home[problem.pools[pool][0]]
        for j in range(1, k + 1):
            pools[pool].append(len(units))
            unit_pool.append(pool)
            unit_home.append(home)
            units.append(f"{crew_id}/{count + j}")
    return ProblemData(
        sites=problem.sites,
        crews=problem.crews,
        units=tuple(units),
        unit_pool=tuple(unit_pool),
        unit_home=tuple(unit_home),
        pools=tuple(tuple(p) for p in pools),
        pool_keys=problem.pool_keys,
        axes=problem.axes,
        calendar=problem.calendar,
        ticks_per_day=problem.ticks_per_day,
        on_air_lag_days=problem.on_air_lag_days,
        travel=problem.travel,
        road_factor=problem.road_factor,
        speeds_kmh=problem.speeds_kmh,
        hours_per_tick=problem.hours_per_tick,
    )


def _unlimited_end(problem: ProblemData, s: int, travel: _Travel) -> int:
    """End tick of a site's chain when every crew visit gets a unit of its own that drives
    from the nearest home base of its pool (units start at home at tick 0): what any
    number of extra units, waiting at their crew's base, can achieve."""
    site = problem.sites[s]
    t = 0
    for i0, i1, pool, dur, offsets in _blocks(site):
        if site.tasks[i0].fixed_start is not None:
            t = int(site.tasks[i0].fixed_start or 0) + dur
            continue
        for k in range(i0, i1 + 1):
            t = max(t, site.tasks[k].release - offsets[k - i0])
        if pool >= 0:
            t = max(t, travel.pool_home(pool, s))
        t += dur
    return t


@dataclass
class _ExtraSearch:
    """The least-extra-units search of one part (see :func:`least_extra_crews`)."""

    problem: ProblemData
    part: list[int]
    settings: ScheduleSettings
    ignore: frozenset[int]  # sites extra units cannot put on time
    pools: list[int]
    travel: _Travel  # moves within the part (extra units share their crews' homes)
    budget: float = 0.0  # deterministic time left for CP-SAT solves
    moves: int = 0  # local-search rebuilds left

    @functools.cached_property
    def setup(self) -> dict[tuple[int, int], int]:
        """Each crew visit's least inbound move (:func:`_min_inbound`)."""
        return _min_inbound(self.problem, self.part, self.travel)

    def late(self, extra: Mapping[int, int], *, thorough: bool) -> tuple[int, int]:
        """(target sites late, their tardiness) of the best plan found with ``extra``
        units: the drop-late and latest-start heuristics, and when ``thorough`` the local
        search and a CP-SAT on-time solve (while the budget lasts)."""
        prob = _with_extra_units(self.problem, extra)
        part = self.part
        tr = _Travel(prob, part)
        plans = [
            _greedy_part(prob, part, tr, drop_late=True),
            _lst_part(prob, part, tr, ignore=self.ignore),
            _dispatch_best(prob, part, tr, self.ignore, _DISPATCH_WORK // 10),
        ]
        best_st, best_un = min(plans, key=lambda p: _part_value(prob, part, p[0], self.ignore))
        value = _part_value(prob, part, best_st, self.ignore)
        if value[0] and thorough and self.moves > 0:
            n_moves = min(self.moves, 300)
            self.moves -= n_moves
            best_st, best_un, value = _local_search(
                prob, part, tr, best_st, n_moves, int(self.settings.seed), self.ignore
            )
        if value[0] and thorough and self.budget >= _MIN_SOLVE_TIME:
            setup = _min_inbound(prob, part, tr)
            model = _PartModel(
                prob,
                part,
                tr,
                setup,
                "ontime",
                horizon=_part_horizon(prob, part, tr),
                route_max_visits=int(self.settings.route_max_visits),
                late_ok=self.ignore,
            )
            model.hint(best_st, best_un)
            share = min(self.budget, max(_MIN_SOLVE_TIME, self.budget / 3))
            solver = _solver(self.settings, share, float(self.settings.max_wall_time_s))
            code = solver.solve(model.model)
            self.budget -= solver.deterministic_time
            if STATUS_NAMES.get(code) in ("OPTIMAL", "FEASIBLE"):
                raw, forced = model.read(solver)
                st, _ = _decode(prob, part, tr, raw, forced)
                value = min(value, _part_value(prob, part, st, self.ignore))
        return value[0], value[1]

    def lower_bounds(self, limit: int) -> dict[int, int]:
        """Per pool the fewest extra units without which some target site is late even
        with every other pool unlimited (the pool's order-statistics bound, chain links
        ignored, non-target sites dropped): each is necessary, so their sum bounds the
        total."""
        need: dict[int, int] = {}
        for x in range(limit + 1):
            capacity = {p: len(self.problem.pools[p]) + x for p in self.pools}
            bound = _part_bound(
                self.problem,
                self.part,
                self.setup,
                keep=lambda s: s not in self.ignore,
                capacity=capacity,
                propagate=False,
            )
            late_of = {pb.pool: pb.late for pb in bound.pools}
            for p in self.pools:
                if p not in need and late_of.get(p, 0) == 0:
                    need[p] = x
            if len(need) == len(self.pools):
                break
        return {p: need.get(p, limit) for p in self.pools}

    def relaxed(
        self, lower: Mapping[int, int], limit: int, share: float
    ) -> tuple[dict[int, int] | None, int]:
        """CP-SAT on a relaxation with the pools' extra units as variables (every target on
        time, moves as each visit's least inbound move): its counts (``None`` when none
        found) and its proven least total, a lower bound for the real problem."""
        model = _PartModel(
            self.problem,
            self.part,
            self.travel,
            self.setup,
            "extra",
            horizon=_part_horizon(self.problem, self.part, self.travel),
            route_max_visits=0,
            max_extra=limit,
            late_ok=self.ignore,
        )
        for p, x in model.extra.items():
            model.model.add(x >= int(lower.get(p, 0)))
        solver = _solver(self.settings, share, float(self.settings.max_wall_time_s))
        status = STATUS_NAMES.get(solver.solve(model.model), "UNKNOWN")
        self.budget -= solver.deterministic_time
        floor = sum(lower.values())
        if status not in ("OPTIMAL", "FEASIBLE"):
            return None, floor
        counts = {p: int(solver.value(x)) for p, x in model.extra.items()}
        counts.update({p: int(lower.get(p, 0)) for p in self.pools if p not in counts})
        return counts, max(floor, math.ceil(solver.best_objective_bound - 1e-6))

    def search(
        self, start: Mapping[int, int], floor: Mapping[int, int], limit: int
    ) -> tuple[dict[int, int], bool]:
        """From ``start`` (checked thoroughly), add the unit that helps the heuristics most
        until every target site is on time, then take back every unit the plan can spare
        down to the per-pool ``floor`` (heuristics first, then a thorough check); returns
        the counts and whether they put every target site on time."""
        extra = {p: max(int(start.get(p, 0)), int(floor.get(p, 0))) for p in self.pools}
        n_late, _ = self.late(extra, thorough=True)
        while n_late:
            options = []
            for p in self.pools:
                if extra[p] < limit:
                    trial = {**extra, p: extra[p] + 1}
                    options.append((self.late(trial, thorough=False), p))
            if not options:
                return extra, False
            (_, _), p = min(options)
            extra[p] += 1
            n_late, _ = self.late(extra, thorough=False)
        for p in self.pools:
            while extra[p] > floor.get(p, 0):
                trial = {**extra, p: extra[p] - 1}
                if self.late(trial, thorough=False)[0] and self.late(trial, thorough=True)[0]:
                    break
                extra = trial
        return extra, True


def least_extra_crews(
    problem: ProblemData, settings: ScheduleSettings, assignment: _Assignment
) -> ExtraCrews:
    """Reasons for each late site of ``assignment`` and the fewest extra crew units (by
    operator × region × kind) that put on time every site extra units can put on time.

    Targets: the late sites whose chain ends by the deadline when every crew visit gets a
    unit of its own driving from its crew's base (:func:`_unlimited_end`); the others are
    late whatever the crews (``power date``, ``travel``). Per part with late targets:

    * **lower bound** — per pool, the fewest extra units its order-statistics bound needs
      to put every target on time with all other pools unlimited (each is necessary, so
      their sum bounds the total);
    * **relaxation** — CP-SAT on a model with the pools' extra units as variables, every
      target on time and each move relaxed to the visit's least inbound move: its proven
      least raises the part's lower bound and, when proven, its counts start the search;
    * **search** — from those counts, each candidate checked with real plans (heuristics,
      local search, CP-SAT with hard deadlines, all with the real moves), one unit at a
      time to the pool that helps most until every target is on time, then every unit the
      plan can spare is taken back (never below a pool's own bound).

    Deterministic time: ``explain_deterministic_time``, 80 % for the relaxations and the
    rest for the checks, given to the parts smallest first in proportion to their sizes,
    what one leaves going to the next.

    ``status``: ``OPTIMAL`` when the units found equal the lower bound (proven least),
    ``FEASIBLE`` when they suffice but are not proven least, ``NOT_FOUND`` when
    ``max_extra_units_per_pool`` more units per pool do not do it, ``NONE_NEEDED`` when no
    late site can be helped by crews.
    """
    starts = {i: list(assignment.starts[i]) for i in range(len(problem.sites))}
    cal = problem.calendar
    limit = int(settings.max_extra_units_per_pool)
    unlimited: dict[int, int] = {}
    parts: list[tuple[list[int], _Travel]] = []
    for part in _components(problem):
        tr = _Travel(problem, part)
        for s in part:
            if problem.sites[s].tasks:
                unlimited[s] = _unlimited_end(problem, s, tr)
        late = [
            s
            for s in part
            if problem.sites[s].tasks
            and starts[s][-1] + problem.sites[s].tasks[-1].duration > problem.sites[s].deadline_tick
        ]
        if any(unlimited[s] <= problem.sites[s].deadline_tick for s in late):
            parts.append((part, tr))
    extra_total: dict[int, int] = {}
    lb_total = 0
    proven = found = True
    searches: list[_ExtraSearch] = []
    missing: list[str] = []  # parts (operator / region) no count up to the limit fixes
    for part, tr in parts:
        ignore = frozenset(
            s
            for s in part
            if problem.sites[s].tasks and unlimited[s] > problem.sites[s].deadline_tick
        )
        pools = sorted({t.pool for s in part for t in problem.sites[s].tasks if t.pool >= 0})
        searches.append(_ExtraSearch(problem, part, settings, ignore, pools, tr))
    # Deterministic time flows on, smallest part first: what a part leaves (a relaxation
    # proven early) goes to the larger parts after it, in proportion to their sizes.
    searches.sort(key=lambda x: (len(x.part), x.part[0]))
    total = float(settings.explain_deterministic_time)
    left_relaxed = total * _EXTRA_RELAXED_SHARE
    left_checks = total - left_relaxed
    size_all = size_left = sum(len(x.part) for x in searches)
    for search in searches:
        share = len(search.part) / max(1, size_left)
        size_left -= len(search.part)
        lower = search.lower_bounds(limit)
        # The relaxation first: its proven least bounds the part and, when proven, its
        # counts start the search (an unproven one may be far from the least).
        search.budget = given = left_relaxed * share
        relaxed, lb = search.relaxed(lower, limit, given)
        left_relaxed -= given - search.budget
        search.budget = given = left_checks * share
        search.moves = int(
            float(settings.local_search_rate)
            * total
            * len(search.part)
            / size_all
            / max(1, sum(len(_blocks(problem.sites[s])) for s in search.part))
        )
        start = relaxed if relaxed is not None and sum(relaxed.values()) == lb else lower
        extra, ok = search.search(start, lower, limit)
        left_checks -= given - search.budget
        if not ok:
            # Counts that do not suffice are no answer: the part is named instead.
            found = False
            missing.append(" / ".join(problem.pool_keys[search.pools[0]][:2]))
            lb_total += lb
            continue
        lb = min(lb, sum(extra.values()))  # both hold; keep the report consistent
        lb_total += lb
        proven = proven and sum(extra.values()) == lb
        for p, k in extra.items():
            if k:
                extra_total[p] = extra_total.get(p, 0) + k
    # Reasons per late site.
    rows = []
    unfixable: list[str] = []
    for s_idx, site in enumerate(problem.sites):
        if not site.tasks:
            continue
        end = starts[s_idx][-1] + site.tasks[-1].duration
        if end <= site.deadline_tick:
            continue
        axis = problem.axis(site)
        finish = cal.date_of(axis.day_of_tick(end - 1))
        reasons: list[str] = []
        if site.chain_late_alone:
            unfixable.append(site.site_id)
            if site.power_date is not None and any(
                t.name == "grid" and t.release > 0 for t in site.tasks
            ):
                earliest = cal.date_of(axis.day_of_tick(site.earliest_end - 1))
                reasons.append(
                    f"power date: grid power only on {site.power_date}, so even with free crews "
                    f"it ends {earliest}, after the deadline {site.deadline}"
                )
            else:
                reasons.append(
                    "chain: even started at once with free crews its tasks end after the "
                    f"deadline {site.deadline}"
                )
        elif unlimited[s_idx] > site.deadline_tick:
            unfixable.append(site.site_id)
            earliest = cal.date_of(axis.day_of_tick(unlimited[s_idx] - 1))
            reasons.append(
                "travel: even with a unit of every crew kind free for it alone, driving from "
                f"its base, it ends {earliest}, after the deadline {site.deadline}"
            )
        else:
            pools_needed = [
                p
                for p in sorted(extra_total)
                if extra_total[p] and any(t.pool == p for t in site.tasks)
            ]
            text = f"crew capacity: {site.operator} crews in {site.region} are fully booked"
            if pools_needed:
                kinds = ", ".join(
                    f"{problem.pool_keys[p][2]} (+{extra_total[p]})" for p in pools_needed
                )
                text += f", more {kinds} units put it on time"
            reasons.append(text)
        rows.append(
            (
                site.site_id,
                site.operator,
                site.region,
                site.group,
                site.deadline.isoformat(),
                finish.isoformat(),
                (finish - site.deadline).days,
                "; ".join(reasons),
            )
        )
    late_df = pd.DataFrame(
        rows,
        columns=[
            "site_id",
            "operator",
            "region",
            "group",
            "deadline",
            "finish_date",
            "late_days",
            "reasons",
        ],
    )
    late_df["late_days"] = late_df["late_days"].astype("int64")
    ex_rows = []
    for p in sorted(extra_total, key=lambda p: problem.pool_keys[p]):
        if not extra_total[p]:
            continue
        op, region, kind = problem.pool_keys[p]
        first = problem.units[problem.pools[p][0]].rsplit("/", 1)[0]
        ex_rows.append((op, region, kind, first, len(problem.pools[p]), extra_total[p]))
    extra_df = pd.DataFrame(
        ex_rows, columns=["operator", "region", "kind", "crew_id", "units", "extra_units"]
    )
    extra_df = extra_df.astype({"units": "int64", "extra_units": "int64"})
    if not parts:
        status = "NONE_NEEDED"
    elif not found:
        status = "NOT_FOUND"
    else:
        status = "OPTIMAL" if proven else "FEASIBLE"
    total = int(extra_df["extra_units"].sum()) if len(extra_df) else 0
    by = ", ".join(
        f"+{r.extra_units} {r.kind} ({r.operator}, {r.region})" for r in extra_df.itertuples()
    )
    if status == "NONE_NEEDED":
        headline = text = (
            f"No extra crew helps: the {_plural(len(unfixable), 'late site')} "
            f"{'waits' if len(unfixable) == 1 else 'wait'} for power, on "
            f"{'its' if len(unfixable) == 1 else 'their'} own chain or on the drive from the "
            "crews' bases past the deadline."
        )
    elif status == "NOT_FOUND":
        text = (
            f"No plan found that puts every site on time in {', '.join(sorted(missing))} even "
            f"with {_plural(limit, 'more unit')} per crew pool (max_extra_units_per_pool); at "
            f"least {_plural(lb_total, 'extra unit')} in all."
        )
        headline = text
        if by:
            text += f" Elsewhere: {by}."
    else:
        proof = (
            "proven least"
            if status == "OPTIMAL"
            else f"enough, not proven least: at least {_plural(lb_total, 'unit')} are needed"
        )
        lead = f"Least extra crews to meet every deadline ({proof}): {_plural(total, 'unit')}"
        stays = (
            f" {_plural(len(unfixable), 'site')} "
            f"{'stays' if len(unfixable) == 1 else 'stay'} late whatever the crews (power "
            "date, chain or travel)."
            if unfixable
            else ""
        )
        headline = f"{lead}.{stays}"
        text = f"{lead}: {by}.{stays}"
    return ExtraCrews(
        late_sites=late_df,
        extra=extra_df,
        unfixable=tuple(unfixable),
        status=status,
        lower_bound=int(lb_total),
        summary=text,
        headline=headline,
    )
