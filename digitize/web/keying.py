"""Double keying of entries digitize cannot read reliably (handwriting, faint ink,
low OCR confidence): each entry is typed by two different people, the two keyings
are compared, identical values are accepted, and the fields they differ on go to
an arbiter (a reviewer who keyed neither). Accepted values become a new signed
version of the result through `review.review_fields`, so they are indexed,
searchable and exported like any correction; each keyed field's provenance says
"keyed_twice" or "arbitrated" (records[].provenance and the corrections log).

An entry is one record of a result (a registry-book page gives one per row, a
certificate one for the page). Keyers see the OCR reading as a prefill, except on
a control share of entries, chosen deterministically per entry, that are keyed
blind to measure both the keyers and the OCR (`DIGITIZE_KEYING_BLIND_SHARE`,
default 0.10).

Drafts are kept per user in the web database, so a closed browser loses nothing.
Entry states: keying -> (arbitration ->) accepting -> done; failed when the new
version could not be made (retry)."""

from __future__ import annotations

import hashlib
import json
import re
import statistics
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from ..errors import DigitizeError, NotFound
from ..review import Change, ReviewError, StaleVersion, allowed_fields, clean_value, review_fields
from ..text import nfc
from ..types import Record, Result
from . import audit
from .auth import Principal

CONFIDENCE_FLOOR_DEFAULT = 0.80
KEYERS = 2
DRAFT_HOLD = timedelta(hours=2)  # an open draft reserves one of the two keyings this long
MAX_FIELDS = 60


class KeyingError(Exception):
    """A keying request refused: HTTP `status`, machine-readable `code`."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


def is_blind(result_id: str, record: int, share: float) -> bool:
    """Deterministic per entry: the same entry is blind on every server and rerun."""
    digest = hashlib.sha256(f"keying:{result_id}:{int(record)}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64 < share


def needs_keying(record: Record, floor: float) -> bool:
    """Routing: handwritten fields, a confidence below the floor, or nothing read."""
    if record.handwritten:
        return True
    if not record.fields:
        return True
    return any(float(c) < floor for c in record.confidence.values())


def fields_to_key(result: Result, record: Record) -> list[str]:
    """The record's fields, the flagged ones, and for a registry-book entry every
    column of its book; in the CONTRACT's order."""
    doc_type = record.doc_type
    names = set(record.fields) | set(record.needs_review) | set(record.handwritten)
    if result.book or any(r.doc_type == doc_type for r in result.records[1:]):
        from ..extract.so_ho_tich import DEFAULT_ORDER

        names |= set(DEFAULT_ORDER.get(doc_type, ()))
    order = list(allowed_fields(doc_type))
    known = [f for f in order if f in names]
    extra = sorted(n for n in names if n not in order)
    return (known + extra)[:MAX_FIELDS]


def field_check(name: str, context: BookContext | None = None) -> dict[str, Any] | None:
    """What the keying page checks as the keyer types (it warns, it never blocks: the
    paper may hold anything). A registration date is checked against the book's year."""
    from ..extract.gazetteer import province_codes
    from ..extract.validate import ETHNIC_GROUPS

    if name.startswith("ngay_") and name != "ngay_sinh_bang_chu":
        if name == "ngay_dang_ky" and context is not None and context.year:
            return {"kind": "date", "year": context.year}
        return {"kind": "date"}
    if name.startswith("nam_sinh"):
        return {"kind": "year"}
    if name.startswith("so_dinh_danh"):
        # only the GSO codes that exist: 003 or 050 are no province
        return {"kind": "id", "provinces": sorted(province_codes())}
    if name == "gioi_tinh":
        return {"kind": "choice", "choices": ["Nam", "Nữ"]}
    if name.startswith("dan_toc"):
        return {"kind": "choice", "choices": list(ETHNIC_GROUPS)}
    return None


# ------------------------------------------------------------------ book context and completion
#
# A registry book belongs to one commune and one year: its heading says so ("UBND XÃ NGHI
# PHÚ" / "THÀNH PHỐ VINH" / "Năm 1987"), or the archivist says so when sending it. Those
# facts prefill what they decide (the year of every registration date) and narrow the
# place names offered as the keyer types to the units of the book's province and period.

REFORM_YEAR = 2025  # units changed on 01/07/2025: a book of 2025 may name either period's
COMPLETION_LIMIT = 8
PLACE_FIELDS = ("noi_sinh", "noi_chet", "noi_cu_tru", "que_quan", "noi_dang_ky", "noi_thuong_tru", "dia_chi")
NAME_FIELDS = ("ho_ten", "nguoi_khai", "nguoi_di_khai", "nguoi_ky")
_COMMUNE_WORDS = {"xa": "xã", "phuong": "phường", "thi tran": "thị trấn"}
_DISTRICT_WORDS = {"huyen": "huyện", "quan": "quận", "thi xa": "thị xã", "thanh pho": "thành phố"}
# unit words a keyer may type before a name; the name after one is completed
_TYPED_UNIT = re.compile(r"^(tinh|thanh pho|tp\.?|huyen|quan|thi xa|xa|phuong|thi tran|dac khu)(?:\s+|$)")


@dataclass(frozen=True)
class BookContext:
    """What the book itself says about every entry in it."""

    commune: str = ""
    commune_kind: str = ""  # the unit word the heading prints: "xã", "phường", "thị trấn"
    district: str = ""
    district_kind: str = ""
    province: str = ""
    year: int | None = None
    source: str = ""  # "book": said by the archivist when sending; "header": read off the page; "": nothing

    def to_dict(self) -> dict[str, Any]:
        return {
            "commune": self.commune,
            "commune_kind": self.commune_kind,
            "district": self.district,
            "district_kind": self.district_kind,
            "province": self.province,
            "year": self.year,
            "source": self.source,
        }

    def registration_place(self) -> str:
        """The registering body as certificates print it ("Ủy ban nhân dân xã Nghi Phú, thành
        phố Vinh, tỉnh Nghệ An"), "" without a commune."""
        if not self.commune:
            return ""
        parts = [f"{self.commune_kind or 'xã'} {self.commune}"]
        if self.district:
            parts.append(f"{self.district_kind or 'huyện'} {self.district}".strip())
        if self.province:
            parts.append(("thành phố " if _is_city(self.province) else "tỉnh ") + self.province)
        return "Ủy ban nhân dân " + ", ".join(parts)


