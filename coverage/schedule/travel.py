"""Crew moves between sites: drive times in ticks and the least possible move into a visit.

A unit moving between sites drives ``great-circle × road_factor`` km at the region's
speed; hours become ticks (rounded up) of ``work_hours_per_day / ticks_per_day`` hours
each. The least possible inbound move of a visit (from the nearest other site of its
pool, or a home base; 0 after another task of the same site) is what the CP-SAT model
and the bounds use, a relaxation that keeps their bounds valid for the real problem.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from .problem import Block, ProblemData, _blocks


class _Travel:
    """Travel ticks between the sites of one part and from the units' homes (cached)."""

    def __init__(self, problem: ProblemData, site_indices: Sequence[int]) -> None:
        self.problem = problem
        self.local = {s: k for k, s in enumerate(site_indices)}
        sites = [problem.sites[i] for i in site_indices]
        self.lon = np.array([s.lon for s in sites], dtype=float)
        self.lat = np.array([s.lat for s in sites], dtype=float)
        self.region = sites[0].region if sites else ""
        n = len(sites)
        if n and problem.travel:
            hours = problem.travel_hours(
                self.lon[:, None],
                self.lat[:, None],
                self.lon[None, :],
                self.lat[None, :],
                self.region,
            )
            self.site_ticks = problem.ticks_of_hours(hours)
            self.site_hours = np.asarray(hours, dtype=float)
        else:
            self.site_ticks = np.zeros((n, n), dtype=np.int64)
            self.site_hours = np.zeros((n, n))
        self._ticks: list[list[int]] = self.site_ticks.tolist()  # plain lists: fast lookups
        self._home: dict[int, np.ndarray] = {}
        self._home_list: dict[int, list[int]] = {}
        self._blocks: dict[int, list[Block]] = {}

    def blocks(self, site: int) -> list[Block]:
        """:func:`_blocks` of a site of the part (cached)."""
        out = self._blocks.get(site)
        if out is None:
            out = self._blocks[site] = _blocks(self.problem.sites[site])
        return out

    def between(self, a: int, b: int) -> int:
        """Ticks from site ``a`` to site ``b`` (global site indices)."""
        if a == b:
            return 0
        return self._ticks[self.local[a]][self.local[b]]

    def home(self, unit: int) -> np.ndarray:
        """Ticks from the unit's home to every site of the part."""
        if unit not in self._home:
            hl, ht = self.problem.unit_home[unit]
            if not self.problem.travel or math.isnan(hl) or math.isnan(ht) or not len(self.lon):
                self._home[unit] = np.zeros(len(self.lon), dtype=np.int64)
            else:
                h = self.problem.travel_hours(hl, ht, self.lon, self.lat, self.region)
                self._home[unit] = self.problem.ticks_of_hours(h)
        return self._home[unit]

    def from_home(self, unit: int, site: int) -> int:
        row = self._home_list.get(unit)
        if row is None:
            row = self._home_list[unit] = [int(x) for x in self.home(unit)]
        return row[self.local[site]]

    def pool_home(self, pool: int, site: int) -> int:
        """Least move from a home of the pool's units to ``site``."""
        return min(self.from_home(u, site) for u in self.problem.pools[pool])


def _min_inbound(
    problem: ProblemData, part: Sequence[int], travel: _Travel
) -> dict[tuple[int, int], int]:
    """Per crew block ``(site, block)`` the least move any unit could make to reach it:
    the least of the moves from another site of the pool and from the pool's homes."""
    by_pool: dict[int, list[int]] = {}
    for s in part:
        for b in _blocks(problem.sites[s]):
            if b[2] >= 0 and s not in by_pool.setdefault(b[2], []):
                by_pool[b[2]].append(s)
    least_of: dict[tuple[int, int], int] = {}
    for pool, members in by_pool.items():
        loc = np.array([travel.local[s] for s in members])
        sub = travel.site_ticks[np.ix_(loc, loc)].astype(float)
        np.fill_diagonal(sub, np.inf)
        from_sites = sub.min(axis=0) if len(members) > 1 else np.full(len(members), np.inf)
        homes = np.min([travel.home(u)[loc] for u in problem.pools[pool]], axis=0)
        least = np.minimum(from_sites, homes)
        for k, s in enumerate(members):
            least_of[(s, pool)] = int(least[k])
    out: dict[tuple[int, int], int] = {}
    for s in part:
        seen: set[int] = set()
        for b_idx, b in enumerate(_blocks(problem.sites[s])):
            if b[2] >= 0:
                # A second visit of the same pool to the same site may follow the first.
                out[(s, b_idx)] = 0 if b[2] in seen else least_of[(s, b[2])]
                seen.add(b[2])
    return out


def _part_horizon(problem: ProblemData, part: Sequence[int], travel: _Travel) -> int:
    """Ticks any semi-active schedule of the part fits in: the latest release plus all
    work and the longest possible move before each visit, capped by the calendar."""
    axis = problem.axis(problem.sites[part[0]])
    rel = work = n_visits = 0
    for s in part:
        for t in problem.sites[s].tasks:
            rel = max(rel, t.release, t.fixed_start or 0)
            work += t.duration
        n_visits += sum(1 for b in _blocks(problem.sites[s]) if b[2] >= 0)
    longest = int(travel.site_ticks.max()) if travel.site_ticks.size else 0
    pools = {t.pool for s in part for t in problem.sites[s].tasks if t.pool >= 0}
    for p in pools:
        for u in problem.pools[p]:
            h = travel.home(u)
            if h.size:
                longest = max(longest, int(h.max()))
    return int(min(axis.horizon, rel + work + longest * n_visits))
