"""Reference lists (names, ethnic groups, nationalities, document kinds, registry-book
columns) kept as data files with their sources, not in code.

Each list is `<name>.tsv` next to this file: UTF-8, one row a line, tab-separated
columns; lines starting with "#" are comments and blank lines are skipped. Every
file opens with "# source:", "# licence/status:" and "# columns:" lines, so that
where a value comes from can be checked (and a list corrected) without reading
code. Values are NFC-normalised on reading: a file saved by an editor that writes
decomposed marks must still compare equal to what OCR produces.

This package imports nothing from `digitize.ocr` or `digitize.extract`: both read
from it, so it sits below them. A missing, unreadable or malformed file is a
`ConfigError` (a broken installation), never an empty list: an empty surname list
would silently turn off name checks."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from ..errors import ConfigError
from ..text import nfc

DATA_DIR = Path(__file__).resolve().parent
REQUIRED_HEADERS = ("source", "licence/status", "columns")


def path(name: str) -> Path:
    """Where the list `name` is kept (for cache fingerprints: a changed list rebuilds what is built from it)."""
    return DATA_DIR / f"{name}.tsv"


@lru_cache(maxsize=None)
def rows(name: str) -> tuple[tuple[str, ...], ...]:
    """The rows of `<name>.tsv`, each a tuple of its NFC cells, in file order."""
    where = path(name)
    try:
        text = where.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"reference data file missing: {where} (installed without its package data?)") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"reference data file {where} cannot be read: {e}") from None
    headers: set[str] = set()
    out: list[tuple[str, ...]] = []
    for line in nfc(text).splitlines():
        if line.startswith("#"):
            key, colon, _ = line[1:].strip().partition(":")
            if colon:
                headers.add(key.strip())
            continue
        if not line.strip():
            continue
        out.append(tuple(cell.strip() for cell in line.split("\t")))
    missing = [h for h in REQUIRED_HEADERS if h not in headers]
    if missing:
        # the point of these files is that each value can be traced to where it comes from
        raise ConfigError(f"reference data file {where} lacks its '# {missing[0]}:' line")
    return tuple(out)


def _table(name: str, width: int, optional: int = 0) -> tuple[tuple[str, ...], ...]:
    """The rows of `name`, each exactly `width` cells; the last `optional` cells may be
    empty or left off (an editor may drop trailing tabs), the others may not."""
    out = []
    for number, row in enumerate(rows(name), 1):
        if len(row) > width or len(row) < width - optional or not all(row[: width - optional]):
            raise ConfigError(
                f"reference data file {path(name)}: data row {number} {row!r} does not have {width} columns"
            )
        out.append(row + ("",) * (width - len(row)))
    return tuple(out)


def _column(name: str) -> tuple[str, ...]:
    return tuple(row[0] for row in _table(name, 1))


def surnames() -> tuple[str, ...]:
    """Vietnamese surnames, most common first."""
    return _column("surnames")


def given_names() -> tuple[str, ...]:
    """Middle-name then given-name syllables, roughly most common first (a syllable that is
    both appears in each part; readers rank by first occurrence)."""
    return tuple(name for name, _ in _table("given_names", 2))


def ethnic_groups() -> tuple[str, ...]:
    """The 54 ethnic groups of the Danh mục các dân tộc Việt Nam, by their official names."""
    return _column("ethnic_groups")


def ethnic_aliases() -> dict[str, str]:
    """Other names and spellings of a group ("H'Mông", "Mèo") -> its official name ("Mông")."""
    known = set(ethnic_groups())
    out = {}
    for alias, name in _table("ethnic_aliases", 2):
        if name not in known:
            raise ConfigError(f"reference data file {path('ethnic_aliases')}: {name!r} is no ethnic group")
        out[alias] = name
    return out


def nationalities() -> tuple[str, ...]:
    """Nationalities as civil-status records write them."""
    return _column("nationalities")


def causes_of_death() -> tuple[str, ...]:
    """Causes of death as registrars most often write them (not a closed list)."""
    return _column("causes_of_death")


def document_kinds() -> dict[str, str]:
    """Kind of administrative document -> its official abbreviation (Nghị định 30/2020/NĐ-CP,
    Phụ lục III), "" where that table has none."""
    return {kind: abbreviation for kind, abbreviation in _table("document_kinds", 2, optional=1)}


def registry_columns() -> dict[str, tuple[str, ...]]:
    """Registry-book kind -> its fields in the standard book's column order."""
    out: dict[str, list[str]] = {}
    for book, field in _table("registry_columns", 2):
        out.setdefault(book, []).append(field)
    return {book: tuple(fields) for book, fields in out.items()}
