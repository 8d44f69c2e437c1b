"""The planners' HTML report, checked in a real headless Chromium (tests/browser.py).

Small hand-made frames in the pipeline's shapes; every expected number is counted here
from those frames (or by hand in the comments), never taken from the report code.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import re
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from browser import (
    dump_dom,
    dump_dom_and_console,
    element_attrs,
    elements_by_class,
    instrumented_copy,
    pdf_page_count,
    print_to_pdf,
    read_png,
    screenshot,
)
from conftest import two_solar_sites
from shapely.geometry import Point

from covgap.analysis import summarise
from covgap.errors import SchemaError
from covgap.report import (
    build_gantt,
    build_report,
    late_explanation_problem,
    render_report_html,
)
from covgap.schedule import CREW_KINDS, Crew, ScheduleSettings, plan_builds

HOSTILE_PROVINCE = "<script>alert(1)</script>${alert(1)}</textarea>{{ 7*7 }}"
HOSTILE_COMMUNE = "Xã <img src=x onerror=alert(2)> & co"
HOSTILE_SITE = "<img src=x onerror=alert(5)>"
HOSTILE_TITLE = "Kế hoạch <b>2025</b> {{ 6*7 }}"
ON_AIR_TARGET = dt.date(2025, 9, 14)

# (village_id, province_code, province, commune_code, commune, group, population)
VILLAGES = [
    ("V01", "08", "Tuyên Quang", "02263", "Xã Nà Hang", "covered", 820),
    ("V02", "08", "Tuyên Quang", "02263", "Xã Nà Hang", "low_signal_powered", 430),
    ("V03", "08", "Tuyên Quang", "02266", "Xã Khau Tinh", "low_signal_unpowered", 615),
    ("V04", "08", "Tuyên Quang", "02266", "Xã Khau Tinh", "covered", 300),
    ("V05", "15", "Lào Cai", "02647", "Phường Lào Cai", "covered", 1234),
    ("V06", "15", "Lào Cai", "02650", "Xã Bản Xèo", "low_signal_powered", 250),
    ("V07", "15", "Lào Cai", "02650", "Xã Bản Xèo", "low_signal_unpowered", 95),
    ("V08", "11", HOSTILE_PROVINCE, "03158", HOSTILE_COMMUNE, "low_signal_powered", 180),
    ("V09", "11", HOSTILE_PROVINCE, "03151", "Phường Mường Lay", "covered", 75),
]
# (site_id, operator, kind, group, province_code, capex_vnd)
SITES = [
    ("N1", "Viettel", "new", "low_signal_powered", "08", 1_550_000_000),
    ("N2", "MobiFone", "new", "low_signal_unpowered", "08", 1_950_000_000),
    ("N3", "VNPT", "upgrade", "low_signal_powered", "15", 450_000_000),
    (HOSTILE_SITE, "Viettel", "new", "low_signal_powered", "11", 1_600_000_000),
]
# (site_id, group, deadline, finish_date, on_air_date, late_days): N3 is 6 days late and
# on air after the 14 Sep target
SCHEDULE = [
    ("N1", "low_signal_powered", "2025-08-31", "2025-08-29", "2025-09-08", 0),
    ("N2", "low_signal_unpowered", "2025-11-30", "2025-11-28", "2025-12-08", 0),
    ("N3", "low_signal_powered", "2025-08-31", "2025-09-06", "2025-09-16", 6),
    (HOSTILE_SITE, "low_signal_powered", "2025-08-31", "2025-08-30", "2025-09-09", 0),
]
CHAIN_NEW = ["survey", "permit", "civil", "tower", "grid", "equipment", "backhaul", "integration"]
CHAIN_UPGRADE = ["survey", "permit", "grid", "equipment", "backhaul", "integration"]


def make_villages() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        [
            {
                "village_id": vid,
                "name": f"Bản {vid}",
                "province_code": pcode,
                "province": province,
                "commune_code": ccode,
                "commune": commune,
                "population": pop,
                "electrified": group != "low_signal_unpowered",
                "group": group,
                "geometry": Point(105.0 + k / 10, 21.0),
            }
            for k, (vid, pcode, province, ccode, commune, group, pop) in enumerate(VILLAGES)
        ],
        geometry="geometry",
        crs="EPSG:4326",
    )


def make_sites() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        [
            {
                "site_id": sid,
                "operator": op,
                "kind": kind,
                "group": group,
                "province_code": pcode,
                "capex_vnd": capex,
                "geometry": Point(105.5, 21.5),
            }
            for sid, op, kind, group, pcode, capex in SITES
        ],
        geometry="geometry",
        crs="EPSG:4326",
    )


def make_schedule() -> pd.DataFrame:
    operator = {s[0]: s[1] for s in SITES}
    return pd.DataFrame(
        [
            {
                "site_id": sid,
                "operator": operator[sid],
                "group": group,
                "deadline": deadline,
                "finish_date": finish,
                "on_air_date": on_air,
                "late_days": late,
            }
            for sid, group, deadline, finish, on_air, late in SCHEDULE
        ]
    )


def make_tasks() -> pd.DataFrame:
    """Each site's chain, 3 days per task, ending on its finish date."""
    rows = []
    kind = {s[0]: s[2] for s in SITES}
    for sid, _group, _deadline, finish, _on_air, _late in SCHEDULE:
        chain = CHAIN_UPGRADE if kind[sid] == "upgrade" else CHAIN_NEW
        end = dt.date.fromisoformat(finish)
        for k, task in enumerate(reversed(chain)):
            f = end - dt.timedelta(days=3 * k)
            rows.append(
                {
                    "site_id": sid,
                    "operator": "Viettel",
                    "task": task,
                    "crew_id": f"crew-{task}",
                    "start_date": (f - dt.timedelta(days=2)).isoformat(),
                    "finish_date": f.isoformat(),
                }
            )
    return pd.DataFrame(rows)


