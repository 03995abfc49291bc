"""PAdES B-B signing with pyHanko and a PKCS#12 key.

The signature is added as an incremental update (the signed bytes start
with the unsigned PDF unchanged, so PDF/A conformance is kept), with an
invisible signature field, subfilter ETSI.CAdES.detached and SHA-256. The
CA certificates bundled in the PKCS#12 go into the signature's certificate
set. pyHanko writes into a BytesIO, never into a write-only stream (#553).
"""

from __future__ import annotations

import hashlib
import io
from datetime import datetime
from pathlib import Path

from ..errors import SigningError
from ..types import SignatureInfo
from .base import VN_TZ, iso_vn

__all__ = ["PyHankoSigner"]


class PyHankoSigner:
    """A `Signer` over a PKCS#12 file (production or development)."""

    def __init__(self, p12_path: Path | str, password: str) -> None:
        from pyhanko.sign import signers

        path = Path(p12_path)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise SigningError(f"cannot read signing certificate {path}: {exc.strerror or exc}") from None
        try:
            self._signer = signers.SimpleSigner.load_pkcs12_data(
                data, other_certs=[], passphrase=password.encode("utf-8") if password else None
            )
        except ValueError:
            raise SigningError(f"cannot open signing certificate {path}: wrong password or not PKCS#12") from None
        if self._signer.signing_cert is None:
            raise SigningError(f"no certificate in {path}")
        self._subject = _common_name(self._signer.signing_cert)

    @property
    def subject(self) -> str:
        return self._subject

    def sign(self, pdf: bytes, *, reason: str = "", location: str = "") -> tuple[bytes, SignatureInfo]:
        from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
        from pyhanko.pdf_utils.misc import PdfError
        from pyhanko.pdf_utils.reader import PdfFileReader
        from pyhanko.sign import fields, signers

        try:
            writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
            n = len(writer.prev.embedded_signatures)
            meta = signers.PdfSignatureMetadata(
                field_name=f"Signature{n + 1}",
                md_algorithm="sha256",
                subfilter=fields.SigSeedSubFilter.PADES,
                reason=reason or None,
                location=location or None,
            )
            out = io.BytesIO()
            signers.PdfSigner(meta, signer=self._signer).sign_pdf(writer, output=out)
            signed = out.getvalue()
            # read back what was written: the claimed signing time (/M)
            sig = PdfFileReader(io.BytesIO(signed)).embedded_signatures[-1]
            when = sig.self_reported_timestamp
        except (PdfError, ValueError, KeyError, IndexError) as exc:
            raise SigningError(f"cannot sign PDF: {exc}") from None
        signed_at = iso_vn(when) if when is not None else iso_vn(datetime.now(VN_TZ))
        return signed, SignatureInfo(
            sha256=hashlib.sha256(signed).hexdigest(), signer=self._subject, signed_at=signed_at
        )


def _common_name(cert: object) -> str:
    """Subject CN of an asn1crypto certificate (its full subject if none)."""
    subject = cert.subject  # type: ignore[attr-defined]
    cn = subject.native.get("common_name")
    if isinstance(cn, list):
        cn = cn[-1]
    return str(cn) if cn else subject.human_friendly
