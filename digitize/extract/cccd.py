"""Citizen ID card (căn cước công dân, 2016-2024; thẻ căn cước, from 2024), front, back or
a photocopy of both.

The card's QR code holds the holder's data:

    số CCCD|số CMND cũ (may be empty)|họ và tên|ngày sinh ddmmyyyy|giới tính|nơi thường trú|ngày cấp ddmmyyyy

`|`-separated UTF-8; 6 fields where a card's code leaves one out (the old ID number's field,
or the date of issue). A value read from the code is exact: confidence 1.0, never in
review, provenance method `qr`. Where no code is readable (a blurred copy, the code cut
off, only the front copied) the printed labels are read as on any form ("Số định danh cá
nhân / Personal identification number:", "Họ, chữ đệm và tên / Full name:" ...), with the
usual confidence and review; a field the code lacks is taken from print the same way."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, replace
from datetime import date

from ..text import clean_spaces, fold, levenshtein
from ..types import Code, FieldProvenance, Line, OcrPage, Record, Repair, Word
from . import validate as v
from .base import FIELDS as ALL_FIELDS
from .base import Value, build_record, collect
from .labels import FormSpec, Label, find_fields, fold_aligned, form_rows

FIELDS = ALL_FIELDS["cccd"]

# ------------------------------------------------------------------ the QR code


@dataclass(frozen=True)
class Payload:
    """A CCCD QR code's fields: CONTRACT name -> (value, the code's own segment)."""

    fields: dict[str, tuple[str, str]]
    code: Code


_ID = re.compile(r"\d{12}")
_OLD_ID = re.compile(r"(\d{9}|\d{12})?")
_DATE = re.compile(r"\d{8}")


def _date(segment: str) -> str | None:
    """'05031998' -> '05/03/1998' where it is a real date."""
    if not _DATE.fullmatch(segment):
        return None
    try:
        date(int(segment[4:]), int(segment[2:4]), int(segment[:2]))
    except ValueError:
        return None
    return f"{segment[:2]}/{segment[2:4]}/{segment[4:]}"


def _sex(segment: str) -> str | None:
    return {"nam": "Nam", "nu": "Nữ"}.get(fold(segment).strip())


def parse_payload(text: str) -> dict[str, tuple[str, str]] | None:
    """The fields of a CCCD QR code's text, each (value as the CONTRACT writes it, segment as
    encoded); None when the text is not such a code (another QR code on the page, a URL)."""
    text = unicodedata.normalize("NFC", text).strip()
    parts = [p.strip() for p in text.split("|")]
    order: tuple[str, ...]
    if len(parts) == 7:
        order = ("so_dinh_danh", "so_cmnd", "ho_ten", "ngay_sinh", "gioi_tinh", "noi_thuong_tru", "ngay_cap")
    elif len(parts) == 6 and _date(parts[2]):  # no old ID number's field
        order = ("so_dinh_danh", "ho_ten", "ngay_sinh", "gioi_tinh", "noi_thuong_tru", "ngay_cap")
    elif len(parts) == 6 and _date(parts[3]):  # no date of issue
        order = ("so_dinh_danh", "so_cmnd", "ho_ten", "ngay_sinh", "gioi_tinh", "noi_thuong_tru")
    else:
        return None
    raw = dict(zip(order, parts))
    if not _ID.fullmatch(raw["so_dinh_danh"]) or not _OLD_ID.fullmatch(raw.get("so_cmnd", "")):
        return None
    born, sex = _date(raw["ngay_sinh"]), _sex(raw["gioi_tinh"])
    issued = _date(raw["ngay_cap"]) if raw.get("ngay_cap") else ""
    name = clean_spaces(raw["ho_ten"])
    if not born or not sex or issued is None or not re.search(r"[^\W\d_]", name) or not raw["noi_thuong_tru"]:
        return None
    values = {
        "so_dinh_danh": raw["so_dinh_danh"],
        "so_cmnd": raw.get("so_cmnd", ""),
        "ho_ten": name,
        "ngay_sinh": born,
        "gioi_tinh": sex,
        "noi_thuong_tru": clean_spaces(raw["noi_thuong_tru"]),
        "ngay_cap": issued,
    }
    # an empty field is absent from the card: omitted, not empty (CONTRACT)
    return {k: (values[k], raw.get(k, "")) for k in FIELDS if values.get(k)}


def card_payload(page: OcrPage) -> Payload | None:
    """The page's CCCD QR code, where one was read."""
    for code in page.codes:
        fields = parse_payload(code.text)
        if fields:
            return Payload(fields, code)
    return None


# ------------------------------------------------------------------ the printed card


