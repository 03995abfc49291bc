"""Issue 17: renewing the archive timestamp of stored B-LTA results (`digitize retimestamp`), and a
correction of a B-LTA result, on a result made by the real pipeline and kept in the real archive
(local folder storage, SQLite index, development CA and TSA)."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import shutil
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator

import pikepdf
import pytest

from digitize.cli import main
from digitize.config import load_settings
from digitize.pipeline import Engines
from digitize.review import load_version
from digitize.signing import trust_roots
from digitize.signing.retimestamp import last_timestamp
from digitize.signing.verify import load_certificates, verify_pdf
from digitize.types import Result

needs_pdfsig = pytest.mark.skipif(not shutil.which("pdfsig"), reason="poppler-utils is needed")


@pytest.fixture(scope="module")
def archived(tmp_path_factory: pytest.TempPathFactory, samples_dir: Path) -> tuple[Path, str]:
    """A birth certificate processed into an archive (home folder) once; each test works on a copy."""
    home = tmp_path_factory.mktemp("home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DIGITIZE_HOME", str(home))
        out = home / "out"
        assert (
            main(
                [
                    "process",
                    str(samples_dir / "khai_sinh_clean.png"),
                    "--out",
                    str(out),
                    "--workers",
                    "1",
                    "--no-progress",
                ]
            )
            == 0
        )
    result = json.loads(next(out.glob("*.json")).read_text(encoding="utf-8"))
    assert result["pdf"]["level"] == "B-LTA"
    return home, result["id"]


@pytest.fixture()
def home(archived: tuple[Path, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, str]]:
    copy = tmp_path / "home"
    shutil.copytree(archived[0], copy)
    monkeypatch.setenv("DIGITIZE_HOME", str(copy))
    yield copy, archived[1]


def _engines() -> Engines:
    return Engines.from_settings(load_settings())


def _pdf(engines: Engines, result: Result, version: int) -> bytes:
    return engines.storage.get(load_version(engines.storage, result, version).keys["pdf"])


def _lta_passes(data: bytes, roots: list[Any], when: datetime) -> Any:
    """pyHanko's AdES LTA validation (ETSI EN 319 102-1) of the first signature, with the file's
    own validation data only."""
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.ades.report import AdESPassed
    from pyhanko.sign.validation.ades import ades_lta_validation
    from pyhanko.sign.validation.policy_decl import (
        PdfSignatureValidationSpec,
        RevinfoOnlineFetchingRule,
        RevocationInfoGatheringSpec,
        SignatureValidationSpec,
    )
    from pyhanko_certvalidator.context import CertValidationPolicySpec, SimpleTrustManager
    from pyhanko_certvalidator.ltv.types import ValidationTimingInfo
    from pyhanko_certvalidator.policy_decl import REQUIRE_REVINFO, CertRevTrustPolicy

    spec = PdfSignatureValidationSpec(
        SignatureValidationSpec(
            cert_validation_policy=CertValidationPolicySpec(
                trust_manager=SimpleTrustManager.build(trust_roots=load_certificates(roots)),
                revinfo_policy=CertRevTrustPolicy(REQUIRE_REVINFO, retroactive_revinfo=True),
            ),
            revinfo_gathering_policy=RevocationInfoGatheringSpec(
                online_fetching_rule=RevinfoOnlineFetchingRule.LOCAL_ONLY
            ),
        )
    )
    sig = PdfFileReader(io.BytesIO(data)).embedded_signatures[0]
    timing = ValidationTimingInfo(validation_time=when, best_signature_time=when, point_in_time_validation=True)
    result = asyncio.run(ades_lta_validation(sig, spec, timing_info=timing))
    return result.ades_subindic == AdESPassed.OK, result.failure_msg


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any], str]:
    capsys.readouterr()
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, json.loads(captured.out.strip().splitlines()[-1]), captured.err


def test_retimestamp_renews_a_result_near_expiry(
    home: tuple[Path, str], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    _, rid = home
    # the development TSA's certificate lives 10 years: not due within a year
    code, summary, err = _run(capsys, "retimestamp")
    assert code == 0 and summary["checked"] == 1 and summary["not_due"] == 1 and summary["renewed"] == 0, err
    assert "not due" in err and "1 not due within 365 days" in err

    # within 4000 days it is: a fresh document timestamp, stored as the next version
    code, summary, err = _run(capsys, "retimestamp", "--within-days", "4000")
    assert code == 0 and summary["renewed"] == 1 and summary["failed"] == 0, err
    settings = load_settings()
    roots = trust_roots(settings)
    engines = _engines()
    try:
        current = engines.index.get(rid)
        assert current.version == 2 and current.corrections[-1].action == "retimestamp"
        old, new = _pdf(engines, current, 1), _pdf(engines, current, 2)
        assert current.pdf.sha256 == hashlib.sha256(new).hexdigest()
    finally:
        engines.close()
    assert new.startswith(old)  # an incremental update: every earlier byte kept

    from pyhanko.pdf_utils.reader import PdfFileReader

    reader = PdfFileReader(io.BytesIO(new))
    assert len(reader.embedded_timestamp_signatures) == 2 and len(reader.embedded_regular_signatures) == 1
    report = verify_pdf(new, roots)
    assert report.valid and report.trusted and report.level == "B-LTA", report
    before = verify_pdf(old, roots)
    assert before.valid and before.level == "B-LTA", before  # the earlier version is still there and valid
    # not earlier (the time-stamping authority's clock counts whole seconds: both may fall in one)
    assert report.archive_timestamped_at >= before.archive_timestamped_at
    ok, why = _lta_passes(new, roots, datetime.now(timezone.utc))
    assert ok, why
    renewed = last_timestamp(new)
    assert renewed is not None and renewed.kind == "document" and renewed.at > last_timestamp(old).at
    with pikepdf.open(io.BytesIO(old)) as a, pikepdf.open(io.BytesIO(new)) as b:  # metadata left as rendered
        assert a.Root.Metadata.read_bytes() == b.Root.Metadata.read_bytes()
        assert dict(a.docinfo) == dict(b.docinfo)

    if shutil.which("pdfsig"):
        path = tmp_path / "renewed.pdf"
        path.write_bytes(new)
        out = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True, timeout=60).stdout
        first = out.split("Signature #2")[0]
        assert "Signature Validation: Signature is Valid." in first and "Signature #3" in out

    # the archive stays consistent: every object's checksum, no signed copy unaccounted for
    code, fixity, err = _run(capsys, "fixity")
    assert code == 0 and fixity["bad"] == 0 and fixity["unreferenced_signed"] == 0, err
    # and the renewed version is not due again
    code, summary, _ = _run(capsys, "retimestamp", "--within-days", "30")
    assert code == 0 and summary["not_due"] == 1


def test_retimestamp_refuses_a_damaged_file_and_bad_options(
    home: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    folder, rid = home
    code = main(["retimestamp", "--within-days", "-1"])
    assert code == 2
    engines = _engines()
    try:
        key = engines.index.get(rid).keys["pdf"]
    finally:
        engines.close()
    # the bytes and their recorded checksum changed together: only the signature can tell
    path = folder / "archive" / key
    sidecar = path.with_name(f".{path.name}.sha256")
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 1
    path.chmod(0o644)
    sidecar.chmod(0o644)
    path.write_bytes(bytes(data))
    meta = json.loads(sidecar.read_text())
    sidecar.write_text(json.dumps(dict(meta, sha256=hashlib.sha256(bytes(data)).hexdigest())))
    code, summary, err = _run(capsys, "retimestamp", "--within-days", "4000")
    assert code == 1 and summary["failed"] == 1 and summary["renewed"] == 0
    assert "signature not valid" in err


def test_correction_of_a_b_lta_result_is_b_lta_and_keeps_the_earlier_version(
    home: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    _, rid = home
    capsys.readouterr()
    assert (
        main(["correct", rid, "--record", "0", "--field", "ho_ten", "--value", "TRẦN MỸ LOANG", "--user", "reviewer1"])
        == 0
    )
    roots = trust_roots(load_settings())
    engines = _engines()
    try:
        current = engines.index.get(rid)
        assert current.version == 2 and current.pdf.level == "B-LTA"
        new, old = _pdf(engines, current, 2), _pdf(engines, current, 1)
    finally:
        engines.close()
    report = verify_pdf(new, roots)
    assert report.valid and report.trusted and report.level == "B-LTA" and report.archive_timestamped_at, report
    earlier = verify_pdf(old, roots)
    assert earlier.valid and earlier.trusted and earlier.level == "B-LTA", earlier
    # both validate on their own validation data alone (the development CRL is valid 7 days)
    later = datetime.now(timezone.utc) + timedelta(days=1)
    for data in (new, old):
        ok, why = _lta_passes(data, roots, later)
        assert ok, why
    code, fixity, err = _run(capsys, "fixity")
    assert code == 0 and fixity["unreferenced_signed"] == 0, err
