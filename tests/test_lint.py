"""The code's habits, checked with every test run: ruff (pyflakes' errors, unused and
undefined names, lines over 120 characters, and its formatter's layout) on the package, the
workers, the tests, the benchmarks and the samples generator; mypy's type checks on the
package and the workers. Configuration in pyproject.toml."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_ruff_is_clean() -> None:
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    if ruff is None:
        pytest.skip("ruff not installed (pip install -e '.[test]')")
    proc = subprocess.run(
        [ruff, "check", "--no-cache", "digitize", "workers", "tests", "benchmarks", "samples", "models"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-1000:]


def test_ruff_format_is_kept() -> None:
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    if ruff is None:
        pytest.skip("ruff not installed (pip install -e '.[test]')")
    proc = subprocess.run(
        [ruff, "format", "--check", "--no-cache", "digitize", "workers", "tests", "benchmarks", "samples", "models"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, "run `ruff format`: " + proc.stdout[-4000:] + proc.stderr[-1000:]


def test_mypy_is_clean(tmp_path: Path) -> None:
    mypy = shutil.which("mypy", path=str(Path(sys.executable).parent)) or shutil.which("mypy")
    if mypy is None:
        pytest.skip("mypy not installed (pip install -e '.[test]')")
    # files and options from [tool.mypy]; the cache in tmp_path, none written into the repository
    proc = subprocess.run(
        [mypy, "--config-file", str(ROOT / "pyproject.toml"), "--cache-dir", str(tmp_path / "cache")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-1000:]


def _imported_modules(path: Path) -> set[str]:
    import ast

    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
    return found


def test_package_never_imports_the_workers() -> None:
    """The layering: workers/ (Celery) builds on digitize/, never the other way round; the
    core finds the Celery queue through its `digitize.queues` entry point."""
    offenders = sorted(
        str(p.relative_to(ROOT))
        for p in (ROOT / "digitize").rglob("*.py")
        if any(m == "workers" or m.startswith("workers.") for m in _imported_modules(p))
    )
    assert offenders == []


def test_the_celery_queue_is_found_by_its_entry_point() -> None:
    from digitize.batch import distributed_queue
    from digitize.errors import ConfigError

    queue = distributed_queue("celery")
    assert queue.name == "celery" and callable(queue.runner) and callable(queue.task_states)
    with pytest.raises(ConfigError, match="no distributed queue 'rabbit'"):
        distributed_queue("rabbit")
