"""Plans without CP-SAT: the decoder, the greedy yardstick, list and dispatch rules, local search.

The decoder (:class:`_Sgs`, :func:`_decode`) places visits in a given order with the real
crew moves (unit chosen: earliest start, then nearest, then lowest index), so every plan
it returns respects travel. On top of it:

- :func:`_greedy_part`: earliest deadline first per site with nearest-neighbour moves
  (the planner-by-hand yardstick printed beside CP-SAT), optionally dropping a site that
  would end late (Moore–Hodgson style);
- :func:`_lst_part`: a block-level latest-start list;
- :func:`_dispatch_best`: an ATCS rule (apparent tardiness cost with setups): the unit free
  first takes the visit with the best trade of slack against drive, over a grid of its
  two scales and a look-ahead, under a fixed work cap (same plan on any machine);
- :func:`_local_search`: a seeded local search that moves one crew visit in its pool's
  order and rebuilds the plan with the real moves.
"""

from __future__ import annotations

import math
import random
from bisect import bisect_left
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import SchemaError
from .problem import Block, ProblemData, _blocks
from .travel import _Travel


# --------------------------------------------------------------------------- decoding
@dataclass(frozen=True)
class _Assignment:
    """A complete schedule on the tick axes: start per (site, task left) and the unit
    index doing it (-1 without crew)."""

    starts: tuple[tuple[int, ...], ...]
    units: tuple[tuple[int, ...], ...]


class _Sgs:
    """Serial schedule generation with real travel, for one part: place blocks one by
    one, each as early as its chain predecessor, its release and a gap of a unit of its
    pool (with the moves in and out of the gap) allow; the unit chosen is the one that
    can start earliest, then the nearest, then the lowest index (or a forced unit)."""

    def __init__(self, problem: ProblemData, part: Sequence[int], travel: _Travel) -> None:
        self.problem = problem
        self.travel = travel
        self.blocks = {s: travel.blocks(s) for s in part}
        self.busy: dict[int, list[tuple[int, int, int]]] = {}  # unit → sorted (start, end, site)
        self.starts: dict[int, list[int]] = {s: [-1] * len(problem.sites[s].tasks) for s in part}
        self.units: dict[int, list[int]] = {s: [-1] * len(problem.sites[s].tasks) for s in part}

    def _fit(self, unit: int, site: int, est: int, dur: int) -> tuple[int, int]:
        """Earliest start ≥ est on ``unit`` and the move into it."""
        busy = self.busy.setdefault(unit, [])
        tr = self.travel
        ticks, local = tr._ticks, tr.local
        row_in = local[site]
        n_busy = len(busy)
        pos = max(0, bisect_left(busy, (est, -1, -1)) - 1)
        while True:
            prev_end = busy[pos - 1][1] if pos else 0
            if pos < n_busy and busy[pos][0] - max(est, prev_end) < dur:
                pos += 1  # the gap is too short even without driving
                continue
            if pos == 0:
                move = tr.from_home(unit, site)
            else:
                prev_site = busy[pos - 1][2]
                move = 0 if prev_site == site else ticks[local[prev_site]][row_in]
            t = max(est, prev_end + move)
            if pos >= n_busy:
                return t, move
            nxt = busy[pos]
            back = 0 if nxt[2] == site else ticks[row_in][local[nxt[2]]]
            if t + dur + back <= nxt[0]:
                return t, move
            pos += 1

    def est(self, site: int, b_idx: int) -> int:
        i0, _, _, _, offsets = self.blocks[site][b_idx]
        tasks = self.problem.sites[site].tasks
        if tasks[i0].fixed_start is not None:
            return int(tasks[i0].fixed_start or 0)
        t = 0
        if i0 > 0:
            t = self.starts[site][i0 - 1] + tasks[i0 - 1].duration
        i1 = self.blocks[site][b_idx][1]
        for k in range(i0, i1 + 1):
            t = max(t, tasks[k].release - offsets[k - i0])
        return t

    def place(self, site: int, b_idx: int, forced_unit: int = -1) -> int:
        """Place block ``b_idx`` of ``site``; returns its end tick."""
        i0, i1, pool, dur, offsets = self.blocks[site][b_idx]
        task = self.problem.sites[site].tasks[i0]
        est = self.est(site, b_idx)
        start, unit = est, -1
        if pool >= 0:
            if task.fixed_unit >= 0:
                cands: Sequence[int] = (task.fixed_unit,)
            elif forced_unit >= 0:
                cands = (forced_unit,)
            else:
                cands = self.problem.pools[pool]
            best: tuple[int, int, int] | None = None
            for u in cands:
                t, move = self._fit(u, site, est, dur)
                if task.fixed_start is not None:
                    if t > est and len(cands) > 1:
                        continue  # busy with another started task
                    t = est  # already on site: it goes on whatever the moves say
                key = (t, move, u)
                if best is None or key < best:
                    best = key
            if best is None:
                raise SchemaError(
                    f"site {self.problem.sites[site].site_id}: more started "
                    f"{task.crew_kind!r} tasks at once than units of that crew",
                    column="status",
                )
            start, _, unit = best
            busy = self.busy.setdefault(unit, [])
            busy.insert(bisect_left(busy, (start, -1, -1)), (start, start + dur, site))
        for k in range(i0, i1 + 1):
            self.starts[site][k] = start + offsets[k - i0]
            self.units[site][k] = unit
        return start + dur

    def remove(self, site: int, b_idx: int) -> None:
        i0, i1, _pool, dur, _ = self.blocks[site][b_idx]
        unit = self.units[site][i0]
        if unit >= 0:
            st = self.starts[site][i0]
            self.busy[unit].remove((st, st + dur, site))
        for k in range(i0, i1 + 1):
            self.starts[site][k] = -1
            self.units[site][k] = -1


