"""The CP-SAT model of one part (:class:`_PartModel`) and the solver settings.

**Crews.** Units of one operator × region × kind are identical, so the model holds one
``add_cumulative`` per pool with capacity = the number of units, not one optional
interval per unit (no symmetry, far fewer variables); units are assigned afterwards by
the decoder, which also places every crew move. Each crew interval is extended in front
by its least possible inbound move (``travel``); small pools may carry exact routes
(``route_max_visits``).

**Objective**, lexicographic, one stage per level:

1. *most sites on time*: each site's intervals are optional with one presence literal
   (present ⇔ on time, hard deadline); a late site can always be appended after the
   on-time work, so ``n − max on-time`` is the least number of late sites. Redundant
   energy cuts per pool (``Σ_on-time d ≤ capacity × window``) give the LP its bound;
2. *least total tardiness* (ticks) with ``Σ late ≤`` stage 1's count;
3. *least makespan* with the tardiness fixed (only when stage 2 proved its optimum).

**Determinism** (:func:`_solver`): a fixed ``random_seed``, a deterministic time limit per
solve, and either one worker or ``interleave_search``; the wall-clock limit is a
backstop only.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from ortools.sat.python import cp_model

from .bounds import _block_est
from .problem import ProblemData, _blocks
from .settings import ScheduleSettings
from .travel import _Travel

#: Every CP-SAT status, mapped explicitly to the name the result carries.
STATUS_NAMES: dict[Any, str] = {
    cp_model.OPTIMAL: "OPTIMAL",
    cp_model.FEASIBLE: "FEASIBLE",
    cp_model.INFEASIBLE: "INFEASIBLE",
    cp_model.MODEL_INVALID: "MODEL_INVALID",
    cp_model.UNKNOWN: "UNKNOWN",
}


#: Energy cuts kept per crew pool (see ``_PartModel._add_energy_cuts``).
_MAX_CUTS_PER_POOL = 60


#: Smallest deterministic time given to one solve.
_MIN_SOLVE_TIME = 0.05


# --------------------------------------------------------------------------- CP-SAT model
class _PartModel:
    """CP-SAT model of one independent part (see the module docstring).

    mode ``"ontime"``: optional blocks, hard deadlines, maximise sites on time;
    ``"tardiness"``: every site, ``Σ late ≤ max_late``, minimise total tardiness;
    ``"makespan"``: also ``Σ tardiness ≤ max_tardiness``, minimise the makespan;
    ``"extra"``: every site that can be on time is, pool capacities are variables
    (``units + extra``), minimise the extra units.

    Pools with at most ``route_max_visits`` visits get exact routes (one
    ``add_multiple_circuit`` per pool: arcs between visits carry the real move, at most
    ``units`` routes leave the depot); larger pools keep the travel relaxation.
    """

    def __init__(
        self,
        problem: ProblemData,
        part: Sequence[int],
        travel: _Travel,
        setup: Mapping[tuple[int, int], int],
        mode: str,
        *,
        horizon: int,
        route_max_visits: int,
        max_late: int | None = None,
        max_tardiness: int | None = None,
        max_extra: int = 0,
        min_late: int = 0,
        min_tardiness: int = 0,
        late_ok: frozenset[int] = frozenset(),
    ) -> None:
        self.problem = problem
        self.part = list(part)
        self.travel = travel
        self.mode = mode
        self.model = cp_model.CpModel()
        self.horizon = horizon
        self.setup = setup
        self.blocks = {s: _blocks(problem.sites[s]) for s in self.part}
        self.block_est = {
            s: _block_est(problem.sites[s], s, setup) for s in self.part if problem.sites[s].tasks
        }
        # Late whatever the crews do: the chain (with the least moves) ends after the deadline.
        self.late_alone = {
            s: est[-1] + self.blocks[s][-1][3] > problem.sites[s].deadline_tick
            for s, est in self.block_est.items()
        }
        self.start: dict[tuple[int, int], Any] = {}  # (site, block) → start
        self.est: dict[tuple[int, int], int] = {}
        self.dom: dict[tuple[int, int], tuple[int, int]] = {}
        self.present: dict[tuple[int, int], Any] = {}  # (site, block) → literal or True
        self.on: dict[int, Any] = {}
        self.tard: dict[int, cp_model.IntVar] = {}
        self.late: dict[int, cp_model.IntVar] = {}
        self.extra: dict[int, cp_model.IntVar] = {}
        self.arcs: dict[int, dict[tuple[int, int], Any]] = {}  # pool → (from, to) node → lit
        self.nodes: dict[int, list[tuple[int, int]]] = {}  # pool → node k+1 ↔ (site, block)
        # pool → (interval, size, presence, site, block, est − pad, latest end)
        self.pool_items: dict[int, list[tuple[Any, int, Any, int, int, int, int]]] = {}
        self.makespan: cp_model.IntVar | None = None
        m = self.model
        for s in self.part:
            site = problem.sites[s]
            if not site.tasks:
                continue
            if mode in ("ontime", "extra") and (self.late_alone[s] or s in late_ok):
                if mode == "ontime":
                    self.on[s] = False
                # Late whatever happens: only its started work (if any) takes crews now.
                self._add_site(s, deadline=None, presence=None, only_fixed=True)
                continue
            if mode == "ontime":
                lit = m.new_bool_var(f"on{s}")
                self.on[s] = lit
                self._add_site(s, deadline=site.deadline_tick, presence=lit)
            elif mode == "extra":
                self._add_site(s, deadline=site.deadline_tick, presence=None)
            else:
                self._add_site(s, deadline=None, presence=None)
        self._add_pools(max_extra, route_max_visits)
        if mode == "ontime":
            self._add_energy_cuts()
            on = [v for v in self.on.values() if v is not False]
            # Redundant: the proven bound on late sites (see _part_bound).
            if on and min_late > 0:
                m.add(sum(on) <= len(self.block_est) - min_late)
            m.maximize(sum(on))
        elif mode in ("tardiness", "makespan"):
            self._add_tardiness(max_late, max_tardiness)
            if min_tardiness > 0:  # redundant: the proven bound (see _part_bound)
                m.add(sum(self.tard.values()) >= min_tardiness)
        else:
            m.minimize(sum(self.extra.values()))

    def _add_site(
        self, s: int, *, deadline: int | None, presence: Any, only_fixed: bool = False
    ) -> None:
        m = self.model
        tasks = self.problem.sites[s].tasks
        blocks = self.blocks[s]
        est = self.block_est[s]
        end_limit = self.horizon if deadline is None else deadline
        lst = [0] * len(blocks)
        t = end_limit
        for b in range(len(blocks) - 1, -1, -1):
            t -= blocks[b][3]
            lst[b] = t
        prev: tuple[Any, int] | None = None
        for b, (i0, _, pool, dur, _) in enumerate(blocks):
            fixed = tasks[i0].fixed_start is not None
            if only_fixed and not fixed:
                continue
            if fixed:
                start: Any = m.new_constant(int(tasks[i0].fixed_start or 0))
                pres: Any = True
            else:
                start = m.new_int_var(est[b], max(est[b], lst[b]), f"s{s}_{b}")
                self.dom[(s, b)] = (est[b], max(est[b], lst[b]))
                pres = True if presence is None else presence
            self.start[(s, b)] = start
            self.est[(s, b)] = est[b]
            self.present[(s, b)] = pres
            if prev is not None:
                m.add(start >= prev[0] + prev[1])
            prev = (start, dur)
            if pool >= 0:
                pad = 0 if fixed else self.setup.get((s, b), 0)
                size = dur + pad
                if pres is True:
                    iv = m.new_interval_var(start - pad, size, start + dur, f"i{s}_{b}")
                else:
                    iv = m.new_optional_interval_var(
                        start - pad, size, start + dur, pres, f"i{s}_{b}"
                    )
                self.pool_items.setdefault(pool, []).append(
                    (iv, size, pres, s, b, est[b] - pad, lst[b] + dur)
                )

    def _add_pools(self, max_extra: int, route_max_visits: int) -> None:
        m = self.model
        for pool in sorted(self.pool_items):
            items = self.pool_items[pool]
            cap = len(self.problem.pools[pool])
            intervals = [it[0] for it in items]
            if self.mode == "extra":
                x = m.new_int_var(0, max_extra, f"x{pool}")
                self.extra[pool] = x
                m.add_cumulative(intervals, [1] * len(intervals), cap + x)
                continue
            if cap == 1:
                m.add_no_overlap(intervals)
            elif len(intervals) > cap:
                m.add_cumulative(intervals, [1] * len(intervals), cap)
            if self.problem.travel and 1 < len(items) <= route_max_visits:
                self._add_routes(pool, items, cap)

    def _add_routes(self, pool: int, items: list[Any], cap: int) -> None:
        """Exact moves in one pool: a multiple circuit through a depot (node 0), one route
        per unit used (≤ ``cap``); arc ``i → j`` ⇒ ``start_j ≥ end_i + move(i, j)``; an
        absent visit (late in the on-time stage) takes its self-loop."""
        m = self.model
        tr = self.travel
        nodes = [(it[3], it[4]) for it in items]
        self.nodes[pool] = nodes
        arcs: dict[tuple[int, int], Any] = {}
        triples: list[tuple[int, int, Any]] = []
        dur = {(it[3], it[4]): self.blocks[it[3]][it[4]][3] for it in items}
        for k, (s, b) in enumerate(nodes, start=1):
            pres = self.present[(s, b)]
            start = self.start[(s, b)]
            out0 = m.new_bool_var(f"a{pool}_0_{k}")
            arcs[(0, k)] = out0
            m.add(start >= tr.pool_home(pool, s)).only_enforce_if(out0)
            arcs[(k, 0)] = m.new_bool_var(f"a{pool}_{k}_0")
            if pres is not True:
                loop = pres.Not()
                arcs[(k, k)] = loop
        for k, (s, b) in enumerate(nodes, start=1):
            for j, (s2, b2) in enumerate(nodes, start=1):
                if j == k:
                    continue
                lit = m.new_bool_var(f"a{pool}_{k}_{j}")
                arcs[(k, j)] = lit
                move = tr.between(s, s2)
                m.add(
                    self.start[(s2, b2)] >= self.start[(s, b)] + dur[(s, b)] + move
                ).only_enforce_if(lit)
        for (a, b_), lit in arcs.items():
            triples.append((a, b_, lit))
        m.add_multiple_circuit(triples)
        m.add(sum(arcs[(0, k)] for k in range(1, len(nodes) + 1)) <= cap)
        self.arcs[pool] = arcs

    def _add_energy_cuts(self) -> None:
        """Redundant cuts that let the LP bound the number of late sites: for a pool of
        capacity ``c`` and a window ``[a, b)``, the on-time sites whose (padded) visits
        must lie inside it need ``Σ on_s · size ≤ c · (b − a)``. Added only where it
        bites, the most overloaded ``_MAX_CUTS_PER_POOL`` windows per pool."""
        m = self.model
        for pool in sorted(self.pool_items):
            cap = len(self.problem.pools[pool])
            rows = [it for it in self.pool_items[pool] if it[2] is not True]
            if not rows:
                continue
            est_a = np.array([r[5] for r in rows])
            lft_a = np.array([r[6] for r in rows])
            dur_a = np.array([r[1] for r in rows])
            cuts: list[tuple[float, int, int]] = []
            for b in np.unique(lft_a):
                sel_b = lft_a <= b
                for a in np.unique(est_a[sel_b]):
                    if a >= b:
                        continue
                    inside = sel_b & (est_a >= a)
                    energy = int(dur_a[inside].sum())
                    if energy > cap * (b - a):
                        cuts.append((energy / (cap * (b - a)), int(a), int(b)))
            cuts.sort(key=lambda c: (-c[0], c[1], c[2]))
            for _, a, b in cuts[:_MAX_CUTS_PER_POOL]:
                per_site: dict[int, int] = {}
                for r in rows:
                    if r[5] >= a and r[6] <= b:
                        per_site[r[3]] = per_site.get(r[3], 0) + r[1]
                m.add(sum(d * self.on[k] for k, d in sorted(per_site.items())) <= cap * (b - a))

    def _end(self, s: int) -> Any:
        blocks = self.blocks[s]
        return self.start[(s, len(blocks) - 1)] + blocks[-1][3]

    def _add_tardiness(self, max_late: int | None, max_tardiness: int | None) -> None:
        m = self.model
        ends = []
        for s in self.part:
            site = self.problem.sites[s]
            if not site.tasks:
                continue
            end = self._end(s)
            ends.append(end)
            ub = max(0, self.horizon - site.deadline_tick)
            tard = m.new_int_var(0, ub, f"t{s}")
            late = m.new_bool_var(f"l{s}")
            m.add(tard >= end - site.deadline_tick)
            if self.late_alone[s]:
                m.add(late == 1)
            if ub > 0:
                m.add(tard <= ub * late)
            else:
                m.add(late == 0)
            self.tard[s] = tard
            self.late[s] = late
        if max_late is not None:
            m.add(sum(self.late.values()) <= max_late)
        if self.mode == "tardiness":
            m.minimize(sum(self.tard.values()))
        else:
            if max_tardiness is not None:
                m.add(sum(self.tard.values()) <= max_tardiness)
            self.makespan = m.new_int_var(0, self.horizon, "makespan")
            m.add_max_equality(self.makespan, ends)
            m.minimize(self.makespan)

    def hint(
        self,
        starts: Mapping[int, Sequence[int]],
        units: Mapping[int, Sequence[int]],
        extra: Mapping[int, int] | None = None,
    ) -> None:
        """A complete hint from a decoded schedule (starts and units per task)."""
        m = self.model

        def on_time(s: int) -> bool:
            site = self.problem.sites[s]
            return starts[s][-1] + site.tasks[-1].duration <= site.deadline_tick

        for (s, b), var in self.start.items():
            if isinstance(var, cp_model.IntVar) and self.present[(s, b)] is not True:
                absent = not on_time(s)
            else:
                absent = False
            if (
                not isinstance(var, cp_model.IntVar)
                or self.problem.sites[s].tasks[self.blocks[s][b][0]].fixed_start is not None
            ):
                continue
            lo, hi = self.dom[(s, b)]
            value = lo if absent else min(max(int(starts[s][self.blocks[s][b][0]]), lo), hi)
            m.add_hint(var, value)
        for s, lit in self.on.items():
            if lit is not False:
                m.add_hint(lit, on_time(s))
        for s, tard in self.tard.items():
            site = self.problem.sites[s]
            value = max(0, starts[s][-1] + site.tasks[-1].duration - site.deadline_tick)
            m.add_hint(tard, value)
            m.add_hint(self.late[s], value > 0)
        if self.makespan is not None:
            m.add_hint(
                self.makespan,
                max(starts[s][-1] + self.problem.sites[s].tasks[-1].duration for s in self.tard),
            )
        if extra is not None:
            for pool, x in self.extra.items():
                m.add_hint(x, int(extra.get(pool, 0)))
        for pool, arcs in self.arcs.items():
            nodes = self.nodes[pool]
            index = {sb: k for k, sb in enumerate(nodes, start=1)}
            seq: dict[int, list[tuple[int, int]]] = {}
            for s, b in nodes:
                if self.present[(s, b)] is not True and not on_time(s):
                    continue
                u = units[s][self.blocks[s][b][0]]
                seq.setdefault(u, []).append((starts[s][self.blocks[s][b][0]], index[(s, b)]))
            used: set[tuple[int, int]] = set()
            for u in sorted(seq):
                path = [k for _, k in sorted(seq[u])]
                chain = [0, *path, 0]
                for a, b_ in itertools.pairwise(chain):
                    used.add((a, b_))
            for k, (s, b) in enumerate(nodes, start=1):
                if self.present[(s, b)] is not True and not on_time(s):
                    used.add((k, k))
            for key, lit in arcs.items():
                if isinstance(lit, cp_model.IntVar):
                    m.add_hint(lit, key in used)

    def read(
        self, solver: cp_model.CpSolver
    ) -> tuple[dict[int, list[int]], dict[tuple[int, int], int]]:
        """Starts per task of the solution (late sites of an on-time solve: after all
        on-time work, by deadline) and, for routed pools, the unit of each visit."""
        out: dict[int, list[int]] = {}
        big = self.horizon + 1
        present_site: dict[int, bool] = {}
        for s in self.part:
            site = self.problem.sites[s]
            on = self.on.get(s, True)
            present = on is True or (on is not False and solver.boolean_value(on))
            present_site[s] = present
            row = [0] * len(site.tasks)
            for b, (i0, i1, _, _, offsets) in enumerate(self.blocks[s]):
                if site.tasks[i0].fixed_start is not None:
                    base = int(site.tasks[i0].fixed_start or 0)
                elif present and (s, b) in self.start:
                    base = int(solver.value(self.start[(s, b)]))
                else:
                    base = big + site.deadline_tick * 64 + i0
                for k in range(i0, i1 + 1):
                    row[k] = base + (offsets[k - i0] if base < big else k - i0)
            out[s] = row
        forced: dict[tuple[int, int], int] = {}
        for pool, arcs in self.arcs.items():
            nodes = self.nodes[pool]
            succ = {a: b for (a, b), lit in arcs.items() if a != b and solver.boolean_value(lit)}
            firsts = sorted(
                (out[nodes[b - 1][0]][self.blocks[nodes[b - 1][0]][nodes[b - 1][1]][0]], b)
                for (a, b), lit in arcs.items()
                if a == 0 and b != 0 and solver.boolean_value(lit)
            )
            pool_units = list(self.problem.pools[pool])
            # Routes holding a started visit keep its unit; the others take the rest.
            routes: list[list[int]] = []
            for _, k in firsts:
                path = []
                while k != 0:
                    path.append(k)
                    k = succ.get(k, 0)
                routes.append(path)
            taken: dict[int, int] = {}
            for r_idx, path in enumerate(routes):
                for k in path:
                    s, b = nodes[k - 1]
                    fu = self.problem.sites[s].tasks[self.blocks[s][b][0]].fixed_unit
                    if fu >= 0:
                        taken[r_idx] = fu
            free = [u for u in pool_units if u not in taken.values()]
            for r_idx, path in enumerate(routes):
                unit = taken.get(r_idx)
                if unit is None:
                    if not free:
                        continue
                    unit = free.pop(0)
                for k in path:
                    forced[nodes[k - 1]] = unit
        return out, forced


def _solver(settings: ScheduleSettings, det_time: float, wall_s: float) -> cp_model.CpSolver:
    solver = cp_model.CpSolver()
    params = solver.parameters
    params.max_deterministic_time = float(max(det_time, _MIN_SOLVE_TIME))
    params.max_time_in_seconds = float(max(wall_s, 0.05))
    params.random_seed = int(settings.seed)
    params.num_workers = int(settings.num_workers)
    params.interleave_search = bool(settings.interleave_search)
    params.log_search_progress = False
    return solver
