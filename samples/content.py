"""Random but realistic Vietnamese civil-status content.

Every function takes a `random.Random` so a seed gives the same content.
Place names are the administrative units in use before the 2025 reform
(provinces, districts, communes), as printed on papers of that time.
"""

from __future__ import annotations

import datetime as dt
import random
import re

from .vnwords import date_in_words

# --------------------------------------------------------------------------
# People

SURNAMES = [
    ("Nguyễn", 38),
    ("Trần", 11),
    ("Lê", 9),
    ("Phạm", 7),
    ("Hoàng", 5),
    ("Huỳnh", 4),
    ("Phan", 4),
    ("Vũ", 4),
    ("Võ", 4),
    ("Đặng", 2),
    ("Bùi", 2),
    ("Đỗ", 2),
    ("Hồ", 2),
    ("Ngô", 2),
    ("Dương", 1),
    ("Lý", 1),
    ("Đinh", 1),
    ("Trương", 1),
    ("Lương", 1),
    ("Mai", 1),
    ("Tô", 1),
    ("Cao", 1),
    ("Châu", 1),
    ("Thái", 1),
]
MIDDLE_MALE = [
    "Văn",
    "Văn",
    "Văn",
    "Hữu",
    "Đức",
    "Minh",
    "Thanh",
    "Quốc",
    "Công",
    "Đình",
    "Xuân",
    "Ngọc",
    "Anh",
    "Trọng",
]
MIDDLE_FEMALE = ["Thị", "Thị", "Thị", "Ngọc", "Thanh", "Thu", "Minh", "Kim", "Bích", "Mỹ", "Thùy", "Phương", "Hoài"]
GIVEN_MALE = [
    "An",
    "Bình",
    "Cường",
    "Dũng",
    "Khánh",
    "Lộc",
    "Phúc",
    "Trường",
    "Tuấn",
    "Hùng",
    "Hải",
    "Long",
    "Quân",
    "Sơn",
    "Thắng",
    "Việt",
    "Hiếu",
    "Nghĩa",
    "Tùng",
    "Huy",
    "Đạt",
    "Khoa",
    "Lợi",
    "Phước",
    "Thịnh",
    "Tâm",
    "Toàn",
    "Vũ",
    "Hưng",
    "Quang",
    "Kiên",
    "Định",
    "Bảo",
]
GIVEN_FEMALE = [
    "Hạnh",
    "Hương",
    "Mỹ",
    "Nguyệt",
    "Quỳnh",
    "Thảo",
    "Yến",
    "Ánh",
    "Lan",
    "Hoa",
    "Hằng",
    "Trang",
    "Linh",
    "Ngân",
    "Nhung",
    "Oanh",
    "Phượng",
    "Thủy",
    "Tuyết",
    "Vy",
    "Xuân",
    "Diễm",
    "Hiền",
    "Loan",
    "Dung",
    "Huệ",
    "Nhàn",
    "Trinh",
    "Uyên",
    "Châu",
    "Giang",
    "Lựu",
]
SECOND_MIDDLE_FEMALE = ["Ngọc", "Thanh", "Thu", "Kim", "Mỹ", "Hồng", "Bảo", "Diệu"]
SECOND_MIDDLE_MALE = ["Minh", "Quốc", "Thanh", "Gia", "Hoàng", "Bảo", "Đăng"]

# Ethnic groups: (name, surnames, male middle, female middle, male given, female given)
ETHNIC_NAMES = {
    "Tày": (
        ["Nông", "Hoàng", "Lương", "Hà", "Nguyễn"],
        ["Văn"],
        ["Thị"],
        ["Dền", "Pò", "Thắng", "Quyết", "Lâm"],
        ["Lả", "Mây", "Pằng", "Hoa", "Nhài"],
    ),
    "Nùng": (
        ["Nông", "Hoàng", "Lục", "Chu", "Lý"],
        ["Văn"],
        ["Thị"],
        ["Slao", "Tâm", "Pháng", "Kiểm"],
        ["Lìu", "Slâm", "Pạc", "Hoa"],
    ),
    "Thái": (
        ["Lò", "Cầm", "Lường", "Quàng", "Vì", "Tòng"],
        ["Văn"],
        ["Thị"],
        ["Pấng", "Xuân", "Ơn", "Hặc", "Khiêm"],
        ["Ún", "Hoa", "Thoa", "Ỏn", "Xiêm"],
    ),
    "Mường": (
        ["Bùi", "Đinh", "Quách", "Hà", "Xa"],
        ["Văn"],
        ["Thị"],
        ["Khỏe", "Tiến", "Thường", "Chức"],
        ["Mai", "Nhung", "Lành", "Hiền"],
    ),
    "Khmer": (
        ["Thạch", "Danh", "Kim", "Sơn", "Lâm"],
        ["Sô", "Sa", ""],
        ["Thị", ""],
        ["Phanh", "Sóc", "Ra", "Rích", "Sà Rươne"],
        ["Sà Rết", "Sa Ly", "Đa Ni", "Ry Na"],
    ),
    "Hoa": (
        ["Lý", "Trương", "Quách", "Lâm", "Mã", "Hứa"],
        ["Quốc", "Gia", "Vĩnh"],
        ["Mỹ", "Ngọc", "Tú"],
        ["Vinh", "Cường", "Phát", "Hào"],
        ["Linh", "Muội", "Phấn", "Quyên"],
    ),
    "Mông": (
        ["Giàng", "Vàng", "Sùng", "Thào", "Lý", "Hầu", "Mùa"],
        ["A", "Seo", "Mí"],
        ["Thị"],
        ["Páo", "Dế", "Chứ", "Sử", "Lử"],
        ["Mỷ", "Dung", "Sua", "Chở", "Mai"],
    ),
    "Ê Đê": (["Niê", "Ayun", "Mlô", "Êban", "Byă"], ["Y"], ["H'"], ["Bhin", "Khuê", "Tlur"], ["Mai", "Linh", "Hen"]),
    "Dao": (["Triệu", "Bàn", "Đặng", "Lý"], ["Văn", "Tài"], ["Thị"], ["Lở", "Chài", "Sinh"], ["Mẩy", "Liều", "Pham"]),
}

