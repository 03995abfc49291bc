"""Page templates: each draws one document and returns its ground truth.

A template takes a `random.Random` (content) and `RenderOptions` and returns
a `Rendered`: the RGB page, its text as read, its records (CONTRACT field
names) and anchors where a seal and a signature belong.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

from PIL import Image

from . import content as C
from . import prose as P
from .fonts import Face
from .layout import Canvas, Seg

RED = (200, 30, 35)


@dataclass(frozen=True)
class RenderOptions:
    font: str = "NotoSerif"
    dpi: int = 200
    leaders: bool = False  # values typed over printed dotted lines
    title_fill: tuple | None = None  # e.g. red titles on security paper
    ruling: bool = True  # registry tables
    variant: str | None = None  # template-specific layout variant
    body_pt: float = 13.0
    # ID card (cccd) only: the QR code's content ("7": the 7-field payload, "6": without the old
    # ID number's field, "garbage": another text, "none": no code) and its module size in mm
    qr: str = "7"
    qr_module_mm: float = 0.27


@dataclass
class Rendered:
    image: Image.Image
    text: str
    records: list[dict]
    font: str
    dpi: int
    variant: str = ""
    anchors: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)


def _fit(build, opts: RenderOptions, spacings=(1.6, 1.5, 1.4, 1.3, 1.2, 1.1)):
    """Lay out with the loosest line spacing that fits on the page."""
    c = None
    for sp in spacings:
        c = build(sp)
        if c.y <= c.bottom:
            return c
    for pt in (12.0, 11.0, 10.0):
        c = build(spacings[-1], pt)
        if c.y <= c.bottom:
            return c
    return c


def _canvas(opts: RenderOptions, body_pt: float | None = None, **kw) -> Canvas:
    return Canvas(Face(opts.font), dpi=opts.dpi, body_pt=body_pt or opts.body_pt, **kw)


def pairs_row(c: Canvas, pairs, leaders: bool, spacing: float, size: int | None = None) -> None:
    """Several 'Label: value' pairs on one row if they fit, else one row each."""
    size = size or c.body
    pairs = [(label, value) for label, value in pairs]
    gap = c.mm(5)
    slack = c.mm(14) if leaders else c.mm(2)
    need = [c.length(label, size) + size * 0.3 + c.length(value or "", size) + slack for label, value in pairs]
    if len(pairs) == 1 or sum(need) + gap * (len(pairs) - 1) > c.text_width:
        for label, value in pairs:
            c.field(label, value, leaders=leaders, spacing=spacing, size=size)
        return
    extra = (c.text_width - sum(need) - gap * (len(pairs) - 1)) / len(pairs)
    x, items = c.left, []
    for (label, value), nd in zip(pairs, need):
        w = nd + extra
        items.append((label, value, x, x + w))
        x += w + gap
    c.fields(items, leaders=leaders, spacing=spacing, size=size)


def national_header(
    c: Canvas,
    left: list[tuple[str, str]] | None,
    *,
    title_size_pt: float = 12.5,
    left_center: float = 0.22,
    right_center: float = 0.66,
    spacing: float = 1.3,
) -> list[float]:
    """Motto block (right, or centred when `left` is None) with an optional
    issuing-body block on the left. `left` lines are (text, style)."""
    size = c.px(title_size_pt)
    motto = [
        ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", size, "bold"),
        ("Độc lập - Tự do - Hạnh phúc", c.px(title_size_pt + 0.5), "bold"),
    ]
    if not left:
        cx = (c.left + c.right) / 2
        return c.columns([(cx, motto)], spacing=spacing, underline_after={0: (1, 1.0)})
    lx = c.left + c.text_width * left_center
    rx = c.left + c.text_width * right_center
    lblock = [(t, size, s) for t, s in left]
    # shrink until the two blocks do not collide
    for _ in range(6):
        lw = max(c.length(t, sz, st) for t, sz, st in lblock)
        rw = max(c.length(t, sz, st) for t, sz, st in motto)
        if lx + lw / 2 + c.mm(4) < rx - rw / 2 and rx + rw / 2 <= c.right + c.mm(3):
            break
        lblock = [(t, int(sz * 0.94), st) for t, sz, st in lblock]
        motto = [(t, int(sz * 0.94), st) for t, sz, st in motto]
    return c.columns(
        [(lx, lblock), (rx, motto)], spacing=spacing, underline_after={0: (len(lblock) - 1, 0.45), 1: (1, 1.0)}
    )


def signature_block(
    c: Canvas,
    heading: list[str],
    guidance: list[str],
    name: str | None,
    *,
    cx_frac: float = 0.72,
    blank_rows: int = 4,
    left: list[tuple[str, int, str]] | None = None,
    left_cx_frac: float = 0.2,
    spacing: float = 1.35,
) -> dict:
    """Right-hand signing block; returns anchors for the seal and the signature."""
    rx = c.left + c.text_width * cx_frac
    size = c.body
    small = c.px(11)
    right = [(h, size, "bold") for h in heading] + [(g, small, "italic") for g in guidance]
    n_top = len(right)
    right += [("", size, "regular")] * blank_rows
    if name:
        right.append((name, size, "bold"))
    blocks = [(rx, right)]
    if left:
        blocks.insert(0, (c.left + c.text_width * left_cx_frac, left))
    y0 = c.y
    baselines = c.columns(blocks, spacing=spacing)
    sig_top = baselines[n_top - 1] + size * 0.4
    sig_bottom = baselines[n_top + blank_rows] - size if len(baselines) > n_top + blank_rows else c.y
    return {
        "signature": (rx, (sig_top + sig_bottom) / 2),
        "signature_width": c.mm(45),
        "stamp": (rx - c.mm(16), (sig_top + sig_bottom) / 2 - c.mm(2)),
        "stamp_radius": c.mm(19),
        "block_top": y0,
    }


def commune_body_lines(place: C.Place) -> list[tuple[str, str]]:
    return [("ỦY BAN NHÂN DÂN", "bold"), (place.commune.upper(), "bold")]


def stamp_text_for(place: C.Place) -> str:
    return f"ỦY BAN NHÂN DÂN {place.commune.upper()} * {place.district_full.upper()} *"


def _title(c: Canvas, text: str, opts: RenderOptions, pt: float = 17.0, spacing: float = 1.35):
    c.center(text, size=c.px(pt), style="bold", fill=opts.title_fill, spacing=spacing)


# ---------------------------------------------------------------------------
# khai_sinh


def khai_sinh(rng: random.Random, opts: RenderOptions) -> Rendered:
    rec = C.khai_sinh_record(rng)
    f, place = rec["fields"], rec["place"]
    variant = opts.variant or rng.choice(["giay_khai_sinh", "trich_luc", "giay_khai_sinh_centered"])
    if variant == "trich_luc" and rng.random() < 0.5:
        f["so"] = f"{f['so']}/TLKS-BS"
    layout_seed = rng.random()
    leaders = opts.leaders

    def build(spacing, body_pt=None):
        lr = random.Random(layout_seed)
        c = _canvas(opts, body_pt)
        if variant == "giay_khai_sinh_centered":
            national_header(c, None)
        else:
            national_header(c, commune_body_lines(place))
        c.gap(10)
        if variant == "trich_luc":
            _title(c, "TRÍCH LỤC KHAI SINH", opts)
            c.center("(BẢN SAO)", size=c.px(12), style="bold", spacing=1.5)
        else:
            _title(c, "GIẤY KHAI SINH", opts)
            c.gap(6)
        pairs_row(c, [("Số:", f["so"]), ("Quyển số:", f["quyen_so"])], leaders, spacing)
        c.gap(4)
        c.field("Họ, chữ đệm, tên:", f["ho_ten"], leaders=leaders, value_style="bold", spacing=spacing)
        c.field("Ngày, tháng, năm sinh:", f["ngay_sinh"], leaders=leaders, spacing=spacing)
        c.field("ghi bằng chữ:", f["ngay_sinh_bang_chu"], leaders=leaders, spacing=spacing)
        pairs_row(
            c,
            [("Giới tính:", f["gioi_tinh"]), ("Dân tộc:", f["dan_toc"]), ("Quốc tịch:", f["quoc_tich"])],
            leaders,
            spacing,
        )
        c.field("Nơi sinh:", f["noi_sinh"], leaders=leaders, spacing=spacing)
        c.field("Quê quán:", f["que_quan"], leaders=leaders, spacing=spacing)
        if "so_dinh_danh" in f:
            c.field("Số định danh cá nhân:", f["so_dinh_danh"], leaders=leaders, spacing=spacing)
        c.gap(4)
        c.field("Họ, chữ đệm, tên người mẹ:", f["ho_ten_me"], leaders=leaders, spacing=spacing)
        pairs_row(
            c,
            [("Năm sinh:", f["nam_sinh_me"]), ("Dân tộc:", f["dan_toc_me"]), ("Quốc tịch:", f["quoc_tich_me"])],
            leaders,
            spacing,
        )
        c.field("Nơi cư trú:", f["noi_cu_tru_me"], leaders=leaders, spacing=spacing)
        c.gap(4)
        c.field("Họ, chữ đệm, tên người cha:", f.get("ho_ten_cha"), leaders=leaders, spacing=spacing)
        pairs_row(
            c,
            [
                ("Năm sinh:", f.get("nam_sinh_cha")),
                ("Dân tộc:", f.get("dan_toc_cha")),
                ("Quốc tịch:", f.get("quoc_tich_cha")),
            ],
            leaders,
            spacing,
        )
        c.field("Nơi cư trú:", f.get("noi_cu_tru_cha"), leaders=leaders, spacing=spacing)
        c.gap(4)
        c.field("Họ, chữ đệm, tên người đi khai sinh:", f["nguoi_di_khai"], leaders=leaders, spacing=spacing)
        c.field("Nơi đăng ký khai sinh:", f["noi_dang_ky"], leaders=leaders, spacing=spacing)
        c.field("Ngày, tháng, năm đăng ký:", f["ngay_dang_ky"], leaders=leaders, spacing=spacing)
        c.gap(8)
        heading = ["NGƯỜI KÝ TRÍCH LỤC"] if variant == "trich_luc" else ["NGƯỜI KÝ GIẤY KHAI SINH"]
        guidance = ["(Ký, ghi rõ họ, chữ đệm, tên,", "chức vụ và đóng dấu)"]
        if lr.random() < 0.5:
            heading = ["TM. ỦY BAN NHÂN DÂN", lr.choice(["CHỦ TỊCH", "KT. CHỦ TỊCH"])]
            if heading[1].startswith("KT."):
                heading.append("PHÓ CHỦ TỊCH")
            guidance = []
        c.anchors = signature_block(c, heading, guidance, f["nguoi_ky"], blank_rows=4 if guidance else 5)
        return c

    c = _fit(build, opts)
    c.anchors["stamp_text"] = stamp_text_for(place)
    return Rendered(c.img, c.text(), [{"doc_type": "khai_sinh", "fields": f}], opts.font, opts.dpi, variant, c.anchors)


# ---------------------------------------------------------------------------
# ket_hon


def ket_hon(rng: random.Random, opts: RenderOptions) -> Rendered:
    rec = C.ket_hon_record(rng)
    f, place = rec["fields"], rec["place"]
    variant = opts.variant or rng.choice(["blocks", "table"])
    leaders = opts.leaders and variant == "blocks"

    def build(spacing, body_pt=None):
        c = _canvas(opts, body_pt)
        national_header(c, commune_body_lines(place))
        c.gap(12)
        _title(c, "GIẤY CHỨNG NHẬN KẾT HÔN", opts)
        c.gap(6)
        pairs_row(c, [("Số:", f["so"]), ("Quyển số:", f["quyen_so"])], leaders, spacing)
        c.gap(6)
        if variant == "table":
            edges = [c.left, c.left + c.text_width * 0.28, c.left + c.text_width * 0.64, c.right]
            rows = [["Thông tin", "Chồng", "Vợ"]]
            for label, key in [
                ("Họ, chữ đệm, tên", "ho_ten"),
                ("Ngày, tháng, năm sinh", "ngay_sinh"),
                ("Dân tộc", "dan_toc"),
                ("Quốc tịch", "quoc_tich"),
                ("Nơi cư trú", "noi_cu_tru"),
                ("Số định danh cá nhân", "so_dinh_danh"),
            ]:
                rows.append([label, f[f"{key}_chong"], f[f"{key}_vo"]])
            c.table(edges, rows, ruling=True, spacing=min(spacing, 1.35), pad_pt=5)
            c.gap(10)
        else:
            for who, title in (("chong", "chồng"), ("vo", "vợ")):
                c.field(
                    f"Họ, chữ đệm, tên {title}:",
                    f[f"ho_ten_{who}"],
                    leaders=leaders,
                    value_style="bold",
                    spacing=spacing,
                )
                pairs_row(
                    c,
                    [
                        ("Ngày, tháng, năm sinh:", f[f"ngay_sinh_{who}"]),
                        ("Dân tộc:", f[f"dan_toc_{who}"]),
                        ("Quốc tịch:", f[f"quoc_tich_{who}"]),
                    ],
                    leaders,
                    spacing,
                )
                c.field("Nơi cư trú:", f[f"noi_cu_tru_{who}"], leaders=leaders, spacing=spacing)
                c.field("Số định danh cá nhân:", f[f"so_dinh_danh_{who}"], leaders=leaders, spacing=spacing)
                c.gap(6)
        c.field("Nơi đăng ký kết hôn:", f["noi_dang_ky"], leaders=leaders, spacing=spacing)
        c.field("Ngày, tháng, năm đăng ký:", f["ngay_dang_ky"], leaders=leaders, spacing=spacing)
        c.gap(8)
        size = c.body
        left = [("Chồng", size, "bold"), ("(Ký, ghi rõ họ tên)", c.px(11), "italic")]
        c.anchors = signature_block(
            c,
            ["NGƯỜI KÝ GIẤY CHỨNG NHẬN"],
            ["(Ký, ghi rõ họ, chữ đệm, tên,", "chức vụ và đóng dấu)"],
            f["nguoi_ky"],
            left=left,
            left_cx_frac=0.18,
        )
        return c

    c = _fit(build, opts)
    c.anchors["stamp_text"] = stamp_text_for(place)
    return Rendered(c.img, c.text(), [{"doc_type": "ket_hon", "fields": f}], opts.font, opts.dpi, variant, c.anchors)


# ---------------------------------------------------------------------------
# khai_tu


def khai_tu(rng: random.Random, opts: RenderOptions) -> Rendered:
    rec = C.khai_tu_record(rng)
    f, place = rec["fields"], rec["place"]
    variant = opts.variant or "trich_luc"
    leaders = opts.leaders

    def build(spacing, body_pt=None):
        c = _canvas(opts, body_pt)
        national_header(c, commune_body_lines(place))
        c.gap(12)
        _title(c, "TRÍCH LỤC KHAI TỬ", opts)
        c.gap(6)
        pairs_row(c, [("Số:", f["so"]), ("Quyển số:", f["quyen_so"])], leaders, spacing)
        c.gap(4)
        c.field("Họ, chữ đệm, tên:", f["ho_ten"], leaders=leaders, value_style="bold", spacing=spacing)
        pairs_row(c, [("Ngày, tháng, năm sinh:", f["ngay_sinh"]), ("Giới tính:", f["gioi_tinh"])], leaders, spacing)
        pairs_row(c, [("Dân tộc:", f["dan_toc"]), ("Quốc tịch:", f["quoc_tich"])], leaders, spacing)
        c.field("Số định danh cá nhân:", f["so_dinh_danh"], leaders=leaders, spacing=spacing)
        c.field("Nơi cư trú cuối cùng:", f["noi_cu_tru"], leaders=leaders, spacing=spacing)
        pairs_row(c, [("Đã chết vào lúc:", f["gio_chet"] + ","), ("ngày", f["ngay_chet"])], leaders, spacing)
        c.field("Nơi chết:", f["noi_chet"], leaders=leaders, spacing=spacing)
        c.field("Nguyên nhân chết:", f["nguyen_nhan_chet"], leaders=leaders, spacing=spacing)
        c.gap(4)
        c.field("Họ, chữ đệm, tên người đi khai tử:", f["nguoi_khai"], leaders=leaders, spacing=spacing)
        c.field("Quan hệ với người chết:", f["quan_he"], leaders=leaders, spacing=spacing)
        c.field("Nơi đăng ký khai tử:", f["noi_dang_ky"], leaders=leaders, spacing=spacing)
        c.field("Ngày, tháng, năm đăng ký:", f["ngay_dang_ky"], leaders=leaders, spacing=spacing)
        c.gap(10)
        c.anchors = signature_block(
            c, ["NGƯỜI KÝ TRÍCH LỤC"], ["(Ký, ghi rõ họ, chữ đệm, tên,", "chức vụ và đóng dấu)"], f["nguoi_ky"]
        )
        return c

    c = _fit(build, opts)
    c.anchors["stamp_text"] = stamp_text_for(place)
    return Rendered(c.img, c.text(), [{"doc_type": "khai_tu", "fields": f}], opts.font, opts.dpi, variant, c.anchors)


# ---------------------------------------------------------------------------
# so_ho_tich: a page of a Sổ đăng ký khai sinh


LEDGER_HEADER = [
    "Số TT",
    "Họ và tên",
    "Ngày sinh",
    "Giới tính",
    "Dân tộc",
    "Nơi sinh",
    "Họ tên mẹ",
    "Họ tên cha",
    "Ngày ĐK",
]
LEDGER_KEYS = [
    "so",
    "ho_ten",
    "ngay_sinh",
    "gioi_tinh",
    "dan_toc",
    "noi_sinh",
    "ho_ten_me",
    "ho_ten_cha",
    "ngay_dang_ky",
]


def so_ho_tich(rng: random.Random, opts: RenderOptions) -> Rendered:
    place = C.random_place(rng)
    year = rng.randint(1978, 2015)
    n = rng.randint(9, 14)
    first = rng.randint(1, 300)
    recs = [C.ledger_record(rng, 0, year, place) for _ in range(n)]
    recs.sort(key=lambda r: dt.datetime.strptime(r["fields"]["ngay_dang_ky"], "%d/%m/%Y"))
    for i, r in enumerate(recs):
        r["fields"]["so"] = str(first + i)
    page_no = rng.randint(2, 120)
    variant = opts.variant or "ledger"

    def build(spacing, body_pt=None):
        pt = body_pt or (11.5 if Face(opts.font).mono else 12.0)
        c = _canvas(opts, pt, landscape=True, margins_mm=(12.0, 10.0, 10.0, 10.0))
        size = c.body
        c.columns(
            [
                (
                    c.left,
                    [
                        (f"UBND {place.commune.upper()}", size, "bold"),
                        (f"{place.district_full.upper()}", size, "regular"),
                    ],
                ),
                (c.right - c.length(f"Trang {page_no}", size), [(f"Trang {page_no}", size, "regular")]),
            ],
            align="left",
            spacing=1.3,
        )
        c.center("SỔ ĐĂNG KÝ KHAI SINH", size=c.px(16), style="bold", fill=opts.title_fill, spacing=1.3)
        c.center(f"Năm {year}", size=size, style="italic", spacing=1.6)
        rows = [LEDGER_HEADER] + [[r["fields"].get(k, "") for k in LEDGER_KEYS] for r in recs]
        # column widths from content; shrink the type until the table fits the page width
        tsize = size
        while True:
            pad = c.px(3) * 2 + 2
            need = [
                max(c.length(row[i], tsize, "bold" if j == 0 else "regular") for j, row in enumerate(rows)) + pad
                for i in range(len(LEDGER_KEYS))
            ]
            if sum(need) <= c.text_width or tsize <= c.px(8):
                break
            tsize -= 1
        extra = max(0.0, c.text_width - sum(need))
        widths = [w + extra * w / sum(need) for w in need]
        edges = [c.left]
        for w in widths:
            edges.append(edges[-1] + w)
        lh = c.line_height(tsize, 1.2)
        room = c.bottom - c.y - len(rows) * lh
        pad_px = max(c.px(2), min(c.px(16), room / (2 * len(rows)) * (spacing / 1.5)))
        c.table(edges, rows, size=tsize, ruling=opts.ruling, spacing=1.2, pad_pt=pad_px * 72 / c.dpi)
        return c

    c = _fit(build, opts, spacings=(1.5, 1.2))
    records = [{"doc_type": "khai_sinh", "fields": r["fields"]} for r in recs]
    c.anchors["stamp_text"] = stamp_text_for(place)
    return Rendered(c.img, c.text(), records, opts.font, opts.dpi, variant, c.anchors)


# ---------------------------------------------------------------------------
# van_ban (Nghị định 30/2020) and plain prose


def _issuer(rng: random.Random):
    place = C.random_place(rng)
    prov_upper = place.province.upper()
    prov_kind = place.province_kind.upper()
    kind = rng.choice(["ubnd_tinh", "ubnd_tinh", "ubnd_huyen", "so_tu_phap", "ubnd_xa"])
    if kind == "ubnd_tinh":
        lines = [("ỦY BAN NHÂN DÂN", "bold"), (f"{prov_kind} {prov_upper}", "bold")]
        body = f"ỦY BAN NHÂN DÂN {prov_kind} {prov_upper}"
        dept = rng.choice(["KGVX", "NC", "KT", "TH", "NNTN"])
        codes = {"cong_van": f"UBND-{dept}", "quyet_dinh": "QĐ-UBND", "thong_bao": "TB-UBND"}
        dia_danh = "Thành phố Hồ Chí Minh" if place.province == "Hồ Chí Minh" else place.province
        titles = (
            ["TM. ỦY BAN NHÂN DÂN", "KT. CHỦ TỊCH", "PHÓ CHỦ TỊCH"]
            if rng.random() < 0.6
            else ["TM. ỦY BAN NHÂN DÂN", "CHỦ TỊCH"]
        )
        seal = f"ỦY BAN NHÂN DÂN {prov_kind} {prov_upper} *"
        store = dept
    elif kind == "ubnd_huyen":
        lines = [("ỦY BAN NHÂN DÂN", "bold"), (place.district_full.upper(), "bold")]
        body = f"ỦY BAN NHÂN DÂN {place.district_full.upper()}"
        codes = {"cong_van": "UBND-TP", "quyet_dinh": "QĐ-UBND", "thong_bao": "TB-UBND"}
        dia_danh = place.district
        titles = (
            ["TM. ỦY BAN NHÂN DÂN", "CHỦ TỊCH"]
            if rng.random() < 0.5
            else ["TM. ỦY BAN NHÂN DÂN", "KT. CHỦ TỊCH", "PHÓ CHỦ TỊCH"]
        )
        seal = f"ỦY BAN NHÂN DÂN {place.district_full.upper()} * {prov_kind} {prov_upper} *"
        store = "TP"
    elif kind == "ubnd_xa":
        lines = [("ỦY BAN NHÂN DÂN", "bold"), (place.commune.upper(), "bold")]
        body = f"ỦY BAN NHÂN DÂN {place.commune.upper()}"
        codes = {"cong_van": "UBND", "quyet_dinh": "QĐ-UBND", "thong_bao": "TB-UBND"}
        dia_danh = place.commune_name
        titles = ["TM. ỦY BAN NHÂN DÂN", "CHỦ TỊCH"]
        seal = stamp_text_for(place)
        store = "VP"
    else:
        lines = [(f"UBND {prov_kind} {prov_upper}", "regular"), ("SỞ TƯ PHÁP", "bold")]
        body = "SỞ TƯ PHÁP"
        codes = {"cong_van": "STP-HCTP", "quyet_dinh": "QĐ-STP", "thong_bao": "TB-STP"}
        dia_danh = "Thành phố Hồ Chí Minh" if place.province == "Hồ Chí Minh" else place.province
        titles = ["GIÁM ĐỐC"] if rng.random() < 0.5 else ["KT. GIÁM ĐỐC", "PHÓ GIÁM ĐỐC"]
        seal = f"SỞ TƯ PHÁP * {prov_kind} {prov_upper} *"
        store = "HCTP"
    return {
        "kind": kind,
        "place": place,
        "lines": lines,
        "body": body,
        "codes": codes,
        "dia_danh": dia_danh,
        "titles": titles,
        "seal": seal,
        "store": store,
    }


def _date_line(dia_danh: str, d: dt.date) -> str:
    month = f"{d.month:02d}" if d.month < 3 else str(d.month)
    return f"{dia_danh}, ngày {d.day:02d} tháng {month} năm {d.year}"


def _center_wrapped(
    c: Canvas, text: str, width: float, size: int, style: str, spacing: float = 1.35, fill=None
) -> None:
    for line in c.wrap(text, width, size, style):
        c.center(line, size=size, style=style, spacing=spacing, fill=fill)


def van_ban(rng: random.Random, opts: RenderOptions) -> Rendered:
    variant = opts.variant or rng.choice(["cong_van", "quyet_dinh", "thong_bao"])
    iss = _issuer(rng)
    issued = C.random_date(rng, dt.date(2016, 1, 1), dt.date(2025, 6, 30))
    number = rng.randint(12, 2900)
    so_ky_hieu = (
        f"{number}/{issued.year}/{iss['codes'][variant]}"
        if variant == "quyet_dinh" and rng.random() < 0.2
        else f"{number}/{iss['codes'][variant]}"
    )
    subject = rng.choice({"cong_van": P.CV_SUBJECTS, "quyet_dinh": P.QD_SUBJECTS, "thong_bao": P.TB_SUBJECTS}[variant])
    loai = {"cong_van": "Công văn", "quyet_dinh": "Quyết định", "thong_bao": "Thông báo"}[variant]
    noi_nhan = ["Như trên;"] if variant == "cong_van" else []
    pool = P.NOI_NHAN_BY_LEVEL.get(iss["kind"], P.NOI_NHAN_POOL)
    noi_nhan += rng.sample(pool, rng.randint(2, 4))
    noi_nhan.append(f"Lưu: VT, {iss['store']}.")
    signer = C.person_name(rng, rng.choice(["Nam", "Nam", "Nữ"]))
    sentences = rng.sample(P.SENTENCES, 12)
    recipients = rng.sample(
        {
            "ubnd_tinh": ["Sở Tư pháp;", "Công an tỉnh;", "UBND các huyện, thị xã, thành phố;", "Sở Nội vụ;"],
            "so_tu_phap": [
                "Phòng Tư pháp các huyện, thị xã, thành phố;",
                "UBND các xã, phường, thị trấn;",
                "Công an tỉnh;",
            ],
            "ubnd_huyen": ["Phòng Tư pháp;", "UBND các xã, thị trấn;", "Công an huyện;"],
            "ubnd_xa": ["Trưởng các thôn, tổ dân phố;", "Công an xã;", "Trạm Y tế xã;"],
        }[iss["kind"]],
        rng.randint(1, 2),
    )
    recipients = recipients[:-1] + [recipients[-1].rstrip(";") + "."]
    can_cu = [P.CAN_CU[0], P.CAN_CU[1], rng.choice(P.CAN_CU[2:])]
    to_trinh = P.PROPOSERS[iss["kind"]].format(
        n=rng.randint(10, 300), d=(issued - dt.timedelta(days=rng.randint(3, 20))).strftime("%d/%m/%Y")
    )
    ve_viec = rng.random() < 0.6

    def build(spacing, body_pt=None):
        c = _canvas(opts, body_pt, margins_mm=(30.0, 20.0, 15.0, 20.0))
        size = c.body
        lx = c.left + c.text_width * 0.2
        rx = c.left + c.text_width * 0.67
        hsize = c.px(12.5)
        left = [(t, hsize, s) for t, s in iss["lines"]]
        motto = [
            ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", hsize, "bold"),
            ("Độc lập - Tự do - Hạnh phúc", c.px(13), "bold"),
        ]
        for _ in range(6):
            lw = max(c.length(t, sz, st) for t, sz, st in left)
            rw = max(c.length(t, sz, st) for t, sz, st in motto)
            if lx + lw / 2 + c.mm(3) < rx - rw / 2 and rx + rw / 2 <= c.right + c.mm(5):
                break
            left = [(t, int(sz * 0.94), st) for t, sz, st in left]
            motto = [(t, int(sz * 0.94), st) for t, sz, st in motto]
        c.columns([(lx, left), (rx, motto)], spacing=1.25, underline_after={0: (len(left) - 1, 0.4), 1: (1, 1.0)})
        c.gap(6)
        lines_l = [(f"Số: {so_ky_hieu}", size, "regular")]
        if variant == "cong_van":
            for ln in c.wrap("V/v " + subject, c.text_width * 0.4, c.px(12)):
                lines_l.append((ln, c.px(12), "regular"))
        date_text = _date_line(iss["dia_danh"], issued)
        c.columns([(lx, lines_l), (rx, [(date_text, size, "italic")])], spacing=1.3)
        c.gap(14)
        if variant == "cong_van":
            recips = ["Kính gửi:"] + (["- " + r for r in recipients] if len(recipients) > 1 else [recipients[0]])
            if len(recips) == 2:
                c.center(" ".join(recips), size=size, spacing=spacing)
            else:
                kx = c.left + c.text_width * 0.25
                c.row([Seg(kx, "Kính gửi:", size)], spacing=spacing)
                for r in recips[1:]:
                    c.row([Seg(kx + c.mm(25), r, size)], spacing=spacing)
            c.gap(8)
        else:
            c.center(loai.upper(), size=c.px(14), style="bold", spacing=1.3)
            sub = ("Về việc " + subject) if ve_viec else (subject[0].upper() + subject[1:])
            _center_wrapped(c, sub, c.text_width * 0.85, size, "bold", spacing=1.3)
            c.rule((c.left + c.right) / 2 - c.mm(18), (c.left + c.right) / 2 + c.mm(18), c.y + 2)
            c.gap(12)
            if variant == "quyet_dinh":
                issuer_title = (
                    ("CHỦ TỊCH " + iss["body"]) if iss["body"].startswith("ỦY BAN") else "GIÁM ĐỐC " + iss["body"]
                )
                _center_wrapped(c, issuer_title, c.text_width * 0.9, size, "bold", spacing=1.3)
                c.gap(8)
                for cc in can_cu:
                    c.paragraph(cc, style="italic", spacing=spacing * 0.9, after_pt=2)
                c.paragraph(to_trinh, style="italic", spacing=spacing * 0.9, after_pt=6)
                c.center("QUYẾT ĐỊNH:", size=c.px(14), style="bold", spacing=1.6)
        # closing block (Nơi nhận + signer) height estimate
        small = c.px(11)
        left_block = [("Nơi nhận:", c.px(12), "bolditalic")] + [("- " + n, small, "regular") for n in noi_nhan]
        right_block = (
            [(t, size, "bold") for t in iss["titles"]] + [("", size, "regular")] * 4 + [(signer, size, "bold")]
        )
        close_h = max(len(left_block), len(right_block)) * c.line_height(size, 1.3) + c.mm(6)
        body, closing = [], ""
        if variant == "quyet_dinh":
            body = [f"Điều {i + 1}. {t}" for i, t in enumerate(P.DIEU[: rng_layout.randint(2, 3)])]
            body.append(
                f"Điều {len(body) + 1}. Quyết định này có hiệu lực thi hành kể từ ngày ký. Chánh Văn phòng, "
                f"Thủ trưởng các cơ quan, đơn vị và cá nhân có liên quan chịu trách nhiệm thi hành Quyết định "
                f"này./."
            )
        else:
            k = 0
            while k < len(sentences):
                take = rng_layout.randint(1, 3)
                body.append(" ".join(sentences[k : k + take]))
                k += take
            closing = P.CLOSINGS[variant]
        closing_rows = c.paragraph_rows(closing) * c.line_height(size, spacing) if variant != "quyet_dinh" else 0
        for para in body:
            need = c.paragraph_rows(para) * c.line_height(size, spacing) + c.px(4)
            if c.y + need + close_h + closing_rows > c.bottom:
                break
            c.paragraph(para, spacing=spacing)
        if variant != "quyet_dinh":
            c.paragraph(closing, spacing=spacing)
        c.gap(6)
        lx2 = c.left
        rx2 = c.left + c.text_width * 0.7
        n_top = len(iss["titles"])
        # left block is left aligned; draw as separate columns with alignments
        baselines = []
        n = max(len(left_block), len(right_block))
        for i in range(n):
            segs = []
            if i < len(left_block):
                t, sz, st = left_block[i]
                segs.append(Seg(lx2, t, sz, st))
            if i < len(right_block) and right_block[i][0]:
                t, sz, st = right_block[i]
                segs.append(Seg(c.centered_x(t, rx2, sz, st), t, sz, st))
            if not segs:
                segs = [Seg(lx2, "", size)]
            baselines.append(c.row(segs, spacing=1.3))
        top = baselines[n_top - 1] + size * 0.4
        bottom = baselines[len(right_block) - 1] - size
        c.anchors = {
            "signature": (rx2, (top + bottom) / 2),
            "signature_width": c.mm(45),
            "stamp": (rx2 - c.mm(16), (top + bottom) / 2 - c.mm(2)),
            "stamp_radius": c.mm(19),
        }
        return c

    rng_layout = random.Random(rng.random())
    layout_state = rng_layout.getstate()

    def build_fresh(spacing, body_pt=None):
        rng_layout.setstate(layout_state)
        return build(spacing, body_pt)

    c = _fit(build_fresh, opts, spacings=(1.45, 1.35, 1.25))
    c.anchors["stamp_text"] = iss["seal"]
    fields = {
        # Nghị định 30: the issuing body's name is both header lines (with its parent body)
        "co_quan_ban_hanh": " ".join(text for text, _ in iss["lines"]),
        "so_ky_hieu": so_ky_hieu,
        "dia_danh": iss["dia_danh"],
        "ngay_ban_hanh": issued.strftime("%d/%m/%Y"),
        "loai_van_ban": loai,
        "trich_yeu": subject,
        "noi_nhan": "; ".join(n.rstrip(";.") for n in noi_nhan),
        "chuc_vu_nguoi_ky": iss["titles"][-1],
        "nguoi_ky": signer,
    }
    if variant != "cong_van" and not ve_viec:
        fields["trich_yeu"] = subject[0].upper() + subject[1:]
    return Rendered(
        c.img, c.text(), [{"doc_type": "van_ban", "fields": fields}], opts.font, opts.dpi, variant, c.anchors
    )


def prose(rng: random.Random, opts: RenderOptions) -> Rendered:
    """A plain page of prose: text only, no fields (doc_type van_ban, no records)."""
    sentences = rng.sample(P.SENTENCES, len(P.SENTENCES))
    heading = rng.choice(P.HEADINGS) if rng.random() < 0.7 else None
    seed = rng.random()

    def build(spacing, body_pt=None):
        lr = random.Random(seed)
        c = _canvas(opts, body_pt, margins_mm=(30.0, 20.0, 15.0, 20.0))
        if heading:
            c.row([Seg(c.left, heading, c.body, "bold")], spacing=1.8)
        k = 0
        while k < len(sentences):
            take = lr.randint(2, 4)
            para = " ".join(sentences[k : k + take])
            need = c.paragraph_rows(para) * c.line_height(c.body, spacing) + c.px(4)
            if c.y + need > c.bottom:
                break
            c.paragraph(para, spacing=spacing)
            k += take
        return c

    c = build(1.5)
    return Rendered(c.img, c.text(), [], opts.font, opts.dpi, "prose", {})


# ---------------------------------------------------------------------------
# cccd: a photocopy of a chip-based citizen ID card, front above back, on an A4 sheet

CARD_MM = (85.6, 53.98)
CARD_RED = (190, 30, 40)


def qr_modules(text: str):  # -> numpy bool array (numpy is imported only when cards are drawn)
    """The QR code of `text` (UTF-8, error correction M) as a bool array, True = dark, with
    its four-module quiet zone."""
    import cv2
    import numpy as np

    params = cv2.QRCodeEncoder_Params()
    params.correction_level = cv2.QRCodeEncoder_CORRECT_LEVEL_M
    grid = cv2.QRCodeEncoder.create(params).encode(text)
    return np.asarray(grid) < 128


def draw_qr(img: Image.Image, modules, x: float, y: float, module_px: float) -> tuple[int, int, int, int]:
    """Paste the code with its top-left at (x, y), each module `module_px` wide (not a whole
    number of pixels in general: edges fall between pixels as on a scan); returns its box."""
    import cv2
    import numpy as np

    n = modules.shape[0]
    size = int(round(n * module_px))
    ss = 8  # draw at 8x, reduce by area: edge pixels get the grey share of each module
    big = cv2.resize((~modules).astype(np.uint8) * 255, (size * ss, size * ss), interpolation=cv2.INTER_NEAREST)
    small = cv2.resize(big, (size, size), interpolation=cv2.INTER_AREA)
    tile = Image.fromarray(np.repeat(small[:, :, None], 3, axis=2))
    img.paste(tile, (int(round(x)), int(round(y))))
    return (int(round(x)), int(round(y)), int(round(x)) + size, int(round(y)) + size)


def _mrz(printed: dict, number: str) -> list[str]:
    import unicodedata

    def plain(s: str) -> str:
        s = unicodedata.normalize("NFD", s.replace("Đ", "D").replace("đ", "d"))
        return "".join(ch for ch in s if not unicodedata.combining(ch)).upper()

    born = printed["ngay_sinh"].split("/")
    parts = plain(printed["ho_ten"]).split()
    line1 = f"IDVNM{number[3:]}{number[-1]}{number}<<{sum(map(int, number)) % 10}"
    line2 = f"{born[2][2:]}{born[1]}{born[0]}{'M' if printed['gioi_tinh'] == 'Nam' else 'F'}" + "<" * 7 + "VNM"
    line3 = parts[0] + "<<" + "<".join(parts[1:])
    return [(line[:30]).ljust(30, "<") for line in (line1, line2, line3)]


def cccd(rng: random.Random, opts: RenderOptions) -> Rendered:
    """Front above back of an ID card, photocopied at their real size onto an A4 sheet: the
    2021 căn cước công dân (QR code on the front) or the 2024 thẻ căn cước (QR code on the
    back). The record holds what the QR code gives; `extra["printed"]` what the card prints."""
    rec = C.cccd_record(rng)
    f, printed, payload = rec["fields"], rec["printed"], rec["payload"]
    variant = opts.variant or rng.choice(["cccd_2021", "can_cuoc_2024"])
    if opts.qr == "6":  # a payload without the old ID number's field
        parts = payload.split("|")
        payload = "|".join(parts[:1] + parts[2:])
        f = {k: v for k, v in f.items() if k != "so_cmnd"}
    elif opts.qr == "garbage":
        payload = f"https://dichvucong.gov.vn/p/home/dvc-tra-cuu-ho-so.html?ma={rng.randint(10**9, 10**10)}"
    face = opts.font if opts.font not in ("DejaVuSansMono",) else "DejaVuSans"
    c = Canvas(Face(face), dpi=opts.dpi, body_pt=7.0, margins_mm=(25.0, 25.0, 25.0, 20.0))
    draw = c.draw
    cw, ch = c.mm(CARD_MM[0]), c.mm(CARD_MM[1])
    pt = c.px
    ink = (25, 25, 30)
    module_px = opts.qr_module_mm * opts.dpi / 25.4
    anchors: dict = {}

    def line(x: float, y: float, text: str, size: float = 6.5, style: str = "regular", fill=ink) -> float:
        c.y = y
        c.row([Seg(x, text, pt(size), style, fill)], spacing=1.3)
        return c.y

    def pair(x: float, y: float, label: str, value: str, size: float = 6.0, width: float | None = None) -> float:
        """'Label: value' with the value wrapping under the label's start."""
        width = width or (x0 + cw - c.mm(3) - x)
        first = width - c.length(label + " ", pt(size))
        rows = c.wrap(value, width, pt(size), first_width=first)
        c.y = y
        c.row(
            [
                Seg(x, label, pt(size), "regular", ink),
                Seg(x + c.length(label + " ", pt(size)), rows[0], pt(size), "bold", ink),
            ],
            spacing=1.3,
        )
        for more in rows[1:]:
            c.row([Seg(x, more, pt(size), "bold", ink)], spacing=1.3)
        return c.y

    def card(y0: float) -> None:
        draw.rounded_rectangle(
            [x0, y0, x0 + cw, y0 + ch],
            radius=c.mm(3.2),
            fill=(236, 240, 236),
            outline=(120, 120, 120),
            width=max(1, c.dpi // 150),
        )
        for k in range(0, cw, c.mm(2.2)):  # faint guilloche lines of the card's print
            draw.arc(
                [x0 + k - c.mm(30), y0 + c.mm(8), x0 + k + c.mm(30), y0 + ch + c.mm(30)],
                200,
                340,
                fill=(214, 224, 220),
                width=1,
            )

    def header(y0: float, title: str, subtitle: str) -> float:
        cx = x0 + cw * 0.5
        draw.ellipse(
            [x0 + c.mm(2.5), y0 + c.mm(2.5), x0 + c.mm(12.5), y0 + c.mm(12.5)],
            fill=CARD_RED,
            outline=(200, 160, 40),
            width=max(1, c.dpi // 100),
        )
        y = y0 + c.mm(2.3)
        for text, size, style, fill in (
            ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", 6.0, "bold", ink),
            ("Độc lập - Tự do - Hạnh phúc", 6.0, "bold", ink),
            (title, 9.5, "bold", CARD_RED),
            (subtitle, 6.0, "bold", CARD_RED),
        ):
            y = line(cx - c.length(text, pt(size), style) / 2, y, text, size, style, fill)
        return y

    def photo(y0: float) -> None:
        px0, py0 = x0 + c.mm(3), y0 + c.mm(19)
        draw.rectangle([px0, py0, px0 + c.mm(20), py0 + c.mm(26)], fill=(150, 158, 170))
        draw.ellipse([px0 + c.mm(5.5), py0 + c.mm(3), px0 + c.mm(14.5), py0 + c.mm(14)], fill=(95, 90, 92))
        draw.pieslice([px0 + c.mm(1.5), py0 + c.mm(14), px0 + c.mm(18.5), py0 + c.mm(36)], 180, 360, fill=(60, 62, 80))

    def code(x: float, y: float) -> None:
        if opts.qr == "none":
            return
        anchors["qr_box"] = draw_qr(c.img, qr_modules(payload), x, y, module_px)

    x0 = c.left
    front, back = c.top, c.top + ch + c.mm(18)
    card(front)
    qr_size = (qr_modules(payload).shape[0] if opts.qr != "none" else 45) * module_px
    fx = x0 + c.mm(25)
    if variant == "cccd_2021":
        code(x0 + cw - c.mm(1.5) - qr_size, front + c.mm(1.5))
        y = header(front, "CĂN CƯỚC CÔNG DÂN", "Citizen Identity Card")
        photo(front)
        y = line(fx, y + c.mm(0.5), f"Số / No.: {printed['so_dinh_danh']}", 8.0, "bold")
        y = line(fx, y, "Họ và tên / Full name:", 6.0)
        y = line(fx, y, printed["ho_ten"], 8.0, "bold")
        y = pair(fx, y, "Ngày sinh / Date of birth:", printed["ngay_sinh"])
        c.y = y
        c.row(
            [
                Seg(fx, "Giới tính / Sex:", pt(6), "regular", ink),
                Seg(fx + c.length("Giới tính / Sex: ", pt(6)), printed["gioi_tinh"], pt(6), "bold", ink),
                Seg(fx + c.mm(24), "Quốc tịch / Nationality:", pt(6), "regular", ink),
                Seg(
                    fx + c.mm(24) + c.length("Quốc tịch / Nationality: ", pt(6)),
                    printed["quoc_tich"],
                    pt(6),
                    "bold",
                    ink,
                ),
            ],
            spacing=1.3,
        )
        y = pair(fx, c.y, "Quê quán / Place of origin:", printed["que_quan"])
        y = pair(fx, y, "Nơi thường trú / Place of residence:", printed["noi_thuong_tru"])
        line(x0 + c.mm(3), front + ch - c.mm(5), f"Có giá trị đến: {printed['co_gia_tri_den']}", 5.5)
        card(back)
        y = pair(
            x0 + c.mm(3),
            back + c.mm(3),
            "Đặc điểm nhân dạng / Personal identification:",
            rng.choice(
                [
                    "Nốt ruồi C:1cm trên sau cánh mũi phải",
                    "Sẹo chấm C:2cm dưới trước đuôi mắt trái",
                    "Nốt ruồi C:1,5cm dưới sau mép trái",
                ]
            ),
            width=c.mm(50),
        )
        y = pair(
            x0 + c.mm(3), y + c.mm(1), "Ngày, tháng, năm / Date, month, year:", printed["ngay_cap"], width=c.mm(50)
        )
        for text in ("CỤC TRƯỞNG CỤC CẢNH SÁT", "QUẢN LÝ HÀNH CHÍNH VỀ TRẬT TỰ XÃ HỘI"):
            y = line(x0 + c.mm(28) - c.length(text, pt(6), "bold") / 2, y, text, 6.0, "bold")
        y = line(x0 + c.mm(28) - c.length("Tô Văn Huệ", pt(6.5), "bold") / 2, y + c.mm(5), "Tô Văn Huệ", 6.5, "bold")
        for k in range(2):
            draw.rectangle(
                [x0 + c.mm(57 + 14 * k), back + c.mm(4), x0 + c.mm(69 + 14 * k), back + c.mm(20)],
                outline=(120, 120, 120),
                width=1,
            )
    else:
        y = header(front, "CĂN CƯỚC", "IDENTITY CARD")
        photo(front)
        y = line(fx, y + c.mm(0.5), "Số định danh cá nhân / Personal identification number:", 6.0)
        y = line(fx, y, printed["so_dinh_danh"], 8.5, "bold")
        y = line(fx, y, "Họ, chữ đệm và tên khai sinh / Full name:", 6.0)
        y = line(fx, y, printed["ho_ten"], 8.0, "bold")
        y = pair(fx, y, "Ngày, tháng, năm sinh / Date of birth:", printed["ngay_sinh"], 6.0)
        c.y = y
        c.row(
            [
                Seg(fx, "Giới tính / Sex:", pt(6), "regular", ink),
                Seg(fx + c.length("Giới tính / Sex: ", pt(6)), printed["gioi_tinh"], pt(6), "bold", ink),
                Seg(fx + c.mm(24), "Quốc tịch / Nationality:", pt(6), "regular", ink),
                Seg(
                    fx + c.mm(24) + c.length("Quốc tịch / Nationality: ", pt(6)),
                    printed["quoc_tich"],
                    pt(6),
                    "bold",
                    ink,
                ),
            ],
            spacing=1.3,
        )
        card(back)
        code(x0 + c.mm(2), back + c.mm(2))
        bx = x0 + c.mm(2) + qr_size + c.mm(2)
        y = pair(bx, back + c.mm(3), "Nơi cư trú / Place of residence:", printed["noi_thuong_tru"], 6.0)
        y = pair(bx, y, "Nơi đăng ký khai sinh / Place of birth:", printed["que_quan"], 6.0)
        y = pair(bx, y, "Ngày, tháng, năm cấp / Date of issue:", printed["ngay_cap"], 6.0)
        y = pair(bx, y, "Ngày, tháng, năm hết hạn / Date of expiry:", printed["co_gia_tri_den"], 6.0)
        y = line(bx, y + c.mm(1), "BỘ CÔNG AN / MINISTRY OF PUBLIC SECURITY", 6.0, "bold")
    mono = Face("DejaVuSansMono")
    for k, text in enumerate(_mrz(printed, printed["so_dinh_danh"])):
        mono.draw(draw, x0 + c.mm(4), back + ch - c.mm(11) + k * pt(7) * 1.3, text, pt(7), "regular", ink)
    anchors.update({"front": (x0, front, x0 + cw, front + ch), "back": (x0, back, x0 + cw, back + ch)})
    # rows in reading order (the code's box and the MRZ are not text)
    c.rows.sort(key=lambda r: r[0])
    fields_out = dict(f)
    return Rendered(
        c.img,
        c.text(),
        [{"doc_type": "cccd", "fields": fields_out}],
        face,
        opts.dpi,
        variant,
        anchors,
        extra={"printed": printed, "payload": payload},
    )


TEMPLATES = {
    "khai_sinh": khai_sinh,
    "ket_hon": ket_hon,
    "khai_tu": khai_tu,
    "so_ho_tich": so_ho_tich,
    "van_ban": van_ban,
    "prose": prose,
    "cccd": cccd,
}
DOC_TYPE = {
    "khai_sinh": "khai_sinh",
    "ket_hon": "ket_hon",
    "khai_tu": "khai_tu",
    "so_ho_tich": "so_ho_tich",
    "van_ban": "van_ban",
    "prose": "van_ban",
    "cccd": "cccd",
}
