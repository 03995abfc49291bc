"""Administrative documents: the metadata of Nghị định 30/2020/NĐ-CP.

Layout (Phụ lục I): issuing body top left, national motto top right; "Số: …"
under the body with the place and date on its right; the kind of document
("QUYẾT ĐỊNH") and its subject centred below, or for a Công văn the subject
"V/v …" under the number; at the foot "Nơi nhận:" on the left and the
signer's title, signature and name on the right.

The fields are declared in `SPEC`, as the certificates' are in their `FormSpec`s: per field,
where it is read (a `locate` function: its candidates on the page, off the landmarks that
`van_ban_layout.Layout` finds once per page), how it is normalised and checked (a `read`
function: the value and its factor) and its kind for the confidence model. `read_fields` runs
them in order; `VanBanExtractor` adds what no one page holds (the closing block of a document
of several pages, the bound its own signatures set on its date)."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Any, Generic, TypeVar

from ..text import clean_spaces, fold, levenshtein
from ..types import Box, InputSignature, Line, OcrPage, Record, Repair, Word
from .base import Value, build_record
from .common import min_conf, words_text
from .labels import fold_aligned
from .rereading import figures_by_hand
from .van_ban_layout import ITEM_DASH, TITLE_WORDS, IssueDate, Layout, number_line
from .. import refdata
from . import names
from . import validate as v

# ------------------------------------------------------------------ where each field is read
# `locate` functions: a field's candidates on the page, best first (none where its landmark
# is missing).


def _header_block(layout: Layout) -> list[tuple[str, float]]:
    """The issuing body: the header's left block above the "Số:" line."""
    return [layout.header] if layout.header else []


def _number_tokens(layout: Layout) -> list[list[Word]]:
    """The number: the words after "Số:" that hang together by a slash or a dash."""
    number = layout.number
    return [number.tokens] if number is not None and number.tokens else []


def _issue_date(layout: Layout) -> list[IssueDate]:
    """The date of issue: beside the number, or just below it."""
    return [layout.issue_date] if layout.issue_date is not None else []


def _place_words(layout: Layout) -> list[list[Word]]:
    """The place of issue: the words before the date; where the date was not read (its day
    written by hand), the place before "ngày" still is, on the number's line."""
    candidates = []
    if layout.issue_date is not None:
        candidates.append(layout.issue_date.place_words)
    if layout.number is not None:
        candidates.append(layout.number.rest)
    return candidates


def _kind_heading(layout: Layout) -> list[str]:
    """The kind of document: a line under the number naming one of the kinds (Phụ lục III), or
    Công văn for a letter ("V/v …", "Kính gửi:")."""
    kind = layout.heading.kind
    return [kind] if kind else []


def _subject_lines(layout: Layout) -> list[list[Line]]:
    """The subject (trích yếu): under the kind, or the "V/v" of a Công văn."""
    subject = layout.heading.subject
    return [subject] if subject else []


def _recipient_items(layout: Layout) -> list[list[list[Word]]]:
    """The recipients: the items under "Nơi nhận:", in the closing block's left column."""
    closing = layout.closing
    return [closing.items] if closing is not None else []


def _signer_title(layout: Layout) -> list[tuple[str, float]]:
    """The signer's title: the last capitalised line of the right column ("TM. ỦY BAN NHÂN
    DÂN" above "CHỦ TỊCH": the title is the one nearest the signature)."""
    closing = layout.closing
    return [closing.titles[-1]] if closing is not None and closing.titles else []


def _signer_name(layout: Layout) -> list[tuple[str, float]]:
    """The signer's name: under the signature, the last line of the right column that reads as
    a person's name."""
    closing = layout.closing
    return [closing.name] if closing is not None and closing.name else []


# ------------------------------------------------------------------ how each field is read
# `read` functions: a candidate's value, normalised and checked (its factor), or None where it
# holds no value (the driver then tries the next candidate).


