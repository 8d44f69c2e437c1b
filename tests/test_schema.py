"""Column contracts, value normalisation and the 2025 province reform (covgap.schema, .admin).

Expected values are the rules of DESIGN §3 and the legal facts of Resolution 202/2025/QH15,
written out by hand; the constants are also checked against ../shared/data when present."""

from __future__ import annotations

import csv
import json
import unicodedata
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from covgap import admin, schema
from covgap.errors import SchemaError

SHARED = Path(__file__).resolve().parents[2] / "shared"


def _s(*values: object) -> pd.Series:
    return pd.Series(list(values), dtype=object)


def _one(parsed: schema.Parsed) -> tuple[object, object, object]:
    return parsed.values.iloc[0], parsed.error.iloc[0], parsed.note.iloc[0]


# --- text ----------------------------------------------------------------------------------


def test_text_is_nfc_without_zero_width_characters() -> None:
    decomposed = unicodedata.normalize("NFD", "Bản Khoà")
    value, err, note = _one(schema.parse_text(_s(f"  {decomposed}\u200b\ufeff ")))
    assert value == "Bản Khoà"
    assert unicodedata.is_normalized("NFC", str(value))
    assert err is None and note is None


def test_required_text_missing_is_rejected() -> None:
    parsed = schema.parse_text(_s("", None, "   "), required=True, what="village_id")
    assert parsed.error.tolist() == ["missing value (village_id)"] * 3


# --- operators -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected", "noted"),
    [
        ("Viettel", "Viettel", False),
        ("VNPT", "VNPT", False),
        ("MobiFone", "MobiFone", False),
        ("Vietnamobile", "Vietnamobile", False),
        ("viettel", "Viettel", True),
        ("Viettel Telecom", "Viettel", True),
        ("VIETTEL", "Viettel", True),
        ("VinaPhone", "VNPT", True),
        ("vnpt", "VNPT", True),
        ("VNPT-VinaPhone", "VNPT", True),
        ("Mobifone", "MobiFone", True),
        ("mobifone", "MobiFone", True),
        ("Vietnam Mobile", "Vietnamobile", True),
    ],
)
def test_operator_aliases(raw: str, expected: str, noted: bool) -> None:
    value, err, note = _one(schema.parse_operator(_s(raw)))
    assert value == expected and err is None
    assert (note is not None) is noted


@pytest.mark.parametrize("raw", ["Gmobile", "Beeline", "SFone", "Viettle"])
def test_unknown_operator_is_rejected(raw: str) -> None:
    value, err, _ = _one(schema.parse_operator(_s(raw)))
    assert value is None
    assert "unknown operator" in str(err) and "Viettel, VNPT, MobiFone, Vietnamobile" in str(err)


# --- booleans ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("true", True),
        ("TRUE", True),
        ("False", False),
        ("yes", True),
        ("No", False),
        ("1", True),
        ("0", False),
        ("có", True),
        ("Có", True),
        ("CÓ", True),
        (unicodedata.normalize("NFD", "có"), True),
        ("không", False),
        ("Không", False),
        (unicodedata.normalize("NFD", "KHÔNG"), False),
    ],
)
def test_booleans(raw: str, expected: bool) -> None:
    value, err, _ = _one(schema.parse_bool(_s(raw)))
    assert value is expected and err is None


@pytest.mark.parametrize("raw", ["chưa", "maybe", "", None, "2", "y", "t", "khong có"])
def test_booleans_never_default_to_false(raw: object) -> None:
    value, err, _ = _one(schema.parse_bool(_s(raw)))
    assert value is None
    assert err is not None


# --- integers ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected", "noted"),
    [
        ("1200", 1200, False),
        ("0", 0, False),
        ("1.200", 1200, True),
        ("1,200", 1200, True),
        ("1 200", 1200, True),
        ("1\u00a0200", 1200, True),
        ("12.345.678", 12345678, True),
        ("1200.0", 1200, True),
    ],
)
def test_integers(raw: str, expected: int, noted: bool) -> None:
    value, err, note = _one(schema.parse_int(_s(raw)))
    assert value == expected and err is None
    assert (note is not None) is noted


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("2.5", "not a whole number"),
        ("khoảng 500", "not a whole number"),
        ("-5", "negative"),
        ("1.2000", "not a whole number"),
        ("12,00", "not a whole number"),
        ("abc", "not a whole number"),
    ],
)
def test_bad_integers_are_rejected(raw: str, reason: str) -> None:
    value, err, _ = _one(schema.parse_int(_s(raw)))
    assert value is None
    assert reason in str(err)


