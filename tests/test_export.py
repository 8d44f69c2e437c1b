"""Operator exports: GeoJSON (RFC 7946, the committed JSON Schema), GeoPackage, KML, CSV.

Test data are hand-made GeoDataFrames in the pipeline's shapes; expected values are
read off those inputs by hand (counts, coordinates, hashes computed here with hashlib).
GPKG, KML and CSV are read back through pyogrio (GDAL's GPKG, LIBKML and CSV drivers).
"""

from __future__ import annotations

import copy
import csv
import hashlib
import json
import unicodedata
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import geopandas as gpd
import jsonschema
import numpy as np
import pandas as pd
import pyogrio
import pytest
from shapely.geometry import LineString, Point

from covgap.errors import SchemaError
from covgap.export import (
    load_schema,
    validate_rfc7946,
    write_operator_exports,
    write_operator_geojson,
)

VIETNAM = (102.0, 8.0, 118.0, 24.0)
SCHEMA = "operator_export.schema.json"
NAME_V1 = '<b>Bản "Nà" & Co</b> {{x}}'
SITE_KEYS = [
    "feature_type", "site_id", "operator", "kind", "technology", "height_m", "group",
    "deadline", "power", "power_date", "n_villages", "population_served", "villages_served",
    "capex_vnd", "province_code", "province",
]  # fmt: skip
VILLAGE_KEYS = [
    "feature_type", "village_id", "name", "province_code", "province", "commune_code",
    "commune", "population", "electrified", "power_eta", "group", "best_rsrp_dbm",
    "served_by_site",
]  # fmt: skip


def make_villages() -> gpd.GeoDataFrame:
    # (id, name, lon, lat, population, electrified, power_eta, group, best_rsrp_dbm)
    rows = [
        ("V1", NAME_V1, 105.8, 21.0, 820, True, None, "low_signal_powered", -118.26),
        ("V2", "Thôn Khuổi Phầy", 105.123456789, 21.987654321, 430, True, None,
         "low_signal_powered", -121.04),
        ("V3", "Bản Sà Phìn", 104.5, 22.25, 180, False, "2025-10-20", "low_signal_unpowered",
         np.nan),
        ("V4", "Làng Mới", 106.0, 20.5, 300, True, None, "covered", -95.0),
        ("0012", "Xóm Đồi", 105.2, 21.4, 95, False, None, "low_signal_unpowered", -130.0),
    ]  # fmt: skip
    gdf = gpd.GeoDataFrame(
        [
            {
                "village_id": vid,
                "name": name,
                "province_code": "08",
                "province": "Tuyên Quang",
                "commune_code": "02263" if vid != "0012" else None,
                "commune": "Xã Nà Hang" if vid != "0012" else None,
                "population": pop,
                "households": pd.NA,
                "electrified": elec,
                "power_eta": pd.Timestamp(eta) if eta else pd.NaT,
                "group": group,
                "best_operator": "Viettel",
                "best_rsrp_dbm": rsrp,
                "margin_db": np.nan,
                "rsrp_source": "predicted",
                "geometry": Point(lon, lat),
            }
            for vid, name, lon, lat, pop, elec, eta, group, rsrp in rows
        ],
        geometry="geometry",
        crs="EPSG:4326",
    )
    gdf["power_eta"] = gdf["power_eta"].astype("datetime64[s]")
    return gdf


def make_sites() -> gpd.GeoDataFrame:
    # (site_id, operator, served, group, deadline, power_date, lon, lat)
    rows = [
        ("S2", "Viettel", "V2;0012", "low_signal_powered", "2025-08-31", None, 105.15, 21.9),
        ("S1", "Viettel", "V1;V2", "low_signal_powered", "2025-08-31", "2025-07-20", 105.81, 21.01),
        ("S3", "VNPT", "V3", "low_signal_unpowered", "2025-11-30", None, 104.51, 22.24),
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
                "population_served": 1000 + k,
                "group": group,
                "deadline": pd.Timestamp(deadline),
                "power": "grid" if pdate else "solar",
                "power_date": pd.Timestamp(pdate) if pdate else pd.NaT,
                "capex_vnd": 2_150_000_000.0,  # float in, integer out
                "province_code": "08",
                "province": "Tuyên Quang",
                "geometry": Point(lon, lat),
            }
            for k, (sid, op, served, group, deadline, pdate, lon, lat) in enumerate(rows)
        ],
        geometry="geometry",
        crs="EPSG:4326",
    )


