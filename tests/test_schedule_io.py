"""Scheduler files: problem.json (round trip, schema errors), progress.csv errors naming
file, row and column, infeasibility.json, the crew utilisation table."""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path

import pandas as pd
import pytest

from covgap.errors import SchemaError
from covgap.schedule import CREW_KINDS, Crew, ScheduleSettings, TaskTemplate, plan_builds
from covgap.schedule_io import (
    crew_utilisation,
    read_previous_schedule,
    read_problem,
    read_progress,
    write_infeasibility,
    write_problem,
)

REGION = {"15": "Northwest"}
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


def _sites() -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "site_id": ["S-A", "S-B"],
            "operator": ["Viettel", "Viettel"],
            "group": ["low_signal_powered", "low_signal_powered"],
            "kind": ["new", "new"],
            "power": ["grid", "solar"],
            "power_date": pd.to_datetime(["2025-07-15", None]).astype("datetime64[s]"),
            "deadline": pd.to_datetime(["2025-08-31", "2025-09-05"]).astype("datetime64[s]"),
            "province_code": ["15", "15"],
            "lon": [105.0, 105.0],
            "lat": [21.0, 21.5],
        }
    )
    return frame


def _settings(**kw: object) -> ScheduleSettings:
    crews = tuple(Crew(f"vt-{k}", "Viettel", "Northwest", k, 1, 105.0, 21.0) for k in CREW_KINDS)
    base: dict[str, object] = {
        "region_of": REGION,
        "crews": crews,
        "tasks": CIVIL_HEAVY,
        "road_factor": 1.0,
        "speed_kmh_by_region": {"Northwest": 13.9},
        "max_deterministic_time": 1.0,
    }
    return ScheduleSettings(**{**base, **kw})  # type: ignore[arg-type]


def test_problem_json_round_trip_gives_the_same_schedule(tmp_path: Path) -> None:
    sites, settings = _sites(), _settings()
    path = tmp_path / "problem.json"
    write_problem(path, sites, settings)
    first = path.read_bytes()
    write_problem(path, sites, settings)
    assert path.read_bytes() == first  # byte-identical
    doc = json.loads(first)
    assert doc["format"] == "covgap-schedule-problem" and doc["version"] == 1
    assert [s["site_id"] for s in doc["sites"]] == ["S-A", "S-B"]
    assert doc["sites"][0]["region"] == "Northwest"
    assert doc["sites"][1]["power_date"] is None
    sites2, settings2 = read_problem(path)
    a = plan_builds(sites, settings)
    b = plan_builds(sites2, settings2)
    pd.testing.assert_frame_equal(a.tasks, b.tasks)
    pd.testing.assert_frame_equal(a.sites, b.sites)


def _doc(tmp_path: Path) -> tuple[Path, dict]:
    path = tmp_path / "problem.json"
    write_problem(path, _sites(), _settings())
    return path, json.loads(path.read_text(encoding="utf-8"))


def test_problem_json_errors_name_file_item_and_field(tmp_path: Path) -> None:
    path, doc = _doc(tmp_path)
    doc["tasks"][2]["duration_days"] = 0
    path.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(SchemaError) as exc:
        read_problem(path)
    assert exc.value.file == str(path)
    assert exc.value.row == 3 and exc.value.column == "tasks.duration_days"
    assert "0" in exc.value.reason

    path, doc = _doc(tmp_path)
    doc["sites"][1]["operator"] = "VinaPhone"
    path.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(SchemaError) as exc:
        read_problem(path)
    assert (exc.value.row, exc.value.column) == (2, "sites.operator")

    path, doc = _doc(tmp_path)
    doc["crews"].append(
        {
            "crew_id": "vt-crane",
            "operator": "Viettel",
            "region": "Northwest",
            "kind": "crane",
            "count": 1,
        }
    )
    path.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(SchemaError, match="kind 'crane' is used by no task") as exc:
        read_problem(path)
    assert (exc.value.row, exc.value.column) == (6, "crews.kind")
    assert exc.value.line().startswith(f"error: {path}:6:crews.kind: ")

    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(Exception, match="not valid JSON"):
        read_problem(path)