def _is_fixed(problem: ProblemData, s: int, block: Block) -> bool:
    return problem.sites[s].tasks[block[0]].fixed_start is not None


def _decode(
    problem: ProblemData,
    part: Sequence[int],
    travel: _Travel,
    starts: Mapping[int, Sequence[float]],
    forced: Mapping[tuple[int, int], int] | None = None,
) -> tuple[dict[int, list[int]], dict[int, list[int]]]:
    """Place every block of ``part`` in the order of ``starts`` (any numbers: only their
    order counts; fixed blocks first;
    ties: site, chain position) with real moves, on ``forced[(site, block)]`` units where
    given; returns starts and units per task."""
    sgs = _Sgs(problem, part, travel)
    forced = forced or {}
    order = sorted(
        (0 if _is_fixed(problem, s, b) else 1, starts[s][b[0]], s, k)
        for s in part
        for k, b in enumerate(sgs.blocks[s])
    )
    for _, _, s, k in order:
        sgs.place(s, k, forced.get((s, k), -1))
    return sgs.starts, sgs.units


def _edf_key(problem: ProblemData, s: int) -> tuple[int, int, str]:
    site = problem.sites[s]
    return (site.deadline_tick, site.release_tick, site.site_id)


def _greedy_part(
    problem: ProblemData, part: Sequence[int], travel: _Travel, *, drop_late: bool
) -> tuple[dict[int, list[int]], dict[int, list[int]]]:
    """Earliest-deadline-first list scheduling, one site's chain at a time (fixed blocks
    first). With ``drop_late`` a site that would end late is taken out and appended
    after all the others (the Moore–Hodgson idea: a late site should not hold crews
    that on-time sites need)."""
    sgs = _Sgs(problem, part, travel)
    for s in part:
        for k, b in enumerate(sgs.blocks[s]):
            if _is_fixed(problem, s, b):
                sgs.place(s, k)
    late: list[int] = []
    for s in sorted(part, key=lambda s: _edf_key(problem, s)):
        site = problem.sites[s]
        free = [k for k, b in enumerate(sgs.blocks[s]) if not _is_fixed(problem, s, b)]
        if not free:
            continue
        end = 0
        for k in free:
            end = sgs.place(s, k)
        if drop_late and end > site.deadline_tick:
            for k in reversed(free):
                sgs.remove(s, k)
            late.append(s)
    for s in late:
        for k, b in enumerate(sgs.blocks[s]):
            if not _is_fixed(problem, s, b):
                sgs.place(s, k)
    return sgs.starts, sgs.units


