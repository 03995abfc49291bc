"""PAdES signing with pyHanko and a PKCS#12 key, from B-B up to B-LTA.

The signature is added as an incremental update (the signed bytes start
with the unsigned PDF unchanged), subfilter ETSI.CAdES.detached and SHA-256.
The CA certificates bundled in the PKCS#12 go into the signature's
certificate set. pyHanko writes into a BytesIO, never into a write-only
stream (#553).

Levels (ETSI EN 319 142-1):
- B-B: the signature alone;
- B-T: plus an RFC 3161 signature timestamp from the configured TSA;
- B-LT: plus, in a following incremental update, a DSS holding the chain's
  certificates and revocation data (OCSP responses / CRLs) collected while
  checking the signer before signing;
- B-LTA: plus a document timestamp over all of it (in the DSS's revision),
  which archive renewal (`retimestamp`) later extends.

With a `StampSpec`, the signature field is visible: the Nghị định 30/2020
electronic-copy stamp at the top right of page 1 (`digitize.signing.stamp`),
showing the signature's own signing time. Without one, the field is invisible.

Before anything is signed: the PDF is checked as PDF/A-2b (`check_pdfa`) and
the signer's certificate is checked (`trust.check_signer`): a failure is a
typed `SigningError` and nothing is written.

Two pyHanko defaults would break PDF/A-2b, and are turned off here:
- its writer rewrites the XMP and the info dictionary on save (Producer
  "pyHanko …" in XMP but "digitize; pyHanko …" in /Info: inconsistent), so
  every update written here (signature, DSS, document timestamp) leaves the
  metadata exactly as the renderer wrote it: the DSS and the document
  timestamp are written by this module, not by pyHanko's post-signing step,
  whose writers would rewrite it;
- for ECDSA keys it declares the ISO 32002 extension and sets the catalog
  /Version to 2.0, which PDF/A-2 (based on PDF 1.7) cannot be; only the
  ESIC (PAdES for PDF 1.7) extension is declared.
"""

from __future__ import annotations

import hashlib
import io
import logging
import time
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable

from ..errors import PdfaInvalid, SigningError
from ..types import SignatureInfo
from .base import VN_TZ, common_name, iso_vn, run_sync, signature_timestamp_time
from .stamp import StampSpec, add_stamp_field, stamp_font_path, stamp_lines, word_boxes
from .trust import Trust, check_signer

__all__ = ["PyHankoSigner", "LEVELS"]

log = logging.getLogger(__name__)


def _not_the_offline_notice(record: logging.LogRecord) -> bool:
    # The revocation data is gathered by us beforehand, so pyHanko is told not to fetch
    # any; it says so at WARNING on every signature, which the CLI would print per page.
    return "fetching is not allowed" not in record.getMessage()


logging.getLogger("pyhanko.sign.signers.pdf_signer").addFilter(_not_the_offline_notice)

LEVELS = ("B-B", "B-T", "B-LT", "B-LTA")
CHECK_SIGNER_EVERY_S = 300.0  # the check before signing is repeated at most this often


@lru_cache(maxsize=1)
def _pdfa_classes() -> tuple[type, type, type]:
    """pyHanko writer, signer and stamp-style classes that keep a PDF/A-2 file PDF/A-2."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import signers
    from pyhanko.sign.signers import constants
    from pyhanko.stamp import BaseStampStyle

    class KeepMetadataWriter(IncrementalPdfFileWriter):
        def _update_meta(self) -> None:  # pyHanko's hook that rewrites XMP and /Info
            return None

    class Pdf17Signer(signers.PdfSigner):
        def register_extensions(self, pdf_out, *, md_algorithm):
            pdf_out.ensure_output_version(version=(1, 7))
            pdf_out.register_extension(constants.ESIC_EXTENSION_1)

    class KeepAppearance(BaseStampStyle):
        """The field's appearance (the copy stamp) is made before signing: keep it."""

        def create_stamp(self, writer, box, text_params):
            return None

    return KeepMetadataWriter, Pdf17Signer, KeepAppearance


