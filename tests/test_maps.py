"""Offline Folium maps, checked in a real headless Chromium (tests/browser.py).

The test data are small hand-made GeoDataFrames in the shapes the pipeline hands to
``build_map``; every expected count below is counted by hand from them.
"""

from __future__ import annotations

import html
import json
import math
import re
import tomllib
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from browser import (
    colour_pixels,
    dump_dom,
    dump_dom_and_console,
    element_attrs,
    elements_by_class,
    instrumented_copy,
    read_png,
    screenshot,
)
from pyproj import Transformer
from shapely.geometry import LineString, MultiPolygon, Point, Polygon

from covgap.coverage_grid import CoverageGrid, GridSettings, coverage_grid
from covgap.errors import InputFileError, ScenarioError, SchemaError, UsageError
from covgap.io import load_boundaries
from covgap.maps import (
    MapSettings,
    build_map,
    build_maps,
    build_province_maps,
    load_communes,
    render_map_html,
)
from covgap.tomlbind import bind

HOSTILE = (
    "<script>alert(1)</script>${alert(1)}</textarea>{{x}}{{ 7*7 }}<img src=x onerror=alert(2)>"
)
HOSTILE_TITLE = "plan <img src=x onerror=alert(3)> {{ 6*7 }}"
HOSTILE_CREDIT = "© ODV </style><script>alert(4)</script> & co {% if 1 %}jinja{% endif %}"

# (village_id, name, group, lon, lat, best_operator, rsrp_dbm, margin_db, population)
VILLAGES = [
    ("V01", "Bản Nà Hang", "covered", 105.80, 21.00, "Viettel", -95.0, 15.0, 820),
    ("V02", "Thôn Khuổi Phầy", "covered", 105.62, 21.30, "VNPT", -101.5, 8.5, 430),
    ("V03", "Bản Pác Nặm", "covered", 105.95, 21.45, "MobiFone", -104.2, 5.8, 615),
    ("V04", "Làng Mới", "covered", 105.40, 21.10, "Viettel", -99.9, 10.1, 300),
    ("V05", HOSTILE, "low_signal_powered", 105.70, 21.20, "Viettel", -118.26, -8.26, 1234),
    ("V06", "Bản Mù Cả", "low_signal_powered", 105.55, 21.55, "VNPT", -121.0, -11.0, 250),
    ("V07", "Xóm Đồi", "low_signal_powered", 106.05, 21.05, None, np.nan, np.nan, 95),
    ("V08", "Bản Sà Phìn", "low_signal_unpowered", 105.30, 21.60, "MobiFone", -126.4, -16.4, 180),
    ("V09", "Thôn Tả Van", "low_signal_unpowered", 106.10, 21.35, None, np.nan, np.nan, 75),
]
N_COVERED, N_POWERED, N_UNPOWERED = 4, 3, 2

# towers: two sectors of site A (Viettel) are drawn once; VNPT has 2 sites, Vietnamobile 1
TOWERS = [
    ("T1", "A", "Viettel", "4G", 105.75, 21.05),
    ("T2", "A", "Viettel", "4G", 105.75, 21.05),
    ("T3", "B", "Viettel", "5G", 105.50, 21.40),
    ("T4", "C", "VNPT", "4G", 105.65, 21.25),
    ("T5", "D", "VNPT", "3G", 105.90, 21.50),
    ("T6", "E", "Vietnamobile", "4G", 106.00, 21.15),
]
EXPECTED_LAYERS = [
    "Villages: covered",
    "Villages: low signal, with power",
    "Villages: low signal, without power",
    "Towers: Viettel",
    "Towers: VNPT",
    "Towers: Vietnamobile",
    "Planned sites",
    "Provinces",
]


def make_villages() -> gpd.GeoDataFrame:
    rows = []
    for vid, name, group, lon, lat, op, rsrp, margin, pop in VILLAGES:
        powered = group != "low_signal_unpowered"
        rows.append(
            {
                "village_id": vid,
                "name": name,
                "province_code": "08",
                "province": "Tuyên Quang",
                "commune_code": "02263",
                "commune": "Xã Nà Hang",
                "population": pop,
                "households": pd.NA,
                "electrified": powered,
                "power_eta": pd.NaT if powered else pd.Timestamp("2025-10-20"),
                "assigned_operator": None,
                "measured_rsrp_dbm": np.nan,
                "measured_operator": None,
                "clutter": "open_rural",
                "source_row": int(vid[1:]),
                "group": group,
                "best_operator": op,
                "best_tower_id": "T1" if op else None,
                "best_rsrp_dbm": rsrp,
                "margin_db": margin,
                "rsrp_source": "predicted" if op else None,
                "geometry": Point(lon, lat),
            }
        )
    gdf = gpd.GeoDataFrame(rows, geometry="geometry", crs="EPSG:4326")
    gdf["households"] = gdf["households"].astype("Int64")
    gdf["power_eta"] = gdf["power_eta"].astype("datetime64[s]")
    return gdf


def make_towers() -> gpd.GeoDataFrame:
    rows = [
        {
            "tower_id": tid,
            "site_id": sid,
            "operator": op,
            "technology": tech,
            "frequency_mhz": 1800.0,
            "bandwidth_mhz": 10.0,
            "height_m": 30.0,
            "eirp_dbm": 60.0,
            "azimuth_deg": np.nan,
            "beamwidth_deg": np.nan,
            "status": "active",
            "backhaul": "fibre",
            "power": "grid",
            "source_row": k + 1,
            "geometry": Point(lon, lat),
        }
        for k, (tid, sid, op, tech, lon, lat) in enumerate(TOWERS)
    ]
    return gpd.GeoDataFrame(rows, geometry="geometry", crs="EPSG:4326")


def make_sites() -> gpd.GeoDataFrame:
    rows = [
        ("N1", "Viettel", "V05;V06", "low_signal_powered", "2025-08-31", 105.69, 21.21),
        ("N2", "MobiFone", "V08", "low_signal_unpowered", "2025-11-30", 105.31, 21.59),
    ]
    return gpd.GeoDataFrame(
        [
            {
                "site_id": sid,
                "operator": op,
                "kind": "new",
                "technology": "4G",
                "height_m": 36.0,
                "villages_served": served,
                "n_villages": len(served.split(";")),
                "population_served": 1000,
                "group": group,
                "deadline": pd.Timestamp(deadline),
                "power": "grid",
                "power_date": pd.NaT,
                "capex_vnd": 2_150_000_000,
                "province_code": "08",
                "province": "Tuyên Quang",
                "geometry": Point(lon, lat),
            }
            for sid, op, served, group, deadline, lon, lat in rows
        ],
        geometry="geometry",
        crs="EPSG:4326",
    )


def make_schedule() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "site_id": ["N1", "N2"],
            "operator": ["Viettel", "MobiFone"],
            "group": ["low_signal_powered", "low_signal_unpowered"],
            "deadline": ["2025-08-31", "2025-11-30"],
            "finish_date": ["2025-08-29", "2025-11-28"],
            "on_air_date": ["2025-09-08", "2025-12-08"],
            "late_days": [0, 0],
        }
    )


def make_boundaries() -> gpd.GeoDataFrame:
    square = Polygon([(105.0, 20.8), (106.4, 20.8), (106.4, 21.8), (105.0, 21.8)])
    return gpd.GeoDataFrame(
        {"province_code": ["08"], "province_name": ["Tuyên Quang"]},
        geometry=[MultiPolygon([square])],
        crs="EPSG:4326",
    )


