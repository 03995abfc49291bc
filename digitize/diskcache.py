"""Load-time data built once and kept on disk.

Some tables are derived from reference data at start-up (the syllable lexicon, the
gazetteer's unit tree, the base font subset) and cost a second or more to build, in
every process. They are built at first use, written under the cache folder
(`Settings.cache_path`: DIGITIZE_CACHE_DIR, else $XDG_CACHE_HOME/digitize, else
~/.cache/digitize) in a compact `marshal` file named after a hash of everything they
are built from, and read back from there by later processes. Changed data (a new hunspell list, an
upgraded package, edited code) hashes differently and is rebuilt.

Only plain values (str, int, bytes, tuples, lists, dicts, frozensets) are kept, and
they are read with `marshal`, which builds values and runs no code. A cache that
cannot be read or written is not an error: the value is built in memory instead.
DIGITIZE_CACHE_DIR=off turns the cache off.

The tables are built deep inside the OCR and extraction code, which holds no settings:
the folder comes from this process's settings (`load_settings`), read when a table is built."""

from __future__ import annotations

import hashlib
import marshal
import os
import re
import sys
from pathlib import Path
from typing import Any, Callable

from .config import Settings, load_settings
from .errors import ConfigError

FORMAT = 1  # bump when what is stored changes shape


def cache_dir(settings: Settings | None = None) -> Path | None:
    """The cache folder of `settings`, else of this process's settings; None when the cache
    is turned off, or when the settings are not valid (the cache is never an error)."""
    if settings is None:
        try:
            settings = load_settings()
        except ConfigError:
            return None
    return settings.cache_path


def fingerprint(*parts: Any) -> str:
    """A hash of `parts`: a Path is hashed by its content (or its absence), anything else by repr."""
    h = hashlib.sha256(f"{FORMAT}|{sys.version}|{marshal.version}".encode())
    for part in parts:
        if isinstance(part, Path):
            h.update(b"file:" + str(part).encode())
            try:
                h.update(hashlib.sha256(part.read_bytes()).digest())
            except OSError:
                h.update(b"<missing>")
        elif isinstance(part, bytes):
            h.update(b"bytes:" + hashlib.sha256(part).digest())
        else:
            h.update(b"repr:" + repr(part).encode())
        h.update(b"\0")
    return h.hexdigest()[:24]


def package_dir(name: str) -> Path | None:
    """Where an installed package lives, without importing it."""
    from importlib.util import find_spec

    try:
        spec = find_spec(name)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def cached(name: str, key: str, build: Callable[[], Any]) -> Any:
    """The value `build()` returns, read from the cache file for (`name`, `key`) when there
    is one, else built and written there for the next process."""
    folder = cache_dir()
    if folder is None:
        return build()
    path = folder / f"{name}-{key}.marshal"
    try:
        return marshal.loads(path.read_bytes())
    except (OSError, EOFError, ValueError, TypeError):
        pass
    value = build()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_bytes(marshal.dumps(value))
        os.replace(tmp, path)  # readers see the whole file or none
        for old in folder.glob(f"{name}-*.marshal"):  # the same table built from older data
            if old != path and re.fullmatch(re.escape(name) + r"-[0-9a-f]{24}\.marshal", old.name):
                old.unlink(missing_ok=True)
    except (OSError, ValueError):
        pass
    return value