@pytest.fixture
def exported(tmp_path: Path) -> tuple[Path, list[Path]]:
    out = tmp_path / "exports"
    return out, write_operator_exports(make_sites(), make_villages(), out)


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def by_id(collection: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["id"]: f for f in collection["features"]}


def test_one_file_per_operator_present(exported: tuple[Path, list[Path]]) -> None:
    out, written = exported
    assert [p.relative_to(out).as_posix() for p in written] == [
        "viettel.geojson",
        "viettel.gpkg",
        "viettel.kml",
        "viettel.csv",
        "vnpt.geojson",
        "vnpt.gpkg",
        "vnpt.kml",
        "vnpt.csv",
        "schema/operator_export.schema.json",
        "index.json",
    ]
    assert not (out / "mobifone.geojson").exists()
    viettel = by_id(load(out / "viettel.geojson"))
    vnpt = by_id(load(out / "vnpt.geojson"))
    # sites sorted by id, then the villages they serve (V1, V2 by S1; 0012 by S2), sorted
    assert list(viettel) == ["site/S1", "site/S2", "village/0012", "village/V1", "village/V2"]
    assert list(vnpt) == ["site/S3", "village/V3"]
    assert viettel["village/V2"]["properties"]["served_by_site"] == "S1"
    assert viettel["village/0012"]["properties"]["served_by_site"] == "S2"
    assert viettel["site/S2"]["properties"]["villages_served"] == ["V2", "0012"]


def test_files_match_the_committed_schema(exported: tuple[Path, list[Path]]) -> None:
    out, _ = exported
    schema = load_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    for name in ("viettel.geojson", "vnpt.geojson"):
        errors = [e.message for e in validator.iter_errors(load(out / name))]
        assert errors == []
    # the copy beside the exports is the package's file, byte for byte
    committed = Path(__file__).resolve().parents[1] / "coverage/schemas/operator_export.schema.json"
    assert (out / "schema/operator_export.schema.json").read_bytes() == committed.read_bytes()
    # and the schema does reject what it should
    bad = load(out / "vnpt.geojson")
    bad["crs"] = {"type": "name", "properties": {"name": "EPSG:4326"}}
    bad["features"][0]["properties"]["capex_vnd"] = 1.5
    bad["features"][1]["properties"]["extra"] = 1
    assert len(list(validator.iter_errors(bad))) >= 3


def test_rfc7946_and_lonlat_order(exported: tuple[Path, list[Path]]) -> None:
    out, _ = exported
    for name in ("viettel.geojson", "vnpt.geojson"):
        collection = load(out / name)
        assert validate_rfc7946(collection, region_lonlat=VIETNAM) == []
        assert "crs" not in collection
        assert all(isinstance(f["id"], str) for f in collection["features"])
    viettel = by_id(load(out / "viettel.geojson"))
    assert viettel["village/V1"]["geometry"] == {"type": "Point", "coordinates": [105.8, 21.0]}
    # 6 decimals: 105.123456789 → 105.123457, 21.987654321 → 21.987654
    assert viettel["village/V2"]["geometry"]["coordinates"] == [105.123457, 21.987654]
    assert load(out / "viettel.geojson")["bbox"] == [105.123457, 21.0, 105.81, 21.987654]


def test_property_order_and_types(exported: tuple[Path, list[Path]]) -> None:
    out, _ = exported
    viettel = by_id(load(out / "viettel.geojson"))
    site = viettel["site/S1"]["properties"]
    assert list(site) == SITE_KEYS
    assert site["capex_vnd"] == 2_150_000_000 and isinstance(site["capex_vnd"], int)
    assert site["deadline"] == "2025-08-31"
    assert site["power_date"] == "2025-07-20"
    assert viettel["site/S2"]["properties"]["power_date"] is None
    assert site["villages_served"] == ["V1", "V2"]
    village = viettel["village/V1"]["properties"]
    assert list(village) == VILLAGE_KEYS
    assert village["best_rsrp_dbm"] == -118.3  # 1 decimal
    assert village["electrified"] is True
    assert village["power_eta"] is None
    leading_zero = viettel["village/0012"]["properties"]
    assert leading_zero["village_id"] == "0012"  # an id stays text
    assert leading_zero["commune_code"] is None and leading_zero["commune"] is None
    vnpt = by_id(load(out / "vnpt.geojson"))
    assert vnpt["village/V3"]["properties"]["best_rsrp_dbm"] is None
    assert vnpt["village/V3"]["properties"]["power_eta"] == "2025-10-20"