# --- floats --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "decimal_comma", "expected", "noted"),
    [
        ("-95.5", False, -95.5, False),
        ("1e3", False, 1000.0, False),
        ("-95,5", False, -95.5, True),
        ("1,800", False, 1800.0, True),
        ("-95,5", True, -95.5, False),
        ("105,83636", True, 105.83636, False),
        ("1.800,5", True, 1800.5, True),
        ("\u2212100", False, -100.0, False),
    ],
)
def test_floats(raw: str, decimal_comma: bool, expected: float, noted: bool) -> None:
    value, err, note = _one(schema.parse_float(_s(raw), decimal_comma=decimal_comma))
    assert err is None
    assert value == pytest.approx(expected, abs=1e-12)
    assert (note is not None) is noted


@pytest.mark.parametrize("raw", ["nan", "inf", "-Infinity", "abc", "1e999", "--5"])
def test_non_numbers_are_rejected(raw: str) -> None:
    value, err, _ = _one(schema.parse_float(_s(raw)))
    assert np.isnan(value)  # type: ignore[arg-type]
    assert err == "not a number"


@pytest.mark.parametrize(
    ("column", "raw", "ok"),
    [
        ("measured_rsrp_dbm", "-140", True),
        ("measured_rsrp_dbm", "-44", True),
        ("measured_rsrp_dbm", "-141", False),
        ("measured_rsrp_dbm", "-30", False),
        ("frequency_mhz", "700", True),
        ("frequency_mhz", "3800", True),
        ("frequency_mhz", "3900", False),
        ("frequency_mhz", "450", False),
        ("height_m", "3", True),
        ("height_m", "150", True),
        ("height_m", "2.5", False),
        ("height_m", "200", False),
    ],
)
def test_ranges(column: str, raw: str, ok: bool) -> None:
    parsed = schema.parse_float(_s(raw), value_range=schema.RANGES[column], name=column)
    assert (parsed.error.iloc[0] is None) is ok
    if not ok:
        assert "outside" in str(parsed.error.iloc[0])


def test_frequency_in_ghz_gets_the_hint() -> None:
    parsed = schema.parse_float(
        _s("1.8"), value_range=schema.RANGES["frequency_mhz"], unit="MHz", name="frequency_mhz"
    )
    err = str(parsed.error.iloc[0])
    assert "looks like GHz" in err and "1800" in err


# --- dates ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected", "noted"),
    [
        ("2025-09-30", "2025-09-30", False),
        ("2025/09/30", "2025-09-30", False),
        ("2025-09-30T00:00:00", "2025-09-30", False),
        ("30/09/2025", "2025-09-30", True),
        ("05/09/2025", "2025-09-05", True),  # day first: 5 September, not 9 May
        ("5/9/2025", "2025-09-05", True),
        ("05.09.2025", "2025-09-05", True),
    ],
)
def test_dates(raw: str, expected: str, noted: bool) -> None:
    value, err, note = _one(schema.parse_date(_s(raw)))
    assert err is None
    assert pd.Timestamp(value) == pd.Timestamp(expected)  # type: ignore[arg-type]
    assert (note is not None) is noted


@pytest.mark.parametrize("raw", ["2025-02-30", "31/02/2025", "2025-13-01", "09/31/2025", "soon"])
def test_impossible_dates_are_rejected(raw: str) -> None:
    parsed = schema.parse_date(_s(raw))
    assert pd.isna(parsed.values.iloc[0])
    assert parsed.error.iloc[0] is not None


def test_dates_are_datetime64_seconds() -> None:
    parsed = schema.parse_date(_s("2025-09-30", None))
    assert str(parsed.values.dtype) == "datetime64[s]"
    assert pd.isna(parsed.values.iloc[1]) and parsed.error.iloc[1] is None


# --- vocabularies --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "raw", "expected"),
    [
        ("technology", "4G", "4G"),
        ("technology", "4g", "4G"),
        ("technology", "LTE", "4G"),
        ("technology", "NR", "5G"),
        ("clutter", "open_rural", "open_rural"),
        ("clutter", "Open Rural", "open_rural"),
        ("clutter", "urban-small-medium", "urban_small_medium"),
        ("status", "Planned", "planned"),
        ("backhaul", "fiber", "fibre"),
        ("power", "Solar", "solar"),
    ],
)
def test_choices(kind: str, raw: str, expected: str) -> None:
    value, err, _ = _one(schema.parse_choice(_s(raw), kind))
    assert value == expected and err is None


