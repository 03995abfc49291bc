"""Signing and signature validation.

`make_signer(settings)` gives the production signer when a PKCS#11 token
(DIGITIZE_PKCS11_*) or a PKCS#12 is configured (DIGITIZE_SIGNING_P12 /
DIGITIZE_SIGNING_P12_PASSWORD), else the
development signer under `settings.dev_cert_dir` (created on first use). It
signs with the Nghị định 30 copy stamp, checks the PDF/A and the signer's
certificate first, and reaches the configured level: by default B-LTA where a
TSA is available (DIGITIZE_TSA_URL, or the development TSA in-process with the
development certificate: NOT FOR PRODUCTION), B-B with a production PKCS#12
and no TSA (logged).
`trust_roots(settings)` gives the certificates `verify_pdf` should trust
locally: DIGITIZE_TRUST_ROOTS, the development CA (and retired ones) if one
exists, and the self-signed (root) CA certificates bundled in the production
PKCS#12.
`make_timestamper(settings)` and `make_trust(settings)` give the TSA and the
trust store (with its revocation sources: OCSP/CRL fetched online in
production, the development CA's CRL otherwise) on their own, for renewing
archive timestamps (`digitize retimestamp`) where no signing key is needed.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from ..config import Settings
from ..errors import SigningError
from .base import Signer, VerifyReport
from .devcert import DevAuthority, dev_ca_certificates, ensure_dev_certificate
from .pyhanko_signer import PyHankoSigner
from .verify import verify_pdf

__all__ = [
    "Signer",
    "VerifyReport",
    "PyHankoSigner",
    "ensure_dev_certificate",
    "make_signer",
    "make_timestamper",
    "make_trust",
    "trust_roots",
    "verify_pdf",
    "warm_up",
]


log = logging.getLogger(__name__)


def make_signer(settings: Settings) -> Signer:
    from .stamp import StampSpec
    from .trust import Trust
    from .verify import load_certificates

    stamp = StampSpec(settings.copy_form, settings.agency_name or settings.agency, settings.stamp_font)
    timestamper: Any = _http_timestamper(settings.tsa_url) if settings.tsa_url else None
    key: Any = None
    if settings.pkcs11_module is not None:  # a token or HSM: the key never leaves it
        from .pyhanko_signer import pkcs11_key

        key = pkcs11_key(settings.pkcs11_module, settings.pkcs11_token, settings.pkcs11_key, settings.pkcs11_pin)
        p12, password = None, ""
        trust = Trust(roots=tuple(load_certificates(trust_roots(settings))), fetch=True)
    elif settings.signing_p12 is not None:
        p12, password = Path(settings.signing_p12), settings.signing_p12_password
        trust = Trust(roots=tuple(load_certificates(trust_roots(settings))), fetch=True)
    else:
        from .pyhanko_signer import key_signer

        dev = DevAuthority(settings.dev_cert_dir)  # NOT FOR PRODUCTION: dev CA, TSA and CRL in-process
        key = key_signer(dev.signer_key, dev.signer_cert, dev.signer_chain)
        p12, password = None, ""
        timestamper = timestamper or dev.timestamper()
        trust = Trust(roots=tuple(load_certificates(trust_roots(settings))), local_crls=lambda: [dev.crl()])
    level = settings.signing_level
    if level == "auto":
        level = "B-LTA" if timestamper is not None else "B-B"
        if timestamper is None:
            log.warning("no time-stamping authority configured (DIGITIZE_TSA_URL): signing at PAdES B-B only")
    return PyHankoSigner(
        p12, password, level=level, timestamper=timestamper, trust=trust, stamp=stamp, check_pdfa=True, key=key
    )


def warm_up() -> None:
    """Import what a signature uses beyond what building the signer did (pyHanko's writer and
    CMS modules, pdfminer for placing the stamp): ~0.1 s a long-lived worker's first result
    would otherwise wait for. Nothing is signed: a production signature costs a token's or a
    TSA's work."""
    import pdfminer.high_level  # noqa: F401
    import pdfminer.layout  # noqa: F401
    import pyhanko.pdf_utils.reader  # noqa: F401
    import pyhanko.sign.fields  # noqa: F401
    import pyhanko.sign.signers.pdf_cms  # noqa: F401


def _production(settings: Settings) -> bool:
    return settings.pkcs11_module is not None or settings.signing_p12 is not None


def make_timestamper(settings: Settings) -> Any:
    """The configured TSA (DIGITIZE_TSA_URL); without one, the development TSA where the
    development certificate signs (NOT FOR PRODUCTION), else None."""
    if settings.tsa_url:
        return _http_timestamper(settings.tsa_url)
    if _production(settings):
        return None
    return DevAuthority(settings.dev_cert_dir).timestamper()


def _http_timestamper(url: str) -> Any:
    # imported only where a TSA URL is configured: `requests` and pyHanko's client cost a
    # start without one (the development TSA is in-process) some 0.1-0.2 s
    from pyhanko.sign.timestamps.requests_client import RequestsHTTPTimeStamper

    return RequestsHTTPTimeStamper(url, timeout=30)


def make_trust(settings: Settings) -> Any:
    """The trust store of `make_signer`: trust anchors, and revocation data fetched from the
    certificates' OCSP responders and CRL distribution points (production) or the development
    CA's fresh CRL."""
    from .trust import Trust
    from .verify import load_certificates

    roots = tuple(load_certificates(trust_roots(settings)))
    if _production(settings):
        return Trust(roots=roots, fetch=True)
    dev = DevAuthority(settings.dev_cert_dir)
    return Trust(roots=roots, local_crls=lambda: [dev.crl()])


def trust_roots(settings: Settings) -> list[Any]:
    """Certificates (cryptography x509 or PEM bytes) that `verify_pdf` treats as trusted."""
    roots: list[Any] = []
    if settings.trust_roots_file is not None:
        try:
            roots.append(Path(settings.trust_roots_file).read_bytes())
        except OSError as exc:
            raise SigningError(f"cannot read trust roots {settings.trust_roots_file}: {exc.strerror}") from None
    roots.extend(dev_ca_certificates(settings.dev_cert_dir))
    if settings.signing_p12 is not None:
        roots.extend(_p12_roots(Path(settings.signing_p12), settings.signing_p12_password))
    return roots


def _p12_roots(path: Path, password: str) -> list[Any]:
    from cryptography.hazmat.primitives.serialization import pkcs12

    try:
        _, _, extra = pkcs12.load_key_and_certificates(
            path.read_bytes(), password.encode("utf-8") if password else None
        )
    except (OSError, ValueError) as exc:
        raise SigningError(f"cannot read signing certificate {path}: {exc}") from None
    return [c for c in extra if c.subject == c.issuer]
