#!/usr/bin/env bash
# Gradescope autograder setup: runs once when the autograder image is built.
# Zip this file, run_autograder and the course repository (as course/) into the autograder zip:
#   cp templates/gradescope/{setup.sh,run_autograder} . && zip -r autograder.zip setup.sh run_autograder course/
set -euo pipefail

apt-get update -q
apt-get install -y -q python3 python3-venv python3-pip bubblewrap util-linux

python3 -m venv /opt/dlgrade
/opt/dlgrade/bin/pip install --upgrade pip
/opt/dlgrade/bin/pip install /autograder/source/course

# The data cache is filled now, while the image builder has the internet; grading is offline.
/opt/dlgrade/bin/dlgrade data fetch