def _part_value(
    problem: ProblemData,
    part: Sequence[int],
    starts: Mapping[int, Sequence[int]],
    ignore: frozenset[int] = frozenset(),
) -> tuple[int, int, int]:
    """(late sites, tardiness ticks, makespan ticks) of a part's schedule; sites in
    ``ignore`` count towards the makespan only."""
    n_late = tard = span = 0
    for s in part:
        site = problem.sites[s]
        if not site.tasks:
            continue
        end = starts[s][-1] + site.tasks[-1].duration
        span = max(span, end)
        late = 0 if s in ignore else max(0, end - site.deadline_tick)
        tard += late
        n_late += late > 0
    return (n_late, tard, span)


def _local_search(
    problem: ProblemData,
    part: Sequence[int],
    travel: _Travel,
    starts: Mapping[int, Sequence[int]],
    moves: int,
    seed: int,
    ignore: frozenset[int] = frozenset(),
) -> tuple[dict[int, list[int]], dict[int, list[int]], tuple[int, int, int]]:
    """Improve a plan with the real moves: a crew visit is moved just before or after
    another visit of the same pool in the placing order, the plan is rebuilt by
    :func:`_decode` (real travel, units chosen again) and kept when it is no worse
    lexicographically (late sites, tardiness, makespan; sites in ``ignore`` count towards
    the makespan only). ``moves`` rebuilds at most, a seeded generator: the same inputs
    give the same plan."""
    rng = random.Random(seed)
    blocks = {s: _blocks(problem.sites[s]) for s in part}
    by_pool: dict[int, list[tuple[int, int]]] = {}
    for s in part:
        for k, b in enumerate(blocks[s]):
            if b[2] >= 0 and not _is_fixed(problem, s, b):
                by_pool.setdefault(b[2], []).append((s, k))
    pools = [p for p in sorted(by_pool) if len(by_pool[p]) > 1]
    best_st, best_un = _decode(problem, part, travel, starts)
    best = _part_value(problem, part, best_st, ignore)
    if not pools:
        return best_st, best_un, best
    keys = {s: [float(v) for v in best_st[s]] for s in part}
    for _ in range(moves):
        items = by_pool[pools[rng.randrange(len(pools))]]
        (s, k), (s2, k2) = rng.sample(items, 2)
        if s == s2:
            continue
        i0, i1 = blocks[s][k][0], blocks[s][k][1]
        row = list(keys[s])
        shift = keys[s2][blocks[s2][k2][0]] + rng.choice((-0.5, 0.5)) - row[i0]
        for j in range(i0, len(row)):  # the block moves; later tasks keep chain order
            row[j] = row[j] + shift if j <= i1 else max(row[j], row[j - 1] + 1e-3)
        for j in range(i0 - 1, -1, -1):  # earlier tasks stay before it
            row[j] = min(row[j], row[j + 1] - 1e-3)
        trial = {**keys, s: row}
        st, un = _decode(problem, part, travel, trial)
        value = _part_value(problem, part, st, ignore)
        if value <= best:
            best, best_st, best_un = value, st, un
            keys = {x: [float(v) for v in st[x]] for x in part}
    return best_st, best_un, best


def _lst_part(
    problem: ProblemData,
    part: Sequence[int],
    travel: _Travel,
    ignore: frozenset[int] = frozenset(),
) -> tuple[dict[int, list[int]], dict[int, list[int]]]:
    """Block-level list scheduling by latest start (deadline minus the rest of the chain):
    a crew takes the most urgent visit first whatever site it belongs to (the per-site
    greedy books a whole chain at a time); sites in ``ignore`` come after all others."""
    keys: dict[int, list[int]] = {}
    late_shift = 1 + max((problem.axis(problem.sites[s]).horizon for s in part), default=0)
    for s in part:
        tasks = problem.sites[s].tasks
        t = problem.sites[s].deadline_tick + (late_shift if s in ignore else 0)
        row = [0] * len(tasks)
        for k in range(len(tasks) - 1, -1, -1):
            t -= tasks[k].duration
            row[k] = t
        keys[s] = row
    return _decode(problem, part, travel, keys)


