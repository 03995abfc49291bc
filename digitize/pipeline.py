"""The main job as an ordered list of small stage functions.

    ingest -> cleanup -> ocr -> extract -> render -> sign -> store -> index

Each stage is a plain function over the frozen types in `digitize.types`; this
module only orders them. `Engines` holds the external components (OCR engine,
signer, storage, index), each behind its interface; a process builds its own once,
in its `runner.PipelineRunner`."""

from __future__ import annotations

import json
import logging
import re
import time
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Iterable

import cv2
import numpy as np

from . import ingest
from .codes import read_codes
from .config import Settings
from .errors import DigitizeError, InputError, NotFound
from .dossier import split_dossier
from .extract import classify, extract_pages
from .extract.cccd import looks_like_card
from .extract.van_ban_layout import header_band
from .extract.rereading import reading_values
from .index.base import Index
from .ocr.base import OcrEngine
from .ocr.stamps import set_aside_signature_boxes
from .ocr.doubts import settle_doubts
from .ocr.handwriting import PenFigures, read_pen_figures
from .ocr.typed_figures import read_typed_figures
from .ocr.vietnamese import correct_page
from .preprocess import CleanupOptions, clean_page, figures_without_dots, leader_through_figures, with_rotation
from .render import Picture, picture_of, render_pdf
from .signing.base import Signer
from .signing.inspect import read_signatures
from .storage.base import Storage
from .types import CleanPage, Document, OcrPage, PageImage, Record, Result, SignatureInfo, SourceFile, words_to_dict
from .clock import VN_TZ

log = logging.getLogger(__name__)

EXTENSIONS = {
    "image/png": "png",
    "image/jpeg": "jpg",
    "image/tiff": "tif",
    "application/pdf": "pdf",
    "image/webp": "webp",
    "image/gif": "gif",
    "image/bmp": "bmp",
}

_EMPTY = np.zeros((1, 1), np.uint8)

ProgressFn = Callable[[str, int, int], None]  # (stage, page number, page count)

# The stages of one input, in order (`process_bytes`): what `progress` reports, and what the web
# service's job status shows while a file is worked on. "ocr" is reported once per page, each
# of the others once, as it starts.
STAGES = ("ocr", "fields", "pdf", "sign", "store", "index")


@dataclass
class Engines:
    settings: Settings
    ocr: OcrEngine
    signer: Signer
    storage: Storage
    index: Index
    cleanup: CleanupOptions = field(default_factory=CleanupOptions)

    @classmethod
    def from_settings(
        cls, settings: Settings, cleanup: CleanupOptions | None = None, *, reads_pages: bool = False
    ) -> "Engines":
        """The engines `settings` name. `reads_pages`: pages will be read, so the recognisers
        load now, on another core, while the signer's key and chain are read (a command that
        only exports or corrects loads none)."""
        from .extract.rereading import FIRST_READERS
        from .index import make_index
        from .ocr import make_ocr_engine
        from .signing import make_signer
        from .storage import make_storage

        ocr = make_ocr_engine(settings)
        if reads_pages:
            ocr.preload(FIRST_READERS)
        return cls(
            settings=settings,
            ocr=ocr,
            signer=make_signer(settings),
            storage=make_storage(settings),
            index=make_index(settings),
            cleanup=cleanup or CleanupOptions(),
        )

    def close(self) -> None:
        self.index.close()


def result_id_for(source: SourceFile) -> str:
    """Same bytes, same id: the first 128 bits of the input's SHA-256."""
    return source.sha256[:32]


def agency_result_id(source: SourceFile, agency: str) -> str:
    """The id of an agency's own result for bytes whose content id another agency
    already holds: one agency's archive must not tell another what it contains."""
    import hashlib

    return hashlib.sha256(f"{agency}\0{source.sha256}".encode()).hexdigest()[:32]


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
        guess = engines.ocr.orientation(clean.ocr_input)
        if guess and guess[0] and guess[1] >= 1.0:
            turned = with_rotation(clean, (-guess[0]) % 360)
            second = engines.ocr.recognize(turned)
            if _score(second) > _score(ocr):
                clean, ocr = turned, second
    if engines.settings.postcorrect:
        corrected = settle_doubts(correct_page(ocr), clean.ocr_input, clean.ocr_scale, engines.ocr)
        if corrected.text != ocr.text:  # the raw reading is kept beside the corrected one
            corrected = replace(corrected, raw_text=ocr.text)
        ocr = corrected
    if clean.pen_marks:
        ocr = replace(ocr, pen_marks=clean.pen_marks)
    # An ID card's QR code: exact data beside the OCR. The deep search (finder-like squares
    # the decoder missed) only on a page whose text says it is a card.
    codes = read_codes(clean.display, deep=looks_like_card(ocr))
    if codes:
        ocr = replace(ocr, codes=codes)
    return clean, set_aside_signature_boxes(ocr)


