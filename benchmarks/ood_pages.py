"""Out-of-distribution administrative documents: pages that `samples/` cannot make.

    .venv/bin/python -m benchmarks.ood_pages --out /tmp/ood --count 30 --seed 1 [--font-dir DIR]

An independent renderer, sharing no template, vocabulary, font or degradation code with
`samples/` (whose held-out slices differ from its dev slices only by seed). What is out of
distribution here, each recorded in the page's `variant` so results can be sliced by it:

* font: Liberation Serif, metric-compatible with Times New Roman, which Nghị định 30/2020
  (Phụ lục I) prescribes for administrative documents; the samples are set in DejaVu faces.
  Debian's `fonts-liberation2` is unpacked (not installed) into --font-dir, so the machine's
  own font set, which the generator draws from, is left as it is;
* layout: the issuing body under its parent body, an italic place-and-date line, the subject
  under the kind with the short rule below it, an electronic-signature box at the top right
  (Nghị định 30 digital copies), a body in two columns (`two_columns`), the closing block on
  a second page (`two_pages`), the number written by hand into the printed blank
  (`hand_number`, blue, listed under `handwritten` in the ground truth);
* vocabulary: subjects, bodies and recipients from other fields of administration (health,
  schools, roads, farming, disasters) than the generator's civil-status texts;
* degradations written here: a phone photo of the sheet lying on a dark textured desk with a
  soft shadow (`desk_photo`), 150 dpi, grain and JPEG, a small rotation.

The ground truth has the generator's shape (`NAME.gt.json`: text in the CONTRACT's reading
order without the signature box, records with the `van_ban` fields), so `bench_fields`,
`bench_ocr` and friends read these folders as they read the generator's."""

from __future__ import annotations

import argparse
import io
import json
import random
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

ROOT = Path(__file__).resolve().parents[1]
DPI = 200
W, H = int(8.27 * DPI), int(11.69 * DPI)  # A4
MARGIN_L, MARGIN_R = int(1.18 * DPI), int(0.79 * DPI)  # 30 mm and 20 mm: Nghị định 30's margins

KINDS = ("QUYẾT ĐỊNH", "KẾ HOẠCH", "THÔNG BÁO", "BÁO CÁO", "CHỈ THỊ", "TỜ TRÌNH")
KIND_CODE = {
    "QUYẾT ĐỊNH": "QĐ",
    "KẾ HOẠCH": "KH",
    "THÔNG BÁO": "TB",
    "BÁO CÁO": "BC",
    "CHỈ THỊ": "CT",
    "TỜ TRÌNH": "TTr",
    "CÔNG VĂN": "",
}
SUBJECTS = (
    "Về việc phòng, chống dịch sốt xuất huyết trong mùa mưa năm {y}",
    "Về việc tổ chức kỳ thi tuyển sinh vào lớp 10 trung học phổ thông năm học {y}-{y1}",
    "Triển khai sửa chữa, nâng cấp đường giao thông nông thôn giai đoạn {y}-{y2}",
    "Về việc chủ động ứng phó với áp thấp nhiệt đới và mưa lớn",
    "Về việc hỗ trợ giống cây trồng cho hộ nông dân bị thiệt hại do hạn hán",
    "Kết quả kiểm tra an toàn thực phẩm dịp Tết Nguyên đán",
    "Về việc tăng cường quản lý khai thác cát, sỏi lòng sông",
    "Về việc tiêm chủng mở rộng cho trẻ em dưới năm tuổi",
    "Về việc bảo vệ rừng và phòng cháy, chữa cháy rừng mùa khô",
    "Về việc sắp xếp lại các điểm trường lẻ ở vùng sâu, vùng xa",
    "Về việc nạo vét kênh mương nội đồng phục vụ sản xuất vụ đông xuân",
    "Tình hình thực hiện chương trình mục tiêu quốc gia xây dựng nông thôn mới quý {q} năm {y}",
)
SENTENCES = (
    "Trong thời gian qua, các cơ sở y tế đã chủ động giám sát, phát hiện sớm các ca bệnh và xử lý kịp thời ổ dịch.",
    "Ủy ban nhân dân các huyện, thị xã rà soát toàn bộ tuyến đường xuống cấp và đề xuất danh mục ưu tiên sửa chữa.",
    "Các trường học bố trí đủ phòng thi, cán bộ coi thi và phương án dự phòng khi có mưa bão.",
    "Nông dân được hướng dẫn gieo cấy đúng lịch thời vụ, sử dụng giống chịu hạn và tiết kiệm nước tưới.",
    "Lực lượng kiểm lâm phối hợp với chính quyền địa phương tuần tra, ngăn chặn hành vi chặt phá rừng trái phép.",
    "Kinh phí thực hiện được bảo đảm từ nguồn ngân sách tỉnh và các nguồn vốn hợp pháp khác.",
    "Đoàn kiểm tra liên ngành đã lấy mẫu thực phẩm tại các chợ đầu mối và siêu thị trên địa bàn.",
    "Các đơn vị báo cáo kết quả thực hiện về Văn phòng trước ngày hai mươi hằng tháng để tổng hợp.",
    "Người đứng đầu cơ quan, đơn vị chịu trách nhiệm nếu để xảy ra sai phạm trong phạm vi quản lý.",
    "Trạm khí tượng thủy văn theo dõi chặt chẽ diễn biến thời tiết và thông báo kịp thời cho nhân dân.",
    "Việc di dời dân ra khỏi vùng nguy hiểm phải hoàn thành trước khi mưa lớn xảy ra.",
    "Các hợp tác xã nông nghiệp tổ chức nạo vét kênh mương, gia cố bờ bao trước mùa lũ.",
    "Học sinh có hoàn cảnh khó khăn được miễn, giảm học phí theo quy định hiện hành.",
    "Trong quá trình thực hiện, nếu có vướng mắc, các đơn vị phản ánh về Sở Kế hoạch và Đầu tư để hướng dẫn.",
)
RECIPIENTS = (
    "Như trên",
    "Bộ Y tế",
    "Bộ Giáo dục và Đào tạo",
    "Thường trực Tỉnh ủy",
    "Thường trực HĐND tỉnh",
    "Chủ tịch, các PCT UBND tỉnh",
    "Các sở, ban, ngành tỉnh",
    "UBND các huyện, thị xã, thành phố",
    "Đài Phát thanh và Truyền hình tỉnh",
    "Lưu: VT, KGVX",
)
SURNAMES = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô")
MIDDLE = ("Văn", "Thị", "Hữu", "Đức", "Minh", "Quốc", "Thanh", "Ngọc", "Xuân", "Công")
GIVEN = ("Hải", "Dũng", "Hương", "Tuấn", "Lan", "Phúc", "Sơn", "Hòa", "Thắng", "Mai", "Khoa", "Vinh", "Yến")
PARENTS = ("SỞ Y TẾ", "SỞ GIÁO DỤC VÀ ĐÀO TẠO", "SỞ GIAO THÔNG VẬN TẢI", "SỞ NÔNG NGHIỆP VÀ MÔI TRƯỜNG")
PARENT_CODE = {
    "SỞ Y TẾ": "SYT",
    "SỞ GIÁO DỤC VÀ ĐÀO TẠO": "SGDĐT",
    "SỞ GIAO THÔNG VẬN TẢI": "SGTVT",
    "SỞ NÔNG NGHIỆP VÀ MÔI TRƯỜNG": "SNNMT",
}


