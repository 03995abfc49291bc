"""The main job end to end through the CLI on embedded defaults (CONTRACT.md):
real Tesseract, real signing checked by pdfsig and pyHanko, real SQLite index."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pikepdf
import pytest
from PIL import Image

from digitize.text import cer

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples" / "data"
DIGITIZE = [sys.executable, "-m", "digitize.cli"]

# Committed samples processed once for the whole module (OCR is the slow part).
GOOD = [
    "khai_sinh_clean.png",
    "khai_sinh_skew4_noise.jpg",
    "khai_sinh_typewriter_180.png",
    "van_ban_2pages.tif",
    "khai_tu_scanned_pdf.pdf",
    "prose_150dpi.jpg",
]


def run(args, home: Path, check_rc: int | None = 0) -> subprocess.CompletedProcess:
    env = dict(os.environ, DIGITIZE_HOME=str(home))
    env.pop("DIGITIZE_CONFIG", None)
    proc = subprocess.run(
        DIGITIZE + [str(a) for a in args], capture_output=True, text=True, env=env, cwd=ROOT, timeout=600
    )
    if check_rc is not None:
        assert proc.returncode == check_rc, proc.stderr
    return proc


def gt(name: str) -> dict:
    stem = name.rsplit(".", 1)[0]
    return json.loads((SAMPLES / f"{stem}.gt.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def processed(tmp_path_factory):
    """Good samples plus bad inputs in one command: the bad ones fail, the good ones land."""
    work = tmp_path_factory.mktemp("pipeline")
    inputs = work / "in"
    inputs.mkdir()
    for name in GOOD:
        shutil.copy(SAMPLES / name, inputs / name)
    (inputs / "empty.png").write_bytes(b"")
    (inputs / "notes.jpg").write_text("this is a text file, not a photo")
    pdf = (SAMPLES / "khai_tu_scanned_pdf.pdf").read_bytes()
    (inputs / "truncated.pdf").write_bytes(pdf[: len(pdf) // 3])
    secret = pikepdf.new()
    secret.add_blank_page()
    secret.save(inputs / "secret.pdf", encryption=pikepdf.Encryption(owner="o", user="u"))
    bomb = io.BytesIO()
    Image.new("1", (30000, 30000), 1).save(bomb, "PNG")
    (inputs / "huge.png").write_bytes(bomb.getvalue())
    home = work / "home"
    out = work / "out"
    proc = run(["process", inputs, "--out", out, "--workers", "2"], home, check_rc=1)
    return {"home": home, "out": out, "proc": proc, "inputs": inputs}


def result(processed, name: str) -> dict:
    stem = name.rsplit(".", 1)[0]
    return json.loads((processed["out"] / f"{stem}.json").read_text(encoding="utf-8"))


def test_bad_inputs_fail_with_one_clear_line_each_and_neighbours_land(processed):
    lines = [
        ln
        for ln in processed["proc"].stderr.splitlines()
        if ": " in ln and ln.split(":")[0].endswith((".png", ".jpg", ".pdf", ".tif"))
    ]
    failed = {Path(ln.split(": ", 1)[0]).name: ln.split(": ", 1)[1] for ln in lines}
    assert set(failed) == {"empty.png", "notes.jpg", "truncated.pdf", "secret.pdf", "huge.png"}
    assert "empty" in failed["empty.png"]
    assert "not an image or PDF" in failed["notes.jpg"]
    assert "encrypted" in failed["secret.pdf"]
    assert "30000x30000" in failed["huge.png"]
    assert "Traceback" not in processed["proc"].stderr
    for name in GOOD:
        stem = name.rsplit(".", 1)[0]
        assert (processed["out"] / f"{stem}.pdf").stat().st_size > 1000
        assert (processed["out"] / f"{stem}.json").exists()


@pytest.mark.parametrize(
    "name, max_cer",
    [
        ("khai_sinh_clean.png", 0.01),
        ("khai_sinh_skew4_noise.jpg", 0.01),
        ("khai_sinh_typewriter_180.png", 0.02),
        ("van_ban_2pages.tif", 0.01),
        ("prose_150dpi.jpg", 0.01),
        ("khai_tu_scanned_pdf.pdf", 0.03),
    ],
)
def test_text_matches_ground_truth(processed, name, max_cer):
    res = result(processed, name)
    truth = gt(name)
    text = "\n".join(p["text"] for p in res["pages"])
    assert cer(text, truth["text"]) <= max_cer
    assert len(res["pages"]) == len(truth.get("pages") or [truth["text"]])


def test_orientation_and_skew_reported(processed):
    assert result(processed, "khai_sinh_typewriter_180.png")["pages"][0]["rotation"] == 180
    skew = result(processed, "khai_sinh_skew4_noise.jpg")["pages"][0]["skew"]
    assert skew == pytest.approx(gt("khai_sinh_skew4_noise.jpg")["degradations"]["skew"], abs=0.3)


def test_birth_certificate_fields_equal_ground_truth(processed):
    res = result(processed, "khai_sinh_clean.png")
    truth = gt("khai_sinh_clean.png")["records"][0]["fields"]
    record = res["records"][0]
    assert record["doc_type"] == "khai_sinh"
    for name in ("ho_ten", "ngay_sinh", "gioi_tinh", "dan_toc", "quoc_tich", "so_dinh_danh", "noi_sinh"):
        assert record["fields"].get(name) == truth[name], name
        assert 0.0 <= record["confidence"][name] <= 1.0


def test_contract_shape(processed):
    res = result(processed, "van_ban_2pages.tif")
    assert set(res) >= {"id", "source", "pages", "records", "pdf"}
    assert res["source"]["pages"] == 2 and len(res["source"]["sha256"]) == 64
    assert [p["number"] for p in res["pages"]] == [1, 2]
    assert res["pdf"]["signed_at"].endswith("+07:00")
    assert "DEVELOPMENT" in res["pdf"]["signer"]


def test_pdf_is_searchable_pdfa_with_vietnamese_text(processed):
    pdf_path = processed["out"] / "khai_sinh_clean.pdf"
    text = subprocess.run(["pdftotext", str(pdf_path), "-"], capture_output=True, text=True, check=True).stdout
    name = gt("khai_sinh_clean.png")["records"][0]["fields"]["ho_ten"]
    assert name in text  # tone marks intact, words not split into letters
    with pikepdf.open(pdf_path) as pdf:
        meta = pdf.open_metadata()
        assert meta.pdfa_status == "2B"
        assert "/OutputIntents" in pdf.Root
    subprocess.run(["qpdf", "--check", str(pdf_path)], check=True, capture_output=True)


def test_signature_valid_by_pdfsig_pyhanko_and_verify(processed):
    pdf_path = processed["out"] / "khai_sinh_clean.pdf"
    pdfsig = subprocess.run(["pdfsig", str(pdf_path)], capture_output=True, text=True).stdout
    assert "Signature is Valid" in pdfsig
    assert run(["verify", pdf_path], processed["home"]).returncode == 0


def test_one_byte_change_is_detected(processed, tmp_path):
    data = bytearray((processed["out"] / "khai_sinh_clean.pdf").read_bytes())
    data[len(data) // 2] ^= 0x01
    tampered = tmp_path / "tampered.pdf"
    tampered.write_bytes(bytes(data))
    proc = run(["verify", tampered], processed["home"], check_rc=1)
    assert "not valid" in proc.stderr


def test_search_by_id_and_by_name_without_tone_marks(processed):
    truth = gt("khai_sinh_clean.png")["records"][0]["fields"]
    hits = [
        json.loads(ln)
        for ln in run(["search", "--so-dinh-danh", truth["so_dinh_danh"]], processed["home"]).stdout.splitlines()
    ]
    assert hits and hits[0]["result_id"] == result(processed, "khai_sinh_clean.png")["id"]
    from digitize.text import fold

    hits = [json.loads(ln) for ln in run(["search", fold(truth["ho_ten"])], processed["home"]).stdout.splitlines()]
    assert result(processed, "khai_sinh_clean.png")["id"] in {h["result_id"] for h in hits}


def test_get_returns_stored_result_and_pdf(processed, tmp_path):
    res = result(processed, "khai_sinh_clean.png")
    run(["get", res["id"], "--pdf", tmp_path / "x.pdf", "--json", tmp_path / "x.json"], processed["home"])
    assert (tmp_path / "x.pdf").read_bytes() == (processed["out"] / "khai_sinh_clean.pdf").read_bytes()
    assert json.loads((tmp_path / "x.json").read_text())["id"] == res["id"]


def test_results_read_back_typed_are_the_same_json(processed, tmp_path):
    """Every result the pipeline made, read back as a `Result` (as the index and the archive
    give it), writes the same JSON byte for byte: `--out`, `digitize get` from the index,
    and result.json in the archive."""
    from digitize.pipeline import to_json_bytes
    from digitize.types import Result

    for name in GOOD:
        stem = name.rsplit(".", 1)[0]
        written = (processed["out"] / f"{stem}.json").read_bytes()
        data = json.loads(written)
        typed = Result.from_dict(data)
        assert typed.to_dict() == data and to_json_bytes(typed) == written
        assert len(typed.pages) == data["source"]["pages"] and typed.records == Result.from_dict(data).records
        run(["get", data["id"], "--json", tmp_path / f"{stem}.json"], processed["home"])
        assert (tmp_path / f"{stem}.json").read_bytes() == written
        assert (processed["home"] / "archive" / data["keys"]["json"]).read_bytes() == written


def test_rerun_gives_same_id_and_no_duplicate(processed, tmp_path):
    first = result(processed, "khai_sinh_clean.png")
    out = tmp_path / "again"
    run(["process", SAMPLES / "khai_sinh_clean.png", "--out", out, "--workers", "1"], processed["home"])
    again = json.loads((out / "khai_sinh_clean.json").read_text())
    assert again["id"] == first["id"]
    assert again["pdf"]["sha256"] == first["pdf"]["sha256"]  # stored result returned, not redone
    hits = run(
        ["search", "--so-dinh-danh", first["records"][0]["fields"]["so_dinh_danh"]], processed["home"]
    ).stdout.splitlines()
    assert len({json.loads(h)["result_id"] for h in hits}) == 1


def test_original_is_archived_untouched(processed):
    res = result(processed, "khai_sinh_typewriter_180.png")
    archived = processed["home"] / "archive" / res["keys"]["original"]
    assert archived.read_bytes() == (SAMPLES / "khai_sinh_typewriter_180.png").read_bytes()


def test_usage_error_exits_2(tmp_path):
    proc = run(["process"], tmp_path, check_rc=2)
    assert "Traceback" not in proc.stderr


def test_a_signed_input_is_checked_against_the_trust_store(processed, tmp_path):
    """A digitize result fed back in as an input: its signature is read into
    `source.signatures`, valid and trusted (the development CA is this home's trust store),
    with the anchor named; the same file under another home's trust store is not trusted."""
    name = "khai_sinh_clean.png"
    signed = tmp_path / "signed_input.pdf"
    shutil.copy(processed["out"] / f"{name.rsplit('.', 1)[0]}.pdf", signed)
    out = tmp_path / "out"
    run(["process", signed, "--out", out, "--workers", "1", "--no-progress"], processed["home"])
    sig = signature_of(out / "signed_input.json")
    assert sig["valid"] and sig["trusted"] and sig["trust_anchor"], sig
    other = tmp_path / "other"
    run(["process", signed, "--out", other, "--workers", "1", "--no-progress"], tmp_path / "home2")
    sig = signature_of(other / "signed_input.json")
    assert sig["valid"] and not sig["trusted"] and sig["trust_reason"], sig


def signature_of(result_json: Path) -> dict:
    """The signature (not the B-LTA document timestamp) that the input carried."""
    found = json.loads(result_json.read_text(encoding="utf-8"))["source"]["signatures"]
    (sig,) = [s for s in found if s["subfilter"] == "ETSI.CAdES.detached"]
    return sig


def test_stages_are_reported_in_their_declared_order(tmp_path):
    """process_bytes reports each page's OCR, then every later stage as it starts, in the
    order pipeline.STAGES declares (what the web job status shows)."""
    from digitize.config import load_settings
    from digitize.pipeline import STAGES, Engines, process_bytes

    settings = load_settings(env={"DIGITIZE_HOME": str(tmp_path / "home")})
    engines = Engines.from_settings(settings)
    seen: list[tuple[str, int, int]] = []
    try:
        name = "van_ban_2pages.tif"
        process_bytes(name, (SAMPLES / name).read_bytes(), engines, progress=lambda *s: seen.append(s))
    finally:
        engines.close()
    assert seen[:2] == [("ocr", 1, 2), ("ocr", 2, 2)]
    assert [stage for stage, _, _ in seen[2:]] == list(STAGES[1:])


def test_two_runs_in_one_process_write_out_each_archives_own_pdf(tmp_path, monkeypatch, samples_dir):
    """`digitize process --out` copies the signed PDF out of the archive its settings name,
    also when an earlier call in the same process named another (it once kept the first
    archive, and wrote that one's copy of the page, or failed once the day changed)."""
    from digitize.cli import main

    for name in ("a", "b"):
        home = tmp_path / name
        monkeypatch.setenv("DIGITIZE_HOME", str(home))
        page = str(samples_dir / "khai_sinh_clean.png")
        assert main(["process", page, "--out", str(home / "out"), "--workers", "1", "--no-progress"]) == 0
        (archived,) = home.rglob("document.pdf")
        assert (home / "out" / "khai_sinh_clean.pdf").read_bytes() == archived.read_bytes()


def test_a_process_holds_one_runner_per_settings(tmp_path):
    """The CLI pool, the web workers, local batches and Celery tasks take their runner from
    runner.process_runner: built once per process, again for other settings; their tasks
    take back the one their initialiser built (current_runner)."""
    from digitize.config import load_settings
    from digitize.runner import current_runner, process_runner

    first = load_settings(env={"DIGITIZE_HOME": str(tmp_path / "a")})
    runner = process_runner(first)
    assert process_runner(load_settings(env={"DIGITIZE_HOME": str(tmp_path / "a")})) is runner
    assert current_runner() is runner
    other = process_runner(load_settings(env={"DIGITIZE_HOME": str(tmp_path / "b")}))
    assert other is not runner and other.settings.home == tmp_path / "b" and current_runner() is other
    hue = other.for_agency("hue")
    assert hue.settings.agency == "hue" and hue.engines.ocr is other.engines.ocr and other.for_agency("dev") is other


def test_process_wide_options_are_settings(tmp_path):
    """DIGITIZE_LOG, DIGITIZE_DEBUG and the cache folder are read with the other settings,
    and checked with them, once."""
    from digitize import diskcache
    from digitize.config import load_settings
    from digitize.errors import ConfigError

    settings = load_settings(env={"DIGITIZE_LOG": "info", "DIGITIZE_DEBUG": "1", "XDG_CACHE_HOME": str(tmp_path)})
    assert settings.log_level == "info" and settings.debug
    assert settings.cache_path == diskcache.cache_dir(settings) == tmp_path / "digitize"
    assert load_settings(env={"DIGITIZE_CACHE_DIR": str(tmp_path / "c")}).cache_path == tmp_path / "c"
    assert load_settings(env={"DIGITIZE_CACHE_DIR": "off"}).cache_path is None
    assert not load_settings(env={}).debug
    with pytest.raises(ConfigError, match="log_level"):
        load_settings(env={"DIGITIZE_LOG": "chatty"})
