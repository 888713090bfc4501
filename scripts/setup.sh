#!/usr/bin/env bash
# Make this checkout ready to run: system packages, a virtualenv in .venv with dlgrade installed,
# and the MNIST cache. Safe to run again: each step is skipped when already done.
# DLGRADE_WITH_BROWSER=1 also installs Chromium (the browser tests need it).
set -euo pipefail
cd "$(dirname "$0")/.."

apt_packages=(bubblewrap postgresql)  # PostgreSQL: the gradebook's tests start a server of their own
[ "${DLGRADE_WITH_BROWSER:-0}" = "1" ] && apt_packages+=(chromium fonts-noto-cjk)
missing=()
for pkg in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = "0" ]; then
    echo "setup: installing ${missing[*]}"
    (apt-get install -y -q "${missing[@]}" >/dev/null 2>&1) || { apt-get update -q >/dev/null && apt-get install -y -q "${missing[@]}" >/dev/null; }
  elif command -v sudo >/dev/null; then
    sudo apt-get install -y -q "${missing[@]}"
  else
    echo "setup: please install ${missing[*]} (apt-get install ${missing[*]})" >&2
  fi
fi

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv"
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.dlgrade-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "setup: installing dlgrade and its dependencies into .venv (a few minutes the first time)"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e '.[test]'
  touch "$stamp"
fi

.venv/bin/dlgrade data fetch >/dev/null
echo "setup: ready ($(.venv/bin/python -c 'import grader.datasets as d; print(d.cache_root())'))"
