"""Field review: accept or correct extracted fields, as a new signed version.

A correction never edits a stored result. It makes version N+1 of the result:
the record gets the new value (confidence 1.0, off `needs_review`), the page's
word list gets the value's words replaced so that the text layer of a NEW
signed PDF carries the correction, and the new artefacts go under `v{N+1}/`
next to the previous ones, which stay retrievable. Every change is listed in
the result's `corrections` (who, when, old, new, version).

The page image is taken from the current version's PDF (the exact picture the
word boxes were measured on), so no OCR runs and boxes cannot drift even if the
cleanup code changed since the page was processed."""

from __future__ import annotations

import io
import json
import re
import threading
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Iterable, TYPE_CHECKING, cast

import numpy as np

from .errors import DigitizeError, NotFound, StorageError
from .storage.base import Storage
from .text import clean_spaces, fold, nfc
from .extract.base import FIELDS  # CONTRACT field names by doc_type
from .types import CleanPage, Correction, FieldProvenance, Line, OcrPage, Record, Result, Word, words_to_dict

if TYPE_CHECKING:
    from .pipeline import Engines

MAX_VALUE_CHARS = 2000
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class ReviewError(DigitizeError):
    """A review request that cannot be applied (unknown record or field, bad value)."""


class StaleVersion(ReviewError):
    """The result changed since the reviewer loaded it."""


@dataclass(frozen=True)
class Change:
    record: int
    field: str
    value: str | None  # None = accept the current value as read
    # how the value was obtained when not by a reviewer's own reading ("keyed_twice",
    # "arbitrated"): logged as the correction's action and kept in records[].provenance
    method: str | None = None


_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


def _lock_for(result_id: str) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault(result_id, threading.Lock())


def clean_value(value: str) -> str:
    if not isinstance(value, str):
        raise ReviewError("value must be a string")
    value = clean_spaces(_CONTROL.sub(" ", nfc(value)))
    if len(value) > MAX_VALUE_CHARS:
        raise ReviewError(f"value longer than {MAX_VALUE_CHARS} characters")
    return value


def allowed_fields(doc_type: str) -> tuple[str, ...]:
    return FIELDS.get(doc_type, ())


# ------------------------------------------------------------------ public API


def correct_field(
    engines: "Engines",
    result_id: str,
    record_index: int,
    field: str,
    value: str,
    user: str,
    *,
    expected_version: int | None = None,
) -> Result:
    """Correct one field; returns the new (version N+1) result."""
    return review_fields(
        engines, result_id, [Change(record_index, field, value)], user, expected_version=expected_version
    )


def accept_field(
    engines: "Engines", result_id: str, record_index: int, field: str, user: str, *, expected_version: int | None = None
) -> Result:
    """Confirm a flagged field as read; returns the new result."""
    return review_fields(
        engines, result_id, [Change(record_index, field, None)], user, expected_version=expected_version
    )