@pytest.mark.parametrize(
    ("kind", "raw"), [("technology", "6G"), ("clutter", "rural"), ("status", "live")]
)
def test_unknown_choices_are_rejected(kind: str, raw: str) -> None:
    value, err, _ = _one(schema.parse_choice(_s(raw), kind))
    assert value is None and f"unknown {kind}" in str(err)


# --- duplicates ----------------------------------------------------------------------------


def test_later_duplicates_are_rejected_naming_the_first_row() -> None:
    ids = schema.clean_text_series(_s("A", "B", "A", None, "A", None))
    err = schema.duplicate_errors(ids, np.array([1, 2, 3, 4, 5, 6]), column="village_id")
    assert err.tolist() == [
        None,
        None,
        "duplicate village_id 'A' (first at row 1)",
        None,
        "duplicate village_id 'A' (first at row 1)",
        None,
    ]


# --- column names --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "canonical"),
    [
        ("electrifie", "electrified"),
        ("measured_r", "measured_rsrp_dbm"),
        ("measured_o", "measured_operator"),
        ("assigned_o", "assigned_operator"),
        ("province_c", "province_code"),
        ("commune_co", "commune_code"),
        ("Village ID", "village_id"),
        ("POPULATION", "population"),
    ],
)
def test_village_headers(header: str, canonical: str) -> None:
    colmap = schema.resolve_columns([header], schema.VILLAGE_COLUMNS, file="f.shp")
    assert colmap.columns == {canonical: header}


@pytest.mark.parametrize(
    ("header", "canonical"),
    [
        ("frequency_", "frequency_mhz"),
        ("bandwidth_", "bandwidth_mhz"),
        ("beamwidth_", "beamwidth_deg"),
        ("azimuth_de", "azimuth_deg"),
        ("antenna_ga", "antenna_gain_dbi"),
        ("tx_power_d", "tx_power_dbm"),
    ],
)
def test_tower_shapefile_truncations(header: str, canonical: str) -> None:
    colmap = schema.resolve_columns([header], schema.TOWER_COLUMNS, file="t.shp")
    assert colmap.columns == {canonical: header}
    assert any(repr(header) in n and canonical in n for n in colmap.notes)


@pytest.mark.parametrize(
    ("lon", "lat"),
    [
        ("lon", "lat"),
        ("lng", "lat"),
        ("longitude", "latitude"),
        ("x", "y"),
        ("kinh_do", "vi_do"),
        ("Kinh độ", "Vĩ độ"),
        ("LON", "LAT"),
    ],
)
def test_coordinate_aliases(lon: str, lat: str) -> None:
    colmap = schema.resolve_columns(["village_id", lon, lat], schema.VILLAGE_COLUMNS, file="f")
    assert (colmap.lon, colmap.lat) == (lon, lat)


def test_two_headers_for_one_column_are_refused() -> None:
    with pytest.raises(SchemaError) as info:
        schema.resolve_columns(["longitude", "lng"], schema.VILLAGE_COLUMNS, file="v.csv")
    assert "'longitude' and 'lng'" in info.value.reason
    assert info.value.file == "v.csv"


def test_the_exact_name_wins_over_an_alias() -> None:
    colmap = schema.resolve_columns(["id", "tower_id", "x"], schema.TOWER_COLUMNS, file="t.csv")
    assert colmap.columns == {"tower_id": "tower_id"}
    assert colmap.ignored == ()
    assert any("'id' ignored" in n for n in colmap.notes)


def test_missing_column_lists_what_was_found() -> None:
    colmap = schema.resolve_columns(
        ["village_id", "name", "lon", "lat"], schema.VILLAGE_COLUMNS, file="v.csv"
    )
    with pytest.raises(SchemaError) as info:
        schema.check_required(colmap, schema.VILLAGE_COLUMNS, file="v.csv", expected="villages")
    assert info.value.column == "province_code"
    assert "found: village_id, name, lon, lat" in info.value.reason


# --- provinces (Resolution 202/2025/QH15) --------------------------------------------------


def test_34_provinces_and_63_old_ones() -> None:
    assert len(admin.PROVINCES_2025) == 34
    assert len(admin.OLD_PROVINCES) == 63
    assert set(admin.REGION_OF_PROVINCE) == set(admin.PROVINCES_2025)
    assert set(admin.REGION_OF_PROVINCE.values()) == set(admin.REGIONS)
    assert all(new in admin.PROVINCES_2025 for _, new in admin.OLD_PROVINCES.values())
    # Every new province kept the code of one of the old ones (its administrative centre).
    for code in admin.PROVINCES_2025:
        assert admin.OLD_PROVINCES[code][1] == code