def _score(page: OcrPage) -> float:
    return page.confidence * sum(len(w.text) for line in page.lines for w in line.words)


def _looks_wrong(page: OcrPage) -> bool:
    return page.confidence < 0.80 or sum(len(line.words) for line in page.lines) < 3


def read_input_signatures(source: SourceFile, data: bytes, roots: list[Any] | None = None) -> SourceFile:
    """The signatures an input PDF already carries: facts about the document, and evidence
    for its fields (a document is not issued after it was signed); each checked against the
    configured trust store `roots` (`signing.trust_roots`; None: not checked)."""
    if source.media_type != "application/pdf":
        return source
    return replace(source, signatures=read_signatures(data, roots))


def find_documents(pages: list[OcrPage], doc_type: str) -> tuple[Document, ...]:
    """The documents of an input that holds several (a dossier scanned in one go), or ()
    for one document. A registry book's pages are one document however many headers it
    has (a page without a header row takes its columns from the page before)."""
    if doc_type != "auto" or len(pages) < 2:
        return ()
    spans = split_dossier(pages)
    if len(spans) < 2 or all(s.doc_type == "so_ho_tich" for s in spans):
        return ()
    return tuple(Document(index=s.index, doc_type=s.doc_type, pages=s.pages) for s in spans)


def read_input(
    source: SourceFile, data: bytes, engines: Engines, doc_type: str = "auto"
) -> tuple[list[OcrPage], "PageValues"]:
    """An input's pages read (cleanup and OCR), with what its fields are read again from, as
    the pipeline keeps them: the reading stages alone, no PDF, signature or store (the
    benchmarks' path)."""
    values = PageValues(engines.ocr)
    pages = []
    for image in ingest.load_pages(source, data, engines.settings):
        clean, page = recognise_page(image, engines)
        pages.append(page)
        values.keep_page(clean, page, doc_type)
    return pages, values


def holds_figure_fields(page: OcrPage, doc_type: str) -> bool:
    """Whether a page's fields include values in figures worth reading twice more (forms,
    cards, registry books; an administrative document's number and date are in its prose)."""
    return (classify(page) if doc_type == "auto" else doc_type) != "van_ban"


@dataclass
class _KeptImages:
    """Grey images by page: the latest as it is, earlier ones as PNG (a few hundred kB where a
    raster is 9 MB), decoded again one at a time; a one-page input (most of them) never pays
    for compressing its page."""

    png: dict[int, bytes] = field(default_factory=dict)
    _latest: tuple[int, np.ndarray] | None = None
    _decoded: tuple[int, np.ndarray] | None = None

    def keep(self, page: int, image: np.ndarray) -> None:
        self.compress()
        self._latest = (page, image)

    def compress(self) -> None:
        if self._latest is not None:
            number, image = self._latest
            ok, png = cv2.imencode(".png", image, [cv2.IMWRITE_PNG_COMPRESSION, 1])
            if ok:
                self.png[number] = png.tobytes()
            self._latest = None

    def get(self, page: int) -> np.ndarray | None:
        if self._latest is not None and self._latest[0] == page:
            return self._latest[1]
        if self._decoded is not None and self._decoded[0] == page:
            return self._decoded[1]
        if page not in self.png:
            return None
        decoded = cv2.imdecode(np.frombuffer(self.png[page], np.uint8), cv2.IMREAD_GRAYSCALE)
        if decoded is not None:
            self._decoded = (page, decoded)
        return decoded