_DEFAULT = object()


def build(
    tmp_path: Path,
    name: str = "report.html",
    *,
    sites: object = _DEFAULT,
    site_schedule: object = _DEFAULT,
    tasks: object = _DEFAULT,
    **kwargs: object,
) -> Path:
    villages = make_villages()
    args: dict[str, object] = {
        "summary_by_province": summarise(villages, by="province"),
        "summary_by_commune": summarise(villages, by="commune"),
        "headline": {"Scenario": "test <scenario>", "Solver status": "OPTIMAL"},
        "title": HOSTILE_TITLE,
        **kwargs,
    }
    return build_report(  # type: ignore[arg-type]
        villages,
        make_sites() if sites is _DEFAULT else sites,
        make_schedule() if site_schedule is _DEFAULT else site_schedule,
        make_tasks() if tasks is _DEFAULT else tasks,
        out_path=tmp_path / name,
        **args,
    )


def cards(dom: str) -> dict[str, str]:
    return {
        str(c["attrs"]["data-key"]): str(c["attrs"]["data-value"])  # type: ignore[index]
        for c in elements_by_class(dom, "card")
    }


def text_of(dom: str, css_class: str) -> str:
    return " ".join(str(e["text"]) for e in elements_by_class(dom, css_class))


# --------------------------------------------------------------------------- static page


def test_page_is_self_contained_and_deterministic(tmp_path: Path) -> None:
    a = build(tmp_path, "a.html").read_bytes()
    b = build(tmp_path, "b.html").read_bytes()
    assert a == b
    text = a.decode("utf-8")
    # nothing to load, nothing to run
    assert "<script" not in text.lower()
    assert not re.search(r"\b(src|href)\s*=\s*[\"']?(https?:)?//", text, re.IGNORECASE)
    assert not re.search(r"@import|url\(", text, re.IGNORECASE)
    assert "Content-Security-Policy" in text and "default-src 'none'" in text
    # a printable stylesheet
    assert "@media print" in text and "@page" in text
    # no timestamp (dates in the data are fine: no time of day)
    assert not re.search(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}", text)
    # input text never reaches a template and is escaped
    assert "{{ 7*7 }}" in text and "{{ 6*7 }}" in text
    assert "<img src=x" not in text and "&lt;img src=x onerror=alert(5)&gt;" in text


