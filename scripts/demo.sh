#!/usr/bin/env bash
# Main job on the bundled samples with the embedded defaults: local archive
# folder, SQLite index, in-process work, a generated development certificate.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export DIGITIZE_HOME=${DIGITIZE_HOME:-var}
out=${1:-out/samples}
status=0
.venv/bin/digitize process samples/data --out "$out" || status=$?
echo
echo "Signed PDFs and JSON results: $out/"
echo "Archive: $DIGITIZE_HOME/archive/   Index: $DIGITIZE_HOME/index.sqlite3"
echo "Try:  .venv/bin/digitize search 'nguyen van' | head -3"
echo "      .venv/bin/digitize verify $out/$(ls "$out" | grep -m1 '\.pdf$')"
exit $status
