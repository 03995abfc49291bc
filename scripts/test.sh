#!/usr/bin/env bash
# Sets up and runs the whole test suite (real Tesseract, real pdfsig/pyHanko,
# real Redis, PostgreSQL and SeaweedFS S3 servers on loopback, real Chromium).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# every real part is installed above: a test that would skip fails instead (tests/conftest.py)
DIGITIZE_TESTS_COMPLETE=1 exec .venv/bin/python -m pytest "$@"