# Provinces (before the 2025 merger) with their codes as the personal identification number
# carries them (Thông tư 59/2021/TT-BCA, Phụ lục): none of them is among the generator's
# committed samples' provinces.
PROVINCES = {
    "Quảng Ngãi": "051",
    "Bình Định": "052",
    "Nghệ An": "040",
    "Thái Bình": "034",
    "Lâm Đồng": "068",
    "Cà Mau": "096",
}


def provinces() -> list[str]:
    return list(PROVINCES)


def ensure_fonts(folder: Path) -> Path:
    """Liberation 2 (with Vietnamese) unpacked from Debian's package into `folder`."""
    found = list(folder.rglob("LiberationSerif-Regular.ttf"))
    if found:
        return found[0].parent
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        got = subprocess.run(["apt-get", "download", "fonts-liberation2"], cwd=tmp, capture_output=True)
        debs = list(Path(tmp).glob("fonts-liberation2_*.deb"))
        if got.returncode != 0 or not debs:
            raise SystemExit("ood_pages: cannot fetch Debian's fonts-liberation2 (run 'apt-get update' first)")
        subprocess.run(["dpkg-deb", "-x", str(debs[0]), str(folder)], check=True)
    return next(folder.rglob("LiberationSerif-Regular.ttf")).parent


class Pen:
    def __init__(self, fonts: Path):
        self.fonts = fonts
        self._cache: dict[tuple[str, int], ImageFont.FreeTypeFont] = {}

    def font(self, style: str, pt: float) -> ImageFont.FreeTypeFont:
        size = int(round(pt / 72 * DPI))
        key = (style, size)
        if key not in self._cache:
            name = {"r": "Regular", "b": "Bold", "i": "Italic", "bi": "BoldItalic"}[style]
            self._cache[key] = ImageFont.truetype(str(self.fonts / f"LiberationSerif-{name}.ttf"), size)
        return self._cache[key]


def wrap(draw: ImageDraw.ImageDraw, text: str, font, width: int) -> list[str]:
    lines, cur = [], ""
    for word in text.split():
        trial = f"{cur} {word}".strip()
        if cur and draw.textlength(trial, font=font) > width:
            lines.append(cur)
            cur = word
        else:
            cur = trial
    return lines + ([cur] if cur else [])