# Labels are bilingual on the card ("Ngày sinh / Date of birth:"): the English half is
# taken out of the line before the labels are read (`_drop_english`), so that the OCR's
# slips in it ("Eull name", "J Pláce of residence") cost nothing. Labels of facts the
# CONTRACT does not keep (quê quán, quốc tịch, expiry, identifying marks) are read too:
# they end the value before them.
def _loose(pattern: str) -> str:
    """A label whose spaces may be read as dots or dashes ("Nơi.đăng ký", "năm-cấp")."""
    return pattern.replace(" ", r"[ .\-]{1,2}")


SPEC = FormSpec(
    doc_type="cccd",
    labels=tuple(
        Label(name, _loose(pattern), wraps=wraps)
        for name, pattern, wraps in (
            ("so_dinh_danh", r"(so dinh danh( ca nhan)?|so(?=\s*[:;.]?\s*\d{9}))", False),
            ("ho_ten", r"ho,? ?(chu dem,? ?)?(va )?ten( khai sinh)?", False),
            ("ngay_sinh", r"ng[a-z]?y,? ?(thang,? ?nam )?sinh", False),
            ("gioi_tinh", r"gioi tinh", False),
            ("quoc_tich", r"quoc tich", False),
            ("que_quan", r"que quan", True),
            ("noi_thuong_tru", r"noi (thuong tru|cu tru)", True),
            ("noi_dang_ky_khai_sinh", r"noi dang ky khai sinh", True),
            ("ngay_cap", r"ng[a-z]?y,? ?thang,? ?[a-z]?am( cap)?", False),
            ("het_han", r"(co gia tri den|ng[a-z]?y,? ?thang,? ?nam het han)", False),
            ("dac_diem", r"dac diem nhan dang", True),
        )
    ),
)
_LABEL_ONLY = re.compile(r"^[\W_]*(" + "|".join(label.pattern for label in SPEC.labels) + r")[\s:;.,_\-/|!¡]*$")
_ANY_LABEL = re.compile(r"(?<![a-z0-9])(" + "|".join(label.pattern for label in SPEC.labels) + r"|so$)")

# The English half of a label: it starts with a slash (read "/", "|", "J", "!", "¡", "l", "I"
# or "1") or one of these words, and ends a few words on with a colon.
_SLASH = re.compile(r"^[/|\\j!¡il1ị]$|^/")
_ENGLISH_START = ("full", "surname", "date", "sex", "nationality", "place", "personal", "of")


def _english_run(words: tuple, start: int) -> tuple[int, Word | None]:
    """(number of words, what is left of the last one after its colon) of an English label
    half starting at `start`; (0, None) where none starts there."""
    first = fold(words[start].text)
    stripped = first.lstrip("/|\\!¡.,")
    if not (
        _SLASH.match(first)
        or stripped.startswith(("no.", "no:"))
        or any(
            stripped.startswith(w) or len(w) >= 4 and levenshtein(stripped[: len(w)], w) <= 1 for w in _ENGLISH_START
        )
    ):
        return 0, None
    for k in range(start, min(len(words), start + 7)):
        text = words[k].text
        if ":" in text or text.endswith(";"):
            rest = text.split(":", 1)[1].strip(" .:;") if ":" in text else ""
            return k - start + 1, (replace(words[k], text=rest) if rest else None)
        if any(ch.isdigit() for ch in text):
            return 0, None
    return 0, None


def _drop_english(page: OcrPage) -> OcrPage:
    lines = []
    for line in page.lines:
        words = line.words
        kept: list[Word] = []
        i = 0
        while i < len(words):
            run, rest = (
                _english_run(words, i)
                if kept and _has_label(fold_aligned(" ".join(w.text for w in kept)))
                else (0, None)
            )
            if run:
                i += run
                if rest is not None:
                    kept.append(rest)
                continue
            kept.append(words[i])
            i += 1
        lines.append(Line(tuple(kept)) if kept != list(words) else line)
    return replace(page, lines=tuple(line for line in lines if line.words))


def _values_below_labels(page: OcrPage) -> OcrPage:
    """The card prints some values on the line under their label ('Họ và tên / Full name:'
    then the name): such a value is put on its label's line."""
    lines = list(page.lines)
    out: list[Line] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if (
            _LABEL_ONLY.match(fold_aligned(line.text))
            and i + 1 < len(lines)
            and not _has_label(fold_aligned(lines[i + 1].text))
        ):
            out.append(Line(line.words + lines[i + 1].words))
            i += 2
            continue
        out.append(line)
        i += 1
    return replace(page, lines=tuple(out)) if len(out) != len(lines) else page


def _has_label(folded: str) -> bool:
    return bool(_ANY_LABEL.search(folded))


