"""End to end: ``covgap run`` and the sub-commands on the small hand-made data set.

The expected groups are worked out by hand in ``tests/data/README.md``.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import jsonschema
import pandas as pd
import pyogrio
import pytest
from browser import dump_dom, element_attrs
from conftest import TEST_DATA, run_cli, two_solar_sites, write_small_scenario

from covgap.calendar import WorkCalendar
from covgap.export import load_schema, validate_rfc7946
from covgap.schedule import TASK_ORDER

EXPECTED_GROUPS = {
    "V001": "covered",
    "V002": "covered",
    "0012": "covered",
    "V003": "low_signal_powered",
    "V006": "low_signal_powered",
    "V004": "low_signal_unpowered",
    "V005": "low_signal_unpowered",
}


@pytest.fixture(scope="module")
def small_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One ``covgap run`` on the small data set (shared by the tests of this module)."""
    work = tmp_path_factory.mktemp("run")
    from conftest import SHARED

    bnd = SHARED / "data" / "vn_provinces34.geojson"
    scenario = write_small_scenario(work, boundaries=bnd if bnd.exists() else None)
    res = run_cli("run", "--scenario", scenario, cwd=work)
    assert res.returncode == 0, res.output
    assert "Traceback" not in res.output
    return work


def test_run_flags_the_hand_worked_groups(small_run: Path) -> None:
    gdf = pyogrio.read_dataframe(small_run / "out" / "villages_assessed.gpkg")
    got = dict(zip(gdf["village_id"], gdf["group"], strict=True))
    assert got == EXPECTED_GROUPS
    row = gdf.set_index("village_id").loc["V006"]
    assert row["rsrp_source"] == "measured"
    assert row["best_rsrp_dbm"] == pytest.approx(-120.0, abs=0.01)
    assert gdf.set_index("village_id").loc["0012", "population"] == 1200


def test_run_prints_the_split_and_writes_summaries(small_run: Path) -> None:
    prov = pd.read_csv(small_run / "out" / "summary_by_province.csv", dtype={"province_code": str})
    assert int(prov["low_signal_powered"].sum()) == 2
    assert int(prov["low_signal_unpowered"].sum()) == 2
    assert int(prov["covered"].sum()) == 3
    by_code = prov.set_index("province_code")
    assert int(by_code.loc["11", "low_signal_unpowered"]) == 1  # V004 Mường Lay
    assert int(by_code.loc["11", "low_signal_powered"]) == 1  # V003 Sín Thầu
    rejects = (small_run / "out" / "rejects.csv").read_text(encoding="utf-8")
    assert rejects.splitlines() == ["file,row,column,value,reason"]


def test_schedule_respects_chains_release_dates_and_calendar(small_run: Path) -> None:
    tasks = pd.read_csv(small_run / "out" / "schedule.csv", dtype=str, keep_default_na=False)
    assert list(tasks.columns) == [
        "site_id",
        "operator",
        "task",
        "crew_id",
        "start_date",
        "finish_date",
    ]
    cal = WorkCalendar()
    order = {name: i for i, name in enumerate(TASK_ORDER)}
    for site_id, rows in tasks.groupby("site_id"):
        rows = rows.assign(k=rows["task"].map(order)).sort_values("k")
        assert rows["k"].is_monotonic_increasing
        prev_finish = None
        for r in rows.itertuples():
            start, finish = pd.Timestamp(r.start_date).date(), pd.Timestamp(r.finish_date).date()
            assert start <= finish
            assert cal.is_working_day(start) and cal.is_working_day(finish), (site_id, r.task)
            if prev_finish is not None:
                assert start >= prev_finish, (site_id, r.task)  # 2-hour ticks: same-day start
            prev_finish = finish
    sites = pyogrio.read_dataframe(small_run / "out" / "sites.gpkg", layer="sites")
    by_village = {v: s for s, v in zip(sites["site_id"], sites["villages_served"], strict=True)}
    # V004 gets grid on 2025-09-20 (before its 30 Nov deadline): its grid task waits for it.
    v004 = tasks[(tasks["site_id"] == by_village["V004"]) & (tasks["task"] == "grid")]
    assert len(v004) == 1 and v004["start_date"].iloc[0] >= "2025-09-20"
    # V005's power comes on 2026-01-15, after its deadline: solar, no grid task.
    v005 = tasks[tasks["site_id"] == by_village["V005"]]
    assert "solar" in set(v005["task"]) and "grid" not in set(v005["task"])
    per_site = pd.read_csv(small_run / "out" / "sites_schedule.csv", dtype=str)
    deadlines = dict(zip(per_site["site_id"], per_site["deadline"], strict=True))
    assert deadlines[by_village["V003"]] == "2025-08-31"
    assert deadlines[by_village["V004"]] == "2025-11-30"


