"""Fuzzing: schemathesis against the app's own OpenAPI (no 5xx, every error a
JSON {"error": ...}), and hypothesis on the ingest path (only InputError may
escape `describe` + `load_pages`)."""

from __future__ import annotations

import io
import struct
import warnings
import zlib
from pathlib import Path

import pytest

warnings.filterwarnings("ignore", message=".*httpx.*")
hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from digitize import ingest  # noqa: E402
from digitize.config import load_settings  # noqa: E402
from digitize.errors import InputError  # noqa: E402

EXAMPLES_PER_OPERATION = 30


# ------------------------------------------------------------------ API fuzzing


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory):
    pytest.importorskip("schemathesis")
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from digitize.web.app import create_app

    home = tmp_path_factory.mktemp("fuzz")
    app = create_app(
        load_settings(env={"DIGITIZE_HOME": str(home), "DIGITIZE_AGENCY": "hue"}), processes=0, max_upload_bytes=200_000
    )
    svc = app.state.services
    svc.auth.add_user("fuzzadmin", "admin", "hue", password="pw-fuzz-admin")
    token = svc.auth.issue_token("fuzzadmin")
    with TestClient(app) as client:  # lifespan: closes the services at the end
        # One real result, so that the result routes are fuzzed past the 404.
        sample = Path(__file__).resolve().parent.parent / "samples" / "data" / "khai_sinh_clean.png"
        data = sample.read_bytes() if sample.exists() else _png(400, 300)
        r = client.post(
            "/api/upload", headers={"Authorization": f"Bearer {token}"}, files={"file": ("seed.png", data, "image/png")}
        )
        assert r.status_code == 200, r.text
        yield app, token, r.json()["id"]


def test_openapi_fuzz_no_server_errors(fuzz_app):
    import schemathesis

    app, token, seeded = fuzz_app
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    headers = {"Authorization": f"Bearer {token}"}
    failures: list[str] = []
    operations = 0
    for item in schema.get_all_operations():
        operation = item.ok()
        operations += 1

        @settings(
            max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None, suppress_health_check=list(HealthCheck)
        )
        @given(case=operation.as_strategy())
        def run(case):
            if case.path_parameters and "result_id" in case.path_parameters:
                case.path_parameters["result_id"] = seeded
            response = case.call(headers=headers)
            status = response.status_code
            label = f"{case.method} {case.formatted_path}"
            if status >= 500:
                failures.append(f"{label}: {status} {response.text[:200]}")
            elif status >= 400:
                try:
                    body = response.json()
                except ValueError:
                    failures.append(f"{label}: {status} without a JSON body")
                    return
                if not isinstance(body, dict) or not body.get("error"):
                    failures.append(f"{label}: {status} without an 'error' key")
                elif "Traceback" in response.text or "/tmp/" in response.text:
                    failures.append(f"{label}: {status} leaks internals")

        run()
    assert operations >= 15
    assert not failures, "\n".join(sorted(set(failures))[:20])


# ------------------------------------------------------------------ ingest fuzzing

SETTINGS = load_settings(env={"DIGITIZE_HOME": "/nonexistent-digitize-fuzz"}, max_pixels=4_000_000, max_pages=20)


def _png(width: int = 8, height: int = 8) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    raw = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def _tiny(fmt: str) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (6, 5), (200, 10, 10)).save(buf, fmt)
    return buf.getvalue()


SEEDS = {
    "png": _png(),
    "tiff": _tiny("TIFF"),
    "jpeg": _tiny("JPEG"),
    "gif": _tiny("GIF"),
    "bmp": _tiny("BMP"),
    "pdf": b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>"
    b"endobj\n3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 20 20]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF",
}


def _ingest(data: bytes) -> None:
    try:
        source = ingest.describe("fuzz.bin", data, SETTINGS)
        pages = ingest.load_pages(source, data, SETTINGS)
        assert pages and all(p.pixels.size > 0 for p in pages)
    except InputError:
        pass


@settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2048))
def test_ingest_random_bytes(data):
    _ingest(data)


@settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    kind=st.sampled_from(sorted(SEEDS)),
    edits=st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=8),
    cut=st.one_of(st.none(), st.integers(0, 10_000)),
)
def test_ingest_mutated_files(kind, edits, cut):
    data = bytearray(SEEDS[kind])
    for position, value in edits:
        data[position % len(data)] = value
    if cut is not None:
        data = data[: cut % (len(data) + 1)]
    _ingest(bytes(data))


@settings(max_examples=80, deadline=None, database=None)
@given(
    width=st.integers(0, 2**31 - 1),
    height=st.integers(0, 2**31 - 1),
    depth=st.sampled_from([1, 2, 4, 8, 16, 3]),
    colour=st.sampled_from([0, 2, 3, 4, 6, 1, 7]),
)
def test_ingest_png_headers(width, height, depth, colour):
    """PNG headers with any size, depth and colour type: bombs are TooLarge, nonsense is CorruptInput."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    data = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )
    _ingest(data)
