"""Build scheduler: real CP-SAT solves on tiny instances solved by hand.

Calendar facts used below (2025, Sundays and 1–2 Sep off, index 0 = Tue 15 Jul):
index 2 = Thu 17 Jul, 21 = Fri 8 Aug, 26 = Thu 14 Aug, 29 = Mon 18 Aug,
40 = Sat 30 Aug (last working day on or before Sun 31 Aug), 41 = Wed 3 Sep,
43 = Fri 5 Sep, 46 = Tue 9 Sep.

Most hand instances use ``ticks_per_day=1`` and no travel (one tick = one working day);
the travel and rain tests use the default 4 ticks of 2 hours.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from ortools.sat.python import cp_model

from covgap.calendar import RainWindow, WorkCalendar
from covgap.errors import ScenarioError, SchemaError
from covgap.schedule import (
    CREW_KINDS,
    DEFAULT_TASKS,
    STATUS_NAMES,
    Crew,
    ScheduleResult,
    ScheduleSettings,
    TaskTemplate,
    build_problem,
    greedy_schedule,
    plan_builds,
    solve_rcpsp,
)
from covgap.schedule.bounds import _lp_tardiness_bound, _part_bound
from covgap.schedule.heuristics import _dispatch_best, _part_value
from covgap.schedule.model import _PartModel
from covgap.schedule.travel import _min_inbound, _Travel

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


def _crews(
    operator: str = "Viettel",
    region: str = "Northwest",
    home: tuple[float, float] | None = None,
    **counts: int,
) -> tuple[Crew, ...]:
    lon, lat = home if home is not None else (math.nan, math.nan)
    return tuple(
        Crew(f"{operator.lower()}-{kind}", operator, region, kind, counts.get(kind, 1), lon, lat)
        for kind in CREW_KINDS
    )


def _daily(**kw: Any) -> ScheduleSettings:
    """One tick per working day, no travel: the old day-by-day hand arithmetic holds."""
    base: dict[str, Any] = {"region_of": REGION, "ticks_per_day": 1, "travel": False}
    return ScheduleSettings(**{**base, **kw})


def _working_days(first: dt.date, last: dt.date) -> int:
    """Working days in first…last inclusive, counted day by day (Sundays, 1–2 Sep off)."""
    n, day = 0, first
    while day <= last:
        n += day.weekday() != 6 and day not in HOLIDAYS
        day += dt.timedelta(days=1)
    return n


def _haversine_km(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great circle on a sphere of 6371.0088 km (the mean Earth radius)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0088 * math.asin(math.sqrt(a))


def _check_feasible(
    result: ScheduleResult, sites: pd.DataFrame, settings: ScheduleSettings
) -> None:
    """Independent checks of a schedule: chain order, precedences, work on working days
    only, power release, crew units never double-booked (on the tick axis, with the
    drive between two sites when the settings count travel)."""
    tasks = result.tasks
    assert list(tasks.columns) == [
        "site_id",
        "operator",
        "task",
        "crew_id",
        "start_date",
        "finish_date",
    ]
    order = [t.name for t in settings.tasks]
    for site_id, part in tasks.groupby("site_id", sort=True):
        site = sites[sites["site_id"] == site_id].iloc[0]
        names = list(part["task"])
        assert names == sorted(names, key=order.index)
        assert ("grid" in names) == (site["power"] == "grid")
        prev_finish: dt.date | None = None
        for row in part.itertuples(index=False):
            start = dt.date.fromisoformat(row.start_date)
            finish = dt.date.fromisoformat(row.finish_date)
            for day in (start, finish):
                assert day.weekday() != 6 and day not in HOLIDAYS, (site_id, row.task, day)
            if settings.ticks_per_day == 1 and not settings.rain_windows:
                dur = settings.template(row.task).duration_days
                override = site.get(f"duration_{row.task}")
                if override is not None and not pd.isna(override):
                    dur = override
                assert _working_days(start, finish) == dur
            if prev_finish is not None:
                assert start >= prev_finish, (site_id, row.task)
                if settings.ticks_per_day == 1:
                    assert start > prev_finish
            prev_finish = finish
            if row.task == "grid":
                assert start >= pd.Timestamp(site["power_date"]).date()
            assert (row.crew_id == "") == (settings.template(row.task).crew_kind is None)
    # Crew units on the tick axis (exact): no overlap, and the drive fits in between.
    problem, assignment = result.problem, result.assignment
    assert assignment is not None
    per_unit: dict[int, list[tuple[int, int, int]]] = {}
    for s_idx, site in enumerate(problem.sites):
        for t_idx, task in enumerate(site.tasks):
            u = assignment.units[s_idx][t_idx]
            if u >= 0:
                st = assignment.starts[s_idx][t_idx]
                per_unit.setdefault(u, []).append((st, st + task.duration, s_idx))
    hours_per_tick = settings.work_hours_per_day / settings.ticks_per_day
    for u, spans in per_unit.items():
        spans.sort()
        for (_, e1, a), (s2, _, b) in itertools.pairwise(spans):
            assert s2 >= e1, f"crew unit {problem.units[u]} double-booked"
            if settings.travel and a != b:
                sa, sb = problem.sites[a], problem.sites[b]
                km = _haversine_km(sa.lon, sa.lat, sb.lon, sb.lat) * settings.road_factor
                hours = km / settings.speed_kmh_in(sa.region)
                assert (s2 - e1) * hours_per_tick >= hours - 1e-6, "no time to drive"


def _lateness_instance(civil_units: int) -> tuple[pd.DataFrame, ScheduleSettings]:
    sites = _sites(
        [
            {"site_id": "S-A", "deadline": "2025-08-31"},
            {"site_id": "S-B", "deadline": "2025-09-05"},
        ]
    )
    return sites, _daily(tasks=CIVIL_HEAVY, crews=_crews(civil=civil_units))


def test_one_civil_crew_makes_exactly_the_expected_site_late() -> None:
    # By hand: surveys on days 0 and 1, permits 1 and 2; civil (20 d, one crew) for the
    # first site on days 2–21, for the second on 22–41, then tower, grid and the RF
    # visit (3 days) on 42–46: the second site ends day 46 = Tue 9 Sep. Both on time is
    # impossible (46 > 43). A second ends 46 − 40 = 6 working days late, B only
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
    assert result.tardiness_gap == 0.0
    assert "S-B (Viettel, low_signal_powered): finishes 2025-09-09, 4 days after 2025-09-05" in (
        result.summary
    )
    assert result.baseline is not None and result.baseline.method == "greedy-edf"
    assert "Greedy earliest-deadline-first" in result.summary


def test_least_extra_crews_is_one_civil_unit() -> None:
    # The instance above: with a second civil unit both civil jobs run in parallel and
    # both sites are on time (next test), so the least extra crews is exactly +1 civil.
    sites, settings = _lateness_instance(civil_units=1)
    result = plan_builds(sites, settings)
    ex = result.explanation
    assert ex is not None
    assert ex.status == "OPTIMAL"
    assert list(ex.extra[["kind", "units", "extra_units"]].itertuples(index=False, name=None)) == [
        ("civil", 1, 1)
    ]
    assert ex.lower_bound == 1
    assert list(ex.late_sites["site_id"]) == ["S-B"]
    assert "crew capacity" in ex.late_sites["reasons"].iloc[0]
    doc = ex.to_dict()
    assert doc["extra_units_total"] == 1 and doc["late_sites"][0]["late_days"] == 4


def _one_civil_crew(rows: list[dict[str, Any]], civil_units: int = 1) -> ScheduleSettings:
    """CIVIL_HEAVY templates, one tick per day, no travel; every kind but civil has as
    many units as there are sites (never a queue), civil has ``civil_units``."""
    counts = {k: len(rows) for k in CREW_KINDS}
    counts["civil"] = civil_units
    return _daily(tasks=CIVIL_HEAVY, crews=_crews(**counts))


def test_tardiness_bound_is_exact_behind_one_civil_crew() -> None:
    # By hand: three sites due Sun 31 Aug (last working day index 40, so the deadline
    # tick is 41); surveys day 0, permits day 1, then one civil unit: 2–21, 22–41,
    # 42–61; tower, grid and the 3-day RF visit follow at once (plenty of those units),
    # so the sites end at ticks 27, 47, 67: 2 late, 6 + 26 = 32 ticks. The order
    # statistics of the civil pool give exactly that bound (ranks end 22, 42, 62, plus
    # the 5-tick tail, against 41), so both levels are proven.
    rows = [{"site_id": f"S-{k}", "deadline": "2025-08-31"} for k in "ABC"]
    sites, settings = _sites(rows), _one_civil_crew(rows)
    result = plan_builds(sites, settings)
    _check_feasible(result, sites, settings)
    assert (result.n_late, result.tardiness_ticks) == (2, 32)
    assert (result.n_late_lower_bound, result.tardiness_lower_bound_ticks) == (2, 32)
    assert result.tardiness_bound_sources == (("civil crews", 32),)
    assert result.n_late_bound_sources == (("civil crews", 2),)
    assert "Tardiness level: 32 ticks" in result.summary and "gap 0.0%" in result.summary


def test_bounds_never_exceed_the_brute_force_optimum() -> None:
    # One civil unit, four sites with civil jobs of 6, 9, 4 and 12 working days, all
    # ready on day 2 (survey, permit) and ending 5 days after their civil job (tower,
    # grid, RF; plenty of units). Every order of the civil jobs is tried by hand below:
    # the lexicographic optimum (late sites, then tardiness) must be what CP-SAT returns,
    # and the proven bounds (computed without the solver) may not exceed it.
    civil_days = {"S-A": 6, "S-B": 9, "S-C": 4, "S-D": 12}
    due = {"S-A": "2025-07-25", "S-B": "2025-08-01", "S-C": "2025-07-30", "S-D": "2025-08-08"}
    rows = [{"site_id": s, "deadline": due[s], "duration_civil": civil_days[s]} for s in civil_days]
    sites, settings = _sites(rows), _one_civil_crew(rows)
    start = dt.date(2025, 7, 15)
    deadline_tick = {s: _working_days(start, dt.date.fromisoformat(d)) for s, d in due.items()}
    assert deadline_tick == {"S-A": 10, "S-B": 16, "S-C": 14, "S-D": 22}
    best = None
    for order in itertools.permutations(civil_days):
        t, late, tard = 2, 0, 0
        for s in order:
            t += civil_days[s]
            over = max(0, t + 5 - deadline_tick[s])
            late, tard = late + (over > 0), tard + over
        best = min(best or (late, tard), (late, tard))
    assert best is not None
    problem = build_problem(sites, settings)
    part = list(range(len(problem.sites)))
    bound = _part_bound(problem, part, _min_inbound(problem, part, _Travel(problem, part)))
    assert bound.late[0] <= best[0]
    assert bound.tardiness()[0] <= best[1]
    assert bound.tardiness(best[0])[0] <= best[1]
    lp = _lp_tardiness_bound(problem, part, slot=1, horizon=200, max_columns=10_000)
    assert lp is not None and lp <= best[1]
    result = plan_builds(sites, settings)
    _check_feasible(result, sites, settings)
    assert (result.n_late, result.tardiness_ticks) == best
    assert result.n_late_lower_bound <= best[0]
    assert result.tardiness_lower_bound_ticks <= best[1]


@pytest.mark.parametrize("seed", range(8))
def test_lp_bound_never_exceeds_the_proven_optimum_with_travel(seed: int) -> None:
    # Five sites 5–40 km apart, one unit per crew kind at a base, random power dates and
    # deadlines, 2-hour ticks with travel: with five visits per pool every pool gets exact
    # routes, so CP-SAT's proven optimum of the tardiness model (with at most ``max_late``
    # late sites, or any number) is the least tardiness of any such plan. The time-indexed
    # LP (travel dropped, whole working days) and the order-statistics bounds may not exceed
    # the uncapped optimum; the plan's printed bound (among plans with at most its number
    # of late sites) may not exceed the capped one, nor the plan fall below it.
    rng = np.random.default_rng(100 + seed)
    rows = [
        {
            "site_id": f"S-{k}",
            "lon": 104.0 + float(rng.uniform(0, 0.3)),
            "lat": 22.0 + float(rng.uniform(0, 0.3)),
            "power_date": dt.date(2025, 7, 15) + dt.timedelta(days=int(rng.integers(0, 20))),
            "deadline": (dt.date(2025, 7, 22) + dt.timedelta(days=int(rng.integers(0, 25)))),
        }
        for k in range(5)
    ]
    sites = _sites(rows)
    settings = ScheduleSettings(region_of=REGION, crews=_crews(home=(104.1, 22.1)))
    problem = build_problem(sites, settings)
    part = list(range(len(problem.sites)))
    travel = _Travel(problem, part)
    setup = _min_inbound(problem, part, travel)

    def optimum(max_late: int | None) -> int:
        model = _PartModel(
            problem,
            part,
            travel,
            setup,
            "tardiness",
            horizon=2_000,
            route_max_visits=10,
            max_late=max_late,
        )
        solver = cp_model.CpSolver()
        solver.parameters.num_workers = 1
        solver.parameters.max_time_in_seconds = 60.0
        assert solver.solve(model.model) == cp_model.OPTIMAL
        return round(solver.objective_value)

    least = optimum(None)
    lp = _lp_tardiness_bound(problem, part, slot=4, horizon=2_000, max_columns=100_000)
    assert lp is not None and lp <= least
    assert _part_bound(problem, part, setup).tardiness()[0] <= least
    result = plan_builds(
        sites, dataclasses.replace(settings, max_deterministic_time=2.0, explain_late=False)
    )
    _check_feasible(result, sites, settings)
    capped = optimum(result.n_late)
    assert result.tardiness_lower_bound_ticks <= capped <= result.tardiness_ticks


def test_least_extra_crews_is_two_civil_units_for_three_parallel_jobs() -> None:
    # The three sites of the exact-bound test: one civil unit finishes a 20-day job on
    # day 21, the next on day 41, too late for a 5-day tail before tick 41; so every
    # site needs a civil unit of its own: +2 civil. With three civil units, civil runs
    # 2–21, 3–22, 4–23 (surveys on days 0, 1, 2 with plenty of survey units — here 3),
    # and everything ends by tick 29 ≤ 41.
    rows = [{"site_id": f"S-{k}", "deadline": "2025-08-31"} for k in "ABC"]
    result = plan_builds(_sites(rows), _one_civil_crew(rows))
    ex = result.explanation
    assert ex is not None and ex.status == "OPTIMAL"
    assert list(ex.extra[["kind", "units", "extra_units"]].itertuples(index=False, name=None)) == [
        ("civil", 1, 2)
    ]
    assert ex.lower_bound == 2
    assert "proven least" in ex.summary
    fixed = plan_builds(_sites(rows), _one_civil_crew(rows, civil_units=3))
    assert fixed.n_late == 0


def test_least_extra_crews_beyond_the_limit_names_the_part() -> None:
    # The instance above needs +2 civil; allowed one more unit per pool, no count works:
    # NOT_FOUND, no units listed as an answer, the part named, the bound still proven (1:
    # a pool that needs more than the limit is bounded by the limit).
    rows = [{"site_id": f"S-{k}", "deadline": "2025-08-31"} for k in "ABC"]
    settings = dataclasses.replace(_one_civil_crew(rows), max_extra_units_per_pool=1)
    ex = plan_builds(_sites(rows), settings).explanation
    assert ex is not None and ex.status == "NOT_FOUND"
    assert ex.extra.empty and ex.lower_bound == 1
    assert ex.summary.startswith(
        "No plan found that puts every site on time in Viettel / Northwest even with 1 more "
        "unit per crew pool (max_extra_units_per_pool); at least 1 extra unit in all."
    )
    doc = ex.to_dict()
    assert doc["proven_least"] is False and doc["extra_units_total"] == 0


#: CIVIL_HEAVY with civil 10 days and an RF visit of 10 (equipment 8, backhaul 1,
#: integration 1).
CIVIL_AND_RF = tuple(
    {
        "civil": TaskTemplate("civil", 10, "civil"),
        "equipment": TaskTemplate("equipment", 8, "rf"),
    }.get(t.name, t)
    for t in CIVIL_HEAVY
)


def test_least_extra_crews_is_one_civil_and_one_rf_unit() -> None:
    # Three sites due 31 Aug (deadline tick 41), one unit of every kind. By hand:
    # surveys 0, 1, 2; permits 1, 2, 3; one civil unit gives civil 2–11, 12–21, 22–31,
    # so the third site's tower is 32, grid 33, RF 34–43: ends 44 > 41 whatever the RF
    # crews — a second civil unit is needed. With it (civil 2–11, 3–12, 12–21; towers
    # 12, 13, 22; grids 13, 14, 23) one RF unit still ends the third visit at 44
    # (14–23, 24–33, 34–43), so a second RF unit is needed too; with both, RF runs
    # 14–23, 15–24, 24–33 and the last site ends at 34 ≤ 41. Least: +1 civil, +1 RF.
    rows = [{"site_id": f"S-{k}", "deadline": "2025-08-31"} for k in "ABC"]
    sites = _sites(rows)
    settings = _daily(tasks=CIVIL_AND_RF, crews=_crews())
    result = plan_builds(sites, settings)
    ex = result.explanation
    assert ex is not None and ex.status == "OPTIMAL"
    assert list(ex.extra[["kind", "extra_units"]].itertuples(index=False, name=None)) == [
        ("civil", 1),
        ("rf", 1),
    ]
    assert ex.lower_bound == 2
    doc = ex.to_dict()
    assert doc["extra_units_total"] == 2 and doc["extra_units_lower_bound"] == 2
    assert doc["proven_least"] is True
    both = plan_builds(sites, _daily(tasks=CIVIL_AND_RF, crews=_crews(civil=2, rf=2)))
    assert both.n_late == 0
    for one in (_crews(civil=2), _crews(rf=2)):
        assert plan_builds(sites, _daily(tasks=CIVIL_AND_RF, crews=one)).n_late == 1


def test_least_extra_crews_sees_one_pool_squeeze_the_next() -> None:
    # Four sites due Fri 15 Aug (working-day index 27: deadline tick 28); civil 10 days,
    # the RF visit 3 days; surveys, towers and grids have a unit per site. By hand, every
    # civil job can start on day 2. Civil alone (RF unlimited): ends are civil end + 5,
    # so one unit (12, 22, 32, 42) is too few and two (12, 12, 22, 22 → sites end by 27)
    # suffice: +1 civil. RF alone (civil unlimited: four RF visits ready on day 14): one
    # unit runs 14–17, 17–20, 20–23, 23–26, on time: +0 RF. Together, two civil units
    # send the RF visits in two waves (14, 14, 24, 24) and one RF unit ends the last at
    # 30 > 28: a third unit is needed (+1 RF, or +1 more civil). Least: 2, which only the
    # joint relaxation proves (the per-pool bounds say 1).
    tasks = tuple({"civil": TaskTemplate("civil", 10, "civil")}.get(t.name, t) for t in CIVIL_HEAVY)
    sites = _sites([{"site_id": f"S-{k}", "deadline": "2025-08-15"} for k in "ABCD"])
    plenty = {"survey": 4, "rigging": 4, "power": 4}
    result = plan_builds(sites, _daily(tasks=tasks, crews=_crews(**plenty)))
    ex = result.explanation
    assert ex is not None and ex.status == "OPTIMAL" and ex.lower_bound == 2
    assert list(ex.extra[["kind", "extra_units"]].itertuples(index=False, name=None)) == [
        ("civil", 1),
        ("rf", 1),
    ]
    two_civil = plan_builds(sites, _daily(tasks=tasks, crews=_crews(civil=2, **plenty)))
    late = two_civil.sites.set_index("site_id")["late_days"]
    assert two_civil.n_late == 1 and late.max() == 3  # ends tick 30 = Mon 18 Aug
    both = plan_builds(sites, _daily(tasks=tasks, crews=_crews(civil=2, rf=2, **plenty)))
    assert both.n_late == 0


def test_two_civil_crews_make_everything_on_time() -> None:
    # By hand: civil jobs in parallel (A on 2–21, B on 3–22); tower A 22, grid A 23,
    # tower B 23, grid B 24; the single RF unit then makes two 3-day visits, 24–26 and
    # 27–29: the last ends day 29 = Mon 18 Aug.
    sites, settings = _lateness_instance(civil_units=2)
    result = plan_builds(sites, settings)
    assert result.status == "OPTIMAL"
    _check_feasible(result, sites, settings)
    assert result.n_late == 0
    assert max(result.sites["finish_date"]) == "2025-08-18"
    assert result.makespan_working_days == 30
    civil_units = set(result.tasks.loc[result.tasks["task"] == "civil", "crew_id"])
    assert civil_units == {"viettel-civil/1", "viettel-civil/2"}
    assert "No site is late." in result.summary
    assert result.explanation is None


def test_power_date_makes_a_site_late_whatever_the_crews() -> None:
    # S-A gets grid power only on Tue 30 Sep: grid 30 Sep, RF visit 1–3 Oct, so it ends
    # Fri 3 Oct, 33 days after 31 Aug; earliest-deadline-first still gives it the civil
    # crew first and S-B (due 5 Sep) ends Tue 9 Sep: the greedy has 2 late, CP-SAT 1.
    sites = _sites(
        [
            {"site_id": "S-A", "deadline": "2025-08-31", "power_date": "2025-09-30"},
            {"site_id": "S-B", "deadline": "2025-09-05"},
        ]
    )
    settings = _daily(tasks=CIVIL_HEAVY, crews=_crews())
    greedy = greedy_schedule(sites, settings)
    cp = plan_builds(sites, settings)
    _check_feasible(greedy, sites, settings)
    _check_feasible(cp, sites, settings)
    assert greedy.n_late == 2
    assert cp.n_late == 1
    late = cp.sites[cp.sites["late_days"] > 0]
    assert list(late["site_id"]) == ["S-A"]
    assert late["finish_date"].iloc[0] == "2025-10-03"
    assert late["late_days"].iloc[0] == 33
    assert cp.lexicographic < greedy.lexicographic
    ex = cp.explanation
    assert ex is not None and ex.status == "NONE_NEEDED"
    assert ex.summary.startswith("No extra crew helps: the 1 late site waits for power")
    assert ex.unfixable == ("S-A",)
    assert ex.late_sites["reasons"].iloc[0].startswith("power date: grid power only on 2025-09-30")
    assert "get grid power only after the deadline" in cp.summary


def test_grid_task_waits_for_the_power_date() -> None:
    # Default chain before power: survey 1 + permit 5 + civil 6 + tower 4 = 16 working
    # days, so tower ends day 15 (Fri 1 Aug). Grid power on Sun 3 Aug → grid starts
    # Mon 4 Aug; the solar site starts its solar task on day 16 (Sat 2 Aug).
    sites = _sites(
        [
            {"site_id": "S-G", "power": "grid", "power_date": "2025-08-03"},
            {"site_id": "S-S", "power": "solar", "power_date": None},
        ]
    )
    settings = _daily(crews=_crews(**{k: 2 for k in CREW_KINDS}))
    result = plan_builds(sites, settings)
    _check_feasible(result, sites, settings)
    t = result.tasks.set_index(["site_id", "task"])
    assert t.loc[("S-G", "grid"), "start_date"] == "2025-08-04"
    assert t.loc[("S-S", "solar"), "start_date"] == "2025-08-02"
    assert "1 site waits for grid power, the last until 2025-08-03" in result.summary


def test_holidays_are_never_worked_and_upgrade_skips_civil_and_tower() -> None:
    sites = _sites(
        [{"site_id": f"S-{k}", "power_date": "2025-08-20"} for k in range(4)]
        + [{"site_id": "S-U", "kind": "upgrade"}]
    )
    settings = _daily(crews=_crews())
    result = plan_builds(sites, settings)
    _check_feasible(result, sites, settings)
    days = pd.to_datetime(pd.concat([result.tasks["start_date"], result.tasks["finish_date"]]))
    assert days.min() < pd.Timestamp("2025-09-01") < days.max()
    tasks_u = list(result.tasks.loc[result.tasks["site_id"] == "S-U", "task"])
    assert tasks_u == ["survey", "permit", "grid", "equipment", "backhaul", "integration"]


def test_travel_between_sites_is_driven_before_the_next_task() -> None:
    # S-A at (105.0, 21.0), S-B 0.5° north: 6371.0088 km × π/360 = 55.597 km of great
    # circle; road factor 1, 13.9 km/h → 3.9998 h = 2 ticks of 2 h. The one survey unit
    # lives at S-A: survey A on ticks 0–3 (Tue 15 Jul), drive ticks 4–5, survey B on
    # ticks 6–9: it starts Wed 16 Jul and ends Thu 17 Jul.
    sites = _sites(
        [
            {"site_id": "S-A", "lon": 105.0, "lat": 21.0, "deadline": "2025-08-31"},
            {"site_id": "S-B", "lon": 105.0, "lat": 21.5, "deadline": "2025-09-30"},
        ]
    )
    settings = ScheduleSettings(
        region_of=REGION,
        crews=_crews(home=(105.0, 21.0)),
        road_factor=1.0,
        speed_kmh_by_region={"Northwest": 13.9},
    )
    greedy = greedy_schedule(sites, settings)
    t = greedy.tasks.set_index(["site_id", "task"])
    assert t.loc[("S-A", "survey"), "start_date"] == "2025-07-15"
    assert t.loc[("S-A", "survey"), "finish_date"] == "2025-07-15"
    assert t.loc[("S-B", "survey"), "start_date"] == "2025-07-16"
    assert t.loc[("S-B", "survey"), "finish_date"] == "2025-07-17"
    _check_feasible(greedy, sites, settings)
    result = plan_builds(sites, settings)
    _check_feasible(result, sites, settings)
    assert result.n_late == 0


def test_crews_finish_a_cluster_before_driving_to_the_next() -> None:
    # Every task is one working day for the one civil unit, so each site is one 8-day visit
    # of 32 ticks. The unit lives at S-1 (105.0°E, 21.0°N); S-3 is 0.1° north (11.12 km at
    # 13.9 km/h = 0.8 h: 1 tick), S-2 and S-4 are 2.0° and 2.1° north (222.4 / 233.5 km
    # from S-1, 211.3 / 222.4 km from S-3: 8, 9, 8, 8 ticks; 1 tick between them). Every
    # deadline is Wed 16 Jul (tick 8), so the least tardiness is the least Σ ends − 4 × 8.
    # Nearest cluster first: S-1 ends 32, S-3 32 + 1 + 32 = 65, S-2 65 + 8 + 32 = 105, S-4
    # 105 + 1 + 32 = 138 (or S-4 then S-2: the same ends): Σ = 340, tardiness 308 ticks;
    # starting at S-3 gives 344. Earliest deadline first by site id drives back and forth
    # (S-1, S-2, S-3, S-4: ends 32, 72, 112, 152, Σ 368): 336 ticks.
    rows = [
        {"site_id": f"S-{k}", "lon": 105.0, "lat": lat, "deadline": "2025-07-16", "power": "solar"}
        for k, lat in ((1, 21.0), (2, 23.0), (3, 21.1), (4, 23.1))
    ]
    sites = _sites(rows)
    tasks = tuple(TaskTemplate(name, 1, "civil") for name in [t.name for t in DEFAULT_TASKS])
    settings = ScheduleSettings(
        region_of=REGION,
        tasks=tasks,
        crews=(Crew("viettel-civil", "Viettel", "Northwest", "civil", 1, 105.0, 21.0),),
        road_factor=1.0,
        speed_kmh_by_region={"Northwest": 13.9},
        backhaul_duration_days={},
        explain_late=False,
    )
    greedy = greedy_schedule(sites, settings)
    assert greedy.tardiness_ticks == 336
    problem = build_problem(sites, settings)
    part = list(range(len(problem.sites)))
    starts, _ = _dispatch_best(problem, part, _Travel(problem, part))
    assert _part_value(problem, part, starts)[:2] == (4, 308)
    result = plan_builds(sites, settings)
    _check_feasible(result, sites, settings)
    assert result.tardiness_ticks == 308
    assert result.tardiness_lower_bound_ticks == 308  # exact routes: CP-SAT proves it
    assert "shortest possible drive in" not in result.summary  # no gap to explain
    # Without exact routes the bound counts each visit's shortest drive in (0 ticks for
    # S-1 from the unit's home, 1 for each of the others), never the 8-tick drive between
    # the clusters; the summary says the gap is then only an upper limit.
    relaxed = plan_builds(sites, dataclasses.replace(settings, route_max_visits=0))
    assert relaxed.tardiness_ticks == 308 and relaxed.tardiness_lower_bound_ticks < 308
    assert "shortest possible drive in" in relaxed.summary
    order = result.tasks[result.tasks["task"] == "survey"].sort_values("start_date")
    assert list(order["site_id"])[:2] == ["S-1", "S-3"]


@pytest.fixture(scope="module")
def contended() -> tuple[pd.DataFrame, ScheduleSettings, ScheduleResult, ScheduleResult]:
    """The contended instance solved twice (the determinism test compares the runs)."""
    sites, settings = _contended_instance()
    return sites, settings, plan_builds(sites, settings), plan_builds(sites, settings)


def test_crew_units_never_overlap_with_travel_on_a_contended_instance(
    contended: tuple[pd.DataFrame, ScheduleSettings, ScheduleResult, ScheduleResult],
) -> None:
    sites, settings, result, _ = contended
    _check_feasible(result, sites, settings)
    assert result.lexicographic <= result.baseline.lexicographic  # type: ignore[union-attr]
    kind_of_task = {t.name: t.crew_kind for t in DEFAULT_TASKS}
    for row in result.tasks.itertuples(index=False):
        if row.crew_id:
            assert row.crew_id.startswith(f"viettel-northwest-{kind_of_task[row.task]}/")


def test_rain_window_stretches_work() -> None:
    # Factor 2 from 15 Jul: a working day holds 4 / 2 = 2 ticks, so the 1-day survey
    # (4 ticks) takes Tue 15 and Wed 16 Jul, and the 5-day permit (20 ticks) the next
    # 10 working days: Thu 17 … Mon 28 Jul (Sundays 20 and 27 off).
    sites = _sites([{"site_id": "S-R", "power": "solar", "power_date": None}])
    settings = ScheduleSettings(
        region_of=REGION,
        crews=_crews(),
        travel=False,
        rain_windows=(RainWindow("Northwest", dt.date(2025, 7, 15), dt.date(2025, 9, 30), 2.0),),
    )
    result = plan_builds(sites, settings)
    t = result.tasks.set_index("task")
    assert (t.loc["survey", "start_date"], t.loc["survey", "finish_date"]) == (
        "2025-07-15",
        "2025-07-16",
    )
    assert (t.loc["permit", "start_date"], t.loc["permit", "finish_date"]) == (
        "2025-07-17",
        "2025-07-28",
    )
    other = ScheduleSettings(
        region_of=REGION,
        crews=_crews(),
        travel=False,
        rain_windows=(RainWindow("Mekong Delta", dt.date(2025, 7, 15), dt.date(2025, 9, 30), 2.0),),
    )
    t2 = plan_builds(sites, other).tasks.set_index("task")
    assert t2.loc["permit", "finish_date"] == "2025-07-21"  # days 1–5: 16–21 Jul


def _contended_instance() -> tuple[pd.DataFrame, ScheduleSettings]:
    """16 Viettel sites in one region about 10–40 km apart, one unit per crew kind,
    mixed deadlines and power dates, travel on: the search stops at its limit."""
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
                "lon": 104.0 + float(rng.uniform(0, 0.3)),
                "lat": 22.0 + float(rng.uniform(0, 0.3)),
            }
        )
    settings = ScheduleSettings(
        region_of=REGION, default_crew_count=1, max_deterministic_time=0.3, explain_late=False
    )
    return _sites(rows), settings


def test_same_inputs_give_identical_schedules(
    contended: tuple[pd.DataFrame, ScheduleSettings, ScheduleResult, ScheduleResult],
) -> None:
    _, _, a, b = contended
    pd.testing.assert_frame_equal(a.tasks, b.tasks)
    pd.testing.assert_frame_equal(a.sites, b.sites)
    assert (a.status, a.objective, a.lower_bound, a.summary) == (
        b.status,
        b.objective,
        b.lower_bound,
        b.summary,
    )


def test_replanning_keeps_done_work_and_reports_moves() -> None:
    sites, settings = _lateness_instance(civil_units=1)
    first = plan_builds(sites, settings)
    a = first.tasks.set_index(["site_id", "task"])
    # Re-plan a week in: S-A's survey and permit are done as planned and its civil job
    # started on its planned day; everything else is still open.
    progress = pd.DataFrame(
        [
            (
                "S-A",
                "survey",
                "done",
                a.loc[("S-A", "survey"), "start_date"],
                a.loc[("S-A", "survey"), "finish_date"],
                a.loc[("S-A", "survey"), "crew_id"],
            ),
            (
                "S-A",
                "permit",
                "done",
                a.loc[("S-A", "permit"), "start_date"],
                a.loc[("S-A", "permit"), "finish_date"],
                "",
            ),
            (
                "S-A",
                "civil",
                "started",
                a.loc[("S-A", "civil"), "start_date"],
                None,
                "viettel-civil/1",
            ),
        ],
        columns=["site_id", "task", "status", "start_date", "finish_date", "crew_id"],
    )
    for c in ("start_date", "finish_date"):
        progress[c] = [None if pd.isna(v) else dt.date.fromisoformat(str(v)) for v in progress[c]]
    later = ScheduleSettings(
        **{**_settings_dict(settings), "calendar": WorkCalendar(start=dt.date(2025, 7, 22))}
    )
    again = plan_builds(sites, later, progress=progress, previous=first.tasks)
    b = again.tasks.set_index(["site_id", "task"])
    for task in ("survey", "permit"):
        assert tuple(b.loc[("S-A", task)]) == tuple(a.loc[("S-A", task)])
    assert b.loc[("S-A", "civil"), "start_date"] == a.loc[("S-A", "civil"), "start_date"]
    assert b.loc[("S-A", "civil"), "crew_id"] == "viettel-civil/1"
    # S-B's survey can no longer start on 16 Jul: it moves to the re-plan day.
    assert b.loc[("S-B", "survey"), "start_date"] == "2025-07-22"
    moved = again.moved
    assert moved is not None
    assert ("S-B", "survey") in set(zip(moved["site_id"], moved["task"], strict=True))
    assert ("S-A", "survey") not in set(zip(moved["site_id"], moved["task"], strict=True))
    assert "Re-plan:" in again.summary


def _settings_dict(settings: ScheduleSettings) -> dict[str, Any]:
    import dataclasses

    return {f.name: getattr(settings, f.name) for f in dataclasses.fields(settings)}


def test_status_names_cover_every_cp_sat_status() -> None:
    assert STATUS_NAMES == {
        cp_model.OPTIMAL: "OPTIMAL",
        cp_model.FEASIBLE: "FEASIBLE",
        cp_model.INFEASIBLE: "INFEASIBLE",
        cp_model.MODEL_INVALID: "MODEL_INVALID",
        cp_model.UNKNOWN: "UNKNOWN",
    }


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
    with pytest.raises(ScenarioError, match="missing"):
        ScheduleSettings(tasks=DEFAULT_TASKS[:-1])
    with pytest.raises(ScenarioError, match="duration_days must be > 0"):
        TaskTemplate("civil", 0, "civil")
    with pytest.raises(ScenarioError, match="kind 'crane' is used by no task"):
        ScheduleSettings(crews=(*_crews(), Crew("x-crane", "Viettel", "Northwest", "crane")))
    assert ScheduleSettings().power_tail_working_days("grid") == 7


def test_psplib_style_core_model_on_a_hand_instance() -> None:
    # Three activities of 2, 3, 2 units, each needing 1 of a capacity-1 resource except
    # the last (needs 0), with 0 → 2: the resource serialises 0 and 1 (5 units), and
    # 2 runs right after 0, so the optimum is 5.
    status, makespan, bound, starts = solve_rcpsp(
        [2, 3, 2], [[1], [1], [0]], [1], [[2], [], []], max_deterministic_time=1.0
    )
    assert (status, makespan, bound) == ("OPTIMAL", 5, 5)
    assert starts[2] >= starts[0] + 2
