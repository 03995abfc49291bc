"""Signing and verification, checked with real validators: poppler's pdfsig
(NSS) and pyHanko's own validation, plus tamper tests."""

from __future__ import annotations

import asyncio
import hashlib
import io
import os
import re
import shutil
import stat
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pikepdf
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from digitize.config import Settings
from digitize.errors import SigningError
from digitize.render import render_pdf
from digitize.signing import make_signer, trust_roots
from digitize.signing.devcert import dev_ca_certificate, ensure_dev_certificate
from digitize.signing.pyhanko_signer import PyHankoSigner
from digitize.signing.verify import verify_pdf
from digitize.types import CleanPage, Line, OcrPage, Word

needs_poppler = pytest.mark.skipif(
    not (shutil.which("pdfsig") and shutil.which("pdftotext") and shutil.which("qpdf")),
    reason="poppler-utils and qpdf are needed",
)


def _unsigned_pdf() -> bytes:
    rng = np.random.default_rng(7)
    img = rng.integers(0, 255, size=(600, 420, 3), dtype=np.uint8)  # noisy: a big image stream
    words = (
        Word("Nguyễn", (40, 60, 150, 90), 0.9),
        Word("Văn", (160, 60, 220, 90), 0.9),
        Word("Ấn", (230, 60, 270, 90), 0.9),
    )
    clean = CleanPage(1, img, img[:, :, 0], 72.0, 1.0, 0, 0.0)
    ocr = OcrPage(1, (Line(words),), 420, 600, 72.0)
    return render_pdf(
        [(clean, ocr)], title="Trích lục khai sinh", source_sha256="ab" * 32, created=datetime(2026, 11, 23, 10, 15)
    )


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, Path]:
    folder = tmp_path_factory.mktemp("dev-signing")
    p12, password = ensure_dev_certificate(folder)
    return p12, password, folder


@pytest.fixture(scope="module")
def ca(dev: tuple[Path, str, Path]) -> x509.Certificate:
    cert = dev_ca_certificate(dev[2])
    assert cert is not None
    return cert


@pytest.fixture(scope="module")
def unsigned() -> bytes:
    return _unsigned_pdf()


@pytest.fixture(scope="module")
def signed(dev: tuple[Path, str, Path], unsigned: bytes) -> tuple[bytes, object]:
    signer = PyHankoSigner(dev[0], dev[1])
    return signer.sign(unsigned, reason="Số hóa hộ tịch", location="Hà Nội")


# ------------------------------------------------------------ dev cert ----


def test_dev_certificate_files_and_subject(dev: tuple[Path, str, Path]) -> None:
    p12, password, folder = dev
    assert p12 == folder / "signer.p12"
    assert stat.S_IMODE((folder / "signer.p12.password").stat().st_mode) == 0o600
    assert stat.S_IMODE(p12.stat().st_mode) == 0o600
    assert (folder / "signer.p12.password").read_text().strip() == password
    assert len(password) >= 24

    key, cert, extra = pkcs12.load_key_and_certificates(p12.read_bytes(), password.encode())
    assert key is not None and cert is not None
    cn = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    assert "DEVELOPMENT" in cn and "NOT FOR PRODUCTION" in cn
    assert cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "digitize (development)"
    assert cert.subject.get_attributes_for_oid(NameOID.COUNTRY_NAME)[0].value == "VN"
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and usage.content_commitment and not usage.key_cert_sign
    ca_cert = dev_ca_certificate(folder)
    assert ca_cert is not None and [c.subject for c in extra] == [ca_cert.subject]
    cert.verify_directly_issued_by(ca_cert)
    with pytest.raises(ValueError):
        pkcs12.load_key_and_certificates(p12.read_bytes(), b"wrong")

    again = ensure_dev_certificate(folder)
    assert again == (p12, password)
    assert not [p for p in folder.iterdir() if p.name.endswith(".tmp")]