def _value(text: str, ocr: float, factor: float = 1.0) -> Value | None:
    """A value as read: spaces tidied, nothing where nothing is left."""
    text = clean_spaces(text)
    return Value(text, ocr, factor) if text else None


def _read_issuing_body(body: tuple[str, float], layout: Layout) -> Value | None:
    """The body as printed (speckle and a word of the motto beside it dropped)."""
    issuer, repaired = issuing_body(body[0])
    # a body's name starts with the kind of body (Ủy ban, Sở, Phòng, Bộ, …): anything else
    # is doubtful, a header misread or split elsewhere
    factor = (
        1.0 if re.match(r"^(uy ban nhan dan|so|ubnd|phong|bo|cuc|ban|truong|hoi dong|van phong)", fold(issuer)) else 0.7
    )
    return _value(issuer, body[1], factor * v.text_factor(issuer) * (0.9 if repaired else 1.0))


def _read_number(tokens: list[Word], layout: Layout) -> Value | None:
    """The number and notation ("47/2024/QĐ-UBND"), the notation's kind put right where a
    letter was read twice; flagged where its figures were written by hand into the blank."""
    raw = "".join(t.text for t in tokens)
    raw = re.sub(r"^s[oố]\s*[:;.]?", "", raw, flags=re.I)
    value, factor = v.normalize_number(raw)
    kind_read = notation_kind(value)
    if kind_read != value:
        # a letter read twice is put right with little doubt; a letter read as another, as a guess
        value, factor = kind_read, factor * (v.SNAPPED if len(kind_read) < len(value) else v.SNAPPED_GIVEN)
    # figures (the year perhaps), then the notation's kind and body: "47/2024/QĐ-UBND"
    if not re.fullmatch(r"\d{1,5}(/\d{4})?/[A-ZĐ]+(-[A-ZĐ0-9]+)*", value):
        factor *= 0.5
    found = _value(value, min_conf(tokens), factor)
    if found is not None:
        found.handwritten = number_by_hand(tokens, layout.page)
        found.raw, found.boxes = " ".join(t.text for t in tokens), tuple(t.box for t in tokens)
        if found.handwritten and layout.number is not None:
            found = _number_in_pen(found, tokens, layout.number.label, layout.page)
    return found


def _number_in_pen(found: Value, tokens: list[Word], label: Word | None, page: OcrPage) -> Value:
    """The figures written by hand into the blank between "Số:" and the notation, read by the
    pen-figure model (`ocr.handwriting`; Tesseract made 1 of 8 such numbers right on the real
    scans); the value stays handwritten, for a person to confirm."""
    notation = _notation_after_figures(found.value)
    slash = next((t for t in tokens if "/" in t.text), None)
    if label is None or slash is None or notation is None:
        return found
    height = label.box[3] - label.box[1]
    # the blank: from the end of the printed "Số:" (where figures are glued to it, as wide as
    # the word is at its height) to the notation's slash
    start = label.box[2] if fold(label.text).rstrip(":;. ") == "so" else label.box[0] + 1.35 * height
    before_slash = slash.text.index("/") / max(1, len(slash.text))
    end = slash.box[0] + before_slash * (slash.box[2] - slash.box[0])
    if end - start < 0.3 * height:
        return found
    box = (int(start), int(label.box[1] - 0.5 * height), int(end), int(label.box[3] + 0.4 * height))
    pen = figures_by_hand(page.number, box, 0.7 * height)
    if pen is None or not re.fullmatch(r"\d{1,5}", pen.text):
        return found
    value = f"{pen.text}/{notation}"
    if value == found.value:
        return found
    return replace(
        found,
        value=value,
        ocr=pen.confidence,
        repairs=found.repairs + (Repair("pen_figures", found.value, value),),
        boxes=found.boxes + (box,),
    )


