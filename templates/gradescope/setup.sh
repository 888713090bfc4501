#!/usr/bin/env bash
# Gradescope autograder setup: runs once, as root, when the autograder image is built.
# Zip this file, run_autograder and the course repository (as course/) into the autograder zip
# (docs/ci.md, "Gradescope").
#
# dlgrade needs Python >= 3.11. Gradescope's default base image, Ubuntu 22.04, has Python 3.10 as
# python3, so python3.11 (in Ubuntu's universe) is installed and used; set DLGRADE_PYTHON to use
# another interpreter (e.g. python3.12 on Ubuntu 24.04).
#
# Environment (each has Gradescope's value by default):
#   AUTOGRADER_ROOT    /autograder       Gradescope's folder: source/course is the course repository
#   DLGRADE_PREFIX     /opt/dlgrade      the virtualenv dlgrade is installed into
#   DLGRADE_PYTHON     python3.11        the interpreter of that virtualenv
#   DLGRADE_INSTALLED  unset             1: dlgrade is already installed in DLGRADE_PREFIX (no apt-get, no pip)
set -euo pipefail

ROOT="${AUTOGRADER_ROOT:-/autograder}"
PREFIX="${DLGRADE_PREFIX:-/opt/dlgrade}"
PYTHON="${DLGRADE_PYTHON:-python3.11}"

if [ "${DLGRADE_INSTALLED:-}" != 1 ]; then
    apt-get update -q
    apt-get install -y -q "$PYTHON" "$PYTHON-venv" bubblewrap util-linux
    "$PYTHON" -m venv "$PREFIX"
    "$PREFIX/bin/pip" install --upgrade pip
    # a wheel built from the course repository (not editable): what it needs ships in the package
    "$PREFIX/bin/pip" install "$ROOT/source/course"
fi
"$PREFIX/bin/dlgrade" --version

# The data cache is filled now, while the image builder has the internet; grading is offline.
"$PREFIX/bin/dlgrade" data fetch