@dataclass
class PageValues:
    """The `extract.rereading.ValueReader` of one input: its form pages' OCR images, kept
    until the fields are read, and the engine that reads a value's crop again. Of a page that
    starts an administrative document, the header band (grey, as scanned: pen ink kept) where
    the number and date may be written by hand (`ocr.handwriting`)."""

    engine: OcrEngine
    forms: _KeptImages = field(default_factory=_KeptImages)  # OCR images
    scales: dict[int, float] = field(default_factory=dict)  # page -> its OCR image's scale
    headers: _KeptImages = field(default_factory=_KeptImages)  # header bands

    def keep_page(self, clean: CleanPage, page: OcrPage, doc_type: str) -> None:
        """Keep what fields of `page` may be read again from: a form's OCR image, a document's
        header band."""
        if holds_figure_fields(page, doc_type):
            self.keep(clean)
            return
        band = header_band(page)
        if band is not None and clean.display.size:
            top = clean.display[:band]
            self.headers.keep(page.number, cv2.cvtColor(top, cv2.COLOR_BGR2GRAY) if top.ndim == 3 else top.copy())

    def keep(self, clean: CleanPage) -> None:
        self.forms.keep(clean.number, clean.ocr_input)
        self.scales[clean.number] = clean.ocr_scale

    def packed(self) -> tuple[dict[int, tuple[bytes, float]], dict[int, bytes]]:
        """Every kept page as PNG with its scale, and the header bands (to be stored, as the
        benchmarks' cache does)."""
        self.forms.compress()
        self.headers.compress()
        return {n: (png, self.scales[n]) for n, png in self.forms.png.items()}, self.headers.png

    @classmethod
    def unpacked(cls, engine: OcrEngine, packed: object) -> "PageValues":
        """From `packed()` (or the pages alone, as stored before header bands were kept)."""
        pages, headers = packed if isinstance(packed, tuple) else (packed if isinstance(packed, dict) else {}, {})
        return cls(
            engine,
            _KeptImages({n: png for n, (png, _) in pages.items()}),
            {n: scale for n, (_, scale) in pages.items()},
            _KeptImages(dict(headers)),
        )

    def figures_by_hand(self, page: int, box: tuple[int, int, int, int], figure_height: float) -> PenFigures | None:
        band = self.headers.get(page)
        if band is None:
            return None
        x0, y0, x1, y1 = (max(0, int(round(c))) for c in box)
        return read_pen_figures(band[y0:y1, x0:x1], figure_height)

    def typed_figures(self, page: int, boxes: tuple[tuple[int, int, int, int], ...]) -> str | None:
        """The value's figures as the typed-figure model reads its crop (`ocr.typed_figures`);
        None where it reads none or is not installed."""
        crop, found = self._crop(page, boxes), self._image(page)
        if crop is None or found is None:
            return None
        # the words' boxes hold the figures and perhaps a clinging dot: a little taller
        height = (max(b[3] for b in boxes) - min(b[1] for b in boxes)) * found[1] * 0.85
        read = read_typed_figures(crop, height)
        return None if read is None else read.text

    def _image(self, page: int) -> tuple[np.ndarray, float] | None:
        image = self.forms.get(page)
        return None if image is None else (image, self.scales[page])

    def __call__(self, page: int, boxes: tuple[tuple[int, int, int, int], ...], charset: str, model: str) -> str | None:
        crop = self._crop(page, boxes)
        if crop is None:
            return None
        # Under figures any dot is the leader's; under letters it may be a diacritic (ạ, ệ).
        return self.engine.read_value(figures_without_dots(crop) if charset else crop, charset, model)

    def crossed_by_leader(self, page: int, boxes: tuple[tuple[int, int, int, int], ...]) -> bool:
        crop = self._crop(page, boxes)
        return crop is not None and leader_through_figures(crop)

    def _crop(self, page: int, boxes: tuple[tuple[int, int, int, int], ...]) -> np.ndarray | None:
        found = self._image(page) if boxes else None
        if found is None:
            return None
        image, scale = found
        x0, y0 = min(b[0] for b in boxes), min(b[1] for b in boxes)
        x1, y1 = max(b[2] for b in boxes), max(b[3] for b in boxes)
        # The value's full height above and below, and as much on the left, where a first
        # figure's box may be cut short (measured: a sliver there cost one field in 500);
        # more on the right, where a last figure's box may be cut short.
        pad = int(0.15 * (y1 - y0)) + 2
        crop = image[
            max(0, int((y0 - pad) * scale)) : int((y1 + pad) * scale),
            max(0, int((x0 - pad) * scale)) : int((x1 + 2 * pad) * scale),
        ]
        return crop if crop.size else None


def extract_records(
    pages: list[OcrPage], doc_type: str, source: SourceFile | None = None, documents: tuple[Document, ...] = ()
) -> list[Record]:
    """Records in page order. Each document of a dossier is read on its own pages only
    (a letter's closing block is on its own last page, not on the next document's)."""
    signatures = source.signatures if source else ()
    if not documents:
        # Whole document at once: a registry page without a header row takes its
        # columns from the page before.
        return extract_pages(pages, doc_type, signatures=signatures)
    by_number = {p.number: p for p in pages}
    records: list[Record] = []
    for document in documents:
        own = [by_number[n] for n in document.pages if n in by_number]
        records.extend(replace(r, document=document.index) for r in extract_pages(own, "auto", signatures))
    return records


