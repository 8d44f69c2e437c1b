"""Lower bounds on the late count and the total tardiness of a part, valid for the real problem.

:func:`_part_bound`: per site, the chain alone (release dates, least moves); per crew
pool, lower bounds on the k-th smallest completion of its visits (order statistics: of
``units + 1`` visits one has ended before the last starts; the visits between two ranks
hold their least total work; start ranks inherited through the chain from earlier pools),
and the least-cost assignment of sites to those ranks (a site finishing its last visit
k-th ends no earlier than its chain from there) bounds the late count (0/1 costs) and the
total tardiness; with the late count capped, a Lagrangian dual of the same assignment.

:func:`_lp_tardiness_bound`: the LP relaxation of a time-indexed model by working days
(GLOP; travel dropped, durations and release dates rounded down, deadlines up: a
relaxation whose optimum starts every visit on a day boundary), which sees every pool and
the chains at once. Each bound names its source in the result.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from ortools.graph.python import linear_sum_assignment
from ortools.linear_solver import pywraplp

from ..errors import SolverError
from .problem import ProblemData, SiteData, _blocks


# --------------------------------------------------------------------------- bounds
def _block_est(site: SiteData, s: int, setup: Mapping[tuple[int, int], int]) -> list[int]:
    """Earliest start tick of each block of ``site`` (global index ``s``) with crews always
    free: chain predecessors, release dates, fixed starts, and a crew block no earlier than
    its least inbound move ``setup[(s, block)]`` (every unit starts at home at tick 0 and
    drives at least that far before the block)."""
    est: list[int] = []
    t = 0
    tasks = site.tasks
    for b_idx, (i0, i1, pool, dur, offsets) in enumerate(_blocks(site)):
        if tasks[i0].fixed_start is not None:
            t = int(tasks[i0].fixed_start or 0)
        else:
            for k in range(i0, i1 + 1):
                t = max(t, tasks[k].release - offsets[k - i0])
            if pool >= 0:
                t = max(t, int(setup.get((s, b_idx), 0)))
        est.append(t)
        t += dur
    return est


def _rank_completions(starts_lb: np.ndarray, lengths: np.ndarray, units: int) -> np.ndarray:
    """Lower bounds on the k-th smallest completion of the intervals of one crew pool.

    ``starts_lb[k]`` bounds the k-th smallest interval start from below (sorted);
    ``lengths`` are the intervals' lengths (any order); ``units`` the pool's capacity.
    Two valid arguments: of any ``units + 1`` intervals, one has ended before the last of
    them starts, so the k-th start is ≥ the (k − units)-th start + the shortest length;
    and the intervals with start ranks i…k that end by the k-th completion hold at least
    the sum of the k − i + 1 shortest lengths inside ``[start_i, C_k]`` on ``units``
    units (Chu's order-statistics argument, on parallel units)."""
    n = len(starts_lb)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    p_min = int(lengths.min())
    s = np.array(starts_lb, dtype=np.int64)
    for k in range(units, n):
        s[k] = max(s[k], s[k - units] + p_min)
    energy = np.concatenate(([0], np.cumsum(np.sort(lengths).astype(np.int64))))
    c = s + p_min
    for k in range(n):
        fill = -(-energy[k + 1 - np.arange(k + 1)] // units)  # ceil(Σ shortest / units)
        c[k] = max(int(c[k]), int((s[: k + 1] + fill).max()))
    return c


def _assign(cost: np.ndarray) -> tuple[int, np.ndarray]:
    """Least-cost perfect assignment of a square integer matrix (rows → columns)."""
    n = cost.shape[0]
    if n == 0:
        return 0, np.zeros(0, dtype=np.int64)
    solver = linear_sum_assignment.SimpleLinearSumAssignment()
    rows, cols = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    solver.add_arcs_with_cost(rows.ravel(), cols.ravel(), cost.ravel())
    if solver.solve() != solver.OPTIMAL:  # pragma: no cover - square and complete
        raise SolverError("the assignment bound found no assignment")
    return int(solver.optimal_cost()), np.array([solver.right_mate(i) for i in range(n)])


def _assign_with_late_cap(cost: np.ndarray, max_late: int) -> int:
    """Lower bound on ``min Σ cost`` over assignments with at most ``max_late`` rows of
    positive cost: the Lagrangian dual ``max_λ min Σ (cost + λ·[cost > 0]) − λ·max_late``
    (concave in λ; bisection on the subgradient, integer λ)."""
    n = cost.shape[0]
    if n == 0:
        return 0
    late = (cost > 0).astype(np.int64)
    rows = np.arange(n)

    def dual(lam: int) -> tuple[int, int]:
        value, cols = _assign(cost + lam * late)
        return value - lam * max_late, int(late[rows, cols].sum())

    best, n_late = dual(0)
    if n_late <= max_late:
        return best
    lo, hi = 1, int(cost.max()) * n + 1
    while lo < hi:
        mid = (lo + hi) // 2
        value, n_late = dual(mid)
        best = max(best, value)
        if n_late > max_late:
            lo = mid + 1
        else:
            hi = mid
    return max(best, dual(lo)[0])


@dataclass
class _PoolBound:
    """One crew pool's assignment bound: ``cost[i, k]`` is the least tardiness of site
    ``members[i]`` if its last block on the pool ends k-th; ``others_*`` are the chain-alone
    tardiness and late count of the part's sites outside the pool."""

    pool: int
    kind: str
    cost: np.ndarray
    others_tard: int
    others_late: int
    tard: int
    late: int


@dataclass
class _Bound:
    """Proven lower bounds of one part (ticks and site counts) with their sources."""

    chain_tard: int
    chain_late: int
    pools: list[_PoolBound]
    _memo: dict[int | None, tuple[int, str]] = field(default_factory=dict)

    @property
    def late(self) -> tuple[int, str]:
        """Sites late in any schedule and where that comes from."""
        best = (self.chain_late, "chain")
        for pb in self.pools:
            if pb.late > best[0]:
                best = (pb.late, f"{pb.kind} crews")
        return best

    def tardiness(self, max_late: int | None = None) -> tuple[int, str]:
        """Least total tardiness (ticks) of any schedule with at most ``max_late`` late
        sites (``None``: any number), and its source (``chain`` or ``<kind> crews``)."""
        if max_late in self._memo:
            return self._memo[max_late]
        best = (self.chain_tard, "chain")
        for pb in self.pools:
            value = pb.tard
            if max_late is not None and max_late - pb.others_late >= pb.late - pb.others_late:
                value = max(
                    value,
                    pb.others_tard + _assign_with_late_cap(pb.cost, max_late - pb.others_late),
                )
            if value > best[0]:
                best = (value, f"{pb.kind} crews")
        self._memo[max_late] = best
        return best


def _part_bound(
    problem: ProblemData,
    part: Sequence[int],
    setup: Mapping[tuple[int, int], int],
    *,
    keep: Callable[[int], bool] | None = None,
    capacity: Mapping[int, int] | None = None,
    propagate: bool = True,
) -> _Bound:
    """Lower bounds on the late sites and the total tardiness of a part, valid for the
    real problem (travel counted as each visit's least inbound move, as in the model).

    Per crew pool (in chain order), sorted lower bounds on its blocks' start ranks come
    from the blocks' own earliest starts and, through the chain, from every earlier pool's
    completion ranks plus the least work in between (a subset's k-th value is ≥ the whole
    set's k-th value); :func:`_rank_completions` turns them into completion ranks. A site
    whose last block on the pool ends k-th finishes no earlier than its chain from that
    completion (later tasks and their release dates), so the least-cost assignment of
    sites to ranks bounds the total tardiness (and, with 0/1 costs, the late count) of any
    schedule. ``keep`` drops sites (a relaxation), ``capacity`` overrides pool sizes,
    ``propagate=False`` ignores the chain between pools (for capacity searches)."""
    sites = [s for s in part if problem.sites[s].tasks and (keep is None or keep(s))]
    blocks = {s: _blocks(problem.sites[s]) for s in sites}
    est = {s: _block_est(problem.sites[s], s, setup) for s in sites}
    end_alone: dict[int, int] = {}
    for s in sites:
        end_alone[s] = est[s][-1] + blocks[s][-1][3]
    base = {s: max(0, end_alone[s] - problem.sites[s].deadline_tick) for s in sites}
    chain_tard = sum(base.values())
    chain_late = sum(1 for v in base.values() if v > 0)
    position: dict[int, list[int]] = {}
    for s in sites:
        for blk in blocks[s]:
            if blk[2] >= 0:
                position.setdefault(blk[2], []).append(blk[0])
    order = sorted(position, key=lambda p: (float(np.mean(position[p])), p))
    ranks: dict[int, np.ndarray] = {}
    pools: list[_PoolBound] = []
    for p in order:
        jobs = [(s, b) for s in sites for b, blk in enumerate(blocks[s]) if blk[2] == p]
        lengths = np.zeros(len(jobs), dtype=np.int64)
        own = np.zeros(len(jobs), dtype=np.int64)
        links: list[dict[int, int]] = []
        for j, (s, b) in enumerate(jobs):
            i0, _, _, dur, _ = blocks[s][b]
            fixed = problem.sites[s].tasks[i0].fixed_start is not None
            pad = 0 if fixed else int(setup.get((s, b), 0))
            lengths[j] = dur + pad
            own[j] = est[s][b] - pad
            link: dict[int, int] = {}
            if propagate and not fixed:
                gap = 0
                for pb in range(b - 1, -1, -1):
                    q = blocks[s][pb][2]
                    if q >= 0 and q in ranks and q not in link:
                        link[q] = gap - pad
                    gap += blocks[s][pb][3]
            links.append(link)
        lb = np.sort(own)
        for q in ranks:
            for split in (False, True):
                groups: dict[int, list[int]] = {}
                for j, link in enumerate(links):
                    if q in link:
                        groups.setdefault(link[q] if split else 0, []).append(j)
                if not groups:
                    continue
                seqs = []
                linked: set[int] = set()
                for idx in groups.values():
                    linked.update(idx)
                    gap_min = min(links[j][q] for j in idx)
                    seqs.append(np.maximum(np.sort(own[idx]), ranks[q][: len(idx)] + gap_min))
                rest = [j for j in range(len(jobs)) if j not in linked]
                if rest:
                    seqs.append(own[rest])
                lb = np.maximum(lb, np.sort(np.concatenate(seqs)))
        units = int(capacity.get(p, len(problem.pools[p])) if capacity else len(problem.pools[p]))
        ranks[p] = _rank_completions(lb, lengths, max(1, units))
        last: dict[int, int] = {}
        for s, b in jobs:
            last[s] = b
        members = sorted(last)
        n = len(members)
        c = ranks[p][:n]
        cost = np.zeros((n, n), dtype=np.int64)
        for i, s in enumerate(members):
            t = c.copy()
            tasks = problem.sites[s].tasks
            for i0, i1, _, dur, offsets in blocks[s][last[s] + 1 :]:
                if tasks[i0].fixed_start is not None:
                    t = np.full_like(t, int(tasks[i0].fixed_start or 0) + dur)
                    continue
                release = max(tasks[k].release - offsets[k - i0] for k in range(i0, i1 + 1))
                t = np.maximum(t, release) + dur
            cost[i] = np.maximum(0, np.maximum(t, end_alone[s]) - problem.sites[s].deadline_tick)
        inside = set(members)
        others_tard = sum(v for s, v in base.items() if s not in inside)
        others_late = sum(1 for s, v in base.items() if s not in inside and v > 0)
        tard, _ = _assign(cost)
        late, _ = _assign((cost > 0).astype(np.int64))
        pools.append(
            _PoolBound(
                pool=p,
                kind=problem.pool_keys[p][2],
                cost=cost,
                others_tard=others_tard,
                others_late=others_late,
                tard=tard + others_tard,
                late=late + others_late,
            )
        )
    return _Bound(chain_tard=chain_tard, chain_late=chain_late, pools=pools)


def _lp_tardiness_bound(
    problem: ProblemData,
    part: Sequence[int],
    *,
    slot: int,
    horizon: int,
    max_columns: int,
) -> int | None:
    """Lower bound on the total tardiness (ticks) of any plan of a part, from the LP
    relaxation of a time-indexed model (OR-Tools' GLOP simplex); ``None`` when the model
    would need more than ``max_columns`` columns or the LP does not solve.

    The model is of a relaxed problem: no travel, durations and release dates rounded down
    and deadlines rounded up to whole slots of ``slot`` ticks. A plan of the relaxed
    problem can be shifted left until every visit starts at a release, at the end of its
    chain predecessor or at the end of another visit of its pool, all whole slots, without
    ending any site later; so counting time in slots loses nothing, and the relaxation's
    integer optimum (whole slots) is ≥ the LP's. Columns ``y[b, t]`` = "block ``b`` has
    started by slot ``t``" for ``t < horizon`` slots; a block may start at or after the
    horizon (``1 − y[b, horizon − 1]``, charged as if it started there, the pools
    unconstrained from then on)."""
    g = max(1, int(slot))
    h = max(1, -(-int(horizon) // g) + 1)
    layout: list[tuple[list[tuple[int, int, int]], int]] = []  # (pool, D, est) per block, dl
    columns = 0
    for site in (problem.sites[s] for s in part if problem.sites[s].tasks):
        rows: list[tuple[int, int, int]] = []
        t = 0
        for i0, i1, pool, dur, offsets in _blocks(site):
            task = site.tasks[i0]
            if task.fixed_start is not None:
                release = int(task.fixed_start) // g
            else:
                release = max(
                    max(0, site.tasks[k].release - offsets[k - i0]) // g for k in range(i0, i1 + 1)
                )
            t = max(t, release)
            rows.append((pool, dur // g, t))
            columns += max(0, h - t)
            t += dur // g
        layout.append((rows, -(-site.deadline_tick // g)))
    if not layout or columns > max_columns:
        return None
    lp = pywraplp.Solver.CreateSolver("GLOP")
    if lp is None:  # pragma: no cover - GLOP is OR-Tools' own LP solver
        return None
    lp.SetSolverSpecificParametersAsString("use_dual_simplex: true")
    constant = 0.0
    objective: list[tuple[Any, float]] = []
    active: dict[int, list[list[Any]]] = {}  # pool → per slot, the columns' ± terms
    for k, (rows, dl) in enumerate(layout):
        prev: tuple[Callable[[int], Any], int] | None = None  # (y of the previous block, D)
        for b, (pool, d, est) in enumerate(rows):
            ys = [lp.NumVar(0.0, 1.0, f"y{k}_{b}_{t}") for t in range(est, h)]

            def y(t: int, ys: list[Any] = ys, est: int = est) -> Any:
                return 0.0 if t < est else ys[t - est]

            for t in range(est + 1, h):
                lp.Add(y(t) >= y(t - 1))
            if prev is not None:  # started by t only if the previous block started by t − D
                for t in range(est, h):
                    lp.Add(y(t) <= prev[0](t - prev[1]))
            if pool >= 0 and d > 0:
                per_slot = active.setdefault(pool, [[] for _ in range(h)])
                for t in range(est, h):
                    per_slot[t].append((y(t), 1.0))
                    if t + d < h:
                        per_slot[t + d].append((y(t), -1.0))
            prev = (y, d)
            if b == len(rows) - 1:
                # Σ_t cost(t)·(y[t] − y[t−1]) + cost(h)·(1 − y[h−1]) with cost(t) the
                # tardiness of a start in slot t (non-decreasing in t).
                def cost(t: int, d: int = d, dl: int = dl) -> float:
                    return float(max(0, t + d - dl))

                constant += cost(max(est, h))
                for t in range(est, h):
                    objective.append((ys[t - est], cost(t) - cost(t + 1)))
    for pool, per_slot in active.items():
        units = len(problem.pools[pool])
        for terms in per_slot:
            if terms:
                lp.Add(sum(coef * var for var, coef in terms) <= units)
    lp.Minimize(constant + sum(coef * var for var, coef in objective if coef))
    if lp.Solve() != pywraplp.Solver.OPTIMAL:
        return None
    value = lp.Objective().Value()
    # The relaxed optimum is a whole number of slots; keep clear of the LP's tolerances.
    return g * max(0, math.ceil(value - 1e-3 - 1e-7 * abs(value)))