#: (k1, k2, look-ahead) settings of the travel-aware dispatch (:func:`_dispatch_part`):
#: urgency scale in mean visit lengths, drive scale in mean moves, look-ahead in working
#: days (on the sample, a day's look-ahead wins with travel, none without).
_DISPATCH_GRID: tuple[tuple[float, float, float], ...] = tuple(
    (k1, k2, days)
    for days in (1.0, 0.0)
    for k1 in (4.0, 2.0, 1.0, 8.0, 0.5)
    for k2 in (0.25, 0.1, 0.5, 1.0, math.inf)
)


#: Candidate (unit, visit) evaluations all dispatch runs of one part may spend.
_DISPATCH_WORK = 3_000_000


def _dispatch_part(
    problem: ProblemData,
    part: Sequence[int],
    travel: _Travel,
    k1: float,
    k2: float,
    window: float,
    ignore: frozenset[int] = frozenset(),
) -> dict[tuple[int, int], tuple[int, int]]:
    """Travel-aware dispatching (an ATCS rule: apparent tardiness cost with setups).

    Time moves forward: the crew unit that can start a visit earliest goes next, and among
    its pool's visits that it could start within ``window`` ticks of that time it takes the
    one with the highest index ``exp(−slack⁺ / (k1·p̄)) · exp(−move / (k2·s̄)) / p``
    (slack: the visit's latest start for the site's deadline minus its start; p̄ and s̄ the
    part's mean visit length and move). Sites in ``ignore`` rank after every other.
    Started (fixed) visits hold their units first. Returns ``(site, block) → (start,
    unit)``; :func:`_decode` turns it into a plan with the real moves.
    """
    blocks = {s: travel.blocks(s) for s in part}
    tasks = {s: problem.sites[s].tasks for s in part}
    late_shift = 1 + max((problem.axis(problem.sites[s]).horizon for s in part), default=0)
    lst: dict[int, list[int]] = {}
    lengths: list[int] = []
    for s in part:
        t = problem.sites[s].deadline_tick + (late_shift if s in ignore else 0)
        row = [0] * len(blocks[s])
        for b in range(len(blocks[s]) - 1, -1, -1):
            t -= blocks[s][b][3]
            row[b] = t
        lst[s] = row
        lengths.extend(blk[3] for blk in blocks[s] if blk[2] >= 0)
    p_bar = max(1.0, float(np.mean(lengths))) if lengths else 1.0
    s_bar = max(1.0, float(travel.site_ticks.mean())) if travel.site_ticks.size else 1.0
    nxt = dict.fromkeys(part, 0)
    ready = dict.fromkeys(part, 0)
    free: dict[int, int] = {}
    where: dict[int, int] = {}  # unit → site it stands at (absent: at home)
    for s in part:
        for blk in blocks[s]:
            if blk[2] >= 0:
                for u in problem.pools[blk[2]]:
                    free.setdefault(u, 0)
    out: dict[tuple[int, int], tuple[int, int]] = {}

    def est(s: int) -> int:
        i0, i1, _, _, offsets = blocks[s][nxt[s]]
        t = ready[s]
        for k in range(i0, i1 + 1):
            t = max(t, tasks[s][k].release - offsets[k - i0])
        return t

    def place(s: int, start: int, unit: int) -> None:
        out[(s, nxt[s])] = (start, unit)
        ready[s] = start + blocks[s][nxt[s]][3]
        nxt[s] += 1
        if unit >= 0:
            free[unit] = ready[s]
            where[unit] = s

    left = sum(len(blocks[s]) for s in part)
    while left:
        moved = True
        while moved:  # crew-free tasks and started visits go as soon as they can
            moved = False
            for s in part:
                while nxt[s] < len(blocks[s]):
                    i0, _, pool, _, _ = blocks[s][nxt[s]]
                    task = tasks[s][i0]
                    if task.fixed_start is not None:
                        unit = task.fixed_unit
                        if unit < 0 and pool >= 0:
                            unit = min(problem.pools[pool], key=lambda u: (free[u], u))
                        place(s, int(task.fixed_start), unit)
                    elif pool < 0:
                        place(s, est(s), -1)
                    else:
                        break
                    left -= 1
                    moved = True
        if not left:
            break
        waiting: dict[int, list[int]] = {}
        for s in part:
            if nxt[s] < len(blocks[s]):
                waiting.setdefault(blocks[s][nxt[s]][2], []).append(s)
        options: dict[tuple[int, int], tuple[int, int]] = {}
        first: tuple[int, int] | None = None
        for pool in sorted(waiting):
            ready_at = {s: est(s) for s in waiting[pool]}
            for u in problem.pools[pool]:
                here = where.get(u)
                for s in waiting[pool]:
                    move = travel.from_home(u, s) if here is None else travel.between(here, s)
                    start = max(free[u] + move, ready_at[s])
                    options[(u, s)] = (start, move)
                    if first is None or (start, u) < first:
                        first = (start, u)
        assert first is not None
        t0, unit = first
        chosen: tuple[float, int] | None = None
        for s in waiting[problem.unit_pool[unit]]:
            start, move = options[(unit, s)]
            if start > t0 + window:
                continue
            slack = max(0, lst[s][nxt[s]] - start)
            score = (
                slack / (k1 * p_bar)
                + (move / (k2 * s_bar) if math.isfinite(k2) else 0.0)
                + math.log(blocks[s][nxt[s]][3] or 1)
                + 1e-6 * (start - t0)
            )
            if chosen is None or (score, s) < chosen:
                chosen = (score, s)
        assert chosen is not None
        s = chosen[1]
        place(s, options[(unit, s)][0], unit)
        left -= 1
    return out