def review_fields(
    engines: "Engines",
    result_id: str,
    changes: Iterable[Change],
    user: str,
    *,
    expected_version: int | None = None,
    now: datetime | None = None,
    new_record: dict[str, Any] | None = None,
) -> Result:
    """Apply accepts and corrections as ONE new version (one re-rendered, re-signed PDF).

    `new_record` ({"doc_type", "page"}): a record added at the end (an entry keyed by
    people where nothing was read); changes with record -1 fill it.

    Raises NotFound, ReviewError (bad record/field/value), StaleVersion, or the
    storage/signing/index errors of the engines. Nothing is indexed unless all
    artefacts of the new version are stored; the previous version is untouched."""
    from .pipeline import VN_TZ

    changes = list(changes)
    if not changes:
        raise ReviewError("no changes")
    with _lock_for(result_id):
        current = engines.index.get(result_id)
        if current is None:
            raise NotFound(f"no result with id {result_id}")
        version = current.version
        if expected_version is not None and expected_version != version:
            raise StaleVersion(f"result is at version {version}, not {expected_version}; reload and retry")
        when = (now or datetime.now(VN_TZ)).replace(microsecond=0)
        records = list(current.records)
        words = load_words(current, engines.storage)
        if new_record is not None:
            page = int(new_record.get("page") or 1)
            if new_record.get("doc_type") not in FIELDS or not 1 <= page <= len(current.pages):
                raise ReviewError("a new record needs a known doc_type and a page of the result")
            records.append(Record(doc_type=new_record["doc_type"], page=page, fields={}, confidence={}))
            changes = [replace(c, record=len(records) - 1) if c.record == -1 else c for c in changes]
        log: list[Correction] = []
        for change in changes:
            if not isinstance(change.record, int) or not 0 <= change.record < len(records):
                raise ReviewError(f"no record {change.record} in result {result_id}")
            rec = records[change.record]
            allowed = allowed_fields(rec.doc_type)
            if change.field not in allowed and change.field not in rec.fields:
                raise ReviewError(f"{change.field!r} is not a field of {rec.doc_type}")
            old = rec.fields.get(change.field)
            if change.value is None:
                if old is None:
                    raise ReviewError(f"field {change.field!r} has no value to accept")
                new = old
            else:
                new = clean_value(change.value)
            page_no = rec.page or 1
            if new != (old or ""):
                page_words = words[page_no - 1] if 0 < page_no <= len(words) else None
                if page_words is not None:
                    words[page_no - 1] = substitute_words(
                        page_words, old or "", new, current.pages[page_no - 1], value_rank(rec.fields, change.field)
                    )
            fields, confidence = dict(rec.fields), dict(rec.confidence)
            if new:
                fields[change.field] = new
                confidence[change.field] = 1.0
            else:  # absent from the paper: omitted, not empty (CONTRACT)
                fields.pop(change.field, None)
                confidence.pop(change.field, None)
            rec = replace(
                rec,
                fields=fields,
                confidence=confidence,
                needs_review=tuple(f for f in rec.needs_review if f != change.field),
            )
            action = "accept" if change.value is None else "correct"
            if change.method:
                action = change.method
                rec = replace(
                    rec,
                    provenance={
                        **rec.provenance,
                        change.field: FieldProvenance(method=change.method, page=page_no, raw=old or ""),
                    },
                )
            records[change.record] = rec
            log.append(
                Correction(
                    version=version + 1,
                    record=change.record,
                    field=change.field,
                    old=old,
                    new=new if new else None,
                    action=action,
                    by=user,
                    at=when.isoformat(),
                )
            )
        return _new_version(engines, current, records, words, when, log)


def version_key(result: Result, name: str, version: int) -> str:
    """Storage key of artefact `name` (pdf, json, words) of `version` of a result."""
    files = {"pdf": "document.pdf", "json": "result.json", "words": "words.json"}
    return f"{key_prefix(result)}/v{int(version)}/{files[name]}"


def key_prefix(result: Result) -> str:
    pdf = result.keys.get("pdf") or ""
    if pdf.count("/") < 2:
        raise StorageError("result has no stored PDF key")
    return pdf.rsplit("/", 2)[0]


def load_version(storage: Storage, result: Result, version: int) -> Result:
    """A stored version of a result (the current one comes from the index)."""
    if version == result.version:
        return result
    if not 1 <= version < result.version:
        raise NotFound(f"result {result.id} has no version {version}")
    return Result.from_dict(json.loads(storage.get(version_key(result, "json", version))))


def load_words(result: Result, storage: Any) -> list[list[dict[str, Any]]]:
    key = result.keys.get("words")
    if not key:
        return [[] for _ in result.pages]
    words = json.loads(storage.get(key))
    while len(words) < len(result.pages):
        words.append([])
    return words


# ------------------------------------------------------------------ locating values on the page


def locate(words: list[dict[str, Any]], value: str, min_score: float = 70.0, rank: int = 0) -> list[int]:
    """Indexes of the run of consecutive words on one line that reads `value`
    (tone-insensitive fuzzy match); [] when nothing is close enough. When the
    value occurs several times (Kinh, Việt Nam), `rank` picks the occurrence in
    reading order (0 = first)."""
    runs = locate_all(words, value, min_score)
    if not runs:
        return []
    return runs[min(rank, len(runs) - 1)]