def test_map_opens_in_chromium_with_every_village(small_run: Path) -> None:
    page = small_run / "maps" / "coverage_map.html"
    dom = dump_dom(page)
    body = element_attrs(dom, "body")
    assert body.get("data-covgap-status") == "ready"
    painted = json.loads(body["data-covgap-painted"])
    villages = sum(n for name, n in painted.items() if name.startswith("Villages"))
    assert villages == len(EXPECTED_GROUPS)
    assert painted["Villages: low signal, without power"] == 2


def test_exports_are_rfc7946_and_match_the_schema(small_run: Path) -> None:
    exports = small_run / "out" / "exports"
    files = sorted(exports.glob("*.geojson"))
    assert files, "no operator GeoJSON written"
    schema = load_schema()
    n_sites = 0
    for path in files:
        obj = json.loads(path.read_text(encoding="utf-8"))
        assert "crs" not in obj
        assert validate_rfc7946(obj) == []
        jsonschema.validate(obj, schema)
        for feat in obj["features"]:
            geom = feat["geometry"]
            points = [geom["coordinates"]] if geom["type"] == "Point" else geom["coordinates"]
            for lon, lat in points:
                assert 102 < lon < 110 and 8 < lat < 24  # lon/lat order in Vietnam
            n_sites += feat["properties"]["feature_type"] == "site"
    # The four gap villages lie > 80 km apart and far from every tower: one new site each.
    assert n_sites == 4
    index = json.loads((exports / "index.json").read_text(encoding="utf-8"))
    assert index  # counts and hashes


def test_manifest_has_input_hashes(small_run: Path) -> None:
    manifest = json.loads((small_run / "out" / "manifest.json").read_text(encoding="utf-8"))
    names = [Path(p).name for p in manifest["inputs"]]
    assert "villages_small.csv" in names and "towers_small.csv" in names
    assert all(len(h) == 64 for h in manifest["inputs"].values())
    assert manifest["settings"]["seed"] == 7


def test_run_is_byte_identical_twice(small_run: Path, tmp_path: Path) -> None:
    scenario = next(small_run.glob("*.toml"))
    res = run_cli(
        "run",
        "--scenario",
        scenario,
        "--out",
        tmp_path / "out",
        "--maps",
        tmp_path / "maps",
        cwd=small_run,
    )
    assert res.returncode == 0, res.output
    first = sorted(p for p in (small_run / "out").rglob("*") if p.is_file())
    for p in first:
        if p.name == "manifest.json":
            continue
        twin = tmp_path / "out" / p.relative_to(small_run / "out")
        assert twin.read_bytes() == p.read_bytes(), p.name
    assert (tmp_path / "maps" / "coverage_map.html").read_bytes() == (
        small_run / "maps" / "coverage_map.html"
    ).read_bytes()


def test_stage_commands_chain(tmp_path: Path) -> None:
    v, t = TEST_DATA / "villages_small.csv", TEST_DATA / "towers_small.csv"
    steps = [
        ("analyse", "--villages", v, "--towers", t),
        ("sites", "--towers", t),
        ("schedule", "--time-limit", "1"),
        ("map", "--towers", t),
        ("export",),
    ]
    for args in steps:
        res = run_cli(*args, cwd=tmp_path)
        assert res.returncode == 0, (args, res.output)
    for name in ("villages_assessed.gpkg", "sites.gpkg", "schedule.csv", "sites_schedule.csv"):
        assert (tmp_path / "out" / name).exists(), name
    assert (tmp_path / "maps" / "coverage_map.html").exists()
    assert list((tmp_path / "out" / "exports").glob("*.geojson"))


@pytest.mark.parametrize(
    "command", ["validate", "analyse", "sites", "schedule", "map", "export", "run", "sample"]
)
def test_every_command_explains_itself(command: str, tmp_path: Path) -> None:
    res = run_cli(command, "--help", cwd=tmp_path)
    assert res.returncode == 0
    assert "Usage:" in res.output and len(res.output.splitlines()) > 5