ETHNICITIES = ["Kinh", "Tày", "Thái", "Mường", "Khmer", "Hoa", "Nùng", "Mông", "Ê Đê", "Dao"]

# --------------------------------------------------------------------------
# Places: province -> (code, kind, districts {name: (kind, [communes])}, ethnic weights)
# Commune entries are written with their unit kind: "xã X", "phường Y", "thị trấn Z".

PROVINCES: dict[str, dict] = {
    "Hà Nội": {
        "code": "001",
        "kind": "thành phố",
        "districts": {
            "Đông Anh": ("huyện", ["xã Uy Nỗ", "xã Vân Nội", "xã Kim Chung", "thị trấn Đông Anh", "xã Cổ Loa"]),
            "Ba Đình": ("quận", ["phường Kim Mã", "phường Ngọc Hà", "phường Cống Vị", "phường Liễu Giai"]),
            "Gia Lâm": ("huyện", ["xã Đa Tốn", "xã Bát Tràng", "xã Kiêu Kỵ", "thị trấn Trâu Quỳ"]),
            "Hoàn Kiếm": ("quận", ["phường Hàng Bạc", "phường Hàng Trống", "phường Tràng Tiền"]),
        },
        "hospitals": ["Bệnh viện Phụ sản Hà Nội", "Bệnh viện Phụ sản Trung ương", "Bệnh viện Bạch Mai"],
        "ethnic": {"Kinh": 1.0},
    },
    "Hải Phòng": {
        "code": "031",
        "kind": "thành phố",
        "districts": {
            "Lê Chân": ("quận", ["phường Dư Hàng", "phường Hàng Kênh", "phường Trại Cau"]),
            "Thủy Nguyên": ("huyện", ["xã Lập Lễ", "xã Thủy Đường", "thị trấn Núi Đèo"]),
        },
        "hospitals": ["Bệnh viện Phụ sản Hải Phòng"],
        "ethnic": {"Kinh": 1.0},
    },
    "Thái Bình": {
        "code": "034",
        "kind": "tỉnh",
        "districts": {
            "Vũ Thư": ("huyện", ["xã Tam Quang", "xã Song Lãng", "xã Minh Quang", "thị trấn Vũ Thư"]),
            "Kiến Xương": ("huyện", ["xã Vũ Ninh", "xã Quang Trung", "thị trấn Kiến Xương"]),
        },
        "hospitals": ["Bệnh viện Đa khoa tỉnh Thái Bình"],
        "ethnic": {"Kinh": 1.0},
    },
    "Thanh Hóa": {
        "code": "038",
        "kind": "tỉnh",
        "districts": {
            "Hoằng Hóa": ("huyện", ["xã Hoằng Quỳ", "xã Hoằng Đồng", "xã Hoằng Lộc"]),
            "Thọ Xuân": ("huyện", ["xã Xuân Lai", "xã Xuân Hòa", "thị trấn Thọ Xuân"]),
            "Ngọc Lặc": ("huyện", ["xã Minh Sơn", "thị trấn Ngọc Lặc"]),
        },
        "hospitals": ["Bệnh viện Đa khoa tỉnh Thanh Hóa", "Bệnh viện Phụ sản Thanh Hóa"],
        "ethnic": {"Kinh": 0.85, "Mường": 0.1, "Thái": 0.05},
    },
    "Nghệ An": {
        "code": "040",
        "kind": "tỉnh",
        "districts": {
            "Nghi Lộc": ("huyện", ["xã Nghi Phong", "xã Nghi Thạch", "xã Nghi Xá", "thị trấn Quán Hành"]),
            "Diễn Châu": ("huyện", ["xã Diễn Hoa", "xã Diễn Kỷ", "xã Diễn Thịnh", "thị trấn Diễn Châu"]),
            "Vinh": ("thành phố", ["phường Hưng Bình", "phường Lê Lợi", "phường Trường Thi", "xã Nghi Phú"]),
        },
        "hospitals": ["Bệnh viện Sản Nhi Nghệ An", "Bệnh viện Hữu nghị Đa khoa Nghệ An"],
        "ethnic": {"Kinh": 0.9, "Thái": 0.1},
    },
    "Thừa Thiên Huế": {
        "code": "046",
        "kind": "tỉnh",
        "districts": {
            "Phú Vang": ("huyện", ["xã Phú Thuận", "xã Phú Mỹ", "thị trấn Phú Đa"]),
            "Quảng Điền": ("huyện", ["xã Quảng Phước", "xã Quảng An", "thị trấn Sịa"]),
            "Huế": ("thành phố", ["phường Phú Hội", "phường Vĩnh Ninh", "phường Thuận Thành"]),
        },
        "hospitals": ["Bệnh viện Trung ương Huế"],
        "ethnic": {"Kinh": 1.0},
    },
    "Đà Nẵng": {
        "code": "048",
        "kind": "thành phố",
        "districts": {
            "Hải Châu": ("quận", ["phường Thạch Thang", "phường Hòa Cường Bắc", "phường Hải Châu I"]),
            "Hòa Vang": ("huyện", ["xã Hòa Phước", "xã Hòa Tiến", "xã Hòa Nhơn"]),
        },
        "hospitals": ["Bệnh viện Phụ sản - Nhi Đà Nẵng", "Bệnh viện Đà Nẵng"],
        "ethnic": {"Kinh": 1.0},
    },
    "Quảng Nam": {
        "code": "049",
        "kind": "tỉnh",
        "districts": {
            "Duy Xuyên": ("huyện", ["xã Duy Trung", "xã Duy Sơn", "thị trấn Nam Phước"]),
            "Thăng Bình": ("huyện", ["xã Bình Dương", "xã Bình Triều", "thị trấn Hà Lam"]),
        },
        "hospitals": ["Bệnh viện Đa khoa tỉnh Quảng Nam"],
        "ethnic": {"Kinh": 1.0},
    },
    "Quảng Ngãi": {
        "code": "051",
        "kind": "tỉnh",
        "districts": {
            "Tư Nghĩa": ("huyện", ["xã Nghĩa Kỳ", "xã Nghĩa Thuận", "xã Nghĩa Hiệp", "thị trấn La Hà"]),
            "Sơn Tịnh": ("huyện", ["xã Tịnh Hà", "xã Tịnh Bắc", "xã Tịnh Đông"]),
            "Mộ Đức": ("huyện", ["xã Đức Tân", "xã Đức Lợi", "xã Đức Phong", "thị trấn Mộ Đức"]),
            "Quảng Ngãi": (
                "thành phố",
                ["phường Trần Phú", "phường Nghĩa Chánh", "phường Lê Hồng Phong", "xã Nghĩa Dõng"],
            ),
        },
        "hospitals": ["Bệnh viện Đa khoa tỉnh Quảng Ngãi", "Bệnh viện Sản - Nhi tỉnh Quảng Ngãi"],
        "ethnic": {"Kinh": 0.95, "Hoa": 0.05},
    },
    "Bình Định": {
        "code": "052",
        "kind": "tỉnh",
        "districts": {
            "Tuy Phước": ("huyện", ["xã Phước Hòa", "xã Phước Thuận", "thị trấn Tuy Phước"]),
            "Phù Mỹ": ("huyện", ["xã Mỹ Thành", "xã Mỹ Chánh", "thị trấn Phù Mỹ"]),
            "Quy Nhơn": ("thành phố", ["phường Ngô Mây", "phường Trần Hưng Đạo", "phường Nhơn Bình"]),
        },
        "hospitals": ["Bệnh viện Đa khoa tỉnh Bình Định"],
        "ethnic": {"Kinh": 1.0},
    },
    "Đắk Lắk": {
        "code": "066",
        "kind": "tỉnh",
        "districts": {
            "Buôn Ma Thuột": ("thành phố", ["phường Tân Lợi", "phường Tự An", "xã Hòa Thắng"]),
            "Krông Pắc": ("huyện", ["thị trấn Phước An", "xã Ea Phê", "xã Ea Kênh"]),
        },
        "hospitals": ["Bệnh viện Đa khoa vùng Tây Nguyên"],
        "ethnic": {"Kinh": 0.7, "Ê Đê": 0.25, "Nùng": 0.05},
    },
    "Hồ Chí Minh": {
        "code": "079",
        "kind": "thành phố",
        "districts": {
            "Củ Chi": ("huyện", ["xã Tân Thạnh Đông", "xã Phước Vĩnh An", "thị trấn Củ Chi"]),
            "Bình Chánh": ("huyện", ["xã Vĩnh Lộc A", "xã Tân Kiên", "thị trấn Tân Túc"]),
            "Gò Vấp": ("quận", ["Phường 10", "Phường 5", "Phường 17"]),
            "5": ("quận", ["Phường 11", "Phường 14", "Phường 9"]),
        },
        "hospitals": ["Bệnh viện Từ Dũ", "Bệnh viện Hùng Vương", "Bệnh viện Nhân dân Gia Định"],
        "ethnic": {"Kinh": 0.9, "Hoa": 0.1},
    },
    "Cần Thơ": {
        "code": "092",
        "kind": "thành phố",
        "districts": {
            "Ninh Kiều": ("quận", ["phường An Hòa", "phường Xuân Khánh", "phường Tân An"]),
            "Phong Điền": ("huyện", ["xã Nhơn Ái", "xã Mỹ Khánh", "thị trấn Phong Điền"]),
        },
        "hospitals": ["Bệnh viện Phụ sản thành phố Cần Thơ"],
        "ethnic": {"Kinh": 0.9, "Khmer": 0.05, "Hoa": 0.05},
    },
    "Sóc Trăng": {
        "code": "094",
        "kind": "tỉnh",
        "districts": {
            "Mỹ Xuyên": ("huyện", ["xã Đại Tâm", "xã Tham Đôn", "thị trấn Mỹ Xuyên"]),
            "Vĩnh Châu": ("thị xã", ["xã Lai Hòa", "xã Vĩnh Hiệp", "Phường 1"]),
        },
        "hospitals": ["Bệnh viện Đa khoa tỉnh Sóc Trăng"],
        "ethnic": {"Kinh": 0.6, "Khmer": 0.3, "Hoa": 0.1},
    },
    "Lào Cai": {
        "code": "010",
        "kind": "tỉnh",
        "districts": {
            "Sa Pa": ("thị xã", ["xã Tả Van", "xã Lao Chải", "phường Sa Pa"]),
            "Bắc Hà": ("huyện", ["xã Bản Phố", "thị trấn Bắc Hà", "xã Tà Chải"]),
        },
        "hospitals": ["Bệnh viện Đa khoa tỉnh Lào Cai"],
        "ethnic": {"Mông": 0.5, "Kinh": 0.3, "Dao": 0.2},
    },
    "Lạng Sơn": {
        "code": "020",
        "kind": "tỉnh",
        "districts": {
            "Lạng Sơn": ("thành phố", ["phường Chi Lăng", "phường Vĩnh Trại", "phường Hoàng Văn Thụ"]),
            "Cao Lộc": ("huyện", ["thị trấn Đồng Đăng", "thị trấn Cao Lộc", "xã Hợp Thành"]),
        },
        "hospitals": ["Bệnh viện Đa khoa tỉnh Lạng Sơn"],
        "ethnic": {"Tày": 0.4, "Nùng": 0.4, "Kinh": 0.2},
    },
    "Hòa Bình": {
        "code": "017",
        "kind": "tỉnh",
        "districts": {
            "Mai Châu": ("huyện", ["thị trấn Mai Châu", "xã Chiềng Châu", "xã Nà Phòn"]),
            "Lạc Sơn": ("huyện", ["thị trấn Vụ Bản", "xã Ân Nghĩa"]),
        },
        "hospitals": ["Bệnh viện Đa khoa tỉnh Hòa Bình"],
        "ethnic": {"Mường": 0.6, "Thái": 0.2, "Kinh": 0.2},
    },
    "Sơn La": {
        "code": "014",
        "kind": "tỉnh",
        "districts": {
            "Sơn La": ("thành phố", ["phường Chiềng Lề", "phường Tô Hiệu", "xã Chiềng Ngần"]),
            "Mai Sơn": ("huyện", ["thị trấn Hát Lót", "xã Chiềng Mung", "xã Cò Nòi"]),
        },
        "hospitals": ["Bệnh viện Đa khoa tỉnh Sơn La"],
        "ethnic": {"Thái": 0.6, "Kinh": 0.3, "Mông": 0.1},
    },
    "An Giang": {
        "code": "089",
        "kind": "tỉnh",
        "districts": {
            "Long Xuyên": ("thành phố", ["phường Mỹ Long", "phường Mỹ Bình", "phường Bình Khánh"]),
            "Chợ Mới": ("huyện", ["xã Kiến An", "xã Long Điền A", "thị trấn Chợ Mới"]),
        },
        "hospitals": ["Bệnh viện Đa khoa Trung tâm An Giang"],
        "ethnic": {"Kinh": 0.85, "Khmer": 0.1, "Hoa": 0.05},
    },
}