def _is_city(province: str) -> bool:
    from ..extract.gazetteer import PROVINCES_2008

    return any(name == province and kind == "thành phố" for name, kind in PROVINCES_2008.values())


def _unit_word(line: str, words: dict[str, str]) -> str:
    from ..text import fold

    low = re.sub(r"^(ubnd|uy ban nhan dan)\s+", "", fold(nfc(line)).strip(" .,"))
    return next(
        (
            printed
            for folded, printed in sorted(words.items(), key=lambda w: -len(w[0]))
            if low.startswith(folded + " ")
        ),
        "",
    )


def header_context(text: str) -> BookContext:
    """The commune, district, province and year a registry page's heading prints; empty
    fields where it prints none (a certificate, a page of a book without heading)."""
    from types import SimpleNamespace

    from ..extract import so_ho_tich

    lines = [line for line in nfc(text or "").splitlines() if line.strip()][:8]
    page = SimpleNamespace(lines=[SimpleNamespace(text=line) for line in lines])  # all the heading readers use
    year = so_ho_tich.book_year(page)
    units = so_ho_tich.book_units(page)
    if units is None:
        return BookContext(year=year, source="header" if year else "")
    i = next((i for i, line in enumerate(lines[:4]) if _unit_word(line, _COMMUNE_WORDS)), 0)
    return BookContext(
        commune=units.commune,
        commune_kind=_unit_word(lines[i], _COMMUNE_WORDS),
        district=units.district,
        district_kind=_unit_word(lines[i + 1], _DISTRICT_WORDS) if i + 1 < len(lines) else "",
        province=province_of(units.commune, units.district),
        year=year,
        source="header",
    )


def province_of(commune: str, district: str) -> str:
    """The (pre-2025) province that has this district with this commune; "" if none or several."""
    from ..extract.gazetteer import _key, unit_tree

    found = {
        p.name
        for ps in unit_tree().children.values()
        for p in ps
        for d in p.children.get(_key(district), [])
        if d.level == 2 and _key(commune) in d.children
    }
    return found.pop() if len(found) == 1 else ""


def merge_context(said: dict[str, Any] | None, read: BookContext) -> BookContext:
    """The archivist's word on the book over what its heading prints, field by field."""
    if not said:
        return read
    kept = {k: v for k, v in said.items() if k in BookContext.__dataclass_fields__ and v not in (None, "")}
    return replace(read, **kept, source="book") if kept else read


def context_prefill(name: str, context: BookContext) -> str:
    """A field's value that the book decides: the year of a registration date (a bare year is
    a valid date; the keyer types the day and month before it) and the registering body."""
    if name == "ngay_dang_ky" and context.year:
        return str(context.year)
    if name == "noi_dang_ky":
        return context.registration_place()
    return ""


def completion_kind(name: str) -> str | None:
    """Which stock completes a field: places, names, the 54 ethnic groups, sex; None: no completion."""
    if name.startswith(PLACE_FIELDS):
        return "place"
    if name.startswith(NAME_FIELDS):
        return "name"
    if name.startswith("dan_toc"):
        return "ethnic"
    if name == "gioi_tinh" or name.startswith("gioi_tinh_"):
        return "sex"
    return None


def _provinces_of_period(year: int | None) -> list[Any]:
    """Province units of the book's period: the 63 with districts before the reform, the 34
    with communes directly under them after; both for 2025 or an unknown year."""
    from ..extract.gazetteer import unit_tree

    units = [u for us in unit_tree().children.values() for u in us if u.children]
    old = [u for u in units if any(c.level == 2 for cs in u.children.values() for c in cs)]
    new = [u for u in units if u not in old]
    if year is None or year == REFORM_YEAR:
        return old + new
    return old if year < REFORM_YEAR else new


@lru_cache(maxsize=32)
def place_stock(province: str, district: str, commune: str, year: int | None) -> tuple[tuple[str, str], ...]:
    """(folded name, name) of every unit of the book's period, the book's own first: its
    commune, its district's communes, its province's units, then the provinces, then the
    rest of the country (people are born in the provincial hospital, or far away)."""
    from ..extract.gazetteer import _key

    tiers: dict[str, tuple[int, str]] = {}

    def add(name: str, tier: int) -> None:
        key = _key(name)
        if key and (key not in tiers or tiers[key][0] > tier):
            tiers[key] = (tier, name)

    if commune:
        add(commune, 0)
    if district:
        add(district, 0)
    if province:
        add(province, 1)
    provinces = _provinces_of_period(year)
    for p in provinces:
        own = bool(province) and _key(p.name) == _key(province)
        add(p.name, 3)
        for units in p.children.values():
            for u in units:
                mine = own and u.level == 2 and _key(u.name) == _key(district)
                add(u.name, 1 if mine else 2 if own else 4)
                for kids in u.children.values():
                    for c in kids:
                        add(c.name, 1 if mine else 2 if own else 4)
    return tuple((key, name) for key, (_, name) in sorted(tiers.items(), key=lambda kv: (kv[1][0], kv[1][1])))


def _prefix_matches(stock: Any, query: str, typed: str, limit: int) -> list[str]:
    """Names whose folded form starts with the folded query, those that also keep the
    typed marks first ("Hò" puts Hòa before Hoa), else in the stock's order."""
    low = typed.lower()
    hits = [
        (0 if name.lower().startswith(low) else 1, i, name)
        for i, (key, name) in enumerate(stock)
        if key.startswith(query) and name != typed
    ]
    return [name for _, _, name in sorted(hits)[:limit]]


def _complete_place(q: str, context: BookContext, limit: int) -> list[str]:
    """The typed place with its last part completed: the longest tail of that part (after a
    lead such as "Trạm y tế" or a unit word such as "xã") that starts a unit's name."""
    from ..extract.gazetteer import _key

    head, comma, part = q.rpartition(",")
    lead = head + comma + (" " if comma else "")
    words = part.split()
    stock = place_stock(context.province, context.district, context.commune, context.year)
    if not words:  # nothing typed yet: the book's own places
        return [lead + name for _, name in stock[:limit]] if context.commune else []
    for start in range(max(0, len(words) - 5), len(words)):
        tail = " ".join(words[start:])
        unit = _TYPED_UNIT.match(_key(tail))
        said = " ".join(tail.split()[len(unit.group(1).split()) :]) if unit else tail
        before = " ".join(words[:start] + (tail.split()[: len(unit.group(1).split())] if unit else []))
        query = _key(said)
        if not query:
            continue
        hits = _prefix_matches(stock, query, said, limit)
        if hits:
            return [lead + (before + " " if before else "") + name for name in hits]
    return []


