"""Signing and signature validation.

`make_signer(settings)` gives the production signer when a PKCS#12 is
configured (DIGITIZE_SIGNING_P12 / DIGITIZE_SIGNING_P12_PASSWORD), else the
development signer under `settings.dev_cert_dir` (created on first use).
`trust_roots(settings)` gives the certificates `verify_pdf` should trust
locally: the development CA if one exists, and the self-signed (root) CA
certificates bundled in the production PKCS#12.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..config import Settings
from ..errors import SigningError
from .base import Signer, VerifyReport
from .devcert import dev_ca_certificate, ensure_dev_certificate
from .pyhanko_signer import PyHankoSigner
from .verify import verify_pdf

__all__ = [
    "Signer",
    "VerifyReport",
    "PyHankoSigner",
    "ensure_dev_certificate",
    "make_signer",
    "trust_roots",
    "verify_pdf",
]


def make_signer(settings: Settings) -> Signer:
    if settings.signing_p12 is not None:
        return PyHankoSigner(settings.signing_p12, settings.signing_p12_password)
    p12, password = ensure_dev_certificate(settings.dev_cert_dir)
    return PyHankoSigner(p12, password)


def trust_roots(settings: Settings) -> list[Any]:
    """Certificates (cryptography x509) that `verify_pdf` treats as trusted."""
    roots: list[Any] = []
    dev_ca = dev_ca_certificate(settings.dev_cert_dir)
    if dev_ca is not None:
        roots.append(dev_ca)
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