def test_text_is_data_not_html(exported: tuple[Path, list[Path]], tmp_path: Path) -> None:
    out, _ = exported
    raw = (out / "viettel.geojson").read_bytes()
    assert NAME_V1.replace('"', '\\"').encode("utf-8") in raw  # not escaped, UTF-8 (not \\u)
    assert b"&amp;" not in raw and b"&lt;" not in raw
    assert by_id(load(out / "viettel.geojson"))["village/V1"]["properties"]["name"] == NAME_V1
    # decomposed (NFD) input comes out composed (NFC)
    villages = make_villages()
    villages.loc[1, "name"] = unicodedata.normalize("NFD", "Thôn Khuổi Phầy")
    out2 = tmp_path / "nfd"
    write_operator_geojson(make_sites(), villages, out2)
    name = by_id(load(out2 / "viettel.geojson"))["village/V2"]["properties"]["name"]
    assert name == unicodedata.normalize("NFC", "Thôn Khuổi Phầy")
    assert unicodedata.is_normalized("NFC", name)


def test_index_counts_and_hashes(exported: tuple[Path, list[Path]]) -> None:
    out, _ = exported
    index = load(out / "index.json")
    assert [e["slug"] for e in index["operators"]] == ["viettel", "vnpt"]
    viettel, vnpt = index["operators"]
    assert (viettel["sites"], viettel["villages"], viettel["population"]) == (2, 3, 820 + 430 + 95)
    assert (vnpt["sites"], vnpt["villages"], vnpt["population"]) == (1, 1, 180)
    assert (viettel["links"], vnpt["links"]) == (0, 0)
    for entry in index["operators"]:
        assert list(entry["files"]) == ["geojson", "gpkg", "kml", "csv"]
        for fmt, info in entry["files"].items():
            assert info["file"] == f"{entry['slug']}.{fmt}"
            data = (out / info["file"]).read_bytes()
            assert info["sha256"] == hashlib.sha256(data).hexdigest()
            assert info["bytes"] == len(data)
    assert viettel["files"]["gpkg"]["layers"] == {"sites": 2, "villages": 3, "links": 0}
    assert viettel["files"]["kml"]["folders"] == {"Sites": 2, "Villages": 3, "Backhaul links": 0}
    assert viettel["files"]["csv"]["rows"] == 5
    assert viettel["files"]["geojson"]["features"] == 5
    text = (out / "index.json").read_text(encoding="utf-8")
    assert "2025-" not in text and "time" not in text  # no timestamps


def test_same_inputs_give_identical_bytes(tmp_path: Path) -> None:
    a = write_operator_exports(make_sites(), make_villages(), tmp_path / "a", links=make_links())
    b = write_operator_exports(make_sites(), make_villages(), tmp_path / "b", links=make_links())
    assert len(a) == 10
    assert [p.read_bytes() for p in a] == [p.read_bytes() for p in b]  # GPKG too
    # and the row order of the input does not matter (sorted by site_id, link keys)
    c = write_operator_exports(
        make_sites().iloc[::-1], make_villages(), tmp_path / "c", links=make_links().iloc[::-1]
    )
    assert [p.read_bytes() for p in a] == [p.read_bytes() for p in c]
    # the GeoJSON-only writer gives the same GeoJSON bytes
    d = write_operator_geojson(make_sites(), make_villages(), tmp_path / "d", links=make_links())
    assert [p.name for p in d] == ["viettel.geojson", "vnpt.geojson", SCHEMA, "index.json"]
    assert d[0].read_bytes() == a[0].read_bytes()