def render(seed: int, pen: Pen, names: list[str]) -> tuple[list[Image.Image], dict]:
    rng = random.Random(seed)
    province = rng.choice(names)
    kind = rng.choice(KINDS)
    year = rng.randint(2019, 2025)
    day, month = rng.randint(1, 28), rng.randint(1, 12)
    number = rng.randint(1, 2999)
    parent = rng.random() < 0.4
    body_top = f"UBND TỈNH {province.upper()}" if parent else "ỦY BAN NHÂN DÂN"
    body_bottom = rng.choice(PARENTS) if parent else f"TỈNH {province.upper()}"
    issuer = f"{body_top} {body_bottom}"  # Nghị định 30: the body's name with its parent body's
    unit = PARENT_CODE[body_bottom] if parent else "UBND"
    notation = f"{KIND_CODE[kind]}-{unit}"
    variant = {
        "two_columns": rng.random() < 0.35,
        "two_pages": rng.random() < 0.3,
        "esign_box": rng.random() < 0.5,
        "hand_number": rng.random() < 0.3,
    }
    subject = rng.choice(SUBJECTS).format(y=year, y1=year + 1, y2=year + 2, q=rng.choice(("I", "II", "III")))
    signer = f"{rng.choice(SURNAMES)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}"
    title = rng.choice(("CHỦ TỊCH", "PHÓ CHỦ TỊCH", "GIÁM ĐỐC", "PHÓ GIÁM ĐỐC"))
    if parent and "CHỦ TỊCH" in title:
        title = title.replace("CHỦ TỊCH", "GIÁM ĐỐC")
    recipients = ["Như trên"] + rng.sample(RECIPIENTS[1:-1], 3) + ["Lưu: VT"]

    page = Image.new("RGB", (W, H), "white")
    d = ImageDraw.Draw(page)
    text: list[str] = []
    r13, b13, b14, i14, r14 = (
        pen.font("r", 13),
        pen.font("b", 13),
        pen.font("b", 14),
        pen.font("i", 14),
        pen.font("r", 14),
    )
    left_cx = MARGIN_L + int(1.25 * DPI)  # the body's block over the left third, the motto's over the right
    right_cx = W - MARGIN_R - int(1.8 * DPI)
    y = int(0.8 * DPI)
    if variant["esign_box"]:
        box_x = W - MARGIN_R - int(2.3 * DPI)
        lines = [
            f"Ký bởi: Ủy ban nhân dân tỉnh {province}",
            f"Cơ quan: Tỉnh {province}",
            f"Thời gian ký: {day:02d}.{month:02d}.{year} 16:{rng.randint(10, 59)}:05 +07:00",
        ]
        small = pen.font("r", 8)
        d.rectangle(
            (box_x, int(0.25 * DPI), W - MARGIN_R, int(0.25 * DPI) + 3 * 24 + 10), outline=(200, 30, 30), width=2
        )
        for k, line in enumerate(lines):
            d.text((box_x + 8, int(0.25 * DPI) + 6 + 24 * k), line, font=small, fill=(200, 30, 30))
    motto = ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc")
    d.text((left_cx, y), body_top, font=r13 if parent else b13, fill="black", anchor="ma")
    d.text((right_cx, y), motto[0], font=b13, fill="black", anchor="ma")
    y += 60
    d.text((left_cx, y), body_bottom, font=b13, fill="black", anchor="ma")
    d.text((right_cx, y), motto[1], font=b14, fill="black", anchor="ma")
    text += [f"{body_top} {motto[0]}", f"{body_bottom} {motto[1]}"]
    y += 62
    d.line((left_cx - 120, y, left_cx + 120, y), fill="black", width=2)
    d.line((right_cx - 260, y, right_cx + 260, y), fill="black", width=2)
    y += 40
    date_text = f"{province}, ngày {day:02d} tháng {month:02d} năm {year}"
    if variant["hand_number"]:
        prefix = "Số:"
        d.text((left_cx - 250, y), prefix, font=r13, fill="black")
        hand = ImageFont.truetype(str(pen.fonts / "LiberationSans-Italic.ttf"), int(17 / 72 * DPI))
        d.text((left_cx - 250 + 80, y - 8), str(number), font=hand, fill=(35, 50, 160))
        d.text((left_cx - 250 + 80 + 120, y), f"/{notation}", font=r13, fill="black")
    else:
        d.text((left_cx - 250, y), f"Số: {number}/{notation}", font=r13, fill="black")
    d.text((right_cx, y), date_text, font=i14, fill="black", anchor="ma")
    text.append(f"Số: {number}/{notation} {date_text}")
    y += 110
    d.text((W // 2, y), kind, font=pen.font("b", 14), fill="black", anchor="ma")
    text.append(kind)
    y += 58
    for line in wrap(d, subject, b14, int(5.2 * DPI)):
        d.text((W // 2, y), line, font=b14, fill="black", anchor="ma")
        text.append(line)
        y += 56
    d.line((W // 2 - 150, y + 6, W // 2 + 150, y + 6), fill="black", width=2)
    y += 70

    paragraphs = [" ".join(rng.sample(SENTENCES, 2)) for _ in range(rng.randint(3, 4))]
    usable = W - MARGIN_L - MARGIN_R
    line_h = 58
    if variant["two_columns"]:
        col_w = (usable - int(0.3 * DPI)) // 2
        flow = [ln for para in paragraphs for ln in wrap(d, para, r13, col_w)]
        half = (len(flow) + 1) // 2
        for k, line in enumerate(flow[:half]):
            d.text((MARGIN_L, y + k * line_h), line, font=r13, fill="black")
        for k, line in enumerate(flow[half:]):
            d.text((MARGIN_L + col_w + int(0.3 * DPI), y + k * line_h), line, font=r13, fill="black")
        text += flow
        y += half * line_h + 40
    else:
        for para in paragraphs:
            for k, line in enumerate(wrap(d, para, r14, usable - (60 if True else 0))):
                d.text((MARGIN_L + (60 if k == 0 else 0), y), line, font=r14, fill="black")
                text.append(line)
                y += line_h
            y += 10

    pages = [page]
    if variant["two_pages"] or y > H - int(3.2 * DPI):
        variant["two_pages"] = True
        page2 = Image.new("RGB", (W, H), "white")
        d = ImageDraw.Draw(page2)
        y = int(0.8 * DPI)
        closing = rng.choice(SENTENCES)
        for line in wrap(d, closing, r14, usable):
            d.text((MARGIN_L, y), line, font=r14, fill="black")
            text.append(line)
            y += line_h
        y += 40
        pages.append(page2)
    y += 20
    # closing block: Nơi nhận left, the signer's title, (signature space), name right
    left_lines = [("Nơi nhận:", pen.font("bi", 12))] + [
        (f"- {r};" if k < len(recipients) - 1 else f"- {r}.", pen.font("r", 11)) for k, r in enumerate(recipients)
    ]
    right_lines = [("KT. " + ("CHỦ TỊCH" if not parent else "GIÁM ĐỐC") if title.startswith("PHÓ") else title, b13)]
    if title.startswith("PHÓ"):
        right_lines.append((title, b13))
    placed: list[tuple[int, int, str]] = []  # (top, x, text) of each closing line, for the reading order
    for k, (line, font) in enumerate(left_lines):
        d.text((MARGIN_L, y + k * 42), line, font=font, fill="black")
        placed.append((y + k * 42, MARGIN_L, line))
    for k, (line, font) in enumerate(right_lines):
        d.text((right_cx, y + k * 52), line, font=font, fill="black", anchor="ma")
        placed.append((y + k * 52, right_cx, line))
    name_y = y + max(len(left_lines) * 42, 5 * 52)
    d.text((right_cx, name_y), signer, font=b14, fill="black", anchor="ma")
    placed.append((name_y, right_cx, signer))
    # as a person reads it: lines whose tops lie within half a line of each other are one row
    rows: list[list[tuple[int, int, str]]] = []
    for item in sorted(placed):
        if rows and item[0] - rows[-1][0][0] < 22:
            rows[-1].append(item)
        else:
            rows.append([item])
    text += [" ".join(t for _, _, t in sorted(row, key=lambda r: r[1])) for row in rows]
    fields = {
        "co_quan_ban_hanh": issuer,
        "so_ky_hieu": f"{number}/{notation}",
        "dia_danh": province,
        "ngay_ban_hanh": f"{day:02d}/{month:02d}/{year}",
        "loai_van_ban": kind.capitalize(),
        "trich_yeu": subject.removeprefix("Về việc ").strip(),
        "chuc_vu_nguoi_ky": title,
        "nguoi_ky": signer,
        "noi_nhan": "; ".join(recipients),
    }
    truth = {
        "doc_type": "van_ban",
        "text": "\n".join(text),
        "variant": variant,
        "records": [{"doc_type": "van_ban", "page": 1, "fields": fields}],
        "handwritten": ["so_ky_hieu"] if variant["hand_number"] else [],
    }
    return pages, truth


_DIGITS = ("không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín")


def _number_words(n: int) -> str:
    """Vietnamese reading of 1..2999 as a birth-date field writes it ("mười lăm", "hai mươi mốt")."""
    if n >= 1000:
        rest = n % 1000
        head = f"{_DIGITS[n // 1000]} nghìn"
        if rest == 0:
            return head
        hundreds, tail = divmod(rest, 100)
        words = f"{head} {_DIGITS[hundreds]} trăm"
        if tail == 0:
            return words
        return f"{words} {'linh ' + _DIGITS[tail] if tail < 10 else _number_words(tail)}"
    tens, unit = divmod(n, 10)
    if tens == 0:
        return _DIGITS[unit]
    head = "mười" if tens == 1 else f"{_DIGITS[tens]} mươi"
    if unit == 0:
        return head
    last = {1: "mốt" if tens > 1 else "một", 5: "lăm", 4: "tư" if tens > 1 else "bốn"}.get(unit, _DIGITS[unit])
    return f"{head} {last}"


def render_khai_sinh(seed: int, pen: Pen, names: list[str]) -> tuple[list[Image.Image], dict]:
    """A birth certificate on the preprinted form: labels and dotted leaders printed, the values
    typed in afterwards on a typewriter, each off the leader by its own amount (above or below
    it, drifting left or right: the sheet moved in the machine)."""
    rng = random.Random(seed)
    province = rng.choice(names)
    sex = rng.choice(("Nam", "Nữ"))
    year = rng.randint(1975, 2023)
    day, month = rng.randint(1, 28), rng.randint(1, 12)
    surname = rng.choice(SURNAMES)
    child = f"{surname} {rng.choice(MIDDLE if sex == 'Nam' else ('Thị', 'Ngọc', 'Thanh'))} {rng.choice(GIVEN)}"
    mother = f"{rng.choice(SURNAMES)} Thị {rng.choice(GIVEN)}"
    father = f"{surname} {rng.choice(('Văn', 'Hữu', 'Đức', 'Quốc'))} {rng.choice(GIVEN)}"
    century = {19: 0, 20: 2}[year // 100] + (1 if sex == "Nữ" else 0)
    pid = f"{PROVINCES[province]}{century}{year % 100:02d}{rng.randint(0, 999999):06d}"
    reg_day = rng.randint(1, 28)
    reg_month = month % 12 + 1
    reg_year = year + (1 if month == 12 else 0)
    place = f"tỉnh {province}"
    fields = {
        "so": str(rng.randint(1, 400)),
        "quyen_so": f"{rng.randint(1, 9):02d}/{reg_year}",
        "ho_ten": child.upper(),
        "ngay_sinh": f"{day:02d}/{month:02d}/{year}",
        "ngay_sinh_bang_chu": f"Ngày {_number_words(day)} tháng {_number_words(month)} năm {_number_words(year)}",
        "gioi_tinh": sex,
        "dan_toc": "Kinh",
        "quoc_tich": "Việt Nam",
        "noi_sinh": f"Bệnh viện Đa khoa tỉnh {province}",
        "que_quan": place,
        "so_dinh_danh": pid,
        "ho_ten_me": mother.upper(),
        "nam_sinh_me": str(year - rng.randint(20, 38)),
        "dan_toc_me": "Kinh",
        "quoc_tich_me": "Việt Nam",
        "noi_cu_tru_me": place,
        "ho_ten_cha": father.upper(),
        "nam_sinh_cha": str(year - rng.randint(22, 42)),
        "dan_toc_cha": "Kinh",
        "quoc_tich_cha": "Việt Nam",
        "noi_cu_tru_cha": place,
        "nguoi_di_khai": mother.upper(),
        "noi_dang_ky": f"Ủy ban nhân dân tỉnh {province}",
        "ngay_dang_ky": f"{reg_day:02d}/{reg_month:02d}/{reg_year}",
        "nguoi_ky": f"{rng.choice(SURNAMES)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}",
    }
    page = Image.new("RGB", (W, H), "white")
    d = ImageDraw.Draw(page)
    label_font, bold = pen.font("r", 13), pen.font("b", 13)
    typed = ImageFont.truetype(str(pen.fonts / "LiberationMono-Regular.ttf"), int(12.5 / 72 * DPI))
    small_typed = ImageFont.truetype(str(pen.fonts / "LiberationMono-Regular.ttf"), int(9.5 / 72 * DPI))
    text: list[str] = []
    y = int(0.8 * DPI)
    left_cx, right_cx = MARGIN_L + int(1.25 * DPI), W - MARGIN_R - int(1.8 * DPI)
    for a, b in (
        ("ỦY BAN NHÂN DÂN", "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"),
        (f"TỈNH {province.upper()}", "Độc lập - Tự do - Hạnh phúc"),
    ):
        d.text((left_cx, y), a, font=bold, fill="black", anchor="ma")
        d.text((right_cx, y), b, font=bold, fill="black", anchor="ma")
        text.append(f"{a} {b}")
        y += 60
    y += 60
    d.text((W // 2, y), "GIẤY KHAI SINH", font=pen.font("b", 18), fill="black", anchor="ma")
    text.append("GIẤY KHAI SINH")
    y += 110
    step = 74  # room between printed rows: a typed value drifts within it
    rows = [
        [("Số:", "so"), ("Quyển số:", "quyen_so")],
        [("Họ, chữ đệm, tên:", "ho_ten")],
        [("Ngày, tháng, năm sinh:", "ngay_sinh")],
        [("ghi bằng chữ:", "ngay_sinh_bang_chu")],
        [("Giới tính:", "gioi_tinh"), ("Dân tộc:", "dan_toc"), ("Quốc tịch:", "quoc_tich")],
        [("Nơi sinh:", "noi_sinh")],
        [("Quê quán:", "que_quan")],
        [("Số định danh cá nhân:", "so_dinh_danh")],
        [("Họ, chữ đệm, tên người mẹ:", "ho_ten_me")],
        [("Năm sinh:", "nam_sinh_me"), ("Dân tộc:", "dan_toc_me"), ("Quốc tịch:", "quoc_tich_me")],
        [("Nơi cư trú:", "noi_cu_tru_me")],
        [("Họ, chữ đệm, tên người cha:", "ho_ten_cha")],
        [("Năm sinh:", "nam_sinh_cha"), ("Dân tộc:", "dan_toc_cha"), ("Quốc tịch:", "quoc_tich_cha")],
        [("Nơi cư trú:", "noi_cu_tru_cha")],
        [("Họ, chữ đệm, tên người đi khai sinh:", "nguoi_di_khai")],
        [("Nơi đăng ký khai sinh:", "noi_dang_ky")],
        [("Ngày, tháng, năm đăng ký:", "ngay_dang_ky")],
    ]
    usable = W - MARGIN_L - MARGIN_R
    shift = rng.uniform(-0.45, 0.35)  # the sheet's offset in the typewriter, in rows: off the leaders
    drift = rng.randint(-25, 25)
    for row in rows:
        width = usable // len(row)
        parts = []
        for k, (label, key) in enumerate(row):
            x = MARGIN_L + k * width
            d.text((x, y), label, font=label_font, fill="black")
            lx = x + int(d.textlength(label, font=label_font)) + 8
            end = x + width - 16
            for dx in range(lx, end, 14):  # the dotted leader on the baseline
                d.ellipse((dx, y + 34, dx + 3, y + 37), fill="black")
            vy = y + int(shift * step) + rng.randint(-6, 6)
            font = typed if d.textlength(fields[key], font=typed) < end - lx - 40 else small_typed
            d.text((lx + 12 + drift + rng.randint(-8, 8), vy), fields[key], font=font, fill=(25, 25, 25))
            parts.append(f"{label} {fields[key]}")
        text.append(" ".join(parts))
        y += step
    y += 40
    d.text((right_cx, y), "NGƯỜI KÝ GIẤY KHAI SINH", font=bold, fill="black", anchor="ma")
    d.text(
        (right_cx, y + 50),
        "(Ký, ghi rõ họ, chữ đệm, tên, chức vụ và đóng dấu)",
        font=pen.font("i", 11),
        fill="black",
        anchor="ma",
    )
    d.text((right_cx, y + 260), fields["nguoi_ky"], font=bold, fill="black", anchor="ma")
    text += ["NGƯỜI KÝ GIẤY KHAI SINH", "(Ký, ghi rõ họ, chữ đệm, tên, chức vụ và đóng dấu)", fields["nguoi_ky"]]
    truth = {
        "doc_type": "khai_sinh",
        "text": "\n".join(text),
        "variant": {"typed_shift": round(shift, 2)},
        "records": [{"doc_type": "khai_sinh", "page": 1, "fields": fields}],
        "handwritten": [],
    }
    return [page], truth


# A registry book's columns as this renderer prints them: (field, heading). The headings are
# the long forms ("Họ, chữ đệm, tên người mẹ"), wrapped onto two or three lines in their narrow
# cells; the generator prints short ones on one line ("Họ tên mẹ").
BOOK_COLUMNS = (
    ("so", "Số"),
    ("ho_ten", "Họ, chữ đệm, tên"),
    ("ngay_sinh", "Ngày, tháng, năm sinh"),
    ("gioi_tinh", "Giới tính"),
    ("dan_toc", "Dân tộc"),
    ("quoc_tich", "Quốc tịch"),
    ("noi_sinh", "Nơi sinh"),
    ("ho_ten_me", "Họ, chữ đệm, tên người mẹ"),
    ("ho_ten_cha", "Họ, chữ đệm, tên người cha"),
    ("ngay_dang_ky", "Ngày, tháng, năm đăng ký"),
)
BOOK_WIDTHS = (70, 205, 150, 80, 95, 110, 230, 205, 205, 150)  # pixels at 200 dpi
BIRTH_PLACES = ("Bệnh viện Đa khoa tỉnh {p}", "Trạm y tế xã {c}", "Nhà hộ sinh {c}", "tại nhà, xã {c}")
COMMUNES = ("Tịnh Sơn", "Phổ Minh", "Nghĩa Hà", "Đức Lân", "Hành Thiện", "Bình Châu", "Ba Động")


def render_so_ho_tich(seed: int, pen: Pen, names: list[str]) -> tuple[list[Image.Image], dict]:
    """A page of a birth registry book: the ruled table's headings printed in their long forms
    over two or three lines, the entries typed in afterwards, a name or a place too long for its
    cell wrapped onto a second line (a tall row), a column the generator's books lack (Quốc
    tịch), and the entries' numbers running on from an earlier page."""
    rng = random.Random(seed)
    province = rng.choice(names)
    commune = rng.choice(COMMUNES)
    year = rng.randint(1978, 2015)
    page = Image.new("RGB", (W, H), "white")
    d = ImageDraw.Draw(page)
    bold, regular = pen.font("b", 12), pen.font("r", 12)
    head = pen.font("b", 9)
    typed = ImageFont.truetype(str(pen.fonts / "LiberationMono-Regular.ttf"), int(8.5 / 72 * DPI))
    text: list[str] = []
    left = (W - sum(BOOK_WIDTHS)) // 2
    y = int(0.6 * DPI)
    d.text((left, y), "ỦY BAN NHÂN DÂN", font=bold, fill="black")
    d.text((left, y + 45), f"XÃ {commune.upper()}", font=bold, fill="black")
    d.text((W - left, y), f"Trang {rng.randint(2, 90)}", font=regular, fill="black", anchor="ra")
    text += ["ỦY BAN NHÂN DÂN Trang", f"XÃ {commune.upper()}"]
    y += 130
    d.text((W // 2, y), "SỔ ĐĂNG KÝ KHAI SINH", font=pen.font("b", 16), fill="black", anchor="ma")
    d.text((W // 2, y + 60), f"Năm {year}", font=regular, fill="black", anchor="ma")
    text += ["SỔ ĐĂNG KÝ KHAI SINH", f"Năm {year}"]
    y += 140
    xs = [left]
    for width in BOOK_WIDTHS:
        xs.append(xs[-1] + width)
    header_h = 120
    line_h = 34
    table_top = y
    d.line((xs[0], y, xs[-1], y), fill="black", width=2)
    for (_, heading), x0, x1 in zip(BOOK_COLUMNS, xs, xs[1:]):
        lines = wrap(d, heading, head, x1 - x0 - 10)
        top = y + (header_h - len(lines) * 30) // 2
        for k, ln in enumerate(lines):
            d.text(((x0 + x1) // 2, top + k * 30), ln, font=head, fill="black", anchor="ma")
    text.append(" ".join(h for _, h in BOOK_COLUMNS))
    y += header_h
    records = []
    number = rng.randint(1, 300)
    for _ in range(rng.randint(8, 11)):
        sex = rng.choice(("Nam", "Nữ"))
        born = (rng.randint(1, 28), rng.randint(1, 12))
        surname = rng.choice(SURNAMES)
        middle = rng.choice(MIDDLE if sex == "Nam" else ("Thị", "Ngọc", "Thanh"))
        fields = {
            "so": str(number),
            "ho_ten": f"{surname} {middle} {rng.choice(GIVEN)}",
            "ngay_sinh": f"{born[0]:02d}/{born[1]:02d}/{year}",
            "gioi_tinh": sex,
            "dan_toc": "Kinh",
            "quoc_tich": "Việt Nam",
            "noi_sinh": rng.choice(BIRTH_PLACES).format(p=province, c=commune),
            "ho_ten_me": f"{rng.choice(SURNAMES)} Thị {rng.choice(GIVEN)}",
            "ho_ten_cha": f"{surname} {rng.choice(('Văn', 'Hữu', 'Đức', 'Quốc'))} {rng.choice(GIVEN)}",
            "ngay_dang_ky": f"{min(28, born[0] + rng.randint(0, 20)):02d}/{min(12, born[1] + 1):02d}/{year}",
        }
        number += 1
        cells = [wrap(d, fields[key], typed, x1 - x0 - 12) for (key, _), x0, x1 in zip(BOOK_COLUMNS, xs, xs[1:])]
        row_h = max(len(c) for c in cells) * line_h + 24
        d.line((xs[0], y, xs[-1], y), fill="black", width=1)
        for cell, x0 in zip(cells, xs):
            for k, ln in enumerate(cell):
                d.text((x0 + 8 + rng.randint(-2, 2), y + 12 + k * line_h), ln, font=typed, fill=(25, 25, 25))
        text.append(" ".join(fields[key] for key, _ in BOOK_COLUMNS))
        records.append({"doc_type": "khai_sinh", "page": 1, "fields": fields})
        y += row_h
    d.line((xs[0], y, xs[-1], y), fill="black", width=2)
    for x in xs:
        d.line((x, table_top, x, y), fill="black", width=2 if x in (xs[0], xs[-1]) else 1)
    truth = {
        "doc_type": "so_ho_tich",
        "text": "\n".join(text),
        "variant": {"book": "khai_sinh", "long_headings": True, "quoc_tich_column": True},
        "records": records,
        "handwritten": [],
    }
    return [page], truth


def desk_photo(page: Image.Image, rng: random.Random) -> Image.Image:
    """The sheet photographed on a dark, textured desk: perspective, a soft shadow, uneven light."""
    nrng = np.random.default_rng(rng.randrange(1 << 30))
    out_w, out_h = int(W * 1.25), int(H * 1.2)
    grain = nrng.normal(0, 1, (out_h // 8, out_w // 8)).astype(np.float32)
    wood = np.array(
        Image.fromarray(((grain - grain.min()) / np.ptp(grain) * 255).astype(np.uint8)).resize(
            (out_w, out_h), Image.BICUBIC
        ),
        np.float32,
    )
    streaks = np.sin(np.linspace(0, 60, out_w))[None, :] * 10
    desk = np.clip(45 + 0.12 * wood + streaks, 0, 255)
    desk = np.stack([desk * 1.1, desk * 0.8, desk * 0.6], axis=2).clip(0, 255).astype(np.uint8)
    canvas = Image.fromarray(desk)
    jitter = lambda v: v + rng.randint(-int(0.03 * W), int(0.03 * W))  # noqa: E731
    ox, oy = (out_w - W) // 2, (out_h - H) // 2
    quad = [
        (jitter(ox), jitter(oy)),
        (jitter(ox), jitter(oy + H)),
        (jitter(ox + W), jitter(oy + H)),
        (jitter(ox + W), jitter(oy)),
    ]
    shadow = Image.new("L", canvas.size, 0)
    ImageDraw.Draw(shadow).polygon([(x + 25, y + 30) for x, y in quad], fill=120)
    canvas.paste((15, 12, 10), mask=shadow.filter(ImageFilter.GaussianBlur(30)))
    # warp the page into the quadrilateral (PIL's QUAD maps output corners from the source)
    mask = Image.new("L", page.size, 255)
    xs, ys = [p[0] for p in quad], [p[1] for p in quad]
    bbox = (min(xs), min(ys), max(xs), max(ys))
    size = (bbox[2] - bbox[0], bbox[3] - bbox[1])
    rel = [(x - bbox[0], y - bbox[1]) for x, y in quad]
    coeffs = _perspective(rel, [(0, 0), (0, H), (W, H), (W, 0)])
    warped = page.transform(size, Image.PERSPECTIVE, coeffs, Image.BICUBIC)
    warped_mask = mask.transform(size, Image.PERSPECTIVE, coeffs, Image.BICUBIC)
    canvas.paste(warped, bbox[:2], warped_mask)
    light = np.linspace(0.75, 1.05, canvas.size[0])[None, :, None]
    arr = (np.asarray(canvas, np.float32) * light).clip(0, 255).astype(np.uint8)
    return Image.fromarray(arr).resize((int(canvas.size[0] * 0.6), int(canvas.size[1] * 0.6)), Image.BILINEAR)


def _perspective(src: list[tuple[float, float]], dst: list[tuple[float, float]]) -> list[float]:
    """Coefficients mapping output points `src` to input points `dst` (PIL's PERSPECTIVE)."""
    rows = []
    for (x, y), (u, v) in zip(src, dst):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
    a = np.array(rows, float)
    b = np.array([c for pair in dst for c in pair], float)
    return list(np.linalg.solve(a, b))


def degrade(pages: list[Image.Image], rng: random.Random) -> tuple[list[Image.Image], str]:
    kind = rng.choice(("clean", "grain_jpeg", "low_dpi", "rotate", "desk_photo"))
    out = []
    for page in pages:
        if kind == "grain_jpeg":
            arr = np.asarray(page, np.float32) + np.random.default_rng(rng.randrange(1 << 30)).normal(0, 14, (H, W, 1))
            page = Image.fromarray(arr.clip(0, 255).astype(np.uint8))
        elif kind == "low_dpi":
            page = page.resize((int(W * 0.75), int(H * 0.75)), Image.LANCZOS)
        elif kind == "rotate":
            page = page.rotate(rng.uniform(-2.5, 2.5), resample=Image.BICUBIC, expand=True, fillcolor="white")
        elif kind == "desk_photo" and len(pages) == 1:
            page = desk_photo(page, rng)
        out.append(page)
    if kind == "desk_photo" and len(pages) > 1:
        kind = "clean"
    return out, kind


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--count", type=int, default=30)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--font-dir", type=Path, default=Path(tempfile.gettempdir()) / "digitize-ood-fonts")
    ap.add_argument(
        "--type",
        default="van_ban",
        choices=("van_ban", "khai_sinh", "so_ho_tich"),
        help="administrative documents, birth certificates typed on the preprinted form, or birth registry pages",
    )
    args = ap.parse_args(argv)
    pen = Pen(ensure_fonts(args.font_dir))
    names = provinces()
    args.out.mkdir(parents=True, exist_ok=True)
    for i in range(args.count):
        seed = args.seed * 100_003 + i
        renderer = {"van_ban": render, "khai_sinh": render_khai_sinh, "so_ho_tich": render_so_ho_tich}[args.type]
        pages, truth = renderer(seed, pen, names)
        pages, kind = degrade(pages, random.Random(seed + 7))
        name = f"ood_{args.seed}_{i:04d}_{args.type}"
        if len(pages) > 1:
            file = f"{name}.tif"
            pages[0].save(
                args.out / file, save_all=True, append_images=pages[1:], dpi=(DPI, DPI), compression="tiff_deflate"
            )
        elif kind in ("grain_jpeg", "desk_photo"):
            file = f"{name}.jpg"
            buf = io.BytesIO()
            pages[0].save(buf, "JPEG", quality=70 if kind == "grain_jpeg" else 85, dpi=(DPI, DPI))
            (args.out / file).write_bytes(buf.getvalue())
        else:
            file = f"{name}.png"
            pages[0].save(args.out / file, dpi=(DPI * 0.75, DPI * 0.75) if kind == "low_dpi" else (DPI, DPI))
        truth.update(
            {
                "name": name,
                "file": file,
                "degradations": {kind: 1},
                "font": "LiberationSerif",
                "dpi": DPI,
                "seed": seed,
                "split": "ood",
                "format": file.rsplit(".", 1)[1],
            }
        )
        (args.out / f"{name}.gt.json").write_text(json.dumps(truth, ensure_ascii=False, indent=1), encoding="utf-8")
    print(f"wrote {args.count} pages to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