def _notation_after_figures(value: str) -> str | None:
    """The notation of a number ("QĐ-UBND", "2024/QĐ-UBND"): the letters at its end, with a
    year before them, whatever was read in place of the figures ("Z2/QĐ-UBND", "„QĐ-UBND")."""
    m = re.search(r"(?:\d{4}/)?[A-ZĐ][A-ZĐa-z]*(?:-[A-ZĐ0-9]+)*$", value)
    return m.group(0) if m else None


def _read_issue_date(found: IssueDate, layout: Layout) -> Value | None:
    """The date of issue; flagged where its day or month was written by hand, and those read
    by the pen-figure model where Tesseract did not read them as clean figures (with the
    other dates the model's readings allow, for the signing bound to choose among)."""
    handwritten = date_by_hand(found.words, layout.page)
    day, month = found.day, found.month
    repairs: tuple[Repair, ...] = ()
    pen = _PenDate(0, 0, (), ())
    if handwritten or not day or not month:
        pen = _date_in_pen(found, layout.page)
        day, month = pen.day or day, pen.month or month
        if (day, month) != (found.day, found.month):
            before = f"{found.day or '?'}/{found.month or '?'}/{found.year}"
            repairs = (Repair("pen_figures", before, f"{day or '?'}/{month or '?'}/{found.year}"),)
    if not day or not month:
        return None
    value, factor = v.normalize_date(f"{day}/{month}/{found.year}")
    # the date's words read with a letter or a speck amiss ("ngàv", "tháng 6? năm"): its figures may be too
    if not found.printed:
        factor *= 0.8
    others = [v.normalize_date(f"{d or day}/{m or month}/{found.year}")[0] for d, m in pen.readings]
    return Value(
        value,
        min_conf(found.words),
        factor,
        handwritten=handwritten or bool(repairs),
        raw=" ".join(w.text for w in found.words),
        boxes=tuple(w.box for w in found.words) + pen.boxes,
        repairs=repairs,
        alternatives=tuple(dict.fromkeys(o for o in others if o != value)),
    )


@dataclass(frozen=True)
class _PenDate:
    day: int  # 0: not read in pen
    month: int
    boxes: tuple[tuple[int, int, int, int], ...]  # the blanks read
    readings: tuple[tuple[int, int], ...]  # (day, month) the model's readings allow, most probable first


def _date_in_pen(found: IssueDate, page: OcrPage) -> _PenDate:
    """The day and month written by hand into "ngày … tháng … năm 2025" (0 where not read):
    the blanks after the printed "ngày" and "tháng", as wide as those words are set at the
    height of the printed year's figures, read by the pen-figure model. A part Tesseract read
    as clean figures of its own word is left to it."""
    words = found.words
    year = next((w for w in reversed(words) if re.fullmatch(r"\d{4}\W?", w.text)), None)
    ngay = next((w for w in words if fold(w.text).startswith("ng")), None)
    thang = next((w for w in words if fold(w.text).startswith("th")), None) or next(
        (w for w in words if re.search(r"th[a-z]{2,4}", fold(w.text))), None
    )
    nam = next((w for w in words if fold(w.text).startswith("n") and w is not ngay and w is not year), None)
    if year is None or ngay is None or thang is None or nam is None:
        return _PenDate(0, 0, (), ())
    height = year.box[3] - year.box[1]
    if not fold(thang.text).startswith("th"):  # pen figures glued before it ("“Ñtháng")
        thang = replace(thang, box=(int(thang.box[2] - 3.3 * height),) + thang.box[1:])
    top, bottom = int(year.box[1] - 0.6 * height), int(year.box[3] + 0.4 * height)

    def blank(word: Word, printed_width: float, following: Word, most: int) -> tuple[list[tuple[int, float]], Box]:
        """The blank's readings that are a day (a month), most probable first; none where
        Tesseract's reading stands or the model read no such figures."""
        between = [w for w in words if word.box[0] < w.box[0] < following.box[0] and w is not word]
        if len(between) == 1 and re.fullmatch(r"\d{1,2}[,.]?", between[0].text) and not _pen_near(between, page):
            return [], (0, 0, 0, 0)  # printed, or read clean: Tesseract's reading stands
        box = (int(word.box[0] + printed_width * height), top, int(following.box[0]) - 2, bottom)
        if box[2] - box[0] < 0.3 * height:
            return [], box
        pen = figures_by_hand(page.number, box, height)
        if pen is None or not re.fullmatch(r"\d{1,2}", pen.text) or not 1 <= int(pen.text) <= most:
            return [], box
        readings = pen.readings or ((pen.text, pen.confidence),)
        return [(int(t), p) for t, p in readings if re.fullmatch(r"\d{1,2}", t) and 1 <= int(t) <= most], box

    # "ngày" and "tháng" in the italic of the place-and-date line, at the year's figure height
    days, day_box = blank(ngay, 2.75, thang, 31)
    months, month_box = blank(thang, 3.3, nam, 12)
    boxes = tuple(b for b, got in ((day_box, days), (month_box, months)) if got)
    pairs = sorted(
        ((d, m, p * q) for d, p in (days or [(0, 1.0)]) for m, q in (months or [(0, 1.0)])), key=lambda r: -r[2]
    )
    return _PenDate(days[0][0] if days else 0, months[0][0] if months else 0, boxes, tuple((d, m) for d, m, _ in pairs))