STREETS = [
    "Lê Lợi",
    "Trần Hưng Đạo",
    "Nguyễn Huệ",
    "Hai Bà Trưng",
    "Quang Trung",
    "Lý Thường Kiệt",
    "Phan Đình Phùng",
    "Nguyễn Trãi",
    "Hùng Vương",
    "Lê Duẩn",
    "Bà Triệu",
    "Võ Thị Sáu",
]

VIET_NAM = "Việt Nam"
SOUTH = {"Hồ Chí Minh", "Cần Thơ", "Sóc Trăng", "An Giang"}
HIGHLAND = {"Lào Cai", "Sơn La", "Hòa Bình", "Lạng Sơn"}


def weighted(rng: random.Random, pairs):
    items, weights = zip(*pairs)
    return rng.choices(items, weights=weights, k=1)[0]


class Place:
    """A commune with its district and province."""

    def __init__(self, province: str, district: str, commune: str):
        self.province = province
        self.district = district
        self.commune = commune
        info = PROVINCES[province]
        self.province_kind = info["kind"]
        self.district_kind = info["districts"][district][0]
        self.code = info["code"]

    @property
    def district_full(self) -> str:
        if self.district_kind == "quận" and self.district.isdigit():
            return f"Quận {self.district}"
        return f"{self.district_kind} {self.district}"

    @property
    def province_full(self) -> str:
        return f"{self.province_kind} {self.province}"

    def address(self, level: int = 3) -> str:
        """level 3: commune, district, province; 2: commune, district; 1: commune."""
        parts = [self.commune, self.district_full, self.province_full][:level]
        return ", ".join(parts)

    def commune_upper(self) -> str:
        return self.commune.upper()

    @property
    def commune_kind(self) -> str:
        for k in ("thị trấn", "phường", "xã"):
            if self.commune.lower().startswith(k):
                return k
        return "xã"

    @property
    def commune_name(self) -> str:
        return self.commune[len(self.commune_kind) :].strip()