def test_bad_input_is_a_schema_error(tmp_path: Path) -> None:
    villages = make_villages()
    villages.loc[0, "group"] = "vùng lõm"
    with pytest.raises(SchemaError, match="group"):
        render_report_html(
            villages,
            None,
            None,
            None,
            summary_by_province=summarise(make_villages(), by="province"),
            summary_by_commune=summarise(make_villages(), by="commune"),
            title="t",
        )
    with pytest.raises(SchemaError, match="finish_date"):
        build(tmp_path, site_schedule=make_schedule().drop(columns=["finish_date"]))


def test_codes_read_from_csv_as_numbers_keep_their_zeros(tmp_path: Path) -> None:
    province = summarise(make_villages(), by="province")
    province["province_code"] = province["province_code"].astype(int)  # "08" → 8
    commune = summarise(make_villages(), by="commune")
    commune["commune_code"] = commune["commune_code"].astype(int)
    text = build(tmp_path, summary_by_province=province, summary_by_commune=commune).read_text(
        encoding="utf-8"
    )
    assert '<tr data-province="08">' in text
    assert '<tr data-commune="02263">' in text


# --------------------------------------------------------------------------- in Chromium


@pytest.mark.browser
def test_renders_offline_with_no_console_messages(tmp_path: Path) -> None:
    page = build(tmp_path)
    dom, console = dump_dom_and_console(page)
    assert console == []  # no error, no blocked load, no policy violation
    assert "<script" not in dom.lower()
    assert len(elements_by_class(dom, "card")) >= 10
    png = screenshot(page, tmp_path / "report.png", window=(1100, 3000))
    image = read_png(png)
    assert image.shape[:2] == (3000, 1100)
    pdf = print_to_pdf(page, tmp_path / "report.pdf")
    assert pdf.read_bytes().startswith(b"%PDF")
    assert pdf_page_count(pdf) >= 2  # A4: the Gantt chart starts a page


@pytest.mark.browser
def test_headline_numbers_equal_counts_from_the_inputs(tmp_path: Path) -> None:
    dom = dump_dom(build(tmp_path))
    got = cards(dom)
    villages = make_villages()
    groups = villages["group"].tolist()
    pops = villages["population"].tolist()
    schedule = make_schedule()
    powered = schedule[schedule["group"] == "low_signal_powered"]
    expected = {
        "villages_assessed": len(VILLAGES),
        "low_signal_powered": groups.count("low_signal_powered"),
        "low_signal_unpowered": groups.count("low_signal_unpowered"),
        "covered": groups.count("covered"),
        "population_assessed": sum(pops),
        "population_low_signal": sum(
            p for p, g in zip(pops, groups, strict=True) if g != "covered"
        ),
        "sites_planned": len(SITES),
        "sites_new": sum(1 for s in SITES if s[2] == "new"),
        "sites_upgrade": sum(1 for s in SITES if s[2] == "upgrade"),
        "capex_vnd": sum(s[5] for s in SITES),
        "sites_late": int((schedule["late_days"] > 0).sum()),
        "last_finish_date": max(schedule["finish_date"]),
        "on_air_by_target_low_signal_powered": sum(
            1 for d in powered["on_air_date"] if dt.date.fromisoformat(d) <= ON_AIR_TARGET
        ),
    }
    assert {k: got[k] for k in expected} == {k: str(v) for k, v in expected.items()}
    # by hand: 3 + 2 + 4 = 9 villages; 430 + 250 + 180 = 860 and 615 + 95 = 710 low signal
    assert got["population_low_signal"] == str(860 + 710)
    assert got["on_air_by_target_low_signal_powered"] == "2"  # N1 8 Sep, 5th site 9 Sep

    # schedule outcome per deadline
    rows = {
        str(r["attrs"]["data-group"]): r  # type: ignore[index]
        for r in elements_by_class(dom, "ok") + elements_by_class(dom, "bad")
        if r["tag"] == "tr"
    }
    table = {
        group: dict(re.findall(r'data-key="(\w+)">([^<]*)<', str(row["html"])))
        for group, row in rows.items()
    }
    assert table["low_signal_powered"]["sites"] == "3"
    assert table["low_signal_powered"]["on_time"] == "2"
    assert table["low_signal_powered"]["late"] == "1"
    assert table["low_signal_powered"]["last_finish"] == "2025-09-06"
    assert table["low_signal_powered"]["on_air_by_target"] == "2 of 3"
    assert table["low_signal_unpowered"]["late"] == "0"
    assert table["low_signal_unpowered"]["last_on_air"] == "2025-12-08"


