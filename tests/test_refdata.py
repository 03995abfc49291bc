"""The reference lists in digitize/refdata: each file says where it comes from, loads as
NFC rows, and a missing or malformed one is a configuration error, never an empty list."""

from __future__ import annotations

import ast
import unicodedata
from pathlib import Path

import pytest

from digitize import refdata
from digitize.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
FILES = sorted(refdata.DATA_DIR.glob("*.tsv"))


def test_every_file_cites_its_source_licence_and_columns() -> None:
    assert len(FILES) >= 8
    for path in FILES:
        # the first three comment lines that are not a long value's continuation ("#   ...")
        lines = path.read_text(encoding="utf-8").splitlines()
        head = [line for line in lines if line.startswith("#") and not line.startswith("#  ")][:3]
        assert [line.split(":")[0] for line in head] == ["# source", "# licence/status", "# columns"], path.name
        assert all(line.split(":", 1)[1].strip() for line in head), path.name


def test_every_file_loads_as_nfc_rows_without_duplicates() -> None:
    for path in FILES:
        rows = refdata.rows(path.stem)
        assert rows, path.name
        for row in rows:
            assert all(unicodedata.normalize("NFC", cell) == cell for cell in row)
        if path.stem not in ("given_names", "ethnic_aliases", "registry_columns"):
            # a name listed twice would be two ranks for one name (given_names lists a
            # syllable once per role; the other two are keyed by their first column)
            assert len(set(rows)) == len(rows), path.name


def test_the_lists() -> None:
    assert len(refdata.ethnic_groups()) == 54 and "Mông" in refdata.ethnic_groups()
    aliases = refdata.ethnic_aliases()
    assert {aliases[a] for a in ("H'Mông", "Hmông", "HMông", "Mèo")} == {"Mông"}
    assert set(aliases.values()) <= set(refdata.ethnic_groups())
    assert refdata.surnames()[:3] == ("Nguyễn", "Trần", "Lê")
    assert refdata.given_names()[:2] == ("Văn", "Thị")
    kinds = refdata.document_kinds()
    assert kinds["Quyết định"] == "QĐ" and kinds["Quy định"] == "QyĐ" and kinds["Công văn"] == ""
    columns = refdata.registry_columns()
    assert sorted(columns) == ["ket_hon", "khai_sinh", "khai_tu"]
    assert all(fields[0] == "so" and fields[-1] == "ngay_dang_ky" for fields in columns.values())
    from digitize.extract.base import FIELDS

    assert all(set(fields) <= set(FIELDS[kind]) for kind, fields in columns.items())


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Lists read from an empty folder; the real ones again after the test."""
    monkeypatch.setattr(refdata, "DATA_DIR", tmp_path)
    refdata.rows.cache_clear()
    yield tmp_path
    refdata.rows.cache_clear()


def test_a_missing_file_is_a_config_error(data_dir: Path) -> None:
    with pytest.raises(ConfigError, match="reference data file missing"):
        refdata.surnames()


def test_a_file_without_its_source_or_with_a_bad_row_is_a_config_error(data_dir: Path) -> None:
    (data_dir / "surnames.tsv").write_text("# licence/status: x\n# columns: surname\nNguyễn\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="source"):
        refdata.surnames()
    head = "# source: s\n# licence/status: l\n# columns: name, role\n"
    (data_dir / "given_names.tsv").write_text(head + "Văn\tmiddle\tx\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="2 columns"):
        refdata.given_names()
    (data_dir / "document_kinds.tsv").write_text(head + "# a comment\n\nCông văn\nQuyết định\tQĐ\n", encoding="utf-8")
    assert refdata.document_kinds() == {"Công văn": "", "Quyết định": "QĐ"}  # a dropped trailing tab is fine
    (data_dir / "nationalities.tsv").write_bytes(b"\xff\xfe")
    with pytest.raises(ConfigError, match="cannot be read"):
        refdata.nationalities()


def test_decomposed_marks_are_read_as_nfc(data_dir: Path) -> None:
    head = "# source: s\n# licence/status: l\n# columns: surname\n"
    (data_dir / "surnames.tsv").write_text(head + unicodedata.normalize("NFD", "Nguyễn\n"), encoding="utf-8")
    assert refdata.surnames() == ("Nguyễn",)


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            found.add("." * node.level + (node.module or ""))
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return found


def test_refdata_sits_below_ocr_and_extract() -> None:
    """Both the OCR post-correction and the extractors read the lists: the lists must
    depend on neither, and the OCR stage takes them from here, not from the extractors."""
    mine = _imports(ROOT / "digitize" / "refdata" / "__init__.py")
    assert not [m for m in mine if "extract" in m or "ocr" in m or "web" in m]
    source = (ROOT / "digitize" / "ocr" / "vietnamese.py").read_text(encoding="utf-8")
    assert "refdata" in source and "SURNAMES_BY_RANK" not in source and "GIVEN_BY_RANK" not in source