def _read_place(words: list[Word], layout: Layout) -> Value | None:
    """The place of issue: the words before the date ("Quảng Ngãi, ngày …"), the last
    ending with a comma; `words` may run on into the date, which is cut off at "ngày"."""
    cut = next(
        (
            i
            for i, w in enumerate(words)
            if i > 0 and words[i - 1].text.endswith(",") and re.match(r"ng[a-z]{1,3}(\W|\d|$)", fold(w.text))
        ),
        None,
    )
    place_words = words if cut is None and not any(re.search(r"\d", w.text) for w in words) else words[:cut]
    # the place opens the right column: what stands before a column-wide gap is the number's
    # (a number misread beyond its shape is not taken as the number's words)
    gaps = [
        i
        for i in range(1, len(place_words))
        if place_words[i].box[0] - place_words[i - 1].box[2] > 2.5 * (place_words[i].box[3] - place_words[i].box[1])
    ]
    if gaps:
        place_words = place_words[gaps[-1] :]
    if not place_words:
        return None
    place = words_text(place_words).strip(" ,.;")
    # (kept even where nothing but punctuation is left of it, as it always was)
    ok = 1.0 if place_words[-1].text.endswith(",") else 0.8  # no comma: where the place ends is a guess
    reading = names.read_place(place)  # "Nghỉ Lộc" is the district Nghi Lộc
    if reading.changed:
        place, ok = reading.value, ok * v.SNAPPED_IN_HIERARCHY
    return Value(place, min_conf(place_words), ok * v.text_factor(place))


def _read_kind(kind: str, layout: Layout) -> Value | None:
    """The kind as Phụ lục III names it ("QUYẾT ĐỊNH" is "Quyết định")."""
    return _value(kind, 1.0)  # a name from the closed list of kinds: nothing to doubt in its letters


def _read_subject(subject_lines: list[Line], layout: Layout) -> Value | None:
    """The subject without its lead-in ("V/v", "Về việc"): what the document is about."""
    words = [w for ln in subject_lines for w in ln.words]
    text = words_text(words)
    text = re.sub(r"^\s*[Vv]\s*/\s*[Vv]\s*[:.]?\s*", "", text)
    text = re.sub(r"^\s*[Vv]ề việc\s*[:.]?\s*", "", text)
    text = text.strip(" .;")
    # a subject is one sentence: a stop inside it, before a word in lower case, is a speck ("10. năm")
    text = re.sub(r"(?<=[\da-zà-ỹđ])\.(?= [a-zà-ỹđ])", "", text)
    return _value(text, min_conf(words), v.text_factor(text))


