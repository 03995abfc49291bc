"""A development signing certificate, created on first use.

`ensure_dev_certificate(folder)` makes, once, a development root CA and a
signing certificate issued by it (RSA 3072), clearly marked as not for
production, and keeps in `folder`:

  signer.p12           PKCS#12: signing key + certificate + the CA certificate
  signer.p12.password  the PKCS#12's random password (mode 0600)
  ca.pem               the development CA certificate (the local trust root)

Files are written to a temporary name and renamed into place; creation runs
under an exclusive lock on `folder/.lock`, so two processes starting at once
end up with the same certificate. The CA's private key is not kept: the
development CA issues exactly one certificate.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import os
import secrets
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ..errors import SigningError

__all__ = ["ensure_dev_certificate", "dev_ca_certificate", "SIGNER_CN", "CA_CN"]

SIGNER_CN = "digitize DEVELOPMENT signer — NOT FOR PRODUCTION"
CA_CN = "digitize DEVELOPMENT root CA — NOT FOR PRODUCTION"
ORG = "digitize (development)"
P12_NAME = "signer.p12"
PASSWORD_NAME = "signer.p12.password"
CA_NAME = "ca.pem"
VALID_YEARS = 10
KEY_BITS = 3072  # RSA: what Vietnamese CAs issue, and it keeps pyHanko from marking the file PDF 2.0


def ensure_dev_certificate(folder: Path) -> tuple[Path, str]:
    """Return (PKCS#12 path, password) of the development signer, creating
    the CA, certificate and files on first use."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        found = _existing(folder)
        if found:
            return found
        with _locked(folder / ".lock"):
            found = _existing(folder)  # another process may have won the race
            if found:
                return found
            return _create(folder)
    except OSError as exc:
        raise SigningError(f"cannot create development certificate in {folder}: {exc}") from None


def dev_ca_certificate(folder: Path) -> x509.Certificate | None:
    """The development CA certificate in `folder`, if one was created."""
    path = Path(folder) / CA_NAME
    try:
        return x509.load_pem_x509_certificate(path.read_bytes())
    except (OSError, ValueError):
        return None


def _existing(folder: Path) -> tuple[Path, str] | None:
    p12, pw = folder / P12_NAME, folder / PASSWORD_NAME
    if p12.is_file() and pw.is_file() and (folder / CA_NAME).is_file():
        return p12, pw.read_text(encoding="ascii").strip()
    return None


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _write_atomic(path: Path, data: bytes, mode: int) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)  # regardless of umask
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _name(cn: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORG),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )


def _create(folder: Path) -> tuple[Path, str]:
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    start, end = now - dt.timedelta(days=1), now + dt.timedelta(days=365 * VALID_YEARS)

    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    ca_name = _name(CA_CN)
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True,
                crl_sign=True, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ca_ski, critical=False)
        # a root naming its own key: lets verify_pdf tell a carried copy that was altered
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(SIGNER_CN))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end - dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=True, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=False,
                crl_sign=False, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    password = secrets.token_urlsafe(24)
    p12 = pkcs12.serialize_key_and_certificates(
        name=b"digitize-dev-signer",
        key=key,
        cert=cert,
        cas=[ca_cert],
        encryption_algorithm=serialization.BestAvailableEncryption(password.encode("ascii")),
    )
    # the PKCS#12 goes last: its presence marks a complete set
    _write_atomic(folder / PASSWORD_NAME, password.encode("ascii") + b"\n", 0o600)
    _write_atomic(folder / CA_NAME, ca_cert.public_bytes(serialization.Encoding.PEM), 0o644)
    _write_atomic(folder / P12_NAME, p12, 0o600)
    return folder / P12_NAME, password
