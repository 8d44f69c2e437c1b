"""Scenario files: defaults, binding, refusals, path resolution."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from conftest import PROJECT

from covgap.errors import ScenarioError
from covgap.scenario import load_scenario


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "s.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_bundled_scenario_loads_with_documented_defaults() -> None:
    sc = load_scenario(PROJECT / "scenarios" / "vietnam_2025.toml")
    assert sc.planning.deadline_powered == dt.date(2025, 8, 31)
    assert sc.planning.deadline_unpowered == dt.date(2025, 11, 30)
    assert sc.analysis.threshold_rsrp_dbm == -110.0
    assert sc.schedule.deadlines["low_signal_powered"] == dt.date(2025, 8, 31)
    assert sc.schedule.calendar.holidays == (dt.date(2025, 9, 1), dt.date(2025, 9, 2))
    assert sc.schedule.on_air_lag_days == 10
    assert sc.inputs.dem is None  # "" means none
    assert sc.inputs.villages is not None and sc.inputs.villages.name == "villages.geojson"
    assert sc.schedule.tasks[0].name == "survey"
    assert sc.schedule.tasks[1].crew_kind is None  # permit: no crew
    assert sc.siting.power_tail_working_days == sc.schedule.power_tail_working_days("grid")


def test_paths_resolve_against_the_scenario_folder(tmp_path: Path) -> None:
    sub = tmp_path / "sc"
    sub.mkdir()
    path = sub / "a.toml"
    path.write_text('[inputs]\nvillages = "../v.csv"\n', encoding="utf-8")
    sc = load_scenario(path)
    assert sc.inputs.villages is not None
    assert sc.inputs.villages.resolve() == (tmp_path / "v.csv").resolve()


def test_planning_dates_reach_every_stage(tmp_path: Path) -> None:
    sc = load_scenario(
        _write(
            tmp_path,
            "[planning]\nstart = 2025-08-01\ndeadline_powered = 2025-09-15\n"
            "on_air_lag_days = 7\n[calendar]\ndays_off_weekly = [5, 6]\n",
        )
    )
    assert sc.schedule.calendar.start == dt.date(2025, 8, 1)
    assert sc.siting.calendar.days_off_weekly == (5, 6)
    assert sc.schedule.deadlines["low_signal_powered"] == dt.date(2025, 9, 15)
    assert sc.siting.deadlines["low_signal_powered"] == dt.date(2025, 9, 15)
    assert sc.schedule.on_air_lag_days == 7


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("[analysis]\nthreshold_rsrp_dbn = -105\n", "did you mean 'threshold_rsrp_dbm'"),
        ("[planing]\nstart = 2025-07-01\n", "did you mean 'planning'"),
        ('[analysis]\nmax_reach_km = "far"\n', "expected a number"),
        ('[planning]\nstart = "15/07/2025"\n', "expected a date"),
        ("[schedule]\ndeadlines = {}\n", "set it in [planning]"),
        ("[schedule]\nseed = 3\n", "top-level seed"),
        ("[inputs]\nadmin_vintage = 2020\n", "admin_vintage"),
        ('[regions]\n"99" = "Nowhere"\n', "not a 2025 province code"),
        ("[[schedule.tasks]]\nduration_days = 2\n", "missing the key 'name'"),
        ("seed = -1\n", "seed"),
        ("this is not toml", "not valid TOML"),
    ],
)
def test_bad_scenarios_are_refused_with_the_key(tmp_path: Path, text: str, needle: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert needle in info.value.line()
    assert str(path) in info.value.line()


def test_missing_scenario_file(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="scenario file not found"):
        load_scenario(tmp_path / "none.toml")


def test_to_dict_is_json_ready() -> None:
    import json

    sc = load_scenario(PROJECT / "scenarios" / "vietnam_2025.toml")
    text = json.dumps(sc.to_dict())
    assert '"deadline_powered": "2025-08-31"' in text
