"""Issue 17: the Nghị định 30 copy stamp, PDF/A before signing, PAdES B-T/B-LT/B-LTA and
the check before signing, with real parts on loopback: a test CA whose CRL is served over
HTTP, an OCSP responder (`openssl ocsp` over an index), and a TSA (pyHanko's
DummyTimeStamper behind an HTTP endpoint)."""

from __future__ import annotations

import asyncio
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID, NameOID

from digitize.config import Settings
from digitize.errors import PdfaInvalid, SigningError
from digitize.render import render_pdf
from digitize.signing import make_signer, trust_roots
from digitize.signing.base import common_name
from digitize.signing.pyhanko_signer import PyHankoSigner
from digitize.signing.stamp import StampSpec, place_stamp, stamp_lines
from digitize.signing.trust import Trust
from digitize.signing.verify import load_certificates, verify_pdf
from digitize.types import CleanPage, Line, OcrPage, Word

needs_tools = pytest.mark.skipif(
    not (shutil.which("openssl") and shutil.which("pdfsig") and shutil.which("pdftotext")),
    reason="openssl and poppler-utils are needed",
)
AGENCY = "Ủy ban nhân dân thành phố Đà Nẵng"


def _page(lines: tuple[tuple[Word, ...], ...], width: int = 595, height: int = 842) -> bytes:
    rng = np.random.default_rng(3)
    img = (rng.integers(200, 255, size=(height, width, 3))).astype(np.uint8)
    clean = CleanPage(1, img, img[:, :, 0], 72.0, 1.0, 0, 0.0)
    ocr = OcrPage(1, tuple(Line(words) for words in lines), width, height, 72.0)
    return render_pdf(
        [(clean, ocr)],
        title="Công văn",
        source_sha256="cd" * 32,
        created=datetime(2026, 11, 23, 10, 15),
        extra_meta={"DigitizeResultId": "ab" * 16},
    )


def _unsigned() -> bytes:
    # a header line across the top left and one reaching the top right corner: the stamp must avoid both
    lines = (
        (
            Word("ỦY", (40, 20, 80, 40), 0.9),
            Word("BAN", (85, 20, 140, 40), 0.9),
            Word("CỘNG", (330, 20, 400, 40), 0.9),
            Word("HÒA", (405, 20, 470, 40), 0.9),
        ),
        (Word("Nguyễn", (60, 300, 170, 330), 0.9), Word("Văn", (180, 300, 240, 330), 0.9)),
    )
    return _page(lines)