def build(tmp_path: Path, name: str = "map.html", **kwargs: object) -> Path:
    args: dict[str, object] = {
        "sites": make_sites(),
        "site_schedule": make_schedule(),
        "boundaries": make_boundaries(),
        "boundaries_credit": HOSTILE_CREDIT,
        "title": HOSTILE_TITLE,
    }
    args.update(kwargs)
    return build_map(make_villages(), make_towers(), out_path=tmp_path / name, **args)  # type: ignore[arg-type]


def body_data(dom: str) -> dict[str, str]:
    return element_attrs(dom, "body")


def layer_control_names(dom: str) -> list[str]:
    labels = elements_by_class(dom, "leaflet-control-layers-overlays")
    assert len(labels) == 1, "no layer control in the page"
    return [m.strip() for m in re.findall(r"<span> ([^<]+)</span>", str(labels[0]["html"]))]


# tail script: once the page says it is ready, hover and click a village like a mouse would
CLICK_JS = """
function whenReady(fn) {
  if (document.body && document.body.dataset.covgapStatus === 'ready') { fn(); }
  else { document.addEventListener('covgap-ready', fn); }
}
whenReady(function () {
  var target = covgap.find('village', %(vid)s);
  var ll = target.getLatLng();
  document.body.dataset.testLatlng = JSON.stringify([ll.lat, ll.lng]);
  var map = covgap.map;
  var p = map.latLngToContainerPoint(ll);
  var r = map.getContainer().getBoundingClientRect();
  var canvas = target._renderer._container;
  var o = {clientX: r.left + p.x, clientY: r.top + p.y, bubbles: true, cancelable: true,
           view: window};
  canvas.dispatchEvent(new MouseEvent('click', o));
  canvas.dispatchEvent(new MouseEvent('mousemove', o));
  document.body.dataset.testClicked = '1';
});
"""


# --------------------------------------------------------------------------- static page


def test_page_is_offline_and_self_contained(tmp_path: Path) -> None:
    text = build(tmp_path).read_text(encoding="utf-8")
    # no external script or stylesheet (an attribution link's text is fine)
    assert not re.search(r"<script[^>]*\bsrc\s*=", text, re.IGNORECASE)
    assert not re.search(r"<link[^>]*\bhref\s*=\s*[\"']?(https?:)?//", text, re.IGNORECASE)
    assert not re.search(r"<(script|link|img|iframe)[^>]*(src|href)\s*=\s*[\"']?https?://", text)
    assert not re.search(r"@import|url\(\s*[\"']?(https?:)?//", text, re.IGNORECASE)
    for cdn in ("cdn.jsdelivr.net", "code.jquery.com", "cdnjs.cloudflare.com", "bootstrapcdn"):
        assert cdn not in text
    assert "Leaflet 1.9.4" in text  # the vendored library is inlined
    # the clustering plug-in is inlined only when a layer is clustered (not at this size)
    assert "L.MarkerClusterGroup=L.FeatureGroup.extend" not in text


def test_same_inputs_give_identical_bytes(tmp_path: Path) -> None:
    a = build(tmp_path, "a.html").read_bytes()
    b = build(tmp_path, "b.html").read_bytes()
    assert a == b
    # folium's random element ids (32 hex digits) are all replaced
    assert not re.search(rb"[0-9a-f]{32}", a)


def test_input_text_never_reaches_a_template(tmp_path: Path) -> None:
    text = build(tmp_path).read_text(encoding="utf-8")
    # {{ 7*7 }} in a name, {{ 6*7 }} in the title and {% if %} in the credit stay as written
    assert "{{ 7*7 }}" in text
    assert "{{ 6*7 }}" in text
    assert "{% if 1 %}jinja{% endif %}" in text
    # title and legend are escaped HTML
    assert "<title>plan &lt;img src=x onerror=alert(3)&gt; {{ 6*7 }}</title>" in text
    assert "<img src=x" not in text


def test_bad_inputs_are_schema_errors(tmp_path: Path) -> None:
    villages = make_villages()
    villages.loc[2, "group"] = "lõm sóng"
    with pytest.raises(SchemaError, match="group"):
        render_map_html(villages, make_towers())
    towers = make_towers()
    towers.loc[0, "operator"] = "Viettel Telecom"
    with pytest.raises(SchemaError, match="operator"):
        render_map_html(make_villages(), towers)
    with pytest.raises(SchemaError, match="village_id"):
        render_map_html(make_villages().drop(columns=["village_id"]), make_towers())


def test_projected_input_is_drawn_in_lonlat(tmp_path: Path) -> None:
    # VN-2000 / UTM zone 48N in, EPSG:4326 on the page: V01 back at lon 105.8, lat 21.0
    villages = make_villages().to_crs("EPSG:3405")
    text = render_map_html(villages, make_towers())
    data = re.search(r'id="covgap-data">(.*?)</script>', text, re.DOTALL)
    assert data is not None
    cols = json.loads(data.group(1))["tables"]["village"]["cols"]
    k = cols["id"].index("V01")
    assert cols["lat"][k] == pytest.approx(21.0, abs=1e-6)
    assert cols["lon"][k] == pytest.approx(105.8, abs=1e-6)


# --------------------------------------------------------------------------- in Chromium


@pytest.mark.browser
def test_browser_renders_every_layer_and_feature(tmp_path: Path) -> None:
    page = build(tmp_path)
    dom = dump_dom(instrumented_copy(page, tmp_path))
    root = element_attrs(dom, "html")
    assert root["data-test-alerts"] == "0", root.get("data-test-last-alert")
    assert json.loads(root["data-test-errors"]) == []
    data = body_data(dom)
    assert data.get("data-covgap-status") == "ready"
    assert layer_control_names(dom) == EXPECTED_LAYERS
    painted = json.loads(data["data-covgap-painted"])
    assert painted == {
        "Villages: covered": N_COVERED,
        "Villages: low signal, with power": N_POWERED,
        "Villages: low signal, without power": N_UNPOWERED,
        "Towers: Viettel": 2,  # sites A and B; A's two sectors are one point
        "Towers: VNPT": 2,
        "Towers: Vietnamobile": 1,
        "Planned sites": 2,
    }
    assert len(elements_by_class(dom, "leaflet-container")) == 1
    legend = elements_by_class(dom, "covgap-legend")[0]
    assert "low signal, with power3" in re.sub(r"\s+", " ", str(legend["text"]))
    # the credit shows literally in the attribution and the legend, and ran nothing
    attribution = elements_by_class(dom, "leaflet-control-attribution")[0]
    assert HOSTILE_CREDIT in str(attribution["text"])
    assert HOSTILE_CREDIT in str(legend["text"])
    assert not elements_by_class(dom, "covgap-note")  # a base layer was given


@pytest.mark.browser
def test_hostile_name_shows_literally_in_popup_and_tooltip(tmp_path: Path) -> None:
    page = build(tmp_path)
    dom = dump_dom(instrumented_copy(page, tmp_path, tail_js=CLICK_JS % {"vid": '"V05"'}))
    root = element_attrs(dom, "html")
    assert root["data-test-alerts"] == "0", root.get("data-test-last-alert")
    assert json.loads(root["data-test-errors"]) == []
    assert body_data(dom).get("data-test-clicked") == "1"

    popups = elements_by_class(dom, "covgap-popup")
    assert len(popups) == 1, "clicking the village opened no popup"
    title = elements_by_class(dom, "covgap-popup-title")[0]
    assert title["text"] == HOSTILE  # exactly the name, shown as text
    inner = str(popups[0]["html"])
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in inner
    assert "<script" not in inner and "<img" not in inner and "<textarea" not in inner
    assert "{{ 7*7 }}" in str(title["text"]) and "49" not in str(title["text"])

    tooltips = elements_by_class(dom, "covgap-tooltip")
    assert len(tooltips) == 1, "hovering the village opened no tooltip"
    assert str(tooltips[0]["text"]).startswith(HOSTILE)
    assert "<script" not in str(tooltips[0]["html"])


