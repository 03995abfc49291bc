"""The frozen data types that flow through the pipeline.

ingest -> preprocess -> ocr -> extract -> render -> sign -> store -> index

Every stage takes and returns these types; nothing is mutated in place.
Everything except the pixel arrays in `PageImage` is JSON-safe through
`to_dict()`, which is also the shape of the CONTRACT's JSON result.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

# (x0, y0, x1, y1) in pixels of the page image the OCR ran on, origin top-left.
Box = tuple[int, int, int, int]


@dataclass(frozen=True)
class SourceFile:
    """One input file as received."""

    name: str
    sha256: str
    size: int
    media_type: str  # sniffed from content: image/png, image/jpeg, image/tiff, application/pdf
    # signatures already inside an input PDF (read, never changed: the original is kept byte for byte)
    signatures: tuple["InputSignature", ...] = ()


@dataclass(frozen=True, eq=False)
class PageImage:
    """One page raster. `pixels` is BGR uint8 (H, W, 3) or grey (H, W)."""

    number: int  # 1-based page number within the source
    pixels: np.ndarray
    dpi: float

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])


@dataclass(frozen=True, eq=False)
class CleanPage:
    """A page after cleanup: an upright colour image for the PDF and a
    binarised, upscaled image for the recogniser. Both share geometry up to
    `ocr_scale` (ocr pixel = display pixel * ocr_scale)."""

    number: int
    display: np.ndarray  # BGR, upright, deskewed: what the PDF shows
    ocr_input: np.ndarray  # grey uint8, what the recogniser reads
    dpi: float  # resolution of `display`
    ocr_scale: float
    rotation: int  # 0/90/180/270 clockwise applied to make it upright
    skew: float  # page skew in degrees, counter-clockwise positive (undone in `display`)
    stages: tuple[str, ...] = ()  # names of the cleanup stages that ran
    rules: tuple[Box, ...] = ()  # ruling lines found (display pixels): the grid of tables
    timings: tuple[tuple[str, float], ...] = ()  # seconds per cleanup stage
    # Other inputs for the same page (faint ink kept, grey levels), each to be read when the
    # first reading's confidence is below its bar; the better-read one is kept.
    alternates: tuple[tuple[float, "CleanPage"], ...] = ()
    pen_marks: tuple[Box, ...] = ()  # blue/violet handwriting removed before OCR (display pixels)


@dataclass(frozen=True)
class Word:
    text: str  # NFC
    box: Box  # in `display` pixels of the CleanPage
    confidence: float  # 0..1
    # the recogniser's near second reading with other marks on one letter, where it is also a
    # Vietnamese syllable ("buổi" beside "buỗi"): a value holding such a word is not auto-accepted
    alternative: str = ""
    alternative_confidence: float = 0.0  # the recogniser's confidence in it, 0..1


@dataclass(frozen=True)
class Line:
    words: tuple[Word, ...]

    @property
    def text(self) -> str:
        return " ".join(w.text for w in self.words)

    @property
    def box(self) -> Box:
        return (
            min(w.box[0] for w in self.words),
            min(w.box[1] for w in self.words),
            max(w.box[2] for w in self.words),
            max(w.box[3] for w in self.words),
        )

    @property
    def confidence(self) -> float:
        if not self.words:
            return 0.0
        return sum(w.confidence for w in self.words) / len(self.words)


@dataclass(frozen=True)
class Code:
    """A machine-readable code read on a page (a QR code): its text, exactly as encoded (NFC)."""

    text: str
    box: Box  # in the pixels of the image it was read on (`display` pixels for an OcrPage's codes)
    decoder: str = ""  # which decoder read it: zxing, opencv, zbar (+enlarged: from an enlarged crop)


@dataclass(frozen=True)
class OcrPage:
    """Recognised text of one page, lines in reading order."""

    number: int
    lines: tuple[Line, ...]
    width: int  # display pixels
    height: int
    dpi: float
    rotation: int = 0
    skew: float = 0.0
    engine: str = ""
    rules: tuple[Box, ...] = ()  # ruling lines (display pixels): extraction reads table grids from them
    pen_marks: tuple[Box, ...] = ()  # handwriting in pen (display pixels): values there are not auto-accepted
    raw_text: str = ""  # the recogniser's reading before post-correction, where it differs from `text`
    # e-signature boxes and copy stamps, set aside from the text flow (CONTRACT: kept separately)
    stamps: tuple[Line, ...] = ()
    # QR codes read on the page (an ID card's): exact data beside the OCR; not in the JSON result
    codes: tuple[Code, ...] = ()

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)

    @property
    def confidence(self) -> float:
        words = [w for line in self.lines for w in line.words]
        if not words:
            return 0.0
        total = sum(len(w.text) for w in words) or 1
        return sum(w.confidence * len(w.text) for w in words) / total


@dataclass(frozen=True)
class Repair:
    """One change made to a value after it was read (CONTRACT `records[].provenance`)."""

    rule: str  # which rule: "normalize_date", "gazetteer", ...
    before: str
    after: str


@dataclass(frozen=True)
class FieldProvenance:
    """How a field's value was obtained: from which page and words, as read, and each repair."""

    method: str = "ocr"  # ocr | qr | keyed | keyed_twice | arbitrated | corrected
    page: int = 0
    boxes: tuple[Box, ...] = ()  # display pixels of the page the value was read on
    raw: str = ""  # as read, before any repair
    repairs: tuple[Repair, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"method": self.method, "page": self.page, "raw": self.raw}
        if self.boxes:
            out["boxes"] = [list(b) for b in self.boxes]
        if self.repairs:
            out["repairs"] = [{"rule": r.rule, "before": r.before, "after": r.after} for r in self.repairs]
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "FieldProvenance":
        return cls(
            method=str(d.get("method") or "ocr"),
            page=int(d.get("page") or 0),
            boxes=tuple(_box(b) for b in d.get("boxes") or ()),
            raw=str(d.get("raw") or ""),
            repairs=tuple(
                Repair(rule=str(r.get("rule", "")), before=str(r.get("before", "")), after=str(r.get("after", "")))
                for r in d.get("repairs") or ()
            ),
        )


