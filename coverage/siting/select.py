"""Selection (layer 6): the min-cost set cover (or max population within a budget) with
CP-SAT, per independent part after dropping dominated candidates, and the greedy set cover
reported beside it.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from ortools.sat.python import cp_model

from ..errors import ScenarioError
from .settings import SitingSettings


@dataclass
class _Problem:
    """Set-cover data: candidate variants × coverable gap villages."""

    n_villages: int
    cover_ptr: npt.NDArray[np.int64]  # CSR over candidates
    cover_idx: npt.NDArray[np.int64]
    cost_k: npt.NDArray[np.int64]  # thousands of VND
    capex_k: npt.NDArray[np.int64]
    physical: npt.NDArray[np.int64]  # candidate variant → physical candidate
    commune_groups: list[list[int]]  # physical candidates sharing (operator, commune)
    required: list[int]  # physical candidates
    population: npt.NDArray[np.int64]  # per village
    coverable: npt.NDArray[np.bool_]  # per village


@dataclass
class _Solved:
    selected: npt.NDArray[np.bool_]
    status: str
    objective_k: float
    bound_k: float
    gap: float
    population_bound: int
    forced_uncovered: npt.NDArray[np.bool_]
    wall_s: float


def _village_lists(p: _Problem) -> list[list[int]]:
    lists: list[list[int]] = [[] for _ in range(p.n_villages)]
    for j in range(p.cost_k.size):
        for v in p.cover_idx[p.cover_ptr[j] : p.cover_ptr[j + 1]]:
            lists[int(v)].append(j)
    return lists


def _variants(p: _Problem) -> dict[int, list[int]]:
    """The candidate indices (deadline variants) of each physical site."""
    variants: dict[int, list[int]] = {}
    for j in range(p.cost_k.size):
        variants.setdefault(int(p.physical[j]), []).append(j)
    return variants


def _selection_model(p: _Problem) -> tuple[cp_model.CpModel, list[Any]]:
    """A CP-SAT model with one 0/1 ``x[j]`` per candidate and the options' rules: at most
    one variant per physical site, at most one new site per commune group, exactly one
    variant of each required site. The caller adds the cover and the objective."""
    variants = _variants(p)
    m = cp_model.CpModel()
    x = [m.new_bool_var(f"x{j}") for j in range(p.cost_k.size)]
    for members in variants.values():
        if len(members) > 1:
            m.add_at_most_one(x[k] for k in members)
    for group in p.commune_groups:
        lits = [x[k] for ph in group for k in variants.get(ph, [])]
        if len(lits) > 1:
            m.add_at_most_one(lits)
    for ph in p.required:
        m.add_exactly_one(x[k] for k in variants[ph])
    return m, x


def _greedy(p: _Problem, budget_k: int | None) -> npt.NDArray[np.bool_]:
    """Greedy set cover: repeatedly the variant with the least cost per newly covered
    village (with a budget: the most new population per capex that still fits), ties
    to the most new villages, then the first in site_id order; one variant per
    candidate, the commune rule and the required sites respected."""
    n = p.cost_k.size
    chosen = np.zeros(n, dtype=np.bool_)
    blocked = np.zeros(n, dtype=np.bool_)
    phys_of_group: dict[int, list[int]] = {}
    for g, members in enumerate(p.commune_groups):
        for m in members:
            phys_of_group.setdefault(m, []).append(g)
    group_members = [set(m) for m in p.commune_groups]
    variants = _variants(p)
    uncovered = p.coverable.copy()
    pair_cand = np.repeat(np.arange(n), np.diff(p.cover_ptr))
    spent = 0

    def take(j: int) -> None:
        nonlocal spent
        chosen[j] = True
        spent += int(p.capex_k[j])
        ph = int(p.physical[j])
        for k in variants[ph]:
            blocked[k] = True
        for g in phys_of_group.get(ph, []):
            for other in group_members[g]:
                for k in variants[other]:
                    blocked[k] = True
        uncovered[p.cover_idx[p.cover_ptr[j] : p.cover_ptr[j + 1]]] = False

    for ph in p.required:
        options = [k for k in variants.get(ph, []) if not blocked[k]]
        if options:
            take(max(options, key=lambda k: (p.cover_ptr[k + 1] - p.cover_ptr[k], -k)))
    weights = p.population.astype(np.float64)
    while uncovered.any():
        flag = uncovered[p.cover_idx].astype(np.float64)
        gain = np.bincount(pair_cand, weights=flag, minlength=n)
        ok = (gain > 0) & ~blocked
        if budget_k is not None:
            ok &= spent + p.capex_k <= budget_k
        if not ok.any():
            break
        idx = np.flatnonzero(ok)
        if budget_k is None:
            score = p.cost_k[idx] / gain[idx]
            j = int(idx[np.lexsort((idx, -gain[idx], score))[0]])
        else:
            pop_gain = np.bincount(pair_cand, weights=flag * weights[p.cover_idx], minlength=n)
            score = pop_gain[idx] / np.maximum(p.capex_k[idx], 1)
            j = int(idx[np.lexsort((idx, -pop_gain[idx], -score))[0]])
        take(j)
    return chosen


_STATUS = {
    cp_model.OPTIMAL: "OPTIMAL",
    cp_model.FEASIBLE: "FEASIBLE",
    cp_model.INFEASIBLE: "INFEASIBLE",
    cp_model.MODEL_INVALID: "MODEL_INVALID",
    cp_model.UNKNOWN: "UNKNOWN",
}


def _solver(settings: SitingSettings, det_time: float) -> cp_model.CpSolver:
    solver = cp_model.CpSolver()
    prm = solver.parameters
    prm.random_seed = int(settings.seed)
    prm.num_workers = int(settings.num_workers)
    # one worker is deterministic by itself; interleaving would time-slice subsolvers in it
    prm.interleave_search = bool(settings.interleave_search) and int(settings.num_workers) > 1
    prm.max_deterministic_time = float(det_time)
    # clauses (the cover rows) enter the LP relaxation: set cover's LP bound is tight
    prm.linearization_level = 2
    prm.log_search_progress = False
    return solver


def _subproblem(
    p: _Problem, cands: npt.NDArray[np.int64], vills: npt.NDArray[np.int64]
) -> _Problem:
    """The part of ``p`` on these candidates and villages (renumbered, order kept)."""
    vpos = np.full(p.n_villages, -1, dtype=np.int64)
    vpos[vills] = np.arange(vills.size)
    lens = np.diff(p.cover_ptr)[cands]
    ptr = np.zeros(cands.size + 1, dtype=np.int64)
    np.cumsum(lens, out=ptr[1:])
    idx = (
        np.concatenate([p.cover_idx[p.cover_ptr[j] : p.cover_ptr[j + 1]] for j in cands])
        if cands.size
        else np.zeros(0, dtype=np.int64)
    )
    phys = p.physical[cands]
    in_part = set(phys.tolist())
    return _Problem(
        n_villages=int(vills.size),
        cover_ptr=ptr,
        cover_idx=vpos[idx],
        cost_k=p.cost_k[cands],
        capex_k=p.capex_k[cands],
        physical=phys,
        commune_groups=[g for g in p.commune_groups if in_part.intersection(g)],
        required=[r for r in p.required if r in in_part],
        population=p.population[vills],
        coverable=p.coverable[vills],
    )


def _components(p: _Problem) -> list[tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]]:
    """Independent parts of the cover: villages joined by a candidate covering both, by
    two variants of one candidate or by a commune group. Returns (candidates, villages)
    per part, in order of their first village."""
    parent = list(range(p.n_villages))

    def find(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    def union(a: int, b: int) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)

    n = p.cost_k.size
    first = np.array(
        [int(p.cover_idx[p.cover_ptr[j]]) for j in range(n)], dtype=np.int64
    )  # every candidate covers ≥ 1 village
    for j in range(n):
        row = p.cover_idx[p.cover_ptr[j] : p.cover_ptr[j + 1]]
        for v in row[1:]:
            union(int(row[0]), int(v))
    anchor: dict[int, int] = {}
    for j in range(n):
        ph = int(p.physical[j])
        if ph in anchor:
            union(anchor[ph], int(first[j]))
        else:
            anchor[ph] = int(first[j])
    for group in p.commune_groups:
        members = [anchor[ph] for ph in group if ph in anchor]
        for m in members[1:]:
            union(members[0], m)
    root_v = np.array([find(v) for v in range(p.n_villages)], dtype=np.int64)
    root_c = root_v[first] if n else np.zeros(0, dtype=np.int64)
    parts = []
    for r in np.unique(root_c):
        parts.append((np.flatnonzero(root_c == r), np.flatnonzero(root_v == r)))
    return parts


def _prune_dominated(
    p: _Problem, *, budget: bool
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Set-cover dominance: candidate j is dropped when another candidate k covers every
    village j covers at no more cost (and, with a budget, no more capex); ties kept by
    more villages, then the smaller index, so every dropped j keeps an undropped
    dominator. Safe with the one-variant-per-candidate rule (a candidate's August variant
    covers its November one), so an optimum of the reduced problem is one of the whole;
    not applied with commune groups, never to a required candidate's variants. Returns
    (kept indices, dominator per candidate: itself when kept)."""
    n = p.cost_k.size
    dominator = np.arange(n, dtype=np.int64)
    if p.commune_groups or n < 2:
        return np.arange(n, dtype=np.int64), dominator
    required = set(p.required)
    covers = [
        frozenset(p.cover_idx[p.cover_ptr[j] : p.cover_ptr[j + 1]].tolist()) for j in range(n)
    ]
    lists = _village_lists(p)
    dropped = np.zeros(n, dtype=np.bool_)
    cost = p.cost_k
    capex = p.capex_k
    for j in range(n):
        if int(p.physical[j]) in required:
            continue
        cj = covers[j]
        v0 = min(sorted(cj), key=lambda v: len(lists[v]))
        for k in lists[v0]:
            if k == j or dropped[k] or cost[k] > cost[j] or not cj <= covers[k]:
                continue
            if budget and capex[k] > capex[j]:
                continue
            tie = cost[k] == cost[j] and (not budget or capex[k] == capex[j])
            if tie and len(covers[k]) == len(cj) and k > j:
                continue
            dropped[j] = True
            dominator[j] = k
            break
    # follow chains to an undropped dominator
    for jj in np.flatnonzero(dropped).tolist():
        top = int(dominator[jj])
        while dropped[top]:
            top = int(dominator[top])
        dominator[jj] = top
    return np.flatnonzero(~dropped).astype(np.int64), dominator