def _complete_name(q: str, limit: int) -> list[str]:
    """The typed name with its last word completed: a known surname first, then a known
    middle or given name."""
    from ..extract.names import GIVEN_BY_RANK, SURNAMES_BY_RANK
    from ..text import fold

    words = q.split(" ")
    last = words[-1]
    if not last:
        return []
    stock = _name_stock(SURNAMES_BY_RANK if len(words) == 1 else GIVEN_BY_RANK)
    # in the case the keyer writes the name (books write names in capitals or not); one
    # capital letter alone says nothing until the words before it do
    upper = (len(last) > 1 and last.isupper()) or (len(words) > 1 and " ".join(words[:-1]).isupper())
    hits = _prefix_matches(stock, fold(last), last.capitalize() if upper else last, limit + 1)
    out = [" ".join(words[:-1] + [w.upper() if upper else w]) for w in hits]
    return [o for o in dict.fromkeys(out) if o != q][:limit]


@lru_cache(maxsize=4)
def _name_stock(names: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    from ..text import fold

    return tuple((fold(n), n) for n in dict.fromkeys(nfc(n) for n in names))


@lru_cache(maxsize=1)
def _ethnic_stock() -> tuple[tuple[str, str], ...]:
    from ..extract.validate import ETHNIC_GROUPS
    from ..refdata import ethnic_aliases
    from ..text import fold

    # "ede" and "e de" all find their group; so do its other names and spellings ("hmo" of H'Mông,
    # "meo" of Mèo find Mông), after the official names so that those rank first
    keys = [(fold(e).replace("'", ""), e) for e in ETHNIC_GROUPS]
    keys += [(fold(alias).replace("'", ""), name) for alias, name in ethnic_aliases().items()]
    return tuple(keys + [(k.replace(" ", ""), e) for k, e in keys if " " in k])


def complete(kind: str | None, q: str, context: BookContext, limit: int = COMPLETION_LIMIT) -> list[str]:
    """Whole values to offer for what the keyer has typed in a field of `kind`, best
    first, tone-insensitive (NFC in, NFC out). Never the value as typed."""
    from ..text import fold

    q = nfc(q)[:200]
    if kind == "place":
        return _complete_place(q, context, limit)
    if kind == "name":
        return _complete_name(q, limit)
    if kind in ("ethnic", "sex") and q.strip():
        stock = _ethnic_stock() if kind == "ethnic" else (("nam", "Nam"), ("nu", "Nữ"))
        query = fold(q.strip()).replace("'", "")
        return list(dict.fromkeys(_prefix_matches(stock, query, q.strip(), limit * 2)))[:limit]
    return []


def grid_rows(jpeg: bytes, dpi: float, header_rows: int = 1) -> list[tuple[int, int, int, int]]:
    """Boxes of a ruled table's rows on a page image (display pixels), top to bottom,
    without the first `header_rows` (the column titles of a registry book): the bands
    between consecutive long horizontal rules. [] when the page has no such grid."""
    import cv2
    import numpy as np

    from ..preprocess import find_rules
    from ..review import decode_jpeg

    pixels = decode_jpeg(jpeg)
    grey = pixels if pixels.ndim == 2 else cv2.cvtColor(pixels, cv2.COLOR_BGR2GRAY)
    _, ink = cv2.threshold(grey, 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    horizontal, _ = find_rules(ink, dpi)
    per_row = (horizontal > 0).sum(axis=1)
    if not per_row.any():
        return []
    long = np.flatnonzero(per_row >= 0.5 * per_row.max())
    lines: list[list[int]] = []
    for y in long:  # consecutive pixel rows of one rule
        if lines and y - lines[-1][-1] <= 2:
            lines[-1].append(int(y))
        else:
            lines.append([int(y)])
    cols = np.flatnonzero((horizontal[long] > 0).any(axis=0))
    x0, x1 = int(cols.min()), int(cols.max()) + 1
    min_height = max(8, int(dpi * 4 / 25.4))  # a row is at least 4 mm tall
    bands = [(x0, a[-1] + 1, x1, b[0]) for a, b in zip(lines, lines[1:]) if b[0] - a[-1] >= min_height]
    return bands[header_rows:] if len(bands) > header_rows else []


def _now() -> str:
    return audit.now_iso()


def _loads(text: str | None, default: Any) -> Any:
    return json.loads(text) if text else default


def _entry_dict(row: Any) -> dict[str, Any]:
    out = dict(row)
    out["fields"] = _loads(out["fields"], [])
    out["disputed"] = _loads(out["disputed"], [])
    out["accepted"] = _loads(out["accepted"], None)
    out["blind"] = bool(out["blind"])
    return out


def compare(a: dict[str, str], b: dict[str, str], fields: list[str]) -> tuple[dict[str, str], list[str]]:
    """(values both keyings agree on, fields they differ on)."""
    agreed: dict[str, str] = {}
    disputed: list[str] = []
    for f in fields:
        va, vb = a.get(f, ""), b.get(f, "")
        if va == vb:
            agreed[f] = va
        else:
            disputed.append(f)
    return agreed, disputed


class Keying:
    def __init__(self, svc: Any, *, share: float | None = None) -> None:
        self.svc = svc
        self.db = svc.db
        self.share = svc.settings.keying_blind_share if share is None else share

    # ------------------------------------------------------------------ routing
    def send(
        self,
        who: Principal,
        result_id: str,
        *,
        floor: float | None = None,
        records: list[int] | None = None,
        everything: bool = False,
        assigned_to: str | None = None,
        rows: bool = False,
        doc_type: str | None = None,
        header_rows: int = 1,
        book_place: dict[str, Any] | None = None,
        ip: str = "",
    ) -> dict[str, Any]:
        """Make keying entries for the records of a result that need people (or the
        listed ones, or all of them); with `rows`, also one entry per row of the ruled
        grid of each page nothing was read from (a handwritten book page: `doc_type`
        says which book). Entries already sent are left as they are. `book_place`: the
        book's commune, district, province and year, where the archivist knows them
        (kept per book, over what its pages' headings print)."""
        result = self.svc.result_for(who, result_id, write=True)
        if book_place:
            self.set_book_context(result, book_place)
        row_entries = self._grid_entries(result, doc_type, header_rows) if rows else []
        floor = CONFIDENCE_FLOOR_DEFAULT if floor is None else floor
        recs = result.records
        if records is not None:
            bad = [i for i in records if not 0 <= i < len(recs)]
            if bad:
                raise KeyingError(422, "no_such_record", f"no record {bad[0]} in result {result_id}")
            chosen = sorted(set(records))
        else:
            chosen = [i for i, r in enumerate(recs) if everything or needs_keying(r, floor)]
        if assigned_to is not None:
            row = self.db.one("SELECT agency FROM users WHERE name = ? AND disabled = 0", (assigned_to,))
            if row is None or row["agency"] != result.agency:
                raise KeyingError(422, "no_such_keyer", "no such user in the result's agency")
        book = str(result.book or result.source.name or "")
        now = _now()
        created: list[int] = []
        with self.db.connect(write=True) as conn:
            for i in chosen:
                rec = recs[i]
                fields = fields_to_key(result, rec)
                if not fields:
                    continue
                cur = conn.execute(
                    "INSERT OR IGNORE INTO keying_entries(result_id, agency, book, page, record, doc_type, fields, "
                    "blind, status, assigned_to, created_by, created_at, updated_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'keying', ?, ?, ?, ?)",
                    (
                        result_id,
                        result.agency,
                        book,
                        rec.page or 1,
                        i,
                        rec.doc_type,
                        json.dumps(fields),
                        int(is_blind(result_id, i, self.share)),
                        assigned_to,
                        who.name,
                        now,
                        now,
                    ),
                )
                if cur.rowcount:
                    created.append(int(cur.lastrowid))
            for page, row, box, kind, fields in row_entries:
                cur = conn.execute(
                    "INSERT OR IGNORE INTO keying_entries(result_id, agency, book, page, record, row, row_box, "
                    "doc_type, fields, blind, status, assigned_to, created_by, created_at, updated_at) "
                    "VALUES (?, ?, ?, ?, -1, ?, ?, ?, ?, 1, 'keying', ?, ?, ?, ?)",
                    (
                        result_id,
                        result.agency,
                        book,
                        page,
                        row,
                        json.dumps(box),
                        kind,
                        json.dumps(fields),
                        assigned_to,
                        who.name,
                        now,
                        now,
                    ),
                )
                if cur.rowcount:
                    created.append(int(cur.lastrowid))
        self.svc.audit(
            who, "keying_send", result_id, ip, entries=created, records=chosen, floor=floor, rows=len(row_entries)
        )
        return {
            "result_id": result_id,
            "created": created,
            "records": chosen,
            "rows": len(row_entries),
            "skipped": len(chosen) + len(row_entries) - len(created),
        }

    def _grid_entries(
        self, result: Result, doc_type: str | None, header_rows: int
    ) -> list[tuple[int, int, list[int], str, list[str]]]:
        """(page, row, box, doc_type, fields) of each grid row of the pages without records."""
        from ..extract.so_ho_tich import DEFAULT_ORDER

        recs = result.records
        kinds = {r.doc_type for r in recs} & set(DEFAULT_ORDER)
        kind = doc_type or (kinds.pop() if len(kinds) == 1 else None)
        if kind not in DEFAULT_ORDER:
            raise KeyingError(
                422, "bad_doc_type", "say which book the rows are entries of: doc_type khai_sinh, ket_hon or khai_tu"
            )
        read = {r.page or 1 for r in recs}
        images = self.svc.page_images(result)
        out = []
        for number, (jpeg, dpi) in enumerate(images, 1):
            if number in read:
                continue
            for row, box in enumerate(grid_rows(jpeg, dpi, header_rows)):
                out.append((number, row, list(box), kind, list(DEFAULT_ORDER[kind])))
        return out

    # ------------------------------------------------------------------ book context
    @staticmethod
    def _book_key(agency: str, book: str) -> str:
        return f"keying_book:{agency}:{book}"

    def set_book_context(self, result: Result, said: dict[str, Any]) -> None:
        """Keep what the archivist says about a filed book (web database `meta`, one row a book)."""
        book = str(result.book or "")
        if not book:
            raise KeyingError(422, "no_book", "the result is filed under no book: book_place needs one")
        clean = {
            k: nfc(str(v)).strip() if k != "year" else int(v)
            for k, v in said.items()
            if k in ("commune", "district", "province", "year") and v not in (None, "")
        }
        self.db.run(
            "INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)",
            (self._book_key(result.agency, book), json.dumps(clean, ensure_ascii=False)),
        )

    def book_context(self, result: Result, page: int) -> BookContext:
        """What the book says about the entries on `page`: the archivist's word, else the heading."""
        pages = result.pages
        text = pages[page - 1].text if 0 < page <= len(pages) else ""
        said = None
        if result.book:
            said = _loads(self.db.meta(self._book_key(result.agency, result.book)), None)
        return merge_context(said, header_context(text))

    def complete(
        self,
        who: Principal,
        field: str,
        q: str,
        *,
        entry_id: int | None = None,
        province: str | None = None,
        year: int | None = None,
        limit: int = COMPLETION_LIMIT,
    ) -> dict[str, Any]:
        """Values to offer as the keyer types in `field`, in the book's province and period
        (the entry's book, or `province` and `year` as given)."""
        context = BookContext()
        if entry_id is not None:
            entry = self.entry(who, entry_id)
            context = self.book_context(self._result(entry), entry["page"])
        if province is not None or year is not None:
            from ..extract.gazetteer import province_name

            named = province_name(province) if province else None
            changes: dict[str, Any] = {}
            if province:
                changes["province"] = named or nfc(province).strip()
            if year is not None:
                changes["year"] = year
            context = replace(context, **changes)
        kind = completion_kind(field)
        return {
            "field": field,
            "kind": kind,
            "q": nfc(q),
            "suggestions": complete(kind, q, context, limit),
            "context": context.to_dict(),
        }

    # ------------------------------------------------------------------ entries
    def entry(self, who: Principal, entry_id: int) -> dict[str, Any]:
        row = self.db.one("SELECT * FROM keying_entries WHERE id = ?", (entry_id,))
        if row is None or not (who.can("all_agencies") or row["agency"] == who.agency):
            raise NotFound("no such keying entry")
        return _entry_dict(row)

    def keyings(self, entry_id: int, *, submitted_only: bool = True) -> list[dict[str, Any]]:
        sql = "SELECT * FROM keyings WHERE entry_id = ? AND kind = 'key'" + (
            " AND submitted = 1" if submitted_only else ""
        )
        out = []
        for row in self.db.all(sql + " ORDER BY submitted_at, opened_at", (entry_id,)):
            item = dict(row)
            item["values"] = _loads(item["values"], {})
            out.append(item)
        return out

    def _result(self, entry: dict[str, Any]) -> Result:
        result = self.svc.index.get(entry["result_id"])
        if result is None:
            raise NotFound("the result of this entry is gone")
        return result

    def _view(self, entry: dict[str, Any], result: Result, values: dict[str, str], prefill: bool) -> dict[str, Any]:
        recs = result.records
        read = recs[entry["record"]].fields if 0 <= entry["record"] < len(recs) else {}
        rid = entry["result_id"]
        context = self.book_context(result, entry["page"])
        fields = []
        for name in entry["fields"]:
            # The book's word (its year, its commune) is prefilled on blind entries too: the blind
            # control measures the OCR's prefill, and both halves get the book's alike.
            ocr = read.get(name, "") if prefill else ""
            book = context_prefill(name, context) if not ocr else ""
            item: dict[str, Any] = {"name": name, "value": values.get(name, ocr or book)}
            if prefill:
                item["prefill"] = read.get(name, "")
            if book:
                item["book"] = book
            item["crop"] = f"/api/results/{rid}/records/{entry['record']}/fields/{name}/crop" if name in read else None
            check = field_check(name, context)
            if check:
                item["check"] = check
            kind = completion_kind(name)
            if kind:
                item["complete"] = kind
            fields.append(item)
        return {
            "id": entry["id"],
            "result_id": rid,
            "version": result.version,
            "book": entry["book"],
            "page": entry["page"],
            "record": entry["record"],
            "row": entry.get("row", -1),
            "records": len(recs),
            "doc_type": entry["doc_type"],
            "blind": entry["blind"],
            "status": entry["status"],
            "image": f"/api/results/{rid}/pages/{entry['page']}/image",
            "row_image": f"/api/keying/entries/{entry['id']}/row",
            "fields": fields,
            "context": context.to_dict(),
        }

    def row_image(self, who: Principal, entry_id: int) -> bytes:
        """JPEG of the entry's band of the page (full width, the rows its located
        values lie on): context for cells that have no crop of their own."""
        import io

        from PIL import Image

        from ..review import locate_field, union_box

        entry = self.entry(who, entry_id)
        result = self.svc.result_for(who, entry["result_id"])
        recs = result.records
        if entry.get("row_box"):
            x0, y0, x1, y1 = json.loads(entry["row_box"])
            jpeg, _ = self.svc.page_images(result)[entry["page"] - 1]
            with Image.open(io.BytesIO(jpeg)) as image:
                pad = max(2, (y1 - y0) // 8)
                part = image.crop(
                    (max(0, x0 - pad), max(0, y0 - pad), min(image.width, x1 + pad), min(image.height, y1 + pad))
                ).convert("RGB")
                buf = io.BytesIO()
                part.save(buf, "JPEG", quality=85)
                return buf.getvalue()
        if not 0 <= entry["record"] < len(recs):
            raise NotFound("the record of this entry is gone")
        rec = recs[entry["record"]]
        page = rec.page or 1
        words = self.svc.words(result)
        page_words = words[page - 1] if 0 < page <= len(words) else []
        located = [union_box(page_words, locate_field(page_words, rec.fields, f)) for f in rec.fields]
        boxes = [b for b in located if b is not None]
        if not boxes:
            raise NotFound("the entry was not located on the page")
        y0, y1 = min(b[1] for b in boxes), max(b[3] for b in boxes)
        pad = max(4, int(statistics.median(b[3] - b[1] for b in boxes) * 0.8))
        jpeg, _ = self.svc.page_images(result)[page - 1]
        with Image.open(io.BytesIO(jpeg)) as image:
            part = image.crop((0, max(0, y0 - pad), image.width, min(image.height, y1 + pad))).convert("RGB")
            buf = io.BytesIO()
            part.save(buf, "JPEG", quality=85)
            return buf.getvalue()

    def _check_keyer(self, who: Principal, entry: dict[str, Any], conn: Any) -> dict[str, Any] | None:
        """The user's own keying row (None: not opened yet); raises when they may not key."""
        if entry["status"] != "keying":
            raise KeyingError(409, "entry_closed", "this entry is no longer being keyed")
        if entry["assigned_to"] and entry["assigned_to"] != who.name:
            raise KeyingError(403, "not_assigned", "this entry is assigned to another keyer")
        mine = conn.execute("SELECT * FROM keyings WHERE entry_id = ? AND user = ?", (entry["id"], who.name)).fetchone()
        if mine is not None and (mine["submitted"] or mine["kind"] != "key"):
            raise KeyingError(409, "already_keyed", "you have already keyed this entry")
        if mine is None:
            hold = (datetime.fromisoformat(_now()) - DRAFT_HOLD).isoformat()
            others = conn.execute(
                "SELECT COUNT(*) FROM keyings WHERE entry_id = ? AND kind = 'key' AND user != ? "
                "AND (submitted = 1 OR saved_at > ?)",
                (entry["id"], who.name, hold),
            ).fetchone()[0]
            if others >= KEYERS:
                raise KeyingError(409, "entry_full", "two other people are keying this entry")
        return dict(mine) if mine is not None else None

    def task(self, who: Principal, entry_id: int, ip: str = "") -> dict[str, Any]:
        """Open an entry for keying (keeps the time it was first opened) with the
        user's draft, else the prefill (none when blind)."""
        entry = self.entry(who, entry_id)
        result = self._result(entry)
        now = _now()
        with self.db.connect(write=True) as conn:
            mine = self._check_keyer(who, entry, conn)
            if mine is None:
                conn.execute(
                    "INSERT INTO keyings(entry_id, user, agency, kind, opened_at, saved_at) "
                    "VALUES (?, ?, ?, 'key', ?, ?)",
                    (entry_id, who.name, who.agency, now, now),
                )
                draft: dict[str, str] = {}
            else:
                draft = _loads(mine["values"], {})
        view = self._view(entry, result, draft, prefill=not entry["blind"])
        view["draft"] = bool(draft)
        if mine is None:
            self.svc.audit(who, "keying_open", entry["result_id"], ip, entry=entry_id, record=entry["record"])
        return view

    def next_task(self, who: Principal, ip: str = "") -> dict[str, Any] | None:
        """The user's open draft, else an entry that has one keying already (to finish
        entries), else the oldest not yet keyed; never one they keyed."""
        row = self.db.one(
            "SELECT k.entry_id FROM keyings k JOIN keying_entries e ON e.id = k.entry_id "
            "WHERE k.user = ? AND k.kind = 'key' AND k.submitted = 0 AND e.status = 'keying' "
            "ORDER BY k.opened_at LIMIT 1",
            (who.name,),
        )
        if row is not None:
            try:
                return self.task(who, row["entry_id"], ip)
            except KeyingError:  # assigned to someone else since: leave the draft, look further
                pass
        hold = (datetime.fromisoformat(_now()) - DRAFT_HOLD).isoformat()
        scope, params = ("", []) if who.can("all_agencies") else ("AND e.agency = ?", [who.agency])
        rows = self.db.all(
            "SELECT e.id, (SELECT COUNT(*) FROM keyings k WHERE k.entry_id = e.id AND k.kind = 'key' "
            "  AND (k.submitted = 1 OR k.saved_at > ?)) AS taken "
            "FROM keying_entries e WHERE e.status = 'keying' "
            + scope
            + " AND (e.assigned_to IS NULL OR e.assigned_to = ?) "
            "AND NOT EXISTS (SELECT 1 FROM keyings k WHERE k.entry_id = e.id AND k.user = ?) "
            "ORDER BY taken DESC, e.id LIMIT 50",
            [hold, *params, who.name, who.name],
        )
        for r in rows:
            if r["taken"] >= KEYERS:
                continue
            try:
                return self.task(who, r["id"], ip)
            except KeyingError:  # taken meanwhile
                continue
        return None

    def _clean(self, entry: dict[str, Any], values: Any) -> dict[str, str]:
        if not isinstance(values, dict):
            raise KeyingError(422, "bad_values", "values must be an object of field: text")
        out: dict[str, str] = {}
        for name, value in values.items():
            if name not in entry["fields"]:
                raise KeyingError(422, "unknown_field", f"{name!r} is not a field of this entry")
            if value is None:
                value = ""
            try:
                out[name] = clean_value(value)
            except ReviewError as exc:
                raise KeyingError(422, "bad_value", str(exc)) from None
        return out

    def save_draft(self, who: Principal, entry_id: int, values: Any, keystrokes: int | None = None) -> dict[str, Any]:
        entry = self.entry(who, entry_id)
        clean = self._clean(entry, values)
        now = _now()
        with self.db.connect(write=True) as conn:
            mine = self._check_keyer(who, entry, conn)
            if mine is None:
                conn.execute(
                    'INSERT INTO keyings(entry_id, user, agency, kind, "values", keystrokes, opened_at, '
                    "saved_at) VALUES (?, ?, ?, 'key', ?, ?, ?, ?)",
                    (entry_id, who.name, who.agency, json.dumps(clean, ensure_ascii=False), keystrokes, now, now),
                )
            else:
                conn.execute(
                    'UPDATE keyings SET "values" = ?, keystrokes = COALESCE(?, keystrokes), saved_at = ? '
                    "WHERE entry_id = ? AND user = ?",
                    (json.dumps(clean, ensure_ascii=False), keystrokes, now, entry_id, who.name),
                )
        return {"id": entry_id, "saved_at": now}

    def submit(
        self, who: Principal, entry_id: int, values: Any, keystrokes: int | None = None, ip: str = ""
    ) -> dict[str, Any]:
        entry = self.entry(who, entry_id)
        clean = self._clean(entry, values)
        full = {f: clean.get(f, "") for f in entry["fields"]}
        now = _now()
        with self.db.connect(write=True) as conn:
            row = conn.execute("SELECT * FROM keying_entries WHERE id = ?", (entry_id,)).fetchone()
            entry = _entry_dict(row)  # status as of this transaction
            mine = self._check_keyer(who, entry, conn)
            done = conn.execute(
                "SELECT COUNT(*) FROM keyings WHERE entry_id = ? AND kind = 'key' AND submitted = 1", (entry_id,)
            ).fetchone()[0]
            if done >= KEYERS:
                raise KeyingError(409, "entry_full", "this entry has been keyed twice already")
            opened = mine["opened_at"] if mine else now
            seconds = max(0.0, (datetime.fromisoformat(now) - datetime.fromisoformat(opened)).total_seconds())
            text = json.dumps(full, ensure_ascii=False)
            if mine is None:
                conn.execute(
                    'INSERT INTO keyings(entry_id, user, agency, kind, "values", submitted, keystrokes, '
                    "opened_at, saved_at, submitted_at, seconds) VALUES (?, ?, ?, 'key', ?, 1, ?, ?, ?, ?, ?)",
                    (entry_id, who.name, who.agency, text, keystrokes, now, now, now, seconds),
                )
            else:
                conn.execute(
                    'UPDATE keyings SET "values" = ?, submitted = 1, keystrokes = COALESCE(?, keystrokes), '
                    "saved_at = ?, submitted_at = ?, seconds = ? WHERE entry_id = ? AND user = ?",
                    (text, keystrokes, now, now, seconds, entry_id, who.name),
                )
            second = done + 1 == KEYERS
            disputed: list[str] = []
            if second:
                other = conn.execute(
                    "SELECT \"values\" FROM keyings WHERE entry_id = ? AND kind = 'key' "
                    "AND submitted = 1 AND user != ?",
                    (entry_id, who.name),
                ).fetchone()
                _, disputed = compare(_loads(other["values"], {}), full, entry["fields"])
                status = "arbitration" if disputed else "accepting"
                conn.execute(
                    "UPDATE keying_entries SET status = ?, disputed = ?, updated_at = ? WHERE id = ?",
                    (status, json.dumps(disputed), now, entry_id),
                )
        self.svc.audit(
            who,
            "keying_submit",
            entry["result_id"],
            ip,
            entry=entry_id,
            record=entry["record"],
            values=full,
            seconds=round(seconds, 1),
            blind=entry["blind"],
        )
        out: dict[str, Any] = {"id": entry_id, "keyings": done + 1, "status": "keying"}
        if second:
            out["status"] = "arbitration" if disputed else "accepting"
            out["disputed"] = disputed
            if not disputed:
                out.update(self._accept(who, entry_id, ip))
        return out

    # ------------------------------------------------------------------ arbitration
    def arbitration_queue(self, who: Principal, limit: int = 50) -> list[dict[str, Any]]:
        scope, params = ("", []) if who.can("all_agencies") else ("AND e.agency = ?", [who.agency])
        rows = self.db.all(
            "SELECT e.* FROM keying_entries e WHERE e.status = 'arbitration' "
            + scope
            + " AND NOT EXISTS (SELECT 1 FROM keyings k WHERE k.entry_id = e.id AND k.user = ?) "
            "ORDER BY e.updated_at, e.id LIMIT ?",
            [*params, who.name, limit],
        )
        return [
            {
                k: v
                for k, v in _entry_dict(r).items()
                if k in ("id", "result_id", "book", "page", "record", "doc_type", "disputed", "updated_at")
            }
            for r in rows
        ]

    def _check_arbiter(self, who: Principal, entry: dict[str, Any]) -> list[dict[str, Any]]:
        if entry["status"] != "arbitration":
            raise KeyingError(409, "not_in_arbitration", "this entry is not waiting for arbitration")
        keyed = self.keyings(entry["id"])
        if any(k["user"] == who.name for k in keyed):
            raise KeyingError(403, "own_keying", "you keyed this entry; another reviewer must arbitrate it")
        return keyed

    def arbitration_task(self, who: Principal, entry_id: int) -> dict[str, Any]:
        entry = self.entry(who, entry_id)
        keyed = self._check_arbiter(who, entry)
        result = self._result(entry)
        view = self._view(entry, result, {}, prefill=True)
        for item in view["fields"]:
            item["keyed"] = [k["values"].get(item["name"], "") for k in keyed]  # in order, keyers unnamed
            item["disputed"] = item["name"] in entry["disputed"]
            item["value"] = item["keyed"][0] if not item["disputed"] else ""
        view["disputed"] = entry["disputed"]
        return view

    def arbitrate(self, who: Principal, entry_id: int, values: Any, ip: str = "") -> dict[str, Any]:
        entry = self.entry(who, entry_id)
        keyed = self._check_arbiter(who, entry)
        clean = self._clean(entry, values)
        missing = [f for f in entry["disputed"] if f not in clean]
        if missing:
            raise KeyingError(422, "missing_values", "give a value (or an empty one) for " + ", ".join(missing))
        now = _now()
        with self.db.connect(write=True) as conn:
            taken = conn.execute(
                "UPDATE keying_entries SET status = 'accepting', updated_at = ? "
                "WHERE id = ? AND status = 'arbitration'",
                (now, entry_id),
            ).rowcount
            if not taken:
                raise KeyingError(409, "not_in_arbitration", "this entry was arbitrated meanwhile")
            chosen = {f: clean[f] for f in entry["disputed"]}
            conn.execute(
                'INSERT INTO keyings(entry_id, user, agency, kind, "values", submitted, opened_at, '
                "saved_at, submitted_at) VALUES (?, ?, ?, 'arbitrate', ?, 1, ?, ?, ?)",
                (entry_id, who.name, who.agency, json.dumps(chosen, ensure_ascii=False), now, now, now),
            )
        self.svc.audit(
            who,
            "keying_arbitrate",
            entry["result_id"],
            ip,
            entry=entry_id,
            record=entry["record"],
            values=chosen,
            keyed=[{f: k["values"].get(f, "") for f in entry["disputed"]} for k in keyed],
        )
        out = {"id": entry_id}
        out.update(self._accept(who, entry_id, ip))
        return out

    # ------------------------------------------------------------------ acceptance
    def final_values(self, entry: dict[str, Any]) -> tuple[dict[str, str], dict[str, str], list[str]]:
        """(values, method per field, the people whose work it is)."""
        keyed = self.keyings(entry["id"])
        if len(keyed) < KEYERS:
            raise KeyingError(409, "not_keyed", "this entry has not been keyed twice")
        agreed, disputed = compare(keyed[0]["values"], keyed[1]["values"], entry["fields"])
        values = dict(agreed)
        methods = {f: "keyed_twice" for f in agreed}
        people = [k["user"] for k in keyed]
        if disputed:
            arb = self.db.one(
                "SELECT user, \"values\" FROM keyings WHERE entry_id = ? AND kind = 'arbitrate' AND submitted = 1",
                (entry["id"],),
            )
            if arb is None:
                raise KeyingError(409, "not_arbitrated", "this entry has not been arbitrated")
            chosen = _loads(arb["values"], {})
            for f in disputed:
                values[f] = chosen.get(f, "")
                methods[f] = "arbitrated"
            people.append(arb["user"])
        return values, methods, people

    def _accept(self, who: Principal, entry_id: int, ip: str = "") -> dict[str, Any]:
        """Make the new signed version with the entry's accepted values."""
        entry = _entry_dict(self.db.one("SELECT * FROM keying_entries WHERE id = ?", (entry_id,)))
        values, methods, people = self.final_values(entry)
        result = self._result(entry)
        recs = result.records
        new_record = None
        if entry["record"] < 0:  # a grid row: a new record of its page
            new_record = {"doc_type": entry["doc_type"], "page": entry["page"]}
            read: dict[str, Any] = {}
        elif not 0 <= entry["record"] < len(recs):
            return self._fail(entry_id, "the record of this entry is gone")
        else:
            read = recs[entry["record"]].fields
        changes = [
            Change(entry["record"], f, values[f], methods[f]) for f in entry["fields"] if values.get(f) or f in read
        ]
        by = "+".join(people)
        version = result.version
        if changes:
            engines = self.svc.review_engines(result.agency)
            try:
                try:
                    new = review_fields(engines, entry["result_id"], changes, by, new_record=new_record)
                except StaleVersion:
                    new = review_fields(engines, entry["result_id"], changes, by, new_record=new_record)
            except DigitizeError as exc:  # review, storage, signing, index
                return self._fail(entry_id, str(exc))
            self.svc.queue_update(new)
            version = new.version or version
            log_rows = [c for c in new.corrections if c.version == version]
            audit.record_many(
                self.svc.db,
                [
                    dict(
                        user=who.name,
                        role=who.role,
                        agency=who.agency,
                        action="keying_accept",
                        result_id=entry["result_id"],
                        ip=ip,
                        detail={
                            "entry": entry_id,
                            "record": c.record,
                            "field": c.field,
                            "old": c.old,
                            "new": c.new,
                            "change": c.action,
                            "version": version,
                            "by": by,
                        },
                    )
                    for c in log_rows
                ],
            )
        self.db.run(
            "UPDATE keying_entries SET status = 'done', accepted = ?, version = ?, error = NULL, "
            "updated_at = ? WHERE id = ?",
            (json.dumps(values, ensure_ascii=False), version, _now(), entry_id),
        )
        return {"status": "done", "version": version, "values": values, "methods": methods}

    def _fail(self, entry_id: int, message: str) -> dict[str, Any]:
        self.db.run(
            "UPDATE keying_entries SET status = 'failed', error = ?, updated_at = ? WHERE id = ?",
            (message[:500], _now(), entry_id),
        )
        return {"status": "failed", "error": message}

    def retry(self, who: Principal, entry_id: int, ip: str = "") -> dict[str, Any]:
        entry = self.entry(who, entry_id)
        if entry["status"] not in ("failed", "accepting"):
            raise KeyingError(409, "not_failed", "only an entry whose acceptance failed can be retried")
        self.svc.result_for(who, entry["result_id"], write=True)
        out = {"id": entry_id}
        out.update(self._accept(who, entry_id, ip))
        return out

    def assign(self, who: Principal, entry_ids: list[int], user: str | None, ip: str = "") -> int:
        if user is not None:
            row = self.db.one("SELECT agency FROM users WHERE name = ? AND disabled = 0", (user,))
            if row is None or not (who.can("all_agencies") or row["agency"] == who.agency):
                raise KeyingError(422, "no_such_keyer", "no such user in your agency")
        n = 0
        for eid in entry_ids:
            entry = self.entry(who, eid)
            if entry["status"] == "keying":
                n += self.db.run(
                    "UPDATE keying_entries SET assigned_to = ?, updated_at = ? WHERE id = ?", (user, _now(), eid)
                )
        self.svc.audit(who, "keying_assign", None, ip, entries=entry_ids, user=user)
        return n

    # ------------------------------------------------------------------ progress
    def progress(self, who: Principal) -> dict[str, Any]:
        scope, params = ("", []) if who.can("all_agencies") else ("WHERE e.agency = ?", [who.agency])
        entries = self.db.all(
            "SELECT e.id, e.agency, e.book, e.status, e.blind, e.fields, e.disputed, e.accepted, "
            "(SELECT COUNT(*) FROM keyings k WHERE k.entry_id = e.id AND k.kind = 'key' AND k.submitted = 1) "
            "AS keyed FROM keying_entries e " + scope + " ORDER BY e.id",
            params,
        )
        books: dict[tuple[str, str], dict[str, Any]] = {}
        control = {True: [0, 0], False: [0, 0]}  # blind?: [fields compared, fields disputed]
        for e in entries:
            b = books.setdefault(
                (e["agency"], e["book"]),
                {
                    "agency": e["agency"],
                    "book": e["book"],
                    "entries": 0,
                    "not_started": 0,
                    "keyed_once": 0,
                    "keyed_twice": 0,
                    "in_arbitration": 0,
                    "done": 0,
                    "failed": 0,
                },
            )
            b["entries"] += 1
            b["not_started" if e["keyed"] == 0 else "keyed_once" if e["keyed"] == 1 else "keyed_twice"] += 1
            if e["status"] == "arbitration":
                b["in_arbitration"] += 1
            elif e["status"] in ("done", "failed"):
                b[e["status"]] += 1
            if e["keyed"] >= KEYERS:
                control[bool(e["blind"])][0] += len(_loads(e["fields"], []))
                control[bool(e["blind"])][1] += len(_loads(e["disputed"], []))
        accepted = {e["id"]: _loads(e["accepted"], None) for e in entries}
        ids = [e["id"] for e in entries]
        keyers: dict[str, dict[str, Any]] = {}
        if ids:
            marks = ",".join("?" * len(ids))
            rows = self.db.all(
                f'SELECT entry_id, user, "values", seconds, keystrokes FROM keyings '
                f"WHERE kind = 'key' AND submitted = 1 AND entry_id IN ({marks})",
                ids,
            )
            for r in rows:
                k = keyers.setdefault(
                    r["user"],
                    {"user": r["user"], "entries": 0, "seconds": [], "fields": 0, "agreed": 0, "keystrokes": 0},
                )
                k["entries"] += 1
                if r["seconds"] is not None:
                    k["seconds"].append(float(r["seconds"]))
                k["keystrokes"] += int(r["keystrokes"] or 0)
                final = accepted.get(r["entry_id"])
                if final is not None:
                    mine = _loads(r["values"], {})
                    k["fields"] += len(final)
                    k["agreed"] += sum(1 for f, v in final.items() if mine.get(f, "") == v)
        people = []
        for k in sorted(keyers.values(), key=lambda k: k["user"]):
            secs = k.pop("seconds")
            k["seconds_per_entry"] = round(statistics.median(secs), 1) if secs else None
            k["agreement"] = round(k["agreed"] / k["fields"], 4) if k["fields"] else None
            people.append(k)

        def rate(pair: list[int]) -> float | None:
            return round(pair[1] / pair[0], 4) if pair[0] else None

        return {
            "books": list(books.values()),
            "keyers": people,
            "arbitration_share": {"prefilled": rate(control[False]), "blind": rate(control[True])},
            "blind_share": self.share,
        }