@dataclass(frozen=True)
class Record:
    """One civil-status record or document's metadata (CONTRACT `records[]`)."""

    doc_type: str
    page: int
    fields: dict[str, str]
    confidence: dict[str, float]
    needs_review: tuple[str, ...] = ()
    # per field, the features its confidence was computed from (extract.base.confidence_features):
    # kept for fitting the confidence model, not part of the CONTRACT result
    evidence: dict[str, tuple[float, ...]] = field(default_factory=dict, compare=False, repr=False)
    handwritten: tuple[str, ...] = ()  # fields written by hand on the printed paper (always in needs_review)
    provenance: dict[str, FieldProvenance] = field(default_factory=dict, compare=False, repr=False)
    document: int | None = None  # which of the input's documents it belongs to (a dossier in one scan)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "doc_type": self.doc_type,
            "page": self.page,
            "fields": dict(self.fields),
            "confidence": {k: round(v, 4) for k, v in self.confidence.items()},
            "needs_review": list(self.needs_review),
        }
        if self.handwritten:
            out["handwritten"] = list(self.handwritten)
        if self.provenance:
            out["provenance"] = {k: p.to_dict() for k, p in self.provenance.items()}
        if self.document is not None:
            out["document"] = self.document
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Record":
        """The reverse of `to_dict` (a stored result read back); `evidence` is not stored."""
        document = d.get("document")
        return cls(
            doc_type=str(d.get("doc_type") or ""),
            page=int(d.get("page") or 0),
            fields={str(k): v for k, v in (d.get("fields") or {}).items()},
            confidence={str(k): float(v) for k, v in (d.get("confidence") or {}).items()},
            needs_review=tuple(d.get("needs_review") or ()),
            handwritten=tuple(d.get("handwritten") or ()),
            provenance={str(k): FieldProvenance.from_dict(v) for k, v in (d.get("provenance") or {}).items()},
            document=None if document is None else int(document),
        )


@dataclass(frozen=True)
class Document:
    """One document of an input that holds several (a dossier scanned in one go):
    CONTRACT `documents[]`."""

    index: int
    doc_type: str
    pages: tuple[int, ...]  # 1-based page numbers, in order

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "doc_type": self.doc_type, "pages": list(self.pages)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Document":
        return cls(
            index=int(d.get("index") or 0),
            doc_type=str(d.get("doc_type") or ""),
            pages=tuple(int(n) for n in d.get("pages") or ()),
        )