def _without_archive_mark(item: list[Word]) -> list[Word]:
    """The words of a recipient whose reading counts for its confidence: in "Lưu: VT" (the
    archive copy Nghị định 30 puts last on every document) the "VT" slot is set by the form,
    not by what was read there (its T and full stop come out as "VL", "VTL", "VÍT." at
    confidences near 0), so it is left out; the drafting unit after it is not."""
    if len(item) < 2 or fold(words_text(item[:2])).replace(" ", "")[:4] not in ("-luu", "luu:"):
        return item
    start = 2 if item[0].text.strip() in "-–" else 1
    return [w for i, w in enumerate(item) if not (i == start and re.fullmatch(r"V[^\s,;]{0,3}[,.;:]?", w.text))]


def _read_recipients(items: list[list[Word]], layout: Layout) -> Value | None:
    """The recipients, one "; " between each, without their dashes and stops; the phrases every
    document carries ("Như trên", "Lưu: VT, KT") put right where misread."""
    recipients = []
    confs = []
    for item in items:
        text = words_text(item)
        text = ITEM_DASH.sub("", text).strip()
        text = re.sub(r"[;.,:]+$", "", text).strip()
        if text:
            recipients.append(text)
            confs.append(min_conf(_without_archive_mark(item)))
    if not recipients:
        return None
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
    return _value(joined, min(confs), factor)


def _read_signer_title(found: tuple[str, float], layout: Layout) -> Value | None:
    """The title, one of the usual titles where it was read with a letter or mark slipped."""
    title, conf = found
    canon = _title(title)
    # a line in capitals without a title's words ("ỦY BAN NHÂN DÂN") may not be the title
    factor = 1.0 if TITLE_WORDS.search(fold(title)) else 0.6
    if canon and canon != title:
        title, factor = canon, 0.8
    return _value(title, conf, factor)


def _read_signer(name: tuple[str, float], layout: Layout) -> Value | None:
    """The signer's name, checked as a person's name."""
    signer, factor = v.normalize_name(name[0])  # "Đồ Công Toàn" is Đỗ: surnames are a closed set
    return _value(signer, name[1], factor)


# ------------------------------------------------------------------ the fields


T = TypeVar("T")


@dataclass(frozen=True)
class FieldSpec(Generic[T]):
    """How one field of the record is read."""

    name: str  # CONTRACT field name (base.FIELDS["van_ban"])
    locate: Callable[[Layout], Sequence[T]]  # where on the page: its candidates, best first
    read: Callable[[T, Layout], Value | None]  # normalised and checked; None: try the next candidate
    # Its kind for the confidence model: base.field_group, which goes by the field's name,
    # stated here so the table says how each field is trusted (a test holds the two together).
    group: str


# In the order the fields are read, which is the order of the values handed to build_record.
# The date before the place: the place is read off the words before the date.
SPEC: tuple[FieldSpec[Any], ...] = (
    FieldSpec("co_quan_ban_hanh", _header_block, _read_issuing_body, "text"),
    FieldSpec("so_ky_hieu", _number_tokens, _read_number, "number"),
    FieldSpec("ngay_ban_hanh", _issue_date, _read_issue_date, "date"),
    FieldSpec("dia_danh", _place_words, _read_place, "text"),
    FieldSpec("loai_van_ban", _kind_heading, _read_kind, "text"),
    FieldSpec("trich_yeu", _subject_lines, _read_subject, "text"),
    FieldSpec("noi_nhan", _recipient_items, _read_recipients, "text"),
    FieldSpec("chuc_vu_nguoi_ky", _signer_title, _read_signer_title, "text"),
    FieldSpec("nguoi_ky", _signer_name, _read_signer, "name"),
)

