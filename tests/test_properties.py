"""Property-based tests (hypothesis) for the loaders, normalisers and models (issue 8).

* Any string in a name column reaches the data exports (GeoJSON, GPKG, CSV, KML data)
  unchanged after NFC and zero-width removal (and stripping), and every display format
  (map page, KML balloon, report) shows it as text: the data never adds an element.
* Booleans, dates and whole numbers parse to the one documented reading or are rejected:
  never guessed.
* Path loss grows with distance for every model.

The runs are derandomised (the same examples on every run) with a modest number of
examples; the classic hostile strings are always tried (``@example``).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
import tempfile
import unicodedata
import xml.etree.ElementTree as ET
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from covgap import io as vio
from covgap import propagation as prop
from covgap import schema
from covgap.analysis import summarise
from covgap.export import write_operator_exports
from covgap.maps import render_map_html
from covgap.report import render_report_html

CORPUS = Path(__file__).resolve().parent / "badinputs"
SLOW = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
FAST = settings(max_examples=100, deadline=None, derandomize=True)

# The characters Unicode calls zero-width (and the soft hyphen): removed from text.
ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff\u00ad"
# XML 1.0 §2.2 Char excludes these (KML is XML: they cannot be written at all).
XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")

FRAGMENTS = [
    "<script>alert(1)</script>",
    "</textarea>",
    "<img src=x onerror=alert(2)>",
    "${alert(1)}",
    "{{7*7}}",
    "{% if 1 %}x{% endif %}",
    "&amp;",
    "&",
    '"',
    "'",
    "<",
    ">",
    "]]>",
    "<!--",
    "\\",
    "=1+1",
    "[/]",
    *ZERO_WIDTH,
    "\u0301",
    "e\u0301",
    "Đ",
    "Mường",
    "\r",
    "\n",
    "\r\n",
    "\t",
    " ",
    "\u00a0",
    "\u2028",
    "\x01",
    "\x7f",
    "\ufffd",
    "😀",
]
NAME = st.lists(
    st.one_of(
        st.sampled_from(FRAGMENTS),
        st.text(
            alphabet=st.characters(exclude_categories=["Cs"], exclude_characters="\x00"),
            max_size=6,
        ),
    ),
    max_size=6,
).map("".join)
HOSTILE = [
    "<script>alert(1)</script>",
    "${alert(1)}",
    "{{7*7}}",
    "</textarea><b>x</b>",
    "e\u200b\u0301",
    "  Thôn\u200b Ba Đình\ufeff  ",
    'a "quoted" & <tagged> name',
]


def cleaned(text: str) -> str:
    """The contract (DESIGN §3): zero-width characters removed, NFC, surrounding
    whitespace stripped."""
    for ch in ZERO_WIDTH:
        text = text.replace(ch, "")
    return unicodedata.normalize("NFC", text).strip()


# --------------------------------------------------------------------------- inputs


def _rows(names: list[str]) -> list[dict[str, Any]]:
    return [
        {
            "village_id": f"V{i}",
            "name": name,
            "province_code": "01",
            "province": "Hà Nội",
            "commune_code": f"{4 + i:05d}",
            "commune": name,
            "population": 100 + i,
            "electrified": "yes" if i % 2 == 0 else "no",
            "lon": 105.80 + 0.01 * i,
            "lat": 21.00 + 0.01 * i,
        }
        for i, name in enumerate(names)
    ]


def _write_input(folder: Path, names: list[str], fmt: str) -> Path:
    rows = _rows(names)
    if fmt == "csv":
        path = folder / "villages.csv"
        with open(path, "w", encoding="utf-8", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\r\n")
            writer.writeheader()
            writer.writerows(rows)
        return path
    path = folder / "villages.geojson"
    features = [
        {
            "type": "Feature",
            "properties": {k: v for k, v in r.items() if k not in ("lon", "lat")},
            "geometry": {"type": "Point", "coordinates": [r["lon"], r["lat"]]},
        }
        for r in rows
    ]
    path.write_text(
        json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False),
        encoding="utf-8",
    )
    return path


_TOWERS: list[gpd.GeoDataFrame] = []


def _towers() -> gpd.GeoDataFrame:
    if not _TOWERS:
        _TOWERS.append(vio.load_towers(CORPUS / "towers" / "good.csv").gdf)
    return _TOWERS[0]


def _assessed(villages: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Hand-made assessment: every village a low-signal one (its group by electricity)."""
    out = villages.copy()
    out["group"] = np.where(out["electrified"], "low_signal_powered", "low_signal_unpowered")
    out["best_rsrp_dbm"] = -121.5
    return out