@dataclass(frozen=True)
class InputSignature:
    """A signature found inside an input PDF (CONTRACT `source.signatures`)."""

    signer: str  # subject common name of the signing certificate
    signed_at: str  # ISO 8601 in Vietnam time: the signer's clock (signed attribute or /M); "" if absent
    subfilter: str  # ETSI.CAdES.detached, adbe.pkcs7.detached, ...
    valid: bool  # signed bytes unchanged and the signature verifies under the signer's key
    covers_whole_file: bool  # nothing was appended after this signature
    trusted: bool  # chains to a configured trust root (DIGITIZE_TRUST_ROOTS) at the stated signing time
    digest_algorithm: str = ""  # sha256, sha1, ...
    organization: str = ""  # subject O of the signing certificate
    byte_range: tuple[int, ...] = ()
    trust_reason: str = ""  # why `trusted` is what it is, one line
    trust_anchor: str = ""  # common name of the trust root the signer's chain reached ("" if none)

    def to_dict(self) -> dict[str, Any]:
        return {
            "signer": self.signer,
            "signed_at": self.signed_at,
            "subfilter": self.subfilter,
            "valid": self.valid,
            "covers_whole_file": self.covers_whole_file,
            "trusted": self.trusted,
            "digest_algorithm": self.digest_algorithm,
            "organization": self.organization,
            "byte_range": list(self.byte_range),
            "trust_reason": self.trust_reason,
            "trust_anchor": self.trust_anchor,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "InputSignature":
        """The reverse of `to_dict`, for a stored result read back (a correction keeps them)."""
        return cls(
            signer=d.get("signer", ""),
            signed_at=d.get("signed_at", ""),
            subfilter=d.get("subfilter", ""),
            valid=bool(d.get("valid")),
            covers_whole_file=bool(d.get("covers_whole_file")),
            trusted=bool(d.get("trusted")),
            digest_algorithm=d.get("digest_algorithm", ""),
            organization=d.get("organization", ""),
            byte_range=tuple(d.get("byte_range") or ()),
            trust_reason=d.get("trust_reason", ""),
            trust_anchor=d.get("trust_anchor", ""),
        )


@dataclass(frozen=True)
class SignatureInfo:
    sha256: str  # of the signed PDF bytes
    signer: str  # subject common name of the signing certificate
    signed_at: str  # ISO 8601 with +07:00
    level: str = "B-B"  # PAdES level reached: B-B, B-T, B-LT, B-LTA (CONTRACT `pdf.level`)
    timestamped_at: str = ""  # the signature timestamp's time (ISO 8601, +07:00), from B-T up
    # the archive timestamp's time where the signed PDF was renewed (signing.retimestamp); in the
    # JSON only when set
    archive_timestamped_at: str = ""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "sha256": self.sha256,
            "signer": self.signer,
            "signed_at": self.signed_at,
            "level": self.level,
            "timestamped_at": self.timestamped_at,
        }
        if self.archive_timestamped_at:
            out["archive_timestamped_at"] = self.archive_timestamped_at
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "SignatureInfo":
        return cls(
            sha256=str(d.get("sha256") or ""),
            signer=str(d.get("signer") or ""),
            signed_at=str(d.get("signed_at") or ""),
            level=str(d.get("level") or "B-B"),
            timestamped_at=str(d.get("timestamped_at") or ""),
            archive_timestamped_at=str(d.get("archive_timestamped_at") or ""),
        )


@dataclass(frozen=True)
class Correction:
    """One entry of a result's version log (`corrections`): a field accepted or corrected by a
    reviewer, a keyed entry, a corrected split, a renewed timestamp."""

    version: int  # the version it made
    record: int | None
    field: str | None
    old: str | None
    new: str | None
    action: str  # accept | correct | keyed_twice | arbitrated | resplit | retimestamp
    by: str
    at: str  # ISO 8601, +07:00
    detail: str = ""  # in the JSON only when set

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "version": self.version,
            "record": self.record,
            "field": self.field,
            "old": self.old,
            "new": self.new,
            "action": self.action,
            "by": self.by,
            "at": self.at,
        }
        if self.detail:
            out["detail"] = self.detail
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Correction":
        record = d.get("record")
        return cls(
            version=int(d.get("version") or 0),
            record=None if record is None else int(record),
            field=d.get("field"),
            old=d.get("old"),
            new=d.get("new"),
            action=str(d.get("action") or ""),
            by=str(d.get("by") or ""),
            at=str(d.get("at") or ""),
            detail=str(d.get("detail") or ""),
        )


