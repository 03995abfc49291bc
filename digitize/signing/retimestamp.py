"""Archive timestamp renewal: keeping B-LTA results provable past their TSA's life.

A PAdES B-LTA file is provable as long as its last timestamp is: once the
certificate of the TSA that made it expires (or its algorithms weaken), a new
document timestamp must cover the file, the earlier timestamps and fresh
revocation data for them (ETSI EN 319 142-1 5.5, "B-LTA ... may be repeated").

`last_timestamp(data)` says which timestamp protects a file now (the last
document timestamp, else the signature's own timestamp) and when its TSA's
chain expires. `renew_timestamp(data, timestamper, trust)` adds, as one
incremental update, a DSS with the revocation data fetched now (or the
development CA's fresh CRL) and a new document timestamp. It is written with
the same PDF/A-keeping writer as signing (`pyhanko_signer._pdfa_classes`):
pyHanko's own `update_archival_timestamp_chain` would rewrite the metadata.

`retimestamp_archive` walks the archive like `digitize fixity` (storage keys
under a prefix) and renews the current signed PDF of each indexed result whose
last timestamp expires within the given days. Signed PDFs are retained (S3
object lock; read-only files), so the renewed bytes are stored as the
result's next version (`v{N+1}/`, as a correction is) and the earlier version
stays retrievable and valid; the version's entry in `corrections` (action
"retimestamp") is what `digitize fixity` counts the earlier version by.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from typing import Any

from ..errors import DigitizeError, SigningError, StorageError
from ..types import Correction, Result, SignatureInfo
from .base import common_name, iso_vn, run_sync, tst_time
from .trust import Trust

__all__ = ["LastTimestamp", "Renewal", "last_timestamp", "renew_timestamp", "retimestamp_archive"]

log = logging.getLogger(__name__)

# <agency>/<yyyy>/<mm>/<dd>/<result id>/v<N>/document.pdf: the signed copies (pipeline.store_artefacts)
_SIGNED_KEY = re.compile(r"^(?P<prefix>[^/]+/\d{4}/\d{2}/\d{2}/(?P<rid>[0-9a-f]{32}))/v(?P<v>\d+)/document\.pdf$")
RENEWED_BY = "digitize retimestamp"


@dataclass(frozen=True)
class LastTimestamp:
    kind: str  # "document" (a document timestamp) or "signature" (the signature's own timestamp)
    tsa: str  # common name of the TSA's certificate
    at: datetime  # the time it asserts
    expires: datetime  # the earliest notAfter on the TSA's chain as far as the file carries it


@dataclass(frozen=True)
class Renewal:
    """What happened to one archived result."""

    result_id: str
    key: str  # the signed PDF looked at
    status: str  # renewed, not due, skipped, failed
    detail: str = ""
    new_key: str = ""  # the renewed version's signed PDF
    expires: str = ""  # when the (previous) last timestamp's chain expires, ISO 8601 +07:00


def last_timestamp(data: bytes) -> LastTimestamp | None:
    """The timestamp that protects the file now, or None (no timestamp: B-B)."""
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation.generic_cms import extract_tst_data_iter

    from .verify import _read_dss

    reader = PdfFileReader(io.BytesIO(data), strict=False)
    dss_certs, _, _ = _read_dss(reader)
    for sig in reversed(list(reader.embedded_signatures)):
        if sig.sig_object_type == "/DocTimeStamp":
            kind, token = "document", sig.signed_data
        else:
            kind, token = "signature", next(iter(extract_tst_data_iter(sig.signer_info, signed=False)), None)
        if token is None:
            continue
        cert, chain = _token_chain(token, dss_certs)
        at = tst_time(token)
        if cert is None or at is None:
            continue
        expires = min(c["tbs_certificate"]["validity"]["not_after"].native for c in chain)
        return LastTimestamp(kind=kind, tsa=common_name(cert), at=at, expires=expires)
    return None


def _token_chain(token: Any, pool: list[Any]) -> tuple[Any, list[Any]]:
    """The TSA certificate of a timestamp token and its chain (as far as the token and DSS carry it)."""
    from pyhanko.sign.general import extract_certificate_info

    from .verify import _path_of

    info = extract_certificate_info(token)
    if info.signer_cert is None:
        return None, []
    return info.signer_cert, _path_of(info.signer_cert, [*info.other_certs, *pool], [])


def renew_timestamp(data: bytes, timestamper: Any, trust: Trust) -> bytes:
    """`data` with one more incremental update: fresh revocation data in the DSS and a new
    document timestamp over everything. SigningError when the last timestamp's TSA cannot be
    validated now (expired, revoked, no revocation data): renewing it would prove nothing."""
    from pyhanko.pdf_utils.misc import PdfError

    try:
        return run_sync(_renew(bytes(data), timestamper, trust))
    except SigningError:
        raise
    except (PdfError, ValueError, KeyError, TypeError) as exc:
        raise SigningError(f"cannot add a document timestamp: {_one_line(exc)}") from None
    except Exception as exc:  # noqa: BLE001 - TSA / revocation fetch failures: one line
        raise SigningError(f"cannot add a document timestamp: {exc.__class__.__name__}: {_one_line(exc)}") from None


async def _renew(data: bytes, timestamper: Any, trust: Trust) -> bytes:
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign import fields
    from pyhanko.sign.signers import PdfTimeStamper
    from pyhanko.sign.signers.pdf_signer import TimestampDSSContentSettings

    from .pyhanko_signer import _pdfa_classes

    context = trust.context()
    reader = PdfFileReader(io.BytesIO(data), strict=False)
    tokens = _tokens(reader)
    if not tokens:
        raise SigningError("no signature or timestamp to renew")
    paths = []
    for n, (label, token) in enumerate(tokens):
        try:
            paths.append(await _validation_path(token, context))
        except Exception as exc:  # noqa: BLE001 - certvalidator's errors
            if n == len(tokens) - 1:  # the one the new timestamp must extend
                raise SigningError(
                    f"the last timestamp's TSA cannot be validated now ({_one_line(exc)}); not renewing"
                ) from None
            # an expired signer or earlier TSA: its data went into the DSS while it was valid
            log.info("no fresh validation data for %s: %s", label, _one_line(exc))
    writer_cls, _, _ = _pdfa_classes()
    buf = io.BytesIO(data)
    writer = writer_cls(buf)
    taken = {name for name, *_ in fields.enumerate_sig_fields(writer.prev)}
    name = next(f"DocTimeStamp{k}" for k in range(1, len(taken) + 2) if f"DocTimeStamp{k}" not in taken)
    await PdfTimeStamper(timestamper, field_name=name).async_timestamp_pdf(
        writer,
        "sha256",
        context,
        validation_paths=paths,
        in_place=True,
        # the DSS (earlier chains' fresh data and the new TSA's chain) in the same revision, before
        # the timestamp: a further revision would be written by a writer that rewrites the metadata
        dss_settings=TimestampDSSContentSettings(include_vri=False, update_before_ts=True),
        embed_roots=True,
    )
    return buf.getvalue()


def _tokens(reader: Any) -> list[tuple[str, Any]]:
    """Every CMS SignedData of the file in order (signatures, their timestamps, document timestamps);
    the last is the timestamp that protects the file now."""
    from pyhanko.sign.validation.generic_cms import extract_tst_data_iter

    out: list[tuple[str, Any]] = []
    for sig in reader.embedded_signatures:
        out.append((sig.field_name, sig.signed_data))
        if sig.sig_object_type != "/DocTimeStamp":
            out.extend((f"{sig.field_name} timestamp", t) for t in extract_tst_data_iter(sig.signer_info, signed=False))
    while out and not _is_timestamp(out[-1][1]):  # a last signature without a timestamp protects nothing
        out.pop()
    return out


def _is_timestamp(token: Any) -> bool:
    return token["encap_content_info"]["content_type"].native == "tst_info"


async def _validation_path(token: Any, context: Any) -> Any:
    from pyhanko.sign.general import extract_certificate_info
    from pyhanko_certvalidator import CertificateValidator

    info = extract_certificate_info(token)
    validator = CertificateValidator(
        info.signer_cert, intermediate_certs=list(info.other_certs), validation_context=context
    )
    return await validator.async_validate_usage(set())


# ------------------------------------------------------------------ the archive


def retimestamp_archive(
    storage: Any,
    index: Any,
    timestamper: Any,
    trust: Trust,
    roots: list[Any],
    *,
    prefix: str = "",
    within_days: int = 365,
    now: datetime | None = None,
) -> Iterator[Renewal]:
    """Renew, result by result, the current signed PDF of every indexed result under `prefix`
    whose last timestamp's chain expires within `within_days` (from `now`). Yields one Renewal
    per signed PDF looked at; a failure of one result does not stop the others. Raises
    StorageError when the archive cannot be listed."""
    now = now or datetime.now(timezone.utc)
    horizon = now + timedelta(days=within_days)
    results: dict[str, Result | None] = {}
    for key in list(storage.list(prefix)):  # listed first: the walk writes new keys under the prefix
        m = _SIGNED_KEY.match(key)
        if not m:
            continue
        rid = m["rid"]
        if rid not in results:
            results[rid] = index.get(rid)
        result = results[rid]
        if result is None or result.keys.get("pdf") != key:
            continue  # an earlier version, or not indexed: fixity's business, not renewed
        try:
            yield _renew_result(result, key, storage, index, timestamper, trust, roots, horizon, now)
        except DigitizeError as exc:
            yield Renewal(rid, key, "failed", str(exc))


def _renew_result(
    result: Result,
    key: str,
    storage: Any,
    index: Any,
    timestamper: Any,
    trust: Trust,
    roots: list[Any],
    horizon: datetime,
    now: datetime,
) -> Renewal:
    from .verify import verify_pdf

    rid = result.id
    data = storage.get(key)
    last = last_timestamp(data)
    if last is None:
        return Renewal(rid, key, "skipped", "no timestamp (PAdES B-B): nothing to renew")
    expires = iso_vn(last.expires)
    if last.expires > horizon:
        return Renewal(rid, key, "not due", f"{last.kind} timestamp by {last.tsa!r}", expires=expires)
    report = verify_pdf(data, roots)
    if not report.valid:  # renewing would seal whatever changed it
        return Renewal(
            rid, key, "failed", "signature not valid: " + ("; ".join(report.problems) or "changed"), expires=expires
        )
    renewed = renew_timestamp(data, timestamper, trust)
    after = verify_pdf(renewed, roots)
    if not after.valid or after.level != "B-LTA":
        return Renewal(
            rid, key, "failed", "renewed file does not validate: " + "; ".join(after.problems), expires=expires
        )
    new_key = _store_version(result, renewed, after.archive_timestamped_at, last, storage, index, now)
    return Renewal(
        rid, key, "renewed", f"{last.kind} timestamp by {last.tsa!r} renewed", new_key=new_key, expires=expires
    )


def _store_version(
    result: Result, pdf: bytes, stamped_at: str, last: LastTimestamp, storage: Any, index: Any, now: datetime
) -> str:
    """Store `pdf` as the result's next version, the way `pipeline.store_artefacts` does (words,
    JSON, then the retained signed PDF last), and index it. Returns the new PDF's key."""
    from ..review import version_key

    current = index.get(result.id)
    if current is None or current.keys.get("pdf") != result.keys["pdf"]:
        raise StorageError("the result changed while it was renewed (a correction?); run again")
    version = current.version + 1
    keys = {name: version_key(current, name, version) for name in ("pdf", "json", "words")}
    if storage.exists(keys["pdf"]):
        raise StorageError(f"{keys['pdf']} is already stored (a run stopped before indexing it?); see digitize fixity")
    if current.keys.get("original"):
        keys["original"] = current.keys["original"]
    words_key = current.keys.get("words")
    if words_key:
        storage.put(keys["words"], storage.get(words_key), content_type="application/json")
    else:
        del keys["words"]
    signature = current.pdf or SignatureInfo(sha256="", signer="", signed_at="")
    doc = replace(
        current,
        version=version,
        keys=keys,
        updated_at=iso_vn(now),
        pdf=replace(
            signature, sha256=hashlib.sha256(pdf).hexdigest(), level="B-LTA", archive_timestamped_at=stamped_at
        ),
        # the version log: `digitize fixity` accounts for the earlier version by this entry
        corrections=(
            *current.corrections,
            Correction(
                version=version,
                record=None,
                field=None,
                old=None,
                new=None,
                action="retimestamp",
                by=RENEWED_BY,
                at=iso_vn(now),
                detail=f"{last.kind} timestamp by {last.tsa!r} expiring {iso_vn(last.expires)} renewed",
            ),
        ),
    )
    storage.put(
        keys["json"],
        json.dumps(doc.to_dict(), ensure_ascii=False, indent=2).encode("utf-8"),
        content_type="application/json",
    )
    storage.put(keys["pdf"], pdf, content_type="application/pdf", retain=True)
    index.upsert(doc)
    return keys["pdf"]


def _one_line(exc: BaseException) -> str:
    return (" ".join(str(exc).split()) or exc.__class__.__name__)[:300]
