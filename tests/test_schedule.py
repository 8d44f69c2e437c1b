"""Build scheduler: real CP-SAT solves on tiny instances solved by hand.

Calendar facts used below (2025, Sundays and 1–2 Sep off, index 0 = Tue 15 Jul):
index 2 = Thu 17 Jul, 21 = Fri 8 Aug, 22 = Sat 9 Aug, 26 = Thu 14 Aug,
29 = Mon 18 Aug, 40 = Sat 30 Aug (last working day on or before Sun 31 Aug),
41 = Wed 3 Sep, 43 = Fri 5 Sep, 45 = Mon 8 Sep, 46 = Tue 9 Sep.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from ortools.sat.python import cp_model
from shapely.geometry import Point

from covgap.calendar import WorkCalendar
from covgap.errors import ScenarioError, SchemaError, SolverError
from covgap.schedule import (
    CREW_KINDS,
    DEFAULT_TASKS,
    STATUS_NAMES,
    Crew,
    ScheduleResult,
    ScheduleSettings,
    TaskTemplate,
    default_crews,
    greedy_schedule,
    plan_builds,
)
from covgap.siting import SitingSettings, plan_sites

HOLIDAYS = {dt.date(2025, 9, 1), dt.date(2025, 9, 2)}
REGION = {"15": "Northwest", "01": "Red River Delta"}

#: Short tasks with a long civil job: the civil crew is the bottleneck.
CIVIL_HEAVY = (
    TaskTemplate("survey", 1, "survey"),
    TaskTemplate("permit", 1, None),
    TaskTemplate("civil", 20, "civil"),
    TaskTemplate("tower", 1, "rigging"),
    TaskTemplate("grid", 1, "power"),
    TaskTemplate("solar", 1, "power"),
    TaskTemplate("equipment", 1, "rf"),
    TaskTemplate("backhaul", 1, "rf"),
    TaskTemplate("integration", 1, "rf"),
)


def _sites(rows: list[dict[str, Any]]) -> pd.DataFrame:
    base = {
        "operator": "Viettel",
        "group": "low_signal_powered",
        "kind": "new",
        "power": "grid",
        "power_date": "2025-07-15",
        "province_code": "15",
    }
    frame = pd.DataFrame([{**base, **r} for r in rows])
    frame["power_date"] = pd.to_datetime(frame["power_date"]).astype("datetime64[s]")
    if "deadline" in frame.columns:
        frame["deadline"] = pd.to_datetime(frame["deadline"]).astype("datetime64[s]")
    return frame


def _crews(operator: str = "Viettel", region: str = "Northwest", **counts: int) -> tuple[Crew, ...]:
    return tuple(
        Crew(f"{operator.lower()}-{kind}", operator, region, kind, count=counts.get(kind, 1))
        for kind in CREW_KINDS
    )


def _working_days(first: dt.date, last: dt.date) -> int:
    """Working days in first…last inclusive, counted day by day (Sundays, 1–2 Sep off)."""
    n, day = 0, first
    while day <= last:
        n += day.weekday() != 6 and day not in HOLIDAYS
        day += dt.timedelta(days=1)
    return n


def _check_feasible(
    result: ScheduleResult, sites: pd.DataFrame, settings: ScheduleSettings
) -> None:
    """Independent checks of a schedule: chain order, precedences, durations on working
    days only, power release, crew units never double-booked."""
    tasks = result.tasks
    assert list(tasks.columns) == [
        "site_id",
        "operator",
        "task",
        "crew_id",
        "start_date",
        "finish_date",
    ]
    durations = {t.name: t.duration_days for t in settings.tasks}
    order = [t.name for t in settings.tasks]
    for site_id, part in tasks.groupby("site_id", sort=True):
        site = sites[sites["site_id"] == site_id].iloc[0]
        names = list(part["task"])
        assert names == sorted(names, key=order.index)
        assert ("grid" in names) == (site["power"] == "grid")
        assert ("solar" in names) == (site["power"] == "solar")
        prev_finish: dt.date | None = None
        for row in part.itertuples(index=False):
            start = dt.date.fromisoformat(row.start_date)
            finish = dt.date.fromisoformat(row.finish_date)
            for day in (start, finish):
                assert day.weekday() != 6 and day not in HOLIDAYS, (site_id, row.task, day)
            assert _working_days(start, finish) == durations[row.task]
            if prev_finish is not None:
                assert start > prev_finish, (site_id, row.task)
            prev_finish = finish
            if row.task == "grid":
                assert start >= pd.Timestamp(site["power_date"]).date()
            assert (row.crew_id == "") == (row.task == "permit")
    for crew_id, part in tasks[tasks["crew_id"] != ""].groupby("crew_id"):
        spans = sorted(
            (dt.date.fromisoformat(a), dt.date.fromisoformat(b))
            for a, b in zip(part["start_date"], part["finish_date"], strict=True)
        )
        for (_, f1), (s2, _) in itertools.pairwise(spans):
            assert s2 > f1, f"crew unit {crew_id} double-booked"


def _lateness_instance(civil_units: int) -> tuple[pd.DataFrame, ScheduleSettings]:
    sites = _sites(
        [
            {"site_id": "S-A", "deadline": "2025-08-31"},
            {"site_id": "S-B", "deadline": "2025-09-05"},
        ]
    )
    settings = ScheduleSettings(
        tasks=CIVIL_HEAVY, crews=_crews(civil=civil_units), region_of=REGION
    )
    return sites, settings


def test_one_civil_crew_makes_exactly_the_expected_site_late() -> None:
    # By hand: surveys on days 0 and 1, permits 1 and 2; civil (20 d, one crew) for the
    # first site on days 2–21, for the second on 22–41, then tower, grid, equipment,
    # backhaul, integration on 42–46: the second site ends day 46 = Tue 9 Sep. Both on
    # time is impossible (46 > 43). A second ends 46 − 40 = 6 working days late, B only
    # 46 − 43 = 3, so B goes second: 4 calendar days after Fri 5 Sep; A ends day 26.
    sites, settings = _lateness_instance(civil_units=1)
    result = plan_builds(sites, settings)
    assert result.status == "OPTIMAL"
    _check_feasible(result, sites, settings)
    by_site = result.sites.set_index("site_id")
    assert by_site.loc["S-A", "late_days"] == 0
    assert by_site.loc["S-A", "finish_date"] == "2025-08-14"
    assert by_site.loc["S-B", "late_days"] == 4
    assert by_site.loc["S-B", "finish_date"] == "2025-09-09"
    assert by_site.loc["S-B", "on_air_date"] == "2025-09-19"
    assert (result.n_late, result.total_late_days) == (1, 4)
    assert result.total_tardiness_working_days == 3
    assert result.n_late_lower_bound == 1
    assert "S-B (Viettel, low_signal_powered): finishes 2025-09-09, 4 days after 2025-09-05" in (
        result.summary
    )
    assert list(result.sites.columns) == [
        "site_id",
        "operator",
        "group",
        "deadline",
        "finish_date",
        "on_air_date",
        "late_days",
    ]


def test_two_civil_crews_make_everything_on_time() -> None:
    # By hand: civil jobs in parallel; the single RF unit then does 2 × 3 one-day tasks
    # from day 24 on (A's grid ends day 23), so the last ends day 29 = Mon 18 Aug.
    sites, settings = _lateness_instance(civil_units=2)
    result = plan_builds(sites, settings)
    assert result.status == "OPTIMAL"
    _check_feasible(result, sites, settings)
    assert result.n_late == 0
    assert result.total_late_days == 0
    assert max(result.sites["finish_date"]) == "2025-08-18"
    assert result.makespan_working_days == 30
    civil_units = set(result.tasks.loc[result.tasks["task"] == "civil", "crew_id"])
    assert civil_units == {"viettel-civil/1", "viettel-civil/2"}
    assert "No site is late." in result.summary


def test_grid_task_waits_for_the_power_date() -> None:
    # Default chain before power: survey 1 + permit 5 + civil 6 + tower 4 = 16 working
    # days, so tower ends day 15 (Fri 1 Aug). Grid power on Sun 3 Aug → grid starts
    # Mon 4 Aug; the solar site has no release and starts its solar task on day 16
    # (Sat 2 Aug).
    sites = _sites(
        [
            {"site_id": "S-G", "power": "grid", "power_date": "2025-08-03"},
            {"site_id": "S-S", "power": "solar", "power_date": None},
        ]
    )
    # Two units of every kind: the sites do not compete; both ends are on the
    # makespan (day 23), so both power tasks start as early as allowed.
    two = {k: 2 for k in CREW_KINDS}
    settings = ScheduleSettings(crews=_crews(**two), region_of=REGION)
    result = plan_builds(sites, settings)
    _check_feasible(result, sites, settings)
    t = result.tasks.set_index(["site_id", "task"])
    assert t.loc[("S-G", "grid"), "start_date"] == "2025-08-04"
    assert t.loc[("S-S", "solar"), "start_date"] == "2025-08-02"
    assert "1 site waits for grid power, the last until 2025-08-03" in result.summary


def test_tasks_only_on_working_days_across_the_holidays() -> None:
    # Five sites on one crew set with default durations: the work runs through
    # Sundays and the 1–2 Sep holidays.
    sites = _sites([{"site_id": f"S-{k}", "power_date": "2025-08-20"} for k in range(5)])
    settings = ScheduleSettings(crews=_crews(), region_of=REGION)
    result = plan_builds(sites, settings)
    _check_feasible(result, sites, settings)
    days = pd.to_datetime(pd.concat([result.tasks["start_date"], result.tasks["finish_date"]]))
    assert days.min() < pd.Timestamp("2025-09-01") < days.max()


def test_crew_units_never_overlap() -> None:
    sites = _sites(
        [{"site_id": f"S-{k:02d}", "power": "solar" if k % 2 else "grid"} for k in range(8)]
    )
    settings = ScheduleSettings(crews=_crews(civil=2, rf=2), region_of=REGION)
    result = plan_builds(sites, settings)
    _check_feasible(result, sites, settings)
    used = set(result.tasks["crew_id"]) - {""}
    assert used <= {f"viettel-{k}/1" for k in CREW_KINDS} | {"viettel-civil/2", "viettel-rf/2"}
    kind_of_task = {t.name: t.crew_kind for t in DEFAULT_TASKS}
    for row in result.tasks.itertuples(index=False):
        if row.crew_id:
            assert row.crew_id.startswith(f"viettel-{kind_of_task[row.task]}/")


def test_upgrade_skips_civil_and_tower() -> None:
    sites = _sites([{"site_id": "S-U", "kind": "upgrade"}, {"site_id": "S-N", "kind": "new"}])
    settings = ScheduleSettings(crews=_crews(), region_of=REGION)
    result = plan_builds(sites, settings)
    _check_feasible(result, sites, settings)
    tasks_u = list(result.tasks.loc[result.tasks["site_id"] == "S-U", "task"])
    tasks_n = list(result.tasks.loc[result.tasks["site_id"] == "S-N", "task"])
    assert tasks_u == ["survey", "permit", "grid", "equipment", "backhaul", "integration"]
    assert tasks_n == [
        "survey",
        "permit",
        "civil",
        "tower",
        "grid",
        "equipment",
        "backhaul",
        "integration",
    ]


def _contended_instance() -> tuple[pd.DataFrame, ScheduleSettings]:
    """16 Viettel sites in one region, one unit per crew kind, mixed deadlines and
    power dates: CP-SAT does not prove optimality within the small limit, so the
    determinism test covers a search stopped by its deterministic time limit."""
    rng = np.random.default_rng(5)
    rows = []
    for k in range(16):
        grid = k % 3 != 2
        rows.append(
            {
                "site_id": f"S-{k:02d}",
                "group": "low_signal_powered" if k % 4 else "low_signal_unpowered",
                "power": "grid" if grid else "solar",
                "power_date": (
                    (dt.date(2025, 7, 15) + dt.timedelta(days=int(rng.integers(0, 40))))
                    if grid
                    else None
                ),
            }
        )
    settings = ScheduleSettings(region_of=REGION, default_crew_count=1, max_deterministic_time=0.3)
    return _sites(rows), settings


def test_same_inputs_give_identical_schedules() -> None:
    sites, settings = _contended_instance()
    a = plan_builds(sites, settings)
    b = plan_builds(sites, settings)
    _check_feasible(a, sites, settings)
    pd.testing.assert_frame_equal(a.tasks, b.tasks)
    pd.testing.assert_frame_equal(a.sites, b.sites)
    assert (a.status, a.objective, a.lower_bound, a.summary) == (
        b.status,
        b.objective,
        b.lower_bound,
        b.summary,
    )


def test_greedy_is_feasible_and_not_better_than_cp_sat() -> None:
    # Hand instance where earliest-deadline-first is wrong: S-A (due 31 Aug) gets grid
    # power only on Tue 30 Sep, so it is late whatever happens (grid 30 Sep, equipment
    # 1 Oct, backhaul 2 Oct, integration Fri 3 Oct: 33 days late). EDF still gives it
    # the single civil crew first, and S-B (due 5 Sep) then ends Tue 9 Sep: 2 late.
    # Civil for S-B first keeps S-B on time: 1 late.
    sites = _sites(
        [
            {"site_id": "S-A", "deadline": "2025-08-31", "power_date": "2025-09-30"},
            {"site_id": "S-B", "deadline": "2025-09-05"},
        ]
    )
    settings = ScheduleSettings(tasks=CIVIL_HEAVY, crews=_crews(), region_of=REGION)
    greedy = greedy_schedule(sites, settings)
    cp = plan_builds(sites, settings)
    _check_feasible(greedy, sites, settings)
    _check_feasible(cp, sites, settings)
    assert greedy.status == "FEASIBLE" and greedy.method == "greedy-edf"
    assert greedy.n_late == 2
    assert cp.n_late == 1
    late = cp.sites[cp.sites["late_days"] > 0]
    assert list(late["site_id"]) == ["S-A"]
    assert late["finish_date"].iloc[0] == "2025-10-03"
    assert late["late_days"].iloc[0] == 33
    assert cp.lexicographic < greedy.lexicographic
    assert cp.objective < greedy.objective

    # And never better on a contended instance either.
    sites_m, settings_m = _contended_instance()
    g = greedy_schedule(sites_m, settings_m)
    c = plan_builds(sites_m, settings_m)
    _check_feasible(g, sites_m, settings_m)
    assert c.lexicographic <= g.lexicographic
    assert c.objective <= g.objective


def test_default_crews_per_operator_and_region() -> None:
    sites = gpd.GeoDataFrame(
        _sites(
            [
                {"site_id": "S-1", "operator": "VNPT", "province_code": "01"},
                {"site_id": "S-2", "operator": "Viettel", "province_code": "15"},
                {"site_id": "S-3", "operator": "Viettel", "province_code": "15"},
            ]
        ),
        geometry=[Point(105.8, 21.0), Point(104.0, 22.0), Point(104.2, 22.4)],
        crs="EPSG:4326",
    )
    crews = default_crews(sites, ScheduleSettings(region_of=REGION))
    ids = [c.crew_id for c in crews]
    assert ids == [f"viettel-northwest-{k}" for k in CREW_KINDS] + [
        f"vnpt-red-river-delta-{k}" for k in CREW_KINDS
    ]
    assert all(c.count == 2 for c in crews)
    assert crews[0].unit_ids == ("viettel-northwest-survey/1", "viettel-northwest-survey/2")
    assert crews[0].home_lon == pytest.approx(104.1, abs=1e-9)
    assert crews[0].home_lat == pytest.approx(22.2, abs=1e-9)


def test_siting_output_schedules_end_to_end() -> None:
    nan = float("nan")
    villages = gpd.GeoDataFrame(
        {
            "village_id": ["P1", "U1", "U2"],
            "name": ["a", "b", "c"],
            "province_code": ["15", "15", "15"],
            "province": ["Lào Cai"] * 3,
            "commune_code": [None, None, None],
            "population": [100, 200, 300],
            "electrified": [True, False, False],
            "power_eta": pd.to_datetime([None, "2025-10-01", None]).astype("datetime64[s]"),
            "assigned_operator": [None, None, None],
            "group": ["low_signal_powered", "low_signal_unpowered", "low_signal_unpowered"],
            "rsrp_viettel_dbm": [-115.0, nan, nan],
            "rsrp_vnpt_dbm": [nan] * 3,
            "rsrp_mobifone_dbm": [nan] * 3,
            "rsrp_vietnamobile_dbm": [nan] * 3,
        },
        geometry=[Point(104.0, 22.0), Point(104.3, 22.0), Point(104.6, 22.0)],
        crs="EPSG:4326",
    )
    sites = plan_sites(villages, None, SitingSettings()).sites
    settings = ScheduleSettings(region_of=REGION)
    result = plan_builds(sites, settings)
    _check_feasible(result, sites, settings)
    assert result.n_late == 0
    t = result.tasks.set_index(["site_id", "task"])
    assert t.loc[("S-U1", "grid"), "start_date"] >= "2025-10-01"
    assert ("S-U2", "solar") in t.index
    json.dumps(result.problem.to_dict())  # problem.json material is JSON-ready


def test_status_names_cover_every_cp_sat_status() -> None:
    assert STATUS_NAMES == {
        cp_model.OPTIMAL: "OPTIMAL",
        cp_model.FEASIBLE: "FEASIBLE",
        cp_model.INFEASIBLE: "INFEASIBLE",
        cp_model.MODEL_INVALID: "MODEL_INVALID",
        cp_model.UNKNOWN: "UNKNOWN",
    }


def test_no_schedule_raises_solver_error() -> None:
    # Each site alone needs 27 working days; the horizon (40 calendar days from 15 Jul)
    # holds 35, but the one civil crew needs 2 × 20 days after day 2: infeasible.
    sites, _ = _lateness_instance(civil_units=1)
    settings = ScheduleSettings(
        tasks=CIVIL_HEAVY,
        crews=_crews(),
        region_of=REGION,
        calendar=WorkCalendar(horizon_days=40),
    )
    with pytest.raises(SolverError, match="INFEASIBLE"):
        plan_builds(sites, settings)
    # A power date past the horizon cannot be met by any crew set.
    late_power = _sites([{"site_id": "S-X", "power_date": "2026-01-15"}])
    with pytest.raises(SolverError, match="horizon"):
        plan_builds(late_power, settings)


def test_empty_site_list() -> None:
    sites = _sites([{"site_id": "S-0"}]).iloc[0:0]
    result = plan_builds(sites, ScheduleSettings(region_of=REGION))
    assert result.tasks.empty and result.sites.empty
    assert result.status == "OPTIMAL"
    assert result.summary.endswith("no sites to build.")


def test_bad_sites_and_settings_are_reported() -> None:
    settings = ScheduleSettings(crews=_crews(), region_of=REGION)
    with pytest.raises(SchemaError, match="power_date"):
        plan_builds(_sites([{"site_id": "S-1", "power_date": None}]), settings)
    with pytest.raises(SchemaError, match="operator"):
        plan_builds(_sites([{"site_id": "S-1", "operator": "VinaPhone"}]), settings)
    with pytest.raises(ScenarioError, match="no 'survey' crew of MobiFone"):
        plan_builds(_sites([{"site_id": "S-1", "operator": "MobiFone"}]), settings)
    with pytest.raises(ScenarioError, match="region"):
        plan_builds(_sites([{"site_id": "S-1", "province_code": "99"}]), settings)
    with pytest.raises(ScenarioError, match="missing"):
        ScheduleSettings(tasks=DEFAULT_TASKS[:-1])
    assert ScheduleSettings().power_tail_working_days("grid") == 7
    assert ScheduleSettings().power_tail_working_days("solar") == 8


def test_operators_and_regions_do_not_share_crews() -> None:
    # The hand instance of the one-civil-crew test plus a VNPT site in another region
    # with its own crews: the Viettel answer is unchanged and the VNPT site, alone
    # with free crews, ends on day 26 (chain of 27 working days from day 0) = 14 Aug.
    sites, _ = _lateness_instance(civil_units=1)
    vnpt = _sites([{"site_id": "S-C", "operator": "VNPT", "province_code": "01"}])
    both = pd.concat([sites, vnpt], ignore_index=True)
    crews = _crews(civil=1) + _crews(operator="VNPT", region="Red River Delta")
    settings = ScheduleSettings(tasks=CIVIL_HEAVY, crews=crews, region_of=REGION)
    result = plan_builds(both, settings)
    _check_feasible(result, both, settings)
    by_site = result.sites.set_index("site_id")
    assert by_site.loc["S-B", "late_days"] == 4
    assert by_site.loc["S-C", "finish_date"] == "2025-08-14"
    assert result.status == "OPTIMAL"
    assert result.lower_bound == result.objective
    used = set(result.tasks.loc[result.tasks["site_id"] == "S-C", "crew_id"]) - {""}
    assert all(c.startswith("vnpt-") for c in used)


def test_default_regions_come_from_the_admin_table() -> None:
    # Hà Nội (01) is in the Red River Delta, Đắk Lắk (66) in the Central Highlands.
    settings = ScheduleSettings()
    assert settings.region("01") == "Red River Delta"
    assert settings.region("66") == "Central Highlands"