def test_top_level_help_lists_commands(tmp_path: Path) -> None:
    res = run_cli("--help", cwd=tmp_path)
    assert res.returncode == 0
    for cmd in ("validate", "analyse", "sites", "schedule", "map", "export", "run", "sample"):
        assert cmd in res.output


# ------------------------------------------------------------------ bad input at the CLI


def _one_error_line(res_stderr: str) -> str:
    lines = [ln for ln in res_stderr.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1, res_stderr
    assert "Traceback" not in res_stderr
    return lines[0]


def test_missing_file_is_one_line_exit_2(tmp_path: Path) -> None:
    res = run_cli(
        "validate",
        "--villages",
        "nope.csv",
        "--towers",
        TEST_DATA / "towers_small.csv",
        cwd=tmp_path,
    )
    assert res.returncode == 2
    line = _one_error_line(res.stderr)
    assert line.startswith("error: nope.csv:")


def test_towers_passed_as_villages_says_so(tmp_path: Path) -> None:
    t = TEST_DATA / "towers_small.csv"
    res = run_cli("validate", "--villages", t, "--towers", t, cwd=tmp_path)
    assert res.returncode == 2
    line = _one_error_line(res.stderr)
    assert "towers" in line and "--towers" in line


def test_bad_rows_are_rejected_and_strict_fails(tmp_path: Path) -> None:
    src = (TEST_DATA / "villages_small.csv").read_text(encoding="utf-8").splitlines()
    header, rows = src[0], src[1:]
    bad = rows[0].replace(",500,", ",-5,")  # negative population on data row 1
    (tmp_path / "v.csv").write_text("\n".join([header, bad, *rows[1:]]) + "\n", encoding="utf-8")
    t = TEST_DATA / "towers_small.csv"
    res = run_cli("validate", "--villages", "v.csv", "--towers", t, cwd=tmp_path)
    assert res.returncode == 0, res.output
    with open(tmp_path / "out" / "rejects.csv", encoding="utf-8") as fh:
        rejects = list(csv.DictReader(fh))
    assert [(r["file"], r["row"], r["column"], r["value"]) for r in rejects] == [
        ("v.csv", "1", "population", "-5")
    ]
    strict = run_cli("validate", "--villages", "v.csv", "--towers", t, "--strict", cwd=tmp_path)
    assert strict.returncode == 1
    assert "v.csv:1:population" in _one_error_line(strict.stderr)


def test_unknown_scenario_key_says_did_you_mean(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text("[analysis]\nthreshold_rsrp_dbn = -105\n", encoding="utf-8")
    res = run_cli("validate", "--scenario", path, cwd=tmp_path)
    assert res.returncode == 2
    line = _one_error_line(res.stderr)
    assert "threshold_rsrp_dbn" in line and "did you mean 'threshold_rsrp_dbm'" in line


def test_sites_without_analysis_says_what_to_run(tmp_path: Path) -> None:
    res = run_cli("sites", "--towers", TEST_DATA / "towers_small.csv", cwd=tmp_path)
    assert res.returncode == 2
    line = _one_error_line(res.stderr)
    assert "villages_assessed.gpkg" in line and "previous stage" in line


def test_fail_on_late_exits_1_after_writing(tmp_path: Path) -> None:
    # A one-day planning window makes every site late: the plan is written, exit 1.
    scenario = write_small_scenario(tmp_path)
    text = scenario.read_text(encoding="utf-8") + (
        "\n[planning]\nstart = 2025-08-30\ndeadline_powered = 2025-08-31\n"
    )
    scenario.write_text(text, encoding="utf-8")
    res = run_cli("run", "--scenario", scenario, "--fail-on-late", cwd=tmp_path)
    assert res.returncode == 1, res.output
    assert (tmp_path / "out" / "sites_schedule.csv").exists()
    late = pd.read_csv(tmp_path / "out" / "sites_schedule.csv")
    assert (late["late_days"] > 0).any()
    assert "fail-on-late" in _one_error_line(res.stderr)
    # the report says what would meet the deadlines, also when rebuilt on its own
    assert (tmp_path / "out" / "infeasibility.json").exists()
    assert 'id="late-explanation"' in (tmp_path / "out" / "report.html").read_text("utf-8")
    (tmp_path / "out" / "report.html").unlink()
    res = run_cli("report", "--scenario", scenario, cwd=tmp_path)
    assert res.returncode == 0, res.output
    assert 'id="late-explanation"' in (tmp_path / "out" / "report.html").read_text("utf-8")
    # a damaged infeasibility.json is one clear line naming it, not a traceback
    (tmp_path / "out" / "infeasibility.json").write_text("{oops", encoding="utf-8")
    res = run_cli("report", "--scenario", scenario, cwd=tmp_path)
    assert res.returncode == 2, res.output
    line = _one_error_line(res.stderr)
    assert "infeasibility.json" in line and "not valid JSON" in line
    (tmp_path / "out" / "infeasibility.json").write_text(
        '{"extra_crews": [{"units": "four"}]}', encoding="utf-8"
    )
    res = run_cli("report", "--scenario", scenario, cwd=tmp_path)
    assert res.returncode == 2, res.output
    line = _one_error_line(res.stderr)
    assert "infeasibility.json" in line and "extra_units" not in line
    assert "\"extra_crews\"[0].units must be a number, not 'four'" in line


def test_excluded_area_leaves_its_village_uncoverable(tmp_path: Path) -> None:
    # A reserve drawn around Sín Thầu (V003): no site may be built there.
    (tmp_path / "reserve.geojson").write_text(
        '{"type":"FeatureCollection","features":[{"type":"Feature","properties":{},'
        '"geometry":{"type":"Polygon","coordinates":[[[102.0,22.0],[102.6,22.0],'
        "[102.6,22.8],[102.0,22.8],[102.0,22.0]]]}}]}",
        encoding="utf-8",
    )
    v, t = TEST_DATA / "villages_small.csv", TEST_DATA / "towers_small.csv"
    assert run_cli("analyse", "--villages", v, "--towers", t, cwd=tmp_path).returncode == 0
    res = run_cli("sites", "--towers", t, "--excluded", "reserve.geojson", cwd=tmp_path)
    assert res.returncode == 0, res.output
    uncoverable = pd.read_csv(tmp_path / "out" / "uncoverable.csv", dtype=str)
    assert list(uncoverable["village_id"]) == ["V003"]
    sites = pyogrio.read_dataframe(tmp_path / "out" / "sites.gpkg", layer="sites")
    assert "V003" not in ";".join(sites["villages_served"])
    missing = run_cli("sites", "--towers", t, "--excluded", "nope.geojson", cwd=tmp_path)
    assert missing.returncode == 2
    assert _one_error_line(missing.stderr).startswith("error: nope.geojson:")


def test_villages_and_towers_in_different_crs(tmp_path: Path) -> None:
    # Villages in UTM 48N metres (a surveyor's spreadsheet), towers in lon/lat (an operator's).
    from pyproj import Transformer

    to_utm = Transformer.from_crs("EPSG:4326", "EPSG:32648", always_xy=True)
    src = pd.read_csv(TEST_DATA / "villages_small.csv", dtype=str, keep_default_na=False)
    x, y = to_utm.transform(src["lon"].astype(float), src["lat"].astype(float))
    utm = src.drop(columns=["lon", "lat"]).assign(x=[f"{v:.2f}" for v in x])
    utm = utm.assign(y=[f"{v:.2f}" for v in y])
    utm.to_csv(tmp_path / "villages_utm.csv", index=False)
    t = TEST_DATA / "towers_small.csv"

    both = run_cli(
        "validate",
        "--villages",
        "villages_utm.csv",
        "--towers",
        t,
        "--crs",
        "EPSG:32648",
        cwd=tmp_path,
    )
    assert both.returncode == 2  # the towers' degrees are not UTM metres: refused, not guessed
    assert "towers_small.csv" in _one_error_line(both.stderr)

    ref = tmp_path / "ref"
    ref.mkdir()
    v = TEST_DATA / "villages_small.csv"
    assert run_cli("analyse", "--villages", v, "--towers", t, cwd=ref).returncode == 0
    res = run_cli(
        "analyse",
        "--villages",
        "villages_utm.csv",
        "--towers",
        t,
        "--villages-crs",
        "EPSG:32648",
        cwd=tmp_path,
    )
    assert res.returncode == 0, res.output
    got = pyogrio.read_dataframe(tmp_path / "out" / "villages_assessed.gpkg")
    want = pyogrio.read_dataframe(ref / "out" / "villages_assessed.gpkg")
    assert list(got["village_id"]) == list(want["village_id"])
    assert list(got["group"]) == list(want["group"])
    assert got["best_rsrp_dbm"].to_numpy() == pytest.approx(
        want["best_rsrp_dbm"].to_numpy(), abs=0.01, nan_ok=True
    )


def _civil_heavy_problem(
    path: Path, sites: pd.DataFrame, operators: tuple[str, ...], **settings: Any
) -> Path:
    """problem.json for ``sites`` in province 15 (Northwest): civil works of 20 working
    days, every other task 1 day, one unit of every crew kind per operator."""
    from covgap.schedule import CREW_KINDS, Crew, ScheduleSettings, TaskTemplate
    from covgap.schedule_io import write_problem

    days = {"civil": 20}
    kinds = {"survey": "survey", "civil": "civil", "tower": "rigging", "grid": "power"}
    kinds |= {"solar": "power", "equipment": "rf", "backhaul": "rf", "integration": "rf"}
    tasks = tuple(TaskTemplate(t, days.get(t, 1), kinds.get(t)) for t in TASK_ORDER)
    crews = tuple(
        Crew(f"{op.lower()}-{k}", op, "Northwest", k, 1, 105.0, 21.0)
        for op in operators
        for k in CREW_KINDS
    )
    write_problem(
        path,
        sites,
        ScheduleSettings(
            region_of={"15": "Northwest"},
            crews=crews,
            tasks=tasks,
            max_deterministic_time=2.0,
            **settings,
        ),
    )
    return path


def test_schedule_prints_the_least_extra_crews_as_a_table(tmp_path: Path) -> None:
    # Two sites due 31 Aug behind one civil unit (civil 20 working days each, from
    # 15 Jul): the second civil job ends about 8 Sep, so one site is late; a second civil
    # unit puts both on time (about 20 Aug), and no fewer than +1 can (1 late > 0).
    sites = two_solar_sites("2025-08-31")
    _civil_heavy_problem(tmp_path / "problem.json", sites, ("Viettel",))
    res = run_cli("schedule", "--problem", "problem.json", "--out", "out", cwd=tmp_path)
    assert res.returncode == 0, res.output
    lines = res.stdout.splitlines()
    headline = "Least extra crews to meet every deadline (proven least): 1 unit."
    assert headline in lines
    # the units per pool are the table, not a sentence
    assert "+1 civil (Viettel, Northwest)" not in res.stdout
    title = lines.index("Least extra crews: units to add")
    header = lines[title + 2].split()
    row = lines[title + 4].split()
    assert header == ["operator", "region", "civil", "in", "all"]
    assert row == ["Viettel", "Northwest", "+1", "1"]
    doc = json.loads((tmp_path / "out" / "infeasibility.json").read_text(encoding="utf-8"))
    assert doc["headline"] == headline
    assert doc["extra_crews"][0]["kind"] == "civil" and doc["extra_crews"][0]["extra_units"] == 1


def test_schedule_names_the_part_no_count_fixes_and_tables_the_others(tmp_path: Path) -> None:
    # The Viettel pair above (+1 civil) beside three MobiFone sites due 31 Aug: with two
    # civil units the third civil job still ends about 8 Sep, so MobiFone needs +2 civil,
    # beyond max_extra_units_per_pool = 1: the headline names MobiFone / Northwest and the
    # table holds Viettel's unit under "Elsewhere".
    viettel = two_solar_sites("2025-08-31")
    mobifone = pd.concat([viettel, viettel.iloc[:1]], ignore_index=True)
    mobifone["site_id"] = ["M-A", "M-B", "M-C"]
    mobifone["operator"] = "MobiFone"
    sites = pd.concat([viettel, mobifone], ignore_index=True)
    _civil_heavy_problem(
        tmp_path / "problem.json", sites, ("Viettel", "MobiFone"), max_extra_units_per_pool=1
    )
    res = run_cli("schedule", "--problem", "problem.json", "--out", "out", cwd=tmp_path)
    assert res.returncode == 0, res.output
    lines = res.stdout.splitlines()
    assert (
        "No plan found that puts every site on time in MobiFone / Northwest even with 1 more "
        "unit per crew pool (max_extra_units_per_pool); at least 2 extra units in all."
    ) in lines
    assert "Elsewhere: +1 civil (Viettel, Northwest)." not in res.stdout
    title = lines.index("Elsewhere: units to add")
    assert lines[title + 4].split() == ["Viettel", "Northwest", "+1", "1"]
    doc = json.loads((tmp_path / "out" / "infeasibility.json").read_text(encoding="utf-8"))
    assert doc["status"] == "NOT_FOUND"
    assert doc["summary"].endswith("Elsewhere: +1 civil (Viettel, Northwest).")