def test_dev_keys_are_checked_once_and_read_back_from_their_copy(tmp_path: Path, monkeypatch) -> None:
    """The development PKCS#12 files are read (and their RSA keys checked) once; later starts
    read the kept copy, a renewed file is read afresh, a spoilt copy is replaced."""
    from digitize.signing import devcert

    folder = tmp_path / "dev"
    p12, password = ensure_dev_certificate(folder)
    secret = password.encode()
    key, cert, extra = devcert.own_pkcs12(p12, secret)
    (copy,) = folder.glob(".signer.p12.*.pem")
    assert stat.S_IMODE(copy.stat().st_mode) == 0o600
    assert b"ENCRYPTED PRIVATE KEY" in copy.read_bytes() and b"BEGIN PRIVATE KEY" not in copy.read_bytes()

    reads = []
    real = devcert.pkcs12.load_key_and_certificates
    monkeypatch.setattr(devcert.pkcs12, "load_key_and_certificates", lambda *a: reads.append(1) or real(*a))
    key2, cert2, extra2 = devcert.own_pkcs12(p12, secret)
    assert not reads
    assert (cert2, extra2) == (cert, extra)
    assert key2.private_numbers() == key.private_numbers()

    copy.write_bytes(b"spoilt")
    assert devcert.own_pkcs12(p12, secret)[1] == cert and len(reads) == 1
    assert copy.read_bytes() != b"spoilt"

    renewed = pkcs12.serialize_key_and_certificates(
        b"x", key, cert, None, devcert.serialization.BestAvailableEncryption(secret)
    )
    p12.write_bytes(renewed)
    assert devcert.own_pkcs12(p12, secret)[2] == [] and len(reads) == 2
    assert [p.name for p in folder.glob(".signer.p12.*.pem")] != [copy.name]  # the old copy is gone


def test_dev_certificate_race_two_processes(tmp_path: Path) -> None:
    folder = tmp_path / "race"
    code = (
        "import sys; from pathlib import Path; from digitize.signing.devcert import ensure_dev_certificate; "
        "p, pw = ensure_dev_certificate(Path(sys.argv[1])); print(pw)"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", code, str(folder)], stdout=subprocess.PIPE, text=True) for _ in range(2)
    ]
    outs = [p.communicate(timeout=60)[0].strip() for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert outs[0] == outs[1] == (folder / "signer.p12.password").read_text().strip()
    pkcs12.load_key_and_certificates((folder / "signer.p12").read_bytes(), outs[0].encode())


# ------------------------------------------------------------- signing ----


def test_signature_info(signed: tuple[bytes, object], unsigned: bytes) -> None:
    data, info = signed
    assert data.startswith(unsigned)  # incremental update: the PDF/A bytes are untouched
    assert info.sha256 == hashlib.sha256(data).hexdigest()
    assert info.signer == "digitize DEVELOPMENT signer — NOT FOR PRODUCTION"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+07:00", info.signed_at)
    when = datetime.fromisoformat(info.signed_at)
    assert abs(datetime.now(timezone.utc) - when) < timedelta(minutes=5)


@needs_poppler
def test_pdfsig_says_valid(signed: tuple[bytes, object], tmp_path: Path) -> None:
    path = tmp_path / "signed.pdf"
    path.write_bytes(signed[0])
    out = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True, timeout=60).stdout
    assert "Signature Validation: Signature is Valid." in out
    assert "Signature Type: ETSI.CAdES.detached" in out
    assert "Signing Hash Algorithm: SHA-256" in out
    assert "Total document signed" in out
    assert "Signer Certificate Common Name: digitize DEVELOPMENT signer — NOT FOR PRODUCTION" in out


