"""Check the signatures of a PDF: is it unchanged since it was signed?

`verify_pdf` never raises on bad input; it returns a `VerifyReport`.

`valid` means: at least one signature; every signature cryptographically
valid and intact (pyHanko); the last one covers the whole file (nothing
appended after signing); earlier ones are followed only by updates they
allow (more signatures, form filling); and nothing in the one region no
digest covers, the signature container in /Contents, was altered:

- /Contents is one hex string of one case: the DER container, then zeros;
- the container's lengths are consistent and minimal (DER);
- its unsigned fields are what RFC 5652 prescribes (versions, detached
  content, digest algorithm list, NULL/absent parameters), and the signer
  identifier matches a carried certificate byte for byte;
- each carried certificate verifies under its issuer when that is at hand
  (carried or a trust root), one presenting itself as a root under its own
  key, and a carried copy of a trust root is that root.

With these, changing any single byte of a file signed here makes it
invalid (checked by flipping every byte of the container; see the tests).

`trusted` (separate from `valid`) means the signer's certificate chains to
one of `trust_roots` (for local use: the development CA).

Long-term validation facts (reported, they do not change `valid`):
`level` (B-B: a signature; B-T: with a signature timestamp; B-LT: and a DSS
holding revocation data; B-LTA: and a document timestamp after the last
signature), `timestamped_at` (the signature timestamp), `archive_timestamped_at`
(the last document timestamp), `certificates` (each certificate of the signer's
and the timestamps' chains with its revocation status as the embedded OCSP
responses and CRLs say: good, revoked, no data, or trust anchor) and
`trust_anchor` (the root the signer's chain reached). Document timestamps
(ETSI.RFC3161) are checked like signatures: intact, and only the last may be
followed by nothing.
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, cast

from .base import VerifyReport, common_name, iso_vn, run_sync, signature_timestamp_time, tst_time

if TYPE_CHECKING:
    from pyhanko.sign.validation.status import DocumentTimestampStatus, PdfSignatureStatus

__all__ = ["verify_pdf", "load_certificates"]

# pyHanko logs validation failures with tracebacks; without this, an
# application that configured no logging would print them on stderr.
logging.getLogger("pyhanko").addHandler(logging.NullHandler())
logging.getLogger("pyhanko_certvalidator").addHandler(logging.NullHandler())
_HEX = re.compile(rb"<([0-9a-fA-F]*)>")


def verify_pdf(data: bytes, trust_roots: Iterable[Any] | None = None) -> VerifyReport:
    """Validate every signature in `data`.

    `trust_roots`: certificates (cryptography or asn1crypto objects, or
    PEM/DER bytes) to which a trusted signer must chain; none = nothing is
    trusted (the operating system's store is never used)."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        return _fail("not a PDF")
    data = bytes(data)
    if b"%PDF-" not in data[:1024]:
        return _fail("not a PDF")
    try:
        roots = load_certificates(trust_roots or ())
    except Exception as exc:  # noqa: BLE001
        return _fail(f"bad trust root: {exc}")
    try:
        return run_sync(_verify(data, roots))
    except Exception as exc:  # noqa: BLE001 - garbage in, report out
        return _fail(f"cannot validate: {_one_line(exc)}")


def load_certificates(items: Iterable[Any]) -> list[Any]:
    """asn1crypto certificates from cryptography/asn1crypto objects or PEM/DER bytes."""
    from asn1crypto import pem, x509 as asn1_x509

    out = []
    for item in items:
        if isinstance(item, asn1_x509.Certificate):
            out.append(item)
            continue
        if hasattr(item, "public_bytes"):  # cryptography.x509.Certificate
            from cryptography.hazmat.primitives.serialization import Encoding

            item = item.public_bytes(Encoding.DER)
        if isinstance(item, str):
            item = item.encode("ascii")
        if not isinstance(item, (bytes, bytearray)):
            raise ValueError(f"not a certificate: {type(item).__name__}")
        item = bytes(item)
        if pem.detect(item):
            out.extend(asn1_x509.Certificate.load(der) for _, _, der in pem.unarmor(item, multiple=True))
        else:
            out.append(asn1_x509.Certificate.load(item))
    for cert in out:
        cert.native  # parse now: a broken certificate fails here, not in the validator  # noqa: B018
    return out


def _fail(*problems: str) -> VerifyReport:
    return VerifyReport(
        valid=False,
        intact=False,
        covers_whole_file=False,
        signer="",
        signed_at="",
        trusted=False,
        problems=tuple(problems),
    )


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or exc.__class__.__name__
    return text[:300]


async def _verify(data: bytes, roots: list[Any]) -> VerifyReport:
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import async_validate_pdf_signature, async_validate_pdf_timestamp
    from pyhanko.sign.validation.status import SignatureCoverageLevel
    from pyhanko_certvalidator import ValidationContext

    reader = PdfFileReader(io.BytesIO(data), strict=False)
    signatures = list(reader.embedded_signatures)
    if not signatures:
        return _fail("no signature")
    dss_certs, dss_crls, dss_ocsps = _read_dss(reader)

    problems: list[str] = []
    sound = True  # no integrity problem found so far
    intact = True
    trusted = False
    covers = False
    signer = signed_at = timestamped_at = archive_at = anchor = ""
    signer_path: Any = None
    tsa_certs: list[Any] = []
    last_signature = max((i for i, sig in enumerate(signatures) if sig.sig_object_type != "/DocTimeStamp"), default=-1)
    doc_ts_after = False

    def bad(message: str) -> None:
        nonlocal sound
        sound = False
        problems.append(message)

    for i, sig in enumerate(signatures, start=1):
        last = i == len(signatures)
        is_ts = sig.sig_object_type == "/DocTimeStamp"
        label = f"{'document timestamp' if is_ts else 'signature'} {i} ({sig.field_name})"
        context = ValidationContext(
            trust_roots=list(roots), other_certs=dss_certs, crls=dss_crls, ocsps=dss_ocsps, allow_fetching=False
        )
        status: PdfSignatureStatus | DocumentTimestampStatus
        try:
            if is_ts:
                status = await async_validate_pdf_timestamp(sig, validation_context=context)
            else:
                status = await async_validate_pdf_signature(
                    sig, signer_validation_context=context, ts_validation_context=context
                )
            container = _container_problems(data, sig, roots, timestamp=is_ts)
        except Exception as exc:  # noqa: BLE001 - malformed signature
            intact = False
            bad(f"{label}: cannot validate: {_one_line(exc)}")
            continue
        if not status.intact:
            intact = False
            bad(f"{label}: document digest does not match (changed after signing)")
        if not status.valid:
            intact = False
            bad(f"{label}: signature value is not valid")
        for problem in container:
            bad(f"{label}: {problem}")
        if is_ts:
            when = tst_time(sig.signed_data)
            if when is not None:
                archive_at = iso_vn(when)
            tsa_certs.append(status.signing_cert)
            if i - 1 > last_signature:
                doc_ts_after = True
            if not status.trusted:
                problems.append(f"{label}: time-stamping authority does not chain to a trusted root")
        else:
            status = cast("PdfSignatureStatus", status)  # (validated as a signature above)
            tst = signature_timestamp_time(sig.signed_data)
            if i - 1 == last_signature:
                signer = common_name(status.signing_cert)
                when = status.signer_reported_dt or sig.self_reported_timestamp
                signed_at = iso_vn(when) if when is not None else ""
                timestamped_at = iso_vn(tst) if tst is not None else ""
                trusted = bool(status.trusted)
                signer_path = status.validation_path
                if status.timestamp_validity is not None:
                    tsa_certs.append(status.timestamp_validity.signing_cert)
                    if not status.timestamp_validity.intact or not status.timestamp_validity.valid:
                        bad(f"{label}: its signature timestamp is not valid")
                if getattr(status, "revoked", False):
                    problems.append(f"{label}: signer certificate is revoked")
                if not trusted:
                    problems.append(f"{label}: signer certificate does not chain to a trusted root")
        if last:
            covers = status.coverage == SignatureCoverageLevel.ENTIRE_FILE or (
                # B-LT: only validation data (a DSS) added after the signature, and nothing after it
                status.coverage == SignatureCoverageLevel.ENTIRE_REVISION
                and _only_validation_data_after(status)
                and _ends_at_last_revision(data, reader)
            )
            if not covers:
                bad(f"{label}: does not cover the whole file (changed or appended after signing)")
        elif status.coverage != SignatureCoverageLevel.ENTIRE_REVISION or (not is_ts and status.docmdp_ok is not True):
            bad(f"{label}: the document was changed in a way this signature does not allow")
    if last_signature < 0:
        bad("no signature, only document timestamps")

    level = ""
    if last_signature >= 0:
        level = "B-B"
        if timestamped_at:
            level = "B-T"
            if dss_crls or dss_ocsps:
                level = "B-LT"
                if doc_ts_after:
                    level = "B-LTA"
    certificates: list[dict[str, str]] = []
    if signer_path is not None:
        anchor = _anchor_name(signer_path)
        certificates.extend(_revocation_report(signer_path, "signer", dss_crls, dss_ocsps, roots))
    seen = {c["sha256"] for c in certificates}
    for cert in tsa_certs:
        if cert is None:
            continue
        path = _path_of(cert, dss_certs, roots)
        for entry in _revocation_report(path, "tsa", dss_crls, dss_ocsps, roots):
            if entry["sha256"] not in seen:
                seen.add(entry["sha256"])
                certificates.append(entry)

    valid = sound and intact and covers
    return VerifyReport(
        valid=valid,
        intact=intact,
        covers_whole_file=covers,
        signer=signer,
        signed_at=signed_at,
        trusted=trusted and valid,
        problems=tuple(problems),
        level=level if valid else "",
        timestamped_at=timestamped_at,
        archive_timestamped_at=archive_at,
        certificates=tuple(certificates),
        trust_anchor=anchor if trusted and valid else "",
    )


def _only_validation_data_after(status: Any) -> bool:
    from pyhanko.sign.diff_analysis import ModificationLevel

    level = getattr(status, "modification_level", None)
    return level is not None and level <= ModificationLevel.LTA_UPDATES and getattr(status, "docmdp_ok", True) is True


_TAIL = re.compile(rb"startxref\s+(\d+)\s+%%EOF(\r\n|\r|\n)?\Z")


def _ends_at_last_revision(data: bytes, reader: Any) -> bool:
    """The file ends with the last revision's startxref and %%EOF: nothing appended after it."""
    m = _TAIL.search(data[-64:])
    return m is not None and int(m.group(1)) == int(reader.last_startxref)


def _read_dss(reader: Any) -> tuple[list[Any], list[Any], list[Any]]:
    from pyhanko.sign.validation import DocumentSecurityStore

    try:
        dss = DocumentSecurityStore.read_dss(reader)
    except Exception:  # noqa: BLE001 - no DSS (NoDSSFoundError) or an unreadable one
        return [], [], []
    try:
        certs = list(dss.load_certs())
    except Exception:  # noqa: BLE001
        certs = []
    return (
        certs,
        [c.get_object().data if hasattr(c, "get_object") else c for c in dss.crls],
        [o.get_object().data if hasattr(o, "get_object") else o for o in dss.ocsps],
    )


def _anchor_name(path: Any) -> str:
    try:
        return common_name(path.trust_anchor.authority.certificate)
    except Exception:  # noqa: BLE001
        try:
            return common_name(next(iter(path)))
        except Exception:  # noqa: BLE001
            return ""


def _path_of(cert: Any, pool: list[Any], roots: list[Any]) -> list[Any]:
    """cert, then its issuers as far as they are at hand (carried in the DSS or roots)."""
    chain = [cert]
    by_subject = {c.subject.dump(): c for c in [*pool, *roots]}
    while len(chain) < 8 and chain[-1].issuer.dump() != chain[-1].subject.dump():
        issuer = by_subject.get(chain[-1].issuer.dump())
        if issuer is None:
            break
        chain.append(issuer)
    return list(reversed(chain))  # root first, as pyHanko's paths iterate


def _revocation_report(
    path: Any, role: str, crls: list[Any], ocsps: list[Any], roots: list[Any]
) -> list[dict[str, str]]:
    """Per certificate of `path` (root first): its revocation status according to the
    embedded OCSP responses and CRLs (signatures of those are checked by pyHanko's
    validation; here they are matched by issuer and serial number)."""
    import hashlib

    from asn1crypto import crl as asn1_crl, ocsp as asn1_ocsp

    try:
        certs = [c for c in path.iter_certs(include_root=True)] if hasattr(path, "iter_certs") else list(path)
    except Exception:  # noqa: BLE001
        certs = []
    root_der = {r.dump() for r in roots}
    parsed_crls = []
    for item in crls:
        try:
            parsed_crls.append(
                item if isinstance(item, asn1_crl.CertificateList) else asn1_crl.CertificateList.load(item)
            )
        except Exception:  # noqa: BLE001
            continue
    parsed_ocsps = []
    for item in ocsps:
        try:
            parsed_ocsps.append(item if isinstance(item, asn1_ocsp.OCSPResponse) else asn1_ocsp.OCSPResponse.load(item))
        except Exception:  # noqa: BLE001
            continue
    out = []
    for n, cert in enumerate(certs):
        entry = {
            "subject": common_name(cert),
            "role": "ca" if n < len(certs) - 1 else role,
            "sha256": hashlib.sha256(cert.dump()).hexdigest(),
            "revocation": "no data",
            "source": "",
            "checked_at": "",
        }
        if cert.dump() in root_der or cert.self_signed != "no":
            entry.update(revocation="trust anchor", role="root")
            out.append(entry)
            continue
        for resp in parsed_ocsps:
            try:
                basic = resp["response_bytes"]["response"].parsed
                for single in basic["tbs_response_data"]["responses"]:
                    if single["cert_id"]["serial_number"].native == cert.serial_number:
                        kind = single["cert_status"].name
                        if kind not in ("good", "revoked") and entry["revocation"] in ("good", "revoked"):
                            continue  # an "unknown" answer does not undo a definite one
                        entry.update(
                            revocation={"good": "good", "revoked": "revoked"}.get(kind, "unknown"),
                            source="OCSP",
                            checked_at=iso_vn(basic["tbs_response_data"]["produced_at"].native),
                        )
            except Exception:  # noqa: BLE001
                continue
        if entry["source"] == "":
            for crl in parsed_crls:
                if crl.issuer.dump() != cert.issuer.dump():
                    continue
                revoked = any(
                    r["user_certificate"].native == cert.serial_number
                    for r in (crl["tbs_cert_list"]["revoked_certificates"] or [])
                )
                entry.update(
                    revocation="revoked" if revoked else "good",
                    source="CRL",
                    checked_at=iso_vn(crl["tbs_cert_list"]["this_update"].native),
                )
                if revoked:
                    break
        out.append(entry)
    return out


def _container_problems(data: bytes, sig: Any, roots: list[Any], *, timestamp: bool = False) -> list[str]:
    """The bytes of a signature that no digest covers: /Contents must hold
    exactly the CMS container (hex in one case, DER, then zero padding), the
    container's unsigned fields must be the ones RFC 5652 prescribes, and the
    certificates it carries must be the ones their issuers signed."""
    try:
        _, len1, start2, _ = (int(x) for x in sig.byte_range)
    except (TypeError, ValueError):
        return ["unusual byte range"]
    match = _HEX.fullmatch(data[len1:start2])
    if not match:
        return ["/Contents is not exactly one hex string between the signed ranges"]
    problems: list[str] = []
    hexdigits = match.group(1)
    if hexdigits != hexdigits.lower() and hexdigits != hexdigits.upper():
        problems.append("/Contents hex string mixes upper and lower case (altered)")
    raw = bytes.fromhex(hexdigits.decode("ascii"))
    size = _der_size(raw)
    if size is None:
        problems.append("/Contents does not start with a signature container")
        return problems
    if any(raw[size:]):
        problems.append("/Contents has data after the signature container (altered)")
    if _der_walk(raw, 0, size) is False:
        problems.append("signature container has inconsistent lengths (altered)")
    problems.extend(_cms_problems(sig.signed_data, roots, timestamp=timestamp))
    return problems


def _der_size(raw: bytes) -> int | None:
    """Total length of the SEQUENCE at the start of `raw` (definite length)."""
    if len(raw) < 2 or raw[0] != 0x30:
        return None
    first = raw[1]
    if first < 0x80:
        size = 2 + first
    else:
        n = first & 0x7F
        if n == 0 or n > 4 or len(raw) < 2 + n:
            return None
        size = 2 + n + int.from_bytes(raw[2 : 2 + n], "big")
    return size if size <= len(raw) else None


def _der_walk(buf: bytes, start: int, end: int, depth: int = 0) -> bool | None:
    """True if buf[start:end] is a run of DER elements whose constructed
    elements are exactly filled by their children, with minimal lengths;
    None for indefinite lengths (BER from another signer: not judged)."""
    if depth > 64:
        return False
    pos = start
    while pos < end:
        tag = buf[pos]
        pos += 1
        if tag == 0:  # end-of-contents: only in indefinite lengths, never in DER
            return False
        if tag & 0x1F == 0x1F:  # high tag number
            while pos < end and buf[pos] & 0x80:
                pos += 1
            pos += 1
        if pos >= end:
            return False
        first = buf[pos]
        pos += 1
        if first == 0x80:
            return None
        if first & 0x80:
            n = first & 0x7F
            if n == 0 or n > 4 or pos + n > end or buf[pos] == 0:
                return False
            length = int.from_bytes(buf[pos : pos + n], "big")
            pos += n
            if length < 0x80:
                return False  # not the shortest form: DER forbids it
        else:
            length = first
        if pos + length > end:
            return False
        if tag & 0x20:
            inner = _der_walk(buf, pos, pos + length, depth + 1)
            if inner is not True:
                return inner
        pos += length
    return pos == end


_NULL_OR_ABSENT = (b"", b"\x05\x00")


def _cms_problems(signed_data: Any, roots: list[Any], *, timestamp: bool = False) -> list[str]:
    """RFC 5652 consistency of the unauthenticated parts of SignedData, and
    each carried certificate checked against its issuer's key."""
    problems: list[str] = []
    infos = list(signed_data["signer_infos"])
    for info in infos:  # RFC 5652 5.3: version follows the kind of signer identifier
        expected = "v1" if info["sid"].name == "issuer_and_serial_number" else "v3"
        if info["version"].native != expected:
            problems.append("signer info version does not match its identifier (altered)")
        for alg in (info["digest_algorithm"], info["signature_algorithm"]):
            if alg["algorithm"].native != "rsassa_pss" and alg["parameters"].dump() not in _NULL_OR_ABSENT:
                problems.append(f"unexpected parameters for {alg['algorithm'].native} (altered)")
    entries = list(signed_data["certificates"] or [])
    certs = [c.chosen for c in entries if c.name == "certificate"]
    encap = signed_data["encap_content_info"]
    if timestamp:  # an RFC 3161 token: it carries its TSTInfo; SignedData v3 (RFC 5652 5.1)
        if encap["content_type"].native != "tst_info" or encap["content"].native is None:
            problems.append("document timestamp does not carry a TSTInfo")
        elif signed_data["version"].native != "v3":
            problems.append("SignedData version is not the one RFC 5652 requires (altered)")
    else:
        if encap["content_type"].native != "data":
            problems.append("signed content type is not data")
        if encap["content"].native is not None:
            problems.append("signature carries content; a PDF signature is detached")
    if not timestamp and len(certs) == len(entries) and all(i["version"].native == "v1" for i in infos):
        if signed_data["version"].native != "v1":  # RFC 5652 5.1
            problems.append("SignedData version is not the one RFC 5652 requires (altered)")
    listed = {
        (a["algorithm"].native, a["parameters"].dump() in _NULL_OR_ABSENT) for a in signed_data["digest_algorithms"]
    }
    used = {(i["digest_algorithm"]["algorithm"].native, True) for i in infos}
    if listed != used:
        problems.append("digest algorithms listed and used differ (altered)")
    for info in infos:  # name matching is case-insensitive; the identifier must be byte-exact
        sid = info["sid"]
        if sid.name == "issuer_and_serial_number":
            wanted = (sid.chosen["issuer"].dump(), sid.chosen["serial_number"].native)
            if not any((c.issuer.dump(), c.serial_number) == wanted for c in certs):
                problems.append("signer identifier does not match a carried certificate exactly (altered)")
        elif not any(c.key_identifier == sid.chosen.native for c in certs):
            problems.append("signer identifier does not match a carried certificate exactly (altered)")
    problems.extend(_certificate_problems(certs, roots))
    return problems


def _certificate_problems(certs: list[Any], roots: list[Any]) -> list[str]:
    """A carried certificate must verify under its issuer when the issuer is
    at hand (carried or a trust root); one that presents itself as a root
    (issuer = subject, or authority key id = its own key id) must verify
    under its own key; one with a trust root's key must be that root."""
    problems: list[str] = []
    by_subject: dict[bytes, list[Any]] = {}
    for cert in [*certs, *roots]:
        by_subject.setdefault(cert.subject.dump(), []).append(cert)
    root_keys = {r.public_key.dump(): r.dump() for r in roots}
    for cert in certs:
        name = repr(common_name(cert))
        issuers = list(by_subject.get(cert.issuer.dump(), []))
        if _claims_self_signed(cert):
            issuers.append(cert)
        if issuers and not any(_signed_by(cert, issuer) for issuer in issuers):
            problems.append(f"certificate {name} in the signature is not the one its issuer signed (altered)")
        known = root_keys.get(cert.public_key.dump())
        if known is not None and known != cert.dump() and cert.self_signed != "no":
            problems.append(f"certificate {name} in the signature differs from the trusted root (altered)")
    return problems


def _claims_self_signed(cert: Any) -> bool:
    if cert.issuer.dump() == cert.subject.dump():
        return True
    aki, ski = cert.authority_key_identifier, cert.key_identifier
    return aki is not None and aki == ski


def _signed_by(cert: Any, issuer: Any) -> bool:
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm

    try:
        child = x509.load_der_x509_certificate(cert.dump())
        parent = x509.load_der_x509_certificate(issuer.dump())
        child.verify_directly_issued_by(parent)
        return True
    except (InvalidSignature, UnsupportedAlgorithm, ValueError, TypeError):
        return False