def locate_all(words: list[dict[str, Any]], value: str, min_score: float = 70.0) -> list[list[int]]:
    """Every non-overlapping run matching `value` nearly as well as the best one, in reading order."""
    from rapidfuzz import fuzz

    target = clean_spaces(fold(nfc(value or "")))
    exact = clean_spaces(nfc(value or ""))
    if not target or not words:
        return []
    n_tokens = len(target.split())

    def score_of(run: list[int]) -> float:
        text = " ".join(words[i]["text"] for i in run)
        # tone-insensitive, with case and tone marks as a tie-breaker ("Nam" over "VIỆT NAM")
        return 0.8 * fuzz.ratio(clean_spaces(fold(text)), target) + 0.2 * fuzz.ratio(clean_spaces(nfc(text)), exact)

    by_line: dict[int, list[int]] = {}
    for i, w in enumerate(words):
        by_line.setdefault(int(w.get("line", 0)), []).append(i)
    candidates: list[tuple[float, int, list[int]]] = []
    for indexes in by_line.values():
        for start in range(len(indexes)):
            best: tuple[float, int, list[int]] | None = None
            for size in range(max(1, n_tokens - 2), n_tokens + 3):
                run = indexes[start : start + size]
                if len(run) < size:
                    break
                score = score_of(run)
                if best is None or score > best[0]:
                    best = (score, -len(run), run)
            if best is not None and best[0] >= min_score:
                candidates.append(best)
    if not candidates:
        return []
    top = max(c[0] for c in candidates)
    chosen: list[list[int]] = []
    used: set[int] = set()
    for score, _, run in sorted(candidates, key=lambda c: (-c[0], c[1], c[2][0])):
        if score < max(min_score, top - 3) or used.intersection(run):
            continue
        chosen.append(run)
        used.update(run)
    return sorted(chosen, key=lambda run: run[0])


def value_rank(fields: dict[str, str], field: str) -> int:
    """How many fields before `field` (in record order) hold the same value."""
    target = clean_spaces(fold(nfc(fields.get(field, ""))))
    rank = 0
    for name, value in fields.items():
        if name == field:
            return rank
        if clean_spaces(fold(nfc(value))) == target:
            rank += 1
    return rank


def locate_field(words: list[dict[str, Any]], fields: dict[str, str], field: str) -> list[int]:
    return locate(words, fields.get(field, ""), rank=value_rank(fields, field))


def union_box(words: list[dict[str, Any]], indexes: list[int]) -> tuple[int, int, int, int] | None:
    if not indexes:
        return None
    boxes = [words[i]["box"] for i in indexes]
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))


