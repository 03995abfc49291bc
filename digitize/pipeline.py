"""The main job as an ordered list of small stage functions.

    ingest -> cleanup -> ocr -> extract -> render -> sign -> store -> index

Each stage is a plain function over the frozen types in `digitize.types`; this
module only orders them. `Engines` holds the external components (OCR engine,
signer, storage, index), each behind its interface, built once per process."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable

import numpy as np

from . import ingest
from .config import Settings
from .errors import DigitizeError, InputError, NotFound
from .extract import extract_pages
from .ocr.base import OcrEngine
from .ocr.stamps import set_aside_signature_boxes
from .ocr.vietnamese import correct_page
from .preprocess import CleanupOptions, clean_page, with_rotation
from .render import render_pdf
from .signing.inspect import read_signatures
from .types import CleanPage, OcrPage, PageImage, Record, Result, SignatureInfo, SourceFile, words_to_dict

log = logging.getLogger(__name__)

VN_TZ = timezone(timedelta(hours=7), "ICT")  # Vietnam has no daylight saving time
EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/tiff": "tif", "application/pdf": "pdf",
              "image/webp": "webp", "image/gif": "gif", "image/bmp": "bmp"}

_EMPTY = np.zeros((1, 1), np.uint8)

ProgressFn = Callable[[str, int, int], None]  # (stage, page number, page count)


@dataclass
class Engines:
    settings: Settings
    ocr: OcrEngine
    signer: Any
    storage: Any
    index: Any
    cleanup: CleanupOptions = field(default_factory=CleanupOptions)

    @classmethod
    def from_settings(cls, settings: Settings, cleanup: CleanupOptions | None = None) -> "Engines":
        from .index import make_index
        from .ocr import make_ocr_engine
        from .signing import make_signer
        from .storage import make_storage

        return cls(settings=settings, ocr=make_ocr_engine(settings), signer=make_signer(settings),
                   storage=make_storage(settings), index=make_index(settings), cleanup=cleanup or CleanupOptions())

    def close(self) -> None:
        self.index.close()


def result_id_for(source: SourceFile) -> str:
    """Same bytes, same id: the first 128 bits of the input's SHA-256."""
    return source.sha256[:32]


def base_key(agency: str, result_id: str, when: datetime) -> str:
    return f"{agency}/{when:%Y/%m/%d}/{result_id}"


# ------------------------------------------------------------------ stages

def recognise_page(page: PageImage, engines: Engines) -> tuple[CleanPage, OcrPage]:
    """Cleanup and OCR one page; an upside-down or sideways page that the geometric
    check could not tell apart is turned by Tesseract's orientation detection."""
    clean = clean_page(page, engines.cleanup)
    ocr = engines.ocr.recognize(clean)
    for bar, alternate in clean.alternates:
        if ocr.confidence < bar:
            second = engines.ocr.recognize(alternate)
            if second.confidence > ocr.confidence:
                clean, ocr = alternate, second
    if engines.cleanup.orientation and _looks_wrong(ocr):
        guess = getattr(engines.ocr, "orientation", lambda image: None)(clean.ocr_input)
        if guess and guess[0] and guess[1] >= 1.0:
            turned = with_rotation(clean, (-guess[0]) % 360)
            second = engines.ocr.recognize(turned)
            if _score(second) > _score(ocr):
                clean, ocr = turned, second
    if engines.settings.postcorrect:
        corrected = correct_page(ocr)
        if corrected.text != ocr.text:  # the raw reading is kept beside the corrected one
            corrected = replace(corrected, raw_text=ocr.text)
        ocr = corrected
    if clean.pen_marks:
        ocr = replace(ocr, pen_marks=clean.pen_marks)
    return clean, set_aside_signature_boxes(ocr)


def _score(page: OcrPage) -> float:
    return page.confidence * sum(len(w.text) for line in page.lines for w in line.words)


def _looks_wrong(page: OcrPage) -> bool:
    return page.confidence < 0.80 or sum(len(line.words) for line in page.lines) < 3


def read_input_signatures(source: SourceFile, data: bytes) -> SourceFile:
    """The signatures an input PDF already carries: facts about the document, and evidence
    for its fields (a document is not issued after it was signed)."""
    if source.media_type != "application/pdf":
        return source
    return replace(source, signatures=read_signatures(data))


def extract_records(pages: list[OcrPage], doc_type: str, source: SourceFile | None = None) -> list[Record]:
    # Whole document at once: a registry page without a header row takes its
    # columns from the page before.
    return extract_pages(pages, doc_type, signatures=source.signatures if source else ())


def sign_pdf(pdf: bytes, engines: Engines) -> tuple[bytes, SignatureInfo]:
    return engines.signer.sign(pdf, reason="Số hóa bởi digitize (digitized copy of the original)",
                               location=engines.settings.agency)


