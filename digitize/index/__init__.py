"""Search index: embedded SQLite (`SqliteIndex`) or PostgreSQL (`PostgresIndex`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .base import Index
from .sqlite import SqliteIndex

if TYPE_CHECKING:
    from ..config import Settings

__all__ = ["Index", "SqliteIndex", "PostgresIndex", "make_index"]


def __getattr__(name: str):  # PostgresIndex imports psycopg: load it only when asked for
    if name == "PostgresIndex":
        from .postgres import PostgresIndex

        return PostgresIndex
    raise AttributeError(name)


def make_index(settings: "Settings") -> Index:
    """The index the settings name: "sqlite" (default) or a postgresql:// URL."""
    if settings.index.startswith(("postgresql://", "postgres://")):
        from .postgres import PostgresIndex

        return PostgresIndex(settings.index)
    return SqliteIndex(settings.sqlite_path)