def test_pyhanko_validation(signed: tuple[bytes, object], ca: x509.Certificate) -> None:
    from asn1crypto import x509 as asn1_x509
    from cryptography.hazmat.primitives.serialization import Encoding
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko.sign.validation.status import SignatureCoverageLevel
    from pyhanko_certvalidator import ValidationContext

    root = asn1_x509.Certificate.load(ca.public_bytes(Encoding.DER))
    (sig,) = PdfFileReader(io.BytesIO(signed[0])).embedded_signatures
    status = validate_pdf_signature(sig, ValidationContext(trust_roots=[root]))
    assert status.intact and status.valid and status.trusted
    assert status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    assert status.md_algorithm == "sha256"
    assert sig.sig_object["/SubFilter"] == "/ETSI.CAdES.detached"
    carried = {c.chosen.subject.dump() for c in sig.signed_data["certificates"]}
    assert root.subject.dump() in carried  # the CA certificate travels with the signature


def test_verify_pdf_valid_and_trust(signed: tuple[bytes, object], ca: x509.Certificate) -> None:
    report = verify_pdf(signed[0], [ca])
    assert report.valid and report.intact and report.covers_whole_file and report.trusted, report
    assert report.problems == ()
    assert report.signer == "digitize DEVELOPMENT signer — NOT FOR PRODUCTION"
    assert report.signed_at == signed[1].signed_at

    untrusted = verify_pdf(signed[0])
    assert untrusted.valid and not untrusted.trusted
    assert any("trusted root" in p for p in untrusted.problems)


@needs_poppler
def test_signed_pdf_keeps_pdfa_and_text(signed: tuple[bytes, object], unsigned: bytes, tmp_path: Path) -> None:
    path = tmp_path / "signed.pdf"
    path.write_bytes(signed[0])
    with pikepdf.open(path) as after, pikepdf.open(io.BytesIO(unsigned)) as before:
        assert after.open_metadata().pdfa_status == "2B"
        assert after.Root.Metadata.read_bytes() == before.Root.Metadata.read_bytes()
        assert dict(after.docinfo) == dict(before.docinfo)  # XMP and /Info stay consistent
        assert "/Version" not in after.Root  # not turned into PDF 2.0
        assert set(after.Root.Extensions.keys()) == {"/ESIC"}
        (annot,) = after.pages[0].Annots
        assert annot.FT == "/Sig" and list(annot.Rect) == [0, 0, 0, 0] and int(annot.F) & 4  # invisible, printable
        assert "/N" in annot.AP
    out = subprocess.run(["qpdf", "--check", str(path)], capture_output=True, text=True, timeout=60).stdout
    assert "No syntax or stream encoding errors found" in out
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, timeout=60).stdout
    assert "Nguyễn Văn Ấn" in text


# ------------------------------------------------------------- tamper ----


def _flip(data: bytes, pos: int, mask: int = 0x01) -> bytes:
    out = bytearray(data)
    out[pos] ^= mask
    return bytes(out)