@pytest.mark.parametrize(
    ("code", "name", "region"),
    [
        ("15", "Lào Cai", "Northwest"),
        ("08", "Tuyên Quang", "Northeast"),
        ("01", "Hà Nội", "Red River Delta"),
        ("46", "Huế", "North Central"),
        ("52", "Gia Lai", "South Central Coast"),  # centre in Quy Nhơn (old Bình Định)
        ("66", "Đắk Lắk", "Central Highlands"),
        ("79", "Hồ Chí Minh", "Southeast"),
        ("80", "Tây Ninh", "Mekong Delta"),  # centre in Tân An (old Long An)
        ("96", "Cà Mau", "Mekong Delta"),
    ],
)
def test_regions(code: str, name: str, region: str) -> None:
    assert admin.PROVINCES_2025[code] == name
    assert admin.REGION_OF_PROVINCE[code] == region


@pytest.mark.parametrize(
    ("code", "name", "vintage", "expected", "warned"),
    [
        ("15", "Lào Cai", 2025, ("15", "Lào Cai"), False),
        ("15", "Tỉnh Lào Cai", 2025, ("15", "Lào Cai"), False),
        ("56", "Khánh Hoà", 2025, ("56", "Khánh Hòa"), False),  # tone placement
        ("56", "KHÁNH HÒA", 2025, ("56", "Khánh Hòa"), False),
        ("79", "Thành phố Hồ Chí Minh", 2025, ("79", "Hồ Chí Minh"), False),
        ("79", "TP. Hồ Chí Minh", 2025, ("79", "Hồ Chí Minh"), False),
        ("1", "Hà Nội", 2025, ("01", "Hà Nội"), False),
        ("15", "Yên Bái", 2025, ("15", "Lào Cai"), True),  # old name of a merged province
        ("52", "Bình Định", 2025, ("52", "Gia Lai"), True),
        ("46", "Thừa Thiên Huế", 2025, ("46", "Huế"), True),
        ("15", "Yên Bái", 2019, ("15", "Lào Cai"), True),  # 15 meant Yên Bái before 2025
        ("10", "Lào Cai", 2019, ("15", "Lào Cai"), True),
        ("02", "Hà Giang", 2019, ("08", "Tuyên Quang"), True),
        ("64", "Gia Lai", 2019, ("52", "Gia Lai"), True),
        ("77", "Bà Rịa - Vũng Tàu", 2019, ("79", "Hồ Chí Minh"), True),
        ("77", "Bà Rịa Vũng Tàu", 2019, ("79", "Hồ Chí Minh"), True),
        ("01", "Hà Nội", 2019, ("01", "Hà Nội"), False),
    ],
)
def test_normalise_province(
    code: str, name: str, vintage: int, expected: tuple[str, str], warned: bool
) -> None:
    c, n, warning = admin.normalise_province(code, name, vintage)
    assert (c, n) == expected
    assert (warning is not None) is warned


@pytest.mark.parametrize(
    ("code", "name", "vintage", "column", "words"),
    [
        ("10", "Lào Cai", 2025, "province_code", "admin_vintage = 2019"),
        ("15", "Hà Nội", 2025, "province", "01 Hà Nội"),
        ("52", "Gia Lai", 2019, "province", "admin_vintage = 2025"),
        ("99", "Atlantis", 2025, "province_code", "not a 2025 province code"),
        ("15", "Atlantis", 2025, "province", "unknown province"),
        ("VN-03", "Hà Giang", 2025, "province_code", "ISO 3166-2"),
        (None, None, 2025, "province", "missing"),
    ],
)
def test_bad_provinces(
    code: str | None, name: str | None, vintage: int, column: str, words: str
) -> None:
    with pytest.raises(SchemaError) as info:
        admin.normalise_province(code, name, vintage)
    assert info.value.column == column
    assert words in info.value.reason


def test_constants_match_the_shared_base_data() -> None:
    data = SHARED / "data"
    if not data.exists():
        pytest.skip("../shared is absent: cannot compare with vn_province_63_to_34.csv")
    with open(data / "vn_province_63_to_34.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert {r["old_province_code"]: (r["old_province_name"], r["province_code"]) for r in rows} == (
        admin.OLD_PROVINCES
    )
    features = json.loads((data / "vn_provinces34.geojson").read_text(encoding="utf-8"))["features"]
    assert {
        f["properties"]["province_code"]: f["properties"]["province_name"] for f in features
    } == (admin.PROVINCES_2025)


# --- long columns (the vectorised paths) ---------------------------------------------------