def _sites(assessed: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """One planned Viettel site at each village (hand-made, the siting stage's columns)."""
    n = len(assessed)
    return gpd.GeoDataFrame(
        {
            "site_id": [f"S{i}" for i in range(n)],
            "operator": ["Viettel"] * n,
            "kind": ["new"] * n,
            "technology": ["4G"] * n,
            "height_m": [30.0] * n,
            "villages_served": list(assessed["village_id"]),
            "n_villages": [1] * n,
            "population_served": list(assessed["population"]),
            "group": list(assessed["group"]),
            "deadline": pd.to_datetime(
                ["2025-08-31" if e else "2025-11-30" for e in assessed["electrified"]]
            ).astype("datetime64[s]"),
            "power": ["grid"] * n,
            "power_date": pd.Series([pd.NaT] * n, dtype="datetime64[s]"),
            "capex_vnd": [1_500_000_000] * n,
            "province_code": list(assessed["province_code"]),
            "province": list(assessed["province"]),
        },
        geometry=list(assessed.geometry),
        crs="EPSG:4326",
    )


class _Tags(HTMLParser):
    """Start tags of an HTML text, and the text of chosen elements."""

    def __init__(self, collect: tuple[str, ...] = ()) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: Counter[str] = Counter()
        self.collect = collect
        self.texts: dict[str, list[str]] = {t: [] for t in collect}
        self._open: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags[tag] += 1
        if tag in self.collect:
            self._open.append(tag)
            self.texts[tag].append("")

    def handle_endtag(self, tag: str) -> None:
        if self._open and self._open[-1] == tag:
            self._open.pop()

    def handle_data(self, data: str) -> None:
        if self._open:
            self.texts[self._open[-1]][-1] += data


def _parse(text: str, collect: tuple[str, ...] = ()) -> _Tags:
    parser = _Tags(collect)
    parser.feed(text)
    parser.close()
    return parser


def _strings(obj: Any) -> set[str]:
    if isinstance(obj, str):
        return {obj}
    if isinstance(obj, dict):
        return set().union(*(_strings(v) | _strings(k) for k, v in obj.items()), set())
    if isinstance(obj, list):
        return set().union(*(_strings(v) for v in obj), set())
    return set()


def _map_data(page: str) -> Any:
    data = re.search(r'id="covgap-data">(.*?)</script>', page, re.DOTALL)
    assert data is not None
    block = data.group(1)
    assert "<" not in block and ">" not in block and "&" not in block
    return json.loads(block)


_BASELINES: dict[tuple[str, int], Counter[str]] = {}


def _baseline_tags(kind: str, n: int, render: Any) -> Counter[str]:
    """Tags of the same page made from plain names (``N0``, ``N1`` …)."""
    key = (kind, n)
    if key not in _BASELINES:
        _BASELINES[key] = render([f"N{i}" for i in range(n)])
    return _BASELINES[key]


# --------------------------------------------------------------------------- names


def _run_names(names: list[str], fmt: str) -> None:
    with tempfile.TemporaryDirectory(prefix="covgap-prop-") as tmp:
        folder = Path(tmp)
        result = vio.load_villages(_write_input(folder, names, fmt))
        expected = [cleaned(n) for n in names]

        # the loader: NFC, zero-width removed, stripped, otherwise unchanged; empty → rejected
        rejected = [(r.row, r.column) for r in result.rejects]
        assert rejected == [(i + 1, "name") for i, e in enumerate(expected) if not e]
        kept = [(f"V{i}", e) for i, e in enumerate(expected) if e]
        villages = result.gdf
        assert list(villages["village_id"]) == [v for v, _ in kept]
        assert list(villages["name"]) == [e for _, e in kept]
        assert list(villages["commune"]) == [e for _, e in kept]
        for value in villages["name"]:
            assert unicodedata.is_normalized("NFC", value)
            assert not set(value) & set(ZERO_WIDTH)
        if not kept:
            return
        names_kept = [e for _, e in kept]

        # data exports: the text as data, byte for byte
        assessed = _assessed(villages)
        sites = _sites(assessed)
        out = folder / "exports"
        write_operator_exports(sites, assessed, out)
        geojson = json.loads((out / "viettel.geojson").read_text(encoding="utf-8"))
        props = [f["properties"] for f in geojson["features"]]
        assert [p["name"] for p in props if p["feature_type"] == "village"] == names_kept
        assert [p["commune"] for p in props if p["feature_type"] == "village"] == names_kept
        with open(out / "viettel.csv", encoding="utf-8-sig", newline="") as fh:
            rows = [r for r in csv.DictReader(fh) if r["feature_type"] == "village"]
        assert [r["name"] for r in rows] == names_kept
        layer = pyogrio.read_dataframe(out / "viettel.gpkg", layer="villages")
        assert list(layer["name"]) == names_kept

        # KML: names as XML text (characters XML cannot hold become U+FFFD); the balloon is
        # HTML in which the name is text, never markup
        root = ET.parse(out / "viettel.kml").getroot()
        ns = {"k": "http://www.opengis.net/kml/2.2"}
        placemarks = [
            pm
            for folder_el in root.iter(f"{{{ns['k']}}}Folder")
            if folder_el.findtext("k:name", namespaces=ns) == "Villages"
            for pm in folder_el.findall("k:Placemark", ns)
        ]
        # XML parsers turn CR and CRLF into LF (test_kml_keeps_carriage_returns)
        in_xml = [
            XML_ILLEGAL.sub("\ufffd", e).replace("\r\n", "\n").replace("\r", "\n")
            for e in names_kept
        ]
        assert [pm.findtext("k:name", namespaces=ns) for pm in placemarks] == in_xml
        for pm, want in zip(placemarks, in_xml, strict=True):
            balloon = _parse(pm.findtext("k:description", namespaces=ns) or "", ("h3",))
            assert set(balloon.tags) <= {"h3", "table", "tr", "th", "td"}
            assert balloon.texts["h3"] == [want]

        # map page: the names travel as JSON data (no markup characters in the data block),
        # and the page has exactly the elements it has for plain names
        towers = _towers()

        def map_tags(ns_: list[str]) -> Counter[str]:
            a = assessed.assign(name=ns_, commune=ns_)
            return _parse(render_map_html(a, towers, _sites(a))).tags

        page = render_map_html(assessed, towers, sites)
        assert set(names_kept) <= _strings(_map_data(page))
        assert _parse(page).tags == _baseline_tags("map", len(kept), map_tags)

        # report: commune names as escaped text, no element added
        def report_text(ns_: list[str]) -> str:
            a = assessed.assign(commune=ns_)
            return render_report_html(
                a,
                _sites(a),
                None,
                None,
                summary_by_province=summarise(a, by="province"),
                summary_by_commune=summarise(a, by="commune"),
                title="covgap",
            )

        report = _parse(report_text(names_kept), ("td",))
        baseline = _baseline_tags("report", len(kept), lambda ns_: _parse(report_text(ns_)).tags)
        assert report.tags == baseline
        cells = report.texts["td"]
        for name in names_kept:
            assert name in cells


@SLOW
@given(names=st.lists(NAME, min_size=1, max_size=4), fmt=st.sampled_from(["csv", "geojson"]))
@example(names=HOSTILE[:4], fmt="csv")
@example(names=HOSTILE[3:], fmt="geojson")
@example(names=["\u200b", " \u00a0", "ok"], fmt="csv")
def test_names_reach_data_exports_unchanged_and_displays_escaped(
    names: list[str], fmt: str
) -> None:
    _run_names(names, fmt)


def test_kml_keeps_carriage_returns(tmp_path: Path) -> None:
    """A carriage return in a name is data: KML must write it as ``&#13;`` (an XML parser
    turns a raw CR into LF, so the KML would silently change the name)."""
    villages = vio.load_villages(_write_input(tmp_path, ["Thôn\rA"], "geojson")).gdf
    assert list(villages["name"]) == ["Thôn\rA"]
    assessed = _assessed(villages)
    write_operator_exports(_sites(assessed), assessed, tmp_path / "exports", formats=("kml",))
    root = ET.parse(tmp_path / "exports" / "viettel.kml").getroot()
    kml = "{http://www.opengis.net/kml/2.2}"
    names = [pm.findtext(f"{kml}name") for pm in root.iter(f"{kml}Placemark")]
    assert names == ["S0", "Thôn\rA"]  # the site, then the village


def test_nul_in_a_json_name_is_refused_not_cut(tmp_path: Path) -> None:
    path = _write_input(tmp_path, ["Thôn\x00A"], "geojson")
    with pytest.raises(vio.InputFileError, match=r"NUL character \(\\u0000\) on line 1"):
        vio.load_villages(path)


# --------------------------------------------------------------------------- booleans, dates

BOOL_WORDS = {"true": True, "false": False, "yes": True, "no": False, "1": True, "0": False}
BOOL_WORDS |= {"có": True, "không": False}


def _one(parsed: schema.Parsed) -> tuple[Any, Any, Any]:
    return parsed.values.iloc[0], parsed.error.iloc[0], parsed.note.iloc[0]


@FAST
@given(text=st.one_of(st.text(max_size=8), st.sampled_from(sorted(BOOL_WORDS))))
@example(text="CÓ")
@example(text=unicodedata.normalize("NFD", "Không"))
@example(text="chưa")
@example(text="")
@example(text=" yes ")
@example(text="y")
def test_booleans_parse_or_are_rejected_never_guessed(text: str) -> None:
    value, error, _ = _one(schema.parse_bool(pd.Series([text], dtype=object)))
    key = cleaned(text).casefold()
    if key in BOOL_WORDS:
        assert error is None and value is BOOL_WORDS[key]
    else:
        assert value is None and error is not None


@FAST
@given(day=st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2100, 12, 31)))
def test_dates_have_one_reading(day: dt.date) -> None:
    iso, _, _ = _one(schema.parse_date(pd.Series([day.isoformat()], dtype=object)))
    assert pd.Timestamp(iso).date() == day
    text = f"{day.day:02d}/{day.month:02d}/{day.year}"
    value, error, note = _one(schema.parse_date(pd.Series([text], dtype=object)))
    assert error is None and pd.Timestamp(value).date() == day and "day first" in note
    # the US order is never taken: read day first (with the note) or rejected
    us = f"{day.month:02d}/{day.day:02d}/{day.year}"
    value, error, note = _one(schema.parse_date(pd.Series([us], dtype=object)))
    try:
        day_first = dt.date(day.year, day.day, day.month)
    except ValueError:
        day_first = None
    if day_first is None:
        assert pd.isna(value) and "impossible date" in error
    else:
        assert pd.Timestamp(value).date() == day_first and "day first" in note


