"""The signatures already inside an input PDF: who signed it, when, how, and
whether the signed bytes are still the ones that were signed.

Real inputs at the counter and in archives are often signed PDFs (an
"Ủy ban nhân dân tỉnh …" signature, a "TRUNG TÂM CÔNG BÁO VÀ TIN HỌC"
publication stamp, a Nghị định 30 electronic copy), with subfilters
ETSI.CAdES.detached or adbe.pkcs7.detached and sometimes SHA-1. These are facts
about the document (CONTRACT `source.signatures`) and evidence for its fields:
a document is not issued after it was signed.

The file is read the way a signature is defined: each `/ByteRange [a b c d]`
names the signed bytes and the hole between them holds the hex CMS container.
That works on files a strict PDF reader refuses (encrypted with an empty user
password, owner-restricted, with irregular cross-reference tables), and it
never changes the input. `valid` means the signed attributes' message digest
equals the digest of the signed ranges and the signer's key verifies the
signature. `trusted` means, in addition, that the signer's certificate chains
to one of the `trust_roots` given (the configured trust store `verify` uses:
the national root and Ban Cơ yếu's roots in production) and was valid at the
signing time the signature states; `trust_reason` says why or why not and
`trust_anchor` names the root reached. Revocation is not checked (offline; an
input's signer may be revoked long after it signed). Without trust roots,
`trusted` is False ("not checked").
`read_signatures` never raises on bad input: it returns what it could read."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from typing import Any

from ..types import InputSignature
from .base import common_name, iso_vn, run_sync

__all__ = ["read_signatures"]

_BYTE_RANGE = re.compile(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]")
_SUBFILTER = re.compile(rb"/SubFilter\s*/([A-Za-z0-9.#_-]+)")
_HEX = re.compile(rb"<\s*([0-9A-Fa-f\s]*)>")
_CONTENTS = re.compile(rb"/Contents\s*<\s*([0-9A-Fa-f\s]{64,})>")
_CONTAINER_WINDOW = 200_000
# /M (D:YYYYMMDDHHmmSS+HH'mm'); pyHanko writes the colon, sign and apostrophes as octal escapes
# (\072, \053, \047), so the string is unescaped before it is read
_PDF_DATE_STRING = re.compile(rb"/M\s*\(((?:[^()\\]|\\.){0,120})\)")
_PDF_DATE = re.compile(rb"D:(\d{14})(Z|[+-]\d{2}'?\d{2}'?)?")
_OCTAL = re.compile(rb"\\([0-7]{1,3})")
_DIGESTS = {
    "sha1": hashlib.sha1,
    "sha224": hashlib.sha224,
    "sha256": hashlib.sha256,
    "sha384": hashlib.sha384,
    "sha512": hashlib.sha512,
}
# How far from its /ByteRange a signature dictionary's /SubFilter may sit (the
# dictionary also holds the container, whose hex may be tens of kilobytes).
_DICT_WINDOW = 1024


def read_signatures(data: bytes, trust_roots: Iterable[Any] | None = None) -> tuple[InputSignature, ...]:
    """Every signature whose byte ranges lie inside `data`, in file order, each checked against
    `trust_roots` (certificates in any form `verify.load_certificates` reads; None: not checked)."""
    if b"%PDF-" not in data[:1024]:
        return ()
    from .verify import load_certificates

    try:
        roots = load_certificates(trust_roots or ())
    except Exception:  # noqa: BLE001 - a broken trust root: nothing can be trusted by it
        roots = []
    found: list[InputSignature] = []
    seen: set[tuple[int, ...]] = set()
    for match in _BYTE_RANGE.finditer(data):
        ranges = tuple(int(g) for g in match.groups())
        if ranges in seen:
            continue
        seen.add(ranges)
        signature = _read_one(data, ranges, match.start(), match.end(), roots, trust_roots is not None)
        if signature is not None:
            found.append(signature)
    return tuple(found)


def _read_one(
    data: bytes, ranges: tuple[int, ...], at: int, end: int, roots: list[Any], checked: bool
) -> InputSignature | None:
    a, b, c, d = ranges
    if a != 0 or not 0 < b < c or d < 0:
        return None
    hole = _HEX.fullmatch(data[b:c])
    in_place = hole is not None
    if hole is None:
        # The ranges no longer fit the file (it was re-saved after signing): the container is
        # still in the signature dictionary, and the signature is reported, as not valid.
        hole = _CONTENTS.search(data, max(0, at - _CONTAINER_WINDOW), end + _CONTAINER_WINDOW)
        if hole is None:
            return None
    try:
        raw = bytes.fromhex(re.sub(rb"\s", b"", hole.group(1)).decode("ascii"))
    except ValueError:
        return None
    window = data[max(0, at - _DICT_WINDOW) : at] + data[end : end + _DICT_WINDOW]
    # the dictionary's /SubFilter is before /ByteRange or after it (hex hole skipped)
    around = data[max(0, b - _DICT_WINDOW) : b] + data[c : c + _DICT_WINDOW] + window
    sub = _SUBFILTER.search(around)
    subfilter = sub.group(1).decode("ascii", "replace") if sub else ""
    signed = data[a : a + b] + data[c : c + d] if c + d <= len(data) else b""
    try:
        facts = _container_facts(raw, signed)
    except Exception:  # noqa: BLE001 - a container we cannot parse is reported as invalid
        facts = {
            "signer": "",
            "signed_at": "",
            "stamped_at": "",
            "valid": False,
            "digest_algorithm": "",
            "organization": "",
            "cert": None,
            "certs": [],
        }
    signed_at = facts["stamped_at"] or _reconciled(facts["signed_at"], _dictionary_time(around))
    if not in_place:
        facts["valid"] = False
    # a signature covers the whole file when nothing but line ends follows its last signed byte
    covers = c + d >= len(data.rstrip(b"\r\n\x00 "))
    if not checked:
        trusted, reason, anchor = False, "not checked: no trust anchors configured", ""
    else:
        when = datetime.fromisoformat(signed_at) if signed_at else None
        trusted, reason, anchor = _trust(facts["cert"], facts["certs"], roots, when, facts["valid"])
    return InputSignature(
        signer=facts["signer"],
        signed_at=signed_at,
        subfilter=subfilter,
        valid=facts["valid"],
        covers_whole_file=covers,
        trusted=trusted,
        digest_algorithm=facts["digest_algorithm"],
        organization=facts["organization"],
        byte_range=ranges,
        trust_reason=reason,
        trust_anchor=anchor,
    )


def _trust(cert: Any, certs: list[Any], roots: list[Any], when: datetime | None, valid: bool) -> tuple[bool, str, str]:
    """(trusted, reason, anchor): does the signer's certificate chain to one of `roots`, valid at
    `when` (the signing time the signature states; now if none)? Offline: revocation is not checked."""
    from pyhanko_certvalidator import CertificateValidator, ValidationContext
    from pyhanko_certvalidator.errors import ExpiredError, NotYetValidError, PathBuildingError

    if not valid:
        return False, "signature not valid: the trust of its certificate does not matter", ""
    if cert is None:
        return False, "no signer certificate in the signature", ""
    if not roots:
        return False, "no trust anchors configured", ""
    if cert.self_signed != "no" and cert.dump() not in {r.dump() for r in roots}:
        return False, "self-signed certificate, not a configured trust anchor", ""
    moment = when or datetime.now(timezone.utc)
    context = ValidationContext(
        trust_roots=list(roots),
        other_certs=list(certs),
        allow_fetching=False,
        revocation_mode="soft-fail",
        moment=moment,
    )
    validator = CertificateValidator(cert, intermediate_certs=list(certs), validation_context=context)
    try:
        path = run_sync(validator.async_validate_usage(set()))
    except PathBuildingError:
        return False, "does not chain to a configured trust anchor", ""
    except (ExpiredError, NotYetValidError):
        return False, f"certificate not valid at its signing time {iso_vn(moment)}", ""
    except Exception as exc:  # noqa: BLE001 - any other path validation failure: one line
        return False, "certificate chain not valid: " + (" ".join(str(exc).split()) or type(exc).__name__)[:200], ""
    anchor = common_name(path.trust_anchor.authority.certificate) if _has_anchor_cert(path) else ""
    return True, f"chains to trust anchor {anchor!r} (revocation not checked)", anchor


def _has_anchor_cert(path: Any) -> bool:
    try:
        return path.trust_anchor.authority.certificate is not None
    except AttributeError:
        return False


def _dictionary_time(around: bytes) -> str:
    """The signature dictionary's /M (the signer's own clock), where the container has no signing time
    (CAdES signatures carry it in the dictionary only)."""
    from datetime import timedelta, timezone

    raw = _PDF_DATE_STRING.search(around)
    m = _PDF_DATE.match(_OCTAL.sub(lambda o: bytes([int(o.group(1), 8) & 0xFF]), raw.group(1))) if raw else None
    if not m:
        return ""
    try:
        when = datetime.strptime(m.group(1).decode(), "%Y%m%d%H%M%S")
    except ValueError:
        return ""
    zone = (m.group(2) or b"Z").decode().replace("'", "")
    if zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        when = when.replace(tzinfo=timezone(sign * timedelta(hours=int(zone[1:3]), minutes=int(zone[3:5] or 0))))
    return iso_vn(when)


def _signature_timestamp(signer_info) -> datetime | None:  # noqa: ANN001 - an asn1crypto SignerInfo
    """The time of the signature's timestamp token (a time-stamping authority's, unsigned
    attribute), where it carries one: the one clock in a signature that is not the signer's."""
    from asn1crypto import tsp  # noqa: F401 - registers TSTInfo, so the token's content parses

    for attr in signer_info["unsigned_attrs"] or []:
        if attr["type"].native != "signature_time_stamp_token":
            continue
        try:
            token = attr["values"][0]
            when = token["content"]["encap_content_info"]["content"].parsed["gen_time"].native
        except Exception:  # noqa: BLE001 - a token we cannot parse gives no time
            return None
        return when if isinstance(when, datetime) else None
    return None


