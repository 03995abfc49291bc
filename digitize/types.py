"""The frozen data types that flow through the pipeline.

ingest -> preprocess -> ocr -> extract -> render -> sign -> store -> index

Every stage takes and returns these types; nothing is mutated in place.
Everything except the pixel arrays in `PageImage` is JSON-safe through
`to_dict()`, which is also the shape of the CONTRACT's JSON result.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
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


@dataclass(frozen=True)
class Document:
    """One document of an input that holds several (a dossier scanned in one go):
    CONTRACT `documents[]`."""

    index: int
    doc_type: str
    pages: tuple[int, ...]  # 1-based page numbers, in order

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "doc_type": self.doc_type, "pages": list(self.pages)}


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
        return {"signer": self.signer, "signed_at": self.signed_at, "subfilter": self.subfilter,
                "valid": self.valid, "covers_whole_file": self.covers_whole_file, "trusted": self.trusted,
                "digest_algorithm": self.digest_algorithm, "organization": self.organization,
                "byte_range": list(self.byte_range), "trust_reason": self.trust_reason,
                "trust_anchor": self.trust_anchor}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "InputSignature":
        """The reverse of `to_dict`, for a stored result read back (a correction keeps them)."""
        return cls(signer=d.get("signer", ""), signed_at=d.get("signed_at", ""), subfilter=d.get("subfilter", ""),
                   valid=bool(d.get("valid")), covers_whole_file=bool(d.get("covers_whole_file")),
                   trusted=bool(d.get("trusted")), digest_algorithm=d.get("digest_algorithm", ""),
                   organization=d.get("organization", ""), byte_range=tuple(d.get("byte_range") or ()),
                   trust_reason=d.get("trust_reason", ""), trust_anchor=d.get("trust_anchor", ""))


@dataclass(frozen=True)
class SignatureInfo:
    sha256: str  # of the signed PDF bytes
    signer: str  # subject common name of the signing certificate
    signed_at: str  # ISO 8601 with +07:00
    level: str = "B-B"  # PAdES level reached: B-B, B-T, B-LT, B-LTA (CONTRACT `pdf.level`)
    timestamped_at: str = ""  # the signature timestamp's time (ISO 8601, +07:00), from B-T up


@dataclass(frozen=True)
class Result:
    """The CONTRACT's JSON result for one input file."""

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

    def to_dict(self) -> dict[str, Any]:
        out = self._to_dict()
        if self.documents:
            out["documents"] = [d.to_dict() for d in self.documents]
        return out

    def _to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "source": {"name": self.source.name, "sha256": self.source.sha256, "pages": len(self.pages),
                       "size": self.source.size, "media_type": self.source.media_type,
                       "signatures": [s.to_dict() for s in self.source.signatures]},
            "pages": [
                {
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
                for p in self.pages
            ],
            "records": [r.to_dict() for r in self.records],
            "pdf": asdict(self.pdf) if self.pdf else None,
            "created_at": self.created_at,
            "agency": self.agency,
            "version": self.version,
            "keys": dict(self.keys),
        }


def words_to_dict(page: OcrPage) -> list[dict[str, Any]]:
    """Word boxes of a page, for the web view and the archive (not in CONTRACT JSON)."""
    return [
        {"text": w.text, "box": list(w.box), "confidence": round(w.confidence, 4), "line": i}
        for i, line in enumerate(page.lines)
        for w in line.words
    ]