@pytest.mark.browser
def test_popup_shows_the_village_facts(tmp_path: Path) -> None:
    page = build(tmp_path)
    dom = dump_dom(instrumented_copy(page, tmp_path, tail_js=CLICK_JS % {"vid": '"V05"'}))
    table = elements_by_class(dom, "covgap-popup")[0]
    rows = dict(re.findall(r"<th>([^<]*)</th><td>([^<]*)</td>", str(table["html"])))
    assert rows["Village ID"] == "V05"
    assert rows["Commune"] == "Xã Nà Hang"
    assert rows["Province"] == "Tuyên Quang"
    assert rows["Population"] == "1,234"
    assert rows["Status"] == "low signal, with power"
    assert rows["Best server"] == "Viettel"
    assert rows["RSRP (dBm)"] == "-118.3"  # -118.26 to 1 decimal
    assert rows["Margin (dB)"] == "-8.3"
    assert rows["Electrified"] == "yes"
    assert rows["Planned site"] == "N1"
    assert rows["On air"] == "2025-09-08"
    # and Leaflet put the marker where the data say: [lat, lon] = [21.2, 105.7]
    assert json.loads(body_data(dom)["data-test-latlng"]) == pytest.approx([21.2, 105.7])


@pytest.mark.browser
def test_lonlat_order_in_the_browser(tmp_path: Path) -> None:
    page = build(tmp_path)
    dom = dump_dom(instrumented_copy(page, tmp_path, tail_js=CLICK_JS % {"vid": '"V01"'}))
    assert json.loads(body_data(dom)["data-test-latlng"]) == pytest.approx([21.0, 105.8])
    rows = dict(
        re.findall(
            r"<th>([^<]*)</th><td>([^<]*)</td>",
            str(elements_by_class(dom, "covgap-popup")[0]["html"]),
        )
    )
    assert rows["Village ID"] == "V01"


@pytest.mark.browser
def test_no_boundaries_says_so_on_the_map(tmp_path: Path) -> None:
    page = build(tmp_path, boundaries=None, boundaries_credit=None, sites=None, site_schedule=None)
    dom = dump_dom(instrumented_copy(page, tmp_path))
    notes = elements_by_class(dom, "covgap-note")
    assert [n["text"] for n in notes] == ["no boundaries file: no base layer"]
    names = layer_control_names(dom)
    assert "Provinces" not in names
    assert names[-1] == "Planned sites"  # stable layer set, empty without sites
    painted = json.loads(body_data(dom)["data-covgap-painted"])
    assert painted["Planned sites"] == 0
    assert sum(painted[n] for n in EXPECTED_LAYERS[:3]) == len(VILLAGES)


@pytest.mark.browser
def test_screenshot_is_not_blank(tmp_path: Path) -> None:
    page = build(tmp_path)
    png = screenshot(page, tmp_path / "map.png")
    image = read_png(png)
    assert image.shape[0] == 800 and image.shape[1] == 1200
    # background: the most common colour; a blank page would be nearly all of it
    flat = image[..., :3].reshape(-1, 3)
    _, counts = np.unique(flat, axis=0, return_counts=True)
    background_share = counts.max() / flat.shape[0]
    assert background_share < 0.9
    # the gap villages are drawn in their colours (fill opacity 0.95: within 24 per channel)
    assert colour_pixels(image, "#E69F00", tolerance=24) >= 3 * 40
    assert colour_pixels(image, "#D55E00", tolerance=24) >= 2 * 40


# tail script: once ready, the boxes of the map's controls (viewport pixels)
BOXES_JS = """
function whenReady(fn) {
  if (document.body && document.body.dataset.covgapStatus === 'ready') { fn(); }
  else { document.addEventListener('covgap-ready', fn); }
}
whenReady(function () {
  var sel = {zoom: '.leaflet-control-zoom', layers: '.leaflet-control-layers',
             scale: '.leaflet-control-scale', attribution: '.leaflet-control-attribution',
             legend: '#covgap-legend', timeline: '.covgap-timeline'};
  var out = {view: [window.innerWidth, window.innerHeight], boxes: {}};
  Object.keys(sel).forEach(function (k) {
    var el = document.querySelector(sel[k]);
    if (el) {
      var r = el.getBoundingClientRect();
      out.boxes[k] = [r.left, r.top, r.right, r.bottom];
    }
  });
  document.body.dataset.testOut = JSON.stringify(out);
});
"""


@pytest.mark.browser
@pytest.mark.parametrize("window", [(1400, 900), (1024, 640)])
def test_controls_do_not_cover_each_other(tmp_path: Path, window: tuple[int, int]) -> None:
    # every box a planner reads at once: long credits (attribution), a long legend
    # (coverage and communes), the slider; on a laptop-sized window too
    page = build(
        tmp_path,
        coverage_raster=make_grid(),
        communes=make_communes(),
        communes_credit="Communes: " + "a long credit line, " * 12,
    )
    dom = dump_dom(instrumented_copy(page, tmp_path, tail_js=BOXES_JS), window=window)
    out = json.loads(body_data(dom)["data-test-out"])
    boxes = out["boxes"]
    assert sorted(boxes) == ["attribution", "layers", "legend", "scale", "timeline", "zoom"]
    width, height = out["view"]
    for name, (left, top, right, bottom) in boxes.items():
        assert 0 <= left < right <= width and 0 <= top < bottom <= height, (name, boxes)
    names = sorted(boxes)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            l1, t1, r1, b1 = boxes[a]
            l2, t2, r2, b2 = boxes[b]
            overlap = min(r1, r2) > max(l1, l2) and min(b1, b2) > max(t1, t2)
            assert not overlap, f"{a} {boxes[a]} overlaps {b} {boxes[b]}"


