"""PAdES B-B signing with pyHanko and a PKCS#12 key.

The signature is added as an incremental update (the signed bytes start
with the unsigned PDF unchanged), with an invisible signature field,
subfilter ETSI.CAdES.detached and SHA-256. The CA certificates bundled in
the PKCS#12 go into the signature's certificate set. pyHanko writes into a
BytesIO, never into a write-only stream (#553).

Two pyHanko defaults would break PDF/A-2b, and are turned off here:
- its writer rewrites the XMP and the info dictionary on save (Producer
  "pyHanko …" in XMP but "digitize; pyHanko …" in /Info: inconsistent), so
  the update leaves the metadata exactly as the renderer wrote it;
- for ECDSA keys it declares the ISO 32002 extension and sets the catalog
  /Version to 2.0, which PDF/A-2 (based on PDF 1.7) cannot be; only the
  ESIC (PAdES for PDF 1.7) extension is declared.
"""

from __future__ import annotations

import hashlib
import io
from datetime import datetime
from functools import lru_cache
from pathlib import Path

from ..errors import SigningError
from ..types import SignatureInfo
from .base import VN_TZ, common_name, iso_vn, run_sync

__all__ = ["PyHankoSigner"]


@lru_cache(maxsize=1)
def _pdfa_classes() -> tuple[type, type]:
    """pyHanko writer and signer subclasses that keep a PDF/A-2 file PDF/A-2."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import signers
    from pyhanko.sign.signers import constants

    class KeepMetadataWriter(IncrementalPdfFileWriter):
        def _update_meta(self) -> None:  # pyHanko's hook that rewrites XMP and /Info
            return None

    class Pdf17Signer(signers.PdfSigner):
        def register_extensions(self, pdf_out, *, md_algorithm):  # type: ignore[no-untyped-def]
            pdf_out.ensure_output_version(version=(1, 7))
            pdf_out.register_extension(constants.ESIC_EXTENSION_1)

    return KeepMetadataWriter, Pdf17Signer


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
        self._subject = common_name(self._signer.signing_cert)
        # Space for the signature container, learnt from the first signature.
        # pyHanko otherwise sizes it by signing a dummy each time, and every
        # signature re-parses (and for RSA re-validates) the key: ~0.1 s each.
        self._reserved: int | None = None

    @property
    def subject(self) -> str:
        return self._subject

    def sign(self, pdf: bytes, *, reason: str = "", location: str = "") -> tuple[bytes, SignatureInfo]:
        from pyhanko.pdf_utils.misc import PdfError
        from pyhanko.pdf_utils.reader import PdfFileReader
        from pyhanko.sign import fields, signers
        from pyhanko.sign.general import SigningError as PyHankoSigningError

        writer_cls, signer_cls = _pdfa_classes()
        try:
            writer = writer_cls(io.BytesIO(pdf))
            taken = {name for name, *_ in fields.enumerate_sig_fields(writer.prev)}
            name = next(f"Signature{k}" for k in range(1, len(taken) + 2) if f"Signature{k}" not in taken)
            meta = signers.PdfSignatureMetadata(
                field_name=name,
                md_algorithm="sha256",
                subfilter=fields.SigSeedSubFilter.PADES,
                reason=reason or None,
                location=location or None,
            )
            _add_invisible_field(writer, name)
            out = io.BytesIO()
            run_sync(
                signer_cls(meta, signer=self._signer).async_sign_pdf(
                    writer, existing_fields_only=True, bytes_reserved=self._reserved, output=out
                )
            )
            signed = out.getvalue()
            # read back what was written: the claimed signing time (/M)
            sig = PdfFileReader(io.BytesIO(signed)).embedded_signatures[-1]
            when = sig.self_reported_timestamp
            if self._reserved is None:
                _, len1, start2, _ = sig.byte_range
                self._reserved = int(start2) - int(len1) - 2  # hex digits between < and >
        except (PdfError, PyHankoSigningError, ValueError, KeyError, IndexError) as exc:
            raise SigningError(f"cannot sign PDF: {exc}") from None
        signed_at = iso_vn(when) if when is not None else iso_vn(datetime.now(VN_TZ))
        return signed, SignatureInfo(
            sha256=hashlib.sha256(signed).hexdigest(), signer=self._subject, signed_at=signed_at
        )


def _add_invisible_field(writer: object, name: str) -> None:
    """An invisible (zero-size, printable) signature field with an empty
    appearance stream: PDF/A-2 exempts zero-size widgets from needing one,
    PDF/A-1 validators still ask for it, and it costs nothing."""
    from pyhanko.pdf_utils import generic
    from pyhanko.sign import fields

    fields.append_signature_field(writer, fields.SigFieldSpec(sig_field_name=name))  # type: ignore[arg-type]
    for ref in writer.root["/AcroForm"]["/Fields"]:  # type: ignore[attr-defined]
        field = ref.get_object()
        if field.get("/T") == name:
            appearance = generic.StreamObject(
                {
                    generic.pdf_name("/Type"): generic.pdf_name("/XObject"),
                    generic.pdf_name("/Subtype"): generic.pdf_name("/Form"),
                    generic.pdf_name("/BBox"): generic.ArrayObject([generic.NumberObject(0)] * 4),
                },
                stream_data=b"",
            )
            field[generic.pdf_name("/AP")] = generic.DictionaryObject(
                {generic.pdf_name("/N"): writer.add_object(appearance)}  # type: ignore[attr-defined]
            )
            return
    raise SigningError("signature field was not created")
