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
signature; `trusted` needs a trust root, which the input's signatures are not
checked against here (no network, no national root store), so it is False.
`read_signatures` never raises on bad input: it returns what it could read."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime

from ..types import InputSignature
from .base import common_name, iso_vn

__all__ = ["read_signatures"]

_BYTE_RANGE = re.compile(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]")
_SUBFILTER = re.compile(rb"/SubFilter\s*/([A-Za-z0-9.#_-]+)")
_HEX = re.compile(rb"<\s*([0-9A-Fa-f\s]*)>")
_CONTENTS = re.compile(rb"/Contents\s*<\s*([0-9A-Fa-f\s]{64,})>")
_CONTAINER_WINDOW = 200_000
# (the colon may be written as the octal escape \072, as pyHanko does)
_PDF_DATE = re.compile(rb"/M\s*\(D(?::|\\072)(\d{14})(Z|[+-]\d{2}'?\d{2}'?)?")
_DIGESTS = {"sha1": hashlib.sha1, "sha224": hashlib.sha224, "sha256": hashlib.sha256, "sha384": hashlib.sha384,
            "sha512": hashlib.sha512}
# How far from its /ByteRange a signature dictionary's /SubFilter may sit (the
# dictionary also holds the container, whose hex may be tens of kilobytes).
_DICT_WINDOW = 1024


def read_signatures(data: bytes) -> tuple[InputSignature, ...]:
    """Every signature whose byte ranges lie inside `data`, in file order."""
    if b"%PDF-" not in data[:1024]:
        return ()
    found: list[InputSignature] = []
    seen: set[tuple[int, ...]] = set()
    for match in _BYTE_RANGE.finditer(data):
        ranges = tuple(int(g) for g in match.groups())
        if ranges in seen:
            continue
        seen.add(ranges)
        signature = _read_one(data, ranges, match.start(), match.end())
        if signature is not None:
            found.append(signature)
    return tuple(found)


def _read_one(data: bytes, ranges: tuple[int, ...], at: int, end: int) -> InputSignature | None:
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
    window = data[max(0, at - _DICT_WINDOW):at] + data[end:end + _DICT_WINDOW]
    # the dictionary's /SubFilter is before /ByteRange or after it (hex hole skipped)
    around = data[max(0, b - _DICT_WINDOW):b] + data[c:c + _DICT_WINDOW] + window
    sub = _SUBFILTER.search(around)
    subfilter = sub.group(1).decode("ascii", "replace") if sub else ""
    signed = data[a:a + b] + data[c:c + d] if c + d <= len(data) else b""
    try:
        facts = _container_facts(raw, signed)
    except Exception:  # noqa: BLE001 - a container we cannot parse is reported as invalid
        facts = {"signer": "", "signed_at": "", "valid": False, "digest_algorithm": "", "organization": ""}
    signed_at = facts["signed_at"] or _dictionary_time(around)
    if not in_place:
        facts["valid"] = False
    # a signature covers the whole file when nothing but line ends follows its last signed byte
    covers = c + d >= len(data.rstrip(b"\r\n\x00 "))
    return InputSignature(signer=facts["signer"], signed_at=signed_at, subfilter=subfilter,
                          valid=facts["valid"], covers_whole_file=covers, trusted=False,
                          digest_algorithm=facts["digest_algorithm"],
                          organization=facts["organization"], byte_range=ranges)


def _dictionary_time(around: bytes) -> str:
    """The signature dictionary's /M (the signer's own clock), where the container has no signing time
    (CAdES signatures carry it in the dictionary only)."""
    from datetime import timedelta, timezone

    m = _PDF_DATE.search(around)
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
    intact = bool(hasher and message_digest is not None and hasher(signed).digest() == message_digest)
    verified = intact and cert is not None and _verify(cert, signer_info, digest_name)
    subject = cert.subject.native if cert is not None else {}
    organization = subject.get("organization_name", "") if isinstance(subject, dict) else ""
    if isinstance(organization, list):
        organization = ", ".join(organization)
    when = signing_time if isinstance(signing_time, datetime) else None
    return {"signer": common_name(cert) if cert is not None else "", "signed_at": iso_vn(when) if when else "",
            "valid": verified, "digest_algorithm": digest_name or "", "organization": str(organization or "")}


def _verify(cert, signer_info, digest_name: str) -> bool:  # noqa: ANN001 - asn1crypto objects
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

    algorithms = {"sha1": hashes.SHA1, "sha224": hashes.SHA224, "sha256": hashes.SHA256, "sha384": hashes.SHA384,
                  "sha512": hashes.SHA512}
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