@pytest.mark.browser
def test_large_layers_are_clustered(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    n = 40
    lon = rng.uniform(105.0, 106.3, n)
    lat = rng.uniform(20.9, 21.7, n)
    towers = gpd.GeoDataFrame(
        {
            "tower_id": [f"X{i}" for i in range(n)],
            "site_id": [f"X{i}" for i in range(n)],
            "operator": "MobiFone",
            "technology": "4G",
            "height_m": 25.0,
            "status": "active",
        },
        geometry=[Point(x, y) for x, y in zip(lon, lat, strict=True)],
        crs="EPSG:4326",
    )
    page = build_map(make_villages(), towers, out_path=tmp_path / "c.html", cluster_threshold=10)
    text = page.read_text(encoding="utf-8")
    assert "L.MarkerClusterGroup=L.FeatureGroup.extend" in text  # vendored plug-in inlined
    dom = dump_dom(instrumented_copy(page, tmp_path))
    root = element_attrs(dom, "html")
    assert json.loads(root["data-test-errors"]) == []
    data = body_data(dom)
    painted = json.loads(data["data-covgap-painted"])
    icons, inside = json.loads(data["data-covgap-clusters"])["Towers: MobiFone"]
    assert icons >= 1
    assert painted["Towers: MobiFone"] + inside == n  # every tower: alone or in a cluster
    assert painted["Villages: covered"] == N_COVERED  # villages are never clustered


@pytest.mark.browser
def test_empty_inputs_give_an_empty_map_with_the_same_layers(tmp_path: Path) -> None:
    villages = make_villages().iloc[0:0]
    towers = make_towers().iloc[0:0]
    page = build_map(villages, towers, sites=make_sites().iloc[0:0], out_path=tmp_path / "e.html")
    dom = dump_dom(instrumented_copy(page, tmp_path))
    assert json.loads(element_attrs(dom, "html")["data-test-errors"]) == []
    data = body_data(dom)
    assert data.get("data-covgap-status") == "ready"
    assert layer_control_names(dom) == [*EXPECTED_LAYERS[:3], "Planned sites"]
    assert set(json.loads(data["data-covgap-painted"]).values()) == {0}
    legend = re.sub(r"\s+", " ", str(elements_by_class(dom, "covgap-legend")[0]["text"]))
    assert "covered0" in legend and "none given" in legend and "none planned" in legend


def test_schedule_read_from_csv_with_blank_dates(tmp_path: Path) -> None:
    # sites_schedule.csv read with keep_default_na=False: blanks are "", numbers are text
    schedule = make_schedule().astype(str)
    schedule.loc[1, ["finish_date", "on_air_date", "late_days"]] = ""
    text = render_map_html(make_villages(), make_towers(), make_sites(), site_schedule=schedule)
    data = re.search(r'id="covgap-data">(.*?)</script>', text, re.DOTALL)
    assert data is not None
    cols = json.loads(data.group(1))["tables"]["site"]["cols"]
    assert cols["id"] == ["N1", "N2"]
    assert cols["onair"] == ["2025-09-08", None]
    assert cols["late"] == [0, None]


# --------------------------------------------------------------------------- links, kinds, time


def make_sites_with_upgrade() -> gpd.GeoDataFrame:
    """``make_sites`` plus N3, an upgrade of VNPT's tower site C (a different kind)."""
    sites = make_sites()
    extra = sites.iloc[[0]].copy()
    extra["site_id"] = "N3"
    extra["operator"] = "VNPT"
    extra["kind"] = "upgrade"
    extra["villages_served"] = "V07"
    extra["n_villages"] = 1
    extra["geometry"] = [Point(105.65, 21.25)]
    return gpd.GeoDataFrame(pd.concat([sites, extra], ignore_index=True), crs="EPSG:4326")


def make_schedule_3() -> pd.DataFrame:
    # on air: N1 Mon 2025-09-08 (week 0 = 8–14 Sep), N3 Sat 2025-09-20 (week 1 = 15–21 Sep),
    # N2 Mon 2025-12-08: (8 Dec − 8 Sep) = 91 days = 13 weeks later → week 13 of 0..13
    return pd.DataFrame(
        {
            "site_id": ["N1", "N2", "N3"],
            "operator": ["Viettel", "MobiFone", "VNPT"],
            "group": ["low_signal_powered", "low_signal_unpowered", "low_signal_powered"],
            "deadline": ["2025-08-31", "2025-11-30", "2025-08-31"],
            "finish_date": ["2025-08-29", "2025-11-28", "2025-09-10"],
            "on_air_date": ["2025-09-08", "2025-12-08", "2025-09-20"],
            "late_days": [0, 0, 10],
        }
    )


def make_links() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "site_id": ["N1", "N2", "N3"],
            "operator": ["Viettel", "MobiFone", "VNPT"],
            "kind": ["fibre", "microwave", "satellite"],
            "length_m": [18_250.0, 27_400.0, 35_786_000.0],
        },
        geometry=[
            LineString([(105.69, 21.21), (105.72, 21.12), (105.75, 21.05)]),
            LineString([(105.31, 21.59), (105.50, 21.40)]),
            LineString([(105.65, 21.25), (105.66, 21.26)]),
        ],
        crs="EPSG:4326",
    )


WEEKS_JS = """
function whenReady(fn) {
  if (document.body && document.body.dataset.covgapStatus === 'ready') { fn(); }
  else { document.addEventListener('covgap-ready', fn); }
}
whenReady(function () {
  var steps = %(steps)s, snaps = [];
  function step(k) {
    if (k >= steps.length) { document.body.dataset.testSnaps = JSON.stringify(snaps); return; }
    covgap.setWeek(steps[k]);
    setTimeout(function () {
      covgap.report();
      var label = document.querySelector('.covgap-timeline-label');
      snaps.push({week: document.body.dataset.covgapWeek,
                  onair: Number(document.body.dataset.covgapOnair),
                  painted: JSON.parse(document.body.dataset.covgapPainted),
                  label: label ? label.textContent : null});
      step(k + 1);
    }, 400);
  }
  step(0);
});
"""


def test_links_kinds_and_timeline_in_the_payload(tmp_path: Path) -> None:
    text = render_map_html(
        make_villages(),
        make_towers(),
        make_sites_with_upgrade(),
        links=make_links(),
        site_schedule=make_schedule_3(),
    )
    data = re.search(r'id="covgap-data">(.*?)</script>', text, re.DOTALL)
    assert data is not None
    cfg = json.loads(data.group(1))
    # weeks: Sundays from 14 Sep (week of 8 Sep) to 14 Dec (week of 8 Dec): 14 of them
    weeks = cfg["timeline"]["weeks"]
    assert (weeks[0], weeks[1], weeks[-1], len(weeks)) == (
        "2025-09-14",
        "2025-09-21",
        "2025-12-14",
        14,
    )
    site_cols = cfg["tables"]["site"]["cols"]
    assert site_cols["id"] == ["N1", "N2", "N3"]
    assert site_cols["wk"] == [0, 13, 1]
    assert site_cols["shape"] == ["diamond", "diamond", "triangle"]
    links = cfg["tables"]["link"]
    assert links["n"] == 3
    assert links["cols"]["start"] == [0, 3, 5, 7]  # 3 + 2 + 2 points
    assert links["cols"]["srow"] == [0, 1, 2]
    assert links["cols"]["km"] == [18.25, 27.4, 35786.0]
    # the legend splits planned sites by kind and lists links by kind
    legend = re.search(r'<div class="covgap-legend".*?</div></div>', text, re.DOTALL)
    assert legend is not None
    plain = re.sub(r"<[^>]+>", "", legend.group(0))
    assert "by kind (shape)new2upgrade1" in plain
    assert "Backhaul linksfibre1microwave1satellite1" in plain


@pytest.mark.browser
def test_links_layer_and_site_kinds_in_the_browser(tmp_path: Path) -> None:
    page = build(
        tmp_path,
        sites=make_sites_with_upgrade(),
        site_schedule=make_schedule_3(),
        links=make_links(),
    )
    dom = dump_dom(instrumented_copy(page, tmp_path))
    root = element_attrs(dom, "html")
    assert json.loads(root["data-test-errors"]) == []
    assert root["data-test-alerts"] == "0"
    names = layer_control_names(dom)
    assert names == [*EXPECTED_LAYERS[:6], "Backhaul links", "Planned sites", "Provinces"]
    painted = json.loads(body_data(dom)["data-covgap-painted"])
    assert painted["Backhaul links"] == 3
    assert painted["Planned sites"] == 3
    assert body_data(dom)["data-covgap-week"] == "all"
    labels = elements_by_class(dom, "covgap-timeline-label")
    assert [x["text"] for x in labels] == ["All planned sites: 3"]
    screenshot(page, tmp_path / "links.png")


