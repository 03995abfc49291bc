"""Shared fixtures. Real servers (S3, PostgreSQL, Redis) come from conftest_servers."""

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).parent))

pytest_plugins = ["conftest_servers"]

SAMPLES = ROOT / "samples" / "data"


@pytest.fixture(scope="session")
def samples_dir() -> Path:
    return SAMPLES
