#!/usr/bin/env bash
# Run every test, the slow end-to-end ones included. Sets everything up first.
set -euo pipefail
cd "$(dirname "$0")/.."
DLGRADE_WITH_BROWSER=1 bash scripts/setup.sh
exec .venv/bin/python -m pytest tests "$@"