def random_place(rng: random.Random, province: str | None = None) -> Place:
    province = province or rng.choice(sorted(PROVINCES))
    districts = PROVINCES[province]["districts"]
    district = rng.choice(sorted(districts))
    commune = rng.choice(districts[district][1])
    return Place(province, district, commune)


def street_address(rng: random.Random, place: Place, level: int = 3) -> str:
    """A residence: 'thôn 3, xã X, huyện Y, tỉnh Z' or 'số 12 đường Lê Lợi, phường ...'."""
    kind = place.commune_kind
    if kind == "xã" and place.province in SOUTH:
        head = rng.choice(
            [f"ấp {rng.randint(1, 6)}", f"ấp {rng.choice(['Mỹ Hòa', 'Tân Lập', 'Phú Thạnh', 'Bình An'])}"]
        )
    elif kind == "xã":
        head = rng.choice(
            [
                f"thôn {rng.randint(1, 9)}",
                f"thôn {rng.choice(['Đông', 'Tây', 'Nam', 'Bắc', 'Trung', 'Thượng', 'Hạ'])}",
                f"xóm {rng.randint(1, 12)}",
                f"bản {rng.choice(['Hua Tát', 'Lác', 'Pom Coọng', 'Nà Cà'])}"
                if place.province in HIGHLAND
                else f"thôn {rng.randint(1, 12)}",
            ]
        )
    elif kind == "phường" and rng.random() < 0.6:
        head = f"số {rng.randint(1, 250)} đường {rng.choice(STREETS)}"
    else:
        head = f"tổ dân phố {rng.randint(1, 15)}"
    return head + ", " + place.address(level)