def sign_pdf(pdf: bytes, engines: Engines) -> tuple[bytes, SignatureInfo]:
    return engines.signer.sign(
        pdf, reason="Số hóa bởi digitize (digitized copy of the original)", location=engines.settings.agency
    )


def store_artefacts(
    result: Result, original: bytes, signed_pdf: bytes, words: list[list[dict]], engines: Engines, key_prefix: str
) -> Result:
    """Write original, words, JSON and, last, the signed PDF; returns the result with its keys.

    The signed PDF goes in last because it is retained (object lock): once it is
    there, everything it belongs with is there too, so a run stopped at any point
    either left no signed copy (the next run writes the same keys again) or a
    complete stored result that the next run takes over (`uncommitted_result`)
    instead of signing the page a second time. The index, the commit point, is
    written after. A document filed from a dossier's scan (`dossier_scan`) has no original
    of its own: its original is the scan's, kept once, byte for byte, under the scan's result."""
    storage = engines.storage
    ext = EXTENSIONS.get(result.source.media_type, "bin")
    version_prefix = f"{key_prefix}/v{result.version}"
    scan_original = result.dossier_scan.original if result.dossier_scan and not original else None
    keys = {
        "original": scan_original or f"{key_prefix}/original.{ext}",
        "pdf": f"{version_prefix}/document.pdf",
        "json": f"{version_prefix}/result.json",
        "words": f"{version_prefix}/words.json",
    }
    if original and not storage.exists(keys["original"]):
        storage.put(keys["original"], original, content_type=result.source.media_type, retain=True)
    storage.put(keys["words"], json.dumps(words, ensure_ascii=False).encode(), content_type="application/json")
    result = replace(result, keys=keys)
    storage.put(keys["json"], to_json_bytes(result), content_type="application/json")
    storage.put(keys["pdf"], signed_pdf, content_type="application/pdf", retain=True)
    return result


# ------------------------------------------------------------------ commit intents


def intent_key(agency: str, result_id: str) -> str:
    return f"{agency}/commits/{result_id}.json"


def record_intent(result: Result, key_prefix: str, engines: Engines) -> None:
    """Where this run is about to store the result, written before anything else:
    a run that stops before indexing leaves this note for the next run."""
    body = {"id": result.id, "prefix": key_prefix, "version": result.version}
    engines.storage.put(
        intent_key(engines.settings.agency, result.id), json.dumps(body).encode(), content_type="application/json"
    )


def read_intent(result_id: str, engines: Engines) -> tuple[str, int] | None:
    """(key prefix, version) of the last run that began storing `result_id`, if any."""
    try:
        body = json.loads(engines.storage.get(intent_key(engines.settings.agency, result_id)))
        prefix, version = str(body["prefix"]), int(body["version"])
    except NotFound:
        return None
    except (ValueError, KeyError, TypeError):
        log.warning("commit note of %s is unreadable; ignored", result_id)
        return None
    if body.get("id") != result_id or not prefix.startswith(f"{engines.settings.agency}/") or version < 1:
        return None
    return prefix, version


def uncommitted_result(result_id: str, engines: Engines, after_version: int = 0) -> Result | None:
    """A result whose run stored every artefact, signed PDF last, and stopped before
    indexing (a worker killed between the two). Taken over only when whole: its JSON
    names this id, version and PDF, and the PDF is the one whose digest the JSON
    records, with an intact signature; otherwise None (the page is done again, under
    the same keys, so no second signed copy is ever made)."""
    from .signing import trust_roots
    from .signing.verify import verify_pdf

    intent = read_intent(result_id, engines)
    if intent is None or intent[1] <= after_version:
        return None
    prefix, version = intent
    pdf_key, json_key = f"{prefix}/v{version}/document.pdf", f"{prefix}/v{version}/result.json"
    storage = engines.storage
    if not storage.exists(pdf_key):
        return None
    try:
        stored = json.loads(storage.get(json_key))
        signed = storage.get(pdf_key)
    except (NotFound, ValueError) as exc:
        log.warning("result %s: stored but not whole (%s); done again", result_id, exc)
        return None
    import hashlib

    recorded = (stored.get("pdf") or {}).get("sha256")
    if (
        stored.get("id") != result_id
        or int(stored.get("version") or 0) != version
        or (stored.get("keys") or {}).get("pdf") != pdf_key
        or recorded != hashlib.sha256(signed).hexdigest()
    ):
        log.warning("result %s: stored JSON does not match its signed PDF; done again", result_id)
        return None
    report = verify_pdf(signed, trust_roots(engines.settings))
    if not report.intact:
        log.warning(
            "result %s: stored signed PDF does not verify (%s); done again", result_id, "; ".join(report.problems)
        )
        return None
    return Result.from_dict(stored)