@pytest.mark.browser
def test_time_slider_shows_sites_week_by_week(tmp_path: Path) -> None:
    page = build(
        tmp_path,
        sites=make_sites_with_upgrade(),
        site_schedule=make_schedule_3(),
        links=make_links(),
    )
    tail = WEEKS_JS % {"steps": "[0, 1, 12, 13, null, 99]"}
    dom = dump_dom(instrumented_copy(page, tmp_path, tail_js=tail), budget_ms=12000)
    root = element_attrs(dom, "html")
    assert json.loads(root["data-test-errors"]) == []
    snaps = json.loads(body_data(dom)["data-test-snaps"])
    got = [(s["week"], s["onair"], s["painted"]["Planned sites"]) for s in snaps]
    # week 0: N1; week 1: + N3; week 12: still 2; week 13: + N2; all: 3; 99 → last week (13)
    assert got == [
        ("0", 1, 1),
        ("1", 2, 2),
        ("12", 2, 2),
        ("13", 3, 3),
        ("all", 3, 3),
        ("13", 3, 3),
    ]
    # a site's links come and go with it
    assert [s["painted"]["Backhaul links"] for s in snaps] == [1, 2, 2, 3, 3, 3]
    # villages are not filtered by the slider
    assert {s["painted"]["Villages: covered"] for s in snaps} == {N_COVERED}
    assert snaps[0]["label"] == "Week 1 of 14, to Sun 2025-09-14: 1 of 3 sites on air"
    assert snaps[4]["label"] == "All planned sites: 3"
    # the address can ask for a week too; keep a screenshot of week 1 as an artefact
    dom = dump_dom(instrumented_copy(page, tmp_path), fragment="week=1")
    assert body_data(dom)["data-covgap-onair"] == "2"
    assert json.loads(body_data(dom)["data-covgap-painted"])["Planned sites"] == 2
    screenshot(instrumented_copy(page, tmp_path), tmp_path / "week1.png", fragment="week=1")


def test_no_schedule_no_slider(tmp_path: Path) -> None:
    text = render_map_html(make_villages(), make_towers(), make_sites())
    data = re.search(r'id="covgap-data">(.*?)</script>', text, re.DOTALL)
    assert data is not None
    assert json.loads(data.group(1))["timeline"] is None


def test_bad_links_are_schema_errors() -> None:
    links = make_links()
    links.loc[1, "operator"] = "EVN Telecom"
    with pytest.raises(SchemaError, match="EVN Telecom"):
        render_map_html(make_villages(), make_towers(), make_sites(), links=links)
    links = make_links().set_geometry([Point(105.0, 21.0)] * 3)
    with pytest.raises(SchemaError, match="LineString"):
        render_map_html(make_villages(), make_towers(), make_sites(), links=links)


# --------------------------------------------------------------------------- province maps

# province 15 (Lào Cai): a square north-west of 08's; province 11: only covered villages
SQUARE_15 = Polygon([(103.5, 22.0), (104.6, 22.0), (104.6, 22.9), (103.5, 22.9)])
SQUARE_11 = Polygon([(102.5, 21.0), (103.3, 21.0), (103.3, 21.8), (102.5, 21.8)])


def two_province_inputs() -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame]:
    villages = make_villages()
    extra = villages.iloc[[0, 5, 1]].copy()  # one covered, one gap (15); one covered (11)
    extra["village_id"] = ["L01", "L02", "D01"]
    extra["name"] = ["Bản Lào", "Bản Sín", "Bản Điện"]
    extra["province_code"] = ["15", "15", "11"]
    extra["province"] = ["Lào Cai", "Lào Cai", "Điện Biên"]
    extra["geometry"] = [Point(104.0, 22.5), Point(104.2, 22.3), Point(103.0, 21.4)]
    villages = gpd.GeoDataFrame(pd.concat([villages, extra], ignore_index=True), crs="EPSG:4326")
    towers = make_towers()
    more = towers.iloc[[0, 3]].copy()
    # F in Lào Cai (outside 08's box + 20 km); G 10 km west of 08's box (inside the margin)
    more["tower_id"] = ["T7", "T8"]
    more["site_id"] = ["F", "G"]
    more["geometry"] = [Point(104.5, 22.6), Point(104.9, 21.0)]
    towers = gpd.GeoDataFrame(pd.concat([towers, more], ignore_index=True), crs="EPSG:4326")
    boundaries = gpd.GeoDataFrame(
        {
            "province_code": ["08", "15", "11"],
            "province_name": ["Tuyên Quang", "Lào Cai", "Điện Biên"],
        },
        geometry=[
            MultiPolygon([make_boundaries().geometry.iloc[0].geoms[0]]),
            MultiPolygon([SQUARE_15]),
            MultiPolygon([SQUARE_11]),
        ],
        crs="EPSG:4326",
    )
    return villages, towers, boundaries


def test_province_view_keeps_the_province_and_nearby_towers(tmp_path: Path) -> None:
    villages, towers, boundaries = two_province_inputs()
    text = render_map_html(
        villages,
        towers,
        make_sites(),
        links=make_links(),  # N3's link lies in the view but N3 is no site of the map
        boundaries=boundaries,
        province_code="8",  # "8" and "08" are the same province
    )
    data = re.search(r'id="covgap-data">(.*?)</script>', text, re.DOTALL)
    assert data is not None
    cfg = json.loads(data.group(1))
    link_sites = cfg["tables"]["link"]["cols"]["site"]
    assert sorted(link_sites) == sorted(cfg["tables"]["site"]["cols"]["id"]) == ["N1", "N2"]
    assert cfg["tables"]["village"]["cols"]["id"] == [v[0] for v in VILLAGES]
    assert sorted(cfg["tables"]["tower"]["cols"]["id"]) == ["A", "B", "C", "D", "E", "G"]
    # zoom to province 08's square [[south, west], [north, east]]
    assert cfg["fit"] == [[20.8, 105.0], [21.8, 106.4]]
    assert cfg["boundaries"]["focus"] == "08"
    codes = [f["properties"]["province_code"] for f in cfg["boundaries"]["data"]["features"]]
    assert codes == ["08"]  # 15 and 11 are farther than 20 km from 08's box
    with pytest.raises(SchemaError, match="'99'"):
        render_map_html(villages, towers, province_code="99")


@pytest.mark.browser
def test_province_maps_show_only_their_villages(tmp_path: Path) -> None:
    villages, towers, boundaries = two_province_inputs()
    paths = build_province_maps(
        villages,
        towers,
        make_sites(),
        site_schedule=make_schedule(),
        boundaries=boundaries,
        boundaries_credit="test squares",
        title="plan",
        out_dir=tmp_path / "maps",
    )
    # 08 and 15 have gap villages; 11 has only a covered one
    assert [p.name for p in paths] == ["province_08.html", "province_15.html"]
    dom = dump_dom(instrumented_copy(paths[1], tmp_path))
    assert json.loads(element_attrs(dom, "html")["data-test-errors"]) == []
    painted = json.loads(body_data(dom)["data-covgap-painted"])
    assert painted["Villages: covered"] == 1  # L01
    assert painted["Villages: low signal, with power"] == 1  # L02 (a copy of V06)
    assert painted["Villages: low signal, without power"] == 0
    assert painted["Planned sites"] == 0  # both sites are in 08
    assert painted["Towers: Viettel"] == 1  # F only
    title = re.search(r"<title>(.*?)</title>", dom)
    assert title is not None and title.group(1) == "plan — Lào Cai (15)"
    dom = dump_dom(instrumented_copy(paths[0], tmp_path))
    painted = json.loads(body_data(dom)["data-covgap-painted"])
    assert painted["Villages: covered"] == N_COVERED
    assert painted["Villages: low signal, with power"] == N_POWERED
    assert painted["Towers: VNPT"] == 3  # C, D and G (10 km outside the square)
    screenshot(paths[0], tmp_path / "province_08.png")
    # same inputs → same bytes
    again = build_province_maps(
        villages,
        towers,
        make_sites(),
        site_schedule=make_schedule(),
        boundaries=boundaries,
        boundaries_credit="test squares",
        title="plan",
        out_dir=tmp_path / "again",
    )
    assert [p.read_bytes() for p in paths] == [p.read_bytes() for p in again]


