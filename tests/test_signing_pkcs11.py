"""Signing with a key held in a PKCS#11 token, against a real software token:
Debian's SoftHSM2, initialised by the fixture in a temporary folder, the
development signer's key imported into it with OpenSC's `pkcs11-tool`. The
signature is then checked by pdfsig and by digitize's own validator."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from digitize.errors import SigningError

MODULES = ("/usr/lib/softhsm/libsofthsm2.so", "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so")
PIN = "1234"


def _module() -> str | None:
    return next((m for m in MODULES if Path(m).is_file()), None)


@pytest.fixture(scope="module")
def token(tmp_path_factory: pytest.TempPathFactory):
    pytest.importorskip("pkcs11")
    module = _module()
    if module is None or shutil.which("softhsm2-util") is None or shutil.which("pkcs11-tool") is None:
        pytest.skip("softhsm2 / opensc not installed")
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.serialization import pkcs12

    from digitize.signing.devcert import DevAuthority

    folder = tmp_path_factory.mktemp("softhsm")
    (folder / "tokens").mkdir()
    conf = folder / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {folder / 'tokens'}\nobjectstore.backend = file\n")
    env = dict(os.environ, SOFTHSM2_CONF=str(conf))
    subprocess.run(
        ["softhsm2-util", "--init-token", "--free", "--label", "digitize", "--so-pin", "87654321", "--pin", PIN],
        env=env,
        check=True,
        capture_output=True,
    )
    dev = DevAuthority(folder / "dev")
    key, cert, _ = pkcs12.load_key_and_certificates(Path(dev.p12).read_bytes(), dev.password.encode())
    (folder / "key.der").write_bytes(
        key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    (folder / "cert.der").write_bytes(cert.public_bytes(serialization.Encoding.DER))
    for kind, name in (("privkey", "key.der"), ("cert", "cert.der")):
        subprocess.run(
            [
                "pkcs11-tool",
                "--module",
                module,
                "--token-label",
                "digitize",
                "--login",
                "--pin",
                PIN,
                "--write-object",
                str(folder / name),
                "--type",
                kind,
                "--id",
                "01",
                "--label",
                "signer",
            ],
            env=env,
            check=True,
            capture_output=True,
        )
    (folder / "key.der").unlink()  # from here on the key exists in the token only
    old = os.environ.get("SOFTHSM2_CONF")
    os.environ["SOFTHSM2_CONF"] = str(conf)
    try:
        yield {"module": module, "dev": dev, "folder": folder}
    finally:
        if old is None:
            os.environ.pop("SOFTHSM2_CONF", None)
        else:
            os.environ["SOFTHSM2_CONF"] = old


def _page_pdf() -> bytes:
    import datetime as dt

    import numpy as np

    from digitize.render import render_pdf
    from digitize.types import CleanPage, Line, OcrPage, Word

    image = np.full((1754, 1240, 3), 250, np.uint8)
    line = Line(words=(Word("Giấy", (100, 100, 200, 140), 0.9), Word("khai", (210, 100, 300, 140), 0.9)))
    return render_pdf(
        [(CleanPage(1, image, image[:, :, 0], 150.0, 1.0, 0, 0.0), OcrPage(1, (line,), 1240, 1754, 150.0))],
        title="pkcs11",
        source_sha256="0" * 64,
        created=dt.datetime(2026, 12, 2, 10, 0),
    )


def test_a_token_key_signs_at_b_lta_and_validators_agree(token, tmp_path: Path) -> None:
    from digitize.signing import PyHankoSigner
    from digitize.signing.devcert import dev_ca_certificates
    from digitize.signing.pyhanko_signer import pkcs11_key
    from digitize.signing.stamp import StampSpec
    from digitize.signing.trust import Trust
    from digitize.signing.verify import load_certificates, verify_pdf

    dev = token["dev"]
    key = pkcs11_key(token["module"], "digitize", "signer", PIN)
    roots = tuple(load_certificates(dev_ca_certificates(token["folder"] / "dev")))
    signer = PyHankoSigner(
        None,
        level="B-LTA",
        timestamper=dev.timestamper(),
        trust=Trust(roots=roots, local_crls=lambda: [dev.crl()]),
        stamp=StampSpec("SAO Y", "Ủy ban nhân dân xã thử", None),
        check_pdfa=True,
        key=key,
    )
    signed, info = signer.sign(_page_pdf(), reason="PKCS#11 test", location="test")
    assert info.level == "B-LTA"
    report = verify_pdf(signed, dev_ca_certificates(token["folder"] / "dev"))
    assert report.valid and report.intact and report.trusted and report.level == "B-LTA", report.problems
    path = tmp_path / "signed.pdf"
    path.write_bytes(signed)
    pdfsig = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True)
    assert "Signature is Valid" in pdfsig.stdout, pdfsig.stdout + pdfsig.stderr
    changed = bytearray(signed)
    changed[len(changed) // 3] ^= 0x01
    assert not verify_pdf(bytes(changed), dev_ca_certificates(token["folder"] / "dev")).valid


def test_wrong_pin_or_label_is_one_clear_error(token) -> None:
    from digitize.signing.pyhanko_signer import pkcs11_key

    with pytest.raises(SigningError, match="cannot use PKCS#11 token"):
        pkcs11_key(token["module"], "digitize", "signer", "0000")
    with pytest.raises(SigningError, match="cannot use PKCS#11 token"):
        pkcs11_key(token["module"], "digitize", "no-such-key", PIN)
    with pytest.raises(SigningError, match="module not found"):
        pkcs11_key("/nonexistent/libpkcs11.so", "digitize", "signer", PIN)