@pytest.mark.browser
def test_gantt_has_one_row_per_site_and_a_bar_per_task(tmp_path: Path) -> None:
    dom = dump_dom(build(tmp_path))
    rows = elements_by_class(dom, "gantt-row")
    assert len(rows) == len(SCHEDULE)
    sites = [str(r["attrs"]["data-site"]) for r in rows]  # type: ignore[index]
    assert sorted(sites) == sorted(s[0] for s in SCHEDULE)  # the hostile id, literally
    # powered group first (by finish: N1 29 Aug, hostile 30 Aug, N3 6 Sep), then N2
    assert sites == ["N1", HOSTILE_SITE, "N3", "N2"]
    bars = sum(len(re.findall(r"<rect [^>]*fill=", str(r["html"]))) for r in rows)
    assert bars == len(make_tasks())
    late = [str(r["attrs"]["data-site"]) for r in rows if "late" in str(r["attrs"]["class"])]  # type: ignore[index]
    assert late == ["N3"]
    # deadline and on-air target lines are drawn and labelled
    labels = text_of(dom, "mark-label")
    assert "deadline 31 Aug (with power)" in labels
    assert "on-air target 14 Sep (with power)" in labels
    assert "deadline 30 Nov (without power)" in labels


@pytest.mark.browser
def test_hostile_names_show_literally_and_run_nothing(tmp_path: Path) -> None:
    page = build(tmp_path)
    # the shipped page's policy would block the test hooks: test a copy without it (the
    # escaping alone must keep the names inert)
    text = page.read_text(encoding="utf-8")
    bare = tmp_path / "bare.html"
    bare.write_text(re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", text))
    dom = dump_dom(instrumented_copy(bare, tmp_path))
    root = element_attrs(dom, "html")
    assert root["data-test-alerts"] == "0", root.get("data-test-last-alert")
    assert json.loads(root["data-test-errors"]) == []
    title = re.search(r"<title>(.*?)</title>", dom)
    assert title is not None and title.group(1) == "Kế hoạch &lt;b&gt;2025&lt;/b&gt; {{ 6*7 }}"
    # the province and commune names are text in the tables and the chart
    provinces = elements_by_class(dom, "provinces")[0]
    assert HOSTILE_PROVINCE in str(provinces["text"])
    communes = elements_by_class(dom, "communes")[0]
    assert HOSTILE_COMMUNE in str(communes["text"])
    assert "{{ 7*7 }}" in str(provinces["text"]) and "49" not in str(provinces["text"])
    bars = text_of(dom, "bar")  # the bar's title holds the full label
    assert f"{HOSTILE_PROVINCE} (11): 1 with power, 0 without" in bars
    # no element came from the data (the one script is the test's guard)
    assert not re.search(r"<img|<textarea", dom, re.IGNORECASE)
    assert len(re.findall(r"<script", dom, re.IGNORECASE)) == 1
    run = elements_by_class(dom, "run")[0]
    assert "test <scenario>" in str(run["text"])


@pytest.mark.browser
def test_tables_and_bars_match_the_villages(tmp_path: Path) -> None:
    dom = dump_dom(build(tmp_path))
    villages = make_villages()
    gaps = villages[villages["group"] != "covered"]
    # communes: only those with gaps, by province then commune code
    commune_rows = re.findall(r'<tr data-commune="(\d+)">', dom)
    pairs = sorted(set(zip(gaps["province_code"], gaps["commune_code"], strict=True)))
    assert commune_rows == [c for _, c in pairs]  # 02263 02266 (08), 03158 (11), 02650 (15)
    # bars: one per province with gaps, the counts of the villages
    bars = {
        str(b["attrs"]["data-province"]): (  # type: ignore[index]
            int(str(b["attrs"]["data-powered"])),  # type: ignore[index]
            int(str(b["attrs"]["data-unpowered"])),  # type: ignore[index]
        )
        for b in elements_by_class(dom, "bar")
    }
    expected = {
        code: (
            int((part["group"] == "low_signal_powered").sum()),
            int((part["group"] == "low_signal_unpowered").sum()),
        )
        for code, part in gaps.groupby("province_code")
    }
    assert bars == expected  # {"08": (1, 1), "11": (1, 0), "15": (1, 1)}
    # on-air curves end at each group's site count
    finals = dict(re.findall(r'data-series="(\w+)" data-final="(\d+)"', dom))
    assert finals == {"low_signal_powered": "3", "low_signal_unpowered": "1", "all": "4"}


@pytest.mark.browser
def test_without_a_schedule_the_report_says_so(tmp_path: Path) -> None:
    page = build(tmp_path, site_schedule=None, tasks=None)
    dom, console = dump_dom_and_console(page)
    assert console == []
    assert elements_by_class(dom, "gantt-row") == []
    assert "sites_late" not in cards(dom)
    notes = text_of(dom, "missing")
    assert "No schedule: the schedule stage was not run" in notes
    assert "no Gantt chart" in notes
    # and without sites either
    page = build(tmp_path, "nosites.html", sites=None, site_schedule=None, tasks=None)
    dom = dump_dom(page)
    assert "No sites table: the sites stage was not run." in text_of(dom, "missing")
    assert cards(dom)["villages_assessed"] == str(len(VILLAGES))


@pytest.mark.browser
def test_gantt_page_of_the_schedule_stage(tmp_path: Path) -> None:
    page = build_gantt(
        make_schedule(), make_tasks(), title="Schedule <v2>", out_path=tmp_path / "gantt.html"
    )
    dom, console = dump_dom_and_console(page)
    assert console == []
    rows = elements_by_class(dom, "gantt-row")
    assert [str(r["attrs"]["data-site"]) for r in rows] == ["N1", HOSTILE_SITE, "N3", "N2"]  # type: ignore[index]
    late = re.findall(r'<tr data-group="(\w+)" class="bad">', dom)
    assert late == ["low_signal_powered"]
    again = build_gantt(
        make_schedule(), make_tasks(), title="Schedule <v2>", out_path=tmp_path / "g2.html"
    )
    assert page.read_bytes() == again.read_bytes()


def _late_explanation() -> dict[str, object]:
    """A real ``infeasibility.json`` document: two sites due Sat 16 Aug behind one civil
    unit; the scheduler finds one late and proves +1 civil the least that fixes it."""
    sites = two_solar_sites("2025-08-16")
    crews = tuple(Crew(f"viettel-{k}", "Viettel", "Northwest", k, 1) for k in CREW_KINDS)
    result = plan_builds(sites, ScheduleSettings(travel=False, crews=crews))
    assert result.explanation is not None
    return result.explanation.to_dict()


def test_what_would_meet_the_deadlines_is_in_the_report_and_the_gantt_page(
    tmp_path: Path,
) -> None:
    doc = _late_explanation()
    text = build(tmp_path, late_explanation=doc).read_text(encoding="utf-8")
    section = re.search(r'<div id="late-explanation">.*?</div>', text, re.DOTALL)
    assert section is not None
    body = section.group(0)
    assert 'data-status="OPTIMAL"' in body
    # the console's summary lists the units per pool; the page leads with the headline
    # and leaves the list to the table
    assert doc["summary"] == (
        "Least extra crews to meet every deadline (proven least): 1 unit: "
        "+1 civil (Viettel, Northwest)."
    )
    lead = re.search(r'<p data-key="status"[^>]*>(.*?)</p>', body)
    assert lead is not None
    assert lead.group(1) == "Least extra crews to meet every deadline (proven least): 1 unit."
    crew_rows = re.findall(r'<td class="n" data-key="extra_units">\+(\d+)</td>', body)
    assert crew_rows == ["1"]
    late_rows = re.search(r'<table class="late-sites">.*?<tbody>(.*?)</tbody>', body, re.DOTALL)
    assert late_rows is not None and late_rows.group(1).count("<tr>") == 1
    assert "crew capacity: Viettel crews in Northwest are fully booked" in late_rows.group(1)
    # inside the schedule section, and on the schedule's own page too
    schedule = re.search(r'<section id="schedule">.*?</section>', text, re.DOTALL)
    assert schedule is not None and 'id="late-explanation"' in schedule.group(0)
    gantt = build_gantt(
        make_schedule(),
        make_tasks(),
        title="Schedule",
        out_path=tmp_path / "gantt.html",
        late_explanation=doc,
    ).read_text(encoding="utf-8")
    assert body in gantt
    # no late sites, no section
    assert 'id="late-explanation"' not in build(tmp_path, "plain.html").read_text(encoding="utf-8")


def test_what_would_meet_the_deadlines_escapes_its_text(tmp_path: Path) -> None:
    doc = {
        "status": "FEASIBLE",
        "summary": f"Least extra crews {HOSTILE_PROVINCE}",
        "extra_crews": [
            {
                "operator": "Viettel",
                "region": HOSTILE_COMMUNE,
                "kind": "civil",
                "crew_id": HOSTILE_SITE,
                "units": 2,
                "extra_units": 3,
            }
        ],
        "late_sites": [
            {
                "site_id": HOSTILE_SITE,
                "operator": "Viettel",
                "region": "Northwest",
                "group": "low_signal_powered",
                "deadline": "2025-08-31",
                "finish_date": "2025-09-03",
                "late_days": 3,
                "reasons": ["power date <b>late</b>", "travel"],
            }
        ],
    }
    text = build(tmp_path, late_explanation=doc).read_text(encoding="utf-8")
    section = re.search(r'<div id="late-explanation">.*?</div>', text, re.DOTALL)
    assert section is not None
    body = section.group(0)
    assert "<script" not in body and "<img" not in body and "<b>" not in body
    assert html.escape(HOSTILE_SITE) in body and html.escape(HOSTILE_COMMUNE) in body
    assert html.escape("power date <b>late</b>; travel") in body


@pytest.mark.parametrize(
    ("doc", "problem"),
    [
        ([], "not a JSON object"),
        ({"extra_crews": {}}, '"extra_crews" must be a list of objects'),
        ({"late_sites": [1]}, '"late_sites" must be a list of objects'),
        ({"late_sites": [{"late_days": True}]}, '"late_sites"[0].late_days must be a number'),
        ({"late_sites": [{"reasons": "travel"}]}, '"late_sites" reasons must be lists'),
        ({"headline": ["x"]}, '"headline" must be a string'),
        ({"summary": 3}, '"summary" must be a string'),
        ({"summary": "ok", "extra_crews": [{"units": 2, "extra_units": 1.0}]}, None),
    ],
)
def test_a_read_back_explanation_is_checked(doc: object, problem: str | None) -> None:
    got = late_explanation_problem(doc)
    assert got == problem if problem is None else (got or "").startswith(problem)


def test_what_would_meet_the_deadlines_when_a_part_has_no_answer(tmp_path: Path) -> None:
    # NOT_FOUND: the lead names the part no count fixed; the table holds the other parts.
    doc = {
        "status": "NOT_FOUND",
        "headline": "No plan found that puts every site on time in MobiFone / Northwest.",
        "summary": "No plan found … Elsewhere: +1 civil (Viettel, Northwest).",
        "extra_crews": [
            {
                "operator": "Viettel",
                "region": "Northwest",
                "kind": "civil",
                "crew_id": "viettel-civil",
                "units": 1,
                "extra_units": 1,
            }
        ],
    }
    text = build(tmp_path, late_explanation=doc).read_text(encoding="utf-8")
    section = re.search(r'<div id="late-explanation">.*?</div>', text, re.DOTALL)
    assert section is not None
    body = section.group(0)
    assert (
        '<p data-key="status" data-status="NOT_FOUND">No plan found that puts every site on '
        "time in MobiFone / Northwest.</p>"
        '<p class="note">In the other parts, these extra units put every site on time:</p>'
        '<table class="extra-crews">'
    ) in body
