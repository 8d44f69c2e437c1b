"""What site planning answers: :class:`SitePlan` (sites, backhaul links, uncoverable
villages, candidates, costs by province) and its plain summary.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd

from ..analysis import CoverageMatrix
from ..schema import OPERATORS
from .settings import GROUPS, KINDS, _vnd
from .villages import _GapVillages

SITE_COLUMNS: tuple[str, ...] = (
    "site_id",
    "operator",
    "operator_reason",
    "kind",
    "source",
    "ground_rise_m",
    "host_site_id",
    "host_operator",
    "technology",
    "frequency_mhz",
    "height_m",
    "eirp_dbm",
    "villages_served",
    "n_villages",
    "population_served",
    "group",
    "deadline",
    "power",
    "power_date",
    "power_reason",
    "power_rule",
    "pv_kwp",
    "battery_kwh",
    "grid_line_km",
    "backhaul",
    "backhaul_reason",
    "backhaul_pop",
    "backhaul_hops",
    "backhaul_length_m",
    "site_capex_vnd",
    "power_capex_vnd",
    "backhaul_capex_vnd",
    "capex_vnd",
    "opex_vnd_per_year",
    "cost_vnd",
    "province_code",
    "province",
    "commune_code",
    "planning_method",
)


UNCOVERABLE_COLUMNS: tuple[str, ...] = ("village_id", "name", "province_code", "group", "reason")


CANDIDATE_COLUMNS: tuple[str, ...] = (
    "site_id",
    "location_id",
    "operator",
    "kind",
    "source",
    "variant",
    "height_m",
    "n_coverable",
    "population_coverable",
    "power",
    "capex_vnd",
    "opex_vnd_per_year",
    "cost_vnd",
    "selected",
    "greedy",
)


COVERAGE_COLUMNS: tuple[str, ...] = (
    "location_id",
    "village_id",
    "rsrp_dbm",
    "covered",
    "distance_m",
    "model",
)


COST_BY_PROVINCE_COLUMNS: tuple[str, ...] = (
    "province_code",
    "province",
    "sites",
    "new",
    "upgrade",
    "colocation",
    "villages_served",
    "population_served",
    "capex_vnd",
    "opex_vnd_per_year",
    "cost_vnd",
)


@dataclass(frozen=True, eq=False)
class SitePlan:
    """The site plan.

    sites: GeoDataFrame (EPSG:4326 points), columns :data:`SITE_COLUMNS` + geometry,
        sorted by ``site_id``. ``site_id``: ``S-<village_id>`` (new site at the village),
        ``S-<village_id>-R<k>`` / ``-H<k>`` (ring / high ground around it), ``U-<site_id>``
        (upgrade), ``C-<site_id>-<operator slug>`` (co-location); a new site whose
        operator is not its village's preferred one ends in ``-<operator slug>``.
        ``kind`` new/upgrade/colocation; ``source`` village/ring/high_ground/tower and
        ``ground_rise_m`` (high ground above its village, m); ``host_*`` the existing
        site; ``villages_served`` ``;``-joined ids (sorted), ``n_villages``,
        ``population_served``; ``group`` and ``deadline`` (earliest of the villages
        served); ``power`` grid/solar/generator, ``power_date`` (NaT without grid),
        ``power_reason`` and ``power_rule`` (host_grid, grid_near, grid_eta,
        grid_extension, solar_after, solar_close, solar_none, solar_cost, generator),
        ``pv_kwp``/``battery_kwh`` (solar sizing), ``grid_line_km``; ``backhaul``
        fibre/microwave/satellite with reason, PoP, hops, length; money: the site,
        power and backhaul capex parts, ``capex_vnd``, ``opex_vnd_per_year`` and
        ``cost_vnd`` = capex + ``opex_years`` × opex.
    uncoverable: gap villages without a planned site (:data:`UNCOVERABLE_COLUMNS`) with
        the reason: no location, distance or terrain (no candidate reaches it), the
        assigned operator, the optional constraints, or the budget.
    method: how the plan was made (also each site's ``planning_method``).
    summary: plain planner text (no timings: it is reproducible).
    links: backhaul of each site (EPSG:4326 LineStrings site → … → fibre PoP; a
        satellite link is a zero-length line at the site): ``site_id, operator, kind
        (fibre/microwave/satellite), length_m, hops, capacity_mbps, bands, pop_id,
        capex_vnd, opex_vnd_per_year``.
    cost_by_province: :data:`COST_BY_PROVINCE_COLUMNS`, sorted by province_code.
    objective_vnd: cost (capex + opex_years × opex) of the plan; bound_vnd: CP-SAT's
        lower bound on it (min-cost mode; NaN with a budget); gap: relative gap of the
        solved objective (cost, or population with a budget), 0 when proven optimal.
    greedy_cost_vnd, greedy_population: the greedy set cover's plan on the same data.
    status: CP-SAT status name (OPTIMAL, FEASIBLE, …; "NO_GAP_VILLAGES" when there
        was nothing to plan; "GREEDY_FALLBACK" when CP-SAT found no solution in time).
    population_covered, population_bound: population the plan covers, and CP-SAT's
        upper bound on it with a budget (else the coverable population).
    candidates: every candidate (:data:`CANDIDATE_COLUMNS` + geometry), sorted.
    coverage: the candidate-location × gap-village matrix (:data:`COVERAGE_COLUMNS`),
        every pair within reach.
    solve_time_s: wall time of the CP-SAT solves (not part of any output file).
    """

    sites: gpd.GeoDataFrame
    uncoverable: pd.DataFrame
    method: str
    summary: str
    links: gpd.GeoDataFrame = field(default_factory=lambda: _empty_links())
    cost_by_province: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=list(COST_BY_PROVINCE_COLUMNS))
    )
    objective_vnd: float = 0.0
    bound_vnd: float = 0.0
    gap: float = 0.0
    greedy_cost_vnd: float = 0.0
    greedy_population: int = 0
    status: str = "NO_GAP_VILLAGES"
    population_covered: int = 0
    population_bound: int = 0
    candidates: gpd.GeoDataFrame | None = None
    coverage: pd.DataFrame | None = None
    solve_time_s: float = 0.0


def _empty_links() -> gpd.GeoDataFrame:
    cols = {
        "site_id": "object",
        "operator": "object",
        "kind": "object",
        "length_m": "float64",
        "hops": "int64",
        "capacity_mbps": "float64",
        "bands": "object",
        "pop_id": "object",
        "capex_vnd": "float64",
        "opex_vnd_per_year": "float64",
    }
    frame = pd.DataFrame({c: pd.Series(dtype=t) for c, t in cols.items()})
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries([], crs="EPSG:4326"), crs="EPSG:4326")


def _empty_sites() -> gpd.GeoDataFrame:
    frame = pd.DataFrame({c: pd.Series(dtype="object") for c in SITE_COLUMNS})
    for c in ("deadline", "power_date"):
        frame[c] = pd.Series(dtype="datetime64[s]")
    for c in _FLOAT_SITE_COLUMNS:
        frame[c] = pd.Series(dtype="float64")
    for c in ("n_villages", "population_served", "backhaul_hops"):
        frame[c] = pd.Series(dtype="int64")
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries([], crs="EPSG:4326"), crs="EPSG:4326")


_FLOAT_SITE_COLUMNS: tuple[str, ...] = (
    "ground_rise_m",
    "frequency_mhz",
    "height_m",
    "eirp_dbm",
    "pv_kwp",
    "battery_kwh",
    "grid_line_km",
    "backhaul_length_m",
    "site_capex_vnd",
    "power_capex_vnd",
    "backhaul_capex_vnd",
    "capex_vnd",
    "opex_vnd_per_year",
    "cost_vnd",
)


def _cost_by_province(sites: pd.DataFrame) -> pd.DataFrame:
    if sites.empty:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in COST_BY_PROVINCE_COLUMNS})
    df = pd.DataFrame(
        {
            "province_code": sites["province_code"].astype(str).to_numpy(),
            "province": sites["province"].astype(str).to_numpy(),
            "sites": 1,
            "new": (sites["kind"] == "new").to_numpy(dtype=np.int64),
            "upgrade": (sites["kind"] == "upgrade").to_numpy(dtype=np.int64),
            "colocation": (sites["kind"] == "colocation").to_numpy(dtype=np.int64),
            "villages_served": sites["n_villages"].to_numpy(dtype=np.int64),
            "population_served": sites["population_served"].to_numpy(dtype=np.int64),
            "capex_vnd": sites["capex_vnd"].to_numpy(dtype=float),
            "opex_vnd_per_year": sites["opex_vnd_per_year"].to_numpy(dtype=float),
            "cost_vnd": sites["cost_vnd"].to_numpy(dtype=float),
        }
    )
    out = df.groupby(["province_code", "province"], sort=True, as_index=False).sum()
    out = out.sort_values(["province_code", "province"], kind="stable").reset_index(drop=True)
    for c in ("province_code", "province"):
        out[c] = out[c].astype("str")
    return out[list(COST_BY_PROVINCE_COLUMNS)]


def _summary(
    plan: SitePlan,
    *,
    n_locations: int,
    budget_vnd: float | None,
    opex_years: int,
    terrain_note: str,
) -> str:
    """The plain planner text of ``plan`` (its ``summary`` is not read)."""
    sites, uncoverable, status, gap = plan.sites, plan.uncoverable, plan.status, plan.gap
    objective_vnd, bound_vnd = plan.objective_vnd, plan.bound_vnd
    population_covered, population_bound = plan.population_covered, plan.population_bound
    n_candidates = 0 if plan.candidates is None else len(plan.candidates)
    lines = [
        f"{plan.method}: {len(sites)} sites from {n_candidates} candidates "
        f"({n_locations} candidate places examined)."
    ]
    if terrain_note:
        lines.append(terrain_note)
    if len(sites):
        kinds = ", ".join(
            f"{int((sites['kind'] == k).sum())} {k}" for k in KINDS if (sites["kind"] == k).any()
        )
        lines.append(f"Kinds: {kinds}.")
        for group in GROUPS[1:]:
            part = sites[sites["group"] == group]
            if part.empty:
                continue
            by_op = ", ".join(
                f"{op} {int((part['operator'] == op).sum())}"
                for op in OPERATORS
                if (part["operator"] == op).any()
            )
            lines.append(
                f"{group}: {len(part)} sites ({by_op}), {int(part['n_villages'].sum())} villages, "
                f"{int(part['population_served'].sum()):,} people, deadline "
                f"{part['deadline'].min().date()}."
            )
        rule = sites["power_rule"]
        n = {r: int((rule == r).sum()) for r in rule.unique()}
        on_grid = int((sites["power"] == "grid").sum())
        lines.append(
            f"Power: {on_grid} on grid ({n.get('host_grid', 0)} on an existing grid tower, "
            f"{n.get('grid_near', 0)} at once from an electrified village nearby, "
            f"{n.get('grid_eta', 0)} from their power_eta, {n.get('grid_extension', 0)} by a grid "
            f"extension), {int((sites['power'] == 'solar').sum())} on solar+battery, "
            f"{int((sites['power'] == 'generator').sum())} on a generator."
        )
        late = n.get("solar_after", 0) + n.get("solar_close", 0)
        if late or n.get("solar_none", 0) or n.get("solar_cost", 0):
            lines.append(
                f"  warning: solar+battery because power_eta is after the deadline "
                f"({n.get('solar_after', 0)}), too close to it for the build "
                f"({n.get('solar_close', 0)}), absent ({n.get('solar_none', 0)}), or grid "
                f"costs more ({n.get('solar_cost', 0)})."
            )
        bh = ", ".join(
            f"{int((sites['backhaul'] == k).sum())} {k}"
            for k in ("fibre", "microwave", "satellite")
            if (sites["backhaul"] == k).any()
        )
        lines.append(f"Backhaul: {bh}.")
        lines.append(
            f"Capex {_vnd(float(sites['capex_vnd'].sum()))}; opex "
            f"{_vnd(float(sites['opex_vnd_per_year'].sum()))} a year; cost over {opex_years} "
            f"years {_vnd(float(sites['cost_vnd'].sum()))}; "
            f"{population_covered:,} people newly covered."
        )
    if budget_vnd is not None:
        lines.append(
            f"Solver {status}: {population_covered:,} people within the budget "
            f"{_vnd(budget_vnd)} (bound {population_bound:,}, gap {gap:.2%}); greedy "
            f"{plan.greedy_population:,} people."
        )
    elif math.isfinite(bound_vnd):
        ratio = plan.greedy_cost_vnd / objective_vnd if objective_vnd > 0 else math.nan
        lines.append(
            f"Solver {status}: cost {_vnd(objective_vnd)}, bound {_vnd(bound_vnd)}, gap "
            f"{gap:.2%}; greedy set cover {_vnd(plan.greedy_cost_vnd)} ({ratio:.3f}× the plan)."
        )
    else:
        lines.append(f"Solver {status}: the greedy plan is used ({_vnd(objective_vnd)}).")
    if len(uncoverable):
        lines.append(
            f"{len(uncoverable)} gap villages get no site: "
            + ", ".join(uncoverable["village_id"].head(10))
            + (" …" if len(uncoverable) > 10 else "")
            + " (see uncoverable)."
        )
    return "\n".join(lines)


def _uncoverable_table(
    gaps: _GapVillages,
    mat: CoverageMatrix,
    location_ids: Sequence[str],
    *,
    covered: set[int],
    forced_uncovered: npt.NDArray[np.bool_],
    coverable: npt.NDArray[np.bool_],
    in_excluded: npt.NDArray[np.bool_],
    threshold_dbm: float,
    new_sites: bool,
    budget_vnd: float | None,
) -> pd.DataFrame:
    """``UNCOVERABLE_COLUMNS``, sorted by ``village_id``: the gap villages without a point
    (``gaps.unlocated``) and every gap village (index into ``gaps``) not in ``covered``,
    with why. ``mat``: the candidate × gap-village coverage matrix; ``location_ids`` names
    its candidates; ``forced_uncovered``: left out by the options; ``coverable``: some
    candidate covers it (so the budget left it out); ``in_excluded``: its own location is
    in an excluded area; ``threshold_dbm``: the coverage threshold."""
    thr_s = f"{threshold_dbm:g} dBm"
    p_loc, p_vil = mat.candidate, mat.village
    reached_any = np.zeros(len(gaps.ids), dtype=np.bool_)
    reached_any[p_vil[mat.covered]] = True
    # the strongest candidate per village: (level, level without terrain, distance, location)
    best_any: dict[int, tuple[float, float, float, int]] = {}
    if mat.n_pairs:
        order = np.lexsort((p_loc, -mat.level_dbm, p_vil))  # per village, strongest first
        first = order[np.r_[True, p_vil[order][1:] != p_vil[order][:-1]]]
        for q in first.tolist():
            best_any[int(p_vil[q])] = (
                float(mat.level_dbm[q]),
                float(mat.level_no_terrain_dbm[q]),
                float(mat.distance_m[q]),
                int(p_loc[q]),
            )
    rows = list(gaps.unlocated)
    for v in range(len(gaps.ids)):
        if v in covered:
            continue
        if forced_uncovered[v]:
            reason = (
                "constraint: no candidate reaching it fits the options "
                "(one new site per commune per operator / required sites)"
            )
        elif coverable[v]:
            reason = f"budget: not covered within the budget of {_vnd(budget_vnd or 0.0)}"
        else:
            b = best_any.get(v)
            if reached_any[v]:
                reason = (
                    f"operator: a candidate reaches it but none of its assigned operator "
                    f"{gaps.assigned[v]} (or co-location has no headroom / is not a candidate "
                    "kind)"
                )
            elif b is None:
                reason = "distance: no candidate site within reach"
            elif b[1] >= threshold_dbm and b[0] < threshold_dbm:
                reason = (
                    f"terrain: the best candidate {location_ids[b[3]]} gives "
                    f"{b[0]:.1f} dBm over the terrain ({b[1]:.1f} dBm without), below "
                    f"the threshold {thr_s}"
                )
            else:
                reason = (
                    f"distance: the best candidate {location_ids[b[3]]}, "
                    f"{b[2] / 1000:.1f} km away, gives {b[0]:.1f} dBm, below the threshold "
                    f"{thr_s}"
                )
            if in_excluded[v]:
                reason += "; its own location is in an excluded area"
            elif not new_sites:
                reason += "; new sites are not a candidate kind"
        rows.append(
            {
                "village_id": str(gaps.ids[v]),
                "name": str(gaps.frame["name"].iloc[v]),
                "province_code": str(gaps.frame["province_code"].iloc[v]),
                "group": str(gaps.frame["group"].iloc[v]),
                "reason": reason,
            }
        )
    table = pd.DataFrame(rows, columns=list(UNCOVERABLE_COLUMNS))
    return table.sort_values("village_id", kind="stable").reset_index(drop=True)