def test_province_view_without_boundaries_zooms_to_its_villages() -> None:
    villages, towers, _ = two_province_inputs()
    text = render_map_html(villages, towers, province_code="15")
    data = re.search(r'id="covgap-data">(.*?)</script>', text, re.DOTALL)
    assert data is not None
    cfg = json.loads(data.group(1))
    assert cfg["tables"]["village"]["cols"]["id"] == ["L01", "L02"]
    # L01 (104.0, 22.5) and L02 (104.2, 22.3): [[south, west], [north, east]]
    assert cfg["fit"] == [[22.3, 104.0], [22.5, 104.2]]
    # towers within 20 km of that box: F (104.5, 22.6) is 0.3° ≈ 31 km east: out
    assert "tower" not in cfg["tables"]
    assert "boundaries" not in cfg


def payload(text: str) -> dict[str, Any]:
    data = re.search(r'id="covgap-data">(.*?)</script>', text, re.DOTALL)
    assert data is not None
    return dict(json.loads(data.group(1)))


def test_village_values_in_the_payload_whatever_the_column_types() -> None:
    # the same facts from numpy, nullable and object columns: −0.04 dB shows as 0.0 (never
    # −0.0), ±inf and missing values as null, a nullable population as an integer
    villages = make_villages()
    villages["margin_db"] = [-0.04, np.inf, -np.inf, 10.1, -8.26, -11.0, np.nan, -16.4, 0.05]
    villages["population"] = pd.array([820, None, 615, 300, 1234, 250, 95, 180, 75], "Int64")
    villages["electrified"] = villages["electrified"].astype("object")
    villages.loc[0, "electrified"] = None
    villages["best_rsrp_dbm"] = villages["best_rsrp_dbm"].astype("Float64")
    villages["commune"] = villages["commune"].astype("object")
    villages.loc[1, "commune"] = 12345  # not text: shown as its text
    villages.loc[2, "commune"] = np.nan
    cols = payload(render_map_html(villages, make_towers()))["tables"]["village"]["cols"]
    margin = cols["margin"]
    assert margin == [0.0, None, None, 10.1, -8.3, -11.0, None, -16.4, 0.1]
    assert math.copysign(1.0, margin[0]) == 1.0
    assert cols["pop"] == [820, None, 615, 300, 1234, 250, 95, 180, 75]
    assert cols["elec"] == [None, True, True, True, True, True, True, False, False]
    assert cols["rsrp"] == [-95.0, -101.5, -104.2, -99.9, -118.3, -121.0, None, -126.4, None]
    commune = cols["commune"]
    assert [None if c < 0 else commune["k"][c] for c in commune["c"]] == [
        "Xã Nà Hang",
        "12345",
        None,
        *["Xã Nà Hang"] * 6,
    ]
    assert cols["eta"] == {"k": ["2025-10-20"], "c": [-1] * 7 + [0, 0]}


def test_a_site_split_by_the_province_view_counts_only_its_sectors_in_view() -> None:
    # site A's two sectors (T1, T2) normally share a position; move T2 to Lào Cai (far
    # outside 08's box + 20 km): the national map draws A once with 2 sectors at T1's
    # position, the map of 08 draws it with the one sector in its view (T1), and 15's
    # map (whose box + 20 km holds T2 and F) draws it with T2 alone, at T2's position
    villages, towers, boundaries = two_province_inputs()
    towers.loc[1, "geometry"] = Point(104.3, 22.4)
    national = payload(render_map_html(villages, towers, boundaries=boundaries))
    tables = {
        code: payload(render_map_html(villages, towers, boundaries=boundaries, province_code=code))[
            "tables"
        ]["tower"]["cols"]
        for code in ("08", "15")
    }
    cols = national["tables"]["tower"]["cols"]
    a = cols["id"].index("A")
    assert (cols["sectors"][a], cols["lon"][a], cols["lat"][a]) == (2, 105.75, 21.05)
    a = tables["08"]["id"].index("A")
    assert (tables["08"]["sectors"][a], tables["08"]["lon"][a]) == (1, 105.75)
    assert sorted(tables["15"]["id"]) == ["A", "F"]
    a = tables["15"]["id"].index("A")
    assert (tables["15"]["sectors"][a], tables["15"]["lon"][a], tables["15"]["lat"][a]) == (
        1,
        104.3,
        22.4,
    )


def test_build_maps_writes_what_the_two_calls_write(tmp_path: Path) -> None:
    villages, towers, boundaries = two_province_inputs()
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    common: dict[str, Any] = dict(
        links=make_links(),
        site_schedule=make_schedule(),
        boundaries=boundaries,
        boundaries_credit="test squares",
        title="plan",
    )
    national, provinces = build_maps(
        villages,
        towers,
        make_sites(),
        out_path=tmp_path / "a" / "coverage_map.html",
        out_dir=tmp_path / "a",
        **common,
    )
    one = build_map(
        villages, towers, make_sites(), out_path=tmp_path / "b" / "coverage_map.html", **common
    )
    each = build_province_maps(villages, towers, make_sites(), out_dir=tmp_path / "b", **common)
    assert (
        [p.name for p in provinces]
        == [p.name for p in each]
        == [
            "province_08.html",
            "province_15.html",
        ]
    )
    for mine, theirs in zip([national, *provinces], [one, *each], strict=True):
        assert mine.read_bytes() == theirs.read_bytes()


# ---------------------------------------------------------------- coverage, communes, tiles


def make_communes() -> gpd.GeoDataFrame:
    """Three communes of province 08 (its square cut in three, west to east; the middle
    one with the hostile name) and one of province 15 (inside SQUARE_15)."""
    return gpd.GeoDataFrame(
        {
            "commune_code": ["02263", "02266", "02269", "04001"],
            "commune": ["Xã Nà Hang", HOSTILE, "Xã Đông", "Xã Lào"],
            "province_code": ["08", "08", "08", "15"],
        },
        geometry=[
            Polygon([(105.0, 20.8), (105.5, 20.8), (105.5, 21.8), (105.0, 21.8)]),
            MultiPolygon([Polygon([(105.5, 20.8), (106.0, 20.8), (106.0, 21.8), (105.5, 21.8)])]),
            Polygon([(106.0, 20.8), (106.4, 20.8), (106.4, 21.8), (106.0, 21.8)]),
            Polygon([(103.6, 22.1), (104.4, 22.1), (104.4, 22.8), (103.6, 22.8)]),
        ],
        crs="EPSG:4326",
    )


def make_grid(cell_m: float = 1000.0) -> CoverageGrid:
    """The predicted 4G RSRP of make_towers() over province 08's square (and 15's)."""
    return coverage_grid(
        make_towers(), (103.4, 20.7, 106.5, 23.0), grid=GridSettings(cell_m=cell_m)
    )


COVERAGE_LAYER = "Predicted coverage: 4G RSRP"
LEAFLET_URLS = {
    "http://www.w3.org/2000/svg",
    "https://leafletjs.com",
    "https://bugs.chromium.org/p/chromium/issues/detail?id=600120",
    "https://bugzilla.mozilla.org/show_bug.cgi?id=888319",
}