def pick_ethnicity(rng: random.Random, place: Place) -> str:
    return weighted(rng, PROVINCES[place.province]["ethnic"].items())


def person_name(rng: random.Random, sex: str, ethnicity: str = "Kinh", surname: str | None = None) -> str:
    """A full name in title case, e.g. 'Nguyễn Thị Ngọc Hương'."""
    if ethnicity in ETHNIC_NAMES and rng.random() < 0.85:
        surnames, mid_m, mid_f, giv_m, giv_f = ETHNIC_NAMES[ethnicity]
        mid = rng.choice(mid_m if sex == "Nam" else mid_f)
        given = rng.choice(giv_m if sex == "Nam" else giv_f)
        sur = surname or rng.choice(surnames)
        if mid.endswith("'"):  # Ê Đê female prefix H'Mai
            return f"{sur} {mid}{given}"
        return " ".join(p for p in (sur, mid, given) if p)
    sur = surname or weighted(rng, SURNAMES)
    if sex == "Nam":
        mid = rng.choice(MIDDLE_MALE)
        if rng.random() < 0.2:
            mid = rng.choice(SECOND_MIDDLE_MALE)
        given = rng.choice(GIVEN_MALE)
    else:
        mid = rng.choice(MIDDLE_FEMALE)
        if rng.random() < 0.25:
            mid = mid + " " + rng.choice(SECOND_MIDDLE_FEMALE)
        given = rng.choice(GIVEN_FEMALE)
    if mid.endswith(given) or mid == given:
        given = rng.choice(GIVEN_MALE if sex == "Nam" else GIVEN_FEMALE)
    return f"{sur} {mid} {given}"