# The closing block's fields: on the last page of a document of several pages.
_CLOSING = ("noi_nhan", "chuc_vu_nguoi_ky", "nguoi_ky")
CLOSING_SPEC = tuple(f for f in SPEC if f.name in _CLOSING)


def read_fields(page: OcrPage, spec: Sequence[FieldSpec[Any]] = SPEC) -> dict[str, Value]:
    """Each field of `spec` in turn: the first of its candidates that reads as a value."""
    layout = Layout(page)
    values: dict[str, Value] = {}
    for field in spec:
        for found in field.locate(layout):
            value = field.read(found, layout)
            if value is not None:
                values[field.name] = value
                break
    return values


class VanBanExtractor:
    doc_type = "van_ban"

    def extract(
        self, page: OcrPage, signatures: tuple[InputSignature, ...] = (), following: Sequence[OcrPage] = ()
    ) -> list[Record]:
        """The document's record from its first page; `following` are the pages after it in the
        same file, where a document of several pages has its closing block (Nơi nhận, the
        signer's title and name) on the last one."""
        values = self.fields(page)
        # Evidence that this is an administrative document and not any page of text.
        if "so_ky_hieu" not in values and not ("loai_van_ban" in values and "co_quan_ban_hanh" in values):
            return []
        if not any(name in values for name in _CLOSING):
            for later in following:
                if number_line(later) is not None:
                    break  # the next document in the file
                closing = self.closing(later)
                if closing:
                    values.update({k: replace(val, page=later.number) for k, val in closing.items()})
                    break
        _notation_by_body(values)
        _notation_by_kind(values)
        bound_by_signatures(values, signatures)
        return [build_record(self.doc_type, page, values)]

    def closing(self, page: OcrPage) -> dict[str, Value]:
        """The closing block's fields (noi_nhan, chuc_vu_nguoi_ky, nguoi_ky) of one page."""
        return read_fields(page, CLOSING_SPEC)

    def fields(self, page: OcrPage) -> dict[str, Value]:
        """The fields one page holds, as `SPEC` reads them."""
        return read_fields(page)


# ------------------------------------------------------------------ checks


def _notation_by_body(values: dict[str, Value]) -> None:
    number, body = values.get("so_ky_hieu"), values.get("co_quan_ban_hanh")
    if number is None or body is None:
        return
    fixed = notation_from_body(number.value, body.value)
    if fixed is not None:
        number.repairs += (Repair("notation_from_body", number.value, fixed),)
        number.value = fixed


def _notation_by_kind(values: dict[str, Value]) -> None:
    """The notation's kind checked against the kind printed as the document's title: under
    Nghị định 30 (Phụ lục III) a "Tờ trình" is numbered "…/TTr-…". A kind read as no kind at
    all ("TH", "TI", "TTIr" for TTr: a serif joined, a letter split) within two letters of
    the title's is put right, as a guess; a notation naming another kind than the title
    ("QĐ" under "KẾ HOẠCH") means one of the two was misread, and is reviewed."""
    number, kind = values.get("so_ky_hieu"), values.get("loai_van_ban")
    expected = _KIND_ABBREVIATIONS.get(kind.value) if kind is not None else None
    if number is None or not expected:
        return
    m = re.fullmatch(r"(.*?\d/(?:\d{4}/)?)([A-ZĐa-zđ]+)(-.*)", number.value)
    if m is None or m.group(2) == expected:
        return
    read = m.group(2)
    if read in NOTATION_KINDS or levenshtein(read, expected) > min(2, len(expected) - 1):
        number.factor *= 0.5
        return
    fixed = m.group(1) + expected + m.group(3)
    number.repairs += (Repair("notation_from_kind", number.value, fixed),)
    number.value, number.factor = fixed, number.factor * v.SNAPPED_GIVEN