# tail script: once ready, note which overlays are ticked, tick some like a user (a click
# on the checkbox) and count what the page painted as the clicks returned (it paints at
# once, not on an animation frame: headless Chromium may never give it one), wait for the
# coverage image if asked, hover a point, then report
LAYERS_JS = """
function whenReady(fn) {
  if (document.body && document.body.dataset.covgapStatus === 'ready') { fn(); }
  else { document.addEventListener('covgap-ready', fn); }
}
whenReady(function () {
  var out = {checked: {}, base: {}};
  function inputs(where) {
    var found = {};
    document.querySelectorAll('.leaflet-control-layers-' + where + ' label').forEach(
      function (label) { found[label.textContent.trim()] = label.querySelector('input'); });
    return found;
  }
  var overlays = inputs('overlays'), bases = inputs('base');
  Object.keys(overlays).forEach(function (k) { out.checked[k] = overlays[k].checked; });
  Object.keys(bases).forEach(function (k) { out.base[k] = bases[k].checked; });
  %(tick)s.forEach(function (name) { overlays[name].click(); });
  covgap.report();  // in the same task as the clicks: no timer or frame ran in between
  var now = JSON.parse(document.body.dataset.covgapPainted);
  out.paintedAtTick = {};
  %(tick)s.forEach(function (name) { if (name in now) { out.paintedAtTick[name] = now[name]; } });
  function finish() {
    var hover = %(hover)s;
    if (hover) {
      var map = covgap.map, p = map.latLngToContainerPoint(hover);
      var r = map.getContainer().getBoundingClientRect();
      var canvas = document.querySelector('.leaflet-overlay-pane canvas');
      canvas.dispatchEvent(new MouseEvent('mousemove', {clientX: r.left + p.x,
        clientY: r.top + p.y, bubbles: true, cancelable: true, view: window}));
    }
    var tip = document.querySelector('.covgap-tooltip');
    out.tooltip = tip ? tip.textContent : null;
    out.resources = performance.getEntriesByType('resource').map(function (e) {
      return e.name; });
    document.body.dataset.testOut = JSON.stringify(out);
  }
  var st = JSON.parse(document.body.dataset.covgapCoverage || '{}').status;
  if (%(wait)s && st !== 'loaded') {
    document.addEventListener('covgap-coverage-loaded', finish);
  } else { finish(); }
});
"""


def run_layers_js(
    page: Path, tmp_path: Path, *, tick: list[str], hover: list[float] | None, wait: bool
) -> tuple[dict[str, str], dict[str, object], list[str]]:
    """Body attributes, the tail script's findings and Chromium's console messages."""
    tail = LAYERS_JS % {
        "tick": json.dumps(tick),
        "hover": json.dumps(hover),
        "wait": "true" if wait else "false",
    }
    dom, console = dump_dom_and_console(instrumented_copy(page, tmp_path, tail_js=tail))
    root = element_attrs(dom, "html")
    assert root["data-test-alerts"] == "0", root.get("data-test-last-alert")
    assert json.loads(root["data-test-errors"]) == []
    body = body_data(dom)
    assert "data-test-out" in body, "the tail script did not finish"
    return body, json.loads(body["data-test-out"]), console


@pytest.mark.browser
def test_coverage_and_communes_layers_offline(tmp_path: Path) -> None:
    grid = make_grid()
    page = build(
        tmp_path, coverage_raster=grid, communes=make_communes(), communes_credit="TLQ <MIT>"
    )
    # V07 (106.05, 21.05) is in the covered 4G area of tower E; hover commune 02266's
    # empty middle, far from every point
    body, out, console = run_layers_js(
        page, tmp_path, tick=["Communes", COVERAGE_LAYER], hover=[21.7, 105.75], wait=True
    )
    assert console == []  # no error, warning or failed load
    assert [k for k in out["checked"]] == [*EXPECTED_LAYERS, "Communes", COVERAGE_LAYER]
    # both extra layers are off at first on the national map, then ticked
    assert out["checked"]["Communes"] is False and out["checked"][COVERAGE_LAYER] is False
    assert out["base"] == {}  # no tile layer offered
    coverage = json.loads(body["data-covgap-coverage"])
    assert coverage == {"status": "loaded", "width": grid.shape[1], "height": grid.shape[0]}
    painted = json.loads(body["data-covgap-painted"])
    # 08's three; 15's lies outside the view (the map zooms to its points), not drawn;
    # painted by the time the click returned, and still counted by the page's own report
    assert out["paintedAtTick"] == {"Communes": 3}
    assert painted["Communes"] == 3
    assert painted["Villages: covered"] == N_COVERED
    # the hostile name shows literally in the tooltip, with the code
    assert out["tooltip"] == f"{HOSTILE} · 02266"
    # nothing fetched over the network: the image is a data: URI
    assert [r for r in out["resources"] if not str(r).startswith("data:")] == []


@pytest.mark.browser
def test_province_maps_show_their_communes_and_coverage(tmp_path: Path) -> None:
    villages, towers, boundaries = two_province_inputs()
    grid = coverage_grid(towers, (102.4, 20.7, 106.5, 23.0), grid=GridSettings(cell_m=1000))
    paths = build_province_maps(
        villages,
        towers,
        make_sites(),
        boundaries=boundaries,
        boundaries_credit="test squares",
        out_dir=tmp_path / "maps",
        coverage_raster=grid,
        communes=make_communes(),
    )
    body, out, console = run_layers_js(paths[0], tmp_path, tick=[], hover=None, wait=True)
    assert console == []
    # on at first on a province map
    assert out["checked"]["Communes"] is True and out["checked"][COVERAGE_LAYER] is True
    assert json.loads(body["data-covgap-painted"])["Communes"] == 3  # 08's three, not 15's
    coverage = json.loads(body["data-covgap-coverage"])
    assert coverage["status"] == "loaded"
    assert coverage["width"] * coverage["height"] < grid.shape[0] * grid.shape[1]  # cropped
    body, _, _ = run_layers_js(paths[1], tmp_path, tick=[], hover=None, wait=True)
    assert json.loads(body["data-covgap-painted"])["Communes"] == 1  # 15's one
    # the coverage is drawn: the palest class (#B3CDE3, opacity 0.6) over the province's
    # fill (white at 0.8 over the page's #f4f4f0) is #D0E0ED
    png = screenshot(paths[0], tmp_path / "province_08_coverage.png")
    assert colour_pixels(read_png(png), "#D0E0ED", tolerance=6) > 500