@dataclass(frozen=True)
class DossierScan:
    """Where a dossier's document, filed as a result of its own, came from (`dossier_scan`)."""

    result_id: str  # the scan's result
    version: int  # the scan's version it was filed from
    document: int  # its index in the scan's `documents`
    doc_type: str
    pages: tuple[int, ...]  # its pages in the scan
    original: str  # storage key of the scan's original (the document's original)

    def to_dict(self) -> dict[str, Any]:
        return {
            "result_id": self.result_id,
            "version": self.version,
            "document": self.document,
            "doc_type": self.doc_type,
            "pages": list(self.pages),
            "original": self.original,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "DossierScan":
        return cls(
            result_id=str(d.get("result_id") or ""),
            version=int(d.get("version") or 1),
            document=int(d.get("document") or 0),
            doc_type=str(d.get("doc_type") or ""),
            pages=tuple(int(n) for n in d.get("pages") or ()),
            original=str(d.get("original") or ""),
        )


@dataclass(frozen=True)
class Superseded:
    """A dossier document's result that a corrected split replaced (`superseded`)."""

    at: str
    by: str
    scan_version: int | None
    results: tuple[str, ...]  # the results that replace it

    def to_dict(self) -> dict[str, Any]:
        return {"at": self.at, "by": self.by, "scan_version": self.scan_version, "results": list(self.results)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Superseded":
        version = d.get("scan_version")
        return cls(
            at=str(d.get("at") or ""),
            by=str(d.get("by") or ""),
            scan_version=None if version is None else int(version),
            results=tuple(str(r) for r in d.get("results") or ()),
        )


# The keys of the JSON result that `Result` holds as fields; any other key of a stored result
# (one a later version added) is kept, as it is, in `Result.extra`.
RESULT_KEYS = (
    "id",
    "source",
    "pages",
    "records",
    "pdf",
    "created_at",
    "agency",
    "version",
    "keys",
    "documents",
    "book",
    "ma_ho_so",
    "dossier_scan",
    "corrections",
    "updated_at",
    "superseded",
)


@dataclass(frozen=True)
class Result:
    """The CONTRACT's JSON result for one input file, and what the archive and the index
    add to it (its book, its version log, its dossier). JSON only at the edges:
    `to_dict` to write it, `from_dict` to read a stored one back."""

    id: str
    source: SourceFile
    pages: tuple[OcrPage, ...]
    records: tuple[Record, ...]
    pdf: SignatureInfo | None = None
    created_at: str = ""
    agency: str = ""
    version: int = 1
    keys: dict[str, str] = field(default_factory=dict)  # storage keys of artefacts
    documents: tuple[Document, ...] = ()  # where the input holds several documents
    book: str | None = None  # the registry book it was filed under
    ma_ho_so: str | None = None  # the dossier a document filed from a dossier's scan belongs to
    dossier_scan: DossierScan | None = None  # where such a document came from
    corrections: tuple[Correction, ...] = ()  # the version log (review, keying, resplit, retimestamp)
    updated_at: str = ""  # when the last version was made (ISO 8601), "" for version 1
    superseded: Superseded | None = None  # a dossier document a corrected split replaced
    # keys of a stored result that this version does not know, kept as they are
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out = self._to_dict()
        if self.documents:
            out["documents"] = [d.to_dict() for d in self.documents]
        if self.book is not None:
            out["book"] = self.book
        if self.ma_ho_so is not None:
            out["ma_ho_so"] = self.ma_ho_so
        if self.dossier_scan is not None:
            out["dossier_scan"] = self.dossier_scan.to_dict()
        if self.corrections:
            out["corrections"] = [c.to_dict() for c in self.corrections]
        if self.updated_at:
            out["updated_at"] = self.updated_at
        if self.superseded is not None:
            out["superseded"] = self.superseded.to_dict()
        for key, value in self.extra.items():
            out.setdefault(key, value)
        return out

    def _to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "source": {
                "name": self.source.name,
                "sha256": self.source.sha256,
                "pages": len(self.pages),
                "size": self.source.size,
                "media_type": self.source.media_type,
                "signatures": [s.to_dict() for s in self.source.signatures],
            },
            "pages": [page_to_dict(p) for p in self.pages],
            "records": [r.to_dict() for r in self.records],
            "pdf": self.pdf.to_dict() if self.pdf else None,
            "created_at": self.created_at,
            "agency": self.agency,
            "version": self.version,
            "keys": dict(self.keys),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Result":
        """The reverse of `to_dict`: a result read back from the index or the archive.
        `Result.from_dict(r.to_dict()).to_dict() == r.to_dict()`. A result stored by an older
        version (keys missing) takes the defaults. Pages come back from their JSON
        (`page_from_dict`): their text, not their word boxes (those are in words.json)."""
        if not isinstance(data, dict) or not data.get("id"):
            raise ValueError("a result must be a dict with an 'id'")
        src = data.get("source") or {}
        source = SourceFile(
            name=str(src.get("name") or ""),
            sha256=str(src.get("sha256") or ""),
            size=int(src.get("size") or 0),
            media_type=str(src.get("media_type") or "application/octet-stream"),
            signatures=tuple(InputSignature.from_dict(s) for s in src.get("signatures") or ()),
        )
        pdf = data.get("pdf")
        scan = data.get("dossier_scan")
        superseded = data.get("superseded")
        book, ma = data.get("book"), data.get("ma_ho_so")
        return cls(
            id=str(data["id"]),
            source=source,
            pages=tuple(page_from_dict(p) for p in data.get("pages") or ()),
            records=tuple(Record.from_dict(r) for r in data.get("records") or () if isinstance(r, dict)),
            pdf=SignatureInfo.from_dict(pdf) if isinstance(pdf, dict) else None,
            created_at=str(data.get("created_at") or ""),
            agency=str(data.get("agency") or ""),
            version=int(data.get("version") or 1),
            keys={str(k): str(v) for k, v in (data.get("keys") or {}).items()},
            documents=tuple(Document.from_dict(d) for d in data.get("documents") or ()),
            book=None if book is None else str(book),
            ma_ho_so=None if ma is None else str(ma),
            dossier_scan=DossierScan.from_dict(scan) if isinstance(scan, dict) else None,
            corrections=tuple(Correction.from_dict(c) for c in data.get("corrections") or () if isinstance(c, dict)),
            updated_at=str(data.get("updated_at") or ""),
            superseded=Superseded.from_dict(superseded) if isinstance(superseded, dict) else None,
            extra={k: v for k, v in data.items() if k not in RESULT_KEYS},
        )


def page_to_dict(p: OcrPage) -> dict[str, Any]:
    """A page as the JSON result gives it (CONTRACT `pages[]`)."""
    return {
        "number": p.number,
        "text": p.text,
        "confidence": round(p.confidence, 4),
        "rotation": p.rotation,
        "skew": round(p.skew, 2),
        "width": p.width,
        "height": p.height,
        "dpi": round(p.dpi, 1),
        "engine": p.engine,
        **({"raw_text": p.raw_text} if p.raw_text and p.raw_text != p.text else {}),
        **({"stamps": [line.text for line in p.stamps]} if p.stamps else {}),
    }


def _text_line(text: str, confidence: float) -> Line:
    """A line of words (split at spaces, no boxes) that reads `text`, each word at `confidence`."""
    return Line(words=tuple(Word(text=t, box=(0, 0, 0, 0), confidence=confidence) for t in text.split(" ")))


def page_from_dict(d: dict[str, Any]) -> OcrPage:
    """A page read back from its JSON (`page_to_dict`): lines and words rebuilt from its text,
    each word at the page's confidence and without a box (the stored result keeps the word
    boxes in words.json, `review.load_words`), so its text and confidence are the stored ones."""
    confidence = float(d.get("confidence") or 0.0)
    text = str(d.get("text") or "")
    lines = tuple(_text_line(line, confidence) for line in text.split("\n")) if text else ()
    return OcrPage(
        number=int(d.get("number") or 0),
        lines=lines,
        width=int(d.get("width") or 0),
        height=int(d.get("height") or 0),
        dpi=float(d.get("dpi") or 0.0),
        rotation=int(d.get("rotation") or 0),
        skew=float(d.get("skew") or 0.0),
        engine=str(d.get("engine") or ""),
        raw_text=str(d.get("raw_text") or ""),
        stamps=tuple(_text_line(str(s), 1.0) for s in d.get("stamps") or ()),
    )


def _box(value: Any) -> Box:
    x0, y0, x1, y1 = (int(v) for v in value)
    return (x0, y0, x1, y1)


def words_to_dict(page: OcrPage) -> list[dict[str, Any]]:
    """Word boxes of a page, for the web view and the archive (not in CONTRACT JSON)."""
    return [
        {"text": w.text, "box": list(w.box), "confidence": round(w.confidence, 4), "line": i}
        for i, line in enumerate(page.lines)
        for w in line.words
    ]