# ------------------------------------------------------------------ test PKI ----


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"), x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _listening(port: int) -> bool:
    """Whether some socket listens on `port` (Linux: /proc/net/tcp, state 0A)."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        if any(r.split()[1].endswith(f":{port:04X}") and r.split()[3] == "0A" for r in rows):
            return True
    return False


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PKI:
    """A test CA (key on disk) with a served CRL, an OCSP responder and a TSA."""

    def __init__(self, folder: Path, http_port: int, ocsp_port: int) -> None:
        self.folder = folder
        self.now = datetime.now(timezone.utc).replace(microsecond=0)
        self.http = f"http://127.0.0.1:{http_port}"
        self.ocsp_url = f"http://127.0.0.1:{ocsp_port}"
        self.ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        ski = x509.SubjectKeyIdentifier.from_public_key(self.ca_key.public_key())
        self.ca = (
            x509.CertificateBuilder()
            .subject_name(_name("Test Root CA"))
            .issuer_name(_name("Test Root CA"))
            .public_key(self.ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(self.now - timedelta(days=30))
            .not_valid_after(self.now + timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
            .add_extension(ski, critical=False)
            .sign(self.ca_key, hashes.SHA256())
        )
        self.revoked: list[x509.Certificate] = []
        self.issued: list[x509.Certificate] = []
        (folder / "ca.pem").write_bytes(self.ca.public_bytes(serialization.Encoding.PEM))
        (folder / "ca.key").write_bytes(
            self.ca_key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        self.tsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.tsa = self._issue(
            "Test TSA", self.tsa_key, self.now - timedelta(days=1), self.now + timedelta(days=3000), tsa=True
        )
        # the OCSP responder signs with a key of its own, as production CAs' responders do
        responder_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        responder = self._issue(
            "Test OCSP Responder",
            responder_key,
            self.now - timedelta(days=1),
            self.now + timedelta(days=3000),
            ocsp=True,
        )
        (folder / "ocsp.pem").write_bytes(responder.public_bytes(serialization.Encoding.PEM))
        (folder / "ocsp.key").write_bytes(
            responder_key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )

    def _issue(
        self, cn: str, key: Any, start: datetime, end: datetime, *, tsa: bool = False, ocsp: bool = False
    ) -> x509.Certificate:
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name(cn))
            .issuer_name(self.ca.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(end)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(True, True, False, False, False, False, False, False, False), critical=True)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self.ca_key.public_key()), critical=False)
            .add_extension(
                x509.CRLDistributionPoints(
                    [x509.DistributionPoint([x509.UniformResourceIdentifier(f"{self.http}/ca.crl")], None, None, None)]
                ),
                critical=False,
            )
            .add_extension(
                x509.AuthorityInformationAccess(
                    [
                        x509.AccessDescription(
                            AuthorityInformationAccessOID.OCSP, x509.UniformResourceIdentifier(self.ocsp_url)
                        )
                    ]
                ),
                critical=False,
            )
        )
        if tsa:
            builder = builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        if ocsp:  # a delegated responder (RFC 6960 4.2.2.2), whose own status is not asked (id-pkix-ocsp-nocheck)
            builder = builder.add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.OCSP_SIGNING]), critical=True
            ).add_extension(x509.OCSPNoCheck(), critical=False)
        cert = builder.sign(self.ca_key, hashes.SHA256())
        self.issued.append(cert)
        return cert

    def signer(
        self, cn: str, *, start: datetime | None = None, end: datetime | None = None, revoked: bool = False
    ) -> Path:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        cert = self._issue(cn, key, start or self.now - timedelta(days=1), end or self.now + timedelta(days=365))
        if revoked:
            self.revoked.append(cert)
        path = self.folder / f"{cn.replace(' ', '_')}.p12"
        path.write_bytes(
            pkcs12.serialize_key_and_certificates(
                cn.encode(), key, cert, [self.ca], serialization.BestAvailableEncryption(b"pw")
            )
        )
        self.write_index()
        return path

    def crl(self) -> bytes:
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(self.ca.subject)
            .last_update(datetime.now(timezone.utc) - timedelta(minutes=1))
            .next_update(datetime.now(timezone.utc) + timedelta(days=60))
        )  # covers the tests' future
        for cert in self.revoked:
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder()
                .serial_number(cert.serial_number)
                .revocation_date(self.now - timedelta(hours=1))
                .build()
            )
        return builder.sign(self.ca_key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)

    def write_index(self) -> None:
        """openssl ca's index.txt, which `openssl ocsp -index` answers from."""
        lines = []
        for cert in self.issued:
            serial = f"{cert.serial_number:X}"
            serial = "0" * (len(serial) % 2) + serial  # openssl reads whole bytes
            exp = cert.not_valid_after_utc.strftime("%y%m%d%H%M%SZ")
            dn = "/C=VN/CN=" + cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
            if cert in self.revoked:
                rev = (self.now - timedelta(hours=1)).strftime("%y%m%d%H%M%SZ")
                lines.append(f"R\t{exp}\t{rev}\t{serial}\tunknown\t{dn}")
            else:
                lines.append(f"V\t{exp}\t\t{serial}\tunknown\t{dn}")
        (self.folder / "index.txt").write_text("\n".join(lines) + "\n")

    def timestamper(self) -> Any:
        from asn1crypto import keys as asn1_keys, x509 as asn1_x509
        from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper

        der = serialization.Encoding.DER
        return DummyTimeStamper(
            tsa_cert=asn1_x509.Certificate.load(self.tsa.public_bytes(der)),
            tsa_key=asn1_keys.PrivateKeyInfo.load(
                self.tsa_key.private_bytes(der, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
            ),
            certs_to_embed=[asn1_x509.Certificate.load(self.ca.public_bytes(der))],
        )


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PKI]:
    if not shutil.which("openssl"):
        pytest.skip("openssl is needed")
    folder = tmp_path_factory.mktemp("pki")
    http_port, ocsp_port = _free_port(), _free_port()
    pki = PKI(folder, http_port, ocsp_port)
    # every certificate exists before the responder reads the index
    pki.p12s = {
        "Test Signer": pki.signer("Test Signer"),
        "Short Lived Signer": pki.signer("Short Lived Signer", end=datetime.now(timezone.utc) + timedelta(days=2)),
        "Revoked Signer": pki.signer("Revoked Signer", revoked=True),
        "Expired Signer": pki.signer(
            "Expired Signer", start=pki.now - timedelta(days=30), end=pki.now - timedelta(days=1)
        ),
        "Other Signer": pki.signer("Other Signer"),
    }
    stamper = pki.timestamper()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            return None

        def _send(self, body: bytes, kind: str) -> None:
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:  # noqa: N802
            if self.path == "/ca.crl":
                self._send(pki.crl(), "application/pkix-crl")
            else:
                self.send_error(404)

        def do_POST(self) -> None:  # noqa: N802 - RFC 3161 over HTTP
            from asn1crypto import tsp

            body = self.rfile.read(int(self.headers["Content-Length"]))
            response = stamper.request_tsa_response(tsp.TimeStampReq.load(body))
            self._send(response.dump(), "application/timestamp-reply")

    server = ThreadingHTTPServer(("127.0.0.1", http_port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    # openssl's responder (it listens on the port on every interface; clients use 127.0.0.1)
    ocsp = subprocess.Popen(
        [
            "openssl",
            "ocsp",
            "-index",
            str(folder / "index.txt"),
            "-port",
            str(ocsp_port),
            "-rsigner",
            str(folder / "ocsp.pem"),
            "-rkey",
            str(folder / "ocsp.key"),
            "-CA",
            str(folder / "ca.pem"),
            "-ndays",
            "60",
            "-ignore_err",
            "-multi",
            "4",
        ],  # answers valid 60 days, as the CRL: the tests' future
        # its own process group, not a new session: with -multi, openssl moves itself into a group of
        # its own (setpgid), which a session leader may not do: it then exits at once, and silently
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        process_group=0,
    )
    # wait until it listens, without connecting: a connection that sends no request holds a responder
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not _listening(ocsp_port):
        time.sleep(0.1)
    if ocsp.poll() is not None or not _listening(ocsp_port):
        if ocsp.poll() is None:
            os.killpg(ocsp.pid, signal.SIGTERM)
        server.shutdown()
        pytest.fail(f"the OCSP responder did not start (exit status {ocsp.poll()})")
    try:
        yield pki
    finally:
        os.killpg(ocsp.pid, signal.SIGTERM)  # the responder and its -multi children, which this fixture started
        ocsp.wait(timeout=10)
        server.shutdown()


def _signer(pki: PKI, p12: Path, level: str = "B-LTA") -> PyHankoSigner:
    from pyhanko.sign.timestamps.requests_client import RequestsHTTPTimeStamper

    trust = Trust(roots=tuple(load_certificates([pki.ca])), fetch=True)
    return PyHankoSigner(
        p12,
        "pw",
        level=level,
        timestamper=RequestsHTTPTimeStamper(f"{pki.http}/tsa"),
        trust=trust,
        stamp=StampSpec("SAO Y", AGENCY),
        check_pdfa=True,
    )


@pytest.fixture(scope="module")
def lta(pki: PKI) -> tuple[bytes, Any, bytes]:
    unsigned = _unsigned()
    data, info = _signer(pki, pki.p12s["Test Signer"]).sign(unsigned, reason="Số hóa", location="dn")
    return data, info, unsigned


# -------------------------------------------------------------------- tests ----


def test_stamp_lines_and_placement() -> None:
    when = datetime(2023, 10, 19, 3, 56, 22, tzinfo=timezone.utc)
    assert stamp_lines(StampSpec("SAO Y", AGENCY), when) == (
        "SAO Y",
        AGENCY,
        "Thời gian ký: 19/10/2023 10:56:22 +07:00",
    )
    assert stamp_lines(StampSpec("TRÍCH SAO", "x"), when)[0] == "TRÍCH SAO"
    with pytest.raises(Exception):
        StampSpec("BẢN CHỤP", "x")
    media = (0.0, 0.0, 595.0, 842.0)
    box, clear = place_stamp(media, (), 200, 37)
    assert clear and box == (389.0, 799.0, 589.0, 836.0)  # the top-right corner, inside a 6 pt margin
    words = ((380.0, 780.0, 590.0, 830.0),)  # text in the corner: the stamp moves off it
    box, clear = place_stamp(media, words, 200, 37)
    assert clear and not (box[0] < 590 and 380 < box[2] and box[1] < 830 and 780 < box[3])


@needs_tools
def test_b_lta_on_loopback_parts(lta: tuple[bytes, Any, bytes], pki: PKI, tmp_path: Path) -> None:
    data, info, unsigned = lta
    assert data.startswith(unsigned)
    assert info.level == "B-LTA" and info.timestamped_at and info.signed_at.endswith("+07:00")
    report = verify_pdf(data, [pki.ca])
    assert report.valid and report.trusted and report.level == "B-LTA", report
    assert report.trust_anchor == "Test Root CA"
    assert report.signed_at == info.signed_at and report.timestamped_at and report.archive_timestamped_at
    by_subject = {c["subject"]: c for c in report.certificates}
    # pyHanko asks the OCSP responder (the certificates' AIA) first: its answers are in the DSS
    assert by_subject["Test Signer"]["revocation"] == "good" and by_subject["Test Signer"]["source"] == "OCSP"
    assert by_subject["Test TSA"]["revocation"] == "good" and by_subject["Test TSA"]["source"] == "OCSP"
    from asn1crypto import ocsp as asn1_ocsp
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import DocumentSecurityStore

    dss = DocumentSecurityStore.read_dss(PdfFileReader(io.BytesIO(data)))
    answers = [asn1_ocsp.OCSPResponse.load(o.get_object().data) for o in dss.ocsps]
    assert answers and all(a["response_status"].native == "successful" for a in answers)
    responders = {common_name(c) for a in answers for c in a.basic_ocsp_response["certs"] or []}
    assert responders == {"Test OCSP Responder"}
    assert by_subject["Test Root CA"]["revocation"] == "trust anchor"

    path = tmp_path / "lta.pdf"
    path.write_bytes(data)
    out = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True, timeout=60).stdout
    first = out.split("Signature #2")[0]
    assert "Signature Validation: Signature is Valid." in first and "ETSI.CAdES.detached" in first
    assert "Signature #2" in out  # the document timestamp


@needs_tools
def test_pyhanko_lta_validation_also_after_signer_expiry(pki: PKI) -> None:
    """pyHanko's AdES LTA validation (ETSI EN 319 102-1 5.6.3) passes now, and 30 days after
    the signing certificate expired, thanks to the document timestamp and embedded revinfo."""
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.ades.report import AdESPassed
    from pyhanko.sign.validation.ades import ades_lta_validation
    from pyhanko.sign.validation.policy_decl import (
        PdfSignatureValidationSpec,
        RevinfoOnlineFetchingRule,
        RevocationInfoGatheringSpec,
        SignatureValidationSpec,
    )
    from pyhanko_certvalidator.context import CertValidationPolicySpec
    from pyhanko_certvalidator.ltv.types import ValidationTimingInfo
    from pyhanko_certvalidator.policy_decl import REQUIRE_REVINFO, CertRevTrustPolicy
    from pyhanko_certvalidator.context import SimpleTrustManager

    data, info = _signer(pki, pki.p12s["Short Lived Signer"]).sign(_unsigned())
    (root,) = load_certificates([pki.ca])
    spec = PdfSignatureValidationSpec(
        SignatureValidationSpec(
            cert_validation_policy=CertValidationPolicySpec(
                trust_manager=SimpleTrustManager.build(trust_roots=[root]),
                # revocation data issued shortly before signing counts (the CRL/OCSP fetched while signing)
                revinfo_policy=CertRevTrustPolicy(REQUIRE_REVINFO, retroactive_revinfo=True),
            ),
            revinfo_gathering_policy=RevocationInfoGatheringSpec(
                online_fetching_rule=RevinfoOnlineFetchingRule.LOCAL_ONLY
            ),
        )
    )

    def at(when: datetime) -> Any:
        sig = PdfFileReader(io.BytesIO(data)).embedded_signatures[0]
        timing = ValidationTimingInfo(validation_time=when, best_signature_time=when, point_in_time_validation=True)
        return asyncio.run(ades_lta_validation(sig, spec, timing_info=timing))

    now = at(datetime.now(timezone.utc))
    assert now.ades_subindic == AdESPassed.OK, now.failure_msg
    later = at(datetime.now(timezone.utc) + timedelta(days=32))  # the signer expired 30 days before
    assert later.ades_subindic == AdESPassed.OK, later.failure_msg


@needs_tools
def test_stamp_in_text_layer_top_right(lta: tuple[bytes, Any, bytes], tmp_path: Path) -> None:
    data, info, _ = lta
    path = tmp_path / "lta.pdf"
    path.write_bytes(data)
    # page 1 is 595 x 842 pt: its top-right region
    text = subprocess.run(
        [
            "pdftotext",
            "-f",
            "1",
            "-l",
            "1",
            "-x",
            "297",
            "-y",
            "0",
            "-W",
            "298",
            "-H",
            "120",
            "-layout",
            str(path),
            "-",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    lines = [" ".join(line.split()) for line in text.splitlines() if line.strip()]
    when = datetime.fromisoformat(info.signed_at)
    stamp = ["SAO Y", AGENCY, f"Thời gian ký: {when:%d/%m/%Y %H:%M:%S} +07:00"]
    assert [line for line in lines if line in stamp] == stamp, lines
    whole = subprocess.run(
        ["pdftotext", "-f", "1", "-l", "1", str(path), "-"], capture_output=True, text=True, timeout=60
    ).stdout
    assert "CỘNG" in whole and "HÒA" in whole  # the page's own text is still there
    import pikepdf

    with pikepdf.open(io.BytesIO(data)) as pdf:
        annot = next(a for a in pdf.pages[0].Annots if a.get("/T") == "Signature1")
        x0, y0, x1, y1 = (float(v) for v in annot.Rect)
        assert x1 > 500 and y1 > 780 and int(annot.F) & 4  # top right, printed
        # the words "CỘNG HÒA" (330..470 px, 20..40 px from the top at 72 dpi) are not under it
        assert not (x0 < 470 and 330 < x1 and y0 < 842 - 20 and 842 - 40 < y1)


def test_one_changed_byte_is_detected(lta: tuple[bytes, Any, bytes], pki: PKI) -> None:
    data = lta[0]
    dss_at = data.index(b"/DSS")
    for pos in (len(data) // 3, len(data) // 2, dss_at + 3, len(data) - 40, 200):
        tampered = bytearray(data)
        tampered[pos] ^= 0x01
        report = verify_pdf(bytes(tampered), [pki.ca])
        assert not report.valid, pos
    assert not verify_pdf(data + b"\n%garbage\n", [pki.ca]).valid


def test_revoked_and_expired_signers_are_refused(pki: PKI) -> None:
    unsigned = _unsigned()
    revoked = _signer(pki, pki.p12s["Revoked Signer"])
    with pytest.raises(SigningError) as caught:
        revoked.sign(unsigned)
    assert "revoked" in str(caught.value) and "\n" not in str(caught.value)
    expired = _signer(pki, pki.p12s["Expired Signer"])
    with pytest.raises(SigningError) as caught:
        expired.sign(unsigned)
    assert "expired" in str(caught.value)


def test_pdfa_checked_before_signing(pki: PKI) -> None:
    import pikepdf

    with pikepdf.open(io.BytesIO(_unsigned())) as pdf:
        del pdf.Root.OutputIntents  # no output intent: not PDF/A
        buf = io.BytesIO()
        pdf.save(buf)
    with pytest.raises(PdfaInvalid):
        _signer(pki, pki.p12s["Other Signer"]).sign(buf.getvalue())


def test_levels_b_t_and_b_lt(pki: PKI) -> None:
    p12 = pki.p12s["Other Signer"]
    for level in ("B-T", "B-LT"):
        data, info = _signer(pki, p12, level).sign(_unsigned())
        report = verify_pdf(data, [pki.ca])
        assert report.valid and report.level == level == info.level, report


def test_default_signer_reaches_b_lta_offline(tmp_path: Path) -> None:
    """The embedded default: development CA, TSA and CRL in-process, no network."""
    settings = Settings(home=tmp_path, agency="dn", agency_name=AGENCY)
    signer = make_signer(settings)
    data, info = signer.sign(_unsigned())
    assert info.level == "B-LTA"
    report = verify_pdf(data, trust_roots(settings))
    assert report.valid and report.trusted and report.level == "B-LTA", report
    assert any(
        c["role"] == "signer" and c["revocation"] == "good" and c["source"] == "CRL" for c in report.certificates
    )
    assert "NOT FOR PRODUCTION" in report.trust_anchor


def test_cli_verify_prints_level(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    data, _ = make_signer(settings).sign(_unsigned())
    path = tmp_path / "x.pdf"
    path.write_bytes(data)
    cli = "import sys; from digitize.cli import main; sys.exit(main(sys.argv[1:]))"
    run = subprocess.run(
        [sys.executable, "-c", cli, "verify", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        env={"DIGITIZE_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
        cwd=Path(__file__).resolve().parents[1],
    )
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    assert out["valid"] and out["level"] == "B-LTA" and out["timestamped_at"] and out["trust_anchor"]
    assert {"subject", "role", "revocation"} <= set(out["certificates"][0])


# ------------------------------------------------------- production settings, OCSP ----


def _production_env(pki: PKI, home: Path, p12: str) -> dict[str, str]:
    """The production configuration (a PKCS#12, trust anchors, a TSA): revocation data then comes
    from the certificates' own OCSP responder and CRL distribution point."""
    return {
        "DIGITIZE_HOME": str(home),
        "DIGITIZE_SIGNING_P12": str(pki.p12s[p12]),
        "DIGITIZE_SIGNING_P12_PASSWORD": "pw",
        "DIGITIZE_TRUST_ROOTS": str(pki.folder / "ca.pem"),
        "DIGITIZE_TSA_URL": f"{pki.http}/tsa",
        "DIGITIZE_OCR_ENGINE": "tesseract",
        "PATH": "/usr/bin:/bin",
    }


@needs_tools
def test_production_settings_embed_ocsp_and_verify_reports_it(pki: PKI, tmp_path: Path) -> None:
    from digitize.config import load_settings

    env = _production_env(pki, tmp_path, "Other Signer")
    data, info = make_signer(load_settings(env)).sign(_unsigned())
    assert info.level == "B-LTA"
    path = tmp_path / "signed.pdf"
    path.write_bytes(data)
    cli = "import sys; from digitize.cli import main; sys.exit(main(sys.argv[1:]))"
    run = subprocess.run(
        [sys.executable, "-c", cli, "verify", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    assert out["valid"] and out["level"] == "B-LTA" and out["trust_anchor"] == "Test Root CA"
    status = {(c["subject"], c["role"]): (c["revocation"], c["source"]) for c in out["certificates"]}
    assert status[("Other Signer", "signer")] == ("good", "OCSP")
    assert status[("Test TSA", "tsa")] == ("good", "OCSP")
    assert status[("Test Root CA", "root")] == ("trust anchor", "")

    # archive renewal with the same settings: fresh OCSP answers for the TSA, then a second document timestamp
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import DocumentSecurityStore

    from digitize.signing import make_timestamper, make_trust
    from digitize.signing.retimestamp import renew_timestamp

    settings = load_settings(env)
    renewed = renew_timestamp(data, make_timestamper(settings), make_trust(settings))
    report = verify_pdf(renewed, [pki.ca])
    assert report.valid and report.level == "B-LTA" and report.archive_timestamped_at, report
    reader = PdfFileReader(io.BytesIO(renewed))
    assert len(reader.embedded_timestamp_signatures) == 2
    before = DocumentSecurityStore.read_dss(PdfFileReader(io.BytesIO(data)))
    assert len(DocumentSecurityStore.read_dss(reader).ocsps) > len(before.ocsps)


@needs_tools
def test_revoked_signer_refused_by_the_cli_before_signing(pki: PKI, tmp_path: Path) -> None:
    import cv2

    image = np.full((300, 500, 3), 255, np.uint8)
    cv2.putText(image, "CONG HOA XA HOI", (20, 100), cv2.FONT_HERSHEY_SIMPLEX, 1.0, (0, 0, 0), 2)
    page = tmp_path / "page.png"
    cv2.imwrite(str(page), image)
    env = _production_env(pki, tmp_path, "Revoked Signer")
    cli = "import sys; from digitize.cli import main; sys.exit(main(sys.argv[1:]))"
    run = subprocess.run(
        [sys.executable, "-c", cli, "process", str(page), "--workers", "1", "--no-progress"],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert run.returncode == 1
    lines = [line for line in run.stderr.splitlines() if "revoked" in line]
    assert len(lines) == 1 and "Revoked Signer" in lines[0] and "not signing" in lines[0], run.stderr
    assert not list((tmp_path / "archive").rglob("document.pdf"))  # nothing signed, nothing stored


# ------------------------------------------------------- signatures of input PDFs ----


def _self_signed_p12(folder: Path) -> Path:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = datetime.now(timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("Unrelated Self Signed"))
        .issuer_name(_name("Unrelated Self Signed"))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    path = folder / "self.p12"
    path.write_bytes(
        pkcs12.serialize_key_and_certificates(b"self", key, cert, None, serialization.BestAvailableEncryption(b"pw"))
    )
    return path


def test_input_signatures_checked_against_the_trust_store(tmp_path: Path, pki: PKI) -> None:
    from digitize.signing.inspect import read_signatures

    settings = Settings(home=tmp_path)
    by_dev, _ = make_signer(settings).sign(_unsigned())  # the development CA: a configured trust anchor
    by_other, _ = PyHankoSigner(_self_signed_p12(tmp_path), "pw").sign(_unsigned())
    roots = trust_roots(settings)  # the store `digitize verify` uses (made with the development CA above)

    found = read_signatures(by_dev, roots)  # the signature, then the document timestamp (B-LTA)
    assert len(found) == 2 and all(s.valid and s.trusted for s in found)
    dev_sig = found[0]
    assert "NOT FOR PRODUCTION" in dev_sig.trust_anchor and dev_sig.trust_reason.startswith("chains to")
    (other,) = read_signatures(by_other, roots)
    assert other.valid and not other.trusted and other.trust_anchor == ""
    assert other.trust_reason == "self-signed certificate, not a configured trust anchor"
    # a CA's certificate chains only where that CA is configured
    by_test_ca, _ = _signer(pki, pki.p12s["Other Signer"], "B-B").sign(_unsigned())
    (elsewhere,) = read_signatures(by_test_ca, roots)
    assert elsewhere.valid and not elsewhere.trusted
    assert elsewhere.trust_reason == "does not chain to a configured trust anchor"
    (configured,) = read_signatures(by_test_ca, [*roots, pki.ca])
    assert configured.trusted and configured.trust_anchor == "Test Root CA"
    # CONTRACT keys kept, two added
    assert {"signer", "valid", "trusted", "trust_reason", "trust_anchor"} <= set(other.to_dict())
    # a signature whose bytes changed is not trusted, whoever signed it
    tampered = bytearray(by_dev)
    tampered[len(tampered) // 3] ^= 1
    broken = read_signatures(bytes(tampered), roots)[0]
    assert not broken.valid and not broken.trusted and broken.trust_reason.startswith("signature not valid")
    # without a trust store nothing is trusted, and it says so
    unchecked = read_signatures(by_dev)[0]
    assert not unchecked.trusted and unchecked.trust_reason.startswith("not checked")