def substitute_words(
    words: list[dict[str, Any]], old: str, new: str, page: OcrPage, rank: int = 0
) -> list[dict[str, Any]]:
    """The page's words with the run that reads `old` replaced by the words of `new`,
    spread over the same box. A value not found on the page is added as a new line
    at the foot of the page (the text layer still carries it)."""
    run = locate(words, old, rank=rank) if old else []
    tokens = new.split()
    if run:
        box = cast(tuple[int, int, int, int], union_box(words, run))  # (a box: run is not empty)
        line = int(words[run[0]].get("line", 0))
        placed = _spread(tokens, box, line) if tokens else []
        return words[: run[0]] + placed + words[run[-1] + 1 :]
    if not tokens:
        return list(words)
    width = page.width or max((w["box"][2] for w in words), default=1000)
    height = page.height or max((w["box"][3] for w in words), default=1400)
    line_h = max(12, height // 80)
    box = (width // 20, height - 2 * line_h, width - width // 20, height - line_h)
    line = max((int(w.get("line", 0)) for w in words), default=-1) + 1
    return list(words) + _spread(tokens, box, line)


def _spread(tokens: list[str], box: tuple[int, int, int, int], line: int) -> list[dict[str, Any]]:
    x0, y0, x1, y1 = box
    total = sum(len(t) for t in tokens) + max(0, len(tokens) - 1)
    per_char = max(1.0, (x1 - x0) / max(1, total))
    out = []
    x = float(x0)
    for token in tokens:
        w = len(token) * per_char
        out.append(
            {
                "text": token,
                "box": [int(round(x)), y0, max(int(round(x + w)), int(round(x)) + 1), y1],
                "confidence": 1.0,
                "line": line,
            }
        )
        x += w + per_char
    return out


# ------------------------------------------------------------------ page images from the signed PDF


def page_jpegs(pdf_bytes: bytes) -> list[tuple[bytes, float]]:
    """(JPEG bytes, dpi) of each page's display image in a PDF written by `render_pdf`."""
    import pikepdf

    out: list[tuple[bytes, float]] = []
    with pikepdf.open(io.BytesIO(pdf_bytes)) as pdf:
        for page in pdf.pages:
            images = list(page.get_images(recursive=False).values())
            if not images:
                raise StorageError("stored PDF page has no image")
            image = images[0]
            data = image.read_raw_bytes() if image.get("/Filter") == pikepdf.Name.DCTDecode else None
            if data is None:
                pil = pikepdf.PdfImage(cast(pikepdf.Stream, image)).as_pil_image()  # (an image XObject)
                buf = io.BytesIO()
                pil.convert("RGB").save(buf, "JPEG", quality=90)
                data = buf.getvalue()
            box = page.mediabox
            width_pt = float(box[2] - box[0]) or 1.0
            out.append((data, float(image.Width) * 72.0 / width_pt))
    return out


def decode_jpeg(data: bytes) -> np.ndarray:
    import cv2

    pixels = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if pixels is None:
        raise StorageError("cannot decode stored page image")
    return pixels


# ------------------------------------------------------------------ the new version


def _ocr_page(meta: OcrPage, words: list[dict[str, Any]], width: int, height: int, dpi: float) -> OcrPage:
    """A stored page (`meta`: its number and geometry) with its words as stored in words.json."""
    lines: dict[int, list[Word]] = {}
    for w in words:
        lines.setdefault(int(w.get("line", 0)), []).append(
            Word(
                text=nfc(str(w["text"])),
                box=tuple(int(v) for v in w["box"]),  # type: ignore[arg-type]
                confidence=float(w.get("confidence", 1.0)),
            )
        )
    ordered = tuple(Line(words=tuple(ws)) for _, ws in sorted(lines.items()) if ws)
    return OcrPage(
        number=meta.number,
        lines=ordered,
        width=meta.width or width,
        height=meta.height or height,
        dpi=dpi,
        rotation=meta.rotation,
        skew=meta.skew,
        engine=meta.engine,
    )


def _new_version(
    engines: "Engines",
    current: Result,
    records: list[Record],
    words: list[list[dict[str, Any]]],
    when: datetime,
    log: list[Correction],
) -> Result:
    """Version N+1 of `current` with `records` and the pages' `words`: re-rendered from the
    current signed PDF's page images, signed, stored and indexed. Everything else the result
    holds (book, documents, dossier, ...) carries over; `log` is added to its corrections."""
    from .pipeline import _title, sign_pdf, store_artefacts
    from .render import render_pdf

    storage = engines.storage
    keys = current.keys
    if not keys.get("original") or not storage.exists(keys["original"]):
        raise StorageError("the original scan of this result is missing from the archive")
    pictures = page_jpegs(storage.get(keys["pdf"]))
    pages: list[tuple[CleanPage, OcrPage]] = []
    for meta, (jpeg, dpi), page_words in zip(current.pages, pictures, words):
        display = decode_jpeg(jpeg)
        grey = display if display.ndim == 2 else display.mean(axis=2).astype(np.uint8)
        ocr = _ocr_page(meta, page_words, display.shape[1], display.shape[0], dpi)
        clean = CleanPage(
            number=ocr.number,
            display=display,
            ocr_input=grey,
            dpi=dpi,
            ocr_scale=1.0,
            rotation=ocr.rotation,
            skew=ocr.skew,
            stages=("from-signed-pdf",),
        )
        pages.append((clean, ocr))
    version = current.version + 1
    result = replace(
        current,
        pages=tuple(p[1] for p in pages),
        records=tuple(records),
        version=version,
        keys={},
        corrections=current.corrections + tuple(log),
        updated_at=when.isoformat(),
    )
    pdf = render_pdf(
        pages,
        title=_title(result.source, records),
        source_sha256=result.source.sha256,
        created=when,
        extra_meta={"DigitizeResultId": result.id, "DigitizeVersion": str(version)},
    )
    signed, signature = sign_pdf(pdf, engines)
    result = replace(result, pdf=signature)
    new_words = [words_to_dict(p[1]) for p in pages]
    result = store_artefacts(result, b"", signed, new_words, engines, key_prefix(current))
    engines.index.upsert(result)
    return result