def test_one_byte_changes_are_caught(signed: tuple[bytes, object], unsigned: bytes, ca: x509.Certificate) -> None:
    data = signed[0]
    image_at = unsigned.index(b"\xff\xd8\xff")  # start of the JPEG stream
    m = re.search(rb"/ByteRange \[(\d+) (\d+) (\d+) (\d+)\]", data)
    assert m
    gap_start, gap_end = int(m.group(2)), int(m.group(3))
    contents = data[gap_start:gap_end]
    padding_at = gap_start + contents.rindex(b"00" * 8)
    letter_at = gap_start + next(i for i, c in enumerate(contents) if chr(c) in "abcdefABCDEF")
    positions = {
        "middle": (len(data) // 2, 0x01),
        "image": (image_at + 2000, 0x01),
        "header": (5, 0x01),
        "xref of the update": (data.rindex(b"\nxref\n") + 30, 0x01),
        "startxref offset": (data.rindex(b"startxref") + 11, 0x01),
        "last byte": (len(data) - 2, 0x01),
        "signature padding": (padding_at, 0x01),
        "signature hex case": (letter_at, 0x20),
        "signature container": (gap_start + 200, 0x01),
        "container length": (gap_start + 1 + 5, 0x01),  # outer SEQUENCE length, high byte
        "carried CA certificate": (gap_start + contents.upper().index(b"root CA".hex().upper().encode()) + 1, 0x01),
    }
    for name, (pos, mask) in positions.items():
        report = verify_pdf(_flip(data, pos, mask), [ca])
        assert not report.valid, (name, report)
        assert report.problems, name


def test_appended_bytes_and_truncation_are_caught(signed: tuple[bytes, object], ca: x509.Certificate) -> None:
    data = signed[0]
    for tampered in (data + b"\n", data + b"%%EOF\n", data + b"garbage" * 10, data[:-1], data[: len(data) // 2]):
        report = verify_pdf(tampered, [ca])
        assert not report.valid and not report.trusted


def test_garbage_and_unsigned_inputs_never_raise(unsigned: bytes) -> None:
    rng = np.random.default_rng(1)
    inputs = [
        b"",
        b"hello",
        b"%PDF-1.7\ngarbage",
        bytes(rng.integers(0, 256, 5000, dtype=np.uint8)),
        b"%PDF-1.7\n" + bytes(rng.integers(0, 256, 5000, dtype=np.uint8)),
        None,
        "not bytes",
    ]
    for data in inputs:
        report = verify_pdf(data)  # type: ignore[arg-type]
        assert not report.valid and report.problems
    assert verify_pdf(b"hello").problems == ("not a PDF",)
    assert verify_pdf(unsigned).problems == ("no signature",)


def test_second_signature_is_valid(
    signed: tuple[bytes, object], dev: tuple[Path, str, Path], ca: x509.Certificate
) -> None:
    twice, info = PyHankoSigner(dev[0], dev[1]).sign(signed[0])
    assert twice.startswith(signed[0])
    report = verify_pdf(twice, [ca])
    assert report.valid and report.trusted, report
    assert verify_pdf(signed[0] + twice[len(signed[0]) : -1], [ca]).valid is False


def test_sign_and_verify_inside_running_event_loop(
    dev: tuple[Path, str, Path], unsigned: bytes, ca: x509.Certificate
) -> None:
    async def inside() -> bool:  # e.g. called from an async web handler
        data, _ = PyHankoSigner(dev[0], dev[1]).sign(unsigned)
        return verify_pdf(data, [ca]).valid

    assert asyncio.run(inside())


# ------------------------------------------------------------ settings ----


def test_make_signer_dev_and_trust_roots(tmp_path: Path, unsigned: bytes) -> None:
    settings = Settings(home=tmp_path)
    signer = make_signer(settings)
    assert "DEVELOPMENT" in signer.subject
    assert (tmp_path / "dev-signing" / "signer.p12").is_file()
    data, _ = signer.sign(unsigned)
    assert verify_pdf(data, trust_roots(settings)).trusted


def test_make_signer_production_p12(tmp_path: Path, dev: tuple[Path, str, Path], unsigned: bytes) -> None:
    settings = Settings(home=tmp_path, signing_p12=dev[0], signing_p12_password=dev[1])
    signer = make_signer(settings)
    assert not (tmp_path / "dev-signing").exists()  # no dev certificate when a real one is configured
    roots = trust_roots(settings)
    assert len(roots) == 1  # the CA bundled in the PKCS#12
    assert verify_pdf(signer.sign(unsigned)[0], roots).trusted


def test_ec_key_keeps_pdf_17(tmp_path: Path, unsigned: bytes) -> None:
    """pyHanko would mark an ECDSA-signed file PDF 2.0 (ISO 32002); PDF/A-2 is 1.7."""
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "EC signer")])
    now = datetime.now(timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.KeyUsage(True, True, False, False, False, False, False, False, False), critical=True)
        .sign(key, hashes.SHA256())
    )
    p12 = tmp_path / "ec.p12"
    p12.write_bytes(
        pkcs12.serialize_key_and_certificates(b"ec", key, cert, None, serialization.BestAvailableEncryption(b"pw"))
    )
    data, info = PyHankoSigner(p12, "pw").sign(unsigned)
    assert info.signer == "EC signer"
    with pikepdf.open(io.BytesIO(data)) as pdf:
        assert "/Version" not in pdf.Root
        assert set(pdf.Root.Extensions.keys()) == {"/ESIC"}
    report = verify_pdf(data, [cert])
    assert report.valid and report.trusted, report