def test_coverage_and_commune_legend_and_payload() -> None:
    grid = make_grid()
    text = render_map_html(
        make_villages(),
        make_towers(),
        boundaries=make_boundaries(),
        coverage_raster=grid,
        communes=make_communes(),
        communes_credit="TLQ <MIT>",
    )
    legend = re.search(r'<div class="covgap-legend".*?</div></div>\n', text, re.DOTALL)
    assert legend is not None
    plain = html.unescape(re.sub(r"<[^>]+>", "", legend.group(0)))
    assert "Predicted 4G RSRP (best server)≥ -80 dBm-90 to -80 dBm" in plain
    assert "-110 to -100 dBm" in plain
    assert "below -110 dBm (low signal)" in plain
    assert "Grid cells of 1,000 m" in plain
    assert "Off at first" in plain
    assert "Communesoutlines4" in plain
    assert "Communes: TLQ <MIT> (outlines simplified, tolerance 100 m)" in plain
    assert "TLQ &lt;MIT&gt;" in text and "TLQ <MIT>" not in text  # escaped in the page
    data = re.search(r'id="covgap-data">(.*?)</script>', text, re.DOTALL)
    assert data is not None
    cfg = json.loads(data.group(1))
    # the image's corners: the grid's EPSG:3857 bounds, as pyproj transforms them
    x0, y1 = grid.x0_m, grid.y0_m
    x1, y0 = x0 + grid.shape[1] * grid.cell_merc_m, y1 - grid.shape[0] * grid.cell_merc_m
    to_lonlat = Transformer.from_crs("EPSG:3857", "EPSG:4326", always_xy=True)
    (w, e), (s, n) = to_lonlat.transform([x0, x1], [y0, y1])
    (south, west), (north, east) = cfg["coverage"]["bounds"]
    assert [south, west, north, east] == pytest.approx([s, w, n, e], abs=1e-8)
    assert cfg["coverage"]["url"].startswith("data:image/png;base64,")
    names = [f["properties"]["name"] for f in cfg["communes"]["data"]["features"]]
    assert names == ["Xã Nà Hang", HOSTILE, "Xã Đông", "Xã Lào"]  # data, escaped on display
    # same inputs, same bytes
    again = render_map_html(
        make_villages(),
        make_towers(),
        boundaries=make_boundaries(),
        coverage_raster=make_grid(),
        communes=make_communes(),
        communes_credit="TLQ <MIT>",
    )
    assert again == text


def test_online_tiles_are_optional_and_off_by_default(tmp_path: Path) -> None:
    offline = build(tmp_path, "offline.html", coverage_raster=make_grid(), communes=make_communes())
    text = offline.read_text(encoding="utf-8")
    assert "openstreetmap" not in text.lower() and "{z}" not in text
    # the only web addresses are the vendored Leaflet's own, none fetched: its SVG
    # namespace, its attribution link and two bug-tracker links in CSS comments
    assert set(re.findall(r"https?://[^\s\"'<>)*\\]+", text)) == LEAFLET_URLS
    assert not re.search(r"url\(\s*[\"']?(https?:)?//", text)
    online = build(tmp_path, "online.html", tiles="openstreetmap").read_text(encoding="utf-8")
    assert set(re.findall(r"https?://[^\s\"'<>)*\\]+", online)) - LEAFLET_URLS == {
        "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
        "https://www.openstreetmap.org/copyright",
    }
    assert r"OpenStreetMap\u003c/a\u003e contributors" in online  # JS-escaped HTML
    with pytest.raises(UsageError, match="google"):
        render_map_html(make_villages(), make_towers(), tiles="google")


@pytest.mark.browser
def test_online_tiles_are_a_base_layer_choice_not_shown(tmp_path: Path) -> None:
    page = build(tmp_path, tiles="openstreetmap")
    body, out, console = run_layers_js(page, tmp_path, tick=[], hover=None, wait=False)
    assert out["base"] == {"No tiles (offline)": True, "OpenStreetMap (online)": False}
    assert out["resources"] == []  # no tile requested
    assert console == []
    assert body["data-covgap-coverage"] == '{"status":"off"}'


def test_load_communes_normalises_and_checks(tmp_path: Path) -> None:
    path = tmp_path / "communes.geojson"
    communes = make_communes().rename(columns={"commune": "commune_name"})
    communes["commune_code"] = ["2263", "2266", "2269", "4001"]  # leading zeros lost
    communes["province_code"] = ["8", "8", "8", "15"]
    communes.to_file(path, driver="GeoJSON")
    loaded = load_communes(path)
    assert list(loaded.columns) == ["commune_code", "commune", "province_code", "geometry"]
    assert loaded["commune_code"].tolist() == ["02263", "02266", "02269", "04001"]
    assert loaded["province_code"].tolist() == ["08", "08", "08", "15"]
    assert loaded["commune"].tolist()[1] == HOSTILE
    with pytest.raises(InputFileError, match="not found"):
        load_communes(tmp_path / "absent.geojson")
    communes.drop(columns=["commune_code"]).to_file(tmp_path / "no_code.geojson")
    with pytest.raises(InputFileError, match="commune_code"):
        load_communes(tmp_path / "no_code.geojson")


def shared_data(name: str) -> Path:
    path = Path(__file__).resolve().parents[2] / "shared" / "data" / name
    if not path.parent.is_dir():
        pytest.skip("../shared is absent: this test reads the shared base data in place")
    return path


def test_real_communes_are_simplified_within_the_tolerance() -> None:
    communes = load_communes(shared_data("vn_communes_north_sample.geojson"))
    assert len(communes) == 268
    text = render_map_html(make_villages(), make_towers(), communes=communes)
    data = re.search(r'id="covgap-data">(.*?)</script>', text, re.DOTALL)
    assert data is not None
    features = json.loads(data.group(1))["communes"]["data"]["features"]
    drawn = gpd.GeoDataFrame.from_features(features, crs="EPSG:4326")
    original = communes.sort_values("commune_code").reset_index(drop=True)
    assert drawn["code"].tolist() == original["commune_code"].tolist()
    utm = 32648  # UTM 48N: these communes lie at 102–106° E
    a, b = drawn.to_crs(utm).geometry, original.to_crs(utm).geometry
    hausdorff = np.array([x.hausdorff_distance(y) for x, y in zip(a, b, strict=True)])
    # Douglas–Peucker keeps every input vertex within the tolerance (100 m) of the
    # outline; dropping a ring's start vertex (GEOS) can add as much again; + rounding
    assert hausdorff.max() <= 2 * 100.0 + 2.0
    assert np.median(hausdorff) <= 100.0
    n_drawn = shapely.get_num_coordinates(np.asarray(a)).sum()
    assert n_drawn < 0.8 * shapely.get_num_coordinates(np.asarray(b)).sum()


@pytest.mark.browser
def test_real_province_map_draws_all_its_communes(tmp_path: Path) -> None:
    boundaries = load_boundaries(shared_data("vn_provinces34.geojson"))
    communes = load_communes(shared_data("vn_communes_north_sample.geojson"))
    # the provinces file's own count of communes of Tuyên Quang (08)
    expected = int(boundaries.loc[boundaries["province_code"] == "08", "n_communes"].iloc[0])
    path = build_map(
        make_villages(),
        make_towers(),
        boundaries=boundaries,
        communes=communes,
        province_code="08",
        out_path=tmp_path / "province_08.html",
    )
    body, out, console = run_layers_js(path, tmp_path, tick=[], hover=None, wait=False)
    assert console == []
    assert out["checked"]["Communes"] is True
    assert json.loads(body["data-covgap-painted"])["Communes"] == expected == 124
    screenshot(path, tmp_path / "province_08_communes.png")


def test_map_settings_bind_from_toml() -> None:
    table = tomllib.loads(
        'coverage_cell_m = 750.0\ncoverage_technology = "5G"\ntiles = "openstreetmap"\n'
    )
    settings = bind(MapSettings, table, where="maps", file="s.toml")
    assert settings.coverage is True  # default
    assert settings.grid_settings() == GridSettings(cell_m=750.0, technology="5G")
    assert settings.tiles_key == "openstreetmap"
    assert MapSettings().tiles_key is None  # "" = offline
    with pytest.raises(ScenarioError, match=r"\[maps\] tiles = 'bing'"):
        bind(MapSettings, {"tiles": "bing"}, where="maps", file="s.toml")
    with pytest.raises(ScenarioError, match="coverage_technology"):
        MapSettings(coverage_technology="LTE")
    with pytest.raises(ScenarioError, match="unknown key 'coverage_cell'"):
        bind(MapSettings, {"coverage_cell": 500.0}, where="maps", file="s.toml")
