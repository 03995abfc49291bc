#!/usr/bin/env bash
# Sets up and runs the whole test suite (real Tesseract, real pdfsig/pyHanko,
# real Redis, PostgreSQL and SeaweedFS S3 servers on loopback, real Chromium).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python -m pytest "$@"