def test_projected_inputs_are_exported_in_lonlat(tmp_path: Path) -> None:
    # VN-2000 / UTM 48N in (EPSG:3405), EPSG:4326 lon/lat out
    write_operator_exports(
        make_sites().to_crs("EPSG:3405"), make_villages().to_crs("EPSG:3405"), tmp_path
    )
    lon, lat = by_id(load(tmp_path / "viettel.geojson"))["village/V1"]["geometry"]["coordinates"]
    assert lon == pytest.approx(105.8, abs=2e-6) and lat == pytest.approx(21.0, abs=2e-6)


def test_unknown_village_or_operator_is_a_schema_error(tmp_path: Path) -> None:
    sites = make_sites()
    sites.loc[0, "villages_served"] = "V2;NOPE"
    with pytest.raises(SchemaError, match="NOPE"):
        write_operator_geojson(sites, make_villages(), tmp_path)
    sites = make_sites()
    sites.loc[2, "operator"] = "Gmobile"
    with pytest.raises(SchemaError, match="Gmobile"):
        write_operator_geojson(sites, make_villages(), tmp_path)


def test_validate_rfc7946_finds_the_problems() -> None:
    good = {
        "type": "FeatureCollection",
        "bbox": [105.0, 20.0, 106.0, 21.0],
        "features": [
            {
                "type": "Feature",
                "id": "a",
                "geometry": {"type": "Point", "coordinates": [105.8, 21.0]},
                "properties": {},
            },
            {
                "type": "Feature",
                "id": "b",
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [[[105, 20], [106, 20], [106, 21], [105, 20]]],
                },
                "properties": None,
            },
        ],
    }
    assert validate_rfc7946(good, region_lonlat=VIETNAM) == []

    def problems(change: Any) -> list[str]:
        doc = copy.deepcopy(good)
        change(doc)
        return validate_rfc7946(doc, region_lonlat=VIETNAM)

    assert any("crs" in p for p in problems(lambda d: d.update(crs={"type": "name"})))
    assert any("not a string" in p for p in problems(lambda d: d["features"][0].update(id=7)))
    assert any("FeatureCollection" in p for p in problems(lambda d: d.update(type="Feature")))
    swapped = problems(lambda d: d["features"][0]["geometry"].update(coordinates=[21.0, 105.8]))
    assert any("latitude 105.8 is outside" in p for p in swapped)
    assert any("outside the expected region" in p for p in swapped)
    assert any(
        "not closed" in p
        for p in problems(
            lambda d: d["features"][1]["geometry"]["coordinates"][0].__setitem__(-1, [105, 20.5])
        )
    )
    clockwise = [[105, 20], [105, 21], [106, 21], [105, 20]]
    assert any(
        "right-hand rule" in p
        for p in problems(lambda d: d["features"][1]["geometry"].update(coordinates=[clockwise]))
    )
    assert any(
        "decimals" in p
        for p in problems(
            lambda d: d["features"][0]["geometry"].update(coordinates=[105.12345678, 21.0])
        )
    )
    assert any("bbox" in p for p in problems(lambda d: d.update(bbox=[105.9, 20.0, 106.0, 21.0])))
    assert any("'features'" in p for p in problems(lambda d: d.pop("features")))
    assert validate_rfc7946([1, 2]) != []


# --------------------------------------------------------------------------- links, GPKG, KML, CSV


def make_links() -> gpd.GeoDataFrame:
    # S1: a fibre link (3 points) and a microwave hop; S3 (VNPT): satellite
    return gpd.GeoDataFrame(
        {
            "site_id": ["S1", "S3", "S1"],
            "operator": ["Viettel", "VNPT", "Viettel"],
            "kind": ["microwave", "satellite", "fibre"],
            "length_m": [12_345.67, np.nan, 8_000.0],
        },
        geometry=[
            LineString([(105.81, 21.01), (105.9, 21.1)]),
            LineString([(104.51, 22.24), (104.52, 22.25)]),
            LineString([(105.81, 21.01), (105.85, 21.0), (105.8812345678, 20.95)]),
        ],
        crs="EPSG:4326",
    )