def _progress(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "progress.csv"
    path.write_text("site_id,task,status,start_date,finish_date,crew_id\n" + body, "utf-8")
    return path


@pytest.mark.parametrize(
    ("body", "row", "column", "match"),
    [
        ("S-Z,survey,done,2025-07-15,2025-07-15,\n", 1, "site_id", "unknown site 'S-Z'"),
        (
            "S-A,survey,done,2025-07-15,2025-07-15,\nS-B,grid,done,2025-07-15,2025-07-15,\n",
            2,
            "task",
            "site S-B has no task 'grid'",
        ),
        ("S-A,survey,finished,2025-07-15,2025-07-15,\n", 1, "status", "status 'finished'"),
        ("S-A,survey,done,15/07/2025,2025-07-15,\n", 1, "start_date", "not a date"),
        ("S-A,civil,started,2025-07-20,,\n", 1, "task", "survey before it is not done"),
        ("S-A,survey,done,2025-07-15,,\n", 1, "finish_date", "needs its finish_date"),
        ("S-A,survey,started,2025-07-15,,vt-civil/1\n", 1, "crew_id", "not a unit"),
    ],
)
def test_progress_errors_name_file_row_and_column(
    tmp_path: Path, body: str, row: int, column: str, match: str
) -> None:
    path = _progress(tmp_path, body)
    with pytest.raises(SchemaError, match=match) as exc:
        read_progress(path, _sites(), _settings())
    assert (exc.value.file, exc.value.row, exc.value.column) == (str(path), row, column)


def test_progress_is_read_and_used(tmp_path: Path) -> None:
    path = _progress(
        tmp_path,
        "S-A,survey,done,2025-07-15,2025-07-15,vt-survey/1\nS-A,permit,started,2025-07-16,,\n",
    )
    progress = read_progress(path, _sites(), _settings())
    assert list(progress["status"]) == ["done", "started"]
    assert progress["start_date"].iloc[1] == dt.date(2025, 7, 16)
    result = plan_builds(_sites(), _settings(), progress=progress)
    t = result.tasks.set_index(["site_id", "task"])
    assert t.loc[("S-A", "survey"), "finish_date"] == "2025-07-15"
    assert t.loc[("S-A", "permit"), "start_date"] == "2025-07-16"

    prev = tmp_path / "schedule.csv"
    result.tasks.to_csv(prev, index=False)
    back = read_previous_schedule(prev)
    assert list(back["site_id"]) == list(result.tasks["site_id"])


def test_infeasibility_json_and_crew_utilisation(tmp_path: Path) -> None:
    # One civil unit for two 20-day civil jobs: S-B (due 5 Sep) is late, +1 civil fixes it.
    result = plan_builds(_sites(), _settings())
    assert result.n_late == 1 and result.explanation is not None
    path = tmp_path / "infeasibility.json"
    write_infeasibility(path, result.explanation)
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert doc["status"] == "OPTIMAL"
    assert doc["extra_crews"] == [
        {
            "operator": "Viettel",
            "region": "Northwest",
            "kind": "civil",
            "crew_id": "vt-civil",
            "units": 1,
            "extra_units": 1,
        }
    ]
    assert doc["late_sites"][0]["site_id"] == "S-B"
    util = crew_utilisation(result).set_index("crew_id")
    # The civil unit does two 20-day jobs: 40 busy working days; it drives home (S-A)
    # → S-B once: 55.597 km at 13.9 km/h = 4.0 h (see test_schedule's travel test).
    assert util.loc["vt-civil/1", "busy_working_days"] == pytest.approx(40.0, abs=1e-9)
    assert util.loc["vt-civil/1", "tasks"] == 2
    assert util.loc["vt-civil/1", "travel_hours"] == pytest.approx(55.597 / 13.9, abs=0.01)
    # The RF unit does 3 tasks per site in one visit each: 2 visits, 6 tasks.
    assert (util.loc["vt-rf/1", "visits"], util.loc["vt-rf/1", "tasks"]) == (2, 6)
    assert 0 < util.loc["vt-civil/1", "utilisation"] <= 1
    assert not math.isnan(util["utilisation"].sum())
