"""Vietnam's provinces: the 34 of 1 July 2025, the 63 before, and the mapping between them.

The mapping is the legal fact of Resolution 202/2025/QH15 (National Assembly, 12 June 2025,
effective 1 July 2025). The constants below were generated once from the project's base data
(``vn_provinces34.geojson`` attributes and ``vn_province_63_to_34.csv``, see
``shared/data/SOURCES.md``) and are kept here so the package never reads ``../shared`` at run
time. Province codes are the 2-digit GSO codes; note that codes were reused with new meanings
(15 was Yên Bái and is Lào Cai now; likewise 24, 44, 52, 80, 82, 91), so a code is meaningful
only together with its vintage (``2025`` or ``2019`` for the pre-2025 63 provinces).

Planning regions. The eight socio-economic regions (Northwest, Northeast, Red River Delta,
North Central, South Central Coast, Central Highlands, Southeast, Mekong Delta) were defined
over the 63 provinces. A merged 2025 province takes the region of the old province that hosts
its administrative centre; that old province is always the one whose GSO code the new
province kept (e.g. Gia Lai 52 is centred in Quy Nhơn, old Bình Định 52, hence South Central
Coast; Tây Ninh 80 in Tân An, old Long An 80, hence Mekong Delta; Bắc Ninh 24 in old Bắc
Giang 24, hence Northeast). The seven merged provinces whose parts lie in different regions
are 24 Bắc Ninh, 25 Phú Thọ, 51 Quảng Ngãi, 52 Gia Lai, 66 Đắk Lắk, 68 Lâm Đồng and 80 Tây
Ninh. Scenarios can override the table (DESIGN §3, ``regions``).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from .errors import SchemaError

__all__ = [
    "ADMIN_VINTAGES",
    "OLD_PROVINCES",
    "PROVINCES_2025",
    "PROVINCE_FULL_NAMES_2025",
    "PROVINCE_NAMES_EN_2025",
    "REGIONS",
    "REGION_OF_OLD_PROVINCE",
    "REGION_OF_PROVINCE",
    "clean_text",
    "name_key",
    "normalise_province",
    "province_code_for_name",
]

ADMIN_VINTAGES: tuple[int, ...] = (2025, 2019)
"""Accepted ``admin_vintage`` values: 2025 (34 provinces) and 2019 (the 63 provinces in force
from 2008 to 30 June 2025; 2019 is the census year the old codes are usually quoted with)."""

PROVINCES_2025: dict[str, str] = {
    "01": "Hà Nội",
    "04": "Cao Bằng",
    "08": "Tuyên Quang",
    "11": "Điện Biên",
    "12": "Lai Châu",
    "14": "Sơn La",
    "15": "Lào Cai",
    "19": "Thái Nguyên",
    "20": "Lạng Sơn",
    "22": "Quảng Ninh",
    "24": "Bắc Ninh",
    "25": "Phú Thọ",
    "31": "Hải Phòng",
    "33": "Hưng Yên",
    "37": "Ninh Bình",
    "38": "Thanh Hóa",
    "40": "Nghệ An",
    "42": "Hà Tĩnh",
    "44": "Quảng Trị",
    "46": "Huế",
    "48": "Đà Nẵng",
    "51": "Quảng Ngãi",
    "52": "Gia Lai",
    "56": "Khánh Hòa",
    "66": "Đắk Lắk",
    "68": "Lâm Đồng",
    "75": "Đồng Nai",
    "79": "Hồ Chí Minh",
    "80": "Tây Ninh",
    "82": "Đồng Tháp",
    "86": "Vĩnh Long",
    "91": "An Giang",
    "92": "Cần Thơ",
    "96": "Cà Mau",
}
"""The 34 provinces of 1 July 2025: GSO code -> short official name (NFC)."""

PROVINCE_FULL_NAMES_2025: dict[str, str] = {
    "01": "Thành phố Hà Nội",
    "04": "Tỉnh Cao Bằng",
    "08": "Tỉnh Tuyên Quang",
    "11": "Tỉnh Điện Biên",
    "12": "Tỉnh Lai Châu",
    "14": "Tỉnh Sơn La",
    "15": "Tỉnh Lào Cai",
    "19": "Tỉnh Thái Nguyên",
    "20": "Tỉnh Lạng Sơn",
    "22": "Tỉnh Quảng Ninh",
    "24": "Tỉnh Bắc Ninh",
    "25": "Tỉnh Phú Thọ",
    "31": "Thành phố Hải Phòng",
    "33": "Tỉnh Hưng Yên",
    "37": "Tỉnh Ninh Bình",
    "38": "Tỉnh Thanh Hóa",
    "40": "Tỉnh Nghệ An",
    "42": "Tỉnh Hà Tĩnh",
    "44": "Tỉnh Quảng Trị",
    "46": "Thành phố Huế",
    "48": "Thành phố Đà Nẵng",
    "51": "Tỉnh Quảng Ngãi",
    "52": "Tỉnh Gia Lai",
    "56": "Tỉnh Khánh Hòa",
    "66": "Tỉnh Đắk Lắk",
    "68": "Tỉnh Lâm Đồng",
    "75": "Tỉnh Đồng Nai",
    "79": "Thành phố Hồ Chí Minh",
    "80": "Tỉnh Tây Ninh",
    "82": "Tỉnh Đồng Tháp",
    "86": "Tỉnh Vĩnh Long",
    "91": "Tỉnh An Giang",
    "92": "Thành phố Cần Thơ",
    "96": "Tỉnh Cà Mau",
}
"""Full names with the ``Tỉnh``/``Thành phố`` prefix."""

PROVINCE_NAMES_EN_2025: dict[str, str] = {
    "01": "Ha Noi",
    "04": "Cao Bang",
    "08": "Tuyen Quang",
    "11": "Dien Bien",
    "12": "Lai Chau",
    "14": "Son La",
    "15": "Lao Cai",
    "19": "Thai Nguyen",
    "20": "Lang Son",
    "22": "Quang Ninh",
    "24": "Bac Ninh",
    "25": "Phu Tho",
    "31": "Hai Phong",
    "33": "Hung Yen",
    "37": "Ninh Binh",
    "38": "Thanh Hoa",
    "40": "Nghe An",
    "42": "Ha Tinh",
    "44": "Quang Tri",
    "46": "Hue",
    "48": "Da Nang",
    "51": "Quang Ngai",
    "52": "Gia Lai",
    "56": "Khanh Hoa",
    "66": "Dak Lak",
    "68": "Lam Dong",
    "75": "Dong Nai",
    "79": "Ho Chi Minh",
    "80": "Tay Ninh",
    "82": "Dong Thap",
    "86": "Vinh Long",
    "91": "An Giang",
    "92": "Can Tho",
    "96": "Ca Mau",
}
"""ASCII names (no diacritics)."""

OLD_PROVINCES: dict[str, tuple[str, str]] = {
    "01": ("Hà Nội", "01"),
    "02": ("Hà Giang", "08"),
    "04": ("Cao Bằng", "04"),
    "06": ("Bắc Kạn", "19"),
    "08": ("Tuyên Quang", "08"),
    "10": ("Lào Cai", "15"),
    "11": ("Điện Biên", "11"),
    "12": ("Lai Châu", "12"),
    "14": ("Sơn La", "14"),
    "15": ("Yên Bái", "15"),
    "17": ("Hòa Bình", "25"),
    "19": ("Thái Nguyên", "19"),
    "20": ("Lạng Sơn", "20"),
    "22": ("Quảng Ninh", "22"),
    "24": ("Bắc Giang", "24"),
    "25": ("Phú Thọ", "25"),
    "26": ("Vĩnh Phúc", "25"),
    "27": ("Bắc Ninh", "24"),
    "30": ("Hải Dương", "31"),
    "31": ("Hải Phòng", "31"),
    "33": ("Hưng Yên", "33"),
    "34": ("Thái Bình", "33"),
    "35": ("Hà Nam", "37"),
    "36": ("Nam Định", "37"),
    "37": ("Ninh Bình", "37"),
    "38": ("Thanh Hóa", "38"),
    "40": ("Nghệ An", "40"),
    "42": ("Hà Tĩnh", "42"),
    "44": ("Quảng Bình", "44"),
    "45": ("Quảng Trị", "44"),
    "46": ("Thừa Thiên Huế", "46"),
    "48": ("Đà Nẵng", "48"),
    "49": ("Quảng Nam", "48"),
    "51": ("Quảng Ngãi", "51"),
    "52": ("Bình Định", "52"),
    "54": ("Phú Yên", "66"),
    "56": ("Khánh Hòa", "56"),
    "58": ("Ninh Thuận", "56"),
    "60": ("Bình Thuận", "68"),
    "62": ("Kon Tum", "51"),
    "64": ("Gia Lai", "52"),
    "66": ("Đắk Lắk", "66"),
    "67": ("Đắk Nông", "68"),
    "68": ("Lâm Đồng", "68"),
    "70": ("Bình Phước", "75"),
    "72": ("Tây Ninh", "80"),
    "74": ("Bình Dương", "79"),
    "75": ("Đồng Nai", "75"),
    "77": ("Bà Rịa - Vũng Tàu", "79"),
    "79": ("Hồ Chí Minh", "79"),
    "80": ("Long An", "80"),
    "82": ("Tiền Giang", "82"),
    "83": ("Bến Tre", "86"),
    "84": ("Trà Vinh", "86"),
    "86": ("Vĩnh Long", "86"),
    "87": ("Đồng Tháp", "82"),
    "89": ("An Giang", "91"),
    "91": ("Kiên Giang", "91"),
    "92": ("Cần Thơ", "92"),
    "93": ("Hậu Giang", "92"),
    "94": ("Sóc Trăng", "92"),
    "95": ("Bạc Liêu", "96"),
    "96": ("Cà Mau", "96"),
}
"""The 63 provinces before 1 July 2025: old GSO code -> (old name, 2025 code)."""


REGIONS: tuple[str, ...] = (
    "Northwest",
    "Northeast",
    "Red River Delta",
    "North Central",
    "South Central Coast",
    "Central Highlands",
    "Southeast",
    "Mekong Delta",
)
"""The eight socio-economic planning regions, north to south."""

REGION_OF_OLD_PROVINCE: dict[str, str] = {
    "01": "Red River Delta",  # Hà Nội
    "02": "Northeast",  # Hà Giang
    "04": "Northeast",  # Cao Bằng
    "06": "Northeast",  # Bắc Kạn
    "08": "Northeast",  # Tuyên Quang
    "10": "Northwest",  # Lào Cai
    "11": "Northwest",  # Điện Biên
    "12": "Northwest",  # Lai Châu
    "14": "Northwest",  # Sơn La
    "15": "Northwest",  # Yên Bái
    "17": "Northwest",  # Hòa Bình
    "19": "Northeast",  # Thái Nguyên
    "20": "Northeast",  # Lạng Sơn
    "22": "Northeast",  # Quảng Ninh
    "24": "Northeast",  # Bắc Giang
    "25": "Northeast",  # Phú Thọ
    "26": "Red River Delta",  # Vĩnh Phúc
    "27": "Red River Delta",  # Bắc Ninh
    "30": "Red River Delta",  # Hải Dương
    "31": "Red River Delta",  # Hải Phòng
    "33": "Red River Delta",  # Hưng Yên
    "34": "Red River Delta",  # Thái Bình
    "35": "Red River Delta",  # Hà Nam
    "36": "Red River Delta",  # Nam Định
    "37": "Red River Delta",  # Ninh Bình
    "38": "North Central",  # Thanh Hóa
    "40": "North Central",  # Nghệ An
    "42": "North Central",  # Hà Tĩnh
    "44": "North Central",  # Quảng Bình
    "45": "North Central",  # Quảng Trị
    "46": "North Central",  # Thừa Thiên Huế
    "48": "South Central Coast",  # Đà Nẵng
    "49": "South Central Coast",  # Quảng Nam
    "51": "South Central Coast",  # Quảng Ngãi
    "52": "South Central Coast",  # Bình Định
    "54": "South Central Coast",  # Phú Yên
    "56": "South Central Coast",  # Khánh Hòa
    "58": "South Central Coast",  # Ninh Thuận
    "60": "South Central Coast",  # Bình Thuận
    "62": "Central Highlands",  # Kon Tum
    "64": "Central Highlands",  # Gia Lai
    "66": "Central Highlands",  # Đắk Lắk
    "67": "Central Highlands",  # Đắk Nông
    "68": "Central Highlands",  # Lâm Đồng
    "70": "Southeast",  # Bình Phước
    "72": "Southeast",  # Tây Ninh
    "74": "Southeast",  # Bình Dương
    "75": "Southeast",  # Đồng Nai
    "77": "Southeast",  # Bà Rịa - Vũng Tàu
    "79": "Southeast",  # Hồ Chí Minh
    "80": "Mekong Delta",  # Long An
    "82": "Mekong Delta",  # Tiền Giang
    "83": "Mekong Delta",  # Bến Tre
    "84": "Mekong Delta",  # Trà Vinh
    "86": "Mekong Delta",  # Vĩnh Long
    "87": "Mekong Delta",  # Đồng Tháp
    "89": "Mekong Delta",  # An Giang
    "91": "Mekong Delta",  # Kiên Giang
    "92": "Mekong Delta",  # Cần Thơ
    "93": "Mekong Delta",  # Hậu Giang
    "94": "Mekong Delta",  # Sóc Trăng
    "95": "Mekong Delta",  # Bạc Liêu
    "96": "Mekong Delta",  # Cà Mau
}
"""Region of each pre-2025 province (old GSO code), the classic eight-region division."""

REGION_OF_PROVINCE: dict[str, str] = {code: REGION_OF_OLD_PROVINCE[code] for code in PROVINCES_2025}
"""Region of each 2025 province: the region of the old province hosting its administrative
centre, which is the old province whose code the new province kept (module docstring)."""

# ---------------------------------------------------------------------------------------------
# Name matching

_ZERO_WIDTH_RE = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]")
_TONE_MARKS = frozenset("\u0300\u0301\u0303\u0309\u0323")  # huyền, sắc, ngã, hỏi, nặng
_PUNCT_RE = re.compile(r"[\s\-\u2010-\u2015_.,;:/()'\"]+")
_PREFIXES = ("tỉnh ", "thành phố ", "tp ", "t p ", "tinh ", "thanh pho ")

# Spellings seen in the wild that differ in letters, not only in tone placement or case.
_ALIASES: dict[str, tuple[str, str]] = {
    # key text -> (vintage "2025" | "old", code in that vintage)
    "hcm": ("2025", "79"),
    "tphcm": ("2025", "79"),
    "sài gòn": ("2025", "79"),
    "đắc lắc": ("2025", "66"),
    "đăk lăk": ("2025", "66"),
    "đắk lăk": ("2025", "66"),
    "đăk nông": ("old", "67"),
    "đắc nông": ("old", "67"),
    "bắc cạn": ("old", "06"),
    "kontum": ("old", "62"),
}


def clean_text(value: str) -> str:
    """NFC-normalise ``value``, drop zero-width characters and soft hyphens, strip spaces."""
    return unicodedata.normalize("NFC", _ZERO_WIDTH_RE.sub("", value)).strip()


def _canonical_tones(word: str) -> str:
    """Move the tone mark of one syllable to its end, so ``hoà`` and ``hòa`` compare equal."""
    decomposed = unicodedata.normalize("NFD", word)
    tones = "".join(ch for ch in decomposed if ch in _TONE_MARKS)
    base = "".join(ch for ch in decomposed if ch not in _TONE_MARKS)
    return unicodedata.normalize("NFC", base) + tones


def name_key(name: str) -> str:
    """Matching key of a province name: NFC, case-folded, punctuation as spaces, the
    ``Tỉnh``/``Thành phố``/``TP.`` prefix removed and tone placement made canonical
    (``Hòa``/``Hoà``, ``Thủy``/``Thuỷ``)."""
    text = _PUNCT_RE.sub(" ", clean_text(name).casefold()).strip()
    for prefix in _PREFIXES:
        if text.startswith(prefix) and len(text) > len(prefix):
            text = text[len(prefix) :]
            break
    return " ".join(_canonical_tones(word) for word in text.split())


def _ascii_key(name: str) -> str:
    """``name_key`` without any diacritics or spaces (``Đắk Lắk`` -> ``daklak``)."""
    decomposed = unicodedata.normalize("NFD", name_key(name)).replace("đ", "d")
    return "".join(ch for ch in decomposed if ch.isascii() and ch.isalnum())


def _build_index(names: dict[str, str], vintage: str) -> tuple[dict[str, str], dict[str, str]]:
    exact: dict[str, str] = {name_key(n): c for c, n in names.items()}
    for alias, (alias_vintage, code) in _ALIASES.items():
        if alias_vintage == vintage:
            exact[name_key(alias)] = code
    ascii_hits: dict[str, set[str]] = {}
    for key, code in exact.items():
        ascii_hits.setdefault(_ascii_key(key), set()).add(code)
    ascii_index = {k: next(iter(v)) for k, v in ascii_hits.items() if len(v) == 1}
    return exact, ascii_index


_NEW_INDEX = _build_index(PROVINCES_2025, "2025")
_OLD_INDEX = _build_index({c: n for c, (n, _) in OLD_PROVINCES.items()}, "old")


def _lookup(name: str, index: tuple[dict[str, str], dict[str, str]]) -> str | None:
    exact, ascii_index = index
    key = name_key(name)
    if key in exact:
        return exact[key]
    return ascii_index.get(_ascii_key(name))


def province_code_for_name(name: str, vintage: int = 2025) -> str | None:
    """The code of the province called ``name`` in ``vintage`` (2025 or 2019), or None."""
    return _lookup(name, _NEW_INDEX if vintage == 2025 else _OLD_INDEX)


def _clean_code(code: str) -> str | None:
    """``"1"``, ``" 01 "`` -> ``"01"``; ``None`` when not one or two digits."""
    text = clean_text(code)
    if re.fullmatch(r"\d{1,2}", text):
        return text.zfill(2)
    return None


def _new(code: str) -> str:
    return f"{code} {PROVINCES_2025[code]}"


def _old(code: str) -> str:
    return f"{code} {OLD_PROVINCES[code][0]}"


@lru_cache(maxsize=4096)
def normalise_province(
    code: str | None, name: str | None, vintage: int = 2025
) -> tuple[str, str, str | None]:
    """Map a (code, name) pair of the given admin vintage to the 2025 province.

    Returns ``(code2025, name2025, warning)``; ``warning`` is None when nothing was changed
    but spelling (case, ``Tỉnh``/``Thành phố`` prefix, tone placement, missing diacritics).
    Raises :class:`SchemaError` (``column`` = ``province_code`` or ``province``) for unknown
    codes or names, or a code and a name that name different provinces.

    * ``vintage=2025``: the code must be a 2025 code; the name a 2025 name, or an old
      (63-province) name of a province merged into that code (mapped, with a warning).
    * ``vintage=2019``: code and name are pre-2025 ones and are mapped to 2025 (with a
      warning when the code or the name changes).
    """
    if vintage not in ADMIN_VINTAGES:
        raise SchemaError(f"admin_vintage must be 2025 or 2019, not {vintage}")
    code_text = clean_text(code) if code is not None else ""
    name_text = clean_text(name) if name is not None else ""
    if not code_text and not name_text:
        raise SchemaError("missing value: give province_code or province", column="province")
    clean = _clean_code(code_text) if code_text else None
    if code_text and clean is None:
        hint = (
            " (ISO 3166-2 codes are a different numbering: use the 2-digit GSO code)"
            if code_text.upper().startswith("VN")
            else ""
        )
        raise SchemaError(
            f"province_code {code_text!r} is not a 2-digit GSO province code{hint}",
            column="province_code",
        )
    if vintage == 2025:
        return _normalise_2025(clean, name_text)
    return _normalise_2019(clean, name_text)


def _normalise_2025(code: str | None, name: str) -> tuple[str, str, str | None]:
    new_by_name = province_code_for_name(name, 2025) if name else None
    old_by_name = province_code_for_name(name, 2019) if name else None
    if code is not None and code not in PROVINCES_2025:
        hint = ""
        if code in OLD_PROVINCES:
            hint = (
                f"; before 2025 it was {OLD_PROVINCES[code][0]}: if the file uses the old "
                "63-province codes, set admin_vintage = 2019"
            )
        raise SchemaError(
            f"province_code {code} is not a 2025 province code{hint}", column="province_code"
        )
    if name and new_by_name is None and old_by_name is None:
        raise SchemaError(f"unknown province {name!r}", column="province")
    if code is None:
        resolved = new_by_name or OLD_PROVINCES[old_by_name or ""][1]
        if new_by_name is not None:
            return resolved, PROVINCES_2025[resolved], "province_code empty: taken from the name"
        return (
            resolved,
            PROVINCES_2025[resolved],
            f"old province {name!r} mapped to {_new(resolved)} (Resolution 202/2025/QH15); "
            "province_code empty: taken from the name",
        )
    if not name:
        return code, PROVINCES_2025[code], "province empty: taken from province_code"
    if new_by_name == code:
        return code, PROVINCES_2025[code], None
    if old_by_name is not None and OLD_PROVINCES[old_by_name][1] == code:
        return (
            code,
            PROVINCES_2025[code],
            f"old province name {name!r} mapped to {_new(code)} (Resolution 202/2025/QH15)",
        )
    other = new_by_name or (OLD_PROVINCES[old_by_name][1] if old_by_name else None)
    where = f" (that is {_new(other)})" if other else ""
    raise SchemaError(
        f"province_code {code} is {PROVINCES_2025[code]}, but province is {name!r}{where}",
        column="province",
    )


def _normalise_2019(code: str | None, name: str) -> tuple[str, str, str | None]:
    old_by_name = province_code_for_name(name, 2019) if name else None
    if code is not None and code not in OLD_PROVINCES:
        hint = ""
        if code in PROVINCES_2025:
            hint = (
                f"; it is the 2025 code of {PROVINCES_2025[code]}: if the file uses the 2025 "
                "codes, set admin_vintage = 2025"
            )
        raise SchemaError(
            f"province_code {code} is not a pre-2025 (63-province) code{hint}",
            column="province_code",
        )
    if name and old_by_name is None:
        hint = ""
        new_code = province_code_for_name(name, 2025)
        if new_code is not None:
            hint = (
                f"; it is a 2025 province ({_new(new_code)}): if the file uses the 2025 "
                "provinces, set admin_vintage = 2025"
            )
        raise SchemaError(f"unknown pre-2025 province {name!r}{hint}", column="province")
    if code is not None and name and old_by_name != code:
        hint = ""
        if code in PROVINCES_2025 and province_code_for_name(name, 2025) == code:
            hint = "; the pair matches the 2025 list: set admin_vintage = 2025"
        raise SchemaError(
            f"province_code {code} was {OLD_PROVINCES[code][0]} before 2025, but province is "
            f"{name!r} (pre-2025 code {old_by_name}){hint}",
            column="province",
        )
    old_code = code if code is not None else old_by_name
    assert old_code is not None
    new_code = OLD_PROVINCES[old_code][1]
    new_name = PROVINCES_2025[new_code]
    notes: list[str] = []
    if new_code != old_code or new_name != OLD_PROVINCES[old_code][0]:
        notes.append(
            f"pre-2025 province {_old(old_code)} mapped to {_new(new_code)} "
            "(Resolution 202/2025/QH15)"
        )
    if code is None:
        notes.append("province_code empty: taken from the name")
    elif not name:
        notes.append("province empty: taken from province_code")
    return new_code, new_name, "; ".join(notes) or None
