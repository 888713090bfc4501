#!/usr/bin/env bash
# Grade the sample class into reports/ (open reports/index.html). Sets everything up first.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/dlgrade demo --out reports "$@"