def test_links_in_geojson_follow_the_schema(tmp_path: Path) -> None:
    write_operator_exports(
        make_sites(), make_villages(), tmp_path, links=make_links(), formats=["geojson"]
    )
    viettel = load(tmp_path / "viettel.geojson")
    assert validate_rfc7946(viettel, region_lonlat=VIETNAM) == []
    validator = jsonschema.Draft202012Validator(load_schema())
    assert [e.message for e in validator.iter_errors(viettel)] == []
    assert [e.message for e in validator.iter_errors(load(tmp_path / "vnpt.geojson"))] == []
    features = by_id(viettel)
    # links after sites and villages; sorted by site, kind: fibre before microwave
    assert list(features)[-2:] == ["link/S1/1", "link/S1/2"]
    fibre = features["link/S1/1"]
    assert fibre["properties"] == {
        "feature_type": "link",
        "link_id": "S1/1",
        "site_id": "S1",
        "operator": "Viettel",
        "kind": "fibre",
        "length_m": 8000.0,
    }
    assert fibre["geometry"]["coordinates"][-1] == [105.881235, 20.95]  # 6 decimals
    assert features["link/S1/2"]["properties"]["length_m"] == 12345.7  # 1 decimal
    # the collection's bbox grows to the links' ends (20.95 south, 105.9 east)
    assert viettel["bbox"] == [105.123457, 20.95, 105.9, 21.987654]
    vnpt = by_id(load(tmp_path / "vnpt.geojson"))
    assert vnpt["link/S3/1"]["properties"]["length_m"] is None
    # a link feature the schema must reject
    bad = copy.deepcopy(viettel)
    bad["features"][-1]["properties"]["kind"] = "copper"
    assert list(validator.iter_errors(bad))


def test_bad_links_are_schema_errors(tmp_path: Path) -> None:
    links = make_links()
    links.loc[0, "kind"] = "copper"
    with pytest.raises(SchemaError, match="copper"):
        write_operator_exports(make_sites(), make_villages(), tmp_path, links=links)
    links = make_links().drop(columns=["length_m"])
    with pytest.raises(SchemaError, match="length_m"):
        write_operator_exports(make_sites(), make_villages(), tmp_path, links=links)


def test_gpkg_round_trip(tmp_path: Path) -> None:
    write_operator_exports(make_sites(), make_villages(), tmp_path, links=make_links())
    path = tmp_path / "viettel.gpkg"
    layers = pyogrio.list_layers(path)
    assert [tuple(x) for x in layers] == [
        ("sites", "Point"),
        ("villages", "Point"),
        ("links", "LineString"),
    ]
    sites = pyogrio.read_dataframe(path, layer="sites")
    assert sites.crs.to_epsg() == 4326
    assert sites["site_id"].tolist() == ["S1", "S2"]
    assert sites["villages_served"].tolist() == ["V1;V2", "V2;0012"]
    assert sites["capex_vnd"].tolist() == [2_150_000_000, 2_150_000_000]
    assert sites["deadline"].tolist() == ["2025-08-31", "2025-08-31"]
    assert sites.geometry.iloc[0].coords[0] == (105.81, 21.01)
    villages = pyogrio.read_dataframe(path, layer="villages").set_index("village_id")
    assert villages.index.tolist() == ["0012", "V1", "V2"]  # ids stay text
    assert villages.loc["V1", "name"] == NAME_V1  # text as data, not escaped
    assert villages["electrified"].dtype == bool and bool(villages.loc["V1", "electrified"])
    assert villages.loc["V2", "population"] == 430
    assert villages.loc["V1", "best_rsrp_dbm"] == pytest.approx(-118.3, abs=1e-9)
    assert villages.loc["0012", "served_by_site"] == "S2"
    links = pyogrio.read_dataframe(path, layer="links")
    assert links["link_id"].tolist() == ["S1/1", "S1/2"]
    assert links["kind"].tolist() == ["fibre", "microwave"]
    assert len(links.geometry.iloc[0].coords) == 3
    # no links given: the layer is still there, empty, with its columns and geometry type
    write_operator_exports(make_sites(), make_villages(), tmp_path / "nolinks", formats=["gpkg"])
    empty = tmp_path / "nolinks" / "vnpt.gpkg"
    info = pyogrio.read_info(empty, layer="links")
    assert info["features"] == 0
    assert info["geometry_type"] == "LineString"
    assert list(info["fields"]) == ["link_id", "site_id", "operator", "kind", "length_m"]
    assert list(info["dtypes"]) == ["object", "object", "object", "object", "float64"]


