"""Administrative documents: the metadata of Nghị định 30/2020/NĐ-CP.

Layout (Phụ lục I): issuing body top left, national motto top right; "Số: …"
under the body with the place and date on its right; the kind of document
("QUYẾT ĐỊNH") and its subject centred below, or for a Công văn the subject
"V/v …" under the number; at the foot "Nơi nhận:" on the left and the
signer's title, signature and name on the right."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import date

from .. import refdata
from ..text import clean_spaces, fold, levenshtein
from ..types import InputSignature, Line, OcrPage, Record, Word
from .base import Value, build_record
from .common import min_conf, person_name, words_text
from .labels import fold_aligned
from . import names
from . import validate as v

# Kinds of document by folded name (Nghị định 30/2020/NĐ-CP, Phụ lục III; the list, with the
# official abbreviations, is digitize/refdata/document_kinds.tsv).
KINDS = {fold(k): k for k in refdata.document_kinds()}
# the motto's first words, one letter of "CỘNG" allowed to be misread ("CỘNS HÒA XÃ HỘI")
_MOTTO = re.compile(r"cong hoa|doc lap|c\w{2,3} h[o0]a xa h[o0]i")
# (figures written by hand into the blank may read as anything but figures, the slash with
# them: "Số: †+ /QĐ-UBND", "Số: .„ớ„ QĐ-UBND")
_SO = re.compile(r"^\s*s[o0]\s*[:;.]\s*(?=\d|\S{0,8}\s*/\s*[a-z]|\S{0,8}\s*[a-z]{1,6}-[a-z])")
# (a speck may follow a figure: "tháng 7? năm")
_NOTATION = re.compile(r"^/?[A-ZĐ][A-ZĐa-z]{0,5}(-[A-ZĐ0-9]+)+[.,;]?$")
_DATE = re.compile(r"ng[a-z]{1,3}\s*(\d{1,2})[^\w\s]?\s*th[a-z]{2,4}\s*(\d{1,2})[^\w\s]?\s*n[a-z]{1,2}\s*(\d{4})")
_UNIT_START = re.compile(r"^(tinh|huyen|xa|phuong|thi tran|quan|thanh pho|thi xa|dac khu)\b")
# The dash before each recipient, or that dash read as a spacing accent ("ˆ Phòng Tư pháp")
_ITEM_DASH = re.compile(r"^(?:[-–—•+ˆ˜¨´`]\s*)+")
_TITLE_WORDS = re.compile(r"^(tm|kt|q|tl|tuq)\.?\s|chu tich|giam doc|truong|pho|thu truong|chanh")


def _fold(text: str) -> str:
    return fold(text)


def _left_of_motto(line: Line, width: int) -> list[Word]:
    """Words of the issuing body's block: those left of the motto on a header line."""
    words = list(line.words)
    for i in range(len(words)):
        rest = _fold(" ".join(w.text for w in words[i:i + 4]))
        if _MOTTO.match(rest):
            return words[:i]
    # no motto on this line: the left block is what lies left of the page's middle (a line
    # holding the body's second row alone, "TỈNH QUẢNG NGÃI", is all left block), less the
    # motto's first words where they reach past the middle ("UBND TỈNH NGHỆ AN CỘNG")
    return _without_motto([w for w in words if (w.box[0] + w.box[2]) / 2 < 0.5 * width])


def _junk(word: Word) -> bool:
    return not re.search(r"[^\W_]", word.text)


def _body(header: list[list[Word]]) -> tuple[str, float] | None:
    lines = [[w for w in ws if not _junk(w)] for ws in header]
    # a row of the body's name holds a word; one letter alone is a speck at the page's edge
    lines = [ws for ws in lines if sum(len(w.text) for w in ws) >= 2]
    if not lines:
        return None
    texts = [words_text(ws) for ws in lines]
    # "UBND TỈNH X" above "SỞ TƯ PHÁP" is kept: Nghị định 30 (Phụ lục I, II.2) names both lines
    # the issuing body's name, the body and the one directly above it.
    words = [w for ws in lines for w in ws]
    return clean_spaces(" ".join(texts)), min_conf(words)