def to_json_bytes(result: Result) -> bytes:
    """The result's JSON as written at the edges (result.json in the archive, `--out`, `get --json`)."""
    return json.dumps(result.to_dict(), ensure_ascii=False, indent=2).encode("utf-8")


# ------------------------------------------------------------------ orchestration


def process_bytes(
    name: str,
    data: bytes,
    engines: Engines,
    *,
    doc_type: str = "auto",
    book: str | None = None,
    progress: ProgressFn | None = None,
    result_id: str | None = None,
) -> Result:
    """Process one input file; returns its result (`to_dict`: the CONTRACT JSON).

    Idempotent: the same bytes give the same id, and a second run returns the
    stored result without doing the work again. `result_id`: another id than the
    content's (`agency_result_id`, when the content's id is another agency's)."""
    settings = engines.settings
    source = ingest.describe(name, data, settings)
    result_id = result_id or result_id_for(source)
    existing = engines.index.get(result_id)
    if existing is not None and _artefacts_present(existing, engines):
        return existing
    stored = uncommitted_result(result_id, engines, after_version=existing.version if existing else 0)
    if stored is not None:  # a stopped run's complete result: commit it, sign nothing again
        if book:
            stored = replace(stored, book=book)
        engines.index.upsert(stored)
        log.info("result %s: took over the stored, unindexed version %s", result_id, stored.version)
        return stored
    from .signing import trust_roots

    source = read_input_signatures(source, data, trust_roots(settings))

    timings: dict[str, float] = {}
    cleaned: list[CleanPage] = []
    pictures: list[Picture] = []
    recognised: list[OcrPage] = []
    figures = PageValues(engines.ocr)
    try:
        # Pages are decoded one at a time as the loop reads them, not all before the first is
        # read; a page refused on the way (over a limit) refuses the input, which is kept.
        images = ingest.open_pages(source, data, settings)
        for image in images.pages:
            if progress:
                progress("ocr", image.number, images.count)
            started = time.perf_counter()
            clean, ocr = recognise_page(image, engines)
            timings["ocr"] = timings.get("ocr", 0.0) + time.perf_counter() - started
            # Only the display image is needed from here on, for the PDF: kept as the
            # JPEG the PDF will hold, so a long document does not hold a raster per page.
            pictures.append(picture_of(clean.display))
            cleaned.append(replace(clean, display=_EMPTY, ocr_input=_EMPTY, alternates=()))
            recognised.append(ocr)
            figures.keep_page(clean, ocr, doc_type)
            del image
    except InputError as exc:
        keep_rejected(source, data, str(exc), engines)
        raise

    count = len(recognised)

    def stage(name: str) -> None:
        if progress:
            progress(name, count, count)

    stage("fields")
    documents = find_documents(recognised, doc_type)
    with reading_values(figures):
        records = extract_records(recognised, doc_type, source, documents)
    del figures
    now = datetime.now(VN_TZ).replace(microsecond=0)
    result = Result(
        id=result_id,
        source=source,
        pages=tuple(recognised),
        records=tuple(records),
        created_at=now.isoformat(),
        agency=settings.agency,
        documents=documents,
    )
    stage("pdf")
    pdf = render_pdf(
        list(zip(cleaned, recognised)),
        pictures=pictures,
        title=_title(source, records),
        source_sha256=source.sha256,
        created=now,
        extra_meta={"DigitizeResultId": result_id},
    )
    stage("sign")
    signed, signature = sign_pdf(pdf, engines)
    result = replace(result, pdf=signature)
    stage("store")
    key_prefix, result = _storage_place(result, now, engines)
    record_intent(result, key_prefix, engines)
    result = store_artefacts(result, data, signed, [words_to_dict(p) for p in recognised], engines, key_prefix)
    if book:  # in the index only (the stored result.json is the pipeline's own, as before)
        result = replace(result, book=book)
    stage("index")
    engines.index.upsert(result)
    return result