def test_kml_round_trip_and_escaping(tmp_path: Path) -> None:
    write_operator_exports(
        make_sites(), make_villages(), tmp_path, links=make_links(), formats=["kml"]
    )
    path = tmp_path / "viettel.kml"
    raw = path.read_text(encoding="utf-8")
    ElementTree.fromstring(raw.encode("utf-8"))  # well-formed XML
    names = [str(n) for n, _ in pyogrio.list_layers(path)]
    assert names == ["Sites", "Villages", "Backhaul links"]
    villages = pyogrio.read_dataframe(path, layer="Villages")
    assert villages["Name"].tolist() == ["Xóm Đồi", NAME_V1, "Thôn Khuổi Phầy"]
    v1 = villages.set_index("village_id").loc["V1"]
    # the balloon is HTML with the name escaped: as text, never as markup
    assert "<h3>&lt;b&gt;Bản &quot;Nà&quot; &amp; Co&lt;/b&gt; {{x}}</h3>" in v1["description"]
    assert "<th>Population</th><td>820</td>" in v1["description"]
    assert v1["population"] == "820" and v1["electrified"] == "true"
    assert (v1.geometry.x, v1.geometry.y) == (105.8, 21.0)
    # the balloon shows only the description, never $[name] as HTML
    assert raw.count("<BalloonStyle><text>$[description]</text></BalloonStyle>") == 7
    assert "$[name]" not in raw
    sites = pyogrio.read_dataframe(path, layer="Sites")
    assert sites["Name"].tolist() == ["S1", "S2"]
    assert sites["villages_served"].tolist() == ["V1;V2", "V2;0012"]
    links = pyogrio.read_dataframe(path, layer="Backhaul links")
    assert links["link_id"].tolist() == ["S1/1", "S1/2"]
    assert links.geometry.iloc[0].geom_type == "LineString"
    # characters XML 1.0 forbids do not break the file
    villages_in = make_villages()
    villages_in.loc[1, "name"] = "Thôn\x01Khuổi\x0bPhầy"
    write_operator_exports(make_sites(), villages_in, tmp_path / "ctl", formats=["kml"])
    text = (tmp_path / "ctl" / "viettel.kml").read_text(encoding="utf-8")
    ElementTree.fromstring(text.encode("utf-8"))
    assert "Thôn\ufffdKhuổi\ufffdPhầy" in text


def test_csv_round_trip(tmp_path: Path) -> None:
    villages = make_villages()
    villages.loc[3, "name"] = 'Làng "Mới", xóm 2\nhàng dưới'  # quotes, comma, newline
    sites = make_sites()
    sites.loc[1, "villages_served"] = "V1;V2;V4"  # S1
    sites.loc[1, "n_villages"] = 3
    write_operator_exports(sites, villages, tmp_path, links=make_links(), formats=["csv"])
    path = tmp_path / "viettel.csv"
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbffeature_type,id,lon,lat,")  # UTF-8 with BOM
    assert b"\r\n" not in data
    frame = pyogrio.read_dataframe(
        path, X_POSSIBLE_NAMES="lon", Y_POSSIBLE_NAMES="lat", KEEP_GEOM_COLUMNS="NO"
    )
    assert frame.columns[0] == "feature_type"  # GDAL skips the byte-order mark
    assert frame["id"].tolist() == [
        "site/S1",
        "site/S2",
        "village/0012",
        "village/V1",
        "village/V2",
        "village/V4",
    ]  # sites then villages; links are not CSV rows
    rows = frame.set_index("id")
    assert rows.loc["village/V1", "name"] == NAME_V1  # text as data
    assert rows.loc["village/V4", "name"] == 'Làng "Mới", xóm 2\nhàng dưới'
    assert rows.loc["village/0012", "village_id"] == "0012"
    assert rows.loc["site/S1", "villages_served"] == "V1;V2;V4"
    point = rows.loc["village/V2", "geometry"]
    assert (point.x, point.y) == (105.123457, 21.987654)
    # and with the standard library, for a spreadsheet-like reader
    with open(path, encoding="utf-8-sig", newline="") as fh:
        records = list(csv.DictReader(fh))
    assert records[3]["name"] == NAME_V1
    assert records[3]["electrified"] == "true"
    assert records[0]["capex_vnd"] == "2150000000"
    assert records[0]["name"] == ""  # a site has no name