_DATE_SHAPES = (
    re.compile(r"\d{4}[-/]\d{1,2}[-/]\d{1,2}"),
    re.compile(r"\d{4}[-/]\d{2}[-/]\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?"),
    re.compile(r"\d{1,2}[/.\-]\d{1,2}[/.\-]\d{4}"),
)


@FAST
@given(text=st.text(alphabet="0123456789-/.: TZ+aJn", max_size=22))
@example(text="2025-02-29")
@example(text="31/04/2025")
@example(text="03-04-25")
@example(text="2025-09-20T13:45:00+07:00")
def test_any_text_is_a_date_only_in_a_documented_shape(text: str) -> None:
    value, error, _ = _one(schema.parse_date(pd.Series([text], dtype=object)))
    t = cleaned(text)
    if not t:
        assert pd.isna(value) and error is None  # absent (optional column)
    elif pd.isna(value):
        assert error is not None
    else:
        assert error is None and any(p.fullmatch(t) for p in _DATE_SHAPES)


@FAST
@given(
    text=st.one_of(
        st.text(alphabet="0123456789.,  -+", max_size=10),
        st.integers(0, 10**9).map(lambda n: f"{n:,}"),
        st.integers(0, 10**9).map(lambda n: f"{n:,}".replace(",", ".")),
    )
)
@example(text="2.5")
@example(text="1.2000")
@example(text="1,200")
@example(text="1.200")
def test_whole_numbers_are_never_rounded(text: str) -> None:
    value, error, note = _one(schema.parse_int(pd.Series([text], dtype=object)))
    if value is None:
        assert error is not None or not cleaned(text)
        return
    assert isinstance(value, int) and value >= 0
    digits = re.sub(r"[.,\s\u00a0\u202f+]", "", cleaned(text))
    if re.fullmatch(r"\d+\.0+", cleaned(text)):
        assert value == int(cleaned(text).split(".")[0])
    else:
        assert int(digits) == value  # every digit kept: grouping removed, nothing rounded
        assert note is None or "thousands" in note