_MOTTO_WORDS = ("cong", "hoa", "xa", "hoi", "chu", "nghia", "viet", "nam")


def _without_motto(words: list[Word]) -> list[Word]:
    """Words without a trailing start of the national motto: the motto is set beside the
    issuing body, never in it. Specks (no letter) are not words here."""
    words = [w for w in words if not _junk(w)]
    folded = [_fold(w.text).strip(" .,:") for w in words]
    for start in range(len(words)):
        tail = folded[start:]
        if tail and tail == list(_MOTTO_WORDS[:len(tail)]):
            return words[:start]
    return words


def _kind(text: str) -> str | None:
    key = clean_spaces(_fold(text)).strip(" :.")
    if key in KINDS:
        return KINDS[key]
    close = [k for k in KINDS if abs(len(k) - len(key)) <= 2 and levenshtein(k, key) <= 2]
    return KINDS[close[0]] if len(close) == 1 else None


def _putter(values: dict[str, Value]) -> Callable[..., None]:
    """`put(name, value, ocr, factor=1.0)`: the first non-empty reading of a field wins."""

    def put(name: str, value: str, ocr: float, factor: float = 1.0) -> None:
        value = clean_spaces(value)
        if value and name not in values:
            values[name] = Value(value, ocr, factor)

    return put


_CLOSING = ("noi_nhan", "chuc_vu_nguoi_ky", "nguoi_ky")


def _number_line(page: OcrPage) -> int | None:
    """Index of the header's "Số: …/…" line, or None (a page that starts no document)."""
    lines = page.lines
    found = next((i for i, ln in enumerate(lines[:12])
                  if _SO.match(_fold(ln.text)) and ln.box[1] < 0.35 * page.height), None)
    if found is None:  # "Số:" may sit after the body's name on the same row
        found = next((i for i, ln in enumerate(lines[:12])
                      if re.search(r"(?<![a-z])s[o0]\s*:\s*\d", _fold(ln.text))
                      and "/" in ln.text and ln.box[1] < 0.35 * page.height), None)
    return found


def _subject_above_rule(page: OcrPage, kind_line: int) -> list[Line] | None:
    """The subject's lines where the short centred rule that Nghị định 30 draws under the
    subject was found: every line between the kind and that rule that overlaps the rule's
    span (a stamp in the margin beside it is not part of the subject). None without a rule."""
    lines = page.lines
    kind = lines[kind_line]
    height = max(1, kind.box[3] - kind.box[1])
    middle = page.width / 2
    rules = [r for r in page.rules if (r[2] - r[0]) > 5 * (r[3] - r[1]) and (r[2] - r[0]) < 0.5 * page.width
             and abs((r[0] + r[2]) / 2 - middle) < 0.08 * page.width and kind.box[3] <= r[1] < kind.box[3] + 8 * height]
    if not rules:
        return None
    rule = min(rules, key=lambda r: r[1])
    # a line of the subject overlaps the rule's span (a last short word may sit off the page's middle)
    out = [ln for ln in lines[kind_line + 1:]
           if (ln.box[1] + ln.box[3]) / 2 < rule[1] and ln.box[0] < rule[2] and ln.box[2] > rule[0]
           and ln.box[1] >= kind.box[1]]
    return out or None


def _closing_line(page: OcrPage) -> int | None:
    lines = page.lines
    return next((i for i in range(len(lines) - 1, -1, -1) if _fold(lines[i].text).startswith("noi nhan")), None)


# A document is signed the day it is issued or within weeks of it (the number and date are given
# at issuance, Nghị định 30 art. 15); a date read as months before the first signature is doubtful.
_SIGNED_WITHIN_DAYS = 90