_KIND_ABBREVIATIONS = {kind: short for kind, short in refdata.document_kinds().items() if short}


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
        # a date read in pen: the first other reading the model allows within the bound, as a
        # guess (the value stays handwritten, reviewed)
        within = next((d for d in found.alternatives if _within_signing(d, signed)), None)
        if within is not None:
            found.repairs += (Repair("signing_bound", found.value, within),)
            found.value = within
            return
        found.factor *= 0.3
    elif days <= 1:  # signed the day it is dated (or overnight): the date is vouched for
        found.confirmed = True


def _within_signing(value: str, signed: date) -> bool:
    issued = v.parse_date(value)
    return issued is not None and 0 <= (signed - issued).days <= _SIGNED_WITHIN_DAYS


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
        neighbours = date_words[max(0, i - 1) : i] + date_words[i + 1 : i + 2]
        if any(_overlaps(w.box, n.box) for n in neighbours):
            return True
    return False


# ------------------------------------------------------------------ repairs of what was read

# Recipients that stand on most administrative documents, as Nghị định 30/2020 writes
# them: a reading with the same letters in another case or with other marks is put right.
RECIPIENT_PHRASES = (
    "Như trên",
    "Sở Tư pháp",
    "Sở Nội vụ",
    "Công an tỉnh",
    "Công an huyện",
    "Công an xã",
    "Huyện ủy",
    "Tỉnh ủy",
    "Thường trực HĐND tỉnh",
    "Thường trực HĐND huyện",
    "CT, các PCT UBND tỉnh",
    "CT, các PCT UBND huyện",
    "CT, PCT UBND tỉnh",
    "CT, PCT UBND huyện",
    "CT, PCT UBND xã",
    "VPUB: CVP, PCVP",
    "Phòng Tư pháp",
    "Giám đốc, các PGĐ Sở",
    "Cổng thông tin điện tử tỉnh",
    "Trang thông tin điện tử Sở",
    "(b/c)",
    "Lưu: VT",
)


def _phrase_pattern(phrase: str) -> re.Pattern:
    words = [re.escape(fold(w)) for w in phrase.replace(",", " , ").replace(":", " : ").split()]
    return re.compile(r"(?<!\w)" + r"\s*".join(words).replace(r"\s*,", r",?\s*").replace(r"\s*:", r":?\s*") + r"(?!\w)")


_RECIPIENT_PATTERNS = [(_phrase_pattern(p), p) for p in RECIPIENT_PHRASES]


def recipient_phrases(text: str) -> str:
    """'SỞ Tư pháp' -> 'Sở Tư pháp', 'CT các PCT UBND huyện' -> 'CT, các PCT UBND huyện'."""
    for pattern, phrase in _RECIPIENT_PATTERNS:
        folded = fold_aligned(text)
        out, pos = [], 0
        for m in pattern.finditer(folded):
            out.append(text[pos : m.start()])
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
    fixed = _committee_unit_spelled(fixed)
    return fixed, fixed != text


# The units a people's committee (UBND) is of, as Nghị định 30 prints them in a body's name.
_COMMITTEE_UNITS = {fold(u): u for u in ("TỈNH", "HUYỆN", "XÃ", "QUẬN", "PHƯỜNG", "THỊ XÃ", "THỊ TRẤN", "THÀNH PHỐ")}


def _committee_unit_spelled(text: str) -> str:
    """The kind of unit after "UBND" in its one spelling ("UBND TÍNH BÌNH ĐỊNH", "UBND THANH
    PHO HUẾ"), in capitals as printed; a word that is no kind of unit is left alone."""

    def spelled(m: re.Match[str]) -> str:
        first, second = m.group(1), m.group(2)
        if second and f"{first} {second}".isupper() and fold(f"{first} {second}") in _COMMITTEE_UNITS:
            return _COMMITTEE_UNITS[fold(f"{first} {second}")]
        if first.isupper() and fold(first) in _COMMITTEE_UNITS:
            return _COMMITTEE_UNITS[fold(first)] + (f" {second}" if second else "")
        return m.group(0)

    return re.sub(r"(?<=\bUBND )(\w+)(?: (\w+))?", spelled, text)