# --------------------------------------------------------------------------- path loss

DIST = st.floats(min_value=0.02, max_value=60.0, allow_nan=False, allow_infinity=False)
ENV = st.sampled_from(prop.ENVIRONMENTS)


def _ordered(a: float, b: float) -> tuple[float, float]:
    assume(abs(a - b) > 1e-6 * max(a, b))
    return (a, b) if a < b else (b, a)


@FAST
@given(
    d1=DIST,
    d2=DIST,
    f=st.floats(150.0, 3800.0),
    hb=st.floats(10.0, 200.0),
    hm=st.floats(1.0, 10.0),
    env=ENV,
)
def test_every_model_loses_more_with_distance(
    d1: float, d2: float, f: float, hb: float, hm: float, env: str
) -> None:
    near, far = _ordered(d1, d2)
    d = np.array([near, far])
    losses = [
        prop.fspl_db(f, d),
        prop.okumura_hata_db(f, hb, hm, d, env),
        prop.cost231_hata_db(f, hb, hm, d, env),
        prop.rma_38901_db(f / 1000.0, d * 1000.0, min(hb, 150.0), hm, True),
        prop.rma_38901_db(f / 1000.0, d * 1000.0, min(hb, 150.0), hm, False),
    ]
    for loss in losses:
        assert np.all(np.isfinite(loss))
        assert loss[1] > loss[0]


@FAST
@given(d1=DIST, d2=DIST, f=st.floats(450.0, 3800.0), hb=st.floats(10.0, 150.0), env=ENV)
def test_auto_model_is_monotone_within_a_model(
    d1: float, d2: float, f: float, hb: float, env: str
) -> None:
    """``path_loss_db("auto")`` switches model at validity-box edges, where its docstring
    bounds the step at 4 dB; along one model the loss always grows with distance."""
    near, far = _ordered(d1, d2)
    pl = prop.path_loss_db("auto", f, hb, 1.5, np.array([near, far]), env)
    loss = pl.loss_db
    if pl.model_used[0] == pl.model_used[1]:
        assert loss[1] > loss[0]
    else:
        assert loss[1] - loss[0] > -4.0