def _reduced(
    p: _Problem, hint: npt.NDArray[np.bool_], *, budget: bool
) -> tuple[_Problem, npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
    """``p`` without dominated candidates, the kept indices, and the hint moved onto the
    dominators (at most one variant per candidate kept)."""
    keep, dominator = _prune_dominated(p, budget=budget)
    if keep.size == p.cost_k.size:
        return p, keep, hint
    pos = np.full(p.cost_k.size, -1, dtype=np.int64)
    pos[keep] = np.arange(keep.size)
    sub = _subproblem(p, keep, np.arange(p.n_villages, dtype=np.int64))
    new_hint = np.zeros(keep.size, dtype=np.bool_)
    taken: set[int] = set()
    for j in np.flatnonzero(hint):
        k = int(pos[dominator[j]])
        ph = int(sub.physical[k])
        if ph not in taken:
            new_hint[k] = True
            taken.add(ph)
    return sub, keep, new_hint


def _solve_cover(
    p: _Problem, settings: SitingSettings, hint: npt.NDArray[np.bool_], det_time: float
) -> tuple[npt.NDArray[np.bool_], str, float, float, npt.NDArray[np.bool_]]:
    """One part, min cost: (selected, status, objective, bound, forced-uncovered)."""
    n = p.cost_k.size
    lists = _village_lists(p)
    cov = [v for v in range(p.n_villages) if p.coverable[v]]
    forced = np.zeros(p.n_villages, dtype=np.bool_)
    simple = not p.commune_groups and not p.required
    if simple and len(cov) == 1:
        # one village: its cheapest candidate (first in site_id order on ties)
        j = min(lists[cov[0]], key=lambda k: (int(p.cost_k[k]), k))
        sel = np.zeros(n, dtype=np.bool_)
        sel[j] = True
        obj = float(p.cost_k[j])
        return sel, "OPTIMAL", obj, obj, forced

    def model(soft: bool) -> tuple[cp_model.CpModel, list[Any], dict[int, Any], int]:
        m, x = _selection_model(p)
        u: dict[int, Any] = {}
        penalty = int(p.cost_k.sum()) + 1
        for v in cov:
            if soft:
                u[v] = m.new_bool_var(f"u{v}")
                m.add_bool_or([*(x[j] for j in lists[v]), u[v]])
            else:
                m.add_bool_or(x[j] for j in lists[v])
        cost = sum(int(p.cost_k[j]) * x[j] for j in range(n))
        m.minimize(cost + penalty * sum(u.values()) if soft else cost)
        for j in range(n):
            m.add_hint(x[j], bool(hint[j]))
        return m, x, u, penalty

    m, x, _, _ = model(False)
    solver = _solver(settings, det_time)
    st = solver.solve(m)
    if st in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        sel = np.array([bool(solver.value(x[j])) for j in range(n)], dtype=np.bool_)
        return sel, _STATUS[st], solver.objective_value, solver.best_objective_bound, forced
    if st == cp_model.INFEASIBLE:
        # the optional constraints leave some villages uncoverable: find which
        m, x, u, penalty = model(True)
        solver = _solver(settings, det_time)
        st = solver.solve(m)
        if st in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            for v in cov:
                forced[v] = bool(solver.value(u[v]))
            k = int(forced.sum())
            sel = np.array([bool(solver.value(x[j])) for j in range(n)], dtype=np.bool_)
            obj = solver.objective_value - penalty * k
            bound = min(solver.best_objective_bound - penalty * k, obj)
            return sel, _STATUS[st], obj, bound, forced
        if st == cp_model.INFEASIBLE:
            raise ScenarioError(
                "[siting] required_sites break the other options (one new site per commune "
                "per operator): no plan satisfies both",
                column="required_sites",
            )
    return hint.copy(), "UNKNOWN", float(p.cost_k[hint].sum()), math.nan, forced


def _solve(
    p: _Problem, settings: SitingSettings, hint: npt.NDArray[np.bool_], budget_k: int | None
) -> _Solved:
    """CP-SAT: min-cost cover (hard; a penalty per uncovered village only when the optional
    constraints make it infeasible), solved part by part (independent groups of villages:
    each part's optimum adds up to the whole's, with the deterministic time shared in
    proportion to the parts' sizes); or max population within the budget, then the least
    cost at that population (one model: the budget couples everything)."""
    t0 = time.perf_counter()
    n = p.cost_k.size
    if budget_k is None:
        sel = np.zeros(n, dtype=np.bool_)
        forced = np.zeros(p.n_villages, dtype=np.bool_)
        total_obj = 0.0
        total_bound = 0.0
        statuses: set[str] = set()
        parts = _components(p)
        size = max(int(p.cover_idx.size), 1)
        for cands, vills in parts:
            sub = _subproblem(p, cands, vills)
            share = float(settings.max_deterministic_time) * sub.cover_idx.size / size
            red, keep, red_hint = _reduced(sub, hint[cands], budget=False)
            s_sel, st, obj, bound, s_forced = _solve_cover(
                red, settings, red_hint, max(share, 0.05)
            )
            sel[cands[keep]] = s_sel
            forced[vills] = s_forced
            total_obj += obj
            total_bound += bound
            statuses.add(st)
        if "UNKNOWN" in statuses:
            status = "GREEDY_FALLBACK" if statuses == {"UNKNOWN"} else "FEASIBLE"
        else:
            status = "OPTIMAL" if statuses <= {"OPTIMAL"} else "FEASIBLE"
        return _Solved(
            sel,
            status,
            total_obj,
            total_bound,
            _gap(total_obj, total_bound),
            0,
            forced,
            time.perf_counter() - t0,
        )
    full_p, full_hint = p, hint
    p, keep, hint = _reduced(p, hint, budget=True)
    n = p.cost_k.size
    lists = _village_lists(p)
    cov = [v for v in range(p.n_villages) if p.coverable[v]]
    m, x = _selection_model(p)
    z = {v: m.new_bool_var(f"z{v}") for v in cov}
    for v in cov:
        m.add_bool_or(x[j] for j in lists[v]).only_enforce_if(z[v])
    m.add(sum(int(p.capex_k[j]) * x[j] for j in range(n)) <= budget_k)
    for j in range(n):
        m.add_hint(x[j], bool(hint[j]))
    for v in cov:
        m.add_hint(z[v], bool(any(hint[j] for j in lists[v])))
    pop_expr = sum(int(p.population[v]) * z[v] for v in cov)
    m.maximize(pop_expr)
    forced = np.zeros(p.n_villages, dtype=np.bool_)
    solver = _solver(settings, float(settings.max_deterministic_time) * 2.0 / 3.0)
    st1 = solver.solve(m)
    if st1 not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        if st1 == cp_model.INFEASIBLE:
            raise ScenarioError(
                f"[siting] budget_vnd = {settings.budget_vnd:,.0f}: the required sites alone "
                "cost more (capex) than the budget, or break the other options",
                column="budget_vnd",
            )
        return _Solved(
            full_hint.copy(),
            "GREEDY_FALLBACK",
            float(full_p.cost_k[full_hint].sum()),
            math.nan,
            math.nan,
            0,
            forced,
            time.perf_counter() - t0,
        )
    best_pop = round(solver.objective_value)
    pop_bound = math.floor(solver.best_objective_bound + 1e-6)
    status1 = _STATUS[st1]
    phase1 = [bool(solver.value(x[j])) for j in range(n)]
    zval = {v: bool(solver.value(z[v])) for v in cov}
    m.clear_hints()
    for j in range(n):
        m.add_hint(x[j], phase1[j])
    for v in cov:
        m.add_hint(z[v], zval[v])
    m.add(pop_expr >= best_pop)
    m.minimize(sum(int(p.cost_k[j]) * x[j] for j in range(n)))
    solver2 = _solver(settings, float(settings.max_deterministic_time) / 3.0)
    st2 = solver2.solve(m)
    if st2 in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        sel = np.array([bool(solver2.value(x[j])) for j in range(n)], dtype=np.bool_)
        obj = solver2.objective_value
    else:
        sel = np.array(phase1, dtype=np.bool_)
        obj = float(p.cost_k[sel].sum())
    full_sel = np.zeros(full_p.cost_k.size, dtype=np.bool_)
    full_sel[keep] = sel
    return _Solved(
        full_sel,
        status1,
        obj,
        math.nan,
        (pop_bound - best_pop) / max(pop_bound, 1),
        pop_bound,
        forced,
        time.perf_counter() - t0,
    )


def _gap(obj: float, bound: float) -> float:
    if not (math.isfinite(obj) and math.isfinite(bound)):
        return math.nan
    return max(0.0, obj - bound) / max(abs(obj), 1.0)


def _covered_by(p: _Problem, chosen: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
    out = np.zeros(p.n_villages, dtype=np.bool_)
    for j in np.flatnonzero(chosen):
        out[p.cover_idx[p.cover_ptr[j] : p.cover_ptr[j + 1]]] = True
    return out