@lru_cache(maxsize=1)
def _key_once_signer_class() -> type:
    """pyHanko's SimpleSigner, signing with a key object parsed once.

    SimpleSigner keeps the key as DER and parses it again for every raw signature
    (`load_der_private_key`), which for RSA re-validates the key: ~0.14 s for RSA 3072,
    and a first signature at B-LTA makes several (the size estimate's dry run too).
    This one signs with the key object loaded, and validated, once with the PKCS#12.
    Mechanisms other than RSA (PKCS#1 v1.5, PSS) and ECDSA take pyHanko's own path."""
    from cryptography.hazmat.primitives.asymmetric.ec import ECDSA, EllipticCurvePrivateKey
    from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
    from pyhanko.sign import signers
    from pyhanko_certvalidator.util import get_pyca_cryptography_hash, process_pss_params

    class KeyOnceSigner(signers.SimpleSigner):
        pyca_key: Any = None

        def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
            key = self.pyca_key
            mechanism = self.get_signature_mechanism_for_digest(digest_algorithm)
            try:
                algo = mechanism.signature_algo
            except ValueError:
                algo = mechanism["algorithm"].native
            if isinstance(key, RSAPrivateKey) and algo == "rsassa_pkcs1v15":
                return key.sign(data, PKCS1v15(), get_pyca_cryptography_hash(digest_algorithm))
            if isinstance(key, RSAPrivateKey) and algo == "rsassa_pss":
                padding, hash_algo = process_pss_params(mechanism["parameters"])
                return key.sign(data, padding, hash_algo)
            if isinstance(key, EllipticCurvePrivateKey) and algo == "ecdsa":
                return key.sign(data, ECDSA(get_pyca_cryptography_hash(digest_algorithm)))
            return super().sign_raw(data, digest_algorithm)

    return KeyOnceSigner


def _pkcs12_key(path: Path, password: str) -> Any:
    from cryptography.hazmat.primitives.serialization import pkcs12

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SigningError(f"cannot read signing certificate {path}: {exc.strerror or exc}") from None
    # What pyHanko's SimpleSigner.load_pkcs12_data does, keeping the key object (loaded and,
    # for RSA, validated here, once) for the signatures.
    try:
        pyca_key, pyca_cert, extra = pkcs12.load_key_and_certificates(
            data, password.encode("utf-8") if password else None
        )
    except Exception:  # noqa: BLE001 - cryptography's ValueError, or an unsupported algorithm
        raise SigningError(f"cannot open signing certificate {path}: wrong password or not PKCS#12") from None
    if pyca_cert is None:
        raise SigningError(f"no certificate in {path}")
    if pyca_key is None:
        raise SigningError(f"cannot open signing certificate {path}: no private key in it")
    return key_signer(pyca_key, pyca_cert, extra)


def key_signer(pyca_key: Any, pyca_cert: Any, extra: Iterable[Any] = ()) -> Any:
    """A pyHanko signer over a key already loaded (cryptography objects): the certificate
    it signs with and the chain (`extra`) it embeds."""
    from pyhanko.keys.internal import translate_pyca_cryptography_cert_to_asn1 as asn1_cert
    from pyhanko.keys.internal import translate_pyca_cryptography_key_to_asn1 as asn1_key
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    registry = SimpleCertificateStore()
    registry.register_multiple({asn1_cert(c) for c in extra})
    key = _key_once_signer_class()(
        signing_key=asn1_key(pyca_key), signing_cert=asn1_cert(pyca_cert), cert_registry=registry
    )
    key.pyca_key = pyca_key
    return key


def pkcs11_key(module: Path | str, token: str, key_label: str, pin: str, cert_label: str = "") -> Any:
    """A pyHanko signer over a key held in a PKCS#11 token (USB token, HSM, SoftHSM):
    the key never leaves it; each signature is computed by the token. The session
    stays open for the signer's life (one per process)."""
    try:
        from pyhanko.config.pkcs11 import TokenCriteria
        from pyhanko.sign.pkcs11 import PKCS11Signer, open_pkcs11_session
    except ImportError:
        raise SigningError("PKCS#11 signing needs python-pkcs11 (pip install 'digitize[hsm]')") from None
    if not Path(module).is_file():
        raise SigningError(f"PKCS#11 module not found: {module}")
    try:
        session = open_pkcs11_session(str(module), token_criteria=TokenCriteria(label=token), user_pin=pin)
        key = PKCS11Signer(session, key_label=key_label, cert_label=cert_label or key_label)
        key.signing_cert  # noqa: B018 - loads the certificate now, so a wrong label fails here
    except Exception as exc:  # noqa: BLE001 - the PKCS#11 library's own errors: one line
        raise SigningError(
            f"cannot use PKCS#11 token {token!r} key {key_label!r}: "
            f"{type(exc).__name__}: {' '.join(str(exc).split())[:200]}"
        ) from None
    return key