#: Tricky cells and what cleaning makes of them (DESIGN §3: NFC, zero-width characters out,
#: stripped of what ``str.strip`` strips, empty → missing).
_TRICKY = {
    "plain": "plain",
    "  padded\t": "padded",
    "\x1cfile separators\x1f": "file separators",
    "\u00a0no-break\u3000": "no-break",
    "e\u200b\u0301": "é",
    unicodedata.normalize("NFD", "Thôn Ngọc Hà"): "Thôn Ngọc Hà",
    "": None,
    " \x0b ": None,
    "T0001": "T0001",
}


@pytest.mark.parametrize("as_strings", [False, True])
def test_long_columns_clean_cell_by_cell_rules(as_strings: bool) -> None:
    """3,000 cells (the vectorised paths: object text, pandas strings, and a vocabulary
    column of few distinct values) clean exactly as the rules say, cell by cell."""
    keys = [*_TRICKY, None]
    cells = [keys[i % len(keys)] for i in range(3000)]
    series = pd.Series(cells, dtype="str" if as_strings else object)
    got = schema.clean_text_series(series).tolist()
    assert got == [None if c is None else _TRICKY[c] for c in cells]
    unique_ids = [f" V{i:05d}" if i % 7 == 0 else f"V{i:05d}" for i in range(3000)]
    cleaned = schema.clean_text_series(pd.Series(unique_ids, dtype="str" if as_strings else object))
    assert cleaned.tolist() == [f"V{i:05d}" for i in range(3000)]


def test_long_vocabulary_columns_parse_like_short_ones() -> None:
    """Aliases and unknowns in a 5,000-row operator column: values, notes and errors per
    row as for one cell."""
    raw = ["Viettel", " vinaphone ", "xyz", None, "VNM"] * 1000
    parsed = schema.parse_operator(pd.Series(raw, dtype="str"), required=True)
    assert parsed.values.tolist()[:5] == ["Viettel", "VNPT", None, None, "Vietnamobile"]
    assert parsed.note.tolist()[:5] == [
        None,
        "operator alias read as VNPT",
        None,
        None,
        "operator alias read as Vietnamobile",
    ]
    assert parsed.error.tolist()[2] == (
        "unknown operator (expected one of Viettel, VNPT, MobiFone, Vietnamobile)"
    )
    assert parsed.error.tolist()[3].startswith("missing value (an operator")
    assert parsed.values.tolist() == parsed.values.tolist()[:5] * 1000


def test_typed_numbers_parse_as_their_text_would() -> None:
    """A float column from a typed file (GeoParquet, GPKG): NaN is absent, ±inf is not a
    number, the range applies — as for the text "900", "", "inf", "-inf", "5000", "2.1"."""
    typed = pd.Series([900.0, np.nan, np.inf, -np.inf, 5000.0, 2.1])
    text = _s("900", "", "inf", "-inf", "5000", "2.1")

    def parse(values: pd.Series) -> schema.Parsed:
        return schema.parse_float(
            values, required=True, value_range=(700.0, 3800.0), unit="MHz", name="frequency_mhz"
        )

    a, b = parse(typed), parse(text)
    assert a.error.tolist() == b.error.tolist()
    assert a.error.tolist() == [
        None,
        "missing value (a number in MHz)",
        "not a number",
        "not a number",
        "5000 is outside 700…3800 MHz",
        "2.1 MHz looks like GHz: write frequency_mhz in MHz (e.g. 2100); accepted range "
        "700…3800 MHz",
    ]
    assert a.values.tolist()[0] == b.values.tolist()[0] == 900.0
    assert a.values.isna().tolist()[1:] == [True] * 5


def test_typed_integers_parse_as_their_text_would() -> None:
    ints = schema.parse_int(pd.Series([500, -3, 0], dtype="int64"), required=True)
    assert ints.values.tolist() == [500, None, 0]
    assert ints.error.tolist() == [None, "negative (must be a whole number ≥ 0)", None]
    nullable = schema.parse_int(pd.Series([7, None], dtype="Int64"), required=True)
    assert nullable.values.tolist() == [7, None]
    assert nullable.error.tolist() == [None, "missing value (a whole number ≥ 0)"]


def test_duplicates_in_a_long_column_name_the_first_row() -> None:
    ids = schema.clean_text_series(pd.Series([f"T{i % 2500}" for i in range(3000)], dtype="str"))
    err = schema.duplicate_errors(ids, np.arange(1, 3001), column="tower_id")
    assert err.notna().sum() == 500
    assert err.iloc[2500] == "duplicate tower_id 'T0' (first at row 1)"
    assert err.iloc[2999] == "duplicate tower_id 'T499' (first at row 500)"
