#!/usr/bin/env sh
# Installs Elanus from a source tree into a fresh virtual environment.
#
#   deploy/docker/install.sh VENV SOURCE
#
# The image's build stage runs exactly this script, and so does the test suite
# (tests/unit/deploy/test_deploy_files.py, in a temporary directory), so the
# image's install steps are exercised without Docker.
set -eu

venv="$1"
source_dir="$2"
python="${PYTHON:-python3}"

"$python" -m venv "$venv"
"$venv/bin/python" -m pip install --disable-pip-version-check -q "$source_dir"
# The entry point must run: it imports every role's package.
"$venv/bin/elanus" --version