class PyHankoSigner:
    """A `Signer` over a PKCS#12 file (production or development) or a PKCS#11 token.

    `level`: "B-B", "B-T", "B-LT" or "B-LTA"; B-T and up need `timestamper`
    (a pyHanko TimeStamper), B-LT and up need `trust` (trust anchors and
    revocation sources). `trust` also drives the check before signing; without
    it only the certificate's validity dates are checked. `stamp`: the copy
    stamp (visible field); None = invisible field. `check_pdfa`: validate the
    input as PDF/A-2b first."""

    def __init__(
        self,
        p12_path: Path | str | None,
        password: str = "",
        *,
        level: str = "B-B",
        timestamper: Any = None,
        trust: Trust | None = None,
        stamp: StampSpec | None = None,
        check_pdfa: bool = False,
        key: Any = None,
    ) -> None:
        """`key`: a pyHanko signer whose key lives elsewhere (a PKCS#11 token: `pkcs11_key`)
        instead of the PKCS#12 file at `p12_path`."""
        if level not in LEVELS:
            raise SigningError(f"unknown signature level {level!r} (one of {', '.join(LEVELS)})")
        if level != "B-B" and timestamper is None:
            raise SigningError(f"signature level {level} needs a time-stamping authority (DIGITIZE_TSA_URL)")
        if level in ("B-LT", "B-LTA") and trust is None:
            raise SigningError(f"signature level {level} needs trust anchors for its revocation data")
        self._signer = key if key is not None else _pkcs12_key(Path(str(p12_path)), password)
        if self._signer.signing_cert is None:
            raise SigningError("no signing certificate")
        self._subject = common_name(self._signer.signing_cert)
        self.level = level
        self._timestamper = timestamper
        self._trust = trust
        self._stamp = stamp
        self._font = stamp_font_path(stamp) if stamp is not None else None
        self._check_pdfa = check_pdfa
        self._checked_at = -1e18
        # Space for the signature container per level, learnt from the first signature.
        # pyHanko otherwise sizes it by signing a dummy each time, and every
        # signature re-parses (and for RSA re-validates) the key: ~0.1 s each.
        self._reserved: dict[str, int] = {}

    @property
    def subject(self) -> str:
        return self._subject

    @property
    def signing_cert(self) -> Any:
        return self._signer.signing_cert

    def check(self, *, force: bool = False) -> None:
        """The check before signing (Nghị định 23/2025 art. 15); raises SigningError."""
        if not force and time.monotonic() - self._checked_at < CHECK_SIGNER_EVERY_S:
            return
        chain = [c for c in self._signer.cert_registry if c.dump() != self._signer.signing_cert.dump()]
        check_signer(self._signer.signing_cert, chain, self._trust)
        self._checked_at = time.monotonic()

    def sign(self, pdf: bytes, *, reason: str = "", location: str = "") -> tuple[bytes, SignatureInfo]:
        from pyhanko.pdf_utils.misc import PdfError
        from pyhanko.sign.general import SigningError as PyHankoSigningError

        if self._check_pdfa:
            from ..render import check_pdfa

            if not isinstance(pdf, (bytes, bytearray)) or b"%PDF-" not in bytes(pdf[:1024]):
                raise SigningError("cannot sign PDF: not a PDF")
            check_pdfa(bytes(pdf))  # PdfaInvalid: a rendering bug; nothing is signed
        self.check()
        when = datetime.now(VN_TZ).replace(microsecond=0)
        try:
            signed, timestamped_at = run_sync(self._sign(bytes(pdf), reason, location, when))
        except (SigningError, PdfaInvalid):
            raise
        except (PdfError, PyHankoSigningError, ValueError, KeyError, IndexError, TypeError) as exc:
            raise SigningError(f"cannot sign PDF: {_one_line(exc)}") from None
        except Exception as exc:  # noqa: BLE001 - TSA / revocation fetch failures: one line
            raise SigningError(f"cannot sign PDF ({self.level}): {exc.__class__.__name__}: {_one_line(exc)}") from None
        return signed, SignatureInfo(
            sha256=hashlib.sha256(signed).hexdigest(),
            signer=self._subject,
            signed_at=iso_vn(when),
            level=self.level,
            timestamped_at=timestamped_at,
        )

    async def _sign(self, pdf: bytes, reason: str, location: str, when: datetime) -> tuple[bytes, str]:
        from pyhanko.pdf_utils.reader import PdfFileReader
        from pyhanko.sign import fields, signers
        from pyhanko.sign.signers.pdf_cms import PdfCMSSignedAttributes

        writer_cls, signer_cls, keep_cls = _pdfa_classes()
        level = self.level
        writer = writer_cls(io.BytesIO(pdf))
        taken = {name for name, *_ in fields.enumerate_sig_fields(writer.prev)}
        name = next(f"Signature{k}" for k in range(1, len(taken) + 2) if f"Signature{k}" not in taken)
        long_term = level in ("B-LT", "B-LTA")
        context = self._trust.context() if long_term and self._trust is not None else None
        meta = signers.PdfSignatureMetadata(
            field_name=name,
            md_algorithm="sha256",
            subfilter=fields.SigSeedSubFilter.PADES,
            reason=reason or None,
            location=location or None,
            embed_validation_info=long_term,
            validation_context=context,
        )
        if self._stamp is not None and self._font is not None and not taken:
            media, words = word_boxes(pdf)
            add_stamp_field(writer, name, stamp_lines(self._stamp, when), self._font, media, words)
        else:  # one copy stamp per document: a later signature (a correction's) is invisible
            _add_invisible_field(writer, name)
        pdf_signer = signer_cls(
            meta, signer=self._signer, stamp_style=keep_cls(), timestamper=self._timestamper if level != "B-B" else None
        )
        session = pdf_signer.init_signing_session(writer, existing_fields_only=True)
        session.system_time = when
        validation = await session.perform_presign_validation(writer)
        reserved = self._reserved.get(level)
        if reserved is None:
            reserved = await session.estimate_signature_container_size(validation, tight=False)
        tbs = session.prepare_tbs_document(validation_info=validation, bytes_reserved=reserved)
        out = io.BytesIO()
        digest, res_output = tbs.digest_tbs_document(output=out)
        await tbs.perform_signature(
            document_digest=digest.document_digest,
            pdf_cms_signed_attrs=PdfCMSSignedAttributes(
                signing_time=when, cades_signed_attrs=meta.cades_signed_attr_spec
            ),
        )
        signed = res_output.getvalue()
        sig = PdfFileReader(io.BytesIO(signed)).embedded_signatures[-1]
        if level not in self._reserved:
            _, len1, start2, _ = sig.byte_range
            self._reserved[level] = int(start2) - int(len1) - 2  # hex digits between < and >
        tst = signature_timestamp_time(sig.signed_data)
        timestamped_at = iso_vn(tst) if tst is not None else ""
        if long_term:
            assert validation is not None and context is not None
            signed = await self._long_term(signed, validation, context, lta=level == "B-LTA")
        return signed, timestamped_at

    async def _long_term(self, signed: bytes, validation: Any, context: Any, *, lta: bool) -> bytes:
        """B-LT: the DSS in the next revision; B-LTA: and a document timestamp in it."""
        from pyhanko.sign import fields
        from pyhanko.sign.signers import PdfTimeStamper
        from pyhanko.sign.signers.pdf_signer import TimestampDSSContentSettings
        from pyhanko.sign.validation import DocumentSecurityStore

        writer_cls, _, _ = _pdfa_classes()
        buf = io.BytesIO(signed)
        writer = writer_cls(buf)
        DocumentSecurityStore.supply_dss_in_writer(
            writer,
            sig_contents=None,
            paths=validation.validation_paths,
            validation_context=context,
            ocsps=validation.ocsps_to_embed,
            crls=validation.crls_to_embed,
            embed_roots=True,
        )
        if not lta:
            writer.write_in_place()
            return buf.getvalue()
        taken = {name for name, *_ in fields.enumerate_sig_fields(writer.prev)}
        name = next(f"DocTimeStamp{k}" for k in range(1, len(taken) + 2) if f"DocTimeStamp{k}" not in taken)
        await PdfTimeStamper(self._timestamper, field_name=name).async_timestamp_pdf(
            writer,
            "sha256",
            context,
            validation_paths=list(validation.validation_paths),
            in_place=True,
            # the TSA's chain goes into the same DSS, before the timestamp: pyHanko's default, a
            # further revision after it, would be written by a writer that rewrites the metadata
            dss_settings=TimestampDSSContentSettings(include_vri=False, update_before_ts=True),
            embed_roots=True,
        )
        return buf.getvalue()


def _one_line(exc: BaseException) -> str:
    return (" ".join(str(exc).split()) or exc.__class__.__name__)[:300]


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