def _reconciled(claimed: str, dictionary: str) -> str:
    """The signer's signing time, where no time-stamp token gives one: the container's
    signing-time attribute, unless it holds the dictionary's (/M) wall clock written as UTC,
    then /M. On the real scans the Công báo centre's signing software did so on all 6 of its
    signatures and the province's on 1 of 5: 7 hours ahead of /M, which the printed stamps and
    the time-stamp tokens agree with to the minute."""
    if not claimed or not dictionary:
        return claimed or dictionary
    said, put = datetime.fromisoformat(claimed), datetime.fromisoformat(dictionary)
    offset = put.utcoffset()
    if offset and abs((said - put) - offset).total_seconds() <= 90:
        return dictionary
    return claimed


def _container_facts(raw: bytes, signed: bytes) -> dict:
    from asn1crypto import cms

    info = cms.ContentInfo.load(raw)
    signed_data = info["content"]
    signer_info = signed_data["signer_infos"][0]
    certs = [c.chosen for c in signed_data["certificates"] or [] if c.name == "certificate"]
    sid = signer_info["sid"]
    if sid.name == "issuer_and_serial_number":
        serial = sid.chosen["serial_number"].native
        cert = next((x for x in certs if x.serial_number == serial), None)
    else:
        cert = next((x for x in certs if x.key_identifier == sid.chosen.native), None)
    digest_name = signer_info["digest_algorithm"]["algorithm"].native
    attrs = signer_info["signed_attrs"]
    message_digest = signing_time = None
    for attr in attrs or []:
        kind = attr["type"].native
        if kind == "message_digest":
            message_digest = attr["values"][0].native
        elif kind == "signing_time":
            signing_time = attr["values"][0].native
    hasher = _DIGESTS.get(digest_name)
    encap = signed_data["encap_content_info"]
    if encap["content_type"].native == "tst_info":
        # a document timestamp (ETSI.RFC3161): the token signs its TSTInfo, whose message
        # imprint is the digest of the signed ranges
        tst_info = encap["content"].parsed
        imprint = tst_info["message_imprint"]
        imprint_hasher = _DIGESTS.get(imprint["hash_algorithm"]["algorithm"].native)
        covered = bool(imprint_hasher and imprint_hasher(signed).digest() == imprint["hashed_message"].native)
        intact = covered and bool(
            hasher and message_digest is not None and hasher(encap["content"].contents).digest() == message_digest
        )
        signing_time = signing_time or tst_info["gen_time"].native
    else:
        intact = bool(hasher and message_digest is not None and hasher(signed).digest() == message_digest)
    verified = intact and cert is not None and _verify(cert, signer_info, digest_name)
    subject = cert.subject.native if cert is not None else {}
    organization = subject.get("organization_name", "") if isinstance(subject, dict) else ""
    if isinstance(organization, list):
        organization = ", ".join(organization)
    when = signing_time if isinstance(signing_time, datetime) else None
    stamped = _signature_timestamp(signer_info)
    return {
        "signer": common_name(cert) if cert is not None else "",
        "signed_at": iso_vn(when) if when else "",
        "stamped_at": iso_vn(stamped) if stamped else "",
        "valid": verified,
        "digest_algorithm": digest_name or "",
        "organization": str(organization or ""),
        "cert": cert,
        "certs": certs,
    }


def _verify(cert, signer_info, digest_name: str) -> bool:  # noqa: ANN001 - asn1crypto objects
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

    algorithms: dict[str, Callable[[], hashes.HashAlgorithm]] = {
        "sha1": hashes.SHA1,
        "sha224": hashes.SHA224,
        "sha256": hashes.SHA256,
        "sha384": hashes.SHA384,
        "sha512": hashes.SHA512,
    }
    try:
        key = x509.load_der_x509_certificate(cert.dump()).public_key()
        message = signer_info["signed_attrs"].untag().dump()
        value = signer_info["signature"].native
        algorithm = algorithms[digest_name]()
        if isinstance(key, rsa.RSAPublicKey):
            if signer_info["signature_algorithm"]["algorithm"].native == "rsassa_pss":
                key.verify(value, message, padding.PSS(padding.MGF1(algorithm), padding.PSS.AUTO), algorithm)
            else:
                key.verify(value, message, padding.PKCS1v15(), algorithm)
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(value, message, ec.ECDSA(algorithm))
        else:
            return False
        return True
    except (InvalidSignature, UnsupportedAlgorithm, KeyError, ValueError, TypeError):
        return False