_SIGNED_KEY = re.compile(r"^(?P<prefix>[^/]+/\d{4}/\d{2}/\d{2}/(?P<rid>[0-9a-f]{32}))/v(?P<v>\d+)/document\.pdf$")


def unreferenced_signed_copies(keys: Iterable[str], index: Any) -> list[str]:
    """Signed PDFs in the archive that no indexed result accounts for: the result's
    own version, the versions its corrections made, and the version they corrected.
    Anything else is a second signed copy of a page (a run stopped between storing and
    indexing, before runs took over their stored results) and is reported."""
    found: list[str] = []
    cache: dict[str, Result | None] = {}
    for key in keys:
        m = _SIGNED_KEY.match(key)
        if not m:
            continue
        rid = m["rid"]
        if rid not in cache:
            cache[rid] = index.get(rid)
        result = cache[rid]
        if result is None or not result.keys.get("pdf", "").startswith(m["prefix"] + "/"):
            found.append(key)
            continue
        if int(m["v"]) not in _accounted_versions(result):
            found.append(key)
    return found


def _accounted_versions(result: Result) -> set[int]:
    current = result.version
    corrected = {c.version for c in result.corrections if c.version > 0}
    base = (min(corrected) - 1) if corrected else current
    return {current, base} | corrected


def _storage_place(result: Result, now: datetime, engines: Engines) -> tuple[str, Result]:
    """Key prefix and version for a new result. A run that stopped before storing its
    signed PDF noted its place: this run writes the same keys (same day's folder,
    same version), so the page keeps one original and one signed copy."""
    intent = read_intent(result.id, engines)
    if intent is not None and not engines.storage.exists(f"{intent[0]}/v{intent[1]}/document.pdf"):
        return intent[0], replace(result, version=intent[1])
    key_prefix = base_key(engines.settings.agency, result.id, now)
    return key_prefix, _next_free_version(result, key_prefix, engines)


def _next_free_version(result: Result, key_prefix: str, engines: Engines) -> Result:
    """A signed PDF already under this version that no run could take over (damaged,
    or not matching its JSON) is retained and may not be replaced: this run is then
    stored as the next version, and `digitize fixity` reports the other as unreferenced."""
    version = result.version
    while engines.storage.exists(f"{key_prefix}/v{version}/document.pdf"):
        version += 1
    return result if version == result.version else replace(result, version=version)


def _artefacts_present(result: Result, engines: Engines) -> bool:
    keys = result.keys
    return bool(keys) and all(engines.storage.exists(k) for k in (keys.get("pdf"), keys.get("json")) if k)


def _title(source: SourceFile, records: list[Record]) -> str:
    if records and records[0].doc_type != "van_ban":
        name = records[0].fields.get("ho_ten") or records[0].fields.get("ho_ten_chong") or ""
        return f"{records[0].doc_type} {name}".strip()
    return Path(source.name).stem


def keep_rejected(source: SourceFile, data: bytes, reason: str, engines: Engines) -> None:
    """A refused input is still kept, with the reason, so that nothing accepted at the
    counter disappears (paperless-ngx #5215) — within bounds, since refusals are what
    an attacker can produce at will: by content (the same file refused twice is kept
    once), at most `keep_rejected_bytes` each and `keep_rejected` per agency. Beyond
    them the refusal is only logged."""
    settings = engines.settings
    prefix = f"{settings.agency}/rejected/"
    key = f"{prefix}{source.sha256}"
    try:
        if engines.storage.exists(f"{key}/reason.json"):
            return
        if len(data) > settings.keep_rejected_bytes:
            log.warning(
                "refused input %s not kept: %d bytes (limit %d)", source.name, len(data), settings.keep_rejected_bytes
            )
            return
        kept = sum(1 for k in engines.storage.list(prefix) if k.endswith("/reason.json"))
        if kept >= settings.keep_rejected:
            log.warning("refused input %s not kept: %d refused inputs already kept (limit)", source.name, kept)
            return
        engines.storage.put(f"{key}/input.bin", data)
        engines.storage.put(
            f"{key}/reason.json",
            json.dumps({"name": source.name, "sha256": source.sha256, "reason": reason}, ensure_ascii=False).encode(),
        )
    except DigitizeError as exc:
        log.warning("could not keep rejected input %s: %s", source.name, exc)


def load_result(result_id: str, engines: Engines) -> Result:
    found = engines.index.get(result_id)
    if found is None:
        raise NotFound(f"no result with id {result_id}")
    return found
