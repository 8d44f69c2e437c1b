""":func:`plan_sites`: the stage end to end — candidates, coverage matrix, operators, power,
backhaul, selection, serving — over GeoDataFrames in EPSG:4326.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import math
from typing import Any, cast

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely

from ..analysis import coverage_matrix
from ..calendar import to_date
from ..errors import ScenarioError
from ..network import (
    nearest_within,
    plan_backhaul,
)
from ..schema import OPERATOR_SLUGS, OPERATORS
from .candidates import _candidate_locations, _Rows, _tower_table
from .power import _Days, _decide_power, _Power, _PowerContext
from .result import (
    _FLOAT_SITE_COLUMNS,
    SITE_COLUMNS,
    UNCOVERABLE_COLUMNS,
    SitePlan,
    _cost_by_province,
    _empty_links,
    _empty_sites,
    _summary,
    _uncoverable_table,
)
from .select import _covered_by, _greedy, _Problem, _solve
from .settings import _UNIT_VND, GROUPS, SitingSettings
from .villages import (
    _check_villages,
    _excluded_geometry,
    _gap_villages,
    _located,
    _operators_at,
    _text_or_none,
)

_SLUG: dict[str, str] = {op: OPERATOR_SLUGS[op] for op in OPERATORS}


def plan_sites(
    villages: gpd.GeoDataFrame,
    towers: gpd.GeoDataFrame | None,
    settings: SitingSettings,
    *,
    dem: Any = None,
    excluded: gpd.GeoDataFrame | None = None,
) -> SitePlan:
    """Least-cost sites (or most population within a budget) for the gap villages.

    villages: analysed villages (EPSG:4326 points) with ``village_id, name,
        province_code, province, commune_code, population, electrified, power_eta,
        assigned_operator, group`` and the four ``rsrp_<operator>_dbm`` columns; gap
        villages are ``group != "covered"``; every electrified village is a grid source
        and every village with a ``power_eta`` a planned one.
    towers: existing towers (canonical form; optional ``colocation_headroom`` column),
        or None: candidates for upgrade and co-location, fibre PoPs and relays.
    dem: a :class:`covgap.terrain.Dem` (opened by the caller), or None: terrain-aware
        coverage, high-ground candidates and microwave line of sight.
    excluded: polygons (any CRS) where no candidate may stand, or None.

    See the module docstring. Raises :class:`ScenarioError` for a missing cost key, an
    unknown required site or a budget below the required sites.
    """
    _check_villages(villages)
    settings.check_costs()
    cal = settings.calendar
    tech = settings.technology
    eq = settings.equipment_by_technology[tech]
    athr = settings.analysis.threshold_rsrp_dbm if tech in ("4G", "5G") else None
    thr = (
        athr
        if athr is not None
        else (
            settings.analysis.threshold_rscp_dbm
            if tech == "3G"
            else settings.analysis.threshold_rxlev_dbm
        )
    )
    years = int(settings.opex_years)
    excl = _excluded_geometry(excluded)
    kinds = set(settings.candidate_kinds)

    # --- villages: all (grid sources, PoPs) and gaps (sorted by village_id)
    located = _located(villages)
    all_v = villages[located]
    all_v = all_v.iloc[np.argsort(all_v["village_id"].astype(str).to_numpy(), kind="stable")]
    gv = _gap_villages(villages, located, settings.default_operator)
    gaps, ng, g_id, g_lon, g_lat = gv.frame, len(gv.frame), gv.ids, gv.lon, gv.lat
    g_pop, g_powered, g_assigned, g_pref = gv.population, gv.powered, gv.assigned, gv.preferred
    goal = "max population within budget" if settings.budget_vnd is not None else "min-cost cover"
    method = f"CP-SAT {goal} ({settings.operator_mode.replace('_', ' ')})"
    if ng == 0:
        unc = pd.DataFrame(gv.unlocated, columns=list(UNCOVERABLE_COLUMNS))
        empty = _empty_sites()
        return SitePlan(
            sites=empty,
            uncoverable=unc,
            method=method,
            summary=f"{method}: no gap village to plan for."
            + (f" {len(unc)} gap villages have no location." if len(unc) else ""),
            links=_empty_links(),
            cost_by_province=_cost_by_province(empty),
            status="NO_GAP_VILLAGES",
        )

    # --- candidate locations ("emitters"), as columns
    tw = _tower_table(towers, settings)
    loc, hg_fallback = _candidate_locations(gv, tw, settings, dem=dem, excl=excl)
    nl = len(loc)
    recs = _Rows(loc)

    # --- coverage matrix (the analysis engine)
    l_lon = loc["lon"].to_numpy(dtype=float) if nl else np.zeros(0)
    l_lat = loc["lat"].to_numpy(dtype=float) if nl else np.zeros(0)
    emitters = gpd.GeoDataFrame(
        {
            "tower_id": loc["location_id"].to_numpy(dtype=object) if nl else [],
            "operator": OPERATORS[0],
            "technology": tech,
            "frequency_mhz": float(eq.frequency_mhz),
            "bandwidth_mhz": float(eq.bandwidth_mhz),
            "height_m": loc["height_m"].to_numpy(dtype=float) if nl else [],
            "eirp_dbm": float(eq.eirp_dbm),
            "status": "active",
        },
        geometry=gpd.points_from_xy(l_lon, l_lat),
        crs="EPSG:4326",
    )
    gap_frame = gaps[["village_id", "geometry"] + (["clutter"] if "clutter" in gaps else [])]
    mat = coverage_matrix(emitters, gap_frame, settings.analysis, dem=dem)
    p_loc = mat.candidate
    p_vil = mat.village
    # covered pairs, sorted by (location, village): location li reaches the gap villages
    # c_vil[c_ptr[li]:c_ptr[li + 1]] with levels c_lvl[...]
    c_vil = p_vil[mat.covered]
    c_lvl = mat.level_dbm[mat.covered]
    c_ptr = np.searchsorted(mat.candidate[mat.covered], np.arange(nl + 1)).astype(np.int64)

    def level_at(li: int, vills: list[int]) -> npt.NDArray[np.float64]:
        part = c_vil[c_ptr[li] : c_ptr[li + 1]]
        return np.asarray(c_lvl[c_ptr[li] + np.searchsorted(part, vills)], dtype=np.float64)

    # --- power context per location
    a_lon = np.asarray(shapely.get_x(np.asarray(all_v.geometry.array)), dtype=float)
    a_lat = np.asarray(shapely.get_y(np.asarray(all_v.geometry.array)), dtype=float)
    a_id = all_v["village_id"].astype(str).to_numpy()
    a_elec = all_v["electrified"].astype(bool).to_numpy()
    a_eta = pd.to_datetime(all_v["power_eta"]).to_numpy()
    # Only locations that cover some gap village become candidates and need a power
    # context: the nearest electrified village within reach of the grid or an extension,
    # and the nearest unelectrified one with a power_eta within grid reach (ties: the
    # smallest village_id, as all_v is sorted by it).
    near_elec: dict[int, tuple[str, float]] = {}
    near_eta: dict[int, tuple[str, float, dt.date]] = {}
    ext: dict[int, tuple[str, float]] = {}
    useful = np.flatnonzero(c_ptr[1:] > c_ptr[:-1])
    e_pos = np.flatnonzero(a_elec)
    e_near, e_dist = nearest_within(
        l_lon[useful],
        l_lat[useful],
        a_lon[e_pos],
        a_lat[e_pos],
        max(float(settings.grid_reach_m), float(settings.grid_extension_max_m)),
    )
    t_pos = np.flatnonzero(~a_elec & ~pd.isna(a_eta))
    t_near, t_dist = nearest_within(
        l_lon[useful], l_lat[useful], a_lon[t_pos], a_lat[t_pos], float(settings.grid_reach_m)
    )
    for k, li in enumerate(useful.tolist()):
        if e_near[k] >= 0:
            vb, d = int(e_pos[e_near[k]]), float(e_dist[k])
            if d <= settings.grid_extension_max_m:
                ext[li] = (str(a_id[vb]), d)
            if d <= settings.grid_reach_m:
                near_elec[li] = (str(a_id[vb]), d)
        if t_near[k] >= 0:
            vb, d = int(t_pos[t_near[k]]), float(t_dist[k])
            near_eta[li] = (str(a_id[vb]), d, pd.Timestamp(a_eta[vb]).date())
    deadline_of = {g: to_date(settings.deadlines[g]) for g in GROUPS[1:]}
    power_cache: dict[tuple[int, str], _Power] = {}
    days = _Days(cal)

    def power_of(li: int, group: str) -> _Power:
        key = (li, group)
        if key not in power_cache:
            row = recs[li]
            ctx = _PowerContext(
                host_site=row["host_site"],
                host_power=row["host_power"],
                near_elec=near_elec.get(li),
                near_eta=near_eta.get(li),
                ext=ext.get(li),
            )
            power_cache[key] = _decide_power(ctx, deadline_of[group], settings, days)
        return power_cache[key]

    # --- candidates: location × operator × deadline variant
    shared = settings.operator_mode == "shared"
    cands: list[dict[str, Any]] = []
    prune = not settings.one_new_site_per_commune
    for li in range(nl):
        reach = c_vil[c_ptr[li] : c_ptr[li + 1]].tolist()
        if not reach:
            continue
        row = recs[li]
        kind = str(row["kind"])
        ops = _operators_at(row, reach, gv, shared=shared, prune=prune)
        gen = int(row["gen"])
        for op in ops:
            serve = reach if shared else [v for v in reach if g_assigned[v] in (None, op)]
            if not serve:
                continue
            lid = str(row["location_id"])
            if kind == "new":
                sid = lid if op == g_pref[gen] else f"{lid}-{_SLUG[op]}"
            elif kind == "upgrade":
                sid = lid if len(row["host_ops"]) == 1 else f"{lid}-{_SLUG[op]}"
            else:
                sid = f"{lid}-{_SLUG[op]}"
            variants: list[tuple[str, list[int]]] = []
            pw_aug = power_of(li, "low_signal_powered") if g_powered[serve].any() else None
            pw_nov = power_of(li, "low_signal_unpowered") if (~g_powered[serve]).any() else None
            if pw_aug is not None:
                variants.append(("low_signal_powered", serve))
            if pw_nov is not None:
                unp = [v for v in serve if not g_powered[v]]
                same = pw_aug is not None and (
                    pw_aug.power,
                    pw_aug.power_date,
                    pw_aug.capex_vnd,
                    pw_aug.opex_vnd_per_year,
                ) == (pw_nov.power, pw_nov.power_date, pw_nov.capex_vnd, pw_nov.opex_vnd_per_year)
                if not same:
                    variants.append(("low_signal_unpowered", unp))
            for variant, cover in variants:
                cands.append(
                    {
                        "site_id": sid,
                        "loc": li,
                        "operator": op,
                        "kind": kind,
                        "variant": variant,
                        "cover": cover,
                    }
                )
    cands.sort(key=lambda c: (c["site_id"], GROUPS.index(c["variant"])))

    # --- backhaul per location that has a candidate
    used_locs = sorted({c["loc"] for c in cands})
    bh_routes: dict[int, dict[str, Any]] = {}
    bh_links: dict[int, Any] = {}
    n_los = (0, 0, 0)
    if used_locs:
        ul = loc.iloc[used_locs]
        bh_in = gpd.GeoDataFrame(
            {
                "site_id": ul["location_id"].to_numpy(dtype=object),
                "height_m": ul["height_m"].to_numpy(dtype=float),
                "technology": tech,
                "host_site_id": ul["host_site"].to_numpy(dtype=object),
                "host_backhaul": ul["host_backhaul"].to_numpy(dtype=object),
            },
            geometry=gpd.points_from_xy(l_lon[used_locs], l_lat[used_locs]),
            crs="EPSG:4326",
        )
        bh = plan_backhaul(
            bh_in,
            towers,
            villages,
            settings.backhaul,
            opex_years=years,
            dem=dem,
            tower_table=tw,
        )
        route_recs = cast(list[dict[str, Any]], bh.routes.to_dict("records"))
        link_geoms = list(bh.links.geometry)
        for k, li in enumerate(used_locs):
            bh_routes[li] = route_recs[k]
            bh_links[li] = link_geoms[k]
        n_los = (bh.n_los_checked, bh.n_los_blocked, bh.n_los_uncovered)

    # --- costs
    for c in cands:
        li = c["loc"]
        pw = power_of(li, c["variant"])
        route = bh_routes[li]
        s_capex = float(settings.site_capex_vnd[c["kind"]])
        s_opex = float(settings.site_opex_vnd_per_year[c["kind"]])
        c["power"] = pw
        c["site_capex"] = s_capex
        c["capex"] = s_capex + pw.capex_vnd + float(route["capex_vnd"])
        c["opex"] = s_opex + pw.opex_vnd_per_year + float(route["opex_vnd_per_year"])
        c["cost"] = c["capex"] + years * c["opex"]

    # --- required sites
    phys_ids = sorted({c["site_id"] for c in cands})
    phys_index = {s: k for k, s in enumerate(phys_ids)}
    required: list[int] = []
    all_ids = [*phys_ids, *(str(x) for x in loc["location_id"])] if nl else phys_ids
    for sid in settings.required_sites:
        if sid not in phys_index:
            close = difflib.get_close_matches(sid, all_ids, n=1, cutoff=0.6)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise ScenarioError(
                f"[siting] required_sites: {sid!r} is not a candidate site{hint}; candidates "
                "are S-<village_id>[-R<k>|-H<k>][-<operator>], U-<site_id>[-<operator>], "
                "C-<site_id>-<operator> that reach a gap village and are not excluded",
                column="required_sites",
            )
        required.append(phys_index[sid])

    # --- problem
    coverable = np.zeros(ng, dtype=np.bool_)
    for c in cands:
        coverable[c["cover"]] = True
    nc = len(cands)
    lens = np.array([len(c["cover"]) for c in cands], dtype=np.int64)
    ptr = np.zeros(nc + 1, dtype=np.int64)
    np.cumsum(lens, out=ptr[1:])
    idx = (
        np.concatenate([np.asarray(c["cover"], dtype=np.int64) for c in cands])
        if nc
        else np.zeros(0, dtype=np.int64)
    )
    groups: dict[tuple[str, str], set[int]] = {}
    if settings.one_new_site_per_commune:
        for c in cands:
            if c["kind"] != "new":
                continue
            gen = int(recs[c["loc"]]["gen"])
            commune = _text_or_none(gaps["commune_code"].iloc[gen])
            if commune is not None:
                groups.setdefault((c["operator"], commune), set()).add(phys_index[c["site_id"]])
    problem = _Problem(
        n_villages=ng,
        cover_ptr=ptr,
        cover_idx=idx,
        cost_k=np.array([round(c["cost"] / _UNIT_VND) for c in cands], dtype=np.int64),
        capex_k=np.array([math.ceil(c["capex"] / _UNIT_VND - 1e-9) for c in cands], dtype=np.int64),
        physical=np.array([phys_index[c["site_id"]] for c in cands], dtype=np.int64),
        commune_groups=[sorted(g) for _, g in sorted(groups.items()) if len(g) > 1],
        required=sorted(set(required)),
        population=g_pop,
        coverable=coverable,
    )
    budget_k = None if settings.budget_vnd is None else math.floor(settings.budget_vnd / _UNIT_VND)
    greedy = _greedy(problem, budget_k)
    solved = _solve(problem, settings, greedy, budget_k)
    sel = solved.selected

    # --- serving: strongest eligible selected site per village; Aug → Nov swap
    def assign(selected: npt.NDArray[np.bool_]) -> dict[int, int]:
        best: dict[int, tuple[float, str, int]] = {}
        for j in np.flatnonzero(selected):
            c = cands[int(j)]
            levels = level_at(c["loc"], c["cover"])
            for v, lv in zip(c["cover"], levels.tolist(), strict=True):
                key = (-lv, c["site_id"], int(j))
                if v not in best or key < best[v]:
                    best[v] = key
        return {v: k[2] for v, k in best.items()}

    served_by = assign(sel)
    twin = {(c["site_id"], c["variant"]): j for j, c in enumerate(cands)}
    swapped = False
    for j in np.flatnonzero(sel):
        c = cands[int(j)]
        if c["variant"] != "low_signal_powered":
            continue
        mine = [v for v, k in served_by.items() if k == j]
        if any(g_powered[v] for v in mine):
            continue
        other = twin.get((c["site_id"], "low_signal_unpowered"))
        if other is not None and cands[other]["cost"] <= c["cost"]:
            sel[j] = False
            sel[other] = True
            swapped = True
    if swapped:
        served_by = assign(sel)

    # --- nearest village (province, commune) within 50 km of the selected tower sites
    place: dict[int, int] = {}
    sel_locs = {int(cands[int(j)]["loc"]) for j in np.flatnonzero(sel)}
    t_sel = sorted(li for li in sel_locs if int(recs[li]["gen"]) < 0)
    if t_sel:
        ti = np.asarray(t_sel, dtype=np.int64)
        p_near, _ = nearest_within(l_lon[ti], l_lat[ti], a_lon, a_lat, 50_000.0)
        place = {int(li): int(b) for li, b in zip(ti, p_near, strict=True) if b >= 0}

    # --- sites
    served: dict[int, list[int]] = {}
    for vill, site_j in served_by.items():
        served.setdefault(site_j, []).append(vill)
    rows: list[dict[str, Any]] = []
    link_rows: list[dict[str, Any]] = []
    for j in np.flatnonzero(sel):
        c = cands[int(j)]
        li = c["loc"]
        lrow = recs[li]
        mine = sorted(served.get(int(j), []), key=lambda v: g_id[v])
        group = (
            ("low_signal_powered" if g_powered[mine].any() else "low_signal_unpowered")
            if mine
            else c["variant"]
        )
        power: _Power = c["power"]
        route = bh_routes[li]
        gen = int(lrow["gen"])
        if gen >= 0:
            info = gaps.iloc[gen]
        elif li in place:
            info = all_v.iloc[place[li]]
        else:
            info = None
        op = c["operator"]
        n_assigned = sum(1 for v in mine if g_assigned[v] == op)
        if c["kind"] == "upgrade":
            op_reason = f"upgrade of {op}'s own site {lrow['host_site']}"
        elif shared and gen >= 0:
            op_reason = f"shared mode: {gv.preferred_why[gen]} at {g_id[gen]}"
        elif n_assigned:
            op_reason = f"assigned operator of {n_assigned} of {len(mine)} served village(s)"
        elif gen >= 0 and op == g_pref[gen]:
            op_reason = f"unassigned villages only: {gv.preferred_why[gen]} at {g_id[gen]}"
        else:
            op_reason = "unassigned villages only: cheapest cover"
        if c["kind"] == "colocation":
            op_reason += f"; co-located on {'/'.join(lrow['host_ops'])}'s site {lrow['host_site']}"
        rows.append(
            {
                "site_id": c["site_id"],
                "operator": op,
                "operator_reason": op_reason,
                "kind": c["kind"],
                "source": str(lrow["source"]),
                "ground_rise_m": float(lrow["rise_m"]),
                "host_site_id": _text_or_none(lrow["host_site"]),
                "host_operator": "/".join(lrow["host_ops"]) or None,
                "technology": tech,
                "frequency_mhz": float(eq.frequency_mhz),
                "height_m": float(lrow["height_m"]),
                "eirp_dbm": float(eq.eirp_dbm),
                "villages_served": ";".join(g_id[v] for v in mine),
                "n_villages": len(mine),
                "population_served": int(g_pop[mine].sum()) if mine else 0,
                "group": group,
                "deadline": pd.Timestamp(deadline_of[group]),
                "power": power.power,
                "power_date": pd.Timestamp(power.power_date) if power.power_date else pd.NaT,
                "power_reason": power.reason,
                "power_rule": power.rule,
                "pv_kwp": power.pv_kwp,
                "battery_kwh": power.battery_kwh,
                "grid_line_km": power.line_km,
                "backhaul": route["backhaul"],
                "backhaul_reason": route["backhaul_reason"],
                "backhaul_pop": _text_or_none(route["pop_id"]),
                "backhaul_hops": int(route["hops"]),
                "backhaul_length_m": float(route["length_m"]),
                "site_capex_vnd": c["site_capex"],
                "power_capex_vnd": power.capex_vnd,
                "backhaul_capex_vnd": float(route["capex_vnd"]),
                "capex_vnd": float(round(c["capex"])),
                "opex_vnd_per_year": float(round(c["opex"])),
                "cost_vnd": float(round(c["capex"]) + years * round(c["opex"])),
                "province_code": None if info is None else str(info["province_code"]),
                "province": None if info is None else str(info["province"]),
                "commune_code": None if info is None else _text_or_none(info["commune_code"]),
                "planning_method": method,
                "lon": float(lrow["lon"]),
                "lat": float(lrow["lat"]),
            }
        )
        link_rows.append(
            {
                "site_id": c["site_id"],
                "operator": op,
                "kind": route["backhaul"],
                "length_m": float(route["length_m"]),
                "hops": int(route["hops"]),
                "capacity_mbps": float(route["capacity_mbps"]),
                "bands": route["bands"],
                "pop_id": _text_or_none(route["pop_id"]),
                "capex_vnd": float(route["capex_vnd"]),
                "opex_vnd_per_year": float(route["opex_vnd_per_year"]),
                "geometry": bh_links[li],
            }
        )
    if rows:
        frame = pd.DataFrame(rows)
        frame["geometry"] = shapely.points(
            frame["lon"].to_numpy(dtype=float), frame["lat"].to_numpy(dtype=float)
        )
        frame["deadline"] = pd.to_datetime(frame["deadline"]).astype("datetime64[s]")
        frame["power_date"] = pd.to_datetime(frame["power_date"]).astype("datetime64[s]")
        for col in _FLOAT_SITE_COLUMNS:
            frame[col] = frame[col].astype("float64")
        for col in ("n_villages", "population_served", "backhaul_hops"):
            frame[col] = frame[col].astype("int64")
        frame = frame[[*SITE_COLUMNS, "geometry"]]
        sites = gpd.GeoDataFrame(frame, geometry="geometry", crs="EPSG:4326")
        sites = sites.sort_values("site_id", kind="stable").reset_index(drop=True)
        links = gpd.GeoDataFrame(pd.DataFrame(link_rows), geometry="geometry", crs="EPSG:4326")
        links = links.sort_values("site_id", kind="stable").reset_index(drop=True)
    else:
        sites = _empty_sites()
        links = _empty_links()

    # --- uncoverable
    covered_v = set(served_by)
    uncoverable = _uncoverable_table(
        gv,
        mat,
        [str(x) for x in loc["location_id"]] if nl else [],
        covered=covered_v,
        forced_uncovered=solved.forced_uncovered,
        coverable=coverable,
        in_excluded=(
            shapely.contains_xy(excl, g_lon, g_lat)
            if excl is not None
            else np.zeros(ng, dtype=bool)
        ),
        threshold_dbm=thr,
        new_sites="new" in kinds,
        budget_vnd=settings.budget_vnd,
    )

    # --- candidates and coverage tables
    cand_frame = gpd.GeoDataFrame(
        {
            "site_id": [c["site_id"] for c in cands],
            "location_id": [str(recs[c["loc"]]["location_id"]) for c in cands],
            "operator": [c["operator"] for c in cands],
            "kind": [c["kind"] for c in cands],
            "source": [str(recs[c["loc"]]["source"]) for c in cands],
            "variant": [c["variant"] for c in cands],
            "height_m": [float(recs[c["loc"]]["height_m"]) for c in cands],
            "n_coverable": lens,
            "population_coverable": [int(g_pop[c["cover"]].sum()) for c in cands],
            "power": [c["power"].power for c in cands],
            "capex_vnd": [float(round(c["capex"])) for c in cands],
            "opex_vnd_per_year": [float(round(c["opex"])) for c in cands],
            "cost_vnd": [float(round(c["capex"]) + years * round(c["opex"])) for c in cands],
            "selected": sel.astype(bool),
            "greedy": greedy.astype(bool),
        },
        geometry=gpd.points_from_xy(
            [l_lon[c["loc"]] for c in cands], [l_lat[c["loc"]] for c in cands]
        ),
        crs="EPSG:4326",
    )
    coverage = pd.DataFrame(
        {
            "location_id": loc["location_id"].to_numpy(dtype=object)[p_loc]
            if nl
            else np.zeros(0, dtype=object),
            "village_id": g_id[p_vil],
            "rsrp_dbm": mat.level_dbm,
            "covered": mat.covered,
            "distance_m": mat.distance_m,
            "model": mat.model,
        }
    )

    # --- figures
    objective_vnd = float(sites["cost_vnd"].sum()) if len(sites) else 0.0
    greedy_cost = float(cand_frame.loc[greedy, "cost_vnd"].sum()) if nc else 0.0
    greedy_pop = int(g_pop[coverable & _covered_by(problem, greedy)].sum())
    pop_cov = int(g_pop[list(covered_v)].sum()) if covered_v else 0
    if settings.budget_vnd is None:
        bound_vnd = solved.bound_k * _UNIT_VND if math.isfinite(solved.bound_k) else math.nan
        if math.isfinite(bound_vnd):
            bound_vnd = min(bound_vnd, objective_vnd)
        pop_bound = int(g_pop[coverable].sum())
    else:
        bound_vnd = math.nan
        pop_bound = solved.population_bound
    terrain_note = ""
    if dem is not None:
        terrain_note = (
            f"Terrain: {int(mat.terrain.sum())} of {mat.n_pairs} candidate–village pairs over "
            f"the DEM (ITM), {mat.n_terrain_fallback} outside it (terrain-free model); "
            f"{hg_fallback} villages off the DEM got a ring instead of high ground; microwave "
            f"line of sight: {n_los[0]} hop×band checks, {n_los[1]} blocked, {n_los[2]} "
            "outside the DEM (taken as clear)."
        )
    plan = SitePlan(
        sites=sites,
        uncoverable=uncoverable,
        method=method,
        summary="",
        links=links,
        cost_by_province=_cost_by_province(sites),
        objective_vnd=objective_vnd,
        bound_vnd=bound_vnd,
        gap=solved.gap,
        greedy_cost_vnd=greedy_cost,
        greedy_population=greedy_pop,
        status=solved.status,
        population_covered=pop_cov,
        population_bound=pop_bound,
        candidates=cand_frame,
        coverage=coverage,
        solve_time_s=solved.wall_s,
    )
    summary = _summary(
        plan,
        n_locations=nl,
        budget_vnd=settings.budget_vnd,
        opex_years=years,
        terrain_note=terrain_note,
    )
    return dataclasses.replace(plan, summary=summary)
