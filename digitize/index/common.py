"""What both index backends share: turning a `Result` into rows,
normalising lookup keys, tokenising user queries safely, and snippets.

The unit of search is a *row*: one per record, plus one per page that does not
belong to exactly one record (a registry page with many entries, a page with no
record). A record row holds the record's field values, and the page text when
the record is the only one on its page; a page row holds the page text.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from ..errors import IndexError_
from ..text import clean_spaces, fold, nfc
from ..types import Result

# (role, name field, id field, birth field) of each person a record names.
PEOPLE_FIELDS: tuple[tuple[str, str, str | None, str], ...] = (
    ("", "ho_ten", "so_dinh_danh", "ngay_sinh"),
    ("chong", "ho_ten_chong", "so_dinh_danh_chong", "ngay_sinh_chong"),
    ("vo", "ho_ten_vo", "so_dinh_danh_vo", "ngay_sinh_vo"),
    ("me", "ho_ten_me", None, "nam_sinh_me"),
    ("cha", "ho_ten_cha", None, "nam_sinh_cha"),
)

_DATE = re.compile(r"(\d{1,2})\s*[/.\-]\s*(\d{1,2})\s*[/.\-]\s*(\d{4})")
_WORD = re.compile(r"\w+")
_LEADING_NUMBER = re.compile(r"\s*0*(\d{1,18})")
SNIPPET_CHARS = 160


def no_nul(value: Any) -> Any:
    """PostgreSQL text cannot hold NUL; nothing in a civil-status record needs it."""
    return value.replace("\x00", "") if isinstance(value, str) else value


def norm_id(value: str | None) -> str | None:
    """Personal id as a lookup key: spaces, dots and dashes dropped."""
    if not value:
        return None
    key = re.sub(r"[\s.\-]", "", nfc(str(value))).upper()
    return key or None


def norm_date(value: str | None) -> str | None:
    """'5/3/1998' -> '05/03/1998'; a year or anything else: spaces cleaned."""
    if not value:
        return None
    text = clean_spaces(nfc(str(value)))
    m = _DATE.fullmatch(text)
    if m:
        return f"{int(m.group(1)):02d}/{int(m.group(2)):02d}/{m.group(3)}"
    return text or None


def name_key(value: str | None) -> str | None:
    """Exact (accent-sensitive, case-insensitive) name key."""
    if not value:
        return None
    return clean_spaces(nfc(str(value))).lower() or None


def name_folded(value: str | None) -> str | None:
    """Tone-insensitive name key: 'NGUYỄN  Văn An' -> 'nguyen van an'."""
    if not value:
        return None
    return clean_spaces(fold(nfc(str(value)))) or None


def so_key(value: str | None) -> str | None:
    """Registration number as a lookup key: '007' -> '7'; '12/2020' stays."""
    if value is None:
        return None
    text = clean_spaces(nfc(str(value))).lower()
    if text.isdigit():
        return str(int(text))
    return text or None


def so_num(value: str | None) -> int | None:
    """Leading number of a registration number, for number-aware ordering."""
    if value is None:
        return None
    m = _LEADING_NUMBER.match(str(value))
    return int(m.group(1)) if m else None


@dataclass
class Person:
    role: str
    so_dinh_danh: str | None
    ho_ten_key: str | None
    ho_ten_folded: str | None
    ngay_sinh: str | None


@dataclass
class Row:
    kind: str  # "record" or "page"
    idx: int | None  # record index in result["records"], None for page rows
    browse: bool  # listed when searching without text
    doc_type: str | None
    page: int | None
    fields: dict[str, str]
    so_dinh_danh: str | None = None
    ho_ten: str | None = None
    ho_ten_folded: str | None = None
    ngay_sinh: str | None = None
    so: str | None = None
    so_key: str | None = None
    so_num: int | None = None
    name: str = ""
    original: str = ""  # NFC text searched with accents
    people: list[Person] = field(default_factory=list)

    @property
    def folded(self) -> str:
        return fold(self.original)

    @property
    def exact(self) -> str:
        return self.original.lower()


@dataclass
class Prepared:
    id: str
    json: str
    agency: str
    book: str | None
    created_at: str
    doc_types: str
    text: str
    rows: list[Row]


def _str_fields(raw: Any) -> dict[str, str]:
    if not isinstance(raw, dict):
        return {}
    return {no_nul(str(k)): no_nul(nfc(str(v))) for k, v in raw.items() if v is not None and str(v) != ""}


def stored_result(text: str) -> Result:
    """A result as stored in the index (its JSON) read back."""
    try:
        return Result.from_dict(json.loads(text))
    except (ValueError, TypeError, AttributeError, KeyError) as exc:
        raise IndexError_(f"stored result unreadable: {exc}") from None


def display_name(fields: dict[str, str]) -> str:
    if fields.get("ho_ten"):
        return fields["ho_ten"]
    couple = [fields[k] for k in ("ho_ten_chong", "ho_ten_vo") if fields.get(k)]
    return " – ".join(couple)


def prepare(result: Result) -> Prepared:
    """Turn a result into the rows to index."""
    if not isinstance(result, Result) or not result.id:
        raise ValueError("result must be a Result with an id")
    book = result.book
    book = no_nul(clean_spaces(nfc(str(book)))) if book not in (None, "") else None
    pages: dict[int, str] = {p.number: no_nul(nfc(p.text)) for p in result.pages}
    records = result.records
    per_page: dict[int | None, list[int]] = {}
    record_pages: list[int | None] = []
    for i, rec in enumerate(records):
        page: int | None = rec.page
        record_pages.append(page)
        per_page.setdefault(page, []).append(i)

    rows: list[Row] = []
    for i, rec in enumerate(records):
        fields = _str_fields(rec.fields)
        page = record_pages[i]
        text = "\n".join(fields.values())
        if page in pages and len(per_page[page]) == 1 and pages[page]:
            text = f"{text}\n{pages[page]}" if text else pages[page]
        people = []
        for role, name_f, id_f, birth_f in PEOPLE_FIELDS:
            sdd = norm_id(fields.get(id_f)) if id_f else None
            name = fields.get(name_f)
            if sdd or name:
                people.append(Person(role, sdd, name_key(name), name_folded(name), norm_date(fields.get(birth_f))))
        subject = people[0] if people and people[0].role in ("", "chong") else None
        so = fields.get("so")
        rows.append(
            Row(
                kind="record",
                idx=i,
                browse=True,
                doc_type=no_nul(rec.doc_type) or None,
                page=page,
                fields=fields,
                so_dinh_danh=subject.so_dinh_danh if subject else None,
                ho_ten=(fields.get("ho_ten") or fields.get("ho_ten_chong")) if subject else None,
                ho_ten_folded=subject.ho_ten_folded if subject else None,
                ngay_sinh=subject.ngay_sinh if subject else None,
                so=so,
                so_key=so_key(so),
                so_num=so_num(so),
                name=display_name(fields),
                original=text,
                people=people,
            )
        )

    first_page = min(pages) if pages else None
    for number, text in sorted(pages.items()):
        on_page = per_page.get(number, [])
        if len(on_page) == 1:
            continue
        types = {rows[i].doc_type for i in on_page}
        rows.append(
            Row(
                kind="page",
                idx=None,
                browse=not records and number == first_page,
                doc_type=types.pop() if len(types) == 1 else None,
                page=number,
                fields={},
                original=text,
            )
        )
    if not rows:
        rows.append(Row(kind="page", idx=None, browse=True, doc_type=None, page=None, fields={}))

    doc_types = sorted({r.doc_type for r in rows if r.kind == "record" and r.doc_type})
    return Prepared(
        id=no_nul(result.id),
        json=json.dumps(result.to_dict(), ensure_ascii=False, separators=(",", ":")),
        agency=no_nul(result.agency),
        book=book,
        created_at=no_nul(result.created_at),
        doc_types=",".join(doc_types),
        text="\n\n".join(pages[n] for n in sorted(pages)),
        rows=rows,
    )


# -- queries ------------------------------------------------------------------------


def query_terms(text: str | None, fold_accents: bool) -> list[str]:
    """Words of a user query, normalised like the indexed column. Only \\w runs
    survive, so no FTS or tsquery syntax from the user ever reaches the engine."""
    if not text:
        return []
    words = _WORD.findall(nfc(text))
    if fold_accents:
        words = [w for word in words for w in _WORD.findall(fold(word))]
    else:
        words = [w.lower() for w in words]
    return [w for w in words if any(c.isalnum() for c in w)]


def _mapped(original: str, fold_accents: bool) -> tuple[str, list[int]]:
    """Folded/lowered text with, for each of its characters, the index in `original`."""
    out: list[str] = []
    where: list[int] = []
    for i, ch in enumerate(original):
        mapped = fold(ch) if fold_accents else ch.lower()
        out.append(mapped)
        where.extend([i] * len(mapped))
    return "".join(out), where


def snippet(original: str, terms: list[str], fold_accents: bool, width: int = SNIPPET_CHARS) -> str:
    """A window of the original text around the first query word found."""
    text = original
    if not text:
        return ""
    start = 0
    if terms:
        folded, where = _mapped(text, fold_accents)
        pattern = re.compile(r"(?<!\w)(" + "|".join(re.escape(t) for t in terms) + r")(?!\w)")
        m = pattern.search(folded)
        if m and where:
            start = max(0, where[m.start()] - width // 3)
    end = min(len(text), start + width)
    if start > 0:
        space = text.find(" ", start, start + 20)
        start = space + 1 if space != -1 else start
    piece = clean_spaces(text[start:end])
    return ("…" if start > 0 else "") + piece + ("…" if end < len(text) else "")


def make_hit(
    *,
    result_id: str,
    idx: int | None,
    page: int | None,
    doc_type: str | None,
    fields: dict | str | None,
    name: str | None,
    created_at: str | None,
    book: str | None,
    so: str | None,
    agency: str | None,
    score: float | None,
    snippet_text: str,
) -> dict[str, Any]:
    if isinstance(fields, str):
        fields = json.loads(fields)
    return {
        "result_id": result_id,
        "record": idx,
        "page": page,
        "doc_type": doc_type,
        "fields": fields or {},
        "name": name or "",
        "created_at": created_at or "",
        "book": book,
        "so": so,
        "agency": agency or "",
        "score": None if score is None else round(float(score), 4),
        "snippet": snippet_text,
    }


def record_dict(
    *,
    result_id: str,
    idx: int,
    page: int | None,
    doc_type: str | None,
    fields: dict | str,
    name: str | None,
    created_at: str | None,
    book: str | None,
    so: str | None,
) -> dict[str, Any]:
    """One entry of `records_for_book`."""
    if isinstance(fields, str):
        fields = json.loads(fields)
    return {
        "result_id": result_id,
        "record": idx,
        "page": page,
        "doc_type": doc_type,
        "fields": fields,
        "name": name or "",
        "created_at": created_at or "",
        "book": book,
        "so": so,
    }


def record_filters(
    ph: str,
    *,
    so_dinh_danh: str | None = None,
    doc_type: str | None = None,
    book: str | None = None,
    so: str | None = None,
    ho_ten: str | None = None,
    ngay_sinh: str | None = None,
    fold_accents: bool = True,
) -> tuple[list[str], list[Any]]:
    """SQL conditions on `records r` (and the `people` table) for the lookup
    arguments of `Index.search`; `ph` is the driver's placeholder."""
    where: list[str] = []
    params: list[Any] = []
    if doc_type:
        where.append(f"r.doc_type = {ph}")
        params.append(doc_type)
    if book:
        where.append(f"r.book = {ph}")
        params.append(clean_spaces(nfc(book)))
    if so not in (None, ""):
        where.append(f"r.so_key = {ph}")
        params.append(so_key(so))
    if so_dinh_danh not in (None, ""):
        where.append(f"r.rid IN (SELECT p.rid FROM people p WHERE p.so_dinh_danh = {ph})")
        params.append(norm_id(so_dinh_danh) or "")
    person: list[str] = []
    if ho_ten not in (None, ""):
        if fold_accents:
            person.append(f"p.ho_ten_folded = {ph}")
            params.append(name_folded(ho_ten) or "")
        else:
            person.append(f"p.ho_ten_key = {ph}")
            params.append(name_key(ho_ten) or "")
    if ngay_sinh not in (None, ""):
        person.append(f"p.ngay_sinh = {ph}")
        params.append(norm_date(ngay_sinh) or "")
    if person:
        where.append(f"r.rid IN (SELECT p.rid FROM people p WHERE {' AND '.join(person)})")
    return where, [no_nul(p) for p in params]


def has_record_filter(**kwargs: Any) -> bool:
    return any(kwargs.get(k) not in (None, "") for k in ("so_dinh_danh", "so", "ho_ten", "ngay_sinh"))