def upper(name: str) -> str:
    return name.upper()


# --------------------------------------------------------------------------
# Dates and numbers


def fmt_date(d: dt.date) -> str:
    return d.strftime("%d/%m/%Y")


def random_date(rng: random.Random, start: dt.date, end: dt.date) -> dt.date:
    days = (end - start).days
    return start + dt.timedelta(days=rng.randint(0, max(days, 0)))


def so_dinh_danh(rng: random.Random, province_code: str, sex: str, birth_year: int) -> str:
    """A structurally valid 12-digit personal identification number."""
    century = (birth_year // 100) - 19  # 1900s -> 0, 2000s -> 1, 2100s -> 2
    if century < 0:
        century = 0
    digit = century * 2 + (0 if sex == "Nam" else 1)
    return f"{province_code}{digit}{birth_year % 100:02d}{rng.randint(0, 999999):06d}"


_SDD = re.compile(r"^(\d{3})(\d)(\d{2})(\d{6})$")


def valid_so_dinh_danh(number: str, sex: str | None = None, birth_year: int | None = None) -> bool:
    """Structural check of a số định danh cá nhân (CONTRACT), optionally
    consistent with the holder's sex ('Nam'/'Nữ') and year of birth."""
    m = _SDD.match(number or "")
    if not m:
        return False
    province, digit, yy = int(m.group(1)), int(m.group(2)), int(m.group(3))
    if not 1 <= province <= 96:
        return False
    if sex is not None and digit % 2 != (0 if sex == "Nam" else 1):
        return False
    if birth_year is not None:
        if digit // 2 != birth_year // 100 - 19 or yy != birth_year % 100:
            return False
    return True


def book_number(rng: random.Random, year: int) -> str:
    return f"{rng.randint(1, 3):02d}/{year}"


# --------------------------------------------------------------------------
# Civil-status specifics

DEATH_CAUSES = [
    "Bệnh già",
    "Già yếu",
    "Tai nạn giao thông",
    "Ung thư phổi",
    "Đột quỵ",
    "Suy tim",
    "Nhồi máu cơ tim",
    "Xơ gan",
    "Viêm phổi",
    "Suy thận mạn",
    "Ung thư gan",
    "Tai biến mạch máu não",
    "Đuối nước",
    "Bệnh tiểu đường",
]
RELATIONS_MALE = ["Con", "Con trai", "Cháu", "Anh trai", "Em trai", "Cháu nội", "Con rể"]
RELATIONS_FEMALE = ["Con", "Con gái", "Cháu", "Chị gái", "Em gái", "Cháu nội", "Con dâu"]

SIGNER_TITLES_CS = ["CHỦ TỊCH", "PHÓ CHỦ TỊCH"]


def signer_name(rng: random.Random) -> str:
    return person_name(rng, rng.choice(["Nam", "Nam", "Nữ"]))


def birth_place(rng: random.Random, place: Place) -> str:
    r = rng.random()
    if r < 0.45:
        return rng.choice(PROVINCES[place.province]["hospitals"])
    if r < 0.65:
        return f"Trạm y tế {place.commune}, {place.district_full}, {place.province_full}"
    if r < 0.8 and place.district_kind in ("huyện", "thị xã"):
        return f"Trung tâm Y tế {place.district_full}, {place.province_full}"
    return place.address(3)


def _family_surname(eth: str, father: str | None, mother: str) -> str:
    if eth == "Ê Đê" or not father:  # matrilineal, or no father on the record
        return mother.split()[0]
    return father.split()[0]


def khai_sinh_record(
    rng: random.Random, *, year_range=(1955, 2024), with_id: bool = True, father_prob: float = 0.9
) -> dict:
    """Fields of one birth registration (CONTRACT names), values as printed."""
    place = random_place(rng)
    sex = rng.choice(["Nam", "Nữ"])
    eth = pick_ethnicity(rng, place)
    born = random_date(rng, dt.date(year_range[0], 1, 1), dt.date(year_range[1], 11, 30))
    registered = born + dt.timedelta(days=rng.choice([rng.randint(3, 60), rng.randint(3, 30), rng.randint(100, 900)]))
    home = place if rng.random() < 0.7 else random_place(rng)
    has_father = rng.random() < father_prob
    mother_year = born.year - rng.randint(18, 40)
    father_year = mother_year - rng.randint(-3, 8)
    mother = person_name(rng, "Nữ", eth)
    father = person_name(rng, "Nam", eth) if has_father else None
    child = person_name(rng, sex, eth, surname=_family_surname(eth, father, mother))
    residence = street_address(rng, place)
    f = {
        "so": str(rng.randint(1, 350)),
        "quyen_so": book_number(rng, registered.year),
        "ho_ten": upper(child),
        "ngay_sinh": fmt_date(born),
        "ngay_sinh_bang_chu": date_in_words(born),
        "gioi_tinh": sex,
        "dan_toc": eth,
        "quoc_tich": VIET_NAM,
        "noi_sinh": birth_place(rng, place),
        "que_quan": home.address(3),
    }
    if with_id:
        f["so_dinh_danh"] = so_dinh_danh(rng, place.code, sex, born.year)
    f.update(
        {
            "ho_ten_me": upper(mother),
            "nam_sinh_me": str(mother_year),
            "dan_toc_me": eth,
            "quoc_tich_me": VIET_NAM,
            "noi_cu_tru_me": residence,
        }
    )
    if father:
        f.update(
            {
                "ho_ten_cha": upper(father),
                "nam_sinh_cha": str(father_year),
                "dan_toc_cha": eth,
                "quoc_tich_cha": VIET_NAM,
                "noi_cu_tru_cha": residence,
            }
        )
    f["nguoi_di_khai"] = upper(rng.choice([father or mother, mother]))
    f["noi_dang_ky"] = f"Ủy ban nhân dân {place.address(3)}"
    f["ngay_dang_ky"] = fmt_date(registered)
    f["nguoi_ky"] = signer_name(rng)
    return {"fields": f, "place": place}


def ket_hon_record(rng: random.Random, *, year_range=(1975, 2024)) -> dict:
    place = random_place(rng)
    registered = random_date(rng, dt.date(year_range[0], 1, 1), dt.date(year_range[1], 12, 20))
    out = {}
    for who, sex in (("chong", "Nam"), ("vo", "Nữ")):
        home = place if rng.random() < 0.6 else random_place(rng)
        eth = pick_ethnicity(rng, home)
        born = random_date(rng, dt.date(registered.year - 40, 1, 1), dt.date(registered.year - 20, 12, 31))
        out[f"ho_ten_{who}"] = upper(person_name(rng, sex, eth))
        out[f"ngay_sinh_{who}"] = fmt_date(born)
        out[f"dan_toc_{who}"] = eth
        out[f"quoc_tich_{who}"] = VIET_NAM
        out[f"noi_cu_tru_{who}"] = street_address(rng, home, rng.choice([2, 3, 3]))
        out[f"so_dinh_danh_{who}"] = so_dinh_danh(rng, home.code, sex, born.year)
    f = {"so": str(rng.randint(1, 200)), "quyen_so": book_number(rng, registered.year)}
    # CONTRACT order
    for who in ("chong", "vo"):
        for k in ("ho_ten", "ngay_sinh", "dan_toc", "quoc_tich", "noi_cu_tru", "so_dinh_danh"):
            f[f"{k}_{who}"] = out[f"{k}_{who}"]
    f["noi_dang_ky"] = f"Ủy ban nhân dân {place.address(3)}"
    f["ngay_dang_ky"] = fmt_date(registered)
    f["nguoi_ky"] = signer_name(rng)
    return {"fields": f, "place": place}


def khai_tu_record(rng: random.Random, *, year_range=(1990, 2024)) -> dict:
    place = random_place(rng)
    sex = rng.choice(["Nam", "Nữ"])
    eth = pick_ethnicity(rng, place)
    died = random_date(rng, dt.date(year_range[0], 1, 1), dt.date(year_range[1], 11, 30))
    age = rng.choice([rng.randint(55, 98), rng.randint(55, 98), rng.randint(20, 80), rng.randint(1, 98)])
    born = random_date(rng, dt.date(died.year - age, 1, 1), dt.date(died.year - age, 12, 31))
    if born >= died:
        born = died - dt.timedelta(days=400)
    registered = died + dt.timedelta(days=rng.randint(1, 20))
    name = person_name(rng, sex, eth)
    if rng.random() < 0.25:  # the surviving spouse declares
        relation = "Vợ" if sex == "Nam" else "Chồng"
        declarant_sex = "Nữ" if sex == "Nam" else "Nam"
    else:
        declarant_sex = rng.choice(["Nam", "Nữ"])
        relation = rng.choice(RELATIONS_MALE if declarant_sex == "Nam" else RELATIONS_FEMALE)
    declarant = person_name(rng, declarant_sex, eth)
    hh, mm = rng.randint(0, 23), rng.choice(range(0, 60, 5))
    in_hospital = rng.random() < 0.4
    residence = street_address(rng, place)
    f = {
        "so": str(rng.randint(1, 150)),
        "quyen_so": book_number(rng, registered.year),
        "ho_ten": upper(name),
        "ngay_sinh": fmt_date(born),
        "gioi_tinh": sex,
        "dan_toc": eth,
        "quoc_tich": VIET_NAM,
        "so_dinh_danh": so_dinh_danh(rng, place.code, sex, born.year),
        "noi_cu_tru": residence,
        "gio_chet": f"{hh:02d} giờ {mm:02d} phút",
        "ngay_chet": fmt_date(died),
        "noi_chet": rng.choice(PROVINCES[place.province]["hospitals"]) if in_hospital else residence,
        "nguyen_nhan_chet": rng.choice(DEATH_CAUSES),
        "nguoi_khai": upper(declarant),
        "quan_he": relation,
        "noi_dang_ky": f"Ủy ban nhân dân {place.address(3)}",
        "ngay_dang_ky": fmt_date(registered),
        "nguoi_ky": signer_name(rng),
    }
    return {"fields": f, "place": place}


def ledger_record(rng: random.Random, number: int, year: int, place: Place) -> dict:
    """One entry of a Sổ đăng ký khai sinh (title-case names, short places)."""
    sex = rng.choice(["Nam", "Nữ"])
    eth = pick_ethnicity(rng, place)
    born = random_date(rng, dt.date(year, 1, 1), dt.date(year, 12, 31)) - dt.timedelta(days=rng.randint(5, 60))
    registered = born + dt.timedelta(days=rng.randint(3, 60))
    mother = person_name(rng, "Nữ", eth)
    father = person_name(rng, "Nam", eth) if rng.random() < 0.93 else None
    child = person_name(rng, sex, eth, surname=_family_surname(eth, father, mother))
    r = rng.random()
    if r < 0.4:
        noi_sinh = f"Trạm y tế {place.commune_name}"
    elif r < 0.7:
        noi_sinh = rng.choice(PROVINCES[place.province]["hospitals"]).replace("Bệnh viện Đa khoa", "BVĐK")
    else:
        noi_sinh = f"{place.commune_name}, {place.district}"
    f = {
        "so": str(number),
        "ho_ten": child,
        "ngay_sinh": fmt_date(born),
        "gioi_tinh": sex,
        "dan_toc": eth,
        "noi_sinh": noi_sinh,
        "ho_ten_me": mother,
    }
    if father:
        f["ho_ten_cha"] = father
    f["ngay_dang_ky"] = fmt_date(registered)
    return {"fields": f}


# --------------------------------------------------------------------------
# Citizen ID card (căn cước công dân / thẻ căn cước)


def cccd_record(rng: random.Random, *, old_id_prob: float = 0.6) -> dict:
    """The holder's data on a chip-based ID card: `fields` as the QR code gives them
    (CONTRACT names, dates dd/mm/yyyy), `printed` as the card prints them, and
    `payload`, the QR code's text (`|`-separated, dates ddmmyyyy)."""
    origin = random_place(rng)
    home = origin if rng.random() < 0.5 else random_place(rng)
    sex = rng.choice(["Nam", "Nữ"])
    born = random_date(rng, dt.date(1950, 1, 1), dt.date(2006, 12, 31))
    # issued on or after the 2016 roll-out, once the holder is 14
    earliest = max(dt.date(2016, 1, 1), dt.date(born.year + 14, born.month, min(born.day, 28)))
    issued = random_date(rng, earliest, max(earliest, dt.date(2024, 6, 30)))
    eth = pick_ethnicity(rng, origin)
    name = person_name(rng, sex, eth)
    number = so_dinh_danh(rng, origin.code, sex, born.year)
    old = f"{rng.randint(10000000, 389999999):09d}" if rng.random() < old_id_prob else ""
    residence = street_address(rng, home)
    residence = residence[0].upper() + residence[1:]
    age = (issued - born).days // 365
    expiry = None
    for limit in (25, 40, 60):  # the card is renewed at 25, 40 and 60
        if age < limit - 2:
            try:
                expiry = born.replace(year=born.year + limit)
            except ValueError:  # born on 29 February
                expiry = dt.date(born.year + limit, 3, 1)
            break
    fields = {
        "so_dinh_danh": number,
        "ho_ten": name,
        "ngay_sinh": fmt_date(born),
        "gioi_tinh": sex,
        "noi_thuong_tru": residence,
        "ngay_cap": fmt_date(issued),
    }
    if old:
        fields = {"so_dinh_danh": number, "so_cmnd": old, **{k: v for k, v in fields.items() if k != "so_dinh_danh"}}
    printed = {
        "so_dinh_danh": number,
        "ho_ten": upper(name),
        "ngay_sinh": fmt_date(born),
        "gioi_tinh": sex,
        "quoc_tich": VIET_NAM,
        "que_quan": origin.address(3),
        "noi_thuong_tru": residence,
        "ngay_cap": fmt_date(issued),
        "co_gia_tri_den": fmt_date(expiry) if expiry else "Không thời hạn",
    }
    payload = "|".join([number, old, name, born.strftime("%d%m%Y"), sex, residence, issued.strftime("%d%m%Y")])
    return {"fields": fields, "printed": printed, "payload": payload, "place": origin}