# Letters a notation's abbreviation is misread as: (read, printed).
_NOTATION_LOOKALIKES = {("D", "Đ"), ("I", "1"), ("L", "1"), ("O", "0")}


def notation_from_body(number: str, body: str) -> str | None:
    """The number's notation with the issuing body's abbreviation put right where a letter of it
    was read as its lookalike ("QĐ-SGDDT" for the Sở Giáo dục và Đào tạo, "BCĐI38" for the Ban
    Chỉ đạo 138): under Nghị định 30 (Phụ lục I) the notation abbreviates the body's name, so the
    body's initials decide. None where nothing needs putting right."""
    parts = number.rsplit("-", 1)
    if len(parts) != 2:
        return None
    short = parts[1]
    words = [w for w in re.findall(r"\w+", body.upper()) if fold(w) not in ("va", "cua")]
    for i in range(len(words)):
        initials = ""
        for w in words[i:]:
            initials += w if w.isdigit() else w[0]  # "BAN CHỈ ĐẠO 138": BCĐ138
            if len(initials) >= len(short):
                break
        if len(initials) != len(short):
            continue
        if all(a == b or (a, b) in _NOTATION_LOOKALIKES for a, b in zip(short, initials)):
            return f"{parts[0]}-{initials}" if initials != short else None
    return None


_TITLES = {
    fold(t): t
    for t in (
        "CHỦ TỊCH",
        "PHÓ CHỦ TỊCH",
        "GIÁM ĐỐC",
        "PHÓ GIÁM ĐỐC",
        "TRƯỞNG PHÒNG",
        "PHÓ TRƯỞNG PHÒNG",
        "CHÁNH VĂN PHÒNG",
        "PHÓ CHÁNH VĂN PHÒNG",
        "BỘ TRƯỞNG",
        "THỨ TRƯỞNG",
        "CỤC TRƯỞNG",
        "VỤ TRƯỞNG",
    )
}


def _title(text: str) -> str | None:
    """The signer's title as printed: one of the usual titles read with marks slipped, or
    with a letter or two misread where no other title is as near ("CHỦ TTCH")."""
    key = clean_spaces(fold(text))
    if key in _TITLES:
        return _TITLES[key]
    near = sorted((levenshtein(key, k), k) for k in _TITLES)
    if near[0][0] <= 2 and near[0][0] < near[1][0] and len(key) >= 6:
        return _TITLES[near[0][1]]
    return None


# Kinds of document in a number's notation (Nghị định 30/2020, Phụ lục III), e.g. 12/2024/QĐ-UBND.
NOTATION_KINDS = frozenset(
    "NQ QĐ CT QC QYĐ TC TB HD CTr KH PA ĐA DA BC BB TTr HĐ CĐ BGN BTT GUQ GM GGT GNP PG PC PB".split()
)


def notation_kind(value: str) -> str:
    """'1255/2024/QĐĐ-UBND' -> '1255/2024/QĐ-UBND': a letter of the kind read twice;
    '1539/TIr-SGTVT' -> '1539/TTr-SGTVT': one letter misread, where one kind alone is that near."""
    m = re.fullmatch(r"(\d+/(?:\d{4}/)?)([A-ZĐa-z]+)(-.*)", value)
    if not m or m.group(2) in NOTATION_KINDS:
        return value
    kind = m.group(2)
    singles = {kind[:i] + kind[i + 1 :] for i in range(1, len(kind)) if kind[i] == kind[i - 1]}
    found = singles & NOTATION_KINDS
    if not found and len(kind) >= 3:
        # (a two-letter kind one letter off is another kind as often as not: QĐ, QC, CT, TC)
        found = {k for k in NOTATION_KINDS if len(k) == len(kind) and levenshtein(k, kind) == 1}
    return m.group(1) + found.pop() + m.group(3) if len(found) == 1 else value