def test_wrong_password_and_missing_file(dev: tuple[Path, str, Path], tmp_path: Path) -> None:
    with pytest.raises(SigningError):
        PyHankoSigner(dev[0], "wrong")
    with pytest.raises(SigningError):
        PyHankoSigner(tmp_path / "missing.p12", "x")
    with pytest.raises(SigningError):
        PyHankoSigner(dev[0], dev[1]).sign(b"not a pdf")


def test_dev_folder_not_writable(tmp_path: Path) -> None:
    # a file where the folder should be stops root as well as anyone
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    with pytest.raises(SigningError):
        ensure_dev_certificate(blocker / "sub")
    if os.geteuid() != 0:  # root can write into a read-only folder; everyone else cannot
        folder = tmp_path / "ro"
        folder.mkdir(mode=0o500)
        with pytest.raises(SigningError):
            ensure_dev_certificate(folder / "sub")


# ------------------------------------------------ signatures of an input ----


def test_input_signatures_are_read_and_checked(signed: tuple[bytes, object]) -> None:
    """A signed PDF received as input: signer, time, subfilter and digest read from its own
    byte ranges; valid while the signed bytes are untouched, not once one byte changes."""
    from digitize.signing.inspect import read_signatures

    data, info = signed
    found = read_signatures(data)
    assert len(found) == 1
    sig = found[0]
    assert sig.valid and sig.covers_whole_file and not sig.trusted
    assert sig.subfilter == "ETSI.CAdES.detached" and sig.digest_algorithm == "sha256"
    assert sig.signer == info.signer
    assert sig.signed_at[:10] == info.signed_at[:10] and sig.signed_at.endswith("+07:00")
    tampered = bytearray(data)
    at = data.index(b"/Title")  # inside the signed ranges
    tampered[at + 1] ^= 0x20
    assert read_signatures(bytes(tampered))[0].valid is False
    appended = data + b"\n% appended after signing\n"
    assert read_signatures(appended)[0].covers_whole_file is False


@pytest.mark.parametrize(
    "data", [b"", b"not a pdf", b"%PDF-1.7\n/ByteRange [0 10 20 5]\n", b"%PDF-1.7\n/ByteRange [0 9 12 0] <zz>\n"]
)
def test_input_signatures_never_raise_on_garbage(data: bytes) -> None:
    from digitize.signing.inspect import read_signatures

    assert read_signatures(data) == ()


def test_a_signing_time_attribute_holding_the_local_clock_as_utc_gives_way_to_the_dictionarys():
    """Vietnamese signing software writes the signer's wall clock into the CMS signing-time
    attribute as if it were UTC (7 hours ahead); the dictionary's /M has it right."""
    from digitize.signing.inspect import _reconciled

    assert _reconciled("2018-03-21T23:41:00+07:00", "2018-03-21T16:41:00+07:00") == "2018-03-21T16:41:00+07:00"
    assert _reconciled("2025-02-07T15:51:05+07:00", "2025-02-07T08:51:04+07:00") == "2025-02-07T08:51:04+07:00"
    # agreeing, or apart by anything but the offset: the attribute stands
    assert _reconciled("2021-12-27T17:22:11+07:00", "2021-12-27T17:22:11+07:00") == "2021-12-27T17:22:11+07:00"
    assert _reconciled("2021-12-27T19:22:11+07:00", "2021-12-27T17:22:11+07:00") == "2021-12-27T19:22:11+07:00"
    assert _reconciled("", "2021-12-27T17:22:11+07:00") == "2021-12-27T17:22:11+07:00"
    assert _reconciled("2021-12-27T17:22:11+07:00", "") == "2021-12-27T17:22:11+07:00"