def bound_by_signatures(values: dict[str, Value], signatures: tuple[InputSignature, ...]) -> None:
    """The input's own valid signatures bound its date of issue: not after the first signing,
    and not long before it. A date outside the bound goes to review (its day or month is
    probably handwritten or misread); one signed on its own day is vouched for."""
    times = sorted(s.signed_at[:10] for s in signatures if s.valid and s.signed_at)
    found = values.get("ngay_ban_hanh")
    if not times or found is None:
        return
    issued = v.parse_date(found.value)
    if issued is None:
        return
    signed = date.fromisoformat(times[0])
    days = (signed - issued).days
    if days < 0 or days > _SIGNED_WITHIN_DAYS:
        found.factor *= 0.3
    elif days <= 1:  # signed the day it is dated (or overnight): the date is vouched for
        found.confirmed = True


# Handwriting on a printed form. Under Nghị định 30 a document's number and date are given
# when it is issued, after it was printed and signed, so on paper they are often written in
# pen into the blanks the form leaves ("Số:    /CT-UBND", "ngày    tháng 01"). Tesseract reads
# such figures as confident-looking wrong digits. These tell them apart from print, each
# measured against the print on the same line, never against a fixed font size (a low
# confidence alone is no sign: faded print has it too, and the confidence model weighs it):
_HAND_TALLER = 1.25  # pen figures stand taller than the printed figures beside them


def _overlaps(a: tuple[int, int, int, int], b: tuple[int, int, int, int], pad: int = 0) -> bool:
    return a[0] - pad < b[2] and b[0] - pad < a[2] and a[1] - pad < b[3] and b[1] - pad < a[3]