_TITLES = ("can cuoc cong dan", "can cuoc", "citizen identity card", "identity card")
_BACK = re.compile(r"dac diem nhan dang|^[it1l]dvnm\d{6}")
_ENGLISH = re.compile(
    r"full name|date of birth|place of (origin|residence|birth)|nationality|date of expiry|"
    r"personal identification|date of issue|identity card"
)


def is_card_title(line: str) -> bool:
    """'CĂN CƯỚC CÔNG DÂN', 'CĂN CƯỚC', 'CITIZEN IDENTITY CARD': a line of its own."""
    folded = re.sub(r"\s+", " ", re.sub(r"[^a-z ]", " ", fold(line))).strip()
    return any(
        folded == t or (len(t) > 10 and abs(len(folded) - len(t)) <= 2 and levenshtein(folded, t) <= 2) for t in _TITLES
    )


def looks_like_card(page: OcrPage) -> bool:
    """A card page: its QR code, its title near the top, or its bilingual labels."""
    if card_payload(page) is not None:
        return True
    texts = [line.text for line in page.lines]
    if any(is_card_title(t) for t in texts[:14]):
        return True
    if any(_BACK.search(fold(t).strip()) for t in texts):  # the back: identifying marks, machine-readable zone
        return True
    return sum(1 for t in texts if _ENGLISH.search(fold(t))) >= 3


FIRST_ISSUE = date(2016, 1, 1)  # the first 12-digit căn cước công dân cards
RENEWAL_AGES = (25, 40, 60)  # a card expires at these ages (or never, issued from 58 on)


def card_checks(values: dict[str, Value], expiry: str) -> None:
    """What a card's dates must be: issued from 2016 on, to a holder 14 or older, not in the
    future; valid until the holder turns 25, 40 or 60 ("Không thời hạn" after that), which
    vouches for the birth date's day and month where the two agree."""
    born = v.parse_date(values["ngay_sinh"].value) if "ngay_sinh" in values else None
    issued = v.parse_date(values["ngay_cap"].value) if "ngay_cap" in values else None
    if issued and (issued < FIRST_ISSUE or issued > v.today() or born and (issued - born).days < 14 * 365):
        values["ngay_cap"].factor *= 0.3
    until = v.parse_date(v.normalize_date(expiry)[0]) if expiry else None
    if born and until:
        if (until.month, until.day) == (born.month, born.day) and until.year - born.year in RENEWAL_AGES:
            values["ngay_sinh"].confirmed = True
        elif (until.month, until.day) != (born.month, born.day):
            values["ngay_sinh"].factor *= 0.6


class CccdExtractor:
    doc_type = "cccd"

    def extract(self, page: OcrPage) -> list[Record]:
        payload = card_payload(page)
        printed = self._printed(page, skip=set(payload.fields) if payload else set())
        if payload is None:
            return [printed]
        return [self._merge(page, payload, printed)]

    def _printed(self, page: OcrPage, skip: set[str]) -> Record:
        page = _values_below_labels(_drop_english(form_rows(page)))
        raw = [replace(r, value=r.value.lstrip("/|\\¡!. ")) for r in find_fields(page, SPEC) if r.name not in skip]
        values = collect(raw, FIELDS, page.number)
        card_checks(values, next((r.value for r in raw if r.name == "het_han"), ""))
        return build_record(self.doc_type, page, values)

    def _merge(self, page: OcrPage, payload: Payload, printed: Record) -> Record:
        """The code's fields, exact; a field it lacks from print, with print's confidence."""
        fields = {k: v for k, (v, _) in payload.fields.items()}
        confidence = {k: 1.0 for k in fields}
        provenance = {}
        for name, (value, segment) in payload.fields.items():
            repairs = (Repair("qr_date", segment, value),) if segment != value and name.startswith("ngay_") else ()
            provenance[name] = FieldProvenance(
                method="qr", page=page.number, boxes=(payload.code.box,), raw=segment, repairs=repairs
            )
        review = []
        for name, value in printed.fields.items():
            if name in fields:
                continue
            fields[name] = value
            confidence[name] = printed.confidence[name]
            if name in printed.provenance:
                provenance[name] = printed.provenance[name]
            if name in printed.needs_review:
                review.append(name)
        order = {n: i for i, n in enumerate(FIELDS)}
        key = lambda kv: order.get(kv[0], 99)
        return Record(
            doc_type=self.doc_type,
            page=page.number,
            fields=dict(sorted(fields.items(), key=key)),
            confidence=dict(sorted(confidence.items(), key=key)),
            needs_review=tuple(sorted(review, key=lambda n: order.get(n, 99))),
            evidence={
                k: v
                for k, v in printed.evidence.items()
                if k in review or k in printed.fields and k not in payload.fields
            },
            provenance=dict(sorted(provenance.items(), key=key)),
        )