def store_artefacts(result: Result, original: bytes, signed_pdf: bytes, words: list[list[dict]],
                    engines: Engines, key_prefix: str) -> Result:
    """Write original, signed PDF and JSON; returns the result with its keys.

    Files go in first, under keys derived from content and version, so a crash
    leaves at worst unreferenced objects that the next run overwrites with the
    same bytes; the index (the commit point) is written after."""
    storage = engines.storage
    ext = EXTENSIONS.get(result.source.media_type, "bin")
    version_prefix = f"{key_prefix}/v{result.version}"
    keys = {"original": f"{key_prefix}/original.{ext}", "pdf": f"{version_prefix}/document.pdf",
            "json": f"{version_prefix}/result.json", "words": f"{version_prefix}/words.json"}
    if not storage.exists(keys["original"]):
        storage.put(keys["original"], original, content_type=result.source.media_type, retain=True)
    storage.put(keys["pdf"], signed_pdf, content_type="application/pdf", retain=True)
    storage.put(keys["words"], json.dumps(words, ensure_ascii=False).encode(), content_type="application/json")
    result = replace(result, keys=keys)
    storage.put(keys["json"], to_json_bytes(result), content_type="application/json")
    return result


def to_json_bytes(result: Result | dict) -> bytes:
    data = result.to_dict() if isinstance(result, Result) else result
    return json.dumps(data, ensure_ascii=False, indent=2).encode("utf-8")


# ------------------------------------------------------------------ orchestration

def process_bytes(name: str, data: bytes, engines: Engines, *, doc_type: str = "auto", book: str | None = None,
                  progress: ProgressFn | None = None) -> dict[str, Any]:
    """Process one input file; returns the CONTRACT result dict.

    Idempotent: the same bytes give the same id, and a second run returns the
    stored result without doing the work again."""
    settings = engines.settings
    try:
        source = ingest.describe(name, data, settings)
    except InputError:
        raise
    result_id = result_id_for(source)
    existing = engines.index.get(result_id)
    if existing is not None and _artefacts_present(existing, engines):
        return existing
    source = read_input_signatures(source, data)

    try:
        images = ingest.load_pages(source, data, settings)
    except InputError as exc:
        keep_rejected(source, data, str(exc), engines)
        raise
    timings: dict[str, float] = {}
    cleaned: list[CleanPage] = []
    recognised: list[OcrPage] = []
    for image in images:
        if progress:
            progress("ocr", image.number, len(images))
        started = time.perf_counter()
        clean, ocr = recognise_page(image, engines)
        timings["ocr"] = timings.get("ocr", 0.0) + time.perf_counter() - started
        # Only the display image is needed from here on (for the PDF); drop the
        # OCR raster so a long document holds one image per page, not two.
        cleaned.append(replace(clean, ocr_input=_EMPTY))
        recognised.append(ocr)
        del image
    images.clear()

    records = extract_records(recognised, doc_type, source)
    now = datetime.now(VN_TZ).replace(microsecond=0)
    result = Result(id=result_id, source=source, pages=tuple(recognised), records=tuple(records),
                    created_at=now.isoformat(), agency=settings.agency)
    if progress:
        progress("sign", len(recognised), len(recognised))
    pdf = render_pdf(list(zip(cleaned, recognised)), title=_title(source, records), source_sha256=source.sha256,
                     created=now, extra_meta={"DigitizeResultId": result_id})
    signed, signature = sign_pdf(pdf, engines)
    result = replace(result, pdf=signature)
    key_prefix = base_key(settings.agency, result_id, now)
    result = _next_free_version(result, key_prefix, engines)
    result = store_artefacts(result, data, signed, [words_to_dict(p) for p in recognised], engines, key_prefix)
    out = result.to_dict()
    if book:
        out["book"] = book
    engines.index.upsert(out)
    return out


def _next_free_version(result: Result, key_prefix: str, engines: Engines) -> Result:
    """A run stopped after storing its signed PDF but before indexing (a killed
    worker) leaves a retained PDF that no later run may replace: this run is then
    stored as the next version, and the stopped run's objects stay unreferenced."""
    version = result.version
    while engines.storage.exists(f"{key_prefix}/v{version}/document.pdf"):
        version += 1
    return result if version == result.version else replace(result, version=version)


def _artefacts_present(result: dict, engines: Engines) -> bool:
    keys = result.get("keys") or {}
    return bool(keys) and all(engines.storage.exists(k) for k in (keys.get("pdf"), keys.get("json")) if k)


def _title(source: SourceFile, records: list[Record]) -> str:
    if records and records[0].doc_type != "van_ban":
        name = records[0].fields.get("ho_ten") or records[0].fields.get("ho_ten_chong") or ""
        return f"{records[0].doc_type} {name}".strip()
    return Path(source.name).stem


def keep_rejected(source: SourceFile, data: bytes, reason: str, engines: Engines) -> None:
    """A refused input is still kept, with the reason, so that nothing accepted at the
    counter disappears (paperless-ngx #5215)."""
    key = f"{engines.settings.agency}/rejected/{source.sha256}"
    try:
        engines.storage.put(f"{key}/input.bin", data)
        engines.storage.put(f"{key}/reason.json", json.dumps(
            {"name": source.name, "sha256": source.sha256, "reason": reason}, ensure_ascii=False).encode())
    except DigitizeError as exc:
        log.warning("could not keep rejected input %s: %s", source.name, exc)


def load_result(result_id: str, engines: Engines) -> dict[str, Any]:
    found = engines.index.get(result_id)
    if found is None:
        raise NotFound(f"no result with id {result_id}")
    return found