def _pen_near(words: list[Word], page: OcrPage) -> bool:
    if not words or not page.pen_marks:
        return False
    x0 = min(w.box[0] for w in words)
    y0 = min(w.box[1] for w in words)
    x1 = max(w.box[2] for w in words)
    y1 = max(w.box[3] for w in words)
    pad = max(4, (y1 - y0) // 2)
    return any(_overlaps((x0, y0, x1, y1), m, pad) for m in page.pen_marks)


def number_by_hand(tokens: list[Word], page: OcrPage) -> bool:
    """The number of "Số: 47/QĐ-UBND" was written by hand: printed, the figures and the
    notation are one word; written into the form's blank, the figures stand apart from
    the notation (a space before the "/"), read as stray marks, or in pen."""
    if _pen_near(tokens, page):
        return True
    figures = [t for t in tokens if not t.text.startswith("/")]
    if not figures:
        return True  # figures lost (pen removed, or not read): the blank was filled by hand
    if "/" in figures[0].text:
        return False  # figures and notation in one word: printed together
    # figures standing apart from the notation, or read as stray marks rather than figures
    return any(t.text.startswith("/") for t in tokens) or bool(re.search(r"[^\d]", figures[0].text))


def date_by_hand(date_words: list[Word], page: OcrPage) -> bool:
    """The day or month of "ngày 17 tháng 01 năm 2025" was written by hand: a figure glued
    to a printed word or overlapping it, read with stray marks, standing taller than the
    printed year, or in pen."""
    if _pen_near(date_words, page):
        return True
    year = next((w for w in reversed(date_words) if re.fullmatch(r"\d{4}\W?", w.text)), None)
    year_height = (year.box[3] - year.box[1]) if year else 0
    for i, w in enumerate(date_words):
        if w is year:
            continue
        digits = re.search(r"\d", w.text)
        if not digits:
            continue
        if not re.fullmatch(r"\d{1,2}[,.]?", w.text):
            return True  # glued to a printed word ("ngày04") or read with stray marks ("2|")
        if year_height and (w.box[3] - w.box[1]) > _HAND_TALLER * year_height:
            return True
        neighbours = date_words[max(0, i - 1):i] + date_words[i + 1:i + 2]
        if any(_overlaps(w.box, n.box) for n in neighbours):
            return True
    return False


def _centred(line: Line, width: int, tolerance: float = 0.06) -> bool:
    x0, _, x1, _ = line.box
    return abs((x0 + x1) / 2 - width / 2) < tolerance * width


class VanBanExtractor:
    doc_type = "van_ban"

    def extract(self, page: OcrPage, signatures: tuple[InputSignature, ...] = (),
                following: Sequence[OcrPage] = ()) -> list[Record]:
        """The document's record from its first page; `following` are the pages after it in the
        same file, where a document of several pages has its closing block (Nơi nhận, the
        signer's title and name) on the last one."""
        values = self.fields(page)
        # Evidence that this is an administrative document and not any page of text.
        if "so_ky_hieu" not in values and not ("loai_van_ban" in values and "co_quan_ban_hanh" in values):
            return []
        if not any(name in values for name in _CLOSING):
            for later in following:
                if _number_line(later) is not None:
                    break  # the next document in the file
                closing = self.closing(later)
                if closing:
                    values.update({k: replace(val, page=later.number) for k, val in closing.items()})
                    break
        bound_by_signatures(values, signatures)
        return [build_record(self.doc_type, page, values)]

    def closing(self, page: OcrPage) -> dict[str, Value]:
        """The closing block's fields (noi_nhan, chuc_vu_nguoi_ky, nguoi_ky) of one page."""
        values: dict[str, Value] = {}
        put = _putter(values)
        nn = _closing_line(page)
        if nn is not None:
            self._closing(page, nn, put)
        return values

    def fields(self, page: OcrPage) -> dict[str, Value]:
        lines = page.lines
        values: dict[str, Value] = {}
        put = _putter(values)

        # --- the "Số:" line and the header above it
        so_line = _number_line(page)
        head_end = so_line if so_line is not None else min(3, len(lines))
        header = [_left_of_motto(ln, page.width) for ln in lines[:head_end]]
        body = _body(header)
        if body and so_line is not None:
            issuer, repaired = issuing_body(body[0])
            factor = 1.0 if re.match(r"^(uy ban nhan dan|so|ubnd|phong|bo|cuc|ban|truong|hoi dong|van phong)",
                                     _fold(issuer)) else 0.7
            put("co_quan_ban_hanh", issuer, body[1], factor * v.text_factor(issuer) * (0.9 if repaired else 1.0))

        after = so_line + 1 if so_line is not None else 0
        if so_line is not None:
            line = lines[so_line]
            words = list(line.words)
            folded_words = [_fold(w.text) for w in words]
            k = next((i for i, f in enumerate(folded_words) if re.match(r"s[o0]\s*[:;.]?$", f) or
                      re.match(r"s[o0]\s*:", f)), 0)
            first = k + 1 if re.fullmatch(r"s[o0]\s*[:;.]?", folded_words[k]) else k
            tokens: list[Word] = []
            for w in words[first:]:
                if not tokens or tokens[-1].text.endswith(("/", "-")) or w.text.startswith(("/", "-")) or \
                        (len(tokens) == 1 and "/" not in tokens[0].text and _NOTATION.match(w.text)):
                    # (the notation after figures written by hand, its slash lost: "Số: 47 QĐ-UBND")
                    tokens.append(w)
                else:
                    break
            if tokens:
                raw = "".join(t.text for t in tokens)
                raw = re.sub(r"^s[oố]\s*[:;.]?", "", raw, flags=re.I)
                value, factor = v.normalize_number(raw)
                kind_read = notation_kind(value)
                if kind_read != value:
                    value, factor = kind_read, factor * v.SNAPPED
                if not re.fullmatch(r"\d{1,5}(/\d{4})?/[A-ZĐ]+(-[A-ZĐ0-9]+)*", value):
                    factor *= 0.5
                put("so_ky_hieu", value, min_conf(tokens), factor)
                if "so_ky_hieu" in values:
                    found = values["so_ky_hieu"]
                    found.handwritten = number_by_hand(tokens, page)
                    found.raw, found.boxes = " ".join(t.text for t in tokens), tuple(t.box for t in tokens)
            # place and date, right of the number
            rest = words[first + len(tokens):]
            date_words = self._date(values, rest, page)
            if date_words is None:
                for ln in lines[so_line + 1:so_line + 3]:
                    if self._date(values, list(ln.words), page) is not None:
                        break
            if "dia_danh" not in values:
                # the date unreadable (its day written by hand): the place before "ngày" still is
                self._place(values, rest)

        # --- kind and subject
        kind = None
        subject_lines: list[Line] = []
        vv = next((i for i in range(after, min(after + 4, len(lines)))
                   if re.match(r"^\s*v\s*/\s*v\b", _fold(lines[i].text))), None)
        if vv is not None:
            kind = "Công văn"
            subject_lines = [lines[vv]]
            cx = (lines[vv].box[0] + lines[vv].box[2]) / 2
            for ln in lines[vv + 1:vv + 5]:
                lcx = (ln.box[0] + ln.box[2]) / 2
                f = _fold(ln.text).strip()
                if f.startswith(("kinh gui", "can cu")) or abs(lcx - cx) > 0.08 * page.width or \
                        ln.box[2] - ln.box[0] > 0.55 * page.width:
                    break
                subject_lines.append(ln)
        else:
            for i in range(after, min(after + 5, len(lines))):
                kind_found = _kind(lines[i].text)
                if kind_found:
                    kind = kind_found
                    full = max(ln.box[2] - ln.box[0] for ln in lines)
                    ruled = _subject_above_rule(page, i)
                    if ruled is not None:
                        subject_lines = ruled
                        break
                    for ln in lines[i + 1:i + 5]:
                        text = ln.text
                        letters = [c for c in text if c.isalpha()]
                        f = _fold(text).strip()
                        # a wrapped tail may be figures alone ("2024 - 2026"); a rule under the subject is not
                        figures = not letters and re.fullmatch(r"[\d\s\-–/.,]+", text.strip()) and \
                            re.search(r"\d", text)
                        if (not letters and not figures) or (letters and all(c.isupper() for c in letters)) \
                                or f.startswith(("can cu", "kinh gui")) or not _centred(ln, page.width, 0.08):
                            break
                        # a line as wide as the body's justified lines is the body, not a wrapped subject
                        if subject_lines and ln.box[2] - ln.box[0] > 0.85 * full:
                            break
                        subject_lines.append(ln)
                    break
            if kind is None and any(_fold(ln.text).strip().startswith("kinh gui") for ln in lines[after:after + 8]):
                kind = "Công văn"
        if kind:
            put("loai_van_ban", kind, 1.0)
        if subject_lines:
            words = [w for ln in subject_lines for w in ln.words]
            text = words_text(words)
            text = re.sub(r"^\s*[Vv]\s*/\s*[Vv]\s*[:.]?\s*", "", text)
            text = re.sub(r"^\s*[Vv]ề việc\s*[:.]?\s*", "", text)
            text = text.strip(" .;")
            # a subject is one sentence: a stop inside it, before a word in lower case, is a speck ("10. năm")
            text = re.sub(r"(?<=[\da-zà-ỹđ])\.(?= [a-zà-ỹđ])", "", text)
            put("trich_yeu", text, min_conf(words), v.text_factor(text))

        # --- Nơi nhận and the signer
        nn = _closing_line(page)
        if nn is not None:
            self._closing(page, nn, put)
        return values

    def _date(self, values: dict[str, Value], words: list[Word], page: OcrPage) -> list[Word] | None:
        if not words:
            return None
        text = " ".join(w.text for w in words)
        folded = _fold(text)
        m = _DATE.search(folded)
        if not m:
            return None
        d, mth, y = (int(g) for g in m.groups())
        value, factor = v.normalize_date(f"{d}/{mth}/{y}")
        if not re.fullmatch(r"ngay \d{1,2} thang \d{1,2} nam \d{4}", folded[m.start():m.end()]):
            factor *= 0.8
        # words of the date, and the place before it
        offsets = []
        pos = 0
        for w in words:
            offsets.append((pos, pos + len(w.text), w))
            pos += len(w.text) + 1
        date_words = [w for a, b, w in offsets if b > m.start() and a < m.end()]
        place_words = [w for a, b, w in offsets if b <= m.start()]
        if "ngay_ban_hanh" not in values:
            values["ngay_ban_hanh"] = Value(value, min_conf(date_words), factor,
                                            handwritten=date_by_hand(date_words, page),
                                            raw=" ".join(w.text for w in date_words),
                                            boxes=tuple(w.box for w in date_words))
        self._place(values, place_words)
        return date_words

    def _place(self, values: dict[str, Value], words: list[Word]) -> None:
        """The place of issue: the words before the date ("Quảng Ngãi, ngày …"), the last
        ending with a comma; `words` may run on into the date, which is cut off at "ngày"."""
        cut = next((i for i, w in enumerate(words) if i > 0 and words[i - 1].text.endswith(",")
                    and re.match(r"ng[a-z]{1,3}(\W|\d|$)", _fold(w.text))), None)
        place_words = words if cut is None and not any(re.search(r"\d", w.text) for w in words) else words[:cut]
        if place_words and "dia_danh" not in values:
            place = words_text(place_words).strip(" ,.;")
            ok = 1.0 if place_words[-1].text.endswith(",") else 0.8
            reading = names.read_place(place)  # "Nghỉ Lộc" is the district Nghi Lộc
            if reading.changed:
                place, ok = reading.value, ok * v.SNAPPED_IN_HIERARCHY
            values.setdefault("dia_danh", Value(place, min_conf(place_words), ok * v.text_factor(place)))

    def _closing(self, page: OcrPage, nn: int, put) -> None:
        lines = page.lines
        first = lines[nn]
        label_end = next((i for i, w in enumerate(first.words) if _fold(w.text).startswith("nhan")), 0) + 1
        right = [w for w in first.words[label_end:] if w.box[0] > page.width * 0.4]
        split = min((w.box[0] for w in right), default=page.width * 0.5) - page.width * 0.02
        items: list[list[Word]] = []
        titles: list[tuple[str, float]] = []
        name: tuple[str, float] | None = None
        for ln in lines[nn:]:
            left = [w for w in ln.words if w.box[2] <= split + page.width * 0.02 and w.box[0] < split]
            if ln is first:
                left = [w for w in left if w not in first.words[:label_end]]
            rightw = [w for w in ln.words if w not in left and not (ln is first and w in first.words[:label_end])]
            if left:
                text = words_text(left)
                if _ITEM_DASH.match(text) or not items:
                    items.append(list(left))
                else:
                    items[-1].extend(left)
            if rightw:
                text = words_text([w for w in rightw if not _junk(w)])
                letters = [c for c in text if c.isalpha()]
                if not letters:
                    continue
                if all(c.isupper() for c in letters) and _TITLE_WORDS.search(_fold(text)) or \
                        all(c.isupper() for c in letters) and len(text.split()) <= 6 and not name:
                    titles.append((text, min_conf(rightw)))
                elif re.search(r"\(|\bky\b", _fold(text)):
                    continue
                else:
                    name = person_name([w for w in rightw if not _junk(w)]) or name
        recipients = []
        confs = []
        for item in items:
            text = words_text(item)
            text = _ITEM_DASH.sub("", text).strip()
            text = re.sub(r"[;.,:]+$", "", text).strip()
            if text:
                recipients.append(text)
                confs.append(min_conf(item))
        if recipients:
            joined = "; ".join(recipients)
            factor = v.text_factor(joined)
            # "Lưu: VT, …" (văn thư) is on every document; its T and comma are often misread
            # ("VI", "VŨ KT", "VE KT")
            fixed = re.sub(r"(Lưu\s*:?\s*)V[IlT1|]\b,?\s*", r"\1VT, ", joined).rstrip(", ")
            # "Lưu: VT" closes the list where no drafting unit follows; its T and full stop
            # are read as anything ("VL", "VTL", "VÍT:.")
            fixed = re.sub(r"(Lưu\s*:?\s*)V[^\s,;]{0,3}$", r"\1VT", fixed)
            fixed = re.sub(r"(Lưu\s*:?\s*)V\w?[,.]?\s+(?=[A-ZĐ]{2})", r"\1VT, ", fixed)
            fixed = re.sub(r"(Lưu: VT, )\s*;\s*", r"\1", fixed)  # the drafting unit wrapped to its own item
            fixed = drafting_unit(recipient_phrases(fixed))
            if fixed != joined:
                joined, factor = fixed, factor * 0.8
            put("noi_nhan", joined, min(confs), factor)
        if titles:
            title, conf = titles[-1]
            canon = _title(title)
            factor = 1.0 if _TITLE_WORDS.search(_fold(title)) else 0.6
            if canon and canon != title:
                title, factor = canon, 0.8
            put("chuc_vu_nguoi_ky", title, conf, factor)
        if name:
            signer, factor = v.normalize_name(name[0])  # "Đồ Công Toàn" is Đỗ: surnames are a closed set
            put("nguoi_ky", signer, name[1], factor)


# Recipients that stand on most administrative documents, as Nghị định 30/2020 writes
# them: a reading with the same letters in another case or with other marks is put right.
RECIPIENT_PHRASES = ("Như trên", "Sở Tư pháp", "Sở Nội vụ", "Công an tỉnh", "Công an huyện", "Công an xã",
                     "Huyện ủy", "Tỉnh ủy", "Thường trực HĐND tỉnh", "Thường trực HĐND huyện", "CT, các PCT UBND tỉnh",
                     "CT, các PCT UBND huyện", "CT, PCT UBND tỉnh", "CT, PCT UBND huyện", "CT, PCT UBND xã",
                     "VPUB: CVP, PCVP", "Phòng Tư pháp", "Giám đốc, các PGĐ Sở",
                     "Cổng thông tin điện tử tỉnh", "Trang thông tin điện tử Sở", "(b/c)", "Lưu: VT")


def _phrase_pattern(phrase: str) -> re.Pattern:
    words = [re.escape(_fold(w)) for w in phrase.replace(",", " , ").replace(":", " : ").split()]
    return re.compile(r"(?<!\w)" + r"\s*".join(words).replace(r"\s*,", r",?\s*").replace(r"\s*:", r":?\s*") + r"(?!\w)")


_RECIPIENT_PATTERNS = [(_phrase_pattern(p), p) for p in RECIPIENT_PHRASES]


def recipient_phrases(text: str) -> str:
    """'SỞ Tư pháp' -> 'Sở Tư pháp', 'CT các PCT UBND huyện' -> 'CT, các PCT UBND huyện'."""
    for pattern, phrase in _RECIPIENT_PATTERNS:
        folded = fold_aligned(text)
        out, pos = [], 0
        for m in pattern.finditer(folded):
            out.append(text[pos:m.start()])
            out.append(phrase)
            pos = m.end()
        text = "".join(out) + text[pos:]
    return text


# Units that draft a People's Committee's documents, as they sign "Lưu: VT, KT." (the
# specialist offices of Nghị định 30/2020 practice): KT kinh tế, TP tư pháp, NC nội chính,
# VP văn phòng, HCTP hành chính - tư pháp, KGVX khoa giáo - văn xã, TH tổng hợp, ...
DRAFTING_UNITS = frozenset("KT TP NC VP HCTP KGVX TH NV XD TC VX NN TNMT CN ĐT QLĐT TCKH VHXH LĐTBXH".split())


def drafting_unit(text: str) -> str:
    """'Lưu: VT, KE' -> 'Lưu: VT, KT': the unit's last letter and the full stop after it
    ("T.", "P.") are read as one E; the unit is the one that letter makes, if only one."""
    def unit(m: re.Match) -> str:
        read = m.group(2)
        if read in DRAFTING_UNITS or not read.endswith("E"):
            return m.group(0)
        found = [read[:-1] + c for c in "TP" if read[:-1] + c in DRAFTING_UNITS]
        return m.group(1) + found[0] if len(found) == 1 else m.group(0)
    return re.sub(r"(Lưu: VT, )([A-ZĐ]{2,6})\b(?![.,])", unit, text)


def issuing_body(text: str) -> tuple[str, bool]:
    """The issuing body as printed: speckle before it and a word of the motto beside it
    ("Độc") dropped, "ỦY BẠN NHÂN DÂN" read with a slipped mark put right."""
    fixed = re.sub(r"^[^\w]+|_+", "", text).strip()
    fixed = re.sub(r"\s+(Độc|Độc lập|ĐỘC|ĐỘC LẬP)\W*$", "", fixed)
    fixed = re.sub(r"(?<=\w)[.,](?= \w)", "", fixed)  # a body's name has no stops inside: a speck
    folded = fold_aligned(fixed)
    if folded.startswith("uy ban nhan dan") and fixed[:15] != "ỦY BAN NHÂN DÂN" and fixed[:15].isupper():
        fixed = "ỦY BAN NHÂN DÂN" + fixed[15:]
    if folded.lower().startswith("uy ban nhan dan "):
        # the unit it is the committee of, spelled as the gazetteer does ("THỊ TRẤN PHONG ĐIỂN")
        fixed = fixed[:16] + names.read_place(fixed[16:]).value
    return fixed, fixed != text


_TITLES = {fold(t): t for t in ("CHỦ TỊCH", "PHÓ CHỦ TỊCH", "GIÁM ĐỐC", "PHÓ GIÁM ĐỐC", "TRƯỞNG PHÒNG",
                                  "PHÓ TRƯỞNG PHÒNG", "CHÁNH VĂN PHÒNG", "PHÓ CHÁNH VĂN PHÒNG", "BỘ TRƯỞNG",
                                  "THỨ TRƯỞNG", "CỤC TRƯỞNG", "VỤ TRƯỞNG")}


def _title(text: str) -> str | None:
    """The signer's title as printed: one of the usual titles read with marks slipped, or
    with a letter or two misread where no other title is as near ("CHỦ TTCH")."""
    key = clean_spaces(_fold(text))
    if key in _TITLES:
        return _TITLES[key]
    near = sorted((levenshtein(key, k), k) for k in _TITLES)
    if near[0][0] <= 2 and near[0][0] < near[1][0] and len(key) >= 6:
        return _TITLES[near[0][1]]
    return None


# Kinds of document in a number's notation (Nghị định 30/2020, Phụ lục III), e.g. 12/2024/QĐ-UBND.
NOTATION_KINDS = frozenset("NQ QĐ CT QC QYĐ TC TB HD CTr KH PA ĐA DA BC BB TTr HĐ CĐ BGN BTT GUQ GM GGT GNP PG "
                           "PC PB".split())


def notation_kind(value: str) -> str:
    """'1255/2024/QĐĐ-UBND' -> '1255/2024/QĐ-UBND': a letter of the kind read twice."""
    m = re.fullmatch(r"(\d+/(?:\d{4}/)?)([A-ZĐa-z]+)(-.*)", value)
    if not m or m.group(2) in NOTATION_KINDS:
        return value
    kind = m.group(2)
    singles = {kind[:i] + kind[i + 1:] for i in range(1, len(kind)) if kind[i] == kind[i - 1]}
    found = singles & NOTATION_KINDS
    return m.group(1) + found.pop() + m.group(3) if len(found) == 1 else value