def _dispatch_best(
    problem: ProblemData,
    part: Sequence[int],
    travel: _Travel,
    ignore: frozenset[int] = frozenset(),
    work: int = _DISPATCH_WORK,
) -> tuple[dict[int, list[int]], dict[int, list[int]]]:
    """The best plan of :func:`_dispatch_part` over :data:`_DISPATCH_GRID` (lexicographic:
    late sites, tardiness, makespan; ``ignore`` as in :func:`_part_value`), each decoded
    with the real moves; sites in ``ignore`` rank after every other. Large parts try fewer
    settings (``work`` candidate evaluations at most, whatever the machine: the same
    inputs give the same plan)."""
    n_visits = sum(len(travel.blocks(s)) for s in part)
    n_units = len(
        {u for s in part for b in travel.blocks(s) if b[2] >= 0 for u in problem.pools[b[2]]}
    )
    per_run = max(1, n_visits * len(part) * max(1, n_units))
    runs = max(1, min(len(_DISPATCH_GRID), work // per_run))
    step = len(_DISPATCH_GRID) / runs
    best: tuple[tuple[int, int, int], dict[int, list[int]], dict[int, list[int]]] | None = None
    for i in range(runs):
        k1, k2, days = _DISPATCH_GRID[int(i * step)]
        window = days * problem.ticks_per_day
        placed = _dispatch_part(problem, part, travel, k1, k2, window, ignore)
        keys = {s: [0.0] * len(problem.sites[s].tasks) for s in part}
        forced: dict[tuple[int, int], int] = {}
        for (s, b), (start, unit) in placed.items():
            i0, i1, _, _, offsets = travel.blocks(s)[b]
            for k in range(i0, i1 + 1):
                keys[s][k] = start + offsets[k - i0]
            if unit >= 0:
                forced[(s, b)] = unit
        st, un = _decode(problem, part, travel, keys, forced)
        value = _part_value(problem, part, st, ignore)
        if best is None or value < best[0]:
            best = (value, st, un)
    assert best is not None
    return best[1], best[2]
