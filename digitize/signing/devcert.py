"""A development signing certificate, created on first use.

`ensure_dev_certificate(folder)` makes, once, a development root CA and a
signing certificate issued by it (RSA 3072), clearly marked as not for
production, and keeps in `folder`:

  signer.p12           PKCS#12: signing key + certificate + the CA certificate
  signer.p12.password  the PKCS#12's random password (mode 0600)
  ca.pem               the development CA certificate (the local trust root)
  ca-key.pem           the CA's key, encrypted with the same password (mode 0600):
                       it signs the development CRL
  tsa.p12              the development time-stamping authority (RSA key and a
                       certificate with the critical timeStamping EKU), same password

The development CA also runs, in-process, a development TSA (RFC 3161, through
pyHanko's DummyTimeStamper) and issues a fresh CRL (empty: nothing revoked) on
demand (`DevAuthority`), so that the embedded default reaches PAdES B-LTA
offline. All of it is NOT FOR PRODUCTION, and every name says so.

Files are written to a temporary name and renamed into place; creation runs
under an exclusive lock on `folder/.lock`, so two processes starting at once
end up with the same certificate. A folder made by an earlier version (no CA
key, no TSA) gets a new set; its old CA certificate is kept as
`ca-retired-<serial>.pem` and stays a trust root for what it signed.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import os
import secrets
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ..errors import SigningError

__all__ = ["ensure_dev_certificate", "dev_ca_certificate", "dev_ca_certificates", "DevAuthority",
           "SIGNER_CN", "CA_CN", "TSA_CN"]

SIGNER_CN = "digitize DEVELOPMENT signer — NOT FOR PRODUCTION"
CA_CN = "digitize DEVELOPMENT root CA — NOT FOR PRODUCTION"
TSA_CN = "digitize DEVELOPMENT TSA — NOT FOR PRODUCTION"
ORG = "digitize (development)"
P12_NAME = "signer.p12"
PASSWORD_NAME = "signer.p12.password"
CA_NAME = "ca.pem"
CA_KEY_NAME = "ca-key.pem"
TSA_NAME = "tsa.p12"
RETIRED_GLOB = "ca-retired-*.pem"
CRL_DAYS = 7  # validity of each development CRL (a fresh one is issued per signer)
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


def dev_ca_certificates(folder: Path) -> list[x509.Certificate]:
    """The current development CA and any retired ones (trust roots for what they signed)."""
    found = [c for c in [dev_ca_certificate(folder)] if c is not None]
    for path in sorted(Path(folder).glob(RETIRED_GLOB)):
        try:
            found.append(x509.load_pem_x509_certificate(path.read_bytes()))
        except (OSError, ValueError):
            continue
    return found


class DevAuthority:
    """The development CA's services, in-process: a TSA and a CRL. NOT FOR PRODUCTION."""

    def __init__(self, folder: Path) -> None:
        folder = Path(folder)
        p12, password = ensure_dev_certificate(folder)
        secret = password.encode("ascii")
        try:
            self.ca_cert = x509.load_pem_x509_certificate((folder / CA_NAME).read_bytes())
            self.ca_key = serialization.load_pem_private_key((folder / CA_KEY_NAME).read_bytes(), secret)
            tsa_key, tsa_cert, _ = pkcs12.load_key_and_certificates((folder / TSA_NAME).read_bytes(), secret)
        except (OSError, ValueError) as exc:
            raise SigningError(f"cannot read development CA in {folder}: {exc}") from None
        assert tsa_key is not None and tsa_cert is not None
        self.tsa_cert, self.tsa_key = tsa_cert, tsa_key
        self.p12, self.password = p12, password

    def crl(self, now: dt.datetime | None = None) -> bytes:
        """A fresh, empty CRL (DER) of the development CA, valid CRL_DAYS days."""
        now = (now or dt.datetime.now(dt.timezone.utc)).replace(microsecond=0)
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(self.ca_cert.subject)
            .last_update(now - dt.timedelta(minutes=5))
            .next_update(now + dt.timedelta(days=CRL_DAYS))
            .add_extension(x509.CRLNumber(int(now.timestamp())), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.ca_key.public_key()),  # type: ignore[arg-type]
                critical=False,
            )
        )
        return builder.sign(self.ca_key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)  # type: ignore[arg-type]

    def timestamper(self) -> object:
        """pyHanko's DummyTimeStamper acting as the development TSA (RFC 3161)."""
        from asn1crypto import keys as asn1_keys, x509 as asn1_x509
        from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper

        der = serialization.Encoding.DER
        key = asn1_keys.PrivateKeyInfo.load(self.tsa_key.private_bytes(  # type: ignore[union-attr]
            der, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
        return DummyTimeStamper(
            tsa_cert=asn1_x509.Certificate.load(self.tsa_cert.public_bytes(der)),
            tsa_key=key,
            certs_to_embed=[asn1_x509.Certificate.load(self.ca_cert.public_bytes(der))],
        )


def _existing(folder: Path) -> tuple[Path, str] | None:
    p12, pw = folder / P12_NAME, folder / PASSWORD_NAME
    complete = all((folder / n).is_file() for n in (CA_NAME, CA_KEY_NAME, TSA_NAME))
    if p12.is_file() and pw.is_file() and complete:
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


def _leaf(cn: str, usage: Any, ca_name: Any, ca_key: Any, ca_ski: Any, start: dt.datetime, end: dt.datetime,
          *, usage_critical: bool = False) -> tuple[Any, Any]:
    """A key and its certificate issued by the development CA, for signing (content
    commitment) with one extended key usage."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
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
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=usage_critical)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return key, cert


def _name(cn: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORG),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )


def _retire_old_ca(folder: Path) -> None:
    """Keep an earlier version's CA certificate (no key, no TSA) as a trust root."""
    old = dev_ca_certificate(folder)
    if old is not None:
        _write_atomic(folder / f"ca-retired-{old.serial_number:x}.pem",
                      old.public_bytes(serialization.Encoding.PEM), 0o644)
    # the old signer must not look complete next to the new CA key and TSA while they are written
    (folder / P12_NAME).unlink(missing_ok=True)


def _create(folder: Path) -> tuple[Path, str]:
    _retire_old_ca(folder)
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

    key, cert = _leaf(SIGNER_CN, ExtendedKeyUsageOID.EMAIL_PROTECTION, ca_name, ca_key, ca_ski, start, end)
    # A time-stamping certificate's extended key usage must be critical (RFC 3161 2.3).
    tsa_key, tsa_cert = _leaf(TSA_CN, ExtendedKeyUsageOID.TIME_STAMPING, ca_name, ca_key, ca_ski, start, end,
                              usage_critical=True)

    password = secrets.token_urlsafe(24)
    encryption = serialization.BestAvailableEncryption(password.encode("ascii"))
    tsa_p12 = pkcs12.serialize_key_and_certificates(
        name=b"digitize-dev-tsa", key=tsa_key, cert=tsa_cert, cas=[ca_cert], encryption_algorithm=encryption)
    ca_key_pem = ca_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
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
    _write_atomic(folder / CA_KEY_NAME, ca_key_pem, 0o600)
    _write_atomic(folder / TSA_NAME, tsa_p12, 0o600)
    _write_atomic(folder / P12_NAME, p12, 0o600)
    return folder / P12_NAME, password
